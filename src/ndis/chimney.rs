//! TCP chimney offload ABI (ndischimney.h): offload handle, offload block lists, the four
//! characteristics structures, the NDIS upcall table, every chimney handler typedef, enums,
//! revisions and the chimney imports (x64 layouts, ndis-chimney.md §3–§4).
//!
//! The chimney status codes live in [`super::status`] (ndis-chimney.md §4.6); the chimney
//! `NetBufferListInfo` slot indices live in [`super::nbl::info`] (§4.5).
//!
//! # Which handle goes where (ndis-chimney.md pitfall 4, §3.3, §5)
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
//! itself (pitfall 3). NDIS overwrites `NET_BUFFER_LIST.SourceHandle` on every NBL passed down and
//! routes completions only by it: save it per NBL and restore it before completing up (pitfall 1).
//!
//! # IRQL (ndis-chimney.md §2.2)
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
//! `ProtocolInitiateOffloadComplete` can run inside `NdisInitiateOffload` (pitfall 6).
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
//! All types are those of ndischimney.h (\[HDR\] in ndis-chimney.md §9); the published syntax
//! blocks agree. Calling convention: `extern "system"` everywhere (§2.1).

use core::ffi::c_void;
use core::mem::size_of;

use super::nbl::NetBufferList;
use super::types::{NdisHandle, NdisObjectHeader, NdisPortNumber, NdisStatus, object_type};

// ---------------------------------------------------------------------------------------------
// Enums and flags (ndis-chimney.md §4.4). C enums are 4 bytes.
// ---------------------------------------------------------------------------------------------

/// `NDIS_CHIMNEY_OFFLOAD_TYPE` (4-byte C enum); values in [`chimney_offload_type`].
pub type NdisChimneyOffloadType = u32;

/// `NDIS_CHIMNEY_OFFLOAD_TYPE` values (`Ndis*ChimneyOffload`).
pub mod chimney_offload_type {
    /// `NdisTcpChimneyOffload`: the only type NdisMGetOffloadHandlers supports (others return
    /// NDIS_STATUS_NOT_SUPPORTED, Observed) and the required `OffloadType` of both TCP
    /// characteristics structures.
    pub const TCP: u32 = 1;
    /// `NdisIpsecChimneyOffload`.
    pub const IPSEC: u32 = 2;
    /// `NdisRdmaChimneyOffload`.
    pub const RDMA: u32 = 3;
    /// `NdisMaxChimneyOffload`.
    pub const MAX: u32 = 4;
}

/// `TCP_OFFLOAD_EVENT_TYPE` (`EventType` of NdisTcpOffloadEventHandler / ProtocolTcpOffloadEvent,
/// §6.5). Passed through unchanged by the IM.
pub mod tcp_offload_event {
    /// `TcpIndicateSendBacklogChange`.
    pub const SEND_BACKLOG_CHANGE: u32 = 1;
    /// `TcpIndicateDisconnect`: FIN received (after all earlier data was consumed).
    pub const DISCONNECT: u32 = 2;
    /// `TcpIndicateRetrieve`: upload request; `EventSpecificInformation` is a
    /// [`super::tcp_upload_reason`].
    pub const RETRIEVE: u32 = 3;
    /// `TcpIndicateAbort`: RST received.
    pub const ABORT: u32 = 4;
}

/// `INDICATE_OFFLOAD_EVENT` (`IndicationCode` of NdisMOffloadEventIndicate /
/// ProtocolIndicateOffloadEvent, §6.6).
pub mod indicate_offload_event {
    /// `NeighborReachabilityInDoubt`.
    pub const NEIGHBOR_REACHABILITY_IN_DOUBT: u32 = 1;
    /// `NeighborReachabilityQuery`: the only meaningful code.
    pub const NEIGHBOR_REACHABILITY_QUERY: u32 = 2;
    /// `MaxOffloadEvent`.
    pub const MAX_OFFLOAD_EVENT: u32 = 3;
}

/// `TCP_UPLOAD_REASON` (`EventSpecificInformation` of a `TcpIndicateRetrieve` event).
pub mod tcp_upload_reason {
    /// `LowActivity`.
    pub const LOW_ACTIVITY: u32 = 1;
    /// `HighDropRate`.
    pub const HIGH_DROP_RATE: u32 = 2;
    /// `SmallIO`.
    pub const SMALL_IO: u32 = 3;
    /// `NoBufferPreposting`.
    pub const NO_BUFFER_PREPOSTING: u32 = 4;
    /// `NoBufferProposting`: the header's legacy misspelling, same value.
    pub const NO_BUFFER_PROPOSTING: u32 = NO_BUFFER_PREPOSTING;
    /// `ReceivedUrgentData`.
    pub const RECEIVED_URGENT_DATA: u32 = 5;
    /// `HighFragmentation`.
    pub const HIGH_FRAGMENTATION: u32 = 6;
    /// `HighOutOfOrderPackets`.
    pub const HIGH_OUT_OF_ORDER_PACKETS: u32 = 7;
    /// `TimeoutExpiration`.
    pub const TIMEOUT_EXPIRATION: u32 = 8;
    /// `InvalidState`.
    pub const INVALID_STATE: u32 = 9;
    /// `UploadRequested`.
    pub const UPLOAD_REQUESTED: u32 = 10;
    /// `HardwareFailure`.
    pub const HARDWARE_FAILURE: u32 = 11;
    /// `MaxUploadReason`.
    pub const MAX_UPLOAD_REASON: u32 = 12;
}

/// `TCP_DISCONNECT_GRACEFUL_CLOSE`: `Flags` of NdisOffloadTcpDisconnect and
/// MiniportTcpOffloadDisconnect (the IM passes the same Flags down, §6.2).
pub const TCP_DISCONNECT_GRACEFUL_CLOSE: u32 = 0x01;
/// `TCP_DISCONNECT_ABORTIVE_CLOSE`.
pub const TCP_DISCONNECT_ABORTIVE_CLOSE: u32 = 0x02;

