//! Behaviours that mutation testing (`.ci/mutants`, cargo-mutants) showed no other test pins:
//! each test here fails when the named part of the driver is changed. Which mutant each one
//! kills is in its doc comment.

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

fn held_state(seed: u64) -> Model {
    one_chimney_adapter(
        ChimneyPolicy {
            state_completion: Completion::Held,
            ..ChimneyPolicy::default()
        },
        seed,
    )
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
