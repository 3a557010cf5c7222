//! Faulty handlers: installed with `Model::replace_handlers` in place of chimney-im's, each
//! breaking one rule (some after calling the real handler, some instead of it).

use std::sync::Mutex;

use chimney_im::ndis::*;
use ndis_model::{Model, MpHandlers, PtHandlers};

/// The real handlers the wrappers call.
static REAL: Mutex<Option<(MpHandlers, PtHandlers)>> = Mutex::new(None);

pub(super) fn real() -> (MpHandlers, PtHandlers) {
    REAL.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .expect("handlers replaced")
}

/// Replaces handlers through `f`, keeping the real tables for the wrappers.
pub fn install(m: &mut Model, f: fn(&mut MpHandlers, &mut PtHandlers)) {
    // NBL addresses are reused from one model to the next: forget the last case's.
    SAVED_SOURCE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clear();
    m.replace_handlers(|mp, pt| {
        *REAL
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some((*mp, *pt));
        f(mp, pt);
    });
}

pub unsafe extern "system-unwind" fn send_drops(
    _: NdisHandle,
    _: *mut NetBufferList,
    _: NdisPortNumber,
    _: u32,
) {
}

pub unsafe extern "system-unwind" fn receive_drops(
    _: NdisHandle,
    _: *mut NetBufferList,
    _: NdisPortNumber,
    _: u32,
    _: u32,
) {
}

pub unsafe extern "system-unwind" fn pause_fails(
    c: NdisHandle,
    p: *mut MiniportPauseParameters,
) -> NdisStatus {
    // SAFETY: NDIS's own arguments, forwarded to the real handler.
    let _ = unsafe { (real().0.pause)(c, p) };
    NDIS_STATUS_FAILURE
}

pub unsafe extern "system-unwind" fn pause_pends_forever(
    _: NdisHandle,
    _: *mut MiniportPauseParameters,
) -> NdisStatus {
    NDIS_STATUS_PENDING
}

pub unsafe extern "system-unwind" fn restart_pends_forever(
    _: NdisHandle,
    _: *mut MiniportRestartParameters,
) -> NdisStatus {
    NDIS_STATUS_PENDING
}

pub unsafe extern "system-unwind" fn unbind_fails(u: NdisHandle, c: NdisHandle) -> NdisStatus {
    // SAFETY: NDIS's own arguments, forwarded to the real handler.
    let _ = unsafe { (real().1.unbind)(u, c) };
    NDIS_STATUS_FAILURE
}

pub unsafe extern "system-unwind" fn unbind_pends_forever(
    _: NdisHandle,
    _: NdisHandle,
) -> NdisStatus {
    NDIS_STATUS_PENDING
}

pub unsafe extern "system-unwind" fn pnp_pause_fails(
    c: NdisHandle,
    n: *mut NetPnpEventNotification,
) -> NdisStatus {
    // SAFETY: NDIS's own arguments, forwarded to the real handler; `n` is valid for the call.
    let st = unsafe { (real().1.pnp)(c, n) };
    // SAFETY: as above.
    if unsafe { (*n).net_pnp_event.net_event } == net_event::PAUSE {
        NDIS_STATUS_FAILURE
    } else {
        st
    }
}

pub unsafe extern "system-unwind" fn pnp_pends_forever(
    _: NdisHandle,
    _: *mut NetPnpEventNotification,
) -> NdisStatus {
    NDIS_STATUS_PENDING
}

pub unsafe extern "system-unwind" fn bind_claims_success(
    _: NdisHandle,
    _: NdisHandle,
    _: *mut NdisBindParameters,
) -> NdisStatus {
    NDIS_STATUS_SUCCESS
}

pub unsafe extern "system-unwind" fn bind_pends_forever(
    _: NdisHandle,
    _: NdisHandle,
    _: *mut NdisBindParameters,
) -> NdisStatus {
    NDIS_STATUS_PENDING
}

pub unsafe extern "system-unwind" fn oid_pends_forever(
    _: NdisHandle,
    _: *mut NdisOidRequest,
) -> NdisStatus {
    NDIS_STATUS_PENDING
}

