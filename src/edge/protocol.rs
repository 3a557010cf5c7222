//! The protocol edge: our binding to each lower adapter. Handler table, bind/unbind, open/close
//! completion and PnP events; the data path, OID completion and status are in
//! `crate::passthrough`.

use core::ptr;

use crate::glue::trace;
use crate::kernel::strings::{ascii_to_utf16, ndis_string_slice, static_ndis_string};
use crate::kernel::{BindingHandle, MiniportHandle, NblChain, PoolBox};
use crate::ndis::imports::{
    NdisCloseAdapterEx, NdisCloseConfiguration, NdisOpenAdapterEx, NdisOpenConfigurationEx,
    NdisReadConfiguration,
};
use crate::ndis::{
    NDIS_BIND_PARAMETERS_REVISION_1, NDIS_CONFIGURATION_OBJECT_REVISION_1, NDIS_MEDIUM_802_3,
    NDIS_OPEN_PARAMETERS_REVISION_1, NDIS_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1,
    NDIS_SIZEOF_BIND_PARAMETERS_REVISION_1, NDIS_SIZEOF_OPEN_PARAMETERS_REVISION_1,
    NDIS_SIZEOF_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1, NDIS_STATUS_FAILURE,
    NDIS_STATUS_INVALID_PARAMETER, NDIS_STATUS_PENDING, NDIS_STATUS_RESOURCES, NDIS_STATUS_SUCCESS,
    NDIS_STATUS_UNSUPPORTED_MEDIA, NdisBindParameters, NdisConfigurationObject,
    NdisConfigurationParameter, NdisHandle, NdisLinkState, NdisObjectHeader, NdisOidRequest,
    NdisOpenParameters, NdisPortNumber, NdisStatus, NdisStatusIndication, NdisString,
    NetBufferList, NetPnpEventNotification, ProtocolDriverCharacteristics, UnicodeString,
    net_event, object_type, parameter_type,
};
use crate::passthrough::{oid, receive, send, status};
use crate::state::binding::below_gate;
use crate::state::{AdapterState, Binding, BindingCounts, GLOBALS, LowerParams};

use super::{NDIS_MAJOR_VERSION, NDIS_MINOR_VERSION};

/// The protocol name, as UTF-16 for NDIS_STRING.
static PROTOCOL_NAME: [u16; crate::driver::PROTOCOL_SERVICE_NAME.len()] =
    ascii_to_utf16(crate::driver::PROTOCOL_SERVICE_NAME);
/// The per-binding configuration value naming the virtual miniport(s) to start (written by the
/// notify object in the MUX model).
static UPPER_BINDINGS: [u16; 13] = ascii_to_utf16("UpperBindings");

/// NDIS_PROTOCOL_DRIVER_CHARACTERISTICS for NDIS 6.0 (revision 1, 0x78 bytes).
pub fn characteristics() -> ProtocolDriverCharacteristics {
    ProtocolDriverCharacteristics {
        header: NdisObjectHeader::new(
            object_type::PROTOCOL_DRIVER_CHARACTERISTICS,
            NDIS_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1,
            NDIS_SIZEOF_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1,
        ),
        major_ndis_version: NDIS_MAJOR_VERSION,
        minor_ndis_version: NDIS_MINOR_VERSION,
        major_driver_version: 1,
        minor_driver_version: 0,
        flags: 0,
        name: static_ndis_string(&PROTOCOL_NAME),
        set_options_handler: Some(set_options),
        bind_adapter_handler_ex: Some(bind_adapter),
        unbind_adapter_handler_ex: Some(unbind_adapter),
        open_adapter_complete_handler_ex: Some(open_adapter_complete),
        close_adapter_complete_handler_ex: Some(close_adapter_complete),
        net_pnp_event_handler: Some(net_pnp_event),
        uninstall_handler: None,
        oid_request_complete_handler: Some(oid_request_complete),
        status_handler_ex: Some(status_indication),
        receive_net_buffer_lists_handler: Some(receive_net_buffer_lists),
        send_net_buffer_lists_complete_handler: Some(send_net_buffer_lists_complete),
        direct_oid_request_complete_handler: None,
    }
}

