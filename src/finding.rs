//! The one record every scanner emits.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt;

/// The finding property that says what an advisory finding is about
/// (`vulnerability`, `unsound`, `yanked`...): the gate grades by it.
pub const KIND: &str = "kind";
/// The finding property the advisory check sets from the package
/// inventory: `normal`, `build` or `dev-only`.
pub const DEPENDENCY_KIND: &str = "dependency-kind";
/// The SARIF `partialFingerprints` key (and baseline key) of
/// `Finding::content_fingerprint`.
pub const CONTENT_FINGERPRINT_KEY: &str = "secgate/content/v1";

/// Severity of a finding, ordered from least to most severe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// A score inside GitHub's `security-severity` band for this severity,
    /// used when no CVSS score is known.
    pub fn representative_score(self) -> f64 {
        match self {
            Severity::Critical => 9.5,
            Severity::High => 8.0,
            Severity::Medium => 5.5,
            Severity::Low => 2.0,
            Severity::Info => 0.0,
        }
    }

    /// GitHub's bands: critical >= 9.0, high 7.0-8.9, medium 4.0-6.9, low 0.1-3.9.
    pub fn from_score(score: f64) -> Severity {
        if score >= 9.0 {
            Severity::Critical
        } else if score >= 7.0 {
            Severity::High
        } else if score >= 4.0 {
            Severity::Medium
        } else if score > 0.0 {
            Severity::Low
        } else {
            Severity::Info
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The scanners secgate runs; their order is the order of runs in the SARIF.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scanner {
    Advisories,
    Secrets,
    Sbom,
    /// Another tool's SARIF (`[[external]]` in the policy); which tool is
    /// `Finding::tool` and `ScanOutput::tool`.
    External,
}

impl Scanner {
    pub const ALL: [Scanner; 4] = [
        Scanner::Advisories,
        Scanner::Secrets,
        Scanner::Sbom,
        Scanner::External,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scanner::Advisories => "advisories",
            Scanner::Secrets => "secrets",
            Scanner::Sbom => "sbom",
            Scanner::External => "external",
        }
    }

    pub fn parse(name: &str) -> Option<Scanner> {
        Scanner::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

impl fmt::Display for Scanner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a finding is, relative to the scanned root (forward slashes).
/// Lines and columns are 1-based; columns count Unicode code points, and a
/// column of 0 means the finding is about whole lines.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Location {
    pub path: String,
    pub start_line: u32,
    pub start_column: u32,
    pub end_line: u32,
    pub end_column: u32,
}

impl Location {
    pub fn line(path: impl Into<String>, line: u32) -> Location {
        Location {
            path: path.into(),
            start_line: line,
            start_column: 0,
            end_line: line,
            end_column: 0,
        }
    }
}

/// A hint from the scanner that the scanned content itself asks to suppress
/// this finding; whether to honour it is the policy's decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SuppressionHint {
    /// `secgate:allow` on the line or the line above.
    InlineAllow,
}

#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    pub scanner: Scanner,
    /// For `Scanner::External`: the run it came from (`ExternalRun::key`).
    pub tool: Option<String>,
    pub rule_id: String,
    /// `None` when the source gives no severity (an advisory without CVSS);
    /// the policy's `unknown-severity` decides how it counts.
    pub severity: Option<Severity>,
    pub title: String,
    /// Human message. Never contains a secret's value.
    pub message: String,
    pub location: Option<Location>,
    /// Content-based: stable when lines move, different for different content.
    pub fingerprint: String,
    /// The content alone, without the file: set where the content is the
    /// finding (a secret's value, hashed), so a baselined secret whose file
    /// moved or was renamed is still recognised as existing.
    pub content_fingerprint: Option<String>,
    /// The package this finding is about (`name`), for `[[ignore]] package = ...`.
    pub package: Option<String>,
    /// Other ids this finding answers to (CVE, GHSA aliases), for ignores.
    pub aliases: Vec<String>,
    pub suppression_hint: Option<SuppressionHint>,
    pub properties: BTreeMap<String, serde_json::Value>,
}

impl Finding {
    /// Sort key that makes output deterministic whatever order scanners produced.
    pub fn sort_key(&self) -> (Scanner, Option<&str>, Option<&Location>, &str, &str) {
        (
            self.scanner,
            self.tool.as_deref(),
            self.location.as_ref(),
            self.rule_id.as_str(),
            self.fingerprint.as_str(),
        )
    }
}

/// Metadata of one rule (a secret rule, an advisory), shown once per rule in SARIF.
#[derive(Clone, Debug, Serialize)]
pub struct RuleInfo {
    pub id: String,
    pub name: String,
    pub short_description: String,
    pub full_description: String,
    pub help_text: String,
    pub help_markdown: String,
    pub help_uri: Option<String>,
    pub tags: Vec<String>,
    /// SARIF `precision`: very-high, high, medium, low.
    pub precision: &'static str,
    /// CVSS base score when known.
    pub score: Option<f64>,
    pub severity: Option<Severity>,
    pub properties: BTreeMap<String, serde_json::Value>,
}

/// Hex SHA-256 over the parts, each terminated so that ("ab","c") != ("a","bc").
pub fn fingerprint(parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"secgate-fingerprint-v1\0");
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    let digest = hasher.finalize();
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_orders_from_info_to_critical() {
        assert!(Severity::Critical > Severity::High);
        assert!(Severity::High > Severity::Medium);
        assert!(Severity::Medium > Severity::Low);
        assert!(Severity::Low > Severity::Info);
    }

    #[test]
    fn score_bands_follow_github() {
        assert_eq!(Severity::from_score(9.0), Severity::Critical);
        assert_eq!(Severity::from_score(8.9), Severity::High);
        assert_eq!(Severity::from_score(7.0), Severity::High);
        assert_eq!(Severity::from_score(6.9), Severity::Medium);
        assert_eq!(Severity::from_score(4.0), Severity::Medium);
        assert_eq!(Severity::from_score(0.1), Severity::Low);
        assert_eq!(Severity::from_score(0.0), Severity::Info);
        for s in Severity::ALL {
            assert_eq!(Severity::from_score(s.representative_score()), s);
        }
    }

    #[test]
    fn fingerprint_separates_parts() {
        assert_ne!(fingerprint(&[b"ab", b"c"]), fingerprint(&[b"a", b"bc"]));
        assert_eq!(fingerprint(&[b"x"]), fingerprint(&[b"x"]));
        assert_eq!(fingerprint(&[b"x"]).len(), 32);
    }
}
