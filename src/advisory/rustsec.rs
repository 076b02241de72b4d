//! The RustSec advisory database as an advisory source: a checkout or
//! secgate's cache (`db`), read one crate folder at a time, verified against
//! its fetch record, its advisories turned into the common model.

pub mod checkout;
mod stats;

use stats::advisory_files;
pub use stats::{is_counted, DbStats};

use super::{
    Advisory, AdvisoryKind, AdvisorySource, AffectedVersions, Cvss, DatabaseInfo, Loaded,
    SourceReport,
};
use crate::inventory::Ecosystem;
use ::rustsec::advisory::Informational;
use ::rustsec::{Advisory as RawAdvisory, Collection, SourceId};
use checkout::FetchRecord;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The RustSec database at a path, as one check reads it.
pub struct RustSecSource {
    database: AdvisoryDb,
    /// A directory the user named (`--db`), not secgate's cache.
    explicit: bool,
    record: Result<Option<FetchRecord>, crate::error::DbError>,
    /// Counting every folder, when the record cannot vouch for them.
    counting: Option<std::thread::JoinHandle<DbStats>>,
    /// The advisory files of each folder the loads read.
    listed: Mutex<BTreeMap<String, usize>>,
}

impl RustSecSource {
    /// Opens the database at `path`; `explicit`: named by the user (`--db`).
    pub fn open(path: &Path, explicit: bool) -> Result<RustSecSource, String> {
        let database = AdvisoryDb::open(path)?;
        // The record's figures are used only where what is on disk agrees:
        // a cache can be primed with a record that vouches for a gutted
        // database. Its per-folder counts let the folders this check reads
        // (listed anyway) be verified for free; without them every folder
        // is counted, the slowest read here, beside everything else.
        let record = checkout::read_fetch_record(path);
        let fingerprinted = matches!(&record, Ok(Some(r)) if r.crate_folders.is_some());
        let counting = (!fingerprinted).then(|| {
            let path = database.path.clone();
            let crate_folders = Arc::clone(&database.crate_folders);
            std::thread::spawn(move || stats::read(&path, &crate_folders))
        });
        Ok(RustSecSource {
            database,
            explicit,
            record,
            counting,
            listed: Mutex::new(BTreeMap::new()),
        })
    }
}

impl AdvisorySource for RustSecSource {
    fn ecosystem(&self) -> Ecosystem {
        Ecosystem::CratesIo
    }

    fn load(&self, names: &BTreeSet<&str>) -> Result<Loaded, String> {
        let (raw, listed) = self.database.load(names)?;
        self.listed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(listed);
        let mut loaded = Loaded::default();
        // Parsed once: a URL parse per advisory cost more than the match.
        let crates_io = SourceId::default();
        for (name, advisories) in raw {
            let matching = advisories
                .iter()
                .filter(|a| a.metadata.withdrawn.is_none() && is_for_crates_io(a, &crates_io))
                .map(convert)
                .collect();
            loaded.by_package.insert(name, matching);
        }
        Ok(loaded)
    }

    fn finish(self: Box<Self>) -> Result<SourceReport, String> {
        let RustSecSource {
            database,
            explicit,
            record,
            counting,
            listed,
        } = *self;
        let listed = listed.into_inner().unwrap_or_else(|p| p.into_inner());
        let counted = match (counting, &record) {
            (Some(counting), _) => counting
                .join()
                .map(Counted::OnDisk)
                .map_err(|_| "counting the advisory database crashed".to_string())?,
            (None, Ok(Some(record))) if database.agrees_with(record, &listed) => {
                Counted::AsRecorded(DbStats {
                    advisories: record.advisories,
                    newest: record.newest_advisory.clone(),
                    crate_folders: BTreeMap::new(),
                })
            }
            // Something differs: count it all to say what.
            (None, _) => Counted::OnDisk(stats::read(&database.path, &database.crate_folders)),
        };
        let (stats, record, warning) = verify_counts(counted, record, &database.path, explicit)?;
        Ok(SourceReport {
            database: describe(&stats, record.as_ref(), &database.path, explicit),
            warnings: warning.into_iter().collect(),
        })
    }
}

