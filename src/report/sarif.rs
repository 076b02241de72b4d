//! SARIF 2.1.0 for GitHub code scanning: one run per scanner, each with its
//! own `automationDetails.id` so GitHub keeps their alerts apart.

use crate::finding::{RuleInfo, Severity, CONTENT_FINGERPRINT_KEY};
use crate::gate::verdict::{EvaluatedFinding, SuppressionKind, Verdict};
use crate::scan::lockfiles::FileKind;
use crate::scan::output::ScanOutput;
use crate::text::one_line;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};

pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";
pub const INFORMATION_URI: &str = "https://github.com/secgate/secgate";

/// The rule tag of advisories counted at `unknown-severity` (no CVSS score).
pub const UNSCORED_TAG: &str = "unscored";

/// GitHub code scanning rejects runs with more results than this.
pub const MAX_RESULTS_PER_RUN: usize = 25_000;

pub fn render(outputs: &[ScanOutput], verdict: &Verdict) -> Vec<u8> {
    render_with_limit(outputs, verdict, MAX_RESULTS_PER_RUN)
}

pub fn render_with_limit(outputs: &[ScanOutput], verdict: &Verdict, max_results: usize) -> Vec<u8> {
    let runs: Vec<Value> = outputs
        .iter()
        .map(|output| run(output, verdict, max_results))
        .collect();
    let document = json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": runs,
    });
    let mut bytes = serde_json::to_vec_pretty(&document).expect("SARIF values serialize");
    bytes.push(b'\n');
    bytes
}

pub fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

fn run(output: &ScanOutput, verdict: &Verdict, max_results: usize) -> Value {
    let scanner = output.scanner;
    let mut findings: Vec<&EvaluatedFinding> = verdict
        .findings
        .iter()
        .filter(|f| output.owns(&f.finding))
        .collect();
    let total = findings.len();
    let mut notifications = Vec::new();
    // The gate's judgement of the run: an error that blocks, or one it
    // tolerates (an optional tool, on-scanner-error = "warn"), a stale database.
    let label = output.label();
    for problem in verdict.run_problems.iter().filter(|p| p.label == label) {
        notifications.push(json!({
            "level": if problem.blocking { "error" } else { "warning" },
            "message": { "text": one_line(&problem.text) },
        }));
    }
    for warning in &output.warnings {
        notifications.push(json!({ "level": "warning", "message": { "text": one_line(warning) } }));
    }
    for file in &output.unchecked {
        notifications.push(json!({
            "level": "warning",
            "message": { "text": format!(
                "found, not checked: {} ({} {}, {})",
                file.path,
                file.ecosystem,
                match file.kind {
                    FileKind::Lock => "lock file",
                    FileKind::Manifest => "manifest",
                },
                file.reason
            ) },
            "locations": [{
                "physicalLocation": {
                    "artifactLocation": { "uri": encode_uri_path(&file.path), "uriBaseId": "%SRCROOT%" }
                }
            }],
            "properties": { "ecosystem": file.ecosystem, "unchecked": true },
        }));
    }
    if total > max_results {
        // Keep the most severe; what fails the gate first.
        findings.sort_by_key(|f| std::cmp::Reverse((f.fails, f.severity)));
        findings.truncate(max_results);
        findings.sort_by(|a, b| a.finding.sort_key().cmp(&b.finding.sort_key()));
        notifications.push(json!({
            "level": "warning",
            "message": { "text": format!(
                "{total} results exceed GitHub's limit of {max_results} per run: the {max_results} most severe are included"
            ) },
        }));
    }

    if output.tool.is_some() {
        return external_run(output, &findings, total, notifications);
    }

    // Each rule's severity is the most severe its findings were counted at.
    let mut rule_severity: BTreeMap<&str, Severity> = BTreeMap::new();
    for f in &findings {
        let entry = rule_severity
            .entry(f.finding.rule_id.as_str())
            .or_insert(f.severity);
        *entry = (*entry).max(f.severity);
    }
    let mut rules: Vec<&RuleInfo> = output
        .rules
        .iter()
        .filter(|rule| rule_severity.contains_key(rule.id.as_str()))
        .collect();
    rules.sort_by(|a, b| a.id.cmp(&b.id));
    let rule_index: BTreeMap<&str, usize> = rules
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id.as_str(), i))
        .collect();

    let unscored: BTreeSet<&str> = findings
        .iter()
        .filter(|f| f.severity_was_unknown)
        .map(|f| f.finding.rule_id.as_str())
        .collect();
    let rules_json: Vec<Value> = rules
        .iter()
        .map(|rule| {
            rule_json(
                rule,
                rule_severity.get(rule.id.as_str()).copied(),
                unscored.contains(rule.id.as_str()),
            )
        })
        .collect();
    let results: Vec<Value> = findings
        .iter()
        .map(|f| result_json(f, rule_index.get(f.finding.rule_id.as_str()).copied()))
        .collect();

    let mut invocation = Map::new();
    invocation.insert("executionSuccessful".into(), json!(output.error.is_none()));
    if !notifications.is_empty() {
        invocation.insert("toolExecutionNotifications".into(), json!(notifications));
    }
    json!({
        "tool": {
            "driver": {
                "name": "secgate",
                "version": env!("CARGO_PKG_VERSION"),
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "informationUri": INFORMATION_URI,
                "rules": rules_json,
            }
        },
        "automationDetails": { "id": format!("secgate/{scanner}/") },
        "columnKind": "unicodeCodePoints",
        "originalUriBaseIds": {
            "%SRCROOT%": { "description": { "text": "The root of the scanned repository." } }
        },
        "invocations": [Value::Object(invocation)],
        "results": results,
        "properties": run_properties(output, total),
    })
}

