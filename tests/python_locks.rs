//! The Python lock readers through the library's `inventory::python::read`:
//! real lock files of public projects (tests/fixtures/python/README.md)
//! give the packages and versions advisories are about, with the file and
//! line of each; includes stay inside the scanned directory; nothing that
//! cannot be checked goes unsaid.

mod common;

use common::fixture;
use secgate::inventory::lock::{LockContents, UncheckedReason};
use secgate::inventory::python::{read, LockFormat};
use secgate::inventory::DependencyKind;
use std::path::Path;

fn python(name: &str) -> std::path::PathBuf {
    fixture("python").join(name)
}

fn version_and_kind(lock: &LockContents, name: &str) -> (String, Option<DependencyKind>) {
    let inventory = &lock.inventory;
    let package = &inventory.packages[inventory
        .find(name, None)
        .unwrap_or_else(|| panic!("{name} not in the inventory"))];
    (package.version.clone(), package.kind)
}

#[test]
fn known_vulnerable_versions_of_real_projects_are_in_the_inventory() {
    use DependencyKind::*;
    let cases: [(&str, &str, &str, Option<DependencyKind>); 8] = [
        ("pipenv-flask/Pipfile.lock", "flask", "1.0.2", Some(Normal)),
        ("pipenv-flask/Pipfile.lock", "jinja2", "2.10", Some(Normal)),
        ("pdm-flask/pdm.lock", "werkzeug", "3.0.2", Some(Normal)),
        (
            "poetry-1.1-django/poetry.lock",
            "django",
            "4.0.5",
            Some(Normal),
        ),
        (
            "requirements-django/requirements/production.txt",
            "django",
            "3.1.13",
            None,
        ),
        (
            "requirements-poetry-export/requirements.txt",
            "jinja2",
            "2.11.3",
            None,
        ),
        ("uv-polars/uv.lock", "pytest", "8.4.1", Some(DevOnly)),
        (
            "poetry-2.0-httpx/poetry.lock",
            "h11",
            "0.16.0",
            Some(Normal),
        ),
    ];
    for (file, name, version, kind) in cases {
        let lock = read(&python(file), &python("")).unwrap();
        assert_eq!(
            version_and_kind(&lock, name),
            (version.to_string(), kind),
            "{file}"
        );
        assert!(lock.unchecked.is_empty(), "{file}: {:?}", lock.unchecked);
        let package = lock.inventory.find(name, None).unwrap();
        assert!(lock.inventory.packages[package].lines.is_some());
        assert!(lock.inventory.packages[package].source.is_public_registry());
    }
}

#[test]
fn requirement_includes_stay_inside_the_scanned_directory() {
    let root = python("requirements-edge/app");
    let lock = read(&root.join("requirements.txt"), &root).unwrap();
    assert_eq!(lock.format, LockFormat::Requirements.as_str());
    assert!(lock.inventory.find("evil", None).is_none());
    let outside = lock
        .unchecked
        .iter()
        .find(|u| u.reason == UncheckedReason::IncludeOutsideRoot)
        .unwrap();
    assert_eq!(
        (outside.line, outside.requirement.as_str()),
        (19, "-r ../outside.txt")
    );
    // Scanned from one directory up, the same include is read.
    let lock = read(&root.join("requirements.txt"), &python("requirements-edge")).unwrap();
    assert!(lock.inventory.find("evil", None).is_some());
    assert!(lock
        .unchecked
        .iter()
        .all(|u| u.reason != UncheckedReason::IncludeOutsideRoot));
}

#[test]
fn a_symbolic_link_out_of_the_root_is_not_followed_and_a_cycle_ends() {
    let scratch = tempfile::tempdir().unwrap();
    let outside = scratch.path().join("outside");
    let repo = scratch.path().join("repo");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::create_dir_all(repo.join("requirements")).unwrap();
    std::fs::write(outside.join("secret.txt"), "private-thing==1.0\n").unwrap();
    std::os::unix::fs::symlink(outside.join("secret.txt"), repo.join("linked.txt")).unwrap();
    std::fs::write(
        repo.join("requirements.txt"),
        "-r linked.txt\n-r requirements/a.txt\nflask==2.0.0\n",
    )
    .unwrap();
    std::fs::write(repo.join("requirements/a.txt"), "-r b.txt\nclick==8.0.0\n").unwrap();
    std::fs::write(
        repo.join("requirements/b.txt"),
        "-r a.txt\n-r ../requirements.txt\nitsdangerous==2.0.0\n",
    )
    .unwrap();
    let lock = read(&repo.join("requirements.txt"), &repo).unwrap();
    let names: Vec<&str> = lock
        .inventory
        .packages
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(names, ["click", "flask", "itsdangerous"]);
    assert_eq!(lock.unchecked.len(), 1);
    assert_eq!(
        lock.unchecked[0].reason,
        UncheckedReason::IncludeOutsideRoot
    );
    assert_eq!(lock.files_read.len(), 3);
}

