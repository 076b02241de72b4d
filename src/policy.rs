//! The validated policy and the one place that turns findings into a verdict.
//! Scanners never see thresholds; writers never decide the outcome.

use crate::baseline::Baseline;
use crate::config::{
    self, DevOnlyAction, RawDate, RawPolicy, ScannerErrorAction, StaleAction, Threshold,
    UncheckedAction, UnreadableAction,
};
use crate::error::PolicyError;
use crate::finding::{Finding, Scanner, Severity, SuppressionHint};
use crate::scan::lockfiles::{self, UncheckedFile};
use crate::scan::secrets::rules::{self, RawRule};
use crate::scan::ScanOutput;
use globset::{Glob, GlobMatcher};
use std::collections::BTreeMap;
use std::time::Duration;
use time::Date;

/// The documented default policy, also what applies when no file is given.
pub const DEFAULT_POLICY_TOML: &str = include_str!("../config/secgate.toml");
pub const DEFAULT_POLICY_NAME: &str = "<built-in default policy>";

#[derive(Clone, Debug)]
pub struct Policy {
    /// Where it was read from, for messages.
    pub source: String,
    pub fail_on: Threshold,
    pub scanner_fail_on: BTreeMap<Scanner, Threshold>,
    pub unknown_severity: Severity,
    pub on_scanner_error: ScannerErrorAction,
    pub advisories: AdvisorySettings,
    pub secrets: SecretSettings,
    pub db: DbSettings,
    pub ignores: Vec<Ignore>,
    /// `[[external]]`: other tools' SARIF, judged by this same policy.
    pub external: Vec<ExternalTool>,
    /// `[external-defaults] fail-on`: for every external tool without its own.
    pub external_fail_on: Option<Threshold>,
    /// The `--profile` in use.
    pub profile: Option<String>,
    /// The gate needs a written SBOM (the release profile).
    pub require_sbom: bool,
}

/// The release profile's built-in rules, stricter than the defaults.
pub const RELEASE_PROFILE: &str = "release";
const RELEASE_FAIL_ON: Severity = Severity::Medium;
const RELEASE_DB_MAX_AGE: Duration = Duration::from_secs(86_400);

/// How informational advisories (no CVSS) are graded, and how old the
/// database may be (data about the database, not a severity threshold).
#[derive(Clone, Debug, PartialEq)]
pub struct AdvisorySettings {
    pub unsound: Severity,
    pub unmaintained: Severity,
    pub notice: Severity,
    /// A dependency version yanked from its registry.
    pub yanked: Severity,
    /// `db.max-age`: an older database is stale.
    pub db_max_age: Duration,
    /// `db.stale`: what a stale database does.
    pub db_stale: StaleAction,
    pub dev_only: DevOnlyAction,
    /// Globs of paths whose lock files the search leaves out (validated).
    pub exclude: Vec<String>,
    /// What another ecosystem's lock file, found and not checked, does.
    pub unchecked_ecosystems: UncheckedAction,
}

/// Where the advisory database cache comes from and when `check` refreshes it.
#[derive(Clone, Debug, PartialEq)]
pub struct DbSettings {
    /// `db.url` (the SECGATE_DB_URL environment variable still wins).
    pub url: String,
    pub refresh: Duration,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SecretSettings {
    pub max_file_size: u64,
    pub allow_inline: bool,
    pub on_unreadable: UnreadableAction,
    pub exclude: Vec<String>,
    /// Validated at load time, compiled by the scanner.
    pub custom_rules: Vec<RawRule>,
    pub disabled_rules: Vec<String>,
    /// Regexes (validated) on secret values that are not secrets.
    pub allow_values: Vec<String>,
    pub stopwords: Vec<String>,
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
    /// A failure is a warning, not a scanner error.
    pub optional: bool,
    pub fail_on: Option<Threshold>,
    pub levels: LevelMap,
    /// Per-rule severities, over everything else.
    pub rules: BTreeMap<String, Severity>,
}

pub const DEFAULT_EXTERNAL_TIMEOUT: Duration = Duration::from_secs(600);

fn is_kebab_case(name: &str) -> bool {
    !name.is_empty()
        && name.split('-').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

fn validate_external(
    file: &str,
    source: &str,
    raw: Vec<toml::Spanned<config::RawExternal>>,
) -> Result<Vec<ExternalTool>, PolicyError> {
    let mut tools: Vec<ExternalTool> = Vec::new();
    for entry in raw {
        let span = entry.span();
        let entry = entry.into_inner();
        let error = |span: std::ops::Range<usize>, message: String| {
            PolicyError::at(file, source, Some(span), message)
        };
        let name = entry.name.get_ref().clone();
        if !is_kebab_case(&name) {
            return Err(error(
                entry.name.span(),
                format!("external: name `{name}` must be kebab-case (a-z, 0-9 and single dashes)"),
            ));
        }
        if tools.iter().any(|t| t.name == name) {
            return Err(error(
                entry.name.span(),
                format!("external: the name `{name}` is used twice"),
            ));
        }
        let tool_source = match (entry.sarif, entry.command) {
            (Some(pattern), None) => {
                let text = pattern.get_ref().trim();
                if text.is_empty() {
                    return Err(error(pattern.span(), format!("external `{name}`: `sarif` is empty")));
                }
                if let Err(err) = Glob::new(text) {
                    return Err(error(
                        pattern.span(),
                        format!("external `{name}`: invalid glob `{text}`: {}", err.kind()),
                    ));
                }
                ExternalSource::Files(text.to_string())
            }
            (None, Some(command)) => {
                let argv = command.get_ref();
                if argv.first().is_none_or(|program| program.trim().is_empty()) {
                    return Err(error(
                        command.span(),
                        format!("external `{name}`: `command` needs a program to run"),
                    ));
                }
                ExternalSource::Command(argv.clone())
            }
            (Some(_), Some(command)) => {
                return Err(error(
                    command.span(),
                    format!("external `{name}`: give either `sarif` or `command`, not both"),
                ))
            }
            (None, None) => {
                return Err(error(
                    span,
                    format!("external `{name}`: missing `sarif` (files to read) or `command` (a tool to run)"),
                ))
            }
        };
        let timeout = match entry.timeout {
            None => DEFAULT_EXTERNAL_TIMEOUT,
            Some(text) => match crate::duration::parse_duration(text.get_ref()) {
                Some(duration) if !duration.is_zero() => duration,
                _ => {
                    return Err(error(
                        text.span(),
                        format!(
                            "external `{name}`: `timeout` must be a duration like \"90s\" or \"10m\", not `{}`",
                            text.get_ref()
                        ),
                    ))
                }
            },
        };
        let defaults = LevelMap::default();
        let levels = LevelMap {
            error: entry.levels.error.unwrap_or(defaults.error),
            warning: entry.levels.warning.unwrap_or(defaults.warning),
            note: entry.levels.note.unwrap_or(defaults.note),
            none: entry.levels.none.unwrap_or(defaults.none),
        };
        tools.push(ExternalTool {
            name,
            source: tool_source,
            timeout,
            optional: entry.optional.unwrap_or(false),
            fail_on: entry.fail_on,
            levels,
            rules: entry.rules,
        });
    }
    Ok(tools)
}

#[derive(Clone, Debug)]
pub struct Ignore {
    pub id: String,
    pub path: Option<(String, GlobMatcher)>,
    pub package: Option<String>,
    pub reason: String,
    pub expires: Option<Date>,
    /// Line of the entry in the policy file.
    pub line: usize,
}

impl Ignore {
    fn describe(&self, source: &str) -> String {
        format!("ignore `{}` ({source}:{})", self.id, self.line)
    }

    fn matches(&self, finding: &Finding) -> bool {
        let id_matches = finding.rule_id == self.id
            || finding.fingerprint == self.id
            || finding.aliases.iter().any(|alias| alias == &self.id);
        let path_matches = match (&self.path, &finding.location) {
            (None, _) => true,
            (Some((_, glob)), Some(location)) => glob.is_match(&location.path),
            (Some(_), None) => false,
        };
        let package_matches = match (&self.package, &finding.package) {
            (None, _) => true,
            (Some(wanted), Some(name)) => {
                let version = finding.properties.get("version").and_then(|v| v.as_str());
                wanted == name || version.is_some_and(|v| *wanted == format!("{name}@{v}"))
            }
            (Some(_), None) => false,
        };
        id_matches && path_matches && package_matches
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            source: DEFAULT_POLICY_NAME.to_string(),
            fail_on: Threshold::AtLeast(Severity::High),
            scanner_fail_on: BTreeMap::new(),
            unknown_severity: Severity::High,
            on_scanner_error: ScannerErrorAction::Fail,
            advisories: AdvisorySettings {
                unsound: Severity::Medium,
                unmaintained: Severity::Low,
                notice: Severity::Info,
                yanked: Severity::Low,
                db_max_age: Duration::from_secs(7 * 86_400),
                db_stale: StaleAction::Warn,
                dev_only: DevOnlyAction::Lower,
                exclude: Vec::new(),
                unchecked_ecosystems: UncheckedAction::Warn,
            },
            secrets: SecretSettings {
                max_file_size: 10 * 1024 * 1024,
                allow_inline: true,
                // Fail closed: a file we could not read may hold a secret.
                on_unreadable: UnreadableAction::Fail,
                exclude: Vec::new(),
                custom_rules: Vec::new(),
                disabled_rules: Vec::new(),
                allow_values: Vec::new(),
                stopwords: Vec::new(),
            },
            db: DbSettings {
                url: crate::db::DEFAULT_URL.to_string(),
                refresh: Duration::from_secs(86_400),
            },
            ignores: Vec::new(),
            external: Vec::new(),
            external_fail_on: None,
            profile: None,
            require_sbom: false,
        }
    }
}

impl Policy {
    /// The built-in default policy (`config/secgate.toml`).
    pub fn builtin() -> Policy {
        Policy::from_toml(DEFAULT_POLICY_NAME, DEFAULT_POLICY_TOML)
            .expect("the built-in policy is valid (checked by a test)")
    }

