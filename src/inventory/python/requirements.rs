//! pip requirement files: one requirement per logical line (a line ending
//! in `\` goes on; `#` after whitespace starts a comment), each pinned
//! with `==` (or `===`) to be checked, with per-line options (`--hash`)
//! after it; option lines include other files (`-r`, and `-c` whose pins
//! apply to whatever is installed), install editable trees (`-e`) or set
//! the index (`-i`). Includes are read relative to the including file,
//! once each (a cycle ends where it closes), and only inside the scanned
//! directory. A requirement file records no graph; its kinds come from
//! file names only: a package listed only in development files
//! (`requirements-dev.txt`, `test-requirements.txt`, `requirements/lint.txt`)
//! is dev-only, every other package's kind is unknown (counted as shipped).

use super::lock::LockFormat;
use super::syntax::{
    is_pep440, leading_name, marker_text, normalize, pick_checksum, pypi, read_text, redact,
    registry, requirement,
};
use crate::error::ScanError;
use crate::inventory::lock::{LockContents, UncheckedReason, UncheckedRequirement};
use crate::inventory::{DependencyKind, Ecosystem, Inventory, LockLines, Package};
use pep508_rs::pep440_rs::{Operator, Version};
use std::collections::{HashMap, HashSet};
use std::path::{Component, Path, PathBuf};

/// What an include line leads to.
pub(super) enum Opened {
    /// The file (as the including file names it) and its text.
    Text(PathBuf, String),
    /// Read before: its requirements are already in.
    AlreadyRead,
    Unchecked(UncheckedReason),
}

/// How includes are opened.
pub(super) trait Includes {
    /// The file `target` names in `from`.
    fn open(&mut self, from: &Path, target: &str) -> Result<Opened, ScanError>;
}

/// Includes from the file system, inside `root`.
pub(super) struct FileIncludes {
    root: PathBuf,
    seen: HashSet<PathBuf>,
}

impl FileIncludes {
    pub(super) fn new(start: &Path, root: &Path) -> FileIncludes {
        let mut seen = HashSet::new();
        seen.insert(start.canonicalize().unwrap_or_else(|_| start.to_path_buf()));
        FileIncludes {
            root: root.canonicalize().unwrap_or_else(|_| root.to_path_buf()),
            seen,
        }
    }
}

impl Includes for FileIncludes {
    fn open(&mut self, from: &Path, target: &str) -> Result<Opened, ScanError> {
        if target.contains("://") {
            return Ok(Opened::Unchecked(UncheckedReason::IncludeUrl));
        }
        let path = lexical(&crate::files::directory_of(from).join(target));
        let Ok(canonical) = path.canonicalize() else {
            return Ok(Opened::Unchecked(UncheckedReason::IncludeNotFound));
        };
        // Canonical on both sides: a symbolic link out of the tree is out.
        if !canonical.starts_with(&self.root) {
            return Ok(Opened::Unchecked(UncheckedReason::IncludeOutsideRoot));
        }
        if !self.seen.insert(canonical) {
            return Ok(Opened::AlreadyRead);
        }
        let text = read_text(&path)?;
        Ok(Opened::Text(path, text))
    }
}

/// Reads no file: every include is reported as not found.
pub(super) struct NoIncludes;

impl Includes for NoIncludes {
    fn open(&mut self, _from: &Path, target: &str) -> Result<Opened, ScanError> {
        Ok(Opened::Unchecked(if target.contains("://") {
            UncheckedReason::IncludeUrl
        } else {
            UncheckedReason::IncludeNotFound
        }))
    }
}

