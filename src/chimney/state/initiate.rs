//! Initiate: a new offload gets a zero-filled entry, a linker reuses the published one; entries
//! are published to the host when the initiate completes with success.

use core::ffi::c_void;
use core::ptr::{self, NonNull};

use crate::ndis::{NDIS_STATUS_FAILURE, NDIS_STATUS_RESOURCES, NDIS_STATUS_SUCCESS, NdisStatus};
use crate::state::{Adapter, AdapterState, CallRecord, OffloadEntry, StateOp};

use super::super::blocks::{
    Block, BlockTree, offload_handle, restore_upper_view, set_offload_handle,
};
use super::{
    acquire_call, attach_record, attached_record, call_down, complete_up, fail_up, published_entry,
    reclaim_chain, release_call, release_deferred,
};

/// MiniportInitiateOffload, on the host's block list (MOBL view).
pub fn initiate(adapter: &Adapter, mut tree: BlockTree) {
    if !acquire_call(adapter) {
        // Halt has closed the request count: nothing can be held any more.
        fail_up(StateOp::Initiate, adapter, tree, NDIS_STATUS_FAILURE);
        return;
    }
    let runnable = adapter.state() == AdapterState::Running && adapter.chimney.upcalls().is_some();
    if !runnable {
        // Completed upward while the call's counts are held, like every other upcall: halt
        // cannot return (and the miniport handle go) before NdisMInitiateOffloadComplete did.
        fail_up(StateOp::Initiate, adapter, tree, NDIS_STATUS_FAILURE);
        release_call(adapter);
        return;
    }
    let Some(record) = CallRecord::allocate() else {
        release_call(adapter);
        // RESOURCES is an allowed initiate status.
        fail_up(StateOp::Initiate, adapter, tree, NDIS_STATUS_RESOURCES);
        return;
    };
    // SAFETY: a fresh record, ours until the completion frees it.
    let record = unsafe { record.as_ref() };

    let mut prepared = 0usize;
    let mut failure = None;
    tree.for_each(|block| {
        if failure.is_none() {
            match prepare_initiate_block(adapter, block) {
                Ok(()) => prepared += 1,
                Err(status) => failure = Some(status),
            }
        }
    });
    if let Some(status) = failure {
        undo_initiate(&mut tree, prepared);
        // SAFETY: the record was never attached; nothing else refers to it.
        unsafe { CallRecord::free(NonNull::from(record)) };
        release_call(adapter);
        // The list is back as the host gave it.
        fail_up(StateOp::Initiate, adapter, tree, status);
        return;
    }
    attach_record(record, StateOp::Initiate, adapter, &mut tree);
    // SAFETY: the call references were taken above.
    unsafe { call_down(StateOp::Initiate, adapter.binding(), tree) };
}

/// Gives one block our handle: a new zero-filled entry for a new offload, the existing entry for
/// a linker; placeholders stay as they are. Send data handed over with the offload gets our NBL
/// context (NDIS overwrites its SourceHandle; it completes later through send-complete).
fn prepare_initiate_block(adapter: &Adapter, block: &mut Block) -> Result<(), NdisStatus> {
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
                OffloadEntry::create(adapter, upper).ok_or(NDIS_STATUS_RESOURCES)?,
                true,
            )
        }
    };
    // SAFETY: created or published entry, alive for the duration of this call.
    let entry = unsafe { entry.as_ref() };
    if let Err(status) = start_chain(adapter, entry, block.net_buffer_list_chain) {
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
    adapter: &Adapter,
    entry: &OffloadEntry,
    head: *mut crate::ndis::NetBufferList,
) -> Result<(), NdisStatus> {
    // SAFETY: the host's NBLs, ours while the initiate is with us.
    let chain = unsafe { crate::kernel::NblChain::from_raw(head) };
    let count = chain.count();
    if count == 0 {
        return Ok(());
    }
    let binding = adapter.binding();
    if !adapter.nbls_in_flight.try_acquire(count) {
        return Err(NDIS_STATUS_FAILURE);
    }
    if !binding.nbls_below.try_acquire(count) {
        adapter.release_nbls(count);
        return Err(NDIS_STATUS_FAILURE);
    }
    if !entry.try_start_io(count) {
        adapter.release_nbls(count);
        binding.nbls_below.release(count);
        return Err(NDIS_STATUS_FAILURE);
    }
    let owner = ptr::from_ref(entry).cast_mut().cast::<c_void>();
    let mut saved = 0;
    for nbl in chain.iter() {
        if nbl.push_context(nbl.source_handle(), owner).is_err() {
            break;
        }
        saved += 1;
    }
    if saved == count {
        return Ok(());
    }
    for nbl in chain.iter().take(saved as usize) {
        let _ = nbl.pop_context_and_restore();
    }
    // SAFETY: ends the references taken above; the offload reference keeps the entry alive.
    unsafe { OffloadEntry::end_io(NonNull::from(entry), count) };
    adapter.release_nbls(count);
    binding.nbls_below.release(count);
    Err(NDIS_STATUS_RESOURCES)
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
    let mut count = 0;
    for nbl in chain.iter() {
        let _ = nbl.pop_context_and_restore();
        count += 1;
    }
    if count != 0 {
        let adapter = entry.adapter();
        // SAFETY: ends the references start_chain took; the offload reference is still held.
        unsafe { OffloadEntry::end_io(NonNull::from(entry), count) };
        let binding = adapter.binding();
        adapter.release_nbls(count);
        binding.nbls_below.release(count);
    }
}

/// ProtocolInitiateOffloadComplete: publish successful new entries, free failed ones, put the
/// list back in the host's view and complete it up.
///
/// # Safety
/// `tree` is the list this driver passed to NdisInitiateOffload, completed back to it.
pub unsafe fn initiate_complete(mut tree: BlockTree) {
    // SAFETY: caller contract.
    let record = unsafe { attached_record(&mut tree) };
    let adapter = record.adapter();
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
    complete_up(StateOp::Initiate, adapter, tree);
    release_deferred(adapter, record);
    // SAFETY: the call is complete; nothing refers to the record.
    unsafe { CallRecord::free(NonNull::from(record)) };
    release_call(adapter);
}
