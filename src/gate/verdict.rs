//! The gate's verdict: the outcome, every finding with the severity it was
//! counted at and its suppression, and why.

use crate::finding::{Finding, Severity};

/// How a baseline suppression's justification starts; the baseline's
/// source (a file, "the base <rev>") follows.
pub const BASELINE_SUPPRESSION: &str = "existing finding, in baseline ";

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

/// What the gate says about a run beyond its findings: a scanner error,
/// a stale database, paths it could not read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunProblem {
    /// The output's label (`advisories`, `external/bandit`).
    pub label: String,
    /// As the run's own notification says it (SARIF).
    pub text: String,
    /// As the verdict's reasons or warnings say it, naming the run.
    pub statement: String,
    /// Whether it makes the gate unable to vouch (exit 2); else a warning.
    pub blocking: bool,
}

#[derive(Debug)]
pub struct Verdict {
    pub outcome: Outcome,
    /// Every finding, suppressed ones included, in deterministic order.
    pub findings: Vec<EvaluatedFinding>,
    pub failing: usize,
    /// The gate's judgement of each run's problems, for the SARIF.
    pub run_problems: Vec<RunProblem>,
    pub warnings: Vec<String>,
    /// Why the outcome is what it is.
    pub reasons: Vec<String>,
}
