//! Which policy a run gates on: `--config`, else `secgate.toml` at the
//! scanned root, else the built-in policy; in pull-request mode, the
//! policy file as it is at the base, so a change cannot loosen its own gate.

use super::args::ScanArgs;
use anyhow::{Context, Result};
use secgate::policy::{Policy, DEFAULT_POLICY_NAME, DEFAULT_POLICY_TOML};
use std::path::{Path, PathBuf};

/// The policy, and what the summaries should say about where it came from.
pub fn load_policy(args: &ScanArgs, root: &Path) -> Result<(Policy, Vec<String>)> {
    let mut notices = Vec::new();
    let mut policy = match &args.new_since {
        Some(base) => base_policy(
            args.config.as_deref(),
            root,
            base,
            args.profile.as_deref(),
            &mut notices,
        )?,
        None => read_policy(args.config.as_deref(), root, args.profile.as_deref())?,
    };
    if let Some(threshold) = args.fail_on {
        policy.override_fail_on(threshold);
    }
    Ok((policy, notices))
}

/// Pull-request mode: the policy file as it is at `base`, so that a pull
/// request cannot loosen its own gate. Without one there, the built-in policy.
fn base_policy(
    config: Option<&Path>,
    root: &Path,
    base: &str,
    profile: Option<&str>,
    notices: &mut Vec<String>,
) -> Result<Policy> {
    let dir = if root.is_dir() {
        root
    } else {
        root.parent().unwrap_or(Path::new("."))
    };
    let top = secgate::git::top(dir)
        .with_context(|| format!("--new-since needs a git repository: {}", root.display()))?;
    secgate::git::resolve_commit(&top, base)?;
    let (head_path, relative) = match config {
        Some(path) => {
            let absolute = std::path::absolute(path)?;
            let canonical_top = top.canonicalize()?;
            let within = absolute
                .parent()
                .and_then(|p| p.canonicalize().ok())
                .and_then(|p| {
                    p.strip_prefix(&canonical_top)
                        .ok()
                        .map(|r| r.join(absolute.file_name().unwrap_or_default()))
                });
            match within {
                Some(relative) => (path.to_path_buf(), relative),
                // A policy outside the repository is the workflow's, not the pull request's.
                None => return read_policy(Some(path), root, profile),
            }
        }
        None => (
            dir.join("secgate.toml"),
            PathBuf::from(secgate::git::prefix(dir)?).join("secgate.toml"),
        ),
    };
    let relative = relative.to_string_lossy().replace('\\', "/");
    let at_base = secgate::git::show_file(&top, base, &relative)?;
    let at_head = std::fs::read(&head_path).ok();
    let policy = match &at_base {
        Some(bytes) => {
            let text = String::from_utf8(bytes.clone())
                .with_context(|| format!("{base}:{relative} is not UTF-8"))?;
            parse_policy(&format!("{base}:{relative}"), &text, profile)?
        }
        None => {
            notices.push(format!(
                "pull-request mode: {relative} does not exist at {base}, so the built-in policy applies"
            ));
            parse_policy(DEFAULT_POLICY_NAME, DEFAULT_POLICY_TOML, profile)?
        }
    };
    if at_base != at_head {
        notices.push(format!(
            "pull-request mode: this change's {relative} differs from the one at {base}; the base's policy applies (a change cannot loosen its own gate; the new policy takes effect once merged)"
        ));
        let text = |bytes: &Option<Vec<u8>>| {
            bytes
                .as_deref()
                .map(String::from_utf8_lossy)
                .unwrap_or_default()
                .into_owned()
        };
        for line in secgate::policy_diff::changed_lines(&text(&at_base), &text(&at_head), 12) {
            notices.push(format!(
                "pull-request mode: {relative} in this change: {line}"
            ));
        }
    }
    Ok(policy)
}

/// `config`, else `secgate.toml` in `root` (a directory), else the built-in policy.
pub fn read_policy(config: Option<&Path>, root: &Path, profile: Option<&str>) -> Result<Policy> {
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
            parse_policy(&path.display().to_string(), &text, profile)?
        }
        None => parse_policy(DEFAULT_POLICY_NAME, DEFAULT_POLICY_TOML, profile)?,
    })
}

fn parse_policy(name: &str, text: &str, profile: Option<&str>) -> Result<Policy> {
    let today = time::OffsetDateTime::now_utc().date();
    Ok(Policy::from_toml_with_profile(name, text, profile, today)?)
}
