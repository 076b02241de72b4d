//! The packages a project depends on, whatever its ecosystem: each package
//! (name, version, source, checksum, where the lock file lists it), the
//! dependency edges, and how each package is reached from the project's
//! own members (normal, build, dev-only, platform-only). One reader per
//! lock format fills it (`cargo`: from `cargo metadata`, or `Cargo.lock`
//! alone); the advisory check and the SBOM read only this.

pub mod cargo;
pub mod lock;
pub mod npm;
pub mod python;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::path::PathBuf;

/// A package ecosystem, as OSV names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Ecosystem {
    CratesIo,
    PyPi,
    Npm,
}

impl Ecosystem {
    /// Ecosystems whose advisories come from OSV archives (crates.io's
    /// come from the RustSec database).
    pub const OSV_SOURCED: &'static [Ecosystem] = &[Ecosystem::PyPi, Ecosystem::Npm];

    /// By OSV's name, as the policy and OSV's archive folders spell it.
    pub fn from_osv_name(name: &str) -> Option<Ecosystem> {
        [Ecosystem::CratesIo, Ecosystem::PyPi, Ecosystem::Npm]
            .into_iter()
            .find(|ecosystem| ecosystem.as_str() == name)
    }

    /// OSV's name (`crates.io`).
    pub fn as_str(self) -> &'static str {
        match self {
            Ecosystem::CratesIo => "crates.io",
            Ecosystem::PyPi => "PyPI",
            Ecosystem::Npm => "npm",
        }
    }

    /// The package-URL type (`pkg:cargo/…`).
    pub fn purl_type(self) -> &'static str {
        match self {
            Ecosystem::CratesIo => "cargo",
            Ecosystem::PyPi => "pypi",
            Ecosystem::Npm => "npm",
        }
    }

    /// A package name as the ecosystem compares names: PyPI's PEP 503 form
    /// (lower case, each run of `-`, `_`, `.` as one `-`); crates and npm
    /// packages (`@scope/name`, exact) as written.
    pub fn normalize_name(self, name: &str) -> String {
        match self {
            Ecosystem::CratesIo | Ecosystem::Npm => name.to_string(),
            Ecosystem::PyPi => {
                let mut normalized = String::with_capacity(name.len());
                for c in name.trim().chars() {
                    if matches!(c, '-' | '_' | '.') {
                        if !normalized.ends_with('-') {
                            normalized.push('-');
                        }
                    } else {
                        normalized.extend(c.to_lowercase());
                    }
                }
                normalized
            }
        }
    }
}

/// Where a package comes from, as data.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PackageSource {
    /// A registry; `url` as the lock file spells it. `public`: the
    /// ecosystem's own public registry (crates.io), the one advisory
    /// databases speak of.
    Registry {
        url: String,
        public: bool,
    },
    /// `url` without query or fragment; `reference` is the branch, tag or
    /// revision asked for; `rev` the locked commit.
    Git {
        url: String,
        reference: Option<String>,
        rev: String,
    },
    /// Relative to the project root with `/` separators; unknown when the
    /// inventory comes from the lock file alone.
    Path {
        relative: Option<String>,
    },
    Other {
        repr: String,
    },
}

impl PackageSource {
    /// From the ecosystem's public registry.
    pub fn is_public_registry(&self) -> bool {
        matches!(self, PackageSource::Registry { public: true, .. })
    }
}

/// How a package is reached from the project's members. Ordered from the
/// most to the least shipped, so the minimum over all paths wins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DependencyKind {
    Normal,
    Build,
    DevOnly,
}

impl DependencyKind {
    /// As findings and SBOMs say it: `normal`, `build`, `dev-only`.
    pub fn as_str(self) -> &'static str {
        match self {
            DependencyKind::Normal => "normal",
            DependencyKind::Build => "build",
            DependencyKind::DevOnly => "dev-only",
        }
    }
}

/// The kind of one edge, as the manifest declares it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EdgeKind {
    Normal,
    Build,
    Dev,
    /// npm's `optionalDependencies`: installed where it can be, shipped.
    Optional,
    /// npm's `peerDependencies`: provided by the package's dependent, shipped.
    Peer,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edge {
    pub to: usize,
    pub kind: EdgeKind,
    /// The condition (`cfg(…)`, a target triple) of a platform-specific edge.
    pub target: Option<String>,
}

