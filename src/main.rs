//! The `secgate` command: parses arguments, runs the scanners, writes the
//! outputs, prints the summary and exits. The only module that prints or exits.

mod cli;

use anyhow::{bail, Context, Result};
use clap::Parser;
use cli::args::{parse_scanners, Cli, Command, HookCommand, HookOptions, ScanArgs};
use cli::db::{refresh_cache, run_db};
use cli::new_runtime;
use cli::output::{print_way_out, verbose_report, with_progress};
use cli::policy::{load_policy, read_policy};
use secgate::baseline::Baseline;
use secgate::error::DbError;
use secgate::files::{check_writable, write_atomically};
use secgate::finding::Scanner;
use secgate::gate::verdict::Outcome;
use secgate::policy::{Policy, DEFAULT_POLICY_NAME};
use secgate::report::{gate, github, sarif, summary};
use secgate::scan::context::ScanContext;
use secgate::scan::output::ScanOutput;
use secgate::scan::settings::GitScope;
use secgate::scan::{self};
use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

const EXIT_PASS: u8 = 0;
const EXIT_VIOLATED: u8 = 1;
const EXIT_COULD_NOT_CHECK: u8 = 2;

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
            eprintln!("secgate: error: {error:#}");
            if let Some(error) = error.downcast_ref::<DbError>() {
                print_way_out(error);
            }
            ExitCode::from(EXIT_COULD_NOT_CHECK)
        }
    }
}

/// Pull-request mode: the fingerprints of the advisory findings at `base`
/// (its `Cargo.lock` files checked against the same database), as a baseline.
fn base_fingerprints(
    root: &Path,
    base: &str,
    context: &ScanContext,
    notices: &mut Vec<String>,
) -> Result<Baseline> {
    let top = secgate::git::top(root)?;
    let prefix = secgate::git::prefix(root)?;
    let snapshot = secgate::git::lockfiles_at(&top, base, &prefix)?;
    let mut base_context = context.clone();
    base_context.root = snapshot.path().to_path_buf();
    base_context.offline = true;
    base_context.git_scope = None;
    base_context.inventories = Default::default();
    let output = scan::run_one(Scanner::Advisories, &base_context);
    if let Some(error) = &output.error {
        notices.push(format!(
            "pull-request mode: the advisory check of {base} failed ({error}); every advisory finding counts as new"
        ));
    }
    Ok(Baseline {
        source: format!("the base {base}"),
        fingerprints: output.findings.into_iter().map(|f| f.fingerprint).collect(),
    })
}

/// Scans and gates; with `baseline_output`, records a baseline instead.
/// Which scanners a command runs: those `--scanners` chose, or the one a
/// single-scanner subcommand (`audit`, `secrets`, `sbom`) is about.
#[derive(Clone, Copy)]
enum Selection<'a> {
    Chosen(&'a [Scanner]),
    Only(Scanner),
}

