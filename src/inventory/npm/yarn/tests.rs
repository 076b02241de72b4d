use super::*;
use crate::inventory::lock::UncheckedReason;
use crate::inventory::npm::manifest::tests::MemoryManifests;
use crate::inventory::npm::manifest::{FileManifests, NoManifests};
use crate::inventory::{DependencyKind, HashAlgorithm, LockLines, Package};

fn fixture(dir: &str) -> (PathBuf, PathBuf, String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/npm/locks")
        .join(dir);
    let path = root.join("yarn.lock");
    let text = std::fs::read_to_string(&path).unwrap();
    (root, path, text)
}

/// The fixture read with the package.json files beside it.
fn with_manifests(dir: &str) -> (Inventory, Vec<UncheckedRequirement>, Vec<PathBuf>) {
    let (root, path, text) = fixture(dir);
    read(&path, &text, &FileManifests::new(&root, &root)).unwrap()
}

fn alone(dir: &str) -> (Inventory, Vec<UncheckedRequirement>) {
    let (_, path, text) = fixture(dir);
    let (inventory, unchecked, read_files) = read(&path, &text, &NoManifests).unwrap();
    assert!(read_files.is_empty());
    (inventory, unchecked)
}

fn package<'a>(inventory: &'a Inventory, name: &str, version: &str) -> &'a Package {
    let index = inventory
        .find(name, Some(version))
        .unwrap_or_else(|| panic!("{name} {version} not in the inventory"));
    &inventory.packages[index]
}

fn kind(inventory: &Inventory, name: &str, version: &str) -> Option<DependencyKind> {
    package(inventory, name, version).kind
}

fn member_names(inventory: &Inventory) -> Vec<(&str, &str)> {
    inventory
        .workspace_members
        .iter()
        .map(|&i| {
            let p = &inventory.packages[i];
            (p.name.as_str(), p.version.as_str())
        })
        .collect()
}

#[test]
fn classic_workspace_members_and_dev_dependencies_from_the_manifests() {
    let (inventory, unchecked, read_files) = with_manifests("yarn-demo-monorepo");
    // 26 entries, and the root and two members the lock leaves out.
    assert_eq!(inventory.packages.len(), 29);
    assert_eq!(
        member_names(&inventory),
        [
            ("@demo/lib", "0.1.0"),
            ("@demo/web", "0.1.0"),
            ("demo-monorepo", "1.0.0")
        ]
    );
    assert_eq!(read_files.len(), 3);
    assert!(read_files
        .iter()
        .any(|f| f.ends_with("packages/web/package.json")));
    use DependencyKind::*;
    assert_eq!(kind(&inventory, "typescript", "5.9.3"), Some(DevOnly));
    assert_eq!(kind(&inventory, "is-number", "7.0.0"), Some(DevOnly));
    assert_eq!(kind(&inventory, "prettier", "3.10.1"), Some(DevOnly));
    assert_eq!(kind(&inventory, "lodash", "4.18.1"), Some(Normal));
    assert_eq!(kind(&inventory, "react", "18.3.1"), Some(Normal));
    assert_eq!(kind(&inventory, "fsevents", "2.3.3"), Some(Normal));
    // Through lib, a sibling member named by version (`"@demo/lib": "0.1.0"`).
    let path_len = |name: &str| {
        inventory
            .shortest_path(inventory.find(name, None).unwrap())
            .len()
    };
    assert_eq!(
        path_len("hasown"),
        4,
        "web or root → lib → resolve → is-core-module → hasown"
    );
    // The alias is the real package.
    assert_eq!(kind(&inventory, "string-width", "4.2.3"), Some(Normal));
    assert!(inventory.find("string-width-cjs", None).is_none());
    let lodash = package(&inventory, "lodash", "4.18.1");
    assert_eq!(lodash.lines, Some(LockLines { start: 69, end: 72 }));
    assert_eq!(
        lodash.source,
        PackageSource::Registry {
            url: "https://registry.yarnpkg.com".into(),
            public: true
        }
    );
    assert_eq!(lodash.hashes.len(), 1);
    assert_eq!(lodash.hashes[0].algorithm, HashAlgorithm::Sha512);
    assert!(lodash.hashes[0].hex.starts_with("74c22789c4cf544f"));
    // `file:` (relative to the root in the key; the manifest says `../../`).
    let local = package(&inventory, "local-thing", "1.0.0");
    assert_eq!(
        local.source,
        PackageSource::Path {
            relative: Some("vendor/local-thing".into())
        }
    );
    assert_eq!(local.kind, Some(Normal));
    assert_eq!(unchecked.len(), 1);
    assert_eq!(
        (unchecked[0].line, unchecked[0].reason),
        (66, UncheckedReason::LocalPath)
    );
    assert!(inventory.fallback_reason.is_none());
}

