//! Yanked versions, from cargo's local crates.io index cache only: the
//! scanner never fetches. A crate with no cache entry is counted as not
//! checked, never guessed.

use crate::finding::{fingerprint, Finding, Location, RuleInfo, Scanner};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

pub const RULE_ID: &str = "yanked";

/// The cache format cargo (and tame-index) write: version 3.
const CACHE_VERSION: u8 = 3;

pub struct YankedIndex {
    /// `$CARGO_HOME/registry/index/<crates.io>/.cache` directories.
    caches: Vec<PathBuf>,
    /// Versions looked up, with an answer and without.
    checked: usize,
    unchecked: usize,
}

/// (crate name, version), as the lock file spells them.
pub type PackageKey<'a> = (&'a str, &'a str);

impl YankedIndex {
    pub fn locate() -> YankedIndex {
        let home = std::env::var_os("CARGO_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
        YankedIndex::in_cargo_home(home.as_deref())
    }

    pub fn in_cargo_home(home: Option<&Path>) -> YankedIndex {
        let mut caches = Vec::new();
        if let Some(Ok(entries)) = home.map(|h| std::fs::read_dir(h.join("registry/index"))) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                // crates.io's sparse index and its older git index.
                if name.starts_with("index.crates.io-") || name.starts_with("github.com-") {
                    let cache = entry.path().join(".cache");
                    if cache.is_dir() {
                        caches.push(cache);
                    }
                }
            }
        }
        caches.sort();
        YankedIndex {
            caches,
            checked: 0,
            unchecked: 0,
        }
    }

    /// The yanked versions among `packages`, each looked up in the local
    /// cache. Hundreds of small file reads: spread over a few threads.
    /// Counted for `note`: look each version up once.
    pub fn yanked_among<'a>(
        &mut self,
        packages: &BTreeSet<PackageKey<'a>>,
    ) -> BTreeSet<PackageKey<'a>> {
        let packages: Vec<PackageKey<'a>> = packages.iter().copied().collect();
        let threads = crate::parallel::worker_threads(packages.len(), 32, 4);
        let chunk = packages.len().div_ceil(threads).max(1);
        let caches = &self.caches;
        let answers: Vec<Option<bool>> = std::thread::scope(|scope| {
            let handles: Vec<_> = packages
                .chunks(chunk)
                .map(|part| {
                    scope.spawn(move || {
                        let mut scratch = Vec::new();
                        part.iter()
                            .map(|(name, version)| is_yanked(caches, name, version, &mut scratch))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                // A crashed reader leaves its packages unchecked, never "not yanked".
                .flat_map(|h| h.join().unwrap_or_else(|_| vec![None; chunk]))
                .collect()
        });
        let mut yanked = BTreeSet::new();
        for (&key, answer) in packages.iter().zip(answers) {
            match answer {
                Some(is_yanked) => {
                    self.checked += 1;
                    if is_yanked {
                        yanked.insert(key);
                    }
                }
                None => self.unchecked += 1,
            }
        }
        yanked
    }

    pub fn checked_any(&self) -> bool {
        self.checked > 0
    }

    /// For the summary: how many versions were checked, and how many not.
    pub fn note(&self) -> String {
        let packages = |n: usize| format!("{n} package{}", if n == 1 { "" } else { "s" });
        let checked = format!(
            "{} checked against the local index cache",
            packages(self.checked)
        );
        let unchecked = format!(
            "not checked for {} (no local index cache)",
            packages(self.unchecked)
        );
        match (self.checked, self.unchecked) {
            (_, 0) => format!("yanked: {checked}"),
            (0, _) => format!("yanked: {unchecked}"),
            _ => format!("yanked: {checked}; {unchecked}"),
        }
    }
}

/// `Some(yanked)` when a local cache entry lists this version.
fn is_yanked(caches: &[PathBuf], name: &str, version: &str, scratch: &mut Vec<u8>) -> Option<bool> {
    let relative = cache_path(name)?;
    caches
        .iter()
        .find_map(|cache| lookup_file(&cache.join(&relative), version, scratch))
}

/// Cargo's index layout: `1/a`, `2/ab`, `3/a/abc`, `ab/cd/abcd…`, lower case.
fn cache_path(name: &str) -> Option<String> {
    // A valid crate name is ASCII letters, digits, `-` and `_`.
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return None;
    }
    let name = name.to_ascii_lowercase();
    // Pushed, not formatted: this runs for every package.
    let mut path = String::with_capacity(name.len() + 6);
    match name.len() {
        1 => path.push_str("1/"),
        2 => path.push_str("2/"),
        3 => {
            path.push_str("3/");
            path.push_str(&name[..1]);
            path.push('/');
        }
        _ => {
            path.push_str(&name[..2]);
            path.push('/');
            path.push_str(&name[2..4]);
            path.push('/');
        }
    }
    path.push_str(&name);
    Some(path)
}

#[derive(serde::Deserialize)]
struct IndexVersion {
    #[serde(default)]
    yanked: bool,
}

/// Bytes read first from the end of a cache file: a few recent versions.
const FIRST_TAIL: usize = 16 * 1024;

/// `lookup` on a cache file, reading it from the end: entries are in
/// publication order, locked versions are usually recent, and a popular
/// crate's entry is megabytes of JSON. `scratch` is reused between files.
fn lookup_file(path: &Path, version: &str, scratch: &mut Vec<u8>) -> Option<bool> {
    // No cache entry is the common miss: open and fail, no stat first.
    let file = std::fs::File::open(path).ok()?;
    let length = usize::try_from(file.metadata().ok()?.len()).ok()?;
    // Grows only: a reused buffer is not zeroed again for every file.
    fn read_at<'a>(
        file: &std::fs::File,
        scratch: &'a mut Vec<u8>,
        offset: usize,
        size: usize,
    ) -> Option<&'a [u8]> {
        if scratch.len() < size {
            scratch.resize(size, 0);
        }
        read_exact_at(file, &mut scratch[..size], offset as u64).ok()?;
        Some(&scratch[..size])
    }
    if length <= FIRST_TAIL {
        return lookup(read_at(&file, scratch, 0, length)?, version);
    }
    if read_at(&file, scratch, 0, 1)?[0] != CACHE_VERSION {
        return None;
    }
    let mut tail = FIRST_TAIL;
    loop {
        if tail >= length - 5 {
            return lookup(read_at(&file, scratch, 0, length)?, version);
        }
        // Only a match with its whole JSON blob inside the tail counts.
        if let Some(found) = find_in(read_at(&file, scratch, length - tail, tail)?, version) {
            return Some(found);
        }
        tail *= 8;
    }
}

