//! Project automation (`cargo xtask …`, the alias is in `.cargo/config.toml`).
//!
//! `cargo xtask package` builds the chimney-lab package (the NDIS-only flavour, docs/lab-guide.md)
//! on Linux or Windows without the WDK:
//!
//! 1. `.ci/build-sys --no-clippy` cross-builds `target/chimney_im.sys` (skip with `--no-build`);
//! 2. `.ci/build-notify --no-clippy`, when the repository has it, builds `target/chimney_im_notify.dll`; the
//!    DLL must exist either way, or packaging stops;
//! 3. a test code-signing certificate is created on first use under `target/package/cert/`
//!    (never committed; reused afterwards so that a lab machine trusts every later build);
//! 4. the image and the DLL are signed with osslsigncode: Authenticode SHA-1 first, then a nested
//!    SHA-256 signature (Windows 7 / 2008 R2 without the SHA-2 update read only the first one);
//!    osslsigncode rewrites the PE checksum;
//! 5. both INX files are stamped for this flavour (`inf.rs`): DriverVer from the crate version
//!    and the build date, `$ARCH$` = amd64, and no KMDF sections;
//! 6. the install/uninstall scripts, the certificate and the lab guide are added, and the folder
//!    is zipped (`zip.rs`).
//!
//! Output: `target/package/lab/` and `target/package/chimney-im-lab-<version>.zip`.

mod inf;
mod sign;
mod zip;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// Names shared by the package, its scripts and `tests/lab_package.rs`.
pub const SYS: &str = "chimney_im.sys";
pub const PDB: &str = "chimney_im.pdb";
pub const NOTIFY_DLL: &str = "chimney_im_notify.dll";
pub const CERT_CER: &str = "chimney-im-test.cer";
pub const CERT_THUMBPRINT: &str = "chimney-im-test.thumbprint";
pub const INX: [&str; 2] = ["chimney_im", "chimney_im_mp"];
/// Files copied from `packaging/lab/` (CRLF line endings added).
pub const SCRIPTS: [&str; 2] = ["install.cmd", "uninstall.cmd"];
pub const GUIDE: &str = "LAB-GUIDE.md";

type Result<T> = std::result::Result<T, String>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("package") => package(&args[1..]),
        _ => Err(usage()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn usage() -> String {
    "usage: cargo xtask package [--no-build]\n  \
     writes target/package/lab/ and target/package/chimney-im-lab-<version>.zip\n  \
     --no-build  package the existing target/chimney_im.sys instead of running .ci/build-sys"
        .to_string()
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask/ has a parent")
        .to_path_buf()
}

/// `target/` of the repository, or `$CARGO_TARGET_DIR` (relative to the root), as `.ci/build-sys`.
fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), |d| root.join(d))
}

pub fn run(cmd: &mut Command) -> Result<()> {
    let shown = format!("{cmd:?}");
    eprintln!("xtask: {shown}");
    let status = cmd
        .status()
        .map_err(|e| format!("cannot run {shown}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed: {status}"))
    }
}

fn package(args: &[String]) -> Result<()> {
    let mut build = true;
    for arg in args {
        match arg.as_str() {
            "--no-build" => build = false,
            _ => return Err(usage()),
        }
    }
    let root = root();
    let target = target_dir(&root);
    let version = crate_version(&root)?;

    if build {
        run(Command::new("bash")
            .arg(root.join(".ci/build-sys"))
            .arg("--no-clippy")
            .current_dir(&root))?;
    }
    let build_notify = root.join(".ci/build-notify");
    if build_notify.exists() {
        run(Command::new("bash")
            .arg(&build_notify)
            .arg("--no-clippy")
            .current_dir(&root))?;
    }
    let sys = target.join(SYS);
    let dll = target.join(NOTIFY_DLL);
    for (file, hint) in [
        (&sys, "run .ci/build-sys (or drop --no-build)"),
        (
            &dll,
            "the notify object is built by .ci/build-notify (notify-object issue); \
             without it the protocol installs but no virtual miniport is ever created, \
             so the lab package is not produced",
        ),
    ] {
        if !file.is_file() {
            return Err(format!("{} is missing: {hint}", file.display()));
        }
    }

    let out = target.join("package/lab");
    if out.exists() {
        std::fs::remove_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    }
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;

    let cert = sign::Cert::ensure(&target.join("package/cert"))?;
    sign::sign(
        &cert,
        &sys,
        &out.join(SYS),
        "chimney-im NDIS intermediate driver",
    )?;
    sign::sign(
        &cert,
        &dll,
        &out.join(NOTIFY_DLL),
        "chimney-im notify object",
    )?;
    copy(&target.join(PDB), &out.join(PDB))?;
    copy(&cert.cer, &out.join(CERT_CER))?;
    write(
        &out.join(CERT_THUMBPRINT),
        format!("{}\r\n", cert.sha1_thumbprint()?).as_bytes(),
    )?;

    let date = inf::build_date()?;
    for stem in INX {
        let source = root.join("inf").join(format!("{stem}.inx"));
        let text =
            std::fs::read_to_string(&source).map_err(|e| format!("{}: {e}", source.display()))?;
        let stamped = inf::stamp_lab(&text, &version, date)
            .map_err(|e| format!("{}: {e}", source.display()))?;
        write(&out.join(format!("{stem}.inf")), stamped.as_bytes())?;
    }
    for script in SCRIPTS {
        let text = read_text(&root.join("packaging/lab").join(script))?;
        write(&out.join(script), crlf(&text).as_bytes())?;
    }
    let guide = read_text(&root.join("docs/lab-guide.md"))?;
    write(&out.join(GUIDE), crlf(&guide).as_bytes())?;

    let zip_path = target
        .join("package")
        .join(format!("chimney-im-lab-{version}.zip"));
    zip::write_dir(&out, "chimney-im-lab", &zip_path)?;
    eprintln!("xtask: wrote {} and {}", out.display(), zip_path.display());
    Ok(())
}

/// `version = "…"` of the driver crate's `[package]`.
fn crate_version(root: &Path) -> Result<String> {
    let manifest = read_text(&root.join("Cargo.toml"))?;
    manifest
        .lines()
        .skip_while(|l| l.trim() != "[package]")
        .find_map(|l| {
            let (key, value) = l.split_once('=')?;
            (key.trim() == "version").then(|| value.trim().trim_matches('"').to_string())
        })
        .ok_or_else(|| "no version in Cargo.toml's [package]".to_string())
}

fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn write(path: &Path, data: &[u8]) -> Result<()> {
    std::fs::write(path, data).map_err(|e| format!("{}: {e}", path.display()))
}

fn copy(from: &Path, to: &Path) -> Result<()> {
    std::fs::copy(from, to)
        .map(|_| ())
        .map_err(|e| format!("copy {} -> {}: {e}", from.display(), to.display()))
}

/// Windows line endings (cmd.exe mis-parses labels in LF-only batch files).
pub fn crlf(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\n', "\r\n")
}
