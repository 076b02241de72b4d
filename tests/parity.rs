//! Golden parity with cargo-audit: for each lock file under
//! `tests/fixtures/parity/<name>/`, secgate reports exactly the (advisory,
//! package, version) set cargo-audit recorded in `expected.json` (see the
//! README there for the command and version), plus what `beyond.json` lists:
//! real matches cargo-audit misses.

mod common;

use common::{empty_cargo_home, fixture};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

type Key = (String, String, String);

/// The advisory-db commit `expected.json` was recorded against (see the
/// fixtures' README and `../shared/advisory-db/SNAPSHOT`).
const SNAPSHOT: &str = "bf5c0d245a92671908518d7e765914d437954ed6";

fn fixtures() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(fixture("parity"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("Cargo.lock").is_file())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 5, "at least five parity fixtures: {dirs:?}");
    dirs
}

fn read_keys(file: &Path) -> BTreeSet<Key> {
    let text = std::fs::read_to_string(file).unwrap();
    let list: Vec<[String; 3]> = serde_json::from_str(&text).unwrap();
    list.into_iter().map(|[a, b, c]| (a, b, c)).collect()
}

/// cargo-audit's set, and where there is one, what secgate reports beyond it.
fn expected(dir: &Path) -> BTreeSet<Key> {
    let mut keys = read_keys(&dir.join("expected.json"));
    let beyond = dir.join("beyond.json");
    if beyond.is_file() {
        let extra = read_keys(&beyond);
        assert!(
            keys.is_disjoint(&extra),
            "{}: beyond.json repeats expected.json",
            dir.display()
        );
        keys.extend(extra);
    }
    keys
}

/// secgate's advisory findings (yanked ones aside: cargo-audit ran with
/// --no-yanked) for one lock file against `db`.
fn secgate(lock: &Path, db: &Path) -> BTreeSet<Key> {
    let home = tempfile::tempdir().unwrap();
    let sarif = home.path().join("out.sarif");
    let output = common::secgate(home.path())
        .env("CARGO_HOME", empty_cargo_home(home.path()))
        .args(["audit", "--offline", "-q", "--fail-on", "none", "--db"])
        .arg(db)
        .arg("--sarif")
        .arg(&sarif)
        .arg(lock)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}: {stderr}",
        lock.display()
    );
    let document: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&sarif).unwrap()).unwrap();
    let mut found = BTreeSet::new();
    for run in document["runs"].as_array().unwrap() {
        for result in run["results"].as_array().unwrap() {
            let rule = result["ruleId"].as_str().unwrap();
            if rule == "yanked" {
                continue;
            }
            let properties = &result["properties"];
            found.insert((
                rule.to_string(),
                properties["package"].as_str().unwrap().to_string(),
                properties["version"].as_str().unwrap().to_string(),
            ));
        }
    }
    found
}

fn assert_parity(dir: &Path, db: &Path, wanted: BTreeSet<Key>) {
    let got = secgate(&dir.join("Cargo.lock"), db);
    let missing: Vec<_> = wanted.difference(&got).collect();
    let extra: Vec<_> = got.difference(&wanted).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{}: missing {missing:?}, extra {extra:?}",
        dir.display()
    );
}

/// The full snapshot lives beside the checkout (`../shared`, as in CI);
/// missing, the test fails naming the commit the expected sets were
/// recorded against.
#[test]
fn matches_cargo_audit_on_the_full_snapshot() {
    let crates = common::require(
        "the RustSec advisory-db snapshot (../shared/advisory-db)",
        None,
        &[common::repo_root().join("../shared/advisory-db/crates")],
        &format!(
            "git clone https://github.com/rustsec/advisory-db.git ../shared/advisory-db \\\n        \
             && git -C ../shared/advisory-db checkout {SNAPSHOT}"
        ),
    );
    let db = crates.parent().unwrap();
    for dir in fixtures() {
        assert_parity(&dir, db, expected(&dir));
    }
}

/// The committed subset holds only some advisories: the expected sets are
/// filtered to those, and must still match exactly.
#[test]
fn matches_cargo_audit_on_the_committed_subset() {
    let db = fixture("advisory-db");
    let mut present = BTreeSet::new();
    for krate in std::fs::read_dir(db.join("crates")).unwrap().flatten() {
        for file in std::fs::read_dir(krate.path()).unwrap().flatten() {
            let name = file.file_name().to_string_lossy().into_owned();
            if let Some(id) = name.strip_suffix(".md") {
                present.insert(id.to_string());
            }
        }
    }
    let mut checked = 0;
    for dir in fixtures() {
        let wanted: BTreeSet<Key> = expected(&dir)
            .into_iter()
            .filter(|(id, _, _)| present.contains(id))
            .collect();
        checked += wanted.len();
        assert_parity(&dir, &db, wanted);
    }
    assert!(checked >= 20, "the subset covers the fixtures: {checked}");
}
