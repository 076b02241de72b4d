//! Dependency advisories: every `Cargo.lock` under the root against the
//! RustSec advisory database, with rustsec's matching rules, reading only
//! the advisories of the crates the lock files name.

use crate::config::StaleAction;
use crate::db::{FetchAge, FetchRecord};
use crate::duration::format_duration;
use crate::files::relative_path;
use crate::finding::{fingerprint, Finding, Location, RuleInfo, Scanner, Severity};
use crate::inventory::DependencyKind;
use crate::policy::AdvisorySettings;
use crate::policy::{DEPENDENCY_KIND, DEV_ONLY};
use crate::scan::lockfiles::{self, UncheckedFile};
use crate::scan::scope::{self, ScopeSettings};
use crate::scan::{ScanContext, ScanOutput};
use rustsec::advisory::Informational;
use rustsec::database::Query;
use rustsec::package::Package;
use rustsec::{Advisory, Collection, Lockfile, SourceId};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

mod paths;
mod stats;
mod yanked;

pub use stats::DbStats;

pub fn scan(context: &ScanContext) -> ScanOutput {
    let mut output = ScanOutput::new(Scanner::Advisories);
    let found = match find_lockfiles(context) {
        Ok(found) => found,
        Err(error) => return ScanOutput::failed(Scanner::Advisories, error),
    };
    output.notes.extend(found.notes);
    output.excluded = found.excluded;
    output.unchecked = found.unchecked;
    let lockfiles = found.cargo_locks;
    if lockfiles.is_empty() {
        output
            .notes
            .push("no Cargo.lock found: no Rust dependencies checked".to_string());
        return output;
    }
    // From here a failure keeps what the search found (the unchecked files).
    let fail = |mut output: ScanOutput, error: String| {
        output.error = Some(error);
        output
    };
    let db_path = match &context.advisory_db {
        Some(path) => path.clone(),
        None => match default_db_path() {
            Some(path) if path.is_dir() => path,
            _ => {
                return fail(
                    output,
                    "no advisory database: pass --db DIR (a RustSec advisory-db checkout) or run `secgate db update`".to_string(),
                )
            }
        },
    };
    let database = match AdvisoryDb::open(&db_path) {
        Ok(db) => db,
        Err(error) => return fail(output, error),
    };
    // The record's figures are used only where what is on disk agrees: a
    // cache can be primed with a record that vouches for a gutted database.
    // Its per-folder counts let the folders this check reads (listed
    // anyway) be verified for free; without them every folder is counted,
    // the slowest read here, beside everything else.
    let record = crate::db::read_fetch_record(&db_path);
    let fingerprinted = match &record {
        Ok(Some(record)) if record.crate_folders.is_some() => Some(record),
        _ => None,
    };
    let counting = fingerprinted.is_none().then(|| {
        let path = database.path.clone();
        let crate_folders = Arc::clone(&database.crate_folders);
        std::thread::spawn(move || stats::read(&path, &crate_folders))
    });
    // Lock files first: the crates they name decide which advisories to read.
    let mut texts = Vec::new();
    let mut lock_errors = Vec::new();
    for path in &lockfiles {
        match crate::inventory::cargo::read_lock(path) {
            Ok(text) => texts.push((path.clone(), text)),
            // One broken lock file does not hide the others' findings.
            Err(error) => lock_errors.push(error.to_string()),
        }
    }
    // Parsing is the slowest step before any lookup can start, so the
    // lookups start from a line scan and the parse checks it afterwards.
    let guessed: BTreeSet<yanked::PackageKey> = texts
        .iter()
        .flat_map(|(_, text)| registry_packages_by_lines(text))
        .collect();
    let mut index = yanked::YankedIndex::locate();
    let (parse_results, loaded, yanked) = std::thread::scope(|scope| {
        let yanked = scope.spawn(|| index.yanked_among(&guessed));
        let loaded = scope.spawn(|| database.load(&names_of(&guessed)));
        let parse_results: Vec<_> = texts
            .into_iter()
            .map(|(path, text)| parse_lockfile(&path, text))
            .collect();
        (parse_results, loaded.join(), yanked.join())
    });
    let mut parsed = Vec::new();
    for result in parse_results {
        match result {
            Ok(lock) => parsed.push(lock),
            Err(error) => lock_errors.push(error),
        }
    }
    let registry_packages: BTreeSet<yanked::PackageKey> = parsed
        .iter()
        .flat_map(|lock| lock.lockfile.packages.iter())
        .filter(|p| is_crates_io(p))
        .map(|p| (p.name.as_str().to_string(), p.version.to_string()))
        .collect();
    let names = names_of(&registry_packages);
    let (loaded, yanked) = match (loaded, yanked) {
        (Ok(loaded), Ok(yanked)) if registry_packages == guessed => (loaded, Ok(yanked)),
        // An unusual layout (or a lock file that did not parse): look up
        // exactly what the parser found.
        _ => {
            index = yanked::YankedIndex::locate();
            let yanked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                index.yanked_among(&registry_packages)
            }));
            (database.load(&names), yanked)
        }
    };
    let (advisories, listed) = match loaded {
        Ok(loaded) => loaded,
        Err(error) => return fail(output, error),
    };
    let counted = match (counting, fingerprinted) {
        (Some(counting), _) => counting.join().map(Counted::OnDisk),
        (None, Some(record)) if database.agrees_with(record, &listed) => {
            Ok(Counted::AsRecorded(stats::DbStats {
                advisories: record.advisories,
                newest: record.newest_advisory.clone(),
                crate_folders: BTreeMap::new(),
            }))
        }
        // Something differs: count it all to say what.
        (None, _) => Ok(Counted::OnDisk(stats::read(
            &database.path,
            &database.crate_folders,
        ))),
    };
    let (Ok(yanked), Ok(counted)) = (yanked, counted) else {
        return fail(
            output,
            "reading the database or the index cache crashed".to_string(),
        );
    };
    let (stats, record) =
        match verify_counts(counted, record, &db_path, context.advisory_db.is_some()) {
            Ok((stats, record, warning)) => {
                output.warnings.extend(warning);
                (stats, record)
            }
            Err(error) => return fail(output, error),
        };
    report_freshness(
        &mut output,
        &stats,
        record.as_ref(),
        &db_path,
        &context.policy.advisories,
        context.advisory_db.is_some(),
    );
    let mut rules = BTreeMap::new();
    let mut packages = 0;
    for lock in &parsed {
        let checked = check_lockfile(
            context,
            &advisories,
            &yanked,
            &context.policy.advisories,
            lock,
        );
        packages += checked.packages;
        let mut findings = checked.findings;
        if !findings.is_empty() {
            let dir = crate::files::directory_of(&lock.path);
            if let Some(note) = classify_findings(context, dir, &mut findings) {
                output.notes.push(note);
            }
        }
        output.findings.extend(findings);
        rules.extend(checked.rules);
    }
    if !lock_errors.is_empty() {
        output.error = Some(lock_errors.join("; "));
    }
    if index.checked_any() {
        rules.insert(yanked::RULE_ID.to_string(), yanked::rule_info());
    }
    output.rules = rules.into_values().collect();
    output.notes.push(format!(
        "{} lock file{}, {packages} packages, {} advisories read for {} crates in {}",
        lockfiles.len(),
        if lockfiles.len() == 1 { "" } else { "s" },
        advisories.values().map(Vec::len).sum::<usize>(),
        names.len(),
        db_path.display()
    ));
    output.notes.push(index.note());
    output
}

