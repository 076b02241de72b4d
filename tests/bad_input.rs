//! The bad-input catalogue (issue 7): every odd input either checks or
//! exits 2 naming the file (and the line where there is one), never panics,
//! never hangs, never leaves a half-written output. Network failures of
//! `db update` live in tests/db.rs; the ones missing there are at the end.

mod common;

use assert_cmd::Command;
use common::fixture;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

// secgate:allow: a made-up credential for this test
const TOKEN: &str = "ghp_R3kq9ZbW2xLm7TvN4pQs8YdF1hJc6GaE0uKi";

fn is_root() -> bool {
    // Root reads through permission bits; those cases use another mechanism.
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// A scratch directory: `home` for HOME and the cache, `out` for outputs.
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Scratch {
        let scratch = Scratch {
            dir: tempfile::tempdir().unwrap(),
        };
        std::fs::create_dir_all(scratch.out()).unwrap();
        std::fs::create_dir_all(scratch.home()).unwrap();
        scratch
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn home(&self) -> PathBuf {
        self.path("home")
    }

    fn out(&self) -> PathBuf {
        self.path("out")
    }

    /// A repository directory under the scratch directory.
    fn repo(&self, name: &str) -> PathBuf {
        let repo = self.path(name);
        std::fs::create_dir_all(&repo).unwrap();
        repo
    }

    /// The shared `secgate` with `home` as HOME, run from the scratch
    /// directory, and killed if it hangs.
    fn secgate(&self) -> Command {
        let mut command = common::secgate(&self.home());
        command
            .current_dir(self.dir.path())
            .timeout(Duration::from_secs(120));
        command
    }

    /// `secgate <command> <path> --db fixture --sarif out/… --sbom out/…`.
    fn run(&self, command: &str, path: &Path, extra: &[&str]) -> Output {
        self.secgate()
            .arg(command)
            .arg(path)
            .arg("--db")
            .arg(fixture("advisory-db"))
            .arg("--sarif")
            .arg(self.out().join("out.sarif"))
            .arg("--sbom")
            .arg(self.out().join("sbom.json"))
            .args(extra)
            .output()
            .unwrap()
    }

    /// Nothing half-written in `out`: no temporaries, and every file there parses.
    fn assert_outputs_whole(&self) {
        for entry in std::fs::read_dir(self.out()).unwrap().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            assert!(!name.starts_with(".secgate-"), "temporary left: {name}");
            let bytes = std::fs::read(entry.path()).unwrap();
            serde_json::from_slice::<serde_json::Value>(&bytes)
                .unwrap_or_else(|e| panic!("{name} is not whole JSON: {e}"));
        }
    }

    fn assert_no_outputs(&self) {
        let names: Vec<_> = std::fs::read_dir(self.out())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert!(names.is_empty(), "outputs written: {names:?}");
    }
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Exit 2, every `says` in stderr, and no panic.
fn assert_could_not_check(output: &Output, says: &[&str]) -> String {
    let stderr = stderr(output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_no_panic(&stderr);
    for text in says {
        assert!(stderr.contains(text), "should say {text:?}: {stderr}");
    }
    stderr
}

fn assert_no_panic(stderr: &str) {
    assert!(
        !stderr.contains("panicked at")
            && !stderr.contains("RUST_BACKTRACE")
            && !stderr.contains("internal error")
            && !stderr.contains("crashed"),
        "{stderr}"
    );
}

fn sarif(scratch: &Scratch) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(scratch.out().join("out.sarif")).unwrap()).unwrap()
}

