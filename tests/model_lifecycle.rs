//! Driver lifecycle through the NDIS model: load, bind, virtual miniport start, pause/restart of
//! both edges, unbind, halt, re-enable, surprise removal, unload.

use chimney_im::ndis::*;
use ndis_model::testkit::*;
use ndis_model::*;

fn cfg(seed: u64) -> ModelConfig {
    ModelConfig::default()
        .seed(seed)
        .with_adapter(LowerAdapterConfig::ethernet(1))
}

#[test]
fn load_bind_unload_clean() {
    let m = Model::load(cfg(1));
    assert_eq!(m.driver_entry_status(), 0);
    let a = AdapterId(0);
    let b = m.binding_state(a);
    assert_eq!(b.open, OpenState::Open);
    assert_eq!(b.run, RunState::Running);
    let d = m.device_state(a);
    assert_eq!(d.phase, DevPhase::Up);
    assert_eq!(d.run, RunState::Running);
    let r = m.unload();
    assert!(r.violations.is_empty(), "{r}");
    assert!(r.check_runs("registration.miniport_header_matches_version") >= 1);
    assert_eq!(r.counters.binds, 1);
    assert_eq!(r.counters.unbinds, 1);
    assert_eq!(r.counters.halts, 1);
}

const A: AdapterId = AdapterId(0);

#[test]
fn pause_restart_both_edges_with_traffic_in_flight() {
    let held = AdapterPolicy {
        send_completion: Completion::Held,
        host_return: Completion::Held,
        ..AdapterPolicy::default()
    };
    let mut m = one_adapter(held, 2);
    m.host_send(A, 5);
    m.lower_indicate(A, 4, false);
    let st = m.pause_miniport(A);
    assert!(
        st == NDIS_STATUS_SUCCESS || st == NDIS_STATUS_PENDING,
        "{st:#x}\n{}",
        m.report()
    );
    assert_eq!(m.device_state(A).run, RunState::Paused);
    assert_eq!(
        m.host_send(A, 1),
        0,
        "NDIS does not send to a paused miniport"
    );
    assert_eq!(m.restart_miniport(A), 0);
    m.host_send(A, 3);
    m.pause_binding(A);
    assert_eq!(m.binding_state(A).run, RunState::Paused);
    assert_eq!(
        m.host_send(A, 2),
        2,
        "miniport still running: the driver must refuse the sends itself"
    );
    m.run_until_idle();
    assert_eq!(m.restart_binding(A), 0);
    assert_eq!(m.binding_state(A).run, RunState::Running);
    m.host_send(A, 2);
    m.release_all();
    let r = unload_clean(m);
    assert!(r.totals.refused_sends >= 2, "{r}");
    assert!(r.check_runs("pause.miniport_sends_drained") >= 1);
    assert!(r.check_runs("pause.binding_sends_drained") >= 2);
}

#[test]
fn disable_reenable_and_surprise_removal() {
    let mut m = one_adapter(AdapterPolicy::default(), 3);
    m.disable_device(A);
    assert_eq!(m.device_state(A).phase, DevPhase::Halted);
    assert_eq!(m.device_state(A).last_halt, Some(0));
    assert_eq!(m.binding_state(A).open, OpenState::Open);
    m.lower_indicate(A, 3, false);
    m.run_until_idle();
    assert_eq!(m.reenable_device(A), 0);
    assert_eq!(m.device_state(A).phase, DevPhase::Up);
    assert_eq!(m.device_state(A).starts, 2);
    assert_eq!(m.host_send(A, 2), 2);
    m.surprise_remove(A);
    assert_eq!(m.device_state(A).last_halt, Some(3));
    let r = unload_clean(m);
    assert_eq!(r.totals.receives_dropped_by_driver, 3, "{r}");
}

#[test]
fn async_open_close_deinit_and_device_start_on_other_thread() {
    let p = AdapterPolicy {
        open: OpenPolicy::Pending,
        close_pending: true,
        deinit_async: true,
        device_start: DeviceStart::OnOtherThread,
        ..AdapterPolicy::default()
    };
    let mut m = one_adapter(p, 4);
    assert_eq!(m.binding_state(A).open, OpenState::Open);
    m.run_until_idle();
    assert_eq!(m.device_state(A).phase, DevPhase::Up);
    m.host_send(A, 3);
    m.lower_indicate(A, 2, false);
    assert_eq!(m.unbind(A), 0);
    assert_eq!(m.binding_state(A).open, OpenState::Closed);
    assert_eq!(m.device_state(A).phase, DevPhase::Halted);
    unload_clean(m);
}

