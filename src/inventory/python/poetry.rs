//! `poetry.lock`, all three formats: 1.x labels each package with a
//! `category` (`main` or `dev`) and keeps file hashes in `[metadata.files]`;
//! 2.0 (Poetry 1.5 to 1.8) drops the label and moves hashes into each
//! package's `files`; 2.1 (Poetry 2) labels each package with the `groups`
//! that need it. The graph is each package's `[package.dependencies]`; the
//! project itself is not in the lock, so its roots come from the
//! `pyproject.toml` beside it, else from the labels.

use super::graph::{self, Dep, Label, Locked, Project};
use super::pyproject::Manifest;
use super::syntax::{
    is_pep440, leading_name, normalize, normalize_extra, pick_checksum, pypi, redact, registry,
    toml_error, Lines,
};
use crate::error::ScanError;
use crate::inventory::lock::{UncheckedReason, UncheckedRequirement};
use crate::inventory::{Inventory, LockLines, PackageSource};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use toml::Spanned;

#[derive(serde::Deserialize)]
struct LockFile {
    #[serde(default)]
    package: Vec<Spanned<RawPackage>>,
    #[serde(default)]
    metadata: Metadata,
}

#[derive(serde::Deserialize, Default)]
struct Metadata {
    /// 1.1: each package's file hashes, by its name as written.
    #[serde(default)]
    files: BTreeMap<String, Vec<FileEntry>>,
    /// 1.0: the bare hashes, by name.
    #[serde(default)]
    hashes: BTreeMap<String, Vec<String>>,
}

#[derive(serde::Deserialize)]
struct RawPackage {
    name: String,
    version: Spanned<String>,
    /// 1.x.
    category: Option<String>,
    /// 2.1.
    groups: Option<Vec<String>>,
    /// 2.x.
    #[serde(default)]
    files: Vec<FileEntry>,
    #[serde(default)]
    dependencies: BTreeMap<String, DepSpec>,
    /// Extra name to the requirements it adds (`"PySocks (>=1.5.6)"`).
    #[serde(default)]
    extras: BTreeMap<String, Vec<String>>,
    source: Option<Source>,
}

/// `name = "^1.2"`, `name = {version = …, markers = …}`, or one table per
/// constraint when they differ by environment.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum DepSpec {
    Range(String),
    One(DepTable),
    Many(Vec<DepTable>),
}

#[derive(serde::Deserialize, Default)]
struct DepTable {
    version: Option<String>,
    markers: Option<String>,
    #[serde(default)]
    optional: bool,
    #[serde(default)]
    extras: Vec<String>,
}

#[derive(serde::Deserialize)]
struct FileEntry {
    file: Option<String>,
    hash: Option<String>,
}

#[derive(serde::Deserialize)]
struct Source {
    #[serde(rename = "type")]
    kind: String,
    url: Option<String>,
    reference: Option<String>,
    resolved_reference: Option<String>,
}

