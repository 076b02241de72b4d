//! The advisory database cache: `secgate db update` downloads a `.tar.gz` of
//! the RustSec advisory-db repository, checks that it is a loadable database,
//! and swaps it in atomically. Beside the database directory live its fetch
//! record (`advisory-db.fetch.json`) and two lock files.

use crate::advisory::rustsec::checkout::{
    default_db_path, fetch_age, fetch_record, lock, record_path, sibling, FetchAge, FetchRecord,
    Lock,
};
use crate::error::DbError;
use rustsec::Database;
use std::ffi::OsString;
use std::fs::File;
use std::io::{BufReader, Write};
use std::path::{Component, Path, PathBuf};
use std::time::Duration;
use time::format_description::well_known::Rfc3339;
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
/// Bounds what a small archive may expand to (a gzip bomb).
const MAX_UNPACKED_BYTES: u64 = 1 << 30;

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

    fn parent(&self) -> PathBuf {
        match self.dir.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }

    fn name(&self) -> String {
        self.dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "advisory-db".to_string())
    }

    fn io(&self, path: &Path) -> impl Fn(std::io::Error) -> DbError {
        let path = path.to_path_buf();
        move |source| DbError::Io {
            path: path.clone(),
            source,
        }
    }
}

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

/// How many advisories fewer than the cached database a download may hold:
/// RustSec withdraws advisories by marking them, and rarely deletes one.
pub fn shrink_allowance(cached: usize) -> usize {
    (cached / 50).max(10)
}

async fn update_locked(
    url: &DbUrl,
    cache: &Cache,
    timeout: Duration,
    refresh: Option<Duration>,
    force: bool,
) -> Result<UpdateOutcome, DbError> {
    let url = url.as_str();
    let parent = cache.parent();
    std::fs::create_dir_all(&parent).map_err(cache.io(&parent))?;
    // Updaters take turns; waiting is blocking, so off the async threads.
    let lock_path = sibling(&cache.dir, ".lock");
    let _lock = {
        let path = lock_path.clone();
        tokio::task::spawn_blocking(move || lock(&path, Lock::Exclusive))
            .await
            .map_err(|e| DbError::Io {
                path: lock_path,
                source: std::io::Error::other(e.to_string()),
            })??
    };
    recover_leftovers(cache)?;
    if let Some(refresh) = refresh {
        if !cache.is_due(refresh, OffsetDateTime::now_utc()) {
            return Ok(UpdateOutcome::AlreadyFresh);
        }
    }

    let fetch = |message: String| DbError::Fetch {
        url: url.to_string(),
        message,
    };
    // What the download replaces, counted on disk: its record may lie.
    let cached = cache
        .is_present()
        .then(|| crate::advisory::rustsec::count_advisories(&cache.dir));
    // Conditional only when there is a database to keep on a 304, and one
    // its record vouches for: a record dated in the future or counting
    // more than is there asks again for the whole database.
    let previous = cache.record().filter(|record| {
        !force
            && record.url == url
            && record
                .fetched_at()
                .is_some_and(|at| fetch_age(at, OffsetDateTime::now_utc()) != FetchAge::Future)
            && cached.as_ref().is_some_and(|cached| {
                cached.advisories > 0
                    && crate::advisory::rustsec::shortfall(cached, record).is_none()
            })
    });
    let client = client(timeout).map_err(|e| fetch(error_chain(&e)))?;
    let mut request = client.get(url);
    if let Some(record) = &previous {
        if let Some(etag) = &record.etag {
            request = request.header(reqwest::header::IF_NONE_MATCH, etag);
        }
        if let Some(modified) = &record.last_modified {
            request = request.header(reqwest::header::IF_MODIFIED_SINCE, modified);
        }
    }
    let mut response = request
        .send()
        .await
        .map_err(|e| fetch(describe(e, timeout)))?;
    let status = response.status();
    if status == reqwest::StatusCode::NOT_MODIFIED {
        let Some(mut record) = previous else {
            return Err(fetch(
                "HTTP 304 Not Modified to an unconditional request".to_string(),
            ));
        };
        record.fetched_at = now_rfc3339();
        write_record(cache, &record)?;
        return Ok(UpdateOutcome::NotModified);
    }
    if !status.is_success() {
        return Err(fetch(format!("HTTP {status}")));
    }
    if response
        .content_length()
        .is_some_and(|n| n > MAX_ARCHIVE_BYTES)
    {
        return Err(fetch(format!(
            "the archive is larger than {} MiB",
            MAX_ARCHIVE_BYTES >> 20
        )));
    }
    let header = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
            .map(str::to_string)
    };
    let etag = header(reqwest::header::ETAG);
    let last_modified = header(reqwest::header::LAST_MODIFIED);

    // Into a temporary file beside the cache, never into the cache itself.
    let name = cache.name();
    let mut download = tempfile::Builder::new()
        .prefix(&format!(".{name}.download-"))
        .tempfile_in(&parent)
        .map_err(cache.io(&parent))?;
    let mut received: u64 = 0;
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| fetch(describe(e, timeout)))?
    {
        received += chunk.len() as u64;
        if received > MAX_ARCHIVE_BYTES {
            return Err(fetch(format!(
                "the archive is larger than {} MiB",
                MAX_ARCHIVE_BYTES >> 20
            )));
        }
        download
            .write_all(&chunk)
            .map_err(cache.io(download.path()))?;
    }
    download.flush().map_err(cache.io(download.path()))?;

    let staged = {
        let (url, parent, name) = (url.to_string(), parent.clone(), name.clone());
        let archive = download.path().to_path_buf();
        tokio::task::spawn_blocking(move || unpack(&archive, &parent, &name, &url))
            .await
            .map_err(|e| fetch(format!("unpacking crashed: {e}")))??
    };
    drop(download);
    let (advisories, newest_advisory) = (staged.stats.advisories, staged.newest.clone());
    let crate_folders = Some(staged.stats.crate_folders.clone());
    // A gutted database would pass every check: keep the one there.
    if let Some(cached) = cached.map(|c| c.advisories).filter(|_| !force) {
        if advisories + shrink_allowance(cached) < cached {
            return Err(DbError::Shrunk {
                url: url.to_string(),
                fetched: advisories,
                cached,
                path: cache.dir.clone(),
            });
        }
    }
    let cache_for_swap = cache.clone();
    tokio::task::spawn_blocking(move || swap_in(&cache_for_swap, staged.dir))
        .await
        .map_err(|e| fetch(format!("swapping crashed: {e}")))??;
    write_record(
        cache,
        &FetchRecord {
            url: url.to_string(),
            etag,
            last_modified,
            fetched_at: now_rfc3339(),
            advisories,
            newest_advisory,
            crate_folders,
        },
    )?;
    Ok(UpdateOutcome::Updated { advisories })
}

