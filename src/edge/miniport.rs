//! The miniport edge: the virtual adapter the host binds to. Handler table and lifecycle
//! handlers; the data path and OIDs are in `crate::passthrough`.

use core::ffi::c_void;
use core::ptr;

use crate::glue::trace;
use crate::kernel::NblChain;
use crate::ndis::imports::{
    NdisIfAddIfStackEntry, NdisIfDeleteIfStackEntry, NdisMSetMiniportAttributes,
};
use crate::ndis::{
    MiniportAdapterAttributes, MiniportAdapterGeneralAttributes,
    MiniportAdapterRegistrationAttributes, MiniportDriverCharacteristics, MiniportInitParameters,
    MiniportPauseParameters, MiniportRestartParameters, NDIS_INTERFACE_INTERNAL,
    NDIS_INTERMEDIATE_DRIVER, NDIS_MAC_OPTION_NO_LOOPBACK,
    NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_1,
    NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_1,
    NDIS_MINIPORT_ATTRIBUTES_NO_HALT_ON_SUSPEND, NDIS_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_1,
    NDIS_SIZEOF_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_1,
    NDIS_SIZEOF_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_1,
    NDIS_SIZEOF_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_1, NDIS_STATUS_FAILURE,
    NDIS_STATUS_PENDING, NDIS_STATUS_SUCCESS, NdisHandle, NdisObjectHeader, NdisOidRequest,
    NdisPortNumber, NdisStatus, NetBufferList, NetDevicePnpEvent, device_pnp_event, object_type,
    oids,
};
use crate::passthrough::{oid, receive, send};
use crate::state::binding::below_gate;
use crate::state::{AdapterState, Binding, Forward, Path};

use super::{NDIS_MAJOR_VERSION, NDIS_MINOR_VERSION};

/// NDIS_MINIPORT_DRIVER_CHARACTERISTICS for NDIS 6.0 (revision 1, 0x88 bytes).
pub fn characteristics() -> MiniportDriverCharacteristics {
    MiniportDriverCharacteristics {
        header: NdisObjectHeader::new(
            object_type::MINIPORT_DRIVER_CHARACTERISTICS,
            NDIS_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_1,
            NDIS_SIZEOF_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_1,
        ),
        major_ndis_version: NDIS_MAJOR_VERSION,
        minor_ndis_version: NDIS_MINOR_VERSION,
        major_driver_version: 1,
        minor_driver_version: 0,
        flags: NDIS_INTERMEDIATE_DRIVER,
        set_options_handler: Some(set_options),
        initialize_handler_ex: Some(initialize),
        halt_handler_ex: Some(halt),
        unload_handler: Some(crate::driver::unload),
        pause_handler: Some(pause),
        restart_handler: Some(restart),
        oid_request_handler: Some(oid_request),
        send_net_buffer_lists_handler: Some(send_net_buffer_lists),
        return_net_buffer_lists_handler: Some(return_net_buffer_lists),
        cancel_send_handler: Some(cancel_send),
        // An IM must leave these two NULL.
        check_for_hang_handler_ex: None,
        reset_handler_ex: None,
        device_pnp_event_notify_handler: Some(device_pnp_event_notify),
        shutdown_handler_ex: Some(shutdown),
        cancel_oid_request_handler: Some(cancel_oid_request),
        direct_oid_request_handler: None,
        cancel_direct_oid_request_handler: None,
        synchronous_oid_request_handler: None,
    }
}

/// MiniportSetOptions (PASSIVE, inside NdisMRegisterMiniportDriver).
#[doc(alias = "MiniportSetOptions")]
#[handler_abi::host_unwind]
unsafe extern "system" fn set_options(driver: NdisHandle, _context: NdisHandle) -> NdisStatus {
    // SAFETY: the NdisDriverHandle of this SetOptions call, used only during it.
    super::chimney::register_provider(unsafe { crate::kernel::SetOptionsHandle::new(driver) });
    NDIS_STATUS_SUCCESS
}

