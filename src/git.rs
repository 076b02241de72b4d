//! The few git plumbing calls pull-request mode and the pre-push hook need,
//! run with the git on the machine. Nothing here changes the repository.

use crate::error::GitError;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn run(dir: &Path, args: &[&str]) -> Result<Vec<u8>, GitError> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "core.quotePath=false"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| GitError::new(args, format!("cannot run git: {e}")))?;
    if output.status.success() {
        Ok(output.stdout)
    } else {
        Err(GitError::new(
            args,
            String::from_utf8_lossy(&output.stderr).trim().to_string(),
        ))
    }
}

fn text(dir: &Path, args: &[&str]) -> Result<String, GitError> {
    run(dir, args).map(|bytes| String::from_utf8_lossy(&bytes).trim().to_string())
}

/// The top of the working tree containing `dir`.
pub fn top(dir: &Path) -> Result<PathBuf, GitError> {
    text(dir, &["rev-parse", "--show-toplevel"]).map(PathBuf::from)
}

/// The repository's git directory (`.git`, or a worktree's own), absolute.
pub fn git_dir(dir: &Path) -> Result<PathBuf, GitError> {
    text(dir, &["rev-parse", "--absolute-git-dir"]).map(PathBuf::from)
}

/// `dir` relative to the top of its working tree, as `sub/dir/` or empty.
pub fn prefix(dir: &Path) -> Result<String, GitError> {
    text(dir, &["rev-parse", "--show-prefix"])
}

/// The full id of a commit, or an error saying it is missing (with a hint
/// for shallow clones).
pub fn resolve_commit(top: &Path, rev: &str) -> Result<String, GitError> {
    let spec = format!("{rev}^{{commit}}");
    text(top, &["rev-parse", "--verify", "--quiet", &spec]).map_err(|_| {
        let shallow = text(top, &["rev-parse", "--is-shallow-repository"])
            .is_ok_and(|s| s == "true");
        GitError::new(
            &["rev-parse", rev],
            format!(
                "commit `{rev}` not found{}",
                if shallow {
                    " (this is a shallow clone: fetch the base, e.g. actions/checkout with fetch-depth: 0)"
                } else {
                    ""
                }
            ),
        )
    })
}

/// Whether `rev` names a commit present in the repository.
pub fn has_commit(top: &Path, rev: &str) -> bool {
    resolve_commit(top, rev).is_ok()
}

/// The bytes of `path` (relative to the top) at `rev`, `None` when the file
/// does not exist there.
pub fn show_file(top: &Path, rev: &str, path: &str) -> Result<Option<Vec<u8>>, GitError> {
    let spec = format!("{rev}:{path}");
    if run(top, &["cat-file", "-e", &spec]).is_err() {
        resolve_commit(top, rev)?;
        return Ok(None);
    }
    run(top, &["cat-file", "blob", &spec]).map(Some)
}

/// Writes every lock file (`Cargo.lock`, the Python and npm locks, and the
/// `pyproject.toml` and `package.json` manifests their readers read) under `prefix` at `rev` into a new temporary
/// directory, at its path relative to `prefix`, so that a check of that
/// directory sees the same relative paths (and fingerprints) as the tree.
pub fn lockfiles_at(top: &Path, rev: &str, prefix: &str) -> Result<tempfile::TempDir, GitError> {
    let listing = run(
        top,
        &["ls-tree", "-r", "-z", "--name-only", "--full-tree", rev],
    )?;
    let dir = tempfile::Builder::new()
        .prefix("secgate-base-")
        .tempdir()
        .map_err(|e| GitError::new(&["ls-tree"], format!("temporary directory: {e}")))?;
    for name in listing.split(|&b| b == 0).filter(|n| !n.is_empty()) {
        let name = String::from_utf8_lossy(name);
        let path = Path::new(&*name);
        let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        // The Python readers also read the pyproject.toml beside a lock,
        // yarn's the package.json files of the workspace.
        let is_lock = matches!(file_name, "pyproject.toml" | "package.json")
            || crate::scan::lockfiles::is_checked_lock(path);
        let Some(relative) = name.strip_prefix(prefix).filter(|_| is_lock) else {
            continue;
        };
        let bytes = run(top, &["cat-file", "blob", &format!("{rev}:{name}")])?;
        let target = dir.path().join(relative);
        let written = target
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&target, bytes));
        written.map_err(|e| GitError::new(&["cat-file"], format!("{}: {e}", target.display())))?;
    }
    Ok(dir)
}

/// `git rev-list ARGS`: commit ids, newest first.
pub fn rev_list(top: &Path, args: &[&str]) -> Result<Vec<String>, GitError> {
    let mut full = vec!["rev-list"];
    full.extend_from_slice(args);
    Ok(text(top, &full)?
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect())
}

/// The paths changed by each of `commits` (against their first parent).
pub fn changed_paths(top: &Path, commits: &[String]) -> Result<Vec<String>, GitError> {
    let mut paths = Vec::new();
    for commit in commits {
        let listing = run(
            top,
            &[
                "diff-tree",
                "--no-commit-id",
                "--name-only",
                "-r",
                "-z",
                "--root",
                commit,
            ],
        )?;
        paths.extend(
            listing
                .split(|&b| b == 0)
                .filter(|n| !n.is_empty())
                .map(|n| String::from_utf8_lossy(n).into_owned()),
        );
    }
    paths.sort();
    paths.dedup();
    Ok(paths)
}

/// `git config --get KEY` in `dir`, `None` when unset.
pub fn config(dir: &Path, key: &str) -> Option<String> {
    text(dir, &["config", "--get", key])
        .ok()
        .filter(|v| !v.is_empty())
}

/// The directory git runs hooks from: `core.hooksPath` (relative to the top
/// of the working tree) when set, else the repository's `hooks` directory.
pub fn hooks_dir(dir: &Path) -> Result<PathBuf, GitError> {
    let top = top(dir)?;
    if let Some(path) = config(&top, "core.hooksPath") {
        let path = PathBuf::from(path);
        return Ok(if path.is_absolute() {
            path
        } else {
            top.join(path)
        });
    }
    let common = PathBuf::from(text(&top, &["rev-parse", "--git-common-dir"])?);
    let common = if common.is_absolute() {
        common
    } else {
        top.join(common)
    };
    Ok(common.join("hooks"))
}
