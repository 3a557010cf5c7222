//! The driver image must never import `ExAllocatePool2` (Windows 10 2004 and later only; wdk-alloc's
//! allocator calls it), so the driver crate never names `alloc`. This test keeps it that way by
//! construction: without `extern crate alloc` nothing in the crate can allocate through `alloc`, so
//! the one allocator registration (wdk-alloc, KMDF flavour only, in `src/glue/mod.rs`) stays
//! unreferenced and the linker drops it. The lab image has no allocator at all, so a dependency
//! that allocated would fail its link. `tests/pe_image.rs` checks the built lab image too.

use std::path::Path;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Lines of the driver sources (src/, build.rs) and Cargo.toml that would bring an allocator or
/// `alloc` into the driver crate.
fn offending_lines() -> Vec<String> {
    const FORBIDDEN_RS: [&str; 5] = [
        "extern crate alloc",
        "alloc::",
        "global_allocator",
        "wdk_alloc",
        "ExAllocatePool",
    ];
    // The KMDF flavour's allocator registration: exactly these lines, in exactly this file.
    const ALLOWED: [(&str, &str); 2] = [
        ("src/glue/mod.rs", "#[global_allocator]"),
        (
            "src/glue/mod.rs",
            "static GLOBAL: wdk_alloc::WdkAllocator = wdk_alloc::WdkAllocator;",
        ),
    ];
    let mut found = Vec::new();
    let mut files = Vec::new();
    collect_rs(&Path::new(ROOT).join("src"), &mut files);
    files.push(Path::new(ROOT).join("build.rs"));
    assert!(
        files.len() > 20,
        "found only {} source files under src/: is the walk broken?",
        files.len()
    );
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            // `core::alloc::Layout` and friends are allocation-free types; only the `alloc` crate
            // (a path starting with `alloc::`) and allocator hooks are forbidden.
            let code = code.replace("core::alloc::", "");
            let rel = file
                .strip_prefix(ROOT)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if ALLOWED.contains(&(rel.as_str(), line.trim())) {
                continue;
            }
            for needle in FORBIDDEN_RS {
                if code.contains(needle) {
                    let rel = file.strip_prefix(ROOT).unwrap().display();
                    found.push(format!("{rel}:{}: `{needle}` in `{}`", n + 1, line.trim()));
                }
            }
        }
    }
    found
}

fn collect_rs(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_rs(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn driver_crate_never_uses_alloc_or_an_allocator() {
    let found = offending_lines();
    assert!(
        found.is_empty(),
        "the driver crate must not allocate through `alloc` (the image would import \
         ExAllocatePool2, absent before Windows 10 2004):\n  - {}",
        found.join("\n  - ")
    );
}

/// wdk-alloc is a dependency of the KMDF flavour only: never of the lab image (`no_wdk`) or the
/// host builds, where an allocator would hide a stray `alloc` use instead of failing the link.
#[test]
fn wdk_alloc_only_in_the_kmdf_flavour() {
    let manifest = std::fs::read_to_string(Path::new(ROOT).join("Cargo.toml")).unwrap();
    let mut section = "";
    let mut sections = Vec::new();
    for line in manifest.lines() {
        let code = line.split('#').next().unwrap_or("").trim();
        if code.starts_with('[') {
            section = code;
        } else if code.starts_with("wdk-alloc") {
            sections.push(section);
        }
    }
    assert_eq!(
        sections,
        ["[target.'cfg(all(windows, not(no_wdk)))'.dependencies]"],
        "wdk-alloc must be declared once, for the KMDF flavour only"
    );
}

/// The built image (when present) does not import any pool allocator of Windows 10 2004+.
#[test]
fn image_imports_no_exallocatepool2() {
    let path = std::env::var_os("CHIMNEY_SYS").map_or_else(
        || Path::new(ROOT).join("target/chimney_im.sys"),
        std::path::PathBuf::from,
    );
    let Ok(image) = std::fs::read(&path) else {
        eprintln!("{} absent: only the source checks ran", path.display());
        return;
    };
    let needle = b"ExAllocatePool2";
    assert!(
        !image.windows(needle.len()).any(|w| w == needle),
        "{} names ExAllocatePool2",
        path.display()
    );
}
