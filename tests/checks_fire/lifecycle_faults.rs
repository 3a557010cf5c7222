//! Faulty lifecycle handlers (installed with `faulty::install`): MiniportInitializeEx with one
//! wrong extra call while initializing, MiniportHaltEx, MiniportPause, MiniportDriverUnload,
//! MiniportOidRequest and ProtocolBindAdapterEx breaking one rule around the real handler.

use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

use chimney_im::ndis::*;
use ndis_model::exports::{binding, chimney, datapath, device, oid};
use ndis_model::{LowerAdapterConfig, Model, ModelConfig};

use super::faulty::{HANDLE, handle, install, real};

/// Which wrong call `initialize_with_fault` makes.
pub static INIT_FAULT: AtomicU32 = AtomicU32::new(0);
pub const INIT_GET_HANDLERS_NULL: u32 = 1;
pub const INIT_COMPLETES_OFFLOAD: u32 = 2;
pub const INIT_REGISTRATION_NULL_CONTEXT: u32 = 3;
pub const INIT_REGISTRATION_WITHOUT_NO_HALT: u32 = 4;
pub const INIT_GENERAL_BAD_VALUES: u32 = 5;
pub const INIT_DEINIT: u32 = 6;
pub const INIT_SEND_COMPLETE: u32 = 7;
pub const INIT_IF_STACK_EXTRA_KEPT: u32 = 8;

/// Loads the driver with `initialize_with_fault` doing `fault`, then binds one adapter (whose
/// virtual miniport start runs it).
pub fn init_fault(fault: u32) -> Model {
    INIT_FAULT.store(fault, Relaxed);
    let mut m = Model::load(ModelConfig::default().seed(126));
    install(&mut m, |mp, _| mp.initialize = initialize_with_fault);
    let a = m.add_adapter(LowerAdapterConfig::ethernet(1));
    m.bind(a);
    m
}

/// Registration attributes: the IM's flag, a non-NULL context, unless the fault says otherwise.
fn registration(ctx: usize, flags: u32) -> MiniportAdapterRegistrationAttributes {
    MiniportAdapterRegistrationAttributes {
        header: NdisObjectHeader::new(
            object_type::MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES,
            1,
            NDIS_SIZEOF_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_1,
        ),
        miniport_adapter_context: ctx as NdisHandle,
        attribute_flags: flags,
        check_for_hang_time_in_seconds: 0,
        interface_type: 0,
    }
}

fn set(mh: NdisHandle, attributes: *mut NdisObjectHeader) {
    // SAFETY: the miniport handle of the running MiniportInitializeEx and attributes on the
    // caller's frame.
    unsafe { device::NdisMSetMiniportAttributes(mh, attributes.cast()) };
}

/// MiniportInitializeEx around the real one, with one extra, wrong call (`INIT_FAULT`) while
/// the miniport is initializing. Attributes set wrongly come first: the real handler sets them
/// right afterwards.
pub unsafe extern "system-unwind" fn initialize_with_fault(
    mh: NdisHandle,
    ctx: NdisHandle,
    params: *mut MiniportInitParameters,
) -> NdisStatus {
    const NO_HALT: u32 = NDIS_MINIPORT_ATTRIBUTES_NO_HALT_ON_SUSPEND;
    match INIT_FAULT.load(Relaxed) {
        INIT_GET_HANDLERS_NULL => {
            // SAFETY: the miniport handle of this call; a NULL out pointer (the fault).
            unsafe { chimney::NdisMGetOffloadHandlers(mh, 1, std::ptr::null_mut()) };
        }
        INIT_COMPLETES_OFFLOAD => {
            // SAFETY: NdisMiniportOffloadBlockList is plain data; all-zero is valid.
            let mut list: NdisMiniportOffloadBlockList = unsafe { core::mem::zeroed() };
            // SAFETY: a zeroed list on this frame (no SourceHandle), completed on a miniport
            // that is still initializing (the fault).
            unsafe { chimney::NdisMInitiateOffloadComplete(mh, &raw mut list) };
        }
        INIT_REGISTRATION_NULL_CONTEXT => {
            let mut r = registration(0, NO_HALT);
            set(mh, &raw mut r.header);
        }
        INIT_REGISTRATION_WITHOUT_NO_HALT => {
            let mut r = registration(0x1000, 0);
            set(mh, &raw mut r.header);
        }
        INIT_GENERAL_BAD_VALUES => {
            let mut r = registration(0x1000, NO_HALT);
            set(mh, &raw mut r.header);
            // SAFETY: the general attributes are plain data; all-zero is valid.
            let mut g: MiniportAdapterGeneralAttributes = unsafe { core::mem::zeroed() };
            g.header = NdisObjectHeader::new(
                object_type::MINIPORT_ADAPTER_GENERAL_ATTRIBUTES,
                1,
                NDIS_SIZEOF_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_1,
            );
            // MediaType 0 is NdisMedium802_3: the fault is the MAC address length.
            g.mac_address_length = 4;
            set(mh, &raw mut g.header);
        }
        INIT_DEINIT => {
            // SAFETY: the miniport handle of this call, still initializing (the fault).
            unsafe { device::NdisIMDeInitializeDeviceInstance(mh) };
        }
        INIT_SEND_COMPLETE => {
            // SAFETY: an NBL the driver does not own, completed on a miniport that is still
            // initializing; both looked up before use.
            unsafe {
                datapath::NdisMSendNetBufferListsComplete(mh, super::setups::foreign_nbl(), 0)
            };
        }
        _ => {}
    }
    // SAFETY: NDIS's own arguments, forwarded to the real handler.
    let st = unsafe { (real().0.initialize)(mh, ctx, params) };
    if INIT_FAULT.load(Relaxed) == INIT_IF_STACK_EXTRA_KEPT {
        // SAFETY: NDIS's initialize parameters, valid for this call.
        let if_index = unsafe { (*params).if_index };
        // SAFETY: a second entry over an interface that is not the bound adapter (the fault),
        // never deleted.
        unsafe { device::NdisIfAddIfStackEntry(if_index, 999) };
    }
    st
}

