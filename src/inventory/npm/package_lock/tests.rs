use super::origin::NPM_REGISTRY;
use super::*;
use crate::inventory::lock::UncheckedReason;
use crate::inventory::{ContentHash, DependencyKind, HashAlgorithm, Package, PackageSource};
use std::collections::BTreeSet;

fn fixture(relative: &str) -> (PathBuf, String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/npm/locks")
        .join(relative);
    let text = std::fs::read_to_string(&path).unwrap();
    (path, text)
}

fn read_fixture(relative: &str) -> (Inventory, Vec<UncheckedRequirement>) {
    let (path, text) = fixture(relative);
    let (inventory, unchecked, manifests) = read(&path, &text).unwrap();
    assert!(manifests.is_empty());
    (inventory, unchecked)
}

fn package<'a>(inventory: &'a Inventory, name: &str, version: &str) -> &'a Package {
    let found = inventory.find(name, Some(version));
    &inventory.packages[found.unwrap_or_else(|| panic!("{name} {version} not found"))]
}

fn lines(start: u32, end: u32) -> Option<LockLines> {
    Some(LockLines { start, end })
}

fn registry_npmjs() -> PackageSource {
    origin::registry(NPM_REGISTRY)
}

/// Whether `from` has an edge of `kind` to `to`.
fn has_edge(inventory: &Inventory, from: &Package, kind: EdgeKind, to: &Package) -> bool {
    let index = |p: &Package| inventory.packages.iter().position(|q| q == p).unwrap();
    inventory.depends_on[index(from)]
        .iter()
        .any(|edge| edge.to == index(to) && edge.kind == kind)
}

#[test]
fn real_v2_lock_is_read_from_its_packages() {
    let (inventory, unchecked) = read_fixture("package-lock-v2-curso-node-table/package-lock.json");
    assert!(unchecked.is_empty());
    // 17 installed packages and the project.
    assert_eq!(inventory.packages.len(), 18);
    let root = package(&inventory, "02-bases", "0.0.1");
    assert!(root.is_member);
    assert_eq!(inventory.root, inventory.find("02-bases", None));
    assert_eq!(
        inventory.workspace_members,
        [inventory.find("02-bases", None).unwrap()]
    );
    assert_eq!(
        root.source,
        PackageSource::Path {
            relative: Some(".".to_string())
        }
    );
    // From `packages` (lines 157–173), not from `dependencies` below line 183.
    let yargs = package(&inventory, "yargs", "17.4.1");
    assert_eq!(yargs.lines, lines(157, 173));
    assert_eq!(yargs.source, registry_npmjs());
    assert_eq!(yargs.kind, Some(DependencyKind::Normal));
    assert_eq!(yargs.hashes.len(), 1);
    assert_eq!(yargs.hashes[0].algorithm, HashAlgorithm::Sha512);
    let require_directory = package(&inventory, "require-directory", "2.1.1");
    assert_eq!(require_directory.lines, lines(101, 108));
    assert_eq!(
        require_directory.hashes,
        [ContentHash {
            algorithm: HashAlgorithm::Sha1,
            hex: "8c64ad5fd30dab1c976e2344ffe7f792a6a6df42".to_string()
        }]
    );
    assert!(has_edge(&inventory, root, EdgeKind::Normal, yargs));
    assert!(has_edge(
        &inventory,
        yargs,
        EdgeKind::Normal,
        require_directory
    ));
    assert_eq!(
        inventory.shortest_path(inventory.find("color-name", None).unwrap()),
        [
            ("02-bases", "0.0.1"),
            ("yargs", "17.4.1"),
            ("cliui", "7.0.4"),
            ("wrap-ansi", "7.0.0"),
            ("ansi-styles", "4.3.0"),
            ("color-convert", "2.0.1"),
            ("color-name", "1.1.4"),
        ]
        .map(|(n, v)| (n.to_string(), v.to_string()))
    );
}

