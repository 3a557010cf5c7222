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
use crate::scenario::{E_ACCESSDENIED, OBO_COMPONENT_TYPE, Test, device};

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
    t.ok(
        notify.notify_path(NCN_ENABLE.0, disabled),
        "NotifyBindingPath(ENABLE)",
    )?;
    t.ok(notify.cancel(), "CancelChanges")?;
    forget(world, m);
    t.ok(notify.apply_registry(), "ApplyRegistryChanges after cancel")?;
    t.registry_is(want, "cancelled change not written")?;
    t.eq(net_guids(world), before.clone(), "components as before")?;
    t.take_calls();

    // NetCfg's next call starting with `call` fails during NotifyBindingPath(`flags`, `path`):
    // the injected HRESULT comes back and the components are as before.
    let fails = |t: &mut Test,
                 call: String,
                 flags: i32,
                 path: &INetCfgBindingPath,
                 returned: &str,
                 unchanged: &str| {
        fail_next(world, call);
        t.eq(notify.notify_path(flags, path), E_ACCESSDENIED, returned)?;
        t.eq(net_guids(world), before.clone(), unchanged)
    };

    // 5a. Install fails.
    fails(
        t,
        "Install".into(),
        NCN_ENABLE.0,
        disabled,
        "Install failure returned",
        "no miniport after a failed Install",
    )?;

    // 5b. The new miniport's GUID cannot be read: it is de-installed again.
    let m = world.borrow().next_miniport_guid();
    fails(
        t,
        format!("GetInstanceGuid {}", braced(m)),
        NCN_ENABLE.0,
        disabled,
        "GetInstanceGuid failure returned",
        "half-created miniport rolled back",
    )?;
    let calls = t.take_calls();
    t.eq(
        calls.last().cloned(),
        Some(format!("DeInstall {} obo={obo}", braced(m))),
        "rollback is a DeInstall of that miniport",
    )?;

    // 5c. The lookup before a de-install fails: nothing de-installed.
    fails(
        t,
        "EnumComponents".into(),
        NCN_DISABLE.0,
        bound,
        "lookup failure returned",
        "nothing de-installed",
    )?;

    // 5d. DeInstall fails: mapping kept.
    fails(
        t,
        "DeInstall".into(),
        NCN_DISABLE.0,
        bound,
        "DeInstall failure returned",
        "components unchanged",
    )?;
    t.ok(
        notify.apply_registry(),
        "ApplyRegistryChanges after the failures",
    )?;
    t.registry_is(want, "registry unchanged by the failures")?;

    // 5e. SendPnpReconfig fails: NETCFG_S_REBOOT, the documented "needs a restart".
    let m = world.borrow().next_miniport_guid();
    t.ok(
        notify.notify_path(NCN_ENABLE.0, disabled),
        "NotifyBindingPath(ENABLE)",
    )?;
    t.ok(notify.apply_registry(), "ApplyRegistryChanges")?;
    let mut with_m = want.clone();
    let disabled_adapter = registry_key_of_new(want, &registry::adapters()?)?;
    with_m.insert(disabled_adapter.clone(), device(m));
    t.registry_is(&with_m, "re-enabled adapter written")?;
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
    t.ok(
        notify.notify_path(NCN_DISABLE.0, disabled),
        "NotifyBindingPath(DISABLE)",
    )?;
    t.ok(
        notify.notify_path(NCN_DISABLE.0, bound),
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
    t.ok(
        notify.cancel(),
        "CancelChanges (NetCfg cancels after the error)",
    )?;
    world.borrow_mut().net = saved_net; // what NetCfg's cancel does to the de-installs
    registry::delete_subkey(&format!("{blocked}\\foreign"))?;
    t.registry_is(&written, "registry as before 5f")?;

    // Back to the state before phase 4 for the remaining phases.
    t.ok(
        notify.notify_path(NCN_DISABLE.0, disabled),
        "NotifyBindingPath(DISABLE)",
    )?;
    t.apply(notify, want, "registry as before phase 4")?;
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
