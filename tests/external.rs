//! Other tools' SARIF under secgate's policy: Bandit run for real (installed
//! by `.ci/setup` into `.venv`), a hand-written SARIF from another tool, and
//! tools that fail.

mod common;

use common::{fixture, secgate};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A scanned root: a copy of the Python fixture, `secgate.toml` and extra files.
fn repo(policy: &str, extra: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(fixture("repos/python/app.py"), dir.path().join("app.py")).unwrap();
    std::fs::write(dir.path().join("secgate.toml"), policy).unwrap();
    for (name, bytes) in extra {
        std::fs::write(dir.path().join(name), bytes).unwrap();
    }
    dir
}

struct Run {
    code: i32,
    stderr: String,
    sarif: Value,
}

fn check(root: &Path, scanners: &str) -> Run {
    let out = tempfile::tempdir().unwrap();
    let sarif = out.path().join("out.sarif");
    let output = secgate(out.path())
        .arg("check")
        .arg(root)
        .args(["--scanners", scanners, "--sarif"])
        .arg(&sarif)
        .output()
        .expect("secgate runs");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let sarif = std::fs::read_to_string(&sarif)
        .map(|text| serde_json::from_str(&text).unwrap())
        .unwrap_or(Value::Null);
    Run {
        code: output.status.code().unwrap_or(-1),
        stderr,
        sarif,
    }
}

fn schema_errors(document: &Value) -> Vec<String> {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("schemas/sarif-schema-2.1.0.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    validator
        .iter_errors(document)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect()
}

fn run_by_id<'a>(document: &'a Value, id: &str) -> &'a Value {
    document["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["automationDetails"]["id"] == id)
        .unwrap_or_else(|| panic!("no run {id} in {document:#}"))
}

fn result_for<'a>(run: &'a Value, rule: &str) -> &'a Value {
    run["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == rule)
        .unwrap_or_else(|| panic!("no result for {rule} in {run:#}"))
}

/// Bandit from the venv `.ci/setup` makes: beside `$SECGATE_PY`, else
/// `.venv/bin`; missing, the test fails.
fn bandit() -> PathBuf {
    let bin = std::env::var_os("SECGATE_PY")
        .and_then(|py| PathBuf::from(py).parent().map(Path::to_path_buf))
        .unwrap_or_else(|| common::repo_root().join(".venv/bin"));
    common::require(
        "Bandit (pip bandit[sarif], beside $SECGATE_PY or in .venv/bin)",
        None,
        &[bin.join("bandit")],
        common::SETUP,
    )
}

fn bandit_policy(bandit: &Path, extra: &str) -> String {
    format!(
        "[[external]]\nname = \"bandit\"\ncommand = [{:?}, \"-r\", \".\", \"-f\", \"sarif\", \"-o\", \"{{out}}\"]\ntimeout = \"5m\"\n{extra}",
        bandit.display().to_string()
    )
}

#[test]
fn bandit_high_finding_fails_the_gate_and_the_sarif_keeps_runs_apart() {
    let bandit = bandit();
    let root = repo(&bandit_policy(&bandit, ""), &[]);
    let run = check(root.path(), "secrets,external");
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("external/bandit"), "{}", run.stderr);
    let errors = schema_errors(&run.sarif);
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(
        secgate::report::sarif::run_ids(&run.sarif),
        ["secgate/secrets/", "secgate/external/bandit/"]
    );
    let bandit_run = run_by_id(&run.sarif, "secgate/external/bandit/");
    assert_eq!(bandit_run["tool"]["driver"]["name"], "Bandit");
    let b602 = result_for(bandit_run, "B602");
    assert_eq!(b602["level"], "error");
    assert_eq!(b602["properties"]["severity"], "high");
    assert_eq!(b602["properties"]["fails-gate"], true);
    let uri = &b602["locations"][0]["physicalLocation"]["artifactLocation"]["uri"];
    assert_eq!(uri, "app.py");
    let index = b602["ruleIndex"].as_u64().unwrap() as usize;
    assert_eq!(
        bandit_run["tool"]["driver"]["rules"][index]["id"], "B602",
        "ruleIndex points into the tool's own rules"
    );
    let b404 = result_for(bandit_run, "B404");
    assert_eq!(b404["properties"]["severity"], "low");
    assert_eq!(b404["properties"]["fails-gate"], false);
}

#[test]
fn bandit_finding_ignored_with_an_unexpired_reason_passes() {
    let bandit = bandit();
    let ignore = "\n[[ignore]]\nid = \"B602\"\nreason = \"cmd is a constant from our own config\"\nexpires = 2099-12-31\n";
    let root = repo(&bandit_policy(&bandit, ignore), &[]);
    let run = check(root.path(), "external");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(schema_errors(&run.sarif).is_empty());
    let b602 = result_for(run_by_id(&run.sarif, "secgate/external/bandit/"), "B602");
    assert_eq!(b602["suppressions"][0]["kind"], "external");
    assert_eq!(
        b602["suppressions"][0]["justification"],
        "cmd is a constant from our own config"
    );
    // An expired one no longer applies.
    let expired = ignore.replace("2099-12-31", "2020-01-01");
    let root = repo(&bandit_policy(&bandit, &expired), &[]);
    let run = check(root.path(), "external");
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("expired"), "{}", run.stderr);
}