    /// Parses and validates a policy file; `file` names it in errors.
    pub fn from_toml(file: &str, source: &str) -> Result<Policy, PolicyError> {
        let raw = config::parse(file, source)?;
        Policy::validate(file, source, raw)
    }

    fn validate(file: &str, source: &str, raw: RawPolicy) -> Result<Policy, PolicyError> {
        let defaults = Policy::default();
        let mut scanner_fail_on = BTreeMap::new();
        for (scanner, threshold) in [
            (Scanner::Advisories, raw.advisories.fail_on),
            (Scanner::Secrets, raw.secrets.fail_on),
            (Scanner::Sbom, raw.sbom.fail_on),
        ] {
            if let Some(threshold) = threshold {
                scanner_fail_on.insert(scanner, threshold);
            }
        }

        let exclude = validate_excludes(file, source, "secrets.exclude", raw.secrets.exclude)?;
        let advisories_exclude =
            validate_excludes(file, source, "advisories.exclude", raw.advisories.exclude)?;

        let mut custom_rules = Vec::new();
        for rule in raw.secrets.rules {
            let span = rule.span();
            let rule = rule.into_inner();
            if let Err(message) = rules::compile(rule.clone()) {
                return Err(PolicyError::at(
                    file,
                    source,
                    Some(span),
                    format!("secrets.rules: {message}"),
                ));
            }
            custom_rules.push(rule);
        }
        let mut disabled_rules = Vec::new();
        for id in raw.secrets.disable_rules {
            // Read only when asked: parsing the built-in rules costs a policy
            // load that names none of them about 2 ms.
            let known = rules::builtin_rule_ids().contains(id.get_ref())
                || custom_rules.iter().any(|r: &RawRule| &r.id == id.get_ref());
            if !known {
                return Err(PolicyError::at(
                    file,
                    source,
                    Some(id.span()),
                    format!(
                        "secrets.disable-rules: no rule has the id `{}`",
                        id.get_ref()
                    ),
                ));
            }
            disabled_rules.push(id.into_inner());
        }
        let mut allow_values = Vec::new();
        for pattern in raw.secrets.allowlist.values {
            if let Err(err) = regex::Regex::new(pattern.get_ref()) {
                return Err(PolicyError::at(
                    file,
                    source,
                    Some(pattern.span()),
                    format!("secrets.allowlist.values: invalid regex: {err}"),
                ));
            }
            allow_values.push(pattern.into_inner());
        }
        let duration = |key: &str, value: Option<toml::Spanned<String>>, default: Duration| {
            let Some(value) = value else {
                return Ok(default);
            };
            crate::duration::parse_duration(value.get_ref()).ok_or_else(|| {
                PolicyError::at(
                    file,
                    source,
                    Some(value.span()),
                    format!(
                        "db.{key}: expected a duration like \"12h\", \"1d\" or \"7d\" (units s, m, h, d, w), not `{}`",
                        value.get_ref()
                    ),
                )
            })
        };
        let db_refresh = duration("refresh", raw.db.refresh, defaults.db.refresh)?;
        let db_max_age = duration("max-age", raw.db.max_age, defaults.advisories.db_max_age)?;
        let db_url = match raw.db.url {
            None => defaults.db.url,
            Some(url) => crate::db::parse_url("db.url", url.get_ref())
                .map_err(|e| PolicyError::at(file, source, Some(url.span()), e.to_string()))?
                .as_str()
                .to_string(),
        };

        let external = validate_external(file, source, raw.external)?;
        let mut ignores = Vec::new();
        for entry in raw.ignore {
            let span = entry.span();
            let line = PolicyError::at(file, source, Some(span.clone()), "").line;
            let entry = entry.into_inner();
            let id = entry.id.get_ref().trim().to_string();
            if id.is_empty() {
                return Err(PolicyError::at(
                    file,
                    source,
                    Some(entry.id.span()),
                    "ignore: `id` is empty",
                ));
            }
            let reason = match entry.reason.map(|r| r.trim().to_string()) {
                Some(reason) if !reason.is_empty() => reason,
                _ => {
                    return Err(PolicyError::at(
                        file,
                        source,
                        Some(span),
                        format!(
                            "ignore `{id}`: missing `reason` (say why this finding is accepted)"
                        ),
                    ))
                }
            };
            let path = match entry.path {
                None => None,
                Some(pattern) => match Glob::new(pattern.get_ref()) {
                    Ok(glob) => Some((pattern.get_ref().clone(), glob.compile_matcher())),
                    Err(err) => {
                        return Err(PolicyError::at(
                            file,
                            source,
                            Some(pattern.span()),
                            format!(
                                "ignore `{id}`: invalid path glob `{}`: {}",
                                pattern.get_ref(),
                                err.kind()
                            ),
                        ))
                    }
                },
            };
            let expires = match entry.expires {
                None => None,
                Some(date) => {
                    let date_span = date.span();
                    Some(parse_date(date.get_ref()).map_err(|text| {
                        PolicyError::at(
                            file,
                            source,
                            Some(date_span),
                            format!("ignore `{id}`: `expires` must be a date like 2027-01-31, not `{text}`"),
                        )
                    })?)
                }
            };
            ignores.push(Ignore {
                id,
                path,
                package: entry.package,
                reason,
                expires,
                line,
            });
        }

        Ok(Policy {
            source: file.to_string(),
            fail_on: raw.fail_on.unwrap_or(defaults.fail_on),
            scanner_fail_on,
            unknown_severity: raw.unknown_severity.unwrap_or(defaults.unknown_severity),
            on_scanner_error: raw.on_scanner_error.unwrap_or(defaults.on_scanner_error),
            advisories: AdvisorySettings {
                unsound: raw
                    .advisories
                    .unsound
                    .unwrap_or(defaults.advisories.unsound),
                unmaintained: raw
                    .advisories
                    .unmaintained
                    .unwrap_or(defaults.advisories.unmaintained),
                notice: raw.advisories.notice.unwrap_or(defaults.advisories.notice),
                yanked: raw.advisories.yanked.unwrap_or(defaults.advisories.yanked),
                db_max_age,
                db_stale: raw.db.stale.unwrap_or(defaults.advisories.db_stale),
                dev_only: raw
                    .advisories
                    .dev_only
                    .unwrap_or(defaults.advisories.dev_only),
                exclude: advisories_exclude,
                unchecked_ecosystems: raw
                    .advisories
                    .unchecked_ecosystems
                    .unwrap_or(defaults.advisories.unchecked_ecosystems),
            },
            secrets: SecretSettings {
                max_file_size: raw
                    .secrets
                    .max_file_size
                    .unwrap_or(defaults.secrets.max_file_size),
                allow_inline: raw
                    .secrets
                    .allow_inline
                    .unwrap_or(defaults.secrets.allow_inline),
                on_unreadable: raw
                    .secrets
                    .on_unreadable
                    .unwrap_or(defaults.secrets.on_unreadable),
                exclude,
                custom_rules,
                disabled_rules,
                allow_values,
                stopwords: raw
                    .secrets
                    .allowlist
                    .stopwords
                    .iter()
                    .map(|w| w.to_lowercase())
                    .collect(),
            },
            db: DbSettings {
                url: db_url,
                refresh: db_refresh,
            },
            ignores,
            external,
            external_fail_on: raw.external_defaults.fail_on,
            profile: None,
            require_sbom: false,
        })
    }

