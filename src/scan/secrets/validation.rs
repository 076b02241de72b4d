//! Live validation, only when asked (`--validate`): each distinct secret a
//! validator covers is sent once, in one read-only request, to its own
//! provider, and the answer (valid, invalid, unknown) goes on its findings.
//! The secret stays here: it is held as a `SecretValue`, sent only to its
//! provider's endpoint, and never put in a message, a log or an error.

pub mod request;
pub mod sigv4;
pub mod validators;

use crate::finding::Finding;
use crate::scan::settings::ValidationSettings;
use request::{Answer, Limits};
use reqwest::Url;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use validators::Validator;

/// The finding property holding the outcome: `valid`, `invalid` or `unknown`.
pub const VALIDATION: &str = "validation";
/// The finding property saying what the provider answered (who the
/// credential belongs to, or why the answer is unknown).
pub const VALIDATION_DETAIL: &str = "validation-detail";

/// What a provider said of a credential.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum State {
    Unknown,
    Invalid,
    Valid,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Valid => "valid",
            State::Invalid => "invalid",
            State::Unknown => "unknown",
        }
    }

    pub fn parse(text: &str) -> Option<State> {
        [State::Valid, State::Invalid, State::Unknown]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// A secret held for validation: never printed, cleared when dropped.
pub struct SecretValue(Vec<u8>);

impl SecretValue {
    fn text(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }
}

impl std::fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretValue(redacted)")
    }
}

impl Drop for SecretValue {
    fn drop(&mut self) {
        for byte in self.0.iter_mut() {
            // Volatile: the compiler may not drop a write nobody reads.
            unsafe { std::ptr::write_volatile(byte, 0) };
        }
    }
}

/// One finding's secret, with what its validator needs.
#[derive(Debug)]
pub struct Candidate {
    fingerprint: String,
    validator: usize,
    secret: SecretValue,
    companion: Option<SecretValue>,
}

/// Gathers the secrets worth validating while the scanner's threads work.
pub struct Collector {
    by_rule: HashMap<&'static str, usize>,
    found: Mutex<Vec<Candidate>>,
}

impl Default for Collector {
    fn default() -> Self {
        let mut by_rule = HashMap::new();
        for (index, validator) in validators::builtin().iter().enumerate() {
            for rule in &validator.rules {
                by_rule.insert(rule.as_str(), index);
            }
        }
        Collector {
            by_rule,
            found: Mutex::new(Vec::new()),
        }
    }
}

impl Collector {
    /// Offers a finding's secret, found at byte `at` of `content`.
    pub fn offer(
        &self,
        rule_id: &str,
        fingerprint: &str,
        secret: &[u8],
        content: &[u8],
        at: usize,
    ) {
        let Some(&index) = self.by_rule.get(rule_id) else {
            return;
        };
        let validator = &validators::builtin()[index];
        let companion = match &validator.companion {
            None => None,
            Some(companion) => {
                let nearest = companion
                    .pattern
                    .captures_iter(content)
                    .filter_map(|c| c.get(1))
                    .min_by_key(|m| m.start().abs_diff(at));
                match nearest {
                    Some(found) => Some(SecretValue(found.as_bytes().to_vec())),
                    // Nothing to pair it with: no request can tell.
                    None => return,
                }
            }
        };
        let candidate = Candidate {
            fingerprint: fingerprint.to_string(),
            validator: index,
            secret: SecretValue(secret.to_vec()),
            companion,
        };
        self.found
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(candidate);
    }

