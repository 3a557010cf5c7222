//! TCP chimney exports, registration and state side: NdisSetOptionalHandlers (dispatch on
//! Header.Type, handle-kind and OffloadType checks, tables stored or, for a newer ndis.sys,
//! discarded), NdisMGetOffloadHandlers (a static table of model upcalls), the state calls, their
//! NdisM*Complete and NdisMOffloadEventIndicate. Routing is in `crate::chimney::core`.

#![allow(non_snake_case, reason = "exports keep their ndis.sys names")]

use chimney_im::ndis::*;

use super::{enter, guard};
use crate::chimney::{self, Op, Open};
use crate::config::ChimneyNdis;
use crate::irql;
use crate::verifier::Export as E;
use crate::world::{self, DevPhase, HandleKind, OpenState, World};

/// The static NDIS_TCP_OFFLOAD_EVENT_HANDLERS every NdisMGetOffloadHandlers caller gets.
pub static TCP_OFFLOAD_HANDLERS: NdisTcpOffloadEventHandlers = NdisTcpOffloadEventHandlers {
    header: NdisObjectHeader::new(
        1, // NdisTcpChimneyOffload: the docs say Type equals the chimney type.
        NDIS_OBJECT_TCP_OFFLOAD_REVISION_1,
        NDIS_SIZEOF_TCP_OFFLOAD_EVENT_HANDLERS_REVISION_1,
    ),
    ndis_tcp_offload_event_handler: Some(super::chimney_io::NdisTcpOffloadEventHandler),
    ndis_tcp_offload_receive_handler: Some(super::chimney_io::NdisTcpOffloadReceiveHandler),
    ndis_tcp_offload_send_complete: Some(super::chimney_io::NdisTcpOffloadSendComplete),
    ndis_tcp_offload_receive_complete: Some(super::chimney_io::NdisTcpOffloadReceiveComplete),
    ndis_tcp_offload_disconnect_complete: Some(super::chimney_io::NdisTcpOffloadDisconnectComplete),
    ndis_tcp_offload_forward_complete: Some(super::chimney_io::NdisTcpOffloadForwardComplete),
};

/// [`TCP_OFFLOAD_HANDLERS`] with routine number `n` (in the structure's order) NULL.
fn table_without(n: usize) -> NdisTcpOffloadEventHandlers {
    let t = &TCP_OFFLOAD_HANDLERS;
    let keep = |i: usize| i != n;
    NdisTcpOffloadEventHandlers {
        header: t.header,
        ndis_tcp_offload_event_handler: t.ndis_tcp_offload_event_handler.filter(|_| keep(0)),
        ndis_tcp_offload_receive_handler: t.ndis_tcp_offload_receive_handler.filter(|_| keep(1)),
        ndis_tcp_offload_send_complete: t.ndis_tcp_offload_send_complete.filter(|_| keep(2)),
        ndis_tcp_offload_receive_complete: t.ndis_tcp_offload_receive_complete.filter(|_| keep(3)),
        ndis_tcp_offload_disconnect_complete: t
            .ndis_tcp_offload_disconnect_complete
            .filter(|_| keep(4)),
        ndis_tcp_offload_forward_complete: t.ndis_tcp_offload_forward_complete.filter(|_| keep(5)),
    }
}

