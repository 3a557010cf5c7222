//! Which exports the model has checks for, and the refusal of an import it has none for.
//!
//! Every call to every export runs the common prologue (`exports::enter`): `irql.export_max`,
//! `irql.export_min` (where a minimum is documented), `lock.not_held_across_ndis_call` (ndis.sys
//! exports) and `driver.no_calls_after_unload`. [`CHECKED`] lists, per export name (the "checked"
//! attribute of each entry of `super::table`), the export's own checks on top.
//!
//! Some of Microsoft's rules apply only once a driver calls a given function (timers, I/O work
//! items, NdisMNetPnPEvent inside an OID request, ...). [`RULES_ONCE_IMPORTED`] names, for each
//! such function, the checks its rules need. [`refusal`] refuses an import that is not in the
//! export table, that has no checks, or whose checks lack those its rules need: importing, e.g.,
//! NdisAllocateIoWorkItem fails `tests/model_imports.rs` until the model defines the export and
//! checks the rule. Facts and sources: docs/ndis-rules.md.

use super::table::{EXPORTS, Entry};

/// The kernel runtime an image may import on its own (not NDIS functions: no NDIS rule applies).
pub const UNRULED: &[&str] = &[
    "KeBugCheckEx",
    "memcpy",
    "memmove",
    "memset",
    "memcmp",
    "strlen",
];

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

