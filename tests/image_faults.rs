//! Wine tier only: proof that the code the model drives is the shipped image. A copy of
//! `chimney_im.sys` gets an `int3` at the start of a function the model reaches through the
//! driver's own registration (DriverEntry through the export table; the chimney receive-post
//! handler through the table the driver registered), and the model must report exactly that
//! breakpoint at that symbol, failing the call without taking the test binary down. And the loader
//! refuses, with the full list, an image it cannot bind or must not run.
#![cfg(windows)]

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use ndis_model::image::{default_path, entry_and_symbols, patch_code, patch_copy, patch_int3};
use ndis_model::testkit::offload_now;
use ndis_model::*;

const A: AdapterId = AdapterId(0);

fn chimney_config() -> ModelConfig {
    ModelConfig::default()
        .seed(7)
        .with_adapter(LowerAdapterConfig::ethernet(1).with_policy(AdapterPolicy {
            chimney: ChimneyPolicy::default(),
            ..AdapterPolicy::default()
        }))
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("chimney-image-faults-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir.join(name)
}

fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_string()))
        .unwrap_or_default()
}

/// The panic text of loading `image`, which must fail (`why_it_must` otherwise).
fn failed_load(image: &Path, why_it_must: &str) -> String {
    let Err(err) = catch_unwind(AssertUnwindSafe(|| {
        Model::load_image(chimney_config(), image)
    })) else {
        panic!("{why_it_must}");
    };
    panic_text(&*err)
}

fn assert_contains(msg: &str, expected: &str) {
    assert!(msg.contains(expected), "expected `{expected}` in:\n{msg}");
}

#[test]
fn int3_at_driver_entry_is_reported_at_driver_entry() {
    let src = default_path();
    let (entry, symbols) = entry_and_symbols(&src).expect("the image");
    assert_eq!(
        symbols.find("DriverEntry"),
        Some(entry as usize),
        "the map names the entry point"
    );
    let patched = scratch("driver_entry_int3.sys");
    let at = patch_int3(&src, entry, &patched).expect("patched copy");
    assert_eq!(at, Some(("DriverEntry".to_string(), 0)));

    let msg = failed_load(
        &patched,
        "DriverEntry starting with int3 must fail the load",
    );
    let expected = format!(
        "[image.fault] breakpoint in the driver image at DriverEntry+0x0 (image offset {entry:#x})"
    );
    assert_contains(&msg, &expected);

    // The test binary and the model survive: the unpatched image loads and runs cleanly.
    let m = Model::load(chimney_config());
    let r = m.unload();
    assert!(r.violations.is_empty(), "{r}");
}

/// DriverEntry replaced by `code` must fail the load with `what` at `DriverEntry+0x0`.
fn driver_entry_fault(name: &str, code: &[u8], what: &str) {
    let src = default_path();
    let (entry, _) = entry_and_symbols(&src).expect("the image");
    let patched = scratch(name);
    patch_code(&src, entry, code, &patched).expect("patched copy");
    let why = format!("DriverEntry starting with {code:02x?} must fail the load");
    let msg = failed_load(&patched, &why);
    let expected = format!(
        "[image.fault] {what} in the driver image at DriverEntry+0x0 (image offset {entry:#x})"
    );
    assert_contains(&msg, &expected);
}

#[test]
fn illegal_instruction_and_access_violation_are_reported_at_their_symbol() {
    // ud2
    driver_entry_fault("ud2.sys", &[0x0F, 0x0B], "illegal instruction");
    // mov byte ptr [0x10], al (moffs64 form)
    driver_entry_fault(
        "null_write.sys",
        &[0xA2, 0x10, 0, 0, 0, 0, 0, 0, 0],
        "access violation (address 0x10)",
    );
}

