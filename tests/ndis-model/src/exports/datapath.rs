//! Send, send completion, receive indication, return, send cancellation.

#![allow(non_snake_case, reason = "exports keep their ndis.sys names")]

use chimney_im::ndis::*;

use super::{enter, guard};
use crate::irql;
use crate::nbl::{self, Loc, Owner};
use crate::verifier::Export as E;
use crate::world::{self, DevPhase, HandleKind, OpenState, RunState, World};

const CHAIN_LIMIT: usize = 100_000;

fn dispatch_flag(w: &mut World, e: E, flags: u32) {
    let at = irql::at_dispatch();
    let set = flags & 1 != 0;
    w.v.check("flags.dispatch_level_matches_irql", at == set, || {
        format!(
            "{e} flags {flags:#x}: DISPATCH_LEVEL flag {set} but caller IRQL is {}",
            irql::current()
        )
    });
}

fn walk(w: &mut World, e: E, head: *mut NetBufferList) -> Vec<usize> {
    let (v, ok) = nbl::walk(head as usize, CHAIN_LIMIT);
    w.v.check("chain.well_formed", ok && !v.is_empty(), || {
        format!("{e}: empty, cyclic or overlong NBL chain")
    });
    v
}

/// # Safety
/// Called by the driver with the documented arguments.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe extern "system-unwind" fn NdisSendNetBufferLists(
    binding_handle: NdisHandle,
    net_buffer_lists: *mut NetBufferList,
    _port_number: NdisPortNumber,
    send_flags: u32,
) {
    guard(E::NdisSendNetBufferLists, (), || {
        let r = world::try_with(|w| {
            enter(w, E::NdisSendNetBufferLists, DISPATCH_LEVEL);
            dispatch_flag(w, E::NdisSendNetBufferLists, send_flags);
            let bh = binding_handle as usize;
            let a = w.expect_live(
                "handle.binding",
                "NdisSendNetBufferLists",
                bh,
                HandleKind::Binding,
            )?;
            let (open, run) = (w.adapters[a].binding.open, w.adapters[a].binding.run);
            w.v.check("send.binding_open", open == OpenState::Open, || {
                format!("NdisSendNetBufferLists on a binding that is {open:?}")
            });
            w.v.check(
                "send.binding_not_paused",
                matches!(run, RunState::Running | RunState::Pausing),
                || format!("NdisSendNetBufferLists on a {run:?} binding"),
            );
            // NDIS looped the host's frames back at the virtual miniport already (the IM's
            // MacOptions have NO_LOOPBACK); asking again below would loop them to the IM.
            w.v.check(
                "send.no_loopback_below",
                send_flags & send_flags::CHECK_FOR_LOOPBACK == 0,
                || format!("NdisSendNetBufferLists with CHECK_FOR_LOOPBACK ({send_flags:#x})"),
            );
            let mut ok_nbls = Vec::new();
            for p in walk(w, E::NdisSendNetBufferLists, net_buffer_lists) {
                let rec = w.nbls.recs.get(&p).map(|r| (r.owner, r.loc));
                let owned = matches!(rec, Some((Owner::Host(_), Loc::Driver)));
                if !w.v.check("send.driver_owns_nbl", owned, || {
                    format!("NdisSendNetBufferLists: NBL {p:#x} is {rec:?}, not a host send the driver owns")
                }) {
                    continue;
                }
                let src = nbl::source(p);
                w.v.check("send.source_handle_is_binding", src == bh, || {
                    format!("NBL {p:#x} SourceHandle {src:#x} != binding handle {bh:#x} passed to NdisSendNetBufferLists")
                });
                let same = matches!(rec, Some((Owner::Host(x), _)) if x == a);
                w.v.check("send.same_adapter", same, || {
                    format!("NBL {p:#x} from another virtual miniport sent on adapter {a}")
                });
                if let Some(r) = w.nbls.recs.get_mut(&p) {
                    r.loc = Loc::Below;
                }
                ok_nbls.push(p);
            }
            let ad = &mut w.adapters[a];
            ad.binding.sends_below += ok_nbls.len();
            ad.counters.driver_to_lower += ok_nbls.len() as u64;
            Some((a, ok_nbls))
        });
        if let Some(Some((a, nbls))) = r
            && !nbls.is_empty()
        {
            crate::lower::accept_sends(a, nbls);
        }
    });
}

