//! Initiate: a new offload gets a zero-filled entry, a linker reuses the published one; entries
//! are published to the host when the initiate completes with success.

use core::ffi::c_void;
use core::ptr::{self, NonNull};

use crate::chimney::entry::{CallRecord, OffloadEntry};
use crate::kernel::{MiniportHandle, StateOp};
use crate::ndis::{NDIS_STATUS_FAILURE, NDIS_STATUS_RESOURCES, NDIS_STATUS_SUCCESS, NdisStatus};
use crate::state::{AdapterState, Binding, Forward, Path};

use super::{
    acquire_call, attach_record, attached_record, call_down, fail_up, published_entry,
    reclaim_chain, release_deferred, resume_call,
};
use crate::kernel::blocks::{
    Block, BlockTree, offload_handle, restore_upper_view, set_offload_handle,
};

/// MiniportInitiateOffload, on the host's block list (MOBL view).
pub fn initiate(binding: &Binding, miniport: MiniportHandle<'_>, mut tree: BlockTree) {
    let Some(call) = acquire_call(binding) else {
        // Halt has closed the request count: nothing can be held any more.
        fail_up(StateOp::Initiate, miniport, tree, NDIS_STATUS_FAILURE);
        return;
    };
    // From here every upward completion happens while `call` holds the counts halt waits for.
    let adapter = &binding.adapter;
    let runnable = adapter.state() == AdapterState::Running && adapter.chimney.upcalls().is_some();
    if !runnable {
        fail_up(
            StateOp::Initiate,
            call.miniport(),
            tree,
            NDIS_STATUS_FAILURE,
        );
        return;
    }
    let Some(record) = CallRecord::allocate() else {
        // RESOURCES is an allowed initiate status.
        fail_up(
            StateOp::Initiate,
            call.miniport(),
            tree,
            NDIS_STATUS_RESOURCES,
        );
        return;
    };
    // SAFETY: a fresh record, ours until the completion frees it.
    let record = unsafe { record.as_ref() };

    let mut prepared = 0usize;
    let mut failure = None;
    tree.for_each(|block| {
        if failure.is_none() {
            match prepare_initiate_block(binding, block) {
                Ok(()) => prepared += 1,
                Err(status) => failure = Some(status),
            }
        }
    });
    if let Some(status) = failure {
        undo_initiate(&mut tree, prepared);
        // SAFETY: the record was never attached; nothing else refers to it.
        unsafe { CallRecord::free(NonNull::from(record)) };
        // The list is back as the host gave it.
        fail_up(StateOp::Initiate, call.miniport(), tree, status);
        return;
    }
    attach_record(record, binding, &mut tree);
    call_down(StateOp::Initiate, call, tree);
}

/// Gives one block our handle: a new zero-filled entry for a new offload, the existing entry for
/// a linker; placeholders stay as they are. Send data handed over with the offload gets our NBL
/// context (NDIS overwrites its SourceHandle; it completes later through send-complete).
fn prepare_initiate_block(binding: &Binding, block: &mut Block) -> Result<(), NdisStatus> {
    if block.miniport_offload_context.is_null() {
        return Ok(()); // placeholder
    }
    let (entry, is_new) = match published_entry(block) {
        // A linker: held until the completion has read it; refused if it is being terminated.
        Some(entry) if entry.try_hold() => (NonNull::from(entry), false),
        Some(_) => return Err(NDIS_STATUS_FAILURE),
        None => {
            let upper = offload_handle(block);
            (
                OffloadEntry::create(binding, upper).ok_or(NDIS_STATUS_RESOURCES)?,
                true,
            )
        }
    };
    // SAFETY: created or published entry, alive for the duration of this call.
    let entry = unsafe { entry.as_ref() };
    if let Err(status) = start_chain(binding, entry, block.net_buffer_list_chain) {
        if is_new {
            // SAFETY: the new entry's offload reference, released once; nothing else knows it.
            unsafe { OffloadEntry::end_offload(NonNull::from(entry), ptr::null()) };
        } else {
            // SAFETY: the linker's hold taken above, released once.
            unsafe { OffloadEntry::release_hold(NonNull::from(entry)) };
        }
        return Err(status);
    }
    set_offload_handle(block, entry.handle_ptr());
    Ok(())
}

