//! Model-side binding life: bind, unbind, binding pause/restart, protocol PnP events.

use std::ptr;

use chimney_im::ndis::*;

use crate::config::DeviceStart;
use crate::drv;
use crate::rawbox::RawBox;
use crate::world::{self, BindingSt, DevPhase, HandleKind, OpenState, RunState};

pub fn new_binding() -> BindingSt {
    BindingSt {
        open: OpenState::None,
        run: RunState::Paused,
        handle: 0,
        ctx: 0,
        bind_ctx: 0,
        unbind_ctx: 0,
        in_bind: false,
        in_unbind: false,
        bind_result: None,
        unbind_done: false,
        sends_below: 0,
        held_sends: Vec::new(),
        oids_below: Vec::new(),
        recv_in_driver: 0,
        packet_filter: 0,
        multicast: Vec::new(),
    }
}

/// The interface index of lower adapter `a` (NDIS_BIND_PARAMETERS.BoundIfIndex).
pub fn bound_if_index(a: usize) -> u32 {
    10 + 2 * u32::try_from(a).unwrap_or(0)
}

/// Waits (running queued work, releasing held work) until `cond`; records `check` on timeout.
pub fn wait(check: &'static str, what: &str, cond: impl Fn() -> bool) -> bool {
    let timeout = world::with(|w| w.cfg.deadlock_timeout);
    let ok = crate::sched::wait_for(&cond, &crate::lower::release_all_held, timeout, None);
    if !ok {
        world::with(|w| w.v.fail(check, || format!("wait never satisfied: {what}")));
    }
    ok
}

/// A UNICODE_STRING over a heap UTF-16 copy of `s` (the buffer must outlive the string's use).
/// Both halves are [`RawBox`]es: the pair is moved after the pointers are taken.
pub fn ustr(s: &str) -> (RawBox<UnicodeString>, RawBox<[u16]>) {
    let buf = RawBox::from_box(s.encode_utf16().collect::<Vec<_>>().into_boxed_slice());
    let len = u16::try_from(buf.len() * 2).unwrap_or(u16::MAX);
    let us = RawBox::new(UnicodeString {
        length: len,
        maximum_length: len,
        buffer: buf.ptr().cast::<u16>(),
    });
    (us, buf)
}

struct BindArgs {
    params: Box<NdisBindParameters>,
    strings: Vec<(RawBox<UnicodeString>, RawBox<[u16]>)>,
    pm: RawBox<NdisPnpCapabilities>,
}

fn build_bind_params(w: &mut world::World, a: usize) -> BindArgs {
    let rev = w.cfg.bind_params_revision;
    let ad = &w.adapters[a];
    let c = &ad.cfg;
    let strings = vec![
        ustr(&format!(
            "Parameters\\Adapters\\{}",
            c.name.trim_start_matches("\\DEVICE\\")
        )),
        ustr(&c.name),
        ustr(&c.name),
    ];
    let pm = RawBox::new(NdisPnpCapabilities {
        flags: c.pm.flags,
        min_magic_packet_wake_up: c.pm.min_magic_packet_wake_up,
        min_pattern_wake_up: c.pm.min_pattern_wake_up,
        min_link_change_wake_up: c.pm.min_link_change_wake_up,
    });
    let mut mac = [0u8; 32];
    mac[..6].copy_from_slice(&c.mac);
    let if_index = bound_if_index(a);
    let size = if rev >= 2 {
        0x100
    } else {
        NDIS_SIZEOF_BIND_PARAMETERS_REVISION_1
    };
    let params = Box::new(NdisBindParameters {
        header: NdisObjectHeader::new(object_type::BIND_PARAMETERS, rev.max(1), size),
        protocol_section: strings[0].0.ptr(),
        adapter_name: strings[1].0.ptr(),
        physical_device_object: ptr::null_mut(),
        media_type: NDIS_MEDIUM_802_3,
        mtu_size: c.mtu,
        max_xmit_link_speed: c.link_speed,
        xmit_link_speed: c.link_speed,
        max_rcv_link_speed: c.link_speed,
        rcv_link_speed: c.link_speed,
        media_connect_state: 1,
        media_duplex_state: 2,
        lookahead_size: c.mtu,
        power_management_capabilities: pm.ptr(),
        supported_packet_filters: 0x2F,
        max_multicast_list_size: 32,
        mac_address_length: 6,
        current_mac_address: mac,
        physical_medium_type: 14,
        rcv_scale_capabilities: ptr::null_mut(),
        bound_if_net_luid: 0x0006_0000_0000_0000 | u64::from(if_index),
        bound_if_index: if_index,
        lowest_if_net_luid: 0x0006_0000_0000_0000 | u64::from(if_index),
        lowest_if_index: if_index,
        access_type: 1,
        direction_type: 0,
        connection_type: 1,
        if_type: 6,
        if_connector_present: 1,
        active_ports: ptr::null_mut(),
        data_back_fill_size: 0,
        context_back_fill_size: 0,
        mac_options: 0x8 | 0x1,
        compartment_id: 1,
        default_offload_configuration: ptr::null_mut(),
        tcp_connection_offload_capabilities: ptr::null_mut(),
        bound_adapter_name: strings[2].0.ptr(),
        hd_split_current_config: ptr::null_mut(),
    });
    BindArgs {
        params,
        strings,
        pm,
    }
}

