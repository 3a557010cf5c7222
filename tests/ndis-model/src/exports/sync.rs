//! Events, spin locks and DbgPrint.

#![allow(
    non_snake_case,
    reason = "exports keep their ndis.sys / ntoskrnl names"
)]

use std::collections::HashMap;
use std::ffi::{CStr, c_char};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, PoisonError};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use chimney_im::ndis::*;

use super::{enter, guard};
use crate::irql;
use crate::verifier::Export as E;
use crate::world;

/// # Safety
/// Called by the driver with the documented arguments.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe extern "system-unwind" fn NdisInitializeEvent(event: *mut NdisEvent) {
    guard(E::NdisInitializeEvent, (), || {
        world::try_with(|w| {
            enter(w, E::NdisInitializeEvent, 31);
            w.events.insert(event as usize, false);
        });
    });
}

fn set_event(e: E, event: *mut NdisEvent, value: bool) {
    world::try_with(|w| {
        enter(w, e, DISPATCH_LEVEL);
        let known = w.events.contains_key(&(event as usize));
        if w.v.check("event.initialized", known, || {
            format!("{e}({event:p}): not an initialised event (never initialised, or its memory was freed)")
        }) {
            w.events.insert(event as usize, value);
        }
    });
    crate::sched::kick();
}

/// # Safety
/// Called by the driver with the documented arguments.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe extern "system-unwind" fn NdisSetEvent(event: *mut NdisEvent) {
    guard(E::NdisSetEvent, (), || {
        set_event(E::NdisSetEvent, event, true)
    });
}

/// # Safety
/// Called by the driver with the documented arguments.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe extern "system-unwind" fn NdisResetEvent(event: *mut NdisEvent) {
    guard(E::NdisResetEvent, (), || {
        set_event(E::NdisResetEvent, event, false)
    });
}

/// # Safety
/// Called by the driver with the documented arguments.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe extern "system-unwind" fn NdisWaitEvent(event: *mut NdisEvent, ms_to_wait: u32) -> u8 {
    guard(E::NdisWaitEvent, 0, || {
        let ev = event as usize;
        let Some((known, timeout)) = world::try_with(|w| {
            enter(w, E::NdisWaitEvent, PASSIVE_LEVEL);
            w.counters.waits += 1;
            let known = w.events.contains_key(&ev);
            w.v.check("event.initialized", known, || {
                format!("NdisWaitEvent({event:p}) on an uninitialised event")
            });
            (known, w.cfg.deadlock_timeout)
        }) else {
            return 0;
        };
        if !known {
            return 0;
        }
        let cond =
            || world::try_with(|w| w.events.get(&ev).copied().unwrap_or(false)).unwrap_or(false);
        if cond() {
            // Already signalled: NdisWaitEvent returns at once, the thread never blocks (and is
            // not counted as blocked: `threads_in_wait_event` means waiting for something).
            return 1;
        }
        let limit = (ms_to_wait > 0).then(|| Duration::from_millis(u64::from(ms_to_wait)));
        IN_WAIT_EVENT.fetch_add(1, Ordering::SeqCst);
        crate::sched::kick();
        let ok = crate::sched::wait_for(&cond, &crate::lower::release_all_held, timeout, limit);
        IN_WAIT_EVENT.fetch_sub(1, Ordering::SeqCst);
        if !ok && ms_to_wait == 0 {
            world::try_with(|w| {
                w.v.fail("event.wait_satisfied", || {
                    format!("NdisWaitEvent({event:p}, INFINITE): wait never satisfied (deadlock)")
                });
            });
        }
        u8::from(ok)
    })
}

/// Threads blocked in NdisWaitEvent now.
static IN_WAIT_EVENT: AtomicUsize = AtomicUsize::new(0);

/// How many threads are blocked in NdisWaitEvent now.
pub fn threads_in_wait_event() -> usize {
    IN_WAIT_EVENT.load(Ordering::SeqCst)
}

struct LockEntry {
    owner: ThreadId,
    old_irql: Kirql,
}

static LOCKS: Mutex<Option<HashMap<usize, LockEntry>>> = Mutex::new(None);
static LOCK_CV: Condvar = Condvar::new();

/// Spin locks currently held by anyone (for the teardown check).
pub fn held_spin_locks() -> Vec<usize> {
    let g = LOCKS.lock().unwrap_or_else(PoisonError::into_inner);
    g.as_ref()
        .map(|m| m.keys().copied().collect())
        .unwrap_or_default()
}

pub fn reset_spin_locks() {
    *LOCKS.lock().unwrap_or_else(PoisonError::into_inner) = Some(HashMap::new());
}

