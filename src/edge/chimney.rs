//! The TCP chimney handlers of both edges: the IM's provider handlers (miniport edge, called by
//! NDIS on behalf of the host stack) and client handlers (protocol edge, called by NDIS on behalf
//! of the offload target), registered with NdisSetOptionalHandlers from the two SetOptions
//! handlers. Each turns NDIS's raw arguments into typed values and calls the flow in
//! `crate::chimney`.
//!
//! The heart, receive: MiniportTcpOffloadReceive -> NdisOffloadTcpReceive (same NBLs, our own
//! offload handle, host SourceHandles saved in NBL context) and ProtocolTcpOffloadReceiveComplete
//! -> NdisTcpOffloadReceiveComplete (SourceHandles restored, same order, synchronously).
//!
//! Handles (docs/chimney-contract.md §3.4): down = `&entry.offload_handle`; complete up = our
//! per-adapter NdisMiniportHandle; indicate up = the host's handle saved in the entry; receive
//! return down = our lower binding handle.

use crate::chimney::{io, state};

use core::ffi::c_void;
use core::ptr;

use crate::glue::trace;
use crate::kernel::{MiniportHandle, SetOptionsHandle, StateOp};
use crate::kernel::{NblChain, TcpUpcalls};
use crate::ndis::{
    NDIS_STATUS_SUCCESS, NdisClientChimneyOffloadGenericCharacteristics,
    NdisClientChimneyOffloadTcpCharacteristics, NdisHandle, NdisMGetOffloadHandlers,
    NdisMiniportOffloadBlockList, NdisOffloadEventHandlers, NdisProtocolOffloadBlockList,
    NdisProviderChimneyOffloadGenericCharacteristics, NdisProviderChimneyOffloadTcpCharacteristics,
    NdisStatus, NdisTcpOffloadEventHandlers, NetBufferList, chimney_offload_type,
};
use crate::state::{Adapter, Binding};

use crate::kernel::BlockTree;
use crate::kernel::IoKind;

/// Registers the provider (miniport-edge) handlers. Called from MiniportSetOptions.
///
/// A failure is traced and ignored: without chimney registration NDIS blocks chimney for this
/// driver and those below it, and the driver still works as a plain IM.
pub fn register_provider(driver_handle: SetOptionsHandle<'_>) {
    let mut generic = NdisProviderChimneyOffloadGenericCharacteristics {
        header: NdisProviderChimneyOffloadGenericCharacteristics::HEADER,
        flags: 0,
        initiate_offload_handler: Some(initiate_offload),
        terminate_offload_handler: Some(terminate_offload),
        update_offload_handler: Some(update_offload),
        invalidate_offload_handler: Some(invalidate_offload),
        query_offload_handler: Some(query_offload),
    };
    let mut tcp = NdisProviderChimneyOffloadTcpCharacteristics {
        header: NdisProviderChimneyOffloadTcpCharacteristics::HEADER,
        flags: 0,
        offload_type: chimney_offload_type::TCP,
        tcp_offload_send_handler: Some(tcp_offload_send),
        tcp_offload_receive_handler: Some(tcp_offload_receive),
        tcp_offload_disconnect_handler: Some(tcp_offload_disconnect),
        tcp_offload_forward_handler: Some(tcp_offload_forward),
        tcp_offload_receive_return_handler: Some(tcp_offload_receive_return),
    };
    register(driver_handle, &mut generic, "provider generic");
    register(driver_handle, &mut tcp, "provider TCP");
}