#[test]
fn generated_v3_lock_with_workspaces_aliases_and_local_git_and_tarball_dependencies() {
    let (inventory, unchecked) = read_fixture("package-lock-v3-edge/package-lock.json");
    let members: Vec<(&str, &str)> = inventory
        .workspace_members
        .iter()
        .map(|&m| {
            (
                inventory.packages[m].name.as_str(),
                inventory.packages[m].version.as_str(),
            )
        })
        .collect();
    assert_eq!(
        members,
        [
            ("@edge/util", "0.1.0"),
            ("npm-edge-app", "1.0.0"),
            ("web", "0.3.0")
        ]
    );
    let web = package(&inventory, "web", "0.3.0");
    assert_eq!(web.lines, lines(240, 249));
    assert_eq!(
        web.source,
        PackageSource::Path {
            relative: Some("packages/web".to_string())
        }
    );
    // The alias is the real package.
    assert!(inventory.find("lodash-old", None).is_none());
    let lodash = package(&inventory, "lodash", "4.17.4");
    assert_eq!(lodash.lines, lines(151, 157));
    assert_eq!(lodash.source, registry_npmjs());
    // A registry tarball URL as the dependency is the registry package.
    assert_eq!(
        package(&inventory, "left-pad", "1.3.0").source,
        registry_npmjs()
    );
    // ms 2.0.0 is installed under debug and under the web workspace: one
    // package, at the first copy's lines.
    let ms_copies = inventory.packages.iter().filter(|p| p.name == "ms").count();
    assert_eq!(ms_copies, 2);
    let ms_old = package(&inventory, "ms", "2.0.0");
    assert_eq!(ms_old.lines, lines(96, 101));
    let root = package(&inventory, "npm-edge-app", "1.0.0");
    let debug = package(&inventory, "debug", "2.6.9");
    assert!(has_edge(&inventory, debug, EdgeKind::Normal, ms_old));
    assert!(has_edge(&inventory, web, EdgeKind::Normal, ms_old));
    assert!(has_edge(
        &inventory,
        root,
        EdgeKind::Normal,
        package(&inventory, "ms", "2.1.3")
    ));
    assert!(has_edge(
        &inventory,
        web,
        EdgeKind::Normal,
        package(&inventory, "@edge/util", "0.1.0")
    ));
    assert!(has_edge(
        &inventory,
        web,
        EdgeKind::Dev,
        package(&inventory, "is-number", "7.0.0")
    ));
    let react = package(&inventory, "react", "18.3.1");
    assert!(has_edge(
        &inventory,
        package(&inventory, "react-dom", "18.2.0"),
        EdgeKind::Peer,
        react
    ));
    let supports_color = package(&inventory, "supports-color", "7.2.0");
    assert!(has_edge(
        &inventory,
        root,
        EdgeKind::Optional,
        supports_color
    ));

    // npm's flags: dev is dev-only; devOptional, optional and peer ship.
    let kind = |name: &str, version: &str| package(&inventory, name, version).kind;
    assert_eq!(kind("chalk", "4.1.2"), Some(DependencyKind::DevOnly));
    assert_eq!(kind("is-number", "7.0.0"), Some(DependencyKind::DevOnly));
    assert_eq!(
        kind("supports-color", "7.2.0"),
        Some(DependencyKind::Normal)
    );
    assert_eq!(kind("has-flag", "4.0.0"), Some(DependencyKind::Normal));
    assert_eq!(kind("react", "18.3.1"), Some(DependencyKind::Normal));
    // The graph agrees with the flags on every package.
    let classes = inventory.classify(&inventory.workspace_members);
    for (package, class) in inventory.packages.iter().zip(classes) {
        assert_eq!(
            package.kind, class.kind,
            "{} {}",
            package.name, package.version
        );
    }

    let gitdep = package(&inventory, "gitdep", "1.2.0");
    assert_eq!(
        gitdep.source,
        PackageSource::Git {
            url: "file:///tmp/gen/gitdep".to_string(),
            reference: None,
            rev: "f2811682b9c304d0a79d910db3d312691c2cfb5f".to_string()
        }
    );
    assert!(has_edge(
        &inventory,
        gitdep,
        EdgeKind::Normal,
        package(&inventory, "escape-html", "1.0.3")
    ));
    let local_lib = package(&inventory, "local-lib", "2.0.0");
    assert!(!local_lib.is_member);
    assert_eq!(local_lib.lines, lines(256, 261));
    let listed: Vec<(u32, &str, UncheckedReason)> = unchecked
        .iter()
        .map(|u| (u.line, u.requirement.as_str(), u.reason))
        .collect();
    assert_eq!(
        listed,
        [
            (
                108,
                "gitdep@git+file:///tmp/gen/gitdep#f2811682b9c304d0a79d910db3d312691c2cfb5f",
                UncheckedReason::Url
            ),
            (
                176,
                "packed@file:vendor/packed-1.0.0.tgz",
                UncheckedReason::LocalPath
            ),
            (
                256,
                "local-lib@file:vendor/local-lib",
                UncheckedReason::LocalPath
            ),
        ]
    );
    assert_eq!(
        package(&inventory, "packed", "1.0.0").source,
        PackageSource::Path {
            relative: Some("vendor/packed-1.0.0.tgz".to_string())
        }
    );
}

