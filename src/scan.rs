//! The scanners and how they run: each one a blocking job on tokio's blocking
//! pool, all at once; a scanner's failure (or panic) becomes data.

pub mod advisories;
pub mod context;
pub mod external;
pub mod lockfiles;
pub mod output;
pub mod sbom;
pub mod scope;
pub mod secrets;
pub mod settings;

use crate::finding::Scanner;
use context::ScanContext;
use output::{ExternalRun, ScanOutput};
use std::sync::Arc;

/// Runs one scanner synchronously.
pub fn run_one(scanner: Scanner, context: &ScanContext) -> ScanOutput {
    match scanner {
        Scanner::Advisories => advisories::scan(context),
        Scanner::Secrets => secrets::scan(context),
        Scanner::Sbom => sbom::scan(context),
        Scanner::External => {
            let mut outputs: Vec<ScanOutput> = context
                .settings
                .external
                .iter()
                .flat_map(|tool| external::scan(tool, context))
                .collect();
            match outputs.len() {
                1 => outputs.remove(0),
                _ => ScanOutput::failed(
                    Scanner::External,
                    "run_one cannot return several external runs: use run_all",
                ),
            }
        }
    }
}

/// Runs the scanners concurrently, each on the blocking pool. The outputs
/// come back in the order of `scanners`, whatever order they finished in.
/// `Scanner::External` is one task per `[[external]]` entry, in policy order
/// (an entry whose SARIF holds several runs gives several outputs).
pub async fn run_all(scanners: &[Scanner], context: ScanContext) -> Vec<ScanOutput> {
    let context = Arc::new(context);
    let mut handles = Vec::new();
    for &scanner in scanners {
        if scanner == Scanner::External {
            for index in 0..context.settings.external.len() {
                let context = Arc::clone(&context);
                let name = context.settings.external[index].name.clone();
                let task = tokio::task::spawn_blocking(move || {
                    let started = std::time::Instant::now();
                    let mut outputs = external::scan(&context.settings.external[index], &context);
                    for output in &mut outputs {
                        output.elapsed = Some(started.elapsed());
                    }
                    outputs
                });
                handles.push((scanner, Some(name), task));
            }
        } else {
            let context = Arc::clone(&context);
            let task = tokio::task::spawn_blocking(move || {
                let started = std::time::Instant::now();
                let mut output = run_one(scanner, &context);
                output.elapsed = Some(started.elapsed());
                vec![output]
            });
            handles.push((scanner, None, task));
        }
    }
    let mut outputs = Vec::with_capacity(handles.len());
    for (scanner, tool, handle) in handles {
        match handle.await {
            Ok(done) => outputs.extend(done),
            Err(join_error) => {
                let mut failed = ScanOutput::failed(scanner, crash_message(&join_error));
                failed.tool = tool.map(|name| ExternalRun {
                    key: name.clone(),
                    name,
                    driver: serde_json::Value::Null,
                });
                outputs.push(failed);
            }
        }
    }
    outputs
}

/// What a crashed scanner reports. Not the JoinError's Display: it quotes
/// the panic payload, which may hold the scanned bytes (a secret).
fn crash_message(error: &tokio::task::JoinError) -> String {
    if error.is_panic() {
        "the scanner crashed (a bug; its panic message is withheld, as it could hold scanned data)"
            .to_string()
    } else {
        "the scanner was cancelled".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_crashed_scanner_reports_no_panic_payload() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let error = runtime
            .block_on(async {
                tokio::task::spawn_blocking(|| {
                    // secgate:allow: a made-up credential for this test
                    panic!("found ghp_R3kq9ZbW2xLm7TvN4pQs8YdF1hJc6GaE0uKi")
                })
                .await
            })
            .unwrap_err();
        assert!(
            error.to_string().contains("ghp_"),
            "tokio quotes the payload"
        );
        let message = crash_message(&error);
        assert!(!message.contains("ghp_"), "{message}");
        assert!(message.contains("crashed"), "{message}");
    }
}
