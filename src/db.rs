//! The advisory database cache: `secgate db update` downloads a `.tar.gz` of
//! the RustSec advisory-db repository, checks that it is a loadable database,
//! and swaps it in atomically. Beside the database directory live its fetch
//! record (`advisory-db.fetch.json`) and two lock files. The HTTP, the swap
//! and the archive checks are submodules, shared by every database.

pub mod download;
pub mod fetch;
pub mod osv;
pub mod rustsec_archive;
pub mod swap;

pub use fetch::{shrink_allowance, UpdateOutcome};

use crate::advisory::rustsec::checkout::{
    default_db_path, fetch_age, fetch_record, record_path, FetchAge, FetchRecord,
};
use crate::error::DbError;
use std::path::{Path, PathBuf};
use std::time::Duration;
use time::OffsetDateTime;

/// The advisory-db repository's source archive of `main`.
pub const DEFAULT_URL: &str =
    "https://github.com/rustsec/advisory-db/archive/refs/heads/main.tar.gz";
/// Overrides the policy's `db.url`.
pub const URL_ENV: &str = "SECGATE_DB_URL";
/// Seconds to wait for a connection or for the next bytes of a response.
pub const TIMEOUT_ENV: &str = "SECGATE_HTTP_TIMEOUT_SECS";
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// The real archive is a few MiB; anything this large is not it.
const MAX_ARCHIVE_BYTES: u64 = 256 << 20;

/// A database URL checked by `parse_url`: only these are fetched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DbUrl(String);

impl DbUrl {
    /// As given (trimmed), not normalised: fetch records compare it as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for DbUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Accepts an http:// or https:// URL with a host; `origin` names where it
/// was given (`--url`, `SECGATE_DB_URL`, `db.url`) for the error.
pub fn parse_url(origin: &str, text: &str) -> Result<DbUrl, DbError> {
    let text = text.trim();
    let bad = |problem: Option<String>| DbError::BadUrl {
        origin: origin.to_string(),
        url: text.to_string(),
        problem,
    };
    let url = reqwest::Url::parse(text).map_err(|e| bad(Some(format!("not a URL ({e})"))))?;
    match url.scheme() {
        "http" | "https" if url.has_host() => Ok(DbUrl(text.to_string())),
        "http" | "https" => Err(bad(Some("no host".to_string()))),
        _ => Err(bad(None)),
    }
}

/// The URL to fetch: the environment variable, else the policy's `db.url`.
pub fn resolve_url(policy_url: &str) -> Result<DbUrl, DbError> {
    match std::env::var(URL_ENV) {
        Ok(url) if !url.trim().is_empty() => parse_url(URL_ENV, &url),
        _ => parse_url("db.url", policy_url),
    }
}

/// The cached database directory and what lives beside it.
#[derive(Clone, Debug)]
pub struct Cache {
    dir: PathBuf,
}

impl Cache {
    pub fn new(dir: PathBuf) -> Cache {
        Cache { dir }
    }

