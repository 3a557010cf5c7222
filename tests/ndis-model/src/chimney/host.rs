//! The host stack (tcpip) above each virtual miniport, state side: offloads connections as
//! neighbor -> path -> TCP trees (new, linker or placeholder blocks), terminates, updates,
//! invalidates and queries them, uploads everything before a pause or halt, and checks every
//! block list that comes back.

use chimney_im::ndis::*;

use crate::irql;
use crate::nbl;
use crate::world::{self, DevPhase, RunState, World};

use super::blocks;
use super::cnbl;
use super::{CNbl, ConnId, ConnState, HBlock, HCall, HConn, HObj, IoKind, Layer, Op, Open, Raw};

/// How the host offloads a new connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OffloadSpec {
    /// Reuse the neighbor and path of this (offloaded) connection.
    pub share: Option<ConnId>,
    /// Shared neighbor/path go down as linker blocks (else as placeholders).
    pub linker: bool,
    /// Send NBLs handed over in the TCP block's NetBufferListChain.
    pub send_data: usize,
    /// Initiate even if the virtual miniport is not running (the driver must refuse it).
    pub force: bool,
    /// Share the neighbor and path even while another call on them is in flight (a misbehaving
    /// host: tcpip serialises calls per object).
    pub rogue: bool,
}

pub(super) fn new_obj(w: &mut World, layer: Layer, a: usize, parent: Option<usize>) -> usize {
    w.chimney.objs.push(HObj {
        layer,
        adapter: a,
        handle: Raw::zeroed(size_of::<NdisOffloadHandle>()),
        offloaded: false,
        busy: false,
        users: 0,
        parent,
        conn: None,
    });
    w.chimney.objs.len() - 1
}

fn handle_of(w: &World, o: usize) -> usize {
    w.chimney.objs[o].handle.addr
}

/// A new connection of the host on virtual miniport `a` over neighbor `neigh` and path `path`:
/// its record and its new TCP object (the caller builds and issues the initiate).
pub(super) fn new_conn(w: &mut World, a: usize, neigh: usize, path: usize) -> (ConnId, usize) {
    let tcp = new_obj(w, Layer::Tcp, a, Some(path));
    let id = ConnId(w.chimney.conns.len());
    w.chimney.objs[tcp].conn = Some(id);
    w.chimney.objs[neigh].users += 1;
    w.chimney.objs[path].users += 1;
    w.chimney.conns.push(HConn {
        adapter: a,
        state: ConnState::Offloading,
        tcp,
        path,
        neigh,
        rx_off: 0,
        reposts: w.adapters[a].cfg.policy.chimney.host_reposts,
        out: Default::default(),
        arrived: Default::default(),
        post_seq: [0; 3],
        kept: Vec::new(),
        events: Vec::new(),
        upload_requested: false,
    });
    (id, tcp)
}

/// `n` send NBLs connection `id` hands over with its initiate (recorded as posted sends).
pub(super) fn send_data(w: &mut World, a: usize, id: ConnId, n: usize) -> Vec<usize> {
    let open = w.adapters[a].dev.host_handle;
    let len = w.adapters[a].cfg.policy.data_len;
    let mut chain = Vec::new();
    for i in 0..n {
        let p = cnbl::create(w, a, open, len, None);
        let snap = cnbl::snapshot(w, p);
        let c = &mut w.chimney.conns[id.0];
        c.post_seq[1] += 1;
        c.out[1].push_back(p);
        let seq = c.post_seq[1];
        w.chimney.nbls.insert(
            p,
            CNbl {
                conn: id,
                kind: IoKind::Send,
                seq,
                first: i == 0,
                flags: 0,
                snap,
                reached: false,
                done_by_target: None,
                at_initiate: true,
            },
        );
        chain.push(p);
    }
    chain
}

/// Builds the blocks of a call (a chain of layers, each the dependent of the previous one):
/// `(layer object, name it)`; placeholders for `false`.
pub(super) fn build(w: &mut World, parts: &[(usize, bool, bool)]) -> Vec<HBlock> {
    let mut out: Vec<HBlock> = Vec::new();
    for &(o, named, new) in parts {
        let layer = w.chimney.objs[o].layer;
        let h = if named { handle_of(w, o) } else { 0 };
        let state_len = 8 * (1 + w.rng.below(6));
        let seed = w.rng.next_u64();
        let mem = blocks::new_block(layer, h, state_len, seed);
        if let Some(prev) = out.last() {
            blocks::set_dependent(prev.mem.addr, mem.addr);
        }
        w.chimney.block_owner.insert(mem.addr, o);
        out.push(HBlock {
            mem,
            obj: named.then_some(o),
            new,
            snap: Vec::new(),
        });
    }
    out
}