    /// Parses a policy file and applies `[profile.NAME]` on top. The release
    /// profile adds built-in rules: `fail-on` at least `medium`, a database
    /// fresher than 1 day or the gate exits 2, a written SBOM, and an
    /// unexpired `expires` on every ignore (else a policy error).
    pub fn from_toml_with_profile(
        file: &str,
        source: &str,
        profile: Option<&str>,
        today: Date,
    ) -> Result<Policy, PolicyError> {
        let mut raw = config::parse(file, source)?;
        let mut profiles = std::mem::take(&mut raw.profile);
        for (name, table) in &profiles {
            if !table.get_ref().profile.is_empty() {
                return Err(PolicyError::at(
                    file,
                    source,
                    Some(table.span()),
                    format!("profile.{name}: a profile cannot contain profiles"),
                ));
            }
        }
        let Some(name) = profile else {
            return Policy::validate(file, source, raw);
        };
        let table = profiles.remove(name).map(toml::Spanned::into_inner);
        if table.is_none() && name != RELEASE_PROFILE {
            let known: Vec<_> = profiles.keys().map(String::as_str).collect();
            return Err(PolicyError::at(
                file,
                source,
                None,
                format!(
                    "--profile {name}: no [profile.{name}] table (profiles: {})",
                    if known.is_empty() {
                        RELEASE_PROFILE.to_string()
                    } else {
                        format!("{RELEASE_PROFILE}, {}", known.join(", "))
                    }
                ),
            ));
        }
        let table = table.unwrap_or_default();
        let explicit = (
            table.fail_on.is_some(),
            [
                (Scanner::Advisories, table.advisories.fail_on.is_some()),
                (Scanner::Secrets, table.secrets.fail_on.is_some()),
                (Scanner::Sbom, table.sbom.fail_on.is_some()),
            ],
            table.db.max_age.is_some(),
            table.db.stale.is_some(),
            table.on_scanner_error.is_some(),
        );
        let external_set_by_profile = table.external_defaults.fail_on.is_some();
        let mut policy = Policy::validate(file, source, raw.overlay(table))?;
        policy.profile = Some(name.to_string());
        if name != RELEASE_PROFILE {
            return Ok(policy);
        }
        let (fail_on, per_scanner, max_age, stale, on_error) = explicit;
        let stricter = |threshold: Threshold| match threshold {
            Threshold::AtLeast(severity) if severity <= RELEASE_FAIL_ON => threshold,
            _ => Threshold::AtLeast(RELEASE_FAIL_ON),
        };
        if !fail_on {
            policy.fail_on = stricter(policy.fail_on);
        }
        for (scanner, set_by_profile) in per_scanner {
            if !set_by_profile {
                if let Some(threshold) = policy.scanner_fail_on.get_mut(&scanner) {
                    *threshold = stricter(*threshold);
                }
            }
        }
        if !external_set_by_profile {
            policy.external_fail_on = policy.external_fail_on.map(stricter);
            for tool in &mut policy.external {
                tool.fail_on = tool.fail_on.map(stricter);
            }
        }
        if !max_age {
            policy.advisories.db_max_age = policy.advisories.db_max_age.min(RELEASE_DB_MAX_AGE);
        }
        if !stale {
            policy.advisories.db_stale = StaleAction::Fail;
        }
        if !on_error {
            policy.on_scanner_error = ScannerErrorAction::Fail;
        }
        policy.require_sbom = true;
        for ignore in &policy.ignores {
            let problem = match ignore.expires {
                None => {
                    "has no `expires`: under the release profile every ignore needs an expiry date"
                }
                Some(date) if date < today => {
                    "has expired: under the release profile every ignore must be unexpired"
                }
                Some(_) => continue,
            };
            return Err(PolicyError {
                file: file.to_string(),
                line: ignore.line,
                column: 1,
                message: format!("ignore `{}` {problem}", ignore.id),
            });
        }
        Ok(policy)
    }

