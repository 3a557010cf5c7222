//! GUIDs as the registry and NDIS spell them: `{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}`, upper
//! case hex (the form `StringFromGUID2` writes), and `\Device\{…}` device names.

use alloc::string::String;
use core::fmt;

/// A GUID held as the 128-bit number its text form spells (`windows::core::GUID::to_u128`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Guid(pub u128);

/// Length of `{8-4-4-4-12}`.
pub const BRACED_LEN: usize = 38;
/// The prefix of a virtual miniport's device name in `UpperBindings`.
pub const DEVICE_PREFIX: &str = "\\Device\\";

impl Guid {
    /// Parses `{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}` (either case); `None` for anything else.
    pub fn parse_braced(text: &str) -> Option<Self> {
        let bytes = text.as_bytes();
        if bytes.len() != BRACED_LEN || bytes[0] != b'{' || bytes[BRACED_LEN - 1] != b'}' {
            return None;
        }
        let mut value: u128 = 0;
        for (i, &b) in bytes[1..BRACED_LEN - 1].iter().enumerate() {
            if matches!(i, 8 | 13 | 18 | 23) {
                if b != b'-' {
                    return None;
                }
                continue;
            }
            let digit = char::from(b).to_digit(16)?;
            value = value << 4 | u128::from(digit);
        }
        Some(Self(value))
    }

    /// Parses a `\Device\{GUID}` device name (the prefix compared case-insensitively).
    pub fn parse_device_name(text: &str) -> Option<Self> {
        let (prefix, rest) = text.split_at_checked(DEVICE_PREFIX.len())?;
        if !prefix.eq_ignore_ascii_case(DEVICE_PREFIX) {
            return None;
        }
        Self::parse_braced(rest)
    }

    /// `{XXXXXXXX-…}` in upper case.
    pub fn braced(self) -> String {
        alloc::format!("{self}")
    }

    /// `\Device\{XXXXXXXX-…}`: the `UpperBindings` entry naming a virtual miniport.
    pub fn device_name(self) -> String {
        alloc::format!("{DEVICE_PREFIX}{self}")
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.0;
        write!(
            f,
            "{{{:08X}-{:04X}-{:04X}-{:04X}-{:012X}}}",
            v >> 96,
            (v >> 80) & 0xFFFF,
            (v >> 64) & 0xFFFF,
            (v >> 48) & 0xFFFF,
            v & 0xFFFF_FFFF_FFFF
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NET: Guid = Guid(0x4d36e972_e325_11ce_bfc1_08002be10318);

    #[test]
    fn formats_like_string_from_guid2() {
        assert_eq!(NET.braced(), "{4D36E972-E325-11CE-BFC1-08002BE10318}");
        assert_eq!(
            NET.device_name(),
            "\\Device\\{4D36E972-E325-11CE-BFC1-08002BE10318}"
        );
    }

    #[test]
    fn parses_both_cases_and_rejects_malformed() {
        assert_eq!(
            Guid::parse_braced("{4d36e972-e325-11ce-bfc1-08002be10318}"),
            Some(NET)
        );
        assert_eq!(Guid::parse_braced(&NET.braced()), Some(NET));
        assert_eq!(
            Guid::parse_device_name("\\DEVICE\\{4D36E972-E325-11CE-BFC1-08002BE10318}"),
            Some(NET)
        );
        for bad in [
            "",
            "4D36E972-E325-11CE-BFC1-08002BE10318",
            "{4D36E972-E325-11CE-BFC1-08002BE1031}",
            "{4D36E972-E325-11CE-BFC1+08002BE10318}",
            "{4D36E972-E325-11CE-BFC1-08002BE1031G}",
            "\\Device\\4D36E972",
            "\\Dev\\{4D36E972-E325-11CE-BFC1-08002BE10318}",
        ] {
            assert_eq!(Guid::parse_device_name(bad), None, "{bad}");
            assert_eq!(Guid::parse_braced(bad), None, "{bad}");
        }
    }
}
