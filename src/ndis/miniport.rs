//! Miniport-edge ABI: driver characteristics, handler typedefs, init/pause/restart parameters,
//! adapter attributes (x64 layouts: docs/ndis-contract.md §2.1, §2.4, §3.1).

use core::ffi::c_void;

use super::nbl::NetBufferList;
use super::oid::NdisOidRequest;
use super::types::{
    NdisDevicePowerState, NdisHandle, NdisMedium, NdisObjectHeader, NdisPhysicalMedium,
    NdisPortNumber, NdisStatus, NetIfIndex,
};

/// `PDRIVER_OBJECT`: opaque to the driver (it only passes it back to NDIS and WDF).
pub type DriverObject = c_void;

#[handler_abi::host_unwind]
pub type SetOptionsHandler = unsafe extern "system" fn(NdisHandle, NdisHandle) -> NdisStatus;
#[handler_abi::host_unwind]
pub type MiniportInitializeHandler =
    unsafe extern "system" fn(NdisHandle, NdisHandle, *mut MiniportInitParameters) -> NdisStatus;
#[handler_abi::host_unwind]
pub type MiniportHaltHandler = unsafe extern "system" fn(NdisHandle, u32);
#[handler_abi::host_unwind]
pub type MiniportUnloadHandler = unsafe extern "system" fn(*mut DriverObject);
#[handler_abi::host_unwind]
pub type MiniportPauseHandler =
    unsafe extern "system" fn(NdisHandle, *mut MiniportPauseParameters) -> NdisStatus;
#[handler_abi::host_unwind]
pub type MiniportRestartHandler =
    unsafe extern "system" fn(NdisHandle, *mut MiniportRestartParameters) -> NdisStatus;
#[handler_abi::host_unwind]
pub type MiniportOidRequestHandler =
    unsafe extern "system" fn(NdisHandle, *mut NdisOidRequest) -> NdisStatus;
#[handler_abi::host_unwind]
pub type MiniportSendNetBufferListsHandler =
    unsafe extern "system" fn(NdisHandle, *mut NetBufferList, NdisPortNumber, u32);
#[handler_abi::host_unwind]
pub type MiniportReturnNetBufferListsHandler =
    unsafe extern "system" fn(NdisHandle, *mut NetBufferList, u32);
#[handler_abi::host_unwind]
pub type MiniportCancelSendHandler = unsafe extern "system" fn(NdisHandle, *mut c_void);
#[handler_abi::host_unwind]
pub type MiniportCheckForHangHandler = unsafe extern "system" fn(NdisHandle) -> u8;
#[handler_abi::host_unwind]
pub type MiniportResetHandler = unsafe extern "system" fn(NdisHandle, *mut u8) -> NdisStatus;
#[handler_abi::host_unwind]
pub type MiniportDevicePnpEventNotifyHandler =
    unsafe extern "system" fn(NdisHandle, *mut NetDevicePnpEvent);
#[handler_abi::host_unwind]
pub type MiniportShutdownHandler = unsafe extern "system" fn(NdisHandle, u32);
#[handler_abi::host_unwind]
pub type MiniportCancelOidRequestHandler = unsafe extern "system" fn(NdisHandle, *mut c_void);

/// `NDIS_MINIPORT_DRIVER_CHARACTERISTICS`, declared through revision 3 (0xA0).
#[repr(C)]
pub struct MiniportDriverCharacteristics {
    pub header: NdisObjectHeader,
    pub major_ndis_version: u8,
    pub minor_ndis_version: u8,
    pub major_driver_version: u8,
    pub minor_driver_version: u8,
    pub flags: u32,
    pub set_options_handler: Option<SetOptionsHandler>,
    pub initialize_handler_ex: Option<MiniportInitializeHandler>,
    pub halt_handler_ex: Option<MiniportHaltHandler>,
    pub unload_handler: Option<MiniportUnloadHandler>,
    pub pause_handler: Option<MiniportPauseHandler>,
    pub restart_handler: Option<MiniportRestartHandler>,
    pub oid_request_handler: Option<MiniportOidRequestHandler>,
    pub send_net_buffer_lists_handler: Option<MiniportSendNetBufferListsHandler>,
    pub return_net_buffer_lists_handler: Option<MiniportReturnNetBufferListsHandler>,
    pub cancel_send_handler: Option<MiniportCancelSendHandler>,
    pub check_for_hang_handler_ex: Option<MiniportCheckForHangHandler>,
    pub reset_handler_ex: Option<MiniportResetHandler>,
    pub device_pnp_event_notify_handler: Option<MiniportDevicePnpEventNotifyHandler>,
    pub shutdown_handler_ex: Option<MiniportShutdownHandler>,
    pub cancel_oid_request_handler: Option<MiniportCancelOidRequestHandler>,
    pub direct_oid_request_handler: Option<MiniportOidRequestHandler>,
    pub cancel_direct_oid_request_handler: Option<MiniportCancelOidRequestHandler>,
    pub synchronous_oid_request_handler: Option<MiniportOidRequestHandler>,
}

