//! The `package.json` files a lock reader asks for (yarn's locks record no
//! dev dependencies): read from disk beside the lock, inside the scanned
//! directory, or from nowhere (fuzzing, a lock given alone); what they
//! declare; and the directories a root manifest's `workspaces` globs name.

use crate::error::ScanError;
use std::path::{Path, PathBuf};

/// Gives a reader the manifests it asks for, by directory relative to
/// the lock's own (`""` for the lock's directory, `packages/web`).
pub trait Manifests {
    /// The `package.json` in `relative_dir`, if there is one: its path and text.
    fn read(&self, relative_dir: &str) -> Result<Option<(PathBuf, String)>, ScanError>;

    /// The names of the directories in `relative_dir` (not symbolic links,
    /// not hidden, not `node_modules`), sorted; none where nothing is on disk.
    fn subdirectories(&self, _relative_dir: &str) -> Result<Vec<String>, ScanError> {
        Ok(Vec::new())
    }
}

/// Manifests on disk, beside the lock; never outside `root`.
pub struct FileManifests {
    lock_dir: PathBuf,
    root: PathBuf,
}

impl FileManifests {
    pub fn new(lock_dir: &Path, root: &Path) -> FileManifests {
        FileManifests {
            lock_dir: lock_dir.to_path_buf(),
            root: root.to_path_buf(),
        }
    }

    /// Whether `path` is inside the scanned root (a root that is a file,
    /// the lock given alone, allows its own directory).
    fn inside(&self, path: &Path) -> bool {
        match (path.canonicalize(), self.root.canonicalize()) {
            (Ok(path), Ok(root)) if root.is_file() => root
                .parent()
                .is_some_and(|directory| path.starts_with(directory)),
            (Ok(path), Ok(root)) => path.starts_with(&root),
            _ => false,
        }
    }
}

impl Manifests for FileManifests {
    fn read(&self, relative_dir: &str) -> Result<Option<(PathBuf, String)>, ScanError> {
        if climbs(relative_dir) {
            return Ok(None);
        }
        let path = self.lock_dir.join(relative_dir).join("package.json");
        if !path.is_file() || !self.inside(&path) {
            return Ok(None);
        }
        let text = crate::inventory::lock::read_text(&path)?;
        Ok(Some((path, text)))
    }

    fn subdirectories(&self, relative_dir: &str) -> Result<Vec<String>, ScanError> {
        if climbs(relative_dir) {
            return Ok(Vec::new());
        }
        let directory = self.lock_dir.join(relative_dir);
        if !self.inside(&directory) {
            return Ok(Vec::new());
        }
        let Ok(listing) = std::fs::read_dir(&directory) else {
            return Ok(Vec::new());
        };
        let mut names: Vec<String> = listing
            .flatten()
            // file_type does not follow links: a linked directory is skipped.
            .filter(|entry| entry.file_type().is_ok_and(|t| t.is_dir()))
            .filter_map(|entry| entry.file_name().to_str().map(str::to_string))
            .filter(|name| !name.starts_with('.') && name != "node_modules")
            .collect();
        names.sort();
        Ok(names)
    }
}

/// A relative directory that is absolute or names `..`: never read.
fn climbs(relative_dir: &str) -> bool {
    relative_dir.starts_with('/')
        || relative_dir.contains('\\')
        || relative_dir.contains(':')
        || relative_dir.split('/').any(|part| part == "..")
}

/// No manifests at all.
pub struct NoManifests;

impl Manifests for NoManifests {
    fn read(&self, _relative_dir: &str) -> Result<Option<(PathBuf, String)>, ScanError> {
        Ok(None)
    }
}

/// What a `package.json` declares that a lock reader needs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct PackageJson {
    pub name: Option<String>,
    pub version: Option<String>,
    /// (name, range), in the manifest's order.
    pub dependencies: Vec<(String, String)>,
    pub dev_dependencies: Vec<(String, String)>,
    pub optional_dependencies: Vec<(String, String)>,
    pub peer_dependencies: Vec<(String, String)>,
    /// The `workspaces` globs (an array, or yarn's `{packages: [...]}`).
    pub workspaces: Vec<String>,
}

impl PackageJson {
    /// Only a development dependency: listed in `devDependencies` and in
    /// none of the lists that ship.
    pub(super) fn is_dev_only(&self, name: &str) -> bool {
        let listed = |list: &[(String, String)]| list.iter().any(|(n, _)| n == name);
        listed(&self.dev_dependencies)
            && !listed(&self.dependencies)
            && !listed(&self.optional_dependencies)
            && !listed(&self.peer_dependencies)
    }
}

