//! One validator's request for one secret: built from the data, held to the
//! endpoint's host, sent under the run's limits, and its answer read.

use super::sigv4;
use super::validators::{is_loopback, Signing, Validator, SECRET_PATH};
use base64::Engine;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use reqwest::header::{HeaderName, HeaderValue, AUTHORIZATION};
use reqwest::Url;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Characters left as they are in a path or query value: RFC 3986's
/// unreserved set plus `:` (a Telegram bot token's separator).
const PATH_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b':');

/// The most of an answer read: enough for any identity, not a download.
const MAX_BODY: usize = 64 * 1024;

/// A request ready to send. Its Debug never shows header values or the URL.
pub struct Prepared {
    pub method: reqwest::Method,
    pub url: Url,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Option<Vec<u8>>,
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} request to {} (redacted)",
            self.method,
            origin(&self.url)
        )
    }
}

/// `scheme://host:port` of a URL: what a request may be sent to, never its path.
pub fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// Builds `validator`'s request for `secret` against `endpoint`. The URL's
/// origin is checked to be the endpoint's: a secret can never move the
/// request to another host. `amz_date` is `YYYYMMDDTHHMMSSZ`, for signing.
pub fn prepare(
    validator: &Validator,
    endpoint: &Url,
    secret: &str,
    companion: Option<&str>,
    amz_date: &str,
) -> Result<Prepared, String> {
    if endpoint.scheme() != "https" && !is_loopback(endpoint) {
        return Err(format!("{} is not https", origin(endpoint)));
    }
    let companion_text = companion.unwrap_or("");
    let fill = |template: &str| {
        template
            .replace("{companion}", companion_text)
            .replace("{secret}", secret)
    };
    let path = if validator.path == SECRET_PATH {
        let own = Url::parse(secret).map_err(|_| "the secret is not a URL".to_string())?;
        match own.query() {
            Some(query) => format!("{}?{query}", own.path()),
            None => own.path().to_string(),
        }
    } else {
        let encode = |value: &str| utf8_percent_encode(value, PATH_VALUE).to_string();
        validator
            .path
            .replace("{companion}", &encode(companion_text))
            .replace("{secret}", &encode(secret))
    };
    let base = endpoint.as_str().trim_end_matches('/');
    let url = Url::parse(&format!("{base}{path}"))
        .map_err(|_| "the request URL does not parse".to_string())?;
    if origin(&url) != origin(endpoint) {
        return Err("the request would leave the provider's host".to_string());
    }
    let mut headers = Vec::new();
    for (name, template) in &validator.headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("bad header name {name}"))?;
        headers.push((name, sensitive(&fill(template))?));
    }
    if let Some([user, password]) = &validator.basic_auth {
        let pair = format!("{}:{}", fill(user), fill(password));
        let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
        headers.push((AUTHORIZATION, sensitive(&format!("Basic {encoded}"))?));
    }
    let body = validator.body.as_ref().map(|b| fill(b).into_bytes());
    if validator.signing == Some(Signing::AwsSigV4) {
        let host = match url.port() {
            Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
            None => url.host_str().unwrap_or_default().to_string(),
        };
        let content_type = validator
            .headers
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("content-type"))
            .map(|(_, value)| value.as_str())
            .unwrap_or_default();
        let signed = sigv4::SignedRequest {
            method: validator.method.as_str(),
            host: &host,
            path: url.path(),
            query: url.query().unwrap_or(""),
            content_type,
            body: body.as_deref().unwrap_or_default(),
            region: "us-east-1",
            service: "sts",
            amz_date,
        };
        let authorization = sigv4::authorization(&signed, companion_text, secret.as_bytes());
        headers.push((AUTHORIZATION, sensitive(&authorization)?));
        headers.push((
            HeaderName::from_static("x-amz-date"),
            HeaderValue::from_str(amz_date).map_err(|_| "bad date".to_string())?,
        ));
    }
    Ok(Prepared {
        method: validator.method.clone(),
        url,
        headers,
        body,
    })
}

fn sensitive(value: &str) -> Result<HeaderValue, String> {
    let mut value = HeaderValue::from_str(value)
        .map_err(|_| "the secret cannot be sent in a header".to_string())?;
    value.set_sensitive(true);
    Ok(value)
}

/// What came back: enough to judge it, never the request.
#[derive(Debug)]
pub enum Answer {
    Response {
        status: u16,
        body: Vec<u8>,
        /// The origin a redirect not followed pointed to.
        redirected_to: Option<String>,
    },
    /// No answer: the reason, free of the URL and the secret.
    Failed(String),
}

/// The limits every request of a run shares.
pub struct Limits {
    concurrency: tokio::sync::Semaphore,
    /// The earliest instant the next request to each origin may start.
    next_slot: std::sync::Mutex<HashMap<String, Instant>>,
    interval: Duration,
    pub timeout: Duration,
}

impl Limits {
    pub fn new(concurrency: usize, per_host_per_second: u32, timeout: Duration) -> Limits {
        Limits {
            concurrency: tokio::sync::Semaphore::new(concurrency.max(1)),
            next_slot: std::sync::Mutex::new(HashMap::new()),
            interval: Duration::from_secs(1) / per_host_per_second.max(1),
            timeout,
        }
    }

    /// Waits for this origin's next free slot and reserves it.
    async fn pace(&self, origin: &str) {
        let start = {
            let mut slots = self.next_slot.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            let slot = slots.entry(origin.to_string()).or_insert(now);
            let start = (*slot).max(now);
            *slot = start + self.interval;
            start
        };
        tokio::time::sleep_until(start.into()).await;
    }
}