#[test]
fn a_windows_requirements_file_in_utf16_is_read() {
    let scratch = tempfile::tempdir().unwrap();
    let path = scratch.path().join("requirements.txt");
    // What `pip freeze > requirements.txt` writes in Windows PowerShell 5.
    let mut bytes = vec![0xFF, 0xFE];
    bytes.extend(
        "Django==2.2.1\r\nrequests==2.21.0\r\n"
            .encode_utf16()
            .flat_map(u16::to_le_bytes),
    );
    std::fs::write(&path, bytes).unwrap();
    let lock = read(&path, scratch.path()).unwrap();
    assert_eq!(version_and_kind(&lock, "django").0, "2.2.1");
    assert_eq!(version_and_kind(&lock, "requests").0, "2.21.0");
}

#[test]
fn poetry_and_pdm_read_the_pyproject_beside_them() {
    let lock = read(&python("pdm-groups/pdm.lock"), &python("")).unwrap();
    assert_eq!(lock.files_read.len(), 2);
    assert_eq!(
        version_and_kind(&lock, "pytest").1,
        Some(DependencyKind::DevOnly)
    );
    assert_eq!(
        version_and_kind(&lock, "boto3").1,
        Some(DependencyKind::Normal)
    );
    let scratch = tempfile::tempdir().unwrap();
    let lock_path = scratch.path().join("pdm.lock");
    std::fs::copy(python("pdm-groups/pdm.lock"), &lock_path).unwrap();
    // Without it pdm's `test` group is not known to be for development.
    let alone = read(&lock_path, scratch.path()).unwrap();
    assert_eq!(
        version_and_kind(&alone, "pytest").1,
        Some(DependencyKind::Normal)
    );
    assert_eq!(
        version_and_kind(&alone, "mkdocs").1,
        Some(DependencyKind::Normal)
    );
    std::fs::write(
        scratch.path().join("pyproject.toml"),
        "[project\nname = 1\n",
    )
    .unwrap();
    let error = read(&lock_path, scratch.path()).unwrap_err().to_string();
    assert!(error.contains("pyproject.toml:1:"), "{error}");
    assert!(!error.contains('\n'), "{error}");
}

#[test]
fn every_reader_leaves_a_package_list_and_its_files_aligned() {
    for file in [
        "poetry-1.1-django/poetry.lock",
        "poetry-2.0-httpx/poetry.lock",
        "poetry-2.1-groups/poetry.lock",
        "uv-polars/uv.lock",
        "uv-workspace/uv.lock",
        "pipenv-flask/Pipfile.lock",
        "pdm-flask/pdm.lock",
        "pdm-groups/pdm.lock",
        "requirements-django/requirements/local.txt",
        "requirements-edge/app/requirements.txt",
    ] {
        let path = python(file);
        let lock = read(&path, &python("")).unwrap();
        let inventory = &lock.inventory;
        assert_eq!(lock.listed_in.len(), inventory.packages.len(), "{file}");
        assert_eq!(inventory.lock_file.as_deref(), Some(path.as_path()));
        let mut sorted = inventory.packages.clone();
        sorted.sort_by(|a, b| a.name.cmp(&b.name));
        let names: Vec<_> = sorted.iter().map(|p| &p.name).collect();
        let listed: Vec<_> = inventory.packages.iter().map(|p| &p.name).collect();
        assert_eq!(names, listed, "{file}: sorted by name");
        for package in &inventory.packages {
            assert_eq!(package.ecosystem, secgate::inventory::Ecosystem::PyPi);
            assert_eq!(
                secgate::inventory::Ecosystem::PyPi.normalize_name(&package.name),
                package.name,
                "{file}"
            );
            if let Some(checksum) = &package.checksum {
                assert!(checksum.len() == 64 && checksum.bytes().all(|b| b.is_ascii_hexdigit()));
            }
        }
        assert!(Path::new(&lock.file_of(0)).exists(), "{file}");
    }
}
