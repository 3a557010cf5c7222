//! Cases where the driver itself is made faulty: stand-in DriverEntry variants
//! (`standin.rs`) or chimney-im's registered handlers replaced or wrapped (`faulty.rs`).

use std::time::Duration;

use chimney_im::ndis::*;
use ndis_model::testkit::{link_up, one_adapter};
use ndis_model::*;

use super::Case;
use super::faulty::{self, install};
use super::send_path;
use super::setups::*;
use super::standin;

pub static CASES: &[Case] = &[
    // ---- faulty stand-in drivers ----
    case!(
        "driver_entry.registered_both_edges",
        || Model::load_with(ModelConfig::default().seed(79), standin::registers_nothing),
        |m| {}
    ),
    // A driver still calling NDIS once its DriverEntry failed (its image is unloaded then):
    // here the test makes that call in the driver's place.
    case!(
        "driver.no_calls_after_unload",
        || Model::load_with(ModelConfig::default().seed(78), standin::fails_cleanly),
        |m| {
            let mut event = NdisEvent::zeroed();
            // SAFETY: a valid event on this frame; the call comes after the driver's failed
            // DriverEntry (the fault).
            unsafe { ndis_model::exports::sync::NdisInitializeEvent(&raw mut event) };
        }
    ),
    case!(
        "driver_entry.failure_cleans_up",
        || Model::load_with(
            ModelConfig::default().seed(80),
            standin::fails_after_registering
        ),
        |m| {}
    ),
    // Returning with a lock held is also returning at DISPATCH_LEVEL, and the lock is still held
    // when the model unloads the driver.
    case!("handler.returns_without_spin_locks",
        also ["handler.returns_at_entry_irql", "teardown.spin_locks_released"],
        || Model::load_with(ModelConfig::default().seed(81), standin::returns_holding_a_lock),
        |m| {}),
    case!(
        "registration.miniport_once",
        also[],
        || Model::load_with(ModelConfig::default().seed(82), standin::registers_twice),
        |m| {}
    ),
    // ---- faulty handlers (chimney-im's replaced or wrapped after load) ----
    // Sends swallowed by the miniport never drain: not at pause, not at halt, never returned.
    case!("pause.miniport_sends_drained", also ["halt.sends_drained", "teardown.nbls_returned"], adapter, |m| {
        install(m, |mp, _| mp.send = faulty::send_drops);
        m.host_send(A, 2);
        m.pause_miniport(A);
    }),
    case!("pause.returns_success_or_pending", adapter, |m| {
        install(m, |mp, _| mp.pause = faulty::pause_fails);
        m.pause_miniport(A);
    }),
    case!("pause.pending_completed", short_waits, |m| {
        install(m, |mp, _| mp.pause = faulty::pause_pends_forever);
        m.pause_miniport(A);
    }),
    case!("restart.pending_completed", short_waits, |m| {
        m.pause_miniport(A);
        install(m, |mp, _| mp.restart = faulty::restart_pends_forever);
        m.restart_miniport(A);
    }),
    case!("unbind.returns_success_or_pending", adapter, |m| {
        install(m, |_, pt| pt.unbind = faulty::unbind_fails);
        m.unbind(A);
    }),
    // An unbind that never completes leaves the binding and everything under it at unload.
    case!("unbind.pending_unbind_completed",
        also ["deregister.bindings_closed", "deregister.miniports_halted", "teardown.bindings_closed",
            "teardown.if_stack_entries_deleted", "teardown.memory_freed", "unbind.binding_closed",
            "unbind.virtual_miniport_stopped"],
        short_waits, |m| {
        install(m, |_, pt| pt.unbind = faulty::unbind_pends_forever);
        m.unbind(A);
    }),
    case!("pnp.pause_succeeds", adapter, |m| {
        install(m, |_, pt| pt.pnp = faulty::pnp_pause_fails);
        m.pause_binding(A);
    }),
    // The handler pends every event, so the pause before unload's unbind never completes either.
    case!(
        "pnp.pending_event_completed",
        also["pnp.pause_succeeds"],
        short_waits,
        |m| {
            install(m, |_, pt| pt.pnp = faulty::pnp_pends_forever);
            m.reconfigure(Some(A));
        }
    ),
    case!(
        "bind.success_means_open",
        || Model::load(ModelConfig::default().seed(83)),
        |m| {
            install(m, |_, pt| pt.bind = faulty::bind_claims_success);
            let a = m.add_adapter(LowerAdapterConfig::ethernet(1));
            m.bind(a);
        }
    ),
    case!(
        "bind.pending_bind_completed",
        || {
            let mut c = ModelConfig::default().seed(84);
            c.deadlock_timeout = Duration::from_millis(200);
            Model::load(c)
        },
        |m| {
            install(m, |_, pt| pt.bind = faulty::bind_pends_forever);
            let a = m.add_adapter(LowerAdapterConfig::ethernet(1));
            m.bind(a);
        }
    ),
    // The OID that never completes is still outstanding when the miniport halts.
    case!(
        "oid.pending_request_completed",
        also["halt.host_oid_finished_first"],
        short_waits,
        |m| {
            install(m, |mp, _| mp.oid_request = faulty::oid_pends_forever);
            m.host_oid(A, &OidSpec::query(oids::OID_GEN_LINK_SPEED, 4));
        }
    ),
    // Receives never returned are also outstanding when the binding is closed.
    case!(
        "teardown.nbls_returned",
        also["close.nothing_outstanding"],
        adapter,
        |m| {
            install(m, |_, pt| pt.receive = faulty::receive_drops);
            m.lower_indicate(A, 2, false);
        }
    ),
    // ---- data-path wrappers that own the NBLs they misuse ----
    case!("send_complete.refused_send_fails", adapter, |m| {
        data_path_fault(m.ndis_handles(A).miniport, 0, 0);
        install(m, |mp, _| mp.send = faulty::send_completes_at_once);
        m.host_send(A, 2);
    }),
    case!("flags.dispatch_level_matches_irql", adapter, |m| {
        data_path_fault(m.ndis_handles(A).miniport, NDIS_STATUS_FAILURE, 1);
        install(m, |mp, _| mp.send = faulty::send_completes_at_once);
        m.host_send(A, 2);
    }),
    case!("send_complete.same_adapter", two_adapters, |m| {
        data_path_fault(
            m.ndis_handles(AdapterId(1)).miniport,
            NDIS_STATUS_FAILURE,
            0,
        );
        install(m, |mp, _| mp.send = faulty::send_completes_at_once);
        m.host_send(A, 2);
    }),
    case!("return_down.not_for_resources_indications", adapter, |m| {
        data_path_fault(m.ndis_handles(A).binding, 0, 0);
        install(m, |_, pt| pt.receive = faulty::receive_returns_at_once);
        m.lower_indicate(A, 2, true);
    }),
    case!("return_down.same_adapter", two_adapters, |m| {
        data_path_fault(m.ndis_handles(AdapterId(1)).binding, 0, 0);
        install(m, |_, pt| pt.receive = faulty::receive_returns_at_once);
        m.lower_indicate(A, 2, false);
    }),
    // ---- a stand-in receive path (tests/checks_fire/faulty.rs) with one fault each ----
    case!("receive.count_matches_chain", adapter, |m| {
        stand_in_receive(m, m.ndis_handles(A).miniport, 1);
        m.lower_indicate(A, 2, false);
    }),
    // NDIS routes the host's return by SourceHandle: with the wrong one the NBLs never come back,
    // so pause, halt, close and unload all find them outstanding.
    case!("receive.source_handle_is_miniport",
        also ["return_up.routed_by_source_handle", "pause.miniport_receives_returned",
            "halt.receives_returned", "close.nothing_outstanding", "teardown.nbls_returned"],
        adapter, |m| {
        stand_in_receive(m, m.ndis_handles(A).miniport, 0);
        faulty::UP_SOURCE.store(
            m.ndis_handles(A).binding,
            std::sync::atomic::Ordering::Relaxed,
        );
        m.lower_indicate(A, 2, false);
    }),
    case!("receive.same_adapter", two_adapters, |m| {
        stand_in_receive(m, m.ndis_handles(AdapterId(1)).miniport, 0);
        m.lower_indicate(A, 2, false);
    }),
    // ---- real handlers wrapped to break one rule ----
    case!(
        "bind.complete_once",
        || Model::load(ModelConfig::default().seed(90)),
        |m| {
            install(m, |_, pt| pt.bind = faulty::bind_completes_twice);
            let a = m.add_adapter(LowerAdapterConfig::ethernet(1));
            m.bind(a);
        }
    ),
    case!("oid.status_propagated", held_oids, |m| {
        install(m, |_, pt| {
            pt.oid_complete = faulty::oid_complete_changes_status
        });
        m.host_oid_start(A, &OidSpec::query(oids::OID_GEN_LINK_SPEED, 4));
        m.lower_complete_oids(A);
        m.host_oid_wait(A);
    }),
    case!("send_complete.status_propagated", adapter, |m| {
        install(m, |_, pt| {
            pt.send_complete = faulty::send_complete_changes_status
        });
        m.host_send(A, 2);
    }),
    // ---- MiniportInitializeEx around the real one, with one extra wrong call ----
    case!(
        "attributes.header",
        || init_fault(faulty::INIT_NULL_ATTRIBUTES),
        |m| {}
    ),
    case!(
        "attributes.registration_header",
        || init_fault(faulty::INIT_BAD_REGISTRATION_HEADER),
        |m| {}
    ),
    // General attributes first, with a header that is wrong too (the model reads no further).
    case!(
        "attributes.registration_before_general",
        also["attributes.general_header"],
        || init_fault(faulty::INIT_GENERAL_FIRST),
        |m| {}
    ),
    case!(
        "ifstack.added_once",
        || init_fault(faulty::INIT_IF_STACK_TWICE),
        |m| {}
    ),
    case!(
        "ifstack.lower_is_bound_if_index",
        || init_fault(faulty::INIT_IF_STACK_WRONG_LOWER),
        |m| {}
    ),
    // ---- pause handlers that do not drain ----
    case!("pause.binding_sends_drained", held_sends, |m| {
        m.host_send(A, 2);
        install(m, |_, pt| pt.pnp = faulty::pnp_pause_without_draining);
        m.pause_binding(A);
    }),
    case!("pause.miniport_receives_returned", held_receives, |m| {
        m.lower_indicate(A, 2, false);
        install(m, |mp, _| mp.pause = faulty::pause_without_draining);
        m.pause_miniport(A);
    }),
    // ---- a stand-in send path (tests/checks_fire/faulty.rs) with one fault each ----
    case!("send.binding_not_paused", adapter, |m| {
        stand_in_send(m, 0);
        m.pause_binding(A);
        m.host_send(A, 2);
        m.restart_binding(A);
    }),
    // NDIS routes the lower's completion by SourceHandle: with the wrong one the sends never
    // come back, so pause, halt and unload all find them outstanding.
    case!("send.source_handle_is_binding",
        also ["send_complete.routed_by_source_handle", "pause.miniport_sends_drained",
            "halt.sends_drained", "teardown.nbls_returned"],
        adapter, |m| {
        let mh = m.ndis_handles(A).miniport;
        stand_in_send(m, mh);
        m.host_send(A, 2);
    }),
    // ---- registration tables: stand-in DriverEntry variants ----
    case!(
        "registration.miniport_required_handlers",
        also["registration.miniport_intermediate_flag"],
        || Model::load_with(
            ModelConfig::default().seed(97),
            standin::miniport_with_empty_characteristics
        ),
        |m| {}
    ),
    case!(
        "registration.miniport_header_matches_version",
        || Model::load_with(
            ModelConfig::default().seed(98),
            standin::miniport_with_wrong_revision
        ),
        |m| {}
    ),
    case!(
        "registration.protocol_required_handlers",
        also["registration.protocol_name"],
        || Model::load_with(
            ModelConfig::default().seed(99),
            standin::protocol_with_empty_characteristics
        ),
        |m| {}
    ),
    case!(
        "registration.protocol_header_matches_version",
        || Model::load_with(
            ModelConfig::default().seed(100),
            standin::protocol_with_wrong_revision
        ),
        |m| {}
    ),
    // The SourceHandle is part of the NBL as the host sent it.
    case!(
        "send_complete.source_handle_restored",
        also["send_complete.nbl_as_sent"],
        adapter,
        |m| {
            stand_in_send(m, 0);
            faulty::NO_RESTORE.store(true, std::sync::atomic::Ordering::Relaxed);
            m.host_send(A, 2);
        }
    ),
    case!(
        "open.once_per_bind",
        || Model::load(ModelConfig::default().seed(101)),
        |m| {
            faulty::HANDLE.store(
                m.ndis_handles(A).protocol,
                std::sync::atomic::Ordering::Relaxed,
            );
            install(m, |_, pt| pt.bind = faulty::bind_opens_twice);
            let a = m.add_adapter(LowerAdapterConfig::ethernet(1));
            m.bind(a);
        }
    ),
    case!("open.only_inside_bind", adapter, |m| {
        let p = m.ndis_handles(A).protocol;
        let mut binding_handle: NdisHandle = std::ptr::null_mut();
        // SAFETY: an open outside ProtocolBindAdapterEx, with no live BindContext (the fault);
        // refused before the (NULL) parameters are read.
        unsafe {
            ndis_model::exports::binding::NdisOpenAdapterEx(
                h(p),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                h(0x42),
                &raw mut binding_handle,
            )
        };
    }),
    // Indicated up without NDIS_RECEIVE_FLAGS_RESOURCES: the host keeps NBLs the lower lent.
    case!("receive.resources_ownership_back_on_return", adapter, |m| {
        stand_in_receive(m, m.ndis_handles(A).miniport, 0);
        m.lower_indicate(A, 2, true);
    }),
    case!("return_down.nbl_as_indicated", adapter, |m| {
        stand_in_receive(m, m.ndis_handles(A).miniport, 0);
        faulty::NO_RESTORE.store(true, std::sync::atomic::Ordering::Relaxed);
        m.lower_indicate(A, 2, false);
    }),
    case!("status.link_state_intact", adapter, |m| {
        install(m, |_, pt| pt.status = Some(faulty::status_alters_buffer));
        m.lower_indicate_link_state(A, link_up(1_000_000_000));
        m.run_until_idle();
    }),
];

/// Installs the stand-in send path: sends go down through adapter 0's binding (SourceHandle
/// `source`, or the binding's handle when 0), completions go up through its miniport.
pub(super) fn stand_in_send(m: &mut Model, source: usize) {
    use std::sync::atomic::Ordering::Relaxed;
    faulty::HANDLE.store(m.ndis_handles(A).binding, Relaxed);
    faulty::UP_HANDLE.store(m.ndis_handles(A).miniport, Relaxed);
    send_path::DOWN_SOURCE.store(source, Relaxed);
    send_path::DOWN_FLAGS.store(0, Relaxed);
    faulty::NO_RESTORE.store(false, Relaxed);
    install(m, |mp, pt| {
        mp.send = send_path::send_goes_down;
        pt.send_complete = send_path::send_complete_goes_up;
    });
}

fn held_sends() -> Model {
    one_adapter(
        AdapterPolicy {
            send_completion: Completion::Held,
            ..AdapterPolicy::default()
        },
        95,
    )
}

fn held_receives() -> Model {
    one_adapter(
        AdapterPolicy {
            host_return: Completion::Held,
            ..AdapterPolicy::default()
        },
        96,
    )
}