/// Size, age and origin, from the counted figures and the fetch record.
fn describe(
    stats: &DbStats,
    record: Option<&FetchRecord>,
    path: &Path,
    explicit: bool,
) -> DatabaseInfo {
    let fresh = checkout::freshness_of(
        stats.advisories,
        stats.newest.as_deref(),
        record,
        time::OffsetDateTime::now_utc(),
    );
    DatabaseInfo {
        source: match (record, explicit) {
            (Some(record), false) => record.url.clone(),
            _ => path.display().to_string(),
        },
        path: path.display().to_string(),
        advisories: fresh.advisories,
        newest_advisory: fresh.newest,
        fetched_at: record.map(|r| r.fetched_at.clone()),
        age: fresh.age,
        explicit,
        record_path: record.map(|_| checkout::record_path(path).display().to_string()),
        named_by: "the --db checkout",
    }
}

/// Only advisories about crates.io, as rustsec's own query for a crates.io
/// package: the advisory's `source` (crates.io unless it says otherwise)
/// must be crates.io (`crates_io`: `SourceId::default()`).
fn is_for_crates_io(advisory: &RawAdvisory, crates_io: &SourceId) -> bool {
    let source = advisory.metadata.source.as_ref().unwrap_or(crates_io);
    source.kind() == crates_io.kind() && source.url() == crates_io.url()
}

/// A RustSec advisory in the common model.
fn convert(advisory: &RawAdvisory) -> Advisory {
    let metadata = &advisory.metadata;
    let id = metadata.id.to_string();
    let (affected_os, affected_arch) = match &advisory.affected {
        None => (Vec::new(), Vec::new()),
        Some(affected) => (
            affected.os.iter().map(|os| os.to_string()).collect(),
            affected.arch.iter().map(|arch| arch.to_string()).collect(),
        ),
    };
    Advisory {
        url: format!("https://rustsec.org/advisories/{id}.html"),
        id,
        aliases: metadata.aliases.iter().map(|a| a.to_string()).collect(),
        ecosystem: Ecosystem::CratesIo,
        package: metadata.package.as_str().to_string(),
        title: metadata.title.clone(),
        description: metadata.description.clone(),
        kind: match &metadata.informational {
            None => AdvisoryKind::Vulnerability,
            Some(Informational::Unsound) => AdvisoryKind::Informational("unsound".to_string()),
            Some(Informational::Unmaintained) => {
                AdvisoryKind::Informational("unmaintained".to_string())
            }
            Some(other) => AdvisoryKind::Informational(other.as_str().to_string()),
        },
        cvss: metadata.cvss.as_ref().map(|cvss| Cvss {
            score: cvss.score(),
            vector: cvss.to_string(),
        }),
        severity_label: None,
        versions: AffectedVersions::SemVer(advisory.versions.clone()),
        affected_os,
        affected_arch,
        categories: metadata.categories.iter().map(|c| c.to_string()).collect(),
        source_tag: "rustsec",
    }
}

/// The advisory database directory, read one crate folder at a time
/// (`crates/<name>/RUSTSEC-*.md`): a lock file of 300 packages needs a few
/// dozen of its ~1,200 advisories.
struct AdvisoryDb {
    path: PathBuf,
    /// The folders of `crates/`, listed once: most locked crates have none,
    /// and a name not listed here is not worth a failed open.
    crate_folders: Arc<BTreeSet<String>>,
    /// Held for the whole scan: advisories are read lazily, and an update
    /// must not swap the directory out mid-read.
    _guard: Option<std::fs::File>,
}