/// `OFFLOAD_STATE_TYPE`: the `Header.Type` of an offload block list (§4.2, §4.4), **not** an
/// `NDIS_OBJECT_TYPE_*`. The C enum is 4 bytes, but it is only ever stored in the 1-byte
/// `NDIS_OBJECT_HEADER.Type`, so the values are typed `u8` here to compare with `header.kind`.
pub mod offload_state_type {
    /// `NeighborOffloadConstState`.
    pub const NEIGHBOR_CONST: u8 = 1;
    /// `NeighborOffloadCachedState`.
    pub const NEIGHBOR_CACHED: u8 = 2;
    /// `NeighborOffloadDelegatedState`.
    pub const NEIGHBOR_DELEGATED: u8 = 3;
    /// `NeighborOffloadState` (const + cached + delegated).
    pub const NEIGHBOR: u8 = 4;
    /// `Ip4OffloadConstState`.
    pub const IP4_CONST: u8 = 5;
    /// `Ip4OffloadCachedState`.
    pub const IP4_CACHED: u8 = 6;
    /// `Ip4OffloadDelegatedState`.
    pub const IP4_DELEGATED: u8 = 7;
    /// `Ip4OffloadState` (IPv4 path).
    pub const IP4: u8 = 8;
    /// `Ip6OffloadConstState`.
    pub const IP6_CONST: u8 = 9;
    /// `Ip6OffloadCachedState`.
    pub const IP6_CACHED: u8 = 10;
    /// `Ip6OffloadDelegatedState`.
    pub const IP6_DELEGATED: u8 = 11;
    /// `Ip6OffloadState` (IPv6 path).
    pub const IP6: u8 = 12;
    /// `TcpOffloadConstState`.
    pub const TCP_CONST: u8 = 13;
    /// `TcpOffloadCachedState`.
    pub const TCP_CACHED: u8 = 14;
    /// `TcpOffloadDelegatedState`.
    pub const TCP_DELEGATED: u8 = 15;
    /// `TcpOffloadResourceState`.
    pub const TCP_RESOURCE: u8 = 16;
    /// `TcpOffloadState` (note: 17, not 16).
    pub const TCP: u8 = 17;
    /// `FilterReservedOffloadState`.
    pub const FILTER_RESERVED: u8 = 0xFE;
    /// `MaximumOffloadState`.
    pub const MAXIMUM: u8 = 0xFF;
}

// ---------------------------------------------------------------------------------------------
// Revisions (ndis-chimney.md §4.3). Header.Type values are in `types::object_type`
// (CLIENT_CHIMNEY_OFFLOAD_GENERIC_CHARACTERISTICS 0x8E, PROVIDER_..._GENERIC 0x8F,
// CLIENT_CHIMNEY_OFFLOAD_CHARACTERISTICS 0x93, PROVIDER_CHIMNEY_OFFLOAD_CHARACTERISTICS 0x94).
// ---------------------------------------------------------------------------------------------

/// `NDIS_OBJECT_TCP_OFFLOAD_REVISION_1` ([`NdisTcpOffloadEventHandlers`]).
pub const NDIS_OBJECT_TCP_OFFLOAD_REVISION_1: u8 = 1;
/// `NDIS_CLIENT_CHIMNEY_OFFLOAD_GENERIC_CHARACTERISTICS_REVISION_1`.
pub const NDIS_CLIENT_CHIMNEY_OFFLOAD_GENERIC_CHARACTERISTICS_REVISION_1: u8 = 1;
/// `NDIS_CLIENT_CHIMNEY_OFFLOAD_TCP_CHARACTERISTICS_REVISION_1`.
pub const NDIS_CLIENT_CHIMNEY_OFFLOAD_TCP_CHARACTERISTICS_REVISION_1: u8 = 1;
/// **Not a header constant.** ndischimney.h defines no revision for the two provider
/// characteristics structures (the 2003 MUX sample leaves 0; decompiled NdisSetOptionalHandlers
/// checks neither Revision nor Size). We use 1 for both, as recommended (Inferred, §4.3).
pub const PROVIDER_CHIMNEY_OFFLOAD_CHARACTERISTICS_REVISION: u8 = 1;

/// `NDIS_SIZEOF_CLIENT_CHIMNEY_OFFLOAD_GENERIC_CHARACTERISTICS_REVISION_1` (through
/// IndicateOffloadEventHandler = `sizeof`).
pub const NDIS_SIZEOF_CLIENT_CHIMNEY_OFFLOAD_GENERIC_CHARACTERISTICS_REVISION_1: usize =
    size_of::<NdisClientChimneyOffloadGenericCharacteristics>();
/// `NDIS_SIZEOF_CLIENT_CHIMNEY_OFFLOAD_TCP_CHARACTERISTICS_REVISION_1` (through
/// TcpOffloadReceiveIndicateHandler = `sizeof`).
pub const NDIS_SIZEOF_CLIENT_CHIMNEY_OFFLOAD_TCP_CHARACTERISTICS_REVISION_1: usize =
    size_of::<NdisClientChimneyOffloadTcpCharacteristics>();
/// `NDIS_SIZEOF_TCP_OFFLOAD_EVENT_HANDLERS_REVISION_1` (through NdisTcpOffloadForwardComplete =
/// `sizeof`).
pub const NDIS_SIZEOF_TCP_OFFLOAD_EVENT_HANDLERS_REVISION_1: usize =
    size_of::<NdisTcpOffloadEventHandlers>();

// ---------------------------------------------------------------------------------------------
// NDIS_OFFLOAD_HANDLE and the offload block lists (ndis-chimney.md §4.1, §4.2).
// ---------------------------------------------------------------------------------------------

/// `NDIS_OFFLOAD_HANDLE` (x64 16 bytes, ndis-chimney.md §4.1). Owned by the driver that calls
/// down; for the IM it is embedded in its per-state-object offload entry, and
/// `&entry.offload_handle` is what the IM passes to `NdisOffloadTcp*` and writes into a block's
/// `OffloadHandle`.
///
/// **Must be zero-filled before NDIS first sees it** (pitfall 2): during
/// Ndis{Initiate,Terminate,Update,Invalidate}Offload and NdisQueryOffloadState NDIS stores the
/// caller's lower open block in `ndis_reserved[0]` **only if that slot is NULL**, and routes every
/// later `NdisOffloadTcp*` call and every indication by it (Observed). Stale non-NULL garbage
/// there misroutes everything. Use [`NdisOffloadHandle::zeroed`]. Not `Clone`/`Copy`: NDIS and
/// the lower driver keep its address.
///
/// (The header's `NDIS_OFFLOAD_HANDLE_PRIVATE` is NDIS-internal and deliberately not declared.)
#[repr(C)]
#[derive(Debug)]
pub struct NdisOffloadHandle {
    /// `NdisReserved[1]`: NDIS-owned; never write it after zero-filling.
    pub ndis_reserved: [*mut c_void; 1],
    /// Written by the **lower** driver at initiate time (its context for this state object).
    pub miniport_offload_context: *mut c_void,
}

