//! Behaviours that mutation testing (`.ci/mutants`, cargo-mutants) showed no other test pins:
//! each test here fails when the named part of the driver is changed. Which mutant each one
//! kills is in its doc comment.

use chimney_im::ndis::oids::{OID_GEN_VENDOR_DESCRIPTION, OID_PNP_CAPABILITIES};
use chimney_im::ndis::*;
use ndis_model::testkit::*;
use ndis_model::*;

const A: AdapterId = AdapterId(0);

/// `passthrough::status::forwarded` → true: only link state and the three chimney offload codes
/// go up; the lower adapter's reset and media codes describe it to its own bindings.
#[test]
fn status_codes_the_host_does_not_need_are_not_forwarded() {
    let mut m = one_adapter(AdapterPolicy::default(), 31);
    for code in [
        NDIS_STATUS_RESET_START,
        NDIS_STATUS_RESET_END,
        NDIS_STATUS_MEDIA_CONNECT,
    ] {
        assert!(m.lower_indicate_status(A, code), "{code:#x} indicated");
    }
    m.run_until_idle();
    let r = unload_clean(m);
    assert_eq!(r.totals.status_from_lower, 3, "{r}");
    assert_eq!(r.totals.status_to_host, 0, "{r}");
}

/// `chimney::state::all_blocks_ours` → true: a state call naming a state object this driver has
/// not published (here: a query whose TCP handle's initiate is still in flight, so its offload
/// context is NULL) is refused at once instead of reaching the target.
#[test]
fn query_naming_an_unpublished_state_object_is_refused() {
    let mut m = held_state(32);
    let c = m.host_offload(A).expect("initiate issued");
    m.run_until_idle();
    assert_eq!(m.conn_state(c), ConnState::Offloading);
    assert!(m.host_rogue_query(c), "issued");
    assert_eq!(
        m.report().check_runs("chimney_host.refused_call_status"),
        1,
        "refused at once, in every block"
    );
    assert_eq!(
        m.target_complete_state(A),
        1,
        "only the initiate reached the target"
    );
    m.run_until_idle();
    assert_eq!(m.conn_state(c), ConnState::Offloaded);
    assert!(m.host_terminate(c));
    m.target_complete_state(A);
    m.run_until_idle();
    assert_eq!(m.conn_state(c), ConnState::Terminated);
    let r = unload_clean(m);
    assert_eq!(r.chimney.terminated, 1, "{r}");
}

/// `TcpUpcalls::checked` (each `&&` → `||`): the driver uses NDIS's upward TCP chimney table
/// only if all six routines it calls are present; with any one missing, no offload is started
/// (the initiate is refused before reaching the target), so no upcall can find a NULL routine.
#[test]
fn a_chimney_upcall_table_missing_any_routine_disables_offload() {
    for missing in 0..6 {
        let mut cfg = ModelConfig::default()
            .seed(40 + missing as u64)
            .with_adapter(LowerAdapterConfig::ethernet(1));
        cfg.offload_handler_missing = Some(missing);
        let mut m = Model::load(cfg);
        let c = m.host_offload(A).expect("initiate issued");
        m.run_until_idle();
        assert!(
            matches!(m.conn_state(c), ConnState::Failed(_)),
            "routine {missing} missing: {:?}",
            m.conn_state(c)
        );
        assert_eq!(m.target_complete_state(A), 0, "routine {missing} missing");
        unload_clean(m);
    }
}

/// The CHECK_FOR_LOOPBACK clear in `passthrough::send::send`: the host asks for loopback on its
/// sends, NDIS already did it at the virtual miniport (NO_LOOPBACK), so the sends go down
/// without the flag (the model checks every NdisSendNetBufferLists for it).
#[test]
fn sends_go_down_without_check_for_loopback() {
    let mut m = one_adapter(AdapterPolicy::default(), 33);
    assert_eq!(m.host_send(A, 8), 8);
    m.run_until_idle();
    let r = unload_clean(m);
    assert!(r.check_runs("send.no_loopback_below") >= 1, "{r}");
    assert_eq!(r.totals.host_to_driver, 8, "{r}");
}

