//! Virtual miniport exports: IM device instances, attributes, pause/restart completion.

#![allow(non_snake_case, reason = "exports keep their ndis.sys names")]

use std::sync::atomic::{AtomicU64, Ordering};

use chimney_im::ndis::*;

use super::{enter, guard, read_ustr};
use crate::config::DeviceStart;
use crate::verifier::Export as E;
use crate::world::{self, DevPhase, HandleKind, RunState};

/// # Safety
/// Called by the driver with the documented arguments.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe extern "system-unwind" fn NdisIMInitializeDeviceInstanceEx(
    driver_handle: NdisHandle,
    driver_instance: *mut NdisString,
    device_context: NdisHandle,
) -> NdisStatus {
    guard(
        E::NdisIMInitializeDeviceInstanceEx,
        NDIS_STATUS_FAILURE,
        || {
            let r = world::try_with(|w| {
                enter(w, E::NdisIMInitializeDeviceInstanceEx, PASSIVE_LEVEL);
                w.expect_live(
                    "handle.miniport_driver",
                    "NdisIMInitializeDeviceInstanceEx",
                    driver_handle as usize,
                    HandleKind::MiniportDriver,
                )
                .ok_or(NDIS_STATUS_FAILURE)?;
                let name = read_ustr(driver_instance).unwrap_or_default();
                let a = w.adapter_by_device_name(&name);
                let Some(a) = a else {
                    w.v.fail("device.instance_name_from_upper_bindings", || {
                    format!("NdisIMInitializeDeviceInstanceEx({name:?}): no UpperBindings entry has this name")
                });
                    return Err(NDIS_STATUS_FAILURE);
                };
                let phase = w.adapters[a].dev.phase;
                if !w.v.check("device.init_instance_when_absent", matches!(phase, DevPhase::Absent | DevPhase::Halted), || {
                format!("NdisIMInitializeDeviceInstanceEx({name:?}) while the instance is {phase:?}")
            }) {
                return Err(NDIS_STATUS_FAILURE);
            }
                if w.inject.should_fail(E::NdisIMInitializeDeviceInstanceEx) {
                    return Err(NDIS_STATUS_RESOURCES);
                }
                let d = &mut w.adapters[a].dev;
                d.phase = DevPhase::StartPending;
                d.start_ctx = device_context as usize;
                d.name = name;
                Ok((a, w.adapters[a].cfg.policy.device_start))
            });
            match r {
                None => NDIS_STATUS_FAILURE,
                Some(Err(st)) => st,
                Some(Ok((a, policy))) => {
                    if policy == DeviceStart::OnOtherThread {
                        crate::sched::enqueue(PASSIVE_LEVEL, "device start", move || {
                            crate::devflows::start_device(a);
                        });
                    }
                    NDIS_STATUS_SUCCESS
                }
            }
        },
    )
}

/// # Safety
/// Called by the driver with the documented arguments.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe extern "system-unwind" fn NdisIMCancelInitializeDeviceInstance(
    driver_handle: NdisHandle,
    device_instance: *mut NdisString,
) -> NdisStatus {
    guard(
        E::NdisIMCancelInitializeDeviceInstance,
        NDIS_STATUS_FAILURE,
        || {
            world::try_with(|w| {
                enter(w, E::NdisIMCancelInitializeDeviceInstance, PASSIVE_LEVEL);
                if w.expect_live(
                    "handle.miniport_driver",
                    "NdisIMCancelInitializeDeviceInstance",
                    driver_handle as usize,
                    HandleKind::MiniportDriver,
                )
                .is_none()
                {
                    return NDIS_STATUS_FAILURE;
                }
                let name = read_ustr(device_instance).unwrap_or_default();
                let Some(a) = w.adapter_by_device_name(&name) else {
                    w.v.fail("device.instance_name_from_upper_bindings", || {
                        format!("NdisIMCancelInitializeDeviceInstance({name:?}): unknown device")
                    });
                    return NDIS_STATUS_FAILURE;
                };
                // Only counts the call (`Model::calls`): failing a cancel without a start under
                // way would leave the driver waiting for one, so none is injected here.
                let _ = w
                    .inject
                    .should_fail(E::NdisIMCancelInitializeDeviceInstance);
                if w.adapters[a].dev.phase != DevPhase::StartPending {
                    return NDIS_STATUS_FAILURE;
                }
                if w.adapters[a].cfg.policy.cancel_races_start {
                    // Too late to cancel: PnP is already starting the device.
                    crate::sched::enqueue(
                        PASSIVE_LEVEL,
                        "device start racing a cancel",
                        move || {
                            crate::devflows::start_device(a);
                        },
                    );
                    return NDIS_STATUS_FAILURE;
                }
                w.adapters[a].dev.phase = DevPhase::Absent;
                NDIS_STATUS_SUCCESS
            })
            .unwrap_or(NDIS_STATUS_FAILURE)
        },
    )
}