#[test]
fn unbind_while_device_start_pending_cancels_it() {
    let mut m = one_adapter(
        AdapterPolicy {
            device_start: DeviceStart::Manual,
            ..AdapterPolicy::default()
        },
        5,
    );
    assert_eq!(m.device_state(A).phase, DevPhase::StartPending);
    assert_eq!(m.unbind(A), 0);
    assert_eq!(m.device_state(A).phase, DevPhase::Absent);
    assert_eq!(m.start_device(A), None);
    unload_clean(m);
}

#[test]
fn unbind_while_initialize_is_already_running_waits_then_deinitializes() {
    let mut m = one_adapter(
        AdapterPolicy {
            device_start: DeviceStart::Manual,
            cancel_races_start: true,
            ..AdapterPolicy::default()
        },
        6,
    );
    assert_eq!(m.device_state(A).phase, DevPhase::StartPending);
    // The cancel comes too late (FAILURE): the driver must wait for MiniportInitializeEx to
    // finish, then de-initialize the instance it just got, and only then close the binding.
    assert_eq!(m.unbind(A), 0);
    let d = m.device_state(A);
    assert_eq!(d.phase, DevPhase::Halted);
    assert_eq!(d.starts, 1);
    assert_eq!(
        d.last_halt,
        Some(halt_action::DEVICE_INSTANCE_DEINITIALIZED)
    );
    assert_eq!(m.binding_state(A).open, OpenState::Closed);
    let r = unload_clean(m);
    assert_eq!((r.counters.device_starts, r.counters.halts), (1, 1), "{r}");
}

#[test]
fn manual_start_then_rebind() {
    let mut m = one_adapter(
        AdapterPolicy {
            device_start: DeviceStart::Manual,
            ..AdapterPolicy::default()
        },
        6,
    );
    assert_eq!(m.start_device(A), Some(0));
    assert_eq!(m.device_state(A).phase, DevPhase::Up);
    assert_eq!(m.device_state(A).mtu, 1500);
    assert_eq!(m.device_state(A).mac, [0x00, 0x15, 0x5D, 0x00, 0x01, 1]);
    assert_eq!(m.unbind(A), 0);
    assert_eq!(m.bind(A), 0);
    assert_eq!(m.start_device(A), Some(0));
    assert_eq!(m.host_send(A, 1), 1);
    let r = unload_clean(m);
    assert_eq!(r.counters.binds, 2);
}

#[test]
fn open_failure_fails_bind_cleanly() {
    let mut m = one_adapter(
        AdapterPolicy {
            open: OpenPolicy::Fail(NDIS_STATUS_OPEN_FAILED),
            ..AdapterPolicy::default()
        },
        7,
    );
    assert_eq!(m.binding_state(A).open, OpenState::None);
    assert_eq!(m.device_state(A).phase, DevPhase::Absent);
    let b = m.add_adapter(LowerAdapterConfig::ethernet(2));
    assert_eq!(m.bind(b), 0);
    assert_eq!(m.device_state(b).phase, DevPhase::Up);
    unload_clean(m);
}

#[test]
fn pnp_events_set_power_and_reconfigure() {
    let mut m = one_adapter(AdapterPolicy::default(), 8);
    m.host_send(A, 2);
    m.run_until_idle();
    // NetEventSetPower to D3, back to D0, and NetEventReconfigure on the binding and global: the
    // driver has nothing to refuse in any of them, so each must succeed (a failure status would
    // make NDIS veto the power transition or the reconfiguration).
    assert_eq!(m.set_power(A, 4), NDIS_STATUS_SUCCESS, "SetPower D3");
    assert_eq!(m.set_power(A, 1), NDIS_STATUS_SUCCESS, "SetPower D0");
    assert_eq!(m.reconfigure(Some(A)), NDIS_STATUS_SUCCESS, "Reconfigure");
    assert_eq!(
        m.reconfigure(None),
        NDIS_STATUS_SUCCESS,
        "global Reconfigure"
    );
    // Back in D0 the data path works as before.
    let before = m.report().adapters[0].1.driver_to_lower;
    m.host_send(A, 2);
    m.run_until_idle();
    assert_eq!(m.report().adapters[0].1.driver_to_lower, before + 2);
    assert_eq!(m.host_sends_outstanding(A), 0);
    unload_clean(m);
}

#[test]
fn bind_during_protocol_registration() {
    let mut c = ModelConfig::default()
        .seed(9)
        .with_adapter(LowerAdapterConfig::ethernet(1));
    c.bind_during_register = true;
    let m = Model::load(c);
    assert_eq!(m.device_state(A).phase, DevPhase::Up);
    unload_clean(m);
}

