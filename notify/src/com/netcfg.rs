//! [`NetCfg`] and [`Registry`] over the real interfaces: each method is one NetCfg or registry
//! call (plus the lookups it needs), and every failure is logged with its HRESULT.

use alloc::string::String;
use alloc::vec::Vec;
use core::ffi::c_void;
use core::mem::ManuallyDrop;

use windows::Win32::NetworkManagement::NetManagement::{
    IEnumNetCfgComponent, INetCfg, INetCfgBindingPath, INetCfgClassSetup, INetCfgComponent,
    OBO_COMPONENT, OBO_TOKEN,
};
use windows::Win32::System::Com::IMalloc;
use windows_core::{GUID, HRESULT, Interface, PCWSTR, PWSTR};

use super::runtime::log;
use super::sys;
use crate::guid::Guid;
use crate::miniports::{Hr, Lower, NetCfg, Registry, classify};

/// `GUID_DEVCLASS_NET` (devguid.h): the Net setup class.
pub const GUID_DEVCLASS_NET: GUID = GUID::from_u128(0x4d36e972_e325_11ce_bfc1_08002be10318);

/// Logs a failed call and passes its HRESULT on.
pub fn check<T>(what: &str, result: windows_core::Result<T>) -> Result<T, Hr> {
    result.map_err(|e| {
        let hr = e.code().0;
        log!("{what} failed: {:#010x}", hr as u32);
        hr
    })
}

/// One element from a NetCfg enumerator: `next` calls its `Next` with one slot and the fetched
/// count; `None` at the end (S_FALSE, nothing fetched).
pub fn next_one<T>(
    what: &str,
    next: impl FnOnce(&mut [Option<T>], *mut u32) -> windows_core::Result<()>,
) -> Result<Option<T>, Hr> {
    let mut one = [None];
    let mut fetched = 0u32;
    check(what, next(&mut one, &raw mut fetched))?;
    Ok(one[0].take().filter(|_| fetched == 1))
}

/// The NetCfg session the notify object was initialized with.
pub struct Session<'a> {
    pub netcfg: &'a INetCfg,
    /// The protocol component: the miniports are installed on its behalf.
    pub protocol: &'a INetCfgComponent,
}

impl Session<'_> {
    fn class_setup(&self) -> Result<INetCfgClassSetup, Hr> {
        let mut raw: *mut c_void = core::ptr::null_mut();
        // SAFETY: valid GUID pointers and out-pointer; on success `raw` holds one reference to
        // an INetCfgClassSetup, which from_raw takes over.
        let result = unsafe {
            self.netcfg.QueryNetCfgClass(
                &GUID_DEVCLASS_NET,
                &INetCfgClassSetup::IID,
                Some(&raw mut raw),
            )
        };
        check("INetCfg::QueryNetCfgClass(GUID_DEVCLASS_NET)", result)?;
        if raw.is_null() {
            return Err(windows_core::imp::E_POINTER.0);
        }
        // SAFETY: see above: a non-null INetCfgClassSetup reference we own.
        Ok(unsafe { INetCfgClassSetup::from_raw(raw) })
    }

    fn obo(&self) -> OBO_TOKEN {
        OBO_TOKEN {
            Type: OBO_COMPONENT,
            pncc: ManuallyDrop::new(Some(self.protocol.clone())),
            pszwManufacturer: PCWSTR::null(),
            pszwProduct: PCWSTR::null(),
            pszwDisplayName: PCWSTR::null(),
            fRegistered: false.into(),
        }
    }
}