/// The NDIS handle the data-path wrappers below use (set by the case before installing them).
pub static HANDLE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
/// Completion status the send wrappers write into each NBL first (0: leave it as the host set it).
pub static STATUS: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);
/// XORed into the DISPATCH_LEVEL flag of completions and returns (1: claim the wrong IRQL).
pub static FLIP_DISPATCH: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

pub(super) fn handle() -> NdisHandle {
    HANDLE.load(std::sync::atomic::Ordering::Relaxed) as NdisHandle
}

/// MiniportSendNetBufferLists that completes every send at once, never passing it down, through
/// `HANDLE`, with `STATUS` and (maybe) a wrong DISPATCH_LEVEL flag.
pub unsafe extern "system-unwind" fn send_completes_at_once(
    _: NdisHandle,
    nbls: *mut NetBufferList,
    _: NdisPortNumber,
    flags: u32,
) {
    let status = STATUS.load(std::sync::atomic::Ordering::Relaxed);
    let mut p = nbls;
    while !p.is_null() && status != 0 {
        // SAFETY: the host's NBLs, owned by this handler until completed.
        unsafe { (*p).status = status };
        // SAFETY: as above.
        p = unsafe { p.cast::<*mut NetBufferList>().read() }; // Next: the header's first field
    }
    let dispatch = (flags & 1) ^ FLIP_DISPATCH.load(std::sync::atomic::Ordering::Relaxed);
    // SAFETY: completes NBLs this handler owns; the handle and flags are the case's fault.
    unsafe {
        ndis_model::exports::datapath::NdisMSendNetBufferListsComplete(handle(), nbls, dispatch)
    };
}

/// ProtocolReceiveNetBufferLists that returns every receive at once through `HANDLE`, whatever
/// the receive flags said (NDIS_RECEIVE_FLAGS_RESOURCES included).
pub unsafe extern "system-unwind" fn receive_returns_at_once(
    _: NdisHandle,
    nbls: *mut NetBufferList,
    _: NdisPortNumber,
    _: u32,
    flags: u32,
) {
    // SAFETY: returns NBLs this handler was given; the handle and the timing are the fault.
    unsafe { ndis_model::exports::datapath::NdisReturnNetBufferLists(handle(), nbls, flags & 1) };
}

/// A stand-in receive path: ProtocolReceiveNetBufferLists indicating the lower's NBLs straight up
/// (SourceHandle set to `UP_HANDLE`, the original kept) and MiniportReturnNetBufferLists putting
/// the original SourceHandle back and returning them down through `HANDLE`. `COUNT_EXTRA` is
/// added to NumberOfNetBufferLists (the fault of one case).
pub static UP_HANDLE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
pub static COUNT_EXTRA: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
/// When non-zero: the SourceHandle put in indicated NBLs instead of `UP_HANDLE` (a fault).
pub static UP_SOURCE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
pub(super) static SAVED_SOURCE: Mutex<Vec<(usize, usize)>> = Mutex::new(Vec::new());

/// The next NBL of a chain (`Next` is the header's first field).
///
/// # Safety
/// `p` is a live NBL.
unsafe fn next(p: *mut NetBufferList) -> *mut NetBufferList {
    // SAFETY: `p` is live (this function's contract) and starts with its `Next` pointer.
    unsafe { p.cast::<*mut NetBufferList>().read() }
}

/// What a stand-in IM does on the way through: records each NBL's SourceHandle in
/// [`SAVED_SOURCE`] and overwrites it with `source`.
///
/// # Safety
/// `nbls` is a chain of NBLs the calling handler owns.
pub(super) unsafe fn save_and_set_source(nbls: *mut NetBufferList, source: usize) {
    let mut p = nbls;
    while !p.is_null() {
        // SAFETY: `p` is in the chain the caller owns, so reading its fields is ours to do.
        let original = unsafe { (*p).source_handle } as usize;
        SAVED_SOURCE
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push((p as usize, original));
        // SAFETY: `p` is in the chain the caller owns, so writing its fields is ours to do.
        unsafe { (*p).source_handle = source as NdisHandle };
        // SAFETY: `p` is live (in the caller's chain).
        p = unsafe { next(p) };
    }
}

