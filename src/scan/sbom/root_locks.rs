//! The Python and npm locks at the scanned root that describe what ships,
//! and their inventories for the SBOM: a lock that names no project (a
//! requirement file, a yarn lock read without its manifest) gets one, the
//! root directory, depending on every package it pins, so that each is a
//! component of what ships.

use crate::inventory::{
    DependencyKind, Ecosystem, Edge, EdgeKind, Inventory, Package, PackageSource,
};
use crate::scan::context::ScanContext;
use crate::scan::lockfiles;
use std::path::{Path, PathBuf};

/// Python: the project's locks (poetry, uv, Pipfile, pdm), else its
/// `requirements.txt` (not the `requirements-dev.txt` kind: those are for
/// development). npm: one lock, the one the package manager in use reads
/// (a published package's `npm-shrinkwrap.json` first).
pub fn at(root: &Path) -> Vec<(Ecosystem, PathBuf)> {
    let existing = |names: &[&str]| -> Vec<PathBuf> {
        names
            .iter()
            .map(|name| root.join(name))
            .filter(|path| path.exists())
            .collect()
    };
    let mut locks: Vec<(Ecosystem, PathBuf)> = Vec::new();
    let mut python = existing(&["poetry.lock", "uv.lock", "Pipfile.lock", "pdm.lock"]);
    if python.is_empty() {
        python = existing(&["requirements.txt"]);
    }
    locks.extend(python.into_iter().map(|path| (Ecosystem::PyPi, path)));
    let npm = existing(&[
        "npm-shrinkwrap.json",
        "package-lock.json",
        "pnpm-lock.yaml",
        "yarn.lock",
        "bun.lock",
    ]);
    locks.extend(npm.into_iter().take(1).map(|path| (Ecosystem::Npm, path)));
    locks
}

/// The inventory of `lock`, with a project root when the lock names none.
pub fn inventory(
    context: &ScanContext,
    ecosystem: Ecosystem,
    lock: &Path,
) -> Result<Inventory, String> {
    let mut inventory = lockfiles::read_lock(ecosystem, lock, &context.root)
        .map_err(|e| e.to_string())?
        .inventory;
    if inventory.workspace_members.is_empty() {
        let name = context
            .root
            .canonicalize()
            .ok()
            .and_then(|dir| dir.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "project".to_string());
        let mut project = Package::bare(
            ecosystem,
            &ecosystem.normalize_name(&name),
            "",
            PackageSource::Path {
                relative: Some(".".to_string()),
            },
        );
        project.is_member = true;
        // What the lock knows to be dev-only stays out of what ships.
        let edges = (0..inventory.packages.len())
            .map(|to| Edge {
                to,
                kind: if inventory.packages[to].kind == Some(DependencyKind::DevOnly) {
                    EdgeKind::Dev
                } else {
                    EdgeKind::Normal
                },
                target: None,
            })
            .collect();
        inventory.packages.push(project);
        inventory.depends_on.push(edges);
        inventory.workspace_members = vec![inventory.packages.len() - 1];
    }
    Ok(inventory)
}