impl NetCfg for Session<'_> {
    type Component = INetCfgComponent;

    fn install_miniport(&mut self) -> Result<INetCfgComponent, Hr> {
        let setup = self.class_setup()?;
        let id = sys::wide(crate::MINIPORT_HARDWARE_ID);
        let mut obo = self.obo();
        let mut component = None;
        // SAFETY: `id` is NUL-terminated, `obo` and `component` are valid for the call.
        let result = unsafe {
            setup.Install(
                PCWSTR(id.as_ptr()),
                Some(&raw const obo),
                Some(0),
                Some(0),
                PCWSTR::null(),
                PCWSTR::null(),
                Some(&raw mut component),
            )
        };
        // SAFETY: the token's component reference is ours and dropped once.
        unsafe { ManuallyDrop::drop(&mut obo.pncc) };
        check("INetCfgClassSetup::Install(chimneyim_mp)", result)?;
        component.ok_or(windows_core::imp::E_POINTER.0)
    }

    fn instance_guid(&mut self, component: &INetCfgComponent) -> Result<Guid, Hr> {
        instance_guid(component)
    }

    fn deinstall(&mut self, component: &INetCfgComponent) -> Result<(), Hr> {
        let setup = self.class_setup()?;
        let mut obo = self.obo();
        // SAFETY: `component` and `obo` are valid for the call; no references list wanted.
        let result = unsafe { setup.DeInstall(component, Some(&raw const obo), None) };
        // SAFETY: the token's component reference is ours and dropped once.
        unsafe { ManuallyDrop::drop(&mut obo.pncc) };
        check("INetCfgClassSetup::DeInstall", result)
    }

    fn find_miniport(&mut self, miniport: Guid) -> Result<Option<INetCfgComponent>, Hr> {
        let mut components: Option<IEnumNetCfgComponent> = None;
        // SAFETY: valid GUID and out-pointer.
        let result = unsafe {
            self.netcfg
                .EnumComponents(&GUID_DEVCLASS_NET, Some(&raw mut components))
        };
        check("INetCfg::EnumComponents(GUID_DEVCLASS_NET)", result)?;
        let components = components.ok_or(windows_core::imp::E_POINTER.0)?;
        loop {
            let next = next_one("IEnumNetCfgComponent::Next", |one, fetched| {
                // SAFETY: next_one passes one slot and a valid fetched count out-pointer.
                unsafe { components.Next(one, Some(fetched)) }
            });
            let Some(component) = next? else {
                return Ok(None);
            };
            if instance_guid(&component)? == miniport {
                return Ok(Some(component));
            }
        }
    }
}

pub fn instance_guid(component: &INetCfgComponent) -> Result<Guid, Hr> {
    let mut guid = GUID::zeroed();
    // SAFETY: valid out-pointer.
    let result = unsafe { component.GetInstanceGuid(Some(&raw mut guid)) };
    check("INetCfgComponent::GetInstanceGuid", result)?;
    Ok(Guid(guid.to_u128()))
}

/// A CoTaskMem string from NetCfg, copied and freed.
fn take_string(ptr: PWSTR) -> String {
    if ptr.is_null() {
        return String::new();
    }
    let mut len = 0;
    // SAFETY: NetCfg returned a NUL-terminated string: every unit up to the NUL is readable.
    while unsafe { *ptr.0.wrapping_add(len) } != 0 {
        len += 1;
    }
    // SAFETY: `len` units before the NUL, read above. (Counted here rather than with
    // `PWSTR::as_wide`, which would import `wcslen` from a C runtime this DLL does not link.)
    let text = String::from_utf16_lossy(unsafe { core::slice::from_raw_parts(ptr.0, len) });
    let mut malloc: *mut c_void = core::ptr::null_mut();
    // SAFETY: MEMCTX_TASK (1) and a valid out-pointer.
    if unsafe { sys::CoGetMalloc(1, &raw mut malloc) } >= 0 && !malloc.is_null() {
        // SAFETY: CoGetMalloc returned one IMalloc reference, which from_raw takes over.
        let malloc = unsafe { IMalloc::from_raw(malloc) };
        // SAFETY: the string was allocated by the task allocator and is freed once.
        unsafe { malloc.Free(Some(ptr.0.cast_const().cast())) };
    }
    text
}

/// What the lower end of `path` (a path of the protocol: protocol → adapter) is.
pub fn lower_of(path: &INetCfgBindingPath) -> Result<Lower, Hr> {
    let mut interfaces = None;
    // SAFETY: valid out-pointer.
    let result = unsafe { path.EnumBindingInterfaces(Some(&raw mut interfaces)) };
    check("INetCfgBindingPath::EnumBindingInterfaces", result)?;
    let interfaces: windows::Win32::NetworkManagement::NetManagement::IEnumNetCfgBindingInterface =
        interfaces.ok_or(windows_core::imp::E_POINTER.0)?;
    let mut last = None;
    loop {
        let mut one = [None];
        let mut fetched = 0u32;
        // SAFETY: one slot, fetched count out-pointer valid.
        let result = unsafe { interfaces.Next(&mut one, Some(&raw mut fetched)) };
        check("IEnumNetCfgBindingInterface::Next", result)?;
        match one[0].take().filter(|_| fetched == 1) {
            Some(interface) => last = Some(interface),
            None => break,
        }
    }
    let Some(interface) = last else {
        return Ok(Lower::Other);
    };
    let mut lower = None;
    // SAFETY: valid out-pointer.
    let result = unsafe { interface.GetLowerComponent(Some(&raw mut lower)) };
    check("INetCfgBindingInterface::GetLowerComponent", result)?;
    let lower: INetCfgComponent = lower.ok_or(windows_core::imp::E_POINTER.0)?;
    classify_component(&lower)
}

