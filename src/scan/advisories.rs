//! Dependency advisories: every `Cargo.lock` under the root, read into a
//! package inventory, matched against an advisory source (the RustSec
//! database) that reads only the advisories of the crates present.

use crate::advisory::rustsec::checkout::default_db_path;
use crate::advisory::rustsec::RustSecSource;
use crate::advisory::{AdvisorySource, SourceReport};
use crate::files::relative_path;
use crate::finding::{Finding, RuleInfo, Scanner};
use crate::inventory::cargo::{from_lock, is_crates_io, parse_lock, LockPackage};
use crate::inventory::{Ecosystem, Inventory};
use crate::scan::context::ScanContext;
use crate::scan::lockfiles::{self, LockSearch};
use crate::scan::output::ScanOutput;
use crate::scan::scope::{self, ScopeSettings};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

mod matching;
mod osv_locks;
mod yanked;

use matching::{check_inventory, describe_database};

pub fn scan(context: &ScanContext) -> ScanOutput {
    let mut output = ScanOutput::new(Scanner::Advisories);
    let mut found = match find_lockfiles(context) {
        Ok(found) => found,
        Err(error) => return ScanOutput::failed(Scanner::Advisories, error),
    };
    output.notes.extend(std::mem::take(&mut found.notes));
    output.excluded = std::mem::take(&mut found.excluded);
    output.unchecked = std::mem::take(&mut found.unchecked);
    if found.cargo_locks.is_empty() && found.osv_locks().all(|(_, locks)| locks.is_empty()) {
        output.notes.push(
            "no lock file found (Cargo.lock; requirements*.txt, poetry.lock, uv.lock, Pipfile.lock, pdm.lock; package-lock.json, yarn.lock, pnpm-lock.yaml, bun.lock): no dependencies checked"
                .to_string(),
        );
        return output;
    }
    let mut output = if found.cargo_locks.is_empty() {
        output
    } else {
        scan_cargo(context, &found.cargo_locks, output)
    };
    for (ecosystem, locks) in found.osv_locks() {
        if locks.is_empty() {
            continue;
        }
        let checked = osv_locks::check(context, ecosystem, locks);
        output.findings.extend(checked.findings);
        let mut rules: BTreeMap<String, RuleInfo> = std::mem::take(&mut output.rules)
            .into_iter()
            .map(|rule| (rule.id.clone(), rule))
            .collect();
        rules.extend(checked.rules);
        output.rules = rules.into_values().collect();
        output.unchecked.extend(checked.unchecked);
        output.unchecked.sort();
        output.notes.extend(checked.notes);
        output.warnings.extend(checked.warnings);
        output.databases.extend(checked.database);
        let errors: Vec<String> = output
            .error
            .take()
            .into_iter()
            .chain(checked.errors)
            .collect();
        if !errors.is_empty() {
            output.error = Some(errors.join("; "));
        }
    }
    output
}

/// The ecosystems the repository has lock files of that secgate checks:
/// which advisory archives a check needs (none when the search fails; the
/// check itself then says why).
pub fn ecosystems_present(context: &ScanContext) -> BTreeSet<Ecosystem> {
    let mut present = BTreeSet::new();
    if let Ok(found) = find_lockfiles(context) {
        if !found.cargo_locks.is_empty() {
            present.insert(Ecosystem::CratesIo);
        }
        for (ecosystem, locks) in found.osv_locks() {
            if !locks.is_empty() {
                present.insert(ecosystem);
            }
        }
    }
    present
}

