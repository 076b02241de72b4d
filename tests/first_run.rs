//! Never green by accident: what a new user's repository holds that a gate
//! must not pass over. Committed files that ignore files match, lock files
//! of ecosystems secgate does not read, test fixtures that must be left out
//! on purpose (and said so), and first-run friction (error layout, file
//! modes, relative paths, honest labels).

mod common;

use common::{fixture, git, secgate};
use serde_json::Value;
use std::path::{Path, PathBuf};

// secgate:allow: a made-up credential for this test
const TOKEN: &str = "ghp_R3kq9ZbW2xLm7TvN4pQs8YdF1hJc6GaE0uKi";

struct Run {
    code: i32,
    stderr: String,
    sarif: Value,
}

impl Run {
    fn run_of(&self, scanner: &str) -> &Value {
        self.sarif["runs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["automationDetails"]["id"] == format!("secgate/{scanner}/"))
            .unwrap_or_else(|| panic!("no {scanner} run: {}", self.stderr))
    }

    /// `(path, rule)` of each result of `scanner`'s run.
    fn results(&self, scanner: &str) -> Vec<(String, String)> {
        self.run_of(scanner)["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                        .as_str()
                        .unwrap_or("")
                        .to_string(),
                    r["ruleId"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }

    fn paths(&self, scanner: &str) -> Vec<String> {
        let mut paths: Vec<String> = self.results(scanner).into_iter().map(|(p, _)| p).collect();
        paths.sort();
        paths.dedup();
        paths
    }

    /// The summary's verdict block: the verdict line and its reasons.
    fn verdict_block(&self) -> &str {
        let start = self.stderr.find("Verdict:").expect("a verdict line");
        let end = self.stderr[start..]
            .find("SARIF:")
            .map_or(self.stderr.len(), |e| start + e);
        &self.stderr[start..end]
    }
}

/// `secgate <args> ROOT` with the fixture database, outputs outside ROOT.
fn run_in(root: &Path, args: &[&str], env: &[(&str, &Path)]) -> Run {
    let out = tempfile::tempdir().unwrap();
    let sarif = out.path().join("out.sarif");
    let mut command = secgate(out.path());
    command
        .args(args)
        .arg(root)
        .arg("--db")
        .arg(fixture("advisory-db"))
        .arg("--osv-db")
        .arg(fixture("osv"))
        .arg("--offline")
        .arg("--sarif")
        .arg(&sarif)
        .arg("--sbom")
        .arg(out.path().join("sbom.json"));
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        sarif: serde_json::from_slice(&std::fs::read(&sarif).unwrap_or_default())
            .unwrap_or(Value::Null),
    }
}

fn write(path: &Path, content: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
}

fn vulnerable_lock() -> String {
    std::fs::read_to_string(fixture("repos/vulnerable/Cargo.lock")).unwrap()
}

/// A git repository holding a vulnerable `Cargo.lock` and a token in
/// `deploy.env`, both committed, plus `ignore_files` (committed too).
fn repository(ignore_files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir(&repo).unwrap();
    git(&repo, &["init", "-q"]);
    write(&repo.join("Cargo.lock"), &vulnerable_lock());
    write(&repo.join("deploy.env"), &format!("TOKEN={TOKEN}\n"));
    for (name, content) in ignore_files {
        write(&repo.join(name), content);
    }
    git(&repo, &["add", "-f", "."]);
    git(&repo, &["commit", "-qm", "init"]);
    dir
}

/// Both walking scanners found what the repository commits.
fn assert_committed_files_checked(run: &Run) {
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.paths("advisories"), ["Cargo.lock"], "{}", run.stderr);
    assert_eq!(run.paths("secrets"), ["deploy.env"], "{}", run.stderr);
    assert!(run.stderr.contains("FAIL"), "{}", run.stderr);
}

#[test]
fn committed_files_that_gitignore_matches_are_checked() {
    // rust-lang/cargo commits its Cargo.lock though .gitignore lists it.
    let dir = repository(&[(".gitignore", "/Cargo.lock\n*.env\n")]);
    let repo = dir.path().join("repo");
    // Untracked files still follow .gitignore.
    write(&repo.join("local.env"), &format!("TOKEN={TOKEN}\n"));
    let run = run_in(&repo, &["check"], &[]);
    assert_committed_files_checked(&run);
}

#[test]
fn a_committed_ignore_file_hides_nothing() {
    let dir = repository(&[(".ignore", "*\n")]);
    let run = run_in(&dir.path().join("repo"), &["check"], &[]);
    assert_committed_files_checked(&run);
}

#[test]
fn global_and_parent_excludes_hide_nothing_committed() {
    let dir = repository(&[]);
    let repo = dir.path().join("repo");
    // An ignore file above the repository, and a global excludes file.
    write(&dir.path().join(".ignore"), "*\n");
    write(&dir.path().join(".gitignore"), "*\n");
    let excludes = dir.path().join("global-excludes");
    write(&excludes, "*\n");
    let config = dir.path().join("gitconfig");
    write(
        &config,
        &format!("[core]\n\texcludesFile = {}\n", excludes.display()),
    );
    let run = run_in(&repo, &["check"], &[("GIT_CONFIG_GLOBAL", &config)]);
    assert_committed_files_checked(&run);
}

#[test]
fn outside_git_ignore_files_still_apply() {
    // Today's behaviour outside a work tree: secrets honour .gitignore,
    // the lock-file search does not (a library lists Cargo.lock there).
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(&root.join(".gitignore"), "/Cargo.lock\n*.env\n");
    write(&root.join("Cargo.lock"), &vulnerable_lock());
    write(&root.join("deploy.env"), &format!("TOKEN={TOKEN}\n"));
    let run = run_in(root, &["check"], &[]);
    assert_eq!(run.paths("advisories"), ["Cargo.lock"], "{}", run.stderr);
    assert!(run.paths("secrets").is_empty(), "{}", run.stderr);
}

#[test]
fn test_fixture_lock_files_are_excluded_by_name_and_said_so() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repo");
    std::fs::create_dir(&root).unwrap();
    git(&root, &["init", "-q"]);
    write(
        &root.join("Cargo.lock"),
        &std::fs::read_to_string(fixture("repos/clean/Cargo.lock")).unwrap(),
    );
    // cargo's own test suite holds deliberately broken lock files.
    write(
        &root.join("tests/testsuite/broken/Cargo.lock"),
        "[[package]]\nname = \"x\"\nversion = \"not a version\"\n",
    );
    write(
        &root.join("tests/testsuite/old/Cargo.lock"),
        &vulnerable_lock(),
    );
    git(&root, &["add", "."]);
    let run = run_in(&root, &["audit"], &[]);
    assert_eq!(run.code, 2, "a broken lock fails closed: {}", run.stderr);

