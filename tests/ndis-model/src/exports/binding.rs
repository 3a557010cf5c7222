//! NdisOpenAdapterEx, NdisCloseAdapterEx, bind/unbind/PnP completion, configuration access.

#![allow(non_snake_case, reason = "exports keep their ndis.sys names")]

use chimney_im::ndis::*;

use super::{enter, guard, read_ustr};
use crate::config::OpenPolicy;
use crate::drv;
use crate::rawbox::RawBox;
use crate::verifier::Export as E;
use crate::world::{self, ConfigRec, HandleKind, OpenState};

/// # Safety
/// Called by the driver with the documented arguments.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe extern "system-unwind" fn NdisOpenAdapterEx(
    protocol_handle: NdisHandle,
    protocol_binding_context: NdisHandle,
    open_parameters: *mut NdisOpenParameters,
    bind_context: NdisHandle,
    binding_handle: *mut NdisHandle,
) -> NdisStatus {
    guard(E::NdisOpenAdapterEx, NDIS_STATUS_FAILURE, || {
        let r = world::try_with(|w| -> Result<_, NdisStatus> {
            enter(w, E::NdisOpenAdapterEx, PASSIVE_LEVEL);
            w.expect_live(
                "handle.protocol_driver",
                "NdisOpenAdapterEx",
                protocol_handle as usize,
                HandleKind::ProtocolDriver,
            )
            .ok_or(NDIS_STATUS_FAILURE)?;
            let a = w
                .expect_live(
                    "open.only_inside_bind",
                    "NdisOpenAdapterEx BindContext",
                    bind_context as usize,
                    HandleKind::BindContext,
                )
                .ok_or(NDIS_STATUS_FAILURE)?;
            let b = &w.adapters[a].binding;
            let (in_bind, open) = (b.in_bind, b.open);
            if !w.v.check("open.only_inside_bind", in_bind, || {
                "NdisOpenAdapterEx outside ProtocolBindAdapterEx".into()
            }) {
                return Err(NDIS_STATUS_FAILURE);
            }
            if !w
                .v
                .check("open.once_per_bind", open == OpenState::None, || {
                    format!("NdisOpenAdapterEx again (binding {open:?})")
                })
            {
                return Err(NDIS_STATUS_FAILURE);
            }
            if open_parameters.is_null() || binding_handle.is_null() {
                w.v.fail("open.parameters", || {
                    "NULL OpenParameters or NdisBindingHandle".into()
                });
                return Err(NDIS_STATUS_INVALID_PARAMETER);
            }
            // SAFETY: non-NULL pointer to the driver's NDIS_OPEN_PARAMETERS, valid for this call.
            let op = unsafe { &*open_parameters };
            let hdr = op.header;
            let hdr_ok = hdr.kind == object_type::OPEN_PARAMETERS
                && hdr.revision >= 1
                && usize::from(hdr.size) >= NDIS_SIZEOF_OPEN_PARAMETERS_REVISION_1;
            let name = read_ustr(op.adapter_name);
            let want = w.adapters[a].cfg.name.clone();
            let mut ok = w.v.check("open.parameters_header", hdr_ok, || {
                format!("NDIS_OPEN_PARAMETERS header {hdr:?}")
            });
            ok &= w.v.check(
                "open.adapter_name",
                name.as_deref()
                    .is_some_and(|n| n.eq_ignore_ascii_case(&want)),
                || format!("AdapterName {name:?}, the bind parameters said {want:?}"),
            );
            let mut sel = None;
            if !op.medium_array.is_null() && op.medium_array_size > 0 && op.medium_array_size < 64 {
                for i in 0..op.medium_array_size {
                    // SAFETY: MediumArray holds MediumArraySize entries (caller contract; bounded above).
                    if unsafe { *op.medium_array.add(i as usize) } == NDIS_MEDIUM_802_3 {
                        sel = Some(i);
                        break;
                    }
                }
            }
            ok &= w.v.check(
                "open.medium_802_3",
                sel.is_some() && !op.selected_medium_index.is_null(),
                || "MediumArray lacks NdisMedium802_3 or SelectedMediumIndex is NULL".into(),
            );
            if !ok {
                return Err(NDIS_STATUS_UNSUPPORTED_MEDIA);
            }
            if w.inject.should_fail(E::NdisOpenAdapterEx) {
                return Err(NDIS_STATUS_OPEN_FAILED);
            }
            let policy = w.adapters[a].cfg.policy.open;
            if let OpenPolicy::Fail(st) = policy {
                return Err(st);
            }
            // SAFETY: checked non-NULL above; the driver's out parameter.
            unsafe { *op.selected_medium_index = sel.unwrap_or(0) };
            let h = w.new_handle(HandleKind::Binding, a);
            let b = &mut w.adapters[a].binding;
            b.handle = h;
            b.ctx = protocol_binding_context as usize;
            // SAFETY: checked non-NULL; the driver's out parameter.
            unsafe { *binding_handle = drv::h(h) };
            let pended = match policy {
                OpenPolicy::Pending => Some(NDIS_STATUS_SUCCESS),
                OpenPolicy::PendingFail(st) => Some(st),
                _ => None,
            };
            if let Some(st) = pended {
                b.open = OpenState::Opening;
                let complete = w.pt.as_ref().map(|p| p.h.open_complete);
                Ok(Some((a, complete, b.ctx, h, st)))
            } else {
                b.open = OpenState::Open;
                Ok(None)
            }
        });
        match r {
            None => NDIS_STATUS_FAILURE,
            Some(Err(st)) => st,
            Some(Ok(None)) => NDIS_STATUS_SUCCESS,
            Some(Ok(Some((a, complete, ctx, h, st)))) => {
                crate::sched::enqueue(PASSIVE_LEVEL, "open complete", move || {
                    world::with(|w| {
                        let b = &mut w.adapters[a].binding;
                        if st == NDIS_STATUS_SUCCESS {
                            b.open = OpenState::Open;
                        } else {
                            // A failed open leaves no binding: its handle is dead.
                            b.open = OpenState::None;
                            b.handle = 0;
                            w.kill_handle(h);
                        }
                    });
                    if let Some(c) = complete {
                        // SAFETY: the driver's ProtocolOpenAdapterCompleteEx with its binding context.
                        drv::call("ProtocolOpenAdapterCompleteEx", PASSIVE_LEVEL, || unsafe {
                            c(drv::h(ctx), st)
                        });
                    }
                });
                NDIS_STATUS_PENDING
            }
        }
    })
}

