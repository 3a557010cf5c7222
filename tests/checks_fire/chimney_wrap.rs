//! Faulty chimney handlers that wrap chimney-im's real ones (kept by
//! `chimney_standin::install_chimney`) or swallow a call: indications, events and returns passed
//! on wrongly, completions the test (acting as a faulty driver) provokes taken without effect.

use std::sync::atomic::{AtomicI32, Ordering::Relaxed};

use chimney_im::ndis::*;
use core::ffi::c_void;
use ndis_model::exports::{chimney, chimney_io};

use super::chimney_standin::{HOST_HANDLES, MINIPORT, OTHER, real};

/// What `indicate_returns` answers instead of the driver's result.
pub static RESULT: AtomicI32 = AtomicI32::new(0);

/// A client state completion that does nothing (for block lists the test itself sent down).
pub unsafe extern "system-unwind" fn swallow_state(
    _: NdisHandle,
    _: *mut NdisProtocolOffloadBlockList,
) {
}

/// MiniportInitiateOffload recording the host's handles (neighbor, path, TCP), then the real one.
pub unsafe extern "system-unwind" fn record_initiate(
    c: NdisHandle,
    list: *mut NdisMiniportOffloadBlockList,
) {
    // SAFETY: the host's block tree, valid for the call.
    let v = unsafe { super::chimney_standin::blocks(list) };
    let mut h = HOST_HANDLES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    // SAFETY: live blocks of the tree.
    h.extend(
        v.iter()
            .map(|b| unsafe { (**b).ndis_offload_handle } as usize),
    );
    drop(h);
    let real_initiate = real()
        .0
        .initiate
        .expect("the driver registers MiniportInitiateOffload");
    // SAFETY: NDIS's own arguments, forwarded.
    unsafe { real_initiate(c, list) };
}

fn real_indicate() -> ProtocolTcpOffloadReceiveIndicateHandler {
    real()
        .1
        .receive_indicate
        .expect("the driver registers the receive indication")
}

/// ProtocolTcpOffloadReceiveIndicate passing another status up.
pub unsafe extern "system-unwind" fn indicate_status_changed(
    oc: *mut c_void,
    nbl: *mut NetBufferList,
    status: NdisStatus,
    bytes: *mut u32,
) -> NdisStatus {
    // SAFETY: the target's arguments, with another status (the fault).
    unsafe { real_indicate()(oc, nbl, status ^ 1, bytes) }
}

/// ProtocolTcpOffloadReceiveIndicate answering `RESULT` whatever the host said.
pub unsafe extern "system-unwind" fn indicate_returns(
    oc: *mut c_void,
    nbl: *mut NetBufferList,
    status: NdisStatus,
    bytes: *mut u32,
) -> NdisStatus {
    // SAFETY: the target's arguments, forwarded.
    let _ = unsafe { real_indicate()(oc, nbl, status, bytes) };
    RESULT.load(Relaxed)
}

/// ProtocolTcpOffloadReceiveIndicate changing the first data byte before passing it up.
pub unsafe extern "system-unwind" fn indicate_altered(
    oc: *mut c_void,
    nbl: *mut NetBufferList,
    status: NdisStatus,
    bytes: *mut u32,
) -> NdisStatus {
    // SAFETY: the target's NBL, valid for the call (a model NBL).
    let b = unsafe { super::chimney_standin::data_byte(nbl, false) };
    // SAFETY: its first data byte, changed (the fault).
    unsafe { *b ^= 0x5A };
    // SAFETY: the target's arguments, forwarded.
    unsafe { real_indicate()(oc, nbl, status, bytes) }
}

fn neighbor_handle() -> NdisHandle {
    let h = HOST_HANDLES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .first()
        .copied()
        .expect("record_initiate saw an initiate");
    h as NdisHandle
}

/// ProtocolTcpOffloadReceiveIndicate indicating on the host's neighbor handle.
pub unsafe extern "system-unwind" fn indicate_on_neighbor(
    _: *mut c_void,
    nbl: *mut NetBufferList,
    status: NdisStatus,
    bytes: *mut u32,
) -> NdisStatus {
    // SAFETY: a host handle (the wrong one: the fault) and the target's arguments.
    unsafe { chimney_io::NdisTcpOffloadReceiveHandler(neighbor_handle(), nbl, status, bytes) }
}

/// ProtocolTcpOffloadEvent indicating on the host's neighbor handle.
pub unsafe extern "system-unwind" fn event_on_neighbor(_: *mut c_void, event: u32, info: u32) {
    // SAFETY: a host handle (the wrong one: the fault).
    unsafe { chimney_io::NdisTcpOffloadEventHandler(neighbor_handle(), event, info) };
}

