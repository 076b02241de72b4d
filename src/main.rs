//! The `secgate` command: parses arguments, runs the scanners, writes the
//! outputs, prints the summary and exits. The only module that prints or exits.

mod cli;

use clap::Parser;
use cli::args::{parse_scanners, Cli, Command};
use cli::check::{run_check, Selection};
use cli::db::run_db;
use cli::hook::run_hook;
use cli::output;
use secgate::finding::Scanner;
use std::process::ExitCode;

const EXIT_PASS: u8 = 0;
const EXIT_VIOLATED: u8 = 1;
const EXIT_COULD_NOT_CHECK: u8 = 2;

/// Set to make `main` panic with the variable's value as payload: how the
/// tests prove the panic hook never prints a payload.
const TEST_PANIC_ENV: &str = "SECGATE_TEST_PANIC";

fn main() -> ExitCode {
    output::install_panic_hook();
    if let Some(payload) = std::env::var_os(TEST_PANIC_ENV) {
        panic!("test panic: {}", payload.to_string_lossy());
    }
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(args) => match parse_scanners(&args.scanners) {
            Ok(scanners) => run_check(&args.scan, Selection::Chosen(&scanners), None),
            Err(error) => Err(error),
        },
        Command::Audit(args) => run_check(&args, Selection::Only(Scanner::Advisories), None),
        Command::Secrets(args) => run_check(&args, Selection::Only(Scanner::Secrets), None),
        Command::Sbom(args) => run_check(&args, Selection::Only(Scanner::Sbom), None),
        Command::Baseline { check, output } => match parse_scanners(&check.scanners) {
            Ok(scanners) => run_check(&check.scan, Selection::Chosen(&scanners), Some(&output)),
            Err(error) => Err(error),
        },
        Command::Db { command } => run_db(command),
        Command::Hook { command } => run_hook(command),
        Command::Init { path, force } => cli::init::init(&path, force).map(|()| EXIT_PASS),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            output::error(&error);
            ExitCode::from(EXIT_COULD_NOT_CHECK)
        }
    }
}
