//! Receive pass-through: ProtocolReceiveNetBufferLists -> NdisMIndicateReceiveNetBufferLists,
//! and MiniportReturnNetBufferLists -> NdisReturnNetBufferLists.
//!
//! Indicated NBLs carry our MiniportAdapterHandle as SourceHandle (the docs require it; MUX does
//! not do it); the lower miniport's value is saved in NBL context and restored on return.

use crate::kernel::NblChain;
use crate::ndis::imports::{NdisMIndicateReceiveNetBufferLists, NdisReturnNetBufferLists};
use crate::ndis::{NdisPortNumber, receive_flags, return_flags};
use crate::state::{Adapter, Binding};

fn return_flags_for(receive: u32) -> u32 {
    if receive & receive_flags::DISPATCH_LEVEL != 0 {
        return_flags::DISPATCH_LEVEL
    } else {
        0
    }
}

/// The lower adapter indicates `chain` on `binding`.
pub fn receive(binding: &Binding, chain: NblChain, port: NdisPortNumber, flags: u32) {
    let count = chain.count();
    if count == 0 {
        return;
    }
    let adapter = &binding.adapter;
    let resources = flags & receive_flags::RESOURCES != 0;
    if !adapter.io.try_acquire(count) {
        // The virtual miniport is not running: drop, giving the NBLs straight back.
        give_back(binding, &chain, resources, flags);
        return;
    }
    let miniport_handle = adapter.miniport_handle();
    let mut saved = 0u32;
    for nbl in chain.iter() {
        if nbl
            .push_context(nbl.source_handle(), core::ptr::null_mut())
            .is_err()
        {
            break;
        }
        nbl.set_source_handle(miniport_handle);
        saved += 1;
    }
    if saved != count {
        // Out of NBL context space: undo and drop the whole indication.
        for nbl in chain.iter().take(saved as usize) {
            let _ = nbl.pop_context_and_restore();
        }
        give_back(binding, &chain, resources, flags);
        adapter.release_io(count);
        return;
    }
    // SAFETY: the NBLs carry our context and SourceHandle; the miniport is running (io was
    // acquired), so its handle is valid. No lock is held.
    unsafe {
        NdisMIndicateReceiveNetBufferLists(miniport_handle, chain.as_ptr(), port, count, flags);
    };
    if resources {
        // With RESOURCES the NBLs are ours again as soon as the call returns.
        for nbl in chain.iter() {
            let _ = nbl.pop_context_and_restore();
        }
        adapter.release_io(count);
    }
}

/// Returns an indication we did not pass up. With RESOURCES the lower driver keeps ownership and
/// must not get the NBLs back through NdisReturnNetBufferLists.
fn give_back(binding: &Binding, chain: &NblChain, resources: bool, flags: u32) {
    if !resources {
        // SAFETY: the NBLs are the lower miniport's with their SourceHandle untouched, and the
        // binding is open while NDIS indicates on it. No lock is held.
        unsafe {
            NdisReturnNetBufferLists(binding.handle(), chain.as_ptr(), return_flags_for(flags));
        };
    }
}

/// The host returns NBLs we indicated.
pub fn return_nbls(adapter: &Adapter, chain: NblChain, flags: u32) {
    let binding = adapter.binding();
    let mut count = 0u32;
    for nbl in chain.iter() {
        let _ = nbl.pop_context_and_restore();
        count += 1;
    }
    if count == 0 {
        return;
    }
    // SAFETY: the NBLs are the lower miniport's again (SourceHandle restored, context freed);
    // the binding stays open while adapter.io holds these indications. No lock is held.
    unsafe {
        NdisReturnNetBufferLists(
            binding.handle(),
            chain.as_ptr(),
            flags & return_flags::DISPATCH_LEVEL,
        );
    };
    adapter.release_io(count);
}
