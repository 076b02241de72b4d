//! OSV advisory data as an advisory source: one ecosystem's archive
//! (`<base>/<Ecosystem>/all.zip`, as OSV publishes them), read through a
//! package index kept in secgate's cache, so a check parses only the
//! records of the packages it was asked about. PyPI first; the version
//! ordering is per ecosystem (`ranges::VersionOrder`).

mod archive;
mod convert;
mod index;
pub mod record;

pub use archive::{read_all_from_bytes, Identity, MAX_RECORD};
pub use index::{Index, IndexStatus};

use super::aliases::merge_aliases;
use super::{Advisory, AdvisorySource, DatabaseInfo, Loaded, SourceReport};
pub use crate::error::OsvError;
use crate::inventory::Ecosystem;
use archive::Archive;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// One ecosystem's OSV archive, as one check reads it.
pub struct OsvSource {
    ecosystem: Ecosystem,
    archive: Archive,
    index: Index,
    status: IndexStatus,
    warnings: Vec<String>,
}

impl OsvSource {
    /// Opens `archive` (an `all.zip`, which may sit in a read-only folder)
    /// for `ecosystem`, its index read from `index_cache_dir` or built
    /// there (the directory is created; when it cannot be written, the
    /// index is built in memory and a warning says so).
    pub fn open(
        archive: &Path,
        ecosystem: Ecosystem,
        index_cache_dir: &Path,
    ) -> Result<OsvSource, OsvError> {
        let archive = Archive::open(archive)?;
        let (index, status, warning) = index::load_or_build(&archive, ecosystem, index_cache_dir)?;
        // Records about other ecosystems only vouch for nothing here either.
        if index.advisories == 0 || index.packages.is_empty() {
            return Err(OsvError::Empty {
                path: archive.path().to_path_buf(),
                ecosystem: ecosystem.as_str().to_string(),
            });
        }
        Ok(OsvSource {
            ecosystem,
            archive,
            index,
            status,
            warnings: warning.into_iter().collect(),
        })
    }

    /// Whether the index came from the cache or was built.
    pub fn index_status(&self) -> IndexStatus {
        self.status
    }

    pub fn index(&self) -> &Index {
        &self.index
    }

    /// The advisories of the packages `names` (as the inventory spells
    /// them), keyed by those names, merged where they alias each other.
    pub fn read(&self, names: &BTreeSet<&str>) -> Result<Loaded, OsvError> {
        // Normalised name → the names asked for that normalise to it.
        let mut asked: BTreeMap<String, Vec<&str>> = BTreeMap::new();
        for &name in names {
            asked
                .entry(self.ecosystem.normalize_name(name))
                .or_default()
                .push(name);
        }
        let entries: BTreeSet<&str> = asked
            .keys()
            .filter_map(|package| self.index.packages.get(package))
            .flatten()
            .map(String::as_str)
            .collect();
        let entries: Vec<&str> = entries.into_iter().collect();
        let wanted = |package: &str| asked.contains_key(package);
        let mut by_package: BTreeMap<String, Vec<Advisory>> = BTreeMap::new();
        for advisory in self.read_advisories(&entries, &wanted)? {
            by_package
                .entry(advisory.package.clone())
                .or_default()
                .push(advisory);
        }
        let mut loaded = Loaded::default();
        for (package, advisories) in by_package {
            let merged = merge_aliases(advisories);
            // Usually one name asked per package: no copy then.
            if let Some((last, others)) = asked.get(&package).and_then(|n| n.split_last()) {
                for &name in others {
                    loaded.by_package.insert(name.to_string(), merged.clone());
                }
                loaded.by_package.insert(last.to_string(), merged);
            }
        }
        Ok(loaded)
    }

    /// The advisories the records of `entries` make for the `wanted`
    /// packages: read, parsed and converted in parallel when there are many.
    fn read_advisories(
        &self,
        entries: &[&str],
        wanted: &(dyn Fn(&str) -> bool + Sync),
    ) -> Result<Vec<Advisory>, OsvError> {
        let threads = crate::parallel::worker_threads(entries.len(), 32, 8);
        let chunk = entries.len().div_ceil(threads).max(1);
        let ecosystem = self.ecosystem;
        let parts: Vec<Result<Vec<Advisory>, OsvError>> = std::thread::scope(|s| {
            let handles: Vec<_> = entries
                .chunks(chunk)
                .map(|part| {
                    let mut archive = self.archive.clone();
                    s.spawn(move || {
                        let mut advisories = Vec::new();
                        for name in part {
                            let record = read_record(&mut archive, name)?;
                            advisories.extend(convert::advisories(&record, ecosystem, wanted));
                        }
                        Ok(advisories)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(OsvError::Crashed("reading OSV records".to_string()))
                    })
                })
                .collect()
        });
        let mut advisories = Vec::new();
        for part in parts {
            advisories.extend(part?);
        }
        Ok(advisories)
    }

