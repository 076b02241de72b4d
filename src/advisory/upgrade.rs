//! The smallest upgrade that fixes an advisory, from its patched ranges.

use ::rustsec::advisory::Versions;
use ::rustsec::semver::{Comparator, Op, Version, VersionReq};

/// The lowest version that satisfies a `patched` requirement and is not
/// below `current`, from the requirements alone (`>= 0.14.10` → 0.14.10,
/// `^0.3.24` → 0.3.24). `None`: no patched version at or above `current`.
pub fn smallest_upgrade(versions: &Versions, current: &Version) -> Option<Version> {
    versions
        .patched()
        .iter()
        .filter_map(lowest_match)
        .filter(|candidate| candidate >= current && !versions.is_vulnerable(candidate))
        .min()
}

/// The least version a requirement accepts, if one can be named.
fn lowest_match(req: &VersionReq) -> Option<Version> {
    let lowest = req
        .comparators
        .iter()
        .map(lower_bound)
        .max()
        .unwrap_or_else(|| Version::new(0, 0, 0));
    req.matches(&lowest).then_some(lowest)
}

fn lower_bound(comparator: &Comparator) -> Version {
    let (major, minor, patch) = (
        comparator.major,
        comparator.minor.unwrap_or(0),
        comparator.patch.unwrap_or(0),
    );
    match comparator.op {
        Op::Less | Op::LessEq => Version::new(0, 0, 0),
        Op::Greater => match (comparator.minor, comparator.patch) {
            // > 1.2.3-pre: 1.2.3 itself is greater.
            (Some(_), Some(_)) if !comparator.pre.is_empty() => Version::new(major, minor, patch),
            (Some(_), Some(_)) => Version::new(major, minor, patch + 1),
            (Some(_), None) => Version::new(major, minor + 1, 0),
            _ => Version::new(major + 1, 0, 0),
        },
        _ => {
            let mut version = Version::new(major, minor, patch);
            version.pre = comparator.pre.clone();
            version
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn versions(patched: &[&str]) -> Versions {
        let toml = format!(
            "patched = [{}]",
            patched
                .iter()
                .map(|p| format!("\"{p}\""))
                .collect::<Vec<_>>()
                .join(", ")
        );
        toml::from_str(&toml).unwrap()
    }

    fn fix(patched: &[&str], current: &str) -> Option<String> {
        smallest_upgrade(&versions(patched), &Version::parse(current).unwrap())
            .map(|v| v.to_string())
    }

    #[test]
    fn smallest_upgrade_from_requirements() {
        assert_eq!(fix(&[">= 0.14.10"], "0.14.1").as_deref(), Some("0.14.10"));
        assert_eq!(fix(&["^0.3.24"], "0.3.0").as_deref(), Some("0.3.24"));
        assert_eq!(
            fix(&["^0.2.9", ">= 0.3.24"], "0.3.0").as_deref(),
            Some("0.3.24"),
            "the 0.2 line is below the current version"
        );
        assert_eq!(
            fix(&["^0.2.9", ">= 0.3.24"], "0.2.1").as_deref(),
            Some("0.2.9")
        );
        assert_eq!(fix(&["> 1.2.3"], "1.0.0").as_deref(), Some("1.2.4"));
        assert_eq!(fix(&["~1.4.2"], "1.4.0").as_deref(), Some("1.4.2"));
        assert_eq!(
            fix(&[">= 1.0.0-rc.2"], "0.9.0").as_deref(),
            Some("1.0.0-rc.2")
        );
        assert_eq!(fix(&[], "1.0.0"), None);
        assert_eq!(fix(&["^0.2.9"], "0.3.0"), None, "no fix at or above");
    }
}
