//! An OSV record in the common advisory model: one `Advisory` per package
//! of the ecosystem it affects, its `affected` entries for that package as
//! ranges, its severity vectors scored.

use super::record::{Affected, Record, Severity};
use crate::advisory::ranges::{EventKind, OsvRanges, VersionOrder, WrittenEntry, WrittenRange};
use crate::advisory::{Advisory, AdvisoryKind, AffectedVersions, Cvss};
use crate::inventory::Ecosystem;
use std::collections::BTreeMap;

/// The advisories `record` makes for the `ecosystem` packages that `wanted`
/// accepts (by normalised name); none for a withdrawn record.
pub fn advisories(
    record: &Record,
    ecosystem: Ecosystem,
    wanted: impl Fn(&str) -> bool,
) -> Vec<Advisory> {
    if record.withdrawn.is_some() {
        return Vec::new();
    }
    let mut by_package: BTreeMap<String, Vec<&Affected>> = BTreeMap::new();
    for affected in &record.affected {
        let Some(package) = &affected.package else {
            continue;
        };
        if package.ecosystem != ecosystem.as_str() {
            continue;
        }
        let name = ecosystem.normalize_name(&package.name);
        if wanted(&name) {
            by_package.entry(name).or_default().push(affected);
        }
    }
    by_package
        .into_iter()
        .map(|(package, entries)| advisory(record, ecosystem, package, &entries))
        .collect()
}

fn advisory(
    record: &Record,
    ecosystem: Ecosystem,
    package: String,
    entries: &[&Affected],
) -> Advisory {
    let written: Vec<WrittenEntry> = entries.iter().map(|a| written_entry(a)).collect();
    // A package's own severity replaces the record's (the schema allows
    // one or the other).
    let own: Vec<&Severity> = entries.iter().flat_map(|a| &a.severity).collect();
    let severities: Vec<&Severity> = if own.is_empty() {
        record.severity.iter().collect()
    } else {
        own
    };
    let mut aliases: Vec<String> = record
        .aliases
        .iter()
        .map(|a| a.trim().to_string())
        .filter(|a| !a.is_empty() && *a != record.id)
        .collect();
    aliases.sort();
    aliases.dedup();
    Advisory {
        id: record.id.clone(),
        aliases,
        ecosystem,
        package,
        title: title(record),
        description: record.details.clone().unwrap_or_default(),
        url: format!("https://osv.dev/vulnerability/{}", record.id),
        kind: if record.id.starts_with("MAL-") {
            AdvisoryKind::Malicious
        } else {
            AdvisoryKind::Vulnerability
        },
        cvss: highest_cvss(&severities),
        severity_label: record
            .database_specific
            .as_ref()
            .and_then(|d| d.severity_label())
            .map(str::to_string),
        versions: AffectedVersions::Osv(OsvRanges::new(VersionOrder::of(ecosystem), &written)),
        affected_os: Vec::new(),
        affected_arch: Vec::new(),
        categories: Vec::new(),
        source_tag: "osv",
    }
}

/// The summary, else the first sentence of the details (PYSEC records have
/// no summary; their details are a paragraph), else the id.
fn title(record: &Record) -> String {
    let summary = record
        .summary
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let first_line = || {
        record
            .details
            .as_deref()?
            .lines()
            .map(str::trim)
            .find(|line| !line.is_empty())
    };
    summary
        .or_else(first_line)
        .map(first_sentence)
        .unwrap_or_else(|| record.id.clone())
}

/// Up to the first `. ` (a sentence's end), at most 160 characters.
fn first_sentence(text: &str) -> String {
    const MAX: usize = 160;
    let sentence = text.find(". ").map_or(text, |end| &text[..=end]);
    if sentence.chars().count() <= MAX {
        return sentence.to_string();
    }
    let cut: String = sentence.chars().take(MAX - 1).collect();
    format!("{}…", cut.trim_end())
}

/// The entry's versions and its `ECOSYSTEM` and `SEMVER` ranges; `GIT`
/// ranges (and types unknown to the schema) cannot be evaluated on a
/// version and are left out, as the schema says a `versions` list stands
/// for them.
fn written_entry(affected: &Affected) -> WrittenEntry {
    let ranges = affected
        .ranges
        .iter()
        .filter_map(|range| {
            let semver = match range.kind.as_str() {
                "ECOSYSTEM" => false,
                "SEMVER" => true,
                _ => return None,
            };
            let mut events = Vec::new();
            for event in &range.events {
                let kinds = [
                    (EventKind::Introduced, &event.introduced),
                    (EventKind::Fixed, &event.fixed),
                    (EventKind::LastAffected, &event.last_affected),
                    (EventKind::Limit, &event.limit),
                ];
                for (kind, value) in kinds {
                    if let Some(value) = value {
                        events.push((kind, value.clone()));
                    }
                }
            }
            Some(WrittenRange { semver, events })
        })
        .collect();
    WrittenEntry {
        versions: affected.versions.clone(),
        ranges,
    }
}

