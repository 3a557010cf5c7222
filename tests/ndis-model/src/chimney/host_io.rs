//! The host stack, I/O side: posts receives, sends, disconnects and forwards on its offload
//! handles; its completion handlers check every NBL that comes back (exactly once, same pointer,
//! per-connection FIFO, statuses, data in stream order, nothing else changed) and may re-post;
//! its indication handlers consume receive data and TCP events; kept indications are returned.

use chimney_im::ndis::*;

use crate::config::{Accept, Completion};
use crate::irql;
use crate::nbl::{self, Loc};
use crate::world::{self, DevPhase, World};

use super::cnbl::{self, Expect, RecvSpec};
use super::{CNbl, ConnId, ConnState, IoKind};

/// One NBL to post: buffer length and receive inputs.
type Item = (usize, Option<RecvSpec>);

/// Posts one chain of `items` on connection `c`. Returns how many NBLs were posted.
pub fn post(c: ConnId, kind: IoKind, items: &[Item], flags: u32) -> usize {
    post_as(c, kind, items, flags, false)
}

/// As [`post`]; a `rogue` host also posts on a connection whose terminate is in flight.
pub fn post_as(c: ConnId, kind: IoKind, items: &[Item], flags: u32, rogue: bool) -> usize {
    if items.is_empty() {
        return 0;
    }
    let prep = world::with(|w| {
        let hc = w.chimney.conns.get(c.0)?;
        let a = hc.adapter;
        let state_ok =
            hc.state == ConnState::Offloaded || (rogue && hc.state == ConnState::Terminating);
        if !state_ok || w.adapters[a].dev.phase != DevPhase::Up {
            return None;
        }
        let open = w.adapters[a].dev.host_handle;
        let handle = w.chimney.objs[hc.tcp].handle.addr;
        let class = kind.class();
        let mut v = Vec::new();
        for (i, &(len, recv)) in items.iter().enumerate() {
            let p = cnbl::create(w, a, open, len, recv);
            let snap = cnbl::snapshot(w, p);
            let hc = &mut w.chimney.conns[c.0];
            hc.post_seq[class] += 1;
            hc.out[class].push_back(p);
            let seq = hc.post_seq[class];
            w.chimney.nbls.insert(
                p,
                CNbl {
                    conn: c,
                    kind,
                    seq,
                    first: i == 0,
                    flags,
                    snap,
                    reached: false,
                    done_by_target: None,
                    at_initiate: false,
                },
            );
            v.push(p);
        }
        let n = v.len() as u64;
        let posted = w.chimney.conns[c.0].out[0].len() as u64;
        let cn = &mut w.chimney.counters;
        match kind {
            IoKind::Receive => {
                cn.receives_posted += n;
                cn.peak_receives_per_conn = cn.peak_receives_per_conn.max(posted);
            }
            IoKind::Send => cn.sends += n,
            IoKind::Disconnect => cn.disconnects += n,
            IoKind::Forward => cn.forwards += n,
        }
        Some((handle, nbl::link(&v), v.len(), w.pick_irql()))
    });
    let Some((handle, head, n, level)) = prep else {
        return 0;
    };
    let prev = irql::current();
    irql::set(level.max(prev));
    super::core::io_post(kind, handle, head, flags, false);
    irql::set(prev);
    n
}

/// Posts `chains` receive chains of the given specs.
pub fn post_receives(c: ConnId, chains: &[Vec<RecvSpec>]) -> usize {
    chains
        .iter()
        .map(|ch| {
            let items: Vec<Item> = ch.iter().map(|s| (s.len, Some(*s))).collect();
            post(c, IoKind::Receive, &items, 0)
        })
        .sum()
}

fn remove(q: &mut std::collections::VecDeque<usize>, p: usize) -> bool {
    match q.iter().position(|x| *x == p) {
        Some(i) => {
            q.remove(i);
            true
        }
        None => false,
    }
}

