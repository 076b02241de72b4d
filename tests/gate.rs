//! Where secgate runs: GitHub format, the gate report, pull-request mode and
//! the release profile, end to end on fixtures and temporary git repositories.

mod common;
use common::{fixture, git, secgate};

use std::path::Path;

// secgate:allow: a made-up credential for this test
const TOKEN: &str = "ghp_R3kq9ZbW2xLm7TvN4pQs8YdF1hJc6GaE0uKi";
// secgate:allow: a made-up credential for this test
const TOKEN2: &str = "ghp_Q7wE2rT9yU4iO6pA1sD8fG3hJ5kL0zXcVbN1";
// secgate:allow: a made-up credential for this test
const TOKEN3: &str = "ghp_M3nB8vC1xZ6lK4jH9gF2dS7aP0oI5uY3tR8e";

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(home: &Path, args: &[&str], envs: &[(&str, &Path)]) -> Run {
    let mut command = secgate(home);
    command.args(args);
    for (key, value) in envs {
        command.env(key, value);
    }
    let output = command.output().unwrap();
    Run {
        code: output.status.code().unwrap(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// `secgate check REPO` with the fixture database, outputs in `out`.
fn check(out: &Path, repo: &Path, extra: &[&str]) -> Run {
    let db = fixture("advisory-db");
    let sarif = out.join("out.sarif");
    let sbom = out.join("sbom.cdx.json");
    let mut args = vec![
        "check",
        repo.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
        "--sarif",
        sarif.to_str().unwrap(),
        "--sbom",
        sbom.to_str().unwrap(),
        "--offline",
    ];
    args.extend_from_slice(extra);
    run(out, &args, &[])
}

#[test]
fn github_format_prints_annotations_and_appends_a_summary() {
    let out = tempfile::tempdir().unwrap();
    let summary = out.path().join("summary.md");
    std::fs::write(&summary, "earlier step\n").unwrap();
    let db = fixture("advisory-db");
    let repo = fixture("repos/mixed");
    let sarif = out.path().join("out.sarif");
    let sbom = out.path().join("sbom.cdx.json");
    let result = run(
        out.path(),
        &[
            "check",
            repo.to_str().unwrap(),
            "--db",
            db.to_str().unwrap(),
            "--sarif",
            sarif.to_str().unwrap(),
            "--sbom",
            sbom.to_str().unwrap(),
            "--offline",
        ],
        &[
            ("GITHUB_ACTIONS", Path::new("true")),
            ("GITHUB_STEP_SUMMARY", &summary),
        ],
    );
    assert_eq!(result.code, 1, "{}", result.stderr);
    let lines: Vec<_> = result.stdout.lines().collect();
    assert!(!lines.is_empty() && lines.len() <= 10, "{}", result.stdout);
    assert!(lines.iter().all(|l| l.starts_with("::error ")
        || l.starts_with("::warning ")
        || l.starts_with("::notice ")));
    assert!(
        result
            .stdout
            .contains("file=tests/fixtures/repos/mixed/deploy.env,line="),
        "{}",
        result.stdout
    );
    assert!(
        result
            .stdout
            .contains("file=tests/fixtures/repos/mixed/Cargo.lock,line="),
        "{}",
        result.stdout
    );
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(md.starts_with("earlier step\n## secgate: ❌ FAIL"), "{md}");
    assert!(
        md.contains("| advisories |") && md.contains("| secrets |"),
        "{md}"
    );
    assert!(md.contains("(https://rustsec.org/advisories/"), "{md}");
    let planted = std::fs::read_to_string(repo.join("deploy.env")).unwrap();
    let value = planted.split("GITHUB_TOKEN=").nth(1).unwrap().trim();
    for text in [&result.stdout, &result.stderr, &md] {
        assert!(!text.contains(value), "no secret value in any output");
    }
    // Explicit --format human wins over GITHUB_ACTIONS.
    let human = run(
        out.path(),
        &[
            "check",
            repo.to_str().unwrap(),
            "--db",
            db.to_str().unwrap(),
            "--sarif",
            sarif.to_str().unwrap(),
            "--sbom",
            sbom.to_str().unwrap(),
            "--offline",
            "--format",
            "human",
        ],
        &[("GITHUB_ACTIONS", Path::new("true"))],
    );
    assert_eq!(human.code, 1);
    assert!(human.stdout.is_empty(), "{}", human.stdout);
}

#[test]
fn github_format_on_a_clean_repository_says_pass() {
    let out = tempfile::tempdir().unwrap();
    let summary = out.path().join("summary.md");
    let db = fixture("advisory-db");
    let repo = fixture("repos/clean");
    let sarif = out.path().join("out.sarif");
    let result = run(
        out.path(),
        &[
            "check",
            repo.to_str().unwrap(),
            "--db",
            db.to_str().unwrap(),
            "--sarif",
            sarif.to_str().unwrap(),
            "--scanners",
            "advisories,secrets",
            "--offline",
            "--format",
            "github",
        ],
        &[("GITHUB_STEP_SUMMARY", &summary)],
    );
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert!(
        result.stdout.is_empty(),
        "no annotations: {}",
        result.stdout
    );
    // The step summary is written on a pass too, and says so.
    let md = std::fs::read_to_string(&summary).expect("the step summary was written");
    assert!(md.starts_with("## secgate: ✅ PASS\n"), "{md}");
    for scanner in ["advisories", "secrets"] {
        assert!(
            md.contains(&format!("| {scanner} | 0 | 0 | 0 | 0 | 0 | 0 | checked |")),
            "{scanner}: {md}"
        );
    }
    assert!(!md.contains("Top findings"), "{md}");
}

#[test]
fn report_records_verdict_findings_database_and_sbom_hash() {
    use sha2::Digest;
    let out = tempfile::tempdir().unwrap();
    let report = out.path().join("gate.json");
    let result = check(
        out.path(),
        &fixture("repos/mixed"),
        &["--report", report.to_str().unwrap()],
    );
    assert_eq!(result.code, 1, "{}", result.stderr);
    let bytes = std::fs::read(&report).unwrap();
    let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(value["verdict"], "fail");
    assert_eq!(value["exit-code"], 1);
    assert_eq!(value["secgate-version"], env!("CARGO_PKG_VERSION"));
    let findings = value["findings"].as_array().unwrap();
    assert!(findings.len() >= 2);
    for f in findings {
        assert!(f["fingerprint"].as_str().unwrap().len() == 32, "{f}");
        assert!(f["rule"].is_string() && f["severity"].is_string(), "{f}");
    }
    assert!(findings.iter().any(|f| f["scanner"] == "secrets"));
    assert!(value["counts"]["total"].as_u64().unwrap() >= 2);
    assert!(value["database"]["newest-advisory"].is_string(), "{value}");
    assert!(value["database"]["source"]
        .as_str()
        .unwrap()
        .ends_with("advisory-db"));
    let sbom = std::fs::read(out.path().join("sbom.cdx.json")).unwrap();
    let expected: String = sha2::Sha256::digest(&sbom)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(value["sbom"]["sha256"], expected.as_str());
    let planted = std::fs::read_to_string(fixture("repos/mixed/deploy.env")).unwrap();
    let secret = planted.split("GITHUB_TOKEN=").nth(1).unwrap().trim();
    assert!(!String::from_utf8_lossy(&bytes).contains(secret));
}

fn commit(dir: &Path, files: &[(&str, &str)], message: &str) -> String {
    for (path, content) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", message]);
    git(dir, &["rev-parse", "HEAD"])
}

/// A base branch `main` with a vulnerable Cargo.lock and a committed token,
/// and a pull-request branch `pr` checked out on top of it.
fn pr_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q", "-b", "main"]);
    let lock = std::fs::read_to_string(fixture("repos/vulnerable/Cargo.lock")).unwrap();
    commit(
        dir.path(),
        &[
            ("README", "hello\n"),
            ("Cargo.lock", &lock),
            ("old.env", &format!("TOKEN={TOKEN}\n")),
            ("secgate.toml", "fail-on = \"high\"\n"),
        ],
        "base",
    );
    git(dir.path(), &["checkout", "-q", "-b", "pr"]);
    dir
}

fn pr_check(out: &Path, repo: &Path, extra: &[&str]) -> Run {
    let mut args = vec!["--new-since", "main", "--scanners", "advisories,secrets"];
    args.extend_from_slice(extra);
    check(out, repo, &args)
}

#[test]
fn pull_request_touching_nothing_new_passes_despite_existing_findings() {
    let repo = pr_repo();
    commit(repo.path(), &[("README", "hello, world\n")], "docs");
    let out = tempfile::tempdir().unwrap();
    let whole = check(
        out.path(),
        repo.path(),
        &["--scanners", "advisories,secrets"],
    );
    assert_eq!(whole.code, 1, "the tree has findings: {}", whole.stderr);
    let report = out.path().join("gate.json");
    let pr = pr_check(
        out.path(),
        repo.path(),
        &["--report", report.to_str().unwrap()],
    );
    assert_eq!(pr.code, 0, "{}", pr.stderr);
    let value: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(value["new-since"], "main");
    let advisories: Vec<_> = value["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["scanner"] == "advisories")
        .collect();
    assert!(!advisories.is_empty());
    assert!(
        advisories
            .iter()
            .all(|f| f["suppression"]["kind"] == "existing" && f["fails"] == false),
        "{advisories:?}"
    );
}

#[test]
fn pull_request_adding_a_secret_fails() {
    let repo = pr_repo();
    commit(
        repo.path(),
        &[("src/new.py", &format!("key = \"{TOKEN2}\"\n"))],
        "add a key",
    );
    let out = tempfile::tempdir().unwrap();
    let pr = pr_check(out.path(), repo.path(), &[]);
    assert_eq!(pr.code, 1, "{}", pr.stderr);
    assert!(pr.stderr.contains("src/new.py"), "{}", pr.stderr);
    assert!(
        !pr.stderr.contains("old.env"),
        "the base's token is not new: {}",
        pr.stderr
    );
}

#[test]
fn pull_request_adding_a_vulnerable_dependency_fails() {
    let repo = tempfile::tempdir().unwrap();
    git(repo.path(), &["init", "-q", "-b", "main"]);
    commit(repo.path(), &[("README", "hello\n")], "base");
    git(repo.path(), &["checkout", "-q", "-b", "pr"]);
    let lock = std::fs::read_to_string(fixture("repos/vulnerable/Cargo.lock")).unwrap();
    commit(repo.path(), &[("Cargo.lock", &lock)], "deps");
    let out = tempfile::tempdir().unwrap();
    let pr = pr_check(out.path(), repo.path(), &[]);
    assert_eq!(pr.code, 1, "{}", pr.stderr);
}

#[test]
fn pull_request_cannot_loosen_its_own_gate() {
    let repo = pr_repo();
    commit(
        repo.path(),
        &[
            ("secgate.toml", "fail-on = \"none\"\n"),
            ("new.env", &format!("NEW={TOKEN3}\n")),
        ],
        "loosen and leak",
    );
    let out = tempfile::tempdir().unwrap();
    let loose = check(out.path(), repo.path(), &["--scanners", "secrets"]);
    assert_eq!(
        loose.code, 0,
        "the head's own policy passes: {}",
        loose.stderr
    );
    let summary = out.path().join("summary.md");
    let mut command = secgate(out.path());
    let db = fixture("advisory-db");
    let sarif = out.path().join("s.sarif");
    let output = command
        .args([
            "check",
            repo.path().to_str().unwrap(),
            "--db",
            db.to_str().unwrap(),
        ])
        .args(["--sarif", sarif.to_str().unwrap(), "--offline"])
        .args(["--new-since", "main", "--scanners", "advisories,secrets"])
        .args(["--format", "github"])
        .env("GITHUB_STEP_SUMMARY", &summary)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("main:secgate.toml"), "{stderr}");
    assert!(stderr.contains("differs from the one at main"), "{stderr}");
    // What the change does to the policy is shown, line by line.
    let change = "secgate.toml in this change: + fail-on = \"none\"";
    assert!(stderr.contains(change), "{stderr}");
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(md.contains("differs from the one at main"), "{md}");
    assert!(md.contains(change), "{md}");
}

#[test]
fn pull_request_base_must_exist() {
    let repo = pr_repo();
    let out = tempfile::tempdir().unwrap();
    let mut args = vec!["--new-since", "no-such-branch"];
    args.extend_from_slice(&["--scanners", "secrets"]);
    let result = check(out.path(), repo.path(), &args);
    assert_eq!(result.code, 2, "{}", result.stderr);
    assert!(result.stderr.contains("not found"), "{}", result.stderr);
}

#[test]
fn baseline_sarif_is_an_alias_of_baseline() {
    let out = tempfile::tempdir().unwrap();
    let first = check(
        out.path(),
        &fixture("repos/token"),
        &["--scanners", "secrets"],
    );
    assert_eq!(first.code, 1);
    let base = out.path().join("base.sarif");
    std::fs::copy(out.path().join("out.sarif"), &base).unwrap();
    let again = check(
        out.path(),
        &fixture("repos/token"),
        &[
            "--scanners",
            "secrets",
            "--baseline-sarif",
            base.to_str().unwrap(),
        ],
    );
    assert_eq!(again.code, 0, "{}", again.stderr);
}

#[test]
fn release_profile_fails_closed_on_a_database_older_than_a_day() {
    let out = tempfile::tempdir().unwrap();
    // The fixture database's newest advisory is far older than 1 day.
    let result = check(
        out.path(),
        &fixture("repos/clean"),
        &["--profile", "release"],
    );
    assert_eq!(result.code, 2, "{}", result.stderr);
    assert!(
        result.stderr.contains("stale database"),
        "{}",
        result.stderr
    );
    let plain = check(out.path(), &fixture("repos/clean"), &[]);
    assert_eq!(plain.code, 0, "{}", plain.stderr);
}

#[test]
fn release_profile_requires_the_sbom_and_records_the_profile() {
    let repo = tempfile::tempdir().unwrap();
    for file in ["Cargo.lock", "main.rs"] {
        std::fs::copy(fixture("repos/clean").join(file), repo.path().join(file)).unwrap();
    }
    std::fs::write(
        repo.path().join("secgate.toml"),
        "[profile.release.db]\nmax-age = \"100000d\"\n",
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let report = out.path().join("gate.json");
    let result = check(
        out.path(),
        repo.path(),
        &["--profile", "release", "--report", report.to_str().unwrap()],
    );
    assert_eq!(result.code, 0, "{}", result.stderr);
    let value: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(value["profile"], "release");
    assert!(value["sbom"]["sha256"].as_str().unwrap().len() == 64);
    let without_sbom = check(
        out.path(),
        repo.path(),
        &["--profile", "release", "--scanners", "advisories,secrets"],
    );
    assert_eq!(without_sbom.code, 2, "{}", without_sbom.stderr);
    assert!(
        without_sbom.stderr.contains("requires an SBOM"),
        "{}",
        without_sbom.stderr
    );
}

#[test]
fn release_profile_rejects_an_ignore_without_expiry() {
    let repo = tempfile::tempdir().unwrap();
    std::fs::copy(
        fixture("repos/clean/Cargo.lock"),
        repo.path().join("Cargo.lock"),
    )
    .unwrap();
    std::fs::write(
        repo.path().join("secgate.toml"),
        "fail-on = \"high\"\n\n[[ignore]]\nid = \"RUSTSEC-2021-0003\"\nreason = \"not reachable\"\n",
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let result = check(out.path(), repo.path(), &["--profile", "release"]);
    assert_eq!(result.code, 2, "{}", result.stderr);
    assert!(
        result.stderr.contains("secgate.toml:3"),
        "{}",
        result.stderr
    );
    assert!(result.stderr.contains("no `expires`"), "{}", result.stderr);
}

#[test]
fn github_format_caps_annotations_at_ten_most_severe_first() {
    let repo = tempfile::tempdir().unwrap();
    // Twelve distinct critical tokens (rotations of one made-up value) and a
    // lock file with lower-severity advisories: more findings than the cap.
    let body = &TOKEN[4..];
    let tokens: String = (0..12)
        .map(|i| format!("token_{i} = \"ghp_{}{}\"\n", &body[i..], &body[..i]))
        .collect();
    std::fs::write(repo.path().join("tokens.py"), tokens).unwrap();
    std::fs::copy(
        fixture("repos/vulnerable/Cargo.lock"),
        repo.path().join("Cargo.lock"),
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let summary = out.path().join("summary.md");
    let db = fixture("advisory-db");
    let sarif = out.path().join("out.sarif");
    let result = run(
        out.path(),
        &[
            "check",
            repo.path().to_str().unwrap(),
            "--db",
            db.to_str().unwrap(),
            "--sarif",
            sarif.to_str().unwrap(),
            "--scanners",
            "advisories,secrets",
            "--offline",
            "--format",
            "github",
        ],
        &[("GITHUB_STEP_SUMMARY", &summary)],
    );
    assert_eq!(result.code, 1, "{}", result.stderr);
    let value: serde_json::Value = serde_json::from_slice(&std::fs::read(&sarif).unwrap()).unwrap();
    let results: Vec<&serde_json::Value> = value["runs"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|run| run["results"].as_array().unwrap())
        .collect();
    let secrets = results
        .iter()
        .filter(|r| r["ruleId"] == "github-personal-access-token")
        .count();
    assert_eq!(secrets, 12, "every token found");
    assert!(
        results.iter().any(|r| r["level"] != "error"),
        "lower-severity findings exist too"
    );
    let lines: Vec<&str> = result.stdout.lines().collect();
    assert_eq!(lines.len(), 10, "{}", result.stdout);
    // The most severe first: the critical findings fill the ten.
    for line in &lines {
        assert!(line.starts_with("::error "), "{line}");
        assert!(line.contains("(critical)"), "{line}");
    }
}
