//! Faulty stand-in drivers: DriverEntry variants that wrap chimney-im's and break one rule, loaded
//! through `Model::load_with` exactly like the real driver.

use chimney_im::ndis::{DriverObject, KspinLock, NtStatus, UnicodeString};
use ndis_model::exports::{registration, sync};

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
    let lock = &raw mut LEAKED_LOCK;
    // SAFETY: a valid KSPIN_LOCK with static lifetime; never releasing it is the fault.
    let _old = unsafe { sync::KeAcquireSpinLockRaiseToDpc(lock) };
    st
}

/// chimney-im's DriverEntry run twice: the second run registers the miniport again (and stops
/// there when NDIS refuses it).
pub unsafe extern "system" fn registers_twice(
    driver_object: *mut DriverObject,
    registry_path: *mut UnicodeString,
) -> NtStatus {
    // SAFETY: forwards the model's own arguments to the real DriverEntry.
    let first = unsafe { chimney_im::DriverEntry(driver_object, registry_path) };
    // SAFETY: the same again (the fault); its status is ignored: the stand-in reports the first.
    let _ = unsafe { chimney_im::DriverEntry(driver_object, registry_path) };
    first
}

/// Registers the protocol with no characteristics, then fails (nothing left registered).
pub unsafe extern "system" fn protocol_without_characteristics(
    _driver_object: *mut DriverObject,
    _registry_path: *mut UnicodeString,
) -> NtStatus {
    let mut h = core::ptr::null_mut();
    // SAFETY: a NULL characteristics pointer (the fault); the model checks it before use.
    unsafe {
        registration::NdisRegisterProtocolDriver(
            core::ptr::null_mut(),
            core::ptr::null_mut(),
            &raw mut h,
        )
    };
    STATUS_UNSUCCESSFUL
}

/// Registers the miniport with no characteristics, then fails.
pub unsafe extern "system" fn miniport_without_characteristics(
    driver_object: *mut DriverObject,
    registry_path: *mut UnicodeString,
) -> NtStatus {
    let mut h = core::ptr::null_mut();
    // SAFETY: the model's own driver object; NULL characteristics (the fault).
    unsafe {
        registration::NdisMRegisterMiniportDriver(
            driver_object,
            registry_path,
            core::ptr::null_mut(),
            core::ptr::null_mut(),
            &raw mut h,
        )
    };
    STATUS_UNSUCCESSFUL
}

/// Registers the miniport against a driver object that is not its own, then fails.
pub unsafe extern "system" fn miniport_with_foreign_driver_object(
    _driver_object: *mut DriverObject,
    registry_path: *mut UnicodeString,
) -> NtStatus {
    let mut other = [0u64; 42];
    let mut h = core::ptr::null_mut();
    // SAFETY: a driver object that is not the one DriverEntry got (the fault); NULL
    // characteristics, so the model stops after its checks.
    unsafe {
        registration::NdisMRegisterMiniportDriver(
            other.as_mut_ptr().cast(),
            registry_path,
            core::ptr::null_mut(),
            core::ptr::null_mut(),
            &raw mut h,
        )
    };
    STATUS_UNSUCCESSFUL
}
