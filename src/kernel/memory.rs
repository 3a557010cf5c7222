//! Non-paged pool memory owned through NDIS (`NdisAllocateMemoryWithTagPriority` /
//! `NdisFreeMemory`), so that the NDIS verifier sees every allocation the driver makes.

use core::mem::{align_of, size_of};
use core::ptr::NonNull;

use crate::ndis::NdisHandle;
use crate::ndis::imports::{
    NORMAL_POOL_PRIORITY, NdisAllocateMemoryWithTagPriority, NdisFreeMemory,
};

/// Pool tag of every allocation this driver makes ("CImP" in a pool dump).
pub const POOL_TAG: u32 = u32::from_le_bytes(*b"CImP");

/// x64 pool blocks are 16-byte aligned (MEMORY_ALLOCATION_ALIGNMENT).
const POOL_ALIGNMENT: usize = 16;

/// An owned, pool-allocated `T`. Freed (and dropped) with `NdisFreeMemory`.
pub struct PoolBox<T> {
    ptr: NonNull<T>,
}

// SAFETY: PoolBox owns its T exclusively, like Box; sending it sends the T.
unsafe impl<T: Send> Send for PoolBox<T> {}

impl<T> PoolBox<T> {
    const SIZE: u32 = {
        assert!(
            align_of::<T>() <= POOL_ALIGNMENT,
            "pool memory is only 16-byte aligned"
        );
        assert!(size_of::<T>() > 0 && size_of::<T>() <= u32::MAX as usize);
        #[allow(clippy::cast_possible_truncation, reason = "checked above")]
        let size = size_of::<T>() as u32;
        size
    };

    /// Allocates non-paged memory for `value` against `ndis_handle` (a driver or binding handle).
    /// Returns `None` (dropping `value`) when the pool allocation fails.
    #[allow(
        clippy::not_unsafe_ptr_arg_deref,
        reason = "the handle is opaque: only NDIS interprets it"
    )]
    pub fn try_new(ndis_handle: NdisHandle, value: T) -> Option<Self> {
        let ptr = Self::alloc_zeroed(ndis_handle)?;
        // SAFETY: `ptr` is a fresh, exclusively owned, suitably aligned block of size_of::<T>().
        unsafe { ptr.as_ptr().write(value) };
        Some(Self { ptr })
    }

    /// A fresh pool block for one `T`, zero-filled, padding included: NDIS-visible state (offload
    /// handles above all) must start all-NULL, and pool memory is not zeroed. None when the pool
    /// is exhausted.
    #[inline(always)]
    fn alloc_zeroed(ndis_handle: NdisHandle) -> Option<NonNull<T>> {
        // SAFETY: any NDIS handle obtained at registration is valid for this call; the size is
        // non-zero and fits in u32 (checked at compile time).
        let raw = unsafe {
            NdisAllocateMemoryWithTagPriority(
                ndis_handle,
                Self::SIZE,
                POOL_TAG,
                NORMAL_POOL_PRIORITY,
            )
        };
        let ptr = NonNull::new(raw.cast::<T>())?;
        debug_assert!(ptr.as_ptr().is_aligned());
        // SAFETY: `ptr` is a fresh block of size_of::<T>() bytes that we own.
        unsafe { ptr.as_ptr().write_bytes(0, 1) };
        Some(ptr)
    }

    /// [`PoolBox::try_new`] with the value written in place by `init`, field by field, into the
    /// zero-filled pool block, so that a large `T` is never built on the caller's stack and
    /// copied (stack budget: ProtocolBindAdapterEx builds the binding this way). `init` does not
    /// run if the allocation fails.
    ///
    /// # Safety
    /// `init` must leave a fully initialised `T` at the pointer it is given (aligned, valid for
    /// writes of one `T`, zero-filled, owned by nobody else).
    #[inline(always)]
    #[allow(
        clippy::not_unsafe_ptr_arg_deref,
        reason = "the handle is opaque: only NDIS interprets it"
    )]
    pub unsafe fn try_new_in_place(
        ndis_handle: NdisHandle,
        init: impl FnOnce(*mut T),
    ) -> Option<Self> {
        let ptr = Self::alloc_zeroed(ndis_handle)?;
        // The caller's contract: `init` initialises the whole T here.
        init(ptr.as_ptr());
        Some(Self { ptr })
    }

    /// The allocation's own pointer, without giving up ownership. Objects that must later be
    /// freed (or reached whole) through a pointer that is not the `PoolBox` keep this one: a
    /// pointer made from a `&T` may only read the object, never free it (Rust's aliasing rules,
    /// which Miri's Stacked Borrows check enforces).
    pub fn as_ptr(&self) -> *mut T {
        self.ptr.as_ptr()
    }

    /// Gives up ownership; the pointer stays valid until [`PoolBox::from_raw`] re-owns it.
    pub fn into_raw(self) -> *mut T {
        let ptr = self.ptr.as_ptr();
        core::mem::forget(self);
        ptr
    }

    /// Re-owns a pointer produced by [`PoolBox::into_raw`].
    ///
    /// # Safety
    /// `ptr` came from `into_raw` of a `PoolBox<T>` and is not owned by anyone else.
    pub unsafe fn from_raw(ptr: *mut T) -> Self {
        Self {
            // SAFETY: into_raw never yields null (caller contract).
            ptr: unsafe { NonNull::new_unchecked(ptr) },
        }
    }
}

