//! The virtual miniport (one per binding, embedded in it): its lifecycle state machine and its
//! in-flight accounting.

use core::ffi::c_void;
use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, Ordering};

use crate::kernel::{Drain, Drainable, Event, Rundown};
use crate::ndis::NdisHandle;
use crate::ndis::imports::NdisMPauseComplete;

use super::binding::Binding;
use super::offload::AdapterChimney;

/// Lifecycle of the virtual miniport.
///
/// ```text
/// Absent --bind/re-enable--> InitPending --MiniportInitializeEx--> Initializing --ok--> Paused
///   ^                         |  (cancelled)                          | (failed)       |  ^
///   +-------------------------+---------------------------------------+   Restart ->  Running
///   +---------------------------------- MiniportHaltEx <--------- Paused <- Pausing <- Pause
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum AdapterState {
    Absent = 0,
    InitPending = 1,
    Initializing = 2,
    Paused = 3,
    Running = 4,
    Pausing = 5,
    Halting = 6,
}

impl AdapterState {
    fn from_u32(v: u32) -> Self {
        match v {
            1 => Self::InitPending,
            2 => Self::Initializing,
            3 => Self::Paused,
            4 => Self::Running,
            5 => Self::Pausing,
            6 => Self::Halting,
            _ => Self::Absent,
        }
    }

    /// Between a successful MiniportInitializeEx and MiniportHaltEx.
    pub fn is_initialized(self) -> bool {
        matches!(self, Self::Paused | Self::Running | Self::Pausing)
    }
}

pub struct Adapter {
    /// `NdisMiniportAdapterHandle`, set by MiniportInitializeEx, cleared by MiniportHaltEx.
    miniport_handle: AtomicPtr<c_void>,
    state: AtomicU32,
    /// Data-path operations in flight through the miniport edge: host sends not yet completed
    /// up, receive indications not yet returned. Open only while Running.
    pub io: Rundown,
    io_drained: Event,
    /// Set by MiniportPause when it returned PENDING; the drain then calls NdisMPauseComplete.
    pause_pending: AtomicBool,
    /// OIDs forwarded for this miniport and status indications in progress. Open from a
    /// successful initialize until halt.
    pub requests: Drainable,
    /// Set on every lifecycle transition that unbind may be waiting for.
    pub lifecycle: Event,
    /// MiniportInitializeEx and MiniportHaltEx in progress, each holding a guard for its whole
    /// run. Unbind sees their state changes before they return (the change is not their last
    /// touch of the binding), so before freeing it drains this: each guard's drop is the
    /// handler's very last access.
    pub handlers: Drainable,
    /// TCP chimney: upward handlers and live offload entries.
    pub chimney: AdapterChimney,
    /// Our interface index while an interface stack entry (ours over the bound adapter's) is
    /// registered; 0 when none.
    pub if_stack_higher: AtomicU32,
    /// The Binding this adapter is embedded in, stored by `init_in_place` from a pointer to the
    /// whole Binding. (Stepping back from `&self` by the field offset would leave the memory
    /// that `&self` may access — undefined behaviour under Rust's aliasing rules, which Miri's
    /// Stacked Borrows check reports.)
    enclosing: AtomicPtr<Binding>,
}

