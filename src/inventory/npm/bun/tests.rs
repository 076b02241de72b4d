use super::*;
use crate::inventory::{DependencyKind, HashAlgorithm, Package};
use std::collections::BTreeSet;

fn read_fixture(relative: &str) -> (Inventory, Vec<UncheckedRequirement>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/npm/locks")
        .join(relative);
    let text = std::fs::read_to_string(&path).unwrap();
    let (inventory, unchecked, manifests) = read(&path, &text).unwrap();
    assert!(manifests.is_empty());
    (inventory, unchecked)
}

fn package<'a>(inventory: &'a Inventory, name: &str, version: &str) -> &'a Package {
    let found = inventory.find(name, Some(version));
    &inventory.packages[found.unwrap_or_else(|| panic!("{name} {version} not found"))]
}

fn has_edge(inventory: &Inventory, from: &Package, kind: EdgeKind, to: &Package) -> bool {
    let index = |p: &Package| inventory.packages.iter().position(|q| q == p).unwrap();
    inventory.depends_on[index(from)]
        .iter()
        .any(|edge| edge.to == index(to) && edge.kind == kind)
}

fn lines(start: u32, end: u32) -> Option<LockLines> {
    Some(LockLines { start, end })
}

#[test]
fn real_monorepo_lock_with_nested_copies() {
    let (inventory, unchecked) = read_fixture("bun-monorepo-analysis/bun.lock");
    assert!(unchecked.is_empty());
    // 96 installed packages and 5 members.
    assert_eq!(inventory.packages.len(), 101);
    let members: Vec<&str> = inventory
        .workspace_members
        .iter()
        .map(|&m| inventory.packages[m].name.as_str())
        .collect();
    assert_eq!(
        members,
        [
            "@monorepo/app-a",
            "@monorepo/app-b",
            "@monorepo/legacy",
            "@monorepo/shared",
            "monorepo-root"
        ]
    );
    assert_eq!(inventory.root, inventory.find("monorepo-root", None));
    let legacy = package(&inventory, "@monorepo/legacy", "1.0.0");
    assert_eq!(legacy.lines, lines(39, 47));
    assert_eq!(
        legacy.source,
        PackageSource::Path {
            relative: Some("packages/legacy".to_string())
        }
    );
    let lodash = package(&inventory, "lodash", "4.17.21");
    assert_eq!(lodash.lines, lines(167, 167));
    assert_eq!(lodash.source, origin::registry(NPM_REGISTRY));
    assert_eq!(lodash.hashes[0].algorithm, HashAlgorithm::Sha512);
    assert_eq!(lodash.hashes[0].hex.len(), 128);
    // Nested copies resolve under their parent's key first.
    let react_17 = package(&inventory, "react", "17.0.2");
    let react_dom_17 = package(&inventory, "react-dom", "17.0.2");
    let scheduler_20 = package(&inventory, "scheduler", "0.20.2");
    assert_eq!(scheduler_20.lines, lines(259, 259));
    assert!(has_edge(&inventory, legacy, EdgeKind::Normal, react_17));
    assert!(has_edge(
        &inventory,
        react_dom_17,
        EdgeKind::Normal,
        scheduler_20
    ));
    assert!(has_edge(&inventory, react_dom_17, EdgeKind::Peer, react_17));
    let react_dom_18 = package(&inventory, "react-dom", "18.2.0");
    assert!(has_edge(
        &inventory,
        react_dom_18,
        EdgeKind::Peer,
        package(&inventory, "react", "18.2.0")
    ));
    assert!(has_edge(
        &inventory,
        package(&inventory, "send", "0.18.0"),
        EdgeKind::Normal,
        package(&inventory, "ms", "2.1.3")
    ));
    assert!(has_edge(
        &inventory,
        package(&inventory, "debug", "2.6.9"),
        EdgeKind::Normal,
        package(&inventory, "ms", "2.0.0")
    ));
    let app_b = package(&inventory, "@monorepo/app-b", "1.0.0");
    assert!(has_edge(
        &inventory,
        app_b,
        EdgeKind::Normal,
        package(&inventory, "lodash", "4.17.20")
    ));
    assert!(has_edge(
        &inventory,
        app_b,
        EdgeKind::Normal,
        package(&inventory, "@monorepo/shared", "1.0.0")
    ));
    // No dev flags in the lock: kinds come from the members' devDependencies.
    let kind = |name: &str, version: &str| package(&inventory, name, version).kind;
    assert_eq!(kind("prettier", "3.1.1"), Some(DependencyKind::DevOnly));
    assert_eq!(
        kind("@types/react", "18.2.45"),
        Some(DependencyKind::DevOnly)
    );
    assert_eq!(kind("csstype", "3.1.3"), Some(DependencyKind::DevOnly));
    assert_eq!(kind("express", "4.18.2"), Some(DependencyKind::Normal));
    assert_eq!(kind("scheduler", "0.20.2"), Some(DependencyKind::Normal));
    assert!(inventory.packages.iter().all(|p| p.kind.is_some()));
}

