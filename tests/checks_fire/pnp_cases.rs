//! Cases around bind, unbind, halt and registration: a binding used while it closes, a failed
//! bind that left things behind, a halt that lingers, and a few export misuses that need a second
//! thread or a second adapter.

use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use chimney_im::ndis::*;
use ndis_model::exports::{device, oid, sync};
use ndis_model::testkit::{offload_now, one_adapter};
use ndis_model::*;

use super::Case;
use super::chimney_standin::{self as cs, install_chimney};
use super::chimney_wrap as cw;
use super::faulty::{self, install};
use super::lifecycle_faults as lf;
use super::setups::*;
use super::standin;

/// An adapter whose lower miniport pends NdisCloseAdapterEx.
fn close_pends() -> Model {
    one_adapter(
        AdapterPolicy {
            close_pending: true,
            ..AdapterPolicy::default()
        },
        128,
    )
}

/// Unbinds with ProtocolUnbindAdapterEx doing `after` on the closing binding.
fn unbind_then(m: &mut Model, after: u32) {
    lf::AFTER_CLOSE.store(after, Relaxed);
    faulty::HANDLE.store(m.ndis_handles(A).binding, Relaxed);
    install(m, |_, pt| pt.unbind = lf::unbind_then_uses_binding);
    m.unbind(A);
    m.run_until_idle();
}

fn swallow_oid_completions(m: &mut Model) {
    install(m, |_, pt| pt.oid_complete = lf::oid_complete_swallowed);
}

/// Two chimney adapters whose offload targets hold I/O until the test completes it.
fn two_held_targets() -> Model {
    let held = AdapterPolicy {
        chimney: ChimneyPolicy {
            io_completion: Completion::Held,
            ..ChimneyPolicy::default()
        },
        ..AdapterPolicy::default()
    };
    Model::load(
        ModelConfig::default()
            .seed(129)
            .with_adapter(LowerAdapterConfig::ethernet(1).with_policy(held))
            .with_adapter(LowerAdapterConfig::ethernet(2).with_policy(held)),
    )
}

fn chimney_short_waits() -> Model {
    let mut c = ModelConfig::default()
        .seed(130)
        .with_adapter(LowerAdapterConfig::ethernet(1));
    c.deadlock_timeout = Duration::from_millis(200);
    Model::load(c)
}

