//! From the packages a Python lock lists to an [`Inventory`]: entries of one
//! package merged, packages sorted, dependency names resolved to the locked
//! versions, and every package classified from the project's roots.
//!
//! Python locks say less than `cargo metadata`: poetry's and pdm's lock the
//! project's dependencies but not the project, so it is added here as the
//! one member (named by `pyproject.toml`, else by its directory), with edges
//! to the roots `pyproject.toml` declares, or, without one, to the packages
//! the lock labels main or dev. Whatever the graph leaves unreached, or
//! reaches less shipped than the lock's own label says, is tied to the
//! project directly: a package is never dev-only because an edge was missed.

use super::super::{
    DependencyKind, Ecosystem, Edge, EdgeKind, Inventory, LockLines, Package, PackageSource,
};
use super::syntax::{
    leading_name, marker_text, normalize, normalize_extra, platform_marker, requirement,
};
use crate::error::ScanError;
use pep508_rs::pep440_rs::{Version, VersionSpecifiers};
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// What the lock itself says about how a package is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Label {
    /// Needed by the main dependencies (poetry `main`, pdm and Pipfile `default`).
    Main,
    /// Needed by development groups only.
    Dev,
    /// The lock does not say.
    Unknown,
}

impl Label {
    /// Two entries of one package: the more shipped wins, and not knowing
    /// beats dev-only.
    fn merge(self, other: Label) -> Label {
        match (self, other) {
            (Label::Main, _) | (_, Label::Main) => Label::Main,
            (Label::Unknown, _) | (_, Label::Unknown) => Label::Unknown,
            _ => Label::Dev,
        }
    }
}

/// One package as a lock lists it.
#[derive(Clone, Debug)]
pub(super) struct Locked {
    /// PEP 503 form.
    pub name: String,
    pub version: String,
    pub source: PackageSource,
    pub checksum: Option<String>,
    pub lines: Option<LockLines>,
    /// One of the project's own packages (a uv workspace member).
    pub member: bool,
    pub label: Label,
    /// The environment marker under which the lock installs it at all.
    pub marker: Option<String>,
    pub deps: Vec<Dep>,
}

impl Locked {
    pub(super) fn new(name: &str, version: &str, source: PackageSource) -> Locked {
        Locked {
            name: normalize(name),
            version: version.trim().to_string(),
            source,
            checksum: None,
            lines: None,
            member: false,
            label: Label::Unknown,
            marker: None,
            deps: Vec::new(),
        }
    }
}

/// One dependency of a locked package (or a root of the project).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Dep {
    /// PEP 503 form.
    pub name: String,
    /// The exact version the lock names, when it names one (uv does when a
    /// name is locked at several versions).
    pub version: Option<String>,
    /// A PEP 440 range, to choose among several locked versions of a name.
    pub specifier: Option<String>,
    pub marker: Option<String>,
    /// A development dependency (only of a member or the project).
    pub dev: bool,
    /// Extras of the dependency it asks for (PEP 685 form).
    pub extras: Vec<String>,
    /// Active only with this extra of the package that declares it.
    pub for_extra: Option<String>,
}

impl Dep {
    /// A PEP 508 requirement string (`name[extra] >=1; marker`); one that
    /// does not parse still names its package by its leading name, and
    /// one that names none (pdm's `-e file:///${PROJECT_ROOT}/…`) is none.
    pub(super) fn from_pep508(text: &str) -> Option<Dep> {
        let mut dep = match requirement(text) {
            Ok(parsed) => Dep {
                specifier: match &parsed.version_or_url {
                    Some(pep508_rs::VersionOrUrl::VersionSpecifier(range)) => {
                        Some(range.to_string())
                    }
                    _ => None,
                },
                extras: parsed
                    .extras
                    .iter()
                    .map(|e| normalize_extra(e.as_ref()))
                    .collect(),
                ..Dep::on(parsed.name.as_ref())
            },
            Err(_) => Dep::on(leading_name(text)?),
        };
        dep.marker = marker_text(text);
        Some(dep)
    }

