//! secgate never runs the code it scans: no build script, no proc macro,
//! and `cargo metadata` is the only cargo command it runs.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// A project whose build script, and whose proc-macro dependency's build
/// script, each write a marker file wherever they run.
fn hostile_project(root: &Path, markers: &Path) {
    let write_marker = |name: &str| {
        format!(
            "fn main() {{ std::fs::write({:?}, \"ran\").unwrap(); }}\n",
            markers.join(name).display().to_string()
        )
    };
    std::fs::create_dir_all(root.join("src")).unwrap();
    std::fs::create_dir_all(root.join("pm/src")).unwrap();
    std::fs::write(
        root.join("Cargo.toml"),
        "[package]\nname = \"hostile\"\nversion = \"0.1.0\"\nedition = \"2021\"\nbuild = \"build.rs\"\n\n[dependencies]\npm = { path = \"pm\" }\n\n[workspace]\n",
    )
    .unwrap();
    std::fs::write(root.join("build.rs"), write_marker("build-script")).unwrap();
    std::fs::write(root.join("src/main.rs"), "pm::boom!();\nfn main() {}\n").unwrap();
    std::fs::write(
        root.join("pm/Cargo.toml"),
        "[package]\nname = \"pm\"\nversion = \"0.1.0\"\nedition = \"2021\"\nbuild = \"build.rs\"\n\n[lib]\nproc-macro = true\n",
    )
    .unwrap();
    std::fs::write(root.join("pm/build.rs"), write_marker("proc-macro-build")).unwrap();
    std::fs::write(
        root.join("pm/src/lib.rs"),
        format!(
            "use proc_macro::TokenStream;\n#[proc_macro]\npub fn boom(_: TokenStream) -> TokenStream {{ std::fs::write({:?}, \"ran\").unwrap(); TokenStream::new() }}\n",
            markers.join("proc-macro").display().to_string()
        ),
    )
    .unwrap();
    std::fs::write(
        root.join("Cargo.lock"),
        "version = 3\n\n[[package]]\nname = \"hostile\"\nversion = \"0.1.0\"\ndependencies = [\n \"pm\",\n]\n\n[[package]]\nname = \"pm\"\nversion = \"0.1.0\"\n",
    )
    .unwrap();
    // The repository's cargo config asks for a rustc wrapper that leaves a
    // marker and runs rustc: it must not be used either.
    std::fs::create_dir_all(root.join(".cargo")).unwrap();
    let wrapper = root.join(".cargo/rustc-wrapper");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\necho ran > '{}'\nexec \"$@\"\n",
            markers.join("rustc-wrapper").display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(
        root.join(".cargo/config.toml"),
        format!(
            "[build]\nrustc-wrapper = {:?}\n",
            wrapper.display().to_string()
        ),
    )
    .unwrap();
}

/// The marker files written under `markers`.
fn markers_written(markers: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(markers)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The markers can be written: building a copy of the project runs the
/// wrapper, both build scripts and the proc macro, each leaving its marker.
/// Without this, an empty marker directory would prove nothing.
#[test]
fn the_hostile_project_leaves_every_marker_when_built() {
    let dir = tempfile::tempdir().unwrap();
    let markers = dir.path().join("markers");
    std::fs::create_dir_all(&markers).unwrap();
    let repo = dir.path().join("repo");
    hostile_project(&repo, &markers);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let output = std::process::Command::new(cargo)
        .current_dir(&repo)
        .args(["build", "--offline", "--locked", "--quiet"])
        .env("CARGO_TARGET_DIR", dir.path().join("target"))
        .env_remove("RUSTC_WRAPPER")
        .env_remove("CARGO_BUILD_RUSTC_WRAPPER")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        markers_written(&markers),
        [
            "build-script",
            "proc-macro",
            "proc-macro-build",
            "rustc-wrapper"
        ]
    );
}

#[test]
fn check_runs_no_build_script_no_proc_macro_and_only_cargo_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let markers = dir.path().join("markers");
    std::fs::create_dir_all(&markers).unwrap();
    let repo = dir.path().join("repo");
    hostile_project(&repo, &markers);

    // A cargo that logs its arguments, then runs the real one.
    let real_cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let log = dir.path().join("cargo-calls.log");
    let wrapper = dir.path().join("cargo-wrapper");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$*\" >> '{}'\nexec '{}' \"$@\"\n",
            log.display(),
            real_cargo
        ),
    )
    .unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();

    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let home = dir.path().join("home");
    for command in ["check", "audit", "sbom", "secrets", "baseline"] {
        let output = common::secgate(&home)
            .env("SECGATE_CARGO", &wrapper)
            .current_dir(&out)
            .arg(command)
            .arg(&repo)
            .arg("--db")
            .arg(common::fixture("advisory-db"))
            .arg("--offline")
            .arg("--sarif")
            .arg(out.join("out.sarif"))
            .arg("--sbom")
            .arg(out.join("sbom.json"))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{command}: {stderr}");
    }
    let ran = markers_written(&markers);
    assert!(ran.is_empty(), "code of the scanned project ran: {ran:?}");

    let calls = std::fs::read_to_string(&log).expect("cargo metadata was called");
    let calls: Vec<&str> = calls.lines().collect();
    assert!(!calls.is_empty());
    for call in &calls {
        assert!(call.starts_with("metadata "), "cargo {call}");
        assert!(call.contains("--locked"), "cargo {call}");
        assert!(
            call.contains("--offline"),
            "--offline passed on: cargo {call}"
        );
    }
    // One run per workspace per process, shared by the scanners.
    assert!(calls.len() <= 4, "{calls:?}");
}
