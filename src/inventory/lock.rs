//! What one lock file says, whatever its ecosystem: the inventory, the file
//! that lists each package (a requirement file may include others), what
//! could not be checked with its file and line, and every file read. Each
//! ecosystem's readers (`python`, `npm`) return this; the advisory check
//! and the SBOM read only this.

use crate::error::ScanError;
use crate::inventory::Inventory;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug)]
pub struct LockContents {
    /// The format, as the summary names it (`poetry.lock`, `pnpm-lock.yaml v9`).
    pub format: &'static str,
    pub inventory: Inventory,
    /// The file that lists each package of `inventory` (same index): the
    /// lock itself, or for requirement files the included file it is in.
    pub listed_in: Vec<PathBuf>,
    /// What cannot be checked, in file and line order.
    pub unchecked: Vec<UncheckedRequirement>,
    /// Every file read: the lock, the files it includes, the manifests beside it.
    pub files_read: Vec<PathBuf>,
}

impl LockContents {
    /// The file that lists `package` (an index into `inventory.packages`).
    pub fn file_of(&self, package: usize) -> &Path {
        self.listed_in
            .get(package)
            .or(self.inventory.lock_file.as_ref())
            .map_or(Path::new(""), PathBuf::as_path)
    }
}

/// A requirement or lock entry that names no exact version from a
/// registry, so no advisory can be matched to it.
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
    /// A lock entry secgate cannot read as a package (npm: no version, or
    /// a resolution of a kind it does not know).
    Unreadable,
}

impl UncheckedReason {
    pub fn as_str(self) -> &'static str {
        match self {
            UncheckedReason::NotPinned => "no exact version (==) pinned",
            UncheckedReason::Url => "installed from a URL or version control, not the registry",
            UncheckedReason::LocalPath => "installed from a local path, not the registry",
            UncheckedReason::Editable => "an editable install",
            UncheckedReason::InvalidVersion => {
                "not a valid version (PEP 440 for PyPI, SemVer for npm)"
            }
            UncheckedReason::IncludeNotFound => "included file not found",
            UncheckedReason::IncludeOutsideRoot => {
                "included file outside the scanned directory: not read"
            }
            UncheckedReason::IncludeUrl => "included file is a URL: not fetched",
            UncheckedReason::Unreadable => "an entry secgate cannot read as a registry package",
        }
    }
}

/// Reads a lock file's text whole, refusing what is not a regular file of
/// sane size. pip reads UTF-16 with a byte-order mark (what PowerShell's `>`
/// writes) and skips a UTF-8 one; so does this. Bytes that are not UTF-8
/// are an error at their line.
pub fn read_text(path: &Path) -> Result<String, ScanError> {
    if let Some(why) = crate::files::unsafe_to_read(path) {
        return Err(ScanError::BadInput {
            path: path.to_path_buf(),
            message: why,
        });
    }
    let bytes = std::fs::read(path).map_err(|source| ScanError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    decode(path, bytes)
}

pub(crate) fn decode(path: &Path, bytes: Vec<u8>) -> Result<String, ScanError> {
    let utf16 = |big_endian: bool| -> Result<String, ScanError> {
        let units: Vec<u16> = bytes[2..]
            .chunks(2)
            .map(|pair| match (pair, big_endian) {
                ([a, b], false) => u16::from_le_bytes([*a, *b]),
                ([a, b], true) => u16::from_be_bytes([*a, *b]),
                // An odd byte out: not UTF-16 text.
                _ => 0xDC00,
            })
            .collect();
        String::from_utf16(&units).map_err(|_| ScanError::BadInput {
            path: path.to_path_buf(),
            message: "starts with a UTF-16 byte-order mark but is not UTF-16 text".to_string(),
        })
    };
    match bytes.as_slice() {
        [0xFF, 0xFE, ..] => return utf16(false),
        [0xFE, 0xFF, ..] => return utf16(true),
        _ => {}
    }
    match String::from_utf8(bytes) {
        Ok(mut text) => {
            if text.starts_with('\u{feff}') {
                text.drain(..'\u{feff}'.len_utf8());
            }
            Ok(text)
        }
        Err(error) => {
            let valid = error.utf8_error().valid_up_to();
            let bytes = error.as_bytes();
            Err(ScanError::BadInputAt {
                path: path.to_path_buf(),
                line: memchr::memchr_iter(b'\n', &bytes[..valid]).count() + 1,
                column: None,
                message: "not UTF-8 text".to_string(),
            })
        }
    }
}
