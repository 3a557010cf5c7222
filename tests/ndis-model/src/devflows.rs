//! Model-side virtual miniport life: start (MiniportInitializeEx + restart), pause, restart,
//! halt, disable, re-enable, surprise removal.

use std::ptr;

use chimney_im::ndis::*;

use crate::config::DeviceStart;
use crate::drv;
use crate::flows::{pnp_event, ustr, wait};
use crate::world::{self, DevPhase, HandleKind, RunState};

/// Runs a recorded device start for adapter `a`. None when no start is pending.
pub fn start_device(a: usize) -> Option<NdisStatus> {
    let prep = world::with(|w| {
        let (init, mp_ctx) = w.mp.as_ref().map(|m| (m.h.initialize, m.ctx))?;
        if w.adapters[a].dev.phase != DevPhase::StartPending {
            return None;
        }
        let handle = w.new_handle(HandleKind::Miniport, a);
        let if_index = if w.cfg.unspecified_if_index {
            0
        } else {
            11 + 2 * u32::try_from(a).unwrap_or(0)
        };
        let d = &mut w.adapters[a].dev;
        d.phase = DevPhase::Initializing;
        d.handle = handle;
        d.ctx = 0;
        d.reg_attrs = false;
        d.gen_attrs = false;
        d.if_index = if_index;
        d.starts += 1;
        let start_ctx = d.start_ctx;
        w.counters.device_starts += 1;
        Some((init, mp_ctx, handle, start_ctx, if_index))
    })?;
    let (init, mp_ctx, handle, start_ctx, if_index) = prep;
    let mut params = Box::new(MiniportInitParameters {
        header: NdisObjectHeader::new(
            object_type::MINIPORT_INIT_PARAMETERS,
            1,
            size_of::<MiniportInitParameters>(),
        ),
        flags: 0,
        allocated_resources: ptr::null_mut(),
        im_device_instance_context: drv::h(start_ctx),
        miniport_add_device_context: ptr::null_mut(),
        if_index,
        net_luid: 0x0083_0000_0000_0000 | u64::from(if_index),
        default_port_auth_states: ptr::null_mut(),
        pci_device_custom_properties: ptr::null_mut(),
    });
    let pp: *mut MiniportInitParameters = &raw mut *params;
    // SAFETY: the driver's registered MiniportInitializeEx; the parameters live for the call.
    let st = drv::call("MiniportInitializeEx", PASSIVE_LEVEL, || unsafe {
        init(drv::h(handle), drv::h(mp_ctx), pp)
    });
    let up = world::with(|w| {
        w.graveyard.keep.push(Box::new(params));
        let d = &w.adapters[a].dev;
        let (reg, gen_, ctx) = (d.reg_attrs, d.gen_attrs, d.ctx);
        if st == NDIS_STATUS_SUCCESS {
            let ok = w.v.check("init.attributes_set_before_success", reg && gen_, || {
                format!("MiniportInitializeEx succeeded with registration attributes {reg}, general attributes {gen_}")
            });
            if ok {
                let host = w.new_handle(HandleKind::HostBinding, a);
                let d = &mut w.adapters[a].dev;
                d.phase = DevPhase::Up;
                d.run = RunState::Paused;
                d.host_handle = host;
                let _ = ctx;
                return true;
            }
        }
        w.kill_handle(handle);
        w.adapters[a].dev.phase = DevPhase::Absent;
        false
    });
    if up {
        restart_miniport(a);
    }
    Some(st)
}

