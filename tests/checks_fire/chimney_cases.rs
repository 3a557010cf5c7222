//! Chimney cases where the driver's chimney handlers are replaced by faulty stand-ins
//! (`chimney_standin.rs`): the host and the offload target of the model check what comes through.

use chimney_im::ndis::*;
use ndis_model::testkit::{offload_now, one_chimney_adapter};
use ndis_model::*;

use super::Case;
use super::chimney_standin::{self as cs, install_chimney, io_path, state_path};
use super::setups::*;

pub fn chimney() -> Model {
    one_chimney_adapter(ChimneyPolicy::default(), 120)
}

fn held_state_calls() -> Model {
    ndis_model::testkit::held_state(121)
}

fn short_chimney() -> Model {
    let mut c = ModelConfig::default()
        .seed(122)
        .with_adapter(LowerAdapterConfig::ethernet(1));
    c.deadlock_timeout = std::time::Duration::from_millis(200);
    Model::load(c)
}

/// Offloads a connection (the real driver), then puts the stand-in I/O path in with `fault`.
fn offloaded_io(m: &mut Model, fault: u32) -> ConnId {
    let c = offload_now(m, A);
    install_chimney(m, fault, io_path);
    c
}

pub static CASES: &[Case] = &[
    // ---- the stand-in I/O path, one fault each ----
    case!("chimney_io.forwarded_in_post_order", chimney, |m| {
        let c = offloaded_io(m, cs::POST_REVERSED);
        m.host_chimney_send(c, 2);
        m.run_until_idle();
    }),
    case!("chimney_io.kind_passed", chimney, |m| {
        let c = offloaded_io(m, cs::POST_AS_FORWARD);
        m.host_chimney_send(c, 1);
        m.run_until_idle();
    }),
    // Altered on the way down is also altered when it comes home.
    case!(
        "chimney_io.nbl_passed_unchanged",
        also["chimney_host.nbl_as_posted"],
        chimney,
        |m| {
            let c = offloaded_io(m, cs::POST_ALTERED);
            m.host_chimney_send(c, 1);
            m.run_until_idle();
        }
    ),
    case!("chimney_io.disconnect_flags_passed", chimney, |m| {
        let c = offloaded_io(m, cs::POST_FLAGS_CHANGED);
        m.host_disconnect(c, TCP_DISCONNECT_GRACEFUL_CLOSE, 16);
        m.run_until_idle();
    }),
    case!("chimney_io.provider_returns_pending", chimney, |m| {
        let c = offloaded_io(m, cs::POST_RETURNS_SUCCESS);
        m.host_chimney_send(c, 1);
        m.run_until_idle();
    }),
    case!("chimney_host.refused_io_status", chimney, |m| {
        let c = offloaded_io(m, cs::POST_REFUSED_WITH_SUCCESS);
        m.host_chimney_send(c, 1);
        m.run_until_idle();
    }),
    case!("chimney_target.nbl_on_its_connection", chimney, |m| {
        let c1 = offload_now(m, A);
        let c2 = offload_now(m, A);
        install_chimney(m, cs::POST_ON_LAST_CONTEXT, io_path);
        m.host_chimney_send(c1, 1);
        m.host_chimney_send(c2, 1);
        m.run_until_idle();
    }),
    // NDIS cannot route the NBLs home: the host never gets them back, not before its terminate
    // at unload, nor before the pause and halt, nor at all.
    case!("chimney_complete.source_handle_restored",
        also ["chimney_host.io_completed_before_terminate", "pause.chimney_io_drained",
            "halt.chimney_drained", "teardown.nbls_returned"],
        chimney, |m| {
        let c = offloaded_io(m, cs::COMPLETE_NO_RESTORE);
        m.host_chimney_send(c, 1);
        m.run_until_idle();
    }),
    case!("chimney_host.fifo_per_connection", chimney, |m| {
        let c = offloaded_io(m, cs::COMPLETE_REVERSED);
        m.host_chimney_send(c, 3);
        m.run_until_idle();
    }),
    case!("chimney_host.status_propagated", chimney, |m| {
        let c = offloaded_io(m, cs::COMPLETE_STATUS_CHANGED);
        m.host_chimney_send(c, 1);
        m.run_until_idle();
    }),
    case!("chimney_host.completion_kind", chimney, |m| {
        let c = offloaded_io(m, cs::COMPLETE_AS_FORWARD);
        m.host_chimney_send(c, 1);
        m.run_until_idle();
    }),
    case!("chimney_host.nbl_as_posted", chimney, |m| {
        let c = offloaded_io(m, cs::COMPLETE_ALTERED);
        m.host_chimney_send(c, 1);
        m.run_until_idle();
    }),
    case!("chimney_complete.same_adapter", two_adapters, |m| {
        let c = offloaded_io(m, 0);
        cs::MINIPORT.store(
            m.ndis_handles(AdapterId(1)).miniport,
            std::sync::atomic::Ordering::Relaxed,
        );
        m.host_chimney_send(c, 1);
        m.run_until_idle();
    }),
    // The dropped NBL stays outstanding through the pause and halt, and is never returned.
    case!("chimney_host.io_completed_before_terminate",
        also ["pause.chimney_io_drained", "halt.chimney_drained", "teardown.nbls_returned"],
        chimney, |m| {
        let c = offloaded_io(m, cs::COMPLETE_DROPPED);
        m.host_chimney_send(c, 1);
        m.run_until_idle();
        m.host_terminate(c);
        m.run_until_idle();
    }),
    case!(
        "chimney_io.no_post_after_terminate",
        held_state_calls,
        |m| {
            let c = offloaded_io(m, 0);
            m.host_terminate(c);
            m.run_until_idle();
            m.host_rogue_send(c, 1);
            m.target_complete_state(A);
            m.run_until_idle();
        }
    ),
    case!("chimney_io.binding_running", chimney, |m| {
        let c = offloaded_io(m, 0);
        m.pause_binding(A);
        m.host_chimney_send(c, 1);
        m.restart_binding(A);
        m.run_until_idle();
    }),
    // ---- the stand-in state path, one fault each ----
    // Completed without reaching the target, with SUCCESS: not a refusal's status either.
    case!(
        "chimney_host.context_published",
        also["chimney_host.refused_call_status"],
        chimney,
        |m| {
            install_chimney(m, cs::STATE_NOT_PUBLISHED, state_path);
            m.host_offload(A);
            m.run_until_idle();
        }
    ),
    case!("chimney_host.no_context_on_failure", chimney, |m| {
        install_chimney(m, cs::STATE_FAILED_BUT_PUBLISHED, state_path);
        m.host_offload(A);
        m.run_until_idle();
    }),
    case!(
        "chimney_host.context_cleared_on_terminate",
        also["chimney_host.refused_call_status"],
        chimney,
        |m| {
            install_chimney(m, cs::STATE_NOT_CLEARED, state_path);
            let c = m.host_offload(A).expect("offloading");
            m.run_until_idle();
            m.host_terminate(c);
            m.run_until_idle();
        }
    ),
    case!("chimney_host.refused_call_status", chimney, |m| {
        install_chimney(m, cs::STATE_REFUSED_NOT_SUPPORTED, state_path);
        m.host_offload(A);
        m.run_until_idle();
    }),
    case!("chimney_host.completion_is_own_call", chimney, |m| {
        install_chimney(m, cs::STATE_FOREIGN_LIST_FIRST, state_path);
        m.host_offload(A);
        m.run_until_idle();
    }),
    case!("chimney_host.completion_matches_call", chimney, |m| {
        install_chimney(m, cs::STATE_AS_TERMINATE, state_path);
        m.host_offload(A);
        m.run_until_idle();
    }),
    case!("chimney_host.block_tree_restored", chimney, |m| {
        install_chimney(m, cs::STATE_BLOCK_ALTERED, state_path);
        m.host_offload(A);
        m.run_until_idle();
    }),
    // The send data kept is never completed: outstanding at pause, halt and unload.
    case!("chimney_host.initiate_data_returned",
        also ["pause.chimney_io_drained", "halt.chimney_drained", "teardown.nbls_returned"],
        chimney, |m| {
        install_chimney(m, cs::STATE_CHAIN_KEPT, state_path);
        m.host_offload_with(A, OffloadSpec { send_data: 2, ..OffloadSpec::default() });
        m.run_until_idle();
    }),
    case!("chimney_host.returned_data_restored", chimney, |m| {
        install_chimney(m, cs::STATE_CHAIN_ALTERED, state_path);
        m.host_offload_with(
            A,
            OffloadSpec {
                send_data: 1,
                ..OffloadSpec::default()
            },
        );
        m.run_until_idle();
    }),
    // The host's own send data is not handed back (outstanding ever after).
    case!("chimney_host.completion_is_own_nbl",
        also ["chimney_host.initiate_data_returned", "pause.chimney_io_drained",
            "halt.chimney_drained", "teardown.nbls_returned"],
        chimney, |m| {
        install_chimney(m, cs::STATE_CHAIN_FOREIGN, state_path);
        m.host_offload_with(A, OffloadSpec { send_data: 1, ..OffloadSpec::default() });
        m.run_until_idle();
    }),
    case!(
        "chimney_host.terminate_returns_own_sends",
        also["chimney_host.refused_call_status"],
        chimney,
        |m| {
            install_chimney(m, cs::STATE_FOREIGN_IN_CHAIN, state_path);
            let c = m.host_offload(A).expect("offloading");
            m.run_until_idle();
            m.host_terminate(c);
            m.run_until_idle();
        }
    ),
    // The terminate never completes: the host's upload before the halt waits in vain.
    case!("chimney_host.state_calls_completed",
        also ["chimney_host.upload_all_completes", "chimney_host.refused_call_status",
            "halt.chimney_drained"],
        short_chimney, |m| {
        install_chimney(m, cs::STATE_TERMINATE_SWALLOWED, state_path);
        m.host_offload(A);
        m.run_until_idle();
    }),
    case!("chimney_complete.miniport_outlives_call", chimney, |m| {
        m.pause_miniport(A);
        m.halt_during_next_initiate_completion(A);
        install_chimney(m, 0, state_path);
        m.host_offload_with(
            A,
            OffloadSpec {
                force: true,
                ..OffloadSpec::default()
            },
        );
        m.run_until_idle();
    }),
];
