use super::*;
use crate::inventory::{DependencyKind, HashAlgorithm, Package};
use std::collections::BTreeSet;

fn fixture(dir: &str) -> (PathBuf, String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/npm/locks")
        .join(dir)
        .join("pnpm-lock.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    (path, text)
}

fn read_fixture(dir: &str) -> (Inventory, Vec<UncheckedRequirement>) {
    let (path, text) = fixture(dir);
    let (inventory, unchecked, manifests) = read(&path, &text).unwrap();
    assert!(manifests.is_empty(), "pnpm reads no manifest");
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

fn members(inventory: &Inventory) -> Vec<(String, Option<String>)> {
    inventory
        .workspace_members
        .iter()
        .map(|&i| {
            let p = &inventory.packages[i];
            let dir = match &p.source {
                PackageSource::Path { relative } => relative.clone(),
                _ => None,
            };
            (p.name.clone(), dir)
        })
        .collect()
}

/// (name, version, kind) of every registry package.
fn registry_packages(inventory: &Inventory) -> BTreeSet<(String, String, Option<DependencyKind>)> {
    inventory
        .packages
        .iter()
        .filter(|p| matches!(p.source, PackageSource::Registry { .. }))
        .map(|p| (p.name.clone(), p.version.clone(), p.kind))
        .collect()
}

#[test]
fn v9_workspace_members_kinds_aliases_and_peer_sets() {
    let (inventory, unchecked) = read_fixture("pnpm-v9-demo-monorepo");
    // 28 `packages:` entries and 3 importers.
    assert_eq!(inventory.packages.len(), 31);
    assert_eq!(
        members(&inventory),
        [
            ("@demo/lib".to_string(), Some("packages/lib".to_string())),
            ("pnpm-v9-demo-monorepo".to_string(), Some(".".to_string())),
            ("web".to_string(), Some("packages/web".to_string())),
        ]
    );
    use DependencyKind::*;
    assert_eq!(kind(&inventory, "typescript", "5.9.3"), Some(DevOnly));
    assert_eq!(kind(&inventory, "prettier", "3.10.1"), Some(DevOnly));
    assert_eq!(kind(&inventory, "is-number", "7.0.0"), Some(DevOnly));
    assert_eq!(kind(&inventory, "lodash", "4.18.1"), Some(Normal));
    assert_eq!(kind(&inventory, "react", "17.0.2"), Some(Normal));
    assert_eq!(kind(&inventory, "fsevents", "2.3.3"), Some(Normal));
    // The alias `string-width-cjs` is the real package, reached from the root.
    let string_width = inventory.find("string-width", Some("4.2.3")).unwrap();
    assert_eq!(inventory.packages[string_width].kind, Some(Normal));
    assert!(inventory.find("string-width-cjs", None).is_none());
    assert_eq!(inventory.shortest_path(string_width).len(), 2);
    // Locked with two sets of peers, one package; lines of its `packages:` entry.
    let sync = inventory
        .packages
        .iter()
        .filter(|p| p.name == "use-sync-external-store")
        .collect::<Vec<_>>();
    assert_eq!(sync.len(), 1);
    assert_eq!(
        sync[0].lines,
        Some(LockLines {
            start: 181,
            end: 184
        })
    );
    let sync = inventory.find("use-sync-external-store", None).unwrap();
    let react_targets: BTreeSet<&str> = inventory.depends_on[sync]
        .iter()
        .map(|e| {
            assert_eq!(e.kind, EdgeKind::Peer, "react is its peer");
            inventory.packages[e.to].version.as_str()
        })
        .collect();
    assert_eq!(react_targets, BTreeSet::from(["17.0.2", "18.3.1"]));
    let lodash = package(&inventory, "lodash", "4.18.1");
    assert_eq!(
        lodash.lines,
        Some(LockLines {
            start: 121,
            end: 122
        })
    );
    assert_eq!(lodash.hashes.len(), 1);
    assert_eq!(lodash.hashes[0].algorithm, HashAlgorithm::Sha512);
    assert!(lodash.hashes[0].hex.starts_with("74c22789c4cf544f"));
    assert_eq!(
        lodash.source,
        PackageSource::Registry {
            url: "https://registry.npmjs.org".into(),
            public: true
        }
    );
    // The `file:` directory: a local package, unchecked on its entry's line.
    let local = package(&inventory, "local-thing", "");
    assert_eq!(
        local.source,
        PackageSource::Path {
            relative: Some("vendor/local-thing".into())
        }
    );
    assert_eq!(unchecked.len(), 1, "{unchecked:?}");
    assert_eq!(unchecked[0].line, 118);
    assert_eq!(unchecked[0].reason, UncheckedReason::LocalPath);
    assert!(inventory.fallback_reason.is_none());
}

#[test]
fn v5_v6_and_v9_locks_of_one_workspace_say_the_same() {
    let (v9, _) = read_fixture("pnpm-v9-demo-monorepo");
    let (v6, unchecked6) = read_fixture("pnpm-v6-demo-monorepo");
    let (v5, unchecked5) = read_fixture("pnpm-v5-demo-monorepo");
    assert_eq!(registry_packages(&v9).len(), 27);
    assert_eq!(registry_packages(&v6), registry_packages(&v9));
    assert_eq!(registry_packages(&v5), registry_packages(&v9));
    for inventory in [&v5, &v6] {
        assert_eq!(inventory.packages.len(), 31);
        assert_eq!(members(inventory).len(), 3);
    }
    // Lines of the first of the peer-suffixed entries.
    assert_eq!(
        package(&v6, "use-sync-external-store", "1.2.0").lines,
        Some(LockLines {
            start: 236,
            end: 242
        })
    );
    assert_eq!(
        package(&v5, "use-sync-external-store", "1.2.0").lines,
        Some(LockLines {
            start: 219,
            end: 225
        })
    );
    // pnpm 7 recorded the local package's version, pnpm 8 does not.
    assert_eq!(
        package(&v5, "local-thing", "1.0.0").kind,
        Some(DependencyKind::Normal)
    );
    assert_eq!(unchecked5[0].line, 235);
    assert_eq!(unchecked6[0].line, 252);
    // The alias, `/string-width/4.2.3` and `/string-width@4.2.3`.
    for inventory in [&v5, &v6] {
        let root = inventory
            .workspace_members
            .iter()
            .copied()
            .find(|&m| inventory.packages[m].name.ends_with("demo-monorepo"))
            .unwrap();
        let names: Vec<&str> = inventory.depends_on[root]
            .iter()
            .map(|e| inventory.packages[e.to].name.as_str())
            .collect();
        assert!(names.contains(&"string-width"), "{names:?}");
    }
}

#[test]
fn dev_flags_are_authoritative_over_the_graph() {
    let text = "lockfileVersion: '6.0'

dependencies:
  a:
    specifier: ^1.0.0
    version: 1.0.0

packages:

  /a@1.0.0:
    resolution: {integrity: sha512-AAAA}
    dependencies:
      b: 2.0.0
    dev: false

  /b@2.0.0:
    resolution: {integrity: sha512-BBBB}
    dev: true

  /c@3.0.0:
    resolution: {integrity: sha512-CCCC}
";
    let (inventory, unchecked, _) = read(Path::new("pnpm-lock.yaml"), text).unwrap();
    assert!(unchecked.is_empty());
    use DependencyKind::*;
    assert_eq!(kind(&inventory, "a", "1.0.0"), Some(Normal));
    // The graph says shipped, the flag says dev-only: the flag wins.
    assert_eq!(kind(&inventory, "b", "2.0.0"), Some(DevOnly));
    // No flag, not reached: counted as shipped, never guessed dev.
    assert_eq!(kind(&inventory, "c", "3.0.0"), Some(Normal));
    assert_eq!(members(&inventory).len(), 1);
    assert_eq!(
        package(&inventory, "b", "2.0.0").lines,
        Some(LockLines { start: 16, end: 18 })
    );
}

#[test]
fn git_and_tarball_packages_are_unchecked_on_their_line() {
    let (v5, unchecked) = read_fixture("pnpm-v5-git-ssh-url-deps");
    assert_eq!(
        v5.packages.len(),
        13,
        "11 from the registry, the git one, the project"
    );
    let body_parser = package(&v5, "body-parser", "1.9.0");
    assert_eq!(
        body_parser.source,
        PackageSource::Git {
            url: "https://github.com/expressjs/body-parser".into(),
            reference: None,
            rev: "263f602e6ae34add6332c1eb4caa808893b0b711".into(),
        }
    );
    assert_eq!(body_parser.kind, Some(DependencyKind::Normal));
    assert_eq!(unchecked.len(), 1);
    assert_eq!(
        (unchecked[0].line, unchecked[0].reason),
        (72, UncheckedReason::Url)
    );
    let from_git = v5.find("body-parser", None).unwrap();
    assert_eq!(v5.depends_on[from_git].len(), 8);

    let (v9, unchecked) = read_fixture("pnpm-v9-git-ssh-url-deps");
    assert_eq!(v9.packages.len(), 13);
    assert!(matches!(
        &package(&v9, "body-parser", "1.9.0").source,
        PackageSource::Git { rev, .. } if rev == "263f602e6ae34add6332c1eb4caa808893b0b711"
    ));
    assert_eq!(
        (unchecked[0].line, unchecked[0].reason),
        (17, UncheckedReason::Url)
    );
    let mime = v9.find("mime-types", None).unwrap();
    assert_eq!(v9.shortest_path(mime).len(), 4);

    let (v6, unchecked) = read_fixture("pnpm-v6-external-tarball");
    assert!(matches!(
        &package(&v6, "body-parser", "1.9.0").source,
        PackageSource::Other { repr } if repr == "https://github.com/expressjs/body-parser/archive/1.9.0.tar.gz"
    ));
    assert_eq!(
        (unchecked[0].line, unchecked[0].reason),
        (75, UncheckedReason::Url)
    );
    assert_eq!(
        package(&v6, "qs", "2.2.4").kind,
        Some(DependencyKind::Normal)
    );
}

#[test]
fn links_outside_the_workspace_and_unreadable_entries() {
    let text = "lockfileVersion: '9.0'

importers:

  .:
    dependencies:
      shared:
        specifier: link:../shared
        version: link:../shared
      gone:
        specifier: ^1.0.0
        version: 1.0.0

packages:

  odd@1.0.0:
    engines: {node: '>=8'}

  bad@not-a-version:
    resolution: {integrity: sha512-AAAA}

snapshots:

  odd@1.0.0: {}
";
    let (inventory, unchecked, _) = read(Path::new("x/pnpm-lock.yaml"), text).unwrap();
    let shared = package(&inventory, "shared", "");
    assert_eq!(shared.source, PackageSource::Path { relative: None });
    let found: Vec<(u32, UncheckedReason)> = unchecked.iter().map(|u| (u.line, u.reason)).collect();
    assert_eq!(
        found,
        [
            (5, UncheckedReason::Unreadable),
            (5, UncheckedReason::LocalPath),
            (16, UncheckedReason::Unreadable),
            (19, UncheckedReason::InvalidVersion),
        ]
    );
}

#[test]
fn unknown_versions_and_malformed_yaml_are_errors_at_their_line() {
    let error = |text: &str| {
        read(Path::new("pnpm-lock.yaml"), text)
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        error("# a comment\nlockfileVersion: '7.0'\n"),
        "pnpm-lock.yaml:2: pnpm-lock.yaml lockfileVersion `7.0` is not one secgate reads (5.x, 6.x and 9.0: pnpm 5 to 10)"
    );
    assert_eq!(
        error("importers: {}\n"),
        "pnpm-lock.yaml:1: pnpm-lock.yaml has no lockfileVersion"
    );
    let malformed = error(
        "lockfileVersion: '9.0'\npackages:\n  a@1.0.0:\n    resolution: {integrity: x\n  b: [\n",
    );
    assert!(malformed.starts_with("pnpm-lock.yaml:5:"), "{malformed}");
    assert!(
        malformed.contains("not a valid pnpm-lock.yaml"),
        "{malformed}"
    );
    let shape = error("lockfileVersion: '9.0'\npackages:\n  - a\n");
    assert!(shape.starts_with("pnpm-lock.yaml:3:"), "{shape}");
}

#[test]
fn truncated_and_garbled_locks_never_panic() {
    for dir in [
        "pnpm-v5-demo-monorepo",
        "pnpm-v6-demo-monorepo",
        "pnpm-v9-demo-monorepo",
        "pnpm-v5-git-ssh-url-deps",
    ] {
        let (path, text) = fixture(dir);
        let mut cut = 0;
        while cut < text.len() {
            if text.is_char_boundary(cut) {
                let _ = read(&path, &text[..cut]);
                let swapped = text[..cut].replace(':', " ").replace("  ", " ");
                let _ = read(&path, &swapped);
            }
            cut += 97;
        }
    }
}

/// Parse time of a large lock named by SECGATE_LARGE_LOCK (a
/// pnpm-lock.yaml or yarn.lock): `cargo test --release --lib
/// large_lock_parse_time -- --ignored --nocapture`.
#[test]
#[ignore]
fn large_lock_parse_time() {
    let Ok(path) = std::env::var("SECGATE_LARGE_LOCK") else {
        return;
    };
    let path = PathBuf::from(path);
    let text = std::fs::read_to_string(&path).unwrap();
    let format = crate::inventory::npm::NpmLockFormat::of(&path).unwrap();
    let directory = crate::files::directory_of(&path).to_path_buf();
    let manifests = crate::inventory::npm::FileManifests::new(&directory, &directory);
    let mut best = std::time::Duration::MAX;
    let mut kinds = std::collections::BTreeMap::new();
    for _ in 0..5 {
        let started = std::time::Instant::now();
        let contents = crate::inventory::npm::parse(format, &path, &text, &manifests).unwrap();
        best = best.min(started.elapsed());
        kinds.clear();
        for package in &contents.inventory.packages {
            *kinds.entry(format!("{:?}", package.kind)).or_insert(0) += 1;
        }
    }
    println!(
        "{}: {} bytes, packages by kind {kinds:?}, best of 5: {best:?}",
        path.display(),
        text.len()
    );
}
