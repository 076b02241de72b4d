//! The SBOM end to end: schema validity of every format offered, component
//! sets on fixture projects, reproducibility, the lock-file fallback, and
//! parity with cargo-cyclonedx. The validators and cargo-cyclonedx come from
//! `bash .ci/setup`; a test whose tool is missing fails saying so.

mod common;

use common::secgate;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn project(name: &str) -> PathBuf {
    common::fixture("projects").join(name)
}

struct Sbom {
    code: i32,
    stderr: String,
    bytes: Vec<u8>,
    out: tempfile::TempDir,
}

impl Sbom {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or_else(|e| panic!("{e}: {}", self.stderr))
    }
}

/// `secgate sbom --offline` on `dir`, the SBOM written to a temporary directory.
fn sbom(dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Sbom {
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("sbom.cdx.json");
    let mut command = secgate(out.path());
    command
        .arg("sbom")
        .arg(dir)
        .arg("--offline")
        .arg("--sbom")
        .arg(&file)
        .arg("--sarif")
        .arg(out.path().join("out.sarif"))
        .args(extra);
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.output().unwrap();
    Sbom {
        code: output.status.code().unwrap(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        bytes: std::fs::read(&file).unwrap_or_default(),
        out,
    }
}

fn components(document: &Value) -> Vec<&Value> {
    document["components"].as_array().unwrap().iter().collect()
}

fn component<'a>(document: &'a Value, name: &str) -> &'a Value {
    components(document)
        .into_iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no component {name}"))
}

fn names(document: &Value) -> BTreeSet<String> {
    components(document)
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect()
}

fn property<'a>(item: &'a Value, name: &str) -> Vec<&'a str> {
    item["properties"]
        .as_array()
        .map(|p| {
            p.iter()
                .filter(|p| p["name"] == name)
                .map(|p| p["value"].as_str().unwrap())
                .collect()
        })
        .unwrap_or_default()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// The venv with cyclonedx-python-lib that `.ci/setup` creates; missing, the
/// test fails.
fn python() -> PathBuf {
    common::require(
        "the CycloneDX validator (a Python with pip cyclonedx-python-lib[json-validation,xml-validation])",
        Some("SECGATE_PY"),
        &[common::repo_root().join(".venv/bin/python")],
        common::SETUP,
    )
}

/// Validates every `KIND:PATH` argument; one interpreter for all of them.
const VALIDATE: &str = r#"
import sys
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from cyclonedx.validation.xml import XmlValidator
validators = {
    "json": JsonStrictValidator(SchemaVersion.V1_5),
    "xml": XmlValidator(SchemaVersion.V1_5),
}
failed = False
for argument in sys.argv[1:]:
    kind, path = argument.split(":", 1)
    error = validators[kind].validate_str(open(path, encoding="utf-8").read())
    if error is not None:
        print(f"{path}: {error}")
        failed = True
sys.exit(1 if failed else 0)
"#;

