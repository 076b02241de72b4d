//! The scanners and how they run: each one a blocking job on tokio's blocking
//! pool, all at once; a scanner's failure (or panic) becomes data.

pub mod advisories;
pub mod external;
pub mod lockfiles;
pub mod sbom;
pub mod scope;
pub mod secrets;

use crate::finding::{Finding, RuleInfo, Scanner};
use crate::inventory::cargo::{self as cargo_reader, MetadataFailure, MetadataOptions};
use crate::inventory::Inventory;
use crate::policy::Policy;
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
    pub offline: bool,
    pub policy: Arc<Policy>,
    /// Scan git changes instead of the working tree (secrets).
    pub git_scope: Option<secrets::history::GitScope>,
    /// Restrict dependency resolution to one platform (a target triple).
    pub target: Option<String>,
    pub sbom: SbomOptions,
    /// One package inventory per workspace, shared by the scanners.
    pub inventories: InventoryCache,
    /// secgate's own output files, never scanned.
    pub own_outputs: scope::OwnOutputs,
}

type InventorySlot = Arc<OnceLock<Result<Arc<Inventory>, String>>>;

/// Lazily filled, keyed by workspace directory: the first scanner to ask
/// runs `cargo metadata`, the others wait for its result.
#[derive(Clone, Debug, Default)]
pub struct InventoryCache(Arc<Mutex<HashMap<PathBuf, InventorySlot>>>);

impl ScanContext {
    pub fn new(root: PathBuf, policy: Arc<Policy>) -> ScanContext {
        ScanContext {
            root,
            advisory_db: None,
            offline: false,
            policy,
            git_scope: None,
            target: None,
            sbom: SbomOptions::default(),
            inventories: InventoryCache::default(),
            own_outputs: scope::OwnOutputs::default(),
        }
    }

    /// The package inventory of the Cargo workspace in `dir`, from `cargo
    /// metadata` or, when that cannot run, from `Cargo.lock` alone (with the
    /// reason). Read once per directory however many scanners ask.
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

/// The SBOM file formats offered (what cyclonedx-bom 0.8 can write).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SbomFormat {
    #[default]
    CycloneDxJson15,
    CycloneDxXml15,
}

impl SbomFormat {
    pub const NAMES: &'static str = "cyclonedx-json-1.5, cyclonedx-xml-1.5";

    pub fn parse(text: &str) -> Option<SbomFormat> {
        match text {
            "cyclonedx-json-1.5" | "cyclonedx-json" | "json" => Some(SbomFormat::CycloneDxJson15),
            "cyclonedx-xml-1.5" | "cyclonedx-xml" | "xml" => Some(SbomFormat::CycloneDxXml15),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SbomFormat::CycloneDxJson15 => "cyclonedx-json-1.5",
            SbomFormat::CycloneDxXml15 => "cyclonedx-xml-1.5",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            SbomFormat::CycloneDxJson15 => "json",
            SbomFormat::CycloneDxXml15 => "xml",
        }
    }
}

#[derive(Clone, Debug)]
pub struct SbomOptions {
    pub format: SbomFormat,
    /// Also one document per workspace member.
    pub per_member: bool,
    /// Keep build-dependencies (with `scope: excluded`).
    pub build_dependencies: bool,
}

impl Default for SbomOptions {
    fn default() -> Self {
        SbomOptions {
            format: SbomFormat::default(),
            per_member: false,
            build_dependencies: true,
        }
    }
}

/// An SBOM produced by the sbom scanner, ready for a writer.
#[derive(Clone, Debug)]
pub struct SbomDocument {
    /// The workspace member it describes; `None` for the whole workspace.
    pub member: Option<String>,
    pub bytes: Vec<u8>,
    pub component_count: usize,
}

#[derive(Debug)]
pub struct ScanOutput {
    pub scanner: Scanner,
    pub rules: Vec<RuleInfo>,
    pub findings: Vec<Finding>,
    /// Things the summary should say that are not findings.
    pub notes: Vec<String>,
    /// Problems that do not stop the scan but the user must hear about.
    pub warnings: Vec<String>,
    /// Set when the scanner could not check; the gate fails closed on it.
    pub error: Option<String>,
    /// The workspace document first, then per-member ones when asked.
    pub sbom: Vec<SbomDocument>,
    /// The advisory database checked against (advisories scanner).
    pub database: Option<crate::advisory::DatabaseInfo>,
    /// For `Scanner::External`: which tool's run this is.
    pub tool: Option<ExternalRun>,
    /// How long the scanner ran (set by `run_all`; never in the SARIF,
    /// which must not change from run to run).
    pub elapsed: Option<std::time::Duration>,
    /// Content fingerprints of secrets the scanned git changes removed: in a
    /// gate on those changes (pull request, push, staged), a finding that
    /// matches one was moved, not leaked, and counts as existing.
    pub removed_secrets: std::collections::BTreeSet<String>,
    /// Paths the policy's `exclude` globs left out of this scan, sorted
    /// (directories end in `/`): reported, never dropped silently.
    pub excluded: Vec<String>,
    /// Dependency files found that no scanner checked (other ecosystems'
    /// lock files): the gate decides what they do.
    pub unchecked: Vec<lockfiles::UncheckedFile>,
}

