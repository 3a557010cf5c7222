//! 1 vs 2 threads forwarding on disjoint connections: the per-NBL accounting of each path,
//! exactly as `state::forward` takes and gives it back, with the driver's own count types.
//!
//! Per path (`state::forward::Path`): a plain send takes `Binding::nbls_below` (the NBLs
//! down); a plain receive indication `Adapter::nbls_in_flight` (the indications up); a chimney
//! post `Binding::nbls_below` plus one reference on its connection's offload entry
//! (`OffloadEntry::refs`, one word per connection). The completion gives them back, entry
//! first. The two data-path counts are per-processor (`PerCpuCounts`, one 128-byte slot per
//! CPU, the core of `PerCpuRundown` and of the gated `nbls_below`); each thread is one CPU with
//! its own connection, forwarding and completing 1-NBL chains (the most accounting per NBL).
//! The control variant keeps each count in one shared word (`Rundown`), as before the wiring:
//! it shows what sharing costs, so the benchmark can tell the two apart.
//!
//! Wall clock on a machine shared with other jobs: the run repeats each measurement and reports
//! the median and the range of the 2-thread/1-thread ratio.

use std::hint::black_box;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use chimney_im::host_probe::Rundown;
use chimney_im::host_probe::{PerCpuCounts, Slot};

/// A repetition counts as clean when every thread was on a CPU for at least this share of its
/// measured interval.
const CLEAN: f64 = 0.9;

/// One count of the adapter or the binding, taken on processor `cpu`.
trait Count: Sync + Send {
    fn acquire(&self, cpu: usize) -> bool;
    fn release(&self, cpu: usize);
}

impl Count for PerCpuCounts<Vec<Slot>> {
    fn acquire(&self, cpu: usize) -> bool {
        self.try_acquire_on(cpu, 1)
    }
    fn release(&self, cpu: usize) {
        let _ = self.release_on(cpu, 1);
    }
}

/// A shared word alone on its line pair.
#[repr(align(128))]
struct Line(Rundown);

impl Count for Line {
    fn acquire(&self, _cpu: usize) -> bool {
        self.0.try_acquire(1)
    }
    fn release(&self, _cpu: usize) {
        let _ = self.0.release(1);
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Path {
    PlainSend,
    PlainReceive,
    ChimneyPost,
}

impl Path {
    fn name(self) -> &'static str {
        match self {
            Path::PlainSend => "plain send",
            Path::PlainReceive => "plain receive",
            Path::ChimneyPost => "chimney receive post",
        }
    }
}

struct Accounting {
    /// `Adapter::nbls_in_flight`: indications up.
    up: Box<dyn Count>,
    /// `Binding::nbls_below`: NBLs down.
    down: Box<dyn Count>,
}

impl Accounting {
    fn per_cpu(cpus: usize) -> Self {
        let counts = || {
            let c = PerCpuCounts::new_closed((0..cpus).map(|_| Slot::new_closed()).collect())
                .expect("at least one slot");
            assert!(c.reopen());
            Box::new(c)
        };
        Self {
            up: counts(),
            down: counts(),
        }
    }

    fn shared() -> Self {
        let word = || {
            let l = Line(Rundown::new_closed());
            assert!(l.0.reopen());
            Box::new(l)
        };
        Self {
            up: word(),
            down: word(),
        }
    }

    /// `state::forward::take`: the path's count, then the entry (chimney).
    #[inline(always)]
    fn forward(&self, path: Path, cpu: usize, entry: &Rundown) -> bool {
        match path {
            Path::PlainSend => self.down.acquire(cpu),
            Path::PlainReceive => self.up.acquire(cpu),
            Path::ChimneyPost => self.down.acquire(cpu) && entry.try_acquire(1),
        }
    }

