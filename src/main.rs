//! The `secgate` command: parses the arguments, runs one subcommand's flow
//! (in `cli`), and turns how it ended into the exit status, in one place.

mod cli;

use anyhow::Result;
use clap::Parser;
use cli::args::{parse_scanners, Cli, Command};
use cli::check::{run_check, Selection};
use cli::db::run_db;
use cli::hook::run_hook;
use cli::output;
use secgate::finding::Scanner;
use secgate::gate::verdict::Outcome;
use std::process::ExitCode;

/// How a run ended. `Exit::code` is the one place an exit status is chosen.
#[derive(Clone, Copy)]
enum Exit {
    /// The gate's verdict, or a subcommand's own outcome (`init` passes;
    /// `db status` on a missing or unverified database could not check).
    Outcome(Outcome),
    /// `--help` or `--version` was printed.
    Informed,
    /// A usage error or an error stopped the run (printed): fail closed.
    Failed,
}

impl Exit {
    /// 0 pass, 1 policy violated, 2 could not check.
    fn code(self) -> u8 {
        match self {
            Exit::Outcome(Outcome::Pass) | Exit::Informed => 0,
            Exit::Outcome(Outcome::Violated) => 1,
            Exit::Outcome(Outcome::CouldNotCheck) | Exit::Failed => 2,
        }
    }
}

/// Set to make `main` panic with the variable's value as payload: how the
/// tests prove the panic hook never prints a payload.
const TEST_PANIC_ENV: &str = "SECGATE_TEST_PANIC";

fn main() -> ExitCode {
    output::install_panic_hook();
    if let Some(payload) = std::env::var_os(TEST_PANIC_ENV) {
        panic!("test panic: {}", payload.to_string_lossy());
    }
    let exit = match Cli::try_parse() {
        Err(usage) => {
            // clap prints help and usage errors itself; only the status is ours.
            let _ = usage.print();
            if usage.use_stderr() {
                Exit::Failed
            } else {
                Exit::Informed
            }
        }
        Ok(cli) => match run(cli.command) {
            Ok(outcome) => Exit::Outcome(outcome),
            Err(error) => {
                output::error(&error);
                Exit::Failed
            }
        },
    };
    ExitCode::from(exit.code())
}

/// One subcommand's flow, to its outcome.
fn run(command: Command) -> Result<Outcome> {
    match command {
        Command::Check(args) => {
            let scanners = parse_scanners(&args.scanners)?;
            run_check(&args.scan, Selection::Chosen(&scanners), None)
        }
        Command::Audit(args) => run_check(&args, Selection::Only(Scanner::Advisories), None),
        Command::Secrets(args) => {
            let mut scan = args.scan;
            scan.recheck = args.validate_only;
            run_check(&scan, Selection::Only(Scanner::Secrets), None)
        }
        Command::Sbom(args) => run_check(&args, Selection::Only(Scanner::Sbom), None),
        Command::Baseline { check, output } => {
            let scanners = parse_scanners(&check.scanners)?;
            run_check(&check.scan, Selection::Chosen(&scanners), Some(&output))
        }
        Command::Db { command } => run_db(command),
        Command::Hook { command } => run_hook(command),
        Command::Init { path, force } => cli::init::init(&path, force).map(|()| Outcome::Pass),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_statuses_are_pass_violated_could_not_check() {
        assert_eq!(Exit::Outcome(Outcome::Pass).code(), 0);
        assert_eq!(Exit::Informed.code(), 0);
        assert_eq!(Exit::Outcome(Outcome::Violated).code(), 1);
        assert_eq!(Exit::Outcome(Outcome::CouldNotCheck).code(), 2);
        assert_eq!(Exit::Failed.code(), 2);
    }
}
