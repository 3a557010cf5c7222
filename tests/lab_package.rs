//! Verifies the chimney-lab package that `cargo xtask package` writes (`.ci/package` builds it and
//! runs this with `CHIMNEY_PACKAGE` set, so in CI a missing package fails):
//!
//! - the file set, and the zip holding exactly those bytes;
//! - Authenticode on `chimney_im.sys` and the notify DLL: `osslsigncode verify` against the lab
//!   certificate, two signatures (SHA-1 primary, SHA-256 nested), and a tampered copy fails;
//! - PE facts that signing must keep: a valid CheckSum over the signed file, the certificate table
//!   at the end of the file (`tests/pe_image.rs` re-runs every image check on the signed image
//!   through `CHIMNEY_SYS`);
//! - both INFs stamped for this flavour: the INX line for line, minus the KMDF sections, with
//!   DriverVer = build date + crate version and `$ARCH$` = amd64; every copied file is packaged.
//!
//! The package is `$CHIMNEY_PACKAGE`, else `target/package/lab` when it exists; without either the
//! tests only say so (the developer loop before `cargo xtask package`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

#[allow(
    dead_code,
    reason = "shared with tests/pe_image.rs, which uses all of it"
)]
#[path = "support/pe.rs"]
mod support;
use support::{Pe, pe_checksum};

#[allow(
    dead_code,
    reason = "shared with tests/inf_consistency.rs, which uses all of it"
)]
#[path = "support/inf_parser.rs"]
mod inf_parser;
use inf_parser::{Inf, fields};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const SIGNED: [&str; 2] = ["chimney_im.sys", "chimney_im_notify.dll"];
const FILES: [&str; 10] = [
    "LAB-GUIDE.md",
    "chimney-im-test.cer",
    "chimney-im-test.thumbprint",
    "chimney_im.inf",
    "chimney_im.pdb",
    "chimney_im.sys",
    "chimney_im_mp.inf",
    "chimney_im_notify.dll",
    "install.cmd",
    "uninstall.cmd",
];

fn package_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("CHIMNEY_PACKAGE") {
        let dir = PathBuf::from(dir);
        assert!(
            dir.is_dir(),
            "CHIMNEY_PACKAGE={} is not a directory: run `cargo xtask package`",
            dir.display()
        );
        return Some(dir);
    }
    let dir = Path::new(ROOT).join("target/package/lab");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("no lab package (run `cargo xtask package`): package checks skipped");
        None
    }
}

/// The PEM certificate `cargo xtask package` signed with (next to the package's parent).
fn cert_pem(dir: &Path) -> PathBuf {
    dir.parent().unwrap().join("cert/chimney-im-test.pem")
}