impl AdvisoryDb {
    fn open(path: &Path) -> Result<AdvisoryDb, String> {
        checkout::check_checkout(path).map_err(|e| e.to_string())?;
        let guard = checkout::read_guard(path);
        let crates = path.join("crates");
        let listing_error =
            |e: std::io::Error| format!("advisory database {}: {e}", crates.display());
        let mut crate_folders = Vec::new();
        for entry in std::fs::read_dir(&crates).map_err(listing_error)? {
            let entry = entry.map_err(listing_error)?;
            // A crate folder is named after its crate: ASCII, no dotfiles.
            if let Ok(name) = entry.file_name().into_string() {
                if !name.starts_with('.') {
                    crate_folders.push(name);
                }
            }
        }
        // Collected at once, the set is sorted and built in one pass (an
        // insert per name costs a search each).
        let crate_folders: BTreeSet<String> = crate_folders.into_iter().collect();
        // One advisory file is enough to tell a database from an empty one.
        let any = crate_folders
            .iter()
            .any(|name| advisory_files(&crates.join(name)).is_ok_and(|files| !files.is_empty()));
        if !any {
            return Err(format!(
                "advisory database {}: holds no advisories (an empty database cannot vouch for anything)",
                path.display()
            ));
        }
        Ok(AdvisoryDb {
            path: path.to_path_buf(),
            crate_folders: Arc::new(crate_folders),
            _guard: guard,
        })
    }

    /// Parses the advisories of `names` (crates.io crates), in parallel;
    /// also returns how many advisory files each folder it read holds.
    /// An advisory that does not load fails the scan, as it would fail
    /// `rustsec::Database::open`.
    fn load(&self, names: &BTreeSet<&str>) -> Result<RawLoaded, String> {
        let crates = self.path.join("crates");
        let mut files = Vec::new();
        let mut listed = BTreeMap::new();
        // Only listed folder names are joined, so a lock file's names
        // cannot lead out of crates/.
        for &name in names.iter().filter(|n| self.crate_folders.contains(**n)) {
            match advisory_files(&crates.join(name)) {
                Ok(found) => {
                    let counted = found.iter().filter(|file| {
                        let name = file.file_name().unwrap_or_default();
                        stats::is_counted(&name.to_string_lossy())
                    });
                    listed.insert(name.to_string(), counted.count());
                    files.extend(found);
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(format!("advisory database {}: {e}", crates.display())),
            }
        }
        let threads = crate::parallel::worker_threads(files.len(), 16, 8);
        let chunk = files.len().div_ceil(threads).max(1);
        let results: Vec<Result<Vec<RawAdvisory>, String>> = std::thread::scope(|scope| {
            let handles: Vec<_> = files
                .chunks(chunk)
                .map(|part| scope.spawn(move || part.iter().map(|f| load_advisory(f)).collect()))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err("loading advisories crashed".to_string()))
                })
                .collect()
        });
        let mut by_crate: BTreeMap<String, Vec<RawAdvisory>> = BTreeMap::new();
        for result in results {
            for advisory in result? {
                if advisory.metadata.id.is_placeholder() {
                    continue;
                }
                by_crate
                    .entry(advisory.metadata.package.as_str().to_string())
                    .or_default()
                    .push(advisory);
            }
        }
        for list in by_crate.values_mut() {
            list.sort_by(|a, b| a.metadata.id.cmp(&b.metadata.id));
        }
        Ok((by_crate, listed))
    }

    /// Whether the folders of `crates/`, and the advisory files of those
    /// `listed`, are as the fetch record counted them.
    fn agrees_with(&self, record: &FetchRecord, listed: &BTreeMap<String, usize>) -> bool {
        let Some(recorded) = &record.crate_folders else {
            return false;
        };
        // A record at odds with itself vouches for nothing.
        recorded.values().sum::<usize>() <= record.advisories
            && recorded.keys().eq(self.crate_folders.iter())
            && listed
                .iter()
                .all(|(name, count)| recorded.get(name) == Some(count))
    }
}

/// The advisories read, by crate, and the advisory files in each folder read.
type RawLoaded = (BTreeMap<String, Vec<RawAdvisory>>, BTreeMap<String, usize>);