    pub(super) fn on(name: &str) -> Dep {
        Dep {
            name: normalize(name),
            ..Dep::default()
        }
    }
}

/// The project a lock belongs to when the lock does not list it.
#[derive(Clone, Debug)]
pub(super) struct Project {
    pub name: String,
    pub version: String,
    /// What `pyproject.toml` declares; `None` when only the lock's labels
    /// tell the roots.
    pub roots: Option<Vec<Dep>>,
}

impl Project {
    /// Named by `pyproject.toml`, else by the lock's directory.
    pub(super) fn named(lock: &Path, name: Option<&str>, version: Option<&str>) -> Project {
        let directory = lock
            .canonicalize()
            .ok()
            .and_then(|p| p.parent()?.file_name()?.to_str().map(str::to_string))
            .or_else(|| lock.parent()?.file_name()?.to_str().map(str::to_string));
        Project {
            name: normalize(name.or(directory.as_deref()).unwrap_or("project")),
            version: version.unwrap_or("").trim().to_string(),
            roots: None,
        }
    }
}

/// How to build.
pub(super) struct Options<'a> {
    /// A dependency on a package the lock does not list is an error (uv
    /// lists only what it locked), not an optional one left unlocked.
    pub strict: bool,
    /// Why kinds are unknown when there is nothing to classify from.
    pub unknown_kinds: &'a str,
}

/// The inventory of `packages` (in any order, entries of one package
/// possibly repeated) of the lock at `path`.
pub(super) fn build(
    path: &Path,
    packages: Vec<Locked>,
    project: Option<Project>,
    options: &Options<'_>,
) -> Result<Inventory, ScanError> {
    let mut entries: Vec<(bool, Locked)> =
        merge(packages).into_iter().map(|p| (false, p)).collect();
    let declared = project.as_ref().map(|p| p.roots.is_some());
    if let Some(project) = project {
        let mut own = Locked::new(
            &project.name,
            &project.version,
            PackageSource::Path {
                relative: Some(".".to_string()),
            },
        );
        own.member = true;
        own.label = Label::Main;
        own.deps = project.roots.unwrap_or_default();
        entries.push((true, own));
    }
    // By name, version (1.9 before 1.10) and source, each key computed once.
    entries.sort_by_cached_key(|(_, p)| {
        (
            p.name.clone(),
            p.version.parse::<Version>().ok(),
            p.version.clone(),
            p.source.clone(),
        )
    });
    let project_index = entries.iter().position(|(own, _)| *own);
    let locked: Vec<Locked> = entries.into_iter().map(|(_, p)| p).collect();
    let mut depends_on = edges(path, &locked, project_index, options.strict)?;
    if let (Some(project), Some(false)) = (project_index, declared) {
        depends_on[project] = label_roots(&locked, &depends_on, project);
    }
    let packages: Vec<Package> = locked
        .iter()
        .map(|p| Package {
            checksum: p.checksum.clone(),
            lines: p.lines,
            is_member: p.member,
            ..Package::bare(Ecosystem::PyPi, &p.name, &p.version, p.source.clone())
        })
        .collect();
    let mut inventory = Inventory {
        packages,
        depends_on,
        lock_file: Some(path.to_path_buf()),
        ..Inventory::empty(None)
    };
    inventory.finish();
    let anchor = project_index.or_else(|| {
        let members = &inventory.workspace_members;
        members
            .iter()
            .copied()
            .find(|&i| {
                inventory.packages[i].source
                    == PackageSource::Path {
                        relative: Some(".".to_string()),
                    }
            })
            .or_else(|| members.first().copied())
    });
    match anchor {
        Some(anchor) => tie_unreached(&mut inventory, &locked, anchor),
        None => inventory.fallback_reason = Some(options.unknown_kinds.to_string()),
    }
    if inventory.workspace_members.len() == 1 {
        inventory.root = inventory.workspace_members.first().copied();
    }
    Ok(inventory)
}