#[test]
fn every_format_validates_against_the_official_schema() {
    let python = python();
    let mut runs = Vec::new();
    let mut documents = Vec::new();
    for fixture in ["single", "workspace", "mixed", "git-lock"] {
        for (format, kind) in [("cyclonedx-json-1.5", "json"), ("cyclonedx-xml-1.5", "xml")] {
            let run = sbom(
                &project(fixture),
                &["--sbom-format", format, "--sbom-per-member"],
                &[],
            );
            assert_eq!(run.code, 0, "{fixture} {format}: {}", run.stderr);
            for entry in std::fs::read_dir(run.out.path()).unwrap() {
                let path = entry.unwrap().path();
                if path.to_string_lossy().contains(".cdx.") {
                    documents.push(format!("{kind}:{}", path.display()));
                }
            }
            runs.push(run);
        }
    }
    // Python projects: real locks with hashes and graphs, and a requirement file.
    for fixture in [
        "python/poetry-1.1-django",
        "python/pipenv-flask",
        "python/uv-workspace",
        "python/requirements-poetry-export",
    ] {
        for (format, kind) in [("cyclonedx-json-1.5", "json"), ("cyclonedx-xml-1.5", "xml")] {
            let run = sbom(&common::fixture(fixture), &["--sbom-format", format], &[]);
            assert_eq!(run.code, 0, "{fixture} {format}: {}", run.stderr);
            let path = run.out.path().join("sbom.cdx.json");
            documents.push(format!("{kind}:{}", path.display()));
            runs.push(run);
        }
    }
    // Per-member files of the workspace included.
    assert!(documents.len() >= 20, "{documents:?}");
    let output = std::process::Command::new(python)
        .arg("-c")
        .arg(VALIDATE)
        .args(&documents)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "not valid CycloneDX 1.5 (an import error means a broken venv: {}): {}{}",
        common::SETUP,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn single_crate_lists_what_ships() {
    let run = sbom(&project("single"), &[], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let document = run.json();
    assert_eq!(document["specVersion"], "1.5");
    // memchr is a dev-dependency: it does not ship.
    assert_eq!(names(&document), set(&["itoa"]));
    let itoa = component(&document, "itoa");
    assert_eq!(itoa["purl"], "pkg:cargo/itoa@1.0.19");
    assert_eq!(itoa["bom-ref"], "pkg:cargo/itoa@1.0.19");
    assert_eq!(itoa["scope"], "required");
    assert_eq!(itoa["hashes"][0]["alg"], "SHA-256");
    assert_eq!(
        itoa["hashes"][0]["content"],
        "3bd1574e617a9a6c1f8f8181bd7e841e1f20e4277607ef28945765188d6284d4"
    );
    assert_eq!(itoa["licenses"][0]["expression"], "MIT OR Apache-2.0");
    let references: Vec<_> = itoa["externalReferences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["type"].as_str().unwrap(), r["url"].as_str().unwrap()))
        .collect();
    assert!(
        references.contains(&("distribution", "https://crates.io/crates/itoa/1.0.19")),
        "{references:?}"
    );
    assert!(
        references.iter().any(|(t, _)| *t == "vcs"),
        "{references:?}"
    );
    assert!(itoa["description"].as_str().is_some());
    let root = &document["metadata"]["component"];
    assert_eq!(root["name"], "single-app");
    assert_eq!(root["type"], "application");
    assert_eq!(root["licenses"][0]["expression"], "MIT");
    assert_eq!(document["metadata"]["tools"][0]["name"], "secgate");
    assert_eq!(
        document["metadata"]["tools"][0]["version"],
        env!("CARGO_PKG_VERSION")
    );
    assert!(document["serialNumber"]
        .as_str()
        .unwrap()
        .starts_with("urn:uuid:"));
    let dependencies = document["dependencies"].as_array().unwrap();
    let app = dependencies
        .iter()
        .find(|d| d["ref"] == root["bom-ref"])
        .unwrap();
    assert_eq!(
        app["dependsOn"],
        serde_json::json!(["pkg:cargo/itoa@1.0.19"])
    );
    assert!(run.stderr.contains("1 components"), "{}", run.stderr);
}

#[test]
fn workspace_nests_members_and_writes_one_sbom_per_member() {
    let run = sbom(&project("workspace"), &["--sbom-per-member"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let document = run.json();
    assert_eq!(names(&document), set(&["itoa", "memchr"]));
    let root = &document["metadata"]["component"];
    assert_eq!(root["bom-ref"], "workspace");
    let members: Vec<_> = root["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["purl"].as_str().unwrap())
        .collect();
    assert_eq!(
        members,
        [
            "pkg:cargo/ws-app@1.0.0?download_url=file://app",
            "pkg:cargo/ws-lib@0.2.0?download_url=file://lib"
        ]
    );
    let read = |name: &str| -> Value {
        serde_json::from_slice(&std::fs::read(run.out.path().join(name)).unwrap()).unwrap()
    };
    let app = read("sbom.ws-app.cdx.json");
    assert_eq!(app["metadata"]["component"]["name"], "ws-app");
    assert_eq!(names(&app), set(&["itoa", "memchr", "ws-lib"]));
    let lib = read("sbom.ws-lib.cdx.json");
    assert_eq!(names(&lib), set(&["itoa"]));
}

#[test]
fn build_platform_and_path_dependencies_are_marked() {
    let run = sbom(&project("mixed"), &[], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let document = run.json();
    // aho-corasick and hex are dev-only; memchr is also reached normally.
    assert_eq!(
        names(&document),
        set(&["cfg-if", "itoa", "memchr", "mixed-util", "percent-encoding"])
    );
    assert_eq!(component(&document, "cfg-if")["scope"], "excluded");
    assert_eq!(
        component(&document, "percent-encoding")["scope"],
        "excluded"
    );
    assert_eq!(component(&document, "memchr")["scope"], "required");
    let itoa = component(&document, "itoa");
    assert_eq!(property(itoa, "secgate:platform-only"), ["cfg(windows)"]);
    let util = component(&document, "mixed-util");
    assert_eq!(
        util["purl"],
        "pkg:cargo/mixed-util@0.4.2?download_url=file://util"
    );
    assert!(util["licenses"].is_null());
    assert_eq!(property(util, "secgate:license-file"), ["LICENSE.txt"]);
    assert!(
        util["hashes"].is_null(),
        "a path dependency has no checksum"
    );
    assert_eq!(
        property(&document["metadata"], "secgate:platforms"),
        ["all"]
    );

    let lean = sbom(
        &project("mixed"),
        &[
            "--sbom-no-build-deps",
            "--target",
            "x86_64-unknown-linux-gnu",
        ],
        &[],
    );
    assert_eq!(lean.code, 0, "{}", lean.stderr);
    let lean = lean.json();
    assert_eq!(names(&lean), set(&["memchr", "mixed-util"]));
    assert_eq!(
        property(&lean["metadata"], "secgate:platforms"),
        ["x86_64-unknown-linux-gnu"]
    );
    assert_eq!(
        property(&lean["metadata"], "secgate:build-dependencies"),
        ["omitted"]
    );
}

#[test]
fn byte_identical_across_runs_and_checkouts_under_source_date_epoch() {
    let first = tempfile::tempdir().unwrap();
    let second = tempfile::tempdir().unwrap();
    let a = first.path().join("checkout-one");
    let b = second.path().join("elsewhere").join("checkout-two");
    common::copy_tree(&project("mixed"), &a);
    common::copy_tree(&project("mixed"), &b);
    let epoch = [("SOURCE_DATE_EPOCH", "1700000000")];
    let runs = [
        sbom(&a, &[], &epoch),
        sbom(&a, &[], &epoch),
        sbom(&b, &[], &epoch),
    ];
    for run in &runs {
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
    assert!(!runs[0].bytes.is_empty());
    assert_eq!(runs[0].bytes, runs[1].bytes, "two runs differ");
    assert_eq!(runs[0].bytes, runs[2].bytes, "two checkouts differ");
    let text = String::from_utf8_lossy(&runs[0].bytes);
    for path in [
        first.path(),
        second.path(),
        Path::new(env!("CARGO_MANIFEST_DIR")),
    ] {
        assert!(
            !text.contains(path.to_str().unwrap()),
            "absolute path in the SBOM"
        );
    }
    assert!(!text.contains("file:///"), "absolute file URL in the SBOM");
    assert_eq!(
        runs[0].json()["metadata"]["timestamp"],
        "2023-11-14T22:13:20Z"
    );
}

#[test]
fn without_cargo_the_sbom_comes_from_the_lock_file() {
    let run = sbom(
        &project("mixed"),
        &[],
        &[("SECGATE_CARGO", "/nonexistent/cargo")],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let document = run.json();
    // Without the manifests nothing tells dev-dependencies apart: all are listed.
    assert_eq!(
        names(&document),
        set(&[
            "aho-corasick",
            "cfg-if",
            "hex",
            "itoa",
            "memchr",
            "mixed-util",
            "percent-encoding"
        ])
    );
    assert!(components(&document)
        .iter()
        .all(|c| c["licenses"].is_null() && c["scope"].is_null()));
    assert!(component(&document, "memchr")["hashes"][0]["content"].is_string());
    let metadata = &document["metadata"];
    assert_eq!(
        property(metadata, "secgate:dependency-source"),
        ["Cargo.lock"]
    );
    let missing = property(metadata, "secgate:licenses-missing");
    assert!(missing[0].contains("/nonexistent/cargo"), "{missing:?}");
    assert!(
        run.stderr.contains("licenses") && run.stderr.contains("missing"),
        "{}",
        run.stderr
    );
}

#[test]
fn uncached_sources_offline_fall_back_to_the_lock_file() {
    let run = sbom(&project("uncached"), &[], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let document = run.json();
    assert_eq!(names(&document), set(&["secgate-fixture-never-published"]));
    let reason = property(&document["metadata"], "secgate:licenses-missing");
    assert!(reason[0].contains("offline"), "{reason:?}");
}

#[test]
fn git_sources_get_a_vcs_url() {
    let run = sbom(&project("git-lock"), &[], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let document = run.json();
    assert_eq!(
        component(&document, "gitdep")["purl"],
        "pkg:cargo/gitdep@0.1.0?vcs_url=git%2Bhttps://github.com/example/gitdep%400123456789abcdef0123456789abcdef01234567"
    );
    let itoas: Vec<_> = components(&document)
        .into_iter()
        .filter(|c| c["name"] == "itoa")
        .map(|c| c["version"].as_str().unwrap())
        .collect();
    assert_eq!(itoas, ["0.4.8", "1.0.19"]);
    assert_eq!(document["metadata"]["component"]["name"], "git-app");
}

#[test]
fn broken_manifest_is_a_scanner_failure_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    common::copy_tree(&project("single"), dir.path());
    std::fs::write(dir.path().join("Cargo.toml"), "[package\nname = ").unwrap();
    let run = sbom(dir.path(), &[], &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("Cargo.toml"), "{}", run.stderr);
    assert!(run.bytes.is_empty(), "no SBOM on failure");
}

/// (name, version) of every component but the root, from a CycloneDX JSON file.
fn name_versions(document: &Value) -> BTreeSet<(String, String)> {
    components(document)
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_string(),
                c["version"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// cargo-cyclonedx (the version `.ci/setup` pins) lists the same components
/// as secgate. `.ci/setup` installs it into `.ci/tools/bin`;
/// `$SECGATE_CARGO_CYCLONEDX` names another binary. Missing, the test fails.
#[test]
fn same_components_as_cargo_cyclonedx() {
    let tool = common::require(
        "cargo-cyclonedx (cargo install --locked cargo-cyclonedx)",
        Some("SECGATE_CARGO_CYCLONEDX"),
        &[common::repo_root().join(".ci/tools/bin/cargo-cyclonedx")],
        common::SETUP,
    );
    let dir = tempfile::tempdir().unwrap();
    common::copy_tree(&project("mixed"), dir.path());
    // Run directly, as cargo runs a subcommand: its first argument is its name.
    let status = std::process::Command::new(&tool)
        .args([
            "cyclonedx",
            "--format",
            "json",
            // Ours lists every platform by default; theirs, the host only.
            "--target",
            "all",
            "--override-filename",
            "theirs",
        ])
        .current_dir(dir.path())
        .env("CARGO_NET_OFFLINE", "true")
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let theirs: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("theirs.json")).unwrap()).unwrap();
    let ours = sbom(dir.path(), &[], &[]);
    assert_eq!(ours.code, 0, "{}", ours.stderr);
    let ours = ours.json();
    assert_eq!(name_versions(&ours), name_versions(&theirs));
    for c in components(&ours) {
        if c["purl"].as_str().unwrap().contains('?') {
            continue;
        }
        assert!(c["hashes"][0]["content"].is_string(), "{c}");
        assert!(c["licenses"][0]["expression"].is_string(), "{c}");
    }
}
