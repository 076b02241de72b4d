#![no_main]
//! The OSV package index file, read from secgate's cache (which anything
//! with write access to the cache can change): any bytes parse to an error
//! or to an index that writes back to text parsing to the same index.
use libfuzzer_sys::fuzz_target;
use secgate::advisory::osv::Index;

fuzz_target!(|data: &[u8]| {
    if let Ok(index) = Index::parse(data) {
        let again = Index::parse(index.to_text().as_bytes()).expect("a written index parses");
        assert_eq!(again, index);
    }
});
