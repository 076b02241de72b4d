//! Which versions an OSV advisory affects, for one package: its `affected`
//! entries for that package, each an enumerated `versions` list and
//! `ranges` of events, evaluated as the OSV schema's algorithm says. The
//! ordering is the ecosystem's own (PEP 440 for PyPI; SemVer 2.0 for
//! `SEMVER` ranges and crates.io); npm's node-semver comes next as another
//! `VersionOrder`.
//!
//! Fail closed throughout: a version that does not parse is affected; a
//! bound that does not parse widens its range rather than narrowing it.

use crate::inventory::Ecosystem;
use std::cmp::Ordering;

/// How an ecosystem orders its versions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VersionOrder {
    /// PEP 440: epochs, pre-, post- and dev-releases, local versions.
    Pep440,
    /// SemVer 2.0 precedence (section 11).
    SemVer,
}

impl VersionOrder {
    /// The order of `ecosystem`'s `ECOSYSTEM` ranges.
    pub fn of(ecosystem: Ecosystem) -> VersionOrder {
        match ecosystem {
            Ecosystem::PyPi => VersionOrder::Pep440,
            Ecosystem::CratesIo | Ecosystem::Npm => VersionOrder::SemVer,
        }
    }

    fn parse(self, text: &str) -> Option<Version> {
        let text = text.trim();
        match self {
            VersionOrder::Pep440 => text.parse().ok().map(Version::Pep440),
            VersionOrder::SemVer => semver::Version::parse(text).ok().map(Version::SemVer),
        }
    }
}

/// A parsed version; only versions of one order are ever compared.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Version {
    Pep440(pep440_rs::Version),
    SemVer(semver::Version),
}

impl Version {
    fn compare(&self, other: &Version) -> Ordering {
        match (self, other) {
            (Version::Pep440(a), Version::Pep440(b)) => a.cmp(b),
            (Version::SemVer(a), Version::SemVer(b)) => a.cmp_precedence(b),
            // Never built: a range parses all its bounds in one order.
            _ => Ordering::Equal,
        }
    }
}

/// A bound of a range: `introduced: "0"` is below every version, and a
/// `limit` of `*` above every version.
#[derive(Clone, Debug)]
enum Bound {
    Zero,
    At(Version),
    Infinity,
}

impl Bound {
    fn compare(&self, other: &Bound) -> Ordering {
        match (self, other) {
            (Bound::Zero, Bound::Zero) | (Bound::Infinity, Bound::Infinity) => Ordering::Equal,
            (Bound::Zero, _) | (_, Bound::Infinity) => Ordering::Less,
            (_, Bound::Zero) | (Bound::Infinity, _) => Ordering::Greater,
            (Bound::At(a), Bound::At(b)) => a.compare(b),
        }
    }

    /// `version` against this bound.
    fn of(&self, version: &Version) -> Ordering {
        match self {
            Bound::Zero => Ordering::Greater,
            Bound::Infinity => Ordering::Less,
            Bound::At(bound) => version.compare(bound),
        }
    }
}

/// What an event says, as the OSV schema names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    Introduced,
    Fixed,
    LastAffected,
    Limit,
}

#[derive(Clone, Debug)]
struct Event {
    kind: EventKind,
    at: Bound,
}

/// One range: its events sorted by version, as the evaluation walks them.
#[derive(Clone, Debug)]
struct Range {
    order: VersionOrder,
    events: Vec<Event>,
    /// `fixed` versions as written, for `patched()`.
    fixed: Vec<String>,
}

impl Range {
    /// A range of `order` from its `(kind, version)` events as written.
    fn new(order: VersionOrder, written: &[(EventKind, String)]) -> Range {
        let mut events = Vec::with_capacity(written.len());
        let mut fixed = Vec::new();
        for (kind, text) in written {
            if *kind == EventKind::Fixed {
                fixed.push(text.trim().to_string());
            }
            let parsed = order.parse(text);
            let at = match (kind, parsed) {
                (EventKind::Introduced, _) if text.trim() == "0" => Bound::Zero,
                (EventKind::Limit, _) if text.contains('*') => Bound::Infinity,
                (_, Some(version)) => Bound::At(version),
                // An unreadable start is taken as the very start, an
                // unreadable limit as none: both widen the range.
                (EventKind::Introduced, None) => Bound::Zero,
                (EventKind::Limit, None) => Bound::Infinity,
                // An unreadable end is no end.
                (EventKind::Fixed | EventKind::LastAffected, None) => continue,
            };
            events.push(Event { kind: *kind, at });
        }
        // Stable: events at one version keep the order they were written in.
        events.sort_by(|a, b| a.at.compare(&b.at));
        Range {
            order,
            events,
            fixed,
        }
    }