/// `a/b/../c` as `a/c`, for showing where an include was found.
fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir
                if matches!(out.components().next_back(), Some(Component::Normal(_))) =>
            {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// A pinned requirement where it was read.
struct Pin {
    name: String,
    version: String,
    file: PathBuf,
    lines: LockLines,
    marker: Option<String>,
    hashes: Vec<String>,
}

/// What the files read so far say.
#[derive(Default)]
struct Collected {
    pins: Vec<Pin>,
    /// With the name of the requirement when it has one: a pin elsewhere
    /// (a constraint file) checks it after all.
    unchecked: Vec<(Option<String>, UncheckedRequirement)>,
    files_read: Vec<PathBuf>,
    /// `-i`: every requirement comes from there.
    index: Option<String>,
    /// Includes being read, outermost first: how deep the recursion is.
    depth: usize,
}

/// How deep includes may nest: real layouts nest two or three deep; a
/// chain of thousands (a hostile tree) must not exhaust the stack.
const MAX_DEPTH: usize = 64;

/// Reads the requirement file `path` (text `text`) and what it includes.
pub(super) fn read(
    path: &Path,
    text: &str,
    includes: &mut dyn Includes,
) -> Result<LockContents, ScanError> {
    let mut collected = Collected::default();
    read_file(path, text, includes, &mut collected)?;
    let pinned: HashSet<String> = collected.pins.iter().map(|p| p.name.clone()).collect();
    let unchecked: Vec<UncheckedRequirement> = collected
        .unchecked
        .into_iter()
        .filter(|(name, u)| {
            u.reason != UncheckedReason::NotPinned
                || !name.as_ref().is_some_and(|n| pinned.contains(n))
        })
        .map(|(_, u)| u)
        .collect();
    let source = collected.index.as_deref().map_or_else(pypi, registry);
    // One package per name and version: where first listed, shipped on
    // every platform unless each listing has a marker.
    let mut index: HashMap<(String, String), usize> = HashMap::new();
    // (pin, markers, listed only in development files)
    let mut grouped: Vec<(Pin, Option<Vec<String>>, bool)> = Vec::new();
    for pin in collected.pins {
        let key = (pin.name.clone(), pin.version.clone());
        let in_development_file = is_development_file(&pin.file);
        match index.get(&key) {
            Some(&first) => {
                let (kept, markers, development_only) = &mut grouped[first];
                *development_only &= in_development_file;
                match (&pin.marker, markers.as_mut()) {
                    (Some(marker), Some(markers)) => markers.push(marker.clone()),
                    _ => *markers = None,
                }
                if kept.hashes.is_empty() {
                    kept.hashes = pin.hashes;
                }
            }
            None => {
                index.insert(key, grouped.len());
                let markers = pin.marker.clone().map(|m| vec![m]);
                grouped.push((pin, markers, in_development_file));
            }
        }
    }
    grouped.sort_by_cached_key(|(pin, _, _)| {
        (
            pin.name.clone(),
            pin.version.parse::<Version>().ok(),
            pin.version.clone(),
        )
    });
    let mut listed_in = Vec::with_capacity(grouped.len());
    let mut platforms = Vec::with_capacity(grouped.len());
    let mut packages = Vec::with_capacity(grouped.len());
    let mut kinds = Vec::with_capacity(grouped.len());
    for (pin, markers, development_only) in grouped {
        kinds.push(development_only.then_some(DependencyKind::DevOnly));
        packages.push(Package {
            checksum: pick_checksum(pin.hashes.iter().map(|h| (None, h.as_str())), &pin.version),
            lines: Some(pin.lines),
            ..Package::bare(Ecosystem::PyPi, &pin.name, &pin.version, source.clone())
        });
        listed_in.push(pin.file);
        platforms.push(markers.map(|mut m| {
            m.sort();
            m.dedup();
            m
        }));
    }
    let mut inventory = Inventory {
        depends_on: vec![Vec::new(); packages.len()],
        packages,
        lock_file: Some(path.to_path_buf()),
        fallback_reason: Some(
            "a requirements file records no dependency graph: dependency kinds unknown, \
             except that packages listed only in development files (by name) are dev-only"
                .to_string(),
        ),
        ..Inventory::empty(None)
    };
    inventory.finish();
    for ((package, platform), kind) in inventory.packages.iter_mut().zip(platforms).zip(kinds) {
        package.platform_only = platform;
        package.kind = kind;
    }
    Ok(LockContents {
        format: LockFormat::Requirements.as_str(),
        inventory,
        listed_in,
        unchecked,
        files_read: collected.files_read,
    })
}

/// A requirement file for development only, by its name's words
/// (`requirements-dev.txt`, `dev-requirements.txt`, `requirements/test.txt`,
/// `requirements_lint.txt`): what pip-tools and cookiecutter layouts use.
fn is_development_file(path: &Path) -> bool {
    const WORDS: &[&str] = &[
        "dev",
        "develop",
        "development",
        "test",
        "tests",
        "testing",
        "lint",
        "linting",
        "docs",
        "doc",
        "ci",
        "typing",
        "mypy",
        "style",
        "format",
        "benchmark",
        "bench",
    ];
    let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
        return false;
    };
    stem.to_ascii_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|word| WORDS.contains(&word))
}

