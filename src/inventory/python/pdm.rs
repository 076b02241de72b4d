//! `pdm.lock`: `[[package]]` entries with their `groups` (lock 4.4 and
//! later; `sections` in pdm 1), `dependencies` as PEP 508 strings and
//! `files` hashes (in `[metadata.files]` under `"name version"` keys before
//! lock 4.1). A package asked for with extras is listed once more with
//! `extras = […]`; both entries are one package. The project is not in the
//! lock: its roots come from `pyproject.toml`, which also tells which groups
//! are development groups (`[tool.pdm.dev-dependencies]`, PEP 735) and
//! which are extras (`[project.optional-dependencies]`, shipped).

use super::graph::{self, Dep, Label, Locked, Project};
use super::pyproject::Manifest;
use super::syntax::{
    is_pep440, normalize, normalize_extra, pick_checksum, pypi, redact, toml_error, Lines,
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
    /// Before lock 4.1: `"name version"` to the files' hashes.
    #[serde(default)]
    files: BTreeMap<String, Vec<FileEntry>>,
}

#[derive(serde::Deserialize)]
struct RawPackage {
    name: String,
    version: Option<Spanned<String>>,
    #[serde(default, alias = "sections")]
    groups: Vec<String>,
    #[serde(default)]
    dependencies: Vec<String>,
    #[serde(default)]
    files: Vec<FileEntry>,
    marker: Option<String>,
    git: Option<String>,
    #[serde(rename = "ref")]
    reference: Option<String>,
    revision: Option<String>,
    path: Option<String>,
    url: Option<String>,
}

#[derive(serde::Deserialize)]
struct FileEntry {
    file: Option<String>,
    url: Option<String>,
    hash: Option<String>,
}

/// The inventory of a `pdm.lock`, with what cannot be checked.
pub(super) fn read(
    path: &Path,
    text: &str,
    manifest: Option<&Manifest>,
) -> Result<(Inventory, Vec<UncheckedRequirement>), ScanError> {
    let lock: LockFile =
        toml::from_str(text).map_err(|e| toml_error(path, text, "pdm.lock", &e))?;
    let lines = Lines::new(text);
    let old_files: HashMap<String, &Vec<FileEntry>> = lock
        .metadata
        .files
        .iter()
        .filter_map(|(key, files)| {
            let (name, version) = key.split_once(' ')?;
            Some((format!("{} {}", normalize(name), version.trim()), files))
        })
        .collect();
    let mut packages = Vec::new();
    let mut unchecked = Vec::new();
    let mut labelled = false;
    for entry in &lock.package {
        let raw = entry.get_ref();
        let start = lines.line_of(entry.span().start) as u32;
        let Some(version) = &raw.version else {
            let reason = if raw.path.is_some() {
                UncheckedReason::LocalPath
            } else if raw.git.is_some() || raw.url.is_some() {
                UncheckedReason::Url
            } else {
                return Err(ScanError::BadInputAt {
                    path: path.to_path_buf(),
                    line: start as usize,
                    column: None,
                    message: format!("package {} has no version", raw.name),
                });
            };
            unchecked.push(UncheckedRequirement {
                file: path.to_path_buf(),
                line: start,
                requirement: redact(&format!(
                    "{} {}",
                    raw.name,
                    [&raw.path, &raw.git, &raw.url]
                        .into_iter()
                        .flatten()
                        .next()
                        .map_or("", String::as_str)
                )),
                reason,
            });
            continue;
        };
        let version_line = lines.line_of(version.span().start) as u32;
        if !is_pep440(version.get_ref()) {
            unchecked.push(UncheckedRequirement {
                file: path.to_path_buf(),
                line: version_line,
                requirement: format!("{} {}", raw.name, version.get_ref()),
                reason: UncheckedReason::InvalidVersion,
            });
            continue;
        }
        let mut package = Locked::new(&raw.name, version.get_ref(), source(raw));
        package.lines = Some(LockLines {
            start,
            end: version_line.max(start),
        });
        package.label = label(&raw.groups, manifest);
        labelled |= package.label != Label::Unknown;
        package.marker = raw.marker.clone();
        let key = format!("{} {}", package.name, package.version);
        let files = if raw.files.is_empty() {
            old_files.get(&key).map_or(&[][..], |f| f.as_slice())
        } else {
            raw.files.as_slice()
        };
        package.checksum = pick_checksum(
            files
                .iter()
                .filter_map(|f| Some((f.file.as_deref().or(f.url.as_deref()), f.hash.as_deref()?))),
            version.get_ref(),
        );
        package.deps = raw
            .dependencies
            .iter()
            .filter_map(|d| Dep::from_pep508(d))
            .collect();
        packages.push(package);
    }
    let project = match manifest {
        Some(manifest) => Some(manifest.project(path)),
        None if labelled => Some(Project::named(path, None, None)),
        None => None,
    };
    let options = graph::Options {
        strict: false,
        unknown_kinds: "pdm.lock records no groups (lock format before 4.4) \
                        and no pyproject.toml is beside it: dependency kinds unknown",
    };
    let inventory = graph::build(path, packages, project, &options)?;
    Ok((inventory, unchecked))
}

