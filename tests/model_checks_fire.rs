//! Every verifier check is shown to fire: for each check, a case breaks exactly that rule — the
//! test acting as a faulty driver (it calls the model's exports itself, with a wrong argument or at
//! a wrong time), or a faulty stand-in DriverEntry loaded through `Model::load_with` — and asserts
//! the check reports it. `every_check_is_classified` fails when a check of the model is neither
//! shown here nor listed (with why) in `tests/checks_fire/unshown.rs`.

mod checks_fire;

use checks_fire::unshown::{NOT_YET, UNREACHABLE};
use checks_fire::{Case, all_cases, model_check_names};
use std::collections::BTreeSet;

#[test]
fn every_case_fires_its_check_and_only_the_expected_ones() {
    let only = std::env::var("CHIMNEY_CHECK").ok();
    let mut failures = Vec::new();
    for case in all_cases().filter(|c| only.as_deref().is_none_or(|o| o == c.check)) {
        if let Err(e) = run(case) {
            failures.push(format!("{}: {e}", case.check));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Runs one case; Err says what did not happen. Violations from the setup count too: a faulty
/// stand-in DriverEntry commits its fault while loading.
fn run(case: &Case) -> Result<(), String> {
    let outcome = std::panic::catch_unwind(|| {
        let mut m = (case.setup)();
        (case.fault)(&mut m);
        let mut fired: BTreeSet<&'static str> =
            m.take_violations().iter().map(|v| v.check).collect();
        // Checks that fire only at unload (teardown) are collected too.
        let report = m.unload();
        fired.extend(report.violations.iter().map(|v| v.check));
        fired
    });
    let fired = outcome.map_err(|p| {
        p.downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_string()))
            .unwrap_or_else(|| "panicked".into())
    })?;
    if !fired.contains(case.check) {
        return Err(format!("did not fire; fired instead: {fired:?}"));
    }
    let missing: Vec<&&str> = case.also.iter().filter(|c| !fired.contains(**c)).collect();
    if !missing.is_empty() {
        return Err(format!("the listed consequences {missing:?} did not fire"));
    }
    let unexpected: Vec<&&str> = fired
        .iter()
        .filter(|c| **c != case.check && !case.also.contains(c))
        .collect();
    if !unexpected.is_empty() {
        return Err(format!(
            "also fired {unexpected:?} (not in the case's `also` list)"
        ));
    }
    Ok(())
}

#[test]
fn every_check_is_classified() {
    let all = model_check_names();
    assert!(all.len() > 200, "found only {} check names", all.len());
    let shown: BTreeSet<&str> = all_cases().map(|c| c.check).collect();
    // Checks asserted to fire as the necessary consequence of another case's fault.
    let consequences: BTreeSet<&str> = all_cases()
        .flat_map(|c| c.also.iter().copied())
        .filter(|c| !shown.contains(c))
        .collect();
    let unreachable: BTreeSet<&str> = UNREACHABLE.iter().map(|(c, _)| *c).collect();
    let not_yet: BTreeSet<&str> = NOT_YET.iter().copied().collect();
    for name in shown.iter().chain(&unreachable).chain(&not_yet) {
        assert!(all.contains(*name), "{name} is not a check of the model");
    }
    for (a, b, what) in [
        (&shown, &unreachable, "shown and unreachable"),
        (&shown, &not_yet, "shown and not-yet"),
        (&unreachable, &not_yet, "unreachable and not-yet"),
    ] {
        let both: Vec<_> = a.intersection(b).collect();
        assert!(both.is_empty(), "listed as both {what}: {both:?}");
    }
    let both: Vec<_> = consequences.intersection(&not_yet).collect();
    assert!(
        both.is_empty(),
        "asserted to fire, yet listed not-yet: {both:?}"
    );
    let unclassified: Vec<&String> = all
        .iter()
        .filter(|c| {
            !shown.contains(c.as_str())
                && !consequences.contains(c.as_str())
                && !unreachable.contains(c.as_str())
                && !not_yet.contains(c.as_str())
        })
        .collect();
    println!(
        "verifier checks: {} total; shown to fire: {} ({} by a case of their own, {} asserted as \
         the necessary consequence of another case's fault); {} unreachable by construction; {} \
         not yet shown",
        all.len(),
        shown.len() + consequences.len(),
        shown.len(),
        consequences.len(),
        unreachable.len(),
        not_yet.len()
    );
    assert!(
        unclassified.is_empty(),
        "checks neither shown to fire nor listed in tests/checks_fire/unshown.rs: {unclassified:?}"
    );
}
