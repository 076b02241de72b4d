//! The Python readers of the package inventory: pip requirement files,
//! `poetry.lock`, `uv.lock`, `Pipfile.lock` and `pdm.lock`, each into an
//! [`Inventory`] of PyPI packages: PEP 503 names (as OSV and package URLs
//! compare them), exact versions, the lines that list each package, the
//! sha256 the lock records, dependency edges where the lock has the graph,
//! and dev-only kinds where the lock (or the `pyproject.toml` beside it)
//! tells them apart. What cannot be checked (a requirement without an exact
//! pin, a URL, an editable install, an include that was not read, an entry
//! without a PEP 440 version) is returned beside the inventory with its file
//! and line: a gate must say what it did not look at, never drop it.

mod graph;
mod pdm;
mod pipfile;
mod poetry;
mod pyproject;
mod requirements;
mod uv;

use super::{Ecosystem, Inventory, PackageSource};
use crate::error::ScanError;
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
    fn reads_pyproject(self) -> bool {
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

/// Reads the Python lock at `path`, chosen by its name. Requirement files
/// follow their `-r`/`-c` includes inside `root` (the scanned directory);
/// `poetry.lock` and `pdm.lock` read the `pyproject.toml` beside them when
/// there is one.
pub fn read(path: &Path, root: &Path) -> Result<PythonLock, ScanError> {
    let format = LockFormat::of(path).ok_or_else(|| ScanError::BadInput {
        path: path.to_path_buf(),
        message: "not a Python lock file secgate reads".to_string(),
    })?;
    let text = read_text(path)?;
    if format == LockFormat::Requirements {
        let mut includes = requirements::FileIncludes::new(path, root);
        return requirements::read(path, &text, &mut includes);
    }
    let manifest_path = crate::files::directory_of(path).join("pyproject.toml");
    let manifest_text = if format.reads_pyproject() && manifest_path.is_file() {
        Some(read_text(&manifest_path)?)
    } else {
        None
    };
    parse_lock(
        format,
        path,
        &text,
        manifest_text
            .as_deref()
            .map(|t| (manifest_path.as_path(), t)),
    )
}

/// `read` on text already read, touching no file: a requirement file's
/// includes are reported as not found; `pyproject` is the manifest beside a
/// poetry or pdm lock, if any.
pub fn parse(
    format: LockFormat,
    path: &Path,
    text: &str,
    pyproject: Option<(&Path, &str)>,
) -> Result<PythonLock, ScanError> {
    if format == LockFormat::Requirements {
        return requirements::read(path, text, &mut requirements::NoIncludes);
    }
    parse_lock(format, path, text, pyproject)
}

fn parse_lock(
    format: LockFormat,
    path: &Path,
    text: &str,
    pyproject: Option<(&Path, &str)>,
) -> Result<PythonLock, ScanError> {
    let manifest = match pyproject {
        Some((manifest_path, manifest_text)) if format.reads_pyproject() => {
            Some(pyproject::parse(manifest_path, manifest_text)?)
        }
        _ => None,
    };
    let (inventory, unchecked) = match format {
        LockFormat::Poetry => poetry::read(path, text, manifest.as_ref())?,
        LockFormat::Uv => uv::read(path, text)?,
        LockFormat::Pipfile => pipfile::read(path, text)?,
        LockFormat::Pdm => pdm::read(path, text, manifest.as_ref())?,
        LockFormat::Requirements => unreachable!("requirement files are read by `parse`"),
    };
    let mut files_read = vec![path.to_path_buf()];
    if let (Some((manifest_path, _)), Some(_)) = (pyproject, &manifest) {
        files_read.push(manifest_path.to_path_buf());
    }
    Ok(PythonLock {
        format,
        listed_in: vec![path.to_path_buf(); inventory.packages.len()],
        inventory,
        unchecked,
        files_read,
    })
}

/// Reads a text file whole, refusing what is not a regular file of sane
/// size. pip reads UTF-16 with a byte-order mark (what PowerShell's `>`
/// writes) and skips a UTF-8 one; so does this. Bytes that are not UTF-8
/// are an error at their line.
pub(super) fn read_text(path: &Path) -> Result<String, ScanError> {
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

fn decode(path: &Path, bytes: Vec<u8>) -> Result<String, ScanError> {
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

/// Byte offsets of line starts, to turn spans into 1-based lines.
pub(super) struct Lines(Vec<usize>);

impl Lines {
    pub(super) fn new(text: &str) -> Lines {
        let mut starts = vec![0];
        starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1));
        Lines(starts)
    }

    /// The 1-based line holding byte `offset`.
    pub(super) fn line_of(&self, offset: usize) -> usize {
        self.0.partition_point(|&start| start <= offset).max(1)
    }

    /// The 1-based column (in characters) of byte `offset` on its line.
    pub(super) fn column_of(&self, text: &str, offset: usize) -> usize {
        let offset = offset.min(text.len());
        let start = self.0[self.line_of(offset) - 1];
        text.get(start..offset).map_or(1, |s| s.chars().count() + 1)
    }
}

/// A TOML parse or shape error as `file:line:column: not a valid <what>: …`
/// on one line (toml's Display would quote the file's lines).
pub(super) fn toml_error(
    path: &Path,
    text: &str,
    what: &str,
    error: &toml::de::Error,
) -> ScanError {
    let lines = Lines::new(text);
    let offset = error.span().map_or(0, |s| s.start);
    ScanError::BadInputAt {
        path: path.to_path_buf(),
        line: lines.line_of(offset),
        column: Some(lines.column_of(text, offset)),
        message: format!(
            "not a valid {what}: {}",
            crate::text::one_line(error.message())
        ),
    }
}

/// A name as PyPI compares it (PEP 503).
pub(super) fn normalize(name: &str) -> String {
    Ecosystem::PyPi.normalize_name(name)
}

/// An extra or group name as PEP 685 compares it (the same rule).
pub(super) fn normalize_extra(name: &str) -> String {
    Ecosystem::PyPi.normalize_name(name)
}

/// Whether a version is PEP 440 (and so can be compared with ranges).
pub(super) fn is_pep440(version: &str) -> bool {
    version
        .trim()
        .parse::<pep508_rs::pep440_rs::Version>()
        .is_ok()
}

/// The PyPI index, under any of the names lock files give it.
pub(super) fn is_pypi(url: &str) -> bool {
    let host = url
        .split_once("://")
        .map_or(url, |(_, rest)| rest)
        .split(['/', '?', '#'])
        .next()
        .unwrap_or("")
        .rsplit('@')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    matches!(
        host.as_str(),
        "pypi.org" | "pypi.python.org" | "files.pythonhosted.org" | "upload.pypi.org"
    )
}

/// The public PyPI index, as a package source.
pub(super) fn pypi() -> PackageSource {
    PackageSource::Registry {
        url: "https://pypi.org/simple".to_string(),
        public: true,
    }
}

/// A package index as a source: public when it is PyPI itself.
pub(super) fn registry(url: &str) -> PackageSource {
    PackageSource::Registry {
        url: redact(url),
        public: is_pypi(url),
    }
}

/// `url` with the password of its user info masked: lock files and
/// requirement lines carry index tokens (`https://user:token@host/`), and
/// what is read here ends up in findings and SBOMs.
pub(super) fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(scheme_end) = rest.find("://") {
        let (head, tail) = rest.split_at(scheme_end + 3);
        out.push_str(head);
        let authority_end = tail.find(['/', '?', '#', ' ']).unwrap_or(tail.len());
        let authority = &tail[..authority_end];
        match authority.rfind('@') {
            Some(at) => {
                let user = &authority[..at];
                match user.split_once(':') {
                    Some((name, _)) => {
                        out.push_str(name);
                        out.push_str(":***");
                    }
                    // A lone user part is a token as often as a name.
                    None if user.len() >= 16 => out.push_str("***"),
                    None => out.push_str(user),
                }
                out.push_str(&authority[at..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[authority_end..];
    }
    out.push_str(rest);
    out
}

/// A `sha256:<hex>` (or bare hex) hash as lower-case hex; other algorithms
/// and malformed digests are not checksums the inventory records.
pub(super) fn sha256_of(hash: &str) -> Option<String> {
    let hex = match hash.split_once([':', '=']) {
        Some((algorithm, hex)) if algorithm.eq_ignore_ascii_case("sha256") => hex,
        Some(_) => return None,
        None => hash,
    };
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| hex.to_ascii_lowercase())
}

/// The checksum of a package among its distribution files `(file name,
/// hash)`: the source distribution's when it can be told (the one artifact
/// every platform shares), else the first one of this version, else the
/// first one. One file list may hold several versions (poetry 1.x).
pub(super) fn pick_checksum<'a>(
    files: impl IntoIterator<Item = (Option<&'a str>, &'a str)>,
    version: &str,
) -> Option<String> {
    let files: Vec<(Option<&str>, String)> = files
        .into_iter()
        .filter_map(|(name, hash)| Some((name.map(file_name), sha256_of(hash)?)))
        .collect();
    let of_version = |name: &str| {
        name.contains(&format!("-{version}-")) || name.contains(&format!("-{version}."))
    };
    let is_sdist = |name: &str| name.ends_with(".tar.gz") || name.ends_with(".zip");
    files
        .iter()
        .find(|(name, _)| name.is_some_and(|n| of_version(n) && is_sdist(n)))
        .or_else(|| files.iter().find(|(name, _)| name.is_some_and(of_version)))
        .or_else(|| {
            // Names that say no version at all (bare hashes): the first.
            files
                .iter()
                .all(|(name, _)| name.is_none())
                .then(|| files.first())
                .flatten()
        })
        .map(|(_, hash)| hash.clone())
}

/// The last path segment of a file name or URL.
fn file_name(name: &str) -> &str {
    let name = name.split(['#', '?']).next().unwrap_or(name);
    name.rsplit('/').next().unwrap_or(name)
}

/// A URL of a PEP 508 `name @ url` requirement, kept as written: no
/// environment expansion, no file-system lookups.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) struct RawUrl(pub String);

impl std::fmt::Display for RawUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl pep508_rs::Pep508Url for RawUrl {
    type Err = std::convert::Infallible;

    fn parse_url(url: &str, _working_dir: Option<&Path>) -> Result<Self, Self::Err> {
        Ok(RawUrl(url.to_string()))
    }
}

pub(super) type Requirement = pep508_rs::Requirement<RawUrl>;

/// A PEP 508 requirement string, parsed.
pub(super) fn requirement(text: &str) -> Result<Requirement, pep508_rs::Pep508Error<RawUrl>> {
    if let Some(error) = punctuation_at_the_end(text) {
        return Err(error);
    }
    text.parse::<Requirement>()
}

/// A name or extra that ends in `-`, `_` or `.` with more text after it
/// (`pkg-==1.0`, `pkg[a-]`): pep508_rs 0.9 panics on those (its own check
/// covers only the end of the text), so they are refused here first, with
/// the error it gives at the end of the text.
fn punctuation_at_the_end(text: &str) -> Option<pep508_rs::Pep508Error<RawUrl>> {
    let is_name_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    let token_at = |at: usize| {
        let rest = &text[at..];
        let end = rest.find(|c: char| !is_name_char(c)).unwrap_or(rest.len());
        (at, &rest[..end])
    };
    let start = text.len() - text.trim_start().len();
    let name = token_at(start);
    let mut tokens = vec![name];
    let after = start + name.1.len();
    let bracket = text[after..].trim_start();
    if bracket.starts_with('[') {
        let open = text.len() - bracket.len();
        let close = text[open..].find(']').map_or(text.len(), |at| open + at);
        let mut at = open + 1;
        for part in text[open + 1..close].split(',') {
            tokens.push(token_at(at + part.len() - part.trim_start().len()));
            at += part.len() + 1;
        }
    }
    let (at, token) = tokens.into_iter().find(|(_, token)| {
        token.starts_with(|c: char| c.is_ascii_alphanumeric()) && token.ends_with(['-', '_', '.'])
    })?;
    let last = at + token.len() - 1;
    Some(pep508_rs::Pep508Error {
        message: pep508_rs::Pep508ErrorSource::String(format!(
            "`{token}` must end with an alphanumeric character"
        )),
        start: text[..last].chars().count(),
        len: 1,
        input: text.to_string(),
    })
}

/// The name a requirement string starts with (for the loose forms poetry
/// writes in `[package.extras]`, `"PySocks (>=1.5.6,!=1.5.7)"`).
pub(super) fn leading_name(text: &str) -> Option<&str> {
    let text = text.trim_start();
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(text.len());
    // PEP 508 names start and end with a letter or digit.
    let name = text[..end].trim_end_matches(['-', '_', '.']);
    name.starts_with(|c: char| c.is_ascii_alphanumeric())
        .then_some(name)
}

/// The marker of a PEP 508 requirement string as written (after `;`),
/// or `None` when it has none.
pub(super) fn marker_text(text: &str) -> Option<String> {
    // A `;` inside a URL is followed by no space; PEP 508 wants one before
    // the marker of a URL requirement, and names and versions have no `;`.
    let (_, marker) = text.split_once(';')?;
    let marker = crate::text::one_line(marker.trim());
    (!marker.is_empty()).then_some(marker)
}

/// An environment marker as a platform condition: the `extra == "…"`
/// clauses dropped (which extras are asked for is followed in the graph
/// itself), `None` when nothing else is left.
pub(super) fn platform_marker(marker: Option<&str>) -> Option<String> {
    let marker = marker?.trim();
    // Markers are a decision diagram to simplify: only short ones are
    // worth it (a lock's are), and only when there is an extra to drop.
    if !marker.contains("extra") || marker.len() > 1000 {
        return (!marker.is_empty()).then(|| crate::text::one_line(marker));
    }
    match marker.parse::<pep508_rs::MarkerTree>() {
        Ok(tree) => tree.simplify_extras_with(|_| true).try_to_string(),
        Err(_) => Some(crate::text::one_line(marker)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_by_file_name() {
        for (path, format) in [
            ("poetry.lock", Some(LockFormat::Poetry)),
            ("api/uv.lock", Some(LockFormat::Uv)),
            ("Pipfile.lock", Some(LockFormat::Pipfile)),
            ("pdm.lock", Some(LockFormat::Pdm)),
            ("requirements.txt", Some(LockFormat::Requirements)),
            ("dev-requirements.txt", Some(LockFormat::Requirements)),
            ("requirements/base.txt", Some(LockFormat::Requirements)),
            ("requirements.in", None),
            ("notes.txt", None),
            ("pylock.toml", None),
            ("Cargo.lock", None),
        ] {
            assert_eq!(LockFormat::of(Path::new(path)), format, "{path}");
            assert_eq!(is_python_lock(Path::new(path)), format.is_some());
        }
    }

    #[test]
    fn read_dispatches_and_reads_the_pyproject_beside() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/python");
        let lock = read(&dir.join("poetry-1.1-django/poetry.lock"), &dir).unwrap();
        assert_eq!(lock.format, LockFormat::Poetry);
        assert_eq!(
            lock.files_read,
            [
                dir.join("poetry-1.1-django/poetry.lock"),
                dir.join("poetry-1.1-django/pyproject.toml")
            ]
        );
        assert_eq!(lock.listed_in.len(), lock.inventory.packages.len());
        let lock = read(&dir.join("pdm-flask/pdm.lock"), &dir).unwrap();
        assert_eq!(lock.files_read.len(), 1);
        let lock = read(&dir.join("pipenv-flask/Pipfile.lock"), &dir).unwrap();
        assert_eq!(lock.format, LockFormat::Pipfile);
        let lock = read(&dir.join("uv-polars/uv.lock"), &dir).unwrap();
        assert_eq!(lock.file_of(0), dir.join("uv-polars/uv.lock"));
        let error = read(&dir.join("README.md"), &dir).unwrap_err().to_string();
        assert!(error.ends_with("README.md: not a Python lock file secgate reads"));
        let error = read(&dir.join("nowhere/uv.lock"), &dir)
            .unwrap_err()
            .to_string();
        assert!(error.contains("nowhere/uv.lock"), "{error}");
    }

    #[test]
    fn text_encodings_pip_reads() {
        let path = Path::new("requirements.txt");
        let utf16: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain("a==1\r\n".encode_utf16().flat_map(|u| u.to_le_bytes()))
            .collect();
        assert_eq!(decode(path, utf16).unwrap(), "a==1\r\n");
        let utf16be: Vec<u8> = [0xFE, 0xFF]
            .into_iter()
            .chain("b==2".encode_utf16().flat_map(|u| u.to_be_bytes()))
            .collect();
        assert_eq!(decode(path, utf16be).unwrap(), "b==2");
        assert_eq!(decode(path, b"\xEF\xBB\xBFc==3".to_vec()).unwrap(), "c==3");
        let error = decode(path, b"a==1\nb==\xFF2\n".to_vec())
            .unwrap_err()
            .to_string();
        assert_eq!(error, "requirements.txt:2: not UTF-8 text");
        assert!(decode(path, vec![0xFF, 0xFE, 0x61]).is_err());
    }

    #[test]
    fn credentials_in_urls_are_masked() {
        for (text, masked) in [
            (
                "https://user:pa55@host/simple",
                "https://user:***@host/simple",
            ),
            (
                "git+https://ghp_abcdefghijklmnopqrstu@github.com/o/r.git",
                "git+https://***@github.com/o/r.git",
            ),
            ("https://git@github.com/o/r", "https://git@github.com/o/r"),
            (
                "a @ https://x:y@h/a.whl ; b @ https://p:q@h/b",
                "a @ https://x:***@h/a.whl ; b @ https://p:***@h/b",
            ),
            ("no url at all", "no url at all"),
        ] {
            assert_eq!(redact(text), masked, "{text}");
        }
    }

    #[test]
    fn checksums_and_indexes() {
        let hex = "0E5C3A7BD5C4E32F5F3D07A3A9E3A48F5E08E17EBB3B6F71F0CF2FE3E1B8D0A1";
        assert_eq!(
            sha256_of(&format!("sha256:{hex}")),
            Some(hex.to_ascii_lowercase())
        );
        assert_eq!(sha256_of(&format!("md5:{hex}")), None);
        assert_eq!(sha256_of("sha256:abc"), None);
        let wheel = format!("sha256:{}", "1".repeat(64));
        let sdist = format!("sha256:{}", "2".repeat(64));
        let other = format!("sha256:{}", "3".repeat(64));
        let files = [
            (Some("pkg-1.0-py3-none-any.whl"), wheel.as_str()),
            (Some("pkg-1.1.tar.gz"), other.as_str()),
            (Some("https://h/p/pkg-1.0.tar.gz#sha256=x"), sdist.as_str()),
        ];
        assert_eq!(pick_checksum(files, "1.0"), Some("2".repeat(64)));
        assert_eq!(
            pick_checksum(files[..1].to_vec(), "1.0"),
            Some("1".repeat(64))
        );
        assert_eq!(pick_checksum(files, "2.0"), None);
        assert_eq!(
            pick_checksum([(None, wheel.as_str())], "9"),
            Some("1".repeat(64))
        );
        assert!(is_pypi("https://pypi.org/simple"));
        assert!(is_pypi("https://pypi.python.org/simple/"));
        assert!(is_pypi("https://user:x@files.pythonhosted.org/packages/a"));
        assert!(!is_pypi("https://pypi.org.evil.example/simple"));
        assert!(!is_pypi("https://nexus.example/repository/pypi.org/simple"));
    }

    #[test]
    fn names_requirements_and_markers() {
        assert_eq!(leading_name("PySocks (>=1.5.6,!=1.5.7)"), Some("PySocks"));
        assert_eq!(leading_name("ipython[test]"), Some("ipython"));
        assert_eq!(leading_name("-e ."), None);
        assert_eq!(leading_name("name-"), Some("name"));
        assert_eq!(
            marker_text("colorama; platform_system == \"Windows\""),
            Some("platform_system == \"Windows\"".to_string())
        );
        assert_eq!(marker_text("colorama"), None);
        assert_eq!(marker_text("colorama ;  "), None);
        assert!(requirement("requests[socks] (>=2.0) ; python_version >= '3'").is_ok());
        // pep508_rs would panic on these.
        for text in ["dex-=6.0", "a_ ==1", "a[b-]", "a[ok, b. ]==1", "  x.[y]"] {
            let error = requirement(text).unwrap_err();
            assert!(
                error.message.to_string().contains("must end with"),
                "{text}"
            );
        }
        assert!(requirement("a-b.c_d[e-f]==1").is_ok());
        assert!(requirement("a-").is_err());
        assert_eq!(platform_marker(Some("extra == \"dotenv\"")), None);
        assert_eq!(
            platform_marker(Some("sys_platform == \"win32\" and extra == 'socks'")),
            Some("sys_platform == 'win32'".to_string())
        );
        assert_eq!(
            platform_marker(Some("python_version < \"3.11\"")),
            Some("python_version < \"3.11\"".to_string())
        );
        assert_eq!(platform_marker(Some(" ")), None);
    }
}
