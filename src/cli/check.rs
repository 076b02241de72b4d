//! `secgate check` and its single-scanner and baseline variants: load the
//! policy (the base's in pull-request mode), run the scanners, gate their
//! findings, write the SARIF, SBOM and report, and hand the terminal output
//! to `output`.

use super::args::ScanArgs;
use super::db::{refresh_cache, refresh_osv};
use super::new_runtime;
use super::output;
use super::policy::load_policy;
use crate::Exit;
use anyhow::{bail, Context, Result};
use secgate::baseline::Baseline;
use secgate::files::{check_writable, write_atomically};
use secgate::finding::Scanner;
use secgate::gate::verdict::Outcome;
use secgate::report::{gate, github, sarif};
use secgate::scan::context::ScanContext;
use secgate::scan::output::ScanOutput;
use secgate::scan::{self};
use std::path::Path;
use std::sync::Arc;

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
    let output = advisories_at(context, &top, base, &prefix)?;
    if let Some(error) = &output.error {
        notices.push(format!(
            "pull-request mode: the advisory check of {base} failed ({error}); every advisory finding counts as new"
        ));
    }
    Ok(Baseline {
        source: format!("the base {base}"),
        fingerprints: output.findings.into_iter().map(|f| f.fingerprint).collect(),
        ..Baseline::default()
    })
}

/// The advisory check of the `Cargo.lock` files at `rev` (under `prefix`)
/// against the database `context` names, never fetching: what a change's
/// base, or a push's previous tip, already had.
pub fn advisories_at(
    context: &ScanContext,
    top: &Path,
    rev: &str,
    prefix: &str,
) -> Result<ScanOutput> {
    let snapshot = secgate::git::lockfiles_at(top, rev, prefix)?;
    let mut at = context.clone();
    at.root = snapshot.path().to_path_buf();
    at.offline = true;
    at.git_scope = None;
    at.inventories = Default::default();
    at.lock_search = Default::default();
    Ok(scan::run_one(Scanner::Advisories, &at))
}

/// Which scanners a command runs: those `--scanners` chose, or the one a
/// single-scanner subcommand (`audit`, `secrets`, `sbom`) is about.
#[derive(Clone, Copy)]
pub enum Selection<'a> {
    Chosen(&'a [Scanner]),
    Only(Scanner),
}

/// Scans and gates; with `baseline_output`, records a baseline instead.
pub fn run_check(
    args: &ScanArgs,
    selection: Selection,
    baseline_output: Option<&Path>,
) -> Result<Outcome> {
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
    let (mut policy, mut notices) = load_policy(args, &root)?;
    if args.validate {
        policy.scan.secrets.validation.enabled = true;
    }
    if let Some(file) = &args.recheck {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        let recheck = secgate::scan::secrets::recheck::parse(&file.display().to_string(), &text)
            .map_err(anyhow::Error::msg)?;
        policy.scan.secrets.recheck = Some(recheck);
        policy.scan.secrets.validation.enabled = true;
    }
    let policy = Arc::new(policy);
    let mut baseline = match &args.baseline {
        Some(path) => Some(Baseline::load(path)?),
        None => None,
    };
    let writes_sbom = baseline_output.is_none() && scanners.contains(&Scanner::Sbom);
    // Unwritable outputs fail before minutes of scanning, not after.
    if let Some(file) = baseline_output {
        check_writable(file)?;
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
    context.osv_db = args.osv_db.clone();
    context.offline = args.offline;
    context.target = args.target.clone();
    context.sbom.format = args.sbom_format;
    context.sbom.per_member = args.sbom_per_member;
    context.sbom.build_dependencies = !args.sbom_no_build_deps;
    context.git_scope = args.git_scope();
    context.own_outputs = own_outputs(args, &root, baseline_output);
    let pr_context = context.clone();

    let runtime = new_runtime()?;
    let uses_cache = scanners.contains(&Scanner::Advisories) && args.db.is_none();
    let outputs = runtime.block_on(async {
        if uses_cache && !args.offline {
            refresh_cache(&policy, args.quiet).await?;
        }
        if scanners.contains(&Scanner::Advisories) && args.osv_db.is_none() && !args.offline {
            refresh_osv(
                &policy,
                &scan::advisories::ecosystems_present(&context),
                args.quiet,
            )
            .await?;
        }
        let work = scan::run_all(scanners, context);
        anyhow::Ok(output::scanning(work, scanners, args.quiet).await)
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

    if let Some(file) = baseline_output {
        if verdict.outcome == Outcome::CouldNotCheck {
            for reason in &verdict.reasons {
                output::say(reason);
            }
            bail!("no baseline written: a scanner could not check");
        }
        write_atomically(file, &secgate::report::baseline::render(&verdict))?;
        let recorded = verdict
            .findings
            .iter()
            .filter(|f| f.suppression.is_none())
            .count();
        output::say(format_args!(
            "recorded {recorded} finding(s) in {}",
            file.display()
        ));
        return Ok(Outcome::Pass);
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

    if let Some(path) = &args.report {
        let sarif_path = args.sarif.display().to_string();
        let sbom_path = args.sbom.display().to_string();
        let context = gate::GateContext {
            exit_code: Exit::Outcome(verdict.outcome).code(),
            policy_source: &policy.source,
            profile: policy.profile.as_deref(),
            new_since: args.new_since.as_deref(),
            sarif: Some(&sarif_path),
            sbom: sbom_bytes.map(|bytes| (sbom_path.as_str(), bytes)),
        };
        write_atomically(path, &gate::render(&outputs, &verdict, &context))?;
    }

    let github_format = args.github_format();
    output::checked(&output::Checked {
        root: &root,
        policy: &policy,
        outputs: &outputs,
        verdict: &verdict,
        sarif: &args.sarif,
        sbom: sbom_written,
        notices: &notices,
        quiet: args.quiet,
        verbose: args.verbose.then(|| started.elapsed()),
        github: github_format,
    });
    if github_format {
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
    Ok(verdict.outcome)
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

/// Adds to `baseline` the secrets the gated changes removed somewhere: the
/// same secret added elsewhere in those changes was moved, and already
/// existed before them.
pub fn with_moved_secrets(baseline: Option<Baseline>, outputs: &[ScanOutput]) -> Option<Baseline> {
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
