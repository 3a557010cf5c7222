//! ndis.sys's chimney routing, as decompiled ndis.sys does it (docs/chimney-contract.md §4–§6).
//! Used by the driver-facing exports (after they validated the driver's arguments) and by the
//! model's host and target. Never holds the world lock while calling a driver handler.

use chimney_im::ndis::*;

use crate::drv::{self, Unwinding};
use crate::irql;
use crate::nbl::{self, Loc};
use crate::world::{self, HandleKind, OpenState, RunState, World};

use super::blocks::{self, Mobl, Pobl};
use super::{IoKind, Op, Open, in_live_pool, open_handle, open_of};

/// Cycle guard for NBL chains.
const CHAIN_LIMIT: usize = 100_000;

fn op_names(op: Op) -> (&'static str, &'static str) {
    match op {
        Op::Initiate => ("MiniportInitiateOffload", "ProtocolInitiateOffloadComplete"),
        Op::Terminate => (
            "MiniportTerminateOffload",
            "ProtocolTerminateOffloadComplete",
        ),
        Op::Update => ("MiniportUpdateOffload", "ProtocolUpdateOffloadComplete"),
        Op::Invalidate => (
            "MiniportInvalidateOffload",
            "ProtocolInvalidateOffloadComplete",
        ),
        Op::Query => ("MiniportQueryOffload", "ProtocolQueryOffloadComplete"),
    }
}

fn io_names(kind: IoKind) -> (&'static str, &'static str) {
    match kind {
        IoKind::Send => ("MiniportTcpOffloadSend", "ProtocolTcpOffloadSendComplete"),
        IoKind::Receive => (
            "MiniportTcpOffloadReceive",
            "ProtocolTcpOffloadReceiveComplete",
        ),
        IoKind::Disconnect => (
            "MiniportTcpOffloadDisconnect",
            "ProtocolTcpOffloadDisconnectComplete",
        ),
        IoKind::Forward => (
            "MiniportTcpOffloadForward",
            "ProtocolTcpOffloadForwardComplete",
        ),
    }
}

/// The driver's state-call handlers all share one signature (the type follows the driver's ABI
/// declarations: `"system"` in the image, `"system-unwind"` in host builds).
type BlockHandler = MiniportInitiateOffloadHandler;
type CompleteHandler = ProtocolInitiateOffloadCompleteHandler;

enum Next {
    Driver(BlockHandler, usize),
    Target(usize),
    Missing,
}

/// Checks an offload handle the driver passes: inside live pool memory, zero-filled on first
/// use, bound to the driver's own open. False: do not touch it.
fn check_driver_handle(w: &mut World, h: usize, open: usize, what: &str) -> bool {
    let live = in_live_pool(w, h, size_of::<NdisOffloadHandle>());
    if !w.v.check("chimney.no_call_on_freed_handle", live, || {
        format!("{what}: offload handle {h:#x} is not inside live pool memory of the driver (freed entry, or not pool memory)")
    }) {
        return false;
    }
    let (r, ctx) = (blocks::handle_reserved(h), blocks::handle_context(h));
    if r == 0 {
        w.v.check("chimney.offload_handle_zero_filled", ctx == 0, || {
            format!("{what}: offload handle {h:#x} first seen with NdisReserved[0] NULL but MiniportOffloadContext {ctx:#x} (not zero-filled)")
        });
    } else {
        w.v.check("chimney.offload_handle_bound_to_caller", r == open, || {
            format!("{what}: offload handle {h:#x} has NdisReserved[0] {r:#x}, not the caller's open {open:#x} (garbage or another layer's handle)")
        });
    }
    true
}

