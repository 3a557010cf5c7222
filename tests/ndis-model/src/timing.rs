//! Model time and the rules that bound time or scope a handler call:
//!
//! - model time is one tick per driver handler call (`NblTable::clock`);
//! - stuck NBLs (Driver Verifier NdisTimedDataSend / NdisTimedDataHang, bug check 0x15E code
//!   0x30): while its adapter runs, no NBL stays in the driver, or below it on its behalf, longer
//!   than `ModelConfig::stuck_nbl_ticks`. Counted: plain sends (in the driver, or at the lower
//!   miniport unless a test made it hold sends on purpose: `Completion::Held`), plain receives (in the driver; time at the host is the host's), chimney I/O in
//!   the driver (a chimney receive posted at the offload target waits for the peer's data, which
//!   has no bound, so chimney requests below are not counted);
//! - watchdog (0x7C code 0x25): every handler call returns within `ModelConfig::watchdog`;
//! - configuration handles (NdisOpenConfigurationEx rule): a handle opened during a handler call
//!   is closed before that call returns.
//!
//! Facts and sources: docs/ndis-rules.md.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::config::Completion;
use crate::nbl::{Loc, Owner};
use crate::world::{DevPhase, RunState, World};

static NEXT_CALL: AtomicU64 = AtomicU64::new(1);

thread_local! {
    static CALLS: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
}

/// The innermost driver handler call on this thread (0 outside any).
pub fn current_call() -> u64 {
    CALLS.with(|c| c.borrow().last().copied().unwrap_or(0))
}

/// Starts handler call `name`: advances model time and checks for stuck NBLs. Returns its id.
pub fn enter_call(w: &mut World) -> u64 {
    w.nbls.clock += 1;
    check_stuck_nbls(w);
    let id = NEXT_CALL.fetch_add(1, Ordering::Relaxed);
    CALLS.with(|c| c.borrow_mut().push(id));
    id
}

/// Ends handler call `id` of `name`, which ran for `elapsed`.
pub fn exit_call(w: &mut World, id: u64, name: &'static str, elapsed: Duration) {
    CALLS.with(|c| {
        let mut c = c.borrow_mut();
        if let Some(i) = c.iter().rposition(|x| *x == id) {
            c.remove(i);
        }
    });
    let limit = w.cfg.watchdog;
    w.v.check("handler.returns_within_watchdog", elapsed <= limit, || {
        format!("{name} returned after {elapsed:?}, the watchdog allows {limit:?}")
    });
    let left = w
        .configs
        .values()
        .filter(|c| c.open && c.opened_in == id)
        .count();
    w.v.check("config.closed_before_owner_returns", left == 0, || {
        format!("{name} returned with {left} configuration handle(s) it opened still open")
    });
}

fn steady(w: &World, a: usize) -> bool {
    w.adapters.get(a).is_some_and(|ad| {
        ad.dev.phase == DevPhase::Up
            && ad.dev.run == RunState::Running
            && ad.binding.run == RunState::Running
    })
}

fn check_stuck_nbls(w: &mut World) {
    let now = w.nbls.clock;
    let bound = w.cfg.stuck_nbl_ticks;
    let mut stuck = Vec::new();
    for (p, r) in &mut w.nbls.recs {
        let (a, counted) = match (r.owner, r.loc) {
            (_, Loc::AtHost) => {
                r.since = now;
                continue;
            }
            // A send the lower keeps under the Held policy is a test's deliberately slow lower
            // miniport, not time on the driver's behalf.
            (Owner::Host(a), Loc::Below) => (
                a,
                w.adapters
                    .get(a)
                    .is_some_and(|ad| ad.cfg.policy.send_completion != Completion::Held),
            ),
            (Owner::Host(a), _) => (a, true),
            (Owner::Lower(a) | Owner::Target(a) | Owner::Chimney(a), loc) => {
                (a, loc == Loc::Driver)
            }
        };
        if !counted {
            r.since = now;
            continue;
        }
        if !r.stuck_reported && now.saturating_sub(r.since) > bound {
            stuck.push((*p, a, r.owner, r.loc, now - r.since));
        }
    }
    stuck.retain(|&(_, a, ..)| steady(w, a));
    if stuck.is_empty() {
        // One run per scan.
        w.v.check("nbl.not_stuck", true, String::new);
    }
    for (p, a, owner, loc, age) in stuck {
        if let Some(r) = w.nbls.recs.get_mut(&p) {
            r.stuck_reported = true;
        }
        w.v.fail("nbl.not_stuck", || {
            format!(
                "NBL {p:#x} ({owner:?}) has been {loc:?} for {age} ticks (bound {bound}) while adapter {a} runs"
            )
        });
    }
}
