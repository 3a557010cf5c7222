//! The per-NBL paths take no lock, allocate nothing from the pool and cost the same whatever is in
//! flight: measured through the model's counters of every NDIS call the driver makes.

use ndis_model::testkit::*;
use ndis_model::*;

const A: AdapterId = AdapterId(0);

/// Sends and receives `n` NBLs with `in_flight` more held below and at the host, and returns the
/// driver's NDIS calls per NBL: (pool allocations, spin-lock acquisitions, NBL contexts).
fn cost_per_nbl(in_flight: usize, n: usize) -> (f64, f64, f64) {
    let mut m = one_adapter(
        AdapterPolicy {
            send_completion: Completion::Held,
            host_return: Completion::Held,
            ..AdapterPolicy::default()
        },
        31,
    );
    // Park `in_flight` sends below and receives at the host.
    for _ in 0..in_flight / 8 {
        m.host_send(A, 8);
        m.lower_indicate(A, 8, false);
    }
    let before = m.report().counters;
    for _ in 0..n / 8 {
        m.host_send(A, 8);
        m.lower_indicate(A, 8, false);
    }
    m.release_all();
    let after = m.report().counters;
    let r = m.unload();
    assert!(r.violations.is_empty(), "{r}");
    let nbls = (2 * n) as f64;
    (
        (after.allocations - before.allocations) as f64 / nbls,
        (after.spin_acquires - before.spin_acquires) as f64 / nbls,
        (after.ctx_allocs - before.ctx_allocs) as f64 / nbls,
    )
}

#[test]
fn forwarding_takes_no_lock_and_allocates_no_pool_memory() {
    let (alloc, locks, contexts) = cost_per_nbl(0, 800);
    assert_eq!(alloc, 0.0, "pool allocations per NBL");
    assert_eq!(locks, 0.0, "spin-lock acquisitions per NBL");
    // One NBL-context block per NBL and direction (the saved SourceHandle), nothing else.
    assert_eq!(contexts, 1.0, "NBL contexts per NBL");
}

#[test]
fn per_nbl_cost_does_not_grow_with_work_in_flight() {
    let small = cost_per_nbl(8, 400);
    let large = cost_per_nbl(4000, 400);
    println!("per NBL with 8 in flight: {small:?}; with 4000 in flight: {large:?}");
    assert_eq!(small, large);
}

/// Chimney receives and sends on one connection while `connections` others are offloaded with
/// receives posted and held at the target: the driver's NDIS calls per NBL.
fn chimney_cost_per_nbl(connections: usize, n: usize) -> (f64, f64, f64) {
    let mut m = one_chimney_adapter(
        ChimneyPolicy {
            io_completion: Completion::Held,
            state_completion: Completion::Inline,
            ..ChimneyPolicy::default()
        },
        32,
    );
    let measured = offload_now(&mut m, A);
    for _ in 0..connections {
        let c = offload_now(&mut m, A);
        m.host_post_receives(c, 2, 2, 100);
    }
    let before = m.report().counters;
    let mut nbls = 0;
    for _ in 0..n / 8 {
        nbls += m.host_post_receives(measured, 1, 4, 100);
        nbls += m.host_chimney_send(measured, 4);
        m.target_complete_conn(measured, None);
    }
    let after = m.report().counters;
    m.release_all();
    unload_clean(m);
    let nbls = nbls as f64;
    (
        (after.allocations - before.allocations) as f64 / nbls,
        (after.spin_acquires - before.spin_acquires) as f64 / nbls,
        (after.ctx_allocs - before.ctx_allocs) as f64 / nbls,
    )
}

#[test]
fn chimney_io_cost_does_not_grow_with_connections_offloaded() {
    let few = chimney_cost_per_nbl(1, 400);
    let many = chimney_cost_per_nbl(200, 400);
    println!("chimney, per NBL with 1 other connection: {few:?}; with 200: {many:?}");
    assert_eq!(few, (0.0, 0.0, 1.0));
    assert_eq!(few, many);
}
