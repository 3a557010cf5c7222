//! In-flight accounting: a lock-free rundown counter.
//!
//! A `Rundown` counts operations in flight (NBLs forwarded, OIDs forwarded, indications up). It is
//! either open (new operations may start) or closed (they may not). Closing it while operations
//! are in flight makes the release that brings the count to zero report the drain, exactly once;
//! closing it with nothing in flight reports the drain at once. That single transition is what
//! pause completion and the event-based waits of pause, halt and unbind hang on.
//!
//! O(1), no lock, no allocation: safe on the per-NBL hot path at DISPATCH_LEVEL.

use core::sync::atomic::{AtomicU32, Ordering};

use super::event::Event;

const CLOSED: u32 = 1 << 31;

#[derive(Debug)]
pub struct Rundown {
    word: AtomicU32,
    /// Instrumented host builds only: whether this count is adapter- or binding-wide (written by every CPU
    /// that forwards on the adapter), for [`shared_writes`].
    #[cfg(all(not(windows), not(chimney_uninstrumented)))]
    shared: bool,
}

/// Test instrumentation, compiled for the host only (never into the driver image, nor into
/// `.ci/measure-hotpath`'s build, which sets `--cfg chimney_uninstrumented` so that the
/// instruction counts are the driver's own): counts the
/// writes (atomic read-modify-writes) to adapter- or binding-wide accounting, i.e. to a cache
/// line every forwarding CPU shares. The model divides the increase by the NBLs it pushed to
/// get "shared writes per NBL" (tests/host_shared_writes.rs). Per-connection counts and the
/// per-processor slots of [`PerCpuRundown`](super::PerCpuRundown) are not shared lines and are
/// not counted; its central word, written only from close on, is.
#[cfg(all(not(windows), not(chimney_uninstrumented)))]
pub mod shared_writes {
    use core::sync::atomic::{AtomicU64, Ordering};

    static WRITES: AtomicU64 = AtomicU64::new(0);

    /// Writes so far, process-wide.
    pub fn count() -> u64 {
        WRITES.load(Ordering::Relaxed)
    }

    pub(crate) fn record() {
        WRITES.fetch_add(1, Ordering::Relaxed);
    }
}

/// Records one write to shared accounting (host builds; nothing in the driver image).
#[inline(always)]
pub(crate) fn record_shared_write(_shared: bool) {
    #[cfg(all(not(windows), not(chimney_uninstrumented)))]
    if _shared {
        shared_writes::record();
    }
}

/// Result of [`Rundown::close`] and [`Rundown::release`]: whether this call observed the drain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub enum Drain {
    /// The rundown is closed and nothing is in flight; this caller is the one that saw it happen.
    Drained,
    /// Not drained (yet), or drained already reported to someone else.
    Pending,
}

impl Rundown {
    /// A closed rundown: nothing may start until [`Rundown::reopen`]. For counts of one object
    /// (a connection's I/O); see [`Rundown::new_closed_shared`].
    pub const fn new_closed() -> Self {
        Self {
            word: AtomicU32::new(CLOSED),
            #[cfg(all(not(windows), not(chimney_uninstrumented)))]
            shared: false,
        }
    }

    /// [`Rundown::new_closed`] for an adapter- or binding-wide count: identical in the driver;
    /// in host builds its writes are counted by [`shared_writes`].
    pub const fn new_closed_shared() -> Self {
        Self {
            word: AtomicU32::new(CLOSED),
            #[cfg(all(not(windows), not(chimney_uninstrumented)))]
            shared: true,
        }
    }

    #[inline(always)]
    fn record_write(&self) {
        #[cfg(all(not(windows), not(chimney_uninstrumented)))]
        record_shared_write(self.shared);
    }

    /// Starts `n` operations if the rundown is open.
    pub fn try_acquire(&self, n: u32) -> bool {
        let mut current = self.word.load(Ordering::Relaxed);
        loop {
            if current & CLOSED != 0 {
                return false;
            }
            debug_assert!(current.checked_add(n).is_some_and(|v| v & CLOSED == 0));
            match self.word.compare_exchange_weak(
                current,
                current + n,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    self.record_write();
                    return true;
                }
                Err(seen) => current = seen,
            }
        }
    }

    /// Ends `n` operations started with [`Rundown::try_acquire`].
    pub fn release(&self, n: u32) -> Drain {
        self.record_write();
        let previous = self.word.fetch_sub(n, Ordering::AcqRel);
        debug_assert!(
            previous & !CLOSED >= n,
            "rundown released more than acquired"
        );
        if previous.wrapping_sub(n) == CLOSED {
            Drain::Drained
        } else {
            Drain::Pending
        }
    }

    /// Refuses new operations. Returns `Drained` if nothing is in flight now; otherwise the last
    /// [`Rundown::release`] returns `Drained`. Closing a closed, empty rundown returns `Drained`.
    pub fn close(&self) -> Drain {
        self.record_write();
        let previous = self.word.fetch_or(CLOSED, Ordering::AcqRel);
        if previous & !CLOSED == 0 {
            Drain::Drained
        } else {
            Drain::Pending
        }
    }

    /// Opens a closed, drained rundown again (restart after pause). Returns false (and changes
    /// nothing) if the rundown was not closed and empty, which the callers treat as a state bug.
    pub fn reopen(&self) -> bool {
        self.record_write();
        self.word
            .compare_exchange(CLOSED, 0, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
    }

    /// Operations in flight now (diagnostics only; racy by nature).
    #[cfg(any(test, not(windows)))]
    pub fn in_flight(&self) -> u32 {
        self.word.load(Ordering::Relaxed) & !CLOSED
    }
}

