//! Reads Wine's registry the way the driver would see it: the `Adapters` subkeys of the
//! protocol's service key and their `UpperBindings` values.

use std::collections::BTreeMap;

use windows::Win32::Foundation::{ERROR_FILE_NOT_FOUND, ERROR_SUCCESS};
use windows::Win32::System::Registry::{
    HKEY, HKEY_LOCAL_MACHINE, KEY_READ, KEY_WRITE, REG_MULTI_SZ, REG_OPTION_NON_VOLATILE,
    REG_VALUE_TYPE, RegCloseKey, RegCreateKeyExW, RegDeleteKeyW, RegDeleteTreeW, RegEnumKeyExW,
    RegOpenKeyExW, RegQueryValueExW,
};
use windows_core::{HSTRING, PWSTR};

pub const ADAPTERS: &str = "SYSTEM\\CurrentControlSet\\Services\\ChimneyImP\\Parameters\\Adapters";

/// Removes the `Adapters` subtree left by an earlier run.
pub fn clear() {
    // SAFETY: a valid root key and path.
    let _ = unsafe { RegDeleteTreeW(HKEY_LOCAL_MACHINE, &HSTRING::from(ADAPTERS)) };
}

/// Creates `Adapters\<path>` (a key the notify object does not own).
pub fn create_subkey(path: &str) -> Result<(), String> {
    let mut key = HKEY::default();
    let full = HSTRING::from(format!("{ADAPTERS}\\{path}"));
    // SAFETY: valid path and out-pointer; default class and security.
    let error = unsafe {
        RegCreateKeyExW(
            HKEY_LOCAL_MACHINE,
            &full,
            None,
            None,
            REG_OPTION_NON_VOLATILE,
            KEY_WRITE,
            None,
            &mut key,
            None,
        )
    };
    if error != ERROR_SUCCESS {
        return Err(format!("RegCreateKeyExW({path}): {error:?}"));
    }
    // SAFETY: closes the key just created.
    let _ = unsafe { RegCloseKey(key) };
    Ok(())
}

/// Deletes `Adapters\<path>` (no subkeys).
pub fn delete_subkey(path: &str) -> Result<(), String> {
    let full = HSTRING::from(format!("{ADAPTERS}\\{path}"));
    // SAFETY: valid root key and path.
    let error = unsafe { RegDeleteKeyW(HKEY_LOCAL_MACHINE, &full) };
    if error != ERROR_SUCCESS {
        return Err(format!("RegDeleteKeyW({path}): {error:?}"));
    }
    Ok(())
}

/// One `UpperBindings` value: its registry type and its strings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Value {
    pub kind: u32,
    pub strings: Vec<String>,
}

/// Every `Adapters\<key>` with its `UpperBindings` (None when the value is missing).
pub fn adapters() -> Result<BTreeMap<String, Option<Value>>, String> {
    let mut root = HKEY::default();
    // SAFETY: valid path and out-pointer.
    let error = unsafe {
        RegOpenKeyExW(
            HKEY_LOCAL_MACHINE,
            &HSTRING::from(ADAPTERS),
            None,
            KEY_READ,
            &mut root,
        )
    };
    if error == ERROR_FILE_NOT_FOUND {
        return Ok(BTreeMap::new());
    }
    if error != ERROR_SUCCESS {
        return Err(format!("RegOpenKeyExW(Adapters): {error:?}"));
    }
    let mut map = BTreeMap::new();
    for index in 0.. {
        let mut name = [0u16; 256];
        let mut len = name.len() as u32;
        // SAFETY: open key, buffer and length valid.
        let error = unsafe {
            RegEnumKeyExW(
                root,
                index,
                Some(PWSTR(name.as_mut_ptr())),
                &mut len,
                None,
                None,
                None,
                None,
            )
        };
        if error != ERROR_SUCCESS {
            break;
        }
        let name = String::from_utf16_lossy(&name[..len as usize]);
        map.insert(name.clone(), upper_bindings(root, &name));
    }
    // SAFETY: closes the key opened above.
    let _ = unsafe { RegCloseKey(root) };
    Ok(map)
}

fn upper_bindings(root: HKEY, name: &str) -> Option<Value> {
    let mut key = HKEY::default();
    // SAFETY: open root, valid name and out-pointer.
    if unsafe { RegOpenKeyExW(root, &HSTRING::from(name), None, KEY_READ, &mut key) }
        != ERROR_SUCCESS
    {
        return None;
    }
    let mut data = [0u8; 1024];
    let mut size = data.len() as u32;
    let mut kind = REG_VALUE_TYPE::default();
    // SAFETY: open key, buffer valid for `size` bytes.
    let error = unsafe {
        RegQueryValueExW(
            key,
            &HSTRING::from("UpperBindings"),
            None,
            Some(&mut kind),
            Some(data.as_mut_ptr()),
            Some(&mut size),
        )
    };
    // SAFETY: closes the key opened above.
    let _ = unsafe { RegCloseKey(key) };
    if error != ERROR_SUCCESS {
        return None;
    }
    let units: Vec<u16> = data[..size as usize]
        .chunks_exact(2)
        .map(|b| u16::from_le_bytes([b[0], b[1]]))
        .collect();
    // A REG_MULTI_SZ is strings, each NUL-terminated, and one more NUL: split keeps the
    // structure visible (a trailing empty string for the list's terminator).
    let strings = if kind == REG_MULTI_SZ {
        let mut parts: Vec<String> = units
            .split(|&u| u == 0)
            .map(String::from_utf16_lossy)
            .collect();
        if units.ends_with(&[0, 0]) {
            parts.truncate(parts.len() - 2);
        } else {
            parts.push("<not terminated by two NULs>".into());
        }
        parts
    } else {
        vec![String::from_utf16_lossy(&units)]
    };
    Some(Value {
        kind: kind.0,
        strings,
    })
}
