//! The offload target, I/O side: queues posted I/O per connection (FIFO), fills receives from a
//! per-connection byte stream, completes inline, from the DPC thread or when the test says, in
//! chains that split posts and merge connections (per-connection order kept); indicates
//! receives and events (serialized with its completions) and takes returned indications back.

use std::collections::HashMap;
use std::ops::Bound::{Included, Unbounded};

use chimney_im::ndis::*;

use crate::config::Completion;
use crate::irql;
use crate::live_slots::LiveSlots;
use crate::nbl::{self, Loc, Owner};
use crate::world::{self, World};

use super::blocks;
use super::cnbl::{self, TargetDone};
use super::{ConnId, IoKind, Layer, Raw, TObj, in_live_pool};

/// An NBL the target finished (status and data written), ready to be completed.
#[derive(Clone, Copy, Debug)]
pub struct Done {
    pub p: usize,
    pub kind: IoKind,
    pub ctx: usize,
}

/// Validates NBLs arriving at target context `ctx` and queues them.
pub fn accept(w: &mut World, a: usize, ctx: usize, kind: IoKind, v: &[usize], flags: u32) {
    let obj = w
        .chimney
        .target(a)
        .objs
        .get(&ctx)
        .map(|o| (o.layer, o.conn, o.terminating));
    let valid = matches!(obj, Some((Layer::Tcp, _, _)));
    if !w.v.check("chimney_target.context_valid", valid, || {
        format!("{kind:?} posted with MiniportOffloadContext {ctx:#x}: not a live TCP offload of this target")
    }) {
        return;
    }
    let (conn, terminating) = obj.map_or((None, false), |o| (o.1, o.2));
    w.v.check("chimney_io.no_post_after_terminate", !terminating, || {
        format!("{kind:?} forwarded on a connection whose terminate is in progress")
    });
    for &p in v {
        let known = w
            .chimney
            .nbls
            .get(&p)
            .map(|c| (c.conn, c.kind, c.flags, c.seq, c.at_initiate));
        let loc = w.nbls.recs.get(&p).map(|r| r.loc);
        if !w.v.check("chimney_target.nbl_is_hosts", known.is_some() && loc == Some(Loc::Driver), || {
            format!("{kind:?}: NBL {p:#x} reaching the target is not a host chimney NBL the driver owns ({loc:?})")
        }) {
            continue;
        }
        let Some((c, k, f, seq, init)) = known else {
            continue;
        };
        w.v.check(
            "chimney_target.nbl_on_its_connection",
            Some(c) == conn,
            || format!("NBL of {c:?} posted on the target object of {conn:?}"),
        );
        w.v.check("chimney_io.kind_passed", k == kind || init, || {
            format!("a {k:?} NBL arrived as {kind:?}")
        });
        if kind == IoKind::Disconnect {
            w.v.check("chimney_io.disconnect_flags_passed", f == flags, || {
                format!("disconnect Flags {flags:#x} below, the host passed {f:#x}")
            });
        }
        let arrival = w
            .chimney
            .nbls
            .get(&p)
            .map(|c| cnbl::check_arrival(w, p, &c.snap));
        w.v.check(
            "chimney_io.nbl_passed_unchanged",
            matches!(arrival, Some(Ok(()))),
            || {
                format!(
                    "{kind:?} NBL reached the target altered: {}",
                    arrival.clone().and_then(Result::err).unwrap_or_default()
                )
            },
        );
        let class = k.class();
        let hc = &mut w.chimney.conns[c.0];
        let last = hc.arrived[class].back().copied();
        let last_seq = last
            .and_then(|l| w.chimney.nbls.get(&l))
            .map_or(0, |n| n.seq);
        w.v.check("chimney_io.forwarded_in_post_order", last_seq < seq, || {
            format!("{kind:?} NBL #{seq} of {c:?} reached the target after #{last_seq} (reordered on the way down)")
        });
        w.chimney.conns[c.0].arrived[class].push_back(p);
        if let Some(n) = w.chimney.nbls.get_mut(&p) {
            n.reached = true;
        }
        if let Some(r) = w.nbls.recs.get_mut(&p) {
            r.loc = Loc::Below;
        }
        let t = w.chimney.target(a);
        if let Some(o) = t.objs.get_mut(&ctx) {
            o.q[class].push_back((p, k));
        }
        t.in_flight += 1;
        let n = t.in_flight as u64;
        let cn = &mut w.chimney.counters;
        cn.peak_at_target = cn.peak_at_target.max(n);
    }
}

