//! The pre-push hook on real temporary repositories with a bare "remote".

mod common;

use common::secgate;
use std::path::{Path, PathBuf};

// secgate:allow: a made-up credential for this test
const TOKEN: &str = "ghp_R3kq9ZbW2xLm7TvN4pQs8YdF1hJc6GaE0uKi";

/// git as the hook runs under it: a push starts `secgate hook pre-push`,
/// which must not see the user's home, database or network.
fn git_output(dir: &Path, args: &[&str]) -> std::process::Output {
    common::isolated(common::git_command(dir, args), dir)
        .output()
        .unwrap()
}

fn git(dir: &Path, args: &[&str]) -> String {
    common::checked(git_output(dir, args), args)
}

fn commit(dir: &Path, path: &str, content: &str, message: &str) -> String {
    std::fs::write(dir.join(path), content).unwrap();
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", message]);
    git(dir, &["rev-parse", "HEAD"])
}

/// (bare remote, clone with one pushed commit on main)
fn setup() -> (tempfile::TempDir, PathBuf) {
    let root = tempfile::tempdir().unwrap();
    let bare = root.path().join("remote.git");
    let work = root.path().join("work");
    git(
        root.path(),
        &["init", "-q", "--bare", "-b", "main", bare.to_str().unwrap()],
    );
    git(
        root.path(),
        &[
            "clone",
            "-q",
            bare.to_str().unwrap(),
            work.to_str().unwrap(),
        ],
    );
    git(&work, &["checkout", "-q", "-b", "main"]);
    commit(&work, "README", "hello\n", "first");
    git(&work, &["push", "-q", "origin", "main"]);
    (root, work)
}

fn install(work: &Path, extra: &[&str]) -> std::process::Output {
    secgate(work)
        .current_dir(work)
        .args(["hook", "install"])
        .args(extra)
        .output()
        .unwrap()
}

/// `git push ARGS`: (succeeded, stderr)
fn push(work: &Path, args: &[&str]) -> (bool, String) {
    let mut full = vec!["push"];
    full.extend_from_slice(args);
    let output = git_output(work, &full);
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn new_branch_with_a_secret_is_blocked_and_a_clean_one_passes() {
    let (_root, work) = setup();
    assert!(install(&work, &[]).status.success());
    git(&work, &["checkout", "-q", "-b", "clean"]);
    commit(&work, "notes.txt", "nothing secret\n", "notes");
    let (ok, stderr) = push(&work, &["origin", "clean"]);
    assert!(ok, "{stderr}");
    git(&work, &["checkout", "-q", "-b", "leaky"]);
    commit(&work, "config.env", &format!("TOKEN={TOKEN}\n"), "config");
    let (ok, stderr) = push(&work, &["origin", "leaky"]);
    assert!(!ok, "{stderr}");
    assert!(!stderr.contains(TOKEN));
    // What to do about it: each blocked finding by rule, place, redacted
    // value and fingerprint, and the ways forward.
    let sarif_path = work.join(".git/secgate/hook.sarif");
    let sarif: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&sarif_path).unwrap()).unwrap();
    let result = &sarif["runs"][0]["results"][0];
    let rule = result["ruleId"].as_str().unwrap();
    let fingerprint = result["partialFingerprints"]["secgate/v1"]
        .as_str()
        .unwrap();
    for expected in [
        "Blocked: 1 finding fails the gate",
        &format!("secrets/{rule}  config.env:1  ghp_"),
        &format!("fingerprint {fingerprint}"),
        "revoke it",
        "git rebase -i",
        "`secgate:allow` comment",
        &format!("id = \"{fingerprint}\""),
        "reason = ",
        "git push --no-verify",
        "Full report: ",
        "hook.sarif",
    ] {
        assert!(stderr.contains(expected), "no {expected:?} in {stderr}");
    }
    // The SARIF exists, so the summary may say suppressed findings are kept in it.
    assert!(!String::from_utf8_lossy(&std::fs::read(&sarif_path).unwrap()).contains(TOKEN));
}

