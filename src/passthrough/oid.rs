//! OID pass-through: MiniportOidRequest -> clone -> NdisOidRequest, ProtocolOidRequestComplete ->
//! NdisMOidRequestComplete, and cancellation.
//!
//! Each forwarded request is a clone from NdisAllocateCloneOidRequest; the clone's
//! SourceReserved (ours as its source) holds the original request and the adapter. Cancellation
//! needs no table: NdisCancelOidRequest takes the RequestId, which the clone shares.

use core::ffi::c_void;
use core::ptr;

use crate::kernel::POOL_TAG;
use crate::ndis::imports::{
    NdisAllocateCloneOidRequest, NdisCancelOidRequest, NdisFreeCloneOidRequest,
    NdisMOidRequestComplete, NdisOidRequest,
};
use crate::ndis::{
    NDIS_DEVICE_STATE_UNSPECIFIED, NDIS_STATUS_CLOSING, NDIS_STATUS_FAILURE,
    NDIS_STATUS_NOT_ACCEPTED, NDIS_STATUS_PENDING, NDIS_STATUS_REQUEST_ABORTED,
    NDIS_STATUS_RESOURCES, NDIS_STATUS_SUCCESS, NdisOid, NdisOidRequest, NdisPnpCapabilities,
    NdisStatus, oids, request_type,
};
use crate::state::{Adapter, Binding};

/// OIDs the lower miniport gets through its own power management (MUX handles them locally).
fn handled_locally(oid: u32) -> bool {
    matches!(oid, oids::OID_PNP_SET_POWER | oids::OID_PNP_QUERY_POWER)
}

/// MiniportOidRequest.
///
/// # Safety
/// `request` is the live NDIS_OID_REQUEST NDIS passed to MiniportOidRequest.
pub unsafe fn request(adapter: &Adapter, request: *mut NdisOidRequest) -> NdisStatus {
    // SAFETY: caller contract.
    let original = unsafe { &mut *request };
    // SAFETY: Oid is the first field of every arm of the DATA union.
    let oid = unsafe { original.data.query_set.oid };
    if handled_locally(oid) {
        // SAFETY: both power OIDs are sets/queries of one ULONG, which use this arm.
        let info = unsafe { &mut original.data.query_set };
        info.bytes_written_or_read = 4;
        return NDIS_STATUS_SUCCESS;
    }
    let request_id = original.request_id;
    let binding = adapter.binding();
    if !adapter.requests.try_acquire(1) {
        return not_forwarded(oid, NDIS_STATUS_CLOSING);
    }
    if !binding.requests.try_acquire(1) {
        adapter.requests.release(1);
        return not_forwarded(oid, NDIS_STATUS_CLOSING);
    }
    let lower_handle = binding.handle();
    let mut clone: *mut NdisOidRequest = ptr::null_mut();
    // SAFETY: the binding is open (requests acquired); `request` is live (caller contract).
    let status =
        unsafe { NdisAllocateCloneOidRequest(lower_handle, request, POOL_TAG, &raw mut clone) };
    if status != NDIS_STATUS_SUCCESS || clone.is_null() {
        release(adapter, binding);
        let status = if status == NDIS_STATUS_SUCCESS {
            NDIS_STATUS_RESOURCES
        } else {
            status
        };
        return not_forwarded(oid, status);
    }
    // SAFETY: the clone is ours until it completes; SourceReserved belongs to its source (us).
    let clone_ref = unsafe { &mut *clone };
    // RequestId is copied explicitly so a cancel by the original's id reaches the clone.
    clone_ref.request_id = request_id;
    clone_ref.source_reserved = [request.cast::<c_void>(), adapter.as_context()];
    // SAFETY: the clone is a valid request for this binding. No lock is held.
    let status = unsafe { NdisOidRequest(lower_handle, clone) };
    if status == NDIS_STATUS_PENDING {
        // ProtocolOidRequestComplete finishes it, then NdisMOidRequestComplete.
        return NDIS_STATUS_PENDING;
    }
    // Completed synchronously: the status goes back as our return value (no
    // NdisMOidRequestComplete for a request we do not pend).
    let status = to_host(oid, status);
    // SAFETY: the lower driver is done with the clone; the original is live.
    unsafe { finish(binding, clone, status) };
    release(adapter, binding);
    status
}

/// The status for a request the driver does not forward: `status` (CLOSING while the binding
/// or the virtual miniport runs down, else the clone allocation's failure), except for the
/// release OIDs, which a miniport must not fail (docs/ndis-rules.md, "Must-succeed OIDs"):
/// during rundown the lower open is being closed and the state the OID would release (a
/// multicast address, a filter, a queue, a pattern) goes with it, so SUCCESS is the truth;
/// without a clone the request cannot reach the lower miniport, so NOT_ACCEPTED.
fn not_forwarded(oid: NdisOid, status: NdisStatus) -> NdisStatus {
    if !oids::is_release(oid) {
        status
    } else if status == NDIS_STATUS_CLOSING {
        NDIS_STATUS_SUCCESS
    } else {
        NDIS_STATUS_NOT_ACCEPTED
    }
}

/// The final status the host gets for a forwarded request the lower miniport finished with
/// `status`: the lower's own, except that PENDING is never a final status (FAILURE instead) and a
/// release OID the lower failed with anything but SUCCESS, NOT_ACCEPTED or REQUEST_ABORTED (a
/// lower miniport breaking the rule itself) reaches the host as NOT_ACCEPTED: its state was not
/// released, and completing it otherwise would be this driver's violation.
fn to_host(oid: NdisOid, status: NdisStatus) -> NdisStatus {
    let allowed = matches!(
        status,
        NDIS_STATUS_SUCCESS | NDIS_STATUS_NOT_ACCEPTED | NDIS_STATUS_REQUEST_ABORTED
    );
    if oids::is_release(oid) && !allowed {
        NDIS_STATUS_NOT_ACCEPTED
    } else if status == NDIS_STATUS_PENDING {
        NDIS_STATUS_FAILURE
    } else {
        status
    }
}

