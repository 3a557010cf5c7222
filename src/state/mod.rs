//! Shared state: driver globals, bindings, virtual adapters and their in-flight accounting.
//! (The chimney offload entries, which only the chimney flows use, are in `crate::chimney::entry`.)

pub mod adapter;
pub mod binding;
pub mod forward;
pub mod globals;

pub use adapter::{Adapter, AdapterState};
pub use binding::{Binding, LowerParams};
pub use forward::{Forward, Path};
pub use globals::GLOBALS;