fn read_file(
    path: &Path,
    text: &str,
    includes: &mut dyn Includes,
    collected: &mut Collected,
) -> Result<(), ScanError> {
    collected.files_read.push(path.to_path_buf());
    for line in logical_lines(text) {
        let unchecked = |reason, requirement: &str| UncheckedRequirement {
            file: path.to_path_buf(),
            line: line.start,
            requirement: redact(requirement),
            reason,
        };
        if line.text.starts_with('-') {
            let (option, value) = option(&line.text);
            match option {
                "-r" | "--requirement" | "-c" | "--constraint" => {
                    // Where the include is, then what went wrong in the file.
                    let opened =
                        includes
                            .open(path, value)
                            .map_err(|error| ScanError::BadInputAt {
                                path: path.to_path_buf(),
                                line: line.start as usize,
                                column: None,
                                message: format!(
                                    "cannot read the included `{}`: {}",
                                    redact(value),
                                    crate::text::one_line(&error.to_string())
                                ),
                            })?;
                    match opened {
                        Opened::Text(_, _) if collected.depth >= MAX_DEPTH => {
                            return Err(ScanError::BadInputAt {
                                path: path.to_path_buf(),
                                line: line.start as usize,
                                column: None,
                                message: format!(
                                    "includes nest deeper than {MAX_DEPTH} files: not followed"
                                ),
                            })
                        }
                        Opened::Text(included, text) => {
                            collected.depth += 1;
                            read_file(&included, &text, includes, collected)?;
                            collected.depth -= 1;
                        }
                        Opened::AlreadyRead => {}
                        Opened::Unchecked(reason) => collected
                            .unchecked
                            .push((None, unchecked(reason, &line.text))),
                    }
                }
                "-e" | "--editable" => collected
                    .unchecked
                    .push((None, unchecked(UncheckedReason::Editable, &line.text))),
                "-i" | "--index-url" => {
                    collected.index.get_or_insert_with(|| value.to_string());
                }
                // --extra-index-url, --find-links, --pre, --require-hashes…
                // name no package.
                _ => {}
            }
            continue;
        }
        let (spec, hashes) = split_options(&line.text);
        match pin(spec) {
            Ok((name, version)) => collected.pins.push(Pin {
                name,
                version,
                file: path.to_path_buf(),
                lines: LockLines {
                    start: line.start,
                    end: line.end,
                },
                marker: marker_text(spec),
                hashes,
            }),
            Err(Why::Unchecked(name, reason)) => {
                collected.unchecked.push((name, unchecked(reason, spec)))
            }
            Err(Why::Invalid(message, column)) => {
                return Err(ScanError::BadInputAt {
                    path: path.to_path_buf(),
                    line: line.start as usize,
                    column: (line.start == line.end)
                        .then(|| line.column(spec, column))
                        .flatten(),
                    message: format!(
                        "not a valid requirement `{}`: {message}",
                        redact(&crate::text::one_line(spec))
                    ),
                })
            }
        }
    }
    Ok(())
}

/// One requirement or option, joined from its physical lines.
struct Logical {
    start: u32,
    end: u32,
    text: String,
    /// The physical line, when it is one, to locate columns in.
    physical: Option<String>,
}

