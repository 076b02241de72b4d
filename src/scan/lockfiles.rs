//! The lock files and manifests of every package ecosystem, known by name,
//! and whether secgate checks them yet. A dependency file secgate cannot
//! read is reported as found and not checked, never passed over: a gate
//! that says nothing about a Python backend's `uv.lock` must not look green.

use crate::error::ScanError;
use crate::inventory::lock::LockContents;
use crate::inventory::{npm, python, Ecosystem};
use std::path::{Path, PathBuf};

/// What kind of dependency file a name denotes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileKind {
    /// Pins exact versions: what a check would read.
    Lock,
    /// Declares dependencies without pinning them: listed only when no lock
    /// of its ecosystem sits beside or above it.
    Manifest,
}

/// One recognised file name.
struct Pattern {
    /// OSV's ecosystem name.
    ecosystem: &'static str,
    kind: FileKind,
    matches: fn(&str, Option<&str>) -> bool,
}

/// `file name` and the name of its directory.
macro_rules! named {
    ($($name:literal),+) => {
        |file: &str, _dir: Option<&str>| matches!(file, $($name)|+)
    };
}

/// Every ecosystem's dependency files, after osv-scanner's extractors.
/// `Cargo.lock` and the Python and npm locks `inventory::python` and
/// `inventory::npm` read are checked (`sort_out` takes them first); the
/// rest are found, not checked.
const PATTERNS: &[Pattern] = &[
    Pattern {
        ecosystem: "crates.io",
        kind: FileKind::Manifest,
        matches: named!("Cargo.toml"),
    },
    Pattern {
        ecosystem: "PyPI",
        kind: FileKind::Lock,
        matches: |file, dir| {
            matches!(
                file,
                "uv.lock" | "poetry.lock" | "Pipfile.lock" | "pdm.lock" | "pylock.toml"
            ) || (file.starts_with("pylock.") && file.ends_with(".toml"))
                || is_requirements(file, dir)
        },
    },
    Pattern {
        ecosystem: "PyPI",
        kind: FileKind::Manifest,
        matches: named!("pyproject.toml", "Pipfile", "setup.py"),
    },
    Pattern {
        ecosystem: "npm",
        kind: FileKind::Lock,
        matches: named!(
            "package-lock.json",
            "npm-shrinkwrap.json",
            "yarn.lock",
            "pnpm-lock.yaml",
            "bun.lock",
            "bun.lockb"
        ),
    },
    Pattern {
        ecosystem: "npm",
        kind: FileKind::Manifest,
        matches: named!("package.json"),
    },
    Pattern {
        ecosystem: "Go",
        kind: FileKind::Lock,
        matches: named!("go.mod", "go.sum"),
    },
    Pattern {
        ecosystem: "RubyGems",
        kind: FileKind::Lock,
        matches: named!("Gemfile.lock", "gems.locked"),
    },
    Pattern {
        ecosystem: "RubyGems",
        kind: FileKind::Manifest,
        matches: named!("Gemfile", "gems.rb"),
    },
    Pattern {
        ecosystem: "Packagist",
        kind: FileKind::Lock,
        matches: named!("composer.lock"),
    },
    Pattern {
        ecosystem: "Packagist",
        kind: FileKind::Manifest,
        matches: named!("composer.json"),
    },
    Pattern {
        ecosystem: "Maven",
        kind: FileKind::Lock,
        matches: named!("pom.xml", "gradle.lockfile", "buildscript-gradle.lockfile"),
    },
    Pattern {
        ecosystem: "Maven",
        kind: FileKind::Manifest,
        matches: named!("build.gradle", "build.gradle.kts"),
    },
    Pattern {
        ecosystem: "NuGet",
        kind: FileKind::Lock,
        matches: named!("packages.lock.json", "packages.config"),
    },
    Pattern {
        ecosystem: "Pub",
        kind: FileKind::Lock,
        matches: named!("pubspec.lock"),
    },
    Pattern {
        ecosystem: "Pub",
        kind: FileKind::Manifest,
        matches: named!("pubspec.yaml"),
    },
    Pattern {
        ecosystem: "Hex",
        kind: FileKind::Lock,
        matches: named!("mix.lock"),
    },
    Pattern {
        ecosystem: "CRAN",
        kind: FileKind::Lock,
        matches: named!("renv.lock"),
    },
    Pattern {
        ecosystem: "Hackage",
        kind: FileKind::Lock,
        matches: named!("cabal.project.freeze", "stack.yaml.lock"),
    },
    Pattern {
        ecosystem: "ConanCenter",
        kind: FileKind::Lock,
        matches: named!("conan.lock"),
    },
    Pattern {
        ecosystem: "SwiftURL",
        kind: FileKind::Lock,
        matches: named!("Package.resolved"),
    },
    Pattern {
        ecosystem: "CocoaPods",
        kind: FileKind::Lock,
        matches: named!("Podfile.lock"),
    },
];

