//! The Win32 functions the DLL imports, declared here (raw-dylib, no import libraries) so that
//! the import table is exactly this list; `tests/notify_pe.rs` checks it against
//! `tests/pe/win7-user.imports` (each function present on Windows 7 / Server 2008 R2).
//! The `windows` crate is used for the COM interfaces only: its own Win32 bindings link some
//! functions from `combase.dll`, which Windows 7 does not have. The memory intrinsics are
//! defined in `runtime.rs`, not imported.

use core::ffi::c_void;

pub type Hkey = *mut c_void;
pub const HKEY_LOCAL_MACHINE: Hkey = 0x8000_0002_usize as Hkey;
pub const KEY_READ: u32 = 0x2_0019;
pub const KEY_SET_VALUE: u32 = 0x2;
pub const REG_MULTI_SZ: u32 = 7;
pub const REG_SZ: u32 = 1;
pub const ERROR_SUCCESS: u32 = 0;
pub const ERROR_FILE_NOT_FOUND: u32 = 2;
pub const ERROR_NO_MORE_ITEMS: u32 = 259;
pub const ERROR_MORE_DATA: u32 = 234;

#[link(name = "kernel32.dll", kind = "raw-dylib", modifiers = "+verbatim")]
unsafe extern "system" {
    pub fn GetProcessHeap() -> *mut c_void;
    pub fn HeapAlloc(heap: *mut c_void, flags: u32, bytes: usize) -> *mut c_void;
    pub fn HeapReAlloc(
        heap: *mut c_void,
        flags: u32,
        mem: *mut c_void,
        bytes: usize,
    ) -> *mut c_void;
    pub fn HeapFree(heap: *mut c_void, flags: u32, mem: *mut c_void) -> i32;
    pub fn OutputDebugStringW(text: *const u16);
}

#[link(name = "advapi32.dll", kind = "raw-dylib", modifiers = "+verbatim")]
unsafe extern "system" {
    pub fn RegCreateKeyExW(
        key: Hkey,
        sub_key: *const u16,
        reserved: u32,
        class: *const u16,
        options: u32,
        sam: u32,
        security: *const c_void,
        result: *mut Hkey,
        disposition: *mut u32,
    ) -> u32;
    pub fn RegOpenKeyExW(
        key: Hkey,
        sub_key: *const u16,
        options: u32,
        sam: u32,
        result: *mut Hkey,
    ) -> u32;
    pub fn RegSetValueExW(
        key: Hkey,
        name: *const u16,
        reserved: u32,
        kind: u32,
        data: *const u8,
        size: u32,
    ) -> u32;
    pub fn RegQueryValueExW(
        key: Hkey,
        name: *const u16,
        reserved: *mut u32,
        kind: *mut u32,
        data: *mut u8,
        size: *mut u32,
    ) -> u32;
    pub fn RegEnumKeyExW(
        key: Hkey,
        index: u32,
        name: *mut u16,
        name_len: *mut u32,
        reserved: *mut u32,
        class: *mut u16,
        class_len: *mut u32,
        last_write: *mut c_void,
    ) -> u32;
    pub fn RegDeleteKeyW(key: Hkey, sub_key: *const u16) -> u32;
    pub fn RegCloseKey(key: Hkey) -> u32;
}

#[link(name = "ole32.dll", kind = "raw-dylib", modifiers = "+verbatim")]
unsafe extern "system" {
    /// The COM task allocator, whose `Free` releases the strings `INetCfgComponent::GetId`
    /// returns. (Not `CoTaskMemFree`: windows-core declares that one from combase.dll, absent
    /// on Windows 7, and the linker would bind this DLL's import to that declaration.)
    pub fn CoGetMalloc(context: u32, malloc: *mut *mut c_void) -> i32;
}

/// `HRESULT_FROM_WIN32`.
pub fn hresult_from_win32(error: u32) -> i32 {
    if error == 0 {
        0
    } else {
        (error & 0xFFFF | 0x8007_0000) as i32
    }
}

/// `text` as a NUL-terminated UTF-16 string.
pub fn wide(text: &str) -> alloc::vec::Vec<u16> {
    text.encode_utf16().chain(core::iter::once(0)).collect()
}