    pub fn take(&self) -> Vec<Candidate> {
        std::mem::take(&mut *self.found.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// A provider's answer about one credential.
#[derive(Clone, Debug)]
struct Outcome {
    state: State,
    detail: String,
}

/// Validates the candidates and marks their findings. Returns notes for
/// the run (how many were checked, with what result).
pub fn validate(
    findings: &mut [Finding],
    candidates: Vec<Candidate>,
    settings: &ValidationSettings,
) -> Vec<String> {
    // Only what is reported is checked (the history scan also reads the
    // lines a change removed, to recognise moved secrets).
    let reported: BTreeSet<&str> = findings.iter().map(|f| f.fingerprint.as_str()).collect();
    let candidates: Vec<Candidate> = candidates
        .into_iter()
        .filter(|c| reported.contains(c.fingerprint.as_str()))
        .collect();
    if candidates.is_empty() {
        return vec!["live validation: no finding has a validator".to_string()];
    }
    // A value two providers' rules both claim is not known to be either's:
    // sending it to both would hand one of them someone else's secret.
    let digests: Vec<[u8; 32]> = candidates
        .iter()
        .map(|c| Sha256::digest(&c.secret.0).into())
        .collect();
    let mut claimed_by: HashMap<[u8; 32], BTreeSet<usize>> = HashMap::new();
    for (digest, candidate) in digests.iter().zip(&candidates) {
        claimed_by
            .entry(*digest)
            .or_default()
            .insert(candidate.validator);
    }
    let mut ambiguous: Vec<String> = Vec::new();
    let mut single: Vec<Candidate> = Vec::with_capacity(candidates.len());
    for (digest, candidate) in digests.iter().zip(candidates) {
        if claimed_by[digest].len() == 1 {
            single.push(candidate);
        } else {
            ambiguous.push(candidate.fingerprint.clone());
        }
    }
    // One request per distinct (validator, secret, companion).
    let mut distinct: BTreeMap<[u8; 32], (Candidate, Vec<String>)> = BTreeMap::new();
    for candidate in single {
        let key = cache_key(&candidate);
        match distinct.get_mut(&key) {
            Some((_, fingerprints)) => fingerprints.push(candidate.fingerprint.clone()),
            None => {
                let fingerprint = candidate.fingerprint.clone();
                distinct.insert(key, (candidate, vec![fingerprint]));
            }
        }
    }
    let work: Vec<(Candidate, Vec<String>)> = distinct.into_values().collect();
    let outcomes = match run(work, settings) {
        Ok(outcomes) => outcomes,
        Err(error) => {
            return vec![format!("live validation could not start: {error}")];
        }
    };
    let mut by_fingerprint: HashMap<String, Outcome> = HashMap::new();
    let mut counts: BTreeMap<State, usize> = BTreeMap::new();
    for (fingerprints, outcome) in outcomes {
        *counts.entry(outcome.state).or_default() += 1;
        for fingerprint in fingerprints {
            // The same finding paired two ways: the strongest answer counts.
            let keep = by_fingerprint
                .get(&fingerprint)
                .is_none_or(|old| old.state < outcome.state);
            if keep {
                by_fingerprint.insert(fingerprint, outcome.clone());
            }
        }
    }
    for fingerprint in ambiguous {
        by_fingerprint
            .entry(fingerprint)
            .or_insert_with(|| Outcome {
                state: State::Unknown,
                detail: "not sent: rules of several providers match this value".to_string(),
            });
    }
    for finding in findings.iter_mut() {
        if let Some(outcome) = by_fingerprint.get(&finding.fingerprint) {
            mark(finding, outcome);
        }
    }
    let total: usize = counts.values().sum();
    let summary: Vec<String> = counts
        .iter()
        .rev()
        .map(|(state, n)| format!("{n} {}", state.as_str()))
        .collect();
    vec![format!(
        "live validation: {total} distinct credential(s) checked with their providers: {}",
        summary.join(", ")
    )]
}

fn mark(finding: &mut Finding, outcome: &Outcome) {
    finding.properties.insert(
        VALIDATION.to_string(),
        serde_json::json!(outcome.state.as_str()),
    );
    finding.properties.insert(
        VALIDATION_DETAIL.to_string(),
        serde_json::json!(outcome.detail),
    );
    finding.message = format!(
        "{}; validation: {} ({})",
        finding.message,
        outcome.state.as_str(),
        outcome.detail
    );
}

fn cache_key(candidate: &Candidate) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update((candidate.validator as u64).to_le_bytes());
    hasher.update((candidate.secret.0.len() as u64).to_le_bytes());
    hasher.update(&candidate.secret.0);
    if let Some(companion) = &candidate.companion {
        hasher.update(&companion.0);
    }
    hasher.finalize().into()
}

/// Sends every request on a runtime of its own (the scan runs on a blocking
/// thread), at most `concurrency` at once, paced per host.
fn run(
    work: Vec<(Candidate, Vec<String>)>,
    settings: &ValidationSettings,
) -> Result<Vec<(Vec<String>, Outcome)>, String> {
    let endpoints = resolve_endpoints(settings)?;
    let client = request::client(settings.timeout)?;
    let limits = Arc::new(Limits::new(
        settings.concurrency,
        settings.per_host_per_second,
        settings.timeout,
    ));
    let amz_date = time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "[year][month][day]T[hour][minute][second]Z"
        ))
        .map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the validation runtime: {e}"))?;
    runtime.block_on(async move {
        let mut tasks = tokio::task::JoinSet::new();
        for (order, (candidate, fingerprints)) in work.into_iter().enumerate() {
            let validator = &validators::builtin()[candidate.validator];
            let endpoint = endpoints[candidate.validator].clone();
            let (client, limits, amz_date) =
                (client.clone(), Arc::clone(&limits), amz_date.clone());
            tasks.spawn(async move {
                let outcome = check(
                    validator, &endpoint, &candidate, &client, &limits, &amz_date,
                )
                .await;
                (order, fingerprints, outcome)
            });
        }
        let mut done = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            if let Ok(result) = joined {
                done.push(result);
            }
        }
        done.sort_by_key(|(order, _, _)| *order);
        Ok(done.into_iter().map(|(_, f, o)| (f, o)).collect())
    })
}

