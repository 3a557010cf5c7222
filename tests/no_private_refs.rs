//! The facts the code relies on live in the project's own `docs/` (ndis-contract.md,
//! chimney-contract.md, cross-build.md), with public sources. No project file may point readers at
//! the team's private reference notes, which users of the project do not have: neither their file
//! names nor the relative path of the directory they live in.
//!
//! The scan covers every file under the repository root except build output (`target/`,
//! `target-*/`, and any directory holding a `CACHEDIR.TAG`) and `.git/`. The forbidden names are
//! spelled in pieces here so that this file does not match itself.

use std::path::{Path, PathBuf};

/// The private reference file names, and the directory they live in, as (prefix, rest) pairs.
const FORBIDDEN: [(&str, &str); 8] = [
    ("..", "/shared"),
    ("ndis-", "chimney.md"),
    ("ndis-", "im-driver.md"),
    ("building-", "on-linux.md"),
    ("rust-driver-", "conventions.md"),
    ("wine-", "tier.md"),
    ("deployment-", "targets.md"),
    ("ndis-verifier-", "rules.md"),
];

fn forbidden() -> Vec<String> {
    FORBIDDEN.iter().map(|(a, b)| format!("{a}{b}")).collect()
}

fn skipped_dir(dir: &Path) -> bool {
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name == ".git"
        || name == "target"
        || name.starts_with("target-")
        || dir.join("CACHEDIR.TAG").exists()
}

fn files_under(root: &Path, out: &mut Vec<PathBuf>) {
    let entries =
        std::fs::read_dir(root).unwrap_or_else(|e| panic!("read {}: {e}", root.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        let kind = std::fs::symlink_metadata(&path)
            .expect("metadata")
            .file_type();
        if kind.is_dir() {
            if !skipped_dir(&path) {
                files_under(&path, out);
            }
        } else if kind.is_file() {
            out.push(path);
        }
    }
}

/// Every `path:line: text` under `root` that mentions a forbidden name.
fn mentions(root: &Path) -> Vec<String> {
    let names = forbidden();
    let mut files = Vec::new();
    files_under(root, &mut files);
    files.sort();
    let mut found = Vec::new();
    for file in files {
        let bytes = std::fs::read(&file).unwrap_or_else(|e| panic!("read {}: {e}", file.display()));
        let text = String::from_utf8_lossy(&bytes);
        for (n, line) in text.lines().enumerate() {
            if names.iter().any(|name| line.contains(name.as_str())) {
                let rel = file.strip_prefix(root).unwrap_or(&file);
                found.push(format!("{}:{}: {}", rel.display(), n + 1, line.trim()));
            }
        }
    }
    found
}

#[test]
fn no_project_file_mentions_the_private_references() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let found = mentions(root);
    assert!(
        found.is_empty(),
        "{} line(s) cite private reference notes; cite docs/ndis-contract.md, \
         docs/chimney-contract.md or docs/cross-build.md instead:\n  {}",
        found.len(),
        found.join("\n  ")
    );
}

/// The scanner itself: it finds each name anywhere in a file, and ignores build output and `.git`.
#[test]
fn the_scan_finds_every_name_and_skips_build_output() {
    let root = std::env::temp_dir().join(format!("no-private-refs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    for dir in ["src/deep", "target/debug", "target-x", ".git", "out"] {
        std::fs::create_dir_all(root.join(dir)).unwrap();
    }
    std::fs::write(
        root.join("out/CACHEDIR.TAG"),
        "Signature: 8a477f597d28d172789f06886806bc55",
    )
    .unwrap();
    let names = forbidden();
    for (i, name) in names.iter().enumerate() {
        let text = format!("// line one\n// see {name} §{i} for this\n");
        std::fs::write(root.join(format!("src/deep/f{i}.rs")), &text).unwrap();
        for ignored in ["target/debug", "target-x", ".git", "out"] {
            std::fs::write(root.join(ignored).join(format!("f{i}")), &text).unwrap();
        }
    }
    std::fs::write(
        root.join("src/clean.rs"),
        "// docs/chimney-contract.md §5.4\n",
    )
    .unwrap();
    let found = mentions(&root);
    let _ = std::fs::remove_dir_all(&root);
    assert_eq!(found.len(), names.len(), "{found:#?}");
    for (i, hit) in found.iter().enumerate() {
        assert!(hit.starts_with(&format!("src/deep/f{i}.rs:2: ")), "{hit}");
    }
}