/// # Safety
/// Called by the driver with the documented arguments.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe extern "system-unwind" fn NdisIMDeInitializeDeviceInstance(
    miniport_handle: NdisHandle,
) -> NdisStatus {
    guard(
        E::NdisIMDeInitializeDeviceInstance,
        NDIS_STATUS_FAILURE,
        || {
            let r = world::try_with(|w| {
                enter(w, E::NdisIMDeInitializeDeviceInstance, PASSIVE_LEVEL);
                let a = w.expect_live(
                    "handle.miniport",
                    "NdisIMDeInitializeDeviceInstance",
                    miniport_handle as usize,
                    HandleKind::Miniport,
                )?;
                let phase = w.adapters[a].dev.phase;
                if !w.v.check(
                    "device.deinit_when_initialized",
                    phase == DevPhase::Up,
                    || format!("NdisIMDeInitializeDeviceInstance while the miniport is {phase:?}"),
                ) {
                    return None;
                }
                Some((a, w.adapters[a].cfg.policy.deinit_async))
            });
            match r.flatten() {
                None => NDIS_STATUS_FAILURE,
                Some((a, true)) => {
                    crate::sched::enqueue(PASSIVE_LEVEL, "deinit device", move || {
                        crate::devflows::halt_device(a, halt_action::DEVICE_INSTANCE_DEINITIALIZED);
                    });
                    NDIS_STATUS_SUCCESS
                }
                Some((a, false)) => {
                    crate::devflows::halt_device(a, halt_action::DEVICE_INSTANCE_DEINITIALIZED);
                    NDIS_STATUS_SUCCESS
                }
            }
        },
    )
}

/// # Safety
/// Called by the driver with the documented arguments.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe extern "system-unwind" fn NdisMSetMiniportAttributes(
    miniport_adapter_handle: NdisHandle,
    attributes: *mut MiniportAdapterAttributes,
) -> NdisStatus {
    guard(E::NdisMSetMiniportAttributes, NDIS_STATUS_FAILURE, || {
        let st = world::try_with(|w| {
            enter(w, E::NdisMSetMiniportAttributes, PASSIVE_LEVEL);
            let Some(a) = w.expect_live("handle.miniport", "NdisMSetMiniportAttributes", miniport_adapter_handle as usize, HandleKind::Miniport) else {
                return NDIS_STATUS_FAILURE;
            };
            let phase = w.adapters[a].dev.phase;
            if !w.v.check("attributes.only_during_initialize", phase == DevPhase::Initializing, || {
                format!("NdisMSetMiniportAttributes while the miniport is {phase:?}")
            }) {
                return NDIS_STATUS_FAILURE;
            }
            if attributes.is_null() {
                w.v.fail("attributes.header", || "NULL attributes".into());
                return NDIS_STATUS_INVALID_PARAMETER;
            }
            if w.inject.should_fail(E::NdisMSetMiniportAttributes) {
                return NDIS_STATUS_RESOURCES;
            }
            // SAFETY: non-NULL; every arm of the attributes union starts with the header.
            let hdr = unsafe { *attributes };
            match hdr.kind {
                object_type::MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES => {
                    let ok = matches!(hdr.revision, 1 | 2)
                        && usize::from(hdr.size) >= NDIS_SIZEOF_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_1;
                    if !w.v.check("attributes.registration_header", ok, || format!("registration attributes header {hdr:?}")) {
                        return NDIS_STATUS_INVALID_PARAMETER;
                    }
                    // SAFETY: Type says this is the registration arm; size checked above.
                    let r = unsafe { &*attributes.cast::<MiniportAdapterRegistrationAttributes>() };
                    let (ctx, flags) = (r.miniport_adapter_context as usize, r.attribute_flags);
                    w.v.check("attributes.registration_context", ctx != 0, || "MiniportAdapterContext is NULL".into());
                    w.v.check(
                        "attributes.registration_no_halt_on_suspend",
                        flags & NDIS_MINIPORT_ATTRIBUTES_NO_HALT_ON_SUSPEND != 0,
                        || format!("AttributeFlags {flags:#x} lack NO_HALT_ON_SUSPEND (required for an IM)"),
                    );
                    let d = &mut w.adapters[a].dev;
                    d.ctx = ctx;
                    d.reg_attrs = true;
                    if w.adapters[a].cfg.policy.start_yields && crate::irql::is_worker() {
                        PARK_AFTER.store(w.counters.waits + 1, Ordering::SeqCst);
                    }
                }
                object_type::MINIPORT_ADAPTER_GENERAL_ATTRIBUTES => {
                    let reg = w.adapters[a].dev.reg_attrs;
                    w.v.check("attributes.registration_before_general", reg, || {
                        "general attributes set before registration attributes".into()
                    });
                    let ok = (hdr.revision == 1 && usize::from(hdr.size) >= NDIS_SIZEOF_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_1)
                        || (hdr.revision == 2 && usize::from(hdr.size) >= 0xE0);
                    if !w.v.check("attributes.general_header", ok, || format!("general attributes header {hdr:?}")) {
                        return NDIS_STATUS_INVALID_PARAMETER;
                    }
                    // SAFETY: Type says this is the general arm; size checked above.
                    let g = unsafe { &*attributes.cast::<MiniportAdapterGeneralAttributes>() };
                    let (media, mlen) = (g.media_type, g.mac_address_length);
                    w.v.check("attributes.general_values", media == NDIS_MEDIUM_802_3 && mlen == 6, || {
                        format!("general attributes MediaType {media}, MacAddressLength {mlen}")
                    });
                    let mut mac = [0u8; 6];
                    mac.copy_from_slice(&g.current_mac_address[..6]);
                    let d = &mut w.adapters[a].dev;
                    d.attr_mtu = g.mtu_size;
                    d.attr_mac = mac;
                    d.attr_link = (g.media_connect_state, g.media_duplex_state, g.xmit_link_speed, g.rcv_link_speed);
                    d.gen_attrs = true;
                }
                _ => {}
            }
            NDIS_STATUS_SUCCESS
        })
        .unwrap_or(NDIS_STATUS_FAILURE);
        yield_if_asked();
        st
    })
}