/// pip's requirement files: `requirements.txt`, `requirements-dev.txt`,
/// `dev-requirements.txt`, or any `.txt` in a `requirements/` directory.
fn is_requirements(file: &str, dir: Option<&str>) -> bool {
    file.ends_with(".txt") && (file.contains("requirements") || dir == Some("requirements"))
}

/// A lock file the advisory check reads: `Cargo.lock`, a Python or an npm lock.
pub fn is_checked_lock(path: &Path) -> bool {
    path.file_name().is_some_and(|name| name == CARGO_LOCK)
        || python::is_python_lock(path)
        || npm::is_npm_lock(path)
}

/// Reads one Python or npm lock (`ecosystem`'s), with the files it
/// includes or the manifests beside it, inside `root`.
pub fn read_lock(
    ecosystem: Ecosystem,
    path: &Path,
    root: &Path,
) -> Result<LockContents, ScanError> {
    match ecosystem {
        Ecosystem::Npm => npm::read(path, root),
        Ecosystem::PyPi => python::read(path, root),
        Ecosystem::CratesIo => Err(ScanError::BadInput {
            path: path.to_path_buf(),
            message: "a Cargo.lock is read through cargo metadata or the Cargo.lock reader"
                .to_string(),
        }),
    }
}

/// The lock file secgate checks today.
pub const CARGO_LOCK: &str = "Cargo.lock";

/// A dependency file secgate found and did not check.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct UncheckedFile {
    /// Relative to the scanned root, forward slashes.
    pub path: String,
    pub ecosystem: &'static str,
    pub kind: FileKind,
    /// Why it is not checked, in a few words.
    pub reason: String,
}

/// `relative` (forward slashes) as an ecosystem's dependency file, if it is one.
fn classify(relative: &str) -> Option<(&'static str, FileKind)> {
    let (dir, file) = match relative.rsplit_once('/') {
        Some((dir, file)) => (Some(dir.rsplit('/').next().unwrap_or(dir)), file),
        None => (None, relative),
    };
    PATTERNS
        .iter()
        .find(|p| (p.matches)(file, dir))
        .map(|p| (p.ecosystem, p.kind))
}

/// The lock files to check, by ecosystem, and what goes unchecked.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Sorted {
    pub cargo_locks: Vec<String>,
    /// Requirement files, `poetry.lock`, `uv.lock`, `Pipfile.lock`, `pdm.lock`.
    pub python_locks: Vec<String>,
    /// `package-lock.json`, `npm-shrinkwrap.json`, `yarn.lock`, `pnpm-lock.yaml`, `bun.lock`.
    pub npm_locks: Vec<String>,
    pub unchecked: Vec<UncheckedFile>,
}

