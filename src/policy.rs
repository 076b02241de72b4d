//! The validated policy: a policy file (`config`) checked and split into
//! what each scanner is told (`scan::settings`), what the gate judges by
//! (`gate::GateRules`) and where the advisory database comes from. Errors
//! name the file, line and column.

mod validation;

use crate::config::{
    self, DevOnlyAction, RawDate, RawPolicy, ScannerErrorAction, StaleAction, Threshold,
    UncheckedAction, UnreadableAction,
};
use crate::error::PolicyError;
use crate::finding::{Scanner, Severity};
use crate::gate::ignore::Ignore;
use crate::gate::{AdvisoryGrades, ExternalRules, GateRules, ValidationGrades, RELEASE_PROFILE};
use crate::inventory::Ecosystem;
use crate::scan::secrets::rules::{self, RawRule};
use crate::scan::settings::{
    AdvisorySettings, ExternalSource, ExternalTool, LevelMap, ScanSettings, SecretSettings,
    DEFAULT_EXTERNAL_TIMEOUT,
};
use globset::Glob;
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
    /// The `--profile` in use.
    pub profile: Option<String>,
    /// What the gate judges by.
    pub gate: GateRules,
    /// What each scanner is told.
    pub scan: ScanSettings,
    /// Where the advisory database comes from, and when to refresh it.
    pub db: DbSettings,
}

/// The release profile's built-in rules, stricter than the defaults.
const RELEASE_FAIL_ON: Severity = Severity::Medium;
const RELEASE_DB_MAX_AGE: Duration = Duration::from_secs(86_400);