/// How the scan knows the database's size.
enum Counted {
    /// Every folder listed.
    OnDisk(stats::DbStats),
    /// The fetch record's figures: the list of folders and every folder the
    /// check read agree with it.
    AsRecorded(stats::DbStats),
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
) -> Result<(stats::DbStats, Option<FetchRecord>, Option<String>), String> {
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
    let counted_figures = |stats: stats::DbStats, warning: String| {
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
                crate::db::record_path(db_path).display()
            );
            return counted_figures(stats, warning);
        }
        Err(error) => return counted_figures(stats, error.to_string()),
    };
    if !on_disk {
        return Ok((stats, Some(record), None));
    }
    let record_path = crate::db::record_path(db_path);
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

/// Notes the database's size and age; a database older than `db.max-age`
/// is a warning, or an error where the policy says `stale = "fail"`, and
/// so is one whose fetch record is dated in the future.
fn report_freshness(
    output: &mut ScanOutput,
    stats: &stats::DbStats,
    record: Option<&FetchRecord>,
    db_path: &Path,
    settings: &AdvisorySettings,
    explicit_db: bool,
) {
    let fresh = crate::db::freshness_of(
        stats.advisories,
        stats.newest.as_deref(),
        record,
        time::OffsetDateTime::now_utc(),
    );
    let newest = fresh.newest.as_deref().unwrap_or("unknown");
    let fetched = match (record, fresh.age) {
        (Some(_), Some(FetchAge::Ago(age))) => format!("fetched {} ago", format_duration(age)),
        (Some(record), _) => format!("fetched at {}, in the future", record.fetched_at),
        _ => "no fetch record (age counted from the newest advisory)".to_string(),
    };
    output.notes.push(format!(
        "advisory database: {} advisories, newest {newest}, {fetched}",
        fresh.advisories
    ));
    output.database = Some(crate::scan::DatabaseInfo {
        source: match (&record, explicit_db) {
            (Some(record), false) => record.url.clone(),
            _ => db_path.display().to_string(),
        },
        path: db_path.display().to_string(),
        advisories: fresh.advisories,
        newest_advisory: fresh.newest.clone(),
        fetched_at: record.map(|r| r.fetched_at.clone()),
    });
    let max_age = format_duration(settings.db_max_age);
    let age = match (fresh.age, record) {
        (None, _) => return,
        (Some(FetchAge::Future), Some(record)) => {
            let problem = format!(
                "the fetch record {} says the advisory database was fetched at {}, in the future: counted as stale (db.max-age = {max_age}): run `secgate db update`",
                crate::db::record_path(db_path).display(),
                record.fetched_at
            );
            return stale(output, settings, problem);
        }
        (Some(FetchAge::Future), None) => return,
        (Some(FetchAge::Ago(age)), _) => age,
    };
    if age <= settings.db_max_age {
        return;
    }
    // Without a fetch record the date, not a running age, keeps the SARIF reproducible.
    let problem = if fresh.fetched_at.is_some() {
        format!(
            "the advisory database was fetched {} ago, more than db.max-age = {max_age}: run `secgate db update`",
            format_duration(age)
        )
    } else {
        format!(
            "the advisory database's newest advisory is from {newest}, more than db.max-age = {max_age} ago: {}",
            if explicit_db {
                "update the --db checkout"
            } else {
                "run `secgate db update`"
            }
        )
    };
    stale(output, settings, problem)
}

