//! Writers: they render a verdict, they never decide it.

pub mod gate;
pub mod github;
pub mod sarif;
pub mod summary;

use crate::error::WriteError;
use std::io::Write;
use std::path::Path;

/// `text` on one line: messages from parsers and other tools may span
/// several, and a terminal line, a SARIF notification or a table cell must not.
pub fn one_line(text: &str) -> String {
    if !text.contains(['\n', '\r']) {
        return text.to_string();
    }
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

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
    let mut builder = tempfile::Builder::new();
    builder.prefix(".secgate-").suffix(".tmp");
    // Like any other tool's output: 0666 less the umask (tempfile's own 0600
    // would keep a SARIF from the CI user that uploads it).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut temporary = builder.tempfile_in(directory).map_err(error)?;
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

    #[cfg(unix)]
    #[test]
    fn outputs_follow_the_umask_like_other_tools() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.sarif");
        write_atomically(&target, b"x").unwrap();
        // What a plain create would give here, under the same umask.
        let plain = dir.path().join("plain");
        std::fs::write(&plain, b"x").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&target), mode(&plain));
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
