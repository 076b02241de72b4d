//! Leaked credentials in the working tree. A secret's value never leaves
//! this module: findings carry a redacted form and a fingerprint only.

pub mod encoded;
pub mod history;
pub mod matcher;
pub mod recheck;
pub mod rules;
pub mod scanner;
pub mod validation;

use crate::files::relative_path;
use crate::finding::{Finding, Scanner};
use crate::scan::context::ScanContext;
use crate::scan::output::ScanOutput;
use crate::scan::scope::{self, ScopeSettings, Source};
use crate::scan::settings::GitScope;
use scanner::{rule_infos, SecretScanner};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Bytes looked at to decide whether a file is binary.
const BINARY_SNIFF: usize = 8192;
pub fn scan(context: &ScanContext) -> ScanOutput {
    let scanner = match SecretScanner::for_settings(&context.settings.secrets) {
        Ok(scanner) => scanner,
        Err(error) => return ScanOutput::failed(Scanner::Secrets, error),
    };
    let mut output = match (&context.settings.secrets.recheck, &context.git_scope) {
        (Some(recheck), _) => scan_again(context, recheck, &scanner),
        (None, None) => scan_tree(context, &scanner),
        (None, Some(scope)) => scan_history(context, scope, &scanner),
    };
    if let Some(collector) = &scanner.collector {
        let candidates = collector.take();
        if context.offline {
            output
                .notes
                .push("live validation off: --offline sends nothing".to_string());
        } else if output.error.is_none() {
            let settings = &context.settings.secrets.validation;
            let notes = validation::validate(&mut output.findings, candidates, settings);
            output.notes.extend(notes);
        }
    }
    output
}

fn scan_history(context: &ScanContext, scope: &GitScope, scanner: &SecretScanner) -> ScanOutput {
    let scanned = match history::scan(&context.root, scope, scanner) {
        Ok(scanned) => scanned,
        Err(error) => return ScanOutput::failed(Scanner::Secrets, error),
    };
    let mut output = ScanOutput::new(Scanner::Secrets);
    output.rules = rule_infos(&scanner.rules, &scanned.findings);
    output.findings = scanned.findings;
    output.warnings = scanned.warnings;
    output.removed_secrets = scanned.removed_secrets;
    let what = match scope {
        GitScope::Staged => "staged changes".to_string(),
        GitScope::All => format!("{} commits (all history from HEAD)", scanned.commits),
        GitScope::Since(base) => format!("{} commits since {base}", scanned.commits),
        GitScope::Range(range) => format!("{} commits in {range}", scanned.commits),
        GitScope::Commits(_) => format!("{} pushed commit(s)", scanned.commits),
    };
    output.notes.push(format!(
        "git: added lines of {what} scanned with {} rules",
        scanner.rules.rules.len()
    ));
    output
}

/// Scans again the files an earlier run's findings were in, and keeps
/// those findings only (`secrets --validate-only`).
fn scan_again(
    context: &ScanContext,
    recheck: &recheck::Recheck,
    scanner: &SecretScanner,
) -> ScanOutput {
    let mut output = ScanOutput::new(Scanner::Secrets);
    let mut tally = Tally::default();
    let mut buffer = Vec::new();
    let max_size = context.settings.secrets.max_file_size;
    for path in &recheck.paths {
        let full = context.root.join(path);
        if full.is_file() {
            scan_file(
                &context.root,
                &full,
                scanner,
                max_size,
                &mut buffer,
                &mut tally,
            );
        }
    }
    tally
        .findings
        .retain(|f| recheck.fingerprints.contains(&f.fingerprint));
    let found: std::collections::BTreeSet<&str> = tally
        .findings
        .iter()
        .map(|f| f.fingerprint.as_str())
        .collect();
    let gone = recheck.fingerprints.len() - found.len();
    output.notes.push(format!(
        "re-checking {} finding(s) of {}: {} still in the tree{}",
        recheck.fingerprints.len(),
        recheck.source,
        found.len(),
        match gone {
            0 => String::new(),
            n => format!(", {n} no longer found (removed or changed), not checked"),
        }
    ));
    output.rules = rule_infos(&scanner.rules, &tally.findings);
    output.findings = tally.findings;
    tally.unreadable.sort();
    output.unreadable = tally.unreadable;
    output
}

#[derive(Default)]
struct Tally {
    findings: Vec<Finding>,
    files: u64,
    bytes: u64,
    too_large: Vec<String>,
    unreadable: Vec<String>,
}

impl Tally {
    fn merge(&mut self, mut other: Tally) {
        self.findings.append(&mut other.findings);
        self.too_large.append(&mut other.too_large);
        self.unreadable.append(&mut other.unreadable);
        self.files += other.files;
        self.bytes += other.bytes;
    }
}