/// ProtocolOidRequestComplete for a clone we forwarded.
///
/// # Safety
/// `clone` is a request this driver cloned and forwarded on `binding`, now completed.
pub unsafe fn complete(binding: &Binding, clone: *mut NdisOidRequest, status: NdisStatus) {
    // SAFETY: caller contract; SourceReserved was filled in `request`.
    let (original, adapter_context) = unsafe {
        let reserved = (*clone).source_reserved;
        (reserved[0].cast::<NdisOidRequest>(), reserved[1])
    };
    // SAFETY: SourceReserved[1] is the adapter this request was forwarded for; it cannot halt
    // while its `requests` rundown holds this request.
    let adapter = unsafe { Adapter::from_context(adapter_context) };
    // SAFETY: the original is pending at NDIS until this completion.
    let data = unsafe { &(*original).data };
    // SAFETY: Oid is the first field of every arm of the DATA union.
    let oid = unsafe { data.query_set.oid };
    let status = to_host(oid, status);
    // SAFETY: caller contract.
    unsafe { finish(binding, clone, status) };
    // SAFETY: the original request is pending at NDIS until this completion; the miniport
    // handle is valid (requests rundown). No lock is held.
    unsafe { NdisMOidRequestComplete(adapter.miniport_handle(), original, status) };
    release(adapter, binding);
}

/// Copies the lower driver's results into the original, post-processes, frees the clone.
/// References are released by the caller, after the original has been completed.
///
/// # Safety
/// `clone` is a completed clone whose SourceReserved[0] is the live original request.
unsafe fn finish(binding: &Binding, clone: *mut NdisOidRequest, status: NdisStatus) {
    // SAFETY: caller contract.
    let original = unsafe { (*clone).source_reserved[0].cast::<NdisOidRequest>() };
    // SAFETY: the clone is valid until freed below.
    let clone_ref = unsafe { &*clone };
    // SAFETY: the original is pending at NDIS until we complete it; nothing else touches it.
    let original = unsafe { &mut *original };
    copy_results(clone_ref, original);
    if status == NDIS_STATUS_SUCCESS {
        post_process(original);
    }
    // SAFETY: the clone came from NdisAllocateCloneOidRequest on this binding and is freed once.
    unsafe { NdisFreeCloneOidRequest(binding.handle(), clone) };
}

/// Ends a forwarded request's references, the binding's last (see `Binding`).
fn release(adapter: &Adapter, binding: &Binding) {
    adapter.requests.release(1);
    binding.requests.release(1);
}

/// Copies the output counters of `clone` into `original` (the buffer itself is shared).
fn copy_results(clone: &NdisOidRequest, original: &mut NdisOidRequest) {
    match original.request_type {
        request_type::METHOD => {
            // SAFETY: both requests are method requests (the clone copies the type).
            let from = unsafe { clone.data.method };
            // SAFETY: as above.
            let to = unsafe { &mut original.data.method };
            to.bytes_written = from.bytes_written;
            to.bytes_read = from.bytes_read;
            to.bytes_needed = from.bytes_needed;
        }
        _ => {
            // SAFETY: query and set requests share this arm.
            let from = unsafe { clone.data.query_set };
            // SAFETY: as above.
            let to = unsafe { &mut original.data.query_set };
            to.bytes_written_or_read = from.bytes_written_or_read;
            to.bytes_needed = from.bytes_needed;
        }
    }
}

/// An IM must not report wake-up abilities of its own: OID_PNP_CAPABILITIES answers are rewritten
/// to "unspecified" wake states (ndis-im-driver.md §2.4 (e)).
fn post_process(original: &NdisOidRequest) {
    if original.request_type != request_type::QUERY_INFORMATION {
        return;
    }
    // SAFETY: query arm of a query request.
    let info = unsafe { original.data.query_set };
    if info.oid != oids::OID_PNP_CAPABILITIES
        || info.information_buffer.is_null()
        || (info.bytes_written_or_read as usize) < core::mem::size_of::<NdisPnpCapabilities>()
    {
        return;
    }
    let caps = info.information_buffer.cast::<NdisPnpCapabilities>();
    // SAFETY: the lower driver wrote a full NDIS_PNP_CAPABILITIES into the caller's buffer; its
    // alignment is the caller's (NDIS allocates OID buffers aligned), read/write unaligned anyway.
    let mut value = unsafe { caps.read_unaligned() };
    value.min_magic_packet_wake_up = NDIS_DEVICE_STATE_UNSPECIFIED;
    value.min_pattern_wake_up = NDIS_DEVICE_STATE_UNSPECIFIED;
    value.min_link_change_wake_up = NDIS_DEVICE_STATE_UNSPECIFIED;
    // SAFETY: as above.
    unsafe { caps.write_unaligned(value) };
}

/// MiniportCancelOidRequest: forwards the cancel by RequestId.
#[allow(
    clippy::not_unsafe_ptr_arg_deref,
    reason = "RequestId is an opaque tag that only NDIS compares"
)]
pub fn cancel(adapter: &Adapter, request_id: *mut c_void) {
    let binding = adapter.binding();
    let Some(_open) = binding.requests.enter() else {
        return;
    };
    // SAFETY: the binding is open (the guard holds a request reference). Cancelling an id that
    // is no longer pending is a no-op in NDIS. No lock is held.
    unsafe { NdisCancelOidRequest(binding.handle(), request_id) };
}
