//! Per-thread IRQL, the spin locks a thread holds, and calls into driver handlers.

use std::cell::{Cell, RefCell};

use chimney_im::ndis::{DISPATCH_LEVEL, Kirql, PASSIVE_LEVEL};

thread_local! {
    static IRQL: Cell<Kirql> = const { Cell::new(PASSIVE_LEVEL) };
    static HELD_LOCKS: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
    static IS_WORKER: Cell<bool> = const { Cell::new(false) };
    static DRIVER_DEPTH: Cell<u32> = const { Cell::new(0) };
}

pub fn current() -> Kirql {
    IRQL.with(Cell::get)
}

pub fn set(irql: Kirql) {
    IRQL.with(|c| c.set(irql));
}

pub fn at_dispatch() -> bool {
    current() >= DISPATCH_LEVEL
}

/// Spin locks (by address) the calling thread holds, in acquisition order.
pub fn held_locks() -> Vec<usize> {
    HELD_LOCKS.with(|h| h.borrow().clone())
}

pub fn push_lock(addr: usize) {
    HELD_LOCKS.with(|h| h.borrow_mut().push(addr));
}

/// Removes `addr` from the thread's held set; false if it was not held.
pub fn pop_lock(addr: usize) -> bool {
    HELD_LOCKS.with(|h| {
        let mut h = h.borrow_mut();
        match h.iter().rposition(|a| *a == addr) {
            Some(i) => {
                h.remove(i);
                true
            }
            None => false,
        }
    })
}

pub fn is_worker() -> bool {
    IS_WORKER.with(Cell::get)
}

pub fn mark_worker() {
    IS_WORKER.with(|c| c.set(true));
}

/// How many driver handlers the calling thread is inside (0 when it is not in the driver).
pub fn driver_depth() -> u32 {
    DRIVER_DEPTH.with(Cell::get)
}

/// A handler call unwound (the driver image faulted): back to the caller's depth, IRQL and held
/// spin locks, forgetting what the abandoned frames raised or acquired.
pub fn unwound_from_driver(depth: u32, irql: Kirql, locks: usize) {
    DRIVER_DEPTH.with(|d| d.set(depth));
    HELD_LOCKS.with(|h| h.borrow_mut().truncate(locks));
    set(irql);
}

/// What a handler left behind when it returned.
#[derive(Debug)]
pub struct HandlerExit {
    pub irql_after: Kirql,
    pub locks_after: Vec<usize>,
}

/// Calls a driver handler at `irql` and restores the caller's IRQL afterwards. Reports the IRQL
/// and spin locks the handler returned with (the caller records violations: no lock is held here).
pub fn call_at<R>(irql: Kirql, f: impl FnOnce() -> R) -> (R, Option<HandlerExit>) {
    let prev = current();
    let locks_before = held_locks().len();
    set(irql);
    DRIVER_DEPTH.with(|d| d.set(d.get() + 1));
    let r = f();
    DRIVER_DEPTH.with(|d| d.set(d.get() - 1));
    let after = current();
    let locks = held_locks();
    let bad = after != irql || locks.len() != locks_before;
    let exit = bad.then(|| HandlerExit {
        irql_after: after,
        locks_after: locks.clone(),
    });
    if locks.len() != locks_before {
        // Forget locks the handler leaked so later checks on this thread are not poisoned.
        HELD_LOCKS.with(|h| h.borrow_mut().truncate(locks_before));
    }
    set(prev);
    (r, exit)
}