/// The settings of the file listing for the secrets scan.
pub fn scope_settings(context: &ScanContext) -> ScopeSettings {
    ScopeSettings {
        exclude_key: "secrets.exclude",
        exclude: context.settings.secrets.exclude.clone(),
        // Installed packages are not the project's code, and a committed
        // node_modules/ holds tens of thousands of files.
        skip_dirs: if context.settings.secrets.scan_node_modules {
            Vec::new()
        } else {
            vec!["node_modules"]
        },
        // As other secret scanners do on a plain directory.
        gitignore_outside_git: true,
        own_outputs: context.own_outputs.clone(),
    }
}

pub fn scan_tree(context: &ScanContext, scanner: &SecretScanner) -> ScanOutput {
    let mut output = ScanOutput::new(Scanner::Secrets);
    let settings = &context.settings.secrets;
    let (listing, mut tally) = match scan_listed(context, scanner, settings.max_file_size) {
        Ok(done) => done,
        Err(error) => return ScanOutput::failed(Scanner::Secrets, error),
    };
    tally.unreadable.extend(listing.unreadable.iter().cloned());
    output.findings = tally.findings;
    output.rules = rule_infos(&scanner.rules, &output.findings);
    output.notes.push(format!(
        "{} files, {:.1} MiB scanned with {} rules{}",
        tally.files,
        tally.bytes as f64 / (1024.0 * 1024.0),
        scanner.rules.rules.len(),
        match listing.source {
            Source::Git => " (git: every tracked file, and untracked ones not ignored)",
            Source::Walk | Source::IgnoredByGit => "",
        }
    ));
    output.notes.extend(listing.notes());
    output
        .notes
        .extend(listing.excluded_note(scope_settings(context).exclude_key));
    output.excluded = listing.excluded;
    if !listing.skipped_dirs.is_empty() {
        output.notes.push(format!(
            "installed packages not scanned (secrets.scan-node-modules = true scans them): {}",
            crate::text::abbreviate(&listing.skipped_dirs)
        ));
    }
    if !tally.too_large.is_empty() {
        let mut skipped = tally.too_large;
        skipped.sort();
        output.warnings.push(format!(
            "{} file(s) over max-file-size ({} bytes) not scanned: {}",
            skipped.len(),
            settings.max_file_size,
            crate::text::abbreviate(&skipped)
        ));
    }
    if !listing.ignore_file_errors.is_empty() {
        output.warnings.push(format!(
            "ignore file problem(s), patterns skipped: {}",
            crate::text::abbreviate(&listing.ignore_file_errors)
        ));
    }
    // Whether an unread file still lets the scan vouch for the tree is the gate's call.
    tally.unreadable.sort();
    output.unreadable = tally.unreadable;
    output
}

/// Lists the tree and scans each file as soon as the listing finds it, on
/// one thread per core, each taking the next file: no thread waits on
/// another's large file, and none waits for the listing to end.
fn scan_listed(
    context: &ScanContext,
    scanner: &SecretScanner,
    max_size: u64,
) -> Result<(scope::Listing, Tally), crate::error::ScopeError> {
    let root = &context.root;
    // Unbounded: a worker that died on a bug must not leave the listing
    // blocked on a full queue.
    let (sender, receiver) = std::sync::mpsc::channel::<PathBuf>();
    let receiver = Mutex::new(receiver);
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut tally = Tally::default();
                    let mut buffer = Vec::new();
                    loop {
                        let next = receiver.lock().unwrap_or_else(|p| p.into_inner()).recv();
                        let Ok(path) = next else {
                            break tally;
                        };
                        scan_file(root, &path, scanner, max_size, &mut buffer, &mut tally);
                    }
                })
            })
            .collect();
        let listed = scope::stream(root, &scope_settings(context), &|found| {
            // Links and special files are never opened by the secrets scan.
            if let scope::Found::File(path) = found {
                let _ = sender.send(path);
            }
        });
        // The workers finish the queue, then see the channel closed.
        drop(sender);
        let mut total = Tally::default();
        for worker in workers {
            total.merge(
                worker
                    .join()
                    .unwrap_or_else(|p| std::panic::resume_unwind(p)),
            );
        }
        listed.map(|listing| (listing, total))
    })
}

fn scan_file(
    root: &Path,
    path: &Path,
    scanner: &SecretScanner,
    max_size: u64,
    buffer: &mut Vec<u8>,
    tally: &mut Tally,
) {
    let relative = relative_path(root, path);
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(error) => {
            tally.unreadable.push(format!("{relative} ({error})"));
            return;
        }
    };
    // Read at most max_size + 1 bytes: a file that grows while we read it
    // cannot make us allocate without bound.
    buffer.clear();
    if let Err(error) = file.take(max_size.saturating_add(1)).read_to_end(buffer) {
        tally.unreadable.push(format!("{relative} ({error})"));
        return;
    }
    if buffer.len() as u64 > max_size {
        tally.too_large.push(relative);
        return;
    }
    if memchr::memchr(0, &buffer[..buffer.len().min(BINARY_SNIFF)]).is_some() {
        return;
    }
    tally.files += 1;
    tally.bytes += buffer.len() as u64;
    tally
        .findings
        .extend(scanner.findings_in(&relative, buffer));
}
