//! The DPC worker thread, the work queue, and waits.
//!
//! Determinism: the worker only runs queued work while some thread is waiting (in
//! `run_until_idle`, in NdisWaitEvent, or in a model wait for a pending completion), and only one
//! item per grant of the waiting thread, which re-checks what it waits for between items. So at
//! any time exactly one thread executes driver code, in an order fixed by the seed.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chimney_im::ndis::Kirql;

use crate::irql;

/// A unit of deferred work, run at `irql` on the worker thread.
pub struct Work {
    pub irql: Kirql,
    /// What the work is (shown in traces).
    #[allow(dead_code, reason = "kept for debugging traces")]
    pub label: &'static str,
    pub f: Box<dyn FnOnce() + Send>,
}

struct State {
    queue: VecDeque<Work>,
    running: usize,
    /// Items the worker may start (granted one at a time by a waiting thread).
    permits: usize,
    shutdown: bool,
    epoch: u64,
}

static STATE: Mutex<State> = Mutex::new(State {
    queue: VecDeque::new(),
    running: 0,
    permits: 0,
    shutdown: false,
    epoch: 0,
});
static CV: Condvar = Condvar::new();

fn lock() -> MutexGuard<'static, State> {
    STATE.lock().unwrap_or_else(PoisonError::into_inner)
}

pub fn enqueue(irql: Kirql, label: &'static str, f: impl FnOnce() + Send + 'static) {
    let mut s = lock();
    s.queue.push_back(Work {
        irql,
        label,
        f: Box::new(f),
    });
    s.epoch += 1;
    CV.notify_all();
}

/// Wakes waiters (an event was set, a completion arrived).
pub fn kick() {
    let mut s = lock();
    s.epoch += 1;
    CV.notify_all();
}

fn run_item(w: Work) {
    let prev = irql::current();
    irql::set(w.irql);
    // A fault in the driver image fails the item (the violation is recorded). On the test
    // thread the failure goes on to the test; the DPC thread keeps serving the queue.
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(w.f));
    irql::set(prev);
    {
        let mut s = lock();
        s.epoch += 1;
        CV.notify_all();
    }
    if let Err(p) = r
        && !irql::is_worker()
    {
        std::panic::resume_unwind(p);
    }
}

pub fn start_worker() -> JoinHandle<()> {
    {
        let mut s = lock();
        s.shutdown = false;
        s.queue.clear();
        s.running = 0;
        s.permits = 0;
    }
    std::thread::Builder::new()
        .name("ndis-model-dpc".into())
        .spawn(|| {
            irql::mark_worker();
            // The DPC worker runs on the last processor: a test thread on processor 0 (the
            // default for the first thread) forwards, the worker completes deferred and
            // released work elsewhere, as a completion DPC on another CPU does.
            let processors = crate::exports::processor::processor_count();
            crate::exports::processor::set_current_processor(Some(processors - 1));
            loop {
                let w = {
                    let mut s = lock();
                    loop {
                        if s.shutdown {
                            return;
                        }
                        if s.permits > 0
                            && let Some(w) = s.queue.pop_front()
                        {
                            s.permits -= 1;
                            s.running += 1;
                            break w;
                        }
                        s = CV.wait(s).unwrap_or_else(PoisonError::into_inner);
                    }
                };
                run_item(w);
                let mut s = lock();
                s.running -= 1;
                CV.notify_all();
            }
        })
        .unwrap_or_else(|e| panic!("ndis-model: cannot start the DPC thread: {e}"))
}

/// Stops the worker; queued work is dropped (returned count).
pub fn stop_worker(h: JoinHandle<()>) -> usize {
    let dropped = {
        let mut s = lock();
        s.shutdown = true;
        let n = s.queue.len();
        s.queue.clear();
        CV.notify_all();
        n
    };
    let _ = h.join();
    dropped
}

/// Waits (a non-worker thread) until no item is running or about to run, at most `limit`
/// without progress. Epoch changes count as progress.
fn settle(seen_epoch: &mut u64, progress: &mut Instant, limit: Duration) {
    let mut s = lock();
    loop {
        if s.epoch != *seen_epoch {
            *seen_epoch = s.epoch;
            *progress = Instant::now();
        }
        let busy = s.running > 0 || (s.permits > 0 && !s.queue.is_empty());
        if !busy || progress.elapsed() >= limit {
            return;
        }
        s = CV
            .wait_timeout(s, Duration::from_millis(2))
            .unwrap_or_else(PoisonError::into_inner)
            .0;
    }
}