impl NdisOffloadHandle {
    /// The all-NULL handle NDIS requires (pitfall 2).
    pub const fn zeroed() -> Self {
        Self {
            ndis_reserved: [core::ptr::null_mut(); 1],
            miniport_offload_context: core::ptr::null_mut(),
        }
    }
}

/// `NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST` (POBL, x64 152 bytes, ndis-chimney.md §4.2): the caller's
/// (protocol-side) view of a block in an offload state tree. Offload state structures follow
/// each block in memory.
///
/// **Two views of one memory.** A POBL and an [`NdisMiniportOffloadBlockList`] (MOBL) are the same
/// bytes: NDIS converts in place and the IM converts back by casting. They differ only at 32..64:
/// POBL has `NdisReserved[3]` then `OffloadHandle`; MOBL has `NdisReserved[2]`, then
/// `MiniportOffloadContext` (= POBL `NdisReserved[2]`, written by NDIS as
/// `&OffloadHandle->MiniportOffloadContext`, or NULL for a placeholder) and `NdisOffloadHandle`
/// (= POBL `OffloadHandle`, left as it is). Every other field is at the same offset.
///
/// Ownership: `im_reserved` is the IM's; `protocol_reserved` the protocol's; `miniport_reserved`
/// the target's (or the IM's miniport half); `scratch` only while you own the block;
/// `source_handle` must not be modified, except that the IM restores its saved copy before
/// completing up (NDIS routes the completion by the root block's SourceHandle).
#[repr(C)]
pub struct NdisProtocolOffloadBlockList {
    /// `Header.Type` is an [`offload_state_type`] value.
    pub header: NdisObjectHeader,
    /// Next block in the same layer.
    pub next_block: *mut NdisProtocolOffloadBlockList,
    /// First block of the next layer (neighbor -> path -> TCP).
    pub dependent_block_list: *mut NdisProtocolOffloadBlockList,
    /// Out: the block's completion status.
    pub status: NdisStatus,
    /// `NdisReserved[3]`; slot 2 is MOBL `MiniportOffloadContext`.
    pub ndis_reserved: [*mut c_void; 3],
    /// In/out: the caller's offload handle for this state object (NULL for a placeholder).
    pub offload_handle: *mut NdisOffloadHandle,
    pub protocol_reserved: [*mut c_void; 2],
    pub miniport_reserved: [*mut c_void; 2],
    pub im_reserved: [*mut c_void; 2],
    pub scratch: [*mut c_void; 2],
    pub source_handle: *mut c_void,
    pub port_number: NdisPortNumber,
    /// In/out: send data handed over at initiate, or returned at terminate.
    pub net_buffer_list_chain: *mut NetBufferList,
}

/// `NDIS_MINIPORT_OFFLOAD_BLOCK_LIST` (MOBL, x64 152 bytes, ndis-chimney.md §4.2): the provider
/// (miniport-side) view of the same memory as [`NdisProtocolOffloadBlockList`]; see there.
///
/// Kinds of block: placeholder (`miniport_offload_context` NULL); linker
/// (`*miniport_offload_context` non-NULL: refers to state offloaded earlier, the value is the
/// context published then); new offload (`*miniport_offload_context` NULL, state follows).
#[repr(C)]
pub struct NdisMiniportOffloadBlockList {
    /// `Header.Type` is an [`offload_state_type`] value.
    pub header: NdisObjectHeader,
    pub next_block: *mut NdisMiniportOffloadBlockList,
    pub dependent_block_list: *mut NdisMiniportOffloadBlockList,
    pub status: NdisStatus,
    /// `NdisReserved[2]`.
    pub ndis_reserved: [*mut c_void; 2],
    /// In/out: pointer **to a PVOID slot** (the upper handle's `MiniportOffloadContext`), where
    /// the provider publishes its context. NULL for a placeholder.
    pub miniport_offload_context: *mut *mut c_void,
    /// The caller's `PNDIS_OFFLOAD_HANDLE` (same memory as POBL `OffloadHandle`); a provider keeps
    /// it for its later indications.
    pub ndis_offload_handle: NdisHandle,
    pub protocol_reserved: [*mut c_void; 2],
    pub miniport_reserved: [*mut c_void; 2],
    pub im_reserved: [*mut c_void; 2],
    pub scratch: [*mut c_void; 2],
    pub source_handle: *mut c_void,
    pub port_number: NdisPortNumber,
    pub net_buffer_list_chain: *mut NetBufferList,
}

// ---------------------------------------------------------------------------------------------
// Provider (miniport-edge) handlers: NDIS -> next lower driver (ndis-chimney.md §3.1, §3.2).
// ---------------------------------------------------------------------------------------------

/// `W_INITIATE_OFFLOAD_HANDLER` (MiniportInitiateOffload). Always completes asynchronously with
/// NdisMInitiateOffloadComplete. Any IRQL.
pub type MiniportInitiateOffloadHandler =
    unsafe extern "system" fn(NdisHandle, *mut NdisMiniportOffloadBlockList);
/// `W_TERMINATE_OFFLOAD_HANDLER` (MiniportTerminateOffload). Asynchronous.
pub type MiniportTerminateOffloadHandler =
    unsafe extern "system" fn(NdisHandle, *mut NdisMiniportOffloadBlockList);
/// `W_UPDATE_OFFLOAD_HANDLER` (MiniportUpdateOffload). Asynchronous.
pub type MiniportUpdateOffloadHandler =
    unsafe extern "system" fn(NdisHandle, *mut NdisMiniportOffloadBlockList);
/// `W_INVALIDATE_OFFLOAD_HANDLER` (MiniportInvalidateOffload). Asynchronous.
pub type MiniportInvalidateOffloadHandler =
    unsafe extern "system" fn(NdisHandle, *mut NdisMiniportOffloadBlockList);
/// `W_QUERY_OFFLOAD_HANDLER` (MiniportQueryOffload). Asynchronous, completed with
/// NdisMQueryOffloadStateComplete.
pub type MiniportQueryOffloadHandler =
    unsafe extern "system" fn(NdisHandle, *mut NdisMiniportOffloadBlockList);

/// `W_TCP_OFFLOAD_SEND_HANDLER` (MiniportTcpOffloadSend):
/// `(MiniportAdapterContext, PVOID MiniportOffloadContext, NetBufferList) -> NDIS_STATUS`.
/// `MiniportOffloadContext` is the entry pointer itself, not a pointer to a slot (pitfall 3).
/// Must return NDIS_STATUS_PENDING, the only allowed value, even when completing inline
/// (pitfall 5).
pub type MiniportTcpOffloadSendHandler =
    unsafe extern "system" fn(NdisHandle, *mut c_void, *mut NetBufferList) -> NdisStatus;
