//! Stamping an INX for the lab flavour: what stampinf does for the KMDF package (DriverVer,
//! `$ARCH$`), minus everything KMDF. The lab image has no WDF (it enters at DriverEntry and never
//! calls the framework), so a `KmdfService` directive would make Windows bind a framework the
//! driver does not use; on 2008 R2 (KMDF 1.9 in-box) `KmdfLibraryVersion = 1.25` could not even be
//! satisfied. The rest of the INX is kept line for line (CatalogFile included, for an `inf2cat`
//! run on Windows; see docs/lab-guide.md).

/// Architecture decoration stampinf's `-a amd64` writes.
pub const ARCH: &str = "amd64";

/// A calendar date (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Date {
    pub year: i64,
    pub month: u32,
    pub day: u32,
}

/// The build date: `$SOURCE_DATE_EPOCH` when set (reproducible builds), else now; UTC.
pub fn build_date() -> Result<Date, String> {
    let seconds = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) => v
            .trim()
            .parse::<i64>()
            .map_err(|e| format!("SOURCE_DATE_EPOCH={v:?}: {e}"))?,
        Err(_) => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_err(|e| e.to_string())?;
            i64::try_from(now.as_secs()).map_err(|e| e.to_string())?
        }
    };
    Ok(date_from_days(seconds.div_euclid(86_400)))
}

/// Days since 1970-01-01 to a civil date (Howard Hinnant's `civil_from_days`).
pub fn date_from_days(days: i64) -> Date {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    Date {
        year,
        month: u32::try_from(month).unwrap_or(1),
        day: u32::try_from(day).unwrap_or(1),
    }
}

/// `DriverVer` value: `mm/dd/yyyy,major.minor.patch.0` from a `major.minor.patch[-pre]` version.
pub fn driver_ver(version: &str, date: Date) -> Result<String, String> {
    let core = version.split(['-', '+']).next().unwrap_or(version);
    let parts: Vec<u16> = core
        .split('.')
        .map(|p| {
            p.parse::<u16>()
                .map_err(|e| format!("version {version:?}: {e}"))
        })
        .collect::<Result<_, _>>()?;
    if parts.len() != 3 {
        return Err(format!("version {version:?} is not major.minor.patch"));
    }
    Ok(format!(
        "{:02}/{:02}/{:04},{}.{}.{}.0",
        date.month, date.day, date.year, parts[0], parts[1], parts[2]
    ))
}

fn section_name(line: &str) -> Option<&str> {
    let t = line.trim();
    t.strip_prefix('[')?
        .split_once(']')
        .map(|(name, _)| name.trim())
}

fn is_comment_or_blank(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with(';')
}

fn key_of(line: &str) -> Option<String> {
    let code = line.split(';').next()?;
    let (key, _) = code.split_once('=')?;
    Some(key.trim().to_ascii_lowercase())
}