/// The inventory of a `poetry.lock`, with what cannot be checked.
pub(super) fn read(
    path: &Path,
    text: &str,
    manifest: Option<&Manifest>,
) -> Result<(Inventory, Vec<UncheckedRequirement>), ScanError> {
    let lock: LockFile =
        toml::from_str(text).map_err(|e| toml_error(path, text, "poetry.lock", &e))?;
    let lines = Lines::new(text);
    let old_files: HashMap<String, &Vec<FileEntry>> = lock
        .metadata
        .files
        .iter()
        .map(|(name, files)| (normalize(name), files))
        .collect();
    let old_hashes: HashMap<String, &Vec<String>> = lock
        .metadata
        .hashes
        .iter()
        .map(|(name, hashes)| (normalize(name), hashes))
        .collect();
    let mut packages = Vec::new();
    let mut unchecked = Vec::new();
    let mut labelled = false;
    for entry in &lock.package {
        let span = entry.span();
        let raw = entry.get_ref();
        let version = raw.version.get_ref();
        let start = lines.line_of(span.start) as u32;
        if !is_pep440(version) {
            unchecked.push(UncheckedRequirement {
                file: path.to_path_buf(),
                line: lines.line_of(raw.version.span().start) as u32,
                requirement: format!("{} {version}", raw.name),
                reason: UncheckedReason::InvalidVersion,
            });
            continue;
        }
        let mut package = Locked::new(&raw.name, version, source(raw.source.as_ref()));
        package.lines = Some(LockLines {
            start,
            end: (lines.line_of(raw.version.span().start) as u32).max(start),
        });
        package.label = label(raw);
        labelled |= package.label != Label::Unknown;
        let files = if raw.files.is_empty() {
            old_files
                .get(&package.name)
                .map_or(&[][..], |f| f.as_slice())
        } else {
            raw.files.as_slice()
        };
        package.checksum = pick_checksum(
            files
                .iter()
                .filter_map(|f| Some((f.file.as_deref(), f.hash.as_deref()?))),
            version,
        )
        .or_else(|| {
            let hashes = old_hashes.get(&package.name)?;
            pick_checksum(hashes.iter().map(|h| (None, h.as_str())), version)
        });
        package.deps = dependencies(raw);
        packages.push(package);
    }
    let project = match manifest {
        Some(manifest) => Some(manifest.project(path)),
        None if labelled => Some(Project::named(path, None, None)),
        None => None,
    };
    let options = graph::Options {
        strict: false,
        unknown_kinds: "poetry.lock records no dependency groups (lock format 2.0) \
                        and no pyproject.toml is beside it: dependency kinds unknown",
    };
    let inventory = graph::build(path, packages, project, &options)?;
    Ok((inventory, unchecked))
}

/// Where a package comes from: PyPI unless `[package.source]` says else.
fn source(source: Option<&Source>) -> PackageSource {
    let Some(source) = source else {
        return pypi();
    };
    let url = source.url.as_deref().unwrap_or("");
    match source.kind.as_str() {
        "git" => PackageSource::Git {
            url: redact(url),
            reference: source.reference.clone(),
            // Before 1.1 the lock names the commit in `reference` alone.
            rev: source
                .resolved_reference
                .clone()
                .or_else(|| source.reference.clone())
                .unwrap_or_default(),
        },
        "directory" | "file" => PackageSource::Path {
            relative: Some(url.to_string()),
        },
        "legacy" => registry(url),
        _ => PackageSource::Other {
            repr: format!("{}+{}", source.kind, redact(url)),
        },
    }
}

/// What the lock says of who needs the package.
fn label(raw: &RawPackage) -> Label {
    if let Some(groups) = &raw.groups {
        if groups.iter().any(|g| normalize_extra(g) == "main") {
            return Label::Main;
        }
        // Poetry's other groups are development groups; extras are `main`.
        if !groups.is_empty() {
            return Label::Dev;
        }
    }
    match raw.category.as_deref() {
        Some("main") => Label::Main,
        Some("dev") => Label::Dev,
        _ => Label::Unknown,
    }
}

/// `[package.dependencies]`; an optional one only with the extras that
/// list it (none: never installed).
fn dependencies(raw: &RawPackage) -> Vec<Dep> {
    let mut deps = Vec::new();
    for (name, spec) in &raw.dependencies {
        let tables: Vec<DepTable> = match spec {
            DepSpec::Range(range) => vec![DepTable {
                version: Some(range.clone()),
                ..DepTable::default()
            }],
            DepSpec::One(table) => vec![DepTable {
                version: table.version.clone(),
                markers: table.markers.clone(),
                optional: table.optional,
                extras: table.extras.clone(),
            }],
            DepSpec::Many(tables) => tables
                .iter()
                .map(|t| DepTable {
                    version: t.version.clone(),
                    markers: t.markers.clone(),
                    optional: t.optional,
                    extras: t.extras.clone(),
                })
                .collect(),
        };
        let key = normalize(name);
        for table in tables {
            let dep = Dep {
                specifier: table.version,
                marker: table.markers,
                extras: table.extras.iter().map(|e| normalize_extra(e)).collect(),
                ..Dep::on(name)
            };
            if !table.optional {
                deps.push(dep);
                continue;
            }
            for (extra, requirements) in &raw.extras {
                if requirements
                    .iter()
                    .any(|r| leading_name(r).is_some_and(|n| normalize(n) == key))
                {
                    deps.push(Dep {
                        for_extra: Some(normalize_extra(extra)),
                        ..dep.clone()
                    });
                }
            }
        }
    }
    deps
}

