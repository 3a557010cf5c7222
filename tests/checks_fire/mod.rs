//! Infrastructure of tests/model_checks_fire.rs: a case is a setup, a fault and the check it must
//! trip; the check names come from the model's source.

use std::collections::BTreeSet;
use std::path::Path;

use ndis_model::Model;

/// `case!("area.rule", [also ["consequence", …],] setup, |m| { fault })`.
macro_rules! case {
    ($check:literal, also [$($also:literal),*], $setup:expr, |$m:ident| $fault:block) => {
        $crate::checks_fire::Case {
            check: $check,
            also: &[$($also),*],
            setup: $setup,
            fault: {
                #[allow(unused_variables)]
                fn f($m: &mut Model) $fault
                f
            },
        }
    };
    ($check:literal, $setup:expr, |$m:ident| $fault:block) => {
        case!($check, also [], $setup, |$m| $fault)
    };
}

pub mod chimney_cases;
pub mod chimney_misuse;
pub mod chimney_standin;
pub mod chimney_wrap;
pub mod datapath_faults;
pub mod elsewhere;
pub mod faulty;
pub mod handler_faults;
pub mod lifecycle_cases;
pub mod lifecycle_faults;
pub mod misuse;
pub mod pnp_cases;
pub mod send_path;
pub mod setups;
pub mod standin;
pub mod unshown;

/// Every case.
pub fn all_cases() -> impl Iterator<Item = &'static Case> {
    misuse::CASES
        .iter()
        .chain(handler_faults::CASES)
        .chain(chimney_cases::CASES)
        .chain(chimney_misuse::CASES)
        .chain(lifecycle_cases::CASES)
        .chain(pnp_cases::CASES)
        .chain(pnp_cases::BIND_CASES)
}

pub struct Case {
    /// The check this case shows firing.
    pub check: &'static str,
    /// Other checks the same fault necessarily trips (one wrong call can break two rules, e.g. a
    /// PASSIVE-only export called with a spin lock held is both too high an IRQL and a lock held
    /// across an NDIS call; NBLs never returned are found outstanding at pause, halt and
    /// unload). Each must fire too; anything else firing fails the case.
    pub also: &'static [&'static str],
    pub setup: fn() -> Model,
    pub fault: fn(&mut Model),
}

/// Every check name in the model's source: the string literals shaped `area.rule`.
pub fn model_check_names() -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ndis-model/src");
    scan(&root, &mut out);
    out
}

fn scan(dir: &Path, out: &mut BTreeSet<String>) {
    for e in std::fs::read_dir(dir).expect("model source dir") {
        let p = e.expect("dir entry").path();
        if p.is_dir() {
            scan(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            let text = std::fs::read_to_string(&p).expect("model source");
            // Every `"area.rule"`: no name contains a quote or a space, so looking at what lies
            // between each quote and the next is enough, whatever the surrounding code.
            let pieces: Vec<&str> = text.split('"').collect();
            for lit in pieces.iter().skip(1).take(pieces.len().saturating_sub(2)) {
                if is_check_name(lit) {
                    out.insert((*lit).to_string());
                }
            }
        }
    }
}

/// `area.rule`, lower case, one dot — and not a file name: the model also names the image it loads
/// and the modules an image may import (`chimney_im.sys`, `ndis.sys`, `hal.dll`, ...), which have
/// the same shape. No check's rule part is a file extension.
fn is_check_name(s: &str) -> bool {
    const FILE_EXTENSIONS: [&str; 7] = ["sys", "exe", "dll", "inf", "cat", "rs", "toml"];
    let ok_chars = s
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.');
    let parts: Vec<&str> = s.split('.').collect();
    ok_chars
        && parts.len() == 2
        && parts.iter().all(|p| !p.is_empty())
        && !FILE_EXTENSIONS.contains(&parts[1])
}