/// `OffloadEntry::begin_terminate` → () and `OffloadEntry::try_start_io` → true: once a
/// connection's terminate has begun, a post on it (only a misbehaving host makes one) is not
/// forwarded: the driver completes it itself with REQUEST_UPLOAD / UPLOAD_REQUESTED, and the
/// target sees nothing new.
#[test]
fn posts_on_a_terminating_connection_are_refused() {
    let mut m = held_state(34);
    let c = offload_now(&mut m, A);
    assert!(m.host_terminate(c));
    assert_eq!(m.conn_state(c), ConnState::Terminating);
    let before = m.chimney_counters().refused;
    assert_eq!(m.host_rogue_send(c, 3), 3);
    m.run_until_idle();
    assert_eq!(m.chimney_counters().refused - before, 3);
    assert_eq!(m.chimney_view(c).outstanding, 0, "completed by the driver");
    assert_eq!(m.target_complete_state(A), 1);
    m.run_until_idle();
    assert_eq!(m.conn_state(c), ConnState::Terminated);
    let r = unload_clean(m);
    assert_eq!(r.chimney.terminated, 1, "{r}");
}

/// `add_if_stack_entry` (`||` → `&&` in its guard): a virtual miniport NDIS gave no interface
/// index (IfIndex 0) is not stacked on the NIC; it still initializes and passes traffic.
#[test]
fn no_interface_stack_entry_without_an_if_index() {
    let mut cfg = ModelConfig::default()
        .seed(35)
        .with_adapter(LowerAdapterConfig::ethernet(1));
    cfg.unspecified_if_index = true;
    let mut m = Model::load(cfg);
    assert_eq!(m.device_state(A).phase, DevPhase::Up);
    assert_eq!(m.host_send(A, 2), 2);
    m.run_until_idle();
    let r = unload_clean(m);
    assert_eq!(r.check_runs("ifstack.lower_is_bound_if_index"), 0, "{r}");
    assert_eq!(r.check_runs("ifstack.delete_known"), 0, "{r}");
}

/// `reenable_by_name` (`||` → `&&`, `<` → `>` in its length check): a global
/// NetEventIMReEnableDevice whose buffer is shorter than an NDIS_STRING is refused with
/// INVALID_PARAMETER before the driver reads it, and restarts nothing.
#[test]
fn reenable_by_name_with_a_short_buffer_is_refused() {
    let mut m = one_adapter(AdapterPolicy::default(), 36);
    m.disable_device(A);
    assert_eq!(m.device_state(A).phase, DevPhase::Halted);
    let short = u32::try_from(std::mem::size_of::<UnicodeString>() - 1).unwrap();
    assert_eq!(
        m.reenable_device_by_name_len(A, short),
        NDIS_STATUS_INVALID_PARAMETER
    );
    assert_eq!(m.device_state(A).phase, DevPhase::Halted);
    assert_eq!(m.reenable_device_by_name(A), NDIS_STATUS_SUCCESS);
    assert_eq!(m.device_state(A).phase, DevPhase::Up);
    unload_clean(m);
}

/// `stop_miniport`: when the cancel comes too late, the driver waits for MiniportInitializeEx
/// to settle instead of spinning on NdisIMCancelInitializeDeviceInstance: one cancel call, then
/// the de-initialize. (With the `!` of that wait deleted the driver spins and this test hangs
/// until cargo-mutants' timeout, as the other unbind tests already do: it pins the call count.)
#[test]
fn unbind_racing_a_start_cancels_once_then_waits() {
    let mut m = one_adapter(
        AdapterPolicy {
            device_start: DeviceStart::Manual,
            cancel_races_start: true,
            ..AdapterPolicy::default()
        },
        37,
    );
    assert_eq!(m.device_state(A).phase, DevPhase::StartPending);
    assert_eq!(m.unbind(A), 0);
    assert_eq!(m.calls(Export::NdisIMCancelInitializeDeviceInstance), 1);
    let d = m.device_state(A);
    assert_eq!(d.phase, DevPhase::Halted);
    assert_eq!(d.starts, 1);
    unload_clean(m);
}

