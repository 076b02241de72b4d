//! The `package.json` files a lock reader asks for (yarn's locks record no
//! dev dependencies): read from disk beside the lock, inside the scanned
//! directory, or from nowhere (fuzzing, a lock given alone).

use crate::error::ScanError;
use std::path::{Path, PathBuf};

/// Gives a reader the manifests it asks for, by directory relative to
/// the lock's own (`""` for the lock's directory, `packages/web`).
pub trait Manifests {
    /// The `package.json` in `relative_dir`, if there is one: its path and text.
    fn read(&self, relative_dir: &str) -> Result<Option<(PathBuf, String)>, ScanError>;
}

/// Manifests on disk, beside the lock; never outside `root`.
pub struct FileManifests {
    lock_dir: PathBuf,
    root: PathBuf,
}

impl FileManifests {
    pub fn new(lock_dir: &Path, root: &Path) -> FileManifests {
        FileManifests {
            lock_dir: lock_dir.to_path_buf(),
            root: root.to_path_buf(),
        }
    }
}

impl Manifests for FileManifests {
    fn read(&self, relative_dir: &str) -> Result<Option<(PathBuf, String)>, ScanError> {
        let path = self.lock_dir.join(relative_dir).join("package.json");
        let inside = match (path.canonicalize(), self.root.canonicalize()) {
            (Ok(path), Ok(root)) => path.starts_with(&root) || root.is_file(),
            _ => false,
        };
        if !inside || !path.is_file() {
            return Ok(None);
        }
        let text = crate::inventory::lock::read_text(&path)?;
        Ok(Some((path, text)))
    }
}

/// No manifests at all.
pub struct NoManifests;

impl Manifests for NoManifests {
    fn read(&self, _relative_dir: &str) -> Result<Option<(PathBuf, String)>, ScanError> {
        Ok(None)
    }
}
