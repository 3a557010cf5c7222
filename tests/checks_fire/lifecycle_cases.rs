//! Cases of lifecycle and data-path rules: chimney-im's handlers wrapped to make one wrong call
//! (`lifecycle_faults.rs`, `datapath_faults.rs`), or the test acting as a faulty driver on the
//! OID and processor exports.

use std::sync::atomic::Ordering::Relaxed;

use chimney_im::ndis::*;
use ndis_model::exports::{oid, processor};
use ndis_model::*;

use super::Case;
use super::datapath_faults as df;
use super::faulty::{self, install};
use super::handler_faults::stand_in_send;
use super::lifecycle_faults::{self as lf, init_fault};
use super::send_path;
use super::setups::*;

/// Puts adapter 0's virtual miniport handle where the wrappers find it.
fn miniport_handle(m: &Model) {
    faulty::HANDLE.store(m.ndis_handles(A).miniport, Relaxed);
}

/// Binds a fresh adapter with ProtocolBindAdapterEx first trying a wrong open.
fn wrong_open(m: &mut Model, fault: u32) {
    lf::OPEN_FAULT.store(fault, Relaxed);
    faulty::HANDLE.store(m.ndis_handles(A).protocol, Relaxed);
    install(m, |_, pt| pt.bind = lf::bind_opens_wrongly);
    let a = m.add_adapter(LowerAdapterConfig::ethernet(1));
    m.bind(a);
}

fn no_adapter() -> Model {
    Model::load(ModelConfig::default().seed(127))
}

/// OID completions to the driver swallowed: the requests the test sends down are its own.
fn swallow_oid_completions(m: &mut Model) {
    install(m, |_, pt| pt.oid_complete = lf::oid_complete_swallowed);
}

fn free_clone(b: usize, clone: *mut NdisOidRequest) {
    // SAFETY: a clone allocated against `b`, completed below (not pending any more).
    unsafe { oid::NdisFreeCloneOidRequest(h(b), clone) };
}