    write(
        &root.join("secgate.toml"),
        "[advisories]\nexclude = [\"tests/testsuite/\"]   # fixtures, never built\n",
    );
    let run = run_in(&root, &["audit"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("1 path excluded by advisories.exclude: tests/testsuite/"),
        "{}",
        run.stderr
    );
    assert_eq!(
        run.run_of("advisories")["properties"]["excludedPaths"],
        serde_json::json!(["tests/testsuite/"])
    );
    // A bad glob is a policy error at its line.
    write(
        &root.join("secgate.toml"),
        "[advisories]\nexclude = [\"a/{b\"]\n",
    );
    let run = run_in(&root, &["audit"], &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("secgate.toml:2:"), "{}", run.stderr);
    assert!(run.stderr.contains("advisories.exclude"), "{}", run.stderr);
}

/// A FastAPI backend and a TypeScript frontend, laid out as
/// fastapi/full-stack-fastapi-template is today: a uv workspace and a bun
/// workspace at the root, no Cargo.lock anywhere; and a Ruby tool.
fn python_and_typescript_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        &root.join("pyproject.toml"),
        "[tool.uv.workspace]\nmembers = [\"backend\"]\n",
    );
    write(
        &root.join("uv.lock"),
        "version = 1\nrequires-python = \">=3.10, <4.0\"\n\n[[package]]\nname = \"fastapi\"\nversion = \"0.115.0\"\nsource = { registry = \"https://pypi.org/simple\" }\n",
    );
    write(
        &root.join("backend/pyproject.toml"),
        "[project]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\"fastapi[standard]<1.0.0,>=0.114.2\"]\n",
    );
    write(
        &root.join("package.json"),
        "{\n  \"name\": \"full-stack\",\n  \"workspaces\": [\"frontend\"]\n}\n",
    );
    write(
        &root.join("bun.lock"),
        "{\n  \"lockfileVersion\": 1,\n  \"workspaces\": { \"\": { \"name\": \"full-stack\" } },\n  \"packages\": {}\n}\n",
    );
    write(
        &root.join("frontend/package.json"),
        "{\n  \"name\": \"frontend\",\n  \"dependencies\": { \"react\": \"^19.1.0\" }\n}\n",
    );
    write(
        &root.join("scripts/requirements-dev.txt"),
        "pytest==7.4.0\n",
    );
    // An ecosystem secgate does not read yet.
    write(
        &root.join("tools/Gemfile.lock"),
        "GEM\n  remote: https://rubygems.org/\n  specs:\n    rake (13.0.6)\n",
    );
    dir
}