/// MiniportRestart (waits for NdisMRestartComplete when pended).
pub fn restart_miniport(a: usize) -> NdisStatus {
    let prep = world::with(|w| {
        let restart = w.mp.as_ref()?.h.restart;
        let d = &mut w.adapters[a].dev;
        if d.phase != DevPhase::Up || d.run != RunState::Paused {
            return None;
        }
        d.run = RunState::Restarting;
        d.restart_complete = None;
        w.counters.restarts += 1;
        Some((restart, w.adapters[a].dev.ctx))
    });
    let Some((restart, ctx)) = prep else {
        return NDIS_STATUS_SUCCESS;
    };
    let mut params = Box::new(MiniportRestartParameters {
        header: NdisObjectHeader::new(
            object_type::DEFAULT,
            1,
            size_of::<MiniportRestartParameters>(),
        ),
        restart_attributes: ptr::null_mut(),
        flags: 0,
    });
    let pp: *mut MiniportRestartParameters = &raw mut *params;
    // SAFETY: the driver's registered MiniportRestart with its adapter context.
    let mut st = drv::call("MiniportRestart", PASSIVE_LEVEL, || unsafe {
        restart(drv::h(ctx), pp)
    });
    if st == NDIS_STATUS_PENDING {
        let ok = wait(
            "restart.pending_completed",
            "NdisMRestartComplete after PENDING MiniportRestart",
            || world::with(|w| w.adapters[a].dev.restart_complete.is_some()),
        );
        st = world::with(|w| {
            w.adapters[a]
                .dev
                .restart_complete
                .filter(|_| ok)
                .unwrap_or(NDIS_STATUS_FAILURE)
        });
    }
    world::with(|w| {
        w.graveyard.keep.push(Box::new(params));
        w.adapters[a].dev.run = if st == NDIS_STATUS_SUCCESS {
            RunState::Running
        } else {
            RunState::Paused
        };
    });
    st
}

/// Checks the miniport pause drain rule; called when a pause completes.
pub fn pause_drained(w: &mut world::World, a: usize) {
    let d = &w.adapters[a].dev;
    let (s, r) = (d.sends_out, d.recv_at_host);
    w.v.check("pause.miniport_sends_drained", s == 0, || {
        format!("MiniportPause completed with {s} host send(s) still owned by the driver or below")
    });
    w.v.check("pause.miniport_receives_returned", r == 0, || {
        format!(
            "MiniportPause completed with {r} receive indication(s) still outstanding at the host"
        )
    });
    let c = w.chimney.io_out(a);
    w.v.check("pause.chimney_io_drained", c == 0, || {
        format!("MiniportPause completed with {c} chimney NBL(s) of the host still in the driver or below")
    });
    w.adapters[a].dev.run = RunState::Paused;
}

/// MiniportPause (waits for NdisMPauseComplete when pended). The host uploads its chimney
/// state first when its policy says so (tcpip does when its binding is paused).
pub fn pause_miniport(a: usize) -> NdisStatus {
    pause_miniport_with(a, true)
}

/// MiniportPause, returning at once when it pends: the pause stays pending (the miniport
/// Pausing) until the driver's NdisMPauseComplete, whatever the test does meanwhile.
pub fn pause_miniport_no_wait(a: usize) -> NdisStatus {
    pause_miniport_with(a, false)
}

fn pause_miniport_with(a: usize, wait_pending: bool) -> NdisStatus {
    let upload = world::with(|w| {
        let d = &w.adapters[a].dev;
        d.phase == DevPhase::Up
            && d.run == RunState::Running
            && w.adapters[a].cfg.policy.chimney.upload_before_pause
    });
    if upload {
        crate::chimney::host::upload_all(a);
    }
    let prep = world::with(|w| {
        let pause = w.mp.as_ref()?.h.pause;
        let d = &mut w.adapters[a].dev;
        if d.phase != DevPhase::Up || d.run != RunState::Running {
            return None;
        }
        d.run = RunState::Pausing;
        d.pause_complete = false;
        w.counters.pauses += 1;
        Some((pause, w.adapters[a].dev.ctx))
    });
    let Some((pause, ctx)) = prep else {
        return NDIS_STATUS_SUCCESS;
    };
    let mut params = Box::new(MiniportPauseParameters {
        header: NdisObjectHeader::new(
            object_type::DEFAULT,
            1,
            size_of::<MiniportPauseParameters>(),
        ),
        flags: 0,
        pause_reason: 0x2,
    });
    let pp: *mut MiniportPauseParameters = &raw mut *params;
    // SAFETY: the driver's registered MiniportPause with its adapter context.
    let st = drv::call("MiniportPause", PASSIVE_LEVEL, || unsafe {
        pause(drv::h(ctx), pp)
    });
    if st == NDIS_STATUS_PENDING && wait_pending {
        wait(
            "pause.pending_completed",
            "NdisMPauseComplete after PENDING MiniportPause",
            || world::with(|w| w.adapters[a].dev.pause_complete),
        );
    }
    world::with(|w| {
        w.graveyard.keep.push(Box::new(params));
        let done_early = w.adapters[a].dev.pause_complete;
        if st == NDIS_STATUS_SUCCESS {
            w.v.check("pause.complete_only_after_pending", !done_early, || {
                "MiniportPause called NdisMPauseComplete and then returned SUCCESS".into()
            });
            pause_drained(w, a);
        } else if st != NDIS_STATUS_PENDING {
            w.v.fail("pause.returns_success_or_pending", || {
                format!("MiniportPause returned {st:#x}")
            });
            w.adapters[a].dev.run = RunState::Paused;
        } else if !done_early && wait_pending {
            w.adapters[a].dev.run = RunState::Paused;
        }
    });
    st
}

