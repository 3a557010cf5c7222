//! The notify object's decisions, free of COM: which adapters get a virtual miniport, when to
//! create or de-install one, and what to write to or delete from the registry.
//!
//! The state is the mapping *physical adapter → virtual miniport* (instance GUIDs). What the
//! registry holds (`Parameters\Adapters\{adapter}\UpperBindings = \Device\{miniport}`) is the
//! *committed* mapping; changes made during a NetCfg session are *staged* on top of it and reach
//! the registry only in [`Miniports::apply_registry`], or vanish in [`Miniports::cancel`].
//!
//! NetCfg itself stages component installs and de-installs until its own `Apply`, and undoes
//! them when the session is cancelled; this module still undoes its own NetCfg calls when a
//! later step of the same operation fails, so that every operation either happens completely
//! or leaves the configuration as it found it (for a multi-adapter de-install that cannot be
//! undone call by call, an equivalent configuration: see [`Miniports::uninstall`]).
//!
//! The COM layer (`com/`, Windows only) implements [`NetCfg`] and [`Registry`] over the real
//! interfaces and only translates; the unit tests below implement them with fakes that fail on
//! demand.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use crate::guid::Guid;

/// An `HRESULT`, as returned by NetCfg or built from a Win32 registry error.
pub type Hr = i32;

/// `NCF_VIRTUAL` (netcfgx.h): the component is a virtual adapter.
pub const NCF_VIRTUAL: u32 = 0x1;

/// The NetCfg calls the decisions need (implemented over `INetCfgClassSetup` and
/// `INetCfgComponent` by the COM layer).
pub trait NetCfg {
    /// A network component (an `INetCfgComponent`).
    type Component;
    /// `INetCfgClassSetup::Install` of the virtual miniport's hardware ID.
    fn install_miniport(&mut self) -> Result<Self::Component, Hr>;
    /// `INetCfgComponent::GetInstanceGuid`.
    fn instance_guid(&mut self, component: &Self::Component) -> Result<Guid, Hr>;
    /// `INetCfgClassSetup::DeInstall`.
    fn deinstall(&mut self, component: &Self::Component) -> Result<(), Hr>;
    /// The installed virtual miniport whose instance GUID is `miniport`, `None` when there is
    /// none (it was removed behind the notify object's back).
    fn find_miniport(&mut self, miniport: Guid) -> Result<Option<Self::Component>, Hr>;
}

/// The registry writes (the `Parameters\Adapters` subtree of the protocol's service key).
pub trait Registry {
    /// Creates `Adapters\{adapter}` and sets `UpperBindings` = REG_MULTI_SZ
    /// `\Device\{miniport}`.
    fn write(&mut self, adapter: Guid, miniport: Guid) -> Result<(), Hr>;
    /// Deletes `Adapters\{adapter}` with its values; success when it does not exist.
    fn delete(&mut self, adapter: Guid) -> Result<(), Hr>;
}

/// What the lower end of one of the protocol's binding paths is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Lower {
    /// An adapter that gets a virtual miniport: Net class, not virtual, not ours.
    Adapter(Guid),
    /// One of this driver's own virtual miniports: the path would be a loop.
    OwnMiniport,
    /// Anything else (a virtual adapter of another driver, a non-Net component): left alone.
    Other,
}

/// Classifies the lower component of a binding path from what `INetCfgComponent` reports.
pub fn classify(
    hardware_id: &str,
    is_net_class: bool,
    characteristics: u32,
    instance: Guid,
) -> Lower {
    if hardware_id.eq_ignore_ascii_case(crate::MINIPORT_HARDWARE_ID) {
        Lower::OwnMiniport
    } else if is_net_class && characteristics & NCF_VIRTUAL == 0 {
        Lower::Adapter(instance)
    } else {
        Lower::Other
    }
}

/// The adapter → virtual miniport mapping, committed and staged.
#[derive(Clone, Debug, Default)]
pub struct Miniports {
    committed: BTreeMap<Guid, Guid>,
    staged: BTreeMap<Guid, Option<Guid>>,
    reconfigure: Vec<Guid>,
}

impl Miniports {
    /// Starts from what the registry holds: `(adapter key name, UpperBindings strings)` pairs.
    /// Keys that are not `{GUID}`s and values that are not one `\Device\{GUID}` are not ours
    /// and are ignored.
    pub fn from_registry<K: AsRef<str>, V: AsRef<str>>(entries: &[(K, Vec<V>)]) -> Self {
        let mut committed = BTreeMap::new();
        for (key, values) in entries {
            let adapter = Guid::parse_braced(key.as_ref());
            let miniport = match values.as_slice() {
                [one] => Guid::parse_device_name(one.as_ref()),
                _ => None,
            };
            if let (Some(adapter), Some(miniport)) = (adapter, miniport) {
                committed.insert(adapter, miniport);
            }
        }
        Self {
            committed,
            ..Self::default()
        }
    }

    /// The adapter's virtual miniport as this session sees it (staged over committed).
    pub fn miniport_of(&self, adapter: Guid) -> Option<Guid> {
        match self.staged.get(&adapter) {
            Some(staged) => *staged,
            None => self.committed.get(&adapter).copied(),
        }
    }

    /// Every (adapter, miniport) pair as this session sees it.
    pub fn mapping(&self) -> BTreeMap<Guid, Guid> {
        let mut map = self.committed.clone();
        for (adapter, miniport) in &self.staged {
            match miniport {
                Some(m) => map.insert(*adapter, *m),
                None => map.remove(adapter),
            };
        }
        map
    }

