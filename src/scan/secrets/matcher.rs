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

pub fn find_secrets(rules: &RuleSet, content: &[u8]) -> Vec<RawMatch> {
    find_secrets_counting(rules, content, &mut Work::default())
}

fn find_secrets_counting(rules: &RuleSet, content: &[u8], work: &mut Work) -> Vec<RawMatch> {
    // (rule, window start, window end) for every keyword hit.
    let mut windows: Vec<(usize, usize, usize)> = Vec::new();
    for hit in rules.prefilter.find_overlapping_iter(content) {
        for &rule_index in &rules.rules_by_keyword[hit.pattern().as_usize()] {
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
            if accept(rule, &content[secret_start..secret_end]) {
                matches.push(RawMatch {
                    rule: rule_index,
                    start: secret_start,
                    end: secret_end,
                });
            }
        }
    }
    matches.sort_unstable_by_key(|m| (m.start, m.end, m.rule));
    drop_generic_overlaps(rules, &mut matches);
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

/// Entropy and placeholder filters shared by every rule.
pub fn accept(rule: &Rule, secret: &[u8]) -> bool {
    if secret.is_empty() || is_placeholder(secret) {
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

const PLACEHOLDER_MARKERS: [&str; 14] = [
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
    "<",
    ">",
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
            for example in &rule.examples {
                checked += 1;
                if !find_secrets(&set, example.as_bytes())
                    .iter()
                    .any(|m| m.rule == index)
                {
                    failures.push(format!("{}: example not found: {example:?}", rule.id));
                }
            }
            for negative in &rule.negative_examples {
                checked += 1;
                if find_secrets(&set, negative.as_bytes())
                    .iter()
                    .any(|m| m.rule == index)
                {
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
        assert!(find_secrets_counting(set, content.as_bytes(), &mut work).is_empty());
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
    }

    #[test]
    fn entropy_of_known_strings() {
        assert_eq!(shannon_entropy(b"aaaa"), 0.0);
        assert!((shannon_entropy(b"ab") - 1.0).abs() < 1e-9);
        assert!((shannon_entropy(b"abcd") - 2.0).abs() < 1e-9);
    }
}
