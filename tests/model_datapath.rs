//! Send, receive, OID and status pass-through through the NDIS model.

use chimney_im::ndis::oids::*;
use chimney_im::ndis::*;
use ndis_model::testkit::*;
use ndis_model::*;

const A: AdapterId = AdapterId(0);

#[test]
fn sends_pass_through_with_every_completion_timing() {
    for (i, c) in [Completion::Inline, Completion::Deferred, Completion::Held]
        .into_iter()
        .enumerate()
    {
        let mut m = one_adapter(
            AdapterPolicy {
                send_completion: c,
                ..AdapterPolicy::default()
            },
            10 + i as u64,
        );
        for _ in 0..20 {
            assert_eq!(m.host_send(A, 4), 4);
        }
        if c == Completion::Held {
            assert_eq!(m.binding_state(A).held_sends, 80);
            assert_eq!(m.lower_complete_sends(A, Some(30)), 30);
        }
        m.release_all();
        assert_eq!(m.host_sends_outstanding(A), 0);
        let r = unload_clean(m);
        let t = r.totals;
        assert_eq!(
            (
                t.host_to_driver,
                t.driver_to_lower,
                t.lower_completions,
                t.driver_to_host_completions
            ),
            (80, 80, 80, 80),
            "{r}"
        );
        assert!(r.check_runs("send.source_handle_is_binding") >= 80);
        assert!(r.check_runs("send_complete.source_handle_restored") >= 80);
    }
}

#[test]
fn send_failure_status_reaches_host() {
    let mut m = one_adapter(
        AdapterPolicy {
            send_status: NDIS_STATUS_FAILURE,
            ..AdapterPolicy::default()
        },
        3,
    );
    m.host_send(A, 8);
    m.run_until_idle();
    let r = unload_clean(m);
    assert_eq!(r.totals.driver_to_host_completions, 8);
    assert!(r.check_runs("send_complete.status_propagated") >= 8);
}

#[test]
fn receives_pass_through_with_every_return_timing() {
    for (i, c) in [Completion::Inline, Completion::Deferred, Completion::Held]
        .into_iter()
        .enumerate()
    {
        let mut m = one_adapter(
            AdapterPolicy {
                host_return: c,
                ..AdapterPolicy::default()
            },
            20 + i as u64,
        );
        for _ in 0..10 {
            assert_eq!(m.lower_indicate(A, 3, false), 3);
            assert_eq!(m.lower_indicate(A, 2, true), 2);
        }
        if c == Completion::Held {
            assert_eq!(m.host_receives_outstanding(A), 30);
            assert_eq!(m.host_return_receives(A, Some(10)), 10);
        }
        m.release_all();
        assert_eq!(m.host_receives_outstanding(A), 0);
        let r = unload_clean(m);
        let t = r.totals;
        assert_eq!(t.lower_to_driver_receives, 50, "{r}");
        assert_eq!(t.driver_to_host_receives, 50, "{r}");
        assert_eq!((t.returns_up, t.returns_down), (30, 30), "{r}");
        assert!(r.check_runs("receive.source_handle_is_miniport") >= 50);
    }
}

#[test]
fn oid_query_set_method_forwarded_sync_and_pended() {
    for (i, c) in [Completion::Inline, Completion::Deferred, Completion::Held]
        .into_iter()
        .enumerate()
    {
        let mut m = one_adapter(
            AdapterPolicy {
                oid_completion: c,
                ..AdapterPolicy::default()
            },
            30 + i as u64,
        );
        let o = m
            .host_oid(A, &OidSpec::query(OID_GEN_LINK_SPEED, 4))
            .expect("issued");
        assert_eq!(o.status, NDIS_STATUS_SUCCESS, "{o:?}");
        assert_eq!(o.bytes_written, 4);
        assert_eq!(
            u32::from_le_bytes(o.data[..4].try_into().unwrap()),
            10_000_000
        );
        let o = m
            .host_oid(A, &OidSpec::query(OID_GEN_LINK_SPEED, 2))
            .expect("issued");
        assert_eq!(o.status, NDIS_STATUS_BUFFER_TOO_SHORT, "{o:?}");
        assert_eq!(o.bytes_needed, 4);
        let o = m
            .host_oid(
                A,
                &OidSpec::set(OID_GEN_CURRENT_PACKET_FILTER, &0x0Bu32.to_le_bytes()),
            )
            .expect("issued");
        assert_eq!((o.status, o.bytes_read), (NDIS_STATUS_SUCCESS, 4), "{o:?}");
        assert_eq!(m.binding_state(A).packet_filter, 0x0B);
        let o = m
            .host_oid(A, &OidSpec::method(OID_MODEL_ECHO_METHOD, 1, &[1, 2, 3], 8))
            .expect("issued");
        assert_eq!(o.status, NDIS_STATUS_SUCCESS, "{o:?}");
        assert_eq!(&o.data[..3], &[3, 2, 1]);
        assert_eq!(o.bytes_written, 3);
        let r = unload_clean(m);
        assert!(
            r.counters.clones >= 4 && r.counters.clones == r.counters.clone_frees,
            "{r}"
        );
    }
}

