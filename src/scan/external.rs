//! Other tools' SARIF (`[[external]]`): read from files another step wrote,
//! or from a command secgate runs (no shell, a timeout, output captured).
//! Each SARIF run becomes one `ScanOutput` with the tool's own driver, its
//! results as findings: severities normalized, paths rebased to the scanned
//! root, fingerprints kept or computed. No thresholds here.

use crate::finding::{fingerprint, Finding, Location, Scanner, Severity};
use crate::scan::context::ScanContext;
use crate::scan::output::{ExternalRun, ScanOutput};
use crate::scan::settings::{ExternalSource, ExternalTool};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::path::{Component, Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The placeholder in `command` replaced by the SARIF file's path.
pub const OUT_PLACEHOLDER: &str = "{out}";

/// Runs or reads one `[[external]]` entry: one output per SARIF run, or one
/// failed output (its error: the gate decides what an optional tool's does).
pub fn scan(tool: &ExternalTool, context: &ScanContext) -> Vec<ScanOutput> {
    let documents = match &tool.source {
        ExternalSource::Files(pattern) => read_files(&context.root, pattern),
        ExternalSource::Command(argv) => {
            run_command(argv, &context.root, tool.timeout).map(|bytes| vec![bytes])
        }
    };
    let mut runs: Vec<Value> = Vec::new();
    let documents = match documents {
        Ok(documents) => documents,
        Err(message) => return vec![failed(tool, message)],
    };
    for (origin, bytes) in &documents {
        let document: Value = match serde_json::from_slice(bytes) {
            Ok(document) => document,
            Err(error) => return vec![failed(tool, format!("{origin}: not JSON: {error}"))],
        };
        match document["runs"].as_array() {
            Some(list) if document.is_object() => {
                for (index, run) in list.iter().enumerate() {
                    if !run["tool"]["driver"]["name"].is_string() {
                        return vec![failed(
                            tool,
                            format!(
                                "{origin}: invalid SARIF: runs[{index}] has no tool.driver.name"
                            ),
                        )];
                    }
                    runs.push(run.clone());
                }
            }
            _ => {
                return vec![failed(
                    tool,
                    format!("{origin}: invalid SARIF: no `runs` array"),
                )]
            }
        }
    }
    let mut outputs = Vec::new();
    let files = FileLines::new(&context.root);
    for (index, run) in runs.iter().enumerate() {
        let key = if index == 0 {
            tool.name.clone()
        } else {
            format!("{}-{}", tool.name, index + 1)
        };
        outputs.push(convert_run(tool, key, run, &files));
    }
    if outputs.is_empty() {
        let mut output = ScanOutput::new(Scanner::External);
        output.tool = Some(ExternalRun {
            name: tool.name.clone(),
            key: tool.name.clone(),
            driver: Value::Null,
        });
        output.notes.push("the SARIF holds no runs".to_string());
        outputs.push(output);
    }
    outputs
}

fn failed(tool: &ExternalTool, message: String) -> ScanOutput {
    let mut output = ScanOutput::new(Scanner::External);
    output.tool = Some(ExternalRun {
        name: tool.name.clone(),
        key: tool.name.clone(),
        driver: Value::Null,
    });
    // Whether an optional tool's failure blocks is the gate's call.
    output.error = Some(format!("{}: {message}", tool.name));
    output
}

/// `pattern` relative to `root`: one file, or every file a glob matches.
fn read_files(root: &Path, pattern: &str) -> Result<Vec<(String, Vec<u8>)>, String> {
    let read = |relative: &str| {
        std::fs::read(root.join(relative))
            .map(|bytes| (relative.to_string(), bytes))
            .map_err(|error| format!("cannot read SARIF {relative}: {error}"))
    };
    if !pattern.contains(['*', '?', '[', '{']) {
        return read(pattern).map(|document| vec![document]);
    }
    let matcher = globset::Glob::new(pattern)
        .map_err(|error| format!("invalid glob `{pattern}`: {}", error.kind()))?
        .compile_matcher();
    let mut matches = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = std::fs::read_dir(&dir)
            .map_err(|error| format!("cannot list {}: {error}", dir.display()))?;
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                if entry.file_name() != ".git" {
                    pending.push(path);
                }
            } else if kind.is_file() {
                let relative = crate::files::relative_path(root, &path);
                if matcher.is_match(&relative) {
                    matches.push(relative);
                }
            }
        }
    }
    if matches.is_empty() {
        return Err(format!("no SARIF file matches `{pattern}`"));
    }
    matches.sort();
    matches.iter().map(|relative| read(relative)).collect()
}

