//! The lock files whose advisories come from OSV archives, one ecosystem
//! at a time: Python's (requirement files, `poetry.lock`, `uv.lock`,
//! `Pipfile.lock`, `pdm.lock`) against the PyPI archive, npm's
//! (`package-lock.json`, `yarn.lock`, `pnpm-lock.yaml`, `bun.lock`) against
//! the npm archive. Each lock is read into an inventory, the advisories of
//! the packages present are read through the archive's package index and
//! matched as Cargo locks are, each finding on the line that lists its
//! package. What a lock names that no advisory can be matched to (no exact
//! version, a URL, a local path) is reported as not checked, file by file.

use super::matching::{self, Checked};
use crate::advisory::osv::OsvSource;
use crate::advisory::{AdvisorySource, DatabaseInfo};
use crate::db::osv::{self as osv_cache, OsvCache};
use crate::finding::{Finding, RuleInfo};
use crate::inventory::lock::{LockContents, UncheckedRequirement};
use crate::inventory::{Ecosystem, PackageSource};
use crate::scan::context::ScanContext;
use crate::scan::lockfiles::{self, FileKind, UncheckedFile};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// What the check of one ecosystem's locks found.
#[derive(Default)]
pub struct OsvCheck {
    pub findings: Vec<Finding>,
    pub rules: BTreeMap<String, RuleInfo>,
    pub unchecked: Vec<UncheckedFile>,
    pub notes: Vec<String>,
    pub warnings: Vec<String>,
    pub database: Option<DatabaseInfo>,
    /// Locks that could not be read, or the advisories that could not be:
    /// the check cannot vouch for them.
    pub errors: Vec<String>,
}

/// How many unchecked requirements a file's entry names.
const UNCHECKED_NAMED: usize = 3;

/// The lock files of `ecosystem` (by name), as the summary says them.
fn lock_noun(ecosystem: Ecosystem) -> &'static str {
    match ecosystem {
        Ecosystem::PyPi => "Python lock file",
        Ecosystem::Npm => "npm lock file",
        Ecosystem::CratesIo => "Cargo.lock",
    }
}

/// Where `ecosystem`'s archive is: `--osv-db DIR` (OSV's layout), else the cache.
fn archive_path(context: &ScanContext, ecosystem: Ecosystem) -> Result<PathBuf, String> {
    let (archive, how) = match &context.osv_db {
        Some(dir) => (
            dir.join(ecosystem.as_str()).join(osv_cache::ARCHIVE_NAME),
            "--osv-db",
        ),
        None => (
            OsvCache::default_location()
                .map_err(|e| e.to_string())?
                .archive(ecosystem),
            "the cache",
        ),
    };
    if archive.is_file() {
        return Ok(archive);
    }
    Err(format!(
        "no {} advisories at {} ({how}): run `secgate db update`, or pass --osv-db DIR (OSV's <Ecosystem>/all.zip layout)",
        ecosystem.as_str(),
        archive.display()
    ))
}

