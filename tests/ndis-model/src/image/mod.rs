//! The Wine tier's loader: maps the shipped driver image (`chimney_im.sys`) into the test process
//! the way the kernel would, binds its imports by name to the model's export table, and hands the
//! model its `DriverEntry`. One fresh mapping per model instance; dropping the [`Image`] unmaps it.
//!
//! Refuses (with the list of reasons) an image that imports something the model does not export,
//! imports from a DLL other than ndis.sys / ntoskrnl.exe / hal.dll, imports by ordinal, has a TLS
//! directory or delay imports, has a writable and executable section, or whose exported
//! `DriverEntry` is not its entry point.

mod faults;
mod pe;
mod symbols;
mod win32;

use std::ffi::c_void;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

pub use symbols::Symbols;

use crate::exports::table;
use win32::*;

/// Import DLLs the model stands in for.
const ALLOWED_DLLS: [&str; 3] = ["ndis.sys", "ntoskrnl.exe", "hal.dll"];

/// A mapped, bound driver image.
#[derive(Debug)]
pub struct Image {
    base: usize,
    size: usize,
    entry: usize,
    pdata: Option<usize>,
    path: PathBuf,
}

/// Where the images in use are mapped, with their symbols (for the fault handler).
struct Mapped {
    base: usize,
    size: usize,
    symbols: Symbols,
}

static MAPPED: Mutex<Vec<Mapped>> = Mutex::new(Vec::new());

