//! The benchmark itself (host builds: it reaches kernel-layer internals through
//! `chimney_im::host_probe`).

use std::time::{Duration, Instant};

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
        let reps = std::env::var("SCALING_REPS")
            .map_or(if quick { 3 } else { 9 }, |r| r.parse().expect("a number"));
        crate::threads::main(if quick { 2_000_000 } else { 20_000_000 }, reps);
    }
    if std::env::var_os("SCALING_THREADS_ONLY").is_none() {
        sweep(quick);
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