/// MiniportHaltEx that indicates a status first (the miniport is halting), then halts.
pub unsafe extern "system-unwind" fn halt_indicates_status(c: NdisHandle, action: u32) {
    let mh = handle();
    let mut s = super::setups::status_indication(mh as usize);
    // SAFETY: a well-formed indication on this frame, on a halting miniport (the fault).
    unsafe { oid::NdisMIndicateStatusEx(mh, &raw mut s) };
    // SAFETY: NDIS's own arguments, forwarded.
    unsafe { (real().0.halt)(c, action) };
}

/// MiniportPause that completes the pause itself and then returns what the real one returned.
pub unsafe extern "system-unwind" fn pause_completes_and_returns(
    c: NdisHandle,
    p: *mut MiniportPauseParameters,
) -> NdisStatus {
    // SAFETY: NDIS's own arguments, forwarded.
    let st = unsafe { (real().0.pause)(c, p) };
    // SAFETY: the miniport handle of this pause (the fault: completing a pause not pended).
    unsafe { device::NdisMPauseComplete(handle()) };
    st
}

/// MiniportDriverUnload that deregisters nothing.
pub unsafe extern "system-unwind" fn unload_deregisters_nothing(_: *mut DriverObject) {}

/// MiniportOidRequest that completes the request itself and returns SUCCESS.
pub unsafe extern "system-unwind" fn oid_completes_and_returns_success(
    _: NdisHandle,
    r: *mut NdisOidRequest,
) -> NdisStatus {
    // SAFETY: the host's request, completed inside the call (allowed) ...
    unsafe { oid::NdisMOidRequestComplete(handle(), r, NDIS_STATUS_SUCCESS) };
    // ... and SUCCESS returned instead of PENDING (the fault).
    NDIS_STATUS_SUCCESS
}

/// MiniportOidRequest that completes the request twice inside the call and returns PENDING.
pub unsafe extern "system-unwind" fn oid_completes_twice(
    _: NdisHandle,
    r: *mut NdisOidRequest,
) -> NdisStatus {
    // SAFETY: the host's request, completed once (allowed) ...
    unsafe { oid::NdisMOidRequestComplete(handle(), r, NDIS_STATUS_SUCCESS) };
    // SAFETY: ... and again (the fault).
    unsafe { oid::NdisMOidRequestComplete(handle(), r, NDIS_STATUS_SUCCESS) };
    NDIS_STATUS_PENDING
}

/// What `bind_opens_wrongly` gets wrong in its first NdisOpenAdapterEx.
pub static OPEN_FAULT: AtomicU32 = AtomicU32::new(0);
pub const OPEN_BAD_HEADER: u32 = 1;
pub const OPEN_WRONG_NAME: u32 = 2;
pub const OPEN_NO_802_3: u32 = 3;