/// Starts a call: snapshots the blocks, records it, calls NdisXxxOffload at a random IRQL.
fn issue(op: Op, a: usize, conn: Option<ConnId>, blocks_v: Vec<HBlock>, chain: Vec<usize>) {
    issue_as(op, a, conn, blocks_v, chain, false, Vec::new());
}

pub(super) fn issue_as(
    op: Op,
    a: usize,
    conn: Option<ConnId>,
    mut blocks_v: Vec<HBlock>,
    chain: Vec<usize>,
    rogue: bool,
    also: Vec<(ConnId, Vec<usize>)>,
) {
    let (root, level) = world::with(|w| {
        for b in &mut blocks_v {
            b.snap = blocks::snapshot(&b.mem);
            if let Some(o) = b.obj {
                w.chimney.objs[o].busy = true;
            }
        }
        if op != Op::Initiate && op != Op::Terminate {
            w.chimney.counters.state_calls += 1;
        }
        let root = blocks_v[0].mem.addr;
        w.chimney.calls.insert(
            root,
            HCall {
                op,
                adapter: a,
                conn,
                blocks: blocks_v,
                chain,
                rogue,
                also,
            },
        );
        (root, w.pick_irql())
    });
    let prev = irql::current();
    irql::set(level.max(prev));
    super::core::state_call(op, Open::Host(a), root);
    irql::set(prev);
}

/// Whether the host may use its binding to virtual miniport `a`.
pub(super) fn host_up(w: &World, a: usize, force: bool) -> bool {
    let d = &w.adapters[a].dev;
    d.phase == DevPhase::Up && (force || d.run == RunState::Running)
}

/// Offloads a new connection on virtual miniport `a`.
pub fn offload(a: usize, spec: OffloadSpec) -> Option<ConnId> {
    let prep = world::with(|w| {
        let paused = w.chimney.offload_paused.contains(&a);
        if !host_up(w, a, spec.force) || (paused && !spec.force) {
            return None;
        }
        let shared = spec.share.and_then(|c| {
            let hc = w.chimney.conns.get(c.0)?;
            let (n, p) = (hc.neigh, hc.path);
            let objs = &w.chimney.objs;
            let ok = hc.adapter == a
                && objs[n].offloaded
                && objs[p].offloaded
                && (spec.rogue || (!objs[n].busy && !objs[p].busy));
            ok.then_some((n, p))
        });
        let (neigh, path, parts_np) = match shared {
            Some((n, p)) => (n, p, [(n, spec.linker, false), (p, spec.linker, false)]),
            None => {
                let n = new_obj(w, Layer::Neighbor, a, None);
                let p = new_obj(w, Layer::Path, a, Some(n));
                (n, p, [(n, true, true), (p, true, true)])
            }
        };
        let (id, tcp) = new_conn(w, a, neigh, path);
        let mut parts = parts_np.to_vec();
        parts.push((tcp, true, true));
        let bl = build(w, &parts);
        let chain = send_data(w, a, id, spec.send_data);
        if let Some(tb) = bl.last() {
            blocks::set_chain(tb.mem.addr, nbl::link(&chain));
        }
        let cn = &mut w.chimney.counters;
        cn.offloads_initiated += 1;
        cn.initiate_send_data += chain.len() as u64;
        Some((id, bl, chain))
    });
    let (id, bl, chain) = prep?;
    issue_as(Op::Initiate, a, Some(id), bl, chain, spec.rogue, Vec::new());
    Some(id)
}

