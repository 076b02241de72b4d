//! Which files a scan of the tree covers: the secrets scan and the search
//! for lock files. In a git work tree every tracked file is in scope,
//! whatever `.gitignore`, `.ignore` or global excludes say (a committed file
//! ships, ignored or not), and untracked files follow git's ignore rules;
//! outside git, a directory walk that honours ignore files. Only the
//! policy's own `exclude` globs leave a path out, and every path they leave
//! out is reported, never dropped silently.

use crate::error::ScopeError;
use crate::files::{relative_path, walker_hazard};
use ignore::gitignore::{Gitignore, GitignoreBuilder};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long `git ls-files` may take: a FIFO named `.gitignore` blocks git
/// for ever, and a gate must not.
const GIT_LIST_TIMEOUT: Duration = Duration::from_secs(120);

/// What one scanner asks of the listing.
#[derive(Clone, Debug, Default)]
pub struct ScopeSettings {
    /// The policy key the globs come from (`secrets.exclude`), for messages.
    pub exclude_key: &'static str,
    /// Gitignore-style globs relative to the root, from the policy.
    pub exclude: Vec<String>,
    /// Directory names never entered nor listed, besides `.git`
    /// (vendored sources and build output, for the lock-file search).
    pub skip_dirs: Vec<&'static str>,
    /// Outside git: whether `.gitignore` files apply (`.ignore` files do).
    pub gitignore_outside_git: bool,
    /// Files never listed: this run's own outputs.
    pub own_outputs: OwnOutputs,
}

/// secgate's own output files under the root (SARIF, SBOM, report): a
/// later run must not scan what an earlier one wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OwnOutputs {
    /// Paths relative to the root, forward slashes.
    exact: BTreeSet<String>,
    /// Families of paths (`--sbom-per-member`): a prefix and a suffix.
    families: Vec<(String, String)>,
}

impl OwnOutputs {
    /// Records `path` when it lies under `root`; either may be relative to
    /// the current directory. The file need not exist yet.
    pub fn add(&mut self, root: &Path, path: &Path) {
        if let Some(relative) = relative_under(root, path) {
            self.exact.insert(relative);
        }
    }

    /// Records every file `<dir>/<prefix>*<suffix>` under `root`.
    pub fn add_family(&mut self, root: &Path, dir: &Path, prefix: &str, suffix: &str) {
        if let Some(relative) = relative_under(root, &dir.join("x")) {
            let dir = relative.strip_suffix('x').unwrap_or_default();
            self.families
                .push((format!("{dir}{prefix}"), suffix.to_string()));
        }
    }

    pub fn contains(&self, relative: &str) -> bool {
        self.exact.contains(relative)
            || self.families.iter().any(|(prefix, suffix)| {
                relative.len() > prefix.len() + suffix.len()
                    && relative.starts_with(prefix.as_str())
                    && relative.ends_with(suffix.as_str())
                    && !relative[prefix.len()..].contains('/')
            })
    }
}

/// `path` relative to `root` when it lies under it, resolving symlinks in
/// the directories (the file itself may not exist yet).
fn relative_under(root: &Path, path: &Path) -> Option<String> {
    let root = root.canonicalize().ok()?;
    let name = path.file_name()?;
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let full = parent.canonicalize().ok()?.join(name);
    let relative = full.strip_prefix(&root).ok()?;
    Some(relative_path(Path::new(""), relative))
}

/// Where the list of files came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// `git ls-files`: tracked files, and untracked ones git does not ignore.
    Git,
    /// A directory walk honouring ignore files (not a git work tree).
    Walk,
    /// The root is a directory git ignores: walked as if outside git.
    IgnoredByGit,
}

