//! Microsoft's NDIS rules for an intermediate driver (docs/ndis-rules.md) that the model checks
//! beyond its own contract checks: must-succeed OIDs, OID byte counts, status indication sizes,
//! configuration handles per owner, pool tags, IRQL minimums, watchdog, stuck NBLs, and the
//! export table that refuses an import without checks. Each rule has a test that the driver
//! keeps it and one that breaks it through the model (a deliberate `Fault`, or a lower miniport
//! that misbehaves) and asserts the check reports it.

use chimney_im::ndis::oids::*;
use chimney_im::ndis::*;
use ndis_model::testkit::*;
use ndis_model::*;

const A: AdapterId = AdapterId(0);

fn model(policy: AdapterPolicy, faults: &[Fault], seed: u64) -> Model {
    let mut c = ModelConfig::default()
        .seed(seed)
        .with_adapter(LowerAdapterConfig::ethernet(1).with_policy(policy));
    c.faults = faults.to_vec();
    Model::load(c)
}

fn release_set(oid: NdisOid) -> OidSpec {
    OidSpec::set(oid, &[0x01, 0x00, 0x5E, 0x00, 0x00, 0x01])
}

/// Unloads the driver; returns the names of the checks that failed, deduplicated.
fn failed(m: Model) -> Vec<&'static str> {
    let r = m.unload();
    let mut v: Vec<_> = r.violations.iter().map(|v| v.check).collect();
    v.sort_unstable();
    v.dedup();
    v
}

// ---------------------------------------------------------------------------------------------
// Must-succeed OIDs (NdisOidComplete; 0x7C code 0x1C)

#[test]
fn release_oids_are_forwarded_and_succeed() {
    for completion in [Completion::Inline, Completion::Deferred] {
        let policy = AdapterPolicy {
            oid_completion: completion,
            ..AdapterPolicy::default()
        };
        let mut m = model(policy, &[], 11);
        for oid in RELEASE_OIDS {
            let o = m.host_oid(A, &release_set(oid)).expect("OID runs");
            assert_eq!(o.status, NDIS_STATUS_SUCCESS, "{oid:#x} {completion:?}");
        }
        let r = unload_clean(m);
        assert!(r.check_runs("oid.must_succeed_status") >= RELEASE_OIDS.len() as u64);
    }
}

/// The defect of issue 12: without a clone the driver failed every OID with RESOURCES,
/// including the release OIDs, which must not fail. Fails before the fix.
#[test]
fn release_oid_without_a_clone_is_not_failed() {
    for oid in RELEASE_OIDS {
        let mut m = model(AdapterPolicy::default(), &[], 12);
        m.inject_failure(Export::NdisAllocateCloneOidRequest, 1);
        let o = m.host_oid(A, &release_set(oid)).expect("OID runs");
        assert_eq!(o.status, NDIS_STATUS_NOT_ACCEPTED, "{oid:#x}");
        let r = unload_clean(m);
        assert_eq!(
            r.injected.get("NdisAllocateCloneOidRequest"),
            Some(&1),
            "{r}"
        );
    }
    // An ordinary OID still reports the allocation failure.
    let mut m = model(AdapterPolicy::default(), &[], 12);
    m.inject_failure(Export::NdisAllocateCloneOidRequest, 1);
    let o = m
        .host_oid(A, &OidSpec::query(OID_GEN_LINK_SPEED, 4))
        .expect("OID runs");
    assert_eq!(o.status, NDIS_STATUS_RESOURCES);
    unload_clean(m);
}

/// A lower miniport that itself fails a release OID: the host gets NOT_ACCEPTED (the driver
/// must not pass the violation up), and `oid.status_propagated` expects exactly that mapping.
#[test]
fn lower_failing_a_release_oid_reaches_the_host_as_not_accepted() {
    for completion in [Completion::Inline, Completion::Deferred] {
        for (lower, host) in [
            (NDIS_STATUS_FAILURE, NDIS_STATUS_NOT_ACCEPTED),
            (NDIS_STATUS_RESOURCES, NDIS_STATUS_NOT_ACCEPTED),
            (NDIS_STATUS_NOT_ACCEPTED, NDIS_STATUS_NOT_ACCEPTED),
            (NDIS_STATUS_REQUEST_ABORTED, NDIS_STATUS_REQUEST_ABORTED),
        ] {
            let policy = AdapterPolicy {
                oid_completion: completion,
                lower_oid_status: Some((OID_RECEIVE_FILTER_CLEAR_FILTER, lower)),
                ..AdapterPolicy::default()
            };
            let mut m = model(policy, &[], 13);
            let o = m
                .host_oid(A, &release_set(OID_RECEIVE_FILTER_CLEAR_FILTER))
                .expect("OID runs");
            assert_eq!(o.status, host, "lower {lower:#x}, {completion:?}");
            let r = unload_clean(m);
            if completion == Completion::Deferred {
                assert!(r.check_runs("oid.status_propagated") >= 1);
            }
        }
    }
    // Ordinary OIDs keep the lower's status.
    let policy = AdapterPolicy {
        oid_completion: Completion::Deferred,
        lower_oid_status: Some((OID_GEN_LINK_SPEED, NDIS_STATUS_FAILURE)),
        ..AdapterPolicy::default()
    };
    let mut m = model(policy, &[], 13);
    let o = m
        .host_oid(A, &OidSpec::query(OID_GEN_LINK_SPEED, 4))
        .expect("OID runs");
    assert_eq!(o.status, NDIS_STATUS_FAILURE);
    unload_clean(m);
}

