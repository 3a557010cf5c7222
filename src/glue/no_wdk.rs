//! What wdk-alloc, wdk-panic and the WDK's static libraries provide, for the Linux cross-build of
//! the `.sys` (`--cfg no_wdk`, building-on-linux.md §4, §5): a pool-backed global allocator, a
//! bugcheck panic handler, and the two symbols the prebuilt `core`/`alloc` objects reference.
//! Their kernel imports are declared in [`crate::ndis::runtime`].
//!
//! The driver's own state never uses `alloc` (it allocates through
//! `NdisAllocateMemoryWithTagPriority`, which the NDIS verifier tracks), so in today's image the
//! allocator is dead code that LTO and `/OPT:REF` drop, and `ExAllocatePool2`/`ExFreePool` are
//! not imported. It stays so that the `no_wdk` image behaves like the WDK one if `alloc` is ever
//! used; the PE test therefore allows, but does not require, the imports of `ndis::runtime`.

use core::alloc::{GlobalAlloc, Layout};
use core::panic::PanicInfo;

use crate::ndis::runtime::{ExAllocatePool2, ExFreePool, KeBugCheckEx};

/// `POOL_FLAG_NON_PAGED` (wdm.h), as wdk-alloc uses.
const POOL_FLAG_NON_PAGED: u64 = 0x40;
/// wdk-alloc's pool tag, so both builds' allocations look alike in `!poolused`.
const RUST_TAG: u32 = u32::from_ne_bytes(*b"rust");
/// `MEMORY_ALLOCATION_ALIGNMENT` on x64: every pool block is 16-byte aligned.
const POOL_ALIGNMENT: usize = 16;

/// wdk-alloc's `WdkAllocator`, except that it refuses (returns null for) alignments the pool
/// cannot guarantee instead of ignoring them. Usable at IRQL <= DISPATCH_LEVEL.
struct PoolAllocator;

// SAFETY: blocks come from the non-paged pool, are at least `layout.size()` bytes and 16-byte
// aligned, larger alignments are refused with null, and `dealloc` frees exactly the blocks that
// `alloc` returned. Nothing here panics or unwinds.
unsafe impl GlobalAlloc for PoolAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.align() > POOL_ALIGNMENT {
            return core::ptr::null_mut();
        }
        // SAFETY: ExAllocatePool2 has no preconditions beyond IRQL <= DISPATCH_LEVEL for a
        // non-paged allocation, which `GlobalAlloc` callers in this driver respect.
        unsafe { ExAllocatePool2(POOL_FLAG_NON_PAGED, layout.size(), RUST_TAG) }.cast()
    }

    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: `GlobalAlloc::dealloc`'s contract: `ptr` came from `alloc` above, i.e. from
        // ExAllocatePool2, and is freed once.
        unsafe { ExFreePool(ptr.cast()) }
    }
}

#[global_allocator]
static GLOBAL: PoolAllocator = PoolAllocator;

/// wdk-panic's handler: bugcheck `RPNC` ("Rust panic") with the panic location as parameters
/// (file name pointer and length, line, column) for the crash dump. (wdk-panic also breaks into
/// the debugger first in debug builds; the cross-build is release-only.)
#[panic_handler]
fn panic(info: &PanicInfo<'_>) -> ! {
    const RUST_PANIC_BUGCHECK_CODE: u32 = u32::from_be_bytes(*b"RPNC");
    let (file, file_len, line, column) = info.location().map_or((0, 0, 0, 0), |location| {
        (
            location.file().as_ptr() as usize,
            location.file().len(),
            location.line() as usize,
            location.column() as usize,
        )
    });
    // SAFETY: KeBugCheckEx takes any parameter values and is callable at any IRQL.
    unsafe { KeBugCheckEx(RUST_PANIC_BUGCHECK_CODE, file, file_len, line, column) }
}

/// Normally from the MSVC CRT; referenced by floating-point code in the prebuilt `core`.
#[unsafe(no_mangle)]
#[used]
#[allow(non_upper_case_globals)]
static _fltused: i32 = 0;

/// The MSVC C++/unwind personality routine named by the landing pads of the prebuilt
/// (panic=unwind) `core`/`alloc` objects (rust-lang/rust#101134). With `panic = "abort"` it is
/// never reached through Rust code; should an SEH exception ever pass through such a frame, 1 =
/// `ExceptionContinueSearch` hands it on (wdk-sys's stub returns 0 = ExceptionContinueExecution,
/// which would re-run the faulting instruction forever).
#[unsafe(no_mangle)]
#[allow(non_snake_case)]
extern "system" fn __CxxFrameHandler3() -> i32 {
    1
}