fn now_rfc3339() -> String {
    OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| OffsetDateTime::now_utc())
        .format(&Rfc3339)
        .unwrap_or_default()
}

fn write_record(cache: &Cache, record: &FetchRecord) -> Result<(), DbError> {
    let mut json = serde_json::to_vec_pretty(record).unwrap_or_default();
    json.push(b'\n');
    crate::files::write_atomically(&cache.record_path(), &json)?;
    Ok(())
}

fn client(timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
    // reqwest is built without a crypto provider (aws-lc-rs is a heavy C
    // build): use ring. Err only means one is installed already.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .user_agent(concat!("secgate/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(timeout)
        // Per read, not for the whole download: a slow link is fine, a stall is not.
        .read_timeout(timeout)
        .build()
}

/// The error without reqwest's copy of the URL: `DbError` names it once.
fn describe(error: reqwest::Error, timeout: Duration) -> String {
    if error.is_timeout() {
        format!("timed out after {}s without data", timeout.as_secs())
    } else {
        error_chain(&error.without_url())
    }
}

/// `error: cause: cause`, skipping causes that repeat their parent's text.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

struct Staged {
    dir: tempfile::TempDir,
    /// Counted as a check counts them, for the record.
    stats: crate::advisory::rustsec::DbStats,
    newest: Option<String>,
}

/// Unpacks the archive into a fresh directory beside the cache (same file
/// system, so the swap is a rename) and checks it is a loadable database.
fn unpack(archive: &Path, parent: &Path, name: &str, url: &str) -> Result<Staged, DbError> {
    let bad = |message: String| DbError::Archive {
        url: url.to_string(),
        message,
    };
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| DbError::Io {
            path: path.clone(),
            source,
        }
    };
    let staging = tempfile::Builder::new()
        .prefix(&format!(".{name}.new-"))
        .tempdir_in(parent)
        .map_err(io(parent))?;
    let file = File::open(archive).map_err(io(archive))?;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(BufReader::new(file)));
    let mut top: Option<OsString> = None;
    let mut unpacked: u64 = 0;
    let entries = tar
        .entries()
        .map_err(|e| bad(format!("not a .tar.gz archive: {e}")))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| bad(format!("not a readable .tar.gz archive: {e}")))?;
        let kind = entry.header().entry_type();
        // GitHub archives start with a pax header holding the commit id.
        if kind.is_pax_global_extensions() {
            continue;
        }
        let path = entry
            .path()
            .map_err(|e| bad(format!("unreadable entry name: {e}")))?
            .into_owned();
        let shown = path.display().to_string();
        let mut components = path.components();
        let first = match components.next() {
            Some(Component::Normal(first)) => first.to_os_string(),
            _ => return Err(bad(format!("unsafe path in the archive: `{shown}`"))),
        };
        match &top {
            None => top = Some(first),
            Some(top) if *top == first => {}
            Some(_) => {
                return Err(bad(
                    "more than one top-level directory (expected a repository archive)".to_string(),
                ))
            }
        }
        let mut relative = PathBuf::new();
        for component in components {
            match component {
                Component::Normal(part) => relative.push(part),
                Component::CurDir => {}
                _ => return Err(bad(format!("unsafe path in the archive: `{shown}`"))),
            }
        }
        let target = staging.path().join(&relative);
        if kind.is_dir() {
            std::fs::create_dir_all(&target).map_err(io(&target))?;
        } else if kind.is_file() {
            if relative.as_os_str().is_empty() {
                return Err(bad(format!("a file at the top level: `{shown}`")));
            }
            unpacked += entry.header().size().unwrap_or(u64::MAX);
            if unpacked > MAX_UNPACKED_BYTES {
                return Err(bad(format!(
                    "unpacks to more than {} MiB",
                    MAX_UNPACKED_BYTES >> 20
                )));
            }
            if let Some(dir) = target.parent() {
                std::fs::create_dir_all(dir).map_err(io(dir))?;
            }
            let mut out = File::create(&target).map_err(io(&target))?;
            std::io::copy(&mut entry, &mut out)
                .map_err(|e| bad(format!("truncated or corrupt at `{shown}`: {e}")))?;
        } else if kind.is_symlink() || kind.is_hard_link() {
            return Err(bad(format!("the archive holds a link: `{shown}`")));
        } else {
            return Err(bad(format!(
                "unsupported entry type in the archive: `{shown}`"
            )));
        }
    }
    if top.is_none() {
        return Err(bad("an empty archive".to_string()));
    }
    let newest = check_database(staging.path()).map_err(bad)?;
    let stats = crate::advisory::rustsec::count_advisories(staging.path());
    Ok(Staged {
        dir: staging,
        stats,
        newest,
    })
}

