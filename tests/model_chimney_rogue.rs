//! A misbehaving host: state calls naming a connection whose terminate (or another call) is in
//! flight. tcpip serialises state calls per object, so only a broken host sends these; the
//! driver must neither corrupt its own state nor touch freed pool.
//!
//! Decided behaviour: a second terminate, and an update / invalidate / query / linking initiate
//! naming an entry whose terminate has begun, are refused at once (FAILURE in every block). A
//! call that got in first holds each entry it names until its completion has read it, so a
//! terminate that overtakes it below completes upward only after that.

use chimney_im::ndis::*;
use ndis_model::testkit::*;
use ndis_model::*;

const A: AdapterId = AdapterId(0);

#[test]
fn second_terminate_while_the_first_is_in_flight_is_refused() {
    let mut m = held_state(1);
    let c = offload_now(&mut m, A);
    assert!(m.host_terminate(c));
    assert!(m.host_rogue_terminate(c), "issued");
    // Refused synchronously, before the first one completed.
    assert_eq!(m.conn_state(c), ConnState::Terminating);
    assert_eq!(m.report().check_runs("chimney_host.refused_call_status"), 1);
    assert_eq!(
        m.target_complete_state(A),
        1,
        "only the first reached the target"
    );
    assert_eq!(m.conn_state(c), ConnState::Terminated);
    let r = unload_clean(m);
    assert_eq!(r.chimney.terminated, 1, "{r}");
}

#[test]
fn update_and_query_on_a_terminating_connection_are_refused() {
    for (seed, query) in [(2, false), (3, true)] {
        let mut m = held_state(seed);
        let c = offload_now(&mut m, A);
        assert!(m.host_terminate(c));
        let issued = if query {
            m.host_rogue_query(c)
        } else {
            m.host_rogue_update(c)
        };
        assert!(issued);
        assert_eq!(
            m.report().check_runs("chimney_host.refused_call_status"),
            1,
            "query {query}: refused at once"
        );
        assert_eq!(m.target_complete_state(A), 1, "query {query}");
        assert_eq!(m.conn_state(c), ConnState::Terminated);
        unload_clean(m);
    }
}

#[test]
fn terminate_overtaking_an_update_completes_after_it() {
    let mut m = held_state(4);
    let c = offload_now(&mut m, A);
    assert!(m.host_update(c));
    assert!(m.host_rogue_terminate(c), "issued");
    // Both reached the target; it completes the terminate first.
    assert_eq!(m.target_complete_state_newest_first(A), 2);
    m.run_until_idle();
    assert_eq!(m.conn_state(c), ConnState::Terminated);
    let r = unload_clean(m);
    assert_eq!(r.chimney.terminated, 1, "{r}");
    assert_eq!(r.check_runs("chimney_host.refused_call_status"), 0, "{r}");
    // The update's blocks came back in the host's view (its entries were still live).
    assert!(
        r.check_runs("chimney_host.block_tree_restored") >= 3 + 3,
        "{r}"
    );
}

#[test]
fn linking_initiate_on_a_terminating_neighbor_is_refused() {
    let mut m = held_state(5);
    let c = offload_now(&mut m, A);
    assert!(m.host_terminate(c));
    // The host links a new connection to the neighbor and path being terminated.
    let c2 = m
        .host_offload_with(
            A,
            OffloadSpec {
                share: Some(c),
                linker: true,
                rogue: true,
                ..OffloadSpec::default()
            },
        )
        .expect("issued");
    m.run_until_idle();
    assert_eq!(m.conn_state(c2), ConnState::Failed(NDIS_STATUS_FAILURE));
    m.target_complete_state(A);
    assert_eq!(m.conn_state(c), ConnState::Terminated);
    unload_clean(m);
}

/// Not a rogue host: PnP halts the virtual miniport while an initiate refused for not running
/// is still completing upward. Halt must wait for that upcall.
#[test]
fn initiate_refused_while_paused_holds_halt_until_its_completion_returned() {
    let mut m = one_chimney_adapter(ChimneyPolicy::default(), 6);
    assert_eq!(m.pause_miniport(A), NDIS_STATUS_SUCCESS);
    m.halt_during_next_initiate_completion(A);
    let c = m
        .host_offload_with(
            A,
            OffloadSpec {
                force: true,
                ..OffloadSpec::default()
            },
        )
        .expect("issued");
    m.run_until_idle();
    assert_eq!(m.conn_state(c), ConnState::Failed(NDIS_STATUS_FAILURE));
    let r = unload_clean(m);
    assert_eq!(r.check_runs("chimney_complete.halt_started"), 1, "{r}");
    assert_eq!(
        r.check_runs("chimney_complete.miniport_outlives_call"),
        1,
        "{r}"
    );
}