pub const NDIS_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_1: u8 = 1;
/// `NDIS_SIZEOF_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_1`: through CancelOidRequestHandler.
pub const NDIS_SIZEOF_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_1: usize = 0x88;
pub const NDIS_SIZEOF_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_2: usize = 0x98;
/// Characteristics `Flags`: this miniport is the upper edge of an intermediate driver.
pub const NDIS_INTERMEDIATE_DRIVER: u32 = 0x1;

/// `NDIS_MINIPORT_INIT_PARAMETERS` (filled by NDIS).
#[repr(C)]
pub struct MiniportInitParameters {
    pub header: NdisObjectHeader,
    pub flags: u32,
    pub allocated_resources: *mut c_void,
    /// The DeviceContext given to NdisIMInitializeDeviceInstanceEx.
    pub im_device_instance_context: NdisHandle,
    pub miniport_add_device_context: NdisHandle,
    pub if_index: NetIfIndex,
    pub net_luid: u64,
    pub default_port_auth_states: *mut c_void,
    pub pci_device_custom_properties: *mut c_void,
}

/// `NDIS_MINIPORT_PAUSE_PARAMETERS`.
#[repr(C)]
pub struct MiniportPauseParameters {
    pub header: NdisObjectHeader,
    pub flags: u32,
    pub pause_reason: u32,
}

/// `NDIS_MINIPORT_RESTART_PARAMETERS`.
#[repr(C)]
pub struct MiniportRestartParameters {
    pub header: NdisObjectHeader,
    pub restart_attributes: *mut c_void,
    pub flags: u32,
}

/// `NDIS_HALT_ACTION`.
pub mod halt_action {
    pub const DEVICE_DISABLED: u32 = 0;
    pub const DEVICE_INSTANCE_DEINITIALIZED: u32 = 1;
    pub const DEVICE_POWERED_DOWN: u32 = 2;
    pub const DEVICE_SURPRISE_REMOVED: u32 = 3;
    pub const DEVICE_FAILED: u32 = 4;
    pub const DEVICE_INITIALIZATION_FAILED: u32 = 5;
    pub const DEVICE_STOPPED: u32 = 6;
}

/// `NDIS_SHUTDOWN_ACTION`.
pub mod shutdown_action {
    pub const POWER_OFF: u32 = 0;
    pub const BUGCHECK: u32 = 1;
}

/// `NDIS_DEVICE_PNP_EVENT`.
pub mod device_pnp_event {
    pub const QUERY_REMOVED: u32 = 0;
    pub const REMOVED: u32 = 1;
    pub const SURPRISE_REMOVED: u32 = 2;
    pub const QUERY_STOPPED: u32 = 3;
    pub const STOPPED: u32 = 4;
    pub const POWER_PROFILE_CHANGED: u32 = 5;
    pub const FILTER_LIST_CHANGED: u32 = 6;
}

/// `NET_DEVICE_PNP_EVENT` (MiniportDevicePnPEventNotify). ndis.h declares `NdisReserved` as
/// `UCHAR[2 * sizeof(PVOID)]` (16 bytes on x64, structure 0x30); the reference page's syntax block
/// shows it as a 2-byte array, which is wrong.
#[repr(C)]
pub struct NetDevicePnpEvent {
    pub header: NdisObjectHeader,
    pub port_number: NdisPortNumber,
    pub device_pnp_event: u32,
    pub information_buffer: *mut c_void,
    pub information_buffer_length: u32,
    pub ndis_reserved: [u8; 2 * core::mem::size_of::<*mut c_void>()],
}

/// `NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES`.
#[repr(C)]
pub struct MiniportAdapterRegistrationAttributes {
    pub header: NdisObjectHeader,
    pub miniport_adapter_context: NdisHandle,
    pub attribute_flags: u32,
    pub check_for_hang_time_in_seconds: u32,
    pub interface_type: u32,
}

pub const NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_1: u8 = 1;
pub const NDIS_SIZEOF_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_1: usize = 0x1C;
pub const NDIS_MINIPORT_ATTRIBUTES_NO_HALT_ON_SUSPEND: u32 = 0x20;
/// `NdisInterfaceInternal`.
pub const NDIS_INTERFACE_INTERNAL: u32 = 0;

