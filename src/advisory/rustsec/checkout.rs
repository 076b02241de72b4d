//! A RustSec advisory database on disk, a checkout or secgate's cache:
//! whether a directory is one, the fetch record beside a fetched one, how
//! old it is, and the lock that keeps an update from swapping it out while
//! a check reads it.

use crate::error::DbError;
use rustsec::Database;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Duration;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Checks that `dir` looks like an advisory database before anything reads
/// it, so a wrong `--db` is named as such rather than as a missing file.
pub fn check_checkout(dir: &Path) -> Result<(), DbError> {
    let not = |problem: &str| DbError::NotACheckout {
        path: dir.to_path_buf(),
        problem: problem.to_string(),
    };
    match std::fs::metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(DbError::Missing(dir.to_path_buf()))
        }
        Err(error) => {
            return Err(DbError::Unreadable {
                path: dir.to_path_buf(),
                error,
            })
        }
        Ok(meta) if !meta.is_dir() => return Err(not("not a directory")),
        Ok(_) => {}
    }
    let crates = dir.join("crates");
    match std::fs::metadata(&crates) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(not("no crates/ directory")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(not("no crates/ directory")),
        Err(error) => Err(DbError::Unreadable {
            path: crates,
            error,
        }),
    }
}

/// Where a fetched database came from and when; written after every
/// successful update (a 304 included).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct FetchRecord {
    pub url: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// RFC 3339, UTC.
    pub fetched_at: String,
    /// Advisory files, counted as a check counts them.
    pub advisories: usize,
    /// The newest advisory's date, found at unpacking: a check whose
    /// folders agree with `crate_folders` need not list them all to find
    /// it. Absent from records of older versions.
    #[serde(default)]
    pub newest_advisory: Option<String>,
    /// Advisory files in each folder of `crates/`, counted at unpacking:
    /// a check verifies the folders it reads, and the list of folders,
    /// against it without listing the others. Absent from records of
    /// older versions: their databases are counted in full.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "folder_counts"
    )]
    pub crate_folders: Option<BTreeMap<String, usize>>,
}

/// `crate-folders`, read as pairs and built into a map at once: a map
/// deserialised an insert at a time costs a search per folder (a third
/// of a small lock file's check). A repeated name keeps its last count,
/// as inserting would.
fn folder_counts<'de, D>(deserializer: D) -> Result<Option<BTreeMap<String, usize>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    struct Pairs;
    impl<'de> serde::de::Visitor<'de> for Pairs {
        type Value = Option<BTreeMap<String, usize>>;

        fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
            formatter.write_str("a map of crate folders to advisory counts, or null")
        }

        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: serde::Deserializer<'de>>(
            self,
            inner: D,
        ) -> Result<Self::Value, D::Error> {
            inner.deserialize_map(self)
        }

        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<Self::Value, A::Error> {
            let mut pairs: Vec<(String, usize)> = Vec::with_capacity(map.size_hint().unwrap_or(0));
            while let Some(pair) = map.next_entry()? {
                pairs.push(pair);
            }
            Ok(Some(pairs.into_iter().collect()))
        }
    }
    deserializer.deserialize_option(Pairs)
}

impl FetchRecord {
    pub fn fetched_at(&self) -> Option<OffsetDateTime> {
        OffsetDateTime::parse(&self.fetched_at, &Rfc3339).ok()
    }
}

/// The fetch record beside a database directory, if there is a readable one
/// (a `--db` checkout has none).
pub fn fetch_record(db_dir: &Path) -> Option<FetchRecord> {
    read_fetch_record(db_dir).ok().flatten()
}

/// The fetch record beside a database directory: `None` when there is none,
/// an error when it is there but unreadable or garbled.
pub fn read_fetch_record(db_dir: &Path) -> Result<Option<FetchRecord>, DbError> {
    let path = record_path(db_dir);
    let bad = |message: String| DbError::BadRecord {
        path: path.clone(),
        message,
    };
    let text = match std::fs::read(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(bad(e.to_string())),
    };
    let record: FetchRecord =
        serde_json::from_slice(&text).map_err(|e| bad(format!("not a fetch record: {e}")))?;
    if record.fetched_at().is_none() {
        return Err(bad(format!(
            "fetched-at `{}` is not an RFC 3339 time",
            record.fetched_at
        )));
    }
    Ok(Some(record))
}

/// Where the fetch record of the database at `db_dir` lives.
pub fn record_path(db_dir: &Path) -> PathBuf {
    sibling(db_dir, ".fetch.json")
}