/// `W_TCP_OFFLOAD_RECEIVE_HANDLER` (MiniportTcpOffloadReceive): as send. Must return
/// NDIS_STATUS_PENDING.
pub type MiniportTcpOffloadReceiveHandler =
    unsafe extern "system" fn(NdisHandle, *mut c_void, *mut NetBufferList) -> NdisStatus;
/// `W_TCP_OFFLOAD_DISCONNECT_HANDLER` (MiniportTcpOffloadDisconnect): as send plus
/// `ULONG Flags` (`TCP_DISCONNECT_*`). Must return NDIS_STATUS_PENDING.
pub type MiniportTcpOffloadDisconnectHandler =
    unsafe extern "system" fn(NdisHandle, *mut c_void, *mut NetBufferList, u32) -> NdisStatus;
/// `W_TCP_OFFLOAD_FORWARD_HANDLER` (MiniportTcpOffloadForward): as send. Must return
/// NDIS_STATUS_PENDING.
pub type MiniportTcpOffloadForwardHandler =
    unsafe extern "system" fn(NdisHandle, *mut c_void, *mut NetBufferList) -> NdisStatus;
/// `W_TCP_OFFLOAD_RECEIVE_RETURN_HANDLER` (MiniportTcpOffloadReceiveReturn):
/// `(MiniportAdapterContext, NetBufferList) -> NDIS_STATUS`; synchronous, must return
/// NDIS_STATUS_SUCCESS.
pub type MiniportTcpOffloadReceiveReturnHandler =
    unsafe extern "system" fn(NdisHandle, *mut NetBufferList) -> NdisStatus;

// ---------------------------------------------------------------------------------------------
// Client (protocol-edge) handlers: NDIS -> caller (ndis-chimney.md §3.1, §3.2).
// ---------------------------------------------------------------------------------------------

/// `INITIATE_OFFLOAD_COMPLETE_HANDLER` (ProtocolInitiateOffloadComplete):
/// `(ProtocolBindingContext, POBL)`. May run synchronously inside NdisInitiateOffload (§5.1).
pub type ProtocolInitiateOffloadCompleteHandler =
    unsafe extern "system" fn(NdisHandle, *mut NdisProtocolOffloadBlockList);
/// `TERMINATE_OFFLOAD_COMPLETE_HANDLER` (ProtocolTerminateOffloadComplete).
pub type ProtocolTerminateOffloadCompleteHandler =
    unsafe extern "system" fn(NdisHandle, *mut NdisProtocolOffloadBlockList);
/// `UPDATE_OFFLOAD_COMPLETE_HANDLER` (ProtocolUpdateOffloadComplete).
pub type ProtocolUpdateOffloadCompleteHandler =
    unsafe extern "system" fn(NdisHandle, *mut NdisProtocolOffloadBlockList);
/// `INVALIDATE_OFFLOAD_COMPLETE_HANDLER` (ProtocolInvalidateOffloadComplete).
pub type ProtocolInvalidateOffloadCompleteHandler =
    unsafe extern "system" fn(NdisHandle, *mut NdisProtocolOffloadBlockList);
/// `QUERY_OFFLOAD_COMPLETE_HANDLER` (ProtocolQueryOffloadComplete).
pub type ProtocolQueryOffloadCompleteHandler =
    unsafe extern "system" fn(NdisHandle, *mut NdisProtocolOffloadBlockList);
/// `INDICATE_OFFLOAD_EVENT_HANDLER` (ProtocolIndicateOffloadEvent):
/// `(ProtocolBindingContext, POBL, ULONG IndicationCode)` ([`indicate_offload_event`]).
pub type ProtocolIndicateOffloadEventHandler =
    unsafe extern "system" fn(NdisHandle, *mut NdisProtocolOffloadBlockList, u32);

/// `TCP_OFFLOAD_SEND_COMPLETE_HANDLER` (ProtocolTcpOffloadSendComplete):
/// `(ProtocolBindingContext, NetBufferList)`.
pub type ProtocolTcpOffloadSendCompleteHandler =
    unsafe extern "system" fn(NdisHandle, *mut NetBufferList);
/// `TCP_OFFLOAD_RECV_COMPLETE_HANDLER` (ProtocolTcpOffloadReceiveComplete). Spelling trap: the
/// typedef says `RECV`, the structure field says `TcpOffloadReceiveCompleteHandler`.
pub type ProtocolTcpOffloadReceiveCompleteHandler =
    unsafe extern "system" fn(NdisHandle, *mut NetBufferList);
/// `TCP_OFFLOAD_DISCONNECT_COMPLETE_HANDLER` (ProtocolTcpOffloadDisconnectComplete).
pub type ProtocolTcpOffloadDisconnectCompleteHandler =
    unsafe extern "system" fn(NdisHandle, *mut NetBufferList);
/// `TCP_OFFLOAD_FORWARD_COMPLETE_HANDLER` (ProtocolTcpOffloadForwardComplete).
pub type ProtocolTcpOffloadForwardCompleteHandler =
    unsafe extern "system" fn(NdisHandle, *mut NetBufferList);
/// `TCP_OFFLOAD_EVENT_HANDLER` (ProtocolTcpOffloadEvent):
/// `(PVOID OffloadContext, ULONG EventType, ULONG EventSpecificInformation)`. `OffloadContext`
/// is the IM's own `PNDIS_OFFLOAD_HANDLE` (`&entry.offload_handle`), §6.5.
pub type ProtocolTcpOffloadEventHandler = unsafe extern "system" fn(*mut c_void, u32, u32);
/// `TCP_OFFLOAD_RECEIVE_INDICATE_HANDLER` (ProtocolTcpOffloadReceiveIndicate):
/// `(PVOID OffloadContext, NetBufferList, NDIS_STATUS Status, PULONG BytesConsumed)
/// -> NDIS_STATUS`.
/// `OffloadContext` is the IM's own `PNDIS_OFFLOAD_HANDLE`; `BytesConsumed` is an out pointer
/// passed up unchanged (§6.4).
pub type ProtocolTcpOffloadReceiveIndicateHandler =
    unsafe extern "system" fn(*mut c_void, *mut NetBufferList, NdisStatus, *mut u32) -> NdisStatus;

// ---------------------------------------------------------------------------------------------
// NDIS upcalls in the table returned by NdisMGetOffloadHandlers (not exports; §3.2, §3.4).
// ---------------------------------------------------------------------------------------------