/// OIDs the virtual miniport reports in its general attributes. Everything is forwarded below.
static SUPPORTED_OIDS: [u32; 16] = [
    oids::OID_GEN_SUPPORTED_LIST,
    oids::OID_GEN_HARDWARE_STATUS,
    oids::OID_GEN_MEDIA_SUPPORTED,
    oids::OID_GEN_MEDIA_IN_USE,
    oids::OID_GEN_MAXIMUM_FRAME_SIZE,
    oids::OID_GEN_LINK_SPEED,
    oids::OID_GEN_VENDOR_DESCRIPTION,
    oids::OID_GEN_CURRENT_PACKET_FILTER,
    oids::OID_GEN_CURRENT_LOOKAHEAD,
    oids::OID_GEN_MAXIMUM_TOTAL_SIZE,
    oids::OID_GEN_MEDIA_CONNECT_STATUS,
    oids::OID_GEN_STATISTICS,
    oids::OID_802_3_PERMANENT_ADDRESS,
    oids::OID_802_3_CURRENT_ADDRESS,
    oids::OID_802_3_MULTICAST_LIST,
    oids::OID_PNP_CAPABILITIES,
];

/// MiniportInitializeEx (PASSIVE): PnP starts the virtual miniport that bind asked for with
/// NdisIMInitializeDeviceInstanceEx, possibly later and on another thread.
#[doc(alias = "MiniportInitializeEx")]
#[handler_abi::host_unwind]
unsafe extern "system" fn initialize(
    miniport_handle: NdisHandle,
    _driver_context: NdisHandle,
    parameters: *mut MiniportInitParameters,
) -> NdisStatus {
    if parameters.is_null() {
        return NDIS_STATUS_FAILURE;
    }
    // SAFETY: NDIS passes valid init parameters for the duration of the call.
    let parameters = unsafe { &*parameters };
    let context = parameters.im_device_instance_context;
    if context.is_null() {
        return NDIS_STATUS_FAILURE;
    }
    // SAFETY: IMDeviceInstanceContext is the binding we gave NdisIMInitializeDeviceInstanceEx;
    // unbind waits for this initialize to return before freeing it.
    let binding = unsafe { Binding::from_context(context) };
    // Held for the whole handler: dropping it is the handler's last access (unbind waits for it).
    let running = binding.adapter.running_handlers.enter();
    debug_assert!(running.is_some(), "MiniportInitializeEx after unbind");
    let status = initialize_adapter(binding, miniport_handle, parameters.if_index);
    drop(running);
    status
}

fn initialize_adapter(binding: &Binding, miniport_handle: NdisHandle, if_index: u32) -> NdisStatus {
    let adapter = &binding.adapter;
    if !adapter.transition(AdapterState::InitPending, AdapterState::Initializing) {
        return NDIS_STATUS_FAILURE;
    }
    adapter.set_miniport_handle(miniport_handle);
    let status = set_attributes(binding, miniport_handle);
    if status != NDIS_STATUS_SUCCESS {
        trace!("MiniportInitializeEx: attributes refused ({:#x})", status);
        adapter.set_miniport_handle(ptr::null_mut());
        adapter.set_state(AdapterState::Absent);
        return status;
    }
    add_if_stack_entry(binding, if_index);
    super::chimney::on_initialize(adapter, miniport_handle);
    let reopened = adapter.handle_users.reopen() && adapter.chimney.live_entries.reopen();
    debug_assert!(reopened, "rundowns not closed before initialize");
    adapter.set_state(AdapterState::Paused);
    trace!("virtual miniport initialized");
    NDIS_STATUS_SUCCESS
}

/// Stacks our interface on the bound adapter's, as IM drivers do, so that the interface stack
/// (and everything that reads it) shows the virtual miniport above the NIC. Not fatal: the driver
/// passes traffic without it.
fn add_if_stack_entry(binding: &Binding, if_index: u32) {
    let lower = binding.lower.bound_if_index;
    if if_index == 0 || lower == 0 {
        return;
    }
    // SAFETY: PASSIVE_LEVEL inside MiniportInitializeEx; plain interface indices. No lock is held.
    let status = unsafe { NdisIfAddIfStackEntry(if_index, lower) };
    if status == NDIS_STATUS_SUCCESS {
        binding
            .adapter
            .if_stack_higher
            .store(if_index, core::sync::atomic::Ordering::Release);
    } else {
        trace!(
            "NdisIfAddIfStackEntry({}, {}) failed ({:#x})",
            if_index, lower, status
        );
    }
}

