//! The composite action (`action.yml`), run the way a runner would: each
//! `run:` step with bash, its `env:` resolved from the inputs and earlier
//! steps' outputs, fake GITHUB_* files, and the secgate built by cargo in
//! place of the install step (`SECGATE_BIN`). `uses:` steps are checked for
//! their inputs, not run.

mod common;

use serde_norway::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn action() -> Value {
    let text = std::fs::read_to_string(manifest_dir().join("action.yml")).unwrap();
    serde_norway::from_str(&text).unwrap()
}

fn steps(action: &Value) -> Vec<Value> {
    action["runs"]["steps"].as_sequence().unwrap().clone()
}

fn str_of<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}

/// Replaces `${{ expr }}` in an env value. A step output never set is empty,
/// as on GitHub; any other unknown expression is a test failure.
fn resolve(text: &str, context: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("}}").expect("closed expression") + start;
        let expr = rest[start + 3..end].trim();
        let value = match context.get(expr) {
            Some(value) => value.as_str(),
            None if expr.starts_with("steps.") && expr.contains(".outputs.") => "",
            None => panic!("unresolved expression `{expr}`"),
        };
        out.push_str(value);
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out
}

fn parse_outputs(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

struct ActionRun {
    outputs: BTreeMap<String, String>,
    /// Exit status of each run step by id or name.
    statuses: Vec<(String, i32)>,
    check_stdout: String,
    summary: String,
    workspace: tempfile::TempDir,
}

fn run_action(fixture: &str, inputs: &[(&str, &str)]) -> ActionRun {
    run_action_with(fixture, &[], inputs)
}

/// `run_action` with `files` (name, content) added to the fixture's copy.
fn run_action_with(fixture: &str, files: &[(&str, &[u8])], inputs: &[(&str, &str)]) -> ActionRun {
    // The steps run jq from PATH (GitHub's runners have it).
    common::require(
        "jq (the action's steps run it from PATH)",
        None,
        &common::on_path("jq"),
        common::SETUP,
    );
    let action = action();
    let workspace = tempfile::tempdir().unwrap();
    let temp = workspace.path().join("runner-temp");
    std::fs::create_dir_all(&temp).unwrap();
    let repo = workspace.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    for entry in
        std::fs::read_dir(manifest_dir().join("tests/fixtures/repos").join(fixture)).unwrap()
    {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), repo.join(entry.file_name())).unwrap();
    }
    for (name, content) in files {
        std::fs::write(repo.join(name), content).unwrap();
    }
    let summary = workspace.path().join("step-summary.md");
    let github_env = workspace.path().join("github-env");
    let event = workspace.path().join("event.json");
    std::fs::write(&event, "{}").unwrap();
    std::fs::write(&summary, "").unwrap();
    std::fs::write(&github_env, "").unwrap();

    let mut context = BTreeMap::new();
    for (name, spec) in action["inputs"].as_mapping().unwrap() {
        let name = name.as_str().unwrap();
        let default = str_of(spec, "default").unwrap_or("").to_string();
        context.insert(format!("inputs.{name}"), default);
    }
    context.insert("inputs.path".into(), "repo".into());
    for (name, value) in inputs {
        assert!(
            context.contains_key(&format!("inputs.{name}")),
            "no input {name}"
        );
        context.insert(format!("inputs.{name}"), value.to_string());
    }
    context.insert(
        "github.action_path".into(),
        manifest_dir().display().to_string(),
    );
    context.insert("runner.temp".into(), temp.display().to_string());

    let binary = assert_cmd::cargo::cargo_bin("secgate");
    let mut statuses = Vec::new();
    let mut check_stdout = String::new();
    for (index, step) in steps(&action).iter().enumerate() {
        let Some(script) = str_of(step, "run") else {
            continue;
        };
        let id = str_of(step, "id").unwrap_or("").to_string();
        let condition = str_of(step, "if").unwrap_or("success()");
        let failed_before = statuses.iter().any(|(_, code)| *code != 0);
        if failed_before && !condition.contains("always()") {
            continue;
        }
        let output_file = workspace.path().join(format!("output-{index}"));
        std::fs::write(&output_file, "").unwrap();
        let mut command = std::process::Command::new("bash");
        command
            .arg("--noprofile")
            .arg("--norc")
            .arg("-eo")
            .arg("pipefail")
            .arg("-c")
            .arg(script)
            .current_dir(workspace.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap())
            .env("HOME", workspace.path())
            .env("XDG_CACHE_HOME", workspace.path().join("cache"))
            .env("SECGATE_DB_URL", "http://127.0.0.1:9/advisory-db.tar.gz")
            .env("GITHUB_ACTIONS", "true")
            .env("CI", "true")
            .env("GITHUB_WORKSPACE", workspace.path())
            .env("GITHUB_OUTPUT", &output_file)
            .env("GITHUB_STEP_SUMMARY", &summary)
            .env("GITHUB_ENV", &github_env)
            .env("GITHUB_EVENT_PATH", &event)
            .env("RUNNER_TEMP", &temp)
            .env("SECGATE_BIN", &binary)
            .env(
                "SECGATE_DB",
                manifest_dir().join("tests/fixtures/advisory-db"),
            );
        if let Some(env) = step.get("env").and_then(Value::as_mapping) {
            for (key, value) in env {
                let value = match value {
                    Value::String(s) => s.clone(),
                    other => serde_norway::to_string(other).unwrap().trim().to_string(),
                };
                command.env(key.as_str().unwrap(), resolve(&value, &context));
            }
        }
        let output = command.output().unwrap();
        let code = output.status.code().unwrap_or(-1);
        if id == "check" {
            check_stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        }
        assert!(
            id != "install" || code == 0,
            "install step: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        if !id.is_empty() {
            let outputs = parse_outputs(&std::fs::read_to_string(&output_file).unwrap());
            for (key, value) in outputs {
                context.insert(format!("steps.{id}.outputs.{key}"), value);
            }
        }
        statuses.push((
            if id.is_empty() {
                str_of(step, "name").unwrap_or("").to_string()
            } else {
                id
            },
            code,
        ));
    }
    let mut outputs = BTreeMap::new();
    for (name, spec) in action["outputs"].as_mapping().unwrap() {
        let value = str_of(spec, "value").unwrap();
        outputs.insert(name.as_str().unwrap().to_string(), resolve(value, &context));
    }
    ActionRun {
        outputs,
        statuses,
        check_stdout,
        summary: std::fs::read_to_string(&summary).unwrap(),
        workspace,
    }
}

