//! The scanners and how they run: each one a blocking job on tokio's blocking
//! pool, all at once; a scanner's failure (or panic) becomes data.

pub mod advisories;
pub mod sbom;
pub mod secrets;

use crate::finding::{Finding, RuleInfo, Scanner};
use crate::policy::Policy;
use std::path::PathBuf;
use std::sync::Arc;

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
}

/// An SBOM produced by the sbom scanner, ready for a writer.
#[derive(Clone, Debug)]
pub struct SbomDocument {
    pub json: Vec<u8>,
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
    pub sbom: Option<SbomDocument>,
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
            sbom: None,
        }
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
    }
}

/// Runs the scanners concurrently, each on the blocking pool. The outputs
/// come back in the order of `scanners`, whatever order they finished in.
pub async fn run_all(scanners: &[Scanner], context: ScanContext) -> Vec<ScanOutput> {
    let context = Arc::new(context);
    let handles: Vec<_> = scanners
        .iter()
        .map(|&scanner| {
            let context = Arc::clone(&context);
            (
                scanner,
                tokio::task::spawn_blocking(move || run_one(scanner, &context)),
            )
        })
        .collect();
    let mut outputs = Vec::with_capacity(handles.len());
    for (scanner, handle) in handles {
        outputs.push(match handle.await {
            Ok(output) => output,
            Err(join_error) => {
                ScanOutput::failed(scanner, format!("the scanner crashed: {join_error}"))
            }
        });
    }
    outputs
}

/// A path relative to the scan root, with forward slashes, for findings.
pub fn relative_path(root: &std::path::Path, path: &std::path::Path) -> String {
    let relative = path.strip_prefix(root).unwrap_or(path);
    let text = relative.to_string_lossy();
    if std::path::MAIN_SEPARATOR == '/' {
        text.into_owned()
    } else {
        text.replace(std::path::MAIN_SEPARATOR, "/")
    }
}
