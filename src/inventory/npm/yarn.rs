//! `yarn.lock`: classic (v1, yarn's own syntax) and Berry (v2+, YAML with
//! `__metadata`). Neither records dev dependencies: those come from the
//! workspace manifests and the graph.
//!
//! Each entry lists the descriptors (`name@range`) it satisfies, and a
//! dependency `name@range` is the entry whose key lists that descriptor.
//! The members are the root `package.json` and its workspaces' (classic:
//! from the `workspaces` globs, not in the lock at all; Berry: the
//! `@workspace:` entries); without them kinds are unknown, never guessed.

mod berry;
mod classic;
pub(super) mod locked;
#[cfg(test)]
mod tests;

use super::manifest::{parse_package_json, workspace_dirs, Manifests, PackageJson};
use crate::error::ScanError;
use crate::inventory::lock::UncheckedRequirement;
use crate::inventory::{EdgeKind, Inventory, PackageSource};
use locked::{split_descriptor, Dependency, Entry, Locked};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Why kinds are unknown when no manifest says what is dev.
const NO_MANIFEST: &str = "yarn.lock records no dev dependencies and the package.json beside it was not read: dependency kinds unknown";

/// The inventory, what cannot be checked, and the manifests read.
pub(super) fn read(
    path: &Path,
    text: &str,
    manifests: &dyn Manifests,
) -> Result<(Inventory, Vec<UncheckedRequirement>, Vec<PathBuf>), ScanError> {
    let berry = berry::is_berry(text);
    let (mut entries, unchecked) = if berry {
        berry::parse(path, text)?
    } else {
        classic::parse(path, text)?
    };
    let mut read = Vec::new();
    let root = read_manifest(manifests, "", &mut read)?;
    let classified = root.is_some();
    if berry {
        apply_berry_manifests(manifests, root.as_ref(), &mut entries, &mut read)?;
    } else if let Some(root) = &root {
        add_classic_members(path, manifests, root, &mut entries, &mut read)?;
    }
    resolve_edges(&mut entries, berry);
    let packages = entries.into_iter().map(|entry| entry.locked).collect();
    let inventory = locked::build(path, packages, (!classified).then_some(NO_MANIFEST));
    Ok((inventory, unchecked, read))
}

/// The manifest in `dir`, parsed, its path recorded in `read`.
fn read_manifest(
    manifests: &dyn Manifests,
    dir: &str,
    read: &mut Vec<PathBuf>,
) -> Result<Option<PackageJson>, ScanError> {
    let relative = if dir == "." { "" } else { dir };
    let Some((path, text)) = manifests.read(relative)? else {
        return Ok(None);
    };
    let manifest = parse_package_json(&path, &text)?;
    read.push(path);
    Ok(Some(manifest))
}

/// Berry lists the members and all their dependencies: their manifests
/// tell which are dev-only, and give their versions.
fn apply_berry_manifests(
    manifests: &dyn Manifests,
    root: Option<&PackageJson>,
    entries: &mut [Entry],
    read: &mut Vec<PathBuf>,
) -> Result<(), ScanError> {
    let Some(root) = root else {
        return Ok(());
    };
    for entry in entries.iter_mut() {
        let Some(dir) = entry.workspace.clone() else {
            continue;
        };
        let manifest = if dir == "." {
            Some(root.clone())
        } else {
            read_manifest(manifests, &dir, read)?
        };
        let Some(manifest) = manifest else {
            continue;
        };
        if let Some(version) = &manifest.version {
            entry.locked.version = version.clone();
        }
        for dep in &mut entry.deps {
            if dep.kind == EdgeKind::Normal && manifest.is_dev_only(&dep.name) {
                dep.kind = EdgeKind::Dev;
            }
        }
    }
    Ok(())
}

/// Classic locks leave the project out: its root and workspace members
/// are added from their manifests, with their declared dependencies.
fn add_classic_members(
    path: &Path,
    manifests: &dyn Manifests,
    root: &PackageJson,
    entries: &mut Vec<Entry>,
    read: &mut Vec<PathBuf>,
) -> Result<(), ScanError> {
    let mut members = vec![(".".to_string(), root.clone())];
    for dir in workspace_dirs(manifests, &root.workspaces)? {
        if dir == "." {
            continue;
        }
        if let Some(manifest) = read_manifest(manifests, &dir, read)? {
            members.push((dir, manifest));
        }
    }
    for (dir, manifest) in members {
        let name = manifest
            .name
            .clone()
            .or_else(|| locked::directory_name(path, &dir))
            .unwrap_or_else(|| "project".to_string());
        let mut member = Locked::new(
            &name,
            manifest.version.as_deref().unwrap_or(""),
            PackageSource::Path {
                relative: Some(dir.clone()),
            },
        );
        member.member = true;
        let lists = [
            (&manifest.dependencies, EdgeKind::Normal),
            (&manifest.optional_dependencies, EdgeKind::Optional),
            (&manifest.peer_dependencies, EdgeKind::Peer),
            (&manifest.dev_dependencies, EdgeKind::Dev),
        ];
        let mut deps = Vec::new();
        for (list, kind) in lists {
            for (dep, range) in list {
                // A dev dependency also declared as shipped ships.
                if kind == EdgeKind::Dev && !manifest.is_dev_only(dep) {
                    continue;
                }
                deps.push(Dependency {
                    name: dep.clone(),
                    range: range.clone(),
                    kind,
                });
            }
        }
        entries.push(Entry {
            descriptors: Vec::new(),
            locked: member,
            deps,
            workspace: Some(dir),
        });
    }
    Ok(())
}

/// Each dependency to the entry whose key lists its descriptor; else to
/// the member of that name (a classic workspace), else to every entry
/// locked under that name (a `resolutions` override, a path the lock
/// spells differently). Peers are only ever exact: the dependent provides
/// them.
fn resolve_edges(entries: &mut [Entry], berry: bool) {
    let mut by_descriptor: HashMap<&str, usize> = HashMap::new();
    let mut by_name: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut members: HashMap<&str, usize> = HashMap::new();
    for (index, entry) in entries.iter().enumerate() {
        for descriptor in &entry.descriptors {
            by_descriptor.entry(descriptor.as_str()).or_insert(index);
            if let Some((name, _)) = split_descriptor(descriptor) {
                let list = by_name.entry(name).or_default();
                if list.last() != Some(&index) {
                    list.push(index);
                }
            }
        }
        if entry.locked.member {
            members.entry(entry.locked.name.as_str()).or_insert(index);
        }
    }
    let resolved: Vec<Vec<(usize, EdgeKind)>> = entries
        .iter()
        .map(|entry| {
            let mut targets = Vec::new();
            for dep in &entry.deps {
                let candidates = if berry {
                    berry::descriptors_of(&dep.name, &dep.range)
                } else {
                    [Some(format!("{}@{}", dep.name, dep.range)), None]
                };
                let exact = candidates
                    .iter()
                    .flatten()
                    .find_map(|d| by_descriptor.get(d.as_str()).copied());
                if let Some(to) = exact {
                    targets.push((to, dep.kind));
                    continue;
                }
                if dep.kind == EdgeKind::Peer {
                    continue;
                }
                if let Some(&to) = members.get(dep.name.as_str()) {
                    targets.push((to, dep.kind));
                    continue;
                }
                for &to in by_name.get(dep.name.as_str()).into_iter().flatten() {
                    targets.push((to, dep.kind));
                }
            }
            targets
        })
        .collect();
    for (entry, targets) in entries.iter_mut().zip(resolved) {
        entry.locked.deps = targets;
    }
}
