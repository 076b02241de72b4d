//! The resolved dependency graph of a Cargo workspace, shared by the
//! scanners: one `cargo metadata` run per workspace, or `Cargo.lock` alone
//! when cargo cannot run.

use crate::error::ScanError;
use crate::files::relative_path;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};

/// The default registry, as Cargo writes it in lock files and metadata.
pub const CRATES_IO: &str = "registry+https://github.com/rust-lang/crates.io-index";
const CRATES_IO_SPARSE: &str = "sparse+https://index.crates.io/";

/// Where a package comes from, as data.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PackageSource {
    /// `url` is the source as Cargo spells it (`registry+…`, `sparse+…`).
    Registry {
        url: String,
    },
    /// `url` without query or fragment; `reference` is `branch=…`, `tag=…`
    /// or `rev=…` as asked in the manifest; `rev` the locked commit.
    Git {
        url: String,
        reference: Option<String>,
        rev: String,
    },
    /// Relative to the workspace root with `/` separators; unknown when
    /// the graph comes from the lock file alone.
    Path {
        relative: Option<String>,
    },
    Other {
        repr: String,
    },
}

impl PackageSource {
    /// Parses a source as Cargo writes it in `Cargo.lock` and metadata.
    pub fn parse(repr: &str) -> PackageSource {
        if repr.starts_with("registry+") || repr.starts_with("sparse+") {
            return PackageSource::Registry {
                url: repr.to_string(),
            };
        }
        if let Some(rest) = repr.strip_prefix("git+") {
            let (location, rev) = rest.split_once('#').unwrap_or((rest, ""));
            let (url, reference) = match location.split_once('?') {
                Some((url, query)) => (url, Some(query.to_string())),
                None => (location, None),
            };
            return PackageSource::Git {
                url: url.to_string(),
                reference,
                rev: rev.to_string(),
            };
        }
        if repr.starts_with("path+") {
            return PackageSource::Path { relative: None };
        }
        PackageSource::Other {
            repr: repr.to_string(),
        }
    }

    pub fn is_crates_io(&self) -> bool {
        matches!(self, PackageSource::Registry { url } if url == CRATES_IO || url == CRATES_IO_SPARSE)
    }
}

/// How a package is reached from the workspace members. Ordered from the
/// most to the least shipped, so the minimum over all paths wins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DependencyKind {
    Normal,
    Build,
    DevOnly,
}

/// The kind of one edge, as declared in the manifest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EdgeKind {
    Normal,
    Build,
    Dev,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edge {
    pub to: usize,
    pub kind: EdgeKind,
    /// The `cfg(…)` or triple of a target-specific dependency.
    pub target: Option<String>,
}

/// Where a package sits relative to the members that were classified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Classification {
    /// `None`: unreachable from the roots, or unknown (lock file only).
    pub kind: Option<DependencyKind>,
    /// The target conditions when every path of that kind goes through a
    /// target-specific edge; `None` when some path is unconditional.
    pub platform_only: Option<Vec<String>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphPackage {
    pub name: String,
    pub version: String,
    pub source: PackageSource,
    /// SHA-256 of the `.crate` file, from `Cargo.lock`.
    pub checksum: Option<String>,
    pub license: Option<String>,
    /// As written in the manifest: relative to the package's directory.
    pub license_file: Option<String>,
    pub description: Option<String>,
    pub repository: Option<String>,
    pub documentation: Option<String>,
    pub homepage: Option<String>,
    /// Has a binary target.
    pub is_application: bool,
    pub is_member: bool,
    /// Classification from all workspace members.
    pub kind: Option<DependencyKind>,
    pub platform_only: Option<Vec<String>>,
}

