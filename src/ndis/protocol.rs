//! Protocol-edge ABI: driver characteristics, handler typedefs, bind/open parameters, PnP events,
//! configuration, status indications (x64 layouts: docs/ndis-contract.md §2.2, §2.5, §2.6, §3.2).

use core::ffi::c_void;

use super::miniport::{NdisPnpCapabilities, SetOptionsHandler};
use super::nbl::NetBufferList;
use super::oid::NdisOidRequest;
use super::types::{
    NdisHandle, NdisMedium, NdisObjectHeader, NdisPhysicalMedium, NdisPortNumber, NdisStatus,
    NdisString, NetIfIndex,
};

#[handler_abi::host_unwind]
pub type ProtocolBindAdapterHandler =
    unsafe extern "system" fn(NdisHandle, NdisHandle, *mut NdisBindParameters) -> NdisStatus;
#[handler_abi::host_unwind]
pub type ProtocolUnbindAdapterHandler =
    unsafe extern "system" fn(NdisHandle, NdisHandle) -> NdisStatus;
#[handler_abi::host_unwind]
pub type ProtocolOpenAdapterCompleteHandler = unsafe extern "system" fn(NdisHandle, NdisStatus);
#[handler_abi::host_unwind]
pub type ProtocolCloseAdapterCompleteHandler = unsafe extern "system" fn(NdisHandle);
#[handler_abi::host_unwind]
pub type ProtocolNetPnpEventHandler =
    unsafe extern "system" fn(NdisHandle, *mut NetPnpEventNotification) -> NdisStatus;
#[handler_abi::host_unwind]
pub type ProtocolUninstallHandler = unsafe extern "system" fn();
#[handler_abi::host_unwind]
pub type ProtocolOidRequestCompleteHandler =
    unsafe extern "system" fn(NdisHandle, *mut NdisOidRequest, NdisStatus);
#[handler_abi::host_unwind]
pub type ProtocolStatusHandler = unsafe extern "system" fn(NdisHandle, *mut NdisStatusIndication);
#[handler_abi::host_unwind]
pub type ProtocolReceiveNetBufferListsHandler =
    unsafe extern "system" fn(NdisHandle, *mut NetBufferList, NdisPortNumber, u32, u32);
#[handler_abi::host_unwind]
pub type ProtocolSendNetBufferListsCompleteHandler =
    unsafe extern "system" fn(NdisHandle, *mut NetBufferList, u32);

/// `NDIS_PROTOCOL_DRIVER_CHARACTERISTICS`, declared through revision 2 (0x80).
#[repr(C)]
pub struct ProtocolDriverCharacteristics {
    pub header: NdisObjectHeader,
    pub major_ndis_version: u8,
    pub minor_ndis_version: u8,
    pub major_driver_version: u8,
    pub minor_driver_version: u8,
    pub flags: u32,
    /// Must equal the protocol's service name (the INF's `HKR,Ndi,Service`).
    pub name: NdisString,
    pub set_options_handler: Option<SetOptionsHandler>,
    pub bind_adapter_handler_ex: Option<ProtocolBindAdapterHandler>,
    pub unbind_adapter_handler_ex: Option<ProtocolUnbindAdapterHandler>,
    pub open_adapter_complete_handler_ex: Option<ProtocolOpenAdapterCompleteHandler>,
    pub close_adapter_complete_handler_ex: Option<ProtocolCloseAdapterCompleteHandler>,
    pub net_pnp_event_handler: Option<ProtocolNetPnpEventHandler>,
    pub uninstall_handler: Option<ProtocolUninstallHandler>,
    pub oid_request_complete_handler: Option<ProtocolOidRequestCompleteHandler>,
    pub status_handler_ex: Option<ProtocolStatusHandler>,
    pub receive_net_buffer_lists_handler: Option<ProtocolReceiveNetBufferListsHandler>,
    pub send_net_buffer_lists_complete_handler: Option<ProtocolSendNetBufferListsCompleteHandler>,
    pub direct_oid_request_complete_handler: Option<ProtocolOidRequestCompleteHandler>,
}

pub const NDIS_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1: u8 = 1;
/// Through SendNetBufferListsCompleteHandler.
pub const NDIS_SIZEOF_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1: usize = 0x78;

