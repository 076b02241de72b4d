//! The `secgate` binary end to end: exit codes, outputs, errors.

mod common;

use common::{empty_cargo_home, fixture, secgate};
use predicates::prelude::*;
use std::path::Path;

struct Run {
    code: i32,
    stderr: String,
    sarif: Option<serde_json::Value>,
    sarif_bytes: Vec<u8>,
}

fn check(repo: &Path, extra: &[&str]) -> Run {
    check_with_db(repo, &fixture("advisory-db"), extra)
}

fn check_with_db(repo: &Path, db: &Path, extra: &[&str]) -> Run {
    let out = tempfile::tempdir().unwrap();
    let sarif = out.path().join("out.sarif");
    let sbom = out.path().join("sbom.json");
    let output = secgate(out.path())
        .env("CARGO_HOME", empty_cargo_home(out.path()))
        .arg("check")
        .arg(repo)
        .arg("--db")
        .arg(db)
        .arg("--sarif")
        .arg(&sarif)
        .arg("--sbom")
        .arg(&sbom)
        .args(extra)
        .output()
        .unwrap();
    let sarif_bytes = std::fs::read(&sarif).unwrap_or_default();
    Run {
        code: output.status.code().unwrap(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        sarif: serde_json::from_slice(&sarif_bytes).ok(),
        sarif_bytes,
    }
}

fn results(sarif: &serde_json::Value, run_id: &str) -> Vec<serde_json::Value> {
    sarif["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["automationDetails"]["id"] == run_id)
        .map(|r| r["results"].as_array().unwrap().clone())
        .unwrap_or_default()
}

#[test]
fn clean_repository_passes() {
    let run = check(&fixture("repos/clean"), &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("Verdict: PASS"), "{}", run.stderr);
    let sarif = run.sarif.unwrap();
    assert_eq!(sarif["runs"].as_array().unwrap().len(), 3);
    assert!(results(&sarif, "secgate/advisories/").is_empty());
}

#[test]
fn vulnerable_lockfile_violates_policy() {
    let run = check(&fixture("repos/vulnerable"), &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let sarif = run.sarif.unwrap();
    let advisories = results(&sarif, "secgate/advisories/");
    let ids: Vec<&str> = advisories
        .iter()
        .map(|r| r["ruleId"].as_str().unwrap())
        .collect();
    for expected in [
        "RUSTSEC-2021-0003",
        "RUSTSEC-2022-0013",
        "RUSTSEC-2020-0071",
        "RUSTSEC-2021-0139",
        "RUSTSEC-2023-0034",
    ] {
        assert!(ids.contains(&expected), "{expected} missing from {ids:?}");
    }
    let smallvec = advisories
        .iter()
        .find(|r| r["ruleId"] == "RUSTSEC-2021-0003")
        .unwrap();
    assert_eq!(smallvec["level"], "error");
    let region = &smallvec["locations"][0]["physicalLocation"]["region"];
    assert!(
        region["startLine"].as_u64().unwrap() > 1,
        "located on its [[package]] entry, not line 1"
    );
    assert!(
        run.stderr
            .contains("without CVSS counted at unknown-severity"),
        "{}",
        run.stderr
    );
}

#[test]
fn fail_on_none_reports_without_failing() {
    let run = check(&fixture("repos/vulnerable"), &["--fail-on", "none"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!results(&run.sarif.unwrap(), "secgate/advisories/").is_empty());
}

#[test]
fn planted_token_is_found_and_never_printed() {
    // secgate:allow: a made-up credential for this test
    let token = "ghp_R3kq9ZbW2xLm7TvN4pQs8YdF1hJc6GaE0uKi";
    let run = check(&fixture("repos/token"), &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let secrets = results(run.sarif.as_ref().unwrap(), "secgate/secrets/");
    assert_eq!(secrets.len(), 1);
    assert_eq!(secrets[0]["ruleId"], "github-personal-access-token");
    assert_eq!(
        secrets[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "deploy.env"
    );
    assert_eq!(
        secrets[0]["locations"][0]["physicalLocation"]["region"]["startLine"],
        3
    );
    assert!(!run.stderr.contains(token));
    assert!(!String::from_utf8_lossy(&run.sarif_bytes).contains(token));
}

#[test]
fn vulnerable_lock_and_token_both_reported() {
    let run = check(&fixture("repos/mixed"), &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let sarif = run.sarif.unwrap();
    assert!(!results(&sarif, "secgate/advisories/").is_empty());
    assert_eq!(results(&sarif, "secgate/secrets/").len(), 1);
}

#[test]
fn broken_policy_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.toml");
    std::fs::write(
        &policy,
        "fail-on = \"high\"\n\n[secrets]\nmax-file-sise = 10\n",
    )
    .unwrap();
    let run = check(
        &fixture("repos/clean"),
        &["--config", policy.to_str().unwrap()],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("policy.toml:4:1"), "{}", run.stderr);
    assert!(run.stderr.contains("max-file-sise"), "{}", run.stderr);
    assert!(
        run.sarif_bytes.is_empty(),
        "no SARIF for a run that never started"
    );
}

#[test]
fn policy_at_the_root_is_used() {
    let repo = tempfile::tempdir().unwrap();
    std::fs::copy(
        fixture("repos/vulnerable/Cargo.lock"),
        repo.path().join("Cargo.lock"),
    )
    .unwrap();
    std::fs::write(repo.path().join("secgate.toml"), "fail-on = \"none\"\n").unwrap();
    let run = check(repo.path(), &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("secgate.toml"), "{}", run.stderr);
}

#[test]
fn missing_path_could_not_check() {
    let run = check(&fixture("repos/does-not-exist"), &[]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("does-not-exist"), "{}", run.stderr);
}

#[test]
fn missing_lockfile_path_could_not_check() {
    let home = tempfile::tempdir().unwrap();
    let missing = fixture("repos/clean/nope/Cargo.lock");
    secgate(home.path())
        .env("CARGO_HOME", empty_cargo_home(home.path()))
        .current_dir(home.path())
        .arg("audit")
        .arg(&missing)
        .arg("--db")
        .arg(fixture("advisory-db"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("nope/Cargo.lock"));
}

#[test]
fn missing_database_fails_closed_but_other_scanners_still_report() {
    let out = tempfile::tempdir().unwrap();
    let sarif = out.path().join("out.sarif");
    let output = secgate(out.path())
        .env("CARGO_HOME", empty_cargo_home(out.path()))
        .current_dir(out.path())
        .arg("check")
        .arg(fixture("repos/mixed"))
        .arg("--sarif")
        .arg(&sarif)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no advisory database"), "{stderr}");
    let document: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&sarif).unwrap()).unwrap();
    assert_eq!(results(&document, "secgate/secrets/").len(), 1);
    let advisories_run = &document["runs"][0];
    assert_eq!(
        advisories_run["invocations"][0]["executionSuccessful"],
        false
    );
}

#[test]
fn empty_database_is_an_error_not_a_pass() {
    let db = tempfile::tempdir().unwrap();
    std::fs::create_dir(db.path().join("crates")).unwrap();
    let run = check_with_db(&fixture("repos/vulnerable"), db.path(), &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("no advisories"), "{}", run.stderr);
}

#[test]
fn unwritable_sarif_path_fails_before_scanning() {
    let home = tempfile::tempdir().unwrap();
    let sarif = home.path().join("missing-dir").join("out.sarif");
    secgate(home.path())
        .env("CARGO_HOME", empty_cargo_home(home.path()))
        .arg("check")
        .arg(fixture("repos/clean"))
        .arg("--db")
        .arg(fixture("advisory-db"))
        .arg("--sarif")
        .arg(&sarif)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("missing-dir"))
        .stderr(predicate::str::contains("Verdict").not());
    assert!(!sarif.exists());
}

#[test]
fn unknown_scanner_is_a_usage_error() {
    let run = check(&fixture("repos/clean"), &["--scanners", "advisories,virus"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("virus"), "{}", run.stderr);
}

#[test]
fn single_scanner_commands_write_one_run() {
    let home = tempfile::tempdir().unwrap();
    let sarif = home.path().join("s.sarif");
    secgate(home.path())
        .arg("secrets")
        .arg(fixture("repos/token"))
        .arg("--sarif")
        .arg(&sarif)
        .assert()
        .code(1);
    let document: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&sarif).unwrap()).unwrap();
    assert_eq!(document["runs"].as_array().unwrap().len(), 1);
    assert_eq!(
        document["runs"][0]["automationDetails"]["id"],
        "secgate/secrets/"
    );
}

#[test]
fn sbom_is_written() {
    let home = tempfile::tempdir().unwrap();
    let sbom = home.path().join("bom.json");
    secgate(home.path())
        .env("CARGO_HOME", empty_cargo_home(home.path()))
        .arg("sbom")
        .arg(fixture("repos/vulnerable"))
        .arg("--sbom")
        .arg(&sbom)
        .arg("--sarif")
        .arg(home.path().join("s.sarif"))
        .assert()
        .code(0);
    let document: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&sbom).unwrap()).unwrap();
    assert_eq!(document["bomFormat"], "CycloneDX");
    let names: Vec<&str> = document["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"smallvec") && names.contains(&"time"),
        "{names:?}"
    );
}

#[test]
fn init_writes_the_default_policy_once() {
    let dir = tempfile::tempdir().unwrap();
    secgate(dir.path())
        .arg("init")
        .arg(dir.path())
        .assert()
        .code(0);
    let written = std::fs::read_to_string(dir.path().join("secgate.toml")).unwrap();
    assert!(written.contains("fail-on = \"high\""));
    secgate(dir.path())
        .arg("init")
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("already exists"));
}