/// `NDIS_TCP_OFFLOAD_SEND_COMPLETE` (NdisTcpOffloadSendComplete): `(NdisMiniportHandle, NBL)`.
pub type NdisTcpOffloadSendComplete = unsafe extern "system" fn(NdisHandle, *mut NetBufferList);
/// `NDIS_TCP_OFFLOAD_RECEIVE_COMPLETE` (NdisTcpOffloadReceiveComplete):
/// `(NdisMiniportHandle, NBL)`.
pub type NdisTcpOffloadReceiveComplete = unsafe extern "system" fn(NdisHandle, *mut NetBufferList);
/// `NDIS_TCP_OFFLOAD_DISCONNECT_COMPLETE` (NdisTcpOffloadDisconnectComplete).
pub type NdisTcpOffloadDisconnectComplete =
    unsafe extern "system" fn(NdisHandle, *mut NetBufferList);
/// `NDIS_TCP_OFFLOAD_FORWARD_COMPLETE` (NdisTcpOffloadForwardComplete).
pub type NdisTcpOffloadForwardComplete = unsafe extern "system" fn(NdisHandle, *mut NetBufferList);
/// `NDIS_TCP_OFFLOAD_EVENT_INDICATE` (table field NdisTcpOffloadEventHandler):
/// `(NDIS_HANDLE NdisOffloadHandle, ULONG EventType, ULONG EventSpecificInformation)`; the first
/// argument is the host's `PNDIS_OFFLOAD_HANDLE` saved at initiate. DISPATCH_LEVEL.
pub type NdisTcpOffloadEventIndicate = unsafe extern "system" fn(NdisHandle, u32, u32);
/// `NDIS_TCP_OFFLOAD_RECEIVE_INDICATE` (table field NdisTcpOffloadReceiveHandler):
/// `(NDIS_HANDLE NdisOffloadHandle, NBL, NDIS_STATUS Status, PULONG BytesConsumed) -> NDIS_STATUS`.
/// DISPATCH_LEVEL.
pub type NdisTcpOffloadReceiveIndicate =
    unsafe extern "system" fn(NdisHandle, *mut NetBufferList, NdisStatus, *mut u32) -> NdisStatus;

// ---------------------------------------------------------------------------------------------
// Characteristics (NdisSetOptionalHandlers) and handler tables (ndis-chimney.md §4.3).
// ---------------------------------------------------------------------------------------------

/// `NDIS_DRIVER_OPTIONAL_HANDLERS` is a union selected by `Header.Type`; every arm starts with the
/// header, so the driver passes a pointer to the arm it filled (one of the four chimney
/// characteristics structures, cast).
pub type NdisDriverOptionalHandlers = NdisObjectHeader;

/// `NDIS_PROVIDER_CHIMNEY_OFFLOAD_GENERIC_CHARACTERISTICS` (Header.Type 0x8F; x64 48 bytes).
/// Registered on the miniport edge from MiniportSetOptions. Always set `Header.Type`: although the
/// docs call it "not significant", NdisSetOptionalHandlers dispatches on it (pitfall 7); use
/// [`Self::HEADER`].
#[repr(C)]
pub struct NdisProviderChimneyOffloadGenericCharacteristics {
    pub header: NdisObjectHeader,
    /// Reserved, 0.
    pub flags: u32,
    pub initiate_offload_handler: Option<MiniportInitiateOffloadHandler>,
    pub terminate_offload_handler: Option<MiniportTerminateOffloadHandler>,
    pub update_offload_handler: Option<MiniportUpdateOffloadHandler>,
    pub invalidate_offload_handler: Option<MiniportInvalidateOffloadHandler>,
    pub query_offload_handler: Option<MiniportQueryOffloadHandler>,
}

impl NdisProviderChimneyOffloadGenericCharacteristics {
    /// Type 0x8F, Revision [`PROVIDER_CHIMNEY_OFFLOAD_CHARACTERISTICS_REVISION`], Size `sizeof`.
    pub const HEADER: NdisObjectHeader = NdisObjectHeader::new(
        object_type::PROVIDER_CHIMNEY_OFFLOAD_GENERIC_CHARACTERISTICS,
        PROVIDER_CHIMNEY_OFFLOAD_CHARACTERISTICS_REVISION,
        size_of::<Self>(),
    );
}

/// `NDIS_PROVIDER_CHIMNEY_OFFLOAD_TCP_CHARACTERISTICS` (Header.Type 0x94; x64 56 bytes).
/// Registered on the miniport edge from MiniportSetOptions; `offload_type` must be
/// [`chimney_offload_type::TCP`] (checked by NdisSetOptionalHandlers, Observed).
#[repr(C)]
pub struct NdisProviderChimneyOffloadTcpCharacteristics {
    pub header: NdisObjectHeader,
    /// Reserved, 0.
    pub flags: u32,
    pub offload_type: NdisChimneyOffloadType,
    pub tcp_offload_send_handler: Option<MiniportTcpOffloadSendHandler>,
    pub tcp_offload_receive_handler: Option<MiniportTcpOffloadReceiveHandler>,
    pub tcp_offload_disconnect_handler: Option<MiniportTcpOffloadDisconnectHandler>,
    pub tcp_offload_forward_handler: Option<MiniportTcpOffloadForwardHandler>,
    pub tcp_offload_receive_return_handler: Option<MiniportTcpOffloadReceiveReturnHandler>,
}

impl NdisProviderChimneyOffloadTcpCharacteristics {
    /// Type 0x94, Revision [`PROVIDER_CHIMNEY_OFFLOAD_CHARACTERISTICS_REVISION`], Size `sizeof`.
    pub const HEADER: NdisObjectHeader = NdisObjectHeader::new(
        object_type::PROVIDER_CHIMNEY_OFFLOAD_CHARACTERISTICS,
        PROVIDER_CHIMNEY_OFFLOAD_CHARACTERISTICS_REVISION,
        size_of::<Self>(),
    );
}

/// `NDIS_CLIENT_CHIMNEY_OFFLOAD_GENERIC_CHARACTERISTICS` (Header.Type 0x8E; x64 56 bytes).
/// Registered on the protocol edge from ProtocolSetOptions. The IM may leave
/// `indicate_offload_event_handler` NULL (no defined IM contract, §6.6).
#[repr(C)]
pub struct NdisClientChimneyOffloadGenericCharacteristics {
    pub header: NdisObjectHeader,
    /// Reserved, 0.
    pub flags: u32,
    pub initiate_offload_complete_handler: Option<ProtocolInitiateOffloadCompleteHandler>,
    pub terminate_offload_complete_handler: Option<ProtocolTerminateOffloadCompleteHandler>,
    pub update_offload_complete_handler: Option<ProtocolUpdateOffloadCompleteHandler>,
    pub invalidate_offload_complete_handler: Option<ProtocolInvalidateOffloadCompleteHandler>,
    pub query_offload_complete_handler: Option<ProtocolQueryOffloadCompleteHandler>,
    pub indicate_offload_event_handler: Option<ProtocolIndicateOffloadEventHandler>,
}

