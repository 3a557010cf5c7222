//! COM identities, written out by hand: the notify object (four interfaces on one object) and
//! its class factory. Not `#[implement]`: the code it generates supports weak references, whose
//! `IMarshal` path links `CoCreateFreeThreadedMarshaler` from combase.dll, which Windows 7 does
//! not have. The vtable layouts are the `windows` crate's `*_Vtbl` structs.

use alloc::boxed::Box;
use core::ffi::c_void;
use core::sync::atomic::{AtomicU32, Ordering};

use windows::Win32::NetworkManagement::NetManagement::{
    INetCfg, INetCfgBindingPath, INetCfgComponent, INetCfgComponentControl,
    INetCfgComponentControl_Vtbl, INetCfgComponentNotifyBinding,
    INetCfgComponentNotifyBinding_Vtbl, INetCfgComponentNotifyGlobal,
    INetCfgComponentNotifyGlobal_Vtbl, INetCfgComponentSetup, INetCfgComponentSetup_Vtbl,
    INetCfgPnpReconfigCallback,
};
use windows::Win32::System::Com::{IClassFactory, IClassFactory_Vtbl};
use windows_core::{BOOL, GUID, HRESULT, IUnknown, IUnknown_Vtbl, Interface, PCWSTR, Result};

use super::NotifyObject;
use super::exports::{object_created, object_destroyed};

pub const S_OK: HRESULT = HRESULT(0);
pub const E_POINTER: HRESULT = HRESULT(0x8000_4003_u32 as i32);
const E_NOINTERFACE: HRESULT = HRESULT(0x8000_4002_u32 as i32);
const CLASS_E_NOAGGREGATION: HRESULT = HRESULT(0x8004_0110_u32 as i32);

fn hr(result: Result<()>) -> HRESULT {
    match result {
        Ok(()) => S_OK,
        Err(e) => e.code(),
    }
}

/// The notify object: one vtable pointer per interface (slot 0 is also its IUnknown identity),
/// the reference count, and the behaviour.
#[repr(C)]
struct Object {
    vtables: [*const c_void; 4],
    refs: AtomicU32,
    notify: NotifyObject,
}

const IIDS: [GUID; 4] = [
    INetCfgComponentControl::IID,
    INetCfgComponentSetup::IID,
    INetCfgComponentNotifyBinding::IID,
    INetCfgComponentNotifyGlobal::IID,
];

/// The object behind interface slot `K`.
///
/// # Safety
/// `this` is an interface pointer this module handed out for slot `K` of a live [`Object`].
unsafe fn object<'a, const K: usize>(this: *mut c_void) -> &'a Object {
    let start = this
        .cast::<*const c_void>()
        .wrapping_sub(K)
        .cast::<Object>();
    // SAFETY: slot K sits K pointers after the start of the #[repr(C)] Object, which is live.
    unsafe { &*start }
}

unsafe extern "system" fn query<const K: usize>(
    this: *mut c_void,
    iid: *const GUID,
    out: *mut *mut c_void,
) -> HRESULT {
    if iid.is_null() || out.is_null() {
        return E_POINTER;
    }
    // SAFETY: COM contract: `this` is one of our interface pointers.
    let object = unsafe { object::<K>(this) };
    // SAFETY: checked non-null; the caller's IID.
    let iid = unsafe { *iid };
    let slot = if iid == IUnknown::IID {
        Some(0)
    } else {
        IIDS.iter().position(|known| *known == iid)
    };
    let result = match slot {
        Some(slot) => {
            object.refs.fetch_add(1, Ordering::Relaxed);
            (&raw const object.vtables[slot]).cast_mut().cast()
        }
        None => core::ptr::null_mut(),
    };
    // SAFETY: checked non-null; the caller's out-pointer.
    unsafe { *out = result };
    if result.is_null() {
        E_NOINTERFACE
    } else {
        S_OK
    }
}

