//! TCP chimney failure paths: no offload target below, target initiate failures, memory and NBL
//! context failures in the driver, posts while the virtual miniport pauses or the lower binding
//! is paused, pause/halt/unbind with chimney I/O in flight, offload pause / upload-all status
//! indications, a newer ndis.sys that discards chimney registration, and the verifier catching
//! chimney misuse.

use chimney_im::ndis::*;
use ndis_model::testkit::*;
use ndis_model::*;

const A: AdapterId = AdapterId(0);

#[test]
fn lower_adapter_without_chimney_fails_initiate_synchronously() {
    let mut m = one_chimney_adapter(
        ChimneyPolicy {
            target: false,
            ..ChimneyPolicy::default()
        },
        1,
    );
    let c = m
        .host_offload_with(
            A,
            OffloadSpec {
                send_data: 2,
                ..OffloadSpec::default()
            },
        )
        .expect("issued");
    // Completed inside NdisInitiateOffload, before the host's call returned.
    assert_eq!(
        m.conn_state(c),
        ConnState::Failed(NDIS_STATUS_NOT_SUPPORTED)
    );
    assert_eq!(m.chimney_view(c).outstanding, 0);
    let r = unload_clean(m);
    assert_eq!(r.chimney.offloads_failed, 1, "{r}");
    assert!(
        r.check_runs("chimney_host.initiate_data_returned") == 1,
        "{r}"
    );
    assert!(
        r.check_runs("chimney_host.no_context_on_failure") >= 3,
        "{r}"
    );
}

#[test]
fn target_initiate_failure_reaches_the_host() {
    let mut m = one_chimney_adapter(
        ChimneyPolicy {
            initiate_status: NDIS_STATUS_OFFLOAD_TCP_ENTRIES,
            ..ChimneyPolicy::default()
        },
        2,
    );
    let c = m
        .host_offload_with(
            A,
            OffloadSpec {
                send_data: 3,
                ..OffloadSpec::default()
            },
        )
        .expect("issued");
    m.run_until_idle();
    assert_eq!(
        m.conn_state(c),
        ConnState::Failed(NDIS_STATUS_OFFLOAD_TCP_ENTRIES)
    );
    // Neighbor and path were offloaded: the next connection reuses them and succeeds.
    m.set_chimney_policy(A, ChimneyPolicy::default());
    let c2 = m.host_offload(A).expect("issued");
    m.run_until_idle();
    assert_eq!(m.conn_state(c2), ConnState::Offloaded);
    let r = unload_clean(m);
    assert_eq!(r.chimney.offloads_failed, 1, "{r}");
    assert_eq!(r.chimney.live_offloads, 0, "{r}");
    assert_eq!(
        r.check_runs("chimney_host.returned_data_restored"),
        3,
        "{r}"
    );
}

#[test]
fn memory_failure_during_initiate_completes_with_resources() {
    // 1st allocation: the call record; 2nd..4th: the entries (neighbor, path, TCP).
    for nth in 1..=4 {
        let mut m = one_chimney_adapter(ChimneyPolicy::default(), 3);
        m.inject_failure(Export::NdisAllocateMemoryWithTagPriority, nth);
        let c = m.host_offload(A).expect("issued");
        m.run_until_idle();
        assert_eq!(
            m.conn_state(c),
            ConnState::Failed(NDIS_STATUS_RESOURCES),
            "allocation {nth}"
        );
        m.clear_failures();
        let c2 = offload_now(&mut m, A);
        m.host_post_receives(c2, 1, 1, 10);
        m.run_until_idle();
        let r = unload_clean(m);
        assert_eq!(r.check_runs("chimney_host.refused_call_status"), 1, "{r}");
    }
}

#[test]
fn nbl_context_failure_refuses_the_whole_chain() {
    let mut m = one_chimney_adapter(
        ChimneyPolicy {
            io_completion: Completion::Held,
            ..ChimneyPolicy::default()
        },
        4,
    );
    let c = offload_now(&mut m, A);
    m.host_post_receives(c, 1, 2, 20);
    m.inject_failure(Export::NdisAllocateNetBufferListContext, 2);
    assert_eq!(m.host_post_receives(c, 1, 3, 20), 3);
    // Refused inline (REQUEST_UPLOAD, UPLOAD_REQUESTED, UPLOAD_REQUESTED) although the two
    // earlier receives are still with the target.
    let v = m.chimney_view(c);
    assert_eq!((v.outstanding, v.at_target), (2, 2), "{v:?}");
    assert!(v.upload_requested);
    m.host_chimney_send(c, 2);
    m.release_all();
    let r = unload_clean(m);
    assert_eq!(r.chimney.refused, 3, "{r}");
    assert_eq!(r.check_runs("chimney_host.refused_io_status"), 3, "{r}");
}

