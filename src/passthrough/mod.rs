//! The plain IM pass-through flows, one file per flow, each holding both edges' halves.

pub mod oid;
pub mod receive;
pub mod send;
pub mod status;
