//! Kernel exports that only the Linux cross-build of the `.sys` (`--cfg no_wdk`) imports itself:
//! what wdk-panic and the WDK's `ntoskrnl.lib` supply in the WDK build. Used by
//! `glue::no_wdk` (panic handler) and by the code LLVM and the prebuilt `core` emit
//! (`memcpy` and friends; `compiler_builtins` does not define them for the MSVC target).
//!
//! These are linker-driven: lld-link resolves every undefined symbol of each object it pulls
//! in, even in code that `/OPT:REF` then discards (docs/cross-build.md §4), so all of them must
//! be declared, but whether each ends up in the import table depends on the generated code. The
//! PE test marks them `pe-import: optional` (allowed, not required); the other blocks of the ABI
//! layer are exact.

use core::ffi::{c_char, c_int, c_void};

// pe-import: optional
#[cfg(all(windows, no_wdk, not(windows_host)))]
#[link(name = "ntoskrnl.exe", kind = "raw-dylib", modifiers = "+verbatim")]
unsafe extern "system" {
    pub fn KeBugCheckEx(
        bug_check_code: u32,
        parameter1: usize,
        parameter2: usize,
        parameter3: usize,
        parameter4: usize,
    ) -> !;
}

// pe-import: optional
#[cfg(all(windows, no_wdk, not(windows_host)))]
#[link(name = "ntoskrnl.exe", kind = "raw-dylib", modifiers = "+verbatim")]
unsafe extern "C" {
    pub fn memcpy(dest: *mut c_void, src: *const c_void, count: usize) -> *mut c_void;
    pub fn memmove(dest: *mut c_void, src: *const c_void, count: usize) -> *mut c_void;
    pub fn memset(dest: *mut c_void, c: c_int, count: usize) -> *mut c_void;
    pub fn memcmp(buf1: *const c_void, buf2: *const c_void, count: usize) -> c_int;
    pub fn strlen(s: *const c_char) -> usize;
}