/// What the run checked beyond its results: the count, and the paths the
/// policy's `exclude` left out (an auditor's question: what was not looked at).
fn run_properties(output: &ScanOutput, total: usize) -> Value {
    let mut properties = Map::new();
    properties.insert("scanner".into(), json!(output.scanner.as_str()));
    properties.insert("resultCount".into(), json!(total));
    if !output.excluded.is_empty() {
        properties.insert("excludedPaths".into(), json!(output.excluded));
    }
    Value::Object(properties)
}

/// Another tool's run: its own driver and rules as it gave them (a rule
/// without `security-severity` gets the one secgate counted), results
/// rewritten like secgate's own, `secgate/external/<name>/`.
fn external_run(
    output: &ScanOutput,
    findings: &[&EvaluatedFinding],
    total: usize,
    notifications: Vec<Value>,
) -> Value {
    let tool = output.tool.as_ref().expect("an external run");
    let mut driver = match &tool.driver {
        Value::Object(driver) => driver.clone(),
        _ => Map::new(),
    };
    if !driver.contains_key("name") {
        driver.insert("name".into(), json!(tool.name));
    }
    let mut rule_severity: BTreeMap<&str, Severity> = BTreeMap::new();
    for f in findings {
        let entry = rule_severity
            .entry(f.finding.rule_id.as_str())
            .or_insert(f.severity);
        *entry = (*entry).max(f.severity);
    }
    let mut rule_index: BTreeMap<String, usize> = BTreeMap::new();
    if let Some(Value::Array(rules)) = driver.get_mut("rules") {
        for (index, rule) in rules.iter_mut().enumerate() {
            let Some(id) = rule["id"].as_str().map(str::to_string) else {
                continue;
            };
            if let (Some(severity), Value::Object(rule)) =
                (rule_severity.get(id.as_str()), &mut *rule)
            {
                let properties = rule.entry("properties").or_insert_with(|| json!({}));
                if let Value::Object(properties) = properties {
                    if !properties.contains_key("security-severity") && *severity > Severity::Info {
                        properties.insert(
                            "security-severity".into(),
                            json!(format!("{:.1}", severity.representative_score())),
                        );
                    }
                }
            }
            rule_index.entry(id).or_insert(index);
        }
    }
    let results: Vec<Value> = findings
        .iter()
        .map(|f| result_json(f, rule_index.get(&f.finding.rule_id).copied()))
        .collect();
    let mut invocation = Map::new();
    invocation.insert("executionSuccessful".into(), json!(output.error.is_none()));
    if !notifications.is_empty() {
        invocation.insert("toolExecutionNotifications".into(), json!(notifications));
    }
    json!({
        "tool": { "driver": Value::Object(driver) },
        "automationDetails": { "id": format!("secgate/external/{}/", tool.key) },
        "columnKind": "unicodeCodePoints",
        "originalUriBaseIds": {
            "%SRCROOT%": { "description": { "text": "The root of the scanned repository." } }
        },
        "invocations": [Value::Object(invocation)],
        "results": results,
        "properties": {
            "scanner": output.scanner.as_str(),
            "external": tool.name,
            "resultCount": total,
        },
    })
}

