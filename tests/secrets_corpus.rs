//! Detection quality on the corpus in `tests/fixtures/secrets-corpus/`
//! (made-up credentials in providers' documented formats and real public
//! file shapes; sources in its README): recall and false alarms per class,
//! printed as a table, and held at the figures reached so that a regression
//! fails. `SECRETS_CORPUS_VERBOSE=1` lists every miss and false alarm.

use secgate::finding::Finding;
use secgate::scan::secrets::scanner::SecretScanner;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// (class, positives found at least, false alarms at most): the figures
/// this corpus is at; raise them as the scanner improves.
/// Before issue 17's work: providers 74/108 found with 5/27 false alarms,
/// connection strings 14/55 and 0/19, credential files 33/83 and 2/303,
/// syntaxes 10/39 and 0/15, false alarms 2/3 and 8/42.
const FLOORS: &[(&str, usize, usize)] = &[
    ("providers", 213, 0),
    ("connection-strings", 58, 0),
    ("credential-files", 82, 0),
    ("syntaxes", 39, 0),
    ("false-alarms", 5, 0),
];

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/secrets-corpus")
}

/// One snippet: expected to hold a credential or not, its label, the file
/// name it is scanned as, and its text.
struct Case {
    /// 1-based line of the case's header in its corpus file.
    line: usize,
    positive: bool,
    label: String,
    path: String,
    text: String,
}

fn parse_cases(text: &str) -> Vec<Case> {
    let mut cases: Vec<Case> = Vec::new();
    for (number, line) in text.lines().enumerate() {
        if let Some(head) = line.strip_prefix("### ") {
            let (sign, rest) = head.split_at(1);
            assert!(sign == "+" || sign == "-", "bad case header: {line}");
            let (label, path) = match rest.split_once(" @ ") {
                Some((label, path)) => (label.trim(), path.trim()),
                None => (rest.trim(), "snippet.txt"),
            };
            cases.push(Case {
                line: number + 1,
                positive: sign == "+",
                label: label.to_string(),
                path: path.to_string(),
                text: String::new(),
            });
        } else if let Some(case) = cases.last_mut() {
            case.text.push_str(line);
            case.text.push('\n');
        }
    }
    cases
}

/// What one class scored.
#[derive(Default)]
struct Score {
    positives: usize,
    found: usize,
    negatives: usize,
    false_alarms: usize,
    notes: Vec<String>,
}