    /// The schema's `IncludedInRanges` for this one range.
    fn includes(&self, version: &Version) -> bool {
        let mut limits = self
            .events
            .iter()
            .filter(|e| e.kind == EventKind::Limit)
            .peekable();
        if limits.peek().is_some() && !limits.any(|e| e.at.of(version) == Ordering::Less) {
            return false;
        }
        let mut vulnerable = false;
        for event in &self.events {
            let against = event.at.of(version);
            match event.kind {
                EventKind::Introduced if against != Ordering::Less => vulnerable = true,
                EventKind::Fixed if against != Ordering::Less => vulnerable = false,
                EventKind::LastAffected if against == Ordering::Greater => vulnerable = false,
                _ => {}
            }
        }
        vulnerable
    }
}

/// One `affected` entry: its explicit versions and its ranges.
#[derive(Clone, Debug)]
struct Entry {
    versions: Vec<Listed>,
    ranges: Vec<Range>,
}

/// A listed version: parsed in the ecosystem's order (compared by value:
/// `2.1` is `2.1.0`), else kept as written (compared as text).
#[derive(Clone, Debug)]
enum Listed {
    Parsed(Version),
    Written(String),
}

/// The affected versions of one package in one advisory (or in several
/// advisories about one vulnerability, merged): affected when any entry
/// says so.
#[derive(Clone, Debug)]
pub struct OsvRanges {
    order: VersionOrder,
    entries: Vec<Entry>,
}

/// An `affected` entry as written, for `OsvRanges::new`: its versions and
/// its evaluable ranges (`ECOSYSTEM` and `SEMVER`; `GIT` ranges need the
/// repository and are left out).
#[derive(Clone, Debug, Default)]
pub struct WrittenEntry {
    pub versions: Vec<String>,
    pub ranges: Vec<WrittenRange>,
}

#[derive(Clone, Debug)]
pub struct WrittenRange {
    /// `SEMVER` ranges compare as SemVer 2.0 whatever the ecosystem.
    pub semver: bool,
    pub events: Vec<(EventKind, String)>,
}

impl OsvRanges {
    pub fn new(order: VersionOrder, written: &[WrittenEntry]) -> OsvRanges {
        let entries = written
            .iter()
            .map(|entry| Entry {
                versions: entry
                    .versions
                    .iter()
                    .map(|v| match order.parse(v) {
                        Some(parsed) => Listed::Parsed(parsed),
                        None => Listed::Written(v.trim().to_string()),
                    })
                    .collect(),
                ranges: entry
                    .ranges
                    .iter()
                    .map(|range| {
                        let order = if range.semver {
                            VersionOrder::SemVer
                        } else {
                            order
                        };
                        Range::new(order, &range.events)
                    })
                    .collect(),
            })
            .collect();
        OsvRanges { order, entries }
    }

    /// The union of both: affected where either is (a merge of advisories
    /// about one vulnerability).
    pub fn merge(&mut self, other: OsvRanges) {
        self.entries.extend(other.entries);
    }

    pub fn order(&self) -> VersionOrder {
        self.order
    }

    /// Whether `version` is affected: listed in some entry's versions, or
    /// in one of its ranges. A version that does not parse in the
    /// ecosystem's order is affected.
    pub fn affects(&self, version: &str) -> bool {
        let Some(parsed) = self.order.parse(version) else {
            return true;
        };
        let listed = || {
            self.entries.iter().any(|entry| {
                entry.versions.iter().any(|listed| match listed {
                    Listed::Parsed(listed) => *listed == parsed,
                    Listed::Written(text) => text == version.trim(),
                })
            })
        };
        self.in_ranges_parsed(version, &parsed) || listed()
    }

    /// Whether the ranges alone (not the versions lists) include `version`;
    /// one that does not parse is included.
    pub fn in_ranges(&self, version: &str) -> bool {
        match self.order.parse(version) {
            Some(parsed) => self.in_ranges_parsed(version, &parsed),
            None => true,
        }
    }

    fn in_ranges_parsed(&self, version: &str, parsed: &Version) -> bool {
        self.entries
            .iter()
            .flat_map(|entry| &entry.ranges)
            .any(|range| {
                if range.order == self.order {
                    range.includes(parsed)
                } else {
                    range
                        .order
                        .parse(version)
                        .is_none_or(|v| range.includes(&v))
                }
            })
    }

