//! The offload target (the lower adapter's miniport), state side: initiate (its own context for
//! new offloads, injected failures, send data taken over), terminate (every posted I/O completed
//! with UPLOAD_IN_PROGRESS, or send data returned in the chain, before the completion), update,
//! invalidate and query; completions inline, from the DPC thread, or held by the test.

use chimney_im::ndis::*;

use crate::config::Completion;
use crate::nbl::{self, Loc};
use crate::world::{self, World};

use super::blocks;
use super::target_io::{self, Done};
use super::{IoKind, Layer, Op, TObj, in_live_pool};

/// Target contexts are opaque values (never dereferenced by anyone).
const CTX_BASE: usize = 0x7A00_0000_0000;

/// A provider state handler of the target: Miniport{Initiate,...}Offload(ctx, MOBL).
pub fn on_state(op: Op, a: usize, root: usize) {
    let policy = world::with(|w| {
        match op {
            Op::Terminate => mark_terminating(w, a, root),
            Op::Initiate => {}
            // The target looks the named state up when it is called, as a miniport does.
            _ => check_named(w, op, a, root),
        }
        w.adapters[a].cfg.policy.chimney.state_completion
    });
    match policy {
        Completion::Inline => complete_state(op, a, root),
        Completion::Deferred => {
            crate::sched::enqueue(DISPATCH_LEVEL, "target state complete", move || {
                complete_state(op, a, root);
            });
        }
        Completion::Held => world::with(|w| w.chimney.target(a).held_state.push((op, root))),
    }
}

/// The target context in a block's MiniportOffloadContext slot (0 for a placeholder or a new
/// offload). Checks that the slot lies in the driver's live pool memory.
fn slot_value(w: &mut World, b: usize) -> Option<usize> {
    let slot = blocks::context_slot(b);
    if slot == 0 {
        return None;
    }
    let live = in_live_pool(w, slot, 8);
    if !w.v.check("chimney.no_call_on_freed_handle", live, || {
        format!("block MiniportOffloadContext {slot:#x} does not point into live pool memory of the driver")
    }) {
        return None;
    }
    // SAFETY: a pointer-sized slot inside live driver pool memory (checked above).
    Some(unsafe { *(slot as *const usize) })
}

/// Update, invalidate and query: every named context must be a live offload of this target.
fn check_named(w: &mut World, op: Op, a: usize, root: usize) {
    for b in blocks::walk(root).unwrap_or_default() {
        if let Some(ctx) = slot_value(w, b) {
            let known = w.chimney.target(a).objs.contains_key(&ctx);
            w.v.check("chimney_target.context_valid", known, || {
                format!("{op:?} names target context {ctx:#x}, which is not a live offload")
            });
        }
    }
}

fn mark_terminating(w: &mut World, a: usize, root: usize) {
    for b in blocks::walk(root).unwrap_or_default() {
        if let Some(ctx) = slot_value(w, b).filter(|c| *c != 0) {
            let t = w.chimney.target(a);
            let known = t.objs.get_mut(&ctx).map(|o| o.terminating = true).is_some();
            w.v.check("chimney_target.context_valid", known, || {
                format!("terminate names target context {ctx:#x}, which is not a live offload of this target")
            });
        }
    }
}

/// Completes up to all held state calls of adapter `a` (or of every adapter).
pub fn release_state(a: Option<usize>) -> usize {
    let held: Vec<(usize, Op, usize)> = world::with(|w| {
        let mut v = Vec::new();
        for (&x, t) in &mut w.chimney.targets {
            if a.is_none_or(|a| a == x) {
                v.extend(t.held_state.drain(..).map(|(op, r)| (x, op, r)));
            }
        }
        v
    });
    let n = held.len();
    for (x, op, root) in held {
        complete_state(op, x, root);
    }
    n
}

/// Completes adapter `a`'s held state calls, newest first. Returns how many.
pub fn release_state_newest_first(a: usize) -> usize {
    let held: Vec<(Op, usize)> =
        world::with(|w| w.chimney.target(a).held_state.drain(..).rev().collect());
    let n = held.len();
    for (op, root) in held {
        complete_state(op, a, root);
    }
    n
}

/// Does the work of a state call and completes it with NdisM*OffloadComplete.
pub fn complete_state(op: Op, a: usize, root: usize) {
    match op {
        Op::Initiate => initiate(a, root),
        Op::Terminate => terminate(a, root),
        _ => world::with(|w| {
            for b in blocks::walk(root).unwrap_or_default() {
                set_status(w, b, NDIS_STATUS_SUCCESS);
            }
        }),
    }
    super::core::state_complete(op, root);
}

fn set_status(w: &mut World, b: usize, st: NdisStatus) {
    blocks::set_status(b, st);
    w.chimney.block_status.insert(b, st);
}

