//! Planted fake credentials in every common file type are found at the right
//! line with the right rule; decoys (placeholders, env lookups, templates,
//! digests) stay quiet.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

/// (rule id, line) of one expected finding.
type Expected = &'static [(&'static str, u32)];

/// (path, content, expected findings) — every token below is random and fake.
const PLANTED: &[(&str, &str, Expected)] = &[
    (
        ".env",
        // secgate:allow: a made-up credential for this test
        "# app settings\nDATABASE_URL=postgres://app:Wq9zR4mLk2vT7x@db.internal:5432/prod\n",
        &[("postgres-connection-uri", 2)],
    ),
    (
        "deploy/config.yaml",
        // secgate:allow: a made-up credential for this test
        "service:\n  name: billing\n  slack_token: xoxb-2938475610-8374659201-Hq7Lm2Xn9Pz4Kt6Rw1Yv3Bs8\n",
        &[("slack-bot-token", 3)],
    ),
    (
        "settings.json",
        // secgate:allow: a made-up credential for this test
        "{\n  \"region\": \"us-east-1\",\n  \"aws_access_key_id\": \"AKIAQ2BXN4KFSL7TZP3M\"\n}\n",
        &[("aws-access-key-id", 3)],
    ),
    (
        "app.py",
        // secgate:allow: a made-up credential for this test
        "import os\n\nSTRIPE_KEY = \"sk_live_51HqLm2Xn9Pz4Kt6Rw1Yv3Bs8Tq7Zc0Df5Gh\"\n",
        &[("stripe-live-secret-key", 3)],
    ),
    (
        "web/client.ts",
        // secgate:allow: a made-up credential for this test
        "export const config = {\n  apiBase: \"https://api.example.invalid\",\n  openaiKey: \"sk-proj-u8jzPde0IgxLd6GncfBAepfJBd0Kh8oOOL8dKLzdT3BlbkFJocJ2isAjIhKtJ0RlgLKOmxgJTeKdNnFRIBXuDL7D\",\n};\n",
        &[("openai-project-api-key", 3)],
    ),
    // secgate:allow: a made-up credential for this test
    ("main.go", "package main\n\nconst token = \"glpat-Xk9mP2vL7qR4tZ8wN3bQ\"\n", &[("gitlab-pat", 3)]),
    (
        "src/lib.rs",
        // secgate:allow: a made-up credential for this test
        "// test helper\npub const GITHUB: &str = \"ghp_R3kq9ZbW2xLm7TvN4pQs8YdF1hJc6GaE0uKi\";\n",
        &[("github-personal-access-token", 2)],
    ),
    (
        "infra/main.tf",
        // secgate:allow: a made-up credential for this test
        "provider \"aws\" {\n  region     = \"eu-west-1\"\n  access_key = \"AKIAZ7QWERTY2ASDFG3H\"\n}\n",
        &[("aws-access-key-id", 3)],
    ),
    (
        "Dockerfile",
        // secgate:allow: a made-up credential for this test
        "FROM alpine:3.20\nENV NPM_TOKEN=npm_Zq8Lr4Tk9Wm2Hb7Xn3Pv6Jc1Fs5Dg0Ay8Eu4\n",
        &[("npm-access-token", 2)],
    ),
    (
        "app.properties",
        // secgate:allow: a made-up credential for this test
        "app.name=demo\nsendgrid.key=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\n",
        &[("sendgrid-api-key", 2)],
    ),
    (
        "notebooks/analysis.ipynb",
        // secgate:allow: a made-up credential for this test
        "{\n \"cells\": [\n  {\n   \"cell_type\": \"code\",\n   \"source\": [\n    \"import anthropic\\n\",\n    \"client = anthropic.Anthropic(api_key=\\\"sk-ant-api03-UMFxFkM-R5Kjp1vRt_1fjORS-6ilI8ihN5KXSc7Tvo-hBKqFYY-kv5ZJr3J1TWDtkwtDDb_xHKas1VOqg6YYZYn9ZhyiAAA\\\")\\n\"\n   ]\n  }\n ]\n}\n",
        &[("anthropic-api-key", 7)],
    ),
    (
        "k8s/secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: gh\ndata:\n  token: Z2hwX1Iza3E5WmJXMnhMbTdUdk40cFFzOFlkRjFoSmM2R2FFMHVLaQ==\n",
        &[("github-personal-access-token", 6)],
    ),
    (
        "db.py",
        "DB_HOST = \"db.internal\"\ndb_password = \"Zq8Lr4Tk9Wm2Hb7Xn3Pv\"\n",
        &[("generic-secret-assignment", 2)],
    ),
    // Files that are credentials by nature: short, plain values count.
    (
        "home/.netrc",
        // secgate:allow: a made-up credential for this test
        "machine api.acme.invalid\n  login ci\n  password kitten7\n",
        &[("netrc-file-password", 3)],
    ),
    // secgate:allow: a made-up credential for this test
    ("config/master.key", "9f3b1c7e2d8a4f60b5e1c3d7a9f2e4b6\n", &[("rails-master-key", 1)]),
    (
        "wordpress/wp-config.php",
        // secgate:allow: a made-up credential for this test
        "<?php\ndefine( 'DB_NAME', 'wp' );\ndefine( 'DB_PASSWORD', 'k3Yx#2pA' );\n",
        &[("wordpress-db-password", 3)],
    ),
    (
        "k8s/db-secret.yaml",
        // secgate:allow: a made-up credential for this test
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ndata:\n  password: VHE3IWtkOXhXeg==\n",
        &[("generic-kubernetes-secret-value", 6)],
    ),
    // Connection strings, command lines and other assignment syntaxes.
    (
        "deploy.sh",
        // secgate:allow: a made-up credential for this test
        "#!/bin/sh\ncurl -u deploy:Tq7kd9x!Wz https://nexus.acme.invalid/\n",
        &[("cli-password-argument", 2)],
    ),
    (
        "appsettings.json",
        // secgate:allow: a made-up credential for this test
        "{\n  \"Db\": \"Server=tcp:db.acme.invalid,1433;Database=app;User ID=app;Password=Tq7!kd9xW;\"\n}\n",
        &[("connection-string-password", 2)],
    ),
    (
        "settings.xml",
        // secgate:allow: a made-up credential for this test
        "<settings>\n  <server>\n    <password>\n      Tq7!kd9xWz\n    </password>\n  </server>\n</settings>\n",
        &[("generic-xml-secret-element", 4)],
    ),
];

