//! Baselines: the findings that already existed, by fingerprint. Later runs
//! report them as existing (suppressed), never as new. A baseline holds no
//! secret values: fingerprints are hashes, paths and rule ids are not secret.

use crate::error::BaselineError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::Path;

/// Version 2 added `content-fingerprint`; version 1 files still load.
pub const FORMAT_VERSION: u32 = 2;

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
    /// `Finding::content_fingerprint`, where the finding has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_fingerprint: Option<String>,
    pub scanner: String,
    pub rule: String,
    pub path: Option<String>,
    pub line: Option<u32>,
    /// A secret's live-validation outcome when baselined, if it was validated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation: Option<String>,
}

/// The fingerprints a run compares against.
#[derive(Debug, Default)]
pub struct Baseline {
    pub source: String,
    pub fingerprints: BTreeSet<String>,
    /// The secrets recorded as invalid (revoked) when baselined, by fingerprint.
    pub invalid_when_recorded: BTreeSet<String>,
}

impl Baseline {
    pub fn contains(&self, fingerprint: &str) -> bool {
        self.fingerprints.contains(fingerprint)
    }

    /// Whether `finding` already existed: by its fingerprint, or by its
    /// content alone (a baselined secret in a file since moved or renamed).
    pub fn knows(&self, finding: &crate::finding::Finding) -> bool {
        self.contains(&finding.fingerprint)
            || finding
                .content_fingerprint
                .as_deref()
                .is_some_and(|content| self.contains(content))
    }

    /// Whether the baseline recorded `finding` as a revoked credential.
    pub fn recorded_invalid(&self, finding: &crate::finding::Finding) -> bool {
        self.invalid_when_recorded.contains(&finding.fingerprint)
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
        let mut invalid_when_recorded = BTreeSet::new();
        if let Some(runs) = value.get("runs").and_then(|r| r.as_array()) {
            for run in runs {
                for result in run["results"].as_array().into_iter().flatten() {
                    let partial = &result["partialFingerprints"];
                    for key in ["secgate/v1", crate::finding::CONTENT_FINGERPRINT_KEY] {
                        if let Some(fp) = partial[key].as_str() {
                            fingerprints.insert(fp.to_string());
                        }
                    }
                    let validation = result["properties"]["validation"].as_str();
                    if let (Some("invalid"), Some(fp)) =
                        (validation, partial["secgate/v1"].as_str())
                    {
                        invalid_when_recorded.insert(fp.to_string());
                    }
                }
            }
        } else {
            let file: BaselineFile = serde_json::from_value(value)
                .map_err(|e| error(format!("not a secgate baseline: {e}")))?;
            if !(1..=FORMAT_VERSION).contains(&file.version) {
                return Err(error(format!(
                    "baseline version {} is not supported (expected 1 to {FORMAT_VERSION})",
                    file.version
                )));
            }
            for finding in file.findings {
                if finding.validation.as_deref() == Some("invalid") {
                    invalid_when_recorded.insert(finding.fingerprint.clone());
                }
                fingerprints.insert(finding.fingerprint);
                fingerprints.extend(finding.content_fingerprint);
            }
        }
        Ok(Baseline {
            source: path.display().to_string(),
            fingerprints,
            invalid_when_recorded,
        })
    }
}