impl GraphPackage {
    /// A package known only by name, version and source: what a lock file
    /// says; no manifest metadata, not a member, not classified.
    pub fn bare(name: &str, version: &str, source: PackageSource) -> GraphPackage {
        GraphPackage {
            name: name.to_string(),
            version: version.to_string(),
            source,
            checksum: None,
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
pub struct PackageGraph {
    /// Sorted by name, version and source.
    pub packages: Vec<GraphPackage>,
    /// Outgoing edges of each package, sorted.
    pub depends_on: Vec<Vec<Edge>>,
    /// Indexes into `packages`, sorted.
    pub workspace_members: Vec<usize>,
    /// The root package when the workspace is not virtual.
    pub root: Option<usize>,
    /// The platform the resolve was filtered to, if any.
    pub target: Option<String>,
    /// Set when built from `Cargo.lock` alone: why cargo metadata was not used.
    pub fallback_reason: Option<String>,
}

/// How to run `cargo metadata`.
#[derive(Clone, Debug, Default)]
pub struct MetadataOptions {
    pub offline: bool,
    pub target: Option<String>,
}

/// Why `cargo metadata` gave no graph.
#[derive(Debug)]
pub enum MetadataFailure {
    /// The lock file can stand in (cargo missing, sources not reachable).
    Unavailable(String),
    /// The project itself is broken: a failure of the scan.
    Failed(ScanError),
}

/// The cargo binary: `SECGATE_CARGO`, else the `CARGO` that runs us, else `cargo`.
fn cargo_binary() -> PathBuf {
    std::env::var_os("SECGATE_CARGO")
        .or_else(|| std::env::var_os("CARGO"))
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("cargo"))
}

/// How long `cargo metadata` may run: `SECGATE_METADATA_TIMEOUT_SECS`, else
/// five minutes (a cold registry on a slow network takes a while).
fn metadata_timeout() -> std::time::Duration {
    std::env::var("SECGATE_METADATA_TIMEOUT_SECS")
        .ok()
        .and_then(|text| text.trim().parse::<u64>().ok())
        .filter(|&seconds| seconds > 0)
        .map_or(
            std::time::Duration::from_secs(300),
            std::time::Duration::from_secs,
        )
}

/// Stderr of cargo that means "could not get the sources", not "broken project".
fn is_unavailable(stderr: &str) -> bool {
    const SIGNS: [&str; 8] = [
        "offline",
        "network",
        "failed to download",
        "failed to load source",
        "failed to get",
        "failed to fetch",
        "unable to update",
        "Couldn't resolve host",
    ];
    SIGNS.iter().any(|sign| stderr.contains(sign))
}

impl PackageGraph {
    /// Runs `cargo metadata --locked` once for the workspace of `dir`.
    pub fn from_cargo_metadata(
        dir: &Path,
        options: &MetadataOptions,
    ) -> Result<PackageGraph, MetadataFailure> {
        let manifest = dir.join("Cargo.toml");
        let lock_path = dir.join("Cargo.lock");
        let mut command = cargo_metadata::MetadataCommand::new();
        // Absolute: cargo runs in another directory (below).
        let absolute = dir
            .canonicalize()
            .unwrap_or_else(|_| dir.to_path_buf())
            .join("Cargo.toml");
        command.cargo_path(cargo_binary()).manifest_path(absolute);
        let mut extra = vec!["--locked".to_string()];
        if options.offline {
            extra.push("--offline".to_string());
        }
        if let Some(target) = &options.target {
            extra.push("--filter-platform".to_string());
            extra.push(target.clone());
        }
        command.other_options(extra);
        let mut process = command.cargo_command();
        // cargo and rustup read `.cargo/config.toml` and `rust-toolchain.toml`
        // from the working directory: run elsewhere so the scanned repository
        // cannot choose the rustc (or wrapper) that cargo probes with.
        process
            .current_dir(std::env::temp_dir())
            .env("CARGO_TERM_COLOR", "never")
            .env("RUSTC_WRAPPER", "")
            .env("RUSTC_WORKSPACE_WRAPPER", "");
        let timeout = metadata_timeout();
        // A cargo stuck on a lock or a network is no package graph, not a
        // gate that never returns; the fallback counts everything shipped.
        let output = crate::process::run_with_timeout(&mut process, timeout).map_err(|error| {
            MetadataFailure::Unavailable(format!(
                "cargo metadata ({}): {error}",
                cargo_binary().display()
            ))
        })?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let message = stderr
                .lines()
                .filter(|l| !l.trim().is_empty())
                .take(6)
                .collect::<Vec<_>>()
                .join(" | ");
            let message = format!("cargo metadata failed: {message}");
            return Err(if is_unavailable(&stderr) {
                MetadataFailure::Unavailable(message)
            } else {
                MetadataFailure::Failed(ScanError::BadInput {
                    path: manifest,
                    message,
                })
            });
        }
        let stdout = String::from_utf8_lossy(&output.stdout);
        let json = stdout.lines().find(|l| l.starts_with('{')).unwrap_or("");
        let metadata = cargo_metadata::MetadataCommand::parse(json).map_err(|e| {
            MetadataFailure::Failed(ScanError::BadInput {
                path: manifest.clone(),
                message: format!("unreadable cargo metadata output: {e}"),
            })
        })?;
        // `--locked` passed, so cargo found it; a race is the only way to fail here.
        let text = read_lock(&lock_path).map_err(MetadataFailure::Failed)?;
        let lock = parse_lock(&lock_path, &text).map_err(MetadataFailure::Failed)?;
        Ok(Self::from_metadata(
            &metadata,
            &lock,
            options.target.clone(),
        ))
    }

    fn from_metadata(
        metadata: &cargo_metadata::Metadata,
        lock: &[LockPackage],
        target: Option<String>,
    ) -> PackageGraph {
        let root_dir = metadata.workspace_root.as_std_path();
        let checksums: HashMap<(&str, &str, &str), &str> = lock
            .iter()
            .filter_map(|p| {
                let checksum = p.checksum.as_deref()?;
                Some((
                    (
                        p.name.as_str(),
                        p.version.as_str(),
                        p.source.as_deref().unwrap_or(""),
                    ),
                    checksum,
                ))
            })
            .collect();
        let Some(resolve) = &metadata.resolve else {
            // Only with --no-deps, which we never pass.
            return PackageGraph::empty(target);
        };
        let in_resolve: HashSet<&cargo_metadata::PackageId> =
            resolve.nodes.iter().map(|n| &n.id).collect();
        let members: HashSet<&cargo_metadata::PackageId> =
            metadata.workspace_members.iter().collect();
        let mut packages: Vec<(&cargo_metadata::PackageId, GraphPackage)> = metadata
            .packages
            .iter()
            .filter(|p| in_resolve.contains(&p.id))
            .map(|p| {
                let source = match &p.source {
                    Some(source) => PackageSource::parse(&source.repr),
                    None => PackageSource::Path {
                        relative: Some(relative_path(
                            root_dir,
                            p.manifest_path
                                .parent()
                                .map(|d| d.as_std_path())
                                .unwrap_or(root_dir),
                        )),
                    },
                };
                let version = p.version.to_string();
                let repr = p.source.as_ref().map(|s| s.repr.as_str()).unwrap_or("");
                let checksum = checksums
                    .get(&(p.name.as_str(), version.as_str(), repr))
                    .map(|c| c.to_string());
                let package = GraphPackage {
                    name: p.name.to_string(),
                    version,
                    source,
                    checksum,
                    license: p.license.clone(),
                    license_file: p.license_file.as_ref().map(|f| f.to_string()),
                    description: p.description.clone(),
                    repository: p.repository.clone(),
                    documentation: p.documentation.clone(),
                    homepage: p.homepage.clone(),
                    is_application: p.targets.iter().any(|t| t.is_bin()),
                    is_member: members.contains(&p.id),
                    kind: None,
                    platform_only: None,
                };
                (&p.id, package)
            })
            .collect();
        packages.sort_by(|a, b| package_order(&a.1, &b.1));
        let index: HashMap<&cargo_metadata::PackageId, usize> = packages
            .iter()
            .enumerate()
            .map(|(i, (id, _))| (*id, i))
            .collect();
        let mut depends_on = vec![Vec::new(); packages.len()];
        for node in &resolve.nodes {
            let Some(&from) = index.get(&node.id) else {
                continue;
            };
            for dep in &node.deps {
                let Some(&to) = index.get(&dep.pkg) else {
                    continue;
                };
                for info in &dep.dep_kinds {
                    let kind = match info.kind {
                        cargo_metadata::DependencyKind::Development => EdgeKind::Dev,
                        cargo_metadata::DependencyKind::Build => EdgeKind::Build,
                        _ => EdgeKind::Normal,
                    };
                    depends_on[from].push(Edge {
                        to,
                        kind,
                        target: info.target.as_ref().map(|t| t.to_string()),
                    });
                }
            }
        }
        let root = resolve.root.as_ref().and_then(|id| index.get(id).copied());
        let mut graph = PackageGraph {
            packages: packages.into_iter().map(|(_, p)| p).collect(),
            depends_on,
            workspace_members: Vec::new(),
            root,
            target,
            fallback_reason: None,
        };
        graph.finish();
        graph
    }

    fn empty(target: Option<String>) -> PackageGraph {
        PackageGraph {
            packages: Vec::new(),
            depends_on: Vec::new(),
            workspace_members: Vec::new(),
            root: None,
            target,
            fallback_reason: None,
        }
    }

    /// Names, versions, sources, checksums and edges from `Cargo.lock` alone;
    /// kinds, licenses and paths stay unknown. Packages without a source
    /// that nothing depends on stand in for the workspace members.
    pub fn from_lockfile(
        path: &Path,
        reason: impl Into<String>,
    ) -> Result<PackageGraph, ScanError> {
        let text = read_lock(path)?;
        let lock = parse_lock(path, &text)?;
        let mut packages: Vec<(usize, GraphPackage)> = lock
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let source = match &p.source {
                    Some(repr) => PackageSource::parse(repr),
                    None => PackageSource::Path { relative: None },
                };
                (
                    i,
                    GraphPackage {
                        checksum: p.checksum.clone(),
                        ..GraphPackage::bare(&p.name, &p.version, source)
                    },
                )
            })
            .collect();
        packages.sort_by(|a, b| package_order(&a.1, &b.1));
        let position: HashMap<usize, usize> = packages
            .iter()
            .enumerate()
            .map(|(sorted, (original, _))| (*original, sorted))
            .collect();
        let mut depends_on = vec![Vec::new(); packages.len()];
        for (original, entry) in lock.iter().enumerate() {
            let from = position[&original];
            for dependency in &entry.dependencies {
                let to = resolve_lock_dependency(&lock, dependency).ok_or_else(|| {
                    ScanError::BadInput {
                        path: path.to_path_buf(),
                        message: format!(
                            "package {} {} depends on `{dependency}`, which is not in the lock file",
                            entry.name, entry.version
                        ),
                    }
                })?;
                depends_on[from].push(Edge {
                    to: position[&to],
                    kind: EdgeKind::Normal,
                    target: None,
                });
            }
        }
        let mut packages: Vec<GraphPackage> = packages.into_iter().map(|(_, p)| p).collect();
        let depended: HashSet<usize> = depends_on.iter().flatten().map(|e| e.to).collect();
        for (i, package) in packages.iter_mut().enumerate() {
            package.is_member =
                matches!(package.source, PackageSource::Path { .. }) && !depended.contains(&i);
        }
        let mut graph = PackageGraph {
            packages,
            depends_on,
            workspace_members: Vec::new(),
            root: None,
            target: None,
            fallback_reason: Some(reason.into()),
        };
        graph.finish();
        if graph.workspace_members.len() == 1 {
            graph.root = graph.workspace_members.first().copied();
        }
        // Without the manifests the kinds are unknown, not "normal".
        for package in &mut graph.packages {
            package.kind = None;
            package.platform_only = None;
        }
        Ok(graph)
    }

    /// Sorts edges, records members, classifies from all members.
    fn finish(&mut self) {
        for edges in &mut self.depends_on {
            edges.sort_by(|a, b| (a.to, a.kind, &a.target).cmp(&(b.to, b.kind, &b.target)));
            edges.dedup();
        }
        self.workspace_members = (0..self.packages.len())
            .filter(|&i| self.packages[i].is_member)
            .collect();
        let members = self.workspace_members.clone();
        let classes = self.classify(&members);
        for (package, class) in self.packages.iter_mut().zip(classes) {
            package.kind = class.kind;
            package.platform_only = class.platform_only;
        }
    }

    /// Whether an edge counts: dev-dependencies only of workspace members
    /// (cargo does not resolve those of other packages anyway).
    fn follows(&self, from: usize, edge: &Edge) -> bool {
        edge.kind != EdgeKind::Dev || self.packages[from].is_member
    }

    /// Classifies every package by its paths from `roots`: the kind is the
    /// most shipped over all paths (a path is as weak as its weakest edge:
    /// below a build edge everything is build, below a dev edge dev-only);
    /// the platform conditions are those of the paths of that kind.
    pub fn classify(&self, roots: &[usize]) -> Vec<Classification> {
        // States are (package, kind, outermost target condition).
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
                    EdgeKind::Normal => DependencyKind::Normal,
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

    /// A shortest chain from a workspace member to `package`, both ends
    /// included, as (name, version); empty when unreachable.
    pub fn shortest_path(&self, package: usize) -> Vec<(String, String)> {
        let mut parent: HashMap<usize, Option<usize>> = HashMap::new();
        let mut queue = VecDeque::new();
        for &member in &self.workspace_members {
            parent.insert(member, None);
            queue.push_back(member);
        }
        while let Some(from) = queue.pop_front() {
            if from == package {
                break;
            }
            for edge in &self.depends_on[from] {
                if self.follows(from, edge) && !parent.contains_key(&edge.to) {
                    parent.insert(edge.to, Some(from));
                    queue.push_back(edge.to);
                }
            }
        }
        if !parent.contains_key(&package) {
            return Vec::new();
        }
        let mut chain = Vec::new();
        let mut current = Some(package);
        while let Some(index) = current {
            let p = &self.packages[index];
            chain.push((p.name.clone(), p.version.clone()));
            current = parent[&index];
        }
        chain.reverse();
        chain
    }
}

