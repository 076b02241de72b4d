//! Python lock files through the whole gate: real locks from public
//! projects (`tests/fixtures/python`, sources in its README) against real
//! OSV advisories (`tests/fixtures/osv`, a subset of the PyPA database),
//! offline with `--osv-db`.

mod common;

use common::{check_offline, copy_tree, fixture, secgate, Checked};
use serde_json::Value;
use std::path::Path;

/// `check_offline` of the advisory check alone.
fn check(project: &Path, extra: &[&str]) -> Checked {
    let mut args = vec!["--scanners", "advisories"];
    args.extend_from_slice(extra);
    check_offline(project, &args)
}

/// (rule id, uri, start line, level, dependency kind) of every result.
fn results(sarif: &Value) -> Vec<(String, String, u64, String, String)> {
    let mut found = Vec::new();
    for run in sarif["runs"].as_array().unwrap() {
        for result in run["results"].as_array().into_iter().flatten() {
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
            ));
        }
    }
    found.sort();
    found
}

/// The 1-based line of the first line of `text` containing `needle`.
fn line_of(text: &str, needle: &str) -> u64 {
    text.lines().position(|l| l.contains(needle)).unwrap() as u64 + 1
}

#[test]
fn a_vulnerable_pipfile_lock_fails_on_its_lines_and_dev_only_is_graded_by_policy() {
    let project = tempfile::tempdir().unwrap();
    copy_tree(&fixture("python/pipenv-flask"), project.path());
    let lock = std::fs::read_to_string(project.path().join("Pipfile.lock")).unwrap();
    let run = check(project.path(), &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let flask_line = line_of(&lock, "\"flask\": {");
    let py_line = line_of(&lock, "\"py\": {");
    assert_eq!(
        results(&run.sarif),
        [
            // Flask 1.0.2: GitHub's advisory and its PYSEC twin, one finding.
            (
                "GHSA-m2qf-hxjv-5gpq".to_string(),
                "Pipfile.lock".to_string(),
                flask_line,
                "error".to_string(),
                "normal".to_string()
            ),
            // py 1.7.0 is in `develop`: lowered by the default dev-only policy.
            (
                "PYSEC-2022-42969".to_string(),
                "Pipfile.lock".to_string(),
                py_line,
                "note".to_string(),
                "dev-only".to_string()
            ),
        ]
    );
    assert!(
        run.stderr.contains("PYSEC-2023-62"),
        "aliases are named: {}",
        run.stderr
    );
    assert!(
        run.stderr.contains("fix: upgrade to flask 2.2.5"),
        "{}",
        run.stderr
    );

    std::fs::write(
        project.path().join("secgate.toml"),
        "[advisories]\ndev-only = \"report\"\n",
    )
    .unwrap();
    let run = check(project.path(), &[]);
    let levels: Vec<String> = results(&run.sarif).into_iter().map(|r| r.3).collect();
    assert_eq!(levels, ["error", "error"], "{}", run.stderr);
}

#[test]
fn requirement_files_are_checked_through_their_includes_and_unpinned_lines_are_named() {
    let project = tempfile::tempdir().unwrap();
    std::fs::create_dir(project.path().join("requirements")).unwrap();
    std::fs::write(
        project.path().join("requirements/base.txt"),
        "# pinned\nflask==1.0.2 \\\n    --hash=sha256:0000000000000000000000000000000000000000000000000000000000000000\nrequests>=2.0\n",
    )
    .unwrap();
    std::fs::write(
        project.path().join("requirements.txt"),
        "-r requirements/base.txt\nurllib3==1.26.4  # via requests\n",
    )
    .unwrap();
    let run = check(project.path(), &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let found = results(&run.sarif);
    // Flask is listed in the included file and found once, on its line.
    let flask: Vec<_> = found
        .iter()
        .filter(|r| r.0 == "GHSA-m2qf-hxjv-5gpq")
        .collect();
    assert_eq!(flask.len(), 1, "{found:?}");
    assert_eq!(
        (flask[0].1.as_str(), flask[0].2),
        ("requirements/base.txt", 2)
    );
    assert!(
        found.iter().any(|r| r.1 == "requirements.txt" && r.2 == 2),
        "urllib3 1.26.4 on its line: {found:?}"
    );
    // An open range is not checked, and says so with its line.
    assert!(
        run.stderr.contains("requirements/base.txt"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("`requests>=2.0` (line 4"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_broken_python_lock_is_exit_2_naming_file_and_line() {
    let project = tempfile::tempdir().unwrap();
    std::fs::write(
        project.path().join("poetry.lock"),
        "[[package]]\nname = \"flask\"\nversion = \"1.0.2\"\n\n[[package]\nname = \"x\"\n",
    )
    .unwrap();
    let run = check(project.path(), &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("poetry.lock:5"), "{}", run.stderr);
}

#[test]
fn the_sbom_lists_what_a_poetry_project_ships_with_pypi_purls_and_hashes() {
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("sbom.cdx.json");
    let output = secgate(out.path())
        .args(["check", "--scanners", "sbom", "--offline", "--sbom"])
        .arg(&file)
        .arg("--sarif")
        .arg(out.path().join("out.sarif"))
        .arg(fixture("python/poetry-1.1-django"))
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let sbom: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    let components = sbom["components"].as_array().unwrap();
    let purls: Vec<&str> = components
        .iter()
        .map(|c| c["purl"].as_str().unwrap())
        .collect();
    assert!(purls.contains(&"pkg:pypi/django@4.0.5"), "{purls:?}");
    assert!(purls.contains(&"pkg:pypi/sqlparse@0.4.2"), "{purls:?}");
    // black is a dev dependency: not shipped, not listed.
    assert!(
        !purls.iter().any(|p| p.starts_with("pkg:pypi/black@")),
        "{purls:?}"
    );
    let django = components.iter().find(|c| c["name"] == "django").unwrap();
    assert_eq!(django["hashes"][0]["alg"], "SHA-256", "{django}");
    // The graph: the project depends on django, django on sqlparse.
    let dependencies = sbom["dependencies"].as_array().unwrap();
    let django_ref = django["bom-ref"].as_str().unwrap();
    let of_django = dependencies
        .iter()
        .find(|d| d["ref"] == django_ref)
        .unwrap();
    assert!(
        of_django["dependsOn"].to_string().contains("sqlparse"),
        "{of_django}"
    );
}

/// Real locks against the whole PyPA snapshot (`../shared/osv`): secgate's
/// findings are exactly those an independent route expects
/// (`tests/fixtures/python/golden/make_golden.py`: the lock read by
/// Python's own parsers, versions ordered by `packaging`). Without the
/// snapshot the test says so and checks nothing else.
#[test]
fn real_locks_find_what_an_independent_pep_440_route_expects() {
    let shared = common::repo_root().join("../shared/osv");
    if !shared.join("PyPI/all.zip").is_file() {
        eprintln!("SKIPPED: no {} (the PyPA snapshot)", shared.display());
        return;
    }
    let mut compared = 0;
    for name in [
        "poetry-1.1-django",
        "pipenv-flask",
        "pdm-flask",
        "requirements-django",
        "requirements-poetry-export",
        "uv-polars",
        "poetry-2.0-httpx",
    ] {
        let out = tempfile::tempdir().unwrap();
        let sarif = out.path().join("out.sarif");
        let output = secgate(out.path())
            .args(["check", "--scanners", "advisories", "--offline", "--db"])
            .arg(fixture("advisory-db"))
            .arg("--osv-db")
            .arg(&shared)
            .arg("--sarif")
            .arg(&sarif)
            .arg(fixture(&format!("python/{name}")))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            matches!(output.status.code(), Some(0 | 1)),
            "{name}: {stderr}"
        );
        let document: Value = serde_json::from_slice(&std::fs::read(&sarif).unwrap()).unwrap();
        // Each finding as PYSEC id(s), package, version: the snapshot has
        // PyPA's advisories only, so the rule id is the PYSEC one.
        let mut found: Vec<String> = document["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let (package, version) = r["properties"]["package-version"]
                    .as_str()
                    .unwrap()
                    .split_once('@')
                    .unwrap();
                format!("{} {package} {version}", r["ruleId"].as_str().unwrap())
            })
            .collect();
        found.sort();
        found.dedup();
        let expected_text =
            std::fs::read_to_string(fixture(&format!("python/golden/{name}.expected"))).unwrap();
        let expected: Vec<String> = expected_text.lines().map(str::to_string).collect();
        assert_eq!(found, expected, "{name}: {stderr}");
        compared += expected.len();
    }
    assert!(compared >= 40, "{compared} findings compared");
}

#[test]
fn pull_request_mode_knows_a_python_locks_existing_findings_from_new_ones() {
    let repo = tempfile::tempdir().unwrap();
    let dir = repo.path();
    common::git(dir, &["init", "-q", "-b", "main"]);
    copy_tree(&fixture("python/pipenv-flask"), dir);
    common::git(dir, &["add", "-A"]);
    common::git(dir, &["commit", "-q", "-m", "base"]);
    common::git(dir, &["checkout", "-q", "-b", "pr"]);
    std::fs::write(dir.join("README"), "docs\n").unwrap();
    common::git(dir, &["add", "-A"]);
    common::git(dir, &["commit", "-q", "-m", "docs"]);
    // The lock did not change: its flask advisory existed at the base.
    let run = check(dir, &["--new-since", "main"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // A new vulnerable pin is new.
    std::fs::write(dir.join("requirements.txt"), "urllib3==1.26.4\n").unwrap();
    common::git(dir, &["add", "-A"]);
    common::git(dir, &["commit", "-q", "-m", "pin urllib3"]);
    let run = check(dir, &["--new-since", "main"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("urllib3@1.26.4"), "{}", run.stderr);
    assert!(
        !run.stderr.contains("  HIGH     advisories Pipfile.lock"),
        "{}",
        run.stderr
    );
}
