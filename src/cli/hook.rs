//! `secgate hook`: install and remove the pre-push hook, and gate what a
//! push or commit adds (exactly the pushed commits, or the staged changes).

use super::args::{HookCommand, HookOptions};
use super::check::{advisories_at, with_moved_secrets};
use super::db::{refresh_cache, refresh_osv};
use super::new_runtime;
use super::output;
use super::policy::read_policy;
use anyhow::{bail, Context, Result};
use secgate::baseline::Baseline;
use secgate::files::write_atomically;
use secgate::finding::Scanner;
use secgate::gate::verdict::Outcome;
use secgate::policy::Policy;
use secgate::report::sarif;
use secgate::scan::context::ScanContext;
use secgate::scan::output::ScanOutput;
use secgate::scan::settings::GitScope;
use secgate::scan::{self};
use std::path::Path;
use std::sync::Arc;

pub fn run_hook(command: HookCommand) -> Result<Outcome> {
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
                Installed::New => output::say(format_args!("installed {}", target.display())),
                Installed::Updated => output::say(format_args!("updated {}", target.display())),
                Installed::ReplacedForeign => {
                    output::say(format_args!("replaced the existing {}", target.display()))
                }
                Installed::ChainedForeign => output::say(format_args!(
                    "installed {}; the previous hook is now {} and runs first",
                    target.display(),
                    hooks.join(hook::CHAINED_NAME).display()
                )),
            }
            Ok(Outcome::Pass)
        }
        HookCommand::Uninstall { repo } => {
            let hooks = hook::hooks_dir(&repo)?;
            match hook::uninstall(&hooks)? {
                Uninstalled::NotInstalled => output::say("no pre-push hook installed"),
                Uninstalled::Removed => output::say("removed the pre-push hook"),
                Uninstalled::RestoredChained => output::say(format_args!(
                    "removed the pre-push hook; {} is pre-push again",
                    hook::CHAINED_NAME
                )),
            }
            Ok(Outcome::Pass)
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
/// advisories of each pushed tip's lock files when a commit changed one
/// (findings already present at the remote's previous tip count as existing).
fn gate_pushed(
    options: &HookOptions,
    top: &Path,
    ranges: &[secgate::hook::PushRange],
) -> Result<Outcome> {
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
            output::say("no new commits to check");
        }
        return Ok(Outcome::Pass);
    }
    let policy = Arc::new(read_policy(options.config.as_deref(), top, None)?);
    let mut context = ScanContext::new(top.to_path_buf(), Arc::new(policy.scan.clone()));
    context.advisory_db = options.db.clone();
    context.osv_db = options.osv_db.clone();
    context.offline = options.offline;
    context.git_scope = Some(GitScope::Commits(commits.clone()));
    let mut outputs = vec![scan::run_one(Scanner::Secrets, &context)];

    let lock_changed = secgate::git::changed_paths(top, &commits)?
        .iter()
        .any(|p| secgate::scan::lockfiles::is_checked_lock(std::path::Path::new(p)));
    let mut existing = Baseline {
        source: "the remote's previous tip".to_string(),
        ..Baseline::default()
    };
    if lock_changed {
        if !options.offline {
            let present = secgate::scan::advisories::ecosystems_present(&context);
            new_runtime()?.block_on(async {
                if options.db.is_none() {
                    refresh_cache(&policy, options.quiet).await?;
                }
                if options.osv_db.is_none() {
                    refresh_osv(&policy, &present, options.quiet).await?;
                }
                anyhow::Ok(())
            })?;
        }
        let mut merged = ScanOutput::new(Scanner::Advisories);
        let audit = |rev: &str| advisories_at(&context, top, rev, "");
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
            if merged.databases.is_empty() {
                merged.databases = output.databases;
            }
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
            "a lock file changed in the pushed commits: checked the pushed tip{}",
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

/// Evaluates and prints for a local hook; the verdict's outcome. The SARIF goes
/// inside the git directory, where it dirties no work tree.
fn gate_locally(
    options: &HookOptions,
    top: &Path,
    policy: &Policy,
    outputs: &[ScanOutput],
    existing: Option<&Baseline>,
) -> Outcome {
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
                output::warning(format_args!("no SARIF written: {error:#}"));
            }
            written.is_ok()
        });
    output::hooked(
        top,
        policy,
        outputs,
        &verdict,
        sarif.as_deref(),
        options.quiet,
    );
    verdict.outcome
}
