//! The baseline writer: a verdict's findings (those not suppressed by the
//! policy or an inline comment) as a baseline file that later runs load.

use crate::baseline::{BaselineEntry, BaselineFile, FORMAT_VERSION};
use crate::gate::verdict::{EvaluatedFinding, SuppressionKind, Verdict};

/// The baseline of a verdict: every finding not already suppressed by the
/// policy or an inline comment (those need no baseline).
pub fn render(verdict: &Verdict) -> Vec<u8> {
    let mut findings: Vec<BaselineEntry> = verdict
        .findings
        .iter()
        .filter(|f| {
            f.suppression
                .as_ref()
                .is_none_or(|s| s.kind == SuppressionKind::Baseline)
        })
        .map(entry)
        .collect();
    findings.sort();
    findings.dedup();
    let file = BaselineFile {
        version: FORMAT_VERSION,
        tool: format!("secgate {}", env!("CARGO_PKG_VERSION")),
        findings,
    };
    let mut bytes = serde_json::to_vec_pretty(&file).expect("baseline serializes");
    bytes.push(b'\n');
    bytes
}

fn entry(evaluated: &EvaluatedFinding) -> BaselineEntry {
    let finding = &evaluated.finding;
    BaselineEntry {
        fingerprint: finding.fingerprint.clone(),
        content_fingerprint: finding.content_fingerprint.clone(),
        scanner: finding.scanner.as_str().to_string(),
        rule: finding.rule_id.clone(),
        path: finding.location.as_ref().map(|l| l.path.clone()),
        line: finding.location.as_ref().map(|l| l.start_line),
        validation: finding
            .properties
            .get(crate::scan::secrets::validation::VALIDATION)
            .and_then(|v| v.as_str())
            .map(str::to_string),
    }
}
