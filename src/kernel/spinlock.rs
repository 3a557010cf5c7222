//! A `KSPIN_LOCK`-based spin lock owning its data. Cold paths only (the binding list); the
//! per-NBL paths are lock-free. The guard must be dropped before calling into NDIS.

use core::cell::UnsafeCell;
use core::ops::{Deref, DerefMut};

use crate::ndis::imports::{KeAcquireSpinLockRaiseToDpc, KeReleaseSpinLock};
use crate::ndis::{Kirql, KspinLock};

pub struct SpinLock<T> {
    lock: UnsafeCell<KspinLock>,
    data: UnsafeCell<T>,
}

// SAFETY: the data is only reachable through a guard, which holds the kernel spin lock.
unsafe impl<T: Send> Sync for SpinLock<T> {}
// SAFETY: as for Mutex<T>.
unsafe impl<T: Send> Send for SpinLock<T> {}

impl<T> SpinLock<T> {
    /// `KeInitializeSpinLock` is an inline on x64 that stores zero.
    pub const fn new(data: T) -> Self {
        Self {
            lock: UnsafeCell::new(0),
            data: UnsafeCell::new(data),
        }
    }

    /// Raises to DISPATCH_LEVEL and acquires. Callers must be at IRQL <= DISPATCH_LEVEL.
    pub fn lock(&self) -> SpinLockGuard<'_, T> {
        // SAFETY: the KSPIN_LOCK lives as long as `self` and is only used through this type.
        let old_irql = unsafe { KeAcquireSpinLockRaiseToDpc(self.lock.get()) };
        SpinLockGuard {
            owner: self,
            old_irql,
        }
    }
}

pub struct SpinLockGuard<'a, T> {
    owner: &'a SpinLock<T>,
    old_irql: Kirql,
}

impl<T> Deref for SpinLockGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the spin lock, so access is exclusive.
        unsafe { &*self.owner.data.get() }
    }
}

impl<T> DerefMut for SpinLockGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the spin lock, so access is exclusive.
        unsafe { &mut *self.owner.data.get() }
    }
}

impl<T> Drop for SpinLockGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: this guard acquired the lock and restores the IRQL it returned.
        unsafe { KeReleaseSpinLock(self.owner.lock.get(), self.old_irql) }
    }
}
