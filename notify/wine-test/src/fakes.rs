//! Fake NetCfg objects: enough of `INetCfg`, `INetCfgComponent`, `INetCfgComponentBindings`,
//! `INetCfgClass`/`INetCfgClassSetup`, `INetCfgBindingPath`, `INetCfgBindingInterface`, the
//! enumerators and `INetCfgPnpReconfigCallback` for the notify object to run against. Every call
//! is recorded in [`World::calls`]; a method the notify object has no business calling records
//! `UNEXPECTED …` and fails, and the test rejects any such entry.

use std::cell::RefCell;
use std::rc::Rc;

pub use crate::fakes_binding::{ComponentEnum, PathEnum, path};
use windows::Win32::Foundation::{E_NOTIMPL, HWND};
use windows::Win32::NetworkManagement::NetManagement::*;
use windows::Win32::System::Com::CoTaskMemAlloc;
use windows::Win32::System::Registry::HKEY;
use windows_core::{
    Error, GUID, HRESULT, IUnknown, Interface, OutRef, PCWSTR, PWSTR, Ref, Result, implement,
};

pub const GUID_DEVCLASS_NET: GUID = GUID::from_u128(0x4d36e972_e325_11ce_bfc1_08002be10318);
pub const GUID_DEVCLASS_NETTRANS: GUID = GUID::from_u128(0x4d36e975_e325_11ce_bfc1_08002be10318);

/// The shared state of the fakes.
#[derive(Default)]
pub struct World {
    pub calls: Vec<String>,
    /// The Net-class components of the session: adapters and installed miniports.
    pub net: Vec<INetCfgComponent>,
    next_miniport: u128,
    /// Fail the next call whose record starts with this text, with this HRESULT.
    pub fail: Option<(String, HRESULT)>,
    /// The notify object, called back from inside `Install`/`DeInstall` as NetCfg may do.
    pub reentry: Option<Reentry>,
}

/// What the fake class installer calls back into while it installs or removes a miniport: the
/// binding path protocol → new miniport (`QueryBindingPath`, `NotifyBindingPath`), and the
/// removal of a miniport (`SysNotifyComponent`). Records `reentry …` with the HRESULTs.
#[derive(Clone)]
pub struct Reentry {
    pub binding: INetCfgComponentNotifyBinding,
    pub global: INetCfgComponentNotifyGlobal,
    pub protocol: INetCfgComponent,
}

pub type Shared = Rc<RefCell<World>>;

impl World {
    pub fn call(&mut self, record: String) -> Result<()> {
        let fail = matches!(&self.fail, Some((prefix, _)) if record.starts_with(prefix.as_str()));
        if fail {
            let (_, hr) = self.fail.take().unwrap();
            self.calls
                .push(format!("{record} -> FAILED {:#010x}", hr.0 as u32));
            return Err(hr.into());
        }
        self.calls.push(record);
        Ok(())
    }

    /// The GUID the next installed miniport gets.
    pub fn next_miniport_guid(&self) -> GUID {
        GUID::from_u128(0x4d4d0000_0000_0000_0000_000000000000 + self.next_miniport + 1)
    }
}

pub fn unexpected(world: &Shared, what: &str) -> Error {
    world.borrow_mut().calls.push(format!("UNEXPECTED {what}"));
    E_NOTIMPL.into()
}

/// A string the caller frees with the COM task allocator.
fn co_string(text: &str) -> PWSTR {
    let wide: Vec<u16> = text.encode_utf16().chain([0]).collect();
    // SAFETY: plain allocation; the caller frees it.
    let ptr = unsafe { CoTaskMemAlloc(wide.len() * 2) }.cast::<u16>();
    // SAFETY: `ptr` has room for `wide` (allocated just above).
    unsafe { ptr.copy_from_nonoverlapping(wide.as_ptr(), wide.len()) };
    PWSTR(ptr)
}

pub fn braced(guid: GUID) -> String {
    format!("{{{guid:?}}}")
}

#[implement(INetCfgComponent, INetCfgComponentBindings)]
pub struct Component {
    world: Shared,
    pub id: String,
    class: GUID,
    characteristics: u32,
    pub guid: GUID,
    /// The protocol's binding paths (for `INetCfgComponentBindings::EnumBindingPaths`).
    pub paths: RefCell<Vec<INetCfgBindingPath>>,
}