impl<T> core::ops::Deref for PoolBox<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the block holds an initialised T for as long as this PoolBox lives.
        unsafe { self.ptr.as_ref() }
    }
}

impl<T> Drop for PoolBox<T> {
    fn drop(&mut self) {
        // SAFETY: we own the initialised T; it is dropped exactly once, here.
        unsafe { core::ptr::drop_in_place(self.ptr.as_ptr()) };
        // SAFETY: the block was allocated by NdisAllocateMemoryWithTagPriority with SIZE bytes.
        unsafe { NdisFreeMemory(self.ptr.as_ptr().cast(), Self::SIZE, 0) };
    }
}

/// An owned, pool-allocated array of `len` `T`s, aligned to `align_of::<T>()` even when that is
/// more than the pool's 16 bytes (cache-line-aligned per-processor slots): the block is
/// over-allocated by `align_of::<T>() - 16` bytes and the array starts at the first aligned
/// address in it. Freed (and its elements dropped) with `NdisFreeMemory`.
pub struct PoolArray<T> {
    /// First element (aligned).
    ptr: NonNull<T>,
    len: usize,
    /// The block NDIS returned, and its size: what `NdisFreeMemory` needs back.
    block: NonNull<u8>,
    block_size: u32,
}

// SAFETY: PoolArray owns its elements exclusively, like Box<[T]>.
unsafe impl<T: Send> Send for PoolArray<T> {}
// SAFETY: shared access only hands out `&[T]`.
unsafe impl<T: Sync> Sync for PoolArray<T> {}

impl<T> PoolArray<T> {
    /// Allocates non-paged memory for `len` (> 0) elements against `ndis_handle` and fills it
    /// with `init(0)`, `init(1)`, ... Returns `None` when the pool allocation fails or the size
    /// does not fit in the `u32` NDIS takes.
    #[allow(
        clippy::not_unsafe_ptr_arg_deref,
        reason = "the handle is opaque: only NDIS interprets it"
    )]
    pub fn try_new_with(
        ndis_handle: NdisHandle,
        len: usize,
        mut init: impl FnMut(usize) -> T,
    ) -> Option<Self> {
        const { assert!(size_of::<T>() > 0) };
        let slack = align_of::<T>().saturating_sub(POOL_ALIGNMENT);
        let bytes = size_of::<T>().checked_mul(len)?.checked_add(slack)?;
        let block_size = u32::try_from(bytes).ok().filter(|_| len > 0)?;
        // SAFETY: any NDIS handle obtained at registration is valid for this call; the size is
        // non-zero.
        let raw = unsafe {
            NdisAllocateMemoryWithTagPriority(
                ndis_handle,
                block_size,
                POOL_TAG,
                NORMAL_POOL_PRIORITY,
            )
        };
        let block = NonNull::new(raw.cast::<u8>())?;
        // `slack` bytes cover the distance from a 16-byte-aligned block to the next
        // `align_of::<T>()` boundary, so the array fits in the block after aligning up.
        let offset = block.as_ptr().align_offset(align_of::<T>());
        debug_assert!(offset <= slack);
        // SAFETY: offset <= slack, so the result stays inside the block.
        let first = unsafe { block.as_ptr().add(offset) }.cast::<T>();
        for i in 0..len {
            // SAFETY: element i lies inside the block (offset + len * size <= block_size).
            let element = unsafe { first.add(i) };
            // SAFETY: `element` is in bounds, aligned, fresh and ours.
            unsafe { element.write(init(i)) };
        }
        Some(Self {
            // SAFETY: derived from the non-null block by an in-bounds offset.
            ptr: unsafe { NonNull::new_unchecked(first) },
            len,
            block,
            block_size,
        })
    }
}

impl<T> core::ops::Deref for PoolArray<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        // SAFETY: `len` initialised, aligned elements live at `ptr` as long as self does.
        unsafe { core::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl<T> Drop for PoolArray<T> {
    fn drop(&mut self) {
        let elements = core::ptr::slice_from_raw_parts_mut(self.ptr.as_ptr(), self.len);
        // SAFETY: we own the `len` initialised elements; they are dropped exactly once, here.
        unsafe { core::ptr::drop_in_place(elements) };
        // SAFETY: `block` was allocated by NdisAllocateMemoryWithTagPriority with `block_size`
        // bytes and is freed once.
        unsafe { NdisFreeMemory(self.block.as_ptr().cast(), self.block_size, 0) };
    }
}