    /// `--fail-on` on the command line replaces every threshold in the file.
    pub fn override_fail_on(&mut self, threshold: Threshold) {
        self.fail_on = threshold;
        self.scanner_fail_on.clear();
        self.external_fail_on = None;
        for tool in &mut self.external {
            tool.fail_on = None;
        }
    }

    /// The threshold for one output: an external tool's own `fail-on`, else
    /// `[external-defaults]`, else the global one.
    pub fn threshold_for_output(&self, output: &ScanOutput) -> Threshold {
        match &output.tool {
            Some(run) if output.scanner == Scanner::External => self
                .external
                .iter()
                .find(|t| t.name == run.name)
                .and_then(|t| t.fail_on)
                .or(self.external_fail_on)
                .unwrap_or(self.fail_on),
            _ => self.threshold_for(output.scanner),
        }
    }

    pub fn threshold_for(&self, scanner: Scanner) -> Threshold {
        let specific = match scanner {
            Scanner::External => self.external_fail_on,
            _ => self.scanner_fail_on.get(&scanner).copied(),
        };
        specific.unwrap_or(self.fail_on)
    }

    /// A warning when the policy names `[[external]]` tools but `scanners`
    /// leaves the external scanner out: those tools never ran.
    pub fn unselected_external(&self, scanners: &[Scanner]) -> Option<String> {
        if self.external.is_empty() || scanners.contains(&Scanner::External) {
            return None;
        }
        let names: Vec<&str> = self.external.iter().map(|t| t.name.as_str()).collect();
        Some(format!(
            "{} names [[external]] tool{} ({}) but the external scanner was not selected: {} did not run (add external to --scanners)",
            self.source,
            if names.len() == 1 { "" } else { "s" },
            names.join(", "),
            if names.len() == 1 { "it" } else { "they" }
        ))
    }

    /// Turns scanner outputs into a verdict. `today` decides which ignores expired.
    pub fn evaluate(&self, outputs: &[ScanOutput], today: Date) -> Verdict {
        self.evaluate_against(outputs, today, None)
    }