fn stale(output: &mut ScanOutput, settings: &AdvisorySettings, problem: String) {
    match settings.db_stale {
        StaleAction::Warn => output.warnings.push(problem),
        StaleAction::Fail => output.error = Some(format!("stale database: {problem}")),
    }
}

/// `~/.cache/secgate/advisory-db` (or under `$XDG_CACHE_HOME`).
pub fn default_db_path() -> Option<PathBuf> {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))?;
    Some(cache.join("secgate").join("advisory-db"))
}

/// What the lock-file search found.
struct LockSearch {
    cargo_locks: Vec<PathBuf>,
    unchecked: Vec<UncheckedFile>,
    excluded: Vec<String>,
    notes: Vec<String>,
}

/// Directories whose lock files are not the project's: build output and
/// vendored or installed third-party sources (the project's own lock pins them).
const NOT_THE_PROJECTS: [&str; 5] = ["target", "vendor", "node_modules", ".venv", "site-packages"];

/// The file listing settings of the lock-file search.
pub fn scope_settings(context: &ScanContext) -> ScopeSettings {
    ScopeSettings {
        exclude_key: "advisories.exclude",
        exclude: context.policy.advisories.exclude.clone(),
        skip_dirs: NOT_THE_PROJECTS.to_vec(),
        // Libraries list Cargo.lock in .gitignore; on disk outside git it is checked.
        gitignore_outside_git: false,
        own_outputs: Default::default(),
    }
}