/// (name, version) of the registry packages.
fn registry_packages(inventory: &Inventory) -> BTreeSet<(String, String)> {
    inventory
        .packages
        .iter()
        .filter(|p| p.source.is_public_registry())
        .map(|p| (p.name.clone(), p.version.clone()))
        .collect()
}

#[test]
fn v1_and_v3_locks_of_one_project_list_the_same_registry_packages() {
    let (v1, v1_unchecked) = read_fixture("package-lock-v1-edge/package-lock.json");
    let (v3, _) = read_fixture("package-lock-v3-edge/package-lock.json");
    assert_eq!(registry_packages(&v1), registry_packages(&v3));
    assert_eq!(registry_packages(&v1).len(), 18);
    for package in v1.packages.iter().filter(|p| p.source.is_public_registry()) {
        let same = &v3.packages[v3.find(&package.name, Some(&package.version)).unwrap()];
        assert_eq!(package.kind, same.kind, "{}", package.name);
        assert_eq!(package.hashes, same.hashes, "{}", package.name);
    }
    // Version 1 writes the alias into the version, the tarball URL too.
    assert_eq!(package(&v1, "lodash", "4.17.4").lines, lines(101, 105));
    assert_eq!(package(&v1, "left-pad", "1.3.0").lines, lines(91, 94));
    assert_eq!(package(&v1, "ms", "2.0.0").lines, lines(55, 59));
    // Without `packages` a workspace member is a `file:` dependency like any.
    let listed: Vec<(u32, &str, UncheckedReason)> = v1_unchecked
        .iter()
        .map(|u| (u.line, u.requirement.as_str(), u.reason))
        .collect();
    assert_eq!(
        listed,
        [
            (
                7,
                "@edge/util@file:packages/util",
                UncheckedReason::LocalPath
            ),
            (
                67,
                "gitdep@git+file:///tmp/gen/gitdep#f2811682b9c304d0a79d910db3d312691c2cfb5f",
                UncheckedReason::Url
            ),
            (
                95,
                "local-lib@file:vendor/local-lib",
                UncheckedReason::LocalPath
            ),
            (
                119,
                "packed@file:vendor/packed-1.0.0.tgz",
                UncheckedReason::LocalPath
            ),
            (158, "web@file:packages/web", UncheckedReason::LocalPath),
        ]
    );
    assert_eq!(v1.workspace_members.len(), 1);
    // The root reaches what nothing else requires; debug's ms is below debug.
    let root = package(&v1, "npm-edge-app", "1.0.0");
    assert!(has_edge(
        &v1,
        root,
        EdgeKind::Normal,
        package(&v1, "debug", "2.6.9")
    ));
    assert!(has_edge(
        &v1,
        root,
        EdgeKind::Dev,
        package(&v1, "chalk", "4.1.2")
    ));
    assert!(!has_edge(
        &v1,
        root,
        EdgeKind::Normal,
        package(&v1, "ms", "2.0.0")
    ));
    assert_eq!(
        v1.shortest_path(v1.find("ms", Some("2.0.0")).unwrap())
            .len(),
        3
    );
}

