//! `NDIS_STATUS_*` codes (ndis.h) and status-indication codes.

use super::types::NdisStatus;

/// Writes a Windows status literal (given as its unsigned hex form) as an `NDIS_STATUS`.
const fn st(v: u32) -> NdisStatus {
    i32::from_ne_bytes(v.to_ne_bytes())
}

pub const NDIS_STATUS_SUCCESS: NdisStatus = 0;
pub const NDIS_STATUS_PENDING: NdisStatus = st(0x0000_0103);
pub const NDIS_STATUS_NOT_ACCEPTED: NdisStatus = st(0x0001_0003);
pub const NDIS_STATUS_FAILURE: NdisStatus = st(0xC000_0001);
pub const NDIS_STATUS_INVALID_PARAMETER: NdisStatus = st(0xC000_000D);
pub const NDIS_STATUS_RESOURCES: NdisStatus = st(0xC000_009A);
pub const NDIS_STATUS_NOT_SUPPORTED: NdisStatus = st(0xC000_00BB);
pub const NDIS_STATUS_INVALID_STATE: NdisStatus = st(0xC000_0184);
pub const NDIS_STATUS_CLOSING: NdisStatus = st(0xC001_0002);
pub const NDIS_STATUS_BAD_VERSION: NdisStatus = st(0xC001_0004);
pub const NDIS_STATUS_BAD_CHARACTERISTICS: NdisStatus = st(0xC001_0005);
pub const NDIS_STATUS_ADAPTER_NOT_FOUND: NdisStatus = st(0xC001_0006);
pub const NDIS_STATUS_OPEN_FAILED: NdisStatus = st(0xC001_0007);
pub const NDIS_STATUS_REQUEST_ABORTED: NdisStatus = st(0xC001_000C);
pub const NDIS_STATUS_ADAPTER_NOT_READY: NdisStatus = st(0xC001_0011);
pub const NDIS_STATUS_INVALID_LENGTH: NdisStatus = st(0xC001_0014);
pub const NDIS_STATUS_BUFFER_TOO_SHORT: NdisStatus = st(0xC001_0016);
pub const NDIS_STATUS_INVALID_OID: NdisStatus = st(0xC001_0017);
pub const NDIS_STATUS_UNSUPPORTED_MEDIA: NdisStatus = st(0xC001_0019);
pub const NDIS_STATUS_PAUSED: NdisStatus = st(0xC023_002A);
pub const NDIS_STATUS_LOW_POWER_STATE: NdisStatus = st(0xC023_002F);

// Chimney I/O statuses (ndis.h; docs/chimney-contract.md §4.6).
pub const NDIS_STATUS_UPLOAD_IN_PROGRESS: NdisStatus = st(0xC023_1001);
pub const NDIS_STATUS_REQUEST_UPLOAD: NdisStatus = st(0xC023_1002);
pub const NDIS_STATUS_UPLOAD_REQUESTED: NdisStatus = st(0xC023_1003);
// Initiate-offload block statuses (docs/chimney-contract.md §4.6; names as in ndis.h).
pub const NDIS_STATUS_OFFLOAD_TCP_ENTRIES: NdisStatus = st(0xC023_1004);
pub const NDIS_STATUS_OFFLOAD_PATH_ENTRIES: NdisStatus = st(0xC023_1005);
pub const NDIS_STATUS_OFFLOAD_NEIGHBOR_ENTRIES: NdisStatus = st(0xC023_1006);
pub const NDIS_STATUS_OFFLOAD_IP_ADDRESS_ENTRIES: NdisStatus = st(0xC023_1007);
pub const NDIS_STATUS_OFFLOAD_HW_ADDRESS_ENTRIES: NdisStatus = st(0xC023_1008);
pub const NDIS_STATUS_OFFLOAD_VLAN_ENTRIES: NdisStatus = st(0xC023_1009);
pub const NDIS_STATUS_OFFLOAD_TCP_XMIT_BUFFER: NdisStatus = st(0xC023_100A);
pub const NDIS_STATUS_OFFLOAD_TCP_RCV_BUFFER: NdisStatus = st(0xC023_100B);
pub const NDIS_STATUS_OFFLOAD_TCP_RCV_WINDOW: NdisStatus = st(0xC023_100C);
pub const NDIS_STATUS_OFFLOAD_VLAN_MISMATCH: NdisStatus = st(0xC023_100D);
pub const NDIS_STATUS_OFFLOAD_DATA_NOT_ACCEPTED: NdisStatus = st(0xC023_100E);
pub const NDIS_STATUS_OFFLOAD_POLICY: NdisStatus = st(0xC023_100F);
pub const NDIS_STATUS_OFFLOAD_DATA_PARTIALLY_ACCEPTED: NdisStatus = st(0xC023_1010);

// Status indication codes (NDIS_STATUS_INDICATION.StatusCode).
pub const NDIS_STATUS_RESET_START: NdisStatus = st(0x4001_0004);
pub const NDIS_STATUS_RESET_END: NdisStatus = st(0x4001_0005);
pub const NDIS_STATUS_MEDIA_CONNECT: NdisStatus = st(0x4001_000B);
pub const NDIS_STATUS_MEDIA_DISCONNECT: NdisStatus = st(0x4001_000C);
pub const NDIS_STATUS_LINK_STATE: NdisStatus = st(0x4001_0017);
pub const NDIS_STATUS_OFFLOAD_PAUSE: NdisStatus = st(0x4002_0001);
pub const NDIS_STATUS_UPLOAD_ALL: NdisStatus = st(0x4002_0002);
pub const NDIS_STATUS_OFFLOAD_RESUME: NdisStatus = st(0x4002_0003);
/// Also an initiate-offload block status: this block offloaded, some dependents did not.
pub const NDIS_STATUS_OFFLOAD_PARTIAL_SUCCESS: NdisStatus = st(0x4002_0004);

/// `NT_SUCCESS`-style test: success and informational codes are non-negative.
pub const fn is_success(status: NdisStatus) -> bool {
    status >= 0
}
