//! HTTP for the advisory databases: one client (rustls with ring), a
//! conditional GET streamed into a temporary file under a size bound, and
//! errors that say what went wrong without repeating the URL.

use crate::error::DbError;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

/// What the previous fetch of the same URL was told, for a conditional request.
#[derive(Clone, Copy, Debug, Default)]
pub struct Validators<'a> {
    pub etag: Option<&'a str>,
    pub last_modified: Option<&'a str>,
}

/// What the server answered.
#[derive(Debug)]
pub enum Fetched {
    /// 304 to a conditional request: what is cached is current.
    NotModified,
    /// The body, in a temporary file in the directory asked for.
    Body {
        file: tempfile::NamedTempFile,
        etag: Option<String>,
        last_modified: Option<String>,
    },
}

/// GETs `url` into a temporary file named `.{name}.download-*` in `dir`;
/// conditional when `validators` are given. A body over `max_bytes` (as
/// announced or as received) is an error, as is a 304 to an unconditional
/// request.
pub async fn get(
    url: &str,
    timeout: Duration,
    validators: Option<Validators<'_>>,
    dir: &Path,
    name: &str,
    max_bytes: u64,
) -> Result<Fetched, DbError> {
    let fetch = |message: String| DbError::Fetch {
        url: url.to_string(),
        message,
    };
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| DbError::Io {
            path: path.clone(),
            source,
        }
    };
    let too_large = || {
        fetch(format!(
            "the archive is larger than {} MiB",
            max_bytes >> 20
        ))
    };
    let client = client(timeout).map_err(|e| fetch(error_chain(&e)))?;
    let mut request = client.get(url);
    if let Some(validators) = validators {
        if let Some(etag) = validators.etag {
            request = request.header(reqwest::header::IF_NONE_MATCH, etag);
        }
        if let Some(modified) = validators.last_modified {
            request = request.header(reqwest::header::IF_MODIFIED_SINCE, modified);
        }
    }
    let mut response = request
        .send()
        .await
        .map_err(|e| fetch(describe(e, timeout)))?;
    let status = response.status();
    if status == reqwest::StatusCode::NOT_MODIFIED {
        return match validators {
            Some(_) => Ok(Fetched::NotModified),
            None => Err(fetch(
                "HTTP 304 Not Modified to an unconditional request".to_string(),
            )),
        };
    }
    if !status.is_success() {
        return Err(fetch(format!("HTTP {status}")));
    }
    if response.content_length().is_some_and(|n| n > max_bytes) {
        return Err(too_large());
    }
    let header = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
            .map(str::to_string)
    };
    let etag = header(reqwest::header::ETAG);
    let last_modified = header(reqwest::header::LAST_MODIFIED);

    // Into a temporary file beside the cache, never into the cache itself.
    let mut file = tempfile::Builder::new()
        .prefix(&format!(".{name}.download-"))
        .tempfile_in(dir)
        .map_err(io(dir))?;
    let mut received: u64 = 0;
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| fetch(describe(e, timeout)))?
    {
        received += chunk.len() as u64;
        if received > max_bytes {
            return Err(too_large());
        }
        file.write_all(&chunk).map_err(io(file.path()))?;
    }
    file.flush().map_err(io(file.path()))?;
    Ok(Fetched::Body {
        file,
        etag,
        last_modified,
    })
}

/// A client builder for every HTTP client secgate makes: ring as the TLS
/// crypto provider and secgate's user agent.
pub fn client_builder() -> reqwest::ClientBuilder {
    // reqwest is built without a crypto provider (aws-lc-rs is a heavy C
    // build): use ring. Err only means one is installed already.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().user_agent(concat!("secgate/", env!("CARGO_PKG_VERSION")))
}

pub fn client(timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
    client_builder()
        .connect_timeout(timeout)
        // Per read, not for the whole download: a slow link is fine, a stall is not.
        .read_timeout(timeout)
        .build()
}

/// The error without reqwest's copy of the URL: `DbError` names it once.
pub fn describe(error: reqwest::Error, timeout: Duration) -> String {
    if error.is_timeout() {
        format!("timed out after {}s without data", timeout.as_secs())
    } else {
        error_chain(&error.without_url())
    }
}

/// `error: cause: cause`, skipping causes that repeat their parent's text.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