#[test]
fn npm_2_shrinkwrap_without_lockfile_version_nests_dependencies() {
    let (inventory, unchecked) = read_fixture("shrinkwrap-json_index/npm-shrinkwrap.json");
    assert!(unchecked.is_empty());
    assert_eq!(inventory.packages.len(), 11);
    let sigmund = package(&inventory, "sigmund", "1.0.0");
    assert_eq!(sigmund.lines, lines(36, 39));
    assert_eq!(sigmund.source, registry_npmjs());
    assert!(sigmund.hashes.is_empty());
    assert_eq!(package(&inventory, "glob", "4.0.5").lines, lines(20, 51));
    let path: Vec<String> = inventory
        .shortest_path(inventory.find("sigmund", None).unwrap())
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    assert_eq!(path, ["json_index", "glob", "minimatch", "sigmund"]);
}

#[test]
fn shrinkwrap_errors_name_the_shrinkwrap() {
    let error = read(Path::new("npm-shrinkwrap.json"), "{\n  \"name\": 3\n}")
        .unwrap_err()
        .to_string();
    assert!(error.starts_with("npm-shrinkwrap.json:2:"), "{error}");
    assert!(
        error.contains("not a valid npm-shrinkwrap.json: name:"),
        "{error}"
    );
}

#[test]
fn malformed_json_is_an_error_at_its_line() {
    let lock = Path::new("package-lock.json");
    let error = read(lock, "{\n  \"lockfileVersion\": 3,\n  \"packages\": {\n    \"\": {}\n    \"node_modules/a\": {}\n")
        .unwrap_err()
        .to_string();
    assert!(error.starts_with("package-lock.json:5:"), "{error}");
    let error = read(
        lock,
        "{\n  \"lockfileVersion\": 3,\n  \"packages\": {\n    \"node_modules/a\": {\n      \"dev\": \"yes\"\n    }\n  }\n}\n",
    )
    .unwrap_err()
    .to_string();
    assert!(error.starts_with("package-lock.json:5:"), "{error}");
    assert!(error.contains("packages[\"node_modules/a\"]"), "{error}");
    assert!(!error.contains("at line"), "{error}");
    let error = read(lock, "[]").unwrap_err().to_string();
    assert!(error.contains("expected a JSON object"), "{error}");
    let twice = "{\"lockfileVersion\": 3, \"packages\": {\n\"node_modules/a\": {\"version\": \"1.0.0\"},\n\"node_modules/a\": {\"version\": \"1.0.0\"}}}";
    let error = read(lock, twice).unwrap_err().to_string();
    assert_eq!(
        error,
        "package-lock.json:3: packages lists \"node_modules/a\" twice (first at line 2)"
    );
}

#[test]
fn an_unknown_lockfile_version_is_refused() {
    for version in ["4", "0", "\"3\"", "2.5"] {
        let text = format!(
            "{{\n  \"name\": \"x\",\n  \"lockfileVersion\": {version},\n  \"packages\": {{}}\n}}"
        );
        let error = read(Path::new("package-lock.json"), &text)
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            format!("package-lock.json:3: lockfileVersion {version} is not one secgate reads (1, 2 or 3)")
        );
    }
}