/// The lab INF for one INX: ASCII, CRLF, no `$…$` left, no KMDF sections or directives.
pub fn stamp_lab(inx: &str, version: &str, date: Date) -> Result<String, String> {
    let driver_ver = driver_ver(version, date)?;
    // Sections that KmdfService directives point at (the `[…_wdfsect]` with KmdfLibraryVersion).
    let mut dropped: Vec<String> = Vec::new();
    for line in inx.lines() {
        if key_of(line).as_deref() == Some("kmdfservice") {
            let value = line.split(';').next().unwrap_or("");
            let value = value.split_once('=').map_or("", |(_, v)| v);
            if let Some(section) = value.split(',').nth(1) {
                dropped.push(section.trim().to_ascii_lowercase());
            }
        }
    }
    let drop_section = |name: &str| {
        let lower = name.to_ascii_lowercase();
        lower.ends_with(".wdf") || dropped.contains(&lower)
    };

    let mut out: Vec<String> = vec![
        "; Lab flavour (chimney-lab package), stamped by `cargo xtask package`:".into(),
        format!(
            "; DriverVer {driver_ver}, architecture {ARCH}, no KMDF sections (the lab image has no WDF)."
        ),
    ];
    // Comment and blank lines wait here until the next section header shows whether they
    // introduce a dropped section (the `; KMDF …` banner) or a kept one.
    let mut pending: Vec<String> = Vec::new();
    let mut skipping = false;
    for line in inx.lines() {
        if let Some(name) = section_name(line) {
            skipping = drop_section(name);
            if !skipping {
                out.append(&mut pending);
            }
            pending.clear();
            if !skipping {
                out.push(line.replace("$ARCH$", ARCH));
            }
            continue;
        }
        if is_comment_or_blank(line) {
            pending.push(line.to_string());
            continue;
        }
        if skipping {
            // A line of a dropped section; comments before it were the section's own.
            pending.clear();
            continue;
        }
        out.append(&mut pending);
        if key_of(line).as_deref() == Some("driverver") {
            out.push(format!("DriverVer   = {driver_ver}"));
        } else {
            out.push(line.replace("$ARCH$", ARCH));
        }
    }
    out.append(&mut pending);

    let text = out.join("\r\n") + "\r\n";
    if !text.is_ascii() {
        return Err("not pure ASCII".into());
    }
    for (n, line) in text.lines().enumerate() {
        let code = line.split(';').next().unwrap_or("");
        let lower = code.to_ascii_lowercase();
        if code.contains('$') && !lower.contains("$windows nt$") {
            return Err(format!("line {}: unstamped placeholder in {line:?}", n + 1));
        }
        if lower.contains("kmdf") {
            return Err(format!("line {}: KMDF directive left: {line:?}", n + 1));
        }
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(
            date_from_days(0),
            Date {
                year: 1970,
                month: 1,
                day: 1
            }
        );
        // 2026-11-30 is day 20_787.
        assert_eq!(
            date_from_days(20_787),
            Date {
                year: 2026,
                month: 11,
                day: 30
            }
        );
        assert_eq!(
            date_from_days(11_016),
            Date {
                year: 2000,
                month: 2,
                day: 29
            }
        );
    }

    #[test]
    fn driver_ver_format() {
        let date = date_from_days(20_787);
        assert_eq!(driver_ver("0.1.0", date).unwrap(), "11/30/2026,0.1.0.0");
        assert_eq!(driver_ver("1.2.3-rc1", date).unwrap(), "11/30/2026,1.2.3.0");
        assert!(driver_ver("1.2", date).is_err());
    }

    #[test]
    fn strips_wdf_and_stamps() {
        let inx = "[Version]\nSignature = \"$WINDOWS NT$\"\nDriverVer = ; stampinf\n\
                   [Manufacturer]\n%M% = Standard, NT$ARCH$\n[Standard.NT$ARCH$]\n%D% = A.ndi, id\n\
                   [A.ndi]\nCopyFiles = A.Copy\n\n; KMDF banner\n[A.ndi.Wdf]\n\
                   KmdfService = Svc, W_sect\n[W_sect]\nKmdfLibraryVersion = $KMDFVERSION$\n\n\
                   ; Files\n[A.Copy]\nx.sys\n[Strings]\nM = \"m\"\nD = \"d\"\n";
        let out = stamp_lab(inx, "0.1.0", date_from_days(20_787)).unwrap();
        assert!(out.contains("DriverVer   = 11/30/2026,0.1.0.0\r\n"));
        assert!(out.contains("[Standard.NTamd64]\r\n"));
        assert!(out.contains("%M% = Standard, NTamd64\r\n"));
        assert!(!out.contains("KmdfService") && !out.contains("KmdfLibraryVersion"));
        assert!(!out.contains("[A.ndi.Wdf]") && !out.contains("[W_sect]"));
        assert!(!out.contains("KMDF banner"));
        assert!(out.contains("; Files\r\n[A.Copy]\r\nx.sys\r\n"));
        assert!(out.contains("CopyFiles = A.Copy"));
    }

    #[test]
    fn refuses_unknown_placeholders() {
        let inx = "[Version]\nDriverVer = x\nFoo = $BAR$\n";
        assert!(stamp_lab(inx, "0.1.0", date_from_days(0)).is_err());
    }
}
