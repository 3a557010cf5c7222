//! The DLL exports NetCfg uses: `DllGetClassObject` (the class factory of the one CLSID) and
//! `DllCanUnloadNow`. No `DllRegisterServer`: the network class installer creates the object
//! from the INF's `Ndi\ClsID` and `Ndi\ComponentDll` values (docs/windows.md §4), and nothing in
//! the install calls it.

use core::ffi::c_void;
use core::sync::atomic::{AtomicUsize, Ordering};

use windows_core::{GUID, HRESULT};

use super::object::{E_POINTER, S_OK, factory};

const S_FALSE: HRESULT = HRESULT(1);
const CLASS_E_CLASSNOTAVAILABLE: HRESULT = HRESULT(0x8004_0111_u32 as i32);

/// Live objects, factory references and `LockServer` locks: the DLL may unload at 0.
static IN_USE: AtomicUsize = AtomicUsize::new(0);

pub(super) fn object_created() {
    IN_USE.fetch_add(1, Ordering::SeqCst);
}

pub(super) fn object_destroyed() {
    IN_USE.fetch_sub(1, Ordering::SeqCst);
}

/// `DllGetClassObject`: the class factory of [`crate::CLSID`].
///
/// # Safety
/// COM contract: valid pointers to a CLSID, an IID and an out-pointer.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn DllGetClassObject(
    clsid: *const GUID,
    iid: *const GUID,
    object: *mut *mut c_void,
) -> HRESULT {
    if clsid.is_null() || iid.is_null() || object.is_null() {
        return E_POINTER;
    }
    // SAFETY: checked non-null; the caller's out-pointer.
    unsafe { *object = core::ptr::null_mut() };
    // SAFETY: checked non-null; COM passes a valid CLSID.
    if unsafe { *clsid } != GUID::from_u128(crate::CLSID) {
        return CLASS_E_CLASSNOTAVAILABLE;
    }
    // SAFETY: iid and object are valid (checked above).
    unsafe { factory(iid, object) }
}

/// `DllCanUnloadNow`: S_OK when no object, factory reference or lock is alive.
#[unsafe(no_mangle)]
pub extern "system" fn DllCanUnloadNow() -> HRESULT {
    if IN_USE.load(Ordering::SeqCst) == 0 {
        S_OK
    } else {
        S_FALSE
    }
}
