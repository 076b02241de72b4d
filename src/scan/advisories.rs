//! Dependency advisories: every `Cargo.lock` under the root against the
//! RustSec advisory database.

use crate::config::{format_duration, StaleAction};
use crate::finding::{fingerprint, Finding, Location, RuleInfo, Scanner, Severity};
use crate::policy::AdvisorySettings;
use crate::scan::{relative_path, ScanContext, ScanOutput};
use rustsec::advisory::Informational;
use rustsec::database::Query;
use rustsec::{Collection, Database, Lockfile};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

pub fn scan(context: &ScanContext) -> ScanOutput {
    let mut output = ScanOutput::new(Scanner::Advisories);
    let lockfiles = match find_lockfiles(&context.root) {
        Ok(found) => found,
        Err(error) => return ScanOutput::failed(Scanner::Advisories, error),
    };
    if lockfiles.is_empty() {
        output
            .notes
            .push("no Cargo.lock found: no Rust dependencies to check".to_string());
        return output;
    }
    let db_path = match &context.advisory_db {
        Some(path) => path.clone(),
        None => match default_db_path() {
            Some(path) if path.is_dir() => path,
            _ => {
                return ScanOutput::failed(
                    Scanner::Advisories,
                    "no advisory database: pass --db DIR (a RustSec advisory-db checkout) or run `secgate db update`",
                )
            }
        },
    };
    let database = match open_database(&db_path) {
        Ok(db) => db,
        Err(error) => return ScanOutput::failed(Scanner::Advisories, error),
    };
    report_freshness(
        &mut output,
        &database,
        &db_path,
        &context.policy.advisories,
        context.advisory_db.is_some(),
    );
    let mut rules = BTreeMap::new();
    let mut packages = 0;
    for lockfile_path in &lockfiles {
        match check_lockfile(
            context,
            &database,
            &context.policy.advisories,
            lockfile_path,
        ) {
            Ok(checked) => {
                packages += checked.packages;
                output.findings.extend(checked.findings);
                rules.extend(checked.rules);
            }
            // One broken lock file does not hide the others' findings.
            Err(error) => {
                output.error = Some(match output.error.take() {
                    Some(previous) => format!("{previous}; {error}"),
                    None => error,
                })
            }
        }
    }
    output.rules = rules.into_values().collect();
    let unscored = output
        .findings
        .iter()
        .filter(|f| f.severity.is_none())
        .count();
    output.notes.push(format!(
        "{} lock file{}, {packages} packages, {} advisories in {}",
        lockfiles.len(),
        if lockfiles.len() == 1 { "" } else { "s" },
        database.iter().count(),
        db_path.display()
    ));
    if unscored > 0 {
        output.notes.push(format!(
            "{unscored} advisor{} carry no CVSS score and count at the policy's unknown-severity",
            if unscored == 1 {
                "y finding"
            } else {
                "y findings"
            }
        ));
    }
    output
}