/// How many advisories the database at `dir` holds, in all and in each
/// crate's folder, counted as a check counts them (files, not parsed);
/// none when `crates/` cannot be listed.
pub fn count_advisories(dir: &Path) -> DbStats {
    let crate_folders = match std::fs::read_dir(dir.join("crates")) {
        Ok(listing) => listing
            .flatten()
            .filter_map(|entry| entry.file_name().into_string().ok())
            .filter(|name| !name.starts_with('.'))
            .collect(),
        Err(_) => BTreeSet::new(),
    };
    stats::read(dir, &crate_folders)
}

/// One advisory, with the checks `rustsec::Database::open` makes: the file
/// is named after its id, sits in its crate's folder, in `crates/`.
fn load_advisory(path: &Path) -> Result<RawAdvisory, String> {
    let shown = || path.display().to_string();
    let mut advisory =
        RawAdvisory::load_file(path).map_err(|e| format!("advisory {}: {e}", shown()))?;
    if path.extension().and_then(|e| e.to_str()) != Some("md") {
        return Err(format!("advisory {}: unexpected file extension", shown()));
    }
    let expected = format!("{}.md", advisory.metadata.id);
    if path.file_name().is_some_and(|n| *n != *expected) && !RawAdvisory::is_draft(path) {
        return Err(format!(
            "advisory {}: expected it named {expected}",
            shown()
        ));
    }
    let dir = path.parent().and_then(|p| p.file_name());
    if dir.is_none_or(|d| *d != *advisory.metadata.package.as_str()) {
        return Err(format!(
            "advisory {}: not in the folder of its package `{}`",
            shown(),
            advisory.metadata.package
        ));
    }
    match advisory.metadata.collection {
        None => advisory.metadata.collection = Some(Collection::Crates),
        Some(Collection::Crates) => {}
        Some(_) => return Err(format!("advisory {}: collection mismatch", shown())),
    }
    Ok(advisory)
}

/// How the scan knows the database's size.
enum Counted {
    /// Every folder listed.
    OnDisk(DbStats),
    /// The fetch record's figures: the list of folders and every folder the
    /// check read agree with it.
    AsRecorded(DbStats),
}

/// Checks the database's size against its fetch record: no advisories at
/// all is an error, and so is fewer than were fetched (deleted after the
/// fetch), in all or in one crate's folder. Returns the figures to report,
/// the record, and a warning when the record is missing from the cache,
/// garbled, or short of what is there.
fn verify_counts(
    counted: Counted,
    record: Result<Option<FetchRecord>, crate::error::DbError>,
    db_path: &Path,
    explicit_db: bool,
) -> Result<(DbStats, Option<FetchRecord>, Option<String>), String> {
    let empty = || {
        format!(
            "advisory database {}: holds no advisories (an empty database cannot vouch for anything)",
            db_path.display()
        )
    };
    let (stats, on_disk) = match counted {
        Counted::OnDisk(stats) => (stats, true),
        Counted::AsRecorded(stats) => (stats, false),
    };
    if stats.advisories == 0 {
        return Err(empty());
    }
    let counted_figures = |stats: DbStats, warning: String| {
        let warning = format!(
            "{warning}: using the {} advisories counted",
            stats.advisories
        );
        Ok((stats, None, Some(warning)))
    };
    let record = match record {
        Ok(Some(record)) => record,
        // A --db checkout has no record; the cache always has one.
        Ok(None) if explicit_db => return Ok((stats, None, None)),
        Ok(None) => {
            let warning = format!(
                "advisory database {}: no fetch record ({} is missing)",
                db_path.display(),
                checkout::record_path(db_path).display()
            );
            return counted_figures(stats, warning);
        }
        Err(error) => return counted_figures(stats, error.to_string()),
    };
    if !on_disk {
        return Ok((stats, Some(record), None));
    }
    let record_path = checkout::record_path(db_path);
    if let Some(short) = shortfall(&stats, &record) {
        let what = match short.folder {
            Some(name) => format!("crates/{name} holds"),
            None => "holds".to_string(),
        };
        return Err(format!(
            "advisory database {}: {what} {}, but its fetch record {} counted {} at the fetch: advisories were deleted since (run `secgate db update` to fetch it again)",
            db_path.display(),
            advisories(short.on_disk),
            record_path.display(),
            short.fetched
        ));
    }
    let warning = (stats.advisories > record.advisories
        || record
            .crate_folders
            .as_ref()
            .is_some_and(|folders| *folders != stats.crate_folders))
    .then(|| {
        format!(
            "advisory database {}: holds {}, but its fetch record {} counted {} at the fetch: files were added since; the advisories on disk are used",
            db_path.display(),
            advisories(stats.advisories),
            record_path.display(),
            record.advisories
        )
    });
    Ok((stats, Some(record), warning))
}

