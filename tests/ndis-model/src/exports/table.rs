//! The model's export table: every function the driver image may import, by its import name.
//!
//! This one table is what the driver is allowed to call. On the Linux tier the driver rlib's
//! undefined symbols resolve at link time against the `#[no_mangle]` definitions listed here
//! (`Model::load` references the table through `black_box`, so the linker keeps all of them). On
//! the Wine tier the image loader binds each import of `chimney_im.sys` by name through [`lookup`]
//! and refuses to load an image that imports anything not listed: an export the model has no
//! checks for is never silently reachable.
//!
//! The ndis.sys / ntoskrnl.exe exports the driver declares come first (named after their Rust
//! definitions); the kernel runtime the release image imports on its own (`memcpy`, `memset`,
//! `KeBugCheckEx`, ...) follows with explicit names, see [`super::runtime`].

/// One bindable export: its import name and the model function implementing it.
#[derive(Clone, Copy, Debug)]
pub struct Entry {
    pub name: &'static str,
    pub addr: *const (),
}

/// Every export, in a fixed order.
#[derive(Debug)]
pub struct ExportTable(pub &'static [Entry]);

// SAFETY: the table holds names and function addresses only; they are immutable and valid for
// the life of the process.
unsafe impl Sync for ExportTable {}

macro_rules! export_table {
    ($($module:ident :: $func:ident),* $(,)? ; $($name:literal => $path:path),* $(,)?) => {
        ExportTable(&[
            $(Entry { name: stringify!($func), addr: super::$module::$func as *const () },)*
            $(Entry { name: $name, addr: $path as *const () },)*
        ])
    };
}

pub static EXPORTS: ExportTable = export_table!(
    registration::NdisMRegisterMiniportDriver,
    registration::NdisMDeregisterMiniportDriver,
    registration::NdisRegisterProtocolDriver,
    registration::NdisDeregisterProtocolDriver,
    registration::NdisIMAssociateMiniport,
    binding::NdisOpenAdapterEx,
    binding::NdisCloseAdapterEx,
    binding::NdisCompleteBindAdapterEx,
    binding::NdisCompleteUnbindAdapterEx,
    binding::NdisOpenConfigurationEx,
    binding::NdisReadConfiguration,
    binding::NdisCloseConfiguration,
    binding::NdisCompleteNetPnPEvent,
    device::NdisIMInitializeDeviceInstanceEx,
    device::NdisIMCancelInitializeDeviceInstance,
    device::NdisIMDeInitializeDeviceInstance,
    device::NdisMSetMiniportAttributes,
    device::NdisMPauseComplete,
    device::NdisIfAddIfStackEntry,
    device::NdisIfDeleteIfStackEntry,
    device::NdisMRestartComplete,
    device::NdisMNetPnPEvent,
    datapath::NdisSendNetBufferLists,
    datapath::NdisMSendNetBufferListsComplete,
    datapath::NdisMIndicateReceiveNetBufferLists,
    datapath::NdisReturnNetBufferLists,
    datapath::NdisCancelSendNetBufferLists,
    memory::NdisAllocateNetBufferListContext,
    memory::NdisFreeNetBufferListContext,
    oid::NdisOidRequest,
    oid::NdisCancelOidRequest,
    oid::NdisMOidRequestComplete,
    oid::NdisAllocateCloneOidRequest,
    oid::NdisFreeCloneOidRequest,
    oid::NdisMIndicateStatusEx,
    memory::NdisAllocateMemoryWithTagPriority,
    memory::NdisFreeMemory,
    sync::NdisInitializeEvent,
    sync::NdisSetEvent,
    sync::NdisResetEvent,
    sync::NdisWaitEvent,
    sync::KeAcquireSpinLockRaiseToDpc,
    sync::KeReleaseSpinLock,
    sync::KeAcquireSpinLockAtDpcLevel,
    sync::KeReleaseSpinLockFromDpcLevel,
    sync::DbgPrint,
    processor::KeGetCurrentProcessorNumberEx,
    processor::KeQueryActiveProcessorCountEx,
    chimney::NdisSetOptionalHandlers,
    chimney::NdisMGetOffloadHandlers,
    chimney::NdisInitiateOffload,
    chimney::NdisTerminateOffload,
    chimney::NdisUpdateOffload,
    chimney::NdisInvalidateOffload,
    chimney::NdisQueryOffloadState,
    chimney::NdisMInitiateOffloadComplete,
    chimney::NdisMTerminateOffloadComplete,
    chimney::NdisMUpdateOffloadComplete,
    chimney::NdisMInvalidateOffloadComplete,
    chimney::NdisMQueryOffloadStateComplete,
    chimney::NdisMOffloadEventIndicate,
    chimney_io::NdisOffloadTcpSend,
    chimney_io::NdisOffloadTcpReceive,
    chimney_io::NdisOffloadTcpDisconnect,
    chimney_io::NdisOffloadTcpForward,
    chimney_io::NdisOffloadTcpReceiveReturn,
    ;
    "KeBugCheckEx" => super::runtime::ke_bug_check_ex,
    "memcpy" => super::runtime::memcpy,
    "memmove" => super::runtime::memmove,
    "memset" => super::runtime::memset,
    "memcmp" => super::runtime::memcmp,
    "strlen" => super::runtime::strlen,
);

/// The model function bound to the import `name`, if the model exports it.
pub fn lookup(name: &str) -> Option<*const ()> {
    EXPORTS.0.iter().find(|e| e.name == name).map(|e| e.addr)
}

#[cfg(test)]
mod tests {
    use super::{EXPORTS, lookup};

    #[test]
    fn names_are_unique_and_resolve() {
        let mut names: Vec<&str> = EXPORTS.0.iter().map(|e| e.name).collect();
        names.sort_unstable();
        let n = names.len();
        names.dedup();
        assert_eq!(names.len(), n, "duplicate export names");
        assert!(lookup("NdisMRegisterMiniportDriver").is_some());
        assert!(lookup("KeBugCheckEx").is_some());
        assert!(lookup("NdisAllocateSharedMemory").is_none());
    }
}
