//! No planted credential leaves secgate: not in any file it writes, not on
//! stdout, not on stderr, whatever the command or output format. Values
//! are the built-in rules' own examples, so each one is really found.

mod common;
use common::{fixture, git, secgate};

use secgate::scan::secrets::matcher::find_secrets;
use secgate::scan::secrets::rules::RuleSet;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Rules whose first example goes into the tree, and the file it goes in.
const PLANTED: [(&str, &str); 14] = [
    ("github-personal-access-token", "src/config.rs"),
    ("aws-secret-access-key", ".env"),
    ("slack-bot-token", "deploy/values.yaml"),
    ("stripe-live-secret-key", "app/settings.py"),
    ("gitlab-pat", "ci/.gitlab-ci.yml"),
    ("npm-access-token", ".npmrc"),
    ("sendgrid-api-key", "config/mail.json"),
    ("openai-project-api-key", "notebooks/run.sh"),
    ("postgres-connection-uri", "docker-compose.yml"),
    ("hashicorp-vault-service-token", "scripts/vault.toml"),
    ("twilio-auth-token", "web/index.js"),
    ("digitalocean-pat", "infra/main.tf"),
    ("mailgun-api-key", "README.md"),
    ("shopify-access-token", "shop/Config.java"),
];

/// The secret value inside a rule's example, exactly as the scanner sees it.
fn value_of(rules: &RuleSet, id: &str) -> (String, String) {
    let index = rules.rules.iter().position(|r| r.id == id).unwrap();
    let example = rules.rules[index].examples[0].clone();
    let found = find_secrets(rules, example.as_bytes());
    let hit = found
        .iter()
        .find(|m| m.rule == index)
        .unwrap_or_else(|| panic!("{id}: example not found"));
    (example.clone(), example[hit.start..hit.end].to_string())
}

struct Planted {
    dir: tempfile::TempDir,
    values: Vec<(String, String)>,
}

impl Planted {
    fn repo(&self) -> PathBuf {
        self.dir.path().join("repo")
    }
}

/// A git repository with a vulnerable Cargo.lock and the credentials: in
/// the tree, one only base64-wrapped, one only in history, one only staged.
fn plant() -> Planted {
    let rules = RuleSet::builtin().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    let mut values = Vec::new();
    for (id, file) in PLANTED {
        let (example, value) = value_of(&rules, id);
        let path = repo.join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, format!("# settings\n{example}\n")).unwrap();
        values.push((id.to_string(), value));
    }
    std::fs::copy(
        fixture("repos/vulnerable/Cargo.lock"),
        repo.join("Cargo.lock"),
    )
    .unwrap();

    // Only base64-wrapped, as in a Kubernetes Secret.
    use base64::Engine;
    let (example, value) = value_of(&rules, "github-oauth-token");
    let wrapped = base64::engine::general_purpose::STANDARD.encode(example.as_bytes());
    std::fs::write(
        repo.join("k8s-secret.yaml"),
        format!("apiVersion: v1\nkind: Secret\ndata:\n  env: {wrapped}\n"),
    )
    .unwrap();
    values.push(("github-oauth-token (base64)".to_string(), value));

    // Only in history: committed, then removed.
    let (example, value) = value_of(&rules, "datadog-api-key");
    std::fs::write(repo.join("old.env"), format!("{example}\n")).unwrap();
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "add everything"]);
    std::fs::remove_file(repo.join("old.env")).unwrap();
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "remove old.env"]);
    values.push(("datadog-api-key (history)".to_string(), value));

    // Only staged.
    let (example, value) = value_of(&rules, "linear-api-key");
    std::fs::write(repo.join("staged.env"), format!("{example}\n")).unwrap();
    git(&repo, &["add", "staged.env"]);
    values.push(("linear-api-key (staged)".to_string(), value));
    Planted { dir, values }
}

/// Every window of 12 characters of every planted value, with its origin.
fn needles(values: &[(String, String)]) -> Vec<(String, String)> {
    let mut needles = Vec::new();
    for (id, value) in values {
        let chars: Vec<char> = value.chars().collect();
        assert!(chars.len() >= 12, "{id}: value too short to test");
        for window in chars.windows(12) {
            needles.push((id.clone(), window.iter().collect()));
        }
    }
    needles
}

/// Everything secgate produced: its stdout, stderr and every file in `out`.
struct Produced {
    texts: Vec<(String, String)>,
}

