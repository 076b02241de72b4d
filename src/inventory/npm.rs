//! The npm readers of the package inventory: `package-lock.json` and
//! `npm-shrinkwrap.json` (lockfileVersion 1, 2, 3), `yarn.lock` (classic v1
//! and Berry v2+), `pnpm-lock.yaml` (lockfileVersion 5.x, 6, 9) and bun's
//! text `bun.lock`, each into a [`LockContents`] of npm packages.
//!
//! What every reader promises (the advisory check and the SBOM rely on it):
//! - one [`Package`](crate::inventory::Package) per distinct (name,
//!   version, source) the lock installs; `name` exact, scope included
//!   (`@types/node`); an alias (`"lodash-old": "npm:lodash@4.17.4"`) is the
//!   real package (`lodash`);
//! - registry packages have `PackageSource::Registry` (`url`: the tarball's
//!   registry origin, `https://registry.npmjs.org` when the lock gives
//!   none) and are matched against advisories whatever the registry (a
//!   company mirror serves the same packages);
//! - git, tarball-URL, `file:` and `link:` dependencies are packages with a
//!   `Git` / `Other` / `Path` source, and each is also an
//!   [`UncheckedRequirement`](crate::inventory::lock::UncheckedRequirement)
//!   (reason `Url` or `LocalPath`) on its lock line: never matched, never
//!   silently dropped;
//! - the project's own packages (the root and workspace members) are
//!   `is_member`, source `Path { relative }`, never unchecked;
//! - `lines`: the lock lines of the package's entry;
//! - `kind`: from the lock's own flags (`dev`, `devOptional`, pnpm's
//!   `dev`) where it has them, else from the graph below the members'
//!   `devDependencies` (yarn: the workspace manifests); optional and peer
//!   edges are `EdgeKind::Optional` / `EdgeKind::Peer`;
//! - `hashes`: the entry's `integrity` ([`ContentHash::from_integrity`](crate::inventory::ContentHash::from_integrity));
//! - edges from the lock's graph, so dependency paths can be shown.
//!
//! A malformed lock is a `ScanError::BadInput` naming the file and, where
//! the parser knows it, the line.

mod bun;
mod manifest;
mod package_lock;
mod pnpm;
mod yarn;

pub use manifest::{FileManifests, Manifests, NoManifests};

use crate::error::ScanError;
use crate::inventory::lock::LockContents;
use std::path::Path;

/// An npm lock format, known by file name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NpmLockFormat {
    /// `package-lock.json` or `npm-shrinkwrap.json`.
    PackageLock,
    Yarn,
    Pnpm,
    /// bun's text lock, `bun.lock`.
    Bun,
}

impl NpmLockFormat {
    /// The format a file name denotes, if secgate reads it (`bun.lockb`,
    /// binary, is not read: see [`BINARY_BUN_LOCK`]).
    pub fn of(path: &Path) -> Option<NpmLockFormat> {
        match path.file_name()?.to_str()? {
            "package-lock.json" | "npm-shrinkwrap.json" => Some(NpmLockFormat::PackageLock),
            "yarn.lock" => Some(NpmLockFormat::Yarn),
            "pnpm-lock.yaml" => Some(NpmLockFormat::Pnpm),
            "bun.lock" => Some(NpmLockFormat::Bun),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            NpmLockFormat::PackageLock => "package-lock.json",
            NpmLockFormat::Yarn => "yarn.lock",
            NpmLockFormat::Pnpm => "pnpm-lock.yaml",
            NpmLockFormat::Bun => "bun.lock",
        }
    }
}

/// Why a binary `bun.lockb` is not checked, and what to do about it.
pub const BINARY_BUN_LOCK: &str = "bun's binary lock cannot be read: run `bun install --save-text-lockfile` (bun 1.1.39 and later; bun 1.2 writes bun.lock by default) and commit bun.lock";

/// A file these readers handle.
pub fn is_npm_lock(path: &Path) -> bool {
    NpmLockFormat::of(path).is_some()
}

/// Reads the npm lock at `path`, chosen by its name; the `package.json`
/// files beside it (and its workspaces') are read where the lock alone
/// does not tell dev dependencies apart.
pub fn read(path: &Path, root: &Path) -> Result<LockContents, ScanError> {
    let format = NpmLockFormat::of(path).ok_or_else(|| ScanError::BadInput {
        path: path.to_path_buf(),
        message: "not an npm lock file secgate reads".to_string(),
    })?;
    let text = crate::inventory::lock::read_text(path)?;
    let manifests = FileManifests::new(crate::files::directory_of(path), root);
    parse(format, path, &text, &manifests)
}

/// `read` on text already read; `manifests` gives the `package.json`
/// files the reader asks for.
pub fn parse(
    format: NpmLockFormat,
    path: &Path,
    text: &str,
    manifests: &dyn Manifests,
) -> Result<LockContents, ScanError> {
    let (inventory, unchecked, manifests_read) = match format {
        NpmLockFormat::PackageLock => package_lock::read(path, text)?,
        NpmLockFormat::Yarn => yarn::read(path, text, manifests)?,
        NpmLockFormat::Pnpm => pnpm::read(path, text)?,
        NpmLockFormat::Bun => bun::read(path, text)?,
    };
    let mut files_read = vec![path.to_path_buf()];
    files_read.extend(manifests_read);
    Ok(LockContents {
        format: format.as_str(),
        listed_in: vec![path.to_path_buf(); inventory.packages.len()],
        inventory,
        unchecked,
        files_read,
    })
}
