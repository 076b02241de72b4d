#![no_main]
//! The rule compiler: any rule file, an error or a rule set, never a panic.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = secgate::scan::secrets::rules::RuleSet::from_toml("fuzz.toml", text);
    }
});