fn source(raw: &RawPackage) -> PackageSource {
    if let Some(git) = &raw.git {
        return PackageSource::Git {
            url: redact(git),
            reference: raw.reference.clone(),
            rev: raw.revision.clone().unwrap_or_default(),
        };
    }
    if let Some(path) = &raw.path {
        return PackageSource::Path {
            relative: Some(path.clone()),
        };
    }
    if let Some(url) = &raw.url {
        return PackageSource::Other { repr: redact(url) };
    }
    pypi()
}

/// `default` and extras ship; development groups do not. Without a
/// `pyproject.toml` only pdm's own `dev` group is known to be one, and a
/// group nothing says is for development is counted as shipped.
fn label(groups: &[String], manifest: Option<&Manifest>) -> Label {
    if groups.is_empty() {
        return Label::Unknown;
    }
    let is_dev = |group: &String| {
        let group = normalize_extra(group);
        match manifest {
            Some(m) => m.dev_groups.contains(&group) && !m.extras.contains(&group),
            None => group == "dev",
        }
    };
    if groups.iter().all(is_dev) {
        Label::Dev
    } else {
        Label::Main
    }
}

#[cfg(test)]
mod tests {
    use super::super::pyproject;
    use super::*;
    use crate::inventory::DependencyKind;

    fn fixture(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/python")
            .join(name)
    }

    fn load(dir: &str) -> (Inventory, Vec<UncheckedRequirement>) {
        let lock = fixture(dir).join("pdm.lock");
        let text = std::fs::read_to_string(&lock).unwrap();
        let manifest_path = fixture(dir).join("pyproject.toml");
        let manifest = std::fs::read_to_string(&manifest_path)
            .ok()
            .map(|t| pyproject::parse(&manifest_path, &t).unwrap());
        read(&lock, &text, manifest.as_ref()).unwrap()
    }

    fn kind(inventory: &Inventory, name: &str) -> Option<DependencyKind> {
        inventory.packages[inventory
            .find(name, None)
            .unwrap_or_else(|| panic!("{name}"))]
        .kind
    }

    #[test]
    fn real_lock_of_a_flask_app() {
        let (inventory, unchecked) = load("pdm-flask");
        assert!(unchecked.is_empty());
        let jinja = &inventory.packages[inventory.find("jinja2", None).unwrap()];
        assert_eq!(jinja.version, "3.1.3");
        assert_eq!(
            jinja.lines,
            Some(LockLines {
                start: 105,
                end: 107
            })
        );
        assert_eq!(
            jinja.checksum.as_deref(),
            Some("ac8bd6544d4bb2c9792bf3a159e80bba8fda7f07e81bc3aed565432d5925ba90")
        );
        assert_eq!(kind(&inventory, "werkzeug"), Some(DependencyKind::Normal));
        let flask = inventory.find("flask", None).unwrap();
        let targets: Vec<&str> = inventory.depends_on[flask]
            .iter()
            .map(|e| inventory.packages[e.to].name.as_str())
            .collect();
        assert_eq!(
            targets,
            ["blinker", "click", "itsdangerous", "jinja2", "werkzeug"]
        );
        let greenlet = &inventory.packages[inventory.find("greenlet", None).unwrap()];
        assert!(greenlet.platform_only.as_ref().unwrap()[0].starts_with("platform_machine"));
        // No pyproject.toml: the project is named after the directory.
        assert!(inventory.find("pdm-flask", None).is_some());
    }

    #[test]
    fn groups_extras_and_dev_groups_told_apart_by_pyproject() {
        let (inventory, unchecked) = load("pdm-groups");
        use DependencyKind::*;
        assert_eq!(kind(&inventory, "requests"), Some(Normal));
        assert_eq!(kind(&inventory, "pysocks"), Some(Normal));
        // `s3` is an extra of the project: shipped.
        assert_eq!(kind(&inventory, "boto3"), Some(Normal));
        assert_eq!(kind(&inventory, "pytest"), Some(DevOnly));
        assert_eq!(kind(&inventory, "mkdocs"), Some(DevOnly));
        let requests: Vec<_> = inventory
            .packages
            .iter()
            .filter(|p| p.name == "requests")
            .collect();
        assert_eq!(requests.len(), 1, "the extras entry is the same package");
        assert_eq!(
            unchecked,
            [UncheckedRequirement {
                file: fixture("pdm-groups").join("pdm.lock"),
                line: 45,
                requirement: "tools ../tools".to_string(),
                reason: UncheckedReason::LocalPath,
            }]
        );
    }

    #[test]
    fn old_lock_with_metadata_files_and_no_groups() {
        let text = r#"[[package]]
name = "tornado"
version = "6.1"
summary = "web framework"

[metadata]
lock_version = "4.0"

[metadata.files]
"tornado 6.1" = [
    {url = "https://files.pythonhosted.org/packages/cb/tornado-6.1.tar.gz", hash = "sha256:33c6e81d7bd55b468d2e793517c909b139960b6c790a60b7991b9b6b76fb9791"},
]
"#;
        let (inventory, _) = read(Path::new("pdm.lock"), text, None).unwrap();
        assert_eq!(inventory.packages.len(), 1);
        assert_eq!(
            inventory.packages[0].checksum.as_deref(),
            Some("33c6e81d7bd55b468d2e793517c909b139960b6c790a60b7991b9b6b76fb9791")
        );
        assert!(inventory.fallback_reason.is_some());
    }
}
