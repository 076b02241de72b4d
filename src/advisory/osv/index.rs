//! Which entries of an OSV archive are about which package. The archive's
//! entries are named by advisory id, so finding a package's advisories
//! means reading every record once; the index keeps what that read found
//! (package → entry names, counts, newest date) in secgate's cache,
//! keyed by the archive's identity, so later checks read only their own
//! packages' records. An index that does not parse, does not match its
//! checksum or describes another archive is rebuilt, never trusted.
//!
//! The file is text, one fact a line, names percent-escaped:
//!
//! ```text
//! secgate-osv-index 1
//! ecosystem PyPI
//! size 2679923
//! modified-ns 1732954860000000000
//! directory <sha256 hex of the central directory>
//! records 2661
//! advisories 2651
//! withdrawn 10
//! newest 2024-10-10
//! package accesscontrol PYSEC-2021-335.json PYSEC-2021-336.json
//! end <sha256 hex of every line above>
//! ```

use super::archive::{Archive, Identity};
use super::record::Outline;
use crate::error::OsvError;
use crate::inventory::Ecosystem;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The first line; the number changes with the format or with what goes
/// into an index (how names are normalised), so old files are rebuilt.
const MAGIC: &str = "secgate-osv-index 1";

/// The largest index file read: a few MiB for the largest real archives.
const MAX_INDEX: u64 = 256 * 1024 * 1024;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Index {
    /// OSV's name of the ecosystem indexed (`PyPI`).
    pub ecosystem: String,
    pub identity: Identity,
    /// Entries holding records (`*.json`), withdrawn ones included.
    pub records: usize,
    /// Records not withdrawn.
    pub advisories: usize,
    pub withdrawn: usize,
    /// The newest `modified` date, `YYYY-MM-DD`.
    pub newest: Option<String>,
    /// Normalised package name → the entries of its advisories (withdrawn
    /// ones left out), sorted.
    pub packages: BTreeMap<String, Vec<String>>,
}

