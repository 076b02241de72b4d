//! Live validation (`--validate`) against a real HTTP server on 127.0.0.1
//! standing in for the providers through `[secrets.validation.endpoints]`:
//! live, revoked, rate-limited, slow, failing, redirecting and unreachable
//! providers; nothing sent without `--validate` or under `--offline`; the
//! secret sent only to its own provider and never printed or written.

mod common;
use common::http::{Reply, Server};
use common::secgate;

use secgate::scan::secrets::matcher::find_secrets;
use secgate::scan::secrets::rules::RuleSet;
use secgate::scan::secrets::validation::validators;
use serde_json::Value;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A made-up GitHub token whose last 8 characters say how the stand-in
/// provider answers it. Built here, so this file holds no whole token.
fn github_token(behaviour: &str) -> String {
    assert_eq!(behaviour.len(), 8);
    format!("ghp_{}{behaviour}", "Zq8Lr4Tk9Wm2Hb7Xn3Pv6Jc1Fs5D")
}

/// The stand-in GitHub: `/github/user`, answering by the token's tag.
fn github(other_host: &str) -> Server {
    let other_host = other_host.to_string();
    Server::start(move |request| {
        let token = request
            .header("authorization")
            .and_then(|a| a.strip_prefix("Bearer "))
            .unwrap_or_default();
        if request.target != "/github/user" {
            return Reply::json(404, "{}");
        }
        match &token[token.len().saturating_sub(8)..] {
            "LIVE0001" => Reply::json(200, r#"{"login":"octocat","id":1}"#),
            "REVOKED1" => Reply::json(401, r#"{"message":"Bad credentials"}"#),
            "LIMITED1" => Reply::json(429, r#"{"message":"slow down"}"#),
            "SLOWSLOW" => Reply::json(200, r#"{"login":"late"}"#).after(Duration::from_secs(4)),
            "BROKEN01" => Reply::json(500, "oops"),
            "MOVED001" => Reply::redirect(&format!("{other_host}/user")),
            _ => Reply::json(400, "{}"),
        }
    })
}

/// A repository and a HOME of one test.
struct Scene {
    repo: tempfile::TempDir,
    home: tempfile::TempDir,
}

impl Scene {
    fn new() -> Scene {
        Scene {
            repo: tempfile::tempdir().unwrap(),
            home: tempfile::tempdir().unwrap(),
        }
    }
}

/// `path` holding `GITHUB_TOKEN=` a token the stand-in answers by `tag`.
fn token_file(dir: &Path, path: &str, tag: &str) {
    write(dir, path, &format!("GITHUB_TOKEN={}\n", github_token(tag)));
}

/// Sets `line` (`key = value`) in the policy's `[secrets.validation]` table.
fn add_to_policy(dir: &Path, line: &str) {
    let policy = std::fs::read_to_string(dir.join("secgate.toml")).unwrap();
    let key = line.split(" = ").next().unwrap();
    let kept: Vec<&str> = policy
        .lines()
        .filter(|l| !l.starts_with(&format!("{key} = ")))
        .collect();
    let table = "[secrets.validation]\n";
    let text = format!("{}\n", kept.join("\n"));
    write(
        dir,
        "secgate.toml",
        &text.replacen(table, &format!("{table}{line}\n"), 1),
    );
}

fn write(dir: &Path, path: &str, text: &str) {
    let file = dir.join(path);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(file, text).unwrap();
}

fn policy(dir: &Path, endpoints: &[(&str, String)]) {
    let mut text =
        String::from("[secrets.validation]\ntimeout = \"2s\"\n[secrets.validation.endpoints]\n");
    for (provider, url) in endpoints {
        text.push_str(&format!("{provider} = \"{url}\"\n"));
    }
    write(dir, "secgate.toml", &text);
}

/// Runs `secgate secrets` with `args`; returns (exit code, SARIF results, stdout+stderr).
fn run(dir: &Path, home: &Path, args: &[&str]) -> (i32, Vec<Value>, String) {
    let sarif = home.join("out.sarif");
    let output = secgate(home)
        .current_dir(dir)
        .args(["secrets", "."])
        .arg("--sarif")
        .arg(&sarif)
        .args(args)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let results = std::fs::read(&sarif)
        .ok()
        .map(|bytes| {
            let value: Value = serde_json::from_slice(&bytes).unwrap();
            value["runs"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|run| run["results"].as_array().cloned().unwrap_or_default())
                .collect()
        })
        .unwrap_or_default();
    (output.status.code().unwrap(), results, text)
}

fn result_in<'a>(results: &'a [Value], path: &str) -> &'a Value {
    results
        .iter()
        .find(|r| r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == path)
        .unwrap_or_else(|| panic!("no result in {path}: {results:#?}"))
}

#[test]
fn live_revoked_and_unanswered_credentials_are_graded_by_the_answer() {
    let elsewhere = Server::start(|_| Reply::json(200, r#"{"login":"thief"}"#));
    let server = github(&elsewhere.base);
    let scene = Scene::new();
    let (dir, home) = (scene.repo.path(), scene.home.path());
    let cases = [
        ("live.env", "LIVE0001"),
        ("again/live.env", "LIVE0001"),
        ("revoked.env", "REVOKED1"),
        ("limited.env", "LIMITED1"),
        ("slow.env", "SLOWSLOW"),
        ("broken.env", "BROKEN01"),
        ("moved.env", "MOVED001"),
    ];
    for (path, tag) in cases {
        write(dir, path, &format!("GITHUB_TOKEN={}\n", github_token(tag)));
    }
    // secgate:allow: a made-up GitLab token, built so this file holds none whole
    let gitlab_token = format!("glpat-{}", "Xy7Kp2Lm9Qr4Tv8Wz3Nb");
    write(dir, "gitlab.env", &format!("GITLAB_TOKEN={gitlab_token}\n"));
    policy(
        dir,
        &[
            ("github", format!("{}/github", server.base)),
            // Nothing listens on port 1: the provider is unreachable.
            ("gitlab", "http://127.0.0.1:1".to_string()),
        ],
    );
    // The slow provider answers after 4 s.
    add_to_policy(dir, "timeout = \"1s\"");

    let (code, results, text) = run(dir, home, &["--validate"]);
    assert_eq!(code, 1, "a live token fails the gate\n{text}");

    let live = result_in(&results, "live.env");
    assert_eq!(live["properties"]["validation"], "valid");
    assert_eq!(live["properties"]["severity"], "critical");
    assert_eq!(live["properties"]["fails-gate"], true);
    let message = live["message"]["text"].as_str().unwrap();
    assert!(
        message.contains("validation: valid (GitHub accepted it, as octocat)"),
        "{message}"
    );
    assert_eq!(
        result_in(&results, "again/live.env")["properties"]["validation"],
        "valid"
    );

    let revoked = result_in(&results, "revoked.env");
    assert_eq!(revoked["properties"]["validation"], "invalid");
    assert_eq!(revoked["properties"]["severity"], "low");
    assert_eq!(revoked["properties"]["fails-gate"], false);

    for (path, why, rule_severity) in [
        ("limited.env", "rate-limited", "critical"),
        ("slow.env", "no answer within 1s", "critical"),
        ("broken.env", "HTTP 500", "critical"),
        ("moved.env", "not followed", "critical"),
        ("gitlab.env", "could not connect", "high"),
    ] {
        let result = result_in(&results, path);
        assert_eq!(result["properties"]["validation"], "unknown", "{path}");
        // The rule's own severity stands.
        assert_eq!(result["properties"]["severity"], rule_severity, "{path}");
        let detail = result["properties"]["validation-detail"].as_str().unwrap();
        assert!(detail.contains(why), "{path}: {detail}");
    }

    // One request per distinct token; none followed the redirect.
    let requests = server.requests();
    let tags: Vec<String> = requests
        .iter()
        .map(|r| r.header("authorization").unwrap_or_default().to_string())
        .collect();
    assert_eq!(requests.len(), 6, "{tags:#?}");
    assert!(elsewhere.requests().is_empty(), "the redirect was followed");
    for request in &requests {
        assert_eq!(request.method, "GET");
        assert_eq!(
            request.header("host"),
            Some(&server.base["http://".len()..])
        );
    }
    assert!(!text.contains(&github_token("LIVE0001")));
}

#[test]
fn a_revoked_credential_alone_passes_and_its_grade_is_the_policys() {
    let server = github("http://127.0.0.1:1");
    let scene = Scene::new();
    let (dir, home) = (scene.repo.path(), scene.home.path());
    token_file(dir, "revoked.env", "REVOKED1");
    policy(dir, &[("github", format!("{}/github", server.base))]);
    let (code, results, text) = run(dir, home, &["--validate"]);
    assert_eq!(code, 0, "{text}");
    assert_eq!(results[0]["properties"]["validation"], "invalid");

    add_to_policy(dir, "invalid = \"keep\"");
    let (code, results, _) = run(dir, home, &["--validate"]);
    assert_eq!(code, 1);
    assert_eq!(results[0]["properties"]["severity"], "critical");
}

#[test]
fn nothing_is_sent_without_validate_or_under_offline() {
    let server = github("http://127.0.0.1:1");
    let scene = Scene::new();
    let (dir, home) = (scene.repo.path(), scene.home.path());
    token_file(dir, "live.env", "LIVE0001");
    policy(dir, &[("github", format!("{}/github", server.base))]);
    let (code, results, _) = run(dir, home, &[]);
    assert_eq!(code, 1);
    assert!(results[0]["properties"].get("validation").is_none());
    let (_, results, text) = run(dir, home, &["--validate", "--offline", "--verbose"]);
    assert!(results[0]["properties"].get("validation").is_none());
    assert!(text.contains("live validation off"), "{text}");
    assert!(server.requests().is_empty(), "{:#?}", server.requests());

    // `enabled = true` in the policy validates without the flag.
    add_to_policy(dir, "enabled = true");
    let (_, results, _) = run(dir, home, &[]);
    assert_eq!(results[0]["properties"]["validation"], "valid");
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn a_baselined_secret_that_is_live_again_is_reported() {
    let live = Arc::new(AtomicBool::new(false));
    let answer = Arc::clone(&live);
    let server = Server::start(move |_| {
        if answer.load(Ordering::SeqCst) {
            Reply::json(200, r#"{"login":"octocat"}"#)
        } else {
            Reply::json(401, "{}")
        }
    });
    let scene = Scene::new();
    let (dir, home) = (scene.repo.path(), scene.home.path());
    token_file(dir, "app.env", "ROTATE01");
    policy(dir, &[("github", format!("{}/github", server.base))]);
    let baseline = home.join("baseline.json");
    let recorded = secgate(home)
        .current_dir(dir)
        .args([
            "baseline",
            ".",
            "--scanners",
            "secrets",
            "--validate",
            "--output",
        ])
        .arg(&baseline)
        .output()
        .unwrap();
    assert!(recorded.status.success(), "{recorded:?}");
    let file = std::fs::read_to_string(&baseline).unwrap();
    assert!(file.contains("\"validation\": \"invalid\""), "{file}");

    let baseline_arg = baseline.display().to_string();
    let (code, _, _) = run(dir, home, &["--validate", "--baseline", &baseline_arg]);
    assert_eq!(code, 0, "still revoked: an existing finding");
    live.store(true, Ordering::SeqCst);
    let (code, results, text) = run(dir, home, &["--validate", "--baseline", &baseline_arg]);
    assert_eq!(code, 1, "{text}");
    assert!(results[0].get("suppressions").is_none());
    assert!(text.contains("in the baseline is live again"), "{text}");
}

// secgate:allow: a made-up AWS access key id
const AWS_KEY_ID: &str = "AKIAQ3EGRZ7HY2KP5VBN";

#[test]
fn aws_keys_are_checked_by_a_signature_never_by_the_secret() {
    let server = Server::start(|request| {
        let auth = request.header("authorization").unwrap_or_default();
        let body = String::from_utf8_lossy(&request.body);
        if request.method == "POST"
            && request.target == "/"
            && body == "Action=GetCallerIdentity&Version=2011-06-15"
            && auth.starts_with(&format!("AWS4-HMAC-SHA256 Credential={AWS_KEY_ID}/"))
            && auth.contains("/us-east-1/sts/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=")
            && request.header("x-amz-date").is_some()
        {
            Reply::json(200, "<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/deploy</Arn></GetCallerIdentityResult></GetCallerIdentityResponse>")
        } else {
            Reply::json(403, "<Error><Code>InvalidClientTokenId</Code></Error>")
        }
    });
    let scene = Scene::new();
    let (dir, home) = (scene.repo.path(), scene.home.path());
    // A made-up secret key, split so that this file holds none whole.
    let (id, secret) = (
        AWS_KEY_ID,
        format!("{}{}", "q8Vd3Kf9Lm2Xr7Tb4Nw6", "Hc1Zp5Js0Ga8Ye3Uo7Ri"),
    );
    write(
        dir,
        ".env",
        &format!("AWS_ACCESS_KEY_ID={id}\nAWS_SECRET_ACCESS_KEY={secret}\n"),
    );
    policy(dir, &[("aws", server.base.clone())]);
    let (_, results, text) = run(dir, home, &["--validate"]);
    let found = results
        .iter()
        .find(|r| r["ruleId"] == "aws-secret-access-key")
        .unwrap_or_else(|| panic!("{results:#?}\n{text}"));
    assert_eq!(found["properties"]["validation"], "valid", "{found:#?}");
    assert!(found["message"]["text"]
        .as_str()
        .unwrap()
        .contains("arn:aws:iam::123456789012:user/deploy"));
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert!(
        !requests[0].everything().contains(&secret),
        "the secret key was sent"
    );
}

/// Every validated provider's planted credential (the rules' own examples)
/// goes only to that provider's endpoint, and appears nowhere else.
#[test]
fn a_secret_goes_only_to_its_own_provider_and_is_never_printed() {
    let server = Server::start(|_| Reply::json(200, r#"{"ok":true,"login":"someone"}"#));
    let rules = RuleSet::builtin().unwrap();
    let scene = Scene::new();
    let (dir, home) = (scene.repo.path(), scene.home.path());
    let mut planted: Vec<(String, String)> = Vec::new(); // (provider, secret)
    let mut endpoints = Vec::new();
    for validator in validators::builtin() {
        endpoints.push((
            validator.provider.as_str(),
            format!("{}/{}", server.base, validator.provider),
        ));
        let rule = &validator.rules[0];
        let index = rules.rules.iter().position(|r| &r.id == rule).unwrap();
        let example = rules.rules[index].examples[0].clone();
        let hit = find_secrets(&rules, example.as_bytes())
            .into_iter()
            .find(|m| m.rule == index)
            .unwrap_or_else(|| panic!("{rule}: example not found"));
        planted.push((
            validator.provider.clone(),
            example[hit.start..hit.end].to_string(),
        ));
        write(
            dir,
            &format!("{}/config.txt", validator.provider),
            &format!("{example}\n"),
        );
    }
    policy(dir, &endpoints);
    // Every stand-in is one host here: do not pace them as one provider.
    add_to_policy(dir, "per-host-rate = 100");
    let report = home.join("report.json");
    let output = secgate(home)
        .current_dir(dir)
        .args([
            "secrets",
            ".",
            "--validate",
            "--verbose",
            "--format",
            "github",
            "--sarif",
        ])
        .arg(home.join("out.sarif"))
        .arg("--report")
        .arg(&report)
        .output()
        .unwrap();
    let mut written = String::from_utf8_lossy(&output.stdout).into_owned();
    written.push_str(&String::from_utf8_lossy(&output.stderr));
    written.push_str(&std::fs::read_to_string(home.join("out.sarif")).unwrap());
    let report_text = std::fs::read_to_string(&report).unwrap();
    let report_json: Value = serde_json::from_str(&report_text).unwrap();
    let states: Vec<&str> = report_json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["validation"].as_str())
        .collect();
    assert!(
        states.contains(&"valid"),
        "the gate report carries validation: {states:?}"
    );
    written.push_str(&report_text);
    let requests = server.requests();
    let mut expected = 0;
    for (validator, (provider, secret)) in validators::builtin().iter().zip(&planted) {
        assert!(
            !written.contains(secret.as_str()),
            "{provider}: the secret was printed or written"
        );
        // A webhook URL is sent as its path, to the endpoint.
        let needle = match validator.path.as_str() {
            validators::SECRET_PATH => secret
                .split_once("/api/")
                .map(|(_, p)| p)
                .unwrap()
                .to_string(),
            _ => secret.clone(),
        };
        let carried: Vec<_> = requests
            .iter()
            .filter(|r| {
                r.everything().contains(&needle)
                    || r.header("authorization")
                        .is_some_and(|a| decoded_basic(a).contains(&needle))
            })
            .collect();
        for request in &carried {
            assert!(
                request.target.starts_with(&format!("/{provider}/")),
                "{provider}'s secret went to {}",
                request.target
            );
        }
        let example = dir.join(provider).join("config.txt");
        let paired = validator
            .companion
            .as_ref()
            .is_none_or(|c| c.pattern.is_match(&std::fs::read(example).unwrap()));
        if validator.signing.is_none() && paired {
            expected += 1;
            assert_eq!(
                carried.len(),
                1,
                "{provider}: {} requests carried it",
                carried.len()
            );
        } else {
            assert!(
                carried.is_empty(),
                "{provider}: sent though signed or unpaired"
            );
        }
    }
    assert!(expected >= 40, "{expected} providers checked");
}

fn decoded_basic(header: &str) -> String {
    use base64::Engine;
    header
        .strip_prefix("Basic ")
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

#[test]
fn validate_only_rechecks_an_earlier_runs_findings() {
    let server = github("http://127.0.0.1:1");
    let scene = Scene::new();
    let (dir, home) = (scene.repo.path(), scene.home.path());
    token_file(dir, "rotated.env", "REVOKED1");
    token_file(dir, "removed.env", "LIVE0001");
    policy(dir, &[("github", format!("{}/github", server.base))]);
    let earlier = home.join("earlier.sarif");
    let first = secgate(home)
        .current_dir(dir)
        .args(["secrets", ".", "--sarif"])
        .arg(&earlier)
        .output()
        .unwrap();
    assert_eq!(first.status.code(), Some(1));
    assert!(server.requests().is_empty());

    // The live one was removed; a new one appeared since (not re-checked).
    std::fs::remove_file(dir.join("removed.env")).unwrap();
    token_file(dir, "new.env", "LIMITED1");
    let earlier_arg = earlier.display().to_string();
    let (code, results, text) = run(dir, home, &["--validate-only", &earlier_arg, "--verbose"]);
    assert_eq!(code, 0, "the rotated token is dead\n{text}");
    assert_eq!(results.len(), 1, "{results:#?}");
    assert_eq!(
        result_in(&results, "rotated.env")["properties"]["validation"],
        "invalid"
    );
    assert!(text.contains("re-checking 2 finding(s)"), "{text}");
    assert!(text.contains("1 no longer found"), "{text}");
    assert_eq!(server.requests().len(), 1);

    let broken = home.join("broken.sarif");
    std::fs::write(&broken, "{\"runs\": 3}").unwrap();
    let broken_arg = broken.display().to_string();
    let (code, _, text) = run(dir, home, &["--validate-only", &broken_arg]);
    assert_eq!(code, 2);
    assert!(text.contains("broken.sarif: not a SARIF file"), "{text}");
}

/// The README documents every validated provider and the request it gets.
#[test]
fn the_readme_lists_every_validator_and_its_request() {
    let readme = std::fs::read_to_string(common::repo_root().join("README.md")).unwrap();
    for validator in validators::builtin() {
        let path = match validator.path.as_str() {
            validators::SECRET_PATH => "/api/webhooks/…",
            path => path,
        };
        let endpoint = validator.endpoint.as_str().trim_end_matches('/');
        let row = format!(
            "| `{}` | {} | `{} {endpoint}{path}` |",
            validator.provider, validator.title, validator.method
        );
        assert!(readme.contains(&row), "README lacks: {row}");
    }
}

/// A secret deleted in a later commit is still a leak: `--history` reports
/// it and validates it; the commit that removed it sends nothing more.
#[test]
fn history_findings_are_validated_once_and_removed_lines_are_not_sent() {
    let server = github("http://127.0.0.1:1");
    let scene = Scene::new();
    let (dir, home) = (scene.repo.path(), scene.home.path());
    common::git(dir, &["init", "-q", "-b", "main"]);
    token_file(dir, "app.env", "LIVE0001");
    common::git(dir, &["add", "."]);
    common::git(dir, &["commit", "-qm", "add"]);
    write(dir, "app.env", "GITHUB_TOKEN=${GITHUB_TOKEN}\n");
    policy(dir, &[("github", format!("{}/github", server.base))]);
    common::git(dir, &["add", "."]);
    common::git(dir, &["commit", "-qm", "remove"]);
    let (code, results, text) = run(dir, home, &["--history", "--validate"]);
    assert_eq!(code, 1, "{text}");
    assert_eq!(results.len(), 1, "{results:#?}");
    assert_eq!(results[0]["properties"]["validation"], "valid");
    assert_eq!(server.requests().len(), 1);
}
