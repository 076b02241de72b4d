#![no_main]
//! The Python lock readers on any text: requirement files, poetry.lock,
//! uv.lock, Pipfile.lock, pdm.lock, and the pyproject.toml beside a poetry
//! or pdm lock. The first byte picks the format (and, with its high bit,
//! that the text after the first NUL is the pyproject.toml). A result,
//! never a panic; an inventory whose indexes hold; an error on one line.
use libfuzzer_sys::fuzz_target;
use secgate::inventory::python::{parse, LockFormat};
use std::path::Path;

const FORMATS: [(LockFormat, &str); 5] = [
    (LockFormat::Requirements, "requirements.txt"),
    (LockFormat::Poetry, "poetry.lock"),
    (LockFormat::Uv, "uv.lock"),
    (LockFormat::Pipfile, "Pipfile.lock"),
    (LockFormat::Pdm, "pdm.lock"),
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let (format, name) = FORMATS[usize::from(selector & 0x7f) % FORMATS.len()];
    let (lock, pyproject) = match text.split_once('\0') {
        Some((lock, pyproject)) if selector & 0x80 != 0 => (lock, Some(pyproject)),
        _ => (text, None),
    };
    let manifest = pyproject.map(|t| (Path::new("pyproject.toml"), t));
    match parse(format, Path::new(name), lock, manifest) {
        Ok(read) => {
            let inventory = &read.inventory;
            let count = inventory.packages.len();
            assert_eq!(read.listed_in.len(), count);
            assert_eq!(inventory.depends_on.len(), count);
            assert!(inventory.depends_on.iter().flatten().all(|e| e.to < count));
            assert!(inventory.workspace_members.iter().all(|&m| m < count));
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