/// `unscored`: its severity is the policy's `unknown-severity`, not a score;
/// tagged so that code scanning users can tell.
fn rule_json(rule: &RuleInfo, counted: Option<Severity>, unscored: bool) -> Value {
    let severity = counted.or(rule.severity).unwrap_or(Severity::High);
    let mut properties = Map::new();
    let mut tags = rule.tags.clone();
    if unscored {
        tags.push(UNSCORED_TAG.to_string());
        properties.insert("severity-source".into(), json!("unknown-severity"));
    }
    properties.insert("tags".into(), json!(tags));
    properties.insert("precision".into(), json!(rule.precision));
    properties.insert(
        "problem.severity".into(),
        json!(match level(severity) {
            "error" => "error",
            "warning" => "warning",
            _ => "recommendation",
        }),
    );
    // GitHub reads security-severity only on rules tagged `security`.
    if severity > Severity::Info {
        let score = rule
            .score
            .filter(|s| *s > 0.0)
            .unwrap_or_else(|| severity.representative_score());
        properties.insert("security-severity".into(), json!(format!("{score:.1}")));
    }
    for (key, value) in &rule.properties {
        properties.insert(key.clone(), value.clone());
    }
    let mut rule_json = json!({
        "id": rule.id,
        "name": pascal_case(&rule.name),
        "shortDescription": { "text": rule.short_description },
        "fullDescription": { "text": rule.full_description },
        "help": { "text": rule.help_text, "markdown": rule.help_markdown },
        "defaultConfiguration": { "level": level(severity) },
        "properties": properties,
    });
    if let Some(uri) = &rule.help_uri {
        rule_json["helpUri"] = json!(uri);
    }
    rule_json
}

fn result_json(evaluated: &EvaluatedFinding, rule_index: Option<usize>) -> Value {
    let finding = &evaluated.finding;
    let mut result = Map::new();
    result.insert("ruleId".into(), json!(finding.rule_id));
    if let Some(index) = rule_index {
        result.insert("ruleIndex".into(), json!(index));
    }
    result.insert("level".into(), json!(level(evaluated.severity)));
    result.insert("message".into(), json!({ "text": evaluated.message() }));
    if let Some(location) = &finding.location {
        let mut region = Map::new();
        region.insert("startLine".into(), json!(location.start_line.max(1)));
        region.insert(
            "endLine".into(),
            json!(location.end_line.max(location.start_line).max(1)),
        );
        if location.start_column > 0 && location.end_column > 0 {
            region.insert("startColumn".into(), json!(location.start_column));
            region.insert("endColumn".into(), json!(location.end_column));
        }
        result.insert(
            "locations".into(),
            json!([{
                "physicalLocation": {
                    "artifactLocation": { "uri": encode_uri_path(&location.path), "uriBaseId": "%SRCROOT%" },
                    "region": region,
                }
            }]),
        );
    }
    let mut fingerprints = json!({
        "primaryLocationLineHash": finding.fingerprint,
        "secgate/v1": finding.fingerprint,
    });
    if let Some(content) = &finding.content_fingerprint {
        fingerprints[CONTENT_FINGERPRINT_KEY] = json!(content);
    }
    result.insert("partialFingerprints".into(), fingerprints);
    if let Some(suppression) = &evaluated.suppression {
        let kind = match suppression.kind {
            SuppressionKind::Policy => "external",
            SuppressionKind::Inline => "inSource",
            SuppressionKind::Baseline => "external",
        };
        result.insert(
            "suppressions".into(),
            json!([{ "kind": kind, "status": "accepted", "justification": suppression.justification }]),
        );
    }
    let mut properties = Map::new();
    properties.insert("severity".into(), json!(evaluated.severity.as_str()));
    if evaluated.severity_was_unknown {
        properties.insert("severity-unknown".into(), json!(true));
    }
    properties.insert("fails-gate".into(), json!(evaluated.fails));
    if let Some(package) = &finding.package {
        properties.insert("package".into(), json!(package));
    }
    if !finding.aliases.is_empty() {
        properties.insert("aliases".into(), json!(finding.aliases));
    }
    for (key, value) in &finding.properties {
        properties.insert(key.clone(), value.clone());
    }
    result.insert("properties".into(), Value::Object(properties));
    Value::Object(result)
}

