//! Every verifier check is shown to fire: for each check, a case breaks exactly that rule — the
//! test acting as a faulty driver (it calls the model's exports itself, with a wrong argument or at
//! a wrong time), or a faulty stand-in DriverEntry loaded through `Model::load_with` — and asserts
//! the check reports it. `every_check_is_classified` fails when a check of the model is neither
//! shown here, nor shown by another test (`tests/checks_fire/elsewhere.rs`, verified against that
//! test's source), nor listed (with why) as unreachable or not yet shown
//! (`tests/checks_fire/unshown.rs`, and the rules-once-imported checks).

mod checks_fire;

use checks_fire::elsewhere::{
    SHOWN_ELSEWHERE, asserts_firing, check_refused, unreachable_until_imported,
};
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
    // Checks another test file shows firing: that test must assert the check by name.
    let elsewhere: BTreeSet<&str> = SHOWN_ELSEWHERE.iter().map(|(c, _)| *c).collect();
    let dishonest: Vec<String> = SHOWN_ELSEWHERE
        .iter()
        .filter_map(|(check, test)| asserts_firing(check, test).err())
        .collect();
    assert!(dishonest.is_empty(), "{}", dishonest.join("\n"));
    if let Err(e) = check_refused() {
        panic!("{e}");
    }
    let until_imported = unreachable_until_imported();
    let unreachable: BTreeSet<&str> = UNREACHABLE
        .iter()
        .map(|(c, _)| *c)
        .chain(until_imported.iter().map(|(c, _)| *c))
        .collect();
    let not_yet: BTreeSet<&str> = NOT_YET.iter().copied().collect();
    for name in shown
        .iter()
        .chain(&elsewhere)
        .chain(&unreachable)
        .chain(&not_yet)
    {
        assert!(all.contains(*name), "{name} is not a check of the model");
    }
    let by_a_case: BTreeSet<&str> = shown.union(&consequences).copied().collect();
    for (a, b, what) in [
        (&shown, &unreachable, "shown and unreachable"),
        (&shown, &not_yet, "shown and not-yet"),
        (&unreachable, &not_yet, "unreachable and not-yet"),
        (
            &by_a_case,
            &elsewhere,
            "shown by a case and listed as shown elsewhere",
        ),
        (&elsewhere, &unreachable, "shown elsewhere and unreachable"),
        (&elsewhere, &not_yet, "shown elsewhere and not-yet"),
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
            let c = c.as_str();
            !by_a_case.contains(c)
                && !elsewhere.contains(c)
                && !unreachable.contains(c)
                && !not_yet.contains(c)
        })
        .collect();
    println!(
        "verifier checks: {} total; shown to fire: {} ({} by a case of their own, {} asserted as \
         the necessary consequence of another case's fault, {} by other tests); {} unreachable \
         ({} until the driver imports the function their rule is about); {} not yet shown",
        all.len(),
        by_a_case.len() + elsewhere.len(),
        shown.len(),
        consequences.len(),
        elsewhere.len(),
        unreachable.len(),
        until_imported.len(),
        not_yet.len()
    );
    assert!(
        unclassified.is_empty(),
        "checks neither shown to fire nor classified in tests/checks_fire/{{elsewhere,unshown}}.rs: \
         {unclassified:?}"
    );
}
