//! The protocol INX's notify-object entries (used by tests/inf_consistency.rs): `Ndi\ClsID` and
//! `Ndi\ComponentDll` name the DLL's own CLSID and file (notify/src/lib.rs), and each model copies
//! the DLL once, to DIRID 13 (driver store model) or 11 (System32, legacy model), from a file
//! listed in `[SourceDisksFiles]`.

use super::inf_parser::{Inf, fields};

/// Problems of the notify-object entries of every model of the protocol INX.
pub(crate) fn check_notify_object(inf: &Inf, clsid: &str, dll: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let models = inf.models();
    if models.is_empty() {
        problems.push(format!("{}: no models", inf.file));
    }
    for model in models {
        let install = &model.install;
        let got = inf.ndi(install, "Ndi", "ClsID");
        if got.len() != 1 || !got[0].eq_ignore_ascii_case(clsid) {
            problems.push(format!(
                "{}: [{install}] Ndi ClsID = {got:?}, expected [{clsid:?}]",
                inf.file
            ));
        }
        let got = inf.ndi(install, "Ndi", "ComponentDll");
        if got.len() != 1 || !got[0].eq_ignore_ascii_case(dll) {
            problems.push(format!(
                "{}: [{install}] Ndi ComponentDll = {got:?}, expected [{dll:?}]",
                inf.file
            ));
        }
        // Driver store from build 25341 on (a `...25341` model), System32 before.
        let want_dirid = if model.models_section.ends_with("25341") {
            "13"
        } else {
            "11"
        };
        let copies: Vec<String> = inf
            .values(install, "CopyFiles")
            .iter()
            .flat_map(|v| fields(v))
            .filter(|s| {
                inf.lines(s)
                    .any(|l| fields(&l.value)[0].eq_ignore_ascii_case(dll))
            })
            .collect();
        match copies.as_slice() {
            [section] => {
                let dest = inf.dest_dirid(section);
                if dest.as_deref() != Some(want_dirid) {
                    problems.push(format!(
                        "{}: [{section}] copies {dll} to DIRID {dest:?}, expected {want_dirid}",
                        inf.file
                    ));
                }
            }
            _ => problems.push(format!(
                "{}: [{install}] must copy {dll} exactly once",
                inf.file
            )),
        }
    }
    if !inf.lines("SourceDisksFiles").any(|l| {
        l.key
            .as_deref()
            .is_some_and(|k| k.eq_ignore_ascii_case(dll))
    }) {
        problems.push(format!(
            "{}: [SourceDisksFiles] does not list {dll}",
            inf.file
        ));
    }
    problems
}
