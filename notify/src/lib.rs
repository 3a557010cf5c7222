//! `chimney_im_notify.dll`: the NetCfg notify object of the chimney-im protocol (a MUX
//! intermediate driver's protocol edge). NetCfg loads it for the protocol component; on install
//! and on binding changes it creates one virtual miniport per bound physical adapter and writes
//! the `UpperBindings` value the driver's `ProtocolBindAdapterEx` reads (docs/windows.md §4).
//!
//! - [`miniports`]: the decisions, pure and unit-tested on Linux;
//! - `com` (Windows only): the COM object and the DLL exports, which only translate between
//!   the NetCfg interfaces and [`miniports`].
//!
//! The DLL must load on Windows 7 / Server 2008 R2, so it is `no_std` + `alloc` (Rust's std on
//! Windows needs Windows 10): `.ci/build-notify` builds it, and `tests/notify_pe.rs` checks its
//! imports against `tests/pe/win7-user.imports`.

#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod guid;
pub mod miniports;

// `windows_host`: a Windows-target host build (the Wine tier links this crate's constants into std
// test programs), where the DLL's own panic handler and allocator would clash with std's.
#[cfg(all(windows, not(windows_host)))]
mod com;

/// CLSID of the notify object, registered by the protocol INF as `HKR,Ndi,ClsID`.
pub const CLSID_TEXT: &str = "{82DBEA4A-F0E8-4C7F-AAF9-DCF606DBA6E1}";
/// The same CLSID as a number (`GUID::from_u128`).
pub const CLSID: u128 = 0x82dbea4a_f0e8_4c7f_aaf9_dcf606dba6e1;
/// File name of the DLL, registered by the protocol INF as `HKR,Ndi,ComponentDll`.
pub const DLL_NAME: &str = "chimney_im_notify.dll";
/// Hardware ID of the virtual miniport (inf/chimney_im_mp.inx models section).
pub const MINIPORT_HARDWARE_ID: &str = "chimneyim_mp";
/// Component ID of the protocol (inf/chimney_im.inx models section).
pub const PROTOCOL_COMPONENT_ID: &str = "chimneyim_p";
/// Service of the protocol edge: the name the driver registers with NDIS
/// (`PROTOCOL_SERVICE_NAME` in src/driver.rs) and whose key holds `Parameters\Adapters`.
pub const PROTOCOL_SERVICE: &str = "ChimneyImP";
/// `HKLM`-relative path of the per-adapter keys NDIS opens for the protocol's bindings.
pub const ADAPTERS_KEY: &str =
    "SYSTEM\\CurrentControlSet\\Services\\ChimneyImP\\Parameters\\Adapters";
/// Value name the driver reads (`UpperBindings`, REG_MULTI_SZ).
pub const UPPER_BINDINGS: &str = "UpperBindings";

#[cfg(test)]
#[path = "miniports_tests.rs"]
mod miniports_tests;

#[cfg(test)]
mod tests {
    #[test]
    fn clsid_text_and_number_agree() {
        assert_eq!(crate::guid::Guid(crate::CLSID).braced(), crate::CLSID_TEXT);
    }

    #[test]
    fn adapters_key_names_the_protocol_service() {
        assert!(crate::ADAPTERS_KEY.ends_with(&alloc::format!(
            "\\{}\\Parameters\\Adapters",
            crate::PROTOCOL_SERVICE
        )));
    }
}