#[test]
fn initiate_is_refused_when_the_virtual_miniport_is_not_running() {
    let mut m = one_chimney_adapter(ChimneyPolicy::default(), 5);
    let c1 = offload_now(&mut m, A);
    assert_eq!(m.pause_miniport(A), NDIS_STATUS_SUCCESS);
    // The host uploaded before the pause.
    assert_eq!(m.conn_state(c1), ConnState::Terminated);
    let force = OffloadSpec {
        force: true,
        ..OffloadSpec::default()
    };
    let c = m.host_offload_with(A, force).expect("issued");
    assert_eq!(m.conn_state(c), ConnState::Failed(NDIS_STATUS_FAILURE));
    assert!(
        m.host_offload(A).is_none(),
        "a paused binding does not offload"
    );
    assert_eq!(m.restart_miniport(A), NDIS_STATUS_SUCCESS);
    offload_now(&mut m, A);
    let r = unload_clean(m);
    assert_eq!(r.check_runs("chimney_host.refused_call_status"), 1, "{r}");
}

#[test]
fn posts_while_the_lower_binding_is_paused_are_refused() {
    let mut m = one_chimney_adapter(
        ChimneyPolicy {
            io_completion: Completion::Held,
            ..ChimneyPolicy::default()
        },
        6,
    );
    let c = offload_now(&mut m, A);
    m.host_post_receives(c, 2, 2, 30);
    // NetEventPause waits for the chimney receives below (released: time passes).
    assert_eq!(m.pause_binding(A), NDIS_STATUS_SUCCESS);
    assert_eq!(m.chimney_view(c).outstanding, 0);
    assert_eq!(m.host_post_receives(c, 1, 2, 30), 2);
    m.host_chimney_send(c, 1);
    m.host_disconnect(c, TCP_DISCONNECT_GRACEFUL_CLOSE, 0);
    m.host_forward(c, 1);
    assert_eq!(m.chimney_view(c).outstanding, 0, "refused inline");
    assert_eq!(m.restart_binding(A), NDIS_STATUS_SUCCESS);
    m.host_post_receives(c, 1, 1, 30);
    m.release_all();
    let r = unload_clean(m);
    assert_eq!(r.chimney.refused, 5, "{r}");
    assert_eq!(r.chimney.io_completed, 10, "{r}");
}

#[test]
fn pause_pends_until_chimney_receives_drain_and_refuses_reposts() {
    let mut m = one_chimney_adapter(
        ChimneyPolicy {
            io_completion: Completion::Held,
            upload_before_pause: false,
            host_reposts: 4,
            ..ChimneyPolicy::default()
        },
        7,
    );
    let c = offload_now(&mut m, A);
    m.host_post_receives(c, 2, 2, 30);
    // MiniportPause pends; held receives complete while it waits, the host re-posts from its
    // completion handler and the pausing driver refuses them.
    let st = m.pause_miniport(A);
    assert_eq!(st, NDIS_STATUS_PENDING);
    assert_eq!(m.device_state(A).run, RunState::Paused);
    assert_eq!(m.conn_state(c), ConnState::Offloaded);
    let v = m.chimney_view(c);
    assert_eq!(v.outstanding, 0);
    assert!(v.upload_requested, "{v:?}");
    // Still offloaded while paused; the host uploads before the halt.
    assert_eq!(m.restart_miniport(A), NDIS_STATUS_SUCCESS);
    m.host_post_receives(c, 1, 1, 30);
    let r = unload_clean(m);
    assert!(r.chimney.refused >= 1, "{r}");
    assert!(r.check_runs("pause.chimney_io_drained") >= 2, "{r}");
}

#[test]
fn halt_unbind_and_surprise_removal_with_chimney_io_in_flight() {
    for (i, how) in ["unbind", "disable", "surprise", "unload"]
        .into_iter()
        .enumerate()
    {
        let mut m = one_chimney_adapter(
            ChimneyPolicy {
                io_completion: Completion::Held,
                state_completion: Completion::Held,
                host_return: Completion::Held,
                ..ChimneyPolicy::default()
            },
            8 + i as u64,
        );
        let c = m.host_offload(A).expect("issued");
        m.target_complete_state(A);
        assert_eq!(m.conn_state(c), ConnState::Offloaded);
        m.host_post_receives(c, 2, 3, 30);
        m.host_chimney_send(c, 2);
        m.target_indicate_receive(c, 20);
        let c2 = m.host_offload(A).expect("issued (held at the target)");
        match how {
            "unbind" => assert_eq!(m.unbind(A), NDIS_STATUS_SUCCESS),
            "disable" => m.disable_device(A),
            "surprise" => m.surprise_remove(A),
            _ => {}
        }
        if how != "unload" {
            assert_eq!(m.conn_state(c), ConnState::Terminated, "{how}");
            assert_eq!(m.conn_state(c2), ConnState::Terminated, "{how}");
        }
        let r = unload_clean(m);
        assert_eq!(r.chimney.live_offloads, 0, "{how}\n{r}");
        assert_eq!(r.chimney.indications_returned, 1, "{how}\n{r}");
        assert!(r.check_runs("halt.chimney_drained") >= 1, "{how}\n{r}");
    }
}

