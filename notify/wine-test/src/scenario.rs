//! The NetCfg call sequence the test drives, with its checks.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use windows::Win32::NetworkManagement::NetManagement::*;
use windows::Win32::System::Com::IClassFactory;
use windows::Win32::System::LibraryLoader::{GetProcAddress, LoadLibraryW};
use windows_core::{ComObject, GUID, HRESULT, HSTRING, Interface, s};

use crate::fakes::{self, Component, GUID_DEVCLASS_NET, GUID_DEVCLASS_NETTRANS, Shared, braced};
use crate::notify::Notify;
use crate::registry;

const CLSID: GUID = GUID::from_u128(0x82dbea4a_f0e8_4c7f_aaf9_dcf606dba6e1);
pub(crate) const S_OK: HRESULT = HRESULT(0);
pub(crate) const E_ACCESSDENIED: HRESULT = HRESULT(0x8007_0005_u32 as i32);
const E_NOINTERFACE: HRESULT = HRESULT(0x8000_4002_u32 as i32);
const CLASS_E_CLASSNOTAVAILABLE: HRESULT = HRESULT(0x8004_0111_u32 as i32);
const NCF_PHYSICAL: u32 = 0x4;
const NCF_VIRTUAL: u32 = 0x1;
pub(crate) const OBO_COMPONENT_TYPE: i32 = 2;

type GetClassObject =
    unsafe extern "system" fn(*const GUID, *const GUID, *mut *mut core::ffi::c_void) -> HRESULT;
type CanUnloadNow = unsafe extern "system" fn() -> HRESULT;

/// The `Adapters` keys and their `UpperBindings` values, as [`registry::adapters`] reads them.
pub(crate) type Adapters = BTreeMap<String, Option<registry::Value>>;

pub(crate) struct Test {
    world: Shared,
    checks: usize,
    /// `UNEXPECTED …` and `reentry …` records, set aside by `take_calls` for the final checks.
    unexpected: RefCell<Vec<String>>,
    reentries: RefCell<Vec<String>>,
}

impl Test {
    pub(crate) fn check(&mut self, ok: bool, what: &str) -> Result<(), String> {
        self.checks += 1;
        if ok {
            println!("ok   {what}");
            Ok(())
        } else {
            Err(format!(
                "{what}\n  calls: {:#?}\n  registry: {:?}",
                self.world.borrow().calls,
                registry::adapters()
            ))
        }
    }

    /// `hr` is S_OK.
    pub(crate) fn ok(&mut self, hr: HRESULT, what: &str) -> Result<(), String> {
        self.eq(hr, S_OK, what)
    }

    /// The adapters' keys in the registry are `want`.
    pub(crate) fn registry_is(&mut self, want: &Adapters, what: &str) -> Result<(), String> {
        self.eq(registry::adapters()?, want.clone(), what)
    }

    /// `ApplyRegistryChanges` succeeds and leaves the adapters' keys as `want`.
    pub(crate) fn apply(
        &mut self,
        notify: &Notify,
        want: &Adapters,
        what: &str,
    ) -> Result<(), String> {
        self.ok(notify.apply_registry(), "ApplyRegistryChanges")?;
        self.registry_is(want, what)
    }

    pub(crate) fn eq<T: PartialEq + std::fmt::Debug>(
        &mut self,
        got: T,
        want: T,
        what: &str,
    ) -> Result<(), String> {
        let ok = got == want;
        let text = if ok {
            what.to_string()
        } else {
            format!("{what}: got {got:?}, want {want:?}")
        };
        self.check(ok, &text)
    }

