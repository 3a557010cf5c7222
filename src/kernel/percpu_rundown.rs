//! In-flight accounting without a shared cache line: a per-processor rundown.
//!
//! [`Rundown`](super::Rundown) is one atomic word that every CPU forwarding on an adapter writes
//! twice per NBL (acquire, release), so under RSS the line bounces between CPUs on every NBL.
//! [`PerCpuRundown`] keeps the same contract (open/closed, acquire refused once closed, the
//! drain reported by exactly one caller, reopen after a drain) with one count per processor,
//! each on its own 128-byte line: in steady state an acquire or a release is ONE atomic
//! read-modify-write on the current processor's line and nothing else.
//!
//! # Protocol
//!
//! Each slot is one `i64` word: `count << 1 | CLOSED`. The count is signed and wraps: an NBL
//! forwarded on CPU 0 and completed on CPU 1 leaves +1 in slot 0 and -1 in slot 1; only the sum
//! over the slots means anything. One more word, `central`, padded on its own line, is touched
//! only by `close`, `reopen` and releases that find their slot closed.
//!
//! - `acquire(slot, n)`: `fetch_add(2n)` on the slot. If the old word had `CLOSED`, the acquire
//!   failed; the `+2n` landed in a closed slot, whose count nobody reads again (reopen rewrites
//!   it), so nothing has to be undone. Otherwise it succeeded.
//! - `release(slot, n)`: `fetch_sub(2n)` on the slot. If the old word was open, done: the slot
//!   is swept later by `close` with this release in it. If it was closed (already swept), the
//!   release is accounted in `central` instead: `central.fetch_sub(n)`, and the one that makes
//!   `central` zero reports the drain.
//! - `close()`: marks the rundown closed, then `swap(CLOSED)` on every slot: each swap both
//!   refuses every later acquire on that slot and takes its count atomically. The counts are
//!   summed and folded into `central` with one `fetch_add(sum - BIAS)`; if that makes `central`
//!   zero, nothing is in flight and `close` reports the drain itself.
//! - `reopen()`: only from the drained state: `central = BIAS`, every slot `0` (both written
//!   with `swap`, so that every write to a slot is a read-modify-write).
//!
//! `central` holds `BIAS` (2^62) while the rundown is open and until the fold. Releases that
//! find their slot closed during the sweep subtract from it; it cannot reach zero before the
//! fold removes `BIAS` (fewer than 2^62 operations are ever in flight). After the fold it is the
//! exact number in flight (every successful acquire was swept, every release after its slot's
//! swap is subtracted): non-negative, only decreasing, so exactly one read-modify-write -- the
//! fold or one release -- takes it to zero. That is the single drain report; nothing polls.
//!
//! # Memory orderings, and why
//!
//! - Acquire's `fetch_add` is `Acquire`: it reads from `reopen`'s `Release` swap of the slot
//!   (or a later read-modify-write in that store's release sequence), so whatever the owner
//!   initialised before reopening is visible to the operation it admits.
//! - Release's slot `fetch_sub` is `Release`: `close`'s `swap` reads it (or a later RMW of the
//!   slot, which continues its release sequence), so everything the operation did happens
//!   before the sweep. Release's `central.fetch_sub` is `AcqRel`: `Release` publishes the
//!   operation to whoever later reads `central`; `Acquire` makes the one that reaches zero see
//!   every earlier RMW of `central` (all are RMWs since reopen's swap, so one release sequence
//!   each) and, through the fold, every swept slot.
//! - `close`'s slot `swap`s are `AcqRel`: `Acquire` pairs with the slot releases above;
//!   `Release` orders the close before later acquires that see `CLOSED`. Its fold is `AcqRel`
//!   for the same reason as a release's `central` RMW. Hence whoever reports the drain
//!   happens-after every operation that was admitted -- the condition for completing a pause or
//!   freeing the owner.
//! - An acquire that starts after `close` returned happens-after every swap, so by coherence
//!   its `fetch_add` reads `CLOSED` (no later write clears the bit before `reopen`): it fails.
//! - The `closed` flag is only a fast, idempotent answer for a second `close` and for
//!   `is_open`; no decision on the data path reads it.
//!
//! `close` and `reopen` are serialised by their callers (NDIS serialises pause, restart, halt
//! and unbind of one adapter), but a second `close` concurrent with the first is harmless: it
//! sees `closed` and reports `Pending` until the drain. Acquire and release may run anywhere,
//! any time, at any IRQL up to DISPATCH_LEVEL, and on any slot (correctness never depends on
//! which slot: the processor index only decides which line is written).
//!
//! The padding is 128 bytes, not 64: x86 processors prefetch the other 64-byte line of each
//! aligned 128-byte pair (the L2 "adjacent line" / spatial prefetcher), and several Arm server
//! cores have 128-byte lines, so two 64-byte slots sharing a 128-byte pair would still ping-pong.