#[test]
fn entries_without_a_semver_version_are_unchecked_not_fatal() {
    let text = r#"{
  "name": "app",
  "lockfileVersion": 3,
  "packages": {
    "": {"dependencies": {"a": "*", "b": "*", "c": "*"}},
    "node_modules/a": {"resolved": "https://registry.npmjs.org/a/-/a-1.0.0.tgz"},
    "node_modules/b": {"version": "1.0"},
    "node_modules/c": {"version": "2.0.0", "dependencies": {"b": "*"}}
  }
}"#;
    let (inventory, unchecked, _) = read(Path::new("package-lock.json"), text).unwrap();
    let listed: Vec<(u32, &str, UncheckedReason)> = unchecked
        .iter()
        .map(|u| (u.line, u.requirement.as_str(), u.reason))
        .collect();
    assert_eq!(
        listed,
        [
            (6, "a@(no version)", UncheckedReason::Unreadable),
            (7, "b@1.0", UncheckedReason::InvalidVersion),
        ]
    );
    let names: Vec<&str> = inventory.packages.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["app", "c"]);
}

#[test]
fn git_tarball_and_mirror_resolutions_with_credentials_masked() {
    let text = r#"{
  "lockfileVersion": 2,
  "packages": {
    "": {"name": "app", "version": "1.0.0"},
    "node_modules/private": {
      "version": "0.4.0",
      "resolved": "git+https://ci:TOKEN@git.corp.example/team/private.git#4f2a9c0d1e",
      "dev": true
    },
    "node_modules/pad": {
      "version": "1.0.0",
      "resolved": "https://user:pass@files.example/pad-latest.tgz"
    },
    "node_modules/mirrored": {
      "version": "3.1.0",
      "resolved": "https://npm.corp.example/api/npm/mirrored/-/mirrored-3.1.0.tgz",
      "integrity": "sha1-jGStX9MNqxyXbiNE/+f3kqam30I="
    },
    "node_modules/bare": {"version": "1.2.3-beta.1"}
  },
  "dependencies": {"ignored": {"version": "9.9.9"}}
}"#;
    let (inventory, unchecked, _) = read(Path::new("package-lock.json"), text).unwrap();
    let private = package(&inventory, "private", "0.4.0");
    assert_eq!(
        private.source,
        PackageSource::Git {
            url: "https://ci:***@git.corp.example/team/private.git".to_string(),
            reference: None,
            rev: "4f2a9c0d1e".to_string()
        }
    );
    assert_eq!(private.kind, Some(DependencyKind::DevOnly));
    assert_eq!(
        package(&inventory, "pad", "1.0.0").source,
        PackageSource::Other {
            repr: "https://user:***@files.example/pad-latest.tgz".to_string()
        }
    );
    assert_eq!(
        package(&inventory, "mirrored", "3.1.0").source,
        origin::registry("https://npm.corp.example")
    );
    assert_eq!(
        package(&inventory, "bare", "1.2.3-beta.1").source,
        registry_npmjs()
    );
    assert!(inventory.find("ignored", None).is_none());
    let listed: Vec<(u32, &str)> = unchecked
        .iter()
        .map(|u| (u.line, u.requirement.as_str()))
        .collect();
    assert_eq!(
        listed,
        [
            (
                5,
                "private@git+https://ci:***@git.corp.example/team/private.git#4f2a9c0d1e"
            ),
            (10, "pad@https://user:***@files.example/pad-latest.tgz"),
        ]
    );
}

