//! Every ndis.sys / ntoskrnl export the driver imports, defined with the exact signatures of
//! `chimney_im::ndis::imports`, plus the force-link table.

pub mod binding;
pub mod checks;
pub mod chimney;
pub mod chimney_io;
pub mod datapath;
pub mod device;
pub mod memory;
pub mod oid;
pub mod processor;
pub mod registration;
pub mod runtime;
pub mod sync;
pub mod table;

pub use table::{EXPORTS, ExportTable};

use std::panic::{AssertUnwindSafe, catch_unwind};

use chimney_im::ndis::{Kirql, PASSIVE_LEVEL};

use crate::config::Fault;
use crate::irql;
use crate::verifier::Export;
use crate::world::{Phase, World};

/// Common prologue of every export: counts the call, checks IRQL, spin locks and driver phase.
pub(crate) fn enter(w: &mut World, e: Export, max_irql: Kirql) {
    *w.handler_calls.entry("(export calls)").or_default() += 1;
    let mut cur = irql::current();
    if w.cfg.faults.contains(&Fault::PassiveCall(e)) {
        cur = PASSIVE_LEVEL;
    }
    w.v.check("irql.export_max", cur <= max_irql, || {
        format!("{e} called at IRQL {cur}, documented maximum is {max_irql}")
    });
    let min_irql = e.min_irql();
    if min_irql > PASSIVE_LEVEL {
        w.v.check("irql.export_min", cur >= min_irql, || {
            format!("{e} called at IRQL {cur}, it is documented for IRQL {min_irql} only")
        });
    }
    for f in &w.cfg.faults {
        if let Fault::SlowExport(slow, d) = *f
            && slow == e
        {
            std::thread::sleep(d);
        }
    }
    if e.is_ndis() {
        let held = irql::held_locks();
        w.v.check("lock.not_held_across_ndis_call", held.is_empty(), || {
            format!("{e} called while holding spin lock(s) {held:x?}")
        });
    }
    let phase = w.phase;
    w.v.check(
        "driver.no_calls_after_unload",
        phase != Phase::Unloaded,
        || format!("{e} called after MiniportDriverUnload returned"),
    );
}

/// Runs an export body; a panic inside the model becomes a violation instead of an abort. A
/// fault of the driver image (raised by a handler the export called) passes on: it unwinds
/// through the export (every export is `"system-unwind"`) to the handler call that entered the
/// driver.
pub(crate) fn guard<R>(e: Export, fallback: R, f: impl FnOnce() -> R) -> R {
    crate::hooks::run_for(e);
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(p) if p.is::<crate::drv::DriverFault>() => std::panic::resume_unwind(p),
        Err(p) => {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_string()))
                .unwrap_or_default();
            crate::world::try_with(|w| {
                w.v.fail("model.internal_error", || {
                    format!("panic inside {e}: {msg}")
                })
            });
            fallback
        }
    }
}

/// Reads a UNICODE_STRING the driver passed (None for NULL or a NULL buffer with length > 0).
pub(crate) fn read_ustr(s: *const chimney_im::ndis::UnicodeString) -> Option<String> {
    if s.is_null() {
        return None;
    }
    // SAFETY: the driver passes a pointer to an initialised UNICODE_STRING whose Buffer holds
    // Length bytes (the documented contract of every NDIS_STRING parameter).
    unsafe {
        let s = &*s;
        if s.length == 0 {
            return Some(String::new());
        }
        if s.buffer.is_null() || !s.length.is_multiple_of(2) || s.length > s.maximum_length {
            return None;
        }
        let v = std::slice::from_raw_parts(s.buffer, usize::from(s.length / 2));
        Some(String::from_utf16_lossy(v))
    }
}