/// Classifies one component (see [`classify`]).
pub fn classify_component(component: &INetCfgComponent) -> Result<Lower, Hr> {
    let mut id = PWSTR::null();
    // SAFETY: valid out-pointer; the string is freed by take_string.
    let result = unsafe { component.GetId(Some(&raw mut id)) };
    check("INetCfgComponent::GetId", result)?;
    let id = take_string(id);
    let mut class = GUID::zeroed();
    // SAFETY: valid out-pointer.
    let result = unsafe { component.GetClassGuid(Some(&raw mut class)) };
    check("INetCfgComponent::GetClassGuid", result)?;
    // SAFETY: no arguments.
    let characteristics = check("INetCfgComponent::GetCharacteristics", unsafe {
        component.GetCharacteristics()
    })?;
    // The instance GUID only matters for an adapter (and is not asked of our own miniports,
    // which NetCfg may present while it is still installing them).
    let is_net = class == GUID_DEVCLASS_NET;
    let probe = classify(&id, is_net, characteristics, Guid(0));
    if probe == Lower::Adapter(Guid(0)) {
        return Ok(Lower::Adapter(instance_guid(component)?));
    }
    Ok(probe)
}

/// `INetCfgBindingPath::IsEnabled`: S_OK enabled, S_FALSE disabled (the wrapper would fold
/// both into `Ok`).
pub fn is_enabled(path: &INetCfgBindingPath) -> Result<bool, Hr> {
    // SAFETY: a valid interface pointer and its own vtable.
    let hr: HRESULT = unsafe { (Interface::vtable(path).IsEnabled)(path.as_raw()) };
    if hr.is_err() {
        log!(
            "INetCfgBindingPath::IsEnabled failed: {:#010x}",
            hr.0 as u32
        );
        return Err(hr.0);
    }
    Ok(hr.0 == 0)
}

/// The registry under `HKLM\<ADAPTERS_KEY>`.
pub struct AdaptersKey;

fn adapter_path(adapter: Guid) -> Vec<u16> {
    sys::wide(&alloc::format!("{}\\{adapter}", crate::ADAPTERS_KEY))
}

fn win32(what: &str, error: u32) -> Result<(), Hr> {
    if error == sys::ERROR_SUCCESS {
        return Ok(());
    }
    let hr = sys::hresult_from_win32(error);
    log!("{what} failed: {:#010x}", hr as u32);
    Err(hr)
}

impl Registry for AdaptersKey {
    fn write(&mut self, adapter: Guid, miniport: Guid) -> Result<(), Hr> {
        let path = adapter_path(adapter);
        let mut key: sys::Hkey = core::ptr::null_mut();
        // SAFETY: NUL-terminated path, valid out-pointer; no class or security descriptor.
        let error = unsafe {
            sys::RegCreateKeyExW(
                sys::HKEY_LOCAL_MACHINE,
                path.as_ptr(),
                0,
                core::ptr::null(),
                0,
                sys::KEY_SET_VALUE,
                core::ptr::null(),
                &raw mut key,
                core::ptr::null_mut(),
            )
        };
        win32("RegCreateKeyExW(Adapters\\{adapter})", error)?;
        // REG_MULTI_SZ: one string, its NUL, and the list's closing NUL.
        let mut value = sys::wide(&miniport.device_name());
        value.push(0);
        let name = sys::wide(crate::UPPER_BINDINGS);
        let bytes: Vec<u8> = value.iter().flat_map(|c| c.to_le_bytes()).collect();
        // SAFETY: open key, NUL-terminated name, `bytes` valid for its length.
        let error = unsafe {
            sys::RegSetValueExW(
                key,
                name.as_ptr(),
                0,
                sys::REG_MULTI_SZ,
                bytes.as_ptr(),
                bytes.len() as u32,
            )
        };
        // SAFETY: closes the key opened above, once.
        unsafe { sys::RegCloseKey(key) };
        if let Err(hr) = win32("RegSetValueExW(UpperBindings)", error) {
            // The key alone would be an orphan: remove it again.
            // SAFETY: NUL-terminated path.
            unsafe { sys::RegDeleteKeyW(sys::HKEY_LOCAL_MACHINE, path.as_ptr()) };
            return Err(hr);
        }
        Ok(())
    }

