//! One advisory per vulnerability and package: databases republish each
//! other's advisories (a PyPA `PYSEC-` record and GitHub's `GHSA-` one for
//! the same CVE), and a lock file should get one finding, not two.
//! Advisories that name each other, in either direction or through a
//! shared alias (a CVE), are one vulnerability.

use super::{Advisory, AdvisoryKind, Cvss};
use std::collections::{BTreeSet, HashMap};

/// Merges the advisories of one package that alias each other, directly or
/// transitively, into one: its id the most widely known of theirs (`GHSA-`,
/// then `PYSEC-`, then any other; the smallest id among equals), every
/// other id an alias, affected wherever any of them says so (the union),
/// and graded by the highest score and label among them. Advisories whose
/// versions cannot be merged (different kinds of range) stay apart.
/// Deterministic: the output is sorted by id.
pub fn merge_aliases(advisories: Vec<Advisory>) -> Vec<Advisory> {
    let mut groups = UnionFind::new(advisories.len());
    let mut first_with: HashMap<&str, usize> = HashMap::new();
    for (index, advisory) in advisories.iter().enumerate() {
        for name in std::iter::once(&advisory.id).chain(&advisory.aliases) {
            match first_with.get(name.as_str()) {
                Some(&other) => groups.union(index, other),
                None => {
                    first_with.insert(name, index);
                }
            }
        }
    }
    let mut members: HashMap<usize, Vec<usize>> = HashMap::new();
    for index in 0..advisories.len() {
        members.entry(groups.find(index)).or_default().push(index);
    }
    let mut slots: Vec<Option<Advisory>> = advisories.into_iter().map(Some).collect();
    let mut merged = Vec::new();
    for group in members.into_values() {
        let mut group: Vec<Advisory> = group.into_iter().filter_map(|i| slots[i].take()).collect();
        group.sort_by(|a, b| primary_rank(a).cmp(&primary_rank(b)));
        merged.extend(merge_group(group));
    }
    merged.sort_by(|a, b| a.id.cmp(&b.id));
    merged
}

/// Sorts first the id to show: GitHub's, then PyPA's, then others.
fn primary_rank(advisory: &Advisory) -> (u8, &str) {
    let rank = if advisory.id.starts_with("GHSA-") {
        0
    } else if advisory.id.starts_with("PYSEC-") {
        1
    } else {
        2
    };
    (rank, advisory.id.as_str())
}

/// A group, primary first, as few advisories as their versions allow.
fn merge_group(group: Vec<Advisory>) -> Vec<Advisory> {
    let mut out: Vec<Advisory> = Vec::new();
    for advisory in group {
        match out
            .iter_mut()
            .find(|into| into.versions.can_merge(&advisory.versions))
        {
            Some(into) => absorb(into, advisory),
            None => out.push(advisory),
        }
    }
    out
}

/// Adds `other` to `into`; their versions can merge (`can_merge`).
fn absorb(into: &mut Advisory, other: Advisory) {
    let Advisory {
        id,
        aliases,
        title,
        description,
        kind,
        cvss,
        severity_label,
        versions,
        affected_os,
        affected_arch,
        categories,
        ..
    } = other;
    // Cannot fail: the caller checked.
    let _ = into.versions.merge(versions);
    let mut names: BTreeSet<String> = into.aliases.drain(..).collect();
    names.insert(id);
    names.extend(aliases);
    names.remove(&into.id);
    into.aliases = names.into_iter().collect();
    if into.description.trim().is_empty() {
        into.description = description;
    }
    if into.title.trim().is_empty() || into.title == into.id {
        into.title = title;
    }
    // The gravest kind stands: malware over a vulnerability over a notice.
    let rank = |kind: &AdvisoryKind| match kind {
        AdvisoryKind::Malicious => 2,
        AdvisoryKind::Vulnerability => 1,
        AdvisoryKind::Informational(_) => 0,
    };
    if rank(&kind) > rank(&into.kind) {
        into.kind = kind;
    }
    into.cvss = higher_cvss(into.cvss.take(), cvss);
    if label_rank(severity_label.as_deref()) > label_rank(into.severity_label.as_deref()) {
        into.severity_label = severity_label;
    }
    // An empty platform list means every platform: the union of "all" and
    // anything is "all".
    for (ours, theirs) in [
        (&mut into.affected_os, affected_os),
        (&mut into.affected_arch, affected_arch),
    ] {
        if ours.is_empty() || theirs.is_empty() {
            ours.clear();
        } else {
            ours.extend(theirs);
            ours.sort();
            ours.dedup();
        }
    }
    into.categories.extend(categories);
    into.categories.sort();
    into.categories.dedup();
}

fn higher_cvss(a: Option<Cvss>, b: Option<Cvss>) -> Option<Cvss> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if b.score > a.score { b } else { a }),
        (a, b) => a.or(b),
    }
}

/// GitHub's grades in order; anything else ranks lowest.
fn label_rank(label: Option<&str>) -> u8 {
    match label.map(str::to_ascii_uppercase).as_deref() {
        Some("CRITICAL") => 4,
        Some("HIGH") => 3,
        Some("MODERATE" | "MEDIUM") => 2,
        Some("LOW") => 1,
        _ => 0,
    }
}

