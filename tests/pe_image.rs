//! Checks the driver image that `.ci/build-sys` cross-builds (docs/cross-build.md §6): a native
//! AMD64 PE32+ kernel image entered at DriverEntry, with a valid CheckSum, NX-compatible, no
//! writable+executable or characteristic-less section, and an import table that is exactly what
//! the ABI layer declares, each import a real export of `ndis.sys`/`ntoskrnl.exe`.
//!
//! The image is `$CHIMNEY_SYS`, else `$CARGO_TARGET_DIR/chimney_im.sys`, else
//! `target/chimney_im.sys`. A missing image fails the test (run `.ci/build-sys` first), unless
//! `CHIMNEY_SKIP_PE=1` (the developer loop only; CI never sets it).
//!
//! The expected import set comes from the crate's sources: every `extern` block reachable from
//! `src/lib.rs` whose `cfg` holds for the `--cfg no_wdk` Windows build, with the DLL named by its
//! `link(name = ...)` attribute. The parser expects rustfmt-formatted code: one attribute or
//! `fn` signature start per line, `mod name;` for file modules. Blocks preceded by the comment
//! `// pe-import: optional` hold linker-driven runtime imports (memcpy, the pool allocator,
//! KeBugCheckEx; see `src/ndis/runtime.rs`): the image may or may not import each of them. Every
//! other declared function must be imported, and nothing undeclared may be.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::PathBuf;

#[path = "support/pe.rs"]
mod support;
use support::*;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
/// DLLs a kernel driver may import from (hal.dll only if ever needed).
const ALLOWED_DLLS: [&str; 3] = ["ndis.sys", "ntoskrnl.exe", "hal.dll"];
/// A cdylib exports every `#[no_mangle]` symbol: DriverEntry and the two runtime stubs of
/// `src/glue/no_wdk.rs`.
const EXPECTED_EXPORTS: [&str; 3] = ["DriverEntry", "_fltused", "__CxxFrameHandler3"];

// ---------------------------------------------------------------------------------------------
// The image

fn image_path() -> PathBuf {
    built_image_path("CHIMNEY_SYS", "chimney_im.sys")
}

fn load_image() -> Option<Pe> {
    load_built_image(
        &image_path(),
        "Run `.ci/build-sys` first (it writes $CARGO_TARGET_DIR/chimney_im.sys, default \
         target/chimney_im.sys), or set CHIMNEY_SYS to the image.",
    )
}

fn fail_if_any(problems: &[String]) {
    assert!(
        problems.is_empty(),
        "{} problem(s) with {} (if the sources changed, re-run `.ci/build-sys`):\n  - {}",
        problems.len(),
        image_path().display(),
        problems.join("\n  - ")
    );
}

#[test]
fn image_is_a_native_amd64_driver() {
    let Some(pe) = load_image() else { return };
    let mut problems = Vec::new();

    if pe.machine != 0x8664 {
        problems.push(format!(
            "machine {:#x}, expected 0x8664 (AMD64)",
            pe.machine
        ));
    }
    if pe.magic != 0x20B {
        problems.push(format!(
            "optional header magic {:#x}, expected 0x20b (PE32+)",
            pe.magic
        ));
    }
    if pe.characteristics & 0x2 == 0 {
        problems.push("IMAGE_FILE_EXECUTABLE_IMAGE not set".into());
    }
    if pe.subsystem != 1 {
        problems.push(format!("subsystem {}, expected 1 (NATIVE)", pe.subsystem));
    }
    const NX_COMPAT: u16 = 0x100;
    const DYNAMIC_BASE: u16 = 0x40;
    const FORCE_INTEGRITY: u16 = 0x80;
    if pe.dll_characteristics & NX_COMPAT == 0 {
        problems.push("DllCharacteristics lacks NX_COMPAT".into());
    }
    if pe.dll_characteristics & DYNAMIC_BASE == 0 {
        problems.push("DllCharacteristics lacks DYNAMIC_BASE".into());
    }
    if pe.dll_characteristics & FORCE_INTEGRITY != 0 {
        problems.push("FORCE_INTEGRITY is set on an unsigned image: it would not load".into());
    }
    problems.extend(checksum_and_section_problems(&pe));

    match pe.exports() {
        Err(e) => problems.push(format!("export table: {e}")),
        Ok(exports) => {
            let names: BTreeSet<&str> = exports.keys().map(String::as_str).collect();
            let expected: BTreeSet<&str> = EXPECTED_EXPORTS.into_iter().collect();
            if names != expected {
                problems.push(format!("exports {names:?}, expected {expected:?}"));
            }
            match exports.get("DriverEntry") {
                None => problems.push("no DriverEntry export".into()),
                Some(&rva) if rva != pe.entry_point => problems.push(format!(
                    "entry point RVA {:#x} is not DriverEntry ({rva:#x})",
                    pe.entry_point
                )),
                Some(_) => {}
            }
        }
    }
    fail_if_any(&problems);
}

