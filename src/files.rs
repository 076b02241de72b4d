//! Reading and writing files safely: what may be opened by name (not a
//! FIFO, a device or a huge file), which directories a walker may enter,
//! outputs written atomically, and paths shown relative to a root.

use crate::error::WriteError;
use std::io::Write;
use std::path::{Component, Path, PathBuf};

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

/// The directory a file is in: `.` for a bare file name (whose
/// `parent()` is the empty path, which no child process can use).
pub fn directory_of(file: &Path) -> &Path {
    or_current(file.parent().unwrap_or(Path::new(".")))
}

/// `dir`, or `.` when it is the empty path.
pub fn or_current(dir: &Path) -> &Path {
    if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    }
}

/// Largest file read whole by name: lock files, manifests, ignore files.
pub const MAX_NAMED_FILE: u64 = 64 * 1024 * 1024;

/// Why `path` must not be opened, if so: opening a FIFO blocks forever, a
/// device (or a link to one) reads without end, a huge file exhausts memory.
/// Absent files, directories and sane regular files are fine (their own
/// errors, if any, come from the read).
pub fn unsafe_to_read(path: &Path) -> Option<String> {
    let meta = std::fs::metadata(path).ok()?;
    if meta.is_dir() {
        return None;
    }
    if !meta.is_file() {
        return Some("not a regular file (a FIFO, socket or device): not opened".to_string());
    }
    if meta.len() > MAX_NAMED_FILE {
        return Some(format!(
            "{} bytes, more than the {MAX_NAMED_FILE} read whole for this kind of file: not opened",
            meta.len()
        ));
    }
    None
}

/// Files the directory walker (the `ignore` crate) opens by itself when it
/// enters a directory; it cannot be told to skip a FIFO or a device.
const WALKER_READS: [&str; 4] = [".gitignore", ".ignore", ".git", ".git/info/exclude"];

/// The first file in `dir` that entering it would open unsafely, and why.
pub fn walker_hazard(dir: &Path) -> Option<(PathBuf, String)> {
    WALKER_READS.iter().find_map(|name| {
        let path = dir.join(name);
        unsafe_to_read(&path).map(|why| (path, why))
    })
}

/// `path` relative to `base` with `/` separators, as findings and SBOM
/// references show it: `x/y` below `base`, `.` for `base` itself, `../x`
/// steps when outside it (a path dependency beside the workspace).
pub fn relative_path(base: &Path, path: &Path) -> String {
    let parts: Vec<String> = match path.strip_prefix(base) {
        Ok(inside) => normal_parts(inside),
        Err(_) if base.is_absolute() != path.is_absolute() => normal_parts(path),
        Err(_) => {
            let base: Vec<Component> = base.components().collect();
            let path: Vec<Component> = path.components().collect();
            let common = base.iter().zip(&path).take_while(|(a, b)| a == b).count();
            let mut parts = vec!["..".to_string(); base.len() - common];
            parts.extend(normal_parts(&path[common..].iter().collect::<PathBuf>()));
            parts
        }
    };
    if parts.is_empty() {
        ".".to_string()
    } else {
        parts.join("/")
    }
}

fn normal_parts(path: &Path) -> Vec<String> {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(part) => Some(part.to_string_lossy().into_owned()),
            Component::ParentDir => Some("..".to_string()),
            Component::RootDir | Component::Prefix(_) => Some(String::new()),
            Component::CurDir => None,
        })
        .collect()
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

    #[test]
    fn relative_paths_inside_outside_and_equal() {
        assert_eq!(relative_path(Path::new("/a/b"), Path::new("/a/b")), ".");
        assert_eq!(
            relative_path(Path::new("/a/b"), Path::new("/a/b/c/d.rs")),
            "c/d.rs"
        );
        assert_eq!(relative_path(Path::new("/a/b"), Path::new("/a/x")), "../x");
        assert_eq!(
            relative_path(Path::new("."), Path::new("./src/x.rs")),
            "src/x.rs"
        );
        assert_eq!(
            relative_path(Path::new("repo"), Path::new("repo/Cargo.lock")),
            "Cargo.lock"
        );
    }

    #[test]
    fn a_bare_file_name_is_in_the_current_directory() {
        assert_eq!(directory_of(Path::new("Cargo.lock")), Path::new("."));
        assert_eq!(directory_of(Path::new("a/Cargo.lock")), Path::new("a"));
    }
}