/// Validates one chimney characteristics structure and merges it into the stored tables.
fn store(w: &mut World, kind: u8, p: *mut NdisDriverOptionalHandlers) {
    let keep = w.cfg.chimney_ndis == ChimneyNdis::Stores;
    let mut prov = w.chimney.provider.unwrap_or_default();
    let mut cli = w.chimney.client.unwrap_or_default();
    let complete = match kind {
        0x8F => {
            // SAFETY: Header.Type says this is the provider generic structure (size checked).
            let c = unsafe { &*p.cast::<NdisProviderChimneyOffloadGenericCharacteristics>() };
            prov.initiate = c.initiate_offload_handler;
            prov.terminate = c.terminate_offload_handler;
            prov.update = c.update_offload_handler;
            prov.invalidate = c.invalidate_offload_handler;
            prov.query = c.query_offload_handler;
            prov.has_generic = true;
            [
                prov.initiate.is_some(),
                prov.terminate.is_some(),
                prov.update.is_some(),
            ]
            .iter()
            .all(|x| *x)
                && prov.invalidate.is_some()
                && prov.query.is_some()
        }
        0x94 => {
            // SAFETY: Header.Type says this is the provider TCP structure (size checked).
            let c = unsafe { &*p.cast::<NdisProviderChimneyOffloadTcpCharacteristics>() };
            prov.send = c.tcp_offload_send_handler;
            prov.receive = c.tcp_offload_receive_handler;
            prov.disconnect = c.tcp_offload_disconnect_handler;
            prov.forward = c.tcp_offload_forward_handler;
            prov.receive_return = c.tcp_offload_receive_return_handler;
            prov.has_tcp = true;
            prov.send.is_some()
                && prov.receive.is_some()
                && prov.disconnect.is_some()
                && prov.forward.is_some()
                && prov.receive_return.is_some()
        }
        0x8E => {
            // SAFETY: Header.Type says this is the client generic structure (size checked).
            let c = unsafe { &*p.cast::<NdisClientChimneyOffloadGenericCharacteristics>() };
            cli.initiate_complete = c.initiate_offload_complete_handler;
            cli.terminate_complete = c.terminate_offload_complete_handler;
            cli.update_complete = c.update_offload_complete_handler;
            cli.invalidate_complete = c.invalidate_offload_complete_handler;
            cli.query_complete = c.query_offload_complete_handler;
            cli.offload_event = c.indicate_offload_event_handler;
            cli.initiate_complete.is_some()
                && cli.terminate_complete.is_some()
                && cli.update_complete.is_some()
                && cli.invalidate_complete.is_some()
                && cli.query_complete.is_some()
        }
        _ => {
            // SAFETY: Header.Type says this is the client TCP structure (size checked).
            let c = unsafe { &*p.cast::<NdisClientChimneyOffloadTcpCharacteristics>() };
            cli.send_complete = c.tcp_offload_send_complete_handler;
            cli.receive_complete = c.tcp_offload_receive_complete_handler;
            cli.disconnect_complete = c.tcp_offload_disconnect_complete_handler;
            cli.forward_complete = c.tcp_offload_forward_complete_handler;
            cli.tcp_event = c.tcp_offload_event_handler;
            cli.receive_indicate = c.tcp_offload_receive_indicate_handler;
            cli.send_complete.is_some()
                && cli.receive_complete.is_some()
                && cli.disconnect_complete.is_some()
                && cli.forward_complete.is_some()
                && cli.tcp_event.is_some()
                && cli.receive_indicate.is_some()
        }
    };
    w.v.check("chimney.handlers_complete", complete, || {
        format!("chimney characteristics {kind:#x} leave a required handler NULL (a pass-through IM needs all of them)")
    });
    if keep {
        if matches!(kind, 0x8F | 0x94) {
            w.chimney.provider = Some(prov);
        } else {
            w.chimney.client = Some(cli);
        }
    }
}

/// # Safety
/// Called by the driver with the documented arguments.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe extern "system-unwind" fn NdisSetOptionalHandlers(
    ndis_handle: NdisHandle,
    optional_handlers: *mut NdisDriverOptionalHandlers,
) -> NdisStatus {
    guard(E::NdisSetOptionalHandlers, NDIS_STATUS_FAILURE, || {
        world::try_with(|w| {
            enter(w, E::NdisSetOptionalHandlers, PASSIVE_LEVEL);
            let h = ndis_handle as usize;
            let kind = w.handles.get(&h).filter(|i| i.alive).map(|i| i.kind);
            if optional_handlers.is_null() {
                w.v.fail("chimney.optional_handlers_header", || "NULL OptionalHandlers".into());
                return NDIS_STATUS_INVALID_PARAMETER;
            }
            // SAFETY: non-NULL; every optional-handler structure starts with its header.
            let hdr = unsafe { *optional_handlers };
            let (want, min) = match hdr.kind {
                0x8E => (vec![HandleKind::ProtocolDriver], 56),
                0x8F => (vec![HandleKind::MiniportDriver], 48),
                0x93 => (vec![HandleKind::ProtocolDriver, HandleKind::Binding], 64),
                0x94 => (vec![HandleKind::MiniportDriver], 56),
                _ => (Vec::new(), 0),
            };
            if !w.v.check("chimney.optional_handlers_header", !want.is_empty() && usize::from(hdr.size) >= min && hdr.revision >= 1, || {
                format!("optional handlers header {hdr:?}: not a chimney characteristics type with Revision >= 1 and Size >= {min} (NdisSetOptionalHandlers dispatches on Header.Type)")
            }) {
                return NDIS_STATUS_NOT_SUPPORTED;
            }
            let handle_ok = kind.is_some_and(|k| want.contains(&k));
            let tcp = matches!(hdr.kind, 0x93 | 0x94);
            // SAFETY: the TCP structures have OffloadType at offset 8 (size checked above).
            let ty = if tcp { unsafe { *optional_handlers.cast::<u32>().add(2) } } else { 1 };
            let ok = w.v.check("chimney.optional_handlers_accepted", handle_ok && ty == 1, || {
                format!("NdisSetOptionalHandlers(Type {:#x}) with a {kind:?} handle (needs {want:?}) and OffloadType {ty}: ndis.sys returns NOT_SUPPORTED", hdr.kind)
            });
            if !ok {
                return NDIS_STATUS_NOT_SUPPORTED;
            }
            store(w, hdr.kind, optional_handlers);
            NDIS_STATUS_SUCCESS
        })
        .unwrap_or(NDIS_STATUS_FAILURE)
    })
}