/// The host's ProtocolTcpOffload{Send,Receive,Disconnect,Forward}Complete for virtual miniport
/// `a` (NDIS routed the run here by SourceHandle).
pub fn on_complete(kind: IoKind, a: usize, run: Vec<usize>) {
    let reposts = world::with(|w| {
        let open = w.adapters[a].dev.host_handle;
        let mut reposts = Vec::new();
        for p in run {
            let Some(c) = w.chimney.nbls.remove(&p) else {
                w.v.fail("chimney_host.completion_is_own_nbl", || {
                    format!("{kind:?} completion of NBL {p:#x}: not a chimney NBL the host has outstanding (double or foreign completion)")
                });
                continue;
            };
            if let Some(r) = w.nbls.recs.get_mut(&p) {
                r.loc = Loc::AtHost;
            }
            w.v.check(
                "chimney_host.completion_kind",
                c.kind == kind || (c.at_initiate && kind == IoKind::Send),
                || {
                    format!(
                        "a {:?} NBL completed through the {kind:?} completion",
                        c.kind
                    )
                },
            );
            let hc = &mut w.chimney.conns[c.conn.0];
            let class = c.kind.class();
            let right_open = hc.adapter == a;
            let was_out = remove(&mut hc.out[class], p);
            let st = nbl::status(p);
            let mut stream = None;
            let fifo = if c.reached {
                let front = hc.arrived[class].front().copied();
                remove(&mut hc.arrived[class], p);
                if c.kind == IoKind::Receive {
                    stream = Some((c.conn.0, hc.rx_off));
                }
                Some(front == Some(p))
            } else {
                hc.upload_requested = true;
                None
            };
            let rx_before = hc.rx_off;
            w.v.check("chimney_host.completion_on_right_open", right_open && was_out, || {
                format!("NBL of connection {:?} completed to the host of adapter {a} (outstanding: {was_out})", c.conn)
            });
            match (fifo, c.done_by_target) {
                (Some(in_order), done) => {
                    w.v.check("chimney_host.fifo_per_connection", in_order, || {
                        format!("{kind:?} NBL #{} of connection {:?} completed before an earlier one that is still with the target", c.seq, c.conn)
                    });
                    let want = done.map(|d| d.status);
                    w.v.check("chimney_host.status_propagated", want == Some(st), || {
                        format!("{kind:?} NBL completed to the host with {st:#x}; the target completed it with {want:x?}")
                    });
                }
                (None, _) => {
                    let want = if c.first {
                        NDIS_STATUS_REQUEST_UPLOAD
                    } else {
                        NDIS_STATUS_UPLOAD_REQUESTED
                    };
                    w.v.check("chimney_host.refused_io_status", st == want, || {
                        format!("{kind:?} NBL the driver did not forward (first of its chain: {}) completed with {st:#x}, expected {want:#x}", c.first)
                    });
                    w.chimney.counters.refused += 1;
                }
            }
            let e = Expect {
                snap: &c.snap,
                open,
                done: c.done_by_target,
                stream,
            };
            let home = cnbl::check_home(w, p, &e);
            w.v.check("chimney_host.nbl_as_posted", home.is_ok(), || {
                format!(
                    "{kind:?} NBL #{} of {:?} came back altered: {}",
                    c.seq,
                    c.conn,
                    home.clone().err().unwrap_or_default()
                )
            });
            let bytes = c.done_by_target.and_then(|d| d.bytes).unwrap_or(0);
            let hc = &mut w.chimney.conns[c.conn.0];
            if stream.is_some() {
                hc.rx_off = rx_before + bytes as u64;
            }
            let cn = &mut w.chimney.counters;
            cn.io_completed += 1;
            if c.kind == IoKind::Receive {
                #[allow(clippy::cast_sign_loss, reason = "status codes as unsigned hex")]
                let key = st as u32;
                *cn.receive_status.entry(key).or_default() += 1;
                if st == NDIS_STATUS_SUCCESS && hc.reposts > 0 && hc.state == ConnState::Offloaded {
                    hc.reposts -= 1;
                    cn.reposts += 1;
                    reposts.push(c.conn);
                }
            }
            w.nbls.destroy(p);
        }
        let len = w.adapters[a].cfg.policy.data_len;
        reposts.into_iter().map(|c| (c, len)).collect::<Vec<_>>()
    });
    crate::sched::kick();
    // Re-entrancy: post again from inside the completion (the target is still in its call).
    for (c, len) in reposts {
        post(c, IoKind::Receive, &[(len, Some(RecvSpec::new(len)))], 0);
    }
}