/// Values that look like credentials to a careless scanner, but are not.
const DECOYS: &str = r#"import os
password = os.environ["DB_PASSWORD"]
token = get_token_from_vault()
api_key = "${{ secrets.API_KEY }}"
AWS_KEY = "AKIAIOSFODNN7EXAMPLE"
secret_key = settings.SECRET_KEY
url = "postgres://user:${DB_PASS}@localhost/db"
checksum = "3c5e1a9a646d36c3599cd173a41282daf47c44583ad367b8e6837255952e5c67"
GITHUB_TOKEN = "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
stripe_key = "sk_live_<your key here>"
let token = lexer.next_token();
password: "{{ .Values.password }}"
"#;

fn scan(dir: &Path) -> BTreeSet<(String, String, u64)> {
    let sarif = dir.join("out.sarif");
    let output = common::secgate(dir)
        .arg("secrets")
        .arg(dir.join("repo"))
        .arg("--sarif")
        .arg(&sarif)
        .output()
        .unwrap();
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let document: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&sarif).unwrap()).unwrap();
    document["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let location = &r["locations"][0]["physicalLocation"];
            (
                r["ruleId"].as_str().unwrap().to_string(),
                location["artifactLocation"]["uri"]
                    .as_str()
                    .unwrap()
                    .to_string(),
                location["region"]["startLine"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn planted_credentials_found_at_the_right_line_and_decoys_quiet() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    let mut expected = BTreeSet::new();
    for (path, content, findings) in PLANTED {
        let file = repo.join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, content).unwrap();
        for (rule, line) in *findings {
            expected.insert((rule.to_string(), path.to_string(), *line as u64));
        }
    }
    std::fs::write(repo.join("decoys.py"), DECOYS).unwrap();
    let found = scan(dir.path());
    let missing: Vec<_> = expected.difference(&found).collect();
    let unexpected: Vec<_> = found.difference(&expected).collect();
    assert!(
        missing.is_empty() && unexpected.is_empty(),
        "missing: {missing:#?}\nunexpected: {unexpected:#?}"
    );
}