/// The highest-scoring CVSS 3.x or 4.0 vector; one that does not parse or
/// score (a CVSS 2 vector, a bare number) is passed over.
fn highest_cvss(severities: &[&Severity]) -> Option<Cvss> {
    severities
        .iter()
        .filter(|s| matches!(s.kind.as_str(), "CVSS_V3" | "CVSS_V4"))
        .filter_map(|s| {
            let vector = s.score.trim();
            let parsed: cvss::Cvss = vector.parse().ok()?;
            let score = parsed.score();
            score.is_finite().then(|| Cvss {
                score,
                vector: vector.to_string(),
            })
        })
        .fold(None, |best: Option<Cvss>, next| match best {
            Some(best) if best.score >= next.score => Some(best),
            _ => Some(next),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(json: &str) -> Record {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn one_advisory_per_package_of_the_ecosystem() {
        let r = record(
            r#"{"id": "GHSA-x", "aliases": ["CVE-1", "GHSA-x", " "], "details": "\n  First line.\nMore.",
                "affected": [
                  {"package": {"ecosystem": "PyPI", "name": "Zope_Interface"},
                   "ranges": [{"type": "GIT", "repo": "r", "events": [{"introduced": "0"}, {"fixed": "abc"}]},
                              {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "5.0"}]}]},
                  {"package": {"ecosystem": "PyPI", "name": "zope.interface"}, "versions": ["6.0"]},
                  {"package": {"ecosystem": "npm", "name": "zope"}, "versions": ["1.0"]},
                  {"package": {"ecosystem": "PyPI", "name": "other"}, "versions": ["1.0"]}
                ]}"#,
        );
        let all = advisories(&r, Ecosystem::PyPi, |name| name != "other");
        assert_eq!(all.len(), 1);
        let a = &all[0];
        assert_eq!(a.package, "zope-interface");
        assert_eq!(a.aliases, ["CVE-1"]);
        assert_eq!(a.title, "First line.");
        assert_eq!(a.url, "https://osv.dev/vulnerability/GHSA-x");
        assert_eq!(a.source_tag, "osv");
        // Both entries count; the GIT range's fix is no version fix.
        assert!(a.versions.affects("4.9") && a.versions.affects("6.0"));
        assert!(!a.versions.affects("5.0") && !a.versions.affects("6.1"));
        assert_eq!(a.versions.patched(), ["5.0"]);
        assert!(a.cvss.is_none() && a.severity_label.is_none());
    }

    #[test]
    fn severities_are_scored_and_labelled() {
        let r = record(
            r#"{"id": "GHSA-y", "summary": "  Summary  ",
                "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"},
                             {"type": "CVSS_V4", "score": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"},
                             {"type": "CVSS_V2", "score": "AV:N/AC:L/Au:N/C:C/I:C/A:C"},
                             {"type": "CVSS_V3", "score": "CVSS:3.1/garbage"}],
                "database_specific": {"severity": "HIGH", "cwe_ids": ["CWE-1"]},
                "affected": [{"package": {"ecosystem": "PyPI", "name": "a"}}]}"#,
        );
        let a = &advisories(&r, Ecosystem::PyPi, |_| true)[0];
        assert_eq!(a.title, "Summary");
        let cvss = a.cvss.as_ref().unwrap();
        assert!(cvss.vector.starts_with("CVSS:4.0/"), "{}", cvss.vector);
        assert!((cvss.score - 9.3).abs() < 0.05, "{}", cvss.score);
        assert_eq!(a.severity_label.as_deref(), Some("HIGH"));
        let v3 = record(
            r#"{"id": "GHSA-z", "affected": [{"package": {"ecosystem": "PyPI", "name": "a"},
                "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"}]}],
                "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]}"#,
        );
        // The package's own severity wins over the record's.
        assert_eq!(
            advisories(&v3, Ecosystem::PyPi, |_| true)[0]
                .cvss
                .as_ref()
                .unwrap()
                .score,
            7.5
        );
    }

    #[test]
    fn malicious_package_records_are_their_own_kind() {
        let r = record(
            r#"{"id": "MAL-2022-4691", "summary": "Malicious code in example",
                "affected": [{"package": {"ecosystem": "npm", "name": "example"},
                              "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}]}]}]}"#,
        );
        let a = &advisories(&r, Ecosystem::Npm, |_| true)[0];
        assert_eq!(a.kind, AdvisoryKind::Malicious);
        assert!(a.versions.affects("1.0.0"));
        assert!(advisories(&r, Ecosystem::PyPi, |_| true).is_empty());
    }

    #[test]
    fn withdrawn_records_make_no_advisory() {
        let r = record(
            r#"{"id": "PYSEC-2022-15", "withdrawn": "2022-02-22T16:15:07Z",
                "affected": [{"package": {"ecosystem": "PyPI", "name": "loguru"}}]}"#,
        );
        assert!(advisories(&r, Ecosystem::PyPi, |_| true).is_empty());
    }
}
