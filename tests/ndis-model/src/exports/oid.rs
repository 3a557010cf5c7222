//! OID request forwarding, completion, cloning, cancellation, and status indications.

#![allow(non_snake_case, reason = "exports keep their ndis.sys names")]

use chimney_im::ndis::*;

use super::{enter, guard};
use crate::oidflows;
use crate::rawbox::RawBox;
use crate::verifier::Export as E;
use crate::world::{self, CloneRec, DevPhase, HandleKind, OpenState, StatusRecord};

/// # Safety
/// Called by the driver with the documented arguments.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe extern "system-unwind" fn NdisOidRequest(
    binding_handle: NdisHandle,
    oid_request: *mut NdisOidRequest,
) -> NdisStatus {
    guard(E::NdisOidRequest, NDIS_STATUS_FAILURE, || {
        let r = world::try_with(|w| {
            enter(w, E::NdisOidRequest, DISPATCH_LEVEL);
            let a = w.expect_live(
                "handle.binding",
                "NdisOidRequest",
                binding_handle as usize,
                HandleKind::Binding,
            )?;
            let open = w.adapters[a].binding.open;
            w.v.check("oid.binding_open", open == OpenState::Open, || {
                format!("NdisOidRequest on a binding that is {open:?}")
            });
            if !w
                .v
                .check("oid.request_not_null", !oid_request.is_null(), || {
                    "NULL request".into()
                })
            {
                return None;
            }
            // SAFETY: non-NULL request passed by the driver.
            let hdr = unsafe { (*oid_request).header };
            w.v.check(
                "oid.request_header",
                hdr.kind == object_type::OID_REQUEST
                    && usize::from(hdr.size) >= NDIS_SIZEOF_OID_REQUEST_REVISION_1,
                || format!("NDIS_OID_REQUEST header {hdr:?}"),
            );
            let p = oid_request as usize;
            let dup = w.adapters[a].binding.oids_below.iter().any(|o| o.req == p);
            w.v.check("oid.request_not_reissued", !dup, || {
                "request issued again while still pending below".into()
            });
            if let Some(c) = w.clones.get(&p) {
                let same = c.binding == binding_handle as usize;
                w.v.check("oid.clone_on_its_binding", same, || {
                    "clone sent on another binding than it was cloned for".into()
                });
                w.adapters[a].counters.oids_forwarded += 1;
            }
            Some(oidflows::lower_accept(w, a, oid_request))
        });
        match r.flatten() {
            None => NDIS_STATUS_FAILURE,
            Some((st, deferred)) => {
                if let Some(p) = deferred {
                    let (a, level) = world::with(|w| {
                        let a = w
                            .live(binding_handle as usize, HandleKind::Binding)
                            .unwrap_or(0);
                        (a, w.pick_irql())
                    });
                    crate::sched::enqueue(level, "OID complete", move || {
                        oidflows::complete_below(a, p)
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
pub unsafe extern "system-unwind" fn NdisCancelOidRequest(
    binding_handle: NdisHandle,
    request_id: *mut core::ffi::c_void,
) {
    guard(E::NdisCancelOidRequest, (), || {
        let r = world::try_with(|w| {
            enter(w, E::NdisCancelOidRequest, DISPATCH_LEVEL);
            let a = w.expect_live(
                "handle.binding",
                "NdisCancelOidRequest",
                binding_handle as usize,
                HandleKind::Binding,
            )?;
            let id = request_id as usize;
            let b = &mut w.adapters[a].binding;
            let by_ptr = b
                .oids_below
                .iter()
                .any(|o| o.req == id && o.request_id != id);
            let hit = b.oids_below.iter_mut().find(|o| o.request_id == id);
            let mut release = None;
            if let Some(o) = hit {
                o.status = NDIS_STATUS_REQUEST_ABORTED;
                if o.held {
                    o.held = false;
                    release = Some(o.req);
                }
                w.adapters[a].counters.oids_cancelled += 1;
            }
            w.v.check("oid.cancel_by_request_id", !by_ptr, || {
                "NdisCancelOidRequest was given a request pointer, not the request's RequestId"
                    .into()
            });
            Some((a, release))
        });
        if let Some(Some((a, Some(req)))) = r {
            crate::sched::enqueue(DISPATCH_LEVEL, "cancelled OID", move || {
                oidflows::complete_below(a, req)
            });
        }
    });
}

/// # Safety
/// Called by the driver with the documented arguments.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe extern "system-unwind" fn NdisMOidRequestComplete(
    miniport_adapter_handle: NdisHandle,
    oid_request: *mut NdisOidRequest,
    status: NdisStatus,
) {
    guard(E::NdisMOidRequestComplete, (), || {
        world::try_with(|w| {
            enter(w, E::NdisMOidRequestComplete, DISPATCH_LEVEL);
            let status = crate::oidrules::apply_faults(w, oid_request, status);
            let Some(a) = w.expect_live(
                "handle.miniport",
                "NdisMOidRequestComplete",
                miniport_adapter_handle as usize,
                HandleKind::Miniport,
            ) else {
                return;
            };
            let p = oid_request as usize;
            let cur = w.adapters[a].dev.host_oid.as_ref().map(|o| {
                (
                    o.req,
                    o.in_call,
                    o.returned_pending,
                    o.completed,
                    o.sync_status,
                    o.lower_status,
                )
            });
            let Some((req, in_call, pended, done, sync, lower)) = cur else {
                w.v.fail("oid.complete_matches_request", || {
                    format!("NdisMOidRequestComplete({p:#x}) with no host request outstanding")
                });
                return;
            };
            if !w.v.check("oid.complete_matches_request", req == p, || {
                format!(
                    "NdisMOidRequestComplete({p:#x}) but the outstanding host request is {req:#x}"
                )
            }) {
                return;
            }
            let once = done.is_none() && sync.is_none();
            if !w.v.check("oid.complete_once", once, || "NdisMOidRequestComplete for a request already completed (or returned synchronously)".into()) {
                return;
            }
            w.v.check("oid.complete_only_pending", in_call || pended, || {
                "completion of a request that was not pended".into()
            });
            crate::oidrules::check_completion(w, oid_request, status, false);
            if let Some(ls) = lower {
                // SAFETY: the host's live request (checked to be the outstanding one above).
                let (rt, oid) = unsafe {
                    (
                        (*oid_request).request_type,
                        (*oid_request).data.query_set.oid,
                    )
                };
                let want = crate::oidrules::expected_host_status(rt, oid, ls);
                w.v.check("oid.status_propagated", want == status, || {
                    format!("lower completed the forwarded request with {ls:#x}, the host got {status:#x} (expected {want:#x})")
                });
            }
            if let Some(o) = w.adapters[a].dev.host_oid.as_mut() {
                o.completed = Some(status);
            }
            w.adapters[a].counters.oids_completed_to_host += 1;
        });
        crate::sched::kick();
    });
}

/// What `Fault::CloneOidRequest` with a failure status leaves in the out parameter: not a
/// request (an unmapped address, so a driver that uses it faults).
const CLONE_JUNK: usize = 0x0000_0008;

/// # Safety
/// Called by the driver with the documented arguments.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe extern "system-unwind" fn NdisAllocateCloneOidRequest(
    source_handle: NdisHandle,
    oid_request: *mut NdisOidRequest,
    pool_tag: u32,
    clone_oid_request: *mut *mut NdisOidRequest,
) -> NdisStatus {
    guard(
        E::NdisAllocateCloneOidRequest,
        NDIS_STATUS_RESOURCES,
        || {
            world::try_with(|w| {
                enter(w, E::NdisAllocateCloneOidRequest, DISPATCH_LEVEL);
                super::memory::check_tag(w, E::NdisAllocateCloneOidRequest, pool_tag);
                let src = source_handle as usize;
                if w.expect_live(
                    "clone.source_is_binding",
                    "NdisAllocateCloneOidRequest",
                    src,
                    HandleKind::Binding,
                )
                .is_none()
                {
                    return NDIS_STATUS_FAILURE;
                }
                if oid_request.is_null() || clone_oid_request.is_null() {
                    w.v.fail("clone.parameters", || {
                        "NULL request or clone pointer".into()
                    });
                    return NDIS_STATUS_INVALID_PARAMETER;
                }
                if w.inject.should_fail(E::NdisAllocateCloneOidRequest) {
                    return NDIS_STATUS_RESOURCES;
                }
                let fault = w.cfg.faults.iter().find_map(|f| match *f {
                    crate::config::Fault::CloneOidRequest(st) => Some(st),
                    _ => None,
                });
                if let Some(st) = fault {
                    let junk = if st == NDIS_STATUS_SUCCESS {
                        0
                    } else {
                        CLONE_JUNK
                    };
                    // SAFETY: checked non-NULL; the driver's out parameter.
                    unsafe { *clone_oid_request = junk as *mut NdisOidRequest };
                    return st;
                }
                // SAFETY: a valid NDIS_OID_REQUEST (the driver's or the host's); bitwise copy of POD.
                let mut c = RawBox::new(unsafe { std::ptr::read(oid_request) });
                c.ndis_reserved = [std::ptr::null_mut(); 16];
                c.miniport_reserved = [std::ptr::null_mut(); 2];
                c.source_reserved = [std::ptr::null_mut(); 2];
                let cp = c.ptr() as usize;
                w.clone_store.insert(cp, c);
                w.clones.insert(
                    cp,
                    CloneRec {
                        binding: src,
                        orig: oid_request as usize,
                        pending_below: false,
                    },
                );
                w.counters.clones += 1;
                // SAFETY: checked non-NULL; the driver's out parameter.
                unsafe { *clone_oid_request = cp as *mut NdisOidRequest };
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
pub unsafe extern "system-unwind" fn NdisFreeCloneOidRequest(
    source_handle: NdisHandle,
    oid_request: *mut NdisOidRequest,
) {
    guard(E::NdisFreeCloneOidRequest, (), || {
        world::try_with(|w| {
            enter(w, E::NdisFreeCloneOidRequest, DISPATCH_LEVEL);
            let p = oid_request as usize;
            let rec = w.clones.get(&p).map(|c| (c.binding, c.pending_below));
            let Some((binding, pending)) = rec else {
                w.v.fail("clone.free_known", || {
                    format!("NdisFreeCloneOidRequest({p:#x}): not a live clone (double free?)")
                });
                return;
            };
            w.v.check(
                "clone.free_same_source",
                binding == source_handle as usize,
                || "freed with another SourceHandle".into(),
            );
            w.v.check("clone.free_after_completion", !pending, || {
                "clone freed while still pending below".into()
            });
            w.clones.remove(&p);
            if let Some(c) = w.clone_store.remove(&p) {
                // SAFETY: POD request owned by the model; poisoned so later driver reads show.
                unsafe {
                    std::ptr::write_bytes(c.ptr().cast::<u8>(), 0xDD, size_of::<NdisOidRequest>())
                };
                w.graveyard.keep.push(Box::new(c));
            }
            w.counters.clone_frees += 1;
        });
    });
}

/// # Safety
/// Called by the driver with the documented arguments.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe extern "system-unwind" fn NdisMIndicateStatusEx(
    miniport_adapter_handle: NdisHandle,
    status_indication: *mut NdisStatusIndication,
) {
    guard(E::NdisMIndicateStatusEx, (), || {
        let r = world::try_with(|w| {
            enter(w, E::NdisMIndicateStatusEx, DISPATCH_LEVEL);
            let mh = miniport_adapter_handle as usize;
            let a = w.expect_live(
                "handle.miniport",
                "NdisMIndicateStatusEx",
                mh,
                HandleKind::Miniport,
            )?;
            let phase = w.adapters[a].dev.phase;
            w.v.check(
                "status.miniport_initialized",
                matches!(phase, DevPhase::Up | DevPhase::Initializing),
                || format!("NdisMIndicateStatusEx on a miniport that is {phase:?}"),
            );
            if !w.v.check(
                "status.indication_not_null",
                !status_indication.is_null(),
                || "NULL status indication".into(),
            ) {
                return None;
            }
            // SAFETY: non-NULL indication passed by the driver, valid for the call.
            let s = unsafe { &*status_indication };
            let hdr = s.header;
            w.v.check(
                "status.header",
                hdr.kind == object_type::STATUS_INDICATION
                    && hdr.revision == 1
                    && usize::from(hdr.size) >= NDIS_SIZEOF_STATUS_INDICATION_REVISION_1,
                || format!("NDIS_STATUS_INDICATION header {hdr:?}"),
            );
            let size = if w
                .cfg
                .faults
                .contains(&crate::config::Fault::ShortStatusBuffer)
            {
                s.status_buffer_size.saturating_sub(1)
            } else {
                s.status_buffer_size
            };
            let sized = status_buffer_ok(s.status_code, s.status_buffer, size);
            w.v.check("status.buffer_size", sized.is_ok(), || {
                format!(
                    "status {:#x} with StatusBufferSize {size}: {}",
                    s.status_code,
                    sized.err().unwrap_or_default()
                )
            });
            let src = s.source_handle as usize;
            w.v.check("status.source_handle_is_miniport", src == mh, || {
                format!("SourceHandle {src:#x} != MiniportAdapterHandle {mh:#x}")
            });
            let buf = if s.status_buffer.is_null()
                || s.status_buffer_size == 0
                || s.status_buffer_size > 4096
            {
                Vec::new()
            } else {
                // SAFETY: StatusBuffer holds StatusBufferSize bytes (bounded above).
                unsafe {
                    std::slice::from_raw_parts(
                        s.status_buffer.cast::<u8>(),
                        s.status_buffer_size as usize,
                    )
                }
                .to_vec()
            };
            if s.status_code == NDIS_STATUS_LINK_STATE {
                let last = w.adapters[a].last_link_state.clone();
                w.v.check("status.link_state_intact", buf == last, || {
                    "forwarded NDIS_LINK_STATE differs from the lower's".into()
                });
            }
            w.adapters[a].counters.status_to_host += 1;
            w.adapters[a].dev.status_log.push(StatusRecord {
                code: s.status_code,
                buffer: buf,
            });
            Some((a, s.status_code))
        });
        if let Some(Some((a, code))) = r {
            crate::chimney::host::on_status(a, code);
        }
    });
}

/// Whether a status indication's buffer has the size its status code defines (bug check 0x7C
/// code 0x20). A code the model has no definition for fails: forwarding a new status code
/// means adding its buffer definition here.
fn status_buffer_ok(
    code: NdisStatus,
    buf: *mut core::ffi::c_void,
    size: u32,
) -> Result<(), String> {
    match code {
        NDIS_STATUS_LINK_STATE => {
            if buf.is_null() || (size as usize) < NDIS_SIZEOF_LINK_STATE_REVISION_1 {
                return Err(format!(
                    "NDIS_LINK_STATE needs {NDIS_SIZEOF_LINK_STATE_REVISION_1} bytes"
                ));
            }
            // SAFETY: a non-NULL buffer of at least an NDIS_LINK_STATE's size.
            let hdr = unsafe { buf.cast::<NdisObjectHeader>().read_unaligned() };
            let ok = hdr.kind == object_type::DEFAULT
                && hdr.revision >= 1
                && usize::from(hdr.size) >= NDIS_SIZEOF_LINK_STATE_REVISION_1
                && u32::from(hdr.size) <= size;
            if ok {
                Ok(())
            } else {
                Err(format!("NDIS_LINK_STATE header {hdr:?}"))
            }
        }
        // The chimney requests carry no buffer.
        NDIS_STATUS_OFFLOAD_PAUSE | NDIS_STATUS_UPLOAD_ALL | NDIS_STATUS_OFFLOAD_RESUME => {
            if buf.is_null() == (size == 0) {
                Ok(())
            } else {
                Err("StatusBuffer and StatusBufferSize disagree".into())
            }
        }
        _ => Err("a status code the model has no buffer definition for".into()),
    }
}
