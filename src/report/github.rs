//! GitHub Actions output: workflow-command annotations (for stdout) and a
//! markdown job summary (for `$GITHUB_STEP_SUMMARY`). Renders only; the
//! binary prints and appends, and the verdict is decided by the policy.

use crate::finding::{Scanner, Severity};
use crate::gate::verdict::{EvaluatedFinding, Outcome, Verdict};
use crate::scan::output::ScanOutput;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

/// GitHub shows at most 10 annotations of each level per step; we emit at
/// most this many in all, the most severe first.
pub const MAX_ANNOTATIONS: usize = 10;
/// How many findings the markdown summary lists.
const TOP_FINDINGS: usize = 10;

/// Escapes a workflow command's message (data), as GitHub's runner does.
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command's property value (`file=`, `title=`).
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

pub fn command(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "notice",
    }
}

/// Unsuppressed findings, failing ones first, then by severity, then in the
/// verdict's deterministic order.
fn ranked(verdict: &Verdict) -> Vec<&EvaluatedFinding> {
    let mut shown: Vec<_> = verdict
        .findings
        .iter()
        .filter(|f| f.suppression.is_none())
        .collect();
    // Stable sort keeps the verdict's order among equals.
    shown.sort_by_key(|f| std::cmp::Reverse((f.fails, f.severity)));
    shown
}

/// At most `MAX_ANNOTATIONS` lines of `::error file=…,line=…,title=…::message`.
/// `path_prefix` is prepended to finding paths (the scanned root relative to
/// the repository root, with a trailing `/`, or empty).
pub fn annotations(verdict: &Verdict, path_prefix: &str) -> String {
    let mut text = String::new();
    for f in ranked(verdict).into_iter().take(MAX_ANNOTATIONS) {
        let finding = &f.finding;
        let mut properties = Vec::new();
        if let Some(location) = &finding.location {
            properties.push(format!(
                "file={}",
                escape_property(&format!("{path_prefix}{}", location.path))
            ));
            if location.start_line > 0 {
                properties.push(format!("line={}", location.start_line));
                if location.end_line > location.start_line {
                    properties.push(format!("endLine={}", location.end_line));
                }
            }
        }
        properties.push(format!(
            "title={}",
            escape_property(&format!(
                "secgate {} {} ({})",
                finding.scanner, finding.rule_id, f.severity
            ))
        ));
        let _ = writeln!(
            text,
            "::{} {}::{}",
            command(f.severity),
            properties.join(","),
            escape_data(&f.message())
        );
    }
    text
}

pub struct GithubSummaryOptions<'a> {
    pub policy_source: &'a str,
    /// Extra lines to say (pull-request mode, the profile in use).
    pub notices: &'a [String],
    pub sarif: Option<&'a Path>,
    pub sbom: Option<&'a Path>,
    pub report: Option<&'a Path>,
}

fn markdown_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '|' | '*' | '_' | '`' | '[' | ']' | '<' | '>' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

