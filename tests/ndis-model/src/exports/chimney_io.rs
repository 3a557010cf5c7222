//! TCP chimney exports, I/O side: NdisOffloadTcp{Send,Receive,Disconnect,Forward},
//! NdisOffloadTcpReceiveReturn, and the upcall table of NdisMGetOffloadHandlers
//! (NdisTcpOffload*Complete, NdisTcpOffloadEventHandler, NdisTcpOffloadReceiveHandler), which
//! are not exports but are validated the same way. Routing is in `crate::chimney::core`.

#![allow(non_snake_case, reason = "the upcalls keep their ndis.sys names")]

use chimney_im::ndis::*;

use super::{enter, guard};
use crate::chimney::{self, IoKind};
use crate::nbl::{self, Loc, Owner};
use crate::verifier::Export as E;
use crate::world::{self, DevPhase, HandleKind, World};

const CHAIN_LIMIT: usize = 100_000;

/// Checks that every NBL of a chain the driver passes is one it owns of the expected kind.
fn owns_chain(w: &mut World, e: E, head: *mut NetBufferList, check: &'static str, target: bool) {
    let (v, ok) = nbl::walk(head as usize, CHAIN_LIMIT);
    w.v.check("chain.well_formed", ok && !v.is_empty(), || {
        format!("{e}: empty or cyclic NBL chain")
    });
    for p in v {
        let rec = w.nbls.recs.get(&p).map(|r| (r.owner, r.loc));
        let ok = if target {
            matches!(rec, Some((Owner::Target(_), Loc::Driver)))
        } else {
            matches!(rec, Some((Owner::Chimney(_), Loc::Driver)))
        };
        w.v.check(check, ok, || {
            format!("{e}: NBL {p:#x} is {rec:?}, not a chimney NBL the driver owns (double completion, foreign, or still below)")
        });
    }
}

fn post(
    e: E,
    kind: IoKind,
    h: *mut NdisOffloadHandle,
    n: *mut NetBufferList,
    flags: u32,
) -> NdisStatus {
    guard(e, NDIS_STATUS_PENDING, || {
        let ok = world::try_with(|w| {
            enter(w, e, DISPATCH_LEVEL);
            let live = chimney::in_live_pool(w, h as usize, size_of::<NdisOffloadHandle>());
            let ok = w.v.check("chimney.no_call_on_freed_handle", live, || {
                format!("{e}: offload handle {h:p} is not inside live pool memory of the driver (freed entry?)")
            });
            owns_chain(w, e, n, "chimney_io.driver_owns_nbl", false);
            ok
        })
        .unwrap_or(false);
        if !ok {
            return NDIS_STATUS_PENDING;
        }
        chimney::core::io_post(kind, h as usize, n as usize, flags, true)
    })
}

/// # Safety
/// Called by the driver with the documented arguments.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe extern "system-unwind" fn NdisOffloadTcpSend(
    h: *mut NdisOffloadHandle,
    n: *mut NetBufferList,
) -> NdisStatus {
    post(E::NdisOffloadTcpSend, IoKind::Send, h, n, 0)
}

/// # Safety
/// Called by the driver with the documented arguments.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe extern "system-unwind" fn NdisOffloadTcpReceive(
    h: *mut NdisOffloadHandle,
    n: *mut NetBufferList,
) -> NdisStatus {
    post(E::NdisOffloadTcpReceive, IoKind::Receive, h, n, 0)
}

/// # Safety
/// Called by the driver with the documented arguments.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe extern "system-unwind" fn NdisOffloadTcpDisconnect(
    h: *mut NdisOffloadHandle,
    n: *mut NetBufferList,
    flags: u32,
) -> NdisStatus {
    post(E::NdisOffloadTcpDisconnect, IoKind::Disconnect, h, n, flags)
}

/// # Safety
/// Called by the driver with the documented arguments.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe extern "system-unwind" fn NdisOffloadTcpForward(
    h: *mut NdisOffloadHandle,
    n: *mut NetBufferList,
) -> NdisStatus {
    post(E::NdisOffloadTcpForward, IoKind::Forward, h, n, 0)
}

/// # Safety
/// Called by the driver with the documented arguments.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe extern "system-unwind" fn NdisOffloadTcpReceiveReturn(
    h: NdisHandle,
    n: *mut NetBufferList,
) {
    let e = E::NdisOffloadTcpReceiveReturn;
    guard(e, (), || {
        let ok = world::try_with(|w| {
            enter(w, e, DISPATCH_LEVEL);
            let a = w.expect_live(
                "handle.binding",
                "NdisOffloadTcpReceiveReturn",
                h as usize,
                HandleKind::Binding,
            );
            owns_chain(w, e, n, "chimney_indicate.return_owns_nbl", true);
            a.is_some()
        })
        .unwrap_or(false);
        if ok {
            chimney::core::receive_return(h as usize, n as usize, true);
        }
    });
}

