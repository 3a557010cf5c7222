//! Stack use of the driver image, from its own unwind data: the x64 `.pdata` table lists every
//! function that touches the stack beyond its return address, and each entry's UNWIND_INFO
//! codes say exactly how much it pushes and allocates (Microsoft: "x64 exception handling",
//! UNWIND_INFO / UNWIND_CODE). Direct calls (`E8 rel32`) and tail jumps (`E9 rel32`) that land
//! on a function start give the call graph; the deepest path from a function is its frame plus
//! the deepest of its callees.

use std::collections::{BTreeMap, BTreeSet};

use crate::pe::{Pe, read_u16, read_u32};

/// IMAGE_DIRECTORY_ENTRY_EXCEPTION.
const EXCEPTION_DIR: usize = 3;
const UNW_FLAG_CHAININFO: u8 = 0x4;

#[derive(Clone, Debug)]
pub(crate) struct Function {
    pub(crate) begin: u32,
    pub(crate) end: u32,
    /// Bytes of stack the function uses, its return address included.
    pub(crate) frame: u32,
    pub(crate) name: String,
}

/// Frame bytes an UNWIND_INFO at `rva` describes (pushes and allocations), following chains.
fn unwind_frame(pe: &Pe, rva: u32, depth: u32) -> Result<u32, String> {
    if depth > 8 {
        return Err(format!("unwind chain too deep at {rva:#x}"));
    }
    let at = pe.offset(rva)?;
    let d = &pe.data;
    let head = *d.get(at).ok_or("unwind info out of range")?;
    let (version, flags) = (head & 7, head >> 3);
    if !(1..=2).contains(&version) {
        return Err(format!("unwind info {rva:#x}: version {version}"));
    }
    let count = usize::from(*d.get(at + 2).ok_or("unwind info out of range")?);
    let code = |i: usize| read_u16(d, at + 4 + 2 * i);
    let mut frame = 0u32;
    let mut i = 0;
    while i < count {
        let c = code(i)?;
        let (op, info) = ((c >> 8) & 0xF, u32::from(c >> 12));
        i += match op {
            0 => {
                frame += 8; // UWOP_PUSH_NONVOL
                1
            }
            1 if info == 0 => {
                frame += u32::from(code(i + 1)?) * 8; // UWOP_ALLOC_LARGE, scaled
                2
            }
            1 => {
                frame += u32::from(code(i + 1)?) | (u32::from(code(i + 2)?) << 16);
                3
            }
            2 => {
                frame += info * 8 + 8; // UWOP_ALLOC_SMALL
                1
            }
            3 => 1,         // UWOP_SET_FPREG: no allocation
            4 | 6 | 8 => 2, // SAVE_NONVOL, (v2 EPILOG), SAVE_XMM128: inside the allocation
            5 | 7 | 9 => 3, // the _FAR forms
            10 => {
                frame += if info == 0 { 40 } else { 48 }; // UWOP_PUSH_MACHFRAME
                1
            }
            _ => return Err(format!("unwind info {rva:#x}: unknown op {op}")),
        };
    }
    if flags & UNW_FLAG_CHAININFO != 0 {
        // The parent RUNTIME_FUNCTION follows the (even-padded) code array.
        let parent = at + 4 + 2 * (count + (count & 1));
        let parent_unwind = read_u32(d, parent + 8)?;
        frame += unwind_frame(pe, parent_unwind, depth + 1)?;
    }
    Ok(frame)
}

/// Every function of the image: `.pdata` entries (named from the link map where it names them).
pub(crate) fn functions(pe: &Pe, names: &BTreeMap<u32, String>) -> Result<Vec<Function>, String> {
    let (rva, size) = *pe
        .directories
        .get(EXCEPTION_DIR)
        .ok_or("no exception directory")?;
    if rva == 0 || size == 0 {
        return Err("the image has no .pdata".into());
    }
    let at = pe.offset(rva)?;
    let mut out = Vec::new();
    for k in 0..(size as usize / 12) {
        let e = at + 12 * k;
        let (begin, end, unwind) = (
            read_u32(&pe.data, e)?,
            read_u32(&pe.data, e + 4)?,
            read_u32(&pe.data, e + 8)?,
        );
        let frame = unwind_frame(pe, unwind, 0)? + 8;
        let name = names
            .get(&begin)
            .cloned()
            .unwrap_or_else(|| format!("fn@{begin:#x}"));
        out.push(Function {
            begin,
            end,
            frame,
            name,
        });
    }
    Ok(out)
}

