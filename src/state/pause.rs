//! Stopping the data path across both edges: the virtual miniport's pause (which waits for two
//! drains, the indications up and the NBLs below) and the drains of `Binding::nbls_below`, whose
//! gates the miniport's pause and halt, the lower binding's pause and the unbind each close.
//!
//! Exactly-once rules: each count's drain is reported once per closed period (the close that
//! found it empty, or the release that emptied it); a pending pause's part for each count is
//! claimed by exactly one of the pause itself and that report (`Adapter::waiting_up` /
//! `waiting_below`, swapped off); the part that finishes the pause completes it, synchronously
//! if MiniportPause itself finished it, else with NdisMPauseComplete as the last access.

use core::sync::atomic::Ordering;

use super::adapter::AdapterState;
use super::binding::{Binding, below_gate};
use crate::kernel::Drain;

impl Binding {
    /// Ends `n` NBLs forwarded down, counted on processor `cpu`'s side. The release that drains
    /// a closed count reports it.
    #[inline(always)]
    pub fn release_below_on(&self, cpu: u32, n: u32) {
        if self.nbls_below.release_on(cpu, n) == Drain::Drained {
            self.on_below_drained();
        }
    }

    /// The NBLs below drained (this call is the one report): a pending miniport pause's part
    /// is claimed before the waiters are signalled. If it was claimed, the pause keeps the
    /// binding alive until NdisMPauseComplete (the last access); otherwise the signal is.
    #[cold]
    #[inline(never)]
    fn on_below_drained(&self) {
        let adapter = &self.adapter;
        let claim = self
            .nbls_below
            .report_drained(|| adapter.waiting_below.swap(false, Ordering::SeqCst));
        if claim && adapter.pause_part_done() {
            adapter.complete_pause();
        }
    }

    /// MiniportPause: refuses new work on the miniport edge (indications up, NBLs down) and
    /// returns true if the pause completed at once, false if the drain that ends it will call
    /// NdisMPauseComplete. PASSIVE_LEVEL.
    pub fn begin_miniport_pause(&self) -> bool {
        let adapter = &self.adapter;
        adapter.set_state(AdapterState::Pausing);
        adapter.nbls_drained.reset();
        adapter.pause_parts.store(2, Ordering::SeqCst);
        adapter.pause_pending.store(true, Ordering::SeqCst);
        adapter.waiting_up.store(true, Ordering::SeqCst);
        if adapter.nbls_in_flight.close() == Drain::Drained
            && adapter.waiting_up.swap(false, Ordering::SeqCst)
        {
            // Nothing up: this call is the drain report, and does that part. It cannot finish
            // the pause: the part below cannot be claimed by anyone before `waiting_below` is
            // published, just after.
            adapter.nbls_drained.set();
            let finished = adapter.pause_part_done();
            debug_assert!(
                !finished,
                "the part below was done before it could be claimed"
            );
        }
        adapter.waiting_below.store(true, Ordering::SeqCst);
        if self.nbls_below.close(below_gate::MINIPORT_STOPPED) {
            // Nothing below: this call reports the drain (the claim is made just below).
            self.nbls_below.report_drained(|| ());
        }
        // Published interest (waiting_below) before reading the flag; the report sets the flag
        // before reading the interest: one of the two claims the part.
        let mut finished = false;
        if self.nbls_below.is_drained() && adapter.waiting_below.swap(false, Ordering::SeqCst) {
            // The report is done or under way: wait for its signal, so that nothing of it runs
            // after the pause completed (a restart reopens the count).
            self.nbls_below.wait_drained();
            finished = adapter.pause_part_done();
        }
        if finished && adapter.pause_pending.swap(false, Ordering::AcqRel) {
            adapter.set_state(AdapterState::Paused);
            return true;
        }
        false
    }

    /// Closes `gate` of the NBLs below and waits until they drained. PASSIVE_LEVEL.
    pub fn drain_below(&self, gate: u32) {
        if self.nbls_below.close(gate) {
            self.on_below_drained();
        }
        self.nbls_below.wait_drained();
    }

    /// Opens `gate` of the NBLs below (they flow again once every gate is open). False on a
    /// state bug (see `GatedRundown::reopen`). PASSIVE_LEVEL.
    pub fn reopen_below(&self, gate: u32) -> bool {
        let (reopened, report) = self.nbls_below.reopen(gate);
        if report {
            self.on_below_drained();
        }
        reopened
    }
}
