//! The benchmark itself (host builds: it reaches kernel-layer internals through
//! `chimney_im::host_probe`).

use std::hint::black_box;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use chimney_im::host_probe::Rundown;
use chimney_im::host_probe::{PerCpuCounts, Slot};
use ndis_model::testkit::{offload_now, one_chimney_adapter};
use ndis_model::{AdapterId, ChimneyPolicy, Completion};

const A: AdapterId = AdapterId(0);

pub fn main() {
    let quick = std::env::args().any(|a| a == "quick");
    if cfg!(not(chimney_uninstrumented)) {
        eprintln!(
            "scaling: built without --cfg chimney_uninstrumented: the shared-write counter \
             distorts the accounting figures"
        );
    }
    if std::env::var_os("SCALING_SWEEP_ONLY").is_none() {
        accounting(if quick { 2_000_000 } else { 20_000_000 });
    }
    sweep(quick);
}

/// A connection's own count, alone on its line pair as an offload entry would be.
#[repr(align(128))]
struct Connection(Rundown);

trait Accounting: Sync + Send {
    fn forward(&self, cpu: usize, conn: &Rundown) -> bool;
    fn complete(&self, cpu: usize, conn: &Rundown);
}

/// Today: adapter and binding counts shared by every CPU.
struct Shared {
    adapter: Rundown,
    _pad: [u8; 128],
    binding: Rundown,
}

impl Accounting for Shared {
    fn forward(&self, _cpu: usize, conn: &Rundown) -> bool {
        self.adapter.try_acquire(1) && self.binding.try_acquire(1) && conn.try_acquire(1)
    }
    fn complete(&self, _cpu: usize, conn: &Rundown) {
        let _ = conn.release(1);
        let _ = self.binding.release(1);
        let _ = self.adapter.release(1);
    }
}

/// Per processor: adapter and binding counts with one slot per CPU.
struct PerCpu {
    adapter: PerCpuCounts<Vec<Slot>>,
    binding: PerCpuCounts<Vec<Slot>>,
}

impl Accounting for PerCpu {
    fn forward(&self, cpu: usize, conn: &Rundown) -> bool {
        self.adapter.try_acquire_on(cpu, 1)
            && self.binding.try_acquire_on(cpu, 1)
            && conn.try_acquire(1)
    }
    fn complete(&self, cpu: usize, conn: &Rundown) {
        let _ = conn.release(1);
        let _ = self.binding.release_on(cpu, 1);
        let _ = self.adapter.release_on(cpu, 1);
    }
}

/// NBLs per second per thread, `threads` threads each on its own connection and CPU slot.
fn run(acc: Arc<dyn Accounting>, threads: usize, nbls: u64) -> f64 {
    let start = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|cpu| {
            let (acc, start) = (acc.clone(), start.clone());
            std::thread::spawn(move || {
                let conn = Connection(Rundown::new_closed());
                assert!(conn.0.reopen());
                start.wait();
                let t = Instant::now();
                for _ in 0..nbls {
                    assert!(acc.forward(cpu, black_box(&conn.0)));
                    acc.complete(cpu, black_box(&conn.0));
                }
                nbls as f64 / t.elapsed().as_secs_f64()
            })
        })
        .collect();
    let rates: Vec<f64> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    rates.iter().sum::<f64>() / threads as f64
}

fn best_of(n: usize, mut f: impl FnMut() -> f64) -> f64 {
    (0..n).map(|_| f()).fold(0.0, f64::max)
}