/// NdisEvent waits (`counters.waits`) the parked start waits for; 0: no start parked.
static PARK_AFTER: AtomicU64 = AtomicU64::new(0);

/// `AdapterPolicy::start_yields`: MiniportInitializeEx on the worker stops here (after its
/// registration attributes) until the thread waiting for it has seen the miniport Initializing,
/// run on and called NdisWaitEvent again (at most the deadlock timeout).
fn yield_if_asked() {
    let target = PARK_AFTER.swap(0, Ordering::SeqCst);
    if target == 0 {
        return;
    }
    let waits = || world::try_with(|w| w.counters.waits).unwrap_or(u64::MAX);
    let timeout = world::try_with(|w| w.cfg.deadlock_timeout).unwrap_or_default();
    crate::sched::park_worker_until(&|| waits() >= target, timeout);
}

/// # Safety
/// Called by the driver with the documented arguments.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe extern "system-unwind" fn NdisMPauseComplete(miniport_adapter_handle: NdisHandle) {
    guard(E::NdisMPauseComplete, (), || {
        world::try_with(|w| {
            enter(w, E::NdisMPauseComplete, DISPATCH_LEVEL);
            let Some(a) = w.expect_live(
                "handle.miniport",
                "NdisMPauseComplete",
                miniport_adapter_handle as usize,
                HandleKind::Miniport,
            ) else {
                return;
            };
            let d = &w.adapters[a].dev;
            let ok = d.run == RunState::Pausing && !d.pause_complete;
            let run = d.run;
            if w.v.check("pause.complete_only_when_pending", ok, || {
                format!("NdisMPauseComplete with no pause pending (miniport {run:?})")
            }) {
                w.adapters[a].dev.pause_complete = true;
                crate::devflows::pause_drained(w, a);
            }
        });
        crate::sched::kick();
    });
}

