//! The NBLs forwarded down are one count (`Binding::nbls_below`) with a gate per party that may
//! stop them: the virtual miniport (pause, halt), the lower binding (NetEventPause) and unbind.
//! NBLs go down only while every gate is open, whichever order the edges pause and restart in.

use chimney_im::ndis::{NDIS_STATUS_PENDING, NDIS_STATUS_SUCCESS};
use ndis_model::hooks;
use ndis_model::testkit::*;
use ndis_model::*;

const A: AdapterId = AdapterId(0);

#[test]
fn a_miniport_restart_does_not_open_the_way_down_while_the_lower_binding_is_paused() {
    let mut m = one_adapter(AdapterPolicy::default(), 41);
    assert_eq!(m.pause_binding(A), NDIS_STATUS_SUCCESS);
    assert_eq!(m.pause_miniport(A), NDIS_STATUS_SUCCESS);
    assert_eq!(m.restart_miniport(A), NDIS_STATUS_SUCCESS);
    // The miniport runs again, the lower binding does not: the driver refuses the sends itself.
    assert_eq!(m.host_send(A, 3), 3);
    m.run_until_idle();
    assert_eq!(m.restart_binding(A), NDIS_STATUS_SUCCESS);
    // Both edges run: the sends go down.
    assert_eq!(m.host_send(A, 2), 2);
    m.run_until_idle();
    let r = unload_clean(m);
    assert_eq!(r.totals.refused_sends, 3, "{r}");
    assert_eq!(r.totals.driver_to_lower, 2, "{r}");
}

#[test]
fn a_lower_restart_does_not_open_the_way_down_while_the_miniport_is_paused() {
    let mut m = one_adapter(AdapterPolicy::default(), 42);
    assert_eq!(m.pause_miniport(A), NDIS_STATUS_SUCCESS);
    assert_eq!(m.pause_binding(A), NDIS_STATUS_SUCCESS);
    assert_eq!(m.restart_binding(A), NDIS_STATUS_SUCCESS);
    assert_eq!(m.restart_miniport(A), NDIS_STATUS_SUCCESS);
    assert_eq!(m.host_send(A, 4), 4);
    m.run_until_idle();
    let r = unload_clean(m);
    assert_eq!(r.totals.refused_sends, 0, "{r}");
    assert_eq!(r.totals.driver_to_lower, 4, "{r}");
}

#[test]
fn the_miniport_pause_waits_for_sends_below_after_the_lower_binding_drained_them() {
    let mut m = one_adapter(held_everything(), 43);
    assert_eq!(m.host_send(A, 5), 5);
    // The lower binding's pause drains the sends below (the model lets the lower complete them
    // while the driver waits); the miniport's pause then finds them drained: one report served
    // both, and the pause completes at once.
    assert_eq!(m.pause_binding(A), NDIS_STATUS_SUCCESS);
    assert_eq!(m.binding_state(A).held_sends, 0);
    assert_eq!(m.pause_miniport(A), NDIS_STATUS_SUCCESS);
    assert_eq!(m.restart_binding(A), NDIS_STATUS_SUCCESS);
    assert_eq!(m.restart_miniport(A), NDIS_STATUS_SUCCESS);
    let r = unload_clean(m);
    assert_eq!(r.totals.driver_to_host_completions, 5, "{r}");
}

#[test]
fn a_pended_miniport_pause_waits_for_both_the_sends_below_and_the_indications_up() {
    let mut m = one_adapter(held_everything(), 44);
    assert_eq!(m.host_send(A, 3), 3);
    assert_eq!(m.lower_indicate(A, 2, false), 2);
    assert_eq!(m.pause_miniport(A), NDIS_STATUS_PENDING);
    assert_eq!(m.device_state(A).run, RunState::Paused);
    assert_eq!(m.host_sends_outstanding(A), 0);
    assert_eq!(m.host_receives_outstanding(A), 0);
    let r = unload_clean(m);
    assert!(r.check_runs("pause.miniport_sends_drained") >= 1, "{r}");
    assert!(r.check_runs("pause.miniport_receives_returned") >= 1, "{r}");
}

/// A receive indication that reads the virtual miniport's handle, and then finds the miniport
/// halted and initialized again (a new handle) by the time it takes its count: the NBLs must go
/// up carrying the new handle as SourceHandle. The model halts and re-enables the device inside
/// the indication's first NdisAllocateNetBufferListContext, between the read and the acquire.
#[test]
fn an_indication_racing_a_miniport_restart_carries_the_new_miniport_handle() {
    let mut m = one_adapter(AdapterPolicy::default(), 45);
    let before = m.ndis_handles(A).miniport;
    hooks::run_inside_next(Export::NdisAllocateNetBufferListContext, || {
        hooks::cycle_device(A)
    });
    assert_eq!(m.lower_indicate(A, 2, false), 2);
    m.run_until_idle();
    assert_ne!(
        m.ndis_handles(A).miniport,
        before,
        "the device was re-initialized with a new handle"
    );
    let r = unload_clean(m);
    assert_eq!(r.totals.returns_down, 2, "{r}");
}
