//! A stand-in send path for the cases: MiniportSendNetBufferLists and
//! ProtocolSendNetBufferListsComplete replaced by plain forwarding (see `faulty.rs` for the
//! shared handles and the saved SourceHandles).

use chimney_im::ndis::*;

use super::faulty::{HANDLE, UP_HANDLE, handle, restore_source, save_and_set_source};

/// A stand-in send path: MiniportSendNetBufferLists sends the host's NBLs straight down through
/// `HANDLE` (SourceHandle set to `DOWN_SOURCE` or, when 0, to `HANDLE`; the original kept) and
/// ProtocolSendNetBufferListsComplete puts the original back and completes them up through
/// `UP_HANDLE`.
pub static DOWN_SOURCE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
/// Send flags added to the ones passed down (a fault when non-zero).
pub static DOWN_FLAGS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

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
    // SAFETY: the host's NBLs, owned by this handler until sent down.
    unsafe { save_and_set_source(nbls, source) };
    // SAFETY: sends NBLs this handler owns, at the IRQL NDIS called it at.
    unsafe {
        ndis_model::exports::datapath::NdisSendNetBufferLists(
            handle(),
            nbls,
            port,
            flags & 1 | DOWN_FLAGS.load(Relaxed),
        )
    };
}

pub unsafe extern "system-unwind" fn send_complete_goes_up(
    _: NdisHandle,
    nbls: *mut NetBufferList,
    flags: u32,
) {
    // SAFETY: NBLs the lower completed to this handler, owned by it until completed up.
    unsafe { restore_source(nbls) };
    let up = UP_HANDLE.load(std::sync::atomic::Ordering::Relaxed) as NdisHandle;
    // SAFETY: completes the host's NBLs back to it.
    unsafe { ndis_model::exports::datapath::NdisMSendNetBufferListsComplete(up, nbls, flags & 1) };
}