#[test]
fn generated_lock_with_aliases_local_git_and_tarball_dependencies() {
    let (inventory, unchecked) = read_fixture("bun-edge/bun.lock");
    // 21 installed (ms 2.0.0 twice, once) and 3 members.
    assert_eq!(inventory.packages.len(), 24);
    assert!(inventory.find("lodash-old", None).is_none());
    assert_eq!(package(&inventory, "lodash", "4.17.4").lines, lines(70, 70));
    assert_eq!(package(&inventory, "ms", "2.0.0").lines, lines(88, 88));
    let web = package(&inventory, "web", "0.3.0");
    assert!(web.is_member);
    assert_eq!(web.lines, lines(31, 41));
    assert!(has_edge(
        &inventory,
        web,
        EdgeKind::Normal,
        package(&inventory, "ms", "2.0.0")
    ));
    assert!(has_edge(
        &inventory,
        web,
        EdgeKind::Dev,
        package(&inventory, "is-number", "7.0.0")
    ));
    assert_eq!(
        package(&inventory, "left-pad", "1.3.0").source,
        origin::registry(NPM_REGISTRY)
    );
    let gitdep = package(&inventory, "gitdep", "");
    assert_eq!(
        gitdep.source,
        PackageSource::Git {
            url: "file:///tmp/gen/gitdep".to_string(),
            reference: None,
            rev: "f2811682b9c304d0a79d910db3d312691c2cfb5f".to_string()
        }
    );
    assert!(gitdep.hashes.is_empty());
    assert!(has_edge(
        &inventory,
        gitdep,
        EdgeKind::Normal,
        package(&inventory, "escape-html", "1.0.3")
    ));
    assert_eq!(
        package(&inventory, "packed", "").source,
        PackageSource::Path {
            relative: Some("vendor/packed-1.0.0.tgz".to_string())
        }
    );
    let kind = |name: &str, version: &str| package(&inventory, name, version).kind;
    assert_eq!(kind("chalk", "4.1.2"), Some(DependencyKind::DevOnly));
    assert_eq!(kind("is-number", "7.0.0"), Some(DependencyKind::DevOnly));
    assert_eq!(
        kind("supports-color", "7.2.0"),
        Some(DependencyKind::Normal)
    );
    assert_eq!(kind("react", "18.3.1"), Some(DependencyKind::Normal));
    let listed: Vec<(u32, &str, UncheckedReason)> = unchecked
        .iter()
        .map(|u| (u.line, u.requirement.as_str(), u.reason))
        .collect();
    assert_eq!(
        listed,
        [
            (
                58,
                "gitdep@git+file:///tmp/gen/gitdep#f2811682b9c304d0a79d910db3d312691c2cfb5f",
                UncheckedReason::Url
            ),
            (
                68,
                "local-lib@file:vendor/local-lib",
                UncheckedReason::LocalPath
            ),
            (
                76,
                "packed@vendor/packed-1.0.0.tgz",
                UncheckedReason::LocalPath
            ),
        ]
    );
}

#[test]
fn bun_and_npm_locks_of_one_project_agree_on_registry_packages_and_kinds() {
    let (bun, _) = read_fixture("bun-edge/bun.lock");
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/npm/locks/package-lock-v3-edge/package-lock.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let (npm, _, _) = super::super::package_lock::read(&path, &text).unwrap();
    let registry = |inventory: &Inventory| -> BTreeSet<(String, String, Option<DependencyKind>)> {
        inventory
            .packages
            .iter()
            .filter(|p| p.source.is_public_registry())
            .map(|p| (p.name.clone(), p.version.clone(), p.kind))
            .collect()
    };
    assert_eq!(registry(&bun).len(), 18);
    assert_eq!(registry(&bun), registry(&npm));
}

