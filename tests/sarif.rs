//! The SARIF file is the product: schema-valid, accepted by GitHub's rules,
//! and stable (snapshot).

mod common;

use common::{empty_cargo_home, fixture, schema_errors, secgate};
use std::path::Path;

/// Runs `secgate check` on a fixture repository and returns the SARIF text.
fn sarif_for(repo: &str, extra: &[&str]) -> String {
    sarif_with_db(repo, &fixture("advisory-db"), extra)
}

fn sarif_with_db(repo: &str, db: &Path, extra: &[&str]) -> String {
    let out = tempfile::tempdir().unwrap();
    let sarif = out.path().join("out.sarif");
    secgate(out.path())
        .env("CARGO_HOME", empty_cargo_home(out.path()))
        .arg("check")
        .arg(fixture(repo))
        .arg("--db")
        .arg(db)
        .arg("--osv-db")
        .arg(fixture("osv"))
        .arg("--sarif")
        .arg(&sarif)
        .arg("--sbom")
        .arg(out.path().join("sbom.json"))
        .args(extra)
        .output()
        .expect("secgate runs");
    std::fs::read_to_string(&sarif).expect("secgate wrote a SARIF file")
}

#[test]
fn sarif_is_valid_against_the_oasis_schema() {
    for (repo, extra) in [
        ("repos/mixed", &[][..]),
        ("repos/clean", &[][..]),
        ("repos/vulnerable", &["--fail-on", "none"][..]),
        ("repos/polyglot", &[][..]),
    ] {
        let sarif = sarif_for(repo, extra);
        let errors = schema_errors(&sarif);
        assert!(errors.is_empty(), "{repo}: {errors:#?}");
    }
}

#[test]
fn sarif_with_a_failed_scanner_is_still_valid() {
    let db = tempfile::tempdir().unwrap();
    let sarif = sarif_with_db("repos/mixed", db.path(), &[]);
    assert!(sarif.contains("\"executionSuccessful\": false"), "{sarif}");
    assert!(schema_errors(&sarif).is_empty());
}

#[test]
fn sarif_snapshot_of_the_mixed_fixture() {
    let sarif = sarif_for("repos/mixed", &[]);
    let document: serde_json::Value = serde_json::from_str(&sarif).unwrap();
    insta::assert_json_snapshot!("mixed_fixture", document);
}

#[test]
fn unchecked_lock_files_and_excluded_paths_are_in_the_sarif() {
    let sarif = sarif_for("repos/polyglot", &[]);
    let document: serde_json::Value = serde_json::from_str(&sarif).unwrap();
    let runs = document["runs"].as_array().unwrap();
    let advisories = &runs[0];
    let notifications = advisories["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .unwrap();
    let unchecked: Vec<&str> = notifications
        .iter()
        .filter(|n| n["properties"]["unchecked"] == true)
        .map(|n| {
            n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap()
        })
        .collect();
    // uv.lock and web/package-lock.json are checked (against the OSV
    // fixtures); RubyGems is not, yet.
    assert_eq!(unchecked, ["tools/Gemfile.lock"]);
    assert!(advisories["invocations"][0]["executionSuccessful"] == true);
    let secrets = runs
        .iter()
        .find(|r| r["automationDetails"]["id"] == "secgate/secrets/")
        .unwrap();
    assert_eq!(
        secrets["properties"]["excludedPaths"],
        serde_json::json!(["tests/fixtures/"])
    );
    assert!(secrets["results"].as_array().unwrap().is_empty());
}

#[test]
fn github_rules_in_sarif() {
    let sarif = sarif_for("repos/mixed", &[]);
    let document: serde_json::Value = serde_json::from_str(&sarif).unwrap();
    for run in document["runs"].as_array().unwrap() {
        for rule in run["tool"]["driver"]["rules"].as_array().unwrap() {
            let tags = rule["properties"]["tags"].as_array().unwrap();
            assert!(tags.iter().any(|t| t == "security"), "{rule}");
            let score: f64 = rule["properties"]["security-severity"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((0.1..=10.0).contains(&score), "{rule}");
            assert!(
                rule["help"]["markdown"].is_string() && rule["helpUri"].is_string(),
                "{rule}"
            );
        }
        for result in run["results"].as_array().unwrap() {
            let index = result["ruleIndex"].as_u64().unwrap() as usize;
            assert_eq!(
                run["tool"]["driver"]["rules"][index]["id"],
                result["ruleId"]
            );
            assert!(result["partialFingerprints"]["primaryLocationLineHash"].is_string());
            assert_eq!(
                result["locations"][0]["physicalLocation"]["artifactLocation"]["uriBaseId"],
                "%SRCROOT%"
            );
        }
    }
}

/// Microsoft's SARIF multitool with GitHub's ingestion rules ("Sarif;Gh").
/// `.ci/setup` installs it (`npm ci`) into node_modules; missing, the test fails.
#[test]
fn sarif_passes_the_multitool_with_github_rules() {
    let tool = common::require(
        "Microsoft's SARIF multitool (npm @microsoft/sarif-multitool)",
        Some("SECGATE_SARIF_MULTITOOL"),
        &[common::repo_root()
            .join("node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool")],
        common::SETUP,
    );
    let dir = tempfile::tempdir().unwrap();
    for (name, repo) in [
        ("mixed", "repos/mixed"),
        ("clean", "repos/clean"),
        // Notifications on unchecked lock files, excluded paths.
        ("polyglot", "repos/polyglot"),
    ] {
        let input = dir.path().join(format!("{name}.sarif"));
        std::fs::write(&input, sarif_for(repo, &[])).unwrap();
        let report = dir.path().join(format!("{name}.validation.sarif"));
        let status = std::process::Command::new(&tool)
            .arg("validate")
            .arg(&input)
            .args(["--rule-kind", "Sarif;Gh", "-o"])
            .arg(&report)
            .env("DOTNET_SYSTEM_GLOBALIZATION_INVARIANT", "1")
            .status()
            .unwrap();
        assert!(status.success());
        let validation: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
        let errors: Vec<String> = validation["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["level"] == "error")
            .map(|r| format!("{}: {}", r["ruleId"], r["message"]))
            .collect();
        assert!(errors.is_empty(), "{name}: {errors:#?}");
    }
}
