//! The main job: load chimney-im into the NDIS model, bind two adapters, run traffic through every
//! path (plain send/receive/OID/status, and TCP chimney offloads with receive, send, disconnect,
//! forward, indications, events and state calls), pause and restart, tear everything down, and
//! print a short report. Exits non-zero if the verifier saw a single violation.
//!
//!     cargo run --example report            # default seed
//!     cargo run --example report -- 42      # another seed (the run is deterministic per seed)

use std::time::Instant;

use chimney_im::ndis::oids::{
    OID_GEN_CURRENT_PACKET_FILTER, OID_GEN_LINK_SPEED, OID_PNP_CAPABILITIES,
};
use chimney_im::ndis::{
    NDIS_STATUS_INVALID_STATE, NDIS_STATUS_REQUEST_ABORTED, NDIS_STATUS_REQUEST_UPLOAD,
    NDIS_STATUS_SUCCESS, NDIS_STATUS_UPLOAD_IN_PROGRESS, NDIS_STATUS_UPLOAD_REQUESTED,
    TCP_DISCONNECT_GRACEFUL_CLOSE, tcp_offload_event,
};
use ndis_model::testkit::link_up;
use ndis_model::{
    AdapterId, AdapterPolicy, ChimneyCounters, ChimneyPolicy, Completion, ConnId,
    LowerAdapterConfig, Model, ModelConfig, OffloadSpec, OidSpec, Report,
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
        chimney: ChimneyPolicy {
            io_completion: Completion::Inline,
            state_completion: Completion::Inline,
            host_reposts: 4,
            ..ChimneyPolicy::default()
        },
        ..AdapterPolicy::default()
    });
    let slow = LowerAdapterConfig::ethernet(2).with_policy(AdapterPolicy {
        send_completion: Completion::Deferred,
        oid_completion: Completion::Deferred,
        host_return: Completion::Deferred,
        chimney: ChimneyPolicy {
            io_completion: Completion::Deferred,
            state_completion: Completion::Deferred,
            return_sends_on_terminate: true,
            ..ChimneyPolicy::default()
        },
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
    let mut hot = HotPath::default();
    for &a in &adapters {
        chimney_traffic(&mut model, a, &mut hot);
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
    print_report(
        &report,
        &report.chimney,
        &hot,
        started.elapsed().as_secs_f64(),
    );
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
    model.lower_indicate_link_state(a, link_up(10_000_000_000));
    model.run_until_idle();
}

/// What the driver asked of NDIS during chimney I/O bursts (measured, not assumed).
#[derive(Default)]
struct HotPath {
    nbls: u64,
    allocations: u64,
    spin_locks: u64,
    contexts: u64,
}

/// Four offloaded connections (two sharing neighbor and path as linkers), receives in chains,
/// sends, a disconnect, forwards, an indication, events and state calls; two connections are
/// terminated with receives still posted, the rest are uploaded by the host when it unbinds.
fn chimney_traffic(model: &mut Model, a: AdapterId, hot: &mut HotPath) {
    let offload = |model: &mut Model, spec: OffloadSpec| -> Option<ConnId> {
        let c = model.host_offload_with(a, spec)?;
        model.run_until_idle();
        model.target_complete_state(a);
        Some(c)
    };
    let Some(first) = offload(model, OffloadSpec::default()) else {
        return;
    };
    let mut conns = vec![first];
    for i in 0..3 {
        let spec = OffloadSpec {
            share: (i < 2).then_some(first),
            linker: i == 0,
            send_data: i,
            ..OffloadSpec::default()
        };
        conns.extend(offload(model, spec));
    }
    let before = model.report().counters;
    let posted_before = model.chimney_counters();
    for round in 0..10 {
        for &c in &conns {
            model.host_post_receives(c, 1 + round % 3, 1 + round % 4, 1460);
            model.host_chimney_send(c, 1 + round % 2);
        }
        model.run_until_idle();
        model.target_complete(a, None);
    }
    let after = model.report().counters;
    let posted_after = model.chimney_counters();
    // Every NBL posted in the burst, re-posts from the completion handler included.
    hot.nbls += (posted_after.receives_posted - posted_before.receives_posted)
        + (posted_after.sends - posted_before.sends);
    hot.allocations += after.allocations - before.allocations;
    hot.spin_locks += after.spin_acquires - before.spin_acquires;
    hot.contexts += after.ctx_allocs - before.ctx_allocs;

    let c = conns[0];
    model.host_forward(c, 2);
    model.target_indicate_receive(c, 512);
    model.target_event(c, tcp_offload_event::SEND_BACKLOG_CHANGE, 8192);
    model.host_update(c);
    model.host_query(c);
    model.run_until_idle();
    model.target_complete_state(a);
    model.host_return_indications(c, None);
    // While the lower binding is paused nothing may go down: the driver completes the posts
    // itself (REQUEST_UPLOAD, then UPLOAD_REQUESTED) so that the host uploads the connection.
    model.pause_binding(a);
    model.host_post_receives(conns[1], 1, 3, 1460);
    model.run_until_idle();
    model.restart_binding(a);
    for &c in conns.iter().rev().take(2) {
        model.host_post_receives(c, 2, 2, 1460);
        model.host_disconnect(c, TCP_DISCONNECT_GRACEFUL_CLOSE, 0);
        model.host_terminate(c);
        model.run_until_idle();
        model.target_complete(a, None);
        model.target_complete_state(a);
    }
    model.run_until_idle();
}

fn status_name(code: u32) -> String {
    let code = code as i32;
    let name = match code {
        NDIS_STATUS_SUCCESS => "SUCCESS",
        NDIS_STATUS_UPLOAD_IN_PROGRESS => "UPLOAD_IN_PROGRESS",
        NDIS_STATUS_REQUEST_UPLOAD => "REQUEST_UPLOAD",
        NDIS_STATUS_UPLOAD_REQUESTED => "UPLOAD_REQUESTED",
        NDIS_STATUS_REQUEST_ABORTED => "REQUEST_ABORTED",
        NDIS_STATUS_INVALID_STATE => "INVALID_STATE",
        _ => return format!("{code:#x}"),
    };
    name.to_string()
}

fn print_report(r: &Report, ch: &ChimneyCounters, hot: &HotPath, seconds: f64) {
    println!(
        "chimney-im in the NDIS model — seed {}, {:.2} s",
        r.seed, seconds
    );
    println!("tier        {}", r.tier);
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
    println!();
    println!(
        "chimney     offloads {} (ok {}, failed {}), terminated {}, live at end {}; state calls {}",
        ch.offloads_initiated,
        ch.offloads_succeeded,
        ch.offloads_failed,
        ch.terminated,
        ch.live_offloads,
        ch.state_calls
    );
    let by_status: Vec<String> = ch
        .receive_status
        .iter()
        .map(|(k, v)| format!("{} {v}", status_name(*k)))
        .collect();
    println!(
        "            receives posted {} (re-posted from completion {}), completed: {}",
        ch.receives_posted,
        ch.reposts,
        by_status.join(", ")
    );
    println!(
        "            sends {} (+{} handed over at initiate), disconnects {}, forwards {}; refused by the driver {}, returned in terminate {}",
        ch.sends,
        ch.initiate_send_data,
        ch.disconnects,
        ch.forwards,
        ch.refused,
        ch.returned_in_terminate
    );
    println!(
        "            indications {} (kept and returned {}), TCP events {}, generic events {}; peak at target {} NBLs, {} receives on one connection",
        ch.indications,
        ch.indications_returned,
        ch.events,
        ch.generic_events,
        ch.peak_at_target,
        ch.peak_receives_per_conn
    );
    if hot.nbls > 0 {
        println!(
            "hot path    over {} chimney NBLs: {} pool allocations, {} spin-lock acquisitions, {:.2} NBL contexts per NBL",
            hot.nbls,
            hot.allocations,
            hot.spin_locks,
            hot.contexts as f64 / hot.nbls as f64
        );
    }
    println!();
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
