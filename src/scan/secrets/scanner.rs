//! The secrets scanner proper: the compiled rules, the policy's value
//! allowlist and stopwords, and what they find in one file's content. A
//! secret's value never leaves here: findings carry a redacted form and
//! fingerprints only.

use crate::finding::{fingerprint, Finding, Location, RuleInfo, Scanner, SuppressionHint};
use crate::scan::secrets::rules::{Rule, RuleSet};
use crate::scan::secrets::{encoded, matcher, validation};
use crate::scan::settings::SecretSettings;
use std::collections::{BTreeMap, HashSet};

/// How a user marks a false positive, for every secret rule's help.
const FALSE_POSITIVE_HELP: &str = "Not a secret (a test value, an example)? Put a `secgate:allow` comment on its line or the line above, or add an [[ignore]] entry with its fingerprint (the result's secgate/v1 partial fingerprint) and a reason to secgate.toml.";

/// The comment that suppresses a finding on its line or the line below.
const INLINE_ALLOW: &[u8] = b"secgate:allow";

/// The compiled rules plus the policy's value allowlist.
pub struct SecretScanner {
    pub rules: RuleSet,
    allow_values: Option<regex::bytes::RegexSet>,
    stopwords: Vec<Vec<u8>>,
    /// With live validation on: the secrets its validators can check.
    pub collector: Option<validation::Collector>,
}

impl SecretScanner {
    pub fn builtin() -> SecretScanner {
        SecretScanner::for_settings(&SecretSettings::default())
            .expect("built-in rules compile (tested)")
    }

    pub fn for_settings(settings: &SecretSettings) -> Result<SecretScanner, String> {
        let rules = RuleSet::customized(&settings.custom_rules, &settings.disabled_rules)?;
        let allow_values = if settings.allow_values.is_empty() {
            None
        } else {
            Some(
                regex::bytes::RegexSet::new(&settings.allow_values)
                    .map_err(|e| format!("secrets.allowlist.values: {e}"))?,
            )
        };
        Ok(SecretScanner {
            rules,
            allow_values,
            stopwords: settings
                .stopwords
                .iter()
                .map(|w| w.to_lowercase().into_bytes())
                .collect(),
            collector: settings
                .validation
                .enabled
                .then(validation::Collector::default),
        })
    }

    fn allowed(&self, secret: &[u8]) -> bool {
        if self
            .allow_values
            .as_ref()
            .is_some_and(|set| set.is_match(secret))
        {
            return true;
        }
        if self.stopwords.is_empty() {
            return false;
        }
        let lower = secret.to_ascii_lowercase();
        self.stopwords
            .iter()
            .any(|word| memchr::memmem::find(&lower, word).is_some())
    }

    /// Findings in one file's content; `path` is already relative to the root.
    pub fn findings_in(&self, path: &str, content: &[u8]) -> Vec<Finding> {
        let mut findings = Vec::new();
        let mut seen: HashSet<(usize, &[u8])> = HashSet::new();
        let mut lines = LineIndex::new(content);
        let blobs = encoded::decoded_blobs(content);
        let decoded: Vec<(usize, Vec<matcher::RawMatch>)> = blobs
            .iter()
            .enumerate()
            .map(|(index, blob)| (index, matcher::find_secrets(&self.rules, &blob.text)))
            .filter(|(_, inner)| !inner.is_empty())
            .collect();
        // A context rule's match over base64 that decodes to a known
        // credential yields to that credential: one leak, one finding.
        let covered = |start: usize, end: usize| {
            decoded.iter().any(|(index, _)| {
                let blob = &blobs[*index];
                start < blob.end && blob.start < end
            })
        };
        for found in matcher::find_secrets_in(&self.rules, path, content) {
            let secret = &content[found.start..found.end];
            if self.allowed(secret) || !seen.insert((found.rule, secret)) {
                continue;
            }
            if self.rules.rules[found.rule].generic && covered(found.start, found.end) {
                continue;
            }
            let start = lines.position(found.start);
            let end = lines.position(found.end);
            let finding = self.finding(found.rule, path, secret, content, start, end, false);
            self.offer(&finding, secret, content, found.start);
            findings.push(finding);
        }
        for (index, inner) in &decoded {
            let blob = &blobs[*index];
            let start = lines.position(blob.start);
            let end = lines.position(blob.end);
            for found in inner {
                let secret = &blob.text[found.start..found.end];
                if self.allowed(secret) || !seen.insert((found.rule, secret)) {
                    continue;
                }
                let finding = self.finding(found.rule, path, secret, content, start, end, true);
                self.offer(&finding, secret, &blob.text, found.start);
                findings.push(finding);
            }
        }
        findings
    }

