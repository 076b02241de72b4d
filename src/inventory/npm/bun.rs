//! bun's text lock, `bun.lock` (bun 1.1.39 and later; lockfileVersion 0,
//! 1 and 2): JSON with trailing commas. `workspaces` holds the project's
//! own packages by directory (`""` the root) with the dependencies their
//! manifests declare; `packages` one array per installed package, keyed by
//! the name it is installed under, nested copies by their path of names
//! (`parent/child`, `@scope/a/b`):
//!
//! - registry: `["name@1.0.0", registry or "", {info}, "sha512-…"]`;
//! - tarball URL or local tarball: `["name@https://…/x.tgz", {info}, "sha512-…"]`;
//! - git: `["name@git+https://…#sha", {info}, "tag"]` (and `github:…`);
//! - `file:` directory and `link:`: `["name@file:path", {info}]`;
//! - workspace member: `["name@workspace:path"]`.
//!
//! An alias is keyed by the alias, its first element names the real
//! package. The lock has no dev flags: kinds come from the graph below the
//! members' `devDependencies`.

#[cfg(test)]
mod tests;

use super::package_lock::assemble::{self, Placement};
use super::package_lock::json::{Json, Member, Members, Names, Text};
use super::package_lock::origin::{self, Origin, NPM_REGISTRY};
use super::package_lock::placed::member;
use super::package_lock::split_at_version;
use crate::error::ScanError;
use crate::inventory::lock::{UncheckedReason, UncheckedRequirement};
use crate::inventory::{ContentHash, EdgeKind, Inventory, LockLines, PackageSource};
use serde_json::value::RawValue;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The inventory, what cannot be checked, and the manifests read (none).
pub(super) fn read(
    path: &Path,
    text: &str,
) -> Result<(Inventory, Vec<UncheckedRequirement>, Vec<PathBuf>), ScanError> {
    let cleaned = as_json(text);
    let json = Json::new(path, &cleaned, "bun.lock");
    let top: Members = json.parse(&cleaned, &"the document")?;
    let mut lockfile_version = None;
    let (mut workspaces, mut packages) = (None, None);
    for (key, raw) in &top.0 {
        match &**key {
            "lockfileVersion" => lockfile_version = Some(*raw),
            "workspaces" => workspaces = Some(*raw),
            "packages" => packages = Some(*raw),
            _ => {}
        }
    }
    let Some(lockfile_version) = lockfile_version else {
        return Err(ScanError::BadInput {
            path: path.to_path_buf(),
            message: "not a valid bun.lock: no lockfileVersion".to_string(),
        });
    };
    let version: serde_json::Value = json.parse(lockfile_version.get(), &"lockfileVersion")?;
    if !matches!(version.as_u64(), Some(0..=2)) {
        return Err(json.error_at(
            lockfile_version.get(),
            format!(
                "bun.lock lockfileVersion {} is not one secgate reads (0, 1 or 2)",
                crate::text::one_line(lockfile_version.get())
            ),
        ));
    }

    let mut lock = Lock::default();
    if let Some(workspaces) = workspaces {
        lock.read_workspaces(&json, workspaces)?;
    }
    if let Some(packages) = packages {
        lock.read_packages(&json, packages)?;
    }
    if lock.root.is_none() {
        let name = directory_name(path);
        lock.root = Some(lock.add_member(&name, "", ".", LockLines { start: 1, end: 1 }));
    }
    lock.link();
    let (mut inventory, mut unchecked) = assemble::inventory(path, lock.placements, lock.root);
    inventory.finish();
    unchecked.extend(lock.unreadable);
    unchecked.sort();
    Ok((inventory, unchecked, Vec::new()))
}

/// What a workspace entry (a member's manifest) declares.
#[derive(serde::Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Workspace<'a> {
    name: Option<String>,
    version: Option<String>,
    #[serde(borrow)]
    dependencies: Names<'a>,
    #[serde(borrow)]
    dev_dependencies: Names<'a>,
    #[serde(borrow)]
    optional_dependencies: Names<'a>,
    #[serde(borrow)]
    peer_dependencies: Names<'a>,
}

/// The dependencies of an installed package.
#[derive(serde::Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Info<'a> {
    #[serde(borrow)]
    dependencies: Names<'a>,
    #[serde(borrow)]
    optional_dependencies: Names<'a>,
    #[serde(borrow)]
    peer_dependencies: Names<'a>,
}

/// A placement with dependencies to resolve.
struct Dependent<'a> {
    placement: usize,
    /// The key its dependencies are looked up from.
    key: Text<'a>,
    names: Vec<(Names<'a>, EdgeKind)>,
}

#[derive(Default)]
struct Lock<'a> {
    placements: Vec<Placement>,
    root: Option<usize>,
    /// Member placements by directory.
    member_at: HashMap<String, usize>,
    /// `packages` key → placement.
    at_key: HashMap<Text<'a>, usize>,
    /// A member's key in `packages` (its name, unless the lock says otherwise).
    member_key: HashMap<usize, String>,
    dependents: Vec<Dependent<'a>>,
    unreadable: Vec<UncheckedRequirement>,
}

