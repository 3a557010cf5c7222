//! Checks shown to fire by other test files, and checks no driver can reach until it imports the
//! function their rule is about. `every_check_is_classified` verifies both lists against the
//! sources: a test named here must exist and name its check other than as a run count, and the
//! model must refuse an image importing a rule-once-imported function.

use std::path::Path;

use ndis_model::exports::checks::{RULES_ONCE_IMPORTED, refusal};

/// (check, `file::test`) — a test outside tests/model_checks_fire.rs that commits a fault and
/// asserts that this check reports it. Paths are relative to the workspace root.
pub static SHOWN_ELSEWHERE: &[(&str, &str)] = &[
    (
        "config.closed_before_owner_returns",
        "tests/model_ndis_rules.rs::configuration_check_fires_on_a_handle_left_open",
    ),
    (
        "driver.panic",
        "tests/ndis-model/src/drv.rs::a_failed_check_in_a_handler_fails_the_call_and_the_next_model_loads",
    ),
    (
        "handler.returns_within_watchdog",
        "tests/model_ndis_timing.rs::watchdog_fires_on_a_handler_that_blocks",
    ),
    (
        "image.bug_check",
        "tests/ndis-model/src/drv.rs::ke_bug_check_ex_is_a_violation_with_code_and_parameters",
    ),
    (
        "image.fault",
        "tests/image_faults.rs::int3_at_the_chimney_receive_post_handler_is_reported_there",
    ),
    (
        "memory.tag_nonzero",
        "tests/model_ndis_rules.rs::tag_check_fires_on_a_zero_tag",
    ),
    (
        "nbl.not_stuck",
        "tests/model_ndis_timing.rs::stuck_nbl_check_fires_on_a_send_kept_below",
    ),
    (
        "oid.bytes_within_buffer",
        "tests/model_ndis_rules.rs::byte_count_check_fires_on_an_overrun",
    ),
    (
        "oid.complete_not_pending",
        "tests/model_ndis_rules.rs::pending_as_a_final_status_fires",
    ),
    (
        "oid.must_succeed_status",
        "tests/model_ndis_rules.rs::must_succeed_check_fires_on_a_failed_release_or_set_power",
    ),
    (
        "processor.group_exists",
        "tests/host_percpu.rs::processor_exports_answer_for_the_model_thread_and_check_their_arguments",
    ),
    (
        "status.buffer_size",
        "tests/model_ndis_rules.rs::status_size_check_fires_on_a_short_buffer",
    ),
];

/// Checks of rules that apply only once a driver imports a given function
/// (`RULES_ONCE_IMPORTED`), with why they cannot fire today: the model refuses to load an image
/// importing that function (the refusal, which `check_refused` verifies, is the reason given).
pub fn unreachable_until_imported() -> Vec<(&'static str, String)> {
    let mut out: Vec<(&'static str, String)> = Vec::new();
    for rule in RULES_ONCE_IMPORTED {
        let refused = refusal(rule.function).unwrap_or_default();
        let why = format!(
            "a rule of {} ({}): chimney-im does not import it, and the model refuses an image \
             that does ({refused})",
            rule.function, rule.rules
        );
        for check in rule.checks {
            match out.iter_mut().find(|(c, _)| c == check) {
                Some((_, reasons)) => {
                    reasons.push_str("; ");
                    reasons.push_str(&why);
                }
                None => out.push((check, why.clone())),
            }
        }
    }
    out
}

/// Err when the model would bind a rule-once-imported function after all (its checks would then
/// be reachable and must be shown to fire).
pub fn check_refused() -> Result<(), String> {
    for rule in RULES_ONCE_IMPORTED {
        if refusal(rule.function).is_none() {
            return Err(format!(
                "the model binds {} now: show its checks {:?} firing",
                rule.function, rule.checks
            ));
        }
    }
    Ok(())
}

/// Err unless `test` (`file::name`) exists and its body names `check` other than as the
/// argument of `check_runs` (which only counts runs; a firing test compares violations or the
/// failure text with the check's name).
pub fn asserts_firing(check: &str, test: &str) -> Result<(), String> {
    let (file, name) = test
        .split_once("::")
        .ok_or_else(|| format!("{test}: not file::test"))?;
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{test}: {e}"))?;
    let start = text
        .find(&format!("fn {name}("))
        .ok_or_else(|| format!("{test}: no such test function"))?;
    let before = &text[..start];
    if !before.trim_end().ends_with("#[test]") {
        return Err(format!("{test}: not a #[test] function"));
    }
    let rest = &text[start..];
    let end = rest.find("#[test]").unwrap_or(rest.len());
    let body = &rest[..end];
    let quoted = format!("\"{check}\"");
    let bracketed = format!("[{check}]");
    let names_it = body
        .match_indices(&quoted)
        .any(|(i, _)| !body[..i].trim_end().ends_with("check_runs("))
        || body.contains(&bracketed);
    if names_it {
        Ok(())
    } else {
        Err(format!("{test} does not assert that {check} fires"))
    }
}
