//! TCP chimney exports. This phase models no chimney offload target: optional-handler
//! registration is accepted, NdisMGetOffloadHandlers reports NOT_SUPPORTED (the driver then runs
//! as a plain IM), and any chimney state or I/O call is a violation (nothing can have asked for it).

#![allow(non_snake_case, reason = "exports keep their ndis.sys names")]

use chimney_im::ndis::*;

use super::{enter, guard};
use crate::verifier::Export as E;
use crate::world::{self, DevPhase, HandleKind};

/// # Safety
/// Called by the driver with the documented arguments.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn NdisSetOptionalHandlers(
    ndis_handle: NdisHandle,
    optional_handlers: *mut NdisDriverOptionalHandlers,
) -> NdisStatus {
    guard(E::NdisSetOptionalHandlers, NDIS_STATUS_FAILURE, || {
        world::try_with(|w| {
            enter(w, E::NdisSetOptionalHandlers, PASSIVE_LEVEL);
            let h = ndis_handle as usize;
            let kind = w.handles.get(&h).filter(|i| i.alive).map(|i| i.kind);
            w.v.check(
                "chimney.optional_handlers_driver_handle",
                matches!(kind, Some(HandleKind::MiniportDriver | HandleKind::ProtocolDriver)),
                || format!("NdisSetOptionalHandlers handle {h:#x} is {kind:?}, not a driver handle from SetOptions"),
            );
            if optional_handlers.is_null() {
                w.v.fail("chimney.optional_handlers_header", || "NULL OptionalHandlers".into());
                return NDIS_STATUS_INVALID_PARAMETER;
            }
            // SAFETY: non-NULL; every optional-handler structure starts with its header.
            let hdr = unsafe { *optional_handlers };
            w.v.check("chimney.optional_handlers_header", matches!(hdr.kind, 0x8E | 0x8F | 0x93 | 0x94), || {
                format!("optional handlers header {hdr:?} is not a chimney characteristics type")
            });
            NDIS_STATUS_SUCCESS
        })
        .unwrap_or(NDIS_STATUS_FAILURE)
    })
}

/// # Safety
/// Called by the driver with the documented arguments.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn NdisMGetOffloadHandlers(
    ndis_miniport_handle: NdisHandle,
    _chimney_type: NdisChimneyOffloadType,
    offload_handlers: *mut *mut NdisOffloadEventHandlers,
) -> NdisStatus {
    guard(E::NdisMGetOffloadHandlers, NDIS_STATUS_FAILURE, || {
        world::try_with(|w| {
            enter(w, E::NdisMGetOffloadHandlers, PASSIVE_LEVEL);
            let a = w.expect_live(
                "handle.miniport",
                "NdisMGetOffloadHandlers",
                ndis_miniport_handle as usize,
                HandleKind::Miniport,
            );
            if let Some(a) = a {
                let phase = w.adapters[a].dev.phase;
                w.v.check(
                    "chimney.get_handlers_during_initialize",
                    phase == DevPhase::Initializing,
                    || format!("NdisMGetOffloadHandlers while the miniport is {phase:?}"),
                );
            }
            if !offload_handlers.is_null() {
                // SAFETY: the driver's out parameter.
                unsafe { *offload_handlers = std::ptr::null_mut() };
            }
            NDIS_STATUS_NOT_SUPPORTED
        })
        .unwrap_or(NDIS_STATUS_FAILURE)
    })
}

fn not_modelled(name: &'static str) {
    world::try_with(|w| {
        enter(w, E::ChimneyCall, DISPATCH_LEVEL);
        w.v.fail("chimney.no_calls_without_offload_target", || {
            format!("{name} called, but no chimney offload was ever initiated (the model offers no offload target)")
        });
    });
}

macro_rules! chimney_stub {
    ($name:ident ( $($arg:ident : $ty:ty),* ) $(-> $ret:ty = $val:expr)?) => {
        /// Not modelled yet (see the module docs).
        ///
        /// # Safety
        /// Called by the driver with the documented arguments.
        #[unsafe(no_mangle)]
        pub unsafe extern "system" fn $name($($arg: $ty),*) $(-> $ret)? {
            $(let _ = $arg;)*
            guard(E::ChimneyCall, (), || not_modelled(stringify!($name)));
            $($val)?
        }
    };
}

chimney_stub!(NdisInitiateOffload(h: NdisHandle, l: *mut NdisProtocolOffloadBlockList));
chimney_stub!(NdisTerminateOffload(h: NdisHandle, l: *mut NdisProtocolOffloadBlockList));
chimney_stub!(NdisUpdateOffload(h: NdisHandle, l: *mut NdisProtocolOffloadBlockList));
chimney_stub!(NdisInvalidateOffload(h: NdisHandle, l: *mut NdisProtocolOffloadBlockList));
chimney_stub!(NdisQueryOffloadState(h: NdisHandle, l: *mut NdisProtocolOffloadBlockList));
chimney_stub!(NdisMInitiateOffloadComplete(h: NdisHandle, l: *mut NdisMiniportOffloadBlockList));
chimney_stub!(NdisMTerminateOffloadComplete(h: NdisHandle, l: *mut NdisMiniportOffloadBlockList));
chimney_stub!(NdisMUpdateOffloadComplete(h: NdisHandle, l: *mut NdisMiniportOffloadBlockList));
chimney_stub!(NdisMInvalidateOffloadComplete(h: NdisHandle, l: *mut NdisMiniportOffloadBlockList));
chimney_stub!(NdisMQueryOffloadStateComplete(h: NdisHandle, l: *mut NdisMiniportOffloadBlockList));
chimney_stub!(NdisMOffloadEventIndicate(h: NdisHandle, l: *mut NdisMiniportOffloadBlockList, c: u32));
chimney_stub!(NdisOffloadTcpSend(h: *mut NdisOffloadHandle, n: *mut NetBufferList) -> NdisStatus = NDIS_STATUS_PENDING);
chimney_stub!(NdisOffloadTcpReceive(h: *mut NdisOffloadHandle, n: *mut NetBufferList) -> NdisStatus = NDIS_STATUS_PENDING);
chimney_stub!(NdisOffloadTcpDisconnect(h: *mut NdisOffloadHandle, n: *mut NetBufferList, f: u32) -> NdisStatus = NDIS_STATUS_PENDING);
chimney_stub!(NdisOffloadTcpForward(h: *mut NdisOffloadHandle, n: *mut NetBufferList) -> NdisStatus = NDIS_STATUS_PENDING);
chimney_stub!(NdisOffloadTcpReceiveReturn(h: NdisHandle, n: *mut NetBufferList));
