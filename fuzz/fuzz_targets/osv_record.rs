#![no_main]
//! OSV JSON records (untrusted: the archive is downloaded) and the range
//! evaluation: parsed, turned into advisories, every version the record
//! names and a few others evaluated, aliases merged. Any bytes: a result,
//! never a panic, and no fix that is itself affected.
use libfuzzer_sys::fuzz_target;
use secgate::advisory::osv::parse_and_evaluate;
use secgate::inventory::Ecosystem;

const VERSIONS: [&str; 8] = ["0", "1.0", "1.0.0", "2.0rc1", "1!1.0", "1.0+local", "1.0.post1.dev2", "junk"];

fuzz_target!(|data: &[u8]| {
    for ecosystem in [Ecosystem::PyPi, Ecosystem::CratesIo] {
        let _ = parse_and_evaluate(data, ecosystem, &VERSIONS);
    }
});
