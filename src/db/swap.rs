//! Replacing a cached database (a directory or one archive file) without a
//! moment where readers see half of it, and cleaning up after an update
//! that was killed. Names beside the target: `.{name}.new-*` (staged),
//! `.{name}.old-*` (the previous one, set aside), `.{name}.download-*`.

use crate::advisory::rustsec::checkout::{lock, sibling, Lock};
use crate::error::DbError;
use std::path::{Path, PathBuf};
use time::OffsetDateTime;

/// The directory `target` lives in and its file name.
pub fn parent_and_name(target: &Path) -> (PathBuf, String) {
    let parent = match target.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "advisory-db".to_string());
    (parent, name)
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> DbError {
    let path = path.to_path_buf();
    move |source| DbError::Io {
        path: path.clone(),
        source,
    }
}

/// Removes a staged copy that will not be swapped in.
pub fn discard(path: &Path) {
    remove(path);
}

fn remove(path: &Path) {
    // Best effort: a leftover is removed by the next update.
    if path.is_dir() {
        let _ = std::fs::remove_dir_all(path);
    } else {
        let _ = std::fs::remove_file(path);
    }
}

/// Replaces `target` by `staged` (on the same file system): old aside, new
/// in, old deleted. Readers hold the swap lock shared while they load, so
/// none sees the gap between the two renames or a half-deleted directory.
pub fn swap_in(target: &Path, staged: &Path) -> Result<(), DbError> {
    let (parent, name) = parent_and_name(target);
    let aside = parent.join(format!(
        ".{name}.old-{}-{}",
        std::process::id(),
        OffsetDateTime::now_utc().unix_timestamp_nanos()
    ));
    let swap_lock = lock(&sibling(target, ".swap.lock"), Lock::Exclusive)?;
    let had_old = target.exists();
    if had_old {
        std::fs::rename(target, &aside).map_err(io(target))?;
    }
    if let Err(source) = std::fs::rename(staged, target) {
        if had_old {
            let _ = std::fs::rename(&aside, target);
        }
        remove(staged);
        return Err(DbError::Io {
            path: target.to_path_buf(),
            source,
        });
    }
    drop(swap_lock);
    if had_old {
        remove(&aside);
    }
    Ok(())
}

/// Cleans up after an update that was killed: partial downloads and staged
/// copies go; a database set aside comes back if nothing replaced it.
/// Called with the update lock held, so no other updater owns these.
pub fn recover_leftovers(target: &Path) -> Result<(), DbError> {
    let (parent, name) = parent_and_name(target);
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
        if file_name.starts_with(&new) || file_name.starts_with(&download) {
            remove(&entry.path());
        } else if file_name.starts_with(&old) {
            asides.push(entry.path());
        }
    }
    asides.sort();
    if !target.exists() {
        if let Some(latest) = asides.pop() {
            std::fs::rename(&latest, target).map_err(io(target))?;
        }
    }
    for aside in asides {
        remove(&aside);
    }
    Ok(())
}
