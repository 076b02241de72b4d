//! secgate: a security gate for CI. The policy is validated into scanner
//! settings and gate rules; scanners produce findings from their settings
//! alone; the gate turns findings into a verdict; writers render it; only
//! the binary prints and exits. `tests/layers.rs` keeps that one-way.

pub mod advisory;
pub mod baseline;
pub mod config;
pub mod db;
pub mod duration;
pub mod error;
pub mod files;
pub mod finding;
pub mod gate;
pub mod git;
pub mod hook;
pub mod inventory;
pub mod parallel;
pub mod policy;
pub mod policy_diff;
pub mod process;
pub mod report;
pub mod scan;
pub mod text;
