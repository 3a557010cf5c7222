//! TCP chimney pass-through through the NDIS model: offload trees (new, linker, placeholder
//! blocks), receive/send/disconnect/forward pass-through with every completion timing, re-posts
//! from the completion handler, split and merged completion chains, zero-length and NoPush
//! receives, receive indications and returns, TCP and generic events, update/invalidate/query,
//! and terminate with I/O outstanding.

use chimney_im::ndis::*;
use ndis_model::testkit::*;
use ndis_model::*;

const A: AdapterId = AdapterId(0);

#[test]
fn receives_pass_through_with_every_completion_timing() {
    for (i, timing) in [Completion::Inline, Completion::Deferred, Completion::Held]
        .into_iter()
        .enumerate()
    {
        let mut m = one_chimney_adapter(
            ChimneyPolicy {
                io_completion: timing,
                state_completion: timing,
                ..ChimneyPolicy::default()
            },
            10 + i as u64,
        );
        let c = offload_now(&mut m, A);
        assert_eq!(m.host_post_receives(c, 4, 3, 100), 12);
        m.run_until_idle();
        if timing == Completion::Held {
            assert_eq!(m.chimney_view(c).at_target, 12);
            assert_eq!(m.target_complete(A, Some(5)), 5);
            assert_eq!(m.chimney_view(c).outstanding, 7);
            assert_eq!(m.target_complete(A, None), 7);
        }
        let v = m.chimney_view(c);
        assert_eq!((v.outstanding, v.rx_bytes), (0, 1200), "{timing:?}: {v:?}");
        let r = unload_clean(m);
        let ch = &r.chimney;
        assert_eq!((ch.receives_posted, ch.io_completed), (12, 12), "{r}");
        assert_eq!(ch.receive_status.get(&0), Some(&12), "{r}");
        assert_eq!(
            (ch.offloads_succeeded, ch.terminated, ch.live_offloads),
            (1, 1, 0)
        );
        for check in [
            "chimney_host.fifo_per_connection",
            "chimney_host.nbl_as_posted",
            "chimney_complete.source_handle_restored",
            "chimney_io.nbl_passed_unchanged",
            "chimney.offload_handle_zero_filled",
            "chimney_host.block_tree_restored",
        ] {
            assert!(r.check_runs(check) > 0, "{check} never ran\n{r}");
        }
    }
}

#[test]
fn host_reposts_from_inside_its_receive_completion() {
    for timing in [Completion::Inline, Completion::Deferred] {
        let mut m = one_chimney_adapter(
            ChimneyPolicy {
                io_completion: timing,
                host_reposts: 20,
                fill_completely: false,
                ..ChimneyPolicy::default()
            },
            20,
        );
        let c = offload_now(&mut m, A);
        m.host_post_receives(c, 2, 2, 64);
        m.run_until_idle();
        let v = m.chimney_view(c);
        assert_eq!(v.outstanding, 0, "{v:?}");
        let r = unload_clean(m);
        assert_eq!(r.chimney.reposts, 20, "{r}");
        assert_eq!(r.chimney.receives_posted, 24, "{r}");
    }
}

#[test]
fn completions_split_posts_and_merge_connections() {
    let mut m = one_chimney_adapter(
        ChimneyPolicy {
            io_completion: Completion::Held,
            fill_completely: false,
            ..ChimneyPolicy::default()
        },
        30,
    );
    let conns: Vec<ConnId> = (0..3).map(|_| offload_now(&mut m, A)).collect();
    for round in 0..4 {
        for &c in &conns {
            m.host_post_receives(c, 2, 1 + round, 50);
            m.host_chimney_send(c, 2);
        }
        // Parts of several posts of several connections per completion call.
        m.target_complete(A, Some(7));
    }
    m.target_complete(A, None);
    for &c in &conns {
        assert_eq!(m.chimney_view(c).outstanding, 0);
    }
    let r = unload_clean(m);
    assert!(r.chimney.peak_at_target >= 20, "{r}");
    assert_eq!(r.check_runs("chimney_host.fifo_per_connection"), 84, "{r}");
}

#[test]
fn zero_length_nopush_and_bytes_transferred_receives() {
    let mut m = one_chimney_adapter(
        ChimneyPolicy {
            fill_completely: false,
            ..ChimneyPolicy::default()
        },
        40,
    );
    let c = offload_now(&mut m, A);
    let specs = vec![
        vec![RecvSpec::new(0)],
        vec![
            RecvSpec {
                len: 80,
                no_push: true,
                bytes_transferred: 0,
            },
            RecvSpec {
                len: 40,
                no_push: false,
                bytes_transferred: 17,
            },
            RecvSpec::new(0),
        ],
    ];
    assert_eq!(m.host_post_receive_chains(c, &specs), 4);
    m.run_until_idle();
    assert_eq!(m.chimney_view(c).outstanding, 0);
    let r = unload_clean(m);
    assert_eq!(r.chimney.receive_status.get(&0), Some(&4), "{r}");
}