/// Overwrites NDIS-owned call arguments after the call: the driver must not keep pointers.
fn poison<T>(b: &mut T) {
    // SAFETY: `b` is a model-owned, exclusively borrowed plain-data object (integers and raw
    // pointers only), so any byte pattern is a valid value.
    unsafe { ptr::write_bytes(ptr::from_mut(b).cast::<u8>(), 0xDD, size_of::<T>()) };
}

fn poison_slice(b: &mut [u16]) {
    b.fill(0xDDDD);
}

/// Binds the driver to adapter `a` (ProtocolBindAdapterEx), then restarts the binding and starts
/// the virtual miniport as NDIS would.
pub fn bind(a: usize) -> NdisStatus {
    let prep = world::with(|w| {
        let pt = w.pt.as_ref().map(|p| (p.h.bind, p.ctx))?;
        let b = &w.adapters[a].binding;
        if !matches!(b.open, OpenState::None | OpenState::Closed) || b.in_bind {
            return None;
        }
        let bind_ctx = w.new_handle(HandleKind::BindContext, a);
        let mut nb = new_binding();
        nb.bind_ctx = bind_ctx;
        nb.in_bind = true;
        w.adapters[a].binding = nb;
        w.counters.binds += 1;
        Some((pt, bind_ctx, build_bind_params(w, a)))
    });
    let Some(((bind_h, pt_ctx), bind_ctx, mut args)) = prep else {
        return NDIS_STATUS_FAILURE;
    };
    let pp: *mut NdisBindParameters = &raw mut *args.params;
    // SAFETY: the driver's registered ProtocolBindAdapterEx; the parameters live for the call.
    let mut st = drv::call("ProtocolBindAdapterEx", PASSIVE_LEVEL, || unsafe {
        bind_h(drv::h(pt_ctx), drv::h(bind_ctx), pp)
    });
    poison(&mut *args.params);
    poison(&mut *args.pm);
    for (us, buf) in &mut args.strings {
        poison(&mut **us);
        poison_slice(buf);
    }
    world::with(|w| w.graveyard.keep.push(Box::new(args)));
    if st == NDIS_STATUS_PENDING {
        let done = wait(
            "bind.pending_bind_completed",
            "NdisCompleteBindAdapterEx after PENDING bind",
            || world::with(|w| w.adapters[a].binding.bind_result.is_some()),
        );
        st = if done {
            world::with(|w| {
                w.adapters[a]
                    .binding
                    .bind_result
                    .unwrap_or(NDIS_STATUS_FAILURE)
            })
        } else {
            NDIS_STATUS_FAILURE
        };
    }
    let start_now = world::with(|w| {
        w.kill_handle(bind_ctx);
        let ad = &mut w.adapters[a];
        ad.binding.in_bind = false;
        let open = ad.binding.open;
        let policy = ad.cfg.policy.device_start;
        if st == NDIS_STATUS_SUCCESS {
            let ok =
                w.v.check("bind.success_means_open", open == OpenState::Open, || {
                    format!("ProtocolBindAdapterEx succeeded but the binding is {open:?}")
                });
            if !ok {
                return None;
            }
            w.adapters[a].binding.run = RunState::Paused;
            Some(policy == DeviceStart::AfterBind)
        } else {
            w.v.check(
                "bind.failure_leaves_no_binding",
                matches!(open, OpenState::None | OpenState::Closed),
                || format!("ProtocolBindAdapterEx failed ({st:#x}) but left the binding {open:?}"),
            );
            let pending = w.adapters[a].dev.phase == DevPhase::StartPending;
            w.v.check("bind.failure_cancels_device_init", !pending, || {
                "ProtocolBindAdapterEx failed but left NdisIMInitializeDeviceInstanceEx pending (cancel it)".into()
            });
            if pending {
                w.adapters[a].dev.phase = DevPhase::Absent;
            }
            None
        }
    });
    if let Some(start) = start_now {
        restart_binding(a);
        if start {
            crate::devflows::start_device(a);
        }
    }
    st
}

