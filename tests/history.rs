//! Secrets in git history, on real temporary repositories.

mod common;
use common::{git, secgate};

use std::path::Path;

// secgate:allow: a made-up credential for this test
const TOKEN: &str = "ghp_R3kq9ZbW2xLm7TvN4pQs8YdF1hJc6GaE0uKi";

fn commit_file(dir: &Path, path: &str, content: &str, message: &str) -> String {
    std::fs::write(dir.join(path), content).unwrap();
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", message]);
    git(dir, &["rev-parse", "HEAD"])
}

/// A repository where a token was committed, then deleted in a later commit.
fn repo_with_deleted_secret() -> (tempfile::TempDir, String, String) {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q", "-b", "main"]);
    let first = commit_file(dir.path(), "README", "hello\n", "first");
    let leaked = commit_file(
        dir.path(),
        "config.env",
        &format!("A=1\nB=2\nTOKEN={TOKEN}\n"),
        "add config",
    );
    commit_file(dir.path(), "config.env", "A=1\nB=2\n", "remove the token");
    (dir, leaked, first)
}

fn secrets(repo: &Path, args: &[&str]) -> (i32, String, serde_json::Value) {
    let out = tempfile::tempdir().unwrap();
    let sarif = out.path().join("s.sarif");
    let output = secgate(out.path())
        .arg("secrets")
        .arg(repo)
        .arg("--sarif")
        .arg(&sarif)
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let document = std::fs::read(&sarif)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(serde_json::Value::Null);
    (output.status.code().unwrap(), stderr, document)
}

#[test]
fn deleted_secret_is_found_in_history_with_its_commit() {
    let (repo, leaked, _) = repo_with_deleted_secret();
    let (code, stderr, _) = secrets(repo.path(), &[]);
    assert_eq!(code, 0, "the working tree is clean now: {stderr}");
    let (code, stderr, sarif) = secrets(repo.path(), &["--history"]);
    assert_eq!(code, 1, "{stderr}");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{results:?}");
    assert_eq!(results[0]["properties"]["commit"], leaked.as_str());
    assert_eq!(
        results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "config.env"
    );
    assert_eq!(
        results[0]["locations"][0]["physicalLocation"]["region"]["startLine"],
        3
    );
    assert!(!stderr.contains(TOKEN));
    assert!(!sarif.to_string().contains(TOKEN));
}

#[test]
fn since_and_range_limit_the_commits() {
    let (repo, leaked, first) = repo_with_deleted_secret();
    let (code, stderr, _) = secrets(repo.path(), &["--since", &leaked]);
    assert_eq!(code, 0, "only the deleting commit is after it: {stderr}");
    let (code, stderr, _) = secrets(repo.path(), &["--since", &first]);
    assert_eq!(code, 1, "{stderr}");
    let (code, stderr, _) = secrets(repo.path(), &["--range", &format!("{first}..{leaked}")]);
    assert_eq!(code, 1, "{stderr}");
}

/// A renamed file (here also edited) brings no new secret into the branch,
/// even where the user's git config turns rename detection off.
#[test]
fn a_renamed_file_does_not_report_its_secret_again() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path();
    git(repo, &["init", "-q", "-b", "main"]);
    let base = commit_file(repo, "a.env", &format!("A=1\nTOKEN={TOKEN}\n"), "secret");
    std::fs::create_dir_all(repo.join("config")).unwrap();
    git(repo, &["mv", "a.env", "config/prod.env"]);
    commit_file(
        repo,
        "config/prod.env",
        &format!("A=1\nTOKEN={TOKEN}\nB=2\n"),
        "move",
    );
    let config = dir.path().join("gitconfig");
    std::fs::write(&config, "[diff]\n\trenames = false\n").unwrap();
    let out = tempfile::tempdir().unwrap();
    let output = secgate(out.path())
        .env("GIT_CONFIG_GLOBAL", &config)
        .args(["secrets", "--since", &base, "--sarif"])
        .arg(out.path().join("s.sarif"))
        .arg(repo)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    // A secret added while moving is still new.
    commit_file(
        repo,
        "config/prod.env",
        // secgate:allow: a made-up credential for this test
        &format!("A=1\nTOKEN={TOKEN}\nB=ghp_Zx9kq3BW2xLm7TvN4pQs8YdF1hJc6GaE0uKi\n"),
        "add",
    );
    let (code, stderr, _) = secrets(repo, &["--since", &base]);
    assert_eq!(code, 1, "{stderr}");
}

