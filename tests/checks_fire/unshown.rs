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
    "bind.failure_cancels_device_init",
    "bind.failure_leaves_no_binding",
    "chimney.binding_open",
    "chimney_complete.halt_started",
    "chimney_host.completion_on_right_open",
    "chimney_indicate.return_on_binding_handle",
    "clone.free_after_completion",
    "close.binding_open",
    "close.chimney_nothing_outstanding",
    "device.init_instance_when_absent",
    "driver.no_calls_after_unload",
    "halt.forwarded_oids_drained",
    "init.attributes_set_before_success",
    "oid.binding_open",
    "oid.complete_only_pending",
    "registration.miniport_no_hang_reset",
    "send.binding_open",
    "spinlock.acquire_deadlock",
    "teardown.no_pending_work",
];
