//! Calls into the driver's handlers: at the right IRQL, with no model lock held, checking what
//! the handler left behind (IRQL, spin locks).
//!
//! Every handler pointer the model keeps is converted with [`Unwinding`] to the same signature
//! with the `"system-unwind"` ABI before it is called. The calling convention is identical; the
//! difference is that the call may unwind: when the driver image faults or calls `KeBugCheckEx`
//! (Wine tier), the model raises an [`ImageFault`] panic that unwinds through the image's frames
//! (their `.pdata` is registered) back to the [`call`] that entered the driver. With the plain
//! `"system"` pointer type the compiler assumes the call cannot unwind, drops the landing pad, and
//! the process aborts instead. The driver's own declarations stay `"system"`, so the image and
//! the driver crate are unchanged.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

use chimney_im::ndis::{Kirql, NdisHandle};

use crate::irql;
use crate::world;

/// The panic payload of a fault in the driver image (or its `KeBugCheckEx`). The violation is
/// already recorded when it is raised.
#[derive(Debug)]
pub struct ImageFault {
    pub check: &'static str,
    pub message: String,
}

/// Records `check` with `message` as a violation, marks the model faulted and unwinds to the
/// handler call that entered the driver.
pub fn image_fault(check: &'static str, message: String) -> ! {
    world::try_with(|w| {
        w.faulted = true;
        w.v.fail(check, || message.clone());
    });
    resume_unwind(Box::new(ImageFault { check, message }))
}

/// Whether `len` bytes at `addr` lie inside the loaded driver image (always false when the
/// driver is the linked rlib).
pub fn in_image(addr: usize, len: usize) -> bool {
    #[cfg(windows)]
    {
        crate::image::contains(addr, len)
    }
    #[cfg(not(windows))]
    {
        let _ = (addr, len);
        false
    }
}

/// A driver handler pointer type and its `"system-unwind"` twin.
pub trait Unwinding: Copy {
    type Target: Copy;
    fn unwinding(self) -> Self::Target;
}

macro_rules! unwinding {
    ($($arg:ident),*) => {
        impl<R, $($arg),*> Unwinding for unsafe extern "system" fn($($arg),*) -> R {
            type Target = unsafe extern "system-unwind" fn($($arg),*) -> R;
            fn unwinding(self) -> Self::Target {
                let p = self as *const ();
                // SAFETY: the two pointer types differ only in whether the callee may unwind; the
                // calling convention, arguments and result are the same, and calling a function
                // that never unwinds through a pointer that allows unwinding is sound.
                unsafe { std::mem::transmute_copy::<*const (), Self::Target>(&p) }
            }
        }
    };
}
unwinding!();
unwinding!(A);
unwinding!(A, B);
unwinding!(A, B, C);
unwinding!(A, B, C, D);
unwinding!(A, B, C, D, E);

/// `Option<handler>` converted.
pub fn unwinding<H: Unwinding>(h: Option<H>) -> Option<H::Target> {
    h.map(Unwinding::unwinding)
}

/// Calls handler `name` at `irql`. A fault in the driver image surfaces here: nested calls pass
/// it on; the outermost call turns it into a test failure naming the fault.
pub fn call<R>(name: &'static str, irql: Kirql, f: impl FnOnce() -> R) -> R {
    world::with(|w| *w.handler_calls.entry(name).or_default() += 1);
    let (depth, irql_before, locks_before) = (
        irql::driver_depth(),
        irql::current(),
        irql::held_locks().len(),
    );
    let (r, exit) = match catch_unwind(AssertUnwindSafe(|| irql::call_at(irql, f))) {
        Ok(v) => v,
        Err(p) => {
            irql::unwound_from_driver(depth, irql_before, locks_before);
            match p.downcast::<ImageFault>() {
                Ok(fault) if depth == 0 => panic!(
                    "ndis-model: the driver image faulted in {name}: [{}] {}",
                    fault.check, fault.message
                ),
                Ok(fault) => resume_unwind(fault),
                Err(other) => resume_unwind(other),
            }
        }
    };
    world::with(|w| {
        let (irql_after, locks) = exit.as_ref().map_or((irql, Vec::new()), |e| {
            (e.irql_after, e.locks_after.clone())
        });
        w.v.check("handler.returns_at_entry_irql", irql_after == irql, || {
            format!("{name} entered at IRQL {irql}, returned at {irql_after}")
        });
        w.v.check(
            "handler.returns_without_spin_locks",
            locks.is_empty(),
            || format!("{name} returned holding spin lock(s) {locks:x?}"),
        );
    });
    r
}

pub fn h(v: usize) -> NdisHandle {
    v as NdisHandle
}
