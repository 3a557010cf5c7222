//! Symbols of the driver image from its link map (`chimney_im.map`, written next to the `.sys`
//! by `.ci/build-sys` with lld-link's `/MAP`): the "Publics by Value" lines
//! `ssss:oooooooo  name  rva+base  lib:object`.

use std::path::Path;

/// Code symbols by RVA, sorted.
#[derive(Debug, Default)]
pub struct Symbols(Vec<(usize, String)>);

impl Symbols {
    /// Reads the map; an absent or unreadable map gives no symbols.
    pub fn load(path: &Path) -> Symbols {
        std::fs::read_to_string(path).map_or_else(|_| Symbols::default(), |t| Symbols::parse(&t))
    }

    pub fn parse(text: &str) -> Symbols {
        let base = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("Preferred load address is "))
            .and_then(|v| usize::from_str_radix(v.trim(), 16).ok());
        let Some(base) = base else {
            return Symbols::default();
        };
        let mut syms: Vec<(usize, String)> = text
            .lines()
            .filter_map(|l| {
                let mut it = l.split_whitespace();
                let (section, name, va) = (it.next()?, it.next()?, it.next()?);
                // Section 0001 is .text: only code symbols name a faulting instruction.
                section.strip_prefix("0001:")?;
                let va = usize::from_str_radix(va, 16).ok()?;
                Some((va.checked_sub(base)?, demangle(name)))
            })
            .collect();
        syms.sort();
        Symbols(syms)
    }

    /// The symbol at or below `rva` and the offset from it.
    pub fn nearest(&self, rva: usize) -> Option<(&str, usize)> {
        let i = self.0.partition_point(|(a, _)| *a <= rva).checked_sub(1)?;
        let (a, name) = &self.0[i];
        Some((name.as_str(), rva - a))
    }

    /// The RVA of the first symbol whose (demangled) name is or ends with `::name`.
    pub fn find(&self, name: &str) -> Option<usize> {
        let suffix = format!("::{name}");
        self.0
            .iter()
            .find(|(_, n)| n == name || n.ends_with(&suffix))
            .map(|(a, _)| *a)
    }
}

/// Rust's legacy mangling (`_ZN10chimney_im4edge8protocol11set_options17h<hash>E`, maybe with an
/// `.llvm.<n>` suffix) to `chimney_im::edge::protocol::set_options`; other names unchanged.
pub fn demangle(sym: &str) -> String {
    let core = sym.split(".llvm.").next().unwrap_or(sym);
    let Some(mut rest) = core.strip_prefix("_ZN") else {
        return sym.to_string();
    };
    let mut parts = Vec::new();
    while let Some(d) = rest.find(|c: char| !c.is_ascii_digit()).filter(|d| *d > 0) {
        let Ok(n) = rest[..d].parse::<usize>() else {
            break;
        };
        let Some(part) = rest.get(d..d + n) else {
            break;
        };
        parts.push(part);
        rest = &rest[d + n..];
    }
    if parts
        .last()
        .is_some_and(|p| p.len() == 17 && p.starts_with('h'))
    {
        parts.pop();
    }
    if parts.is_empty() {
        return sym.to_string();
    }
    parts
        .iter()
        .map(|p| {
            p.replace("$LT$", "<")
                .replace("$GT$", ">")
                .replace("$u20$", " ")
                .replace("$RF$", "&")
                .replace("$C$", ",")
                .replace("..", "::")
        })
        .collect::<Vec<_>>()
        .join("::")
}

#[cfg(test)]
mod tests {
    use super::{Symbols, demangle};

    #[test]
    fn demangles_and_finds_the_nearest_symbol() {
        assert_eq!(
            demangle("_ZN10chimney_im4edge8protocol11set_options17hed15c7ad2a5276a9E.llvm.55"),
            "chimney_im::edge::protocol::set_options"
        );
        assert_eq!(demangle("DriverEntry"), "DriverEntry");
        let map = " Preferred load address is 0000000180000000\n\
             0001:00000060 _ZN10chimney_im1a1f17hed15c7ad2a5276a9E 0000000180001060 x.o\n\
             0001:00003f00 DriverEntry 0000000180004f00 y.o\n\
             0002:00000be8 __imp_X 0000000180009be8 ndis.sys\n";
        let s = Symbols::parse(map);
        assert_eq!(s.nearest(0x4f10), Some(("DriverEntry", 0x10)));
        assert_eq!(s.nearest(0x1060), Some(("chimney_im::a::f", 0)));
        assert_eq!(s.nearest(0x9be8), Some(("DriverEntry", 0x4ce8)));
        assert_eq!(s.find("f"), Some(0x1060));
    }
}
