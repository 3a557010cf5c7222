//! Calls into the driver's handlers: at the right IRQL, with no model lock held, checking what
//! the handler left behind (IRQL, spin locks).
//!
//! A driver that goes wrong inside a handler fails the test that called it, not the whole test
//! binary:
//! - Wine tier: when the image faults or calls `KeBugCheckEx`, the model raises a [`DriverFault`]
//!   panic that unwinds through the image's frames (their `.pdata` is registered) back to the
//!   [`call`] that entered the driver.
//! - Linux tier: a panic in the linked driver (a failed `debug_assert!`, an overflow) unwinds
//!   through the driver's handlers, which host builds declare `"system-unwind"`
//!   (`#[handler_abi::host_unwind]`; the image keeps `"system"`), to [`call`], which records it.
//!
//! Either way every handler pointer the model calls has the `"system-unwind"` ABI: the driver's
//! handler types already have it in host builds, and [`Unwinding`] converts any plain `"system"`
//! pointer (the calling convention is the same). Through a `"system"` pointer type the compiler
//! would assume the call cannot unwind, drop the landing pad, and the process would abort. Model exports are
//! `"system-unwind"` as well, and pass a [`DriverFault`] on. The outermost [`call`] turns it into
//! a test failure naming the fault; the model then abandons the driver (no unload).

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

use std::time::Instant;

use chimney_im::ndis::{Kirql, NdisHandle};

use crate::irql;
use crate::world;

/// The panic payload of a fault in the driver: an exception in the image, its `KeBugCheckEx`, or
/// a panic in the linked driver. The violation is already recorded when it is raised.
#[derive(Debug)]
pub struct DriverFault {
    pub check: &'static str,
    pub message: String,
}

/// Records `check` with `message` as a violation, marks the model faulted and unwinds to the
/// handler call that entered the driver.
pub fn driver_fault(check: &'static str, message: String) -> ! {
    world::try_with(|w| {
        w.faulted = true;
        w.v.fail(check, || message.clone());
    });
    resume_unwind(Box::new(DriverFault { check, message }))
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
        impl<R, $($arg),*> Unwinding for unsafe extern "system-unwind" fn($($arg),*) -> R {
            type Target = Self;
            fn unwinding(self) -> Self {
                self
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
    let id = world::with(|w| {
        *w.handler_calls.entry(name).or_default() += 1;
        crate::timing::enter_call(w)
    });
    let (depth, irql_before, locks_before) = (
        irql::driver_depth(),
        irql::current(),
        irql::held_locks().len(),
    );
    let start = Instant::now();
    let (r, exit) = match catch_unwind(AssertUnwindSafe(|| irql::call_at(irql, f))) {
        Ok(v) => v,
        Err(p) => {
            irql::unwound_from_driver(depth, irql_before, locks_before);
            match p.downcast::<DriverFault>() {
                Ok(fault) if depth == 0 => panic!(
                    "ndis-model: the driver faulted in {name}: [{}] {}",
                    fault.check, fault.message
                ),
                Ok(fault) => resume_unwind(fault),
                Err(other) => {
                    let msg = other
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| other.downcast_ref::<&str>().map(|s| (*s).to_string()))
                        .unwrap_or_else(|| "(no message)".to_string());
                    let msg = format!("{name} panicked: {msg}");
                    if depth == 0 {
                        world::try_with(|w| {
                            w.faulted = true;
                            w.v.fail("driver.panic", || msg.clone());
                        });
                        panic!("ndis-model: the driver panicked in {name}: [driver.panic] {msg}");
                    }
                    driver_fault("driver.panic", msg)
                }
            }
        }
    };
    let elapsed = start.elapsed();
    world::with(|w| {
        crate::timing::exit_call(w, id, name, elapsed);
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

#[cfg(test)]
mod tests {
    use std::panic::{AssertUnwindSafe, catch_unwind};

    use chimney_im::ndis::PASSIVE_LEVEL;

    use crate::testkit::one_adapter;
    use crate::{AdapterPolicy, Model};

    fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
        p.downcast_ref::<String>().cloned().unwrap_or_default()
    }

    /// A stand-in for a driver handler that fails a check.
    ///
    /// # Safety
    /// None beyond the call itself.
    unsafe extern "system-unwind" fn failing_handler(x: u32) -> u32 {
        assert!(x == 0, "driver check failed: x = {x}");
        x
    }

    /// A stand-in for a driver handler that bugchecks (what the image's panic handler does).
    unsafe extern "system-unwind" fn bugchecking_handler(code: u32) {
        // SAFETY: called by the test with plain integer parameters (no RPNC string).
        unsafe { crate::exports::runtime::ke_bug_check_ex(code, 1, 2, 3, 4) }
    }

    fn fails_cleanly(m: &mut Model, f: impl FnOnce(), expected: &str) {
        let err = catch_unwind(AssertUnwindSafe(f)).expect_err("the call must fail its test");
        let msg = panic_text(&*err);
        assert!(msg.contains(expected), "expected `{expected}` in `{msg}`");
        let v = m.take_violations();
        assert_eq!(v.len(), 1, "{v:?}");
        assert!(v[0].to_string().contains(expected), "{v:?}");
    }

    #[test]
    fn a_failed_check_in_a_handler_fails_the_call_and_the_next_model_loads() {
        let mut m = one_adapter(AdapterPolicy::default(), 1);
        fails_cleanly(
            &mut m,
            || {
                // SAFETY: a plain function taking an integer.
                super::call("TestHandler", PASSIVE_LEVEL, || unsafe {
                    failing_handler(7)
                });
            },
            "[driver.panic] TestHandler panicked: driver check failed: x = 7",
        );
        drop(m);
        let m = one_adapter(AdapterPolicy::default(), 2);
        assert!(m.unload().violations.is_empty());
    }

    #[test]
    fn ke_bug_check_ex_is_a_violation_with_code_and_parameters() {
        let mut m = one_adapter(AdapterPolicy::default(), 3);
        fails_cleanly(
            &mut m,
            || {
                // SAFETY: a plain function taking an integer.
                super::call("TestHandler", PASSIVE_LEVEL, || unsafe {
                    bugchecking_handler(0xDEAD)
                });
            },
            "[image.bug_check] KeBugCheckEx(0x0000dead, 0x1, 0x2, 0x3, 0x4)",
        );
    }
}
