//! The gate: the one place that turns scanner outputs into a verdict. Its
//! rules (thresholds, grades, ignores, what a stale database, an unreadable
//! path or an optional tool's failure does) come from the policy; scanners
//! never see them, and writers render the verdict without deciding it.

pub mod ignore;
pub mod verdict;

use crate::advisory::rustsec::checkout::FetchAge;
use crate::advisory::DatabaseInfo;
use crate::baseline::Baseline;
use crate::config::{
    DevOnlyAction, ScannerErrorAction, StaleAction, Threshold, UncheckedAction, UnreadableAction,
};
use crate::duration::format_duration;
use crate::finding::{Finding, Scanner, Severity, SuppressionHint, DEPENDENCY_KIND, KIND};
use crate::inventory::DependencyKind;
use crate::scan::lockfiles::{self, UncheckedFile};
use crate::scan::output::ScanOutput;
use crate::scan::secrets::validation::{State as ValidationState, VALIDATION};
use crate::text::abbreviate;
use ignore::Ignore;
use std::collections::BTreeMap;
use std::time::Duration;
use time::Date;
use verdict::{
    EvaluatedFinding, Outcome, RunProblem, Suppression, SuppressionKind, Verdict,
    BASELINE_SUPPRESSION,
};

/// The release profile's name (it adds built-in rules).
pub const RELEASE_PROFILE: &str = "release";

/// How advisories without a CVSS score are graded: by kind.
#[derive(Clone, Debug, PartialEq)]
pub struct AdvisoryGrades {
    /// A malicious package (OSV `MAL-` records).
    pub malicious: Severity,
    pub unsound: Severity,
    pub unmaintained: Severity,
    /// Other informational advisories.
    pub notice: Severity,
    /// A dependency version yanked from its registry.
    pub yanked: Severity,
}

/// How a validated secret is graded; `None` keeps the rule's severity.
#[derive(Clone, Debug, PartialEq)]
pub struct ValidationGrades {
    /// Its provider accepted it: live.
    pub valid: Option<Severity>,
    /// Its provider rejected it: revoked or wrong.
    pub invalid: Option<Severity>,
    /// No answer (timeout, rate limit, 5xx, a redirect not followed).
    pub unknown: Option<Severity>,
}

impl ValidationGrades {
    /// The severity a finding with this validation counts at, if changed.
    pub fn grade(&self, state: ValidationState) -> Option<Severity> {
        match state {
            ValidationState::Valid => self.valid,
            ValidationState::Invalid => self.invalid,
            ValidationState::Unknown => self.unknown,
        }
    }
}

/// A secrets finding's validation outcome, when it was validated.
fn validation_of(scanner: Scanner, finding: &Finding) -> Option<ValidationState> {
    if scanner != Scanner::Secrets {
        return None;
    }
    finding
        .properties
        .get(VALIDATION)
        .and_then(|v| v.as_str())
        .and_then(ValidationState::parse)
}

/// `path:line` of a finding, for warnings.
fn location_of(finding: &Finding) -> String {
    finding
        .location
        .as_ref()
        .map(|l| format!("{}:{}", l.path, l.start_line))
        .unwrap_or_default()
}

impl Default for ValidationGrades {
    fn default() -> Self {
        ValidationGrades {
            valid: Some(Severity::Critical),
            invalid: Some(Severity::Low),
            unknown: None,
        }
    }
}

/// An `[[external]]` tool's own rules.
#[derive(Clone, Debug, PartialEq)]
pub struct ExternalRules {
    pub name: String,
    /// A failure is a warning, not a scanner error.
    pub optional: bool,
    pub fail_on: Option<Threshold>,
}