/// Parses a `package.json`; fields of an unexpected shape are ignored
/// (npm ignores them too), text that is not JSON is an error at its line.
pub(super) fn parse_package_json(path: &Path, text: &str) -> Result<PackageJson, ScanError> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|error| ScanError::BadInputAt {
            path: path.to_path_buf(),
            line: error.line(),
            column: Some(error.column()),
            message: format!(
                "not a valid package.json: {}",
                crate::text::one_line(&error.to_string())
            ),
        })?;
    let text_of = |key: &str| value.get(key)?.as_str().map(str::to_string);
    let pairs = |key: &str| -> Vec<(String, String)> {
        value
            .get(key)
            .and_then(serde_json::Value::as_object)
            .map(|map| {
                map.iter()
                    .filter_map(|(name, range)| Some((name.clone(), range.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default()
    };
    let globs = |list: Option<&serde_json::Value>| -> Vec<String> {
        list.and_then(serde_json::Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|item| item.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let workspaces = match value.get("workspaces") {
        Some(serde_json::Value::Object(map)) => globs(map.get("packages")),
        list => globs(list),
    };
    Ok(PackageJson {
        name: text_of("name"),
        version: text_of("version"),
        dependencies: pairs("dependencies"),
        dev_dependencies: pairs("devDependencies"),
        optional_dependencies: pairs("optionalDependencies"),
        peer_dependencies: pairs("peerDependencies"),
        workspaces,
    })
}

/// Most directories a workspace glob may name: a bound on `**` over a
/// large tree.
const MAX_WORKSPACE_DIRS: usize = 10_000;

/// How deep `**` descends.
const MAX_GLOB_DEPTH: usize = 8;

/// The directories (relative to the lock's, `/`-separated, sorted) the
/// `workspaces` globs name, as far as `manifests` can list them: `*` and
/// `?` within a segment, `**` for any depth (at most [`MAX_GLOB_DEPTH`]),
/// `!glob` to leave out. Globs that are absolute or name `..` are ignored;
/// whether a directory holds a `package.json` is the caller's to find out.
pub(super) fn workspace_dirs(
    manifests: &dyn Manifests,
    globs: &[String],
) -> Result<Vec<String>, ScanError> {
    let mut included: Vec<String> = Vec::new();
    let mut excluded: Vec<Vec<String>> = Vec::new();
    for glob in globs {
        let (negated, glob) = match glob.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, glob.as_str()),
        };
        let segments: Vec<String> = glob
            .trim_start_matches("./")
            .trim_end_matches('/')
            .split('/')
            .filter(|s| !s.is_empty() && *s != ".")
            .map(str::to_string)
            .collect();
        if segments.is_empty() || climbs(glob) {
            continue;
        }
        if negated {
            excluded.push(segments);
        } else {
            expand(manifests, "", &segments, &mut included)?;
        }
    }
    included.retain(|dir| {
        let parts: Vec<&str> = dir.split('/').collect();
        !excluded.iter().any(|glob| path_matches(glob, &parts))
    });
    included.sort();
    included.dedup();
    Ok(included)
}

/// Adds to `found` the directories below `base` that `segments` match.
fn expand(
    manifests: &dyn Manifests,
    base: &str,
    segments: &[String],
    found: &mut Vec<String>,
) -> Result<(), ScanError> {
    if found.len() >= MAX_WORKSPACE_DIRS {
        return Ok(());
    }
    let join = |name: &str| {
        if base.is_empty() {
            name.to_string()
        } else {
            format!("{base}/{name}")
        }
    };
    let Some((first, rest)) = segments.split_first() else {
        found.push(base.to_string());
        return Ok(());
    };
    if first == "**" {
        // Zero directories, then one more and `**` again.
        expand(manifests, base, rest, found)?;
        if base.split('/').count() >= MAX_GLOB_DEPTH {
            return Ok(());
        }
        for name in manifests.subdirectories(base)? {
            expand(manifests, &join(&name), segments, found)?;
        }
        return Ok(());
    }
    if !first.contains(['*', '?']) {
        return expand(manifests, &join(first), rest, found);
    }
    for name in manifests.subdirectories(base)? {
        if segment_matches(first.as_bytes(), name.as_bytes()) {
            expand(manifests, &join(&name), rest, found)?;
        }
    }
    Ok(())
}

/// Whether the directory `parts` match the glob `segments`.
fn path_matches(segments: &[String], parts: &[&str]) -> bool {
    match segments.split_first() {
        None => parts.is_empty(),
        Some((first, rest)) if first == "**" => {
            (0..=parts.len()).any(|skip| path_matches(rest, &parts[skip..]))
        }
        Some((first, rest)) => match parts.split_first() {
            Some((part, others)) => {
                segment_matches(first.as_bytes(), part.as_bytes()) && path_matches(rest, others)
            }
            None => false,
        },
    }
}

/// One path segment against a pattern of `*` (any run) and `?` (one byte).
fn segment_matches(pattern: &[u8], name: &[u8]) -> bool {
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, n));
                p += 1;
            }
            Some(&c) if c == b'?' || c == name[n] => {
                p += 1;
                n += 1;
            }
            _ => match star {
                Some((star_p, star_n)) => {
                    p = star_p + 1;
                    n = star_n + 1;
                    star = Some((star_p, star_n + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p.min(pattern.len())..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// Manifests held in memory, by directory.
    #[derive(Default)]
    pub(in crate::inventory::npm) struct MemoryManifests(pub BTreeMap<String, String>);

    impl Manifests for MemoryManifests {
        fn read(&self, relative_dir: &str) -> Result<Option<(PathBuf, String)>, ScanError> {
            Ok(self
                .0
                .get(relative_dir)
                .map(|text| (Path::new(relative_dir).join("package.json"), text.clone())))
        }

        fn subdirectories(&self, relative_dir: &str) -> Result<Vec<String>, ScanError> {
            let prefix = if relative_dir.is_empty() {
                String::new()
            } else {
                format!("{relative_dir}/")
            };
            let mut names: Vec<String> = self
                .0
                .keys()
                .filter_map(|dir| dir.strip_prefix(&prefix))
                .filter(|rest| !rest.is_empty())
                .filter_map(|rest| rest.split('/').next().map(str::to_string))
                .collect();
            names.sort();
            names.dedup();
            Ok(names)
        }
    }

    #[test]
    fn workspace_globs_expand_to_directories_and_never_climb() {
        let mut manifests = MemoryManifests::default();
        for dir in [
            "",
            "packages/web",
            "packages/lib",
            "packages/old-thing",
            "tools/deep/cli",
        ] {
            manifests.0.insert(dir.to_string(), "{}".to_string());
        }
        let globs: Vec<String> = [
            "packages/*",
            "!packages/old-*",
            "tools/**",
            "../outside/*",
            "/etc",
        ]
        .iter()
        .map(|g| g.to_string())
        .collect();
        let dirs = workspace_dirs(&manifests, &globs).unwrap();
        assert_eq!(
            dirs,
            [
                "packages/lib",
                "packages/web",
                "tools",
                "tools/deep",
                "tools/deep/cli"
            ]
        );
        assert!(segment_matches(b"plugin-*", b"plugin-a"));
        assert!(!segment_matches(b"plugin-?", b"plugin-ab"));
        assert!(segment_matches(b"*a*b", b"xxaxxb"));
    }

    #[test]
    fn package_json_fields_and_errors_at_their_line() {
        let text = r#"{
  "name": "app",
  "workspaces": {"packages": ["packages/*"]},
  "dependencies": {"react": "^18.0.0", "odd": 3},
  "devDependencies": {"react": "^18.0.0", "jest": "^29"}
}"#;
        let manifest = parse_package_json(Path::new("package.json"), text).unwrap();
        assert_eq!(manifest.name.as_deref(), Some("app"));
        assert_eq!(manifest.workspaces, ["packages/*"]);
        assert_eq!(
            manifest.dependencies.len(),
            1,
            "a range that is not text is ignored"
        );
        assert!(manifest.is_dev_only("jest"));
        assert!(!manifest.is_dev_only("react"));
        let error = parse_package_json(Path::new("package.json"), "{\n  \"name\": ,\n}")
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("package.json:2:"), "{error}");
    }

    #[test]
    fn files_outside_the_root_are_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("project");
        std::fs::create_dir_all(root.join("packages/a")).unwrap();
        std::fs::write(dir.path().join("package.json"), "{}").unwrap();
        std::fs::write(root.join("packages/a/package.json"), "{}").unwrap();
        let manifests = FileManifests::new(&root, &root);
        assert!(manifests.read("..").unwrap().is_none());
        assert!(manifests.read("packages/a").unwrap().is_some());
        assert_eq!(manifests.subdirectories("packages").unwrap(), ["a"]);
        assert!(manifests.subdirectories("..").unwrap().is_empty());
    }
}
