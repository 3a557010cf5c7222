//! Processor identity: `KeGetCurrentProcessorNumberEx` and `KeQueryActiveProcessorCountEx`.
//!
//! The model has one processor group of `ModelConfig::processors` processors. Each model thread
//! "runs on" a processor: the one a test set with [`set_current_processor`], else one derived
//! from the thread (threads are numbered in the order they first ask, modulo the processor
//! count), so a test can forward on CPU 0 and complete on CPU 1. The model's DPC worker runs on
//! the last processor (see `sched::start_worker`). Both exports are lock-free
//! (they sit on the driver's per-NBL path once it keeps per-processor counts); their checks
//! record violations only when one fails.

#![allow(non_snake_case, reason = "exports keep their ntoskrnl names")]

use std::cell::Cell;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use chimney_im::ndis::{ALL_PROCESSOR_GROUPS, ProcessorNumber};

use super::guard;
use crate::irql;
use crate::verifier::Export as E;
use crate::world;

/// Active processors of the loaded model (set by `Model::load`).
static PROCESSORS: AtomicU32 = AtomicU32::new(2);
static NEXT_THREAD: AtomicU32 = AtomicU32::new(0);
/// Calls of each export (the verifier's per-export call count would need the world lock).
static CALLS: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];
/// `KeGetCurrentProcessorNumberEx` calls answered with each processor index (one group, at most
/// 64 processors).
static CALLS_ON: [AtomicU64; 64] = [const { AtomicU64::new(0) }; 64];

thread_local! {
    static CURRENT: Cell<Option<u32>> = const { Cell::new(None) };
    static ORDINAL: u32 = NEXT_THREAD.fetch_add(1, Ordering::Relaxed);
}

pub(crate) fn set_processor_count(n: u32) {
    assert!(n >= 1, "a machine has at least one processor");
    PROCESSORS.store(n, Ordering::Relaxed);
}

pub fn processor_count() -> u32 {
    PROCESSORS.load(Ordering::Relaxed)
}

/// Makes the calling thread run on processor `index` (`None`: back to the default derived from
/// the thread). Panics if `index` is not below the model's processor count.
pub fn set_current_processor(index: Option<u32>) {
    if let Some(i) = index {
        let n = processor_count();
        assert!(i < n, "processor {i} does not exist (the model has {n})");
    }
    CURRENT.with(|c| c.set(index));
}

/// The processor the calling thread runs on.
pub fn current_processor() -> u32 {
    CURRENT
        .with(Cell::get)
        .unwrap_or_else(|| ORDINAL.with(|o| *o) % processor_count())
}

/// `KeGetCurrentProcessorNumberEx` calls so far that answered processor `index`: which
/// processors the driver's per-processor accounting ran on.
pub fn calls_on(index: u32) -> u64 {
    CALLS_ON
        .get(index as usize)
        .map_or(0, |c| c.load(Ordering::Relaxed))
}

/// Calls of (`KeGetCurrentProcessorNumberEx`, `KeQueryActiveProcessorCountEx`) so far.
pub fn calls() -> (u64, u64) {
    (
        CALLS[0].load(Ordering::Relaxed),
        CALLS[1].load(Ordering::Relaxed),
    )
}

fn fail(check: &'static str, msg: String) {
    world::try_with(|w| w.v.fail(check, || msg));
}

/// # Safety
/// Called by the driver with the documented arguments: `proc_number` NULL or writable.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe extern "system-unwind" fn KeGetCurrentProcessorNumberEx(
    proc_number: *mut ProcessorNumber,
) -> u32 {
    guard(E::KeGetCurrentProcessorNumberEx, 0, || {
        CALLS[0].fetch_add(1, Ordering::Relaxed);
        // Any IRQL: nothing to check there. The out-parameter is optional.
        let index = current_processor();
        if let Some(c) = CALLS_ON.get(index as usize) {
            c.fetch_add(1, Ordering::Relaxed);
        }
        if !proc_number.is_null() {
            if proc_number.is_aligned() {
                let number = u8::try_from(index).expect("one group of at most 64 processors");
                // SAFETY: the caller passes a writable PROCESSOR_NUMBER (checked aligned).
                unsafe {
                    proc_number.write(ProcessorNumber {
                        group: 0,
                        number,
                        reserved: 0,
                    });
                }
            } else {
                fail(
                    "processor.number_aligned",
                    format!("KeGetCurrentProcessorNumberEx({proc_number:p}): misaligned"),
                );
            }
        }
        index
    })
}

/// # Safety
/// Called by the driver with the documented arguments.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe extern "system-unwind" fn KeQueryActiveProcessorCountEx(group_number: u16) -> u32 {
    guard(E::KeQueryActiveProcessorCountEx, 0, || {
        CALLS[1].fetch_add(1, Ordering::Relaxed);
        let _ = irql::current(); // any IRQL
        match group_number {
            ALL_PROCESSOR_GROUPS | 0 => processor_count(),
            other => {
                fail(
                    "processor.group_exists",
                    format!("KeQueryActiveProcessorCountEx({other}): the model has only group 0"),
                );
                0
            }
        }
    })
}
