//! What the loader needs from a PE32+ file: headers, sections, data directories, imports,
//! exports and base relocations (Microsoft "PE Format" specification, docs.microsoft.com).

/// Data directory indexes (PE Format, "Optional Header Data Directories").
pub const DIR_EXPORT: usize = 0;
pub const DIR_IMPORT: usize = 1;
pub const DIR_EXCEPTION: usize = 3;
pub const DIR_BASERELOC: usize = 5;
pub const DIR_TLS: usize = 9;
pub const DIR_DELAY_IMPORT: usize = 13;

pub const SCN_MEM_EXECUTE: u32 = 0x2000_0000;
pub const SCN_MEM_WRITE: u32 = 0x8000_0000;

#[derive(Clone, Debug)]
pub struct Section {
    pub name: String,
    pub virtual_address: u32,
    pub virtual_size: u32,
    pub raw_offset: u32,
    pub raw_size: u32,
    pub characteristics: u32,
}

#[derive(Clone, Debug)]
pub struct Headers {
    pub image_base: u64,
    pub entry_point: u32,
    pub size_of_image: u32,
    pub size_of_headers: u32,
    pub dirs: Vec<(u32, u32)>,
    pub sections: Vec<Section>,
}

fn u16_at(b: &[u8], o: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(o..o + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], o: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(o..o + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], o: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(o..o + 8)?.try_into().ok()?))
}

/// Parses the headers of a PE32+ x64 image file.
pub fn headers(file: &[u8]) -> Result<Headers, String> {
    let bad = |what: &str| format!("not a PE32+ x64 image: {what}");
    if file.get(..2) != Some(b"MZ") {
        return Err(bad("no MZ header"));
    }
    let pe = u32_at(file, 0x3c).ok_or_else(|| bad("truncated"))? as usize;
    if file.get(pe..pe + 4) != Some(b"PE\0\0") {
        return Err(bad("no PE signature"));
    }
    let coff = pe + 4;
    if u16_at(file, coff) != Some(0x8664) {
        return Err(bad("machine is not AMD64"));
    }
    let nsections = usize::from(u16_at(file, coff + 2).ok_or_else(|| bad("truncated"))?);
    let opt_size = usize::from(u16_at(file, coff + 16).ok_or_else(|| bad("truncated"))?);
    let opt = coff + 20;
    if u16_at(file, opt) != Some(0x20b) {
        return Err(bad("optional header is not PE32+"));
    }
    let field = |o: usize| u32_at(file, opt + o).ok_or_else(|| bad("truncated optional header"));
    let ndirs = field(108)? as usize;
    let dirs = (0..ndirs.min(16))
        .map(|i| Ok((field(112 + 8 * i)?, field(116 + 8 * i)?)))
        .collect::<Result<Vec<_>, String>>()?;
    let mut sections = Vec::with_capacity(nsections);
    for i in 0..nsections {
        let s = opt + opt_size + 40 * i;
        let raw = file
            .get(s..s + 40)
            .ok_or_else(|| bad("truncated section table"))?;
        let name_len = raw[..8].iter().position(|c| *c == 0).unwrap_or(8);
        let at = |o: usize| u32_at(raw, o).unwrap_or(0);
        sections.push(Section {
            name: String::from_utf8_lossy(&raw[..name_len]).into_owned(),
            virtual_size: at(8),
            virtual_address: at(12),
            raw_size: at(16),
            raw_offset: at(20),
            characteristics: at(36),
        });
    }
    Ok(Headers {
        image_base: u64_at(file, opt + 24).ok_or_else(|| bad("truncated"))?,
        entry_point: field(16)?,
        size_of_image: field(56)?,
        size_of_headers: field(60)?,
        dirs,
        sections,
    })
}

impl Headers {
    /// The (RVA, size) of data directory `i`, None when absent or empty.
    pub fn dir(&self, i: usize) -> Option<(u32, u32)> {
        self.dirs
            .get(i)
            .copied()
            .filter(|(rva, size)| *rva != 0 && *size != 0)
    }

