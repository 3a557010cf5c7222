//! Faulty stand-in drivers: DriverEntry variants that wrap chimney-im's and break one rule, loaded
//! through `Model::load_with` exactly like the real driver.

use chimney_im::ndis::{
    DriverObject, KspinLock, MiniportDriverCharacteristics, NdisHandle, NdisObjectHeader, NtStatus,
    ProtocolDriverCharacteristics, UnicodeString, object_type,
};
use ndis_model::exports::{registration, sync};

/// NTSTATUS STATUS_UNSUCCESSFUL.
const STATUS_UNSUCCESSFUL: NtStatus = 0xC000_0001_u32.cast_signed();

/// Registers nothing and reports success.
pub unsafe extern "system-unwind" fn registers_nothing(
    _driver_object: *mut DriverObject,
    _registry_path: *mut UnicodeString,
) -> NtStatus {
    0
}

/// Registers nothing and fails: a clean failure, after which the image is gone.
pub unsafe extern "system-unwind" fn fails_cleanly(
    _driver_object: *mut DriverObject,
    _registry_path: *mut UnicodeString,
) -> NtStatus {
    STATUS_UNSUCCESSFUL
}

/// Registers both edges (chimney-im's DriverEntry), then fails without deregistering them.
pub unsafe extern "system-unwind" fn fails_after_registering(
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
pub unsafe extern "system-unwind" fn returns_holding_a_lock(
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
pub unsafe extern "system-unwind" fn registers_twice(
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
pub unsafe extern "system-unwind" fn protocol_without_characteristics(
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
pub unsafe extern "system-unwind" fn miniport_without_characteristics(
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
pub unsafe extern "system-unwind" fn miniport_with_foreign_driver_object(
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

/// Zeroed miniport characteristics (no handlers, no flags) with the header `revision`/`size`
/// claims for NDIS 6.0.
fn empty_miniport_characteristics(revision: u8, size: usize) -> MiniportDriverCharacteristics {
    // SAFETY: the characteristics are plain data (integers, optional fn pointers); all-zero
    // is valid (every handler None).
    let mut c: MiniportDriverCharacteristics = unsafe { core::mem::zeroed() };
    c.header = NdisObjectHeader::new(object_type::MINIPORT_DRIVER_CHARACTERISTICS, revision, size);
    c.major_ndis_version = 6;
    c
}

fn register_miniport(
    driver_object: *mut DriverObject,
    registry_path: *mut UnicodeString,
    mut c: MiniportDriverCharacteristics,
) {
    let mut h = core::ptr::null_mut();
    // SAFETY: the model's own driver object and registry path; characteristics on this frame.
    unsafe {
        registration::NdisMRegisterMiniportDriver(
            driver_object,
            registry_path,
            core::ptr::null_mut(),
            &raw mut c,
            &raw mut h,
        )
    };
}

/// Registers a miniport whose characteristics have no handlers and no flags, then fails.
pub unsafe extern "system-unwind" fn miniport_with_empty_characteristics(
    driver_object: *mut DriverObject,
    registry_path: *mut UnicodeString,
) -> NtStatus {
    register_miniport(
        driver_object,
        registry_path,
        empty_miniport_characteristics(1, 0x88),
    );
    STATUS_UNSUCCESSFUL
}

/// Registers a miniport whose header revision does not match NDIS 6.0, then fails.
pub unsafe extern "system-unwind" fn miniport_with_wrong_revision(
    driver_object: *mut DriverObject,
    registry_path: *mut UnicodeString,
) -> NtStatus {
    register_miniport(
        driver_object,
        registry_path,
        empty_miniport_characteristics(2, 0x98),
    );
    STATUS_UNSUCCESSFUL
}

fn register_protocol(revision: u8, size: usize) {
    // SAFETY: as for the miniport characteristics.
    let mut c: ProtocolDriverCharacteristics = unsafe { core::mem::zeroed() };
    c.header = NdisObjectHeader::new(object_type::PROTOCOL_DRIVER_CHARACTERISTICS, revision, size);
    c.major_ndis_version = 6;
    let mut h = core::ptr::null_mut();
    // SAFETY: characteristics and out pointer on this frame.
    unsafe {
        registration::NdisRegisterProtocolDriver(core::ptr::null_mut(), &raw mut c, &raw mut h)
    };
}

/// Registers a protocol with no name and no handlers, then fails.
pub unsafe extern "system-unwind" fn protocol_with_empty_characteristics(
    _driver_object: *mut DriverObject,
    _registry_path: *mut UnicodeString,
) -> NtStatus {
    register_protocol(1, 0x78);
    STATUS_UNSUCCESSFUL
}

/// Registers a protocol whose header revision does not match NDIS 6.0, then fails.
pub unsafe extern "system-unwind" fn protocol_with_wrong_revision(
    _driver_object: *mut DriverObject,
    _registry_path: *mut UnicodeString,
) -> NtStatus {
    register_protocol(2, 0x80);
    STATUS_UNSUCCESSFUL
}

unsafe extern "system-unwind" fn hang_check(_: NdisHandle) -> u8 {
    0
}

/// Registers an intermediate miniport whose characteristics carry a CheckForHangHandlerEx (and
/// no other handler), then fails.
pub unsafe extern "system-unwind" fn miniport_with_hang_handler(
    driver_object: *mut DriverObject,
    registry_path: *mut UnicodeString,
) -> NtStatus {
    let mut c = empty_miniport_characteristics(1, 0x88);
    c.flags = chimney_im::ndis::NDIS_INTERMEDIATE_DRIVER;
    c.check_for_hang_handler_ex = Some(hang_check);
    register_miniport(driver_object, registry_path, c);
    STATUS_UNSUCCESSFUL
}