#[test]
fn a_fault_in_a_handler_ndis_calls_back_during_driver_entry_unwinds_through_both() {
    // DriverEntry (image) -> NdisRegisterProtocolDriver (model) -> ProtocolSetOptions (image):
    // the fault unwinds through the model export and through DriverEntry's frame mid-function.
    let src = default_path();
    let (_, symbols) = entry_and_symbols(&src).expect("the image");
    let name = "chimney_im::edge::protocol::set_options";
    let rva = symbols
        .find(name)
        .expect("the map names the protocol SetOptions handler");
    let patched = scratch("set_options_int3.sys");
    let rva = u32::try_from(rva).expect("an RVA");
    patch_int3(&src, rva, &patched).expect("patched copy");
    let msg = failed_load(&patched, "the SetOptions breakpoint must fail the load");
    let expected = format!(
        "the driver faulted in DriverEntry: [image.fault] breakpoint in the driver image at \
         {name}+0x0 (image offset {rva:#x})"
    );
    assert_contains(&msg, &expected);
}

#[test]
fn int3_at_the_chimney_receive_post_handler_is_reported_there() {
    let src = default_path();
    let m = Model::load(chimney_config());
    let base = m.image_base().expect("Wine tier: the image is mapped");
    let handler = m
        .driver_receive_post_handler()
        .expect("the driver registers a receive handler");
    let rva = u32::try_from(handler - base).expect("handler inside the image");
    drop(m);

    let patched = scratch("receive_post_int3.sys");
    let (symbol, off) = patch_int3(&src, rva, &patched)
        .expect("patched copy")
        .expect("the link map names the handler");
    assert_eq!(off, 0, "the registered handler starts at symbol {symbol}");

    let mut m = Model::load_image(chimney_config(), &patched);
    let c = offload_now(&mut m, A);
    let Err(err) = catch_unwind(AssertUnwindSafe(|| m.host_post_receives(c, 1, 1, 100))) else {
        panic!("posting a receive must hit the breakpoint");
    };
    let msg = panic_text(&*err);
    let expected = format!(
        "[image.fault] breakpoint in the driver image at {symbol}+0x0 (image offset {rva:#x})"
    );
    assert_contains(&msg, &expected);
    let v = m.take_violations();
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0].check, "image.fault");
    assert!(v[0].message.contains(&symbol), "{v:?}");
}

/// Replaces the only occurrence of `from` in `file` with `to` (same length).
fn replace_once(file: &mut [u8], from: &[u8], to: &[u8]) {
    assert_eq!(from.len(), to.len());
    let hits: Vec<usize> = (0..=file.len() - from.len())
        .filter(|i| &file[*i..*i + from.len()] == from)
        .collect();
    assert_eq!(
        hits.len(),
        1,
        "{:?} occurs {} times",
        String::from_utf8_lossy(from),
        hits.len()
    );
    file[hits[0]..hits[0] + to.len()].copy_from_slice(to);
}

#[test]
fn the_loader_refuses_what_it_cannot_bind_with_the_full_list() {
    let patched = scratch("unbindable.sys");
    patch_copy(&default_path(), &patched, |file| {
        // An import the model does not export, an import DLL it does not stand in for, and a
        // writable + executable .text (section characteristics at offset 36 of its header).
        replace_once(file, b"\0NdisFreeMemory\0", b"\0NdisFreeMemorz\0");
        replace_once(file, b"ntoskrnl.exe\0", b"ntoskrnl.exf\0");
        let text = file[..0x400]
            .windows(8)
            .position(|w| w == b".text\0\0\0")
            .expect(".text section header");
        file[text + 39] |= 0x80;
    })
    .expect("patched copy");
    let msg = failed_load(&patched, "the loader must refuse this image");
    for expected in [
        "ndis-model refuses to load",
        "section .text is writable and executable",
        "imports ndis.sys!NdisFreeMemorz, which the model does not export",
        "imports KeBugCheckEx from ntoskrnl.exf, which the model does not provide",
        "imports memcpy from ntoskrnl.exf, which the model does not provide",
    ] {
        assert_contains(&msg, expected);
    }
}
