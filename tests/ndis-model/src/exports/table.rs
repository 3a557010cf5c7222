//! The model's export table: every function the driver may import, by its import name, and the
//! model function implementing it. On the Linux tier the driver's undefined symbols resolve at
//! link time against these `#[no_mangle]` definitions (`Model::load` keeps the table alive through
//! `black_box`); an image loader binds imports by name through [`lookup`]. Which of them the model
//! has checks for, and the refusal of the others, is `super::checks`.

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
    ($($module:ident :: $func:ident),* $(,)?) => {
        ExportTable(&[
            $(Entry { name: stringify!($func), addr: super::$module::$func as *const () },)*
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
);

/// The model function bound to the import `name`, if the model exports it.
pub fn lookup(name: &str) -> Option<*const ()> {
    EXPORTS.0.iter().find(|e| e.name == name).map(|e| e.addr)
}