/// `NDIS_PNP_CAPABILITIES` (wake-up capabilities reported to NDIS).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct NdisPnpCapabilities {
    pub flags: u32,
    pub min_magic_packet_wake_up: NdisDevicePowerState,
    pub min_pattern_wake_up: NdisDevicePowerState,
    pub min_link_change_wake_up: NdisDevicePowerState,
}

/// `NdisDeviceStateUnspecified`.
pub const NDIS_DEVICE_STATE_UNSPECIFIED: NdisDevicePowerState = 0;
/// `NdisDeviceStateD0`.
pub const NDIS_DEVICE_STATE_D0: NdisDevicePowerState = 1;

/// `NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES`, declared through revision 2 (0xE0).
#[repr(C)]
pub struct MiniportAdapterGeneralAttributes {
    pub header: NdisObjectHeader,
    pub flags: u32,
    pub media_type: NdisMedium,
    pub physical_medium_type: NdisPhysicalMedium,
    pub mtu_size: u32,
    pub max_xmit_link_speed: u64,
    pub xmit_link_speed: u64,
    pub max_rcv_link_speed: u64,
    pub rcv_link_speed: u64,
    pub media_connect_state: u32,
    pub media_duplex_state: u32,
    pub lookahead_size: u32,
    pub power_management_capabilities: *mut NdisPnpCapabilities,
    pub mac_options: u32,
    pub supported_packet_filters: u32,
    pub max_multicast_list_size: u32,
    pub mac_address_length: u16,
    pub permanent_mac_address: [u8; 32],
    pub current_mac_address: [u8; 32],
    pub recv_scale_capabilities: *mut c_void,
    pub access_type: u32,
    pub direction_type: u32,
    pub connection_type: u32,
    pub if_type: u16,
    pub if_connector_present: u8,
    pub supported_statistics: u32,
    pub supported_pause_functions: u32,
    pub data_back_fill_size: u32,
    pub context_back_fill_size: u32,
    pub supported_oid_list: *mut u32,
    pub supported_oid_list_length: u32,
    pub auto_negotiation_flags: u32,
    pub power_management_capabilities_ex: *mut c_void,
}

pub const NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_1: u8 = 1;
pub const NDIS_SIZEOF_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_1: usize = 0xD8;
pub const NDIS_MAC_OPTION_NO_LOOPBACK: u32 = 0x8;

/// `NDIS_MINIPORT_ADAPTER_ATTRIBUTES` is a union selected by `Header.Type`; every arm starts with
/// the header, so the driver passes a pointer to the arm it filled.
pub type MiniportAdapterAttributes = NdisObjectHeader;

