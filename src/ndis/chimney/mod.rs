//! TCP chimney offload ABI (ndischimney.h): offload handle, offload block lists, the four
//! characteristics structures, the NDIS upcall table, every chimney handler typedef, enums,
//! revisions and the chimney imports (x64 layouts, docs/chimney-contract.md §3–§4).
//!
//! The chimney status codes live in [`super::status`] (docs/chimney-contract.md §4.6); the chimney
//! `NetBufferListInfo` slot indices live in [`super::nbl::info`] (§4.5).
//!
//! # Which handle goes where (docs/chimney-contract.md §3.4, §5)
//!
//! | Direction | Call | Handle to pass |
//! |---|---|---|
//! | down, I/O | `NdisOffloadTcp{Send,Receive,Disconnect,Forward}` | the IM's own `&entry.offload_handle` ([`NdisOffloadHandle`], zero-filled before the first initiate) |
//! | down, state | `Ndis{Initiate,Terminate,Update,Invalidate}Offload`, `NdisQueryOffloadState` | the IM's lower **binding** handle |
//! | down, receive return | `NdisOffloadTcpReceiveReturn` | the IM's lower **binding** handle (not an offload handle) |
//! | up, completion | `NdisM*OffloadComplete`, `NdisMQueryOffloadStateComplete`, `NdisTcpOffload*Complete` (table) | the IM's per-adapter `NdisMiniportHandle` (NDIS actually routes by SourceHandle) |
//! | up, indication | `NdisTcpOffloadEventHandler`, `NdisTcpOffloadReceiveHandler` (table) | the host's `PNDIS_OFFLOAD_HANDLE` saved at initiate time |
//! | up, generic event | `NdisMOffloadEventIndicate` | the IM's per-adapter `NdisMiniportHandle` |
//!
//! The `MiniportOffloadContext` parameter of the provider I/O handlers is the IM's entry pointer
//! itself (§5.2). NDIS overwrites `NET_BUFFER_LIST.SourceHandle` on every NBL passed down and
//! routes completions only by it: save it per NBL and restore it before completing up (§5.4).
//!
//! # IRQL (docs/chimney-contract.md §2.2)
//!
//! | IRQL | Items |
//! |---|---|
//! | any level | all provider handlers (`Miniport*Offload`, `MiniportTcpOffload*`); `NdisTcpOffload{Send,Receive,Forward}Complete`; all `NdisM*OffloadComplete`, `NdisMQueryOffloadStateComplete` |
//! | DISPATCH_LEVEL | `NdisTcpOffloadEventHandler`, `NdisTcpOffloadReceiveHandler`, `NdisMOffloadEventIndicate` |
//! | not stated | the protocol-side calls (`Ndis*Offload`, `NdisQueryOffloadState`, `NdisOffloadTcp*`), every `Protocol*` chimney handler, `NdisTcpOffloadDisconnectComplete`, `NdisMGetOffloadHandlers` |
//!
//! **Working rule (Inferred):** every chimney entry point and call may run at any IRQL
//! <= DISPATCH_LEVEL, often at DISPATCH_LEVEL. All chimney code and data must be non-paged, nothing
//! may wait or block (spin locks or lock-free structures only), and no lock may be held while
//! calling NDIS: receive posts re-enter from inside `NdisTcpOffloadReceiveComplete`, and
//! `ProtocolInitiateOffloadComplete` can run inside `NdisInitiateOffload` (§5.8).
//!
//! # Imports
//!
//! The chimney exports are declared in this module's own `extern "system"` block (same
//! `raw-dylib` `ndis.sys` link attribute as [`super::imports`]) and referenced by `src/chimney/`.
//! The PE test compares the `.sys` import table with the declared set, so every declaration here
//! must be referenced by the driver (an unused one would not appear in the image). The upward
//! completions and indications (`NdisTcpOffload*Complete`, `NdisTcpOffloadEventHandler`,
//! `NdisTcpOffloadReceiveHandler`) are **not** exports: they are pointers in the table returned
//! by [`NdisMGetOffloadHandlers`] ([`NdisTcpOffloadEventHandlers`]).
//!
//! All types are those of ndischimney.h (the WDK header; docs/chimney-contract.md §10); the
//! published syntax blocks agree. Calling convention: `extern "system"` everywhere (§2.1).

mod blocks;
mod characteristics;
mod constants;
mod handlers;
mod imports;
mod layout;

pub use blocks::*;
pub use characteristics::*;
pub use constants::*;
pub use handlers::*;
pub use imports::*;
