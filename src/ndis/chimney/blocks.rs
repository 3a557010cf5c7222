//! NDIS_OFFLOAD_HANDLE and the two offload block list views (docs/chimney-contract.md §4.1, §4.2).

use super::super::nbl::NetBufferList;
use super::super::types::{NdisHandle, NdisObjectHeader, NdisPortNumber, NdisStatus};
use core::ffi::c_void;

// ---------------------------------------------------------------------------------------------
// NDIS_OFFLOAD_HANDLE and the offload block lists (docs/chimney-contract.md §4.1, §4.2).
// ---------------------------------------------------------------------------------------------

/// `NDIS_OFFLOAD_HANDLE` (x64 16 bytes, docs/chimney-contract.md §4.1). Owned by the driver that
/// calls down; for the IM it is embedded in its per-state-object offload entry, and
/// `&entry.offload_handle` is what the IM passes to `NdisOffloadTcp*` and writes into a block's
/// `OffloadHandle`.
///
/// **Must be zero-filled before NDIS first sees it** (§4.1): during
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
    /// The all-NULL handle NDIS requires (§4.1).
    pub const fn zeroed() -> Self {
        Self {
            ndis_reserved: [core::ptr::null_mut(); 1],
            miniport_offload_context: core::ptr::null_mut(),
        }
    }
}

/// `NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST` (POBL, x64 152 bytes, docs/chimney-contract.md §4.2): the
/// caller's (protocol-side) view of a block in an offload state tree. Offload state structures
/// follow each block in memory.
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
    /// `Header.Type` is an [`super::offload_state_type`] value.
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

/// `NDIS_MINIPORT_OFFLOAD_BLOCK_LIST` (MOBL, x64 152 bytes, docs/chimney-contract.md §4.2): the
/// provider (miniport-side) view of the same memory as [`NdisProtocolOffloadBlockList`]; see there.
///
/// Kinds of block: placeholder (`miniport_offload_context` NULL); linker
/// (`*miniport_offload_context` non-NULL: refers to state offloaded earlier, the value is the
/// context published then); new offload (`*miniport_offload_context` NULL, state follows).
#[repr(C)]
pub struct NdisMiniportOffloadBlockList {
    /// `Header.Type` is an [`super::offload_state_type`] value.
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
