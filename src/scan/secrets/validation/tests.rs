use super::validators::parse;
use super::*;

fn validator(extra: &str) -> Validator {
    let text = format!(
        "[[validator]]\nprovider = \"x\"\ntitle = \"X\"\nrules = [\"r\"]\nendpoint = \"https://api.example.com\"\npath = \"/me\"\nheaders = {{ A = \"{{secret}}\" }}\ndocs = \"https://example.com\"\n{extra}"
    );
    parse(&text).unwrap().remove(0)
}

fn response(status: u16, body: &str) -> Answer {
    Answer::Response {
        status,
        body: body.as_bytes().to_vec(),
        redirected_to: None,
    }
}

#[test]
fn statuses_and_json_conditions_decide() {
    let slack = validator(
        "valid = [200]\nvalid-json = { \"/ok\" = true }\ninvalid-json = { \"/error\" = [\"invalid_auth\", \"token_revoked\"] }\nidentity = [\"/user\", \"/team\"]\n",
    );
    let ok = judge(
        &slack,
        response(200, r#"{"ok":true,"user":"ci-bot","team":"Acme"}"#),
    );
    assert_eq!(ok.state, State::Valid);
    assert_eq!(ok.detail, "X accepted it, as ci-bot / Acme");
    let revoked = judge(
        &slack,
        response(200, r#"{"ok":false,"error":"token_revoked"}"#),
    );
    assert_eq!(revoked.state, State::Invalid);
    let limited = judge(
        &slack,
        response(200, r#"{"ok":false,"error":"ratelimited"}"#),
    );
    assert_eq!(limited.state, State::Unknown);
    assert_eq!(
        judge(&slack, response(429, "")).detail,
        "X: rate-limited (HTTP 429)"
    );
    assert!(judge(&slack, response(503, "")).detail.contains("HTTP 503"));
    let moved = judge(
        &slack,
        Answer::Response {
            status: 302,
            body: Vec::new(),
            redirected_to: Some("http://127.0.0.1:1".to_string()),
        },
    );
    assert_eq!(moved.state, State::Unknown);
    assert!(moved.detail.contains("not followed"), "{}", moved.detail);
    let failed = judge(&slack, Answer::Failed("no answer within 10s".to_string()));
    assert_eq!(
        (failed.state, failed.detail.as_str()),
        (State::Unknown, "X: no answer within 10s")
    );
}

#[test]
fn an_identity_is_short_and_clean_and_xml_is_read_by_pattern() {
    let aws = validator("valid = [200]\nidentity-pattern = '<Arn>([^<]{1,200})</Arn>'\n");
    let body = "<GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/ci</Arn></GetCallerIdentityResult>";
    let outcome = judge(&aws, response(200, body));
    assert_eq!(
        outcome.detail,
        "X accepted it, as arn:aws:iam::123456789012:user/ci"
    );
    let noisy = validator("valid = [200]\nidentity = [\"/login\"]\n");
    let long = format!(r#"{{"login":"a\u0007b{}"}}"#, "x".repeat(500));
    let detail = judge(&noisy, response(200, &long)).detail;
    assert!(!detail.contains('\u{7}') && detail.len() < 200, "{detail}");
}

#[test]
fn a_secret_value_never_prints() {
    let value = SecretValue(b"ghp_abc".to_vec());
    assert_eq!(format!("{value:?}"), "SecretValue(redacted)");
    let candidate = Candidate {
        fingerprint: "f".to_string(),
        validator: 0,
        secret: value,
        companion: None,
    };
    assert!(!format!("{candidate:?}").contains("ghp_abc"));
}

#[test]
fn the_collector_pairs_a_secret_with_the_nearest_companion() {
    let collector = Collector::default();
    // secgate:allow: made-up AWS keys for this test
    let content = b"AKIAAAAAAAAAAAAAAAAA far\n\n\nid = AKIAIOSFODNN7EXAMPLE\nsecret = wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY\n";
    let at = content.windows(4).position(|w| w == b"wJal").unwrap();
    collector.offer(
        "aws-secret-access-key",
        "fp",
        b"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        content,
        at,
    );
    collector.offer("aws-secret-access-key", "fp2", b"x", b"no id here", 0);
    collector.offer("no-validator-rule", "fp3", b"x", b"", 0);
    let taken = collector.take();
    assert_eq!(taken.len(), 1);
    assert_eq!(
        taken[0].companion.as_ref().unwrap().0,
        b"AKIAIOSFODNN7EXAMPLE"
    );
}

#[test]
fn a_value_two_providers_claim_is_sent_to_neither() {
    let github = validators::builtin()
        .iter()
        .position(|v| v.provider == "github")
        .unwrap();
    let heroku = validators::builtin()
        .iter()
        .position(|v| v.provider == "heroku")
        .unwrap();
    let candidate = |fingerprint: &str, validator: usize| Candidate {
        fingerprint: fingerprint.to_string(),
        validator,
        secret: SecretValue(b"0123456789abcdef".to_vec()),
        companion: None,
    };
    let mut findings: Vec<Finding> = ["a", "b"]
        .iter()
        .map(|fp| Finding {
            scanner: crate::finding::Scanner::Secrets,
            tool: None,
            rule_id: "r".to_string(),
            severity: None,
            title: String::new(),
            message: "found".to_string(),
            location: None,
            fingerprint: fp.to_string(),
            content_fingerprint: None,
            package: None,
            aliases: Vec::new(),
            suppression_hint: None,
            properties: Default::default(),
        })
        .collect();
    let settings = ValidationSettings {
        enabled: true,
        // Nothing may be sent: a closed port would say "could not connect".
        endpoints: [
            ("github", "http://127.0.0.1:9"),
            ("heroku", "http://127.0.0.1:9"),
        ]
        .into_iter()
        .map(|(p, u)| (p.to_string(), u.to_string()))
        .collect(),
        ..ValidationSettings::default()
    };
    validate(
        &mut findings,
        vec![candidate("a", github), candidate("b", heroku)],
        &settings,
    );
    for finding in &findings {
        assert_eq!(finding.properties[VALIDATION], "unknown");
        assert!(
            finding.message.contains("several providers"),
            "{}",
            finding.message
        );
    }
}