impl NdisClientChimneyOffloadGenericCharacteristics {
    /// Type 0x8E, Revision 1, Size `sizeof`.
    pub const HEADER: NdisObjectHeader = NdisObjectHeader::new(
        object_type::CLIENT_CHIMNEY_OFFLOAD_GENERIC_CHARACTERISTICS,
        NDIS_CLIENT_CHIMNEY_OFFLOAD_GENERIC_CHARACTERISTICS_REVISION_1,
        NDIS_SIZEOF_CLIENT_CHIMNEY_OFFLOAD_GENERIC_CHARACTERISTICS_REVISION_1,
    );
}

/// `NDIS_CLIENT_CHIMNEY_OFFLOAD_TCP_CHARACTERISTICS` (Header.Type 0x93; x64 64 bytes).
/// Registered on the protocol edge from ProtocolSetOptions (a binding handle is also accepted);
/// `offload_type` must be [`chimney_offload_type::TCP`].
#[repr(C)]
pub struct NdisClientChimneyOffloadTcpCharacteristics {
    pub header: NdisObjectHeader,
    /// Reserved, 0.
    pub flags: u32,
    pub offload_type: NdisChimneyOffloadType,
    pub tcp_offload_send_complete_handler: Option<ProtocolTcpOffloadSendCompleteHandler>,
    /// Typedef `TCP_OFFLOAD_RECV_COMPLETE_HANDLER` (spelling trap).
    pub tcp_offload_receive_complete_handler: Option<ProtocolTcpOffloadReceiveCompleteHandler>,
    pub tcp_offload_disconnect_complete_handler:
        Option<ProtocolTcpOffloadDisconnectCompleteHandler>,
    pub tcp_offload_forward_complete_handler: Option<ProtocolTcpOffloadForwardCompleteHandler>,
    pub tcp_offload_event_handler: Option<ProtocolTcpOffloadEventHandler>,
    pub tcp_offload_receive_indicate_handler: Option<ProtocolTcpOffloadReceiveIndicateHandler>,
}

impl NdisClientChimneyOffloadTcpCharacteristics {
    /// Type 0x93, Revision 1, Size `sizeof`.
    pub const HEADER: NdisObjectHeader = NdisObjectHeader::new(
        object_type::CLIENT_CHIMNEY_OFFLOAD_CHARACTERISTICS,
        NDIS_CLIENT_CHIMNEY_OFFLOAD_TCP_CHARACTERISTICS_REVISION_1,
        NDIS_SIZEOF_CLIENT_CHIMNEY_OFFLOAD_TCP_CHARACTERISTICS_REVISION_1,
    );
}

/// `NDIS_OFFLOAD_CLIENT_HANDLERS` `{ Header }`: declared by the header, not used for
/// registration (§4.3).
#[repr(C)]
pub struct NdisOffloadClientHandlers {
    pub header: NdisObjectHeader,
}

/// `NDIS_TCP_OFFLOAD_CLIENT_HANDLERS`: the six client TCP handlers without Flags or OffloadType.
/// Declared by the header, **not** used for registration (use
/// [`NdisClientChimneyOffloadTcpCharacteristics`]).
#[repr(C)]
pub struct NdisTcpOffloadClientHandlers {
    pub header: NdisObjectHeader,
    pub tcp_offload_send_complete_handler: Option<ProtocolTcpOffloadSendCompleteHandler>,
    pub tcp_offload_receive_complete_handler: Option<ProtocolTcpOffloadReceiveCompleteHandler>,
    pub tcp_offload_disconnect_complete_handler:
        Option<ProtocolTcpOffloadDisconnectCompleteHandler>,
    pub tcp_offload_forward_complete_handler: Option<ProtocolTcpOffloadForwardCompleteHandler>,
    pub tcp_offload_event_handler: Option<ProtocolTcpOffloadEventHandler>,
    pub tcp_offload_receive_indicate_handler: Option<ProtocolTcpOffloadReceiveIndicateHandler>,
}

/// `NDIS_OFFLOAD_EVENT_HANDLERS` `{ Header }`: what NdisMGetOffloadHandlers returns a pointer to.
/// The docs say `Header.Type` equals the requested ChimneyType and the caller checks `Revision`
/// before casting to the chimney-specific table ([`NdisTcpOffloadEventHandlers`] for
/// [`chimney_offload_type::TCP`]). The real header values of the static table were not seen.
#[repr(C)]
pub struct NdisOffloadEventHandlers {
    pub header: NdisObjectHeader,
}

/// `NDIS_TCP_OFFLOAD_EVENT_HANDLERS` (x64 56 bytes, ndis-chimney.md §4.3): NDIS's upward
/// completion and indication entry points for TCP chimney. Returned by NdisMGetOffloadHandlers as
/// a pointer to a static, global table (Observed); keep the pointer, do not copy assumptions about
/// its header. The fields are nullable in C; NDIS fills all six.
#[repr(C)]
pub struct NdisTcpOffloadEventHandlers {
    pub header: NdisObjectHeader,
    /// Indicate a TCP event up: `(host offload handle, EventType, Info)`. DISPATCH_LEVEL.
    pub ndis_tcp_offload_event_handler: Option<NdisTcpOffloadEventIndicate>,
    /// Indicate received data up: `(host offload handle, NBL, Status, &BytesConsumed)`.
    /// DISPATCH_LEVEL.
    pub ndis_tcp_offload_receive_handler: Option<NdisTcpOffloadReceiveIndicate>,
    pub ndis_tcp_offload_send_complete: Option<NdisTcpOffloadSendComplete>,
    pub ndis_tcp_offload_receive_complete: Option<NdisTcpOffloadReceiveComplete>,
    pub ndis_tcp_offload_disconnect_complete: Option<NdisTcpOffloadDisconnectComplete>,
    pub ndis_tcp_offload_forward_complete: Option<NdisTcpOffloadForwardComplete>,
}

// ---------------------------------------------------------------------------------------------
// Imports (ndis-chimney.md §3.1, §3.2, §3.4).
// ---------------------------------------------------------------------------------------------

