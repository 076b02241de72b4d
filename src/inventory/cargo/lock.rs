//! Reading `Cargo.lock`: the packages it lists, where it lists them, and
//! located errors for what cargo itself would refuse.
//!
//! The TOML parser is the reference, but on a lock file of a thousand
//! packages it costs more than the whole advisory check besides. So the
//! file is first read line by line as cargo lays it out; at the first line
//! outside that layout (hand edits, escapes, CRLF-free oddities, old
//! formats) the reader gives up and the TOML parser reads the file instead.
//! The line reader accepts only what TOML reads the same way, so the two
//! agree wherever it answers; errors always come from the TOML parser or
//! from checks both share. Tests and the lockfile fuzz target compare them.

use crate::error::ScanError;
use crate::inventory::LockLines;
use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;

/// One `[[package]]` of a `Cargo.lock`. Borrowed from the lock file's text
/// where it is written plainly (as cargo writes it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockPackage<'a> {
    pub name: Cow<'a, str>,
    pub version: Cow<'a, str>,
    pub source: Option<Cow<'a, str>>,
    pub checksum: Option<Cow<'a, str>>,
    pub dependencies: Vec<Cow<'a, str>>,
    /// From its `[[package]]` header to its `version` line.
    pub lines: LockLines,
}

/// Reads a lock file, refusing what is not a regular file of sane size
/// (a FIFO would block, a link to /dev/zero would read forever).
pub fn read_lock(path: &Path) -> Result<String, ScanError> {
    if let Some(why) = crate::files::unsafe_to_read(path) {
        return Err(ScanError::BadInput {
            path: path.to_path_buf(),
            message: why,
        });
    }
    std::fs::read_to_string(path).map_err(|source| ScanError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Parses a lock file; errors carry the line. Two entries for one package
/// (which cargo refuses) are an error, not a silent pick of one, and so is
/// a version that is not SemVer.
pub fn parse_lock<'a>(path: &Path, text: &'a str) -> Result<Vec<LockPackage<'a>>, ScanError> {
    let entries = match read_cargo_layout(text) {
        Some(entries) => entries,
        None => parse_toml(path, text)?,
    };
    check(path, text, entries)
}

/// `parse_lock` by the TOML parser alone: the reference the line reader
/// must agree with (for tests and the fuzz target).
#[doc(hidden)]
pub fn parse_lock_as_toml<'a>(
    path: &Path,
    text: &'a str,
) -> Result<Vec<LockPackage<'a>>, ScanError> {
    let entries = parse_toml(path, text)?;
    check(path, text, entries)
}

/// A `[[package]]` as either reader found it, before the shared checks.
struct Entry<'a> {
    /// From its `[[package]]` header to its `version` line.
    lines: LockLines,
    /// The byte offset of the version's opening quote.
    version_at: usize,
    name: Cow<'a, str>,
    version: Cow<'a, str>,
    source: Option<Cow<'a, str>>,
    checksum: Option<Cow<'a, str>>,
    dependencies: Vec<Cow<'a, str>>,
}

#[derive(serde::Deserialize)]
struct RawLockPackage {
    name: String,
    version: toml::Spanned<String>,
    source: Option<String>,
    checksum: Option<String>,
    #[serde(default)]
    dependencies: Vec<String>,
}

#[derive(serde::Deserialize)]
struct LockFile {
    /// The lock format's version (absent in the oldest format).
    #[allow(dead_code)] // read to be checked: a number or an error
    version: Option<u32>,
    #[serde(default)]
    package: Vec<toml::Spanned<RawLockPackage>>,
}

fn parse_toml<'a>(path: &Path, text: &str) -> Result<Vec<Entry<'a>>, ScanError> {
    let lines = LineStarts::new(text);
    let lock: LockFile = toml::from_str(text).map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start);
        ScanError::BadInputAt {
            path: path.to_path_buf(),
            line: lines.line_of(offset),
            column: Some(lines.column_of(text, offset)),
            message: format!(
                "not a valid Cargo.lock: {}",
                crate::text::one_line(e.message())
            ),
        }
    })?;
    Ok(lock
        .package
        .into_iter()
        .map(|entry| {
            let start = lines.line_of(entry.span().start);
            let package = entry.into_inner();
            let version_at = package.version.span().start;
            // Header to version: the lines that name the package.
            let end = lines.line_of(version_at).max(start);
            Entry {
                lines: LockLines {
                    start: start as u32,
                    end: end as u32,
                },
                version_at,
                name: Cow::Owned(package.name),
                version: Cow::Owned(package.version.into_inner()),
                source: package.source.map(Cow::Owned),
                checksum: package.checksum.map(Cow::Owned),
                dependencies: package.dependencies.into_iter().map(Cow::Owned).collect(),
            }
        })
        .collect())
}