impl<'a> Lock<'a> {
    fn add_member(&mut self, name: &str, version: &str, relative: &str, lines: LockLines) -> usize {
        self.placements.push(member(name, version, relative, lines));
        self.placements.len() - 1
    }

    fn read_workspaces(&mut self, json: &Json<'a>, raw: &'a RawValue) -> Result<(), ScanError> {
        let members: Members = json.parse(raw.get(), &"workspaces")?;
        for (directory, raw) in members.0 {
            let workspace: Workspace = json.parse(raw.get(), &Member("workspaces", &directory))?;
            let name = match (&workspace.name, directory.is_empty()) {
                (Some(name), _) => name.clone(),
                (None, true) => directory_name(json.path),
                (None, false) => directory
                    .rsplit('/')
                    .next()
                    .unwrap_or(&directory)
                    .to_string(),
            };
            let relative: &str = if directory.is_empty() {
                "."
            } else {
                &directory
            };
            let version = workspace.version.as_deref().unwrap_or("");
            let member = self.add_member(&name, version, relative, json.member_lines(raw));
            if directory.is_empty() {
                self.root = Some(member);
            }
            self.member_at.insert(directory.to_string(), member);
            // Looked up from its key in `packages` (its name), the root from "".
            let key = if directory.is_empty() {
                Text::Borrowed("")
            } else {
                Text::Owned(name)
            };
            self.dependents.push(Dependent {
                placement: member,
                key,
                names: vec![
                    (workspace.dependencies, EdgeKind::Normal),
                    (workspace.dev_dependencies, EdgeKind::Dev),
                    (workspace.optional_dependencies, EdgeKind::Optional),
                    (workspace.peer_dependencies, EdgeKind::Peer),
                ],
            });
        }
        Ok(())
    }

    fn read_packages(&mut self, json: &Json<'a>, raw: &'a RawValue) -> Result<(), ScanError> {
        let members: Members = json.parse(raw.get(), &"packages")?;
        for (key, raw) in members.0 {
            let what = Member("packages", &key);
            let elements: Vec<&RawValue> = json.parse(raw.get(), &what)?;
            let ident: Option<String> = match elements.first() {
                Some(first) => json.parse(first.get(), &what).ok(),
                None => None,
            };
            let lines = json.member_lines(raw);
            let alias = last_name(&key);
            let Some((name, spec)) = ident.as_deref().and_then(split_at_version) else {
                self.unreadable.push(UncheckedRequirement {
                    file: json.path.to_path_buf(),
                    line: lines.start,
                    requirement: requirement(alias, "(no name@resolution)"),
                    reason: UncheckedReason::Unreadable,
                });
                continue;
            };
            if let Some(directory) = spec.strip_prefix("workspace:") {
                let member = match self.member_at.get(directory) {
                    Some(&member) => member,
                    None => {
                        let member = self.add_member(name, "", directory, lines);
                        self.member_at.insert(directory.to_string(), member);
                        member
                    }
                };
                self.at_key.insert(key.clone(), member);
                self.member_key.insert(member, key.to_string());
                continue;
            }
            if spec.starts_with("root:") {
                continue;
            }
            let element = |at: usize| elements.get(at).map(|raw| raw.get());
            let string = |at: usize| -> Option<String> { serde_json::from_str(element(at)?).ok() };
            // Where the info and the integrity are, by kind of resolution.
            let is_version = semver::Version::parse(spec).is_ok();
            let (info_at, integrity_at) = if is_version { (2, 3) } else { (1, 2) };
            let origin = if is_version {
                let url = string(1).unwrap_or_default();
                let registry =
                    origin::registry_origin(&url).unwrap_or_else(|| NPM_REGISTRY.to_string());
                Origin::registry(&registry)
            } else if let Some(path) = spec.strip_prefix("link:") {
                Origin::local(path)
            } else if origin::is_git(spec) || origin::is_url(spec) || spec.starts_with("file:") {
                origin::of_spec(name, "", spec)
            } else if spec.contains('/') || spec.ends_with(".tgz") || spec.ends_with(".tar.gz") {
                // A local tarball, written as a bare path.
                Origin::local(spec)
            } else {
                self.unreadable.push(UncheckedRequirement {
                    file: json.path.to_path_buf(),
                    line: lines.start,
                    requirement: requirement(alias, spec),
                    reason: UncheckedReason::InvalidVersion,
                });
                continue;
            };
            let mut source = origin.source;
            // bun's tag of a git checkout is its commit when the spec has none.
            if let PackageSource::Git { rev, .. } = &mut source {
                if rev.is_empty() {
                    let tag = string(2).unwrap_or_default();
                    let commit = tag.rsplit('-').next().unwrap_or_default();
                    if !commit.is_empty() && commit.bytes().all(|b| b.is_ascii_hexdigit()) {
                        *rev = commit.to_string();
                    }
                }
            }
            let version = if is_version {
                spec.to_string()
            } else {
                origin.version.clone().unwrap_or_default()
            };
            let hashes = match (&source, string(integrity_at)) {
                (PackageSource::Git { .. }, _) | (_, None) => Vec::new(),
                (_, Some(integrity)) => ContentHash::from_integrity(&integrity),
            };
            let info: Info = match element(info_at) {
                Some(raw) if raw.trim_start().starts_with('{') => json.parse(raw, &what)?,
                _ => Info::default(),
            };
            let placement = self.placements.len();
            self.placements.push(Placement {
                name: name.to_string(),
                version,
                source,
                hashes,
                lines,
                member: false,
                kind: None,
                unchecked: origin
                    .unchecked
                    .map(|reason| (reason, requirement(alias, spec))),
                edges: Vec::new(),
            });
            self.at_key.insert(key.clone(), placement);
            self.dependents.push(Dependent {
                placement,
                key: key.clone(),
                names: vec![
                    (info.dependencies, EdgeKind::Normal),
                    (info.optional_dependencies, EdgeKind::Optional),
                    (info.peer_dependencies, EdgeKind::Peer),
                ],
            });
        }
        Ok(())
    }

