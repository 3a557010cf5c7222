//! The lower miniports (physical NICs): send completion, receive indication, status indication,
//! and releasing held work.

use chimney_im::ndis::*;

use crate::config::Completion;
use crate::drv;
use crate::irql;
use crate::nbl::{self, Loc, Owner};
use crate::world::{self, HandleKind, OpenState, RunState};

/// Takes sends the driver handed to binding `a` (already validated and marked Below).
pub fn accept_sends(a: usize, nbls: Vec<usize>) {
    let policy = world::with(|w| {
        let st = w.adapters[a].cfg.policy.send_status;
        for p in &nbls {
            if let Some(r) = w.nbls.recs.get_mut(p) {
                r.lower_status = Some(st);
            }
        }
        w.adapters[a].cfg.policy.send_completion
    });
    match policy {
        Completion::Inline => complete_sends(nbls),
        Completion::Deferred => crate::sched::enqueue(DISPATCH_LEVEL, "send complete", move || {
            complete_sends(nbls)
        }),
        Completion::Held => world::with(|w| w.adapters[a].binding.held_sends.extend(nbls)),
    }
}

/// Completes sends to whoever NDIS finds through SourceHandle, in random sub-chains, at the
/// calling thread's IRQL.
pub fn complete_sends(nbls: Vec<usize>) {
    let level = irql::current();
    let flags = if level >= DISPATCH_LEVEL {
        send_complete_flags::DISPATCH_LEVEL
    } else {
        0
    };
    let runs = world::with(|w| {
        let mut v = nbls.clone();
        w.rng.shuffle(&mut v);
        w.rng.split_runs(&v)
    });
    for run in runs {
        // Group by SourceHandle the way NDIS routes completions.
        let groups = world::with(|w| {
            let mut groups: Vec<(usize, Vec<usize>)> = Vec::new();
            for p in &run {
                let Some(r) = w.nbls.recs.get_mut(p) else {
                    continue;
                };
                nbl::set_status(*p, r.lower_status.unwrap_or(NDIS_STATUS_SUCCESS));
                r.loc = Loc::Driver;
                let Owner::Host(owner) = r.owner else {
                    continue;
                };
                w.adapters[owner].binding.sends_below =
                    w.adapters[owner].binding.sends_below.saturating_sub(1);
                w.adapters[owner].counters.lower_completions += 1;
                let src = nbl::source(*p);
                match groups.last_mut() {
                    Some((s, g)) if *s == src => g.push(*p),
                    _ => groups.push((src, vec![*p])),
                }
            }
            let mut out = Vec::new();
            for (src, g) in groups {
                let ok = w.live(src, HandleKind::Binding);
                w.v.check("send_complete.routed_by_source_handle", ok.is_some(), || {
                    format!("lower completes NBLs whose SourceHandle {src:#x} is not an open binding: NDIS cannot route them")
                });
                let Some(b) = ok else { continue };
                let ctx = w.adapters[b].binding.ctx;
                let h = w.pt.as_ref().map(|p| p.h.send_complete);
                if let Some(h) = h {
                    out.push((h, ctx, nbl::link(&g)));
                }
            }
            out
        });
        for (h, ctx, head) in groups {
            // SAFETY: the driver's ProtocolSendNetBufferListsComplete for its own binding, with NBLs
            // it sent on that binding.
            drv::call("ProtocolSendNetBufferListsComplete", level, || unsafe {
                h(drv::h(ctx), head as *mut NetBufferList, flags)
            });
        }
    }
}

/// Completes up to `max` held sends of adapter `a` on the calling thread. Returns how many.
pub fn release_sends(a: usize, max: Option<usize>) -> usize {
    let taken = world::with(|w| {
        let held = &mut w.adapters[a].binding.held_sends;
        let n = max.unwrap_or(held.len()).min(held.len());
        held.drain(..n).collect::<Vec<_>>()
    });
    let n = taken.len();
    if n > 0 {
        let level = world::with(world::World::pick_irql);
        let prev = irql::current();
        irql::set(level);
        complete_sends(taken);
        irql::set(prev);
    }
    n
}

