//! Receive pass-through: ProtocolReceiveNetBufferLists -> NdisMIndicateReceiveNetBufferLists,
//! and MiniportReturnNetBufferLists -> NdisReturnNetBufferLists.
//!
//! Indicated NBLs carry our MiniportAdapterHandle as SourceHandle (the docs require it; MUX does
//! not do it); the lower miniport's value is saved in NBL context and restored on return.

use crate::kernel::{BindingHandle, NblChain};
use crate::ndis::{NdisHandle, NdisPortNumber, receive_flags, return_flags};
use crate::state::{Binding, Forward, Path};

fn return_flags_for(receive: u32) -> u32 {
    if receive & receive_flags::DISPATCH_LEVEL != 0 {
        return_flags::DISPATCH_LEVEL
    } else {
        0
    }
}

/// The lower adapter indicates `chain` on `binding` (whose handle NDIS keeps open while it
/// indicates on it: `lower`).
pub fn receive(
    binding: &Binding,
    lower: BindingHandle<'_>,
    chain: NblChain,
    port: NdisPortNumber,
    flags: u32,
) {
    let resources = flags & receive_flags::RESOURCES != 0;
    // Indicated NBLs carry our miniport handle as SourceHandle. (Only the value is stored here;
    // the handle is used once the token holds the miniport's count.)
    let source = binding.adapter.miniport_handle();
    let count = match chain.push_contexts(None, Some(source)) {
        Ok(0) => return,
        Ok(count) => count,
        Err(_) => {
            // Out of NBL context space (nothing pushed): the whole indication is dropped.
            give_back(lower, chain, resources, flags);
            return;
        }
    };
    let Some(token) = Forward::acquire(binding, Path::Indications, count) else {
        // The virtual miniport is not running: drop, giving the NBLs straight back.
        refuse_not_running(lower, chain, resources, flags);
        return;
    };
    let miniport = token.miniport();
    if miniport.raw() != source {
        // The miniport was halted and initialized again between the read and the acquire: the
        // handle NDIS must route the return by is the new one.
        set_source_handles(&chain, miniport.raw());
    }
    if resources {
        // With RESOURCES the NBLs are ours again as soon as the call returns: the token ends
        // their counts after it.
        miniport.indicate_receive(&chain, port, count, flags);
        let _ = chain.pop_contexts();
        token.end();
        return;
    }
    // Held by the host until return_nbls, which may run inside the call and take the counts.
    token.hand_over_with(|token| {
        token
            .miniport()
            .indicate_receive(&chain, port, count, flags)
    });
}

#[cold]
#[inline(never)]
fn set_source_handles(chain: &NblChain, source: NdisHandle) {
    for nbl in chain.iter() {
        nbl.set_source_handle(source);
    }
}

/// An indication refused because the virtual miniport is not running: our contexts come off
/// again and the NBLs go straight back. Out of line: only while paused.
#[cold]
#[inline(never)]
fn refuse_not_running(lower: BindingHandle<'_>, chain: NblChain, resources: bool, flags: u32) {
    let _ = chain.pop_contexts();
    give_back(lower, chain, resources, flags);
}

/// Returns an indication we did not pass up. With RESOURCES the lower driver keeps ownership and
/// must not get the NBLs back through NdisReturnNetBufferLists.
fn give_back(lower: BindingHandle<'_>, chain: NblChain, resources: bool, flags: u32) {
    if !resources {
        // The NBLs are the lower miniport's with their SourceHandle untouched.
        lower.return_nbls(chain, return_flags_for(flags));
    }
}

/// The host returns NBLs we indicated.
pub fn return_nbls(binding: &Binding, chain: NblChain, flags: u32) {
    let count = chain.pop_contexts();
    if count == 0 {
        return;
    }
    // SAFETY: every NBL the host returns was indicated by `receive`, which handed its counts over.
    let token = unsafe { Forward::completed(binding, Path::Indications, count, None) };
    // The NBLs are the lower miniport's again (SourceHandle restored, context freed).
    token
        .lower()
        .return_nbls(chain, flags & return_flags::DISPATCH_LEVEL);
    token.end();
}
