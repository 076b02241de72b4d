//! Helpers shared by the integration tests.

use std::path::Path;

/// git in `dir`, isolated from the user's and the system's config.
#[allow(dead_code)] // not every test binary that includes this module uses it
pub fn git_command(dir: &Path, args: &[&str]) -> std::process::Command {
    let mut command = std::process::Command::new("git");
    command
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=Test",
            "-c",
            "user.email=test@example.invalid",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1");
    command
}

/// Runs `git_command`; panics with git's stderr when it fails.
#[allow(dead_code)]
pub fn git(dir: &Path, args: &[&str]) -> String {
    checked(git_command(dir, args).output().unwrap(), args)
}

/// stdout of a git run that must have succeeded.
#[allow(dead_code)]
pub fn checked(output: std::process::Output, args: &[&str]) -> String {
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}