impl Index {
    /// Reads every record of `archive` (in parallel) and indexes those not
    /// withdrawn by the `ecosystem` packages they affect. A record that
    /// does not parse fails the build: it could be about any package.
    pub fn build(archive: &Archive, ecosystem: Ecosystem) -> Result<Index, OsvError> {
        let names = archive.record_names();
        let threads = crate::parallel::worker_threads(names.len(), 64, 8);
        let chunk = names.len().div_ceil(threads).max(1);
        let outlines: Vec<Result<Vec<(String, Outline)>, OsvError>> = std::thread::scope(|s| {
            let handles: Vec<_> =
                names
                    .chunks(chunk)
                    .map(|part| {
                        let mut archive = archive.clone();
                        s.spawn(move || {
                            part.iter()
                                .map(|name| {
                                    let bytes = archive.read(name)?;
                                    let outline = serde_json::from_slice::<Outline>(&bytes)
                                        .map_err(|e| OsvError::Record {
                                            path: archive.path().to_path_buf(),
                                            entry: name.clone(),
                                            message: e.to_string(),
                                        })?;
                                    Ok((name.clone(), outline))
                                })
                                .collect()
                        })
                    })
                    .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(OsvError::Crashed("indexing the OSV archive".to_string()))
                    })
                })
                .collect()
        });
        let mut index = Index {
            ecosystem: ecosystem.as_str().to_string(),
            identity: archive.identity().clone(),
            records: names.len(),
            advisories: 0,
            withdrawn: 0,
            newest: None,
            packages: BTreeMap::new(),
        };
        for part in outlines {
            for (name, outline) in part? {
                index.add(name, &outline, ecosystem);
            }
        }
        for entries in index.packages.values_mut() {
            entries.sort();
            entries.dedup();
        }
        Ok(index)
    }

    fn add(&mut self, name: String, outline: &Outline, ecosystem: Ecosystem) {
        if outline.withdrawn.is_some() {
            self.withdrawn += 1;
            return;
        }
        self.advisories += 1;
        if let Some(date) = outline.modified.as_deref().and_then(date_of) {
            if self.newest.as_deref().is_none_or(|newest| date > newest) {
                self.newest = Some(date.to_string());
            }
        }
        for package in outline.affected.iter().filter_map(|a| a.package.as_ref()) {
            if package.ecosystem == ecosystem.as_str() {
                let package = ecosystem.normalize_name(&package.name);
                self.packages.entry(package).or_default().push(name.clone());
            }
        }
    }

    /// The index as its file holds it.
    pub fn to_text(&self) -> String {
        let mut text = String::new();
        let mut line = |l: String| {
            text.push_str(&l);
            text.push('\n');
        };
        line(MAGIC.to_string());
        line(format!("ecosystem {}", escape(&self.ecosystem)));
        line(format!("size {}", self.identity.size));
        line(format!("modified-ns {}", self.identity.modified_ns));
        line(format!("directory {}", self.identity.directory_sha256));
        line(format!("records {}", self.records));
        line(format!("advisories {}", self.advisories));
        line(format!("withdrawn {}", self.withdrawn));
        line(format!("newest {}", self.newest.as_deref().unwrap_or("-")));
        for (package, entries) in &self.packages {
            let mut l = format!("package {}", escape(package));
            for entry in entries {
                l.push(' ');
                l.push_str(&escape(entry));
            }
            line(l);
        }
        let checksum = sha256_hex(text.as_bytes());
        text.push_str(&format!("end {checksum}\n"));
        text
    }

    /// Parses an index file; any deviation is an error (the caller rebuilds).
    pub fn parse(bytes: &[u8]) -> Result<Index, String> {
        let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8".to_string())?;
        let body_end = text
            .rfind("end ")
            .filter(|&at| at == 0 || text.as_bytes()[at - 1] == b'\n')
            .ok_or("no end line")?;
        let (body, end) = text.split_at(body_end);
        let checksum = end
            .strip_prefix("end ")
            .and_then(|rest| rest.strip_suffix('\n'))
            .ok_or("a malformed end line")?;
        if checksum != sha256_hex(body.as_bytes()) {
            return Err("the checksum does not match".to_string());
        }
        let mut lines = body.lines();
        let mut next = |key: &str| -> Result<&str, String> {
            let line = lines.next().ok_or_else(|| format!("no {key} line"))?;
            line.strip_prefix(key)
                .and_then(|rest| rest.strip_prefix(' '))
                .ok_or_else(|| format!("expected {key}, found {line:?}"))
        };
        let number = |text: &str, key: &str| -> Result<u64, String> {
            if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!("{key}: not a number"));
            }
            text.parse().map_err(|_| format!("{key}: out of range"))
        };
        if next("secgate-osv-index") != Ok("1") {
            return Err("not a secgate OSV index of this version".to_string());
        }
        let ecosystem = unescape(next("ecosystem")?)?;
        let size = number(next("size")?, "size")?;
        let modified_ns = number(next("modified-ns")?, "modified-ns")?;
        let directory = next("directory")?;
        if directory.len() != 64 || !directory.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err("directory: not a SHA-256".to_string());
        }
        let records = number(next("records")?, "records")? as usize;
        let advisories = number(next("advisories")?, "advisories")? as usize;
        let withdrawn = number(next("withdrawn")?, "withdrawn")? as usize;
        if advisories.checked_add(withdrawn) != Some(records) {
            return Err("the counts do not add up".to_string());
        }
        let newest = match next("newest")? {
            "-" => None,
            date if date_of(date) == Some(date) => Some(date.to_string()),
            other => return Err(format!("newest: not a date: {other:?}")),
        };
        let mut packages = BTreeMap::new();
        for line in lines {
            let mut words = line
                .strip_prefix("package ")
                .ok_or_else(|| format!("expected a package, found {line:?}"))?
                .split(' ');
            let package = unescape(words.next().unwrap_or_default())?;
            let entries: Vec<String> = words.map(unescape).collect::<Result<_, _>>()?;
            if package.is_empty() || entries.is_empty() || entries.len() > advisories {
                return Err(format!("package {package:?}: malformed"));
            }
            if packages.insert(package, entries).is_some() {
                return Err("a package listed twice".to_string());
            }
        }
        Ok(Index {
            ecosystem,
            identity: Identity {
                size,
                modified_ns,
                directory_sha256: directory.to_ascii_lowercase(),
            },
            records,
            advisories,
            withdrawn,
            newest,
            packages,
        })
    }
}

/// How an index was come by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IndexStatus {
    /// Read from the cache, matching the archive.
    Reused,
    /// Built from the archive and saved.
    Built,
    /// Built, but could not be saved (a warning says why).
    BuiltUnsaved,
}

/// The cache file of the index of `archive` for `ecosystem`: one per
/// archive location, so an archive updated in place replaces its index.
pub fn cache_path(cache_dir: &Path, archive: &Path, ecosystem: Ecosystem) -> PathBuf {
    let location = std::fs::canonicalize(archive).unwrap_or_else(|_| archive.to_path_buf());
    let key = sha256_hex(location.to_string_lossy().as_bytes());
    let name = ecosystem
        .as_str()
        .to_ascii_lowercase()
        .replace(['.', ' '], "-");
    cache_dir.join(format!("osv-{name}-{}.index", &key[..16]))
}