#[test]
fn without_manifests_kinds_are_unknown_never_dev() {
    let (inventory, unchecked) = alone("yarn-demo-monorepo");
    assert_eq!(inventory.packages.len(), 26);
    assert!(inventory.workspace_members.is_empty());
    assert!(inventory.packages.iter().all(|p| p.kind.is_none()));
    assert!(inventory
        .fallback_reason
        .as_deref()
        .is_some_and(|reason| reason.contains("dependency kinds unknown")));
    assert_eq!(unchecked.len(), 1);
    // The graph is there all the same.
    let resolve = inventory.find("resolve", None).unwrap();
    assert_eq!(inventory.depends_on[resolve].len(), 4);

    let (berry, _) = alone("berry-demo-monorepo");
    assert_eq!(berry.workspace_members.len(), 3, "Berry lists its members");
    assert!(berry.packages.iter().all(|p| p.kind.is_none()));
    assert!(berry.fallback_reason.is_some());
}

#[test]
fn classic_git_and_tarball_urls_are_unchecked_on_their_line() {
    let (inventory, unchecked) = alone("yarn-git-ssh-url-deps");
    assert_eq!(inventory.packages.len(), 12);
    assert_eq!(
        package(&inventory, "body-parser", "1.9.0").source,
        PackageSource::Git {
            url: "ssh://git@github.com/expressjs/body-parser.git".into(),
            reference: Some("1.9.0".into()),
            rev: "263f602e6ae34add6332c1eb4caa808893b0b711".into(),
        }
    );
    assert_eq!(unchecked.len(), 1);
    assert_eq!(
        (unchecked[0].line, unchecked[0].reason),
        (5, UncheckedReason::Url)
    );
    // `bytes "1"` and `bytes "1.0.0"` are one entry, `bytes@1, bytes@1.0.0`.
    let bytes = inventory.find("bytes", None).unwrap();
    assert_eq!(
        inventory.packages[bytes].lines,
        Some(LockLines { start: 18, end: 21 })
    );
    let raw_body = inventory.find("raw-body", None).unwrap();
    assert!(inventory.depends_on[raw_body].iter().any(|e| e.to == bytes));
    let body_parser = inventory.find("body-parser", None).unwrap();
    assert_eq!(inventory.depends_on[body_parser].len(), 8);

    let (inventory, unchecked) = alone("yarn-external-tarball");
    assert!(matches!(
        &package(&inventory, "body-parser", "1.9.0").source,
        PackageSource::Other { repr } if repr == "https://github.com/expressjs/body-parser/archive/1.9.0.tar.gz"
    ));
    assert_eq!(
        (unchecked[0].line, unchecked[0].reason),
        (5, UncheckedReason::Url)
    );
    // No integrity: the resolved fragment is the tarball's SHA-1.
    let bytes = package(&inventory, "bytes", "1.0.0");
    assert_eq!(bytes.hashes.len(), 1);
    assert_eq!(bytes.hashes[0].algorithm, HashAlgorithm::Sha1);
    assert_eq!(
        bytes.hashes[0].hex,
        "3569ede8ba34315fab99c3e92cb04c7220de1fa8"
    );
    assert_eq!(
        package(&inventory, "depd", "1.0.1").source,
        PackageSource::Registry {
            url: "http://registry.npmjs.org".into(),
            public: true
        }
    );
}