fn mapped() -> std::sync::MutexGuard<'static, Vec<Mapped>> {
    MAPPED.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The image the Wine tier loads: `$CHIMNEY_SYS`, else `target/chimney_im.sys` (written by
/// `.ci/build-sys`) at the workspace root.
pub fn default_path() -> PathBuf {
    std::env::var_os("CHIMNEY_SYS").map_or_else(
        || {
            let model = Path::new(env!("CARGO_MANIFEST_DIR"));
            let root = model.parent().and_then(Path::parent).unwrap_or(model);
            root.join("target").join("chimney_im.sys")
        },
        PathBuf::from,
    )
}

/// A copy of the image at `src`, changed by `edit`, written to `dst` (with the link map, as
/// [`patch_int3`] does).
pub fn patch_copy(src: &Path, dst: &Path, edit: impl FnOnce(&mut Vec<u8>)) -> Result<(), String> {
    let mut file = std::fs::read(src).map_err(|e| format!("{}: {e}", src.display()))?;
    edit(&mut file);
    std::fs::write(dst, &file).map_err(|e| format!("{}: {e}", dst.display()))?;
    let map = src.with_extension("map");
    if map.exists() {
        std::fs::copy(&map, dst.with_extension("map")).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// A copy of the image at `src`, written to `dst`, with an `int3` at `rva`; the link map is
/// copied along (`dst` with extension `map`) so that faults in the copy name their symbols.
/// Returns the symbol at `rva` and the offset from it.
pub fn patch_int3(src: &Path, rva: u32, dst: &Path) -> Result<Option<(String, usize)>, String> {
    patch_code(src, rva, &[0xCC], dst)
}

/// [`patch_int3`] with any instruction bytes.
pub fn patch_code(
    src: &Path,
    rva: u32,
    code: &[u8],
    dst: &Path,
) -> Result<Option<(String, usize)>, String> {
    let mut result = Ok(());
    patch_copy(src, dst, |file| {
        result = pe::headers(file).and_then(|h| {
            let at = h
                .file_offset(rva)
                .ok_or_else(|| format!("RVA {rva:#x} is not in any section's file data"))?;
            file.get_mut(at..at + code.len())
                .ok_or_else(|| format!("{} bytes at {rva:#x} run past the file", code.len()))?
                .copy_from_slice(code);
            Ok(())
        });
    })?;
    result?;
    let syms = Symbols::load(&src.with_extension("map"));
    Ok(syms.nearest(rva as usize).map(|(n, o)| (n.to_string(), o)))
}

/// The RVA of the image's entry point and the symbols of its link map.
pub fn entry_and_symbols(path: &Path) -> Result<(u32, Symbols), String> {
    let file = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((
        pe::headers(&file)?.entry_point,
        Symbols::load(&path.with_extension("map")),
    ))
}

/// Whether `len` bytes at `addr` lie inside a mapped image.
pub fn contains(addr: usize, len: usize) -> bool {
    mapped()
        .iter()
        .any(|m| addr >= m.base && addr.saturating_add(len) <= m.base + m.size)
}

/// `addr` as `symbol+offset (image offset 0x...)` when it lies inside a mapped image.
pub fn describe(addr: usize) -> Option<String> {
    let m = mapped();
    let img = m
        .iter()
        .find(|m| addr >= m.base && addr < m.base + m.size)?;
    let rva = addr - img.base;
    Some(match img.symbols.nearest(rva) {
        Some((name, off)) => format!("{name}+{off:#x} (image offset {rva:#x})"),
        None => format!("image offset {rva:#x} (no symbol: link map missing)"),
    })
}

impl Image {
    /// Maps, relocates, binds and protects the image at `path`.
    pub fn load(path: &Path) -> Result<Image, String> {
        faults::install();
        let file = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let h = pe::headers(&file)?;
        let mut problems = Vec::new();
        if h.dir(pe::DIR_TLS).is_some() {
            problems.push("has a TLS directory".to_string());
        }
        if h.dir(pe::DIR_DELAY_IMPORT).is_some() {
            problems.push("has delay imports".to_string());
        }
        for s in &h.sections {
            let wx = pe::SCN_MEM_WRITE | pe::SCN_MEM_EXECUTE;
            if s.characteristics & wx == wx {
                problems.push(format!("section {} is writable and executable", s.name));
            }
        }
        let size = h.size_of_image as usize;
        // SAFETY: a fresh reservation; nothing else refers to it.
        let base = unsafe {
            VirtualAlloc(
                std::ptr::null_mut(),
                size,
                MEM_RESERVE | MEM_COMMIT,
                PAGE_READWRITE,
            )
        } as usize;
        if base == 0 {
            return Err(format!(
                "{}: VirtualAlloc of {size} bytes failed",
                path.display()
            ));
        }
        let mut img = Image {
            base,
            size,
            entry: 0,
            pdata: None,
            path: path.to_path_buf(),
        };
        // SAFETY: `base` is a committed read-write mapping of `size` bytes owned by `img`.
        let mem = unsafe { std::slice::from_raw_parts_mut(base as *mut u8, size) };
        copy_sections(&file, &h, mem)?;
        relocate(&h, mem, base)?;
        problems.extend(bind(&h, mem)?);
        if !problems.is_empty() {
            return Err(refusal(path, &problems));
        }
        let entry = pe::exports(mem, &h)
            .into_iter()
            .find(|(n, _)| n == "DriverEntry")
            .map(|(_, rva)| rva);
        match entry {
            Some(rva) if rva == h.entry_point => img.entry = base + rva as usize,
            Some(rva) => {
                return Err(refusal(
                    path,
                    &[format!(
                        "exported DriverEntry at {rva:#x} is not the entry point {:#x}",
                        h.entry_point
                    )],
                ));
            }
            None => return Err(refusal(path, &["exports no DriverEntry".to_string()])),
        }
        img.protect(&h)?;
        if let Some((rva, len)) = h.dir(pe::DIR_EXCEPTION) {
            let table = base + rva as usize;
            // SAFETY: `.pdata` of the mapped image: `len / 12` RUNTIME_FUNCTION records whose
            // RVAs are relative to `base`; removed again before the mapping is freed (Drop).
            let ok = unsafe { RtlAddFunctionTable(table as *const c_void, len / 12, base as u64) };
            if ok == 0 {
                return Err(format!("{}: RtlAddFunctionTable failed", path.display()));
            }
            img.pdata = Some(table);
        }
        let symbols = Symbols::load(&path.with_extension("map"));
        mapped().push(Mapped {
            base,
            size,
            symbols,
        });
        Ok(img)
    }

    /// The image's `DriverEntry`.
    pub fn driver_entry(&self) -> crate::model::DriverEntryFn {
        // SAFETY: `entry` is the address of the exported DriverEntry (checked equal to the PE
        // entry point) inside the mapped, bound, executable image, which has exactly this
        // signature (`chimney_im::DriverEntry`).
        unsafe { std::mem::transmute::<usize, crate::model::DriverEntryFn>(self.entry) }
    }

    pub fn base(&self) -> usize {
        self.base
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn protect(&self, h: &pe::Headers) -> Result<(), String> {
        let mut ranges = vec![(0usize, h.size_of_headers as usize, PAGE_READONLY)];
        for s in &h.sections {
            let c = s.characteristics;
            let prot = if c & pe::SCN_MEM_EXECUTE != 0 {
                PAGE_EXECUTE_READ
            } else if c & pe::SCN_MEM_WRITE != 0 {
                PAGE_READWRITE
            } else {
                PAGE_READONLY
            };
            ranges.push((s.virtual_address as usize, s.virtual_size as usize, prot));
        }
        for (rva, len, prot) in ranges {
            if len == 0 {
                continue;
            }
            let mut old = 0;
            // SAFETY: a range inside the image mapping this `Image` owns.
            let ok =
                unsafe { VirtualProtect((self.base + rva) as *mut c_void, len, prot, &mut old) };
            if ok == 0 {
                return Err(format!(
                    "VirtualProtect({rva:#x}, {len:#x}, {prot:#x}) failed"
                ));
            }
        }
        // SAFETY: flushing the instruction cache for our own mapping has no preconditions.
        unsafe {
            FlushInstructionCache(GetCurrentProcess(), self.base as *const c_void, self.size)
        };
        Ok(())
    }
}

impl Drop for Image {
    fn drop(&mut self) {
        mapped().retain(|m| m.base != self.base);
        if let Some(table) = self.pdata {
            // SAFETY: the table registered in `load` for this mapping.
            unsafe { RtlDeleteFunctionTable(table as *const c_void) };
        }
        // SAFETY: the whole reservation made in `load`; nothing runs in it any more (the model
        // drops its image after the driver is unloaded and the worker stopped).
        unsafe { VirtualFree(self.base as *mut c_void, 0, MEM_RELEASE) };
    }
}

fn refusal(path: &Path, problems: &[String]) -> String {
    format!(
        "ndis-model refuses to load {}:\n  - {}",
        path.display(),
        problems.join("\n  - ")
    )
}

fn copy_sections(file: &[u8], h: &pe::Headers, mem: &mut [u8]) -> Result<(), String> {
    let hdr = (h.size_of_headers as usize).min(file.len()).min(mem.len());
    mem[..hdr].copy_from_slice(&file[..hdr]);
    for s in &h.sections {
        let n = s.raw_size.min(s.virtual_size) as usize;
        let (src, dst) = (s.raw_offset as usize, s.virtual_address as usize);
        let from = file
            .get(src..src + n)
            .ok_or_else(|| format!("section {} truncated", s.name))?;
        mem.get_mut(dst..dst + n)
            .ok_or_else(|| format!("section {} outside the image", s.name))?
            .copy_from_slice(from);
    }
    Ok(())
}

/// Applies the DIR64 base relocations for the image living at `base`.
fn relocate(h: &pe::Headers, mem: &mut [u8], base: usize) -> Result<(), String> {
    let delta = (base as u64).wrapping_sub(h.image_base);
    for (rva, kind) in pe::relocations(mem, h)? {
        // IMAGE_REL_BASED_DIR64: the 64-bit field at `rva` gets the delta.
        if kind != 10 {
            return Err(format!(
                "unsupported base relocation type {kind} at {rva:#x}"
            ));
        }
        let at = rva as usize;
        let slot = mem
            .get_mut(at..at + 8)
            .ok_or_else(|| format!("relocation at {rva:#x} outside the image"))?;
        let v = u64::from_le_bytes(slot.try_into().map_err(|_| "relocation slot")?);
        slot.copy_from_slice(&v.wrapping_add(delta).to_le_bytes());
    }
    Ok(())
}

/// Writes every import's model function into its IAT slot; returns what could not be bound.
fn bind(h: &pe::Headers, mem: &mut [u8]) -> Result<Vec<String>, String> {
    let mut problems = Vec::new();
    for imp in pe::imports(mem, h)? {
        let dll_ok = ALLOWED_DLLS
            .iter()
            .any(|d| d.eq_ignore_ascii_case(&imp.dll));
        if !dll_ok {
            problems.push(format!(
                "imports {} from {}, which the model does not provide",
                imp.name.as_deref().unwrap_or("an ordinal"),
                imp.dll
            ));
            continue;
        }
        let Some(name) = imp.name else {
            problems.push(format!("imports an ordinal from {}", imp.dll));
            continue;
        };
        let Some(f) = table::lookup(&name) else {
            problems.push(format!(
                "imports {}!{name}, which the model does not export",
                imp.dll
            ));
            continue;
        };
        // The same rule as the Linux tier: an import the model has no checks for is refused.
        if let Some(why) = crate::exports::checks::refusal(&name) {
            problems.push(why);
            continue;
        }
        let at = imp.iat_rva as usize;
        mem.get_mut(at..at + 8)
            .ok_or_else(|| format!("IAT slot of {name} outside the image"))?
            .copy_from_slice(&(f as usize as u64).to_le_bytes());
    }
    Ok(problems)
}