fn run_check(args: &ScanArgs, selection: Selection, baseline_output: Option<&Path>) -> Result<u8> {
    let only;
    let scanners = match selection {
        Selection::Chosen(scanners) => scanners,
        Selection::Only(scanner) => {
            only = [scanner];
            &only[..]
        }
    };
    let started = std::time::Instant::now();
    if !args.path.exists() {
        bail!("{}: no such file or directory", args.path.display());
    }
    let root = args.path.clone();
    let (policy, mut notices) = load_policy(args, &root)?;
    let policy = Arc::new(policy);
    let mut baseline = match &args.baseline {
        Some(path) => Some(Baseline::load(path)?),
        None => None,
    };
    let writes_sbom = baseline_output.is_none() && scanners.contains(&Scanner::Sbom);
    // Unwritable outputs fail before minutes of scanning, not after.
    if let Some(output) = baseline_output {
        check_writable(output)?;
    } else {
        check_writable(&args.sarif)?;
    }
    if writes_sbom {
        check_writable(&args.sbom)?;
    }
    if let (Some(path), None) = (&args.report, baseline_output) {
        check_writable(path)?;
    }
    let mut context = ScanContext::new(root.clone(), Arc::new(policy.scan.clone()));
    context.advisory_db = args.db.clone();
    context.offline = args.offline;
    context.target = args.target.clone();
    context.sbom.format = args.sbom_format;
    context.sbom.per_member = args.sbom_per_member;
    context.sbom.build_dependencies = !args.sbom_no_build_deps;
    context.git_scope = args.git_scope();
    context.own_outputs = own_outputs(args, &root, baseline_output);
    let pr_context = context.clone();

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

    if let Some(base) = &args.new_since {
        if scanners.contains(&Scanner::Advisories) {
            let at_base = base_fingerprints(&root, base, &pr_context, &mut notices)?;
            baseline = Some(match baseline {
                None => at_base,
                Some(mut given) => {
                    given.fingerprints.extend(at_base.fingerprints);
                    given.source = format!("{} and {}", given.source, at_base.source);
                    given
                }
            });
        }
    }

    if args.new_since.is_some() {
        baseline = with_moved_secrets(baseline, &outputs);
    }

    let today = time::OffsetDateTime::now_utc().date();
    let mut verdict = policy
        .gate
        .evaluate_against(&outputs, today, baseline.as_ref());
    if let Selection::Chosen(scanners) = selection {
        verdict
            .warnings
            .extend(policy.gate.unselected_external(scanners));
    }

    if let Some(output) = baseline_output {
        if verdict.outcome == Outcome::CouldNotCheck {
            for reason in &verdict.reasons {
                eprintln!("secgate: {reason}");
            }
            bail!("no baseline written: a scanner could not check");
        }
        write_atomically(output, &secgate::baseline::render(&verdict))?;
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

    write_atomically(&args.sarif, &sarif::render(&outputs, &verdict))?;
    let mut sbom_written = None;
    let mut sbom_bytes = None;
    if writes_sbom {
        for document in outputs.iter().flat_map(|o| &o.sbom) {
            let path = match &document.member {
                None => args.sbom.clone(),
                Some(member) => {
                    secgate::scan::sbom::member_path(&args.sbom, member, args.sbom_format)
                }
            };
            write_atomically(&path, &document.bytes)?;
            if document.member.is_none() {
                sbom_written = Some(args.sbom.as_path());
                sbom_bytes = Some(document.bytes.as_slice());
            }
        }
    }

    let code = match verdict.outcome {
        Outcome::Pass => EXIT_PASS,
        Outcome::Violated => EXIT_VIOLATED,
        Outcome::CouldNotCheck => EXIT_COULD_NOT_CHECK,
    };
    if let Some(path) = &args.report {
        let sarif_path = args.sarif.display().to_string();
        let sbom_path = args.sbom.display().to_string();
        let context = gate::GateContext {
            exit_code: code,
            policy_source: &policy.source,
            profile: policy.profile.as_deref(),
            new_since: args.new_since.as_deref(),
            sarif: Some(&sarif_path),
            sbom: sbom_bytes.map(|bytes| (sbom_path.as_str(), bytes)),
        };
        write_atomically(path, &gate::render(&outputs, &verdict, &context))?;
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
    for notice in &notices {
        eprintln!("secgate: note: {notice}");
    }
    if args.verbose {
        eprint!("{}", verbose_report(&policy, &outputs, started.elapsed()));
    }
    if args.github_format() {
        print!("{}", github::annotations(&verdict, &path_prefix(&root)));
        if let Some(file) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|f| !f.is_empty()) {
            let options = github::GithubSummaryOptions {
                policy_source: &policy.source,
                notices: &notices,
                sarif: Some(&args.sarif),
                sbom: sbom_written,
                report: args.report.as_deref(),
            };
            append(
                Path::new(&file),
                github::step_summary(&outputs, &verdict, &options).as_bytes(),
            )?;
        }
    }
    Ok(code)
}

/// The files this run writes or reads as its own (SARIF, SBOM, report,
/// baseline): never scanned for secrets, by this run or the next.
fn own_outputs(
    args: &ScanArgs,
    root: &Path,
    baseline_output: Option<&Path>,
) -> secgate::scan::scope::OwnOutputs {
    let mut own = secgate::scan::scope::OwnOutputs::default();
    if root.is_file() {
        return own;
    }
    for path in [Some(args.sarif.as_path()), Some(args.sbom.as_path())]
        .into_iter()
        .chain([
            args.report.as_deref(),
            args.baseline.as_deref(),
            baseline_output,
        ])
        .flatten()
    {
        own.add(root, path);
    }
    if args.sbom_per_member {
        // `<stem>.<member>.cdx.<ext>` beside the SBOM.
        let example = secgate::scan::sbom::member_path(&args.sbom, "\u{0}", args.sbom_format);
        let name = example
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if let Some((prefix, suffix)) = name.split_once('\u{0}') {
            let dir = secgate::files::directory_of(&args.sbom);
            own.add_family(root, dir, prefix, suffix);
        }
    }
    own
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

/// Appends to a file GitHub reads after the step (`$GITHUB_STEP_SUMMARY`,
/// `$GITHUB_OUTPUT`): appending, not replacing, is its protocol. One write.
fn append(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut file| file.write_all(bytes))
        .with_context(|| format!("cannot append to {}", path.display()))
}

fn run_hook(command: HookCommand) -> Result<u8> {
    use secgate::hook::{self, InstallMode, Installed, Uninstalled};
    match command {
        HookCommand::Install { force, chain, repo } => {
            let hooks = hook::hooks_dir(&repo)?;
            let mode = match (force, chain) {
                (true, _) => InstallMode::Force,
                (_, true) => InstallMode::Chain,
                _ => InstallMode::Refuse,
            };
            let exe = std::env::current_exe().context("cannot locate the secgate binary")?;
            let outcome = hook::install(&hooks, &exe, mode)?;
            let target = hooks.join("pre-push");
            match outcome {
                Installed::New => eprintln!("secgate: installed {}", target.display()),
                Installed::Updated => eprintln!("secgate: updated {}", target.display()),
                Installed::ReplacedForeign => {
                    eprintln!("secgate: replaced the existing {}", target.display())
                }
                Installed::ChainedForeign => eprintln!(
                    "secgate: installed {}; the previous hook is now {} and runs first",
                    target.display(),
                    hooks.join(hook::CHAINED_NAME).display()
                ),
            }
            Ok(EXIT_PASS)
        }
        HookCommand::Uninstall { repo } => {
            let hooks = hook::hooks_dir(&repo)?;
            match hook::uninstall(&hooks)? {
                Uninstalled::NotInstalled => eprintln!("secgate: no pre-push hook installed"),
                Uninstalled::Removed => eprintln!("secgate: removed the pre-push hook"),
                Uninstalled::RestoredChained => eprintln!(
                    "secgate: removed the pre-push hook; {} is pre-push again",
                    hook::CHAINED_NAME
                ),
            }
            Ok(EXIT_PASS)
        }
        HookCommand::PrePush { options, .. } => {
            let mut input = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut input)
                .context("cannot read the pre-push input")?;
            let lines = hook::parse_push_lines(&input)?;
            let top = secgate::git::top(Path::new("."))?;
            let ranges = hook::push_ranges(&top, &lines)?;
            gate_pushed(&options, &top, &ranges)
        }
        HookCommand::PreCommit { options } => {
            let top = secgate::git::top(Path::new("."))?;
            let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
            let refs = (var("PRE_COMMIT_FROM_REF"), var("PRE_COMMIT_TO_REF"));
            match (refs, var("PRE_COMMIT_REMOTE_NAME")) {
                ((Some(from), Some(to)), _) => {
                    let range = hook::range_from_refs(&top, &from, &to)?;
                    gate_pushed(&options, &top, &[range])
                }
                // The pre-push stage gives no refs when the push includes a
                // root commit; the index has nothing to do with the push.
                ((None, None), Some(remote)) => {
                    let local = var("PRE_COMMIT_LOCAL_BRANCH").unwrap_or_else(|| "HEAD".into());
                    let range = hook::range_not_on_remote(&top, &local, &remote)?;
                    gate_pushed(&options, &top, &[range])
                }
                ((Some(_), None) | (None, Some(_)), _) => bail!(
                    "PRE_COMMIT_FROM_REF and PRE_COMMIT_TO_REF must be set together (pre-commit sets both or neither)"
                ),
                ((None, None), None) => {
                    let policy = Arc::new(read_policy(options.config.as_deref(), &top, None)?);
                    let mut context = ScanContext::new(top.clone(), Arc::new(policy.scan.clone()));
                    context.git_scope = Some(GitScope::Staged);
                    let outputs = vec![scan::run_one(Scanner::Secrets, &context)];
                    let moved = with_moved_secrets(None, &outputs);
                    Ok(gate_locally(
                        &options,
                        &top,
                        &policy,
                        &outputs,
                        moved.as_ref(),
                    ))
                }
            }
        }
    }
}