/// What the lock-file search found among `files` (relative paths, sorted):
/// the lock files to check, and the dependency files of other ecosystems
/// (and manifests without a lock) that go unchecked.
pub fn sort_out<'a>(files: impl IntoIterator<Item = &'a str>) -> Sorted {
    let mut cargo_locks = Vec::new();
    let mut python_locks: Vec<String> = Vec::new();
    let mut npm_locks: Vec<String> = Vec::new();
    let mut locks: Vec<(String, &'static str)> = Vec::new();
    let mut manifests: Vec<(String, &'static str)> = Vec::new();
    for relative in files {
        if Path::new(relative)
            .file_name()
            .is_some_and(|n| n == CARGO_LOCK)
        {
            cargo_locks.push(relative.to_string());
            continue;
        }
        if crate::inventory::python::is_python_lock(Path::new(relative)) {
            python_locks.push(relative.to_string());
            continue;
        }
        if crate::inventory::npm::is_npm_lock(Path::new(relative)) {
            npm_locks.push(relative.to_string());
            continue;
        }
        match classify(relative) {
            Some((ecosystem, FileKind::Lock)) => locks.push((relative.to_string(), ecosystem)),
            Some((ecosystem, FileKind::Manifest)) => {
                manifests.push((relative.to_string(), ecosystem))
            }
            None => {}
        }
    }
    // bun writes bun.lock beside an old bun.lockb while migrating: then
    // the text lock is the one bun reads.
    let text_bun_lock_dirs: Vec<&str> = npm_locks
        .iter()
        .filter(|path| path.ends_with("bun.lock"))
        .map(|path| parent(path))
        .collect();
    let mut unchecked: Vec<UncheckedFile> = locks
        .iter()
        .filter(|(path, _)| {
            !(path.ends_with("bun.lockb") && text_bun_lock_dirs.contains(&parent(path)))
        })
        .map(|(path, ecosystem)| UncheckedFile {
            path: path.clone(),
            ecosystem,
            kind: FileKind::Lock,
            reason: if path.ends_with("bun.lockb") {
                crate::inventory::npm::BINARY_BUN_LOCK
            } else {
                "not supported yet"
            }
            .to_string(),
        })
        .collect();
    // A manifest is covered by a lock of its ecosystem in its directory or
    // above (a workspace's members share the root's lock).
    let lock_dirs = |ecosystem: &str| -> Vec<&str> {
        let mut dirs: Vec<&str> = locks
            .iter()
            .filter(|(_, e)| *e == ecosystem)
            .map(|(path, _)| parent(path))
            .collect();
        if ecosystem == "crates.io" {
            dirs.extend(cargo_locks.iter().map(|path| parent(path)));
        }
        if ecosystem == "PyPI" {
            dirs.extend(python_locks.iter().map(|path| parent(path)));
        }
        if ecosystem == "npm" {
            dirs.extend(npm_locks.iter().map(|path| parent(path)));
        }
        dirs
    };
    for (path, ecosystem) in &manifests {
        let dir = parent(path);
        let covered = lock_dirs(ecosystem)
            .iter()
            .any(|lock_dir| is_at_or_below(dir, lock_dir));
        if !covered {
            unchecked.push(UncheckedFile {
                path: path.clone(),
                ecosystem,
                kind: FileKind::Manifest,
                reason: if *ecosystem == "crates.io" {
                    "no Cargo.lock beside or above it: versions not resolved"
                } else {
                    "a manifest without a lock file: not supported yet"
                }
                .to_string(),
            });
        }
    }
    unchecked.sort();
    Sorted {
        cargo_locks,
        python_locks,
        npm_locks,
        unchecked,
    }
}

/// The directory part of a relative path, `""` at the root.
fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(dir, _)| dir)
}

fn is_at_or_below(dir: &str, ancestor: &str) -> bool {
    ancestor.is_empty()
        || dir == ancestor
        || (dir.starts_with(ancestor) && dir.as_bytes().get(ancestor.len()) == Some(&b'/'))
}

