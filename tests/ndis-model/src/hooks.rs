//! Test hooks: run a closure inside the driver's next call to a given export, on the driver's
//! own thread, before the export does anything (and outside the model's world lock). Lets a
//! test put another driver call exactly into a window the driver opens around an NDIS call
//! (e.g. a close landing while a reopen resets its event outside its lock), deterministically.

use std::sync::Mutex;

use crate::verifier::Export;

type Hook = (Export, Box<dyn FnOnce() + Send>);

static NEXT: Mutex<Vec<Hook>> = Mutex::new(Vec::new());

/// Runs `f` at the start of the next call of `export` (once).
pub fn run_inside_next(export: Export, f: impl FnOnce() + Send + 'static) {
    NEXT.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push((export, Box::new(f)));
}

/// Called by every export on entry: runs (and forgets) the first hook registered for `e`.
pub(crate) fn run_for(e: Export) {
    let hook = {
        let mut next = NEXT
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if next.is_empty() {
            return;
        }
        next.iter()
            .position(|(x, _)| *x == e)
            .map(|i| next.remove(i).1)
    };
    if let Some(f) = hook {
        f();
    }
}

/// Halts the virtual miniport of adapter `a` (device disabled) and enables it again
/// (NetEventIMReEnableDevice, then the device start): a new MiniportInitializeEx, a new
/// miniport handle. For use inside a hook, to put that PnP cycle into a window of a data-path
/// handler.
pub fn cycle_device(a: crate::AdapterId) {
    crate::devflows::halt_device(a.0, chimney_im::ndis::halt_action::DEVICE_DISABLED);
    let _ = crate::devflows::reenable_device(a.0, false);
}