/// ProtocolSetOptions (PASSIVE, inside NdisRegisterProtocolDriver).
#[doc(alias = "ProtocolSetOptions")]
#[handler_abi::host_unwind]
unsafe extern "system" fn set_options(driver: NdisHandle, _context: NdisHandle) -> NdisStatus {
    // SAFETY: the NdisDriverHandle of this SetOptions call, used only during it.
    super::chimney::register_client(unsafe { crate::kernel::SetOptionsHandle::new(driver) });
    NDIS_STATUS_SUCCESS
}

/// Recovers the binding from a ProtocolBindingContext.
///
/// # Safety
/// NDIS passes back the context given to NdisOpenAdapterEx, and makes no call for a binding after
/// its unbind (or failed bind) returned, which is when the binding is freed.
unsafe fn binding<'a>(context: NdisHandle) -> &'a Binding {
    // SAFETY: a context NDIS passes back is our binding, not freed before its unbind returned.
    unsafe { Binding::from_context(context) }
}

/// ProtocolBindAdapterEx (PASSIVE): open the lower adapter, read `UpperBindings`, and ask NDIS
/// to start the virtual miniport. Synchronous: pended opens are waited for on an event.
#[doc(alias = "ProtocolBindAdapterEx")]
#[handler_abi::host_unwind]
unsafe extern "system" fn bind_adapter(
    _driver_context: NdisHandle,
    bind_context: NdisHandle,
    parameters: *mut NdisBindParameters,
) -> NdisStatus {
    if parameters.is_null() {
        return NDIS_STATUS_INVALID_PARAMETER;
    }
    // SAFETY: NDIS passes valid bind parameters for the duration of the call.
    let parameters = unsafe { &*parameters };
    let header = parameters.header;
    if header.kind != object_type::BIND_PARAMETERS
        || header.revision < NDIS_BIND_PARAMETERS_REVISION_1
        || usize::from(header.size) < NDIS_SIZEOF_BIND_PARAMETERS_REVISION_1
    {
        return NDIS_STATUS_INVALID_PARAMETER;
    }
    if parameters.media_type != NDIS_MEDIUM_802_3 {
        return NDIS_STATUS_UNSUPPORTED_MEDIA;
    }
    // SAFETY: `parameters` is the live bind-parameters block.
    let lower = unsafe { LowerParams::from_bind_parameters(parameters) };
    let Some(counts) = BindingCounts::try_new() else {
        return NDIS_STATUS_RESOURCES;
    };
    // Built in the pool block, not on this frame (the binding is over 1 KiB).
    let init = |this: *mut Binding| {
        // SAFETY: try_new_in_place passes its fresh, aligned, exclusively owned pool block.
        unsafe { Binding::write_new(this, lower, counts) };
    };
    // SAFETY: `write_new` initialises every field of the block it is given.
    let new_binding = unsafe { PoolBox::try_new_in_place(GLOBALS.miniport_driver(), init) };
    let Some(new_binding) = new_binding else {
        return NDIS_STATUS_RESOURCES;
    };
    new_binding.init_in_place(new_binding.as_ptr());
    new_binding.link.store(&NdisLinkState {
        media_connect_state: parameters.media_connect_state,
        media_duplex_state: parameters.media_duplex_state,
        xmit_link_speed: parameters.xmit_link_speed,
        rcv_link_speed: parameters.rcv_link_speed,
        ..NdisLinkState::default()
    });

    let status = open_lower(&new_binding, bind_context, parameters.adapter_name);
    if status != NDIS_STATUS_SUCCESS {
        trace!("bind: NdisOpenAdapterEx failed ({:#x})", status);
        return status;
    }
    if !read_upper_bindings(&new_binding) {
        trace!("bind: no usable UpperBindings for this adapter");
        close_lower(&new_binding);
        return NDIS_STATUS_FAILURE;
    }
    let reopened = new_binding.handle_users.reopen();
    debug_assert!(reopened);

    // From here the binding lives at a fixed address until unbind frees it.
    let binding_ptr = new_binding.into_raw();
    // SAFETY: just leaked from a PoolBox; freed only by unbind or the failure path below.
    let binding = unsafe { &*binding_ptr };
    GLOBALS.bindings.lock().push(binding);
    let status = start_miniport(binding);
    if status != NDIS_STATUS_SUCCESS {
        trace!(
            "bind: NdisIMInitializeDeviceInstanceEx failed ({:#x})",
            status
        );
        GLOBALS.bindings.lock().remove(binding);
        binding.adapter.running_handlers.drain();
        binding.handle_users.drain();
        close_lower(binding);
        // SAFETY: the binding is unpublished, closed and drained; nobody else holds it.
        drop(unsafe { PoolBox::from_raw(binding_ptr) });
        return status;
    }
    NDIS_STATUS_SUCCESS
}

