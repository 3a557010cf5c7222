//! DriverEntry, registration of both edges, and unload.

use crate::ndis::{DriverObject, NtStatus, STATUS_SUCCESS, UnicodeString};

/// The protocol edge's service name. NDIS matches bindings to the driver by this name, so it must
/// equal the protocol INF's `HKR,Ndi,Service` value (checked by `tests/inf_consistency.rs`).
pub const PROTOCOL_SERVICE_NAME: &str = "ChimneyImP";

/// The driver's entry point, called once by the I/O manager (or, on KMDF, by FxDriverEntry).
///
/// # Safety
/// `driver_object` and `registry_path` are the kernel's, valid for the driver's lifetime.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn DriverEntry(
    _driver_object: *mut DriverObject,
    _registry_path: *mut UnicodeString,
) -> NtStatus {
    STATUS_SUCCESS
}