/// ProtocolBindAdapterEx that first tries NdisOpenAdapterEx with one wrong parameter (refused),
/// then binds (the real handler).
pub unsafe extern "system-unwind" fn bind_opens_wrongly(
    p: NdisHandle,
    b: NdisHandle,
    params: *mut NdisBindParameters,
) -> NdisStatus {
    let fault = OPEN_FAULT.load(Relaxed);
    let mut other: Vec<u16> = "\\DEVICE\\{no-such-adapter}".encode_utf16().collect();
    let len = u16::try_from(other.len() * 2).expect("short");
    let mut other_name = UnicodeString {
        length: len,
        maximum_length: len,
        buffer: other.as_mut_ptr(),
    };
    let mut media = [if fault == OPEN_NO_802_3 {
        9
    } else {
        NDIS_MEDIUM_802_3
    }];
    let mut selected = 0u32;
    let mut op = NdisOpenParameters {
        header: NdisObjectHeader::new(
            if fault == OPEN_BAD_HEADER {
                0
            } else {
                object_type::OPEN_PARAMETERS
            },
            NDIS_OPEN_PARAMETERS_REVISION_1,
            NDIS_SIZEOF_OPEN_PARAMETERS_REVISION_1,
        ),
        adapter_name: if fault == OPEN_WRONG_NAME {
            &raw mut other_name
        } else {
            // SAFETY: NDIS's bind parameters, valid for this call.
            unsafe { (*params).adapter_name }
        },
        medium_array: media.as_mut_ptr(),
        medium_array_size: 1,
        selected_medium_index: &raw mut selected,
        frame_type_array: std::ptr::null_mut(),
        frame_type_array_size: 0,
    };
    let mut binding_handle: NdisHandle = std::ptr::null_mut();
    // SAFETY: inside ProtocolBindAdapterEx with its BindContext; parameters on this frame with
    // one wrong field (the fault), refused by NDIS.
    let _ = unsafe {
        binding::NdisOpenAdapterEx(
            HANDLE.load(Relaxed) as NdisHandle,
            p,
            &raw mut op,
            b,
            &raw mut binding_handle,
        )
    };
    // SAFETY: NDIS's own arguments, forwarded to the real handler.
    unsafe { (real().1.bind)(p, b, params) }
}

/// ProtocolOidRequestComplete that takes the completion without effect (for requests the test
/// itself sent down).
pub unsafe extern "system-unwind" fn oid_complete_swallowed(
    _: NdisHandle,
    _: *mut NdisOidRequest,
    _: NdisStatus,
) {
}

/// What `unbind_then_uses_binding` does with the binding once the real unbind left it closing.
pub static AFTER_CLOSE: AtomicU32 = AtomicU32::new(0);
pub const OID_AFTER_CLOSE: u32 = 2;
pub const OFFLOAD_AFTER_CLOSE: u32 = 3;
pub const SEND_AFTER_CLOSE: u32 = 4;

/// ProtocolUnbindAdapterEx that first closes the binding itself (`HANDLE`; the lower pends the
/// close), makes one more call on it while it is closing (`AFTER_CLOSE`), then runs the real one
/// (whose own NdisCloseAdapterEx finds the binding closing; the completion of the first close
/// is the driver's to wait for all the same).
pub unsafe extern "system-unwind" fn unbind_then_uses_binding(
    u: NdisHandle,
    c: NdisHandle,
) -> NdisStatus {
    let b = handle();
    // SAFETY: the binding handle, closed inside ProtocolUnbindAdapterEx.
    let _ = unsafe { binding::NdisCloseAdapterEx(b) };
    match AFTER_CLOSE.load(Relaxed) {
        // SAFETY: a request on a closing binding (the fault); NULL, checked before use.
        OID_AFTER_CLOSE => drop(unsafe { oid::NdisOidRequest(b, std::ptr::null_mut()) }),
        // SAFETY: an offload on a closing binding (the fault); NULL list, checked before use.
        OFFLOAD_AFTER_CLOSE => unsafe { chimney::NdisInitiateOffload(b, std::ptr::null_mut()) },
        SEND_AFTER_CLOSE => {
            let nbl = super::setups::foreign_nbl();
            // SAFETY: a send on a closing binding (the fault) of an NBL looked up before use.
            unsafe { datapath::NdisSendNetBufferLists(b, nbl, 0, 0) };
        }
        _ => {}
    }
    // SAFETY: NDIS's own arguments, forwarded.
    unsafe { (real().1.unbind)(u, c) }
}

