//! The binary's own modules: argument types, one module per subcommand
//! flow, and the one place that prints. Only the binary uses `anyhow`.

pub mod args;
pub mod check;
pub mod db;
pub mod hook;
pub mod init;
pub mod output;
pub mod policy;

use anyhow::{Context, Result};

/// One thread drives the async work (downloads, progress); scanners run
/// in parallel on the blocking pool, so worker threads would sit idle.
pub fn new_runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .enable_io()
        .build()
        .context("cannot start the async runtime")
}
