//! Yanked versions, from cargo's local crates.io index cache only: the
//! scanner never fetches. A crate with no cache entry is counted as not
//! checked, never guessed.

use crate::finding::{fingerprint, Finding, Location, RuleInfo, Scanner, Severity};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

pub const RULE_ID: &str = "yanked";

/// The cache format cargo (and tame-index) write: version 3.
const CACHE_VERSION: u8 = 3;

pub struct YankedIndex {
    /// `$CARGO_HOME/registry/index/<crates.io>/.cache` directories.
    caches: Vec<PathBuf>,
    /// Crate name → version → yanked; `None` when no cache has the crate.
    crates: HashMap<String, Option<HashMap<String, bool>>>,
    checked: BTreeSet<(String, String)>,
    unchecked: BTreeSet<(String, String)>,
}

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
            crates: HashMap::new(),
            checked: BTreeSet::new(),
            unchecked: BTreeSet::new(),
        }
    }

    /// `Some(yanked)` when a local cache entry lists this version.
    pub fn is_yanked(&mut self, name: &str, version: &str) -> Option<bool> {
        if !self.crates.contains_key(name) {
            let versions = self.read(name);
            self.crates.insert(name.to_string(), versions);
        }
        let answer = self.crates[name]
            .as_ref()
            .and_then(|versions| versions.get(version).copied());
        let key = (name.to_string(), version.to_string());
        match answer {
            Some(_) => self.checked.insert(key),
            None => self.unchecked.insert(key),
        };
        answer
    }

    fn read(&self, name: &str) -> Option<HashMap<String, bool>> {
        let relative = cache_path(name)?;
        let mut merged: Option<HashMap<String, bool>> = None;
        for cache in &self.caches {
            let Ok(bytes) = std::fs::read(cache.join(&relative)) else {
                continue;
            };
            if let Some(versions) = parse_cache_entry(&bytes) {
                let merged = merged.get_or_insert_with(HashMap::new);
                for (version, yanked) in versions {
                    merged.entry(version).or_insert(yanked);
                }
            }
        }
        merged
    }

    pub fn checked_any(&self) -> bool {
        !self.checked.is_empty()
    }

    /// For the summary: how many versions were checked, and how many not.
    pub fn note(&self) -> String {
        let packages = |n: usize| format!("{n} package{}", if n == 1 { "" } else { "s" });
        let checked = format!(
            "{} checked against the local index cache",
            packages(self.checked.len())
        );
        let unchecked = format!(
            "not checked for {} (no local index cache)",
            packages(self.unchecked.len())
        );
        match (self.checked.len(), self.unchecked.len()) {
            (_, 0) => format!("yanked: {checked}"),
            (0, _) => format!("yanked: {unchecked}"),
            _ => format!("yanked: {checked}; {unchecked}"),
        }
    }
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
    Some(match name.len() {
        1 => format!("1/{name}"),
        2 => format!("2/{name}"),
        3 => format!("3/{}/{name}", &name[..1]),
        _ => format!("{}/{}/{name}", &name[..2], &name[2..4]),
    })
}

#[derive(serde::Deserialize)]
struct IndexVersion {
    vers: String,
    #[serde(default)]
    yanked: bool,
}

/// A cache entry: the cache version byte, the index format version (u32 LE),
/// the revision, then (version, JSON) pairs, every field NUL-terminated.
fn parse_cache_entry(bytes: &[u8]) -> Option<HashMap<String, bool>> {
    if *bytes.first()? != CACHE_VERSION || bytes.len() < 5 {
        return None;
    }
    let mut fields = bytes[5..].split(|&b| b == 0);
    let _revision = fields.next()?;
    let mut versions = HashMap::new();
    while let Some(version) = fields.next() {
        if version.is_empty() {
            break;
        }
        let entry: IndexVersion = serde_json::from_slice(fields.next()?).ok()?;
        versions.insert(entry.vers, entry.yanked);
    }
    (!versions.is_empty()).then_some(versions)
}

pub fn finding(
    name: &str,
    version: &str,
    severity: Severity,
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
        severity: Some(severity),
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
        package: Some(name.to_string()),
        aliases: Vec::new(),
        suppression_hint: None,
        properties,
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
        let mut index = YankedIndex::in_cargo_home(Some(home.path()));
        assert_eq!(index.is_yanked("tar", "0.4.2"), Some(true));
        assert_eq!(index.is_yanked("tar", "0.4.1"), Some(false));
        assert_eq!(index.is_yanked("tar", "9.9.9"), None, "a stale cache entry");
        assert_eq!(index.is_yanked("serde", "1.0.0"), None);
        assert_eq!(
            index.note(),
            "yanked: 2 packages checked against the local index cache; not checked for 2 packages (no local index cache)"
        );
        let mut none = YankedIndex::in_cargo_home(None);
        assert_eq!(none.is_yanked("tar", "0.4.2"), None);
        assert_eq!(
            none.note(),
            "yanked: not checked for 1 package (no local index cache)"
        );
    }

    #[test]
    fn rejects_other_cache_versions() {
        let mut bytes = entry(&[("1.0.0", true)]);
        assert!(parse_cache_entry(&bytes).is_some());
        bytes[0] = 2;
        assert!(parse_cache_entry(&bytes).is_none());
    }
}
