//! The local pre-push hook: installing and removing the script git runs,
//! and reading what git says is being pushed. Decides nothing about the
//! verdict; the binary runs the scanners and exits.

use crate::error::HookError;
use std::path::{Path, PathBuf};

/// The line that marks a hook as secgate's own.
pub const MARKER: &str = "# secgate-managed-hook";
/// Where a chained foreign hook is kept.
pub const CHAINED_NAME: &str = "pre-push.local";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InstallMode {
    /// Refuse to replace a hook secgate did not write.
    Refuse,
    /// Replace it.
    Force,
    /// Keep it as `pre-push.local` and run it first.
    Chain,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Installed {
    New,
    /// Our own hook was already there; rewritten.
    Updated,
    ReplacedForeign,
    ChainedForeign,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Uninstalled {
    NotInstalled,
    Removed,
    /// Removed, and the chained hook put back as `pre-push`.
    RestoredChained,
}

fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// The hook script; `secgate` is the binary it runs unless `$SECGATE` is set.
pub fn script(secgate: &Path) -> String {
    format!(
        r#"#!/bin/sh
{MARKER}: written by `secgate hook install`; `secgate hook uninstall` removes it.
# Blocks a push that adds secrets (or, when a lock file changed, vulnerable
# dependencies) in the commits being pushed.
secgate_bin=${{SECGATE:-{}}}
command -v "$secgate_bin" >/dev/null 2>&1 || secgate_bin=secgate
input=$(cat)
hook_dir=$(dirname "$0")
if [ -x "$hook_dir/{CHAINED_NAME}" ]; then
    printf '%s\n' "$input" | "$hook_dir/{CHAINED_NAME}" "$@" || exit $?
fi
printf '%s\n' "$input" | "$secgate_bin" hook pre-push "$@"
"#,
        quote(&secgate.to_string_lossy())
    )
}

fn is_ours(path: &Path) -> bool {
    std::fs::read_to_string(path).is_ok_and(|text| text.lines().any(|l| l.starts_with(MARKER)))
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> HookError + '_ {
    move |source| HookError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `<hooks>/pre-push`. `hooks` is git's hooks directory.
pub fn install(hooks: &Path, secgate: &Path, mode: InstallMode) -> Result<Installed, HookError> {
    std::fs::create_dir_all(hooks).map_err(io(hooks))?;
    let target = hooks.join("pre-push");
    let exists = target.symlink_metadata().is_ok();
    let outcome = if !exists {
        Installed::New
    } else if is_ours(&target) {
        Installed::Updated
    } else {
        match mode {
            InstallMode::Refuse => return Err(HookError::Foreign(target)),
            InstallMode::Force => Installed::ReplacedForeign,
            InstallMode::Chain => {
                let kept = hooks.join(CHAINED_NAME);
                if kept.symlink_metadata().is_ok() {
                    return Err(HookError::ChainOccupied(kept));
                }
                std::fs::rename(&target, &kept).map_err(io(&kept))?;
                Installed::ChainedForeign
            }
        }
    };
    crate::files::write_atomically(&target, script(secgate).as_bytes()).map_err(|e| {
        HookError::Io {
            path: e.path,
            source: e.source,
        }
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o755))
            .map_err(io(&target))?;
    }
    Ok(outcome)
}

/// Removes `<hooks>/pre-push` only if secgate wrote it.
pub fn uninstall(hooks: &Path) -> Result<Uninstalled, HookError> {
    let target = hooks.join("pre-push");
    if target.symlink_metadata().is_err() {
        return Ok(Uninstalled::NotInstalled);
    }
    if !is_ours(&target) {
        return Err(HookError::NotOurs(target));
    }
    let kept = hooks.join(CHAINED_NAME);
    if kept.is_file() {
        std::fs::rename(&kept, &target).map_err(io(&target))?;
        return Ok(Uninstalled::RestoredChained);
    }
    std::fs::remove_file(&target).map_err(io(&target))?;
    Ok(Uninstalled::Removed)
}

/// One line of what git feeds a pre-push hook.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushLine {
    pub local_ref: String,
    pub local_sha: String,
    pub remote_ref: String,
    pub remote_sha: String,
}

fn is_object_id(text: &str) -> bool {
    matches!(text.len(), 40 | 64) && text.bytes().all(|b| b.is_ascii_hexdigit())
}

fn is_zero(text: &str) -> bool {
    text.bytes().all(|b| b == b'0')
}

impl PushLine {
    /// The remote ref is being deleted: nothing to check.
    pub fn is_deletion(&self) -> bool {
        is_zero(&self.local_sha)
    }

    /// The remote ref does not exist yet.
    pub fn is_new_branch(&self) -> bool {
        is_zero(&self.remote_sha)
    }
}

/// Parses git's pre-push input: `<local ref> <local sha> <remote ref> <remote sha>`
/// per line (object ids of 40 or 64 hex digits). Blank lines are skipped;
/// anything else malformed is an error, never a silent pass.
pub fn parse_push_lines(input: &str) -> Result<Vec<PushLine>, HookError> {
    let mut lines = Vec::new();
    for (index, line) in input.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let valid = fields.len() == 4 && is_object_id(fields[1]) && is_object_id(fields[3]);
        if !valid {
            return Err(HookError::BadInput {
                line: index + 1,
                text: line.chars().take(200).collect(),
            });
        }
        lines.push(PushLine {
            local_ref: fields[0].to_string(),
            local_sha: fields[1].to_string(),
            remote_ref: fields[2].to_string(),
            remote_sha: fields[3].to_string(),
        });
    }
    Ok(lines)
}

