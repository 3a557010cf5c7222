//! The kernel runtime the release image imports on its own, beyond the NDIS/kernel exports the
//! driver source declares: `memcpy` and friends (LLVM emits calls to them and the MSVC target's
//! `compiler_builtins` does not define them, so the image imports them from ntoskrnl.exe) and
//! `KeBugCheckEx` (the image's panic handler). Only the Wine tier's loader binds these, by name
//! through the export table; they are deliberately not `#[no_mangle]` (the test binary's own C
//! runtime defines the `mem*` symbols).

use std::ffi::{c_char, c_int, c_void};

use crate::drv;

/// `RPNC`: the bugcheck code the image's panic handler raises (parameters: file name pointer,
/// file name length, line, column).
pub const RUST_PANIC_BUGCHECK: u32 = u32::from_be_bytes(*b"RPNC");

/// `KeBugCheckEx`: the image stopped the machine. Recorded as a violation naming the code and
/// its four parameters (for `RPNC`, the panic location); then the driver call that led here is
/// abandoned: the model unwinds to the handler call that entered the image, and the test fails.
///
/// # Safety
/// Called by the driver image. For `RPNC`, `p1`/`p2` describe a string inside the image.
pub unsafe extern "system-unwind" fn ke_bug_check_ex(
    code: u32,
    p1: usize,
    p2: usize,
    p3: usize,
    p4: usize,
) -> ! {
    let mut msg = format!(
        "KeBugCheckEx({code:#010x}, {p1:#x}, {p2:#x}, {p3:#x}, {p4:#x}) called by the driver"
    );
    if code == RUST_PANIC_BUGCHECK && p1 != 0 && p2 < 4096 && drv::in_image(p1, p2) {
        // SAFETY: the image's panic handler passes a pointer to `p2` bytes of its file name,
        // which lies inside the mapped image (checked above).
        let file = unsafe { std::slice::from_raw_parts(p1 as *const u8, p2) };
        msg.push_str(&format!(
            ": Rust panic at {}:{p3}:{p4}",
            String::from_utf8_lossy(file)
        ));
    }
    drv::driver_fault("image.bug_check", msg)
}

/// # Safety
/// The C contract: `count` bytes readable at `src`, writable at `dest`, not overlapping.
pub unsafe extern "C" fn memcpy(
    dest: *mut c_void,
    src: *const c_void,
    count: usize,
) -> *mut c_void {
    // SAFETY: the caller's contract, as above.
    unsafe { std::ptr::copy_nonoverlapping(src.cast::<u8>(), dest.cast::<u8>(), count) };
    dest
}

/// # Safety
/// The C contract: `count` bytes readable at `src` and writable at `dest` (may overlap).
pub unsafe extern "C" fn memmove(
    dest: *mut c_void,
    src: *const c_void,
    count: usize,
) -> *mut c_void {
    // SAFETY: the caller's contract, as above.
    unsafe { std::ptr::copy(src.cast::<u8>(), dest.cast::<u8>(), count) };
    dest
}

/// # Safety
/// The C contract: `count` bytes writable at `dest`.
pub unsafe extern "C" fn memset(dest: *mut c_void, c: c_int, count: usize) -> *mut c_void {
    #[allow(
        clippy::cast_possible_truncation,
        reason = "memset stores (unsigned char)c"
    )]
    let byte = c as u8;
    // SAFETY: the caller's contract, as above.
    unsafe { std::ptr::write_bytes(dest.cast::<u8>(), byte, count) };
    dest
}

/// # Safety
/// The C contract: `count` bytes readable at both pointers.
pub unsafe extern "C" fn memcmp(a: *const c_void, b: *const c_void, count: usize) -> c_int {
    // SAFETY: the caller's contract, as above.
    let (a, b) = unsafe {
        (
            std::slice::from_raw_parts(a.cast::<u8>(), count),
            std::slice::from_raw_parts(b.cast::<u8>(), count),
        )
    };
    a.iter()
        .zip(b)
        .find(|(x, y)| x != y)
        .map_or(0, |(x, y)| c_int::from(*x) - c_int::from(*y))
}

/// # Safety
/// `s` is a NUL-terminated string.
pub unsafe extern "C" fn strlen(s: *const c_char) -> usize {
    // SAFETY: the caller's contract, as above.
    unsafe { std::ffi::CStr::from_ptr(s) }.to_bytes().len()
}
