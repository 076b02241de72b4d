//! `[[ignore]]` entries: a finding accepted with a reason, by rule id,
//! advisory alias or fingerprint, optionally limited to a path or package,
//! until an expiry date.

use crate::finding::Finding;
use globset::GlobMatcher;
use time::Date;

#[derive(Clone, Debug)]
pub struct Ignore {
    pub id: String,
    pub path: Option<(String, GlobMatcher)>,
    pub package: Option<String>,
    pub reason: String,
    pub expires: Option<Date>,
    /// Line of the entry in the policy file.
    pub line: usize,
}

impl Ignore {
    pub fn describe(&self, source: &str) -> String {
        format!("ignore `{}` ({source}:{})", self.id, self.line)
    }

    pub fn matches(&self, finding: &Finding) -> bool {
        let id_matches = finding.rule_id == self.id
            || finding.fingerprint == self.id
            || finding.aliases.iter().any(|alias| alias == &self.id);
        let path_matches = match (&self.path, &finding.location) {
            (None, _) => true,
            (Some((_, glob)), Some(location)) => glob.is_match(&location.path),
            (Some(_), None) => false,
        };
        let package_matches = match (&self.package, &finding.package) {
            (None, _) => true,
            (Some(wanted), Some(name)) => {
                let version = finding.properties.get("version").and_then(|v| v.as_str());
                wanted == name || version.is_some_and(|v| *wanted == format!("{name}@{v}"))
            }
            (Some(_), None) => false,
        };
        id_matches && path_matches && package_matches
    }
}