    /// Calls recorded since the last `take_calls`, minus the lookups (enumeration and
    /// property reads), which depend on how the notify object searches.
    pub(crate) fn take_calls(&self) -> Vec<String> {
        let calls = std::mem::take(&mut self.world.borrow_mut().calls);
        for c in &calls {
            if c.starts_with("UNEXPECTED") {
                self.unexpected.borrow_mut().push(c.clone());
            } else if c.starts_with("reentry") {
                self.reentries.borrow_mut().push(c.clone());
            }
        }
        calls
            .into_iter()
            .filter(|c| {
                ![
                    "GetId",
                    "GetCharacteristics",
                    "GetInstanceGuid",
                    "GetClassGuid",
                    "EnumComponents",
                    "EnumBindingInterfaces",
                    "GetLowerComponent",
                    "IsEnabled",
                    "QueryNetCfgClass",
                    "EnumBindingPaths",
                    "reentry",
                ]
                .iter()
                .any(|p| c.starts_with(p))
            })
            .collect()
    }
}

pub(crate) fn device(guid: GUID) -> Option<registry::Value> {
    Some(registry::Value {
        kind: 7,
        strings: vec![format!("\\Device\\{}", braced(guid))],
    })
}

pub fn run(dll: &str) -> Result<usize, String> {
    registry::clear();
    let world: Shared = Rc::new(RefCell::new(fakes::World::default()));
    let mut t = Test {
        world: world.clone(),
        checks: 0,
        unexpected: RefCell::new(Vec::new()),
        reentries: RefCell::new(Vec::new()),
    };

    // SAFETY: loading the DLL under test (it has no entry point, nothing runs).
    let module = unsafe { LoadLibraryW(&HSTRING::from(dll)) }
        .map_err(|e| format!("LoadLibraryW({dll}): {e:?}"))?;
    // SAFETY: the module is loaded; the exports have these COM signatures.
    let get_class_object: GetClassObject = unsafe {
        std::mem::transmute(
            GetProcAddress(module, s!("DllGetClassObject")).ok_or("no DllGetClassObject")?,
        )
    };
    // SAFETY: as above.
    let can_unload: CanUnloadNow = unsafe {
        std::mem::transmute(
            GetProcAddress(module, s!("DllCanUnloadNow")).ok_or("no DllCanUnloadNow")?,
        )
    };

    let mut raw = std::ptr::null_mut();
    let wrong = GUID::from_u128(1);
    // SAFETY: valid pointers.
    let hr = unsafe { get_class_object(&wrong, &IClassFactory::IID, &mut raw) };
    t.eq(
        hr,
        CLASS_E_CLASSNOTAVAILABLE,
        "DllGetClassObject(other CLSID) = CLASS_E_CLASSNOTAVAILABLE",
    )?;
    // SAFETY: valid pointers.
    let hr = unsafe { get_class_object(&CLSID, &IClassFactory::IID, &mut raw) };
    t.ok(hr, "DllGetClassObject(CLSID, IClassFactory)")?;
    // SAFETY: S_OK: `raw` is an AddRef'd IClassFactory.
    let factory = unsafe { IClassFactory::from_raw(raw) };

    // The machine: a protocol, two physical adapters, another driver's virtual adapter.
    let g = |n: u128| GUID::from_u128(0xada00000_0000_0000_0000_000000000000 + n);
    let (a1, a2, a3) = (g(1), g(2), g(3));
    let protocol_object = ComObject::new(Component::new(
        &world,
        "chimneyim_p",
        GUID_DEVCLASS_NETTRANS,
        0x80,
        g(0x100),
    ));
    let protocol: INetCfgComponent = protocol_object.to_interface();
    let adapter = |guid, chars| {
        fakes::component(
            &world,
            "pci\\ven_8086&dev_10d3",
            GUID_DEVCLASS_NET,
            chars,
            guid,
        )
    };
    let (c1, c2, c3) = (
        adapter(a1, NCF_PHYSICAL),
        adapter(a2, NCF_PHYSICAL),
        adapter(a3, NCF_PHYSICAL),
    );
    let other_virtual = fakes::component(&world, "ms_loop", GUID_DEVCLASS_NET, NCF_VIRTUAL, g(9));
    world.borrow_mut().net = vec![c1.clone(), c2.clone(), other_virtual.clone()];
    let path = |lower: &INetCfgComponent| fakes::path(&world, &protocol, lower, true);
    *protocol_object.paths.borrow_mut() = vec![path(&c1), path(&c2), path(&other_virtual)];
    let netcfg: INetCfg = fakes::NetCfg {
        world: world.clone(),
    }
    .into();
    let callback: INetCfgPnpReconfigCallback = fakes::Callback {
        world: world.clone(),
    }
    .into();
    let obo = OBO_COMPONENT_TYPE;
    let m1 = world.borrow().next_miniport_guid();

    // 1. Protocol install: one miniport per bound physical adapter, registry only on apply.
    let notify = Notify::new(&factory)?;
    t.ok(
        notify.initialize(&protocol, &netcfg, true),
        "Initialize(installing)",
    )?;
    world.borrow_mut().reentry = Some(notify.reentry(&protocol));
    // SAFETY: live interface.
    let flags = unsafe { notify.global.GetSupportedNotifications() };
    t.eq(
        flags.ok(),
        Some(
            (NCN_NET.0
                | NCN_NETTRANS.0
                | NCN_ADD.0
                | NCN_REMOVE.0
                | NCN_BINDING_PATH.0
                | NCN_ENABLE.0
                | NCN_DISABLE.0) as u32,
        ),
        "GetSupportedNotifications",
    )?;
    t.eq(
        notify
            .control
            .cast::<INetCfgComponentPropertyUi>()
            .err()
            .map(|e| e.code()),
        Some(E_NOINTERFACE),
        "no INetCfgComponentPropertyUi",
    )?;
    t.take_calls();
    t.ok(notify.install(), "Install")?;
    let m2 = GUID::from_u128(m1.to_u128() + 1);
    t.eq(
        t.take_calls(),
        vec![
            format!("Install chimneyim_mp obo={obo}"),
            format!("  -> {}", braced(m1)),
            format!("Install chimneyim_mp obo={obo}"),
            format!("  -> {}", braced(m2)),
        ],
        "Install: two miniports, none for the virtual adapter",
    )?;
    t.registry_is(
        &BTreeMap::new(),
        "nothing written before ApplyRegistryChanges",
    )?;
    let mut want = BTreeMap::from([(braced(a1), device(m1)), (braced(a2), device(m2))]);
    t.apply(
        &notify,
        &want,
        "UpperBindings = REG_MULTI_SZ \\Device\\{miniport} per adapter",
    )?;
    t.ok(notify.apply_pnp(&callback), "ApplyPnpChanges")?;
    t.eq(
        t.take_calls(),
        vec![
            format!("SendPnpReconfig layer=1 ChimneyImP {} size=0", braced(a1)),
            format!("SendPnpReconfig layer=1 ChimneyImP {} size=0", braced(a2)),
        ],
        "SendPnpReconfig(NCRL_NDIS) per changed adapter",
    )?;
    world.borrow_mut().reentry = None;
    drop(notify);

    // 2. A later session: loops refused, a new adapter bound, re-enabling creates nothing.
    let notify = Notify::new(&factory)?;
    t.ok(
        notify.initialize(&protocol, &netcfg, false),
        "Initialize (existing install)",
    )?;
    world.borrow_mut().reentry = Some(notify.reentry(&protocol));
    let net = world.borrow().net.clone();
    let own = net
        .into_iter()
        .find(|c| fakes::guid_of(&world, c) == m1)
        .ok_or("miniport 1 missing")?;
    t.eq(
        notify.query_path(NCN_ADD, &path(&own)),
        NETCFG_S_DISABLE_QUERY,
        "QueryBindingPath(own miniport) = NETCFG_S_DISABLE_QUERY",
    )?;
    world.borrow_mut().net.push(c3.clone());
    t.ok(
        notify.query_path(NCN_ADD, &path(&c3)),
        "QueryBindingPath(new adapter) = S_OK",
    )?;
    t.take_calls();
    let m3 = world.borrow().next_miniport_guid();
    t.ok(
        notify.notify_path(NCN_ADD.0 | NCN_ENABLE.0, &path(&c3)),
        "NotifyBindingPath(ADD|ENABLE, new adapter)",
    )?;
    t.ok(
        notify.notify_path(NCN_ENABLE.0, &path(&c1)),
        "NotifyBindingPath(ENABLE, bound adapter)",
    )?;
    t.ok(
        notify.notify_path(NCN_ADD.0, &path(&own)),
        "NotifyBindingPath(ADD, own miniport)",
    )?;
    t.eq(
        t.take_calls(),
        vec![
            format!("Install chimneyim_mp obo={obo}"),
            format!("  -> {}", braced(m3)),
        ],
        "one miniport for the new adapter only",
    )?;
    want.insert(braced(a3), device(m3));
    t.apply(
        &notify,
        &want,
        "new adapter's key written, others unchanged",
    )?;

    // 3. Disable: the miniport goes, the key goes on apply.
    t.ok(
        notify.notify_path(NCN_DISABLE.0, &path(&c1)),
        "NotifyBindingPath(DISABLE)",
    )?;
    t.registry_is(&want, "key kept until ApplyRegistryChanges")?;
    want.remove(&braced(a1));
    t.apply(&notify, &want, "disabled adapter's key deleted")?;
    t.ok(notify.apply_pnp(&callback), "ApplyPnpChanges")?;
    t.eq(
        t.take_calls(),
        vec![
            format!("DeInstall {} obo={obo}", braced(m1)),
            format!("SendPnpReconfig layer=1 ChimneyImP {} size=0", braced(a1)),
        ],
        "DeInstall + SendPnpReconfig",
    )?;

    crate::scenario_failures::run(
        &mut t,
        &notify,
        &world,
        &path(&c1),
        &path(&c2),
        &callback,
        &want,
    )?;

    // 6. The adapter itself goes away.
    t.take_calls();
    t.ok(
        notify.sys_notify_component(NCN_NET.0 | NCN_REMOVE.0, &c2),
        "SysNotifyComponent(NET|REMOVE)",
    )?;
    t.eq(
        t.take_calls(),
        vec![format!("DeInstall {} obo={obo}", braced(m2))],
        "its miniport de-installed",
    )?;
    world.borrow_mut().net.retain(|c| c != &c2);
    want.remove(&braced(a2));
    t.apply(&notify, &want, "removed adapter's key deleted")?;

    // 7. Protocol uninstall: nothing left behind.
    t.ok(notify.removing(), "Removing")?;
    t.eq(
        t.take_calls(),
        vec![format!("DeInstall {} obo={obo}", braced(m3))],
        "every remaining miniport de-installed",
    )?;
    t.apply(&notify, &BTreeMap::new(), "no key left")?;
    world.borrow_mut().reentry = None;
    t.take_calls();
    let unexpected = t.unexpected.borrow().clone();
    t.eq(
        unexpected,
        Vec::<String>::new(),
        "no call outside the NetCfg contract",
    )?;
    // Calls back into the notify object from inside Install/DeInstall (as NetCfg may make):
    // the loop path is refused and nothing else happens, without touching the state that the
    // outer call is changing.
    let reentries = t.reentries.borrow().clone();
    let allowed = [
        "reentry QueryBindingPath 0x4a022",
        "reentry NotifyBindingPath 0x0",
        "reentry SysNotifyComponent 0x0",
    ];
    let wrong: Vec<&String> = reentries
        .iter()
        .filter(|r| !allowed.contains(&r.as_str()))
        .collect();
    t.check(
        reentries.len() >= 10 && wrong.is_empty(),
        &format!(
            "{} re-entrant calls from Install/DeInstall, all answered as expected (wrong: {wrong:?})",
            reentries.len()
        ),
    )?;
    drop(notify);
    drop(factory);
    // SAFETY: the export has no arguments.
    let can_unload = unsafe { can_unload() };
    t.ok(
        can_unload,
        "DllCanUnloadNow = S_OK once everything is released",
    )?;
    Ok(t.checks)
}