#[test]
fn send_disconnect_and_forward_pass_through() {
    let mut m = one_chimney_adapter(ChimneyPolicy::default(), 50);
    let c = offload_now(&mut m, A);
    assert_eq!(m.host_chimney_send(c, 3), 3);
    assert_eq!(m.host_forward(c, 2), 2);
    assert_eq!(m.host_disconnect(c, TCP_DISCONNECT_GRACEFUL_CLOSE, 0), 1);
    m.run_until_idle();
    let c2 = offload_now(&mut m, A);
    m.host_chimney_send(c2, 1);
    m.host_disconnect(c2, TCP_DISCONNECT_ABORTIVE_CLOSE, 20);
    m.run_until_idle();
    let r = unload_clean(m);
    let ch = &r.chimney;
    assert_eq!((ch.sends, ch.forwards, ch.disconnects), (4, 2, 2), "{r}");
    assert_eq!(ch.io_completed, 8, "{r}");
    assert_eq!(r.check_runs("chimney_io.disconnect_flags_passed"), 2, "{r}");
}

#[test]
fn initiate_hands_send_data_over() {
    let mut m = one_chimney_adapter(ChimneyPolicy::default(), 55);
    let c = m
        .host_offload_with(
            A,
            OffloadSpec {
                send_data: 3,
                ..OffloadSpec::default()
            },
        )
        .expect("offload");
    m.run_until_idle();
    assert_eq!(m.conn_state(c), ConnState::Offloaded);
    assert_eq!(m.chimney_view(c).outstanding, 0);
    let r = unload_clean(m);
    assert_eq!(r.chimney.initiate_send_data, 3, "{r}");
    assert_eq!(r.chimney.io_completed, 3, "{r}");
}

#[test]
fn receive_indications_and_returns() {
    for (i, accept) in [Accept::All, Accept::None, Accept::Partial, Accept::Random]
        .into_iter()
        .enumerate()
    {
        let mut m = one_chimney_adapter(
            ChimneyPolicy {
                host_accept: accept,
                host_return: Completion::Held,
                ..ChimneyPolicy::default()
            },
            60 + i as u64,
        );
        let c = offload_now(&mut m, A);
        let mut want = 0;
        for _ in 0..6 {
            let st = m.target_indicate_receive(c, 30).expect("indicated");
            match st {
                NDIS_STATUS_SUCCESS => want += 30,
                NDIS_STATUS_OFFLOAD_DATA_NOT_ACCEPTED => {}
                NDIS_STATUS_OFFLOAD_DATA_PARTIALLY_ACCEPTED => {}
                other => panic!("unexpected indication result {other:#x}"),
            }
            if accept == Accept::All {
                assert_eq!(st, NDIS_STATUS_SUCCESS);
            }
            if accept == Accept::None {
                assert_eq!(st, NDIS_STATUS_OFFLOAD_DATA_NOT_ACCEPTED);
            }
        }
        // Posted receives continue the stream after what the indications delivered.
        m.host_post_receives(c, 1, 2, 25);
        m.run_until_idle();
        let v = m.chimney_view(c);
        if accept == Accept::All {
            assert_eq!((v.kept, v.rx_bytes), (6, want + 50), "{v:?}");
            assert_eq!(m.host_return_indications(c, Some(2)), 2);
        }
        let r = unload_clean(m);
        assert_eq!(r.chimney.indications, 6, "{r}");
        assert_eq!(
            r.chimney.indications_kept, r.chimney.indications_returned,
            "{r}"
        );
        assert!(r.check_runs("chimney_indicate.data_in_stream_order") >= 6);
    }
}

#[test]
fn tcp_and_generic_events_reach_the_host() {
    let mut m = one_chimney_adapter(ChimneyPolicy::default(), 70);
    let c = offload_now(&mut m, A);
    assert!(m.target_event(
        c,
        tcp_offload_event::RETRIEVE,
        tcp_upload_reason::LOW_ACTIVITY
    ));
    assert!(m.target_event(c, tcp_offload_event::DISCONNECT, 0));
    let code = indicate_offload_event::NEIGHBOR_REACHABILITY_QUERY;
    assert!(m.target_offload_event(A, code, Some(c)));
    assert!(m.target_offload_event(
        A,
        indicate_offload_event::NEIGHBOR_REACHABILITY_IN_DOUBT,
        None
    ));
    assert_eq!(
        m.chimney_view(c).events,
        vec![
            (tcp_offload_event::RETRIEVE, tcp_upload_reason::LOW_ACTIVITY),
            (tcp_offload_event::DISCONNECT, 0)
        ]
    );
    let r = unload_clean(m);
    assert_eq!((r.chimney.events, r.chimney.generic_events), (2, 2), "{r}");
    assert_eq!(r.check_runs("chimney_event.generic_list_restored"), 1);
    assert!(r.check_runs("chimney_event.generic_handles_swapped") >= 1);
}