/// Per export name, the model's own checks on each call to it (never empty).
pub const CHECKED: &[(&str, &[&str])] = &[
    (
        "NdisMRegisterMiniportDriver",
        &[
            "registration.driver_object",
            "registration.inside_driver_entry",
            "registration.miniport_characteristics",
            "registration.miniport_header_matches_version",
            "registration.miniport_intermediate_flag",
            "registration.miniport_required_handlers",
            "registration.miniport_once",
        ],
    ),
    (
        "NdisMDeregisterMiniportDriver",
        &["deregister.miniports_halted", "handle.miniport_driver"],
    ),
    (
        "NdisRegisterProtocolDriver",
        &[
            "registration.inside_driver_entry",
            "registration.protocol_characteristics",
            "registration.protocol_header_matches_version",
            "registration.protocol_name",
            "registration.protocol_once",
            "registration.protocol_required_handlers",
        ],
    ),
    (
        "NdisDeregisterProtocolDriver",
        &["deregister.bindings_closed", "handle.protocol_driver"],
    ),
    (
        "NdisIMAssociateMiniport",
        &["handle.miniport_driver", "handle.protocol_driver"],
    ),
    (
        "NdisOpenAdapterEx",
        &[
            "open.only_inside_bind",
            "open.once_per_bind",
            "open.parameters",
            "open.parameters_header",
            "handle.protocol_driver",
        ],
    ),
    (
        "NdisCloseAdapterEx",
        &[
            "close.binding_open",
            "close.nothing_outstanding",
            "close.chimney_nothing_outstanding",
            "close.only_in_unbind_or_failed_bind",
        ],
    ),
    (
        "NdisCompleteBindAdapterEx",
        &["bind.complete_once", "handle.bind_context"],
    ),
    (
        "NdisCompleteUnbindAdapterEx",
        &["unbind.complete_once", "handle.unbind_context"],
    ),
    (
        "NdisOpenConfigurationEx",
        &[
            "config.handle_is_binding_or_miniport",
            "config.object_header",
            "config.parameters",
            "config.closed_before_owner_returns",
        ],
    ),
    (
        "NdisReadConfiguration",
        &["config.parameters", "handle.config"],
    ),
    (
        "NdisCloseConfiguration",
        &["handle.config", "config.closed_before_owner_returns"],
    ),
    (
        "NdisCompleteNetPnPEvent",
        &["pnp.complete_matches_pending_event"],
    ),
    (
        "NdisIMInitializeDeviceInstanceEx",
        &[
            "device.init_instance_when_absent",
            "device.instance_name_from_upper_bindings",
        ],
    ),
    (
        "NdisIMCancelInitializeDeviceInstance",
        &[
            "device.instance_name_from_upper_bindings",
            "handle.miniport_driver",
        ],
    ),
    (
        "NdisIMDeInitializeDeviceInstance",
        &["device.deinit_when_initialized", "handle.miniport"],
    ),
    (
        "NdisMSetMiniportAttributes",
        &[
            "attributes.only_during_initialize",
            "attributes.header",
            "attributes.registration_header",
            "attributes.registration_context",
            "attributes.registration_before_general",
            "attributes.general_header",
            "attributes.general_values",
        ],
    ),
    (
        "NdisMPauseComplete",
        &["pause.complete_only_when_pending", "handle.miniport"],
    ),
    (
        "NdisIfAddIfStackEntry",
        &[
            "ifstack.added_once",
            "ifstack.higher_is_initializing_miniport",
            "ifstack.lower_is_bound_if_index",
        ],
    ),
    ("NdisIfDeleteIfStackEntry", &["ifstack.delete_known"]),
    (
        "NdisMRestartComplete",
        &["restart.complete_only_when_pending", "handle.miniport"],
    ),
    (
        "NdisMNetPnPEvent",
        &["pnp.notification_not_null", "handle.miniport"],
    ),
    (
        "NdisSendNetBufferLists",
        &[
            "send.binding_open",
            "send.no_loopback_below",
            "send.driver_owns_nbl",
            "send.same_adapter",
            "send.source_handle_is_binding",
            "flags.dispatch_level_matches_irql",
            "nbl.not_stuck",
        ],
    ),
    (
        "NdisMSendNetBufferListsComplete",
        &[
            "send_complete.driver_owns_nbl",
            "send_complete.nbl_as_sent",
            "send_complete.source_handle_restored",
            "send_complete.status_propagated",
            "flags.dispatch_level_matches_irql",
        ],
    ),
    (
        "NdisMIndicateReceiveNetBufferLists",
        &[
            "receive.driver_owns_nbl",
            "receive.same_adapter",
            "receive.source_handle_is_miniport",
            "flags.dispatch_level_matches_irql",
            "nbl.not_stuck",
        ],
    ),
    (
        "NdisReturnNetBufferLists",
        &[
            "return_down.driver_owns_nbl",
            "return_down.nbl_as_indicated",
            "return_down.not_for_resources_indications",
            "flags.dispatch_level_matches_irql",
        ],
    ),
    ("NdisCancelSendNetBufferLists", &["handle.binding"]),
    (
        "NdisAllocateNetBufferListContext",
        &["nbl_context.driver_owns_nbl", "memory.tag_nonzero"],
    ),
    (
        "NdisFreeNetBufferListContext",
        &[
            "nbl_context.driver_owns_nbl",
            "nbl_context.free_lifo",
            "nbl_context.header_intact",
        ],
    ),
    (
        "NdisOidRequest",
        &[
            "oid.binding_open",
            "oid.request_not_null",
            "oid.request_header",
            "oid.request_not_reissued",
            "oid.clone_on_its_binding",
        ],
    ),
    (
        "NdisCancelOidRequest",
        &["oid.cancel_by_request_id", "handle.binding"],
    ),
    (
        "NdisMOidRequestComplete",
        &[
            "oid.complete_matches_request",
            "oid.complete_once",
            "oid.complete_only_pending",
            "oid.complete_not_pending",
            "oid.must_succeed_status",
            "oid.bytes_within_buffer",
            "oid.status_propagated",
        ],
    ),
    (
        "NdisAllocateCloneOidRequest",
        &[
            "clone.parameters",
            "clone.source_is_binding",
            "memory.tag_nonzero",
        ],
    ),
    (
        "NdisFreeCloneOidRequest",
        &[
            "clone.free_known",
            "clone.free_same_source",
            "clone.free_after_completion",
        ],
    ),
    (
        "NdisMIndicateStatusEx",
        &[
            "status.miniport_initialized",
            "status.indication_not_null",
            "status.header",
            "status.buffer_size",
            "status.source_handle_is_miniport",
            "status.link_state_intact",
        ],
    ),
    (
        "NdisAllocateMemoryWithTagPriority",
        &[
            "memory.handle_valid",
            "memory.length_nonzero",
            "memory.tag_nonzero",
        ],
    ),
    (
        "NdisFreeMemory",
        &[
            "memory.free_known_block",
            "memory.free_length_matches",
            "memory.free_flags_zero",
        ],
    ),
    ("NdisInitializeEvent", &["irql.export_max"]),
    ("NdisSetEvent", &["event.initialized"]),
    ("NdisResetEvent", &["event.initialized"]),
    (
        "NdisWaitEvent",
        &["event.initialized", "event.wait_satisfied"],
    ),
    (
        "KeAcquireSpinLockRaiseToDpc",
        &["spinlock.no_recursive_acquire", "spinlock.acquire_deadlock"],
    ),
    (
        "KeReleaseSpinLock",
        &[
            "spinlock.release_by_owner",
            "spinlock.release_restores_old_irql",
            "irql.export_min",
        ],
    ),
    (
        "KeAcquireSpinLockAtDpcLevel",
        &[
            "spinlock.dpc_variant_at_dispatch",
            "spinlock.no_recursive_acquire",
            "irql.export_min",
        ],
    ),
    (
        "KeReleaseSpinLockFromDpcLevel",
        &[
            "spinlock.dpc_variant_at_dispatch",
            "spinlock.release_by_owner",
            "irql.export_min",
        ],
    ),
    ("DbgPrint", &["irql.export_max"]),
    (
        "KeGetCurrentProcessorNumberEx",
        &["processor.number_aligned"],
    ),
    ("KeQueryActiveProcessorCountEx", &["processor.group_exists"]),
    (
        "NdisSetOptionalHandlers",
        &[
            "chimney.optional_handlers_accepted",
            "chimney.optional_handlers_header",
        ],
    ),
    (
        "NdisMGetOffloadHandlers",
        &[
            "chimney.get_handlers_during_initialize",
            "chimney.get_handlers_out_pointer",
        ],
    ),
    (
        "NdisInitiateOffload",
        &["chimney.binding_open", "chimney_state.block_list_not_null"],
    ),
    (
        "NdisTerminateOffload",
        &["chimney.binding_open", "chimney_state.block_list_not_null"],
    ),
    (
        "NdisUpdateOffload",
        &["chimney.binding_open", "chimney_state.block_list_not_null"],
    ),
    (
        "NdisInvalidateOffload",
        &["chimney.binding_open", "chimney_state.block_list_not_null"],
    ),
    (
        "NdisQueryOffloadState",
        &["chimney.binding_open", "chimney_state.block_list_not_null"],
    ),
    (
        "NdisMInitiateOffloadComplete",
        &[
            "chimney_complete.miniport_initialized",
            "chimney_complete.miniport_handle_matches",
        ],
    ),
    (
        "NdisMTerminateOffloadComplete",
        &[
            "chimney_complete.miniport_initialized",
            "chimney_complete.miniport_handle_matches",
        ],
    ),
    (
        "NdisMUpdateOffloadComplete",
        &[
            "chimney_complete.miniport_initialized",
            "chimney_complete.miniport_handle_matches",
        ],
    ),
    (
        "NdisMInvalidateOffloadComplete",
        &[
            "chimney_complete.miniport_initialized",
            "chimney_complete.miniport_handle_matches",
        ],
    ),
    (
        "NdisMQueryOffloadStateComplete",
        &[
            "chimney_complete.miniport_initialized",
            "chimney_complete.miniport_handle_matches",
        ],
    ),
    (
        "NdisMOffloadEventIndicate",
        &["chimney_indicate.at_dispatch", "irql.export_min"],
    ),
    (
        "NdisOffloadTcpSend",
        &[
            "chimney.no_call_on_freed_handle",
            "chimney_io.driver_owns_nbl",
            "chain.well_formed",
        ],
    ),
    (
        "NdisOffloadTcpReceive",
        &[
            "chimney.no_call_on_freed_handle",
            "chimney_io.driver_owns_nbl",
            "chain.well_formed",
        ],
    ),
    (
        "NdisOffloadTcpDisconnect",
        &[
            "chimney.no_call_on_freed_handle",
            "chimney_io.driver_owns_nbl",
            "chain.well_formed",
        ],
    ),
    (
        "NdisOffloadTcpForward",
        &[
            "chimney.no_call_on_freed_handle",
            "chimney_io.driver_owns_nbl",
            "chain.well_formed",
        ],
    ),
    (
        "NdisOffloadTcpReceiveReturn",
        &["chimney_indicate.return_owns_nbl", "chain.well_formed"],
    ),
];

