//! Writers: they render a verdict, they never decide it.

pub mod baseline;
pub mod gate;
pub mod github;
pub mod sarif;
pub mod summary;
