//! OSV advisory data: records as the OSV schema writes them, and which
//! versions they affect, in the ecosystem's own order.

mod ranges;
pub mod record;

pub use ranges::{EventKind, OsvRanges, VersionOrder, WrittenEntry, WrittenRange};
