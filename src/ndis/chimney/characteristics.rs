//! The four characteristics structures and the upcall table (docs/chimney-contract.md §4.3).

use super::super::types::{NdisObjectHeader, object_type};
use super::*;
use core::mem::size_of;

// ---------------------------------------------------------------------------------------------
// Characteristics (NdisSetOptionalHandlers) and handler tables (docs/chimney-contract.md §4.3).
// ---------------------------------------------------------------------------------------------

/// `NDIS_DRIVER_OPTIONAL_HANDLERS` is a union selected by `Header.Type`; every arm starts with the
/// header, so the driver passes a pointer to the arm it filled (one of the four chimney
/// characteristics structures, cast).
pub type NdisDriverOptionalHandlers = NdisObjectHeader;

/// `NDIS_PROVIDER_CHIMNEY_OFFLOAD_GENERIC_CHARACTERISTICS` (Header.Type 0x8F; x64 48 bytes).
/// Registered on the miniport edge from MiniportSetOptions. Always set `Header.Type`: although the
/// docs call it "not significant", NdisSetOptionalHandlers dispatches on it (§4.3); use
/// [`Self::HEADER`].
#[repr(C)]
pub struct NdisProviderChimneyOffloadGenericCharacteristics {
    pub header: NdisObjectHeader,
    /// Reserved, 0.
    pub flags: u32,
    pub initiate_offload_handler: Option<MiniportInitiateOffloadHandler>,
    pub terminate_offload_handler: Option<MiniportTerminateOffloadHandler>,
    pub update_offload_handler: Option<MiniportUpdateOffloadHandler>,
    pub invalidate_offload_handler: Option<MiniportInvalidateOffloadHandler>,
    pub query_offload_handler: Option<MiniportQueryOffloadHandler>,
}

impl NdisProviderChimneyOffloadGenericCharacteristics {
    /// Type 0x8F, Revision [`PROVIDER_CHIMNEY_OFFLOAD_CHARACTERISTICS_REVISION`], Size `sizeof`.
    pub const HEADER: NdisObjectHeader = NdisObjectHeader::new(
        object_type::PROVIDER_CHIMNEY_OFFLOAD_GENERIC_CHARACTERISTICS,
        PROVIDER_CHIMNEY_OFFLOAD_CHARACTERISTICS_REVISION,
        size_of::<Self>(),
    );
}

/// `NDIS_PROVIDER_CHIMNEY_OFFLOAD_TCP_CHARACTERISTICS` (Header.Type 0x94; x64 56 bytes).
/// Registered on the miniport edge from MiniportSetOptions; `offload_type` must be
/// [`chimney_offload_type::TCP`] (checked by NdisSetOptionalHandlers, Observed).
#[repr(C)]
pub struct NdisProviderChimneyOffloadTcpCharacteristics {
    pub header: NdisObjectHeader,
    /// Reserved, 0.
    pub flags: u32,
    pub offload_type: NdisChimneyOffloadType,
    pub tcp_offload_send_handler: Option<MiniportTcpOffloadSendHandler>,
    pub tcp_offload_receive_handler: Option<MiniportTcpOffloadReceiveHandler>,
    pub tcp_offload_disconnect_handler: Option<MiniportTcpOffloadDisconnectHandler>,
    pub tcp_offload_forward_handler: Option<MiniportTcpOffloadForwardHandler>,
    pub tcp_offload_receive_return_handler: Option<MiniportTcpOffloadReceiveReturnHandler>,
}

impl NdisProviderChimneyOffloadTcpCharacteristics {
    /// Type 0x94, Revision [`PROVIDER_CHIMNEY_OFFLOAD_CHARACTERISTICS_REVISION`], Size `sizeof`.
    pub const HEADER: NdisObjectHeader = NdisObjectHeader::new(
        object_type::PROVIDER_CHIMNEY_OFFLOAD_CHARACTERISTICS,
        PROVIDER_CHIMNEY_OFFLOAD_CHARACTERISTICS_REVISION,
        size_of::<Self>(),
    );
}

/// `NDIS_CLIENT_CHIMNEY_OFFLOAD_GENERIC_CHARACTERISTICS` (Header.Type 0x8E; x64 56 bytes).
/// Registered on the protocol edge from ProtocolSetOptions. The IM may leave
/// `indicate_offload_event_handler` NULL (no defined IM contract, §6.6).
#[repr(C)]
pub struct NdisClientChimneyOffloadGenericCharacteristics {
    pub header: NdisObjectHeader,
    /// Reserved, 0.
    pub flags: u32,
    pub initiate_offload_complete_handler: Option<ProtocolInitiateOffloadCompleteHandler>,
    pub terminate_offload_complete_handler: Option<ProtocolTerminateOffloadCompleteHandler>,
    pub update_offload_complete_handler: Option<ProtocolUpdateOffloadCompleteHandler>,
    pub invalidate_offload_complete_handler: Option<ProtocolInvalidateOffloadCompleteHandler>,
    pub query_offload_complete_handler: Option<ProtocolQueryOffloadCompleteHandler>,
    pub indicate_offload_event_handler: Option<ProtocolIndicateOffloadEventHandler>,
}

impl NdisClientChimneyOffloadGenericCharacteristics {
    /// Type 0x8E, Revision 1, Size `sizeof`.
    pub const HEADER: NdisObjectHeader = NdisObjectHeader::new(
        object_type::CLIENT_CHIMNEY_OFFLOAD_GENERIC_CHARACTERISTICS,
        NDIS_CLIENT_CHIMNEY_OFFLOAD_GENERIC_CHARACTERISTICS_REVISION_1,
        NDIS_SIZEOF_CLIENT_CHIMNEY_OFFLOAD_GENERIC_CHARACTERISTICS_REVISION_1,
    );
}