    fn offer(&self, finding: &Finding, secret: &[u8], content: &[u8], at: usize) {
        if let Some(collector) = &self.collector {
            collector.offer(&finding.rule_id, &finding.fingerprint, secret, content, at);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn finding(
        &self,
        rule_index: usize,
        path: &str,
        secret: &[u8],
        content: &[u8],
        (start_line, start_column, line_start): (u32, u32, usize),
        (end_line, end_column, _): (u32, u32, usize),
        base64_encoded: bool,
    ) -> Finding {
        let rule = &self.rules.rules[rule_index];
        let redacted = redact(secret);
        let mut properties = BTreeMap::new();
        properties.insert("redacted".to_string(), serde_json::json!(redacted));
        properties.insert("secret-length".to_string(), serde_json::json!(secret.len()));
        if base64_encoded {
            properties.insert("encoding".to_string(), serde_json::json!("base64"));
        }
        // A credential file's finding says why the file was read as one.
        let why = match &rule.file_kind {
            Some(kind) => {
                properties.insert("flagged-because".to_string(), serde_json::json!(kind));
                format!(" ({kind})")
            }
            None => String::new(),
        };
        Finding {
            scanner: Scanner::Secrets,
            tool: None,
            rule_id: rule.id.clone(),
            severity: Some(rule.severity),
            title: rule.title.clone(),
            message: format!(
                "{} found{}: {redacted}{why}",
                rule.title,
                if base64_encoded {
                    " (base64-encoded)"
                } else {
                    ""
                }
            ),
            location: Some(Location {
                path: path.to_string(),
                start_line,
                start_column,
                end_line,
                end_column,
            }),
            fingerprint: fingerprint(&[b"secrets", rule.id.as_bytes(), path.as_bytes(), secret]),
            content_fingerprint: Some(fingerprint(&[
                b"secrets-content",
                rule.id.as_bytes(),
                secret,
            ])),
            package: None,
            aliases: Vec::new(),
            suppression_hint: allows_inline(content, line_start)
                .then_some(SuppressionHint::InlineAllow),
            properties,
        }
    }
}

/// `secgate:allow` on the finding's line or on the line above it.
fn allows_inline(content: &[u8], line_start: usize) -> bool {
    let line_end =
        memchr::memchr(b'\n', &content[line_start..]).map_or(content.len(), |p| line_start + p);
    let previous_start = if line_start == 0 {
        0
    } else {
        memchr::memrchr(b'\n', &content[..line_start - 1]).map_or(0, |p| p + 1)
    };
    memchr::memmem::find(&content[previous_start..line_end], INLINE_ALLOW).is_some()
}

/// The first characters and the length, never the whole value: enough to
/// find it, not enough to use it.
pub fn redact(secret: &[u8]) -> String {
    let text = String::from_utf8_lossy(secret);
    let count = text.chars().count();
    let shown = if count >= 16 { 4 } else { count / 4 };
    let prefix: String = text.chars().take(shown).collect();
    format!("{prefix}… ({count} chars, redacted)")
}

/// Turns byte offsets into 1-based lines and code-point columns, moving
/// forward only (matches come sorted by offset).
struct LineIndex<'a> {
    content: &'a [u8],
    offset: usize,
    line: u32,
    line_start: usize,
}

impl<'a> LineIndex<'a> {
    fn new(content: &'a [u8]) -> Self {
        LineIndex {
            content,
            offset: 0,
            line: 1,
            line_start: 0,
        }
    }