/// How far ahead of this machine's clock a fetch time may be and still be
/// taken for now: the runner that wrote a cache may run a little fast.
pub const CLOCK_SKEW: Duration = Duration::from_secs(5 * 60);

/// How long ago a fetch record says its database was fetched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FetchAge {
    Ago(Duration),
    /// Later than now by more than `CLOCK_SKEW`: a wrong clock or a forged
    /// record. Counted as due and stale, never as age zero, or such a
    /// record would keep its database from ever being refreshed.
    Future,
}

pub fn fetch_age(fetched: OffsetDateTime, now: OffsetDateTime) -> FetchAge {
    match Duration::try_from(now - fetched) {
        Ok(age) => FetchAge::Ago(age),
        Err(_) if fetched - now <= CLOCK_SKEW => FetchAge::Ago(Duration::ZERO),
        Err(_) => FetchAge::Future,
    }
}

/// `<dir><suffix>` next to `dir`: `advisory-db` → `advisory-db.lock`.
pub fn sibling(dir: &Path, suffix: &str) -> PathBuf {
    let mut name = dir.file_name().map(OsString::from).unwrap_or_default();
    name.push(suffix);
    dir.with_file_name(name)
}

#[derive(Clone, Copy)]
pub enum Lock {
    Shared,
    Exclusive,
}

/// Blocks until the lock is held; released when the file is dropped.
pub fn lock(path: &Path, kind: Lock) -> Result<File, DbError> {
    let io = |source| DbError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(io)?;
    match kind {
        Lock::Shared => file.lock_shared(),
        Lock::Exclusive => file.lock(),
    }
    .map_err(io)?;
    Ok(file)
}

/// Held by a reader while it loads `db_dir`, so an update cannot swap the
/// directory out from under it. Only where secgate manages the directory
/// (its swap lock exists): a `--db` checkout gets no lock file beside it.
pub fn read_guard(db_dir: &Path) -> Option<File> {
    let path = sibling(db_dir, ".swap.lock");
    if !path.is_file() {
        return None;
    }
    lock(&path, Lock::Shared).ok()
}

/// How old a loaded database is, for the advisory scanner's note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Freshness {
    pub advisories: usize,
    /// The newest advisory's date, `YYYY-MM-DD`.
    pub newest: Option<String>,
    /// When it was fetched, if secgate fetched it.
    pub fetched_at: Option<OffsetDateTime>,
    /// Now minus the fetch time, or else minus the newest advisory's date.
    pub age: Option<FetchAge>,
}

pub fn freshness(database: &Database, db_dir: &Path, now: OffsetDateTime) -> Freshness {
    let mut advisories = 0;
    let mut newest: Option<&str> = None;
    for advisory in database.iter() {
        advisories += 1;
        let date = advisory.metadata.date.as_str();
        // ISO dates order as strings.
        if newest.is_none_or(|n| date > n) {
            newest = Some(date);
        }
    }
    freshness_of(advisories, newest, fetch_record(db_dir).as_ref(), now)
}

/// As `freshness`, from a count and newest date found without loading the
/// database (the advisory scanner parses only the crates it needs), and
/// the database's fetch record if it has one.
pub fn freshness_of(
    advisories: usize,
    newest: Option<&str>,
    record: Option<&FetchRecord>,
    now: OffsetDateTime,
) -> Freshness {
    let fetched_at = record.and_then(FetchRecord::fetched_at);
    let age = match fetched_at {
        Some(fetched) => Some(fetch_age(fetched, now)),
        // A date, not a time: a day ahead is a time zone east of UTC.
        None => newest.and_then(|date| {
            let format = time::macros::format_description!("[year]-[month]-[day]");
            let date = time::Date::parse(date, &format).ok()?;
            let since = Duration::try_from(now - date.midnight().assume_utc());
            Some(FetchAge::Ago(since.unwrap_or(Duration::ZERO)))
        }),
    };
    Freshness {
        advisories,
        newest: newest.map(str::to_string),
        fetched_at,
        age,
    }
}