/// The `Cargo.lock` files `lockfiles` against the RustSec database.
fn scan_cargo(context: &ScanContext, lockfiles: &[PathBuf], mut output: ScanOutput) -> ScanOutput {
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
    let source = match RustSecSource::open(&db_path, context.advisory_db.is_some()) {
        Ok(source) => Box::new(source),
        Err(error) => return fail(output, error),
    };
    // Lock files first: the crates they name decide which advisories to read.
    let mut texts = Vec::new();
    let mut lock_errors = Vec::new();
    for path in lockfiles {
        match crate::inventory::cargo::read_lock(path) {
            Ok(text) => texts.push((path.clone(), text)),
            // One broken lock file does not hide the others' findings.
            Err(error) => lock_errors.push(error.to_string()),
        }
    }
    // Parsed first (cargo's layout is read line by line, quickly): the
    // packages decide which versions to look up and which advisories to
    // read, beside the building of the inventories.
    let parsed: Vec<(&PathBuf, Result<Vec<LockPackage>, String>)> = texts
        .iter()
        .map(|(path, text)| (path, parse_lock(path, text).map_err(|e| e.to_string())))
        .collect();
    let wanted: BTreeSet<yanked::PackageKey> = parsed
        .iter()
        .filter_map(|(_, lock)| lock.as_ref().ok())
        .flatten()
        .filter(|p| p.source.as_deref().is_some_and(is_crates_io))
        .map(|p| (&*p.name, &*p.version))
        .collect();
    let mut index = yanked::YankedIndex::locate();
    let (read, loaded, yanked) = std::thread::scope(|scope| {
        let yanked = scope.spawn(|| index.yanked_among(&wanted));
        let loaded = scope.spawn(|| source.load(&names_of(&wanted)));
        let read: Vec<Result<Inventory, String>> = parsed
            .iter()
            .map(|(path, lock)| {
                let lock = lock.as_ref().map_err(Clone::clone)?;
                from_lock(path, lock, LOCK_ONLY).map_err(|e| e.to_string())
            })
            .collect();
        (read, loaded.join(), yanked.join())
    });
    let mut inventories = Vec::new();
    for result in read {
        match result {
            Ok(inventory) => inventories.push(inventory),
            Err(error) => lock_errors.push(error),
        }
    }
    let registry_packages: BTreeSet<yanked::PackageKey> = inventories
        .iter()
        .flat_map(|inventory| inventory.packages.iter())
        .filter(|p| p.source.is_public_registry())
        .map(|p| (p.name.as_str(), p.version.as_str()))
        .collect();
    let names = names_of(&registry_packages);
    let (loaded, yanked) = match (loaded, yanked) {
        (Ok(loaded), Ok(yanked)) if registry_packages == wanted => (loaded, Ok(yanked)),
        // A lock file whose packages did not make an inventory (or a
        // failed read): look up exactly what the inventories hold.
        _ => {
            index = yanked::YankedIndex::locate();
            let yanked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                index.yanked_among(&registry_packages)
            }));
            (source.load(&names), yanked)
        }
    };
    let advisories = match loaded {
        Ok(advisories) => advisories,
        Err(error) => return fail(output, error),
    };
    let Ok(yanked) = yanked else {
        return fail(output, "reading the index cache crashed".to_string());
    };
    let report: SourceReport = match source.finish() {
        Ok(report) => report,
        Err(error) => return fail(output, error),
    };
    output.warnings.extend(report.warnings);
    output.notes.push(describe_database(&report.database));
    output.databases.push(report.database);
    let mut rules = BTreeMap::new();
    let mut packages = 0;
    for inventory in &inventories {
        let lock = inventory
            .lock_file
            .clone()
            .unwrap_or_else(|| PathBuf::from(lockfiles::CARGO_LOCK));
        let checked = check_inventory(context, &advisories, &yanked, inventory, &|_| lock.clone());
        packages += inventory.packages.len();
        let mut findings = checked.findings;
        if !findings.is_empty() {
            let lock = inventory
                .lock_file
                .as_deref()
                .unwrap_or(Path::new("Cargo.lock"));
            let dir = crate::files::directory_of(lock);
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
        advisories.count(),
        names.len(),
        db_path.display()
    ));
    output.notes.push(index.note());
    output
}

/// The reason a lock file's own inventory gives for lacking kinds: the
/// scanner reads the lock file for matching, and asks the workspace's
/// inventory (`cargo metadata`) for kinds only when something matched.
const LOCK_ONLY: &str = "read from the lock file for matching";

/// Directories whose lock files are not the project's: build output and
/// vendored or installed third-party sources (the project's own lock pins them).
const NOT_THE_PROJECTS: [&str; 5] = ["target", "vendor", "node_modules", ".venv", "site-packages"];

/// The file listing settings of the lock-file search.
pub fn scope_settings(context: &ScanContext) -> ScopeSettings {
    ScopeSettings {
        exclude_key: "advisories.exclude",
        exclude: context.settings.advisories.exclude.clone(),
        skip_dirs: NOT_THE_PROJECTS.to_vec(),
        // Libraries list Cargo.lock in .gitignore; on disk outside git it is checked.
        gitignore_outside_git: false,
        own_outputs: Default::default(),
    }
}

/// `root` may be one lock file, or a directory: every `Cargo.lock` in
/// scope below it (see `scope`), and the dependency files of ecosystems
/// secgate does not check.
/// The lock-file search, done once per run however many ask (the OSV
/// refresh before the scan, then the scan).
fn find_lockfiles(context: &ScanContext) -> Result<LockSearch, String> {
    context
        .lock_search
        .get_or_init(|| search_lockfiles(context))
        .clone()
}