#[test]
fn fast_forward_checks_only_the_new_commits() {
    let (_root, work) = setup();
    // A secret already on the remote (pushed before the hook) does not block later pushes.
    commit(&work, "old.env", &format!("TOKEN={TOKEN}\n"), "old leak");
    git(&work, &["push", "-q", "origin", "main"]);
    assert!(install(&work, &[]).status.success());
    commit(&work, "README", "hello again\n", "docs");
    let (ok, stderr) = push(&work, &["origin", "main"]);
    assert!(ok, "{stderr}");
    commit(
        &work,
        "new.env",
        // secgate:allow: a made-up credential for this test
        "KEY=ghp_Q7wE2rT9yU4iO6pA1sD8fG3hJ5kL0zXcVbN1\n",
        "leak",
    );
    let (ok, stderr) = push(&work, &["origin", "main"]);
    assert!(!ok, "{stderr}");
    assert!(
        stderr.contains("new.env") && !stderr.contains("old.env"),
        "{stderr}"
    );
}

#[test]
fn force_push_checks_the_rewritten_commits() {
    let (_root, work) = setup();
    commit(&work, "a.txt", "a\n", "a");
    git(&work, &["push", "-q", "origin", "main"]);
    assert!(install(&work, &[]).status.success());
    git(&work, &["reset", "-q", "--hard", "HEAD~1"]);
    commit(
        &work,
        "b.env",
        &format!("TOKEN={TOKEN}\n"),
        "rewrite with a leak",
    );
    let (ok, stderr) = push(&work, &["--force", "origin", "main"]);
    assert!(!ok, "{stderr}");
    assert!(stderr.contains("b.env"), "{stderr}");
    git(&work, &["reset", "-q", "--hard", "HEAD~1"]);
    commit(&work, "c.txt", "c\n", "clean rewrite");
    let (ok, stderr) = push(&work, &["--force", "origin", "main"]);
    assert!(ok, "{stderr}");
}

#[test]
fn deletion_is_not_checked() {
    let (_root, work) = setup();
    git(&work, &["checkout", "-q", "-b", "gone"]);
    commit(&work, "x.txt", "x\n", "x");
    git(&work, &["push", "-q", "origin", "gone"]);
    assert!(install(&work, &[]).status.success());
    let (ok, stderr) = push(&work, &["origin", "--delete", "gone"]);
    assert!(ok, "{stderr}");
    // The raw protocol: a deletion line (all-zero local id, 40 or 64 digits) is skipped.
    for zeros in [40, 64] {
        let line = format!(
            "(delete) {} refs/heads/gone {}\n",
            "0".repeat(zeros),
            "1".repeat(zeros)
        );
        let output = secgate(&work)
            .current_dir(&work)
            .args(["hook", "pre-push", "origin", "file:///x"])
            .write_stdin(line)
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
    }
}

#[test]
fn secret_added_then_removed_inside_the_pushed_range_is_still_blocked() {
    let (_root, work) = setup();
    assert!(install(&work, &[]).status.success());
    commit(&work, "cfg.env", &format!("A=1\nTOKEN={TOKEN}\n"), "leak");
    commit(&work, "cfg.env", "A=1\n", "remove it");
    let (ok, stderr) = push(&work, &["origin", "main"]);
    assert!(!ok, "{stderr}");
    assert!(stderr.contains("cfg.env"), "{stderr}");
}

#[test]
fn malformed_input_fails_closed() {
    let (_root, work) = setup();
    let output = secgate(&work)
        .current_dir(&work)
        .args(["hook", "pre-push", "origin", "file:///x"])
        .write_stdin("refs/heads/main deadbeef refs/heads/main cafe\n")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{output:?}");
}