/// A secret cut from one file and pasted into another (no rename for git
/// to see) was not leaked by the change that moved it: the pull-request
/// and staged gates count it as existing; a plain range scan still lists it.
#[test]
fn a_secret_moved_between_files_is_existing_in_the_gates() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path();
    git(repo, &["init", "-q", "-b", "main"]);
    commit_file(
        repo,
        "a.env",
        &format!("A=1\nB=2\nC=3\nTOKEN={TOKEN}\n"),
        "one",
    );
    let base = git(repo, &["rev-parse", "HEAD"]);
    std::fs::write(repo.join("a.env"), "A=1\nB=2\nC=3\n").unwrap();
    std::fs::write(repo.join("b.toml"), format!("[x]\ntoken = \"{TOKEN}\"\n")).unwrap();
    git(repo, &["add", "-A"]);

    // Staged: the pre-commit hook.
    let out = tempfile::tempdir().unwrap();
    let hook = secgate(out.path())
        .current_dir(repo)
        .args(["hook", "pre-commit"])
        .output()
        .unwrap();
    assert_eq!(
        hook.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&hook.stderr)
    );

    // Committed: pull-request mode.
    git(repo, &["commit", "-q", "-m", "move the token"]);
    let pull_request = || {
        let output = secgate(out.path())
            .args(["check", "--scanners", "secrets", "--new-since", &base])
            .arg("--sarif")
            .arg(out.path().join("pr.sarif"))
            .arg(repo)
            .output()
            .unwrap();
        let sarif = std::fs::read_to_string(out.path().join("pr.sarif")).unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        (output.status.code(), stderr, sarif)
    };
    let (code, stderr, sarif) = pull_request();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        sarif.contains("moved"),
        "reported as existing, moved: {sarif}"
    );
    assert!(!sarif.contains(TOKEN) && !stderr.contains(TOKEN));

    // A plain scan of the range still lists what the range added.
    let (code, stderr, _) = secrets(repo, &["--since", &base]);
    assert_eq!(code, 1, "{stderr}");

    // Another secret added in the same change is new.
    let other = "T=ghp_Zx9kq3BW2xLm7TvN4pQs8YdF1hJc6GaE0uKi\n";
    commit_file(repo, "c.env", other, "new one");
    let (code, stderr, _) = pull_request();
    assert_eq!(code, Some(1), "{stderr}");
}

#[test]
fn missing_base_commit_is_an_error_not_a_pass() {
    let (repo, _, _) = repo_with_deleted_secret();
    let (code, stderr, _) = secrets(
        repo.path(),
        &["--since", "0000000000000000000000000000000000000001"],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("not found"), "{stderr}");
}

#[test]
fn shallow_clone_missing_base_says_so() {
    let (repo, _, first) = repo_with_deleted_secret();
    let parent = tempfile::tempdir().unwrap();
    let clone = parent.path().join("clone");
    let url = format!("file://{}", repo.path().display());
    git(
        parent.path(),
        &["clone", "-q", "--depth", "1", &url, clone.to_str().unwrap()],
    );
    let (code, stderr, _) = secrets(&clone, &["--since", &first]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("shallow"), "{stderr}");
}

#[test]
fn staged_changes_are_scanned() {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q", "-b", "main"]);
    commit_file(dir.path(), "README", "hello\n", "first");
    std::fs::write(
        dir.path().join("new.py"),
        format!("# config\nkey = \"{TOKEN}\"\n"),
    )
    .unwrap();
    let (code, _, _) = secrets(dir.path(), &["--staged"]);
    assert_eq!(code, 0, "not staged yet");
    git(dir.path(), &["add", "new.py"]);
    let (code, stderr, sarif) = secrets(dir.path(), &["--staged"]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(
        sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"],
        2
    );
}

#[test]
fn not_a_repository_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stderr, _) = secrets(dir.path(), &["--history"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("not a git repository"), "{stderr}");
}
