//! A per-processor rundown that several independent parties may close: [`GatedRundown`].
//!
//! One count, several *gates* (bits): the count admits work only while every gate is open. The
//! first gate to close closes the count (refusing new work and sweeping the slots); the last
//! gate to reopen reopens it. Between the two the count drains exactly once, and every closer
//! may wait for that drain ([`GatedRundown::wait_drained`]) or ask whether it has happened
//! ([`GatedRundown::is_drained`]).
//!
//! The driver keeps the NBLs it forwarded down on one such count (`Binding::nbls_below`): the
//! virtual miniport's pause, the lower binding's pause, MiniportHaltEx and the unbind each close
//! their own gate, and NDIS does not serialise the miniport's pause with the lower binding's. One
//! count instead of one per party means one atomic add per forwarded chain and one per completion.
//!
//! Who reports the drain: the close that found nothing in flight, or the release that ended the
//! last operation ([`GatedRundown::release_on`] returns `Drained` to exactly one caller, which
//! must call [`GatedRundown::report_drained`]). The report sets the drained flag before it runs
//! the caller's hook and signals the event after it, so that a closer that checks
//! [`GatedRundown::is_drained`] after publishing its own interest (see `Adapter::begin_pause`)
//! and a reporter that checks that interest after setting the flag cannot both miss each other.

use core::sync::atomic::{AtomicBool, Ordering};

use super::event::Event;
use super::percpu_rundown::PerCpuRundown;
use super::rundown::Drain;
use super::spinlock::SpinLock;

/// Marks the window in which [`GatedRundown::reopen`] resets the drained state outside the
/// lock: not a gate, and never left set.
const REOPENING: u32 = 1 << 31;

/// A per-processor count with gates: open only while no gate is closed.
pub struct GatedRundown {
    count: PerCpuRundown,
    /// The gates closed now (a bit each). Changed only under the lock, together with the
    /// count's close (first gate closed) and reopen (last gate opened).
    gates: SpinLock<u32>,
    /// Set by the drain report of the current closed period, cleared by the reopen.
    drained: AtomicBool,
    /// Signalled by the drain report (after `drained`), reset by the reopen.
    drained_event: Event,
}

impl GatedRundown {
    /// A closed, drained count over `count` (closed, nothing in flight: as
    /// `PerCpuRundown::try_new` makes it) with `closed_gates` (non-zero) closed.
    /// [`GatedRundown::init`] it at its final address before use.
    #[inline(always)]
    pub fn new(count: PerCpuRundown, closed_gates: u32) -> Self {
        debug_assert!(closed_gates != 0);
        Self {
            count,
            gates: SpinLock::new(closed_gates),
            // Closed with nothing in flight: drained from the start.
            drained: AtomicBool::new(true),
            drained_event: Event::new(),
        }
    }

    /// Initialises the event at its final address (NDIS keeps the address), signalled: the
    /// count starts closed and drained.
    pub fn init(&self) {
        self.drained_event.init();
        self.drained_event.set();
    }

    /// Starts `n` operations on processor `cpu`'s slot if every gate is open.
    #[inline(always)]
    pub fn try_acquire_on(&self, cpu: u32, n: u32) -> bool {
        self.count.try_acquire_on(cpu, n)
    }

    /// Ends `n` operations. `Drained` for exactly one release per closed period with work in
    /// flight: that caller must call [`GatedRundown::report_drained`].
    #[inline(always)]
    #[must_use = "a Drained release must report the drain"]
    pub fn release_on(&self, cpu: u32, n: u32) -> Drain {
        self.count.release_on(cpu, n)
    }

    /// The drain report: sets the drained flag, runs `hook` (whose result it returns), then
    /// signals the waiters. The signal is the last access to `self`, unless `hook` tells the
    /// caller that something else keeps the owner alive.
    pub fn report_drained<R>(&self, hook: impl FnOnce() -> R) -> R {
        self.drained.store(true, Ordering::SeqCst);
        let result = hook();
        self.drained_event.set();
        result
    }

    /// Closes `gate`. If it is the first gate closed, the count stops admitting work. True if
    /// nothing was in flight then: the caller is the drain's reporter and must call
    /// [`GatedRundown::report_drained`]. PASSIVE or DISPATCH_LEVEL. (No NDIS call is made under
    /// the lock: the report, which signals an NDIS event, is the caller's, after it.)
    #[must_use = "true means the caller must report the drain"]
    pub fn close(&self, gate: u32) -> bool {
        let mut gates = self.gates.lock();
        let first = *gates == 0;
        *gates |= gate;
        first && self.count.close() == Drain::Drained
    }

    /// Opens `gate`; if no other gate is closed, the count admits work again. Returns whether
    /// that went right (false: the count had to reopen but still had work in flight, a state
    /// bug, since every closer waits for the drain before its gate can open again; it then stays
    /// closed) and whether the caller must report a drain (true when a gate closed while the
    /// count was reopening: it stays closed, drained, and the new closed period needs its
    /// report). PASSIVE_LEVEL.
    #[must_use = "the second value means the caller must report the drain"]
    pub fn reopen(&self, gate: u32) -> (bool, bool) {
        {
            let mut gates = self.gates.lock();
            *gates &= !gate;
            if *gates != 0 {
                return (true, false);
            }
            // No gate is closed, the count is still closed and drained: no report can run
            // until it reopens, and a close meanwhile sees REOPENING (it is not the first).
            *gates = REOPENING;
        }
        // Outside the lock (NDIS calls): nobody waits, every closer saw the drain before its
        // gate could open.
        self.drained.store(false, Ordering::SeqCst);
        self.drained_event.reset();
        let mut gates = self.gates.lock();
        *gates &= !REOPENING;
        if *gates != 0 {
            return (true, true);
        }
        (self.count.reopen(), false)
    }

    /// Whether the current closed period's drain has been reported.
    pub fn is_drained(&self) -> bool {
        self.drained.load(Ordering::SeqCst)
    }

    /// Waits until the current closed period's drain has been reported. PASSIVE_LEVEL; only
    /// while a gate the caller closed is still closed.
    pub fn wait_drained(&self) {
        self.drained_event.wait();
    }

    #[cfg(not(windows))]
    pub fn is_open(&self) -> bool {
        self.count.is_open()
    }
}