#[test]
fn offload_pause_upload_all_and_resume_indications() {
    let mut m = one_chimney_adapter(ChimneyPolicy::default(), 12);
    let c1 = offload_now(&mut m, A);
    let c2 = offload_now(&mut m, A);
    assert!(m.lower_indicate_status(A, NDIS_STATUS_OFFLOAD_PAUSE));
    assert!(m.host_offload(A).is_none(), "offload paused");
    assert!(m.lower_indicate_status(A, NDIS_STATUS_UPLOAD_ALL));
    m.run_until_idle();
    assert_eq!(m.conn_state(c1), ConnState::Terminated);
    assert_eq!(m.conn_state(c2), ConnState::Terminated);
    assert!(m.lower_indicate_status(A, NDIS_STATUS_OFFLOAD_RESUME));
    offload_now(&mut m, A);
    let codes: Vec<NdisStatus> = m.host_status_log(A).iter().map(|s| s.code).collect();
    assert_eq!(
        codes,
        vec![
            NDIS_STATUS_OFFLOAD_PAUSE,
            NDIS_STATUS_UPLOAD_ALL,
            NDIS_STATUS_OFFLOAD_RESUME
        ]
    );
    unload_clean(m);
}

#[test]
fn newer_ndis_discards_chimney_registration_and_the_im_still_works() {
    let mut cfg = ModelConfig::default()
        .seed(13)
        .with_adapter(LowerAdapterConfig::ethernet(1));
    cfg.chimney_ndis = ChimneyNdis::Discards;
    let mut m = Model::load(cfg);
    let c = m.host_offload(A).expect("issued");
    assert_eq!(
        m.conn_state(c),
        ConnState::Failed(NDIS_STATUS_NOT_SUPPORTED)
    );
    assert_eq!(m.host_send(A, 5), 5);
    assert_eq!(m.lower_indicate(A, 4, false), 4);
    m.release_all();
    assert_eq!(m.pause_miniport(A), NDIS_STATUS_SUCCESS);
    assert_eq!(m.restart_miniport(A), NDIS_STATUS_SUCCESS);
    let r = unload_clean(m);
    let t = r.totals;
    assert_eq!(
        (t.driver_to_host_completions, t.returns_down),
        (5, 4),
        "{r}"
    );
    assert_eq!(r.chimney.offloads_succeeded, 0, "{r}");
    assert_eq!(r.check_runs("chimney.optional_handlers_accepted"), 4, "{r}");
    assert_eq!(r.handler_calls.get("MiniportInitiateOffload"), None, "{r}");
}

#[test]
fn verifier_catches_chimney_misuse() {
    use ndis_model::exports::{chimney, chimney_io};
    let mut m = one_chimney_adapter(ChimneyPolicy::default(), 14);
    let c = offload_now(&mut m, A);
    let mut fake = NdisOffloadHandle::zeroed();
    #[repr(C, align(16))]
    struct Raw([u64; 64]);
    let mut nbl_mem = Raw([0; 64]);
    let nbl: *mut NetBufferList = (&raw mut nbl_mem).cast();
    // SAFETY: deliberately wrong calls, as a buggy driver would make them: a handle that is not
    // pool memory (the model checks before reading it), an NBL the driver does not own (the
    // model looks it up by address before touching it).
    unsafe { chimney_io::NdisOffloadTcpReceive(&raw mut fake, nbl) };
    // SAFETY: as above: a bogus miniport handle is only looked up.
    unsafe { chimney::NdisMInitiateOffloadComplete(0x42 as *mut _, std::ptr::null_mut()) };
    // SAFETY: as above: the table's completion with a foreign NBL and a bogus handle.
    unsafe { chimney_io::NdisTcpOffloadReceiveComplete(0x43 as *mut _, nbl) };
    // SAFETY: as above: an indication on a handle that is not the host's.
    unsafe { chimney_io::NdisTcpOffloadEventHandler((&raw mut fake).cast(), 1, 0) };
    // A driver completing a receive up without restoring the host's SourceHandle
    // (docs/chimney-contract.md §5.4): the NBL still carries the driver's own lower binding.
    m.set_chimney_policy(
        A,
        ChimneyPolicy {
            io_completion: Completion::Held,
            ..ChimneyPolicy::default()
        },
    );
    m.host_post_receives(c, 1, 1, 10);
    let held = m.target_held_nbls(c);
    assert_eq!(held.len(), 1);
    let mh = m.device_state(A).handle;
    // SAFETY: a live model NBL with the real miniport handle; the model checks SourceHandle and
    // ownership before routing, and routes nothing it cannot.
    unsafe { chimney_io::NdisTcpOffloadReceiveComplete(mh as *mut _, held[0] as *mut _) };
    let v = m.take_violations();
    let names: Vec<&str> = v.iter().map(|v| v.check).collect();
    for want in [
        "chimney.no_call_on_freed_handle",
        "chimney_io.driver_owns_nbl",
        "handle.miniport",
        "chimney_complete.driver_owns_nbl",
        "chimney_indicate.routed_by_handle",
        "chimney_complete.source_handle_restored",
    ] {
        assert!(names.contains(&want), "{want} not detected: {names:?}");
    }
    m.host_post_receives(c, 1, 1, 10);
    let r = m.unload();
    assert_eq!(
        r.violations.len(),
        v.len(),
        "the driver added violations:\n{r}"
    );
}
