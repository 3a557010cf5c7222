//! Base NDIS/kernel types: scalars, NDIS_OBJECT_HEADER, strings, events, spin locks.
//!
//! Windows is LLP64: `ULONG` is always `u32` (never `c_long`). Every C enum is 4 bytes.

use core::ffi::c_void;

/// `NDIS_HANDLE`: an opaque pointer owned by whoever created it.
pub type NdisHandle = *mut c_void;
/// `NDIS_STATUS` (a `LONG`).
pub type NdisStatus = i32;
/// `NTSTATUS`.
pub type NtStatus = i32;
/// `NDIS_PORT_NUMBER`.
pub type NdisPortNumber = u32;
/// `NDIS_OID`.
pub type NdisOid = u32;
/// `KIRQL`.
pub type Kirql = u8;
/// `KSPIN_LOCK` (a `ULONG_PTR`).
pub type KspinLock = usize;
/// `NET_IFINDEX`.
pub type NetIfIndex = u32;
/// `NDIS_MEDIUM` (C enum).
pub type NdisMedium = u32;
/// `NDIS_PHYSICAL_MEDIUM` (C enum).
pub type NdisPhysicalMedium = u32;
/// `NDIS_DEVICE_POWER_STATE` (C enum).
pub type NdisDevicePowerState = u32;

pub const PASSIVE_LEVEL: Kirql = 0;
pub const DISPATCH_LEVEL: Kirql = 2;

pub const STATUS_SUCCESS: NtStatus = 0;

/// `NDIS_OBJECT_HEADER`: first member of every versioned NDIS 6 structure.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NdisObjectHeader {
    pub kind: u8,
    pub revision: u8,
    pub size: u16,
}

impl NdisObjectHeader {
    pub const fn new(kind: u8, revision: u8, size: usize) -> Self {
        assert!(size <= u16::MAX as usize);
        Self {
            kind,
            revision,
            #[allow(clippy::cast_possible_truncation, reason = "checked above")]
            size: size as u16,
        }
    }
}

/// `UNICODE_STRING` / `NDIS_STRING`. Length and MaximumLength are in bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct UnicodeString {
    pub length: u16,
    pub maximum_length: u16,
    pub buffer: *mut u16,
}
pub type NdisString = UnicodeString;

impl UnicodeString {
    pub const EMPTY: Self = Self {
        length: 0,
        maximum_length: 0,
        buffer: core::ptr::null_mut(),
    };
}

/// `NDIS_EVENT` wraps a `KEVENT` (24 bytes on x64). Opaque to the driver; only NDIS touches it.
#[repr(C, align(8))]
#[derive(Debug)]
pub struct NdisEvent {
    pub opaque: [u8; 24],
}

impl NdisEvent {
    pub const fn zeroed() -> Self {
        Self { opaque: [0; 24] }
    }
}

/// `NDIS_OBJECT_TYPE_*` values (ntddndis.h).
pub mod object_type {
    pub const DEFAULT: u8 = 0x80;
    pub const MINIPORT_INIT_PARAMETERS: u8 = 0x81;
    pub const BIND_PARAMETERS: u8 = 0x86;
    pub const OPEN_PARAMETERS: u8 = 0x87;
    pub const MINIPORT_DRIVER_CHARACTERISTICS: u8 = 0x8A;
    pub const CLIENT_CHIMNEY_OFFLOAD_GENERIC_CHARACTERISTICS: u8 = 0x8E;
    pub const PROVIDER_CHIMNEY_OFFLOAD_GENERIC_CHARACTERISTICS: u8 = 0x8F;
    pub const CLIENT_CHIMNEY_OFFLOAD_CHARACTERISTICS: u8 = 0x93;
    pub const PROVIDER_CHIMNEY_OFFLOAD_CHARACTERISTICS: u8 = 0x94;
    pub const PROTOCOL_DRIVER_CHARACTERISTICS: u8 = 0x95;
    pub const OID_REQUEST: u8 = 0x96;
    pub const STATUS_INDICATION: u8 = 0x98;
    pub const MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES: u8 = 0x9E;
    pub const MINIPORT_ADAPTER_GENERAL_ATTRIBUTES: u8 = 0x9F;
    pub const PROTOCOL_RESTART_PARAMETERS: u8 = 0xA3;
    pub const CONFIGURATION_OBJECT: u8 = 0xA9;
}

pub const NDIS_OBJECT_REVISION_1: u8 = 1;

/// `PROCESSOR_NUMBER` (ntdef.h / winnt.h): a processor named by its group and its number within
/// the group. `KeGetCurrentProcessorNumberEx` fills one in when given a non-NULL pointer.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProcessorNumber {
    pub group: u16,
    pub number: u8,
    pub reserved: u8,
}

/// `ALL_PROCESSOR_GROUPS` (ntdef.h): the group argument of the `...Ex` processor-count queries
/// that asks about every group at once.
pub const ALL_PROCESSOR_GROUPS: u16 = 0xffff;

#[cfg(target_pointer_width = "64")]
const _: () = {
    use core::mem::{align_of, offset_of, size_of};
    assert!(size_of::<NdisObjectHeader>() == 4);
    assert!(align_of::<NdisObjectHeader>() == 2);
    assert!(offset_of!(NdisObjectHeader, revision) == 1);
    assert!(offset_of!(NdisObjectHeader, size) == 2);
    assert!(size_of::<UnicodeString>() == 16);
    assert!(offset_of!(UnicodeString, maximum_length) == 2);
    assert!(offset_of!(UnicodeString, buffer) == 8);
    assert!(size_of::<NdisEvent>() == 24);
    assert!(size_of::<KspinLock>() == 8);
    assert!(size_of::<ProcessorNumber>() == 4);
    assert!(align_of::<ProcessorNumber>() == 2);
    assert!(offset_of!(ProcessorNumber, number) == 2);
    assert!(offset_of!(ProcessorNumber, reserved) == 3);
};
