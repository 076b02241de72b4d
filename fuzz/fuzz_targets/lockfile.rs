#![no_main]
//! Lock files and what secgate makes of them: the Cargo.lock reader that
//! locates errors, the one-line rendering of a parser's message, and the
//! file-name catalogue of other ecosystems. Any bytes: a result, never a panic;
//! and the same result from the Cargo.lock reader as from the TOML parser alone.
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let path = Path::new("Cargo.lock");
        let outcome = |result: Result<Vec<secgate::inventory::cargo::LockPackage>, _>| match result {
            Ok(packages) => format!("{packages:?}"),
            Err(error) => format!("error: {error}"),
        };
        assert_eq!(
            outcome(secgate::inventory::cargo::parse_lock(path, text)),
            outcome(secgate::inventory::cargo::parse_lock_as_toml(path, text)),
            "the line reader and the TOML parser disagree"
        );
        let _ = secgate::inventory::cargo::from_lock_text(path, text, "fuzz");
        let located = secgate::inventory::cargo::located_toml_error(path, "not a valid Cargo.lock", text);
        assert!(!located.contains('\n'), "one line: {located:?}");
        let _ = secgate::scan::lockfiles::sort_out(text.lines());
    }
});