#[cfg_attr(
    windows,
    link(name = "ndis.sys", kind = "raw-dylib", modifiers = "+verbatim")
)]
unsafe extern "system" {
    // chimney imports: declared here, referenced by src/chimney/
    // (the PE test compares the .sys import table with every declaration in this block).

    // Registration and handler retrieval (§3.4).
    /// `NDIS_STATUS NdisSetOptionalHandlers(NDIS_HANDLE NdisHandle,
    /// PNDIS_DRIVER_OPTIONAL_HANDLERS OptionalHandlers)` (ndis.h). `NdisHandle` is the driver
    /// handle passed to Miniport/ProtocolSetOptions. Dispatches on `Header.Type`.
    pub fn NdisSetOptionalHandlers(
        ndis_handle: NdisHandle,
        optional_handlers: *mut NdisDriverOptionalHandlers,
    ) -> NdisStatus;
    /// Call from MiniportInitializeEx; for [`chimney_offload_type::TCP`] returns a pointer to the
    /// static [`NdisTcpOffloadEventHandlers`] table (cast from the generic header).
    pub fn NdisMGetOffloadHandlers(
        ndis_miniport_handle: NdisHandle,
        chimney_type: NdisChimneyOffloadType,
        offload_handlers: *mut *mut NdisOffloadEventHandlers,
    ) -> NdisStatus;

    // State manipulation, protocol side -> NDIS (§3.1). The block list is in/out; the completion
    // may run inside the call (§5.1).
    pub fn NdisInitiateOffload(
        ndis_binding_handle: NdisHandle,
        offload_block_list: *mut NdisProtocolOffloadBlockList,
    );
    pub fn NdisTerminateOffload(
        ndis_binding_handle: NdisHandle,
        offload_block_list: *mut NdisProtocolOffloadBlockList,
    );
    pub fn NdisUpdateOffload(
        ndis_binding_handle: NdisHandle,
        offload_block_list: *mut NdisProtocolOffloadBlockList,
    );
    pub fn NdisInvalidateOffload(
        ndis_binding_handle: NdisHandle,
        offload_block_list: *mut NdisProtocolOffloadBlockList,
    );
    /// Header name; some conceptual pages say "NdisQueryOffload".
    pub fn NdisQueryOffloadState(
        ndis_binding_handle: NdisHandle,
        offload_block_list: *mut NdisProtocolOffloadBlockList,
    );

    // State-manipulation completion, miniport edge -> NDIS (§3.1). Routed by the root block's
    // SourceHandle, which must be the upper value again.
    pub fn NdisMInitiateOffloadComplete(
        ndis_miniport_handle: NdisHandle,
        offload_block_list: *mut NdisMiniportOffloadBlockList,
    );
    pub fn NdisMTerminateOffloadComplete(
        ndis_miniport_handle: NdisHandle,
        offload_block_list: *mut NdisMiniportOffloadBlockList,
    );
    pub fn NdisMUpdateOffloadComplete(
        ndis_miniport_handle: NdisHandle,
        offload_block_list: *mut NdisMiniportOffloadBlockList,
    );
    pub fn NdisMInvalidateOffloadComplete(
        ndis_miniport_handle: NdisHandle,
        offload_block_list: *mut NdisMiniportOffloadBlockList,
    );
    pub fn NdisMQueryOffloadStateComplete(
        ndis_miniport_handle: NdisHandle,
        offload_block_list: *mut NdisMiniportOffloadBlockList,
    );
    /// `offload_block_list` may be NULL; `indication_code` is an [`indicate_offload_event`].
    /// DISPATCH_LEVEL.
    pub fn NdisMOffloadEventIndicate(
        ndis_miniport_handle: NdisHandle,
        offload_block_list: *mut NdisMiniportOffloadBlockList,
        indication_code: u32,
    );

    // TCP I/O, protocol side -> NDIS (§3.2). Pass the IM's own offload handle and the same NBL;
    // NDIS overwrites every NBL's SourceHandle. Documented to always return NDIS_STATUS_PENDING.
    pub fn NdisOffloadTcpSend(
        ndis_offload_handle: *mut NdisOffloadHandle,
        net_buffer_list: *mut NetBufferList,
    ) -> NdisStatus;
    pub fn NdisOffloadTcpReceive(
        ndis_offload_handle: *mut NdisOffloadHandle,
        net_buffer_list: *mut NetBufferList,
    ) -> NdisStatus;
    pub fn NdisOffloadTcpDisconnect(
        ndis_offload_handle: *mut NdisOffloadHandle,
        net_buffer_list: *mut NetBufferList,
        flags: u32,
    ) -> NdisStatus;
    pub fn NdisOffloadTcpForward(
        ndis_offload_handle: *mut NdisOffloadHandle,
        net_buffer_list: *mut NetBufferList,
    ) -> NdisStatus;
    /// Takes the lower **binding** handle, not an offload handle. `VOID` (its page's "always
    /// returns NDIS_STATUS_SUCCESS" contradicts the prototype). Synchronous; does not touch
    /// SourceHandle. The header has no `EXPORT` keyword on it, but ndis.sys provides it.
    pub fn NdisOffloadTcpReceiveReturn(
        ndis_binding_handle: NdisHandle,
        net_buffer_list: *mut NetBufferList,
    );
}