/// One run of another tool's SARIF, kept apart in the merged SARIF.
#[derive(Clone, Debug)]
pub struct ExternalRun {
    /// The `[[external]]` entry's name.
    pub name: String,
    /// Unique per run: the name, then `<name>-2`, `<name>-3`... when the tool
    /// gave several runs. `secgate/external/<key>/` in the SARIF.
    pub key: String,
    /// The run's `tool.driver` as the tool wrote it (`null` when it failed).
    pub driver: serde_json::Value,
}

impl ScanOutput {
    pub fn new(scanner: Scanner) -> ScanOutput {
        ScanOutput {
            scanner,
            rules: Vec::new(),
            findings: Vec::new(),
            notes: Vec::new(),
            warnings: Vec::new(),
            error: None,
            sbom: Vec::new(),
            database: None,
            tool: None,
            elapsed: None,
            removed_secrets: Default::default(),
            excluded: Vec::new(),
            unchecked: Vec::new(),
        }
    }

    /// `advisories`, or `external/<key>` for another tool's run.
    pub fn label(&self) -> String {
        match &self.tool {
            Some(run) => format!("{}/{}", self.scanner, run.key),
            None => self.scanner.to_string(),
        }
    }

    /// Whether `finding` belongs to this output's run.
    pub fn owns(&self, finding: &Finding) -> bool {
        finding.scanner == self.scanner
            && finding.tool.as_deref() == self.tool.as_ref().map(|t| t.key.as_str())
    }

    pub fn failed(scanner: Scanner, error: impl std::fmt::Display) -> ScanOutput {
        ScanOutput {
            error: Some(error.to_string()),
            ..ScanOutput::new(scanner)
        }
    }
}

/// Runs one scanner synchronously.
pub fn run_one(scanner: Scanner, context: &ScanContext) -> ScanOutput {
    match scanner {
        Scanner::Advisories => advisories::scan(context),
        Scanner::Secrets => secrets::scan(context),
        Scanner::Sbom => sbom::scan(context),
        Scanner::External => {
            let mut outputs: Vec<ScanOutput> = context
                .policy
                .external
                .iter()
                .flat_map(|tool| external::scan(tool, context))
                .collect();
            match outputs.len() {
                1 => outputs.remove(0),
                _ => ScanOutput::failed(
                    Scanner::External,
                    "run_one cannot return several external runs: use run_all",
                ),
            }
        }
    }
}

/// Runs the scanners concurrently, each on the blocking pool. The outputs
/// come back in the order of `scanners`, whatever order they finished in.
/// `Scanner::External` is one task per `[[external]]` entry, in policy order
/// (an entry whose SARIF holds several runs gives several outputs).
pub async fn run_all(scanners: &[Scanner], context: ScanContext) -> Vec<ScanOutput> {
    let context = Arc::new(context);
    let mut handles = Vec::new();
    for &scanner in scanners {
        if scanner == Scanner::External {
            for index in 0..context.policy.external.len() {
                let context = Arc::clone(&context);
                let name = context.policy.external[index].name.clone();
                let task = tokio::task::spawn_blocking(move || {
                    let started = std::time::Instant::now();
                    let mut outputs = external::scan(&context.policy.external[index], &context);
                    for output in &mut outputs {
                        output.elapsed = Some(started.elapsed());
                    }
                    outputs
                });
                handles.push((scanner, Some(name), task));
            }
        } else {
            let context = Arc::clone(&context);
            let task = tokio::task::spawn_blocking(move || {
                let started = std::time::Instant::now();
                let mut output = run_one(scanner, &context);
                output.elapsed = Some(started.elapsed());
                vec![output]
            });
            handles.push((scanner, None, task));
        }
    }
    let mut outputs = Vec::with_capacity(handles.len());
    for (scanner, tool, handle) in handles {
        match handle.await {
            Ok(done) => outputs.extend(done),
            Err(join_error) => {
                let mut failed = ScanOutput::failed(scanner, crash_message(&join_error));
                failed.tool = tool.map(|name| ExternalRun {
                    key: name.clone(),
                    name,
                    driver: serde_json::Value::Null,
                });
                outputs.push(failed);
            }
        }
    }
    outputs
}

/// What a crashed scanner reports. Not the JoinError's Display: it quotes
/// the panic payload, which may hold the scanned bytes (a secret).
fn crash_message(error: &tokio::task::JoinError) -> String {
    if error.is_panic() {
        "the scanner crashed (a bug; its panic message is withheld, as it could hold scanned data)"
            .to_string()
    } else {
        "the scanner was cancelled".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_crashed_scanner_reports_no_panic_payload() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let error = runtime
            .block_on(async {
                tokio::task::spawn_blocking(|| {
                    // secgate:allow: a made-up credential for this test
                    panic!("found ghp_R3kq9ZbW2xLm7TvN4pQs8YdF1hJc6GaE0uKi")
                })
                .await
            })
            .unwrap_err();
        assert!(
            error.to_string().contains("ghp_"),
            "tokio quotes the payload"
        );
        let message = crash_message(&error);
        assert!(!message.contains("ghp_"), "{message}");
        assert!(message.contains("crashed"), "{message}");
    }

    #[test]
    fn the_inventory_is_read_once_per_workspace() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/projects/single");
        let mut context = ScanContext::new(dir.clone(), Arc::new(Policy::builtin()));
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