/// Checks exactly the pushed commits: secrets in their added lines, and the
/// advisories of each pushed tip's Cargo.lock files when a commit changed one
/// (findings already present at the remote's previous tip count as existing).
fn gate_pushed(
    options: &HookOptions,
    top: &Path,
    ranges: &[secgate::hook::PushRange],
) -> Result<u8> {
    let mut commits: Vec<String> = Vec::new();
    for range in ranges {
        for commit in &range.commits {
            if !commits.contains(commit) {
                commits.push(commit.clone());
            }
        }
    }
    if commits.is_empty() {
        if !options.quiet {
            eprintln!("secgate: no new commits to check");
        }
        return Ok(EXIT_PASS);
    }
    let policy = Arc::new(read_policy(options.config.as_deref(), top, None)?);
    let mut context = ScanContext::new(top.to_path_buf(), Arc::new(policy.scan.clone()));
    context.advisory_db = options.db.clone();
    context.offline = options.offline;
    context.git_scope = Some(GitScope::Commits(commits.clone()));
    let mut outputs = vec![scan::run_one(Scanner::Secrets, &context)];

    let lock_changed = secgate::git::changed_paths(top, &commits)?
        .iter()
        .any(|p| p == "Cargo.lock" || p.ends_with("/Cargo.lock"));
    let mut existing = Baseline {
        source: "the remote's previous tip".to_string(),
        ..Baseline::default()
    };
    if lock_changed {
        if options.db.is_none() && !options.offline {
            new_runtime()?.block_on(refresh_cache(&policy, options.quiet))?;
        }
        let mut merged = ScanOutput::new(Scanner::Advisories);
        let audit = |rev: &str| -> Result<ScanOutput> {
            let snapshot = secgate::git::lockfiles_at(top, rev, "")?;
            let mut at = context.clone();
            at.root = snapshot.path().to_path_buf();
            at.git_scope = None;
            at.offline = true;
            at.inventories = Default::default();
            Ok(scan::run_one(Scanner::Advisories, &at))
        };
        for range in ranges.iter().filter(|r| !r.commits.is_empty()) {
            let output = audit(&range.tip)?;
            for finding in output.findings {
                if !merged
                    .findings
                    .iter()
                    .any(|f| f.fingerprint == finding.fingerprint)
                {
                    merged.findings.push(finding);
                }
            }
            merged.rules.extend(output.rules);
            merged.warnings.extend(output.warnings);
            merged.database = merged.database.or(output.database);
            if let Some(error) = output.error {
                merged.error = Some(error);
            }
            if let Some(previous) = &range.previous {
                existing
                    .fingerprints
                    .extend(audit(previous)?.findings.into_iter().map(|f| f.fingerprint));
            }
        }
        merged.notes.push(format!(
            "a Cargo.lock changed in the pushed commits: checked the pushed tip{}",
            if ranges.len() == 1 { "" } else { "s" }
        ));
        outputs.push(merged);
    }
    let existing = with_moved_secrets(Some(existing), &outputs);
    Ok(gate_locally(
        options,
        top,
        &policy,
        &outputs,
        existing.as_ref(),
    ))
}