fn result_uris(sarif: &serde_json::Value) -> Vec<String> {
    sarif["runs"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|run| run["results"].as_array().cloned().unwrap_or_default())
        .map(|r| {
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

// ---------------------------------------------------------------- policy

/// A policy file with `text`; the check must exit 2 naming `policy.toml:LINE`.
fn assert_bad_policy(text: &str, line: usize, says: &str) {
    let scratch = Scratch::new();
    let policy = scratch.path("policy.toml");
    std::fs::write(&policy, text).unwrap();
    let output = scratch.run(
        "check",
        &fixture("repos/clean"),
        &["--config", policy.to_str().unwrap()],
    );
    assert_could_not_check(&output, &[&format!("policy.toml:{line}:"), says]);
    scratch.assert_no_outputs();
}

#[test]
fn policy_invalid_toml() {
    assert_bad_policy(
        "fail-on = \"high\"\n[secrets\nexclude = []\n",
        2,
        "policy.toml",
    );
}

#[test]
fn policy_unknown_key() {
    assert_bad_policy("\n[secrets]\nmax-filesize = 10\n", 3, "max-filesize");
}

#[test]
fn policy_wrong_type() {
    assert_bad_policy("[secrets]\nallow-inline = \"yes\"\n", 2, "bool");
}

#[test]
fn policy_unknown_severity_name() {
    assert_bad_policy(
        "fail-on = \"high\"\nunknown-severity = \"severe\"\n",
        2,
        "severe",
    );
    assert_bad_policy("[advisories]\nfail-on = \"hi\"\n", 2, "critical, high");
}

#[test]
fn policy_bad_expires_date() {
    assert_bad_policy(
        "[[ignore]]\nid = \"RUSTSEC-2021-0003\"\nreason = \"r\"\nexpires = \"2026-13-01\"\n",
        4,
        "2026-13-01",
    );
}

#[test]
fn policy_ignore_without_reason() {
    assert_bad_policy(
        "fail-on = \"low\"\n\n[[ignore]]\nid = \"RUSTSEC-2021-0003\"\n",
        3,
        "missing `reason`",
    );
}

#[test]
fn policy_custom_rule_with_invalid_regex() {
    assert_bad_policy(
        "[[secrets.rules]]\nid = \"ours\"\ntitle = \"Our token\"\nseverity = \"high\"\nkeywords = [\"ours_\"]\nregex = '(?P<secret>ours_[a-z]{20)'\n",
        1,
        "invalid regex",
    );
}

#[test]
fn policy_validation_endpoint_for_no_provider_or_over_plain_http() {
    assert_bad_policy(
        "[secrets.validation.endpoints]\ngithub = \"https://ghe.example.com/api/v3\"\ngithb = \"https://x.example.com\"\n",
        3,
        "no validator for `githb`",
    );
    assert_bad_policy(
        "[secrets.validation]\nenabled = true\n[secrets.validation.endpoints]\ngitlab = \"http://gitlab.example.com\"\n",
        4,
        "only sent over https",
    );
    assert_bad_policy(
        "[secrets.validation]\ninvalid = \"dead\"\n",
        2,
        "unknown grade `dead`",
    );
    assert_bad_policy(
        "[secrets.validation]\nper-host-rate = 0\n",
        2,
        "expected 1 to 100",
    );
}

#[test]
fn validate_only_with_a_sarif_that_is_not_one() {
    let scratch = Scratch::new();
    let repo = scratch.repo("repo");
    for (name, text, says) in [
        ("truncated.sarif", "{\"runs\": [", "truncated.sarif: not JSON (line 1"),
        ("other.sarif", "{\"runs\": [{\"tool\": {\"driver\": {\"name\": \"bandit\"}}}]}", "holds no secgate secrets run"),
        ("escape.sarif", "{\"runs\":[{\"tool\":{\"driver\":{\"name\":\"secgate\"}},\"properties\":{\"scanner\":\"secrets\"},\"results\":[{\"locations\":[{\"physicalLocation\":{\"artifactLocation\":{\"uri\":\"/etc/shadow\"}}}],\"partialFingerprints\":{\"secgate/v1\":\"x\"}}]}]}", "not a path inside the repository"),
    ] {
        let file = scratch.path(name);
        std::fs::write(&file, text).unwrap();
        let output = scratch.run("secrets", &repo, &["--validate-only", file.to_str().unwrap()]);
        assert_could_not_check(&output, &[says]);
        scratch.assert_no_outputs();
    }
    let missing = scratch.run("secrets", &repo, &["--validate-only", "nowhere.sarif"]);
    assert_could_not_check(&missing, &["nowhere.sarif"]);
}

// ---------------------------------------------------------------- lock files

/// A repository whose Cargo.lock is `content`; audit must exit 2 naming it.
fn assert_bad_lock(content: &str, says: &[&str]) {
    let scratch = Scratch::new();
    let repo = scratch.repo("repo");
    std::fs::write(repo.join("Cargo.lock"), content).unwrap();
    let output = scratch.run("check", &repo, &[]);
    let mut all = vec!["Cargo.lock"];
    all.extend_from_slice(says);
    assert_could_not_check(&output, &all);
    scratch.assert_outputs_whole();
}

fn vulnerable_lock() -> String {
    std::fs::read_to_string(fixture("repos/vulnerable/Cargo.lock")).unwrap()
}

#[test]
fn lock_truncated() {
    let text = vulnerable_lock();
    let cut = text[..text.len() / 2].rfind("[[package]]").unwrap() + 2;
    let line = text[..cut].matches('\n').count() + 1;
    assert_bad_lock(&text[..cut], &[&format!("Cargo.lock:{line}:")]);
}

#[test]
fn lock_wrong_version_format() {
    let text = vulnerable_lock().replacen("version = \"1.5.4\"", "version = \"1.5.x\"", 1);
    assert!(text.contains("1.5.x"));
    let line = text[..text.find("1.5.x").unwrap()].matches('\n').count() + 1;
    assert_bad_lock(
        &text,
        &[&format!("Cargo.lock:{line}:"), "patch version number"],
    );
    assert_bad_lock("version = \"four\"\n", &["Cargo.lock:1:"]);
}

#[test]
fn lock_duplicate_packages() {
    let entry = "[[package]]\nname = \"regex\"\nversion = \"1.5.4\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n";
    let text = format!("version = 3\n\n{entry}\n{entry}");
    assert_bad_lock(&text, &["Cargo.lock:8:", "listed twice", "line 3"]);
}

#[test]
fn lock_is_a_directory() {
    let scratch = Scratch::new();
    let repo = scratch.repo("repo");
    std::fs::create_dir(repo.join("Cargo.lock")).unwrap();
    let output = scratch.run("check", &repo, &[]);
    assert_could_not_check(&output, &["Cargo.lock", "directory"]);
    scratch.assert_outputs_whole();
}

#[test]
fn lock_unreadable() {
    let scratch = Scratch::new();
    let repo = scratch.repo("repo");
    let lock = repo.join("Cargo.lock");
    if is_root() {
        // Permission bits do not stop root: a symlink loop is unreadable to anyone.
        std::os::unix::fs::symlink("Cargo.lock", &lock).unwrap();
        let output = scratch.run("audit", &repo, &[]);
        assert_could_not_check(&output, &["Cargo.lock", "symbolic links"]);
    } else {
        std::fs::write(&lock, vulnerable_lock()).unwrap();
        std::fs::set_permissions(&lock, std::fs::Permissions::from_mode(0o000)).unwrap();
        let output = scratch.run("audit", &repo, &[]);
        assert_could_not_check(&output, &["Cargo.lock", "ermission denied"]);
    }
    scratch.assert_outputs_whole();
}

#[test]
fn lock_that_is_a_fifo_or_device_is_refused_not_read() {
    for kind in ["fifo", "device"] {
        let scratch = Scratch::new();
        let repo = scratch.repo("repo");
        std::fs::write(
            repo.join("Cargo.toml"),
            "[package]\nname = \"x\"\nversion = \"0.1.0\"\n",
        )
        .unwrap();
        let lock = repo.join("Cargo.lock");
        match kind {
            "fifo" => mkfifo(&lock),
            // /dev/zero never ends: reading it whole would exhaust memory.
            _ => std::os::unix::fs::symlink("/dev/zero", &lock).unwrap(),
        }
        let output = scratch.run("check", &repo, &[]);
        let stderr = assert_could_not_check(&output, &["Cargo.lock", "not a regular file"]);
        assert!(stderr.contains("advisories could not check"), "{stderr}");
        assert!(stderr.contains("sbom could not check"), "{stderr}");
        scratch.assert_outputs_whole();
    }
}

// ---------------------------------------------------------------- advisory database

#[test]
fn database_missing_directory() {
    let scratch = Scratch::new();
    let output = scratch
        .secgate()
        .arg("audit")
        .arg(fixture("repos/vulnerable"))
        .arg("--db")
        .arg(scratch.path("no-such-db"))
        .arg("--sarif")
        .arg(scratch.out().join("out.sarif"))
        .output()
        .unwrap();
    assert_could_not_check(&output, &["no-such-db", "does not exist"]);
    scratch.assert_outputs_whole();
}

#[test]
fn database_advisory_with_broken_front_matter() {
    let scratch = Scratch::new();
    let db = scratch.path("db");
    copy_dir(&fixture("advisory-db"), &db);
    let advisory = db.join("crates/regex/RUSTSEC-2022-0013.md");
    let text = std::fs::read_to_string(&advisory).unwrap();
    std::fs::write(
        &advisory,
        text.replacen("id = \"RUSTSEC-2022-0013\"", "id = \"RUSTSEC-2022-0013", 1),
    )
    .unwrap();
    let output = scratch
        .secgate()
        .arg("audit")
        .arg(fixture("repos/vulnerable"))
        .arg("--db")
        .arg(&db)
        .arg("--sarif")
        .arg(scratch.out().join("out.sarif"))
        .output()
        .unwrap();
    assert_could_not_check(&output, &["RUSTSEC-2022-0013.md"]);
    scratch.assert_outputs_whole();
}

#[test]
fn database_empty() {
    let scratch = Scratch::new();
    let db = scratch.path("db");
    std::fs::create_dir_all(db.join("crates")).unwrap();
    let output = scratch
        .secgate()
        .arg("audit")
        .arg(fixture("repos/vulnerable"))
        .arg("--db")
        .arg(&db)
        .arg("--sarif")
        .arg(scratch.out().join("out.sarif"))
        .output()
        .unwrap();
    assert_could_not_check(&output, &["holds no advisories"]);
    scratch.assert_outputs_whole();
}

/// The fixture database as the cache (not `--db`), with `record` (if any)
/// as its fetch record; `audit --offline` on it.
fn audit_cache_with_record(scratch: &Scratch, record: Option<&str>) -> Output {
    let cache = scratch.home().join("cache/secgate/advisory-db");
    copy_dir(&fixture("advisory-db"), &cache);
    if let Some(record) = record {
        std::fs::write(cache.with_file_name("advisory-db.fetch.json"), record).unwrap();
    }
    scratch
        .secgate()
        .arg("audit")
        .arg(fixture("repos/vulnerable"))
        .arg("--offline")
        .arg("--sarif")
        .arg(scratch.out().join("out.sarif"))
        .output()
        .unwrap()
}

fn fixture_advisories() -> usize {
    rustsec::Database::open(&fixture("advisory-db"))
        .unwrap()
        .iter()
        .count()
}

/// A fetch record, as `db update` writes it, with `fields` changed.
fn record_json(fields: serde_json::Value) -> String {
    let mut record = serde_json::json!({
        "url": "https://mirror.example/advisory-db.tar.gz",
        "etag": "\"v1\"",
        "last-modified": null,
        "fetched-at": time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap(),
        "advisories": fixture_advisories(),
        "newest-advisory": "2026-01-01",
    });
    for (key, value) in fields.as_object().unwrap() {
        record[key] = value.clone();
    }
    record.to_string()
}

/// The check counts what the cache holds: a record vouching for more is a
/// gutted cache, exit 2 naming both counts.
#[test]
fn database_cache_record_forged_count() {
    let scratch = Scratch::new();
    let record = record_json(serde_json::json!({ "advisories": 100_000 }));
    let output = audit_cache_with_record(&scratch, Some(&record));
    let says = format!(
        "holds {} advisories, but its fetch record {} counted 100000 at the fetch",
        fixture_advisories(),
        scratch
            .home()
            .join("cache/secgate/advisory-db.fetch.json")
            .display()
    );
    assert_could_not_check(&output, &[&says, "run `secgate db update`"]);
    scratch.assert_outputs_whole();

    // Per-folder counts that add up to more than the total: the whole
    // database is counted, and the folder short of its count named.
    let scratch = Scratch::new();
    let mut folders = serde_json::Map::new();
    for folder in std::fs::read_dir(fixture("advisory-db/crates"))
        .unwrap()
        .flatten()
    {
        let count = std::fs::read_dir(folder.path()).unwrap().count();
        folders.insert(folder.file_name().into_string().unwrap(), count.into());
    }
    folders.insert("regex".to_string(), 2.into());
    let record = record_json(serde_json::json!({ "crate-folders": folders }));
    let output = audit_cache_with_record(&scratch, Some(&record));
    assert_could_not_check(
        &output,
        &[
            "crates/regex holds 1 advisory, but its fetch record",
            "counted 2 at the fetch",
        ],
    );
    scratch.assert_outputs_whole();
}

/// A record that undercounts, is garbled or is missing: a warning, and
/// the advisories counted on disk are used (the findings decide).
#[test]
fn database_cache_record_garbled_or_missing() {
    let count = fixture_advisories();
    let counted = format!("using the {count} advisories counted");
    for (record, says) in [
        (
            Some(record_json(serde_json::json!({ "advisories": 3 }))),
            format!("holds {count} advisories, but its fetch record"),
        ),
        (
            Some("{not json".to_string()),
            "not a fetch record".to_string(),
        ),
        (Some(String::new()), "not a fetch record".to_string()),
        (
            Some(record_json(serde_json::json!({ "advisories": "many" }))),
            "not a fetch record".to_string(),
        ),
        (
            Some(record_json(
                serde_json::json!({ "fetched-at": "last tuesday" }),
            )),
            "fetched-at `last tuesday` is not an RFC 3339 time".to_string(),
        ),
        (None, "no fetch record".to_string()),
    ] {
        let scratch = Scratch::new();
        let output = audit_cache_with_record(&scratch, record.as_deref());
        let stderr = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{record:?}: {stderr}");
        assert_no_panic(&stderr);
        assert!(stderr.contains("Warnings:"), "{record:?}: {stderr}");
        assert!(
            stderr.contains("advisory-db.fetch.json"),
            "{record:?}: {stderr}"
        );
        assert!(stderr.contains(&says), "{record:?}: {stderr}");
        if record
            .as_deref()
            .is_none_or(|r| !r.contains("\"advisories\":3"))
        {
            assert!(stderr.contains(&counted), "{record:?}: {stderr}");
        }
        assert!(sarif(&scratch).to_string().contains("RUSTSEC-2021-0003"));
        scratch.assert_outputs_whole();
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

// ---------------------------------------------------------------- tree

/// A directory the walker cannot read: permissions for ordinary users; for
/// root (who reads through them) a path longer than PATH_MAX, which no
/// user can open by name.
fn make_unreadable_dir(repo: &Path) -> String {
    if is_root() {
        let component = "d".repeat(200);
        let script = format!(
            "cd '{}' && for i in $(seq 1 24); do mkdir {component} && cd {component} || exit 1; done && echo 'k = \"{TOKEN}\"' > deep.txt",
            repo.display()
        );
        // bash, not sh: dash's cd refuses a logical path past PATH_MAX.
        let status = std::process::Command::new("bash")
            .args(["-c", &script])
            .status()
            .unwrap();
        assert!(status.success());
        "File name too long".to_string()
    } else {
        let dir = repo.join("locked");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("x.txt"), "x").unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o000)).unwrap();
        "locked".to_string()
    }
}

#[test]
fn unreadable_paths_are_reported_the_scan_continues_and_the_policy_decides() {
    let scratch = Scratch::new();
    let repo = scratch.repo("repo");
    std::fs::write(repo.join("found.txt"), format!("token = \"{TOKEN}\"\n")).unwrap();
    let says = make_unreadable_dir(&repo);

    // Default: fail closed (an unread file may hold a secret), findings kept.
    let output = scratch.run("secrets", &repo, &[]);
    assert_could_not_check(&output, &["could not be read", &says, "on-unreadable"]);
    assert_eq!(result_uris(&sarif(&scratch)), ["found.txt"]);
    scratch.assert_outputs_whole();

    // on-unreadable = "warn": a warning, the findings decide.
    let policy = scratch.path("warn.toml");
    std::fs::write(&policy, "[secrets]\non-unreadable = \"warn\"\n").unwrap();
    let output = scratch.run("secrets", &repo, &["--config", policy.to_str().unwrap()]);
    let stderr = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("could not be read"), "{stderr}");
    assert_no_panic(&stderr);
}

/// A regular file in `repo` that nobody, root included, can open by its
/// path: its directory's path fits in PATH_MAX (4096 on Linux, with the
/// NUL), so the walk lists it, but the file's own path does not (ENAMETOOLONG).
/// The file's name, written with `content` from inside its directory.
fn file_past_path_max(repo: &Path, content: &str) -> String {
    const PATH_MAX: usize = 4096;
    let name = "f".repeat(200);
    // The directory's path: about PATH_MAX - 100 bytes.
    let length = PATH_MAX - 100;
    let mut dir = repo.to_path_buf();
    while dir.as_os_str().len() + 1 + 200 <= length {
        dir.push("d".repeat(200));
    }
    let rest = length.saturating_sub(dir.as_os_str().len() + 1);
    if rest > 0 {
        dir.push("e".repeat(rest));
    }
    std::fs::create_dir_all(&dir).unwrap();
    assert!(dir.as_os_str().len() + 1 + ".gitignore".len() < PATH_MAX);
    assert!(dir.join(&name).as_os_str().len() >= PATH_MAX);
    let status = std::process::Command::new("sh")
        .current_dir(&dir)
        .args(["-c", "printf '%s' \"$1\" > \"$2\"", "sh", content, &name])
        .status()
        .unwrap();
    assert!(status.success());
    // Really unreadable here, for this user, by its path.
    let error = std::fs::read(dir.join(&name)).unwrap_err();
    assert_eq!(error.raw_os_error(), Some(36), "ENAMETOOLONG: {error}");
    name
}

#[test]
fn unreadable_file_is_reported() {
    let scratch = Scratch::new();
    let repo = scratch.repo("repo");
    // Permission bits do not stop root; a path past PATH_MAX stops anyone.
    let name = file_past_path_max(&repo, &format!("k = \"{TOKEN}\"\n"));
    let output = scratch.run("secrets", &repo, &[]);
    let stderr = assert_could_not_check(&output, &["could not be read", "File name too long"]);
    assert!(
        stderr.contains(&format!("{name} (File name too long")),
        "{stderr}"
    );
    assert!(
        result_uris(&sarif(&scratch)).is_empty(),
        "the token was not read"
    );
    if !is_root() {
        let scratch = Scratch::new();
        let repo = scratch.repo("repo");
        let file = repo.join("secret.txt");
        std::fs::write(&file, format!("k = \"{TOKEN}\"\n")).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o000)).unwrap();
        let output = scratch.run("secrets", &repo, &[]);
        assert_could_not_check(&output, &["secret.txt", "ermission denied"]);
    }
}

