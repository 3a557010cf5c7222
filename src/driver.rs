//! DriverEntry, registration of both edges, and unload.

use core::ptr;
use core::sync::atomic::Ordering;

use crate::edge::{miniport, protocol};
use crate::glue::{self, trace};
use crate::ndis::imports::{
    NdisDeregisterProtocolDriver, NdisIMAssociateMiniport, NdisMDeregisterMiniportDriver,
    NdisMRegisterMiniportDriver, NdisRegisterProtocolDriver,
};
use crate::ndis::{DriverObject, NDIS_STATUS_SUCCESS, NdisHandle, NtStatus, UnicodeString};
use crate::state::GLOBALS;

/// The protocol edge's service name. NDIS matches bindings to the driver by this name, so it must
/// equal the protocol INF's `HKR,Ndi,Service` value (checked by `tests/inf_consistency.rs`).
pub const PROTOCOL_SERVICE_NAME: &str = "ChimneyImP";

#[handler_abi::host_unwind]
/// The driver's entry point, called once by the I/O manager (on KMDF, through FxDriverEntry).
///
/// Order (docs/ndis-contract.md §4.1): miniport edge first, then the protocol edge (whose bind
/// callbacks may run before NdisRegisterProtocolDriver returns), then associate them. Every
/// failure undoes what was done; MiniportDriverUnload is not called after a failed DriverEntry.
///
/// # Safety
/// `driver_object` and `registry_path` are the kernel's, valid for the driver's lifetime.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn DriverEntry(
    driver_object: *mut DriverObject,
    registry_path: *mut UnicodeString,
) -> NtStatus {
    trace!("DriverEntry");
    let status = glue::driver_entry_hook(driver_object, registry_path);
    if status != NDIS_STATUS_SUCCESS {
        return status;
    }

    let mut miniport_chars = miniport::characteristics();
    let mut miniport_driver: NdisHandle = ptr::null_mut();
    // SAFETY: PASSIVE_LEVEL in DriverEntry with the kernel's driver object and registry path;
    // the characteristics live on our stack for the call (NDIS copies them).
    let status = unsafe {
        NdisMRegisterMiniportDriver(
            driver_object,
            registry_path,
            ptr::null_mut(),
            &raw mut miniport_chars,
            &raw mut miniport_driver,
        )
    };
    if status != NDIS_STATUS_SUCCESS {
        trace!("NdisMRegisterMiniportDriver failed ({:#x})", status);
        glue::unload_hook(driver_object);
        return status;
    }
    GLOBALS
        .miniport_driver
        .store(miniport_driver, Ordering::Release);

    let mut protocol_chars = protocol::characteristics();
    // SAFETY: PASSIVE_LEVEL in DriverEntry; the characteristics live on our stack for the call.
    // The out-handle is written straight into GLOBALS because bind callbacks
    // can run before this call returns and need it.
    let status = unsafe {
        NdisRegisterProtocolDriver(
            ptr::null_mut(),
            &raw mut protocol_chars,
            GLOBALS.protocol.as_ptr(),
        )
    };
    if status != NDIS_STATUS_SUCCESS {
        trace!("NdisRegisterProtocolDriver failed ({:#x})", status);
        GLOBALS.protocol.store(ptr::null_mut(), Ordering::Release);
        // SAFETY: deregisters the miniport driver registered above, once.
        unsafe { NdisMDeregisterMiniportDriver(miniport_driver) };
        GLOBALS
            .miniport_driver
            .store(ptr::null_mut(), Ordering::Release);
        glue::unload_hook(driver_object);
        return status;
    }

    // SAFETY: both handles were just registered.
    unsafe { NdisIMAssociateMiniport(miniport_driver, GLOBALS.protocol()) };
    NDIS_STATUS_SUCCESS
}

#[handler_abi::host_unwind]
/// MiniportDriverUnload (PASSIVE): NDIS has already unbound every binding and halted every
/// virtual miniport.
///
/// # Safety
/// Called by NDIS once, with the driver object given to DriverEntry.
#[doc(alias = "MiniportDriverUnload")]
pub unsafe extern "system" fn unload(driver_object: *mut DriverObject) {
    trace!("MiniportDriverUnload");
    let protocol = GLOBALS.protocol.swap(ptr::null_mut(), Ordering::AcqRel);
    if !protocol.is_null() {
        // SAFETY: registered in DriverEntry, deregistered once.
        unsafe { NdisDeregisterProtocolDriver(protocol) };
    }
    let miniport_driver = GLOBALS
        .miniport_driver
        .swap(ptr::null_mut(), Ordering::AcqRel);
    if !miniport_driver.is_null() {
        // SAFETY: registered in DriverEntry, deregistered once.
        unsafe { NdisMDeregisterMiniportDriver(miniport_driver) };
    }
    glue::unload_hook(driver_object);
}
