//! Microsoft's time-bounded NDIS rules as model checks (docs/ndis-rules.md): the watchdog on
//! every handler call (bug check 0x7C code 0x25) and stuck NBLs in model time (Driver Verifier
//! NdisTimedDataSend / NdisTimedDataHang, bug check 0x15E code 0x30). Each has a test that the
//! driver keeps it and one that breaks it through the model and asserts the report.

use std::time::Duration;

use chimney_im::ndis::oids::*;
use chimney_im::ndis::*;
use ndis_model::testkit::*;
use ndis_model::*;

const A: AdapterId = AdapterId(0);

fn config(policy: AdapterPolicy, seed: u64) -> ModelConfig {
    ModelConfig::default()
        .seed(seed)
        .with_adapter(LowerAdapterConfig::ethernet(1).with_policy(policy))
}

fn traffic(m: &mut Model, rounds: usize) {
    for _ in 0..rounds {
        m.host_send(A, 2);
        m.lower_indicate(A, 2, false);
        m.run_until_idle();
    }
}

#[test]
fn handlers_return_within_the_watchdog() {
    let mut m = Model::load(config(AdapterPolicy::default(), 31));
    traffic(&mut m, 20);
    m.host_oid(A, &OidSpec::query(OID_GEN_LINK_SPEED, 4))
        .expect("OID runs");
    assert_eq!(m.pause_miniport(A), NDIS_STATUS_SUCCESS);
    assert_eq!(m.restart_miniport(A), NDIS_STATUS_SUCCESS);
    assert_eq!(m.unbind(A), NDIS_STATUS_SUCCESS);
    let r = unload_clean(m);
    let calls: u64 = r
        .handler_calls
        .iter()
        .filter(|(k, _)| !k.starts_with('('))
        .map(|(_, v)| v)
        .sum();
    assert_eq!(
        r.check_runs("handler.returns_within_watchdog"),
        calls,
        "{r}"
    );
}

/// A handler that blocks (here in NdisCloseAdapterEx, made slow by the model) past the bound.
#[test]
fn watchdog_fires_on_a_handler_that_blocks() {
    let mut c = config(AdapterPolicy::default(), 32).with_fault(Fault::SlowExport(
        Export::NdisCloseAdapterEx,
        Duration::from_millis(300),
    ));
    c.watchdog = Duration::from_millis(100);
    let mut m = Model::load(c);
    assert_eq!(m.unbind(A), NDIS_STATUS_SUCCESS);
    let r = m.unload();
    let late: Vec<_> = r
        .violations
        .iter()
        .map(|v| {
            assert_eq!(v.check, "handler.returns_within_watchdog", "{r}");
            v.message.split(' ').next().unwrap_or_default()
        })
        .collect();
    assert_eq!(late, ["ProtocolUnbindAdapterEx"], "{r}");
}

#[test]
fn steady_traffic_leaves_no_nbl_stuck() {
    for completion in [Completion::Inline, Completion::Deferred] {
        let policy = AdapterPolicy {
            send_completion: completion,
            host_return: completion,
            ..AdapterPolicy::default()
        };
        let mut c = config(policy, 33);
        c.stuck_nbl_ticks = 20;
        let mut m = Model::load(c);
        traffic(&mut m, 200);
        let r = unload_clean(m);
        assert!(r.counters.spin_acquires > 0);
        assert!(r.totals.driver_to_host_completions >= 400, "{r}");
    }
}

/// A send below whose completion does not come (the lower's deferred completion never gets to
/// run: nothing waits): below on the driver's behalf past the bound.
#[test]
fn stuck_nbl_check_fires_on_a_send_kept_below() {
    let policy = AdapterPolicy {
        send_completion: Completion::Deferred,
        host_return: Completion::Inline,
        ..AdapterPolicy::default()
    };
    let mut c = config(policy, 34);
    c.stuck_nbl_ticks = 20;
    let mut m = Model::load(c);
    m.host_send(A, 1);
    for _ in 0..30 {
        m.lower_indicate(A, 1, false);
    }
    m.run_until_idle();
    let r = m.unload();
    assert_eq!(r.violations.len(), 1, "{r}");
    assert_eq!(r.violations[0].check, "nbl.not_stuck", "{r}");
}
