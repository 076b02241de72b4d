#![no_main]
//! The npm lock readers on any text: package-lock.json (and
//! npm-shrinkwrap.json), yarn.lock (classic and Berry), pnpm-lock.yaml and
//! bun.lock. The first byte picks the format. A result, never a panic; an
//! inventory whose indexes hold; unchecked entries on one line each; an
//! error on one line.
use libfuzzer_sys::fuzz_target;
use secgate::inventory::npm::{parse, NoManifests, NpmLockFormat};
use std::path::Path;

const FORMATS: [(NpmLockFormat, &str); 4] = [
    (NpmLockFormat::PackageLock, "package-lock.json"),
    (NpmLockFormat::Yarn, "yarn.lock"),
    (NpmLockFormat::Pnpm, "pnpm-lock.yaml"),
    (NpmLockFormat::Bun, "bun.lock"),
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let (format, name) = FORMATS[usize::from(selector) % FORMATS.len()];
    match parse(format, Path::new(name), text, &NoManifests) {
        Ok(read) => {
            let inventory = &read.inventory;
            let count = inventory.packages.len();
            let lines = text.lines().count().max(1) as u32;
            assert_eq!(read.listed_in.len(), count);
            assert_eq!(inventory.depends_on.len(), count);
            assert!(inventory.depends_on.iter().flatten().all(|e| e.to < count));
            assert!(inventory.workspace_members.iter().all(|&m| m < count));
            for package in &inventory.packages {
                if let Some(at) = package.lines {
                    assert!(1 <= at.start && at.start <= at.end && at.end <= lines, "{at:?}");
                }
            }
            for unchecked in &read.unchecked {
                assert!(unchecked.line >= 1);
                assert!(!unchecked.requirement.contains('\n'), "{unchecked:?}");
            }
        }
        Err(error) => {
            let message = error.to_string();
            assert!(!message.contains('\n'), "one line: {message:?}");
        }
    }
});