/// An NBL handed back in a block's NetBufferListChain (failed initiate, terminate).
pub fn reclaim(w: &mut World, p: usize, _conn: Option<ConnId>) {
    let Some(c) = w.chimney.nbls.remove(&p) else {
        w.v.fail("chimney_host.completion_is_own_nbl", || {
            format!("NBL {p:#x} handed back in a chain is not one the host has outstanding")
        });
        return;
    };
    let a = w.chimney.conns[c.conn.0].adapter;
    let open = w.adapters[a].dev.host_handle;
    let hc = &mut w.chimney.conns[c.conn.0];
    remove(&mut hc.out[c.kind.class()], p);
    remove(&mut hc.arrived[c.kind.class()], p);
    let e = Expect {
        snap: &c.snap,
        open,
        done: None,
        stream: None,
    };
    let home = cnbl::check_home(w, p, &e);
    w.v.check("chimney_host.returned_data_restored", home.is_ok(), || {
        format!(
            "send NBL handed back in NetBufferListChain came back altered: {}",
            home.clone().err().unwrap_or_default()
        )
    });
    w.nbls.destroy(p);
}

/// Connection whose TCP handle is `handle` on adapter `a`.
fn conn_by_handle(w: &World, a: usize, handle: usize) -> Option<ConnId> {
    w.chimney
        .objs
        .iter()
        .find(|o| o.adapter == a && o.handle.addr == handle)
        .and_then(|o| o.conn)
}

/// The host's ProtocolTcpOffloadReceiveIndicate.
pub fn on_indicate(
    a: usize,
    handle: usize,
    p: usize,
    status: NdisStatus,
    bytes: *mut u32,
) -> NdisStatus {
    let (result, schedule) = world::with(|w| {
        w.chimney.counters.indications += 1;
        let Some(c) = conn_by_handle(w, a, handle) else {
            w.v.fail("chimney_indicate.routed_to_connection", || {
                format!("receive indication on handle {handle:#x}: not a host connection handle of adapter {a}")
            });
            return (NDIS_STATUS_OFFLOAD_DATA_NOT_ACCEPTED, None);
        };
        let inf = w.chimney.in_flight;
        let same = inf.nbl == p && inf.status == status && inf.bytes_ptr == bytes as usize;
        w.v.check("chimney_indicate.passed_unchanged", same, || {
            format!("indication reached the host as ({p:#x}, {status:#x}, {bytes:p}); the target indicated ({:#x}, {:#x}, {:#x})", inf.nbl, inf.status, inf.bytes_ptr)
        });
        let len = cnbl::nb_view(w, p).map_or(0, |v| v.len);
        let off = w.chimney.conns[c.0].rx_off;
        let (_, mdl, _, _) = w.nbls.recs.get(&p).map_or(
            (
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                0,
            ),
            |r| r.mem.parts(),
        );
        let start = cnbl::nb_view(w, p).map_or(0, |v| v.mdl_offset as usize);
        let data_ok = !mdl.is_null()
            && (0..len).all(|i| {
                // SAFETY: the target's model NBL: its MDL maps at least start + len bytes.
                let b = unsafe { *(*mdl).mapped_system_va.cast::<u8>().add(start + i) };
                b == cnbl::stream_byte(c.0, off + i as u64)
            });
        w.v.check("chimney_indicate.data_in_stream_order", data_ok, || {
            format!("indicated data of {c:?} is not the stream at offset {off} ({len} bytes)")
        });
        let policy = w.adapters[a].cfg.policy.chimney;
        let accept = match policy.host_accept {
            Accept::Random => [Accept::All, Accept::None, Accept::Partial][w.rng.below(3)],
            x => x,
        };
        let (result, consumed) = match accept {
            Accept::All => (NDIS_STATUS_SUCCESS, len),
            Accept::Partial if len >= 2 => {
                let k = 1 + w.rng.below(len - 1);
                (NDIS_STATUS_OFFLOAD_DATA_PARTIALLY_ACCEPTED, k)
            }
            _ => (NDIS_STATUS_OFFLOAD_DATA_NOT_ACCEPTED, 0),
        };
        let consumed32 = u32::try_from(consumed).unwrap_or(u32::MAX);
        if !bytes.is_null() {
            // SAFETY: the target's BytesConsumed out parameter, valid for the call.
            unsafe { *bytes = consumed32 };
        }
        w.chimney.conns[c.0].rx_off = off + consumed as u64;
        w.chimney.in_flight.host_result = Some((result, consumed32));
        let mut schedule = None;
        if result == NDIS_STATUS_SUCCESS {
            if let Some(r) = w.nbls.recs.get_mut(&p) {
                r.loc = Loc::AtHost;
            }
            w.chimney.conns[c.0].kept.push(p);
            w.chimney.counters.indications_kept += 1;
            if policy.host_return != Completion::Held {
                schedule = Some(c);
            }
        }
        (result, schedule)
    });
    if let Some(c) = schedule {
        crate::sched::enqueue(DISPATCH_LEVEL, "host returns indication", move || {
            return_kept(c, None);
        });
    }
    result
}

