//! Behaviours of the kernel wrappers (`src/kernel`, `src/glue`) that mutation testing
//! (`.ci/mutants`) showed no other test pins: each test fails when the part of the driver named
//! in its doc comment is changed.

use chimney_im::ndis::oids::{OID_GEN_LINK_SPEED, OID_PNP_QUERY_POWER, OID_PNP_SET_POWER};
use chimney_im::ndis::*;
use ndis_model::testkit::*;
use ndis_model::*;

const A: AdapterId = AdapterId(0);

fn with_faults(faults: &[Fault], seed: u64) -> Model {
    let mut c = ModelConfig::default()
        .seed(seed)
        .with_adapter(LowerAdapterConfig::ethernet(1));
    c.faults = faults.to_vec();
    Model::load(c)
}

/// `BindingHandle::clone_oid`'s match guards (`status == NDIS_STATUS_SUCCESS` → true in the
/// first arm, → true in the second): a failed NdisAllocateCloneOidRequest, whatever its out
/// parameter holds (undefined on failure; the model leaves junk there), fails the host's OID
/// with NDIS's own status, and the junk is never used as a request.
#[test]
fn a_failed_clone_fails_the_oid_with_its_status() {
    let mut m = with_faults(&[Fault::CloneOidRequest(NDIS_STATUS_FAILURE)], 50);
    let o = m
        .host_oid(A, &OidSpec::query(OID_GEN_LINK_SPEED, 4))
        .expect("issued");
    assert_eq!(o.status, NDIS_STATUS_FAILURE, "{o:?}");
    assert_eq!(m.binding_state(A).oids_below, 0);
    let r = unload_clean(m);
    assert_eq!(r.counters.clones, 0, "{r}");
}

/// `clone_oid`'s second guard (→ false, and `==` → `!=`): an NDIS that reports SUCCESS but
/// gives no clone does not make the host's OID succeed without reaching the lower miniport: it
/// fails with RESOURCES.
#[test]
fn a_successful_clone_without_a_request_fails_the_oid() {
    let mut m = with_faults(&[Fault::CloneOidRequest(NDIS_STATUS_SUCCESS)], 51);
    let o = m
        .host_oid(A, &OidSpec::query(OID_GEN_LINK_SPEED, 4))
        .expect("issued");
    assert_eq!(o.status, NDIS_STATUS_RESOURCES, "{o:?}");
    assert_eq!(o.bytes_written, 0, "{o:?}");
    unload_clean(m);
}

/// `OidRequestExt::set_bytes_done` → (): the two power OIDs the driver answers itself report the
/// ULONG they consumed (BytesRead of the set, BytesWritten of the query), not 0.
#[test]
fn locally_answered_power_oids_report_their_bytes() {
    let mut m = one_adapter(AdapterPolicy::default(), 52);
    let set = m
        .host_oid(A, &OidSpec::set(OID_PNP_SET_POWER, &1u32.to_le_bytes()))
        .expect("issued");
    assert_eq!(
        (set.status, set.bytes_read),
        (NDIS_STATUS_SUCCESS, 4),
        "{set:?}"
    );
    let query = m
        .host_oid(A, &OidSpec::query(OID_PNP_QUERY_POWER, 4))
        .expect("issued");
    assert_eq!(
        (query.status, query.bytes_written),
        (NDIS_STATUS_SUCCESS, 4),
        "{query:?}"
    );
    let r = unload_clean(m);
    assert_eq!(r.counters.clones, 0, "answered without a clone: {r}");
}

/// `NameBuf::eq_ignore_ascii_case` → true, and its `&&` → `||` (names of equal length taken as
/// equal): a NetEventIMReEnableDevice by name restarts the virtual miniport with that name, not
/// the first binding in the list (the device names of two adapters have the same length).
#[test]
fn reenable_by_name_restarts_only_the_named_miniport() {
    let (mut m, b) = two_disabled_adapters(53);
    for (up, down) in [(A, b), (b, A)] {
        assert_eq!(m.reenable_device_by_name(up), NDIS_STATUS_SUCCESS);
        assert_eq!(m.device_state(up).phase, DevPhase::Up, "{up:?}");
        if up == A {
            assert_eq!(m.device_state(down).phase, DevPhase::Halted, "{down:?}");
        }
    }
    assert_eq!((m.device_state(A).starts, m.device_state(b).starts), (2, 2));
    unload_clean(m);
}

/// A lower adapter whose `UpperBindings` names the virtual miniport `name`.
fn bind_with_upper_binding(name: &str, seed: u64) -> Model {
    let mut nic = LowerAdapterConfig::ethernet(1);
    nic.upper_bindings = vec![name.to_owned()];
    Model::load(ModelConfig::default().seed(seed).with_adapter(nic))
}

/// `NameBuf::set`'s guard (`||` → `&&`, `>` → `==`): an empty device name, or one longer than
/// the 128 characters the binding keeps, fails the bind cleanly (no virtual miniport, no
/// out-of-bounds copy, no NdisIMInitializeDeviceInstanceEx with a wrong name).
#[test]
fn unusable_device_names_fail_the_bind() {
    let long = format!("\\Device\\{}", "X".repeat(121));
    assert_eq!(long.len(), 129);
    for (i, name) in ["", long.as_str()].into_iter().enumerate() {
        let m = bind_with_upper_binding(name, 54 + i as u64);
        assert_eq!(
            m.binding_state(A).open,
            OpenState::Closed,
            "{} chars",
            name.len()
        );
        assert_eq!(m.device_state(A).phase, DevPhase::Absent);
        unload_clean(m);
    }
}

/// `NameBuf::set`'s guard (`>` → `>=`): a device name of exactly 128 characters (the capacity)
/// is kept whole and the virtual miniport starts under it.
#[test]
fn a_device_name_of_full_capacity_is_used() {
    let name = format!("\\Device\\{}", "Y".repeat(120));
    assert_eq!(name.len(), 128);
    let mut m = bind_with_upper_binding(&name, 56);
    assert_eq!(m.device_state(A).phase, DevPhase::Up);
    assert_eq!(m.host_send(A, 2), 2);
    m.run_until_idle();
    unload_clean(m);
}

/// `fold` (→ 0, → 1, `&&` → `||`, `>=` → `<`): device names compare case-insensitively, and
/// only letters fold: a re-enable naming `\DEVICE\{...}` restarts the miniport whose
/// UpperBindings say `\Device\{...}`, and only that one.
#[test]
fn reenable_by_name_ignores_the_case_of_letters_only() {
    let (mut m, b) = two_disabled_adapters(57);
    assert_eq!(m.reenable_device_by_upper_case_name(A), NDIS_STATUS_SUCCESS);
    assert_eq!(m.device_state(A).phase, DevPhase::Up);
    assert_eq!(m.device_state(b).phase, DevPhase::Halted);
    unload_clean(m);
}

/// Two adapters (device names of equal length), both virtual miniports disabled.
fn two_disabled_adapters(seed: u64) -> (Model, AdapterId) {
    let cfg = ModelConfig::default()
        .seed(seed)
        .with_adapter(LowerAdapterConfig::ethernet(1))
        .with_adapter(LowerAdapterConfig::ethernet(2));
    let mut m = Model::load(cfg);
    let b = AdapterId(1);
    m.disable_device(A);
    m.disable_device(b);
    (m, b)
}
