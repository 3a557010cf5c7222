//! Safe handles over NET_BUFFER_LISTs that NDIS hands the driver: single NBLs, chains, an O(1)
//! chain builder, and the driver's per-NBL context (the saved SourceHandle).
//!
//! The driver never allocates or frees NBLs and never touches their Protocol/MiniportReserved
//! areas: NBLs belong to other layers. It writes only SourceHandle (saved and restored around a
//! forward), Status (when it completes an NBL itself), the `Next` link (when it splits a chain it
//! owns) and its own NBL context block.

use core::ffi::c_void;
use core::ptr::NonNull;

use crate::ndis::imports::{NdisAllocateNetBufferListContext, NdisFreeNetBufferListContext};
use crate::ndis::{NBL_CONTEXT_DATA_OFFSET, NdisHandle, NdisStatus, NetBufferList};

use super::memory::POOL_TAG;

/// An NBL the driver currently has the right to touch (between receiving it from NDIS and
/// handing it on). Copyable like the raw pointer it is; validity is the constructor's contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Nbl(NonNull<NetBufferList>);

impl Nbl {
    /// # Safety
    /// `ptr` is null or an NBL that NDIS passed to the driver and that stays valid, and not
    /// concurrently written by another layer, while the driver uses this handle.
    pub unsafe fn from_raw(ptr: *mut NetBufferList) -> Option<Self> {
        NonNull::new(ptr).map(Self)
    }

    pub fn as_ptr(self) -> *mut NetBufferList {
        self.0.as_ptr()
    }

    pub fn next(self) -> Option<Self> {
        // SAFETY: `from_raw` contract: the NBL is valid.
        let header = unsafe { (*self.as_ptr()).header };
        // SAFETY: an NBL handed to a driver uses the data arm of its header union (the SLIST arm
        // is only used while an NBL sits in a pool's free list).
        let next = unsafe { header.data.next };
        NonNull::new(next).map(Self)
    }

    fn set_next(self, next: Option<Self>) {
        let raw = next.map_or(core::ptr::null_mut(), Self::as_ptr);
        // SAFETY: `from_raw` contract. `Next` is the first field of the header union's data arm,
        // which is at offset 0 of the NBL (layout asserted in crate::ndis::nbl).
        let slot = unsafe { &raw mut (*self.as_ptr()).header }.cast::<*mut NetBufferList>();
        // SAFETY: `slot` is the NBL's Next pointer; the driver owns the chain it is re-linking.
        unsafe { slot.write(raw) };
    }

    /// Ends the chain at this NBL (its `Next` cleared), splitting off what followed; the caller
    /// has read `next()` first and owns the chain.
    pub fn cut_after(self) {
        self.set_next(None);
    }

    pub fn source_handle(self) -> NdisHandle {
        // SAFETY: `from_raw` contract.
        unsafe { (*self.as_ptr()).source_handle }
    }

    pub fn set_source_handle(self, handle: NdisHandle) {
        // SAFETY: `from_raw` contract; SourceHandle is the field NDIS routes by and the driver
        // saves/restores around every forward.
        unsafe { (*self.as_ptr()).source_handle = handle };
    }

    pub fn set_status(self, status: NdisStatus) {
        // SAFETY: `from_raw` contract; the driver sets Status only on NBLs it completes itself.
        unsafe { (*self.as_ptr()).status = status };
    }

    /// Saves `saved_source_handle` (and, with `Some`, `owner`: an opaque pointer the completion
    /// path needs, the chimney offload entry) in a new NBL context block owned by the driver.
    /// Without an owner the block's second word is left as NDIS gave it (never read: the plain
    /// paths pop with [`Nbl::pop_context_restore`]).
    #[inline(always)]
    pub fn push_context(
        self,
        saved_source_handle: NdisHandle,
        owner: Option<*mut c_void>,
    ) -> Result<(), NdisStatus> {
        // SAFETY: `from_raw` contract; the size is a multiple of MEMORY_ALLOCATION_ALIGNMENT.
        let status = unsafe {
            NdisAllocateNetBufferListContext(self.as_ptr(), NblContext::SIZE, 0, POOL_TAG)
        };
        if status != crate::ndis::NDIS_STATUS_SUCCESS {
            return Err(status);
        }
        let data = self.context_data();
        // SAFETY: NDIS just allocated SIZE bytes of context at `data`, pointer-aligned: the
        // first field (offset 0, repr(C)) is an aligned, writable place in the block.
        unsafe { NblContext::saved_at(data).write(saved_source_handle) };
        if let Some(owner) = owner {
            // SAFETY: the second field of the same block: aligned, writable, in bounds.
            unsafe { NblContext::owner_at(data).write(owner) };
        }
        Ok(())
    }

    /// Frees the context block pushed by [`Nbl::push_context`] **with an owner**, restores the
    /// SourceHandle it saved and returns the owner. Context blocks are LIFO: the driver's block
    /// must be the newest on the NBL.
    #[inline(always)]
    pub fn pop_context_and_restore(self) -> *mut c_void {
        let data = self.context_data();
        // SAFETY: the newest context block on this NBL is the driver's (LIFO; every NBL the driver
        // gets back from below is one it pushed a block on before forwarding it), and the caller's
        // push wrote both fields.
        let context = unsafe { data.read() };
        // SAFETY: frees exactly the block allocated in `push_context`, with the same size.
        unsafe { NdisFreeNetBufferListContext(self.as_ptr(), NblContext::SIZE) };
        self.set_source_handle(context.saved_source_handle);
        context.owner
    }

