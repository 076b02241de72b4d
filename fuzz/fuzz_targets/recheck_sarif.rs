#![no_main]
//! `secrets --validate-only FILE.sarif`'s reader: any text, an error or the
//! findings to re-check, never a panic, and never a path outside the tree.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(recheck) = secgate::scan::secrets::recheck::parse("fuzz.sarif", text) {
            for path in &recheck.paths {
                assert!(!path.starts_with('/') && !path.split('/').any(|p| p == ".."));
            }
        }
    }
});