#[test]
fn same_input_gives_byte_identical_sarif() {
    let first = check(&fixture("repos/mixed"), &[]);
    let second = check(&fixture("repos/mixed"), &[]);
    assert_eq!(first.code, 1);
    assert!(!first.sarif_bytes.is_empty());
    assert_eq!(first.sarif_bytes, second.sarif_bytes);
}

#[test]
fn ignored_finding_stays_as_suppressed_result() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("p.toml");
    std::fs::write(
        &policy,
        "[[ignore]]\nid = \"github-personal-access-token\"\nreason = \"test fixture token\"\nexpires = 2999-01-01\n",
    )
    .unwrap();
    let run = check(
        &fixture("repos/token"),
        &["--config", policy.to_str().unwrap()],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let secrets = results(run.sarif.as_ref().unwrap(), "secgate/secrets/");
    assert_eq!(
        secrets[0]["suppressions"][0]["justification"],
        "test fixture token"
    );
    assert_eq!(secrets[0]["suppressions"][0]["kind"], "external");
}

const TOKEN: &str = "ghp_R3kq9ZbW2xLm7TvN4pQs8YdF1hJc6GaE0uKi";

#[test]
fn baseline_turns_existing_findings_into_suppressed_ones() {
    let repo = tempfile::tempdir().unwrap();
    std::fs::write(repo.path().join("a.env"), format!("T={TOKEN}\n")).unwrap();
    let baseline = repo.path().join("base.json");
    secgate(repo.path())
        .arg("baseline")
        .arg(repo.path())
        .arg("--scanners")
        .arg("secrets")
        .arg("--output")
        .arg(&baseline)
        .assert()
        .code(0);
    let text = std::fs::read_to_string(&baseline).unwrap();
    assert!(!text.contains(TOKEN), "{text}");
    let recorded: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(recorded["findings"].as_array().unwrap().len(), 1);

    // Moving the line does not resurrect it.
    std::fs::write(repo.path().join("a.env"), format!("# moved\n\nT={TOKEN}\n")).unwrap();
    let run = check(
        repo.path(),
        &[
            "--scanners",
            "secrets",
            "--baseline",
            baseline.to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let results = results(run.sarif.as_ref().unwrap(), "secgate/secrets/");
    assert!(results[0]["suppressions"][0]["justification"]
        .as_str()
        .unwrap()
        .contains("baseline"));

    // Nor does moving or renaming the file: the baseline also holds the
    // secret's content fingerprint (a hash, never the value).
    assert!(recorded["findings"][0]["content-fingerprint"].is_string());
    std::fs::create_dir_all(repo.path().join("config")).unwrap();
    std::fs::rename(
        repo.path().join("a.env"),
        repo.path().join("config/prod.env"),
    )
    .unwrap();
    let moved = check(
        repo.path(),
        &[
            "--scanners",
            "secrets",
            "--baseline",
            baseline.to_str().unwrap(),
        ],
    );
    assert_eq!(moved.code, 0, "{}", moved.stderr);

    // A version 1 baseline (no content fingerprints) still loads, and still
    // matches by the first fingerprint only.
    let mut old = recorded.clone();
    old["version"] = 1.into();
    old["findings"][0]
        .as_object_mut()
        .unwrap()
        .remove("content-fingerprint");
    let old_baseline = repo.path().join("old.json");
    std::fs::write(&old_baseline, old.to_string()).unwrap();
    let moved = check(
        repo.path(),
        &[
            "--scanners",
            "secrets",
            "--baseline",
            old_baseline.to_str().unwrap(),
        ],
    );
    assert_eq!(
        moved.code, 1,
        "a moved file is new to a v1 baseline: {}",
        moved.stderr
    );
    std::fs::rename(
        repo.path().join("config/prod.env"),
        repo.path().join("a.env"),
    )
    .unwrap();

    // A new secret is not hidden by the baseline.
    std::fs::write(
        repo.path().join("b.env"),
        // secgate:allow: a made-up credential for this test
        "T=ghp_Zx9kq3BW2xLm7TvN4pQs8YdF1hJc6GaE0uKi\n",
    )
    .unwrap();
    let run = check(
        repo.path(),
        &[
            "--scanners",
            "secrets",
            "--baseline",
            baseline.to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
}

#[test]
fn sarif_of_an_earlier_run_works_as_baseline() {
    let first = check(&fixture("repos/token"), &["--scanners", "secrets"]);
    assert_eq!(first.code, 1);
    let dir = tempfile::tempdir().unwrap();
    let previous = dir.path().join("base.sarif");
    std::fs::write(&previous, &first.sarif_bytes).unwrap();
    let run = check(
        &fixture("repos/token"),
        &[
            "--scanners",
            "secrets",
            "--baseline",
            previous.to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn unreadable_baseline_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad-baseline.json");
    std::fs::write(
        &bad,
        "{\"version\": 1, \"tool\": \"x\", \"findings\": [{\"oops\": 1}]}",
    )
    .unwrap();
    let run = check(
        &fixture("repos/token"),
        &["--baseline", bad.to_str().unwrap()],
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("bad-baseline.json"), "{}", run.stderr);
    assert!(run.sarif_bytes.is_empty());
}

/// A cargo index cache entry as cargo writes it: cache version 3, index
/// format 2, a revision, then (version, JSON) pairs, NUL-terminated.
fn index_cache_entry(name: &str, versions: &[(&str, bool)]) -> Vec<u8> {
    let mut bytes = vec![3u8];
    bytes.extend(2u32.to_le_bytes());
    bytes.extend(b"etag: \"x\"\0");
    for (version, yanked) in versions {
        bytes.extend(version.as_bytes());
        bytes.push(0);
        bytes.extend(
            format!(r#"{{"name":"{name}","vers":"{version}","deps":[],"cksum":"00","features":{{}},"yanked":{yanked}}}"#)
                .as_bytes(),
        );
        bytes.push(0);
    }
    bytes
}

#[test]
fn advisory_findings_say_why_and_how_to_fix_and_yanked_uses_the_local_index() {
    let home = tempfile::tempdir().unwrap();
    let cache = home
        .path()
        .join("cargo/registry/index/index.crates.io-1949cf8c6b5b557f/.cache");
    std::fs::create_dir_all(cache.join("re/ge")).unwrap();
    std::fs::write(
        cache.join("re/ge/regex"),
        index_cache_entry("regex", &[("1.5.4", true), ("1.5.5", false)]),
    )
    .unwrap();
    let sarif = home.path().join("out.sarif");
    let output = secgate(home.path())
        .env("CARGO_HOME", home.path().join("cargo"))
        .args(["audit", "--offline", "--fail-on", "none", "--db"])
        .arg(fixture("advisory-db"))
        .arg("--sarif")
        .arg(&sarif)
        .arg(fixture("parity/web/Cargo.lock"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("yanked: 1 package checked against the local index cache; not checked for 3 packages (no local index cache)"),
        "{stderr}"
    );
    let document: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&sarif).unwrap()).unwrap();
    let results = results(&document, "secgate/advisories/");
    let find = |rule: &str| {
        results
            .iter()
            .find(|r| r["ruleId"] == rule)
            .unwrap_or_else(|| panic!("{rule} missing"))
            .clone()
    };
    let h2 = find("RUSTSEC-2024-0003");
    let text = h2["message"]["text"].as_str().unwrap();
    assert!(
        text.contains("via web-app → hyper 0.14.1 → h2 0.3.0"),
        "{text}"
    );
    assert!(text.contains("fix: upgrade to h2 0.3.24"), "{text}");
    assert_eq!(h2["properties"]["smallest-fix"], "0.3.24");
    assert_eq!(h2["properties"]["package-version"], "h2@0.3.0");
    assert_eq!(h2["properties"]["aliases"][0], "GHSA-8r5v-vm4m-4g25");
    let tokio = find("RUSTSEC-2023-0001");
    assert_eq!(tokio["properties"]["affected-os"][0], "windows");
    let yanked = find("yanked");
    assert_eq!(yanked["properties"]["package"], "regex");
    assert_eq!(yanked["properties"]["severity"], "low");
    let rules = document["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    let rule = rules
        .iter()
        .find(|r| r["id"] == "RUSTSEC-2023-0034")
        .unwrap();
    assert_eq!(rule["properties"]["aliases"][0], "CVE-2023-26964");
    assert_eq!(
        rule["helpUri"],
        "https://rustsec.org/advisories/RUSTSEC-2023-0034.html"
    );
    assert!(rules.iter().any(|r| r["id"] == "yanked"));
}

/// `check` on the mixed fixture (findings, and a database-age warning) with
/// `extra`: (exit code, stdout, stderr, whether the SARIF was written).
fn check_output(extra: &[&str]) -> (Option<i32>, String, String, bool) {
    let out = tempfile::tempdir().unwrap();
    let sarif = out.path().join("out.sarif");
    let output = secgate(out.path())
        .arg("check")
        .arg(fixture("repos/mixed"))
        .arg("--db")
        .arg(fixture("advisory-db"))
        .args(["--offline", "--sarif"])
        .arg(&sarif)
        .arg("--sbom")
        .arg(out.path().join("sbom.json"))
        .args(extra)
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
        sarif.is_file(),
    )
}

#[test]
fn quiet_prints_only_the_verdict_line() {
    let (code, stdout, stderr, sarif) = check_output(&["-q"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(sarif, "the SARIF is still written");
    // One line: no summary, findings, warnings, or where the outputs went.
    assert_eq!(
        stderr.lines().collect::<Vec<_>>(),
        ["secgate: FAIL: 7 finding(s) fail the gate"],
        "{stderr}"
    );
    // A scanner that could not check is said under the verdict line.
    let out = tempfile::tempdir().unwrap();
    let empty_db = tempfile::tempdir().unwrap();
    let output = secgate(out.path())
        .arg("audit")
        .arg(fixture("repos/clean"))
        .arg("--db")
        .arg(empty_db.path())
        .args(["--offline", "-q", "--sarif"])
        .arg(out.path().join("out.sarif"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines[0], "secgate: ERROR: 0 finding(s) fail the gate",
        "{stderr}"
    );
    assert!(lines.len() >= 2, "{stderr}");
    for line in &lines[1..] {
        assert!(line.starts_with("  - scanner advisories"), "{stderr}");
    }
}

#[test]
fn verbose_adds_the_policy_and_each_scanners_work_after_the_summary() {
    let (code, stdout, plain, _) = check_output(&[]);
    assert_eq!(code, Some(1), "{plain}");
    assert!(stdout.is_empty());
    assert!(!plain.contains("verbose"), "{plain}");
    let (code, stdout, verbose, _) = check_output(&["-v"]);
    assert_eq!(code, Some(1), "{verbose}");
    assert!(stdout.is_empty(), "{stdout}");
    // The whole summary, then the verbose lines after it.
    let (summary, extra) = verbose
        .split_once("secgate: verbose:")
        .unwrap_or_else(|| panic!("no verbose lines: {verbose}"));
    for part in [
        "Most severe findings:",
        "Warnings:",
        "Verdict: FAIL",
        "SARIF: ",
    ] {
        assert!(summary.contains(part), "{part}: {verbose}");
    }
    let extra: Vec<&str> = extra.lines().collect();
    assert_eq!(extra[0], " policy: <built-in default policy>", "{verbose}");
    for (line, scanner, findings) in [
        (extra[1], "advisories", 8),
        (extra[2], "secrets", 1),
        (extra[3], "sbom", 0),
    ] {
        let expected = format!("secgate: verbose: {scanner}: checked, {findings} finding(s), ");
        assert!(line.starts_with(&expected), "{line}");
        assert!(line.ends_with(" ms"), "a time: {line}");
    }
    assert!(
        extra[4].starts_with("secgate: verbose: total "),
        "{verbose}"
    );
    assert!(extra[4].ends_with(" ms"), "{verbose}");
    assert_eq!(extra.len(), 5, "{verbose}");
    // -q and -v together are a usage error.
    let (code, _, stderr, sarif) = check_output(&["-q", "-v"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("cannot be used with"), "{stderr}");
    assert!(!sarif, "nothing checked");
}

/// The README's `[secrets]` policy example, exactly as printed there.
fn readme_secrets_example() -> String {
    let readme = std::fs::read_to_string(common::repo_root().join("README.md")).unwrap();
    let lines: Vec<&str> = readme.lines().collect();
    let start = lines
        .windows(2)
        .position(|w| w[0].trim() == "```toml" && w[1].trim() == "[secrets]")
        .expect("the README has a [secrets] example")
        + 1;
    let indent = lines[start].len() - lines[start].trim_start().len();
    lines[start..]
        .iter()
        .take_while(|line| line.trim() != "```")
        .map(|line| format!("{}\n", line.get(indent..).unwrap_or("")))
        .collect()
}

#[test]
fn readme_secrets_exclude_example_excludes_and_is_named() {
    let policy = readme_secrets_example();
    assert!(
        policy.contains("exclude = [\"tests/fixtures/**\"]"),
        "{policy}"
    );
    let repo = tempfile::tempdir().unwrap();
    let leak = format!(
        // secgate:allow: a made-up credential for this test
        "TOKEN={}\n",
        "ghp_R3kq9ZbW2xLm7TvN4pQs8YdF1hJc6GaE0uKi"
    );
    for (path, content) in [
        ("tests/fixtures/keys/leak.env", leak.as_str()),
        ("tests/fixtures/top.env", leak.as_str()),
        ("src/main.rs", "fn main() {}\n"),
    ] {
        let path = repo.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    // Committed: exclude is the only way to leave a tracked file out.
    common::git(repo.path(), &["init", "-q", "-b", "main"]);
    common::git(repo.path(), &["add", "-A"]);
    common::git(repo.path(), &["commit", "-q", "-m", "fixtures"]);
    let out = tempfile::tempdir().unwrap();
    let sarif = out.path().join("out.sarif");
    let secrets = |config: Option<&Path>| {
        let mut command = secgate(out.path());
        command
            .arg("secrets")
            .arg(repo.path())
            .arg("--sarif")
            .arg(&sarif);
        if let Some(config) = config {
            command.arg("--config").arg(config);
        }
        let output = command.output().unwrap();
        let sarif: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&sarif).unwrap()).unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
            sarif["runs"][0].clone(),
        )
    };
    // Without the policy the fixtures' tokens are found.
    let (code, stderr, run) = secrets(None);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(run["results"].as_array().unwrap().len(), 2, "{run}");
    let config = out.path().join("secgate.toml");
    std::fs::write(&config, &policy).unwrap();
    let (code, stderr, run) = secrets(Some(&config));
    assert_eq!(code, Some(0), "{stderr}");
    assert!(run["results"].as_array().unwrap().is_empty(), "{run}");
    assert!(
        stderr.contains(
            "2 paths excluded by secrets.exclude: tests/fixtures/keys/, tests/fixtures/top.env"
        ),
        "{stderr}"
    );
    assert_eq!(
        run["properties"]["excludedPaths"],
        serde_json::json!(["tests/fixtures/keys/", "tests/fixtures/top.env"])
    );
}
