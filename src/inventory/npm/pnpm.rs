//! `pnpm-lock.yaml`, lockfileVersion 5.x, 6 and 9.
//!
//! The project's own packages are the `importers` (or, in a lock of one
//! project, the top-level `dependencies`, `devDependencies`,
//! `optionalDependencies`); `link:` versions point at other importers or
//! at local directories. Packages are the `packages:` entries; in 9.x
//! those hold only metadata and the graph is in `snapshots:`, one per set
//! of peers. A package locked with several sets of peers is one package.
//! Kinds: 5.x and 6 set `dev: true|false` per package, authoritative;
//! where it is absent, and in 9.x, the graph from the importers decides.

mod keys;
#[cfg(test)]
mod tests;

use super::yarn::locked::{
    self, join_relative, npm_registry, source_of_url, yaml_error, Locked, Text,
};
use crate::error::ScanError;
use crate::inventory::lock::{UncheckedReason, UncheckedRequirement};
use crate::inventory::{ContentHash, EdgeKind, Inventory, LockLines, PackageSource};
use keys::Era;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

type Deps = BTreeMap<String, Text>;

#[derive(serde::Deserialize)]
struct RawLock {
    #[serde(rename = "lockfileVersion")]
    lockfile_version: Option<Text>,
    #[serde(default)]
    importers: BTreeMap<String, Option<RawImporter>>,
    /// A lock of one project (before 9.x): its dependencies at the top.
    #[serde(default)]
    dependencies: BTreeMap<String, ImporterDep>,
    #[serde(default, rename = "devDependencies")]
    dev_dependencies: BTreeMap<String, ImporterDep>,
    #[serde(default, rename = "optionalDependencies")]
    optional_dependencies: BTreeMap<String, ImporterDep>,
    #[serde(default)]
    packages: HashMap<String, Option<RawPackage>>,
    #[serde(default)]
    snapshots: HashMap<String, Option<RawSnapshot>>,
}

#[derive(serde::Deserialize, Default)]
struct RawImporter {
    #[serde(default)]
    dependencies: BTreeMap<String, ImporterDep>,
    #[serde(default, rename = "devDependencies")]
    dev_dependencies: BTreeMap<String, ImporterDep>,
    #[serde(default, rename = "optionalDependencies")]
    optional_dependencies: BTreeMap<String, ImporterDep>,
}

/// `version` (5.x) or `{specifier, version}` (5.4 inline specifiers, 6, 9).
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum ImporterDep {
    Inline { version: Text },
    Plain(Text),
}

impl ImporterDep {
    fn reference(&self) -> &str {
        match self {
            ImporterDep::Inline { version } | ImporterDep::Plain(version) => &version.0,
        }
    }
}

#[derive(serde::Deserialize, Default)]
struct RawPackage {
    resolution: Option<Resolution>,
    name: Option<String>,
    version: Option<Text>,
    dev: Option<bool>,
    #[serde(default)]
    dependencies: Deps,
    #[serde(default, rename = "optionalDependencies")]
    optional_dependencies: Deps,
    #[serde(default, rename = "peerDependencies")]
    peer_dependencies: Deps,
}

#[derive(serde::Deserialize, Default)]
struct RawSnapshot {
    #[serde(default)]
    dependencies: Deps,
    #[serde(default, rename = "optionalDependencies")]
    optional_dependencies: Deps,
}

#[derive(serde::Deserialize, Default)]
struct Resolution {
    integrity: Option<String>,
    tarball: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    repo: Option<String>,
    commit: Option<String>,
    directory: Option<String>,
}