/// # Safety
/// Called by the driver with the documented arguments.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe extern "system-unwind" fn NdisMGetOffloadHandlers(
    ndis_miniport_handle: NdisHandle,
    chimney_type: NdisChimneyOffloadType,
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
            if !w.v.check(
                "chimney.get_handlers_out_pointer",
                !offload_handlers.is_null(),
                || "NdisMGetOffloadHandlers with a NULL OffloadHandlers pointer".into(),
            ) {
                return NDIS_STATUS_INVALID_PARAMETER;
            }
            if chimney_type != chimney_offload_type::TCP {
                // SAFETY: the driver's out parameter (checked non-NULL).
                unsafe { *offload_handlers = std::ptr::null_mut() };
                return NDIS_STATUS_NOT_SUPPORTED;
            }
            let t: *const NdisTcpOffloadEventHandlers = match w.cfg.offload_handler_missing {
                None => &raw const TCP_OFFLOAD_HANDLERS,
                Some(n) => Box::leak(Box::new(table_without(n))),
            };
            // SAFETY: the driver's out parameter; the table is static and never written.
            unsafe { *offload_handlers = t.cast_mut().cast() };
            NDIS_STATUS_SUCCESS
        })
        .unwrap_or(NDIS_STATUS_FAILURE)
    })
}

fn state_call(e: E, op: Op, h: NdisHandle, l: *mut NdisProtocolOffloadBlockList) {
    guard(e, (), || {
        let a = world::try_with(|w| {
            enter(w, e, DISPATCH_LEVEL);
            let a = w.expect_live(
                "handle.binding",
                &e.to_string(),
                h as usize,
                HandleKind::Binding,
            )?;
            let open = w.adapters[a].binding.open;
            w.v.check("chimney.binding_open", open == OpenState::Open, || {
                format!("{e} on a binding that is {open:?}")
            });
            w.v.check("chimney_state.block_list_not_null", !l.is_null(), || {
                format!("{e} with a NULL block list")
            })
            .then_some(a)
        })
        .flatten();
        if let Some(a) = a {
            chimney::core::state_call(op, Open::Im(a), l as usize);
        }
    });
}

fn state_complete(e: E, op: Op, h: NdisHandle, l: *mut NdisMiniportOffloadBlockList) {
    guard(e, (), || {
        let ok = world::try_with(|w| {
            enter(w, e, DISPATCH_LEVEL);
            let a = w.expect_live("handle.miniport", &e.to_string(), h as usize, HandleKind::Miniport)?;
            let phase = w.adapters[a].dev.phase;
            w.v.check("chimney_complete.miniport_initialized", matches!(phase, DevPhase::Up | DevPhase::Halting), || {
                format!("{e} on a miniport that is {phase:?}")
            });
            if !w.v.check("chimney_state.block_list_not_null", !l.is_null(), || format!("{e} with a NULL block list")) {
                return None;
            }
            let src = chimney::blocks::source_handle(l as usize);
            let to = chimney::open_of(w, src);
            w.v.check("chimney_complete.miniport_handle_matches", to.is_none() || to == Some(Open::Host(a)), || {
                format!("{e}(miniport of adapter {a}) completes a call of {to:?} (NDIS ignores the handle, but it must be the completing miniport's)")
            });
            let halt = op == Op::Initiate && w.chimney.halt_in_completion == Some(a);
            if halt {
                w.chimney.halt_in_completion = None;
            }
            Some((a, halt))
        })
        .flatten();
        let Some((a, halt)) = ok else { return };
        chimney::core::state_complete(op, l as usize);
        if halt {
            // The host has its completion; NDIS has not yet returned to the driver.
            halt_meanwhile(a);
        }
        world::try_with(|w| {
            let phase = w.adapters[a].dev.phase;
            w.v.check("chimney_complete.miniport_outlives_call", matches!(phase, DevPhase::Up | DevPhase::Halting), || {
                format!("MiniportHaltEx returned while {e} was still running (the miniport is {phase:?}): the driver completed upward without holding a count halt waits for")
            });
        });
    });
}