/// Loads the database at `dir` and finds the newest advisory's date; an
/// empty database cannot vouch for anything.
fn check_database(dir: &Path) -> Result<Option<String>, String> {
    if !dir.join("crates").is_dir() {
        return Err("no crates/ directory: not a RustSec advisory-db archive".to_string());
    }
    let database = Database::open(dir).map_err(|e| format!("does not load: {e}"))?;
    // ISO dates order as strings.
    match database.iter().map(|a| a.metadata.date.as_str()).max() {
        None => Err("it holds no advisories".to_string()),
        newest => Ok(newest.map(str::to_string)),
    }
}

/// Replaces the cached database by `staged`: old aside, new in, old deleted.
/// Readers hold the swap lock shared while they load, so none sees the gap
/// between the two renames or a half-deleted directory.
fn swap_in(cache: &Cache, staged: tempfile::TempDir) -> Result<(), DbError> {
    let parent = cache.parent();
    let name = cache.name();
    let aside = parent.join(format!(
        ".{name}.old-{}-{}",
        std::process::id(),
        OffsetDateTime::now_utc().unix_timestamp_nanos()
    ));
    let swap_lock = lock(&sibling(&cache.dir, ".swap.lock"), Lock::Exclusive)?;
    let had_old = cache.dir.exists();
    if had_old {
        std::fs::rename(&cache.dir, &aside).map_err(cache.io(&cache.dir))?;
    }
    let staged_path = staged.keep();
    if let Err(source) = std::fs::rename(&staged_path, &cache.dir) {
        if had_old {
            let _ = std::fs::rename(&aside, &cache.dir);
        }
        let _ = std::fs::remove_dir_all(&staged_path);
        return Err(DbError::Io {
            path: cache.dir.clone(),
            source,
        });
    }
    drop(swap_lock);
    if had_old {
        // Best effort: a leftover is removed by the next update.
        let _ = std::fs::remove_dir_all(&aside);
    }
    Ok(())
}

/// Cleans up after an update that was killed: partial downloads and staging
/// directories go; a database renamed aside comes back if nothing replaced it.
/// Called with the update lock held, so no other updater owns these.
fn recover_leftovers(cache: &Cache) -> Result<(), DbError> {
    let parent = cache.parent();
    let name = cache.name();
    let (new, old, download) = (
        format!(".{name}.new-"),
        format!(".{name}.old-"),
        format!(".{name}.download-"),
    );
    let Ok(entries) = std::fs::read_dir(&parent) else {
        return Ok(());
    };
    let mut asides = Vec::new();
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        if file_name.starts_with(&new) {
            let _ = std::fs::remove_dir_all(entry.path());
        } else if file_name.starts_with(&download) {
            let _ = std::fs::remove_file(entry.path());
        } else if file_name.starts_with(&old) {
            asides.push(entry.path());
        }
    }
    asides.sort();
    if !cache.dir.exists() {
        if let Some(latest) = asides.pop() {
            std::fs::rename(&latest, &cache.dir).map_err(cache.io(&cache.dir))?;
        }
    }
    for aside in asides {
        let _ = std::fs::remove_dir_all(aside);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;

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
            write_record(&cache, &record).unwrap();
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
        recover_leftovers(&cache).unwrap();
        assert!(cache.dir().is_dir(), "the database renamed aside is back");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
        assert_eq!(left.len(), 1, "{left:?}");
    }
}
