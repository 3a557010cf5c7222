//! Safe access to an NDIS_OID_REQUEST's `DATA` union: every accessor picks the arm the request's
//! RequestType selects (method requests use `MethodInformation`, queries and sets
//! `QUERY_INFORMATION`/`SET_INFORMATION`).

use core::ffi::c_void;

use crate::ndis::{NdisOidRequest, request_type};

pub trait OidRequestExt {
    /// The OID (the first field of every arm).
    fn oid(&self) -> u32;
    /// Sets the "bytes written/read" output of a request completed by the driver itself.
    fn set_bytes_done(&mut self, n: u32);
    /// Copies the output counters of `from` (a clone of this request, same RequestType).
    fn copy_counters_from(&mut self, from: &NdisOidRequest);
    /// For a query: its OID, information buffer and the bytes written into it.
    fn query_answer(&self) -> Option<(u32, *mut c_void, u32)>;
}

impl OidRequestExt for NdisOidRequest {
    fn oid(&self) -> u32 {
        // SAFETY: Oid is the first field of both arms, at the same offset, so it reads the same
        // whichever arm the request uses.
        unsafe { self.data.query_set.oid }
    }

    fn set_bytes_done(&mut self, n: u32) {
        // Writing a union field is safe; the arm is the one the request type uses.
        if self.request_type == request_type::METHOD {
            self.data.method.bytes_written = n;
        } else {
            self.data.query_set.bytes_written_or_read = n;
        }
    }

    fn copy_counters_from(&mut self, from: &NdisOidRequest) {
        debug_assert_eq!(self.request_type, from.request_type);
        if self.request_type == request_type::METHOD {
            // SAFETY: both are method requests (a clone copies the type): the method arm.
            let from = unsafe { from.data.method };
            // Writing union fields is safe; these are the method arm's.
            self.data.method.bytes_written = from.bytes_written;
            self.data.method.bytes_read = from.bytes_read;
            self.data.method.bytes_needed = from.bytes_needed;
        } else {
            // SAFETY: both are queries or sets: the query/set arm.
            let from = unsafe { from.data.query_set };
            self.data.query_set.bytes_written_or_read = from.bytes_written_or_read;
            self.data.query_set.bytes_needed = from.bytes_needed;
        }
    }

    fn query_answer(&self) -> Option<(u32, *mut c_void, u32)> {
        if self.request_type != request_type::QUERY_INFORMATION {
            return None;
        }
        // SAFETY: a query uses the query/set arm.
        let info = unsafe { self.data.query_set };
        Some((
            info.oid,
            info.information_buffer,
            info.bytes_written_or_read,
        ))
    }
}