#[test]
fn trailing_commas_and_comments_keep_their_lines() {
    let text = "{\n  // written by hand\n  \"lockfileVersion\": 1,\n  \"workspaces\": {\"\": {\"name\": \"app\", \"dependencies\": {\"a\": \"1\",},},},\n  /* a\n  block */ \"packages\": {\n    \"a\": [\"a@1.0.0\", \"https://npm.corp.example/\", {}, \"sha1-jGStX9MNqxyXbiNE/+f3kqam30I=\",],\n    \"b\": [\"b@1.0.0\", \"\", { \"dependencies\": { \"c\": \"*\", }, },],\n  },\n}\n";
    assert_eq!(as_json(text).len(), text.len());
    let (inventory, unchecked, _) = read(Path::new("bun.lock"), text).unwrap();
    assert!(unchecked.is_empty());
    let a = package(&inventory, "a", "1.0.0");
    assert_eq!(a.lines, lines(7, 7));
    assert_eq!(a.source, origin::registry("https://npm.corp.example"));
    assert_eq!(a.hashes[0].algorithm, HashAlgorithm::Sha1);
    // Unreached from the members: kind unknown.
    assert_eq!(package(&inventory, "b", "1.0.0").kind, None);
    // Commas and slashes inside strings are left alone.
    let text = "{\"k\": \"a,}\", \"l\": \"//x\", \"m\": [1,],}";
    assert_eq!(
        as_json(text),
        "{\"k\": \"a,}\", \"l\": \"//x\", \"m\": [1 ] }"
    );
}

#[test]
fn malformed_locks_are_errors_at_their_line() {
    let lock = Path::new("bun.lock");
    let error = read(lock, "{\n  \"lockfileVersion\": 1,\n  \"packages\": {\n    \"a\": [\"a@1.0.0\" \"\"],\n  },\n}\n")
        .unwrap_err()
        .to_string();
    assert!(error.starts_with("bun.lock:4:"), "{error}");
    assert!(error.contains("not a valid bun.lock"), "{error}");
    let error = read(lock, "{\n  \"lockfileVersion\": 7,\n}\n")
        .unwrap_err()
        .to_string();
    assert_eq!(
        error,
        "bun.lock:2: bun.lock lockfileVersion 7 is not one secgate reads (0, 1 or 2)"
    );
    let error = read(lock, "{\"packages\": {}}").unwrap_err().to_string();
    assert_eq!(error, "bun.lock: not a valid bun.lock: no lockfileVersion");
    let error = read(lock, "{\"lockfileVersion\": 1, \"packages\": {\"a\": {}}}")
        .unwrap_err()
        .to_string();
    assert!(error.contains("packages[\"a\"]"), "{error}");
}

#[test]
fn odd_entries_are_unchecked_not_fatal() {
    let text = r#"{
  "lockfileVersion": 1,
  "workspaces": {"": {"name": "app", "dependencies": {"a": "1", "b": "1", "c": "1", "d": "1"}}},
  "packages": {
    "a": [],
    "b": ["b@1.0"],
    "c": ["c@github:owner/c", {}, "owner-c-0123abc"],
    "d": ["d@link:../d", {}],
    "e": ["e@root:", {}]
  }
}"#;
    let (inventory, unchecked, _) = read(Path::new("bun.lock"), text).unwrap();
    let listed: Vec<(u32, &str, UncheckedReason)> = unchecked
        .iter()
        .map(|u| (u.line, u.requirement.as_str(), u.reason))
        .collect();
    assert_eq!(
        listed,
        [
            (5, "a@(no name@resolution)", UncheckedReason::Unreadable),
            (6, "b@1.0", UncheckedReason::InvalidVersion),
            (7, "c@github:owner/c", UncheckedReason::Url),
            (8, "d@link:../d", UncheckedReason::LocalPath),
        ]
    );
    assert_eq!(
        package(&inventory, "c", "").source,
        PackageSource::Git {
            url: "https://github.com/owner/c.git".to_string(),
            reference: None,
            rev: "0123abc".to_string()
        }
    );
    let names: Vec<&str> = inventory.packages.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["app", "c", "d"]);
}

#[test]
fn keys_split_into_whole_names() {
    assert_eq!(name_prefixes(""), [0]);
    assert_eq!(name_prefixes("a"), [0, 1]);
    assert_eq!(name_prefixes("a/@s/b/c"), [0, 1, 6, 8]);
    assert_eq!(last_name("a/@s/b"), "@s/b");
    assert_eq!(last_name("@s/b"), "@s/b");
    assert_eq!(last_name("a/b"), "b");
}