/// Pauses (if running) and unbinds adapter `a` (ProtocolUnbindAdapterEx).
pub fn unbind(a: usize) -> NdisStatus {
    let ok = world::with(|w| {
        w.adapters[a].binding.open == OpenState::Open && !w.adapters[a].binding.in_unbind
    });
    if !ok {
        return NDIS_STATUS_FAILURE;
    }
    pause_binding(a);
    let prep = world::with(|w| {
        let unbind_h = w.pt.as_ref()?.h.unbind;
        let uctx = w.new_handle(HandleKind::UnbindContext, a);
        let b = &mut w.adapters[a].binding;
        b.unbind_ctx = uctx;
        b.in_unbind = true;
        b.unbind_done = false;
        w.counters.unbinds += 1;
        Some((unbind_h, uctx, b.ctx))
    });
    let Some((unbind_h, uctx, ctx)) = prep else {
        return NDIS_STATUS_FAILURE;
    };
    // SAFETY: the driver's registered ProtocolUnbindAdapterEx with its own binding context.
    let mut st = drv::call("ProtocolUnbindAdapterEx", PASSIVE_LEVEL, || unsafe {
        unbind_h(drv::h(uctx), drv::h(ctx))
    });
    if st == NDIS_STATUS_PENDING {
        let done = wait(
            "unbind.pending_unbind_completed",
            "NdisCompleteUnbindAdapterEx after PENDING unbind",
            || world::with(|w| w.adapters[a].binding.unbind_done),
        );
        st = if done {
            NDIS_STATUS_SUCCESS
        } else {
            NDIS_STATUS_FAILURE
        };
    } else {
        world::with(|w| {
            w.v.check(
                "unbind.returns_success_or_pending",
                st == NDIS_STATUS_SUCCESS,
                || format!("ProtocolUnbindAdapterEx returned {st:#x}; unbind cannot fail"),
            );
        });
    }
    // A halt running on another thread can still be returning from MiniportHaltEx after its last
    // access to the driver's state (which is when the driver may let unbind finish): let it
    // return, then require the miniport to be gone. A miniport still up is never accepted.
    if world::with(|w| w.adapters[a].dev.phase == DevPhase::Halting) {
        wait(
            "unbind.virtual_miniport_stopped",
            "the halt running on another thread to return",
            || world::with(|w| w.adapters[a].dev.phase != DevPhase::Halting),
        );
    }
    world::with(|w| {
        w.kill_handle(uctx);
        let ad = &mut w.adapters[a];
        ad.binding.in_unbind = false;
        let open = ad.binding.open;
        let dev = ad.dev.phase;
        w.v.check("unbind.binding_closed", open == OpenState::Closed, || {
            format!("unbind completed but the binding is {open:?} (close must complete first)")
        });
        w.v.check(
            "unbind.virtual_miniport_stopped",
            matches!(dev, DevPhase::Absent | DevPhase::Halted),
            || format!("unbind completed but the virtual miniport is {dev:?}"),
        );
        if dev == DevPhase::StartPending {
            w.adapters[a].dev.phase = DevPhase::Absent;
        }
    });
    st
}

