//! `secgate init`: writes the commented default policy as secgate.toml.

use super::output;
use anyhow::{bail, Result};
use secgate::files::write_atomically;
use secgate::policy::DEFAULT_POLICY_TOML;
use std::path::Path;

pub fn init(directory: &Path, force: bool) -> Result<()> {
    if !directory.is_dir() {
        bail!("{}: not a directory", directory.display());
    }
    let target = directory.join("secgate.toml");
    if target.exists() && !force {
        bail!(
            "{} already exists (use --force to overwrite)",
            target.display()
        );
    }
    write_atomically(&target, DEFAULT_POLICY_TOML.as_bytes())?;
    output::say(format_args!("wrote {}", target.display()));
    Ok(())
}