impl Adapter {
    pub(super) fn new() -> Self {
        Self {
            miniport_handle: AtomicPtr::new(ptr::null_mut()),
            state: AtomicU32::new(AdapterState::Absent as u32),
            io: Rundown::new_closed(),
            io_drained: Event::new(),
            pause_pending: AtomicBool::new(false),
            requests: Drainable::new_closed(),
            lifecycle: Event::new(),
            handlers: Drainable::new_closed(),
            chimney: AdapterChimney::new(),
            if_stack_higher: AtomicU32::new(0),
            enclosing: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// `enclosing` is the Binding whose `adapter` field this is.
    pub(super) fn init_in_place(&self, enclosing: *mut Binding) {
        self.enclosing.store(enclosing, Ordering::Relaxed);
        self.io_drained.init();
        self.requests.init();
        self.lifecycle.init();
        self.handlers.init();
        self.chimney.init_in_place();
        let opened = self.handlers.reopen();
        debug_assert!(opened);
    }

    pub(super) fn enclosing(&self) -> *mut Binding {
        self.enclosing.load(Ordering::Relaxed)
    }

    /// The binding this adapter is embedded in.
    pub fn binding(&self) -> &Binding {
        // Set before the binding is published (Binding::init_in_place runs right after the
        // allocation, before any handle or context is given to NDIS), so Relaxed suffices: every
        // reader got `self` through a publication that happened after the store.
        let binding = self.enclosing.load(Ordering::Relaxed);
        debug_assert!(!binding.is_null());
        // SAFETY: an Adapter is only ever constructed as the `adapter` field of a Binding
        // (`Adapter::new` is private to `state`), and `enclosing` is that Binding's address with
        // provenance over all of it; the Binding outlives the Adapter embedded in it.
        unsafe { &*binding }
    }

    /// Recovers the adapter from the MiniportAdapterContext (or IMDeviceInstanceContext) NDIS
    /// passes back.
    ///
    /// # Safety
    /// `context` is an adapter context this driver gave NDIS, whose binding is not yet freed.
    pub unsafe fn from_context<'a>(context: NdisHandle) -> &'a Self {
        // SAFETY: caller contract.
        unsafe { &*context.cast::<Self>() }
    }

    pub fn as_context(&self) -> NdisHandle {
        ptr::from_ref(self).cast_mut().cast()
    }

    pub fn miniport_handle(&self) -> NdisHandle {
        self.miniport_handle.load(Ordering::Acquire)
    }

    pub fn set_miniport_handle(&self, handle: NdisHandle) {
        self.miniport_handle.store(handle, Ordering::Release);
    }

    pub fn state(&self) -> AdapterState {
        AdapterState::from_u32(self.state.load(Ordering::Acquire))
    }

    /// Moves to `state` and wakes lifecycle waiters.
    pub fn set_state(&self, state: AdapterState) {
        self.state.store(state as u32, Ordering::Release);
        self.lifecycle.set();
    }

    /// Moves `from` -> `to` if the adapter is in `from`.
    pub fn transition(&self, from: AdapterState, to: AdapterState) -> bool {
        let moved = self
            .state
            .compare_exchange(from as u32, to as u32, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        if moved {
            self.lifecycle.set();
        }
        moved
    }

    /// Waits (PASSIVE_LEVEL) until the state satisfies `done`.
    pub fn wait_for_state(&self, mut done: impl FnMut(AdapterState) -> bool) -> AdapterState {
        let mut seen = self.state();
        self.lifecycle.wait_until(|| {
            seen = self.state();
            done(seen)
        });
        seen
    }

    /// Ends `n` data-path operations. The release that drains a pause completes it.
    pub fn release_io(&self, n: u32) {
        if self.io.release(n) == Drain::Drained {
            self.on_io_drained();
        }
    }

    /// The data path drained. NdisMPauseComplete must be the very last access: once the pause
    /// completed, NDIS may halt the miniport and unbind may free it.
    fn on_io_drained(&self) {
        self.io_drained.set();
        if self.pause_pending.swap(false, Ordering::AcqRel) {
            self.set_state(AdapterState::Paused);
            let handle = self.miniport_handle();
            // SAFETY: a pause is pending (MiniportPause returned PENDING), so the miniport handle
            // is valid and NDIS expects exactly one NdisMPauseComplete; `pause_pending` was
            // cleared atomically, so only this caller makes it. No lock is held.
            unsafe { NdisMPauseComplete(handle) };
        }
    }

    /// MiniportPause: refuses new I/O; returns true if the pause completed at once, false if it
    /// will complete (with NdisMPauseComplete) when the last in-flight operation ends.
    pub fn begin_pause(&self) -> bool {
        self.set_state(AdapterState::Pausing);
        self.io_drained.reset();
        self.pause_pending.store(true, Ordering::Release);
        if self.io.close() == Drain::Drained {
            // Nothing in flight: nobody else will see the drain, so we complete synchronously,
            // unless (impossible: the count was zero) a releaser already claimed it.
            if self.pause_pending.swap(false, Ordering::AcqRel) {
                self.set_state(AdapterState::Paused);
                return true;
            }
        }
        false
    }

    /// Closes the data path (if still open) and waits until it drained. PASSIVE_LEVEL.
    pub fn drain_io(&self) {
        self.io_drained.reset();
        if self.io.close() == Drain::Pending {
            self.io_drained.wait();
        }
    }
}