    /// What the check used: the archive, its advisory count and newest date.
    /// An archive `db update` fetched has a fetch record beside it: its
    /// age is the fetch's; another (`--osv-db`) is as old as its newest
    /// advisory.
    pub fn describe(&self) -> DatabaseInfo {
        let archive = self.archive.path();
        let path = archive.display().to_string();
        let record = super::rustsec::checkout::fetch_record(archive);
        let fresh = super::rustsec::checkout::freshness_of(
            self.index.advisories,
            self.index.newest.as_deref(),
            record.as_ref(),
            time::OffsetDateTime::now_utc(),
        );
        DatabaseInfo {
            source: record
                .as_ref()
                .map_or_else(|| path.clone(), |r| r.url.clone()),
            path,
            advisories: fresh.advisories,
            newest_advisory: fresh.newest,
            fetched_at: record.as_ref().map(|r| r.fetched_at.clone()),
            age: fresh.age,
            explicit: record.is_none(),
            record_path: record.map(|_| {
                super::rustsec::checkout::record_path(archive)
                    .display()
                    .to_string()
            }),
            named_by: "the --osv-db archives",
        }
    }
}

/// Checks an archive `db update` downloaded, before it replaces anything:
/// a readable zip whose every record parses, some of them about
/// `ecosystem`. Its advisory count and newest `modified` date, for the
/// fetch record.
pub fn verify(archive: &Path, ecosystem: Ecosystem) -> Result<(usize, Option<String>), OsvError> {
    let archive = Archive::open(archive)?;
    let index = Index::build(&archive, ecosystem)?;
    if index.advisories == 0 || index.packages.is_empty() {
        return Err(OsvError::Empty {
            path: archive.path().to_path_buf(),
            ecosystem: ecosystem.as_str().to_string(),
        });
    }
    Ok((index.advisories, index.newest))
}

fn read_record(archive: &mut Archive, name: &str) -> Result<record::Record, OsvError> {
    let bytes = archive.read(name)?;
    serde_json::from_slice(&bytes).map_err(|e| OsvError::Record {
        path: archive.path().to_path_buf(),
        entry: name.to_string(),
        message: e.to_string(),
    })
}

impl AdvisorySource for OsvSource {
    fn ecosystem(&self) -> Ecosystem {
        self.ecosystem
    }

    fn load(&self, names: &BTreeSet<&str>) -> Result<Loaded, String> {
        self.read(names).map_err(|e| e.to_string())
    }

    fn finish(self: Box<Self>) -> Result<SourceReport, String> {
        Ok(SourceReport {
            database: self.describe(),
            warnings: self.warnings,
        })
    }
}

/// The advisories one OSV JSON record makes for `ecosystem`'s packages,
/// each checked against `versions` and against the record's own bounds and
/// listed versions: for the fuzz target (any bytes: a result, never a
/// panic). Panics only where an invariant breaks: a fix that is affected,
/// a version in the ranges that is not affected.
pub fn parse_and_evaluate(
    json: &[u8],
    ecosystem: Ecosystem,
    versions: &[&str],
) -> Result<usize, String> {
    let record: record::Record = serde_json::from_slice(json).map_err(|e| e.to_string())?;
    let mut candidates: Vec<&str> = versions.to_vec();
    for affected in &record.affected {
        candidates.extend(affected.versions.iter().map(String::as_str));
        for event in affected.ranges.iter().flat_map(|r| &r.events) {
            let bounds = [
                &event.introduced,
                &event.fixed,
                &event.last_affected,
                &event.limit,
            ];
            candidates.extend(bounds.into_iter().flatten().map(String::as_str));
        }
    }
    candidates.truncate(64);
    let advisories = convert::advisories(&record, ecosystem, |_| true);
    for advisory in &advisories {
        let super::AffectedVersions::Osv(ranges) = &advisory.versions else {
            unreachable!("OSV advisories have OSV ranges")
        };
        let _ = ranges.patched();
        for version in &candidates {
            let affected = ranges.affects(version);
            assert!(
                affected || !ranges.in_ranges(version),
                "{version}: in the ranges, not affected"
            );
            if let Some(fix) = ranges.smallest_fix(version) {
                assert!(
                    !ranges.affects(&fix),
                    "{version}: the fix {fix} is affected"
                );
            }
        }
    }
    Ok(merge_aliases(advisories).len())
}

#[cfg(test)]
mod tests;
