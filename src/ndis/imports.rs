//! Every NDIS and kernel export the driver calls: real export names, real signatures.
//!
//! On Windows these are `raw-dylib` imports of `ndis.sys` and `ntoskrnl.exe` (`+verbatim`, so the
//! import DLL names are exactly those files; no import library is needed). Elsewhere the symbols
//! are left undefined and the user-mode NDIS model in `tests/ndis-model` defines them: the driver
//! reaches NDIS through these declarations and nothing else.
//!
//! Keep this list exact: the PE test compares the `.sys` import table with it, and an unused
//! declaration would not appear in the image.

use core::ffi::{c_char, c_void};

use super::miniport::{DriverObject, MiniportAdapterAttributes, MiniportDriverCharacteristics};
use super::nbl::NetBufferList;
use super::oid::NdisOidRequest;
use super::protocol::{
    NdisConfigurationObject, NdisConfigurationParameter, NdisOpenParameters, NdisStatusIndication,
    ProtocolDriverCharacteristics,
};
use super::types::{
    Kirql, KspinLock, NdisEvent, NdisHandle, NdisPortNumber, NdisStatus, NdisString, NetIfIndex,
    NtStatus, ProcessorNumber, UnicodeString,
};

/// `EX_POOL_PRIORITY::NormalPoolPriority`.
pub const NORMAL_POOL_PRIORITY: u32 = 16;

#[handler_abi::host_unwind]
#[cfg_attr(
    windows,
    link(name = "ndis.sys", kind = "raw-dylib", modifiers = "+verbatim")
)]
unsafe extern "system" {
    // Registration (DriverEntry / unload), PASSIVE_LEVEL.
    pub fn NdisMRegisterMiniportDriver(
        driver_object: *mut DriverObject,
        registry_path: *mut UnicodeString,
        miniport_driver_context: NdisHandle,
        characteristics: *mut MiniportDriverCharacteristics,
        miniport_driver_handle: *mut NdisHandle,
    ) -> NdisStatus;
    pub fn NdisMDeregisterMiniportDriver(miniport_driver_handle: NdisHandle);
    pub fn NdisRegisterProtocolDriver(
        protocol_driver_context: NdisHandle,
        characteristics: *mut ProtocolDriverCharacteristics,
        protocol_handle: *mut NdisHandle,
    ) -> NdisStatus;
    pub fn NdisDeregisterProtocolDriver(protocol_handle: NdisHandle);
    pub fn NdisIMAssociateMiniport(driver_handle: NdisHandle, protocol_handle: NdisHandle);

    // Binding, PASSIVE_LEVEL.
    pub fn NdisOpenAdapterEx(
        protocol_handle: NdisHandle,
        protocol_binding_context: NdisHandle,
        open_parameters: *mut NdisOpenParameters,
        bind_context: NdisHandle,
        binding_handle: *mut NdisHandle,
    ) -> NdisStatus;
    pub fn NdisCloseAdapterEx(binding_handle: NdisHandle) -> NdisStatus;
    pub fn NdisOpenConfigurationEx(
        configuration_object: *mut NdisConfigurationObject,
        configuration_handle: *mut NdisHandle,
    ) -> NdisStatus;
    pub fn NdisReadConfiguration(
        status: *mut NdisStatus,
        parameter_value: *mut *mut NdisConfigurationParameter,
        configuration_handle: NdisHandle,
        keyword: *mut NdisString,
        parameter_type: u32,
    );
    pub fn NdisCloseConfiguration(configuration_handle: NdisHandle);

    // Virtual miniport instances, PASSIVE_LEVEL.
    pub fn NdisIMInitializeDeviceInstanceEx(
        driver_handle: NdisHandle,
        driver_instance: *mut NdisString,
        device_context: NdisHandle,
    ) -> NdisStatus;
    pub fn NdisIMCancelInitializeDeviceInstance(
        driver_handle: NdisHandle,
        device_instance: *mut NdisString,
    ) -> NdisStatus;
    pub fn NdisIMDeInitializeDeviceInstance(miniport_handle: NdisHandle) -> NdisStatus;
    pub fn NdisMSetMiniportAttributes(
        miniport_adapter_handle: NdisHandle,
        attributes: *mut MiniportAdapterAttributes,
    ) -> NdisStatus;
    pub fn NdisMPauseComplete(miniport_adapter_handle: NdisHandle);
    /// Records that interface `higher` (our virtual miniport) is stacked on `lower` (the bound
    /// adapter), as IM drivers do from MiniportInitializeEx. PASSIVE_LEVEL.
    pub fn NdisIfAddIfStackEntry(
        higher_layer_if_index: NetIfIndex,
        lower_layer_if_index: NetIfIndex,
    ) -> NdisStatus;
    pub fn NdisIfDeleteIfStackEntry(
        higher_layer_if_index: NetIfIndex,
        lower_layer_if_index: NetIfIndex,
    );

    // Data path, <= DISPATCH_LEVEL.
    pub fn NdisSendNetBufferLists(
        binding_handle: NdisHandle,
        net_buffer_lists: *mut NetBufferList,
        port_number: NdisPortNumber,
        send_flags: u32,
    );
    pub fn NdisMSendNetBufferListsComplete(
        miniport_adapter_handle: NdisHandle,
        net_buffer_lists: *mut NetBufferList,
        send_complete_flags: u32,
    );
    pub fn NdisMIndicateReceiveNetBufferLists(
        miniport_adapter_handle: NdisHandle,
        net_buffer_lists: *mut NetBufferList,
        port_number: NdisPortNumber,
        number_of_net_buffer_lists: u32,
        receive_flags: u32,
    );
    pub fn NdisReturnNetBufferLists(
        binding_handle: NdisHandle,
        net_buffer_lists: *mut NetBufferList,
        return_flags: u32,
    );
    pub fn NdisCancelSendNetBufferLists(binding_handle: NdisHandle, cancel_id: *mut c_void);
    pub fn NdisAllocateNetBufferListContext(
        net_buffer_list: *mut NetBufferList,
        context_size: u16,
        context_back_fill: u16,
        pool_tag: u32,
    ) -> NdisStatus;
    pub fn NdisFreeNetBufferListContext(net_buffer_list: *mut NetBufferList, context_size: u16);

    // OID requests and status, <= DISPATCH_LEVEL.
    pub fn NdisOidRequest(
        binding_handle: NdisHandle,
        oid_request: *mut NdisOidRequest,
    ) -> NdisStatus;
    pub fn NdisCancelOidRequest(binding_handle: NdisHandle, request_id: *mut c_void);
    pub fn NdisMOidRequestComplete(
        miniport_adapter_handle: NdisHandle,
        oid_request: *mut NdisOidRequest,
        status: NdisStatus,
    );
    pub fn NdisAllocateCloneOidRequest(
        source_handle: NdisHandle,
        oid_request: *mut NdisOidRequest,
        pool_tag: u32,
        clone_oid_request: *mut *mut NdisOidRequest,
    ) -> NdisStatus;
    pub fn NdisFreeCloneOidRequest(source_handle: NdisHandle, oid_request: *mut NdisOidRequest);
    pub fn NdisMIndicateStatusEx(
        miniport_adapter_handle: NdisHandle,
        status_indication: *mut NdisStatusIndication,
    );

    // Memory and events.
    pub fn NdisAllocateMemoryWithTagPriority(
        ndis_handle: NdisHandle,
        length: u32,
        tag: u32,
        priority: u32,
    ) -> *mut c_void;
    pub fn NdisFreeMemory(virtual_address: *mut c_void, length: u32, memory_flags: u32);
    pub fn NdisInitializeEvent(event: *mut NdisEvent);
    pub fn NdisSetEvent(event: *mut NdisEvent);
    pub fn NdisResetEvent(event: *mut NdisEvent);
    /// Returns TRUE (nonzero) when the event was signalled. PASSIVE_LEVEL only.
    pub fn NdisWaitEvent(event: *mut NdisEvent, ms_to_wait: u32) -> u8;
}