#[test]
fn set_power_succeeds_without_reaching_the_lower() {
    let mut m = model(AdapterPolicy::default(), &[], 14);
    let o = m
        .host_oid(A, &OidSpec::set(OID_PNP_SET_POWER, &4u32.to_le_bytes()))
        .expect("OID runs");
    assert_eq!(o.status, NDIS_STATUS_SUCCESS);
    let r = unload_clean(m);
    assert!(r.check_runs("oid.must_succeed_status") >= 1);
}

#[test]
fn must_succeed_check_fires_on_a_failed_release_or_set_power() {
    for (oid, spec) in [
        (
            OID_802_3_DELETE_MULTICAST_ADDRESS,
            release_set(OID_802_3_DELETE_MULTICAST_ADDRESS),
        ),
        (
            OID_PNP_SET_POWER,
            OidSpec::set(OID_PNP_SET_POWER, &4u32.to_le_bytes()),
        ),
    ] {
        for completion in [Completion::Inline, Completion::Deferred] {
            let policy = AdapterPolicy {
                oid_completion: completion,
                ..AdapterPolicy::default()
            };
            let mut m = model(policy, &[Fault::OidStatus(oid, NDIS_STATUS_CLOSING)], 15);
            m.host_oid(A, &spec).expect("OID runs");
            // Forwarded and pended, the replaced status also differs from the lower's.
            let f = failed(m);
            assert!(f.contains(&"oid.must_succeed_status"), "{oid:#x}: {f:?}");
            assert!(
                f.iter()
                    .all(|c| ["oid.must_succeed_status", "oid.status_propagated"].contains(c)),
                "{f:?}"
            );
        }
    }
}

#[test]
fn pending_as_a_final_status_fires() {
    let policy = AdapterPolicy {
        oid_completion: Completion::Deferred,
        ..AdapterPolicy::default()
    };
    let mut m = model(
        policy,
        &[Fault::OidStatus(OID_GEN_LINK_SPEED, NDIS_STATUS_PENDING)],
        16,
    );
    m.host_oid_start(A, &OidSpec::query(OID_GEN_LINK_SPEED, 4));
    m.run_until_idle();
    // The replaced status also differs from the lower's (oid.status_propagated).
    assert!(failed(m).contains(&"oid.complete_not_pending"));
}

// ---------------------------------------------------------------------------------------------
// OID byte counts (0x7C code 0x1D)

#[test]
fn byte_counts_stay_within_the_buffers() {
    for completion in [Completion::Inline, Completion::Deferred] {
        let policy = AdapterPolicy {
            oid_completion: completion,
            ..AdapterPolicy::default()
        };
        let mut m = model(policy, &[], 17);
        // Post-processed (OID_PNP_CAPABILITIES), short buffer, method, set, locally handled.
        for spec in [
            OidSpec::query(OID_PNP_CAPABILITIES, 16),
            OidSpec::query(OID_PNP_CAPABILITIES, 64),
            OidSpec::query(OID_802_3_CURRENT_ADDRESS, 2),
            OidSpec::method(OID_MODEL_ECHO_METHOD, 1, &[1, 2, 3, 4, 5], 8),
            OidSpec::method(OID_MODEL_ECHO_METHOD, 1, &[1, 2, 3, 4, 5], 2),
            OidSpec::set(OID_GEN_CURRENT_PACKET_FILTER, &1u32.to_le_bytes()),
            OidSpec::query(OID_PNP_QUERY_POWER, 4),
        ] {
            m.host_oid(A, &spec).expect("OID runs");
        }
        let r = unload_clean(m);
        assert!(r.check_runs("oid.bytes_within_buffer") >= 7, "{r}");
    }
}