/// # Safety
/// Called by the driver with the documented arguments.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe extern "system-unwind" fn NdisMSendNetBufferListsComplete(
    miniport_adapter_handle: NdisHandle,
    net_buffer_lists: *mut NetBufferList,
    send_complete_flags: u32,
) {
    guard(E::NdisMSendNetBufferListsComplete, (), || {
        world::try_with(|w| {
            enter(w, E::NdisMSendNetBufferListsComplete, DISPATCH_LEVEL);
            dispatch_flag(w, E::NdisMSendNetBufferListsComplete, send_complete_flags);
            let mh = miniport_adapter_handle as usize;
            let Some(a) = w.expect_live(
                "handle.miniport",
                "NdisMSendNetBufferListsComplete",
                mh,
                HandleKind::Miniport,
            ) else {
                return;
            };
            let phase = w.adapters[a].dev.phase;
            w.v.check(
                "send_complete.miniport_initialized",
                matches!(phase, DevPhase::Up | DevPhase::Halting),
                || format!("NdisMSendNetBufferListsComplete on a miniport that is {phase:?}"),
            );
            for p in walk(w, E::NdisMSendNetBufferListsComplete, net_buffer_lists) {
                let rec = w
                    .nbls
                    .recs
                    .get(&p)
                    .map(|r| (r.owner, r.loc, r.lower_status));
                let owned = matches!(rec, Some((Owner::Host(_), Loc::Driver, _)));
                if !w.v.check("send_complete.driver_owns_nbl", owned, || {
                    format!("NdisMSendNetBufferListsComplete: NBL {p:#x} is {rec:?} (not a host send the driver owns: double or foreign completion)")
                }) {
                    continue;
                }
                let Some((Owner::Host(x), _, lower)) = rec else {
                    continue;
                };
                w.v.check("send_complete.same_adapter", x == a, || {
                    format!(
                        "NBL sent to adapter {x} completed through adapter {a}'s miniport handle"
                    )
                });
                let src = nbl::source(p);
                let routed = w.live(src, HandleKind::HostBinding);
                w.v.check("send_complete.source_handle_restored", routed == Some(x), || {
                    format!("NBL {p:#x} completed with SourceHandle {src:#x}, not the host's binding handle: NDIS cannot route it")
                });
                let home = w.nbls.home_check(p);
                w.v.check("send_complete.nbl_as_sent", home.is_ok(), || {
                    format!(
                        "send NBL came back altered: {}",
                        home.clone().err().unwrap_or_default()
                    )
                });
                let st = nbl::status(p);
                let ad = &mut w.adapters[x];
                ad.counters.driver_to_host_completions += 1;
                ad.dev.sends_out = ad.dev.sends_out.saturating_sub(1);
                match lower {
                    Some(ls) => {
                        w.v.check("send_complete.status_propagated", st == ls, || {
                            format!("lower completed with {ls:#x}, host got {st:#x}")
                        });
                    }
                    None => {
                        w.adapters[x].counters.refused_sends += 1;
                        w.v.check("send_complete.refused_send_fails", st != NDIS_STATUS_SUCCESS, || {
                            "a send the driver never passed down completed with NDIS_STATUS_SUCCESS".into()
                        });
                    }
                }
                w.nbls.destroy(p);
            }
        });
        crate::sched::kick();
    });
}

/// # Safety
/// Called by the driver with the documented arguments.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe extern "system-unwind" fn NdisMIndicateReceiveNetBufferLists(
    miniport_adapter_handle: NdisHandle,
    net_buffer_lists: *mut NetBufferList,
    _port_number: NdisPortNumber,
    number_of_net_buffer_lists: u32,
    receive_flags: u32,
) {
    guard(E::NdisMIndicateReceiveNetBufferLists, (), || {
        let r = world::try_with(|w| {
            enter(w, E::NdisMIndicateReceiveNetBufferLists, DISPATCH_LEVEL);
            dispatch_flag(w, E::NdisMIndicateReceiveNetBufferLists, receive_flags);
            let mh = miniport_adapter_handle as usize;
            let a = w.expect_live(
                "handle.miniport",
                "NdisMIndicateReceiveNetBufferLists",
                mh,
                HandleKind::Miniport,
            )?;
            let (phase, run) = (w.adapters[a].dev.phase, w.adapters[a].dev.run);
            w.v.check(
                "receive.miniport_running",
                phase == DevPhase::Up && matches!(run, RunState::Running | RunState::Pausing),
                || {
                    format!(
                        "NdisMIndicateReceiveNetBufferLists on a miniport that is {phase:?}/{run:?}"
                    )
                },
            );
            let chain = walk(w, E::NdisMIndicateReceiveNetBufferLists, net_buffer_lists);
            let n = chain.len();
            w.v.check(
                "receive.count_matches_chain",
                n == number_of_net_buffer_lists as usize,
                || format!("NumberOfNetBufferLists {number_of_net_buffer_lists}, chain has {n}"),
            );
            let mut ok_nbls = Vec::new();
            for p in chain {
                let rec = w.nbls.recs.get(&p).map(|r| (r.owner, r.loc, r.seq));
                let owned = matches!(rec, Some((Owner::Lower(_), Loc::Driver, _)));
                if !w.v.check("receive.driver_owns_nbl", owned, || {
                    format!("NdisMIndicateReceiveNetBufferLists: NBL {p:#x} is {rec:?}, not a receive the driver owns")
                }) {
                    continue;
                }
                let Some((Owner::Lower(x), _, seq)) = rec else {
                    continue;
                };
                w.v.check("receive.same_adapter", x == a, || {
                    format!("receive from adapter {x} indicated on adapter {a}")
                });
                let src = nbl::source(p);
                w.v.check("receive.source_handle_is_miniport", src == mh, || {
                    format!("indicated NBL {p:#x} SourceHandle {src:#x} != MiniportAdapterHandle {mh:#x}")
                });
                let intact = w.nbls.recs.get(&p).map(|r| r.mem.payload_intact(seq));
                w.v.check(
                    "receive.payload_intact",
                    matches!(intact, Some(Ok(()))),
                    || format!("indicated NBL altered: {intact:?}"),
                );
                if let Some(r) = w.nbls.recs.get_mut(&p) {
                    r.indicated = true;
                }
                ok_nbls.push(p);
            }
            Some((a, ok_nbls))
        });
        if let Some(Some((a, nbls))) = r
            && !nbls.is_empty()
        {
            crate::host::on_receive(a, nbls, receive_flags & receive_flags::RESOURCES != 0);
        }
    });
}