/// Ndis{Initiate,Terminate,Update,Invalidate}Offload / NdisQueryOffloadState by `caller`.
pub fn state_call(op: Op, caller: Open, root: usize) {
    let next = world::with(|w| {
        let ch = open_handle(w, caller);
        let Some(list) = blocks::walk(root) else {
            w.v.fail("chimney_state.tree_well_formed", || {
                format!("{op:?}: cyclic or overlong offload block tree")
            });
            return None;
        };
        blocks::set_source_handle(root, ch);
        for &b in &list {
            let h = blocks::offload_handle(b);
            if h == 0 {
                blocks::set_context_slot(b, 0);
            } else {
                if matches!(caller, Open::Im(_))
                    && !check_driver_handle(w, h, ch, &format!("Ndis{op:?}Offload block"))
                {
                    continue;
                }
                if blocks::handle_reserved(h) == 0 {
                    blocks::set_handle_reserved(h, ch);
                }
                blocks::set_context_slot(b, blocks::moc_slot(h));
            }
            let (chain, ok) = nbl::walk(blocks::chain(b), CHAIN_LIMIT);
            w.v.check("chain.well_formed", ok, || {
                format!("{op:?}: cyclic NetBufferListChain")
            });
            for p in chain {
                // SAFETY: NBLs handed over in the block's chain (model NBLs, walked above).
                unsafe { (*(p as *mut NetBufferList)).source_handle = ch as NdisHandle };
            }
        }
        Some(match caller {
            Open::Host(a) => {
                let p = w.chimney.provider.unwrap_or_default();
                let h = match op {
                    Op::Initiate => p.initiate,
                    Op::Terminate => p.terminate,
                    Op::Update => p.update,
                    Op::Invalidate => p.invalidate,
                    Op::Query => p.query,
                };
                match h {
                    Some(h) if p.has_tcp => Next::Driver(h, w.adapters[a].dev.ctx),
                    _ => Next::Missing,
                }
            }
            Open::Im(a) if w.adapters[a].cfg.policy.chimney.target => Next::Target(a),
            Open::Im(_) => Next::Missing,
        })
    });
    match next {
        None => {}
        Some(Next::Missing) => {
            // Observed: no provider handlers below -> every block NOT_SUPPORTED, the caller's
            // completion runs synchronously inside the call.
            world::with(|w| {
                for b in blocks::walk(root).unwrap_or_default() {
                    blocks::set_status(b, NDIS_STATUS_NOT_SUPPORTED);
                    w.chimney.block_status.insert(b, NDIS_STATUS_NOT_SUPPORTED);
                }
            });
            complete_to(op, Some(caller), root);
        }
        Some(Next::Driver(h, ctx)) => {
            let name = op_names(op).0;
            // SAFETY: the driver's registered provider handler with its adapter context and the
            // host's live block list (the MOBL view of the same memory).
            drv::call(name, irql::current(), || unsafe {
                h.unwinding()(drv::h(ctx), root as *mut Mobl)
            });
        }
        Some(Next::Target(a)) => super::target::on_state(op, a, root),
    }
}

/// NdisM{Initiate,Terminate,Update,Invalidate}OffloadComplete / NdisMQueryOffloadStateComplete:
/// routed only by the root block's SourceHandle; `miniport` is ignored (checked by the export).
pub fn state_complete(op: Op, root: usize) {
    let open = world::with(|w| {
        let src = blocks::source_handle(root);
        let o = open_of(w, src);
        w.v.check("chimney_complete.routed_by_source_handle", o.is_some(), || {
            format!("{op:?} completion: root SourceHandle {src:#x} is not an open binding (NDIS cannot route it)")
        });
        o
    });
    complete_to(op, open, root);
}

fn complete_to(op: Op, open: Option<Open>, root: usize) {
    match open {
        None => {}
        Some(Open::Host(a)) => super::host::on_state_complete(op, a, root),
        Some(Open::Im(a)) => {
            let h: Option<(CompleteHandler, usize)> = world::with(|w| {
                let c = w.chimney.client.unwrap_or_default();
                let h = match op {
                    Op::Initiate => c.initiate_complete,
                    Op::Terminate => c.terminate_complete,
                    Op::Update => c.update_complete,
                    Op::Invalidate => c.invalidate_complete,
                    Op::Query => c.query_complete,
                };
                let ok = h.is_some();
                w.v.check("chimney.client_handlers_registered", ok, || {
                    format!("{op:?} completes to the driver, which registered no handler for it")
                });
                h.map(|h| (h, w.adapters[a].binding.ctx))
            });
            if let Some((h, ctx)) = h {
                // SAFETY: the driver's registered client handler, its binding context and the
                // block list it passed down.
                drv::call(op_names(op).1, irql::current(), || unsafe {
                    h.unwinding()(drv::h(ctx), root as *mut Pobl)
                });
            }
        }
    }
}