/// The files in scope, and everything the summary must say about the rest.
#[derive(Debug)]
pub struct Listing {
    /// Regular files to scan, under the root, sorted (`list` only).
    pub files: Vec<PathBuf>,
    /// Symbolic links and special files (`list` only): the lock-file search
    /// names one that is called a lock file, so that reading it fails.
    pub others: Vec<PathBuf>,
    pub source: Source,
    /// Paths the policy's `exclude` left out (directories end in `/`), sorted.
    pub excluded: Vec<String>,
    /// This run's own outputs found in the tree and left out.
    pub own_outputs: Vec<String>,
    /// Paths that could not be listed or entered, and why.
    pub unreadable: Vec<String>,
    /// Bad patterns in ignore files (walks only): they ignore less, hiding nothing.
    pub ignore_file_errors: Vec<String>,
    /// Tracked files absent from the work tree (deleted, or a sparse checkout).
    pub absent: usize,
    /// Directories `skip_dirs` left out (`web/node_modules/`), sorted.
    pub skipped_dirs: Vec<String>,
}

impl Listing {
    fn new(source: Source) -> Listing {
        Listing {
            files: Vec::new(),
            others: Vec::new(),
            source,
            excluded: Vec::new(),
            own_outputs: Vec::new(),
            unreadable: Vec::new(),
            ignore_file_errors: Vec::new(),
            absent: 0,
            skipped_dirs: Vec::new(),
        }
    }

    /// One line for the summary on what was left out and why, if anything was.
    pub fn excluded_note(&self, key: &str) -> Option<String> {
        (!self.excluded.is_empty()).then(|| {
            format!(
                "{} path{} excluded by {key}: {}",
                self.excluded.len(),
                if self.excluded.len() == 1 { "" } else { "s" },
                crate::text::abbreviate(&self.excluded)
            )
        })
    }

    /// Notes on how the files were chosen, for the summary.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if self.source == Source::IgnoredByGit {
            notes.push(
                "the scanned directory is ignored by git: every file in it walked as outside git"
                    .to_string(),
            );
        }
        if !self.own_outputs.is_empty() {
            notes.push(format!(
                "secgate's own output{} not scanned: {}",
                if self.own_outputs.len() == 1 { "" } else { "s" },
                crate::text::abbreviate(&self.own_outputs)
            ));
        }
        if self.absent > 0 {
            notes.push(format!(
                "{} tracked file{} absent from the work tree (deleted or sparse) not scanned",
                self.absent,
                if self.absent == 1 { "" } else { "s" }
            ));
        }
        notes
    }
}

/// A path the listing found, handed over as soon as it is known.
pub enum Found {
    /// A regular file.
    File(PathBuf),
    /// A symbolic link or a special file (FIFO, socket, device): never
    /// followed nor opened by the listing.
    Other(PathBuf),
}

/// The files under `root` (a directory) that `settings` keeps in scope,
/// sorted; `files` and `others` filled.
pub fn list(root: &Path, settings: &ScopeSettings) -> Result<Listing, ScopeError> {
    let found = Mutex::new((Vec::new(), Vec::new()));
    let mut listing = stream(root, settings, &|entry| {
        let mut found = found.lock().unwrap_or_else(|p| p.into_inner());
        match entry {
            Found::File(path) => found.0.push(path),
            Found::Other(path) => found.1.push(path),
        }
    })?;
    let (mut files, mut others) = found.into_inner().unwrap_or_else(|p| p.into_inner());
    files.sort();
    others.sort();
    listing.files = files;
    listing.others = others;
    Ok(listing)
}