pub static CASES: &[Case] = &[
    // ---- the binding used while NdisCloseAdapterEx is pending ----
    // In each, the wrapper's own close completes to the driver's ProtocolCloseAdapterCompleteEx
    // before the real handler initialized the event it sets there (event.initialized); the real
    // handler's close is refused (close.binding_open), so the binding is still closing when the
    // unbind returns (unbind.binding_closed).
    case!("close.binding_open", also ["event.initialized", "unbind.binding_closed"], close_pends, |m| {
        unbind_then(m, 0)
    }),
    // The request is NULL too (checked after the binding).
    case!("oid.binding_open",
        also ["oid.request_not_null", "close.binding_open", "event.initialized", "unbind.binding_closed"],
        close_pends, |m| { unbind_then(m, lf::OID_AFTER_CLOSE) }),
    // The block list is NULL too (checked after the binding).
    case!("chimney.binding_open",
        also ["chimney_state.block_list_not_null", "close.binding_open", "event.initialized",
            "unbind.binding_closed"],
        close_pends, |m| { unbind_then(m, lf::OFFLOAD_AFTER_CLOSE) }),
    // The NBL is not one the driver owns either, and the binding is paused (checked after it is
    // open).
    case!("send.binding_open",
        also ["send.driver_owns_nbl", "send.binding_not_paused", "close.binding_open",
            "event.initialized", "unbind.binding_closed"],
        close_pends, |m| { unbind_then(m, lf::SEND_AFTER_CLOSE) }),
    // ---- bind, initialize, halt ----
    // NdisMSetMiniportAttributes fails for the general attributes; the real handler gives up,
    // the wrapper claims success anyway.
    case!(
        "init.attributes_set_before_success",
        || Model::load(ModelConfig::default().seed(132)),
        |m| {
            install(m, |mp, _| mp.initialize = lf::initialize_claims_success);
            m.inject_failure(Export::NdisMSetMiniportAttributes, 2);
            let a = m.add_adapter(LowerAdapterConfig::ethernet(1));
            m.bind(a);
        }
    ),
    case!("device.init_instance_when_absent", adapter, |m| {
        let d = m.ndis_handles(A).miniport_driver;
        with_first_instance_name(|s| {
            // SAFETY: a valid NDIS_STRING naming the instance that is already up (the fault).
            unsafe { device::NdisIMInitializeDeviceInstanceEx(h(d), s, std::ptr::null_mut()) }
        });
    }),
    case!("halt.forwarded_oids_drained", held_oids, |m| {
        swallow_oid_completions(m);
        let b = m.ndis_handles(A).binding;
        let clone = clone_of_a_request(b);
        // SAFETY: a valid binding handle and request, held below across the halt (the fault).
        unsafe { oid::NdisOidRequest(h(b), clone) };
        m.disable_device(A);
        m.lower_complete_oids(A);
        m.run_until_idle();
        // SAFETY: the clone, completed below.
        unsafe { oid::NdisFreeCloneOidRequest(h(b), clone) };
    }),
    case!("clone.free_after_completion", held_oids, |m| {
        swallow_oid_completions(m);
        let b = m.ndis_handles(A).binding;
        let clone = clone_of_a_request(b);
        // SAFETY: a valid binding handle and request.
        unsafe { oid::NdisOidRequest(h(b), clone) };
        // SAFETY: the clone, freed while pending below (the fault); the model keeps its memory.
        unsafe { oid::NdisFreeCloneOidRequest(h(b), clone) };
        m.lower_complete_oids(A);
        m.run_until_idle();
    }),
    case!("chimney_complete.halt_started", chimney_short_waits, |m| {
        install(m, |mp, _| mp.halt = lf::halt_dawdles);
        m.pause_miniport(A);
        m.halt_during_next_initiate_completion(A);
        m.host_offload_with(
            A,
            OffloadSpec {
                force: true,
                ..OffloadSpec::default()
            },
        );
        m.run_until_idle();
    }),
    // Adapter 1's NBL goes up to adapter 0's host with adapter 0's SourceHandle (not its own).
    case!(
        "chimney_host.completion_on_right_open",
        also["chimney_host.nbl_as_posted"],
        two_held_targets,
        |m| {
            let c0 = offload_now(m, A);
            let c1 = offload_now(m, AdapterId(1));
            cw::reset_held_chain();
            install_chimney(m, 0, |p, c| {
                cs::io_path(p, c);
                c.send_complete = Some(cw::complete_merged_into_first);
            });
            m.host_chimney_send(c0, 1);
            m.host_chimney_send(c1, 1);
            m.target_complete(A, None);
            m.target_complete(AdapterId(1), None);
            m.run_until_idle();
        }
    ),
    // ---- registration, locks ----
    case!(
        "registration.miniport_no_hang_reset",
        also["registration.miniport_required_handlers"],
        || Model::load_with(
            ModelConfig::default().seed(133),
            standin::miniport_with_hang_handler
        ),
        |m| {}
    ),
    case!("spinlock.acquire_deadlock", short_waits, |m| {
        static LOCK: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let lock = LOCK.as_ptr().cast::<KspinLock>();
        // Another thread takes the lock and ends without releasing it (the fault).
        std::thread::spawn(|| {
            let lock = LOCK.as_ptr().cast::<KspinLock>();
            // SAFETY: a valid KSPIN_LOCK with static lifetime, never released by this thread.
            let _ = unsafe { sync::KeAcquireSpinLockRaiseToDpc(lock) };
        })
        .join()
        .expect("the other thread ran");
        // SAFETY: the same lock, acquired here once the model gives up on its owner ...
        let old = unsafe { sync::KeAcquireSpinLockRaiseToDpc(lock) };
        // SAFETY: ... and released by its new owner.
        unsafe { sync::KeReleaseSpinLock(lock, old) };
    }),
];

/// Binds a fresh adapter through `lifecycle_faults::bind_stand_in` failing with `fault`.
fn failing_bind(m: &mut Model, fault: u32) {
    lf::BIND_FAULT.store(fault, Relaxed);
    faulty::HANDLE.store(m.ndis_handles(A).protocol, Relaxed);
    lf::DRIVER.store(m.ndis_handles(A).miniport_driver, Relaxed);
    install(m, |_, pt| {
        pt.bind = lf::bind_stand_in;
        pt.unbind = lf::unbind_stand_in;
    });
    let a = m.add_adapter(LowerAdapterConfig::ethernet(1));
    m.bind(a);
}

pub static BIND_CASES: &[Case] = &[
    case!(
        "bind.failure_leaves_no_binding",
        || Model::load(ModelConfig::default().seed(134)),
        |m| { failing_bind(m, lf::BIND_LEAVES_OPEN) }
    ),
    case!(
        "bind.failure_cancels_device_init",
        || Model::load(ModelConfig::default().seed(135)),
        |m| { failing_bind(m, lf::BIND_LEAVES_DEVICE_INIT) }
    ),
];