/// Accounts and marks the send NBLs handed down with an initiate.
fn start_chain(
    binding: &Binding,
    entry: &OffloadEntry,
    head: *mut crate::ndis::NetBufferList,
) -> Result<(), NdisStatus> {
    // SAFETY: the host's NBLs, ours while the initiate is with us.
    let chain = unsafe { crate::kernel::NblChain::from_raw(head) };
    let count = chain.count();
    if count == 0 {
        return Ok(());
    }
    let token = Forward::acquire(binding, Path::Nbls, count)
        .and_then(|token| token.with_entry(entry))
        .ok_or(NDIS_STATUS_FAILURE)?;
    let owner = ptr::from_ref(entry).cast_mut().cast::<c_void>();
    // On failure the contexts are undone and the token's drop ends the counts.
    chain
        .push_contexts(Some(owner), None)
        .map_err(|_| NDIS_STATUS_RESOURCES)?;
    // They complete through send-complete, or come back in the initiate's own completion.
    token.hand_over();
    Ok(())
}

/// Reverts the first `prepared` blocks of a refused initiate.
fn undo_initiate(tree: &mut BlockTree, prepared: usize) {
    let mut seen = 0usize;
    tree.for_each(|block| {
        if seen >= prepared {
            return;
        }
        seen += 1;
        let handle = offload_handle(block);
        if block.miniport_offload_context.is_null() || handle.is_null() {
            return;
        }
        // SAFETY: prepare_initiate_block put our entry's handle here.
        let entry = unsafe { OffloadEntry::from_handle(handle) };
        undo_chain(entry, block.net_buffer_list_chain);
        set_offload_handle(block, entry.upper_handle());
        if entry.is_published() {
            // SAFETY: the linker's hold from prepare_initiate_block, released once.
            unsafe { OffloadEntry::release_hold(NonNull::from(entry)) };
        } else {
            // SAFETY: the unpublished new entry's offload reference, released once.
            unsafe { OffloadEntry::end_offload(NonNull::from(entry), ptr::null()) };
        }
    });
}

fn undo_chain(entry: &OffloadEntry, head: *mut crate::ndis::NetBufferList) {
    // SAFETY: NBLs prepared by start_chain, still ours.
    let chain = unsafe { crate::kernel::NblChain::from_raw(head) };
    let count = chain.pop_contexts();
    if count != 0 {
        // SAFETY: start_chain handed these NBLs' counts over (entry references included); the
        // entry's offload reference keeps it allocated past this drop.
        drop(unsafe {
            Forward::completed(
                entry.binding(),
                Path::Nbls,
                count,
                Some(NonNull::from(entry)),
            )
        });
    }
}

/// ProtocolInitiateOffloadComplete: publish successful new entries, free failed ones, put the
/// list back in the host's view and complete it up.
///
/// # Safety
/// `tree` is the list this driver passed to NdisInitiateOffload, completed back to it.
pub unsafe fn initiate_complete(mut tree: BlockTree) {
    // SAFETY: the caller's contract: our list, carrying our record.
    let record = unsafe { attached_record(&mut tree) };
    let binding = record.binding();
    // SAFETY: `initiate` passed this call down with `call_down`; resumed once, here.
    let call = unsafe { resume_call(binding) };
    if let Some(root) = tree.root() {
        record.restore_root(root);
    }
    tree.for_each(|block| {
        let handle = offload_handle(block);
        if handle.is_null() {
            return; // placeholder: never changed
        }
        // SAFETY: we put our entry's handle in every non-placeholder block.
        let entry = unsafe { OffloadEntry::from_handle(handle) };
        restore_upper_view(block, entry.upper_handle());
        let offloaded = block.status == NDIS_STATUS_SUCCESS;
        if !offloaded {
            reclaim_chain(block, record);
        }
        if entry.is_published() {
            // SAFETY: the linker's hold from prepare_initiate_block; the entry is not touched
            // after it ends.
            unsafe { OffloadEntry::release_hold(NonNull::from(entry)) };
        } else if offloaded {
            entry.publish();
        } else {
            // SAFETY: the failed new entry's offload reference, released once.
            unsafe { OffloadEntry::end_offload(NonNull::from(entry), ptr::null()) };
        }
    });
    // The list is in the host's view again.
    call.miniport().offload_complete(StateOp::Initiate, tree);
    release_deferred(binding, record);
    // SAFETY: the call is complete; nothing refers to the record.
    unsafe { CallRecord::free(NonNull::from(record)) };
    // The call's counts end when `call` drops, the binding's last.
}
