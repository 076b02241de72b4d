//! Advisory sources and what they say, in one model for every ecosystem:
//! an advisory (id, aliases, kind, score, affected versions, fixes) and a
//! source that reads the advisories of the packages asked for, never a
//! whole database for a small lock file. The RustSec database is the first
//! source (`rustsec`); the advisory check matches an inventory's packages
//! through this model only.

pub mod aliases;
pub mod osv;
pub mod ranges;
pub mod rustsec;
mod upgrade;

use crate::inventory::Ecosystem;
use std::collections::{BTreeMap, BTreeSet};

/// What an advisory is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AdvisoryKind {
    /// A vulnerability: graded by its CVSS score, else unscored.
    Vulnerability,
    /// Informational, graded by the policy: `unsound`, `unmaintained`, or
    /// another notice (`notice` grade), named as the source names it.
    Informational(String),
    /// A malicious package (OSV's `MAL-` records): any version it lists is
    /// malware, graded by the policy (`advisories.malicious`).
    Malicious,
}

impl AdvisoryKind {
    /// `vulnerability`, `malicious`, `unsound`, `unmaintained`, `notice`...
    pub fn as_str(&self) -> &str {
        match self {
            AdvisoryKind::Vulnerability => "vulnerability",
            AdvisoryKind::Informational(name) => name,
            AdvisoryKind::Malicious => "malicious",
        }
    }
}

/// A CVSS score and the vector it was computed from (3.x or 4.0).
#[derive(Clone, Debug, PartialEq)]
pub struct Cvss {
    pub score: f64,
    pub vector: String,
}

/// Which versions an advisory affects, in its ecosystem's terms.
#[derive(Clone, Debug)]
pub enum AffectedVersions {
    /// SemVer requirements, as RustSec writes them (`patched`, `unaffected`).
    SemVer(::rustsec::advisory::Versions),
    /// OSV ranges and version lists, in the ecosystem's own order.
    Osv(ranges::OsvRanges),
}

impl AffectedVersions {
    /// Whether `version` is affected; a version that does not parse in the
    /// ecosystem's scheme is affected (fail closed).
    pub fn affects(&self, version: &str) -> bool {
        match self {
            AffectedVersions::SemVer(versions) => semver::Version::parse(version)
                .map_or(true, |version| versions.is_vulnerable(&version)),
            AffectedVersions::Osv(ranges) => ranges.affects(version),
        }
    }

    /// The patched ranges, as written.
    pub fn patched(&self) -> Vec<String> {
        match self {
            AffectedVersions::SemVer(versions) => {
                versions.patched().iter().map(|r| r.to_string()).collect()
            }
            AffectedVersions::Osv(ranges) => ranges.patched(),
        }
    }

    /// The smallest version at or above `version` that is not affected.
    pub fn smallest_fix(&self, version: &str) -> Option<String> {
        match self {
            AffectedVersions::SemVer(versions) => {
                let current = semver::Version::parse(version).ok()?;
                upgrade::smallest_upgrade(versions, &current).map(|v| v.to_string())
            }
            AffectedVersions::Osv(ranges) => ranges.smallest_fix(version),
        }
    }

    /// Whether `merge` can take `other`: only like with like (OSV ranges
    /// in one order).
    pub fn can_merge(&self, other: &AffectedVersions) -> bool {
        matches!((self, other), (AffectedVersions::Osv(a), AffectedVersions::Osv(b)) if a.order() == b.order())
    }

    /// Both as one: affected where either is; `other` comes back when it
    /// cannot be merged (see `can_merge`).
    pub fn merge(&mut self, other: AffectedVersions) -> Result<(), AffectedVersions> {
        match (self, other) {
            (AffectedVersions::Osv(ours), AffectedVersions::Osv(theirs))
                if ours.order() == theirs.order() =>
            {
                ours.merge(theirs);
                Ok(())
            }
            (_, other) => Err(other),
        }
    }
}

/// One advisory, whatever its source.
#[derive(Clone, Debug)]
pub struct Advisory {
    pub id: String,
    pub aliases: Vec<String>,
    pub ecosystem: Ecosystem,
    pub package: String,
    pub title: String,
    pub description: String,
    /// The advisory's page.
    pub url: String,
    pub kind: AdvisoryKind,
    pub cvss: Option<Cvss>,
    /// The source's own grade where it gives one (GitHub's `LOW`,
    /// `MODERATE`, `HIGH`, `CRITICAL` in OSV `database_specific`), as
    /// written: a fallback for an advisory without a CVSS score.
    pub severity_label: Option<String>,
    pub versions: AffectedVersions,
    /// Operating systems and architectures it is limited to (empty: all).
    pub affected_os: Vec<String>,
    pub affected_arch: Vec<String>,
    pub categories: Vec<String>,
    /// A tag for the source in rule tags (`rustsec`, `osv`).
    pub source_tag: &'static str,
}

/// Advisories read for some packages, by package name.
#[derive(Debug, Default)]
pub struct Loaded {
    pub by_package: BTreeMap<String, Vec<Advisory>>,
}

impl Loaded {
    /// The advisories affecting `name` at `version`.
    pub fn affecting<'a>(
        &'a self,
        name: &str,
        version: &'a str,
    ) -> impl Iterator<Item = &'a Advisory> {
        self.by_package
            .get(name)
            .into_iter()
            .flatten()
            .filter(move |advisory| advisory.versions.affects(version))
    }

    pub fn count(&self) -> usize {
        self.by_package.values().map(Vec::len).sum()
    }
}

/// What a source says about itself after a check: its size, age and origin
/// (data; whether it is too old is the gate's to say), and what it noticed.
#[derive(Debug)]
pub struct SourceReport {
    pub database: DatabaseInfo,
    /// Problems that do not stop the check (a missing fetch record).
    pub warnings: Vec<String>,
}

/// Which advisory database a check used, for the summary and gate report.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct DatabaseInfo {
    /// The `--db` directory, or the URL the cache was fetched from.
    pub source: String,
    pub path: String,
    pub advisories: usize,
    /// The newest advisory's date, `YYYY-MM-DD`.
    pub newest_advisory: Option<String>,
    /// When secgate fetched it (RFC 3339), for the cache.
    pub fetched_at: Option<String>,
    /// How old it is: since the fetch, else since its newest advisory.
    #[serde(skip)]
    pub age: Option<rustsec::checkout::FetchAge>,
    /// A directory the user named (`--db`), not secgate's cache.
    #[serde(skip)]
    pub explicit: bool,
    /// The fetch record's path, when the age comes from one.
    #[serde(skip)]
    pub record_path: Option<String>,
    /// What the user named explicitly (`the --db checkout`), for advice.
    #[serde(skip)]
    pub named_by: &'static str,
}

/// A database of advisories for one ecosystem.
pub trait AdvisorySource: Sync {
    fn ecosystem(&self) -> Ecosystem;

    /// Reads the advisories of the packages named `names`, and only
    /// those; may run beside the lock files' parsing, and more than once.
    fn load(&self, names: &BTreeSet<&str>) -> Result<Loaded, String>;

    /// After the loads: checks what was read against what the database
    /// should hold, and describes it.
    fn finish(self: Box<Self>) -> Result<SourceReport, String>;
}
