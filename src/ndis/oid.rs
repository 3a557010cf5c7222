//! `NDIS_OID_REQUEST` and the OIDs the driver special-cases (docs/ndis-contract.md §2.5, §2.7).

use core::ffi::c_void;

use super::types::{NdisHandle, NdisObjectHeader, NdisOid, NdisPortNumber};

/// `DATA.QUERY_INFORMATION` and `DATA.SET_INFORMATION` share this layout
/// (`BytesWritten` is `BytesRead` for a set).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct OidQuerySetInformation {
    pub oid: NdisOid,
    pub information_buffer: *mut c_void,
    pub information_buffer_length: u32,
    pub bytes_written_or_read: u32,
    pub bytes_needed: u32,
}

/// `DATA.METHOD_INFORMATION`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct OidMethodInformation {
    pub oid: NdisOid,
    pub information_buffer: *mut c_void,
    pub input_buffer_length: u32,
    pub output_buffer_length: u32,
    pub method_id: u32,
    pub bytes_written: u32,
    pub bytes_read: u32,
    pub bytes_needed: u32,
}

/// The `DATA` union of NDIS_OID_REQUEST.
#[repr(C)]
#[derive(Clone, Copy)]
pub union OidRequestData {
    pub query_set: OidQuerySetInformation,
    pub method: OidMethodInformation,
}

/// `NDIS_OID_REQUEST`, declared through revision 2 (0xF8).
#[repr(C)]
pub struct NdisOidRequest {
    pub header: NdisObjectHeader,
    pub request_type: u32,
    pub port_number: NdisPortNumber,
    pub timeout: u32,
    pub request_id: *mut c_void,
    pub request_handle: NdisHandle,
    pub data: OidRequestData,
    pub ndis_reserved: [*mut c_void; 16],
    pub miniport_reserved: [*mut c_void; 2],
    /// Owned by the driver that allocated (or cloned) the request.
    pub source_reserved: [*mut c_void; 2],
    pub supported_revision: u8,
    pub reserved1: u8,
    pub reserved2: u16,
    pub switch_id: u32,
    pub v_port_id: u32,
    pub flags: u32,
}

pub const NDIS_OID_REQUEST_REVISION_1: u8 = 1;
pub const NDIS_SIZEOF_OID_REQUEST_REVISION_1: usize = 0xEC;

/// `NDIS_REQUEST_TYPE`.
pub mod request_type {
    pub const QUERY_INFORMATION: u32 = 0;
    pub const SET_INFORMATION: u32 = 1;
    pub const QUERY_STATISTICS: u32 = 2;
    pub const METHOD: u32 = 12;
}

/// OIDs the driver handles itself or post-processes.
pub mod oids {
    use super::NdisOid;
    pub const OID_GEN_SUPPORTED_LIST: NdisOid = 0x0001_0101;
    pub const OID_GEN_HARDWARE_STATUS: NdisOid = 0x0001_0102;
    pub const OID_GEN_MEDIA_SUPPORTED: NdisOid = 0x0001_0103;
    pub const OID_GEN_MEDIA_IN_USE: NdisOid = 0x0001_0104;
    pub const OID_GEN_MAXIMUM_FRAME_SIZE: NdisOid = 0x0001_0106;
    pub const OID_GEN_LINK_SPEED: NdisOid = 0x0001_0107;
    pub const OID_GEN_VENDOR_DESCRIPTION: NdisOid = 0x0001_010D;
    pub const OID_GEN_CURRENT_PACKET_FILTER: NdisOid = 0x0001_010E;
    pub const OID_GEN_CURRENT_LOOKAHEAD: NdisOid = 0x0001_010F;
    pub const OID_GEN_MAXIMUM_TOTAL_SIZE: NdisOid = 0x0001_0111;
    pub const OID_GEN_MEDIA_CONNECT_STATUS: NdisOid = 0x0001_0114;
    pub const OID_GEN_STATISTICS: NdisOid = 0x0002_0106;
    pub const OID_802_3_PERMANENT_ADDRESS: NdisOid = 0x0101_0101;
    pub const OID_802_3_CURRENT_ADDRESS: NdisOid = 0x0101_0102;
    pub const OID_802_3_MULTICAST_LIST: NdisOid = 0x0101_0103;
    pub const OID_802_3_MAXIMUM_LIST_SIZE: NdisOid = 0x0101_0104;
    pub const OID_PNP_CAPABILITIES: NdisOid = 0xFD01_0100;
    pub const OID_PNP_SET_POWER: NdisOid = 0xFD01_0101;
    pub const OID_PNP_QUERY_POWER: NdisOid = 0xFD01_0102;
    pub const OID_PNP_ADD_WAKE_UP_PATTERN: NdisOid = 0xFD01_0103;
    pub const OID_PNP_REMOVE_WAKE_UP_PATTERN: NdisOid = 0xFD01_0104;
    pub const OID_PNP_ENABLE_WAKE_UP: NdisOid = 0xFD01_0106;
    pub const OID_TCP_OFFLOAD_CURRENT_CONFIG: NdisOid = 0xFC01_020B;