/// Name, version and source: what no two entries may share.
type PackageId<'a> = (&'a str, &'a str, Option<&'a str>);

/// The checks both readers share, in file order: each version must be
/// SemVer, and no package may be listed twice.
fn check<'a>(
    path: &Path,
    text: &str,
    entries: Vec<Entry<'a>>,
) -> Result<Vec<LockPackage<'a>>, ScanError> {
    // Looked for only where a package could be listed twice.
    let mut seen: Option<HashMap<PackageId, usize>> =
        (!surely_distinct(&entries)).then(HashMap::new);
    for entry in &entries {
        let start = entry.lines.start as usize;
        if let Err(error) = semver::Version::parse(&entry.version) {
            // The offset is the quote's: the column of the value itself.
            let offset = entry.version_at + 1;
            let lines = LineStarts::new(text);
            return Err(ScanError::BadInputAt {
                path: path.to_path_buf(),
                line: lines.line_of(offset),
                column: Some(lines.column_of(text, offset)),
                message: format!(
                    "not a valid Cargo.lock: package {} version `{}`: {error}",
                    entry.name, entry.version
                ),
            });
        }
        let key = (&*entry.name, &*entry.version, entry.source.as_deref());
        if let Some(first) = seen.as_mut().and_then(|seen| seen.insert(key, start)) {
            return Err(ScanError::BadInputAt {
                path: path.to_path_buf(),
                line: start,
                column: None,
                message: format!(
                    "package {} {} is listed twice (first at line {first})",
                    entry.name, entry.version
                ),
            });
        }
    }
    drop(seen);
    Ok(entries
        .into_iter()
        .map(|entry| LockPackage {
            name: entry.name,
            version: entry.version,
            source: entry.source,
            checksum: entry.checksum,
            dependencies: entry.dependencies,
            lines: entry.lines,
        })
        .collect())
}

