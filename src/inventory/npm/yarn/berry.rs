//! yarn Berry's `yarn.lock` (yarn 2 and later): YAML, with `__metadata`.
//!
//! ```text
//! "lodash@npm:^4.17.21, lodash@npm:^4.17.4":
//!   version: 4.17.21
//!   resolution: "lodash@npm:4.17.21"
//!   checksum: …   (Berry's hash of its own zip: not a tarball digest)
//! ```
//!
//! The project and its workspace members are entries too
//! (`web@workspace:packages/web`), with all their dependencies, dev ones
//! included and not told apart.

use super::locked::{
    self, git_source, join_relative, npm_registry, percent_decode, registry, source_of_url,
    split_descriptor, yaml_error, Locked, Text,
};
use super::locked::{Dependency, Entry};
use crate::error::ScanError;
use crate::inventory::lock::{UncheckedReason, UncheckedRequirement};
use crate::inventory::{EdgeKind, LockLines, PackageSource};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// Whether the text is a Berry lock: a `__metadata` key at the left margin.
pub(super) fn is_berry(text: &str) -> bool {
    text.lines()
        .take(50)
        .any(|line| line.starts_with("__metadata:") || line.starts_with("\"__metadata\":"))
}

#[derive(serde::Deserialize, Default)]
struct RawEntry {
    version: Option<Text>,
    resolution: Option<String>,
    #[serde(default)]
    dependencies: BTreeMap<String, Text>,
    #[serde(default, rename = "peerDependencies")]
    peer_dependencies: BTreeMap<String, Text>,
    #[serde(default, rename = "dependenciesMeta")]
    dependencies_meta: BTreeMap<String, serde_norway::Value>,
}

/// What a resolution (`name@<reference>`) denotes.
enum Resolved {
    /// A workspace member, by its directory.
    Workspace(String),
    Package(PackageSource, Option<UncheckedReason>),
    Unreadable,
}

/// The entries of a Berry `yarn.lock`, and those that cannot be checked.
pub(super) fn parse(
    path: &Path,
    text: &str,
) -> Result<(Vec<Entry>, Vec<UncheckedRequirement>), ScanError> {
    let document: HashMap<String, RawEntry> =
        serde_norway::from_str(text).map_err(|e| yaml_error(path, "yarn.lock", &e))?;
    let lines = locked::key_lines(text, 0, 0);
    if let Some(metadata) = document.get("__metadata") {
        let version = metadata
            .version
            .as_ref()
            .map(|v| v.0.as_str())
            .unwrap_or("");
        if !version.parse::<u32>().is_ok_and(|v| v >= 2) {
            return Err(ScanError::BadInputAt {
                path: path.to_path_buf(),
                line: lines.get("__metadata").map_or(1, |l| l.start as usize),
                column: None,
                message: format!(
                    "yarn.lock __metadata version `{version}` is not one secgate reads (yarn 2 and later write 4 and up)"
                ),
            });
        }
    }
    let mut keyed: Vec<(&String, &RawEntry, LockLines)> = document
        .iter()
        .filter(|(key, _)| key.as_str() != "__metadata")
        .map(|(key, entry)| {
            let at = lines
                .get(key)
                .copied()
                .unwrap_or(LockLines { start: 1, end: 1 });
            (key, entry, at)
        })
        .collect();
    // In file order, so results do not depend on hashing.
    keyed.sort_by_key(|(key, _, at)| (at.start, key.as_str()));
    let mut entries = Vec::with_capacity(keyed.len());
    let mut unchecked = Vec::new();
    for (key, raw, at) in keyed {
        let descriptors: Vec<String> = key.split(", ").map(|d| d.trim().to_string()).collect();
        let first = descriptors.first().cloned().unwrap_or_default();
        let Some(resolution) = raw.resolution.as_deref() else {
            unchecked.push(locked::unchecked(
                path,
                at.start,
                &first,
                UncheckedReason::Unreadable,
            ));
            continue;
        };
        let Some((name, reference)) = split_descriptor(resolution) else {
            unchecked.push(locked::unchecked(
                path,
                at.start,
                resolution,
                UncheckedReason::Unreadable,
            ));
            continue;
        };
        let version = raw
            .version
            .as_ref()
            .map(|v| v.0.clone())
            .unwrap_or_default();
        let (source, member_dir) = match resolve(reference) {
            Resolved::Workspace(dir) => (
                PackageSource::Path {
                    relative: Some(dir.clone()),
                },
                Some(dir),
            ),
            Resolved::Package(source, None) => {
                if semver::Version::parse(&version).is_err() {
                    unchecked.push(locked::unchecked(
                        path,
                        at.start,
                        &format!("{name}@{version}"),
                        UncheckedReason::InvalidVersion,
                    ));
                    continue;
                }
                (source, None)
            }
            Resolved::Package(source, Some(reason)) => {
                unchecked.push(locked::unchecked(path, at.start, resolution, reason));
                (source, None)
            }
            Resolved::Unreadable => {
                unchecked.push(locked::unchecked(
                    path,
                    at.start,
                    resolution,
                    UncheckedReason::Unreadable,
                ));
                continue;
            }
        };
        let optional = |dep: &str| {
            raw.dependencies_meta
                .get(dep)
                .and_then(|meta| meta.get("optional"))
                .and_then(serde_norway::Value::as_bool)
                .unwrap_or(false)
        };
        let mut deps: Vec<Dependency> = raw
            .dependencies
            .iter()
            .map(|(dep, range)| Dependency {
                name: dep.clone(),
                range: range.0.clone(),
                kind: if optional(dep) {
                    EdgeKind::Optional
                } else {
                    EdgeKind::Normal
                },
            })
            .collect();
        deps.extend(raw.peer_dependencies.iter().map(|(dep, range)| Dependency {
            name: dep.clone(),
            range: range.0.clone(),
            kind: EdgeKind::Peer,
        }));
        let mut package = Locked {
            lines: Some(at),
            ..Locked::new(name, &version, source)
        };
        package.member = member_dir.is_some();
        entries.push(Entry {
            descriptors,
            locked: package,
            deps,
            workspace: member_dir,
        });
    }
    Ok((entries, unchecked))
}

