#![no_main]
//! Lock files and what secgate makes of them: the Cargo.lock reader that
//! locates errors, the one-line rendering of a parser's message, and the
//! file-name catalogue of other ecosystems. Any bytes: a result, never a panic.
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let path = Path::new("Cargo.lock");
        let _ = secgate::inventory::cargo::parse_lock(path, text);
        let _ = secgate::inventory::cargo::from_lock_text(path, text, "fuzz");
        let located = secgate::inventory::cargo::located_toml_error(path, "not a valid Cargo.lock", text);
        assert!(!located.contains('\n'), "one line: {located:?}");
        let _ = secgate::scan::lockfiles::sort_out(text.lines());
    }
});