/// NdisOpenAdapterEx for 802.3, waiting for ProtocolOpenAdapterCompleteEx if it pends.
fn open_lower(
    binding: &Binding,
    bind_context: NdisHandle,
    adapter_name: *mut NdisString,
) -> NdisStatus {
    let mut media = [NDIS_MEDIUM_802_3];
    let mut selected_medium: u32 = 0;
    let mut open = NdisOpenParameters {
        header: NdisObjectHeader::new(
            object_type::OPEN_PARAMETERS,
            NDIS_OPEN_PARAMETERS_REVISION_1,
            NDIS_SIZEOF_OPEN_PARAMETERS_REVISION_1,
        ),
        adapter_name,
        medium_array: media.as_mut_ptr(),
        medium_array_size: 1,
        selected_medium_index: &raw mut selected_medium,
        frame_type_array: ptr::null_mut(),
        frame_type_array_size: 0,
    };
    binding.open_complete.reset();
    // SAFETY: called inside ProtocolBindAdapterEx with its BindContext; the open parameters and
    // the media array outlive the call (we wait here if it pends); the binding handle is written
    // straight into the binding. No lock is held.
    let mut status = unsafe {
        NdisOpenAdapterEx(
            GLOBALS.protocol(),
            binding.as_context(),
            &raw mut open,
            bind_context,
            binding.handle.as_ptr(),
        )
    };
    if status == NDIS_STATUS_PENDING {
        binding.open_complete.wait();
        status = binding
            .open_status
            .load(core::sync::atomic::Ordering::Acquire);
    }
    status
}

/// NdisCloseAdapterEx, waiting for ProtocolCloseAdapterCompleteEx if it pends.
fn close_lower(binding: &Binding) {
    binding.close_complete.reset();
    // SAFETY: the binding is open and nothing is in flight on it (callers drained it); called
    // from bind or unbind. No lock is held.
    let status = unsafe { NdisCloseAdapterEx(binding.handle()) };
    if status == NDIS_STATUS_PENDING {
        binding.close_complete.wait();
    }
    binding
        .handle
        .store(ptr::null_mut(), core::sync::atomic::Ordering::Release);
}

