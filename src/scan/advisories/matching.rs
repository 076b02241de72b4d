//! Matching one inventory against the advisories read for it, whatever
//! the ecosystem: which packages an advisory affects, the dependency path
//! to each, and the finding and rule that say so (severity from the CVSS
//! score, else the source's own label, else left to the gate).

use super::yanked;
use crate::advisory::rustsec::checkout::FetchAge;
use crate::advisory::{Advisory, AdvisoryKind, DatabaseInfo, Loaded};
use crate::duration::format_duration;
use crate::finding::{
    fingerprint, Finding, Location, RuleInfo, Scanner, Severity, DEPENDENCY_KIND,
};
use crate::inventory::{DependencyKind, Inventory, Package, PackageSource};
use crate::scan::context::ScanContext;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

pub struct Checked {
    pub findings: Vec<Finding>,
    pub rules: BTreeMap<String, RuleInfo>,
}

/// Matches the registry packages of one lock file's inventory. `listed_in`
/// names the file that lists a package (a requirement file's include),
/// when not the inventory's own lock file.
pub fn check_inventory(
    context: &ScanContext,
    advisories: &Loaded,
    yanked: &BTreeSet<yanked::PackageKey>,
    inventory: &Inventory,
    listed_in: &dyn Fn(usize) -> PathBuf,
) -> Checked {
    let shown = |path: &Path| context.shown_path(path);
    let locate = |package: &Package, relative: &str| match package.lines {
        Some(lines) => Location {
            path: relative.to_string(),
            start_line: lines.start,
            start_column: 0,
            end_line: lines.end,
            end_column: 0,
        },
        None => Location::line(relative.to_string(), 1),
    };
    // What matched, first: the dependency paths come from one search.
    let mut matched: Vec<(usize, Option<&Advisory>)> = Vec::new();
    for (index, package) in inventory.packages.iter().enumerate() {
        if !package.source.is_public_registry() {
            continue;
        }
        if yanked.contains(&(package.name.as_str(), package.version.as_str())) {
            matched.push((index, None));
        }
        let mut seen = BTreeSet::new();
        for advisory in advisories.affecting(&package.name, &package.version) {
            if seen.insert(advisory.id.as_str()) {
                matched.push((index, Some(advisory)));
            }
        }
    }
    let indexes: Vec<usize> = matched.iter().map(|(index, _)| *index).collect();
    let paths = inventory.shortest_paths(&indexes);
    let mut findings = Vec::new();
    let mut rules = BTreeMap::new();
    for (index, advisory) in matched {
        let package = &inventory.packages[index];
        let via = via(inventory, paths.get(&index), package);
        let relative = shown(&listed_in(index));
        match advisory {
            None => findings.push(yanked::finding(
                &package.name,
                &package.version,
                locate(package, &relative),
                &relative,
                &via,
            )),
            Some(advisory) => {
                findings.push(finding(
                    advisory,
                    package,
                    &via,
                    locate(package, &relative),
                    &relative,
                ));
                rules
                    .entry(advisory.id.clone())
                    .or_insert_with(|| rule_info(advisory));
            }
        }
    }
    Checked { findings, rules }
}

/// `["app", "hyper 0.14.1", "h2 0.3.0"]`: a member by name, the others by
/// name and version; a package no member reaches stands alone.
pub fn via(
    inventory: &Inventory,
    path: Option<&Vec<(String, String)>>,
    package: &Package,
) -> Vec<String> {
    let label = |name: &str, version: &str| {
        // Packages are sorted by name: bisected, not scanned, for every
        // step of every path.
        let first = inventory
            .packages
            .partition_point(|p| p.name.as_str() < name);
        let member = inventory.packages[first..]
            .iter()
            .take_while(|p| p.name == name)
            .any(|p| p.version == version && matches!(p.source, PackageSource::Path { .. }));
        if member {
            name.to_string()
        } else {
            format!("{name} {version}")
        }
    };
    match path {
        Some(path) => path.iter().map(|(n, v)| label(n, v)).collect(),
        None => vec![label(&package.name, &package.version)],
    }
}

