//! Small helpers shared by the integration tests (and the main job), so that each test file
//! states only what is particular to it.

use crate::{
    AdapterId, AdapterPolicy, ChimneyPolicy, ConnId, ConnState, LowerAdapterConfig, Model,
    ModelConfig, Report,
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