#[handler_abi::host_unwind]
#[cfg_attr(
    windows,
    link(name = "ntoskrnl.exe", kind = "raw-dylib", modifiers = "+verbatim")
)]
unsafe extern "system" {
    /// `KeAcquireSpinLock` is a macro over this export on x64: raises to DISPATCH_LEVEL.
    pub fn KeAcquireSpinLockRaiseToDpc(spin_lock: *mut KspinLock) -> Kirql;
    pub fn KeReleaseSpinLock(spin_lock: *mut KspinLock, new_irql: Kirql);
}

// Processor identity for the per-processor rundown (`kernel::percpu_rundown`). Both are plain
// ntoskrnl.exe exports since Windows 7 (ntddk.h/wdm.h), callable at any IRQL.
#[handler_abi::host_unwind]
#[cfg_attr(
    windows,
    link(name = "ntoskrnl.exe", kind = "raw-dylib", modifiers = "+verbatim")
)]
unsafe extern "system" {
    /// The system-wide index of the processor the caller runs on (`ULONG`), and, when
    /// `proc_number` is non-NULL, its group and group-relative number. Any IRQL; the caller
    /// may be moved to another processor right after it returns unless at DISPATCH_LEVEL.
    pub fn KeGetCurrentProcessorNumberEx(proc_number: *mut ProcessorNumber) -> u32;
    /// The number of active processors in `group_number`, or in all groups for
    /// [`ALL_PROCESSOR_GROUPS`](super::types::ALL_PROCESSOR_GROUPS). Any IRQL.
    pub fn KeQueryActiveProcessorCountEx(group_number: u16) -> u32;
}

// `DbgPrint` for the `glue` trace lines everywhere but the WDK build (where wdk-sys declares it and
// `wdk::println!` calls it). It is variadic in C (`ULONG DbgPrint(PCSTR Format, ...)`) but is
// declared here with exactly the one call shape the glue uses, `DbgPrint("%s", msg)`:
// - On x64 Windows a variadic call passes its first four arguments exactly like a non-variadic
//   one (RCX, RDX, R8, R9 plus 32 bytes of home space); the only extra rule, duplicating
//   floating-point arguments in the integer registers, does not apply to two pointers. So this
//   call is ABI-identical to the C one.
// - On the Linux host the NDIS model defines `DbgPrint` in Rust with this same signature
//   (stable Rust cannot define a C-variadic function, and the SysV variadic convention, which
//   sets AL, would not match a non-variadic definition anyway).
#[cfg(not(all(windows, not(no_wdk))))]
#[cfg_attr(
    windows,
    link(name = "ntoskrnl.exe", kind = "raw-dylib", modifiers = "+verbatim")
)]
unsafe extern "C" {
    pub fn DbgPrint(format: *const c_char, arg: *const c_char) -> NtStatus;
}