/// Terminates an offloaded connection; its neighbor and path too when it is their last user.
pub fn terminate(c: ConnId) -> bool {
    let prep = world::with(|w| {
        let hc = w.chimney.conns.get(c.0)?;
        if hc.state != ConnState::Offloaded || !host_up(w, hc.adapter, true) {
            return None;
        }
        let (a, n, p, t) = (hc.adapter, hc.neigh, hc.path, hc.tcp);
        if w.chimney.objs[t].busy {
            return None;
        }
        let last = |w: &World, o: usize| {
            let ob = &w.chimney.objs[o];
            ob.users == 1 && ob.offloaded && !ob.busy
        };
        let (tn, tp) = (last(w, n), last(w, p));
        let parts = [(n, tn && tp, false), (p, tp, false), (t, true, false)];
        w.chimney.conns[c.0].state = ConnState::Terminating;
        let bl = build(w, &parts);
        Some((a, bl))
    });
    let Some((a, bl)) = prep else {
        return false;
    };
    issue(Op::Terminate, a, Some(c), bl, Vec::new());
    true
}

/// Update (neighbor placeholder, path, TCP), invalidate (neighbor) or query (TCP) on an
/// offloaded connection's state.
pub fn simple(op: Op, c: ConnId) -> bool {
    let prep = world::with(|w| {
        let hc = w.chimney.conns.get(c.0)?;
        if hc.state != ConnState::Offloaded || !host_up(w, hc.adapter, true) {
            return None;
        }
        let (a, n, p, t) = (hc.adapter, hc.neigh, hc.path, hc.tcp);
        let parts: Vec<(usize, bool, bool)> = match op {
            Op::Update => vec![(n, false, false), (p, true, false), (t, true, false)],
            Op::Invalidate => vec![(n, true, false)],
            _ => vec![(t, true, false)],
        };
        if parts
            .iter()
            .any(|&(o, named, _)| named && w.chimney.objs[o].busy)
        {
            return None;
        }
        let bl = build(w, &parts);
        Some((a, bl))
    });
    let Some((a, bl)) = prep else {
        return false;
    };
    issue(op, a, Some(c), bl, Vec::new());
    true
}

/// A misbehaving host: `op` naming connection `c`'s TCP object (and, for update, its path)
/// whatever calls are in flight on them, ignoring tcpip's per-object serialisation. False when
/// the connection was never offloaded or is gone. A query may also name a connection whose
/// initiate is still in flight (its handle has no offload context yet).
pub fn rogue(op: Op, c: ConnId) -> bool {
    let prep = world::with(|w| {
        let hc = w.chimney.conns.get(c.0)?;
        let early_query = op == Op::Query && hc.state == ConnState::Offloading;
        if !(matches!(hc.state, ConnState::Offloaded | ConnState::Terminating) || early_query)
            || !host_up(w, hc.adapter, true)
        {
            return None;
        }
        let (a, n, p, t) = (hc.adapter, hc.neigh, hc.path, hc.tcp);
        let parts: Vec<(usize, bool, bool)> = match op {
            Op::Update => vec![(n, false, false), (p, true, false), (t, true, false)],
            Op::Invalidate | Op::Initiate => return None,
            _ => vec![(n, false, false), (p, false, false), (t, true, false)],
        };
        if op == Op::Terminate {
            w.chimney.conns[c.0].state = ConnState::Terminating;
        }
        let busy: Vec<(usize, bool)> = parts
            .iter()
            .filter(|p| p.1)
            .map(|&(o, _, _)| (o, w.chimney.objs[o].busy))
            .collect();
        let bl = build(w, &parts);
        Some((a, bl, busy))
    });
    let Some((a, bl, busy)) = prep else {
        return false;
    };
    let root = bl[0].mem.addr;
    issue_as(op, a, Some(c), bl, Vec::new(), true, Vec::new());
    // Completed at once (refused, or done inline): the objects are as busy as before the call,
    // i.e. still owned by the calls it overlapped, and free if there were none.
    world::with(|w| {
        if !w.chimney.calls.contains_key(&root) {
            for (o, b) in busy {
                w.chimney.objs[o].busy = b;
            }
        }
    });
    true
}

/// A misbehaving host terminates connection `c`'s path and TCP object together while `c`'s own
/// terminate is in flight. The driver refuses such a call at once; the path stays the host's
/// (this call does not keep it busy). False unless `c` is terminating.
pub fn rogue_terminate_with_path(c: ConnId) -> bool {
    let prep = world::with(|w| {
        let hc = w.chimney.conns.get(c.0)?;
        if hc.state != ConnState::Terminating || !host_up(w, hc.adapter, true) {
            return None;
        }
        let (a, n, p, t) = (hc.adapter, hc.neigh, hc.path, hc.tcp);
        let was_busy = w.chimney.objs[p].busy;
        let bl = build(w, &[(n, false, false), (p, true, false), (t, true, false)]);
        Some((a, bl, p, was_busy))
    });
    let Some((a, bl, p, was_busy)) = prep else {
        return false;
    };
    issue_as(Op::Terminate, a, Some(c), bl, Vec::new(), true, Vec::new());
    world::with(|w| w.chimney.objs[p].busy = was_busy);
    true
}