    /// The completion: entry, then the path's count.
    #[inline(always)]
    fn complete(&self, path: Path, cpu: usize, entry: &Rundown) {
        match path {
            Path::PlainSend => self.down.release(cpu),
            Path::PlainReceive => self.up.release(cpu),
            Path::ChimneyPost => {
                let _ = entry.release(1);
                self.down.release(cpu);
            }
        }
    }
}

/// A connection's offload entry count, on its own line pair as the pool-allocated entry is.
#[repr(align(128))]
struct Entry(Rundown);

/// Pins the calling thread to `cpu` with taskset (best effort); whether it worked.
fn pin_to(cpu: usize) -> bool {
    let Ok(me) = std::fs::read_link("/proc/thread-self") else {
        return false;
    };
    let Some(tid) = me.file_name().and_then(|t| t.to_str()).map(str::to_owned) else {
        return false;
    };
    std::process::Command::new("taskset")
        .args(["-pc", &cpu.to_string(), &tid])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// This thread's time on a CPU so far (`/proc/thread-self/schedstat`, first field, ns).
fn on_cpu() -> Option<Duration> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace()
        .next()?
        .parse()
        .ok()
        .map(Duration::from_nanos)
}

/// One run: NBLs per second per thread (wall clock), and the smallest share of its interval
/// any thread spent on a CPU (1.0: no thread was preempted by another job; contention between
/// the threads themselves stays inside the share, it stalls on the CPU).
fn run(acc: &Arc<Accounting>, path: Path, threads: usize, nbls: u64, pin: bool) -> (f64, f64) {
    let start = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|cpu| {
            let (acc, start) = (acc.clone(), start.clone());
            std::thread::spawn(move || {
                if pin {
                    pin_to(cpu);
                }
                let entry = Entry(Rundown::new_closed());
                assert!(entry.0.reopen());
                start.wait();
                let (t, c) = (Instant::now(), on_cpu());
                for _ in 0..nbls {
                    assert!(acc.forward(path, cpu, black_box(&entry.0)));
                    acc.complete(path, cpu, black_box(&entry.0));
                }
                let wall = t.elapsed();
                let share = c
                    .zip(on_cpu())
                    .map_or(1.0, |(a, b)| (b - a).as_secs_f64() / wall.as_secs_f64());
                (nbls as f64 / wall.as_secs_f64(), share)
            })
        })
        .collect();
    let runs: Vec<(f64, f64)> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let rate = runs.iter().map(|r| r.0).sum::<f64>() / threads as f64;
    let share = runs.iter().map(|r| r.1).fold(f64::MAX, f64::min);
    (rate, share)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Runs every path and variant `reps` times (1 thread, then 2, back to back in each repetition)
/// and prints the Markdown table.
pub fn main(nbls: u64, reps: usize) {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let pin = cpus >= 2 && pin_to(0);
    // Back to all CPUs for the main thread (pin_to(0) above was only the probe).
    if pin {
        let _ = std::process::Command::new("taskset")
            .args([
                "-pc",
                &format!("0-{}", cpus - 1),
                &std::process::id().to_string(),
            ])
            .stdout(std::process::Stdio::null())
            .status();
    }
    println!(
        "accounting per NBL, 1 vs 2 threads on disjoint connections ({nbls} 1-NBL round trips \
         per thread, {reps} repetitions, {cpus} CPUs, threads pinned: {pin}):"
    );
    println!(
        "| Path | Accounting | 1 thread (M NBL/s) | 2 threads (M NBL/s per thread) | 2-thread total / 1-thread: median (range) | Clean repetitions |"
    );
    println!("|---|---|---|---|---|---|");
    // SCALING_PATHS=word,...: only the paths whose name contains one of the words.
    let only = std::env::var("SCALING_PATHS").ok();
    let wanted = |p: Path| {
        only.as_deref()
            .is_none_or(|o| o.split(',').any(|w| p.name().contains(w)))
    };
    for path in [Path::PlainSend, Path::PlainReceive, Path::ChimneyPost] {
        if !wanted(path) {
            continue;
        }
        for (name, per_cpu) in [
            ("per processor (the driver)", true),
            ("one shared word (control)", false),
        ] {
            let make = || {
                Arc::new(if per_cpu {
                    Accounting::per_cpu(2)
                } else {
                    Accounting::shared()
                })
            };
            let mut reps_seen = Vec::new();
            for _ in 0..reps {
                let (a, sa) = run(&make(), path, 1, nbls, pin);
                let (b, sb) = run(&make(), path, 2, nbls, pin);
                reps_seen.push((a / 1e6, b / 1e6, 2.0 * b / a, sa.min(sb) >= CLEAN));
            }
            // Repetitions in which no thread lost more than 10% of its interval to other jobs;
            // all of them if there is none.
            let clean: Vec<_> = reps_seen.iter().filter(|r| r.3).copied().collect();
            let used = if clean.is_empty() { &reps_seen } else { &clean };
            let col = |f: fn(&(f64, f64, f64, bool)) -> f64| {
                let mut v: Vec<f64> = used.iter().map(f).collect();
                let (lo, hi) = v
                    .iter()
                    .fold((f64::MAX, 0.0f64), |(l, h), x| (l.min(*x), h.max(*x)));
                (median(&mut v), lo, hi)
            };
            let ((one, ..), (two, ..), (ratio, lo, hi)) =
                (col(|r| r.0), col(|r| r.1), col(|r| r.2));
            println!(
                "| {} | {name} | {one:.1} | {two:.1} | {ratio:.2}× ({lo:.2}–{hi:.2}) | {}/{} |",
                path.name(),
                clean.len(),
                reps_seen.len(),
            );
        }
    }
}