impl Component {
    pub fn new(world: &Shared, id: &str, class: GUID, chars: u32, guid: GUID) -> Self {
        Self {
            world: world.clone(),
            id: id.into(),
            class,
            characteristics: chars,
            guid,
            paths: RefCell::new(Vec::new()),
        }
    }

    /// Records `name {guid}` (a read of this component) and fails it if it is the injected call.
    fn read(&self, name: &str) -> Result<()> {
        self.world
            .borrow_mut()
            .call(format!("{name} {}", braced(self.guid)))
    }

    /// Records the read `name` and writes `value` to the caller's out-pointer.
    fn read_guid(&self, name: &str, out: *mut GUID, value: GUID) -> Result<()> {
        self.read(name)?;
        // SAFETY: the caller's out-pointer (NetCfg contract: valid for the call).
        unsafe { *out = value };
        Ok(())
    }
}

pub fn component(
    world: &Shared,
    id: &str,
    class: GUID,
    chars: u32,
    guid: GUID,
) -> INetCfgComponent {
    Component::new(world, id, class, chars, guid).into()
}

/// The instance GUID of a fake component (the world must not be borrowed). The call it makes
/// is taken out of the record again.
pub fn guid_of(world: &Shared, component: &INetCfgComponent) -> GUID {
    let mut guid = GUID::zeroed();
    // SAFETY: a live component; valid out-pointer.
    let _ =
        unsafe { (Interface::vtable(component).GetInstanceGuid)(component.as_raw(), &mut guid) };
    world.borrow_mut().calls.pop();
    guid
}

/// The instance GUIDs of the session's Net-class components.
pub fn net_guids(world: &Shared) -> Vec<GUID> {
    let net = world.borrow().net.clone();
    net.iter().map(|c| guid_of(world, c)).collect()
}

/// Drops the Net-class component with this GUID (what NetCfg's cancel does to an install).
pub fn forget(world: &Shared, guid: GUID) {
    let net = world.borrow().net.clone();
    let kept = net
        .into_iter()
        .filter(|c| guid_of(world, c) != guid)
        .collect();
    world.borrow_mut().net = kept;
}

impl INetCfgComponent_Impl for Component_Impl {
    fn GetDisplayName(&self, _: *mut PWSTR) -> Result<()> {
        Err(unexpected(&self.world, "GetDisplayName"))
    }
    fn SetDisplayName(&self, _: &PCWSTR) -> Result<()> {
        Err(unexpected(&self.world, "SetDisplayName"))
    }
    fn GetHelpText(&self, _: *mut PWSTR) -> Result<()> {
        Err(unexpected(&self.world, "GetHelpText"))
    }
    fn GetId(&self, out: *mut PWSTR) -> Result<()> {
        self.read("GetId")?;
        // SAFETY: the caller's out-pointer.
        unsafe { *out = co_string(&self.id) };
        Ok(())
    }
    fn GetCharacteristics(&self) -> Result<u32> {
        self.read("GetCharacteristics")?;
        Ok(self.characteristics)
    }
    fn GetInstanceGuid(&self, out: *mut GUID) -> Result<()> {
        self.read_guid("GetInstanceGuid", out, self.guid)
    }
    fn GetPnpDevNodeId(&self, _: *mut PWSTR) -> Result<()> {
        Err(unexpected(&self.world, "GetPnpDevNodeId"))
    }
    fn GetClassGuid(&self, out: *mut GUID) -> Result<()> {
        self.read_guid("GetClassGuid", out, self.class)
    }
    fn GetBindName(&self, _: *mut PWSTR) -> Result<()> {
        Err(unexpected(&self.world, "GetBindName"))
    }
    fn GetDeviceStatus(&self) -> Result<u32> {
        Err(unexpected(&self.world, "GetDeviceStatus"))
    }
    fn OpenParamKey(&self, _: *mut HKEY) -> Result<()> {
        Err(unexpected(&self.world, "OpenParamKey"))
    }
    fn RaisePropertyUi(&self, _: HWND, _: u32, _: Ref<IUnknown>) -> Result<()> {
        Err(unexpected(&self.world, "RaisePropertyUi"))
    }
}