/// `NDIS_BIND_PARAMETERS`, declared through revision 2 (0x100). Filled by NDIS; pointed-to data
/// lives only for the duration of ProtocolBindAdapterEx.
#[repr(C)]
pub struct NdisBindParameters {
    pub header: NdisObjectHeader,
    pub protocol_section: *mut NdisString,
    pub adapter_name: *mut NdisString,
    pub physical_device_object: *mut c_void,
    pub media_type: NdisMedium,
    pub mtu_size: u32,
    pub max_xmit_link_speed: u64,
    pub xmit_link_speed: u64,
    pub max_rcv_link_speed: u64,
    pub rcv_link_speed: u64,
    pub media_connect_state: u32,
    pub media_duplex_state: u32,
    pub lookahead_size: u32,
    pub power_management_capabilities: *mut NdisPnpCapabilities,
    pub supported_packet_filters: u32,
    pub max_multicast_list_size: u32,
    pub mac_address_length: u16,
    pub current_mac_address: [u8; 32],
    pub physical_medium_type: NdisPhysicalMedium,
    pub rcv_scale_capabilities: *mut c_void,
    pub bound_if_net_luid: u64,
    pub bound_if_index: NetIfIndex,
    pub lowest_if_net_luid: u64,
    pub lowest_if_index: NetIfIndex,
    pub access_type: u32,
    pub direction_type: u32,
    pub connection_type: u32,
    pub if_type: u16,
    pub if_connector_present: u8,
    pub active_ports: *mut c_void,
    pub data_back_fill_size: u32,
    pub context_back_fill_size: u32,
    pub mac_options: u32,
    pub compartment_id: u32,
    pub default_offload_configuration: *mut c_void,
    pub tcp_connection_offload_capabilities: *mut c_void,
    pub bound_adapter_name: *mut NdisString,
    pub hd_split_current_config: *mut c_void,
}

pub const NDIS_BIND_PARAMETERS_REVISION_1: u8 = 1;
/// Through BoundAdapterName.
pub const NDIS_SIZEOF_BIND_PARAMETERS_REVISION_1: usize = 0xF8;

/// `NDIS_OPEN_PARAMETERS` (caller-filled for NdisOpenAdapterEx).
#[repr(C)]
pub struct NdisOpenParameters {
    pub header: NdisObjectHeader,
    pub adapter_name: *mut NdisString,
    pub medium_array: *mut NdisMedium,
    pub medium_array_size: u32,
    pub selected_medium_index: *mut u32,
    pub frame_type_array: *mut u16,
    pub frame_type_array_size: u32,
}

pub const NDIS_OPEN_PARAMETERS_REVISION_1: u8 = 1;
pub const NDIS_SIZEOF_OPEN_PARAMETERS_REVISION_1: usize = 0x34;
/// `NdisMedium802_3`.
pub const NDIS_MEDIUM_802_3: NdisMedium = 0;

/// `NET_PNP_EVENT_CODE`.
pub mod net_event {
    pub const SET_POWER: u32 = 0;
    pub const QUERY_POWER: u32 = 1;
    pub const QUERY_REMOVE_DEVICE: u32 = 2;
    pub const CANCEL_REMOVE_DEVICE: u32 = 3;
    pub const RECONFIGURE: u32 = 4;
    pub const BIND_LIST: u32 = 5;
    pub const BINDS_COMPLETE: u32 = 6;
    pub const PNP_CAPABILITIES: u32 = 7;
    pub const PAUSE: u32 = 8;
    pub const RESTART: u32 = 9;
    pub const PORT_ACTIVATION: u32 = 10;
    pub const PORT_DEACTIVATION: u32 = 11;
    pub const IM_RE_ENABLE_DEVICE: u32 = 12;
}

/// `NET_PNP_EVENT`.
#[repr(C)]
pub struct NetPnpEvent {
    pub net_event: u32,
    pub buffer: *mut c_void,
    pub buffer_length: u32,
    pub ndis_reserved: [usize; 4],
    pub transport_reserved: [usize; 4],
    pub tdi_reserved: [usize; 4],
    pub tdi_client_reserved: [usize; 4],
}

/// `NET_PNP_EVENT_NOTIFICATION`, revision 1. `Flags` is not conditional in ndis.h: it is part of
/// the NDIS 6.0 structure (0xA8 bytes; NDIS 6.50's revision 2 adds SwitchId and VPortId, 0xB0),
/// although the reference page's syntax block leaves it out.
#[repr(C)]
pub struct NetPnpEventNotification {
    pub header: NdisObjectHeader,
    pub port_number: NdisPortNumber,
    pub net_pnp_event: NetPnpEvent,
    pub flags: u32,
}

pub const NET_PNP_EVENT_NOTIFICATION_REVISION_1: u8 = 1;
/// `RTL_SIZEOF_THROUGH_FIELD(NET_PNP_EVENT_NOTIFICATION, Flags)`.
pub const NDIS_SIZEOF_NET_PNP_EVENT_NOTIFICATION_REVISION_1: usize = 0xA4;

