//! The `secgate` command: parses arguments, runs the scanners, writes the
//! outputs, prints the summary and exits. The only module that prints or exits.

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use secgate::baseline::Baseline;
use secgate::config::{format_duration, Threshold};
use secgate::db::{self, Cache, UpdateOutcome};
use secgate::finding::Scanner;
use secgate::policy::{Outcome, Policy, DEFAULT_POLICY_TOML};
use secgate::report::{self, sarif, summary};
use secgate::scan::secrets::history::GitScope;
use secgate::scan::{self, SbomFormat, ScanContext};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

const EXIT_PASS: u8 = 0;
const EXIT_VIOLATED: u8 = 1;
const EXIT_COULD_NOT_CHECK: u8 = 2;

#[derive(Parser)]
#[command(
    name = "secgate",
    version,
    about = "A security gate for CI: RustSec advisories, leaked secrets and a CycloneDX SBOM, one SARIF, one verdict."
)]
#[command(after_help = "Exit status: 0 pass, 1 policy violated, 2 could not check.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the scanners (all by default) and gate on the policy.
    Check(CheckArgs),
    /// Check dependencies against the RustSec advisory database only.
    Audit(ScanArgs),
    /// Scan the working tree for leaked credentials only.
    Secrets(ScanArgs),
    /// Write the CycloneDX SBOM only.
    Sbom(ScanArgs),
    /// Record the current findings as a baseline: later runs given
    /// `--baseline FILE` report them as existing, never as new.
    Baseline {
        #[command(flatten)]
        check: CheckArgs,
        /// Where to write the baseline.
        #[arg(
            long,
            short,
            value_name = "FILE",
            default_value = ".secgate-baseline.json"
        )]
        output: PathBuf,
    },
    /// Manage the cached RustSec advisory database.
    Db {
        #[command(subcommand)]
        command: DbCommand,
    },
    /// Write a commented secgate.toml with the default policy.
    Init {
        /// Directory to write secgate.toml into.
        #[arg(default_value = ".")]
        path: PathBuf,
        /// Overwrite an existing secgate.toml.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Subcommand)]
enum DbCommand {
    /// Download the advisory database into the cache (a conditional request:
    /// nothing is downloaded when it has not changed).
    Update {
        /// Archive to download [default: $SECGATE_DB_URL, else the policy's db.url].
        #[arg(long, value_name = "URL")]
        url: Option<String>,
        /// Policy file for `[db]` [default: ./secgate.toml, else the built-in policy].
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Show the cached database: path, when it was fetched, its age and size.
    Status {
        /// Policy file for `[db]` [default: ./secgate.toml, else the built-in policy].
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
}

#[derive(Args)]
struct CheckArgs {
    #[command(flatten)]
    scan: ScanArgs,
    /// Scanners to run, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "advisories,secrets,sbom")]
    scanners: Vec<String>,
}

#[derive(Args)]
struct ScanArgs {
    /// The repository to check (or, for the advisory check, one Cargo.lock).
    #[arg(default_value = ".")]
    path: PathBuf,
    /// Policy file [default: secgate.toml at the scanned root, else the built-in policy].
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Where to write the SARIF report.
    #[arg(long, value_name = "FILE", default_value = "secgate.sarif")]
    sarif: PathBuf,
    /// Where to write the SBOM.
    #[arg(long, value_name = "FILE", default_value = "sbom.cdx.json")]
    sbom: PathBuf,
    /// Least severity that fails the gate; overrides the policy: critical, high, medium, low, info, none.
    #[arg(long, value_name = "SEVERITY", value_parser = parse_threshold)]
    fail_on: Option<Threshold>,
    /// RustSec advisory database directory.
    #[arg(long, value_name = "DIR", env = "SECGATE_DB")]
    db: Option<PathBuf>,
    /// SBOM format: cyclonedx-json-1.5 or cyclonedx-xml-1.5.
    #[arg(long, value_name = "FORMAT", default_value = "cyclonedx-json-1.5", value_parser = parse_sbom_format)]
    sbom_format: SbomFormat,
    /// Also write one SBOM per workspace member, as <stem>.<member>.cdx.<ext> beside --sbom.
    #[arg(long)]
    sbom_per_member: bool,
    /// Leave build-dependencies out of the SBOM (default: kept with scope "excluded").
    #[arg(long)]
    sbom_no_build_deps: bool,
    /// Only dependencies of this target triple [default: all platforms].
    #[arg(long, value_name = "TRIPLE")]
    target: Option<String>,
    /// Never use the network.
    #[arg(long)]
    offline: bool,
    /// Print only the verdict line.
    #[arg(short, long)]
    quiet: bool,
    /// Findings in this baseline (a secgate baseline, or a SARIF file of an earlier run) are existing, not new.
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// Secrets: scan the lines added by every commit reachable from HEAD instead of the working tree.
    #[arg(long, conflicts_with_all = ["since", "range", "staged"])]
    history: bool,
    /// Secrets: scan the commits since REF (REF..HEAD).
    #[arg(long, value_name = "REF", conflicts_with_all = ["range", "staged"])]
    since: Option<String>,
    /// Secrets: scan the commits of a revision range A..B.
    #[arg(long, value_name = "A..B", conflicts_with = "staged")]
    range: Option<String>,
    /// Secrets: scan the staged changes (the index).
    #[arg(long)]
    staged: bool,
}

impl ScanArgs {
    fn git_scope(&self) -> Option<GitScope> {
        if self.history {
            Some(GitScope::All)
        } else if let Some(base) = &self.since {
            Some(GitScope::Since(base.clone()))
        } else if let Some(range) = &self.range {
            Some(GitScope::Range(range.clone()))
        } else if self.staged {
            Some(GitScope::Staged)
        } else {
            None
        }
    }
}

fn parse_threshold(text: &str) -> Result<Threshold, String> {
    Threshold::parse(text).ok_or_else(|| format!("expected one of {}", Threshold::NAMES))
}

fn parse_sbom_format(text: &str) -> Result<SbomFormat, String> {
    SbomFormat::parse(text).ok_or_else(|| format!("expected one of {}", SbomFormat::NAMES))
}

/// Set to make `main` panic with the variable's value as payload: how the
/// tests prove the panic hook never prints a payload.
const TEST_PANIC_ENV: &str = "SECGATE_TEST_PANIC";

/// A panic's payload may hold scanned bytes (a secret in a format string):
/// report where it happened, never what it said, and exit 2 (fail closed).
fn install_panic_hook() {
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

fn main() -> ExitCode {
    install_panic_hook();
    if let Some(payload) = std::env::var_os(TEST_PANIC_ENV) {
        panic!("test panic: {}", payload.to_string_lossy());
    }
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(args) => match parse_scanners(&args.scanners) {
            Ok(scanners) => run_check(&args.scan, &scanners, None),
            Err(error) => Err(error),
        },
        Command::Audit(args) => run_check(&args, &[Scanner::Advisories], None),
        Command::Secrets(args) => run_check(&args, &[Scanner::Secrets], None),
        Command::Sbom(args) => run_check(&args, &[Scanner::Sbom], None),
        Command::Baseline { check, output } => match parse_scanners(&check.scanners) {
            Ok(scanners) => run_check(&check.scan, &scanners, Some(&output)),
            Err(error) => Err(error),
        },
        Command::Db { command } => run_db(command),
        Command::Init { path, force } => init(&path, force).map(|()| EXIT_PASS),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("secgate: error: {error:#}");
            ExitCode::from(EXIT_COULD_NOT_CHECK)
        }
    }
}

fn parse_scanners(names: &[String]) -> Result<Vec<Scanner>> {
    let mut scanners = Vec::new();
    for name in names {
        let name = name.trim();
        match Scanner::parse(name) {
            Some(scanner) if !scanners.contains(&scanner) => scanners.push(scanner),
            Some(_) => {}
            None => {
                bail!("--scanners: unknown scanner `{name}`, expected advisories, secrets or sbom")
            }
        }
    }
    if scanners.is_empty() {
        bail!("--scanners: name at least one scanner");
    }
    scanners.sort();
    Ok(scanners)
}

fn load_policy(args: &ScanArgs, root: &Path) -> Result<Policy> {
    let mut policy = read_policy(args.config.as_deref(), root)?;
    if let Some(threshold) = args.fail_on {
        policy.override_fail_on(threshold);
    }
    Ok(policy)
}

/// `config`, else `secgate.toml` in `root` (a directory), else the built-in policy.
fn read_policy(config: Option<&Path>, root: &Path) -> Result<Policy> {
    let file = match config {
        Some(path) => Some(path.to_path_buf()),
        None => {
            let beside = if root.is_dir() {
                root.join("secgate.toml")
            } else {
                PathBuf::new()
            };
            beside.is_file().then_some(beside)
        }
    };
    Ok(match file {
        Some(path) => {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read policy {}", path.display()))?;
            Policy::from_toml(&path.display().to_string(), &text)?
        }
        None => Policy::builtin(),
    })
}

/// `SECGATE_HTTP_TIMEOUT_SECS`, else the default.
fn http_timeout() -> Result<std::time::Duration> {
    match std::env::var(db::TIMEOUT_ENV) {
        Err(_) => Ok(db::DEFAULT_TIMEOUT),
        Ok(text) => match text.trim().parse::<u64>() {
            Ok(seconds) if seconds > 0 => Ok(std::time::Duration::from_secs(seconds)),
            _ => bail!(
                "{}: expected a whole number of seconds above 0, not `{text}`",
                db::TIMEOUT_ENV
            ),
        },
    }
}

fn new_runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_time()
        .enable_io()
        .build()
        .context("cannot start the async runtime")
}

fn run_db(command: DbCommand) -> Result<u8> {
    let cache = Cache::default_location()?;
    let now = time::OffsetDateTime::now_utc();
    match command {
        DbCommand::Update { url, config } => {
            let policy = read_policy(config.as_deref(), Path::new("."))?;
            let url = url.unwrap_or_else(|| db::resolve_url(&policy.db.url));
            let timeout = http_timeout()?;
            let outcome = new_runtime()?.block_on(db::update(&url, &cache, timeout))?;
            match outcome {
                UpdateOutcome::Updated { advisories } => eprintln!(
                    "secgate: advisory database updated: {advisories} advisories from {url} in {}",
                    cache.dir().display()
                ),
                UpdateOutcome::NotModified | UpdateOutcome::AlreadyFresh => eprintln!(
                    "secgate: advisory database is up to date (not modified at {url}): {}",
                    cache.dir().display()
                ),
            }
            Ok(EXIT_PASS)
        }
        DbCommand::Status { config } => {
            let policy = read_policy(config.as_deref(), Path::new("."))?;
            println!("path:       {}", cache.dir().display());
            if !cache.is_present() {
                println!(
                    "status:     missing (run `secgate db update`, or pass --db DIR to check)"
                );
                return Ok(EXIT_COULD_NOT_CHECK);
            }
            match cache.record() {
                Some(record) => {
                    let age = cache
                        .age(now)
                        .map(|age| format!(" ({} ago)", format_duration(age)))
                        .unwrap_or_default();
                    println!("fetched-at: {}{age}", record.fetched_at);
                    println!("url:        {}", record.url);
                }
                None => println!("fetched-at: unknown (no fetch record)"),
            }
            let guard = db::read_guard(cache.dir());
            let database = rustsec::Database::open(cache.dir()).with_context(|| {
                format!("advisory database {} does not load", cache.dir().display())
            })?;
            drop(guard);
            let freshness = db::freshness(&database, cache.dir(), now);
            println!(
                "advisories: {}, newest {}",
                freshness.advisories,
                freshness.newest.as_deref().unwrap_or("unknown")
            );
            let max_age = policy.advisories.db_max_age;
            match freshness.age {
                Some(age) if age > max_age => println!(
                    "age:        {} (stale: older than db.max-age = {})",
                    format_duration(age),
                    format_duration(max_age)
                ),
                Some(age) => println!(
                    "age:        {} (db.max-age = {})",
                    format_duration(age),
                    format_duration(max_age)
                ),
                None => println!("age:        unknown"),
            }
            Ok(EXIT_PASS)
        }
    }
}

/// Before an advisory check on the cache: fetch when it is missing or older
/// than `db.refresh`. A failure with an older cache present is a warning;
/// without one, the advisory scanner reports the missing database.
async fn refresh_cache(policy: &Policy, quiet: bool) -> Result<()> {
    let cache = Cache::default_location()?;
    if !cache.is_due(policy.db.refresh, time::OffsetDateTime::now_utc()) {
        return Ok(());
    }
    let url = db::resolve_url(&policy.db.url);
    match db::refresh(&url, &cache, http_timeout()?, policy.db.refresh).await {
        Ok(UpdateOutcome::Updated { advisories }) if !quiet => {
            eprintln!("secgate: advisory database updated: {advisories} advisories from {url}")
        }
        Ok(_) => {}
        Err(error) if cache.is_present() => {
            let age = cache
                .age(time::OffsetDateTime::now_utc())
                .map(|age| format!(" (fetched {} ago)", format_duration(age)))
                .unwrap_or_default();
            eprintln!("secgate: warning: {error}; using the cached database{age}");
        }
        Err(error) => eprintln!("secgate: error: {error}"),
    }
    Ok(())
}

/// Scans and gates; with `baseline_output`, records a baseline instead.
fn run_check(args: &ScanArgs, scanners: &[Scanner], baseline_output: Option<&Path>) -> Result<u8> {
    if !args.path.exists() {
        bail!("{}: no such file or directory", args.path.display());
    }
    let root = args.path.clone();
    let policy = Arc::new(load_policy(args, &root)?);
    let baseline = match &args.baseline {
        Some(path) => Some(Baseline::load(path)?),
        None => None,
    };
    let writes_sbom = baseline_output.is_none() && scanners.contains(&Scanner::Sbom);
    // Unwritable outputs fail before minutes of scanning, not after.
    if let Some(output) = baseline_output {
        report::check_writable(output)?;
    } else {
        report::check_writable(&args.sarif)?;
    }
    if writes_sbom {
        report::check_writable(&args.sbom)?;
    }
    let mut context = ScanContext::new(root.clone(), Arc::clone(&policy));
    context.advisory_db = args.db.clone();
    context.offline = args.offline;
    context.target = args.target.clone();
    context.sbom.format = args.sbom_format;
    context.sbom.per_member = args.sbom_per_member;
    context.sbom.build_dependencies = !args.sbom_no_build_deps;
    context.git_scope = args.git_scope();

    let interactive = !args.quiet
        && std::io::stderr().is_terminal()
        && std::env::var_os("CI").is_none()
        && std::env::var_os("NO_COLOR").is_none();
    let runtime = new_runtime()?;
    let uses_cache = scanners.contains(&Scanner::Advisories) && args.db.is_none();
    let outputs = runtime.block_on(async {
        if uses_cache && !args.offline {
            refresh_cache(&policy, args.quiet).await?;
        }
        let scanning = scan::run_all(scanners, context);
        anyhow::Ok(if interactive {
            with_progress(scanning, scanners).await
        } else {
            scanning.await
        })
    })?;

    let today = time::OffsetDateTime::now_utc().date();
    let verdict = policy.evaluate_against(&outputs, today, baseline.as_ref());

    if let Some(output) = baseline_output {
        if verdict.outcome == Outcome::CouldNotCheck {
            for reason in &verdict.reasons {
                eprintln!("secgate: {reason}");
            }
            bail!("no baseline written: a scanner could not check");
        }
        report::write_atomically(output, &secgate::baseline::render(&verdict))?;
        let recorded = verdict
            .findings
            .iter()
            .filter(|f| f.suppression.is_none())
            .count();
        eprintln!(
            "secgate: recorded {recorded} finding(s) in {}",
            output.display()
        );
        return Ok(EXIT_PASS);
    }

    report::write_atomically(&args.sarif, &sarif::render(&outputs, &verdict))?;
    let mut sbom_written = None;
    if writes_sbom {
        for document in outputs.iter().flat_map(|o| &o.sbom) {
            let path = match &document.member {
                None => args.sbom.clone(),
                Some(member) => {
                    secgate::scan::sbom::member_path(&args.sbom, member, args.sbom_format)
                }
            };
            report::write_atomically(&path, &document.bytes)?;
            if document.member.is_none() {
                sbom_written = Some(args.sbom.as_path());
            }
        }
    }

    let color = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none()
        && std::env::var_os("CI").is_none();
    if args.quiet {
        let word = match verdict.outcome {
            Outcome::Pass => "PASS",
            Outcome::Violated => "FAIL",
            Outcome::CouldNotCheck => "ERROR",
        };
        eprintln!(
            "secgate: {word}: {} finding(s) fail the gate",
            verdict.failing
        );
        for reason in verdict.reasons.iter().filter(|r| r.starts_with("scanner ")) {
            eprintln!("  - {reason}");
        }
    } else {
        let options = summary::SummaryOptions {
            root: &root,
            policy_source: &policy.source,
            sarif: Some(&args.sarif),
            sbom: sbom_written,
            color,
        };
        eprint!("{}", summary::render(&outputs, &verdict, &options));
    }
    Ok(match verdict.outcome {
        Outcome::Pass => EXIT_PASS,
        Outcome::Violated => EXIT_VIOLATED,
        Outcome::CouldNotCheck => EXIT_COULD_NOT_CHECK,
    })
}

/// A spinner on stderr while the scanners run (interactive terminals only).
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

fn init(directory: &Path, force: bool) -> Result<()> {
    if !directory.is_dir() {
        bail!("{}: not a directory", directory.display());
    }
    let target = directory.join("secgate.toml");
    if target.exists() && !force {
        bail!(
            "{} already exists (use --force to overwrite)",
            target.display()
        );
    }
    report::write_atomically(&target, DEFAULT_POLICY_TOML.as_bytes())?;
    eprintln!("secgate: wrote {}", target.display());
    Ok(())
}
