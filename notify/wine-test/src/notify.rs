//! The notify object under test, as the fake NetCfg holds it: its four interfaces, called
//! through their vtables so that success codes other than S_OK (NETCFG_S_*) stay visible.

use windows::Win32::NetworkManagement::NetManagement::*;
use windows::Win32::System::Com::IClassFactory;
use windows_core::{BOOL, HRESULT, IUnknown, Interface};

use crate::fakes;

/// The notify object's interfaces, called through their vtables so that success codes other
/// than S_OK (NETCFG_S_*) stay visible.
pub(crate) struct Notify {
    pub(crate) control: INetCfgComponentControl,
    pub(crate) setup: INetCfgComponentSetup,
    pub(crate) binding: INetCfgComponentNotifyBinding,
    pub(crate) global: INetCfgComponentNotifyGlobal,
}

impl Notify {
    pub(crate) fn new(factory: &IClassFactory) -> Result<Self, String> {
        // SAFETY: no aggregation; the factory returns an AddRef'd interface.
        let control: INetCfgComponentControl = unsafe { factory.CreateInstance(None::<&IUnknown>) }
            .map_err(|e| format!("CreateInstance: {e:?}"))?;
        Ok(Self {
            setup: control.cast().map_err(|e| format!("QI setup: {e:?}"))?,
            binding: control.cast().map_err(|e| format!("QI binding: {e:?}"))?,
            global: control.cast().map_err(|e| format!("QI global: {e:?}"))?,
            control,
        })
    }
    pub(crate) fn initialize(
        &self,
        protocol: &INetCfgComponent,
        netcfg: &INetCfg,
        installing: bool,
    ) -> HRESULT {
        // SAFETY: live interfaces.
        unsafe {
            (Interface::vtable(&self.control).Initialize)(
                self.control.as_raw(),
                protocol.as_raw(),
                netcfg.as_raw(),
                BOOL::from(installing),
            )
        }
    }
    /// What the fake class installer calls back into.
    pub(crate) fn reentry(&self, protocol: &INetCfgComponent) -> fakes::Reentry {
        fakes::Reentry {
            binding: self.binding.clone(),
            global: self.global.clone(),
            protocol: protocol.clone(),
        }
    }
    pub(crate) fn apply_registry(&self) -> HRESULT {
        // SAFETY: live interface.
        unsafe { (Interface::vtable(&self.control).ApplyRegistryChanges)(self.control.as_raw()) }
    }
    pub(crate) fn apply_pnp(&self, callback: &INetCfgPnpReconfigCallback) -> HRESULT {
        // SAFETY: live interfaces.
        unsafe {
            (Interface::vtable(&self.control).ApplyPnpChanges)(
                self.control.as_raw(),
                callback.as_raw(),
            )
        }
    }
    pub(crate) fn cancel(&self) -> HRESULT {
        // SAFETY: live interface.
        unsafe { (Interface::vtable(&self.control).CancelChanges)(self.control.as_raw()) }
    }
    pub(crate) fn install(&self) -> HRESULT {
        // SAFETY: live interface.
        unsafe { (Interface::vtable(&self.setup).Install)(self.setup.as_raw(), 0) }
    }
    pub(crate) fn removing(&self) -> HRESULT {
        // SAFETY: live interface.
        unsafe { (Interface::vtable(&self.setup).Removing)(self.setup.as_raw()) }
    }
    pub(crate) fn query_path(&self, flags: BIND_FLAGS1, path: &INetCfgBindingPath) -> HRESULT {
        // SAFETY: live interfaces.
        unsafe {
            (Interface::vtable(&self.binding).QueryBindingPath)(
                self.binding.as_raw(),
                flags.0 as u32,
                path.as_raw(),
            )
        }
    }
    pub(crate) fn notify_path(&self, flags: i32, path: &INetCfgBindingPath) -> HRESULT {
        // SAFETY: live interfaces.
        unsafe {
            (Interface::vtable(&self.binding).NotifyBindingPath)(
                self.binding.as_raw(),
                flags as u32,
                path.as_raw(),
            )
        }
    }
    pub(crate) fn sys_notify_component(&self, flags: i32, component: &INetCfgComponent) -> HRESULT {
        // SAFETY: live interfaces.
        unsafe {
            (Interface::vtable(&self.global).SysNotifyComponent)(
                self.global.as_raw(),
                flags as u32,
                component.as_raw(),
            )
        }
    }
}