#[test]
fn berry_workspaces_patches_links_and_dev_dependencies() {
    let (inventory, unchecked, read_files) = with_manifests("berry-demo-monorepo");
    // 55 entries: the builtin patches of resolve, typescript and fsevents are
    // the packages they patch.
    assert_eq!(inventory.packages.len(), 52);
    assert_eq!(read_files.len(), 3);
    assert_eq!(
        member_names(&inventory),
        [
            ("@demo/lib", "0.1.0"),
            ("@demo/web", "0.1.0"),
            ("demo-monorepo", "1.0.0")
        ]
    );
    use DependencyKind::*;
    assert_eq!(kind(&inventory, "typescript", "5.9.3"), Some(DevOnly));
    assert_eq!(kind(&inventory, "prettier", "3.10.1"), Some(DevOnly));
    assert_eq!(kind(&inventory, "is-number", "7.0.0"), Some(DevOnly));
    assert_eq!(kind(&inventory, "lodash", "4.18.1"), Some(Normal));
    assert_eq!(kind(&inventory, "react", "17.0.2"), Some(Normal));
    assert_eq!(kind(&inventory, "string-width", "4.2.3"), Some(Normal));
    // fsevents is optional (dependenciesMeta), its node-gyp goes with it.
    let fsevents = inventory.find("fsevents", None).unwrap();
    assert_eq!(inventory.packages[fsevents].kind, Some(Normal));
    let root = inventory.find("demo-monorepo", None).unwrap();
    assert!(inventory.depends_on[root]
        .iter()
        .any(|e| e.to == fsevents && e.kind == EdgeKind::Optional));
    assert_eq!(kind(&inventory, "node-gyp", "13.1.0"), Some(Normal));
    let resolve = package(&inventory, "resolve", "1.22.14");
    assert_eq!(
        resolve.lines,
        Some(LockLines {
            start: 363,
            end: 375
        })
    );
    assert!(
        resolve.hashes.is_empty(),
        "Berry's checksum is not a tarball digest"
    );
    assert_eq!(resolve.source, locked::npm_registry());
    let lodash = package(&inventory, "lodash", "4.18.1");
    assert_eq!(
        lodash.lines,
        Some(LockLines {
            start: 223,
            end: 228
        })
    );
    let found: Vec<(u32, UncheckedReason, &str)> = unchecked
        .iter()
        .map(|u| (u.line, u.reason, u.requirement.as_str()))
        .collect();
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!((found[0].0, found[0].1), (210, UncheckedReason::LocalPath));
    assert_eq!((found[1].0, found[1].1), (216, UncheckedReason::LocalPath));
    assert_eq!(
        package(&inventory, "local-thing", "1.0.0").source,
        PackageSource::Path {
            relative: Some("vendor/local-thing".into())
        }
    );
    assert_eq!(
        package(&inventory, "local-link", "0.0.0-use.local").source,
        PackageSource::Path {
            relative: Some("vendor/local-link".into())
        }
    );
    // The members reach each other through `workspace:*`.
    let web = inventory.find("@demo/web", None).unwrap();
    let lib = inventory.find("@demo/lib", None).unwrap();
    assert!(inventory.depends_on[web].iter().any(|e| e.to == lib));
}