use core::ops::Deref;
use core::ptr::NonNull;

#[cfg(loom)]
use loom::sync::atomic::{AtomicBool, AtomicI64, Ordering};

#[cfg(not(loom))]
use core::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use super::event::Event;
use super::memory::PoolArray;
use super::rundown::{Drain, record_shared_write};
use crate::ndis::imports::{KeGetCurrentProcessorNumberEx, KeQueryActiveProcessorCountEx};
use crate::ndis::{ALL_PROCESSOR_GROUPS, NdisHandle};

/// Low bit of a slot word: the slot is closed (swept).
const CLOSED: i64 = 1;
/// One operation in a slot word (the count sits above the `CLOSED` bit).
const UNIT: i64 = 2;
/// What `central` holds while the rundown is open; larger than anything ever in flight.
const BIAS: i64 = 1 << 62;

/// One processor's count, alone on its 128-byte line pair.
#[repr(C, align(128))]
pub struct Slot {
    word: AtomicI64,
}

impl Slot {
    /// A closed slot (its rundown starts closed, like [`Rundown::new_closed`](super::Rundown)).
    pub fn new_closed() -> Self {
        Self {
            word: AtomicI64::new(CLOSED),
        }
    }
}

/// The words `close`, `reopen` and releases on swept slots share; never written per NBL while
/// the rundown is open. Not padded: it lives inside its owner (the binding, in pool memory that
/// is only 16-byte aligned), next to fields the data path only reads, and is written only from
/// the close on, so sharing their line costs nothing in steady state.
#[repr(C)]
struct Shared {
    central: AtomicI64,
    closed: AtomicBool,
}

/// Slot storage whose slice never moves or changes length while it is owned (the buffer of a
/// `Vec` that is never mutated, a pool array): [`PerCpuCounts`] indexes it without a bounds
/// check, with a mask computed from the length once.
///
/// # Safety
/// Every `deref` of the same value returns the same slice (same address and length) for as long
/// as the value lives, and the value is only ever accessed through `&`.
pub unsafe trait StableSlots: Deref<Target = [Slot]> {}

// SAFETY: PerCpuCounts owns the Vec and never hands out `&mut` to it, so its buffer is neither
// reallocated nor resized. (Host builds: the tests' slot storage.)
#[cfg(any(not(windows), windows_host))]
unsafe impl StableSlots for std::vec::Vec<Slot> {}

// SAFETY: a pool array's block is allocated once and freed only by its drop; its length is fixed.
unsafe impl StableSlots for PoolArray<Slot> {}

/// The algorithm over any slot storage, with the slot chosen by the caller: [`PerCpuRundown`]
/// passes the current processor; the tests (and loom) pass whatever slot they model.
///
/// A processor index picks slot `index & mask`, where `mask + 1` is the largest power of two
/// that is at most the slot count ([`PerCpuRundown`] allocates a power of two, so every slot is
/// used): one AND instead of a bounds check, and an index past the end (a processor hot-added
/// after creation) folds onto a slot, which is correct (any slot may count any operation).
pub struct PerCpuCounts<S: StableSlots> {
    mask: usize,
    slots: S,
    shared: Shared,
}

