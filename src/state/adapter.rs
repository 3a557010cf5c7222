//! The virtual miniport (one per binding, embedded in it): its lifecycle state machine and its
//! in-flight accounting.

use core::ffi::c_void;
use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, Ordering};

use crate::kernel::{Drain, Drainable, Event, MiniportHandle, PerCpuRundown};
use crate::ndis::NdisHandle;

use crate::chimney::entry::AdapterChimney;

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
}

pub struct Adapter {
    /// `NdisMiniportAdapterHandle`, set by MiniportInitializeEx, cleared by MiniportHaltEx.
    miniport_handle: AtomicPtr<c_void>,
    state: AtomicU32,
    /// Receive indications up: NBLs the host holds until MiniportReturnNetBufferLists. Open only
    /// while Running. (What went down is counted by `Binding::nbls_below`.)
    pub nbls_in_flight: PerCpuRundown,
    pub(super) nbls_drained: Event,
    /// A pause in progress: set by MiniportPause, claimed (swapped off) by whoever completes it.
    pub(super) pause_pending: AtomicBool,
    /// The pause waits for two drains (this adapter's indications and the binding's NBLs below);
    /// the part that takes this to zero completes it.
    pub(super) pause_parts: AtomicU32,
    /// The pause still waits for the drain of `nbls_in_flight` / of `Binding::nbls_below`: each
    /// claimed (swapped off) by exactly one of the pause and that count's drain report.
    pub(super) waiting_up: AtomicBool,
    pub(super) waiting_below: AtomicBool,
    /// OIDs forwarded for this miniport and status indications in progress. Open from a
    /// successful initialize until halt.
    pub handle_users: Drainable,
    /// Set on every lifecycle transition that unbind may be waiting for.
    pub lifecycle: Event,
    /// MiniportInitializeEx and MiniportHaltEx in progress, each holding a guard for its whole
    /// run. Unbind sees their state changes before they return (the change is not their last
    /// touch of the binding), so before freeing it drains this: each guard's drop is the
    /// handler's very last access.
    pub running_handlers: Drainable,
    /// TCP chimney: upward handlers and live offload entries.
    pub chimney: AdapterChimney,
    /// Our interface index while an interface stack entry (ours over the bound adapter's) is
    /// registered; 0 when none.
    pub if_stack_higher: AtomicU32,
}

impl Adapter {
    /// Writes a new adapter (absent, every count closed) field by field at `this`, inside the
    /// binding's pool block.
    ///
    /// # Safety
    /// `this` is aligned, valid for writes of an `Adapter` and owned by the caller; its old
    /// contents are overwritten without being dropped.
    #[inline(always)]
    pub(super) unsafe fn write_new(this: *mut Adapter, nbls_in_flight: PerCpuRundown) {
        // Every field, one write each.
        write_field!(this.miniport_handle = AtomicPtr::new(ptr::null_mut()));
        write_field!(this.state = AtomicU32::new(AdapterState::Absent as u32));
        write_field!(this.nbls_in_flight = nbls_in_flight);
        write_field!(this.nbls_drained = Event::new());
        write_field!(this.pause_pending = AtomicBool::new(false));
        write_field!(this.pause_parts = AtomicU32::new(0));
        write_field!(this.waiting_up = AtomicBool::new(false));
        write_field!(this.waiting_below = AtomicBool::new(false));
        write_field!(this.handle_users = Drainable::new_closed());
        write_field!(this.lifecycle = Event::new());
        write_field!(this.running_handlers = Drainable::new_closed());
        write_field!(this.chimney = AdapterChimney::new());
        write_field!(this.if_stack_higher = AtomicU32::new(0));
    }

    pub(super) fn init_in_place(&self) {
        self.nbls_drained.init();
        self.handle_users.init();
        self.lifecycle.init();
        self.running_handlers.init();
        self.chimney.init_in_place();
        let opened = self.running_handlers.reopen();
        debug_assert!(opened);
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

    /// Ends `n` indications counted on processor `cpu`'s side (any processor's index: see
    /// `kernel::percpu_rundown::current_processor`). The release that drains a pause's count
    /// does that part of the pause.
    #[inline(always)]
    pub fn release_nbls_on(&self, cpu: u32, n: u32) {
        if self.nbls_in_flight.release_on(cpu, n) == Drain::Drained {
            self.on_io_drained();
        }
    }

    /// The indications drained (this call is the one report). The claim comes first and the
    /// signal after: a halt waiting for the signal may let unbind free the adapter, so the
    /// signal is the last access unless a pause is pending (which keeps the adapter alive until
    /// NdisMPauseComplete, itself the last access).
    #[cold]
    #[inline(never)]
    fn on_io_drained(&self) {
        let claim = self.waiting_up.swap(false, Ordering::SeqCst);
        self.nbls_drained.set();
        if claim && self.pause_part_done() {
            self.complete_pause();
        }
    }

    /// One of the pause's two drains is done; true for the one that finishes the pause.
    pub(super) fn pause_part_done(&self) -> bool {
        self.pause_parts.fetch_sub(1, Ordering::AcqRel) == 1
    }

    /// Completes a pended pause: NdisMPauseComplete, the very last access (once the pause
    /// completed, NDIS may halt the miniport and unbind may free it).
    pub(super) fn complete_pause(&self) {
        if self.pause_pending.swap(false, Ordering::AcqRel) {
            self.set_state(AdapterState::Paused);
            // SAFETY: a pause is pending (MiniportPause returned PENDING), so the miniport is
            // initialized until NDIS has our NdisMPauseComplete; the handle is used only for it.
            let miniport = unsafe { MiniportHandle::new(self.miniport_handle()) };
            // `pause_pending` was cleared atomically: only this caller completes the pause.
            miniport.pause_complete();
        }
    }

    /// Closes the data path (if still open) and waits until it drained. PASSIVE_LEVEL.
    pub fn drain_nbls(&self) {
        self.nbls_drained
            .close_and_wait(|| self.nbls_in_flight.close());
    }
}