#[test]
fn python_locks_are_checked_and_without_their_advisories_the_gate_cannot_pass() {
    let project = python_and_typescript_project();
    let run = run_in(project.path(), &["check", "--scanners", "advisories"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("2 Python lock files, "),
        "{}",
        run.stderr
    );
    // The bun workspace pins no registry package yet: read, nothing to match.
    assert!(
        run.stderr
            .contains("1 npm lock file, no npm registry packages pinned"),
        "{}",
        run.stderr
    );
    // No PyPI archive at all (no cache, no --osv-db): could not check.
    let out = tempfile::tempdir().unwrap();
    let output = secgate(out.path())
        .args(["check", "--scanners", "advisories", "--offline", "--db"])
        .arg(fixture("advisory-db"))
        .arg("--sarif")
        .arg(out.path().join("out.sarif"))
        .arg(project.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no PyPI advisories"), "{stderr}");
    assert!(stderr.contains("secgate db update"), "{stderr}");
    assert!(stderr.contains("--osv-db DIR"), "{stderr}");
}

#[test]
fn lock_files_of_unchecked_ecosystems_are_listed_never_passed_over() {
    let project = python_and_typescript_project();
    let out = tempfile::tempdir().unwrap();
    let summary = out.path().join("step-summary.md");
    std::fs::write(&summary, "").unwrap();
    let run = run_in(
        project.path(),
        &["check", "--format", "github"],
        &[("GITHUB_STEP_SUMMARY", &summary)],
    );
    assert_eq!(run.code, 0, "warn by default: {}", run.stderr);
    for expected in [
        "Found, not checked (1 dependency file",
        "RubyGems    tools/Gemfile.lock",
        "1 dependency file found, not checked (RubyGems: 1)",
    ] {
        assert!(
            run.stderr.contains(expected),
            "no {expected:?}: {}",
            run.stderr
        );
    }
    // The manifests beside the locks are covered by them.
    assert!(
        !run.stderr.contains("frontend/package.json"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("backend/pyproject.toml"),
        "{}",
        run.stderr
    );
    let notifications: Vec<String> = run.run_of("advisories")["invocations"][0]
        ["toolExecutionNotifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["message"]["text"].as_str().unwrap().to_string())
        .collect();
    assert!(
        notifications
            .iter()
            .any(|n| n.starts_with("found, not checked: tools/Gemfile.lock (RubyGems lock file")),
        "{notifications:?}"
    );
    let markdown = std::fs::read_to_string(&summary).unwrap();
    assert!(markdown.contains("### Found, not checked"), "{markdown}");
    assert!(
        markdown.contains("| RubyGems | `tools/Gemfile.lock` |"),
        "{markdown}"
    );
    assert!(!markdown.contains("uv.lock"), "checked now: {markdown}");
    assert!(!markdown.contains("bun.lock"), "checked now: {markdown}");

    write(
        &project.path().join("secgate.toml"),
        "[advisories]\nunchecked-ecosystems = \"fail\"\n",
    );
    let run = run_in(project.path(), &["check"], &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.verdict_block()
            .contains("1 dependency file found, not checked"),
        "{}",
        run.stderr
    );
    // Excluding what does not ship is the way out, and is said.
    write(
        &project.path().join("secgate.toml"),
        "[advisories]\nunchecked-ecosystems = \"fail\"\nexclude = [\"uv.lock\", \"pyproject.toml\", \"bun.lock\", \"package.json\", \"scripts/\", \"tools/\"]\n",
    );
    let run = run_in(project.path(), &["check"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("8 paths excluded by advisories.exclude"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_multi_line_parser_error_is_one_located_line_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    // toml's message for this spans five lines with a source snippet.
    write(
        &root.join("Cargo.lock"),
        "version = 3\n\n[[package]]\nname = \"x\"\nversion = \"abc\"\n",
    );
    let out = tempfile::tempdir().unwrap();
    let summary = out.path().join("step-summary.md");
    std::fs::write(&summary, "").unwrap();
    let run = run_in(
        root,
        &["audit", "--format", "github"],
        &[("GITHUB_STEP_SUMMARY", &summary)],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    let expected = "Cargo.lock:5:12: not a valid Cargo.lock: package x version `abc`: unexpected character 'a' while parsing major version number";
    let line = run
        .stderr
        .lines()
        .find(|l| l.contains("could not check"))
        .unwrap();
    assert!(line.ends_with(expected), "{}", run.stderr);
    assert!(!run.stderr.contains(" | "), "no snippet: {}", run.stderr);
    let notification = run.run_of("advisories")["invocations"][0]["toolExecutionNotifications"][0]
        ["message"]["text"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(notification.ends_with(expected), "{notification}");
    assert!(!notification.contains('\n'), "{notification}");
    let markdown = std::fs::read_to_string(&summary).unwrap();
    let row = markdown
        .lines()
        .find(|l| l.starts_with("| advisories |"))
        .unwrap();
    assert!(row.contains("Cargo.lock:5:12:"), "{markdown}");

    // Under on-scanner-error = "warn" it is a warning, not a reason under PASS.
    write(&root.join("secgate.toml"), "on-scanner-error = \"warn\"\n");
    let run = run_in(root, &["audit"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        !run.verdict_block().contains("could not check"),
        "{}",
        run.stderr
    );
    let warnings = &run.stderr[run.stderr.find("Warnings:").unwrap()..];
    assert!(warnings.contains("could not check"), "{}", run.stderr);
}

#[cfg(unix)]
#[test]
fn outputs_follow_the_umask_and_are_never_scanned_again() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repo");
    write(&root.join("main.rs"), "fn main() {}\n");
    // A report path that already holds a token: secgate's own output file,
    // not the repository's content.
    write(
        &root.join("gate.json"),
        &format!("{{\"t\": \"{TOKEN}\"}}\n"),
    );
    let home = tempfile::tempdir().unwrap();
    let binary = assert_cmd::cargo::cargo_bin("secgate");
    let script = format!(
        "umask 022 && cd '{}' && '{}' check --scanners secrets,sbom --report gate.json . && '{}' init .",
        root.display(),
        binary.display(),
        binary.display()
    );
    for _ in 0..2 {
        // A shell first, for the umask; secgate under it isolated as usual.
        let output = common::isolated(std::process::Command::new("sh"), home.path())
            .args(["-c", &script])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{stderr}");
        assert!(stderr.contains("secrets     no findings"), "{stderr}");
        let note = stderr
            .lines()
            .find(|l| l.contains("secgate's own output"))
            .unwrap_or_else(|| panic!("{stderr}"));
        assert!(note.contains("not scanned: gate.json"), "{stderr}");
        std::fs::remove_file(root.join("secgate.toml")).unwrap();
    }
    for name in ["secgate.sarif", "gate.json"] {
        let mode = std::fs::metadata(root.join(name))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o644, "{name}");
    }
}

/// A copy of the `projects/mixed` workspace: `hex` is a dev-dependency.
fn mixed_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    common::copy_tree(&fixture("projects/mixed"), dir.path());
    dir
}

#[test]
fn a_relative_lock_path_keeps_the_dependency_kinds() {
    let project = mixed_project();
    let db = tempfile::tempdir().unwrap();
    let advisory = db.path().join("crates/hex/RUSTSEC-2026-9000.md");
    write(
        &advisory,
        "```toml\n[advisory]\nid = \"RUSTSEC-2026-9000\"\npackage = \"hex\"\ndate = \"2026-01-01\"\nurl = \"https://example.invalid/hex\"\ncvss = \"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H\"\n\n[versions]\npatched = [\">= 99.0.0\"]\n```\n\n# Test advisory for hex\n\nTest data.\n",
    );
    let absolute = project.path().join("Cargo.lock");
    for lock in [PathBuf::from("Cargo.lock"), absolute] {
        let out = tempfile::tempdir().unwrap();
        let sarif = out.path().join("a.sarif");
        let output = secgate(out.path())
            .current_dir(project.path())
            .arg("audit")
            .arg(&lock)
            .arg("--db")
            .arg(db.path())
            .args(["--offline", "--sarif"])
            .arg(&sarif)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}: {stderr}",
            lock.display()
        );
        assert!(
            !stderr.contains("counted as shipped"),
            "{}: {stderr}",
            lock.display()
        );
        let document: Value = serde_json::from_slice(&std::fs::read(&sarif).unwrap()).unwrap();
        let result = &document["runs"][0]["results"][0];
        assert_eq!(
            result["properties"]["dependency-kind"],
            "dev-only",
            "{}",
            lock.display()
        );
    }
}

#[test]
fn unscored_advisories_and_suppressions_are_labelled_honestly() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(&root.join("Cargo.lock"), &vulnerable_lock());
    let run = run_in(root, &["audit"], &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    // The no-CVSS count once, in the scanner's line.
    assert_eq!(
        run.stderr.matches("CVSS").count() - run.stderr.matches("[unscored").count(),
        1,
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("finding carry"), "{}", run.stderr);
    let advisories = run.run_of("advisories");
    let rule = advisories["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "RUSTSEC-2024-0003")
        .unwrap();
    let tags: Vec<&str> = rule["properties"]["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert!(tags.contains(&"unscored"), "{tags:?}");
    let scored = advisories["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "RUSTSEC-2021-0003")
        .unwrap();
    assert!(!scored["properties"]["tags"]
        .to_string()
        .contains("unscored"));
    let message = advisories["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == "RUSTSEC-2024-0003")
        .unwrap()["message"]["text"]
        .as_str()
        .unwrap();
    assert!(
        message.ends_with("[unscored: no CVSS score, counted at unknown-severity = high]"),
        "{message}"
    );

    // A baseline's suppressions name the baseline.
    let baseline = dir.path().join("known.json");
    let out = tempfile::tempdir().unwrap();
    let recorded = secgate(out.path())
        .args(["baseline", "--scanners", "advisories", "--db"])
        .arg(fixture("advisory-db"))
        .arg("--offline")
        .arg("-o")
        .arg(&baseline)
        .arg(root)
        .output()
        .unwrap();
    assert!(
        recorded.status.success(),
        "{}",
        String::from_utf8_lossy(&recorded.stderr)
    );
    let run = run_in(
        root,
        &["audit", "--baseline", baseline.to_str().unwrap()],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "8 findings suppressed: 8 existing (baseline: {})",
            baseline.display()
        )),
        "{}",
        run.stderr
    );
}

/// Keys (dotted paths) of every TOML example in the README.
fn readme_policy_keys() -> Vec<String> {
    fn walk(prefix: &str, value: &toml::Value, keys: &mut Vec<String>) {
        match value {
            toml::Value::Table(table) => {
                for (key, value) in table {
                    let path = if prefix.is_empty() {
                        key.clone()
                    } else {
                        format!("{prefix}.{key}")
                    };
                    // Per-rule maps are user data, not policy keys.
                    if prefix.ends_with("rules") && !prefix.ends_with("secrets.rules") {
                        continue;
                    }
                    keys.push(path.clone());
                    walk(&path, value, keys);
                }
            }
            toml::Value::Array(items) => {
                for item in items {
                    walk(prefix, item, keys);
                }
            }
            _ => {}
        }
    }
    let readme = std::fs::read_to_string(common::repo_root().join("README.md")).unwrap();
    let mut keys = Vec::new();
    let mut block: Option<String> = None;
    for line in readme.lines() {
        let trimmed = line.trim_start();
        match &mut block {
            None if trimmed == "```toml" => block = Some(String::new()),
            Some(text) if trimmed == "```" => {
                let value: toml::Value = toml::from_str(text).unwrap_or_else(|e| {
                    panic!("a README toml example does not parse: {e}\n{text}")
                });
                walk("", &value, &mut keys);
                block = None;
            }
            Some(text) => {
                text.push_str(trimmed);
                text.push('\n');
            }
            None => {}
        }
    }
    keys.sort();
    keys.dedup();
    keys
}

#[test]
fn the_init_template_documents_every_key_the_readme_uses() {
    let keys = readme_policy_keys();
    assert!(
        keys.iter().any(|k| k == "secrets.disable-rules"),
        "{keys:?}"
    );
    let out = tempfile::tempdir().unwrap();
    let written = secgate(out.path())
        .arg("init")
        .arg(out.path())
        .output()
        .unwrap();
    assert!(written.status.success());
    let template = std::fs::read_to_string(out.path().join("secgate.toml")).unwrap();
    for key in &keys {
        let leaf = key.rsplit('.').next().unwrap();
        let table = key.rsplit_once('.').map(|(t, _)| t);
        assert!(
            template.contains(&format!("{leaf} ="))
                || template.contains(&format!("[{key}]"))
                || template.contains(&format!("[[{key}]]")),
            "the init template does not document `{key}`"
        );
        if let Some(table) = table.filter(|t| !t.contains("rules")) {
            assert!(
                template.contains(&format!("[{table}]"))
                    || template.contains(&format!("[[{table}]]")),
                "the init template has no [{table}] for `{key}`"
            );
        }
    }
    for section in [
        "[[secrets.rules]]",
        "[secrets.allowlist]",
        "[profile.release]",
        "[[external]]",
        "[[ignore]]",
        "disable-rules",
        "unchecked-ecosystems",
        "[advisories]",
    ] {
        assert!(template.contains(section), "no {section} in the template");
    }
}

#[test]
fn secret_rules_say_how_to_mark_a_false_positive() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("deploy.env"), &format!("TOKEN={TOKEN}\n"));
    let run = run_in(dir.path(), &["secrets"], &[]);
    let rule = &run.run_of("secrets")["tool"]["driver"]["rules"][0];
    for field in ["text", "markdown"] {
        let help = rule["help"][field].as_str().unwrap();
        assert!(help.contains("secgate:allow"), "{help}");
        assert!(help.contains("[[ignore]]"), "{help}");
    }
}
