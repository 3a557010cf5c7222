//! NdisMRegisterMiniportDriver, NdisRegisterProtocolDriver, deregistration, association.

#![allow(non_snake_case, reason = "exports keep their ndis.sys names")]

use chimney_im::ndis::*;

use super::{enter, guard, read_ustr};
use crate::drv;
use crate::handlers::{mp_from, pt_from};
use crate::verifier::Export as E;
use crate::world::{self, DevPhase, HandleKind, MpDriver, OpenState, Phase, PtDriver};

/// Expected (revision, size) of miniport characteristics for a minor NDIS version.
fn mp_rev(minor: u8) -> Option<(u8, usize)> {
    match minor {
        0 => Some((1, 0x88)),
        1 | 20 | 30 | 40 | 50 | 51 | 60 | 70 => Some((2, 0x98)),
        80..=87 => Some((3, 0xA0)),
        _ => None,
    }
}

fn pt_rev(minor: u8) -> Option<(u8, usize)> {
    match minor {
        0 => Some((1, 0x78)),
        1 | 20 | 30 | 40 | 50 | 51 | 60 | 70 | 80..=87 => Some((2, 0x80)),
        _ => None,
    }
}

/// # Safety
/// Called by the driver with the documented arguments.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe extern "system-unwind" fn NdisMRegisterMiniportDriver(
    driver_object: *mut DriverObject,
    _registry_path: *mut UnicodeString,
    miniport_driver_context: NdisHandle,
    characteristics: *mut MiniportDriverCharacteristics,
    miniport_driver_handle: *mut NdisHandle,
) -> NdisStatus {
    guard(E::NdisMRegisterMiniportDriver, NDIS_STATUS_FAILURE, || {
        let r = world::try_with(|w| -> Result<_, NdisStatus> {
            enter(w, E::NdisMRegisterMiniportDriver, PASSIVE_LEVEL);
            if w.inject.should_fail(E::NdisMRegisterMiniportDriver) {
                return Err(NDIS_STATUS_RESOURCES);
            }
            let dobj = w.driver_object;
            w.v.check("registration.driver_object", driver_object as usize == dobj, || {
                format!("DriverObject {driver_object:p} is not the one given to DriverEntry ({dobj:#x})")
            });
            let phase = w.phase;
            w.v.check(
                "registration.inside_driver_entry",
                phase == Phase::InDriverEntry,
                || format!("NdisMRegisterMiniportDriver called in phase {phase:?}"),
            );
            let again = w.mp.is_some();
            if !w.v.check("registration.miniport_once", !again, || {
                "miniport driver registered twice".into()
            }) {
                return Err(NDIS_STATUS_FAILURE);
            }
            if characteristics.is_null() || miniport_driver_handle.is_null() {
                w.v.fail("registration.miniport_characteristics", || {
                    "NULL characteristics or handle pointer".into()
                });
                return Err(NDIS_STATUS_BAD_CHARACTERISTICS);
            }
            // SAFETY: non-NULL pointer to the driver's characteristics, valid for this call.
            let c = unsafe { &*characteristics };
            let hdr = c.header;
            let exp = mp_rev(c.minor_ndis_version);
            let version_ok = hdr.kind == object_type::MINIPORT_DRIVER_CHARACTERISTICS
                && c.major_ndis_version == 6
                && exp.is_some_and(|(r, s)| hdr.revision == r && usize::from(hdr.size) == s);
            if !w.v.check("registration.miniport_header_matches_version", version_ok, || {
                format!(
                    "miniport characteristics header {hdr:?} for NDIS {}.{} (expected Type 0x8A, Revision/Size {exp:x?})",
                    c.major_ndis_version, c.minor_ndis_version
                )
            }) {
                return Err(NDIS_STATUS_BAD_VERSION);
            }
            let flags = c.flags;
            let mut ok = w.v.check(
                "registration.miniport_intermediate_flag",
                flags & NDIS_INTERMEDIATE_DRIVER != 0,
                || format!("miniport Flags {flags:#x} lack NDIS_INTERMEDIATE_DRIVER"),
            );
            ok &= w.v.check(
                "registration.miniport_no_hang_reset",
                c.check_for_hang_handler_ex.is_none() && c.reset_handler_ex.is_none(),
                || "an IM must leave CheckForHangHandlerEx and ResetHandlerEx NULL".into(),
            );
            let handlers = mp_from(c);
            ok &= w.v.check(
                "registration.miniport_required_handlers",
                handlers.is_ok(),
                || {
                    format!(
                        "missing required miniport handlers: {:?}",
                        handlers.as_ref().err()
                    )
                },
            );
            let (true, Ok(h)) = (ok, handlers) else {
                return Err(NDIS_STATUS_BAD_CHARACTERISTICS);
            };
            let handle = w.new_handle(HandleKind::MiniportDriver, usize::MAX);
            w.mp = Some(MpDriver {
                handle,
                ctx: miniport_driver_context as usize,
                h,
                deregistered: false,
            });
            // SAFETY: checked non-NULL; the out parameter is the driver's.
            unsafe { *miniport_driver_handle = drv::h(handle) };
            Ok((handle, h.set_options, miniport_driver_context as usize))
        });
        let Some(r) = r else {
            return NDIS_STATUS_FAILURE;
        };
        match r {
            Err(st) => st,
            Ok((handle, set_options, ctx)) => {
                let Some(so) = set_options else {
                    return NDIS_STATUS_SUCCESS;
                };
                // SAFETY: the driver registered this MINIPORT_SET_OPTIONS handler.
                let st = drv::call("MiniportSetOptions", PASSIVE_LEVEL, || unsafe {
                    so(drv::h(handle), drv::h(ctx))
                });
                if st != NDIS_STATUS_SUCCESS {
                    world::with(|w| {
                        w.kill_handle(handle);
                        w.mp = None;
                    });
                }
                st
            }
        }
    })
}

