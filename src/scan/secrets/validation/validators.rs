//! Validators as data: `config/secret-validators.toml`, read and checked
//! into the request each provider is asked and how its answer is read.

use reqwest::Url;
use serde::Deserialize;
use std::collections::BTreeMap;

pub const BUILTIN_VALIDATORS_TOML: &str = include_str!("../../../../config/secret-validators.toml");
const BUILTIN_VALIDATORS_NAME: &str = "config/secret-validators.toml";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ValidatorFile {
    validator: Vec<RawValidator>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawValidator {
    provider: String,
    title: String,
    rules: Vec<String>,
    endpoint: String,
    #[serde(default = "get")]
    method: String,
    path: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    basic_auth: Option<[String; 2]>,
    body: Option<String>,
    signing: Option<String>,
    companion: Option<RawCompanion>,
    valid: Vec<u16>,
    #[serde(default)]
    invalid: Vec<u16>,
    #[serde(default)]
    valid_json: BTreeMap<String, toml::Value>,
    #[serde(default)]
    invalid_json: BTreeMap<String, toml::Value>,
    #[serde(default)]
    identity: Vec<String>,
    identity_pattern: Option<String>,
    docs: String,
}

fn get() -> String {
    "GET".to_string()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawCompanion {
    pattern: String,
    what: String,
}

/// How the request is authenticated beyond its headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signing {
    /// AWS Signature Version 4 for STS in us-east-1.
    AwsSigV4,
}

/// A second value a request needs, found in the same file as the secret.
#[derive(Debug)]
pub struct Companion {
    pub pattern: regex::bytes::Regex,
    pub what: String,
}

/// One JSON condition: the value at `pointer` is one of `values`.
#[derive(Debug)]
pub struct JsonCondition {
    pub pointer: String,
    pub values: Vec<serde_json::Value>,
}

impl JsonCondition {
    pub fn holds(&self, body: &serde_json::Value) -> bool {
        body.pointer(&self.pointer)
            .is_some_and(|found| self.values.contains(found))
    }
}

#[derive(Debug)]
pub struct Validator {
    pub provider: String,
    pub title: String,
    pub rules: Vec<String>,
    /// The default endpoint (an override replaces it).
    pub endpoint: Url,
    pub method: reqwest::Method,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub basic_auth: Option<[String; 2]>,
    pub body: Option<String>,
    pub signing: Option<Signing>,
    pub companion: Option<Companion>,
    pub valid: Vec<u16>,
    pub invalid: Vec<u16>,
    pub valid_json: Vec<JsonCondition>,
    pub invalid_json: Vec<JsonCondition>,
    pub identity: Vec<String>,
    pub identity_pattern: Option<regex::Regex>,
    pub docs: String,
}

/// The path placeholder that stands for a URL-shaped secret's own path.
pub const SECRET_PATH: &str = "{secret-path}";

/// The built-in validators, in file order.
pub fn builtin() -> &'static [Validator] {
    static BUILTIN: std::sync::OnceLock<Vec<Validator>> = std::sync::OnceLock::new();
    BUILTIN.get_or_init(|| {
        parse(BUILTIN_VALIDATORS_TOML).expect("built-in validators are valid (tested)")
    })
}

/// The provider names the endpoints table accepts.
pub fn providers() -> Vec<&'static str> {
    builtin().iter().map(|v| v.provider.as_str()).collect()
}

pub fn parse(text: &str) -> Result<Vec<Validator>, String> {
    let file: ValidatorFile =
        toml::from_str(text).map_err(|e| format!("{BUILTIN_VALIDATORS_NAME}: {e}"))?;
    let mut validators: Vec<Validator> = Vec::new();
    for raw in file.validator {
        let provider = raw.provider.clone();
        let validator = compile(raw).map_err(|e| format!("validator `{provider}`: {e}"))?;
        if validators.iter().any(|v| v.provider == validator.provider) {
            return Err(format!("validator `{provider}` is defined twice"));
        }
        for rule in &validator.rules {
            if let Some(other) = validators.iter().find(|v| v.rules.contains(rule)) {
                return Err(format!(
                    "rule `{rule}` has two validators: `{}` and `{provider}`",
                    other.provider
                ));
            }
        }
        validators.push(validator);
    }
    Ok(validators)
}