    /// Frees the context block pushed by [`Nbl::push_context`] (with or without an owner) and
    /// restores the SourceHandle it saved; the owner word is not read.
    #[inline(always)]
    pub fn pop_context_restore(self) {
        let data = self.context_data();
        // SAFETY: the newest context block on this NBL is the driver's (LIFO, as in
        // `pop_context_and_restore`), and every push wrote its first field.
        let saved = unsafe { NblContext::saved_at(data).read() };
        // SAFETY: frees exactly the block allocated in `push_context`, with the same size.
        unsafe { NdisFreeNetBufferListContext(self.as_ptr(), NblContext::SIZE) };
        self.set_source_handle(saved);
    }

    /// `NET_BUFFER_LIST_CONTEXT_DATA_START`.
    fn context_data(self) -> *mut NblContext {
        // SAFETY: `from_raw` contract; NDIS keeps Context pointing at the newest context block.
        let context = unsafe { (*self.as_ptr()).context };
        debug_assert!(!context.is_null());
        // SAFETY: a context block's header is valid while the block is allocated.
        let offset = usize::from(unsafe { (*context).offset });
        context
            .cast::<u8>()
            .wrapping_add(NBL_CONTEXT_DATA_OFFSET + offset)
            .cast::<NblContext>()
    }
}

/// The driver's NBL context block: where an NBL's SourceHandle waits while the NBL is below (or
/// above) us. ProtocolReserved, MiniportReserved and Scratch belong to other layers.
#[repr(C)]
struct NblContext {
    saved_source_handle: NdisHandle,
    owner: *mut c_void,
}

impl NblContext {
    /// Must be a multiple of MEMORY_ALLOCATION_ALIGNMENT (16).
    const SIZE: u16 = 16;

    /// The place of `saved_source_handle` in the block at `block` (address arithmetic only).
    fn saved_at(block: *mut Self) -> *mut NdisHandle {
        block
            .cast::<u8>()
            .wrapping_add(core::mem::offset_of!(Self, saved_source_handle))
            .cast()
    }

    /// The place of `owner` in the block at `block` (address arithmetic only).
    fn owner_at(block: *mut Self) -> *mut *mut c_void {
        block
            .cast::<u8>()
            .wrapping_add(core::mem::offset_of!(Self, owner))
            .cast()
    }
}

const _: () = assert!(core::mem::size_of::<NblContext>() <= NblContext::SIZE as usize);

/// A NULL-terminated NBL chain the driver was handed.
#[derive(Debug)]
pub struct NblChain {
    head: Option<Nbl>,
}

impl NblChain {
    /// # Safety
    /// Every NBL reachable from `head` satisfies [`Nbl::from_raw`]'s contract.
    pub unsafe fn from_raw(head: *mut NetBufferList) -> Self {
        // SAFETY: the head is one of the NBLs this function's contract covers.
        let head = unsafe { Nbl::from_raw(head) };
        Self { head }
    }

    /// The chain that starts at `head` (NULL-terminated), e.g. a run cut off a longer chain.
    pub fn from_head(head: Nbl) -> Self {
        Self { head: Some(head) }
    }

    pub fn head(&self) -> Option<Nbl> {
        self.head
    }

    pub fn as_ptr(&self) -> *mut NetBufferList {
        self.head.map_or(core::ptr::null_mut(), Nbl::as_ptr)
    }

    /// Walks the chain without changing it.
    pub fn iter(&self) -> NblIter {
        NblIter { next: self.head }
    }

    /// Number of NBLs (O(n), i.e. O(1) per NBL).
    pub fn count(&self) -> u32 {
        let mut n = 0u32;
        for _ in self.iter() {
            n += 1;
        }
        n
    }

    /// Pushes the driver's context on every NBL (saving its SourceHandle, and `owner`), then,
    /// with `source`, sets SourceHandle to it; returns how many NBLs the chain has (the one pass
    /// over the chain a forward makes: the hot paths count here instead of walking it twice).
    /// All or nothing: on a failure every context pushed so far is popped again (SourceHandles
    /// restored) and the status is returned.
    #[inline(always)]
    pub fn push_contexts(
        &self,
        owner: Option<*mut c_void>,
        source: Option<NdisHandle>,
    ) -> Result<u32, NdisStatus> {
        let mut pushed = 0u32;
        let mut next = self.head;
        while let Some(nbl) = next {
            next = nbl.next();
            if let Err(status) = nbl.push_context(nbl.source_handle(), owner) {
                self.undo_pushed(pushed);
                return Err(status);
            }
            if let Some(source) = source {
                nbl.set_source_handle(source);
            }
            pushed += 1;
        }
        Ok(pushed)
    }

    /// Pops the contexts of the first `pushed` NBLs (a failed [`NblChain::push_contexts`]).
    /// Out of line: only when NDIS is out of context space.
    #[cold]
    #[inline(never)]
    fn undo_pushed(&self, pushed: u32) {
        for nbl in self.iter().take(pushed as usize) {
            nbl.pop_context_restore();
        }
    }

    /// Pops the driver's context off every NBL, restoring SourceHandles; returns how many.
    #[inline(always)]
    pub fn pop_contexts(&self) -> u32 {
        let mut count = 0u32;
        for nbl in self.iter() {
            nbl.pop_context_restore();
            count += 1;
        }
        count
    }
}

pub struct NblIter {
    next: Option<Nbl>,
}

impl Iterator for NblIter {
    type Item = Nbl;
    fn next(&mut self) -> Option<Nbl> {
        let current = self.next?;
        self.next = current.next();
        Some(current)
    }
}
