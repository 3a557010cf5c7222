//! Checks not shown to fire by tests/model_checks_fire.rs nor by another test
//! (`elsewhere::SHOWN_ELSEWHERE`): the unreachable ones with why (besides the rules-once-imported
//! ones, `elsewhere::unreachable_until_imported`), and the ones not yet shown (update the list
//! when adding cases; the classification test fails if a check is in no list, or listed while a
//! case shows it).

/// Checks no driver can trip through the model's interface, with why.
pub static UNREACHABLE: &[(&str, &str)] = &[(
    "model.internal_error",
    "records a panic inside the model itself (a model bug), not a driver fault",
)];

/// Checks not yet shown to fire: work left, not a claim that they cannot fire.
pub static NOT_YET: &[&str] = &[
    "attributes.general_values",
    "attributes.registration_context",
    "attributes.registration_no_halt_on_suspend",
    "bind.failure_cancels_device_init",
    "bind.failure_leaves_no_binding",
    "chimney.binding_open",
    "chimney_complete.halt_started",
    "chimney_host.completion_on_right_open",
    "chimney_indicate.return_on_binding_handle",
    "clone.free_after_completion",
    "close.binding_open",
    "close.chimney_nothing_outstanding",
    "device.deinit_when_initialized",
    "device.init_instance_when_absent",
    "driver.no_calls_after_unload",
    "halt.forwarded_oids_drained",
    "halt.if_stack_entry_deleted",
    "init.attributes_set_before_success",
    "nbl_context.free_lifo",
    "nbl_context.size_multiple_of_16",
    "oid.binding_open",
    "oid.cancel_by_request_id",
    "oid.clone_on_its_binding",
    "oid.complete_once",
    "oid.complete_only_pending",
    "oid.request_header",
    "oid.request_not_reissued",
    "oid.sync_return_not_completed",
    "open.adapter_name",
    "open.medium_802_3",
    "open.parameters_header",
    "pause.complete_only_after_pending",
    "processor.number_aligned",
    "receive.miniport_running",
    "receive.payload_intact",
    "receive.resources_nbl_restored",
    "registration.miniport_no_hang_reset",
    "send.binding_open",
    "send.no_loopback_below",
    "send.same_adapter",
    "send_complete.miniport_initialized",
    "spinlock.acquire_deadlock",
    "status.miniport_initialized",
    "teardown.no_pending_work",
    "unload.deregistered_both_edges",
];
