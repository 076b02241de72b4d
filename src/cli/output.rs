//! Everything the binary prints to the terminal: the verdict (summary or
//! one line), notes, the verbose report, the progress spinner, errors and
//! their ways out. Flows decide what happened; this module says it.

use secgate::error::DbError;
use secgate::finding::Scanner;
use secgate::policy::Policy;
use secgate::scan::output::ScanOutput;
use std::io::IsTerminal;

/// Whether a person is watching stderr: a terminal, outside CI, without
/// `NO_COLOR`. The one decision behind colour and the spinner (a CI log
/// may run on a terminal, and would keep every spinner frame).
#[derive(Clone, Copy)]
pub struct Terminal {
    attended: bool,
}

impl Terminal {
    pub fn detect() -> Self {
        Terminal {
            attended: std::io::stderr().is_terminal()
                && std::env::var_os("CI").is_none()
                && std::env::var_os("NO_COLOR").is_none(),
        }
    }

    /// Colour in the summary.
    pub fn color(self) -> bool {
        self.attended
    }

    /// A spinner while the scanners run; never under `--quiet`.
    pub fn progress(self, quiet: bool) -> bool {
        self.attended && !quiet
    }
}

/// The second line of a download failure: what to do instead.
pub fn print_way_out(error: &DbError) {
    if let Some(way_out) = error.way_out() {
        eprintln!("secgate: ways out: {way_out}");
    }
}

/// `--verbose`: what ran, against which policy, and how long each part took.
/// Counts and times only: a finding's text is in the summary and the SARIF.
pub fn verbose_report(
    policy: &Policy,
    outputs: &[ScanOutput],
    total: std::time::Duration,
) -> String {
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

/// A spinner on stderr while the scanners run (interactive terminals only).
pub async fn with_progress<F: std::future::Future>(work: F, scanners: &[Scanner]) -> F::Output {
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
