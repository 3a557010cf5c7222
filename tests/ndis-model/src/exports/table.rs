//! The export table: every ndis.sys / ntoskrnl export the model defines, by name, with its
//! address and the checks the model runs on each call to it. One table serves binding imports by
//! name (the real image's imports under Wine) and the rule that the model refuses to bind an
//! import it has no checks for: [`bind_imports`].
//!
//! Every call to every export runs the common prologue (`exports::enter`): `irql.export_max`,
//! `irql.export_min` (where a minimum is documented), `lock.not_held_across_ndis_call` (ndis.sys
//! exports) and `driver.no_calls_after_unload`; `checks` lists the export's own checks on top.
//!
//! Some of Microsoft's rules apply only once a driver calls a given function (timers, I/O work
//! items, NdisMNetPnPEvent inside an OID request, ...). [`RULES_ONCE_IMPORTED`] names, for each
//! such function, the checks its rules need; an import of one of them binds only when its entry
//! lists all of them. So importing, e.g., NdisAllocateIoWorkItem fails the import test until the
//! model defines the export and checks the rule. Facts and sources: docs/ndis-rules.md.

use super::*;

/// One export the model defines.
#[derive(Debug)]
pub struct ExportEntry {
    pub name: &'static str,
    pub addr: *const (),
    /// The export's own checks (beyond the common prologue); never empty.
    pub checks: &'static [&'static str],
}

/// Table of every export, referenced by `Model::load` through `black_box` so the linker keeps
/// (and the driver's undefined symbols resolve against) all of them regardless of link order.
pub struct ExportTable(pub [ExportEntry; 64]);
// SAFETY: the table holds names, check names and function addresses only; they are immutable
// and valid for the process.
unsafe impl Sync for ExportTable {}

impl ExportTable {
    pub fn get(&self, name: &str) -> Option<&ExportEntry> {
        self.0.iter().find(|e| e.name == name)
    }

    pub fn entries(&self) -> &[ExportEntry] {
        &self.0
    }
}

/// A function whose rules apply once the driver imports it, and the checks they need.
#[derive(Debug)]
pub struct RuleOnceImported {
    pub function: &'static str,
    /// Microsoft's rule names.
    pub rules: &'static str,
    pub checks: &'static [&'static str],
}

pub const RULES_ONCE_IMPORTED: &[RuleOnceImported] = &[
    RuleOnceImported {
        function: "NdisAllocateTimerObject",
        rules: "Irql_Timer_Function, CancelTimerObject, PeriodicTimer",
        checks: &[
            "timer.cancelled_before_free",
            "timer.periodic_cancelled_at_halt",
        ],
    },
    RuleOnceImported {
        function: "NdisSetTimerObject",
        rules: "Irql_Timer_Function, PeriodicTimer",
        checks: &["timer.periodic_cancelled_at_halt"],
    },
    RuleOnceImported {
        function: "NdisCancelTimerObject",
        rules: "Irql_Timer_Function, CancelTimerObject",
        checks: &["timer.cancelled_before_free"],
    },
    RuleOnceImported {
        function: "NdisFreeTimerObject",
        rules: "CancelTimerObject",
        checks: &["timer.cancelled_before_free"],
    },
    RuleOnceImported {
        function: "NdisAllocateIoWorkItem",
        rules: "Init_NdisAllocateIoWorkItem",
        checks: &["workitem.freed_on_init_failure_and_halt"],
    },
    RuleOnceImported {
        function: "NdisAllocateGenericObject",
        rules: "NdisAllocateGenericObject",
        checks: &["generic_object.freed"],
    },
    RuleOnceImported {
        function: "NdisAllocateMdl",
        rules: "NdisAllocateMdl",
        checks: &["mdl.freed"],
    },
    RuleOnceImported {
        function: "NdisAllocateNetBuffer",
        rules: "NdisAllocateNetBuffer",
        checks: &["net_buffer.freed"],
    },
    RuleOnceImported {
        function: "NdisQueryBindInstanceName",
        rules: "NdisQueryBindInstanceName",
        checks: &["bind_name.only_in_bind"],
    },
    RuleOnceImported {
        function: "NdisReEnumerateProtocolBindings",
        rules: "NdisReEnumerateProtocolBindings",
        checks: &["reenumerate.not_in_bind_or_unbind"],
    },
    RuleOnceImported {
        function: "NdisStallExecution",
        rules: "NdisStallExecution_Delay",
        checks: &["stall.at_most_50us"],
    },
    RuleOnceImported {
        function: "KeGetCurrentIrql",
        rules: "Flags_Irql",
        checks: &["flags.no_irql_query_when_flag_says_dispatch"],
    },
    RuleOnceImported {
        function: "NdisMNetPnPEvent",
        rules: "NdisMNetPnPEventInOIDRequest, 0x7C code 0x22 ILLEGAL_NET_PNP_EVENT",
        checks: &["pnp.not_during_oid_request", "pnp.notification_valid"],
    },
];