/// # Safety
/// Called by the driver with the documented arguments.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe extern "system-unwind" fn NdisCloseAdapterEx(binding_handle: NdisHandle) -> NdisStatus {
    guard(E::NdisCloseAdapterEx, NDIS_STATUS_FAILURE, || {
        let r = world::try_with(|w| -> Result<_, NdisStatus> {
            enter(w, E::NdisCloseAdapterEx, PASSIVE_LEVEL);
            let h = binding_handle as usize;
            let a = w
                .expect_live(
                    "handle.binding",
                    "NdisCloseAdapterEx",
                    h,
                    HandleKind::Binding,
                )
                .ok_or(NDIS_STATUS_FAILURE)?;
            let b = &w.adapters[a].binding;
            let (in_bind, in_unbind, open) = (b.in_bind, b.in_unbind, b.open);
            w.v.check("close.only_in_unbind_or_failed_bind", in_bind || in_unbind, || {
                "NdisCloseAdapterEx outside ProtocolUnbindAdapterEx / a failing ProtocolBindAdapterEx".into()
            });
            if !w
                .v
                .check("close.binding_open", open == OpenState::Open, || {
                    format!("NdisCloseAdapterEx on a binding that is {open:?}")
                })
            {
                return Err(NDIS_STATUS_FAILURE);
            }
            let (s, o, r) = (b.sends_below, b.oids_below.len(), b.recv_in_driver);
            w.v.check("close.nothing_outstanding", s == 0 && o == 0 && r == 0, || {
                format!("NdisCloseAdapterEx with {s} send(s) below, {o} OID(s) below, {r} receive(s) not returned")
            });
            let c = w.chimney.below(a);
            w.v.check("close.chimney_nothing_outstanding", c == 0, || {
                format!("NdisCloseAdapterEx with {c} chimney NBL(s) still at the offload target or indicated and not returned")
            });
            let pending = w.adapters[a].cfg.policy.close_pending;
            let ctx = w.adapters[a].binding.ctx;
            if pending {
                w.adapters[a].binding.open = OpenState::Closing;
                Ok(Some((a, w.pt.as_ref().map(|p| p.h.close_complete), ctx)))
            } else {
                w.adapters[a].binding.open = OpenState::Closed;
                w.kill_handle(h);
                Ok(None)
            }
        });
        match r {
            None => NDIS_STATUS_FAILURE,
            Some(Err(st)) => st,
            Some(Ok(None)) => NDIS_STATUS_SUCCESS,
            Some(Ok(Some((a, complete, ctx)))) => {
                crate::sched::enqueue(PASSIVE_LEVEL, "close complete", move || {
                    world::with(|w| {
                        w.adapters[a].binding.open = OpenState::Closed;
                        let h = w.adapters[a].binding.handle;
                        w.kill_handle(h);
                    });
                    if let Some(c) = complete {
                        // SAFETY: the driver's ProtocolCloseAdapterCompleteEx with its binding context.
                        drv::call("ProtocolCloseAdapterCompleteEx", PASSIVE_LEVEL, || unsafe {
                            c(drv::h(ctx))
                        });
                    }
                });
                NDIS_STATUS_PENDING
            }
        }
    })
}

