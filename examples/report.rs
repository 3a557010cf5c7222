//! The main job: load chimney-im into the NDIS model, bind two adapters, run traffic through every
//! path, tear everything down, and print a short report. Exits non-zero if the verifier saw a
//! single violation.
//!
//!     cargo run --example report            # default seed
//!     cargo run --example report -- 42      # another seed (the run is deterministic per seed)

use std::time::Instant;

use chimney_im::ndis::NdisLinkState;
use chimney_im::ndis::oids::{
    OID_GEN_CURRENT_PACKET_FILTER, OID_GEN_LINK_SPEED, OID_PNP_CAPABILITIES,
};
use ndis_model::{
    AdapterId, AdapterPolicy, Completion, LowerAdapterConfig, Model, ModelConfig, OidSpec, Report,
};

fn main() {
    let seed = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(2026);
    let started = Instant::now();

    // Two NICs below: one whose miniport completes inline, one that completes later from its DPC.
    let fast = LowerAdapterConfig::ethernet(1).with_policy(AdapterPolicy {
        send_completion: Completion::Inline,
        oid_completion: Completion::Inline,
        host_return: Completion::Inline,
        ..AdapterPolicy::default()
    });
    let slow = LowerAdapterConfig::ethernet(2).with_policy(AdapterPolicy {
        send_completion: Completion::Deferred,
        oid_completion: Completion::Deferred,
        host_return: Completion::Deferred,
        ..AdapterPolicy::default()
    });
    let mut model = Model::load(
        ModelConfig::default()
            .seed(seed)
            .with_adapter(fast)
            .with_adapter(slow),
    );
    let adapters = model.adapters();
    assert_eq!(model.driver_entry_status(), 0, "DriverEntry failed");

    for &a in &adapters {
        plain_traffic(&mut model, a);
    }
    // Pause and restart both edges with traffic in flight.
    let b = adapters[1];
    model.host_send(b, 16);
    model.lower_indicate(b, 8, false);
    model.pause_miniport(b);
    model.restart_miniport(b);
    model.pause_binding(b);
    model.restart_binding(b);
    model.host_send(b, 4);
    model.run_until_idle();

    // Tear down one binding explicitly; unload takes the rest.
    model.unbind(b);
    let report = model.unload();
    print_report(&report, started.elapsed().as_secs_f64());
    if !report.violations.is_empty() {
        std::process::exit(1);
    }
}

/// Sends, receives (kept and RESOURCES), OIDs (query, set, method, cancel) and a link change.
fn plain_traffic(model: &mut Model, a: AdapterId) {
    for round in 0..25 {
        model.host_send(a, 1 + round % 8);
        model.lower_indicate(a, 1 + round % 5, round % 4 == 0);
    }
    model.host_oid(a, &OidSpec::query(OID_GEN_LINK_SPEED, 4));
    model.host_oid(a, &OidSpec::query(OID_PNP_CAPABILITIES, 16));
    model.host_oid(
        a,
        &OidSpec::set(OID_GEN_CURRENT_PACKET_FILTER, &0x0Bu32.to_le_bytes()),
    );
    if model.host_oid_start(a, &OidSpec::query(OID_GEN_LINK_SPEED, 4)) {
        model.host_cancel_oid(a);
        model.host_oid_wait(a);
    }
    model.lower_indicate_link_state(
        a,
        NdisLinkState {
            media_connect_state: 1,
            media_duplex_state: 2,
            xmit_link_speed: 10_000_000_000,
            rcv_link_speed: 10_000_000_000,
            ..NdisLinkState::default()
        },
    );
    model.run_until_idle();
}

fn print_report(r: &Report, seconds: f64) {
    println!(
        "chimney-im in the NDIS model — seed {}, {:.2} s",
        r.seed, seconds
    );
    println!();
    for (name, c) in &r.adapters {
        println!("adapter {name}");
        print!("{c}");
    }
    let c = &r.counters;
    println!();
    println!(
        "lifecycle   binds {}  unbinds {}  miniport starts {}  pauses {}  restarts {}  halts {}",
        c.binds, c.unbinds, c.device_starts, c.pauses, c.restarts, c.halts
    );
    println!(
        "memory      NDIS allocations {} / frees {}  (peak {} bytes)  NBL contexts {} / {}  clone OIDs {} / {}",
        c.allocations, c.frees, c.peak_bytes, c.ctx_allocs, c.ctx_frees, c.clones, c.clone_frees
    );
    let runs: u64 = r.checks.values().map(|s| s.runs).sum();
    let failures: u64 = r.checks.values().map(|s| s.failures).sum();
    let exercised = r.checks.values().filter(|s| s.runs > 0).count();
    println!(
        "verifier    {} distinct checks exercised, {} evaluations, {} failed; violations: {}",
        exercised,
        runs,
        failures,
        r.violations.len()
    );
    for v in &r.violations {
        println!("  VIOLATION {v}");
    }
    println!("driver log  {} DbgPrint lines", r.dbg.len());
    println!();
    println!(
        "{}",
        if r.violations.is_empty() {
            "RESULT: clean"
        } else {
            "RESULT: VIOLATIONS"
        }
    );
}
