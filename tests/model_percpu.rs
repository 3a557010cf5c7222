//! The forwarding token's per-processor accounting through the real flows: work forwarded on one
//! processor and completed on another (RSS, a completion DPC elsewhere) leaves +n in one slot
//! and -n in the other; pause, halt and unbind must still see the exact sum. The model answers
//! `KeGetCurrentProcessorNumberEx` with the processor the test pins its thread to
//! (`set_current_processor`) and counts the answers per processor (`calls_on`), which shows on
//! which processor the driver accounted each side.

use chimney_im::ndis::{NDIS_STATUS_PENDING, NDIS_STATUS_SUCCESS};
use ndis_model::testkit::*;
use ndis_model::*;

const A: AdapterId = AdapterId(0);

/// Runs `f` with the test thread on processor `cpu`; returns how many processor-number answers
/// the driver got on processors 0 and 1 meanwhile.
fn on_cpu<R>(cpu: u32, f: impl FnOnce() -> R) -> (R, [u64; 2]) {
    let before = [calls_on(0), calls_on(1)];
    set_current_processor(Some(cpu));
    let r = f();
    set_current_processor(None);
    (r, [calls_on(0) - before[0], calls_on(1) - before[1]])
}

#[test]
fn sends_forwarded_on_cpu0_and_completed_on_cpu1_complete_the_pending_pause() {
    let mut m = one_adapter(held_everything(), 1101);
    let (sent, calls) = on_cpu(0, || m.host_send(A, 6));
    assert_eq!(sent, 6);
    assert!(
        calls[0] >= 1 && calls[1] == 0,
        "forwarded on CPU 0: {calls:?}"
    );
    assert_eq!(m.binding_state(A).held_sends, 6);
    // MiniportPause (on CPU 0) closes the data path with 6 NBLs counted in slot 0; the model's
    // DPC worker, on CPU 1, completes the held sends: slot 1 goes to -6 and the release that
    // makes the sum zero completes the pause (NdisMPauseComplete), exactly once.
    let (status, calls) = on_cpu(0, || m.pause_miniport(A));
    assert_eq!(status, NDIS_STATUS_PENDING);
    assert!(
        calls[1] >= 1 && calls[0] == 0,
        "completed on CPU 1: {calls:?}"
    );
    assert_eq!(m.device_state(A).run, RunState::Paused);
    assert_eq!(m.host_sends_outstanding(A), 0);
    // Restart reopens every slot; traffic flows again, now forwarded on CPU 1.
    assert_eq!(m.restart_miniport(A), NDIS_STATUS_SUCCESS);
    let (sent, _) = on_cpu(1, || m.host_send(A, 2));
    assert_eq!(sent, 2);
    on_cpu(0, || m.lower_complete_sends(A, None));
    let r = unload_clean(m);
    assert_eq!(r.totals.driver_to_host_completions, 8, "{r}");
}

#[test]
fn work_balanced_across_processors_lets_pause_complete_at_once() {
    // +n on one slot, -n on another: nothing is in flight, so MiniportPause must see a zero sum
    // and complete synchronously (a lost count would make it pend forever).
    let mut m = one_adapter(held_everything(), 1102);
    for (forward, complete) in [(0, 1), (1, 0), (0, 1)] {
        let (sent, _) = on_cpu(forward, || m.host_send(A, 3));
        assert_eq!(sent, 3);
        let (done, calls) = on_cpu(complete, || m.lower_complete_sends(A, None));
        assert_eq!(done, 3);
        assert!(calls[complete as usize] >= 1, "{calls:?}");
        let (indicated, _) = on_cpu(forward, || m.lower_indicate(A, 4, false));
        assert_eq!(indicated, 4);
        let (returned, _) = on_cpu(complete, || m.host_return_receives(A, None));
        assert_eq!(returned, 4);
    }
    assert_eq!(m.pause_miniport(A), NDIS_STATUS_SUCCESS);
    assert_eq!(m.restart_miniport(A), NDIS_STATUS_SUCCESS);
    unload_clean(m);
}

#[test]
fn receives_indicated_on_cpu0_and_returned_on_cpu1_drain_a_pending_pause() {
    let mut m = one_adapter(held_everything(), 1103);
    let (indicated, _) = on_cpu(0, || m.lower_indicate(A, 5, false));
    assert_eq!(indicated, 5);
    // Indicated on CPU 0 (this thread), returned by the model's worker on CPU 1.
    let (status, calls) = on_cpu(0, || m.pause_miniport(A));
    assert_eq!(status, NDIS_STATUS_PENDING);
    assert!(
        calls[1] >= 1 && calls[0] == 0,
        "returned on CPU 1: {calls:?}"
    );
    assert_eq!(m.host_receives_outstanding(A), 0);
    let r = unload_clean(m);
    assert_eq!(r.totals.returns_down, 5, "{r}");
}

#[test]
fn chimney_posts_on_cpu0_completed_on_cpu1_then_halt_and_unbind() {
    let mut m = one_chimney_adapter(
        ChimneyPolicy {
            io_completion: Completion::Held,
            state_completion: Completion::Inline,
            ..ChimneyPolicy::default()
        },
        1104,
    );
    let c = offload_now(&mut m, A);
    for _ in 0..4 {
        let (posted, _) = on_cpu(0, || m.host_post_receives(c, 1, 8, 100));
        assert_eq!(posted, 8);
        let (completed, calls) = on_cpu(1, || m.target_complete_conn(c, None));
        assert_eq!(completed, 8);
        assert!(
            calls[1] >= 1 && calls[0] == 0,
            "completed on CPU 1: {calls:?}"
        );
        m.run_until_idle();
    }
    // Posts left in flight on CPU 0; the halt (through unload) must wait for their completion
    // wherever it runs, on the event, and lose nothing.
    let (posted, _) = on_cpu(0, || m.host_post_receives(c, 1, 8, 100));
    assert_eq!(posted, 8);
    m.release_all();
    unload_clean(m);
}