/// `~/.cache/secgate/advisory-db` (or under `$XDG_CACHE_HOME`).
pub fn default_db_path() -> Option<PathBuf> {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))?;
    Some(cache.join("secgate").join("advisory-db"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture_db() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/advisory-db")
    }

    #[test]
    fn a_directory_that_is_not_a_database_is_named_as_such() {
        assert!(check_checkout(&fixture_db()).is_ok());
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        let err = check_checkout(&missing).unwrap_err();
        assert!(matches!(err, DbError::Missing(_)), "{err}");
        assert!(err.to_string().ends_with("nope does not exist"), "{err}");
        let err = check_checkout(dir.path()).unwrap_err().to_string();
        assert!(
            err.ends_with("is not a RustSec advisory-db checkout (no crates/ directory)"),
            "{err}"
        );
        let file = dir.path().join("file");
        std::fs::write(&file, "x").unwrap();
        let err = check_checkout(&file).unwrap_err().to_string();
        assert!(err.ends_with("checkout (not a directory)"), "{err}");
        std::fs::write(dir.path().join("crates"), "x").unwrap();
        let err = check_checkout(dir.path()).unwrap_err().to_string();
        assert!(err.ends_with("(no crates/ directory)"), "{err}");
    }

    #[test]
    fn freshness_falls_back_to_the_newest_advisory() {
        let database = Database::open(&fixture_db()).unwrap();
        let now = OffsetDateTime::now_utc();
        let fresh = freshness(&database, &fixture_db(), now);
        assert_eq!(fresh.advisories, database.iter().count());
        let newest = fresh.newest.clone().unwrap();
        assert_eq!(newest.len(), 10, "{newest}");
        assert!(fresh.fetched_at.is_none());
        assert!(fresh.age.is_some());
    }

    #[test]
    fn freshness_prefers_the_fetch_record() {
        let dir = tempfile::tempdir().unwrap();
        let db_dir = dir.path().join("advisory-db");
        let fetched = OffsetDateTime::now_utc() - time::Duration::hours(5);
        let record = FetchRecord {
            url: "http://x".to_string(),
            etag: None,
            last_modified: None,
            fetched_at: fetched.format(&Rfc3339).unwrap(),
            advisories: 1,
            newest_advisory: None,
            crate_folders: None,
        };
        std::fs::write(
            sibling(&db_dir, ".fetch.json"),
            serde_json::to_vec(&record).unwrap(),
        )
        .unwrap();
        let database = Database::open(&fixture_db()).unwrap();
        let fresh = freshness(&database, &db_dir, OffsetDateTime::now_utc());
        let Some(FetchAge::Ago(age)) = fresh.age else {
            panic!("{:?}", fresh.age)
        };
        let age = age.as_secs();
        assert!((5 * 3600..5 * 3600 + 60).contains(&age), "{age}");
    }

    #[test]
    fn folder_counts_read_as_a_map_would() {
        let record = |folders: &str| {
            let text = format!(
                r#"{{"url":"u","etag":null,"last-modified":null,"fetched-at":"2026-01-01T00:00:00Z","advisories":3{folders}}}"#
            );
            serde_json::from_str::<FetchRecord>(&text).map(|r| r.crate_folders)
        };
        let plain = |folders: &str| {
            serde_json::from_str::<Option<BTreeMap<String, usize>>>(folders).map_err(|_| ())
        };
        assert_eq!(record("").unwrap(), None);
        for folders in ["null", "{}", r#"{"b":1,"a":2}"#, r#"{"a":1,"b":2,"a":3}"#] {
            assert_eq!(
                record(&format!(r#","crate-folders":{folders}"#)).map_err(|_| ()),
                plain(folders),
                "{folders}"
            );
        }
        for garbled in [r#"{"a":-1}"#, r#"[1]"#, r#""a""#, r#"{"a":"1"}"#] {
            assert!(
                record(&format!(r#","crate-folders":{garbled}"#)).is_err(),
                "{garbled}"
            );
            assert!(plain(garbled).is_err(), "{garbled}");
        }
    }

    #[test]
    fn a_garbled_fetch_record_is_told_from_a_missing_one() {
        let dir = tempfile::tempdir().unwrap();
        let db_dir = dir.path().join("advisory-db");
        assert!(read_fetch_record(&db_dir).unwrap().is_none());
        for (text, says) in [
            ("{not json", "not a fetch record"),
            (
                r#"{"url": "http://x", "fetched-at": "2026-01-01T00:00:00Z", "advisories": "many"}"#,
                "not a fetch record",
            ),
            (
                r#"{"url": "http://x", "fetched-at": "yesterday", "advisories": 3}"#,
                "fetched-at `yesterday` is not an RFC 3339 time",
            ),
        ] {
            std::fs::write(record_path(&db_dir), text).unwrap();
            let err = read_fetch_record(&db_dir).unwrap_err().to_string();
            assert!(err.starts_with("fetch record "), "{err}");
            assert!(err.contains("advisory-db.fetch.json"), "{err}");
            assert!(err.contains(says), "{err}");
            assert!(fetch_record(&db_dir).is_none());
        }
    }
}