#[test]
fn install_refuses_a_foreign_hook_unless_forced_or_chained() {
    let (_root, work) = setup();
    let hooks = work.join(".git/hooks");
    std::fs::create_dir_all(&hooks).unwrap();
    let foreign = "#!/bin/sh\necho foreign-ran >> \"$(dirname \"$0\")/../../ran.txt\"\nexit 0\n";
    std::fs::write(hooks.join("pre-push"), foreign).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            hooks.join("pre-push"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
    }
    let refused = install(&work, &[]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--force"));
    assert_eq!(
        std::fs::read_to_string(hooks.join("pre-push")).unwrap(),
        foreign
    );
    // Uninstall leaves a foreign hook alone.
    let output = secgate(&work)
        .current_dir(&work)
        .args(["hook", "uninstall"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(hooks.join("pre-push").exists());

    assert!(install(&work, &["--chain"]).status.success());
    assert_eq!(
        std::fs::read_to_string(hooks.join("pre-push.local")).unwrap(),
        foreign
    );
    commit(&work, "leak.env", &format!("TOKEN={TOKEN}\n"), "leak");
    let (ok, stderr) = push(&work, &["origin", "main"]);
    assert!(!ok, "{stderr}");
    assert!(std::fs::read_to_string(work.join("ran.txt"))
        .unwrap()
        .contains("foreign-ran"));

    let output = secgate(&work)
        .current_dir(&work)
        .args(["hook", "uninstall"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        std::fs::read_to_string(hooks.join("pre-push")).unwrap(),
        foreign
    );
    assert!(!hooks.join("pre-push.local").exists());

    assert!(install(&work, &["--force"]).status.success());
    let ours = std::fs::read_to_string(hooks.join("pre-push")).unwrap();
    assert!(ours.contains("# secgate-managed-hook"));
    let output = secgate(&work)
        .current_dir(&work)
        .args(["hook", "uninstall"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert!(!hooks.join("pre-push").exists());
}

#[test]
fn install_respects_core_hooks_path() {
    let (_root, work) = setup();
    git(&work, &["config", "core.hooksPath", ".githooks"]);
    assert!(install(&work, &[]).status.success());
    assert!(work.join(".githooks/pre-push").is_file());
    assert!(!work.join(".git/hooks/pre-push").exists());
    commit(&work, "leak.env", &format!("TOKEN={TOKEN}\n"), "leak");
    let (ok, stderr) = push(&work, &["origin", "main"]);
    assert!(!ok, "{stderr}");
}

#[test]
fn pre_commit_framework_refs_and_staged_mode() {
    let (_root, work) = setup();
    let base = git(&work, &["rev-parse", "HEAD"]);
    let leak = commit(&work, "leak.env", &format!("TOKEN={TOKEN}\n"), "leak");
    commit(&work, "leak.env", "gone\n", "remove");
    let head = git(&work, &["rev-parse", "HEAD"]);
    let output = secgate(&work)
        .current_dir(&work)
        .args(["hook", "pre-commit"])
        .env("PRE_COMMIT_FROM_REF", &base)
        .env("PRE_COMMIT_TO_REF", &head)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let output = secgate(&work)
        .current_dir(&work)
        .args(["hook", "pre-commit"])
        .env("PRE_COMMIT_FROM_REF", &leak)
        .env("PRE_COMMIT_TO_REF", &head)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    // Without the refs (pre-commit stage): the staged changes.
    std::fs::write(work.join("staged.env"), format!("TOKEN={TOKEN}\n")).unwrap();
    let output = secgate(&work)
        .current_dir(&work)
        .args(["hook", "pre-commit"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "not staged: {output:?}");
    git(&work, &["add", "staged.env"]);
    let output = secgate(&work)
        .current_dir(&work)
        .args(["hook", "pre-commit"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
}

/// `secgate hook pre-commit` as pre-commit's pre-push stage runs it when the
/// push includes a root commit: PRE_COMMIT_REMOTE_NAME, _REMOTE_URL,
/// _REMOTE_BRANCH and _LOCAL_BRANCH set, no FROM/TO refs.
fn pre_commit_push_without_refs(
    work: &Path,
    home: &Path,
    local_branch: &str,
) -> std::process::Output {
    secgate(home)
        .current_dir(work)
        .env("PRE_COMMIT", "1")
        .env("PRE_COMMIT_REMOTE_NAME", "origin")
        .env("PRE_COMMIT_REMOTE_URL", "file:///remote.git")
        .env("PRE_COMMIT_REMOTE_BRANCH", "refs/heads/main")
        .env("PRE_COMMIT_LOCAL_BRANCH", local_branch)
        .env_remove("PRE_COMMIT_FROM_REF")
        .env_remove("PRE_COMMIT_TO_REF")
        .args(["hook", "pre-commit"])
        .output()
        .unwrap()
}

#[test]
fn pre_commit_framework_push_of_a_root_commit_checks_the_commits_not_the_index() {
    let root = tempfile::tempdir().unwrap();
    let bare = root.path().join("remote.git");
    let work = root.path().join("work");
    git(
        root.path(),
        &["init", "-q", "--bare", "-b", "main", bare.to_str().unwrap()],
    );
    git(
        root.path(),
        &[
            "clone",
            "-q",
            bare.to_str().unwrap(),
            work.to_str().unwrap(),
        ],
    );
    git(&work, &["checkout", "-q", "-b", "main"]);
    // The remote has nothing: the push includes the root commit. The leak is
    // in it and removed again, so the index (and work tree) are clean.
    commit(
        &work,
        "leak.env",
        &format!("TOKEN={TOKEN}\n"),
        "root with a leak",
    );
    commit(&work, "leak.env", "gone\n", "remove it");
    let output = pre_commit_push_without_refs(&work, root.path(), "refs/heads/main");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("leak.env"), "{stderr}");

    // A clean root push with a leak only in the index passes: the index is not pushed.
    let clean = root.path().join("clean");
    git(
        root.path(),
        &["init", "-q", "-b", "main", clean.to_str().unwrap()],
    );
    commit(&clean, "README", "hello\n", "root");
    std::fs::write(clean.join("staged.env"), format!("TOKEN={TOKEN}\n")).unwrap();
    git(&clean, &["add", "staged.env"]);
    let output = pre_commit_push_without_refs(&clean, root.path(), "refs/heads/main");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("staged.env"), "{stderr}");
}

#[test]
fn pre_commit_framework_push_of_an_orphan_branch_checks_what_the_remote_lacks() {
    let (root, work) = setup();
    // Already on the remote: not part of any later push.
    commit(&work, "old.env", &format!("TOKEN={TOKEN}\n"), "old leak");
    git(&work, &["push", "-q", "origin", "main"]);
    // A new root commit on another branch; HEAD stays on main, so the
    // pushed ref, not HEAD, says what is pushed.
    git(&work, &["checkout", "-q", "--orphan", "fresh"]);
    git(&work, &["rm", "-rqf", "."]);
    commit(
        &work,
        "new.env",
        // secgate:allow: a made-up credential for this test
        "KEY=ghp_Q7wE2rT9yU4iO6pA1sD8fG3hJ5kL0zXcVbN1\n",
        "orphan with a leak",
    );
    git(&work, &["checkout", "-q", "-f", "main"]);
    let output = pre_commit_push_without_refs(&work, root.path(), "refs/heads/fresh");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("new.env") && !stderr.contains("old.env"),
        "{stderr}"
    );
    // main has nothing the remote lacks.
    let output = pre_commit_push_without_refs(&work, root.path(), "refs/heads/main");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("no new commits"), "{stderr}");
    // A pushed ref that does not resolve, or half of the refs: exit 2, never a pass.
    let output = pre_commit_push_without_refs(&work, root.path(), "refs/heads/nowhere");
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let head = git(&work, &["rev-parse", "HEAD"]);
    let output = secgate(&work)
        .current_dir(&work)
        .args(["hook", "pre-commit"])
        .env("PRE_COMMIT_TO_REF", &head)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{output:?}");
}

/// `git push ARGS` with `envs` set for the hook: (succeeded, stderr).
fn push_with(work: &Path, args: &[&str], envs: &[(&str, &Path)]) -> (bool, String) {
    let mut command = common::isolated(common::git_command(work, &[]), work);
    command.arg("push").args(args);
    for (name, value) in envs {
        command.env(name, value);
    }
    let output = command.output().unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The `automationDetails.id`s of the hook's last SARIF.
fn hook_sarif_runs(work: &Path) -> Vec<String> {
    let sarif: serde_json::Value =
        serde_json::from_slice(&std::fs::read(work.join(".git/secgate/hook.sarif")).unwrap())
            .unwrap();
    sarif["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|run| run["automationDetails"]["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn pre_push_audits_only_when_a_pushed_commit_changes_cargo_lock() {
    let (_root, work) = setup();
    // A clean lock file already on the remote.
    std::fs::create_dir_all(work.join("app")).unwrap();
    let clean = std::fs::read_to_string(common::fixture("repos/clean/Cargo.lock")).unwrap();
    commit(&work, "app/Cargo.lock", &clean, "clean lock");
    git(&work, &["push", "-q", "origin", "main"]);
    assert!(install(&work, &[]).status.success());
    let database = common::fixture("advisory-db");
    // No database: an audit that ran would fail closed.
    let no_database = work.join("no-such-database");

    commit(&work, "notes.txt", "nothing to audit\n", "notes");
    let (ok, stderr) = push_with(&work, &["origin", "main"], &[("SECGATE_DB", &no_database)]);
    assert!(ok, "no Cargo.lock changed, no audit: {stderr}");
    assert_eq!(hook_sarif_runs(&work), ["secgate/secrets/"]);

    let vulnerable =
        std::fs::read_to_string(common::fixture("repos/vulnerable/Cargo.lock")).unwrap();
    commit(&work, "app/Cargo.lock", &vulnerable, "vulnerable lock");
    let (ok, stderr) = push_with(&work, &["origin", "main"], &[("SECGATE_DB", &database)]);
    assert!(!ok, "{stderr}");
    assert!(
        stderr.contains("a lock file changed in the pushed commits"),
        "{stderr}"
    );
    assert!(stderr.contains("RUSTSEC-2021-0003"), "{stderr}");
    assert!(stderr.contains("app/Cargo.lock"), "{stderr}");
    assert_eq!(
        hook_sarif_runs(&work),
        ["secgate/secrets/", "secgate/advisories/"]
    );
    // Without a database that push cannot be checked: blocked too.
    let (ok, stderr) = push_with(&work, &["origin", "main"], &[("SECGATE_DB", &no_database)]);
    assert!(!ok, "{stderr}");
}

#[test]
fn a_push_of_two_refs_checks_both_ranges() {
    let (_root, work) = setup();
    // An existing branch to update, and a new one, both from the remote's main.
    git(&work, &["checkout", "-q", "-b", "side"]);
    commit(&work, "side.txt", "side\n", "side");
    git(&work, &["push", "-q", "origin", "side"]);
    assert!(install(&work, &[]).status.success());
    let leak = format!("TOKEN={TOKEN}\n");
    // secgate:allow: a made-up credential for this test
    let other = "KEY=ghp_Q7wE2rT9yU4iO6pA1sD8fG3hJ5kL0zXcVbN1\n";
    let tips = |side: Option<&str>, fresh: Option<&str>| {
        git(&work, &["checkout", "-q", "-B", "side", "origin/side"]);
        match side {
            Some(content) => commit(&work, "side-leak.env", content, "side update"),
            None => commit(&work, "side.txt", "side, updated\n", "side update"),
        };
        git(&work, &["checkout", "-q", "-B", "fresh", "origin/main"]);
        match fresh {
            Some(content) => commit(&work, "fresh-leak.env", content, "fresh"),
            None => commit(&work, "fresh.txt", "fresh\n", "fresh"),
        };
        git(&work, &["checkout", "-q", "main"]);
    };
    let pushed = |work: &Path| push(work, &["origin", "side", "fresh"]);

    tips(Some(&leak), Some(other));
    let (ok, stderr) = pushed(&work);
    assert!(!ok, "{stderr}");
    assert!(
        stderr.contains("side-leak.env") && stderr.contains("fresh-leak.env"),
        "both ranges checked: {stderr}"
    );
    // A finding in either ref blocks the whole push.
    tips(Some(&leak), None);
    let (ok, stderr) = pushed(&work);
    assert!(!ok, "{stderr}");
    assert!(
        stderr.contains("side-leak.env") && !stderr.contains("fresh-leak.env"),
        "{stderr}"
    );
    tips(None, Some(other));
    let (ok, stderr) = pushed(&work);
    assert!(!ok, "{stderr}");
    assert!(
        stderr.contains("fresh-leak.env") && !stderr.contains("side-leak.env"),
        "{stderr}"
    );
    tips(None, None);
    let (ok, stderr) = pushed(&work);
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains("2 pushed commit(s)"),
        "one commit from each ref: {stderr}"
    );
}