/// The way back: gives each NBL the SourceHandle [`save_and_set_source`] recorded for it, unless
/// the fault under test is [`NO_RESTORE`].
///
/// # Safety
/// `nbls` is a chain of NBLs the calling handler owns.
pub(super) unsafe fn restore_source(nbls: *mut NetBufferList) {
    let restore = !NO_RESTORE.load(std::sync::atomic::Ordering::Relaxed);
    let mut p = nbls;
    while !p.is_null() {
        let mut saved = SAVED_SOURCE
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(i) = saved.iter().position(|(n, _)| *n == p as usize)
            && restore
        {
            let (_, src) = saved.swap_remove(i);
            // SAFETY: `p` is in the chain the caller owns, so writing its fields is ours to do.
            unsafe { (*p).source_handle = src as NdisHandle };
        }
        // SAFETY: `p` is live (in the caller's chain).
        p = unsafe { next(p) };
    }
}

pub unsafe extern "system-unwind" fn receive_indicates_up(
    _: NdisHandle,
    nbls: *mut NetBufferList,
    port: NdisPortNumber,
    count: u32,
    flags: u32,
) {
    use std::sync::atomic::Ordering::Relaxed;
    let up = UP_HANDLE.load(Relaxed);
    let source = match UP_SOURCE.load(Relaxed) {
        0 => up,
        s => s,
    };
    // SAFETY: the lower's NBLs, owned by this handler until indicated up.
    unsafe { save_and_set_source(nbls, source) };
    let count = count + COUNT_EXTRA.load(Relaxed);
    // SAFETY: indicates NBLs this handler owns, at the IRQL NDIS called it at.
    unsafe {
        ndis_model::exports::datapath::NdisMIndicateReceiveNetBufferLists(
            up as NdisHandle,
            nbls,
            port,
            count,
            flags & 1,
        )
    };
}

pub unsafe extern "system-unwind" fn return_goes_down(
    _: NdisHandle,
    nbls: *mut NetBufferList,
    flags: u32,
) {
    // SAFETY: NBLs the host returned to this handler, owned by it until returned down.
    unsafe { restore_source(nbls) };
    // SAFETY: returns the NBLs to the binding they came from.
    unsafe { ndis_model::exports::datapath::NdisReturnNetBufferLists(handle(), nbls, flags & 1) };
}

/// ProtocolBindAdapterEx that binds, then completes the bind twice and returns PENDING.
pub unsafe extern "system-unwind" fn bind_completes_twice(
    p: NdisHandle,
    b: NdisHandle,
    params: *mut NdisBindParameters,
) -> NdisStatus {
    // SAFETY: NDIS's own arguments, forwarded to the real handler.
    let st = unsafe { (real().1.bind)(p, b, params) };
    // SAFETY: the bind context of this call, completed once (correct) ...
    unsafe { ndis_model::exports::binding::NdisCompleteBindAdapterEx(b, st) };
    // SAFETY: ... and a second time (the fault).
    unsafe { ndis_model::exports::binding::NdisCompleteBindAdapterEx(b, st) };
    NDIS_STATUS_PENDING
}

/// ProtocolOidRequestComplete that passes a different status to the real handler.
pub unsafe extern "system-unwind" fn oid_complete_changes_status(
    c: NdisHandle,
    r: *mut NdisOidRequest,
    _: NdisStatus,
) {
    // SAFETY: NDIS's own arguments, forwarded with another status (the fault).
    unsafe { (real().1.oid_complete)(c, r, NDIS_STATUS_FAILURE) };
}

/// ProtocolSendNetBufferListsComplete that marks every NBL failed before the real handler.
pub unsafe extern "system-unwind" fn send_complete_changes_status(
    c: NdisHandle,
    nbls: *mut NetBufferList,
    flags: u32,
) {
    let mut p = nbls;
    while !p.is_null() {
        // SAFETY: completed NBLs, owned by this handler.
        unsafe { (*p).status = NDIS_STATUS_FAILURE };
        // SAFETY: as above.
        p = unsafe { p.cast::<*mut NetBufferList>().read() }; // Next: the header's first field
    }
    // SAFETY: NDIS's own arguments, forwarded to the real handler.
    unsafe { (real().1.send_complete)(c, nbls, flags) };
}