impl Logical {
    /// The 1-based column of character `at` of `part` (a slice of `text`).
    fn column(&self, part: &str, at: usize) -> Option<usize> {
        let physical = self.physical.as_deref()?;
        let offset = physical.find(part)?;
        Some(physical[..offset].chars().count() + at + 1)
    }
}

/// The logical lines of a requirement file: continuations joined,
/// comments and blank lines dropped.
fn logical_lines(text: &str) -> Vec<Logical> {
    let mut lines = Vec::new();
    let mut pending: Option<(u32, String)> = None;
    for (index, raw) in text.split('\n').enumerate() {
        let number = index as u32 + 1;
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let comment_only = raw.trim_start().starts_with('#');
        if raw.ends_with('\\') && !comment_only {
            let (start, mut joined) = pending.take().unwrap_or((number, String::new()));
            joined.push_str(&raw[..raw.len() - 1]);
            pending = Some((start, joined));
            continue;
        }
        let (start, joined) = match pending.take() {
            Some((start, mut joined)) => {
                // A comment line ends a continuation, adding nothing.
                if !comment_only {
                    joined.push_str(raw);
                }
                (start, joined)
            }
            None => (number, raw.to_string()),
        };
        push_logical(&mut lines, start, number, joined, raw);
    }
    if let Some((start, joined)) = pending {
        let end = text.split('\n').count() as u32;
        push_logical(&mut lines, start, end, joined, "");
    }
    lines
}

fn push_logical(lines: &mut Vec<Logical>, start: u32, end: u32, joined: String, raw: &str) {
    let text = strip_comment(&joined).trim().to_string();
    if !text.is_empty() {
        lines.push(Logical {
            start,
            end,
            text,
            physical: (start == end).then(|| raw.to_string()),
        });
    }
}

/// The text before a `#` that starts the line or follows whitespace (one
/// inside a URL, `#egg=`, does neither).
fn strip_comment(line: &str) -> &str {
    let mut previous_is_space = true;
    for (at, c) in line.char_indices() {
        if c == '#' && previous_is_space {
            return &line[..at];
        }
        previous_is_space = c.is_whitespace();
    }
    line
}