/// MiniportTcpOffload{Send,Receive,Disconnect,Forward} of the target.
pub fn on_post(a: usize, ctx: usize, kind: IoKind, chain: usize, flags: u32) {
    let (policy, busy) = world::with(|w| {
        let (v, _) = nbl::walk(chain, 100_000);
        accept(w, a, ctx, kind, &v, flags);
        let busy = w.chimney.target(a).busy;
        (w.adapters[a].cfg.policy.chimney.io_completion, busy)
    });
    match (policy, busy) {
        (Completion::Inline, false) => {
            complete(a, Some(ctx), None);
        }
        (Completion::Held, _) => {}
        _ => crate::sched::enqueue(DISPATCH_LEVEL, "target completes I/O", move || {
            complete(a, Some(ctx), None);
        }),
    }
}

/// Writes what the target does to a finished NBL: status, TcpOffloadBytesTransferred, the NB
/// advance, receive data from the stream. `ov` forces a status (UPLOAD_IN_PROGRESS at terminate).
pub fn finish(
    w: &mut World,
    a: usize,
    ctx: usize,
    p: usize,
    kind: IoKind,
    ov: Option<NdisStatus>,
) -> Done {
    let policy = w.adapters[a].cfg.policy.chimney;
    let view = cnbl::nb_view(w, p);
    let len = view.map_or(0, |v| v.len);
    let (key, off) = w
        .chimney
        .target(a)
        .objs
        .get(&ctx)
        .map_or((usize::MAX, 0), |o| {
            (o.conn.map_or(usize::MAX, |c| c.0), o.rx_off)
        });
    let mut d = TargetDone {
        status: ov.unwrap_or(NDIS_STATUS_SUCCESS),
        bytes: Some(0),
        nb: view,
        fill_at: 0,
        stream_off: off,
    };
    match kind {
        IoKind::Receive if ov.is_none() => {
            let fail =
                policy.fail_receive_one_in > 0 && w.rng.chance(1, policy.fail_receive_one_in);
            if fail {
                d.status = [NDIS_STATUS_REQUEST_ABORTED, NDIS_STATUS_INVALID_STATE][w.rng.below(2)];
            } else {
                let n = if policy.fill_completely || len == 0 {
                    len
                } else {
                    1 + w.rng.below(len)
                };
                let (at, nb) = cnbl::target_fill(w, p, key, off, n);
                d.bytes = Some(n);
                d.nb = nb;
                d.fill_at = at;
                if let Some(o) = w.chimney.target(a).objs.get_mut(&ctx) {
                    o.rx_off += n as u64;
                }
            }
        }
        IoKind::Send | IoKind::Disconnect if ov.is_none() => {
            cnbl::advance(w, p, len);
            d.bytes = Some(len);
            d.nb = cnbl::nb_view(w, p);
        }
        IoKind::Forward => d.bytes = None,
        _ => {}
    }
    nbl::set_status(p, d.status);
    if let Some(b) = d.bytes {
        cnbl::set_slot(p, info::TCP_OFFLOAD_BYTES_TRANSFERRED, b);
    }
    if let Some(n) = w.chimney.nbls.get_mut(&p) {
        n.done_by_target = Some(d);
    }
    Done { p, kind, ctx }
}