/// Runs `argv` at `root`: no shell, stdin null, output captured. The SARIF
/// is the `{out}` file, or stdout when `{out}` is not used.
fn run_command(
    argv: &[String],
    root: &Path,
    timeout: Duration,
) -> Result<(String, Vec<u8>), String> {
    let scratch = tempfile::Builder::new()
        .prefix("secgate-external-")
        .tempdir()
        .map_err(|error| format!("cannot create a temporary directory: {error}"))?;
    let out = scratch.path().join("out.sarif");
    let out_text = out.to_string_lossy().into_owned();
    let uses_out = argv.iter().any(|arg| arg.contains(OUT_PLACEHOLDER));
    let args: Vec<String> = argv
        .iter()
        .map(|arg| arg.replace(OUT_PLACEHOLDER, &out_text))
        .collect();
    let program = &args[0];
    let mut command = Command::new(program);
    command.args(&args[1..]).current_dir(root);
    let crate::process::Finished {
        status,
        stdout,
        stderr,
    } = crate::process::run_with_timeout(&mut command, timeout)
        .map_err(|error| format!("`{program}`: {error}"))?;
    let sarif = if uses_out {
        std::fs::read(&out).unwrap_or_default()
    } else {
        stdout.clone()
    };
    if sarif.iter().all(u8::is_ascii_whitespace) {
        let tail = tail(if stderr.is_empty() { &stdout } else { &stderr });
        return Err(format!(
            "`{program}` exited with {} without writing a SARIF file{tail}",
            status
                .code()
                .map(|c| format!("status {c}"))
                .unwrap_or_else(|| "a signal".to_string())
        ));
    }
    Ok((format!("the output of `{program}`"), sarif))
}

/// The last lines of a tool's output for an error message, control
/// characters removed (never echoed raw).
fn tail(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = lines.len().saturating_sub(3);
    let joined: String = lines[start..]
        .join(" | ")
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if joined.is_empty() {
        return String::new();
    }
    let mut cut: String = joined.chars().take(400).collect();
    if cut.len() < joined.len() {
        cut.push('…');
    }
    format!(": {cut}")
}

/// Lines of files under the root, read once, for content fingerprints.
struct FileLines {
    root: PathBuf,
    cache: std::cell::RefCell<HashMap<String, Option<Vec<String>>>>,
}

impl FileLines {
    fn new(root: &Path) -> FileLines {
        FileLines {
            root: root.to_path_buf(),
            cache: Default::default(),
        }
    }

    fn line(&self, path: &str, line: u32) -> Option<String> {
        let mut cache = self.cache.borrow_mut();
        let lines = cache.entry(path.to_string()).or_insert_with(|| {
            std::fs::read(self.root.join(path)).ok().map(|bytes| {
                String::from_utf8_lossy(&bytes)
                    .lines()
                    .map(str::to_string)
                    .collect()
            })
        });
        lines
            .as_ref()?
            .get((line as usize).checked_sub(1)?)
            .map(|l| l.trim().to_string())
    }
}