/// Notes the database's size and age; a database older than `db.max-age`
/// is a warning, or an error where the policy says `stale = "fail"`.
fn report_freshness(
    output: &mut ScanOutput,
    database: &Database,
    db_path: &Path,
    settings: &AdvisorySettings,
    explicit_db: bool,
) {
    let fresh = crate::db::freshness(database, db_path, time::OffsetDateTime::now_utc());
    let newest = fresh.newest.as_deref().unwrap_or("unknown");
    let fetched = match (fresh.fetched_at, fresh.age) {
        (Some(_), Some(age)) => format!("fetched {} ago", format_duration(age)),
        _ => "no fetch record (age counted from the newest advisory)".to_string(),
    };
    output.notes.push(format!(
        "advisory database: {} advisories, newest {newest}, {fetched}",
        fresh.advisories
    ));
    let Some(age) = fresh.age else { return };
    if age <= settings.db_max_age {
        return;
    }
    let max_age = format_duration(settings.db_max_age);
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

fn open_database(path: &Path) -> Result<Database, String> {
    if !path.is_dir() {
        return Err(format!(
            "advisory database {}: not a directory",
            path.display()
        ));
    }
    // Held while loading, so an update cannot swap the directory mid-read.
    let _guard = crate::db::read_guard(path);
    let database =
        Database::open(path).map_err(|e| format!("advisory database {}: {e}", path.display()))?;
    if database.iter().next().is_none() {
        return Err(format!(
            "advisory database {}: holds no advisories (an empty database cannot vouch for anything)",
            path.display()
        ));
    }
    Ok(database)
}

/// `root` may be a directory (every `Cargo.lock` below it, honouring
/// `.gitignore`, skipping `target/` and vendored trees) or one lock file.
fn find_lockfiles(root: &Path) -> Result<Vec<PathBuf>, String> {
    if root.is_file() {
        return Ok(vec![root.to_path_buf()]);
    }
    let mut found = Vec::new();
    if let Some((path, why)) = crate::scan::walker_hazard(root) {
        return Err(format!("{}: {why}", path.display()));
    }
    // Set when a directory cannot be entered safely: a lock file below it
    // would go unchecked, so the scan fails rather than skip it.
    let hazard = std::sync::Arc::new(std::sync::Mutex::new(None));
    let seen_hazard = std::sync::Arc::clone(&hazard);
    let walker = ignore::WalkBuilder::new(root)
        .hidden(false)
        .filter_entry(move |entry| {
            let name = entry.file_name();
            if !entry.file_type().is_some_and(|t| t.is_dir()) {
                return true;
            }
            if name == ".git" || name == "target" || name == "vendor" || name == "node_modules" {
                return false;
            }
            match crate::scan::walker_hazard(entry.path()) {
                None => true,
                Some((path, why)) => {
                    let mut slot = seen_hazard.lock().unwrap_or_else(|p| p.into_inner());
                    slot.get_or_insert(format!("{}: {why}", path.display()));
                    false
                }
            }
        })
        .build();
    for entry in walker {
        let entry = entry.map_err(|e| e.to_string())?;
        if entry.file_name() == "Cargo.lock" {
            found.push(entry.into_path());
        }
    }
    if let Some(problem) = hazard.lock().unwrap_or_else(|p| p.into_inner()).take() {
        return Err(problem);
    }
    found.sort();
    Ok(found)
}

struct CheckedLockfile {
    packages: usize,
    findings: Vec<Finding>,
    rules: BTreeMap<String, RuleInfo>,
}

fn check_lockfile(
    context: &ScanContext,
    database: &Database,
    grades: &AdvisorySettings,
    path: &Path,
) -> Result<CheckedLockfile, String> {
    let text = crate::scan::graph::read_lock(path).map_err(|e| e.to_string())?;
    // Checks rustsec does not make (duplicates), with lines in the errors.
    crate::scan::graph::parse_lock(path, &text).map_err(|e| e.to_string())?;
    let lockfile: Lockfile = text
        .parse()
        .map_err(|e| format!("{}: not a valid Cargo.lock: {e}", path.display()))?;
    let lines = package_lines(&text);
    let relative = if context.root.is_file() {
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    } else {
        relative_path(&context.root, path)
    };
    // Every platform: which platforms ship is decided from metadata, not here.
    let query = Query::new().collection(Collection::Crates).withdrawn(false);
    let mut findings = Vec::new();
    let mut rules = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for vulnerability in database.query_vulnerabilities(&lockfile, &query) {
        let advisory = &vulnerability.advisory;
        let package = &vulnerability.package;
        let id = advisory.id.to_string();
        let version = package.version.to_string();
        let name = package.name.as_str().to_string();
        if !seen.insert((id.clone(), name.clone(), version.clone())) {
            continue;
        }
        let score = advisory.cvss.as_ref().map(|c| c.score());
        let severity = match &advisory.informational {
            Some(Informational::Unsound) => Some(grades.unsound),
            Some(Informational::Unmaintained) => Some(grades.unmaintained),
            Some(_) => Some(grades.notice),
            None => score.map(Severity::from_score),
        };
        let patched: Vec<String> = vulnerability
            .versions
            .patched()
            .iter()
            .map(|r| r.to_string())
            .collect();
        let aliases: Vec<String> = advisory.aliases.iter().map(|a| a.to_string()).collect();
        let kind = match &advisory.informational {
            None => "vulnerability".to_string(),
            Some(info) => info.as_str().to_string(),
        };
        let fix = if patched.is_empty() {
            "no patched version".to_string()
        } else {
            format!("patched: {}", patched.join(", "))
        };
        let location = lines
            .get(&(name.clone(), version.clone()))
            .map(|&(start, end)| Location {
                path: relative.clone(),
                start_line: start,
                start_column: 0,
                end_line: end,
                end_column: 0,
            })
            .unwrap_or_else(|| Location::line(relative.clone(), 1));
        let mut properties = BTreeMap::new();
        properties.insert("version".to_string(), serde_json::json!(version));
        properties.insert("kind".to_string(), serde_json::json!(kind));
        properties.insert("patched".to_string(), serde_json::json!(patched));
        if let Some(score) = score {
            properties.insert("cvss".to_string(), serde_json::json!(score));
        }
        findings.push(Finding {
            scanner: Scanner::Advisories,
            rule_id: id.clone(),
            severity,
            title: advisory.title.clone(),
            message: format!("{name} {version}: {} ({id}, {kind}; {fix})", advisory.title),
            location: Some(location),
            fingerprint: fingerprint(&[
                b"advisories",
                id.as_bytes(),
                relative.as_bytes(),
                name.as_bytes(),
                version.as_bytes(),
            ]),
            package: Some(name.clone()),
            aliases,
            suppression_hint: None,
            properties,
        });
        rules
            .entry(id.clone())
            .or_insert_with(|| rule_info(advisory, score, severity, &kind));
    }
    Ok(CheckedLockfile {
        packages: lockfile.packages.len(),
        findings,
        rules,
    })
}

fn rule_info(
    advisory: &rustsec::advisory::Metadata,
    score: Option<f64>,
    severity: Option<Severity>,
    kind: &str,
) -> RuleInfo {
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

    #[test]
    fn package_lines_span_header_to_version() {
        let text = "version = 4\n\n[[package]]\nname = \"a\"\nversion = \"1.0.0\"\n\n[[package]]\nname = \"b\"\nversion = \"0.2.1\"\nsource = \"x\"\n";
        let lines = package_lines(text);
        assert_eq!(lines[&("a".to_string(), "1.0.0".to_string())], (3, 5));
        assert_eq!(lines[&("b".to_string(), "0.2.1".to_string())], (7, 9));
        assert_eq!(lines.len(), 2);
    }
}