impl INetCfgComponentBindings_Impl for Component_Impl {
    fn BindTo(&self, _: Ref<INetCfgComponent>) -> Result<()> {
        Err(unexpected(&self.world, "BindTo"))
    }
    fn UnbindFrom(&self, _: Ref<INetCfgComponent>) -> Result<()> {
        Err(unexpected(&self.world, "UnbindFrom"))
    }
    fn SupportsBindingInterface(&self, _: u32, _: &PCWSTR) -> Result<()> {
        Err(unexpected(&self.world, "SupportsBindingInterface"))
    }
    fn IsBoundTo(&self, _: Ref<INetCfgComponent>) -> Result<()> {
        Err(unexpected(&self.world, "IsBoundTo"))
    }
    fn IsBindableTo(&self, _: Ref<INetCfgComponent>) -> Result<()> {
        Err(unexpected(&self.world, "IsBindableTo"))
    }
    fn EnumBindingPaths(&self, flags: u32, out: OutRef<IEnumNetCfgBindingPath>) -> Result<()> {
        self.world
            .borrow_mut()
            .call(format!("EnumBindingPaths {flags}"))?;
        let items = self.paths.borrow().clone();
        out.write(Some(
            PathEnum {
                items,
                next: RefCell::new(0),
            }
            .into(),
        ))
    }
    fn MoveBefore(&self, _: Ref<INetCfgBindingPath>, _: Ref<INetCfgBindingPath>) -> Result<()> {
        Err(unexpected(&self.world, "MoveBefore"))
    }
    fn MoveAfter(&self, _: Ref<INetCfgBindingPath>, _: Ref<INetCfgBindingPath>) -> Result<()> {
        Err(unexpected(&self.world, "MoveAfter"))
    }
}

/// `INetCfg` of the session.
#[implement(INetCfg)]
pub struct NetCfg {
    pub world: Shared,
}

impl INetCfg_Impl for NetCfg_Impl {
    fn Initialize(&self, _: *const core::ffi::c_void) -> Result<()> {
        Err(unexpected(&self.world, "INetCfg::Initialize"))
    }
    fn Uninitialize(&self) -> Result<()> {
        Err(unexpected(&self.world, "INetCfg::Uninitialize"))
    }
    fn Apply(&self) -> Result<()> {
        Err(unexpected(&self.world, "INetCfg::Apply"))
    }
    fn Cancel(&self) -> Result<()> {
        Err(unexpected(&self.world, "INetCfg::Cancel"))
    }
    fn EnumComponents(&self, class: *const GUID, out: OutRef<IEnumNetCfgComponent>) -> Result<()> {
        // SAFETY: the caller's GUID pointer.
        let class = unsafe { *class };
        self.world
            .borrow_mut()
            .call(format!("EnumComponents {}", braced(class)))?;
        let items = if class == GUID_DEVCLASS_NET {
            self.world.borrow().net.clone()
        } else {
            Vec::new()
        };
        out.write(Some(
            ComponentEnum {
                items,
                next: RefCell::new(0),
            }
            .into(),
        ))
    }
    fn FindComponent(&self, _: &PCWSTR, _: OutRef<INetCfgComponent>) -> Result<()> {
        Err(unexpected(&self.world, "INetCfg::FindComponent"))
    }
    fn QueryNetCfgClass(
        &self,
        class: *const GUID,
        iid: *const GUID,
        out: *mut *mut core::ffi::c_void,
    ) -> Result<()> {
        // SAFETY: the caller's GUID pointers.
        let (class, iid) = unsafe { (*class, *iid) };
        self.world
            .borrow_mut()
            .call(format!("QueryNetCfgClass {}", braced(class)))?;
        if class != GUID_DEVCLASS_NET {
            return Err(unexpected(&self.world, "QueryNetCfgClass of another class"));
        }
        let setup: INetCfgClassSetup = ClassSetup {
            world: self.world.clone(),
        }
        .into();
        // SAFETY: valid IID and out-pointer from the caller.
        unsafe { setup.query(&iid, out) }.ok()
    }
}

/// The Net class: installs and de-installs miniports.
#[implement(INetCfgClassSetup, INetCfgClass)]
pub struct ClassSetup {
    world: Shared,
}

impl INetCfgClass_Impl for ClassSetup_Impl {
    fn FindComponent(&self, _: &PCWSTR, _: OutRef<INetCfgComponent>) -> Result<()> {
        Err(unexpected(&self.world, "INetCfgClass::FindComponent"))
    }
    fn EnumComponents(&self, _: OutRef<IEnumNetCfgComponent>) -> Result<()> {
        Err(unexpected(&self.world, "INetCfgClass::EnumComponents"))
    }
}