fn convert_run(tool: &ExternalTool, key: String, run: &Value, files: &FileLines) -> ScanOutput {
    let mut output = ScanOutput::new(Scanner::External);
    let driver = &run["tool"]["driver"];
    let rules = driver["rules"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    let mut dropped: BTreeMap<String, usize> = BTreeMap::new();
    for result in run["results"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
        let rule = result["ruleIndex"]
            .as_u64()
            .or_else(|| result["rule"]["index"].as_u64())
            .and_then(|i| rules.get(i as usize))
            .or_else(|| {
                let id = result["ruleId"]
                    .as_str()
                    .or_else(|| result["rule"]["id"].as_str())?;
                rules.iter().find(|r| r["id"] == id)
            });
        let rule_id = result["ruleId"]
            .as_str()
            .or_else(|| result["rule"]["id"].as_str())
            .or_else(|| rule.and_then(|r| r["id"].as_str()))
            .unwrap_or("unknown")
            .to_string();
        let severity = severity(tool, &rule_id, rule, result);
        let physical = &result["locations"][0]["physicalLocation"];
        let mut location = None;
        let mut content = None;
        if physical.is_object() {
            let artifact = match physical["artifactLocation"]["uri"].is_string() {
                true => &physical["artifactLocation"],
                false => physical["artifactLocation"]["index"]
                    .as_u64()
                    .map(|i| &run["artifacts"][i as usize]["location"])
                    .unwrap_or(&physical["artifactLocation"]),
            };
            match rebase(run, artifact, &files.root) {
                Some(Ok(path)) => {
                    let region = &physical["region"];
                    let number = |v: &Value| v.as_u64().map(|n| n.min(u32::MAX as u64) as u32);
                    let start_line = number(&region["startLine"]).unwrap_or(0);
                    let end_line = number(&region["endLine"]).unwrap_or(start_line);
                    let start_column = number(&region["startColumn"]).unwrap_or(0);
                    let end_column = number(&region["endColumn"]).unwrap_or(0);
                    content = region["snippet"]["text"]
                        .as_str()
                        .map(|s| s.trim().to_string())
                        .or_else(|| files.line(&path, start_line));
                    location = Some(Location {
                        path,
                        start_line,
                        start_column,
                        end_line,
                        end_column,
                    });
                }
                Some(Err(uri)) => {
                    *dropped.entry(uri).or_default() += 1;
                    continue;
                }
                None => {}
            }
        }
        let fingerprint = match result["partialFingerprints"].as_object() {
            Some(values) if !values.is_empty() => {
                let joined: String = values
                    .iter()
                    .map(|(k, v)| format!("{k}={}\n", v.as_str().unwrap_or(&v.to_string())))
                    .collect();
                fingerprint(&[b"external-partial", rule_id.as_bytes(), joined.as_bytes()])
            }
            _ => {
                let path = location.as_ref().map(|l| l.path.as_str()).unwrap_or("");
                let content = content
                    .clone()
                    .or_else(|| location.as_ref().map(|l| l.start_line.to_string()))
                    .unwrap_or_default();
                fingerprint(&[
                    b"external-content",
                    rule_id.as_bytes(),
                    path.as_bytes(),
                    content.as_bytes(),
                ])
            }
        };
        let message = result["message"]["text"]
            .as_str()
            .unwrap_or("(no message)")
            .to_string();
        let title = rule
            .and_then(|r| {
                r["shortDescription"]["text"]
                    .as_str()
                    .or_else(|| r["name"].as_str())
            })
            .unwrap_or(&rule_id)
            .to_string();
        let mut properties = BTreeMap::new();
        properties.insert("tool".to_string(), Value::String(tool.name.clone()));
        if let Some(level) = result["level"].as_str() {
            properties.insert("tool-level".to_string(), Value::String(level.to_string()));
        }
        if let Some(original) = result["partialFingerprints"].as_object() {
            properties.insert(
                "tool-partial-fingerprints".to_string(),
                Value::Object(original.clone()),
            );
        }
        output.findings.push(Finding {
            scanner: Scanner::External,
            tool: Some(key.clone()),
            rule_id,
            severity: Some(severity),
            title,
            message,
            location,
            fingerprint,
            content_fingerprint: None,
            package: None,
            aliases: Vec::new(),
            suppression_hint: None,
            properties,
        });
    }
    for (uri, count) in dropped {
        output.warnings.push(format!(
            "{count} result(s) in {uri} dropped: outside the scanned root"
        ));
    }
    output.notes.push(format!(
        "{} {}: {} result(s)",
        driver["name"].as_str().unwrap_or("?"),
        driver["version"].as_str().unwrap_or(""),
        output.findings.len()
    ));
    output.tool = Some(ExternalRun {
        name: tool.name.clone(),
        key,
        driver: driver.clone(),
    });
    output
}

/// `security-severity` on the rule, else the result's (or the rule's
/// default) level mapped by `levels`; a per-rule override wins over both.
fn severity(tool: &ExternalTool, rule_id: &str, rule: Option<&Value>, result: &Value) -> Severity {
    if let Some(severity) = tool.rules.get(rule_id) {
        return *severity;
    }
    let score = rule
        .map(|r| &r["properties"]["security-severity"])
        .and_then(|v| {
            v.as_f64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse::<f64>().ok()))
        });
    if let Some(score) = score.filter(|s| s.is_finite()) {
        return Severity::from_score(score);
    }
    let level = result["level"]
        .as_str()
        .or_else(|| rule.and_then(|r| r["defaultConfiguration"]["level"].as_str()))
        .unwrap_or("warning");
    tool.levels.get(level).unwrap_or(tool.levels.warning)
}