/// Removes the interface stack entry added at initialize, if any. PASSIVE_LEVEL (halt).
fn delete_if_stack_entry(binding: &Binding) {
    let higher = binding
        .adapter
        .if_stack_higher
        .swap(0, core::sync::atomic::Ordering::AcqRel);
    if higher != 0 {
        let lower = binding.lower.bound_if_index;
        // SAFETY: the entry added in initialize, removed once. No lock is held.
        unsafe { NdisIfDeleteIfStackEntry(higher, lower) };
    }
}

/// Registration attributes, then general attributes mirrored from the lower binding.
fn set_attributes(binding: &Binding, miniport_handle: NdisHandle) -> NdisStatus {
    let mut registration = MiniportAdapterRegistrationAttributes {
        header: NdisObjectHeader::new(
            object_type::MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES,
            NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_1,
            NDIS_SIZEOF_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_1,
        ),
        miniport_adapter_context: binding.as_context(),
        attribute_flags: NDIS_MINIPORT_ATTRIBUTES_NO_HALT_ON_SUSPEND,
        check_for_hang_time_in_seconds: 0,
        interface_type: NDIS_INTERFACE_INTERNAL,
    };
    // SAFETY: the miniport handle is the one NDIS passed to this initialize; the attributes live
    // on our stack for the call.
    let status = unsafe {
        NdisMSetMiniportAttributes(
            miniport_handle,
            (&raw mut registration).cast::<MiniportAdapterAttributes>(),
        )
    };
    if status != NDIS_STATUS_SUCCESS {
        return status;
    }
    let lower = &binding.lower;
    let link = &binding.link;
    let pm = lower
        .pm_capabilities
        .as_ref()
        .map_or(ptr::null_mut(), |caps| ptr::from_ref(caps).cast_mut());
    let load = core::sync::atomic::Ordering::Relaxed;
    let mut general = MiniportAdapterGeneralAttributes {
        header: NdisObjectHeader::new(
            object_type::MINIPORT_ADAPTER_GENERAL_ATTRIBUTES,
            NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_1,
            NDIS_SIZEOF_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_1,
        ),
        flags: 0,
        media_type: lower.media_type,
        physical_medium_type: lower.physical_medium_type,
        mtu_size: lower.mtu_size,
        max_xmit_link_speed: lower.max_xmit_link_speed,
        xmit_link_speed: link.xmit_link_speed.load(load),
        max_rcv_link_speed: lower.max_rcv_link_speed,
        rcv_link_speed: link.rcv_link_speed.load(load),
        media_connect_state: link.media_connect_state.load(load),
        media_duplex_state: link.media_duplex_state.load(load),
        lookahead_size: lower.lookahead_size,
        power_management_capabilities: pm,
        mac_options: NDIS_MAC_OPTION_NO_LOOPBACK,
        supported_packet_filters: lower.supported_packet_filters,
        max_multicast_list_size: lower.max_multicast_list_size,
        mac_address_length: lower.mac_address_length,
        permanent_mac_address: lower.current_mac_address,
        current_mac_address: lower.current_mac_address,
        recv_scale_capabilities: ptr::null_mut(),
        access_type: lower.access_type,
        direction_type: lower.direction_type,
        connection_type: lower.connection_type,
        if_type: lower.if_type,
        if_connector_present: 0,
        supported_statistics: 0,
        supported_pause_functions: 0,
        data_back_fill_size: 0,
        context_back_fill_size: 0,
        supported_oid_list: SUPPORTED_OIDS.as_ptr().cast_mut(),
        #[allow(clippy::cast_possible_truncation, reason = "16 OIDs")]
        supported_oid_list_length: core::mem::size_of_val(&SUPPORTED_OIDS) as u32,
        auto_negotiation_flags: 0,
        power_management_capabilities_ex: ptr::null_mut(),
    };
    // SAFETY: the miniport handle NDIS passed to this initialize; the attributes live on our
    // stack for the call, and NDIS copies them and the (static) OID list during it.
    unsafe {
        NdisMSetMiniportAttributes(
            miniport_handle,
            (&raw mut general).cast::<MiniportAdapterAttributes>(),
        )
    }
}

