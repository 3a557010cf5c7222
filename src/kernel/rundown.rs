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
pub struct Rundown(AtomicU32);

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
    /// A closed rundown: nothing may start until [`Rundown::reopen`].
    pub const fn new_closed() -> Self {
        Self(AtomicU32::new(CLOSED))
    }

    /// Starts `n` operations if the rundown is open.
    pub fn try_acquire(&self, n: u32) -> bool {
        let mut current = self.0.load(Ordering::Relaxed);
        loop {
            if current & CLOSED != 0 {
                return false;
            }
            debug_assert!(current.checked_add(n).is_some_and(|v| v & CLOSED == 0));
            match self.0.compare_exchange_weak(
                current,
                current + n,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(seen) => current = seen,
            }
        }
    }

    /// Ends `n` operations started with [`Rundown::try_acquire`].
    pub fn release(&self, n: u32) -> Drain {
        let previous = self.0.fetch_sub(n, Ordering::AcqRel);
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
        let previous = self.0.fetch_or(CLOSED, Ordering::AcqRel);
        if previous & !CLOSED == 0 {
            Drain::Drained
        } else {
            Drain::Pending
        }
    }

    /// Opens a closed, drained rundown again (restart after pause). Returns false (and changes
    /// nothing) if the rundown was not closed and empty, which the callers treat as a state bug.
    pub fn reopen(&self) -> bool {
        self.0
            .compare_exchange(CLOSED, 0, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
    }

    /// Operations in flight now (diagnostics only; racy by nature).
    pub fn in_flight(&self) -> u32 {
        self.0.load(Ordering::Relaxed) & !CLOSED
    }

    pub fn is_open(&self) -> bool {
        self.0.load(Ordering::Relaxed) & CLOSED == 0
    }
}

/// One operation on a rundown for the span of a scope (a call into NDIS that needs the handle the
/// rundown protects): ends it when dropped, and if that drains a closed rundown, sets the event
/// its closer waits on. The release is the guard's last access to its owner.
#[must_use = "the operation ends when the guard is dropped"]
pub struct RundownGuard<'a> {
    rundown: &'a Rundown,
    drained: &'a Event,
}

impl Rundown {
    /// Starts one scoped operation if the rundown is open.
    pub fn enter<'a>(&'a self, drained: &'a Event) -> Option<RundownGuard<'a>> {
        // `then`, not `then_some`: the guard must not even exist (its drop releases) unless the
        // acquire succeeded.
        self.try_acquire(1).then(|| RundownGuard {
            rundown: self,
            drained,
        })
    }
}

impl Drop for RundownGuard<'_> {
    fn drop(&mut self) {
        if self.rundown.release(1) == Drain::Drained {
            self.drained.set();
        }
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
