//! Secrets in git history: the lines each commit added (or the staged
//! changes), read from `git log -p` / `git diff --cached` with the git on
//! the machine. A secret committed and later deleted is still a leak.

use crate::finding::Finding;
use crate::scan::secrets::scanner::SecretScanner;
use crate::scan::settings::GitScope;
use std::collections::{BTreeSet, HashSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

/// What a history scan found and what it could not see.
#[derive(Debug, Default)]
pub struct HistoryScan {
    pub findings: Vec<Finding>,
    pub commits: usize,
    pub warnings: Vec<String>,
    /// Content fingerprints of the secrets in the lines these changes
    /// removed: one added again elsewhere in the same changes was moved.
    pub removed_secrets: BTreeSet<String>,
}

/// Field separators in our `--format`, bytes no commit header contains.
const RECORD: u8 = 0x1e;
const UNIT: u8 = 0x1f;

pub fn scan(root: &Path, scope: &GitScope, scanner: &SecretScanner) -> Result<HistoryScan, String> {
    let top = git(root, &["rev-parse", "--show-toplevel"])
        .map_err(|e| format!("{}: not a git repository ({e})", root.display()))?;
    let top = Path::new(top.trim());
    let mut result = HistoryScan::default();
    let shallow =
        git(top, &["rev-parse", "--is-shallow-repository"]).map(|s| s.trim() == "true")?;

    let mut command = Command::new("git");
    command
        .arg("-C")
        .arg(top)
        // Renames on whatever the user's config says: a file moved (or
        // moved and edited) adds only the lines it did not have before.
        .args(["-c", "core.quotePath=false", "-c", "diff.noprefix=false"])
        .args(["-c", "diff.renames=true"]);
    let mut stdin_commits = None;
    match scope {
        GitScope::Commits(commits) => {
            if commits.is_empty() {
                return Ok(result);
            }
            for commit in commits {
                verify_commit(top, commit, shallow)?;
            }
            stdin_commits = Some(commits.join("\n") + "\n");
            command.args([
                "log",
                "--no-walk=unsorted",
                "--stdin",
                "--no-color",
                "--no-ext-diff",
                "--no-textconv",
                "-p",
                "-U0",
                "--format=\x1ecommit %H\x1f%aI",
            ]);
        }
        GitScope::Staged => {
            command.args([
                "diff",
                "--cached",
                "--no-color",
                "--no-ext-diff",
                "--no-textconv",
                "-U0",
            ]);
        }
        _ => {
            let range = match scope {
                GitScope::All => "HEAD".to_string(),
                GitScope::Since(base) => {
                    verify_commit(top, base, shallow)?;
                    format!("{base}..HEAD")
                }
                GitScope::Range(range) => {
                    let (from, to) = range
                        .split_once("..")
                        .ok_or_else(|| format!("--range `{range}`: expected A..B"))?;
                    let to = to.trim_start_matches('.');
                    verify_commit(top, from, shallow)?;
                    verify_commit(top, if to.is_empty() { "HEAD" } else { to }, shallow)?;
                    range.clone()
                }
                GitScope::Staged | GitScope::Commits(_) => unreachable!(),
            };
            if *scope == GitScope::All
                && git(top, &["rev-parse", "--verify", "--quiet", "HEAD"]).is_err()
            {
                // A repository with no commits has no history to scan.
                return Ok(result);
            }
            if shallow && *scope == GitScope::All {
                result.warnings.push(
                    "shallow clone: commits before the shallow boundary were not scanned (fetch with full depth to scan all history)"
                        .to_string(),
                );
            }
            command.args([
                "log",
                "--reverse",
                "--no-color",
                "--no-ext-diff",
                "--no-textconv",
                "-p",
                "-U0",
                "--format=\x1ecommit %H\x1f%aI",
                &range,
                "--",
            ]);
        }
    }
    let mut child = command
        .stdin(if stdin_commits.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run git: {e}"))?;
    // Fed from a thread: a long list must not block on a full stdout pipe.
    let feeder = match (stdin_commits, child.stdin.take()) {
        (Some(list), Some(mut stdin)) => Some(std::thread::spawn(move || {
            use std::io::Write;
            stdin.write_all(list.as_bytes())
        })),
        _ => None,
    };
    let stdout = child.stdout.take().expect("piped");
    let mut parser = PatchParser::new(scanner, *scope == GitScope::Staged);
    // Only gates on a set of changes ask what those changes moved; a scan
    // of all history would scan every removed line for nothing.
    parser.track_removed = *scope != GitScope::All;
    let mut reader = BufReader::with_capacity(1 << 16, stdout);
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) => break,
            Ok(_) => parser.line(&line),
            Err(e) => return Err(format!("reading git output: {e}")),
        }
    }
    parser.finish_file();
    if let Some(feeder) = feeder {
        match feeder.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(format!("writing to git: {e}")),
            Err(_) => return Err("writing to git: the writer panicked".to_string()),
        }
    }
    let output = child.wait_with_output().map_err(|e| format!("git: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "git failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    result.commits = parser.commits;
    result.findings = parser.findings;
    result.removed_secrets = parser.removed_secrets;
    Ok(result)
}

fn verify_commit(top: &Path, rev: &str, shallow: bool) -> Result<(), String> {
    if git(
        top,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{rev}^{{commit}}"),
        ],
    )
    .is_ok()
    {
        return Ok(());
    }
    let hint = if shallow {
        " (this is a shallow clone: fetch the missing history, e.g. actions/checkout with fetch-depth: 0)"
    } else {
        ""
    };
    Err(format!("git: commit `{rev}` not found{hint}; refusing to report a pass for history that was not scanned"))
}