/// # Safety
/// Called by the driver with the documented arguments.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe extern "system-unwind" fn NdisMDeregisterMiniportDriver(
    miniport_driver_handle: NdisHandle,
) {
    guard(E::NdisMDeregisterMiniportDriver, (), || {
        world::try_with(|w| {
            enter(w, E::NdisMDeregisterMiniportDriver, PASSIVE_LEVEL);
            let h = miniport_driver_handle as usize;
            if w.expect_live(
                "handle.miniport_driver",
                "NdisMDeregisterMiniportDriver",
                h,
                HandleKind::MiniportDriver,
            )
            .is_none()
            {
                return;
            }
            let alive: Vec<String> = w
                .adapters
                .iter()
                .filter(|a| {
                    matches!(
                        a.dev.phase,
                        DevPhase::Up | DevPhase::Initializing | DevPhase::Halting
                    )
                })
                .map(|a| a.dev.name.clone())
                .collect();
            w.v.check("deregister.miniports_halted", alive.is_empty(), || {
                format!("miniport driver deregistered while virtual miniports are alive: {alive:?}")
            });
            w.kill_handle(h);
            if let Some(m) = w.mp.as_mut() {
                m.deregistered = true;
            }
        });
    });
}

/// # Safety
/// Called by the driver with the documented arguments.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe extern "system-unwind" fn NdisRegisterProtocolDriver(
    protocol_driver_context: NdisHandle,
    characteristics: *mut ProtocolDriverCharacteristics,
    protocol_handle: *mut NdisHandle,
) -> NdisStatus {
    guard(E::NdisRegisterProtocolDriver, NDIS_STATUS_FAILURE, || {
        let r = world::try_with(|w| -> Result<_, NdisStatus> {
            enter(w, E::NdisRegisterProtocolDriver, PASSIVE_LEVEL);
            if w.inject.should_fail(E::NdisRegisterProtocolDriver) {
                return Err(NDIS_STATUS_RESOURCES);
            }
            let phase = w.phase;
            w.v.check(
                "registration.inside_driver_entry",
                phase == Phase::InDriverEntry,
                || format!("NdisRegisterProtocolDriver called in phase {phase:?}"),
            );
            let again = w.pt.is_some();
            if !w.v.check("registration.protocol_once", !again, || {
                "protocol registered twice".into()
            }) {
                return Err(NDIS_STATUS_FAILURE);
            }
            if characteristics.is_null() || protocol_handle.is_null() {
                w.v.fail("registration.protocol_characteristics", || {
                    "NULL characteristics or handle pointer".into()
                });
                return Err(NDIS_STATUS_BAD_CHARACTERISTICS);
            }
            // SAFETY: non-NULL pointer to the driver's characteristics, valid for this call.
            let c = unsafe { &*characteristics };
            let hdr = c.header;
            let exp = pt_rev(c.minor_ndis_version);
            let version_ok = hdr.kind == object_type::PROTOCOL_DRIVER_CHARACTERISTICS
                && c.major_ndis_version == 6
                && exp.is_some_and(|(r, s)| hdr.revision == r && usize::from(hdr.size) == s);
            if !w.v.check("registration.protocol_header_matches_version", version_ok, || {
                format!(
                    "protocol characteristics header {hdr:?} for NDIS {}.{} (expected Type 0x95, Revision/Size {exp:x?})",
                    c.major_ndis_version, c.minor_ndis_version
                )
            }) {
                return Err(NDIS_STATUS_BAD_VERSION);
            }
            let name = read_ustr(&raw const c.name).unwrap_or_default();
            let want = w.cfg.protocol_name.clone();
            let name_ok =
                !name.is_empty() && want.as_ref().is_none_or(|n| n.eq_ignore_ascii_case(&name));
            let mut ok = w.v.check("registration.protocol_name", name_ok, || {
                format!("protocol Name {name:?} (expected {want:?}, the INF's Ndi\\Service)")
            });
            let handlers = pt_from(c);
            ok &= w.v.check(
                "registration.protocol_required_handlers",
                handlers.is_ok(),
                || {
                    format!(
                        "missing required protocol handlers: {:?}",
                        handlers.as_ref().err()
                    )
                },
            );
            let (true, Ok(h)) = (ok, handlers) else {
                return Err(NDIS_STATUS_BAD_CHARACTERISTICS);
            };
            let handle = w.new_handle(HandleKind::ProtocolDriver, usize::MAX);
            w.pt = Some(PtDriver {
                handle,
                ctx: protocol_driver_context as usize,
                name,
                h,
                deregistered: false,
            });
            // SAFETY: checked non-NULL; the out parameter is the driver's.
            unsafe { *protocol_handle = drv::h(handle) };
            Ok((
                handle,
                h.set_options,
                protocol_driver_context as usize,
                w.cfg.bind_during_register,
            ))
        });
        let Some(r) = r else {
            return NDIS_STATUS_FAILURE;
        };
        match r {
            Err(st) => st,
            Ok((handle, set_options, ctx, bind_now)) => {
                if let Some(so) = set_options {
                    // SAFETY: the driver registered this PROTOCOL_SET_OPTIONS handler.
                    let st = drv::call("ProtocolSetOptions", PASSIVE_LEVEL, || unsafe {
                        so(drv::h(handle), drv::h(ctx))
                    });
                    if st != NDIS_STATUS_SUCCESS {
                        world::with(|w| {
                            w.kill_handle(handle);
                            w.pt = None;
                        });
                        return st;
                    }
                }
                if bind_now {
                    // Binds may run before NdisRegisterProtocolDriver returns.
                    let n = world::with(|w| w.adapters.len());
                    for a in 0..n {
                        crate::flows::bind(a);
                    }
                }
                NDIS_STATUS_SUCCESS
            }
        }
    })
}