/// `OffloadEntry::unclaim_terminate` → () and `claim_all`'s count (`-=` → `+=` / `/=`): a
/// terminate naming a path and a TCP object whose own terminate is in flight is refused, gives
/// back its claim on the path (so that the host's later terminate of the path, with the last
/// connection using it, goes through) and only that claim.
#[test]
fn refused_terminate_gives_back_its_claim_on_other_entries() {
    let mut m = held_state(38);
    let c1 = offload_now(&mut m, A);
    let c2 = offload_sharing_path(&mut m, A, c1);
    // c1's terminate names only its TCP object (c2 still uses the neighbor and path).
    assert!(m.host_terminate(c1));
    assert!(m.host_rogue_terminate_with_path(c1), "issued");
    assert_eq!(
        m.report().check_runs("chimney_host.refused_call_status"),
        1,
        "refused at once"
    );
    // It gave back only its own claims (`claim_all`'s count): c1's TCP object is still claimed
    // by the first terminate, so another terminate of it is refused too.
    assert!(m.host_rogue_terminate(c1), "issued");
    assert_eq!(
        m.report().check_runs("chimney_host.refused_call_status"),
        2,
        "refused at once"
    );
    assert_eq!(
        m.target_complete_state(A),
        1,
        "only the first reached the target"
    );
    m.run_until_idle();
    assert_eq!(m.conn_state(c1), ConnState::Terminated);
    // The last connection's terminate names the path (and the neighbor) too.
    assert!(m.host_terminate(c2));
    assert_eq!(
        m.target_complete_state(A),
        1,
        "the path's terminate reached the target"
    );
    m.run_until_idle();
    assert_eq!(m.conn_state(c2), ConnState::Terminated);
    let r = unload_clean(m);
    assert_eq!(r.chimney.terminated, 2, "{r}");
    assert_eq!(r.chimney.live_offloads, 0, "{r}");
}

/// `hold_all` in `chimney::state::simple` (`+=` / `-=` of its hold count): an update naming a
/// path and a TCP object whose terminate is in flight is refused, and gives back the hold it took
/// on the path, so that the path's own terminate later drains and completes.
#[test]
fn refused_update_gives_back_its_holds_on_other_entries() {
    let mut m = held_state(39);
    let c1 = offload_now(&mut m, A);
    let c2 = offload_sharing_path(&mut m, A, c1);
    assert!(m.host_terminate(c1));
    // Names c1's path (shared, not terminating: held) and c1's TCP object (terminating: refused).
    assert!(m.host_rogue_update(c1), "issued");
    assert_eq!(
        m.report().check_runs("chimney_host.refused_call_status"),
        1,
        "refused at once"
    );
    assert_eq!(
        m.target_complete_state(A),
        1,
        "only the terminate reached the target"
    );
    m.run_until_idle();
    assert_eq!(m.conn_state(c1), ConnState::Terminated);
    // The last connection's terminate names the path: it completes only once the path drained.
    assert!(m.host_terminate(c2));
    assert_eq!(m.target_complete_state(A), 1);
    m.run_until_idle();
    assert_eq!(m.conn_state(c2), ConnState::Terminated);
    let r = unload_clean(m);
    assert_eq!(r.chimney.terminated, 2, "{r}");
    assert_eq!(r.chimney.live_offloads, 0, "{r}");
}

/// The failure traces (`if status != NDIS_STATUS_SUCCESS { trace!(…) }` in `edge::chimney::register`
/// after NdisSetOptionalHandlers and in `stop_miniport` after NdisIMDeInitializeDeviceInstance,
/// `!=` → `==`): a run where every NDIS call succeeds (load, bind, offload, terminate, unbind,
/// unload) prints no line saying something failed, so the debugger log can be trusted.
#[test]
fn a_run_without_failures_traces_none() {
    let mut m = held_state(40);
    let c = offload_now(&mut m, A);
    assert!(m.host_terminate(c));
    m.target_complete_state(A);
    m.run_until_idle();
    assert_eq!(m.unbind(A), 0);
    let r = unload_clean(m);
    let failed: Vec<&String> = r
        .dbg
        .iter()
        .filter(|l| l.contains("fail") || l.contains("refused"))
        .collect();
    assert!(failed.is_empty(), "{failed:#?}\n{r}");
    assert!(
        !r.dbg.is_empty(),
        "the driver traces (the check can see a line)"
    );
}