/// As `list`, handing each path to `sink` as it is found (from several
/// threads), so that a scan starts before the listing ends; the returned
/// listing has everything but `files` and `others`.
pub fn stream(
    root: &Path,
    settings: &ScopeSettings,
    sink: &(dyn Fn(Found) + Sync),
) -> Result<Listing, ScopeError> {
    let excludes = compile_excludes(root, settings)?;
    let mut listing = match git_work_tree(root) {
        // Only a directory below the top can lie in an ignored one.
        Some(below_top) if below_top && is_ignored_by_git(root)? => {
            walk(root, settings, &excludes, Source::IgnoredByGit, sink)?
        }
        Some(_) => {
            let mut listing = Listing::new(Source::Git);
            list_git(root, root, settings, &excludes, &mut listing, sink)?;
            listing
        }
        None => walk(root, settings, &excludes, Source::Walk, sink)?,
    };
    listing.excluded.sort();
    listing.excluded.dedup();
    listing.skipped_dirs.sort();
    listing.skipped_dirs.dedup();
    listing.own_outputs.sort();
    listing.unreadable.sort();
    listing.ignore_file_errors.sort();
    Ok(listing)
}

fn compile_excludes(root: &Path, settings: &ScopeSettings) -> Result<Gitignore, ScopeError> {
    let mut builder = GitignoreBuilder::new(root);
    for pattern in &settings.exclude {
        builder
            .add_line(None, pattern)
            .map_err(|error| ScopeError::Exclude {
                key: settings.exclude_key,
                pattern: pattern.clone(),
                message: error.to_string(),
            })?;
    }
    builder.build().map_err(|error| ScopeError::Exclude {
        key: settings.exclude_key,
        pattern: settings.exclude.join(", "),
        message: error.to_string(),
    })
}

/// Whether `root` is in a git work tree (a `.git` directory, or file in
/// worktrees and submodules, at or above it): `Some(true)` when below its top.
fn git_work_tree(root: &Path) -> Option<bool> {
    let start = root.canonicalize().ok()?;
    let top = start
        .ancestors()
        .find(|dir| dir.join(".git").symlink_metadata().is_ok())?;
    Some(top != start)
}

/// git with the caller's repository settings (GIT_DIR from a hook) removed:
/// the work tree is found from the directory, as a user's `git` would.
fn git(dir: &Path) -> std::process::Command {
    let mut command = std::process::Command::new("git");
    command
        .arg("-C")
        .arg(dir)
        .args(["-c", "core.quotePath=false", "-c", "core.fsmonitor=false"]);
    for variable in [
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_COMMON_DIR",
        "GIT_PREFIX",
        "GIT_OBJECT_DIRECTORY",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    ] {
        command.env_remove(variable);
    }
    command
}

fn run_git(dir: &Path, args: &[&str]) -> Result<crate::process::Finished, ScopeError> {
    let failure = |message: String| ScopeError::Git {
        dir: dir.to_path_buf(),
        command: args.join(" "),
        message,
    };
    crate::process::run_with_timeout(git(dir).args(args), GIT_LIST_TIMEOUT)
        .map_err(|error| failure(error.to_string()))
}

/// Whether git ignores `root` itself (it lies in an ignored directory):
/// then git would list none of its untracked files.
fn is_ignored_by_git(root: &Path) -> Result<bool, ScopeError> {
    let args = ["check-ignore", "-q", "--no-index", "."];
    let done = run_git(root, &args)?;
    match done.status.code() {
        Some(0) => Ok(true),
        Some(1) => Ok(false),
        _ => Err(ScopeError::Git {
            dir: root.to_path_buf(),
            command: args.join(" "),
            message: stderr_line(&done.stderr),
        }),
    }
}

/// A child's stderr as one line for a message.
fn stderr_line(bytes: &[u8]) -> String {
    let line = crate::text::one_line(String::from_utf8_lossy(bytes).trim());
    if line.is_empty() {
        "failed without a message".to_string()
    } else {
        line
    }
}