/// Adds to `baseline` the secrets the gated changes removed somewhere: the
/// same secret added elsewhere in those changes was moved, and already
/// existed before them.
fn with_moved_secrets(baseline: Option<Baseline>, outputs: &[ScanOutput]) -> Option<Baseline> {
    let removed: Vec<&String> = outputs.iter().flat_map(|o| &o.removed_secrets).collect();
    if removed.is_empty() {
        return baseline;
    }
    const MOVED: &str = "secrets the same changes removed elsewhere (moved)";
    let mut baseline = baseline.unwrap_or_else(|| Baseline {
        source: MOVED.to_string(),
        ..Baseline::default()
    });
    if baseline.source != MOVED {
        baseline.source = format!("{} and {MOVED}", baseline.source);
    }
    baseline.fingerprints.extend(removed.into_iter().cloned());
    Some(baseline)
}

/// Evaluates and prints for a local hook; the exit code. The SARIF goes
/// inside the git directory, where it dirties no work tree.
fn gate_locally(
    options: &HookOptions,
    top: &Path,
    policy: &Policy,
    outputs: &[ScanOutput],
    existing: Option<&Baseline>,
) -> u8 {
    let today = time::OffsetDateTime::now_utc().date();
    let verdict = policy.gate.evaluate_against(outputs, today, existing);
    let sarif = secgate::git::git_dir(top)
        .ok()
        .map(|dir| dir.join("secgate").join("hook.sarif"))
        .filter(|path| {
            let written = path
                .parent()
                .map_or(Ok(()), std::fs::create_dir_all)
                .map_err(anyhow::Error::from)
                .and_then(|()| {
                    write_atomically(path, &sarif::render(outputs, &verdict))
                        .map_err(anyhow::Error::from)
                });
            if let Err(error) = &written {
                eprintln!("secgate: warning: no SARIF written: {error:#}");
            }
            written.is_ok()
        });
    if options.quiet {
        eprintln!(
            "secgate: {}: {} finding(s) fail the gate",
            gate::verdict_word(verdict.outcome).to_uppercase(),
            verdict.failing
        );
    } else {
        let summary_options = summary::SummaryOptions {
            root: top,
            policy_source: &policy.source,
            sarif: sarif.as_deref(),
            sbom: None,
            color: std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        };
        eprint!("{}", summary::render(outputs, &verdict, &summary_options));
    }
    match verdict.outcome {
        Outcome::Pass => EXIT_PASS,
        Outcome::Violated => {
            let policy_file = if policy.source == DEFAULT_POLICY_NAME {
                "secgate.toml at the top of the repository (`secgate init` writes one)".to_string()
            } else {
                policy.source.clone()
            };
            let blocked = summary::BlockedOptions {
                policy_source: &policy_file,
                allow_inline: policy.gate.allow_inline,
                sarif: sarif.as_deref(),
            };
            eprint!("{}", summary::blocked(&verdict, &blocked));
            EXIT_VIOLATED
        }
        Outcome::CouldNotCheck => EXIT_COULD_NOT_CHECK,
    }
}
