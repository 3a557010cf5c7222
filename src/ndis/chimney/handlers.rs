//! Chimney handler typedefs: provider, client, NDIS's upcalls (docs/chimney-contract.md §3.1–§3.3).

use super::super::nbl::NetBufferList;
use super::super::types::{NdisHandle, NdisStatus};
use super::*;
use core::ffi::c_void;

// ---------------------------------------------------------------------------------------------
// Provider (miniport-edge) handlers, NDIS -> next driver (docs/chimney-contract.md §3.1, §3.2).
// ---------------------------------------------------------------------------------------------

#[handler_abi::host_unwind]
/// `W_INITIATE_OFFLOAD_HANDLER` (MiniportInitiateOffload). Always completes asynchronously with
/// NdisMInitiateOffloadComplete. Any IRQL.
pub type MiniportInitiateOffloadHandler =
    unsafe extern "system" fn(NdisHandle, *mut NdisMiniportOffloadBlockList);
#[handler_abi::host_unwind]
/// `W_TERMINATE_OFFLOAD_HANDLER` (MiniportTerminateOffload). Asynchronous.
pub type MiniportTerminateOffloadHandler =
    unsafe extern "system" fn(NdisHandle, *mut NdisMiniportOffloadBlockList);
#[handler_abi::host_unwind]
/// `W_UPDATE_OFFLOAD_HANDLER` (MiniportUpdateOffload). Asynchronous.
pub type MiniportUpdateOffloadHandler =
    unsafe extern "system" fn(NdisHandle, *mut NdisMiniportOffloadBlockList);
#[handler_abi::host_unwind]
/// `W_INVALIDATE_OFFLOAD_HANDLER` (MiniportInvalidateOffload). Asynchronous.
pub type MiniportInvalidateOffloadHandler =
    unsafe extern "system" fn(NdisHandle, *mut NdisMiniportOffloadBlockList);
#[handler_abi::host_unwind]
/// `W_QUERY_OFFLOAD_HANDLER` (MiniportQueryOffload). Asynchronous, completed with
/// NdisMQueryOffloadStateComplete.
pub type MiniportQueryOffloadHandler =
    unsafe extern "system" fn(NdisHandle, *mut NdisMiniportOffloadBlockList);

#[handler_abi::host_unwind]
/// `W_TCP_OFFLOAD_SEND_HANDLER` (MiniportTcpOffloadSend):
/// `(MiniportAdapterContext, PVOID MiniportOffloadContext, NetBufferList) -> NDIS_STATUS`.
/// `MiniportOffloadContext` is the entry pointer itself, not a pointer to a slot (§5.2).
/// Must return NDIS_STATUS_PENDING, the only allowed value, even when completing inline
/// (§3.2).
pub type MiniportTcpOffloadSendHandler =
    unsafe extern "system" fn(NdisHandle, *mut c_void, *mut NetBufferList) -> NdisStatus;
#[handler_abi::host_unwind]
/// `W_TCP_OFFLOAD_RECEIVE_HANDLER` (MiniportTcpOffloadReceive): as send. Must return
/// NDIS_STATUS_PENDING.
pub type MiniportTcpOffloadReceiveHandler =
    unsafe extern "system" fn(NdisHandle, *mut c_void, *mut NetBufferList) -> NdisStatus;
#[handler_abi::host_unwind]
/// `W_TCP_OFFLOAD_DISCONNECT_HANDLER` (MiniportTcpOffloadDisconnect): as send plus
/// `ULONG Flags` (`TCP_DISCONNECT_*`). Must return NDIS_STATUS_PENDING.
pub type MiniportTcpOffloadDisconnectHandler =
    unsafe extern "system" fn(NdisHandle, *mut c_void, *mut NetBufferList, u32) -> NdisStatus;
#[handler_abi::host_unwind]
/// `W_TCP_OFFLOAD_FORWARD_HANDLER` (MiniportTcpOffloadForward): as send. Must return
/// NDIS_STATUS_PENDING.
pub type MiniportTcpOffloadForwardHandler =
    unsafe extern "system" fn(NdisHandle, *mut c_void, *mut NetBufferList) -> NdisStatus;