/// Pauses (if running) and halts the virtual miniport of adapter `a` with `action`.
pub fn halt_device(a: usize, action: u32) {
    if world::with(|w| w.adapters[a].dev.phase != DevPhase::Up) {
        return;
    }
    pause_miniport(a);
    // The host uploads every offloaded connection before its binding goes away.
    crate::chimney::host::upload_all(a);
    crate::chimney::host_io::return_all(a);
    halt_paused_device(a, action);
}

/// Halts the paused virtual miniport of adapter `a` without waiting for the host's chimney
/// calls (which `halt_device` lets finish first): PnP racing a call the host has in flight.
pub fn halt_paused_device(a: usize, action: u32) {
    halt_with(a, action, true);
}

/// A misbehaving NDIS: MiniportHaltEx on virtual miniport `a` whatever its data path is doing
/// (not paused first). The host's binding stays open through the halt (NDIS would wait for its
/// sends before closing it) and closes after.
pub fn halt_unpaused_device(a: usize, action: u32) {
    halt_with(a, action, false);
    world::with(|w| {
        let host = w.adapters[a].dev.host_handle;
        w.kill_handle(host);
    });
}

fn halt_with(a: usize, action: u32, host_closed_first: bool) {
    // The host closes its binding first; that waits for its OID request.
    wait(
        "halt.host_oid_finished_first",
        "the host's OID request to complete before halt",
        || {
            world::with(|w| {
                w.adapters[a]
                    .dev
                    .host_oid
                    .as_ref()
                    .is_none_or(|o| o.completed.is_some() || o.sync_status.is_some())
            })
        },
    );
    let prep = world::with(|w| {
        let halt = w.mp.as_ref()?.h.halt;
        let d = &mut w.adapters[a].dev;
        if d.phase != DevPhase::Up {
            return None;
        }
        d.phase = DevPhase::Halting;
        let host = d.host_handle;
        if host_closed_first {
            w.kill_handle(host);
        }
        w.counters.halts += 1;
        Some((halt, w.adapters[a].dev.ctx))
    });
    let Some((halt, ctx)) = prep else { return };
    // SAFETY: the driver's registered MiniportHaltEx with its adapter context.
    drv::call("MiniportHaltEx", PASSIVE_LEVEL, || unsafe {
        halt(drv::h(ctx), action)
    });
    world::with(|w| {
        let clones: Vec<usize> = w.clones.keys().copied().collect();
        let ad = &w.adapters[a];
        let (s, r) = (ad.dev.sends_out, ad.dev.recv_at_host);
        let oids = ad
            .binding
            .oids_below
            .iter()
            .filter(|o| clones.contains(&o.req))
            .count();
        let handle = ad.dev.handle;
        w.v.check("halt.sends_drained", s == 0, || {
            format!("MiniportHaltEx returned owning {s} host send(s)")
        });
        w.v.check("halt.receives_returned", r == 0, || {
            format!("MiniportHaltEx returned with {r} receive(s) outstanding at the host")
        });
        w.v.check("halt.forwarded_oids_drained", oids == 0, || {
            format!("MiniportHaltEx returned with {oids} forwarded OID request(s) still below")
        });
        let if_index = w.adapters[a].dev.if_index;
        let stacked = w.if_stack.iter().any(|&(higher, _)| higher == if_index);
        w.v.check("halt.if_stack_entry_deleted", !stacked, || {
            format!("MiniportHaltEx returned with the interface stack entry of IfIndex {if_index} still registered")
        });
        let (live, io) = (w.chimney.live_objs(a), w.chimney.io_out(a));
        w.v.check("halt.chimney_drained", live == 0 && io == 0, || {
            format!("MiniportHaltEx returned with {live} offloaded state object(s) and {io} chimney NBL(s) outstanding")
        });
        w.kill_handle(handle);
        let d = &mut w.adapters[a].dev;
        d.phase = DevPhase::Halted;
        d.halts.push(action);
    });
}

