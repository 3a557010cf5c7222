//! Pool memory and NBL context space.

#![allow(non_snake_case, reason = "exports keep their ndis.sys names")]

use std::alloc::{Layout, alloc, dealloc};
use std::ffi::c_void;

use chimney_im::ndis::*;

use super::{enter, guard};
use crate::nbl::{self, Loc};
use crate::verifier::Export as E;
use crate::world::{self, HandleKind};

fn layout(len: u32) -> Option<Layout> {
    Layout::from_size_align(len as usize, 16).ok()
}

/// # Safety
/// Called by the driver with the documented arguments.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe extern "system-unwind" fn NdisAllocateMemoryWithTagPriority(
    ndis_handle: NdisHandle,
    length: u32,
    tag: u32,
    _priority: u32,
) -> *mut c_void {
    guard(
        E::NdisAllocateMemoryWithTagPriority,
        std::ptr::null_mut(),
        || {
            world::try_with(|w| {
            enter(w, E::NdisAllocateMemoryWithTagPriority, DISPATCH_LEVEL);
            check_tag(w, E::NdisAllocateMemoryWithTagPriority, tag);
            let h = ndis_handle as usize;
            let info = w.handles.get(&h).copied();
            let ok = info.is_some_and(|i| {
                i.alive
                    && matches!(
                        i.kind,
                        HandleKind::MiniportDriver | HandleKind::ProtocolDriver | HandleKind::Binding | HandleKind::Miniport
                    )
            });
            w.v.check("memory.handle_valid", ok, || {
                format!("NdisAllocateMemoryWithTagPriority NdisHandle {h:#x} is {info:?}, not a live driver/binding/miniport handle")
            });
            w.v.check("memory.length_nonzero", length > 0, || "zero-length allocation".into());
            if length == 0 || w.inject.should_fail(E::NdisAllocateMemoryWithTagPriority) {
                return std::ptr::null_mut();
            }
            let Some(l) = layout(length) else { return std::ptr::null_mut() };
            // SAFETY: non-zero size, valid alignment.
            let p = unsafe { alloc(l) };
            if p.is_null() {
                return std::ptr::null_mut();
            }
            // SAFETY: fresh allocation of `length` bytes; filled so reads of uninitialised pool show.
            unsafe { std::ptr::write_bytes(p, 0xCD, length as usize) };
            w.mem.insert(p as usize, (length, tag));
            w.counters.allocations += 1;
            w.counters.bytes += u64::from(length);
            w.counters.peak_bytes = w.counters.peak_bytes.max(w.counters.bytes);
            p.cast()
        })
        .unwrap_or(std::ptr::null_mut())
        },
    )
}

/// # Safety
/// Called by the driver with the documented arguments.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe extern "system-unwind" fn NdisFreeMemory(
    virtual_address: *mut c_void,
    length: u32,
    memory_flags: u32,
) {
    guard(E::NdisFreeMemory, (), || {
        world::try_with(|w| {
            enter(w, E::NdisFreeMemory, DISPATCH_LEVEL);
            let p = virtual_address as usize;
            let rec = w.mem.get(&p).copied();
            if !w.v.check("memory.free_known_block", rec.is_some(), || {
                format!("NdisFreeMemory({p:#x}): not allocated by NdisAllocateMemoryWithTagPriority (or freed twice)")
            }) {
                return;
            }
            let (len, _tag) = rec.unwrap_or((0, 0));
            w.v.check("memory.free_length_matches", len == length, || {
                format!(
                    "NdisFreeMemory({p:#x}, {length}): the block was allocated with {len} bytes"
                )
            });
            w.v.check("memory.free_flags_zero", memory_flags == 0, || {
                format!("MemoryFlags {memory_flags:#x} (must be 0)")
            });
            w.mem.remove(&p);
            // Events living in the block die with it: a later NdisSetEvent/ResetEvent/WaitEvent on
            // one is a use after free ("event.initialized").
            let end = p + len as usize;
            w.events.retain(|&e, _| !(p..end).contains(&e));
            w.counters.frees += 1;
            w.counters.bytes -= u64::from(len);
            if let Some(l) = layout(len) {
                // SAFETY: p was returned by alloc with this exact layout and is freed once (removed
                // from the table above).
                unsafe {
                    std::ptr::write_bytes(p as *mut u8, 0xDD, len as usize);
                    dealloc(p as *mut u8, l);
                }
            }
        });
    });
}

