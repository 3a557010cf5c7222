//! TCP chimney I/O pass-through: send, receive (post), disconnect and forward go down on the
//! IM's own offload handle with the same NBLs, in order; their completions go up synchronously,
//! in order, through NDIS's upcall table. Receive indications and TCP events go up on the host's
//! handle; receive returns go down on the lower binding handle.
//!
//! Per NBL: one NBL context (the host's SourceHandle, which NDIS overwrites on the way down, and
//! the owning entry), three atomic counts (adapter, binding, entry). No lock, no heap, no wait.

use core::ffi::c_void;
use core::ptr::{self, NonNull};

use crate::kernel::{ChainBuilder, NblChain};
use crate::ndis::{
    NDIS_STATUS_OFFLOAD_DATA_NOT_ACCEPTED, NDIS_STATUS_PENDING, NDIS_STATUS_REQUEST_UPLOAD,
    NDIS_STATUS_SUCCESS, NDIS_STATUS_UPLOAD_REQUESTED, NdisHandle, NdisOffloadHandle,
    NdisOffloadTcpDisconnect, NdisOffloadTcpForward, NdisOffloadTcpReceive,
    NdisOffloadTcpReceiveReturn, NdisOffloadTcpSend, NdisStatus, NdisTcpOffloadEventHandlers,
    NetBufferList,
};
use crate::state::{Adapter, Binding, OffloadEntry};

/// The four NBL-carrying chimney operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IoKind {
    Send,
    Receive,
    /// With the host's Flags (graceful 0x1 / abortive 0x2), passed down unchanged.
    Disconnect(u32),
    Forward,
}

/// MiniportTcpOffload{Send,Receive,Disconnect,Forward}: forward the chain on `offload_context`
/// (the entry we published to the host). Always returns NDIS_STATUS_PENDING, the only value
/// allowed, also when the driver completes the request itself.
///
/// # Safety
/// `offload_context` is the MiniportOffloadContext NDIS passed (null or a published entry);
/// `chain` is the host's, ours until completed.
pub unsafe fn post(
    kind: IoKind,
    adapter: &Adapter,
    offload_context: *mut c_void,
    chain: NblChain,
) -> NdisStatus {
    let count = chain.count();
    if count == 0 {
        return NDIS_STATUS_PENDING;
    }
    // SAFETY: caller contract.
    let Some(entry) = (unsafe { OffloadEntry::from_context(offload_context) }) else {
        refuse(kind, adapter, chain);
        return NDIS_STATUS_PENDING;
    };
    let binding = adapter.binding();
    // Nothing is forwarded once a pause/halt began, the lower binding paused or closes, or the
    // connection is being terminated.
    if !adapter.nbls_in_flight.try_acquire(count) {
        refuse(kind, adapter, chain);
        return NDIS_STATUS_PENDING;
    }
    if !binding.nbls_below.try_acquire(count) {
        refuse(kind, adapter, chain);
        adapter.release_nbls(count);
        return NDIS_STATUS_PENDING;
    }
    if !entry.try_start_io(count) {
        refuse(kind, adapter, chain);
        adapter.release_nbls(count);
        binding.nbls_below.release(count);
        return NDIS_STATUS_PENDING;
    }
    let owner = ptr::from_ref(entry).cast_mut().cast::<c_void>();
    let mut saved = 0u32;
    for nbl in chain.iter() {
        if nbl.push_context(nbl.source_handle(), owner).is_err() {
            break;
        }
        saved += 1;
    }
    if saved != count {
        // Out of NBL context space: give the whole chain back (forwarding part of it would
        // reorder the connection's completions).
        for nbl in chain.iter().take(saved as usize) {
            let _ = nbl.pop_context_and_restore();
        }
        refuse(kind, adapter, chain);
        // SAFETY: ends the references taken above; the entry stays published meanwhile.
        unsafe { OffloadEntry::end_io(NonNull::from(entry), count) };
        adapter.release_nbls(count);
        binding.nbls_below.release(count);
        return NDIS_STATUS_PENDING;
    }
    let handle = entry.handle_ptr();
    let nbls = chain.as_ptr();
    // SAFETY: our own offload handle for the lower layer (zero-filled at birth, NdisReserved[0]
    // set by NDIS at initiate); the same NBLs, each carrying our context. The completion may run
    // before this returns. No lock is held. The returned status is documented to be PENDING and
    // carries no information for us.
    let _ = unsafe { call_down(kind, handle, nbls) };
    NDIS_STATUS_PENDING
}

