//! From the places a lock installs packages at to an [`Inventory`]: the
//! copies of one (name, version, source) merged into one package, edges
//! between places turned into edges between packages, packages sorted.
//! Shared by the package-lock and bun readers.

use crate::inventory::lock::{UncheckedReason, UncheckedRequirement};
use crate::inventory::{
    ContentHash, DependencyKind, Ecosystem, Edge, EdgeKind, Inventory, LockLines, Package,
    PackageSource,
};
use std::collections::HashMap;
use std::path::Path;

/// One package where a lock installs it (npm: one `node_modules` path;
/// bun: one key of `packages`), or one of the project's own packages.
pub(in crate::inventory::npm) struct Placement {
    /// The real name (an alias's target).
    pub name: String,
    pub version: String,
    pub source: PackageSource,
    pub hashes: Vec<ContentHash>,
    pub lines: LockLines,
    pub member: bool,
    /// From the lock's own flags; `None` when the lock has none (bun).
    pub kind: Option<DependencyKind>,
    /// Why it cannot be checked, with the requirement as written.
    pub unchecked: Option<(UncheckedReason, String)>,
    /// To other placements (indexes into the same list).
    pub edges: Vec<(usize, EdgeKind)>,
}

/// The inventory of `placements`, and what of it cannot be checked (once
/// per package, at the placement the lock lists first); `root` is the project's root
/// placement, if the lock has one.
pub(in crate::inventory::npm) fn inventory(
    path: &Path,
    placements: Vec<Placement>,
    root: Option<usize>,
) -> (Inventory, Vec<UncheckedRequirement>) {
    // Each placement's package, in the order first met.
    let mut package_of = Vec::with_capacity(placements.len());
    let mut index: HashMap<(&str, &str, &PackageSource), usize> = HashMap::new();
    let mut firsts: Vec<usize> = Vec::new();
    for (at, placement) in placements.iter().enumerate() {
        let key = (
            placement.name.as_str(),
            placement.version.as_str(),
            &placement.source,
        );
        let package = *index.entry(key).or_insert_with(|| {
            firsts.push(at);
            firsts.len() - 1
        });
        // The copy the lock lists first stands for the package.
        let first = &mut firsts[package];
        if placement.lines.start < placements[*first].lines.start {
            *first = at;
        }
        package_of.push(package);
    }
    let mut packages: Vec<Package> = firsts
        .iter()
        .map(|&first| {
            let placement = &placements[first];
            let mut package = Package::bare(
                Ecosystem::Npm,
                &placement.name,
                &placement.version,
                placement.source.clone(),
            );
            package.lines = Some(placement.lines);
            package.hashes.clone_from(&placement.hashes);
            package
        })
        .collect();
    let mut depends_on: Vec<Vec<Edge>> = vec![Vec::new(); packages.len()];
    for (at, placement) in placements.iter().enumerate() {
        let package = &mut packages[package_of[at]];
        package.is_member |= placement.member;
        // The most shipped copy decides; a member is shipped.
        let kind = if placement.member {
            Some(DependencyKind::Normal)
        } else {
            placement.kind
        };
        package.kind = match (package.kind, kind) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if package.hashes.is_empty() {
            package.hashes.clone_from(&placement.hashes);
        }
        for &(to, kind) in &placement.edges {
            if let Some(&target) = package_of.get(to) {
                depends_on[package_of[at]].push(Edge {
                    to: target,
                    kind,
                    target: None,
                });
            }
        }
    }
    let mut unchecked: Vec<UncheckedRequirement> = firsts
        .iter()
        .filter_map(|&first| {
            let placement = &placements[first];
            let (reason, requirement) = placement.unchecked.clone()?;
            (!placement.member).then(|| UncheckedRequirement {
                file: path.to_path_buf(),
                line: placement.lines.start,
                requirement,
                reason,
            })
        })
        .collect();
    unchecked.sort();

    // Sorted by name, version (1.9 before 1.10) and source.
    let mut order: Vec<usize> = (0..packages.len()).collect();
    order.sort_by_cached_key(|&i| {
        let p = &packages[i];
        (
            p.name.clone(),
            semver::Version::parse(&p.version).ok(),
            p.version.clone(),
            p.source.clone(),
        )
    });
    let mut new_index = vec![0; packages.len()];
    for (new, &old) in order.iter().enumerate() {
        new_index[old] = new;
    }
    let mut slots: Vec<Option<(Package, Vec<Edge>)>> =
        packages.into_iter().zip(depends_on).map(Some).collect();
    let mut inventory = Inventory::empty(None);
    for &old in &order {
        let Some((package, mut edges)) = slots[old].take() else {
            continue;
        };
        for edge in &mut edges {
            edge.to = new_index[edge.to];
        }
        inventory.packages.push(package);
        inventory.depends_on.push(edges);
    }
    inventory.root = root.and_then(|r| package_of.get(r)).map(|&p| new_index[p]);
    inventory.lock_file = Some(path.to_path_buf());
    inventory.finish_unclassified();
    (inventory, unchecked)
}