/// # Safety
/// Called by the driver with the documented arguments.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe extern "system-unwind" fn NdisDeregisterProtocolDriver(protocol_handle: NdisHandle) {
    guard(E::NdisDeregisterProtocolDriver, (), || {
        world::try_with(|w| {
            enter(w, E::NdisDeregisterProtocolDriver, PASSIVE_LEVEL);
            let h = protocol_handle as usize;
            if w.expect_live(
                "handle.protocol_driver",
                "NdisDeregisterProtocolDriver",
                h,
                HandleKind::ProtocolDriver,
            )
            .is_none()
            {
                return;
            }
            let open: Vec<String> = w
                .adapters
                .iter()
                .filter(|a| {
                    matches!(
                        a.binding.open,
                        OpenState::Open | OpenState::Opening | OpenState::Closing
                    )
                })
                .map(|a| a.cfg.name.clone())
                .collect();
            w.v.check("deregister.bindings_closed", open.is_empty(), || {
                format!("protocol deregistered with open bindings to {open:?}")
            });
            w.kill_handle(h);
            if let Some(p) = w.pt.as_mut() {
                p.deregistered = true;
            }
        });
    });
}

/// # Safety
/// Called by the driver with the documented arguments.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe extern "system-unwind" fn NdisIMAssociateMiniport(
    driver_handle: NdisHandle,
    protocol_handle: NdisHandle,
) {
    guard(E::NdisIMAssociateMiniport, (), || {
        world::try_with(|w| {
            enter(w, E::NdisIMAssociateMiniport, PASSIVE_LEVEL);
            let a = w.expect_live(
                "handle.miniport_driver",
                "NdisIMAssociateMiniport",
                driver_handle as usize,
                HandleKind::MiniportDriver,
            );
            let b = w.expect_live(
                "handle.protocol_driver",
                "NdisIMAssociateMiniport",
                protocol_handle as usize,
                HandleKind::ProtocolDriver,
            );
            if a.is_some() && b.is_some() {
                w.associated = true;
            }
        });
    });
}