fn describe(findings: &[Finding]) -> String {
    findings
        .iter()
        .map(|f| {
            let line = f.location.as_ref().map_or(0, |l| l.start_line);
            format!("{}@{line}", f.rule_id)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn score_snippets(scanner: &SecretScanner, file: &str) -> Score {
    let text = std::fs::read_to_string(corpus().join(file)).unwrap();
    let mut score = Score::default();
    for case in parse_cases(&text) {
        let findings = scanner.findings_in(&case.path, case.text.as_bytes());
        for finding in &findings {
            let serialized = serde_json::to_string(finding).unwrap();
            assert!(
                !serialized.contains("-----BEGIN") && !serialized.contains("_authToken="),
                "a finding carries raw content: {serialized}"
            );
        }
        if case.positive {
            score.positives += 1;
            if findings.is_empty() {
                score.notes.push(format!(
                    "missed {file}:{} {} @ {}",
                    case.line, case.label, case.path
                ));
            } else {
                score.found += 1;
            }
        } else {
            score.negatives += 1;
            if !findings.is_empty() {
                score.false_alarms += 1;
                score.notes.push(format!(
                    "false alarm {file}:{} {} @ {}: {}",
                    case.line,
                    case.label,
                    case.path,
                    describe(&findings)
                ));
            }
        }
    }
    score
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            walk(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// Credential files: every risky line listed in `files.expected` must carry
/// a finding; a finding on any other line is a false alarm.
fn score_files(scanner: &SecretScanner) -> Score {
    let root = corpus().join("files");
    let expected_text = std::fs::read_to_string(corpus().join("files.expected")).unwrap();
    let expected: BTreeSet<(String, u32)> = expected_text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (path, line) = l.rsplit_once(':').unwrap();
            (path.to_string(), line.parse().unwrap())
        })
        .collect();
    let mut files = Vec::new();
    walk(&root, &mut files);
    let mut flagged: BTreeSet<(String, u32)> = BTreeSet::new();
    let mut score = Score::default();
    for file in files {
        let relative = file
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let content = std::fs::read(&file).unwrap();
        let findings = scanner.findings_in(&relative, &content);
        let mut quiet_lines = BTreeSet::new();
        for finding in &findings {
            let location = finding.location.as_ref().unwrap();
            let lines: Vec<u32> = (location.start_line..=location.end_line).collect();
            let hit: Vec<&u32> = lines
                .iter()
                .filter(|l| expected.contains(&(relative.clone(), **l)))
                .collect();
            if hit.is_empty() {
                if quiet_lines.insert(location.start_line) {
                    score.false_alarms += 1;
                    score.notes.push(format!(
                        "false alarm {relative}:{} {}",
                        location.start_line, finding.rule_id
                    ));
                }
            } else {
                for line in hit {
                    flagged.insert((relative.clone(), *line));
                }
            }
        }
        let file_lines = String::from_utf8_lossy(&content).lines().count();
        let risky = expected.iter().filter(|(p, _)| *p == relative).count();
        score.negatives += file_lines - risky;
    }
    score.positives = expected.len();
    score.found = flagged.len();
    for missed in expected.difference(&flagged) {
        score
            .notes
            .push(format!("missed {}:{}", missed.0, missed.1));
    }
    score
}

#[test]
fn corpus_recall_and_false_alarms_per_class() {
    let scanner = SecretScanner::builtin();
    let scores = [
        ("providers", score_snippets(&scanner, "providers.txt")),
        (
            "connection-strings",
            score_snippets(&scanner, "connection-strings.txt"),
        ),
        ("credential-files", score_files(&scanner)),
        ("syntaxes", score_snippets(&scanner, "syntaxes.txt")),
        ("false-alarms", score_snippets(&scanner, "false-alarms.txt")),
    ];
    let verbose = std::env::var_os("SECRETS_CORPUS_VERBOSE").is_some();
    println!(
        "{:<20} {:>10} {:>8} {:>16}",
        "class", "found", "recall", "false alarms"
    );
    let mut failures = Vec::new();
    for (class, score) in &scores {
        println!(
            "{:<20} {:>4} / {:<4} {:>7.0}% {:>7} / {:<6}",
            class,
            score.found,
            score.positives,
            100.0 * score.found as f64 / score.positives.max(1) as f64,
            score.false_alarms,
            score.negatives
        );
        if verbose {
            for note in &score.notes {
                println!("    {note}");
            }
        }
        let (_, min_found, max_false) = FLOORS.iter().find(|(c, _, _)| c == class).unwrap();
        if score.found < *min_found {
            failures.push(format!("{class}: found {} < {min_found}", score.found));
        }
        if score.false_alarms > *max_false {
            failures.push(format!(
                "{class}: {} false alarms > {max_false}",
                score.false_alarms
            ));
        }
    }
    assert!(
        scores
            .iter()
            .all(|(_, s)| s.positives > 0 && s.negatives > 0),
        "every class has positives and negatives"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn case_headers_parse() {
    let cases = parse_cases("# header\n### + kind @ a/.env\nX=1\nY=2\n### - why\nZ\n");
    assert_eq!(cases.len(), 2);
    assert!(cases[0].positive && !cases[1].positive);
    assert_eq!(cases[0].path, "a/.env");
    assert_eq!(cases[0].text, "X=1\nY=2\n");
    assert_eq!(cases[1].path, "snippet.txt");
    assert_eq!(cases[1].label, "why");
}
