//! `secgate db update` and the cache, against a real HTTP server on
//! 127.0.0.1 inside the test, serving an archive built from the fixture
//! database. Hermetic: nothing leaves the machine.

mod common;

use assert_cmd::Command;
use common::fixture;
use common::http::{self, Delivery};
use flate2::write::GzEncoder;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A .tar.gz of `dir` under one top-level directory, as GitHub's archives are.
fn archive_of(dir: &Path) -> Vec<u8> {
    let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), flate2::Compression::fast()));
    builder.append_dir_all("advisory-db-main", dir).unwrap();
    builder.into_inner().unwrap().finish().unwrap()
}

fn fixture_archive() -> Vec<u8> {
    archive_of(&fixture("advisory-db"))
}

/// What the server does with one request.
#[derive(Clone)]
enum Reply {
    Send {
        status: &'static str,
        headers: Vec<(&'static str, String)>,
        body: Vec<u8>,
    },
    /// Headers promising `length` bytes, then fewer, then the connection closes.
    Truncated { body: Vec<u8>, length: usize },
    /// Never answers.
    Stall,
    /// Headers promising `length` bytes, `body` (fewer), then silence.
    StallAfter { body: Vec<u8>, length: usize },
}

impl From<Reply> for http::Reply {
    fn from(reply: Reply) -> http::Reply {
        match reply {
            Reply::Send {
                status,
                headers,
                body,
            } => {
                let code = status.split(' ').next().unwrap().parse().unwrap();
                let headers = headers
                    .into_iter()
                    .map(|(name, value)| (name.to_string(), value))
                    .collect();
                http::Reply::new(code, headers, body)
            }
            Reply::Truncated { body, length } => {
                http::Reply::new(200, Vec::new(), body).delivered(Delivery::Truncated { length })
            }
            Reply::StallAfter { body, length } => {
                http::Reply::new(200, Vec::new(), body).delivered(Delivery::StallAfter { length })
            }
            Reply::Stall => {
                http::Reply::new(200, Vec::new(), Vec::new()).delivered(Delivery::Stall)
            }
        }
    }
}

fn ok(body: Vec<u8>, etag: &str) -> Reply {
    Reply::Send {
        status: "200 OK",
        headers: vec![
            ("Content-Type", "application/x-gzip".to_string()),
            ("ETag", etag.to_string()),
            ("Last-Modified", "Sat, 21 Nov 2026 10:00:00 GMT".to_string()),
        ],
        body,
    }
}

fn status(status: &'static str, body: &str) -> Reply {
    Reply::Send {
        status,
        headers: vec![("Content-Type", "text/html".to_string())],
        body: body.as_bytes().to_vec(),
    }
}

/// The shared test server (`common::http`) answering by each request's head
/// (request line and headers, lower-cased), at the advisory-db archive's path.
struct Server {
    url: String,
    inner: http::Server,
}

impl Server {
    fn start(handler: impl Fn(&[String]) -> Reply + Send + Sync + 'static) -> Server {
        let inner = http::Server::start(move |request| handler(&request.head_lines()).into());
        let url = format!(
            "{}/rustsec/advisory-db/archive/refs/heads/main.tar.gz",
            inner.base
        );
        Server { url, inner }
    }

    fn requests(&self) -> Vec<Vec<String>> {
        self.inner
            .requests()
            .iter()
            .map(|r| r.head_lines())
            .collect()
    }

    /// `http://127.0.0.1:PORT`, the base of OSV-style `<Ecosystem>/all.zip` URLs.
    fn base(&self) -> String {
        self.inner.base.clone()
    }
}

/// A server of OSV's PyPI and npm archives (the committed real subsets).
fn osv_server() -> Server {
    let pypi = std::fs::read(fixture("osv/PyPI/all.zip")).unwrap();
    let npm = std::fs::read(fixture("osv/npm/all.zip")).unwrap();
    Server::start(move |head| {
        if head[0].starts_with("get /pypi/all.zip ") {
            ok(pypi.clone(), "\"osv-1\"")
        } else if head[0].starts_with("get /npm/all.zip ") {
            ok(npm.clone(), "\"osv-npm-1\"")
        } else {
            status("404 Not Found", "no such archive")
        }
    })
}

fn header<'a>(head: &'a [String], name: &str) -> Option<&'a str> {
    head.iter()
        .find_map(|line| line.strip_prefix(&format!("{name}:")))
        .map(str::trim)
}

/// A home directory with its own cache; `secgate` commands run in it.
struct Home {
    dir: tempfile::TempDir,
    /// `db update` fetches OSV archives too: from here, never the internet.
    osv: Server,
}

impl Home {
    fn new() -> Home {
        Home {
            dir: tempfile::tempdir().unwrap(),
            osv: osv_server(),
        }
    }

    fn cache_db(&self) -> PathBuf {
        self.dir.path().join("cache/secgate/advisory-db")
    }

    fn record_path(&self) -> PathBuf {
        self.dir.path().join("cache/secgate/advisory-db.fetch.json")
    }

