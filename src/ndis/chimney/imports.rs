//! The chimney exports of ndis.sys (docs/chimney-contract.md §3.1, §3.2, §3.5).

use super::super::nbl::NetBufferList;
use super::super::types::{NdisHandle, NdisStatus};
use super::*;

// ---------------------------------------------------------------------------------------------
// Imports (docs/chimney-contract.md §3.1, §3.2, §3.5).
// ---------------------------------------------------------------------------------------------

#[handler_abi::host_unwind]
#[cfg_attr(
    windows,
    link(name = "ndis.sys", kind = "raw-dylib", modifiers = "+verbatim")
)]
unsafe extern "system" {
    // chimney imports: declared here, referenced by src/chimney/
    // (the PE test compares the .sys import table with every declaration in this block).

    // Registration and handler retrieval (§3.5).
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