/// MiniportInitializeEx that reports success whatever the real one returned.
pub unsafe extern "system-unwind" fn initialize_claims_success(
    mh: NdisHandle,
    ctx: NdisHandle,
    params: *mut MiniportInitParameters,
) -> NdisStatus {
    // SAFETY: NDIS's own arguments, forwarded.
    let _ = unsafe { (real().0.initialize)(mh, ctx, params) };
    NDIS_STATUS_SUCCESS
}

/// MiniportHaltEx that neither returns nor waits for a while before halting.
pub unsafe extern "system-unwind" fn halt_dawdles(c: NdisHandle, action: u32) {
    std::thread::sleep(std::time::Duration::from_millis(400));
    // SAFETY: NDIS's own arguments, forwarded.
    unsafe { (real().0.halt)(c, action) };
}

/// What `bind_stand_in` leaves behind when it fails.
pub static BIND_FAULT: AtomicU32 = AtomicU32::new(0);
pub const BIND_LEAVES_OPEN: u32 = 1;
pub const BIND_LEAVES_DEVICE_INIT: u32 = 2;
/// The miniport driver handle `bind_stand_in` starts the virtual miniport with.
pub static DRIVER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
/// The binding `bind_stand_in` opened (for `unbind_stand_in`).
pub static OPENED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
/// The ProtocolBindingContext of the stand-in's binding (never dereferenced: only the stand-in
/// handlers below get it back).
const STAND_IN_CONTEXT: usize = 0x5B1D_0000;

/// A ProtocolBindAdapterEx of its own (not chimney-im's): opens the adapter (protocol handle
/// `HANDLE`), then fails, leaving the binding open or (after closing it) the virtual miniport's
/// initialization pending (`BIND_FAULT`).
pub unsafe extern "system-unwind" fn bind_stand_in(
    _: NdisHandle,
    b: NdisHandle,
    params: *mut NdisBindParameters,
) -> NdisStatus {
    let mut media = [NDIS_MEDIUM_802_3];
    let mut selected = 0u32;
    let mut op = NdisOpenParameters {
        header: NdisObjectHeader::new(
            object_type::OPEN_PARAMETERS,
            NDIS_OPEN_PARAMETERS_REVISION_1,
            NDIS_SIZEOF_OPEN_PARAMETERS_REVISION_1,
        ),
        // SAFETY: NDIS's bind parameters, valid for this call.
        adapter_name: unsafe { (*params).adapter_name },
        medium_array: media.as_mut_ptr(),
        medium_array_size: 1,
        selected_medium_index: &raw mut selected,
        frame_type_array: std::ptr::null_mut(),
        frame_type_array_size: 0,
    };
    let mut bh: NdisHandle = std::ptr::null_mut();
    // SAFETY: inside ProtocolBindAdapterEx with its BindContext; well-formed parameters.
    let st = unsafe {
        binding::NdisOpenAdapterEx(
            handle(),
            STAND_IN_CONTEXT as NdisHandle,
            &raw mut op,
            b,
            &raw mut bh,
        )
    };
    OPENED.store(bh as usize, Relaxed);
    if st != NDIS_STATUS_SUCCESS {
        return st;
    }
    if BIND_FAULT.load(Relaxed) == BIND_LEAVES_DEVICE_INIT {
        let d = DRIVER.load(Relaxed) as NdisHandle;
        super::setups::with_first_instance_name(|s| {
            // SAFETY: the miniport driver handle and the instance this adapter's UpperBindings
            // names; its start waits for the bind to return, and is never cancelled (the fault).
            let _ = unsafe { device::NdisIMInitializeDeviceInstanceEx(d, s, std::ptr::null_mut()) };
        });
        // SAFETY: the binding just opened, closed inside the failing bind.
        let _ = unsafe { binding::NdisCloseAdapterEx(bh) };
    }
    NDIS_STATUS_FAILURE
}

/// ProtocolUnbindAdapterEx: closes the stand-in's binding; chimney-im's for any other.
pub unsafe extern "system-unwind" fn unbind_stand_in(u: NdisHandle, c: NdisHandle) -> NdisStatus {
    if c as usize == STAND_IN_CONTEXT {
        // SAFETY: the binding `bind_stand_in` opened, closed in its unbind.
        return unsafe { binding::NdisCloseAdapterEx(OPENED.load(Relaxed) as NdisHandle) };
    }
    // SAFETY: NDIS's own arguments, forwarded.
    unsafe { (real().1.unbind)(u, c) }
}