/// The checks listed for export `name` in `checked`.
fn checks_of<'c>(checked: &'c [(&str, &'c [&'c str])], name: &str) -> Option<&'c [&'c str]> {
    checked.iter().find(|(n, _)| *n == name).map(|(_, c)| *c)
}

/// Why the import `name` may not bind against `table` with `checked`, or None when it may.
pub fn refusal_in(table: &[Entry], checked: &[(&str, &[&str])], name: &str) -> Option<String> {
    if !table.iter().any(|e| e.name == name) {
        return Some(format!("{name}: the model defines no such export"));
    }
    if UNRULED.contains(&name) {
        return None;
    }
    let checks = match checks_of(checked, name) {
        Some(c) if !c.is_empty() => c,
        _ => return Some(format!("{name}: the model has no checks for it")),
    };
    let missing: Vec<&str> = RULES_ONCE_IMPORTED
        .iter()
        .filter(|r| r.function == name)
        .flat_map(|r| r.checks.iter().copied())
        .filter(|c| !checks.contains(c))
        .collect();
    (!missing.is_empty())
        .then(|| format!("{name}: its rules need checks the model does not list: {missing:?}"))
}

/// [`refusal_in`] against the model's own table and [`CHECKED`].
pub fn refusal(name: &str) -> Option<String> {
    refusal_in(EXPORTS.0, CHECKED, name)
}

/// Binds `imports` by name: their model functions, or every refusal.
pub fn bind_imports(imports: &[&str]) -> Result<Vec<*const ()>, Vec<String>> {
    let refused: Vec<String> = imports.iter().filter_map(|n| refusal(n)).collect();
    if !refused.is_empty() {
        return Err(refused);
    }
    Ok(imports
        .iter()
        .filter_map(|n| super::table::lookup(n))
        .collect())
}