impl Produced {
    fn add(&mut self, name: impl Into<String>, bytes: &[u8]) {
        self.texts
            .push((name.into(), String::from_utf8_lossy(bytes).into_owned()));
    }

    fn assert_clean(&self, values: &[(String, String)]) {
        let needles = needles(values);
        for (name, text) in &self.texts {
            for (id, needle) in &needles {
                assert!(
                    !text.contains(needle.as_str()),
                    "{id}: part of the planted value appears in {name}"
                );
            }
        }
    }
}

#[test]
fn no_planted_value_appears_in_any_output() {
    let planted = plant();
    let repo = planted.repo();
    let out = planted.dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let home = planted.dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let db = fixture("advisory-db");
    let db = db.to_str().unwrap();
    let baseline = out.join("baseline.json");
    let baseline = baseline.to_str().unwrap();
    let report = |name: &str| out.join(name).to_str().unwrap().to_string();
    let github = || vec!["--format".to_string(), "github".to_string()];

    let mut produced = Produced { texts: Vec::new() };
    // The secrets scanner's rule ids per run, by the run's label.
    let mut found: Vec<(String, BTreeSet<String>)> = Vec::new();
    let runs: Vec<(&str, Vec<String>)> = vec![
        ("check", vec![]),
        ("check", vec!["-q".into()]),
        (
            "check",
            vec!["--sbom-format".into(), "cyclonedx-xml-1.5".into()],
        ),
        ("check", vec!["--sbom-per-member".into()]),
        ("secrets", vec![]),
        ("secrets", vec!["--history".into()]),
        ("secrets", vec!["--staged".into()]),
        ("secrets", vec!["--history".into(), "-q".into()]),
        ("audit", vec![]),
        ("sbom", vec![]),
        ("baseline", vec!["--output".into(), baseline.into()]),
        ("check", vec!["--baseline".into(), baseline.into()]),
        ("check", vec!["--fail-on".into(), "none".into()]),
        // The GitHub Action's outputs: annotations on stdout, the step
        // summary (GITHUB_STEP_SUMMARY, in `out`) and the JSON gate report.
        (
            "check",
            [github(), vec!["--report".into(), report("gate.json")]].concat(),
        ),
        ("secrets", [github(), vec!["--history".into()]].concat()),
        (
            "check",
            [github(), vec!["--new-since".into(), "HEAD~1".into()]].concat(),
        ),
        (
            "check",
            vec!["-q".into(), "--report".into(), report("gate-quiet.json")],
        ),
        ("check", vec!["--verbose".into()]),
        ("secrets", vec!["--history".into(), "-v".into()]),
    ];
    for (index, (command, extra)) in runs.iter().enumerate() {
        let sarif = out.join(format!("run{index}.sarif"));
        let sbom = out.join(format!("run{index}.cdx.json"));
        let output = secgate(&home)
            .current_dir(&out)
            .env("GITHUB_STEP_SUMMARY", out.join("step-summary.md"))
            .arg(command)
            .arg(&repo)
            .args(["--db", db])
            .arg("--sarif")
            .arg(&sarif)
            .arg("--sbom")
            .arg(&sbom)
            .args(extra)
            .output()
            .unwrap();
        let label = format!("secgate {command} {}", extra.join(" "));
        let code = output.status.code();
        assert!(
            matches!(code, Some(0) | Some(1)),
            "{label}: {code:?} {}",
            String::from_utf8_lossy(&output.stderr)
        );
        produced.add(format!("stdout of {label}"), &output.stdout);
        produced.add(format!("stderr of {label}"), &output.stderr);
        if let Ok(bytes) = std::fs::read(&sarif) {
            found.push((label.clone(), secret_rule_ids(&bytes)));
        }
    }
    // The other commands: init, db status (no database, exit 2), --help.
    for args in [
        vec!["init".to_string(), out.to_str().unwrap().to_string()],
        vec!["db".to_string(), "status".to_string()],
        vec!["--help".to_string()],
    ] {
        let output = secgate(&home)
            .current_dir(&repo)
            .args(&args)
            .output()
            .unwrap();
        produced.add(format!("stdout of {args:?}"), &output.stdout);
        produced.add(format!("stderr of {args:?}"), &output.stderr);
    }
    // The git hooks, run from inside the repository as git runs them.
    let head = git(&repo, &["rev-parse", "HEAD"]);
    let push_line = format!(
        "refs/heads/main {} refs/heads/main {}\n",
        head.trim(),
        "0".repeat(40)
    );
    for (hook, stdin) in [("pre-push", push_line.as_str()), ("pre-commit", "")] {
        let output = secgate(&home)
            .current_dir(&repo)
            .args(["hook", hook, "--db", db])
            .write_stdin(stdin)
            .output()
            .unwrap();
        assert_eq!(
            output.status.code(),
            Some(1),
            "hook {hook} finds the planted values: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        produced.add(format!("stdout of hook {hook}"), &output.stdout);
        produced.add(format!("stderr of hook {hook}"), &output.stderr);
    }
    assert!(
        out.join("step-summary.md").is_file(),
        "the step summary was written"
    );
    assert!(
        out.join("gate.json").is_file(),
        "the gate report was written"
    );
    // Every file written anywhere in the scratch directory but the repository.
    let mut files = 0;
    for root in [&out, &home] {
        for entry in walk(root) {
            produced.add(entry.display().to_string(), &std::fs::read(&entry).unwrap());
            files += 1;
        }
    }
    assert!(files >= runs.len(), "the outputs were written: {files}");
    // Every planted value was found by the secrets scanner where it lives,
    // else the no-leak check below is vacuous for it.
    let found_by = |label: &str| -> &BTreeSet<String> {
        &found
            .iter()
            .find(|(l, _)| l.trim_end() == label)
            .unwrap_or_else(|| panic!("no SARIF from {label}"))
            .1
    };
    let in_tree = found_by("secgate check");
    for id in PLANTED
        .iter()
        .map(|(id, _)| *id)
        .chain(["github-oauth-token"])
    {
        assert!(in_tree.contains(id), "{id} not found: {in_tree:?}");
    }
    for (label, id) in [
        ("secgate secrets --history", "datadog-api-key"),
        ("secgate secrets --staged", "linear-api-key"),
    ] {
        let ids = found_by(label);
        assert!(ids.contains(id), "{label}: {id} not found: {ids:?}");
    }
    produced.assert_clean(&planted.values);
}

/// The rule ids of the secrets scanner's results in a SARIF file.
fn secret_rule_ids(sarif: &[u8]) -> BTreeSet<String> {
    let value: serde_json::Value = serde_json::from_slice(sarif).unwrap();
    value["runs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|run| run["automationDetails"]["id"] == "secgate/secrets/")
        .flat_map(|run| run["results"].as_array().unwrap())
        .map(|result| result["ruleId"].as_str().unwrap().to_string())
        .collect()
}

/// The history and staged values are really found there (else the
/// no-leak assertion above proves nothing for them).
#[test]
fn history_staged_and_base64_values_are_found() {
    let planted = plant();
    let home = planted.dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    for (args, rule, encoded) in [
        (vec!["--history"], "datadog-api-key", false),
        (vec!["--staged"], "linear-api-key", false),
        (vec![], "github-oauth-token", true),
    ] {
        let sarif = planted.dir.path().join("s.sarif");
        let output = secgate(&home)
            .arg("secrets")
            .arg(planted.repo())
            .arg("--sarif")
            .arg(&sarif)
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        let text = std::fs::read_to_string(&sarif).unwrap();
        let ids = secret_rule_ids(text.as_bytes());
        assert!(ids.contains(rule), "{args:?}: {rule} not found: {ids:?}");
        if encoded {
            assert!(text.contains("base64"), "{args:?}");
        }
    }
}

#[test]
fn a_panic_never_prints_its_payload() {
    let home = tempfile::tempdir().unwrap();
    // secgate:allow: a made-up credential for this test
    let value = "ghp_R3kq9ZbW2xLm7TvN4pQs8YdF1hJc6GaE0uKi";
    let output = secgate(home.path())
        .env("SECGATE_TEST_PANIC", value)
        .arg("--help")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_ne!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("internal error"), "{stderr}");
    let mut produced = Produced { texts: Vec::new() };
    produced.add("stderr", &output.stderr);
    produced.add("stdout", &output.stdout);
    produced.assert_clean(&[("panic payload".to_string(), value.to_string())]);
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if entry.file_type().unwrap().is_dir() {
            files.extend(walk(&path));
        } else if entry.file_type().unwrap().is_file() {
            files.push(path);
        }
    }
    files
}