/// One finding: `advisory` affects `package` (at `location` in the lock
/// file `relative`), reached through `via`.
pub fn finding(
    advisory: &Advisory,
    package: &Package,
    via: &[String],
    location: Location,
    relative: &str,
) -> Finding {
    let id = advisory.id.as_str();
    let name = package.name.as_str();
    let version = package.version.as_str();
    let kind = advisory.kind.as_str();
    let patched = advisory.versions.patched();
    let upgrade = advisory.versions.smallest_fix(version);
    let (os, arch) = (&advisory.affected_os, &advisory.affected_arch);

    let mut message = format!("{name}@{version}: {} ({id}", advisory.title);
    if !advisory.aliases.is_empty() {
        message.push_str(&format!(", {}", advisory.aliases.join(", ")));
    }
    message.push_str(&format!("; {kind})"));
    if via.len() > 1 {
        message.push_str(&format!("; via {}", via.join(" → ")));
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
        let platforms: Vec<&str> = os.iter().chain(arch).map(String::as_str).collect();
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
    properties.insert("smallest-fix".to_string(), serde_json::json!(upgrade));
    properties.insert("dependency-path".to_string(), serde_json::json!(via));
    if !os.is_empty() {
        properties.insert("affected-os".to_string(), serde_json::json!(os));
    }
    if !arch.is_empty() {
        properties.insert("affected-arch".to_string(), serde_json::json!(arch));
    }
    if let Some(cvss) = &advisory.cvss {
        properties.insert("cvss".to_string(), serde_json::json!(cvss.score));
    }
    Finding {
        scanner: Scanner::Advisories,
        tool: None,
        rule_id: id.to_string(),
        severity: cvss_severity(advisory),
        title: advisory.title.clone(),
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
        aliases: advisory.aliases.clone(),
        suppression_hint: None,
        properties,
    }
}

pub fn rule_info(advisory: &Advisory) -> RuleInfo {
    let id = advisory.id.as_str();
    let url = &advisory.url;
    let first_paragraph = advisory
        .description
        .split("\n\n")
        .next()
        .unwrap_or("")
        .replace('\n', " ");
    let mut tags = vec![
        "security".to_string(),
        "dependency".to_string(),
        advisory.source_tag.to_string(),
        advisory.kind.as_str().to_string(),
    ];
    tags.extend(advisory.categories.iter().cloned());
    tags.dedup();
    let mut properties = BTreeMap::new();
    properties.insert("package".to_string(), serde_json::json!(advisory.package));
    properties.insert("aliases".to_string(), serde_json::json!(advisory.aliases));
    if let Some(cvss) = &advisory.cvss {
        properties.insert("cvss-vector".to_string(), serde_json::json!(cvss.vector));
    }
    if !advisory.affected_os.is_empty() {
        properties.insert(
            "affected-os".to_string(),
            serde_json::json!(advisory.affected_os),
        );
    }
    if !advisory.affected_arch.is_empty() {
        properties.insert(
            "affected-arch".to_string(),
            serde_json::json!(advisory.affected_arch),
        );
    }
    RuleInfo {
        id: id.to_string(),
        name: id.to_string(),
        short_description: format!("{}: {}", advisory.package, advisory.title),
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
        help_uri: Some(url.clone()),
        tags,
        precision: "very-high",
        score: advisory.cvss.as_ref().map(|c| c.score),
        severity: cvss_severity(advisory),
        properties,
    }
}

/// A vulnerability's severity: from its CVSS (3.x or 4.0) score, else from
/// the source's own grade (GitHub's `LOW` … `CRITICAL`). None for an
/// unscored one, for informational kinds and for malware: the gate grades
/// those.
pub fn cvss_severity(advisory: &Advisory) -> Option<Severity> {
    match advisory.kind {
        AdvisoryKind::Vulnerability => match &advisory.cvss {
            Some(cvss) => Some(Severity::from_score(cvss.score)),
            None => advisory.severity_label.as_deref().and_then(graded_label),
        },
        AdvisoryKind::Informational(_) | AdvisoryKind::Malicious => None,
    }
}

/// GitHub's advisory grades (`MODERATE` is its medium).
fn graded_label(label: &str) -> Option<Severity> {
    match label.to_ascii_uppercase().as_str() {
        "CRITICAL" => Some(Severity::Critical),
        "HIGH" => Some(Severity::High),
        "MODERATE" | "MEDIUM" => Some(Severity::Medium),
        "LOW" => Some(Severity::Low),
        _ => None,
    }
}

/// The summary's note on the database checked against: its size, newest
/// advisory and age (whether it is too old is the gate's to say).
pub fn describe_database(database: &DatabaseInfo) -> String {
    let newest = database.newest_advisory.as_deref().unwrap_or("unknown");
    let fetched = match (&database.fetched_at, database.age) {
        (Some(_), Some(FetchAge::Ago(age))) => format!("fetched {} ago", format_duration(age)),
        (Some(fetched_at), _) => format!("fetched at {fetched_at}, in the future"),
        _ => "no fetch record (age counted from the newest advisory)".to_string(),
    };
    format!(
        "advisory database: {} advisories, newest {newest}, {fetched}",
        database.advisories
    )
}

/// Marks `finding` with how its package is reached (normal, build or
/// dev-only; platform-only), as its inventory says.
pub fn mark_kind(finding: &mut Finding, package: &Package) {
    let Some(kind) = package.kind.map(DependencyKind::as_str) else {
        return;
    };
    finding
        .properties
        .insert(DEPENDENCY_KIND.to_string(), serde_json::json!(kind));
    if kind == DependencyKind::DevOnly.as_str() {
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