/// The client every validation of a run shares: no redirect followed to
/// another origin (the secret's headers would go with it), proxies from
/// the environment as for every other download.
pub fn client(timeout: Duration) -> Result<reqwest::Client, String> {
    crate::db::download::client_builder()
        .user_agent(concat!(
            "secgate/",
            env!("CARGO_PKG_VERSION"),
            " (secret validation)"
        ))
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::custom(|attempt| {
            let first = attempt.previous().first().map(origin);
            if attempt.previous().len() > 3 || first.as_deref() != Some(&origin(attempt.url())) {
                attempt.stop()
            } else {
                attempt.follow()
            }
        }))
        .build()
        .map_err(|e| {
            format!(
                "cannot set up HTTP: {}",
                crate::db::download::error_chain(&e)
            )
        })
}

/// Sends one request under the limits.
pub async fn send(client: &reqwest::Client, limits: &Limits, prepared: Prepared) -> Answer {
    let _permit = limits.concurrency.acquire().await;
    limits.pace(&origin(&prepared.url)).await;
    let mut request = client.request(prepared.method, prepared.url);
    for (name, value) in prepared.headers {
        request = request.header(name, value);
    }
    if let Some(body) = prepared.body {
        request = request.body(body);
    }
    let mut response = match request.send().await {
        Ok(response) => response,
        Err(error) => return Answer::Failed(describe(error, limits.timeout)),
    };
    let status = response.status().as_u16();
    let redirected_to = response
        .status()
        .is_redirection()
        .then(|| {
            response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .and_then(|l| response.url().join(l).ok())
                .map(|target| origin(&target))
        })
        .flatten();
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                body.extend_from_slice(&chunk);
                if body.len() >= MAX_BODY {
                    body.truncate(MAX_BODY);
                    break;
                }
            }
            Ok(None) => break,
            Err(error) => return Answer::Failed(describe(error, limits.timeout)),
        }
    }
    Answer::Response {
        status,
        body,
        redirected_to,
    }
}

/// reqwest's error without the URL (which may hold the secret).
fn describe(error: reqwest::Error, timeout: Duration) -> String {
    if error.is_timeout() {
        format!("no answer within {}s", timeout.as_secs_f32())
    } else if error.is_connect() {
        "could not connect".to_string()
    } else {
        crate::db::download::error_chain(&error.without_url())
    }
}

#[cfg(test)]
mod tests {
    use super::super::validators::parse;
    use super::*;

    fn validator(extra: &str) -> Validator {
        let text = format!(
            "[[validator]]\nprovider = \"x\"\ntitle = \"X\"\nrules = [\"r\"]\nendpoint = \"https://api.example.com\"\nvalid = [200]\ndocs = \"https://example.com\"\n{extra}"
        );
        parse(&text).unwrap().remove(0)
    }

    #[test]
    fn a_secret_in_the_path_is_encoded_and_cannot_change_the_host() {
        let v = validator("path = \"/bot{secret}/getMe\"\n");
        let endpoint = Url::parse("https://api.example.com").unwrap();
        let ok = prepare(&v, &endpoint, "123:AAb-c_d", None, "").unwrap();
        assert_eq!(
            ok.url.as_str(),
            "https://api.example.com/bot123:AAb-c_d/getMe"
        );
        let hostile = prepare(&v, &endpoint, "x@evil.example/../../", None, "").unwrap();
        assert_eq!(hostile.url.host_str(), Some("api.example.com"));
        assert!(!hostile.url.path().contains("/../"), "{}", hostile.url);
        // The loader refuses a path without a leading `/`; prepare() holds
        // the host even so.
        let mut bare = validator("path = \"/{secret}\"\n");
        bare.path = "{secret}".to_string();
        let at = prepare(&bare, &endpoint, "@evil.example", None, "");
        assert!(at.is_err() || at.unwrap().url.host_str() == Some("api.example.com"));
    }

    #[test]
    fn a_webhook_url_is_sent_to_the_endpoint_not_its_own_host() {
        let v = validator("path = \"{secret-path}\"\n");
        let endpoint = Url::parse("http://127.0.0.1:9999").unwrap();
        let p = prepare(
            &v,
            &endpoint,
            "https://discord.com/api/webhooks/1/abc",
            None,
            "",
        )
        .unwrap();
        assert_eq!(p.url.as_str(), "http://127.0.0.1:9999/api/webhooks/1/abc");
        assert!(format!("{p:?}").contains("127.0.0.1:9999"));
        assert!(!format!("{p:?}").contains("abc"));
    }

    #[test]
    fn plain_http_only_to_this_machine() {
        let v = validator("path = \"/me\"\nheaders = { Authorization = \"Bearer {secret}\" }\n");
        let remote = Url::parse("http://api.example.com").unwrap();
        assert!(prepare(&v, &remote, "s3cr3t", None, "")
            .unwrap_err()
            .contains("not https"));
        let local = Url::parse("http://localhost:1234/base").unwrap();
        let p = prepare(&v, &local, "s3cr3t", None, "").unwrap();
        assert_eq!(p.url.as_str(), "http://localhost:1234/base/me");
        assert!(p.headers[0].1.is_sensitive());
    }

    #[test]
    fn basic_auth_and_companions_fill_in() {
        let v = validator(
            "path = \"/Accounts/{companion}.json\"\nbasic-auth = [\"{companion}\", \"{secret}\"]\ncompanion = { pattern = '(AC[0-9a-f]{4})', what = \"account\" }\n",
        );
        let endpoint = Url::parse("https://api.example.com").unwrap();
        let p = prepare(&v, &endpoint, "tok", Some("AC12ab"), "").unwrap();
        assert_eq!(p.url.path(), "/Accounts/AC12ab.json");
        let expected = base64::engine::general_purpose::STANDARD.encode("AC12ab:tok");
        assert_eq!(
            p.headers[0].1.to_str().unwrap(),
            format!("Basic {expected}")
        );
    }
}