/// Returns up to `max` indicated NBLs the host kept on connection `c`.
pub fn return_kept(c: ConnId, max: Option<usize>) -> usize {
    let prep = world::with(|w| {
        let hc = w.chimney.conns.get_mut(c.0)?;
        let n = max.unwrap_or(hc.kept.len()).min(hc.kept.len());
        if n == 0 {
            return None;
        }
        let v: Vec<usize> = hc.kept.drain(..n).collect();
        let a = hc.adapter;
        for p in &v {
            if let Some(r) = w.nbls.recs.get_mut(p) {
                r.loc = Loc::Driver;
            }
        }
        w.chimney.counters.indications_returned += v.len() as u64;
        Some((w.adapters[a].dev.host_handle, nbl::link(&v), v.len()))
    });
    let Some((open, head, n)) = prep else {
        return 0;
    };
    super::core::receive_return(open, head, false);
    n
}

/// Returns every indication the host keeps on virtual miniport `a` (before its binding closes).
pub fn return_all(a: usize) -> usize {
    let conns: Vec<ConnId> = world::with(|w| {
        (0..w.chimney.conns.len())
            .filter(|&i| w.chimney.conns[i].adapter == a && !w.chimney.conns[i].kept.is_empty())
            .map(ConnId)
            .collect()
    });
    conns.into_iter().map(|c| return_kept(c, None)).sum()
}

/// The host's ProtocolTcpOffloadEvent.
pub fn on_event(a: usize, handle: usize, event: u32, info: u32) {
    world::with(|w| {
        w.chimney.counters.events += 1;
        let c = conn_by_handle(w, a, handle);
        w.v.check("chimney_event.routed_to_connection", c.is_some(), || {
            format!("TCP event on handle {handle:#x}: not a host connection handle of adapter {a}")
        });
        let want = w.chimney.in_flight.event;
        w.v.check(
            "chimney_event.passed_unchanged",
            (event, info) == want,
            || {
                format!(
                    "TCP event ({event}, {info}) reached the host; the target indicated {want:?}"
                )
            },
        );
        w.chimney.in_flight.event_seen = true;
        if let Some(c) = c {
            w.chimney.conns[c.0].events.push((event, info));
        }
    });
}

/// Schedules returns of every kept indication (time passes). True if any.
pub fn release_held() -> bool {
    let conns: Vec<ConnId> = world::try_with(|w| {
        (0..w.chimney.conns.len())
            .filter(|&i| !w.chimney.conns[i].kept.is_empty())
            .map(ConnId)
            .collect()
    })
    .unwrap_or_default();
    for &c in &conns {
        crate::sched::enqueue(DISPATCH_LEVEL, "held host return", move || {
            return_kept(c, None);
        });
    }
    !conns.is_empty()
}