fn osslsigncode_verify(file: &Path, pem: &Path) -> (bool, String) {
    let out = Command::new("osslsigncode")
        .arg("verify")
        .arg("-CAfile")
        .arg(pem)
        .arg("-in")
        .arg(file)
        .output()
        .expect("osslsigncode is needed (Debian package osslsigncode)");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

#[test]
fn package_has_exactly_the_expected_files_and_zip() {
    let Some(dir) = package_dir() else { return };
    let found: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let expected: BTreeSet<String> = FILES.iter().map(|s| s.to_string()).collect();
    assert_eq!(found, expected, "files in {}", dir.display());

    let version = env!("CARGO_PKG_VERSION");
    let zip = dir
        .parent()
        .unwrap()
        .join(format!("chimney-im-lab-{version}.zip"));
    let test = Command::new("unzip").arg("-tq").arg(&zip).output().unwrap();
    assert!(test.status.success(), "unzip -t {}", zip.display());
    for name in FILES {
        let out = Command::new("unzip")
            .arg("-p")
            .arg(&zip)
            .arg(format!("chimney-im-lab/{name}"))
            .output()
            .unwrap();
        let on_disk = std::fs::read(dir.join(name)).unwrap();
        assert!(
            out.status.success() && out.stdout == on_disk,
            "{name} in the zip differs from the folder"
        );
    }
}

#[test]
fn signatures_verify_against_the_lab_certificate() {
    let Some(dir) = package_dir() else { return };
    let pem = cert_pem(&dir);
    for name in SIGNED {
        let (ok, text) = osslsigncode_verify(&dir.join(name), &pem);
        assert!(ok, "{name}: osslsigncode verify failed:\n{text}");
        assert!(
            text.contains("Number of verified signatures: 2"),
            "{name}: expected a primary and a nested signature:\n{text}"
        );
        let primary = text.find("Primary Signature").expect("primary signature");
        let sha1 = text[primary..].find("SHA1").expect("SHA-1 digest");
        let sha256 = text[primary..].find("SHA256").expect("SHA-256 digest");
        assert!(sha1 < sha256, "{name}: the primary signature must be SHA-1");

        // The check can fail: one flipped byte inside the first section breaks the digest.
        let mut data = std::fs::read(dir.join(name)).unwrap();
        let pe = Pe::parse(data.clone()).unwrap();
        let at = support::to_usize(pe.sections[0].raw_pointer) + 16;
        data[at] ^= 0xFF;
        let tampered = std::env::temp_dir().join(format!("tampered-{}-{name}", std::process::id()));
        std::fs::write(&tampered, &data).unwrap();
        let (ok, text) = osslsigncode_verify(&tampered, &pem);
        let _ = std::fs::remove_file(&tampered);
        assert!(!ok, "{name}: a tampered copy still verified:\n{text}");
    }
}

#[test]
fn signed_images_keep_a_valid_checksum_and_certificate_table() {
    let Some(dir) = package_dir() else { return };
    for name in SIGNED {
        let data = std::fs::read(dir.join(name)).unwrap();
        let len = data.len();
        let pe = Pe::parse(data).unwrap();
        assert_eq!(
            pe.checksum,
            pe_checksum(&pe.data, pe.checksum_offset),
            "{name}: CheckSum is not valid after signing"
        );
        // IMAGE_DIRECTORY_ENTRY_SECURITY: a file offset (not an RVA), 8-byte aligned, ending the file.
        let (offset, size) = pe.directories[4];
        let (offset, size) = (support::to_usize(offset), support::to_usize(size));
        assert!(size > 0, "{name}: no certificate table");
        assert_eq!(
            offset % 8,
            0,
            "{name}: certificate table not 8-byte aligned"
        );
        assert_eq!(
            offset + size,
            len,
            "{name}: certificate table does not end the file"
        );
    }
}

/// The INX with `$ARCH$` stamped and the KMDF sections removed, as (section, lines) for comparison.
fn expected_sections(inx: &Inf) -> Vec<(String, Vec<String>)> {
    let wdf_sections: BTreeSet<String> = inx
        .sections
        .iter()
        .flat_map(|s| s.lines.iter())
        .filter(|l| {
            l.key
                .as_deref()
                .is_some_and(|k| k.eq_ignore_ascii_case("KmdfService"))
        })
        .filter_map(|l| fields(&l.value).get(1).map(|s| s.to_ascii_lowercase()))
        .collect();
    inx.sections
        .iter()
        .filter(|s| {
            let lower = s.name.to_ascii_lowercase();
            !lower.ends_with(".wdf") && !wdf_sections.contains(&lower)
        })
        .map(|s| {
            let lines = s
                .lines
                .iter()
                .filter(|l| {
                    !l.key
                        .as_deref()
                        .is_some_and(|k| k.eq_ignore_ascii_case("DriverVer"))
                })
                .map(|l| line_text(l).replace("$ARCH$", "amd64"))
                .collect();
            (s.name.replace("$ARCH$", "amd64"), lines)
        })
        .collect()
}

fn line_text(line: &inf_parser::Line) -> String {
    match &line.key {
        Some(k) => format!("{k} = {}", line.value),
        None => line.value.clone(),
    }
}

#[test]
fn infs_are_the_inx_stamped_for_the_lab_flavour() {
    let Some(dir) = package_dir() else { return };
    let version = env!("CARGO_PKG_VERSION");
    for stem in ["chimney_im", "chimney_im_mp"] {
        let bytes = std::fs::read(dir.join(format!("{stem}.inf"))).unwrap();
        assert!(bytes.is_ascii(), "{stem}.inf must be ASCII (InfVerif 1003)");
        let text = String::from_utf8(bytes).unwrap();
        assert!(
            !text.replace("\r\n", "").contains('\n'),
            "{stem}.inf must have CRLF line endings"
        );
        let lab = Inf::parse(stem, &text).unwrap();
        let inx_path = Path::new(ROOT).join(format!("inf/{stem}.inx"));
        let inx = Inf::parse(stem, &std::fs::read_to_string(inx_path).unwrap()).unwrap();

        let got: Vec<(String, Vec<String>)> = expected_sections(&lab);
        assert_eq!(
            got,
            expected_sections(&inx),
            "{stem}.inf is not its INX stamped"
        );
        for line in text.lines().map(|l| l.split(';').next().unwrap_or("")) {
            let lower = line.to_ascii_lowercase();
            assert!(
                !lower.contains("kmdf"),
                "{stem}.inf keeps a KMDF line: {line}"
            );
            assert!(
                !line.contains('$') || lower.contains("$windows nt$"),
                "{stem}.inf keeps a placeholder: {line}"
            );
        }

        // DriverVer = mm/dd/yyyy,<crate version>.0 with a plausible build date.
        let driver_ver = lab.value("Version", "DriverVer").unwrap();
        let (date, ver) = driver_ver.split_once(',').expect("DriverVer date,version");
        assert_eq!(ver.trim(), format!("{version}.0"), "{stem}.inf DriverVer");
        let parts: Vec<u32> = date.split('/').map(|p| p.trim().parse().unwrap()).collect();
        assert!(
            parts.len() == 3 && (1..=12).contains(&parts[0]) && (1..=31).contains(&parts[1]),
            "{stem}.inf DriverVer date {date}"
        );
        assert!(parts[2] >= 2025, "{stem}.inf DriverVer year {}", parts[2]);

        // Every file a CopyFiles section names is in the package; the catalog is not (no Linux
        // tool creates one; LAB-GUIDE.md gives the Windows command).
        for section in lab
            .sections
            .iter()
            .filter(|s| s.name.ends_with("CopyFiles"))
        {
            for line in &section.lines {
                let file = fields(&line.value)[0].clone();
                assert!(
                    dir.join(&file).is_file(),
                    "{stem}.inf copies {file}, not packaged"
                );
            }
        }
        let catalog = lab.value("Version", "CatalogFile").unwrap();
        assert!(
            !dir.join(&catalog).exists(),
            "{catalog}: update the guide's catalog section"
        );
    }
    let guide = std::fs::read_to_string(dir.join("LAB-GUIDE.md")).unwrap();
    assert!(
        guide.contains("inf2cat"),
        "the guide must give the catalog command"
    );
}
