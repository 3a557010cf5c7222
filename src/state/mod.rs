//! Shared state: driver globals, bindings, virtual adapters and their in-flight accounting.

pub mod adapter;
pub mod binding;
pub mod forward;
pub mod globals;
pub mod offload;

pub use adapter::{Adapter, AdapterState};
pub use binding::{Binding, LowerParams};
pub use forward::{Forward, Path};
pub use globals::GLOBALS;
pub use offload::{CallRecord, OffloadEntry};
