//! Chimney cases where the test acts as a faulty driver on the chimney exports (wrong handle,
//! malformed block tree, NBL it does not own, wrong time), or wraps one of chimney-im's chimney
//! handlers to pass an indication, event or return on wrongly (`chimney_wrap.rs`). Block lists
//! the test sends down itself complete to a swallowing client handler, never to the driver.

use std::sync::atomic::Ordering::Relaxed;

use chimney_im::ndis::*;
use ndis_model::exports::{chimney, chimney_io};
use ndis_model::testkit::{offload_now, one_chimney_adapter};
use ndis_model::*;

use super::Case;
use super::chimney_cases::chimney;
use super::chimney_standin::{self as cs, install_chimney};
use super::chimney_wrap::{self as cw, swallow_state};
use super::lifecycle_faults::{self as lf, init_fault};
use super::setups::*;

type Pobl = NdisProtocolOffloadBlockList;

/// A chimney adapter whose lower miniport has no offload target (state calls complete at once
/// with NOT_SUPPORTED, inside the call).
fn no_target() -> Model {
    one_chimney_adapter(
        ChimneyPolicy {
            target: false,
            ..ChimneyPolicy::default()
        },
        123,
    )
}

/// A zeroed block (header of a TCP state block) naming `handle`.
fn block(handle: usize) -> Box<Pobl> {
    // SAFETY: the block list is plain data (integers, raw pointers); all-zero is valid.
    let mut b: Box<Pobl> = Box::new(unsafe { std::mem::zeroed() });
    b.header = NdisObjectHeader::new(offload_state_type::TCP, 1, size_of::<Pobl>());
    b.offload_handle = handle as *mut NdisOffloadHandle;
    b
}

/// Client state completions swallowed, so lists the test sends down never reach the driver.
fn swallow(m: &mut Model) {
    install_chimney(m, 0, |_, c| {
        c.initiate_complete = Some(swallow_state);
        c.query_complete = Some(swallow_state);
    });
}

/// NdisInitiateOffload of `b` on adapter 0's binding.
fn initiate(m: &Model, b: &mut Pobl) {
    let bh = m.ndis_handles(A).binding;
    // SAFETY: a valid binding handle and a block list on the test's heap; its content is the
    // case's fault.
    unsafe { chimney::NdisInitiateOffload(h(bh), b) };
}

/// An offload handle in the driver's pool memory with NdisReserved[0] `reserved` and
/// MiniportOffloadContext `context`; freed by `free_handle`.
fn pool_handle(m: &Model, reserved: usize, context: usize) -> *mut NdisOffloadHandle {
    let p = alloc(m, 16).cast::<NdisOffloadHandle>();
    // SAFETY: 16 fresh bytes of pool memory: room for the handle.
    unsafe {
        p.write(NdisOffloadHandle {
            ndis_reserved: [reserved as *mut _],
            miniport_offload_context: context as *mut _,
        });
    }
    p
}

fn free_handle(p: *mut NdisOffloadHandle) {
    // SAFETY: the 16-byte block `pool_handle` allocated, no longer used.
    unsafe { ndis_model::exports::memory::NdisFreeMemory(p.cast(), 16, 0) };
}

/// Offloads a connection with the host's handles recorded (`cs::HOST_HANDLES`).
fn recorded_offload(m: &mut Model) -> ConnId {
    cs::HOST_HANDLES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clear();
    install_chimney(m, 0, |p, _| p.initiate = Some(cw::record_initiate));
    let c = offload_now(m, A);
    let real_initiate = cs::real().0.initiate;
    m.replace_chimney_handlers(|p, _| p.initiate = real_initiate);
    c
}

fn accepting_none() -> Model {
    one_chimney_adapter(
        ChimneyPolicy {
            host_accept: Accept::None,
            ..ChimneyPolicy::default()
        },
        124,
    )
}