    fn record(&self) -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(self.record_path()).unwrap()).unwrap()
    }

    /// The shared `secgate` with this home, run from it (its `secgate.toml`
    /// is the policy), no cargo index cache, the database at `url` and a
    /// short HTTP timeout; a plain process, to spawn or kill.
    fn process(&self, url: &str) -> std::process::Command {
        let mut command = common::secgate_process(self.dir.path());
        command
            .current_dir(self.dir.path())
            .env("CARGO_HOME", common::empty_cargo_home(self.dir.path()))
            .env("SECGATE_DB_URL", url)
            .env("SECGATE_OSV_URL", self.osv.base())
            .env("SECGATE_HTTP_TIMEOUT_SECS", "10");
        command
    }

    /// `process` as an `assert_cmd` command.
    fn secgate(&self, url: &str) -> Command {
        Command::from_std(self.process(url))
    }

    fn update(&self, url: &str) -> (i32, String) {
        let output = self.secgate(url).args(["db", "update"]).output().unwrap();
        (
            output.status.code().unwrap(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    /// A cache filled from a good server, as every failure test starts with.
    fn with_good_cache() -> Home {
        let home = Home::new();
        let server = Server::start(|_| ok(fixture_archive(), "\"v1\""));
        let (code, stderr) = home.update(&server.url);
        assert_eq!(code, 0, "{stderr}");
        home
    }

    /// The cached database loads and holds the fixture's advisories.
    fn assert_cache_loads(&self) {
        let database = rustsec::Database::open(&self.cache_db()).unwrap();
        let expected = rustsec::Database::open(&fixture("advisory-db"))
            .unwrap()
            .iter()
            .count();
        assert_eq!(database.iter().count(), expected);
    }

    fn check_vulnerable(&self, url: &str, extra: &[&str]) -> (i32, String, String) {
        let sarif = self.dir.path().join("out.sarif");
        let _ = std::fs::remove_file(&sarif);
        let output = self
            .secgate(url)
            .arg("check")
            .arg(fixture("repos/vulnerable"))
            .args(["--scanners", "advisories", "--sarif"])
            .arg(&sarif)
            .args(extra)
            .output()
            .unwrap();
        (
            output.status.code().unwrap(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
            std::fs::read_to_string(&sarif).unwrap_or_default(),
        )
    }
}

#[test]
fn update_fills_the_cache_and_an_offline_check_uses_it() {
    let server = Server::start(|_| ok(fixture_archive(), "\"v1\""));
    let home = Home::new();
    let (code, stderr) = home.update(&server.url);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("updated"), "{stderr}");
    home.assert_cache_loads();
    let record = home.record();
    assert_eq!(record["url"], server.url.as_str());
    assert_eq!(record["etag"], "\"v1\"");
    assert!(record["fetched-at"].as_str().unwrap().ends_with('Z'));
    // Counted once at unpacking, so a check need not list the folders.
    let fixture = rustsec::Database::open(&fixture("advisory-db")).unwrap();
    let newest = fixture
        .iter()
        .map(|a| a.metadata.date.as_str())
        .max()
        .unwrap();
    assert_eq!(record["advisories"], fixture.iter().count());
    assert_eq!(record["newest-advisory"], newest);

    let (code, stderr, sarif) = home.check_vulnerable("http://127.0.0.1:9/unused", &["--offline"]);
    assert_eq!(code, 1, "{stderr}");
    for id in [
        "RUSTSEC-2021-0003",
        "RUSTSEC-2022-0013",
        "RUSTSEC-2020-0071",
    ] {
        assert!(sarif.contains(id), "{id} missing");
    }
    assert!(
        stderr.contains(&format!(
            "advisory database: {} advisories, newest {newest},",
            fixture.iter().count()
        )),
        "the check reports what the record holds: {stderr}"
    );
    // Seconds ago, however slow the machine: a minute would print "1m".
    let fetched = regex::Regex::new(r"fetched [0-9]+s ago").unwrap();
    assert!(fetched.is_match(&stderr), "{stderr}");
    assert_eq!(server.requests().len(), 1, "--offline made no request");

    let status = home
        .secgate(&server.url)
        .args(["db", "status"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&status.stdout);
    assert_eq!(status.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains(&server.url), "{stdout}");
    assert!(stdout.contains("advisories: "), "{stdout}");
}

#[test]
fn not_modified_keeps_the_database_and_records_the_fetch() {
    let server = Server::start(|head| {
        if header(head, "if-none-match") == Some("\"v1\"") {
            Reply::Send {
                status: "304 Not Modified",
                headers: vec![("ETag", "\"v1\"".to_string())],
                body: Vec::new(),
            }
        } else {
            ok(fixture_archive(), "\"v1\"")
        }
    });
    let home = Home::new();
    assert_eq!(home.update(&server.url).0, 0);
    let mut record = home.record();
    record["fetched-at"] = "2026-01-01T00:00:00Z".into();
    std::fs::write(home.record_path(), record.to_string()).unwrap();

    let (code, stderr) = home.update(&server.url);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("up to date"), "{stderr}");
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(header(&requests[1], "if-none-match"), Some("\"v1\""));
    assert_eq!(
        header(&requests[1], "if-modified-since"),
        Some("sat, 21 nov 2026 10:00:00 gmt")
    );
    assert_ne!(home.record()["fetched-at"], "2026-01-01T00:00:00Z");
    home.assert_cache_loads();
}

/// Each failure: exit 2, the message names the URL, the previous database
/// (and its record) untouched and loadable.
fn assert_failed_update_keeps_the_cache(
    reply: impl Fn() -> Reply + Send + Sync + 'static,
    says: &str,
) {
    let home = Home::with_good_cache();
    let record_before = std::fs::read(home.record_path()).unwrap();
    let server = Server::start(move |_| reply());
    let (code, stderr) = home.update(&server.url);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains(&server.url), "names the URL: {stderr}");
    assert!(stderr.contains(says), "says {says:?}: {stderr}");
    home.assert_cache_loads();
    assert_eq!(std::fs::read(home.record_path()).unwrap(), record_before);
    let leftovers: Vec<_> = std::fs::read_dir(home.cache_db().parent().unwrap())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn not_found_keeps_the_previous_database() {
    assert_failed_update_keeps_the_cache(|| status("404 Not Found", "<h1>404</h1>"), "404");
}

#[test]
fn server_error_keeps_the_previous_database() {
    assert_failed_update_keeps_the_cache(|| status("500 Internal Server Error", "oops"), "500");
}

#[test]
fn truncated_archive_keeps_the_previous_database() {
    assert_failed_update_keeps_the_cache(
        || {
            let archive = fixture_archive();
            Reply::Truncated {
                length: archive.len(),
                body: archive[..archive.len() / 2].to_vec(),
            }
        },
        "advisory database",
    );
}

#[test]
fn truncated_gzip_with_honest_length_keeps_the_previous_database() {
    assert_failed_update_keeps_the_cache(
        || {
            let archive = fixture_archive();
            ok(archive[..archive.len() / 2].to_vec(), "\"half\"")
        },
        "not a usable advisory database",
    );
}

#[test]
fn html_body_keeps_the_previous_database() {
    assert_failed_update_keeps_the_cache(
        || {
            let mut reply = status("200 OK", "<html><body>Sign in to continue</body></html>");
            if let Reply::Send { headers, .. } = &mut reply {
                headers.push(("ETag", "\"html\"".to_string()));
            }
            reply
        },
        "invalid gzip header",
    );
}

#[test]
fn archive_without_advisories_keeps_the_previous_database() {
    let empty = tempfile::tempdir().unwrap();
    std::fs::create_dir(empty.path().join("crates")).unwrap();
    std::fs::write(empty.path().join("README.md"), "# not much here\n").unwrap();
    let bytes = archive_of(empty.path());
    assert_failed_update_keeps_the_cache(move || ok(bytes.clone(), "\"e\""), "no advisories");
}

#[test]
fn archive_of_another_repository_keeps_the_previous_database() {
    let bytes = archive_of(&fixture("repos/clean"));
    assert_failed_update_keeps_the_cache(move || ok(bytes.clone(), "\"r\""), "crates/");
}

#[test]
fn connection_refused_keeps_the_previous_database() {
    let home = Home::with_good_cache();
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/db.tar.gz");
    let (code, stderr) = home.update(&url);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains(&url), "{stderr}");
    home.assert_cache_loads();
}

#[test]
fn stalled_server_times_out_and_keeps_the_previous_database() {
    let home = Home::with_good_cache();
    let server = Server::start(|_| Reply::Stall);
    let started = std::time::Instant::now();
    let output = home
        .secgate(&server.url)
        .env("SECGATE_HTTP_TIMEOUT_SECS", "1")
        .args(["db", "update"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "gave up in time"
    );
    assert!(stderr.contains(&server.url), "{stderr}");
    assert!(stderr.contains("timed out"), "{stderr}");
    home.assert_cache_loads();
}

#[test]
fn concurrent_updates_both_finish_and_leave_a_valid_cache() {
    let server = Server::start(|_| {
        // Slow enough that the two processes overlap.
        std::thread::sleep(Duration::from_millis(300));
        ok(fixture_archive(), "\"v1\"")
    });
    let home = Home::new();
    let children: Vec<_> = (0..2)
        .map(|_| {
            home.process(&server.url)
                .args(["db", "update"])
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    home.assert_cache_loads();
    let names: Vec<_> = std::fs::read_dir(home.cache_db().parent().unwrap())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with('.'))
        .collect();
    assert!(names.is_empty(), "no staging leftovers: {names:?}");
}

#[test]
fn check_fetches_a_missing_cache_then_uses_it() {
    let server = Server::start(|_| ok(fixture_archive(), "\"v1\""));
    let home = Home::new();
    let (code, stderr, sarif) = home.check_vulnerable(&server.url, &[]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("advisory database updated"), "{stderr}");
    assert!(sarif.contains("RUSTSEC-2021-0003"));
    // Fresh now: the next check does not ask again.
    let (code, stderr, _) = home.check_vulnerable(&server.url, &[]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn check_with_a_failing_update_falls_back_to_the_older_cache() {
    let home = Home::with_good_cache();
    let policy = home.dir.path().join("always.toml");
    std::fs::write(&policy, "[db]\nrefresh = \"0s\"\n").unwrap();
    let server = Server::start(|_| status("503 Service Unavailable", "busy"));
    let policy = policy.to_str().unwrap();
    let (code, stderr, sarif) = home.check_vulnerable(&server.url, &["--config", policy]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("warning"), "{stderr}");
    assert!(stderr.contains(&server.url), "{stderr}");
    assert!(stderr.contains("ways out:"), "{stderr}");
    assert!(stderr.contains("--offline"), "{stderr}");
    assert!(sarif.contains("RUSTSEC-2021-0003"));
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn check_without_any_database_fails_closed() {
    let server = Server::start(|_| status("404 Not Found", "gone"));
    let home = Home::new();
    let (code, stderr, _) = home.check_vulnerable(&server.url, &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains(&server.url), "{stderr}");
    assert!(stderr.contains("secgate db update"), "{stderr}");
    assert!(stderr.contains("--db"), "{stderr}");
    assert!(stderr.contains("SECGATE_DB_URL"), "{stderr}");
    assert!(!home.cache_db().exists());
}

#[test]
fn offline_update_failure_names_the_url_and_the_ways_out() {
    let home = Home::new();
    // Port 9 (discard) is closed on a machine without network services.
    let url = "http://127.0.0.1:9/x.tar.gz";
    let (code, stderr) = home.update(url);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains(url), "{stderr}");
    for way_out in [
        "--db DIR",
        "SECGATE_DB=DIR",
        "SECGATE_DB_URL",
        "--url",
        "--offline",
    ] {
        assert!(stderr.contains(way_out), "names {way_out}: {stderr}");
    }
    assert!(stderr.lines().count() <= 2, "one or two lines: {stderr}");
}

/// Which of the cache's files exist: none, if nothing tried to fetch.
fn cache_files(home: &Home) -> Vec<String> {
    match std::fs::read_dir(home.cache_db().parent().unwrap()) {
        Ok(entries) => entries
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    }
}

#[test]
fn a_url_that_is_not_http_is_refused_before_any_request() {
    let home = Home::new();
    let output = home
        .secgate("http://127.0.0.1:9/unused")
        .args(["db", "update", "--url", "file:///tmp/x"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--url `file:///tmp/x`"), "{stderr}");
    assert!(
        stderr.contains("only http:// and https:// URLs are fetched"),
        "{stderr}"
    );
    assert!(stderr.contains("--db DIR"), "{stderr}");
    assert!(!stderr.contains("builder error"), "{stderr}");
    // An update takes its lock before the request: no lock, no attempt.
    assert_eq!(cache_files(&home), Vec::<String>::new());

    let (code, stderr) = home.update("ftp://127.0.0.1:9/db.tar.gz");
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("SECGATE_DB_URL `ftp://"), "{stderr}");
    assert!(stderr.contains("only http:// and https://"), "{stderr}");

    // `check` refuses it before its refresh...
    let (code, stderr, _) = home.check_vulnerable("file:///tmp/x", &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("SECGATE_DB_URL `file:///tmp/x`"),
        "{stderr}"
    );
    assert!(stderr.contains("only http:// and https://"), "{stderr}");
    assert_eq!(cache_files(&home), Vec::<String>::new());
    // ...even with a cache that is not due for one yet.
    let cached = Home::with_good_cache();
    let (code, stderr, _) = cached.check_vulnerable("file:///tmp/x", &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("only http:// and https://"), "{stderr}");
}

#[test]
fn db_status_describes_the_secgate_db_checkout() {
    let home = Home::new();
    let fixture_db = fixture("advisory-db");
    let count = rustsec::Database::open(&fixture_db).unwrap().iter().count();
    let by_env = home
        .secgate("http://127.0.0.1:9/unused")
        .env("SECGATE_DB", &fixture_db)
        .args(["db", "status"])
        .output()
        .unwrap();
    let by_flag = home
        .secgate("http://127.0.0.1:9/unused")
        .args(["db", "status", "--db"])
        .arg(&fixture_db)
        .output()
        .unwrap();
    for output in [by_env, by_flag] {
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{stdout}{stderr}");
        assert!(
            stdout.contains(&format!("path:       {}\n", fixture_db.display())),
            "{stdout}"
        );
        assert!(
            stdout.contains("source:     --db / SECGATE_DB (a local checkout, never fetched)"),
            "{stdout}"
        );
        assert!(
            stdout.contains(&format!("advisories: {count}, newest 20")),
            "{stdout}"
        );
        assert!(stdout.contains("since the newest advisory"), "{stdout}");
        assert!(stdout.contains("db.max-age = 7d"), "{stdout}");
        assert!(
            !stdout.contains("missing"),
            "the cache is not read: {stdout}"
        );
    }
    assert!(!home.cache_db().exists());

    let not_a_db = tempfile::tempdir().unwrap();
    let output = home
        .secgate("http://127.0.0.1:9/unused")
        .env("SECGATE_DB", not_a_db.path())
        .args(["db", "status"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("is not a RustSec advisory-db checkout (no crates/ directory)"),
        "{stderr}"
    );
}

#[test]
fn check_with_a_db_that_is_not_an_advisory_database_says_so() {
    let home = Home::new();
    let empty = tempfile::tempdir().unwrap();
    let other = tempfile::tempdir().unwrap();
    std::fs::write(other.path().join("README.md"), "# a repository\n").unwrap();
    std::fs::create_dir(other.path().join("src")).unwrap();
    for dir in [empty.path(), other.path()] {
        let (code, stderr, _) = home.check_vulnerable(
            "http://127.0.0.1:9/unused",
            &["--db", dir.to_str().unwrap()],
        );
        assert_eq!(code, 2, "{stderr}");
        let says = format!(
            "{} is not a RustSec advisory-db checkout (no crates/ directory)",
            dir.display()
        );
        assert!(stderr.contains(&says), "{stderr}");
        assert!(!stderr.contains("No such file"), "{stderr}");
    }
    let missing = empty.path().join("advisory-db");
    let (code, stderr, _) = home.check_vulnerable(
        "http://127.0.0.1:9/unused",
        &["--db", missing.to_str().unwrap()],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "advisory database {} does not exist",
            missing.display()
        )),
        "{stderr}"
    );
}

#[test]
fn stale_cache_warns_by_default_and_fails_where_the_policy_says() {
    let home = Home::with_good_cache();
    let mut record = home.record();
    record["fetched-at"] = "2026-01-01T00:00:00Z".into();
    std::fs::write(home.record_path(), record.to_string()).unwrap();

    let (code, stderr, _) = home.check_vulnerable("http://127.0.0.1:9/unused", &["--offline"]);
    assert_eq!(code, 1, "a warning: the findings decide: {stderr}");
    assert!(stderr.contains("more than db.max-age = 7d"), "{stderr}");

    let policy = home.dir.path().join("strict.toml");
    std::fs::write(&policy, "[db]\nstale = \"fail\"\nmax-age = \"30d\"\n").unwrap();
    let policy = policy.to_str().unwrap();
    let (code, stderr, _) = home.check_vulnerable(
        "http://127.0.0.1:9/unused",
        &["--offline", "--config", policy],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("stale database"), "{stderr}");
    assert!(stderr.contains("db.max-age = 30d"), "{stderr}");
}

/// The process killed mid-download: the old database still loads, and the
/// next update (which finds the dead one's staging) succeeds.
#[test]
fn update_killed_mid_download_keeps_the_old_database() {
    let home = Home::with_good_cache();
    let record_before = std::fs::read(home.record_path()).unwrap();
    let server = Server::start(|_| {
        let archive = fixture_archive();
        Reply::StallAfter {
            length: archive.len(),
            body: archive[..archive.len() / 2].to_vec(),
        }
    });
    let mut child = home
        .process(&server.url)
        .args(["db", "update"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while server.requests().is_empty() && started.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(server.requests().len(), 1, "the download started");
    // Let half the body arrive, then kill it as CI would on a timeout.
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap();
    child.wait().unwrap();

    home.assert_cache_loads();
    assert_eq!(std::fs::read(home.record_path()).unwrap(), record_before);
    let (code, stderr, sarif) = home.check_vulnerable("http://127.0.0.1:9/unused", &["--offline"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(sarif.contains("RUSTSEC-2021-0003"));

    let good = Server::start(|_| ok(fixture_archive(), "\"v2\""));
    let (code, stderr) = home.update(&good.url);
    assert_eq!(code, 0, "{stderr}");
    home.assert_cache_loads();
    let leftovers: Vec<_> = std::fs::read_dir(home.cache_db().parent().unwrap())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// Checks that read the cache while an update replaces it see the old
/// database or the new one, never a half-swapped one.
#[test]
fn check_during_an_update_reads_a_whole_database() {
    let home = Home::with_good_cache();
    let server = Server::start(|_| {
        // Slow, so the checks below run while the update is under way.
        std::thread::sleep(Duration::from_millis(1500));
        ok(fixture_archive(), "\"v2\"")
    });
    let update = home
        .process(&server.url)
        .args(["db", "update"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let policy = home.dir.path().join("refresh.toml");
    std::fs::write(&policy, "[db]\nrefresh = \"0s\"\n").unwrap();
    let policy = policy.to_str().unwrap().to_string();
    let started = std::time::Instant::now();
    let mut checks = 0;
    while started.elapsed() < Duration::from_millis(2500) {
        // Offline: reads the cache under the update's feet.
        let (code, stderr, sarif) =
            home.check_vulnerable("http://127.0.0.1:9/unused", &["--offline"]);
        assert_eq!(code, 1, "{stderr}");
        assert!(sarif.contains("RUSTSEC-2021-0003"), "{stderr}");
        checks += 1;
    }
    // Online with a due cache: a second updater racing the first.
    let (code, stderr, sarif) = home.check_vulnerable(&server.url, &["--config", &policy]);
    assert_eq!(code, 1, "{stderr}");
    assert!(sarif.contains("RUSTSEC-2021-0003"), "{stderr}");
    let output = update.wait_with_output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(checks >= 2, "only {checks} checks overlapped the update");
    home.assert_cache_loads();
}

// ------------------------------------------------------------------------
// Which URL is fetched: `db update --url` over SECGATE_DB_URL over the
// policy's `[db] url` (README, "Advisory database"). A separate block.

/// Paths requested from `server`, in order (the request line's path).
fn requested_paths(server: &Server) -> Vec<String> {
    server
        .requests()
        .iter()
        .map(|head| head[0].split(' ').nth(1).unwrap_or_default().to_string())
        .collect()
}

/// A home whose `secgate.toml` (read from the working directory) sets
/// `[db] url`, and a server answering every path with the fixture database.
fn home_with_policy_url() -> (Home, Server, String) {
    let home = Home::new();
    let server = Server::start(|_| ok(fixture_archive(), "\"v1\""));
    let base = server.url.split("/rustsec/").next().unwrap().to_string();
    std::fs::write(
        home.dir.path().join("secgate.toml"),
        format!("[db]\nurl = \"{base}/from-policy.tar.gz\"\n"),
    )
    .unwrap();
    (home, server, base)
}

#[test]
fn db_update_url_precedence_flag_then_environment_then_policy() {
    // The policy's url alone.
    let (home, server, _) = home_with_policy_url();
    let output = home
        .secgate("unused")
        .env_remove("SECGATE_DB_URL")
        .args(["db", "update"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(requested_paths(&server), ["/from-policy.tar.gz"]);
    assert!(stderr.contains("/from-policy.tar.gz"), "{stderr}");

    // SECGATE_DB_URL wins over it.
    let (home, server, base) = home_with_policy_url();
    let (code, stderr) = home.update(&format!("{base}/from-env.tar.gz"));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(requested_paths(&server), ["/from-env.tar.gz"]);

    // --url wins over both.
    let (home, server, base) = home_with_policy_url();
    let output = home
        .secgate(&format!("{base}/from-env.tar.gz"))
        .args(["db", "update", "--url", &format!("{base}/from-flag.tar.gz")])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(requested_paths(&server), ["/from-flag.tar.gz"]);
    home.assert_cache_loads();
}

#[test]
fn check_refreshes_from_secgate_db_url_over_the_policy_url() {
    // check reads the policy of the scanned tree, unless --config names one.
    let (home, server, base) = home_with_policy_url();
    let policy = home.dir.path().join("secgate.toml");
    let policy = policy.to_str().unwrap();
    let (code, stderr, sarif) =
        home.check_vulnerable(&format!("{base}/from-env.tar.gz"), &["--config", policy]);
    assert_eq!(code, 1, "{stderr}");
    assert!(sarif.contains("RUSTSEC-2021-0003"), "{stderr}");
    assert_eq!(requested_paths(&server), ["/from-env.tar.gz"]);
    // Without the variable, the policy's url.
    let (home, server, _) = home_with_policy_url();
    let output = home
        .secgate("unused")
        .env_remove("SECGATE_DB_URL")
        .arg("check")
        .arg(fixture("repos/vulnerable"))
        .arg("--config")
        .arg(home.dir.path().join("secgate.toml"))
        .args(["--scanners", "advisories", "--sarif"])
        .arg(home.dir.path().join("out.sarif"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(requested_paths(&server), ["/from-policy.tar.gz"]);
}

/// How many advisories the fixture database holds.
fn fixture_count() -> usize {
    rustsec::Database::open(&fixture("advisory-db"))
        .unwrap()
        .iter()
        .count()
}

/// Sets the cache's fetch record `fetched-at`.
fn set_fetched_at(home: &Home, at: &str) {
    let mut record = home.record();
    record["fetched-at"] = at.into();
    std::fs::write(home.record_path(), record.to_string()).unwrap();
}

fn db_status(home: &Home) -> (i32, String) {
    let output = home
        .secgate("http://127.0.0.1:9/unused")
        .args(["db", "status"])
        .output()
        .unwrap();
    (
        output.status.code().unwrap(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

/// A record dated ten years ahead would otherwise count as age zero for
/// ten years: the cache would never be refreshed.
#[test]
fn a_fetch_record_in_the_future_is_due_and_stale() {
    let home = Home::with_good_cache();
    set_fetched_at(&home, "2099-01-01T00:00:00Z");
    let record_path = home.record_path().display().to_string();

    let (code, stdout) = db_status(&home);
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.contains("fetched-at: 2099-01-01T00:00:00Z (in the future: due for refresh)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("age:        unknown, fetched in the future (stale: counted as older than db.max-age = 7d"),
        "{stdout}"
    );

    // Offline: stale, with a warning naming the record.
    let (code, stderr, _) = home.check_vulnerable("http://127.0.0.1:9/unused", &["--offline"]);
    assert_eq!(code, 1, "a warning: the findings decide: {stderr}");
    assert!(
        stderr.contains(&format!(
            "the fetch record {record_path} says the advisory database was fetched at 2099-01-01T00:00:00Z, in the future: counted as stale"
        )),
        "{stderr}"
    );
    let policy = home.dir.path().join("strict.toml");
    std::fs::write(&policy, "[db]\nstale = \"fail\"\n").unwrap();
    let (code, stderr, _) = home.check_vulnerable(
        "http://127.0.0.1:9/unused",
        &["--offline", "--config", policy.to_str().unwrap()],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("stale database: the fetch record"),
        "{stderr}"
    );

    // Online: due, so refreshed, and unconditionally (the record's ETag
    // is no better than its date).
    let server = Server::start(|head| {
        if header(head, "if-none-match").is_some() {
            Reply::Send {
                status: "304 Not Modified",
                headers: vec![("ETag", "\"v1\"".to_string())],
                body: Vec::new(),
            }
        } else {
            ok(fixture_archive(), "\"v2\"")
        }
    });
    let (code, stderr, sarif) = home.check_vulnerable(&server.url, &[]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "warning: fetch record {record_path}: fetched-at 2099-01-01T00:00:00Z is in the future (more than 5m ahead of this clock): refreshing the advisory database"
        )),
        "{stderr}"
    );
    assert!(sarif.contains("RUSTSEC-2021-0003"));
    let requests = server.requests();
    assert_eq!(requests.len(), 1, "refreshed");
    assert_eq!(header(&requests[0], "if-none-match"), None);
    assert_eq!(home.record()["etag"], "\"v2\"");
    assert!(home.record()["fetched-at"].as_str().unwrap() < "2099");
    assert!(
        !stderr.contains("in the future: counted as stale"),
        "{stderr}"
    );
}

/// A runner whose clock is a little behind the one that fetched: not due.
#[test]
fn a_fetch_time_a_minute_ahead_is_clock_skew() {
    let home = Home::with_good_cache();
    let ahead = time::OffsetDateTime::now_utc() + time::Duration::minutes(1);
    let ahead = ahead
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    set_fetched_at(&home, &ahead);
    let server = Server::start(|_| ok(fixture_archive(), "\"v2\""));
    let (code, stderr, _) = home.check_vulnerable(&server.url, &[]);
    assert_eq!(code, 1, "{stderr}");
    assert!(server.requests().is_empty(), "not due: {stderr}");
    assert!(!stderr.contains("future"), "{stderr}");
    assert!(stderr.contains("fetched 0s ago"), "{stderr}");
}

/// Deletes the fixture advisories of smallvec (5) and regex (1) from the cache.
fn delete_some_advisories(home: &Home) -> usize {
    let crates = home.cache_db().join("crates");
    std::fs::remove_dir_all(crates.join("smallvec")).unwrap();
    std::fs::remove_file(crates.join("regex/RUSTSEC-2022-0013.md")).unwrap();
    6
}

#[test]
fn a_cache_with_advisories_deleted_after_the_fetch_fails_closed() {
    let home = Home::with_good_cache();
    let count = fixture_count();
    let left = count - delete_some_advisories(&home);
    let (code, stderr, sarif) = home.check_vulnerable("http://127.0.0.1:9/unused", &["--offline"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "advisory database {}: holds {left} advisories, but its fetch record {} counted {count} at the fetch: advisories were deleted since (run `secgate db update` to fetch it again)",
            home.cache_db().display(),
            home.record_path().display()
        )),
        "{stderr}"
    );
    assert!(!sarif.contains("RUSTSEC-2021-0003"), "{sarif}");

    let (code, stdout) = db_status(&home);
    assert_eq!(code, 2, "{stdout}");
    assert!(
        stdout.contains(&format!(
            "verified:   no: it holds {left} advisories, but its fetch record counted {count} at the fetch (deleted since: run `secgate db update`)"
        )),
        "{stdout}"
    );

    // `db update` mends it, though the server's ETag is the one recorded:
    // a record that overcounts the cache does not get a 304.
    let server = Server::start(|head| {
        if header(head, "if-none-match") == Some("\"v1\"") {
            Reply::Send {
                status: "304 Not Modified",
                headers: vec![("ETag", "\"v1\"".to_string())],
                body: Vec::new(),
            }
        } else {
            ok(fixture_archive(), "\"v1\"")
        }
    });
    let (code, stderr) = home.update(&server.url);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("updated"), "{stderr}");
    home.assert_cache_loads();
    let (code, stderr, sarif) = home.check_vulnerable("http://127.0.0.1:9/unused", &["--offline"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(sarif.contains("RUSTSEC-2021-0003"));
}

/// As many advisories in all, but one gone from a folder the check reads.
#[test]
fn an_advisory_moved_out_of_its_folder_fails_closed() {
    let home = Home::with_good_cache();
    let crates = home.cache_db().join("crates");
    std::fs::rename(
        crates.join("regex/RUSTSEC-2022-0013.md"),
        crates.join("hyper/RUSTSEC-2022-0013.md"),
    )
    .unwrap();
    let (code, stderr, _) = home.check_vulnerable("http://127.0.0.1:9/unused", &["--offline"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "advisory database {}: crates/regex holds 0 advisories, but its fetch record {} counted 1 at the fetch",
            home.cache_db().display(),
            home.record_path().display()
        )),
        "{stderr}"
    );
}

#[test]
fn a_cache_emptied_of_advisories_fails_closed() {
    let crates_of = |home: &Home| home.cache_db().join("crates");
    let says = "holds no advisories (an empty database cannot vouch for anything)";

    // Every advisory deleted, the folders left.
    let home = Home::with_good_cache();
    for folder in std::fs::read_dir(crates_of(&home)).unwrap().flatten() {
        for file in std::fs::read_dir(folder.path()).unwrap().flatten() {
            std::fs::remove_file(file.path()).unwrap();
        }
    }
    let (code, stderr, _) = home.check_vulnerable("http://127.0.0.1:9/unused", &["--offline"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains(says), "{stderr}");

    // Only the placeholder left (RUSTSEC-0000-0000 loads but is no advisory).
    let home = Home::with_good_cache();
    let crates = crates_of(&home);
    let placeholder = std::fs::read_to_string(crates.join("regex/RUSTSEC-2022-0013.md"))
        .unwrap()
        .replace("RUSTSEC-2022-0013", "RUSTSEC-0000-0000");
    std::fs::remove_dir_all(&crates).unwrap();
    std::fs::create_dir_all(crates.join("regex")).unwrap();
    std::fs::write(crates.join("regex/RUSTSEC-0000-0000.md"), placeholder).unwrap();
    let (code, stderr, _) = home.check_vulnerable("http://127.0.0.1:9/unused", &["--offline"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "advisory database {}: {says}",
            home.cache_db().display()
        )),
        "{stderr}"
    );
    let (code, stdout) = db_status(&home);
    assert_eq!(code, 2, "{stdout}");
    assert!(
        stdout.contains("verified:   no: it holds no advisories"),
        "{stdout}"
    );
}

/// A copy of the fixture database with only the crate folders `keep`.
fn fixture_subset(keep: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    common::copy_tree(&fixture("advisory-db"), dir.path());
    for folder in std::fs::read_dir(dir.path().join("crates"))
        .unwrap()
        .flatten()
    {
        if !keep.contains(&folder.file_name().to_str().unwrap()) {
            std::fs::remove_dir_all(folder.path()).unwrap();
        }
    }
    dir
}

#[test]
fn an_update_far_smaller_than_the_cache_is_refused() {
    let count = fixture_count();
    let small = fixture_subset(&["smallvec", "regex", "time"]);
    let bytes = archive_of(small.path());
    let says = format!("holds 8 advisories, far fewer than the {count} of the cached database");
    let served = bytes.clone();
    assert_failed_update_keeps_the_cache(move || ok(served.clone(), "\"small\""), &says);

    // A check's refresh refuses it too, and checks with the cached one.
    let home = Home::with_good_cache();
    let policy = home.dir.path().join("always.toml");
    std::fs::write(&policy, "[db]\nrefresh = \"0s\"\n").unwrap();
    let served = bytes.clone();
    let server = Server::start(move |_| ok(served.clone(), "\"small\""));
    let (code, stderr, sarif) =
        home.check_vulnerable(&server.url, &["--config", policy.to_str().unwrap()]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "warning: the download from {} holds 8 advisories, far fewer than the {count} of the cached database {}: refused, the cached database is kept (`secgate db update --force` takes it anyway)",
            server.url,
            home.cache_db().display()
        )),
        "{stderr}"
    );
    assert!(sarif.contains("RUSTSEC-2021-0003"));
    home.assert_cache_loads();

    // --force takes it, unconditionally.
    let output = home
        .secgate(&server.url)
        .args(["db", "update", "--force"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("updated: 8 advisories"), "{stderr}");
    assert_eq!(home.record()["advisories"], 8);
    assert!(server
        .requests()
        .iter()
        .all(|r| header(r, "if-none-match").is_none()));
}

/// Withdrawn advisories stay in the database, but a few may go: a little
/// smaller is an update like any other.
#[test]
fn an_update_a_little_smaller_than_the_cache_is_taken() {
    let all: Vec<String> = std::fs::read_dir(fixture("advisory-db/crates"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().into_string().unwrap())
        .collect();
    let keep: Vec<&str> = all
        .iter()
        .map(String::as_str)
        .filter(|name| !["hyper", "regex"].contains(name))
        .collect();
    let smaller = fixture_subset(&keep);
    let bytes = archive_of(smaller.path());
    let home = Home::with_good_cache();
    let server = Server::start(move |_| ok(bytes.clone(), "\"v2\""));
    let (code, stderr) = home.update(&server.url);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(home.record()["advisories"], fixture_count() - 8);
}

#[test]
fn update_fetches_the_osv_archives_beside_the_rustsec_database() {
    let server = Server::start(|_| ok(fixture_archive(), "\"v1\""));
    let home = Home::new();
    let (code, stderr) = home.update(&server.url);
    assert_eq!(code, 0, "{stderr}");
    let archive = home.dir.path().join("cache/secgate/osv/PyPI/all.zip");
    assert_eq!(
        std::fs::read(&archive).unwrap(),
        std::fs::read(fixture("osv/PyPI/all.zip")).unwrap()
    );
    assert!(stderr.contains("PyPI advisories updated: "), "{stderr}");
    let record: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            home.dir
                .path()
                .join("cache/secgate/osv/PyPI/all.zip.fetch.json"),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(record["url"], format!("{}/PyPI/all.zip", home.osv.base()));
    assert_eq!(record["etag"], "\"osv-1\"");
    assert!(record["advisories"].as_u64().unwrap() > 90, "{record}");
    // npm's archive too, by default.
    assert_eq!(
        std::fs::read(home.dir.path().join("cache/secgate/osv/npm/all.zip")).unwrap(),
        std::fs::read(fixture("osv/npm/all.zip")).unwrap()
    );
    assert!(stderr.contains("npm advisories updated: "), "{stderr}");
    // The package index is built once per archive, at the fetch, for the
    // checks to reuse.
    let indexes = std::fs::read_dir(home.dir.path().join("cache/secgate/osv-index"))
        .unwrap()
        .count();
    assert_eq!(indexes, 2);

    // The next update asks conditionally.
    let (code, stderr) = home.update(&server.url);
    assert_eq!(code, 0, "{stderr}");
    let requests = home.osv.requests();
    let pypi = requests
        .iter()
        .rev()
        .find(|r| r[0].starts_with("get /pypi/"))
        .unwrap();
    assert_eq!(header(pypi, "if-none-match"), Some("\"osv-1\""));
    let npm = requests
        .iter()
        .rev()
        .find(|r| r[0].starts_with("get /npm/"))
        .unwrap();
    assert_eq!(header(npm, "if-none-match"), Some("\"osv-npm-1\""));
}

#[test]
fn a_bogus_osv_archive_keeps_the_previous_one_and_names_the_url() {
    let server = Server::start(|_| ok(fixture_archive(), "\"v1\""));
    let home = Home::new();
    let (code, stderr) = home.update(&server.url);
    assert_eq!(code, 0, "{stderr}");
    let archive = home.dir.path().join("cache/secgate/osv/PyPI/all.zip");
    let before = std::fs::read(&archive).unwrap();
    for (reply, says) in [
        (
            ok(b"<html>maintenance</html>".to_vec(), "\"x\""),
            "not a readable zip",
        ),
        (status("500 Internal Server Error", "down"), "HTTP 500"),
    ] {
        let bogus = Server::start(move |_| reply.clone());
        let output = home
            .secgate(&server.url)
            .env("SECGATE_OSV_URL", bogus.base())
            .args(["db", "update"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains(&format!("{}/PyPI/all.zip", bogus.base())),
            "{stderr}"
        );
        assert!(stderr.contains(says), "{says}: {stderr}");
        assert_eq!(
            std::fs::read(&archive).unwrap(),
            before,
            "the archive is kept"
        );
    }
    let leftovers: Vec<String> = std::fs::read_dir(archive.parent().unwrap())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