/// PnP halts virtual miniport `a` on the worker thread while the calling thread is inside an
/// upcall: returns once the halt either returned or blocks in NdisWaitEvent (waiting for the
/// driver's in-flight count this upcall should hold).
fn halt_meanwhile(a: usize) {
    crate::sched::enqueue(PASSIVE_LEVEL, "halt during an upcall", move || {
        crate::devflows::halt_paused_device(a, halt_action::DEVICE_DISABLED);
    });
    let settled = || {
        world::try_with(|w| w.adapters[a].dev.phase == DevPhase::Halted).unwrap_or(true)
            || super::sync::threads_in_wait_event() > 0
    };
    let timeout = world::try_with(|w| w.cfg.deadlock_timeout).unwrap_or_default();
    let ok = crate::sched::grant_one_until(&settled, timeout);
    world::try_with(|w| {
        w.v.check("chimney_complete.halt_started", ok, || {
            "the halt queued during an upcall neither returned nor waited".into()
        });
    });
}

macro_rules! state_exports {
    ($($name:ident => $op:ident),*) => {$(
        /// # Safety
        /// Called by the driver with the documented arguments.
        #[unsafe(no_mangle)]
        #[inline(never)]
        pub unsafe extern "system-unwind" fn $name(h: NdisHandle, l: *mut NdisProtocolOffloadBlockList) {
            state_call(E::$name, Op::$op, h, l);
        }
    )*};
}

macro_rules! complete_exports {
    ($($name:ident => $op:ident),*) => {$(
        /// # Safety
        /// Called by the driver with the documented arguments.
        #[unsafe(no_mangle)]
        #[inline(never)]
        pub unsafe extern "system-unwind" fn $name(h: NdisHandle, l: *mut NdisMiniportOffloadBlockList) {
            state_complete(E::$name, Op::$op, h, l);
        }
    )*};
}

state_exports!(
    NdisInitiateOffload => Initiate,
    NdisTerminateOffload => Terminate,
    NdisUpdateOffload => Update,
    NdisInvalidateOffload => Invalidate,
    NdisQueryOffloadState => Query
);

complete_exports!(
    NdisMInitiateOffloadComplete => Initiate,
    NdisMTerminateOffloadComplete => Terminate,
    NdisMUpdateOffloadComplete => Update,
    NdisMInvalidateOffloadComplete => Invalidate,
    NdisMQueryOffloadStateComplete => Query
);

/// # Safety
/// Called by the driver with the documented arguments.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe extern "system-unwind" fn NdisMOffloadEventIndicate(
    h: NdisHandle,
    l: *mut NdisMiniportOffloadBlockList,
    code: u32,
) {
    guard(E::NdisMOffloadEventIndicate, (), || {
        let ok = world::try_with(|w| {
            enter(w, E::NdisMOffloadEventIndicate, DISPATCH_LEVEL);
            let at = irql::current();
            w.v.check("chimney_indicate.at_dispatch", at == DISPATCH_LEVEL, || {
                format!("NdisMOffloadEventIndicate at IRQL {at}; it is DISPATCH_LEVEL only")
            });
            w.expect_live(
                "handle.miniport",
                "NdisMOffloadEventIndicate",
                h as usize,
                HandleKind::Miniport,
            )
        })
        .flatten();
        if ok.is_some() {
            chimney::core::offload_event(h as usize, l as usize, code);
        }
    });
}