/// Binds `imports` (export names) against `table`: every import must be a model export whose
/// entry lists checks, including every check its rules need once imported. Returns the entries,
/// or every refusal with its reason.
pub fn bind_imports<'t>(
    table: &'t [ExportEntry],
    imports: &[&str],
) -> Result<Vec<&'t ExportEntry>, Vec<String>> {
    let mut bound = Vec::new();
    let mut refused = Vec::new();
    for &name in imports {
        let Some(e) = table.iter().find(|e| e.name == name) else {
            refused.push(format!("{name}: the model defines no such export"));
            continue;
        };
        if e.checks.is_empty() {
            refused.push(format!("{name}: the model has no checks for it"));
            continue;
        }
        let missing: Vec<&str> = RULES_ONCE_IMPORTED
            .iter()
            .filter(|r| r.function == name)
            .flat_map(|r| r.checks.iter().copied())
            .filter(|c| !e.checks.contains(c))
            .collect();
        if !missing.is_empty() {
            refused.push(format!(
                "{name}: its rules need checks the model does not list: {missing:?}"
            ));
            continue;
        }
        bound.push(e);
    }
    if refused.is_empty() {
        Ok(bound)
    } else {
        Err(refused)
    }
}

macro_rules! table {
    ($($module:ident :: $name:ident => [$($check:literal),+ $(,)?]),* $(,)?) => {
        pub static EXPORTS: ExportTable = ExportTable([$(
            ExportEntry {
                name: stringify!($name),
                addr: $module::$name as *const (),
                checks: &[$($check),+],
            }
        ),*]);
    };
}

