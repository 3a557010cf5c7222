//! The COM side: the notify object NetCfg creates through `DllGetClassObject`, translating each
//! NetCfg call into [`crate::miniports`] decisions.
//!
//! Interfaces (netcfgn.h): `INetCfgComponentControl`, `INetCfgComponentSetup`,
//! `INetCfgComponentNotifyBinding`, `INetCfgComponentNotifyGlobal`. No
//! `INetCfgComponentPropertyUi`: there are no properties to show; NetCfg asks for it with
//! `QueryInterface` and treats `E_NOINTERFACE` as "no property pages" (docs/windows.md §4).

mod exports;
mod netcfg;
mod object;
pub(crate) mod runtime;
mod sys;

use alloc::vec::Vec;
use core::cell::RefCell;

use windows::Win32::NetworkManagement::NetManagement::{
    IEnumNetCfgBindingPath, INetCfg, INetCfgBindingPath, INetCfgComponent,
    INetCfgComponentBindings, INetCfgPnpReconfigCallback, NCN_ADD, NCN_BINDING_PATH, NCN_DISABLE,
    NCN_ENABLE, NCN_NET, NCN_NETTRANS, NCN_REMOVE, NCRL_NDIS, NETCFG_S_DISABLE_QUERY,
    NETCFG_S_REBOOT,
};
use windows_core::{Error, HRESULT, Interface, PCWSTR, Result};

use self::netcfg::{AdaptersKey, Session, check, is_enabled, lower_of, next_one};
use self::runtime::log;
use crate::miniports::{Hr, Lower, Miniports};

/// `E_UNEXPECTED`: a call before `Initialize`.
const E_UNEXPECTED: HRESULT = HRESULT(0x8000_FFFF_u32 as i32);
/// `EBP_BELOW`: binding paths that start at the component.
const EBP_BELOW: u32 = 2;

struct State {
    netcfg: INetCfg,
    protocol: INetCfgComponent,
    miniports: Miniports,
}

/// The notify object's behaviour; `object.rs` gives it its COM identity and vtables.
pub struct NotifyObject {
    state: RefCell<Option<State>>,
}

impl NotifyObject {
    pub fn new() -> Self {
        Self {
            state: RefCell::new(None),
        }
    }

    /// Runs `f` with the session and the decisions; `E_UNEXPECTED` before `Initialize`.
    fn with<T>(
        &self,
        f: impl FnOnce(&mut Session<'_>, &mut Miniports) -> core::result::Result<T, Hr>,
    ) -> Result<T> {
        // NetCfg may call back into the notify object from inside a call the object makes (for
        // instance about the binding paths of a miniport being installed). Such calls never reach
        // here for our own miniports (the callers classify first); anything else is refused
        // rather than allowed to touch the state that the outer call is changing.
        let Ok(mut state) = self.state.try_borrow_mut() else {
            log!("re-entrant call refused: {:#010x}", E_UNEXPECTED.0 as u32);
            return Err(Error::from_hresult(E_UNEXPECTED));
        };
        let state = state
            .as_mut()
            .ok_or_else(|| Error::from_hresult(E_UNEXPECTED))?;
        let mut session = Session {
            netcfg: &state.netcfg,
            protocol: &state.protocol,
        };
        f(&mut session, &mut state.miniports).map_err(|hr| Error::from_hresult(HRESULT(hr)))
    }

    /// Adapters at the lower end of the protocol's enabled binding paths.
    fn bound_adapters(session: &Session<'_>) -> core::result::Result<Vec<crate::guid::Guid>, Hr> {
        let bindings: INetCfgComponentBindings = check(
            "QueryInterface(INetCfgComponentBindings)",
            session.protocol.cast(),
        )?;
        let mut paths: Option<IEnumNetCfgBindingPath> = None;
        // SAFETY: valid out-pointer.
        let result = unsafe { bindings.EnumBindingPaths(EBP_BELOW, Some(&raw mut paths)) };
        check("INetCfgComponentBindings::EnumBindingPaths", result)?;
        let paths = paths.ok_or(E_UNEXPECTED.0)?;
        let mut adapters = Vec::new();
        loop {
            let next = next_one("IEnumNetCfgBindingPath::Next", |one, fetched| {
                // SAFETY: next_one passes one slot and a valid fetched count out-pointer.
                unsafe { paths.Next(one, Some(fetched)) }
            });
            let Some(path) = next? else {
                return Ok(adapters);
            };
            if let Lower::Adapter(adapter) = lower_of(&path)?
                && is_enabled(&path)?
            {
                adapters.push(adapter);
            }
        }
    }
}

fn required<T>(arg: Option<&T>) -> Result<&T> {
    arg.ok_or_else(|| Error::from_hresult(windows_core::imp::E_POINTER))
}

/// `INetCfgComponentControl`.
impl NotifyObject {
    pub fn initialize(
        &self,
        component: Option<&INetCfgComponent>,
        netcfg: Option<&INetCfg>,
        installing: bool,
    ) -> Result<()> {
        let component = required(component)?.clone();
        let netcfg = required(netcfg)?.clone();
        let entries = netcfg::read_adapters().map_err(|hr| Error::from_hresult(HRESULT(hr)))?;
        let miniports = Miniports::from_registry(&entries);
        log!(
            "Initialize (installing {}): {} adapter(s) with a virtual miniport",
            installing,
            miniports.mapping().len()
        );
        *self.state.borrow_mut() = Some(State {
            netcfg,
            protocol: component,
            miniports,
        });
        Ok(())
    }