/// # Safety
/// Called by the driver with the documented arguments.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe extern "system-unwind" fn NdisMRestartComplete(
    miniport_adapter_handle: NdisHandle,
    status: NdisStatus,
) {
    guard(E::NdisMRestartComplete, (), || {
        world::try_with(|w| {
            enter(w, E::NdisMRestartComplete, DISPATCH_LEVEL);
            let Some(a) = w.expect_live(
                "handle.miniport",
                "NdisMRestartComplete",
                miniport_adapter_handle as usize,
                HandleKind::Miniport,
            ) else {
                return;
            };
            let d = &w.adapters[a].dev;
            let ok = d.run == RunState::Restarting && d.restart_complete.is_none();
            let run = d.run;
            if w.v.check("restart.complete_only_when_pending", ok, || {
                format!("NdisMRestartComplete with no restart pending (miniport {run:?})")
            }) {
                w.adapters[a].dev.restart_complete = Some(status);
            }
        });
        crate::sched::kick();
    });
}

/// # Safety
/// Called by the driver with the documented arguments.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe extern "system-unwind" fn NdisMNetPnPEvent(
    miniport_adapter_handle: NdisHandle,
    notification: *mut NetPnpEventNotification,
) -> NdisStatus {
    guard(E::NdisMNetPnPEvent, NDIS_STATUS_FAILURE, || {
        world::try_with(|w| {
            enter(w, E::NdisMNetPnPEvent, PASSIVE_LEVEL);
            if w.expect_live(
                "handle.miniport",
                "NdisMNetPnPEvent",
                miniport_adapter_handle as usize,
                HandleKind::Miniport,
            )
            .is_none()
            {
                return NDIS_STATUS_FAILURE;
            }
            w.v.check("pnp.notification_not_null", !notification.is_null(), || {
                "NULL NetPnPEvent".into()
            });
            NDIS_STATUS_SUCCESS
        })
        .unwrap_or(NDIS_STATUS_FAILURE)
    })
}

/// # Safety
/// Called by the driver with the documented arguments.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe extern "system-unwind" fn NdisIfAddIfStackEntry(
    higher_layer_if_index: NetIfIndex,
    lower_layer_if_index: NetIfIndex,
) -> NdisStatus {
    guard(E::NdisIfAddIfStackEntry, NDIS_STATUS_FAILURE, || {
        world::try_with(|w| {
            enter(w, E::NdisIfAddIfStackEntry, PASSIVE_LEVEL);
            // An IM stacks its virtual miniport (the IfIndex NDIS gave MiniportInitializeEx) on
            // the adapter it is bound to (BoundIfIndex), from MiniportInitializeEx.
            let a = w.adapters.iter().position(|ad| {
                ad.dev.phase == DevPhase::Initializing && ad.dev.if_index == higher_layer_if_index
            });
            let Some(a) = a else {
                w.v.fail("ifstack.higher_is_initializing_miniport", || {
                    format!("NdisIfAddIfStackEntry({higher_layer_if_index}, {lower_layer_if_index}): no miniport with that IfIndex is in MiniportInitializeEx")
                });
                return NDIS_STATUS_INVALID_PARAMETER;
            };
            let expected = crate::flows::bound_if_index(a);
            w.v.check("ifstack.lower_is_bound_if_index", lower_layer_if_index == expected, || {
                format!("NdisIfAddIfStackEntry({higher_layer_if_index}, {lower_layer_if_index}): the miniport's binding has BoundIfIndex {expected}")
            });
            let pair = (higher_layer_if_index, lower_layer_if_index);
            w.v.check("ifstack.added_once", !w.if_stack.contains(&pair), || {
                format!("interface stack entry {pair:?} added twice")
            });
            if w.inject.should_fail(E::NdisIfAddIfStackEntry) {
                return NDIS_STATUS_RESOURCES;
            }
            w.if_stack.push(pair);
            NDIS_STATUS_SUCCESS
        })
        .unwrap_or(NDIS_STATUS_FAILURE)
    })
}

/// # Safety
/// Called by the driver with the documented arguments.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe extern "system-unwind" fn NdisIfDeleteIfStackEntry(
    higher_layer_if_index: NetIfIndex,
    lower_layer_if_index: NetIfIndex,
) {
    guard(E::NdisIfDeleteIfStackEntry, (), || {
        world::try_with(|w| {
            enter(w, E::NdisIfDeleteIfStackEntry, PASSIVE_LEVEL);
            let pair = (higher_layer_if_index, lower_layer_if_index);
            let known = w.if_stack.iter().position(|&p| p == pair);
            w.v.check("ifstack.delete_known", known.is_some(), || {
                format!("NdisIfDeleteIfStackEntry{pair:?}: no such entry (never added, or deleted twice)")
            });
            if let Some(i) = known {
                w.if_stack.remove(i);
            }
        });
    });
}
