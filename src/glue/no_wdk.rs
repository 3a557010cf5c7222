//! What wdk-panic and the WDK's static libraries provide, for the Linux cross-build of the `.sys`
//! (`--cfg no_wdk`, `.ci/build-sys`): a bugcheck panic handler and the two symbols the
//! prebuilt `core` objects reference. Their kernel imports are declared in [`crate::ndis::runtime`].
//!
//! There is deliberately no global allocator (see [`crate::glue`]): the driver allocates through
//! `NdisAllocateMemoryWithTagPriority`, so the image never imports `ExAllocatePool2`.

use core::panic::PanicInfo;

use crate::ndis::runtime::KeBugCheckEx;

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
