//! The model binds the driver's imports through one export table and refuses an import it has
//! no checks for (tests/ndis-model/src/exports/table.rs, checks.rs): every function the driver declares is
//! a model export listing its checks, every check listed is one the model runs, and a function
//! whose rules apply once it is imported (timers, I/O work items, NdisMNetPnPEvent, ...) is
//! refused until the model checks those rules.

use std::path::Path;

use ndis_model::exports::EXPORTS;
use ndis_model::exports::checks::{
    CHECKED, RULES_ONCE_IMPORTED, UNRULED, bind_imports, refusal_in,
};
use ndis_model::exports::table::Entry;

#[path = "support/pe.rs"]
#[allow(
    dead_code,
    reason = "the PE half of the support module is for tests/pe_image.rs"
)]
mod support;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn driver_imports() -> Vec<String> {
    let names: Vec<String> = support::declared_imports()
        .into_iter()
        .filter(|d| !d.optional)
        .map(|d| d.name)
        .collect();
    assert!(
        names.iter().any(|n| n == "NdisMRegisterMiniportDriver"),
        "the source scan found no NdisMRegisterMiniportDriver: is the parser broken?"
    );
    names
}

/// All model source text except the table itself.
fn model_sources() -> String {
    fn walk(dir: &Path, out: &mut String) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .filter_map(Result::ok)
            .map(|e| e.path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") && !p.ends_with("exports/checks.rs")
            {
                out.push_str(&std::fs::read_to_string(&p).unwrap_or_default());
            }
        }
    }
    let mut s = String::new();
    walk(&Path::new(ROOT).join("tests/ndis-model/src"), &mut s);
    s
}

#[test]
fn the_model_binds_every_import_of_the_driver() {
    let names = driver_imports();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    match bind_imports(&refs) {
        Ok(bound) => assert_eq!(bound.len(), refs.len()),
        Err(refused) => panic!("the model refuses:\n  - {}", refused.join("\n  - ")),
    }
}

#[test]
fn every_listed_check_is_one_the_model_runs() {
    let src = model_sources();
    let mut unknown = Vec::new();
    // The runtime exports (KeBugCheckEx, memcpy, ...) are exempt: they carry no NDIS rule.
    for e in EXPORTS.0.iter().filter(|e| !UNRULED.contains(&e.name)) {
        let checks = CHECKED.iter().find(|(n, _)| *n == e.name).map(|(_, c)| *c);
        assert!(
            checks.is_some_and(|c| !c.is_empty()),
            "{} lists no checks",
            e.name
        );
        for c in checks.unwrap_or_default() {
            if !src.contains(&format!("\"{c}\"")) {
                unknown.push(format!("{}: {c}", e.name));
            }
        }
    }
    assert!(unknown.is_empty(), "checks no model code runs: {unknown:?}");
}

#[test]
fn an_import_without_checks_is_refused() {
    // A function the model does not define, one whose entry lists no checks, and one whose
    // rules need checks its entry lacks.
    let table = [Entry {
        name: "NdisAllocateIoWorkItem",
        addr: std::ptr::null(),
    }];
    let bare: &[(&str, &[&str])] = &[("NdisAllocateIoWorkItem", &[])];
    let r = refusal_in(&table, bare, "NdisAllocateIoWorkItem").expect("refused");
    assert!(r.contains("no checks"), "{r}");
    let r = refusal_in(&table, bare, "NdisStallExecution").expect("refused");
    assert!(r.contains("no such export"), "{r}");

    let refused = bind_imports(&["NdisMNetPnPEvent"]).expect_err("must refuse");
    assert!(
        refused[0].contains("pnp.not_during_oid_request"),
        "{refused:?}"
    );
}

#[test]
fn every_rule_that_applies_once_imported_is_refused_today() {
    let mut bound = Vec::new();
    for r in RULES_ONCE_IMPORTED {
        if bind_imports(&[r.function]).is_ok() {
            bound.push(r.function);
        }
        // An entry that lists the needed checks binds.
        let table = [Entry {
            name: r.function,
            addr: std::ptr::null(),
        }];
        let checked: &[(&str, &[&str])] = &[(r.function, r.checks)];
        assert_eq!(
            refusal_in(&table, checked, r.function),
            None,
            "{}",
            r.function
        );
    }
    assert!(
        bound.is_empty(),
        "{bound:?} bind without the checks their rules need"
    );
}