/// `NDIS_CLIENT_CHIMNEY_OFFLOAD_TCP_CHARACTERISTICS` (Header.Type 0x93; x64 64 bytes).
/// Registered on the protocol edge from ProtocolSetOptions (a binding handle is also accepted);
/// `offload_type` must be [`chimney_offload_type::TCP`].
#[repr(C)]
pub struct NdisClientChimneyOffloadTcpCharacteristics {
    pub header: NdisObjectHeader,
    /// Reserved, 0.
    pub flags: u32,
    pub offload_type: NdisChimneyOffloadType,
    pub tcp_offload_send_complete_handler: Option<ProtocolTcpOffloadSendCompleteHandler>,
    /// Typedef `TCP_OFFLOAD_RECV_COMPLETE_HANDLER` (spelling trap).
    pub tcp_offload_receive_complete_handler: Option<ProtocolTcpOffloadReceiveCompleteHandler>,
    pub tcp_offload_disconnect_complete_handler:
        Option<ProtocolTcpOffloadDisconnectCompleteHandler>,
    pub tcp_offload_forward_complete_handler: Option<ProtocolTcpOffloadForwardCompleteHandler>,
    pub tcp_offload_event_handler: Option<ProtocolTcpOffloadEventHandler>,
    pub tcp_offload_receive_indicate_handler: Option<ProtocolTcpOffloadReceiveIndicateHandler>,
}

impl NdisClientChimneyOffloadTcpCharacteristics {
    /// Type 0x93, Revision 1, Size `sizeof`.
    pub const HEADER: NdisObjectHeader = NdisObjectHeader::new(
        object_type::CLIENT_CHIMNEY_OFFLOAD_CHARACTERISTICS,
        NDIS_CLIENT_CHIMNEY_OFFLOAD_TCP_CHARACTERISTICS_REVISION_1,
        NDIS_SIZEOF_CLIENT_CHIMNEY_OFFLOAD_TCP_CHARACTERISTICS_REVISION_1,
    );
}

/// `NDIS_OFFLOAD_CLIENT_HANDLERS` `{ Header }`: declared by the header, not used for
/// registration (§4.3).
#[repr(C)]
pub struct NdisOffloadClientHandlers {
    pub header: NdisObjectHeader,
}

/// `NDIS_TCP_OFFLOAD_CLIENT_HANDLERS`: the six client TCP handlers without Flags or OffloadType.
/// Declared by the header, **not** used for registration (use
/// [`NdisClientChimneyOffloadTcpCharacteristics`]).
#[repr(C)]
pub struct NdisTcpOffloadClientHandlers {
    pub header: NdisObjectHeader,
    pub tcp_offload_send_complete_handler: Option<ProtocolTcpOffloadSendCompleteHandler>,
    pub tcp_offload_receive_complete_handler: Option<ProtocolTcpOffloadReceiveCompleteHandler>,
    pub tcp_offload_disconnect_complete_handler:
        Option<ProtocolTcpOffloadDisconnectCompleteHandler>,
    pub tcp_offload_forward_complete_handler: Option<ProtocolTcpOffloadForwardCompleteHandler>,
    pub tcp_offload_event_handler: Option<ProtocolTcpOffloadEventHandler>,
    pub tcp_offload_receive_indicate_handler: Option<ProtocolTcpOffloadReceiveIndicateHandler>,
}

/// `NDIS_OFFLOAD_EVENT_HANDLERS` `{ Header }`: what NdisMGetOffloadHandlers returns a pointer to.
/// The docs say `Header.Type` equals the requested ChimneyType and the caller checks `Revision`
/// before casting to the chimney-specific table ([`NdisTcpOffloadEventHandlers`] for
/// [`chimney_offload_type::TCP`]). The real header values of the static table were not seen.
#[repr(C)]
pub struct NdisOffloadEventHandlers {
    pub header: NdisObjectHeader,
}

/// `NDIS_TCP_OFFLOAD_EVENT_HANDLERS` (x64 56 bytes, docs/chimney-contract.md §4.3): NDIS's upward
/// completion and indication entry points for TCP chimney. Returned by NdisMGetOffloadHandlers as
/// a pointer to a static, global table (Observed); keep the pointer, do not copy assumptions about
/// its header. The fields are nullable in C; NDIS fills all six.
#[repr(C)]
pub struct NdisTcpOffloadEventHandlers {
    pub header: NdisObjectHeader,
    /// Indicate a TCP event up: `(host offload handle, EventType, Info)`. DISPATCH_LEVEL.
    pub ndis_tcp_offload_event_handler: Option<NdisTcpOffloadEventIndicate>,
    /// Indicate received data up: `(host offload handle, NBL, Status, &BytesConsumed)`.
    /// DISPATCH_LEVEL.
    pub ndis_tcp_offload_receive_handler: Option<NdisTcpOffloadReceiveIndicate>,
    pub ndis_tcp_offload_send_complete: Option<NdisTcpOffloadSendComplete>,
    pub ndis_tcp_offload_receive_complete: Option<NdisTcpOffloadReceiveComplete>,
    pub ndis_tcp_offload_disconnect_complete: Option<NdisTcpOffloadDisconnectComplete>,
    pub ndis_tcp_offload_forward_complete: Option<NdisTcpOffloadForwardComplete>,
}