fn accounting(nbls: u64) {
    let shared = || -> Arc<dyn Accounting> {
        let s = Shared {
            adapter: Rundown::new_closed(),
            _pad: [0; 128],
            binding: Rundown::new_closed(),
        };
        assert!(s.adapter.reopen() && s.binding.reopen());
        Arc::new(s)
    };
    let per_cpu = || -> Arc<dyn Accounting> {
        let slots = || (0..2).map(|_| Slot::new_closed()).collect::<Vec<_>>();
        let p = PerCpu {
            adapter: PerCpuCounts::new_closed(slots()).expect("two slots"),
            binding: PerCpuCounts::new_closed(slots()).expect("two slots"),
        };
        assert!(p.adapter.reopen() && p.binding.reopen());
        Arc::new(p)
    };
    println!("accounting per NBL round trip, disjoint connections ({nbls} NBLs per thread):");
    println!(
        "| Accounting | 1 thread (M NBL/s) | 2 threads (M NBL/s per thread) | 2-thread total / 1-thread |"
    );
    println!("|---|---|---|---|");
    for (name, make) in [
        (
            "today: adapter + binding shared",
            &shared as &dyn Fn() -> Arc<dyn Accounting>,
        ),
        ("per processor", &per_cpu),
    ] {
        let one = best_of(3, || run(make(), 1, nbls));
        let two = best_of(3, || run(make(), 2, nbls));
        println!(
            "| {name} | {:.1} | {:.1} | {:.2}x |",
            one / 1e6,
            two / 1e6,
            2.0 * two / one
        );
    }
}

/// Wall time per NBL of chimney receive round trips on a fresh connection, with `others`
/// connections offloaded (one chain of 8 posted and held on each) and `in_flight` more NBLs
/// posted and held on one connection.
fn chimney_round_trip(others: usize, in_flight: usize, rounds: usize) -> Duration {
    let mut m = one_chimney_adapter(
        ChimneyPolicy {
            io_completion: Completion::Held,
            state_completion: Completion::Inline,
            ..ChimneyPolicy::default()
        },
        8,
    );
    for _ in 0..others {
        let c = offload_now(&mut m, A);
        m.host_post_receives(c, 1, 8, 100);
    }
    if in_flight > 0 {
        let c = offload_now(&mut m, A);
        for _ in 0..in_flight.div_ceil(8) {
            m.host_post_receives(c, 1, 8, 100);
        }
    }
    let measured = offload_now(&mut m, A);
    let mut best = Duration::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        for _ in 0..rounds {
            m.host_post_receives(measured, 1, 8, 100);
            m.target_complete_conn(measured, None);
        }
        best = best.min(t.elapsed() / (rounds as u32 * 8));
    }
    m.release_all();
    let r = m.unload();
    assert!(r.violations.is_empty(), "{r}");
    best
}

fn sweep(quick: bool) {
    let rounds = if quick { 500 } else { 5_000 };
    let (mut conns, mut big): (Vec<usize>, usize) = if quick {
        (vec![1, 1_024], 100_000)
    } else {
        (vec![1, 1_024, 65_536], 1_000_000)
    };
    // SCALING_CONNS=1,1024,... and SCALING_IN_FLIGHT=n override the sweep points.
    if let Ok(list) = std::env::var("SCALING_CONNS") {
        conns = list
            .split(',')
            .map(|n| n.parse().expect("a number"))
            .collect();
    }
    if let Ok(n) = std::env::var("SCALING_IN_FLIGHT") {
        big = n.parse().expect("a number");
    }

    println!();
    println!("chimney receive round trip through the NDIS model (driver + model), per NBL:");
    println!("| Load | ns per NBL |");
    println!("|---|---|");
    let mut all = Vec::new();
    for &c in &conns {
        let setup = Instant::now();
        let t = chimney_round_trip(c, 0, rounds);
        eprintln!(
            "scaling: {c} connections: {:.1} s in all",
            setup.elapsed().as_secs_f64()
        );
        println!("| {c} other connections offloaded | {} |", t.as_nanos());
        all.push(t);
    }
    for n in [1, big] {
        let t = chimney_round_trip(0, n, rounds);
        println!("| {n} NBLs in flight | {} |", t.as_nanos());
        all.push(t);
    }
    let (lo, hi) = (all.iter().min().unwrap(), all.iter().max().unwrap());
    println!(
        "spread (slowest / fastest): {:.2}x",
        hi.as_secs_f64() / lo.as_secs_f64()
    );
}