/// Tracked files plus untracked ones git does not ignore, under `dir`;
/// nested repositories and checked-out submodules are listed the same way.
fn list_git(
    root: &Path,
    dir: &Path,
    settings: &ScopeSettings,
    excludes: &Gitignore,
    listing: &mut Listing,
    sink: &(dyn Fn(Found) + Sync),
) -> Result<(), ScopeError> {
    let args = [
        "ls-files",
        "-z",
        "--cached",
        "--others",
        "--exclude-standard",
    ];
    // Entries are handled as git prints them: the scan starts on the first.
    let mut pending: Vec<u8> = Vec::new();
    let mut previous: Vec<u8> = Vec::new();
    let mut failure = None;
    let mut on_output = |chunk: &[u8]| {
        pending.extend_from_slice(chunk);
        let mut start = 0;
        while let Some(end) = memchr::memchr(0, &pending[start..]) {
            let entry = &pending[start..start + end];
            start += end + 1;
            // Unmerged paths appear once per stage, one after the other.
            if entry.is_empty() || entry == previous.as_slice() || failure.is_some() {
                continue;
            }
            previous.clear();
            previous.extend_from_slice(entry);
            if let Err(error) = git_entry(root, dir, entry, settings, excludes, listing, sink) {
                failure = Some(error);
            }
        }
        pending.drain(..start);
    };
    let done =
        crate::process::stream_with_timeout(git(dir).args(args), GIT_LIST_TIMEOUT, &mut on_output)
            .map_err(|error| ScopeError::Git {
                dir: dir.to_path_buf(),
                command: args.join(" "),
                message: error.to_string(),
            })?;
    if !done.status.success() {
        return Err(ScopeError::Git {
            dir: dir.to_path_buf(),
            command: args.join(" "),
            message: stderr_line(&done.stderr),
        });
    }
    failure.map_or(Ok(()), Err)
}

/// One entry of `git ls-files` run in `dir`: handed to `sink`, excluded,
/// or (a nested repository or submodule) listed in turn.
fn git_entry(
    root: &Path,
    dir: &Path,
    entry: &[u8],
    settings: &ScopeSettings,
    excludes: &Gitignore,
    listing: &mut Listing,
    sink: &(dyn Fn(Found) + Sync),
) -> Result<(), ScopeError> {
    // A nested repository is listed as `dir/`.
    let (entry, nested) = match entry.strip_suffix(b"/") {
        Some(entry) => (entry, true),
        None => (entry, false),
    };
    let path = dir.join(path_from_bytes(entry));
    let relative = relative_path(root, &path);
    if let Some(dir) = skipped_dir(&relative, settings) {
        if listing.skipped_dirs.last() != Some(&dir) {
            listing.skipped_dirs.push(dir);
        }
        return Ok(());
    }
    // Before any stat: most of a large excluded tree is files.
    if excludes
        .matched_path_or_any_parents(&relative, nested)
        .is_ignore()
    {
        listing
            .excluded
            .push(topmost_excluded(&relative, nested, excludes));
        return Ok(());
    }
    let metadata = match path.symlink_metadata() {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            listing.absent += 1;
            return Ok(());
        }
        Err(error) => {
            listing.unreadable.push(format!("{relative} ({error})"));
            return Ok(());
        }
    };
    if metadata.is_dir() {
        // A submodule (listed without the slash) matched as a directory.
        if !nested
            && excludes
                .matched_path_or_any_parents(&relative, true)
                .is_ignore()
        {
            listing
                .excluded
                .push(topmost_excluded(&relative, true, excludes));
            return Ok(());
        }
        // A submodule not checked out is an empty directory: nothing to read.
        if path.join(".git").symlink_metadata().is_ok() {
            list_git(root, &path, settings, excludes, listing, sink)?;
        }
    } else if settings.own_outputs.contains(&relative) {
        listing.own_outputs.push(relative);
    } else if metadata.is_file() {
        sink(Found::File(path));
    } else {
        sink(Found::Other(path));
    }
    Ok(())
}

#[cfg(unix)]
fn path_from_bytes(bytes: &[u8]) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    PathBuf::from(std::ffi::OsStr::from_bytes(bytes))
}

#[cfg(not(unix))]
fn path_from_bytes(bytes: &[u8]) -> PathBuf {
    PathBuf::from(String::from_utf8_lossy(bytes).into_owned())
}

