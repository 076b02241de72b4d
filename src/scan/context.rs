//! What every scanner is told about one run: the root, its own settings,
//! where the advisory database is, and the package inventories the
//! scanners share (one `cargo metadata` per workspace, however many ask).

use crate::inventory::cargo::{self as cargo_reader, MetadataFailure, MetadataOptions};
use crate::inventory::Inventory;
use crate::scan::lockfiles::LockSearch;
use crate::scan::scope::OwnOutputs;
use crate::scan::settings::{GitScope, SbomOptions, ScanSettings};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// What every scanner needs to know about this run. No thresholds here.
#[derive(Clone, Debug)]
pub struct ScanContext {
    /// The repository root; finding paths are relative to it.
    pub root: PathBuf,
    /// The advisory database directory, when known.
    pub advisory_db: Option<PathBuf>,
    /// A folder of OSV archives (`<Ecosystem>/all.zip`), when given: read
    /// instead of the cache, never fetched.
    pub osv_db: Option<PathBuf>,
    pub offline: bool,
    /// What each scanner scans and how.
    pub settings: Arc<ScanSettings>,
    /// Scan git changes instead of the working tree (secrets).
    pub git_scope: Option<GitScope>,
    /// Restrict dependency resolution to one platform (a target triple).
    pub target: Option<String>,
    pub sbom: SbomOptions,
    /// One package inventory per workspace, shared by the scanners.
    pub inventories: InventoryCache,
    /// secgate's own output files, never scanned.
    pub own_outputs: OwnOutputs,
    /// The lock-file search of this root, done once (see `advisories`).
    pub lock_search: Arc<OnceLock<Result<LockSearch, String>>>,
}

type InventorySlot = Arc<OnceLock<Result<Arc<Inventory>, String>>>;

/// Lazily filled, keyed by workspace directory: the first scanner to ask
/// runs `cargo metadata`, the others wait for its result.
#[derive(Clone, Debug, Default)]
pub struct InventoryCache(Arc<Mutex<HashMap<PathBuf, InventorySlot>>>);

impl ScanContext {
    pub fn new(root: PathBuf, settings: Arc<ScanSettings>) -> ScanContext {
        ScanContext {
            root,
            advisory_db: None,
            osv_db: None,
            offline: false,
            settings,
            git_scope: None,
            target: None,
            sbom: SbomOptions::default(),
            inventories: InventoryCache::default(),
            own_outputs: OwnOutputs::default(),
            lock_search: Arc::default(),
        }
    }

    /// The package inventory of the Cargo workspace in `dir`, from `cargo
    /// metadata` or, when that cannot run, from `Cargo.lock` alone (with the
    /// reason). Read once per directory however many scanners ask.
    /// A file as findings and the summary name it: relative to the root,
    /// or its bare name when the root is that one file (`audit FILE`).
    pub fn shown_path(&self, path: &Path) -> String {
        if self.root.is_file() {
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        } else {
            crate::files::relative_path(&self.root, path)
        }
    }

    pub fn inventory(&self, dir: &Path) -> Result<Arc<Inventory>, String> {
        let dir = crate::files::or_current(dir);
        let key = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
        let slot = {
            let mut slots = self.inventories.0.lock().unwrap_or_else(|e| e.into_inner());
            Arc::clone(slots.entry(key).or_default())
        };
        slot.get_or_init(|| self.load_inventory(dir).map(Arc::new))
            .clone()
    }

    /// Why `dir` can only have a lock-file inventory, known without reading it.
    pub fn inventory_is_lockfile_only(&self, dir: &Path) -> Option<&'static str> {
        (!dir.join("Cargo.toml").is_file()).then_some(NO_MANIFEST)
    }

    fn load_inventory(&self, dir: &Path) -> Result<Inventory, String> {
        let lock = dir.join("Cargo.lock");
        // cargo would block on a FIFO or read a device without end.
        for file in [dir.join("Cargo.toml"), lock.clone()] {
            if let Some(why) = crate::files::unsafe_to_read(&file) {
                return Err(format!("{}: {why}", file.display()));
            }
        }
        if let Some(reason) = self.inventory_is_lockfile_only(dir) {
            return cargo_reader::from_lockfile(&lock, reason).map_err(|e| e.to_string());
        }
        let options = MetadataOptions {
            offline: self.offline,
            target: self.target.clone(),
        };
        match cargo_reader::from_cargo_metadata(dir, &options) {
            Ok(inventory) => Ok(inventory),
            Err(MetadataFailure::Unavailable(reason)) => {
                cargo_reader::from_lockfile(&lock, reason).map_err(|e| e.to_string())
            }
            Err(MetadataFailure::Failed(error)) => Err(error.to_string()),
        }
    }
}

/// Why a lock file alone describes the packages: there is no manifest.
const NO_MANIFEST: &str = "no Cargo.toml beside Cargo.lock";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_inventory_is_read_once_per_workspace() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/projects/single");
        let mut context = ScanContext::new(dir.clone(), Arc::new(ScanSettings::default()));
        context.offline = true;
        // Concurrent askers share one result (the second waits for the first).
        let graphs: Vec<_> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..2)
                .map(|_| scope.spawn(|| context.inventory(&dir).unwrap()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(Arc::ptr_eq(&graphs[0], &graphs[1]));
        // Another spelling of the same directory hits the same entry.
        let again = context.inventory(&dir.join(".")).unwrap();
        assert!(Arc::ptr_eq(&graphs[0], &again));
        assert!(graphs[0].fallback_reason.is_none());
    }
}
