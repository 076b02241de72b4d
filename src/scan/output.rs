//! What a scanner returns: findings, the rules they name, notes and
//! warnings, its failure as data, and what it wrote or read (an SBOM, the
//! advisory database, another tool's run).

use crate::advisory::DatabaseInfo;
use crate::finding::{Finding, RuleInfo, Scanner};
use crate::scan::lockfiles::UncheckedFile;

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
    /// Paths the scanner could not read, and why: the gate decides whether
    /// the scan still vouches for the tree (`secrets.on-unreadable`).
    pub unreadable: Vec<String>,
    /// The workspace document first, then per-member ones when asked.
    pub sbom: Vec<SbomDocument>,
    /// The advisory databases checked against (advisories scanner): the
    /// RustSec database, OSV's archives.
    pub databases: Vec<DatabaseInfo>,
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
    pub unchecked: Vec<UncheckedFile>,
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
            unreadable: Vec::new(),
            sbom: Vec::new(),
            databases: Vec::new(),
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