struct UnionFind {
    parent: Vec<usize>,
}

impl UnionFind {
    fn new(len: usize) -> UnionFind {
        UnionFind {
            parent: (0..len).collect(),
        }
    }

    fn find(&mut self, mut at: usize) -> usize {
        while self.parent[at] != at {
            self.parent[at] = self.parent[self.parent[at]];
            at = self.parent[at];
        }
        at
    }

    fn union(&mut self, a: usize, b: usize) {
        let (a, b) = (self.find(a), self.find(b));
        // The smaller index is the root: groups do not depend on hashing.
        if a != b {
            let (low, high) = if a < b { (a, b) } else { (b, a) };
            self.parent[high] = low;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advisory::ranges::{EventKind, OsvRanges, VersionOrder, WrittenEntry, WrittenRange};
    use crate::advisory::AffectedVersions;
    use crate::inventory::Ecosystem;

    fn advisory(id: &str, aliases: &[&str], fixed: &str, score: Option<f64>) -> Advisory {
        Advisory {
            id: id.to_string(),
            aliases: aliases.iter().map(|a| a.to_string()).collect(),
            ecosystem: Ecosystem::PyPi,
            package: "flask".to_string(),
            title: format!("title of {id}"),
            description: String::new(),
            url: format!("https://osv.dev/vulnerability/{id}"),
            kind: AdvisoryKind::Vulnerability,
            cvss: score.map(|score| Cvss {
                score,
                vector: format!("vector {score}"),
            }),
            severity_label: None,
            versions: AffectedVersions::Osv(OsvRanges::new(
                VersionOrder::Pep440,
                &[WrittenEntry {
                    versions: vec![],
                    ranges: vec![WrittenRange {
                        semver: false,
                        events: vec![
                            (EventKind::Introduced, "0".into()),
                            (EventKind::Fixed, fixed.into()),
                        ],
                    }],
                }],
            )),
            affected_os: vec![],
            affected_arch: vec![],
            categories: vec![],
            source_tag: "osv",
        }
    }

    #[test]
    fn aliases_in_either_direction_or_through_a_cve_merge() {
        let merged = merge_aliases(vec![
            advisory(
                "PYSEC-2023-62",
                &["CVE-2023-30861", "GHSA-m2qf-hxjv-5gpq"],
                "2.2.5",
                None,
            ),
            advisory(
                "GHSA-m2qf-hxjv-5gpq",
                &["CVE-2023-30861"],
                "2.3.2",
                Some(7.5),
            ),
            // Names only the CVE: transitively the same vulnerability.
            advisory("OSV-2023-1", &["CVE-2023-30861"], "2.0", Some(5.0)),
            advisory("PYSEC-2019-179", &["CVE-2019-1010083"], "1.0", None),
        ]);
        let ids: Vec<_> = merged.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["GHSA-m2qf-hxjv-5gpq", "PYSEC-2019-179"]);
        let one = &merged[0];
        assert_eq!(
            one.aliases,
            ["CVE-2023-30861", "OSV-2023-1", "PYSEC-2023-62"]
        );
        assert_eq!(one.title, "title of GHSA-m2qf-hxjv-5gpq");
        assert_eq!(one.cvss.as_ref().unwrap().score, 7.5);
        // The union: affected below the largest fix of any member.
        assert!(one.versions.affects("2.3.0"));
        assert_eq!(one.versions.patched(), ["2.0", "2.2.5", "2.3.2"]);
        assert_eq!(merged[1].aliases, ["CVE-2019-1010083"]);
    }

    #[test]
    fn the_merge_does_not_depend_on_order() {
        let make = || {
            vec![
                advisory("PYSEC-1", &["CVE-1"], "1.0", Some(4.0)),
                advisory("GHSA-b", &["CVE-1"], "1.1", None),
                advisory("GHSA-a", &["PYSEC-1"], "1.2", Some(9.0)),
            ]
        };
        let forward = merge_aliases(make());
        let mut reversed = make();
        reversed.reverse();
        let backward = merge_aliases(reversed);
        assert_eq!(forward.len(), 1);
        assert_eq!(forward[0].id, "GHSA-a");
        assert_eq!(backward[0].id, forward[0].id);
        assert_eq!(backward[0].aliases, forward[0].aliases);
        assert_eq!(forward[0].aliases, ["CVE-1", "GHSA-b", "PYSEC-1"]);
        assert_eq!(forward[0].cvss.as_ref().unwrap().score, 9.0);
    }

    #[test]
    fn labels_take_the_highest() {
        let mut low = advisory("GHSA-a", &["CVE-1"], "1.0", None);
        low.severity_label = Some("LOW".into());
        let mut high = advisory("PYSEC-1", &["CVE-1"], "1.0", None);
        high.severity_label = Some("HIGH".into());
        let merged = merge_aliases(vec![low, high]);
        assert_eq!(merged[0].severity_label.as_deref(), Some("HIGH"));
    }
}
