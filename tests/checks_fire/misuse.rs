//! Cases where the test acts as a faulty driver and calls the model's exports wrongly (bad
//! handle, wrong length, lock held, NULL argument, wrong time), each breaking one rule. The
//! model validates every pointer against its own tables before use. (A few registration and
//! bind-time cases need the call made from inside DriverEntry or a handler: they use a stand-in.)

use chimney_im::ndis::*;
use ndis_model::*;

use super::Case;
use super::faulty::{self, install};
use super::setups::*;
use super::standin;
use ndis_model::exports::{binding, chimney, datapath, device, memory, oid, registration, sync};

pub static CASES: &[Case] = &[
    // ---- pool memory ----
    case!("memory.free_known_block", adapter, |m| {
        // SAFETY: a pointer the model never handed out; it is looked up, not touched.
        unsafe { memory::NdisFreeMemory(0x1234 as *mut _, 8, 0) };
    }),
    case!("memory.free_length_matches", adapter, |m| {
        let p = alloc(m, 32);
        // SAFETY: the block just allocated, freed with the wrong length (the fault).
        unsafe { memory::NdisFreeMemory(p, 16, 0) };
    }),
    case!("memory.free_flags_zero", adapter, |m| {
        let p = alloc(m, 32);
        // SAFETY: the block just allocated, freed with non-zero flags (the fault).
        unsafe { memory::NdisFreeMemory(p, 32, 1) };
    }),
    case!("memory.length_nonzero", adapter, |m| {
        let d = m.ndis_handles(A).miniport_driver;
        // SAFETY: a zero-length allocation (the fault); the model returns NULL.
        let p = unsafe { memory::NdisAllocateMemoryWithTagPriority(h(d), 0, 1, 32) };
        assert!(p.is_null());
    }),
    case!("memory.handle_valid", adapter, |m| {
        // SAFETY: a bogus NDIS handle (the fault); the model only looks it up.
        let p = unsafe { memory::NdisAllocateMemoryWithTagPriority(h(0x4242), 16, 1, 32) };
        if !p.is_null() {
            // SAFETY: the block just allocated, freed as allocated.
            unsafe { memory::NdisFreeMemory(p, 16, 0) };
        }
    }),
    case!("teardown.memory_freed", adapter, |m| {
        let _leaked = alloc(m, 64);
    }),
    case!("nbl_context.driver_owns_nbl", adapter, |m| {
        let nbl = foreign_nbl();
        // SAFETY: an NBL the driver does not own (the fault); looked up before use.
        unsafe { memory::NdisAllocateNetBufferListContext(nbl, 16, 0, 1) };
    }),
    // ---- spin locks, events, IRQL ----
    case!("spinlock.release_by_owner", adapter, |m| {
        // At DISPATCH_LEVEL (holding `held`), where KeReleaseSpinLock belongs, so that only the
        // ownership rule is broken.
        let mut held: KspinLock = 0;
        let mut lock: KspinLock = 0;
        // SAFETY: a valid lock on this frame.
        let old = unsafe { sync::KeAcquireSpinLockRaiseToDpc(&raw mut held) };
        // SAFETY: releases a lock nobody holds (the fault), staying at DISPATCH_LEVEL; the lock
        // word is not touched.
        unsafe { sync::KeReleaseSpinLock(&raw mut lock, DISPATCH_LEVEL) };
        // SAFETY: releases the lock acquired above, back to the IRQL it returned.
        unsafe { sync::KeReleaseSpinLock(&raw mut held, old) };
    }),
    // Calling the DPC-level variant below DISPATCH_LEVEL is also below the export's documented
    // minimum IRQL: the generic rule fires for the same call.
    case!(
        "spinlock.dpc_variant_at_dispatch",
        also["irql.export_min"],
        adapter,
        |m| {
            let mut lock: KspinLock = 0;
            // SAFETY: the DPC-level variant at PASSIVE_LEVEL (the fault), on a valid lock.
            unsafe { sync::KeAcquireSpinLockAtDpcLevel(&raw mut lock) };
            // SAFETY: releases the lock just acquired.
            unsafe { sync::KeReleaseSpinLockFromDpcLevel(&raw mut lock) };
        }
    ),
    case!("spinlock.release_restores_old_irql", adapter, |m| {
        let mut lock: KspinLock = 0;
        // SAFETY: a valid lock on this frame.
        let old = unsafe { sync::KeAcquireSpinLockRaiseToDpc(&raw mut lock) };
        // SAFETY: released with an IRQL other than the one acquire returned (the fault).
        unsafe { sync::KeReleaseSpinLock(&raw mut lock, old + 1) };
        // SAFETY: once more, correctly, to bring this thread back to PASSIVE_LEVEL.
        let _ = unsafe { sync::KeAcquireSpinLockRaiseToDpc(&raw mut lock) };
        // SAFETY: releases the lock just acquired.
        unsafe { sync::KeReleaseSpinLock(&raw mut lock, old) };
    }),
    case!("lock.not_held_across_ndis_call", adapter, |m| {
        let p = alloc(m, 16);
        let mut lock: KspinLock = 0;
        // SAFETY: a valid lock on this frame.
        let old = unsafe { sync::KeAcquireSpinLockRaiseToDpc(&raw mut lock) };
        // SAFETY: the block just allocated, freed with the lock held (the fault).
        unsafe { memory::NdisFreeMemory(p, 16, 0) };
        // SAFETY: releases the lock acquired above.
        unsafe { sync::KeReleaseSpinLock(&raw mut lock, old) };
    }),
    case!(
        "irql.export_max",
        also["lock.not_held_across_ndis_call"],
        adapter,
        |m| {
            let mut ev = NdisEvent { opaque: [0; 24] };
            let mut lock: KspinLock = 0;
            // SAFETY: an event on this frame, initialised and set.
            unsafe { sync::NdisInitializeEvent(&raw mut ev) };
            // SAFETY: as above.
            unsafe { sync::NdisSetEvent(&raw mut ev) };
            // SAFETY: a valid lock on this frame.
            let old = unsafe { sync::KeAcquireSpinLockRaiseToDpc(&raw mut lock) };
            // SAFETY: waiting (PASSIVE only) at DISPATCH_LEVEL is the fault — the one way to be
            // at DISPATCH_LEVEL is to hold a spin lock, hence the second check.
            unsafe { sync::NdisWaitEvent(&raw mut ev, 1) };
            // SAFETY: releases the lock acquired above.
            unsafe { sync::KeReleaseSpinLock(&raw mut lock, old) };
        }
    ),
    case!("event.initialized", adapter, |m| {
        let mut ev = NdisEvent { opaque: [0; 24] };
        // SAFETY: setting an event never initialised (the fault).
        unsafe { sync::NdisSetEvent(&raw mut ev) };
    }),
    case!("event.wait_satisfied", short_waits, |m| {
        let mut ev = NdisEvent { opaque: [0; 24] };
        // SAFETY: an event on this frame.
        unsafe { sync::NdisInitializeEvent(&raw mut ev) };
        // SAFETY: a valid event nobody will set, waited on forever (the fault).
        unsafe { sync::NdisWaitEvent(&raw mut ev, 0) };
    }),
    // ---- miniport edge ----
    case!("handle.miniport", adapter, |m| {
        // SAFETY: a bogus miniport handle (the fault); the model only looks it up.
        unsafe { device::NdisMPauseComplete(h(0x42)) };
    }),
    case!("pause.complete_only_when_pending", adapter, |m| {
        let mh = m.ndis_handles(A).miniport;
        // SAFETY: the real miniport handle; no pause is pending (the fault).
        unsafe { device::NdisMPauseComplete(h(mh)) };
    }),
    case!("restart.complete_only_when_pending", adapter, |m| {
        let mh = m.ndis_handles(A).miniport;
        // SAFETY: the real miniport handle; no restart is pending (the fault).
        unsafe { device::NdisMRestartComplete(h(mh), NDIS_STATUS_SUCCESS) };
    }),
    case!("pnp.notification_not_null", adapter, |m| {
        let mh = m.ndis_handles(A).miniport;
        // SAFETY: a NULL notification (the fault); the model checks it before use.
        unsafe { device::NdisMNetPnPEvent(h(mh), std::ptr::null_mut()) };
    }),
    case!("ifstack.delete_known", adapter, |m| {
        // SAFETY: deletes an entry never added (the fault).
        unsafe { device::NdisIfDeleteIfStackEntry(999, 998) };
    }),
    case!("status.indication_not_null", adapter, |m| {
        let mh = m.ndis_handles(A).miniport;
        // SAFETY: a NULL status indication (the fault).
        unsafe { oid::NdisMIndicateStatusEx(h(mh), std::ptr::null_mut()) };
    }),
    case!("send_complete.driver_owns_nbl", adapter, |m| {
        let mh = m.ndis_handles(A).miniport;
        // SAFETY: completes an NBL the driver does not own (the fault); looked up before use.
        unsafe { datapath::NdisMSendNetBufferListsComplete(h(mh), foreign_nbl(), 0) };
    }),
    case!("receive.driver_owns_nbl", adapter, |m| {
        let mh = m.ndis_handles(A).miniport;
        // SAFETY: indicates an NBL the driver does not own (the fault); looked up before use.
        unsafe { datapath::NdisMIndicateReceiveNetBufferLists(h(mh), foreign_nbl(), 0, 1, 0) };
    }),
    // ---- protocol edge ----
    case!("handle.binding", adapter, |m| {
        // SAFETY: a bogus binding handle (the fault); the model only looks it up.
        unsafe { oid::NdisCancelOidRequest(h(0x42), 0x77 as *mut _) };
    }),
    case!("oid.request_not_null", adapter, |m| {
        let b = m.ndis_handles(A).binding;
        // SAFETY: a NULL request (the fault).
        unsafe { oid::NdisOidRequest(h(b), std::ptr::null_mut()) };
    }),
    case!("send.driver_owns_nbl", adapter, |m| {
        let b = m.ndis_handles(A).binding;
        // SAFETY: sends an NBL the driver does not own (the fault); looked up before use.
        unsafe { datapath::NdisSendNetBufferLists(h(b), foreign_nbl(), 0, 0) };
    }),
    case!("return_down.driver_owns_nbl", adapter, |m| {
        let b = m.ndis_handles(A).binding;
        // SAFETY: returns an NBL the driver does not own (the fault); looked up before use.
        unsafe { datapath::NdisReturnNetBufferLists(h(b), foreign_nbl(), 0) };
    }),
    case!("clone.free_known", adapter, |m| {
        let b = m.ndis_handles(A).binding;
        // SAFETY: frees a clone never allocated (the fault); looked up before use.
        unsafe { oid::NdisFreeCloneOidRequest(h(b), 0x1234 as *mut _) };
    }),
    case!("handle.bind_context", adapter, |m| {
        // SAFETY: a bogus bind context (the fault).
        unsafe { binding::NdisCompleteBindAdapterEx(h(0x42), NDIS_STATUS_SUCCESS) };
    }),
    case!("handle.unbind_context", adapter, |m| {
        // SAFETY: a bogus unbind context (the fault).
        unsafe { binding::NdisCompleteUnbindAdapterEx(h(0x42)) };
    }),
    case!("handle.config", adapter, |m| {
        let mut st: NdisStatus = 0;
        let mut p: *mut NdisConfigurationParameter = std::ptr::null_mut();
        // SAFETY: a bogus configuration handle (the fault); valid out parameters.
        unsafe {
            binding::NdisReadConfiguration(
                &raw mut st,
                &raw mut p,
                h(0x42),
                std::ptr::null_mut(),
                0,
            )
        };
    }),
    // Closing the binding behind NDIS's back leaves the model no binding to unbind, so at unload
    // the virtual miniport is still there (with its allocations and interface stack entry).
    case!("close.only_in_unbind_or_failed_bind",
        also ["deregister.miniports_halted", "teardown.if_stack_entries_deleted", "teardown.memory_freed"],
        adapter, |m| {
        let b = m.ndis_handles(A).binding;
        // SAFETY: the real binding handle, closed outside unbind (the fault).
        unsafe { binding::NdisCloseAdapterEx(h(b)) };
    }),
    // ---- registration ----
    case!("handle.miniport_driver", adapter, |m| {
        let p = m.ndis_handles(A).protocol;
        // SAFETY: a bogus miniport driver handle (the fault).
        unsafe { registration::NdisIMAssociateMiniport(h(0x42), h(p)) };
    }),
    case!("handle.protocol_driver", adapter, |m| {
        let d = m.ndis_handles(A).miniport_driver;
        // SAFETY: a bogus protocol handle (the fault).
        unsafe { registration::NdisIMAssociateMiniport(h(d), h(0x42)) };
    }),
    // ---- more export misuse ----
    case!("spinlock.no_recursive_acquire", adapter, |m| {
        let mut lock: KspinLock = 0;
        // SAFETY: a valid lock on this frame.
        let old = unsafe { sync::KeAcquireSpinLockRaiseToDpc(&raw mut lock) };
        // SAFETY: acquired again on the same thread (the fault; the model refuses it instead of
        // spinning forever).
        let _ = unsafe { sync::KeAcquireSpinLockRaiseToDpc(&raw mut lock) };
        // SAFETY: releases the lock acquired first.
        unsafe { sync::KeReleaseSpinLock(&raw mut lock, old) };
    }),
    case!("ifstack.higher_is_initializing_miniport", adapter, |m| {
        // SAFETY: an interface stack entry outside MiniportInitializeEx (the fault).
        unsafe { device::NdisIfAddIfStackEntry(999, 10) };
    }),
    case!("attributes.only_during_initialize", adapter, |m| {
        let mh = m.ndis_handles(A).miniport;
        // SAFETY: attributes set outside MiniportInitializeEx (the fault); the model refuses
        // before reading them.
        unsafe { device::NdisMSetMiniportAttributes(h(mh), std::ptr::null_mut()) };
    }),
    case!("device.instance_name_from_upper_bindings", adapter, |m| {
        let d = m.ndis_handles(A).miniport_driver;
        let mut text: Vec<u16> = "\\DEVICE\\{no-such-instance}".encode_utf16().collect();
        let len = u16::try_from(text.len() * 2).expect("short");
        let mut name = UnicodeString {
            length: len,
            maximum_length: len,
            buffer: text.as_mut_ptr(),
        };
        // SAFETY: a valid NDIS_STRING naming no UpperBindings entry (the fault).
        unsafe {
            device::NdisIMInitializeDeviceInstanceEx(h(d), &raw mut name, std::ptr::null_mut())
        };
    }),
    case!("status.header", adapter, |m| {
        let mh = m.ndis_handles(A).miniport;
        let mut s = status_indication(mh);
        s.header.kind = 0;
        // SAFETY: a valid indication with a wrong header (the fault).
        unsafe { oid::NdisMIndicateStatusEx(h(mh), &raw mut s) };
    }),
    case!("status.source_handle_is_miniport", adapter, |m| {
        let mh = m.ndis_handles(A).miniport;
        let mut s = status_indication(mh);
        s.source_handle = h(0x42);
        // SAFETY: a valid indication whose SourceHandle is not the miniport's (the fault).
        unsafe { oid::NdisMIndicateStatusEx(h(mh), &raw mut s) };
    }),
    case!("clone.source_is_binding", adapter, |m| {
        let mh = m.ndis_handles(A).miniport;
        // SAFETY: a clone against the miniport handle instead of the binding (the fault).
        unsafe {
            oid::NdisAllocateCloneOidRequest(
                h(mh),
                std::ptr::null_mut(),
                CLONE_TAG,
                std::ptr::null_mut(),
            )
        };
    }),
    case!("clone.parameters", adapter, |m| {
        let b = m.ndis_handles(A).binding;
        // SAFETY: NULL request and out pointers (the fault); checked before use.
        unsafe {
            oid::NdisAllocateCloneOidRequest(
                h(b),
                std::ptr::null_mut(),
                CLONE_TAG,
                std::ptr::null_mut(),
            )
        };
    }),
    case!("pnp.complete_matches_pending_event", adapter, |m| {
        let b = m.ndis_handles(A).binding;
        // SAFETY: completes a PnP event that is not pending (the fault); only compared.
        unsafe { binding::NdisCompleteNetPnPEvent(h(b), 0x1234 as *mut _, NDIS_STATUS_SUCCESS) };
    }),
    case!("config.parameters", adapter, |m| {
        // SAFETY: NULL object and out pointer (the fault); checked before use.
        unsafe { binding::NdisOpenConfigurationEx(std::ptr::null_mut(), std::ptr::null_mut()) };
    }),
    case!("config.object_header", adapter, |m| {
        let b = m.ndis_handles(A).binding;
        open_and_close_config(NdisObjectHeader::new(0, 1, 0x18), h(b));
    }),
    case!("config.handle_is_binding_or_miniport", adapter, |m| {
        let header = NdisObjectHeader::new(object_type::CONFIGURATION_OBJECT, 1, 0x18);
        open_and_close_config(header, h(0x42));
    }),
    case!("oid.complete_matches_request", adapter, |m| {
        let mh = m.ndis_handles(A).miniport;
        // SAFETY: completes a request NDIS never issued (the fault); looked up before use.
        unsafe { oid::NdisMOidRequestComplete(h(mh), 0x1234 as *mut _, NDIS_STATUS_SUCCESS) };
    }),
    case!(
        "registration.inside_driver_entry",
        also["registration.protocol_once"],
        adapter,
        |m| {
            // SAFETY: registering after DriverEntry returned (the fault), NULL characteristics.
            unsafe {
                registration::NdisRegisterProtocolDriver(
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                )
            };
        }
    ),
    case!(
        "registration.protocol_characteristics",
        || Model::load_with(
            ModelConfig::default().seed(86),
            standin::protocol_without_characteristics
        ),
        |m| {}
    ),
    case!(
        "registration.miniport_characteristics",
        || Model::load_with(
            ModelConfig::default().seed(87),
            standin::miniport_without_characteristics
        ),
        |m| {}
    ),
    // A NULL characteristics pointer stops registration right after the driver-object check.
    case!(
        "registration.driver_object",
        also["registration.miniport_characteristics"],
        || Model::load_with(
            ModelConfig::default().seed(88),
            standin::miniport_with_foreign_driver_object
        ),
        |m| {}
    ),
    // ---- chimney exports ----
    case!("chimney.optional_handlers_header", adapter, |m| {
        let d = m.ndis_handles(A).miniport_driver;
        // SAFETY: a NULL handler table (the fault); checked before use.
        unsafe { chimney::NdisSetOptionalHandlers(h(d), std::ptr::null_mut()) };
    }),
    case!("chimney.get_handlers_during_initialize", adapter, |m| {
        let mh = m.ndis_handles(A).miniport;
        let mut out: *mut NdisOffloadEventHandlers = std::ptr::null_mut();
        // SAFETY: a valid out pointer; asking after MiniportInitializeEx returned is the fault.
        unsafe { chimney::NdisMGetOffloadHandlers(h(mh), 1, &raw mut out) };
    }),
    case!("chimney_state.block_list_not_null", adapter, |m| {
        let b = m.ndis_handles(A).binding;
        // SAFETY: a NULL block list (the fault); checked before use.
        unsafe { chimney::NdisInitiateOffload(h(b), std::ptr::null_mut()) };
    }),
    // An indication the target never made is also not the target's indication passed unchanged.
    case!(
        "chimney_indicate.at_dispatch",
        // NdisMOffloadEventIndicate is documented for DISPATCH_LEVEL only: the generic minimum
        // rule fires for the same call.
        also["chimney_event.passed_unchanged", "irql.export_min"],
        adapter,
        |m| {
            let mh = m.ndis_handles(A).miniport;
            // SAFETY: an event indication at PASSIVE_LEVEL (the fault) with a NULL list (checked
            // before use, and the second rule broken).
            unsafe { chimney::NdisMOffloadEventIndicate(h(mh), std::ptr::null_mut(), 1) };
        }
    ),
    // ---- resources left behind, opens and completions out of place ----
    case!("teardown.config_handles_closed", adapter, |m| {
        let b = m.ndis_handles(A).binding;
        let header = NdisObjectHeader::new(object_type::CONFIGURATION_OBJECT, 1, 0x18);
        let mut obj = NdisConfigurationObject {
            header,
            ndis_handle: h(b),
            flags: 0,
        };
        let mut ch: NdisHandle = std::ptr::null_mut();
        // SAFETY: valid object and out pointer; never closing the handle is the fault.
        unsafe { binding::NdisOpenConfigurationEx(&raw mut obj, &raw mut ch) };
    }),
    case!("teardown.clone_oids_freed", adapter, |m| {
        let b = m.ndis_handles(A).binding;
        let _leaked = clone_of_a_request(b);
    }),
    case!("clone.free_same_source", two_adapters, |m| {
        let b0 = m.ndis_handles(A).binding;
        let b1 = m.ndis_handles(AdapterId(1)).binding;
        let clone = clone_of_a_request(b0);
        // SAFETY: a live clone, freed with the other binding's handle (the fault).
        unsafe { oid::NdisFreeCloneOidRequest(h(b1), clone) };
    }),
    case!(
        "open.parameters",
        || Model::load(ModelConfig::default().seed(93)),
        |m| {
            faulty::HANDLE.store(
                m.ndis_handles(A).protocol,
                std::sync::atomic::Ordering::Relaxed,
            );
            install(m, |_, pt| pt.bind = faulty::bind_opens_without_parameters);
            let a = m.add_adapter(LowerAdapterConfig::ethernet(1));
            m.bind(a);
        }
    ),
    case!("unbind.complete_once", adapter, |m| {
        install(m, |_, pt| pt.unbind = faulty::unbind_completes_twice);
        m.unbind(A);
    }),
];