    fn position(&mut self, offset: usize) -> (u32, u32, usize) {
        if offset < self.offset {
            *self = LineIndex::new(self.content);
        }
        for newline in memchr::memchr_iter(b'\n', &self.content[self.offset..offset]) {
            self.line += 1;
            self.line_start = self.offset + newline + 1;
        }
        self.offset = offset;
        let column = String::from_utf8_lossy(&self.content[self.line_start..offset])
            .chars()
            .count() as u32
            + 1;
        (self.line, column, self.line_start)
    }
}

pub fn rule_infos(rules: &RuleSet, findings: &[Finding]) -> Vec<RuleInfo> {
    let used: std::collections::BTreeSet<&str> =
        findings.iter().map(|f| f.rule_id.as_str()).collect();
    rules
        .rules
        .iter()
        .filter(|rule| used.contains(rule.id.as_str()))
        .map(rule_info)
        .collect()
}

fn rule_info(rule: &Rule) -> RuleInfo {
    let references = rule
        .references
        .iter()
        .map(|r| format!("- {r}"))
        .collect::<Vec<_>>()
        .join("\n");
    RuleInfo {
        id: rule.id.clone(),
        name: rule.id.clone(),
        short_description: rule.title.clone(),
        full_description: format!("A {} committed to the repository.", rule.title),
        help_text: format!(
            "A {} was found in the scanned files. Revoke it with its issuer first (it is compromised once pushed), then remove it from the code and from git history, and load it from a secret store or the environment instead. {FALSE_POSITIVE_HELP}",
            rule.title
        ),
        help_markdown: format!(
            "A **{}** was found in the scanned files.\n\n1. Revoke or rotate it with its issuer: anyone who could read the repository may have it.\n2. Remove it from the code and from git history.\n3. Load it at run time from a secret store or the environment.\n\n**Not a secret** (a test value, an example, a false positive)? Mark it where it is with a `secgate:allow` comment on its line or the line above; or add to `secgate.toml` an `[[ignore]]` entry with the result's `secgate/v1` fingerprint as `id` and a `reason`; or allow the value's pattern under `[secrets.allowlist] values`. Dismissing the alert in code scanning alone does not stop the gate failing.\n\nFormat references:\n{references}",
            rule.title
        ),
        help_uri: rule.references.first().cloned(),
        tags: vec!["security".to_string(), "secret".to_string(), "credential".to_string()],
        precision: if rule.min_entropy.is_some() { "medium" } else { "high" },
        score: None,
        severity: Some(rule.severity),
        properties: BTreeMap::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;

    #[test]
    fn base64_wrapped_token_is_found_at_the_blob() {
        use base64::Engine;
        let scanner = SecretScanner::builtin();
        let encoded = base64::engine::general_purpose::STANDARD
            // secgate:allow: a made-up credential for this test
            .encode("ghp_R3kq9ZbW2xLm7TvN4pQs8YdF1hJc6GaE0uKi");
        let content = format!("apiVersion: v1\nkind: Secret\ndata:\n  token: {encoded}\n");
        let findings = scanner.findings_in("k8s/secret.yaml", content.as_bytes());
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert_eq!(findings[0].location.as_ref().unwrap().start_line, 4);
        assert!(
            findings[0].message.contains("base64"),
            "{}",
            findings[0].message
        );
    }

    #[test]
    fn policy_allowlist_disable_and_custom_rules() {
        let token = b"T=ghp_R3kq9ZbW2xLm7TvN4pQs8YdF1hJc6GaE0uKi\nINTERNAL=acme_live_9f8e7d6c5b4a39281706\n";
        let policy = Policy::from_toml(
            "p.toml",
            r#"
[secrets]
disable-rules = ["github-personal-access-token"]
[[secrets.rules]]
id = "acme-live-key"
title = "ACME live key"
severity = "critical"
keywords = ["acme_live_"]
regex = '\b(?P<secret>acme_live_[0-9a-f]{20})\b'
examples = ["acme_live_9f8e7d6c5b4a39281706"]
negative-examples = ["acme_live_123"]
"#,
        )
        .unwrap();
        let scanner = SecretScanner::for_settings(&policy.scan.secrets).unwrap();
        let ids: Vec<String> = scanner
            .findings_in("a", token)
            .into_iter()
            .map(|f| f.rule_id)
            .collect();
        assert_eq!(ids, ["acme-live-key"]);

        let allow =
            Policy::from_toml("p.toml", "[secrets.allowlist]\nvalues = ['^ghp_R3kq']\n").unwrap();
        let scanner = SecretScanner::for_settings(&allow.scan.secrets).unwrap();
        assert!(scanner.findings_in("a", token).is_empty());
        let stop =
            Policy::from_toml("p.toml", "[secrets.allowlist]\nstopwords = ['R3KQ9']\n").unwrap();
        assert!(SecretScanner::for_settings(&stop.scan.secrets)
            .unwrap()
            .findings_in("a", token)
            .is_empty());
    }

    #[test]
    fn bad_custom_rule_and_unknown_disable_are_located() {
        let err = Policy::from_toml("p.toml", "[secrets]\nmax-file-size = 5\n\n[[secrets.rules]]\nid = \"x\"\ntitle = \"t\"\nseverity = \"high\"\nkeywords = [\"abc\"]\nregex = '(?P<secret>[a-'\n").unwrap_err();
        assert_eq!(err.line, 4, "{err}");
        assert!(err.message.contains("invalid regex"), "{err}");
        let err = Policy::from_toml("p.toml", "[secrets]\ndisable-rules = [\"no-such-rule\"]\n")
            .unwrap_err();
        assert_eq!(err.line, 2, "{err}");
        let err = Policy::from_toml("p.toml", "[secrets.allowlist]\nvalues = ['(']\n").unwrap_err();
        assert_eq!(err.line, 2, "{err}");
    }

    #[test]
    fn redaction_keeps_prefix_and_length_only() {
        let token = b"ghp_R3kq9ZbW2xLm7TvN4pQs8YdF1hJc6GaE0uKi";
        let redacted = redact(token);
        assert_eq!(redacted, "ghp_… (40 chars, redacted)");
        assert_eq!(redact(b"hunter2!"), "hu… (8 chars, redacted)");
    }

    #[test]
    fn findings_are_located_and_redacted() {
        let scanner = SecretScanner::builtin();
        let content = "line one\nconst T: &str = \"ghp_R3kq9ZbW2xLm7TvN4pQs8YdF1hJc6GaE0uKi\";\n";
        let findings = scanner.findings_in("src/lib.rs", content.as_bytes());
        assert_eq!(findings.len(), 1);
        let location = findings[0].location.as_ref().unwrap();
        assert_eq!((location.start_line, location.start_column), (2, 18));
        assert_eq!((location.end_line, location.end_column), (2, 58));
        let serialized = serde_json::to_string(&findings[0]).unwrap();
        assert!(
            !serialized.contains("R3kq9ZbW2xLm7TvN4pQs8YdF1hJc6GaE0uKi"),
            "{serialized}"
        );
    }

    #[test]
    fn fingerprint_survives_moved_lines_but_not_new_values() {
        let scanner = SecretScanner::builtin();
        let a = scanner.findings_in("a.env", b"T=ghp_R3kq9ZbW2xLm7TvN4pQs8YdF1hJc6GaE0uKi\n");
        let b = scanner.findings_in(
            "a.env",
            b"\n\n\nT=ghp_R3kq9ZbW2xLm7TvN4pQs8YdF1hJc6GaE0uKi\n",
        );
        // secgate:allow: a made-up credential for this test
        let c = scanner.findings_in("a.env", b"T=ghp_R3kq9ZbW2xLm7TvN4pQs8YdF1hJc6GaE0uKj\n");
        assert_eq!(a[0].fingerprint, b[0].fingerprint);
        assert_ne!(a[0].fingerprint, c[0].fingerprint);
    }

    #[test]
    fn inline_allow_on_line_or_line_above() {
        let scanner = SecretScanner::builtin();
        let same = scanner.findings_in(
            "a",
            b"T=ghp_R3kq9ZbW2xLm7TvN4pQs8YdF1hJc6GaE0uKi # secgate:allow\n",
        );
        let above = scanner.findings_in(
            "a",
            b"# secgate:allow test fixture\nT=ghp_R3kq9ZbW2xLm7TvN4pQs8YdF1hJc6GaE0uKi\n",
        );
        let two_above = scanner.findings_in(
            "a",
            b"# secgate:allow\n\nT=ghp_R3kq9ZbW2xLm7TvN4pQs8YdF1hJc6GaE0uKi\n",
        );
        assert_eq!(same[0].suppression_hint, Some(SuppressionHint::InlineAllow));
        assert_eq!(
            above[0].suppression_hint,
            Some(SuppressionHint::InlineAllow)
        );
        assert_eq!(two_above[0].suppression_hint, None);
    }
}
