//! Receive pass-through: ProtocolReceiveNetBufferLists -> NdisMIndicateReceiveNetBufferLists,
//! and MiniportReturnNetBufferLists -> NdisReturnNetBufferLists.
//!
//! Indicated NBLs carry our MiniportAdapterHandle as SourceHandle (the docs require it; MUX does
//! not do it); the lower miniport's value is saved in NBL context and restored on return.

use crate::kernel::{BindingHandle, NblChain};
use crate::ndis::{NdisPortNumber, receive_flags, return_flags};
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
    let count = chain.count();
    if count == 0 {
        return;
    }
    let resources = flags & receive_flags::RESOURCES != 0;
    let Some(token) = Forward::acquire(binding, Path::Indications, count) else {
        // The virtual miniport is not running: drop, giving the NBLs straight back.
        give_back(lower, chain, resources, flags);
        return;
    };
    let miniport = token.miniport();
    if chain
        .push_contexts(core::ptr::null_mut(), Some(miniport.raw()))
        .is_err()
    {
        // Out of NBL context space: the whole indication is dropped (contexts undone).
        give_back(lower, chain, resources, flags);
        return;
    }
    miniport.indicate_receive(&chain, port, count, flags);
    if resources {
        // With RESOURCES the NBLs are ours again as soon as the call returns: the token ends
        // their counts now.
        let _ = chain.pop_contexts();
        token.end();
        return;
    }
    // Held by the host until return_nbls.
    token.hand_over();
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