/// The index of `archive`: from the cache when its file describes this
/// very archive, else built (and saved when the cache can be written).
/// Returns a warning when it could not be saved.
pub fn load_or_build(
    archive: &Archive,
    ecosystem: Ecosystem,
    cache_dir: &Path,
) -> Result<(Index, IndexStatus, Option<String>), OsvError> {
    let path = cache_path(cache_dir, archive.path(), ecosystem);
    if let Some(index) = read_cached(&path, archive, ecosystem) {
        return Ok((index, IndexStatus::Reused, None));
    }
    let index = Index::build(archive, ecosystem)?;
    let saved = std::fs::create_dir_all(cache_dir)
        .map_err(|e| format!("{}: {e}", cache_dir.display()))
        .and_then(|()| {
            crate::files::write_atomically(&path, index.to_text().as_bytes())
                .map_err(|e| e.to_string())
        });
    match saved {
        Ok(()) => Ok((index, IndexStatus::Built, None)),
        Err(error) => Ok((
            index,
            IndexStatus::BuiltUnsaved,
            Some(format!(
                "OSV index of {} could not be saved ({error}): every check will read the whole archive",
                archive.path().display()
            )),
        )),
    }
}

/// The cached index at `path` if it parses and describes `archive`.
fn read_cached(path: &Path, archive: &Archive, ecosystem: Ecosystem) -> Option<Index> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() || meta.len() > MAX_INDEX {
        return None;
    }
    let index = Index::parse(&std::fs::read(path).ok()?).ok()?;
    let matches = index.ecosystem == ecosystem.as_str()
        && index.identity == *archive.identity()
        && index.records == archive.record_names().len();
    matches.then_some(index)
}

/// `YYYY-MM-DD` at the start of an RFC 3339 time, if it is one.
fn date_of(time: &str) -> Option<&str> {
    let date = time.get(..10)?;
    let shape = date.bytes().enumerate().all(|(i, b)| match i {
        4 | 7 => b == b'-',
        _ => b.is_ascii_digit(),
    });
    shape.then_some(date)
}

fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// Names as one word: `%`, spaces, controls and non-ASCII as `%XX`.
fn escape(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for byte in name.bytes() {
        if byte.is_ascii_graphic() && byte != b'%' {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn unescape(word: &str) -> Result<String, String> {
    let bytes = word.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = word.get(i + 1..i + 3).ok_or("a truncated escape")?;
                out.push(u8::from_str_radix(hex, 16).map_err(|_| "a malformed escape")?);
                i += 3;
            }
            byte if byte.is_ascii_graphic() => {
                out.push(byte);
                i += 1;
            }
            _ => return Err("an unescaped character in a name".to_string()),
        }
    }
    String::from_utf8(out).map_err(|_| "a name that is not UTF-8".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Index {
        Index {
            ecosystem: "PyPI".to_string(),
            identity: Identity {
                size: 10,
                modified_ns: 1_700_000_000_123_456_789,
                directory_sha256: "ab".repeat(32),
            },
            records: 3,
            advisories: 2,
            withdrawn: 1,
            newest: Some("2024-10-10".to_string()),
            packages: BTreeMap::from([
                (
                    "django".to_string(),
                    vec!["A 1%.json".to_string(), "B-2.json".to_string()],
                ),
                ("zopé".to_string(), vec!["C.json".to_string()]),
            ]),
        }
    }

    #[test]
    fn the_text_round_trips() {
        let text = sample().to_text();
        assert!(
            text.contains("package django A%201%25.json B-2.json\n"),
            "{text}"
        );
        assert_eq!(Index::parse(text.as_bytes()).unwrap(), sample());
    }

    #[test]
    fn any_change_is_refused() {
        let text = sample().to_text();
        // Truncated anywhere: refused.
        for cut in 0..text.len() {
            assert!(
                Index::parse(&text.as_bytes()[..cut]).is_err(),
                "cut at {cut}"
            );
        }
        // A changed byte (the same length): refused by the checksum.
        let tampered = text.replacen("B-2.json", "B-3.json", 1);
        assert!(Index::parse(tampered.as_bytes()).is_err());
        // Counts at odds with each other, checksum recomputed: refused.
        let mut odd = sample();
        odd.records = 5;
        assert!(Index::parse(odd.to_text().as_bytes()).is_err());
        assert!(Index::parse(b"").is_err());
        assert!(Index::parse(b"end \n").is_err());
    }

    #[test]
    fn dates_are_read_from_times() {
        assert_eq!(date_of("2021-09-26T23:32:08.989778Z"), Some("2021-09-26"));
        assert_eq!(date_of("2021-9-26"), None);
        assert_eq!(date_of("yesterday and today"), None);
    }
}