/// Where the advisory database cache comes from and when `check` refreshes it.
#[derive(Clone, Debug, PartialEq)]
pub struct DbSettings {
    /// `db.url` (the SECGATE_DB_URL environment variable still wins).
    pub url: String,
    pub refresh: Duration,
    /// `db.osv-url`, the base of OSV's `<Ecosystem>/all.zip` archives
    /// (the SECGATE_OSV_URL environment variable still wins).
    pub osv_url: String,
    /// `db.osv-ecosystems`: whose OSV archives `db update` fetches.
    pub osv_ecosystems: Vec<Ecosystem>,
}

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
) -> Result<(Vec<ExternalTool>, Vec<ExternalRules>), PolicyError> {
    let mut tools: Vec<ExternalTool> = Vec::new();
    let mut rules: Vec<ExternalRules> = Vec::new();
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
        rules.push(ExternalRules {
            name: name.clone(),
            optional: entry.optional.unwrap_or(false),
            fail_on: entry.fail_on,
        });
        tools.push(ExternalTool {
            name,
            source: tool_source,
            timeout,
            levels,
            rules: entry.rules,
        });
    }
    Ok((tools, rules))
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            source: DEFAULT_POLICY_NAME.to_string(),
            profile: None,
            gate: GateRules {
                source: DEFAULT_POLICY_NAME.to_string(),
                profile: None,
                fail_on: Threshold::AtLeast(Severity::High),
                scanner_fail_on: BTreeMap::new(),
                unknown_severity: Severity::High,
                on_scanner_error: ScannerErrorAction::Fail,
                grades: AdvisoryGrades {
                    malicious: Severity::Critical,
                    unsound: Severity::Medium,
                    unmaintained: Severity::Low,
                    notice: Severity::Info,
                    yanked: Severity::Low,
                },
                dev_only: DevOnlyAction::Lower,
                db_max_age: Duration::from_secs(7 * 86_400),
                db_stale: StaleAction::Warn,
                unchecked_ecosystems: UncheckedAction::Warn,
                allow_inline: true,
                validation: ValidationGrades::default(),
                // Fail closed: a file we could not read may hold a secret.
                on_unreadable: UnreadableAction::Fail,
                ignores: Vec::new(),
                external: Vec::new(),
                external_fail_on: None,
                require_sbom: false,
            },
            scan: ScanSettings::default(),
            db: DbSettings {
                url: crate::db::DEFAULT_URL.to_string(),
                refresh: Duration::from_secs(86_400),
                osv_url: crate::db::osv::DEFAULT_URL.to_string(),
                osv_ecosystems: Ecosystem::OSV_SOURCED.to_vec(),
            },
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

    fn validate(file: &str, source: &str, mut raw: RawPolicy) -> Result<Policy, PolicyError> {
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
        let db_max_age = duration("max-age", raw.db.max_age, defaults.gate.db_max_age)?;
        let db_url = match raw.db.url {
            None => defaults.db.url,
            Some(url) => crate::db::parse_url("db.url", url.get_ref())
                .map_err(|e| PolicyError::at(file, source, Some(url.span()), e.to_string()))?
                .as_str()
                .to_string(),
        };
        let osv_url = match raw.db.osv_url {
            None => defaults.db.osv_url,
            Some(url) => crate::db::parse_url("db.osv-url", url.get_ref())
                .map_err(|e| PolicyError::at(file, source, Some(url.span()), e.to_string()))?
                .as_str()
                .trim_end_matches('/')
                .to_string(),
        };
        let osv_ecosystems = match raw.db.osv_ecosystems {
            None => defaults.db.osv_ecosystems,
            Some(names) => {
                let span = names.span();
                let mut ecosystems = Vec::new();
                for name in names.into_inner() {
                    match Ecosystem::from_osv_name(&name)
                        .filter(|e| Ecosystem::OSV_SOURCED.contains(e))
                    {
                        Some(ecosystem) if !ecosystems.contains(&ecosystem) => {
                            ecosystems.push(ecosystem)
                        }
                        Some(_) => {}
                        None => {
                            let known: Vec<&str> =
                                Ecosystem::OSV_SOURCED.iter().map(|e| e.as_str()).collect();
                            return Err(PolicyError::at(
                                file,
                                source,
                                Some(span),
                                format!(
                                    "db.osv-ecosystems: `{name}` is not an ecosystem secgate reads from OSV (known: {})",
                                    known.join(", ")
                                ),
                            ));
                        }
                    }
                }
                ecosystems
            }
        };

        let (external, external_rules) = validate_external(file, source, raw.external)?;
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

        let (validation_settings, validation_grades) =
            validation::check(file, source, std::mem::take(&mut raw.secrets.validation))?;
        let gate_defaults = defaults.gate;
        let grades = &gate_defaults.grades;
        Ok(Policy {
            source: file.to_string(),
            profile: None,
            gate: GateRules {
                source: file.to_string(),
                profile: None,
                fail_on: raw.fail_on.unwrap_or(gate_defaults.fail_on),
                scanner_fail_on,
                unknown_severity: raw
                    .unknown_severity
                    .unwrap_or(gate_defaults.unknown_severity),
                on_scanner_error: raw
                    .on_scanner_error
                    .unwrap_or(gate_defaults.on_scanner_error),
                grades: AdvisoryGrades {
                    malicious: raw.advisories.malicious.unwrap_or(grades.malicious),
                    unsound: raw.advisories.unsound.unwrap_or(grades.unsound),
                    unmaintained: raw.advisories.unmaintained.unwrap_or(grades.unmaintained),
                    notice: raw.advisories.notice.unwrap_or(grades.notice),
                    yanked: raw.advisories.yanked.unwrap_or(grades.yanked),
                },
                dev_only: raw.advisories.dev_only.unwrap_or(gate_defaults.dev_only),
                db_max_age,
                db_stale: raw.db.stale.unwrap_or(gate_defaults.db_stale),
                unchecked_ecosystems: raw
                    .advisories
                    .unchecked_ecosystems
                    .unwrap_or(gate_defaults.unchecked_ecosystems),
                allow_inline: raw
                    .secrets
                    .allow_inline
                    .unwrap_or(gate_defaults.allow_inline),
                on_unreadable: raw
                    .secrets
                    .on_unreadable
                    .unwrap_or(gate_defaults.on_unreadable),
                validation: validation_grades,
                ignores,
                external: external_rules,
                external_fail_on: raw.external_defaults.fail_on,
                require_sbom: false,
            },
            scan: ScanSettings {
                advisories: AdvisorySettings {
                    exclude: advisories_exclude,
                },
                secrets: SecretSettings {
                    max_file_size: raw
                        .secrets
                        .max_file_size
                        .unwrap_or(defaults.scan.secrets.max_file_size),
                    scan_node_modules: raw
                        .secrets
                        .scan_node_modules
                        .unwrap_or(defaults.scan.secrets.scan_node_modules),
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
                    validation: validation_settings,
                    recheck: None,
                },
                external,
            },
            db: DbSettings {
                url: db_url,
                refresh: db_refresh,
                osv_url,
                osv_ecosystems,
            },
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
        policy.gate.profile = Some(name.to_string());
        if name != RELEASE_PROFILE {
            return Ok(policy);
        }
        let (fail_on, per_scanner, max_age, stale, on_error) = explicit;
        let stricter = |threshold: Threshold| match threshold {
            Threshold::AtLeast(severity) if severity <= RELEASE_FAIL_ON => threshold,
            _ => Threshold::AtLeast(RELEASE_FAIL_ON),
        };
        if !fail_on {
            policy.gate.fail_on = stricter(policy.gate.fail_on);
        }
        for (scanner, set_by_profile) in per_scanner {
            if !set_by_profile {
                if let Some(threshold) = policy.gate.scanner_fail_on.get_mut(&scanner) {
                    *threshold = stricter(*threshold);
                }
            }
        }
        if !external_set_by_profile {
            policy.gate.external_fail_on = policy.gate.external_fail_on.map(stricter);
            for tool in &mut policy.gate.external {
                tool.fail_on = tool.fail_on.map(stricter);
            }
        }
        if !max_age {
            policy.gate.db_max_age = policy.gate.db_max_age.min(RELEASE_DB_MAX_AGE);
        }
        if !stale {
            policy.gate.db_stale = StaleAction::Fail;
        }
        if !on_error {
            policy.gate.on_scanner_error = ScannerErrorAction::Fail;
        }
        policy.gate.require_sbom = true;
        for ignore in &policy.gate.ignores {
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
        self.gate.override_fail_on(threshold);
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

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;
    const TODAY: Date = date!(2026 - 11 - 23);

    fn policy(text: &str) -> Policy {
        Policy::from_toml("p.toml", text).unwrap()
    }

    fn release(text: &str) -> Result<Policy, PolicyError> {
        Policy::from_toml_with_profile("p.toml", text, Some("release"), TODAY)
    }

    #[test]
    fn builtin_policy_equals_the_coded_defaults() {
        let builtin = Policy::builtin();
        let empty = policy("");
        assert_eq!(builtin.gate.fail_on, empty.gate.fail_on);
        assert_eq!(builtin.gate.unknown_severity, empty.gate.unknown_severity);
        assert_eq!(builtin.gate.on_scanner_error, empty.gate.on_scanner_error);
        assert_eq!(builtin.gate.grades, empty.gate.grades);
        assert_eq!(builtin.scan, empty.scan);
        assert_eq!(builtin.gate.scanner_fail_on, empty.gate.scanner_fail_on);
        assert_eq!(builtin.db, empty.db);
        assert!(builtin.gate.ignores.is_empty());
    }

    #[test]
    fn db_section_parses_durations_and_url() {
        let p = policy(
            "[db]\nurl = \"http://mirror.example/db.tar.gz\"\nrefresh = \"12h\"\nmax-age = \"30d\"\nstale = \"fail\"\n",
        );
        assert_eq!(p.db.url, "http://mirror.example/db.tar.gz");
        assert_eq!(p.db.refresh, Duration::from_secs(12 * 3600));
        assert_eq!(p.gate.db_max_age, Duration::from_secs(30 * 86_400));
        assert_eq!(p.gate.db_stale, StaleAction::Fail);
        let defaults = policy("");
        assert_eq!(defaults.db.url, crate::db::DEFAULT_URL);
        assert_eq!(defaults.db.refresh, Duration::from_secs(86_400));
        assert_eq!(defaults.gate.db_stale, StaleAction::Warn);
        assert_eq!(defaults.db.osv_url, crate::db::osv::DEFAULT_URL);
        assert_eq!(
            defaults.db.osv_ecosystems,
            [Ecosystem::PyPi, Ecosystem::Npm]
        );
    }

    #[test]
    fn db_osv_keys_are_checked() {
        let p = policy("[db]\nosv-url = \"http://mirror.example/osv/\"\nosv-ecosystems = [\"PyPI\", \"PyPI\"]\n");
        assert_eq!(p.db.osv_url, "http://mirror.example/osv");
        assert_eq!(p.db.osv_ecosystems, [Ecosystem::PyPi]);
        assert!(policy("[db]\nosv-ecosystems = []\n")
            .db
            .osv_ecosystems
            .is_empty());
        let err = Policy::from_toml("p.toml", "[db]\nosv-ecosystems = [\"Maven\"]\n").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(
            err.message.contains("`Maven`") && err.message.contains("PyPI"),
            "{err}"
        );
        let err = Policy::from_toml("p.toml", "[db]\nosv-url = \"file:///srv/osv\"\n").unwrap_err();
        assert!(err.message.contains("db.osv-url"), "{err}");
        assert!(err.message.contains("--osv-db DIR"), "{err}");
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
    fn release_profile_is_stricter_by_default() {
        let p = release("").unwrap();
        assert_eq!(p.gate.fail_on, Threshold::AtLeast(Severity::Medium));
        assert_eq!(p.gate.db_max_age, Duration::from_secs(86_400));
        assert_eq!(p.gate.db_stale, StaleAction::Fail);
        assert_eq!(p.gate.on_scanner_error, ScannerErrorAction::Fail);
        assert!(p.gate.require_sbom);
        assert_eq!(p.profile.as_deref(), Some("release"));
        // Never looser than the top level; per-scanner thresholds too.
        let p = release("fail-on = \"low\"\non-scanner-error = \"warn\"\n[secrets]\nfail-on = \"critical\"\n[db]\nmax-age = \"2h\"\n").unwrap();
        assert_eq!(p.gate.fail_on, Threshold::AtLeast(Severity::Low));
        assert_eq!(p.gate.on_scanner_error, ScannerErrorAction::Fail);
        assert_eq!(
            p.gate.threshold_for(Scanner::Secrets),
            Threshold::AtLeast(Severity::Medium)
        );
        assert_eq!(p.gate.db_max_age, Duration::from_secs(2 * 3600));
        // Without --profile the top level alone applies.
        let plain = Policy::from_toml_with_profile(
            "p.toml",
            "[profile.release]\nfail-on = \"info\"\n",
            None,
            TODAY,
        )
        .unwrap();
        assert_eq!(plain.gate.fail_on, Threshold::AtLeast(Severity::High));
        assert!(!plain.gate.require_sbom);
    }

    #[test]
    fn release_profile_table_overrides_and_adds() {
        let p = release(
            "fail-on = \"high\"\n[profile.release]\nfail-on = \"low\"\n[profile.release.db]\nmax-age = \"3d\"\n",
        )
        .unwrap();
        assert_eq!(p.gate.fail_on, Threshold::AtLeast(Severity::Low));
        assert_eq!(p.gate.db_max_age, Duration::from_secs(3 * 86_400));
        assert_eq!(p.gate.db_stale, StaleAction::Fail);
        let err = release("[profile.release]\nfail-onn = \"low\"\n").unwrap_err();
        assert_eq!(err.line, 2, "{err}");
        let other = Policy::from_toml_with_profile(
            "p.toml",
            "[profile.nightly]\nfail-on = \"critical\"\n",
            Some("nightly"),
            TODAY,
        )
        .unwrap();
        assert_eq!(other.gate.fail_on, Threshold::AtLeast(Severity::Critical));
        assert!(!other.gate.require_sbom);
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
    fn external_entries_are_validated_with_locations() {
        let p = policy(
            "[[external]]\nname = \"bandit\"\ncommand = [\"bandit\", \"-o\", \"{out}\"]\ntimeout = \"90s\"\nrules = { \"B602\" = \"critical\" }\nlevels = { note = \"info\" }\n[[external]]\nname = \"codeql\"\nsarif = \"out/*.sarif\"\noptional = true\n",
        );
        assert_eq!(p.scan.external.len(), 2);
        let bandit = &p.scan.external[0];
        assert_eq!(bandit.timeout, Duration::from_secs(90));
        assert_eq!(bandit.rules["B602"], Severity::Critical);
        assert_eq!(bandit.levels.note, Severity::Info);
        assert_eq!(bandit.levels.error, Severity::High);
        assert!(!p.gate.external[0].optional);
        assert!(p.gate.external[1].optional);
        assert_eq!(p.scan.external[1].timeout, DEFAULT_EXTERNAL_TIMEOUT);
        assert_eq!(
            p.scan.external[1].source,
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
}
