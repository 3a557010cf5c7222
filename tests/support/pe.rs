//! Helpers of tests/pe_image.rs (and tests/notify_pe.rs): finding and reading a built image, the
//! checked-in export lists, the ABI-layer source scanner (which extern declarations the
//! `--cfg no_wdk` Windows build links) and a small PE32+ parser.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::ROOT;

// ---------------------------------------------------------------------------------------------
// The built images (the driver's `.sys`, the notify DLL)

/// Where a built image is: `$<var>` if set, else `$CARGO_TARGET_DIR/<file>`, else
/// `target/<file>` (relative to the repository root).
pub(crate) fn built_image_path(var: &str, file: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(var) {
        return PathBuf::from(path);
    }
    let target_dir =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| PathBuf::from("target"), PathBuf::from);
    Path::new(ROOT).join(target_dir).join(file)
}

/// The image at `path`, or `None` when `CHIMNEY_SKIP_PE=1` (the developer loop only; CI never
/// sets it) and it is absent. Any other missing image fails the test, saying `how_to_build`.
pub(crate) fn load_built_image(path: &Path, how_to_build: &str) -> Option<Pe> {
    match std::fs::read(path) {
        Ok(data) => Some(Pe::parse(data).unwrap_or_else(|e| panic!("{}: {e}", path.display()))),
        Err(_) if std::env::var("CHIMNEY_SKIP_PE").as_deref() == Ok("1") => {
            eprintln!(
                "CHIMNEY_SKIP_PE=1: {} absent, PE checks skipped",
                path.display()
            );
            None
        }
        Err(e) => panic!("cannot read {}: {e}\n{how_to_build}", path.display()),
    }
}

// ---------------------------------------------------------------------------------------------
// Known exports of ndis.sys and ntoskrnl.exe (tests/pe/*.exports)

pub(crate) fn known_exports() -> BTreeMap<String, BTreeSet<String>> {
    let mut known = BTreeMap::new();
    for dll in ["ndis.sys", "ntoskrnl.exe"] {
        let path = Path::new(ROOT)
            .join("tests/pe")
            .join(format!("{dll}.exports"));
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let names = text
            .lines()
            .map(|line| line.split('#').next().unwrap_or("").trim())
            .filter(|line| !line.is_empty())
            .map(str::to_owned)
            .collect();
        known.insert(dll.to_owned(), names);
    }
    known
}

// ---------------------------------------------------------------------------------------------
// The declared imports (a small scanner for rustfmt-formatted Rust)

#[derive(Debug)]
pub(crate) struct Declared {
    pub(crate) name: String,
    pub(crate) dll: String,
    pub(crate) optional: bool,
    pub(crate) location: String,
}

#[derive(Debug)]
pub(crate) struct ExternBlock {
    pub(crate) file: String,
    pub(crate) line: usize,
    /// Whether the block's cfg holds for the no_wdk Windows build.
    pub(crate) active: bool,
    pub(crate) dll: Option<String>,
    pub(crate) optional: bool,
    /// (name, line, active) of each item.
    pub(crate) items: Vec<(String, usize, bool)>,
}

/// Every import the `--cfg no_wdk` Windows build links.
pub(crate) fn declared_imports() -> Vec<Declared> {
    let mut declared = Vec::new();
    for block in scan_crate().into_iter().filter(|b| b.active) {
        let dll = block.dll.clone().unwrap_or_else(|| {
            panic!(
                "{}:{}: extern block without a `link(name = ...)` for the Windows build",
                block.file, block.line
            )
        });
        for (name, line, active) in &block.items {
            if *active {
                declared.push(Declared {
                    name: name.clone(),
                    dll: dll.clone(),
                    optional: block.optional,
                    location: format!("{}:{line}", block.file),
                });
            }
        }
    }
    declared
}