fn search_lockfiles(context: &ScanContext) -> Result<LockSearch, String> {
    let root = &context.root;
    if root.is_file() {
        let sorted = lockfiles::sort_out([root.to_string_lossy().as_ref()]);
        let only = vec![root.to_path_buf()];
        let (cargo_locks, python_locks, npm_locks) = if !sorted.python_locks.is_empty() {
            (Vec::new(), only, Vec::new())
        } else if !sorted.npm_locks.is_empty() {
            (Vec::new(), Vec::new(), only)
        } else {
            // Whatever its name: read as a Cargo.lock, which says what is wrong.
            (only, Vec::new(), Vec::new())
        };
        return Ok(LockSearch {
            cargo_locks,
            python_locks,
            npm_locks,
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
    let sorted = lockfiles::sort_out(relative.iter().map(String::as_str));
    let mut notes = Vec::new();
    if listing.source == scope::Source::IgnoredByGit {
        notes.extend(listing.notes().into_iter().take(1));
    }
    notes.extend(listing.excluded_note(settings.exclude_key));
    if !listing.skipped_dirs.is_empty() {
        notes.push(format!(
            "not searched for lock files (build output, third-party sources): {}",
            crate::text::abbreviate(&listing.skipped_dirs)
        ));
    }
    Ok(LockSearch {
        cargo_locks: sorted
            .cargo_locks
            .iter()
            .map(|path| root.join(path))
            .collect(),
        python_locks: sorted
            .python_locks
            .iter()
            .map(|path| root.join(path))
            .collect(),
        npm_locks: sorted
            .npm_locks
            .iter()
            .map(|path| root.join(path))
            .collect(),
        unchecked: sorted.unchecked,
        excluded: listing.excluded,
        notes,
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
        matching::mark_kind(finding, package);
    }
    None
}

fn names_of<'a>(packages: &BTreeSet<yanked::PackageKey<'a>>) -> BTreeSet<&'a str> {
    packages.iter().map(|(name, _)| *name).collect()
}

#[cfg(test)]
mod tests {
    use super::matching::{cvss_severity, via};
    use super::*;
    use crate::finding::Severity;

    const SOURCE: &str = "source = \"registry+https://github.com/rust-lang/crates.io-index\"";

    /// Each package's dependency path, as findings show it.
    fn paths(text: &str) -> BTreeMap<String, Vec<String>> {
        let inventory =
            crate::inventory::cargo::from_lock_text(Path::new("Cargo.lock"), text, LOCK_ONLY)
                .unwrap();
        let all: Vec<usize> = (0..inventory.packages.len()).collect();
        let found = inventory.shortest_paths(&all);
        inventory
            .packages
            .iter()
            .enumerate()
            .map(|(i, p)| (p.name.clone(), via(&inventory, found.get(&i), p)))
            .collect()
    }

    #[test]
    fn shortest_path_from_the_workspace_member() {
        let text = format!(
            "version = 3\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\"hyper\", \"tower\", \"h2\"]\n\n[[package]]\nname = \"h2\"\nversion = \"0.3.0\"\n{SOURCE}\n\n[[package]]\nname = \"hyper\"\nversion = \"0.14.1\"\n{SOURCE}\ndependencies = [\"h2\"]\n\n[[package]]\nname = \"tower\"\nversion = \"0.4.0\"\n{SOURCE}\ndependencies = [\"hyper\"]\n"
        );
        let paths = paths(&text);
        assert_eq!(paths["h2"], ["app", "h2 0.3.0"]);
        assert_eq!(paths["tower"], ["app", "tower 0.4.0"]);
        assert_eq!(paths["app"], ["app"]);
    }

    #[test]
    fn ties_break_by_name_and_orphans_stand_alone() {
        let text = format!(
            "version = 3\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\"zeta\", \"alpha\"]\n\n[[package]]\nname = \"alpha\"\nversion = \"1.0.0\"\n{SOURCE}\ndependencies = [\"leaf\"]\n\n[[package]]\nname = \"leaf\"\nversion = \"1.0.0\"\n{SOURCE}\n\n[[package]]\nname = \"orphan\"\nversion = \"2.0.0\"\n{SOURCE}\n\n[[package]]\nname = \"zeta\"\nversion = \"1.0.0\"\n{SOURCE}\ndependencies = [\"leaf\"]\n"
        );
        let paths = paths(&text);
        assert_eq!(paths["leaf"], ["app", "alpha 1.0.0", "leaf 1.0.0"]);
        assert_eq!(paths["orphan"], ["orphan 2.0.0"]);
    }

    #[test]
    fn vulnerabilities_are_graded_by_cvss_and_the_rest_left_to_the_gate() {
        let source = RustSecSource::open(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/advisory-db"),
            true,
        )
        .unwrap();
        let loaded = source
            .load(&["smallvec", "h2", "atty"].into_iter().collect())
            .unwrap();
        let by_id = |id: &str| {
            loaded
                .by_package
                .values()
                .flatten()
                .find(|a| a.id == id)
                .unwrap()
                .clone()
        };
        assert_eq!(
            cvss_severity(&by_id("RUSTSEC-2021-0003")),
            Some(Severity::Critical)
        );
        assert_eq!(
            cvss_severity(&by_id("RUSTSEC-2024-0003")),
            None,
            "no CVSS: unknown"
        );
        assert_eq!(
            cvss_severity(&by_id("RUSTSEC-2021-0145")),
            None,
            "unsound: graded by the gate"
        );
    }
}