unsafe extern "system" fn add_ref<const K: usize>(this: *mut c_void) -> u32 {
    // SAFETY: COM contract: `this` is one of our interface pointers.
    let object = unsafe { object::<K>(this) };
    object.refs.fetch_add(1, Ordering::Relaxed) + 1
}

unsafe extern "system" fn release<const K: usize>(this: *mut c_void) -> u32 {
    // SAFETY: COM contract: `this` is one of our interface pointers.
    let object = unsafe { object::<K>(this) };
    let left = object.refs.fetch_sub(1, Ordering::Release) - 1;
    if left == 0 {
        core::sync::atomic::fence(Ordering::Acquire);
        // SAFETY: the last reference is gone; the object came from Box::into_raw in `create`.
        drop(unsafe { Box::from_raw(core::ptr::from_ref(object).cast_mut()) });
        object_destroyed();
    }
    left
}

const fn unknown<const K: usize>() -> IUnknown_Vtbl {
    IUnknown_Vtbl {
        QueryInterface: query::<K>,
        AddRef: add_ref::<K>,
        Release: release::<K>,
    }
}

/// Borrows an interface argument (`None` for NULL).
///
/// # Safety
/// `raw` is NULL or a valid interface pointer of type `T` for the duration of the call.
unsafe fn arg<T: Interface>(raw: &*mut c_void) -> Option<&T> {
    // SAFETY: see the function's contract.
    unsafe { T::from_raw_borrowed(raw) }
}

/// The behaviour behind interface slot `K`.
///
/// # Safety
/// As [`object`].
unsafe fn notify<'a, const K: usize>(this: *mut c_void) -> &'a NotifyObject {
    // SAFETY: see the function's contract.
    &unsafe { object::<K>(this) }.notify
}

/// The behaviour behind interface slot `K` and the method's interface argument.
///
/// # Safety
/// `this` as for [`object`]; `raw` as for [`arg`].
unsafe fn notify_and<const K: usize, T: Interface>(
    this: *mut c_void,
    raw: &*mut c_void,
) -> (&NotifyObject, Option<&T>) {
    // SAFETY: see the function's contract.
    let notify = unsafe { notify::<K>(this) };
    // SAFETY: see the function's contract.
    (notify, unsafe { arg::<T>(raw) })
}

// --- INetCfgComponentControl (slot 0) ---------------------------------------------------------

unsafe extern "system" fn initialize(
    this: *mut c_void,
    component: *mut c_void,
    netcfg: *mut c_void,
    installing: BOOL,
) -> HRESULT {
    // SAFETY: COM contract: our slot-0 pointer; an INetCfgComponent pointer or NULL.
    let (notify, component) = unsafe { notify_and::<0, INetCfgComponent>(this, &component) };
    // SAFETY: COM contract: an INetCfg pointer or NULL.
    let netcfg = unsafe { arg::<INetCfg>(&netcfg) };
    hr(notify.initialize(component, netcfg, installing.as_bool()))
}

unsafe extern "system" fn apply_registry_changes(this: *mut c_void) -> HRESULT {
    // SAFETY: COM contract: `this` is our slot-0 pointer.
    hr(unsafe { notify::<0>(this) }.apply_registry_changes())
}

unsafe extern "system" fn apply_pnp_changes(this: *mut c_void, callback: *mut c_void) -> HRESULT {
    // SAFETY: COM contract: our slot-0 pointer; an INetCfgPnpReconfigCallback pointer or NULL.
    let (notify, callback) =
        unsafe { notify_and::<0, INetCfgPnpReconfigCallback>(this, &callback) };
    hr(notify.apply_pnp_changes(callback))
}

unsafe extern "system" fn cancel_changes(this: *mut c_void) -> HRESULT {
    // SAFETY: COM contract: `this` is our slot-0 pointer.
    hr(unsafe { notify::<0>(this) }.cancel_changes())
}

static CONTROL: INetCfgComponentControl_Vtbl = INetCfgComponentControl_Vtbl {
    base__: unknown::<0>(),
    Initialize: initialize,
    ApplyRegistryChanges: apply_registry_changes,
    ApplyPnpChanges: apply_pnp_changes,
    CancelChanges: cancel_changes,
};

