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
use crate::nbl::{Loc, NblRec, Owner};
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

/// Whether `r`'s time counts as the driver's (`below_counts[a]`: sends below adapter `a` count)
/// and the adapter it belongs to.
fn counted(r: &NblRec, below_counts: &[bool]) -> (usize, bool) {
    match (r.owner, r.loc) {
        (Owner::Host(a), Loc::AtHost) => (a, false),
        (Owner::Lower(a) | Owner::Target(a) | Owner::Chimney(a), Loc::AtHost) => (a, false),
        // A send the lower keeps under the Held policy is a test's deliberately slow lower
        // miniport, not time on the driver's behalf.
        (Owner::Host(a), Loc::Below) => (a, below_counts.get(a).copied().unwrap_or(false)),
        (Owner::Host(a), _) => (a, true),
        (Owner::Lower(a) | Owner::Target(a) | Owner::Chimney(a), loc) => (a, loc == Loc::Driver),
    }
}

/// The stuck-NBL rule at tick `now`. Reference definition: at every tick, every record that is
/// not counted gets `since = now`; a counted one not yet reported is stuck when
/// `now - since > bound` and its adapter is steady. Incremental form (`nbl_index`): a record's
/// counted state changes only through `get_mut`/`insert` (recorded as touched) or a change of
/// its adapter's send policy (then every record is touched), so only touched records are
/// re-evaluated. An untouched record keeps the state it had at the previous scan, so a record
/// that is counted now and was not indexed was uncounted (or did not exist) at tick `now - 1`:
/// the reference gives it `since = now - 1` (the refresh at that tick, or its creation, which
/// stamps the clock, `now - 1` between the two scans). Indexed records keep their `since`, as
/// in the reference. The stuck ones are the prefix of the index with `since < now - bound`.
fn check_stuck_nbls(w: &mut World) {
    let now = w.nbls.clock;
    let bound = w.cfg.stuck_nbl_ticks;
    let policy = w
        .adapters
        .iter()
        .map(|ad| ad.cfg.policy.send_completion != Completion::Held);
    if !policy.clone().eq(w.nbls.recs.below_counts.iter().copied()) {
        w.nbls.recs.below_counts = policy.collect();
        w.nbls.recs.touch_all();
    }
    let below_counts = std::mem::take(&mut w.nbls.recs.below_counts);
    let recs = &mut w.nbls.recs;
    recs.rescan(now, |r| counted(r, &below_counts).1);
    #[cfg(debug_assertions)]
    if let Err(e) = recs.cross_check(now, |r| counted(r, &below_counts).1) {
        w.v.fail("model.internal_error", || e);
        return;
    }
    let recs = &mut w.nbls.recs;
    let cutoff = now.saturating_sub(bound);
    let mut stuck = Vec::new();
    for &(since, p) in recs.counted.range(..(cutoff, 0)) {
        if let Some(r) = recs.get(&p) {
            let (a, _) = counted(r, &below_counts);
            stuck.push((p, a, r.owner, r.loc, now - since, since));
        }
    }
    w.nbls.recs.below_counts = below_counts;
    stuck.retain(|&(_, a, ..)| steady(w, a));
    if stuck.is_empty() {
        // One run per scan.
        w.v.check("nbl.not_stuck", true, String::new);
    }
    for (p, a, owner, loc, age, since) in stuck {
        w.nbls.recs.counted.remove(&(since, p));
        if let Some(r) = w.nbls.recs.peek_mut(&p) {
            r.stuck_reported = true;
        }
        w.v.fail("nbl.not_stuck", || {
            format!(
                "NBL {p:#x} ({owner:?}) has been {loc:?} for {age} ticks (bound {bound}) while adapter {a} runs"
            )
        });
    }
}
