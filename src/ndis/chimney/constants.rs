//! Chimney enums, flags and revision constants (docs/chimney-contract.md §4.3, §4.4).

use super::*;
use core::mem::size_of;

// ---------------------------------------------------------------------------------------------
// Enums and flags (docs/chimney-contract.md §4.4). C enums are 4 bytes.
// ---------------------------------------------------------------------------------------------

/// `NDIS_CHIMNEY_OFFLOAD_TYPE` (4-byte C enum); values in [`chimney_offload_type`].
pub type NdisChimneyOffloadType = u32;

/// `NDIS_CHIMNEY_OFFLOAD_TYPE` values (`Ndis*ChimneyOffload`).
pub mod chimney_offload_type {
    /// `NdisTcpChimneyOffload`: the only type NdisMGetOffloadHandlers supports (others return
    /// NDIS_STATUS_NOT_SUPPORTED, Observed) and the required `OffloadType` of both TCP
    /// characteristics structures.
    pub const TCP: u32 = 1;
    /// `NdisIpsecChimneyOffload`.
    pub const IPSEC: u32 = 2;
    /// `NdisRdmaChimneyOffload`.
    pub const RDMA: u32 = 3;
    /// `NdisMaxChimneyOffload`.
    pub const MAX: u32 = 4;
}

/// `TCP_OFFLOAD_EVENT_TYPE` (`EventType` of NdisTcpOffloadEventHandler / ProtocolTcpOffloadEvent,
/// §6.5). Passed through unchanged by the IM.
pub mod tcp_offload_event {
    /// `TcpIndicateSendBacklogChange`.
    pub const SEND_BACKLOG_CHANGE: u32 = 1;
    /// `TcpIndicateDisconnect`: FIN received (after all earlier data was consumed).
    pub const DISCONNECT: u32 = 2;
    /// `TcpIndicateRetrieve`: upload request; `EventSpecificInformation` is a
    /// [`super::tcp_upload_reason`].
    pub const RETRIEVE: u32 = 3;
    /// `TcpIndicateAbort`: RST received.
    pub const ABORT: u32 = 4;
}

/// `INDICATE_OFFLOAD_EVENT` (`IndicationCode` of NdisMOffloadEventIndicate /
/// ProtocolIndicateOffloadEvent, §6.6).
pub mod indicate_offload_event {
    /// `NeighborReachabilityInDoubt`.
    pub const NEIGHBOR_REACHABILITY_IN_DOUBT: u32 = 1;
    /// `NeighborReachabilityQuery`: the only meaningful code.
    pub const NEIGHBOR_REACHABILITY_QUERY: u32 = 2;
    /// `MaxOffloadEvent`.
    pub const MAX_OFFLOAD_EVENT: u32 = 3;
}

/// `TCP_UPLOAD_REASON` (`EventSpecificInformation` of a `TcpIndicateRetrieve` event).
pub mod tcp_upload_reason {
    /// `LowActivity`.
    pub const LOW_ACTIVITY: u32 = 1;
    /// `HighDropRate`.
    pub const HIGH_DROP_RATE: u32 = 2;
    /// `SmallIO`.
    pub const SMALL_IO: u32 = 3;
    /// `NoBufferPreposting`.
    pub const NO_BUFFER_PREPOSTING: u32 = 4;
    /// `NoBufferProposting`: the header's legacy misspelling, same value.
    pub const NO_BUFFER_PROPOSTING: u32 = NO_BUFFER_PREPOSTING;
    /// `ReceivedUrgentData`.
    pub const RECEIVED_URGENT_DATA: u32 = 5;
    /// `HighFragmentation`.
    pub const HIGH_FRAGMENTATION: u32 = 6;
    /// `HighOutOfOrderPackets`.
    pub const HIGH_OUT_OF_ORDER_PACKETS: u32 = 7;
    /// `TimeoutExpiration`.
    pub const TIMEOUT_EXPIRATION: u32 = 8;
    /// `InvalidState`.
    pub const INVALID_STATE: u32 = 9;
    /// `UploadRequested`.
    pub const UPLOAD_REQUESTED: u32 = 10;
    /// `HardwareFailure`.
    pub const HARDWARE_FAILURE: u32 = 11;
    /// `MaxUploadReason`.
    pub const MAX_UPLOAD_REASON: u32 = 12;
}

/// `TCP_DISCONNECT_GRACEFUL_CLOSE`: `Flags` of NdisOffloadTcpDisconnect and
/// MiniportTcpOffloadDisconnect (the IM passes the same Flags down, §6.2).
pub const TCP_DISCONNECT_GRACEFUL_CLOSE: u32 = 0x01;
/// `TCP_DISCONNECT_ABORTIVE_CLOSE`.
pub const TCP_DISCONNECT_ABORTIVE_CLOSE: u32 = 0x02;