/// # Safety
/// Called by the driver with the documented arguments.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe extern "system-unwind" fn NdisCompleteBindAdapterEx(
    bind_context: NdisHandle,
    status: NdisStatus,
) {
    guard(E::NdisCompleteBindAdapterEx, (), || {
        world::try_with(|w| {
            enter(w, E::NdisCompleteBindAdapterEx, DISPATCH_LEVEL);
            let Some(a) = w.expect_live(
                "handle.bind_context",
                "NdisCompleteBindAdapterEx",
                bind_context as usize,
                HandleKind::BindContext,
            ) else {
                return;
            };
            let b = &mut w.adapters[a].binding;
            let dup = b.bind_result.is_some();
            b.bind_result = Some(status);
            w.v.check("bind.complete_once", !dup, || {
                "NdisCompleteBindAdapterEx called twice".into()
            });
        });
        crate::sched::kick();
    });
}

/// # Safety
/// Called by the driver with the documented arguments.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe extern "system-unwind" fn NdisCompleteUnbindAdapterEx(unbind_context: NdisHandle) {
    guard(E::NdisCompleteUnbindAdapterEx, (), || {
        world::try_with(|w| {
            enter(w, E::NdisCompleteUnbindAdapterEx, DISPATCH_LEVEL);
            let Some(a) = w.expect_live(
                "handle.unbind_context",
                "NdisCompleteUnbindAdapterEx",
                unbind_context as usize,
                HandleKind::UnbindContext,
            ) else {
                return;
            };
            let b = &mut w.adapters[a].binding;
            let dup = b.unbind_done;
            b.unbind_done = true;
            w.v.check("unbind.complete_once", !dup, || {
                "NdisCompleteUnbindAdapterEx called twice".into()
            });
        });
        crate::sched::kick();
    });
}

/// # Safety
/// Called by the driver with the documented arguments.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe extern "system-unwind" fn NdisCompleteNetPnPEvent(
    _binding_handle: NdisHandle,
    notification: *mut NetPnpEventNotification,
    status: NdisStatus,
) {
    guard(E::NdisCompleteNetPnPEvent, (), || {
        world::try_with(|w| {
            enter(w, E::NdisCompleteNetPnPEvent, PASSIVE_LEVEL);
            let cur = w.pnp;
            let ok = cur.is_some_and(|(n, r)| n == notification as usize && r.is_none());
            if w.v.check("pnp.complete_matches_pending_event", ok, || {
                format!(
                    "NdisCompleteNetPnPEvent({notification:p}) but the pending event is {cur:x?}"
                )
            }) {
                w.pnp = Some((notification as usize, Some(status)));
            }
        });
        crate::sched::kick();
    });
}

/// # Safety
/// Called by the driver with the documented arguments.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe extern "system-unwind" fn NdisOpenConfigurationEx(
    configuration_object: *mut NdisConfigurationObject,
    configuration_handle: *mut NdisHandle,
) -> NdisStatus {
    guard(E::NdisOpenConfigurationEx, NDIS_STATUS_FAILURE, || {
        world::try_with(|w| {
            enter(w, E::NdisOpenConfigurationEx, PASSIVE_LEVEL);
            if configuration_object.is_null() || configuration_handle.is_null() {
                w.v.fail("config.parameters", || {
                    "NULL ConfigObject or ConfigurationHandle".into()
                });
                return NDIS_STATUS_INVALID_PARAMETER;
            }
            // SAFETY: non-NULL pointer to the driver's NDIS_CONFIGURATION_OBJECT, valid for the call.
            let co = unsafe { &*configuration_object };
            let hdr = co.header;
            w.v.check(
                "config.object_header",
                hdr.kind == object_type::CONFIGURATION_OBJECT
                    && hdr.revision == 1
                    && hdr.size >= 0x14,
                || format!("NDIS_CONFIGURATION_OBJECT header {hdr:?}"),
            );
            let h = co.ndis_handle as usize;
            let info = w.handles.get(&h).copied();
            let ok = info.is_some_and(|i| {
                i.alive && matches!(i.kind, HandleKind::Binding | HandleKind::Miniport)
            });
            if !w.v.check("config.handle_is_binding_or_miniport", ok, || {
                format!("NdisOpenConfigurationEx NdisHandle {h:#x} is {info:?}")
            }) {
                return NDIS_STATUS_FAILURE;
            }
            if w.inject.should_fail(E::NdisOpenConfigurationEx) {
                return NDIS_STATUS_RESOURCES;
            }
            let a = info.map_or(0, |i| i.adapter);
            let ch = w.new_handle(HandleKind::Config, a);
            let kind = info.map(|i| i.kind);
            w.configs.insert(
                ch,
                ConfigRec {
                    adapter: a,
                    open: true,
                    opened_in: crate::timing::current_call(),
                    params: Vec::new(),
                },
            );
            if kind == Some(HandleKind::Miniport) {
                // Remember it belongs to the miniport: only the binding key has UpperBindings.
                w.handles.insert(
                    ch,
                    world::HandleInfo {
                        kind: HandleKind::Config,
                        adapter: a | (1 << 40),
                        alive: true,
                    },
                );
            }
            // SAFETY: checked non-NULL; the driver's out parameter.
            unsafe { *configuration_handle = drv::h(ch) };
            NDIS_STATUS_SUCCESS
        })
        .unwrap_or(NDIS_STATUS_FAILURE)
    })
}