/// Terminates a neighbor or path no connection uses any more.
fn terminate_orphan(o: usize) -> bool {
    let prep = world::with(|w| {
        let ob = &w.chimney.objs[o];
        if !ob.offloaded || ob.busy || ob.users != 0 {
            return None;
        }
        let a = ob.adapter;
        let bl = build(w, &[(o, true, false)]);
        Some((a, bl))
    });
    let Some((a, bl)) = prep else {
        return false;
    };
    issue(Op::Terminate, a, None, bl, Vec::new());
    true
}

fn calls_in_flight(a: usize) -> bool {
    world::with(|w| w.chimney.calls.values().any(|c| c.adapter == a))
}

fn wait_calls(a: usize) {
    crate::flows::wait(
        "chimney_host.state_calls_completed",
        "the host's chimney state calls to complete",
        || !calls_in_flight(a),
    );
}

/// Uploads (terminates) everything the host has offloaded through virtual miniport `a`, as
/// tcpip does before its binding is paused or closed. Waits for the completions.
pub fn upload_all(a: usize) {
    if world::with(|w| w.chimney.live_objs(a) == 0) {
        return;
    }
    wait_calls(a);
    let conns: Vec<ConnId> = world::with(|w| {
        (0..w.chimney.conns.len())
            .filter(|&i| {
                let c = &w.chimney.conns[i];
                c.adapter == a && c.state == ConnState::Offloaded
            })
            .map(ConnId)
            .collect()
    });
    for c in conns {
        terminate(c);
    }
    wait_calls(a);
    for layer in [Layer::Tcp, Layer::Path, Layer::Neighbor] {
        let objs: Vec<usize> = world::with(|w| {
            (0..w.chimney.objs.len())
                .filter(|&o| {
                    let ob = &w.chimney.objs[o];
                    ob.adapter == a && ob.layer == layer && ob.offloaded
                })
                .collect()
        });
        for o in objs {
            terminate_orphan(o);
        }
        wait_calls(a);
    }
    world::with(|w| {
        let left = w.chimney.live_objs(a);
        w.v.check("chimney_host.upload_all_completes", left == 0, || {
            format!("{left} offloaded state object(s) on adapter {a} could not be uploaded")
        });
    });
}

/// The host's Protocol{Initiate,Terminate,Update,Invalidate,Query}OffloadComplete.
pub fn on_state_complete(op: Op, a: usize, root: usize) {
    world::with(|w| {
        let Some(call) = w.chimney.calls.remove(&root) else {
            w.v.fail("chimney_host.completion_is_own_call", || {
                format!("{op:?} completion of block list {root:#x}: the host has no such call in flight (double or foreign completion)")
            });
            return;
        };
        w.v.check(
            "chimney_host.completion_matches_call",
            call.op == op && call.adapter == a,
            || {
                format!(
                    "{op:?} completion on adapter {a} for a {:?} call issued on adapter {}",
                    call.op, call.adapter
                )
            },
        );
        let reached = check_blocks(w, a, &call);
        // A refused rogue call changed nothing: the calls it overlapped still own their objects.
        let counts = reached || !call.rogue;
        // An initiate's new connection is the host's own either way.
        if counts || op == Op::Initiate {
            match op {
                Op::Initiate => initiate_done(w, &call),
                Op::Terminate => terminate_done(w, &call),
                _ => {}
            }
        }
        for b in &call.blocks {
            if let Some(o) = b.obj.filter(|_| counts || b.new) {
                w.chimney.objs[o].busy = false;
            }
            w.chimney.block_owner.remove(&b.mem.addr);
            // SAFETY: the host owns the block again; poison it so late use by a layer below
            // shows, and keep it addressable.
            unsafe { std::ptr::write_bytes(b.mem.addr as *mut u8, 0xDD, b.mem.size()) };
        }
        w.graveyard.keep.push(Box::new(call.blocks));
    });
    crate::sched::kick();
}