/// The leading directory of `relative` (`web/node_modules/`) that
/// `skip_dirs` names, if any.
fn skipped_dir(relative: &str, settings: &ScopeSettings) -> Option<String> {
    let mut end = 0;
    while let Some(slash) = relative[end..].find('/') {
        let part = &relative[end..end + slash];
        end += slash + 1;
        if part == ".git" || settings.skip_dirs.contains(&part) {
            return Some(relative[..end].to_string());
        }
    }
    None
}

/// The shortest leading directory of `relative` that an exclude glob
/// matches (`dir/`), else `relative` itself: one entry per excluded tree.
fn topmost_excluded(relative: &str, is_dir: bool, excludes: &Gitignore) -> String {
    let mut end = 0;
    while let Some(slash) = relative[end..].find('/') {
        end += slash;
        let prefix = &relative[..end];
        if excludes.matched(prefix, true).is_ignore() {
            return format!("{prefix}/");
        }
        end += 1;
    }
    if is_dir {
        format!("{relative}/")
    } else {
        relative.to_string()
    }
}

/// Outside git: a parallel walk honouring `.ignore` files (and
/// `.gitignore` files when asked), never entering a directory whose ignore
/// files cannot be opened safely.
fn walk(
    root: &Path,
    settings: &ScopeSettings,
    excludes: &Gitignore,
    source: Source,
    sink: &(dyn Fn(Found) + Sync),
) -> Result<Listing, ScopeError> {
    if let Some((path, why)) = walker_hazard(root) {
        return Err(ScopeError::Hazard { path, why });
    }
    let gitignore = settings.gitignore_outside_git && source == Source::Walk;
    // Decided before the walker descends: it opens a directory's ignore
    // files as soon as it lists the directory's parent.
    let pruned = Arc::new(Mutex::new(Pruned::default()));
    let filter = {
        let pruned = Arc::clone(&pruned);
        let root = root.to_path_buf();
        let excludes = excludes.clone();
        let skip_dirs = settings.skip_dirs.clone();
        move |entry: &ignore::DirEntry| -> bool {
            if entry.depth() == 0 {
                return true;
            }
            let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
            let name = entry.file_name();
            if is_dir && name == ".git" {
                return false;
            }
            if is_dir && skip_dirs.iter().any(|skip| name == *skip) {
                let relative = relative_path(&root, entry.path());
                let mut pruned = pruned.lock().unwrap_or_else(|p| p.into_inner());
                pruned.skipped_dirs.push(format!("{relative}/"));
                return false;
            }
            let relative = relative_path(&root, entry.path());
            if excludes.matched(&relative, is_dir).is_ignore() {
                let mut pruned = pruned.lock().unwrap_or_else(|p| p.into_inner());
                pruned.excluded.push(if is_dir {
                    format!("{relative}/")
                } else {
                    relative
                });
                return false;
            }
            if is_dir {
                if let Some((path, why)) = walker_hazard(entry.path()) {
                    let mut pruned = pruned.lock().unwrap_or_else(|p| p.into_inner());
                    pruned.unreadable.push(format!(
                        "{} ({why}; {relative}/ not scanned)",
                        relative_path(&root, &path)
                    ));
                    return false;
                }
            }
            true
        }
    };
    let shared = Mutex::new(Listing::new(source));
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let walker = ignore::WalkBuilder::new(root)
        .hidden(false)
        .parents(source == Source::Walk)
        .git_ignore(gitignore)
        .git_exclude(gitignore)
        .git_global(gitignore)
        .require_git(false)
        .follow_links(false)
        .threads(threads)
        .filter_entry(filter)
        .build_parallel();
    walker.run(|| {
        let mut local = LocalListing {
            shared: &shared,
            listing: Listing::new(source),
        };
        Box::new(move |entry| {
            match entry {
                Ok(entry) if entry.depth() > 0 => {
                    let kind = entry.file_type();
                    if kind.is_some_and(|t| t.is_dir()) {
                        return ignore::WalkState::Continue;
                    }
                    let relative = relative_path(root, entry.path());
                    if settings.own_outputs.contains(&relative) {
                        local.listing.own_outputs.push(relative);
                    } else if kind.is_some_and(|t| t.is_file()) {
                        sink(Found::File(entry.into_path()));
                    } else {
                        sink(Found::Other(entry.into_path()));
                    }
                }
                Ok(_) => {}
                // A bad pattern in an ignore file ignores less, hiding nothing: a warning.
                Err(error) if error.io_error().is_none() => {
                    local.listing.ignore_file_errors.push(error.to_string())
                }
                Err(error) => local.listing.unreadable.push(error.to_string()),
            }
            ignore::WalkState::Continue
        })
    });
    let mut listing = shared.into_inner().unwrap_or_else(|p| p.into_inner());
    let pruned = std::mem::take(&mut *pruned.lock().unwrap_or_else(|p| p.into_inner()));
    listing.excluded.extend(pruned.excluded);
    listing.unreadable.extend(pruned.unreadable);
    listing.skipped_dirs.extend(pruned.skipped_dirs);
    Ok(listing)
}