#[test]
fn pnp_capabilities_wake_states_rewritten_to_unspecified() {
    let mut m = one_adapter(AdapterPolicy::default(), 4);
    let o = m
        .host_oid(A, &OidSpec::query(OID_PNP_CAPABILITIES, 16))
        .expect("issued");
    assert_eq!(o.status, NDIS_STATUS_SUCCESS, "{o:?}");
    let words: Vec<u32> = o
        .data
        .chunks(4)
        .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    assert_eq!(
        &words[1..4],
        &[0, 0, 0],
        "IM must report wake-up states as NdisDeviceStateUnspecified"
    );
    unload_clean(m);
}

#[test]
fn oid_cancel_completes_with_request_aborted() {
    let mut m = one_adapter(
        AdapterPolicy {
            oid_completion: Completion::Held,
            ..AdapterPolicy::default()
        },
        5,
    );
    assert!(m.host_oid_start(A, &OidSpec::query(OID_GEN_LINK_SPEED, 4)));
    assert!(m.host_oid_outcome(A).is_none());
    assert_eq!(m.binding_state(A).oids_below, 1);
    assert!(m.host_cancel_oid(A));
    let o = m.host_oid_wait(A).expect("completed");
    assert_eq!(o.status, NDIS_STATUS_REQUEST_ABORTED, "{o:?}");
    let r = unload_clean(m);
    assert_eq!(r.totals.oids_cancelled, 1);
}

#[test]
fn link_state_forwarded_to_host() {
    let mut m = one_adapter(AdapterPolicy::default(), 6);
    let ls = link_up(100_000_000);
    assert!(m.lower_indicate_link_state(A, ls));
    m.run_until_idle();
    let log = m.host_status_log(A);
    assert!(
        log.iter()
            .any(|s| s.code == NDIS_STATUS_LINK_STATE && s.buffer.len() == 0x28),
        "{log:?}"
    );
    unload_clean(m);
}

#[test]
fn send_cancel_is_forwarded_and_cancelled_sends_come_back_aborted() {
    let mut m = one_adapter(
        AdapterPolicy {
            send_completion: Completion::Held,
            ..AdapterPolicy::default()
        },
        8,
    );
    assert_eq!(m.host_send(A, 5), 5);
    assert_eq!(m.binding_state(A).held_sends, 5);
    // Cancel two of them: the driver forwards NdisCancelSendNetBufferLists by CancelId and the
    // lower miniport completes exactly those, aborted; the other three stay below.
    assert_eq!(m.host_cancel_sends_below(A, 2), 2);
    m.run_until_idle();
    assert_eq!(m.binding_state(A).held_sends, 3);
    assert_eq!(m.host_sends_outstanding(A), 3);
    m.release_all();
    let r = unload_clean(m);
    assert_eq!(
        r.handler_calls.get("MiniportCancelSendNetBufferLists"),
        Some(&2),
        "{r}"
    );
    assert_eq!(r.totals.driver_to_host_completions, 5, "{r}");
    assert!(r.check_runs("send_complete.status_propagated") >= 5, "{r}");
}

/// NBLs of the NDIS 6.0 size (11 info slots, 0xF0 bytes, as Vista RTM allocates them) pass both
/// ways: the driver touches nothing past the slots an NDIS 6.0 driver may rely on.
#[test]
fn ndis60_sized_nbls_pass_through() {
    let mut cfg = ModelConfig::default()
        .seed(21)
        .with_adapter(LowerAdapterConfig::ethernet(1));
    cfg.nbl_info_slots = NBL_INFO_SLOTS_NDIS60;
    assert_eq!(size_of::<NetBufferList>(), 0xF0);
    let mut m = Model::load(cfg);
    assert_eq!(m.host_send(A, 8), 8);
    assert_eq!(m.lower_indicate(A, 8, false), 8);
    m.release_all();
    m.host_return_receives(A, None);
    m.release_all();
    assert_eq!(m.host_sends_outstanding(A), 0);
    assert_eq!(m.host_receives_outstanding(A), 0);
    let r = unload_clean(m);
    assert_eq!(r.totals.driver_to_host_completions, 8, "{r}");
}