#[cfg(test)]
mod tests {
    use super::super::pyproject;
    use super::*;
    use crate::inventory::{DependencyKind, EdgeKind};

    fn fixture(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/python")
            .join(name)
    }

    fn load(dir: &str) -> Inventory {
        let lock = fixture(dir).join("poetry.lock");
        let text = std::fs::read_to_string(&lock).unwrap();
        let manifest_path = fixture(dir).join("pyproject.toml");
        let manifest = std::fs::read_to_string(&manifest_path)
            .ok()
            .map(|t| pyproject::parse(&manifest_path, &t).unwrap());
        let (inventory, unchecked) = read(&lock, &text, manifest.as_ref()).unwrap();
        assert!(unchecked.is_empty(), "{unchecked:?}");
        inventory
    }

    fn kind(inventory: &Inventory, name: &str) -> Option<DependencyKind> {
        inventory.packages[inventory
            .find(name, None)
            .unwrap_or_else(|| panic!("{name}"))]
        .kind
    }

    #[test]
    fn real_1_x_lock_with_categories_and_metadata_files() {
        let inventory = load("poetry-1.1-django");
        let django = &inventory.packages[inventory.find("django", None).unwrap()];
        assert_eq!(django.version, "4.0.5");
        assert_eq!(
            django.checksum.as_deref(),
            Some("f7431a5de7277966f3785557c3928433347d998c1e6459324501378a291e5aab"),
            "the sdist's hash"
        );
        assert_eq!(django.lines, Some(LockLines { start: 64, end: 66 }));
        assert!(django.source.is_public_registry());
        use DependencyKind::*;
        assert_eq!(kind(&inventory, "django"), Some(Normal));
        assert_eq!(kind(&inventory, "backports-zoneinfo"), Some(Normal));
        assert_eq!(kind(&inventory, "sqlparse"), Some(Normal));
        assert_eq!(kind(&inventory, "black"), Some(DevOnly));
        assert_eq!(kind(&inventory, "colorama"), Some(DevOnly));
        assert_eq!(
            inventory.packages[inventory.find("tzdata", None).unwrap()].platform_only,
            Some(vec!["sys_platform == \"win32\"".to_string()])
        );
        let project = inventory.find("django-poetry-tutorial", None).unwrap();
        assert_eq!(inventory.root, Some(project));
        assert_eq!(inventory.packages[project].version, "0.1.0");
        let sqlparse = inventory.find("sqlparse", None).unwrap();
        assert_eq!(
            inventory.shortest_path(sqlparse),
            [
                ("django-poetry-tutorial".to_string(), "0.1.0".to_string()),
                ("django".to_string(), "4.0.5".to_string()),
                ("sqlparse".to_string(), "0.4.2".to_string()),
            ]
        );
        assert_eq!(inventory.packages.len(), 14);
    }

    #[test]
    fn real_2_0_lock_resolves_names_as_written_in_either_form() {
        let inventory = load("poetry-2.0-httpx");
        let anyio = inventory.find("anyio", None).unwrap();
        let targets: Vec<&str> = inventory.depends_on[anyio]
            .iter()
            .map(|e| inventory.packages[e.to].name.as_str())
            .collect();
        // `typing_extensions` in the lock names `typing-extensions`.
        assert_eq!(
            targets,
            ["exceptiongroup", "idna", "sniffio", "typing-extensions"]
        );
        assert_eq!(kind(&inventory, "h11"), Some(DependencyKind::Normal));
        let dateutil = &inventory.packages[inventory.find("python-dateutil", None).unwrap()];
        assert_eq!(dateutil.version, "2.9.0.post0");
        assert_eq!(
            dateutil.checksum.as_deref(),
            Some("37dd54208da7e1cd875388217d5e00ebd4179249f90fb72437e91a35459a0ad3")
        );
        assert!(inventory.fallback_reason.is_none());
    }