#[test]
fn symlink_loops_and_links_out_of_the_root_are_not_followed() {
    let scratch = Scratch::new();
    let outside = scratch.repo("outside");
    std::fs::write(outside.join("s.txt"), format!("k = \"{TOKEN}\"\n")).unwrap();
    let repo = scratch.repo("repo");
    std::os::unix::fs::symlink(&outside, repo.join("out-dir")).unwrap();
    std::os::unix::fs::symlink(outside.join("s.txt"), repo.join("out-file")).unwrap();
    std::os::unix::fs::symlink("loop-b", repo.join("loop-a")).unwrap();
    std::os::unix::fs::symlink("loop-a", repo.join("loop-b")).unwrap();
    std::os::unix::fs::symlink(".", repo.join("self")).unwrap();
    std::fs::write(repo.join("plain.txt"), "nothing here\n").unwrap();
    let output = scratch.run("check", &repo, &[]);
    let stderr = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_no_panic(&stderr);
    assert!(result_uris(&sarif(&scratch)).is_empty());
}

#[test]
fn non_utf8_names_and_contents_are_scanned() {
    use std::os::unix::ffi::OsStrExt;
    let scratch = Scratch::new();
    let repo = scratch.repo("repo");
    let name = std::ffi::OsStr::from_bytes(b"conf\xff\xfe.txt");
    let mut content = b"\xff\xfe\xc3(latin \xe9\n".to_vec();
    content.extend_from_slice(format!("token = \"{TOKEN}\"\n").as_bytes());
    std::fs::write(repo.join(name), content).unwrap();
    let output = scratch.run("secrets", &repo, &[]);
    let stderr = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_no_panic(&stderr);
    let sarif = sarif(&scratch);
    let uris = result_uris(&sarif);
    assert_eq!(uris.len(), 1, "{uris:?}");
    assert!(uris[0].starts_with("conf"), "{uris:?}");
    let region = &sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"];
    assert_eq!(region["startLine"], 2);
    scratch.assert_outputs_whole();
}

