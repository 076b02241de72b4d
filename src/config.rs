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
    pub db: RawDb,
    #[serde(default)]
    pub ignore: Vec<Spanned<RawIgnore>>,
    /// `[[external]]`: other tools whose SARIF the gate judges too.
    #[serde(default)]
    pub external: Vec<Spanned<RawExternal>>,
    /// `[external-defaults]`: settings shared by every `[[external]]` entry
    /// (a table cannot share the `external` key with the array of entries).
    #[serde(default)]
    pub external_defaults: RawExternalDefaults,
    /// `[profile.NAME]`: tables that may set the same keys, chosen with `--profile NAME`.
    #[serde(default)]
    pub profile: std::collections::BTreeMap<String, Spanned<RawPolicy>>,
}

impl RawPolicy {
    /// `over` on top of `self`: its settings win, its lists are added.
    pub fn overlay(mut self, over: RawPolicy) -> RawPolicy {
        self.fail_on = over.fail_on.or(self.fail_on);
        self.unknown_severity = over.unknown_severity.or(self.unknown_severity);
        self.on_scanner_error = over.on_scanner_error.or(self.on_scanner_error);
        let a = over.advisories;
        self.advisories.fail_on = a.fail_on.or(self.advisories.fail_on);
        self.advisories.malicious = a.malicious.or(self.advisories.malicious);
        self.advisories.unsound = a.unsound.or(self.advisories.unsound);
        self.advisories.unmaintained = a.unmaintained.or(self.advisories.unmaintained);
        self.advisories.notice = a.notice.or(self.advisories.notice);
        self.advisories.dev_only = a.dev_only.or(self.advisories.dev_only);
        self.advisories.yanked = a.yanked.or(self.advisories.yanked);
        self.advisories.exclude.extend(a.exclude);
        self.advisories.unchecked_ecosystems = a
            .unchecked_ecosystems
            .or(self.advisories.unchecked_ecosystems);
        let s = over.secrets;
        self.secrets.fail_on = s.fail_on.or(self.secrets.fail_on);
        self.secrets.max_file_size = s.max_file_size.or(self.secrets.max_file_size);
        self.secrets.scan_node_modules = s.scan_node_modules.or(self.secrets.scan_node_modules);
        self.secrets.allow_inline = s.allow_inline.or(self.secrets.allow_inline);
        self.secrets.on_unreadable = s.on_unreadable.or(self.secrets.on_unreadable);
        self.secrets.exclude.extend(s.exclude);
        self.secrets.rules.extend(s.rules);
        self.secrets.disable_rules.extend(s.disable_rules);
        self.secrets.allowlist.values.extend(s.allowlist.values);
        self.secrets
            .allowlist
            .stopwords
            .extend(s.allowlist.stopwords);
        let v = s.validation;
        let mine = &mut self.secrets.validation;
        mine.enabled = v.enabled.or(mine.enabled);
        mine.valid = v.valid.or(mine.valid);
        mine.invalid = v.invalid.or(mine.invalid);
        mine.unknown = v.unknown.or(mine.unknown);
        mine.timeout = v.timeout.or(mine.timeout.take());
        mine.concurrency = v.concurrency.or(mine.concurrency.take());
        mine.per_host_rate = v.per_host_rate.or(mine.per_host_rate.take());
        mine.endpoints.extend(v.endpoints);
        self.sbom.fail_on = over.sbom.fail_on.or(self.sbom.fail_on);
        let d = over.db;
        self.db.url = d.url.or(self.db.url);
        self.db.osv_url = d.osv_url.or(self.db.osv_url);
        self.db.osv_ecosystems = d.osv_ecosystems.or(self.db.osv_ecosystems);
        self.db.refresh = d.refresh.or(self.db.refresh);
        self.db.max_age = d.max_age.or(self.db.max_age);
        self.db.stale = d.stale.or(self.db.stale);
        self.ignore.extend(over.ignore);
        self.external.extend(over.external);
        self.external_defaults.fail_on = over
            .external_defaults
            .fail_on
            .or(self.external_defaults.fail_on);
        self
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawAdvisories {
    pub fail_on: Option<Threshold>,
    /// Grade of a malicious package (OSV `MAL-` records).
    pub malicious: Option<Severity>,
    /// Grades of informational advisories, which carry no CVSS.
    pub unsound: Option<Severity>,
    pub unmaintained: Option<Severity>,
    pub notice: Option<Severity>,
    /// What an advisory on a dev-only dependency (never shipped) does.
    pub dev_only: Option<DevOnlyAction>,
    /// Grade of a dependency version yanked from crates.io.
    pub yanked: Option<Severity>,
    /// Gitignore-style globs of paths whose lock files are not checked
    /// (test fixtures), relative to the root.
    #[serde(default)]
    pub exclude: Vec<Spanned<String>>,
    /// What lock files of ecosystems secgate does not check do to the gate.
    pub unchecked_ecosystems: Option<UncheckedAction>,
}

/// `advisories.unchecked-ecosystems`: dependency files secgate found but
/// cannot check (another ecosystem's lock file).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UncheckedAction {
    /// Listed as found, not checked; the findings decide.
    Warn,
    /// The dependency check is incomplete: exit 2.
    Fail,
}

/// `advisories.dev-only`: dev-dependencies are built for tests, never shipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DevOnlyAction {
    /// Counted like any other finding.
    Report,
    /// Reported at info; never fails the gate.
    Lower,
    /// Kept in the SARIF as suppressed.
    Ignore,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawSecrets {
    pub fail_on: Option<Threshold>,
    /// Files larger than this many bytes are skipped (and reported).
    pub max_file_size: Option<u64>,
    /// Scan `node_modules/` directories (installed packages) too.
    pub scan_node_modules: Option<bool>,
    /// Whether `secgate:allow` comments in scanned files are honoured.
    pub allow_inline: Option<bool>,
    /// What paths that cannot be read do to the secrets check.
    pub on_unreadable: Option<UnreadableAction>,
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
    /// `[secrets.validation]`: live checks with the providers.
    #[serde(default)]
    pub validation: RawValidation,
}

/// `[secrets.validation]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawValidation {
    /// Validate without `--validate` on the command line.
    pub enabled: Option<bool>,
    /// The severity a credential its provider accepted counts at.
    pub valid: Option<ValidationGrade>,
    /// ... one its provider rejected (revoked, wrong).
    pub invalid: Option<ValidationGrade>,
    /// ... one whose check had no answer (timeout, 429, 5xx).
    pub unknown: Option<ValidationGrade>,
    /// Per request, like "10s".
    pub timeout: Option<Spanned<String>>,
    /// Requests in flight at once.
    pub concurrency: Option<Spanned<u64>>,
    /// Requests started per second to any one host.
    pub per_host_rate: Option<Spanned<u64>>,
    /// Provider → endpoint URL (GitHub Enterprise, self-hosted GitLab...).
    #[serde(default)]
    pub endpoints: std::collections::BTreeMap<String, Spanned<String>>,
}