/// Re-enables a halted virtual miniport: NetEventIMReEnableDevice with the device name, on the
/// binding (`global` false) or as a global event with a NULL binding context (`global` true),
/// where the driver must find the binding by the name alone.
pub fn reenable_device(a: usize, global: bool) -> NdisStatus {
    reenable_device_len(a, global, None)
}

/// [`reenable_device`] with the event's BufferLength `len` (None: the NDIS_STRING's size).
pub fn reenable_device_len(a: usize, global: bool, len: Option<u32>) -> NdisStatus {
    reenable_device_spelled(a, global, len, false)
}

/// [`reenable_device_len`], the event spelling the device name in upper case when `upper`
/// (device names compare case-insensitively: NDIS's spelling need not be the registry's).
pub fn reenable_device_spelled(
    a: usize,
    global: bool,
    len: Option<u32>,
    upper: bool,
) -> NdisStatus {
    let name = world::with(|w| {
        (w.adapters[a].dev.phase == DevPhase::Halted).then(|| w.adapters[a].dev.name.clone())
    });
    let Some(mut name) = name else {
        return NDIS_STATUS_FAILURE;
    };
    if upper {
        name = name.to_ascii_uppercase();
    }
    let (us, buf) = ustr(&name);
    let usp: *mut UnicodeString = us.ptr();
    let len = len.unwrap_or_else(|| u32::try_from(size_of::<UnicodeString>()).unwrap_or(16));
    let target = if global { None } else { Some(a) };
    let st = pnp_event(target, net_event::IM_RE_ENABLE_DEVICE, usp.cast(), len);
    let start = world::with(|w| {
        w.graveyard.keep.push(Box::new((us, buf)));
        w.adapters[a].dev.phase == DevPhase::StartPending
            && w.adapters[a].cfg.policy.device_start == DeviceStart::AfterBind
    });
    if start {
        start_device(a);
    }
    st
}

/// Surprise removal of the virtual miniport: DevicePnPEventNotify, then pause and halt.
pub fn surprise_remove(a: usize) {
    let prep = world::with(|w| {
        let h = w.mp.as_ref()?.h.device_pnp;
        (w.adapters[a].dev.phase == DevPhase::Up).then_some((h, w.adapters[a].dev.ctx))
    });
    let Some((h, ctx)) = prep else { return };
    let mut ev = Box::new(NetDevicePnpEvent {
        header: NdisObjectHeader::new(object_type::DEFAULT, 1, size_of::<NetDevicePnpEvent>()),
        port_number: 0,
        device_pnp_event: device_pnp_event::SURPRISE_REMOVED,
        information_buffer: ptr::null_mut(),
        information_buffer_length: 0,
        ndis_reserved: [0; 16],
    });
    let ep: *mut NetDevicePnpEvent = &raw mut *ev;
    // SAFETY: the driver's registered MiniportDevicePnPEventNotify with its adapter context.
    drv::call("MiniportDevicePnPEventNotify", PASSIVE_LEVEL, || unsafe {
        h(drv::h(ctx), ep)
    });
    world::with(|w| w.graveyard.keep.push(Box::new(ev)));
    halt_device(a, halt_action::DEVICE_SURPRISE_REMOVED);
}
