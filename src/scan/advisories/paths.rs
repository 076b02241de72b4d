//! Why a package is in a lock file (the shortest dependency path from a
//! root package) and the smallest version that fixes an advisory.

use rustsec::advisory::Versions;
use rustsec::semver::{Comparator, Op, Version, VersionReq};
use rustsec::Lockfile;
use std::collections::{HashMap, VecDeque};

/// The lock file's dependency graph, searched breadth-first from its roots.
pub struct Graph {
    /// The package that first reached each package, `None` for roots and
    /// packages no root reaches.
    parent: Vec<Option<usize>>,
    labels: Vec<String>,
}

impl Graph {
    pub fn new(lockfile: &Lockfile) -> Graph {
        let packages = &lockfile.packages;
        let mut by_name_version: HashMap<(&str, String), Vec<usize>> = HashMap::new();
        for (index, package) in packages.iter().enumerate() {
            by_name_version
                .entry((package.name.as_str(), package.version.to_string()))
                .or_default()
                .push(index);
        }
        let mut edges: Vec<Vec<usize>> = vec![Vec::new(); packages.len()];
        let mut depended_on = vec![false; packages.len()];
        for (index, package) in packages.iter().enumerate() {
            for dependency in &package.dependencies {
                let Some(found) = by_name_version
                    .get(&(dependency.name.as_str(), dependency.version.to_string()))
                else {
                    continue;
                };
                // Same name and version from two sources: the one named wins.
                let target = found
                    .iter()
                    .copied()
                    .find(|&i| {
                        dependency.source.is_none() || packages[i].source == dependency.source
                    })
                    .unwrap_or(found[0]);
                if target != index {
                    edges[index].push(target);
                    depended_on[target] = true;
                }
            }
        }
        let key = |i: usize| {
            (
                packages[i].source.is_some(),
                packages[i].name.as_str(),
                &packages[i].version,
            )
        };
        for list in &mut edges {
            list.sort_by(|&a, &b| key(a).cmp(&key(b)));
            list.dedup();
        }
        // Roots: what nothing depends on (workspace members first); where
        // members depend on each other in a cycle, every path package too.
        let mut roots: Vec<usize> = (0..packages.len()).filter(|&i| !depended_on[i]).collect();
        if !roots.iter().any(|&i| packages[i].source.is_none()) {
            roots.extend((0..packages.len()).filter(|&i| packages[i].source.is_none()));
        }
        roots.sort_by(|&a, &b| key(a).cmp(&key(b)));
        roots.dedup();

        let mut parent = vec![None; packages.len()];
        let mut seen = vec![false; packages.len()];
        let mut queue = VecDeque::new();
        for &root in &roots {
            seen[root] = true;
            queue.push_back(root);
        }
        // Breadth-first with sorted neighbours: shortest, then first by name.
        while let Some(current) = queue.pop_front() {
            for &next in &edges[current] {
                if !seen[next] {
                    seen[next] = true;
                    parent[next] = Some(current);
                    queue.push_back(next);
                }
            }
        }
        let labels = packages
            .iter()
            .map(|p| match p.source {
                None => p.name.as_str().to_string(),
                Some(_) => format!("{} {}", p.name, p.version),
            })
            .collect();
        Graph { parent, labels }
    }

    /// `["app", "hyper 0.14.1", "h2 0.3.0"]`: root first, the package last.
    pub fn path_to(&self, index: usize) -> Vec<String> {
        let mut path = vec![self.labels[index].clone()];
        let mut current = index;
        while let Some(parent) = self.parent[current] {
            path.push(self.labels[parent].clone());
            current = parent;
        }
        path.reverse();
        path
    }
}

/// The lowest version that satisfies a `patched` requirement and is not
/// below `current`, from the requirements alone (`>= 0.14.10` → 0.14.10,
/// `^0.3.24` → 0.3.24). `None`: no patched version at or above `current`.
pub fn smallest_upgrade(versions: &Versions, current: &Version) -> Option<Version> {
    versions
        .patched()
        .iter()
        .filter_map(lowest_match)
        .filter(|candidate| candidate >= current && !versions.is_vulnerable(candidate))
        .min()
}

/// The least version a requirement accepts, if one can be named.
fn lowest_match(req: &VersionReq) -> Option<Version> {
    let lowest = req
        .comparators
        .iter()
        .map(lower_bound)
        .max()
        .unwrap_or_else(|| Version::new(0, 0, 0));
    req.matches(&lowest).then_some(lowest)
}

