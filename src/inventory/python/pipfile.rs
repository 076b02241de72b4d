//! `Pipfile.lock` (JSON): `default` packages ship, `develop` ones are
//! development-only (Pipenv's other categories count as shipped); each
//! pinned as `"version": "==1.2.3"` with its `hashes`, from the index its
//! `index` names in `_meta.sources`. No graph: every package hangs off the
//! project directly. JSON keeps no positions, so each package's line comes
//! from where its entry sits in the text.

use super::graph::{self, Label, Locked, Project};
use super::syntax::{is_pep440, pick_checksum, pypi, redact, registry, Lines};
use crate::error::ScanError;
use crate::inventory::lock::{UncheckedReason, UncheckedRequirement};
use crate::inventory::{Inventory, LockLines};
use serde_json::value::RawValue;
use std::collections::HashMap;
use std::path::Path;

/// The members of a JSON object in order, their values unparsed.
struct Entries<'a>(Vec<(String, &'a RawValue)>);

impl<'de> serde::Deserialize<'de> for Entries<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Entries<'de>;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<M: serde::de::MapAccess<'de>>(
                self,
                mut map: M,
            ) -> Result<Entries<'de>, M::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<String, &'de RawValue>()? {
                    entries.push(entry);
                }
                Ok(Entries(entries))
            }
        }
        deserializer.deserialize_map(Visit)
    }
}

#[derive(serde::Deserialize, Default)]
struct Meta {
    #[serde(default)]
    sources: Vec<IndexSource>,
}

#[derive(serde::Deserialize)]
struct IndexSource {
    name: Option<String>,
    url: Option<String>,
}

#[derive(serde::Deserialize)]
struct Entry {
    version: Option<String>,
    #[serde(default)]
    hashes: Vec<String>,
    index: Option<String>,
    markers: Option<String>,
    git: Option<String>,
    #[serde(rename = "ref")]
    reference: Option<String>,
    path: Option<String>,
    file: Option<String>,
    #[serde(default)]
    editable: bool,
}

/// The text of a lock and how to locate what is in it.
struct Json<'a> {
    path: &'a Path,
    text: &'a str,
    lines: Lines,
}

impl<'a> Json<'a> {
    /// The byte offset of `raw` (a slice of the text) in the text.
    fn offset(&self, raw: &RawValue) -> usize {
        (raw.get().as_ptr() as usize).saturating_sub(self.text.as_ptr() as usize)
    }

    fn line(&self, offset: usize) -> u32 {
        self.lines.line_of(offset) as u32
    }

    /// `raw` parsed as `T`; an error located in the whole text.
    fn parse<T: serde::Deserialize<'a>>(&self, raw: &'a str, what: &str) -> Result<T, ScanError> {
        serde_json::from_str(raw).map_err(|error| {
            let base = (raw.as_ptr() as usize).saturating_sub(self.text.as_ptr() as usize);
            // serde_json counts lines and columns (bytes) within `raw`.
            let inner = Lines::new(raw);
            let within = inner
                .0
                .get(error.line().saturating_sub(1))
                .map_or(raw.len(), |start| start + error.column().saturating_sub(1));
            let offset = base + within.min(raw.len());
            let message = error.to_string();
            // Its Display appends " at line L column C", which would be
            // relative to `raw`: the location is said once, in front.
            let message = message
                .rsplit_once(" at line ")
                .map_or(message.as_str(), |(m, _)| m);
            ScanError::BadInputAt {
                path: self.path.to_path_buf(),
                line: self.lines.line_of(offset),
                column: Some(self.lines.column_of(self.text, offset)),
                message: format!("not a valid Pipfile.lock: {what}: {message}"),
            }
        })
    }
}