/// Delivers a protocol PnP event to adapter `a`'s binding (or with a NULL context), waiting for
/// NdisCompleteNetPnPEvent when the driver pends it.
pub fn pnp_event(
    a: Option<usize>,
    code: u32,
    buffer: *mut core::ffi::c_void,
    len: u32,
) -> NdisStatus {
    let prep = world::with(|w| {
        let pnp = w.pt.as_ref()?.h.pnp;
        let ctx = match a {
            Some(a) => {
                let b = &w.adapters[a].binding;
                if b.open != OpenState::Open {
                    return None;
                }
                b.ctx
            }
            None => 0,
        };
        Some((pnp, ctx))
    });
    let Some((pnp, ctx)) = prep else {
        return NDIS_STATUS_FAILURE;
    };
    let mut n = Box::new(NetPnpEventNotification {
        header: NdisObjectHeader::new(
            object_type::DEFAULT,
            NET_PNP_EVENT_NOTIFICATION_REVISION_1,
            NDIS_SIZEOF_NET_PNP_EVENT_NOTIFICATION_REVISION_1,
        ),
        port_number: 0,
        net_pnp_event: NetPnpEvent {
            net_event: code,
            buffer,
            buffer_length: len,
            ndis_reserved: [0; 4],
            transport_reserved: [0; 4],
            tdi_reserved: [0; 4],
            tdi_client_reserved: [0; 4],
        },
        flags: 0,
    });
    let np: *mut NetPnpEventNotification = &raw mut *n;
    world::with(|w| w.pnp = Some((np as usize, None)));
    // SAFETY: the driver's registered ProtocolNetPnPEvent; the notification lives for the call
    // (and until completion when pended).
    let mut st = drv::call("ProtocolNetPnPEvent", PASSIVE_LEVEL, || unsafe {
        pnp(drv::h(ctx), np)
    });
    if st == NDIS_STATUS_PENDING {
        let done = wait(
            "pnp.pending_event_completed",
            "NdisCompleteNetPnPEvent after PENDING",
            || world::with(|w| w.pnp.is_some_and(|p| p.1.is_some())),
        );
        st = if done {
            world::with(|w| w.pnp.and_then(|p| p.1).unwrap_or(NDIS_STATUS_FAILURE))
        } else {
            NDIS_STATUS_FAILURE
        };
    }
    world::with(|w| {
        w.pnp = None;
        poison(&mut *n);
        w.graveyard.keep.push(Box::new(n));
    });
    st
}

/// NetEventPause: afterwards no send may be outstanding below.
pub fn pause_binding(a: usize) -> NdisStatus {
    let go = world::with(|w| {
        let b = &mut w.adapters[a].binding;
        let go = b.open == OpenState::Open && b.run == RunState::Running;
        if go {
            b.run = RunState::Pausing;
        }
        go
    });
    if !go {
        return NDIS_STATUS_SUCCESS;
    }
    let st = pnp_event(Some(a), net_event::PAUSE, ptr::null_mut(), 0);
    world::with(|w| {
        w.v.check("pnp.pause_succeeds", st == NDIS_STATUS_SUCCESS, || {
            format!("NetEventPause returned {st:#x}")
        });
        let n = w.adapters[a].binding.sends_below;
        w.v.check("pause.binding_sends_drained", n == 0, || {
            format!("NetEventPause completed with {n} send(s) still outstanding below")
        });
        w.adapters[a].binding.run = RunState::Paused;
    });
    st
}

/// NetEventRestart (Buffer NULL).
pub fn restart_binding(a: usize) -> NdisStatus {
    let go = world::with(|w| {
        let b = &mut w.adapters[a].binding;
        let go = b.open == OpenState::Open && b.run == RunState::Paused;
        if go {
            b.run = RunState::Restarting;
        }
        go
    });
    if !go {
        return NDIS_STATUS_SUCCESS;
    }
    let st = pnp_event(Some(a), net_event::RESTART, ptr::null_mut(), 0);
    world::with(|w| {
        w.adapters[a].binding.run = if st == NDIS_STATUS_SUCCESS {
            RunState::Running
        } else {
            RunState::Paused
        };
    });
    st
}
