//! Status pass-through: ProtocolStatusEx -> NdisMIndicateStatusEx for the codes the host needs
//! from the lower adapter (link state, and the chimney offload pause/upload/resume requests).

use core::ptr;

use crate::ndis::{
    NDIS_SIZEOF_LINK_STATE_REVISION_1, NDIS_SIZEOF_STATUS_INDICATION_REVISION_1,
    NDIS_STATUS_INDICATION_REVISION_1, NDIS_STATUS_LINK_STATE, NDIS_STATUS_OFFLOAD_PAUSE,
    NDIS_STATUS_OFFLOAD_RESUME, NDIS_STATUS_UPLOAD_ALL, NdisLinkState, NdisObjectHeader,
    NdisStatusIndication, object_type,
};
use crate::state::{Binding, Forward, Path};

/// Status codes forwarded to the host unchanged. Others (reset start/end, media-specific codes)
/// describe the lower adapter to its own bindings and are not re-indicated.
fn forwarded(code: i32) -> bool {
    matches!(
        code,
        NDIS_STATUS_LINK_STATE
            | NDIS_STATUS_OFFLOAD_PAUSE
            | NDIS_STATUS_UPLOAD_ALL
            | NDIS_STATUS_OFFLOAD_RESUME
    )
}

/// ProtocolStatusEx.
///
/// # Safety
/// `indication` is the live NDIS_STATUS_INDICATION NDIS passed to ProtocolStatusEx.
pub unsafe fn indicate(binding: &Binding, indication: *const NdisStatusIndication) {
    // SAFETY: NDIS's live indication for the duration of ProtocolStatusEx (this function's
    // contract).
    let indication = unsafe { &*indication };
    if indication.status_code == NDIS_STATUS_LINK_STATE
        && !indication.status_buffer.is_null()
        && indication.status_buffer_size as usize >= NDIS_SIZEOF_LINK_STATE_REVISION_1
    {
        // SAFETY: a LINK_STATE indication carries an NDIS_LINK_STATE of the given size.
        let link = unsafe {
            indication
                .status_buffer
                .cast::<NdisLinkState>()
                .read_unaligned()
        };
        binding.link.store(&link);
    }
    if !forwarded(indication.status_code) {
        return;
    }
    // Only an initialized, not halting, miniport may indicate status.
    let Some(token) = Forward::acquire(binding, Path::Requests, 1) else {
        return;
    };
    let miniport = token.miniport();
    let mut upward = NdisStatusIndication {
        header: NdisObjectHeader::new(
            object_type::STATUS_INDICATION,
            NDIS_STATUS_INDICATION_REVISION_1,
            NDIS_SIZEOF_STATUS_INDICATION_REVISION_1,
        ),
        source_handle: miniport.raw(),
        port_number: indication.port_number,
        status_code: indication.status_code,
        flags: 0,
        destination_handle: ptr::null_mut(),
        request_id: ptr::null_mut(),
        status_buffer: indication.status_buffer,
        status_buffer_size: indication.status_buffer_size,
        guid: [0; 4],
        ndis_reserved: [ptr::null_mut(); 4],
    };
    // The status buffer is the lower driver's, valid for the duration of this ProtocolStatusEx.
    miniport.indicate_status(&mut upward);
}