#[test]
fn inputs_outputs_and_step_hygiene() {
    let action = action();
    assert_eq!(action["runs"]["using"], "composite");
    for input in [
        "path",
        "config",
        "scanners",
        "fail-on",
        "sarif-file",
        "sbom-file",
        "upload-sarif",
        "history",
        "version",
    ] {
        assert!(action["inputs"].get(input).is_some(), "input {input}");
    }
    assert_eq!(action["inputs"]["upload-sarif"]["default"], "true");
    for output in [
        "verdict",
        "exit-code",
        "sarif-file",
        "sbom-file",
        "critical",
        "high",
        "medium",
        "low",
        "info",
    ] {
        assert!(action["outputs"].get(output).is_some(), "output {output}");
    }
    for step in steps(&action) {
        if let Some(script) = str_of(&step, "run") {
            assert_eq!(str_of(&step, "shell"), Some("bash"), "{step:?}");
            assert!(
                !script.contains("${{"),
                "expressions go through env, not the script: {script}"
            );
        }
    }
}

#[test]
fn uses_steps_have_the_right_inputs() {
    let steps = steps(&action());
    let upload = steps
        .iter()
        .find(|s| {
            str_of(s, "uses").is_some_and(|u| u.starts_with("github/codeql-action/upload-sarif@"))
        })
        .expect("an upload-sarif step");
    assert_eq!(
        str_of(upload, "uses"),
        Some("github/codeql-action/upload-sarif@v3")
    );
    let condition = str_of(upload, "if").unwrap();
    assert!(
        condition.contains("always()") && condition.contains("inputs.upload-sarif"),
        "{condition}"
    );
    assert_eq!(
        upload["with"]["sarif_file"],
        "${{ steps.check.outputs.sarif-file }}"
    );
    assert!(str_of(&upload["with"], "category").is_some());
    let caches: Vec<_> = steps
        .iter()
        .filter(|s| str_of(s, "uses").is_some_and(|u| u.starts_with("actions/cache@")))
        .collect();
    assert_eq!(caches.len(), 2, "the cargo build and the advisory database");
    assert!(caches.iter().any(|c| str_of(&c["with"], "path")
        .unwrap()
        .contains(".cache/secgate")));
    assert!(caches.iter().all(|c| str_of(&c["with"], "key").is_some()));
    // The upload comes before the step that fails the job.
    let upload_at = steps.iter().position(|s| std::ptr::eq(s, upload)).unwrap();
    let last = steps.last().unwrap();
    assert!(str_of(last, "run").unwrap().contains("EXIT_CODE"));
    assert!(upload_at < steps.len() - 1);
    assert_eq!(str_of(last, "if"), Some("always()"));
}