/// Runs secgate with its address space capped (`ulimit -v`), so reading a
/// gigabyte file whole would fail.
fn run_capped(scratch: &Scratch, repo: &Path, extra: &str) -> Output {
    let binary = assert_cmd::cargo::cargo_bin("secgate");
    let script = format!(
        "ulimit -v 786432 && exec '{}' secrets '{}' --sarif '{}' {extra}",
        binary.display(),
        repo.display(),
        scratch.out().join("out.sarif").display()
    );
    common::isolated(std::process::Command::new("sh"), &scratch.home())
        .args(["-c", &script])
        .output()
        .unwrap()
}

#[test]
fn gigabyte_file_without_newline_is_skipped_in_bounded_memory() {
    let scratch = Scratch::new();
    let repo = scratch.repo("repo");
    // Sparse: a gigabyte that costs no disk.
    std::fs::File::create(repo.join("huge.txt"))
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    std::fs::write(repo.join("small.txt"), format!("k = \"{TOKEN}\"\n")).unwrap();
    let output = run_capped(&scratch, &repo, "");
    let stderr = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("over max-file-size"), "{stderr}");
    assert!(stderr.contains("huge.txt"), "{stderr}");
    assert_no_panic(&stderr);
    assert_eq!(result_uris(&sarif(&scratch)), ["small.txt"]);
}

