//! Helpers shared by the integration tests.

pub mod http;

use std::path::{Path, PathBuf};

/// Installs every external tool the tests run (validators, Bandit,
/// cargo-cyclonedx); run once from the repository root.
#[allow(dead_code)]
pub const SETUP: &str = "bash .ci/setup";

/// The repository root.
#[allow(dead_code)]
pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// An external tool or data directory a test cannot run without: `$env`
/// when that variable is set, else the first of `candidates` that exists.
/// When none exists the test fails, locally as in CI (no test skips
/// silently), naming what is missing, where it looked, and `install`: the
/// command that provides it.
#[allow(dead_code)]
#[track_caller]
pub fn require(what: &str, env: Option<&str>, candidates: &[PathBuf], install: &str) -> PathBuf {
    let from_env = env.and_then(|var| Some((var, std::env::var_os(var)?)));
    let looked: Vec<PathBuf> = match &from_env {
        Some((_, value)) => vec![PathBuf::from(value)],
        None => candidates.to_vec(),
    };
    if let Some(found) = looked.iter().find(|path| path.exists()) {
        return found.clone();
    }
    let places: Vec<String> = looked.iter().map(|p| p.display().to_string()).collect();
    let override_note = match (env, &from_env) {
        (_, Some((var, _))) => format!(" (from ${var})"),
        (Some(var), None) => format!(" (${var} names another)"),
        (None, None) => String::new(),
    };
    panic!(
        "{what} is missing: not at {}{override_note}.\n\
         Install it, from the repository root, with:\n\n    {install}\n",
        places.join(", ")
    );
}

/// Where a program named `name` would be found on `PATH`, in order.
#[allow(dead_code)]
pub fn on_path(name: &str) -> Vec<PathBuf> {
    std::env::var_os("PATH")
        .map(|path| {
            std::env::split_paths(&path)
                .map(|dir| dir.join(name))
                .collect()
        })
        .unwrap_or_default()
}

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

/// The `secgate` binary isolated from the user's cache, git config,
/// database settings, CI environment and the network: `home` stands in for
/// `$HOME`, the advisory-database URL is a closed local port. cargo keeps
/// the real `CARGO_HOME`, so `cargo metadata --offline` finds secgate's own
/// crates (`empty_cargo_home` hides it). What a test changes on purpose it
/// sets on the returned command.
#[allow(dead_code)]
pub fn secgate(home: &Path) -> assert_cmd::Command {
    assert_cmd::Command::from_std(secgate_process(home))
}

/// `secgate` as a plain `std::process::Command`, for what `assert_cmd`
/// cannot do: spawn it and stream its stdin, or kill it mid-run.
#[allow(dead_code)]
pub fn secgate_process(home: &Path) -> std::process::Command {
    use assert_cmd::cargo::CommandCargoExt;
    isolated(std::process::Command::cargo_bin("secgate").unwrap(), home)
}

/// `command` with the environment `secgate` gets: for a program that starts
/// secgate itself (a shell that sets a limit first, git running secgate's
/// hook), so that secgate under it is isolated the same way. The one place
/// the isolation is listed.
#[allow(dead_code)]
pub fn isolated(mut command: std::process::Command, home: &Path) -> std::process::Command {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_default();
    command
        .env("HOME", home)
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("CARGO_HOME", cargo_home)
        // A check without --db refreshes the cache: from a closed local
        // port, never the network.
        .env("SECGATE_DB_URL", "http://127.0.0.1:9/advisory-db.tar.gz")
        .env("NO_COLOR", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1");
    for name in [
        // The user's own secgate settings.
        "SECGATE_DB",
        "SECGATE_CARGO",
        // The binary an installed hook script runs instead of its own path.
        "SECGATE",
        // A reproducible-build epoch would fix the SBOM's timestamp.
        "SOURCE_DATE_EPOCH",
        "GITHUB_ACTIONS",
        "GITHUB_STEP_SUMMARY",
        "GIT_DIR",
        "GIT_WORK_TREE",
        // A proxy would carry requests meant for 127.0.0.1 elsewhere.
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        command.env_remove(name);
    }
    command
}

/// A `CARGO_HOME` for secgate (`.env("CARGO_HOME", ...)`) that hides this
/// machine's cargo: an empty directory under `home`. No local index cache,
/// so the yanked check reports its packages as not checked, and results do
/// not depend on what cargo has cached here.
#[allow(dead_code)]
pub fn empty_cargo_home(home: &Path) -> PathBuf {
    home.join("cargo")
}

/// A fixture file or directory under `tests/fixtures`.
#[allow(dead_code)]
pub fn fixture(path: &str) -> PathBuf {
    repo_root().join("tests/fixtures").join(path)
}

/// Copies the directory `from` (files and subdirectories) to `to`.
#[allow(dead_code)]
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// What the SARIF 2.1.0 schema finds wrong with `sarif` (empty: valid).
#[allow(dead_code)]
pub fn schema_errors(sarif: &str) -> Vec<String> {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("schemas/sarif-schema-2.1.0.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let instance: serde_json::Value = serde_json::from_str(sarif).unwrap();
    validator
        .iter_errors(&instance)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect()
}

/// What `check_offline` saw: the exit code, stderr and the SARIF (Null when
/// none was written).
#[allow(dead_code)]
pub struct Checked {
    pub code: i32,
    pub stderr: String,
    pub sarif: serde_json::Value,
}

/// `secgate check --offline` of `project` against the fixture databases
/// (RustSec and OSV), outputs in a scratch directory; a SARIF it writes
/// must be schema-valid. `extra` goes before the project.
#[allow(dead_code)]
pub fn check_offline(project: &Path, extra: &[&str]) -> Checked {
    let out = tempfile::tempdir().unwrap();
    let sarif = out.path().join("out.sarif");
    let output = secgate(out.path())
        .args(["check", "--offline", "--db"])
        .arg(fixture("advisory-db"))
        .arg("--osv-db")
        .arg(fixture("osv"))
        .arg("--sarif")
        .arg(&sarif)
        .arg("--sbom")
        .arg(out.path().join("sbom.cdx.json"))
        .args(extra)
        .arg(project)
        .output()
        .unwrap();
    let text = std::fs::read_to_string(&sarif).unwrap_or_default();
    assert!(
        schema_errors(&text).is_empty(),
        "{:?}",
        schema_errors(&text)
    );
    Checked {
        code: output.status.code().unwrap(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        sarif: serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
    }
}
