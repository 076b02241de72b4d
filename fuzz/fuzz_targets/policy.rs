#![no_main]
//! The policy parser and validator: any text, an error or a policy, never a panic.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = secgate::policy::Policy::from_toml("fuzz.toml", text);
    }
});
