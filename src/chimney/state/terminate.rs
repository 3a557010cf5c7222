//! Terminate: no new I/O on the terminated entries; the completion goes up only when every I/O
//! on them has been propagated upward and each entry has been freed. Never allocates.

use core::ptr::NonNull;

use crate::chimney::entry::{CallRecord, OffloadEntry};
use crate::kernel::{MiniportHandle, StateOp};
use crate::ndis::NDIS_STATUS_FAILURE;
use crate::state::Binding;

use super::{
    acquire_call, all_blocks_ours, attach_record, attached_record, call_down, fail_up,
    published_entry, reclaim_chain, release_deferred, resume_call,
};
use crate::kernel::blocks::{BlockTree, offload_handle, restore_upper_view, set_offload_handle};

/// MiniportTerminateOffload. Never allocates: the record lives in the first terminated entry.
pub fn terminate(binding: &Binding, miniport: MiniportHandle<'_>, mut tree: BlockTree) {
    let call = all_blocks_ours(&mut tree)
        .then(|| acquire_call(binding))
        .flatten();
    let Some(call) = call else {
        fail_up(StateOp::Terminate, miniport, tree, NDIS_STATUS_FAILURE);
        return;
    };
    if !claim_all(&mut tree) {
        // Another terminate of one of these entries is in flight: refused, nothing changed.
        fail_up(
            StateOp::Terminate,
            call.miniport(),
            tree,
            NDIS_STATUS_FAILURE,
        );
        return;
    }
    let mut holder: Option<&OffloadEntry> = None;
    tree.for_each(|block| {
        if let Some(entry) = published_entry(block) {
            holder.get_or_insert(entry);
            entry.begin_terminate();
            set_offload_handle(block, entry.handle_ptr());
        }
    });
    let record = match holder {
        Some(entry) => entry.claim_terminate_record(),
        None => match CallRecord::allocate() {
            // SAFETY: fresh record, ours until the completion frees it.
            Some(record) => unsafe { &*record.as_ptr() },
            None => {
                // Nothing was changed (no entry in the list).
                fail_up(
                    StateOp::Terminate,
                    call.miniport(),
                    tree,
                    NDIS_STATUS_FAILURE,
                );
                return;
            }
        },
    };
    attach_record(record, binding, &mut tree);
    call_down(StateOp::Terminate, call, tree);
}

/// Claims every entry the list names for this terminate. If one is claimed already (the host
/// sent a second terminate for it while the first is in flight), gives back the claims taken
/// and returns false: the call must be refused before anything else changes.
fn claim_all(tree: &mut BlockTree) -> bool {
    let mut claimed = 0usize;
    let mut conflict = false;
    tree.for_each(|block| {
        if conflict {
            return;
        }
        if let Some(entry) = published_entry(block) {
            if entry.try_claim_terminate() {
                claimed += 1;
            } else {
                conflict = true;
            }
        }
    });
    if !conflict {
        return true;
    }
    // Same walk order: the first `claimed` entries are ours to give back.
    tree.for_each(|block| {
        if claimed == 0 {
            return;
        }
        if let Some(entry) = published_entry(block) {
            entry.unclaim_terminate();
            claimed -= 1;
        }
    });
    false
}

/// ProtocolTerminateOffloadComplete: hand back returned send data, end every entry's offload,
/// and complete upward once the last entry drained (maybe now, maybe from an I/O completion).
///
/// Every terminated entry is freed whatever its block status: after NdisMTerminateOffloadComplete
/// the target holds no state for it (on FAILURE, a hardware failure, the state is lost). Not
/// confirmed by any source; see docs/chimney-contract.md §5.9.
///
/// # Safety
/// `tree` is the list this driver passed to NdisTerminateOffload, completed back to it.
pub unsafe fn terminate_complete(mut tree: BlockTree) {
    // SAFETY: the list `terminate` passed down with our record attached, completed back to us.
    let record = unsafe { attached_record(&mut tree) };
    if let Some(root) = tree.root() {
        record.restore_root(root);
    }
    record.arm();
    tree.for_each(|block| {
        let handle = offload_handle(block);
        if handle.is_null() {
            return;
        }
        // SAFETY: we put our entry's handle in this block on the way down.
        let entry = unsafe { OffloadEntry::from_handle(handle) };
        restore_upper_view(block, entry.upper_handle());
        reclaim_chain(block, record);
        record.add_pending();
        // SAFETY: the entry's offload reference, released once; the record outlives it.
        unsafe { OffloadEntry::end_offload(NonNull::from(entry), record) };
    });
    // The list now waits in the record (its root) until the last entry drained.
    let _ = tree.into_raw();
    // SAFETY: the record is armed and live; the walk's own count ends here (the terminate may
    // complete upward and the record be freed inside).
    unsafe { CallRecord::release_pending(NonNull::from(record)) };
}

/// Runs once the terminate's entries have all drained.
pub(crate) fn finish_terminate(this: NonNull<CallRecord>) {
    let (binding, root) = {
        // SAFETY: the record is live until freed below; the reference ends before that.
        let record = unsafe { this.as_ref() };
        let binding: *const Binding = record.binding();
        (binding, record.root())
    };
    // SAFETY: the call's counts (resumed just below, released last) keep the adapter alive.
    let binding = unsafe { &*binding };
    // SAFETY: `terminate` passed this call down with `call_down`; resumed once, here.
    let call = unsafe { resume_call(binding) };
    // SAFETY: the terminate's list, completed to us and parked in the record by
    // terminate_complete; nothing else touches it until it goes up here.
    let tree = unsafe { BlockTree::from_raw(root) };
    // In the host's view; every entry has drained and been unhooked.
    call.miniport().offload_complete(StateOp::Terminate, tree);
    // SAFETY: the record is still live here (freed just below).
    release_deferred(binding, unsafe { this.as_ref() });
    // SAFETY: the call is complete; the record (or its holder entry) is referred to by no one.
    unsafe { CallRecord::free(this) };
    // The call's counts end here, the binding's last. Inlined rather than left to the drop
    // glue: the token names no entry, so no entry release (which can finish a terminate) is
    // compiled in; the out-of-line drop glue would put a cycle finish_terminate -> drop ->
    // end_io -> finish_terminate in the call graph tests/stack_budget.rs measures, though it
    // can never be taken from here.
    call.end();
}
