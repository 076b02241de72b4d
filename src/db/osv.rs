//! OSV's per-ecosystem advisory archives (`<base>/<Ecosystem>/all.zip`) in
//! secgate's cache, laid out as OSV publishes them so the cache and an
//! `--osv-db` folder read alike. Fetched with the RustSec database's
//! machinery: conditional and bounded download, checked to load before an
//! atomic swap under the update lock, and a fetch record beside each archive.

use super::{fetch, swap, DbUrl, UpdateOutcome};
use crate::advisory::rustsec::checkout::{
    fetch_age, fetch_record, record_path, FetchAge, FetchRecord,
};
use crate::error::DbError;
use crate::inventory::Ecosystem;
use std::path::{Path, PathBuf};
use std::time::Duration;
use time::OffsetDateTime;

/// Where OSV publishes its archives.
pub const DEFAULT_URL: &str = "https://osv-vulnerabilities.storage.googleapis.com";
/// Overrides the policy's `db.osv-url`.
pub const URL_ENV: &str = "SECGATE_OSV_URL";
/// npm's archive is about 200 MB today; PyPI's about 30 MB.
const MAX_ARCHIVE_BYTES: u64 = 1 << 30;
/// Every archive is called this inside its ecosystem's folder.
pub const ARCHIVE_NAME: &str = "all.zip";

/// The base URL to fetch from: the environment variable, else the policy's.
pub fn resolve_url(policy_url: &str) -> Result<DbUrl, DbError> {
    match std::env::var(URL_ENV) {
        Ok(url) if !url.trim().is_empty() => super::parse_url(URL_ENV, &url),
        _ => super::parse_url("db.osv-url", policy_url),
    }
}

/// Where the package indexes of OSV archives are kept (`--osv-db` folders
/// may be read-only): `~/.cache/secgate/osv-index`.
pub fn default_index_dir() -> Result<PathBuf, DbError> {
    crate::advisory::rustsec::checkout::default_db_path()
        .and_then(|db| db.parent().map(|secgate| secgate.join("osv-index")))
        .ok_or(DbError::NoCacheDir)
}

/// `<base>/<Ecosystem>/all.zip`.
pub fn archive_url(base: &DbUrl, ecosystem: Ecosystem) -> String {
    format!(
        "{}/{}/{ARCHIVE_NAME}",
        base.as_str().trim_end_matches('/'),
        ecosystem.as_str()
    )
}

/// An archive as `db update` checked it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    pub advisories: usize,
    /// The newest `modified` date, `YYYY-MM-DD`.
    pub newest: Option<String>,
}

/// The folder of OSV archives in secgate's cache.
#[derive(Clone, Debug)]
pub struct OsvCache {
    dir: PathBuf,
}

impl OsvCache {
    pub fn new(dir: PathBuf) -> OsvCache {
        OsvCache { dir }
    }

    /// `~/.cache/secgate/osv` (or under `$XDG_CACHE_HOME`).
    pub fn default_location() -> Result<OsvCache, DbError> {
        crate::advisory::rustsec::checkout::default_db_path()
            .and_then(|db| db.parent().map(|secgate| secgate.join("osv")))
            .map(OsvCache::new)
            .ok_or(DbError::NoCacheDir)
    }

    /// The folder, as `--osv-db` would name it.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn archive(&self, ecosystem: Ecosystem) -> PathBuf {
        self.dir.join(ecosystem.as_str()).join(ARCHIVE_NAME)
    }

    pub fn record(&self, ecosystem: Ecosystem) -> Option<FetchRecord> {
        fetch_record(&self.archive(ecosystem))
    }

    pub fn record_path(&self, ecosystem: Ecosystem) -> PathBuf {
        record_path(&self.archive(ecosystem))
    }

    /// Whether `check` should fetch before scanning: as for the RustSec cache.
    pub fn is_due(&self, ecosystem: Ecosystem, refresh: Duration, now: OffsetDateTime) -> bool {
        !self.archive(ecosystem).is_file()
            || match self
                .record(ecosystem)
                .and_then(|record| record.fetched_at())
                .map(|at| fetch_age(at, now))
            {
                Some(FetchAge::Ago(age)) => age >= refresh,
                Some(FetchAge::Future) | None => true,
            }
    }
}

/// Fetches `ecosystem`'s archive from `base` into `cache` (conditionally
/// when the cache has a record from the same URL, unless `force`), checks
/// it with `verify` before it replaces anything, and records the fetch.
/// With `refresh`, does nothing when the archive is younger than that once
/// the lock is held (concurrent checks fetch once).
pub async fn update<V>(
    base: &DbUrl,
    cache: &OsvCache,
    ecosystem: Ecosystem,
    timeout: Duration,
    refresh: Option<Duration>,
    force: bool,
    verify: V,
) -> Result<UpdateOutcome, DbError>
where
    V: FnOnce(&Path) -> Result<Verified, String> + Send + 'static,
{
    let url = archive_url(base, ecosystem);
    let archive = cache.archive(ecosystem);
    let plan = fetch::Plan {
        url: &url,
        target: &archive,
        timeout,
        max_bytes: MAX_ARCHIVE_BYTES,
        refresh,
        force,
    };
    let current = || {
        let record = cache.record(ecosystem).filter(|_| archive.is_file());
        fetch::Current {
            advisories: record.as_ref().map(|r| r.advisories),
            trusted_record: record,
        }
    };
    let folder = swap::parent_and_name(&archive).0;
    let owned_url = url.clone();
    // The download lies beside the archive: checked, it is renamed over it.
    let stage = move |download: tempfile::NamedTempFile| {
        let verified = verify(download.path()).map_err(|message| DbError::Archive {
            url: owned_url,
            message,
        })?;
        let path = download.into_temp_path().keep().map_err(|e| DbError::Io {
            path: folder,
            source: e.error,
        })?;
        Ok(fetch::Staged {
            path,
            advisories: verified.advisories,
            newest_advisory: verified.newest,
            crate_folders: None,
        })
    };
    fetch::update(
        plan,
        |refresh, now| cache.is_due(ecosystem, refresh, now),
        current,
        stage,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archives_are_named_as_osv_publishes_them() {
        let base = super::super::parse_url("t", "https://mirror.example/osv/").unwrap();
        assert_eq!(
            archive_url(&base, Ecosystem::PyPi),
            "https://mirror.example/osv/PyPI/all.zip"
        );
        let cache = OsvCache::new(PathBuf::from("/c/osv"));
        assert_eq!(
            cache.archive(Ecosystem::PyPi),
            Path::new("/c/osv/PyPI/all.zip")
        );
        assert_eq!(
            cache.record_path(Ecosystem::PyPi),
            Path::new("/c/osv/PyPI/all.zip.fetch.json")
        );
    }

    #[test]
    fn a_missing_archive_is_due() {
        let dir = tempfile::tempdir().unwrap();
        let cache = OsvCache::new(dir.path().to_path_buf());
        assert!(cache.is_due(
            Ecosystem::PyPi,
            Duration::from_secs(3600),
            OffsetDateTime::now_utc()
        ));
    }
}