/// Grants the worker the next queued item (a non-worker thread, after `settle`). False when
/// nothing is queued.
fn grant(progress: &mut Instant) -> bool {
    let mut s = lock();
    s.permits = 0;
    if s.queue.is_empty() {
        return false;
    }
    s.permits = 1;
    CV.notify_all();
    *progress = Instant::now();
    true
}

/// Waits until `cond` holds. Queued work runs meanwhile; when nothing is queued or running, held
/// completions are released (`release_held`, time passes). Returns false after `no_progress`
/// without any progress, or when `limit` elapsed.
pub fn wait_for(
    cond: &dyn Fn() -> bool,
    release_held: &dyn Fn() -> bool,
    no_progress: Duration,
    limit: Option<Duration>,
) -> bool {
    let start = Instant::now();
    let mut last_progress = Instant::now();
    let mut seen_epoch = lock().epoch;
    let worker = irql::is_worker();
    loop {
        if !worker {
            settle(&mut seen_epoch, &mut last_progress, no_progress);
        }
        if cond() {
            return true;
        }
        if let Some(l) = limit
            && start.elapsed() >= l
        {
            return false;
        }
        if worker {
            let w = lock().queue.pop_front();
            if let Some(w) = w {
                run_item(w);
                last_progress = Instant::now();
                continue;
            }
        } else if grant(&mut last_progress) {
            continue;
        }
        if release_held() {
            last_progress = Instant::now();
            continue;
        }
        if last_progress.elapsed() >= no_progress {
            return cond();
        }
        let s = lock();
        let _ = CV
            .wait_timeout(s, Duration::from_millis(1))
            .unwrap_or_else(PoisonError::into_inner);
    }
}

/// Lets the worker start the next queued item and waits (a non-worker thread) until `cond`
/// holds, at most `limit`, without settling: the item may still be running (blocked in a wait)
/// when this returns. For interleaving tests only.
pub fn grant_one_until(cond: &dyn Fn() -> bool, limit: Duration) -> bool {
    let start = Instant::now();
    let mut progress = Instant::now();
    grant(&mut progress);
    loop {
        if cond() {
            return true;
        }
        if start.elapsed() >= limit {
            return false;
        }
        let s = lock();
        let _ = CV
            .wait_timeout(s, Duration::from_millis(1))
            .unwrap_or_else(PoisonError::into_inner);
    }
}

/// The worker thread, inside an item, stops running driver code until `resume` holds (at most
/// `limit`): the item counts as not running meanwhile, so a thread waiting for it re-checks what
/// it waits for and runs driver code of its own, as a thread PnP preempted mid-handler lets
/// another run. For interleaving scenarios only; false when `limit` elapsed.
pub fn park_worker_until(resume: &dyn Fn() -> bool, limit: Duration) -> bool {
    debug_assert!(irql::is_worker());
    {
        let mut s = lock();
        s.running -= 1;
        s.epoch += 1;
        CV.notify_all();
    }
    let start = Instant::now();
    let resumed = loop {
        if resume() {
            break true;
        }
        if start.elapsed() >= limit {
            break false;
        }
        let s = lock();
        let _ = CV
            .wait_timeout(s, Duration::from_millis(1))
            .unwrap_or_else(PoisonError::into_inner);
    };
    let mut s = lock();
    s.running += 1;
    s.epoch += 1;
    CV.notify_all();
    resumed
}

/// Runs queued work until none is left (held work stays held).
pub fn run_until_idle() {
    if irql::is_worker() {
        loop {
            let w = lock().queue.pop_front();
            match w {
                Some(w) => run_item(w),
                None => return,
            }
        }
    }
    let mut seen = lock().epoch;
    let mut progress = Instant::now();
    loop {
        settle(&mut seen, &mut progress, Duration::MAX);
        if !grant(&mut progress) {
            return;
        }
    }
}
