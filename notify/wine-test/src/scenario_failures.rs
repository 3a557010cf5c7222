//! Phases 4 and 5 of the scenario: cancel, and failures injected into NetCfg calls. Each
//! failing call must return the injected HRESULT and leave the components and the registry
//! as they were.

use std::collections::BTreeMap;

use windows::Win32::NetworkManagement::NetManagement::{
    INetCfgBindingPath, INetCfgPnpReconfigCallback, NCN_DISABLE, NCN_ENABLE, NETCFG_S_REBOOT,
};

use crate::fakes::{Shared, braced, forget, net_guids};
use crate::notify::Notify;
use crate::registry::{self, Value};
use crate::scenario::{E_ACCESSDENIED, OBO_COMPONENT_TYPE, S_OK, Test, device};

fn fail_next(world: &Shared, prefix: String) {
    world.borrow_mut().fail = Some((prefix, E_ACCESSDENIED));
}

pub fn run(
    t: &mut Test,
    notify: &Notify,
    world: &Shared,
    disabled: &INetCfgBindingPath,
    bound: &INetCfgBindingPath,
    callback: &INetCfgPnpReconfigCallback,
    want: &BTreeMap<String, Option<Value>>,
) -> Result<(), String> {
    let obo = OBO_COMPONENT_TYPE;

    // 4. Cancel: the staged key is never written (NetCfg itself drops the install).
    t.take_calls();
    let before = net_guids(world);
    let m = world.borrow().next_miniport_guid();
    t.eq(
        notify.notify_path(NCN_ENABLE.0, disabled),
        S_OK,
        "NotifyBindingPath(ENABLE)",
    )?;
    t.eq(notify.cancel(), S_OK, "CancelChanges")?;
    forget(world, m);
    t.eq(
        notify.apply_registry(),
        S_OK,
        "ApplyRegistryChanges after cancel",
    )?;
    t.eq(
        registry::adapters()?,
        want.clone(),
        "cancelled change not written",
    )?;
    t.eq(net_guids(world), before.clone(), "components as before")?;
    t.take_calls();

    // 5a. Install fails.
    fail_next(world, "Install".into());
    t.eq(
        notify.notify_path(NCN_ENABLE.0, disabled),
        E_ACCESSDENIED,
        "Install failure returned",
    )?;
    t.eq(
        net_guids(world),
        before.clone(),
        "no miniport after a failed Install",
    )?;

    // 5b. The new miniport's GUID cannot be read: it is de-installed again.
    let m = world.borrow().next_miniport_guid();
    fail_next(world, format!("GetInstanceGuid {}", braced(m)));
    t.eq(
        notify.notify_path(NCN_ENABLE.0, disabled),
        E_ACCESSDENIED,
        "GetInstanceGuid failure returned",
    )?;
    t.eq(
        net_guids(world),
        before.clone(),
        "half-created miniport rolled back",
    )?;
    let calls = t.take_calls();
    t.eq(
        calls.last().cloned(),
        Some(format!("DeInstall {} obo={obo}", braced(m))),
        "rollback is a DeInstall of that miniport",
    )?;

    // 5c. The lookup before a de-install fails: nothing de-installed.
    fail_next(world, "EnumComponents".into());
    t.eq(
        notify.notify_path(NCN_DISABLE.0, bound),
        E_ACCESSDENIED,
        "lookup failure returned",
    )?;
    t.eq(net_guids(world), before.clone(), "nothing de-installed")?;

    // 5d. DeInstall fails: mapping kept.
    fail_next(world, "DeInstall".into());
    t.eq(
        notify.notify_path(NCN_DISABLE.0, bound),
        E_ACCESSDENIED,
        "DeInstall failure returned",
    )?;
    t.eq(net_guids(world), before.clone(), "components unchanged")?;
    t.eq(
        notify.apply_registry(),
        S_OK,
        "ApplyRegistryChanges after the failures",
    )?;
    t.eq(
        registry::adapters()?,
        want.clone(),
        "registry unchanged by the failures",
    )?;

    // 5e. SendPnpReconfig fails: NETCFG_S_REBOOT, the documented "needs a restart".
    let m = world.borrow().next_miniport_guid();
    t.eq(
        notify.notify_path(NCN_ENABLE.0, disabled),
        S_OK,
        "NotifyBindingPath(ENABLE)",
    )?;
    t.eq(notify.apply_registry(), S_OK, "ApplyRegistryChanges")?;
    let mut with_m = want.clone();
    let disabled_adapter = registry_key_of_new(want, &registry::adapters()?)?;
    with_m.insert(disabled_adapter.clone(), device(m));
    t.eq(registry::adapters()?, with_m, "re-enabled adapter written")?;
    fail_next(world, "SendPnpReconfig".into());
    t.eq(
        notify.apply_pnp(callback),
        NETCFG_S_REBOOT,
        "failed SendPnpReconfig = NETCFG_S_REBOOT",
    )?;

    // 5f. A registry failure in ApplyRegistryChanges: a foreign subkey under the second adapter's
    // key makes RegDeleteKeyW fail (ERROR_ACCESS_DENIED). The first adapter's key, already
    // deleted by then, is written back: the registry is as before and the error is returned.
    let written = registry::adapters()?;
    let saved_net = world.borrow().net.clone();
    let blocked = registry_key_of_bound(&written, want)?;
    registry::create_subkey(&format!("{blocked}\\foreign"))?;
    t.eq(
        notify.notify_path(NCN_DISABLE.0, disabled),
        S_OK,
        "NotifyBindingPath(DISABLE)",
    )?;
    t.eq(
        notify.notify_path(NCN_DISABLE.0, bound),
        S_OK,
        "NotifyBindingPath(DISABLE) of the blocked adapter",
    )?;
    t.eq(
        notify.apply_registry(),
        E_ACCESSDENIED,
        "ApplyRegistryChanges returns the registry error",
    )?;
    let mut after = registry::adapters()?;
    t.eq(
        after.remove(&blocked).is_some(),
        true,
        "blocked key still there",
    )?;
    let mut expected = written.clone();
    expected.remove(&blocked);
    t.eq(
        after,
        expected,
        "the key deleted before the failure is written back",
    )?;
    t.eq(
        notify.cancel(),
        S_OK,
        "CancelChanges (NetCfg cancels after the error)",
    )?;
    world.borrow_mut().net = saved_net; // what NetCfg's cancel does to the de-installs
    registry::delete_subkey(&format!("{blocked}\\foreign"))?;
    t.eq(registry::adapters()?, written, "registry as before 5f")?;

    // Back to the state before phase 4 for the remaining phases.
    t.eq(
        notify.notify_path(NCN_DISABLE.0, disabled),
        S_OK,
        "NotifyBindingPath(DISABLE)",
    )?;
    t.eq(notify.apply_registry(), S_OK, "ApplyRegistryChanges")?;
    t.eq(
        registry::adapters()?,
        want.clone(),
        "registry as before phase 4",
    )?;
    t.eq(net_guids(world), before, "components as before phase 4")?;
    t.take_calls();
    Ok(())
}

/// The key of `want` (the keys before phase 4) whose adapter is still bound: the lowest one.
fn registry_key_of_bound(
    now: &BTreeMap<String, Option<Value>>,
    want: &BTreeMap<String, Option<Value>>,
) -> Result<String, String> {
    want.keys()
        .find(|k| now.contains_key(*k))
        .cloned()
        .ok_or_else(|| format!("no bound adapter key in {now:?}"))
}

/// The one key of `now` that `before` lacks.
fn registry_key_of_new(
    before: &BTreeMap<String, Option<Value>>,
    now: &BTreeMap<String, Option<Value>>,
) -> Result<String, String> {
    let mut new = now.keys().filter(|k| !before.contains_key(*k));
    match (new.next(), new.next()) {
        (Some(key), None) => Ok(key.clone()),
        _ => Err(format!(
            "expected one new key: before {before:?}, now {now:?}"
        )),
    }
}
