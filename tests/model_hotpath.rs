//! The per-NBL paths take no lock, allocate nothing from the pool and make the same NDIS calls
//! whatever is in flight: measured through the model's counters of every NDIS call the driver
//! makes, at a light and at a heavy load, each against the exact expected figures.
//!
//! What this cannot see: work that makes no NDIS call — a walk over the driver's own memory. The
//! model has no view of the driver's instructions, so O(1) *work* per NBL is measured by
//! `.ci/measure-hotpath` (instructions per NBL under callgrind at two loads), not here. What it
//! does catch: a lookup under a spin lock (the binding list's, any per-adapter list's), a
//! per-NBL or per-in-flight allocation, or an extra NBL context.

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
fn forwarding_takes_no_lock_and_allocates_no_pool_memory_at_any_load() {
    for in_flight in [0, 4000] {
        let (alloc, locks, contexts) = cost_per_nbl(in_flight, 400);
        println!(
            "per NBL with {in_flight} in flight: {alloc} allocations, {locks} spin locks, {contexts} contexts"
        );
        assert_eq!(
            alloc, 0.0,
            "pool allocations per NBL, {in_flight} in flight"
        );
        assert_eq!(
            locks, 0.0,
            "spin-lock acquisitions per NBL, {in_flight} in flight"
        );
        // One NBL-context block per NBL and direction (the saved SourceHandle), nothing else.
        assert_eq!(contexts, 1.0, "NBL contexts per NBL, {in_flight} in flight");
    }
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
fn chimney_io_takes_no_lock_and_allocates_nothing_with_any_number_of_connections() {
    for connections in [1, 200] {
        let cost = chimney_cost_per_nbl(connections, 400);
        println!("chimney, per NBL with {connections} other connection(s): {cost:?}");
        // No pool allocation, no spin lock, one NBL context per NBL.
        assert_eq!(cost, (0.0, 0.0, 1.0), "{connections} other connection(s)");
    }
}