/// Entries of one package (name, version, source) as one: pdm lists a
/// package once more for each set of extras asked of it, a Pipfile.lock in
/// both `default` and `develop`.
fn merge(packages: Vec<Locked>) -> Vec<Locked> {
    let mut index: HashMap<(String, String, PackageSource), usize> = HashMap::new();
    let mut merged: Vec<Locked> = Vec::with_capacity(packages.len());
    for package in packages {
        let key = (
            package.name.clone(),
            package.version.clone(),
            package.source.clone(),
        );
        match index.get(&key) {
            Some(&first) => {
                let kept = &mut merged[first];
                kept.label = kept.label.merge(package.label);
                kept.member |= package.member;
                kept.checksum = kept.checksum.take().or(package.checksum);
                kept.lines = kept.lines.or(package.lines);
                // Installed everywhere if either entry is.
                if package.marker.is_none() {
                    kept.marker = None;
                }
                // Edges a dependency repeats are one edge after `finish`.
                kept.deps.extend(package.deps);
            }
            None => {
                index.insert(key, merged.len());
                merged.push(package);
            }
        }
    }
    merged
}

/// The edges of every package's dependency list. An optional dependency
/// (one of an extra) counts when anything in the lock asks for that extra
/// of its package, or when a member declares it (a project's extras ship).
fn edges(
    path: &Path,
    locked: &[Locked],
    project: Option<usize>,
    strict: bool,
) -> Result<Vec<Vec<Edge>>, ScanError> {
    let mut by_name: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, package) in locked.iter().enumerate() {
        if Some(i) != project {
            by_name.entry(package.name.as_str()).or_default().push(i);
        }
    }
    let requested: HashSet<(&str, String)> = locked
        .iter()
        .flat_map(|p| &p.deps)
        .flat_map(|dep| {
            dep.extras
                .iter()
                .map(move |extra| (dep.name.as_str(), normalize_extra(extra)))
        })
        .collect();
    let mut depends_on = vec![Vec::new(); locked.len()];
    for (from, package) in locked.iter().enumerate() {
        for dep in &package.deps {
            if let Some(extra) = &dep.for_extra {
                if !package.member && !requested.contains(&(package.name.as_str(), extra.clone())) {
                    continue;
                }
            }
            let targets = resolve(locked, &by_name, dep);
            if targets.is_empty() {
                if strict && Some(from) != project {
                    return Err(ScanError::BadInputAt {
                        path: path.to_path_buf(),
                        line: package.lines.map_or(1, |l| l.start as usize),
                        column: None,
                        message: format!(
                            "package {} {} depends on `{}{}`, which is not in the lock file",
                            package.name,
                            package.version,
                            dep.name,
                            dep.version
                                .as_deref()
                                .map(|v| format!(" {v}"))
                                .unwrap_or_default()
                        ),
                    });
                }
                continue;
            }
            for to in targets {
                if to != from {
                    depends_on[from].push(Edge {
                        to,
                        kind: if dep.dev {
                            EdgeKind::Dev
                        } else {
                            EdgeKind::Normal
                        },
                        target: platform_marker(dep.marker.as_deref()),
                    });
                }
            }
        }
    }
    Ok(depends_on)
}

