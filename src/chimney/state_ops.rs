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

use core::ffi::c_void;
use core::ptr::{self, NonNull};

use crate::glue::trace;
use crate::kernel::Nbl;
use crate::ndis::{
    NDIS_STATUS_FAILURE, NDIS_STATUS_RESOURCES, NDIS_STATUS_SUCCESS, NdisInitiateOffload,
    NdisInvalidateOffload, NdisMInitiateOffloadComplete, NdisMInvalidateOffloadComplete,
    NdisMQueryOffloadStateComplete, NdisMTerminateOffloadComplete, NdisMUpdateOffloadComplete,
    NdisQueryOffloadState, NdisStatus, NdisTerminateOffload, NdisUpdateOffload,
};
use crate::state::{Adapter, AdapterState, Binding, CallRecord, OffloadEntry, StateOp};

use super::blocks::{
    self, Block, as_protocol, offload_handle, restore_upper_view, set_offload_handle,
};

/// Takes the references a state call holds until it completes: the adapter's and the binding's
/// `requests` rundowns (halt and unbind wait for them).
fn acquire_call(adapter: &Adapter) -> bool {
    if !adapter.requests.try_acquire(1) {
        return false;
    }
    if !adapter.binding().requests.try_acquire(1) {
        adapter.release_requests(1);
        return false;
    }
    true
}

/// Ends a state call's references, the binding's last (see `Binding`).
fn release_call(adapter: &Adapter) {
    let binding = adapter.binding();
    adapter.release_requests(1);
    binding.release_requests(1);
}

/// Completes a call upward at once, untouched except for `status` in every block.
///
/// # Safety
/// `root` is the live block list of a call the driver received and has not passed down.
unsafe fn fail_up(op: StateOp, adapter: &Adapter, root: *mut Block, status: NdisStatus) {
    // SAFETY: caller contract.
    unsafe { blocks::for_each(root, &mut |block| block.status = status) };
    // SAFETY: the root is untouched, so NDIS routes the completion back to the caller. No lock.
    unsafe { complete_up(op, adapter, root) };
}

