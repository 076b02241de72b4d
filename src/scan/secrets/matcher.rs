//! Matching rules against bytes: keyword prefilter first, regexes only in
//! bounded windows around keyword hits, then entropy and placeholder filters.
//! Work is linear in the input: a window never exceeds a fixed size, and
//! overlapping windows of one rule are merged before the regex runs.

use super::rules::{Rule, RuleSet};
use std::collections::HashSet;

/// How far a single-line rule looks on each side of a keyword hit, so that
/// minified files with megabyte-long lines stay cheap.
const LINE_WINDOW: usize = 1024;
/// How far a multi-line rule (a PEM block) reads past its keyword.
const MULTILINE_WINDOW: usize = 64 * 1024;

/// A secret found in the content: byte offsets of the `secret` group.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct RawMatch {
    pub rule: usize,
    pub start: usize,
    pub end: usize,
    /// The rule matched the value by a key name before it (`:_authToken=`),
    /// not by the value's own shape (`npm_…`).
    pub keyed: bool,
}

/// What a `find_secrets` call examined, counted so that a test can bound
/// its cost by the work done rather than by the clock.
#[derive(Debug, Default)]
#[cfg_attr(not(test), allow(dead_code))] // read by the tests only
struct Work {
    /// Bytes searched for line ends around keyword hits.
    line_search: usize,
    /// Regex runs: one per merged window.
    windows: usize,
    /// Bytes the regexes ran over.
    regex: usize,
}

/// How much of a file a keyword-less credential-file rule reads.
const WHOLE_FILE_LIMIT: usize = 1024 * 1024;

/// Matches of the rules that apply to any file (path-limited rules skipped).
pub fn find_secrets(rules: &RuleSet, content: &[u8]) -> Vec<RawMatch> {
    find_secrets_counting(rules, None, content, &mut Work::default())
}

/// Matches in the file at `path` (relative, `/`-separated): every rule
/// that applies to it, the credential-file rules its name calls for included.
pub fn find_secrets_in(rules: &RuleSet, path: &str, content: &[u8]) -> Vec<RawMatch> {
    find_secrets_counting(rules, Some(path), content, &mut Work::default())
}

/// For each rule, whether it is off for this file (a path-limited rule
/// whose paths do not match). Empty when every rule is on.
fn rules_off(rules: &RuleSet, path: Option<&str>) -> Vec<bool> {
    if rules.path_rules.is_empty() {
        return Vec::new();
    }
    let mut off = vec![false; rules.rules.len()];
    for &index in &rules.path_rules {
        let on = match (path, &rules.rules[index].paths) {
            (Some(path), Some(paths)) => paths.is_match(path.as_bytes()),
            _ => false,
        };
        off[index] = !on;
    }
    off
}

fn find_secrets_counting(
    rules: &RuleSet,
    path: Option<&str>,
    content: &[u8],
    work: &mut Work,
) -> Vec<RawMatch> {
    let off = rules_off(rules, path);
    let is_off = |index: usize| off.get(index).copied().unwrap_or(false);
    // (rule, window start, window end) for every keyword hit.
    let mut windows: Vec<(usize, usize, usize)> = Vec::new();
    for &rule_index in &rules.whole_file_rules {
        if !is_off(rule_index) {
            windows.push((rule_index, 0, content.len().min(WHOLE_FILE_LIMIT)));
        }
    }
    for hit in rules.prefilter.find_overlapping_iter(content) {
        for &rule_index in &rules.rules_by_keyword[hit.pattern().as_usize()] {
            if is_off(rule_index) {
                continue;
            }
            let (start, end) = window_for(
                &rules.rules[rule_index],
                content,
                hit.start(),
                hit.end(),
                work,
            );
            windows.push((rule_index, start, end));
        }
    }
    if windows.is_empty() {
        return Vec::new();
    }
    windows.sort_unstable();
    windows.dedup();

    let mut seen = HashSet::new();
    let mut matches = Vec::new();
    let mut index = 0;
    while index < windows.len() {
        let (rule_index, start, mut end) = windows[index];
        index += 1;
        while index < windows.len() && windows[index].0 == rule_index && windows[index].1 <= end {
            end = end.max(windows[index].2);
            index += 1;
        }
        let rule = &rules.rules[rule_index];
        work.windows += 1;
        work.regex += end - start;
        for captures in rule.regex.captures_iter(&content[start..end]) {
            let Some(secret) = captures.get(rule.secret_group) else {
                continue;
            };
            let (secret_start, secret_end) = (start + secret.start(), start + secret.end());
            if !seen.insert((rule_index, secret_start, secret_end)) {
                continue;
            }
            // Where the whole match starts: before the value, the key it sits under.
            let whole = start + captures.get(0).map_or(secret.start(), |m| m.start());
            if rule.generic || rule.loose_values() {
                let value = &content[secret_start..secret_end];
                if names_no_credential(&content[whole..secret_start])
                    || in_arn(content, whole)
                    || in_generated_line(content, secret_start, secret_end)
                    || (rule.generic && at_host(content, secret_end, |host| host == b"localhost"))
                    || is_code_not_value(value)
                    || (rule.generic && rule.loose_values() && is_placeholder_url_password(value))
                {
                    continue;
                }
            }
            // Any rule: a password for a host reserved for documentation.
            if at_host(content, secret_end, is_reserved_host) {
                continue;
            }
            if accept(rule, &content[secret_start..secret_end])
                && !is_public(rule, content, secret_start, secret_end)
            {
                matches.push(RawMatch {
                    rule: rule_index,
                    start: secret_start,
                    end: secret_end,
                    keyed: content[whole..secret_start]
                        .iter()
                        .any(u8::is_ascii_alphabetic),
                });
            }
        }
    }
    matches.sort_unstable_by_key(|m| (m.start, m.end, m.rule));
    drop_generic_overlaps(rules, &mut matches);
    drop_same_value_duplicates(rules, &mut matches);
    matches
}