/// NdisOffloadTcp{Send,Receive,Disconnect,Forward}: the open is `handle->NdisReserved[0]`;
/// every NBL's SourceHandle becomes that open; the next driver gets
/// `handle->MiniportOffloadContext` by value.
pub fn io_post(
    kind: IoKind,
    handle: usize,
    chain: usize,
    flags: u32,
    by_driver: bool,
) -> NdisStatus {
    enum To {
        Driver(MiniportTcpOffloadSendHandler, usize, usize),
        Disconnect(MiniportTcpOffloadDisconnectHandler, usize, usize),
        Target(usize, usize),
    }
    let to = world::with(|w| {
        let r = blocks::handle_reserved(handle);
        let o = open_of(w, r);
        let ok = match o {
            Some(Open::Im(_)) => true,
            Some(Open::Host(_)) => !by_driver,
            None => false,
        };
        if !w.v.check("chimney_io.handle_routes_to_open", ok, || {
            format!("NdisOffloadTcp{kind:?}: handle {handle:#x} NdisReserved[0] is {r:#x} ({o:?}), not the caller's open (the handle was not given to NDIS at initiate)")
        }) {
            return None;
        }
        let o = o?;
        let ch = open_handle(w, o);
        let (chain_v, wf) = nbl::walk(chain, CHAIN_LIMIT);
        w.v.check("chain.well_formed", wf && !chain_v.is_empty(), || {
            format!("NdisOffloadTcp{kind:?}: empty or cyclic NBL chain")
        });
        for p in &chain_v {
            // SAFETY: model NBLs (validated by the caller).
            unsafe { (*(*p as *mut NetBufferList)).source_handle = ch as NdisHandle };
        }
        let ctx = blocks::handle_context(handle);
        match o {
            Open::Host(a) => {
                let p = w.chimney.provider.unwrap_or_default();
                let dctx = w.adapters[a].dev.ctx;
                match kind {
                    IoKind::Send => p.send.map(|h| To::Driver(h, dctx, ctx)),
                    IoKind::Receive => p.receive.map(|h| To::Driver(h, dctx, ctx)),
                    IoKind::Forward => p.forward.map(|h| To::Driver(h, dctx, ctx)),
                    IoKind::Disconnect => p.disconnect.map(|h| To::Disconnect(h, dctx, ctx)),
                }
            }
            Open::Im(a) => {
                let b = &w.adapters[a].binding;
                let (open, run) = (b.open, b.run);
                w.v.check(
                    "chimney_io.binding_running",
                    open == OpenState::Open && matches!(run, RunState::Running | RunState::Pausing),
                    || format!("NdisOffloadTcp{kind:?} on a binding that is {open:?}/{run:?}"),
                );
                Some(To::Target(a, ctx))
            }
        }
    });
    let name = io_names(kind).0;
    let st = match to {
        None => return NDIS_STATUS_PENDING,
        Some(To::Driver(h, dctx, ctx)) => {
            // SAFETY: the driver's provider handler with its adapter context, the
            // MiniportOffloadContext value and the host's NBLs.
            drv::call(name, irql::current(), || unsafe {
                h.unwinding()(drv::h(dctx), ctx as *mut _, chain as *mut NetBufferList)
            })
        }
        Some(To::Disconnect(h, dctx, ctx)) => {
            // SAFETY: as above, with the host's Flags.
            drv::call(name, irql::current(), || unsafe {
                h.unwinding()(
                    drv::h(dctx),
                    ctx as *mut _,
                    chain as *mut NetBufferList,
                    flags,
                )
            })
        }
        Some(To::Target(a, ctx)) => {
            super::target_io::on_post(a, ctx, kind, chain, flags);
            NDIS_STATUS_PENDING
        }
    };
    world::with(|w| {
        w.v.check(
            "chimney_io.provider_returns_pending",
            st == NDIS_STATUS_PENDING,
            || format!("{name} returned {st:#x}; only NDIS_STATUS_PENDING is allowed"),
        );
    });
    st
}