/// Registers the client (protocol-edge) handlers. Called from ProtocolSetOptions.
pub fn register_client(protocol_handle: SetOptionsHandle<'_>) {
    let mut generic = NdisClientChimneyOffloadGenericCharacteristics {
        header: NdisClientChimneyOffloadGenericCharacteristics::HEADER,
        flags: 0,
        initiate_offload_complete_handler: Some(initiate_offload_complete),
        terminate_offload_complete_handler: Some(terminate_offload_complete),
        update_offload_complete_handler: Some(update_offload_complete),
        invalidate_offload_complete_handler: Some(invalidate_offload_complete),
        query_offload_complete_handler: Some(query_offload_complete),
        indicate_offload_event_handler: Some(indicate_offload_event),
    };
    let mut tcp = NdisClientChimneyOffloadTcpCharacteristics {
        header: NdisClientChimneyOffloadTcpCharacteristics::HEADER,
        flags: 0,
        offload_type: chimney_offload_type::TCP,
        tcp_offload_send_complete_handler: Some(tcp_offload_send_complete),
        tcp_offload_receive_complete_handler: Some(tcp_offload_receive_complete),
        tcp_offload_disconnect_complete_handler: Some(tcp_offload_disconnect_complete),
        tcp_offload_forward_complete_handler: Some(tcp_offload_forward_complete),
        tcp_offload_event_handler: Some(tcp_offload_event),
        tcp_offload_receive_indicate_handler: Some(tcp_offload_receive_indicate),
    };
    register(protocol_handle, &mut generic, "client generic");
    register(protocol_handle, &mut tcp, "client TCP");
}

fn register<T>(handle: SetOptionsHandle<'_>, characteristics: &mut T, what: &str) {
    // PASSIVE_LEVEL inside a SetOptions handler; the characteristics live on the caller's stack.
    let status = handle.set_optional_handlers(characteristics);
    if status != NDIS_STATUS_SUCCESS {
        trace!("NdisSetOptionalHandlers({}) failed ({:#x})", what, status);
    }
}

/// MiniportInitializeEx: fetch NDIS's upward chimney table for this miniport. Without a complete
/// table, initiates are refused (so no I/O can ever arrive).
#[allow(
    clippy::not_unsafe_ptr_arg_deref,
    reason = "the miniport handle is opaque: only NDIS interprets it"
)]
pub fn on_initialize(adapter: &Adapter, miniport_handle: NdisHandle) {
    let mut table: *mut NdisOffloadEventHandlers = ptr::null_mut();
    // SAFETY: PASSIVE_LEVEL inside MiniportInitializeEx with its miniport handle; the out-pointer
    // is our local.
    let status = unsafe {
        NdisMGetOffloadHandlers(miniport_handle, chimney_offload_type::TCP, &raw mut table)
    };
    let table = table.cast::<NdisTcpOffloadEventHandlers>();
    let upcalls = if status == NDIS_STATUS_SUCCESS {
        // SAFETY: on success NDIS returns its static TCP table (or null), which lives as long as
        // NDIS does.
        unsafe { table.as_ref() }.and_then(TcpUpcalls::checked)
    } else {
        None
    };
    if upcalls.is_none() {
        trace!(
            "NdisMGetOffloadHandlers: no usable TCP table ({:#x})",
            status
        );
    }
    adapter.chimney.set_upcalls(upcalls);
}

// ---------------------------------------------------------------------------------------------
// Provider handlers (miniport edge). Context: the adapter we registered; NDIS calls them only
// between a successful initialize and the end of halt.
// ---------------------------------------------------------------------------------------------

