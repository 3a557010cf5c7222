//! State-manipulation propagation (initiate, terminate, update, invalidate, query), reusing the
//! caller's block list in place (ndis-chimney.md §5.1, §6.7):
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
pub use terminate::{terminate, terminate_complete};

use core::ptr::{self, NonNull};

use crate::kernel::Nbl;
use crate::ndis::{
    NdisInitiateOffload, NdisInvalidateOffload, NdisMInitiateOffloadComplete,
    NdisMInvalidateOffloadComplete, NdisMQueryOffloadStateComplete, NdisMTerminateOffloadComplete,
    NdisMUpdateOffloadComplete, NdisQueryOffloadState, NdisStatus, NdisTerminateOffload,
    NdisUpdateOffload,
};
use crate::state::{Adapter, Binding, CallRecord, OffloadEntry, StateOp};

use super::blocks::{Block, BlockTree, as_protocol};

/// Takes the references a state call holds until it completes: the adapter's and the binding's
/// `requests` rundowns (halt and unbind wait for them).
pub(super) fn acquire_call(adapter: &Adapter) -> bool {
    if !adapter.handle_users.try_acquire(1) {
        return false;
    }
    if !adapter.binding().handle_users.try_acquire(1) {
        adapter.handle_users.release(1);
        return false;
    }
    true
}

/// Ends a state call's references, the binding's last (see `Binding`).
pub(super) fn release_call(adapter: &Adapter) {
    let binding = adapter.binding();
    adapter.handle_users.release(1);
    binding.handle_users.release(1);
}

/// Completes a call upward at once, untouched except for `status` in every block. The root's
/// SourceHandle is the caller's, so NDIS routes the completion back to it.
pub(super) fn fail_up(op: StateOp, adapter: &Adapter, mut tree: BlockTree, status: NdisStatus) {
    tree.for_each(|block| block.status = status);
    complete_up(op, adapter, tree);
}

/// NdisM*Complete for `op` on our miniport. The tree must be back in the caller's view.
/// Called from inside a provider handler or from the completion of a call it passed down, i.e.
/// while NDIS keeps the miniport (and its handle) alive.
pub(super) fn complete_up(op: StateOp, adapter: &Adapter, tree: BlockTree) {
    let root = tree.into_raw();
    let handle = adapter.miniport_handle();
    match op {
        // SAFETY: the list is ours to give back (BlockTree) and in the caller's view; the miniport
        // handle is valid while a state call is in flight (halt waits for `requests`). No lock.
        StateOp::Initiate => unsafe { NdisMInitiateOffloadComplete(handle, root) },
        // SAFETY: as above.
        StateOp::Terminate => unsafe { NdisMTerminateOffloadComplete(handle, root) },
        // SAFETY: as above.
        StateOp::Update => unsafe { NdisMUpdateOffloadComplete(handle, root) },
        // SAFETY: as above.
        StateOp::Invalidate => unsafe { NdisMInvalidateOffloadComplete(handle, root) },
        // SAFETY: as above.
        StateOp::Query => unsafe { NdisMQueryOffloadStateComplete(handle, root) },
    }
}

/// Passes the prepared list down on the lower binding.
///
/// # Safety
/// The call's references are held (`acquire_call`), so the binding handle is open.
pub(super) unsafe fn call_down(op: StateOp, binding: &Binding, tree: BlockTree) {
    let handle = binding.handle();
    let list = as_protocol(tree.into_raw());
    match op {
        // SAFETY: the list is ours to hand on (BlockTree); the binding is open (caller contract).
        // The completion may run inside this call. No lock is held.
        StateOp::Initiate => unsafe { NdisInitiateOffload(handle, list) },
        // SAFETY: as above.
        StateOp::Terminate => unsafe { NdisTerminateOffload(handle, list) },
        // SAFETY: as above.
        StateOp::Update => unsafe { NdisUpdateOffload(handle, list) },
        // SAFETY: as above.
        StateOp::Invalidate => unsafe { NdisInvalidateOffload(handle, list) },
        // SAFETY: as above.
        StateOp::Query => unsafe { NdisQueryOffloadState(handle, list) },
    }
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
pub(super) fn attach_record(
    record: &CallRecord,
    op: StateOp,
    adapter: &Adapter,
    tree: &mut BlockTree,
) {
    let Some(root) = tree.root() else {
        return;
    };
    record.begin(op, adapter, root);
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
    // SAFETY: caller contract: we attached it, lower layers must not modify ImReserved, and the
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

/// Ends the adapter/binding counts of NBLs reclaimed by `reclaim_chain`.
pub(super) fn release_deferred(adapter: &Adapter, record: &CallRecord) {
    let count = record.take_deferred_io();
    if count != 0 {
        let binding = adapter.binding();
        adapter.release_nbls(count);
        binding.nbls_below.release(count);
    }
}