    /// The `fixed` versions, as written, without repeats, in version order
    /// (those that do not parse last).
    pub fn patched(&self) -> Vec<String> {
        let mut fixed: Vec<(Option<Version>, String)> = Vec::new();
        for range in self.entries.iter().flat_map(|entry| &entry.ranges) {
            for text in &range.fixed {
                if !fixed.iter().any(|(_, seen)| seen == text) {
                    fixed.push((range.order.parse(text), text.clone()));
                }
            }
        }
        fixed.sort_by(|(a, a_text), (b, b_text)| match (a, b) {
            (Some(a), Some(b)) => a.compare(b).then_with(|| a_text.cmp(b_text)),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => a_text.cmp(b_text),
        });
        fixed.into_iter().map(|(_, text)| text).collect()
    }

    /// The smallest `fixed` version above `version` that is not itself
    /// affected (by another range or entry); none when `version` does not
    /// parse or no such fix exists.
    pub fn smallest_fix(&self, version: &str) -> Option<String> {
        let current = self.order.parse(version)?;
        self.patched()
            .into_iter()
            .filter_map(|text| Some((self.order.parse(&text)?, text)))
            .filter(|(fixed, text)| {
                fixed.compare(&current) == Ordering::Greater && !self.affects(text)
            })
            .min_by(|(a, _), (b, _)| a.compare(b))
            .map(|(_, text)| text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(events: &[(EventKind, &str)]) -> WrittenRange {
        WrittenRange {
            semver: false,
            events: events.iter().map(|(k, v)| (*k, v.to_string())).collect(),
        }
    }

    fn pypi(ranges: Vec<WrittenRange>, versions: &[&str]) -> OsvRanges {
        OsvRanges::new(
            VersionOrder::Pep440,
            &[WrittenEntry {
                versions: versions.iter().map(|v| v.to_string()).collect(),
                ranges,
            }],
        )
    }

    use EventKind::*;

    #[test]
    fn introduced_and_fixed_bound_a_half_open_range() {
        let r = pypi(
            vec![range(&[
                (Introduced, "4.0"),
                (Fixed, "4.3"),
                (Introduced, "5.0"),
                (Fixed, "5.2"),
            ])],
            &[],
        );
        for affected in [
            "4.0",
            "4.2.9",
            "4.3rc1",
            "4.3.dev0",
            "5.0",
            "5.1.post1",
            "5.2a1",
        ] {
            assert!(r.affects(affected), "{affected}");
        }
        for safe in [
            "3.9",
            "4.0rc1",
            "4.3",
            "4.3.0",
            "4.3.post1",
            "4.9",
            "5.2",
            "6",
            "1!0.1",
        ] {
            assert!(!r.affects(safe), "{safe}");
        }
        assert_eq!(r.patched(), ["4.3", "5.2"]);
        assert_eq!(r.smallest_fix("4.1").as_deref(), Some("4.3"));
        // 4.3 is fixed, but the smallest fix above 5.0 is 5.2.
        assert_eq!(r.smallest_fix("5.0").as_deref(), Some("5.2"));
        assert_eq!(r.smallest_fix("5.2"), None);
    }

    #[test]
    fn events_are_sorted_before_the_walk() {
        // Written out of order: the schema sorts them.
        let r = pypi(vec![range(&[(Fixed, "2.0"), (Introduced, "1.0")])], &[]);
        assert!(r.affects("1.5"));
        assert!(!r.affects("2.0"));
        assert!(!r.affects("0.9"));
    }

    #[test]
    fn zero_last_affected_and_limits() {
        let all = pypi(vec![range(&[(Introduced, "0")])], &[]);
        assert!(all.affects("0.0.1.dev1") && all.affects("99!1.0"));
        assert!(all.patched().is_empty());
        assert_eq!(all.smallest_fix("1.0"), None);
        let last = pypi(
            vec![range(&[(Introduced, "0"), (LastAffected, "1.11.0")])],
            &[],
        );
        assert!(last.affects("1.11.0") && last.affects("1.11"));
        assert!(!last.affects("1.11.0.post1") && !last.affects("1.12"));
        let limited = pypi(vec![range(&[(Introduced, "1.0"), (Limit, "1.5")])], &[]);
        assert!(limited.affects("1.4") && !limited.affects("1.5") && !limited.affects("2.0"));
        let star = pypi(vec![range(&[(Introduced, "1.0"), (Limit, "*")])], &[]);
        assert!(star.affects("2.0"));
    }

    #[test]
    fn pep440_epochs_local_versions_and_equality() {
        let r = pypi(vec![range(&[(Introduced, "0"), (Fixed, "2.0")])], &["2.1"]);
        assert!(r.affects("2.0rc1") && r.affects("1.9+ubuntu1") && r.affects("2.1.0"));
        assert!(!r.affects("2.0+local") && !r.affects("1!1.0") && !r.affects("2.0.0"));
        // Listed versions match by value: 2.1 is 2.1.0.
        assert!(r.affects("v2.1"));
    }

    #[test]
    fn what_does_not_parse_fails_closed() {
        let r = pypi(vec![range(&[(Introduced, "0"), (Fixed, "2.0")])], &[]);
        assert!(r.affects("not a version"));
        assert!(r.in_ranges("not a version"));
        assert_eq!(r.smallest_fix("not a version"), None);
        // PYSEC-2019-125 (steam): fixed "2019-09-12", not PEP 440; the
        // range stays open, yet the fix is still reported as written.
        let r = pypi(
            vec![range(&[(Introduced, "0"), (Fixed, "2019-09-12")])],
            &[],
        );
        assert!(r.affects("1.0") && r.affects("3000"));
        assert_eq!(r.patched(), ["2019-09-12"]);
        assert_eq!(r.smallest_fix("1.0"), None);
        // An unreadable start is the very start.
        let r = pypi(vec![range(&[(Introduced, "garbage"), (Fixed, "2.0")])], &[]);
        assert!(r.affects("0.1") && !r.affects("2.0"));
    }

    #[test]
    fn versions_lists_and_entries_unite() {
        let mut r = pypi(vec![], &["0.3m2", "1.0"]);
        assert!(r.affects("1.0.0") && !r.affects("1.1"));
        assert!(!r.in_ranges("1.0"));
        r.merge(pypi(
            vec![range(&[(Introduced, "2.0"), (Fixed, "2.1")])],
            &[],
        ));
        assert!(r.affects("2.0.5") && r.affects("1.0") && !r.affects("1.5"));
        assert_eq!(r.smallest_fix("1.0").as_deref(), Some("2.1"));
    }

    #[test]
    fn a_fix_that_another_range_affects_is_no_fix() {
        // GHSA-style: two entries for one package, the second's fix at 2.2.5
        // and the first range from 2.3.0 to 2.3.2.
        let r = OsvRanges::new(
            VersionOrder::Pep440,
            &[
                WrittenEntry {
                    versions: vec![],
                    ranges: vec![range(&[(Introduced, "2.3.0"), (Fixed, "2.3.2")])],
                },
                WrittenEntry {
                    versions: vec![],
                    ranges: vec![range(&[(Introduced, "0"), (Fixed, "2.2.5")])],
                },
            ],
        );
        assert_eq!(r.patched(), ["2.2.5", "2.3.2"]);
        assert_eq!(r.smallest_fix("2.0").as_deref(), Some("2.2.5"));
        assert_eq!(r.smallest_fix("2.3.1").as_deref(), Some("2.3.2"));
        // Overlapping: a fix inside another affected span is skipped.
        let r = pypi(
            vec![
                range(&[(Introduced, "0"), (Fixed, "1.5")]),
                range(&[(Introduced, "1.4"), (Fixed, "1.8")]),
            ],
            &[],
        );
        assert_eq!(r.smallest_fix("1.0").as_deref(), Some("1.8"));
    }

    #[test]
    fn semver_ranges_use_semver_precedence() {
        let r = OsvRanges::new(
            VersionOrder::Pep440,
            &[WrittenEntry {
                versions: vec![],
                ranges: vec![WrittenRange {
                    semver: true,
                    events: vec![(Introduced, "0".into()), (Fixed, "1.2.0".into())],
                }],
            }],
        );
        assert!(r.affects("1.2.0-rc.1") && !r.affects("1.2.0"));
        // A PEP 440 version that is no SemVer fails closed for that range.
        assert!(r.affects("1.3"));
        let cargo = OsvRanges::new(
            VersionOrder::SemVer,
            &[WrittenEntry {
                versions: vec![],
                ranges: vec![range(&[(Introduced, "0"), (Fixed, "0.1.20")])],
            }],
        );
        assert!(cargo.affects("0.1.19") && !cargo.affects("0.1.20+build"));
    }
}
