//! The few Win32 functions and constants the loader and the fault handler use (kernel32.dll).

use std::ffi::c_void;

pub const MEM_COMMIT: u32 = 0x1000;
pub const MEM_RESERVE: u32 = 0x2000;
pub const MEM_RELEASE: u32 = 0x8000;
pub const PAGE_READONLY: u32 = 0x02;
pub const PAGE_READWRITE: u32 = 0x04;
pub const PAGE_EXECUTE_READ: u32 = 0x20;

pub const EXCEPTION_CONTINUE_EXECUTION: i32 = -1;
pub const EXCEPTION_CONTINUE_SEARCH: i32 = 0;

/// `EXCEPTION_RECORD` (winnt.h), the fields the fault handler reads.
#[repr(C)]
pub struct ExceptionRecord {
    pub code: u32,
    pub flags: u32,
    pub record: *mut ExceptionRecord,
    pub address: *mut c_void,
    pub number_parameters: u32,
    pub information: [usize; 15],
}

/// `EXCEPTION_POINTERS`. The context is an x64 `CONTEXT`, accessed by offset (see `faults`).
#[repr(C)]
pub struct ExceptionPointers {
    pub record: *mut ExceptionRecord,
    pub context: *mut u8,
}

pub type VectoredHandler = unsafe extern "system" fn(*mut ExceptionPointers) -> i32;

#[link(name = "kernel32")]
unsafe extern "system" {
    pub fn VirtualAlloc(addr: *mut c_void, size: usize, kind: u32, protect: u32) -> *mut c_void;
    pub fn VirtualProtect(addr: *mut c_void, size: usize, protect: u32, old: *mut u32) -> i32;
    pub fn VirtualFree(addr: *mut c_void, size: usize, kind: u32) -> i32;
    pub fn GetCurrentProcess() -> *mut c_void;
    pub fn FlushInstructionCache(process: *mut c_void, addr: *const c_void, size: usize) -> i32;
    pub fn AddVectoredExceptionHandler(first: u32, handler: VectoredHandler) -> *mut c_void;
    /// `entries` points to `count` RUNTIME_FUNCTION records (12 bytes each) of the image at `base`.
    pub fn RtlAddFunctionTable(entries: *const c_void, count: u32, base: u64) -> u8;
    pub fn RtlDeleteFunctionTable(entries: *const c_void) -> u8;
}