    /// As `evaluate`, with findings in `baseline` counted as existing: kept,
    /// suppressed, never failing.
    pub fn evaluate_against(
        &self,
        outputs: &[ScanOutput],
        today: Date,
        baseline: Option<&Baseline>,
    ) -> Verdict {
        let mut used = vec![false; self.ignores.len()];
        let mut warnings = Vec::new();
        for ignore in &self.ignores {
            if let Some(expires) = ignore.expires.filter(|&d| d < today) {
                warnings.push(format!(
                    "{} expired on {expires} and no longer applies",
                    ignore.describe(&self.source)
                ));
            }
        }

        let mut findings = Vec::new();
        let mut scanner_errors = Vec::new();
        // Failing findings per (scanner, external run), with the threshold used.
        let mut per_output: BTreeMap<(Scanner, Option<String>), (usize, Threshold)> =
            BTreeMap::new();
        for output in outputs {
            if let Some(error) = &output.error {
                scanner_errors.push((output.scanner, error.clone()));
            }
            warnings.extend(
                output
                    .warnings
                    .iter()
                    .map(|w| format!("{}: {w}", output.label())),
            );
            let threshold = self.threshold_for_output(output);
            let label = (output.scanner, output.tool.as_ref().map(|t| t.key.clone()));
            for finding in &output.findings {
                let mut severity = finding.severity.unwrap_or(self.unknown_severity);
                let mut suppression = None;
                // A dev-only dependency is never shipped: by default it is
                // reported, at info, and cannot fail the gate.
                let dev_only = output.scanner == Scanner::Advisories
                    && finding
                        .properties
                        .get(DEPENDENCY_KIND)
                        .and_then(|v| v.as_str())
                        == Some(DEV_ONLY);
                let mut never_fails = false;
                if dev_only {
                    match self.advisories.dev_only {
                        DevOnlyAction::Report => {}
                        DevOnlyAction::Lower => {
                            severity = Severity::Info;
                            never_fails = true;
                        }
                        DevOnlyAction::Ignore => {
                            suppression = Some(Suppression {
                                kind: SuppressionKind::Policy,
                                justification: "dev-only dependency, never shipped (advisories.dev-only = \"ignore\")".to_string(),
                            });
                        }
                    }
                }
                for (index, ignore) in self.ignores.iter().enumerate() {
                    let active = ignore.expires.is_none_or(|d| d >= today);
                    if active && ignore.matches(finding) {
                        used[index] = true;
                        if suppression.is_none() {
                            suppression = Some(Suppression {
                                kind: SuppressionKind::Policy,
                                justification: ignore.reason.clone(),
                            });
                        }
                    }
                }
                if suppression.is_none()
                    && finding.suppression_hint == Some(SuppressionHint::InlineAllow)
                {
                    if self.secrets.allow_inline {
                        suppression = Some(Suppression {
                            kind: SuppressionKind::Inline,
                            justification: "secgate:allow comment in the source".to_string(),
                        });
                    } else {
                        warnings.push(format!(
                            "{}: inline secgate:allow ignored (allow-inline = false in {})",
                            finding
                                .location
                                .as_ref()
                                .map(|l| format!("{}:{}", l.path, l.start_line))
                                .unwrap_or_default(),
                            self.source
                        ));
                    }
                }
                if let Some(baseline) = baseline {
                    if suppression.is_none() && baseline.knows(finding) {
                        suppression = Some(Suppression {
                            kind: SuppressionKind::Baseline,
                            justification: format!("{BASELINE_SUPPRESSION}{}", baseline.source),
                        });
                    }
                }
                let fails = suppression.is_none() && !never_fails && threshold.fails(severity);
                if fails {
                    let entry = per_output.entry(label.clone()).or_insert((0, threshold));
                    entry.0 += 1;
                }
                findings.push(EvaluatedFinding {
                    finding: finding.clone(),
                    severity,
                    severity_was_unknown: finding.severity.is_none(),
                    suppression,
                    fails,
                });
            }
        }
        for (ignore, used) in self.ignores.iter().zip(&used) {
            let expired = ignore.expires.is_some_and(|d| d < today);
            if !used && !expired {
                warnings.push(format!(
                    "{} matched no finding",
                    ignore.describe(&self.source)
                ));
            }
        }
        findings.sort_by(|a, b| a.finding.sort_key().cmp(&b.finding.sort_key()));

        let failing = findings.iter().filter(|f| f.fails).count();
        let mut reasons = Vec::new();
        let blocking_errors =
            !scanner_errors.is_empty() && self.on_scanner_error == ScannerErrorAction::Fail;
        for (scanner, error) in &scanner_errors {
            let problem = format!("scanner {scanner} could not check: {error}");
            if blocking_errors {
                reasons.push(problem);
            } else {
                warnings.push(format!("{problem} (on-scanner-error = \"warn\")"));
            }
        }
        let unchecked: Vec<UncheckedFile> = outputs
            .iter()
            .flat_map(|o| o.unchecked.iter().cloned())
            .collect();
        let mut incomplete = false;
        if !unchecked.is_empty() {
            let problem = format!(
                "{} dependency file{} found, not checked ({})",
                unchecked.len(),
                if unchecked.len() == 1 { "" } else { "s" },
                lockfiles::count_by_ecosystem(&unchecked)
            );
            match self.advisories.unchecked_ecosystems {
                UncheckedAction::Warn => warnings.push(format!(
                    "advisories: {problem} (advisories.unchecked-ecosystems = \"warn\")"
                )),
                UncheckedAction::Fail => {
                    incomplete = true;
                    reasons.push(format!(
                        "{problem} (advisories.unchecked-ecosystems = \"fail\"; exclude them with advisories.exclude, or \"warn\")"
                    ));
                }
            }
        }
        for ((scanner, tool), (count, threshold)) in per_output {
            let label = match tool {
                Some(key) => format!("{scanner}/{key}"),
                None => scanner.to_string(),
            };
            reasons.push(format!(
                "{label}: {count} finding{} at or above fail-on = {}",
                if count == 1 { "" } else { "s" },
                threshold.as_str()
            ));
        }
        let mut missing_sbom = false;
        if self.require_sbom {
            let written = outputs
                .iter()
                .any(|o| o.scanner == Scanner::Sbom && o.error.is_none() && !o.sbom.is_empty());
            if !written {
                missing_sbom = true;
                reasons.push(format!(
                    "the {} profile requires an SBOM: run the sbom scanner (it did not run or could not write one)",
                    self.profile.as_deref().unwrap_or(RELEASE_PROFILE)
                ));
            }
        }
        let outcome = if blocking_errors || missing_sbom || incomplete {
            Outcome::CouldNotCheck
        } else if failing > 0 {
            Outcome::Violated
        } else {
            Outcome::Pass
        };
        Verdict {
            outcome,
            findings,
            failing,
            scanner_errors,
            warnings,
            reasons,
        }
    }
}

/// Checks `exclude` globs as the file listing will read them (gitignore
/// lines), so a bad one is an error at its line, not at scan time.
fn validate_excludes(
    file: &str,
    source: &str,
    key: &str,
    patterns: Vec<toml::Spanned<String>>,
) -> Result<Vec<String>, PolicyError> {
    let mut valid = Vec::new();
    for pattern in patterns {
        let mut builder = ignore::gitignore::GitignoreBuilder::new("");
        let checked = builder
            .add_line(None, pattern.get_ref())
            .map_err(|e| e.to_string())
            .and_then(|b| b.build().map(drop).map_err(|e| e.to_string()));
        if let Err(message) = checked {
            return Err(PolicyError::at(
                file,
                source,
                Some(pattern.span()),
                format!("{key}: invalid glob `{}`: {message}", pattern.get_ref()),
            ));
        }
        valid.push(pattern.into_inner());
    }
    Ok(valid)
}

fn parse_date(raw: &RawDate) -> Result<Date, String> {
    let text = match raw {
        RawDate::Toml(datetime) => {
            if datetime.time.is_some() || datetime.offset.is_some() {
                return Err(datetime.to_string());
            }
            datetime.to_string()
        }
        RawDate::Text(text) => text.clone(),
    };
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(text.trim(), &format).map_err(|_| text)
}

/// How a baseline suppression's justification starts; the baseline's
/// source (a file, "the base <rev>") follows.
pub const BASELINE_SUPPRESSION: &str = "existing finding, in baseline ";

/// The finding property the advisories scanner sets from the package graph.
pub const DEPENDENCY_KIND: &str = "dependency-kind";
pub const DEV_ONLY: &str = "dev-only";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    Violated,
    CouldNotCheck,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SuppressionKind {
    /// An `[[ignore]]` entry of the policy.
    Policy,
    /// A `secgate:allow` comment in the scanned file.
    Inline,
    /// Present in the baseline: an existing finding, not a new one.
    Baseline,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suppression {
    pub kind: SuppressionKind,
    pub justification: String,
}

#[derive(Clone, Debug)]
pub struct EvaluatedFinding {
    pub finding: Finding,
    /// The severity the policy counted (unknown ones take `unknown-severity`).
    pub severity: Severity,
    pub severity_was_unknown: bool,
    pub suppression: Option<Suppression>,
    /// Whether this finding alone fails the gate.
    pub fails: bool,
}

impl EvaluatedFinding {
    /// The finding's message, saying so when its severity is the policy's
    /// `unknown-severity` (an advisory without a CVSS score): GitHub would
    /// otherwise show it as scored.
    pub fn message(&self) -> String {
        if self.severity_was_unknown {
            format!(
                "{} [unscored: no CVSS score, counted at unknown-severity = {}]",
                self.finding.message, self.severity
            )
        } else {
            self.finding.message.clone()
        }
    }
}

#[derive(Debug)]
pub struct Verdict {
    pub outcome: Outcome,
    /// Every finding, suppressed ones included, in deterministic order.
    pub findings: Vec<EvaluatedFinding>,
    pub failing: usize,
    pub scanner_errors: Vec<(Scanner, String)>,
    pub warnings: Vec<String>,
    /// Why the outcome is what it is.
    pub reasons: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Location;
    use time::macros::date;

    fn finding(scanner: Scanner, rule: &str, severity: Option<Severity>) -> Finding {
        Finding {
            scanner,
            tool: None,
            rule_id: rule.to_string(),
            severity,
            title: rule.to_string(),
            message: "m".to_string(),
            location: Some(Location::line("Cargo.lock", 3)),
            fingerprint: format!("fp-{rule}"),
            content_fingerprint: None,
            package: Some("hyper".to_string()),
            aliases: vec!["CVE-2021-1".to_string()],
            suppression_hint: None,
            properties: [("version".to_string(), serde_json::json!("0.14.1"))].into(),
        }
    }

    fn output(scanner: Scanner, findings: Vec<Finding>) -> ScanOutput {
        ScanOutput {
            findings,
            ..ScanOutput::new(scanner)
        }
    }

    const TODAY: Date = date!(2026 - 11 - 23);

    fn policy(text: &str) -> Policy {
        Policy::from_toml("p.toml", text).unwrap()
    }

    #[test]
    fn builtin_policy_equals_the_coded_defaults() {
        let builtin = Policy::builtin();
        let empty = policy("");
        assert_eq!(builtin.fail_on, empty.fail_on);
        assert_eq!(builtin.unknown_severity, empty.unknown_severity);
        assert_eq!(builtin.on_scanner_error, empty.on_scanner_error);
        assert_eq!(builtin.advisories, empty.advisories);
        assert_eq!(builtin.secrets, empty.secrets);
        assert_eq!(builtin.scanner_fail_on, empty.scanner_fail_on);
        assert_eq!(builtin.db, empty.db);
        assert!(builtin.ignores.is_empty());
    }

    #[test]
    fn db_section_parses_durations_and_url() {
        let p = policy(
            "[db]\nurl = \"http://mirror.example/db.tar.gz\"\nrefresh = \"12h\"\nmax-age = \"30d\"\nstale = \"fail\"\n",
        );
        assert_eq!(p.db.url, "http://mirror.example/db.tar.gz");
        assert_eq!(p.db.refresh, Duration::from_secs(12 * 3600));
        assert_eq!(p.advisories.db_max_age, Duration::from_secs(30 * 86_400));
        assert_eq!(p.advisories.db_stale, StaleAction::Fail);
        let defaults = policy("");
        assert_eq!(defaults.db.url, crate::db::DEFAULT_URL);
        assert_eq!(defaults.db.refresh, Duration::from_secs(86_400));
        assert_eq!(defaults.advisories.db_stale, StaleAction::Warn);
    }

    #[test]
    fn db_bad_values_are_located() {
        let err = Policy::from_toml("p.toml", "[db]\nrefresh = \"1d\"\nmax-age = \"a week\"\n")
            .unwrap_err();
        assert_eq!((err.line, err.column), (3, 11));
        assert!(err.message.contains("a week"), "{err}");
        let err = Policy::from_toml("p.toml", "[db]\nurl = \"ftp://x/db.tgz\"\n").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.message.contains("db.url"), "{err}");
        assert!(err.message.contains("only http:// and https://"), "{err}");
        assert!(err.message.contains("--db DIR"), "{err}");
        let err = Policy::from_toml("p.toml", "[db]\nmaxage = \"1d\"\n").unwrap_err();
        assert_eq!(err.line, 2);
    }

    #[test]
    fn threshold_decides_pass_or_violation() {
        let outputs = [output(
            Scanner::Advisories,
            vec![finding(Scanner::Advisories, "A", Some(Severity::Medium))],
        )];
        assert_eq!(
            policy("fail-on = \"high\"")
                .evaluate(&outputs, TODAY)
                .outcome,
            Outcome::Pass
        );
        let verdict = policy("fail-on = \"medium\"").evaluate(&outputs, TODAY);
        assert_eq!(verdict.outcome, Outcome::Violated);
        assert_eq!(verdict.failing, 1);
        assert_eq!(
            policy("fail-on = \"none\"")
                .evaluate(&outputs, TODAY)
                .outcome,
            Outcome::Pass
        );
    }

    #[test]
    fn per_scanner_threshold_overrides_global() {
        let outputs = [
            output(
                Scanner::Advisories,
                vec![finding(Scanner::Advisories, "A", Some(Severity::Medium))],
            ),
            output(
                Scanner::Secrets,
                vec![finding(Scanner::Secrets, "S", Some(Severity::Medium))],
            ),
        ];
        let verdict = policy("fail-on = \"critical\"\n[secrets]\nfail-on = \"medium\"\n")
            .evaluate(&outputs, TODAY);
        assert_eq!(verdict.outcome, Outcome::Violated);
        let failing: Vec<_> = verdict
            .findings
            .iter()
            .filter(|f| f.fails)
            .map(|f| f.finding.scanner)
            .collect();
        assert_eq!(failing, vec![Scanner::Secrets]);
    }

    #[test]
    fn cli_override_replaces_every_threshold() {
        let outputs = [output(
            Scanner::Secrets,
            vec![finding(Scanner::Secrets, "S", Some(Severity::Low))],
        )];
        let mut p = policy("[secrets]\nfail-on = \"low\"\n");
        assert_eq!(p.evaluate(&outputs, TODAY).outcome, Outcome::Violated);
        p.override_fail_on(Threshold::Never);
        assert_eq!(p.evaluate(&outputs, TODAY).outcome, Outcome::Pass);
    }

    #[test]
    fn unknown_severity_fails_closed_by_default() {
        let outputs = [output(
            Scanner::Advisories,
            vec![finding(Scanner::Advisories, "A", None)],
        )];
        let verdict = policy("").evaluate(&outputs, TODAY);
        assert_eq!(verdict.outcome, Outcome::Violated);
        assert_eq!(verdict.findings[0].severity, Severity::High);
        assert!(verdict.findings[0].severity_was_unknown);
        let lenient = policy("unknown-severity = \"low\"").evaluate(&outputs, TODAY);
        assert_eq!(lenient.outcome, Outcome::Pass);
    }

    #[test]
    fn ignore_suppresses_by_id_alias_fingerprint_and_package() {
        let outputs = [output(
            Scanner::Advisories,
            vec![finding(
                Scanner::Advisories,
                "RUSTSEC-1",
                Some(Severity::Critical),
            )],
        )];
        for id in ["RUSTSEC-1", "CVE-2021-1", "fp-RUSTSEC-1"] {
            let p = policy(&format!(
                "[[ignore]]\nid = \"{id}\"\nreason = \"not reachable\"\n"
            ));
            let verdict = p.evaluate(&outputs, TODAY);
            assert_eq!(verdict.outcome, Outcome::Pass, "{id}");
            let suppression = verdict.findings[0].suppression.as_ref().unwrap();
            assert_eq!(suppression.justification, "not reachable");
            assert!(verdict.warnings.is_empty(), "{:?}", verdict.warnings);
        }
        let by_package =
            policy("[[ignore]]\nid = \"RUSTSEC-1\"\npackage = \"hyper@0.14.1\"\nreason = \"r\"\n");
        assert_eq!(by_package.evaluate(&outputs, TODAY).outcome, Outcome::Pass);
        let other_package =
            policy("[[ignore]]\nid = \"RUSTSEC-1\"\npackage = \"h2\"\nreason = \"r\"\n");
        let verdict = other_package.evaluate(&outputs, TODAY);
        assert_eq!(verdict.outcome, Outcome::Violated);
        assert!(
            verdict.warnings[0].contains("matched no finding"),
            "{:?}",
            verdict.warnings
        );
    }

    #[test]
    fn ignore_path_is_a_glob() {
        let outputs = [output(
            Scanner::Secrets,
            vec![finding(Scanner::Secrets, "S", Some(Severity::High))],
        )];
        let hit = policy("[[ignore]]\nid = \"S\"\npath = \"*.lock\"\nreason = \"r\"\n");
        assert_eq!(hit.evaluate(&outputs, TODAY).outcome, Outcome::Pass);
        let miss = policy("[[ignore]]\nid = \"S\"\npath = \"src/**\"\nreason = \"r\"\n");
        assert_eq!(miss.evaluate(&outputs, TODAY).outcome, Outcome::Violated);
    }

    #[test]
    fn expired_ignore_no_longer_applies_and_is_reported() {
        let outputs = [output(
            Scanner::Advisories,
            vec![finding(
                Scanner::Advisories,
                "RUSTSEC-1",
                Some(Severity::High),
            )],
        )];
        let p = policy("[[ignore]]\nid = \"RUSTSEC-1\"\nreason = \"r\"\nexpires = 2026-11-22\n");
        let verdict = p.evaluate(&outputs, TODAY);
        assert_eq!(verdict.outcome, Outcome::Violated);
        assert_eq!(verdict.warnings.len(), 1);
        assert!(
            verdict.warnings[0].contains("expired on 2026-11-22"),
            "{:?}",
            verdict.warnings
        );
        assert!(
            verdict.warnings[0].contains("p.toml:1"),
            "{:?}",
            verdict.warnings
        );
        // The expiry day itself still counts.
        let p =
            policy("[[ignore]]\nid = \"RUSTSEC-1\"\nreason = \"r\"\nexpires = \"2026-11-23\"\n");
        assert_eq!(p.evaluate(&outputs, TODAY).outcome, Outcome::Pass);
    }

    #[test]
    fn ignore_requires_reason_and_a_real_date() {
        let err =
            Policy::from_toml("p.toml", "fail-on = \"low\"\n[[ignore]]\nid = \"X\"\n").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.message.contains("reason"), "{err}");
        let err = Policy::from_toml(
            "p.toml",
            "[[ignore]]\nid = \"X\"\nreason = \"r\"\nexpires = \"2026-02-30\"\n",
        )
        .unwrap_err();
        assert_eq!(err.line, 4);
        assert!(err.message.contains("2026-02-30"), "{err}");
        let err = Policy::from_toml(
            "p.toml",
            "[[ignore]]\nid = \"X\"\nreason = \"r\"\nexpires = 2026-01-01T10:00:00Z\n",
        )
        .unwrap_err();
        assert_eq!(err.line, 4);
    }