fn compile(raw: RawValidator) -> Result<Validator, String> {
    let endpoint = parse_endpoint(&raw.endpoint)?;
    if endpoint.scheme() != "https" {
        return Err(format!("endpoint `{}` is not https", raw.endpoint));
    }
    let method = match raw.method.as_str() {
        "GET" => reqwest::Method::GET,
        "POST" => reqwest::Method::POST,
        other => return Err(format!("method `{other}`: expected GET or POST")),
    };
    if !raw.path.starts_with('/') && raw.path != SECRET_PATH {
        return Err(format!("path `{}` must start with `/`", raw.path));
    }
    let mentions = |text: &str| text.contains("{secret}");
    let secret_sent = raw.path.contains("{secret") // {secret} or {secret-path}
        || raw.headers.values().any(|v| mentions(v))
        || raw.basic_auth.iter().flatten().any(|v| mentions(v));
    let signing = match raw.signing.as_deref() {
        None => None,
        Some("aws-sigv4") => Some(Signing::AwsSigV4),
        Some(other) => return Err(format!("signing `{other}`: expected aws-sigv4")),
    };
    if !secret_sent && signing.is_none() {
        return Err("the secret is used nowhere in the request".to_string());
    }
    if raw.body.as_deref().is_some_and(mentions) {
        return Err("the secret cannot go in the body".to_string());
    }
    let companion = match raw.companion {
        None => None,
        Some(c) => {
            let pattern = regex::bytes::Regex::new(&c.pattern)
                .map_err(|e| format!("companion pattern: {e}"))?;
            if pattern.captures_len() != 2 {
                return Err("companion pattern needs exactly one group".to_string());
            }
            Some(Companion {
                pattern,
                what: c.what,
            })
        }
    };
    let uses_companion = raw.path.contains("{companion}")
        || raw.headers.values().any(|v| v.contains("{companion}"))
        || raw
            .basic_auth
            .iter()
            .flatten()
            .any(|v| v.contains("{companion}"))
        || signing.is_some();
    if uses_companion != companion.is_some() {
        return Err(
            "a companion is needed exactly when the request uses {companion} or signing"
                .to_string(),
        );
    }
    if raw.valid.is_empty() {
        return Err("`valid` names no status".to_string());
    }
    let identity_pattern = match raw.identity_pattern {
        None => None,
        Some(p) => Some(regex::Regex::new(&p).map_err(|e| format!("identity-pattern: {e}"))?),
    };
    for pointer in raw
        .identity
        .iter()
        .chain(raw.valid_json.keys())
        .chain(raw.invalid_json.keys())
    {
        if !pointer.starts_with('/') {
            return Err(format!("`{pointer}` is not a JSON pointer"));
        }
    }
    Ok(Validator {
        provider: raw.provider,
        title: raw.title,
        rules: raw.rules,
        endpoint,
        method,
        path: raw.path,
        headers: raw.headers.into_iter().collect(),
        basic_auth: raw.basic_auth,
        body: raw.body,
        signing,
        companion,
        valid: raw.valid,
        invalid: raw.invalid,
        valid_json: conditions(raw.valid_json)?,
        invalid_json: conditions(raw.invalid_json)?,
        identity: raw.identity,
        identity_pattern,
        docs: raw.docs,
    })
}

fn conditions(table: BTreeMap<String, toml::Value>) -> Result<Vec<JsonCondition>, String> {
    table
        .into_iter()
        .map(|(pointer, value)| {
            let values = match value {
                toml::Value::Array(values) => values,
                one => vec![one],
            };
            let values = values
                .into_iter()
                .map(|v| serde_json::to_value(v).map_err(|e| format!("{pointer}: {e}")))
                .collect::<Result<_, _>>()?;
            Ok(JsonCondition { pointer, values })
        })
        .collect()
}

/// An endpoint: an absolute http(s) URL with a host, no credentials, query
/// or fragment. Its path, if any, is a base the request path goes under.
pub fn parse_endpoint(text: &str) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|e| format!("`{text}` is not a URL: {e}"))?;
    if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() {
        return Err(format!("`{text}` is not an http(s) URL with a host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "`{}` carries credentials",
            crate::text::mask_url_credentials(text)
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("`{text}` has a query or fragment"));
    }
    Ok(url)
}

/// Whether `url` points at this machine: only then may an endpoint be plain http.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::secrets::rules::builtin_rule_ids;

    #[test]
    fn the_builtin_validators_are_valid_and_name_real_rules() {
        let validators = builtin();
        assert!(validators.len() >= 25, "{} providers", validators.len());
        let ids = builtin_rule_ids();
        for validator in validators {
            assert_eq!(
                validator.endpoint.scheme(),
                "https",
                "{}",
                validator.provider
            );
            assert!(
                validator.docs.starts_with("https://"),
                "{}",
                validator.provider
            );
            for rule in &validator.rules {
                assert!(
                    ids.contains(rule),
                    "{}: no rule `{rule}`",
                    validator.provider
                );
            }
        }
    }

    #[test]
    fn a_validator_that_leaks_or_misplaces_the_secret_is_refused() {
        let base = r#"[[validator]]
provider = "x"
title = "X"
rules = ["r"]
endpoint = "https://api.example.com"
valid = [200]
docs = "https://example.com"
"#;
        let with = |extra: &str| parse(&format!("{base}{extra}")).map(|_| ()).unwrap_err();
        assert!(with("path = \"/me\"\n").contains("used nowhere"));
        assert!(
            with("path = \"/me\"\nheaders = { A = \"{secret}\" }\nbody = \"{secret}\"\n")
                .contains("body")
        );
        assert!(
            with("path = \"/{companion}\"\nheaders = { A = \"{secret}\" }\n").contains("companion")
        );
        let http = parse(
            &base
                .replace("https://api", "http://api")
                .replace("valid = [200]", "path = \"/{secret}\"\nvalid = [200]"),
        );
        assert!(http.unwrap_err().contains("not https"));
    }

    #[test]
    fn endpoints_are_checked() {
        assert!(parse_endpoint("https://ghe.example.com/api/v3").is_ok());
        assert!(parse_endpoint("ftp://example.com").is_err());
        assert!(parse_endpoint("https://user:pw@example.com")
            .unwrap_err()
            .contains("credentials"));
        assert!(!parse_endpoint("https://user:pw@example.com")
            .unwrap_err()
            .contains("pw"));
        assert!(parse_endpoint("https://example.com/?a=1").is_err());
        assert!(is_loopback(
            &parse_endpoint("http://127.0.0.1:8080").unwrap()
        ));
        assert!(is_loopback(&parse_endpoint("http://[::1]:8080").unwrap()));
        assert!(!is_loopback(&parse_endpoint("http://10.0.0.1").unwrap()));
    }
}
