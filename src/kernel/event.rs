//! `NDIS_EVENT` as a safe, in-place notification event.
//!
//! Used for the event-based waits of pause, halt, unbind and open/close completion: the waiter
//! resets the event, re-checks its condition, and waits; the completer sets it. No polling.

use core::cell::UnsafeCell;

use super::rundown::Drain;
use crate::ndis::NdisEvent;
use crate::ndis::imports::{NdisInitializeEvent, NdisResetEvent, NdisSetEvent, NdisWaitEvent};

/// A notification (manual-reset) event. It must be initialised in place with [`Event::init`]
/// before use, because NDIS keeps the event's address.
pub struct Event {
    raw: UnsafeCell<NdisEvent>,
}

// SAFETY: an NDIS_EVENT is a KEVENT, which the kernel synchronises internally; every access goes
// through the NDIS event functions.
unsafe impl Sync for Event {}
// SAFETY: an NDIS_EVENT is a KEVENT the kernel synchronises internally, and plain memory until
// initialised: moving it to another thread before NdisInitializeEvent is a plain move.
unsafe impl Send for Event {}

impl Event {
    pub const fn new() -> Self {
        Self {
            raw: UnsafeCell::new(NdisEvent::zeroed()),
        }
    }

    /// Initialises the event (not signalled) at its final address.
    pub fn init(&self) {
        // SAFETY: the event lives at a stable address (inside pool-allocated driver state) for as
        // long as anyone can wait on or set it.
        unsafe { NdisInitializeEvent(self.raw.get()) }
    }

    pub fn set(&self) {
        // SAFETY: initialised by `init` (every owner calls it right after allocation).
        unsafe { NdisSetEvent(self.raw.get()) }
    }

    pub fn reset(&self) {
        // SAFETY: initialised by `init`.
        unsafe { NdisResetEvent(self.raw.get()) }
    }

    /// Waits without a timeout. PASSIVE_LEVEL only.
    pub fn wait(&self) {
        // SAFETY: initialised by `init`; callers run at PASSIVE_LEVEL (bind/unbind/halt/PnP).
        let signalled = unsafe { NdisWaitEvent(self.raw.get(), 0) };
        debug_assert!(
            signalled != 0,
            "an infinite NdisWaitEvent returned unsignalled"
        );
    }

    /// The closer's side of a drain: resets the event, runs `close` (which stops new work and
    /// says whether any is still in flight), and if some is, waits until the release that ends
    /// it sets the event. The reset comes first, so a drain reported after `close` is never lost.
    /// PASSIVE_LEVEL only.
    pub fn close_and_wait(&self, close: impl FnOnce() -> Drain) {
        self.reset();
        if close() == Drain::Pending {
            self.wait();
        }
    }

    /// Waits until `done()` holds, re-checking after every wake-up. `done` is evaluated after
    /// the event is reset, so a `set` between the check and the wait is never lost.
    pub fn wait_until(&self, mut done: impl FnMut() -> bool) {
        loop {
            self.reset();
            if done() {
                return;
            }
            self.wait();
        }
    }
}

impl Default for Event {
    fn default() -> Self {
        Self::new()
    }
}
