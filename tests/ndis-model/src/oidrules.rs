//! Microsoft's rules on how a miniport completes OID requests, checked on every host OID the
//! driver finishes (returned synchronously or through NdisMOidRequestComplete):
//!
//! - must-succeed OIDs (Driver Verifier NdisOidComplete, bug check 0x7C code 0x1C): a set of
//!   OID_PNP_SET_POWER ends only in SUCCESS or NOT_ACCEPTED; the release OIDs only in SUCCESS,
//!   NOT_ACCEPTED or REQUEST_ABORTED;
//! - NdisMOidRequestComplete never gets PENDING;
//! - byte counts (0x7C code 0x1D): BytesWritten/BytesRead within the buffer lengths (method
//!   requests: within OutputBufferLength / InputBufferLength).
//!
//! Facts and sources: docs/ndis-rules.md.

use chimney_im::ndis::oids::{OID_PNP_SET_POWER, is_release};
use chimney_im::ndis::*;

use crate::config::Fault;
use crate::world::World;

/// The final statuses a request may end with when the rule restricts them.
pub(crate) fn allowed_statuses(request_type: u32, oid: NdisOid) -> Option<&'static [NdisStatus]> {
    if oid == OID_PNP_SET_POWER && request_type == request_type::SET_INFORMATION {
        Some(&[NDIS_STATUS_SUCCESS, NDIS_STATUS_NOT_ACCEPTED])
    } else if is_release(oid) {
        Some(&[
            NDIS_STATUS_SUCCESS,
            NDIS_STATUS_NOT_ACCEPTED,
            NDIS_STATUS_REQUEST_ABORTED,
        ])
    } else {
        None
    }
}

/// What the host must get for a forwarded request the lower miniport finished with `lower`:
/// the lower's status where the rule allows it; a must-succeed OID the lower failed otherwise
/// reaches the host as NOT_ACCEPTED (the lower broke the rule; the driver must not pass the
/// violation up), and PENDING, never a final status, as FAILURE.
pub(crate) fn expected_host_status(
    request_type: u32,
    oid: NdisOid,
    lower: NdisStatus,
) -> NdisStatus {
    match allowed_statuses(request_type, oid) {
        Some(ok) if !ok.contains(&lower) => NDIS_STATUS_NOT_ACCEPTED,
        _ if lower == NDIS_STATUS_PENDING => NDIS_STATUS_FAILURE,
        _ => lower,
    }
}

/// The driver's final `status` of host request `req` as the model takes it: unchanged unless a
/// deliberate [`Fault`] replaces it (or overruns the byte count, in the request itself).
pub(crate) fn apply_faults(w: &World, req: *mut NdisOidRequest, status: NdisStatus) -> NdisStatus {
    let mut status = status;
    if req.is_null() {
        return status;
    }
    for f in &w.cfg.faults {
        match *f {
            // SAFETY: the host's live request; Oid is the first field of every arm.
            Fault::OidStatus(oid, st) if unsafe { (*req).data.query_set.oid } == oid => status = st,
            Fault::OidBytesOverrun => {
                // SAFETY: the host's live request, written through the arm of its type.
                unsafe {
                    let r = &mut *req;
                    if r.request_type == request_type::METHOD {
                        r.data.method.bytes_written = r.data.method.output_buffer_length + 1;
                    } else {
                        r.data.query_set.bytes_written_or_read =
                            r.data.query_set.information_buffer_length + 1;
                    }
                }
            }
            _ => {}
        }
    }
    status
}

/// Checks the final `status` of host request `req` (sync: returned by MiniportOidRequest).
pub(crate) fn check_completion(
    w: &mut World,
    req: *const NdisOidRequest,
    status: NdisStatus,
    sync: bool,
) {
    if !sync {
        w.v.check(
            "oid.complete_not_pending",
            status != NDIS_STATUS_PENDING,
            || "NdisMOidRequestComplete called with NDIS_STATUS_PENDING as the final status".into(),
        );
    }
    if req.is_null() {
        return;
    }
    // SAFETY: the host's live request (the model owns it until the test drops it).
    let r = unsafe { &*req };
    // SAFETY: Oid is the first field of every arm of the DATA union.
    let oid = unsafe { r.data.query_set.oid };
    if let Some(ok) = allowed_statuses(r.request_type, oid) {
        w.v.check("oid.must_succeed_status", ok.contains(&status), || {
            format!("OID {oid:#010x} must not fail, completed with {status:#x} (allowed {ok:x?})")
        });
    }
    let (within, what) = if r.request_type == request_type::METHOD {
        // SAFETY: METHOD requests use the method arm.
        let m = unsafe { r.data.method };
        (
            m.bytes_written <= m.output_buffer_length && m.bytes_read <= m.input_buffer_length,
            format!(
                "BytesWritten {} / OutputBufferLength {}, BytesRead {} / InputBufferLength {}",
                m.bytes_written, m.output_buffer_length, m.bytes_read, m.input_buffer_length
            ),
        )
    } else {
        // SAFETY: query and set requests use the query/set arm.
        let q = unsafe { r.data.query_set };
        (
            q.bytes_written_or_read <= q.information_buffer_length,
            format!(
                "BytesWritten/Read {} > InformationBufferLength {}",
                q.bytes_written_or_read, q.information_buffer_length
            ),
        )
    };
    w.v.check("oid.bytes_within_buffer", within, || {
        format!("OID {oid:#010x} completed with {what}")
    });
}
