//! Shared state: driver globals, bindings, virtual adapters and their in-flight accounting.
//!
//! Every in-flight count in the driver, what it counts, and who waits for it. Counts are taken
//! and given back through [`Forward`] (one token per forwarded operation, released entry ->
//! adapter -> binding), except the lifecycle ones in the last three rows.
//!
//! | Counter | Counts | Open from | Closed and waited for by |
//! |---|---|---|---|
//! | `Adapter::nbls_in_flight` | receive indications up that the host holds (until MiniportReturnNetBufferLists) | MiniportRestart | MiniportPause (the release that drains it does that part of the pause); MiniportHaltEx |
//! | `Adapter::handle_users` | uses of the miniport handle outside the data path: forwarded OIDs, state calls, status indications, generic offload events | MiniportInitializeEx | MiniportHaltEx, last |
//! | `Binding::nbls_below` | NBLs forwarded down and not yet completed up: host sends, chimney posts, initiate send data | when both its gates are open: NetEventRestart (lower binding) and MiniportRestart (virtual miniport) | each of MiniportPause (a part of the pause, like the row above), MiniportHaltEx, NetEventPause and ProtocolUnbindAdapterEx closes its own gate and waits (`kernel::gated_rundown`, `state::pause`) |
//! | `Binding::handle_users` | uses of the binding handle outside the data path: forwarded OIDs, state calls, chimney receive indications the host keeps, send/OID cancels, re-enable lookups | bind (after the open) | ProtocolUnbindAdapterEx (and a failed bind), before NdisCloseAdapterEx |
//! | `AdapterChimney::live_entries` | allocated offload entries (each also keeps its binding) | MiniportInitializeEx | MiniportHaltEx |
//! | `OffloadEntry::refs` | one per I/O NBL on the entry, one per state call naming it, one for the offload itself | entry creation | the terminate closes it; the last release frees the entry and tells the terminate |
//! | `CallRecord::pending` | a terminate's entries not yet drained, plus one for its completion walk | ProtocolTerminateOffloadComplete | its last release completes the terminate upward |
//! | `Adapter::running_handlers` | MiniportInitializeEx / MiniportHaltEx running | bind | ProtocolUnbindAdapterEx, before freeing the binding |
//!
//! Which of the first four a [`Forward`] holds depends on its [`Path`]: `Nbls` (binding
//! `nbls_below`), `Indications` (adapter `nbls_in_flight`), `Requests` (both `handle_users`),
//! `BindingOnly` (binding `handle_users`): one count per forwarded chain on the data paths. The
//! three written per NBL (`Adapter::nbls_in_flight`, `Binding::nbls_below`,
//! `Binding::handle_users`) are per processor (`kernel::percpu_rundown`): one slot each per
//! processor, written only on the processor the forward or the completion runs on;
//! `Adapter::handle_users` (requests) is one shared word.
//! (The chimney offload entries, which only the chimney flows use, are in `crate::chimney::entry`.)

/// Writes `$value` into field `$field` of the block `$this` (a raw pointer) points to, without
/// dropping the old bytes: building large state in place in pool memory. Only for a `$this`
/// the caller's contract makes aligned and valid for writes of the whole struct.
macro_rules! write_field {
    ($this:ident . $field:ident = $value:expr) => {{
        let value = $value;
        // SAFETY: `$this` is aligned and valid for writes of the whole struct (the enclosing
        // function's contract), so the field's place is in bounds; nothing is read.
        let place = unsafe { &raw mut (*$this).$field };
        // SAFETY: as above; the old bytes are not a value anyone owns (a fresh block).
        unsafe { place.write(value) };
    }};
}

pub mod adapter;
pub mod binding;
pub mod forward;
pub mod globals;
pub mod pause;

pub use adapter::{Adapter, AdapterState};
pub use binding::{Binding, BindingCounts, LowerParams};
pub use forward::{Forward, Path};
pub use globals::GLOBALS;