/// Reads the first `UpperBindings` entry (the virtual miniport's `\Device\{GUID}`).
fn read_upper_bindings(binding: &Binding) -> bool {
    let mut object = NdisConfigurationObject {
        header: NdisObjectHeader::new(
            object_type::CONFIGURATION_OBJECT,
            NDIS_CONFIGURATION_OBJECT_REVISION_1,
            core::mem::size_of::<NdisConfigurationObject>(),
        ),
        ndis_handle: binding.handle(),
        flags: 0,
    };
    let mut configuration: NdisHandle = ptr::null_mut();
    // SAFETY: the binding handle is open; both pointers are to our locals. PASSIVE_LEVEL.
    let status = unsafe { NdisOpenConfigurationEx(&raw mut object, &raw mut configuration) };
    if status != NDIS_STATUS_SUCCESS {
        return false;
    }
    let mut read_status = NDIS_STATUS_FAILURE;
    let mut value: *mut NdisConfigurationParameter = ptr::null_mut();
    let mut keyword = static_ndis_string(&UPPER_BINDINGS);
    // SAFETY: the configuration handle is open; out-pointers are our locals.
    unsafe {
        NdisReadConfiguration(
            &raw mut read_status,
            &raw mut value,
            configuration,
            &raw mut keyword,
            parameter_type::MULTI_STRING,
        );
    };
    let found = read_status == NDIS_STATUS_SUCCESS && !value.is_null() && {
        // SAFETY: NDIS returned a parameter valid until NdisCloseConfiguration.
        let value = unsafe { &*value };
        matches!(
            value.parameter_type,
            parameter_type::MULTI_STRING | parameter_type::STRING
        ) && {
            // SAFETY: the string data is valid until NdisCloseConfiguration.
            let text = unsafe { ndis_string_slice(&value.string_data) };
            // SAFETY: bind owns the binding exclusively for the name: nothing reads it until
            // the binding is published, which happens after this call.
            unsafe { binding.device_name.set(text) }
        }
    };
    // SAFETY: closes the handle opened above, once.
    unsafe { NdisCloseConfiguration(configuration) };
    found
}

/// Asks NDIS to start (again) the virtual miniport of `binding`.
fn start_miniport(binding: &Binding) -> NdisStatus {
    let adapter = &binding.adapter;
    if !adapter.transition(AdapterState::Absent, AdapterState::InitPending) {
        // Already started or starting.
        return NDIS_STATUS_SUCCESS;
    }
    let mut name = binding.device_name.get().as_ndis_string();
    // The binding (device context, which becomes the MiniportAdapterContext) lives until unbind,
    // which waits for any initialize to settle.
    let status = GLOBALS
        .miniport_driver_handle()
        .im_initialize_device_instance(&mut name, binding.as_context());
    if status != NDIS_STATUS_SUCCESS {
        let _ = adapter.transition(AdapterState::InitPending, AdapterState::Absent);
    }
    status
}

/// Stops the virtual miniport of `binding` and waits until NDIS is done with it: cancels a
/// pending initialize, or de-initializes (NDIS then pauses and halts it).
fn stop_miniport(binding: &Binding) {
    let adapter = &binding.adapter;
    loop {
        match adapter.state() {
            AdapterState::Absent => return,
            AdapterState::InitPending => {
                let mut name = binding.device_name.get().as_ndis_string();
                let status = GLOBALS
                    .miniport_driver_handle()
                    .im_cancel_initialize_device_instance(&mut name);
                if status == NDIS_STATUS_SUCCESS
                    && adapter.transition(AdapterState::InitPending, AdapterState::Absent)
                {
                    return;
                }
                // MiniportInitializeEx is running or about to: wait for it to settle.
                adapter.wait_for_state(|s| {
                    !matches!(s, AdapterState::InitPending | AdapterState::Initializing)
                });
            }
            AdapterState::Initializing | AdapterState::Halting => {
                adapter.wait_for_state(|s| {
                    !matches!(s, AdapterState::Initializing | AdapterState::Halting)
                });
            }
            AdapterState::Paused | AdapterState::Running | AdapterState::Pausing => {
                // SAFETY: the miniport is initialized (Paused/Running/Pausing), and stays so until
                // the halt this call starts; the handle is used only for this call.
                let miniport = unsafe { MiniportHandle::new(adapter.miniport_handle()) };
                let status = miniport.im_deinitialize();
                if status != NDIS_STATUS_SUCCESS {
                    trace!("NdisIMDeInitializeDeviceInstance failed ({:#x})", status);
                }
                // NDIS pauses and halts the miniport, maybe on another thread. The binding must
                // not close while the miniport can still use it, so wait whatever the status.
                adapter.wait_for_state(|s| s == AdapterState::Absent);
            }
        }
    }
}

