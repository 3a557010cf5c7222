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

use ndis_model::testkit::{offload_now, one_adapter, one_chimney_adapter};
use ndis_model::{AdapterId, AdapterPolicy, ChimneyPolicy, Completion};

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
    for _ in 0..nbls / chain {
        m.host_send(A, chain);
        m.lower_indicate(A, chain, false);
    }
    m.release_all();
    let r = m.unload();
    assert!(r.violations.is_empty(), "{r}");
    println!(
        "plain: {} sends and receives each ({in_flight} parked)",
        in_flight / 8 * 8 + nbls / chain * chain
    );
}

fn chimney(connections: usize, nbls: usize, chain: usize) {
    let mut m = one_chimney_adapter(
        ChimneyPolicy {
            io_completion: Completion::Held,
            state_completion: Completion::Inline,
            ..ChimneyPolicy::default()
        },
        8,
    );
    for _ in 0..connections {
        let c = offload_now(&mut m, A);
        m.host_post_receives(c, 1, 8, 100);
    }
    let measured = offload_now(&mut m, A);
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