// --- INetCfgComponentSetup (slot 1) -----------------------------------------------------------

unsafe extern "system" fn install(this: *mut c_void, flags: u32) -> HRESULT {
    // SAFETY: COM contract: `this` is our slot-1 pointer.
    hr(unsafe { notify::<1>(this) }.install(flags))
}

unsafe extern "system" fn upgrade(this: *mut c_void, flags: u32, from_build: u32) -> HRESULT {
    // SAFETY: COM contract: `this` is our slot-1 pointer.
    hr(unsafe { notify::<1>(this) }.upgrade(flags, from_build))
}

unsafe extern "system" fn read_answer_file(this: *mut c_void, _: PCWSTR, _: PCWSTR) -> HRESULT {
    // SAFETY: COM contract: `this` is our slot-1 pointer.
    hr(unsafe { notify::<1>(this) }.read_answer_file())
}

unsafe extern "system" fn removing(this: *mut c_void) -> HRESULT {
    // SAFETY: COM contract: `this` is our slot-1 pointer.
    hr(unsafe { notify::<1>(this) }.removing())
}

static SETUP: INetCfgComponentSetup_Vtbl = INetCfgComponentSetup_Vtbl {
    base__: unknown::<1>(),
    Install: install,
    Upgrade: upgrade,
    ReadAnswerFile: read_answer_file,
    Removing: removing,
};

// --- INetCfgComponentNotifyBinding (slot 2) ---------------------------------------------------

unsafe extern "system" fn query_binding_path(
    this: *mut c_void,
    _: u32,
    path: *mut c_void,
) -> HRESULT {
    // SAFETY: COM contract: our slot-2 pointer; an INetCfgBindingPath pointer or NULL.
    let (notify, path) = unsafe { notify_and::<2, INetCfgBindingPath>(this, &path) };
    hr(notify.query_binding_path(path))
}

unsafe extern "system" fn notify_binding_path(
    this: *mut c_void,
    flags: u32,
    path: *mut c_void,
) -> HRESULT {
    // SAFETY: COM contract: our slot-2 pointer; an INetCfgBindingPath pointer or NULL.
    let (notify, path) = unsafe { notify_and::<2, INetCfgBindingPath>(this, &path) };
    hr(notify.notify_binding_path(flags, path))
}

static BINDING: INetCfgComponentNotifyBinding_Vtbl = INetCfgComponentNotifyBinding_Vtbl {
    base__: unknown::<2>(),
    QueryBindingPath: query_binding_path,
    NotifyBindingPath: notify_binding_path,
};

// --- INetCfgComponentNotifyGlobal (slot 3) ----------------------------------------------------

unsafe extern "system" fn supported_notifications(this: *mut c_void, out: *mut u32) -> HRESULT {
    if out.is_null() {
        return E_POINTER;
    }
    // SAFETY: COM contract: `this` is our slot-3 pointer.
    match unsafe { notify::<3>(this) }.supported_notifications() {
        Ok(flags) => {
            // SAFETY: checked non-null; the caller's out-pointer.
            unsafe { *out = flags };
            S_OK
        }
        Err(e) => e.code(),
    }
}

unsafe extern "system" fn sys_binding_path(this: *mut c_void, _: u32, _: *mut c_void) -> HRESULT {
    // SAFETY: COM contract: `this` is our slot-3 pointer.
    hr(unsafe { notify::<3>(this) }.sys_binding_path())
}

unsafe extern "system" fn sys_notify_component(
    this: *mut c_void,
    flags: u32,
    component: *mut c_void,
) -> HRESULT {
    // SAFETY: COM contract: our slot-3 pointer; an INetCfgComponent pointer or NULL.
    let (notify, component) = unsafe { notify_and::<3, INetCfgComponent>(this, &component) };
    hr(notify.sys_notify_component(flags, component))
}