/// # Safety
/// See `post`.
unsafe fn call_down(
    kind: IoKind,
    handle: *mut NdisOffloadHandle,
    nbls: *mut NetBufferList,
) -> NdisStatus {
    match kind {
        // SAFETY: forwarded contract.
        IoKind::Send => unsafe { NdisOffloadTcpSend(handle, nbls) },
        // SAFETY: forwarded contract.
        IoKind::Receive => unsafe { NdisOffloadTcpReceive(handle, nbls) },
        // SAFETY: forwarded contract; the host's flags go down unchanged.
        IoKind::Disconnect(flags) => unsafe { NdisOffloadTcpDisconnect(handle, nbls, flags) },
        // SAFETY: forwarded contract.
        IoKind::Forward => unsafe { NdisOffloadTcpForward(handle, nbls) },
    }
}

/// Completes a chain to the host without forwarding it: NDIS_STATUS_REQUEST_UPLOAD on the first
/// NBL, NDIS_STATUS_UPLOAD_REQUESTED on the rest, so that the host uploads the connection and
/// does the work itself. (Documented for send; used for all four, see ndis-chimney.md §5.6.)
fn refuse(kind: IoKind, adapter: &Adapter, chain: NblChain) {
    let mut status = NDIS_STATUS_REQUEST_UPLOAD;
    for nbl in chain.iter() {
        nbl.set_status(status);
        status = NDIS_STATUS_UPLOAD_REQUESTED;
    }
    let Some(table) = adapter.chimney.upcalls() else {
        // No upcall table means no initiate ever succeeded, so no I/O can arrive: unreachable.
        return;
    };
    complete_up(kind, table, adapter.miniport_handle(), chain.as_ptr());
}

/// Calls NDIS's completion routine for `kind`.
fn complete_up(
    kind: IoKind,
    table: &NdisTcpOffloadEventHandlers,
    miniport_handle: NdisHandle,
    nbls: *mut NetBufferList,
) {
    let routine = match kind {
        IoKind::Send => table.ndis_tcp_offload_send_complete,
        IoKind::Receive => table.ndis_tcp_offload_receive_complete,
        IoKind::Disconnect(_) => table.ndis_tcp_offload_disconnect_complete,
        IoKind::Forward => table.ndis_tcp_offload_forward_complete,
    };
    if let Some(routine) = routine {
        // SAFETY: NDIS's own routine from NdisMGetOffloadHandlers (validated non-null at
        // initialize); the NBLs are the host's again (SourceHandle restored, our context freed).
        // NDIS routes by SourceHandle; we pass our per-adapter miniport handle (ndis-chimney.md
        // §5.5). No lock is held.
        unsafe { routine(miniport_handle, nbls) };
    }
}

/// ProtocolTcpOffload{Send,Receive,Disconnect,Forward}Complete: restore each NBL, then complete
/// upward synchronously, in the order received. A chain may mix NBLs of several posts and
/// connections; it goes up in runs of the same connection, still in order.
pub fn complete(kind: IoKind, binding: &Binding, chain: NblChain) {
    let adapter = &binding.adapter;
    let Some(table) = adapter.chimney.upcalls() else {
        return;
    };
    let miniport_handle = adapter.miniport_handle();
    let mut run = ChainBuilder::new();
    let mut run_owner: *mut c_void = ptr::null_mut();
    for nbl in chain.into_detached() {
        let owner = nbl.pop_context_and_restore();
        if !run.is_empty() && owner != run_owner {
            let finished = core::mem::take(&mut run);
            flush(kind, table, miniport_handle, binding, finished, run_owner);
        }
        run_owner = owner;
        run.push(nbl);
    }
    if !run.is_empty() {
        flush(kind, table, miniport_handle, binding, run, run_owner);
    }
}

