//! Faulty stand-in drivers: DriverEntry variants that wrap chimney-im's and break one rule, loaded
//! through `Model::load_with` exactly like the real driver.

use chimney_im::ndis::{DriverObject, KspinLock, NtStatus, UnicodeString};
use ndis_model::exports::sync;

/// NTSTATUS STATUS_UNSUCCESSFUL.
const STATUS_UNSUCCESSFUL: NtStatus = 0xC000_0001_u32.cast_signed();

/// Registers nothing and reports success.
pub unsafe extern "system" fn registers_nothing(
    _driver_object: *mut DriverObject,
    _registry_path: *mut UnicodeString,
) -> NtStatus {
    0
}

/// Registers both edges (chimney-im's DriverEntry), then fails without deregistering them.
pub unsafe extern "system" fn fails_after_registering(
    driver_object: *mut DriverObject,
    registry_path: *mut UnicodeString,
) -> NtStatus {
    // SAFETY: forwards the model's own arguments to the real DriverEntry.
    let st = unsafe { chimney_im::DriverEntry(driver_object, registry_path) };
    assert!(st >= 0);
    STATUS_UNSUCCESSFUL
}

static mut LEAKED_LOCK: KspinLock = 0;

/// chimney-im's DriverEntry, returning with a spin lock still held (and so at DISPATCH_LEVEL).
pub unsafe extern "system" fn returns_holding_a_lock(
    driver_object: *mut DriverObject,
    registry_path: *mut UnicodeString,
) -> NtStatus {
    // SAFETY: forwards the model's own arguments to the real DriverEntry.
    let st = unsafe { chimney_im::DriverEntry(driver_object, registry_path) };
    // SAFETY: a valid KSPIN_LOCK with static lifetime; this is the deliberate fault.
    let _old = unsafe { sync::KeAcquireSpinLockRaiseToDpc(&raw mut LEAKED_LOCK) };
    st
}

/// chimney-im's DriverEntry run twice: every registration made a second time.
pub unsafe extern "system" fn registers_twice(
    driver_object: *mut DriverObject,
    registry_path: *mut UnicodeString,
) -> NtStatus {
    // SAFETY: forwards the model's own arguments to the real DriverEntry, twice (the fault). The
    // second run's status is ignored: the stand-in reports the first, successful one.
    unsafe {
        let first = chimney_im::DriverEntry(driver_object, registry_path);
        chimney_im::DriverEntry(driver_object, registry_path);
        first
    }
}