/// Symbol RVAs from the lld link map: lines `0001:xxxxxxxx  symbol  VA  object`.
pub(crate) fn map_symbols(map: &str, image_base: u64) -> BTreeMap<u32, String> {
    let mut out = BTreeMap::new();
    for line in map.lines() {
        let cols: Vec<&str> = line.split_whitespace().collect();
        if cols.len() >= 3
            && cols[0].starts_with("0001:")
            && let Ok(va) = u64::from_str_radix(cols[2], 16)
            && let Ok(rva) = u32::try_from(va.wrapping_sub(image_base))
        {
            out.entry(rva).or_insert_with(|| demangle(cols[1]));
        }
    }
    out
}

/// `_ZN10chimney_im7chimney2io4post17h…E` -> `chimney_im::chimney::io::post` (legacy mangling,
/// enough for reading; anything else is kept as is).
pub(crate) fn demangle(s: &str) -> String {
    let Some(mut rest) = s.strip_prefix("_ZN") else {
        return s.to_string();
    };
    let mut parts = Vec::new();
    while let Some(len_end) = rest.find(|c: char| !c.is_ascii_digit()) {
        let Ok(len) = rest[..len_end].parse::<usize>() else {
            break;
        };
        let Some(part) = rest.get(len_end..len_end + len) else {
            break;
        };
        if part.starts_with('h') && part.len() == 17 {
            break; // the hash
        }
        parts.push(part.to_string());
        rest = &rest[len_end + len..];
    }
    if parts.is_empty() {
        s.to_string()
    } else {
        parts.join("::")
    }
}

/// Direct call/tail-jump edges between functions: callee starts per caller.
pub(crate) fn call_graph(text_rva: u32, text: &[u8], fns: &[Function]) -> Vec<BTreeSet<usize>> {
    let starts: BTreeMap<u32, usize> = fns.iter().enumerate().map(|(i, f)| (f.begin, i)).collect();
    fns.iter()
        .map(|f| {
            let mut callees = BTreeSet::new();
            let lo = (f.begin - text_rva) as usize;
            let hi = ((f.end - text_rva) as usize).min(text.len());
            for p in lo..hi.saturating_sub(4) {
                if text[p] == 0xE8 || text[p] == 0xE9 {
                    let rel =
                        i32::from_le_bytes([text[p + 1], text[p + 2], text[p + 3], text[p + 4]]);
                    let next = i64::from(text_rva) + p as i64 + 5;
                    if let Ok(target) = u32::try_from(next + i64::from(rel))
                        && let Some(&j) = starts.get(&target)
                        && target != f.begin
                    {
                        callees.insert(j);
                    }
                }
            }
            callees
        })
        .collect()
}

/// Deepest stack from entering each function: its frame plus its deepest callee (a cycle, which
/// would be unbounded recursion, is an error naming the functions on it).
pub(crate) fn deepest(fns: &[Function], graph: &[BTreeSet<usize>]) -> Result<Vec<u32>, String> {
    fn visit(
        i: usize,
        fns: &[Function],
        graph: &[BTreeSet<usize>],
        memo: &mut Vec<Option<u32>>,
        path: &mut Vec<usize>,
    ) -> Result<u32, String> {
        if let Some(d) = memo[i] {
            return Ok(d);
        }
        if path.contains(&i) {
            let names: Vec<&str> = path.iter().map(|&k| fns[k].name.as_str()).collect();
            return Err(format!(
                "recursion: {} -> {}",
                names.join(" -> "),
                fns[i].name
            ));
        }
        path.push(i);
        let mut worst = 0;
        for &j in &graph[i] {
            worst = worst.max(visit(j, fns, graph, memo, path)?);
        }
        path.pop();
        let d = fns[i].frame + worst;
        memo[i] = Some(d);
        Ok(d)
    }
    let mut memo = vec![None; fns.len()];
    (0..fns.len())
        .map(|i| visit(i, fns, graph, &mut memo, &mut Vec::new()))
        .collect()
}