/// ProtocolUnbindAdapterEx (PASSIVE): NDIS has paused the binding. Stop the virtual miniport,
/// drain what is still in flight, close the lower adapter and free the binding.
#[doc(alias = "ProtocolUnbindAdapterEx")]
#[handler_abi::host_unwind]
unsafe extern "system" fn unbind_adapter(
    _unbind_context: NdisHandle,
    context: NdisHandle,
) -> NdisStatus {
    // SAFETY: NDIS passes back our ProtocolBindingContext and makes no call for a binding after
    // its unbind returned, which is when it is freed.
    let binding = unsafe { binding(context) };
    GLOBALS.bindings.lock().remove(binding);
    stop_miniport(binding);
    // The halt (or failed initialize) has changed the state but may not have returned yet.
    binding.adapter.running_handlers.drain();
    binding.drain_below(below_gate::UNBINDING);
    binding.handle_users.drain();
    close_lower(binding);
    // SAFETY: `allocation()` is the pointer PoolBox allocated the binding at (stored by
    // `init_in_place`; bind then gave it up with into_raw), not one made from `&Binding`. The
    // binding is unpublished, its miniport is gone, everything on it drained and the adapter
    // closed: NDIS holds no reference to it.
    drop(unsafe { PoolBox::from_raw(binding.allocation()) });
    NDIS_STATUS_SUCCESS
}

#[doc(alias = "ProtocolOpenAdapterCompleteEx")]
#[handler_abi::host_unwind]
unsafe extern "system" fn open_adapter_complete(context: NdisHandle, status: NdisStatus) {
    // SAFETY: the context we gave NdisOpenAdapterEx; bind waits for this completion, so the
    // binding is live.
    let binding = unsafe { binding(context) };
    binding.record_open_status(status);
    binding.open_complete.set();
}

#[doc(alias = "ProtocolCloseAdapterCompleteEx")]
#[handler_abi::host_unwind]
unsafe extern "system" fn close_adapter_complete(context: NdisHandle) {
    // SAFETY: the context we gave NdisOpenAdapterEx; bind or unbind waits for this completion,
    // so the binding is live.
    let binding = unsafe { binding(context) };
    binding.close_complete.set();
}

/// ProtocolNetPnPEvent (PASSIVE).
#[doc(alias = "ProtocolNetPnPEvent")]
#[handler_abi::host_unwind]
unsafe extern "system" fn net_pnp_event(
    context: NdisHandle,
    notification: *mut NetPnpEventNotification,
) -> NdisStatus {
    if notification.is_null() {
        return NDIS_STATUS_INVALID_PARAMETER;
    }
    // SAFETY: NDIS passes a valid notification for the duration of the call.
    let event = unsafe { &(*notification).net_pnp_event };
    if context.is_null() {
        // Global events (no binding): only re-enable needs work, by device name.
        if event.net_event == net_event::IM_RE_ENABLE_DEVICE {
            return reenable_by_name(event.buffer.cast(), event.buffer_length);
        }
        return NDIS_STATUS_SUCCESS;
    }
    // SAFETY: NDIS passes back our ProtocolBindingContext and makes no call for a binding after
    // its unbind returned, which is when it is freed.
    let binding = unsafe { binding(context) };
    match event.net_event {
        net_event::PAUSE => {
            // The binding is paused once nothing forwarded on it is still below.
            binding.drain_below(below_gate::LOWER_PAUSED);
            NDIS_STATUS_SUCCESS
        }
        net_event::RESTART => {
            // Reopen fails only if the binding was not paused; it stays as it is then.
            let _ = binding.reopen_below(below_gate::LOWER_PAUSED);
            NDIS_STATUS_SUCCESS
        }
        // NetEventSetPower: the lower miniport handles its own power; nothing of ours changes.
        net_event::IM_RE_ENABLE_DEVICE => start_miniport(binding),
        _ => NDIS_STATUS_SUCCESS,
    }
}