#[handler_abi::host_unwind]
/// `W_TCP_OFFLOAD_RECEIVE_RETURN_HANDLER` (MiniportTcpOffloadReceiveReturn):
/// `(MiniportAdapterContext, NetBufferList) -> NDIS_STATUS`; synchronous, must return
/// NDIS_STATUS_SUCCESS.
pub type MiniportTcpOffloadReceiveReturnHandler =
    unsafe extern "system" fn(NdisHandle, *mut NetBufferList) -> NdisStatus;

// ---------------------------------------------------------------------------------------------
// Client (protocol-edge) handlers: NDIS -> caller (docs/chimney-contract.md §3.1, §3.2).
// ---------------------------------------------------------------------------------------------

#[handler_abi::host_unwind]
/// `INITIATE_OFFLOAD_COMPLETE_HANDLER` (ProtocolInitiateOffloadComplete):
/// `(ProtocolBindingContext, POBL)`. May run synchronously inside NdisInitiateOffload (§5.1).
pub type ProtocolInitiateOffloadCompleteHandler =
    unsafe extern "system" fn(NdisHandle, *mut NdisProtocolOffloadBlockList);
#[handler_abi::host_unwind]
/// `TERMINATE_OFFLOAD_COMPLETE_HANDLER` (ProtocolTerminateOffloadComplete).
pub type ProtocolTerminateOffloadCompleteHandler =
    unsafe extern "system" fn(NdisHandle, *mut NdisProtocolOffloadBlockList);
#[handler_abi::host_unwind]
/// `UPDATE_OFFLOAD_COMPLETE_HANDLER` (ProtocolUpdateOffloadComplete).
pub type ProtocolUpdateOffloadCompleteHandler =
    unsafe extern "system" fn(NdisHandle, *mut NdisProtocolOffloadBlockList);
#[handler_abi::host_unwind]
/// `INVALIDATE_OFFLOAD_COMPLETE_HANDLER` (ProtocolInvalidateOffloadComplete).
pub type ProtocolInvalidateOffloadCompleteHandler =
    unsafe extern "system" fn(NdisHandle, *mut NdisProtocolOffloadBlockList);
#[handler_abi::host_unwind]
/// `QUERY_OFFLOAD_COMPLETE_HANDLER` (ProtocolQueryOffloadComplete).
pub type ProtocolQueryOffloadCompleteHandler =
    unsafe extern "system" fn(NdisHandle, *mut NdisProtocolOffloadBlockList);
#[handler_abi::host_unwind]
/// `INDICATE_OFFLOAD_EVENT_HANDLER` (ProtocolIndicateOffloadEvent):
/// `(ProtocolBindingContext, POBL, ULONG IndicationCode)` ([`indicate_offload_event`]).
pub type ProtocolIndicateOffloadEventHandler =
    unsafe extern "system" fn(NdisHandle, *mut NdisProtocolOffloadBlockList, u32);

#[handler_abi::host_unwind]
/// `TCP_OFFLOAD_SEND_COMPLETE_HANDLER` (ProtocolTcpOffloadSendComplete):
/// `(ProtocolBindingContext, NetBufferList)`.
pub type ProtocolTcpOffloadSendCompleteHandler =
    unsafe extern "system" fn(NdisHandle, *mut NetBufferList);
#[handler_abi::host_unwind]
/// `TCP_OFFLOAD_RECV_COMPLETE_HANDLER` (ProtocolTcpOffloadReceiveComplete). Spelling trap: the
/// typedef says `RECV`, the structure field says `TcpOffloadReceiveCompleteHandler`.
pub type ProtocolTcpOffloadReceiveCompleteHandler =
    unsafe extern "system" fn(NdisHandle, *mut NetBufferList);
#[handler_abi::host_unwind]
/// `TCP_OFFLOAD_DISCONNECT_COMPLETE_HANDLER` (ProtocolTcpOffloadDisconnectComplete).
pub type ProtocolTcpOffloadDisconnectCompleteHandler =
    unsafe extern "system" fn(NdisHandle, *mut NetBufferList);