/// Where a package sits relative to the members that were classified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Classification {
    /// `None`: unreachable from the roots, or unknown (lock file only).
    pub kind: Option<DependencyKind>,
    /// The conditions when every path of that kind goes through a
    /// platform-specific edge; `None` when some path is unconditional.
    pub platform_only: Option<Vec<String>>,
}

/// A digest of a package's archive, as a lock file records it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ContentHash {
    pub algorithm: HashAlgorithm,
    /// Lower-case hex.
    pub hex: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HashAlgorithm {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl ContentHash {
    /// From a Subresource Integrity string as npm, yarn, pnpm and bun write
    /// it (`sha512-<base64>`, several separated by spaces); unknown
    /// algorithms and malformed parts are left out.
    pub fn from_integrity(integrity: &str) -> Vec<ContentHash> {
        use base64::Engine;
        integrity
            .split_whitespace()
            .filter_map(|part| {
                let (algorithm, digest) = part.split_once('-')?;
                let (algorithm, length) = match algorithm {
                    "sha1" => (HashAlgorithm::Sha1, 20),
                    "sha256" => (HashAlgorithm::Sha256, 32),
                    "sha384" => (HashAlgorithm::Sha384, 48),
                    "sha512" => (HashAlgorithm::Sha512, 64),
                    _ => return None,
                };
                // SRI allows `?options` after the digest.
                let digest = digest.split('?').next()?;
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(digest)
                    .ok()?;
                (bytes.len() == length).then(|| ContentHash {
                    algorithm,
                    // Not one `format!` per byte: an npm lock has thousands.
                    hex: bytes
                        .iter()
                        .flat_map(|b| [b >> 4, b & 0xf])
                        .map(|nibble| char::from(b"0123456789abcdef"[usize::from(nibble)]))
                        .collect(),
                })
            })
            .collect()
    }
}

/// The lines of the lock file that list a package (1-based, inclusive).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LockLines {
    pub start: u32,
    pub end: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Package {
    pub ecosystem: Ecosystem,
    pub name: String,
    pub version: String,
    pub source: PackageSource,
    /// The SHA-256 the lock file records (hex).
    pub checksum: Option<String>,
    /// Other digests the lock records (npm's `integrity`: SHA-512, SHA-1).
    pub hashes: Vec<ContentHash>,
    /// Where the lock file lists it, when read from one.
    pub lines: Option<LockLines>,
    pub license: Option<String>,
    /// As the manifest writes it: relative to the package's directory.
    pub license_file: Option<String>,
    pub description: Option<String>,
    pub repository: Option<String>,
    pub documentation: Option<String>,
    pub homepage: Option<String>,
    /// Has an executable target.
    pub is_application: bool,
    /// One of the project's own packages (a workspace member).
    pub is_member: bool,
    /// Classification from all members.
    pub kind: Option<DependencyKind>,
    pub platform_only: Option<Vec<String>>,
}

impl Package {
    /// A package known only by name, version and source: what a lock file
    /// says; no manifest metadata, not a member, not classified.
    pub fn bare(ecosystem: Ecosystem, name: &str, version: &str, source: PackageSource) -> Package {
        Package {
            ecosystem,
            name: name.to_string(),
            version: version.to_string(),
            source,
            checksum: None,
            hashes: Vec::new(),
            lines: None,
            license: None,
            license_file: None,
            description: None,
            repository: None,
            documentation: None,
            homepage: None,
            is_application: false,
            is_member: false,
            kind: None,
            platform_only: None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Inventory {
    /// Sorted by name, version and source.
    pub packages: Vec<Package>,
    /// Outgoing edges of each package, sorted.
    pub depends_on: Vec<Vec<Edge>>,
    /// Indexes into `packages`, sorted.
    pub workspace_members: Vec<usize>,
    /// The root package when the project is one package (not a virtual workspace).
    pub root: Option<usize>,
    /// The platform the resolve was filtered to, if any.
    pub target: Option<String>,
    /// Set when built from the lock file alone: why the manifests were not read
    /// (then dependency kinds are unknown).
    pub fallback_reason: Option<String>,
    /// The lock file it was read from.
    pub lock_file: Option<PathBuf>,
}

impl Inventory {
    pub fn empty(target: Option<String>) -> Inventory {
        Inventory {
            packages: Vec::new(),
            depends_on: Vec::new(),
            workspace_members: Vec::new(),
            root: None,
            target,
            fallback_reason: None,
            lock_file: None,
        }
    }

    /// Sorts edges, records members, classifies from all members.
    pub fn finish(&mut self) {
        self.finish_unclassified();
        let members = self.workspace_members.clone();
        let classes = self.classify(&members);
        for (package, class) in self.packages.iter_mut().zip(classes) {
            package.kind = class.kind;
            package.platform_only = class.platform_only;
        }
    }

    /// Several inventories as one (a Rust workspace and the Python project
    /// beside it, for one SBOM): packages re-sorted by ecosystem, name,
    /// version and source, edges and members renumbered, the first part's
    /// root, target and lock file kept, kinds kept as each part found them.
    pub fn merged(parts: Vec<Inventory>) -> Inventory {
        let mut first = None;
        let mut fallback: Vec<String> = Vec::new();
        let mut all: Vec<(Package, Vec<Edge>, bool)> = Vec::new();
        let mut root_key = None;
        for part in parts {
            let offset = all.len();
            if first.is_none() {
                first = Some((part.target.clone(), part.lock_file.clone()));
                root_key = part.root.map(|r| r + offset);
            }
            fallback.extend(part.fallback_reason.clone());
            let is_root: Vec<bool> = (0..part.packages.len())
                .map(|i| part.workspace_members.contains(&i))
                .collect();
            for ((package, mut edges), member) in
                part.packages.into_iter().zip(part.depends_on).zip(is_root)
            {
                for edge in &mut edges {
                    edge.to += offset;
                }
                all.push((package, edges, member));
            }
        }
        let mut order: Vec<usize> = (0..all.len()).collect();
        order.sort_by(|&a, &b| {
            let (a, b) = (&all[a].0, &all[b].0);
            (a.ecosystem, &a.name, &a.version, &a.source).cmp(&(
                b.ecosystem,
                &b.name,
                &b.version,
                &b.source,
            ))
        });
        let mut new_index = vec![0; all.len()];
        for (new, &old) in order.iter().enumerate() {
            new_index[old] = new;
        }
        let mut slots: Vec<Option<(Package, Vec<Edge>, bool)>> =
            all.into_iter().map(Some).collect();
        let mut inventory = Inventory::empty(None);
        for &old in &order {
            let (package, mut edges, member) = slots[old].take().expect("each package once");
            for edge in &mut edges {
                edge.to = new_index[edge.to];
            }
            if member {
                inventory.workspace_members.push(inventory.packages.len());
            }
            inventory.packages.push(package);
            inventory.depends_on.push(edges);
        }
        for edges in &mut inventory.depends_on {
            edges.sort_by(|a, b| (a.to, a.kind, &a.target).cmp(&(b.to, b.kind, &b.target)));
            edges.dedup();
        }
        let (target, lock_file) = first.unwrap_or_default();
        inventory.target = target;
        inventory.lock_file = lock_file;
        inventory.root = root_key.map(|r| new_index[r]);
        inventory.fallback_reason = (!fallback.is_empty()).then(|| fallback.join("; "));
        inventory
    }

    /// Sorts edges and records members, leaving kinds as they are: for an
    /// inventory whose kinds are unknown (read from a lock file alone).
    pub fn finish_unclassified(&mut self) {
        for edges in &mut self.depends_on {
            edges.sort_by(|a, b| (a.to, a.kind, &a.target).cmp(&(b.to, b.kind, &b.target)));
            edges.dedup();
        }
        self.workspace_members = (0..self.packages.len())
            .filter(|&i| self.packages[i].is_member)
            .collect();
    }

    /// Whether an edge counts: dev-dependencies only of members (a
    /// resolver does not resolve those of other packages anyway).
    fn follows(&self, from: usize, edge: &Edge) -> bool {
        edge.kind != EdgeKind::Dev || self.packages[from].is_member
    }

    /// Classifies every package by its paths from `roots`: the kind is the
    /// most shipped over all paths (a path is as weak as its weakest edge:
    /// below a build edge everything is build, below a dev edge dev-only);
    /// the platform conditions are those of the paths of that kind.
    pub fn classify(&self, roots: &[usize]) -> Vec<Classification> {
        // States are (package, kind, outermost condition).
        let mut seen: HashSet<(usize, DependencyKind, Option<String>)> = HashSet::new();
        let mut queue = VecDeque::new();
        for &root in roots {
            let state = (root, DependencyKind::Normal, None);
            if seen.insert(state.clone()) {
                queue.push_back(state);
            }
        }
        while let Some((from, kind, condition)) = queue.pop_front() {
            for edge in &self.depends_on[from] {
                if !self.follows(from, edge) {
                    continue;
                }
                let edge_kind = match edge.kind {
                    EdgeKind::Normal | EdgeKind::Optional | EdgeKind::Peer => {
                        DependencyKind::Normal
                    }
                    EdgeKind::Build => DependencyKind::Build,
                    EdgeKind::Dev => DependencyKind::DevOnly,
                };
                let state = (
                    edge.to,
                    kind.max(edge_kind),
                    condition.clone().or_else(|| edge.target.clone()),
                );
                if seen.insert(state.clone()) {
                    queue.push_back(state);
                }
            }
        }
        let mut reached: Vec<BTreeMap<DependencyKind, BTreeSet<Option<String>>>> =
            vec![BTreeMap::new(); self.packages.len()];
        for (package, kind, condition) in seen {
            reached[package].entry(kind).or_default().insert(condition);
        }
        reached
            .into_iter()
            .map(|kinds| match kinds.into_iter().next() {
                None => Classification {
                    kind: None,
                    platform_only: None,
                },
                Some((kind, conditions)) => Classification {
                    kind: Some(kind),
                    platform_only: if conditions.contains(&None) {
                        None
                    } else {
                        Some(conditions.into_iter().flatten().collect())
                    },
                },
            })
            .collect()
    }

    /// Packages reachable from `roots` through edges that count.
    pub fn reachable(&self, roots: &[usize]) -> BTreeSet<usize> {
        let mut seen: BTreeSet<usize> = roots.iter().copied().collect();
        let mut queue: VecDeque<usize> = roots.iter().copied().collect();
        while let Some(from) = queue.pop_front() {
            for edge in &self.depends_on[from] {
                if self.follows(from, edge) && seen.insert(edge.to) {
                    queue.push_back(edge.to);
                }
            }
        }
        seen
    }

    /// The first package named `name` (at `version` when given).
    pub fn find(&self, name: &str, version: Option<&str>) -> Option<usize> {
        self.packages
            .iter()
            .position(|p| p.name == name && version.is_none_or(|v| p.version == v))
    }

    /// A shortest chain from a member to `package`, both ends included, as
    /// (name, version); empty when unreachable. Among equally short chains,
    /// the one through the packages first in order (by name).
    pub fn shortest_path(&self, package: usize) -> Vec<(String, String)> {
        self.shortest_paths(&[package])
            .remove(&package)
            .unwrap_or_default()
    }

    /// `shortest_path` for each of `packages`, from one search.
    pub fn shortest_paths(&self, packages: &[usize]) -> HashMap<usize, Vec<(String, String)>> {
        // Per package: unreached (None), a member (Some(None)), or reached
        // first from a parent. Indexed, not hashed: the search may visit
        // every package.
        let mut parent: Vec<Option<Option<usize>>> = vec![None; self.packages.len()];
        let mut wanted = vec![false; self.packages.len()];
        let mut left = 0;
        for &package in packages {
            if !std::mem::replace(&mut wanted[package], true) {
                left += 1;
            }
        }
        let mut queue = VecDeque::new();
        for &member in &self.workspace_members {
            if parent[member].is_none() {
                parent[member] = Some(None);
                queue.push_back(member);
                left -= usize::from(wanted[member]);
            }
        }
        // Breadth first, so parents are set in the same order however
        // early the search stops: it stops once every package asked for
        // is reached.
        while left > 0 {
            let Some(from) = queue.pop_front() else {
                break;
            };
            for edge in &self.depends_on[from] {
                if self.follows(from, edge) && parent[edge.to].is_none() {
                    parent[edge.to] = Some(Some(from));
                    queue.push_back(edge.to);
                    left -= usize::from(wanted[edge.to]);
                }
            }
        }
        let mut paths = HashMap::new();
        for &package in packages {
            if parent[package].is_none() {
                continue;
            }
            let mut chain = Vec::new();
            let mut current = Some(package);
            while let Some(index) = current {
                let p = &self.packages[index];
                chain.push((p.name.clone(), p.version.clone()));
                current = parent[index].flatten();
            }
            chain.reverse();
            paths.insert(package, chain);
        }
        paths
    }
}

#[cfg(test)]
mod tests {

    use super::*;

    #[test]
    fn merged_inventories_keep_their_edges_and_members_renumbered() {
        let registry = || PackageSource::Registry {
            url: "r".to_string(),
            public: true,
        };
        let part = |ecosystem, names: &[&str]| {
            let mut inventory = Inventory::empty(None);
            for name in names {
                let mut package = Package::bare(ecosystem, name, "1.0.0", registry());
                package.is_member = name.starts_with("app");
                inventory.packages.push(package);
                inventory.depends_on.push(Vec::new());
            }
            // The first package (the member) depends on the second.
            inventory.depends_on[0].push(Edge {
                to: 1,
                kind: EdgeKind::Normal,
                target: None,
            });
            inventory.finish_unclassified();
            inventory
        };
        let merged = Inventory::merged(vec![
            part(Ecosystem::PyPi, &["app-py", "django"]),
            part(Ecosystem::CratesIo, &["app-rs", "serde"]),
        ]);
        let names: Vec<&str> = merged.packages.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["app-rs", "serde", "app-py", "django"]);
        assert_eq!(merged.workspace_members, [0, 2]);
        assert_eq!(merged.depends_on[0][0].to, 1);
        assert_eq!(merged.depends_on[2][0].to, 3);
    }

    #[test]
    fn pypi_names_compare_in_their_pep_503_form() {
        for (name, normalized) in [
            ("Django", "django"),
            ("zope.interface", "zope-interface"),
            ("typing_extensions", "typing-extensions"),
            ("Foo-_.Bar", "foo-bar"),
            ("-Leading", "-leading"),
        ] {
            assert_eq!(Ecosystem::PyPi.normalize_name(name), normalized, "{name}");
        }
        assert_eq!(
            Ecosystem::CratesIo.normalize_name("Serde_json"),
            "Serde_json"
        );
    }

    #[test]
    fn transitive_nesting_below_dev_and_build_edges() {
        // app -dev-> a -> b ; app -build-> c -> d ; app -> d
        let package = |name: &str, member: bool| Package {
            is_member: member,
            ..Package::bare(
                Ecosystem::CratesIo,
                name,
                "1.0.0",
                PackageSource::Registry {
                    url: "registry+https://example.invalid/index".to_string(),
                    public: true,
                },
            )
        };
        let edge = |to, kind, target: Option<&str>| Edge {
            to,
            kind,
            target: target.map(str::to_string),
        };
        let mut inventory = Inventory {
            packages: vec![
                package("a", false),
                package("app", true),
                package("b", false),
                package("c", false),
                package("d", false),
                package("e", false),
            ],
            depends_on: vec![
                vec![edge(2, EdgeKind::Normal, None)],
                vec![
                    edge(0, EdgeKind::Dev, None),
                    edge(3, EdgeKind::Build, None),
                    edge(4, EdgeKind::Normal, Some("cfg(unix)")),
                ],
                // A dev edge of a non-member does not count.
                vec![edge(5, EdgeKind::Dev, None)],
                vec![edge(4, EdgeKind::Normal, None)],
                vec![edge(5, EdgeKind::Normal, None)],
                vec![],
            ],
            ..Inventory::empty(None)
        };
        inventory.finish();
        let kinds: Vec<_> = inventory.packages.iter().map(|p| p.kind).collect();
        use DependencyKind::*;
        assert_eq!(
            kinds,
            [
                Some(DevOnly),
                Some(Normal),
                Some(DevOnly),
                Some(Build),
                Some(Normal),
                Some(Normal)
            ]
        );
        // d and e ship normally only on unix; as build they are everywhere.
        assert_eq!(
            inventory.packages[4].platform_only,
            Some(vec!["cfg(unix)".to_string()])
        );
        assert_eq!(
            inventory.packages[5].platform_only,
            Some(vec!["cfg(unix)".to_string()])
        );
        assert_eq!(inventory.shortest_path(2).len(), 3);
        assert!(inventory
            .shortest_path(2)
            .starts_with(&[("app".into(), "1.0.0".into())]));
    }
}