/// The artifact's path relative to `root` (forward slashes): `None` without
/// a URI, `Err(uri)` when it is outside the root (or not a file).
fn rebase(run: &Value, artifact: &Value, root: &Path) -> Option<Result<String, String>> {
    let mut uri = artifact["uri"].as_str()?.to_string();
    let mut base = artifact["uriBaseId"].as_str().map(str::to_string);
    // Resolve uriBaseId through originalUriBaseIds; an unknown base is the root.
    for _ in 0..8 {
        let Some(id) = base.take() else { break };
        let entry = &run["originalUriBaseIds"][&id];
        if let Some(prefix) = entry["uri"].as_str() {
            if !is_absolute_uri(&uri) {
                uri = if prefix.ends_with('/') || prefix.is_empty() {
                    format!("{prefix}{uri}")
                } else {
                    format!("{prefix}/{uri}")
                };
            }
            base = entry["uriBaseId"].as_str().map(str::to_string);
        }
    }
    let shown = uri.clone();
    let path = if let Some(rest) = uri.strip_prefix("file://") {
        let rest = rest.strip_prefix("localhost").unwrap_or(rest);
        PathBuf::from(percent_decode(rest))
    } else if is_absolute_uri(&uri) {
        return Some(Err(shown));
    } else {
        let decoded = percent_decode(&uri);
        let path = PathBuf::from(&decoded);
        if path.is_absolute() {
            path
        } else {
            return Some(normalize(&path).ok_or(shown));
        }
    };
    let roots = [std::path::absolute(root).ok(), root.canonicalize().ok()];
    for candidate in roots.into_iter().flatten() {
        if let Ok(relative) = path.strip_prefix(&candidate) {
            return Some(normalize(relative).ok_or(shown));
        }
    }
    Some(Err(shown))
}

fn is_absolute_uri(uri: &str) -> bool {
    match uri.find("://") {
        Some(at) => uri[..at]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)),
        None => false,
    }
}

/// A relative path without `.`/`..`, forward slashes; `None` when it climbs out.
fn normalize(path: &Path) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => parts.push(part.to_string_lossy().into_owned()),
            Component::CurDir => {}
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    if parts.is_empty() {
        return None;
    }
    Some(parts.join("/"))
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(byte) = u8::from_str_radix(&text[i + 1..i + 3], 16) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn uris_are_rebased_or_refused() {
        let root = Path::new("/repo");
        let run = json!({ "originalUriBaseIds": {
            "SRC": { "uri": "file:///repo/src/" },
            "ELSEWHERE": { "uri": "file:///other/" },
        }});
        let at = |artifact: Value| rebase(&run, &artifact, root).unwrap();
        assert_eq!(at(json!({"uri": "a%20b.py"})), Ok("a b.py".into()));
        assert_eq!(at(json!({"uri": "./x/../y.py"})), Ok("y.py".into()));
        assert_eq!(
            at(json!({"uri": "app.py", "uriBaseId": "SRC"})),
            Ok("src/app.py".into())
        );
        assert_eq!(
            at(json!({"uri": "app.py", "uriBaseId": "%SRCROOT%"})),
            Ok("app.py".into())
        );
        assert_eq!(
            at(json!({"uri": "file:///repo/lib/m.py"})),
            Ok("lib/m.py".into())
        );
        assert!(at(json!({"uri": "x.py", "uriBaseId": "ELSEWHERE"})).is_err());
        assert!(at(json!({"uri": "../outside.py"})).is_err());
        assert!(at(json!({"uri": "https://example.com/x.py"})).is_err());
        assert!(rebase(&run, &json!({}), root).is_none());
    }

    #[test]
    fn severity_prefers_override_then_score_then_level() {
        let mut tool = ExternalTool {
            name: "t".into(),
            source: ExternalSource::Files("x.sarif".into()),
            timeout: Duration::from_secs(1),
            levels: Default::default(),
            rules: BTreeMap::new(),
        };
        let scored = json!({"properties": {"security-severity": "9.1"}});
        let plain = json!({"defaultConfiguration": {"level": "note"}});
        let warning = json!({"level": "warning"});
        assert_eq!(
            severity(&tool, "r", Some(&scored), &warning),
            Severity::Critical
        );
        assert_eq!(
            severity(&tool, "r", Some(&plain), &json!({})),
            Severity::Low
        );
        assert_eq!(
            severity(&tool, "r", Some(&plain), &warning),
            Severity::Medium
        );
        assert_eq!(severity(&tool, "r", None, &json!({})), Severity::Medium);
        tool.rules.insert("r".into(), Severity::Info);
        assert_eq!(
            severity(&tool, "r", Some(&scored), &warning),
            Severity::Info
        );
    }

    #[test]
    fn tails_are_short_and_clean() {
        assert_eq!(tail(b""), "");
        assert_eq!(tail(b"a\n\x1b[31mb\nc\nd\n"), ":  [31mb | c | d");
    }
}
