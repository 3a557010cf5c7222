//! Terminate: no new I/O on the terminated entries; the completion goes up only when every I/O
//! on them has been propagated upward and each entry has been freed. Never allocates.

use core::ptr::NonNull;

use crate::ndis::NDIS_STATUS_FAILURE;
use crate::state::{Adapter, CallRecord, OffloadEntry, StateOp};

use super::super::blocks::{self, Block, offload_handle, restore_upper_view, set_offload_handle};
use super::{
    acquire_call, all_blocks_ours, attach_record, attached_record, call_down, complete_up, fail_up,
    published_entry, reclaim_chain, release_call, release_deferred,
};

/// MiniportTerminateOffload. Never allocates: the record lives in the first terminated entry.
///
/// # Safety
/// As `initiate`.
pub unsafe fn terminate(adapter: &Adapter, root: *mut Block) {
    // SAFETY: forwarded contract.
    if !unsafe { all_blocks_ours(root) } || !acquire_call(adapter) {
        // SAFETY: forwarded contract.
        unsafe { fail_up(StateOp::Terminate, adapter, root, NDIS_STATUS_FAILURE) };
        return;
    }
    let mut holder: Option<&OffloadEntry> = None;
    let mut visit = |block: &mut Block| {
        if let Some(entry) = published_entry(block) {
            holder.get_or_insert(entry);
            entry.begin_terminate();
            set_offload_handle(block, entry.handle_ptr());
        }
    };
    // SAFETY: forwarded contract.
    unsafe { blocks::for_each(root, &mut visit) };
    let record = match holder {
        Some(entry) => entry.claim_terminate_record(),
        None => match CallRecord::allocate() {
            // SAFETY: fresh record, ours until the completion frees it.
            Some(record) => unsafe { &*record.as_ptr() },
            None => {
                release_call(adapter);
                // SAFETY: nothing was changed (no entry in the list).
                unsafe { fail_up(StateOp::Terminate, adapter, root, NDIS_STATUS_FAILURE) };
                return;
            }
        },
    };
    // SAFETY: forwarded contract.
    unsafe { attach_record(record, StateOp::Terminate, adapter, root) };
    // SAFETY: prepared list; call references held.
    unsafe { call_down(StateOp::Terminate, adapter.binding(), root) };
}

/// ProtocolTerminateOffloadComplete: hand back returned send data, end every entry's offload,
/// and complete upward once the last entry drained (maybe now, maybe from an I/O completion).
///
/// Every terminated entry is freed whatever its block status: after NdisMTerminateOffloadComplete
/// the target holds no state for it (on FAILURE, a hardware failure, the state is lost). Not
/// confirmed by any source; see ndis-chimney.md §5.9.
///
/// # Safety
/// As `initiate_complete`.
pub unsafe fn terminate_complete(root: *mut Block) {
    // SAFETY: forwarded contract.
    let record = unsafe { attached_record(root) };
    // SAFETY: the root is back in our hands.
    unsafe { record.restore_root() };
    record.arm(finish_terminate);
    let mut visit = |block: &mut Block| {
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
    };
    // SAFETY: forwarded contract.
    unsafe { blocks::for_each(root, &mut visit) };
    // SAFETY: the record is armed and live; the walk's own count ends here (the terminate may
    // complete upward and the record be freed inside).
    unsafe { CallRecord::release_pending(NonNull::from(record)) };
}

/// Runs once the terminate's entries have all drained.
fn finish_terminate(this: NonNull<CallRecord>) {
    let (adapter, root) = {
        // SAFETY: the record is live until freed below; the reference ends before that.
        let record = unsafe { this.as_ref() };
        let adapter: *const Adapter = record.adapter();
        (adapter, record.root())
    };
    // SAFETY: the call's `requests` references keep the adapter alive until release_call.
    let adapter = unsafe { &*adapter };
    // SAFETY: the list is in the host's view; every entry has drained and been unhooked.
    unsafe { complete_up(StateOp::Terminate, adapter, root) };
    // SAFETY: as above, the record is still live here.
    release_deferred(adapter, unsafe { this.as_ref() });
    // SAFETY: the call is complete; the record (or its holder entry) is referred to by no one.
    unsafe { CallRecord::free(this) };
    release_call(adapter);
}