/// `root` may be one lock file, or a directory: every `Cargo.lock` in
/// scope below it (see `scope`), and the dependency files of ecosystems
/// secgate does not check.
fn find_lockfiles(context: &ScanContext) -> Result<LockSearch, String> {
    let root = &context.root;
    if root.is_file() {
        return Ok(LockSearch {
            cargo_locks: vec![root.to_path_buf()],
            unchecked: Vec::new(),
            excluded: Vec::new(),
            notes: Vec::new(),
        });
    }
    let settings = scope_settings(context);
    let listing = scope::list(root, &settings).map_err(|e| e.to_string())?;
    // A lock file below an unreadable directory would go unchecked.
    if let Some(problem) = listing.unreadable.first() {
        return Err(format!("cannot list every lock file: {problem}"));
    }
    // A link or a FIFO named Cargo.lock is a lock file that cannot be read
    // safely: listed, so that reading it fails with the reason.
    let mut relative: Vec<String> = listing
        .files
        .iter()
        .chain(&listing.others)
        .map(|path| relative_path(root, path))
        .collect();
    relative.sort();
    let (cargo_locks, unchecked) = lockfiles::sort_out(relative.iter().map(String::as_str));
    let mut notes = Vec::new();
    if listing.source == scope::Source::IgnoredByGit {
        notes.extend(listing.notes().into_iter().take(1));
    }
    notes.extend(listing.excluded_note(settings.exclude_key));
    if !listing.skipped_dirs.is_empty() {
        notes.push(format!(
            "not searched for lock files (build output, third-party sources): {}",
            scope::abbreviate(&listing.skipped_dirs)
        ));
    }
    Ok(LockSearch {
        cargo_locks: cargo_locks.iter().map(|path| root.join(path)).collect(),
        unchecked,
        excluded: listing.excluded,
        notes,
    })
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
        crate::db::check_checkout(path).map_err(|e| e.to_string())?;
        let guard = crate::db::read_guard(path);
        let crates = path.join("crates");
        let listing_error =
            |e: std::io::Error| format!("advisory database {}: {e}", crates.display());
        let mut crate_folders = BTreeSet::new();
        for entry in std::fs::read_dir(&crates).map_err(listing_error)? {
            let entry = entry.map_err(listing_error)?;
            // A crate folder is named after its crate: ASCII, no dotfiles.
            if let Ok(name) = entry.file_name().into_string() {
                if !name.starts_with('.') {
                    crate_folders.insert(name);
                }
            }
        }
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
    fn load(&self, names: &BTreeSet<&str>) -> Result<Loaded, String> {
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
        let threads = crate::scan::worker_threads(files.len(), 16, 8);
        let chunk = files.len().div_ceil(threads).max(1);
        let results: Vec<Result<Vec<Advisory>, String>> = std::thread::scope(|scope| {
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
        let mut by_crate: BTreeMap<String, Vec<Advisory>> = BTreeMap::new();
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
type Loaded = (BTreeMap<String, Vec<Advisory>>, BTreeMap<String, usize>);

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

/// The advisory files in one crate's folder (what `Database::open` reads:
/// everything but dotfiles), sorted.
fn advisory_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        files.push(entry.path());
    }
    files.sort();
    Ok(files)
}

/// One advisory, with the checks `rustsec::Database::open` makes: the file
/// is named after its id, sits in its crate's folder, in `crates/`.
fn load_advisory(path: &Path) -> Result<Advisory, String> {
    let shown = || path.display().to_string();
    let mut advisory =
        Advisory::load_file(path).map_err(|e| format!("advisory {}: {e}", shown()))?;
    if path.extension().and_then(|e| e.to_str()) != Some("md") {
        return Err(format!("advisory {}: unexpected file extension", shown()));
    }
    let expected = format!("{}.md", advisory.metadata.id);
    if path.file_name().is_some_and(|n| *n != *expected) && !Advisory::is_draft(path) {
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

/// Only crates.io packages are matched, as in `Database::query_vulnerabilities`,
/// but through either index protocol (git or sparse).
fn is_crates_io(package: &Package) -> bool {
    package
        .source
        .as_ref()
        .is_some_and(|source| source.is_default_registry())
}

struct ParsedLockfile {
    path: PathBuf,
    text: String,
    lockfile: Lockfile,
}

/// The crates.io packages of a lock file as cargo writes it (`name`,
/// `version`, `source` lines in each `[[package]]`), without parsing it:
/// a guess, checked against the parse.
fn registry_packages_by_lines(text: &str) -> Vec<yanked::PackageKey> {
    let mut found = Vec::new();
    let mut name: Option<&str> = None;
    let mut version: Option<&str> = None;
    let value = |line: &str, key: &str| -> Option<String> {
        let rest = line
            .strip_prefix(key)?
            .trim_start()
            .strip_prefix('=')?
            .trim();
        Some(rest.strip_prefix('"')?.strip_suffix('"')?.to_string())
    };
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            name = None;
            version = None;
        } else if line.starts_with("name") {
            name = line.split_once('"').and_then(|(_, r)| r.strip_suffix('"'));
        } else if line.starts_with("version") {
            version = line.split_once('"').and_then(|(_, r)| r.strip_suffix('"'));
        } else if let Some(source) = value(line, "source") {
            let crates_io = source == "registry+https://github.com/rust-lang/crates.io-index"
                || source == "sparse+https://index.crates.io/";
            if let (true, Some(name), Some(version)) = (crates_io, name, version) {
                found.push((name.to_string(), version.to_string()));
            }
        }
    }
    found
}

fn names_of(packages: &BTreeSet<yanked::PackageKey>) -> BTreeSet<&str> {
    packages.iter().map(|(name, _)| name.as_str()).collect()
}

fn parse_lockfile(path: &Path, text: String) -> Result<ParsedLockfile, String> {
    // One parse on the common path; the slower parser that names lines
    // runs only to explain a broken or duplicated lock file.
    let explain = |fallback: String| match crate::inventory::cargo::parse_lock(path, &text) {
        Err(precise) => precise.to_string(),
        Ok(_) => fallback,
    };
    let lockfile: Lockfile = text.parse().map_err(|e: rustsec::cargo_lock::Error| {
        explain(crate::inventory::cargo::located_toml_error(
            path,
            "not a valid Cargo.lock",
            &e.to_string(),
        ))
    })?;
    let mut seen = HashSet::with_capacity(lockfile.packages.len());
    for package in &lockfile.packages {
        if !seen.insert((&package.name, &package.version, &package.source)) {
            return Err(explain(format!(
                "{}: package {} {} is listed twice",
                path.display(),
                package.name,
                package.version
            )));
        }
    }
    Ok(ParsedLockfile {
        path: path.to_path_buf(),
        text,
        lockfile,
    })
}

/// Marks each finding with how its package is reached from the workspace
/// (normal, build or dev-only; platform-only) from the shared package graph,
/// so the policy can tell shipped dependencies from test-only ones. Without
/// `cargo metadata` every package counts as shipped (fail closed), and the
/// returned note says why.
fn classify_findings(
    context: &ScanContext,
    dir: &Path,
    findings: &mut [Finding],
) -> Option<String> {
    let shown = relative_path(&context.root, dir);
    let shown = if shown.is_empty() {
        ".".to_string()
    } else {
        shown
    };
    let not_told_apart = |reason: &str| {
        format!("{shown}: dev-only and platform-only dependencies not told apart ({reason}); every package counted as shipped")
    };
    // Building a lock-file graph would only say this, after a second parse.
    if let Some(reason) = context.inventory_is_lockfile_only(dir) {
        return Some(not_told_apart(reason));
    }
    let graph = match context.inventory(dir) {
        Ok(graph) => graph,
        Err(error) => {
            return Some(format!(
                "{shown}: dependency kinds unknown ({error}); every package counted as shipped"
            ))
        }
    };
    if let Some(reason) = &graph.fallback_reason {
        return Some(not_told_apart(reason));
    }
    for finding in findings.iter_mut() {
        let (Some(name), Some(version)) = (
            finding.package.clone(),
            finding
                .properties
                .get("version")
                .and_then(|v| v.as_str())
                .map(str::to_string),
        ) else {
            continue;
        };
        let Some(package) = graph
            .find(&name, Some(&version))
            .map(|i| &graph.packages[i])
        else {
            continue;
        };
        let kind = match package.kind {
            Some(DependencyKind::Normal) => "normal",
            Some(DependencyKind::Build) => "build",
            Some(DependencyKind::DevOnly) => DEV_ONLY,
            None => continue,
        };
        finding
            .properties
            .insert(DEPENDENCY_KIND.to_string(), serde_json::json!(kind));
        if kind == DEV_ONLY {
            finding
                .message
                .push_str("; dev-only dependency (built for tests, never shipped)");
        }
        if let Some(targets) = &package.platform_only {
            finding
                .properties
                .insert("platform-only".to_string(), serde_json::json!(targets));
            finding
                .message
                .push_str(&format!("; only pulled in for {}", targets.join(", ")));
        }
    }
    None
}

struct CheckedLockfile {
    packages: usize,
    findings: Vec<Finding>,
    rules: BTreeMap<String, RuleInfo>,
}

fn check_lockfile(
    context: &ScanContext,
    advisories: &BTreeMap<String, Vec<Advisory>>,
    yanked: &BTreeSet<yanked::PackageKey>,
    grades: &AdvisorySettings,
    lock: &ParsedLockfile,
) -> CheckedLockfile {
    let path = &lock.path;
    let lockfile = &lock.lockfile;
    let lines = package_lines(&lock.text);
    let relative = if context.root.is_file() {
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    } else {
        relative_path(&context.root, path)
    };
    let graph = paths::Graph::new(lockfile);
    let locate = |name: &str, version: &str| {
        lines
            .get(&(name.to_string(), version.to_string()))
            .map(|&(start, end)| Location {
                path: relative.clone(),
                start_line: start,
                start_column: 0,
                end_line: end,
                end_column: 0,
            })
            .unwrap_or_else(|| Location::line(relative.clone(), 1))
    };
    let mut findings = Vec::new();
    let mut rules = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for (position, package) in lockfile.packages.iter().enumerate() {
        if !is_crates_io(package) {
            continue;
        }
        let name = package.name.as_str().to_string();
        let version = package.version.to_string();
        let via = graph.path_to(position);
        if yanked.contains(&(name.clone(), version.clone())) {
            findings.push(yanked::finding(
                &name,
                &version,
                grades.yanked,
                locate(&name, &version),
                &relative,
                &via,
            ));
        }
        let Some(candidates) = advisories.get(&name) else {
            continue;
        };
        // rustsec's own predicate: collection, name, version ranges, source,
        // withdrawn; no platform filter, so every platform is reported.
        // Its source test compares URLs, so crates.io through the sparse
        // protocol (`sparse+https://index.crates.io/`) would never match an
        // advisory: it is crates.io, and is matched as crates.io.
        let as_crates_io;
        let queried = if package.source.as_ref() == Some(&SourceId::default()) {
            package
        } else {
            as_crates_io = Package {
                source: Some(SourceId::default()),
                ..package.clone()
            };
            &as_crates_io
        };
        let query = Query::new()
            .collection(Collection::Crates)
            .withdrawn(false)
            .package(queried);
        for advisory in candidates.iter().filter(|a| query.matches(a)) {
            let id = advisory.metadata.id.to_string();
            if !seen.insert((id.clone(), name.clone(), version.clone())) {
                continue;
            }
            let matched = Matched {
                advisory,
                package,
                via: &via,
            };
            findings.push(matched.finding(grades, locate(&name, &version), &relative));
            rules
                .entry(id)
                .or_insert_with(|| rule_info(advisory, grades));
        }
    }
    CheckedLockfile {
        packages: lockfile.packages.len(),
        findings,
        rules,
    }
}

/// The severity an advisory gets: informational kinds by the policy's
/// grades, vulnerabilities by their CVSS (3.x or 4.0) score, else unknown.
fn severity_of(advisory: &Advisory, grades: &AdvisorySettings) -> Option<Severity> {
    match &advisory.metadata.informational {
        Some(Informational::Unsound) => Some(grades.unsound),
        Some(Informational::Unmaintained) => Some(grades.unmaintained),
        Some(_) => Some(grades.notice),
        None => advisory
            .metadata
            .cvss
            .as_ref()
            .map(|c| Severity::from_score(c.score())),
    }
}

fn kind_of(advisory: &Advisory) -> String {
    match &advisory.metadata.informational {
        None => "vulnerability".to_string(),
        Some(info) => info.as_str().to_string(),
    }
}

/// The platforms an advisory is limited to (empty: all).
fn affected_platforms(advisory: &Advisory) -> (Vec<String>, Vec<String>) {
    match &advisory.affected {
        None => (Vec::new(), Vec::new()),
        Some(affected) => (
            affected.os.iter().map(|os| os.to_string()).collect(),
            affected.arch.iter().map(|arch| arch.to_string()).collect(),
        ),
    }
}

struct Matched<'a> {
    advisory: &'a Advisory,
    package: &'a Package,
    via: &'a [String],
}

impl Matched<'_> {
    fn finding(&self, grades: &AdvisorySettings, location: Location, relative: &str) -> Finding {
        let metadata = &self.advisory.metadata;
        let id = metadata.id.to_string();
        let name = self.package.name.as_str();
        let version = self.package.version.to_string();
        let score = metadata.cvss.as_ref().map(|c| c.score());
        let kind = kind_of(self.advisory);
        let patched: Vec<String> = self
            .advisory
            .versions
            .patched()
            .iter()
            .map(|r| r.to_string())
            .collect();
        let upgrade = paths::smallest_upgrade(&self.advisory.versions, &self.package.version);
        let aliases: Vec<String> = metadata.aliases.iter().map(|a| a.to_string()).collect();
        let (os, arch) = affected_platforms(self.advisory);

        let mut message = format!("{name}@{version}: {} ({id}", metadata.title);
        if !aliases.is_empty() {
            message.push_str(&format!(", {}", aliases.join(", ")));
        }
        message.push_str(&format!("; {kind})"));
        if self.via.len() > 1 {
            message.push_str(&format!("; via {}", self.via.join(" → ")));
        }
        match &upgrade {
            Some(fix) => message.push_str(&format!(
                "; fix: upgrade to {name} {fix} (patched: {})",
                patched.join(", ")
            )),
            None if patched.is_empty() => message.push_str("; no fixed version"),
            None => message.push_str(&format!(
                "; no fixed version at or above {version} (patched: {})",
                patched.join(", ")
            )),
        }
        if !os.is_empty() || !arch.is_empty() {
            let platforms: Vec<&str> = os.iter().chain(&arch).map(String::as_str).collect();
            message.push_str(&format!("; only on {}", platforms.join(", ")));
        }

        let mut properties = BTreeMap::new();
        properties.insert("version".to_string(), serde_json::json!(version));
        properties.insert(
            "package-version".to_string(),
            serde_json::json!(format!("{name}@{version}")),
        );
        properties.insert("kind".to_string(), serde_json::json!(kind));
        properties.insert("patched".to_string(), serde_json::json!(patched));
        properties.insert(
            "smallest-fix".to_string(),
            serde_json::json!(upgrade.map(|v| v.to_string())),
        );
        properties.insert("dependency-path".to_string(), serde_json::json!(self.via));
        if !os.is_empty() {
            properties.insert("affected-os".to_string(), serde_json::json!(os));
        }
        if !arch.is_empty() {
            properties.insert("affected-arch".to_string(), serde_json::json!(arch));
        }
        if let Some(score) = score {
            properties.insert("cvss".to_string(), serde_json::json!(score));
        }
        Finding {
            scanner: Scanner::Advisories,
            tool: None,
            rule_id: id.clone(),
            severity: severity_of(self.advisory, grades),
            title: metadata.title.clone(),
            message,
            location: Some(location),
            fingerprint: fingerprint(&[
                b"advisories",
                id.as_bytes(),
                relative.as_bytes(),
                name.as_bytes(),
                version.as_bytes(),
            ]),
            content_fingerprint: None,
            package: Some(name.to_string()),
            aliases,
            suppression_hint: None,
            properties,
        }
    }
}