/// `PyPI: 2, npm: 1`, in first-seen order.
pub fn count_by_ecosystem(unchecked: &[UncheckedFile]) -> String {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for file in unchecked {
        match counts.iter_mut().find(|(e, _)| *e == file.ecosystem) {
            Some((_, n)) => *n += 1,
            None => counts.push((file.ecosystem, 1)),
        }
    }
    counts
        .iter()
        .map(|(ecosystem, n)| format!("{ecosystem}: {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `PyPI: uv.lock, api/requirements.txt; npm: web/bun.lock`, grouped by
/// ecosystem in first-seen order, at most `shown` paths in all.
pub fn describe(unchecked: &[UncheckedFile], shown: usize) -> String {
    let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
    for file in unchecked {
        match groups.iter_mut().find(|(e, _)| *e == file.ecosystem) {
            Some((_, paths)) => paths.push(&file.path),
            None => groups.push((file.ecosystem, vec![&file.path])),
        }
    }
    let mut left = shown;
    let mut parts = Vec::new();
    for (ecosystem, paths) in &groups {
        if left == 0 {
            break;
        }
        let listed: Vec<&str> = paths.iter().take(left).copied().collect();
        left -= listed.len();
        parts.push(format!("{ecosystem}: {}", listed.join(", ")));
    }
    let mut text = parts.join("; ");
    if unchecked.len() > shown {
        text.push_str(&format!(" and {} more", unchecked.len() - shown));
    }
    text
}

/// What the lock-file search found.
#[derive(Clone, Debug, Default)]
pub struct LockSearch {
    pub cargo_locks: Vec<PathBuf>,
    pub python_locks: Vec<PathBuf>,
    pub npm_locks: Vec<PathBuf>,
    pub unchecked: Vec<UncheckedFile>,
    pub excluded: Vec<String>,
    pub notes: Vec<String>,
}

impl LockSearch {
    /// The locks checked against OSV archives, by ecosystem.
    pub fn osv_locks(&self) -> impl Iterator<Item = (Ecosystem, &[PathBuf])> {
        [
            (Ecosystem::PyPi, self.python_locks.as_slice()),
            (Ecosystem::Npm, self.npm_locks.as_slice()),
        ]
        .into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_ecosystems() {
        for (path, expected) in [
            ("uv.lock", Some(("PyPI", FileKind::Lock))),
            ("pylock.toml", Some(("PyPI", FileKind::Lock))),
            ("api/requirements-dev.txt", Some(("PyPI", FileKind::Lock))),
            ("requirements/base.txt", Some(("PyPI", FileKind::Lock))),
            ("notes.txt", None),
            ("web/bun.lock", Some(("npm", FileKind::Lock))),
            ("web/package.json", Some(("npm", FileKind::Manifest))),
            ("go.sum", Some(("Go", FileKind::Lock))),
            ("Gemfile.lock", Some(("RubyGems", FileKind::Lock))),
            ("composer.lock", Some(("Packagist", FileKind::Lock))),
            ("java/pom.xml", Some(("Maven", FileKind::Lock))),
            ("Cargo.toml", Some(("crates.io", FileKind::Manifest))),
            ("pylock.dev.toml", Some(("PyPI", FileKind::Lock))),
            ("src/lock.rs", None),
        ] {
            assert_eq!(classify(path), expected, "{path}");
        }
    }

    #[test]
    fn manifests_under_a_lock_are_covered() {
        let files = [
            "rust/Cargo.lock",
            "rust/Cargo.toml",
            "rust/crates/a/Cargo.toml",
            "tools/lonely/Cargo.toml",
            "web/bun.lock",
            "web/package.json",
            "web/packages/ui/package.json",
            "docs/package.json",
            "api/pyproject.toml",
            "api/uv.lock",
            "scripts/pyproject.toml",
        ];
        let Sorted {
            cargo_locks,
            python_locks,
            npm_locks,
            unchecked,
        } = sort_out(files);
        assert_eq!(cargo_locks, ["rust/Cargo.lock"]);
        assert_eq!(python_locks, ["api/uv.lock"]);
        assert_eq!(npm_locks, ["web/bun.lock"]);
        let listed: Vec<(&str, FileKind)> = unchecked
            .iter()
            .map(|u| (u.path.as_str(), u.kind))
            .collect();
        assert_eq!(
            listed,
            [
                ("docs/package.json", FileKind::Manifest),
                ("scripts/pyproject.toml", FileKind::Manifest),
                ("tools/lonely/Cargo.toml", FileKind::Manifest),
            ]
        );
        assert_eq!(
            describe(&unchecked, 2),
            "npm: docs/package.json; PyPI: scripts/pyproject.toml and 1 more"
        );
    }

    #[test]
    fn a_binary_bun_lock_says_how_to_write_the_text_one() {
        let sorted = sort_out([
            "app/bun.lockb",
            "app/package.json",
            "old/bun.lock",
            "old/bun.lockb",
        ]);
        assert_eq!(sorted.npm_locks, ["old/bun.lock"]);
        assert_eq!(sorted.unchecked.len(), 1);
        let binary = &sorted.unchecked[0];
        assert_eq!(binary.path, "app/bun.lockb");
        assert!(
            binary.reason.contains("bun install --save-text-lockfile"),
            "{}",
            binary.reason
        );
    }

    #[test]
    fn a_sibling_directory_is_not_an_ancestor() {
        assert!(is_at_or_below("web/app", "web"));
        assert!(is_at_or_below("web", "web"));
        assert!(is_at_or_below("anything", ""));
        assert!(!is_at_or_below("website", "web"));
    }
}