#[test]
fn berry_resolutions_override_the_descriptor_a_member_names() {
    let mut manifests = MemoryManifests::default();
    manifests.0.insert(
        String::new(),
        r#"{"name": "workspace-test", "workspaces": ["workspace1"]}"#.into(),
    );
    manifests.0.insert(
        "workspace1".into(),
        r#"{"name": "workspace1", "devDependencies": {"lodash": "^4.17.21"}}"#.into(),
    );
    let (_, path, text) = fixture("berry-resolutions-in-workspace");
    let (inventory, unchecked, read_files) = read(&path, &text, &manifests).unwrap();
    assert!(unchecked.is_empty());
    assert_eq!(read_files.len(), 2);
    assert_eq!(inventory.packages.len(), 3);
    // No key lists `lodash@npm:^4.17.21`: the one lodash locked is it.
    let lodash = package(&inventory, "lodash", "4.17.20");
    assert_eq!(lodash.kind, Some(DependencyKind::DevOnly));
    assert_eq!(lodash.lines, Some(LockLines { start: 8, end: 13 }));
}

#[test]
fn classic_entries_that_cannot_be_read_are_unchecked_not_fatal() {
    let text = "# yarn lockfile v1\n\n\
                no-version@^1.0.0:\n  resolved \"https://registry.yarnpkg.com/no-version/-/no-version-1.0.0.tgz\"\n\n\
                odd@^2:\n  version \"2.x\"\n\n\
                ok@^3:\n  version \"3.0.0\"\n";
    let (inventory, unchecked, _) = read(Path::new("yarn.lock"), text, &NoManifests).unwrap();
    assert_eq!(inventory.packages.len(), 1);
    let found: Vec<(u32, UncheckedReason)> = unchecked.iter().map(|u| (u.line, u.reason)).collect();
    assert_eq!(
        found,
        [
            (3, UncheckedReason::Unreadable),
            (6, UncheckedReason::InvalidVersion)
        ]
    );
    assert_eq!(
        package(&inventory, "ok", "3.0.0").source,
        locked::npm_registry()
    );
}

#[test]
fn malformed_locks_are_errors_at_their_line() {
    let error = |text: &str| {
        read(Path::new("yarn.lock"), text, &NoManifests)
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        error("a@^1:\n  version \"1.0.0\"\n   dependencies:\n"),
        "yarn.lock:3: not a valid yarn.lock: unexpected indentation"
    );
    assert_eq!(
        error("a@^1:\n  version \"1.0.0\"\n\"b@^2:\n"),
        "yarn.lock:3: not a valid yarn.lock: expected `descriptor, …:`"
    );
    assert_eq!(
        error("  version \"1.0.0\"\n"),
        "yarn.lock:1: not a valid yarn.lock: an indented line outside an entry"
    );
    let yaml = error("__metadata:\n  version: 6\n\n\"a@npm:1\":\n  version: [1\n");
    assert!(yaml.starts_with("yarn.lock:5:"), "{yaml}");
    assert!(yaml.contains("not a valid yarn.lock"), "{yaml}");
    assert!(error("__metadata:\n  version: x\n")
        .starts_with("yarn.lock:1: yarn.lock __metadata version `x`"));
}

#[test]
fn a_broken_manifest_is_an_error_naming_it() {
    let mut manifests = MemoryManifests::default();
    manifests
        .0
        .insert(String::new(), "{\n  \"name\": \n".into());
    let (_, path, text) = fixture("yarn-git-ssh-url-deps");
    let error = read(&path, &text, &manifests).unwrap_err().to_string();
    assert!(error.starts_with("package.json:3:"), "{error}");
}

#[test]
fn truncated_and_garbled_locks_never_panic() {
    for dir in [
        "yarn-demo-monorepo",
        "yarn-git-ssh-url-deps",
        "berry-demo-monorepo",
    ] {
        let (root, path, text) = fixture(dir);
        let manifests = FileManifests::new(&root, &root);
        let mut cut = 0;
        while cut < text.len() {
            if text.is_char_boundary(cut) {
                let _ = read(&path, &text[..cut], &manifests);
                let garbled = text[..cut].replace('"', "").replace("  ", " ");
                let _ = read(&path, &garbled, &NoManifests);
            }
            cut += 89;
        }
    }
}
