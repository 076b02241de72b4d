//! pnpm's dependency paths, the keys of `packages:` and `snapshots:`, by
//! lockfile version:
//! - 5.x: `/name/1.0.0`, `/@scope/name/1.0.0`, peers after `_`
//!   (`/react-dom/18.0.0_react@18.0.0`);
//! - 6.x: `/name@1.0.0`, peers in parentheses (`/react-dom@18.0.0(react@18.0.0)`);
//! - 9.x: `name@1.0.0(react@18.0.0)`, no leading slash.
//!
//! Non-registry packages have other keys (`github.com/o/r/<sha>`,
//! `file:vendor/x`, `name@https://…`); their entries give `name` and
//! `version` themselves.

use crate::inventory::npm::yarn::locked::split_descriptor;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Era {
    V5,
    V6,
    V9,
}

impl Era {
    /// From `lockfileVersion` (`5.4`, `'6.0'`, `'9.0'`, `5.4-inlineSpecifiers`).
    pub(super) fn of(version: &str) -> Option<Era> {
        let major = version.trim().split(['.', '-']).next()?;
        match major {
            "5" => Some(Era::V5),
            "6" => Some(Era::V6),
            "9" => Some(Era::V9),
            _ => None,
        }
    }
}

/// A key without its peer suffix (`/a/1.0.0_b@1` → `/a/1.0.0`,
/// `a@1.0.0(b@1)` → `a@1.0.0`).
pub(super) fn without_peers(era: Era, key: &str) -> &str {
    let cut = match era {
        // `_` never occurs in a semver version; in a name it may, so only
        // after the last `/` of the path.
        Era::V5 => {
            let last_slash = key.rfind('/').map_or(0, |at| at + 1);
            key[last_slash..].find('_').map(|at| last_slash + at)
        }
        Era::V6 | Era::V9 => key.find('('),
    };
    cut.map_or(key, |at| &key[..at])
}

/// The name and version a registry key names; `None` for keys of another
/// shape (a git host path, `file:`).
pub(super) fn name_and_version(era: Era, key: &str) -> Option<(String, String)> {
    let key = without_peers(era, key);
    match era {
        Era::V5 => {
            let path = key.strip_prefix('/')?;
            let at = if path.starts_with('@') {
                let scope_end = path.find('/')?;
                scope_end + 1 + path[scope_end + 1..].find('/')?
            } else {
                path.find('/')?
            };
            let (name, version) = (&path[..at], &path[at + 1..]);
            (!name.is_empty() && !version.is_empty() && !version.contains('/'))
                .then(|| (name.to_string(), version.to_string()))
        }
        Era::V6 | Era::V9 => {
            let key = if era == Era::V6 {
                key.strip_prefix('/')?
            } else {
                key
            };
            let (name, version) = split_descriptor(key)?;
            (!name.is_empty() && !version.is_empty())
                .then(|| (name.to_string(), version.to_string()))
        }
    }
}

/// The keys a dependency `name: reference` may be listed under, most
/// likely first: the reference is a version (`1.0.0_peer@1`), an alias's
/// own key (`/real/1.0.0`, `real@1.0.0`) or a non-registry key.
pub(super) fn candidates(era: Era, name: &str, reference: &str) -> [String; 3] {
    match era {
        Era::V5 => [
            format!("/{name}/{reference}"),
            reference.to_string(),
            format!("/{reference}"),
        ],
        Era::V6 => [
            format!("/{name}@{reference}"),
            reference.to_string(),
            format!("/{reference}"),
        ],
        Era::V9 => [
            format!("{name}@{reference}"),
            reference.to_string(),
            String::new(),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_of_each_era() {
        assert_eq!(Era::of("5.4-inlineSpecifiers"), Some(Era::V5));
        assert_eq!(Era::of("6.1"), Some(Era::V6));
        assert_eq!(Era::of("9.0"), Some(Era::V9));
        assert_eq!(Era::of("7.0"), None);
        assert_eq!(Era::of("10.0"), None);
        let pair = |a: &str, b: &str| Some((a.to_string(), b.to_string()));
        assert_eq!(
            name_and_version(Era::V5, "/@babel/core/7.0.0_react@18.0.0"),
            pair("@babel/core", "7.0.0")
        );
        assert_eq!(
            name_and_version(Era::V5, "/string_decoder/1.1.1"),
            pair("string_decoder", "1.1.1")
        );
        assert_eq!(
            name_and_version(Era::V6, "/@types/react@18.0.0(react@18.0.0)"),
            pair("@types/react", "18.0.0")
        );
        assert_eq!(
            name_and_version(Era::V9, "use-sync-external-store@1.2.0(react@17.0.2)"),
            pair("use-sync-external-store", "1.2.0")
        );
        assert_eq!(
            name_and_version(
                Era::V5,
                "github.com/expressjs/body-parser/263f602e6ae34add6332c1eb4caa808893b0b711"
            ),
            None
        );
        assert_eq!(name_and_version(Era::V6, "file:vendor/local-thing"), None);
        assert_eq!(
            without_peers(Era::V5, "/a/1.0.0_b@2.0.0+c@3.0.0"),
            "/a/1.0.0"
        );
        assert_eq!(
            without_peers(Era::V9, "a@1.0.0(b@2.0.0)(c@3.0.0)"),
            "a@1.0.0"
        );
    }
}
