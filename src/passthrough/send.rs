//! Send pass-through: MiniportSendNetBufferLists -> NdisSendNetBufferLists, and
//! ProtocolSendNetBufferListsComplete -> NdisMSendNetBufferListsComplete.
//!
//! Per NBL: one NBL-context allocation from NDIS (the saved SourceHandle), no heap, no lock,
//! no wait; O(1) whatever else is in flight.

use crate::kernel::{ChainBuilder, MiniportHandle, Nbl, NblChain};
use crate::ndis::{
    NDIS_STATUS_PAUSED, NdisPortNumber, NdisStatus, send_complete_flags, send_flags,
};
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
pub fn send(
    binding: &Binding,
    miniport: MiniportHandle<'_>,
    chain: NblChain,
    port: NdisPortNumber,
    flags: u32,
) {
    let count = chain.count();
    if count == 0 {
        return;
    }
    let Some(mut token) = Forward::acquire(binding, Path::Nbls, count) else {
        // Pausing, paused or halting, or the lower binding paused or closing: nothing is
        // forwarded once a pause has begun.
        complete_locally(
            miniport,
            chain,
            NDIS_STATUS_PAUSED,
            complete_flags_for(flags),
        );
        return;
    };

    let lower = token.lower();
    let mut forward = ChainBuilder::new();
    let mut refused = ChainBuilder::new();
    for nbl in chain.into_detached() {
        match nbl.push_context(nbl.source_handle(), core::ptr::null_mut()) {
            Ok(()) => {
                // NDIS routes the completion by SourceHandle: it must name our binding below.
                nbl.set_source_handle(lower.raw());
                forward.push(nbl);
            }
            Err(status) => refuse(&mut refused, nbl, status),
        }
    }

    let refused_count = refused.len();
    if !forward.is_empty() {
        // NDIS already did loopback for the host at our virtual miniport (NO_LOOPBACK is set in
        // its MacOptions); asking for it again below would loop the host's frames back to us.
        let down_flags = flags & !send_flags::CHECK_FOR_LOOPBACK;
        lower.send(forward.finish(), port, down_flags);
    }
    if refused_count != 0 {
        complete_locally(miniport, refused.finish(), 0, complete_flags_for(flags));
        token.release_part(refused_count);
    }
    // The forwarded NBLs keep their counts until send_complete.
    token.hand_over();
}

/// An NBL whose context could not be allocated: completed to the host with `status`. Out of
/// line and cold (only under memory pressure), so that the per-NBL loop keeps one append site
/// (the forwarded chain's, in registers): with both appends inline the compiler merged them
/// into one append through a pointer to either builder, both kept on the stack (+5
/// instructions per 1-NBL send, `.ci/measure-hotpath`).
#[cold]
#[inline(never)]
fn refuse(refused: &mut ChainBuilder, nbl: Nbl, status: NdisStatus) {
    nbl.set_status(status);
    refused.push(nbl);
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