/// The inventory, what cannot be checked, and the manifests read (none:
/// pnpm's lock records dev dependencies itself).
pub(super) fn read(
    path: &Path,
    text: &str,
) -> Result<(Inventory, Vec<UncheckedRequirement>, Vec<PathBuf>), ScanError> {
    let lock: RawLock =
        serde_norway::from_str(text).map_err(|e| yaml_error(path, "pnpm-lock.yaml", &e))?;
    let version = lock.lockfile_version.as_ref().map(|v| v.0.clone());
    let era = version
        .as_deref()
        .and_then(Era::of)
        .ok_or_else(|| ScanError::BadInputAt {
            path: path.to_path_buf(),
            line: top_level_line(text, "lockfileVersion").map_or(1, |l| l + 1),
            column: None,
            message: match &version {
                Some(version) => format!(
                    "pnpm-lock.yaml lockfileVersion `{version}` is not one secgate reads (5.x, 6.x and 9.0: pnpm 5 to 10)"
                ),
                None => "pnpm-lock.yaml has no lockfileVersion".to_string(),
            },
        })?;
    let mut reader = Reader {
        path,
        era,
        entries: Vec::new(),
        by_key: HashMap::new(),
        unchecked: Vec::new(),
    };
    reader.packages(text, &lock)?;
    reader.importers(text, lock)?;
    let inventory = locked::build(path, reader.entries, None);
    let mut unchecked = reader.unchecked;
    unchecked.sort();
    Ok((inventory, unchecked, Vec::new()))
}

/// The 0-based line of a top-level key.
fn top_level_line(text: &str, key: &str) -> Option<usize> {
    text.lines().position(|line| {
        line.strip_prefix(key)
            .is_some_and(|rest| rest.starts_with(':'))
    })
}

struct Reader<'a> {
    path: &'a Path,
    era: Era,
    entries: Vec<Locked>,
    /// The key (`packages:` before 9.x, `snapshots:` in 9.x) of each entry.
    by_key: HashMap<String, usize>,
    unchecked: Vec<UncheckedRequirement>,
}

