//! The policy file as written (`secgate.toml`): parsed strictly, located
//! errors, no defaults applied here. `policy` validates it into a `Policy`.

use crate::error::PolicyError;
use crate::finding::Severity;
use crate::scan::secrets::rules::RawRule;
use serde::{de, Deserialize, Deserializer};
use toml::Spanned;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawPolicy {
    pub fail_on: Option<Threshold>,
    pub unknown_severity: Option<Severity>,
    pub on_scanner_error: Option<ScannerErrorAction>,
    #[serde(default)]
    pub advisories: RawAdvisories,
    #[serde(default)]
    pub secrets: RawSecrets,
    #[serde(default)]
    pub sbom: RawSbom,
    #[serde(default)]
    pub ignore: Vec<Spanned<RawIgnore>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawAdvisories {
    pub fail_on: Option<Threshold>,
    /// Grades of informational advisories, which carry no CVSS.
    pub unsound: Option<Severity>,
    pub unmaintained: Option<Severity>,
    pub notice: Option<Severity>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawSecrets {
    pub fail_on: Option<Threshold>,
    /// Files larger than this many bytes are skipped (and reported).
    pub max_file_size: Option<u64>,
    /// Whether `secgate:allow` comments in scanned files are honoured.
    pub allow_inline: Option<bool>,
    /// Gitignore-style globs of paths not to scan, relative to the root.
    #[serde(default)]
    pub exclude: Vec<Spanned<String>>,
    /// Extra rules; one with a built-in rule's id replaces it.
    #[serde(default)]
    pub rules: Vec<Spanned<RawRule>>,
    /// Ids of built-in rules to turn off.
    #[serde(default)]
    pub disable_rules: Vec<Spanned<String>>,
    #[serde(default)]
    pub allowlist: RawAllowlist,
}

/// Values that are known not to be secrets.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawAllowlist {
    /// Regexes; a secret value any of them matches is not reported.
    #[serde(default)]
    pub values: Vec<Spanned<String>>,
    /// Words; a secret value containing one (any case) is not reported.
    #[serde(default)]
    pub stopwords: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawSbom {
    pub fail_on: Option<Threshold>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawIgnore {
    pub id: Spanned<String>,
    pub path: Option<Spanned<String>>,
    pub package: Option<String>,
    pub reason: Option<String>,
    pub expires: Option<Spanned<RawDate>>,
}

/// `expires` as a TOML date (`2027-01-31`) or a string of one.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawDate {
    Toml(toml::value::Datetime),
    Text(String),
}

/// `fail-on`: the least severity that fails the gate, or `none`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Threshold {
    AtLeast(Severity),
    Never,
}

impl Threshold {
    pub const NAMES: &'static str = "critical, high, medium, low, info, none";

    pub fn parse(text: &str) -> Option<Threshold> {
        Some(match text {
            "none" => Threshold::Never,
            "critical" => Threshold::AtLeast(Severity::Critical),
            "high" => Threshold::AtLeast(Severity::High),
            "medium" => Threshold::AtLeast(Severity::Medium),
            "low" => Threshold::AtLeast(Severity::Low),
            "info" => Threshold::AtLeast(Severity::Info),
            _ => return None,
        })
    }

    pub fn fails(self, severity: Severity) -> bool {
        match self {
            Threshold::AtLeast(min) => severity >= min,
            Threshold::Never => false,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Threshold::AtLeast(s) => s.as_str(),
            Threshold::Never => "none",
        }
    }
}

impl<'de> Deserialize<'de> for Threshold {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Threshold::parse(&text).ok_or_else(|| {
            de::Error::custom(format!(
                "unknown threshold `{text}`, expected one of {}",
                Threshold::NAMES
            ))
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScannerErrorAction {
    /// The gate exits 2 (could not check).
    Fail,
    /// Reported, but the verdict follows the findings alone.
    Warn,
}

/// Parses a policy file's text; `file` names it in errors.
pub fn parse(file: &str, source: &str) -> Result<RawPolicy, PolicyError> {
    toml::from_str::<RawPolicy>(source).map_err(|err| {
        PolicyError::at(
            file,
            source,
            err.span(),
            err.message().trim_end().to_string(),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_key_is_located() {
        let err = parse("p.toml", "fail-on = \"high\"\nfail-onn = \"low\"\n").unwrap_err();
        assert_eq!((err.line, err.column), (2, 1));
        assert!(err.message.contains("fail-onn"), "{err}");
        assert!(err.to_string().starts_with("p.toml:2:1: "), "{err}");
    }

    #[test]
    fn unknown_threshold_names_the_choices() {
        let err = parse("p.toml", "[secrets]\nfail-on = \"hgh\"\n").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(
            err.message.contains("hgh") && err.message.contains("critical"),
            "{err}"
        );
    }

    #[test]
    fn unknown_severity_name_is_rejected() {
        let err = parse("p.toml", "unknown-severity = \"severe\"\n").unwrap_err();
        assert_eq!(err.line, 1);
        assert!(err.message.contains("severe"), "{err}");
    }

    #[test]
    fn wrong_type_is_located() {
        let err = parse("p.toml", "\n\n[secrets]\nmax-file-size = \"big\"\n").unwrap_err();
        assert_eq!(err.line, 4);
    }

    #[test]
    fn invalid_toml_is_located() {
        let err = parse("p.toml", "fail-on = \"high\"\n[[ignore]\n").unwrap_err();
        assert_eq!(err.line, 2);
    }
}
