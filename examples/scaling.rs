//! Scaling and load-sweep figures for issue 11 (wall clock, so indicative, not a gate):
//!
//!     RUSTFLAGS="--cfg chimney_uninstrumented" cargo run --release --example scaling [-- quick]
//!
//! 1. **1 vs 2 threads on disjoint connections** (`scaling/threads.rs`): per path (plain send,
//!    plain receive, chimney receive post), the per-NBL accounting exactly as the driver's
//!    forwarding token takes and returns it, with the driver's per-processor count type, each
//!    thread on its own CPU slot and connection; a shared-word control variant beside it.
//!    Throughput per thread and the 2-thread/1-thread ratio of the total, median and range over
//!    repetitions (`SCALING_REPS`). This isolates the accounting: the NDIS model serialises every
//!    NDIS call on one lock, so the whole driver cannot be scaled through it; the deterministic
//!    counterpart is `tests/host_shared_writes.rs` (0 writes per NBL to adapter- or binding-wide
//!    lines).
//! 2. **Load sweep through the NDIS model** (`scaling/host.rs`): chimney receive round trips
//!    (post a chain of 8, the target completes it) on one connection while 1, 1,024 or 65,536
//!    other connections are offloaded, and while 1 or 10^6 NBLs are in flight; wall time per NBL
//!    (driver and model together) and the spread. The driver-only, deterministic version of this
//!    sweep is `.ci/measure-sweep` (callgrind).
//!
//! `SCALING_THREADS_ONLY=1` / `SCALING_SWEEP_ONLY=1` run one part. `--cfg
//! chimney_uninstrumented` keeps the test-build shared-write counter (itself a shared line) out
//! of the accounting it measures; `.ci/measure-hotpath` builds that way.
#[cfg(not(windows))]
#[path = "scaling/host.rs"]
mod host;
#[cfg(not(windows))]
#[path = "scaling/threads.rs"]
mod threads;

#[cfg(not(windows))]
fn main() {
    host::main();
}

#[cfg(windows)]
fn main() {
    eprintln!("scaling: host (Linux) builds only: it measures kernel-layer internals");
}