/// What to check for one pushed ref: its new commits (oldest first), and
/// the remote's previous tip when it is known locally (for existing findings).
#[derive(Debug, Default)]
pub struct PushRange {
    pub tip: String,
    pub previous: Option<String>,
    pub commits: Vec<String>,
}

/// The commits each non-deleting push line adds: `remote..local` for an
/// update whose remote tip we have, else every commit not on any remote.
pub fn push_ranges(top: &Path, lines: &[PushLine]) -> Result<Vec<PushRange>, HookError> {
    let mut ranges = Vec::new();
    for line in lines.iter().filter(|l| !l.is_deletion()) {
        let previous = (!line.is_new_branch() && crate::git::has_commit(top, &line.remote_sha))
            .then(|| line.remote_sha.clone());
        let mut commits = match &previous {
            Some(remote) => crate::git::rev_list(top, &[&format!("{remote}..{}", line.local_sha)])?,
            None => crate::git::rev_list(top, &[&line.local_sha, "--not", "--remotes"])?,
        };
        commits.reverse();
        ranges.push(PushRange {
            tip: line.local_sha.clone(),
            previous,
            commits,
        });
    }
    Ok(ranges)
}

/// The pre-commit framework's pre-push stage gives FROM and TO refs.
pub fn range_from_refs(top: &Path, from: &str, to: &str) -> Result<PushRange, HookError> {
    let previous = (!is_zero(from)).then(|| from.to_string());
    let mut commits = match &previous {
        Some(from) => crate::git::rev_list(top, &[&format!("{from}..{to}")])?,
        None => crate::git::rev_list(top, &[to, "--not", "--remotes"])?,
    };
    commits.reverse();
    Ok(PushRange {
        tip: to.to_string(),
        previous,
        commits,
    })
}

/// The pre-commit framework's pre-push stage when the push includes a root
/// commit: pre-commit then sets no refs, only the remote's and the local
/// ref's names. Every commit of `local` not on `remote` (all of its history
/// when the remote has nothing yet).
pub fn range_not_on_remote(top: &Path, local: &str, remote: &str) -> Result<PushRange, HookError> {
    let tip = crate::git::resolve_commit(top, local)?;
    // `--remotes=<name>` is refs/remotes/<name>/*: only that remote's refs.
    let mut commits = crate::git::rev_list(top, &[&tip, "--not", &format!("--remotes={remote}")])?;
    commits.reverse();
    Ok(PushRange {
        tip,
        previous: None,
        commits,
    })
}

/// The hooks directory of the repository containing `dir`.
pub fn hooks_dir(dir: &Path) -> Result<PathBuf, HookError> {
    Ok(crate::git::hooks_dir(dir)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_lines_parse_and_classify() {
        let z40 = "0".repeat(40);
        let a = "a".repeat(40);
        let b = "b".repeat(64);
        let input = format!(
            "refs/heads/x {a} refs/heads/x {z40}\n\nrefs/heads/y {z40} refs/heads/y {a}\n(delete) {} refs/heads/z {b}\n",
            "0".repeat(64)
        );
        let lines = parse_push_lines(&input).unwrap();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].is_new_branch() && !lines[0].is_deletion());
        assert!(lines[1].is_deletion());
        assert!(lines[2].is_deletion());
        for bad in [
            "refs/heads/x abc refs/heads/x def",
            "one two three",
            &format!("r {a} r {a} extra"),
        ] {
            assert!(parse_push_lines(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn script_quotes_the_binary_path() {
        let text = script(Path::new("/opt/it's/secgate"));
        assert!(
            text.contains(r"secgate_bin=${SECGATE:-'/opt/it'\''s/secgate'}"),
            "{text}"
        );
        assert!(text.lines().nth(1).unwrap().starts_with(MARKER));
    }
}
