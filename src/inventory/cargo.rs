//! The Cargo reader of the package inventory: one `cargo metadata --locked`
//! run per workspace (kinds, platforms, licenses), or `Cargo.lock` alone
//! when cargo cannot run (names, versions, sources, checksums, edges).

use super::{Ecosystem, Edge, EdgeKind, Inventory, Package, PackageSource};
use crate::error::ScanError;
use crate::files::relative_path;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

mod lock;

pub use lock::{parse_lock, parse_lock_as_toml, read_lock, LockPackage};

/// The default registry, as Cargo writes it in lock files and metadata.
pub const CRATES_IO: &str = "registry+https://github.com/rust-lang/crates.io-index";
/// crates.io through the sparse protocol: the same registry.
pub const CRATES_IO_SPARSE: &str = "sparse+https://index.crates.io/";

/// Whether a source, as Cargo writes it, is crates.io (either protocol).
pub fn is_crates_io(repr: &str) -> bool {
    repr == CRATES_IO || repr == CRATES_IO_SPARSE
}

/// Parses a source as Cargo writes it in `Cargo.lock` and metadata.
pub fn source_of(repr: &str) -> PackageSource {
    if repr.starts_with("registry+") || repr.starts_with("sparse+") {
        return PackageSource::Registry {
            url: repr.to_string(),
            public: is_crates_io(repr),
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

/// Runs `cargo metadata --locked` once for the workspace of `dir`.
pub fn from_cargo_metadata(
    dir: &Path,
    options: &MetadataOptions,
) -> Result<Inventory, MetadataFailure> {
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
    Ok(from_metadata(
        &metadata,
        &lock,
        &lock_path,
        options.target.clone(),
    ))
}

fn from_metadata(
    metadata: &cargo_metadata::Metadata,
    lock: &[LockPackage],
    lock_path: &Path,
    target: Option<String>,
) -> Inventory {
    let root_dir = metadata.workspace_root.as_std_path();
    let checksums: HashMap<(&str, &str, &str), &str> = lock
        .iter()
        .filter_map(|p| {
            let checksum = p.checksum.as_deref()?;
            Some((
                (&*p.name, &*p.version, p.source.as_deref().unwrap_or("")),
                checksum,
            ))
        })
        .collect();
    let Some(resolve) = &metadata.resolve else {
        // Only with --no-deps, which we never pass.
        return Inventory::empty(target);
    };
    let in_resolve: HashSet<&cargo_metadata::PackageId> =
        resolve.nodes.iter().map(|n| &n.id).collect();
    let members: HashSet<&cargo_metadata::PackageId> = metadata.workspace_members.iter().collect();
    let mut packages: Vec<(&cargo_metadata::PackageId, Package)> = metadata
        .packages
        .iter()
        .filter(|p| in_resolve.contains(&p.id))
        .map(|p| {
            let source = match &p.source {
                Some(source) => source_of(&source.repr),
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
            let package = Package {
                ecosystem: Ecosystem::CratesIo,
                name: p.name.to_string(),
                version,
                source,
                checksum,
                hashes: Vec::new(),
                lines: None,
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
    sort_packages(&mut packages);
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
    let mut inventory = Inventory {
        packages: packages.into_iter().map(|(_, p)| p).collect(),
        depends_on,
        root,
        lock_file: Some(lock_path.to_path_buf()),
        ..Inventory::empty(target)
    };
    inventory.finish();
    inventory
}

/// Names, versions, sources, checksums, lines and edges from `Cargo.lock`
/// alone; kinds, licenses and paths stay unknown. Packages without a source
/// that nothing depends on stand in for the workspace members.
pub fn from_lockfile(path: &Path, reason: impl Into<String>) -> Result<Inventory, ScanError> {
    let text = read_lock(path)?;
    from_lock_text(path, &text, reason)
}

/// `from_lockfile` on a lock file already read.
pub fn from_lock_text(
    path: &Path,
    text: &str,
    reason: impl Into<String>,
) -> Result<Inventory, ScanError> {
    from_lock(path, &parse_lock(path, text)?, reason)
}

/// `from_lock_text` on a lock file already parsed.
pub fn from_lock(
    path: &Path,
    lock: &[LockPackage],
    reason: impl Into<String>,
) -> Result<Inventory, ScanError> {
    let mut packages: Vec<(usize, Package)> = lock
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let source = match &p.source {
                Some(repr) => source_of(repr),
                None => PackageSource::Path { relative: None },
            };
            (
                i,
                Package {
                    checksum: p.checksum.as_deref().map(str::to_string),
                    lines: Some(p.lines),
                    ..Package::bare(Ecosystem::CratesIo, &p.name, &p.version, source)
                },
            )
        })
        .collect();
    sort_packages(&mut packages);
    let position: Vec<usize> = {
        let mut position = vec![0; packages.len()];
        for (sorted, (original, _)) in packages.iter().enumerate() {
            position[*original] = sorted;
        }
        position
    };
    let by_name = ByName::new(&packages);
    let mut depends_on = vec![Vec::new(); packages.len()];
    for (original, entry) in lock.iter().enumerate() {
        let from = position[original];
        for dependency in &entry.dependencies {
            let to = by_name
                .resolve(&packages, lock, dependency)
                .ok_or_else(|| ScanError::BadInputAt {
                    path: path.to_path_buf(),
                    line: entry.lines.start as usize,
                    column: None,
                    message: format!(
                        "package {} {} depends on `{dependency}`, which is not in the lock file",
                        entry.name, entry.version
                    ),
                })?;
            depends_on[from].push(Edge {
                to: position[to],
                kind: EdgeKind::Normal,
                target: None,
            });
        }
    }
    let mut packages: Vec<Package> = packages.into_iter().map(|(_, p)| p).collect();
    let mut depended = vec![false; packages.len()];
    for edge in depends_on.iter().flatten() {
        depended[edge.to] = true;
    }
    let is_path = |p: &Package| matches!(p.source, PackageSource::Path { .. });
    let roots: Vec<usize> = (0..packages.len())
        .filter(|&i| is_path(&packages[i]) && !depended[i])
        .collect();
    // Members that depend on each other in a cycle: every path package.
    let members: Vec<usize> = if roots.is_empty() {
        (0..packages.len())
            .filter(|&i| is_path(&packages[i]))
            .collect()
    } else {
        roots
    };
    for &i in &members {
        packages[i].is_member = true;
    }
    let mut inventory = Inventory {
        packages,
        depends_on,
        fallback_reason: Some(reason.into()),
        lock_file: Some(path.to_path_buf()),
        ..Inventory::empty(None)
    };
    // Without the manifests the kinds are unknown, not "normal": nothing
    // to classify.
    inventory.finish_unclassified();
    if inventory.workspace_members.len() == 1 {
        inventory.root = inventory.workspace_members.first().copied();
    }
    Ok(inventory)
}

/// By name, version (0.9 before 0.10) and source. Versions are split only
/// to order two of one name: lock files and metadata mostly list packages
/// in order already, and names rarely tie.
fn sort_packages<T>(packages: &mut [(T, Package)]) {
    packages.sort_by(|(_, a), (_, b)| {
        a.name
            .cmp(&b.name)
            .then_with(|| semver_key(&a.version).cmp(&semver_key(&b.version)))
            .then_with(|| a.version.cmp(&b.version))
            .then_with(|| a.source.cmp(&b.source))
    });
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
    let message = crate::text::one_line(&words.join(" "));
    match position {
        Some((line, Some(column))) => {
            format!("{}:{line}:{column}: {context}: {message}", path.display())
        }
        Some((line, None)) => format!("{}:{line}: {context}: {message}", path.display()),
        None => format!("{}: {context}: {message}", path.display()),
    }
}

/// The packages of a lock file by name, for resolving its dependency
/// lists: where each name's run starts and ends among the packages sorted
/// by name (found once per name, not once per dependency).
struct ByName<'a>(HashMap<&'a str, (usize, usize)>);

impl<'a> ByName<'a> {
    fn new(sorted: &'a [(usize, Package)]) -> ByName<'a> {
        let mut runs: HashMap<&str, (usize, usize)> = HashMap::with_capacity(sorted.len());
        for (index, (_, package)) in sorted.iter().enumerate() {
            runs.entry(package.name.as_str())
                .and_modify(|run| run.1 = index + 1)
                .or_insert((index, index + 1));
        }
        ByName(runs)
    }

    /// The lock entry (its index in `lock`) a dependency list names: `name`,
    /// `name version` or `name version (source)`, just as precisely as
    /// needed to be unique; the first in the lock file when several fit.
    fn resolve(
        &self,
        sorted: &[(usize, Package)],
        lock: &[LockPackage],
        dependency: &str,
    ) -> Option<usize> {
        let (name, rest) = match memchr::memchr(b' ', dependency.as_bytes()) {
            Some(space) => (&dependency[..space], Some(&dependency[space + 1..])),
            None => (dependency, None),
        };
        let (version, source) = match rest.map(|rest| rest.split_once(' ')) {
            None => (None, None),
            Some(None) => (rest, None),
            Some(Some((version, source))) => (Some(version), Some(source)),
        };
        let source = source.map(|s| s.trim_start_matches('(').trim_end_matches(')'));
        let &(start, end) = self.0.get(name)?;
        sorted[start..end]
            .iter()
            .map(|&(index, _)| index)
            .filter(|&index| {
                let p = &lock[index];
                version.is_none_or(|v| p.version == v)
                    && source.is_none_or(|s| p.source.as_deref() == Some(s))
            })
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::DependencyKind;

    fn project(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/projects")
            .join(name)
    }

    fn load(name: &str) -> Inventory {
        let options = MetadataOptions {
            offline: true,
            target: None,
        };
        match from_cargo_metadata(&project(name), &options) {
            Ok(graph) => graph,
            Err(MetadataFailure::Unavailable(e)) => panic!("{e}"),
            Err(MetadataFailure::Failed(e)) => panic!("{e}"),
        }
    }

    fn class(graph: &Inventory, name: &str) -> (Option<DependencyKind>, Option<Vec<String>>) {
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
        assert!(itoa.source.is_public_registry());
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
        let Ok(graph) = from_cargo_metadata(&project("mixed"), &options) else {
            panic!("cargo metadata failed");
        };
        assert!(graph.find("itoa", None).is_none());
        assert!(graph.find("memchr", None).is_some());
    }

    #[test]
    fn lockfile_fallback_keeps_sources_and_edges() {
        let graph = from_lockfile(
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
    fn lock_entries_know_their_lines_and_versions_must_be_semver() {
        let text = "version = 3\n\n[[package]]\nname = \"a\"\nversion = \"1.0.0\"\n\n[[package]]\nname = \"b\"\nversion = \"0.2.1\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n";
        let lock = parse_lock(Path::new("Cargo.lock"), text).unwrap();
        let lines: Vec<(u32, u32)> = lock.iter().map(|p| (p.lines.start, p.lines.end)).collect();
        assert_eq!(lines, [(3, 5), (7, 9)]);
        let bad = text.replace("0.2.1", "0.2.x");
        let error = parse_lock(Path::new("Cargo.lock"), &bad)
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "Cargo.lock:9:12: not a valid Cargo.lock: package b version `0.2.x`: unexpected character 'x' while parsing patch version number"
        );
        let error = parse_lock(Path::new("Cargo.lock"), "version = \"four\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("Cargo.lock:1:11: not a valid Cargo.lock: "),
            "{error}"
        );
    }

    #[test]
    fn an_ambiguous_dependency_is_the_first_fitting_entry_of_the_file() {
        // Not cargo's order: the later version first.
        let text = "version = 3\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\"itoa\"]\n\n[[package]]\nname = \"itoa\"\nversion = \"1.0.19\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n\n[[package]]\nname = \"itoa\"\nversion = \"0.4.8\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n";
        let inventory = from_lock_text(Path::new("Cargo.lock"), text, "test").unwrap();
        let app = inventory.find("app", None).unwrap();
        let targets: Vec<_> = inventory.depends_on[app]
            .iter()
            .map(|e| inventory.packages[e.to].version.as_str())
            .collect();
        assert_eq!(targets, ["1.0.19"]);
    }

    #[test]
    fn shortest_paths_are_the_same_asked_for_one_or_for_all() {
        let lock =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/parity/rerun/Cargo.lock");
        let inventory = from_lockfile(&lock, "test").unwrap();
        let all: Vec<usize> = (0..inventory.packages.len()).collect();
        let paths = inventory.shortest_paths(&all);
        assert_eq!(paths.len(), all.len(), "every package is reached");
        for package in all.iter().step_by(7) {
            assert_eq!(inventory.shortest_path(*package), paths[package]);
        }
        let some = [all[3], all[500], all[3]];
        let asked = inventory.shortest_paths(&some);
        assert_eq!(asked.len(), 2);
        assert_eq!(asked[&all[500]], paths[&all[500]]);
    }

    #[test]
    fn path_packages_in_a_cycle_are_all_members() {
        let text = "version = 3\n\n[[package]]\nname = \"a\"\nversion = \"0.1.0\"\ndependencies = [\"b\"]\n\n[[package]]\nname = \"b\"\nversion = \"0.1.0\"\ndependencies = [\"a\"]\n";
        let inventory = from_lock_text(Path::new("Cargo.lock"), text, "test").unwrap();
        assert_eq!(inventory.workspace_members, [0, 1]);
    }

    #[test]
    fn sources_parse() {
        assert!(source_of(CRATES_IO).is_public_registry());
        assert!(source_of("sparse+https://index.crates.io/").is_public_registry());
        assert!(!source_of("sparse+https://my.registry/index/").is_public_registry());
        assert_eq!(
            source_of("git+https://h/r#abc"),
            PackageSource::Git {
                url: "https://h/r".to_string(),
                reference: None,
                rev: "abc".to_string()
            }
        );
    }
}