/// Removes generic-rule matches that overlap a specific rule's match.
/// `matches` is sorted by start; runs in O(n log n).
fn drop_generic_overlaps(rules: &RuleSet, matches: &mut Vec<RawMatch>) {
    if !matches.iter().any(|m| rules.rules[m.rule].generic) {
        return;
    }
    let specific: Vec<(usize, usize)> = matches
        .iter()
        .filter(|m| !rules.rules[m.rule].generic)
        .map(|m| (m.start, m.end))
        .collect();
    // furthest_end[i]: the largest end among the first i + 1 specific spans.
    let furthest_end: Vec<usize> = specific
        .iter()
        .scan(0, |furthest, &(_, end)| {
            *furthest = end.max(*furthest);
            Some(*furthest)
        })
        .collect();
    matches.retain(|m| {
        if !rules.rules[m.rule].generic {
            return true;
        }
        let starting_before_end = specific.partition_point(|&(start, _)| start < m.end);
        starting_before_end == 0 || furthest_end[starting_before_end - 1] <= m.start
    });
    // Two context rules on one value (a password-named key is also a
    // secret-named one): the stricter rule (higher min-entropy, then the
    // earlier) stands for both, so a value keeps the rule it had.
    let strictness = |m: &RawMatch| rules.rules[m.rule].min_entropy.unwrap_or(0.0);
    let mut kept: Vec<RawMatch> = Vec::with_capacity(matches.len());
    let mut last_generic: Option<usize> = None;
    for m in matches.drain(..) {
        if !rules.rules[m.rule].generic {
            kept.push(m);
            continue;
        }
        match last_generic {
            Some(at) if m.start < kept[at].end => {
                if strictness(&m) > strictness(&kept[at]) {
                    kept[at] = m;
                }
            }
            _ => {
                last_generic = Some(kept.len());
                kept.push(m);
            }
        }
    }
    *matches = kept;
}

/// Several rules on one value: fewer findings. A credential file's rule
/// yields to any other rule, and a rule that knew the value by the key
/// before it (`:_authToken=`) yields to one that knows it by its own shape
/// (`npm_…`) at the same or a higher severity. `matches` is sorted by span.
fn drop_same_value_duplicates(rules: &RuleSet, matches: &mut Vec<RawMatch>) {
    let mut kept: Vec<RawMatch> = Vec::with_capacity(matches.len());
    let mut index = 0;
    while index < matches.len() {
        let span = (matches[index].start, matches[index].end);
        let group_end = matches[index..]
            .iter()
            .position(|m| (m.start, m.end) != span)
            .map_or(matches.len(), |n| index + n);
        let group = &matches[index..group_end];
        let any_unlimited = group.iter().any(|m| rules.rules[m.rule].paths.is_none());
        for m in group {
            let rule = &rules.rules[m.rule];
            let file_rule_beaten = rule.paths.is_some() && any_unlimited;
            let key_beaten = m.keyed
                && group.iter().any(|other| {
                    !other.keyed
                        && rules.rules[other.rule].paths.is_none()
                        && rules.rules[other.rule].severity >= rule.severity
                });
            if !file_rule_beaten && !key_beaten {
                kept.push(m.clone());
            }
        }
        index = group_end;
    }
    *matches = kept;
}

fn window_for(
    rule: &Rule,
    content: &[u8],
    hit_start: usize,
    hit_end: usize,
    work: &mut Work,
) -> (usize, usize) {
    // Look for line ends only within the window, so a megabyte-long line
    // full of keywords costs a bounded amount per hit, not the line length.
    let reach_back = hit_start.saturating_sub(LINE_WINDOW);
    let before = &content[reach_back..hit_start];
    work.line_search += before.len();
    let start = memchr::memrchr(b'\n', before).map_or(reach_back, |p| reach_back + p + 1);
    if rule.multiline {
        return (start, (hit_end + MULTILINE_WINDOW).min(content.len()));
    }
    let reach_forward = (hit_end + LINE_WINDOW).min(content.len());
    let after = &content[hit_end..reach_forward];
    work.line_search += after.len();
    let end = memchr::memchr(b'\n', after).map_or(reach_forward, |p| hit_end + p);
    (start, end)
}

