//! Checks not shown to fire by tests/model_checks_fire.rs nor by another test
//! (`elsewhere::SHOWN_ELSEWHERE`): the unreachable ones with why (besides the rules-once-imported
//! ones, `elsewhere::unreachable_until_imported`), and the ones not yet shown (update the list
//! when adding cases; the classification test fails if a check is in no list, or listed while a
//! case shows it).

/// Checks no driver can trip through the model's interface, with why.
pub static UNREACHABLE: &[(&str, &str)] = &[
    (
        "model.internal_error",
        "records a panic inside the model itself (a model bug), not a driver fault",
    ),
    (
        "oid.complete_only_pending",
        "NdisMOidRequestComplete runs it only after oid.complete_once passed, i.e. with neither a \
         completion nor a synchronous status recorded; the model marks the host's request in the \
         call (in_call) before MiniportOidRequest and, in the same locked step after it returns, \
         either pended (PENDING) or finished (its synchronous status), so a completion that \
         passes oid.complete_once always finds the request in the call or pended",
    ),
];

/// Checks not yet shown to fire: work left, not a claim that they cannot fire.
pub static NOT_YET: &[&str] = &[
    // Fires when the model's own host returns a kept indication on its binding after a halt
    // killed that binding (the halt-during-completion race skips the host's return of kept
    // indications); the driver's own call is validated as a binding handle first. Showing it
    // needs that race without the driver then waiting forever for the indication at unbind.
    "chimney_indicate.return_on_binding_handle",
    // Needs work queued after the last run of queued work at unload, i.e. from a thread other
    // than the test's and the model's worker, racing the teardown.
    "teardown.no_pending_work",
];
