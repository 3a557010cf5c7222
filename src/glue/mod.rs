//! The Windows-only runtime glue, and the only place that knows which of the three builds it is in:
//!
//! | build | cfg | entry/unload hooks | debug print | allocator, panic handler |
//! |---|---|---|---|---|
//! | Windows with the WDK (`cargo make`) | `all(windows, not(no_wdk))` | KMDF `WdfDriverCreate` / `WdfDriverMiniportUnload` | `wdk::println!` | wdk-alloc (registered, never called), wdk-panic |
//! | Linux cross-build of the `.sys` (`.ci/build-sys`) | `all(windows, no_wdk)` | nothing (no KMDF) | `DbgPrint` import | no allocator; `no_wdk.rs`: bugcheck panic handler, runtime stubs |
//! | Linux host (tests, the NDIS model) | `not(windows)` | nothing | `DbgPrint`, defined by the model | std |
//! | Windows-target host build (the NDIS model under Wine, `.ci/wine-tier`) | `all(windows, no_wdk, windows_host)` | nothing | `DbgPrint`, defined by the model | std |
//!
//! `windows_host` only ever accompanies `no_wdk`: it builds the crate as an ordinary std library for
//! a Windows target (the model links it for its types; the code that runs is the `.sys` the model
//! loads), so the kernel runtime of `no_wdk.rs` and its imports are left out.
//!
//! The driver calls [`driver_entry_hook`] first thing in DriverEntry, [`unload_hook`] last thing in
//! its unload handler, and traces through `trace!`.
//!
//! The crate never names `alloc` (`tests/no_alloc.rs`): pool memory comes from NDIS
//! (`kernel::memory`), which Driver Verifier's NDIS checks track. The KMDF flavour registers
//! wdk-alloc's allocator like every windows-drivers-rs driver, but nothing calls it, so the linker
//! drops it together with its `ExAllocatePool2` import (absent before Windows 10 2004). The lab
//! image (`no_wdk`) has no allocator at all: there, anything pulling in `alloc` fails to link.
//!
//! KMDF version: Cargo.toml targets 1.33 with minimum 1.25 (Windows 10 1803). The WDF calls made
//! here are all the driver makes, and every one is in KMDF 1.0, so 1.25 has them and no
//! `WDF_IS_FUNCTION_AVAILABLE` check is needed (learn.microsoft.com, "Building a WDF driver for
//! multiple versions of Windows"; each function's "Minimum KMDF version" on its reference page):
//!
//! | call | minimum KMDF |
//! |---|---|
//! | `WdfDriverCreate` | 1.0 |
//! | `WdfDriverMiniportUnload` | 1.0 |
//! | `WdfDriverGlobals->Driver` (what `WdfGetDriver` reads) | 1.0 |
//!
//! `wdk::println!` is `DbgPrint` and wdk-panic is `KeBugCheckEx`: neither goes through WDF.

use core::fmt;

use crate::ndis::{DriverObject, NtStatus, UnicodeString};
#[cfg(not(all(windows, not(no_wdk))))]
use crate::ndis::{STATUS_SUCCESS, imports::DbgPrint};

#[cfg(all(windows, no_wdk, not(windows_host)))]
mod no_wdk;

// The WDK build uses the same panic handler and allocator as every windows-drivers-rs driver.
// The allocator is never called (nothing in the crate names `alloc`; see the module docs).
#[cfg(all(windows, not(no_wdk)))]
extern crate wdk_panic;
#[cfg(all(windows, not(no_wdk)))]
#[global_allocator]
static GLOBAL: wdk_alloc::WdkAllocator = wdk_alloc::WdkAllocator;