/// A validation grade: a severity, or `keep` (the rule's own).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ValidationGrade(pub Option<Severity>);

impl<'de> Deserialize<'de> for ValidationGrade {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        if text == "keep" {
            return Ok(ValidationGrade(None));
        }
        Severity::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .map(|s| ValidationGrade(Some(s)))
            .ok_or_else(|| {
                de::Error::custom(format!(
                    "unknown grade `{text}`, expected keep, critical, high, medium, low or info"
                ))
            })
    }
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

/// One `[[external]]` entry: a tool's SARIF, read from files or from a
/// command secgate runs.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawExternal {
    pub name: Spanned<String>,
    /// A path or glob relative to the scanned root.
    pub sarif: Option<Spanned<String>>,
    /// argv, no shell; `{out}` is replaced by the SARIF path to write.
    pub command: Option<Spanned<Vec<String>>>,
    pub timeout: Option<Spanned<String>>,
    pub optional: Option<bool>,
    pub fail_on: Option<Threshold>,
    #[serde(default)]
    pub levels: RawLevels,
    /// Rule id → severity, over everything else.
    #[serde(default)]
    pub rules: std::collections::BTreeMap<String, Severity>,
}

/// SARIF `level` → severity, for results whose rule has no `security-severity`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawLevels {
    pub error: Option<Severity>,
    pub warning: Option<Severity>,
    pub note: Option<Severity>,
    pub none: Option<Severity>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawExternalDefaults {
    pub fail_on: Option<Threshold>,
}

/// `[db]`: where the advisory database comes from and how old it may be.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawDb {
    pub url: Option<Spanned<String>>,
    /// Where OSV's per-ecosystem archives are fetched from: `{osv-url}/{Ecosystem}/all.zip`.
    pub osv_url: Option<Spanned<String>>,
    /// The ecosystems whose OSV archives `db update` fetches.
    pub osv_ecosystems: Option<Spanned<Vec<String>>>,
    /// `check` refreshes a cache older than this ("12h", "1d").
    pub refresh: Option<Spanned<String>>,
    /// A database older than this is stale.
    pub max_age: Option<Spanned<String>>,
    pub stale: Option<StaleAction>,
}

/// What a stale advisory database does to the advisory check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StaleAction {
    /// A warning; the findings still decide.
    Warn,
    /// The advisory check could not vouch for anything: exit 2.
    Fail,
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

/// What a path the secrets scanner cannot read does to its check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UnreadableAction {
    /// A warning; the findings decide.
    Warn,
    /// The secrets check could not vouch for the tree: exit 2.
    Fail,
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
    fn unknown_stale_action_is_located() {
        let err = parse("p.toml", "[db]\nstale = \"panic\"\n").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.message.contains("panic"), "{err}");
    }

    #[test]
    fn invalid_toml_is_located() {
        let err = parse("p.toml", "fail-on = \"high\"\n[[ignore]\n").unwrap_err();
        assert_eq!(err.line, 2);
    }
}