    /// What the registry holds according to the last successful apply.
    pub fn committed(&self) -> &BTreeMap<Guid, Guid> {
        &self.committed
    }

    /// Whether changes wait for `ApplyRegistryChanges`.
    pub fn has_staged(&self) -> bool {
        !self.staged.is_empty()
    }

    fn stage(&mut self, adapter: Guid, miniport: Option<Guid>) {
        if self.committed.get(&adapter).copied() == miniport {
            self.staged.remove(&adapter);
        } else {
            self.staged.insert(adapter, miniport);
        }
    }

    /// The protocol binds (or re-enables its binding) to `adapter`: make sure it has exactly one
    /// virtual miniport. Nothing happens when it has one already; a mapping whose miniport no
    /// longer exists is replaced.
    pub fn add<N: NetCfg>(&mut self, net: &mut N, adapter: Guid) -> Result<(), Hr> {
        if let Some(miniport) = self.miniport_of(adapter)
            && net.find_miniport(miniport)?.is_some()
        {
            return Ok(());
        }
        let component = net.install_miniport()?;
        let miniport = match net.instance_guid(&component) {
            Ok(guid) => guid,
            Err(hr) => {
                // Undo the install: no miniport without its registry entry. A failure here
                // is logged by the COM layer; NetCfg drops the install with the session.
                let _ = net.deinstall(&component);
                return Err(hr);
            }
        };
        self.stage(adapter, Some(miniport));
        Ok(())
    }

    /// The binding to `adapter` is removed or disabled, or the adapter goes away: de-install its
    /// virtual miniport and stage the deletion of its key. Nothing happens without a mapping.
    pub fn remove<N: NetCfg>(&mut self, net: &mut N, adapter: Guid) -> Result<(), Hr> {
        let Some(miniport) = self.miniport_of(adapter) else {
            return Ok(());
        };
        if let Some(component) = net.find_miniport(miniport)? {
            net.deinstall(&component)?;
        }
        self.stage(adapter, None);
        Ok(())
    }

    /// Protocol install: one miniport for each of `adapters` that lacks one. All or nothing:
    /// on a failure the miniports created by this call are de-installed again.
    pub fn install<N: NetCfg>(&mut self, net: &mut N, adapters: &[Guid]) -> Result<(), Hr> {
        let before = self.staged.clone();
        let mut created = Vec::new();
        for &adapter in adapters {
            let old = self.miniport_of(adapter);
            if let Err(hr) = self.add(net, adapter) {
                for &undo in created.iter().rev() {
                    let _ = self.remove(net, undo);
                }
                self.staged = before;
                return Err(hr);
            }
            if self.miniport_of(adapter) != old {
                created.push(adapter);
            }
        }
        Ok(())
    }

    /// Protocol uninstall: de-install every virtual miniport and stage the deletion of every key.
    ///
    /// All lookups happen before the first de-install, so a lookup failure changes nothing.
    /// A de-install that fails after others succeeded cannot be undone call by call (a
    /// de-installed component cannot be brought back); the adapters already stripped get a
    /// fresh miniport instead, so the configuration is equivalent to the one before: every
    /// adapter that had a miniport has exactly one, with its key staged to point at it.
    pub fn uninstall<N: NetCfg>(&mut self, net: &mut N) -> Result<(), Hr> {
        let before = self.staged.clone();
        let mut found = Vec::new();
        for (adapter, miniport) in self.mapping() {
            found.push((adapter, net.find_miniport(miniport)?));
        }
        for (i, (_, component)) in found.iter().enumerate() {
            let Some(component) = component else { continue };
            if let Err(hr) = net.deinstall(component) {
                self.staged = before;
                for (adapter, done) in &found[..i] {
                    if done.is_some() {
                        let _ = self.add(net, *adapter);
                    }
                }
                return Err(hr);
            }
        }
        for (adapter, _) in found {
            self.stage(adapter, None);
        }
        Ok(())
    }

    /// `ApplyRegistryChanges`: write the staged mapping. All or nothing: on a failure the keys
    /// already written or deleted are put back as committed and the error is returned.
    pub fn apply_registry<R: Registry>(&mut self, registry: &mut R) -> Result<(), Hr> {
        let changes: Vec<(Guid, Option<Guid>)> =
            self.staged.iter().map(|(a, m)| (*a, *m)).collect();
        for (i, &(adapter, miniport)) in changes.iter().enumerate() {
            let result = match miniport {
                Some(m) => registry.write(adapter, m),
                None => registry.delete(adapter),
            };
            if let Err(hr) = result {
                for &(undo, _) in changes[..i].iter().rev() {
                    let _ = match self.committed.get(&undo) {
                        Some(&m) => registry.write(undo, m),
                        None => registry.delete(undo),
                    };
                }
                return Err(hr);
            }
        }
        for &(adapter, miniport) in &changes {
            match miniport {
                Some(m) => self.committed.insert(adapter, m),
                None => self.committed.remove(&adapter),
            };
        }
        self.staged.clear();
        self.reconfigure = changes.into_iter().map(|(adapter, _)| adapter).collect();
        Ok(())
    }

    /// `CancelChanges`: forget everything staged.
    pub fn cancel(&mut self) {
        self.staged.clear();
        self.reconfigure.clear();
    }

    /// The adapters whose `UpperBindings` the last apply changed: `ApplyPnpChanges` asks NDIS
    /// to reconfigure the protocol's binding to each.
    pub fn take_reconfigure(&mut self) -> Vec<Guid> {
        core::mem::take(&mut self.reconfigure)
    }
}