/// The lower miniport of adapter `a` indicates `n` receives. Returns how many were indicated.
pub fn indicate(a: usize, n: usize, resources: bool) -> usize {
    let prep = world::with(|w| {
        let recv = w.pt.as_ref()?.h.receive;
        let slots = w.cfg.nbl_info_slots;
        let ad = &w.adapters[a];
        if ad.binding.open != OpenState::Open || ad.binding.run != RunState::Running || n == 0 {
            return None;
        }
        let (src, ctx, len) = (ad.lower_handle, ad.binding.ctx, ad.cfg.policy.data_len);
        let mut v = Vec::new();
        for _ in 0..n {
            let p = w.nbls.create(Owner::Lower(a), Loc::Driver, src, slots, len);
            if let Some(r) = w.nbls.recs.get_mut(&p) {
                r.resources = resources;
            }
            v.push(p);
        }
        let ad = &mut w.adapters[a];
        if !resources {
            ad.binding.recv_in_driver += n;
        }
        ad.counters.lower_to_driver_receives += n as u64;
        let level = w.pick_irql();
        Some((recv, ctx, nbl::link(&v), v, level))
    });
    let Some((recv, ctx, head, v, level)) = prep else {
        return 0;
    };
    let mut flags = if level >= DISPATCH_LEVEL {
        receive_flags::DISPATCH_LEVEL
    } else {
        0
    };
    if resources {
        flags |= receive_flags::RESOURCES;
    }
    let count = u32::try_from(n).unwrap_or(u32::MAX);
    // SAFETY: the driver's ProtocolReceiveNetBufferLists for its binding, with a fresh chain.
    drv::call("ProtocolReceiveNetBufferLists", level, || unsafe {
        recv(drv::h(ctx), head as *mut NetBufferList, 0, count, flags)
    });
    if resources {
        world::with(|w| {
            for p in &v {
                let Some(r) = w.nbls.recs.get_mut(p) else {
                    continue;
                };
                if r.loc == Loc::AtHost {
                    w.v.fail("receive.resources_ownership_back_on_return", || {
                        "NBL indicated with NDIS_RECEIVE_FLAGS_RESOURCES is still held above after the indication returned".into()
                    });
                    r.resources = false;
                    w.adapters[a].binding.recv_in_driver += 1;
                    continue;
                }
                let indicated = r.indicated;
                let home = w.nbls.home_check(*p);
                w.v.check("receive.resources_nbl_restored", home.is_ok(), || {
                    format!(
                        "RESOURCES indication came back altered: {}",
                        home.clone().err().unwrap_or_default()
                    )
                });
                if !indicated {
                    w.adapters[a].counters.receives_dropped_by_driver += 1;
                }
                w.nbls.destroy(*p);
            }
        });
    }
    n
}

/// The lower miniport indicates NDIS_STATUS_LINK_STATE to the driver's ProtocolStatusEx.
pub fn indicate_link_state(a: usize, state: NdisLinkState) -> bool {
    // Field by field into a zeroed buffer: the structure has padding after MediaDuplexState, and a
    // byte copy of the whole value would read those uninitialised bytes.
    let mut buf = vec![0u8; size_of::<NdisLinkState>()];
    let p = buf.as_mut_ptr().cast::<NdisLinkState>();
    // SAFETY: `p` covers exactly size_of::<NdisLinkState>() bytes of `buf`; every write is
    // unaligned-safe and stays inside the field it names. No field has inner padding.
    unsafe {
        (&raw mut (*p).header).write_unaligned(state.header);
        (&raw mut (*p).media_connect_state).write_unaligned(state.media_connect_state);
        (&raw mut (*p).media_duplex_state).write_unaligned(state.media_duplex_state);
        (&raw mut (*p).xmit_link_speed).write_unaligned(state.xmit_link_speed);
        (&raw mut (*p).rcv_link_speed).write_unaligned(state.rcv_link_speed);
        (&raw mut (*p).pause_functions).write_unaligned(state.pause_functions);
        (&raw mut (*p).auto_negotiation_flags).write_unaligned(state.auto_negotiation_flags);
    }
    indicate_status_buf(a, NDIS_STATUS_LINK_STATE, buf)
}

