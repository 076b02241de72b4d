//! The syntax every Python lock reader shares: reading a text file as pip
//! does, lines of spans, located TOML errors, PEP 503 names, PEP 508
//! requirement strings and markers, index URLs and hashes.

use crate::error::ScanError;
use crate::inventory::{Ecosystem, PackageSource};
use std::path::Path;

#[cfg(test)]
pub(super) use crate::inventory::lock::decode;
pub(super) use crate::inventory::lock::read_text;
pub(super) use crate::text::mask_url_credentials as redact;

/// Byte offsets of line starts, to turn spans into 1-based lines.
pub(super) struct Lines(pub(super) Vec<usize>);

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
pub(super) fn file_name(name: &str) -> &str {
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
pub(super) fn punctuation_at_the_end(text: &str) -> Option<pep508_rs::Pep508Error<RawUrl>> {
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
