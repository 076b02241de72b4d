//! The gate report (`--report FILE`): a machine-readable record of what was
//! checked and what the gate said, for a release pipeline to archive.
//! Renders only: the exit code is given, never decided, here. No secret
//! values: findings appear by rule, fingerprint and location.

use crate::advisory::DatabaseInfo;
use crate::finding::{Scanner, Severity};
use crate::gate::verdict::{Outcome, SuppressionKind, Verdict};
use crate::scan::lockfiles::UncheckedFile;
use crate::scan::output::ScanOutput;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

pub const FORMAT_VERSION: u32 = 1;

/// What the binary knows beyond the verdict.
pub struct GateContext<'a> {
    pub exit_code: u8,
    pub policy_source: &'a str,
    pub profile: Option<&'a str>,
    /// Pull-request mode: the base revision.
    pub new_since: Option<&'a str>,
    pub sarif: Option<&'a str>,
    /// The SBOM's path and its bytes as written.
    pub sbom: Option<(&'a str, &'a [u8])>,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct Report<'a> {
    version: u32,
    tool: &'static str,
    secgate_version: &'static str,
    verdict: &'static str,
    exit_code: u8,
    reasons: &'a [String],
    policy: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    profile: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    new_since: Option<&'a str>,
    scanners: BTreeMap<Scanner, ScannerReport<'a>>,
    counts: Counts,
    findings: Vec<FindingReport<'a>>,
    /// The first database (RustSec's when Rust was checked), as before.
    database: Option<&'a DatabaseInfo>,
    /// Every database checked against: RustSec, OSV's archives.
    databases: Vec<&'a DatabaseInfo>,
    sarif: Option<&'a str>,
    sbom: Option<SbomReport<'a>>,
    warnings: &'a [String],
    /// Dependency files found that no scanner checked.
    unchecked: Vec<&'a UncheckedFile>,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct ScannerReport<'a> {
    checked: bool,
    error: Option<&'a str>,
    /// Unsuppressed findings by severity.
    counts: BTreeMap<Severity, usize>,
    suppressed: usize,
    /// Paths the policy's `exclude` left out of this scanner's scan.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    excluded: Vec<&'a str>,
}

#[derive(Serialize, Default)]
#[serde(rename_all = "kebab-case")]
struct Counts {
    total: usize,
    failing: usize,
    suppressed: usize,
    critical: usize,
    high: usize,
    medium: usize,
    low: usize,
    info: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct FindingReport<'a> {
    scanner: Scanner,
    rule: &'a str,
    severity: Severity,
    severity_was_unknown: bool,
    fingerprint: &'a str,
    path: Option<&'a str>,
    line: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    package: Option<&'a str>,
    /// A secret's live-validation outcome (`--validate`): valid, invalid, unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    validation: Option<&'a str>,
    fails: bool,
    suppression: Option<SuppressionReport<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct SuppressionReport<'a> {
    kind: &'static str,
    justification: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct SbomReport<'a> {
    path: &'a str,
    sha256: String,
}

pub fn verdict_word(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Pass => "pass",
        Outcome::Violated => "fail",
        Outcome::CouldNotCheck => "error",
    }
}

pub fn render(outputs: &[ScanOutput], verdict: &Verdict, context: &GateContext) -> Vec<u8> {
    let mut counts = Counts::default();
    let mut scanners = BTreeMap::new();
    for output in outputs {
        // Several external runs share one entry: any failure shows.
        let entry = scanners
            .entry(output.scanner)
            .or_insert_with(|| ScannerReport {
                checked: true,
                error: None,
                counts: BTreeMap::new(),
                suppressed: 0,
                excluded: Vec::new(),
            });
        entry.checked &= output.error.is_none();
        entry.error = entry.error.or(output.error.as_deref());
        entry
            .excluded
            .extend(output.excluded.iter().map(String::as_str));
    }
    let mut findings = Vec::new();
    for f in &verdict.findings {
        let finding = &f.finding;
        counts.total += 1;
        let entry = scanners
            .entry(finding.scanner)
            .or_insert_with(|| ScannerReport {
                checked: true,
                error: None,
                counts: BTreeMap::new(),
                suppressed: 0,
                excluded: Vec::new(),
            });
        if f.suppression.is_some() {
            counts.suppressed += 1;
            entry.suppressed += 1;
        } else {
            *entry.counts.entry(f.severity).or_default() += 1;
            *match f.severity {
                Severity::Critical => &mut counts.critical,
                Severity::High => &mut counts.high,
                Severity::Medium => &mut counts.medium,
                Severity::Low => &mut counts.low,
                Severity::Info => &mut counts.info,
            } += 1;
        }
        if f.fails {
            counts.failing += 1;
        }
        findings.push(FindingReport {
            scanner: finding.scanner,
            rule: &finding.rule_id,
            severity: f.severity,
            severity_was_unknown: f.severity_was_unknown,
            fingerprint: &finding.fingerprint,
            path: finding.location.as_ref().map(|l| l.path.as_str()),
            line: finding.location.as_ref().map(|l| l.start_line),
            package: finding.package.as_deref(),
            validation: finding
                .properties
                .get(crate::scan::secrets::validation::VALIDATION)
                .and_then(|v| v.as_str()),
            fails: f.fails,
            suppression: f.suppression.as_ref().map(|s| SuppressionReport {
                kind: match s.kind {
                    SuppressionKind::Policy => "policy-ignore",
                    SuppressionKind::Inline => "inline-allow",
                    SuppressionKind::Baseline => "existing",
                },
                justification: &s.justification,
            }),
        });
    }
    let report = Report {
        version: FORMAT_VERSION,
        tool: "secgate",
        secgate_version: env!("CARGO_PKG_VERSION"),
        verdict: verdict_word(verdict.outcome),
        exit_code: context.exit_code,
        reasons: &verdict.reasons,
        policy: context.policy_source,
        profile: context.profile,
        new_since: context.new_since,
        scanners,
        counts,
        findings,
        database: outputs.iter().find_map(|o| o.databases.first()),
        databases: outputs.iter().flat_map(|o| &o.databases).collect(),
        sarif: context.sarif,
        sbom: context.sbom.map(|(path, bytes)| SbomReport {
            path,
            sha256: Sha256::digest(bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
        }),
        warnings: &verdict.warnings,
        unchecked: outputs.iter().flat_map(|o| &o.unchecked).collect(),
    };
    let mut bytes = serde_json::to_vec_pretty(&report).expect("the gate report serializes");
    bytes.push(b'\n');
    bytes
}
