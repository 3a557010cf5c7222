//! The gated rundown (`chimney_im::kernel::GatedRundown`, the count of NBLs forwarded down) on
//! the NDIS model: its gates, its single drain report per closed period, and a close racing the
//! reopen's window (the NDIS event reset it does outside its lock).

// Host builds only: the kernel layer's internals are reachable there (`host_probe`).
#![cfg(not(windows))]

use std::sync::{Arc, Mutex};

use chimney_im::host_probe::{Drain, GLOBALS, GatedRundown, PerCpuRundown};
use ndis_model::{Export, Fault, Model, ModelConfig};

const A: u32 = 1;
const B: u32 = 2;

fn model(faults: Vec<Fault>) -> Model {
    Model::load(ModelConfig {
        processors: 2,
        faults,
        ..ModelConfig::default()
    })
}

fn gated(closed: u32) -> GatedRundown {
    let count = PerCpuRundown::try_new(GLOBALS.miniport_driver()).expect("pool allocation");
    GatedRundown::new(count, closed)
}

#[test]
fn open_only_while_every_gate_is_open() {
    let m = model(Vec::new());
    let g = Box::new(gated(A | B));
    g.init();
    assert!(g.is_drained(), "created closed and drained");
    assert!(!g.try_acquire_on(0, 1));
    assert_eq!(g.reopen(A), (true, false));
    assert!(!g.is_open(), "gate B still closed");
    assert!(!g.try_acquire_on(0, 1));
    assert_eq!(g.reopen(B), (true, false));
    assert!(g.is_open());
    assert!(!g.is_drained(), "a reopen starts a new period");
    assert!(g.try_acquire_on(0, 2));
    // Closing either gate stops new work; the period drains once, on the last release.
    assert!(!g.close(B), "work in flight: not drained at the close");
    assert!(!g.try_acquire_on(1, 1));
    assert!(!g.close(A), "a second gate closing is not the first close");
    assert_eq!(g.release_on(1, 1), Drain::Pending);
    assert_eq!(g.release_on(0, 1), Drain::Drained);
    assert!(!g.is_drained(), "only the report sets the flag");
    let hooked = g.report_drained(|| 7);
    assert_eq!(hooked, 7);
    assert!(g.is_drained());
    g.wait_drained();
    // Reopening one gate of two keeps it closed; the other opens it.
    assert_eq!(g.reopen(A), (true, false));
    assert!(!g.is_open());
    assert_eq!(g.reopen(B), (true, false));
    assert!(g.is_open());
    // An empty count closes drained: the closer is the reporter.
    assert!(g.close(A));
    drop(g);
    let r = m.unload();
    assert!(r.violations.is_empty(), "{r}");
}

/// A close that lands while the reopen has left its lock to reset the drained event: the count
/// must stay closed (the new gate holds it), and the reopen tells its caller to report the drain
/// of the new closed period, which nobody else would report. The model runs the close inside
/// the reopen's NdisResetEvent, on the same thread: exactly in the window.
#[test]
fn a_close_during_the_reopen_window_keeps_the_count_closed_and_is_reported_once() {
    let m = model(Vec::new());
    let g = Arc::new(gated(A));
    g.init();
    let closer_reported = Arc::new(Mutex::new(None));
    {
        let (g, out) = (g.clone(), closer_reported.clone());
        ndis_model::hooks::run_inside_next(Export::NdisResetEvent, move || {
            *out.lock().unwrap() = Some(g.close(B));
        });
    }
    let (reopened, report) = g.reopen(A);
    assert!(reopened);
    assert_eq!(
        *closer_reported.lock().unwrap(),
        Some(false),
        "the close ran inside the reopen and was not the first close"
    );
    assert!(
        report,
        "the reopen must hand the new period's report to its caller"
    );
    assert!(!g.is_open(), "gate B is closed: no work may be admitted");
    assert!(!g.try_acquire_on(0, 1));
    g.report_drained(|| ());
    g.wait_drained();
    assert_eq!(g.reopen(B), (true, false));
    assert!(g.is_open());
    drop(g);
    let r = m.unload();
    assert!(r.violations.is_empty(), "{r}");
}