table! {
    registration::NdisMRegisterMiniportDriver => ["registration.driver_object", "registration.inside_driver_entry", "registration.miniport_characteristics", "registration.miniport_header_matches_version", "registration.miniport_intermediate_flag", "registration.miniport_required_handlers", "registration.miniport_once"],
    registration::NdisMDeregisterMiniportDriver => ["deregister.miniports_halted", "handle.miniport_driver"],
    registration::NdisRegisterProtocolDriver => ["registration.inside_driver_entry", "registration.protocol_characteristics", "registration.protocol_header_matches_version", "registration.protocol_name", "registration.protocol_once", "registration.protocol_required_handlers"],
    registration::NdisDeregisterProtocolDriver => ["deregister.bindings_closed", "handle.protocol_driver"],
    registration::NdisIMAssociateMiniport => ["handle.miniport_driver", "handle.protocol_driver"],
    binding::NdisOpenAdapterEx => ["open.only_inside_bind", "open.once_per_bind", "open.parameters", "open.parameters_header", "handle.protocol_driver"],
    binding::NdisCloseAdapterEx => ["close.binding_open", "close.nothing_outstanding", "close.chimney_nothing_outstanding", "close.only_in_unbind_or_failed_bind"],
    binding::NdisCompleteBindAdapterEx => ["bind.complete_once", "handle.bind_context"],
    binding::NdisCompleteUnbindAdapterEx => ["unbind.complete_once", "handle.unbind_context"],
    binding::NdisOpenConfigurationEx => ["config.handle_is_binding_or_miniport", "config.object_header", "config.parameters", "config.closed_before_owner_returns"],
    binding::NdisReadConfiguration => ["config.parameters", "handle.config"],
    binding::NdisCloseConfiguration => ["handle.config", "config.closed_before_owner_returns"],
    binding::NdisCompleteNetPnPEvent => ["pnp.complete_matches_pending_event"],
    device::NdisIMInitializeDeviceInstanceEx => ["device.init_instance_when_absent", "device.instance_name_from_upper_bindings"],
    device::NdisIMCancelInitializeDeviceInstance => ["device.instance_name_from_upper_bindings", "handle.miniport_driver"],
    device::NdisIMDeInitializeDeviceInstance => ["device.deinit_when_initialized", "handle.miniport"],
    device::NdisMSetMiniportAttributes => ["attributes.only_during_initialize", "attributes.header", "attributes.registration_header", "attributes.registration_context", "attributes.registration_before_general", "attributes.general_header", "attributes.general_values"],
    device::NdisMPauseComplete => ["pause.complete_only_when_pending", "handle.miniport"],
    device::NdisIfAddIfStackEntry => ["ifstack.added_once", "ifstack.higher_is_initializing_miniport", "ifstack.lower_is_bound_if_index"],
    device::NdisIfDeleteIfStackEntry => ["ifstack.delete_known"],
    device::NdisMRestartComplete => ["restart.complete_only_when_pending", "handle.miniport"],
    // Not imported by the driver; importing it needs its once-imported checks first.
    device::NdisMNetPnPEvent => ["pnp.notification_not_null", "handle.miniport"],
    datapath::NdisSendNetBufferLists => ["send.binding_open", "send.driver_owns_nbl", "send.same_adapter", "send.source_handle_is_binding", "flags.dispatch_level_matches_irql", "nbl.not_stuck"],
    datapath::NdisMSendNetBufferListsComplete => ["send_complete.driver_owns_nbl", "send_complete.nbl_as_sent", "send_complete.source_handle_restored", "send_complete.status_propagated", "flags.dispatch_level_matches_irql"],
    datapath::NdisMIndicateReceiveNetBufferLists => ["receive.driver_owns_nbl", "receive.same_adapter", "receive.source_handle_is_miniport", "flags.dispatch_level_matches_irql", "nbl.not_stuck"],
    datapath::NdisReturnNetBufferLists => ["return_down.driver_owns_nbl", "return_down.nbl_as_indicated", "return_down.not_for_resources_indications", "flags.dispatch_level_matches_irql"],
    datapath::NdisCancelSendNetBufferLists => ["handle.binding"],
    memory::NdisAllocateNetBufferListContext => ["nbl_context.driver_owns_nbl", "memory.tag_nonzero"],
    memory::NdisFreeNetBufferListContext => ["nbl_context.driver_owns_nbl", "nbl_context.free_lifo"],
    oid::NdisOidRequest => ["oid.binding_open", "oid.request_not_null", "oid.request_header", "oid.request_not_reissued", "oid.clone_on_its_binding"],
    oid::NdisCancelOidRequest => ["oid.cancel_by_request_id", "handle.binding"],
    oid::NdisMOidRequestComplete => ["oid.complete_matches_request", "oid.complete_once", "oid.complete_only_pending", "oid.complete_not_pending", "oid.must_succeed_status", "oid.bytes_within_buffer", "oid.status_propagated"],
    oid::NdisAllocateCloneOidRequest => ["clone.parameters", "clone.source_is_binding", "memory.tag_nonzero"],
    oid::NdisFreeCloneOidRequest => ["clone.free_known", "clone.free_same_source", "clone.free_after_completion"],
    oid::NdisMIndicateStatusEx => ["status.miniport_initialized", "status.indication_not_null", "status.header", "status.buffer_size", "status.source_handle_is_miniport", "status.link_state_intact"],
    memory::NdisAllocateMemoryWithTagPriority => ["memory.handle_valid", "memory.length_nonzero", "memory.tag_nonzero"],
    memory::NdisFreeMemory => ["memory.free_known_block", "memory.free_length_matches", "memory.free_flags_zero"],
    sync::NdisInitializeEvent => ["irql.export_max"],
    sync::NdisSetEvent => ["event.initialized"],
    sync::NdisResetEvent => ["event.initialized"],
    sync::NdisWaitEvent => ["event.initialized", "event.wait_satisfied"],
    sync::KeAcquireSpinLockRaiseToDpc => ["spinlock.no_recursive_acquire", "spinlock.acquire_deadlock"],
    sync::KeReleaseSpinLock => ["spinlock.release_by_owner", "spinlock.release_restores_old_irql", "irql.export_min"],
    sync::KeAcquireSpinLockAtDpcLevel => ["spinlock.dpc_variant_at_dispatch", "spinlock.no_recursive_acquire", "irql.export_min"],
    sync::KeReleaseSpinLockFromDpcLevel => ["spinlock.dpc_variant_at_dispatch", "spinlock.release_by_owner", "irql.export_min"],
    sync::DbgPrint => ["irql.export_max"],
    chimney::NdisSetOptionalHandlers => ["chimney.optional_handlers_accepted", "chimney.optional_handlers_header"],
    chimney::NdisMGetOffloadHandlers => ["chimney.get_handlers_during_initialize", "chimney.get_handlers_out_pointer"],
    chimney::NdisInitiateOffload => ["chimney.binding_open", "chimney_state.block_list_not_null"],
    chimney::NdisTerminateOffload => ["chimney.binding_open", "chimney_state.block_list_not_null"],
    chimney::NdisUpdateOffload => ["chimney.binding_open", "chimney_state.block_list_not_null"],
    chimney::NdisInvalidateOffload => ["chimney.binding_open", "chimney_state.block_list_not_null"],
    chimney::NdisQueryOffloadState => ["chimney.binding_open", "chimney_state.block_list_not_null"],
    chimney::NdisMInitiateOffloadComplete => ["chimney_complete.miniport_initialized", "chimney_complete.miniport_handle_matches"],
    chimney::NdisMTerminateOffloadComplete => ["chimney_complete.miniport_initialized", "chimney_complete.miniport_handle_matches"],
    chimney::NdisMUpdateOffloadComplete => ["chimney_complete.miniport_initialized", "chimney_complete.miniport_handle_matches"],
    chimney::NdisMInvalidateOffloadComplete => ["chimney_complete.miniport_initialized", "chimney_complete.miniport_handle_matches"],
    chimney::NdisMQueryOffloadStateComplete => ["chimney_complete.miniport_initialized", "chimney_complete.miniport_handle_matches"],
    chimney::NdisMOffloadEventIndicate => ["chimney_indicate.at_dispatch", "irql.export_min"],
    chimney_io::NdisOffloadTcpSend => ["chimney.no_call_on_freed_handle", "chimney_io.driver_owns_nbl", "chain.well_formed"],
    chimney_io::NdisOffloadTcpReceive => ["chimney.no_call_on_freed_handle", "chimney_io.driver_owns_nbl", "chain.well_formed"],
    chimney_io::NdisOffloadTcpDisconnect => ["chimney.no_call_on_freed_handle", "chimney_io.driver_owns_nbl", "chain.well_formed"],
    chimney_io::NdisOffloadTcpForward => ["chimney.no_call_on_freed_handle", "chimney_io.driver_owns_nbl", "chain.well_formed"],
    chimney_io::NdisOffloadTcpReceiveReturn => ["chimney_indicate.return_owns_nbl", "chain.well_formed"],
}