/// # Safety
/// Called by the driver with the documented arguments.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe extern "system-unwind" fn NdisReadConfiguration(
    status: *mut NdisStatus,
    parameter_value: *mut *mut NdisConfigurationParameter,
    configuration_handle: NdisHandle,
    keyword: *mut NdisString,
    parameter_type: u32,
) {
    guard(E::NdisReadConfiguration, (), || {
        let st = world::try_with(|w| {
            enter(w, E::NdisReadConfiguration, PASSIVE_LEVEL);
            let ch = configuration_handle as usize;
            let Some(tag) = w.expect_live(
                "handle.config",
                "NdisReadConfiguration",
                ch,
                HandleKind::Config,
            ) else {
                return NDIS_STATUS_FAILURE;
            };
            if status.is_null() || parameter_value.is_null() {
                w.v.fail("config.parameters", || {
                    "NULL Status or ParameterValue".into()
                });
                return NDIS_STATUS_FAILURE;
            }
            let key = read_ustr(keyword).unwrap_or_default();
            if w.inject.should_fail(E::NdisReadConfiguration) {
                return NDIS_STATUS_FAILURE;
            }
            let on_binding = tag < (1 << 40);
            if !(on_binding && key.eq_ignore_ascii_case("UpperBindings")) {
                return NDIS_STATUS_FAILURE;
            }
            let ub = w.adapters[tag].cfg.upper_bindings.clone();
            // REG_MULTI_SZ data: each string NUL-terminated, plus the list terminator. Like the
            // registry, Length covers all of it.
            let mut data: Vec<u16> = Vec::new();
            match parameter_type {
                parameter_type::MULTI_STRING => {
                    for s in &ub {
                        data.extend(s.encode_utf16());
                        data.push(0);
                    }
                    data.push(0);
                }
                parameter_type::STRING => {
                    data.extend(ub.first().map(String::as_str).unwrap_or("").encode_utf16());
                }
                _ => return NDIS_STATUS_FAILURE,
            }
            let buf = RawBox::from_box(data.into_boxed_slice());
            let len = u16::try_from(buf.len() * 2).unwrap_or(u16::MAX);
            let p = RawBox::new(NdisConfigurationParameter {
                parameter_type,
                string_data: UnicodeString {
                    length: len,
                    maximum_length: len,
                    buffer: buf.ptr().cast::<u16>(),
                },
            });
            // SAFETY: checked non-NULL; the driver's out parameter. The block stays valid until
            // NdisCloseConfiguration (kept in the config record, poisoned on close).
            unsafe { *parameter_value = p.ptr() };
            if let Some(rec) = w.configs.get_mut(&ch) {
                rec.params.push((p, buf));
            }
            NDIS_STATUS_SUCCESS
        });
        if !status.is_null() {
            // SAFETY: the driver's out parameter, checked non-NULL.
            unsafe { *status = st.unwrap_or(NDIS_STATUS_FAILURE) };
        }
    });
}

/// # Safety
/// Called by the driver with the documented arguments.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe extern "system-unwind" fn NdisCloseConfiguration(configuration_handle: NdisHandle) {
    guard(E::NdisCloseConfiguration, (), || {
        world::try_with(|w| {
            enter(w, E::NdisCloseConfiguration, PASSIVE_LEVEL);
            if w.cfg
                .faults
                .contains(&crate::config::Fault::SkipCloseConfiguration)
            {
                return;
            }
            let ch = configuration_handle as usize;
            if w.expect_live(
                "handle.config",
                "NdisCloseConfiguration",
                ch,
                HandleKind::Config,
            )
            .is_none()
            {
                return;
            }
            w.kill_handle(ch);
            if let Some(rec) = w.configs.get_mut(&ch) {
                rec.open = false;
                for (p, buf) in &mut rec.params {
                    buf.fill(0xDDDD);
                    p.parameter_type = 0xDDDD_DDDD;
                    p.string_data.length = 0xDDDD;
                }
            }
        });
    });
}