/// # Safety
/// Called by the driver with the documented arguments.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe extern "system-unwind" fn NdisAllocateNetBufferListContext(
    net_buffer_list: *mut NetBufferList,
    context_size: u16,
    context_back_fill: u16,
    pool_tag: u32,
) -> NdisStatus {
    guard(
        E::NdisAllocateNetBufferListContext,
        NDIS_STATUS_RESOURCES,
        || {
            world::try_with(|w| {
            enter(w, E::NdisAllocateNetBufferListContext, DISPATCH_LEVEL);
            check_tag(w, E::NdisAllocateNetBufferListContext, pool_tag);
            let p = net_buffer_list as usize;
            w.v.check(
                "nbl_context.size_multiple_of_16",
                context_size > 0 && context_size.is_multiple_of(16) && context_back_fill.is_multiple_of(16),
                || format!("ContextSize {context_size} / ContextBackFill {context_back_fill} not multiples of MEMORY_ALLOCATION_ALIGNMENT"),
            );
            let loc = w.nbls.recs.get(&p).map(|r| r.loc);
            if !w.v.check("nbl_context.driver_owns_nbl", loc == Some(Loc::Driver), || {
                format!("NdisAllocateNetBufferListContext on NBL {p:#x} which is {loc:?}")
            }) {
                return NDIS_STATUS_INVALID_PARAMETER;
            }
            if w.inject.should_fail(E::NdisAllocateNetBufferListContext) {
                return NDIS_STATUS_RESOURCES;
            }
            let Some(r) = w.nbls.recs.get_mut(&p) else { return NDIS_STATUS_FAILURE };
            if nbl::ctx_alloc(r, context_size, context_back_fill) {
                w.counters.ctx_allocs += 1;
                NDIS_STATUS_SUCCESS
            } else {
                NDIS_STATUS_RESOURCES
            }
        })
        .unwrap_or(NDIS_STATUS_FAILURE)
        },
    )
}

/// # Safety
/// Called by the driver with the documented arguments.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe extern "system-unwind" fn NdisFreeNetBufferListContext(
    net_buffer_list: *mut NetBufferList,
    context_size: u16,
) {
    guard(E::NdisFreeNetBufferListContext, (), || {
        world::try_with(|w| {
            enter(w, E::NdisFreeNetBufferListContext, DISPATCH_LEVEL);
            let p = net_buffer_list as usize;
            let loc = w.nbls.recs.get(&p).map(|r| r.loc);
            if !w.v.check(
                "nbl_context.driver_owns_nbl",
                loc == Some(Loc::Driver),
                || format!("NdisFreeNetBufferListContext on NBL {p:#x} which is {loc:?}"),
            ) {
                return;
            }
            let Some(r) = w.nbls.recs.get_mut(&p) else {
                return;
            };
            let res = nbl::ctx_free(r, context_size);
            let header = match &res {
                Err(nbl::CtxFreeError::Header(m)) => Some(m.clone()),
                _ => None,
            };
            let lifo = match &res {
                Err(nbl::CtxFreeError::Lifo(m)) => Some(m.clone()),
                _ => None,
            };
            let header_ok =
                w.v.check("nbl_context.header_intact", header.is_none(), || {
                    format!(
                        "NdisFreeNetBufferListContext({context_size}): {}",
                        header.clone().unwrap_or_default()
                    )
                });
            let lifo_ok = w.v.check("nbl_context.free_lifo", lifo.is_none(), || {
                format!(
                    "NdisFreeNetBufferListContext({context_size}): {}",
                    lifo.clone().unwrap_or_default()
                )
            });
            if header_ok && lifo_ok {
                w.counters.ctx_frees += 1;
            }
        });
    });
}

/// Checks the pool tag of a tagged allocation (NdisAllocateMemoryWithTagPriority rule: the tag
/// is not 0; the same holds for every tagged NDIS allocator).
pub(crate) fn check_tag(w: &mut world::World, e: E, tag: u32) {
    let tag = if w.cfg.faults.contains(&crate::config::Fault::ZeroTag) {
        0
    } else {
        tag
    };
    w.v.check("memory.tag_nonzero", tag != 0, || {
        format!("{e} called with pool tag 0")
    });
}
