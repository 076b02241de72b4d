//! Everything the binary prints: the verdict (summary or one line), notes,
//! the verbose report, the progress spinner, GitHub's annotations, the
//! `db status` fields, errors and their ways out, and the one decision
//! whether a person watches the terminal. Flows decide what happened; this
//! module says it.

use secgate::error::DbError;
use secgate::finding::Scanner;
use secgate::gate::verdict::{Outcome, Verdict};
use secgate::policy::{Policy, DEFAULT_POLICY_NAME};
use secgate::report::{gate, github, summary};
use secgate::scan::output::ScanOutput;
use std::fmt::Display;
use std::io::IsTerminal;
use std::path::Path;
use std::time::Duration;

/// Whether a person is watching stderr: a terminal, outside CI, without
/// `NO_COLOR`. The one decision behind colour and the spinner (a CI log
/// may run on a terminal, and would keep every spinner frame).
#[derive(Clone, Copy)]
struct Terminal {
    attended: bool,
}

impl Terminal {
    fn detect() -> Self {
        Terminal {
            attended: std::io::stderr().is_terminal()
                && std::env::var_os("CI").is_none()
                && std::env::var_os("NO_COLOR").is_none(),
        }
    }

    /// Colour in the summary.
    fn color(self) -> bool {
        self.attended
    }

    /// A spinner while the scanners run; never under `--quiet`.
    fn progress(self, quiet: bool) -> bool {
        self.attended && !quiet
    }
}

/// A panic's payload may hold scanned bytes (a secret in a format string):
/// report where it happened, never what it said, and exit 2 (fail closed).
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!(
            "secgate: internal error{location} (a bug; its message is withheld, as it could hold scanned data)"
        );
    }));
}

/// What happened, on stderr: `secgate: {message}`.
pub fn say(message: impl Display) {
    eprintln!("secgate: {message}");
}

pub fn warning(message: impl Display) {
    eprintln!("secgate: warning: {message}");
}

/// The error that ended a run, and its way out when it has one.
pub fn error(error: &anyhow::Error) {
    eprintln!("secgate: error: {error:#}");
    if let Some(error) = error.downcast_ref::<DbError>() {
        way_out(error);
    }
}

/// A failed database download that does not end the run.
pub fn db_error(error: &DbError) {
    eprintln!("secgate: error: {error}");
    way_out(error);
}

/// A `secgate db status` line on stdout: `name:` padded, then the value.
pub fn field(name: &str, value: impl Display) {
    println!("{:<12}{value}", format!("{name}:"));
}

/// The second line of a download failure: what to do instead.
pub fn way_out(error: &DbError) {
    if let Some(way_out) = error.way_out() {
        eprintln!("secgate: ways out: {way_out}");
    }
}

/// `--verbose`: what ran, against which policy, and how long each part took.
/// Counts and times only: a finding's text is in the summary and the SARIF.
fn verbose_report(policy: &Policy, outputs: &[ScanOutput], total: Duration) -> String {
    let mut text = format!("secgate: verbose: policy: {}\n", policy.source);
    for output in outputs {
        let took = output
            .elapsed
            .map(|t| format!("{:.1} ms", t.as_secs_f64() * 1000.0))
            .unwrap_or_else(|| "not timed".to_string());
        let state = match &output.error {
            Some(_) => "could not check",
            None => "checked",
        };
        text.push_str(&format!(
            "secgate: verbose: {}: {state}, {} finding(s), {} rule(s), {} note(s), {took}\n",
            output.label(),
            output.findings.len(),
            output.rules.len(),
            output.notes.len(),
        ));
    }
    text.push_str(&format!(
        "secgate: verbose: total {:.1} ms\n",
        total.as_secs_f64() * 1000.0
    ));
    text
}

/// `work` (the scanners running), with a spinner on stderr when a person
/// watches and `--quiet` was not given.
pub async fn scanning<F: std::future::Future>(
    work: F,
    scanners: &[Scanner],
    quiet: bool,
) -> F::Output {
    if Terminal::detect().progress(quiet) {
        with_progress(work, scanners).await
    } else {
        work.await
    }
}