#[test]
fn fifty_megabyte_line_under_a_raised_limit_is_scanned_to_its_end() {
    let scratch = Scratch::new();
    let repo = scratch.repo("repo");
    let policy = scratch.path("big.toml");
    std::fs::write(&policy, "[secrets]\nmax-file-size = 60000000\n").unwrap();
    let mut content = b"lorem ipsum dolor; ".repeat(50 * 1024 * 1024 / 19);
    content.extend_from_slice(format!("token = \"{TOKEN}\"").as_bytes());
    std::fs::write(repo.join("one-line.txt"), &content).unwrap();
    let output = scratch.run("secrets", &repo, &["--config", policy.to_str().unwrap()]);
    let stderr = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_no_panic(&stderr);
    let sarif = sarif(&scratch);
    assert_eq!(result_uris(&sarif), ["one-line.txt"]);
    let region = &sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"];
    assert_eq!(region["startLine"], 1);
    assert!(region["startColumn"].as_u64().unwrap() > 50_000_000);
}

#[test]
fn fifos_and_devices_are_skipped_not_read() {
    let scratch = Scratch::new();
    let repo = scratch.repo("repo");
    mkfifo(&repo.join("pipe"));
    std::os::unix::fs::symlink("/dev/zero", repo.join("zero")).unwrap();
    std::os::unix::fs::symlink("/dev/null", repo.join("null")).unwrap();
    if is_root() {
        let status = std::process::Command::new("mknod")
            .arg(repo.join("devnull"))
            .args(["c", "1", "3"])
            .status()
            .unwrap();
        assert!(status.success());
    }
    std::fs::write(repo.join("a.txt"), format!("k = \"{TOKEN}\"\n")).unwrap();
    // A timeout, not a hang, if a FIFO were opened.
    let output = scratch.run("check", &repo, &[]);
    let stderr = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_no_panic(&stderr);
    assert_eq!(result_uris(&sarif(&scratch)), ["a.txt"]);
}

