//! `uv.lock`: every package with its `source`, `dependencies`,
//! `[package.optional-dependencies]` (extras) and
//! `[package.dev-dependencies]` (groups), and the `sdist`/`wheels` hashes.
//! The project and its workspace members are in the lock too (an
//! `editable` or `virtual` source, or the `[manifest] members`), so the
//! graph starts from them. uv before 0.3 wrote `[[distribution]]`.

use super::graph::{self, Dep, Locked};
use super::syntax::{
    is_pep440, normalize, normalize_extra, pick_checksum, redact, registry, toml_error, Lines,
};
use crate::error::ScanError;
use crate::inventory::lock::{UncheckedReason, UncheckedRequirement};
use crate::inventory::{Inventory, LockLines, PackageSource};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use toml::Spanned;

#[derive(serde::Deserialize)]
struct LockFile {
    #[serde(default, alias = "distribution")]
    package: Vec<Spanned<RawPackage>>,
    manifest: Option<Manifest>,
}

#[derive(serde::Deserialize)]
struct Manifest {
    #[serde(default)]
    members: Vec<String>,
}

#[derive(serde::Deserialize)]
struct RawPackage {
    name: String,
    /// Absent for a project whose version is dynamic.
    version: Option<Spanned<String>>,
    #[serde(default)]
    source: SourceSpec,
    #[serde(default)]
    dependencies: Vec<RawDep>,
    #[serde(default, rename = "optional-dependencies")]
    optional_dependencies: BTreeMap<String, Vec<RawDep>>,
    #[serde(default, rename = "dev-dependencies")]
    dev_dependencies: BTreeMap<String, Vec<RawDep>>,
    sdist: Option<Artifact>,
    #[serde(default)]
    wheels: Vec<Artifact>,
}

/// A table since uv 0.3; before, a string `kind+value`
/// (`"registry+https://pypi.org/simple"`, `"editable+."`).
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum SourceSpec {
    Table(Source),
    Text(String),
}

impl Default for SourceSpec {
    fn default() -> SourceSpec {
        SourceSpec::Table(Source::default())
    }
}

impl SourceSpec {
    fn table(&self) -> Source {
        match self {
            SourceSpec::Table(source) => source.clone(),
            SourceSpec::Text(text) => {
                let (kind, value) = text.split_once('+').unwrap_or((text, ""));
                let value = Some(value.to_string());
                let mut source = Source::default();
                match kind {
                    "registry" => source.registry = value,
                    "git" => source.git = value,
                    "path" => source.path = value,
                    "directory" => source.directory = value,
                    "editable" => source.editable = value,
                    "virtual" => source.virtual_ = value,
                    _ => source.url = Some(text.clone()),
                }
                source
            }
        }
    }
}

/// One of `registry`, `git`, `url`, `path`, `directory`, `editable`, `virtual`.
#[derive(serde::Deserialize, Default, Clone)]
struct Source {
    registry: Option<String>,
    git: Option<String>,
    url: Option<String>,
    path: Option<String>,
    directory: Option<String>,
    editable: Option<String>,
    #[serde(rename = "virtual")]
    virtual_: Option<String>,
}

#[derive(serde::Deserialize)]
struct RawDep {
    name: String,
    /// Given when the name is locked at several versions.
    version: Option<String>,
    marker: Option<String>,
    #[serde(default)]
    extra: Vec<String>,
}

#[derive(serde::Deserialize)]
struct Artifact {
    url: Option<String>,
    path: Option<String>,
    hash: Option<String>,
}

