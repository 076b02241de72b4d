//! The short human summary printed on stderr.

use crate::finding::{Scanner, Severity};
use crate::gate::verdict::{
    EvaluatedFinding, Outcome, SuppressionKind, Verdict, BASELINE_SUPPRESSION,
};
use crate::scan::output::ScanOutput;
use crate::text::one_line;
use std::fmt::Write;
use std::path::Path;

/// How many of the most severe findings the summary lists.
const TOP_FINDINGS: usize = 10;
/// How many unchecked dependency files the summary lists.
const UNCHECKED_SHOWN: usize = 10;

pub struct SummaryOptions<'a> {
    pub root: &'a Path,
    pub policy_source: &'a str,
    pub sarif: Option<&'a Path>,
    pub sbom: Option<&'a Path>,
    pub color: bool,
}

pub fn render(outputs: &[ScanOutput], verdict: &Verdict, options: &SummaryOptions) -> String {
    let paint = Paint { on: options.color };
    let mut text = String::new();
    let _ = writeln!(
        text,
        "{} {} on {} (policy: {})",
        paint.bold("secgate"),
        env!("CARGO_PKG_VERSION"),
        options.root.display(),
        options.policy_source
    );
    for output in outputs {
        let _ = writeln!(
            text,
            "  {:<11} {}",
            output.label(),
            scanner_line(output, verdict)
        );
        for note in &output.notes {
            let _ = writeln!(text, "  {:<11} {}", "", paint.dim(&one_line(note)));
        }
    }

    let mut shown: Vec<_> = verdict
        .findings
        .iter()
        .filter(|f| f.suppression.is_none())
        .collect();
    shown.sort_by_key(|f| std::cmp::Reverse((f.fails, f.severity)));
    if !shown.is_empty() {
        let _ = writeln!(text, "\nMost severe findings:");
        for f in shown.iter().take(TOP_FINDINGS) {
            let location = f
                .finding
                .location
                .as_ref()
                .map(|l| format!("{}:{}", l.path, l.start_line))
                .unwrap_or_default();
            let label = format!("{:<8}", f.severity.as_str().to_uppercase());
            let _ = writeln!(
                text,
                "  {} {:<10} {}  {}",
                paint.severity(f.severity, &label),
                f.finding.scanner.as_str(),
                location,
                one_line(&f.message())
            );
        }
        if shown.len() > TOP_FINDINGS {
            let _ = writeln!(
                text,
                "  … and {} more in the SARIF file",
                shown.len() - TOP_FINDINGS
            );
        }
    }
    let unchecked: Vec<_> = outputs.iter().flat_map(|o| &o.unchecked).collect();
    if !unchecked.is_empty() {
        let _ = writeln!(
            text,
            "\nFound, not checked ({} dependency file{}; advisories.unchecked-ecosystems decides):",
            unchecked.len(),
            if unchecked.len() == 1 { "" } else { "s" }
        );
        for file in unchecked.iter().take(UNCHECKED_SHOWN) {
            let _ = writeln!(
                text,
                "  {:<11} {}  ({})",
                file.ecosystem, file.path, file.reason
            );
        }
        if unchecked.len() > UNCHECKED_SHOWN {
            let _ = writeln!(text, "  … and {} more", unchecked.len() - UNCHECKED_SHOWN);
        }
    }
    if let Some(line) = suppressed_line(verdict, options.sarif.is_some()) {
        let _ = writeln!(text, "\n{line}");
    }
    if !verdict.warnings.is_empty() {
        let _ = writeln!(text, "\nWarnings:");
        for warning in &verdict.warnings {
            let _ = writeln!(text, "  - {}", one_line(warning));
        }
    }
    let (label, meaning) = match verdict.outcome {
        Outcome::Pass => (
            paint.green("PASS"),
            "no finding at or above the policy's thresholds",
        ),
        Outcome::Violated => (paint.red("FAIL"), "policy violated"),
        Outcome::CouldNotCheck => (paint.red("ERROR"), "could not check; the gate fails closed"),
    };
    let _ = writeln!(text, "\nVerdict: {label} ({meaning})");
    for reason in &verdict.reasons {
        let _ = writeln!(text, "  - {}", one_line(reason));
    }
    let mut written = Vec::new();
    if let Some(path) = options.sarif {
        written.push(format!("SARIF: {}", path.display()));
    }
    if let Some(path) = options.sbom {
        written.push(format!("SBOM: {}", path.display()));
    }
    if !written.is_empty() {
        let _ = writeln!(text, "{}", written.join("   "));
    }
    text
}