    // The "release" OIDs: each undoes state an earlier request set up (ntddndis.h values).
    pub const OID_RECEIVE_FILTER_FREE_QUEUE: NdisOid = 0x0001_0224;
    pub const OID_RECEIVE_FILTER_CLEAR_FILTER: NdisOid = 0x0001_0228;
    pub const OID_NIC_SWITCH_DELETE_SWITCH: NdisOid = 0x0001_0239;
    pub const OID_NIC_SWITCH_FREE_VF: NdisOid = 0x0001_0246;
    pub const OID_802_3_DELETE_MULTICAST_ADDRESS: NdisOid = 0x0101_0209;
    pub const OID_PM_REMOVE_WOL_PATTERN: NdisOid = 0xFD01_010B;
    pub const OID_PM_REMOVE_PROTOCOL_OFFLOAD: NdisOid = 0xFD01_010F;
    pub const OID_TCP_TASK_IPSEC_OFFLOAD_V2_DELETE_SA: NdisOid = 0xFC03_0203;
    pub const OID_TUNNEL_INTERFACE_RELEASE_OID: NdisOid = 0x0F01_0107;

    /// The release OIDs a miniport must not fail (NdisOidComplete rule; see docs/ndis-rules.md):
    /// they may complete only with SUCCESS, NOT_ACCEPTED or REQUEST_ABORTED.
    pub const RELEASE_OIDS: [NdisOid; 9] = [
        OID_RECEIVE_FILTER_FREE_QUEUE,
        OID_RECEIVE_FILTER_CLEAR_FILTER,
        OID_NIC_SWITCH_DELETE_SWITCH,
        OID_NIC_SWITCH_FREE_VF,
        OID_802_3_DELETE_MULTICAST_ADDRESS,
        OID_PM_REMOVE_WOL_PATTERN,
        OID_PM_REMOVE_PROTOCOL_OFFLOAD,
        OID_TCP_TASK_IPSEC_OFFLOAD_V2_DELETE_SA,
        OID_TUNNEL_INTERFACE_RELEASE_OID,
    ];

    /// True for the release OIDs of [`RELEASE_OIDS`].
    pub fn is_release(oid: NdisOid) -> bool {
        RELEASE_OIDS.contains(&oid)
    }
}

#[cfg(target_pointer_width = "64")]
const _: () = {
    use core::mem::{offset_of, size_of};
    type Q = OidQuerySetInformation;
    assert!(offset_of!(Q, information_buffer) == 0x08);
    assert!(offset_of!(Q, information_buffer_length) == 0x10);
    assert!(offset_of!(Q, bytes_written_or_read) == 0x14);
    assert!(offset_of!(Q, bytes_needed) == 0x18);
    type M = OidMethodInformation;
    assert!(offset_of!(M, information_buffer) == 0x08);
    assert!(offset_of!(M, input_buffer_length) == 0x10);
    assert!(offset_of!(M, output_buffer_length) == 0x14);
    assert!(offset_of!(M, method_id) == 0x18);
    assert!(offset_of!(M, bytes_written) == 0x1C);
    assert!(offset_of!(M, bytes_read) == 0x20);
    assert!(offset_of!(M, bytes_needed) == 0x24);
    assert!(size_of::<OidRequestData>() == 0x28);

    type R = NdisOidRequest;
    assert!(offset_of!(R, request_type) == 0x04);
    assert!(offset_of!(R, port_number) == 0x08);
    assert!(offset_of!(R, timeout) == 0x0C);
    assert!(offset_of!(R, request_id) == 0x10);
    assert!(offset_of!(R, request_handle) == 0x18);
    assert!(offset_of!(R, data) == 0x20);
    assert!(offset_of!(R, ndis_reserved) == 0x48);
    assert!(offset_of!(R, miniport_reserved) == 0xC8);
    assert!(offset_of!(R, source_reserved) == 0xD8);
    assert!(offset_of!(R, supported_revision) == 0xE8);
    assert!(offset_of!(R, reserved1) == 0xE9);
    assert!(offset_of!(R, reserved2) == 0xEA);
    assert!(offset_of!(R, switch_id) == 0xEC);
    assert!(offset_of!(R, v_port_id) == 0xF0);
    assert!(offset_of!(R, flags) == 0xF4);
    assert!(size_of::<R>() == 0xF8);
};
