#![no_main]
//! The secret scanner with the built-in rules on any bytes.
use libfuzzer_sys::fuzz_target;
use secgate::scan::secrets::scanner::SecretScanner;
use std::sync::OnceLock;

static SCANNER: OnceLock<SecretScanner> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let scanner = SCANNER.get_or_init(SecretScanner::builtin);
    let _ = scanner.findings_in("fuzz.txt", data);
});
