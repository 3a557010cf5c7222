//! A minimal zip writer (stored entries, no compression), so that packaging needs no `zip` tool
//! on either Linux or Windows. Windows Explorer and `unzip` read it; the package is about 1 MB.

use std::path::Path;

/// CRC-32 (IEEE 802.3, reflected, as zip uses).
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

fn u16_le(v: usize) -> Result<[u8; 2], String> {
    u16::try_from(v)
        .map(u16::to_le_bytes)
        .map_err(|_| format!("{v} does not fit a zip field"))
}

fn u32_le(v: usize) -> Result<[u8; 4], String> {
    u32::try_from(v)
        .map(u32::to_le_bytes)
        .map_err(|_| format!("{v} does not fit a zip field"))
}

/// Zips every file directly in `dir` (sorted by name) under `prefix/` into `out`.
pub fn write_dir(dir: &Path, prefix: &str, out: &Path) -> Result<(), String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut zip = Vec::new();
    let mut central = Vec::new();
    // 1980-01-01 00:00, the DOS epoch: entries carry no build time, so the zip is reproducible.
    let (dos_time, dos_date) = (0u16, (1 << 5) | 1u16);
    for name in &names {
        let data = std::fs::read(dir.join(name)).map_err(|e| format!("{name}: {e}"))?;
        let path = format!("{prefix}/{name}");
        let crc = crc32(&data).to_le_bytes();
        let offset = zip.len();
        let mut common = Vec::new();
        common.extend_from_slice(&20u16.to_le_bytes()); // version needed: 2.0
        common.extend_from_slice(&0u16.to_le_bytes()); // flags
        common.extend_from_slice(&0u16.to_le_bytes()); // method: stored
        common.extend_from_slice(&dos_time.to_le_bytes());
        common.extend_from_slice(&dos_date.to_le_bytes());
        common.extend_from_slice(&crc);
        common.extend_from_slice(&u32_le(data.len())?); // compressed size
        common.extend_from_slice(&u32_le(data.len())?); // uncompressed size
        common.extend_from_slice(&u16_le(path.len())?);
        common.extend_from_slice(&0u16.to_le_bytes()); // extra length

        zip.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        zip.extend_from_slice(&common);
        zip.extend_from_slice(path.as_bytes());
        zip.extend_from_slice(&data);

        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&20u16.to_le_bytes()); // version made by: 2.0, MS-DOS
        central.extend_from_slice(&common);
        central.extend_from_slice(&0u16.to_le_bytes()); // comment length
        central.extend_from_slice(&0u16.to_le_bytes()); // disk number
        central.extend_from_slice(&0u16.to_le_bytes()); // internal attributes
        central.extend_from_slice(&0u32.to_le_bytes()); // external attributes
        central.extend_from_slice(&u32_le(offset)?);
        central.extend_from_slice(path.as_bytes());
    }
    let central_offset = zip.len();
    zip.extend_from_slice(&central);
    zip.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    zip.extend_from_slice(&0u16.to_le_bytes()); // this disk
    zip.extend_from_slice(&0u16.to_le_bytes()); // disk with the central directory
    zip.extend_from_slice(&u16_le(names.len())?);
    zip.extend_from_slice(&u16_le(names.len())?);
    zip.extend_from_slice(&u32_le(central.len())?);
    zip.extend_from_slice(&u32_le(central_offset)?);
    zip.extend_from_slice(&0u16.to_le_bytes()); // comment length
    std::fs::write(out, zip).map_err(|e| format!("{}: {e}", out.display()))
}

#[cfg(test)]
mod tests {
    use super::crc32;

    #[test]
    fn crc32_check_value() {
        // The standard check value of CRC-32/ISO-HDLC.
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }
}