/// All extern blocks of the crate's file modules, starting at `src/lib.rs`. Modules whose `cfg`
/// fails are still scanned (their blocks are marked inactive) so that the layer checks see them.
pub(crate) fn scan_crate() -> Vec<ExternBlock> {
    let mut blocks = Vec::new();
    scan_file(Path::new("src/lib.rs"), Path::new("src"), true, &mut blocks);
    blocks
}

/// Scans one module file. `dir` is where its child modules' files live.
pub(crate) fn scan_file(rel: &Path, dir: &Path, active: bool, blocks: &mut Vec<ExternBlock>) {
    let file = rel.to_string_lossy().into_owned();
    let text = std::fs::read_to_string(Path::new(ROOT).join(rel))
        .unwrap_or_else(|e| panic!("{file}: {e}"));
    let mut active = active;
    let mut attrs: Vec<Meta> = Vec::new();
    let mut optional = false;
    let mut pending_attr = String::new();
    let mut block: Option<(ExternBlock, i32)> = None;

    for (index, raw) in text.lines().enumerate() {
        let line_no = index + 1;
        let (code, comment) = match raw.find("//") {
            Some(at) if !raw[..at].contains('"') => (raw[..at].trim(), &raw[at..]),
            _ => (raw.trim(), ""),
        };
        if comment.contains("pe-import: optional") {
            optional = true;
        }
        if !pending_attr.is_empty() || code.starts_with("#[") || code.starts_with("#![") {
            pending_attr.push_str(code);
            if brackets_balanced(&pending_attr) {
                let inner = pending_attr.starts_with("#![");
                let body = pending_attr
                    .trim_start_matches("#![")
                    .trim_start_matches("#[")
                    .trim_end_matches(']');
                let attr_name: String = body
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                let wanted = matches!(
                    attr_name.as_str(),
                    "cfg" | "cfg_attr" | "link" | "link_name"
                );
                let meta = if wanted {
                    parse_meta(body)
                } else {
                    Meta::default()
                };
                pending_attr.clear();
                if !wanted {
                    continue;
                }
                if inner {
                    if meta.name == "cfg" && !eval_cfg(&meta.args[0]) {
                        active = false;
                    }
                } else {
                    attrs.push(meta);
                }
            }
            continue;
        }
        if code.is_empty() {
            if comment.is_empty() {
                // A blank line ends the attribute/marker group.
                attrs.clear();
                optional = false;
            }
            continue;
        }
        let item_active = active && attrs_cfg(&attrs);

        if let Some((current, depth)) = block.as_mut() {
            if let Some(name) = item_name(code) {
                // `#[link_name = "..."]` renames the imported symbol.
                let name = attrs
                    .iter()
                    .find(|m| m.name == "link_name")
                    .and_then(|m| m.value.clone())
                    .unwrap_or(name);
                current.items.push((name, line_no, item_active));
            }
            *depth += count(code, '{') - count(code, '}');
            if *depth <= 0 {
                blocks.push(block.take().unwrap().0);
            }
        } else if is_extern_block_start(code) {
            let dll = attrs.iter().find_map(link_name);
            let mut new = ExternBlock {
                file: file.clone(),
                line: line_no,
                active: item_active,
                dll,
                optional,
                items: Vec::new(),
            };
            let depth = count(code, '{') - count(code, '}');
            if depth <= 0 {
                // A one-line block, `extern "C" { fn f(); }`.
                if let Some(name) = item_name(code.split_once('{').unwrap().1) {
                    new.items.push((name, line_no, item_active));
                }
                blocks.push(new);
            } else {
                block = Some((new, depth));
            }
        } else if let Some(module) = mod_decl(code) {
            let child_dir = dir.join(&module);
            let child = if Path::new(ROOT)
                .join(dir)
                .join(format!("{module}.rs"))
                .exists()
            {
                dir.join(format!("{module}.rs"))
            } else {
                child_dir.join("mod.rs")
            };
            scan_file(&child, &child_dir, item_active, blocks);
        }
        attrs.clear();
        optional = false;
    }
    assert!(block.is_none(), "{file}: unterminated extern block");
}