static GLOBAL: INetCfgComponentNotifyGlobal_Vtbl = INetCfgComponentNotifyGlobal_Vtbl {
    base__: unknown::<3>(),
    GetSupportedNotifications: supported_notifications,
    SysQueryBindingPath: sys_binding_path,
    SysNotifyBindingPath: sys_binding_path,
    SysNotifyComponent: sys_notify_component,
};

/// Creates a notify object and returns its `iid` interface in `out`.
///
/// # Safety
/// `iid` and `out` are valid pointers (COM contract).
unsafe fn create(iid: *const GUID, out: *mut *mut c_void) -> HRESULT {
    let object = Box::into_raw(Box::new(Object {
        vtables: [
            (&raw const CONTROL).cast(),
            (&raw const SETUP).cast(),
            (&raw const BINDING).cast(),
            (&raw const GLOBAL).cast(),
        ],
        refs: AtomicU32::new(1),
        notify: NotifyObject::new(),
    }));
    object_created();
    // SAFETY: `object` is live with one reference; the caller's pointers are valid.
    let result = unsafe { query::<0>(object.cast(), iid, out) };
    // SAFETY: drops the creation reference (frees the object when the query failed).
    unsafe { release::<0>(object.cast()) };
    result
}

// --- The class factory (a static object) ------------------------------------------------------

#[repr(C)]
struct Factory {
    vtable: *const IClassFactory_Vtbl,
}

// SAFETY: the factory is immutable: one pointer to an immutable static vtable.
unsafe impl Sync for Factory {}

static FACTORY: Factory = Factory {
    vtable: &raw const FACTORY_VTBL,
};

unsafe extern "system" fn factory_query(
    this: *mut c_void,
    iid: *const GUID,
    out: *mut *mut c_void,
) -> HRESULT {
    if iid.is_null() || out.is_null() {
        return E_POINTER;
    }
    // SAFETY: checked non-null; the caller's IID.
    let iid = unsafe { *iid };
    let known = iid == IUnknown::IID || iid == IClassFactory::IID;
    // SAFETY: checked non-null; the caller's out-pointer.
    unsafe { *out = if known { this } else { core::ptr::null_mut() } };
    if known {
        object_created();
        S_OK
    } else {
        E_NOINTERFACE
    }
}

/// The factory is static: its references only keep the DLL loaded (`DllCanUnloadNow`).
unsafe extern "system" fn factory_add_ref(_: *mut c_void) -> u32 {
    object_created();
    2
}

unsafe extern "system" fn factory_release(_: *mut c_void) -> u32 {
    object_destroyed();
    1
}

unsafe extern "system" fn create_instance(
    _: *mut c_void,
    outer: *mut c_void,
    iid: *const GUID,
    out: *mut *mut c_void,
) -> HRESULT {
    if out.is_null() || iid.is_null() {
        return E_POINTER;
    }
    // SAFETY: checked non-null; the caller's out-pointer.
    unsafe { *out = core::ptr::null_mut() };
    if !outer.is_null() {
        return CLASS_E_NOAGGREGATION;
    }
    // SAFETY: both pointers checked non-null.
    unsafe { create(iid, out) }
}

unsafe extern "system" fn lock_server(_: *mut c_void, lock: BOOL) -> HRESULT {
    if lock.as_bool() {
        object_created();
    } else {
        object_destroyed();
    }
    S_OK
}

static FACTORY_VTBL: IClassFactory_Vtbl = IClassFactory_Vtbl {
    base__: IUnknown_Vtbl {
        QueryInterface: factory_query,
        AddRef: factory_add_ref,
        Release: factory_release,
    },
    CreateInstance: create_instance,
    LockServer: lock_server,
};

/// `iid` of the class factory in `out` (`DllGetClassObject`).
///
/// # Safety
/// `iid` and `out` are valid pointers (COM contract).
pub unsafe fn factory(iid: *const GUID, out: *mut *mut c_void) -> HRESULT {
    // SAFETY: the static factory lives forever; the caller's pointers are valid.
    unsafe { factory_query((&raw const FACTORY).cast_mut().cast(), iid, out) }
}
