//! Small helpers shared by the integration tests (and the main job), so that each test file
//! states only what is particular to it.

use chimney_im::ndis::{
    NDIS_SIZEOF_LINK_STATE_REVISION_1, NdisLinkState, NdisObjectHeader, object_type,
};

use crate::{
    AdapterId, AdapterPolicy, ChimneyPolicy, Completion, ConnId, ConnState, LowerAdapterConfig,
    Model, ModelConfig, OffloadSpec, Report,
};

/// Loads the driver with one Ethernet adapter below it, behaving as `policy`.
pub fn one_adapter(policy: AdapterPolicy, seed: u64) -> Model {
    Model::load(
        ModelConfig::default()
            .seed(seed)
            .with_adapter(LowerAdapterConfig::ethernet(1).with_policy(policy)),
    )
}

/// [`one_adapter`] with the default policy except for chimney.
pub fn one_chimney_adapter(chimney: ChimneyPolicy, seed: u64) -> Model {
    one_adapter(
        AdapterPolicy {
            chimney,
            ..AdapterPolicy::default()
        },
        seed,
    )
}

/// A lower adapter that holds every send completion, OID completion and host return until the
/// test releases them: work stays in flight for as long as the test needs.
pub fn held_everything() -> AdapterPolicy {
    AdapterPolicy {
        send_completion: Completion::Held,
        oid_completion: Completion::Held,
        host_return: Completion::Held,
        ..AdapterPolicy::default()
    }
}

/// [`one_chimney_adapter`] whose offload target holds every state-call completion until the test
/// releases it (`target_complete_state`).
pub fn held_state(seed: u64) -> Model {
    one_chimney_adapter(
        ChimneyPolicy {
            state_completion: Completion::Held,
            ..ChimneyPolicy::default()
        },
        seed,
    )
}

/// Unloads the driver and asserts the verifier recorded no violation; returns the report.
#[track_caller]
pub fn unload_clean(m: Model) -> Report {
    let r = m.unload();
    assert!(r.violations.is_empty(), "{r}");
    r
}

/// Offloads a new connection on `a`, lets its initiate complete, and asserts it is offloaded.
#[track_caller]
pub fn offload_now(m: &mut Model, a: AdapterId) -> ConnId {
    let c = m.host_offload(a).expect("the host can offload");
    m.run_until_idle();
    m.target_complete_state(a);
    assert_eq!(m.conn_state(c), ConnState::Offloaded);
    c
}

/// Offloads a second connection on `a` sharing `c`'s neighbor and path, releases the held
/// initiate (see [`held_state`]) and asserts it is offloaded.
#[track_caller]
pub fn offload_sharing_path(m: &mut Model, a: AdapterId, c: ConnId) -> ConnId {
    let c2 = m
        .host_offload_with(
            a,
            OffloadSpec {
                share: Some(c),
                ..OffloadSpec::default()
            },
        )
        .expect("initiate issued");
    m.run_until_idle();
    m.target_complete_state(a);
    assert_eq!(m.conn_state(c2), ConnState::Offloaded);
    c2
}

/// Seeds for a randomized test: `CHIMNEY_SEED=n` replays that one seed, `CHIMNEY_SEEDS=n` runs
/// seeds `0..n`, otherwise `0..default`.
pub fn seeds_from_env(default: u64) -> Vec<u64> {
    if let Ok(s) = std::env::var("CHIMNEY_SEED") {
        return vec![s.parse().expect("CHIMNEY_SEED must be a number")];
    }
    let n = std::env::var("CHIMNEY_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default);
    (0..n).collect()
}

/// The checks of Microsoft's NDIS rules added for issue 12 (docs/ndis-rules.md).
pub const RULE_CHECKS: [&str; 12] = [
    "oid.must_succeed_status",
    "oid.complete_not_pending",
    "oid.bytes_within_buffer",
    "status.buffer_size",
    "config.closed_before_owner_returns",
    "memory.tag_nonzero",
    "irql.export_min",
    "handler.returns_within_watchdog",
    "nbl.not_stuck",
    "spinlock.dpc_variant_at_dispatch",
    "chimney_indicate.at_dispatch",
    "flags.dispatch_level_matches_irql",
];

/// Runs of the [`RULE_CHECKS`] summed over many reports (a randomized suite's seeds).
#[derive(Debug, Default)]
pub struct RuleRuns(pub std::collections::BTreeMap<&'static str, u64>);

impl RuleRuns {
    pub fn add(&mut self, r: &Report) {
        for c in RULE_CHECKS {
            *self.0.entry(c).or_default() += r.check_runs(c);
        }
    }

    /// Asserts each of `checks` ran at least once.
    #[track_caller]
    pub fn assert_ran(&self, checks: &[&str]) {
        for c in checks {
            assert!(
                self.0.get(c).copied().unwrap_or(0) > 0,
                "rule check {c} never ran: {self}"
            );
        }
    }
}

impl std::fmt::Display for RuleRuns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "rule checks (runs):")?;
        for (k, v) in &self.0 {
            write!(f, " {k} {v};")?;
        }
        Ok(())
    }
}

/// A valid NDIS_LINK_STATE (revision 1 header: ndis.sys checks a lower miniport's indication,
/// bug check 0x7C 0x20) for a link that is up, full duplex, at `speed` bits/s both ways.
pub fn link_up(speed: u64) -> NdisLinkState {
    NdisLinkState {
        header: NdisObjectHeader::new(object_type::DEFAULT, 1, NDIS_SIZEOF_LINK_STATE_REVISION_1),
        media_connect_state: 1,
        media_duplex_state: 2,
        xmit_link_speed: speed,
        rcv_link_speed: speed,
        ..NdisLinkState::default()
    }
}