impl<S: StableSlots> PerCpuCounts<S> {
    /// A closed, drained rundown over `slots` (all of which must be [`Slot::new_closed`]); None
    /// if there are no slots.
    pub fn new_closed(slots: S) -> Option<Self> {
        let len = slots.len();
        if len == 0 {
            return None;
        }
        // The largest power of two <= len: `len` with all but its highest bit cleared.
        let mask = (1usize << (usize::BITS - 1 - len.leading_zeros())) - 1;
        Some(Self {
            mask,
            slots,
            shared: Shared {
                central: AtomicI64::new(0),
                closed: AtomicBool::new(true),
            },
        })
    }

    #[cfg(not(windows))]
    pub fn slot_count(&self) -> usize {
        self.slots.len()
    }

    /// The slot of processor `index` (masked: see the type's documentation).
    #[inline(always)]
    fn slot(&self, index: usize) -> &Slot {
        // SAFETY: `index & mask <= mask < slots.len()` (mask + 1 is a power of two <= the
        // length, fixed for the value's life: StableSlots), so the offset from the slice's
        // first element stays inside the slice.
        let slot = unsafe {
            NonNull::from(&*self.slots)
                .cast::<Slot>()
                .add(index & self.mask)
        };
        // SAFETY: `slot` is one of `slots` (above), initialised and only shared (atomics),
        // borrowed for `&self`, which keeps `slots` alive.
        unsafe { slot.as_ref() }
    }

    /// Starts `n` operations on `slot` if the rundown is open. One RMW on that slot's line.
    #[inline(always)]
    pub fn try_acquire_on(&self, slot: usize, n: u32) -> bool {
        let slot = self.slot(slot);
        let previous = slot.word.fetch_add(UNIT * i64::from(n), Ordering::Acquire);
        previous & CLOSED == 0
    }

    /// Ends `n` operations (acquired on any slot) on `slot`. One RMW on that slot's line while
    /// open; after the close swept the slot, one more on `central`.
    #[inline(always)]
    pub fn release_on(&self, slot: usize, n: u32) -> Drain {
        if n == 0 {
            return Drain::Pending;
        }
        let slot = self.slot(slot);
        let previous = slot.word.fetch_sub(UNIT * i64::from(n), Ordering::Release);
        if previous & CLOSED == 0 {
            // Counted in the slot; the close's sweep will see it.
            return Drain::Pending;
        }
        self.release_swept(n)
    }

    /// The part of a release after its slot was swept: only while closing.
    #[cold]
    #[inline(never)]
    fn release_swept(&self, n: u32) -> Drain {
        let n = i64::from(n);
        record_shared_write(true);
        let before = self.shared.central.fetch_sub(n, Ordering::AcqRel);
        debug_assert!(before >= n, "per-CPU rundown released more than acquired");
        if before == n {
            Drain::Drained
        } else {
            Drain::Pending
        }
    }

    /// Refuses new operations. Returns `Drained` if nothing is in flight now (this call is then
    /// the one report); otherwise the release that ends the last operation returns `Drained`.
    /// Closing an already closed rundown returns `Drained` iff it has drained.
    pub fn close(&self) -> Drain {
        if self.shared.closed.swap(true, Ordering::AcqRel) {
            return if self.shared.central.load(Ordering::Acquire) == 0 {
                Drain::Drained
            } else {
                Drain::Pending
            };
        }
        let mut sum: i64 = 0;
        for slot in self.slots.iter() {
            let previous = slot.word.swap(CLOSED, Ordering::AcqRel);
            debug_assert!(
                previous & CLOSED == 0,
                "slot closed while the rundown was open"
            );
            // Arithmetic shift: the signed count.
            sum = sum.wrapping_add(previous >> 1);
        }
        let delta = sum.wrapping_sub(BIAS);
        record_shared_write(true);
        let before = self.shared.central.fetch_add(delta, Ordering::AcqRel);
        if before.wrapping_add(delta) == 0 {
            Drain::Drained
        } else {
            Drain::Pending
        }
    }