#[cfg(target_pointer_width = "64")]
const _: () = {
    use core::mem::{offset_of, size_of};
    type C = MiniportDriverCharacteristics;
    assert!(offset_of!(C, major_ndis_version) == 0x04);
    assert!(offset_of!(C, minor_ndis_version) == 0x05);
    assert!(offset_of!(C, major_driver_version) == 0x06);
    assert!(offset_of!(C, minor_driver_version) == 0x07);
    assert!(offset_of!(C, flags) == 0x08);
    assert!(offset_of!(C, set_options_handler) == 0x10);
    assert!(offset_of!(C, initialize_handler_ex) == 0x18);
    assert!(offset_of!(C, halt_handler_ex) == 0x20);
    assert!(offset_of!(C, unload_handler) == 0x28);
    assert!(offset_of!(C, pause_handler) == 0x30);
    assert!(offset_of!(C, restart_handler) == 0x38);
    assert!(offset_of!(C, oid_request_handler) == 0x40);
    assert!(offset_of!(C, send_net_buffer_lists_handler) == 0x48);
    assert!(offset_of!(C, return_net_buffer_lists_handler) == 0x50);
    assert!(offset_of!(C, cancel_send_handler) == 0x58);
    assert!(offset_of!(C, check_for_hang_handler_ex) == 0x60);
    assert!(offset_of!(C, reset_handler_ex) == 0x68);
    assert!(offset_of!(C, device_pnp_event_notify_handler) == 0x70);
    assert!(offset_of!(C, shutdown_handler_ex) == 0x78);
    assert!(offset_of!(C, cancel_oid_request_handler) == 0x80);
    assert!(offset_of!(C, direct_oid_request_handler) == 0x88);
    assert!(offset_of!(C, cancel_direct_oid_request_handler) == 0x90);
    assert!(offset_of!(C, synchronous_oid_request_handler) == 0x98);
    assert!(size_of::<C>() == 0xA0);

    type I = MiniportInitParameters;
    assert!(offset_of!(I, flags) == 0x04);
    assert!(offset_of!(I, allocated_resources) == 0x08);
    assert!(offset_of!(I, im_device_instance_context) == 0x10);
    assert!(offset_of!(I, miniport_add_device_context) == 0x18);
    assert!(offset_of!(I, if_index) == 0x20);
    assert!(offset_of!(I, net_luid) == 0x28);
    assert!(offset_of!(I, default_port_auth_states) == 0x30);
    assert!(offset_of!(I, pci_device_custom_properties) == 0x38);
    assert!(size_of::<I>() == 0x40);

    assert!(size_of::<MiniportPauseParameters>() == 0x0C);
    assert!(offset_of!(MiniportPauseParameters, pause_reason) == 0x08);
    assert!(offset_of!(MiniportRestartParameters, restart_attributes) == 0x08);
    assert!(offset_of!(MiniportRestartParameters, flags) == 0x10);
    assert!(size_of::<MiniportRestartParameters>() == 0x18);

    assert!(offset_of!(NetDevicePnpEvent, port_number) == 0x04);
    assert!(offset_of!(NetDevicePnpEvent, device_pnp_event) == 0x08);
    assert!(offset_of!(NetDevicePnpEvent, information_buffer) == 0x10);
    assert!(offset_of!(NetDevicePnpEvent, information_buffer_length) == 0x18);
    assert!(offset_of!(NetDevicePnpEvent, ndis_reserved) == 0x1C);
    assert!(size_of::<NetDevicePnpEvent>() == 0x30);

    type R = MiniportAdapterRegistrationAttributes;
    assert!(offset_of!(R, miniport_adapter_context) == 0x08);
    assert!(offset_of!(R, attribute_flags) == 0x10);
    assert!(offset_of!(R, check_for_hang_time_in_seconds) == 0x14);
    assert!(offset_of!(R, interface_type) == 0x18);
    assert!(size_of::<R>() == 0x20);

    assert!(size_of::<NdisPnpCapabilities>() == 0x10);

    type G = MiniportAdapterGeneralAttributes;
    assert!(offset_of!(G, flags) == 0x04);
    assert!(offset_of!(G, media_type) == 0x08);
    assert!(offset_of!(G, physical_medium_type) == 0x0C);
    assert!(offset_of!(G, mtu_size) == 0x10);
    assert!(offset_of!(G, max_xmit_link_speed) == 0x18);
    assert!(offset_of!(G, xmit_link_speed) == 0x20);
    assert!(offset_of!(G, max_rcv_link_speed) == 0x28);
    assert!(offset_of!(G, rcv_link_speed) == 0x30);
    assert!(offset_of!(G, media_connect_state) == 0x38);
    assert!(offset_of!(G, media_duplex_state) == 0x3C);
    assert!(offset_of!(G, lookahead_size) == 0x40);
    assert!(offset_of!(G, power_management_capabilities) == 0x48);
    assert!(offset_of!(G, mac_options) == 0x50);
    assert!(offset_of!(G, supported_packet_filters) == 0x54);
    assert!(offset_of!(G, max_multicast_list_size) == 0x58);
    assert!(offset_of!(G, mac_address_length) == 0x5C);
    assert!(offset_of!(G, permanent_mac_address) == 0x5E);
    assert!(offset_of!(G, current_mac_address) == 0x7E);
    assert!(offset_of!(G, recv_scale_capabilities) == 0xA0);
    assert!(offset_of!(G, access_type) == 0xA8);
    assert!(offset_of!(G, direction_type) == 0xAC);
    assert!(offset_of!(G, connection_type) == 0xB0);
    assert!(offset_of!(G, if_type) == 0xB4);
    assert!(offset_of!(G, if_connector_present) == 0xB6);
    assert!(offset_of!(G, supported_statistics) == 0xB8);
    assert!(offset_of!(G, supported_pause_functions) == 0xBC);
    assert!(offset_of!(G, data_back_fill_size) == 0xC0);
    assert!(offset_of!(G, context_back_fill_size) == 0xC4);
    assert!(offset_of!(G, supported_oid_list) == 0xC8);
    assert!(offset_of!(G, supported_oid_list_length) == 0xD0);
    assert!(offset_of!(G, auto_negotiation_flags) == 0xD4);
    assert!(offset_of!(G, power_management_capabilities_ex) == 0xD8);
    assert!(size_of::<G>() == 0xE0);
};