pub(crate) fn count(s: &str, c: char) -> i32 {
    i32::try_from(s.matches(c).count()).unwrap()
}

pub(crate) fn brackets_balanced(s: &str) -> bool {
    count(s, '[') == count(s, ']') && count(s, '(') == count(s, ')')
}

/// `extern "system" {`, `unsafe extern "C" {`, `pub extern {` ... but not `extern "C" fn`.
pub(crate) fn is_extern_block_start(code: &str) -> bool {
    let mut rest = code;
    for prefix in ["pub ", "unsafe "] {
        rest = rest.strip_prefix(prefix).unwrap_or(rest).trim_start();
    }
    let Some(rest) = rest.strip_prefix("extern") else {
        return false;
    };
    let rest = rest.trim_start();
    let rest = match rest.strip_prefix('"') {
        Some(abi) => match abi.split_once('"') {
            Some((_, after)) => after.trim_start(),
            None => return false,
        },
        None => rest,
    };
    rest.starts_with('{')
}

/// The name of a `fn` or `static` declared on this line of an extern block, if any.
pub(crate) fn item_name(code: &str) -> Option<String> {
    let words: Vec<&str> = code.split_whitespace().collect();
    let at = words.iter().position(|w| *w == "fn" || *w == "static")?;
    let mut name = *words.get(at + 1)?;
    if name == "mut" {
        name = words.get(at + 2)?;
    }
    let name: String = name
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

/// `mod name;` / `pub mod name;` / `pub(crate) mod name;` (file modules only).
pub(crate) fn mod_decl(code: &str) -> Option<String> {
    let rest = code.strip_suffix(';')?;
    let words: Vec<&str> = rest.split_whitespace().collect();
    match words.as_slice() {
        [.., "mod", name] => Some((*name).to_owned()),
        _ => None,
    }
}

pub(crate) fn attrs_cfg(attrs: &[Meta]) -> bool {
    attrs
        .iter()
        .filter(|m| m.name == "cfg")
        .all(|m| eval_cfg(&m.args[0]))
}

/// The DLL of a `link(name = "...")` or active `cfg_attr(pred, link(name = "..."))` attribute.
/// Asserts raw-dylib with `+verbatim` (without it the import DLL names gain `.dll`).
pub(crate) fn link_name(meta: &Meta) -> Option<String> {
    match meta.name.as_str() {
        "cfg_attr" if eval_cfg(&meta.args[0]) => meta.args[1..].iter().find_map(link_name),
        "link" => {
            let get = |key: &str| {
                meta.args
                    .iter()
                    .find(|a| a.name == key)
                    .and_then(|a| a.value.clone())
            };
            let name = get("name")?;
            assert_eq!(
                get("kind").as_deref(),
                Some("raw-dylib"),
                "link({name}): kind"
            );
            assert!(
                get("modifiers").is_some_and(|m| m.contains("+verbatim")),
                "link({name}) needs modifiers = \"+verbatim\""
            );
            Some(name)
        }
        _ => None,
    }
}

/// A meta item: `name`, `name = "value"` or `name(args, ...)`.
#[derive(Debug, Default)]
pub(crate) struct Meta {
    pub(crate) name: String,
    pub(crate) value: Option<String>,
    pub(crate) args: Vec<Meta>,
}

pub(crate) fn parse_meta(text: &str) -> Meta {
    let tokens = tokenize(text);
    let mut pos = 0;
    parse_meta_tokens(&tokens, &mut pos)
}

pub(crate) fn tokenize(text: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '"' {
            chars.next();
            let mut s = String::from("\"");
            for c in chars.by_ref() {
                if c == '"' {
                    break;
                }
                s.push(c);
            }
            tokens.push(s);
        } else if c.is_alphanumeric() || c == '_' || c == ':' {
            let mut s = String::new();
            while let Some(&c) = chars.peek() {
                if c.is_alphanumeric() || c == '_' || c == ':' {
                    s.push(c);
                    chars.next();
                } else {
                    break;
                }
            }
            tokens.push(s);
        } else {
            tokens.push(c.to_string());
            chars.next();
        }
    }
    tokens
}