/// # Safety
/// Called by the driver with the documented arguments.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe extern "system-unwind" fn NdisReturnNetBufferLists(
    binding_handle: NdisHandle,
    net_buffer_lists: *mut NetBufferList,
    return_flags: u32,
) {
    guard(E::NdisReturnNetBufferLists, (), || {
        world::try_with(|w| {
            enter(w, E::NdisReturnNetBufferLists, DISPATCH_LEVEL);
            dispatch_flag(w, E::NdisReturnNetBufferLists, return_flags);
            let bh = binding_handle as usize;
            let Some(a) = w.expect_live(
                "handle.binding",
                "NdisReturnNetBufferLists",
                bh,
                HandleKind::Binding,
            ) else {
                return;
            };
            for p in walk(w, E::NdisReturnNetBufferLists, net_buffer_lists) {
                let rec = w
                    .nbls
                    .recs
                    .get(&p)
                    .map(|r| (r.owner, r.loc, r.resources, r.indicated));
                let owned = matches!(rec, Some((Owner::Lower(_), Loc::Driver, _, _)));
                if !w.v.check("return_down.driver_owns_nbl", owned, || {
                    format!("NdisReturnNetBufferLists: NBL {p:#x} is {rec:?} (double return, still at the host, or foreign)")
                }) {
                    continue;
                }
                let Some((Owner::Lower(x), _, resources, indicated)) = rec else {
                    continue;
                };
                if !w.v.check("return_down.not_for_resources_indications", !resources, || {
                    "returned an NBL indicated with NDIS_RECEIVE_FLAGS_RESOURCES (ownership came back on return)".into()
                }) {
                    if let Some(r) = w.nbls.recs.get_mut(&p) {
                        r.returned_resources = true;
                    }
                    continue;
                }
                w.v.check("return_down.same_adapter", x == a, || {
                    format!("receive of adapter {x} returned on adapter {a}'s binding")
                });
                let home = w.nbls.home_check(p);
                w.v.check("return_down.nbl_as_indicated", home.is_ok(), || {
                    format!(
                        "receive NBL came back altered: {}",
                        home.clone().err().unwrap_or_default()
                    )
                });
                let ad = &mut w.adapters[x];
                ad.counters.returns_down += 1;
                if !indicated {
                    ad.counters.receives_dropped_by_driver += 1;
                }
                ad.binding.recv_in_driver = ad.binding.recv_in_driver.saturating_sub(1);
                w.nbls.destroy(p);
            }
        });
        crate::sched::kick();
    });
}

/// # Safety
/// Called by the driver with the documented arguments.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe extern "system-unwind" fn NdisCancelSendNetBufferLists(
    binding_handle: NdisHandle,
    cancel_id: *mut core::ffi::c_void,
) {
    guard(E::NdisCancelSendNetBufferLists, (), || {
        let r = world::try_with(|w| {
            enter(w, E::NdisCancelSendNetBufferLists, DISPATCH_LEVEL);
            let a = w.expect_live(
                "handle.binding",
                "NdisCancelSendNetBufferLists",
                binding_handle as usize,
                HandleKind::Binding,
            )?;
            let id = cancel_id as usize;
            let held = std::mem::take(&mut w.adapters[a].binding.held_sends);
            let (hit, keep): (Vec<usize>, Vec<usize>) =
                held.into_iter().partition(|p| nbl::cancel_id(*p) == id);
            w.adapters[a].binding.held_sends = keep;
            for p in &hit {
                if let Some(r) = w.nbls.recs.get_mut(p) {
                    r.lower_status = Some(NDIS_STATUS_REQUEST_ABORTED);
                }
            }
            Some(hit)
        });
        if let Some(Some(hit)) = r
            && !hit.is_empty()
        {
            crate::sched::enqueue(DISPATCH_LEVEL, "cancelled sends", move || {
                crate::lower::complete_sends(hit)
            });
        }
    });
}