impl Reader<'_> {
    /// Every package, then the edges between them.
    fn packages(&mut self, text: &str, lock: &RawLock) -> Result<(), ScanError> {
        let lines = top_level_line(text, "packages")
            .map(|at| locked::key_lines(text, at + 1, 2))
            .unwrap_or_default();
        let mut keyed: Vec<(&String, Option<&RawPackage>, Option<LockLines>)> = lock
            .packages
            .iter()
            .map(|(key, raw)| (key, raw.as_ref(), lines.get(key).copied()))
            .collect();
        keyed.sort_by_key(|(key, _, at)| (at.map(|l| l.start), key.as_str()));
        // Before 9.x the graph is in `packages:`; in 9.x, `snapshots:`.
        let mut graph: Vec<(usize, &Deps, &Deps, &Deps)> = Vec::new();
        let mut by_package_key: HashMap<&str, usize> = HashMap::new();
        for (key, raw, at) in keyed {
            let Some(raw) = raw else {
                self.unreadable(at.map_or(1, |l| l.start), key);
                continue;
            };
            let Some(package) = self.package(key, raw, at) else {
                continue;
            };
            let index = self.entries.len();
            self.entries.push(package);
            by_package_key.insert(key.as_str(), index);
            if self.era != Era::V9 {
                self.by_key.insert(key.clone(), index);
                graph.push((
                    index,
                    &raw.dependencies,
                    &raw.optional_dependencies,
                    &raw.peer_dependencies,
                ));
            }
        }
        let no_peers = Deps::new();
        if self.era == Era::V9 {
            let mut snapshots: Vec<(&String, Option<&RawSnapshot>)> = lock
                .snapshots
                .iter()
                .map(|(key, raw)| (key, raw.as_ref()))
                .collect();
            snapshots.sort_by(|a, b| a.0.cmp(b.0));
            let snapshot_lines = top_level_line(text, "snapshots")
                .map(|at| locked::key_lines(text, at + 1, 2))
                .unwrap_or_default();
            let mut snapshot_deps = Vec::new();
            for (key, raw) in snapshots {
                let base = keys::without_peers(self.era, key);
                let Some(&index) = by_package_key.get(base) else {
                    // An unreadable package was reported with its entry; a
                    // snapshot of no package at all (nothing locks it) here.
                    if !lock.packages.contains_key(base) {
                        let line = snapshot_lines.get(key).map_or(1, |l| l.start);
                        self.unreadable(line, key);
                    }
                    continue;
                };
                self.by_key.insert(key.clone(), index);
                if let Some(raw) = raw {
                    let peers = lock
                        .packages
                        .get(base)
                        .and_then(Option::as_ref)
                        .map_or(&no_peers, |p| &p.peer_dependencies);
                    snapshot_deps.push((
                        index,
                        &raw.dependencies,
                        &raw.optional_dependencies,
                        peers,
                    ));
                }
            }
            graph = snapshot_deps;
        }
        for (from, dependencies, optional, peers) in graph {
            let mut deps = Vec::new();
            for (name, reference) in dependencies {
                let kind = if peers.contains_key(name) {
                    EdgeKind::Peer
                } else {
                    EdgeKind::Normal
                };
                deps.extend(self.target(name, &reference.0).map(|to| (to, kind)));
            }
            for (name, reference) in optional {
                deps.extend(
                    self.target(name, &reference.0)
                        .map(|to| (to, EdgeKind::Optional)),
                );
            }
            self.entries[from].deps.extend(deps);
        }
        Ok(())
    }

    /// The package a `packages:` entry locks; `None` (and why, in
    /// `unchecked`) when it is not one secgate can read.
    fn package(&mut self, key: &str, raw: &RawPackage, at: Option<LockLines>) -> Option<Locked> {
        let line = at.map_or(1, |l| l.start);
        let from_key = keys::name_and_version(self.era, key);
        let name = raw
            .name
            .clone()
            .or_else(|| from_key.as_ref().map(|(name, _)| name.clone()));
        let version = raw
            .version
            .as_ref()
            .map(|v| v.0.clone())
            .or_else(|| from_key.as_ref().map(|(_, version)| version.clone()))
            .filter(|v| !v.contains(':'))
            .unwrap_or_default();
        let Some(name) = name else {
            self.unreadable(line, key);
            return None;
        };
        let resolution = raw.resolution.as_ref();
        let (source, reason) = match resolution {
            Some(Resolution {
                kind: Some(kind),
                repo: Some(repo),
                commit,
                ..
            }) if kind == "git" => (
                PackageSource::Git {
                    url: locked::redact(repo),
                    reference: None,
                    rev: commit.clone().unwrap_or_default(),
                },
                Some(UncheckedReason::Url),
            ),
            Some(Resolution {
                directory: Some(directory),
                ..
            }) => (
                PackageSource::Path {
                    relative: Some(join_relative("", directory).unwrap_or(directory.clone())),
                },
                Some(UncheckedReason::LocalPath),
            ),
            Some(Resolution {
                tarball: Some(tarball),
                ..
            }) => source_of_url(&name, tarball),
            Some(Resolution {
                integrity: Some(_), ..
            }) => (npm_registry(), None),
            _ => {
                self.unreadable(line, key);
                return None;
            }
        };
        match reason {
            Some(reason) => {
                let written =
                    match resolution.and_then(|r| r.tarball.as_deref().or(r.repo.as_deref())) {
                        Some(url) if !key.contains(url) => format!("{key} ({url})"),
                        _ => key.to_string(),
                    };
                self.unchecked
                    .push(locked::unchecked(self.path, line, &written, reason));
            }
            None if semver::Version::parse(&version).is_err() => {
                self.unchecked.push(locked::unchecked(
                    self.path,
                    line,
                    &format!("{name}@{version}"),
                    UncheckedReason::InvalidVersion,
                ));
                return None;
            }
            None => {}
        }
        Some(Locked {
            hashes: resolution
                .and_then(|r| r.integrity.as_deref())
                .map(ContentHash::from_integrity)
                .unwrap_or_default(),
            lines: at,
            dev: raw.dev,
            ..Locked::new(&name, &version, source)
        })
    }

    fn unreadable(&mut self, line: u32, key: &str) {
        self.unchecked.push(locked::unchecked(
            self.path,
            line,
            key,
            UncheckedReason::Unreadable,
        ));
    }

    /// The entry a dependency `name: reference` names, if the lock has it.
    fn target(&self, name: &str, reference: &str) -> Option<usize> {
        keys::candidates(self.era, name, reference)
            .iter()
            .filter(|key| !key.is_empty())
            .find_map(|key| self.by_key.get(key.as_str()).copied())
    }

    /// The importers as members, with their edges; `link:` to a directory
    /// that is no importer is a local package of its own.
    fn importers(&mut self, text: &str, lock: RawLock) -> Result<(), ScanError> {
        let lines = top_level_line(text, "importers")
            .map(|at| locked::key_lines(text, at + 1, 2))
            .unwrap_or_default();
        let mut importers: Vec<(String, RawImporter)> = lock
            .importers
            .into_iter()
            .map(|(dir, raw)| {
                (
                    join_relative("", &dir).unwrap_or(dir),
                    raw.unwrap_or_default(),
                )
            })
            .collect();
        let single = RawImporter {
            dependencies: lock.dependencies,
            dev_dependencies: lock.dev_dependencies,
            optional_dependencies: lock.optional_dependencies,
        };
        let has_single = !(single.dependencies.is_empty()
            && single.dev_dependencies.is_empty()
            && single.optional_dependencies.is_empty());
        if importers.is_empty() && (has_single || !self.entries.is_empty()) {
            importers.push((".".to_string(), single));
        }
        // Members are named by the `link:` dependencies on them, else by
        // their directory.
        let mut names: HashMap<String, String> = HashMap::new();
        for (dir, raw) in &importers {
            for (name, dep) in all_deps(raw) {
                if let Some(target) = dep.reference().strip_prefix("link:") {
                    if let Some(target) = join_relative(dir, target) {
                        names.entry(target).or_insert_with(|| name.clone());
                    }
                }
            }
        }
        let mut member_index: HashMap<String, usize> = HashMap::new();
        for (dir, _) in &importers {
            let name = names
                .get(dir)
                .cloned()
                .or_else(|| locked::directory_name(self.path, dir))
                .unwrap_or_else(|| "project".to_string());
            let mut member = Locked::new(
                &name,
                "",
                PackageSource::Path {
                    relative: Some(dir.clone()),
                },
            );
            member.member = true;
            member_index.insert(dir.clone(), self.entries.len());
            self.entries.push(member);
        }
        for (dir, raw) in &importers {
            let from = member_index[dir];
            let line = lines
                .get(dir)
                .or_else(|| lines.get(&format!("./{dir}")))
                .map_or(1, |l| l.start);
            let lists = [
                (&raw.dependencies, EdgeKind::Normal),
                (&raw.optional_dependencies, EdgeKind::Optional),
                (&raw.dev_dependencies, EdgeKind::Dev),
            ];
            let mut deps = Vec::new();
            for (list, kind) in lists {
                for (name, dep) in list {
                    let reference = dep.reference();
                    if let Some(target) = reference.strip_prefix("link:") {
                        let target_dir = join_relative(dir, target);
                        match target_dir.as_ref().and_then(|t| member_index.get(t)) {
                            Some(&to) => deps.push((to, kind)),
                            None => {
                                deps.push((self.entries.len(), kind));
                                self.local_link(name, target_dir, reference, line);
                            }
                        }
                        continue;
                    }
                    match self.target(name, reference) {
                        Some(to) => deps.push((to, kind)),
                        None => self.unchecked.push(locked::unchecked(
                            self.path,
                            line,
                            &format!("{name}@{reference}"),
                            UncheckedReason::Unreadable,
                        )),
                    }
                }
            }
            self.entries[from].deps.extend(deps);
        }
        Ok(())
    }

    /// A `link:` to a directory no importer is: a local package, unchecked.
    fn local_link(&mut self, name: &str, dir: Option<String>, reference: &str, line: u32) {
        let mut package = Locked::new(
            name,
            "",
            PackageSource::Path {
                relative: dir.clone(),
            },
        );
        package.lines = Some(LockLines {
            start: line,
            end: line,
        });
        self.entries.push(package);
        self.unchecked.push(locked::unchecked(
            self.path,
            line,
            &format!("{name}@{reference}"),
            UncheckedReason::LocalPath,
        ));
    }
}

fn all_deps(raw: &RawImporter) -> impl Iterator<Item = (&String, &ImporterDep)> {
    raw.dependencies
        .iter()
        .chain(&raw.optional_dependencies)
        .chain(&raw.dev_dependencies)
}
