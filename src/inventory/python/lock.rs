//! What a Python lock file says, whatever its format: the format (by file
//! name), the inventory, and what could not be checked, with file and line.

use crate::inventory::Inventory;
use std::path::{Path, PathBuf};

/// A Python lock format, known by file name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LockFormat {
    /// pip's `requirements*.txt`, or any `.txt` in a `requirements/` directory.
    Requirements,
    Poetry,
    Uv,
    Pipfile,
    Pdm,
}

impl LockFormat {
    /// The format a file name denotes, if it is one of these.
    pub fn of(path: &Path) -> Option<LockFormat> {
        let file = path.file_name()?.to_str()?;
        let format = match file {
            "poetry.lock" => LockFormat::Poetry,
            "uv.lock" => LockFormat::Uv,
            "Pipfile.lock" => LockFormat::Pipfile,
            "pdm.lock" => LockFormat::Pdm,
            _ => {
                // The rule of the lock-file catalogue (scan/lockfiles.rs).
                let dir = path
                    .parent()
                    .and_then(|d| d.file_name())
                    .and_then(|d| d.to_str());
                if file.ends_with(".txt")
                    && (file.contains("requirements") || dir == Some("requirements"))
                {
                    LockFormat::Requirements
                } else {
                    return None;
                }
            }
        };
        Some(format)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            LockFormat::Requirements => "requirements file",
            LockFormat::Poetry => "poetry.lock",
            LockFormat::Uv => "uv.lock",
            LockFormat::Pipfile => "Pipfile.lock",
            LockFormat::Pdm => "pdm.lock",
        }
    }

    /// Whether the `pyproject.toml` beside the lock tells its roots and
    /// dev groups apart (the lock alone may not: poetry's lock format 2.0).
    pub(super) fn reads_pyproject(self) -> bool {
        matches!(self, LockFormat::Poetry | LockFormat::Pdm)
    }
}

/// A file these readers handle.
pub fn is_python_lock(path: &Path) -> bool {
    LockFormat::of(path).is_some()
}

/// What a Python lock file says.
#[derive(Clone, Debug)]
pub struct PythonLock {
    pub format: LockFormat,
    pub inventory: Inventory,
    /// The file that lists each package of `inventory` (same index): the
    /// lock itself, or for requirement files the included file it is in.
    pub listed_in: Vec<PathBuf>,
    /// What cannot be checked, in file and line order.
    pub unchecked: Vec<UncheckedRequirement>,
    /// Every file read: the lock, the files it includes, the `pyproject.toml`.
    pub files_read: Vec<PathBuf>,
}

impl PythonLock {
    /// The file that lists `package` (an index into `inventory.packages`).
    pub fn file_of(&self, package: usize) -> &Path {
        self.listed_in
            .get(package)
            .or(self.inventory.lock_file.as_ref())
            .map_or(Path::new(""), PathBuf::as_path)
    }
}

/// A requirement that names no exact version from an index, so no advisory
/// can be matched to it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct UncheckedRequirement {
    pub file: PathBuf,
    /// 1-based: the first line of the requirement (or of its entry).
    pub line: u32,
    /// As written, on one line, with credentials in URLs masked.
    pub requirement: String,
    pub reason: UncheckedReason,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum UncheckedReason {
    /// A range, a wildcard or no version at all (`>=1.0`, `==1.*`, `name`).
    NotPinned,
    /// `name @ URL`, a bare URL, a VCS reference.
    Url,
    /// A local directory or archive.
    LocalPath,
    /// `-e`: installed from a working tree.
    Editable,
    /// A version that is not PEP 440, so no range can contain it.
    InvalidVersion,
    /// An included requirement or constraint file that does not exist.
    IncludeNotFound,
    /// An included file outside the scanned directory: not read.
    IncludeOutsideRoot,
    /// An included file given as a URL: not fetched.
    IncludeUrl,
}

impl UncheckedReason {
    pub fn as_str(self) -> &'static str {
        match self {
            UncheckedReason::NotPinned => "no exact version (==) pinned",
            UncheckedReason::Url => "installed from a URL or version control",
            UncheckedReason::LocalPath => "installed from a local path",
            UncheckedReason::Editable => "an editable install",
            UncheckedReason::InvalidVersion => "not a PEP 440 version",
            UncheckedReason::IncludeNotFound => "included file not found",
            UncheckedReason::IncludeOutsideRoot => {
                "included file outside the scanned directory: not read"
            }
            UncheckedReason::IncludeUrl => "included file is a URL: not fetched",
        }
    }
}