/// Whether no package is listed twice, told cheaply where the entries are
/// in cargo's order (by name): twice-listed ones would then be neighbours.
/// False when it cannot tell.
fn surely_distinct(entries: &[Entry<'_>]) -> bool {
    let mut run_start = 0;
    for (index, entry) in entries.iter().enumerate() {
        let Some(before) = index.checked_sub(1).map(|i| &entries[i]) else {
            continue;
        };
        match before.name.cmp(&entry.name) {
            std::cmp::Ordering::Less => run_start = index,
            std::cmp::Ordering::Greater => return false,
            // Versions of one name: a few, compared with each other.
            std::cmp::Ordering::Equal => {
                let twice = entries[run_start..index]
                    .iter()
                    .any(|e| e.version == entry.version && e.source == entry.source);
                if twice {
                    return false;
                }
            }
        }
    }
    true
}

/// The packages of a lock file laid out as cargo writes it: comment lines,
/// `version = N`, then `[[package]]` tables of `key = "value"` lines and a
/// `dependencies` array with one `"item",` per line, blank lines between.
/// `None` at the first line that is anything else, including everything
/// TOML would refuse or read differently: a repeated key, a missing name
/// or version, a value with an escape or a control character, a line
/// ending in a lone carriage return, another table.
fn read_cargo_layout(text: &str) -> Option<Vec<Entry<'_>>> {
    let mut entries = Vec::new();
    let mut current: Option<Partial<'_>> = None;
    let mut format_version = false;
    let mut in_dependencies = false;
    let mut at = 0;
    // The 1-based number of the line at `at`: counted here, no search later.
    let mut number = 0;
    while at < text.len() {
        number += 1;
        let (line, next) = match memchr::memchr(b'\n', &text.as_bytes()[at..]) {
            // CRLF is a TOML newline too; a lone CR is not.
            Some(length) => {
                let line = &text[at..at + length];
                (line.strip_suffix('\r').unwrap_or(line), at + length + 1)
            }
            None => (&text[at..], text.len()),
        };
        let line_at = at;
        at = next;
        if in_dependencies {
            let package = current.as_mut()?;
            if line == "]" {
                in_dependencies = false;
            } else {
                let item = line.strip_prefix(" \"")?.strip_suffix("\",")?;
                package.dependencies.push(Cow::Borrowed(plain(item)?));
            }
            continue;
        }
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            // Tabs aside, control characters may not appear in a comment.
            if comment.bytes().any(is_control) {
                return None;
            }
            continue;
        }
        if line == "[[package]]" {
            if let Some(package) = current.take() {
                entries.push(package.finish()?);
            }
            current = Some(Partial::new(number));
            continue;
        }
        // `key = value`: a key has no space (and a longer one is no key
        // of this layout), so the first space starts the ` = `.
        let space = line.bytes().position(|b| b == b' ')?;
        let (key, value) = line.split_at(space);
        let value = value.strip_prefix(" = ")?;
        let Some(package) = current.as_mut() else {
            // Before any table: only the format version, a plain integer.
            if key != "version" || format_version || !is_small_integer(value) {
                return None;
            }
            format_version = true;
            continue;
        };
        if key == "dependencies" {
            if value != "[" || package.has_dependencies {
                return None;
            }
            package.has_dependencies = true;
            in_dependencies = true;
            continue;
        }
        let value = plain(value.strip_prefix('"')?.strip_suffix('"')?)?;
        let slot = match key {
            "name" => &mut package.name,
            "version" => {
                // The quote follows `version = `.
                package.version_at = line_at + key.len() + 3;
                package.version_line = number;
                &mut package.version
            }
            "source" => &mut package.source,
            "checksum" => &mut package.checksum,
            _ => return None,
        };
        if slot.replace(value).is_some() {
            return None;
        }
    }
    if in_dependencies {
        return None;
    }
    if let Some(package) = current {
        entries.push(package.finish()?);
    }
    Some(entries)
}

/// A `[[package]]` being read by `read_cargo_layout`.
struct Partial<'a> {
    header_line: usize,
    version_line: usize,
    version_at: usize,
    name: Option<&'a str>,
    version: Option<&'a str>,
    source: Option<&'a str>,
    checksum: Option<&'a str>,
    has_dependencies: bool,
    dependencies: Vec<Cow<'a, str>>,
}

impl<'a> Partial<'a> {
    fn new(header_line: usize) -> Partial<'a> {
        Partial {
            header_line,
            version_line: 0,
            version_at: 0,
            name: None,
            version: None,
            source: None,
            checksum: None,
            has_dependencies: false,
            dependencies: Vec::new(),
        }
    }

    /// `None` without a name or a version (TOML's reading fails then).
    fn finish(self) -> Option<Entry<'a>> {
        Some(Entry {
            lines: LockLines {
                start: self.header_line as u32,
                end: self.version_line.max(self.header_line) as u32,
            },
            version_at: self.version_at,
            name: Cow::Borrowed(self.name?),
            version: Cow::Borrowed(self.version?),
            source: self.source.map(Cow::Borrowed),
            checksum: self.checksum.map(Cow::Borrowed),
            dependencies: self.dependencies,
        })
    }
}

/// The inside of a basic string that means what it says: no quote, no
/// escape, no control character (a tab is allowed in TOML, but cargo
/// never writes one).
fn plain(text: &str) -> Option<&str> {
    // Without an early exit the loop vectorises: most values are plain.
    let special = text.bytes().fold(false, |found, b| {
        found | (b == b'"') | (b == b'\\') | (b < 0x20) | (b == 0x7f)
    });
    (!special).then_some(text)
}

/// A control character TOML refuses in a comment (a tab is allowed).
fn is_control(byte: u8) -> bool {
    (byte < 0x20 && byte != b'\t') || byte == 0x7f
}

/// A decimal TOML integer without sign, underscores or leading zeros that
/// fits the `u32` the format version is read as.
fn is_small_integer(text: &str) -> bool {
    let bytes = text.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 9
        && bytes.iter().all(u8::is_ascii_digit)
        && (bytes[0] != b'0' || bytes.len() == 1)
}

