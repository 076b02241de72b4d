//! The RustSec database as `db update` receives it: a `.tar.gz` of the
//! advisory-db repository, unpacked beside the cache under bounds (no links,
//! no paths leaving it, no gzip bomb) and checked to load before it is
//! swapped in.

use crate::error::DbError;
use rustsec::Database;
use std::ffi::OsString;
use std::fs::File;
use std::io::BufReader;
use std::path::{Component, Path, PathBuf};

/// Bounds what a small archive may expand to (a gzip bomb).
const MAX_UNPACKED_BYTES: u64 = 1 << 30;

pub struct Staged {
    pub dir: tempfile::TempDir,
    /// Counted as a check counts them, for the record.
    pub stats: crate::advisory::rustsec::DbStats,
    pub newest: Option<String>,
}

/// Unpacks the archive into a fresh directory beside the cache (same file
/// system, so the swap is a rename) and checks it is a loadable database.
pub fn unpack(archive: &Path, parent: &Path, name: &str, url: &str) -> Result<Staged, DbError> {
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