#[test]
fn registration_checks_run_once_on_a_clean_load() {
    // The model's own characteristics validation, exercised through the driver's real tables:
    // a clean load must have run every registration check exactly once.
    let m = Model::load(ModelConfig::default());
    let r = m.unload();
    for c in [
        "registration.miniport_header_matches_version",
        "registration.miniport_intermediate_flag",
        "registration.miniport_no_hang_reset",
        "registration.miniport_required_handlers",
        "registration.protocol_header_matches_version",
        "registration.protocol_required_handlers",
    ] {
        assert_eq!(r.check_runs(c), 1, "{c}\n{r}");
    }
    assert!(r.violations.is_empty(), "{r}");
}

#[test]
fn interface_stack_entry_lives_from_initialize_to_halt() {
    let mut m = one_adapter(AdapterPolicy::default(), 12);
    let r = m.report();
    assert_eq!(r.check_runs("ifstack.lower_is_bound_if_index"), 1, "{r}");
    m.disable_device(A);
    assert!(m.report().check_runs("halt.if_stack_entry_deleted") >= 1);
    assert_eq!(m.reenable_device(A), NDIS_STATUS_SUCCESS);
    let r = unload_clean(m);
    // Added at each initialize, deleted at each halt, nothing left at unload.
    assert_eq!(r.check_runs("ifstack.lower_is_bound_if_index"), 2, "{r}");
    assert_eq!(r.check_runs("ifstack.delete_known"), 2, "{r}");
    assert_eq!(r.check_runs("teardown.if_stack_entries_deleted"), 1, "{r}");
}

#[test]
fn failed_interface_stack_registration_does_not_fail_initialize() {
    let mut cfg = ModelConfig::default()
        .seed(13)
        .with_adapter(LowerAdapterConfig::ethernet(1));
    cfg.inject.push((Export::NdisIfAddIfStackEntry, 1));
    let mut m = Model::load(cfg);
    assert_eq!(m.device_state(A).phase, DevPhase::Up);
    assert_eq!(m.host_send(A, 2), 2);
    m.run_until_idle();
    let r = unload_clean(m);
    // Nothing was registered, so nothing may be deleted.
    assert_eq!(r.check_runs("ifstack.delete_known"), 0, "{r}");
}

#[test]
fn status_indications_while_the_miniport_is_halted_are_dropped() {
    let mut m = one_adapter(AdapterPolicy::default(), 14);
    // A valid NDIS_LINK_STATE (ndis.sys checks the lower's own indication: 0x7C code 0x20).
    let link = NdisLinkState {
        header: NdisObjectHeader::new(object_type::DEFAULT, 1, NDIS_SIZEOF_LINK_STATE_REVISION_1),
        media_connect_state: 1,
        xmit_link_speed: 100_000_000,
        rcv_link_speed: 100_000_000,
        ..NdisLinkState::default()
    };
    m.disable_device(A);
    // The binding stays open and the lower adapter keeps indicating status: nothing may go up
    // (there is no miniport), and nothing may be released that was never taken.
    assert!(m.lower_indicate_link_state(A, link));
    assert!(m.lower_indicate_link_state(A, link));
    assert_eq!(m.reenable_device(A), NDIS_STATUS_SUCCESS);
    assert!(m.lower_indicate_link_state(A, link));
    let r = unload_clean(m);
    assert_eq!(r.totals.status_from_lower, 3, "{r}");
    assert_eq!(r.totals.status_to_host, 1, "{r}");
}

#[test]
fn reenable_as_a_global_event_finds_the_binding_by_device_name() {
    let cfg = ModelConfig::default()
        .seed(15)
        .with_adapter(LowerAdapterConfig::ethernet(1))
        .with_adapter(LowerAdapterConfig::ethernet(2));
    let mut m = Model::load(cfg);
    let b = AdapterId(1);
    m.disable_device(b);
    assert_eq!(m.device_state(b).phase, DevPhase::Halted);
    // No binding context: the driver looks the device name up in its binding list (under its
    // spin lock, released before calling NDIS) and restarts only that virtual miniport.
    assert_eq!(m.reenable_device_by_name(b), NDIS_STATUS_SUCCESS);
    assert_eq!(m.device_state(b).phase, DevPhase::Up);
    assert_eq!(m.device_state(b).starts, 2);
    assert_eq!(m.device_state(A).starts, 1);
    let r = unload_clean(m);
    assert!(r.counters.spin_acquires >= 1, "{r}");
}
