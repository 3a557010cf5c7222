//! Pause, halt, surprise removal and unbind while work is in flight in every direction: the
//! driver must pend or wait (on events) until everything drained, and lose nothing.

use chimney_im::ndis::oids::OID_GEN_LINK_SPEED;
use chimney_im::ndis::{NDIS_STATUS_PENDING, NDIS_STATUS_SUCCESS};
use ndis_model::testkit::*;
use ndis_model::*;

const A: AdapterId = AdapterId(0);

#[test]
fn pause_pends_while_sends_are_below_and_completes_when_the_last_returns() {
    let mut m = one_adapter(held_everything(), 21);
    assert_eq!(m.host_send(A, 6), 6);
    assert_eq!(m.binding_state(A).held_sends, 6);
    // The lower miniport holds the sends: MiniportPause cannot finish now, so it must pend; the
    // model then lets time pass (releases held work) and waits for NdisMPauseComplete.
    assert_eq!(m.pause_miniport(A), NDIS_STATUS_PENDING);
    assert_eq!(m.device_state(A).run, RunState::Paused);
    assert_eq!(m.host_sends_outstanding(A), 0);
    let r = unload_clean(m);
    assert!(r.check_runs("pause.miniport_sends_drained") >= 1, "{r}");
    assert_eq!(r.totals.driver_to_host_completions, 6, "{r}");
}

#[test]
fn pause_with_nothing_in_flight_completes_synchronously() {
    let mut m = one_adapter(AdapterPolicy::default(), 22);
    assert_eq!(m.pause_miniport(A), NDIS_STATUS_SUCCESS);
    assert_eq!(m.restart_miniport(A), NDIS_STATUS_SUCCESS);
    unload_clean(m);
}

#[test]
fn pause_pends_while_indicated_receives_are_at_the_host() {
    let mut m = one_adapter(held_everything(), 23);
    assert_eq!(m.lower_indicate(A, 5, false), 5);
    assert_eq!(m.host_receives_outstanding(A), 5);
    assert_eq!(m.pause_miniport(A), NDIS_STATUS_PENDING);
    assert_eq!(m.host_receives_outstanding(A), 0);
    let r = unload_clean(m);
    assert!(r.check_runs("pause.miniport_receives_returned") >= 1, "{r}");
    assert_eq!(r.totals.returns_down, 5, "{r}");
}

#[test]
fn sends_after_pause_began_complete_paused_without_going_down() {
    let mut m = one_adapter(held_everything(), 24);
    assert_eq!(m.host_send(A, 2), 2);
    // The lower binding pauses: its in-flight sends drain; new host sends (the virtual miniport
    // is still running) must be refused by the driver itself with NDIS_STATUS_PAUSED.
    assert_eq!(m.pause_binding(A), NDIS_STATUS_SUCCESS);
    assert_eq!(m.binding_state(A).held_sends, 0);
    assert_eq!(m.host_send(A, 3), 3);
    m.run_until_idle();
    let r = unload_clean(m);
    assert_eq!(r.totals.refused_sends, 3, "{r}");
    assert_eq!(r.totals.driver_to_lower, 2, "{r}");
    assert!(r.check_runs("send_complete.refused_send_fails") >= 3, "{r}");
}

#[test]
fn halt_after_an_oid_held_below_completes_it_first() {
    let mut m = one_adapter(held_everything(), 25);
    assert!(m.host_oid_start(A, &OidSpec::query(OID_GEN_LINK_SPEED, 4)));
    assert_eq!(m.binding_state(A).oids_below, 1);
    // Disabling the device: NDIS lets the host's OID finish (the lower completes it as time
    // passes), then pauses and halts the miniport.
    m.disable_device(A);
    let outcome = m.host_oid_outcome(A).expect("the OID completed");
    assert_eq!(outcome.status, NDIS_STATUS_SUCCESS);
    assert!(outcome.pended);
    assert_eq!(outcome.bytes_written, 4);
    let r = unload_clean(m);
    assert!(r.check_runs("halt.forwarded_oids_drained") >= 1, "{r}");
}

#[test]
fn surprise_removal_with_sends_receives_and_an_oid_in_flight() {
    let mut m = one_adapter(held_everything(), 26);
    m.host_send(A, 4);
    m.lower_indicate(A, 3, false);
    assert!(m.host_oid_start(A, &OidSpec::query(OID_GEN_LINK_SPEED, 4)));
    m.surprise_remove(A);
    assert_eq!(m.device_state(A).last_halt, Some(3));
    assert_eq!(m.host_sends_outstanding(A), 0);
    assert_eq!(m.host_receives_outstanding(A), 0);
    let r = unload_clean(m);
    let t = r.totals;
    assert_eq!(
        (t.host_to_driver, t.driver_to_host_completions),
        (4, 4),
        "{r}"
    );
    assert_eq!((t.driver_to_host_receives, t.returns_down), (3, 3), "{r}");
}

#[test]
fn unbind_with_everything_in_flight_drains_before_closing() {
    let mut m = one_adapter(held_everything(), 27);
    m.host_send(A, 5);
    m.lower_indicate(A, 2, false);
    m.lower_indicate(A, 2, true);
    assert!(m.host_oid_start(A, &OidSpec::query(OID_GEN_LINK_SPEED, 4)));
    assert_eq!(m.unbind(A), NDIS_STATUS_SUCCESS);
    assert_eq!(m.binding_state(A).open, OpenState::Closed);
    let r = unload_clean(m);
    assert!(r.check_runs("close.nothing_outstanding") >= 1, "{r}");
    assert!(r.check_runs("unbind.virtual_miniport_stopped") >= 1, "{r}");
    assert_eq!(r.totals.driver_to_host_completions, 5, "{r}");
}

#[test]
fn halt_and_reenable_cycles_leave_no_leak() {
    let mut m = one_adapter(AdapterPolicy::default(), 28);
    for round in 0..5 {
        m.host_send(A, 1 + round);
        m.lower_indicate(A, 1 + round, round % 2 == 0);
        m.disable_device(A);
        assert_eq!(m.reenable_device(A), NDIS_STATUS_SUCCESS);
        assert_eq!(m.device_state(A).phase, DevPhase::Up);
    }
    let r = unload_clean(m);
    assert_eq!(r.counters.device_starts, 6, "{r}");
    assert_eq!(r.counters.allocations, r.counters.frees, "{r}");
}