impl INetCfgClassSetup_Impl for ClassSetup_Impl {
    fn SelectAndInstall(
        &self,
        _: HWND,
        _: *const OBO_TOKEN,
        _: OutRef<INetCfgComponent>,
    ) -> Result<()> {
        Err(unexpected(&self.world, "SelectAndInstall"))
    }
    fn Install(
        &self,
        id: &PCWSTR,
        obo: *const OBO_TOKEN,
        _: u32,
        _: u32,
        _: &PCWSTR,
        _: &PCWSTR,
        out: OutRef<INetCfgComponent>,
    ) -> Result<()> {
        // SAFETY: the caller's NUL-terminated hardware ID.
        let id = unsafe { id.to_string() }.unwrap_or_default();
        // SAFETY: the caller's token, or NULL.
        let obo = unsafe { obo.as_ref() }.map_or(0, |t| t.Type.0);
        self.world
            .borrow_mut()
            .call(format!("Install {id} obo={obo}"))?;
        let mut world = self.world.borrow_mut();
        let guid = world.next_miniport_guid();
        world.next_miniport += 1;
        let miniport = component(&self.world, &id, GUID_DEVCLASS_NET, 0x21, guid);
        world.net.push(miniport.clone());
        world.calls.push(format!("  -> {}", braced(guid)));
        let reentry = world.reentry.clone();
        drop(world);
        if let Some(r) = reentry {
            let path = path(&self.world, &r.protocol, &miniport, true);
            let flags = NCN_ADD.0 as u32;
            // SAFETY: live interfaces.
            let query = unsafe {
                (Interface::vtable(&r.binding).QueryBindingPath)(
                    r.binding.as_raw(),
                    flags,
                    path.as_raw(),
                )
            };
            // SAFETY: live interfaces.
            let notify = unsafe {
                (Interface::vtable(&r.binding).NotifyBindingPath)(
                    r.binding.as_raw(),
                    flags,
                    path.as_raw(),
                )
            };
            let mut world = self.world.borrow_mut();
            world
                .calls
                .push(format!("reentry QueryBindingPath {:#x}", query.0));
            world
                .calls
                .push(format!("reentry NotifyBindingPath {:#x}", notify.0));
        }
        out.write(Some(miniport))
    }
    fn DeInstall(
        &self,
        component: Ref<INetCfgComponent>,
        obo: *const OBO_TOKEN,
        _: *mut PWSTR,
    ) -> Result<()> {
        let component = component.ok()?;
        let mut guid = GUID::zeroed();
        // SAFETY: a live fake component; valid out-pointer.
        unsafe { (Interface::vtable(component).GetInstanceGuid)(component.as_raw(), &mut guid) }
            .ok()?;
        self.world.borrow_mut().calls.pop(); // the GetInstanceGuid just above is the fake's own
        // SAFETY: the caller's token, or NULL.
        let obo = unsafe { obo.as_ref() }.map_or(0, |t| t.Type.0);
        self.world
            .borrow_mut()
            .call(format!("DeInstall {} obo={obo}", braced(guid)))?;
        let mut world = self.world.borrow_mut();
        let before = world.net.len();
        world.net.retain(|c| c != component);
        if world.net.len() == before {
            drop(world);
            return Err(unexpected(
                &self.world,
                "DeInstall of a component not installed",
            ));
        }
        Ok(())
    }
}

/// Records `SendPnpReconfig`.
#[implement(INetCfgPnpReconfigCallback)]
pub struct Callback {
    pub world: Shared,
}

impl INetCfgPnpReconfigCallback_Impl for Callback_Impl {
    fn SendPnpReconfig(
        &self,
        layer: NCPNP_RECONFIG_LAYER,
        upper: &PCWSTR,
        lower: &PCWSTR,
        _: *const core::ffi::c_void,
        size: u32,
    ) -> Result<()> {
        // SAFETY: the caller's NUL-terminated strings.
        let (upper, lower) = unsafe { (upper.to_string(), lower.to_string()) };
        self.world.borrow_mut().call(format!(
            "SendPnpReconfig layer={} {} {} size={size}",
            layer.0,
            upper.unwrap_or_default(),
            lower.unwrap_or_default()
        ))
    }
}