pub static CASES: &[Case] = &[
    // ---- registration ----
    case!("chimney.optional_handlers_accepted", adapter, |m| {
        let d = m.ndis_handles(A).miniport_driver;
        // SAFETY: the characteristics are plain data; all-zero is valid.
        let mut c: NdisClientChimneyOffloadGenericCharacteristics = unsafe { std::mem::zeroed() };
        c.header = NdisObjectHeader::new(
            0x8E,
            1,
            size_of::<NdisClientChimneyOffloadGenericCharacteristics>(),
        );
        // SAFETY: a client (protocol-edge) table with the miniport driver's handle (the fault).
        unsafe { chimney::NdisSetOptionalHandlers(h(d), &raw mut c.header) };
    }),
    case!("chimney.handlers_complete", adapter, |m| {
        let p = m.ndis_handles(A).protocol;
        // SAFETY: as above.
        let mut c: NdisClientChimneyOffloadGenericCharacteristics = unsafe { std::mem::zeroed() };
        c.header = NdisObjectHeader::new(
            0x8E,
            1,
            size_of::<NdisClientChimneyOffloadGenericCharacteristics>(),
        );
        // SAFETY: a well-headed client table whose handlers are all NULL (the fault).
        unsafe { chimney::NdisSetOptionalHandlers(h(p), &raw mut c.header) };
    }),
    case!(
        "chimney.get_handlers_out_pointer",
        || init_fault(lf::INIT_GET_HANDLERS_NULL),
        |m| {}
    ),
    // No SourceHandle either: NDIS cannot route it; and the miniport is still initializing when
    // the call returns.
    case!("chimney_complete.miniport_initialized",
        also ["chimney_complete.routed_by_source_handle", "chimney_complete.miniport_outlives_call"],
        || {
        init_fault(lf::INIT_COMPLETES_OFFLOAD)
    }, |m| {}),
    case!("chimney.client_handlers_registered", no_target, |m| {
        install_chimney(m, 0, |_, c| c.initiate_complete = None);
        initiate(m, &mut block(0));
    }),
    // ---- block trees and offload handles the driver sends down ----
    case!("chimney_state.tree_well_formed", chimney, |m| {
        swallow(m);
        let mut b = block(0);
        b.next_block = &raw mut *b;
        initiate(m, &mut b);
    }),
    case!("chain.well_formed", chimney, |m| {
        swallow(m);
        let nbl = foreign_nbl();
        // SAFETY: the test's own NBL, linked to itself (the fault).
        unsafe { nbl.cast::<*mut NetBufferList>().write(nbl) };
        let mut b = block(0);
        b.net_buffer_list_chain = nbl;
        initiate(m, &mut b);
        m.run_until_idle();
    }),
    case!("chimney.no_call_on_freed_handle", no_target, |m| {
        swallow(m);
        initiate(m, &mut block(0x1230));
    }),
    case!("chimney.offload_handle_zero_filled", no_target, |m| {
        swallow(m);
        let oh = pool_handle(m, 0, 0x999);
        initiate(m, &mut block(oh as usize));
        free_handle(oh);
    }),
    case!("chimney.offload_handle_bound_to_caller", no_target, |m| {
        swallow(m);
        let oh = pool_handle(m, 0x42, 0);
        initiate(m, &mut block(oh as usize));
        free_handle(oh);
    }),
    case!("chimney_target.linker_context_valid", chimney, |m| {
        swallow(m);
        let oh = pool_handle(m, m.ndis_handles(A).binding, 0x999);
        // Kept until the target completed it.
        let mut b = block(oh as usize);
        initiate(m, &mut b);
        m.run_until_idle();
        free_handle(oh);
    }),
    case!("chimney_target.context_valid", chimney, |m| {
        swallow(m);
        let bh = m.ndis_handles(A).binding;
        let oh = pool_handle(m, bh, 0x999);
        let mut b = block(oh as usize);
        // SAFETY: a valid binding handle; a query naming a context the target never gave.
        unsafe { chimney::NdisQueryOffloadState(h(bh), &raw mut *b) };
        m.run_until_idle();
        free_handle(oh);
    }),
    // ---- completions the driver makes ----
    case!("chimney_complete.routed_by_source_handle", chimney, |m| {
        let mh = m.ndis_handles(A).miniport;
        // SAFETY: a zeroed list (no SourceHandle: the fault) on the test's heap.
        let mut l: Box<NdisMiniportOffloadBlockList> = Box::new(unsafe { std::mem::zeroed() });
        // SAFETY: a valid miniport handle and list.
        unsafe { chimney::NdisMInitiateOffloadComplete(h(mh), &raw mut *l) };
    }),
    case!("chimney_complete.miniport_handle_matches", chimney, |m| {
        swallow(m);
        let mh = m.ndis_handles(A).miniport;
        // SAFETY: as above.
        let mut l: Box<NdisMiniportOffloadBlockList> = Box::new(unsafe { std::mem::zeroed() });
        l.source_handle = h(m.ndis_handles(A).binding);
        // SAFETY: the virtual miniport completes a call of the driver's own binding (the fault).
        unsafe { chimney::NdisMInitiateOffloadComplete(h(mh), &raw mut *l) };
    }),
    // A foreign NBL carries no host SourceHandle either.
    case!(
        "chimney_complete.driver_owns_nbl",
        also["chimney_complete.source_handle_restored"],
        chimney,
        |m| {
            let mh = m.ndis_handles(A).miniport;
            // SAFETY: completes an NBL the driver does not own (the fault); looked up before use.
            unsafe { chimney_io::NdisTcpOffloadSendComplete(h(mh), foreign_nbl()) };
        }
    ),
    // ---- I/O the driver posts ----
    // Its NBL is not one it owns either.
    case!(
        "chimney_io.handle_routes_to_open",
        also["chimney_io.driver_owns_nbl"],
        chimney,
        |m| {
            let oh = pool_handle(m, 0, 0);
            // SAFETY: a handle NDIS never saw at initiate (the fault) and a foreign NBL.
            unsafe { chimney_io::NdisOffloadTcpSend(oh, foreign_nbl()) };
            free_handle(oh);
        }
    ),
    // It reaches the target, which does not know it either.
    case!(
        "chimney_io.driver_owns_nbl",
        also["chimney_target.nbl_is_hosts"],
        chimney,
        |m| {
            let c = offload_now(m, A);
            install_chimney(m, 0, cs::io_path);
            m.host_chimney_send(c, 1);
            m.run_until_idle();
            let oc = cs::LAST_CONTEXT.load(Relaxed);
            // SAFETY: the driver's own offload handle of an offloaded connection and an NBL it does
            // not own (the fault).
            unsafe { chimney_io::NdisOffloadTcpSend(oc as *mut _, foreign_nbl()) };
        }
    ),
    // ---- indications, events and returns ----
    // The target never lent it: not an indication it has outstanding.
    case!(
        "chimney_indicate.return_owns_nbl",
        also["chimney_indicate.returned_once"],
        chimney,
        |m| {
            let b = m.ndis_handles(A).binding;
            // SAFETY: returns an NBL the driver was never lent (the fault); looked up before use.
            unsafe { chimney_io::NdisOffloadTcpReceiveReturn(h(b), foreign_nbl()) };
        }
    ),
    case!("chimney_indicate.routed_by_handle", chimney, |m| {
        let mut bytes = 0u32;
        // SAFETY: a handle that is not the host's (the fault); looked up before use.
        unsafe {
            chimney_io::NdisTcpOffloadReceiveHandler(h(0x1230), foreign_nbl(), 0, &raw mut bytes)
        };
    }),
    case!("chimney_indicate.passed_unchanged", chimney, |m| {
        let c = offload_now(m, A);
        install_chimney(m, 0, |_, cl| {
            cl.receive_indicate = Some(cw::indicate_status_changed)
        });
        m.target_indicate_receive(c, 10);
        m.run_until_idle();
    }),
    case!(
        "chimney_indicate.host_result_returned",
        accepting_none,
        |m| {
            let c = offload_now(m, A);
            cw::RESULT.store(NDIS_STATUS_OFFLOAD_DATA_PARTIALLY_ACCEPTED, Relaxed);
            install_chimney(m, 0, |_, cl| {
                cl.receive_indicate = Some(cw::indicate_returns)
            });
            m.target_indicate_receive(c, 10);
        }
    ),
    // Not the host's answer either.
    case!(
        "chimney_indicate.result_valid",
        also["chimney_indicate.host_result_returned"],
        accepting_none,
        |m| {
            let c = offload_now(m, A);
            cw::RESULT.store(0x1234, Relaxed);
            install_chimney(m, 0, |_, cl| {
                cl.receive_indicate = Some(cw::indicate_returns)
            });
            m.target_indicate_receive(c, 10);
        }
    ),
    // The host kept it (SUCCESS): reported "not accepted" to the target, which later gets back an
    // NBL it no longer counts as lent, and so never takes it back.
    case!("chimney_indicate.ownership_back",
        also ["chimney_indicate.host_result_returned", "chimney_indicate.returned_once",
            "teardown.nbls_returned"],
        chimney, |m| {
        let c = offload_now(m, A);
        cw::RESULT.store(NDIS_STATUS_OFFLOAD_DATA_NOT_ACCEPTED, Relaxed);
        install_chimney(m, 0, |_, cl| cl.receive_indicate = Some(cw::indicate_returns));
        m.target_indicate_receive(c, 10);
        m.run_until_idle();
    }),
    case!("chimney_indicate.data_in_stream_order", chimney, |m| {
        let c = offload_now(m, A);
        install_chimney(m, 0, |_, cl| {
            cl.receive_indicate = Some(cw::indicate_altered)
        });
        m.target_indicate_receive(c, 10);
        m.run_until_idle();
    }),
    // The host refuses it, but the target's indication got no host answer.
    case!(
        "chimney_indicate.routed_to_connection",
        also["chimney_indicate.host_result_returned"],
        chimney,
        |m| {
            let c = recorded_offload(m);
            install_chimney(m, 0, |_, cl| {
                cl.receive_indicate = Some(cw::indicate_on_neighbor)
            });
            m.target_indicate_receive(c, 10);
        }
    ),
    case!("chimney_event.routed_to_connection", chimney, |m| {
        let c = recorded_offload(m);
        install_chimney(m, 0, |_, cl| cl.tcp_event = Some(cw::event_on_neighbor));
        m.target_event(c, 1, 2);
    }),
    case!("chimney_event.delivered", chimney, |m| {
        let c = offload_now(m, A);
        install_chimney(m, 0, |_, cl| cl.tcp_event = Some(cw::event_swallowed));
        m.target_event(c, 1, 2);
    }),
    case!("chimney_event.generic_handles_swapped", chimney, |m| {
        let c = offload_now(m, A);
        install_chimney(m, 0, |_, cl| {
            cl.offload_event = Some(cw::offload_event_unswapped)
        });
        m.target_offload_event(A, 1, Some(c));
    }),
    case!("chimney_event.generic_list_restored", chimney, |m| {
        let c = offload_now(m, A);
        install_chimney(m, 0, |_, cl| {
            cl.offload_event = Some(cw::offload_event_not_restored)
        });
        m.target_offload_event(A, 1, Some(c));
    }),
    case!("chimney_indicate.receive_return_succeeds", chimney, |m| {
        let c = offload_now(m, A);
        install_chimney(m, 0, |p, _| {
            p.receive_return = Some(cw::receive_return_fails)
        });
        m.target_indicate_receive(c, 10);
        m.run_until_idle();
    }),
    case!("chimney_indicate.returned_once", two_adapters, |m| {
        let c = offload_now(m, A);
        cs::OTHER.store(m.ndis_handles(AdapterId(1)).binding, Relaxed);
        install_chimney(m, 0, |p, _| {
            p.receive_return = Some(cw::receive_return_elsewhere_first)
        });
        m.target_indicate_receive(c, 10);
        m.run_until_idle();
    }),
    // The driver makes an offload of its own behind the host's back and parks one of the host's
    // NBLs there (on another connection's offload), then leaves it: the host's terminate, the
    // pause, the halt and the close all find it still below, and it never comes home (when the
    // target finally completes it at unload, its SourceHandle names the closed binding).
    case!("close.chimney_nothing_outstanding",
        also ["chimney_target.nbl_on_its_connection", "chimney_host.io_completed_before_terminate",
            "pause.chimney_io_drained", "halt.chimney_drained", "teardown.nbls_returned",
            "chimney_complete.routed_by_source_handle"],
        held_io, |m| {
        let c = offload_now(m, A);
        install_chimney(m, cs::POST_ON_LAST_CONTEXT, |p, cl| {
            cs::io_path(p, cl);
            cl.initiate_complete = Some(swallow_state);
        });
        let oh = pool_handle(m, 0, 0);
        let mut b = block(oh as usize);
        initiate(m, &mut b);
        m.run_until_idle();
        cs::LAST_CONTEXT.store(oh as usize, Relaxed);
        m.host_chimney_send(c, 1);
        m.run_until_idle();
        free_handle(oh);
    }),
];

fn held_io() -> Model {
    one_chimney_adapter(
        ChimneyPolicy {
            io_completion: Completion::Held,
            ..ChimneyPolicy::default()
        },
        136,
    )
}