#[test]
fn ignore_files_that_are_fifos_or_devices_do_not_hang_the_walk() {
    // The walker opens .gitignore and .ignore by itself: a FIFO would block it forever.
    for (name, at_root) in [
        (".gitignore", false),
        (".ignore", false),
        (".gitignore", true),
    ] {
        let scratch = Scratch::new();
        let repo = scratch.repo("repo");
        let dir = if at_root {
            repo.clone()
        } else {
            repo.join("sub")
        };
        std::fs::create_dir_all(&dir).unwrap();
        mkfifo(&dir.join(name));
        std::fs::write(repo.join("a.txt"), format!("k = \"{TOKEN}\"\n")).unwrap();
        let output = scratch.run("check", &repo, &[]);
        let stderr = assert_could_not_check(&output, &[name, "not a regular file"]);
        assert!(stderr.contains("secrets could not check"), "{stderr}");
        assert!(stderr.contains("advisories could not check"), "{stderr}");
        if !at_root {
            // Reported, and the rest of the tree still scanned.
            assert!(stderr.contains("sub/ not scanned"), "{stderr}");
            assert_eq!(result_uris(&sarif(&scratch)), ["a.txt"]);
        }
    }
}

#[test]
fn a_hundred_thousand_small_files() {
    let scratch = Scratch::new();
    let repo = scratch.repo("repo");
    for d in 0..100 {
        let dir = repo.join(format!("d{d:03}"));
        std::fs::create_dir(&dir).unwrap();
        for f in 0..1000 {
            std::fs::write(dir.join(format!("f{f:04}.txt")), b"let x = 1;\n").unwrap();
        }
    }
    std::fs::write(
        repo.join("d042/f0777.txt"),
        format!("let x = 1;\ntoken = \"{TOKEN}\"\n"),
    )
    .unwrap();
    let output = scratch.run("secrets", &repo, &[]);
    let stderr = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("100000 files"), "{stderr}");
    assert_eq!(result_uris(&sarif(&scratch)), ["d042/f0777.txt"]);
}

