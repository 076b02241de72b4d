//! The command line: clap's argument types and the parsers of their values.
//! What a flag means is decided here; what a run does with it, in the flows.

use anyhow::{bail, Result};
use clap::{Args, Parser, Subcommand};
use secgate::config::Threshold;
use secgate::finding::Scanner;
use secgate::scan::settings::{GitScope, SbomFormat};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "secgate",
    version,
    about = "A security gate for CI: dependency advisories (RustSec, OSV), leaked secrets and a CycloneDX SBOM, one SARIF, one verdict."
)]
#[command(after_help = "Exit status: 0 pass, 1 policy violated, 2 could not check.")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the scanners (all by default) and gate on the policy.
    Check(CheckArgs),
    /// Check dependencies (Cargo.lock, Python locks) against the advisory databases only.
    Audit(ScanArgs),
    /// Scan the working tree for leaked credentials only.
    Secrets(SecretsArgs),
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
    /// Manage the cached advisory databases (RustSec, OSV archives).
    Db {
        #[command(subcommand)]
        command: DbCommand,
    },
    /// Local git hooks: block a push that adds secrets or vulnerable dependencies.
    Hook {
        #[command(subcommand)]
        command: HookCommand,
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
pub enum HookCommand {
    /// Write .git/hooks/pre-push (or into core.hooksPath) running `secgate hook pre-push`.
    Install {
        /// Replace a pre-push hook secgate did not write.
        #[arg(long, conflicts_with = "chain")]
        force: bool,
        /// Keep an existing pre-push hook as pre-push.local and run it first.
        #[arg(long)]
        chain: bool,
        /// A directory inside the repository.
        #[arg(long, value_name = "DIR", default_value = ".")]
        repo: PathBuf,
    },
    /// Remove the pre-push hook, only if secgate wrote it.
    Uninstall {
        /// A directory inside the repository.
        #[arg(long, value_name = "DIR", default_value = ".")]
        repo: PathBuf,
    },
    /// What git runs before a push: reads `<local ref> <local sha> <remote ref> <remote sha>`
    /// lines on stdin and checks exactly the commits being pushed.
    PrePush {
        /// The remote's name (given by git).
        remote: Option<String>,
        /// The remote's URL (given by git).
        url: Option<String>,
        #[command(flatten)]
        options: HookOptions,
    },
    /// For the pre-commit framework: in its pre-push stage the commits
    /// PRE_COMMIT_FROM_REF..PRE_COMMIT_TO_REF, or with only PRE_COMMIT_REMOTE_NAME
    /// set (a push including a root commit) every commit not on that remote;
    /// in its pre-commit stage the staged changes.
    PreCommit {
        #[command(flatten)]
        options: HookOptions,
    },
}

#[derive(Args)]
pub struct HookOptions {
    /// Policy file [default: secgate.toml at the top of the repository, else the built-in policy].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// RustSec advisory database directory.
    #[arg(long, value_name = "DIR", env = "SECGATE_DB")]
    pub db: Option<PathBuf>,
    /// Folder of OSV advisory archives, DIR/<Ecosystem>/all.zip; never fetched.
    #[arg(long, value_name = "DIR", env = "SECGATE_OSV_DB")]
    pub osv_db: Option<PathBuf>,
    /// Never use the network.
    #[arg(long)]
    pub offline: bool,
    /// Print only the verdict line.
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Subcommand)]
pub enum DbCommand {
    /// Download the advisory database into the cache (a conditional request:
    /// nothing is downloaded when it has not changed).
    Update {
        /// Archive to download [default: $SECGATE_DB_URL, else the policy's db.url].
        #[arg(long, value_name = "URL")]
        url: Option<String>,
        /// Base of OSV's <Ecosystem>/all.zip archives [default: $SECGATE_OSV_URL, else the policy's db.osv-url].
        #[arg(long, value_name = "URL")]
        osv_url: Option<String>,
        /// Policy file for `[db]` [default: ./secgate.toml, else the built-in policy].
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Download the whole database even if the cache is current, and
        /// take it even if it holds far fewer advisories than the cache.
        #[arg(long)]
        force: bool,
    },
    /// Show the cached database (or the --db checkout): path, when it was
    /// fetched, its age and size.
    Status {
        /// Policy file for `[db]` [default: ./secgate.toml, else the built-in policy].
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Describe this RustSec advisory-db checkout instead of the cache.
        #[arg(long, value_name = "DIR", env = "SECGATE_DB")]
        db: Option<PathBuf>,
    },
}

#[derive(Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub scan: ScanArgs,
    /// Scanners to run, comma-separated.
    /// `external` runs the policy's `[[external]]` tools (nothing when it has none).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "advisories,secrets,sbom,external"
    )]
    pub scanners: Vec<String>,
}

#[derive(Args)]
pub struct SecretsArgs {
    #[command(flatten)]
    pub scan: ScanArgs,
    /// Re-check the secret findings of an earlier run's SARIF: scan their files
    /// again and validate only those findings with their providers (rotate a
    /// credential, then confirm it is dead). Implies --validate.
    #[arg(long, value_name = "FILE.sarif", conflicts_with_all = ["history", "since", "range", "staged", "new_since", "offline"])]
    pub validate_only: Option<PathBuf>,
}

