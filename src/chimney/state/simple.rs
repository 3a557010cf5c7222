//! Update, invalidate and query (same shape as the others, no entry lifecycle), and generic
//! offload events coming up.

use core::ptr::NonNull;

use crate::glue::trace;
use crate::ndis::NDIS_STATUS_FAILURE;
use crate::state::{Adapter, Binding, CallRecord, OffloadEntry, StateOp};

use super::super::blocks::{self, Block, offload_handle, restore_upper_view, set_offload_handle};
use super::{
    acquire_call, all_blocks_ours, attach_record, attached_record, call_down, complete_up, fail_up,
    published_entry, release_call,
};

/// MiniportUpdateOffload / MiniportInvalidateOffload / MiniportQueryOffload.
///
/// # Safety
/// As `initiate`.
pub unsafe fn simple(op: StateOp, adapter: &Adapter, root: *mut Block) {
    // SAFETY: forwarded contract.
    if !unsafe { all_blocks_ours(root) } || !acquire_call(adapter) {
        // SAFETY: forwarded contract.
        unsafe { fail_up(op, adapter, root, NDIS_STATUS_FAILURE) };
        return;
    }
    let Some(record) = CallRecord::allocate() else {
        trace!("state call {:?} refused: no memory for its record", op);
        release_call(adapter);
        // SAFETY: forwarded contract. These calls allow only SUCCESS or FAILURE.
        unsafe { fail_up(op, adapter, root, NDIS_STATUS_FAILURE) };
        return;
    };
    // SAFETY: fresh record.
    let record = unsafe { record.as_ref() };
    let mut visit = |block: &mut Block| {
        if let Some(entry) = published_entry(block) {
            set_offload_handle(block, entry.handle_ptr());
        }
    };
    // SAFETY: forwarded contract.
    unsafe { blocks::for_each(root, &mut visit) };
    // SAFETY: forwarded contract.
    unsafe { attach_record(record, op, adapter, root) };
    // SAFETY: prepared list; call references held.
    unsafe { call_down(op, adapter.binding(), root) };
}

/// Protocol{Update,Invalidate,Query}OffloadComplete.
///
/// # Safety
/// As `initiate_complete`.
pub unsafe fn simple_complete(op: StateOp, root: *mut Block) {
    // SAFETY: forwarded contract.
    let record = unsafe { attached_record(root) };
    let adapter = record.adapter();
    // SAFETY: the root is back in our hands.
    unsafe { record.restore_root() };
    let mut visit = |block: &mut Block| {
        let handle = offload_handle(block);
        if handle.is_null() {
            return;
        }
        // SAFETY: we put our entry's handle here on the way down.
        let entry = unsafe { OffloadEntry::from_handle(handle) };
        restore_upper_view(block, entry.upper_handle());
    };
    // SAFETY: forwarded contract.
    unsafe { blocks::for_each(root, &mut visit) };
    // SAFETY: the list is in the host's view again.
    unsafe { complete_up(op, adapter, root) };
    // SAFETY: the call is complete.
    unsafe { CallRecord::free(NonNull::from(record)) };
    release_call(adapter);
}

/// ProtocolIndicateOffloadEvent: see the handler's comment in `chimney/mod.rs`.
///
/// # Safety
/// `root` is null or the target's live block list for the duration of the call.
pub unsafe fn indicate_event(binding: &Binding, root: *mut Block, code: u32) {
    let adapter = &binding.adapter;
    if !adapter.requests.try_acquire(1) {
        return;
    }
    // Swap our handles for the host's.
    let mut visit = |block: &mut Block| {
        let handle = offload_handle(block);
        if !handle.is_null() {
            // SAFETY: the target names state through the handles we gave it.
            let entry = unsafe { OffloadEntry::from_handle(handle) };
            set_offload_handle(block, entry.upper_handle());
        }
    };
    // SAFETY: forwarded contract.
    unsafe { blocks::for_each(root, &mut visit) };
    // SAFETY: the miniport is initialized (requests held); the list is valid for the call.
    unsafe { crate::ndis::NdisMOffloadEventIndicate(adapter.miniport_handle(), root, code) };
    // And back, for the target.
    let mut visit = |block: &mut Block| {
        let upper = offload_handle(block);
        if !upper.is_null() {
            // SAFETY: the host's handle of a published entry: its context is the entry.
            let context = unsafe { (*upper).miniport_offload_context };
            // SAFETY: as above.
            if let Some(entry) = unsafe { OffloadEntry::from_context(context) } {
                set_offload_handle(block, entry.handle_ptr());
            }
        }
    };
    // SAFETY: forwarded contract.
    unsafe { blocks::for_each(root, &mut visit) };
    adapter.release_requests(1);
}