fn git(dir: &Path, args: &[&str]) -> Result<String, String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).trim().to_string())
    }
}

/// Collects each file's added lines of one commit, then scans them as one
/// text, mapping finding lines back to the lines of the file in that commit.
struct PatchParser<'a> {
    scanner: &'a SecretScanner,
    staged: bool,
    commit: String,
    date: String,
    path: Option<String>,
    /// Between a hunk header and the next file: `+++`/`---` are content here.
    in_hunk: bool,
    /// Scan removed lines for `removed_secrets`.
    track_removed: bool,
    next_line: u32,
    added: Vec<u8>,
    added_lines: Vec<u32>,
    removed: Vec<u8>,
    commits: usize,
    findings: Vec<Finding>,
    /// Secrets removed that no earlier commit of these changes had added:
    /// they existed before the changes.
    removed_secrets: BTreeSet<String>,
    /// Content fingerprints added by the commits before the current one.
    added_earlier: HashSet<String>,
    added_now: HashSet<String>,
    seen: HashSet<String>,
}

impl<'a> PatchParser<'a> {
    fn new(scanner: &'a SecretScanner, staged: bool) -> Self {
        PatchParser {
            scanner,
            staged,
            commit: String::new(),
            date: String::new(),
            path: None,
            in_hunk: false,
            track_removed: true,
            next_line: 0,
            added: Vec::new(),
            added_lines: Vec::new(),
            removed: Vec::new(),
            commits: 0,
            findings: Vec::new(),
            removed_secrets: BTreeSet::new(),
            added_earlier: HashSet::new(),
            added_now: HashSet::new(),
            seen: HashSet::new(),
        }
    }

    fn line(&mut self, raw: &[u8]) {
        let line = raw.strip_suffix(b"\n").unwrap_or(raw);
        if let Some(header) = line.strip_prefix(&[RECORD][..]) {
            self.finish_file();
            self.in_hunk = false;
            self.added_earlier.extend(self.added_now.drain());
            let header = String::from_utf8_lossy(header);
            let header = header.strip_prefix("commit ").unwrap_or(&header);
            let mut parts = header.split(UNIT as char);
            self.commit = parts.next().unwrap_or_default().to_string();
            self.date = parts.next().unwrap_or_default().to_string();
            self.commits += 1;
        } else if line.starts_with(b"diff --git ") {
            self.finish_file();
            self.in_hunk = false;
            self.path = None;
        } else if line.starts_with(b"@@ ") {
            self.in_hunk = true;
            self.next_line = hunk_start(line).unwrap_or(1);
        } else if !self.in_hunk {
            if let Some(path) = line.strip_prefix(b"+++ ") {
                self.path = parse_path(path);
            }
        } else if let Some(added) = line.strip_prefix(b"+") {
            if self.path.is_some() {
                self.added.extend_from_slice(added);
                self.added.push(b'\n');
                self.added_lines.push(self.next_line);
                self.next_line += 1;
            }
        } else if let Some(removed) = line.strip_prefix(b"-").filter(|_| self.track_removed) {
            self.removed.extend_from_slice(removed);
            self.removed.push(b'\n');
        }
    }

    fn finish_file(&mut self) {
        if !self.removed.is_empty() {
            // The value is never kept: only its rule-and-value hash.
            let removed = std::mem::take(&mut self.removed);
            for finding in self.scanner.findings_in("(removed lines)", &removed) {
                // Added by an earlier commit here and removed again is no
                // sign the secret existed before these changes.
                let content = finding.content_fingerprint;
                if let Some(content) = content.filter(|c| !self.added_earlier.contains(c)) {
                    self.removed_secrets.insert(content);
                }
            }
        }
        if self.added.is_empty() {
            return;
        }
        let Some(path) = self.path.clone() else {
            self.added.clear();
            self.added_lines.clear();
            return;
        };
        for mut finding in self.scanner.findings_in(&path, &self.added) {
            self.added_now.extend(finding.content_fingerprint.clone());
            // The oldest commit that added a secret is where it leaked.
            if !self.seen.insert(finding.fingerprint.clone()) {
                continue;
            }
            if let Some(location) = finding.location.as_mut() {
                let map = |line: u32| {
                    self.added_lines
                        .get(line as usize - 1)
                        .copied()
                        .unwrap_or(line)
                };
                location.start_line = map(location.start_line);
                location.end_line = map(location.end_line);
            }
            let source = if self.staged {
                "staged".to_string()
            } else {
                self.commit.clone()
            };
            finding
                .properties
                .insert("commit".to_string(), serde_json::json!(source));
            if !self.staged {
                finding
                    .properties
                    .insert("commit-date".to_string(), serde_json::json!(self.date));
                let short = &self.commit[..self.commit.len().min(12)];
                finding.message = format!("{} (added in commit {short})", finding.message);
            } else {
                finding.message = format!("{} (staged)", finding.message);
            }
            self.findings.push(finding);
        }
        self.added.clear();
        self.added_lines.clear();
    }
}

