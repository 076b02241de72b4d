//! What every package-lock version reads to, and the rules they share:
//! the project, each installed package placed (name, version, origin,
//! kind, lines), and Node's lookup of a dependency from where it is
//! installed. `package_lock` (lockfileVersion 2 and 3) and `v1` both build
//! on it.

use super::assemble::Placement;
use super::json::Json;
use super::origin::{self, Origin, NPM_REGISTRY};
use crate::inventory::lock::{UncheckedReason, UncheckedRequirement};
use crate::inventory::{ContentHash, DependencyKind, LockLines, PackageSource};
use std::path::Path;

/// The project as the lock's top level names it.
pub(super) struct Project {
    pub(super) name: Option<String>,
    pub(super) version: Option<String>,
}

impl Project {
    /// The root package: named by the lock, else by its directory.
    pub(super) fn root(
        &self,
        json: &Json,
        entry_name: Option<&str>,
        entry_version: Option<&str>,
    ) -> Placement {
        let directory = json
            .path
            .parent()
            .and_then(Path::file_name)
            .and_then(|n| n.to_str());
        let name = entry_name
            .or(self.name.as_deref())
            .or(directory)
            .unwrap_or("project");
        let version = entry_version.or(self.version.as_deref()).unwrap_or("");
        member(name, version, ".", LockLines { start: 1, end: 1 })
    }
}

/// What one lock reads to.
pub(super) struct Lock {
    pub(super) placements: Vec<Placement>,
    /// The project's root, an index into `placements`.
    pub(super) root: usize,
    /// Entries that are no package secgate can check or list.
    pub(super) unreadable: Vec<UncheckedRequirement>,
}

/// The package a dependency `name` of the package installed at
/// `location` resolves to, as Node finds it: in `location/node_modules`,
/// then in each ancestor's, then in the root's.
pub(super) fn node_lookup(
    location: &str,
    name: &str,
    buffer: &mut String,
    at_path: impl Fn(&str) -> Option<usize>,
) -> Option<usize> {
    let mut directory = location;
    loop {
        buffer.clear();
        if !directory.is_empty() {
            buffer.push_str(directory);
            buffer.push('/');
        }
        buffer.push_str("node_modules/");
        buffer.push_str(name);
        if let Some(found) = at_path(buffer) {
            return Some(found);
        }
        if directory.is_empty() {
            return None;
        }
        directory = directory.rfind('/').map_or("", |slash| &directory[..slash]);
    }
}

/// One of the project's own packages.
pub(in crate::inventory::npm) fn member(
    name: &str,
    version: &str,
    relative: &str,
    lines: LockLines,
) -> Placement {
    Placement {
        name: name.to_string(),
        version: version.to_string(),
        source: PackageSource::Path {
            relative: Some(relative.to_string()),
        },
        hashes: Vec::new(),
        lines,
        member: true,
        kind: Some(DependencyKind::Normal),
        unchecked: None,
        edges: Vec::new(),
    }
}

pub(super) fn kind(dev: bool) -> DependencyKind {
    if dev {
        DependencyKind::DevOnly
    } else {
        DependencyKind::Normal
    }
}

/// `name@spec` on one line, credentials masked.
pub(super) fn requirement(name: &str, spec: &str) -> String {
    origin::mask_credentials(&crate::text::one_line(&format!("{name}@{spec}")))
}

/// What a lock says of one installed package, in any version.
pub(super) struct Locked<'a> {
    /// The name it is installed under (an alias, or the real name).
    pub(super) alias: &'a str,
    /// The real name, when the entry gives one (an alias's target).
    pub(super) name: Option<&'a str>,
    /// A version, or in lockfileVersion 1 what was installed instead
    /// (`npm:lodash@4.17.4`, `git+ssh://…`, `file:…`, a tarball URL).
    pub(super) version: Option<&'a str>,
    pub(super) resolved: Option<&'a str>,
    pub(super) integrity: Option<&'a str>,
    pub(super) dev: bool,
    pub(super) lines: LockLines,
}

impl Locked<'_> {
    /// The placement, or why there is none: a registry package without a
    /// version, or with one that is not SemVer.
    pub(super) fn place(&self, path: &Path) -> Result<Placement, UncheckedRequirement> {
        let mut name = self.name.unwrap_or(self.alias);
        let mut version = self.version.unwrap_or("");
        // lockfileVersion 1 writes an alias's target into its version.
        if let Some((real, real_version)) = version.strip_prefix("npm:").and_then(split_at_version)
        {
            (name, version) = (real, real_version);
        }
        // What was installed, as the lock writes it.
        let spec_in_version = version.contains(':');
        let origin = match (spec_in_version, self.resolved) {
            (true, _) => origin::of_spec(name, "", version),
            (false, Some(resolved)) => origin::of_spec(name, version, resolved),
            (false, None) => Origin::registry(NPM_REGISTRY),
        };
        let spec = if spec_in_version {
            version
        } else {
            self.resolved.unwrap_or(version)
        };
        let version = match (&origin.version, spec_in_version) {
            (Some(from_tarball), true) => from_tarball.as_str(),
            (None, true) => "",
            (_, false) => version,
        };
        if matches!(origin.source, PackageSource::Registry { .. }) {
            let problem = if version.is_empty() {
                Some(UncheckedReason::Unreadable)
            } else if semver::Version::parse(version).is_err() {
                Some(UncheckedReason::InvalidVersion)
            } else {
                None
            };
            if let Some(reason) = problem {
                return Err(UncheckedRequirement {
                    file: path.to_path_buf(),
                    line: self.lines.start,
                    requirement: requirement(self.alias, self.version.unwrap_or("(no version)")),
                    reason,
                });
            }
        }
        Ok(Placement {
            name: name.to_string(),
            version: version.to_string(),
            unchecked: origin
                .unchecked
                .map(|reason| (reason, requirement(self.alias, spec))),
            source: origin.source,
            hashes: self
                .integrity
                .map(ContentHash::from_integrity)
                .unwrap_or_default(),
            lines: self.lines,
            member: false,
            kind: Some(kind(self.dev)),
            edges: Vec::new(),
        })
    }
}

/// `lodash@4.17.4` or `@scope/x@1.0.0` as name and version.
pub(in crate::inventory::npm) fn split_at_version(text: &str) -> Option<(&str, &str)> {
    let at = text.get(1..)?.find('@')? + 1;
    Some((&text[..at], &text[at + 1..]))
}