fn initiate(a: usize, root: usize) {
    let data = world::with(|w| {
        let policy = w.adapters[a].cfg.policy.chimney;
        let mut took = None;
        for b in blocks::walk(root).unwrap_or_default() {
            let Some(cur) = slot_value(w, b) else {
                set_status(w, b, NDIS_STATUS_SUCCESS);
                continue;
            };
            let layer = blocks::layer_of(b).unwrap_or(Layer::Tcp);
            if cur != 0 {
                let known = w.chimney.target(a).objs.contains_key(&cur);
                w.v.check("chimney_target.linker_context_valid", known, || {
                    format!("linker block's *MiniportOffloadContext {cur:#x} is not a live offload of this target")
                });
                set_status(w, b, NDIS_STATUS_SUCCESS);
                continue;
            }
            if layer == Layer::Tcp && policy.initiate_status != NDIS_STATUS_SUCCESS {
                set_status(w, b, policy.initiate_status);
                continue;
            }
            let hobj = w.chimney.block_owner.get(&b).copied();
            let conn = hobj.and_then(|o| w.chimney.objs[o].conn);
            let handle = blocks::offload_handle(b);
            let t = w.chimney.target(a);
            t.next_ctx += 1;
            let ctx = CTX_BASE | a << 32 | t.next_ctx << 4;
            t.objs.insert(
                ctx,
                TObj {
                    layer,
                    handle,
                    conn: conn.filter(|_| layer == Layer::Tcp),
                    hobj,
                    terminating: false,
                    q: Default::default(),
                    rx_off: 0,
                },
            );
            // SAFETY: the slot lies in live driver pool memory (slot_value checked it).
            unsafe { *(blocks::context_slot(b) as *mut usize) = ctx };
            set_status(w, b, NDIS_STATUS_SUCCESS);
            if layer == Layer::Tcp && blocks::chain(b) != 0 {
                let (v, _) = nbl::walk(blocks::chain(b), 100_000);
                target_io::accept(w, a, ctx, IoKind::Send, &v, 0);
                took = Some(ctx);
            }
        }
        took.map(|c| (c, policy.io_completion))
    });
    if let Some((ctx, policy)) = data
        && policy != Completion::Held
    {
        crate::sched::enqueue(
            DISPATCH_LEVEL,
            "target completes initiate data",
            move || {
                target_io::complete(a, Some(ctx), None);
            },
        );
    }
}

fn terminate(a: usize, root: usize) {
    // Flush every terminated connection's I/O first (UPLOAD_IN_PROGRESS, or send data back).
    let (flush, ret) = world::with(|w| {
        let ret_sends = w.adapters[a].cfg.policy.chimney.return_sends_on_terminate;
        let mut flush = Vec::new();
        let mut ret: Vec<(usize, Vec<usize>)> = Vec::new();
        for b in blocks::walk(root).unwrap_or_default() {
            let Some(ctx) = slot_value(w, b).filter(|c| *c != 0) else {
                continue;
            };
            let Some(o) = w.chimney.target(a).objs.get_mut(&ctx) else {
                continue;
            };
            let mut back = Vec::new();
            // Send data comes back in the chain only when no disconnect is queued behind it
            // (the disconnect would otherwise complete before earlier sends).
            let no_disc = o.q[1].iter().all(|(_, k)| *k == IoKind::Send);
            for q in &mut o.q {
                for (p, kind) in q.drain(..) {
                    if ret_sends && no_disc && kind == IoKind::Send {
                        back.push(p);
                    } else {
                        flush.push((p, kind, ctx));
                    }
                }
            }
            if !back.is_empty() {
                ret.push((b, back));
            }
        }
        (flush, ret)
    });
    let done: Vec<Done> = world::with(|w| {
        flush
            .into_iter()
            .map(|(p, kind, ctx)| {
                target_io::finish(w, a, ctx, p, kind, Some(NDIS_STATUS_UPLOAD_IN_PROGRESS))
            })
            .collect()
    });
    target_io::deliver(a, done);
    world::with(|w| {
        for (b, back) in ret {
            for p in &back {
                if let Some(r) = w.nbls.recs.get_mut(p) {
                    r.loc = Loc::Driver;
                }
            }
            let t = w.chimney.target(a);
            t.in_flight = t.in_flight.saturating_sub(back.len());
            blocks::set_chain(b, nbl::link(&back));
        }
        for b in blocks::walk(root).unwrap_or_default() {
            if let Some(ctx) = slot_value(w, b).filter(|c| *c != 0) {
                w.chimney.target(a).objs.remove(&ctx);
            }
            set_status(w, b, NDIS_STATUS_SUCCESS);
        }
    });
}