/// Parses one meta item at `pos` and leaves `pos` after it (at a `,`, a `)` or the end).
/// Anything it does not understand (`= include_str!(...)`, paths) is skipped, not rejected.
pub(crate) fn parse_meta_tokens(tokens: &[String], pos: &mut usize) -> Meta {
    let token = |at: usize| tokens.get(at).map_or("", String::as_str);
    let mut meta = Meta {
        name: token(*pos).to_owned(),
        ..Meta::default()
    };
    *pos += 1;
    if token(*pos) == "=" {
        let value = token(*pos + 1);
        meta.value = Some(value.strip_prefix('"').unwrap_or(value).to_owned());
        *pos += 2;
    } else if token(*pos) == "(" {
        *pos += 1;
        while *pos < tokens.len() && token(*pos) != ")" {
            let before = *pos;
            meta.args.push(parse_meta_tokens(tokens, pos));
            if token(*pos) == "," {
                *pos += 1;
            }
            if *pos == before {
                *pos += 1; // no progress: skip the token
            }
        }
        *pos += 1;
    }
    // Skip the rest of an item we could not parse, up to its `,` or closing `)`.
    let mut depth = 0;
    while *pos < tokens.len() {
        match token(*pos) {
            "," | ")" if depth == 0 => break,
            "(" | "[" => depth += 1,
            ")" | "]" => depth -= 1,
            _ => {}
        }
        *pos += 1;
    }
    meta
}

/// A cfg predicate under the `.ci/build-sys` build: x86_64-pc-windows-msvc, release, `--cfg
/// no_wdk`, no features, not `test` (and not `windows_host`, the Wine tier's build of the crate),
/// none of the host-only measurement cfgs (`loom` for `.ci/loom`, `chimney_uninstrumented` for
/// `.ci/measure-hotpath`).
pub(crate) fn eval_cfg(p: &Meta) -> bool {
    match (p.name.as_str(), p.value.as_deref()) {
        ("all", None) => p.args.iter().all(eval_cfg),
        ("any", None) => p.args.iter().any(eval_cfg),
        ("not", None) => !eval_cfg(&p.args[0]),
        ("windows" | "no_wdk", None) => true,
        (
            "unix" | "test" | "debug_assertions" | "miri" | "doc" | "doctest" | "windows_host",
            None,
        ) => false,
        ("loom" | "chimney_uninstrumented", None) => false,
        ("target_os" | "target_family", Some(v)) => v == "windows",
        ("target_env", Some(v)) => v == "msvc",
        ("target_arch", Some(v)) => v == "x86_64",
        ("target_pointer_width", Some(v)) => v == "64",
        ("target_vendor", Some(v)) => v == "pc",
        ("panic", Some(v)) => v == "abort",
        ("feature", Some(_)) => false,
        _ => panic!("tests/pe_image.rs cannot evaluate cfg `{p:?}`: teach eval_cfg about it"),
    }
}

// ---------------------------------------------------------------------------------------------
// A minimal PE32+ reader

pub(crate) struct Section {
    pub(crate) name: String,
    pub(crate) virtual_address: u32,
    pub(crate) virtual_size: u32,
    pub(crate) raw_pointer: u32,
    pub(crate) raw_size: u32,
    pub(crate) characteristics: u32,
}

pub(crate) struct Pe {
    pub(crate) data: Vec<u8>,
    pub(crate) machine: u16,
    pub(crate) characteristics: u16,
    pub(crate) magic: u16,
    pub(crate) entry_point: u32,
    pub(crate) checksum: u32,
    pub(crate) checksum_offset: usize,
    pub(crate) subsystem: u16,
    pub(crate) dll_characteristics: u16,
    pub(crate) directories: Vec<(u32, u32)>,
    pub(crate) sections: Vec<Section>,
}