/// What the walk's filter left out, and why.
#[derive(Default)]
struct Pruned {
    excluded: Vec<String>,
    unreadable: Vec<String>,
    skipped_dirs: Vec<String>,
}

/// One walker thread's share, merged when the walker drops its closure, so
/// threads never contend per file.
struct LocalListing<'a> {
    shared: &'a Mutex<Listing>,
    listing: Listing,
}

impl Drop for LocalListing<'_> {
    fn drop(&mut self) {
        let mut shared = self.shared.lock().unwrap_or_else(|p| p.into_inner());
        let local = &mut self.listing;
        shared.own_outputs.append(&mut local.own_outputs);
        shared.unreadable.append(&mut local.unreadable);
        shared
            .ignore_file_errors
            .append(&mut local.ignore_file_errors);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git_in(dir: &Path, args: &[&str]) {
        let status = std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@example.invalid",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .unwrap();
        assert!(status.status.success(), "git {args:?}: {status:?}");
    }

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn names(root: &Path, listing: &Listing) -> Vec<String> {
        listing
            .files
            .iter()
            .map(|p| relative_path(root, p))
            .collect()
    }

    #[test]
    fn git_lists_tracked_files_whatever_the_ignore_files_say() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        git_in(root, &["init", "-q"]);
        write(&root.join(".gitignore"), "/Cargo.lock\nbuild/\n");
        write(&root.join(".ignore"), "*\n");
        write(&root.join("Cargo.lock"), "tracked though ignored");
        write(&root.join("build/out.txt"), "untracked and ignored");
        write(&root.join("src/lib.rs"), "tracked");
        git_in(root, &["add", ".gitignore", ".ignore", "src/lib.rs"]);
        git_in(root, &["add", "-f", "Cargo.lock"]);
        git_in(root, &["commit", "-qm", "init"]);
        write(&root.join("notes.txt"), "untracked, not ignored");
        let listing = list(root, &ScopeSettings::default()).unwrap();
        assert_eq!(listing.source, Source::Git);
        assert_eq!(
            names(root, &listing),
            [
                ".gitignore",
                ".ignore",
                "Cargo.lock",
                "notes.txt",
                "src/lib.rs"
            ]
        );
    }

    #[test]
    fn excludes_are_reported_once_per_tree() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        git_in(root, &["init", "-q"]);
        write(&root.join("tests/fixtures/a/Cargo.lock"), "x");
        write(&root.join("tests/fixtures/b.txt"), "x");
        write(&root.join("docs/x.md"), "x");
        write(&root.join("keep.txt"), "x");
        git_in(root, &["add", "."]);
        let settings = ScopeSettings {
            exclude_key: "secrets.exclude",
            exclude: vec!["tests/fixtures/".into(), "*.md".into()],
            ..ScopeSettings::default()
        };
        for source in [Source::Git, Source::Walk] {
            let listing = match source {
                Source::Git => list(root, &settings).unwrap(),
                _ => {
                    let found = Mutex::new(Vec::new());
                    let mut listing = walk(
                        root,
                        &settings,
                        &compile_excludes(root, &settings).unwrap(),
                        Source::Walk,
                        &|entry| {
                            if let Found::File(path) = entry {
                                found.lock().unwrap().push(path);
                            }
                        },
                    )
                    .unwrap();
                    listing.files = found.into_inner().unwrap();
                    listing.files.sort();
                    listing.excluded.sort();
                    listing
                }
            };
            assert_eq!(names(root, &listing), ["keep.txt"], "{source:?}");
            assert_eq!(
                listing.excluded,
                ["docs/x.md", "tests/fixtures/"],
                "{source:?}"
            );
            assert_eq!(
                listing.excluded_note("secrets.exclude").unwrap(),
                "2 paths excluded by secrets.exclude: docs/x.md, tests/fixtures/"
            );
        }
    }

    #[test]
    fn nested_repositories_are_listed_by_their_own_rules() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        git_in(root, &["init", "-q"]);
        write(&root.join("top.txt"), "x");
        let nested = root.join("nested");
        std::fs::create_dir_all(&nested).unwrap();
        git_in(&nested, &["init", "-q"]);
        write(&nested.join(".gitignore"), "*.log\n");
        write(&nested.join("inner.txt"), "x");
        write(&nested.join("debug.log"), "x");
        let listing = list(root, &ScopeSettings::default()).unwrap();
        assert_eq!(
            names(root, &listing),
            ["nested/.gitignore", "nested/inner.txt", "top.txt"]
        );
    }

    #[test]
    fn an_ignored_root_is_walked_not_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        git_in(root, &["init", "-q"]);
        write(&root.join(".gitignore"), "generated/\n");
        write(&root.join("generated/config.env"), "x");
        let listing = list(&root.join("generated"), &ScopeSettings::default()).unwrap();
        assert_eq!(listing.source, Source::IgnoredByGit);
        assert_eq!(names(&root.join("generated"), &listing), ["config.env"]);
    }

    #[test]
    fn own_outputs_are_left_out_and_named() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(&root.join("secgate.sarif"), "x");
        write(&root.join("sbom.app.cdx.json"), "x");
        write(&root.join("sub/sbom.app.cdx.json"), "x");
        write(&root.join("src.txt"), "x");
        let mut own = OwnOutputs::default();
        own.add(root, &root.join("secgate.sarif"));
        own.add(root, Path::new("/elsewhere/report.json"));
        own.add_family(root, root, "sbom.", ".cdx.json");
        let settings = ScopeSettings {
            own_outputs: own,
            ..ScopeSettings::default()
        };
        let listing = list(root, &settings).unwrap();
        assert_eq!(names(root, &listing), ["src.txt", "sub/sbom.app.cdx.json"]);
        assert_eq!(listing.own_outputs, ["sbom.app.cdx.json", "secgate.sarif"]);
    }

    #[test]
    fn skipped_directories_are_never_listed() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(&root.join("vendor/dep/Cargo.lock"), "x");
        write(&root.join("Cargo.lock"), "x");
        let settings = ScopeSettings {
            skip_dirs: vec!["vendor"],
            ..ScopeSettings::default()
        };
        let listing = list(root, &settings).unwrap();
        assert_eq!(names(root, &listing), ["Cargo.lock"]);
        assert_eq!(listing.skipped_dirs, ["vendor/"]);
        git_in(root, &["init", "-q"]);
        git_in(root, &["add", "."]);
        let listing = list(root, &settings).unwrap();
        assert_eq!(names(root, &listing), ["Cargo.lock"]);
        assert_eq!(listing.skipped_dirs, ["vendor/"]);
    }
}
