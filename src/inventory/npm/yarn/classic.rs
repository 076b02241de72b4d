//! yarn classic's `yarn.lock` (v1): yarn's own indented syntax.
//!
//! ```text
//! "@babel/code-frame@^7.0.0", "@babel/code-frame@^7.10.4":
//!   version "7.12.13"
//!   resolved "https://registry.yarnpkg.com/@babel/code-frame/-/code-frame-7.12.13.tgz#<sha1>"
//!   integrity sha512-…
//!   dependencies:
//!     "@babel/highlight" "^7.10.4"
//! ```
//!
//! Each entry lists the descriptors (`name@range`) it satisfies; the
//! project and its workspace members are not in the lock at all.

use super::locked::{self, npm_registry, source_of_url, split_descriptor, Locked};
use super::locked::{Dependency, Entry};
use crate::error::ScanError;
use crate::inventory::lock::{UncheckedReason, UncheckedRequirement};
use crate::inventory::{ContentHash, EdgeKind, HashAlgorithm, LockLines, PackageSource};
use std::path::Path;

/// One entry as written, before it is understood.
#[derive(Default)]
struct RawEntry {
    descriptors: Vec<String>,
    start: u32,
    end: u32,
    version: Option<String>,
    resolved: Option<String>,
    integrity: Option<String>,
    deps: Vec<Dependency>,
}

/// The entries of a classic `yarn.lock`, and those that cannot be checked.
pub(super) fn parse(
    path: &Path,
    text: &str,
) -> Result<(Vec<Entry>, Vec<UncheckedRequirement>), ScanError> {
    let raw = raw_entries(path, text)?;
    let mut entries = Vec::with_capacity(raw.len());
    let mut unchecked = Vec::new();
    for entry in raw {
        if let Some(understood) = understand(path, entry, &mut unchecked) {
            entries.push(understood);
        }
    }
    Ok((entries, unchecked))
}

/// Splits the text into entries, located; a line that fits nowhere is an
/// error at that line.
fn raw_entries(path: &Path, text: &str) -> Result<Vec<RawEntry>, ScanError> {
    let error = |line: u32, message: &str| ScanError::BadInputAt {
        path: path.to_path_buf(),
        line: line as usize,
        column: None,
        message: format!("not a valid yarn.lock: {message}"),
    };
    let mut entries: Vec<RawEntry> = Vec::new();
    let mut current: Option<RawEntry> = None;
    // The block (`dependencies`, `optionalDependencies`, another) the
    // indented lines below belong to.
    let mut block: Option<EdgeKind> = None;
    let mut in_block = false;
    for (number, line) in text.lines().enumerate() {
        let line_number = number as u32 + 1;
        let line = line.strip_suffix('\r').unwrap_or(line);
        let content = line.trim_start_matches(' ');
        if content.trim().is_empty() || content.starts_with('#') {
            continue;
        }
        if content.starts_with('\t') {
            return Err(error(line_number, "a tab in the indentation"));
        }
        let indent = line.len() - content.len();
        match indent {
            0 => {
                let descriptors = header(content)
                    .ok_or_else(|| error(line_number, "expected `descriptor, …:`"))?;
                entries.extend(current.take());
                current = Some(RawEntry {
                    descriptors,
                    start: line_number,
                    end: line_number,
                    ..RawEntry::default()
                });
                in_block = false;
            }
            2 => {
                let entry = current
                    .as_mut()
                    .ok_or_else(|| error(line_number, "an indented line outside an entry"))?;
                entry.end = line_number;
                let (key, value) =
                    pair(content).ok_or_else(|| error(line_number, "expected `key value`"))?;
                in_block = value.is_none();
                block = match key.as_str() {
                    "dependencies" => Some(EdgeKind::Normal),
                    "optionalDependencies" => Some(EdgeKind::Optional),
                    _ => None,
                };
                let Some(value) = value else {
                    continue;
                };
                match key.as_str() {
                    "version" => entry.version = Some(value),
                    "resolved" => entry.resolved = Some(value),
                    "integrity" => entry.integrity = Some(value),
                    _ => {}
                }
            }
            4 => {
                let entry = current
                    .as_mut()
                    .filter(|_| in_block)
                    .ok_or_else(|| error(line_number, "an indented line outside a block"))?;
                entry.end = line_number;
                let (name, range) =
                    pair(content).ok_or_else(|| error(line_number, "expected `name range`"))?;
                if let (Some(kind), Some(range)) = (block, range) {
                    entry.deps.push(Dependency { name, range, kind });
                }
            }
            _ => return Err(error(line_number, "unexpected indentation")),
        }
    }
    entries.extend(current);
    Ok(entries)
}

/// The descriptors of an entry's first line: `a@^1, "b@^2":`.
fn header(line: &str) -> Option<Vec<String>> {
    let line = line.trim_end().strip_suffix(':')?;
    let mut descriptors = Vec::new();
    let mut rest = line.trim();
    while !rest.is_empty() {
        let (item, after) = if rest.starts_with('"') {
            quoted(rest)?
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            (rest[..end].trim().to_string(), &rest[end..])
        };
        if item.is_empty() {
            return None;
        }
        descriptors.push(item);
        rest = after.trim_start();
        match rest.strip_prefix(',') {
            Some(after_comma) => rest = after_comma.trim_start(),
            None if rest.is_empty() => {}
            None => return None,
        }
    }
    (!descriptors.is_empty()).then_some(descriptors)
}