/// The inventory of a `Pipfile.lock`, with what cannot be checked.
pub(super) fn read(
    path: &Path,
    text: &str,
) -> Result<(Inventory, Vec<UncheckedRequirement>), ScanError> {
    let json = Json {
        path,
        text,
        lines: Lines::new(text),
    };
    let top: Entries = json.parse(text, "the document")?;
    let mut meta = Meta::default();
    for (key, raw) in &top.0 {
        if key == "_meta" {
            meta = json.parse(raw.get(), "_meta")?;
        }
    }
    let indexes: HashMap<&str, &str> = meta
        .sources
        .iter()
        .filter_map(|s| Some((s.name.as_deref()?, s.url.as_deref()?)))
        .collect();
    let default_index = meta.sources.first().and_then(|s| s.url.as_deref());
    let mut packages = Vec::new();
    let mut unchecked = Vec::new();
    for (section, raw) in &top.0 {
        if section == "_meta" {
            continue;
        }
        let label = if section == "develop" {
            Label::Dev
        } else {
            Label::Main
        };
        let entries: Entries = json.parse(raw.get(), section)?;
        let mut seen: HashMap<&str, u32> = HashMap::new();
        for (name, raw) in &entries.0 {
            let entry: Entry = json.parse(raw.get(), &format!("{section}.{name}"))?;
            let start = json.offset(raw);
            let line = json.line(start);
            if let Some(first) = seen.insert(name, line) {
                return Err(ScanError::BadInputAt {
                    path: path.to_path_buf(),
                    line: line as usize,
                    column: None,
                    message: format!("{section} lists {name} twice (first at line {first})"),
                });
            }
            let version = match pinned(&entry) {
                Ok(version) => version,
                Err(reason) => {
                    unchecked.push(UncheckedRequirement {
                        file: path.to_path_buf(),
                        line,
                        requirement: describe(name, &entry),
                        reason,
                    });
                    continue;
                }
            };
            let index = entry
                .index
                .as_deref()
                .and_then(|i| indexes.get(i).copied())
                .or(default_index);
            let mut package = Locked::new(name, version, index.map_or_else(pypi, registry));
            let end = raw
                .get()
                .find("\"version\"")
                .map_or(start + raw.get().len(), |at| start + at);
            package.lines = Some(LockLines {
                start: line,
                end: json.line(end).max(line),
            });
            package.label = label;
            package.marker = entry.markers.clone();
            package.checksum =
                pick_checksum(entry.hashes.iter().map(|h| (None, h.as_str())), version);
            packages.push(package);
        }
    }
    let options = graph::Options {
        strict: false,
        unknown_kinds: "",
    };
    let project = Project::named(path, None, None);
    let inventory = graph::build(path, packages, Some(project), &options)?;
    Ok((inventory, unchecked))
}

/// The exact version of an entry, or why it has none.
fn pinned(entry: &Entry) -> Result<&str, UncheckedReason> {
    let Some(version) = entry.version.as_deref().map(str::trim) else {
        return Err(if entry.editable {
            UncheckedReason::Editable
        } else if entry.path.is_some() {
            UncheckedReason::LocalPath
        } else if entry.git.is_some() || entry.file.is_some() {
            UncheckedReason::Url
        } else {
            UncheckedReason::NotPinned
        });
    };
    let exact = version
        .strip_prefix("===")
        .or_else(|| version.strip_prefix("=="))
        .map(str::trim);
    match exact {
        Some(v) if v.contains('*') => Err(UncheckedReason::NotPinned),
        Some(v) if is_pep440(v) => Ok(v),
        Some(_) => Err(UncheckedReason::InvalidVersion),
        None => Err(UncheckedReason::NotPinned),
    }
}

