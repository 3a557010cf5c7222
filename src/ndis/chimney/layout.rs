//! Compile-time x64 layout assertions for every chimney structure (docs/chimney-contract.md §4).

use super::*;
use core::ffi::c_void;
use core::mem::size_of;

#[cfg(target_pointer_width = "64")]
const _: () = {
    use core::mem::{align_of, offset_of};

    type H = NdisOffloadHandle;
    assert!(offset_of!(H, ndis_reserved) == 0);
    assert!(offset_of!(H, miniport_offload_context) == 8);
    assert!(size_of::<H>() == 16);

    type P = NdisProtocolOffloadBlockList;
    assert!(offset_of!(P, header) == 0);
    assert!(offset_of!(P, next_block) == 8);
    assert!(offset_of!(P, dependent_block_list) == 16);
    assert!(offset_of!(P, status) == 24);
    assert!(offset_of!(P, ndis_reserved) == 32);
    assert!(offset_of!(P, offload_handle) == 56);
    assert!(offset_of!(P, protocol_reserved) == 64);
    assert!(offset_of!(P, miniport_reserved) == 80);
    assert!(offset_of!(P, im_reserved) == 96);
    assert!(offset_of!(P, scratch) == 112);
    assert!(offset_of!(P, source_handle) == 128);
    assert!(offset_of!(P, port_number) == 136);
    assert!(offset_of!(P, net_buffer_list_chain) == 144);
    assert!(size_of::<P>() == 152);

    type M = NdisMiniportOffloadBlockList;
    assert!(offset_of!(M, header) == 0);
    assert!(offset_of!(M, next_block) == 8);
    assert!(offset_of!(M, dependent_block_list) == 16);
    assert!(offset_of!(M, status) == 24);
    assert!(offset_of!(M, ndis_reserved) == 32);
    assert!(offset_of!(M, miniport_offload_context) == 48);
    assert!(offset_of!(M, ndis_offload_handle) == 56);
    assert!(offset_of!(M, protocol_reserved) == 64);
    assert!(offset_of!(M, miniport_reserved) == 80);
    assert!(offset_of!(M, im_reserved) == 96);
    assert!(offset_of!(M, scratch) == 112);
    assert!(offset_of!(M, source_handle) == 128);
    assert!(offset_of!(M, port_number) == 136);
    assert!(offset_of!(M, net_buffer_list_chain) == 144);
    assert!(size_of::<M>() == 152);
    // The two views: POBL NdisReserved[2] is MOBL MiniportOffloadContext, POBL OffloadHandle is
    // MOBL NdisOffloadHandle.
    assert!(offset_of!(P, ndis_reserved) + 2 * size_of::<*mut c_void>() == 48);
    assert!(offset_of!(P, offload_handle) == offset_of!(M, ndis_offload_handle));
    assert!(align_of::<P>() == align_of::<M>());

    type PG = NdisProviderChimneyOffloadGenericCharacteristics;
    assert!(offset_of!(PG, flags) == 4);
    assert!(offset_of!(PG, initiate_offload_handler) == 8);
    assert!(offset_of!(PG, terminate_offload_handler) == 16);
    assert!(offset_of!(PG, update_offload_handler) == 24);
    assert!(offset_of!(PG, invalidate_offload_handler) == 32);
    assert!(offset_of!(PG, query_offload_handler) == 40);
    assert!(size_of::<PG>() == 48);

    type PT = NdisProviderChimneyOffloadTcpCharacteristics;
    assert!(offset_of!(PT, flags) == 4);
    assert!(offset_of!(PT, offload_type) == 8);
    assert!(offset_of!(PT, tcp_offload_send_handler) == 16);
    assert!(offset_of!(PT, tcp_offload_receive_handler) == 24);
    assert!(offset_of!(PT, tcp_offload_disconnect_handler) == 32);
    assert!(offset_of!(PT, tcp_offload_forward_handler) == 40);
    assert!(offset_of!(PT, tcp_offload_receive_return_handler) == 48);
    assert!(size_of::<PT>() == 56);

    type CG = NdisClientChimneyOffloadGenericCharacteristics;
    assert!(offset_of!(CG, flags) == 4);
    assert!(offset_of!(CG, initiate_offload_complete_handler) == 8);
    assert!(offset_of!(CG, terminate_offload_complete_handler) == 16);
    assert!(offset_of!(CG, update_offload_complete_handler) == 24);
    assert!(offset_of!(CG, invalidate_offload_complete_handler) == 32);
    assert!(offset_of!(CG, query_offload_complete_handler) == 40);
    assert!(offset_of!(CG, indicate_offload_event_handler) == 48);
    assert!(size_of::<CG>() == 56);

    type CT = NdisClientChimneyOffloadTcpCharacteristics;
    assert!(offset_of!(CT, flags) == 4);
    assert!(offset_of!(CT, offload_type) == 8);
    assert!(offset_of!(CT, tcp_offload_send_complete_handler) == 16);
    assert!(offset_of!(CT, tcp_offload_receive_complete_handler) == 24);
    assert!(offset_of!(CT, tcp_offload_disconnect_complete_handler) == 32);
    assert!(offset_of!(CT, tcp_offload_forward_complete_handler) == 40);
    assert!(offset_of!(CT, tcp_offload_event_handler) == 48);
    assert!(offset_of!(CT, tcp_offload_receive_indicate_handler) == 56);
    assert!(size_of::<CT>() == 64);

    assert!(size_of::<NdisOffloadClientHandlers>() == 4);
    type TC = NdisTcpOffloadClientHandlers;
    assert!(offset_of!(TC, tcp_offload_send_complete_handler) == 8);
    assert!(offset_of!(TC, tcp_offload_receive_complete_handler) == 16);
    assert!(offset_of!(TC, tcp_offload_disconnect_complete_handler) == 24);
    assert!(offset_of!(TC, tcp_offload_forward_complete_handler) == 32);
    assert!(offset_of!(TC, tcp_offload_event_handler) == 40);
    assert!(offset_of!(TC, tcp_offload_receive_indicate_handler) == 48);
    assert!(size_of::<TC>() == 56);

    assert!(size_of::<NdisOffloadEventHandlers>() == 4);
    type E = NdisTcpOffloadEventHandlers;
    assert!(offset_of!(E, header) == 0);
    assert!(offset_of!(E, ndis_tcp_offload_event_handler) == 8);
    assert!(offset_of!(E, ndis_tcp_offload_receive_handler) == 16);
    assert!(offset_of!(E, ndis_tcp_offload_send_complete) == 24);
    assert!(offset_of!(E, ndis_tcp_offload_receive_complete) == 32);
    assert!(offset_of!(E, ndis_tcp_offload_disconnect_complete) == 40);
    assert!(offset_of!(E, ndis_tcp_offload_forward_complete) == 48);
    assert!(size_of::<E>() == 56);

    // Sizes written into the headers, and the header values themselves (§4.3).
    assert!(NDIS_SIZEOF_CLIENT_CHIMNEY_OFFLOAD_GENERIC_CHARACTERISTICS_REVISION_1 == 56);
    assert!(NDIS_SIZEOF_CLIENT_CHIMNEY_OFFLOAD_TCP_CHARACTERISTICS_REVISION_1 == 64);
    assert!(NDIS_SIZEOF_TCP_OFFLOAD_EVENT_HANDLERS_REVISION_1 == 56);
    assert!(PG::HEADER.kind == 0x8F && PG::HEADER.revision == 1 && PG::HEADER.size == 48);
    assert!(PT::HEADER.kind == 0x94 && PT::HEADER.revision == 1 && PT::HEADER.size == 56);
    assert!(CG::HEADER.kind == 0x8E && CG::HEADER.revision == 1 && CG::HEADER.size == 56);
    assert!(CT::HEADER.kind == 0x93 && CT::HEADER.revision == 1 && CT::HEADER.size == 64);

    // Handler fields are plain nullable code pointers.
    assert!(size_of::<Option<MiniportTcpOffloadReceiveHandler>>() == 8);
    assert!(size_of::<Option<NdisTcpOffloadReceiveIndicate>>() == 8);
};