    fn delete(&mut self, adapter: Guid) -> Result<(), Hr> {
        let path = adapter_path(adapter);
        // SAFETY: NUL-terminated path.
        let error = unsafe { sys::RegDeleteKeyW(sys::HKEY_LOCAL_MACHINE, path.as_ptr()) };
        if error == sys::ERROR_FILE_NOT_FOUND {
            return Ok(());
        }
        win32("RegDeleteKeyW(Adapters\\{adapter})", error)
    }
}

/// Every `Adapters\<name>` subkey with the strings of its `UpperBindings` (missing key: none).
pub fn read_adapters() -> Result<Vec<(String, Vec<String>)>, Hr> {
    let root_path = sys::wide(crate::ADAPTERS_KEY);
    let mut root: sys::Hkey = core::ptr::null_mut();
    // SAFETY: NUL-terminated path, valid out-pointer.
    let error = unsafe {
        sys::RegOpenKeyExW(
            sys::HKEY_LOCAL_MACHINE,
            root_path.as_ptr(),
            0,
            sys::KEY_READ,
            &raw mut root,
        )
    };
    if error == sys::ERROR_FILE_NOT_FOUND {
        return Ok(Vec::new());
    }
    win32("RegOpenKeyExW(Adapters)", error)?;
    let mut entries = Vec::new();
    let mut result = Ok(());
    for index in 0.. {
        let mut name = [0u16; 256];
        let mut len = name.len() as u32;
        // SAFETY: open key, buffer and length valid; other out-pointers unused.
        let error = unsafe {
            sys::RegEnumKeyExW(
                root,
                index,
                name.as_mut_ptr(),
                &raw mut len,
                core::ptr::null_mut(),
                core::ptr::null_mut(),
                core::ptr::null_mut(),
                core::ptr::null_mut(),
            )
        };
        if error == sys::ERROR_NO_MORE_ITEMS {
            break;
        }
        if error == sys::ERROR_MORE_DATA {
            continue; // a name longer than any GUID: not ours
        }
        if let Err(hr) = win32("RegEnumKeyExW(Adapters)", error) {
            result = Err(hr);
            break;
        }
        let name = String::from_utf16_lossy(&name[..len as usize]);
        let values = read_upper_bindings(root, &name);
        entries.push((name, values));
    }
    // SAFETY: closes the key opened above, once.
    unsafe { sys::RegCloseKey(root) };
    result.map(|()| entries)
}

/// The strings of `<root>\<name>\UpperBindings` (REG_MULTI_SZ or REG_SZ); empty when unreadable.
fn read_upper_bindings(root: sys::Hkey, name: &str) -> Vec<String> {
    let sub = sys::wide(name);
    let mut key: sys::Hkey = core::ptr::null_mut();
    // SAFETY: open root key, NUL-terminated subkey name, valid out-pointer.
    let error = unsafe { sys::RegOpenKeyExW(root, sub.as_ptr(), 0, sys::KEY_READ, &raw mut key) };
    if error != sys::ERROR_SUCCESS {
        return Vec::new();
    }
    let value_name = sys::wide(crate::UPPER_BINDINGS);
    let mut data = [0u16; 512];
    let mut size = (data.len() * 2) as u32;
    let mut kind = 0u32;
    // SAFETY: open key, NUL-terminated name, buffer valid for `size` bytes.
    let error = unsafe {
        sys::RegQueryValueExW(
            key,
            value_name.as_ptr(),
            core::ptr::null_mut(),
            &raw mut kind,
            data.as_mut_ptr().cast(),
            &raw mut size,
        )
    };
    // SAFETY: closes the key opened above, once.
    unsafe { sys::RegCloseKey(key) };
    if error != sys::ERROR_SUCCESS || !matches!(kind, sys::REG_MULTI_SZ | sys::REG_SZ) {
        return Vec::new();
    }
    data[..(size as usize / 2).min(data.len())]
        .split(|&c| c == 0)
        .filter(|s| !s.is_empty())
        .map(String::from_utf16_lossy)
        .collect()
}
