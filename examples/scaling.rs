//! Scaling and load-sweep figures for issue 11 (wall clock, so indicative, not a gate):
//!
//!     RUSTFLAGS="--cfg chimney_uninstrumented" cargo run --release --example scaling [-- quick]
//!
//! 1. **Accounting, 1 vs 2 threads on disjoint connections.** Each thread forwards and completes
//!    NBLs on its own connection with the driver's in-flight accounting per NBL: today's
//!    (`Rundown` on the adapter and on the binding, both shared by every CPU, plus the
//!    connection's own count) and the per-processor one (`PerCpuCounts` for adapter and
//!    binding, each thread on its own slot, plus the connection's count). Reports throughput per
//!    thread and the 2-thread/1-thread ratio of the total. This isolates the accounting: the
//!    NDIS model serialises every NDIS call on one lock, so the whole driver cannot be scaled
//!    through it.
//! 2. **Load sweep through the NDIS model.** Chimney receive round trips (post a chain of 8,
//!    the target completes it) on one connection while 1, 1,024 or 65,536 other connections
//!    are offloaded, and while 1 or 10^6 NBLs are in flight; wall time per NBL (driver and
//!    model together) and the spread (slowest / fastest).
//!
//! `--cfg chimney_uninstrumented` keeps the test-build shared-write counter (itself a shared
//! line) out of the accounting it measures; `.ci/measure-hotpath` builds that way.
#[cfg(not(windows))]
#[path = "scaling/host.rs"]
mod host;

#[cfg(not(windows))]
fn main() {
    host::main();
}

#[cfg(windows)]
fn main() {
    eprintln!("scaling: host (Linux) builds only: it measures kernel-layer internals");
}