/// Keys public by design (Google browser keys, Stripe publishable keys,
/// PostHog project keys): a context rule does not report them; the
/// provider's own rule decides, with its `public-context`.
/// Langfuse public keys (`pk-lf-`) and PubNub publish/subscribe keys
/// (`pub-c-`, `sub-c-`) are client-side identifiers too.
const PUBLIC_PREFIXES: [&[u8]; 7] = [
    b"AIza",
    b"pk_live_",
    b"pk_test_",
    b"phc_",
    b"pk-lf-",
    b"pub-c-",
    b"sub-c-",
];

/// How far around a value a rule's `public-context` is looked for.
const PUBLIC_CONTEXT_REACH: usize = 1024;

/// A value its surroundings show to be public by design.
fn is_public(rule: &Rule, content: &[u8], start: usize, end: usize) -> bool {
    rule.public_context.as_ref().is_some_and(|context| {
        let from = start.saturating_sub(PUBLIC_CONTEXT_REACH);
        let to = (end + PUBLIC_CONTEXT_REACH).min(content.len());
        context.is_match(&content[from..to])
    })
}

/// Key names (lower case, separators removed) whose values are tokens or
/// keys of another kind: pagination cursors, idempotency and CSRF tokens,
/// cache and database keys, key ids, public keys, token metadata.
const NOT_CREDENTIAL_NAMES: [&[u8]; 30] = [
    b"nexttoken",
    b"canceltoken",
    b"changetoken",
    b"websocketkey",
    b"pagetoken",
    b"pagination",
    b"continuationtoken",
    b"cursortoken",
    b"clientrequesttoken",
    b"clienttoken",
    b"requesttoken",
    b"idempotency",
    b"verificationtoken",
    b"csrf",
    b"xsrf",
    b"cachekey",
    b"cachedtokenkey",
    b"resultkey",
    b"sortkey",
    b"partitionkey",
    b"primarykey",
    b"foreignkey",
    b"keyid",
    b"publickey",
    b"tokentype",
    b"tokenurl",
    b"tokenendpoint",
    b"passwordpolicy",
    b"passwordreset",
    b"passwordfield",
];

/// Whether the key a context rule matched names something that is not a
/// credential (`NextToken`, `ClientRequestToken`, `session_cache_key`).
fn names_no_credential(name: &[u8]) -> bool {
    let squeezed: Vec<u8> = name
        .iter()
        .filter(|b| b.is_ascii_alphanumeric())
        .map(u8::to_ascii_lowercase)
        .collect();
    NOT_CREDENTIAL_NAMES
        .iter()
        .any(|word| memchr::memmem::find(&squeezed, word).is_some())
}

/// `arn:aws:secretsmanager:…:secret:MyTestSecret-1a2b3c`: a name inside an
/// ARN (an identifier), not a key and its value.
fn in_arn(content: &[u8], name_start: usize) -> bool {
    let line_start = memchr::memrchr(b'\n', &content[name_start.saturating_sub(256)..name_start])
        .map_or(name_start.saturating_sub(256), |p| {
            name_start.saturating_sub(256) + p + 1
        });
    let before = &content[line_start..name_start];
    let token_start = before
        .iter()
        .rposition(|b| b.is_ascii_whitespace() || matches!(b, b'"' | b'\'' | b'`' | b'='))
        .map_or(0, |p| p + 1);
    before[token_start..].starts_with(b"arn:")
}

/// A value that is code: a keyword argument (`usage=`, `passive=passive_mode`)
/// or a file path (`/etc/passwd`, `../passwd`) after a password-named word.
fn is_code_not_value(value: &[u8]) -> bool {
    if value.starts_with(b"/")
        || value.starts_with(b"./")
        || value.starts_with(b"../")
        || value.starts_with(b"~/")
    {
        return true;
    }
    let Some(equals) = memchr::memchr(b'=', value) else {
        return false;
    };
    let is_name = |part: &[u8]| {
        part.first()
            .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_')
            && part
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.'))
    };
    let (key, rest) = (&value[..equals], &value[equals + 1..]);
    is_name(key) && (rest.is_empty() || is_name(rest))
}

/// `pass%23pass`, `password12345`, `p,ass`: a URL password made of the word
/// "password" (or a short form, repeated) once decoded and stripped of
/// digits and punctuation: a test URL's, not a leak.
fn is_placeholder_url_password(value: &[u8]) -> bool {
    let decoded = percent_encoding::percent_decode(value).collect::<Vec<u8>>();
    let letters: Vec<u8> = decoded
        .iter()
        .filter(|b| b.is_ascii_alphabetic())
        .map(u8::to_ascii_lowercase)
        .collect();
    ["password", "passwd", "pass", "secret", "pwd"]
        .iter()
        .any(|word| {
            let word = word.as_bytes();
            !letters.is_empty()
                && letters.len().is_multiple_of(word.len())
                && letters.chunks(word.len()).all(|chunk| chunk == word)
        })
}