#[test]
fn update_invalidate_and_query_pass_through() {
    for timing in [Completion::Inline, Completion::Deferred, Completion::Held] {
        let mut m = one_chimney_adapter(
            ChimneyPolicy {
                state_completion: timing,
                ..ChimneyPolicy::default()
            },
            80,
        );
        let c = offload_now(&mut m, A);
        assert!(m.host_update(c));
        m.run_until_idle();
        m.target_complete_state(A);
        assert!(m.host_invalidate(c));
        m.run_until_idle();
        m.target_complete_state(A);
        assert!(m.host_query(c));
        m.run_until_idle();
        m.target_complete_state(A);
        let r = unload_clean(m);
        assert_eq!(r.chimney.state_calls, 3, "{r}");
        assert!(r.check_runs("chimney_host.status_propagated") >= 9, "{r}");
    }
}

#[test]
fn terminate_completes_posted_receives_first() {
    let mut m = one_chimney_adapter(
        ChimneyPolicy {
            io_completion: Completion::Held,
            ..ChimneyPolicy::default()
        },
        90,
    );
    let c = offload_now(&mut m, A);
    m.host_post_receives(c, 3, 2, 40);
    m.host_chimney_send(c, 2);
    m.target_complete(A, Some(1));
    assert!(m.host_terminate(c));
    m.run_until_idle();
    assert_eq!(m.conn_state(c), ConnState::Terminated);
    assert_eq!(m.chimney_view(c).outstanding, 0);
    let r = unload_clean(m);
    assert_eq!(
        r.chimney.receive_status.get(&0xC023_1001),
        Some(&5),
        "UPLOAD_IN_PROGRESS\n{r}"
    );
    assert_eq!(
        r.check_runs("chimney_host.io_completed_before_terminate"),
        1
    );
}

#[test]
fn terminate_returns_send_data_in_the_chain() {
    let mut m = one_chimney_adapter(
        ChimneyPolicy {
            io_completion: Completion::Held,
            return_sends_on_terminate: true,
            ..ChimneyPolicy::default()
        },
        95,
    );
    let c = offload_now(&mut m, A);
    m.host_chimney_send(c, 4);
    m.host_post_receives(c, 1, 1, 10);
    assert!(m.host_terminate(c));
    m.run_until_idle();
    assert_eq!(m.conn_state(c), ConnState::Terminated);
    let r = unload_clean(m);
    assert_eq!(r.chimney.returned_in_terminate, 4, "{r}");
    assert!(r.check_runs("chimney_host.returned_data_restored") >= 4);
}

#[test]
fn linker_and_placeholder_blocks_share_neighbor_and_path() {
    let mut m = one_chimney_adapter(ChimneyPolicy::default(), 100);
    let c1 = offload_now(&mut m, A);
    let mut conns = vec![c1];
    for linker in [true, false, true] {
        let c = m
            .host_offload_with(
                A,
                OffloadSpec {
                    share: Some(c1),
                    linker,
                    ..OffloadSpec::default()
                },
            )
            .expect("offload");
        m.run_until_idle();
        assert_eq!(m.conn_state(c), ConnState::Offloaded, "linker {linker}");
        conns.push(c);
    }
    for &c in &conns {
        m.host_post_receives(c, 1, 2, 30);
    }
    m.run_until_idle();
    // The first terminates leave the shared neighbor/path (placeholders), the last takes them.
    for &c in &conns {
        assert!(m.host_terminate(c));
        m.run_until_idle();
        assert_eq!(m.conn_state(c), ConnState::Terminated);
    }
    let r = unload_clean(m);
    assert_eq!(r.chimney.live_offloads, 0, "{r}");
    assert_eq!(r.chimney.terminated, 4, "{r}");
}

#[test]
fn many_adapters_keep_their_connections_apart() {
    let mut cfg = ModelConfig::default().seed(110);
    for n in 1..=3 {
        cfg = cfg.with_adapter(LowerAdapterConfig::ethernet(n));
    }
    let mut m = Model::load(cfg);
    let mut conns = Vec::new();
    for a in m.adapters() {
        for _ in 0..2 {
            conns.push(m.host_offload(a).expect("offload"));
        }
    }
    m.run_until_idle();
    for &c in &conns {
        m.host_post_receives(c, 2, 2, 20);
        m.target_indicate_receive(c, 10);
    }
    m.run_until_idle();
    let r = unload_clean(m);
    assert_eq!(r.chimney.offloads_succeeded, 6, "{r}");
    assert_eq!(r.chimney.io_completed, 24, "{r}");
}
