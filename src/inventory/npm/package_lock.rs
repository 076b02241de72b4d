//! `package-lock.json` and `npm-shrinkwrap.json`, lockfileVersion 1, 2
//! and 3 (and npm 2–4 shrinkwraps, which have no lockfileVersion: read as
//! 1). Versions 2 and 3 are read from `packages`, keyed by install path
//! (`""` the root, `node_modules/a/node_modules/b`, `packages/web` a
//! workspace member, linked from `node_modules/web`); version 1 from the
//! nested `dependencies` tree (`v1`).
//!
//! npm's flags decide the kinds: `dev` is dev-only; `optional`,
//! `devOptional` (optional in production on some path) and `peer` are
//! shipped. Edges follow Node's lookup from each package's install path:
//! its own `node_modules/`, then each ancestor's, then the root's.
//!
//! `json` (located JSON members), `origin` (sources from resolutions) and
//! `assemble` (placements to an inventory) serve the bun reader too.

pub(in crate::inventory::npm) mod assemble;
pub(in crate::inventory::npm) mod json;
pub(in crate::inventory::npm) mod origin;
pub(in crate::inventory::npm) mod placed;
mod v1;

#[cfg(test)]
mod tests;

use self::assemble::Placement;
use self::json::{Json, Member, Members, Names, Text};
use self::origin::Origin;
pub(in crate::inventory::npm) use self::placed::split_at_version;
use self::placed::{kind, member, node_lookup, requirement, Lock, Locked, Project};
use crate::error::ScanError;
use crate::inventory::lock::UncheckedRequirement;
use crate::inventory::{EdgeKind, Inventory, LockLines};
use serde_json::value::RawValue;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The inventory, what cannot be checked, and the manifests read (none:
/// the lock says all).
pub(super) fn read(
    path: &Path,
    text: &str,
) -> Result<(Inventory, Vec<UncheckedRequirement>, Vec<PathBuf>), ScanError> {
    let format = match path.file_name().and_then(|n| n.to_str()) {
        Some("npm-shrinkwrap.json") => "npm-shrinkwrap.json",
        _ => "package-lock.json",
    };
    let json = Json::new(path, text, format);
    let top: Members = json.parse(text, &"the document")?;
    let mut lockfile_version = None;
    let mut project = Project {
        name: None,
        version: None,
    };
    let (mut packages, mut dependencies) = (None, None);
    for (key, raw) in &top.0 {
        match &**key {
            "lockfileVersion" => lockfile_version = Some(*raw),
            "name" => project.name = json.parse(raw.get(), &"name")?,
            "version" => project.version = json.parse(raw.get(), &"version")?,
            "packages" => packages = Some(*raw),
            "dependencies" => dependencies = Some(*raw),
            _ => {}
        }
    }
    // npm 2 to 4 wrote shrinkwraps without a lockfileVersion, in the
    // shape of version 1.
    let format_version = match lockfile_version {
        None => 1,
        Some(raw) => match json
            .parse::<serde_json::Value>(raw.get(), &"lockfileVersion")?
            .as_u64()
        {
            Some(known @ 1..=3) => known,
            _ => {
                return Err(json.error_at(
                    raw.get(),
                    format!(
                        "lockfileVersion {} is not one secgate reads (1, 2 or 3)",
                        crate::text::one_line(raw.get())
                    ),
                ))
            }
        },
    };
    let lock = match (format_version, packages) {
        (2 | 3, Some(packages)) => from_packages(&json, packages, &project)?,
        _ => v1::read(&json, dependencies, &project)?,
    };
    let (inventory, mut unchecked) = assemble::inventory(path, lock.placements, Some(lock.root));
    unchecked.extend(lock.unreadable);
    unchecked.sort();
    Ok((inventory, unchecked, Vec::new()))
}

/// One entry of `packages` (lockfileVersion 2 and 3).
#[derive(serde::Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Entry<'a> {
    #[serde(borrow)]
    name: Option<Text<'a>>,
    #[serde(borrow)]
    version: Option<Text<'a>>,
    #[serde(borrow)]
    resolved: Option<Text<'a>>,
    #[serde(borrow)]
    integrity: Option<Text<'a>>,
    link: bool,
    dev: bool,
    #[serde(borrow)]
    dependencies: Names<'a>,
    #[serde(borrow)]
    optional_dependencies: Names<'a>,
    #[serde(borrow)]
    peer_dependencies: Names<'a>,
    #[serde(borrow)]
    dev_dependencies: Names<'a>,
    workspaces: Option<serde_json::Value>,
}