    #[test]
    fn scanner_error_fails_closed_unless_policy_warns() {
        let mut broken = ScanOutput::new(Scanner::Advisories);
        broken.error = Some("no database".to_string());
        let outputs = [
            broken,
            output(
                Scanner::Secrets,
                vec![finding(Scanner::Secrets, "S", Some(Severity::Critical))],
            ),
        ];
        let verdict = policy("").evaluate(&outputs, TODAY);
        assert_eq!(verdict.outcome, Outcome::CouldNotCheck);
        assert_eq!(
            verdict.failing, 1,
            "the other scanner's findings still count"
        );
        let verdict = policy("on-scanner-error = \"warn\"").evaluate(&outputs, TODAY);
        assert_eq!(verdict.outcome, Outcome::Violated);
    }

    #[test]
    fn dev_only_advisories_never_fail_by_default() {
        let mut f = finding(Scanner::Advisories, "RUSTSEC-1", Some(Severity::Critical));
        f.properties
            .insert(DEPENDENCY_KIND.to_string(), serde_json::json!(DEV_ONLY));
        let outputs = [output(Scanner::Advisories, vec![f])];
        let verdict = policy("fail-on = \"info\"").evaluate(&outputs, TODAY);
        assert_eq!(verdict.outcome, Outcome::Pass);
        assert_eq!(verdict.findings[0].severity, Severity::Info);
        assert!(verdict.findings[0].suppression.is_none(), "still reported");
        let report = policy("[advisories]\ndev-only = \"report\"\n").evaluate(&outputs, TODAY);
        assert_eq!(report.outcome, Outcome::Violated);
        let ignore = policy("[advisories]\ndev-only = \"ignore\"\n").evaluate(&outputs, TODAY);
        assert_eq!(ignore.outcome, Outcome::Pass);
        assert!(ignore.findings[0].suppression.is_some());
    }