    /// Opens a closed, drained rundown again. Returns false (changing nothing) if it is open or
    /// still has operations in flight, which callers treat as a state bug.
    pub fn reopen(&self) -> bool {
        if !self.shared.closed.load(Ordering::Acquire)
            || self.shared.central.load(Ordering::Acquire) != 0
        {
            return false;
        }
        // Nothing is in flight, so no release touches `central` until an acquire succeeds,
        // which needs a slot opened below (Release) after this write.
        //
        // Every write here is a read-modify-write (swap), not a store: a refused acquire may
        // still be adding to a closed slot concurrently, and with RMWs only, the slot's
        // modification order is a chain of RMWs that each read their predecessor -- the
        // increment lands either before the reopen (overwritten) or after it (then it read the
        // open word and was admitted). Loom flagged the plain-store version: its model does not
        // enforce RMW atomicity against a racing plain store, and this way no argument needs it.
        self.shared.central.swap(BIAS, Ordering::Relaxed);
        for slot in self.slots.iter() {
            slot.word.swap(0, Ordering::Release);
        }
        self.shared.closed.store(false, Ordering::Release);
        true
    }

    /// Operations in flight now (diagnostics only; racy by nature, exact when quiescent).
    #[cfg(any(test, not(windows)))]
    pub fn in_flight(&self) -> u32 {
        let central = self.shared.central.load(Ordering::Acquire);
        let total = if self.shared.closed.load(Ordering::Acquire) && central < BIAS / 2 {
            central
        } else {
            let swept = central.wrapping_sub(BIAS);
            self.slots
                .iter()
                .map(|s| s.word.load(Ordering::Relaxed))
                .filter(|w| w & CLOSED == 0)
                .fold(swept, |sum, w| sum.wrapping_add(w >> 1))
        };
        u32::try_from(total.max(0)).unwrap_or(u32::MAX)
    }

    #[cfg(any(test, not(windows)))]
    pub fn is_open(&self) -> bool {
        !self.shared.closed.load(Ordering::Relaxed)
    }

    /// Each slot's count, in slot order (diagnostics: which processor's line an operation was
    /// counted on; racy by nature).
    #[cfg(not(windows))]
    pub fn slot_counts(&self) -> std::vec::Vec<i64> {
        self.slots
            .iter()
            .map(|s| s.word.load(Ordering::Relaxed) >> 1)
            .collect()
    }
}

/// The processor the caller runs on (its system-wide index), for an operation that touches
/// several per-processor rundowns: one `KeGetCurrentProcessorNumberEx` for all of them. Any
/// IRQL. Below DISPATCH_LEVEL the caller may migrate right after; that only decides which slot
/// is written, never whether the accounting is right.
#[inline(always)]
pub fn current_processor() -> u32 {
    // SAFETY: the out-parameter is optional (NULL); callable at any IRQL.
    unsafe { KeGetCurrentProcessorNumberEx(core::ptr::null_mut()) }
}

/// The per-processor rundown in pool memory, one slot per active processor, the slot chosen by
/// `KeGetCurrentProcessorNumberEx`.
pub struct PerCpuRundown {
    counts: PerCpuCounts<PoolArray<Slot>>,
}

impl PerCpuRundown {
    /// A closed rundown with one slot per processor active now (all groups), rounded up to a
    /// power of two (see [`PerCpuCounts`]: the slot is the processor index masked). Returns
    /// `None` if the pool allocation fails. PASSIVE_LEVEL or DISPATCH_LEVEL.
    pub fn try_new(ndis_handle: NdisHandle) -> Option<Self> {
        // SAFETY: no arguments beyond a group number; callable at any IRQL.
        let processors = unsafe { KeQueryActiveProcessorCountEx(ALL_PROCESSOR_GROUPS) };
        let slots = usize::try_from(processors)
            .ok()?
            .max(1)
            .checked_next_power_of_two()?;
        let slots = PoolArray::try_new_with(ndis_handle, slots, |_| Slot::new_closed())?;
        Some(Self {
            counts: PerCpuCounts::new_closed(slots)?,
        })
    }