/// The locked packages a dependency can mean: the version it names, else
/// those its range allows when the name is locked at several versions
/// (all of them when the range says nothing usable).
fn resolve(locked: &[Locked], by_name: &HashMap<&str, Vec<usize>>, dep: &Dep) -> Vec<usize> {
    let Some(candidates) = by_name.get(dep.name.as_str()) else {
        return Vec::new();
    };
    if let Some(version) = &dep.version {
        let wanted = version.parse::<Version>().ok();
        return candidates
            .iter()
            .copied()
            .filter(|&i| {
                let have = &locked[i].version;
                have == version
                    || wanted
                        .as_ref()
                        .is_some_and(|w| have.parse::<Version>().ok().as_ref() == Some(w))
            })
            .collect();
    }
    if candidates.len() > 1 {
        if let Some(range) = dep
            .specifier
            .as_deref()
            .and_then(|s| s.parse::<VersionSpecifiers>().ok())
        {
            let allowed: Vec<usize> = candidates
                .iter()
                .copied()
                .filter(|&i| {
                    locked[i]
                        .version
                        .parse::<Version>()
                        .is_ok_and(|v| range.contains(&v))
                })
                .collect();
            if !allowed.is_empty() {
                return allowed;
            }
        }
    }
    candidates.clone()
}

/// The project's roots when only the lock's labels tell them: each main
/// package no main package depends on, each dev package no labelled
/// package depends on.
fn label_roots(locked: &[Locked], depends_on: &[Vec<Edge>], project: usize) -> Vec<Edge> {
    let mut from_main = vec![false; locked.len()];
    let mut from_labelled = vec![false; locked.len()];
    for (from, edges) in depends_on.iter().enumerate() {
        for edge in edges {
            match locked[from].label {
                Label::Main => {
                    from_main[edge.to] = true;
                    from_labelled[edge.to] = true;
                }
                Label::Dev => from_labelled[edge.to] = true,
                Label::Unknown => {}
            }
        }
    }
    (0..locked.len())
        .filter(|&i| i != project)
        .filter_map(|i| {
            let kind = match locked[i].label {
                Label::Main if !from_main[i] => EdgeKind::Normal,
                Label::Dev if !from_labelled[i] => EdgeKind::Dev,
                _ => return None,
            };
            Some(Edge {
                to: i,
                kind,
                target: platform_marker(locked[i].marker.as_deref()),
            })
        })
        .collect()
}