    #[test]
    fn inline_allow_honoured_only_when_policy_allows() {
        let mut f = finding(Scanner::Secrets, "S", Some(Severity::High));
        f.suppression_hint = Some(SuppressionHint::InlineAllow);
        let outputs = [output(Scanner::Secrets, vec![f])];
        assert_eq!(policy("").evaluate(&outputs, TODAY).outcome, Outcome::Pass);
        let strict = policy("[secrets]\nallow-inline = false\n").evaluate(&outputs, TODAY);
        assert_eq!(strict.outcome, Outcome::Violated);
    }

    #[test]
    fn findings_come_out_sorted() {
        let mut a = finding(Scanner::Secrets, "B", Some(Severity::Low));
        a.location = Some(Location::line("z.txt", 1));
        let mut b = finding(Scanner::Secrets, "A", Some(Severity::Low));
        b.location = Some(Location::line("a.txt", 9));
        let outputs = [output(Scanner::Secrets, vec![a, b])];
        let verdict = policy("").evaluate(&outputs, TODAY);
        let paths: Vec<_> = verdict
            .findings
            .iter()
            .map(|f| f.finding.location.as_ref().unwrap().path.as_str())
            .collect();
        assert_eq!(paths, ["a.txt", "z.txt"]);
    }

    fn release(text: &str) -> Result<Policy, PolicyError> {
        Policy::from_toml_with_profile("p.toml", text, Some("release"), TODAY)
    }

    #[test]
    fn release_profile_is_stricter_by_default() {
        let p = release("").unwrap();
        assert_eq!(p.fail_on, Threshold::AtLeast(Severity::Medium));
        assert_eq!(p.advisories.db_max_age, Duration::from_secs(86_400));
        assert_eq!(p.advisories.db_stale, StaleAction::Fail);
        assert_eq!(p.on_scanner_error, ScannerErrorAction::Fail);
        assert!(p.require_sbom);
        assert_eq!(p.profile.as_deref(), Some("release"));
        // Never looser than the top level; per-scanner thresholds too.
        let p = release("fail-on = \"low\"\non-scanner-error = \"warn\"\n[secrets]\nfail-on = \"critical\"\n[db]\nmax-age = \"2h\"\n").unwrap();
        assert_eq!(p.fail_on, Threshold::AtLeast(Severity::Low));
        assert_eq!(p.on_scanner_error, ScannerErrorAction::Fail);
        assert_eq!(
            p.threshold_for(Scanner::Secrets),
            Threshold::AtLeast(Severity::Medium)
        );
        assert_eq!(p.advisories.db_max_age, Duration::from_secs(2 * 3600));
        // Without --profile the top level alone applies.
        let plain = Policy::from_toml_with_profile(
            "p.toml",
            "[profile.release]\nfail-on = \"info\"\n",
            None,
            TODAY,
        )
        .unwrap();
        assert_eq!(plain.fail_on, Threshold::AtLeast(Severity::High));
        assert!(!plain.require_sbom);
    }