/// `OFFLOAD_STATE_TYPE`: the `Header.Type` of an offload block list (§4.2, §4.4), **not** an
/// `NDIS_OBJECT_TYPE_*`. The C enum is 4 bytes, but it is only ever stored in the 1-byte
/// `NDIS_OBJECT_HEADER.Type`, so the values are typed `u8` here to compare with `header.kind`.
pub mod offload_state_type {
    /// `NeighborOffloadConstState`.
    pub const NEIGHBOR_CONST: u8 = 1;
    /// `NeighborOffloadCachedState`.
    pub const NEIGHBOR_CACHED: u8 = 2;
    /// `NeighborOffloadDelegatedState`.
    pub const NEIGHBOR_DELEGATED: u8 = 3;
    /// `NeighborOffloadState` (const + cached + delegated).
    pub const NEIGHBOR: u8 = 4;
    /// `Ip4OffloadConstState`.
    pub const IP4_CONST: u8 = 5;
    /// `Ip4OffloadCachedState`.
    pub const IP4_CACHED: u8 = 6;
    /// `Ip4OffloadDelegatedState`.
    pub const IP4_DELEGATED: u8 = 7;
    /// `Ip4OffloadState` (IPv4 path).
    pub const IP4: u8 = 8;
    /// `Ip6OffloadConstState`.
    pub const IP6_CONST: u8 = 9;
    /// `Ip6OffloadCachedState`.
    pub const IP6_CACHED: u8 = 10;
    /// `Ip6OffloadDelegatedState`.
    pub const IP6_DELEGATED: u8 = 11;
    /// `Ip6OffloadState` (IPv6 path).
    pub const IP6: u8 = 12;
    /// `TcpOffloadConstState`.
    pub const TCP_CONST: u8 = 13;
    /// `TcpOffloadCachedState`.
    pub const TCP_CACHED: u8 = 14;
    /// `TcpOffloadDelegatedState`.
    pub const TCP_DELEGATED: u8 = 15;
    /// `TcpOffloadResourceState`.
    pub const TCP_RESOURCE: u8 = 16;
    /// `TcpOffloadState` (note: 17, not 16).
    pub const TCP: u8 = 17;
    /// `FilterReservedOffloadState`.
    pub const FILTER_RESERVED: u8 = 0xFE;
    /// `MaximumOffloadState`.
    pub const MAXIMUM: u8 = 0xFF;
}

// ---------------------------------------------------------------------------------------------
// Revisions (docs/chimney-contract.md §4.3). Header.Type values are in `types::object_type`
// (CLIENT_CHIMNEY_OFFLOAD_GENERIC_CHARACTERISTICS 0x8E, PROVIDER_..._GENERIC 0x8F,
// CLIENT_CHIMNEY_OFFLOAD_CHARACTERISTICS 0x93, PROVIDER_CHIMNEY_OFFLOAD_CHARACTERISTICS 0x94).
// ---------------------------------------------------------------------------------------------

/// `NDIS_OBJECT_TCP_OFFLOAD_REVISION_1` ([`NdisTcpOffloadEventHandlers`]).
pub const NDIS_OBJECT_TCP_OFFLOAD_REVISION_1: u8 = 1;
/// `NDIS_CLIENT_CHIMNEY_OFFLOAD_GENERIC_CHARACTERISTICS_REVISION_1`.
pub const NDIS_CLIENT_CHIMNEY_OFFLOAD_GENERIC_CHARACTERISTICS_REVISION_1: u8 = 1;
/// `NDIS_CLIENT_CHIMNEY_OFFLOAD_TCP_CHARACTERISTICS_REVISION_1`.
pub const NDIS_CLIENT_CHIMNEY_OFFLOAD_TCP_CHARACTERISTICS_REVISION_1: u8 = 1;
/// **Not a header constant.** ndischimney.h defines no revision for the two provider
/// characteristics structures (the 2003 MUX sample leaves 0; decompiled NdisSetOptionalHandlers
/// checks neither Revision nor Size). We use 1 for both, as recommended (Inferred, §4.3).
pub const PROVIDER_CHIMNEY_OFFLOAD_CHARACTERISTICS_REVISION: u8 = 1;

/// `NDIS_SIZEOF_CLIENT_CHIMNEY_OFFLOAD_GENERIC_CHARACTERISTICS_REVISION_1` (through
/// IndicateOffloadEventHandler = `sizeof`).
pub const NDIS_SIZEOF_CLIENT_CHIMNEY_OFFLOAD_GENERIC_CHARACTERISTICS_REVISION_1: usize =
    size_of::<NdisClientChimneyOffloadGenericCharacteristics>();
/// `NDIS_SIZEOF_CLIENT_CHIMNEY_OFFLOAD_TCP_CHARACTERISTICS_REVISION_1` (through
/// TcpOffloadReceiveIndicateHandler = `sizeof`).
pub const NDIS_SIZEOF_CLIENT_CHIMNEY_OFFLOAD_TCP_CHARACTERISTICS_REVISION_1: usize =
    size_of::<NdisClientChimneyOffloadTcpCharacteristics>();
/// `NDIS_SIZEOF_TCP_OFFLOAD_EVENT_HANDLERS_REVISION_1` (through NdisTcpOffloadForwardComplete =
/// `sizeof`).
pub const NDIS_SIZEOF_TCP_OFFLOAD_EVENT_HANDLERS_REVISION_1: usize =
    size_of::<NdisTcpOffloadEventHandlers>();