#[test]
fn another_tools_sarif_is_mapped_fingerprinted_and_rebased() {
    let other = std::fs::read(fixture("external/other.sarif")).unwrap();
    let policy = "[[external]]\nname = \"other\"\nsarif = \"reports/*.sarif\"\n";
    let root = repo(policy, &[]);
    std::fs::create_dir(root.path().join("reports")).unwrap();
    std::fs::write(root.path().join("reports/other.sarif"), &other).unwrap();
    let run = check(root.path(), "external");
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(schema_errors(&run.sarif).is_empty());
    assert_eq!(
        secgate::report::sarif::run_ids(&run.sarif),
        ["secgate/external/other/", "secgate/external/other-2/"],
        "two runs in, two runs out, kept apart"
    );
    let first = run_by_id(&run.sarif, "secgate/external/other/");
    assert_eq!(first["tool"]["driver"]["name"], "OtherScan");
    assert_eq!(first["tool"]["driver"]["version"], "2.0.0");
    assert_eq!(first["results"].as_array().unwrap().len(), 3, "two dropped");
    // security-severity on the rule wins over the result's level.
    let os100 = result_for(first, "OS100");
    assert_eq!(os100["properties"]["severity"], "critical");
    assert_eq!(os100["properties"]["tool-level"], "warning");
    // No level on the result: the rule's default level, mapped.
    assert_eq!(result_for(first, "OS200")["properties"]["severity"], "low");
    let os300 = result_for(first, "OS300");
    assert_eq!(os300["properties"]["severity"], "high");
    assert_eq!(
        os300["properties"]["tool-partial-fingerprints"]["primaryLocationLineHash"],
        "5b2f0c1a9e:1"
    );
    let fingerprint = |r: &Value| {
        r["partialFingerprints"]["secgate/v1"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(
        fingerprint(os300),
        secgate::finding::fingerprint(&[
            b"external-partial",
            b"OS300",
            b"primaryLocationLineHash=5b2f0c1a9e:1\n"
        ])
    );
    assert_eq!(
        fingerprint(os100),
        secgate::finding::fingerprint(&[
            b"external-content",
            b"OS100",
            b"app.py",
            b"return subprocess.call(cmd, shell=True)"
        ])
    );
    let notes = first["invocations"][0]["toolExecutionNotifications"].to_string();
    assert!(notes.contains("outside the scanned root"), "{notes}");
    assert!(notes.contains("/elsewhere/vendor/outside.py"), "{notes}");
    assert!(notes.contains("../sibling/escape.py"), "{notes}");
    assert!(run.stderr.contains("dropped"), "{}", run.stderr);
    // The second run: level-only, no rules, content read from the file.
    let second = run_by_id(&run.sarif, "secgate/external/other-2/");
    assert_eq!(second["tool"]["driver"]["name"], "OtherScan Secondary");
    let sec1 = result_for(second, "SEC1");
    assert_eq!(sec1["properties"]["severity"], "low");
    assert!(sec1.get("ruleIndex").is_none());
    assert_eq!(
        fingerprint(sec1),
        secgate::finding::fingerprint(&[
            b"external-content",
            b"SEC1",
            b"app.py",
            b"import subprocess"
        ])
    );

    // Levels and per-rule overrides from the policy; thresholds per tool.
    let policy = "[[external]]\nname = \"other\"\nsarif = \"other.sarif\"\nfail-on = \"critical\"\nlevels = { note = \"medium\" }\nrules = { \"OS100\" = \"info\" }\n";
    let root = repo(policy, &[("other.sarif", &other)]);
    let run = check(root.path(), "external");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let first = run_by_id(&run.sarif, "secgate/external/other/");
    assert_eq!(result_for(first, "OS100")["properties"]["severity"], "info");
    assert_eq!(
        result_for(first, "OS200")["properties"]["severity"],
        "medium"
    );
    // [external-defaults] fail-on applies to tools without their own.
    let policy = "fail-on = \"critical\"\n[external-defaults]\nfail-on = \"low\"\n[[external]]\nname = \"other\"\nsarif = \"other.sarif\"\nrules = { \"OS100\" = \"info\", \"OS300\" = \"info\" }\n";
    let root = repo(policy, &[("other.sarif", &other)]);
    let run = check(root.path(), "external");
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("fail-on = low"), "{}", run.stderr);
}

#[test]
fn failing_tools_are_scanner_errors_unless_optional() {
    let cases: [(&str, &str, &str); 4] = [
        (
            "timeout",
            "command = [\"sleep\", \"30\"]\ntimeout = \"1s\"",
            "timed out after 1s",
        ),
        (
            "exits-2",
            "command = [\"sh\", \"-c\", \"echo it broke >&2; exit 2\", \"{out}\"]",
            "exited with status 2 without writing a SARIF file: it broke",
        ),
        ("not-json", "sarif = \"broken.sarif\"", "not JSON"),
        ("no-runs", "sarif = \"empty.sarif\"", "invalid SARIF"),
    ];
    for (name, source, expected) in cases {
        for optional in [false, true] {
            let policy =
                format!("[[external]]\nname = \"{name}\"\n{source}\noptional = {optional}\n");
            let root = repo(
                &policy,
                &[
                    ("broken.sarif", b"{\"runs\": [" as &[u8]),
                    ("empty.sarif", b"{\"version\": \"2.1.0\"}"),
                ],
            );
            let started = std::time::Instant::now();
            let run = check(root.path(), "external");
            assert!(started.elapsed().as_secs() < 20, "{name}: killed on time");
            assert!(run.stderr.contains(expected), "{name}: {}", run.stderr);
            if optional {
                assert_eq!(run.code, 0, "{name} (optional): {}", run.stderr);
                assert!(
                    run.stderr.contains("not a scanner error"),
                    "{name}: {}",
                    run.stderr
                );
            } else {
                assert_eq!(run.code, 2, "{name}: {}", run.stderr);
                let ours = run_by_id(&run.sarif, &format!("secgate/external/{name}/"));
                assert_eq!(ours["invocations"][0]["executionSuccessful"], false);
                assert!(schema_errors(&run.sarif).is_empty(), "{name}");
            }
        }
    }
}

#[test]
fn a_command_runs_at_the_root_and_may_exit_non_zero_with_a_sarif() {
    // Like Bandit: exit 1 when it found something, the SARIF still counts.
    let other = std::fs::read_to_string(fixture("external/other.sarif")).unwrap();
    let policy = "[[external]]\nname = \"copier\"\ncommand = [\"sh\", \"-c\", \"cp other.sarif \\\"$1\\\"; exit 1\", \"sh\", \"{out}\"]\n";
    let root = repo(policy, &[("other.sarif", other.as_bytes())]);
    let run = check(root.path(), "external");
    assert_eq!(run.code, 1, "{}", run.stderr);
    run_by_id(&run.sarif, "secgate/external/copier/");
}

#[test]
fn external_tools_left_out_of_the_scanners_are_a_warning() {
    let other = std::fs::read(fixture("external/other.sarif")).unwrap();
    let policy = "[[external]]\nname = \"other\"\nsarif = \"other.sarif\"\n";
    let root = repo(policy, &[("other.sarif", &other)]);
    let run = check(root.path(), "secrets");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("[[external]] tool (other) but the external scanner was not selected"),
        "{}",
        run.stderr
    );
    // Under Warnings, not a note the reader may skip.
    let warnings = run.stderr.split("Warnings:").nth(1).unwrap_or("");
    assert!(warnings.contains("not selected"), "{}", run.stderr);
    // Selected: it runs, and no warning.
    let run = check(root.path(), "secrets,external");
    assert!(!run.stderr.contains("not selected"), "{}", run.stderr);
    run_by_id(&run.sarif, "secgate/external/other/");
}