// ---------------------------------------------------------------- outputs

/// A fake cargo that records each call: proof that no scanning started.
fn logging_cargo(scratch: &Scratch) -> (PathBuf, PathBuf) {
    let log = scratch.path("cargo.log");
    let script = scratch.path("fake-cargo");
    std::fs::write(
        &script,
        format!("#!/bin/sh\necho \"$@\" >> '{}'\nexit 1\n", log.display()),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    (script, log)
}

/// A directory nobody can create files in: read-only for ordinary users;
/// for root (who writes through permission bits) a path below a regular file.
fn unwritable_dir(scratch: &Scratch) -> PathBuf {
    if is_root() {
        let file = scratch.path("a-file");
        std::fs::write(&file, "").unwrap();
        file.join("sub")
    } else {
        let dir = scratch.path("read-only");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o555)).unwrap();
        dir
    }
}

#[test]
fn unwritable_outputs_fail_before_scanning() {
    let scratch = Scratch::new();
    let (cargo, log) = logging_cargo(&scratch);
    let repo = fixture("projects/single");
    let missing = scratch.path("missing-dir");
    let unwritable = unwritable_dir(&scratch);
    for (flag, dir) in [
        ("--sarif", &missing),
        ("--sbom", &missing),
        ("--sarif", &unwritable),
        ("--sbom", &unwritable),
    ] {
        let target = dir.join("out.json");
        let other = if flag == "--sarif" {
            "--sbom"
        } else {
            "--sarif"
        };
        let output = scratch
            .secgate()
            .env("SECGATE_CARGO", &cargo)
            .arg("check")
            .arg(&repo)
            .arg("--db")
            .arg(fixture("advisory-db"))
            .arg(flag)
            .arg(&target)
            .arg(other)
            .arg(scratch.out().join("other.json"))
            .output()
            .unwrap();
        assert_could_not_check(&output, &["cannot write", &target.display().to_string()]);
        assert!(
            !log.exists(),
            "cargo ran: scanning started before the check"
        );
        scratch.assert_no_outputs();
    }
}

// ---------------------------------------------------------------- Python lock files
// Through the library (`inventory::python::read`) until `check` reads them:
// every broken one is an error on one line naming the file and the line.

/// `name` holding `content` in a scratch repository, read as a Python lock:
/// the error, which must be one line starting with `name:<line>:`.
fn python_error(name: &str, content: &[u8], line: usize) -> String {
    let scratch = Scratch::new();
    let repo = scratch.repo("repo");
    let path = repo.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, content).unwrap();
    let error = secgate::inventory::python::read(&path, &repo)
        .expect_err(name)
        .to_string();
    assert!(!error.contains('\n'), "one line: {error}");
    assert_no_panic(&error);
    let at = format!("{}:{line}:", path.display());
    assert!(error.starts_with(&at), "`{at}` expected: {error}");
    error
}

#[test]
fn python_locks_truncated_or_mistyped() {
    let poetry = std::fs::read_to_string(fixture("python/poetry-1.1-django/poetry.lock")).unwrap();
    let cut = poetry[..poetry.len() / 2].rfind("[[package]]").unwrap() + 2;
    let line = poetry[..cut].matches('\n').count() + 1;
    python_error("poetry.lock", &poetry.as_bytes()[..cut], line);
    let error = python_error(
        "uv.lock",
        b"version = 1\n\n[[package]]\nname = \"a\"\nversion = 2\n",
        5,
    );
    assert!(error.contains("not a valid uv.lock"), "{error}");
    let error = python_error("pdm.lock", b"[[package]]\nversion = \"1.0\"\n", 1);
    assert!(error.contains("missing field `name`"), "{error}");
    let pipfile = std::fs::read_to_string(fixture("python/pipenv-flask/Pipfile.lock")).unwrap();
    let broken = pipfile.replacen("\"version\": \"==1.0.2\"", "\"version\": [1, 0, 2]", 1);
    let line = broken[..broken.find("[1, 0, 2]").unwrap()]
        .matches('\n')
        .count()
        + 1;
    let error = python_error("Pipfile.lock", broken.as_bytes(), line);
    assert!(error.contains("default.flask"), "{error}");
    python_error(
        "Pipfile.lock",
        &pipfile.as_bytes()[..pipfile.len() / 3],
        1 + pipfile[..pipfile.len() / 3].matches('\n').count(),
    );
}

