//! `package-lock.json` and `npm-shrinkwrap.json`, lockfileVersion 1, 2 and 3.

use crate::error::ScanError;
use crate::inventory::lock::UncheckedRequirement;
use crate::inventory::Inventory;
use std::path::{Path, PathBuf};

/// The inventory, what cannot be checked, and the manifests read.
pub(super) fn read(
    path: &Path,
    _text: &str,
) -> Result<(Inventory, Vec<UncheckedRequirement>, Vec<PathBuf>), ScanError> {
    Err(ScanError::BadInput {
        path: path.to_path_buf(),
        message: "this lock format is not read yet".to_string(),
    })
}