#[test]
fn a_command_without_out_is_read_from_stdout() {
    // No `{out}`: the SARIF is what the command prints; stderr is not part of it.
    let other = std::fs::read_to_string(fixture("external/other.sarif")).unwrap();
    let policy = "[[external]]\nname = \"printer\"\ncommand = [\"sh\", \"-c\", \"echo progress >&2; cat other.sarif\"]\n";
    let root = repo(policy, &[("other.sarif", other.as_bytes())]);
    let out = tempfile::tempdir().unwrap();
    let sarif = out.path().join("out.sarif");
    let output = secgate(out.path())
        .arg("check")
        .arg(root.path())
        .args(["--scanners", "external", "--sarif"])
        .arg(&sarif)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        !stderr.contains("progress"),
        "the tool's output is not echoed: {stderr}"
    );
    let document: Value = serde_json::from_slice(&std::fs::read(&sarif).unwrap()).unwrap();
    assert!(schema_errors(&document).is_empty());
    let run = run_by_id(&document, "secgate/external/printer/");
    assert_eq!(run["tool"]["driver"]["name"], "OtherScan");
    assert_eq!(
        result_for(run, "OS100")["properties"]["severity"],
        "critical"
    );
    // Stdout that is not SARIF: the tool failed, exit 2.
    let policy = "[[external]]\nname = \"chatty\"\ncommand = [\"echo\", \"all good\"]\n";
    let root = repo(policy, &[]);
    let run = check(root.path(), "external");
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("external/chatty"), "{}", run.stderr);
}