fn rule_info(full: &Advisory, grades: &AdvisorySettings) -> RuleInfo {
    let advisory = &full.metadata;
    let score = advisory.cvss.as_ref().map(|c| c.score());
    let severity = severity_of(full, grades);
    let kind = &kind_of(full);
    let id = advisory.id.to_string();
    let url = format!("https://rustsec.org/advisories/{id}.html");
    let first_paragraph = advisory
        .description
        .split("\n\n")
        .next()
        .unwrap_or("")
        .replace('\n', " ");
    let mut tags = vec![
        "security".to_string(),
        "dependency".to_string(),
        "rustsec".to_string(),
        kind.to_string(),
    ];
    tags.extend(advisory.categories.iter().map(|c| c.to_string()));
    tags.dedup();
    let mut properties = BTreeMap::new();
    properties.insert(
        "package".to_string(),
        serde_json::json!(advisory.package.as_str()),
    );
    properties.insert(
        "aliases".to_string(),
        serde_json::json!(advisory
            .aliases
            .iter()
            .map(|a| a.to_string())
            .collect::<Vec<_>>()),
    );
    if let Some(cvss) = &advisory.cvss {
        properties.insert(
            "cvss-vector".to_string(),
            serde_json::json!(cvss.to_string()),
        );
    }
    let (os, arch) = affected_platforms(full);
    if !os.is_empty() {
        properties.insert("affected-os".to_string(), serde_json::json!(os));
    }
    if !arch.is_empty() {
        properties.insert("affected-arch".to_string(), serde_json::json!(arch));
    }
    RuleInfo {
        id: id.clone(),
        name: id.clone(),
        short_description: format!("{}: {}", advisory.package.as_str(), advisory.title),
        full_description: if first_paragraph.is_empty() {
            advisory.title.clone()
        } else {
            first_paragraph
        },
        help_text: format!(
            "{}\n\n{}\n\nSee {url}",
            advisory.title,
            advisory.description.trim()
        ),
        help_markdown: format!(
            "# {}\n\n{}\n\n[{id}]({url})",
            advisory.title,
            advisory.description.trim()
        ),
        help_uri: Some(url),
        tags,
        precision: "very-high",
        score,
        severity,
        properties,
    }
}