/// An option line as (option, value): `-r file`, `-rfile`,
/// `--requirement=file`, `--requirement file`.
fn option(line: &str) -> (&str, &str) {
    fn unquote(v: &str) -> &str {
        let v = v.trim();
        v.strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .or_else(|| v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
            .unwrap_or(v)
    }
    if line.starts_with("--") {
        let end = line.find(['=', ' ', '\t']).unwrap_or(line.len());
        let rest = line[end..].strip_prefix('=').unwrap_or(&line[end..]);
        return (&line[..end], unquote(rest));
    }
    let split = line.char_indices().nth(2).map_or(line.len(), |(at, _)| at);
    (&line[..split], unquote(&line[split..]))
}

/// The requirement of a line and the sha256 hashes of its `--hash`
/// options (the options start at the first word that starts with `-`).
fn split_options(line: &str) -> (&str, Vec<String>) {
    let mut options_at = line.len();
    let mut previous_is_space = true;
    for (at, c) in line.char_indices() {
        if c == '-' && previous_is_space && at > 0 {
            options_at = at;
            break;
        }
        previous_is_space = c.is_whitespace();
    }
    let spec = line[..options_at].trim();
    let words: Vec<&str> = line[options_at..].split_whitespace().collect();
    let mut hashes = Vec::new();
    for (i, word) in words.iter().enumerate() {
        let value = match word.strip_prefix("--hash") {
            Some(rest) if rest.starts_with('=') => &rest[1..],
            Some("") => words.get(i + 1).copied().unwrap_or(""),
            _ => continue,
        };
        hashes.push(value.to_string());
    }
    (spec, hashes)
}

/// Why a requirement is no pin.
enum Why {
    /// Well formed, but not checkable; with its name when it has one.
    Unchecked(Option<String>, UncheckedReason),
    /// Not a requirement pip would take: the message and the character at fault.
    Invalid(String, usize),
}

/// The (PEP 503 name, exact version) a requirement pins.
fn pin(spec: &str) -> Result<(String, String), Why> {
    let before_marker = spec.split(';').next().unwrap_or(spec).trim();
    if let Some(reason) = bare_url_or_path(before_marker) {
        return Err(Why::Unchecked(None, reason));
    }
    let parsed = match requirement(spec) {
        Ok(parsed) => parsed,
        // A marker this parser refuses leaves the pin itself readable.
        Err(error) => match requirement(before_marker) {
            Ok(parsed) if spec.contains(';') => parsed,
            _ => return arbitrary_equality(spec).unwrap_or_else(|| Err(invalid(error))),
        },
    };
    let name = normalize(parsed.name.as_ref());
    let specifiers = match parsed.version_or_url {
        Some(pep508_rs::VersionOrUrl::VersionSpecifier(specifiers)) => specifiers,
        Some(pep508_rs::VersionOrUrl::Url(url)) => {
            let reason = bare_url_or_path(&url.0).unwrap_or(UncheckedReason::Url);
            return Err(Why::Unchecked(Some(name), reason));
        }
        None => return Err(Why::Unchecked(Some(name), UncheckedReason::NotPinned)),
    };
    let exact = specifiers
        .iter()
        .find(|s| matches!(s.operator(), Operator::Equal | Operator::ExactEqual));
    match exact {
        Some(exact) => Ok((name, exact.version().to_string())),
        None => Err(Why::Unchecked(Some(name), UncheckedReason::NotPinned)),
    }
}

fn invalid(error: pep508_rs::Pep508Error<super::syntax::RawUrl>) -> Why {
    Why::Invalid(
        crate::text::one_line(&error.message.to_string()),
        error.start,
    )
}

/// `name===anything` (PEP 440's arbitrary equality): a pin when what
/// follows is a version after all, else a version no range contains.
fn arbitrary_equality(spec: &str) -> Option<Result<(String, String), Why>> {
    let (head, tail) = spec.split_once("===")?;
    // Nothing but a name (and extras) before the operator.
    let bare = head.split('[').next().unwrap_or(head).trim();
    let name = leading_name(head).filter(|n| *n == bare)?;
    let version = tail.split(';').next()?.trim();
    let name = normalize(name);
    Some(if is_pep440(version) && !version.is_empty() {
        Ok((name, version.to_string()))
    } else {
        Err(Why::Unchecked(Some(name), UncheckedReason::InvalidVersion))
    })
}

/// A bare URL, VCS reference or local path (pip takes these without a
/// name), or what the URL of a `name @ url` requirement points at.
fn bare_url_or_path(text: &str) -> Option<UncheckedReason> {
    // `name @ url` and `name[extra] @ url` are PEP 508: parsed as such.
    if let Some((head, _)) = text.split_once('@') {
        let name = head.split('[').next().unwrap_or(head).trim();
        if leading_name(name) == Some(name) {
            return None;
        }
    }
    let lower = text.to_ascii_lowercase();
    if let Some(at) = lower.find("://") {
        let scheme = &lower[..at];
        if !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-'))
        {
            return Some(if scheme == "file" {
                UncheckedReason::LocalPath
            } else {
                UncheckedReason::Url
            });
        }
    }
    let archive = [".whl", ".tar.gz", ".tgz", ".zip", ".tar.bz2"]
        .iter()
        .any(|ext| lower.ends_with(ext));
    let path_like = lower.starts_with("file:")
        || text.starts_with(['.', '/', '~', '\\'])
        || (text.contains(['/', '\\']) && !text.contains('@'))
        || archive;
    path_like.then_some(UncheckedReason::LocalPath)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/python")
            .join(name)
    }

    fn read_in(path: &Path, root: &Path) -> LockContents {
        let text = read_text(path).unwrap();
        read(path, &text, &mut FileIncludes::new(path, root)).unwrap()
    }

    fn pins(lock: &LockContents) -> Vec<String> {
        lock.inventory
            .packages
            .iter()
            .map(|p| format!("{}=={}", p.name, p.version))
            .collect()
    }

    #[test]
    fn real_cookiecutter_layout_follows_includes() {
        let dir = fixture("requirements-django");
        let local = dir.join("requirements/local.txt");
        let lock = read_in(&local, &dir);
        assert!(lock.unchecked.is_empty(), "{:?}", lock.unchecked);
        assert_eq!(lock.inventory.packages.len(), 19 + 22);
        let django = lock.inventory.find("django", None).unwrap();
        assert_eq!(lock.inventory.packages[django].version, "3.1.13");
        assert_eq!(lock.file_of(django), dir.join("requirements/base.txt"));
        assert_eq!(
            lock.inventory.packages[django].lines,
            Some(LockLines { start: 11, end: 11 })
        );
        let uvicorn = lock.inventory.find("uvicorn", None).unwrap();
        assert_eq!(lock.inventory.packages[uvicorn].version, "0.15.0");
        let pillow = lock.inventory.find("pillow", None).unwrap();
        assert_eq!(lock.inventory.packages[pillow].version, "8.4.0");
        let black = lock.inventory.find("black", None).unwrap();
        assert_eq!(lock.inventory.packages[black].version, "21.9b0");
        assert_eq!(lock.file_of(black), local);
        assert_eq!(
            lock.files_read,
            [local.clone(), dir.join("requirements/base.txt")]
        );
        let inventory = &lock.inventory;
        assert!(inventory.packages.iter().all(|p| p.kind.is_none()));
        assert!(inventory.fallback_reason.is_some());
        assert!(inventory
            .packages
            .iter()
            .all(|p| p.source.is_public_registry()));
        // production.txt reads base.txt too: the same packages.
        let production = read_in(&dir.join("requirements/production.txt"), &dir);
        assert!(production.inventory.find("django-storages", None).is_some());
        assert_eq!(production.inventory.packages.len(), 19 + 5);
    }

    #[test]
    fn packages_listed_only_in_development_files_are_dev_only() {
        for (name, development) in [
            ("requirements-dev.txt", true),
            ("dev-requirements.txt", true),
            ("requirements_test.txt", true),
            ("requirements/tests.txt", true),
            ("requirements/lint.txt", true),
            ("requirements.txt", false),
            ("requirements/base.txt", false),
            ("requirements/production.txt", false),
            ("requirements/local.txt", false),
            ("requirements-device.txt", false),
        ] {
            assert_eq!(is_development_file(Path::new(name)), development, "{name}");
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("requirements.txt"), "django==3.1.13\n").unwrap();
        std::fs::write(
            dir.path().join("requirements-dev.txt"),
            "-r requirements.txt\npytest==6.2.5\ndjango==3.1.13\n",
        )
        .unwrap();
        let lock = read_in(&dir.path().join("requirements-dev.txt"), dir.path());
        let kind = |name| lock.inventory.packages[lock.inventory.find(name, None).unwrap()].kind;
        assert_eq!(kind("pytest"), Some(DependencyKind::DevOnly));
        // Also listed in requirements.txt: shipped (kind unknown).
        assert_eq!(kind("django"), None);
    }

    #[test]
    fn real_poetry_export_with_markers_hashes_and_continuations() {
        let path = fixture("requirements-poetry-export/requirements.txt");
        let lock = read_in(&path, path.parent().unwrap());
        assert!(lock.unchecked.is_empty());
        assert_eq!(
            pins(&lock),
            [
                "click==7.1.2",
                "flask==1.1.4",
                "flask-sqlalchemy==2.5.1",
                "greenlet==1.1.1",
                "gunicorn==20.1.0",
                "itsdangerous==1.1.0",
                "jinja2==2.11.3",
                "markupsafe==2.0.1",
                "python-dotenv==0.19.0",
                "sqlalchemy==1.4.23",
                "werkzeug==1.0.1"
            ]
        );
        let greenlet = &lock.inventory.packages[lock.inventory.find("greenlet", None).unwrap()];
        assert_eq!(greenlet.lines, Some(LockLines { start: 10, end: 60 }));
        assert_eq!(
            greenlet.checksum.as_deref(),
            Some("476ba9435afaead4382fbab8f1882f75e3fb2285c35c9285abb3dd30237f9142")
        );
        let werkzeug = &lock.inventory.packages[lock.inventory.find("werkzeug", None).unwrap()];
        assert_eq!(
            werkzeug.lines,
            Some(LockLines {
                start: 159,
                end: 161
            })
        );
        assert_eq!(
            werkzeug.platform_only,
            Some(vec![
                "python_version >= \"2.7\" and python_full_version < \"3.0.0\" or python_full_version >= \"3.5.0\""
                    .to_string()
            ])
        );
    }

    #[test]
    fn edge_cases_are_pinned_or_reported_never_dropped() {
        let root = fixture("requirements-edge/app");
        let path = root.join("requirements.txt");
        let lock = read_in(&path, &root);
        assert_eq!(
            pins(&lock),
            [
                "django==3.2.4",
                "flask==1.1.2",
                "numpy==1.19.5",
                "numpy==1.21.0",
                "pytest==6.2.4",
                "requests==2.25.1",
                "six==1.16.0",
                "urllib3==1.26.4",
            ]
        );
        let inventory = &lock.inventory;
        let django = inventory.find("django", None).unwrap();
        // Listed in dev.txt first (read at the -r), hashed in requirements.txt.
        assert_eq!(lock.file_of(django), root.join("requirements/dev.txt"));
        assert_eq!(
            inventory.packages[django].checksum.as_deref(),
            Some("66c9d8db8cc6fe938a28b7887c1596e42d522e27618562517cc8929eb7e7f296")
        );
        let flask = inventory.find("flask", None).unwrap();
        assert_eq!(lock.file_of(flask), root.join("constraints.txt"));
        let requests = &inventory.packages[inventory.find("requests", None).unwrap()];
        assert_eq!(
            requests.platform_only,
            Some(vec!["python_version >= \"3.6\"".to_string()])
        );
        assert_eq!(requests.lines, Some(LockLines { start: 9, end: 9 }));
        let six = &inventory.packages[inventory.find("six", None).unwrap()];
        assert_eq!(six.lines, Some(LockLines { start: 24, end: 24 }));
        let listed: Vec<(u32, &str, UncheckedReason)> = lock
            .unchecked
            .iter()
            .map(|u| (u.line, u.requirement.as_str(), u.reason))
            .collect();
        use UncheckedReason::*;
        assert_eq!(
            listed,
            [
                (12, "celery>=5.0", NotPinned),
                (14, "legacy-thing===1.0-custom", InvalidVersion),
                (
                    15,
                    "-e git+https://github.com/me/editable.git#egg=editable",
                    Editable
                ),
                (
                    16,
                    "git+https://user:***@github.com/me/private.git@v1#egg=private",
                    Url
                ),
                (17, "./vendor/localpkg", LocalPath),
                (18, "pkg-from-url @ https://example.com/pkg-1.0.tar.gz", Url),
                (19, "-r ../outside.txt", IncludeOutsideRoot),
                (20, "-r missing.txt", IncludeNotFound),
                (21, "--requirement=https://example.com/reqs.txt", IncludeUrl),
            ]
        );
        assert!(lock.unchecked.iter().all(|u| u.file == path));
        assert_eq!(lock.files_read.len(), 3, "the cycle back is not read twice");
    }

    #[test]
    fn includes_nest_only_so_deep() {
        let scratch = tempfile::tempdir().unwrap();
        for i in 0..=MAX_DEPTH + 1 {
            std::fs::write(
                scratch.path().join(format!("r{i}-requirements.txt")),
                format!("-r r{}-requirements.txt\np{i}==1.0\n", i + 1),
            )
            .unwrap();
        }
        let start = scratch.path().join("r0-requirements.txt");
        let text = read_text(&start).unwrap();
        let error = read(
            &start,
            &text,
            &mut FileIncludes::new(&start, scratch.path()),
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("includes nest deeper than 64"), "{error}");
        assert!(error.contains("r64-requirements.txt:1:"), "{error}");
    }

    #[test]
    fn an_index_url_is_the_source_of_every_package() {
        // secgate:allow: a made-up credential for this test
        let text = "--index-url https://ci:t0ken@nexus.corp.example/simple\nfoo==1.0\n";
        let lock = read(Path::new("requirements.txt"), text, &mut NoIncludes).unwrap();
        assert_eq!(
            lock.inventory.packages[0].source,
            crate::inventory::PackageSource::Registry {
                url: "https://ci:***@nexus.corp.example/simple".to_string(),
                public: false
            }
        );
    }

    #[test]
    fn logical_lines_comments_and_options() {
        let text = "a==1 \\\n  --hash=sha256:x\r\n# note \\\nb==2\\\n# ends it\nc==3 # d==4\n\\\n";
        let lines: Vec<(u32, u32, String)> = logical_lines(text)
            .into_iter()
            .map(|l| (l.start, l.end, l.text))
            .collect();
        assert_eq!(
            lines,
            [
                (1, 2, "a==1   --hash=sha256:x".to_string()),
                (4, 5, "b==2".to_string()),
                (6, 6, "c==3".to_string()),
            ]
        );
        assert_eq!(
            strip_comment("git+https://h/r#egg=x # c"),
            "git+https://h/r#egg=x "
        );
        assert_eq!(option("-rbase.txt"), ("-r", "base.txt"));
        assert_eq!(option("-r  'my file.txt'"), ("-r", "my file.txt"));
        assert_eq!(option("--constraint=c.txt"), ("--constraint", "c.txt"));
        assert_eq!(
            option("--requirement base.txt"),
            ("--requirement", "base.txt")
        );
        assert_eq!(
            split_options("x==1 --hash sha256:ab --hash=sha256:cd --global-option=-O2"),
            (
                "x==1",
                vec!["sha256:ab".to_string(), "sha256:cd".to_string()]
            )
        );
    }

    #[test]
    fn pins_and_what_is_no_pin() {
        let pinned = |spec: &str| pin(spec).ok();
        assert_eq!(pinned("Django==3.2"), Some(("django".into(), "3.2".into())));
        assert_eq!(
            pinned("zope.interface == 5.4.0"),
            Some(("zope-interface".into(), "5.4.0".into()))
        );
        assert_eq!(
            pinned("torch==1.13.1+cpu"),
            Some(("torch".into(), "1.13.1+cpu".into()))
        );
        assert_eq!(pinned("a>=1,==1.5"), Some(("a".into(), "1.5".into())));
        assert_eq!(pinned("a===2.0"), Some(("a".into(), "2.0".into())));
        assert_eq!(pinned("a (==1.0)"), Some(("a".into(), "1.0".into())));
        let reason = |spec: &str| match pin(spec) {
            Err(Why::Unchecked(_, reason)) => Some(reason),
            _ => None,
        };
        use UncheckedReason::*;
        assert_eq!(reason("a==1.*"), Some(NotPinned));
        assert_eq!(reason("a~=1.4"), Some(NotPinned));
        assert_eq!(reason("a"), Some(NotPinned));
        assert_eq!(reason("https://h/a-1.0.tar.gz"), Some(Url));
        assert_eq!(reason("a @ file:///srv/a"), Some(LocalPath));
        assert_eq!(reason("dist/a-1.0-py3-none-any.whl"), Some(LocalPath));
        assert_eq!(reason("C:\\wheels\\a.whl"), Some(LocalPath));
        assert!(matches!(pin("Django=3.2"), Err(Why::Invalid(..))));
        assert!(matches!(
            pin("a==1.0 ; os_name ==="),
            Err(Why::Invalid(..)) | Ok(_)
        ));
    }

    #[test]
    fn invalid_requirements_are_errors_at_their_line_and_column() {
        let text = "a==1\n\nDjango=3.2  # typo\n";
        let error = read(Path::new("reqs/requirements.txt"), text, &mut NoIncludes)
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("reqs/requirements.txt:3:7: not a valid requirement `Django=3.2`: "),
            "{error}"
        );
        assert!(!error.contains('\n'));
    }
}