#[cfg(unix)]
fn read_exact_at(file: &std::fs::File, buffer: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buffer, offset)
}

#[cfg(not(unix))]
fn read_exact_at(mut file: &std::fs::File, buffer: &mut [u8], offset: u64) -> std::io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    file.seek(SeekFrom::Start(offset))?;
    file.read_exact(buffer)
}

/// `lookup` on a piece of an entry's body that starts mid-way.
fn find_in(body: &[u8], version: &str) -> Option<bool> {
    let blob = &body[after_last_framed(body, version)?..];
    let end = memchr::memchr(0, blob)?;
    yanked_flag(&blob[..end])
}

/// Where the last `\0version\0` of `body` ends. Fields are NUL-framed and
/// JSON holds no NUL, so trying each NUL from the end (a vectorised
/// search) is faster than searching for the whole needle backwards.
fn after_last_framed(body: &[u8], version: &str) -> Option<usize> {
    let version = version.as_bytes();
    memchr::memrchr_iter(0, body).find_map(|at| {
        let rest = &body[at + 1..];
        let framed =
            rest.len() > version.len() && rest.starts_with(version) && rest[version.len()] == 0;
        framed.then_some(at + 1 + version.len() + 1)
    })
}

/// Whether `version` is yanked according to one cache entry: the cache
/// version byte, the index format version (u32 LE), the revision, then
/// (version, JSON) pairs, every field NUL-terminated. Popular crates have
/// hundreds of versions: find the one wanted instead of parsing them all.
fn lookup(entry: &[u8], version: &str) -> Option<bool> {
    if *entry.first()? != CACHE_VERSION || entry.len() < 5 {
        return None;
    }
    // The revision ends with a NUL, so every version field is NUL-framed;
    // a JSON blob holds no NUL, so a match is a version field.
    find_in(&entry[5..], version)
}