#[handler_abi::host_unwind]
/// `TCP_OFFLOAD_FORWARD_COMPLETE_HANDLER` (ProtocolTcpOffloadForwardComplete).
pub type ProtocolTcpOffloadForwardCompleteHandler =
    unsafe extern "system" fn(NdisHandle, *mut NetBufferList);
#[handler_abi::host_unwind]
/// `TCP_OFFLOAD_EVENT_HANDLER` (ProtocolTcpOffloadEvent):
/// `(PVOID OffloadContext, ULONG EventType, ULONG EventSpecificInformation)`. `OffloadContext`
/// is the IM's own `PNDIS_OFFLOAD_HANDLE` (`&entry.offload_handle`), §6.5.
pub type ProtocolTcpOffloadEventHandler = unsafe extern "system" fn(*mut c_void, u32, u32);
#[handler_abi::host_unwind]
/// `TCP_OFFLOAD_RECEIVE_INDICATE_HANDLER` (ProtocolTcpOffloadReceiveIndicate):
/// `(PVOID OffloadContext, NetBufferList, NDIS_STATUS Status, PULONG BytesConsumed)
/// -> NDIS_STATUS`.
/// `OffloadContext` is the IM's own `PNDIS_OFFLOAD_HANDLE`; `BytesConsumed` is an out pointer
/// passed up unchanged (§6.4).
pub type ProtocolTcpOffloadReceiveIndicateHandler =
    unsafe extern "system" fn(*mut c_void, *mut NetBufferList, NdisStatus, *mut u32) -> NdisStatus;

// ---------------------------------------------------------------------------------------------
// NDIS upcalls in the table returned by NdisMGetOffloadHandlers (not exports; §3.3, §3.5).
// ---------------------------------------------------------------------------------------------

#[handler_abi::host_unwind]
/// `NDIS_TCP_OFFLOAD_SEND_COMPLETE` (NdisTcpOffloadSendComplete): `(NdisMiniportHandle, NBL)`.
pub type NdisTcpOffloadSendComplete = unsafe extern "system" fn(NdisHandle, *mut NetBufferList);
#[handler_abi::host_unwind]
/// `NDIS_TCP_OFFLOAD_RECEIVE_COMPLETE` (NdisTcpOffloadReceiveComplete):
/// `(NdisMiniportHandle, NBL)`.
pub type NdisTcpOffloadReceiveComplete = unsafe extern "system" fn(NdisHandle, *mut NetBufferList);
#[handler_abi::host_unwind]
/// `NDIS_TCP_OFFLOAD_DISCONNECT_COMPLETE` (NdisTcpOffloadDisconnectComplete).
pub type NdisTcpOffloadDisconnectComplete =
    unsafe extern "system" fn(NdisHandle, *mut NetBufferList);
#[handler_abi::host_unwind]
/// `NDIS_TCP_OFFLOAD_FORWARD_COMPLETE` (NdisTcpOffloadForwardComplete).
pub type NdisTcpOffloadForwardComplete = unsafe extern "system" fn(NdisHandle, *mut NetBufferList);
#[handler_abi::host_unwind]
/// `NDIS_TCP_OFFLOAD_EVENT_INDICATE` (table field NdisTcpOffloadEventHandler):
/// `(NDIS_HANDLE NdisOffloadHandle, ULONG EventType, ULONG EventSpecificInformation)`; the first
/// argument is the host's `PNDIS_OFFLOAD_HANDLE` saved at initiate. DISPATCH_LEVEL.
pub type NdisTcpOffloadEventIndicate = unsafe extern "system" fn(NdisHandle, u32, u32);
#[handler_abi::host_unwind]
/// `NDIS_TCP_OFFLOAD_RECEIVE_INDICATE` (table field NdisTcpOffloadReceiveHandler):
/// `(NDIS_HANDLE NdisOffloadHandle, NBL, NDIS_STATUS Status, PULONG BytesConsumed) -> NDIS_STATUS`.
/// DISPATCH_LEVEL.
pub type NdisTcpOffloadReceiveIndicate =
    unsafe extern "system" fn(NdisHandle, *mut NetBufferList, NdisStatus, *mut u32) -> NdisStatus;