/// How many findings were suppressed, by what: `[[ignore]]` entries, inline
/// allows, the baseline (named), the dev-only policy.
pub fn suppressed_line(verdict: &Verdict, sarif_written: bool) -> Option<String> {
    let mut policy = 0;
    let mut inline = 0;
    let mut baselines: Vec<(&str, usize)> = Vec::new();
    for finding in &verdict.findings {
        let Some(suppression) = &finding.suppression else {
            continue;
        };
        match suppression.kind {
            SuppressionKind::Policy => policy += 1,
            SuppressionKind::Inline => inline += 1,
            SuppressionKind::Baseline => {
                let justification = suppression.justification.as_str();
                let source = justification
                    .strip_prefix(BASELINE_SUPPRESSION)
                    .unwrap_or(justification);
                match baselines.iter_mut().find(|(s, _)| *s == source) {
                    Some((_, n)) => *n += 1,
                    None => baselines.push((source, 1)),
                }
            }
        }
    }
    let total = policy + inline + baselines.iter().map(|(_, n)| n).sum::<usize>();
    if total == 0 {
        return None;
    }
    let mut parts = Vec::new();
    if policy > 0 {
        parts.push(format!(
            "{policy} by the policy (ignores with reasons, dev-only)"
        ));
    }
    if inline > 0 {
        parts.push(format!("{inline} by inline secgate:allow comments"));
    }
    for (source, n) in baselines {
        parts.push(format!("{n} existing (baseline: {source})"));
    }
    Some(format!(
        "{total} finding{} suppressed: {}{}",
        if total == 1 { "" } else { "s" },
        parts.join("; "),
        if sarif_written {
            "; kept in the SARIF as suppressed."
        } else {
            "."
        }
    ))
}

/// What a blocked local hook needs to say beyond the summary.
pub struct BlockedOptions<'a> {
    pub policy_source: &'a str,
    /// Whether `secgate:allow` comments are honoured (`allow-inline`).
    pub allow_inline: bool,
    /// Where the hook wrote its SARIF, if it could.
    pub sarif: Option<&'a Path>,
}