/// Recovers the binding from the MiniportAdapterContext (our binding: the virtual miniport is
/// embedded in it).
///
/// # Safety
/// `context` is the MiniportAdapterContext NDIS passes to a miniport handler: NDIS calls them
/// only between a successful initialize and the end of halt, and unbind frees the binding only
/// after halt returned.
unsafe fn binding<'a>(context: NdisHandle) -> &'a Binding {
    // SAFETY: the caller's contract: the context we registered, not yet freed.
    unsafe { Binding::from_context(context) }
}

/// MiniportHaltEx (PASSIVE): after a pause. Waits, on events, until every forwarded OID and
/// in-flight operation has drained, then forgets the miniport handle.
#[doc(alias = "MiniportHaltEx")]
#[handler_abi::host_unwind]
unsafe extern "system" fn halt(context: NdisHandle, action: u32) {
    // SAFETY: NDIS calls miniport handlers with our context only while the miniport is
    // initialized; unbind frees the binding only after MiniportHaltEx returned.
    let binding = unsafe { binding(context) };
    // Held for the whole handler: dropping it is the handler's last access (unbind waits for it).
    let running = binding.adapter.running_handlers.enter();
    debug_assert!(running.is_some(), "MiniportHaltEx after unbind");
    trace!("MiniportHaltEx, action {}", action);
    halt_adapter(binding);
    drop(running);
}

fn halt_adapter(binding: &Binding) {
    let adapter = &binding.adapter;
    adapter.set_state(AdapterState::Halting);
    adapter.drain_nbls();
    // After a completed pause the NBLs below are drained already; a halt without one (which NDIS
    // does not do) still waits for them here.
    binding.drain_below(below_gate::MINIPORT_STOPPED);
    // Offloaded state must be gone (the host uploads when it unbinds); terminates still need
    // the request rundown, so it closes last.
    adapter.chimney.live_entries.drain();
    adapter.handle_users.drain();
    delete_if_stack_entry(binding);
    adapter.set_miniport_handle(ptr::null_mut());
    adapter.set_state(AdapterState::Absent);
}

/// MiniportPause (PASSIVE): stop the data path; complete now if nothing is in flight, else pend
/// and let the last completion call NdisMPauseComplete.
#[doc(alias = "MiniportPause")]
#[handler_abi::host_unwind]
unsafe extern "system" fn pause(
    context: NdisHandle,
    _parameters: *mut MiniportPauseParameters,
) -> NdisStatus {
    // SAFETY: NDIS calls miniport handlers with our context only while the miniport is
    // initialized; unbind frees the binding only after MiniportHaltEx returned.
    let binding = unsafe { binding(context) };
    if binding.begin_miniport_pause() {
        NDIS_STATUS_SUCCESS
    } else {
        NDIS_STATUS_PENDING
    }
}

/// MiniportRestart (PASSIVE).
#[doc(alias = "MiniportRestart")]
#[handler_abi::host_unwind]
unsafe extern "system" fn restart(
    context: NdisHandle,
    _parameters: *mut MiniportRestartParameters,
) -> NdisStatus {
    // SAFETY: NDIS calls miniport handlers with our context only while the miniport is
    // initialized; unbind frees the binding only after MiniportHaltEx returned.
    let binding = unsafe { binding(context) };
    let adapter = &binding.adapter;
    // The NBLs below open only if the lower binding runs too (its own gate).
    if !adapter.nbls_in_flight.reopen() || !binding.reopen_below(below_gate::MINIPORT_STOPPED) {
        return NDIS_STATUS_FAILURE;
    }
    adapter.set_state(AdapterState::Running);
    NDIS_STATUS_SUCCESS
}