/// Completes finished NBLs: merges connections at random (keeping each connection's order),
/// splits into chains, one NdisTcpOffload*Complete per chain, at the calling thread's IRQL.
pub fn deliver(a: usize, done: Vec<Done>) {
    if done.is_empty() {
        return;
    }
    let (calls, prev_busy, miniport) = world::with(|w| {
        // One FIFO per (context, class), in order of first appearance; a random live one gives
        // its next NBL (indexed, so linear however many connections complete at once).
        let (mut seqs, mut at) = (Vec::<Vec<Done>>::new(), HashMap::new());
        for d in done {
            let i = *at.entry((d.ctx, d.kind.class())).or_insert(seqs.len());
            if i == seqs.len() {
                seqs.push(Vec::new());
            }
            seqs[i].push(d);
        }
        for s in &mut seqs {
            s.reverse();
        }
        let mut live = LiveSlots::new(seqs.len());
        let mut calls: Vec<(IoKind, Vec<usize>)> = Vec::new();
        while !live.is_empty() {
            let i = live
                .nth(w.rng.below(live.len()))
                .expect("a pick below len()");
            let d = seqs[i].pop().expect("live FIFOs are not empty");
            if seqs[i].is_empty() {
                live.remove(i);
            }
            match calls.last_mut() {
                Some((k, v)) if *k == d.kind && !w.rng.chance(1, 3) => v.push(d.p),
                _ => calls.push((d.kind, vec![d.p])),
            }
        }
        let t = w.chimney.target(a);
        let n: usize = calls.iter().map(|c| c.1.len()).sum();
        t.in_flight = t.in_flight.saturating_sub(n);
        let prev = std::mem::replace(&mut t.busy, true);
        let calls: Vec<(IoKind, usize)> =
            calls.into_iter().map(|(k, v)| (k, nbl::link(&v))).collect();
        (calls, prev, w.adapters[a].lower_handle)
    });
    for (kind, head) in calls {
        super::core::io_complete(kind, miniport, head, false);
    }
    world::with(|w| w.chimney.target(a).busy = prev_busy);
}

/// Completes queued I/O of adapter `a` (of one context, or all), up to `max` NBLs.
pub fn complete(a: usize, ctx: Option<usize>, max: Option<usize>) -> usize {
    let done = world::with(|w| {
        let mut take = Vec::new();
        let limit = max.unwrap_or(usize::MAX);
        let only = ctx.map_or((Unbounded, Unbounded), |x| (Included(x), Included(x)));
        for (&c, o) in w.chimney.target(a).objs.range_mut(only) {
            for q in &mut o.q {
                while take.len() < limit {
                    let Some((p, k)) = q.pop_front() else { break };
                    take.push((c, p, k));
                }
            }
        }
        take.into_iter()
            .map(|(c, p, k)| finish(w, a, c, p, k, None))
            .collect::<Vec<_>>()
    });
    let n = done.len();
    deliver(a, done);
    n
}

/// Target context of host connection `c` (a live, not terminating TCP offload).
pub fn ctx_of(w: &mut World, c: ConnId) -> Option<(usize, usize)> {
    let a = w.chimney.conns.get(c.0)?.adapter;
    let t = w.chimney.target(a);
    // The first (lowest) such context. A hint from an earlier search stays the first while it
    // still matches: contexts only grow, and no object gains a connection or stops terminating.
    let hint = t.ctx_hint.get(&c).copied();
    let live = |o: &TObj| o.conn == Some(c) && !o.terminating;
    if let Some(ctx) = hint.filter(|x| t.objs.get(x).is_some_and(live)) {
        return Some((a, ctx));
    }
    let ctx = t.objs.iter().find(|(_, o)| live(o)).map(|(k, _)| *k)?;
    t.ctx_hint.insert(c, ctx);
    Some((a, ctx))
}

/// The target's handle for `ctx`, if it is still inside the driver's live pool memory.
fn live_handle(w: &mut World, a: usize, ctx: usize) -> Option<usize> {
    let h = w.chimney.target(a).objs.get(&ctx)?.handle;
    let live = in_live_pool(w, h, size_of::<NdisOffloadHandle>());
    w.v.check("chimney.no_call_on_freed_handle", live, || {
        format!("the target's offload handle {h:#x} for a live offload is no longer inside live pool memory of the driver")
    });
    live.then_some(h)
}