/// For a blocked push or commit: each failing finding by rule, place,
/// redacted value and fingerprint, and the ways forward.
pub fn blocked(verdict: &Verdict, options: &BlockedOptions) -> String {
    let mut failing: Vec<&EvaluatedFinding> = verdict.findings.iter().filter(|f| f.fails).collect();
    // Most severe first; the verdict's order among equals (stable sort).
    failing.sort_by_key(|f| std::cmp::Reverse(f.severity));
    let mut text = String::new();
    let _ = writeln!(
        text,
        "\nBlocked: {} finding{} fail{} the gate.",
        failing.len(),
        if failing.len() == 1 { "" } else { "s" },
        if failing.len() == 1 { "s" } else { "" }
    );
    for f in &failing {
        let finding = &f.finding;
        let location = finding
            .location
            .as_ref()
            .map(|l| format!("{}:{}", l.path, l.start_line))
            .unwrap_or_default();
        let what = match finding.scanner {
            Scanner::Secrets => {
                let redacted = finding
                    .properties
                    .get("redacted")
                    .and_then(|v| v.as_str())
                    .unwrap_or("");
                match finding
                    .properties
                    .get("validation")
                    .and_then(|v| v.as_str())
                {
                    Some(state) => format!("{redacted} [validation: {state}]"),
                    None => redacted.to_string(),
                }
            }
            _ => finding
                .properties
                .get("package-version")
                .and_then(|v| v.as_str())
                .map(str::to_string)
                .or_else(|| finding.package.clone())
                .unwrap_or_default(),
        };
        let _ = writeln!(
            text,
            "  {} {}/{}  {location}  {what}\n      fingerprint {}",
            f.severity.as_str().to_uppercase(),
            finding.scanner,
            finding.rule_id,
            finding.fingerprint
        );
    }
    let secret = failing
        .iter()
        .find(|f| f.finding.scanner == Scanner::Secrets);
    let advisory = failing
        .iter()
        .find(|f| f.finding.scanner == Scanner::Advisories);
    let _ = writeln!(text, "\nWays forward:");
    if secret.is_some() {
        let _ = writeln!(
            text,
            "  - A real credential: revoke it, then remove it from the commits and rewrite them \
             (git commit --amend, or git rebase -i): a later commit deleting it does not unpublish it."
        );
        if options.allow_inline {
            let _ = writeln!(
                text,
                "  - A test value or false positive: add a `secgate:allow` comment on its line or the line above."
            );
        } else {
            let _ = writeln!(
                text,
                "  - Inline `secgate:allow` comments are off in {} (allow-inline = false).",
                options.policy_source
            );
        }
    }
    if let Some(f) = advisory {
        let fix = f
            .finding
            .properties
            .get("smallest-fix")
            .and_then(|v| v.as_str())
            .map(|v| {
                format!(
                    " (e.g. cargo update -p {} --precise {v})",
                    f.finding.package.as_deref().unwrap_or("")
                )
            })
            .unwrap_or_default();
        let _ = writeln!(text, "  - A vulnerable dependency: upgrade it{fix}.");
    }
    if let Some(f) = secret.or(advisory) {
        let finding = &f.finding;
        let (id, extra) = match finding.scanner {
            Scanner::Advisories => (
                finding.rule_id.clone(),
                finding
                    .package
                    .as_ref()
                    .map(|p| format!("\n      package = \"{p}\""))
                    .unwrap_or_default(),
            ),
            _ => (finding.fingerprint.clone(), String::new()),
        };
        let _ = writeln!(
            text,
            "  - Accepted on purpose: record it in {} with a reason, e.g.\n      [[ignore]]\n      id = \"{id}\"{extra}\n      reason = \"why this is acceptable\"",
            options.policy_source
        );
    }
    let _ = writeln!(
        text,
        "  (`git push --no-verify` skips every hook and check once; CI still runs the gate.)"
    );
    if let Some(path) = options.sarif {
        let _ = writeln!(text, "Full report: {}", path.display());
    }
    text
}

fn scanner_line(output: &ScanOutput, verdict: &Verdict) -> String {
    if let Some(error) = &output.error {
        return format!("could not check: {}", one_line(error));
    }
    let findings: Vec<_> = verdict
        .findings
        .iter()
        .filter(|f| output.owns(&f.finding) && f.suppression.is_none())
        .collect();
    if findings.is_empty() {
        return "no findings".to_string();
    }
    let counts: Vec<String> = Severity::ALL
        .iter()
        .filter_map(|&severity| {
            let n = findings.iter().filter(|f| f.severity == severity).count();
            (n > 0).then(|| format!("{n} {severity}"))
        })
        .collect();
    let unknown = findings.iter().filter(|f| f.severity_was_unknown).count();
    let mut line = format!(
        "{} finding{} ({})",
        findings.len(),
        if findings.len() == 1 { "" } else { "s" },
        counts.join(", ")
    );
    if unknown > 0 && output.scanner == Scanner::Advisories {
        line.push_str(&format!(
            ", {unknown} without CVSS counted at unknown-severity"
        ));
    }
    line
}

struct Paint {
    on: bool,
}

impl Paint {
    fn wrap(&self, code: &str, text: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
    fn bold(&self, text: &str) -> String {
        self.wrap("1", text)
    }
    fn dim(&self, text: &str) -> String {
        self.wrap("2", text)
    }
    fn red(&self, text: &str) -> String {
        self.wrap("1;31", text)
    }
    fn green(&self, text: &str) -> String {
        self.wrap("1;32", text)
    }
    fn severity(&self, severity: Severity, text: &str) -> String {
        match severity {
            Severity::Critical | Severity::High => self.red(text),
            Severity::Medium => self.wrap("33", text),
            _ => self.dim(text),
        }
    }
}