/// Takes `lock` for the calling thread (true) or reports why not (false).
fn take(lock: usize, old_irql: Kirql) -> bool {
    if irql::held_locks().contains(&lock) {
        world::try_with(|w| {
            w.v.fail("spinlock.no_recursive_acquire", || {
                format!("spin lock {lock:#x} acquired recursively (deadlock on real hardware)")
            })
        });
        return false;
    }
    let timeout = world::try_with(|w| w.cfg.deadlock_timeout).unwrap_or(Duration::from_secs(5));
    let start = Instant::now();
    let mut g = LOCKS.lock().unwrap_or_else(PoisonError::into_inner);
    let me = std::thread::current().id();
    loop {
        let m = g.get_or_insert_with(HashMap::new);
        if !m.contains_key(&lock) || start.elapsed() >= timeout {
            let stolen = m
                .insert(
                    lock,
                    LockEntry {
                        owner: me,
                        old_irql,
                    },
                )
                .is_some();
            drop(g);
            if stolen {
                world::try_with(|w| {
                    w.v.fail("spinlock.acquire_deadlock", || {
                        format!("spin lock {lock:#x} never released by its owner")
                    })
                });
            }
            irql::push_lock(lock);
            world::try_with(|w| w.counters.spin_acquires += 1);
            return true;
        }
        g = LOCK_CV
            .wait_timeout(g, Duration::from_millis(1))
            .unwrap_or_else(PoisonError::into_inner)
            .0;
    }
}

/// Releases `lock`; returns the IRQL recorded at acquisition if the caller owned it.
fn give(lock: usize) -> Option<Kirql> {
    if !irql::pop_lock(lock) {
        world::try_with(|w| {
            w.v.fail("spinlock.release_by_owner", || {
                format!("spin lock {lock:#x} released by a thread that does not hold it")
            })
        });
        return None;
    }
    let mut g = LOCKS.lock().unwrap_or_else(PoisonError::into_inner);
    let e = g.get_or_insert_with(HashMap::new).remove(&lock);
    LOCK_CV.notify_all();
    e.map(|e| {
        debug_assert_eq!(e.owner, std::thread::current().id());
        e.old_irql
    })
}

/// # Safety
/// Called by the driver with the documented arguments.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe extern "system-unwind" fn KeAcquireSpinLockRaiseToDpc(
    spin_lock: *mut KspinLock,
) -> Kirql {
    guard(E::KeAcquireSpinLockRaiseToDpc, DISPATCH_LEVEL, || {
        world::try_with(|w| enter(w, E::KeAcquireSpinLockRaiseToDpc, DISPATCH_LEVEL));
        let old = irql::current();
        if take(spin_lock as usize, old) {
            irql::set(DISPATCH_LEVEL);
        }
        old
    })
}

/// # Safety
/// Called by the driver with the documented arguments.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe extern "system-unwind" fn KeReleaseSpinLock(spin_lock: *mut KspinLock, new_irql: Kirql) {
    guard(E::KeReleaseSpinLock, (), || {
        world::try_with(|w| enter(w, E::KeReleaseSpinLock, DISPATCH_LEVEL));
        if let Some(old) = give(spin_lock as usize) {
            world::try_with(|w| {
                w.v.check(
                    "spinlock.release_restores_old_irql",
                    old == new_irql,
                    || {
                        format!(
                            "KeReleaseSpinLock({spin_lock:p}, {new_irql}): acquired at IRQL {old}"
                        )
                    },
                );
            });
        }
        irql::set(new_irql);
    });
}

/// # Safety
/// Called by the driver with the documented arguments.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe extern "system-unwind" fn KeAcquireSpinLockAtDpcLevel(spin_lock: *mut KspinLock) {
    guard(E::KeAcquireSpinLockAtDpcLevel, (), || {
        world::try_with(|w| {
            enter(w, E::KeAcquireSpinLockAtDpcLevel, DISPATCH_LEVEL);
            let cur = irql::current();
            w.v.check(
                "spinlock.dpc_variant_at_dispatch",
                cur == DISPATCH_LEVEL,
                || format!("KeAcquireSpinLockAtDpcLevel at IRQL {cur}"),
            );
        });
        take(spin_lock as usize, DISPATCH_LEVEL);
    });
}

/// # Safety
/// Called by the driver with the documented arguments.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe extern "system-unwind" fn KeReleaseSpinLockFromDpcLevel(spin_lock: *mut KspinLock) {
    guard(E::KeReleaseSpinLockFromDpcLevel, (), || {
        world::try_with(|w| {
            enter(w, E::KeReleaseSpinLockFromDpcLevel, DISPATCH_LEVEL);
            let cur = irql::current();
            w.v.check(
                "spinlock.dpc_variant_at_dispatch",
                cur == DISPATCH_LEVEL,
                || format!("KeReleaseSpinLockFromDpcLevel at IRQL {cur}"),
            );
        });
        give(spin_lock as usize);
    });
}

/// `DbgPrint`, declared non-variadic: the driver only calls `DbgPrint("%s", msg)`.
///
/// # Safety
/// `format` and `arg` are NUL-terminated strings (or `arg` NULL).
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe extern "C-unwind" fn DbgPrint(format: *const c_char, arg: *const c_char) -> i32 {
    guard(E::DbgPrint, 0, || {
        let read = |p: *const c_char| {
            // SAFETY: the caller passes NUL-terminated strings.
            (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
        };
        let fmt = read(format).unwrap_or_default();
        let line = if fmt == "%s" {
            read(arg).unwrap_or_default()
        } else {
            fmt
        };
        world::try_with(|w| {
            if w.cfg.trace {
                eprint!("[driver] {line}");
            }
            w.dbg.push(line);
        });
        0
    })
}