/// The target indicates `len` bytes of `c`'s receive stream. Returns the driver's answer.
pub fn indicate(c: ConnId, len: usize) -> Option<NdisStatus> {
    let prep = world::with(|w| {
        let (a, ctx) = ctx_of(w, c)?;
        let h = live_handle(w, a, ctx)?;
        let slots = w.cfg.nbl_info_slots.max(18);
        let src = w.adapters[a].lower_handle;
        let p = w
            .nbls
            .create(Owner::Target(a), Loc::Driver, src, slots, len);
        let off = w.chimney.target(a).objs.get(&ctx).map_or(0, |o| o.rx_off);
        if let Some(r) = w.nbls.recs.get(&p) {
            let (nb, _, data, _) = r.mem.parts();
            // SAFETY: the fresh model NBL's NB and data buffer (>= max(len, 1) bytes).
            unsafe {
                (*nb).header.data.data_length = len;
                for i in 0..len {
                    *data.add(i) = cnbl::stream_byte(c.0, off + i as u64);
                }
            }
        }
        w.chimney.target(a).busy = true;
        Some((a, ctx, h, p))
    });
    let (a, ctx, h, p) = prep?;
    let mut bytes: u32 = 0;
    let bp: *mut u32 = &raw mut bytes;
    world::with(|w| {
        w.chimney.in_flight = super::InFlight {
            nbl: p,
            status: NDIS_STATUS_SUCCESS,
            bytes_ptr: bp as usize,
            ..Default::default()
        };
    });
    let prev = irql::current();
    irql::set(DISPATCH_LEVEL);
    let r = super::core::indicate_receive(h, p, NDIS_STATUS_SUCCESS, bp, false);
    irql::set(prev);
    world::with(|w| {
        w.chimney.target(a).busy = false;
        let hr = w.chimney.in_flight.host_result;
        let valid = [
            NDIS_STATUS_SUCCESS,
            NDIS_STATUS_OFFLOAD_DATA_NOT_ACCEPTED,
            NDIS_STATUS_OFFLOAD_DATA_PARTIALLY_ACCEPTED,
        ]
        .contains(&r);
        w.v.check("chimney_indicate.result_valid", valid, || {
            format!("ProtocolTcpOffloadReceiveIndicate returned {r:#x}")
        });
        let same = hr.is_some_and(|(s, n)| {
            s == r && (r != NDIS_STATUS_OFFLOAD_DATA_PARTIALLY_ACCEPTED || n == bytes)
        });
        w.v.check("chimney_indicate.host_result_returned", same, || {
            format!("the driver returned ({r:#x}, {bytes} bytes) for an indication the host answered {hr:x?}")
        });
        let consumed = match r {
            NDIS_STATUS_SUCCESS => len,
            NDIS_STATUS_OFFLOAD_DATA_PARTIALLY_ACCEPTED => bytes as usize,
            _ => 0,
        };
        let kept = w.nbls.recs.get(&p).is_some_and(|x| x.loc == Loc::AtHost);
        if let Some(o) = w.chimney.target(a).objs.get_mut(&ctx) {
            o.rx_off += consumed as u64;
        }
        if r == NDIS_STATUS_SUCCESS && kept {
            w.chimney.target(a).kept.push(p);
        } else {
            w.v.check("chimney_indicate.ownership_back", !kept, || {
                "an indication the driver reported not accepted is still kept by the host".into()
            });
            if !kept {
                w.nbls.destroy(p);
            }
        }
    });
    Some(r)
}

/// NdisOffloadTcpReceiveReturn reached the target.
pub fn on_receive_return(a: usize, chain: usize) {
    world::with(|w| {
        let (v, _) = nbl::walk(chain, 100_000);
        for p in v {
            let t = w.chimney.target(a);
            let pos = t.kept.iter().position(|x| *x == p);
            if let Some(i) = pos {
                t.kept.remove(i);
            }
            if w.v.check("chimney_indicate.returned_once", pos.is_some(), || {
                format!("NBL {p:#x} returned to the target of adapter {a}: not an indication it has outstanding (double return, or another adapter's)")
            }) {
                w.nbls.destroy(p);
            }
        }
    });
    crate::sched::kick();
}