/// Checks the locks `locks` of `ecosystem` (absolute paths, sorted).
pub fn check(context: &ScanContext, ecosystem: Ecosystem, locks: &[PathBuf]) -> OsvCheck {
    let mut result = OsvCheck::default();
    let mut read = Vec::new();
    for path in locks {
        match lockfiles::read_lock(ecosystem, path, &context.root) {
            Ok(lock) => read.push(lock),
            // One broken lock file does not hide the others' findings.
            Err(error) => result.errors.push(error.to_string()),
        }
    }
    for lock in &read {
        result
            .unchecked
            .extend(unchecked_files(context, ecosystem, lock));
    }
    // Every registry's packages: a private index or a company mirror
    // serves the same names, and a mirror is the norm.
    let names: BTreeSet<&str> = read
        .iter()
        .flat_map(|lock| &lock.inventory.packages)
        .filter(|package| matches!(package.source, PackageSource::Registry { .. }))
        .map(|package| package.name.as_str())
        .collect();
    if names.is_empty() {
        result.notes.push(format!(
            "{} {}{}, no {} registry packages pinned: no advisories to read",
            locks.len(),
            lock_noun(ecosystem),
            if locks.len() == 1 { "" } else { "s" },
            ecosystem.as_str()
        ));
        return result;
    }
    let archive = match archive_path(context, ecosystem) {
        Ok(archive) => archive,
        Err(error) => {
            result.errors.push(error);
            return result;
        }
    };
    // `--osv-db` may be read-only: the index lives in secgate's own cache.
    let index_dir = osv_cache::default_index_dir()
        .unwrap_or_else(|_| std::env::temp_dir().join("secgate-osv-index"));
    let source = match OsvSource::open(&archive, ecosystem, &index_dir) {
        Ok(source) => Box::new(source),
        Err(error) => {
            result.errors.push(error.to_string());
            return result;
        }
    };
    let loaded = match source.load(&names) {
        Ok(loaded) => loaded,
        Err(error) => {
            result.errors.push(error);
            return result;
        }
    };
    match source.finish() {
        Ok(report) => {
            result.warnings.extend(report.warnings);
            result.notes.push(format!(
                "{} {}",
                ecosystem.as_str(),
                matching::describe_database(&report.database)
            ));
            result.database = Some(report.database);
        }
        Err(error) => {
            result.errors.push(error);
            return result;
        }
    }
    let no_yanked = BTreeSet::new();
    let mut seen = BTreeSet::new();
    let mut packages = 0;
    for lock in &read {
        packages += lock.inventory.packages.len();
        let Checked { findings, rules } =
            matching::check_inventory(context, &loaded, &no_yanked, &lock.inventory, &|index| {
                lock.file_of(index).to_path_buf()
            });
        for mut finding in findings {
            // A requirement file included by another one is read twice.
            if !seen.insert(finding.fingerprint.clone()) {
                continue;
            }
            let package = finding
                .package
                .as_deref()
                .and_then(|name| lock.inventory.find(name, version_of(&finding)))
                .map(|index| &lock.inventory.packages[index]);
            if let Some(package) = package {
                matching::mark_kind(&mut finding, package);
            }
            result.findings.push(finding);
        }
        result.rules.extend(rules);
    }
    result.notes.push(format!(
        "{} {}{}, {packages} packages, {} advisories read for {} packages in {}",
        locks.len(),
        lock_noun(ecosystem),
        if locks.len() == 1 { "" } else { "s" },
        loaded.count(),
        names.len(),
        archive.display()
    ));
    result
}

fn version_of(finding: &Finding) -> Option<&str> {
    finding.properties.get("version").and_then(|v| v.as_str())
}

/// One entry per file that names requirements no advisory can be matched
/// to: how many, and the first few with their lines.
fn unchecked_files(
    context: &ScanContext,
    ecosystem: Ecosystem,
    lock: &LockContents,
) -> Vec<UncheckedFile> {
    let mut by_file: BTreeMap<&Path, Vec<&UncheckedRequirement>> = BTreeMap::new();
    for requirement in &lock.unchecked {
        by_file
            .entry(&requirement.file)
            .or_default()
            .push(requirement);
    }
    by_file
        .into_iter()
        .map(|(file, requirements)| {
            let named: Vec<String> = requirements
                .iter()
                .take(UNCHECKED_NAMED)
                .map(|r| {
                    format!(
                        "`{}` (line {}: {})",
                        r.requirement,
                        r.line,
                        r.reason.as_str()
                    )
                })
                .collect();
            let more = requirements.len().saturating_sub(UNCHECKED_NAMED);
            let (one, many) = match ecosystem {
                Ecosystem::PyPi => ("requirement", "requirements"),
                _ => ("dependency", "dependencies"),
            };
            let mut reason = format!(
                "{} {} not checked: {}",
                requirements.len(),
                if requirements.len() == 1 { one } else { many },
                named.join(", ")
            );
            if more > 0 {
                reason.push_str(&format!(" and {more} more"));
            }
            UncheckedFile {
                path: context.shown_path(file),
                ecosystem: ecosystem.as_str(),
                kind: FileKind::Lock,
                reason,
            }
        })
        .collect()
}