#[test]
fn byte_count_check_fires_on_an_overrun() {
    for completion in [Completion::Inline, Completion::Deferred] {
        let policy = AdapterPolicy {
            oid_completion: completion,
            ..AdapterPolicy::default()
        };
        let mut m = model(policy, &[Fault::OidBytesOverrun], 18);
        m.host_oid(A, &OidSpec::query(OID_PNP_CAPABILITIES, 16))
            .expect("OID runs");
        m.host_oid(A, &OidSpec::method(OID_MODEL_ECHO_METHOD, 1, &[1, 2], 4))
            .expect("OID runs");
        let r = m.unload();
        assert_eq!(r.violations.len(), 2, "{r}");
        assert!(
            r.violations
                .iter()
                .all(|v| v.check == "oid.bytes_within_buffer")
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Status indications (0x7C code 0x20)

fn link_state() -> NdisLinkState {
    link_up(1_000_000_000)
}

#[test]
fn every_forwarded_status_has_its_defined_buffer() {
    let mut m = model(AdapterPolicy::default(), &[], 21);
    assert!(m.lower_indicate_link_state(A, link_state()));
    for code in [
        NDIS_STATUS_OFFLOAD_PAUSE,
        NDIS_STATUS_OFFLOAD_RESUME,
        NDIS_STATUS_UPLOAD_ALL,
    ] {
        assert!(m.lower_indicate_status(A, code));
    }
    m.run_until_idle();
    let r = unload_clean(m);
    assert_eq!(r.totals.status_to_host, 4, "{r}");
    assert_eq!(r.check_runs("status.buffer_size"), 4);
}

#[test]
fn status_size_check_fires_on_a_short_buffer() {
    let mut m = model(AdapterPolicy::default(), &[Fault::ShortStatusBuffer], 22);
    assert!(m.lower_indicate_link_state(A, link_state()));
    assert_eq!(failed(m), ["status.buffer_size"]);
}

// ---------------------------------------------------------------------------------------------
// Configuration handles (NdisOpenConfigurationEx rule)

#[test]
fn configuration_handles_close_before_their_handler_returns() {
    let mut m = model(AdapterPolicy::default(), &[], 23);
    assert_eq!(m.unbind(A), NDIS_STATUS_SUCCESS);
    assert_eq!(m.bind(A), NDIS_STATUS_SUCCESS);
    let r = unload_clean(m);
    assert!(r.check_runs("config.closed_before_owner_returns") > 0);
    assert!(r.handler_calls.get("ProtocolBindAdapterEx") >= Some(&2));
}

#[test]
fn configuration_check_fires_on_a_handle_left_open() {
    let m = model(
        AdapterPolicy::default(),
        &[Fault::SkipCloseConfiguration],
        24,
    );
    let r = m.unload();
    let owners: Vec<_> = r
        .violations
        .iter()
        .filter(|v| v.check == "config.closed_before_owner_returns")
        .map(|v| v.message.split(' ').next().unwrap_or_default().to_string())
        .collect();
    assert!(
        owners.iter().any(|o| o == "ProtocolBindAdapterEx"),
        "{owners:?}\n{r}"
    );
}

// ---------------------------------------------------------------------------------------------
// Pool tags (NdisAllocateMemoryWithTagPriority rule)

#[test]
fn every_tagged_allocation_has_a_tag() {
    let mut m = model(AdapterPolicy::default(), &[], 25);
    m.host_send(A, 4);
    m.host_oid(A, &OidSpec::query(OID_GEN_LINK_SPEED, 4))
        .expect("OID runs");
    m.run_until_idle();
    let r = unload_clean(m);
    // Pool allocations, NBL contexts and the OID clone.
    assert!(r.check_runs("memory.tag_nonzero") >= 3, "{r}");
}

#[test]
fn tag_check_fires_on_a_zero_tag() {
    let mut m = model(AdapterPolicy::default(), &[Fault::ZeroTag], 26);
    m.host_oid(A, &OidSpec::query(OID_GEN_LINK_SPEED, 4))
        .expect("OID runs");
    assert_eq!(failed(m), ["memory.tag_nonzero"]);
}

// ---------------------------------------------------------------------------------------------
// IRQL minimums (Irql_*_Function: functions documented at DISPATCH_LEVEL only)

#[test]
fn dispatch_only_functions_are_called_at_dispatch() {
    let mut m = model(AdapterPolicy::default(), &[], 27);
    m.host_send(A, 4);
    m.lower_indicate(A, 4, false);
    m.run_until_idle();
    let r = unload_clean(m);
    assert!(r.check_runs("irql.export_min") > 0, "{r}");
}

#[test]
fn irql_minimum_check_fires_below_dispatch() {
    let m = model(
        AdapterPolicy::default(),
        &[Fault::PassiveCall(Export::KeReleaseSpinLock)],
        28,
    );
    assert_eq!(failed(m), ["irql.export_min"]);
}
