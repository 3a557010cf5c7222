//! Failure paths: injected NDIS failures in every allocation and fallible call, registration
//! failures, and the verifier catching misuse of NDIS exports.

use chimney_im::ndis::oids::*;
use chimney_im::ndis::*;
use ndis_model::testkit::*;
use ndis_model::*;

const A: AdapterId = AdapterId(0);

fn base(seed: u64) -> ModelConfig {
    ModelConfig::default().seed(seed)
}

#[test]
fn registration_failures_fail_driver_entry_cleanly() {
    for e in [
        Export::NdisMRegisterMiniportDriver,
        Export::NdisRegisterProtocolDriver,
    ] {
        let mut c = base(1).with_adapter(LowerAdapterConfig::ethernet(1));
        c.inject = vec![(e, 1)];
        let m = Model::load(c);
        assert!(m.driver_entry_status() < 0, "{e}: DriverEntry must fail");
        let r = m.unload();
        assert!(r.violations.is_empty(), "{e}\n{r}");
        assert_eq!(r.check_runs("driver_entry.failure_cleans_up"), 1);
    }
}

#[test]
fn bind_time_failures_leave_no_binding_or_device() {
    for e in [
        Export::NdisAllocateMemoryWithTagPriority,
        Export::NdisOpenAdapterEx,
        Export::NdisOpenConfigurationEx,
        Export::NdisReadConfiguration,
        Export::NdisIMInitializeDeviceInstanceEx,
    ] {
        let mut m = Model::load(base(2));
        let a = m.add_adapter(LowerAdapterConfig::ethernet(1));
        m.inject_failure(e, 1);
        let st = m.bind(a);
        let (b, d) = (m.binding_state(a), m.device_state(a));
        if st == NDIS_STATUS_SUCCESS {
            assert_eq!(b.open, OpenState::Open, "{e}");
        } else {
            assert!(
                matches!(b.open, OpenState::None | OpenState::Closed),
                "{e}: {b:?}"
            );
            assert_ne!(d.phase, DevPhase::Up, "{e}");
        }
        let r = unload_clean(m);
        assert_eq!(
            r.injected.get(&e.to_string()),
            Some(&1),
            "{e} was not exercised\n{r}"
        );
    }
}

#[test]
fn miniport_initialize_fails_when_attributes_fail() {
    let mut m = Model::load(base(3));
    let a = m.add_adapter(LowerAdapterConfig::ethernet(1).with_policy(AdapterPolicy {
        device_start: DeviceStart::Manual,
        ..AdapterPolicy::default()
    }));
    assert_eq!(m.bind(a), 0);
    for nth in [1, 2] {
        m.inject_failure(Export::NdisMSetMiniportAttributes, nth);
        let st = m.start_device(a).expect("start pending");
        assert_ne!(st, NDIS_STATUS_SUCCESS);
        assert_eq!(m.device_state(a).phase, DevPhase::Absent);
        // A new start needs a new NdisIMInitializeDeviceInstanceEx: rebind.
        assert_eq!(m.unbind(a), 0);
        assert_eq!(m.bind(a), 0);
        m.clear_failures();
    }
    assert_eq!(m.start_device(a), Some(0));
    unload_clean(m);
}

#[test]
fn nbl_context_failure_refuses_the_send() {
    let mut m = Model::load(base(4).with_adapter(LowerAdapterConfig::ethernet(1)));
    m.inject_failure(Export::NdisAllocateNetBufferListContext, 2);
    assert_eq!(m.host_send(A, 4), 4);
    m.release_all();
    let r = unload_clean(m);
    assert_eq!(r.totals.driver_to_host_completions, 4, "{r}");
    assert!(r.totals.refused_sends >= 1, "{r}");
}

#[test]
fn clone_failure_fails_the_oid() {
    let mut m = Model::load(base(5).with_adapter(LowerAdapterConfig::ethernet(1)));
    m.inject_failure(Export::NdisAllocateCloneOidRequest, 1);
    let o = m
        .host_oid(A, &OidSpec::query(OID_GEN_LINK_SPEED, 4))
        .expect("issued");
    assert_ne!(o.status, NDIS_STATUS_SUCCESS, "{o:?}");
    let o = m
        .host_oid(A, &OidSpec::query(OID_GEN_LINK_SPEED, 4))
        .expect("issued");
    assert_eq!(o.status, NDIS_STATUS_SUCCESS, "{o:?}");
    unload_clean(m);
}

#[test]
fn every_kth_allocation_fails_under_traffic() {
    for k in 2..7u64 {
        let mut m = Model::load(base(10 + k));
        let a = m.add_adapter(LowerAdapterConfig::ethernet(1));
        m.set_failure_mode(Some(FailureMode::EveryKthAllocation(k)));
        m.bind(a);
        for _ in 0..5 {
            m.host_send(a, 3);
            m.lower_indicate(a, 2, false);
            m.host_oid(a, &OidSpec::query(OID_GEN_LINK_SPEED, 4));
        }
        m.release_all();
        let r = m.unload();
        assert!(r.violations.is_empty(), "k={k}\n{r}");
    }
}

#[test]
fn verifier_catches_export_misuse() {
    let mut m = Model::load(base(6).with_adapter(LowerAdapterConfig::ethernet(1)));
    use ndis_model::exports::{device, memory, sync};
    let mut lock: KspinLock = 0;
    // SAFETY: deliberately wrong call, as a buggy driver would make; the model validates the
    // pointer against its allocation table before touching it.
    unsafe { memory::NdisFreeMemory(0x1234 as *mut _, 8, 0) };
    // SAFETY: a valid, unshared KSPIN_LOCK on this stack frame.
    let old = unsafe { sync::KeAcquireSpinLockRaiseToDpc(&raw mut lock) };
    // SAFETY: as above (bad pointer, validated by the model), now with a spin lock held.
    unsafe { memory::NdisFreeMemory(0x5678 as *mut _, 8, 0) };
    // SAFETY: releases the lock acquired above.
    unsafe { sync::KeReleaseSpinLock(&raw mut lock, old) };
    // SAFETY: releases it again (not held): the model records it without touching the lock.
    unsafe { sync::KeReleaseSpinLock(&raw mut lock, old) };
    // SAFETY: a bogus miniport handle; the model only looks it up.
    unsafe { device::NdisMPauseComplete(0x42 as *mut _) };
    let v = m.take_violations();
    let names: Vec<&str> = v.iter().map(|v| v.check).collect();
    for want in [
        "memory.free_known_block",
        "lock.not_held_across_ndis_call",
        "spinlock.release_by_owner",
        "handle.miniport",
    ] {
        assert!(names.contains(&want), "{want} not detected: {names:?}");
    }
    let r = m.unload();
    assert_eq!(
        r.violations.len(),
        v.len(),
        "the driver itself added violations:\n{r}"
    );
}