/// The markdown job summary: verdict, counts by scanner and severity, the top
/// findings with links to their rule's help, where the outputs went.
pub fn step_summary(
    outputs: &[ScanOutput],
    verdict: &Verdict,
    options: &GithubSummaryOptions,
) -> String {
    let mut md = String::new();
    let (icon, word, meaning) = match verdict.outcome {
        Outcome::Pass => (
            "✅",
            "PASS",
            "no finding at or above the policy's thresholds",
        ),
        Outcome::Violated => ("❌", "FAIL", "policy violated"),
        Outcome::CouldNotCheck => ("⚠️", "ERROR", "could not check; the gate fails closed"),
    };
    let _ = writeln!(md, "## secgate: {icon} {word}\n");
    let _ = writeln!(
        md,
        "{meaning}. Policy: `{}`. secgate {}.\n",
        options.policy_source.replace('`', "'"),
        env!("CARGO_PKG_VERSION")
    );
    for notice in options.notices {
        let _ = writeln!(md, "> {}\n", markdown_escape(notice));
    }
    if !verdict.reasons.is_empty() {
        for reason in &verdict.reasons {
            let _ = writeln!(md, "- {}", markdown_escape(reason));
        }
        md.push('\n');
    }

    let _ = writeln!(
        md,
        "| scanner | critical | high | medium | low | info | suppressed | status |"
    );
    let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|---:|---|");
    for output in outputs {
        let mut counts: BTreeMap<Severity, usize> = BTreeMap::new();
        let mut suppressed = 0;
        for f in verdict.findings.iter().filter(|f| output.owns(&f.finding)) {
            if f.suppression.is_some() {
                suppressed += 1;
            } else {
                *counts.entry(f.severity).or_default() += 1;
            }
        }
        let status = match &output.error {
            Some(error) => format!("could not check: {}", markdown_escape(error)),
            None => "checked".to_string(),
        };
        let _ = write!(md, "| {} ", output.label());
        for severity in Severity::ALL {
            let _ = write!(md, "| {} ", counts.get(&severity).copied().unwrap_or(0));
        }
        let _ = writeln!(md, "| {suppressed} | {status} |");
    }
    md.push('\n');

    let help: BTreeMap<(Scanner, &str), &str> = outputs
        .iter()
        .flat_map(|o| {
            o.rules.iter().filter_map(move |r| {
                r.help_uri
                    .as_deref()
                    .map(|uri| ((o.scanner, r.id.as_str()), uri))
            })
        })
        .collect();
    let shown = ranked(verdict);
    if !shown.is_empty() {
        let _ = writeln!(md, "### Top findings\n");
        let _ = writeln!(md, "| severity | scanner | rule | location | finding |");
        let _ = writeln!(md, "|---|---|---|---|---|");
        for f in shown.iter().take(TOP_FINDINGS) {
            let finding = &f.finding;
            let rule = match help.get(&(finding.scanner, finding.rule_id.as_str())) {
                Some(uri) if uri.starts_with("https://") || uri.starts_with("http://") => {
                    format!(
                        "[{}]({})",
                        markdown_escape(&finding.rule_id),
                        uri.replace(')', "%29").replace(' ', "%20")
                    )
                }
                _ => markdown_escape(&finding.rule_id),
            };
            let location = finding
                .location
                .as_ref()
                .map(|l| format!("`{}:{}`", l.path.replace('`', "'"), l.start_line))
                .unwrap_or_default();
            let _ = writeln!(
                md,
                "| {}{} | {} | {rule} | {location} | {} |",
                f.severity,
                if f.fails { " (fails)" } else { "" },
                finding.scanner,
                markdown_escape(&f.message())
            );
        }
        if shown.len() > TOP_FINDINGS {
            let _ = writeln!(
                md,
                "\n… and {} more in the SARIF file.",
                shown.len() - TOP_FINDINGS
            );
        }
        md.push('\n');
    }
    let unchecked: Vec<_> = outputs.iter().flat_map(|o| &o.unchecked).collect();
    if !unchecked.is_empty() {
        let _ = writeln!(md, "### Found, not checked\n");
        let _ = writeln!(md, "| ecosystem | file | why |");
        let _ = writeln!(md, "|---|---|---|");
        for file in unchecked.iter().take(TOP_FINDINGS) {
            let _ = writeln!(
                md,
                "| {} | `{}` | {} |",
                markdown_escape(file.ecosystem),
                file.path.replace('`', "'"),
                markdown_escape(&file.reason)
            );
        }
        if unchecked.len() > TOP_FINDINGS {
            let _ = writeln!(md, "\n… and {} more.", unchecked.len() - TOP_FINDINGS);
        }
        md.push('\n');
    }
    if let Some(line) = super::summary::suppressed_line(verdict, options.sarif.is_some()) {
        let _ = writeln!(md, "{}\n", markdown_escape(&line));
    }
    if !verdict.warnings.is_empty() {
        let _ = writeln!(md, "<details><summary>Warnings</summary>\n");
        for warning in &verdict.warnings {
            let _ = writeln!(md, "- {}", markdown_escape(warning));
        }
        let _ = writeln!(md, "\n</details>\n");
    }
    let mut written = Vec::new();
    for (label, path) in [
        ("SARIF", options.sarif),
        ("SBOM", options.sbom),
        ("Gate report", options.report),
    ] {
        if let Some(path) = path {
            written.push(format!("{label}: `{}`", path.display()));
        }
    }
    if !written.is_empty() {
        let _ = writeln!(md, "{}", written.join(" · "));
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Finding, Location};
    use crate::gate::verdict::Suppression;

    fn evaluated(rule: &str, severity: Severity, fails: bool, message: &str) -> EvaluatedFinding {
        EvaluatedFinding {
            finding: Finding {
                scanner: Scanner::Secrets,
                tool: None,
                rule_id: rule.to_string(),
                severity: Some(severity),
                title: rule.to_string(),
                message: message.to_string(),
                location: Some(Location::line("dir,a/b:c.env", 3)),
                fingerprint: format!("fp-{rule}"),
                content_fingerprint: None,
                package: None,
                aliases: vec![],
                suppression_hint: None,
                properties: Default::default(),
            },
            severity,
            severity_was_unknown: false,
            suppression: None,
            fails,
        }
    }

    fn verdict(findings: Vec<EvaluatedFinding>) -> Verdict {
        Verdict {
            outcome: Outcome::Violated,
            failing: findings.iter().filter(|f| f.fails).count(),
            findings,
            run_problems: vec![],
            warnings: vec![],
            reasons: vec!["1 secrets finding at or above fail-on = high".to_string()],
        }
    }

    #[test]
    fn escapes_follow_the_runner() {
        assert_eq!(escape_data("50%\r\nx: y, z"), "50%25%0D%0Ax: y, z");
        assert_eq!(escape_property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
    }

    #[test]
    fn annotations_are_capped_most_severe_first() {
        let mut findings: Vec<_> = (0..12)
            .map(|i| evaluated(&format!("low-{i:02}"), Severity::Low, false, "m"))
            .collect();
        findings.push(evaluated(
            "hot",
            Severity::Critical,
            true,
            "line1\nline2 100%",
        ));
        let mut medium = evaluated("med", Severity::Medium, false, "m");
        medium.suppression = None;
        findings.push(medium);
        let mut quiet = evaluated("quiet", Severity::Critical, false, "m");
        quiet.suppression = Some(Suppression {
            kind: crate::gate::verdict::SuppressionKind::Policy,
            justification: "r".into(),
        });
        findings.push(quiet);
        let text = annotations(&verdict(findings), "sub/");
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(lines.len(), MAX_ANNOTATIONS);
        assert_eq!(
            lines[0],
            "::error file=sub/dir%2Ca/b%3Ac.env,line=3,title=secgate secrets hot (critical)::line1%0Aline2 100%25"
        );
        assert!(lines[1].starts_with("::warning "), "{}", lines[1]);
        assert!(lines[2].starts_with("::notice "), "{}", lines[2]);
        assert!(!text.contains("quiet"));
    }

    #[test]
    fn summary_has_verdict_counts_and_links() {
        let mut output = ScanOutput::new(Scanner::Secrets);
        output.rules.push(crate::finding::RuleInfo {
            id: "hot".into(),
            name: "hot".into(),
            short_description: String::new(),
            full_description: String::new(),
            help_text: String::new(),
            help_markdown: String::new(),
            help_uri: Some("https://example.invalid/hot".into()),
            tags: vec![],
            precision: "high",
            score: None,
            severity: None,
            properties: Default::default(),
        });
        let v = verdict(vec![evaluated("hot", Severity::High, true, "a | b")]);
        let md = step_summary(
            &[output],
            &v,
            &GithubSummaryOptions {
                policy_source: "secgate.toml",
                notices: &["pull-request mode".to_string()],
                sarif: Some(Path::new("out.sarif")),
                sbom: None,
                report: None,
            },
        );
        assert!(md.starts_with("## secgate: ❌ FAIL"), "{md}");
        assert!(
            md.contains("| secrets | 0 | 1 | 0 | 0 | 0 | 0 | checked |"),
            "{md}"
        );
        assert!(md.contains("[hot](https://example.invalid/hot)"), "{md}");
        assert!(md.contains("a \\| b"), "{md}");
        assert!(md.contains("> pull-request mode"), "{md}");
        assert!(md.contains("SARIF: `out.sarif`"), "{md}");
    }
}