/// `b/src/main.rs` → `src/main.rs`; `/dev/null` (a deletion) → none.
fn parse_path(raw: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(raw);
    let text = text.trim_end_matches('\t');
    if text == "/dev/null" {
        return None;
    }
    let unquoted = if text.starts_with('"') && text.ends_with('"') && text.len() >= 2 {
        unquote(&text[1..text.len() - 1])
    } else {
        text.to_string()
    };
    Some(unquoted.strip_prefix("b/").unwrap_or(&unquoted).to_string())
}

/// Git's C-style quoting of unusual paths (octal bytes, \t, \", \\).
fn unquote(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 1 < bytes.len() {
            let next = bytes[i + 1];
            if next.is_ascii_digit() && i + 4 <= bytes.len() {
                let octal = std::str::from_utf8(&bytes[i + 1..i + 4]).unwrap_or("");
                if let Ok(value) = u8::from_str_radix(octal, 8) {
                    out.push(value);
                    i += 4;
                    continue;
                }
            }
            out.push(match next {
                b't' => b'\t',
                b'n' => b'\n',
                other => other,
            });
            i += 2;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `@@ -12,3 +15,4 @@` → 15.
fn hunk_start(line: &[u8]) -> Option<u32> {
    let text = std::str::from_utf8(line).ok()?;
    let plus = text.split(' ').find(|part| part.starts_with('+'))?;
    plus[1..].split(',').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hunk_headers_and_paths() {
        assert_eq!(hunk_start(b"@@ -12,3 +15,4 @@ fn x()"), Some(15));
        assert_eq!(hunk_start(b"@@ -0,0 +1 @@"), Some(1));
        assert_eq!(
            parse_path(b"b/src/main.rs"),
            Some("src/main.rs".to_string())
        );
        assert_eq!(parse_path(b"/dev/null"), None);
        assert_eq!(
            parse_path(b"\"b/sp\\303\\244ce \\\"q\\\".txt\""),
            Some("sp\u{e4}ce \"q\".txt".to_string())
        );
    }

    #[test]
    fn header_like_lines_inside_a_hunk_are_content() {
        let scanner = SecretScanner::builtin();
        let mut parser = PatchParser::new(&scanner, false);
        // Inside a hunk, "+++ x" is an added "++ x" and "--- y" a removed
        // "-- y" (a SQL comment), not file headers.
        // secgate:allow: a made-up credential for this test
        let patch = "\x1ecommit 0123456789abcdef\x1f2026-01-02T03:04:05+00:00\n\ndiff --git a/q.sql b/q.sql\n--- a/q.sql\n+++ b/q.sql\n@@ -1,2 +1,2 @@\n--- T=ghp_Zx9kq3BW2xLm7TvN4pQs8YdF1hJc6GaE0uKi\n-x\n+++ counter\n+T=ghp_R3kq9ZbW2xLm7TvN4pQs8YdF1hJc6GaE0uKi\n";
        for line in patch.split_inclusive('\n') {
            parser.line(line.as_bytes());
        }
        parser.finish_file();
        assert_eq!(parser.findings.len(), 1);
        let finding = &parser.findings[0];
        assert_eq!(finding.location.as_ref().unwrap().path, "q.sql");
        assert_eq!(finding.location.as_ref().unwrap().start_line, 2);
        assert_eq!(parser.removed_secrets.len(), 1, "the removed line's secret");
        assert!(!parser
            .removed_secrets
            .contains(finding.content_fingerprint.as_ref().unwrap()));
    }

    #[test]
    fn added_lines_map_back_to_file_lines() {
        let scanner = SecretScanner::builtin();
        let mut parser = PatchParser::new(&scanner, false);
        let patch = "\x1ecommit 0123456789abcdef\x1f2026-01-02T03:04:05+00:00\n\ndiff --git a/x.env b/x.env\n--- a/x.env\n+++ b/x.env\n@@ -10,0 +11,2 @@\n+A=1\n+T=ghp_R3kq9ZbW2xLm7TvN4pQs8YdF1hJc6GaE0uKi\n";
        for line in patch.split_inclusive('\n') {
            parser.line(line.as_bytes());
        }
        parser.finish_file();
        assert_eq!(parser.findings.len(), 1);
        let finding = &parser.findings[0];
        assert_eq!(finding.location.as_ref().unwrap().start_line, 12);
        assert_eq!(finding.properties["commit"], "0123456789abcdef");
        assert!(
            finding.message.contains("0123456789ab"),
            "{}",
            finding.message
        );
    }
}