/// NdisTcpOffload{Send,Receive,Disconnect,Forward}Complete: runs of equal SourceHandle go to
/// that open's client completion handler; the miniport handle is ignored.
pub fn io_complete(kind: IoKind, miniport: usize, chain: usize, by_driver: bool) {
    let runs = world::with(|w| {
        let (v, ok) = nbl::walk(chain, CHAIN_LIMIT);
        w.v.check("chain.well_formed", ok && !v.is_empty(), || {
            format!("NdisTcpOffload{kind:?}Complete: empty or cyclic NBL chain")
        });
        let from = w.handles.get(&miniport).map(|i| i.adapter);
        let mut runs: Vec<(usize, Vec<usize>)> = Vec::new();
        for p in v {
            let src = nbl::source(p);
            match runs.last_mut() {
                Some((s, r)) if *s == src => r.push(p),
                _ => runs.push((src, vec![p])),
            }
        }
        let mut out = Vec::new();
        for (src, run) in runs {
            let o = open_of(w, src);
            if by_driver {
                let owner = super::cnbl::conn_of(w, run[0]).map(|c| w.chimney.conns[c.0].adapter);
                let ok = matches!(o, Some(Open::Host(x)) if Some(x) == owner);
                if !w.v.check("chimney_complete.source_handle_restored", ok, || {
                    format!("NdisTcpOffload{kind:?}Complete: {} NBL(s) with SourceHandle {src:#x} ({o:?}): not the host's open they were posted on (owner adapter {owner:?})", run.len())
                }) {
                    continue;
                }
                let same = o == from.map(Open::Host);
                w.v.check("chimney_complete.same_adapter", same, || {
                    format!("NBLs of {o:?} completed through miniport handle {miniport:#x} of adapter {from:?}")
                });
            } else if !w.v.check(
                "chimney_complete.routed_by_source_handle",
                o.is_some(),
                || format!("target completes NBLs whose SourceHandle {src:#x} is not an open"),
            ) {
                continue;
            }
            let Some(o) = o else { continue };
            out.push((o, nbl::link(&run), run));
        }
        out
    });
    for (o, head, run) in runs {
        match o {
            Open::Host(a) => super::host_io::on_complete(kind, a, run),
            Open::Im(a) => {
                let h = world::with(|w| {
                    for p in &run {
                        if let Some(r) = w.nbls.recs.get_mut(p) {
                            r.loc = Loc::Driver;
                        }
                    }
                    let c = w.chimney.client.unwrap_or_default();
                    let h = match kind {
                        IoKind::Send => c.send_complete,
                        IoKind::Receive => c.receive_complete,
                        IoKind::Disconnect => c.disconnect_complete,
                        IoKind::Forward => c.forward_complete,
                    };
                    h.map(|h| (h, w.adapters[a].binding.ctx))
                });
                if let Some((h, ctx)) = h {
                    // SAFETY: the driver's client completion handler with its binding context
                    // and NBLs it posted on that binding.
                    drv::call(io_names(kind).1, irql::current(), || unsafe {
                        h.unwinding()(drv::h(ctx), head as *mut NetBufferList)
                    });
                }
            }
        }
    }
}

/// The open an indication on `handle` goes to (`handle->NdisReserved[0]`).
fn indication_open(w: &mut World, handle: usize, by_driver: bool, what: &str) -> Option<Open> {
    let r = blocks::handle_reserved(handle);
    let o = open_of(w, r);
    let ok = if by_driver {
        matches!(o, Some(Open::Host(_)))
    } else {
        matches!(o, Some(Open::Im(_)))
    };
    w.v.check("chimney_indicate.routed_by_handle", ok, || {
        format!("{what} on handle {handle:#x}: NdisReserved[0] {r:#x} is {o:?} (the driver must indicate on the host's handle saved at initiate)")
    });
    if by_driver {
        let at = irql::current();
        w.v.check("chimney_indicate.at_dispatch", at == DISPATCH_LEVEL, || {
            format!("{what} at IRQL {at}; it is DISPATCH_LEVEL only")
        });
    }
    o.filter(|_| ok)
}

