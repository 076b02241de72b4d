#![no_main]
//! OSV archives (all.zip, downloaded): arbitrary bytes read as a zip, every
//! record entry unpacked (capped) and outlined as the index builder does.
//! A result, never a panic or an unbounded allocation.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = secgate::advisory::osv::read_all_from_bytes(data);
});