/// Runs a state call's flow on NDIS's arguments.
///
/// # Safety
/// `context` is the MiniportAdapterContext NDIS passes to a provider handler (the miniport is
/// initialized for the call) and `list` the host's block list, ours until passed down or
/// completed.
unsafe fn state_call(
    context: NdisHandle,
    list: *mut NdisMiniportOffloadBlockList,
    flow: impl FnOnce(&Binding, MiniportHandle<'_>, BlockTree),
) {
    // SAFETY: NDIS calls provider handlers with our context only while the miniport is
    // initialized (this function's contract).
    let (binding, miniport) = unsafe { Binding::in_miniport_handler(context) };
    // SAFETY: the caller's contract: the host's live list, handed to us.
    let tree = unsafe { BlockTree::from_raw(list) };
    flow(binding, miniport, tree);
}

/// MiniportInitiateOffload.
#[doc(alias = "MiniportInitiateOffload")]
#[handler_abi::host_unwind]
unsafe extern "system" fn initiate_offload(
    context: NdisHandle,
    list: *mut NdisMiniportOffloadBlockList,
) {
    // SAFETY: NDIS's provider-handler arguments.
    unsafe { state_call(context, list, state::initiate) };
}

/// MiniportTerminateOffload.
#[doc(alias = "MiniportTerminateOffload")]
#[handler_abi::host_unwind]
unsafe extern "system" fn terminate_offload(
    context: NdisHandle,
    list: *mut NdisMiniportOffloadBlockList,
) {
    // SAFETY: NDIS's provider-handler arguments.
    unsafe { state_call(context, list, state::terminate) };
}

/// MiniportUpdateOffload.
#[doc(alias = "MiniportUpdateOffload")]
#[handler_abi::host_unwind]
unsafe extern "system" fn update_offload(
    context: NdisHandle,
    list: *mut NdisMiniportOffloadBlockList,
) {
    // SAFETY: NDIS's provider-handler arguments.
    unsafe {
        state_call(context, list, |a, m, t| {
            state::simple(StateOp::Update, a, m, t);
        });
    };
}

/// MiniportInvalidateOffload.
#[doc(alias = "MiniportInvalidateOffload")]
#[handler_abi::host_unwind]
unsafe extern "system" fn invalidate_offload(
    context: NdisHandle,
    list: *mut NdisMiniportOffloadBlockList,
) {
    // SAFETY: NDIS's provider-handler arguments.
    unsafe {
        state_call(context, list, |a, m, t| {
            state::simple(StateOp::Invalidate, a, m, t);
        });
    };
}

/// MiniportQueryOffload.
#[doc(alias = "MiniportQueryOffload")]
#[handler_abi::host_unwind]
unsafe extern "system" fn query_offload(
    context: NdisHandle,
    list: *mut NdisMiniportOffloadBlockList,
) {
    // SAFETY: NDIS's provider-handler arguments.
    unsafe {
        state_call(context, list, |a, m, t| {
            state::simple(StateOp::Query, a, m, t);
        });
    };
}

/// # Safety
/// NDIS passes our adapter context, the MiniportOffloadContext value (our published entry), and
/// the host's NBLs.
unsafe fn post(
    kind: IoKind,
    context: NdisHandle,
    offload_context: *mut c_void,
    nbls: *mut NetBufferList,
) -> NdisStatus {
    // SAFETY: the caller's contract: our adapter context on an initialized miniport.
    let (binding, miniport) = unsafe { Binding::in_miniport_handler(context) };
    // SAFETY: the host's NBLs, ours until completed.
    let chain = unsafe { NblChain::from_raw(nbls) };
    // SAFETY: the caller's contract: NDIS's MiniportOffloadContext value.
    unsafe { io::post(kind, binding, miniport, offload_context, chain) }
}

#[doc(alias = "MiniportTcpOffloadSend")]
#[handler_abi::host_unwind]
unsafe extern "system" fn tcp_offload_send(
    context: NdisHandle,
    offload_context: *mut c_void,
    nbls: *mut NetBufferList,
) -> NdisStatus {
    // SAFETY: NDIS passes our context on an initialized miniport, the connection's
    // MiniportOffloadContext (null or our published entry) and the host's NBLs, ours until
    // completed.
    unsafe { post(IoKind::Send, context, offload_context, nbls) }
}

#[doc(alias = "MiniportTcpOffloadReceive")]
#[handler_abi::host_unwind]
unsafe extern "system" fn tcp_offload_receive(
    context: NdisHandle,
    offload_context: *mut c_void,
    nbls: *mut NetBufferList,
) -> NdisStatus {
    // SAFETY: NDIS passes our context on an initialized miniport, the connection's
    // MiniportOffloadContext (null or our published entry) and the host's NBLs, ours until
    // completed.
    unsafe { post(IoKind::Receive, context, offload_context, nbls) }
}

#[doc(alias = "MiniportTcpOffloadDisconnect")]
#[handler_abi::host_unwind]
unsafe extern "system" fn tcp_offload_disconnect(
    context: NdisHandle,
    offload_context: *mut c_void,
    nbls: *mut NetBufferList,
    flags: u32,
) -> NdisStatus {
    // SAFETY: NDIS passes our context on an initialized miniport, the connection's
    // MiniportOffloadContext (null or our published entry) and the host's NBLs, ours until
    // completed.
    unsafe { post(IoKind::Disconnect(flags), context, offload_context, nbls) }
}

#[doc(alias = "MiniportTcpOffloadForward")]
#[handler_abi::host_unwind]
unsafe extern "system" fn tcp_offload_forward(
    context: NdisHandle,
    offload_context: *mut c_void,
    nbls: *mut NetBufferList,
) -> NdisStatus {
    // SAFETY: NDIS passes our context on an initialized miniport, the connection's
    // MiniportOffloadContext (null or our published entry) and the host's NBLs, ours until
    // completed.
    unsafe { post(IoKind::Forward, context, offload_context, nbls) }
}

#[doc(alias = "MiniportTcpOffloadReceiveReturn")]
#[handler_abi::host_unwind]
unsafe extern "system" fn tcp_offload_receive_return(
    context: NdisHandle,
    nbls: *mut NetBufferList,
) -> NdisStatus {
    // SAFETY: NDIS calls provider handlers with our adapter context on an initialized miniport.
    let (binding, _) = unsafe { Binding::in_miniport_handler(context) };
    // SAFETY: NBLs the target indicated, returned by the host.
    let chain = unsafe { NblChain::from_raw(nbls) };
    io::receive_return(binding, chain)
}

// ---------------------------------------------------------------------------------------------
// Client handlers (protocol edge). Context: our binding, or (TCP events and indications) our
// offload handle.
// ---------------------------------------------------------------------------------------------

/// # Safety
/// `context` is a ProtocolBindingContext NDIS passes back for a binding not yet unbound.
unsafe fn binding<'a>(context: NdisHandle) -> &'a Binding {
    // SAFETY: a ProtocolBindingContext NDIS passes back is our binding, not yet unbound.
    unsafe { Binding::from_context(context) }
}

#[doc(alias = "ProtocolInitiateOffloadComplete")]
#[handler_abi::host_unwind]
unsafe extern "system" fn initiate_offload_complete(
    _context: NdisHandle,
    list: *mut NdisProtocolOffloadBlockList,
) {
    // SAFETY: the list we passed down, completed back to us.
    let tree = unsafe { BlockTree::from_raw(list.cast()) };
    // SAFETY: it carries the record we attached.
    unsafe { state::initiate_complete(tree) };
}

#[doc(alias = "ProtocolTerminateOffloadComplete")]
#[handler_abi::host_unwind]
unsafe extern "system" fn terminate_offload_complete(
    _context: NdisHandle,
    list: *mut NdisProtocolOffloadBlockList,
) {
    // SAFETY: the list we passed down, completed back to us.
    let tree = unsafe { BlockTree::from_raw(list.cast()) };
    // SAFETY: it carries the record we attached.
    unsafe { state::terminate_complete(tree) };
}

#[doc(alias = "ProtocolUpdateOffloadComplete")]
#[handler_abi::host_unwind]
unsafe extern "system" fn update_offload_complete(
    _context: NdisHandle,
    list: *mut NdisProtocolOffloadBlockList,
) {
    // SAFETY: the list we passed down, completed back to us.
    let tree = unsafe { BlockTree::from_raw(list.cast()) };
    // SAFETY: it carries the record we attached.
    unsafe { state::simple_complete(StateOp::Update, tree) };
}

#[doc(alias = "ProtocolInvalidateOffloadComplete")]
#[handler_abi::host_unwind]
unsafe extern "system" fn invalidate_offload_complete(
    _context: NdisHandle,
    list: *mut NdisProtocolOffloadBlockList,
) {
    // SAFETY: the list we passed down, completed back to us.
    let tree = unsafe { BlockTree::from_raw(list.cast()) };
    // SAFETY: it carries the record we attached.
    unsafe { state::simple_complete(StateOp::Invalidate, tree) };
}

#[doc(alias = "ProtocolQueryOffloadComplete")]
#[handler_abi::host_unwind]
unsafe extern "system" fn query_offload_complete(
    _context: NdisHandle,
    list: *mut NdisProtocolOffloadBlockList,
) {
    // SAFETY: the list we passed down, completed back to us.
    let tree = unsafe { BlockTree::from_raw(list.cast()) };
    // SAFETY: it carries the record we attached.
    unsafe { state::simple_complete(StateOp::Query, tree) };
}

/// ProtocolIndicateOffloadEvent. No IM contract is defined (docs/chimney-contract.md §6.6; the MUX
/// sample registers NULL). Inferred: pass it up on our miniport with the blocks' handles swapped to
/// the host's for the duration of the call, then give the list back to the target unchanged.
#[doc(alias = "ProtocolIndicateOffloadEvent")]
#[handler_abi::host_unwind]
unsafe extern "system" fn indicate_offload_event(
    context: NdisHandle,
    list: *mut NdisProtocolOffloadBlockList,
    code: u32,
) {
    // SAFETY: NDIS passes back our binding context.
    let binding = unsafe { binding(context) };
    // SAFETY: the target's list (or null), ours for the duration of the call.
    let tree = unsafe { BlockTree::from_raw(list.cast()) };
    state::indicate_event(binding, tree, code);
}

#[doc(alias = "ProtocolTcpOffloadSendComplete")]
#[handler_abi::host_unwind]
unsafe extern "system" fn tcp_offload_send_complete(context: NdisHandle, nbls: *mut NetBufferList) {
    // SAFETY: NDIS passes back our binding context and NBLs we sent down.
    unsafe { complete(IoKind::Send, context, nbls) };
}

#[doc(alias = "ProtocolTcpOffloadReceiveComplete")]
#[handler_abi::host_unwind]
unsafe extern "system" fn tcp_offload_receive_complete(
    context: NdisHandle,
    nbls: *mut NetBufferList,
) {
    // SAFETY: NDIS passes back our binding context and NBLs we forwarded on it, completed.
    unsafe { complete(IoKind::Receive, context, nbls) };
}

#[doc(alias = "ProtocolTcpOffloadDisconnectComplete")]
#[handler_abi::host_unwind]
unsafe extern "system" fn tcp_offload_disconnect_complete(
    context: NdisHandle,
    nbls: *mut NetBufferList,
) {
    // SAFETY: NDIS passes back our binding context and NBLs we forwarded on it. The Flags
    // value does not come back; only the completion kind matters.
    unsafe { complete(IoKind::Disconnect(0), context, nbls) };
}

#[doc(alias = "ProtocolTcpOffloadForwardComplete")]
#[handler_abi::host_unwind]
unsafe extern "system" fn tcp_offload_forward_complete(
    context: NdisHandle,
    nbls: *mut NetBufferList,
) {
    // SAFETY: NDIS passes back our binding context and NBLs we forwarded on it, completed.
    unsafe { complete(IoKind::Forward, context, nbls) };
}

/// # Safety
/// `context` is our binding; `nbls` are NBLs we forwarded on it, completed.
unsafe fn complete(kind: IoKind, context: NdisHandle, nbls: *mut NetBufferList) {
    // SAFETY: NDIS passes back our binding context for a binding not yet unbound.
    let binding = unsafe { binding(context) };
    // SAFETY: NBLs we forwarded on this binding, completed back to us: ours again.
    let chain = unsafe { NblChain::from_raw(nbls) };
    io::complete(kind, binding, chain);
}

#[doc(alias = "ProtocolTcpOffloadEvent")]
#[handler_abi::host_unwind]
unsafe extern "system" fn tcp_offload_event(
    offload_context: *mut c_void,
    event_type: u32,
    information: u32,
) {
    // SAFETY: NDIS passes our own offload handle for a live entry.
    unsafe { io::event(offload_context, event_type, information) };
}

#[doc(alias = "ProtocolTcpOffloadReceiveIndicate")]
#[handler_abi::host_unwind]
unsafe extern "system" fn tcp_offload_receive_indicate(
    offload_context: *mut c_void,
    nbl: *mut NetBufferList,
    status: NdisStatus,
    bytes_consumed: *mut u32,
) -> NdisStatus {
    // SAFETY: NDIS passes our own offload handle for a live entry and the target's arguments.
    unsafe { io::receive_indicate(offload_context, nbl, status, bytes_consumed) }
}
