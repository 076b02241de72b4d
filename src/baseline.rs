//! Baselines: the findings that already existed, by fingerprint. Later runs
//! report them as existing (suppressed), never as new. A baseline holds no
//! secret values: fingerprints are hashes, paths and rule ids are not secret.

use crate::error::BaselineError;
use crate::policy::{EvaluatedFinding, Verdict};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::Path;

pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct BaselineFile {
    pub version: u32,
    pub tool: String,
    pub findings: Vec<BaselineEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct BaselineEntry {
    pub fingerprint: String,
    pub scanner: String,
    pub rule: String,
    pub path: Option<String>,
    pub line: Option<u32>,
}

/// The fingerprints a run compares against.
#[derive(Debug, Default)]
pub struct Baseline {
    pub source: String,
    pub fingerprints: BTreeSet<String>,
}

impl Baseline {
    pub fn contains(&self, fingerprint: &str) -> bool {
        self.fingerprints.contains(fingerprint)
    }

    /// Reads a secgate baseline file, or a SARIF file from an earlier run
    /// (its results' `secgate/v1` fingerprints), e.g. from the base branch.
    pub fn load(path: &Path) -> Result<Baseline, BaselineError> {
        let error = |message: String| BaselineError {
            path: path.display().to_string(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| error(e.to_string()))?;
        let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            error(format!(
                "not JSON (line {}, column {}): {e}",
                e.line(),
                e.column()
            ))
        })?;
        let mut fingerprints = BTreeSet::new();
        if let Some(runs) = value.get("runs").and_then(|r| r.as_array()) {
            for run in runs {
                for result in run["results"].as_array().into_iter().flatten() {
                    if let Some(fp) = result["partialFingerprints"]["secgate/v1"].as_str() {
                        fingerprints.insert(fp.to_string());
                    }
                }
            }
        } else {
            let file: BaselineFile = serde_json::from_value(value)
                .map_err(|e| error(format!("not a secgate baseline: {e}")))?;
            if file.version != FORMAT_VERSION {
                return Err(error(format!(
                    "baseline version {} is not supported (expected {FORMAT_VERSION})",
                    file.version
                )));
            }
            fingerprints.extend(file.findings.into_iter().map(|f| f.fingerprint));
        }
        Ok(Baseline {
            source: path.display().to_string(),
            fingerprints,
        })
    }
}

/// The baseline of a verdict: every finding not already suppressed by the
/// policy or an inline comment (those need no baseline).
pub fn render(verdict: &Verdict) -> Vec<u8> {
    let mut findings: Vec<BaselineEntry> = verdict
        .findings
        .iter()
        .filter(|f| {
            f.suppression
                .as_ref()
                .is_none_or(|s| s.kind == crate::policy::SuppressionKind::Baseline)
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
        scanner: finding.scanner.as_str().to_string(),
        rule: finding.rule_id.clone(),
        path: finding.location.as_ref().map(|l| l.path.clone()),
        line: finding.location.as_ref().map(|l| l.start_line),
    }
}