/// A line this long around a value is generated (a minified bundle, a
/// source map): `password:e` there is code, not configuration.
/// Context rules only; a provider's token is found wherever it is.
const GENERATED_LINE: usize = 2048;

fn in_generated_line(content: &[u8], start: usize, end: usize) -> bool {
    let before = &content[start.saturating_sub(GENERATED_LINE)..start];
    let after = &content[end..(end + GENERATED_LINE).min(content.len())];
    let line_before = memchr::memrchr(b'\n', before).map_or(before.len(), |p| before.len() - p - 1);
    let line_after = memchr::memchr(b'\n', after).unwrap_or(after.len());
    line_before + line_after >= GENERATED_LINE
}

/// Whether `user:password@HOST` follows the value with a host `test` accepts.
fn at_host(content: &[u8], secret_end: usize, test: impl Fn(&[u8]) -> bool) -> bool {
    let Some(rest) = content[secret_end..].strip_prefix(b"@") else {
        return false;
    };
    let host_end = rest
        .iter()
        .position(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_')))
        .unwrap_or(rest.len());
    let host = rest[..host_end].to_ascii_lowercase();
    test(host.strip_suffix(b".").unwrap_or(&host))
}

/// `example.com`, `proxy.example.org`, `db.test`, `x.invalid`: names
/// reserved for documentation and tests (RFC 2606, RFC 6761). A password
/// for one opens nothing. (`localhost` is only dropped for the generic URL
/// rule: a local database's password in an `.env` may be a real one.)
fn is_reserved_host(host: &[u8]) -> bool {
    [b".test".as_slice(), b".example", b".invalid", b".localhost"]
        .iter()
        .any(|tld| host.ends_with(tld))
        || [b"example.com".as_slice(), b"example.org", b"example.net"]
            .iter()
            .any(|domain| {
                host == *domain
                    || (host.ends_with(domain) && host[..host.len() - domain.len()].ends_with(b"."))
            })
}

/// Entropy and placeholder filters shared by every rule.
pub fn accept(rule: &Rule, secret: &[u8]) -> bool {
    if secret.is_empty() || is_placeholder(secret) {
        return false;
    }
    if rule.generic
        && (PUBLIC_PREFIXES.iter().any(|p| secret.starts_with(p))
            || is_constant_name(secret)
            || if rule.loose_values() {
                is_plain_word(secret)
            } else {
                is_identifier_like(secret)
            })
    {
        return false;
    }
    if !rule.stopwords.is_empty() {
        let lower = secret.to_ascii_lowercase();
        if rule
            .stopwords
            .iter()
            .any(|word| memchr::memmem::find(&lower, word).is_some())
        {
            return false;
        }
    }
    match rule.min_entropy {
        Some(min) => shannon_entropy(secret) >= min,
        None => true,
    }
}

const PLACEHOLDER_MARKERS: [&str; 13] = [
    "example",
    "xxxxx",
    "placeholder",
    "your_",
    "your-",
    "changeme",
    "redacted",
    "dummy",
    "sample",
    "****",
    "${",
    "{{",
    // The Azurite/storage emulator's published account key.
    "eby8vdm02xnocqflquwjpllmetlcdxj1ouzft50usrz6ifsufq2uvercz4i6tq",
];

/// Whole values that stand for a password in documentation and templates.
const PLACEHOLDER_VALUES: [&str; 22] = [
    "password",
    "passwd",
    "pass",
    "secret",
    "token",
    "guest",
    "admin",
    "root",
    "user",
    "username",
    "test",
    "null",
    "none",
    "nil",
    "true",
    "false",
    "undefined",
    "empty",
    "mypassword",
    "yourpassword",
    "password_here",
    "pwd",
];

/// Documentation keys, templates and masked values are not leaks.
pub fn is_placeholder(secret: &[u8]) -> bool {
    let lower = secret.to_ascii_lowercase();
    if PLACEHOLDER_MARKERS
        .iter()
        .any(|marker| memchr::memmem::find(&lower, marker.as_bytes()).is_some())
    {
        return true;
    }
    // `password1`, `secret2`, `test123`: a placeholder with a counter.
    let digits = lower
        .iter()
        .rev()
        .take_while(|b| b.is_ascii_digit())
        .count();
    let bare = &lower[..lower.len() - digits.min(3)];
    if PLACEHOLDER_VALUES
        .iter()
        .any(|word| word.as_bytes() == lower || word.as_bytes() == bare)
    {
        return true;
    }
    if is_sequential(&lower) || has_angle_placeholder(secret) || is_at_variable(secret) {
        return true;
    }
    let mut distinct = [false; 256];
    let mut count = 0;
    for &b in secret {
        if !distinct[b as usize] {
            distinct[b as usize] = true;
            count += 1;
            if count >= 4 {
                return false;
            }
        }
    }
    true
}

/// A name, not a key: `tls-acme-prod-certificate-2024`, `CacheKeyForUser`,
/// `X-Api-Key-Header`: no digit at all, or words and numbers joined by
/// separators. Context rules only: a provider's token has its own shape.
fn is_identifier_like(secret: &[u8]) -> bool {
    if !secret.iter().any(u8::is_ascii_digit) || is_camel_case_name(secret) {
        return true;
    }
    let mut segments = 0;
    for segment in secret.split(|b| matches!(b, b'-' | b'_' | b'.' | b'/')) {
        if segment.is_empty() {
            continue;
        }
        segments += 1;
        let word = segment.iter().all(u8::is_ascii_lowercase)
            || segment.iter().all(u8::is_ascii_uppercase)
            || segment.iter().all(u8::is_ascii_digit)
            // An acronym with a number: MD5, S3, V2.
            || (segment.len() <= 4
                && segment[0].is_ascii_uppercase()
                && segment.iter().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()))
            || (segment[0].is_ascii_uppercase() && segment[1..].iter().all(u8::is_ascii_lowercase));
        if !word {
            return false;
        }
    }
    segments >= 2
}

