//! TCP chimney I/O pass-through: send, receive (post), disconnect and forward go down on the
//! IM's own offload handle with the same NBLs, in order; their completions go up synchronously,
//! in order, through NDIS's upcall table. Receive indications and TCP events go up on the host's
//! handle; receive returns go down on the lower binding handle.
//!
//! Per NBL: one NBL context (the host's SourceHandle, which NDIS overwrites on the way down, and
//! the owning entry), three atomic counts (adapter, binding, entry). No lock, no heap, no wait.

use core::ffi::c_void;
use core::ptr::{self, NonNull};

use crate::chimney::entry::OffloadEntry;
use crate::kernel::{IoKind, MiniportHandle, Nbl, NblChain, OffloadIo};
use crate::ndis::{
    NDIS_STATUS_OFFLOAD_DATA_NOT_ACCEPTED, NDIS_STATUS_PENDING, NDIS_STATUS_REQUEST_UPLOAD,
    NDIS_STATUS_SUCCESS, NDIS_STATUS_UPLOAD_REQUESTED, NdisStatus, NetBufferList,
};
use crate::state::{Binding, Forward, Path};

/// MiniportTcpOffload{Send,Receive,Disconnect,Forward}: forward the chain on `offload_context`
/// (the entry we published to the host). Always returns NDIS_STATUS_PENDING, the only value
/// allowed, also when the driver completes the request itself.
///
/// # Safety
/// `offload_context` is the MiniportOffloadContext NDIS passed (null or a published entry);
/// `chain` is the host's, ours until completed.
///
/// Out of line (one copy for the four post handlers; the compiler's choice flipped with
/// unrelated changes): the stack-budget test measures the post path from this function, and the
/// hot-path budgets were measured with it out of line.
#[inline(never)]
pub unsafe fn post(
    kind: IoKind,
    binding: &Binding,
    miniport: MiniportHandle<'_>,
    offload_context: *mut c_void,
    chain: NblChain,
) -> NdisStatus {
    // SAFETY: the caller's contract: null or a published, live entry.
    let entry = unsafe { OffloadEntry::from_context(offload_context) };
    let Some(entry) = entry else {
        refuse(kind, binding, miniport, chain);
        return NDIS_STATUS_PENDING;
    };
    // One pass: our context on each NBL (the host's SourceHandle and the owning entry), counted.
    let owner = ptr::from_ref(entry).cast_mut().cast::<c_void>();
    let count = match chain.push_contexts(Some(owner), None) {
        Ok(0) => return NDIS_STATUS_PENDING,
        Ok(count) => count,
        Err(_) => {
            // Out of NBL context space (nothing pushed): give the whole chain back (forwarding
            // part of it would reorder the connection's completions).
            refuse(kind, binding, miniport, chain);
            return NDIS_STATUS_PENDING;
        }
    };
    // Nothing is forwarded once a pause/halt began, the lower binding paused or closes, or the
    // connection is being terminated.
    let Some(token) = Forward::acquire_with_entry(binding, count, entry) else {
        refuse_pushed(kind, binding, miniport, chain);
        return NDIS_STATUS_PENDING;
    };
    // SAFETY: the token holds references on the entry (allocated) and on the binding (open)
    // until the completion; the handle value does not outlive this call.
    let handle = unsafe { OffloadIo::new(entry.handle_ptr()) };
    // Our own offload handle for the lower layer (zero-filled at birth, NdisReserved[0] set by
    // NDIS at initiate); the same NBLs, each carrying our context. The completion may run
    // before this returns, and takes the counts back.
    token.hand_over();
    handle.post(kind, chain);
    NDIS_STATUS_PENDING
}

/// A post refused after our contexts went on (pausing, closing or terminating): they come off
/// again, then the chain is refused like any other. Out of line: never in steady state.
#[cold]
#[inline(never)]
fn refuse_pushed(kind: IoKind, binding: &Binding, miniport: MiniportHandle<'_>, chain: NblChain) {
    let _ = chain.pop_contexts();
    refuse(kind, binding, miniport, chain);
}

/// Completes a chain to the host without forwarding it: NDIS_STATUS_REQUEST_UPLOAD on the first
/// NBL, NDIS_STATUS_UPLOAD_REQUESTED on the rest, so that the host uploads the connection and
/// does the work itself. (Documented for send only, used for all four:
/// docs/chimney-contract.md §5.6.)
fn refuse(kind: IoKind, binding: &Binding, miniport: MiniportHandle<'_>, chain: NblChain) {
    let mut status = NDIS_STATUS_REQUEST_UPLOAD;
    for nbl in chain.iter() {
        nbl.set_status(status);
        status = NDIS_STATUS_UPLOAD_REQUESTED;
    }
    let Some(upcalls) = binding.adapter.chimney.upcalls() else {
        // No upcall table means no initiate ever succeeded, so no I/O can arrive: unreachable.
        return;
    };
    upcalls.complete(kind, miniport, chain);
}