pub static CASES: &[Case] = &[
    // ---- MiniportInitializeEx with one wrong extra call ----
    case!(
        "attributes.registration_context",
        || init_fault(lf::INIT_REGISTRATION_NULL_CONTEXT),
        |m| {}
    ),
    case!(
        "attributes.registration_no_halt_on_suspend",
        || init_fault(lf::INIT_REGISTRATION_WITHOUT_NO_HALT),
        |m| {}
    ),
    case!(
        "attributes.general_values",
        || init_fault(lf::INIT_GENERAL_BAD_VALUES),
        |m| {}
    ),
    case!(
        "device.deinit_when_initialized",
        || init_fault(lf::INIT_DEINIT),
        |m| {}
    ),
    // The NBL is not the driver's either.
    case!(
        "send_complete.miniport_initialized",
        also["send_complete.driver_owns_nbl"],
        || init_fault(lf::INIT_SEND_COMPLETE),
        |m| {}
    ),
    // An entry over the wrong interface, never deleted: still there when the halt returns and at
    // unload.
    case!("halt.if_stack_entry_deleted",
        also ["ifstack.lower_is_bound_if_index", "teardown.if_stack_entries_deleted"],
        || init_fault(lf::INIT_IF_STACK_EXTRA_KEPT), |m| {}),
    // ---- other lifecycle handlers ----
    case!("status.miniport_initialized", adapter, |m| {
        miniport_handle(m);
        install(m, |mp, _| mp.halt = lf::halt_indicates_status);
    }),
    case!("pause.complete_only_after_pending", adapter, |m| {
        miniport_handle(m);
        install(m, |mp, _| mp.pause = lf::pause_completes_and_returns);
        m.pause_miniport(A);
        m.restart_miniport(A);
    }),
    case!("unload.deregistered_both_edges", adapter, |m| {
        install(m, |mp, _| mp.unload = lf::unload_deregisters_nothing);
    }),
    case!("oid.sync_return_not_completed", adapter, |m| {
        miniport_handle(m);
        install(m, |mp, _| {
            mp.oid_request = lf::oid_completes_and_returns_success
        });
        m.host_oid(A, &OidSpec::query(oids::OID_GEN_LINK_SPEED, 4));
    }),
    case!("oid.complete_once", adapter, |m| {
        miniport_handle(m);
        install(m, |mp, _| mp.oid_request = lf::oid_completes_twice);
        m.host_oid(A, &OidSpec::query(oids::OID_GEN_LINK_SPEED, 4));
    }),
    case!("open.parameters_header", no_adapter, |m| {
        wrong_open(m, lf::OPEN_BAD_HEADER)
    }),
    case!("open.adapter_name", no_adapter, |m| {
        wrong_open(m, lf::OPEN_WRONG_NAME)
    }),
    case!("open.medium_802_3", no_adapter, |m| {
        wrong_open(m, lf::OPEN_NO_802_3)
    }),
    // ---- data path ----
    case!("nbl_context.size_multiple_of_16", adapter, |m| {
        df::CONTEXT_FAULT.store(df::CONTEXT_SIZE_8, Relaxed);
        install(m, |mp, _| mp.send = df::send_with_context_fault);
        m.host_send(A, 1);
    }),
    case!("nbl_context.header_intact", adapter, |m| {
        df::CONTEXT_FAULT.store(df::CONTEXT_HEADER_OVERWRITTEN, Relaxed);
        install(m, |mp, _| mp.send = df::send_with_context_fault);
        m.host_send(A, 1);
    }),
    case!("nbl_context.free_lifo", adapter, |m| {
        df::CONTEXT_FAULT.store(df::CONTEXT_FREED_OUT_OF_ORDER, Relaxed);
        install(m, |mp, _| mp.send = df::send_with_context_fault);
        m.host_send(A, 1);
    }),
    // The changed payload also comes home to the lower changed.
    case!(
        "receive.payload_intact",
        also["return_down.nbl_as_indicated"],
        adapter,
        |m| {
            install(m, |_, pt| pt.receive = df::receive_alters_payload);
            m.lower_indicate(A, 1, false);
        }
    ),
    // The driver indicates it up changed too.
    case!(
        "receive.resources_nbl_restored",
        also["receive.payload_intact"],
        adapter,
        |m| {
            install(m, |_, pt| pt.receive = df::receive_alters_payload);
            m.lower_indicate(A, 1, true);
        }
    ),
    case!("send.no_loopback_below", adapter, |m| {
        stand_in_send(m, 0);
        send_path::DOWN_FLAGS.store(send_flags::CHECK_FOR_LOOPBACK, Relaxed);
        m.host_send(A, 1);
    }),
    // The model counts the sends against adapter 1's binding, and their completion against the
    // binding of the adapter that owns them (0): adapter 1's binding still looks busy when it is
    // paused and closed at unload.
    case!("send.same_adapter", also ["pause.binding_sends_drained", "close.nothing_outstanding"],
        two_adapters, |m| {
        let b1 = m.ndis_handles(AdapterId(1)).binding;
        stand_in_send(m, b1);
        faulty::HANDLE.store(b1, Relaxed);
        m.host_send(A, 1);
    }),
    case!("receive.miniport_running", adapter, |m| {
        stand_in_receive(m, m.ndis_handles(A).miniport, 0);
        m.pause_miniport(A);
        m.lower_indicate(A, 1, false);
        m.restart_miniport(A);
    }),
    // ---- export misuse ----
    case!("processor.number_aligned", adapter, |m| {
        let mut buf = [0u64; 2];
        let misaligned = buf
            .as_mut_ptr()
            .cast::<u8>()
            .wrapping_add(1)
            .cast::<ProcessorNumber>();
        // SAFETY: a misaligned out pointer (the fault), checked before it is written.
        unsafe { processor::KeGetCurrentProcessorNumberEx(misaligned) };
    }),
    case!("oid.request_header", adapter, |m| {
        swallow_oid_completions(m);
        let b = m.ndis_handles(A).binding;
        let clone = clone_of_a_request(b);
        // SAFETY: the test's own clone; a wrong header type (the fault).
        unsafe { (*clone).header.kind = 0 };
        // SAFETY: a valid binding handle and request.
        unsafe { oid::NdisOidRequest(h(b), clone) };
        m.run_until_idle();
        free_clone(b, clone);
    }),
    case!("oid.request_not_reissued", held_oids, |m| {
        swallow_oid_completions(m);
        let b = m.ndis_handles(A).binding;
        let clone = clone_of_a_request(b);
        // SAFETY: a valid binding handle and request, issued twice while pending (the fault).
        unsafe { oid::NdisOidRequest(h(b), clone) };
        // SAFETY: as above.
        unsafe { oid::NdisOidRequest(h(b), clone) };
        m.lower_complete_oids(A);
        m.run_until_idle();
        free_clone(b, clone);
    }),
    case!("oid.clone_on_its_binding", two_adapters, |m| {
        swallow_oid_completions(m);
        let b0 = m.ndis_handles(A).binding;
        let b1 = m.ndis_handles(AdapterId(1)).binding;
        let clone = clone_of_a_request(b0);
        // SAFETY: a clone of adapter 0's binding, sent on adapter 1's (the fault).
        unsafe { oid::NdisOidRequest(h(b1), clone) };
        m.run_until_idle();
        free_clone(b0, clone);
    }),
    case!("oid.cancel_by_request_id", held_oids, |m| {
        swallow_oid_completions(m);
        let b = m.ndis_handles(A).binding;
        let clone = clone_of_a_request(b);
        // SAFETY: a valid binding handle and request.
        unsafe { oid::NdisOidRequest(h(b), clone) };
        // SAFETY: cancels by the request's address instead of its RequestId (the fault).
        unsafe { oid::NdisCancelOidRequest(h(b), clone.cast()) };
        m.lower_complete_oids(A);
        m.run_until_idle();
        free_clone(b, clone);
    }),
];