/// What the part of a resolution after `name@` denotes.
fn resolve(reference: &str) -> Resolved {
    // Parameters Berry adds after `::` (`locator=…`, `__archiveUrl=…`).
    let (reference, parameters) = reference.split_once("::").unwrap_or((reference, ""));
    let parameter = |key: &str| {
        parameters
            .split('&')
            .find_map(|pair| pair.strip_prefix(key)?.strip_prefix('='))
            .map(percent_decode)
    };
    if let Some(dir) = reference.strip_prefix("workspace:") {
        return Resolved::Workspace(join_relative("", dir).unwrap_or_else(|| dir.to_string()));
    }
    if reference.starts_with("npm:") {
        // Berry names the tarball only when it is not on the default registry.
        let source = parameter("__archiveUrl")
            .and_then(|url| origin_of(&url))
            .map_or_else(npm_registry, |origin| registry(&origin));
        return Resolved::Package(source, None);
    }
    if let Some(patched) = reference.strip_prefix("patch:") {
        // The patched package: `resolve@npm%3A1.22.1#<patch>`.
        let inner = percent_decode(patched.split('#').next().unwrap_or(""));
        return match split_descriptor(&inner) {
            Some((_, inner_reference)) if !inner_reference.starts_with("patch:") => {
                resolve(inner_reference)
            }
            _ => Resolved::Unreadable,
        };
    }
    for local in ["file:", "link:", "portal:", "exec:"] {
        if let Some(target) = reference.strip_prefix(local) {
            let target = target.split('#').next().unwrap_or(target);
            // Relative to the workspace that asked for it.
            let base = parameter("locator")
                .and_then(|locator| {
                    let (_, rest) = split_descriptor(&locator)?;
                    rest.strip_prefix("workspace:").map(str::to_string)
                })
                .unwrap_or_default();
            let relative = join_relative(&base, target).unwrap_or_else(|| target.to_string());
            return Resolved::Package(
                PackageSource::Path {
                    relative: Some(relative),
                },
                Some(UncheckedReason::LocalPath),
            );
        }
    }
    if let Some(git) = git_source(reference) {
        return Resolved::Package(git, Some(UncheckedReason::Url));
    }
    if reference.starts_with("https://") || reference.starts_with("http://") {
        let (source, reason) = source_of_url("", reference);
        return Resolved::Package(source, reason.or(Some(UncheckedReason::Url)));
    }
    Resolved::Unreadable
}

/// `scheme://host` of a URL.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split('/').next()?;
    Some(format!("{scheme}://{host}"))
}

/// The descriptor a Berry dependency names (`ms: "npm:^2.1.3"`); before
/// yarn 3 the `npm:` was left out of ranges but not of keys, so a range
/// without a protocol is tried with it as well.
pub(super) fn descriptors_of(name: &str, range: &str) -> [Option<String>; 2] {
    let written = format!("{name}@{range}");
    let with_npm = (!range.contains(':')).then(|| format!("{name}@npm:{range}"));
    [Some(written), with_npm]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolutions_of_every_protocol() {
        let source = |reference: &str| match resolve(reference) {
            Resolved::Package(source, reason) => Some((source, reason)),
            _ => None,
        };
        assert_eq!(source("npm:4.17.21"), Some((npm_registry(), None)));
        assert_eq!(
            source(
                "patch:resolve@npm%3A1.22.1#~builtin<compat/resolve>::version=1.22.1&hash=07638b"
            ),
            Some((npm_registry(), None))
        );
        assert_eq!(
            source("npm:1.0.0::__archiveUrl=https%3A%2F%2Fnpm.example.com%2Fleft-pad%2F-%2Fleft-pad-1.0.0.tgz")
                .map(|(s, _)| s),
            Some(registry("https://npm.example.com"))
        );
        assert!(matches!(
            source("https://github.com/o/r.git#commit=0123456789abcdef0123456789abcdef01234567"),
            Some((PackageSource::Git { .. }, Some(UncheckedReason::Url)))
        ));
        assert_eq!(
            source("file:../../vendor/x#../../vendor/x::hash=1&locator=%40demo%2Flib%40workspace%3Apackages%2Flib"),
            Some((
                PackageSource::Path {
                    relative: Some("vendor/x".into())
                },
                Some(UncheckedReason::LocalPath)
            ))
        );
        assert!(matches!(
            source("https://example.com/x-1.0.0.tgz"),
            Some((PackageSource::Other { .. }, Some(UncheckedReason::Url)))
        ));
        assert!(
            matches!(resolve("workspace:packages/web"), Resolved::Workspace(d) if d == "packages/web")
        );
        assert!(matches!(resolve("workspace:."), Resolved::Workspace(d) if d == "."));
        assert!(matches!(
            resolve("unknown-protocol:1"),
            Resolved::Unreadable
        ));
    }
}