/// `defaultToConfig2`, `RegistryS3KeyName`: camelCase or PascalCase words
/// (acronyms and a trailing number allowed). Random mixed-case keys change
/// case every letter or two; names run in words of three letters or more.
fn is_camel_case_name(secret: &[u8]) -> bool {
    if secret.len() > 64
        || !secret.first().is_some_and(u8::is_ascii_alphabetic)
        || !secret.iter().all(u8::is_ascii_alphanumeric)
    {
        return false;
    }
    let body = &secret[..secret.len()
        - secret
            .iter()
            .rev()
            .take_while(|b| b.is_ascii_digit())
            .count()];
    let mut humps: Vec<&[u8]> = Vec::new();
    let mut start = 0;
    for index in 1..body.len() {
        let (previous, byte) = (body[index - 1], body[index]);
        let next_lower = body.get(index + 1).is_some_and(u8::is_ascii_lowercase);
        // A new word at a lower-to-upper step, or at the last capital of an acronym.
        if byte.is_ascii_uppercase()
            && (previous.is_ascii_lowercase()
                || previous.is_ascii_digit()
                || (previous.is_ascii_uppercase() && next_lower))
        {
            humps.push(&body[start..index]);
            start = index;
        }
    }
    humps.push(&body[start..]);
    // A word (`to`, `Config`) or an acronym with a number (`HTTP`, `S3`).
    let word = |hump: &[u8]| {
        let acronym = hump.len() <= 4
            && hump
                .iter()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        let letters =
            &hump[..hump.len() - hump.iter().rev().take_while(|b| b.is_ascii_digit()).count()];
        hump[0].is_ascii_alphabetic()
            && (acronym || (letters.len() >= 2 && letters[1..].iter().all(u8::is_ascii_lowercase)))
    };
    let long_words = humps
        .iter()
        .filter(|h| h.iter().filter(|b| b.is_ascii_lowercase()).count() >= 3)
        .count();
    humps.len() >= 2
        && humps.iter().all(|h| !h.is_empty() && word(h))
        && long_words * 2 >= humps.len()
}

/// `@VMWARE_PASSWORD@`, `@DB_PASSWORD`: an autoconf- or Ansible-test-style
/// substitution variable.
fn is_at_variable(secret: &[u8]) -> bool {
    let Some(name) = secret.strip_prefix(b"@") else {
        return false;
    };
    let name = name.strip_suffix(b"@").unwrap_or(name);
    name.len() >= 3
        && name.first().is_some_and(u8::is_ascii_uppercase)
        && name
            .iter()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'_')
}

/// `<your key here>`, `sk_live_<key>`, `<token`: a value in angle brackets
/// (or cut at one) is a template. Random salts may hold `<`, `>` among
/// other punctuation; a word in brackets is what makes a placeholder.
fn has_angle_placeholder(secret: &[u8]) -> bool {
    if secret.first() == Some(&b'<') || secret.last() == Some(&b'>') {
        return true;
    }
    let mut rest = secret;
    while let Some(open) = memchr::memchr(b'<', rest) {
        let after = &rest[open + 1..];
        if let Some(close) = memchr::memchr(b'>', after) {
            let inside = &after[..close];
            if inside.len() >= 2
                && inside
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b' ' | b'_' | b'-' | b'.'))
            {
                return true;
            }
        } else if after
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b' ' | b'_' | b'-'))
        {
            return true;
        }
        rest = after;
    }
    false
}

/// `SHA256_DIGEST_LENGTH`, `x25519_generate_private_key`: a constant or
/// function name, all upper or all lower case words joined by underscores.
fn is_constant_name(secret: &[u8]) -> bool {
    let upper = secret
        .iter()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'_');
    let lower = secret
        .iter()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_');
    (upper || lower)
        && secret.contains(&b'_')
        && secret.first().is_some_and(u8::is_ascii_alphabetic)
        && secret
            .split(|b| *b == b'_')
            .filter(|w| w.len() >= 3 && w.iter().all(u8::is_ascii_alphabetic))
            .count()
            >= 2
}

