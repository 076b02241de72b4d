//! The binary's own modules: argument types, one module per subcommand
//! flow, and the one place that prints. Only the binary uses `anyhow`.

pub mod args;
pub mod output;
pub mod policy;
