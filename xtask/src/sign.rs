//! The lab test certificate and Authenticode signing on Linux (openssl + osslsigncode).
//!
//! The certificate is self-signed, RSA-3072, SHA-256, with the code-signing extended key usage,
//! like the one wdk-build's `makecert -r … -eku 1.3.6.1.5.5.7.3.3` creates on Windows. It lives in
//! `target/package/cert/` and is created only when absent, so that every later package is signed
//! by the certificate a lab machine already trusts. It is never committed (`/target` is ignored).
//!
//! Signatures: a primary SHA-1 Authenticode signature with a nested SHA-256 one (osslsigncode
//! `-nest`), the dual-signing order Windows 7 / Server 2008 R2 without the SHA-2 code-signing update
//! (KB4474419) need: they read the first signature only. No timestamp: the build has no network,
//! and a test certificate valid for ten years makes one unnecessary in a lab.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::run;

pub const SUBJECT: &str = "/CN=chimney-im lab test signing (not trusted anywhere else)";

pub struct Cert {
    pub key: PathBuf,
    /// PEM, for osslsigncode and openssl.
    pub pem: PathBuf,
    /// DER, for `certutil -addstore` on Windows.
    pub cer: PathBuf,
}

impl Cert {
    /// The certificate in `dir`, created on first use.
    pub fn ensure(dir: &Path) -> Result<Self, String> {
        let cert = Self {
            key: dir.join("chimney-im-test.key"),
            pem: dir.join("chimney-im-test.pem"),
            cer: dir.join("chimney-im-test.cer"),
        };
        if cert.key.is_file() && cert.pem.is_file() && cert.cer.is_file() {
            return Ok(cert);
        }
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        eprintln!(
            "xtask: creating the lab test certificate in {}",
            dir.display()
        );
        run(Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:3072", "-sha256", "-days", "3650",
            ])
            .args(["-nodes", "-subj", SUBJECT])
            .args(["-addext", "basicConstraints=critical,CA:FALSE"])
            .args(["-addext", "keyUsage=critical,digitalSignature"])
            .args(["-addext", "extendedKeyUsage=codeSigning"])
            .arg("-keyout")
            .arg(&cert.key)
            .arg("-out")
            .arg(&cert.pem))?;
        run(Command::new("openssl")
            .args(["x509", "-outform", "DER", "-in"])
            .arg(&cert.pem)
            .arg("-out")
            .arg(&cert.cer))?;
        Ok(cert)
    }

    /// The SHA-1 thumbprint (40 hex digits, upper case) that `certutil -delstore` takes.
    pub fn sha1_thumbprint(&self) -> Result<String, String> {
        let out = Command::new("openssl")
            .args(["x509", "-noout", "-fingerprint", "-sha1", "-in"])
            .arg(&self.pem)
            .output()
            .map_err(|e| format!("openssl: {e}"))?;
        if !out.status.success() {
            return Err(format!("openssl x509 -fingerprint failed: {}", out.status));
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let hex: String = text
            .split_once('=')
            .map_or("", |(_, v)| v)
            .chars()
            .filter(char::is_ascii_hexdigit)
            .collect();
        if hex.len() == 40 {
            Ok(hex.to_ascii_uppercase())
        } else {
            Err(format!("unexpected openssl fingerprint output {text:?}"))
        }
    }
}

/// Signs `input` into `output`: SHA-1 primary, SHA-256 nested.
pub fn sign(cert: &Cert, input: &Path, output: &Path, description: &str) -> Result<(), String> {
    let first = output.with_extension("sha1-only");
    let _ = std::fs::remove_file(&first);
    let _ = std::fs::remove_file(output);
    for (hash, from, to, nest) in [
        ("sha1", input, first.as_path(), false),
        ("sha256", first.as_path(), output, true),
    ] {
        let mut cmd = Command::new("osslsigncode");
        cmd.arg("sign");
        if nest {
            cmd.arg("-nest");
        }
        cmd.args(["-h", hash, "-n", description, "-certs"])
            .arg(&cert.pem)
            .arg("-key")
            .arg(&cert.key)
            .arg("-in")
            .arg(from)
            .arg("-out")
            .arg(to);
        run(&mut cmd)?;
    }
    std::fs::remove_file(&first).map_err(|e| format!("{}: {e}", first.display()))
}