/// The `yanked` field of one version's JSON. Parsing a version's JSON (its
/// feature map can be kilobytes) costs more than the rest of the lookup:
/// look for the field, and parse only when it is not found.
fn yanked_flag(blob: &[u8]) -> Option<bool> {
    // Feature names map to arrays, so a `"yanked":` followed by a boolean
    // is the field itself; cargo writes it with or without a space.
    for at in memchr::memmem::find_iter(blob, br#""yanked":"#) {
        let rest = &blob[at + br#""yanked":"#.len()..];
        let rest = &rest[rest.iter().take_while(|b| b.is_ascii_whitespace()).count()..];
        if rest.starts_with(b"true") {
            return Some(true);
        }
        if rest.starts_with(b"false") {
            return Some(false);
        }
    }
    serde_json::from_slice::<IndexVersion>(blob)
        .ok()
        .map(|entry| entry.yanked)
}

/// A yanked version: no severity of its own, the gate grades it (`kind`).
pub fn finding(
    name: &str,
    version: &str,
    location: Location,
    relative: &str,
    via: &[String],
) -> Finding {
    let mut message = format!("{name}@{version} is yanked from crates.io");
    if via.len() > 1 {
        message.push_str(&format!("; via {}", via.join(" → ")));
    }
    message.push_str("; update the lock file to a version that is not yanked");
    let mut properties = BTreeMap::new();
    properties.insert("version".to_string(), serde_json::json!(version));
    properties.insert(
        "package-version".to_string(),
        serde_json::json!(format!("{name}@{version}")),
    );
    properties.insert("kind".to_string(), serde_json::json!("yanked"));
    properties.insert("dependency-path".to_string(), serde_json::json!(via));
    Finding {
        scanner: Scanner::Advisories,
        rule_id: RULE_ID.to_string(),
        severity: None,
        title: format!("{name} {version} is yanked"),
        message,
        location: Some(location),
        fingerprint: fingerprint(&[
            b"advisories",
            RULE_ID.as_bytes(),
            relative.as_bytes(),
            name.as_bytes(),
            version.as_bytes(),
        ]),
        content_fingerprint: None,
        package: Some(name.to_string()),
        aliases: Vec::new(),
        suppression_hint: None,
        properties,
        tool: None,
    }
}

pub fn rule_info() -> RuleInfo {
    let text = "A dependency version was yanked from crates.io: its authors withdrew it, often for a bug or a security problem. Checked against the local cargo index cache (no network).";
    RuleInfo {
        id: RULE_ID.to_string(),
        name: "yanked-dependency".to_string(),
        short_description: "A dependency version yanked from crates.io".to_string(),
        full_description: text.to_string(),
        help_text: format!(
            "{text}\n\nRun `cargo update -p <crate>` to move to a version that is not yanked."
        ),
        help_markdown: format!(
            "{text}\n\nRun `cargo update -p <crate>` to move to a version that is not yanked."
        ),
        help_uri: Some("https://doc.rust-lang.org/cargo/commands/cargo-yank.html".to_string()),
        tags: vec![
            "security".to_string(),
            "dependency".to_string(),
            "yanked".to_string(),
        ],
        precision: "very-high",
        score: None,
        severity: None,
        properties: BTreeMap::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes a cache entry the way tame-index's `write_cache_entry` does.
    pub fn entry(versions: &[(&str, bool)]) -> Vec<u8> {
        let mut bytes = vec![CACHE_VERSION];
        bytes.extend(2u32.to_le_bytes());
        bytes.extend(b"etag: \"abc\"\0");
        for (version, yanked) in versions {
            bytes.extend(version.as_bytes());
            bytes.push(0);
            bytes.extend(
                format!(r#"{{"name":"x","vers":"{version}","deps":[],"cksum":"00","features":{{}},"yanked":{yanked}}}"#)
                    .as_bytes(),
            );
            bytes.push(0);
        }
        bytes
    }

    #[test]
    fn cache_paths_follow_cargo() {
        assert_eq!(cache_path("a").unwrap(), "1/a");
        assert_eq!(cache_path("ab").unwrap(), "2/ab");
        assert_eq!(cache_path("abc").unwrap(), "3/a/abc");
        assert_eq!(cache_path("Inflector").unwrap(), "in/fl/inflector");
        assert!(cache_path("../etc").is_none());
    }

    #[test]
    fn reads_yanked_flags_and_counts_what_it_could_not_check() {
        let home = tempfile::tempdir().unwrap();
        let cache = home
            .path()
            .join("registry/index/index.crates.io-1949cf8c6b5b557f/.cache");
        std::fs::create_dir_all(cache.join("3/t")).unwrap();
        std::fs::write(
            cache.join("3/t/tar"),
            entry(&[("0.4.1", false), ("0.4.2", true)]),
        )
        .unwrap();
        let wanted = |keys: &[PackageKey<'static>]| -> BTreeSet<PackageKey> {
            keys.iter().copied().collect()
        };
        let mut index = YankedIndex::in_cargo_home(Some(home.path()));
        let yanked = index.yanked_among(&wanted(&[
            ("tar", "0.4.2"),
            ("tar", "0.4.1"),
            // A stale cache entry, and a crate with none.
            ("tar", "9.9.9"),
            ("serde", "1.0.0"),
        ]));
        assert_eq!(yanked, wanted(&[("tar", "0.4.2")]));
        assert_eq!(
            index.note(),
            "yanked: 2 packages checked against the local index cache; not checked for 2 packages (no local index cache)"
        );
        let mut none = YankedIndex::in_cargo_home(None);
        assert!(none.yanked_among(&wanted(&[("tar", "0.4.2")])).is_empty());
        assert_eq!(
            none.note(),
            "yanked: not checked for 1 package (no local index cache)"
        );
    }

    #[test]
    fn large_cache_files_are_read_from_the_end_and_whole_when_needed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big");
        // Old versions first, as cargo appends: 1.0.0 sits far from the end.
        let versions: Vec<(String, bool)> = (0..2000)
            .map(|i| (format!("1.0.{i}"), i == 0 || i == 1999))
            .collect();
        let keys: Vec<(&str, bool)> = versions.iter().map(|(v, y)| (v.as_str(), *y)).collect();
        let bytes = entry(&keys);
        assert!(bytes.len() > FIRST_TAIL * 8);
        std::fs::write(&path, &bytes).unwrap();
        let mut scratch = Vec::new();
        assert_eq!(lookup_file(&path, "1.0.1999", &mut scratch), Some(true));
        assert_eq!(lookup_file(&path, "1.0.1998", &mut scratch), Some(false));
        assert_eq!(lookup_file(&path, "1.0.0", &mut scratch), Some(true));
        assert_eq!(lookup_file(&path, "1.0.5", &mut scratch), Some(false));
        assert_eq!(lookup_file(&path, "2.0.0", &mut scratch), None);
        assert_eq!(
            lookup_file(&dir.path().join("missing"), "1.0.0", &mut scratch),
            None
        );
        assert_eq!(
            lookup_file(dir.path(), "1.0.0", &mut scratch),
            None,
            "a directory"
        );
    }

    proptest::proptest! {
        /// Trying each NUL from the end finds what a backwards search for
        /// the framed version finds.
        #[test]
        fn the_last_framed_version_is_found(
            body in proptest::collection::vec(proptest::sample::select(b"\x001.0a\"".to_vec()), 0..64),
            version in proptest::sample::select(vec!["", "1", "1.0", "0"]),
        ) {
            let mut needle = vec![0];
            needle.extend_from_slice(version.as_bytes());
            needle.push(0);
            let expected = memchr::memmem::rfind(&body, &needle).map(|at| at + needle.len());
            proptest::prop_assert_eq!(after_last_framed(&body, version), expected);
        }
    }

    #[test]
    fn yanked_flag_without_the_compact_form_is_parsed() {
        assert_eq!(
            yanked_flag(br#"{"vers":"1.0.0", "yanked": true}"#),
            Some(true)
        );
        assert_eq!(
            yanked_flag(br#"{"features": {"yanked": []}, "yanked": false}"#),
            Some(false)
        );
        assert_eq!(
            yanked_flag(br#"{"features": {"yanked": ["a"]}, "yanked":true}"#),
            Some(true)
        );
        assert_eq!(yanked_flag(br#"{"vers":"1.0.0"}"#), Some(false));
        assert_eq!(yanked_flag(b"not json"), None);
    }

    #[test]
    fn rejects_other_cache_versions() {
        let mut bytes = entry(&[("1.0.0", true), ("1.0.1", false)]);
        assert_eq!(lookup(&bytes, "1.0.0"), Some(true));
        assert_eq!(lookup(&bytes, "1.0.1"), Some(false));
        assert_eq!(lookup(&bytes, "1.0"), None);
        bytes[0] = 2;
        assert_eq!(lookup(&bytes, "1.0.0"), None);
    }
}