/// Each validator's endpoint: the policy's override, else its own.
fn resolve_endpoints(settings: &ValidationSettings) -> Result<Vec<Url>, String> {
    validators::builtin()
        .iter()
        .map(
            |validator| match settings.endpoints.get(&validator.provider) {
                Some(text) => validators::parse_endpoint(text).map_err(|e| {
                    format!("secrets.validation.endpoints.{}: {e}", validator.provider)
                }),
                None => Ok(validator.endpoint.clone()),
            },
        )
        .collect()
}

async fn check(
    validator: &Validator,
    endpoint: &Url,
    candidate: &Candidate,
    client: &reqwest::Client,
    limits: &Limits,
    amz_date: &str,
) -> Outcome {
    let unknown = |why: String| Outcome {
        state: State::Unknown,
        detail: format!("{}: {why}", validator.title),
    };
    let Some(secret) = candidate.secret.text() else {
        return unknown("not text, not sent".to_string());
    };
    let companion = candidate.companion.as_ref().and_then(|c| c.text());
    let prepared = match request::prepare(validator, endpoint, secret, companion, amz_date) {
        Ok(prepared) => prepared,
        Err(why) => return unknown(format!("not sent: {why}")),
    };
    let answer = request::send(client, limits, prepared).await;
    let mut outcome = judge(validator, answer);
    // Belt and braces: no provider's answer may carry the secret out.
    if outcome.detail.contains(secret) {
        outcome.detail = outcome.detail.replace(secret, "[secret]");
    }
    outcome
}

fn judge(validator: &Validator, answer: Answer) -> Outcome {
    let title = &validator.title;
    let (status, body, redirected_to) = match answer {
        Answer::Failed(why) => {
            return Outcome {
                state: State::Unknown,
                detail: format!("{title}: {why}"),
            }
        }
        Answer::Response {
            status,
            body,
            redirected_to,
        } => (status, body, redirected_to),
    };
    let json: Option<serde_json::Value> = serde_json::from_slice(&body).ok();
    let json_holds = |conditions: &[validators::JsonCondition]| {
        json.as_ref()
            .is_some_and(|json| conditions.iter().all(|c| c.holds(json)))
    };
    let json_any = |conditions: &[validators::JsonCondition]| {
        json.as_ref()
            .is_some_and(|json| conditions.iter().any(|c| c.holds(json)))
    };
    if validator.valid.contains(&status)
        && (validator.valid_json.is_empty() || json_holds(&validator.valid_json))
    {
        let detail = match identity(validator, json.as_ref(), &body) {
            Some(who) => format!("{title} accepted it, as {who}"),
            None => format!("{title} accepted it"),
        };
        return Outcome {
            state: State::Valid,
            detail,
        };
    }
    if validator.invalid.contains(&status) || json_any(&validator.invalid_json) {
        return Outcome {
            state: State::Invalid,
            detail: format!("{title} rejected it (HTTP {status})"),
        };
    }
    let why = match (status, redirected_to) {
        (429, _) => "rate-limited (HTTP 429)".to_string(),
        (_, Some(target)) => format!("HTTP {status} redirect to {target}, not followed"),
        (500..=599, _) => format!("the provider failed (HTTP {status})"),
        _ => format!("unexpected answer (HTTP {status})"),
    };
    Outcome {
        state: State::Unknown,
        detail: format!("{title}: {why}"),
    }
}

/// Who the credential belongs to, as the provider said: the fields the
/// validator names, cleaned of control characters and kept short.
fn identity(
    validator: &Validator,
    json: Option<&serde_json::Value>,
    body: &[u8],
) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(json) = json {
        for pointer in &validator.identity {
            match json.pointer(pointer) {
                Some(serde_json::Value::String(text)) => parts.push(text.clone()),
                Some(serde_json::Value::Number(n)) => parts.push(n.to_string()),
                _ => {}
            }
        }
    }
    if let Some(pattern) = &validator.identity_pattern {
        let text = String::from_utf8_lossy(body);
        if let Some(found) = pattern.captures(&text).and_then(|c| c.get(1)) {
            parts.push(found.as_str().to_string());
        }
    }
    let joined: String = parts
        .join(" / ")
        .chars()
        .filter(|c| !c.is_control())
        .take(120)
        .collect();
    (!joined.trim().is_empty()).then_some(joined)
}

#[cfg(test)]
mod tests;