/// Everything the gate judges by.
#[derive(Clone, Debug)]
pub struct GateRules {
    /// Where the policy came from, for messages.
    pub source: String,
    /// The `--profile` in use.
    pub profile: Option<String>,
    pub fail_on: Threshold,
    pub scanner_fail_on: BTreeMap<Scanner, Threshold>,
    /// How a finding with no severity counts.
    pub unknown_severity: Severity,
    pub on_scanner_error: ScannerErrorAction,
    pub grades: AdvisoryGrades,
    pub dev_only: DevOnlyAction,
    /// An older advisory database is stale.
    pub db_max_age: Duration,
    pub db_stale: StaleAction,
    pub unchecked_ecosystems: UncheckedAction,
    /// Whether `secgate:allow` comments suppress.
    pub allow_inline: bool,
    /// How validated secrets are graded.
    pub validation: ValidationGrades,
    pub on_unreadable: UnreadableAction,
    pub ignores: Vec<Ignore>,
    pub external: Vec<ExternalRules>,
    /// `[external-defaults] fail-on`: for every external tool without its own.
    pub external_fail_on: Option<Threshold>,
    /// The gate needs a written SBOM (the release profile).
    pub require_sbom: bool,
}

impl GateRules {
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
                .external_rules(&run.name)
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