#[test]
fn odd_documents_read_or_fail_without_panicking() {
    let lock = Path::new("package-lock.json");
    // Only the project: nothing installed.
    let (inventory, unchecked, _) = read(lock, "{}").unwrap();
    assert_eq!(inventory.packages.len(), 1);
    assert!(unchecked.is_empty());
    let (inventory, _, _) = read(lock, "{\"lockfileVersion\": 3}").unwrap();
    assert_eq!(inventory.packages.len(), 1);
    for text in [
        "",
        "null",
        "{\"lockfileVersion\": 3, \"packages\": []}",
        "{\"lockfileVersion\": 3, \"packages\": {\"\": 5}}",
        "{\"lockfileVersion\": 1, \"dependencies\": {\"a\": {\"dependencies\": 7}}}",
        "{\"lockfileVersion\": 1, \"dependencies\": {\"a\": {\"version\": {}}}}",
    ] {
        assert!(read(lock, text).is_err(), "{text}");
    }
    // A link to nowhere, a self-dependency, a cycle and `requires: true`.
    let text = r#"{"lockfileVersion": 3, "packages": {
        "node_modules/gone": {"resolved": "../gone", "link": true},
        "node_modules/a": {"version": "1.0.0", "dependencies": {"a": "*", "b": "*"}},
        "node_modules/b": {"version": "1.0.0", "dependencies": {"a": "*"}}}}"#;
    let (inventory, unchecked, _) = read(lock, text).unwrap();
    assert_eq!(inventory.packages.len(), 4);
    assert_eq!(unchecked[0].requirement, "gone@file:../gone");
    let text = r#"{"lockfileVersion": 1, "dependencies": {
        "a": {"version": "1.0.0", "requires": {"b": "*"}},
        "b": {"version": "1.0.0", "requires": {"a": "*"}},
        "c": {"version": "1.0.0", "requires": true}}}"#;
    let (inventory, _, _) = read(lock, text).unwrap();
    // Every package is reachable from the project, the cycle included.
    let root = inventory.root.unwrap();
    assert_eq!(inventory.reachable(&[root]).len(), 4);
}

/// A lockfileVersion 3 lock of `count` packages, each depending on the
/// next two, every tenth with a nested copy.
fn synthetic_lock(count: usize) -> String {
    let mut text = String::from("{\n  \"name\": \"big\",\n  \"lockfileVersion\": 3,\n  \"packages\": {\n    \"\": {\"name\": \"big\", \"dependencies\": {\"p0\": \"*\"}}");
    for i in 0..count {
        let deps: Vec<String> = (i + 1..(i + 3).min(count))
            .map(|d| format!("\"p{d}\": \"*\""))
            .collect();
        text.push_str(&format!(
            ",\n    \"node_modules/p{i}\": {{\n      \"version\": \"1.0.{i}\",\n      \"resolved\": \"https://registry.npmjs.org/p{i}/-/p{i}-1.0.{i}.tgz\",\n      \"integrity\": \"sha512-6FlzubTLZG3J2a/NVCAleEhjzq5oxgHyaCU9yYXvcLsvoVaHJq/s5xXI6/XXP6tz7R9xAOtHnSO/tXtF3WRTlA==\",\n      \"dependencies\": {{{}}}\n    }}",
            deps.join(", ")
        ));
        if i % 10 == 0 {
            text.push_str(&format!(
                ",\n    \"node_modules/p{i}/node_modules/p{}\": {{\"version\": \"2.0.0\"}}",
                i + 1
            ));
        }
    }
    text.push_str("\n  }\n}\n");
    text
}

#[test]
fn a_synthetic_lock_is_read_whole() {
    let (inventory, _, _) = read(Path::new("package-lock.json"), &synthetic_lock(50)).unwrap();
    // 50 packages, 5 nested copies of other versions, the project.
    assert_eq!(inventory.packages.len(), 56);
    let p1 = package(&inventory, "p1", "2.0.0");
    assert!(has_edge(
        &inventory,
        package(&inventory, "p0", "1.0.0"),
        EdgeKind::Normal,
        p1
    ));
}

/// The shortest of `rounds` runs of `work`: the machine may be busy.
fn fastest_of(rounds: u32, mut work: impl FnMut()) -> std::time::Duration {
    (0..rounds)
        .map(|_| {
            let start = std::time::Instant::now();
            work();
            start.elapsed()
        })
        .min()
        .unwrap_or_default()
}

/// `cargo test --release --lib inventory::npm::package_lock::tests::timing -- --ignored --nocapture`
#[test]
#[ignore]
fn timing_of_a_2000_package_lock() {
    let text = synthetic_lock(2000);
    let fastest = fastest_of(20, || {
        let (inventory, _, _) = read(Path::new("package-lock.json"), &text).unwrap();
        assert_eq!(inventory.packages.len(), 2201);
    });
    println!(
        "{} KB, {fastest:?} per read (fastest of 20)",
        text.len() / 1024
    );
}

