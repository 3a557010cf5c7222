//! The host protocol bound above each virtual miniport: sends, receive handling, returns.

use chimney_im::ndis::*;

use crate::config::Completion;
use crate::drv;
use crate::irql;
use crate::nbl::{self, Loc, Owner};
use crate::world::{self, DevPhase, HandleKind, RunState};

/// The host sends `n` NBLs to virtual miniport `a`. Returns how many (0 when not running).
pub fn send(a: usize, n: usize) -> usize {
    let prep = world::with(|w| {
        let send = w.mp.as_ref()?.h.send;
        let slots = w.cfg.nbl_info_slots;
        let d = &w.adapters[a].dev;
        if d.phase != DevPhase::Up || d.run != RunState::Running || n == 0 {
            return None;
        }
        let (src, ctx, len) = (d.host_handle, d.ctx, w.adapters[a].cfg.policy.data_len);
        let mut v = Vec::new();
        for _ in 0..n {
            let p = w.nbls.create(Owner::Host(a), Loc::Driver, src, slots, len);
            let seq = w.nbls.recs.get(&p).map_or(0, |r| r.seq);
            nbl::set_cancel_id(p, cancel_id_for(a, seq));
            v.push(p);
        }
        let ad = &mut w.adapters[a];
        ad.dev.sends_out += n;
        ad.counters.host_to_driver += n as u64;
        ad.counters.peak_sends_in_driver = ad
            .counters
            .peak_sends_in_driver
            .max(ad.dev.sends_out as u64);
        Some((send, ctx, nbl::link(&v), w.pick_irql()))
    });
    let Some((send, ctx, head, level)) = prep else {
        return 0;
    };
    // tcpip asks for loopback on its sends; the IM must not pass that request down.
    let flags = if level >= DISPATCH_LEVEL {
        send_flags::DISPATCH_LEVEL
    } else {
        0
    } | send_flags::CHECK_FOR_LOOPBACK;
    // SAFETY: the driver's MiniportSendNetBufferLists with its adapter context and a fresh chain.
    drv::call("MiniportSendNetBufferLists", level, || unsafe {
        send(drv::h(ctx), head as *mut NetBufferList, 0, flags)
    });
    n
}

/// The host cancels (MiniportCancelSendNetBufferLists) up to `max` of its sends that the lower
/// miniport is holding, by their cancel ids. Returns how many cancel calls it made.
pub fn cancel_sends_below(a: usize, max: usize) -> usize {
    let prep = world::with(|w| {
        let cancel = w.mp.as_ref()?.h.cancel_send;
        let d = &w.adapters[a].dev;
        if d.phase != DevPhase::Up {
            return None;
        }
        let ids: Vec<usize> = w.adapters[a]
            .binding
            .held_sends
            .iter()
            .take(max)
            .map(|&p| nbl::cancel_id(p))
            .collect();
        Some((cancel, d.ctx, ids, w.pick_irql()))
    });
    let Some((cancel, ctx, ids, level)) = prep else {
        return 0;
    };
    for &id in &ids {
        // SAFETY: the driver's MiniportCancelSendNetBufferLists with its adapter context and a
        // cancel id the host stamped on one of its sends.
        drv::call("MiniportCancelSendNetBufferLists", level, || unsafe {
            cancel(drv::h(ctx), id as *mut core::ffi::c_void)
        });
    }
    ids.len()
}

/// Cancel ids the host stamps on sends: one group per adapter and send.
pub fn cancel_id_for(a: usize, seq: u64) -> usize {
    0xCA00_0000 | (a << 20) | usize::try_from(seq).unwrap_or(0)
}

/// NBLs the driver indicated to the host (validated by the export). Keeps them or copies them.
pub fn on_receive(a: usize, nbls: Vec<usize>, resources: bool) {
    let policy = world::with(|w| {
        let ad = &mut w.adapters[a];
        ad.counters.driver_to_host_receives += nbls.len() as u64;
        if resources {
            return None;
        }
        ad.dev.recv_at_host += nbls.len();
        ad.counters.peak_receives_at_host = ad
            .counters
            .peak_receives_at_host
            .max(ad.dev.recv_at_host as u64);
        for p in &nbls {
            if let Some(r) = w.nbls.recs.get_mut(p) {
                r.loc = Loc::AtHost;
            }
        }
        Some(w.adapters[a].cfg.policy.host_return)
    });
    match policy {
        None => {}
        Some(Completion::Inline) => return_receives(nbls),
        Some(Completion::Deferred) => {
            let level = world::with(world::World::pick_irql);
            crate::sched::enqueue(level, "host return", move || return_receives(nbls));
        }
        Some(Completion::Held) => world::with(|w| w.adapters[a].dev.held_returns.extend(nbls)),
    }
}

/// The host returns receives: NDIS routes each by SourceHandle to MiniportReturnNetBufferLists.
pub fn return_receives(nbls: Vec<usize>) {
    let level = irql::current();
    let flags = if level >= DISPATCH_LEVEL {
        return_flags::DISPATCH_LEVEL
    } else {
        0
    };
    let calls = world::with(|w| {
        let mut groups: Vec<(usize, Vec<usize>)> = Vec::new();
        for p in &nbls {
            let Some(r) = w.nbls.recs.get_mut(p) else {
                continue;
            };
            if r.loc != Loc::AtHost {
                continue;
            }
            r.loc = Loc::Driver;
            let src = nbl::source(*p);
            match groups.last_mut() {
                Some((s, g)) if *s == src => g.push(*p),
                _ => groups.push((src, vec![*p])),
            }
        }
        let mut out = Vec::new();
        for (src, g) in groups {
            let a = w.live(src, HandleKind::Miniport);
            w.v.check("return_up.routed_by_source_handle", a.is_some(), || {
                format!(
                    "host returns NBLs whose SourceHandle {src:#x} is not a live miniport handle"
                )
            });
            let Some(a) = a else { continue };
            let ad = &mut w.adapters[a];
            ad.dev.recv_at_host = ad.dev.recv_at_host.saturating_sub(g.len());
            ad.counters.returns_up += g.len() as u64;
            let ctx = ad.dev.ctx;
            if let Some(h) = w.mp.as_ref().map(|m| m.h.return_nbls) {
                out.push((h, ctx, nbl::link(&g)));
            }
        }
        out
    });
    for (h, ctx, head) in calls {
        // SAFETY: the driver's MiniportReturnNetBufferLists with NBLs it indicated.
        drv::call("MiniportReturnNetBufferLists", level, || unsafe {
            h(drv::h(ctx), head as *mut NetBufferList, flags)
        });
    }
}

/// Returns up to `max` held receives of adapter `a` from the calling thread.
pub fn release_returns(a: usize, max: Option<usize>) -> usize {
    let (taken, level) = world::with(|w| {
        let held = &mut w.adapters[a].dev.held_returns;
        let n = max.unwrap_or(held.len()).min(held.len());
        let t: Vec<usize> = held.drain(..n).collect();
        (t, w.pick_irql())
    });
    let n = taken.len();
    if n > 0 {
        let prev = irql::current();
        irql::set(level);
        return_receives(taken);
        irql::set(prev);
    }
    n
}
