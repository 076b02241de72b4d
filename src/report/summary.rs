//! The short human summary printed on stderr.

use crate::finding::{Scanner, Severity};
use crate::policy::{Outcome, Verdict};
use crate::scan::ScanOutput;
use std::fmt::Write;
use std::path::Path;

/// How many of the most severe findings the summary lists.
const TOP_FINDINGS: usize = 10;

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
            let _ = writeln!(text, "  {:<11} {}", "", paint.dim(note));
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
                f.finding.message
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
    let suppressed = verdict
        .findings
        .iter()
        .filter(|f| f.suppression.is_some())
        .count();
    if suppressed > 0 {
        let _ = writeln!(text, "\n{suppressed} finding(s) suppressed (ignores with reasons, inline allows): kept in the SARIF as suppressed.");
    }
    if !verdict.warnings.is_empty() {
        let _ = writeln!(text, "\nWarnings:");
        for warning in &verdict.warnings {
            let _ = writeln!(text, "  - {warning}");
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
        let _ = writeln!(text, "  - {reason}");
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

fn scanner_line(output: &ScanOutput, verdict: &Verdict) -> String {
    if let Some(error) = &output.error {
        return format!("could not check: {error}");
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