#[doc(alias = "MiniportOidRequest")]
#[handler_abi::host_unwind]
unsafe extern "system" fn oid_request(
    context: NdisHandle,
    request: *mut NdisOidRequest,
) -> NdisStatus {
    // SAFETY: NDIS calls miniport handlers with our context only while the miniport is
    // initialized; unbind frees the binding only after MiniportHaltEx returned.
    let binding = unsafe { binding(context) };
    // SAFETY: NDIS passes a live request.
    unsafe { oid::request(binding, request) }
}

#[doc(alias = "MiniportSendNetBufferLists")]
#[handler_abi::host_unwind]
unsafe extern "system" fn send_net_buffer_lists(
    context: NdisHandle,
    net_buffer_lists: *mut NetBufferList,
    port: NdisPortNumber,
    flags: u32,
) {
    // SAFETY: MiniportSendNetBufferLists is called only on an initialized miniport.
    let (binding, miniport) = unsafe { Binding::in_miniport_handler(context) };
    // SAFETY: the chain is the host's, handed to us until we complete it.
    let chain = unsafe { NblChain::from_raw(net_buffer_lists) };
    send::send(binding, miniport, chain, port, flags);
}

#[doc(alias = "MiniportReturnNetBufferLists")]
#[handler_abi::host_unwind]
unsafe extern "system" fn return_net_buffer_lists(
    context: NdisHandle,
    net_buffer_lists: *mut NetBufferList,
    flags: u32,
) {
    // SAFETY: NDIS calls miniport handlers with our context only while the miniport is
    // initialized; unbind frees the binding only after MiniportHaltEx returned.
    let binding = unsafe { binding(context) };
    // SAFETY: NBLs we indicated, handed back to us.
    let chain = unsafe { NblChain::from_raw(net_buffer_lists) };
    receive::return_nbls(binding, chain, flags);
}

#[doc(alias = "MiniportCancelSend")]
#[handler_abi::host_unwind]
unsafe extern "system" fn cancel_send(context: NdisHandle, cancel_id: *mut c_void) {
    // SAFETY: NDIS calls miniport handlers with our context only while the miniport is
    // initialized; unbind frees the binding only after MiniportHaltEx returned.
    let binding = unsafe { binding(context) };
    let Some(token) = Forward::acquire(binding, Path::BindingOnly, 1) else {
        return;
    };
    // Sends carry the host's CancelId in their NetBufferListInfo, which we forward untouched.
    token.lower().cancel_sends(cancel_id);
}

#[doc(alias = "MiniportCancelOidRequest")]
#[handler_abi::host_unwind]
unsafe extern "system" fn cancel_oid_request(context: NdisHandle, request_id: *mut c_void) {
    // SAFETY: NDIS calls miniport handlers with our context only while the miniport is
    // initialized; unbind frees the binding only after MiniportHaltEx returned.
    let binding = unsafe { binding(context) };
    oid::cancel(binding, request_id);
}

/// MiniportDevicePnPEventNotify (PASSIVE). A virtual device has no hardware to stop; surprise
/// removal is followed by pause and halt, which do the work.
#[doc(alias = "MiniportDevicePnPEventNotify")]
#[handler_abi::host_unwind]
unsafe extern "system" fn device_pnp_event_notify(
    context: NdisHandle,
    event: *mut NetDevicePnpEvent,
) {
    if event.is_null() {
        return;
    }
    // SAFETY: NDIS passes a valid event for the duration of the call.
    let code = unsafe { (*event).device_pnp_event };
    if code == device_pnp_event::SURPRISE_REMOVED {
        // SAFETY: NDIS calls miniport handlers with our context only while the miniport is
        // initialized; unbind frees the binding only after MiniportHaltEx returned.
        let adapter = unsafe { &binding(context).adapter };
        trace!("surprise removal (state {:?})", adapter.state());
    }
}

/// MiniportShutdownEx: may run at high IRQL on bugcheck, where no NDIS call is allowed. There is
/// no hardware to quiesce.
#[doc(alias = "MiniportShutdownEx")]
#[handler_abi::host_unwind]
unsafe extern "system" fn shutdown(_context: NdisHandle, _action: u32) {}
