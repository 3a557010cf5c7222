//! Faulty data-path handlers (installed with `faulty::install`): NBL contexts allocated or freed
//! wrongly on the host's sends, receive payloads changed on the way through.

use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

use chimney_im::ndis::*;
use ndis_model::exports::memory::{NdisAllocateNetBufferListContext, NdisFreeNetBufferListContext};

use super::faulty::real;

const TAG: u32 = u32::from_le_bytes(*b"Ctxt");

/// What `send_with_context_fault` does to the first NBL before the real handler.
pub static CONTEXT_FAULT: AtomicU32 = AtomicU32::new(0);
pub const CONTEXT_SIZE_8: u32 = 1;
pub const CONTEXT_FREED_OUT_OF_ORDER: u32 = 2;
pub const CONTEXT_HEADER_OVERWRITTEN: u32 = 3;

/// MiniportSendNetBufferLists that allocates and frees NBL context on the first NBL wrongly
/// (and then cleans up), then sends through the real handler.
pub unsafe extern "system-unwind" fn send_with_context_fault(
    c: NdisHandle,
    nbls: *mut NetBufferList,
    port: NdisPortNumber,
    flags: u32,
) {
    // Each call: the host's NBLs, owned by this handler until passed on; the context calls are
    // balanced, so the NBL leaves as it came.
    match CONTEXT_FAULT.load(Relaxed) {
        CONTEXT_SIZE_8 => {
            // SAFETY: as above.
            let st = unsafe { NdisAllocateNetBufferListContext(nbls, 8, 0, TAG) };
            if st == NDIS_STATUS_SUCCESS {
                // SAFETY: as above.
                unsafe { NdisFreeNetBufferListContext(nbls, 8) };
            }
        }
        CONTEXT_FREED_OUT_OF_ORDER => {
            // SAFETY: as above.
            let _ = unsafe { NdisAllocateNetBufferListContext(nbls, 16, 0, TAG) };
            // SAFETY: as above.
            let _ = unsafe { NdisAllocateNetBufferListContext(nbls, 32, 0, TAG) };
            // The first allocation freed first (the fault: LIFO) ...
            // SAFETY: as above.
            unsafe { NdisFreeNetBufferListContext(nbls, 16) };
            // ... then both in order.
            // SAFETY: as above.
            unsafe { NdisFreeNetBufferListContext(nbls, 32) };
            // SAFETY: as above.
            unsafe { NdisFreeNetBufferListContext(nbls, 16) };
        }
        CONTEXT_HEADER_OVERWRITTEN => {
            // SAFETY: as above.
            let st = unsafe { NdisAllocateNetBufferListContext(nbls, 16, 0, TAG) };
            if st == NDIS_STATUS_SUCCESS {
                // SAFETY: the NBL's newest context block (the one just carved or allocated);
                // its Size field is overwritten (the fault: what a driver that misapplies
                // Offset writes), then put back after the free so the NBL leaves as it came.
                let block = unsafe { (*nbls).context };
                // SAFETY: as above.
                let size = unsafe { (*block).size };
                // SAFETY: as above.
                unsafe { (*block).size = size ^ 0x40 };
                // SAFETY: as above.
                unsafe { NdisFreeNetBufferListContext(nbls, 16) };
                // SAFETY: the same live block (the model refused the free and kept it).
                unsafe { (*block).size = size };
                // SAFETY: the context allocated above, freed now that the header is intact.
                unsafe { NdisFreeNetBufferListContext(nbls, 16) };
            }
        }
        _ => {}
    }
    // SAFETY: NDIS's own arguments, forwarded.
    unsafe { (real().0.send)(c, nbls, port, flags) };
}

/// Changes the first payload byte of each NBL of a chain.
///
/// # Safety
/// `nbls` is a chain of live model NBLs the caller owns (one NB, one mapped MDL each).
unsafe fn alter_payload(nbls: *mut NetBufferList) {
    // SAFETY: the caller's contract.
    for p in unsafe { super::chimney_standin::nbls(nbls) } {
        // SAFETY: as above.
        let b = unsafe { super::chimney_standin::data_byte(p, false) };
        // SAFETY: its first data byte, changed (the fault).
        unsafe { *b ^= 0x5A };
    }
}

/// ProtocolReceiveNetBufferLists that changes the payload, then receives (the real handler).
pub unsafe extern "system-unwind" fn receive_alters_payload(
    c: NdisHandle,
    nbls: *mut NetBufferList,
    port: NdisPortNumber,
    count: u32,
    flags: u32,
) {
    // SAFETY: the lower's NBLs, this handler's for the call; changing their data is the fault.
    unsafe { alter_payload(nbls) };
    // SAFETY: NDIS's own arguments, forwarded.
    unsafe { (real().1.receive)(c, nbls, port, count, flags) };
}