/// `1 advisory`, `2 advisories`.
fn advisories(count: usize) -> String {
    match count {
        1 => "1 advisory".to_string(),
        _ => format!("{count} advisories"),
    }
}

/// Where a database holds fewer advisories than its fetch record says
/// were fetched: in all (`folder` none), or in one crate's folder.
pub struct Shortfall {
    pub folder: Option<String>,
    pub on_disk: usize,
    pub fetched: usize,
}

/// The first shortfall of `stats` (counted on disk) against `record`.
pub fn shortfall(stats: &DbStats, record: &FetchRecord) -> Option<Shortfall> {
    if stats.advisories < record.advisories {
        return Some(Shortfall {
            folder: None,
            on_disk: stats.advisories,
            fetched: record.advisories,
        });
    }
    // As many in all, but fewer in one folder: deleted there, added elsewhere.
    record
        .crate_folders
        .iter()
        .flatten()
        .find_map(|(name, &fetched)| {
            let on_disk = stats.crate_folders.get(name).copied().unwrap_or(0);
            (on_disk < fetched).then(|| Shortfall {
                folder: Some(name.clone()),
                on_disk,
                fetched,
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture_advisory(path: &str) -> RawAdvisory {
        load_advisory(
            &Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/advisory-db/crates")
                .join(path),
        )
        .unwrap()
    }

    #[test]
    fn advisories_convert_with_scores_kinds_and_platforms() {
        let v4 = convert(&fixture_advisory("lz4_flex/RUSTSEC-2026-0041.md"));
        let cvss = v4.cvss.as_ref().unwrap();
        assert!(cvss.vector.starts_with("CVSS:4.0/"), "{}", cvss.vector);
        assert!(cvss.score > 0.0);
        let v3 = convert(&fixture_advisory("smallvec/RUSTSEC-2021-0003.md"));
        assert!(v3.cvss.as_ref().unwrap().score >= 9.0);
        assert_eq!(v3.kind, AdvisoryKind::Vulnerability);
        let unscored = convert(&fixture_advisory("h2/RUSTSEC-2024-0003.md"));
        assert!(unscored.cvss.is_none());
        let unsound = convert(&fixture_advisory("atty/RUSTSEC-2021-0145.md"));
        assert_eq!(unsound.kind, AdvisoryKind::Informational("unsound".into()));
        assert_eq!(unsound.affected_os, ["windows"]);
        assert!(v3.versions.affects("1.6.0"));
        assert!(!v3.versions.affects("1.6.1"));
        assert_eq!(v3.versions.smallest_fix("1.6.0").as_deref(), Some("1.6.1"));
    }

    #[test]
    fn a_misplaced_advisory_fails_to_load() {
        let dir = tempfile::tempdir().unwrap();
        let wrong = dir.path().join("crates/not-h2");
        std::fs::create_dir_all(&wrong).unwrap();
        let source = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/advisory-db/crates/h2/RUSTSEC-2024-0003.md");
        std::fs::copy(source, wrong.join("RUSTSEC-2024-0003.md")).unwrap();
        let error = load_advisory(&wrong.join("RUSTSEC-2024-0003.md")).unwrap_err();
        assert!(error.contains("folder of its package"), "{error}");
    }
}