/// ProtocolBindAdapterEx that first calls NdisOpenAdapterEx (protocol handle `HANDLE`) with no
/// parameters, then binds.
pub unsafe extern "system-unwind" fn bind_opens_without_parameters(
    p: NdisHandle,
    b: NdisHandle,
    params: *mut NdisBindParameters,
) -> NdisStatus {
    let mut binding_handle: NdisHandle = std::ptr::null_mut();
    // SAFETY: inside ProtocolBindAdapterEx with its BindContext; NULL open parameters (the
    // fault), checked before use.
    let _ = unsafe {
        ndis_model::exports::binding::NdisOpenAdapterEx(
            handle(),
            p,
            std::ptr::null_mut(),
            b,
            &raw mut binding_handle,
        )
    };
    // SAFETY: NDIS's own arguments, forwarded to the real handler.
    unsafe { (real().1.bind)(p, b, params) }
}

/// ProtocolUnbindAdapterEx that unbinds, then completes the unbind twice and returns PENDING.
pub unsafe extern "system-unwind" fn unbind_completes_twice(
    u: NdisHandle,
    c: NdisHandle,
) -> NdisStatus {
    // SAFETY: NDIS's own arguments, forwarded to the real handler.
    let _ = unsafe { (real().1.unbind)(u, c) };
    // SAFETY: the unbind context of this call, completed once (correct) ...
    unsafe { ndis_model::exports::binding::NdisCompleteUnbindAdapterEx(u) };
    // SAFETY: ... and a second time (the fault).
    unsafe { ndis_model::exports::binding::NdisCompleteUnbindAdapterEx(u) };
    NDIS_STATUS_PENDING
}

/// Which extra call `initialize_with_fault` makes (see the cases).
pub static INIT_FAULT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
pub const INIT_NULL_ATTRIBUTES: u32 = 1;
pub const INIT_BAD_REGISTRATION_HEADER: u32 = 2;
pub const INIT_GENERAL_FIRST: u32 = 3;
pub const INIT_IF_STACK_TWICE: u32 = 4;
pub const INIT_IF_STACK_WRONG_LOWER: u32 = 5;

/// MiniportInitializeEx around the real one, with one extra, wrong NDIS call (`INIT_FAULT`).
pub unsafe extern "system-unwind" fn initialize_with_fault(
    mh: NdisHandle,
    ctx: NdisHandle,
    params: *mut MiniportInitParameters,
) -> NdisStatus {
    use ndis_model::exports::device;
    let fault = INIT_FAULT.load(std::sync::atomic::Ordering::Relaxed);
    // An attributes block that is a bare header, zero-padded (the model reads no further when
    // the header is wrong).
    let mut block = [0u64; 32];
    let header = block.as_mut_ptr().cast::<NdisObjectHeader>();
    match fault {
        INIT_NULL_ATTRIBUTES => {
            // SAFETY: the miniport handle of this call; NULL attributes (the fault).
            unsafe { device::NdisMSetMiniportAttributes(mh, std::ptr::null_mut()) };
        }
        INIT_BAD_REGISTRATION_HEADER | INIT_GENERAL_FIRST => {
            let kind = if fault == INIT_GENERAL_FIRST {
                object_type::MINIPORT_ADAPTER_GENERAL_ATTRIBUTES
            } else {
                object_type::MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES
            };
            // SAFETY: `header` is the start of `block`, aligned and large enough.
            unsafe { header.write(NdisObjectHeader::new(kind, 9, 8)) };
            // SAFETY: a header-only block with a wrong revision (the fault), read only as far
            // as the header.
            unsafe { device::NdisMSetMiniportAttributes(mh, header) };
        }
        _ => {}
    }
    // SAFETY: NDIS's own arguments, forwarded to the real handler.
    let st = unsafe { (real().0.initialize)(mh, ctx, params) };
    // SAFETY: NDIS's initialize parameters, valid for this call.
    let if_index = unsafe { (*params).if_index };
    match fault {
        INIT_IF_STACK_TWICE => {
            // SAFETY: the entry the real handler just added, added again (the fault); the
            // lower index is the model's first adapter's BoundIfIndex ...
            unsafe { device::NdisIfAddIfStackEntry(if_index, 10) };
            // SAFETY: ... and the extra registration deleted, so that it is the only fault.
            unsafe { device::NdisIfDeleteIfStackEntry(if_index, 10) };
        }
        INIT_IF_STACK_WRONG_LOWER => {
            // SAFETY: an entry over an interface that is not the bound adapter (the fault) ...
            unsafe { device::NdisIfAddIfStackEntry(if_index, 999) };
            // SAFETY: ... removed again so that it is the only fault.
            unsafe { device::NdisIfDeleteIfStackEntry(if_index, 999) };
        }
        _ => {}
    }
    st
}

