//! What each scanner is told: what to scan and how, never how to judge
//! what it finds (thresholds, ignores, grades and the like are gate rules,
//! in `gate`). The policy fills these; the CLI adds what it knows.

use crate::finding::Severity;
use crate::scan::secrets::rules::RawRule;
use std::collections::BTreeMap;
use std::time::Duration;

/// Every scanner's settings.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ScanSettings {
    pub advisories: AdvisorySettings,
    pub secrets: SecretSettings,
    /// `[[external]]`: other tools whose SARIF is read.
    pub external: Vec<ExternalTool>,
}

/// The lock-file search of the advisory check.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AdvisorySettings {
    /// Gitignore-style globs of paths whose lock files are left out.
    pub exclude: Vec<String>,
}

/// The secrets scan.
#[derive(Clone, Debug, PartialEq)]
pub struct SecretSettings {
    pub max_file_size: u64,
    /// Scan `node_modules/` directories too (installed third-party code,
    /// not the project's: left out by default).
    pub scan_node_modules: bool,
    /// Gitignore-style globs of paths not scanned.
    pub exclude: Vec<String>,
    /// Validated at load time, compiled by the scanner.
    pub custom_rules: Vec<RawRule>,
    pub disabled_rules: Vec<String>,
    /// Regexes (validated) on secret values that are not secrets.
    pub allow_values: Vec<String>,
    /// Lower-case words: a value containing one is not reported.
    pub stopwords: Vec<String>,
    /// Live validation with the providers (`--validate`).
    pub validation: ValidationSettings,
    /// Scan only an earlier run's findings again (`secrets --validate-only`).
    pub recheck: Option<crate::scan::secrets::recheck::Recheck>,
}

/// Live validation: whether to ask providers, where, and how hard.
#[derive(Clone, Debug, PartialEq)]
pub struct ValidationSettings {
    pub enabled: bool,
    /// Provider → endpoint (validated): GitHub Enterprise, self-hosted
    /// GitLab, a regional site, or a local server in tests.
    pub endpoints: BTreeMap<String, String>,
    /// Per request, connection included.
    pub timeout: Duration,
    /// Requests in flight at once, all providers together.
    pub concurrency: usize,
    /// Requests started per second to any one host.
    pub per_host_per_second: u32,
}

impl Default for ValidationSettings {
    fn default() -> Self {
        ValidationSettings {
            enabled: false,
            endpoints: BTreeMap::new(),
            timeout: Duration::from_secs(10),
            concurrency: 8,
            per_host_per_second: 5,
        }
    }
}

impl Default for SecretSettings {
    fn default() -> Self {
        SecretSettings {
            max_file_size: 10 * 1024 * 1024,
            scan_node_modules: false,
            exclude: Vec::new(),
            custom_rules: Vec::new(),
            disabled_rules: Vec::new(),
            allow_values: Vec::new(),
            stopwords: Vec::new(),
            validation: ValidationSettings::default(),
            recheck: None,
        }
    }
}

/// Where an external tool's SARIF comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExternalSource {
    /// A path or glob relative to the scanned root (another step wrote it).
    Files(String),
    /// argv run at the scanned root, no shell; `{out}` is the SARIF path.
    Command(Vec<String>),
}

/// SARIF `level` → severity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LevelMap {
    pub error: Severity,
    pub warning: Severity,
    pub note: Severity,
    pub none: Severity,
}

impl Default for LevelMap {
    fn default() -> Self {
        LevelMap {
            error: Severity::High,
            warning: Severity::Medium,
            note: Severity::Low,
            none: Severity::Info,
        }
    }
}

impl LevelMap {
    /// `None` for a level SARIF does not define.
    pub fn get(&self, level: &str) -> Option<Severity> {
        match level {
            "error" => Some(self.error),
            "warning" => Some(self.warning),
            "note" => Some(self.note),
            "none" => Some(self.none),
            _ => None,
        }
    }
}

/// One validated `[[external]]` entry.
#[derive(Clone, Debug, PartialEq)]
pub struct ExternalTool {
    /// Kebab-case, unique; `secgate/external/<name>/` in the SARIF.
    pub name: String,
    pub source: ExternalSource,
    pub timeout: Duration,
    pub levels: LevelMap,
    /// Per-rule severities, over everything else.
    pub rules: BTreeMap<String, Severity>,
}

/// How long an external tool may run unless its entry says.
pub const DEFAULT_EXTERNAL_TIMEOUT: Duration = Duration::from_secs(600);

/// Which changes to scan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GitScope {
    /// Every commit reachable from HEAD.
    All,
    /// Commits reachable from HEAD but not from REF.
    Since(String),
    /// A revision range `A..B` (B's commits not in A).
    Range(String),
    /// The index: what `git commit` would record now.
    Staged,
    /// Exactly these commits (oldest first), e.g. the ones being pushed.
    Commits(Vec<String>),
}

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