/// The placements of `packages`.
fn from_packages<'a>(
    json: &Json<'a>,
    packages: &'a RawValue,
    project: &Project,
) -> Result<Lock, ScanError> {
    let members: Members = json.parse(packages.get(), &"packages")?;
    let mut rows: Vec<(&str, LockLines, Entry)> = Vec::with_capacity(members.0.len());
    let mut first_line: HashMap<&str, u32> = HashMap::with_capacity(members.0.len());
    for (key, raw) in &members.0 {
        let key: &str = key;
        let lines = json.member_lines(raw);
        if let Some(first) = first_line.insert(key, lines.start) {
            return Err(json.error_at(
                raw.get(),
                format!("packages lists \"{key}\" twice (first at line {first})"),
            ));
        }
        let entry: Entry = json.parse(raw.get(), &Member("packages", key))?;
        rows.push((key, lines, entry));
    }
    let workspaces = rows
        .iter()
        .find(|(key, ..)| key.is_empty())
        .and_then(|(_, _, root)| root.workspaces.as_ref())
        .map_or_else(globset::GlobSet::empty, workspace_globs);

    let mut lock = Lock {
        placements: Vec::with_capacity(rows.len() + 1),
        root: 0,
        unreadable: Vec::new(),
    };
    // Install path → placement, and each placement's row.
    let mut at_path: HashMap<&str, usize> = HashMap::with_capacity(rows.len());
    let mut row_of: Vec<Option<usize>> = Vec::with_capacity(rows.len() + 1);
    let mut root = None;
    for (row, &(key, lines, ref entry)) in rows.iter().enumerate() {
        if entry.link {
            continue;
        }
        let placement = if key.is_empty() {
            let mut placement = project.root(json, entry.name.as_deref(), entry.version.as_deref());
            placement.lines = lines;
            root = Some(lock.placements.len());
            placement
        } else if let Some(alias) = installed_name(key) {
            let locked = Locked {
                alias,
                name: entry.name.as_deref(),
                version: entry.version.as_deref(),
                resolved: entry.resolved.as_deref(),
                integrity: entry.integrity.as_deref(),
                dev: entry.dev,
                lines,
            };
            match locked.place(json.path) {
                Ok(placement) => placement,
                Err(unreadable) => {
                    lock.unreadable.push(unreadable);
                    continue;
                }
            }
        } else {
            // A directory of the project: a workspace member, or the
            // target of a `file:` dependency.
            let name = entry
                .name
                .as_deref()
                .unwrap_or_else(|| key.rsplit('/').next().unwrap_or(key));
            let version = entry.version.as_deref().unwrap_or("");
            if workspaces.is_match(key) {
                member(name, version, key, lines)
            } else {
                local(name, version, key, entry.dev, lines)
            }
        };
        at_path.insert(key, lock.placements.len());
        row_of.push(Some(row));
        lock.placements.push(placement);
    }
    // A lock without a root entry still has a project.
    lock.root = match root {
        Some(root) => root,
        None => {
            row_of.push(None);
            lock.placements.push(project.root(json, None, None));
            lock.placements.len() - 1
        }
    };
    // Links resolve to their target; one whose target the lock does not
    // list is a local package of its own.
    for &(key, lines, ref entry) in rows.iter().filter(|(_, _, entry)| entry.link) {
        let target = link_target(entry.resolved.as_deref().unwrap_or(""));
        if let Some(&placement) = at_path.get(target.as_str()) {
            at_path.insert(key, placement);
            continue;
        }
        let name = entry
            .name
            .as_deref()
            .or_else(|| installed_name(key))
            .unwrap_or(key);
        let version = entry.version.as_deref().unwrap_or("");
        at_path.insert(key, lock.placements.len());
        row_of.push(None);
        lock.placements
            .push(local(name, version, &target, entry.dev, lines));
    }
    let mut buffer = String::new();
    for (placement, row) in row_of.iter().enumerate() {
        let Some(row) = *row else { continue };
        let (key, _, entry) = &rows[row];
        let is_member = lock.placements[placement].member;
        let lists = [
            (&entry.dependencies, EdgeKind::Normal),
            (&entry.optional_dependencies, EdgeKind::Optional),
            (&entry.peer_dependencies, EdgeKind::Peer),
            (&entry.dev_dependencies, EdgeKind::Dev),
        ];
        for (names, kind) in lists {
            // Only the project's own dev dependencies are installed.
            if kind == EdgeKind::Dev && !is_member {
                continue;
            }
            for name in &names.0 {
                let found = node_lookup(key, name, &mut buffer, |path| at_path.get(path).copied());
                if let Some(to) = found {
                    lock.placements[placement].edges.push((to, kind));
                }
            }
        }
    }
    Ok(lock)
}

/// The name a `node_modules` path installs (`@scope/x` of
/// `node_modules/a/node_modules/@scope/x`); `None` for other paths.
fn installed_name(key: &str) -> Option<&str> {
    let start = if key.starts_with("node_modules/") {
        key.rfind("/node_modules/").map_or(0, |at| at + 1)
    } else {
        key.rfind("/node_modules/")? + 1
    };
    let name = &key[start + "node_modules/".len()..];
    (!name.is_empty()).then_some(name)
}

/// A link's `resolved`, as the key of the directory it points to.
fn link_target(resolved: &str) -> String {
    let target = resolved.strip_prefix("file:").unwrap_or(resolved);
    let target = target.replace('\\', "/");
    let mut target = target.as_str();
    while let Some(rest) = target.strip_prefix("./") {
        target = rest;
    }
    target.trim_end_matches('/').to_string()
}

/// The root's `workspaces` (`["packages/*"]`, or yarn's `{"packages": […]}`).
fn workspace_globs(workspaces: &serde_json::Value) -> globset::GlobSet {
    let patterns = match workspaces {
        serde_json::Value::Object(object) => object.get("packages"),
        other => Some(other),
    };
    let mut globs = globset::GlobSetBuilder::new();
    for pattern in patterns
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(serde_json::Value::as_str)
    {
        let pattern = pattern.trim_start_matches("./").trim_end_matches('/');
        let glob = globset::GlobBuilder::new(pattern)
            .literal_separator(true)
            .build();
        // npm skips what it cannot match; so does this.
        if let Ok(glob) = glob {
            globs.add(glob);
        }
    }
    globs.build().unwrap_or_else(|_| globset::GlobSet::empty())
}

/// A package from a directory that is not a workspace member.
fn local(name: &str, version: &str, relative: &str, dev: bool, lines: LockLines) -> Placement {
    let origin = Origin::local(relative);
    Placement {
        unchecked: origin
            .unchecked
            .map(|reason| (reason, requirement(name, &format!("file:{relative}")))),
        member: false,
        kind: Some(kind(dev)),
        ..member(name, version, relative, lines)
    }
}