fn package_order(a: &GraphPackage, b: &GraphPackage) -> std::cmp::Ordering {
    (&a.name, semver_key(&a.version), &a.version, &a.source).cmp(&(
        &b.name,
        semver_key(&b.version),
        &b.version,
        &b.source,
    ))
}

/// Orders 0.9 before 0.10; pre-release tags compare as text.
fn semver_key(version: &str) -> Vec<u64> {
    version
        .split(['-', '+'])
        .next()
        .unwrap_or("")
        .split('.')
        .map(|n| n.parse().unwrap_or(0))
        .collect()
}

/// One `[[package]]` of a `Cargo.lock`.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct LockPackage {
    pub name: String,
    pub version: String,
    pub source: Option<String>,
    pub checksum: Option<String>,
    #[serde(default)]
    pub dependencies: Vec<String>,
}

#[derive(serde::Deserialize)]
struct LockFile {
    #[serde(default)]
    package: Vec<toml::Spanned<LockPackage>>,
}

/// Reads a lock file, refusing what is not a regular file of sane size
/// (a FIFO would block, a link to /dev/zero would read forever).
pub fn read_lock(path: &Path) -> Result<String, ScanError> {
    if let Some(why) = crate::files::unsafe_to_read(path) {
        return Err(ScanError::BadInput {
            path: path.to_path_buf(),
            message: why,
        });
    }
    std::fs::read_to_string(path).map_err(|source| ScanError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Parses a lock file; errors carry the line. Two entries for one package
/// (which cargo refuses) are an error, not a silent pick of one.
pub fn parse_lock(path: &Path, text: &str) -> Result<Vec<LockPackage>, ScanError> {
    let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
    let lock: LockFile = toml::from_str(text).map_err(|e| ScanError::BadInputAt {
        path: path.to_path_buf(),
        line: line_of(e.span().map_or(0, |s| s.start)),
        message: format!("not a valid Cargo.lock: {}", one_line(e.message())),
    })?;
    let mut seen = HashMap::new();
    for entry in &lock.package {
        let package = entry.get_ref();
        let key = (&package.name, &package.version, &package.source);
        let line = line_of(entry.span().start);
        if let Some(first) = seen.insert(key, line) {
            return Err(ScanError::BadInputAt {
                path: path.to_path_buf(),
                line,
                message: format!(
                    "package {} {} is listed twice (first at line {first})",
                    package.name, package.version
                ),
            });
        }
    }
    Ok(lock.package.into_iter().map(|p| p.into_inner()).collect())
}

/// A parser's message as one line: a lock file's error is printed in a
/// terminal line, a SARIF notification and a markdown table cell.
fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// An error from a TOML parser as `path:line:column: message`, without the
/// source snippet toml's Display adds (it quotes the file's lines, which
/// could hold a credential in a git source URL, and spans several lines).
pub fn located_toml_error(path: &Path, context: &str, error: &str) -> String {
    let mut position = None;
    let mut words = Vec::new();
    for line in error.lines() {
        let trimmed = line.trim_start();
        if let Some(at) = line.find("TOML parse error at line ") {
            let rest = &line[at + "TOML parse error at line ".len()..];
            let mut numbers = rest.split(", column ");
            let line_number = numbers.next().and_then(|n| n.trim().parse::<usize>().ok());
            let column = numbers.next().and_then(|n| n.trim().parse::<usize>().ok());
            // What precedes it (`parse error:`) says no more than `context`.
            position = line_number.map(|l| (l, column));
            continue;
        }
        // The snippet: `  |`, `5 | text`, `  |     ^^^`.
        let is_snippet = trimmed.starts_with('|')
            || trimmed
                .split_once(" |")
                .is_some_and(|(number, _)| number.chars().all(|c| c.is_ascii_digit()));
        if !is_snippet {
            words.push(trimmed.to_string());
        }
    }
    let message = one_line(&words.join(" "));
    match position {
        Some((line, Some(column))) => {
            format!("{}:{line}:{column}: {context}: {message}", path.display())
        }
        Some((line, None)) => format!("{}:{line}: {context}: {message}", path.display()),
        None => format!("{}: {context}: {message}", path.display()),
    }
}

/// A lock file names a dependency `name`, `name version` or
/// `name version (source)`, just as precisely as needed to be unique.
fn resolve_lock_dependency(lock: &[LockPackage], dependency: &str) -> Option<usize> {
    let mut parts = dependency.splitn(3, ' ');
    let name = parts.next()?;
    let version = parts.next();
    let source = parts
        .next()
        .map(|s| s.trim_start_matches('(').trim_end_matches(')'));
    lock.iter().position(|p| {
        p.name == name
            && version.is_none_or(|v| p.version == v)
            && source.is_none_or(|s| p.source.as_deref() == Some(s))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/projects")
            .join(name)
    }

    fn load(name: &str) -> PackageGraph {
        let options = MetadataOptions {
            offline: true,
            target: None,
        };
        match PackageGraph::from_cargo_metadata(&project(name), &options) {
            Ok(graph) => graph,
            Err(MetadataFailure::Unavailable(e)) => panic!("{e}"),
            Err(MetadataFailure::Failed(e)) => panic!("{e}"),
        }
    }

    fn class(graph: &PackageGraph, name: &str) -> (Option<DependencyKind>, Option<Vec<String>>) {
        let p = &graph.packages[graph.find(name, None).unwrap_or_else(|| panic!("{name}"))];
        (p.kind, p.platform_only.clone())
    }

    #[test]
    fn single_crate_dev_dependency_is_dev_only() {
        let graph = load("single");
        let names: Vec<_> = graph.packages.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["itoa", "memchr", "single-app"]);
        assert_eq!(graph.root, graph.find("single-app", None));
        assert_eq!(class(&graph, "itoa"), (Some(DependencyKind::Normal), None));
        assert_eq!(
            class(&graph, "memchr"),
            (Some(DependencyKind::DevOnly), None)
        );
        let itoa = &graph.packages[graph.find("itoa", None).unwrap()];
        assert_eq!(
            itoa.checksum.as_deref(),
            Some("3bd1574e617a9a6c1f8f8181bd7e841e1f20e4277607ef28945765188d6284d4")
        );
        assert!(itoa.source.is_crates_io());
        assert_eq!(itoa.license.as_deref(), Some("MIT OR Apache-2.0"));
        assert!(graph.fallback_reason.is_none());
    }

    #[test]
    fn workspace_members_and_relative_paths() {
        let graph = load("workspace");
        let members: Vec<_> = graph
            .workspace_members
            .iter()
            .map(|&i| graph.packages[i].name.as_str())
            .collect();
        assert_eq!(members, ["ws-app", "ws-lib"]);
        assert_eq!(graph.root, None, "a virtual workspace has no root package");
        let lib = &graph.packages[graph.find("ws-lib", None).unwrap()];
        assert_eq!(
            lib.source,
            PackageSource::Path {
                relative: Some("lib".to_string())
            }
        );
        assert_eq!(class(&graph, "itoa"), (Some(DependencyKind::Normal), None));
        assert_eq!(
            graph.shortest_path(graph.find("itoa", None).unwrap()),
            [
                ("ws-lib".to_string(), "0.2.0".to_string()),
                ("itoa".to_string(), "1.0.19".to_string())
            ]
        );
    }

    #[test]
    fn build_dev_and_platform_kinds_propagate() {
        let graph = load("mixed");
        // Reached normally through the path dependency, and through a
        // dev-only dependency: normal wins.
        assert_eq!(
            class(&graph, "memchr"),
            (Some(DependencyKind::Normal), None)
        );
        assert_eq!(
            class(&graph, "aho-corasick"),
            (Some(DependencyKind::DevOnly), None)
        );
        assert_eq!(class(&graph, "hex"), (Some(DependencyKind::DevOnly), None));
        assert_eq!(class(&graph, "cfg-if"), (Some(DependencyKind::Build), None));
        // A build-dependency of a normal dependency is still build.
        assert_eq!(
            class(&graph, "percent-encoding"),
            (Some(DependencyKind::Build), None)
        );
        assert_eq!(
            class(&graph, "itoa"),
            (
                Some(DependencyKind::Normal),
                Some(vec!["cfg(windows)".to_string()])
            )
        );
        let util = &graph.packages[graph.find("mixed-util", None).unwrap()];
        assert!(!util.is_member);
        assert_eq!(util.license_file.as_deref(), Some("LICENSE.txt"));
        assert_eq!(
            util.source,
            PackageSource::Path {
                relative: Some("util".to_string())
            }
        );
        assert_eq!(
            graph.shortest_path(graph.find("percent-encoding", None).unwrap()),
            [
                ("mixed-app".to_string(), "0.1.0".to_string()),
                ("mixed-util".to_string(), "0.4.2".to_string()),
                ("percent-encoding".to_string(), "2.3.2".to_string())
            ]
        );
    }

    #[test]
    fn filter_platform_drops_other_platforms() {
        let options = MetadataOptions {
            offline: true,
            target: Some("x86_64-unknown-linux-gnu".to_string()),
        };
        let Ok(graph) = PackageGraph::from_cargo_metadata(&project("mixed"), &options) else {
            panic!("cargo metadata failed");
        };
        assert!(graph.find("itoa", None).is_none());
        assert!(graph.find("memchr", None).is_some());
    }

    #[test]
    fn transitive_nesting_below_dev_and_build_edges() {
        // app -dev-> a -> b ; app -build-> c -> d ; app -> d
        let package = |name: &str, member: bool| GraphPackage {
            is_member: member,
            ..GraphPackage::bare(
                name,
                "1.0.0",
                PackageSource::Registry {
                    url: CRATES_IO.to_string(),
                },
            )
        };
        let edge = |to, kind, target: Option<&str>| Edge {
            to,
            kind,
            target: target.map(str::to_string),
        };
        let mut graph = PackageGraph {
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
            workspace_members: Vec::new(),
            root: None,
            target: None,
            fallback_reason: None,
        };
        graph.finish();
        let kinds: Vec<_> = graph.packages.iter().map(|p| p.kind).collect();
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
            graph.packages[4].platform_only,
            Some(vec!["cfg(unix)".to_string()])
        );
        assert_eq!(
            graph.packages[5].platform_only,
            Some(vec!["cfg(unix)".to_string()])
        );
        assert_eq!(graph.shortest_path(2).len(), 3);
    }

    #[test]
    fn lockfile_fallback_keeps_sources_and_edges() {
        let graph = PackageGraph::from_lockfile(
            &project("git-lock/Cargo.lock"),
            "cargo metadata could not run",
        )
        .unwrap();
        assert_eq!(
            graph.fallback_reason.as_deref(),
            Some("cargo metadata could not run")
        );
        let app = graph.find("git-app", None).unwrap();
        assert_eq!(graph.workspace_members, [app]);
        assert_eq!(graph.root, Some(app));
        let git = &graph.packages[graph.find("gitdep", None).unwrap()];
        assert_eq!(
            git.source,
            PackageSource::Git {
                url: "https://github.com/example/gitdep".to_string(),
                reference: Some("branch=main".to_string()),
                rev: "0123456789abcdef0123456789abcdef01234567".to_string()
            }
        );
        assert!(graph.packages.iter().all(|p| p.kind.is_none()));
        // Two versions of one name: dependencies name the version.
        let targets: Vec<_> = graph.depends_on[app]
            .iter()
            .map(|e| {
                let p = &graph.packages[e.to];
                format!("{}@{}", p.name, p.version)
            })
            .collect();
        assert_eq!(
            targets,
            [
                "git-util@0.2.0",
                "gitdep@0.1.0",
                "itoa@0.4.8",
                "itoa@1.0.19"
            ]
        );
    }

    #[test]
    fn sources_parse() {
        assert!(PackageSource::parse(CRATES_IO).is_crates_io());
        assert!(PackageSource::parse("sparse+https://index.crates.io/").is_crates_io());
        assert!(!PackageSource::parse("sparse+https://my.registry/index/").is_crates_io());
        assert_eq!(
            PackageSource::parse("git+https://h/r#abc"),
            PackageSource::Git {
                url: "https://h/r".to_string(),
                reference: None,
                rev: "abc".to_string()
            }
        );
    }
}