/// (name, version) → the lines of its `[[package]]` entry (header to version line).
fn package_lines(text: &str) -> HashMap<(String, String), (u32, u32)> {
    let mut map = HashMap::new();
    let mut header = 0u32;
    let mut name: Option<String> = None;
    for (index, line) in text.lines().enumerate() {
        let number = index as u32 + 1;
        let line = line.trim();
        if line == "[[package]]" {
            header = number;
            name = None;
        } else if let Some(value) = line.strip_prefix("name = ") {
            name = Some(value.trim_matches('"').to_string());
        } else if let Some(value) = line.strip_prefix("version = ") {
            if let Some(name) = name.take() {
                map.entry((name, value.trim_matches('"').to_string()))
                    .or_insert((header.max(1), number));
            }
        }
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture_advisory(path: &str) -> Advisory {
        load_advisory(
            &Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/advisory-db/crates")
                .join(path),
        )
        .unwrap()
    }

    #[test]
    fn cvss_4_vectors_score() {
        let grades = crate::policy::Policy::default().advisories;
        let v4 = fixture_advisory("lz4_flex/RUSTSEC-2026-0041.md");
        let vector = v4.metadata.cvss.as_ref().unwrap().to_string();
        assert!(vector.starts_with("CVSS:4.0/"), "{vector}");
        assert!(v4.metadata.cvss.as_ref().unwrap().score() > 0.0);
        assert!(severity_of(&v4, &grades).is_some());
        let v3 = fixture_advisory("smallvec/RUSTSEC-2021-0003.md");
        assert_eq!(severity_of(&v3, &grades), Some(Severity::Critical));
        let none = fixture_advisory("h2/RUSTSEC-2024-0003.md");
        assert_eq!(severity_of(&none, &grades), None, "no CVSS: unknown");
        let unsound = fixture_advisory("atty/RUSTSEC-2021-0145.md");
        assert_eq!(severity_of(&unsound, &grades), Some(grades.unsound));
        assert_eq!(affected_platforms(&unsound).0, ["windows"]);
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

    /// The line scan is only a head start, but a wrong guess costs a second
    /// lookup: on every lock file in the repository it equals the parse.
    #[test]
    fn the_line_scan_guesses_what_the_parser_finds() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut checked = 0;
        for entry in ignore::WalkBuilder::new(root).hidden(false).build() {
            let path = entry.unwrap().into_path();
            if path.file_name() != Some("Cargo.lock".as_ref())
                || path.starts_with(root.join("target"))
            {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let Ok(lock) = parse_lockfile(&path, text.clone()) else {
                continue;
            };
            let parsed: BTreeSet<yanked::PackageKey> = lock
                .lockfile
                .packages
                .iter()
                .filter(|p| is_crates_io(p))
                .map(|p| (p.name.as_str().to_string(), p.version.to_string()))
                .collect();
            let guessed: BTreeSet<_> = registry_packages_by_lines(&text).into_iter().collect();
            assert_eq!(guessed, parsed, "{}", path.display());
            checked += 1;
        }
        assert!(checked >= 8, "lock files checked: {checked}");
    }

    #[test]
    fn package_lines_span_header_to_version() {
        let text = "version = 4\n\n[[package]]\nname = \"a\"\nversion = \"1.0.0\"\n\n[[package]]\nname = \"b\"\nversion = \"0.2.1\"\nsource = \"x\"\n";
        let lines = package_lines(text);
        assert_eq!(lines[&("a".to_string(), "1.0.0".to_string())], (3, 5));
        assert_eq!(lines[&("b".to_string(), "0.2.1".to_string())], (7, 9));
        assert_eq!(lines.len(), 2);
    }
}