    /// Each dependency resolved as bun nests them: under the dependent's
    /// own key first, then under each shorter prefix of it, then at the top.
    fn link(&mut self) {
        let mut candidate = String::new();
        for dependent in std::mem::take(&mut self.dependents) {
            let placement = dependent.placement;
            let key = match self.member_key.get(&placement) {
                Some(key) => key.as_str(),
                None => &dependent.key,
            };
            let prefixes = name_prefixes(key);
            for (names, kind) in &dependent.names {
                for name in &names.0 {
                    let found = prefixes.iter().rev().find_map(|&end| {
                        candidate.clear();
                        candidate.push_str(&key[..end]);
                        if end > 0 {
                            candidate.push('/');
                        }
                        candidate.push_str(name);
                        self.at_key.get(candidate.as_str()).copied()
                    });
                    if let Some(to) = found {
                        self.placements[placement].edges.push((to, *kind));
                    }
                }
            }
        }
    }
}

/// The ends of the key's leading runs of whole names, shortest first:
/// `[0, 1, 3]` for `a/@s/b` is "", "a", "a/@s/b".
fn name_prefixes(key: &str) -> Vec<usize> {
    let mut ends = vec![0];
    let mut at = 0;
    let mut segments = key.split('/').peekable();
    while let Some(segment) = segments.next() {
        at += segment.len();
        if segment.starts_with('@') && segments.peek().is_some() {
            let Some(name) = segments.next() else { break };
            at += 1 + name.len();
        }
        if at > *ends.last().unwrap_or(&0) {
            ends.push(at);
        }
        at += 1;
    }
    ends
}

/// The name a key installs: its last name (`@s/b` of `a/@s/b`).
fn last_name(key: &str) -> &str {
    let ends = name_prefixes(key);
    match ends.len().checked_sub(2).map(|at| ends[at]) {
        Some(0) | None => key,
        Some(end) => key.get(end + 1..).unwrap_or(key),
    }
}

fn directory_name(path: &Path) -> String {
    path.parent()
        .and_then(Path::file_name)
        .and_then(|n| n.to_str())
        .unwrap_or("project")
        .to_string()
}

/// `name@spec` on one line, credentials masked.
fn requirement(name: &str, spec: &str) -> String {
    origin::mask_credentials(&crate::text::one_line(&format!("{name}@{spec}")))
}

/// `text` as JSON: comments and trailing commas blanked out with spaces,
/// so every other byte keeps its offset and every line its number.
fn as_json(text: &str) -> String {
    let mut bytes = text.as_bytes().to_vec();
    let mut trailing_comma: Option<usize> = None;
    let mut at = 0;
    while at < bytes.len() {
        match (bytes[at], bytes.get(at + 1)) {
            (b'"', _) => {
                trailing_comma = None;
                at += 1;
                while at < bytes.len() {
                    match bytes[at] {
                        b'\\' => at += 2,
                        b'"' => break,
                        _ => at += 1,
                    }
                }
            }
            (b'/', Some(b'/')) => {
                while at < bytes.len() && bytes[at] != b'\n' {
                    bytes[at] = b' ';
                    at += 1;
                }
                continue;
            }
            (b'/', Some(b'*')) => {
                let end = memchr::memmem::find(&bytes[at + 2..], b"*/")
                    .map_or(bytes.len(), |found| at + 2 + found + 2);
                for byte in &mut bytes[at..end] {
                    if *byte != b'\n' {
                        *byte = b' ';
                    }
                }
                at = end;
                continue;
            }
            (b',', _) => trailing_comma = Some(at),
            (b'}' | b']', _) => {
                if let Some(comma) = trailing_comma.take() {
                    bytes[comma] = b' ';
                }
            }
            (byte, _) if byte.is_ascii_whitespace() => {}
            _ => trailing_comma = None,
        }
        at += 1;
    }
    // Only ASCII bytes and whole comments were replaced: still UTF-8.
    String::from_utf8(bytes).unwrap_or_else(|_| text.to_string())
}