/// NetEventIMReEnableDevice without a binding context: find the binding by device name.
fn reenable_by_name(name: *const UnicodeString, length: u32) -> NdisStatus {
    if name.is_null() || (length as usize) < core::mem::size_of::<UnicodeString>() {
        return NDIS_STATUS_INVALID_PARAMETER;
    }
    // SAFETY: the event buffer holds an NDIS_STRING valid for the duration of the event.
    let name = unsafe { &*name };
    // SAFETY: its text is valid for the duration of the event too.
    let name = unsafe { ndis_string_slice(name) };
    let found = GLOBALS
        .bindings
        .lock()
        .find(|b| b.device_name.get().eq_ignore_ascii_case(name) && b.handle_users.try_acquire(1));
    let Some(binding) = found else {
        return NDIS_STATUS_SUCCESS;
    };
    // SAFETY: the request reference taken under the list lock keeps the binding alive: unbind
    // unlinks it, then drains `requests` before freeing it.
    let binding = unsafe { &*binding };
    let status = start_miniport(binding);
    binding.handle_users.release(1);
    status
}

#[doc(alias = "ProtocolOidRequestComplete")]
#[handler_abi::host_unwind]
unsafe extern "system" fn oid_request_complete(
    context: NdisHandle,
    request: *mut NdisOidRequest,
    status: NdisStatus,
) {
    // SAFETY: NDIS passes back our ProtocolBindingContext and makes no call for a binding after
    // its unbind returned, which is when it is freed.
    let binding = unsafe { binding(context) };
    // SAFETY: NDIS completes a clone we forwarded on this binding.
    unsafe { oid::complete(binding, request, status) };
}

#[doc(alias = "ProtocolStatusEx")]
#[handler_abi::host_unwind]
unsafe extern "system" fn status_indication(
    context: NdisHandle,
    indication: *mut NdisStatusIndication,
) {
    if indication.is_null() {
        return;
    }
    // SAFETY: NDIS passes back our ProtocolBindingContext and makes no call for a binding after
    // its unbind returned, which is when it is freed.
    let binding = unsafe { binding(context) };
    // SAFETY: NDIS passes a valid indication for the duration of the call.
    unsafe { status::indicate(binding, indication) };
}

#[doc(alias = "ProtocolReceiveNetBufferLists")]
#[handler_abi::host_unwind]
unsafe extern "system" fn receive_net_buffer_lists(
    context: NdisHandle,
    net_buffer_lists: *mut NetBufferList,
    port: NdisPortNumber,
    _count: u32,
    flags: u32,
) {
    // SAFETY: NDIS passes back our ProtocolBindingContext and makes no call for a binding after
    // its unbind returned, which is when it is freed.
    let binding = unsafe { binding(context) };
    // SAFETY: NDIS indicates receives only on an open binding, which stays open for the call.
    let lower = unsafe { BindingHandle::new(binding.handle()) };
    // SAFETY: the lower miniport's NBLs, ours until returned (or until this call returns, with
    // NDIS_RECEIVE_FLAGS_RESOURCES).
    let chain = unsafe { NblChain::from_raw(net_buffer_lists) };
    receive::receive(binding, lower, chain, port, flags);
}

#[doc(alias = "ProtocolSendNetBufferListsComplete")]
#[handler_abi::host_unwind]
unsafe extern "system" fn send_net_buffer_lists_complete(
    context: NdisHandle,
    net_buffer_lists: *mut NetBufferList,
    flags: u32,
) {
    // SAFETY: NDIS passes back our ProtocolBindingContext and makes no call for a binding after
    // its unbind returned, which is when it is freed.
    let binding = unsafe { binding(context) };
    // SAFETY: sends we forwarded on this binding, handed back to us.
    let chain = unsafe { NblChain::from_raw(net_buffer_lists) };
    send::send_complete(binding, chain, flags);
}