/// NdisTcpOffloadReceiveHandler.
pub fn indicate_receive(
    handle: usize,
    p: usize,
    status: NdisStatus,
    bytes: *mut u32,
    by_driver: bool,
) -> NdisStatus {
    let to = world::with(|w| {
        let o = indication_open(w, handle, by_driver, "NdisTcpOffloadReceiveHandler")?;
        Some((o, w.chimney.client.and_then(|c| c.receive_indicate)))
    });
    match to {
        Some((Open::Host(a), _)) => super::host_io::on_indicate(a, handle, p, status, bytes),
        Some((Open::Im(_), Some(h))) => {
            // SAFETY: the driver's ProtocolTcpOffloadReceiveIndicate with its own offload handle
            // (the OffloadContext), the target's NBL, status and BytesConsumed.
            drv::call(
                "ProtocolTcpOffloadReceiveIndicate",
                DISPATCH_LEVEL,
                || unsafe {
                    h.unwinding()(handle as *mut _, p as *mut NetBufferList, status, bytes)
                },
            )
        }
        _ => NDIS_STATUS_OFFLOAD_DATA_NOT_ACCEPTED,
    }
}

/// NdisTcpOffloadEventHandler.
pub fn indicate_event(handle: usize, event: u32, info: u32, by_driver: bool) {
    let to = world::with(|w| {
        let o = indication_open(w, handle, by_driver, "NdisTcpOffloadEventHandler")?;
        Some((o, w.chimney.client.and_then(|c| c.tcp_event)))
    });
    match to {
        Some((Open::Host(a), _)) => super::host_io::on_event(a, handle, event, info),
        Some((Open::Im(_), Some(h))) => {
            // SAFETY: the driver's ProtocolTcpOffloadEvent with its own offload handle.
            drv::call("ProtocolTcpOffloadEvent", DISPATCH_LEVEL, || unsafe {
                h.unwinding()(handle as *mut _, event, info)
            });
        }
        _ => {}
    }
}

/// NdisOffloadTcpReceiveReturn: synchronous, to the lower adapter of the binding; SourceHandle
/// untouched.
pub fn receive_return(binding: usize, chain: usize, by_driver: bool) {
    let to = world::with(|w| {
        let o = open_of(w, binding);
        let ok = if by_driver {
            matches!(o, Some(Open::Im(_)))
        } else {
            o.is_some()
        };
        w.v.check("chimney_indicate.return_on_binding_handle", ok, || {
            format!(
                "NdisOffloadTcpReceiveReturn({binding:#x}): not the caller's open binding ({o:?})"
            )
        });
        let o = o.filter(|_| ok)?;
        let h = w.chimney.provider.and_then(|p| p.receive_return);
        Some(match o {
            Open::Host(a) => (o, h, w.adapters[a].dev.ctx),
            Open::Im(a) => (o, None, a),
        })
    });
    match to {
        Some((Open::Host(_), Some(h), ctx)) => {
            // SAFETY: the driver's MiniportTcpOffloadReceiveReturn with its adapter context and
            // NBLs it indicated.
            let st = drv::call(
                "MiniportTcpOffloadReceiveReturn",
                irql::current(),
                || unsafe { h.unwinding()(drv::h(ctx), chain as *mut NetBufferList) },
            );
            world::with(|w| {
                w.v.check(
                    "chimney_indicate.receive_return_succeeds",
                    st == NDIS_STATUS_SUCCESS,
                    || format!("MiniportTcpOffloadReceiveReturn returned {st:#x}"),
                );
            });
        }
        Some((Open::Im(_), _, a)) => super::target_io::on_receive_return(a, chain),
        _ => {}
    }
}

/// NdisMOffloadEventIndicate: to the open(s) bound to that miniport, POBL view.
pub fn offload_event(miniport: usize, list: usize, code: u32) {
    let to = world::with(|w| {
        let i = w.handles.get(&miniport).copied()?;
        match i.kind {
            HandleKind::Miniport => Some((Open::Host(i.adapter), None, 0)),
            HandleKind::LowerMiniport => {
                let h = w.chimney.client.and_then(|c| c.offload_event);
                let b = &w.adapters[i.adapter].binding;
                (b.open == OpenState::Open).then_some((Open::Im(i.adapter), h, b.ctx))
            }
            _ => None,
        }
    });
    match to {
        Some((Open::Host(a), _, _)) => super::host::on_offload_event(a, list, code),
        Some((Open::Im(_), Some(h), ctx)) => {
            // SAFETY: the driver's ProtocolIndicateOffloadEvent with its binding context and the
            // target's block list (valid for the call).
            drv::call("ProtocolIndicateOffloadEvent", DISPATCH_LEVEL, || unsafe {
                h.unwinding()(drv::h(ctx), list as *mut Pobl, code)
            });
        }
        _ => {}
    }
}