/// The target indicates a TCP event on connection `c`. False if it cannot.
pub fn event(c: ConnId, ev: u32, info: u32) -> bool {
    let prep = world::with(|w| {
        let (a, ctx) = ctx_of(w, c)?;
        let h = live_handle(w, a, ctx)?;
        w.chimney.in_flight.event = (ev, info);
        w.chimney.in_flight.event_seen = false;
        w.chimney.target(a).busy = true;
        Some((a, h))
    });
    let Some((a, h)) = prep else { return false };
    let prev = irql::current();
    irql::set(DISPATCH_LEVEL);
    super::core::indicate_event(h, ev, info, false);
    irql::set(prev);
    world::with(|w| {
        w.chimney.target(a).busy = false;
        let seen = w.chimney.in_flight.event_seen;
        w.v.check("chimney_event.delivered", seen, || {
            format!("TCP event ({ev}, {info}) on {c:?} never reached the host")
        });
    });
    true
}

/// The target indicates a generic offload event (NdisMOffloadEventIndicate) with a neighbor
/// block naming `c`'s neighbor, or with no block list.
pub fn offload_event(a: usize, code: u32, c: Option<ConnId>) -> bool {
    let prep = world::with(|w| {
        let mut list = None;
        if let Some(c) = c {
            let n = w.chimney.conns.get(c.0)?.neigh;
            let ctx = w
                .chimney
                .target(a)
                .objs
                .iter()
                .find(|(_, o)| o.hobj == Some(n) && o.layer == Layer::Neighbor)
                .map(|(k, _)| *k)?;
            let h = live_handle(w, a, ctx)?;
            let m = Raw::zeroed(blocks::BLOCK + 32);
            let b = m.addr as *mut blocks::Mobl;
            // SAFETY: a fresh zeroed block the target owns.
            unsafe {
                (*b).header = NdisObjectHeader::new(offload_state_type::NEIGHBOR, 1, blocks::BLOCK);
                (*b).ndis_offload_handle = h as NdisHandle;
            }
            list = Some((m, h));
        }
        w.chimney.in_flight.event = (code, 0);
        w.chimney.in_flight.event_seen = false;
        Some((list, w.adapters[a].lower_handle))
    });
    let Some((list, miniport)) = prep else {
        return false;
    };
    let addr = list.as_ref().map_or(0, |(m, _)| m.addr);
    let prev = irql::current();
    irql::set(DISPATCH_LEVEL);
    super::core::offload_event(miniport, addr, code);
    irql::set(prev);
    world::with(|w| {
        // The driver passes it up only while its virtual miniport is initialized.
        let up = w.adapters[a].dev.phase == crate::world::DevPhase::Up;
        let seen = w.chimney.in_flight.event_seen;
        w.v.check("chimney_event.delivered", seen || !up, || {
            format!("generic offload event {code} of adapter {a} never reached the host")
        });
        if let Some((m, h)) = list {
            let now = blocks::offload_handle(m.addr);
            w.v.check("chimney_event.generic_list_restored", now == h, || {
                format!("after ProtocolIndicateOffloadEvent the target's block names {now:#x}, it gave {h:#x}")
            });
            w.graveyard.keep.push(Box::new(m));
        }
    });
    true
}

/// Schedules completion of every held state call and queued I/O (time passes). True if any.
pub fn release_held() -> bool {
    let work: Vec<(usize, bool, bool)> = world::try_with(|w| {
        w.chimney
            .targets
            .iter()
            .map(|(&a, t)| {
                let io = t.objs.values().any(|o| o.q.iter().any(|q| !q.is_empty()));
                (a, !t.held_state.is_empty(), io)
            })
            .filter(|x| x.1 || x.2)
            .collect()
    })
    .unwrap_or_default();
    for &(a, state, io) in &work {
        if io {
            crate::sched::enqueue(DISPATCH_LEVEL, "held target I/O", move || {
                complete(a, None, None);
            });
        }
        if state {
            crate::sched::enqueue(DISPATCH_LEVEL, "held target state", move || {
                super::target::release_state(Some(a));
            });
        }
    }
    !work.is_empty()
}
