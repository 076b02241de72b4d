//! Where an npm package comes from, from what a lock writes for it: a
//! registry tarball URL, a git URL or shorthand, another URL, a local
//! path. Shared by the package-lock and bun readers.

use crate::inventory::lock::UncheckedReason;
use crate::inventory::PackageSource;
pub(in crate::inventory::npm) use crate::text::mask_url_credentials as mask_credentials;
use std::borrow::Cow;

/// The public registry, for packages whose lock entry names none.
pub(in crate::inventory::npm) const NPM_REGISTRY: &str = "https://registry.npmjs.org";

pub(in crate::inventory::npm) fn registry(url: &str) -> PackageSource {
    PackageSource::Registry {
        url: url.to_string(),
        // Every registry counts: a company mirror serves the same packages.
        public: true,
    }
}

/// A package source, with why it cannot be checked when it cannot.
pub(in crate::inventory::npm) struct Origin {
    pub source: PackageSource,
    pub unchecked: Option<UncheckedReason>,
    /// The version a registry tarball's file name gives.
    pub version: Option<String>,
}

impl Origin {
    pub fn registry(url: &str) -> Origin {
        Origin {
            source: registry(url),
            unchecked: None,
            version: None,
        }
    }

    fn unchecked(source: PackageSource, reason: UncheckedReason) -> Origin {
        Origin {
            source,
            unchecked: Some(reason),
            version: None,
        }
    }

    pub fn local(relative: &str) -> Origin {
        Origin::unchecked(
            PackageSource::Path {
                relative: Some(relative.to_string()),
            },
            UncheckedReason::LocalPath,
        )
    }
}

/// A resolution spec that is not a plain version: a git URL or
/// shorthand, a URL, a `file:` path.
pub(in crate::inventory::npm) fn is_git(spec: &str) -> bool {
    [
        "git+",
        "git://",
        "git@",
        "github:",
        "gitlab:",
        "bitbucket:",
        "gist:",
    ]
    .iter()
    .any(|prefix| spec.starts_with(prefix))
}

pub(in crate::inventory::npm) fn is_url(spec: &str) -> bool {
    spec.starts_with("https://") || spec.starts_with("http://")
}

/// The source of a package `name` (the real name, not an alias) at
/// `version` (empty when unknown) that a lock says was fetched from
/// `spec`: a URL, git spec or `file:` path.
pub(in crate::inventory::npm) fn of_spec(name: &str, version: &str, spec: &str) -> Origin {
    if is_git(spec) {
        return Origin::unchecked(git(spec), UncheckedReason::Url);
    }
    if let Some(path) = spec.strip_prefix("file:") {
        return Origin::local(path.trim_start_matches("./"));
    }
    if is_url(spec) {
        return match registry_tarball(name, spec) {
            Some((origin, tarball_version)) if version.is_empty() || version == tarball_version => {
                Origin {
                    version: Some(tarball_version),
                    ..Origin::registry(&origin)
                }
            }
            _ => Origin::unchecked(
                PackageSource::Other {
                    repr: mask_credentials(spec),
                },
                UncheckedReason::Url,
            ),
        };
    }
    Origin::unchecked(
        PackageSource::Other {
            repr: mask_credentials(spec),
        },
        UncheckedReason::Unreadable,
    )
}

/// The registry origin and the version of a tarball URL in a registry's
/// layout, `<origin>/…/<name>/-/<basename>-<version>.tgz`.
pub(in crate::inventory::npm) fn registry_tarball(
    name: &str,
    url: &str,
) -> Option<(String, String)> {
    let url = url.split(['#', '?']).next()?;
    let (scheme, rest) = url.split_once("://")?;
    let (authority, path) = rest.split_once('/')?;
    let host = authority.rsplit('@').next()?;
    if host.is_empty() {
        return None;
    }
    // Some registries write a scope's slash escaped (`@types%2fnode`).
    let path = if path.contains('%') {
        Cow::Owned(path.replace("%2f", "/").replace("%2F", "/"))
    } else {
        Cow::Borrowed(path)
    };
    let (before, file) = path.rsplit_once("/-/")?;
    let unscoped = name.rsplit('/').next()?;
    let in_directory = before
        .strip_suffix(name)
        .is_some_and(|parent| parent.is_empty() || parent.ends_with('/'));
    if !in_directory {
        return None;
    }
    let version = file
        .strip_prefix(unscoped)?
        .strip_prefix('-')?
        .strip_suffix(".tgz")?;
    if version.is_empty() || version.contains('/') {
        return None;
    }
    Some((format!("{scheme}://{host}"), version.to_string()))
}