fn lower_bound(comparator: &Comparator) -> Version {
    let (major, minor, patch) = (
        comparator.major,
        comparator.minor.unwrap_or(0),
        comparator.patch.unwrap_or(0),
    );
    match comparator.op {
        Op::Less | Op::LessEq => Version::new(0, 0, 0),
        Op::Greater => match (comparator.minor, comparator.patch) {
            // > 1.2.3-pre: 1.2.3 itself is greater.
            (Some(_), Some(_)) if !comparator.pre.is_empty() => Version::new(major, minor, patch),
            (Some(_), Some(_)) => Version::new(major, minor, patch + 1),
            (Some(_), None) => Version::new(major, minor + 1, 0),
            _ => Version::new(major + 1, 0, 0),
        },
        _ => {
            let mut version = Version::new(major, minor, patch);
            version.pre = comparator.pre.clone();
            version
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn versions(patched: &[&str]) -> Versions {
        let toml = format!(
            "patched = [{}]",
            patched
                .iter()
                .map(|p| format!("\"{p}\""))
                .collect::<Vec<_>>()
                .join(", ")
        );
        toml::from_str(&toml).unwrap()
    }

    fn fix(patched: &[&str], current: &str) -> Option<String> {
        smallest_upgrade(&versions(patched), &Version::parse(current).unwrap())
            .map(|v| v.to_string())
    }

    #[test]
    fn smallest_upgrade_from_requirements() {
        assert_eq!(fix(&[">= 0.14.10"], "0.14.1").as_deref(), Some("0.14.10"));
        assert_eq!(fix(&["^0.3.24"], "0.3.0").as_deref(), Some("0.3.24"));
        assert_eq!(
            fix(&["^0.2.9", ">= 0.3.24"], "0.3.0").as_deref(),
            Some("0.3.24"),
            "the 0.2 line is below the current version"
        );
        assert_eq!(
            fix(&["^0.2.9", ">= 0.3.24"], "0.2.1").as_deref(),
            Some("0.2.9")
        );
        assert_eq!(fix(&["> 1.2.3"], "1.0.0").as_deref(), Some("1.2.4"));
        assert_eq!(fix(&["~1.4.2"], "1.4.0").as_deref(), Some("1.4.2"));
        assert_eq!(
            fix(&[">= 1.0.0-rc.2"], "0.9.0").as_deref(),
            Some("1.0.0-rc.2")
        );
        assert_eq!(fix(&[], "1.0.0"), None);
        assert_eq!(fix(&["^0.2.9"], "0.3.0"), None, "no fix at or above");
    }

    fn lockfile(text: &str) -> Lockfile {
        text.parse().unwrap()
    }

    const SOURCE: &str = "source = \"registry+https://github.com/rust-lang/crates.io-index\"";

    #[test]
    fn shortest_path_from_the_workspace_member() {
        let text = format!(
            r#"version = 3

[[package]]
name = "app"
version = "0.1.0"
dependencies = ["hyper", "tower", "h2"]

[[package]]
name = "h2"
version = "0.3.0"
{SOURCE}

[[package]]
name = "hyper"
version = "0.14.1"
{SOURCE}
dependencies = ["h2"]

[[package]]
name = "tower"
version = "0.4.0"
{SOURCE}
dependencies = ["hyper"]
"#
        );
        let lock = lockfile(&text);
        let graph = Graph::new(&lock);
        let index = |name: &str| {
            lock.packages
                .iter()
                .position(|p| p.name.as_str() == name)
                .unwrap()
        };
        assert_eq!(graph.path_to(index("h2")), ["app", "h2 0.3.0"]);
        assert_eq!(graph.path_to(index("tower")), ["app", "tower 0.4.0"]);
        assert_eq!(graph.path_to(index("app")), ["app"]);
    }

    #[test]
    fn ties_break_by_name() {
        let text = format!(
            r#"version = 3

[[package]]
name = "app"
version = "0.1.0"
dependencies = ["zeta", "alpha"]

[[package]]
name = "alpha"
version = "1.0.0"
{SOURCE}
dependencies = ["leaf"]

[[package]]
name = "leaf"
version = "1.0.0"
{SOURCE}

[[package]]
name = "zeta"
version = "1.0.0"
{SOURCE}
dependencies = ["leaf"]
"#
        );
        let lock = lockfile(&text);
        let graph = Graph::new(&lock);
        let leaf = lock
            .packages
            .iter()
            .position(|p| p.name.as_str() == "leaf")
            .unwrap();
        assert_eq!(graph.path_to(leaf), ["app", "alpha 1.0.0", "leaf 1.0.0"]);
    }
}
