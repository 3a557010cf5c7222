//! chimney-im: an NDIS 6 intermediate driver that passes TCP chimney offload traffic between the
//! host TCP/IP stack and the offload target below it.
//!
//! Layers, bottom up:
//! - [`ndis`]: the NDIS ABI (types, constants, imports), nothing else.
//! - `kernel`: safe wrappers over the ABI (pool memory, events, spin locks, NBL chains, rundowns).
//! - `state`: the shared state (binding, virtual adapter, in-flight accounting).
//! - `edge`: the miniport edge and the protocol edge (the `extern "system"` handlers NDIS calls).
//! - `passthrough`: the plain IM flows (send, receive, OID, status), both edges' halves.
//! - `chimney`: TCP chimney propagation (state calls, I/O, indications), both edges' halves.
//! - [`driver`]: DriverEntry, registration and unload.
//! - `glue`: the Windows-only glue (panic handler, debug print, WDF driver object, the KMDF
//!   flavour's never-called allocator).
#![no_std]
#![cfg_attr(all(windows, not(test), not(windows_host)), no_main)]

// On the host (Linux, or a Windows target with `--cfg windows_host`: the Wine tier's build of the
// NDIS model) the cdylib and the tests need std's panic handler; the driver code itself only uses
// `core` paths.
#[cfg(any(not(windows), windows_host))]
extern crate std;

pub(crate) mod chimney;
pub mod driver;
pub(crate) mod edge;
pub(crate) mod glue;
pub(crate) mod kernel;
pub mod ndis;
pub(crate) mod passthrough;
pub(crate) mod state;

pub use driver::DriverEntry;

/// Host-only access to kernel-layer internals for the tests that exercise them directly
/// (`tests/host_percpu.rs`, `tests/host_gated_rundown.rs`, `tests/host_shared_writes.rs`) and the
/// accounting benchmark
/// (`examples/scaling.rs`). Not in the driver image, not in the Wine tier's build.
#[cfg(not(windows))]
#[doc(hidden)]
pub mod host_probe {
    pub use crate::kernel::memory::PoolArray;
    pub use crate::kernel::percpu_rundown::{PerCpuCounts, Slot};
    #[cfg(not(chimney_uninstrumented))]
    pub use crate::kernel::rundown::shared_writes;
    pub use crate::kernel::{Drain, GatedRundown, PerCpuDrainable, PerCpuRundown, Rundown};
    pub use crate::state::globals::GLOBALS;
}