/// Checks a completed call's blocks; true if the call reached the target.
fn check_blocks(w: &mut World, a: usize, call: &HCall) -> bool {
    let open = w.adapters[a].dev.host_handle;
    let root = call.blocks[0].mem.addr;
    let mut unexpected = Vec::new();
    for (i, b) in call.blocks.iter().enumerate() {
        let addr = b.mem.addr;
        let cmp = blocks::compare(&b.snap, &b.mem);
        let src = blocks::source_handle(addr);
        let want_src = if i == 0 { open } else { 0 };
        let h = b.obj.map_or(0, |o| handle_of(w, o));
        let slot = blocks::context_slot(addr);
        let want_slot = if h == 0 { 0 } else { blocks::moc_slot(h) };
        let res = cmp.and_then(|()| {
            if src != want_src {
                return Err(format!("SourceHandle {src:#x}, expected {want_src:#x}"));
            }
            if slot != want_slot {
                return Err(format!(
                    "NdisReserved[2] (MiniportOffloadContext) {slot:#x}, NDIS set {want_slot:#x}"
                ));
            }
            Ok(())
        });
        w.v.check("chimney_host.block_tree_restored", res.is_ok(), || {
            format!(
                "{:?} block {i} (root {root:#x}) came back altered: {}",
                call.op,
                res.clone().err().unwrap_or_default()
            )
        });
        let st = blocks::status(addr);
        match w.chimney.block_status.remove(&addr) {
            Some(e) => {
                w.v.check("chimney_host.status_propagated", st == e, || {
                    format!(
                        "{:?} block {i}: Status {st:#x}, the target wrote {e:#x}",
                        call.op
                    )
                });
            }
            None => unexpected.push(st),
        }
    }
    if !unexpected.is_empty() {
        let first = unexpected[0];
        let allowed = if call.op == Op::Initiate {
            first == NDIS_STATUS_FAILURE || first == NDIS_STATUS_RESOURCES
        } else {
            first == NDIS_STATUS_FAILURE
        };
        let ok = allowed
            && unexpected.len() == call.blocks.len()
            && unexpected.iter().all(|s| *s == first);
        w.v.check("chimney_host.refused_call_status", ok, || {
            format!("{:?} completed without reaching the target with block statuses {unexpected:x?} (a refused call has FAILURE or RESOURCES in every block)", call.op)
        });
    }
    unexpected.is_empty()
}

fn initiate_done(w: &mut World, call: &HCall) {
    let Some(c) = call.conn else { return };
    for b in &call.blocks {
        let Some(o) = b.obj else { continue };
        let st = blocks::status(b.mem.addr);
        let ok = st == NDIS_STATUS_SUCCESS;
        let h = handle_of(w, o);
        let ctx = blocks::handle_context(h);
        if b.new {
            if ok {
                w.chimney.objs[o].offloaded = true;
                w.v.check("chimney_host.context_published", ctx != 0, || {
                    format!("initiate succeeded for a {:?} block but its handle's MiniportOffloadContext is NULL (the driver did not publish its entry)", w.chimney.objs[o].layer)
                });
            } else {
                w.v.check("chimney_host.no_context_on_failure", ctx == 0, || {
                    format!("initiate failed ({st:#x}) for a {:?} block but its handle's MiniportOffloadContext is {ctx:#x}", w.chimney.objs[o].layer)
                });
            }
        }
    }
    conn_initiated(w, call, c, &call.chain);
    for (c, chain) in &call.also {
        conn_initiated(w, call, *c, chain);
    }
}

/// Connection `c` of a completed initiate: offloaded or failed by its TCP block's status; a
/// failed one gets `chain`, the send data it handed over, back in that block.
fn conn_initiated(w: &mut World, call: &HCall, c: ConnId, chain: &[usize]) {
    let (neigh, path, tcp) = {
        let hc = &w.chimney.conns[c.0];
        (hc.neigh, hc.path, hc.tcp)
    };
    let tb = call
        .blocks
        .iter()
        .find(|b| b.obj == Some(tcp))
        .map_or(0, |b| b.mem.addr);
    let tcp_status = if tb == 0 {
        NDIS_STATUS_FAILURE
    } else {
        blocks::status(tb)
    };
    let ok = tcp_status == NDIS_STATUS_SUCCESS;
    w.chimney.conns[c.0].state = if ok {
        w.chimney.counters.offloads_succeeded += 1;
        ConnState::Offloaded
    } else {
        w.chimney.counters.offloads_failed += 1;
        w.chimney.objs[neigh].users -= 1;
        w.chimney.objs[path].users -= 1;
        ConnState::Failed(tcp_status)
    };
    if ok || chain.is_empty() {
        return;
    }
    // A failed initiate hands the send data back in the chain.
    let (back, _) = nbl::walk(blocks::chain(tb), 100_000);
    let same = back == chain;
    w.v.check("chimney_host.initiate_data_returned", same, || {
        format!(
            "failed initiate: NetBufferListChain holds {} NBL(s), the host handed over {}",
            back.len(),
            chain.len()
        )
    });
    for p in back {
        super::host_io::reclaim(w, p, None);
    }
}

