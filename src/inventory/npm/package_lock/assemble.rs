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
/// per package, at the placement the lock lists first); `root` is the
/// project's root placement, if the lock has one.
pub(in crate::inventory::npm) fn inventory(
    path: &Path,
    mut placements: Vec<Placement>,
    root: Option<usize>,
) -> (Inventory, Vec<UncheckedRequirement>) {
    // Each placement's package (numbered as first met), and the placement
    // that stands for each package: the copy the lock lists first.
    let mut package_of = Vec::with_capacity(placements.len());
    let mut firsts: Vec<usize> = Vec::new();
    {
        let mut index: HashMap<(&str, &str, &PackageSource), usize> =
            HashMap::with_capacity(placements.len());
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
            let first = &mut firsts[package];
            if placement.lines.start < placements[*first].lines.start {
                *first = at;
            }
            package_of.push(package);
        }
    }
    // Packages sorted by name, version (1.9 before 1.10) and source.
    let versions: Vec<Option<semver::Version>> = firsts
        .iter()
        .map(|&first| semver::Version::parse(&placements[first].version).ok())
        .collect();
    let mut order: Vec<usize> = (0..firsts.len()).collect();
    order.sort_by(|&a, &b| {
        let (pa, pb) = (&placements[firsts[a]], &placements[firsts[b]]);
        (&pa.name, &versions[a], &pa.version, &pa.source).cmp(&(
            &pb.name,
            &versions[b],
            &pb.version,
            &pb.source,
        ))
    });
    let mut sorted_index = vec![0; firsts.len()];
    for (sorted, &package) in order.iter().enumerate() {
        sorted_index[package] = sorted;
    }
    for package in &mut package_of {
        *package = sorted_index[*package];
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

    let mut inventory = Inventory::empty(None);
    inventory.depends_on = vec![Vec::new(); order.len()];
    inventory.packages = order
        .iter()
        .map(|&package| {
            // Each package's first placement is read once: its strings move.
            let placement = &mut placements[firsts[package]];
            let mut package = Package::bare(Ecosystem::Npm, "", "", placement.source.clone());
            package.name = std::mem::take(&mut placement.name);
            package.version = std::mem::take(&mut placement.version);
            package.lines = Some(placement.lines);
            package.hashes = std::mem::take(&mut placement.hashes);
            package
        })
        .collect();
    for (at, placement) in placements.iter().enumerate() {
        let package = package_of[at];
        let merged = &mut inventory.packages[package];
        merged.is_member |= placement.member;
        // The most shipped copy decides; a member is shipped.
        let kind = if placement.member {
            Some(DependencyKind::Normal)
        } else {
            placement.kind
        };
        merged.kind = match (merged.kind, kind) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if merged.hashes.is_empty() {
            merged.hashes.clone_from(&placement.hashes);
        }
        let edges = &mut inventory.depends_on[package];
        for &(to, kind) in &placement.edges {
            if let Some(&target) = package_of.get(to) {
                edges.push(Edge {
                    to: target,
                    kind,
                    target: None,
                });
            }
        }
    }
    inventory.root = root.and_then(|r| package_of.get(r).copied());
    inventory.lock_file = Some(path.to_path_buf());
    inventory.finish_unclassified();
    (inventory, unchecked)
}
