//! The Python lock formats, known by file name.

use std::path::Path;

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