    pub fn apply_registry_changes(&self) -> Result<()> {
        self.with(|_, miniports| miniports.apply_registry(&mut AdaptersKey))
    }

    pub fn apply_pnp_changes(&self, callback: Option<&INetCfgPnpReconfigCallback>) -> Result<()> {
        let adapters = self.with(|_, miniports| Ok(miniports.take_reconfigure()))?;
        let Some(callback) = callback else {
            return Ok(());
        };
        let upper = sys::wide(crate::PROTOCOL_SERVICE);
        let mut reboot = false;
        for adapter in adapters {
            let lower = sys::wide(&adapter.braced());
            // SAFETY: NUL-terminated strings valid for the call; no data block.
            let result = unsafe {
                callback.SendPnpReconfig(
                    NCRL_NDIS,
                    PCWSTR(upper.as_ptr()),
                    PCWSTR(lower.as_ptr()),
                    core::ptr::null(),
                    0,
                )
            };
            reboot |= check("INetCfgPnpReconfigCallback::SendPnpReconfig", result).is_err();
        }
        if reboot {
            // The documented way to say that the change needs a restart to take effect.
            return Err(Error::from_hresult(NETCFG_S_REBOOT));
        }
        Ok(())
    }

    pub fn cancel_changes(&self) -> Result<()> {
        self.with(|_, miniports| {
            miniports.cancel();
            Ok(())
        })
    }
}

/// `INetCfgComponentSetup`.
impl NotifyObject {
    pub fn install(&self, _flags: u32) -> Result<()> {
        self.with(|session, miniports| {
            let adapters = NotifyObject::bound_adapters(session)?;
            log!("Install: {} bound adapter(s)", adapters.len());
            miniports.install(session, &adapters)
        })
    }

    pub fn upgrade(&self, _flags: u32, _from_build: u32) -> Result<()> {
        Ok(())
    }

    pub fn read_answer_file(&self) -> Result<()> {
        Ok(())
    }

    pub fn removing(&self) -> Result<()> {
        self.with(|session, miniports| {
            log!(
                "Removing: {} virtual miniport(s)",
                miniports.mapping().len()
            );
            miniports.uninstall(session)
        })
    }
}

/// `INetCfgComponentNotifyBinding`.
impl NotifyObject {
    pub fn query_binding_path(&self, path: Option<&INetCfgBindingPath>) -> Result<()> {
        let path = required(path)?;
        match lower_of(path).map_err(|hr| Error::from_hresult(HRESULT(hr)))? {
            // Our protocol above our own virtual miniport would be a loop: keep it disabled.
            Lower::OwnMiniport => Err(Error::from_hresult(NETCFG_S_DISABLE_QUERY)),
            _ => Ok(()),
        }
    }

    pub fn notify_binding_path(&self, flags: u32, path: Option<&INetCfgBindingPath>) -> Result<()> {
        let path = required(path)?;
        // Classified before the state is touched: paths to our own miniports come in while
        // NetCfg installs them, from inside `INetCfgClassSetup::Install`.
        let Lower::Adapter(adapter) =
            lower_of(path).map_err(|hr| Error::from_hresult(HRESULT(hr)))?
        else {
            return Ok(());
        };
        self.with(|session, miniports| {
            let flags = flags as i32;
            if flags & (NCN_REMOVE.0 | NCN_DISABLE.0) != 0 {
                log!("NotifyBindingPath {flags:#x}: remove {adapter}");
                miniports.remove(session, adapter)
            } else if flags & (NCN_ADD.0 | NCN_ENABLE.0) != 0 {
                log!("NotifyBindingPath {flags:#x}: add {adapter}");
                miniports.add(session, adapter)
            } else {
                Ok(())
            }
        })
    }
}

/// `INetCfgComponentNotifyGlobal`.
impl NotifyObject {
    pub fn supported_notifications(&self) -> Result<u32> {
        Ok((NCN_NET.0
            | NCN_NETTRANS.0
            | NCN_ADD.0
            | NCN_REMOVE.0
            | NCN_BINDING_PATH.0
            | NCN_ENABLE.0
            | NCN_DISABLE.0) as u32)
    }

    /// `SysQueryBindingPath` and `SysNotifyBindingPath` accept every path of other components.
    pub fn sys_binding_path(&self) -> Result<()> {
        Ok(())
    }

    pub fn sys_notify_component(
        &self,
        flags: u32,
        component: Option<&INetCfgComponent>,
    ) -> Result<()> {
        if flags as i32 & NCN_REMOVE.0 == 0 {
            return Ok(());
        }
        let component = required(component)?;
        // Classified before the state is touched: the removal of our own miniport is announced
        // from inside `INetCfgClassSetup::DeInstall`.
        let lower =
            netcfg::classify_component(component).map_err(|hr| Error::from_hresult(HRESULT(hr)))?;
        let Lower::Adapter(adapter) = lower else {
            return Ok(());
        };
        // An adapter going away takes its virtual miniport and key with it.
        self.with(|session, miniports| {
            log!("SysNotifyComponent: adapter {adapter} removed");
            miniports.remove(session, adapter)
        })
    }
}
