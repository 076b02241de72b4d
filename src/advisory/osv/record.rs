//! An OSV record as JSON says it (OSV schema 1.x), the fields secgate reads;
//! unknown fields are ignored, as the schema asks of readers of a newer
//! minor version. Lists and objects may be absent or `null`.

use serde::{Deserialize, Deserializer};

#[derive(Clone, Debug, Deserialize)]
pub struct Record {
    pub id: String,
    #[serde(default)]
    pub modified: Option<String>,
    #[serde(default)]
    pub published: Option<String>,
    /// Set once the record is withdrawn: it no longer stands.
    #[serde(default)]
    pub withdrawn: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub summary: Option<String>,
    #[serde(default)]
    pub details: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub severity: Vec<Severity>,
    #[serde(default, deserialize_with = "nullable")]
    pub affected: Vec<Affected>,
    #[serde(default, deserialize_with = "nullable")]
    pub references: Vec<Reference>,
    #[serde(default)]
    pub database_specific: Option<DatabaseSpecific>,
}

/// `{"type": "CVSS_V3", "score": "CVSS:3.1/…"}`; other types (`Ubuntu`,
/// `CVSS_V2`) carry other kinds of score.
#[derive(Clone, Debug, Deserialize)]
pub struct Severity {
    #[serde(rename = "type")]
    pub kind: String,
    pub score: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Affected {
    /// Absent where only `GIT` ranges say what is affected (a C library
    /// with no package manager): such an entry is about no package.
    #[serde(default)]
    pub package: Option<Package>,
    /// The package's own severity, where packages differ (the top-level
    /// one is then absent).
    #[serde(default, deserialize_with = "nullable")]
    pub severity: Vec<Severity>,
    #[serde(default, deserialize_with = "nullable")]
    pub ranges: Vec<Range>,
    #[serde(default, deserialize_with = "nullable")]
    pub versions: Vec<String>,
    #[serde(default)]
    pub ecosystem_specific: Option<serde_json::Value>,
    #[serde(default)]
    pub database_specific: Option<serde_json::Value>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Package {
    /// `PyPI`, `npm`, `crates.io`; some carry a `:suffix` (`Debian:12`).
    pub ecosystem: String,
    pub name: String,
    #[serde(default)]
    pub purl: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Range {
    /// `ECOSYSTEM`, `SEMVER` or `GIT`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub repo: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub events: Vec<Event>,
}

/// One event: the schema allows one key per object.
#[derive(Clone, Debug, Deserialize)]
pub struct Event {
    #[serde(default)]
    pub introduced: Option<String>,
    #[serde(default)]
    pub fixed: Option<String>,
    #[serde(default)]
    pub last_affected: Option<String>,
    #[serde(default)]
    pub limit: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Reference {
    #[serde(rename = "type")]
    pub kind: String,
    pub url: String,
}

/// The top-level `database_specific`: only GitHub's `severity` grade
/// (`LOW`, `MODERATE`, `HIGH`, `CRITICAL`) is read; other databases put
/// other things there, so a non-string is no grade rather than an error.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct DatabaseSpecific {
    #[serde(default)]
    pub severity: Option<serde_json::Value>,
}

impl DatabaseSpecific {
    pub fn severity_label(&self) -> Option<&str> {
        self.severity
            .as_ref()
            .and_then(|s| s.as_str())
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }
}

/// A record's id, dates and packages, without the rest: what the index
/// needs from every record of an archive, parsed without allocating the
/// texts it skips.
#[derive(Debug, Deserialize)]
pub struct Outline {
    pub id: String,
    #[serde(default)]
    pub modified: Option<String>,
    #[serde(default)]
    pub withdrawn: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub affected: Vec<OutlineAffected>,
}

#[derive(Debug, Deserialize)]
pub struct OutlineAffected {
    #[serde(default)]
    pub package: Option<OutlinePackage>,
}

#[derive(Debug, Deserialize)]
pub struct OutlinePackage {
    pub ecosystem: String,
    pub name: String,
}

/// `null` read as the empty default: some exporters write `null` for an
/// empty list.
fn nullable<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nulls_and_unknown_fields_are_accepted() {
        let record: Record = serde_json::from_str(
            r#"{"id": "X-1", "aliases": null, "affected": [{"package": {"ecosystem": "PyPI",
                "name": "a"}, "ranges": null, "versions": null, "new_field": 1}],
                "database_specific": {"severity": 7, "cwe_ids": []}, "schema_version": "1.9.0"}"#,
        )
        .unwrap();
        assert!(record.aliases.is_empty());
        assert!(record.affected[0].ranges.is_empty());
        assert_eq!(record.database_specific.unwrap().severity_label(), None);
    }

    #[test]
    fn an_entry_may_lack_a_package() {
        let record: Record = serde_json::from_str(
            r#"{"id": "OSV-1", "affected": [{"ranges": [{"type": "GIT", "repo": "r", "events": []}]}]}"#,
        )
        .unwrap();
        assert!(record.affected[0].package.is_none());
        let outline: Outline =
            serde_json::from_str(r#"{"id": "OSV-1", "affected": [{}]}"#).unwrap();
        assert!(outline.affected[0].package.is_none());
    }

    #[test]
    fn an_id_and_package_names_are_required() {
        assert!(serde_json::from_str::<Record>(r#"{"affected": []}"#).is_err());
        assert!(serde_json::from_str::<Outline>(
            r#"{"id": "X", "affected": [{"package": {"ecosystem": "PyPI"}}]}"#
        )
        .is_err());
    }
}
