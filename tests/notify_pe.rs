//! Checks the notify object DLL that `.ci/build-notify` cross-builds: an AMD64 PE32+ DLL without
//! an entry point, NX-compatible and relocatable (dynamic base), subsystem version 6.1 (Windows 7),
//! a valid CheckSum, no writable+executable section, exactly the two COM exports, and every import
//! in `tests/pe/win7-user.imports` (functions present on Windows 7 / Server 2008 R2).
//!
//! The image is `$CHIMNEY_NOTIFY_DLL`, else `$CARGO_TARGET_DIR/chimney_im_notify.dll`, else
//! `target/chimney_im_notify.dll`. A missing image fails the test (run `.ci/build-notify`), unless
//! `CHIMNEY_SKIP_PE=1` (the developer loop only; CI never sets it).

use std::collections::BTreeSet;
use std::path::Path;

#[allow(dead_code)] // the driver's PE test uses the rest
#[path = "support/pe.rs"]
mod support;
use support::{Pe, built_image_path, checksum_and_section_problems, load_built_image, read_u16};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
/// What NetCfg calls (docs/windows.md §4): no DllRegisterServer/DllUnregisterServer.
const EXPECTED_EXPORTS: [&str; 2] = ["DllCanUnloadNow", "DllGetClassObject"];

const IMAGE_FILE_MACHINE_AMD64: u16 = 0x8664;
const IMAGE_FILE_EXECUTABLE_IMAGE: u16 = 0x0002;
const IMAGE_FILE_DLL: u16 = 0x2000;
const IMAGE_SUBSYSTEM_WINDOWS_GUI: u16 = 2;
const DLLCHAR_DYNAMIC_BASE: u16 = 0x0040;
const DLLCHAR_NX_COMPAT: u16 = 0x0100;

fn load() -> Option<Pe> {
    load_built_image(
        &built_image_path("CHIMNEY_NOTIFY_DLL", "chimney_im_notify.dll"),
        "Run `.ci/build-notify` first, or set CHIMNEY_NOTIFY_DLL.",
    )
}

/// (dll, function) pairs of `tests/pe/win7-user.imports`, DLL names lower case.
fn windows7_imports() -> BTreeSet<(String, String)> {
    let path = Path::new(ROOT).join("tests/pe/win7-user.imports");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .map(|line| line.split('#').next().unwrap_or("").trim())
        .filter(|line| !line.is_empty())
        .map(|line| {
            let mut fields = line.split_whitespace();
            let (Some(dll), Some(function), None) = (fields.next(), fields.next(), fields.next())
            else {
                panic!("{}: malformed line {line:?}", path.display());
            };
            (dll.to_ascii_lowercase(), function.to_owned())
        })
        .collect()
}

/// Every problem of the image's headers and sections.
fn header_problems(pe: &Pe) -> Vec<String> {
    let mut problems = Vec::new();
    if pe.machine != IMAGE_FILE_MACHINE_AMD64 {
        problems.push(format!("machine {:#x}, want AMD64", pe.machine));
    }
    let want = IMAGE_FILE_EXECUTABLE_IMAGE | IMAGE_FILE_DLL;
    if pe.characteristics & want != want {
        problems.push(format!(
            "characteristics {:#x}: not an executable DLL",
            pe.characteristics
        ));
    }
    if pe.subsystem != IMAGE_SUBSYSTEM_WINDOWS_GUI {
        problems.push(format!("subsystem {}, want 2 (Windows GUI)", pe.subsystem));
    }
    for flag in [DLLCHAR_DYNAMIC_BASE, DLLCHAR_NX_COMPAT] {
        if pe.dll_characteristics & flag == 0 {
            problems.push(format!(
                "DllCharacteristics {:#x} lacks {flag:#x}",
                pe.dll_characteristics
            ));
        }
    }
    // Optional header: MajorSubsystemVersion at +48, MinorSubsystemVersion at +50. The loader
    // refuses an image whose subsystem version is newer than the system's (Windows 7 = 6.1).
    let optional = pe.checksum_offset - 64;
    let major = read_u16(&pe.data, optional + 48).unwrap();
    let minor = read_u16(&pe.data, optional + 50).unwrap();
    if (major, minor) > (6, 1) {
        problems.push(format!(
            "subsystem version {major}.{minor} is newer than Windows 7 (6.1)"
        ));
    }
    if pe.entry_point != 0 {
        problems.push(format!(
            "entry point {:#x}: the DLL is linked /NOENTRY",
            pe.entry_point
        ));
    }
    problems.extend(checksum_and_section_problems(pe));
    problems
}

/// Imports outside the Windows 7 list.
fn import_problems(
    imports: &[(String, String)],
    allowed: &BTreeSet<(String, String)>,
) -> Vec<String> {
    imports
        .iter()
        .filter(|(dll, f)| !allowed.contains(&(dll.to_ascii_lowercase(), f.clone())))
        .map(|(dll, f)| format!("{dll}!{f} is not in tests/pe/win7-user.imports"))
        .collect()
}

#[test]
fn notify_dll_headers() {
    let Some(pe) = load() else { return };
    let problems = header_problems(&pe);
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn notify_dll_exports_exactly_the_com_entry_points() {
    let Some(pe) = load() else { return };
    let exports: Vec<String> = pe.exports().unwrap().into_keys().collect();
    assert_eq!(exports, EXPECTED_EXPORTS);
}

#[test]
fn notify_dll_imports_only_windows7_functions() {
    let Some(pe) = load() else { return };
    let imports = pe.imports().unwrap();
    assert!(
        !imports.is_empty(),
        "no import table: the parser or the image is wrong"
    );
    let problems = import_problems(&imports, &windows7_imports());
    assert!(problems.is_empty(), "{problems:#?}");
}

/// The checks reject what they are meant to reject.
#[test]
fn checks_catch_bad_images() {
    let allowed = windows7_imports();
    let bad = [
        ("combase.dll".to_owned(), "CoTaskMemFree".to_owned()),
        ("bcryptprimitives.dll".to_owned(), "ProcessPrng".to_owned()),
        ("kernel32.dll".to_owned(), "WaitOnAddress".to_owned()),
    ];
    assert_eq!(import_problems(&bad, &allowed).len(), 3);
    let good = [("ADVAPI32.dll".to_owned(), "RegCloseKey".to_owned())];
    assert!(import_problems(&good, &allowed).is_empty());

    let Some(pe) = load() else { return };
    let mut data = pe.data.clone();
    let optional = pe.checksum_offset - 64;
    data[optional + 48] = 10; // subsystem version 10.x
    data[optional + 70] &= !0x40; // no dynamic base
    let broken = Pe::parse(data).unwrap();
    let problems = header_problems(&broken);
    assert!(
        problems.iter().any(|p| p.contains("subsystem version")),
        "{problems:#?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("lacks 0x40")),
        "{problems:#?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("CheckSum")),
        "{problems:#?}"
    );
}
