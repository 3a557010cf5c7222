//! State-manipulation propagation (initiate, terminate, update, invalidate, query), reusing the
//! caller's block list in place (docs/chimney-contract.md §5.1, §6.7):
//!
//! - down: save the root's SourceHandle and ImReserved in a call record (its address goes in
//!   ImReserved[0]); give every non-placeholder block our own offload handle; call NDIS on the
//!   lower binding with the same memory.
//! - up: put every block's handle back, restore the root, complete with NdisM*Complete on the
//!   same memory (NDIS routes that by the root's SourceHandle, which is the host's again).
//!
//! The completion may run inside the call down (initiate does when the lower miniport has no
//! chimney handlers), so everything is set up before calling NDIS and no lock is ever held.
//!
//! One file per call family: [`initiate`] (entries are born), [`terminate`] (entries die once
//! their I/O drained), [`simple`] (update, invalidate, query, and generic events up).

mod initiate;
mod simple;
mod terminate;

pub use initiate::{initiate, initiate_complete};
pub use simple::{indicate_event, simple, simple_complete};
pub(crate) use terminate::finish_terminate;
pub use terminate::{terminate, terminate_complete};

use core::ptr::{self, NonNull};

use crate::chimney::entry::{CallRecord, OffloadEntry};
use crate::kernel::{MiniportHandle, Nbl, StateOp};
use crate::ndis::NdisStatus;
use crate::state::{Binding, Forward, Path};

use crate::kernel::blocks::{Block, BlockTree};

/// Takes the counts a state call holds until it completes upward: the adapter's and the
/// binding's `handle_users` (halt and unbind wait for them).
pub(super) fn acquire_call(binding: &Binding) -> Option<Forward<'_>> {
    Forward::acquire(binding, Path::Requests, 1)
}

/// The counts of a call coming back up, handed over by [`call_down`].
///
/// # Safety
/// `adapter` is the adapter of a call this driver passed down with `call_down` (the record's),
/// resumed once.
pub(super) unsafe fn resume_call(binding: &Binding) -> Forward<'_> {
    // SAFETY: the caller's contract: `call_down` handed one Requests count over.
    unsafe { Forward::completed(binding, Path::Requests, 1, None) }
}

/// Completes a call upward at once, untouched except for `status` in every block. The root's
/// SourceHandle is the caller's, so NDIS routes the completion back to it.
pub(super) fn fail_up(
    op: StateOp,
    miniport: MiniportHandle<'_>,
    mut tree: BlockTree,
    status: NdisStatus,
) {
    tree.for_each(|block| block.status = status);
    miniport.offload_complete(op, tree);
}

/// Passes the prepared list down on the lower binding; the call's counts go with it (the
/// completion, maybe inside this call, takes them back with [`resume_call`]).
pub(super) fn call_down(op: StateOp, call: Forward<'_>, tree: BlockTree) {
    call.hand_over_with(|call| call.lower().offload_state_call(op, tree));
}

/// The entry behind a block on the way down: `*MiniportOffloadContext`, i.e. what we published
/// in the host's handle. None for placeholders and for blocks with nothing offloaded.
pub(super) fn published_entry<'a>(block: &Block) -> Option<&'a OffloadEntry> {
    let slot = block.miniport_offload_context;
    if slot.is_null() {
        return None;
    }
    // SAFETY: a non-NULL MiniportOffloadContext points at the host handle's context slot.
    let context = unsafe { slot.read() };
    // SAFETY: a non-NULL value there is an entry we published and have not freed (the host does
    // not use state it has terminated).
    unsafe { OffloadEntry::from_context(context) }
}

/// True if every non-placeholder block refers to an entry we published. Anything else (a state
/// object that was never offloaded through this driver) would be misrouted: such calls are failed.
pub(super) fn all_blocks_ours(tree: &mut BlockTree) -> bool {
    let mut ours = true;
    tree.for_each(|block| {
        if !block.miniport_offload_context.is_null() && published_entry(block).is_none() {
            ours = false;
        }
    });
    ours
}

/// Hands the record to the blocks: saves the root and puts the record in `ImReserved[0]`.
pub(super) fn attach_record(record: &CallRecord, binding: &Binding, tree: &mut BlockTree) {
    let Some(root) = tree.root() else {
        return;
    };
    record.begin(binding, root);
    // ImReserved belongs to IMs, and its caller's values are saved in the record.
    root.im_reserved[0] = ptr::from_ref(record).cast_mut().cast();
}

/// The record of a call coming back up.
///
/// # Safety
/// `tree` is a list this driver passed down with a record attached (`attach_record`), now
/// completed back to us.
pub(super) unsafe fn attached_record<'a>(tree: &mut BlockTree) -> &'a CallRecord {
    let record = tree
        .root()
        .map_or(ptr::null_mut(), |root| root.im_reserved[0]);
    debug_assert!(!record.is_null());
    // SAFETY: we attached it (contract), lower layers must not modify ImReserved, and the
    // record lives until this call completes upward.
    unsafe { &*record.cast::<CallRecord>() }
}

/// Pops our context off every NBL handed back in a block's NetBufferListChain, restoring the
/// host's SourceHandle. Entry counts end now; adapter/binding counts after the completion went up.
pub(super) fn reclaim_chain(block: &Block, record: &CallRecord) {
    let mut current = block.net_buffer_list_chain;
    let mut count = 0;
    while !current.is_null() {
        // SAFETY: NBLs in a completed block's chain are back in our hands.
        let Some(nbl) = (unsafe { Nbl::from_raw(current) }) else {
            break;
        };
        let owner = nbl.pop_context_and_restore();
        // SAFETY: the owner entry holds an I/O reference for this NBL.
        if let Some(entry) = unsafe { OffloadEntry::from_context(owner) } {
            // SAFETY: ends that reference; the entry's offload reference is still held here.
            unsafe { OffloadEntry::end_io(NonNull::from(entry), 1) };
        }
        count += 1;
        current = nbl.next().map_or(ptr::null_mut(), Nbl::as_ptr);
    }
    record.defer_io(count);
}

/// Ends the adapter/binding counts of NBLs reclaimed by `reclaim_chain`. Inlined into its two
/// callers: `finish_terminate` is on both halves of a chimney re-entrancy level, and a frame of
/// its own here cost that level 80 bytes (tests/stack_budget.rs).
#[inline(always)]
pub(super) fn release_deferred(binding: &Binding, record: &CallRecord) {
    let count = record.take_deferred_io();
    if count != 0 {
        // SAFETY: these NBLs were handed down with their Nbls counts (initiate's send data or
        // chimney sends), and `reclaim_chain` ended only their entry references.
        let token = unsafe { Forward::completed(binding, Path::Nbls, count, None) };
        // Inlined, not the drop glue: with no entry named, no entry release (which can finish a
        // terminate, and so call back here) is compiled into this path (tests/stack_budget.rs).
        token.end();
    }
}