/// A rundown together with the event its closer waits on: the in-flight accounting every owner
/// of forwarded work needs. The release that drains a closed `Drainable` sets the event; `drain`
/// closes it and waits (PASSIVE_LEVEL) for that. The release is the releaser's last access.
pub struct Drainable {
    count: Rundown,
    drained: Event,
}

impl Drainable {
    /// Closed, like [`Rundown::new_closed`]. [`Drainable::init`] it in place before use. Every
    /// `Drainable` is adapter-, binding- or driver-wide: its writes count as shared.
    pub const fn new_closed() -> Self {
        Self {
            count: Rundown::new_closed_shared(),
            drained: Event::new(),
        }
    }

    /// Initialises the event at its final address (NDIS keeps the address).
    pub fn init(&self) {
        self.drained.init();
    }

    pub fn try_acquire(&self, n: u32) -> bool {
        self.count.try_acquire(n)
    }

    /// Ends `n` operations; the one that drains a closed count wakes the waiter.
    pub fn release(&self, n: u32) {
        if self.count.release(n) == Drain::Drained {
            self.drained.set();
        }
    }

    /// One operation for the span of a scope (a call into NDIS that needs the handle this count
    /// protects); the guard releases it when dropped.
    pub fn enter(&self) -> Option<RundownGuard<'_>> {
        // `then`, not `then_some`: the guard must not even exist (its drop releases) unless the
        // acquire succeeded.
        self.count
            .try_acquire(1)
            .then(|| RundownGuard { owner: self })
    }

    pub fn reopen(&self) -> bool {
        self.count.reopen()
    }

    /// Refuses new operations and waits until those in flight ended. PASSIVE_LEVEL.
    pub fn drain(&self) {
        self.drained.close_and_wait(|| self.count.close());
    }
}

/// One scoped operation on a [`Drainable`], ended when dropped.
#[must_use = "the operation ends when the guard is dropped"]
pub struct RundownGuard<'a> {
    owner: &'a Drainable,
}

impl Drop for RundownGuard<'_> {
    fn drop(&mut self) {
        self.owner.release(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_until_reopened() {
        let r = Rundown::new_closed();
        assert!(!r.try_acquire(1));
        assert!(r.reopen());
        assert!(r.try_acquire(3));
        assert_eq!(r.in_flight(), 3);
        assert!(!r.reopen(), "reopen of an open rundown must fail");
    }

    #[test]
    fn drain_reported_once_by_last_release() {
        let r = Rundown::new_closed();
        assert!(r.reopen());
        assert!(r.try_acquire(2));
        assert_eq!(r.close(), Drain::Pending);
        assert!(!r.try_acquire(1), "closed rundown refuses new work");
        assert_eq!(r.release(1), Drain::Pending);
        assert_eq!(r.release(1), Drain::Drained);
        assert!(r.reopen());
    }

    #[test]
    fn close_when_empty_drains_at_once_and_is_idempotent() {
        let r = Rundown::new_closed();
        assert!(r.reopen());
        assert_eq!(r.close(), Drain::Drained);
        assert_eq!(r.close(), Drain::Drained);
    }

    #[test]
    fn concurrent_releases_report_exactly_one_drain() {
        use std::sync::Arc;
        use std::sync::atomic::AtomicUsize;
        for _ in 0..50 {
            let r = Arc::new(Rundown::new_closed());
            assert!(r.reopen());
            assert!(r.try_acquire(4000));
            let drains = Arc::new(AtomicUsize::new(0));
            let closer = {
                let (r, d) = (r.clone(), drains.clone());
                std::thread::spawn(move || {
                    if r.close() == Drain::Drained {
                        d.fetch_add(1, Ordering::SeqCst);
                    }
                })
            };
            let workers: std::vec::Vec<_> = (0..4)
                .map(|_| {
                    let (r, d) = (r.clone(), drains.clone());
                    std::thread::spawn(move || {
                        for _ in 0..1000 {
                            if r.release(1) == Drain::Drained {
                                d.fetch_add(1, Ordering::SeqCst);
                            }
                        }
                    })
                })
                .collect();
            closer.join().unwrap();
            for w in workers {
                w.join().unwrap();
            }
            assert_eq!(drains.load(Ordering::SeqCst), 1);
        }
    }
}