/// The registry origin of a registry URL or tarball URL: scheme and
/// host, without credentials.
pub(in crate::inventory::npm) fn registry_origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit('@').next()?;
    (!host.is_empty()).then(|| format!("{scheme}://{host}"))
}

/// A git source from `git+ssh://…#rev`, `git://…`, `git@host:…` or a
/// hosted shorthand (`github:owner/repo#rev`); the URL without `git+`,
/// credentials masked, the fragment as the locked revision.
fn git(spec: &str) -> PackageSource {
    let (location, rev) = spec.split_once('#').unwrap_or((spec, ""));
    let hosted = [
        ("github:", "https://github.com/"),
        ("gitlab:", "https://gitlab.com/"),
        ("bitbucket:", "https://bitbucket.org/"),
        ("gist:", "https://gist.github.com/"),
    ];
    let url = hosted
        .iter()
        .find_map(|(prefix, base)| {
            let repo = location.strip_prefix(prefix)?;
            Some(format!("{base}{}.git", repo.trim_end_matches(".git")))
        })
        .unwrap_or_else(|| {
            location
                .strip_prefix("git+")
                .unwrap_or(location)
                .to_string()
        });
    let url = url.split('?').next().unwrap_or_default();
    PackageSource::Git {
        url: mask_credentials(url),
        reference: None,
        rev: rev.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_tarballs_of_any_registry_are_recognised() {
        let cases = [
            (
                "lodash",
                "https://registry.npmjs.org/lodash/-/lodash-4.17.21.tgz",
                Some(("https://registry.npmjs.org", "4.17.21")),
            ),
            (
                "@babel/core",
                "https://registry.npmjs.org/@babel/core/-/core-7.23.6.tgz",
                Some(("https://registry.npmjs.org", "7.23.6")),
            ),
            (
                "@types/node",
                "https://u:p@npm.corp.example:8443/api/npm/remote/@types%2fnode/-/node-20.1.0.tgz#abc",
                Some(("https://npm.corp.example:8443", "20.1.0")),
            ),
            ("left-pad", "https://example.com/left-pad.tgz", None),
            ("lodash", "https://registry.npmjs.org/other/-/other-1.0.0.tgz", None),
        ];
        for (name, url, expected) in cases {
            let expected = expected.map(|(o, v)| (o.to_string(), v.to_string()));
            assert_eq!(registry_tarball(name, url), expected, "{url}");
        }
    }

    #[test]
    fn git_specs_keep_their_revision_and_lose_their_credentials() {
        let source = |spec| of_spec("x", "1.0.0", spec).source;
        assert_eq!(
            source("git+ssh://git@github.com/owner/repo.git#0123abc"),
            PackageSource::Git {
                url: "ssh://git@github.com/owner/repo.git".to_string(),
                reference: None,
                rev: "0123abc".to_string()
            }
        );
        assert_eq!(
            source("github:owner/repo#0123abc"),
            PackageSource::Git {
                url: "https://github.com/owner/repo.git".to_string(),
                reference: None,
                rev: "0123abc".to_string()
            }
        );
        assert_eq!(
            // secgate:allow: a made-up credential for this test
            source("git+https://ci:s3cret@git.corp.example/team/repo.git#beef"),
            PackageSource::Git {
                url: "https://ci:***@git.corp.example/team/repo.git".to_string(),
                reference: None,
                rev: "beef".to_string()
            }
        );
        let tarball = of_spec(
            "x",
            "",
            "https://ghp_0123456789abcdef0123@example.com/x.tgz",
        );
        assert_eq!(
            tarball.source,
            PackageSource::Other {
                repr: "https://***@example.com/x.tgz".to_string()
            }
        );
        assert_eq!(tarball.unchecked, Some(UncheckedReason::Url));
        assert_eq!(
            of_spec("x", "", "file:./vendor/x.tgz").source,
            PackageSource::Path {
                relative: Some("vendor/x.tgz".to_string())
            }
        );
        assert_eq!(
            of_spec("x", "", "svn:whatever").unchecked,
            Some(UncheckedReason::Unreadable)
        );
    }
}
