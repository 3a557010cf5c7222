//! OID pass-through: MiniportOidRequest -> clone -> NdisOidRequest, ProtocolOidRequestComplete ->
//! NdisMOidRequestComplete, and cancellation.
//!
//! Each forwarded request is a clone from NdisAllocateCloneOidRequest; the clone's
//! SourceReserved (ours as its source) holds the original request and the adapter. Cancellation
//! needs no table: NdisCancelOidRequest takes the RequestId, which the clone shares.

use core::ffi::c_void;

use crate::kernel::{OidClone, OidForwarded, OidRequestExt};
use crate::ndis::{
    NDIS_DEVICE_STATE_UNSPECIFIED, NDIS_STATUS_CLOSING, NDIS_STATUS_FAILURE,
    NDIS_STATUS_NOT_ACCEPTED, NDIS_STATUS_PENDING, NDIS_STATUS_REQUEST_ABORTED,
    NDIS_STATUS_SUCCESS, NdisOid, NdisOidRequest, NdisPnpCapabilities, NdisStatus, oids,
};
use crate::state::{Binding, Forward, Path};

/// OIDs the lower miniport gets through its own power management (MUX handles them locally).
fn handled_locally(oid: u32) -> bool {
    matches!(oid, oids::OID_PNP_SET_POWER | oids::OID_PNP_QUERY_POWER)
}

/// MiniportOidRequest.
///
/// # Safety
/// `request` is the live NDIS_OID_REQUEST NDIS passed to MiniportOidRequest.
pub unsafe fn request(binding: &Binding, request: *mut NdisOidRequest) -> NdisStatus {
    // SAFETY: the caller's contract: NDIS's live request, ours until we complete it.
    let original = unsafe { &mut *request };
    if handled_locally(original.oid()) {
        // Both power OIDs are sets/queries of one ULONG.
        original.set_bytes_done(4);
        return NDIS_STATUS_SUCCESS;
    }
    let oid = original.oid();
    let request_id = original.request_id;
    let Some(token) = Forward::acquire(binding, Path::Requests, 1) else {
        return not_forwarded(oid, NDIS_STATUS_CLOSING);
    };
    let lower = token.lower();
    let mut clone = match lower.clone_oid(original) {
        Ok(clone) => clone,
        Err(status) => return not_forwarded(oid, status),
    };
    let clone_ref = clone.get_mut();
    // RequestId is copied explicitly so a cancel by the original's id reaches the clone.
    clone_ref.request_id = request_id;
    // SourceReserved belongs to the clone's source (us): the original and the adapter.
    clone_ref.source_reserved = [request.cast::<c_void>(), binding.as_context()];
    match lower.oid_request(clone) {
        OidForwarded::Pending => {
            // ProtocolOidRequestComplete finishes it, then NdisMOidRequestComplete.
            token.hand_over();
            NDIS_STATUS_PENDING
        }
        OidForwarded::Done(clone, status) => {
            // Completed synchronously: the status goes back as our return value (no
            // NdisMOidRequestComplete for a request we do not pend).
            let status = to_host(oid, status);
            finish(&token, clone, status);
            status
        }
    }
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
    // SAFETY: a clone we made and forwarded, completed back to us (this function's contract).
    let Some(clone) = (unsafe { OidClone::from_completed(clone) }) else {
        return;
    };
    let [original, forwarded_for] = clone.get().source_reserved;
    debug_assert!(core::ptr::eq(forwarded_for, binding.as_context()));
    // SAFETY: SourceReserved[0] is the original request, pending at NDIS until this completion.
    let oid = unsafe { &*original.cast::<NdisOidRequest>() }.oid();
    let status = to_host(oid, status);
    // SAFETY: `request` pended this clone, handing its Requests counts over.
    let token = unsafe { Forward::completed(binding, Path::Requests, 1, None) };
    finish(&token, clone, status);
    // SAFETY: the original request is pending at NDIS until this completion (SourceReserved[0],
    // set by `request` when it pended it).
    unsafe { token.miniport().oid_complete(original.cast(), status) };
    // The token's counts end here, the binding's last.
}

/// Copies the lower driver's results into the original, post-processes, frees the clone.
fn finish(token: &Forward<'_>, clone: OidClone, status: NdisStatus) {
    let original = clone.get().source_reserved[0].cast::<NdisOidRequest>();
    // SAFETY: SourceReserved[0] is the original request, pending at NDIS until we complete it
    // (or return from MiniportOidRequest); nothing else touches it meanwhile.
    let original = unsafe { &mut *original };
    original.copy_counters_from(clone.get());
    if status == NDIS_STATUS_SUCCESS {
        post_process(original);
    }
    token.lower().free_clone(clone);
}

/// An IM must not report wake-up abilities of its own: OID_PNP_CAPABILITIES answers are rewritten
/// to "unspecified" wake states (docs/ndis-contract.md §4.4).
fn post_process(original: &NdisOidRequest) {
    let Some((oid, buffer, written)) = original.query_answer() else {
        return;
    };
    if oid != oids::OID_PNP_CAPABILITIES
        || buffer.is_null()
        || (written as usize) < core::mem::size_of::<NdisPnpCapabilities>()
    {
        return;
    }
    let caps = buffer.cast::<NdisPnpCapabilities>();
    // SAFETY: the lower driver wrote a full NDIS_PNP_CAPABILITIES into the caller's buffer; its
    // alignment is the caller's (NDIS allocates OID buffers aligned), read/write unaligned anyway.
    let mut value = unsafe { caps.read_unaligned() };
    value.min_magic_packet_wake_up = NDIS_DEVICE_STATE_UNSPECIFIED;
    value.min_pattern_wake_up = NDIS_DEVICE_STATE_UNSPECIFIED;
    value.min_link_change_wake_up = NDIS_DEVICE_STATE_UNSPECIFIED;
    // SAFETY: the same caller's buffer of at least sizeof(NDIS_PNP_CAPABILITIES) bytes, written
    // unaligned.
    unsafe { caps.write_unaligned(value) };
}

/// MiniportCancelOidRequest: forwards the cancel by RequestId.
#[allow(
    clippy::not_unsafe_ptr_arg_deref,
    reason = "RequestId is an opaque tag that only NDIS compares"
)]
pub fn cancel(binding: &Binding, request_id: *mut c_void) {
    let Some(token) = Forward::acquire(binding, Path::BindingOnly, 1) else {
        return;
    };
    // Cancelling an id that is no longer pending is a no-op in NDIS.
    token.lower().cancel_oid(request_id);
}