/// `name version` or `name (git URL @ ref)`, as the summary shows it.
fn describe(name: &str, entry: &Entry) -> String {
    let what = match (&entry.version, &entry.git, &entry.path, &entry.file) {
        (Some(version), ..) => version.clone(),
        (None, Some(git), ..) => format!(
            "git {git}{}",
            entry
                .reference
                .as_deref()
                .map(|r| format!(" @ {r}"))
                .unwrap_or_default()
        ),
        (None, None, Some(path), _) => format!("path {path}"),
        (None, None, None, Some(file)) => format!("file {file}"),
        _ => "no version".to_string(),
    };
    redact(&crate::text::one_line(&format!("{name} {what}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::{DependencyKind, PackageSource};

    fn fixture(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/python")
            .join(name)
    }

    #[test]
    fn real_lock_of_a_flask_api() {
        let path = fixture("pipenv-flask/Pipfile.lock");
        let text = std::fs::read_to_string(&path).unwrap();
        let (inventory, unchecked) = read(&path, &text).unwrap();
        assert!(unchecked.is_empty());
        let flask = &inventory.packages[inventory.find("flask", None).unwrap()];
        assert_eq!(flask.version, "1.0.2");
        assert_eq!(flask.kind, Some(DependencyKind::Normal));
        assert_eq!(flask.lines, Some(LockLines { start: 33, end: 39 }));
        assert_eq!(
            flask.checksum.as_deref(),
            Some("2271c0070dbcb5275fad4a82e29f23ab92682dc45f9dfbc22c02ba9b9322ce48")
        );
        assert!(flask.source.is_public_registry());
        let kind = |name: &str| inventory.packages[inventory.find(name, None).unwrap()].kind;
        assert_eq!(kind("pytest"), Some(DependencyKind::DevOnly));
        assert_eq!(kind("werkzeug"), Some(DependencyKind::Normal));
        // In both sections at one version: one package, shipped.
        assert_eq!(
            inventory
                .packages
                .iter()
                .filter(|p| p.name == "six")
                .count(),
            1
        );
        assert_eq!(kind("six"), Some(DependencyKind::Normal));
        // 13 default, 7 develop, six in both, and the project.
        assert_eq!(inventory.packages.len(), 13 + 7 - 1 + 1);
        assert!(inventory.find("pipenv-flask", None).is_some());
    }

    #[test]
    fn unpinned_git_editable_and_private_index_entries() {
        let text = r#"{
    "_meta": {"sources": [{"name": "pypi", "url": "https://pypi.org/simple"},
                          {"name": "corp", "url": "https://ci:${PYPI_TOKEN}@pkgs.corp.example/simple"}]},
    "default": {
        "internal": {"index": "corp", "version": "==1.4.0", "markers": "sys_platform == 'linux'"},
        "mylib": {"git": "https://tok:en@github.com/me/mylib.git", "ref": "abc123"},
        "app": {"editable": true, "path": "."},
        "loose": {"version": "*"},
        "legacy": {"version": "==2004d"}
    },
    "develop": {}
}"#;
        let (inventory, unchecked) = read(Path::new("Pipfile.lock"), text).unwrap();
        let internal = &inventory.packages[inventory.find("internal", None).unwrap()];
        assert_eq!(
            internal.source,
            PackageSource::Registry {
                url: "https://ci:***@pkgs.corp.example/simple".to_string(),
                public: false
            }
        );
        assert_eq!(internal.lines, Some(LockLines { start: 5, end: 5 }));
        assert_eq!(
            internal.platform_only,
            Some(vec!["sys_platform == 'linux'".to_string()])
        );
        let listed: Vec<(u32, &str, UncheckedReason)> = unchecked
            .iter()
            .map(|u| (u.line, u.requirement.as_str(), u.reason))
            .collect();
        assert_eq!(
            listed,
            [
                (
                    6,
                    "mylib git https://tok:***@github.com/me/mylib.git @ abc123",
                    UncheckedReason::Url
                ),
                (7, "app path .", UncheckedReason::Editable),
                (8, "loose *", UncheckedReason::NotPinned),
                (9, "legacy ==2004d", UncheckedReason::InvalidVersion),
            ]
        );
    }

    #[test]
    fn broken_json_names_its_line_and_column() {
        let text = "{\n  \"default\": {\n    \"a\": {\"version\": 3}\n  }\n}\n";
        let error = read(Path::new("Pipfile.lock"), text)
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("Pipfile.lock:3:"), "{error}");
        assert!(error.contains("default.a"), "{error}");
        assert!(!error.contains("at line"), "{error}");
        let error = read(Path::new("Pipfile.lock"), "{\n  \"default\": {\n")
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("Pipfile.lock:3:"), "{error}");
        let dup =
            "{\"default\": {\n\"a\": {\"version\": \"==1\"},\n\"a\": {\"version\": \"==1\"}}}";
        let error = read(Path::new("Pipfile.lock"), dup)
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "Pipfile.lock:3: default lists a twice (first at line 2)"
        );
    }
}