#[derive(Args)]
pub struct ScanArgs {
    /// The repository to check (or, for the advisory check, one Cargo.lock).
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Policy file [default: secgate.toml at the scanned root, else the built-in policy].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Where to write the SARIF report.
    #[arg(long, value_name = "FILE", default_value = "secgate.sarif")]
    pub sarif: PathBuf,
    /// Where to write the SBOM.
    #[arg(long, value_name = "FILE", default_value = "sbom.cdx.json")]
    pub sbom: PathBuf,
    /// Least severity that fails the gate; overrides the policy: critical, high, medium, low, info, none.
    #[arg(long, value_name = "SEVERITY", value_parser = parse_threshold)]
    pub fail_on: Option<Threshold>,
    /// RustSec advisory database directory.
    #[arg(long, value_name = "DIR", env = "SECGATE_DB")]
    pub db: Option<PathBuf>,
    /// Folder of OSV advisory archives, DIR/<Ecosystem>/all.zip (OSV's and osv-scanner's offline layout); never fetched.
    #[arg(long, value_name = "DIR", env = "SECGATE_OSV_DB")]
    pub osv_db: Option<PathBuf>,
    /// SBOM format: cyclonedx-json-1.5 or cyclonedx-xml-1.5.
    #[arg(long, value_name = "FORMAT", default_value = "cyclonedx-json-1.5", value_parser = parse_sbom_format)]
    pub sbom_format: SbomFormat,
    /// Also write one SBOM per workspace member, as <stem>.<member>.cdx.<ext> beside --sbom.
    #[arg(long)]
    pub sbom_per_member: bool,
    /// Leave build-dependencies out of the SBOM (default: kept with scope "excluded").
    #[arg(long)]
    pub sbom_no_build_deps: bool,
    /// Only dependencies of this target triple [default: all platforms].
    #[arg(long, value_name = "TRIPLE")]
    pub target: Option<String>,
    /// Never use the network (no database refresh, no live validation).
    #[arg(long)]
    pub offline: bool,
    /// Secrets: ask each found credential's provider, in one read-only request,
    /// whether it still works; the answer (valid, invalid, unknown) grades it
    /// by [secrets.validation]. Sends credentials to their own providers only.
    #[arg(long)]
    pub validate: bool,
    /// Print only the verdict line.
    #[arg(short, long)]
    pub quiet: bool,
    /// Also print, after the summary, the policy in force and each scanner's
    /// findings, rules and time (for slow or surprising runs).
    #[arg(short, long, conflicts_with = "quiet")]
    pub verbose: bool,
    /// Findings in this baseline (a secgate baseline, or a SARIF file of an earlier run,
    /// e.g. the base branch's) are existing, not new.
    #[arg(long, value_name = "FILE", visible_alias = "baseline-sarif")]
    pub baseline: Option<PathBuf>,
    /// Pull-request mode: the policy is read from REF, secrets are scanned over
    /// REF..HEAD, and findings already present at REF are existing, not failing.
    #[arg(long, value_name = "REF", conflicts_with_all = ["history", "since", "range", "staged"])]
    pub new_since: Option<String>,
    /// Secrets: scan the lines added by every commit reachable from HEAD instead of the working tree.
    #[arg(long, conflicts_with_all = ["since", "range", "staged"])]
    pub history: bool,
    /// Secrets: scan the commits since REF (REF..HEAD).
    #[arg(long, value_name = "REF", conflicts_with_all = ["range", "staged"])]
    pub since: Option<String>,
    /// Secrets: scan the commits of a revision range A..B.
    #[arg(long, value_name = "A..B", conflicts_with = "staged")]
    pub range: Option<String>,
    /// Secrets: scan the staged changes (the index).
    #[arg(long)]
    pub staged: bool,
    /// Output style: human (a summary on stderr) or github (also workflow-command
    /// annotations on stdout and a markdown summary appended to $GITHUB_STEP_SUMMARY)
    /// [default: github when GITHUB_ACTIONS=true, else human].
    #[arg(long, value_name = "FORMAT", value_parser = ["human", "github"])]
    pub format: Option<String>,
    /// Also write a JSON gate report: verdict, exit code, counts, every finding's
    /// rule and fingerprint, the database used, the SBOM's path and SHA-256.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Apply the policy's [profile.NAME] table; `release` also has built-in
    /// stricter rules (fail-on medium, database under 1 day old, SBOM required,
    /// every ignore with an unexpired `expires`).
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Set by `secrets --validate-only`: the SARIF whose findings are re-checked.
    #[arg(skip)]
    pub recheck: Option<PathBuf>,
}

impl ScanArgs {
    pub fn github_format(&self) -> bool {
        match self.format.as_deref() {
            Some(format) => format == "github",
            None => std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true"),
        }
    }

    pub fn git_scope(&self) -> Option<GitScope> {
        if self.history {
            Some(GitScope::All)
        } else if let Some(base) = self.since.as_ref().or(self.new_since.as_ref()) {
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

pub fn parse_scanners(names: &[String]) -> Result<Vec<Scanner>> {
    let mut scanners = Vec::new();
    for name in names {
        let name = name.trim();
        match Scanner::parse(name) {
            Some(scanner) if !scanners.contains(&scanner) => scanners.push(scanner),
            Some(_) => {}
            None => {
                bail!("--scanners: unknown scanner `{name}`, expected advisories, secrets, sbom or external")
            }
        }
    }
    if scanners.is_empty() {
        bail!("--scanners: name at least one scanner");
    }
    scanners.sort();
    Ok(scanners)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn scanners_are_trimmed_deduplicated_and_sorted() {
        let scanners = parse_scanners(&names(&["sbom", " secrets", "sbom", "advisories"])).unwrap();
        assert_eq!(
            scanners,
            [Scanner::Advisories, Scanner::Secrets, Scanner::Sbom]
        );
    }

    #[test]
    fn an_unknown_or_empty_scanner_list_is_refused() {
        let unknown = parse_scanners(&names(&["secrets", "virus"])).unwrap_err();
        assert!(unknown.to_string().contains("unknown scanner `virus`"));
        let none = parse_scanners(&[]).unwrap_err();
        assert!(none.to_string().contains("name at least one scanner"));
    }

    #[test]
    fn the_arguments_are_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