#[test]
fn fixture_with_findings_fails_with_annotations_and_summary() {
    let run = run_action("mixed", &[]);
    assert_eq!(run.outputs["verdict"], "fail", "{:?}", run.statuses);
    assert_eq!(run.outputs["exit-code"], "1");
    assert_eq!(run.outputs["sarif-file"], "secgate.sarif");
    assert!(run.workspace.path().join("secgate.sarif").is_file());
    assert_eq!(run.outputs["sbom-file"], "sbom.cdx.json");
    let high: u32 = run.outputs["high"].parse().unwrap();
    let critical: u32 = run.outputs["critical"].parse().unwrap();
    assert!(high + critical >= 1, "{:?}", run.outputs);
    let statuses: BTreeMap<_, _> = run.statuses.iter().cloned().collect();
    assert_eq!(
        statuses["check"], 0,
        "the check step captures the exit code"
    );
    assert_eq!(
        run.statuses.last().unwrap().1,
        1,
        "the final step fails by it"
    );
    let annotations: Vec<_> = run
        .check_stdout
        .lines()
        .filter(|l| l.starts_with("::"))
        .collect();
    assert!(
        !annotations.is_empty() && annotations.len() <= 10,
        "{}",
        run.check_stdout
    );
    assert!(
        run.check_stdout.contains("file=repo/deploy.env,line="),
        "{}",
        run.check_stdout
    );
    assert!(
        run.summary.contains("## secgate: ❌ FAIL"),
        "{}",
        run.summary
    );
    assert!(run.summary.contains("| secrets |"), "{}", run.summary);
}

#[test]
fn clean_fixture_passes() {
    let run = run_action("clean", &[("sarif-file", "out/clean.sarif")]);
    // The output directory does not exist: secgate says so and the action reports an error.
    assert_eq!(run.outputs["verdict"], "error", "{:?}", run.statuses);
    let run = run_action("clean", &[]);
    assert_eq!(run.outputs["verdict"], "pass", "{:?}", run.statuses);
    assert_eq!(run.outputs["exit-code"], "0");
    assert_eq!(run.outputs["high"], "0");
    assert!(
        run.statuses.iter().all(|(_, code)| *code == 0),
        "{:?}",
        run.statuses
    );
    assert!(run.check_stdout.lines().all(|l| !l.starts_with("::error")));
    assert!(
        run.summary.contains("## secgate: ✅ PASS"),
        "{}",
        run.summary
    );
}

#[test]
fn the_action_runs_the_policys_external_tools_by_default() {
    // Same default as the CLI: a team's [[external]] tools are never
    // skipped by the Action without a word.
    let help = std::process::Command::new(assert_cmd::cargo::cargo_bin("secgate"))
        .args(["check", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    let default = str_of(&action()["inputs"]["scanners"], "default")
        .unwrap()
        .to_string();
    assert!(
        help.contains(&format!("[default: {default}]")),
        "the action's scanners default {default} is not the CLI's: {help}"
    );
    let other = std::fs::read(manifest_dir().join("tests/fixtures/external/other.sarif")).unwrap();
    let policy = b"[[external]]\nname = \"other\"\nsarif = \"other.sarif\"\n";
    let run = run_action_with(
        "python",
        &[("secgate.toml", policy), ("other.sarif", &other)],
        &[],
    );
    assert_eq!(run.outputs["verdict"], "fail", "{:?}", run.statuses);
    let sarif: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.workspace.path().join("secgate.sarif")).unwrap())
            .unwrap();
    let ids: Vec<&str> = sarif["runs"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["automationDetails"]["id"].as_str())
        .collect();
    assert!(ids.contains(&"secgate/external/other/"), "{ids:?}");
}