#[test]
fn imports_are_exactly_the_abi_layer_declarations() {
    let Some(pe) = load_image() else { return };
    let mut problems = Vec::new();
    let imports = match pe.imports() {
        Ok(imports) => imports,
        Err(e) => panic!("import table: {e}"),
    };
    let declared = declared_imports();
    let known = known_exports();

    let mut imported = BTreeSet::new();
    for (dll, name) in &imports {
        if !ALLOWED_DLLS.contains(&dll.as_str()) {
            problems.push(format!(
                "imports {dll}!{name}: only {ALLOWED_DLLS:?} are allowed"
            ));
            continue;
        }
        if !known.get(dll).is_some_and(|names| names.contains(name)) {
            problems.push(format!(
                "imports {dll}!{name}, which is not in tests/pe/{dll}.exports"
            ));
        }
        match declared.iter().find(|d| &d.name == name) {
            None => problems.push(format!(
                "imports {dll}!{name}, which no extern block of the ABI layer declares"
            )),
            Some(d) if &d.dll != dll => problems.push(format!(
                "imports {name} from {dll}, but {} links it from {}",
                d.location, d.dll
            )),
            Some(_) => {}
        }
        imported.insert((dll.clone(), name.clone()));
    }
    for d in declared.iter().filter(|d| !d.optional) {
        if !imported.contains(&(d.dll.clone(), d.name.clone())) {
            problems.push(format!(
                "{}!{} is declared ({}) but not imported by the image: remove the unused \
                 declaration, or call it",
                d.dll, d.name, d.location
            ));
        }
    }
    if !problems.is_empty() {
        let mut list = String::new();
        for (dll, name) in &imports {
            let _ = write!(list, "{dll}!{name} ");
        }
        problems.push(format!("the image imports: {list}"));
    }
    fail_if_any(&problems);
}

/// Needs no image: every declaration the Windows build links must name a real export.
#[test]
fn abi_layer_declarations_are_real_exports() {
    let known = known_exports();
    let declared = declared_imports();
    assert!(
        declared
            .iter()
            .any(|d| d.name == "NdisMRegisterMiniportDriver"),
        "the source scan found no NdisMRegisterMiniportDriver: is the parser broken?"
    );
    let mut problems = Vec::new();
    let mut seen = BTreeMap::new();
    for d in &declared {
        if !ALLOWED_DLLS.contains(&d.dll.as_str()) {
            problems.push(format!("{}: links {} from {}", d.location, d.name, d.dll));
        } else if !known
            .get(&d.dll)
            .is_some_and(|names| names.contains(&d.name))
        {
            problems.push(format!(
                "{}: {} is not in tests/pe/{}.exports (add it only if it is a documented \
                 export of {})",
                d.location, d.name, d.dll, d.dll
            ));
        }
        if let Some(previous) = seen.insert(d.name.clone(), d.location.clone()) {
            problems.push(format!(
                "{} is declared twice: {previous} and {}",
                d.name, d.location
            ));
        }
    }
    assert!(problems.is_empty(), "\n  - {}", problems.join("\n  - "));
}

/// Extern blocks belong in the ABI layer (`src/ndis/mod.rs`: "Nothing above this module
/// declares an `extern` function").
#[test]
fn extern_blocks_live_in_the_abi_layer() {
    let outside: Vec<String> = scan_crate()
        .into_iter()
        .filter(|block| !block.file.starts_with("src/ndis/"))
        .map(|block| format!("{}:{}", block.file, block.line))
        .collect();
    assert!(
        outside.is_empty(),
        "extern blocks outside src/ndis: {outside:?}"
    );
}

#[test]
fn cfg_evaluation() {
    let cfg = |s: &str| eval_cfg(&parse_meta(&format!("cfg({s})")).args[0]);
    assert!(cfg("windows"));
    assert!(cfg("all(windows, no_wdk)"));
    assert!(!cfg("all(windows, not(no_wdk))"));
    assert!(cfg("not(all(windows, not(no_wdk)))"));
    assert!(cfg("any(unix, target_pointer_width = \"64\")"));
    assert!(!cfg("test"));
    let link = parse_meta(
        r#"cfg_attr(windows, link(name = "ndis.sys", kind = "raw-dylib", modifiers = "+verbatim"))"#,
    );
    assert_eq!(link_name(&link).as_deref(), Some("ndis.sys"));
}

#[test]
fn checksum_matches_a_known_value() {
    // A 0x40-byte file, all zero but e_lfanew-free: words sum to 0, so the checksum is the length;
    // then one word 0xffff plus one 0x0001 fold to 0x0001.
    let mut data = vec![0u8; 0x40];
    assert_eq!(pe_checksum(&data, 0x20), 0x40);
    data[0] = 0xff;
    data[1] = 0xff;
    data[2] = 0x01;
    data[0x20] = 0x55; // the CheckSum field itself is ignored
    assert_eq!(pe_checksum(&data, 0x20), 0x40 + 0x0001);
}