    fn external_rules(&self, name: &str) -> Option<&ExternalRules> {
        self.external.iter().find(|t| t.name == name)
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

    /// The severity a finding counts at, and whether it was unknown: a
    /// scanner's own, else by kind (informational advisories, yanked
    /// versions), else `unknown-severity` (an unscored vulnerability).
    fn severity_of(&self, scanner: Scanner, finding: &Finding) -> (Severity, bool) {
        if let Some(severity) = finding.severity {
            return (severity, false);
        }
        let kind = finding.properties.get(KIND).and_then(|v| v.as_str());
        let graded = match (scanner, kind) {
            (Scanner::Advisories, Some("malicious")) => Some(self.grades.malicious),
            (Scanner::Advisories, Some("unsound")) => Some(self.grades.unsound),
            (Scanner::Advisories, Some("unmaintained")) => Some(self.grades.unmaintained),
            (Scanner::Advisories, Some("yanked")) => Some(self.grades.yanked),
            (Scanner::Advisories, Some("vulnerability")) | (_, None) => None,
            (Scanner::Advisories, Some(_)) => Some(self.grades.notice),
            _ => None,
        };
        match graded {
            Some(severity) => (severity, false),
            None => (self.unknown_severity, true),
        }
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
        let mut problems: Vec<RunProblem> = Vec::new();
        // Failing findings per (scanner, external run), with the threshold used.
        let mut per_output: BTreeMap<(Scanner, Option<String>), (usize, Threshold)> =
            BTreeMap::new();
        for output in outputs {
            problems.extend(self.run_problems(output));
            warnings.extend(
                output
                    .warnings
                    .iter()
                    .map(|w| format!("{}: {w}", output.label())),
            );
            let threshold = self.threshold_for_output(output);
            let label = (output.scanner, output.tool.as_ref().map(|t| t.key.clone()));
            for finding in &output.findings {
                let (mut severity, severity_was_unknown) =
                    self.severity_of(output.scanner, finding);
                let validation = validation_of(output.scanner, finding);
                if let Some(graded) = validation.and_then(|state| self.validation.grade(state)) {
                    severity = graded;
                }
                let live = validation == Some(ValidationState::Valid);
                let mut suppression = None;
                // A dev-only dependency is never shipped: by default it is
                // reported, at info, and cannot fail the gate. Malware is
                // not lowered: installing it runs it, on developers' machines
                // and in CI.
                let malicious =
                    finding.properties.get(KIND).and_then(|v| v.as_str()) == Some("malicious");
                let dev_only = output.scanner == Scanner::Advisories
                    && !malicious
                    && finding
                        .properties
                        .get(DEPENDENCY_KIND)
                        .and_then(|v| v.as_str())
                        == Some(DependencyKind::DevOnly.as_str());
                let mut never_fails = false;
                if dev_only {
                    match self.dev_only {
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
                    if self.allow_inline {
                        suppression = Some(Suppression {
                            kind: SuppressionKind::Inline,
                            justification: "secgate:allow comment in the source".to_string(),
                        });
                    } else {
                        warnings.push(format!(
                            "{}: inline secgate:allow ignored (allow-inline = false in {})",
                            location_of(finding),
                            self.source
                        ));
                    }
                }
                if let Some(baseline) = baseline {
                    if suppression.is_none() && baseline.knows(finding) {
                        if live {
                            // Existing is no excuse for working: a live
                            // credential is reported however old it is.
                            warnings.push(format!(
                                "{}: {} in the baseline is live{}: reported as new",
                                location_of(finding),
                                finding.rule_id,
                                if baseline.recorded_invalid(finding) {
                                    " again (it was invalid when baselined)"
                                } else {
                                    ""
                                }
                            ));
                        } else {
                            suppression = Some(Suppression {
                                kind: SuppressionKind::Baseline,
                                justification: format!("{BASELINE_SUPPRESSION}{}", baseline.source),
                            });
                        }
                    }
                }
                if live && suppression.is_some() {
                    warnings.push(format!(
                        "{}: {} is live (its provider accepted it) but suppressed: rotate it",
                        location_of(finding),
                        finding.rule_id
                    ));
                }
                let fails = suppression.is_none() && !never_fails && threshold.fails(severity);
                if fails {
                    let entry = per_output.entry(label.clone()).or_insert((0, threshold));
                    entry.0 += 1;
                }
                findings.push(EvaluatedFinding {
                    finding: finding.clone(),
                    severity,
                    severity_was_unknown,
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
        let blocking_errors = problems.iter().any(|p| p.blocking);
        for problem in &problems {
            if problem.blocking {
                reasons.push(problem.statement.clone());
            } else {
                warnings.push(problem.statement.clone());
            }
        }
        let incomplete = self.judge_unchecked(outputs, &mut warnings, &mut reasons);
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
            run_problems: problems,
            warnings,
            reasons,
        }
    }

    /// What stops a run from vouching for its part, or deserves a warning:
    /// its error (fails closed unless `on-scanner-error = "warn"` or the
    /// tool is optional), a stale database, paths it could not read.
    fn run_problems(&self, output: &ScanOutput) -> Vec<RunProblem> {
        let label = output.label();
        let mut problems = Vec::new();
        let scanner_error = |text: String, tolerated_because: Option<&str>| {
            let tolerated = tolerated_because.or(match self.on_scanner_error {
                ScannerErrorAction::Warn => Some("on-scanner-error = \"warn\""),
                ScannerErrorAction::Fail => None,
            });
            let statement = match tolerated {
                Some(why) => format!("scanner {} could not check: {text} ({why})", output.scanner),
                None => format!("scanner {} could not check: {text}", output.scanner),
            };
            RunProblem {
                label: label.clone(),
                text: format!("{label} could not check: {text}"),
                statement,
                blocking: tolerated.is_none(),
            }
        };
        if let Some(error) = &output.error {
            let optional = output
                .tool
                .as_ref()
                .and_then(|run| self.external_rules(&run.name))
                .is_some_and(|t| t.optional);
            problems.push(scanner_error(
                error.clone(),
                optional.then_some("optional = true: not a scanner error"),
            ));
        }
        for database in &output.databases {
            if let Some(problem) = self.staleness(database) {
                // Which one, once there are several.
                let problem = match output.databases.len() {
                    1 => problem,
                    _ => format!("{}: {problem}", database.source),
                };
                match self.db_stale {
                    StaleAction::Warn => problems.push(RunProblem {
                        label: label.clone(),
                        statement: format!("{label}: {problem}"),
                        text: problem,
                        blocking: false,
                    }),
                    StaleAction::Fail => {
                        problems.push(scanner_error(format!("stale database: {problem}"), None))
                    }
                }
            }
        }
        if !output.unreadable.is_empty() {
            let mut unreadable = output.unreadable.clone();
            unreadable.sort();
            let problem = format!(
                "{} path(s) could not be read: {}",
                unreadable.len(),
                abbreviate(&unreadable)
            );
            match self.on_unreadable {
                UnreadableAction::Warn => problems.push(RunProblem {
                    label: label.clone(),
                    statement: format!("{label}: {problem}"),
                    text: problem,
                    blocking: false,
                }),
                UnreadableAction::Fail => problems.push(scanner_error(
                    format!("{problem} ({label}.on-unreadable = \"fail\"; \"warn\" lets the findings decide)"),
                    None,
                )),
            }
        }
        problems
    }

    /// Why `database` is too old to vouch for a check, if it is: older than
    /// `db.max-age`, or fetched (so its record says) in the future.
    fn staleness(&self, database: &DatabaseInfo) -> Option<String> {
        let max_age = format_duration(self.db_max_age);
        let age = match (database.age, &database.fetched_at) {
            (None, _) | (Some(FetchAge::Future), None) => return None,
            (Some(FetchAge::Future), Some(fetched_at)) => {
                return Some(format!(
                    "the fetch record {} says the advisory database was fetched at {fetched_at}, in the future: counted as stale (db.max-age = {max_age}): run `secgate db update`",
                    database.record_path.as_deref().unwrap_or("")
                ));
            }
            (Some(FetchAge::Ago(age)), _) => age,
        };
        if age <= self.db_max_age {
            return None;
        }
        let newest = database.newest_advisory.as_deref().unwrap_or("unknown");
        // Without a fetch record the date, not a running age, keeps the SARIF reproducible.
        Some(if database.fetched_at.is_some() {
            format!(
                "the advisory database was fetched {} ago, more than db.max-age = {max_age}: run `secgate db update`",
                format_duration(age)
            )
        } else {
            format!(
                "the advisory database's newest advisory is from {newest}, more than db.max-age = {max_age} ago: {}",
                if database.explicit {
                    format!("update {}", database.named_by)
                } else {
                    "run `secgate db update`".to_string()
                }
            )
        })
    }

    /// Dependency files found and not checked: a warning, or (policy
    /// "fail") an incomplete check. Returns whether it is incomplete.
    fn judge_unchecked(
        &self,
        outputs: &[ScanOutput],
        warnings: &mut Vec<String>,
        reasons: &mut Vec<String>,
    ) -> bool {
        let unchecked: Vec<UncheckedFile> = outputs
            .iter()
            .flat_map(|o| o.unchecked.iter().cloned())
            .collect();
        if unchecked.is_empty() {
            return false;
        }
        let problem = format!(
            "{} dependency file{} found, not checked ({})",
            unchecked.len(),
            if unchecked.len() == 1 { "" } else { "s" },
            lockfiles::count_by_ecosystem(&unchecked)
        );
        match self.unchecked_ecosystems {
            UncheckedAction::Warn => {
                warnings.push(format!(
                    "advisories: {problem} (advisories.unchecked-ecosystems = \"warn\")"
                ));
                false
            }
            UncheckedAction::Fail => {
                reasons.push(format!(
                    "{problem} (advisories.unchecked-ecosystems = \"fail\"; exclude them with advisories.exclude, or \"warn\")"
                ));
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::PolicyError;
    use crate::finding::Location;
    use crate::policy::Policy;
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

    fn release(text: &str) -> Result<Policy, PolicyError> {
        Policy::from_toml_with_profile("p.toml", text, Some("release"), TODAY)
    }

    #[test]
    fn threshold_decides_pass_or_violation() {
        let outputs = [output(
            Scanner::Advisories,
            vec![finding(Scanner::Advisories, "A", Some(Severity::Medium))],
        )];
        assert_eq!(
            policy("fail-on = \"high\"")
                .gate
                .evaluate(&outputs, TODAY)
                .outcome,
            Outcome::Pass
        );
        let verdict = policy("fail-on = \"medium\"")
            .gate
            .evaluate(&outputs, TODAY);
        assert_eq!(verdict.outcome, Outcome::Violated);
        assert_eq!(verdict.failing, 1);
        assert_eq!(
            policy("fail-on = \"none\"")
                .gate
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
            .gate
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
        assert_eq!(p.gate.evaluate(&outputs, TODAY).outcome, Outcome::Violated);
        p.override_fail_on(Threshold::Never);
        assert_eq!(p.gate.evaluate(&outputs, TODAY).outcome, Outcome::Pass);
    }

    #[test]
    fn unknown_severity_fails_closed_by_default() {
        let outputs = [output(
            Scanner::Advisories,
            vec![finding(Scanner::Advisories, "A", None)],
        )];
        let verdict = policy("").gate.evaluate(&outputs, TODAY);
        assert_eq!(verdict.outcome, Outcome::Violated);
        assert_eq!(verdict.findings[0].severity, Severity::High);
        assert!(verdict.findings[0].severity_was_unknown);
        let lenient = policy("unknown-severity = \"low\"")
            .gate
            .evaluate(&outputs, TODAY);
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
            let verdict = p.gate.evaluate(&outputs, TODAY);
            assert_eq!(verdict.outcome, Outcome::Pass, "{id}");
            let suppression = verdict.findings[0].suppression.as_ref().unwrap();
            assert_eq!(suppression.justification, "not reachable");
            assert!(verdict.warnings.is_empty(), "{:?}", verdict.warnings);
        }
        let by_package =
            policy("[[ignore]]\nid = \"RUSTSEC-1\"\npackage = \"hyper@0.14.1\"\nreason = \"r\"\n");
        assert_eq!(
            by_package.gate.evaluate(&outputs, TODAY).outcome,
            Outcome::Pass
        );
        let other_package =
            policy("[[ignore]]\nid = \"RUSTSEC-1\"\npackage = \"h2\"\nreason = \"r\"\n");
        let verdict = other_package.gate.evaluate(&outputs, TODAY);
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
        assert_eq!(hit.gate.evaluate(&outputs, TODAY).outcome, Outcome::Pass);
        let miss = policy("[[ignore]]\nid = \"S\"\npath = \"src/**\"\nreason = \"r\"\n");
        assert_eq!(
            miss.gate.evaluate(&outputs, TODAY).outcome,
            Outcome::Violated
        );
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
        let verdict = p.gate.evaluate(&outputs, TODAY);
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
        assert_eq!(p.gate.evaluate(&outputs, TODAY).outcome, Outcome::Pass);
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
        let verdict = policy("").gate.evaluate(&outputs, TODAY);
        assert_eq!(verdict.outcome, Outcome::CouldNotCheck);
        assert_eq!(
            verdict.failing, 1,
            "the other scanner's findings still count"
        );
        let verdict = policy("on-scanner-error = \"warn\"")
            .gate
            .evaluate(&outputs, TODAY);
        assert_eq!(verdict.outcome, Outcome::Violated);
    }

    #[test]
    fn dev_only_advisories_never_fail_by_default() {
        let mut f = finding(Scanner::Advisories, "RUSTSEC-1", Some(Severity::Critical));
        f.properties.insert(
            DEPENDENCY_KIND.to_string(),
            serde_json::json!(DependencyKind::DevOnly.as_str()),
        );
        let outputs = [output(Scanner::Advisories, vec![f])];
        let verdict = policy("fail-on = \"info\"").gate.evaluate(&outputs, TODAY);
        assert_eq!(verdict.outcome, Outcome::Pass);
        assert_eq!(verdict.findings[0].severity, Severity::Info);
        assert!(verdict.findings[0].suppression.is_none(), "still reported");
        let report = policy("[advisories]\ndev-only = \"report\"\n")
            .gate
            .evaluate(&outputs, TODAY);
        assert_eq!(report.outcome, Outcome::Violated);
        let ignore = policy("[advisories]\ndev-only = \"ignore\"\n")
            .gate
            .evaluate(&outputs, TODAY);
        assert_eq!(ignore.outcome, Outcome::Pass);
        assert!(ignore.findings[0].suppression.is_some());
    }

    #[test]
    fn malware_is_critical_by_default_and_never_lowered_as_dev_only() {
        let mut f = finding(Scanner::Advisories, "MAL-2022-1", None);
        f.properties
            .insert(KIND.to_string(), serde_json::json!("malicious"));
        f.properties.insert(
            DEPENDENCY_KIND.to_string(),
            serde_json::json!(DependencyKind::DevOnly.as_str()),
        );
        let outputs = [output(Scanner::Advisories, vec![f])];
        let verdict = policy("").gate.evaluate(&outputs, TODAY);
        assert_eq!(verdict.outcome, Outcome::Violated);
        assert_eq!(verdict.findings[0].severity, Severity::Critical);
        let graded = policy("[advisories]\nmalicious = \"high\"\n")
            .gate
            .evaluate(&outputs, TODAY);
        assert_eq!(graded.findings[0].severity, Severity::High);
    }

    #[test]
    fn inline_allow_honoured_only_when_policy_allows() {
        let mut f = finding(Scanner::Secrets, "S", Some(Severity::High));
        f.suppression_hint = Some(SuppressionHint::InlineAllow);
        let outputs = [output(Scanner::Secrets, vec![f])];
        assert_eq!(
            policy("").gate.evaluate(&outputs, TODAY).outcome,
            Outcome::Pass
        );
        let strict = policy("[secrets]\nallow-inline = false\n")
            .gate
            .evaluate(&outputs, TODAY);
        assert_eq!(strict.outcome, Outcome::Violated);
    }

    #[test]
    fn findings_come_out_sorted() {
        let mut a = finding(Scanner::Secrets, "B", Some(Severity::Low));
        a.location = Some(Location::line("z.txt", 1));
        let mut b = finding(Scanner::Secrets, "A", Some(Severity::Low));
        b.location = Some(Location::line("a.txt", 9));
        let outputs = [output(Scanner::Secrets, vec![a, b])];
        let verdict = policy("").gate.evaluate(&outputs, TODAY);
        let paths: Vec<_> = verdict
            .findings
            .iter()
            .map(|f| f.finding.location.as_ref().unwrap().path.as_str())
            .collect();
        assert_eq!(paths, ["a.txt", "z.txt"]);
    }

    #[test]
    fn release_profile_needs_a_written_sbom() {
        let p = release("").unwrap();
        let verdict = p.gate.evaluate(&[output(Scanner::Secrets, vec![])], TODAY);
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
        sbom.sbom.push(crate::scan::output::SbomDocument {
            member: None,
            bytes: b"{}".to_vec(),
            component_count: 0,
        });
        assert_eq!(p.gate.evaluate(&[sbom], TODAY).outcome, Outcome::Pass);
    }

    #[test]
    fn external_thresholds_fall_back_to_defaults_then_global() {
        use crate::scan::output::ExternalRun;
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
            p.gate.threshold_for_output(&out("a")),
            Threshold::AtLeast(Severity::Low)
        );
        assert_eq!(
            p.gate.threshold_for_output(&out("b")),
            Threshold::AtLeast(Severity::Medium)
        );
        assert_eq!(
            p.gate.threshold_for(Scanner::Secrets),
            Threshold::AtLeast(Severity::Critical)
        );
        let mut overridden = p.clone();
        overridden.override_fail_on(Threshold::Never);
        assert_eq!(
            overridden.gate.threshold_for_output(&out("a")),
            Threshold::Never
        );
    }
}
