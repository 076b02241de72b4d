//! Writers: they render a verdict, they never decide it.

pub mod gate;
pub mod github;
pub mod sarif;
pub mod summary;

use crate::error::WriteError;
use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` atomically: a temporary file in the same
/// directory, synced, then renamed over the target. Readers see the old
/// file or the new one, never half of one.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    let error = |source| WriteError {
        path: path.to_path_buf(),
        source,
    };
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut temporary = tempfile::Builder::new()
        .prefix(".secgate-")
        .suffix(".tmp")
        .tempfile_in(directory)
        .map_err(error)?;
    temporary.write_all(bytes).map_err(error)?;
    temporary.as_file().sync_all().map_err(error)?;
    temporary.persist(path).map_err(|e| error(e.error))?;
    Ok(())
}

/// Fails early (before any scanning) when `path` cannot be written:
/// its directory is missing or read-only.
pub fn check_writable(path: &Path) -> Result<(), WriteError> {
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    if path.is_dir() {
        return Err(WriteError {
            path: path.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::IsADirectory, "is a directory"),
        });
    }
    tempfile::Builder::new()
        .prefix(".secgate-probe-")
        .tempfile_in(directory)
        .map(drop)
        .map_err(|source| WriteError {
            path: path.to_path_buf(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.sarif");
        write_atomically(&target, b"one").unwrap();
        write_atomically(&target, b"two").unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn missing_directory_is_caught_before_scanning() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("missing").join("out.sarif");
        let err = check_writable(&target).unwrap_err();
        assert!(err.to_string().contains("missing"), "{err}");
        assert!(write_atomically(&target, b"x").is_err());
    }
}