/// Called by DriverEntry before anything else. With KMDF it creates the framework driver object
/// in miniport mode: `WdfDriverInitNoDispatchOverride` leaves the dispatch table to NDIS, and
/// there is no EvtDriverDeviceAdd (NDIS, not PnP, creates the device objects). Everywhere else
/// it does nothing and returns `STATUS_SUCCESS`.
#[cfg(all(windows, not(no_wdk)))]
pub fn driver_entry_hook(
    driver_object: *mut DriverObject,
    registry_path: *mut UnicodeString,
) -> NtStatus {
    use wdk_sys::{_WDF_DRIVER_INIT_FLAGS, WDF_DRIVER_CONFIG, WDF_NO_OBJECT_ATTRIBUTES, WDFDRIVER};

    let mut config = WDF_DRIVER_CONFIG {
        #[allow(clippy::cast_possible_truncation, reason = "a 32-byte structure")]
        Size: core::mem::size_of::<WDF_DRIVER_CONFIG>() as u32,
        EvtDriverDeviceAdd: None,
        EvtDriverUnload: None,
        DriverInitFlags: _WDF_DRIVER_INIT_FLAGS::WdfDriverInitNoDispatchOverride as u32,
        DriverPoolTag: 0,
    };
    let mut driver: WDFDRIVER = core::ptr::null_mut();
    // SAFETY: DriverEntry passes the kernel's DRIVER_OBJECT and registry path (our `DriverObject`
    // and `UnicodeString` are the same objects, declared opaquely); `config` and `driver` are
    // live locals; WdfDriverCreate is called once, at PASSIVE_LEVEL, from DriverEntry.
    unsafe {
        wdk_sys::call_unsafe_wdf_function_binding!(
            WdfDriverCreate,
            driver_object.cast(),
            registry_path.cast_const().cast(),
            WDF_NO_OBJECT_ATTRIBUTES,
            &raw mut config,
            &raw mut driver,
        )
    }
}

/// Called by DriverEntry before anything else; see the WDK build's version. Without KMDF there
/// is nothing to set up.
#[cfg(not(all(windows, not(no_wdk))))]
pub fn driver_entry_hook(
    _driver_object: *mut DriverObject,
    _registry_path: *mut UnicodeString,
) -> NtStatus {
    STATUS_SUCCESS
}

/// Called last by the driver's unload handler (after NDIS deregistration). With KMDF it deletes
/// the framework driver object, as `WdfDriverInitNoDispatchOverride` drivers must
/// (`WdfDriverMiniportUnload(WdfGetDriver())`); elsewhere it does nothing.
#[cfg(all(windows, not(no_wdk)))]
pub fn unload_hook(_driver_object: *mut DriverObject) {
    // SAFETY: `WdfDriverGlobals` is written once, by the KMDF stub (FxDriverEntry) before
    // DriverEntry runs; afterwards it is only read.
    let globals = unsafe { wdk_sys::WdfDriverGlobals };
    // SAFETY: `globals` points to the framework's WDF_DRIVER_GLOBALS, valid until the image
    // unloads; reading its `Driver` is what `WdfGetDriver()` does.
    let driver = unsafe { (*globals).Driver };
    if driver.is_null() {
        // WdfDriverCreate failed or never ran: there is no framework object to delete.
        return;
    }
    // SAFETY: `driver` is the framework driver object created in `driver_entry_hook`; unload
    // runs once, at PASSIVE_LEVEL, and no WDF call follows it.
    unsafe { wdk_sys::call_unsafe_wdf_function_binding!(WdfDriverMiniportUnload, driver) }
}

/// Called last by the driver's unload handler; nothing to do without KMDF.
#[cfg(not(all(windows, not(no_wdk))))]
pub fn unload_hook(_driver_object: *mut DriverObject) {}