/// `opensesame`, `not-so-secret`, `challengePassword`: letters alone (with
/// word separators) are a documentation password or a name, not a leak.
/// Password rules only; a credential file's rule still reports them.
fn is_plain_word(secret: &[u8]) -> bool {
    if !secret
        .iter()
        .all(|b| b.is_ascii_alphabetic() || matches!(b, b'-' | b'_' | b'.'))
    {
        return false;
    }
    // Each word reads as one: `lower`, `UPPER`, `Capitalized`, `camelCase`.
    // Random letters (`JKunkclLE`) change case where words do not.
    secret
        .split(|b| matches!(b, b'-' | b'_' | b'.'))
        .filter(|segment| !segment.is_empty())
        .all(|segment| {
            if segment.iter().all(u8::is_ascii_uppercase) {
                return true;
            }
            let mut humps = Vec::new();
            let mut start = 0;
            for (index, byte) in segment.iter().enumerate() {
                if index > 0 && byte.is_ascii_uppercase() {
                    humps.push(&segment[start..index]);
                    start = index;
                }
            }
            humps.push(&segment[start..]);
            humps.iter().enumerate().all(|(index, hump)| {
                let tail = if hump[0].is_ascii_uppercase() {
                    &hump[1..]
                } else if index == 0 {
                    hump
                } else {
                    return false;
                };
                tail.len() >= 2 && tail.iter().all(u8::is_ascii_lowercase)
            })
        })
}

/// Runs of consecutive characters (`1234567890`, `ABCDEFGHIJKL`,
/// `0123456789abcdef0123…`): a keyboard exercise, not a key. `lower` is
/// lower-cased; at least 70% of adjacent pairs must step up by one.
fn is_sequential(lower: &[u8]) -> bool {
    if lower.len() < 6 {
        return false;
    }
    let steps = lower
        .windows(2)
        .filter(|pair| pair[1] == pair[0].wrapping_add(1) || (pair[0] == b'9' && pair[1] == b'0'))
        .count();
    steps * 10 >= (lower.len() - 1) * 7
}