async fn with_progress<F: std::future::Future>(work: F, scanners: &[Scanner]) -> F::Output {
    const FRAMES: [char; 4] = ['|', '/', '-', '\\'];
    let names = scanners
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let started = std::time::Instant::now();
    tokio::pin!(work);
    let mut ticker = tokio::time::interval(std::time::Duration::from_millis(120));
    let mut frame = 0;
    let output = loop {
        tokio::select! {
            output = &mut work => break output,
            _ = ticker.tick() => {
                eprint!("\r{} scanning ({names}) {:.1}s", FRAMES[frame % FRAMES.len()], started.elapsed().as_secs_f64());
                frame += 1;
            }
        }
    };
    eprint!("\r\x1b[2K");
    output
}

/// What `check` prints once its files are written.
pub struct Checked<'a> {
    pub root: &'a Path,
    pub policy: &'a Policy,
    pub outputs: &'a [ScanOutput],
    pub verdict: &'a Verdict,
    pub sarif: &'a Path,
    pub sbom: Option<&'a Path>,
    pub notices: &'a [String],
    pub quiet: bool,
    /// `--verbose`: how long the run took.
    pub verbose: Option<Duration>,
    /// `--format github`: annotations on stdout.
    pub github: bool,
}

/// The verdict (one line under `--quiet`, else the summary), the notes,
/// `--verbose`'s report, and GitHub's annotations.
pub fn checked(run: &Checked) {
    if run.quiet {
        verdict_line(run.verdict);
        for reason in run
            .verdict
            .reasons
            .iter()
            .filter(|r| r.starts_with("scanner "))
        {
            eprintln!("  - {reason}");
        }
    } else {
        let options = summary::SummaryOptions {
            root: run.root,
            policy_source: &run.policy.source,
            sarif: Some(run.sarif),
            sbom: run.sbom,
            color: Terminal::detect().color(),
        };
        eprint!("{}", summary::render(run.outputs, run.verdict, &options));
    }
    for notice in run.notices {
        eprintln!("secgate: note: {notice}");
    }
    if let Some(elapsed) = run.verbose {
        eprint!("{}", verbose_report(run.policy, run.outputs, elapsed));
    }
    if run.github {
        print!(
            "{}",
            github::annotations(run.verdict, &path_prefix(run.root))
        );
    }
}

/// What a local hook prints: the verdict (one line under `--quiet`, else
/// the summary) and, when the push is blocked, why and the ways past it.
pub fn hooked(
    top: &Path,
    policy: &Policy,
    outputs: &[ScanOutput],
    verdict: &Verdict,
    sarif: Option<&Path>,
    quiet: bool,
) {
    if quiet {
        verdict_line(verdict);
    } else {
        let options = summary::SummaryOptions {
            root: top,
            policy_source: &policy.source,
            sarif,
            sbom: None,
            color: Terminal::detect().color(),
        };
        eprint!("{}", summary::render(outputs, verdict, &options));
    }
    if verdict.outcome == Outcome::Violated {
        let policy_file = if policy.source == DEFAULT_POLICY_NAME {
            "secgate.toml at the top of the repository (`secgate init` writes one)".to_string()
        } else {
            policy.source.clone()
        };
        let blocked = summary::BlockedOptions {
            policy_source: &policy_file,
            allow_inline: policy.gate.allow_inline,
            sarif,
        };
        eprint!("{}", summary::blocked(verdict, &blocked));
    }
}

/// `--quiet`: the verdict and the count of failing findings.
fn verdict_line(verdict: &Verdict) {
    eprintln!(
        "secgate: {}: {} finding(s) fail the gate",
        gate::verdict_word(verdict.outcome).to_uppercase(),
        verdict.failing
    );
}

/// The scanned root as a prefix of finding paths relative to the current
/// directory (the workspace in GitHub Actions): `sub/dir/`, or empty.
fn path_prefix(root: &Path) -> String {
    let root = if root.is_file() {
        root.parent().unwrap_or(Path::new(""))
    } else {
        root
    };
    let cwd = std::env::current_dir().ok();
    let relative = if root.is_absolute() {
        match cwd.as_deref().and_then(|cwd| root.strip_prefix(cwd).ok()) {
            Some(relative) => relative.to_path_buf(),
            None => return String::new(),
        }
    } else {
        root.to_path_buf()
    };
    if relative
        .components()
        .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return String::new();
    }
    let parts: Vec<String> = relative
        .components()
        .filter_map(|c| match c {
            std::path::Component::Normal(part) => Some(part.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("{}/", parts.join("/"))
    }
}
