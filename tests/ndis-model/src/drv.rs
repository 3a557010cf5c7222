//! Calls into the driver's handlers: at the right IRQL, with no model lock held, checking what
//! the handler left behind (IRQL, spin locks).

use std::time::Instant;

use chimney_im::ndis::{Kirql, NdisHandle};

use crate::irql;
use crate::world;

/// Calls handler `name` at `irql`.
pub fn call<R>(name: &'static str, irql: Kirql, f: impl FnOnce() -> R) -> R {
    let id = world::with(|w| {
        *w.handler_calls.entry(name).or_default() += 1;
        crate::timing::enter_call(w)
    });
    let start = Instant::now();
    let (r, exit) = irql::call_at(irql, f);
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