/// `NDIS_CONFIGURATION_OBJECT`.
#[repr(C)]
pub struct NdisConfigurationObject {
    pub header: NdisObjectHeader,
    pub ndis_handle: NdisHandle,
    pub flags: u32,
}

pub const NDIS_CONFIGURATION_OBJECT_REVISION_1: u8 = 1;

/// `NDIS_PARAMETER_TYPE`.
pub mod parameter_type {
    pub const INTEGER: u32 = 0;
    pub const HEX_INTEGER: u32 = 1;
    pub const STRING: u32 = 2;
    pub const MULTI_STRING: u32 = 3;
}

/// `NDIS_CONFIGURATION_PARAMETER` with the string arm of its data union (the only arm read here;
/// IntegerData would alias the first 4 bytes of `string_data`).
#[repr(C)]
pub struct NdisConfigurationParameter {
    pub parameter_type: u32,
    pub string_data: NdisString,
}

/// `NDIS_STATUS_INDICATION`.
#[repr(C)]
pub struct NdisStatusIndication {
    pub header: NdisObjectHeader,
    pub source_handle: NdisHandle,
    pub port_number: NdisPortNumber,
    pub status_code: NdisStatus,
    pub flags: u32,
    pub destination_handle: NdisHandle,
    pub request_id: *mut c_void,
    pub status_buffer: *mut c_void,
    pub status_buffer_size: u32,
    pub guid: [u32; 4],
    pub ndis_reserved: [*mut c_void; 4],
}

pub const NDIS_STATUS_INDICATION_REVISION_1: u8 = 1;
pub const NDIS_SIZEOF_STATUS_INDICATION_REVISION_1: usize = 0x70;

/// `NDIS_LINK_STATE`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct NdisLinkState {
    pub header: NdisObjectHeader,
    pub media_connect_state: u32,
    pub media_duplex_state: u32,
    pub xmit_link_speed: u64,
    pub rcv_link_speed: u64,
    pub pause_functions: u32,
    pub auto_negotiation_flags: u32,
}

pub const NDIS_SIZEOF_LINK_STATE_REVISION_1: usize = 0x28;

