//! The protocol INX's notify-object entries (used by tests/inf_consistency.rs): `Ndi\ClsID` and
//! `Ndi\ComponentDll` name the DLL's own CLSID and file (notify/src/lib.rs), and each model copies
//! the DLL once, to DIRID 13 (driver store model) or 11 (System32, legacy model), from a file
//! listed in `[SourceDisksFiles]`.

use super::inf_checks::{check_copied_once, check_source_listed};
use super::inf_parser::Inf;

/// Problems of the notify-object entries of every model of the protocol INX.
pub(crate) fn check_notify_object(inf: &Inf, clsid: &str, dll: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let models = inf.models();
    if models.is_empty() {
        problems.push(format!("{}: no models", inf.file));
    }
    for model in models {
        let install = &model.install;
        for (key, want) in [("ClsID", clsid), ("ComponentDll", dll)] {
            let got = inf.ndi(install, "Ndi", key);
            if got.len() != 1 || !got[0].eq_ignore_ascii_case(want) {
                problems.push(format!(
                    "{}: [{install}] Ndi {key} = {got:?}, expected [{want:?}]",
                    inf.file
                ));
            }
        }
        // Driver store from build 25341 on (a `...25341` model), System32 before.
        let want_dirid = if model.models_section.ends_with("25341") {
            "13"
        } else {
            "11"
        };
        problems.extend(check_copied_once(inf, install, dll, want_dirid));
    }
    problems.extend(check_source_listed(inf, dll));
    problems
}