/// `format!`-style tracing to the kernel debugger through a fixed-size stack buffer (no heap):
/// `crate::glue::trace!("bind {:p} status {:#x}", binding, status)`. Output longer than
/// [`TRACE_CAPACITY`] bytes is truncated.
#[allow(unused_macros, reason = "used by the driver code as it is written")]
macro_rules! trace {
    ($($arg:tt)*) => {{
        let mut line = $crate::glue::TraceLine::new();
        // A write error only means the line was truncated; the prefix of it is still printed.
        let _ = ::core::fmt::Write::write_fmt(&mut line, ::core::format_args!($($arg)*));
        line.emit();
    }};
}
#[allow(unused_imports, reason = "used by the driver code as it is written")]
pub(crate) use trace;

/// Bytes of one trace line, prefix and newline included (DbgPrint's own limit is 512).
pub const TRACE_CAPACITY: usize = 256;
const PREFIX: &str = "chimney-im: ";

/// One trace line being formatted on the stack: always valid UTF-8, and always NUL-terminated
/// (the buffer starts zeroed, is only appended to, and its last byte is never written).
pub struct TraceLine {
    buf: [u8; TRACE_CAPACITY + 1],
    len: usize,
}

impl TraceLine {
    pub fn new() -> Self {
        let mut line = Self {
            buf: [0; TRACE_CAPACITY + 1],
            len: 0,
        };
        line.push_str(PREFIX);
        line
    }

    /// The formatted text so far.
    #[allow(
        dead_code,
        reason = "read by the WDK build's `emit` and by the tests only"
    )]
    pub fn as_str(&self) -> &str {
        // `push_str` only ever appends whole UTF-8 characters.
        core::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }

    /// Appends as much of `s` as fits (keeping one byte for the newline), cut at a character
    /// boundary. Returns false when `s` was truncated.
    fn push_str(&mut self, s: &str) -> bool {
        let room = TRACE_CAPACITY - 1 - self.len;
        let mut take = s.len().min(room);
        while !s.is_char_boundary(take) {
            take -= 1;
        }
        self.buf[self.len..self.len + take].copy_from_slice(&s.as_bytes()[..take]);
        self.len += take;
        take == s.len()
    }

    /// Prints the line with a trailing newline.
    #[cfg_attr(all(windows, not(no_wdk)), allow(unused_mut))]
    pub fn emit(mut self) {
        #[cfg(all(windows, not(no_wdk)))]
        wdk::println!("{}", self.as_str());

        #[cfg(not(all(windows, not(no_wdk))))]
        {
            self.buf[self.len] = b'\n';
            // buf[len + 1] is still 0: len + 1 <= TRACE_CAPACITY, and the buffer's last byte
            // (index TRACE_CAPACITY) is never written.
            // SAFETY: both arguments are NUL-terminated strings that outlive the call; "%s" makes
            // DbgPrint read exactly one string argument, so the non-variadic declaration matches
            // the call (see `imports::DbgPrint`).
            unsafe { DbgPrint(c"%s".as_ptr(), self.buf.as_ptr().cast()) };
        }
    }
}

impl Default for TraceLine {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Write for TraceLine {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if self.push_str(s) {
            Ok(())
        } else {
            Err(fmt::Error)
        }
    }
}

#[cfg(test)]
mod tests {
    use core::fmt::Write;

    use super::{PREFIX, TRACE_CAPACITY, TraceLine};

    #[test]
    fn formats_with_prefix() {
        let mut line = TraceLine::new();
        write!(line, "status {:#x}", 0xC000_0001_u32).unwrap();
        assert_eq!(line.as_str(), "chimney-im: status 0xc0000001");
    }

    #[test]
    fn truncates_at_a_char_boundary_and_stays_nul_terminated() {
        let mut line = TraceLine::new();
        let long = "é".repeat(TRACE_CAPACITY);
        assert!(line.write_str(&long).is_err());
        let text = line.as_str();
        assert!(text.starts_with(PREFIX));
        assert!(text.len() < TRACE_CAPACITY);
        assert!(text.len() >= TRACE_CAPACITY - 2);
        assert_eq!(line.buf[TRACE_CAPACITY], 0);
        assert_eq!(line.buf[text.len()], 0);
    }
}