fn terminate_done(w: &mut World, call: &HCall) {
    for b in &call.blocks {
        let Some(o) = b.obj else { continue };
        let h = handle_of(w, o);
        let ctx = blocks::handle_context(h);
        w.v.check("chimney_host.context_cleared_on_terminate", ctx == 0, || {
            format!("terminate completed but the {:?} handle's MiniportOffloadContext is still {ctx:#x}", w.chimney.objs[o].layer)
        });
        w.chimney.objs[o].offloaded = false;
        if w.chimney.objs[o].layer != Layer::Tcp {
            continue;
        }
        let Some(c) = w.chimney.objs[o].conn else {
            continue;
        };
        let (back, _) = nbl::walk(blocks::chain(b.mem.addr), 100_000);
        for p in back {
            let ok = w.chimney.nbls.get(&p).is_some_and(|n| {
                n.conn == c && n.reached && matches!(n.kind, IoKind::Send | IoKind::Disconnect)
            });
            if w.v.check("chimney_host.terminate_returns_own_sends", ok, || {
                format!("terminate returned NBL {p:#x} in NetBufferListChain: not outstanding send data of this connection")
            }) {
                w.chimney.counters.returned_in_terminate += 1;
                super::host_io::reclaim(w, p, Some(c));
            }
        }
        let left: usize = w.chimney.conns[c.0].out.iter().map(|q| q.len()).sum();
        w.v.check("chimney_host.io_completed_before_terminate", left == 0, || {
            format!("terminate of connection {c:?} reached the host with {left} posted NBL(s) not yet completed")
        });
        let hc = &mut w.chimney.conns[c.0];
        hc.state = ConnState::Terminated;
        let (n, p) = (hc.neigh, hc.path);
        w.chimney.objs[n].users -= 1;
        w.chimney.objs[p].users -= 1;
        w.chimney.counters.terminated += 1;
    }
}

/// The host's ProtocolIndicateOffloadEvent: every named block must carry the host's own handle.
pub fn on_offload_event(a: usize, list: usize, code: u32) {
    world::with(|w| {
        w.chimney.counters.generic_events += 1;
        let want = w.chimney.in_flight.event;
        w.v.check("chimney_event.passed_unchanged", code == want.0, || {
            format!(
                "generic offload event code {code}, the target indicated {}",
                want.0
            )
        });
        w.chimney.in_flight.event_seen = true;
        for b in blocks::walk(list).unwrap_or_default() {
            let h = blocks::offload_handle(b);
            let ok = h == 0
                || w.chimney
                    .objs
                    .iter()
                    .any(|o| o.adapter == a && o.handle.addr == h);
            w.v.check("chimney_event.generic_handles_swapped", ok, || {
                format!(
                    "ProtocolIndicateOffloadEvent block names handle {h:#x}, not one of the host's"
                )
            });
        }
    });
}

/// The host reacts to NDIS_STATUS_OFFLOAD_PAUSE / UPLOAD_ALL / OFFLOAD_RESUME from below.
pub fn on_status(a: usize, code: NdisStatus) {
    world::with(|w| {
        let p = &mut w.chimney.offload_paused;
        if code == NDIS_STATUS_OFFLOAD_PAUSE && !p.contains(&a) {
            p.push(a);
        } else if code == NDIS_STATUS_OFFLOAD_RESUME {
            p.retain(|x| *x != a);
        }
    });
    if code == NDIS_STATUS_UPLOAD_ALL {
        crate::sched::enqueue(PASSIVE_LEVEL, "host upload all", move || upload_all(a));
    }
}