/// `initiate::undo_chain` → () and its `!=` → `==`: an initiate of two connections (two TCP
/// blocks under one path) whose second TCP block is refused (its send data cannot get the
/// driver's NBL context) is failed whole, and the send data the *first* TCP block handed over,
/// already prepared, is given back to the host as it gave it, with its counts ended (else the
/// unload waits for them).
#[test]
fn a_refused_second_connection_gives_the_first_its_send_data_back() {
    let mut m = held_state(35);
    // The first connection's two NBLs get their contexts; the second's one does not.
    m.inject_failure(Export::NdisAllocateNetBufferListContext, 3);
    let [c0, c1] = m.host_offload_pair(A, [2, 1]).expect("initiate issued");
    m.run_until_idle();
    for c in [c0, c1] {
        assert_eq!(
            m.conn_state(c),
            ConnState::Failed(NDIS_STATUS_RESOURCES),
            "{c:?}"
        );
    }
    assert_eq!(m.target_complete_state(A), 0, "refused before the target");
    assert_eq!(
        m.report().check_runs("chimney_host.initiate_data_returned"),
        2
    );
    let r = unload_clean(m);
    assert_eq!(r.injected.values().sum::<u64>(), 1, "{r}");
    assert_eq!(r.chimney.initiate_send_data, 3, "{r}");
}

/// `LinkState::store` → (): the link state the virtual miniport reports in its general
/// attributes is the lower adapter's latest, from the bind parameters at first and from its
/// LINK_STATE indications afterwards (seen at the next MiniportInitializeEx, here after the user
/// disabled and re-enabled the virtual NIC).
#[test]
fn reinitialized_miniport_reports_the_latest_link_state() {
    let mut m = one_adapter(AdapterPolicy::default(), 36);
    let gbit = LowerAdapterConfig::ethernet(1).link_speed;
    assert_eq!(m.device_link_attributes(A), (1, 2, gbit, gbit), "from bind");
    let ls = NdisLinkState {
        header: NdisObjectHeader::new(object_type::DEFAULT, 1, NDIS_SIZEOF_LINK_STATE_REVISION_1),
        media_connect_state: 2,
        media_duplex_state: 1,
        xmit_link_speed: 10_000_000,
        rcv_link_speed: 100_000_000,
        pause_functions: 0,
        auto_negotiation_flags: 0,
    };
    assert!(m.lower_indicate_link_state(A, ls));
    m.run_until_idle();
    m.disable_device(A);
    assert_eq!(m.reenable_device(A), NDIS_STATUS_SUCCESS);
    m.run_until_idle();
    assert_eq!(m.device_state(A).starts, 2);
    assert_eq!(
        m.device_link_attributes(A),
        (2, 1, 10_000_000, 100_000_000),
        "from the indication"
    );
    unload_clean(m);
}

/// `Binding::record_open_status` → (): an NdisOpenAdapterEx that pends and then fails (its
/// ProtocolOpenAdapterCompleteEx carries the failure) fails the bind: no virtual miniport, and
/// the dead binding handle is never used (the model checks every handle the driver passes).
#[test]
fn an_open_that_pends_then_fails_fails_the_bind() {
    let mut m = one_adapter(
        AdapterPolicy {
            open: OpenPolicy::PendingFail(NDIS_STATUS_OPEN_FAILED),
            ..AdapterPolicy::default()
        },
        37,
    );
    m.run_until_idle();
    assert_eq!(m.binding_state(A).open, OpenState::None);
    assert_eq!(m.device_state(A).phase, DevPhase::Absent);
    assert_eq!(m.device_state(A).starts, 0);
    unload_clean(m);
}

/// `passthrough::oid::post_process`'s guard (first `||` → `&&`): only OID_PNP_CAPABILITIES
/// answers are rewritten; a successful answer of another OID at least as long as an
/// NDIS_PNP_CAPABILITIES (here the lower miniport's vendor description) reaches the host as the
/// lower miniport wrote it.
#[test]
fn long_answers_of_other_oids_pass_unchanged() {
    let mut m = one_adapter(AdapterPolicy::default(), 38);
    let out = m
        .host_oid(A, &OidSpec::query(OID_GEN_VENDOR_DESCRIPTION, 64))
        .expect("query ran");
    assert_eq!(out.status, NDIS_STATUS_SUCCESS);
    let n = LOWER_VENDOR_DESCRIPTION.len();
    assert!(n >= size_of::<NdisPnpCapabilities>());
    assert_eq!(out.bytes_written as usize, n);
    assert_eq!(&out.data[..n], LOWER_VENDOR_DESCRIPTION);
    unload_clean(m);
}

