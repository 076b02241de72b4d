//! The one update procedure every cached database goes through, whatever
//! its kind (the RustSec directory, an OSV archive): under the update lock,
//! a conditional and bounded download, checked (unpacked, loaded) off the
//! async threads before it replaces anything, refused when it holds far
//! fewer advisories than what it would replace, swapped in atomically, and
//! recorded beside the database.

use super::download::{self, Fetched, Validators};
use super::swap;
use crate::advisory::rustsec::checkout::{
    fetch_age, lock, record_path, sibling, FetchAge, FetchRecord, Lock,
};
use crate::error::DbError;
use std::path::{Path, PathBuf};
use std::time::Duration;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// What an update did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UpdateOutcome {
    /// A new database was downloaded, checked and swapped in.
    Updated { advisories: usize },
    /// The server said 304: the cached database is current.
    NotModified,
    /// Another process refreshed the cache while this one waited for the lock.
    AlreadyFresh,
}

/// How many advisories fewer than the cached database a download may hold:
/// RustSec withdraws advisories by marking them, and rarely deletes one.
pub fn shrink_allowance(cached: usize) -> usize {
    (cached / 50).max(10)
}

/// One update: what to fetch, where it goes, and how.
pub struct Plan<'a> {
    pub url: &'a str,
    /// The database: a directory or a file, replaced as a whole.
    pub target: &'a Path,
    pub timeout: Duration,
    pub max_bytes: u64,
    /// Do nothing when the database is younger than this once the lock is
    /// held (concurrent checks fetch once).
    pub refresh: Option<Duration>,
    /// Ask unconditionally, and take a download much smaller than the cache.
    pub force: bool,
}

/// What the database there is, as its kind reads it (under the lock).
pub struct Current {
    /// Its fetch record, when it vouches for what is there: then the
    /// request is conditional and a 304 keeps it.
    pub trusted_record: Option<FetchRecord>,
    /// How many advisories it holds, to refuse a gutted download.
    pub advisories: Option<usize>,
}

/// A download checked and staged beside the target, ready to swap in.
pub struct Staged {
    /// Renamed onto the target.
    pub path: PathBuf,
    pub advisories: usize,
    pub newest_advisory: Option<String>,
    pub crate_folders: Option<std::collections::BTreeMap<String, usize>>,
}

/// Runs `plan`. `is_due` says whether a refresh is needed (under the lock),
/// `current` reads what is there, `stage` checks the downloaded file (on a
/// blocking thread; it lies beside the target) and stages what replaces it.
pub async fn update<S>(
    plan: Plan<'_>,
    is_due: impl FnOnce(Duration, OffsetDateTime) -> bool,
    current: impl FnOnce() -> Current,
    stage: S,
) -> Result<UpdateOutcome, DbError>
where
    S: FnOnce(tempfile::NamedTempFile) -> Result<Staged, DbError> + Send + 'static,
{
    let url = plan.url;
    let (folder, name) = swap::parent_and_name(plan.target);
    std::fs::create_dir_all(&folder).map_err(io(&folder))?;
    // Updaters take turns; waiting is blocking, so off the async threads.
    let lock_path = sibling(plan.target, ".lock");
    let _lock = {
        let path = lock_path.clone();
        tokio::task::spawn_blocking(move || lock(&path, Lock::Exclusive))
            .await
            .map_err(|e| DbError::Io {
                path: lock_path,
                source: std::io::Error::other(e.to_string()),
            })??
    };
    swap::recover_leftovers(plan.target)?;
    let now = OffsetDateTime::now_utc();
    if let Some(refresh) = plan.refresh {
        if !is_due(refresh, now) {
            return Ok(UpdateOutcome::AlreadyFresh);
        }
    }
    let current = current();
    // A record dated in the future asks again for the whole database.
    let previous = current.trusted_record.filter(|record| {
        !plan.force
            && record.url == url
            && record
                .fetched_at()
                .is_some_and(|at| fetch_age(at, now) != FetchAge::Future)
    });
    let validators = previous.as_ref().map(|record| Validators {
        etag: record.etag.as_deref(),
        last_modified: record.last_modified.as_deref(),
    });
    let fetched = download::get(
        url,
        plan.timeout,
        validators,
        &folder,
        &name,
        plan.max_bytes,
    )
    .await?;
    let (file, etag, last_modified) = match fetched {
        Fetched::NotModified => {
            let mut record = previous.expect("304 only to a conditional request");
            record.fetched_at = now_rfc3339();
            write_record(plan.target, &record)?;
            return Ok(UpdateOutcome::NotModified);
        }
        Fetched::Body {
            file,
            etag,
            last_modified,
        } => (file, etag, last_modified),
    };
    let staged = tokio::task::spawn_blocking(move || stage(file))
        .await
        .map_err(|e| DbError::Archive {
            url: url.to_string(),
            message: format!("checking crashed: {e}"),
        })??;
    // Whatever fails from here leaves the staged copy to the next update's
    // recovery, never the target.
    let refuse = |message: String| DbError::Archive {
        url: url.to_string(),
        message,
    };
    if staged.advisories == 0 {
        swap::discard(&staged.path);
        return Err(refuse("it holds no advisories".to_string()));
    }
    // A gutted database would pass every check: keep the one there.
    if let Some(cached) = current.advisories.filter(|_| !plan.force) {
        if staged.advisories + shrink_allowance(cached) < cached {
            swap::discard(&staged.path);
            return Err(DbError::Shrunk {
                url: url.to_string(),
                fetched: staged.advisories,
                cached,
                path: plan.target.to_path_buf(),
            });
        }
    }
    {
        let (target, path) = (plan.target.to_path_buf(), staged.path.clone());
        tokio::task::spawn_blocking(move || swap::swap_in(&target, &path))
            .await
            .map_err(|e| DbError::Io {
                path: folder,
                source: std::io::Error::other(format!("swapping crashed: {e}")),
            })??;
    }
    write_record(
        plan.target,
        &FetchRecord {
            url: url.to_string(),
            etag,
            last_modified,
            fetched_at: now_rfc3339(),
            advisories: staged.advisories,
            newest_advisory: staged.newest_advisory,
            crate_folders: staged.crate_folders,
        },
    )?;
    Ok(UpdateOutcome::Updated {
        advisories: staged.advisories,
    })
}

fn now_rfc3339() -> String {
    OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| OffsetDateTime::now_utc())
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// Writes the fetch record beside `database` (a directory or an archive).
pub fn write_record(database: &Path, record: &FetchRecord) -> Result<(), DbError> {
    let mut json = serde_json::to_vec_pretty(record).unwrap_or_default();
    json.push(b'\n');
    crate::files::write_atomically(&record_path(database), &json)?;
    Ok(())
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> DbError {
    let path = path.to_path_buf();
    move |source| DbError::Io {
        path: path.clone(),
        source,
    }
}
