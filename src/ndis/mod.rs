//! The NDIS ABI layer: our own `#[repr(C)]` declarations of every NDIS and kernel type, constant
//! and import the driver uses, with compile-time x64 layout assertions next to each structure.
//!
//! Nothing above this module declares an `extern` function or a `#[repr(C)]` NDIS structure.

pub mod chimney;
pub mod imports;
pub mod miniport;
pub mod nbl;
pub mod oid;
pub mod protocol;
#[cfg(all(windows, no_wdk, not(windows_host)))]
pub mod runtime;
pub mod status;
pub mod types;

pub use chimney::*;
pub use miniport::*;
pub use nbl::*;
pub use oid::*;
pub use protocol::*;
pub use status::*;
pub use types::*;