/// Byte offsets of line starts, for turning spans into line numbers.
struct LineStarts(Vec<usize>);

impl LineStarts {
    fn new(text: &str) -> LineStarts {
        let mut starts = vec![0];
        starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1));
        LineStarts(starts)
    }

    /// The 1-based line holding byte `offset`.
    fn line_of(&self, offset: usize) -> usize {
        self.0.partition_point(|&start| start <= offset).max(1)
    }

    /// The 1-based column (in characters) of byte `offset` on its line.
    fn column_of(&self, text: &str, offset: usize) -> usize {
        let offset = offset.min(text.len());
        let start = self.0[self.line_of(offset) - 1];
        text.get(start..offset).map_or(1, |s| s.chars().count() + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A reading as comparable text: the packages, or the error message.
    fn outcome(result: Result<Vec<LockPackage<'_>>, ScanError>) -> String {
        match result {
            Ok(packages) => format!("{packages:?}"),
            Err(error) => format!("error: {error}"),
        }
    }

    /// Both readers say the same of `text`; true when the line reader answered.
    fn agree(text: &str) -> bool {
        let path = Path::new("Cargo.lock");
        assert_eq!(
            outcome(parse_lock(path, text)),
            outcome(parse_lock_as_toml(path, text)),
            "{text:?}"
        );
        read_cargo_layout(text).is_some()
    }

    const LOCK: &str = "# This file is automatically @generated by Cargo.\n# It is not intended for manual editing.\nversion = 4\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\n \"itoa 1.0.19\",\n \"serde\",\n]\n\n[[package]]\nname = \"itoa\"\nversion = \"1.0.19\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"4a5f13b858c8d314ee3e8f639011f7ccefe71f97f96e50151fb991f267928e2c\"\n\n[[package]]\nname = \"serde\"\nversion = \"1.0.228\"\nsource = \"git+https://example.invalid/serde?branch=main#0123abcd\"\n";

    #[test]
    fn every_lock_file_in_the_repository_reads_alike_and_cargo_s_own_by_lines() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut by_lines = Vec::new();
        for entry in ignore::WalkBuilder::new(root).hidden(false).build() {
            let path = entry.unwrap().into_path();
            if path.file_name() != Some("Cargo.lock".as_ref())
                || path.starts_with(root.join("target"))
            {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            if agree(&text) {
                by_lines.push(path.strip_prefix(root).unwrap().display().to_string());
            }
        }
        for written_by_cargo in [
            "Cargo.lock",
            "tests/fixtures/parity/large/Cargo.lock",
            "tests/fixtures/parity/rerun/Cargo.lock",
        ] {
            assert!(
                by_lines.iter().any(|p| p == written_by_cargo),
                "{written_by_cargo}: {by_lines:?}"
            );
            // In cargo's order: no search for twice-listed packages.
            let text = std::fs::read_to_string(root.join(written_by_cargo)).unwrap();
            assert!(surely_distinct(&read_cargo_layout(&text).unwrap()));
        }
    }

    #[test]
    fn crlf_lock_files_read_by_lines_and_a_lone_cr_is_left_to_toml() {
        let crlf = LOCK.replace('\n', "\r\n");
        assert!(agree(&crlf));
        assert!(!agree(&LOCK.replacen('\n', "\r", 1)));
        // At the very end, no newline follows: the CR is not a line ending.
        assert!(!agree(&format!("{LOCK}\r")));
        let lines: Vec<_> = parse_lock(Path::new("Cargo.lock"), &crlf)
            .unwrap()
            .iter()
            .map(|p| (p.lines.start, p.lines.end))
            .collect();
        assert_eq!(lines, [(5, 7), (13, 15), (19, 21)]);
    }

    /// Every one-byte edit of a lock file, and every line dropped or
    /// repeated: where the line reader answers, it answers as TOML does.
    #[test]
    fn edits_of_a_lock_file_read_alike() {
        let mut texts = Vec::new();
        let bytes = LOCK.as_bytes();
        for at in 0..=bytes.len() {
            if at < bytes.len() {
                let mut cut = bytes.to_vec();
                cut.remove(at);
                texts.push(cut);
            }
            for inserted in b"\"\\\r\n\t\0 #[]=,x0.\x7f" {
                let mut text = bytes.to_vec();
                text.insert(at, *inserted);
                texts.push(text);
            }
        }
        let lines: Vec<&str> = LOCK.split_inclusive('\n').collect();
        for at in 0..lines.len() {
            let mut dropped = lines.clone();
            dropped.remove(at);
            texts.push(dropped.concat().into_bytes());
            let mut repeated = lines.clone();
            repeated.insert(at, lines[at]);
            texts.push(repeated.concat().into_bytes());
        }
        let mut answered = 0;
        for text in &texts {
            if let Ok(text) = std::str::from_utf8(text) {
                answered += usize::from(agree(text));
            }
        }
        // Blank lines, comments, harmless characters inside values.
        assert!(answered > 300, "answered by lines: {answered}");
    }

    /// A line to slip in: one of cargo's own, or a near miss.
    fn piece() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "",
            "# comment",
            "#\tcomment",
            "[[package]]",
            "[[package]]",
            "[[package]]",
            "name = \"a\"",
            "name = \"b\"",
            "name = \"b\"",
            "version = \"1.0.0\"",
            "version = \"1.0.0\"",
            "version = \"0.2\"",
            "source = \"registry+https://github.com/rust-lang/crates.io-index\"",
            "source = \"registry+https://github.com/rust-lang/crates.io-index\"",
            "checksum = \"00\"",
            "dependencies = [\n \"a\",\n]",
            "dependencies = [\n \"b 1.0.0\",\n \"a\",\n]",
            "dependencies = [\n]",
            // Near misses.
            "version = 3",
            "version = 03",
            "version = 4294967296",
            "[package]",
            "[metadata]",
            "name=\"a\"",
            "name = 'a'",
            "name = \"a\\u0062\"",
            "version = \"1.0.0\" # trailing",
            "dependencies = []",
            "dependencies = [",
            " \"a\"",
            "]",
            "other = \"x\"",
            " name = \"a\"",
        ])
    }

    /// One `[[package]]` as cargo writes it, from a few names and versions.
    fn package() -> impl Strategy<Value = String> {
        let name = prop::sample::select(vec!["a", "b", "c"]);
        let version = prop::sample::select(vec!["1.0.0", "0.2.0", "0.2"]);
        let source = prop::option::of(Just(
            "source = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"00\"\n",
        ));
        let dependencies = prop::sample::select(vec![
            "",
            "dependencies = [\n \"a\",\n]\n",
            "dependencies = [\n \"b 1.0.0\",\n \"c\",\n]\n",
        ]);
        (name, version, source, dependencies).prop_map(|(name, version, source, dependencies)| {
            format!(
                "[[package]]\nname = \"{name}\"\nversion = \"{version}\"\n{}{dependencies}\n",
                source.unwrap_or("")
            )
        })
    }

    proptest! {
        #[test]
        fn lock_files_with_near_misses_read_alike(
            format in prop::sample::select(vec!["", "version = 4\n\n", "# x\nversion = 3\n\n"]),
            packages in prop::collection::vec(package(), 0..5),
            inserted in prop::option::of((any::<prop::sample::Index>(), piece())),
            dropped in prop::option::of(any::<prop::sample::Index>()),
            crlf in any::<bool>(),
        ) {
            let text = format!("{format}{}", packages.concat());
            let mut lines: Vec<&str> = text.lines().collect();
            if let Some((at, piece)) = inserted {
                lines.insert(at.index(lines.len() + 1), piece);
            }
            if let (Some(at), false) = (dropped, lines.is_empty()) {
                lines.remove(at.index(lines.len()));
            }
            let text = lines.join(if crlf { "\r\n" } else { "\n" });
            agree(&text);
        }

        #[test]
        fn packages_said_distinct_are(packages in prop::collection::vec(package(), 0..6)) {
            let text = packages.concat();
            let entries = read_cargo_layout(&text).unwrap();
            let keys: std::collections::HashSet<_> = entries
                .iter()
                .map(|e| (&e.name, &e.version, &e.source))
                .collect();
            if surely_distinct(&entries) {
                prop_assert_eq!(keys.len(), entries.len());
            }
        }
    }
}