fn io_complete(e: E, kind: IoKind, h: NdisHandle, n: *mut NetBufferList) {
    guard(e, (), || {
        let ok = world::try_with(|w| {
            enter(w, e, DISPATCH_LEVEL);
            let a = w.expect_live(
                "handle.miniport",
                &e.to_string(),
                h as usize,
                HandleKind::Miniport,
            );
            if let Some(a) = a {
                let phase = w.adapters[a].dev.phase;
                w.v.check(
                    "chimney_complete.miniport_initialized",
                    matches!(phase, DevPhase::Up | DevPhase::Halting),
                    || format!("{e} on a miniport that is {phase:?}"),
                );
            }
            owns_chain(w, e, n, "chimney_complete.driver_owns_nbl", false);
            a.is_some()
        })
        .unwrap_or(false);
        if ok {
            chimney::core::io_complete(kind, h as usize, n as usize, true);
        }
    });
}

/// Table entry NdisTcpOffloadSendComplete.
///
/// # Safety
/// Called by the driver with the documented arguments.
pub unsafe extern "system-unwind" fn NdisTcpOffloadSendComplete(
    h: NdisHandle,
    n: *mut NetBufferList,
) {
    io_complete(E::NdisTcpOffloadSendComplete, IoKind::Send, h, n);
}

/// Table entry NdisTcpOffloadReceiveComplete.
///
/// # Safety
/// Called by the driver with the documented arguments.
pub unsafe extern "system-unwind" fn NdisTcpOffloadReceiveComplete(
    h: NdisHandle,
    n: *mut NetBufferList,
) {
    io_complete(E::NdisTcpOffloadReceiveComplete, IoKind::Receive, h, n);
}

/// Table entry NdisTcpOffloadDisconnectComplete.
///
/// # Safety
/// Called by the driver with the documented arguments.
pub unsafe extern "system-unwind" fn NdisTcpOffloadDisconnectComplete(
    h: NdisHandle,
    n: *mut NetBufferList,
) {
    io_complete(
        E::NdisTcpOffloadDisconnectComplete,
        IoKind::Disconnect,
        h,
        n,
    );
}

/// Table entry NdisTcpOffloadForwardComplete.
///
/// # Safety
/// Called by the driver with the documented arguments.
pub unsafe extern "system-unwind" fn NdisTcpOffloadForwardComplete(
    h: NdisHandle,
    n: *mut NetBufferList,
) {
    io_complete(E::NdisTcpOffloadForwardComplete, IoKind::Forward, h, n);
}

/// The handle the driver indicates on must be one of the host's (model memory) before NDIS may
/// read its NdisReserved[0].
fn host_handle(w: &mut World, e: E, h: usize) -> bool {
    let known = w.chimney.objs.iter().any(|o| o.handle.addr == h);
    w.v.check("chimney_indicate.routed_by_handle", known, || {
        format!("{e} on handle {h:#x}: not the host's offload handle saved at initiate")
    })
}

/// Table entry NdisTcpOffloadEventHandler.
///
/// # Safety
/// Called by the driver with the documented arguments.
pub unsafe extern "system-unwind" fn NdisTcpOffloadEventHandler(
    h: NdisHandle,
    event: u32,
    info: u32,
) {
    let e = E::NdisTcpOffloadEventHandler;
    guard(e, (), || {
        let ok = world::try_with(|w| {
            enter(w, e, DISPATCH_LEVEL);
            host_handle(w, e, h as usize)
        })
        .unwrap_or(false);
        if ok {
            chimney::core::indicate_event(h as usize, event, info, true);
        }
    });
}

/// Table entry NdisTcpOffloadReceiveHandler.
///
/// # Safety
/// Called by the driver with the documented arguments.
pub unsafe extern "system-unwind" fn NdisTcpOffloadReceiveHandler(
    h: NdisHandle,
    n: *mut NetBufferList,
    status: NdisStatus,
    bytes: *mut u32,
) -> NdisStatus {
    let e = E::NdisTcpOffloadReceiveHandler;
    guard(e, NDIS_STATUS_OFFLOAD_DATA_NOT_ACCEPTED, || {
        let ok = world::try_with(|w| {
            enter(w, e, DISPATCH_LEVEL);
            host_handle(w, e, h as usize)
        })
        .unwrap_or(false);
        if !ok {
            return NDIS_STATUS_OFFLOAD_DATA_NOT_ACCEPTED;
        }
        chimney::core::indicate_receive(h as usize, n as usize, status, bytes, true)
    })
}