    /// `~/.cache/secgate/advisory-db` (or under `$XDG_CACHE_HOME`).
    pub fn default_location() -> Result<Cache, DbError> {
        default_db_path().map(Cache::new).ok_or(DbError::NoCacheDir)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn is_present(&self) -> bool {
        self.dir.is_dir()
    }

    pub fn record(&self) -> Option<FetchRecord> {
        fetch_record(&self.dir)
    }

    pub fn record_path(&self) -> PathBuf {
        record_path(&self.dir)
    }

    /// Time since the last successful fetch; `None` without a record.
    pub fn age(&self, now: OffsetDateTime) -> Option<FetchAge> {
        Some(fetch_age(self.record()?.fetched_at()?, now))
    }

    /// Whether `check` should fetch before scanning: no database, no record,
    /// a record older than `refresh`, or one dated in the future.
    pub fn is_due(&self, refresh: Duration, now: OffsetDateTime) -> bool {
        !self.is_present()
            || match self.age(now) {
                Some(FetchAge::Ago(age)) => age >= refresh,
                Some(FetchAge::Future) | None => true,
            }
    }
}

/// Downloads the database at `url` into `cache`, unconditionally (but with
/// a conditional request when the cache has a record from the same URL).
/// `force` takes a download much smaller than the cached database, and
/// asks for it unconditionally.
pub async fn update(
    url: &DbUrl,
    cache: &Cache,
    timeout: Duration,
    force: bool,
) -> Result<UpdateOutcome, DbError> {
    update_locked(url, cache, timeout, None, force).await
}

/// Like `update`, unless the cache is younger than `refresh` once the lock
/// is held: concurrent `check`s then fetch once, not once each.
pub async fn refresh(
    url: &DbUrl,
    cache: &Cache,
    timeout: Duration,
    refresh: Duration,
) -> Result<UpdateOutcome, DbError> {
    update_locked(url, cache, timeout, Some(refresh), false).await
}

async fn update_locked(
    url: &DbUrl,
    cache: &Cache,
    timeout: Duration,
    refresh: Option<Duration>,
    force: bool,
) -> Result<UpdateOutcome, DbError> {
    let url = url.as_str();
    let plan = fetch::Plan {
        url,
        target: &cache.dir,
        timeout,
        max_bytes: MAX_ARCHIVE_BYTES,
        refresh,
        force,
    };
    let current = || {
        // What the download replaces, counted on disk: its record may lie.
        let cached = cache
            .is_present()
            .then(|| crate::advisory::rustsec::count_advisories(&cache.dir));
        // Conditional only when there is a database to keep on a 304, and
        // one its record vouches for: a record counting more than is there
        // asks again for the whole database.
        let trusted_record = cache.record().filter(|record| {
            cached.as_ref().is_some_and(|cached| {
                cached.advisories > 0
                    && crate::advisory::rustsec::shortfall(cached, record).is_none()
            })
        });
        fetch::Current {
            trusted_record,
            advisories: cached.map(|c| c.advisories),
        }
    };
    let (parent, name) = swap::parent_and_name(&cache.dir);
    let owned_url = url.to_string();
    let stage = move |archive: tempfile::NamedTempFile| {
        let staged = rustsec_archive::unpack(archive.path(), &parent, &name, &owned_url)?;
        Ok(fetch::Staged {
            path: staged.dir.keep(),
            advisories: staged.stats.advisories,
            newest_advisory: staged.newest,
            crate_folders: Some(staged.stats.crate_folders),
        })
    };
    fetch::update(
        plan,
        |refresh, now| cache.is_due(refresh, now),
        current,
        stage,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::fetch::write_record;
    use super::rustsec_archive::{unpack, Staged};
    use super::*;
    use flate2::write::GzEncoder;
    use time::format_description::well_known::Rfc3339;

    fn fixture_db() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/advisory-db")
    }

    /// A .tar.gz of `entries` (path, contents); `None` contents is a directory.
    fn archive(build: impl FnOnce(&mut tar::Builder<GzEncoder<Vec<u8>>>)) -> Vec<u8> {
        let mut builder =
            tar::Builder::new(GzEncoder::new(Vec::new(), flate2::Compression::fast()));
        build(&mut builder);
        builder.into_inner().unwrap().finish().unwrap()
    }

    fn fixture_archive() -> Vec<u8> {
        archive(|b| b.append_dir_all("advisory-db-main", fixture_db()).unwrap())
    }

    fn unpack_bytes(bytes: &[u8]) -> Result<Staged, DbError> {
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("a.tar.gz");
        std::fs::write(&archive, bytes).unwrap();
        let staged = unpack(&archive, dir.path(), "advisory-db", "http://test/db.tar.gz");
        // Keep the staging directory's parent alive with the result.
        std::mem::forget(dir);
        staged
    }

    fn raw_entry(
        builder: &mut tar::Builder<GzEncoder<Vec<u8>>>,
        path: &str,
        kind: tar::EntryType,
        data: &[u8],
    ) {
        let mut header = tar::Header::new_gnu();
        // Bypass tar's own path checks to build hostile archives.
        header.as_old_mut().name[..path.len()].copy_from_slice(path.as_bytes());
        header.set_entry_type(kind);
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        if kind.is_symlink() {
            header.set_link_name("/etc/passwd").unwrap();
        }
        header.set_cksum();
        builder.append(&header, data).unwrap();
    }

    #[test]
    fn only_http_and_https_urls_are_fetched() {
        for good in [
            "https://mirror.example/db.tar.gz",
            " http://127.0.0.1:8080/x ",
        ] {
            assert_eq!(parse_url("--url", good).unwrap().as_str(), good.trim());
        }
        for (bad, says) in [
            ("file:///tmp/x", None),
            ("ftp://mirror.example/db.tar.gz", None),
            ("mirror.example/db.tar.gz", Some("not a URL")),
        ] {
            let err = parse_url("SECGATE_DB_URL", bad).unwrap_err().to_string();
            assert!(
                err.starts_with(&format!("SECGATE_DB_URL `{bad}`: ")),
                "{err}"
            );
            assert!(err.contains("only http:// and https://"), "{err}");
            assert!(err.contains("--db DIR"), "{err}");
            if let Some(says) = says {
                assert!(err.contains(says), "{err}");
            }
        }
    }

    #[test]
    fn download_failures_name_the_ways_out() {
        let err = DbError::Fetch {
            url: "http://x".to_string(),
            message: "refused".to_string(),
        };
        let way_out = err.way_out().unwrap();
        for says in [
            "--db DIR",
            "SECGATE_DB=",
            "SECGATE_DB_URL",
            "--url",
            "--offline",
        ] {
            assert!(way_out.contains(says), "{says}: {way_out}");
        }
        assert!(DbError::NoCacheDir.way_out().is_none());
    }

    #[test]
    fn unpacks_a_github_style_archive_without_its_top_directory() {
        let staged = unpack_bytes(&fixture_archive()).unwrap();
        assert!(staged.dir.path().join("crates/smallvec").is_dir());
        assert!(staged.stats.advisories >= 20, "{:?}", staged.stats);
    }

    #[test]
    fn refuses_parent_dir_absolute_paths_and_links() {
        for (path, kind) in [
            ("advisory-db-main/../escape.md", tar::EntryType::Regular),
            ("/etc/secgate-escape", tar::EntryType::Regular),
            ("advisory-db-main/crates/link", tar::EntryType::Symlink),
        ] {
            let bytes = archive(|b| raw_entry(b, path, kind, b"x"));
            let err = unpack_bytes(&bytes).err().expect(path).to_string();
            assert!(
                err.contains("unsafe path") || err.contains("link"),
                "{path}: {err}"
            );
            assert!(err.contains("http://test/db.tar.gz"), "{err}");
        }
    }

    #[test]
    fn refuses_what_is_not_an_advisory_database() {
        let not_gzip = unpack_bytes(b"<html>rate limited</html>").err().unwrap();
        assert!(not_gzip.to_string().contains("not a"), "{not_gzip}");
        let bytes = fixture_archive();
        let truncated = unpack_bytes(&bytes[..bytes.len() / 2]).err().unwrap();
        assert!(matches!(truncated, DbError::Archive { .. }), "{truncated}");
        let no_db =
            archive(|b| raw_entry(b, "repo-main/README.md", tar::EntryType::Regular, b"hi"));
        let err = unpack_bytes(&no_db).err().unwrap();
        assert!(err.to_string().contains("crates/"), "{err}");
        let two_roots = archive(|b| {
            raw_entry(b, "a/x", tar::EntryType::Regular, b"1");
            raw_entry(b, "b/y", tar::EntryType::Regular, b"2");
        });
        let err = unpack_bytes(&two_roots).err().unwrap();
        assert!(err.to_string().contains("top-level"), "{err}");
    }

    #[test]
    fn a_fetch_time_in_the_future_is_due_beyond_clock_skew() {
        let now = OffsetDateTime::now_utc();
        let minutes = |m: i64| now + time::Duration::minutes(m);
        assert_eq!(
            fetch_age(minutes(-90), now),
            FetchAge::Ago(Duration::from_secs(90 * 60))
        );
        // A fast clock on the machine that fetched: now, not the future.
        assert_eq!(fetch_age(minutes(4), now), FetchAge::Ago(Duration::ZERO));
        assert_eq!(fetch_age(minutes(6), now), FetchAge::Future);

        let dir = tempfile::tempdir().unwrap();
        let missing = Cache::new(dir.path().join("missing"));
        assert!(
            missing.is_due(Duration::from_secs(3600), now),
            "no directory"
        );
        let cache = Cache::new(dir.path().join("advisory-db"));
        std::fs::create_dir(cache.dir()).unwrap();
        let write = |at: OffsetDateTime| {
            let record = FetchRecord {
                url: "http://x".to_string(),
                etag: None,
                last_modified: None,
                fetched_at: at.format(&Rfc3339).unwrap(),
                advisories: 1,
                newest_advisory: None,
                crate_folders: None,
            };
            write_record(cache.dir(), &record).unwrap();
        };
        let day = Duration::from_secs(86_400);
        write(minutes(-60));
        assert!(!cache.is_due(day, now));
        write(minutes(4));
        assert!(!cache.is_due(day, now));
        write(now + time::Duration::days(3650));
        assert!(cache.is_due(day, now), "never age zero for ten years");
        assert_eq!(cache.age(now), Some(FetchAge::Future));
        let fresh = crate::advisory::rustsec::checkout::freshness_of(
            1,
            Some("2026-01-01"),
            cache.record().as_ref(),
            now,
        );
        assert_eq!(fresh.age, Some(FetchAge::Future));
    }

    #[test]
    fn a_killed_update_is_recovered() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().join("advisory-db"));
        std::fs::create_dir(dir.path().join(".advisory-db.old-1-2")).unwrap();
        std::fs::create_dir(dir.path().join(".advisory-db.new-abc")).unwrap();
        std::fs::write(dir.path().join(".advisory-db.download-x"), b"partial").unwrap();
        swap::recover_leftovers(cache.dir()).unwrap();
        assert!(cache.dir().is_dir(), "the database renamed aside is back");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
        assert_eq!(left.len(), 1, "{left:?}");
    }
}