/// `key value`, `key "value"`, `"key" "value"`, or `key:` (a block: no value).
fn pair(line: &str) -> Option<(String, Option<String>)> {
    let line = line.trim_end();
    let (key, rest) = if line.starts_with('"') {
        quoted(line)?
    } else {
        let end = line.find([' ', ':']).unwrap_or(line.len());
        (line[..end].to_string(), &line[end..])
    };
    if key.is_empty() {
        return None;
    }
    let rest = rest.trim();
    if rest == ":" {
        return Some((key, None));
    }
    let rest = rest.strip_prefix(':').map_or(rest, str::trim_start);
    if rest.starts_with('"') {
        let (value, after) = quoted(rest)?;
        return after.trim().is_empty().then_some((key, Some(value)));
    }
    (!rest.is_empty()).then(|| (key, Some(rest.to_string())))
}

/// A double-quoted string at the start of `text` (JSON escapes), and what
/// follows it.
fn quoted(text: &str) -> Option<(String, &str)> {
    let body = text.strip_prefix('"')?;
    let mut value = String::new();
    let mut chars = body.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => return Some((value, &body[at + 1..])),
            '\\' => match chars.next()?.1 {
                'n' => value.push('\n'),
                't' => value.push('\t'),
                other => value.push(other),
            },
            c => value.push(c),
        }
    }
    None
}

/// The package an entry locks, or `None` (and why in `unchecked`).
fn understand(
    path: &Path,
    raw: RawEntry,
    unchecked: &mut Vec<UncheckedRequirement>,
) -> Option<Entry> {
    let first = raw.descriptors.first()?.clone();
    let Some((_, range)) = split_descriptor(&first) else {
        unchecked.push(locked::unchecked(
            path,
            raw.start,
            &first,
            UncheckedReason::Unreadable,
        ));
        return None;
    };
    let (name, range) = real_name(&first, range);
    let Some(version) = raw.version.clone() else {
        unchecked.push(locked::unchecked(
            path,
            raw.start,
            &first,
            UncheckedReason::Unreadable,
        ));
        return None;
    };
    let spec = raw
        .descriptors
        .iter()
        .filter_map(|d| split_descriptor(d).map(|(_, range)| range))
        .find(|range| is_local(range));
    let (mut source, reason) = match (spec, &raw.resolved) {
        (Some(local), _) => source_of_url(&name, local),
        (None, Some(resolved)) => source_of_url(&name, resolved),
        (None, None) if is_url(range) => source_of_url(&name, range),
        (None, None) => (npm_registry(), None),
    };
    // The branch or tag asked for is in the key (`…git#1.9.0`), the commit
    // in `resolved`.
    if let PackageSource::Git { reference, .. } = &mut source {
        if reference.is_none() {
            *reference = range
                .split_once('#')
                .map(|(_, asked)| asked.to_string())
                .filter(|asked| !locked::is_commit(asked));
        }
    }
    let lines = LockLines {
        start: raw.start,
        end: raw.end,
    };
    if let Some(reason) = reason {
        let written = match &raw.resolved {
            Some(resolved) if !is_local(range) => format!("{first} ({resolved})"),
            _ => first.clone(),
        };
        unchecked.push(locked::unchecked(path, raw.start, &written, reason));
    } else if semver::Version::parse(&version).is_err() {
        unchecked.push(locked::unchecked(
            path,
            raw.start,
            &format!("{name}@{version}"),
            UncheckedReason::InvalidVersion,
        ));
        return None;
    }
    let mut hashes = raw
        .integrity
        .as_deref()
        .map(ContentHash::from_integrity)
        .unwrap_or_default();
    if hashes.is_empty() && matches!(source, PackageSource::Registry { .. }) {
        // Old locks have no integrity; the fragment is the tarball's SHA-1.
        if let Some((_, sha1)) = raw.resolved.as_deref().and_then(|r| r.split_once('#')) {
            if sha1.len() == 40 && sha1.bytes().all(|b| b.is_ascii_hexdigit()) {
                hashes.push(ContentHash {
                    algorithm: HashAlgorithm::Sha1,
                    hex: sha1.to_ascii_lowercase(),
                });
            }
        }
    }
    Some(Entry {
        descriptors: raw.descriptors,
        locked: Locked {
            hashes,
            lines: Some(lines),
            ..Locked::new(&name, &version, source)
        },
        deps: raw.deps,
        workspace: None,
    })
}

/// The package a descriptor names: an alias (`name@npm:real@^1`) is the
/// real package; its range without the alias.
fn real_name<'a>(descriptor: &'a str, range: &'a str) -> (String, &'a str) {
    let declared = split_descriptor(descriptor).map_or(descriptor, |(name, _)| name);
    match range.strip_prefix("npm:") {
        Some(aliased) => match split_descriptor(aliased) {
            Some((real, real_range)) => (real.to_string(), real_range),
            None => (aliased.to_string(), ""),
        },
        None => (declared.to_string(), range),
    }
}

fn is_local(range: &str) -> bool {
    ["file:", "link:", "portal:"]
        .iter()
        .any(|prefix| range.starts_with(prefix))
}

fn is_url(range: &str) -> bool {
    range.contains("://") || range.starts_with("git") || range.starts_with("github:")
}