/// Shannon entropy in bits per byte.
pub fn shannon_entropy(data: &[u8]) -> f64 {
    if data.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in data {
        counts[b as usize] += 1;
    }
    let len = data.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / len;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> RuleSet {
        RuleSet::builtin().unwrap()
    }

    fn rule_index(set: &RuleSet, id: &str) -> usize {
        set.rules.iter().position(|r| r.id == id).unwrap()
    }

    /// One rule's matches on `text`, as the matcher would accept them.
    fn alone(rule: &Rule, index: usize, text: &[u8]) -> Vec<RawMatch> {
        // A multi-line rule reads from its first keyword's line on.
        let lower = text.to_ascii_lowercase();
        let from = if rule.multiline {
            let Some(hit) = rule
                .keywords
                .iter()
                .filter_map(|k| memchr::memmem::find(&lower, k.as_bytes()))
                .min()
            else {
                return Vec::new();
            };
            memchr::memrchr(b'\n', &text[..hit]).map_or(0, |p| p + 1)
        } else {
            0
        };
        let text = &text[from..];
        rule.regex
            .captures_iter(text)
            .filter_map(|c| c.get(rule.secret_group))
            .filter(|m| accept(rule, m.as_bytes()) && !is_public(rule, text, m.start(), m.end()))
            .map(|m| RawMatch {
                rule: index,
                start: from + m.start(),
                end: from + m.end(),
                keyed: false,
            })
            .collect()
    }

    /// Every rule finds each of its examples and none of its negative examples.
    #[test]
    fn every_rule_passes_its_examples() {
        let set = rules();
        let mut failures = Vec::new();
        let mut checked = 0;
        for (index, rule) in set.rules.iter().enumerate() {
            if rule.examples.is_empty() || rule.negative_examples.is_empty() {
                failures.push(format!("{}: needs examples and negative-examples", rule.id));
            }
            // A context rule yields to specific ones and to an earlier
            // context rule on the same value: its examples are its own.
            let scan = |text: &str| match &rule.example_path {
                _ if rule.generic || rule.paths.is_some() => alone(rule, index, text.as_bytes()),
                Some(path) => find_secrets_in(&set, path, text.as_bytes()),
                None => find_secrets(&set, text.as_bytes()),
            };
            match (&rule.paths, &rule.example_path) {
                (Some(paths), Some(path)) if !paths.is_match(path.as_bytes()) => {
                    failures.push(format!("{}: paths do not match example-path", rule.id));
                }
                (None, None) | (Some(_), Some(_)) => {}
                _ => failures.push(format!("{}: paths and example-path go together", rule.id)),
            }
            for example in &rule.examples {
                checked += 1;
                if !scan(example).iter().any(|m| m.rule == index) {
                    failures.push(format!("{}: example not found: {example:?}", rule.id));
                }
            }
            for negative in &rule.negative_examples {
                checked += 1;
                if scan(negative).iter().any(|m| m.rule == index) {
                    failures.push(format!(
                        "{}: negative example matched: {negative:?}",
                        rule.id
                    ));
                }
            }
        }
        assert!(
            failures.is_empty(),
            "{} of {checked} rule examples failed:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }

    #[test]
    fn secret_found_inside_a_huge_line() {
        let set = rules();
        let mut content = vec![b'a'; 3 * 1024 * 1024];
        // secgate:allow: a made-up credential for this test
        let token = b"ghp_R3kq9ZbW2xLm7TvN4pQs8YdF1hJc6GaE0uKi";
        let at = 2 * 1024 * 1024;
        content[at - 1] = b' ';
        content[at..at + token.len()].copy_from_slice(token);
        content[at + token.len()] = b' ';
        let found = find_secrets(&set, &content);
        let github = rule_index(&set, "github-personal-access-token");
        assert!(
            found
                .iter()
                .any(|m| m.rule == github && m.start == at && m.end == at + token.len()),
            "{found:?}"
        );
    }

    /// The work on a keyword flood of `repeats` hits on one line, and the
    /// (hit, rule) pairs and distinct rules the hits concern.
    fn flood(set: &RuleSet, repeats: usize) -> (usize, Work, usize, usize) {
        let content = "AKIA ".repeat(repeats);
        let mut work = Work::default();
        assert!(find_secrets_counting(set, None, content.as_bytes(), &mut work).is_empty());
        let mut pairs = 0;
        let mut rules_hit = HashSet::new();
        for hit in set.prefilter.find_overlapping_iter(content.as_bytes()) {
            let rules = &set.rules_by_keyword[hit.pattern().as_usize()];
            pairs += rules.len();
            rules_hit.extend(rules.iter().copied());
        }
        (content.len(), work, pairs, rules_hit.len())
    }

    #[test]
    fn keyword_flood_stays_bounded() {
        // Many keyword hits on one line: windows merge, each byte scanned
        // once per rule, and each hit's line-end search is bounded.
        let set = rules();
        let (len, work, pairs, rules_hit) = flood(&set, 400_000);
        assert!(pairs >= 400_000 && rules_hit >= 1, "{pairs} {rules_hit}");
        assert!(
            work.windows <= rules_hit,
            "one merged window per rule: {work:?}"
        );
        assert!(
            work.regex <= rules_hit * len,
            "regex bytes past once per rule ({rules_hit} x {len}): {work:?}"
        );
        assert!(
            work.line_search <= pairs * 2 * LINE_WINDOW,
            "line-end search past 2 x {LINE_WINDOW} per hit ({pairs}): {work:?}"
        );
        // Twice the input, twice the work (a quadratic cost would be four times).
        let (_, half, _, _) = flood(&set, 200_000);
        let total = |w: &Work| w.line_search + w.regex;
        assert!(
            total(&work) * 10 <= total(&half) * 21,
            "not linear: {half:?} then {work:?}"
        );
    }

    #[test]
    fn generic_rule_yields_to_a_specific_one() {
        let set = rules();
        // secgate:allow: a made-up credential for this test
        let line = b"slack_token: xoxb-2938475610-8374659201-Hq7Lm2Xn9Pz4Kt6Rw1Yv3Bs8";
        let found = find_secrets(&set, line);
        let ids: Vec<&str> = found
            .iter()
            .map(|m| set.rules[m.rule].id.as_str())
            .collect();
        assert_eq!(ids, ["slack-bot-token"]);
        let generic_only = b"db_password = \"Zq8Lr4Tk9Wm2Hb7Xn3Pv\"";
        let found = find_secrets(&set, generic_only);
        assert_eq!(found.len(), 1);
        assert!(set.rules[found[0].rule].generic);
    }

    #[test]
    fn placeholders_are_not_secrets() {
        assert!(is_placeholder(b"AKIAIOSFODNN7EXAMPLE"));
        assert!(is_placeholder(b"${{ secrets.TOKEN }}"));
        assert!(is_placeholder(b"aaaaaaaaaaaaaaaa"));
        assert!(!is_placeholder(b"ghp_R3kq9ZbW2xLm7TvN4pQs8YdF1hJc6GaE0uKi"));
        assert!(is_placeholder(b"1234567890"));
        assert!(is_placeholder(b"ABCDEFGHIJKL"));
        assert!(is_placeholder(b"0123456789abcdef0123456789abcdef"));
        assert!(is_placeholder(b"Password123"));
        assert!(is_placeholder(b"guest"));
        assert!(!is_placeholder(b"hunter42!x"));
        assert!(!is_placeholder(b"Zq8Lr4Tk9Wm2"));
    }

    #[test]
    fn identifiers_are_not_keys() {
        assert!(is_identifier_like(b"tls-acme-prod-certificate-2024"));
        assert!(is_identifier_like(b"CacheKeyForUserSessions"));
        assert!(!is_identifier_like(b"Zq8Lr4Tk9Wm2Hb7Xn3Pv"));
        assert!(!is_identifier_like(b"b4b9502d-f269-4edf-94a1-058f51e87e16"));
        assert!(is_constant_name(b"DOT11EXT_SET_DEFAULT_KEY"));
        assert!(is_constant_name(b"x25519_generate_private_key"));
        assert!(!is_constant_name(b"Zq8Lr4Tk_9Wm2Hb7Xn3Pv"));
        assert!(is_plain_word(b"not-so-secret"));
        assert!(!is_plain_word(b"hunter42"));
        assert!(is_plain_word(b"challengePassword"));
        assert!(is_plain_word(b"opensesame"));
        assert!(!is_plain_word(b"JKunkclLE"));
        assert!(!is_plain_word(b"uVxpWUbohJae"));
    }

    #[test]
    fn entropy_of_known_strings() {
        assert_eq!(shannon_entropy(b"aaaa"), 0.0);
        assert!((shannon_entropy(b"ab") - 1.0).abs() < 1e-9);
        assert!((shannon_entropy(b"abcd") - 2.0).abs() < 1e-9);
    }

    #[test]
    fn names_values_and_hosts_that_are_not_credentials() {
        assert!(names_no_credential(b"\"NextToken\": \""));
        assert!(names_no_credential(b"self.session_cache_key = '"));
        assert!(names_no_credential(b"Sec-WebSocket-Key: "));
        assert!(!names_no_credential(b"STRIPE_SECRET_KEY="));
        assert!(!names_no_credential(b"api_token: "));

        assert!(is_code_not_value(b"usage="));
        assert!(is_code_not_value(b"passive=passive_mode"));
        assert!(is_code_not_value(b"/etc/passwd"));
        assert!(is_code_not_value(b"../passwd"));
        assert!(!is_code_not_value(b"Tr0ub4dor&3="));
        assert!(!is_code_not_value(b"k9=Xz!82"));

        assert!(is_placeholder_url_password(b"pass%23pass"));
        assert!(is_placeholder_url_password(b"password12345"));
        assert!(is_placeholder_url_password(b"p,ass"));
        assert!(!is_placeholder_url_password(b"Xk82mQ9z"));

        assert!(is_reserved_host(b"example.com") && is_reserved_host(b"proxy.example.org"));
        assert!(is_reserved_host(b"db.test") && is_reserved_host(b"x.invalid"));
        assert!(!is_reserved_host(b"myexample.com") && !is_reserved_host(b"localhost"));
        assert!(at_host(b"u:pw@Proxy.Example.COM:3128", 4, is_reserved_host));
        assert!(!at_host(b"u:pw@db.acme.net", 4, is_reserved_host));

        assert!(in_arn(
            b"\"ARN\": \"arn:aws:secretsmanager:us-west-2:1:secret:x",
            43
        ));
        assert!(!in_arn(b"secret: abc", 0));
    }

    #[test]
    fn camel_case_names_are_not_keys_but_random_mixed_case_is() {
        for name in [
            "defaultToConfig2",
            "RegistryS3KeyName",
            "NonEmptyMaxLength64String",
            "getHTTPResponseCode",
        ] {
            assert!(is_camel_case_name(name.as_bytes()), "{name}");
        }
        for key in [
            "Zq8Lr4Tk9Wm2Hb7Xn3Pv6Jc1Fs5D",
            "aB3dE5gH7jK9mN1pQ3",
            "JKunkclLEx9TqWz",
        ] {
            assert!(!is_camel_case_name(key.as_bytes()), "{key}");
        }
        assert!(is_at_variable(b"@VMWARE_PASSWORD@") && is_at_variable(b"@DB_PASS"));
        assert!(!is_at_variable(b"@x9Fq2Lm"));
    }

    #[test]
    fn only_long_generated_lines_are_skipped() {
        let short = b"password = \"Xk82mQ9zLp\"\n".to_vec();
        assert!(!in_generated_line(&short, 12, 22));
        let mut long = vec![b'a'; 3000];
        long.extend_from_slice(b"password:\"Xk82mQ9zLp\"");
        long.extend(vec![b'b'; 1500]);
        assert!(in_generated_line(&long, 3010, 3020));
    }

    #[test]
    fn a_token_known_by_its_shape_is_one_finding_under_its_key_rule() {
        let rules = RuleSet::builtin().unwrap();
        // secgate:allow: a made-up npm token
        let npmrc = b"//registry.npmjs.org/:_authToken=npm_K4pQ0aZ1cD2eF3gH4iJ5kL6mN7oP8qR9sT0u\n";
        let found: Vec<&str> = find_secrets_in(&rules, ".npmrc", npmrc)
            .iter()
            .map(|m| rules.rules[m.rule].id.as_str())
            .collect();
        assert_eq!(found, ["npm-access-token"]);
    }
}