/// # Safety
/// `root` is the caller's block list, back in its upper view.
unsafe fn complete_up(op: StateOp, adapter: &Adapter, root: *mut Block) {
    let handle = adapter.miniport_handle();
    match op {
        // SAFETY: forwarded contract; the miniport handle is valid while NDIS calls us.
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

/// # Safety
/// `root` is the prepared list; the binding is open (call references held).
unsafe fn call_down(op: StateOp, binding: &Binding, root: *mut Block) {
    let handle = binding.handle();
    let list = as_protocol(root);
    match op {
        // SAFETY: forwarded contract. No lock is held.
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
fn published_entry<'a>(block: &Block) -> Option<&'a OffloadEntry> {
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
///
/// # Safety
/// `root` is live and ours.
unsafe fn all_blocks_ours(root: *mut Block) -> bool {
    let mut ours = true;
    let mut visit = |block: &mut Block| {
        if !block.miniport_offload_context.is_null() && published_entry(block).is_none() {
            ours = false;
        }
    };
    // SAFETY: forwarded contract.
    unsafe { blocks::for_each(root, &mut visit) };
    ours
}

/// Hands the record to the blocks: saves the root and puts the record in ImReserved[0].
///
/// # Safety
/// `root` is live and ours.
unsafe fn attach_record(record: &CallRecord, op: StateOp, adapter: &Adapter, root: *mut Block) {
    // SAFETY: caller contract.
    unsafe { record.begin(op, adapter, root) };
    // SAFETY: as above; ImReserved belongs to IMs, and its caller's values are saved.
    unsafe { (*root).im_reserved[0] = ptr::from_ref(record).cast_mut().cast() };
}

/// The record of a call coming back up.
///
/// # Safety
/// `root` is a list this driver sent down with a record attached.
unsafe fn attached_record<'a>(root: *mut Block) -> &'a CallRecord {
    // SAFETY: caller contract; lower layers must not modify ImReserved.
    let record = unsafe { (*root).im_reserved[0] };
    // SAFETY: the record lives until this call completes upward.
    unsafe { &*record.cast::<CallRecord>() }
}

/// Pops our context off every NBL handed back in a block's NetBufferListChain, restoring the
/// host's SourceHandle. Entry counts end now; adapter/binding counts after the completion went up.
fn reclaim_chain(block: &Block, record: &CallRecord) {
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
fn release_deferred(adapter: &Adapter, record: &CallRecord) {
    let count = record.take_deferred_io();
    if count != 0 {
        let binding = adapter.binding();
        adapter.release_io(count);
        binding.release_sends(count);
    }
}

// ----------------------------------------------------------------------------------------------
// Initiate
// ----------------------------------------------------------------------------------------------

/// MiniportInitiateOffload.
///
/// # Safety
/// `root` is the live MOBL view of the host's block list.
pub unsafe fn initiate(adapter: &Adapter, root: *mut Block) {
    let runnable = adapter.state() == AdapterState::Running && adapter.chimney.upcalls().is_some();
    if !runnable || !acquire_call(adapter) {
        // SAFETY: forwarded contract.
        unsafe { fail_up(StateOp::Initiate, adapter, root, NDIS_STATUS_FAILURE) };
        return;
    }
    let Some(record) = CallRecord::allocate() else {
        release_call(adapter);
        // SAFETY: forwarded contract. RESOURCES is an allowed initiate status.
        unsafe { fail_up(StateOp::Initiate, adapter, root, NDIS_STATUS_RESOURCES) };
        return;
    };
    // SAFETY: a fresh record, ours until the completion frees it.
    let record = unsafe { record.as_ref() };

    let mut prepared = 0usize;
    let mut failure = None;
    let mut visit = |block: &mut Block| {
        if failure.is_none() {
            match prepare_initiate_block(adapter, block) {
                Ok(()) => prepared += 1,
                Err(status) => failure = Some(status),
            }
        }
    };
    // SAFETY: forwarded contract.
    unsafe { blocks::for_each(root, &mut visit) };
    if let Some(status) = failure {
        // SAFETY: the first `prepared` blocks were rewritten by prepare_initiate_block.
        unsafe { undo_initiate(root, prepared) };
        // SAFETY: the record was never attached.
        unsafe { CallRecord::free(NonNull::from(record)) };
        release_call(adapter);
        // SAFETY: the list is back as the host gave it.
        unsafe { fail_up(StateOp::Initiate, adapter, root, status) };
        return;
    }
    // SAFETY: forwarded contract.
    unsafe { attach_record(record, StateOp::Initiate, adapter, root) };
    // SAFETY: prepared list; call references held.
    unsafe { call_down(StateOp::Initiate, adapter.binding(), root) };
}

/// Gives one block our handle: a new zero-filled entry for a new offload, the existing entry for
/// a linker; placeholders stay as they are. Send data handed over with the offload gets our NBL
/// context (NDIS overwrites its SourceHandle; it completes later through send-complete).
fn prepare_initiate_block(adapter: &Adapter, block: &mut Block) -> Result<(), NdisStatus> {
    if block.miniport_offload_context.is_null() {
        return Ok(()); // placeholder
    }
    let (entry, is_new) = match published_entry(block) {
        Some(entry) => (NonNull::from(entry), false),
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
    if !adapter.io.try_acquire(count) {
        return Err(NDIS_STATUS_FAILURE);
    }
    if !binding.sends.try_acquire(count) {
        adapter.release_io(count);
        return Err(NDIS_STATUS_FAILURE);
    }
    if !entry.try_start_io(count) {
        adapter.release_io(count);
        binding.release_sends(count);
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
    adapter.release_io(count);
    binding.release_sends(count);
    Err(NDIS_STATUS_RESOURCES)
}

/// Reverts the first `prepared` blocks of a refused initiate.
///
/// # Safety
/// As `initiate`.
unsafe fn undo_initiate(root: *mut Block, prepared: usize) {
    let mut seen = 0usize;
    let mut visit = |block: &mut Block| {
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
        if !entry.is_published() {
            // SAFETY: the unpublished new entry's offload reference, released once.
            unsafe { OffloadEntry::end_offload(NonNull::from(entry), ptr::null()) };
        }
    };
    // SAFETY: forwarded contract.
    unsafe { blocks::for_each(root, &mut visit) };
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
        adapter.release_io(count);
        binding.release_sends(count);
    }
}

/// ProtocolInitiateOffloadComplete: publish successful new entries, free failed ones, put the
/// list back in the host's view and complete it up.
///
/// # Safety
/// `root` is the list this driver passed to NdisInitiateOffload, completed.
pub unsafe fn initiate_complete(root: *mut Block) {
    // SAFETY: forwarded contract.
    let record = unsafe { attached_record(root) };
    let adapter = record.adapter();
    // SAFETY: the root is back in our hands.
    unsafe { record.restore_root() };
    let mut visit = |block: &mut Block| {
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
        if !entry.is_published() {
            if offloaded {
                entry.publish();
            } else {
                // SAFETY: the failed new entry's offload reference, released once.
                unsafe { OffloadEntry::end_offload(NonNull::from(entry), ptr::null()) };
            }
        }
    };
    // SAFETY: forwarded contract.
    unsafe { blocks::for_each(root, &mut visit) };
    // SAFETY: the list is in the host's view again.
    unsafe { complete_up(StateOp::Initiate, adapter, root) };
    release_deferred(adapter, record);
    // SAFETY: the call is complete; nothing refers to the record.
    unsafe { CallRecord::free(NonNull::from(record)) };
    release_call(adapter);
}

// ----------------------------------------------------------------------------------------------
// Terminate
// ----------------------------------------------------------------------------------------------

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

// ----------------------------------------------------------------------------------------------
// Update, invalidate, query: same shape, no entry lifecycle.
// ----------------------------------------------------------------------------------------------

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

// ----------------------------------------------------------------------------------------------
// Generic offload events (bottom-up)
// ----------------------------------------------------------------------------------------------

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
