//! Update, invalidate and query (same shape as the others, no entry lifecycle), and generic
//! offload events coming up.

use core::ptr::NonNull;

use crate::chimney::entry::{CallRecord, OffloadEntry};
use crate::glue::trace;
use crate::kernel::{MiniportHandle, StateOp};
use crate::ndis::NDIS_STATUS_FAILURE;
use crate::state::{Binding, Forward, Path};

use super::{
    acquire_call, all_blocks_ours, attach_record, attached_record, call_down, fail_up,
    published_entry, resume_call,
};
use crate::kernel::blocks::{BlockTree, offload_handle, restore_upper_view, set_offload_handle};

/// MiniportUpdateOffload / MiniportInvalidateOffload / MiniportQueryOffload.
pub fn simple(op: StateOp, binding: &Binding, miniport: MiniportHandle<'_>, mut tree: BlockTree) {
    let call = all_blocks_ours(&mut tree)
        .then(|| acquire_call(binding))
        .flatten();
    let Some(call) = call else {
        fail_up(op, miniport, tree, NDIS_STATUS_FAILURE);
        return;
    };
    let Some(record) = CallRecord::allocate() else {
        trace!("state call {:?} refused: no memory for its record", op);
        // These calls allow only SUCCESS or FAILURE.
        fail_up(op, call.miniport(), tree, NDIS_STATUS_FAILURE);
        return;
    };
    if !hold_all(&mut tree) {
        // SAFETY: the record was never attached; nothing else refers to it.
        unsafe { CallRecord::free(record) };
        // A terminate of one of these entries is in flight: the entry may be gone before this
        // call could complete, so it is refused.
        fail_up(op, call.miniport(), tree, NDIS_STATUS_FAILURE);
        return;
    }
    // SAFETY: fresh record, ours until the completion frees it.
    let record = unsafe { record.as_ref() };
    tree.for_each(|block| {
        if let Some(entry) = published_entry(block) {
            set_offload_handle(block, entry.handle_ptr());
        }
    });
    attach_record(record, binding, &mut tree);
    call_down(op, call, tree);
}

/// Holds every entry the list names until the completion has read it (see
/// [`OffloadEntry::try_hold`]). If one is being terminated, gives back the holds taken and
/// returns false.
fn hold_all(tree: &mut BlockTree) -> bool {
    let mut held = 0usize;
    let mut refused = false;
    tree.for_each(|block| {
        if refused {
            return;
        }
        if let Some(entry) = published_entry(block) {
            if entry.try_hold() {
                held += 1;
            } else {
                refused = true;
            }
        }
    });
    if !refused {
        return true;
    }
    // Same walk order: the first `held` entries carry our holds.
    tree.for_each(|block| {
        if held == 0 {
            return;
        }
        if let Some(entry) = published_entry(block) {
            held -= 1;
            // SAFETY: the hold taken above; the entry stays published (and live) until a
            // terminate, which waits for this hold, so `published_entry` found it again.
            unsafe { OffloadEntry::release_hold(NonNull::from(entry)) };
        }
    });
    false
}

/// Protocol{Update,Invalidate,Query}OffloadComplete.
///
/// # Safety
/// `tree` is the list this driver passed down for `op`, completed back to it.
pub unsafe fn simple_complete(op: StateOp, mut tree: BlockTree) {
    // SAFETY: the caller's contract: our list, carrying our record.
    let record = unsafe { attached_record(&mut tree) };
    // SAFETY: `simple` passed this call down with `call_down`; resumed once, here.
    let call = unsafe { resume_call(record.binding()) };
    if let Some(root) = tree.root() {
        record.restore_root(root);
    }
    tree.for_each(|block| {
        let handle = offload_handle(block);
        if handle.is_null() {
            return;
        }
        // SAFETY: we put our entry's handle here on the way down, and the call's hold keeps
        // the entry alive until released just below.
        let entry = unsafe { OffloadEntry::from_handle(handle) };
        restore_upper_view(block, entry.upper_handle());
        // SAFETY: the hold `hold_all` took for this block; nothing here touches the entry
        // afterwards (a terminate waiting for it may complete upward inside).
        unsafe { OffloadEntry::release_hold(NonNull::from(entry)) };
    });
    // The list is in the host's view again.
    call.miniport().offload_complete(op, tree);
    // SAFETY: the call is complete; nothing refers to the record.
    unsafe { CallRecord::free(NonNull::from(record)) };
    // The call's counts end when `call` drops, the binding's last.
}

/// ProtocolIndicateOffloadEvent: see the handler's comment in `chimney/mod.rs`. The target's
/// list (or none) is ours for the duration of the call.
pub fn indicate_event(binding: &Binding, mut tree: BlockTree, code: u32) {
    let Some(token) = Forward::acquire(binding, Path::Requests, 1) else {
        return;
    };
    // Swap our handles for the host's.
    tree.for_each(|block| {
        let handle = offload_handle(block);
        if !handle.is_null() {
            // SAFETY: the target names state through the handles we gave it: live entries.
            let entry = unsafe { OffloadEntry::from_handle(handle) };
            set_offload_handle(block, entry.upper_handle());
        }
    });
    token.miniport().offload_event_indicate(&mut tree, code);
    // And back, for the target.
    tree.for_each(|block| {
        let upper = offload_handle(block);
        if !upper.is_null() {
            // SAFETY: the host's handle of a published entry: its context slot is valid.
            let context = unsafe { (*upper).miniport_offload_context };
            // SAFETY: a non-null context there is the entry we published and have not freed.
            if let Some(entry) = unsafe { OffloadEntry::from_context(context) } {
                set_offload_handle(block, entry.handle_ptr());
            }
        }
    });
}
