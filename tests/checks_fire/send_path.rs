//! A stand-in send path for the cases: MiniportSendNetBufferLists and
//! ProtocolSendNetBufferListsComplete replaced by plain forwarding (see `faulty.rs` for the
//! shared handles and the saved SourceHandles).

use chimney_im::ndis::*;

use super::faulty::{HANDLE, NO_RESTORE, SAVED_SOURCE, UP_HANDLE, handle};

/// A stand-in send path: MiniportSendNetBufferLists sends the host's NBLs straight down through
/// `HANDLE` (SourceHandle set to `DOWN_SOURCE` or, when 0, to `HANDLE`; the original kept) and
/// ProtocolSendNetBufferListsComplete puts the original back and completes them up through
/// `UP_HANDLE`.
pub static DOWN_SOURCE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

pub unsafe extern "system-unwind" fn send_goes_down(
    _: NdisHandle,
    nbls: *mut NetBufferList,
    port: NdisPortNumber,
    flags: u32,
) {
    use std::sync::atomic::Ordering::Relaxed;
    let source = match DOWN_SOURCE.load(Relaxed) {
        0 => HANDLE.load(Relaxed),
        s => s,
    };
    let mut p = nbls;
    while !p.is_null() {
        // SAFETY: the host's NBLs, owned by this handler until sent down.
        let original = unsafe { (*p).source_handle } as usize;
        SAVED_SOURCE
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push((p as usize, original));
        // SAFETY: as above.
        unsafe { (*p).source_handle = source as NdisHandle };
        // SAFETY: as above.
        p = unsafe { p.cast::<*mut NetBufferList>().read() }; // Next: the header's first field
    }
    // SAFETY: sends NBLs this handler owns, at the IRQL NDIS called it at.
    unsafe {
        ndis_model::exports::datapath::NdisSendNetBufferLists(handle(), nbls, port, flags & 1)
    };
}

pub unsafe extern "system-unwind" fn send_complete_goes_up(
    _: NdisHandle,
    nbls: *mut NetBufferList,
    flags: u32,
) {
    let mut p = nbls;
    while !p.is_null() {
        let mut saved = SAVED_SOURCE
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let restore = !NO_RESTORE.load(std::sync::atomic::Ordering::Relaxed);
        if let Some(i) = saved.iter().position(|(n, _)| *n == p as usize)
            && restore
        {
            let (_, src) = saved.swap_remove(i);
            // SAFETY: an NBL the lower completed to this handler.
            unsafe { (*p).source_handle = src as NdisHandle };
        }
        // SAFETY: as above.
        p = unsafe { p.cast::<*mut NetBufferList>().read() }; // Next: the header's first field
    }
    let up = UP_HANDLE.load(std::sync::atomic::Ordering::Relaxed) as NdisHandle;
    // SAFETY: completes the host's NBLs back to it.
    unsafe { ndis_model::exports::datapath::NdisMSendNetBufferListsComplete(up, nbls, flags & 1) };
}