pub(crate) fn read_u16(data: &[u8], at: usize) -> Result<u16, String> {
    data.get(at..at + 2)
        .map(|b| u16::from_le_bytes([b[0], b[1]]))
        .ok_or_else(|| format!("truncated at {at:#x}"))
}

pub(crate) fn read_u32(data: &[u8], at: usize) -> Result<u32, String> {
    data.get(at..at + 4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or_else(|| format!("truncated at {at:#x}"))
}

pub(crate) fn read_u64(data: &[u8], at: usize) -> Result<u64, String> {
    Ok(u64::from(read_u32(data, at)?) | u64::from(read_u32(data, at + 4)?) << 32)
}

pub(crate) fn to_usize(v: u32) -> usize {
    usize::try_from(v).unwrap()
}

impl Pe {
    pub(crate) fn parse(data: Vec<u8>) -> Result<Self, String> {
        if data.get(..2) != Some(b"MZ") {
            return Err("no MZ signature".into());
        }
        let pe = to_usize(read_u32(&data, 0x3C)?);
        if data.get(pe..pe + 4) != Some(b"PE\0\0") {
            return Err("no PE signature".into());
        }
        let coff = pe + 4;
        let machine = read_u16(&data, coff)?;
        let section_count = usize::from(read_u16(&data, coff + 2)?);
        let optional_size = usize::from(read_u16(&data, coff + 16)?);
        let characteristics = read_u16(&data, coff + 18)?;
        let opt = coff + 20;
        let magic = read_u16(&data, opt)?;
        if magic != 0x20B {
            return Err(format!("not PE32+ (magic {magic:#x})"));
        }
        let directory_count = to_usize(read_u32(&data, opt + 108)?);
        let mut directories = Vec::new();
        for i in 0..directory_count.min(16) {
            let at = opt + 112 + 8 * i;
            directories.push((read_u32(&data, at)?, read_u32(&data, at + 4)?));
        }
        let mut sections = Vec::new();
        for i in 0..section_count {
            let at = opt + optional_size + 40 * i;
            let raw_name = data.get(at..at + 8).ok_or("truncated section table")?;
            sections.push(Section {
                name: String::from_utf8_lossy(raw_name)
                    .trim_end_matches('\0')
                    .to_owned(),
                virtual_size: read_u32(&data, at + 8)?,
                virtual_address: read_u32(&data, at + 12)?,
                raw_size: read_u32(&data, at + 16)?,
                raw_pointer: read_u32(&data, at + 20)?,
                characteristics: read_u32(&data, at + 36)?,
            });
        }
        Ok(Self {
            machine,
            characteristics,
            magic,
            entry_point: read_u32(&data, opt + 16)?,
            checksum: read_u32(&data, opt + 64)?,
            checksum_offset: opt + 64,
            subsystem: read_u16(&data, opt + 68)?,
            dll_characteristics: read_u16(&data, opt + 70)?,
            directories,
            sections,
            data,
        })
    }

    pub(crate) fn offset(&self, rva: u32) -> Result<usize, String> {
        self.sections
            .iter()
            .find(|s| {
                rva >= s.virtual_address && rva - s.virtual_address < s.virtual_size.max(s.raw_size)
            })
            .map(|s| to_usize(rva - s.virtual_address + s.raw_pointer))
            .ok_or_else(|| format!("RVA {rva:#x} is in no section"))
    }

    pub(crate) fn c_string(&self, rva: u32) -> Result<String, String> {
        let start = self.offset(rva)?;
        let len = self.data[start..]
            .iter()
            .position(|&b| b == 0)
            .ok_or("unterminated string")?;
        Ok(String::from_utf8_lossy(&self.data[start..start + len]).into_owned())
    }

    /// Exported names and their RVAs (lld leaves the directory unaligned; read bytewise).
    pub(crate) fn exports(&self) -> Result<BTreeMap<String, u32>, String> {
        let mut exports = BTreeMap::new();
        let Some(&(rva, size)) = self.directories.first() else {
            return Ok(exports);
        };
        if rva == 0 || size == 0 {
            return Ok(exports);
        }
        let dir = self.offset(rva)?;
        let name_count = read_u32(&self.data, dir + 24)?;
        let functions = self.offset(read_u32(&self.data, dir + 28)?)?;
        let names = self.offset(read_u32(&self.data, dir + 32)?)?;
        let ordinals = self.offset(read_u32(&self.data, dir + 36)?)?;
        for i in 0..to_usize(name_count) {
            let name = self.c_string(read_u32(&self.data, names + 4 * i)?)?;
            let ordinal = usize::from(read_u16(&self.data, ordinals + 2 * i)?);
            exports.insert(name, read_u32(&self.data, functions + 4 * ordinal)?);
        }
        Ok(exports)
    }

    /// (DLL, function) pairs of the import table, in table order.
    pub(crate) fn imports(&self) -> Result<Vec<(String, String)>, String> {
        let mut imports = Vec::new();
        let Some(&(rva, _)) = self.directories.get(1) else {
            return Ok(imports);
        };
        if rva == 0 {
            return Ok(imports);
        }
        let mut descriptor = self.offset(rva)?;
        loop {
            let lookup = read_u32(&self.data, descriptor)?;
            let name = read_u32(&self.data, descriptor + 12)?;
            let address = read_u32(&self.data, descriptor + 16)?;
            if lookup == 0 && name == 0 && address == 0 {
                break;
            }
            let dll = self.c_string(name)?;
            let mut thunk = self.offset(if lookup != 0 { lookup } else { address })?;
            loop {
                let entry = read_u64(&self.data, thunk)?;
                if entry == 0 {
                    break;
                }
                if entry & (1 << 63) != 0 {
                    return Err(format!("{dll}: import by ordinal {}", entry & 0xFFFF));
                }
                let hint_name = u32::try_from(entry & 0x7FFF_FFFF).unwrap();
                imports.push((dll.clone(), self.c_string(hint_name + 2)?));
                thunk += 8;
            }
            descriptor += 20;
        }
        Ok(imports)
    }
}

pub(crate) const SCN_EXECUTE: u32 = 0x2000_0000;
pub(crate) const SCN_WRITE: u32 = 0x8000_0000;

/// Problems of the rules every shipped image follows: the optional-header CheckSum is the
/// computed one (/RELEASE writes it), and no section is writable and executable or has no
/// characteristics.
pub(crate) fn checksum_and_section_problems(pe: &Pe) -> Vec<String> {
    let mut problems = Vec::new();
    let computed = pe_checksum(&pe.data, pe.checksum_offset);
    if pe.checksum != computed {
        problems.push(format!(
            "CheckSum {:#x}, computed {computed:#x} (linked without /RELEASE?)",
            pe.checksum
        ));
    }
    for s in &pe.sections {
        if s.characteristics == 0 {
            problems.push(format!("section {:?} has zero characteristics", s.name));
        }
        if s.characteristics & SCN_EXECUTE != 0 && s.characteristics & SCN_WRITE != 0 {
            problems.push(format!("section {:?} is writable and executable", s.name));
        }
    }
    problems
}

/// The PE image checksum (as `CheckSumMappedFile`): the one's-complement-style 16-bit sum of the
/// file with the CheckSum field taken as zero, folded, plus the file length.
pub(crate) fn pe_checksum(data: &[u8], checksum_offset: usize) -> u32 {
    let mut sum: u32 = 0;
    for (i, chunk) in data.chunks(2).enumerate() {
        let at = 2 * i;
        if at == checksum_offset || at == checksum_offset + 2 {
            continue;
        }
        let word = u32::from(chunk[0]) | chunk.get(1).map_or(0, |&b| u32::from(b) << 8);
        sum += word;
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    sum = (sum & 0xFFFF) + (sum >> 16);
    sum + u32::try_from(data.len()).unwrap()
}