/// `RUSTSEC-2021-0078` → `Rustsec20210078`, `aws-access-key-id` → `AwsAccessKeyId`.
fn pascal_case(id: &str) -> String {
    id.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|part| !part.is_empty())
        .map(|part| {
            let lower = part.to_ascii_lowercase();
            let mut chars = lower.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// Percent-encodes a relative path for a SARIF URI, keeping `/`.
pub fn encode_uri_path(path: &str) -> String {
    let mut encoded = String::with_capacity(path.len());
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=:@".contains(&byte) {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// Which scanners' runs a SARIF file holds (used by tests and tooling).
pub fn run_ids(document: &Value) -> Vec<String> {
    document["runs"]
        .as_array()
        .map(|runs| {
            runs.iter()
                .filter_map(|r| r["automationDetails"]["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_paths_are_percent_encoded() {
        assert_eq!(encode_uri_path("src/main.rs"), "src/main.rs");
        assert_eq!(encode_uri_path("my dir/ä#.txt"), "my%20dir/%C3%A4%23.txt");
    }

    #[test]
    fn rule_names_are_pascal_case() {
        assert_eq!(pascal_case("aws-access-key-id"), "AwsAccessKeyId");
        assert_eq!(pascal_case("RUSTSEC-2021-0078"), "Rustsec20210078");
    }

    #[test]
    fn runs_over_the_limit_keep_the_most_severe_and_say_so() {
        use crate::finding::{Finding, Location, Scanner};
        use crate::policy::Policy;
        let severities = [
            Severity::Low,
            Severity::Critical,
            Severity::Medium,
            Severity::High,
            Severity::Info,
        ];
        let mut output = crate::scan::output::ScanOutput::new(Scanner::Secrets);
        for (i, severity) in severities.iter().enumerate() {
            output.findings.push(Finding {
                scanner: Scanner::Secrets,
                tool: None,
                rule_id: format!("rule-{i}"),
                severity: Some(*severity),
                title: "t".into(),
                message: "m".into(),
                location: Some(Location::line(format!("f{i}.txt"), 1)),
                fingerprint: format!("fp{i}"),
                content_fingerprint: None,
                package: None,
                aliases: Vec::new(),
                suppression_hint: None,
                properties: Default::default(),
            });
        }
        let outputs = [output];
        let verdict = Policy::default()
            .gate
            .evaluate(&outputs, time::macros::date!(2026 - 01 - 01));
        let document: Value =
            serde_json::from_slice(&render_with_limit(&outputs, &verdict, 3)).unwrap();
        let run = &document["runs"][0];
        let kept: Vec<&str> = run["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["ruleId"].as_str().unwrap())
            .collect();
        assert_eq!(
            kept,
            ["rule-1", "rule-2", "rule-3"],
            "critical, medium, high kept, in path order"
        );
        let note = run["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"]
            .as_str()
            .unwrap();
        assert!(note.contains("5 results exceed"), "{note}");
        assert_eq!(run["properties"]["resultCount"], 5);
    }

    #[test]
    fn levels_follow_severity() {
        assert_eq!(level(Severity::Critical), "error");
        assert_eq!(level(Severity::Medium), "warning");
        assert_eq!(level(Severity::Info), "note");
    }
}