/// The lower miniport indicates `code` with no status buffer (e.g. the chimney
/// NDIS_STATUS_OFFLOAD_PAUSE, UPLOAD_ALL, OFFLOAD_RESUME).
pub fn indicate_status(a: usize, code: NdisStatus) -> bool {
    indicate_status_buf(a, code, Vec::new())
}

fn indicate_status_buf(a: usize, code: NdisStatus, mut buf: Vec<u8>) -> bool {
    let prep = world::with(|w| {
        let h = w.pt.as_ref()?.h.status?;
        let ad = &mut w.adapters[a];
        if ad.binding.open != OpenState::Open {
            return None;
        }
        ad.counters.status_from_lower += 1;
        if code == NDIS_STATUS_LINK_STATE {
            ad.last_link_state = buf.clone();
        }
        let (src, ctx) = (ad.lower_handle, ad.binding.ctx);
        Some((h, src, ctx, w.pick_irql()))
    });
    let Some((h, src, ctx, level)) = prep else {
        return false;
    };
    let size = u32::try_from(buf.len()).unwrap_or(0);
    let mut ind = Box::new(NdisStatusIndication {
        header: NdisObjectHeader::new(
            object_type::STATUS_INDICATION,
            1,
            NDIS_SIZEOF_STATUS_INDICATION_REVISION_1,
        ),
        source_handle: drv::h(src),
        port_number: 0,
        status_code: code,
        flags: 0,
        destination_handle: std::ptr::null_mut(),
        request_id: std::ptr::null_mut(),
        status_buffer: if buf.is_empty() {
            std::ptr::null_mut()
        } else {
            buf.as_mut_ptr().cast()
        },
        status_buffer_size: size,
        guid: [0; 4],
        ndis_reserved: [std::ptr::null_mut(); 4],
    });
    let ip: *mut NdisStatusIndication = &raw mut *ind;
    // SAFETY: the driver's ProtocolStatusEx for its binding; the indication lives for the call.
    drv::call("ProtocolStatusEx", level, || unsafe { h(drv::h(ctx), ip) });
    world::with(|w| w.graveyard.keep.push(Box::new((buf, ind))));
    true
}

/// Most NBLs one release of held sends or returns hands over in one chain.
const HELD_BATCH: usize = 65_536;

/// Releases all held work (lower sends, lower OID completions, host returns) to the DPC queue.
/// Used when a thread waits: time passes. Returns whether anything was released.
pub fn release_all_held() -> bool {
    let items = world::try_with(|w| {
        let mut sends = Vec::new();
        let mut oids = Vec::new();
        let mut returns = Vec::new();
        for (i, ad) in w.adapters.iter_mut().enumerate() {
            // In batches: one chain stays below the chain walks' cycle guard however many
            // NBLs a test parked (10^6 in the load sweep).
            let held = std::mem::take(&mut ad.binding.held_sends);
            sends.extend(held.chunks(HELD_BATCH).map(<[usize]>::to_vec));
            for o in &mut ad.binding.oids_below {
                if o.held {
                    o.held = false;
                    oids.push((i, o.req));
                }
            }
            let held = std::mem::take(&mut ad.dev.held_returns);
            returns.extend(held.chunks(HELD_BATCH).map(<[usize]>::to_vec));
        }
        (sends, oids, returns)
    });
    let Some((sends, oids, returns)) = items else {
        return false;
    };
    let chimney = crate::chimney::release_all_held();
    let any = chimney || !sends.is_empty() || !oids.is_empty() || !returns.is_empty();
    for s in sends {
        crate::sched::enqueue(DISPATCH_LEVEL, "held send complete", move || {
            complete_sends(s)
        });
    }
    for (a, req) in oids {
        crate::sched::enqueue(DISPATCH_LEVEL, "held OID complete", move || {
            crate::oidflows::complete_below(a, req)
        });
    }
    for r in returns {
        crate::sched::enqueue(DISPATCH_LEVEL, "held return", move || {
            crate::host::return_receives(r)
        });
    }
    any
}
