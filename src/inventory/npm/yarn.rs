//! `yarn.lock`: classic (v1, yarn's own syntax) and Berry (v2+, YAML with
//! `__metadata`). Neither records dev dependencies: those come from the
//! workspace manifests and the graph.

use super::manifest::Manifests;
use crate::error::ScanError;
use crate::inventory::lock::UncheckedRequirement;
use crate::inventory::Inventory;
use std::path::{Path, PathBuf};

/// The inventory, what cannot be checked, and the manifests read.
pub(super) fn read(
    path: &Path,
    _text: &str,
    _manifests: &dyn Manifests,
) -> Result<(Inventory, Vec<UncheckedRequirement>, Vec<PathBuf>), ScanError> {
    Err(ScanError::BadInput {
        path: path.to_path_buf(),
        message: "this lock format is not read yet".to_string(),
    })
}