#[test]
fn python_requirement_files_with_a_bad_line_or_bad_bytes() {
    let error = python_error(
        "requirements.txt",
        b"flask==2.0.1\n# fine so far\ndjango>=3.2,,<4\n",
        3,
    );
    assert!(
        error.contains("not a valid requirement `django>=3.2,,<4`"),
        "{error}"
    );
    let error = python_error("requirements/dev.txt", b"a==1\nb==\xff\n", 2);
    assert!(error.contains("not UTF-8"), "{error}");
    // A broken included file is named with its own line.
    let scratch = Scratch::new();
    let repo = scratch.repo("repo");
    std::fs::write(repo.join("requirements.txt"), "a==1\n-r base.txt\n").unwrap();
    std::fs::write(repo.join("base.txt"), "ok==1\n\n=broken\n").unwrap();
    let error = secgate::inventory::python::read(&repo.join("requirements.txt"), &repo)
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with(&format!("{}:3:", repo.join("base.txt").display())),
        "{error}"
    );
}

#[test]
fn python_includes_that_are_fifos_or_directories_are_refused_at_the_include() {
    let scratch = Scratch::new();
    let repo = scratch.repo("repo");
    mkfifo(&repo.join("pipe.txt"));
    std::fs::create_dir(repo.join("dir.txt")).unwrap();
    for (target, says) in [("pipe.txt", "not a regular file"), ("dir.txt", "dir.txt")] {
        std::fs::write(
            repo.join("requirements.txt"),
            format!("a==1\n-r {target}\n"),
        )
        .unwrap();
        let error = secgate::inventory::python::read(&repo.join("requirements.txt"), &repo)
            .unwrap_err()
            .to_string();
        let at = format!(
            "{}:2: cannot read the included `{target}`",
            repo.join("requirements.txt").display()
        );
        assert!(error.starts_with(&at), "{error}");
        assert!(error.contains(says), "{error}");
        assert!(!error.contains('\n'), "{error}");
    }
    // The lock itself as a FIFO: refused, not opened (which would block).
    mkfifo(&repo.join("poetry.lock"));
    let error = secgate::inventory::python::read(&repo.join("poetry.lock"), &repo)
        .unwrap_err()
        .to_string();
    assert!(error.contains("not a regular file"), "{error}");
}

// ---------------------------------------------------------------- npm lock files
// Through `check`: a broken lock is exit 2 naming the file and the line,
// the other locks' findings still reported, the SARIF written whole.

/// `name` holding `content` at the root of a scratch repository, checked:
/// exit 2, the error naming `name:<line>`.
fn npm_error(name: &str, content: &[u8], line: usize) -> String {
    let scratch = Scratch::new();
    let repo = scratch.repo("repo");
    std::fs::write(repo.join(name), content).unwrap();
    let output = scratch.run(
        "check",
        &repo,
        &[
            "--scanners",
            "advisories",
            "--offline",
            "--osv-db",
            fixture("osv").to_str().unwrap(),
        ],
    );
    let stderr = assert_could_not_check(&output, &[&format!("{name}:{line}")]);
    scratch.assert_outputs_whole();
    stderr
}

#[test]
fn npm_locks_truncated_or_mistyped() {
    let lock = std::fs::read_to_string(fixture("npm/storefront-v3/package-lock.json")).unwrap();
    let cut = lock.len() / 2;
    npm_error(
        "package-lock.json",
        &lock.as_bytes()[..cut],
        lock[..cut].matches('\n').count() + 1,
    );
    let stderr = npm_error(
        "package-lock.json",
        b"{\n  \"lockfileVersion\": 7,\n  \"packages\": {}\n}\n",
        2,
    );
    assert!(stderr.contains("lockfileVersion"), "{stderr}");
    let mistyped = lock.replacen("\"version\": \"4.17.20\"", "\"version\": [4, 17, 20]", 1);
    let line = mistyped[..mistyped.find("[4, 17, 20]").unwrap()]
        .matches('\n')
        .count()
        + 1;
    npm_error("package-lock.json", mistyped.as_bytes(), line);
    npm_error(
        "pnpm-lock.yaml",
        b"lockfileVersion: '9.0'\n\nimporters:\n  .:\n    dependencies: [unclosed\n",
        5,
    );
    npm_error(
        "yarn.lock",
        b"# yarn lockfile v1\n\n\nlodash@^4.17.4:\n  version \"4.17.4\n",
        5,
    );
    npm_error(
        "bun.lock",
        b"{\n  \"lockfileVersion\": 1,\n  \"packages\": {\n    \"a\": [1, 2\n",
        4,
    );
}