    /// The file offset holding the byte at `rva`.
    pub fn file_offset(&self, rva: u32) -> Option<usize> {
        self.sections.iter().find_map(|s| {
            let off = rva.checked_sub(s.virtual_address)?;
            (off < s.raw_size).then(|| (s.raw_offset + off) as usize)
        })
    }
}

/// Reads a NUL-terminated ASCII name at `rva` of a mapped image (`image` is the whole mapping).
pub fn name_at(image: &[u8], rva: u32) -> Option<String> {
    let tail = image.get(rva as usize..)?;
    let end = tail.iter().position(|c| *c == 0)?;
    Some(String::from_utf8_lossy(&tail[..end]).into_owned())
}

/// One imported function: its DLL, its name (None for an import by ordinal) and the RVA of its
/// import address table slot.
#[derive(Clone, Debug)]
pub struct Import {
    pub dll: String,
    pub name: Option<String>,
    pub iat_rva: u32,
}

/// Every import of a mapped image.
pub fn imports(image: &[u8], h: &Headers) -> Result<Vec<Import>, String> {
    let Some((rva, _)) = h.dir(DIR_IMPORT) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for d in 0.. {
        let desc = rva as usize + 20 * d;
        let at = |o: usize| u32_at(image, desc + o).ok_or("import directory out of bounds");
        let (lookup, name, iat) = (at(0)?, at(12)?, at(16)?);
        if lookup == 0 && name == 0 && iat == 0 {
            break;
        }
        let dll = name_at(image, name).ok_or("import DLL name out of bounds")?;
        let table = if lookup != 0 { lookup } else { iat };
        for i in 0u32.. {
            let thunk =
                u64_at(image, (table + 8 * i) as usize).ok_or("import thunk out of bounds")?;
            if thunk == 0 {
                break;
            }
            let name = if thunk & (1 << 63) != 0 {
                None
            } else {
                #[allow(
                    clippy::cast_possible_truncation,
                    reason = "a hint/name RVA is 31 bits"
                )]
                let hint_name = thunk as u32;
                Some(name_at(image, hint_name + 2).ok_or("import name out of bounds")?)
            };
            out.push(Import {
                dll: dll.clone(),
                name,
                iat_rva: iat + 8 * i,
            });
        }
    }
    Ok(out)
}

/// Every named export of a mapped image: (name, RVA).
pub fn exports(image: &[u8], h: &Headers) -> Vec<(String, u32)> {
    let Some((rva, _)) = h.dir(DIR_EXPORT) else {
        return Vec::new();
    };
    let rva = rva as usize;
    let at = |o: usize| u32_at(image, o).unwrap_or(0);
    let (nnames, funcs, names, ords) = (at(rva + 24), at(rva + 28), at(rva + 32), at(rva + 36));
    (0..nnames)
        .filter_map(|i| {
            let name = name_at(image, at(names as usize + 4 * i as usize))?;
            let ord = u16_at(image, ords as usize + 2 * i as usize)?;
            Some((name, at(funcs as usize + 4 * usize::from(ord))))
        })
        .collect()
}

/// The base relocations of a mapped image: (RVA, type) of every entry but padding.
pub fn relocations(image: &[u8], h: &Headers) -> Result<Vec<(u32, u16)>, String> {
    let Some((rva, size)) = h.dir(DIR_BASERELOC) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    let (mut at, end) = (rva as usize, (rva + size) as usize);
    while at + 8 <= end {
        let page = u32_at(image, at).ok_or("relocation block out of bounds")?;
        let block = u32_at(image, at + 4).ok_or("relocation block out of bounds")? as usize;
        if block < 8 {
            return Err(format!("relocation block of {block} bytes"));
        }
        for e in (at + 8..at + block).step_by(2) {
            let v = u16_at(image, e).ok_or("relocation entry out of bounds")?;
            if v >> 12 != 0 {
                out.push((page + u32::from(v & 0xfff), v >> 12));
            }
        }
        at += block;
    }
    Ok(out)
}
