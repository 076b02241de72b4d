//! Properties (proptest): the secret scanner and the policy on generated
//! inputs.

use proptest::prelude::*;
use secgate::config::Threshold;
use secgate::finding::{Finding, Location, Scanner, Severity};
use secgate::gate::verdict::Outcome;
use secgate::policy::Policy;
use secgate::scan::output::ScanOutput;
use secgate::scan::secrets::scanner::SecretScanner;
use std::collections::BTreeMap;
use std::sync::OnceLock;

// secgate:allow: a made-up credential for this test
const TOKEN: &str = "ghp_R3kq9ZbW2xLm7TvN4pQs8YdF1hJc6GaE0uKi";
const TODAY: time::Date = time::macros::date!(2026 - 06 - 01);

fn scanner() -> &'static SecretScanner {
    static SCANNER: OnceLock<SecretScanner> = OnceLock::new();
    SCANNER.get_or_init(SecretScanner::builtin)
}

/// Lines of lowercase words and spaces: text a token cannot merge into.
fn ascii_lines() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec("[a-z ]{0,60}", 0..40)
}

proptest! {
    // Few cases: the suite runs unoptimised; the fuzz targets go deeper.
    #![proptest_config(ProptestConfig::with_cases(40))]

    #[test]
    fn scanner_never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..4096)) {
        let _ = scanner().findings_in("f.bin", &bytes);
    }

    #[test]
    fn scanner_never_panics_on_keyword_soup(parts in prop::collection::vec(
        prop_oneof![
            Just("ghp_".to_string()), Just("AKIA".to_string()), Just("xoxb-".to_string()),
            Just("-----BEGIN ".to_string()), Just("=".to_string()), Just("\n".to_string()),
            Just("secgate:allow".to_string()), "[A-Za-z0-9+/_-]{0,48}", "\\PC{0,8}",
        ], 0..64)) {
        let _ = scanner().findings_in("f.txt", parts.concat().as_bytes());
    }

    #[test]
    fn planted_token_is_found_on_its_line(
        lines in ascii_lines(),
        at_line in 0usize..41,
        at_column in 0usize..61,
    ) {
        let mut lines = lines;
        let index = at_line.min(lines.len());
        if index == lines.len() {
            lines.push(String::new());
        }
        let line = &lines[index];
        let column = at_column.min(line.len());
        lines[index] = format!("{} {TOKEN} {}", &line[..column], &line[column..]);
        let text = lines.join("\n");
        let findings = scanner().findings_in("f.txt", text.as_bytes());
        let hits: Vec<_> = findings
            .iter()
            .filter(|f| f.rule_id == "github-personal-access-token")
            .collect();
        prop_assert_eq!(hits.len(), 1, "{:?}", text);
        let location = hits[0].location.as_ref().unwrap();
        prop_assert_eq!(location.start_line as usize, index + 1);
        prop_assert_eq!(location.start_column as usize, column + 2);
    }

    #[test]
    fn fingerprints_survive_lines_inserted_above(
        before in ascii_lines(),
        inserted in ascii_lines(),
    ) {
        let text = format!("{}\ntoken = {TOKEN}\n", before.join("\n"));
        let moved = format!("{}\n{text}", inserted.join("\n"));
        let a = scanner().findings_in("f.txt", text.as_bytes());
        let b = scanner().findings_in("f.txt", moved.as_bytes());
        let prints = |f: &[Finding]| f.iter().map(|f| f.fingerprint.clone()).collect::<Vec<_>>();
        prop_assert_eq!(prints(&a), prints(&b));
        prop_assert_eq!(a.len(), 1);
        let shift = inserted.len().max(1) as u32;
        prop_assert_eq!(
            b[0].location.as_ref().unwrap().start_line,
            a[0].location.as_ref().unwrap().start_line + shift
        );
    }

    #[test]
    fn lowering_fail_on_never_turns_a_failure_into_a_pass(
        findings in findings(),
        a in threshold(),
        b in threshold(),
    ) {
        let (strict, lax) = if rank(a) <= rank(b) { (a, b) } else { (b, a) };
        let outputs = outputs(&findings);
        let lax_verdict = policy(lax).gate.evaluate(&outputs, TODAY);
        let strict_verdict = policy(strict).gate.evaluate(&outputs, TODAY);
        prop_assert!(strict_verdict.failing >= lax_verdict.failing);
        if lax_verdict.outcome != Outcome::Pass {
            prop_assert_ne!(strict_verdict.outcome, Outcome::Pass);
        }
    }

    #[test]
    fn adding_findings_never_turns_a_failure_into_a_pass(
        first in findings(),
        more in findings(),
        fail_on in threshold(),
    ) {
        let policy = policy(fail_on);
        let before = policy.gate.evaluate(&outputs(&first), TODAY);
        let mut all = first.clone();
        all.extend(more);
        let after = policy.gate.evaluate(&outputs(&all), TODAY);
        prop_assert!(after.failing >= before.failing);
        if before.outcome != Outcome::Pass {
            prop_assert_ne!(after.outcome, Outcome::Pass);
        }
    }
}

/// Lower rank: a stricter threshold (fails on more).
fn rank(threshold: Threshold) -> usize {
    match threshold {
        Threshold::AtLeast(severity) => severity as usize,
        Threshold::Never => 99,
    }
}

fn threshold() -> impl Strategy<Value = Threshold> {
    prop_oneof![
        Just(Threshold::Never),
        prop::sample::select(Severity::ALL.to_vec()).prop_map(Threshold::AtLeast),
    ]
}

/// (scanner, severity or unknown, rule, path, inline-allowed)
type Spec = (Scanner, Option<Severity>, u8, u8, bool);

fn findings() -> impl Strategy<Value = Vec<Spec>> {
    prop::collection::vec(
        (
            prop::sample::select(Scanner::ALL.to_vec()),
            prop::option::of(prop::sample::select(Severity::ALL.to_vec())),
            0u8..6,
            0u8..4,
            any::<bool>(),
        ),
        0..12,
    )
}

/// A policy with an ignore and an unknown-severity grade, so they are exercised.
fn policy(fail_on: Threshold) -> Policy {
    let mut policy = Policy::from_toml(
        "p.toml",
        "unknown-severity = \"medium\"\n[[ignore]]\nid = \"R1\"\npath = \"p0\"\nreason = \"accepted\"\n",
    )
    .unwrap();
    policy.override_fail_on(fail_on);
    policy
}

fn outputs(specs: &[Spec]) -> Vec<ScanOutput> {
    Scanner::ALL
        .iter()
        .map(|&scanner| {
            let mut output = ScanOutput::new(scanner);
            for (i, (s, severity, rule, path, inline)) in specs.iter().enumerate() {
                if *s != scanner {
                    continue;
                }
                output.findings.push(Finding {
                    scanner,
                    rule_id: format!("R{rule}"),
                    severity: *severity,
                    title: "t".to_string(),
                    message: "m".to_string(),
                    location: Some(Location::line(format!("p{path}"), i as u32 + 1)),
                    fingerprint: format!("{i:016x}"),
                    content_fingerprint: None,
                    package: None,
                    aliases: Vec::new(),
                    suppression_hint: inline
                        .then_some(secgate::finding::SuppressionHint::InlineAllow),
                    properties: BTreeMap::new(),
                    tool: None,
                });
            }
            output
        })
        .collect()
}