#[cfg(target_pointer_width = "64")]
const _: () = {
    use core::mem::{align_of, offset_of};

    type H = NdisOffloadHandle;
    assert!(offset_of!(H, ndis_reserved) == 0);
    assert!(offset_of!(H, miniport_offload_context) == 8);
    assert!(size_of::<H>() == 16);

    type P = NdisProtocolOffloadBlockList;
    assert!(offset_of!(P, header) == 0);
    assert!(offset_of!(P, next_block) == 8);
    assert!(offset_of!(P, dependent_block_list) == 16);
    assert!(offset_of!(P, status) == 24);
    assert!(offset_of!(P, ndis_reserved) == 32);
    assert!(offset_of!(P, offload_handle) == 56);
    assert!(offset_of!(P, protocol_reserved) == 64);
    assert!(offset_of!(P, miniport_reserved) == 80);
    assert!(offset_of!(P, im_reserved) == 96);
    assert!(offset_of!(P, scratch) == 112);
    assert!(offset_of!(P, source_handle) == 128);
    assert!(offset_of!(P, port_number) == 136);
    assert!(offset_of!(P, net_buffer_list_chain) == 144);
    assert!(size_of::<P>() == 152);

    type M = NdisMiniportOffloadBlockList;
    assert!(offset_of!(M, header) == 0);
    assert!(offset_of!(M, next_block) == 8);
    assert!(offset_of!(M, dependent_block_list) == 16);
    assert!(offset_of!(M, status) == 24);
    assert!(offset_of!(M, ndis_reserved) == 32);
    assert!(offset_of!(M, miniport_offload_context) == 48);
    assert!(offset_of!(M, ndis_offload_handle) == 56);
    assert!(offset_of!(M, protocol_reserved) == 64);
    assert!(offset_of!(M, miniport_reserved) == 80);
    assert!(offset_of!(M, im_reserved) == 96);
    assert!(offset_of!(M, scratch) == 112);
    assert!(offset_of!(M, source_handle) == 128);
    assert!(offset_of!(M, port_number) == 136);
    assert!(offset_of!(M, net_buffer_list_chain) == 144);
    assert!(size_of::<M>() == 152);
    // The two views: POBL NdisReserved[2] is MOBL MiniportOffloadContext, POBL OffloadHandle is
    // MOBL NdisOffloadHandle.
    assert!(offset_of!(P, ndis_reserved) + 2 * size_of::<*mut c_void>() == 48);
    assert!(offset_of!(P, offload_handle) == offset_of!(M, ndis_offload_handle));
    assert!(align_of::<P>() == align_of::<M>());

    type PG = NdisProviderChimneyOffloadGenericCharacteristics;
    assert!(offset_of!(PG, flags) == 4);
    assert!(offset_of!(PG, initiate_offload_handler) == 8);
    assert!(offset_of!(PG, terminate_offload_handler) == 16);
    assert!(offset_of!(PG, update_offload_handler) == 24);
    assert!(offset_of!(PG, invalidate_offload_handler) == 32);
    assert!(offset_of!(PG, query_offload_handler) == 40);
    assert!(size_of::<PG>() == 48);

    type PT = NdisProviderChimneyOffloadTcpCharacteristics;
    assert!(offset_of!(PT, flags) == 4);
    assert!(offset_of!(PT, offload_type) == 8);
    assert!(offset_of!(PT, tcp_offload_send_handler) == 16);
    assert!(offset_of!(PT, tcp_offload_receive_handler) == 24);
    assert!(offset_of!(PT, tcp_offload_disconnect_handler) == 32);
    assert!(offset_of!(PT, tcp_offload_forward_handler) == 40);
    assert!(offset_of!(PT, tcp_offload_receive_return_handler) == 48);
    assert!(size_of::<PT>() == 56);

    type CG = NdisClientChimneyOffloadGenericCharacteristics;
    assert!(offset_of!(CG, flags) == 4);
    assert!(offset_of!(CG, initiate_offload_complete_handler) == 8);
    assert!(offset_of!(CG, terminate_offload_complete_handler) == 16);
    assert!(offset_of!(CG, update_offload_complete_handler) == 24);
    assert!(offset_of!(CG, invalidate_offload_complete_handler) == 32);
    assert!(offset_of!(CG, query_offload_complete_handler) == 40);
    assert!(offset_of!(CG, indicate_offload_event_handler) == 48);
    assert!(size_of::<CG>() == 56);

    type CT = NdisClientChimneyOffloadTcpCharacteristics;
    assert!(offset_of!(CT, flags) == 4);
    assert!(offset_of!(CT, offload_type) == 8);
    assert!(offset_of!(CT, tcp_offload_send_complete_handler) == 16);
    assert!(offset_of!(CT, tcp_offload_receive_complete_handler) == 24);
    assert!(offset_of!(CT, tcp_offload_disconnect_complete_handler) == 32);
    assert!(offset_of!(CT, tcp_offload_forward_complete_handler) == 40);
    assert!(offset_of!(CT, tcp_offload_event_handler) == 48);
    assert!(offset_of!(CT, tcp_offload_receive_indicate_handler) == 56);
    assert!(size_of::<CT>() == 64);

    assert!(size_of::<NdisOffloadClientHandlers>() == 4);
    type TC = NdisTcpOffloadClientHandlers;
    assert!(offset_of!(TC, tcp_offload_send_complete_handler) == 8);
    assert!(offset_of!(TC, tcp_offload_receive_complete_handler) == 16);
    assert!(offset_of!(TC, tcp_offload_disconnect_complete_handler) == 24);
    assert!(offset_of!(TC, tcp_offload_forward_complete_handler) == 32);
    assert!(offset_of!(TC, tcp_offload_event_handler) == 40);
    assert!(offset_of!(TC, tcp_offload_receive_indicate_handler) == 48);
    assert!(size_of::<TC>() == 56);

    assert!(size_of::<NdisOffloadEventHandlers>() == 4);
    type E = NdisTcpOffloadEventHandlers;
    assert!(offset_of!(E, header) == 0);
    assert!(offset_of!(E, ndis_tcp_offload_event_handler) == 8);
    assert!(offset_of!(E, ndis_tcp_offload_receive_handler) == 16);
    assert!(offset_of!(E, ndis_tcp_offload_send_complete) == 24);
    assert!(offset_of!(E, ndis_tcp_offload_receive_complete) == 32);
    assert!(offset_of!(E, ndis_tcp_offload_disconnect_complete) == 40);
    assert!(offset_of!(E, ndis_tcp_offload_forward_complete) == 48);
    assert!(size_of::<E>() == 56);

    // Sizes written into the headers, and the header values themselves (pitfall 7).
    assert!(NDIS_SIZEOF_CLIENT_CHIMNEY_OFFLOAD_GENERIC_CHARACTERISTICS_REVISION_1 == 56);
    assert!(NDIS_SIZEOF_CLIENT_CHIMNEY_OFFLOAD_TCP_CHARACTERISTICS_REVISION_1 == 64);
    assert!(NDIS_SIZEOF_TCP_OFFLOAD_EVENT_HANDLERS_REVISION_1 == 56);
    assert!(PG::HEADER.kind == 0x8F && PG::HEADER.revision == 1 && PG::HEADER.size == 48);
    assert!(PT::HEADER.kind == 0x94 && PT::HEADER.revision == 1 && PT::HEADER.size == 56);
    assert!(CG::HEADER.kind == 0x8E && CG::HEADER.revision == 1 && CG::HEADER.size == 56);
    assert!(CT::HEADER.kind == 0x93 && CT::HEADER.revision == 1 && CT::HEADER.size == 64);

    // Handler fields are plain nullable code pointers.
    assert!(size_of::<Option<MiniportTcpOffloadReceiveHandler>>() == 8);
    assert!(size_of::<Option<NdisTcpOffloadReceiveIndicate>>() == 8);
};
