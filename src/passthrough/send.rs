//! Send pass-through: MiniportSendNetBufferLists -> NdisSendNetBufferLists, and
//! ProtocolSendNetBufferListsComplete -> NdisMSendNetBufferListsComplete.
//!
//! Per NBL: one NBL-context allocation from NDIS (the saved SourceHandle), no heap, no lock,
//! no wait; O(1) whatever else is in flight.

use crate::kernel::{ChainBuilder, NblChain};
use crate::ndis::imports::{NdisMSendNetBufferListsComplete, NdisSendNetBufferLists};
use crate::ndis::{NDIS_STATUS_PAUSED, NdisPortNumber, send_complete_flags, send_flags};
use crate::state::{Adapter, Binding};

/// Send-complete flags matching the IRQL described by `send_flags`.
fn complete_flags_for(flags: u32) -> u32 {
    if flags & send_flags::DISPATCH_LEVEL != 0 {
        send_complete_flags::DISPATCH_LEVEL
    } else {
        0
    }
}

/// The host sends `chain` through the virtual miniport.
pub fn send(adapter: &Adapter, chain: NblChain, port: NdisPortNumber, flags: u32) {
    let count = chain.count();
    if count == 0 {
        return;
    }
    let binding = adapter.binding();
    if !adapter.io.try_acquire(count) {
        // Pausing, paused or halting: nothing is forwarded once a pause has begun.
        complete_locally(
            adapter,
            chain,
            NDIS_STATUS_PAUSED,
            complete_flags_for(flags),
        );
        return;
    }
    if !binding.sends.try_acquire(count) {
        // The lower binding is paused or closing.
        complete_locally(
            adapter,
            chain,
            NDIS_STATUS_PAUSED,
            complete_flags_for(flags),
        );
        adapter.release_io(count);
        return;
    }

    let lower_handle = binding.handle();
    let mut forward = ChainBuilder::new();
    let mut refused = ChainBuilder::new();
    for nbl in chain.into_detached() {
        match nbl.push_context(nbl.source_handle(), core::ptr::null_mut()) {
            Ok(()) => {
                // NDIS routes the completion by SourceHandle: it must name our binding below.
                nbl.set_source_handle(lower_handle);
                forward.push(nbl);
            }
            Err(status) => {
                nbl.set_status(status);
                refused.push(nbl);
            }
        }
    }

    let refused_count = refused.len();
    if !forward.is_empty() {
        // NDIS already did loopback for the host at our virtual miniport (NO_LOOPBACK is set in
        // its MacOptions); asking for it again below would loop the host's frames back to us.
        let down_flags = flags & !send_flags::CHECK_FOR_LOOPBACK;
        let chain = forward.finish();
        // SAFETY: every NBL in `chain` is the host's, carries our context and our SourceHandle;
        // the binding handle is open (binding.sends was acquired). No lock is held.
        unsafe { NdisSendNetBufferLists(lower_handle, chain.as_ptr(), port, down_flags) };
    }
    if refused_count != 0 {
        complete_locally(adapter, refused.finish(), 0, complete_flags_for(flags));
        adapter.release_io(refused_count);
        binding.sends.release(refused_count);
    }
}

/// Completes `chain` to the host without forwarding it. A nonzero `status` is written into
/// every NBL; zero keeps the per-NBL statuses already set.
fn complete_locally(adapter: &Adapter, chain: NblChain, status: i32, flags: u32) {
    if status != 0 {
        for nbl in chain.iter() {
            nbl.set_status(status);
        }
    }
    // SAFETY: the NBLs still carry the host's SourceHandle (never changed, or restored), the
    // miniport handle is valid while NDIS calls our send handler, and no lock is held.
    unsafe { NdisMSendNetBufferListsComplete(adapter.miniport_handle(), chain.as_ptr(), flags) };
}

/// The lower adapter completed sends we forwarded on `binding`.
pub fn send_complete(binding: &Binding, chain: NblChain, flags: u32) {
    let adapter = &binding.adapter;
    let mut count = 0u32;
    for nbl in chain.iter() {
        let _ = nbl.pop_context_and_restore();
        count += 1;
    }
    if count == 0 {
        return;
    }
    // SAFETY: every NBL is the host's again (SourceHandle restored, our context freed); the
    // miniport handle is valid because these NBLs hold adapter.io references. No lock is held.
    unsafe { NdisMSendNetBufferListsComplete(adapter.miniport_handle(), chain.as_ptr(), flags) };
    // The binding's count last (see `Binding`).
    adapter.release_io(count);
    binding.sends.release(count);
}