/// Completes one run upward, then ends its accounting (after: the entry, the adapter and the
/// binding must outlive the up-call).
fn flush(
    kind: IoKind,
    table: &NdisTcpOffloadEventHandlers,
    miniport_handle: NdisHandle,
    binding: &Binding,
    run: ChainBuilder,
    owner: *mut c_void,
) {
    let count = run.len();
    complete_up(kind, table, miniport_handle, run.finish().as_ptr());
    // SAFETY: `owner` was stored by `post` (or initiate) and the entry stays alive while these
    // NBLs hold I/O references on it.
    if let Some(entry) = unsafe { OffloadEntry::from_context(owner) } {
        // SAFETY: ends this run's references; the entry may be freed (and its terminate
        // completed upward) inside, after which nothing here touches it.
        unsafe { OffloadEntry::end_io(NonNull::from(entry), count) };
    }
    // The binding's count last (see `Binding`).
    binding.adapter.release_nbls(count);
    binding.nbls_below.release(count);
}

/// ProtocolTcpOffloadReceiveIndicate: pass the indication to the host on its own handle. If the
/// host keeps the NBL (SUCCESS), it comes back through MiniportTcpOffloadReceiveReturn, and the
/// binding may not close before that.
///
/// # Safety
/// `offload_context` is our offload handle for a live entry (the target indicates only on
/// offloaded state, and terminate waits for its indications to return); the pointers are NDIS's.
pub unsafe fn receive_indicate(
    offload_context: *mut c_void,
    nbl: *mut NetBufferList,
    status: NdisStatus,
    bytes_consumed: *mut u32,
) -> NdisStatus {
    // SAFETY: caller contract.
    let entry = unsafe { OffloadEntry::from_handle(offload_context.cast()) };
    let adapter = entry.adapter();
    let binding = adapter.binding();
    let Some(indicate) = adapter
        .chimney
        .upcalls()
        .and_then(|t| t.ndis_tcp_offload_receive_handler)
    else {
        return NDIS_STATUS_OFFLOAD_DATA_NOT_ACCEPTED;
    };
    if !binding.handle_users.try_acquire(1) {
        return NDIS_STATUS_OFFLOAD_DATA_NOT_ACCEPTED;
    }
    // SAFETY: the host's handle for this connection, the target's NBL, status and
    // BytesConsumed pointer as given. No lock is held.
    let result = unsafe { indicate(entry.upper_handle().cast(), nbl, status, bytes_consumed) };
    if result != NDIS_STATUS_SUCCESS {
        // The target owns the NBL again now.
        binding.handle_users.release(1);
    }
    result
}

/// ProtocolTcpOffloadEvent: pass the event to the host on its own handle, unchanged.
///
/// # Safety
/// As `receive_indicate`.
pub unsafe fn event(offload_context: *mut c_void, event_type: u32, information: u32) {
    // SAFETY: caller contract.
    let entry = unsafe { OffloadEntry::from_handle(offload_context.cast()) };
    let adapter = entry.adapter();
    if let Some(indicate) = adapter
        .chimney
        .upcalls()
        .and_then(|t| t.ndis_tcp_offload_event_handler)
    {
        // SAFETY: the host's handle for this connection. No lock is held.
        unsafe { indicate(entry.upper_handle().cast(), event_type, information) };
    }
}

/// MiniportTcpOffloadReceiveReturn: the host returns indicated NBLs; they go back to the target
/// on the lower **binding** handle (NDIS does not route this by SourceHandle).
pub fn receive_return(adapter: &Adapter, chain: NblChain) -> NdisStatus {
    let count = chain.count();
    if count == 0 {
        return NDIS_STATUS_SUCCESS;
    }
    let binding = adapter.binding();
    // SAFETY: the binding stays open while these indications hold request references on it;
    // the NBLs are the target's. Synchronous. No lock is held.
    unsafe { NdisOffloadTcpReceiveReturn(binding.handle(), chain.as_ptr()) };
    binding.handle_users.release(count);
    NDIS_STATUS_SUCCESS
}