/// ProtocolNetPnPEvent that answers NetEventPause with SUCCESS at once, without draining (other
/// events go to the real handler).
pub unsafe extern "system-unwind" fn pnp_pause_without_draining(
    c: NdisHandle,
    n: *mut NetPnpEventNotification,
) -> NdisStatus {
    // SAFETY: NDIS's notification, valid for the call.
    if unsafe { (*n).net_pnp_event.net_event } == net_event::PAUSE {
        return NDIS_STATUS_SUCCESS;
    }
    // SAFETY: NDIS's own arguments, forwarded to the real handler.
    unsafe { (real().1.pnp)(c, n) }
}

/// MiniportPause that answers SUCCESS at once, without draining.
pub unsafe extern "system-unwind" fn pause_without_draining(
    _: NdisHandle,
    _: *mut MiniportPauseParameters,
) -> NdisStatus {
    NDIS_STATUS_SUCCESS
}

/// ProtocolBindAdapterEx that binds (the real handler, which opens the adapter) and then calls
/// NdisOpenAdapterEx again (protocol handle `HANDLE`, no parameters).
pub unsafe extern "system-unwind" fn bind_opens_twice(
    p: NdisHandle,
    b: NdisHandle,
    params: *mut NdisBindParameters,
) -> NdisStatus {
    // SAFETY: NDIS's own arguments, forwarded to the real handler.
    let st = unsafe { (real().1.bind)(p, b, params) };
    let mut binding_handle: NdisHandle = std::ptr::null_mut();
    // SAFETY: still inside ProtocolBindAdapterEx with its BindContext; a second open (the
    // fault), refused before the (NULL) parameters are read.
    let _ = unsafe {
        ndis_model::exports::binding::NdisOpenAdapterEx(
            handle(),
            p,
            std::ptr::null_mut(),
            b,
            &raw mut binding_handle,
        )
    };
    st
}

/// When set, `send_complete_goes_up` and `return_goes_down` leave the SourceHandle as it was
/// (a fault).
pub static NO_RESTORE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// ProtocolStatusEx that changes the first byte of a status buffer before the real handler
/// forwards it up.
pub unsafe extern "system-unwind" fn status_alters_buffer(
    c: NdisHandle,
    s: *mut NdisStatusIndication,
) {
    // SAFETY: NDIS's indication, valid for the call.
    let s_ref = unsafe { &*s };
    let (buffer, size) = (s_ref.status_buffer.cast::<u8>(), s_ref.status_buffer_size);
    // The first byte after the object header (MediaConnectState of a link state): the buffer
    // stays well-formed, so only the "left intact" rule is broken.
    let at = core::mem::size_of::<NdisObjectHeader>();
    if !buffer.is_null() && size as usize > at {
        // SAFETY: the lower's buffer holds StatusBufferSize bytes and `at` < StatusBufferSize.
        let byte = unsafe { buffer.add(at) };
        // SAFETY: a byte of the lower's buffer (above), changed in place (the fault).
        unsafe { *byte ^= 0xFF };
    }
    if let Some(real_status) = real().1.status {
        // SAFETY: NDIS's own arguments, forwarded to the real handler.
        unsafe { real_status(c, s) };
    }
}
