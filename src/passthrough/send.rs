//! Send pass-through: MiniportSendNetBufferLists -> NdisSendNetBufferLists, and
//! ProtocolSendNetBufferListsComplete -> NdisMSendNetBufferListsComplete.
//!
//! Per NBL: one NBL-context allocation from NDIS (the saved SourceHandle), no heap, no lock,
//! no wait; O(1) whatever else is in flight. Per send call: one pass over the chain and one
//! acquire of the counts for all of its NBLs.

use crate::kernel::{MiniportHandle, NblChain};
use crate::ndis::{NDIS_STATUS_PAUSED, NdisPortNumber, send_complete_flags, send_flags};
use crate::state::{Binding, Forward, Path};

/// Send-complete flags matching the IRQL described by `send_flags`.
fn complete_flags_for(flags: u32) -> u32 {
    if flags & send_flags::DISPATCH_LEVEL != 0 {
        send_complete_flags::DISPATCH_LEVEL
    } else {
        0
    }
}

/// The host sends `chain` through the virtual miniport (whose handle NDIS keeps valid while it
/// calls MiniportSendNetBufferLists).
///
/// One pass over the chain: each NBL gets our context (its SourceHandle saved) and our lower
/// binding's handle as SourceHandle, and is counted; then the counts of all of them are taken
/// at once and the same chain goes down. Taking the counts after the pass is safe: until they
/// are taken nothing has been handed to NDIS, and a refusal undoes the pass.
pub fn send(
    binding: &Binding,
    miniport: MiniportHandle<'_>,
    chain: NblChain,
    port: NdisPortNumber,
    flags: u32,
) {
    // NDIS routes the completion by SourceHandle: it must name our binding below. (Only the
    // value is stored here; the handle is used below once the token holds the binding open.)
    let count = match chain.push_contexts(None, Some(binding.handle())) {
        Ok(0) => return,
        Ok(count) => count,
        Err(status) => {
            // Out of NBL context space (nothing pushed): the whole send fails back to the host.
            complete_locally(miniport, chain, status, complete_flags_for(flags));
            return;
        }
    };
    let Some(token) = Forward::acquire(binding, Path::Nbls, count) else {
        // Pausing, paused or halting, or the lower binding paused or closing: nothing is
        // forwarded once a pause has begun.
        refuse_paused(miniport, chain, flags);
        return;
    };
    // NDIS already did loopback for the host at our virtual miniport (NO_LOOPBACK is set in its
    // MacOptions); asking for it again below would loop the host's frames back to us.
    let down_flags = flags & !send_flags::CHECK_FOR_LOOPBACK;
    // The completion may run inside the call and take the counts back.
    token.hand_over_with(|token| token.lower().send(chain, port, down_flags));
}

/// A send refused because a pause began: our contexts come off again (SourceHandles restored)
/// and the chain completes to the host with NDIS_STATUS_PAUSED. Out of line: only while
/// pausing.
#[cold]
#[inline(never)]
fn refuse_paused(miniport: MiniportHandle<'_>, chain: NblChain, flags: u32) {
    let _ = chain.pop_contexts();
    complete_locally(
        miniport,
        chain,
        NDIS_STATUS_PAUSED,
        complete_flags_for(flags),
    );
}

/// Completes `chain` to the host without forwarding it. A nonzero `status` is written into
/// every NBL; zero keeps the per-NBL statuses already set.
fn complete_locally(miniport: MiniportHandle<'_>, chain: NblChain, status: i32, flags: u32) {
    if status != 0 {
        for nbl in chain.iter() {
            nbl.set_status(status);
        }
    }
    // The NBLs still carry the host's SourceHandle (never changed, or restored).
    miniport.send_complete(chain, flags);
}

/// The lower adapter completed sends we forwarded on `binding`.
pub fn send_complete(binding: &Binding, chain: NblChain, flags: u32) {
    let count = chain.pop_contexts();
    if count == 0 {
        return;
    }
    // SAFETY: every NBL of the chain was forwarded by `send`, which handed its counts over.
    let token = unsafe { Forward::completed(binding, Path::Nbls, count, None) };
    // The NBLs are the host's again (SourceHandle restored, our context freed).
    token.miniport().send_complete(chain, flags);
    // The counts end, the binding's last.
    token.end();
}