#[cfg(target_pointer_width = "64")]
const _: () = {
    use core::mem::{offset_of, size_of};
    type C = ProtocolDriverCharacteristics;
    assert!(offset_of!(C, flags) == 0x08);
    assert!(offset_of!(C, name) == 0x10);
    assert!(offset_of!(C, set_options_handler) == 0x20);
    assert!(offset_of!(C, bind_adapter_handler_ex) == 0x28);
    assert!(offset_of!(C, unbind_adapter_handler_ex) == 0x30);
    assert!(offset_of!(C, open_adapter_complete_handler_ex) == 0x38);
    assert!(offset_of!(C, close_adapter_complete_handler_ex) == 0x40);
    assert!(offset_of!(C, net_pnp_event_handler) == 0x48);
    assert!(offset_of!(C, uninstall_handler) == 0x50);
    assert!(offset_of!(C, oid_request_complete_handler) == 0x58);
    assert!(offset_of!(C, status_handler_ex) == 0x60);
    assert!(offset_of!(C, receive_net_buffer_lists_handler) == 0x68);
    assert!(offset_of!(C, send_net_buffer_lists_complete_handler) == 0x70);
    assert!(offset_of!(C, direct_oid_request_complete_handler) == 0x78);
    assert!(size_of::<C>() == 0x80);

    type B = NdisBindParameters;
    assert!(offset_of!(B, protocol_section) == 0x08);
    assert!(offset_of!(B, adapter_name) == 0x10);
    assert!(offset_of!(B, physical_device_object) == 0x18);
    assert!(offset_of!(B, media_type) == 0x20);
    assert!(offset_of!(B, mtu_size) == 0x24);
    assert!(offset_of!(B, max_xmit_link_speed) == 0x28);
    assert!(offset_of!(B, xmit_link_speed) == 0x30);
    assert!(offset_of!(B, max_rcv_link_speed) == 0x38);
    assert!(offset_of!(B, rcv_link_speed) == 0x40);
    assert!(offset_of!(B, media_connect_state) == 0x48);
    assert!(offset_of!(B, media_duplex_state) == 0x4C);
    assert!(offset_of!(B, lookahead_size) == 0x50);
    assert!(offset_of!(B, power_management_capabilities) == 0x58);
    assert!(offset_of!(B, supported_packet_filters) == 0x60);
    assert!(offset_of!(B, max_multicast_list_size) == 0x64);
    assert!(offset_of!(B, mac_address_length) == 0x68);
    assert!(offset_of!(B, current_mac_address) == 0x6A);
    assert!(offset_of!(B, physical_medium_type) == 0x8C);
    assert!(offset_of!(B, rcv_scale_capabilities) == 0x90);
    assert!(offset_of!(B, bound_if_net_luid) == 0x98);
    assert!(offset_of!(B, bound_if_index) == 0xA0);
    assert!(offset_of!(B, lowest_if_net_luid) == 0xA8);
    assert!(offset_of!(B, lowest_if_index) == 0xB0);
    assert!(offset_of!(B, access_type) == 0xB4);
    assert!(offset_of!(B, direction_type) == 0xB8);
    assert!(offset_of!(B, connection_type) == 0xBC);
    assert!(offset_of!(B, if_type) == 0xC0);
    assert!(offset_of!(B, if_connector_present) == 0xC2);
    assert!(offset_of!(B, active_ports) == 0xC8);
    assert!(offset_of!(B, data_back_fill_size) == 0xD0);
    assert!(offset_of!(B, context_back_fill_size) == 0xD4);
    assert!(offset_of!(B, mac_options) == 0xD8);
    assert!(offset_of!(B, compartment_id) == 0xDC);
    assert!(offset_of!(B, default_offload_configuration) == 0xE0);
    assert!(offset_of!(B, tcp_connection_offload_capabilities) == 0xE8);
    assert!(offset_of!(B, bound_adapter_name) == 0xF0);
    assert!(offset_of!(B, hd_split_current_config) == 0xF8);
    assert!(size_of::<B>() == 0x100);

    type O = NdisOpenParameters;
    assert!(offset_of!(O, adapter_name) == 0x08);
    assert!(offset_of!(O, medium_array) == 0x10);
    assert!(offset_of!(O, medium_array_size) == 0x18);
    assert!(offset_of!(O, selected_medium_index) == 0x20);
    assert!(offset_of!(O, frame_type_array) == 0x28);
    assert!(offset_of!(O, frame_type_array_size) == 0x30);
    assert!(size_of::<O>() == 0x38);

    assert!(offset_of!(NetPnpEvent, buffer) == 0x08);
    assert!(offset_of!(NetPnpEvent, buffer_length) == 0x10);
    assert!(offset_of!(NetPnpEvent, ndis_reserved) == 0x18);
    assert!(offset_of!(NetPnpEvent, transport_reserved) == 0x38);
    assert!(offset_of!(NetPnpEvent, tdi_reserved) == 0x58);
    assert!(offset_of!(NetPnpEvent, tdi_client_reserved) == 0x78);
    assert!(size_of::<NetPnpEvent>() == 0x98);
    assert!(offset_of!(NetPnpEventNotification, port_number) == 0x04);
    assert!(offset_of!(NetPnpEventNotification, net_pnp_event) == 0x08);
    assert!(offset_of!(NetPnpEventNotification, flags) == 0xA0);
    assert!(
        offset_of!(NetPnpEventNotification, flags) + size_of::<u32>()
            == NDIS_SIZEOF_NET_PNP_EVENT_NOTIFICATION_REVISION_1
    );
    assert!(size_of::<NetPnpEventNotification>() == 0xA8);

    assert!(offset_of!(NdisConfigurationObject, ndis_handle) == 0x08);
    assert!(offset_of!(NdisConfigurationObject, flags) == 0x10);
    assert!(size_of::<NdisConfigurationObject>() == 0x18);
    assert!(offset_of!(NdisConfigurationParameter, string_data) == 0x08);
    assert!(size_of::<NdisConfigurationParameter>() == 0x18);

    type S = NdisStatusIndication;
    assert!(offset_of!(S, source_handle) == 0x08);
    assert!(offset_of!(S, port_number) == 0x10);
    assert!(offset_of!(S, status_code) == 0x14);
    assert!(offset_of!(S, flags) == 0x18);
    assert!(offset_of!(S, destination_handle) == 0x20);
    assert!(offset_of!(S, request_id) == 0x28);
    assert!(offset_of!(S, status_buffer) == 0x30);
    assert!(offset_of!(S, status_buffer_size) == 0x38);
    assert!(offset_of!(S, guid) == 0x3C);
    assert!(offset_of!(S, ndis_reserved) == 0x50);
    assert!(size_of::<S>() == 0x70);

    assert!(offset_of!(NdisLinkState, media_connect_state) == 0x04);
    assert!(offset_of!(NdisLinkState, media_duplex_state) == 0x08);
    assert!(offset_of!(NdisLinkState, xmit_link_speed) == 0x10);
    assert!(offset_of!(NdisLinkState, rcv_link_speed) == 0x18);
    assert!(offset_of!(NdisLinkState, pause_functions) == 0x20);
    assert!(offset_of!(NdisLinkState, auto_negotiation_flags) == 0x24);
    assert!(size_of::<NdisLinkState>() == 0x28);
};