    /// The slot index of processor `cpu`. A processor added after creation (hot add: its index
    /// can exceed the count taken then) shares a slot, folded by [`PerCpuCounts`]'s mask;
    /// correctness never depends on the choice.
    #[inline(always)]
    fn slot_of(&self, cpu: u32) -> usize {
        cpu as usize
    }

    #[cfg(not(windows))]
    pub fn slot_count(&self) -> usize {
        self.counts.slot_count()
    }

    /// Starts `n` operations if open: one RMW on the current processor's line.
    #[inline]
    pub fn try_acquire(&self, n: u32) -> bool {
        self.try_acquire_on(current_processor(), n)
    }

    /// [`PerCpuRundown::try_acquire`] with the processor already known ([`current_processor`]).
    #[inline(always)]
    pub fn try_acquire_on(&self, cpu: u32, n: u32) -> bool {
        self.counts.try_acquire_on(self.slot_of(cpu), n)
    }

    /// Ends `n` operations, on whatever processor: see [`PerCpuCounts::release_on`].
    #[cfg(not(windows))]
    #[inline]
    pub fn release(&self, n: u32) -> Drain {
        self.release_on(current_processor(), n)
    }

    /// [`PerCpuRundown::release`] with the processor already known ([`current_processor`]).
    #[inline(always)]
    pub fn release_on(&self, cpu: u32, n: u32) -> Drain {
        self.counts.release_on(self.slot_of(cpu), n)
    }

    /// See [`PerCpuCounts::close`].
    pub fn close(&self) -> Drain {
        self.counts.close()
    }

    /// See [`PerCpuCounts::reopen`].
    pub fn reopen(&self) -> bool {
        self.counts.reopen()
    }

    #[cfg(not(windows))]
    pub fn in_flight(&self) -> u32 {
        self.counts.in_flight()
    }

    #[cfg(not(windows))]
    pub fn is_open(&self) -> bool {
        self.counts.is_open()
    }

    #[cfg(not(windows))]
    pub fn slot_counts(&self) -> std::vec::Vec<i64> {
        self.counts.slot_counts()
    }
}

/// A per-processor rundown and the event its closer waits on: the drop-in for
/// `Drainable` (the shared one) where the count is written per NBL.
pub struct PerCpuDrainable {
    count: PerCpuRundown,
    drained: Event,
}

impl PerCpuDrainable {
    /// Closed. [`PerCpuDrainable::init`] it at its final address before use.
    pub fn try_new(ndis_handle: NdisHandle) -> Option<Self> {
        Some(Self {
            count: PerCpuRundown::try_new(ndis_handle)?,
            drained: Event::new(),
        })
    }

    /// Initialises the event at its final address (NDIS keeps the address).
    pub fn init(&self) {
        self.drained.init();
    }

    #[inline]
    pub fn try_acquire(&self, n: u32) -> bool {
        self.count.try_acquire(n)
    }

    #[inline(always)]
    pub fn try_acquire_on(&self, cpu: u32, n: u32) -> bool {
        self.count.try_acquire_on(cpu, n)
    }

    /// Ends `n` operations; the one that drains a closed count wakes the waiter. The release is
    /// the releaser's last access.
    #[inline]
    pub fn release(&self, n: u32) {
        self.release_on(current_processor(), n);
    }

    /// [`PerCpuDrainable::release`] with the processor already known ([`current_processor`]).
    #[inline(always)]
    pub fn release_on(&self, cpu: u32, n: u32) {
        if self.count.release_on(cpu, n) == Drain::Drained {
            self.drained.set();
        }
    }

    pub fn reopen(&self) -> bool {
        self.count.reopen()
    }

    /// Refuses new operations and waits until those in flight ended. PASSIVE_LEVEL.
    pub fn drain(&self) {
        self.drained.close_and_wait(|| self.count.close());
    }

    #[cfg(not(windows))]
    pub fn in_flight(&self) -> u32 {
        self.count.in_flight()
    }

    #[cfg(not(windows))]
    pub fn is_open(&self) -> bool {
        self.count.is_open()
    }
}

#[cfg(test)]
mod tests;