/// The inventory of a `uv.lock`, with what cannot be checked.
pub(super) fn read(
    path: &Path,
    text: &str,
) -> Result<(Inventory, Vec<UncheckedRequirement>), ScanError> {
    let lock: LockFile = toml::from_str(text).map_err(|e| toml_error(path, text, "uv.lock", &e))?;
    let lines = Lines::new(text);
    let named_members: BTreeSet<String> = lock
        .manifest
        .iter()
        .flat_map(|m| &m.members)
        .map(|m| normalize(m))
        .collect();
    let mut packages = Vec::new();
    let mut unchecked = Vec::new();
    for entry in &lock.package {
        let raw = entry.get_ref();
        let start = lines.line_of(entry.span().start) as u32;
        let raw_source = raw.source.table();
        let local = raw_source.editable.is_some() || raw_source.virtual_.is_some();
        let member = if named_members.is_empty() {
            local
        } else {
            named_members.contains(&normalize(&raw.name))
        };
        let version = match &raw.version {
            Some(version) => version,
            // Only the project's own packages may leave it out.
            None if local || raw_source.directory.is_some() || raw_source.path.is_some() => {
                let mut package = Locked::new(&raw.name, "", source(&raw_source));
                package.lines = Some(LockLines { start, end: start });
                package.member = member;
                package.deps = dependencies(raw, package.member);
                packages.push(package);
                continue;
            }
            None => {
                return Err(ScanError::BadInputAt {
                    path: path.to_path_buf(),
                    line: start as usize,
                    column: None,
                    message: format!("package {} has no version", raw.name),
                })
            }
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
        let mut package = Locked::new(&raw.name, version.get_ref(), source(&raw_source));
        package.lines = Some(LockLines {
            start,
            end: version_line.max(start),
        });
        package.member = member;
        let artifacts = raw.sdist.iter().chain(&raw.wheels);
        package.checksum = pick_checksum(
            artifacts
                .filter_map(|a| Some((a.url.as_deref().or(a.path.as_deref()), a.hash.as_deref()?))),
            version.get_ref(),
        );
        package.deps = dependencies(raw, package.member);
        packages.push(package);
    }
    let options = graph::Options {
        strict: true,
        unknown_kinds: "uv.lock lists no project (no editable or virtual package): \
                        dependency kinds unknown",
    };
    let inventory = graph::build(path, packages, None, &options)?;
    Ok((inventory, unchecked))
}

fn source(source: &Source) -> PackageSource {
    if let Some(url) = &source.registry {
        return registry(url);
    }
    if let Some(git) = &source.git {
        // `https://host/repo?rev=main#<commit>`
        let (location, rev) = git.split_once('#').unwrap_or((git, ""));
        let (url, reference) = match location.split_once('?') {
            Some((url, query)) => (url, Some(query.to_string())),
            None => (location, None),
        };
        return PackageSource::Git {
            url: redact(url),
            reference,
            rev: rev.to_string(),
        };
    }
    let local = [
        &source.editable,
        &source.virtual_,
        &source.directory,
        &source.path,
    ];
    if let Some(relative) = local.into_iter().flatten().next() {
        return PackageSource::Path {
            relative: Some(relative.clone()),
        };
    }
    PackageSource::Other {
        repr: redact(source.url.as_deref().unwrap_or("unknown source")),
    }
}

/// `dependencies` always; each extra's only when asked for (a member's
/// always: its extras ship); a member's dev groups as dev edges.
fn dependencies(raw: &RawPackage, member: bool) -> Vec<Dep> {
    let dep = |d: &RawDep| Dep {
        version: d.version.clone(),
        marker: d.marker.clone(),
        extras: d.extra.iter().map(|e| normalize_extra(e)).collect(),
        ..Dep::on(&d.name)
    };
    let mut deps: Vec<Dep> = raw.dependencies.iter().map(dep).collect();
    for (extra, list) in &raw.optional_dependencies {
        deps.extend(list.iter().map(|d| Dep {
            for_extra: Some(normalize_extra(extra)),
            ..dep(d)
        }));
    }
    if member {
        for list in raw.dev_dependencies.values() {
            deps.extend(list.iter().map(|d| Dep {
                dev: true,
                ..dep(d)
            }));
        }
    }
    deps
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::DependencyKind;

    fn fixture(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/python")
            .join(name)
    }

    fn load(name: &str) -> Inventory {
        let path = fixture(name);
        let text = std::fs::read_to_string(&path).unwrap();
        let (inventory, unchecked) = read(&path, &text).unwrap();
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
    fn real_lock_of_a_virtual_project_with_a_dev_group() {
        let inventory = load("uv-polars/uv.lock");
        let project = inventory.find("test-pkg", None).unwrap();
        assert_eq!(inventory.workspace_members, [project]);
        assert_eq!(inventory.root, Some(project));
        assert_eq!(
            inventory.packages[project].source,
            PackageSource::Path {
                relative: Some(".".to_string())
            }
        );
        use DependencyKind::*;
        assert_eq!(kind(&inventory, "polars"), Some(Normal));
        assert_eq!(kind(&inventory, "pytest"), Some(DevOnly));
        assert_eq!(kind(&inventory, "pluggy"), Some(DevOnly));
        let colorama = &inventory.packages[inventory.find("colorama", None).unwrap()];
        assert_eq!(colorama.kind, Some(DevOnly));
        assert_eq!(
            colorama.platform_only,
            Some(vec!["sys_platform == 'win32'".to_string()])
        );
        let polars = &inventory.packages[inventory.find("polars", None).unwrap()];
        assert_eq!(polars.version, "1.32.3");
        assert_eq!(polars.lines, Some(LockLines { start: 41, end: 43 }));
        assert_eq!(
            polars.checksum.as_deref(),
            Some("57c500dc1b5cba49b0589034478db031815f3d57a20cb830b05ecee1a9ba56b1")
        );
        assert!(polars.source.is_public_registry());
        assert!(inventory.fallback_reason.is_none());
    }

    #[test]
    fn workspace_members_extras_git_and_several_versions() {
        let inventory = load("uv-workspace/uv.lock");
        let members: Vec<&str> = inventory
            .workspace_members
            .iter()
            .map(|&i| inventory.packages[i].name.as_str())
            .collect();
        assert_eq!(members, ["api", "shared"]);
        assert_eq!(inventory.root, None);
        use DependencyKind::*;
        assert_eq!(kind(&inventory, "requests"), Some(Normal));
        // Asked for with requests[socks] by the api member.
        assert_eq!(kind(&inventory, "pysocks"), Some(Normal));
        assert_eq!(kind(&inventory, "ruff"), Some(DevOnly));
        let numpy: Vec<(&str, Option<Vec<String>>)> = inventory
            .packages
            .iter()
            .filter(|p| p.name == "numpy")
            .map(|p| (p.version.as_str(), p.platform_only.clone()))
            .collect();
        assert_eq!(
            numpy,
            [
                (
                    "1.24.4",
                    Some(vec!["python_full_version < '3.9'".to_string()])
                ),
                (
                    "2.0.2",
                    Some(vec!["python_full_version >= '3.9'".to_string()])
                ),
            ]
        );
        let git = &inventory.packages[inventory.find("gitdep", None).unwrap()];
        assert_eq!(
            git.source,
            PackageSource::Git {
                url: "https://github.com/example/gitdep".to_string(),
                reference: Some("rev=v1.0".to_string()),
                rev: "1111111111111111111111111111111111111111".to_string()
            }
        );
        let shared = inventory.find("shared", None).unwrap();
        assert_eq!(inventory.packages[shared].version, "");
    }

    #[test]
    fn missing_dependencies_and_versions_are_errors_at_their_package() {
        let path = Path::new("uv.lock");
        let text = "version = 1\n\n[[package]]\nname = \"a\"\nversion = \"1.0\"\nsource = { registry = \"https://pypi.org/simple\" }\ndependencies = [{ name = \"b\" }]\n";
        let error = read(path, text).unwrap_err().to_string();
        assert_eq!(
            error,
            "uv.lock:3: package a 1.0 depends on `b`, which is not in the lock file"
        );
        let error = read(
            path,
            "[[package]]\nname = \"a\"\nsource = { registry = \"x\" }\n",
        )
        .unwrap_err()
        .to_string();
        assert_eq!(error, "uv.lock:1: package a has no version");
        let error = read(path, "version = 1\n[[package]]\nname = 7\n")
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("uv.lock:3:8: not a valid uv.lock"),
            "{error}"
        );
    }

    #[test]
    fn uv_0_2_distribution_tables_and_string_sources_are_read() {
        let text = "version = 1\n[[distribution]]\nname = \"Flask\"\nversion = \"2.0.0\"\nsource = \"registry+https://pypi.org/simple\"\n\n[[distribution]]\nname = \"app\"\nversion = \"0.1.0\"\nsource = \"editable+.\"\ndependencies = [{ name = \"flask\", version = \"2.0.0\", source = \"registry+https://pypi.org/simple\" }]\n";
        let (inventory, _) = read(Path::new("uv.lock"), text).unwrap();
        let flask = &inventory.packages[inventory.find("flask", None).unwrap()];
        assert!(flask.source.is_public_registry());
        assert_eq!(flask.kind, Some(DependencyKind::Normal));
        let app = inventory.find("app", None).unwrap();
        assert_eq!(inventory.workspace_members, [app]);
    }
}
