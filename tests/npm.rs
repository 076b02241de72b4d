//! JavaScript and TypeScript lock files through the whole gate: real locks
//! from public projects (`tests/fixtures/npm/golden`, sources in its
//! README) against real GitHub and OpenSSF advisories
//! (`tests/fixtures/osv/npm`), offline with `--osv-db`.

mod common;

use common::{check_offline, copy_tree, fixture, secgate};
use serde_json::Value;
use std::collections::BTreeMap;

/// Every advisory result: (rule id, uri, start line, level, dependency kind, package@version).
fn results(sarif: &Value) -> Vec<(String, String, u64, String, String, String)> {
    let mut found = Vec::new();
    for run in sarif["runs"].as_array().unwrap() {
        for result in run["results"].as_array().into_iter().flatten() {
            if result["properties"]["package-version"].is_null() {
                continue;
            }
            let location = &result["locations"][0]["physicalLocation"];
            found.push((
                result["ruleId"].as_str().unwrap().to_string(),
                location["artifactLocation"]["uri"]
                    .as_str()
                    .unwrap()
                    .to_string(),
                location["region"]["startLine"].as_u64().unwrap(),
                result["level"].as_str().unwrap().to_string(),
                result["properties"]["dependency-kind"]
                    .as_str()
                    .unwrap_or("-")
                    .to_string(),
                result["properties"]["package-version"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            ));
        }
    }
    found.sort();
    found
}

/// The package name of `package@version` (scoped names keep their `@`).
fn package_of(package_version: &str) -> &str {
    package_version
        .rsplit_once('@')
        .map_or(package_version, |(name, _)| name)
}

/// Each golden lock's findings are exactly those an independent route
/// expects (`tests/fixtures/npm/golden/make_golden.js`: the lock read by
/// JSON.parse, @yarnpkg/lockfile or js-yaml, ranges evaluated by
/// node-semver), and each sits on a line of the lock that names its package.
#[test]
fn real_locks_find_what_node_semver_expects() {
    let golden = fixture("npm/golden");
    let expected: BTreeMap<String, Vec<Value>> =
        serde_json::from_slice(&std::fs::read(golden.join("expected.json")).unwrap()).unwrap();
    assert!(expected.len() >= 7, "{} golden locks", expected.len());
    let mut compared = 0;
    for (name, entries) in &expected {
        let dir = golden.join(name);
        let checked = check_offline(&dir, &["--scanners", "advisories"]);
        assert!(matches!(checked.code, 0 | 1), "{name}: {}", checked.stderr);
        let found = results(&checked.sarif);
        let mut found_keys: Vec<String> = found
            .iter()
            .map(|(id, _, _, _, _, package_version)| {
                let package = package_of(package_version);
                let version = &package_version[package.len() + 1..];
                format!("{id} {package} {version}")
            })
            .collect();
        found_keys.sort();
        found_keys.dedup();
        let mut expected_keys: Vec<String> = entries
            .iter()
            .map(|e| {
                format!(
                    "{} {} {}",
                    e["id"].as_str().unwrap(),
                    e["package"].as_str().unwrap(),
                    e["version"].as_str().unwrap()
                )
            })
            .collect();
        expected_keys.sort();
        expected_keys.dedup();
        assert_eq!(found_keys, expected_keys, "{name}: {}", checked.stderr);
        for (_, uri, line, _, _, package_version) in &found {
            let text = std::fs::read_to_string(dir.join(uri)).unwrap();
            let at = text.lines().nth(*line as usize - 1).unwrap_or("");
            assert!(
                at.contains(package_of(package_version)),
                "{name}: {package_version} at {uri}:{line}: {at:?}"
            );
        }
        compared += expected_keys.len();
    }
    assert!(compared >= 60, "{compared} findings compared");
}

/// A TypeScript storefront (`package-lock.json`, lockfileVersion 3) and a
/// tool managed by pnpm in one repository: the gate fails on the shipped
/// vulnerabilities, each on its lock line; the dev-only one is graded by
/// the policy; the SBOM lists what ships with the locks' integrity hashes.
#[test]
fn a_vulnerable_package_lock_and_pnpm_lock_fail_the_gate_on_their_lines() {
    let project = tempfile::tempdir().unwrap();
    let root = project.path();
    copy_tree(&fixture("npm/storefront-v3"), root);
    copy_tree(
        &fixture("npm/golden/pnpm-v5-read-yaml-file"),
        &root.join("tools/yaml"),
    );
    std::fs::remove_file(root.join("README.md")).unwrap();
    std::fs::remove_file(root.join("tools/yaml/README.md")).ok();

    let checked = check_offline(root, &["--scanners", "advisories,sbom"]);
    assert_eq!(checked.code, 1, "{}", checked.stderr);
    let found = results(&checked.sarif);
    let lock = std::fs::read_to_string(root.join("package-lock.json")).unwrap();
    let line_of = |key: &str| lock.lines().position(|l| l.contains(key)).unwrap() as u64 + 1;
    let storefront: Vec<_> = found
        .iter()
        .filter(|f| f.1 == "package-lock.json")
        .map(|f| (f.0.as_str(), f.2, f.3.as_str(), f.4.as_str()))
        .collect();
    assert_eq!(
        storefront,
        [
            (
                "GHSA-35jh-r3h4-6jhm",
                line_of("\"node_modules/lodash\""),
                "error",
                "normal"
            ),
            (
                "GHSA-67hx-6x53-jw92",
                line_of("\"node_modules/@babel/traverse\""),
                "error",
                "normal"
            ),
            (
                "GHSA-r683-j2x4-v87g",
                line_of("\"node_modules/node-fetch\""),
                "error",
                "normal"
            ),
            (
                "GHSA-xvch-5gv4-984h",
                line_of("\"node_modules/minimist\""),
                "note",
                "dev-only"
            ),
        ],
        "{}",
        checked.stderr
    );
    // The pnpm lock's findings are there too, on its lines.
    let pnpm = std::fs::read_to_string(root.join("tools/yaml/pnpm-lock.yaml")).unwrap();
    let in_pnpm: Vec<_> = found
        .iter()
        .filter(|f| f.1 == "tools/yaml/pnpm-lock.yaml")
        .collect();
    let expected: Value =
        serde_json::from_slice(&std::fs::read(fixture("npm/golden/expected.json")).unwrap())
            .unwrap();
    let pnpm_expected = expected["pnpm-v5-read-yaml-file"].as_array().unwrap().len();
    assert!(pnpm_expected >= 10);
    assert_eq!(in_pnpm.len(), pnpm_expected, "{}", checked.stderr);
    for (_, _, line, _, _, package_version) in in_pnpm {
        let at = pnpm.lines().nth(*line as usize - 1).unwrap();
        assert!(at.contains(package_of(package_version)), "{at}");
    }
    assert!(
        checked.stderr.contains("2 npm lock files, "),
        "{}",
        checked.stderr
    );
    // A dev-only finding fails the gate when the policy says so.
    std::fs::write(
        root.join("secgate.toml"),
        "fail-on = \"critical\"\n[advisories]\ndev-only = \"report\"\n",
    )
    .unwrap();
    let strict = check_offline(root, &["--scanners", "advisories"]);
    let minimist = results(&strict.sarif)
        .into_iter()
        .find(|f| f.0 == "GHSA-xvch-5gv4-984h" && f.1 == "package-lock.json")
        .unwrap();
    assert_eq!(minimist.3, "error", "reported at its own severity");
}

#[test]
fn the_sbom_lists_npm_packages_with_their_integrity_hashes() {
    let out = tempfile::tempdir().unwrap();
    let sbom = out.path().join("sbom.cdx.json");
    let output = secgate(out.path())
        .args(["sbom", "--offline", "--sbom"])
        .arg(&sbom)
        .arg(fixture("npm/storefront-v3"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let document: Value = serde_json::from_slice(&std::fs::read(&sbom).unwrap()).unwrap();
    let components = document["components"].as_array().unwrap();
    let by_purl = |purl: &str| components.iter().find(|c| c["purl"] == purl);
    let lodash = by_purl("pkg:npm/lodash@4.17.20").expect("lodash ships");
    let lock: Value = serde_json::from_slice(
        &std::fs::read(fixture("npm/storefront-v3/package-lock.json")).unwrap(),
    )
    .unwrap();
    let integrity = lock["packages"]["node_modules/lodash"]["integrity"]
        .as_str()
        .unwrap();
    use base64::Engine;
    let digest = base64::engine::general_purpose::STANDARD
        .decode(integrity.strip_prefix("sha512-").unwrap())
        .unwrap();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(lodash["hashes"][0]["alg"], "SHA-512");
    assert_eq!(lodash["hashes"][0]["content"], hex.as_str());
    assert!(by_purl("pkg:npm/%40babel/traverse@7.22.5").is_some());
    // minimist is a dev dependency: not what ships.
    assert!(
        !components.iter().any(|c| c["name"] == "minimist"),
        "dev-only left out"
    );
    // The graph: the storefront depends on lodash.
    let depends_on_lodash = document["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .any(|d| {
            d["dependsOn"].as_array().is_some_and(|to| {
                to.iter()
                    .any(|r| r.as_str().is_some_and(|r| r.contains("lodash")))
            })
        });
    assert!(depends_on_lodash);
}

#[test]
fn a_binary_bun_lock_says_how_to_produce_the_text_lock() {
    let project = tempfile::tempdir().unwrap();
    std::fs::write(
        project.path().join("package.json"),
        "{\"name\": \"app\", \"dependencies\": {\"react\": \"^18\"}}\n",
    )
    .unwrap();
    std::fs::write(
        project.path().join("bun.lockb"),
        b"#!/usr/bin/env bun\nbun-lockfile-format-v0\n\x02\x00",
    )
    .unwrap();
    let checked = check_offline(project.path(), &["--scanners", "advisories"]);
    assert_eq!(checked.code, 0, "warn by default: {}", checked.stderr);
    assert!(
        checked.stderr.contains("bun install --save-text-lockfile"),
        "{}",
        checked.stderr
    );
    std::fs::write(
        project.path().join("secgate.toml"),
        "[advisories]\nunchecked-ecosystems = \"fail\"\n",
    )
    .unwrap();
    assert_eq!(
        check_offline(project.path(), &["--scanners", "advisories"]).code,
        2
    );
}

#[test]
fn dependencies_from_no_registry_are_listed_never_matched() {
    let checked = check_offline(
        &fixture("npm/locks/package-lock-v3-edge"),
        &["--scanners", "advisories"],
    );
    assert!(matches!(checked.code, 0 | 1), "{}", checked.stderr);
    assert!(
        checked
            .stderr
            .contains("3 dependencies not checked: `gitdep@git+file:"),
        "{}",
        checked.stderr
    );
    assert!(
        checked
            .stderr
            .contains("installed from a local path, not the registry"),
        "{}",
        checked.stderr
    );
}

#[test]
fn without_the_npm_archive_the_gate_cannot_pass() {
    let out = tempfile::tempdir().unwrap();
    let output = secgate(out.path())
        .args(["check", "--scanners", "advisories", "--offline", "--db"])
        .arg(fixture("advisory-db"))
        .arg("--osv-db")
        .arg(out.path())
        .arg("--sarif")
        .arg(out.path().join("out.sarif"))
        .arg(fixture("npm/storefront-v3"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no npm advisories"), "{stderr}");
}