/// `post_process`'s guard (second `||` → `&&`, `<` → `>`): a successful OID_PNP_CAPABILITIES
/// answer shorter than NDIS_PNP_CAPABILITIES is not rewritten (the driver would write wake-up
/// states past what the lower miniport wrote); it reaches the host as written.
#[test]
fn short_pnp_capabilities_answers_pass_unchanged() {
    let mut m = one_adapter(
        AdapterPolicy {
            pnp_answer_len: Some(8),
            ..AdapterPolicy::default()
        },
        39,
    );
    let out = m
        .host_oid(A, &OidSpec::query(OID_PNP_CAPABILITIES, 16))
        .expect("query ran");
    assert_eq!(out.status, NDIS_STATUS_SUCCESS);
    assert_eq!(out.bytes_written, 8);
    let magic = PmCaps::default().min_magic_packet_wake_up;
    assert_ne!(magic, NDIS_DEVICE_STATE_UNSPECIFIED);
    assert_eq!(
        out.data[..8],
        [0u32, magic].map(u32::to_le_bytes).concat()[..]
    );
    assert_eq!(out.data[8..16], [0; 8], "nothing written past the answer");
    unload_clean(m);
}

/// `Adapter::drain_nbls` → (): MiniportHaltEx closes the data path and waits for it even when
/// NDIS did not pause the miniport first (a misbehaving NDIS: with a completed pause the path
/// is already closed and drained, and this wait finds nothing). Halt returns only after the
/// host's sends in flight below have completed up.
#[test]
fn a_halt_without_a_pause_still_waits_for_the_data_path() {
    let mut m = one_adapter(
        AdapterPolicy {
            send_completion: Completion::Held,
            ..AdapterPolicy::default()
        },
        40,
    );
    assert_eq!(m.host_send(A, 4), 4);
    m.run_until_idle();
    assert_eq!(m.host_sends_outstanding(A), 4, "held below");
    m.halt_unpaused(A);
    assert_eq!(
        m.host_sends_outstanding(A),
        0,
        "completed before halt returned"
    );
    assert_eq!(m.device_state(A).phase, DevPhase::Halted);
    let r = unload_clean(m);
    assert_eq!(r.totals.driver_to_host_completions, 4, "{r}");
}

/// `AdapterState::from_u32`'s `5 => Pausing` arm (deleted, a pending pause reads as Absent):
/// an unbind that finds the virtual miniport Pausing (its pause waits for receives the host
/// keeps) de-initializes it and waits for the halt before closing the binding, instead of
/// taking it for gone.
#[test]
fn unbind_during_a_pending_pause_halts_the_miniport_first() {
    let mut m = one_adapter(
        AdapterPolicy {
            host_return: Completion::Held,
            ..AdapterPolicy::default()
        },
        41,
    );
    assert_eq!(m.lower_indicate(A, 2, false), 2);
    m.run_until_idle();
    assert_eq!(m.host_receives_outstanding(A), 2, "kept by the host");
    assert_eq!(m.pause_miniport_no_wait(A), NDIS_STATUS_PENDING);
    assert_eq!(m.device_state(A).run, RunState::Pausing);
    assert_eq!(m.unbind(A), NDIS_STATUS_SUCCESS);
    assert_eq!(m.device_state(A).phase, DevPhase::Halted);
    assert_eq!(m.host_receives_outstanding(A), 0);
    let r = unload_clean(m);
    assert_eq!(r.totals.returns_down, 2, "{r}");
}

/// `AdapterState::from_u32`'s `2 => Initializing` arm (deleted, a running MiniportInitializeEx
/// reads as Absent): an unbind whose cancel came too late and that sees the start's
/// MiniportInitializeEx still running keeps waiting for it, then de-initializes the miniport
/// before closing the binding (instead of freeing the binding of a miniport NDIS just
/// initialized).
#[test]
fn unbind_seeing_the_miniport_initializing_waits_then_halts_it() {
    let mut m = one_adapter(
        AdapterPolicy {
            device_start: DeviceStart::Manual,
            cancel_races_start: true,
            start_yields: true,
            ..AdapterPolicy::default()
        },
        42,
    );
    assert_eq!(m.device_state(A).phase, DevPhase::StartPending);
    let waits = m.report().counters.waits;
    assert_eq!(m.unbind(A), 0);
    assert!(
        m.report().counters.waits >= waits + 2,
        "the unbind waited again after seeing the start under way"
    );
    let d = m.device_state(A);
    assert_eq!(d.phase, DevPhase::Halted);
    assert_eq!(d.starts, 1);
    unload_clean(m);
}