    #[test]
    fn groups_of_2_1_and_a_pyproject_with_dev_groups() {
        let inventory = load("poetry-2.1-groups");
        use DependencyKind::*;
        assert_eq!(kind(&inventory, "flask"), Some(Normal));
        assert_eq!(kind(&inventory, "werkzeug"), Some(Normal));
        assert_eq!(kind(&inventory, "pytest"), Some(DevOnly));
        assert_eq!(kind(&inventory, "iniconfig"), Some(DevOnly));
        // Needed by both: shipped.
        assert_eq!(kind(&inventory, "colorama"), Some(Normal));
        // Only through an extra flask's dependent asks for.
        assert_eq!(kind(&inventory, "python-dotenv"), Some(Normal));
        let git = &inventory.packages[inventory.find("internal-lib", None).unwrap()];
        assert_eq!(
            git.source,
            PackageSource::Git {
                url: "https://github.com/example/internal-lib.git".to_string(),
                reference: Some("main".to_string()),
                rev: "0123456789abcdef0123456789abcdef01234567".to_string(),
            }
        );
        let private = &inventory.packages[inventory.find("private-pkg", None).unwrap()];
        assert_eq!(
            private.source,
            PackageSource::Registry {
                url: "https://deploy:***@pkgs.example.com/simple".to_string(),
                public: false
            }
        );
    }

    #[test]
    fn a_2_0_lock_without_pyproject_has_unknown_kinds_and_dev_edges_come_from_the_project() {
        let dir = fixture("poetry-2.0-httpx");
        let lock = dir.join("poetry.lock");
        let text = std::fs::read_to_string(&lock).unwrap();
        let (inventory, _) = read(&lock, &text, None).unwrap();
        assert!(inventory.packages.iter().all(|p| p.kind.is_none()));
        assert!(inventory.workspace_members.is_empty());
        assert!(inventory
            .fallback_reason
            .as_deref()
            .unwrap()
            .contains("no pyproject.toml"));
        let with = load("poetry-2.1-groups");
        let project = with.root.unwrap();
        assert!(with.depends_on[project]
            .iter()
            .any(|e| e.kind == EdgeKind::Dev && with.packages[e.to].name == "pytest"));
    }

    #[test]
    fn lock_format_1_0_keeps_bare_hashes() {
        let text = "[[package]]\ncategory = \"main\"\nname = \"Django\"\nversion = \"2.2.4\"\n\n[metadata]\nlock-version = \"1.0\"\n\n[metadata.hashes]\ndjango = [\"1a41831eace203fd1939edf899e07d7abd12ce9bafc3d9a5a63a24a8d1d12bd5\", \"9a2f98211ab474c710fcdad29c82f30fc14ce9917c7a70c3682162a624de4035\"]\n";
        let (inventory, _) = read(Path::new("poetry.lock"), text, None).unwrap();
        let django = &inventory.packages[inventory.find("django", None).unwrap()];
        assert_eq!(
            django.checksum.as_deref(),
            Some("1a41831eace203fd1939edf899e07d7abd12ce9bafc3d9a5a63a24a8d1d12bd5")
        );
        assert_eq!(django.kind, Some(DependencyKind::Normal));
    }

    #[test]
    fn broken_locks_name_their_line() {
        let path = Path::new("poetry.lock");
        let error = read(path, "[[package]]\nname = \"a\"\n", None)
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("poetry.lock:1:"), "{error}");
        assert!(error.contains("missing field `version`"), "{error}");
        let error = read(
            path,
            "[[package]]\nname = \"a\"\nversion = \"1\"\n[package.dependencies]\nb = 3\n",
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.starts_with("poetry.lock:5:5: not a valid poetry.lock"),
            "{error}"
        );
        let (inventory, unchecked) = read(
            path,
            "[[package]]\nname = \"a\"\nversion = \"1.0-local-thing!\"\ncategory = \"main\"\n",
            None,
        )
        .unwrap();
        assert!(inventory.packages.is_empty());
        assert_eq!(unchecked[0].line, 3);
        assert_eq!(unchecked[0].reason, UncheckedReason::InvalidVersion);
    }
}