/// ProtocolTcpOffloadEvent that passes nothing up.
pub unsafe extern "system-unwind" fn event_swallowed(_: *mut c_void, _: u32, _: u32) {}

/// ProtocolIndicateOffloadEvent passing the target's list up as it is (the target's handles).
pub unsafe extern "system-unwind" fn offload_event_unswapped(
    _: NdisHandle,
    list: *mut NdisProtocolOffloadBlockList,
    code: u32,
) {
    let mp = MINIPORT.load(Relaxed) as NdisHandle;
    // SAFETY: the target's list, valid for the call, indicated on our virtual miniport.
    unsafe { chimney::NdisMOffloadEventIndicate(mp, list.cast(), code) };
}

/// ProtocolIndicateOffloadEvent that leaves the first block naming another handle.
pub unsafe extern "system-unwind" fn offload_event_not_restored(
    c: NdisHandle,
    list: *mut NdisProtocolOffloadBlockList,
    code: u32,
) {
    let real_event = real().1.offload_event.expect("registered");
    // SAFETY: NDIS's own arguments, forwarded.
    unsafe { real_event(c, list, code) };
    if !list.is_null() {
        // SAFETY: the target's list, still valid for the call; its handle changed (the fault).
        unsafe { (*list).offload_handle = 0x1234 as *mut NdisOffloadHandle };
    }
}

/// MiniportTcpOffloadReceiveReturn that returns the NBLs and then reports a failure.
pub unsafe extern "system-unwind" fn receive_return_fails(
    c: NdisHandle,
    chain: *mut NetBufferList,
) -> NdisStatus {
    let real_return = real().0.receive_return.expect("registered");
    // SAFETY: NDIS's own arguments, forwarded.
    let _ = unsafe { real_return(c, chain) };
    NDIS_STATUS_FAILURE
}

/// MiniportTcpOffloadReceiveReturn that first returns the NBLs to another binding (`OTHER`,
/// whose target never lent them), then correctly.
pub unsafe extern "system-unwind" fn receive_return_elsewhere_first(
    c: NdisHandle,
    chain: *mut NetBufferList,
) -> NdisStatus {
    let other = OTHER.load(Relaxed) as NdisHandle;
    // SAFETY: the host's returned NBLs (ours until returned), sent to the wrong binding first.
    unsafe { chimney_io::NdisOffloadTcpReceiveReturn(other, chain) };
    let real_return = real().0.receive_return.expect("registered");
    // SAFETY: NDIS's own arguments, forwarded.
    unsafe { real_return(c, chain) }
}

/// The first chain `complete_merged_into_first` got, held back.
static HELD_CHAIN: std::sync::Mutex<usize> = std::sync::Mutex::new(0);

/// A client send completion of the stand-in I/O path that holds the first chain back and
/// completes the next one merged behind it, all of it with the first chain's SourceHandle:
/// NBLs of another adapter's connection go up to the first one's host.
pub unsafe extern "system-unwind" fn complete_merged_into_first(
    _: NdisHandle,
    chain: *mut NetBufferList,
) {
    // SAFETY: NBLs the stand-in posted, completed back to it: its own again.
    unsafe { super::faulty::restore_source(chain) };
    let mut held = HELD_CHAIN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if *held == 0 {
        *held = chain as usize;
        return;
    }
    let first = std::mem::take(&mut *held) as *mut NetBufferList;
    drop(held);
    // SAFETY: the held chain and this one, both the stand-in's own.
    let mut v = unsafe { super::chimney_standin::nbls(first) };
    // SAFETY: as above.
    let src = unsafe { (*first).source_handle };
    // SAFETY: as above.
    for p in unsafe { super::chimney_standin::nbls(chain) } {
        // SAFETY: an NBL of this chain; given the first chain's SourceHandle (the fault).
        unsafe { (*p).source_handle = src };
        v.push(p);
    }
    // SAFETY: as above.
    let head = unsafe { super::chimney_standin::link(&v) };
    let mp = MINIPORT.load(Relaxed) as NdisHandle;
    // SAFETY: completes the stand-in's NBLs to the first chain's host.
    unsafe { chimney_io::NdisTcpOffloadSendComplete(mp, head) };
}

/// Forgets a chain `complete_merged_into_first` held (a fresh case).
pub fn reset_held_chain() {
    *HELD_CHAIN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = 0;
}