    #[test]
    fn release_profile_table_overrides_and_adds() {
        let p = release(
            "fail-on = \"high\"\n[profile.release]\nfail-on = \"low\"\n[profile.release.db]\nmax-age = \"3d\"\n",
        )
        .unwrap();
        assert_eq!(p.fail_on, Threshold::AtLeast(Severity::Low));
        assert_eq!(p.advisories.db_max_age, Duration::from_secs(3 * 86_400));
        assert_eq!(p.advisories.db_stale, StaleAction::Fail);
        let err = release("[profile.release]\nfail-onn = \"low\"\n").unwrap_err();
        assert_eq!(err.line, 2, "{err}");
        let other = Policy::from_toml_with_profile(
            "p.toml",
            "[profile.nightly]\nfail-on = \"critical\"\n",
            Some("nightly"),
            TODAY,
        )
        .unwrap();
        assert_eq!(other.fail_on, Threshold::AtLeast(Severity::Critical));
        assert!(!other.require_sbom);
        let err = Policy::from_toml_with_profile("p.toml", "", Some("nightly"), TODAY).unwrap_err();
        assert!(err.message.contains("no [profile.nightly]"), "{err}");
    }

    #[test]
    fn release_profile_requires_unexpired_expiry_on_every_ignore() {
        let err =
            release("fail-on = \"high\"\n[[ignore]]\nid = \"X\"\nreason = \"r\"\n").unwrap_err();
        assert_eq!(err.line, 2, "{err}");
        assert!(err.message.contains("no `expires`"), "{err}");
        let err =
            release("[[ignore]]\nid = \"X\"\nreason = \"r\"\nexpires = 2026-11-22\n").unwrap_err();
        assert!(err.message.contains("expired"), "{err}");
        let err =
            release("[profile.release]\n[[profile.release.ignore]]\nid = \"Y\"\nreason = \"r\"\n")
                .unwrap_err();
        assert_eq!(err.line, 2, "{err}");
        assert!(release("[[ignore]]\nid = \"X\"\nreason = \"r\"\nexpires = 2026-11-23\n").is_ok());
        // The default profile still accepts an ignore without expiry.
        assert!(Policy::from_toml("p.toml", "[[ignore]]\nid = \"X\"\nreason = \"r\"\n").is_ok());
    }

    #[test]
    fn release_profile_needs_a_written_sbom() {
        let p = release("").unwrap();
        let verdict = p.evaluate(&[output(Scanner::Secrets, vec![])], TODAY);
        assert_eq!(verdict.outcome, Outcome::CouldNotCheck);
        assert!(
            verdict
                .reasons
                .iter()
                .any(|r| r.contains("requires an SBOM")),
            "{:?}",
            verdict.reasons
        );
        let mut sbom = ScanOutput::new(Scanner::Sbom);
        sbom.sbom.push(crate::scan::SbomDocument {
            member: None,
            bytes: b"{}".to_vec(),
            component_count: 0,
        });
        assert_eq!(p.evaluate(&[sbom], TODAY).outcome, Outcome::Pass);
    }

    #[test]
    fn external_entries_are_validated_with_locations() {
        let p = policy(
            "[[external]]\nname = \"bandit\"\ncommand = [\"bandit\", \"-o\", \"{out}\"]\ntimeout = \"90s\"\nrules = { \"B602\" = \"critical\" }\nlevels = { note = \"info\" }\n[[external]]\nname = \"codeql\"\nsarif = \"out/*.sarif\"\noptional = true\n",
        );
        assert_eq!(p.external.len(), 2);
        let bandit = &p.external[0];
        assert_eq!(bandit.timeout, Duration::from_secs(90));
        assert_eq!(bandit.rules["B602"], Severity::Critical);
        assert_eq!(bandit.levels.note, Severity::Info);
        assert_eq!(bandit.levels.error, Severity::High);
        assert!(!bandit.optional);
        assert_eq!(p.external[1].timeout, DEFAULT_EXTERNAL_TIMEOUT);
        assert_eq!(
            p.external[1].source,
            ExternalSource::Files("out/*.sarif".into())
        );
        for (text, line, needle) in [
            ("[[external]]\nname = \"Bandit\"\nsarif = \"x\"\n", 2, "kebab-case"),
            ("[[external]]\nname = \"a\"\nsarif = \"x\"\n[[external]]\nname = \"a\"\nsarif = \"y\"\n", 5, "used twice"),
            ("[[external]]\nname = \"a\"\nsarif = \"x\"\ncommand = [\"b\"]\n", 4, "not both"),
            ("[[external]]\nname = \"a\"\n", 1, "missing `sarif`"),
            ("[[external]]\nname = \"a\"\ncommand = []\n", 3, "needs a program"),
            ("[[external]]\nname = \"a\"\nsarif = \"x\"\ntimeout = \"soon\"\n", 4, "soon"),
            ("[[external]]\nname = \"a\"\nsarif = \"x\"\nlevels = { error = \"severe\" }\n", 4, "severe"),
            ("[[external]]\nname = \"a\"\nsarif = \"x\"\nshell = true\n", 4, "shell"),
        ] {
            let err = Policy::from_toml("p.toml", text).unwrap_err();
            assert_eq!(err.line, line, "{text}: {err}");
            assert!(err.message.contains(needle), "{text}: {err}");
        }
    }

    #[test]
    fn external_thresholds_fall_back_to_defaults_then_global() {
        use crate::scan::ExternalRun;
        let p = policy("fail-on = \"critical\"\n[external-defaults]\nfail-on = \"medium\"\n[[external]]\nname = \"a\"\nsarif = \"x\"\nfail-on = \"low\"\n[[external]]\nname = \"b\"\nsarif = \"y\"\n");
        let out = |name: &str| {
            let mut output = ScanOutput::new(Scanner::External);
            output.tool = Some(ExternalRun {
                name: name.into(),
                key: name.into(),
                driver: serde_json::Value::Null,
            });
            output
        };
        assert_eq!(
            p.threshold_for_output(&out("a")),
            Threshold::AtLeast(Severity::Low)
        );
        assert_eq!(
            p.threshold_for_output(&out("b")),
            Threshold::AtLeast(Severity::Medium)
        );
        assert_eq!(
            p.threshold_for(Scanner::Secrets),
            Threshold::AtLeast(Severity::Critical)
        );
        let mut overridden = p.clone();
        overridden.override_fail_on(Threshold::Never);
        assert_eq!(overridden.threshold_for_output(&out("a")), Threshold::Never);
    }
}