/// Ties to `anchor` what the graph did not reach, or reached less shipped
/// than the lock's label says: main packages ship; dev ones and those the
/// lock says nothing of are dev-only or shipped as labelled.
fn tie_unreached(inventory: &mut Inventory, locked: &[Locked], anchor: usize) {
    let mut added = false;
    for (i, package) in locked.iter().enumerate() {
        if i == anchor || package.member {
            continue;
        }
        let kind = inventory.packages[i].kind;
        let edge = match (package.label, kind) {
            (Label::Main, kind) if kind != Some(DependencyKind::Normal) => EdgeKind::Normal,
            (Label::Dev, None) => EdgeKind::Dev,
            (Label::Unknown, None) => EdgeKind::Normal,
            _ => continue,
        };
        inventory.depends_on[anchor].push(Edge {
            to: i,
            kind: edge,
            target: platform_marker(package.marker.as_deref()),
        });
        added = true;
    }
    if added {
        inventory.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn locked(name: &str, version: &str, label: Label, deps: &[&str]) -> Locked {
        Locked {
            label,
            deps: deps.iter().map(|d| Dep::on(d)).collect(),
            ..Locked::new(name, version, super::super::syntax::pypi())
        }
    }

    fn kinds(inventory: &Inventory) -> Vec<(String, Option<DependencyKind>)> {
        inventory
            .packages
            .iter()
            .map(|p| (p.name.clone(), p.kind))
            .collect()
    }

    const OPTIONS: Options<'static> = Options {
        strict: false,
        unknown_kinds: "unknown",
    };

    #[test]
    fn label_roots_and_a_main_label_that_the_graph_misses() {
        // app(main) -> lib(main); pytest(dev) -> lib; tool(dev) -> helper(main label!)
        let packages = vec![
            locked("pytest", "8.0", Label::Dev, &["lib"]),
            locked("App", "1.0", Label::Main, &["lib"]),
            locked("lib", "2.0", Label::Main, &[]),
            locked("tool", "1.0", Label::Dev, &["helper"]),
            locked("helper", "1.0", Label::Main, &[]),
        ];
        let project = Project {
            name: "me".into(),
            version: "0.1".into(),
            roots: None,
        };
        let inventory = build(Path::new("x.lock"), packages, Some(project), &OPTIONS).unwrap();
        use DependencyKind::*;
        assert_eq!(
            kinds(&inventory),
            [
                ("app".into(), Some(Normal)),
                ("helper".into(), Some(Normal)),
                ("lib".into(), Some(Normal)),
                ("me".into(), Some(Normal)),
                ("pytest".into(), Some(DevOnly)),
                ("tool".into(), Some(DevOnly)),
            ]
        );
        let me = inventory.find("me", None).unwrap();
        assert_eq!(inventory.root, Some(me));
        assert!(inventory.fallback_reason.is_none());
        // lib is reached through app, not tied to the project directly.
        let lib = inventory.find("lib", None).unwrap();
        assert_eq!(inventory.shortest_path(lib).len(), 3);
    }

    #[test]
    fn several_versions_resolve_by_range_and_unknown_ones_are_unknown() {
        let mut a = locked("a", "1.0", Label::Unknown, &[]);
        a.deps = vec![Dep {
            specifier: Some(">=2".into()),
            ..Dep::on("b")
        }];
        let packages = vec![
            a,
            locked("b", "1.5", Label::Unknown, &[]),
            locked("b", "2.1", Label::Unknown, &[]),
            locked("b", "2.1", Label::Unknown, &[]),
        ];
        let inventory = build(Path::new("x.lock"), packages, None, &OPTIONS).unwrap();
        assert_eq!(inventory.packages.len(), 3, "the duplicate entry merged");
        let targets: Vec<&str> = inventory.depends_on[0]
            .iter()
            .map(|e| inventory.packages[e.to].version.as_str())
            .collect();
        assert_eq!(targets, ["2.1"]);
        assert!(inventory.packages.iter().all(|p| p.kind.is_none()));
        assert_eq!(inventory.fallback_reason.as_deref(), Some("unknown"));
    }

    #[test]
    fn optional_dependencies_count_only_when_their_extra_is_asked_for() {
        let mut requests = locked("requests", "2.0", Label::Unknown, &[]);
        requests.deps = vec![Dep {
            for_extra: Some("socks".into()),
            ..Dep::on("PySocks")
        }];
        let mut httpx = locked("httpx", "0.1", Label::Unknown, &[]);
        httpx.deps = vec![Dep {
            for_extra: Some("http2".into()),
            ..Dep::on("h2")
        }];
        let project = Project {
            name: "me".into(),
            version: String::new(),
            roots: Some(vec![
                Dep {
                    extras: vec!["socks".into()],
                    ..Dep::on("requests")
                },
                Dep::on("httpx"),
            ]),
        };
        let packages = vec![
            requests,
            httpx,
            locked("pysocks", "1.7", Label::Unknown, &[]),
            locked("h2", "4.0", Label::Unknown, &[]),
        ];
        let inventory = build(Path::new("x.lock"), packages, Some(project), &OPTIONS).unwrap();
        let h2 = inventory.find("h2", None).unwrap();
        let pysocks = inventory.find("pysocks", None).unwrap();
        assert_eq!(inventory.shortest_path(pysocks).len(), 3);
        // h2 is unreached through httpx, so tied to the project: shipped.
        assert_eq!(inventory.shortest_path(h2).len(), 2);
        assert_eq!(inventory.packages[h2].kind, Some(DependencyKind::Normal));
    }

    #[test]
    fn strict_locks_name_their_missing_dependency() {
        let mut a = locked("a", "1.0", Label::Unknown, &["ghost"]);
        a.lines = Some(LockLines { start: 7, end: 9 });
        let options = Options {
            strict: true,
            unknown_kinds: "",
        };
        let error = build(Path::new("uv.lock"), vec![a], None, &options)
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "uv.lock:7: package a 1.0 depends on `ghost`, which is not in the lock file"
        );
    }
}
