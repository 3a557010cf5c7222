//! Writes to adapter- or binding-wide accounting per NBL (`kernel::rundown::shared_writes`,
//! host builds only): every such write moves a cache line that all forwarding CPUs share.
//!
//! One test in this binary on purpose: the counter is process-wide, so nothing else may run
//! the driver concurrently. The forwarding token keeps the per-NBL counts per processor
//! (`kernel::PerCpuRundown`), so in steady state the goal, 0 per NBL, is asserted exactly, with
//! forwards on CPU 0 and completions on CPU 1. The same counter must see the writes of the
//! close path (pause, halt, unbind write the shared words), which shows the hook is alive.
//!
//! Before the wiring (one shared word per count) the figures were 4.00 / 0.93 (plain send,
//! 1-NBL / 8-NBL chains), 2.00 / 0.25 (plain receive), 4.00 / 1.11 (chimney receive).

// Host builds only: the kernel layer's internals are reachable there (`host_probe`); the
// Wine tier tests the image through the model tests instead.
#![cfg(not(windows))]

use chimney_im::host_probe::shared_writes;
use chimney_im::ndis::oids::OID_GEN_LINK_SPEED;
use ndis_model::testkit::{offload_now, one_adapter, one_chimney_adapter, unload_clean};
use ndis_model::{
    AdapterId, AdapterPolicy, ChimneyPolicy, Completion, OidSpec, set_current_processor,
};

const A: AdapterId = AdapterId(0);
const ROUNDS: usize = 64;

fn per_nbl(nbls: usize, f: impl FnOnce()) -> f64 {
    let before = shared_writes::count();
    f();
    (shared_writes::count() - before) as f64 / nbls as f64
}

fn plain(per_chain: usize) -> (f64, f64) {
    let mut m = one_adapter(
        AdapterPolicy {
            // Completed by the model's DPC worker, which runs on CPU 1.
            send_completion: Completion::Deferred,
            host_return: Completion::Deferred,
            ..AdapterPolicy::default()
        },
        11,
    );
    set_current_processor(Some(0));
    let send = per_nbl(ROUNDS * per_chain, || {
        for _ in 0..ROUNDS {
            assert_eq!(m.host_send(A, per_chain), per_chain);
            m.run_until_idle();
        }
    });
    let receive = per_nbl(ROUNDS * per_chain, || {
        for _ in 0..ROUNDS {
            assert_eq!(m.lower_indicate(A, per_chain, false), per_chain);
            m.run_until_idle();
        }
    });
    // A request (OID) takes the adapter's one shared request count (not per NBL, so not per
    // processor): the hook sees the shared word's writes too, so the 0s above can fail.
    let oid = per_nbl(1, || {
        assert!(
            m.host_oid(A, &OidSpec::query(OID_GEN_LINK_SPEED, 4))
                .is_some()
        );
        m.run_until_idle();
    });
    assert_eq!(
        oid, 2.0,
        "an OID acquires and releases the adapter's shared request count"
    );
    assert!(
        unload_writes(m) > 0,
        "the hook counts the close path's writes"
    );
    (send, receive)
}

fn chimney(per_chain: usize) -> f64 {
    let mut m = one_chimney_adapter(
        ChimneyPolicy {
            io_completion: Completion::Held,
            state_completion: Completion::Inline,
            ..ChimneyPolicy::default()
        },
        12,
    );
    set_current_processor(Some(0));
    let c = offload_now(&mut m, A);
    let writes = per_nbl(ROUNDS * per_chain, || {
        for _ in 0..ROUNDS {
            assert_eq!(m.host_post_receives(c, 1, per_chain, 100), per_chain);
            set_current_processor(Some(1));
            assert_eq!(m.target_complete_conn(c, None), per_chain);
            set_current_processor(Some(0));
            m.run_until_idle();
        }
    });
    m.release_all();
    assert!(
        unload_writes(m) > 0,
        "the hook counts the close path's writes"
    );
    writes
}

/// Shared writes while `m` unloads (pause, halt, unbind): the close path writes them.
fn unload_writes(m: ndis_model::Model) -> u64 {
    let before = shared_writes::count();
    unload_clean(m);
    shared_writes::count() - before
}

#[test]
fn shared_accounting_writes_per_nbl() {
    let mut measured = Vec::new();
    for per_chain in [1, 8] {
        let (send, receive) = plain(per_chain);
        measured.push(("plain send round trip", per_chain, send));
        measured.push(("plain receive round trip", per_chain, receive));
        measured.push(("chimney receive round trip", per_chain, chimney(per_chain)));
    }
    set_current_processor(None);
    for (path, per_chain, writes) in &measured {
        println!("shared-writes: {path}, {per_chain}-NBL chains: {writes:.2} per NBL");
    }
    let over: Vec<_> = measured.iter().filter(|(_, _, w)| *w != 0.0).collect();
    assert!(
        over.is_empty(),
        "shared writes per NBL in steady state (goal 0): {over:?}"
    );
}