/// A lock given by path in `SECGATE_TIMING_LOCK` (a `package-lock.json`
/// or a `bun.lock`), timed, with how often npm's flags and the graph
/// disagree on a kind.
#[test]
#[ignore]
fn timing_of_the_lock_in_secgate_timing_lock() {
    let Some(path) = std::env::var_os("SECGATE_TIMING_LOCK").map(PathBuf::from) else {
        println!("SECGATE_TIMING_LOCK is not set");
        return;
    };
    let text = std::fs::read_to_string(&path).unwrap();
    let is_bun = path.file_name().is_some_and(|n| n == "bun.lock");
    let read_once = || {
        if is_bun {
            super::super::bun::read(&path, &text).unwrap()
        } else {
            read(&path, &text).unwrap()
        }
    };
    let elapsed = fastest_of(10, || {
        read_once();
    });
    let (inventory, unchecked, _) = read_once();
    let classes = inventory.classify(&inventory.workspace_members);
    let disagree = inventory
        .packages
        .iter()
        .zip(&classes)
        .filter(|(p, c)| p.kind != c.kind)
        .count();
    println!(
        "{}: {} KB, {} packages, {} unchecked, {disagree} kinds the graph disagrees with, {elapsed:?} per read (fastest of 10)",
        path.display(),
        text.len() / 1024,
        inventory.packages.len(),
        unchecked.len()
    );
}

/// What every read inventory keeps to, whatever the input.
fn assert_well_formed(inventory: &Inventory, unchecked: &[UncheckedRequirement], input: &str) {
    let count = inventory.packages.len();
    assert_eq!(inventory.depends_on.len(), count, "{input}");
    assert!(!inventory.workspace_members.is_empty(), "{input}");
    assert!(inventory.root.is_some_and(|root| root < count), "{input}");
    for edges in &inventory.depends_on {
        assert!(edges.iter().all(|edge| edge.to < count), "{input}");
    }
    for window in inventory.packages.windows(2) {
        assert!(window[0].name <= window[1].name, "{input}");
    }
    for package in &inventory.packages {
        let lines = package.lines.unwrap();
        assert!(1 <= lines.start && lines.start <= lines.end, "{input}");
    }
    assert!(unchecked.windows(2).all(|w| w[0] <= w[1]), "{input}");
    assert!(unchecked.iter().all(|u| u.line >= 1), "{input}");
}

#[test]
fn damaged_fixtures_read_to_well_formed_inventories_or_errors() {
    let fixtures = [
        "package-lock-v1-edge/package-lock.json",
        "package-lock-v2-curso-node-table/package-lock.json",
        "package-lock-v3-edge/package-lock.json",
        "shrinkwrap-json_index/npm-shrinkwrap.json",
        "bun-edge/bun.lock",
        "bun-monorepo-analysis/bun.lock",
    ];
    let mut read_whole = 0;
    for fixture_path in fixtures {
        let (path, text) = fixture(fixture_path);
        let read_any = |text: &str| {
            if fixture_path.ends_with("bun.lock") {
                super::super::bun::read(&path, text)
            } else {
                read(&path, text)
            }
        };
        // Cut short anywhere, and one byte replaced by JSON's punctuation.
        let mut damaged: Vec<String> = (0..text.len())
            .step_by(499)
            .filter_map(|cut| text.get(..cut).map(str::to_string))
            .collect();
        for at in (0..text.len()).step_by(331) {
            for replacement in ["\"", "{", "]", ","] {
                if text.is_char_boundary(at) && text.is_char_boundary(at + 1) {
                    damaged.push(format!("{}{replacement}{}", &text[..at], &text[at + 1..]));
                }
            }
        }
        for input in &damaged {
            if let Ok((inventory, unchecked, _)) = read_any(input) {
                assert_well_formed(&inventory, &unchecked, input);
                read_whole += 1;
            }
        }
    }
    // Some damage (inside a hash, a URL) leaves valid JSON.
    assert!(read_whole > 0);
}
