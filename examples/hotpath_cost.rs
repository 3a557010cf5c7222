//! Driver CPU cost per NBL, measured with callgrind by `.ci/measure-hotpath`.
//!
//!     cargo run --release --example hotpath_cost -- plain <in_flight> <nbls> [chain]
//!     cargo run --release --example hotpath_cost -- chimney <connections> <nbls> [chain]
//!
//! `plain` parks `in_flight` sends below and receives at the host (held), then pushes `nbls` sends
//! and `nbls` receives through the driver in chains of `chain` NBLs (default 8). `chimney`
//! offloads `connections` connections with receives posted and held at the target, then posts
//! `nbls` receives on one more connection in chains of `chain` and lets the target complete
//! them. Callgrind's self cost of each driver handler divided by the
//! NBLs that went through it is the driver's own instructions per NBL (NDIS calls excluded).
//!
//! The setup (parking, offloading the other connections) ends with callgrind's
//! start-instrumentation request: under `valgrind --tool=callgrind --instr-atstart=no` the
//! setup, the same in the base and the full run, runs uninstrumented (`.ci/measure-sweep`, for
//! 65,536 connections and 10^6 NBLs). Without that option (`.ci/measure-hotpath`) and outside
//! valgrind the request changes nothing.

use std::time::Duration;

use ndis_model::testkit::offload_now;
use ndis_model::{
    AdapterId, AdapterPolicy, ChimneyPolicy, Completion, LowerAdapterConfig, Model, ModelConfig,
};

const A: AdapterId = AdapterId(0);

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize, default: usize| {
        args.get(i)
            .map_or(default, |a| a.parse().expect("a number"))
    };
    let (load, nbls, chain) = (number(1, 8), number(2, 4000), number(3, 8).max(1));
    match args.first().map(String::as_str).unwrap_or("plain") {
        "plain" => plain(load, nbls, chain),
        "chimney" => chimney(load, nbls, chain),
        other => panic!("unknown mode {other}"),
    }
}

/// `testkit::one_adapter` with a watchdog (the wall-clock bound on one handler call) of an
/// hour: under callgrind a call runs some 50 times slower than natively, and a halt that uploads
/// 65,536 connections in one call would pass the default 20 s. Nothing here measures time.
fn one_adapter(policy: AdapterPolicy, seed: u64) -> Model {
    let mut cfg = ModelConfig::default()
        .seed(seed)
        .with_adapter(LowerAdapterConfig::ethernet(1).with_policy(policy));
    cfg.watchdog = Duration::from_secs(3600);
    Model::load(cfg)
}

fn plain(in_flight: usize, nbls: usize, chain: usize) {
    let mut m = one_adapter(
        AdapterPolicy {
            send_completion: Completion::Held,
            host_return: Completion::Held,
            ..AdapterPolicy::default()
        },
        7,
    );
    for _ in 0..in_flight / 8 {
        m.host_send(A, 8);
        m.lower_indicate(A, 8, false);
    }
    let rest = in_flight % 8;
    if rest > 0 {
        m.host_send(A, rest);
        m.lower_indicate(A, rest, false);
    }
    start_instrumentation();
    for _ in 0..nbls / chain {
        m.host_send(A, chain);
        m.lower_indicate(A, chain, false);
    }
    m.release_all();
    let r = m.unload();
    assert!(r.violations.is_empty(), "{r}");
    println!(
        "plain: {} sends and receives each ({in_flight} parked)",
        in_flight + nbls / chain * chain
    );
}

fn chimney(connections: usize, nbls: usize, chain: usize) {
    let mut m = one_adapter(
        AdapterPolicy {
            chimney: ChimneyPolicy {
                io_completion: Completion::Held,
                state_completion: Completion::Inline,
                ..ChimneyPolicy::default()
            },
            ..AdapterPolicy::default()
        },
        8,
    );
    for _ in 0..connections {
        let c = offload_now(&mut m, A);
        m.host_post_receives(c, 1, 8, 100);
    }
    let measured = offload_now(&mut m, A);
    start_instrumentation();
    for _ in 0..nbls / chain {
        m.host_post_receives(measured, 1, chain, 100);
        m.target_complete_conn(measured, None);
    }
    m.release_all();
    let r = m.unload();
    assert!(r.violations.is_empty(), "{r}");
    println!(
        "chimney: {} receives posted ({connections} other connections offloaded)",
        connections * 8 + nbls / chain * chain
    );
}

/// Valgrind client request CALLGRIND_START_INSTRUMENTATION (callgrind.h: tool base 'C','T',
/// request 4). Outside valgrind the sequence has no effect; under callgrind with
/// instrumentation already on it is ignored.
fn start_instrumentation() {
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    {
        const START_INSTRUMENTATION: u64 = (b'C' as u64) << 24 | (b'T' as u64) << 16 | 4;
        let args: [u64; 6] = [START_INSTRUMENTATION, 0, 0, 0, 0, 0];
        // SAFETY: valgrind's amd64 client-request sequence (valgrind.h): the four rotates of rdi
        // add up to 128 bits, leaving it as it was, and `xchg rbx, rbx` swaps rbx with itself,
        // so natively nothing but the flags changes (not preserved: declared). Under valgrind
        // it reads the six words at rax, a live local array, and writes its answer to rdx
        // (declared as an output).
        unsafe {
            std::arch::asm!(
                "rol rdi, 3",
                "rol rdi, 13",
                "rol rdi, 61",
                "rol rdi, 51",
                "xchg rbx, rbx",
                in("rax") args.as_ptr(),
                inout("rdx") 0u64 => _,
                inout("rdi") 0u64 => _,
                options(nostack),
            );
        }
    }
}