/// ProtocolTcpOffload{Send,Receive,Disconnect,Forward}Complete: restore each NBL, then complete
/// upward synchronously, in the order received. A chain may mix NBLs of several posts and
/// connections; it goes up in runs of the same connection, still in order.
///
/// The chain is walked once, in place: each NBL's context comes off (SourceHandle restored) and
/// the chain is cut only where the owning connection changes, so the usual completion (one
/// connection) goes up as the very chain NDIS handed us.
///
/// Out of line (one copy for the four completion handlers, with `flush` inlined into it): the
/// stack-budget test measures the completion path from this function.
#[inline(never)]
pub fn complete(kind: IoKind, binding: &Binding, chain: NblChain) {
    let mut next = chain.head();
    let Some(first) = next else {
        return;
    };
    let mut run_head = first;
    let mut run_owner: *mut c_void = ptr::null_mut();
    let mut run_len = 0u32;
    let mut last = first;
    while let Some(nbl) = next {
        next = nbl.next();
        let owner = nbl.pop_context_and_restore();
        if owner != run_owner && run_len != 0 {
            // Another connection's NBL: the run before it goes up first (the last access to
            // its NBLs), and a new run starts here.
            last.cut_after();
            flush(kind, binding, run_head, run_len, run_owner);
            run_head = nbl;
            run_len = 0;
        }
        run_owner = owner;
        run_len += 1;
        last = nbl;
    }
    flush(kind, binding, run_head, run_len, run_owner);
}

/// Completes one run (`count` NBLs from `head`, `Next`-terminated) upward, then ends its
/// accounting (after: the entry, the adapter and the binding must outlive the up-call).
#[inline(always)]
fn flush(kind: IoKind, binding: &Binding, head: Nbl, count: u32, owner: *mut c_void) {
    let entry = NonNull::new(owner.cast::<OffloadEntry>());
    // SAFETY: `post` (or initiate's send data) handed these NBLs' counts over, `count` of them
    // on the entry stored as their owner.
    let token = unsafe { Forward::completed(binding, Path::Nbls, count, entry) };
    if let Some(upcalls) = binding.adapter.chimney.upcalls() {
        upcalls.complete(kind, token.miniport(), NblChain::from_head(head));
    }
    // Ends the entry's references (it may be freed, and its terminate completed upward, inside),
    // then the adapter's and the binding's.
    token.end();
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
    // SAFETY: the caller's contract: our handle, the first field of a live entry.
    let entry = unsafe { OffloadEntry::from_handle(offload_context.cast()) };
    let binding = entry.binding();
    let Some(upcalls) = binding.adapter.chimney.upcalls() else {
        return NDIS_STATUS_OFFLOAD_DATA_NOT_ACCEPTED;
    };
    let Some(token) = Forward::acquire(binding, Path::BindingOnly, 1) else {
        return NDIS_STATUS_OFFLOAD_DATA_NOT_ACCEPTED;
    };
    // SAFETY: the host's handle of this (offloaded) connection; the target's NBL, status and
    // BytesConsumed pointer as given.
    let result =
        unsafe { upcalls.receive_indicate(entry.upper_handle(), nbl, status, bytes_consumed) };
    if result == NDIS_STATUS_SUCCESS {
        // The host keeps the NBL: the binding stays open until receive_return.
        token.hand_over();
    }
    result
}

/// ProtocolTcpOffloadEvent: pass the event to the host on its own handle, unchanged.
///
/// # Safety
/// As `receive_indicate`.
pub unsafe fn event(offload_context: *mut c_void, event_type: u32, information: u32) {
    // SAFETY: the caller's contract: our handle, the first field of a live entry.
    let entry = unsafe { OffloadEntry::from_handle(offload_context.cast()) };
    if let Some(upcalls) = entry.binding().adapter.chimney.upcalls() {
        // SAFETY: the host's handle of this (offloaded) connection.
        unsafe { upcalls.event(entry.upper_handle(), event_type, information) };
    }
}

/// MiniportTcpOffloadReceiveReturn: the host returns indicated NBLs; they go back to the target
/// on the lower **binding** handle (NDIS does not route this by SourceHandle).
pub fn receive_return(binding: &Binding, chain: NblChain) -> NdisStatus {
    let count = chain.count();
    if count == 0 {
        return NDIS_STATUS_SUCCESS;
    }
    // SAFETY: every NBL the host returns was kept at `receive_indicate`, which handed over one
    // binding count each.
    let token = unsafe { Forward::completed(binding, Path::BindingOnly, count, None) };
    // The NBLs are the target's. Synchronous.
    token.lower().tcp_receive_return(chain);
    token.end();
    NDIS_STATUS_SUCCESS
}
