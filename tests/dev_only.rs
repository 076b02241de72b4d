//! Advisories on dev-only dependencies are reported but never fail the gate
//! by default (cargo-audit flags them as if they shipped); other-platform
//! dependencies are flagged with their platform. Uses `cargo metadata
//! --offline` on a fixture whose crates secgate itself depends on.

mod common;

use common::{fixture, secgate};
use std::path::Path;

/// A database with one critical advisory against every version of each crate.
fn database_against(crates: &[&str]) -> tempfile::TempDir {
    let db = tempfile::tempdir().unwrap();
    for (index, name) in crates.iter().enumerate() {
        let id = format!("RUSTSEC-2026-{:04}", 9000 + index);
        let dir = db.path().join("crates").join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join(format!("{id}.md")),
            format!(
                "```toml\n[advisory]\nid = \"{id}\"\npackage = \"{name}\"\ndate = \"2026-01-01\"\nurl = \"https://example.invalid/{name}\"\ncvss = \"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H\"\n\n[versions]\npatched = [\">= 99.0.0\"]\n```\n\n# Test advisory for {name}\n\nEvery version of {name} is affected (test data).\n"
            ),
        )
        .unwrap();
    }
    db
}

fn audit(db: &Path, policy: Option<&str>) -> (i32, String, serde_json::Value) {
    let out = tempfile::tempdir().unwrap();
    let sarif = out.path().join("a.sarif");
    let mut command = secgate(out.path());
    command
        .arg("audit")
        .arg(fixture("projects/mixed"))
        .arg("--db")
        .arg(db)
        .arg("--offline")
        .arg("--sarif")
        .arg(&sarif);
    if let Some(policy) = policy {
        let file = out.path().join("policy.toml");
        std::fs::write(&file, policy).unwrap();
        command.arg("--config").arg(&file);
    }
    let output = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let document = serde_json::from_slice(&std::fs::read(&sarif).unwrap()).unwrap();
    (output.status.code().unwrap(), stderr, document)
}

fn result_for<'a>(document: &'a serde_json::Value, package: &str) -> &'a serde_json::Value {
    document["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["properties"]["package"] == package)
        .unwrap_or_else(|| panic!("no finding for {package}: {document}"))
}

#[test]
fn dev_only_advisory_is_reported_but_never_fails_by_default() {
    let db = database_against(&["hex"]);
    let (code, stderr, sarif) = audit(db.path(), None);
    assert_eq!(code, 0, "{stderr}");
    let hex = result_for(&sarif, "hex");
    assert_eq!(hex["properties"]["dependency-kind"], "dev-only");
    assert_eq!(hex["properties"]["severity"], "info");
    assert_eq!(hex["properties"]["fails-gate"], false);
    assert!(hex["message"]["text"]
        .as_str()
        .unwrap()
        .contains("never shipped"));

    let (code, stderr, _) = audit(db.path(), Some("[advisories]\ndev-only = \"report\"\n"));
    assert_eq!(code, 1, "{stderr}");
}

#[test]
fn shipped_and_other_platform_dependencies_still_fail() {
    let db = database_against(&["hex", "itoa", "memchr", "percent-encoding"]);
    let (code, stderr, sarif) = audit(db.path(), None);
    assert_eq!(code, 1, "{stderr}");
    let itoa = result_for(&sarif, "itoa");
    assert_eq!(itoa["properties"]["dependency-kind"], "normal");
    assert_eq!(itoa["properties"]["platform-only"][0], "cfg(windows)");
    assert_eq!(itoa["properties"]["fails-gate"], true);
    // memchr: a normal dependency of a path dependency (and of a dev one).
    let memchr = result_for(&sarif, "memchr");
    assert_eq!(memchr["properties"]["dependency-kind"], "normal");
    // percent-encoding: a build-dependency of a path dependency.
    let build = result_for(&sarif, "percent-encoding");
    assert_eq!(build["properties"]["dependency-kind"], "build");
    assert_eq!(result_for(&sarif, "hex")["properties"]["fails-gate"], false);
}

#[test]
fn lock_file_alone_counts_every_package_as_shipped_and_says_so() {
    let db = database_against(&["smallvec"]);
    let out = tempfile::tempdir().unwrap();
    let output = secgate(out.path())
        .arg("audit")
        .arg(fixture("repos/vulnerable"))
        .arg("--db")
        .arg(db.path())
        .arg("--sarif")
        .arg(out.path().join("a.sarif"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("counted as shipped"), "{stderr}");
}

/// A cargo that hangs (on a lock, a network) is killed after the timeout,
/// with the helpers it started; the dev-only finding then counts as shipped
/// and fails the gate: the gate fails closed and still returns.
#[cfg(unix)]
#[test]
fn a_hung_cargo_metadata_times_out_and_fails_closed() {
    use std::os::unix::fs::PermissionsExt;
    let db = database_against(&["hex"]);
    let out = tempfile::tempdir().unwrap();
    let cargo = out.path().join("cargo");
    std::fs::write(&cargo, "#!/bin/sh\nsleep 60 &\nwait\n").unwrap();
    std::fs::set_permissions(&cargo, std::fs::Permissions::from_mode(0o755)).unwrap();
    let started = std::time::Instant::now();
    let output = secgate(out.path())
        .env("SECGATE_CARGO", &cargo)
        .env("SECGATE_METADATA_TIMEOUT_SECS", "1")
        .arg("audit")
        .arg(fixture("projects/mixed"))
        .arg("--db")
        .arg(db.path())
        .arg("--offline")
        .arg("--sarif")
        .arg(out.path().join("a.sarif"))
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("timed out after 1s"), "{stderr}");
    assert!(stderr.contains("counted as shipped"), "{stderr}");
}
