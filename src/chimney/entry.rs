//! Offloaded TCP chimney state as the IM holds it: the per-adapter chimney accounting, the IM
//! offload entry (one per offloaded state object: neighbor, path or TCP connection) and the call
//! record of a state-manipulation call in progress.
//!
//! ```text
//! host handle .MiniportOffloadContext ──> OffloadEntry ──(.offload_handle.MiniportOffloadContext)──> target's context
//!                                          └─ .upper_handle ──> host handle (for indications up)
//! ```
//!
//! An entry is born zero-filled (NDIS records our lower binding in the handle's `NdisReserved[0]`
//! only if it is NULL), is published to the host when its initiate completes with success, and is
//! freed only when its terminate completed **and** every I/O on it has been propagated upward.
//!
//! Operations that may free the object they act on (`end_io`, `end_offload`, `release_pending`,
//! `free`) take a raw `NonNull` rather than `&self`: a reference argument must stay valid for the
//! whole call, which freeing it inside would break.

use core::cell::UnsafeCell;
use core::ffi::c_void;
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, Ordering};

use crate::kernel::{Drain, Drainable, PoolBox, Rundown, TcpUpcalls};
use crate::ndis::{NdisMiniportOffloadBlockList, NdisOffloadHandle, NdisTcpOffloadEventHandlers};

use crate::state::{Binding, GLOBALS};

/// Chimney state of one virtual miniport.
pub struct AdapterChimney {
    /// NDIS's upward entry points (NdisMGetOffloadHandlers), fetched in MiniportInitializeEx.
    upcalls: AtomicPtr<NdisTcpOffloadEventHandlers>,
    /// Live offload entries; open while the miniport is initialized. Halt waits for it to drain.
    pub live_entries: Drainable,
}

impl AdapterChimney {
    pub(crate) const fn new() -> Self {
        Self {
            upcalls: AtomicPtr::new(ptr::null_mut()),
            live_entries: Drainable::new_closed(),
        }
    }

    pub(crate) fn init_in_place(&self) {
        self.live_entries.init();
    }

    /// Keeps NDIS's upward table (checked complete), or forgets it.
    pub fn set_upcalls(&self, table: Option<TcpUpcalls>) {
        let raw = table.map_or(ptr::null_mut(), |t| ptr::from_ref(t.table()).cast_mut());
        self.upcalls.store(raw, Ordering::Release);
    }

    /// The upward table, if NDIS gave us a complete one.
    pub fn upcalls(&self) -> Option<TcpUpcalls> {
        let table = self.upcalls.load(Ordering::Acquire);
        // SAFETY: only `set_upcalls` stores here, from a `TcpUpcalls`: a static table in ndis.sys
        // that lives as long as NDIS does.
        let table: &'static NdisTcpOffloadEventHandlers = unsafe { table.as_ref() }?;
        // Checked complete when it was stored.
        Some(TcpUpcalls::from_static(table))
    }
}

/// The IM's record of one state-manipulation call in progress: what it changed in the root block
/// (SourceHandle, ImReserved) so that it can put it back before completing upward. Its address
/// travels down in the root block's `ImReserved[0]`.
///
/// Written by the call's down path before the call into NDIS, read by its completion (maybe on
/// another CPU, maybe inside the call down): plain atomics carry the hand-over.
pub struct CallRecord {
    binding: AtomicPtr<Binding>,
    root: AtomicPtr<NdisMiniportOffloadBlockList>,
    saved_source_handle: AtomicPtr<c_void>,
    saved_im_reserved: [AtomicPtr<c_void>; 2],
    /// Terminate: entries of this call not yet drained, plus one for the completion itself.
    pending: AtomicU32,
    /// NBLs handed back in the blocks' NetBufferListChain; their adapter/binding counts are
    /// released only after the completion went up.
    deferred_io: AtomicU32,
    /// Null: this record is a pool allocation of its own. Else: the entry whose embedded
    /// `terminate_record` this is (terminate never allocates).
    holder: AtomicPtr<OffloadEntry>,
    /// A pool record's own allocation pointer (null when embedded): `free` gives the block back
    /// through it. The pointers the call paths hold (ImReserved[0], `NonNull::from(&record)`) are
    /// made from shared references and may only read the record (Rust's aliasing rules; Miri's
    /// Stacked Borrows check enforces them).
    this: AtomicPtr<CallRecord>,
}

impl CallRecord {
    const fn new() -> Self {
        Self {
            binding: AtomicPtr::new(ptr::null_mut()),
            root: AtomicPtr::new(ptr::null_mut()),
            saved_source_handle: AtomicPtr::new(ptr::null_mut()),
            saved_im_reserved: [
                AtomicPtr::new(ptr::null_mut()),
                AtomicPtr::new(ptr::null_mut()),
            ],
            pending: AtomicU32::new(0),
            deferred_io: AtomicU32::new(0),
            holder: AtomicPtr::new(ptr::null_mut()),
            this: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// A record of its own from the pool (initiate, update, invalidate, query).
    pub fn allocate() -> Option<NonNull<Self>> {
        let record = PoolBox::try_new(GLOBALS.miniport_driver(), Self::new())?;
        // Relaxed: read back only by `free`, after the record travelled through NDIS.
        record.this.store(record.as_ptr(), Ordering::Relaxed);
        NonNull::new(record.into_raw())
    }

    /// Fills the record for a call on `root` and saves the root's SourceHandle and ImReserved.
    pub fn begin(&self, binding: &Binding, root: &mut NdisMiniportOffloadBlockList) {
        self.binding
            .store(ptr::from_ref(binding).cast_mut(), Ordering::Relaxed);
        self.saved_source_handle
            .store(root.source_handle, Ordering::Relaxed);
        self.saved_im_reserved[0].store(root.im_reserved[0], Ordering::Relaxed);
        self.saved_im_reserved[1].store(root.im_reserved[1], Ordering::Relaxed);
        self.root.store(ptr::from_mut(root), Ordering::Release);
    }

    /// The binding (and virtual miniport) the call was made on.
    pub fn binding(&self) -> &Binding {
        // SAFETY: set in `begin` to a binding whose `handle_users` counts (its own and its
        // adapter's) this call holds until it completes: the miniport cannot halt, nor the
        // binding be freed, before that.
        unsafe { &*self.binding.load(Ordering::Acquire) }
    }

    pub fn root(&self) -> *mut NdisMiniportOffloadBlockList {
        self.root.load(Ordering::Acquire)
    }

    /// Puts the root block's SourceHandle and ImReserved back as the caller gave them.
    pub fn restore_root(&self, root: &mut NdisMiniportOffloadBlockList) {
        debug_assert!(ptr::eq(root, self.root()));
        root.source_handle = self.saved_source_handle.load(Ordering::Acquire);
        root.im_reserved = [
            self.saved_im_reserved[0].load(Ordering::Relaxed),
            self.saved_im_reserved[1].load(Ordering::Relaxed),
        ];
    }

    pub fn defer_io(&self, n: u32) {
        self.deferred_io.fetch_add(n, Ordering::Relaxed);
    }

    pub fn take_deferred_io(&self) -> u32 {
        self.deferred_io.swap(0, Ordering::AcqRel)
    }

    /// Arms the terminate countdown: one for the completion path itself.
    pub fn arm(&self) {
        self.pending.store(1, Ordering::Release);
    }

    pub fn add_pending(&self) {
        self.pending.fetch_add(1, Ordering::AcqRel);
    }

    /// One entry of the terminate drained (or its completion path finished its walk). The last
    /// one completes the terminate upward and frees the record.
    ///
    /// # Safety
    /// `this` is a live terminate record armed by [`CallRecord::arm`]; it may be freed before
    /// this returns.
    pub unsafe fn release_pending(this: NonNull<Self>) {
        // SAFETY: the countdown is not over (this release is one of its counts), and only its
        // last release frees the record.
        let record = unsafe { this.as_ref() };
        if record.pending.fetch_sub(1, Ordering::AcqRel) == 1 {
            super::state::finish_terminate(this);
        }
    }

    /// Frees the record's storage. The record must not be used afterwards.
    ///
    /// # Safety
    /// The call is complete and nobody else refers to the record (or, for an embedded record,
    /// to its holder entry, which has drained).
    pub unsafe fn free(this: NonNull<Self>) {
        // SAFETY: the record is live until it is freed below (this function's contract).
        let record = unsafe { this.as_ref() };
        let holder = record.holder.load(Ordering::Acquire);
        if holder.is_null() {
            let own = record.this.load(Ordering::Relaxed);
            debug_assert!(ptr::eq(own, this.as_ptr()));
            // SAFETY: a pool record: `own` is the pointer `allocate` got from PoolBox (and gave
            // up with into_raw there), not one made from `&CallRecord`; nobody refers to the
            // record any more (contract).
            drop(unsafe { PoolBox::from_raw(own) });
        } else {
            // SAFETY: the holder entry drained and waited for its record's call to complete.
            unsafe { OffloadEntry::free(holder) };
        }
    }
}

/// Lifecycle of an entry as seen from the host.
const NOT_PUBLISHED: bool = false;

/// One offloaded state object, as the IM holds it. Zero-filled at birth.
#[repr(C)]
pub struct OffloadEntry {
    /// Our NDIS_OFFLOAD_HANDLE for the lower layer. First field: the handle's address is the
    /// entry's address, which is how completions and indications from below find the entry.
    offload_handle: UnsafeCell<NdisOffloadHandle>,
    /// The host's handle for this state object (for indications up).
    upper_handle: *mut NdisOffloadHandle,
    /// The binding whose virtual miniport offloaded this state object.
    binding: *const Binding,
    /// References: one per I/O NBL in flight on this entry, one per state call naming it (held
    /// until its completion read it), plus one held by the offload itself until its terminate
    /// (or failed initiate) completes. Closed when the terminate begins; the entry is freed when
    /// it drains.
    refs: Rundown,
    published: AtomicBool,
    /// Set by the first terminate that names this entry. A second terminate (or any state call
    /// after the first one claimed it) is refused: it would re-use `terminate_record`.
    terminate_claimed: AtomicBool,
    /// The terminate call waiting for this entry to drain.
    terminate: AtomicPtr<CallRecord>,
    /// Storage for the terminate call's record when this entry holds it.
    terminate_record: CallRecord,
    /// The entry's own allocation pointer (stored by `create`). The offload handle given to NDIS
    /// is made from it, so a completion can read the whole entry back through the handle (a
    /// pointer made from the handle field alone covers only the handle), and so is the free
    /// (pointers made from `&OffloadEntry` may only read it). Rust's aliasing rules; Miri's
    /// Stacked Borrows check enforces them.
    this: AtomicPtr<OffloadEntry>,
}

// SAFETY: shared between CPUs through NDIS; every mutable field is atomic or written by NDIS and
// the lower driver through the raw handle pointer (UnsafeCell).
unsafe impl Sync for OffloadEntry {}
// SAFETY: every mutable field is atomic or written by NDIS and the lower driver through the raw
// handle pointer; nothing in an entry is tied to the thread that created it.
unsafe impl Send for OffloadEntry {}

impl OffloadEntry {
    /// A new, zero-filled entry for a new offload whose host handle is `upper_handle`, holding its
    /// offload reference. None if the adapter is halting or pool memory is short.
    pub fn create(
        binding: &Binding,
        upper_handle: *mut NdisOffloadHandle,
    ) -> Option<NonNull<Self>> {
        let adapter = &binding.adapter;
        if !adapter.chimney.live_entries.try_acquire(1) {
            return None;
        }
        let value = Self {
            offload_handle: UnsafeCell::new(NdisOffloadHandle::zeroed()),
            upper_handle,
            binding: ptr::from_ref(binding),
            refs: Rundown::new_closed(),
            published: AtomicBool::new(NOT_PUBLISHED),
            terminate_claimed: AtomicBool::new(false),
            terminate: AtomicPtr::new(ptr::null_mut()),
            terminate_record: CallRecord::new(),
            this: AtomicPtr::new(ptr::null_mut()),
        };
        let Some(entry) = PoolBox::try_new(GLOBALS.miniport_driver(), value) else {
            adapter.chimney.live_entries.release(1);
            return None;
        };
        // Relaxed: stored before the entry is handed to anyone.
        entry.this.store(entry.as_ptr(), Ordering::Relaxed);
        let opened = entry.refs.reopen() && entry.refs.try_acquire(1);
        debug_assert!(opened);
        NonNull::new(entry.into_raw())
    }

    /// Recovers the entry from the offload handle we gave NDIS (its first field).
    ///
    /// # Safety
    /// `handle` is `handle_ptr()` of a live entry.
    pub unsafe fn from_handle<'a>(handle: *mut NdisOffloadHandle) -> &'a Self {
        // SAFETY: `offload_handle` is the first field of a repr(C) struct, and UnsafeCell<T> has
        // T's layout: the handle's address is the entry's. Liveness: caller contract.
        unsafe { &*handle.cast::<Self>() }
    }

    /// Recovers the entry from the MiniportOffloadContext NDIS passes to the I/O handlers: the
    /// value we published in the host handle.
    ///
    /// # Safety
    /// `context` is null or an entry this driver published and has not freed.
    pub unsafe fn from_context<'a>(context: *mut c_void) -> Option<&'a Self> {
        // SAFETY: a non-null context is an entry we published and have not freed (contract): a
        // live, aligned OffloadEntry.
        unsafe { context.cast::<Self>().as_ref() }
    }

    pub fn handle_ptr(&self) -> *mut NdisOffloadHandle {
        // The entry's allocation pointer (`offload_handle` is the first field of this repr(C)
        // struct, so the address is the same), not `offload_handle.get()`: NDIS hands this
        // pointer back and `from_handle` reads the whole entry through it.
        self.this.load(Ordering::Relaxed).cast()
    }

    pub fn upper_handle(&self) -> *mut NdisOffloadHandle {
        self.upper_handle
    }

    pub fn binding(&self) -> &Binding {
        // SAFETY: an entry holds a `live_entries` count on its binding's adapter until it is
        // freed; halt waits for that count to drain, and unbind for halt, before freeing.
        unsafe { &*self.binding }
    }

    pub fn is_published(&self) -> bool {
        self.published.load(Ordering::Acquire)
    }

    /// Makes the entry the host's MiniportOffloadContext for this state object.
    pub fn publish(&self) {
        self.published.store(true, Ordering::Release);
        // SAFETY: the host handle is valid while its state object is offloaded (until terminate
        // completes upward); the host reads this slot only after the initiate completes.
        unsafe {
            (*self.upper_handle).miniport_offload_context = ptr::from_ref(self).cast_mut().cast()
        };
    }

    /// Starts `n` I/O NBLs on this entry; false once a terminate has begun.
    pub fn try_start_io(&self, n: u32) -> bool {
        self.refs.try_acquire(n)
    }

    /// Ends `n` I/O NBLs (after they were propagated upward). May free the entry.
    ///
    /// # Safety
    /// `this` is a live entry on which `n` I/O references are held.
    pub unsafe fn end_io(this: NonNull<Self>, n: u32) {
        // SAFETY: the `n` references the caller holds keep the entry live until released here.
        if unsafe { this.as_ref() }.refs.release(n) == Drain::Drained {
            // SAFETY: drained: this call is the only one that may retire it.
            unsafe { Self::retire(this) };
        }
    }

    /// A state call (update, invalidate, query, or an initiate naming it as a linker) holds the
    /// entry until its completion has read it: one reference on the same count as I/O, so a
    /// terminate that completes first waits for it before the entry is freed. False (the call
    /// must be refused) once a terminate has begun.
    pub fn try_hold(&self) -> bool {
        self.refs.try_acquire(1)
    }

    /// Ends a hold taken with [`OffloadEntry::try_hold`]. May free the entry.
    ///
    /// # Safety
    /// `this` is a live entry on which the caller holds one reference from `try_hold`.
    pub unsafe fn release_hold(this: NonNull<Self>) {
        // SAFETY: the caller's hold keeps the entry live until this release.
        unsafe { Self::end_io(this, 1) };
    }

    /// Claims the entry for one terminate call. False if another terminate already claimed it
    /// (the host broke its per-object serialisation; the call must be refused).
    pub fn try_claim_terminate(&self) -> bool {
        self.terminate_claimed
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Gives back a claim of a terminate that is refused after all (another entry of the same
    /// list was claimed already). Only the claimer calls it, before anything else changed.
    pub fn unclaim_terminate(&self) {
        self.terminate_claimed.store(false, Ordering::Release);
    }

    /// MiniportTerminateOffload, after [`OffloadEntry::try_claim_terminate`]: no new I/O or
    /// state call is forwarded on this entry.
    pub fn begin_terminate(&self) {
        debug_assert!(self.terminate_claimed.load(Ordering::Relaxed));
        // The offload reference is held, so this never reports a drain.
        let _ = self.refs.close();
    }

    /// The offload is over (terminate completed, or initiate failed). `record` (a terminate, or
    /// null) is told when the entry has drained; the entry is freed then, maybe before this
    /// returns.
    ///
    /// # Safety
    /// `this` is a live entry whose offload reference is still held (released here, once).
    pub unsafe fn end_offload(this: NonNull<Self>, record: *const CallRecord) {
        // SAFETY: the offload reference the caller still holds keeps the entry live until it is
        // released below.
        let entry = unsafe { this.as_ref() };
        entry.terminate.store(record.cast_mut(), Ordering::Release);
        let _ = entry.refs.close();
        if entry.refs.release(1) == Drain::Drained {
            // SAFETY: drained: this call is the only one that may retire it.
            unsafe { Self::retire(this) };
        }
    }

    /// This entry's embedded record, for the terminate call that claimed the entry (so at most
    /// one call ever uses it).
    pub fn claim_terminate_record(&self) -> &CallRecord {
        debug_assert!(self.terminate_claimed.load(Ordering::Relaxed));
        self.terminate_record
            .holder
            .store(self.this.load(Ordering::Relaxed), Ordering::Release);
        &self.terminate_record
    }

    /// Drained: unhook from the host handle, free (unless we hold the terminate's record, in
    /// which case the record frees us once the terminate went up), and tell the terminate.
    ///
    /// # Safety
    /// `this` is live and drained; nothing else refers to it any more.
    unsafe fn retire(this: NonNull<Self>) {
        let (published, upper, record) = {
            // SAFETY: a drained entry is live until this function frees it; the reference ends
            // before that.
            let entry = unsafe { this.as_ref() };
            (
                entry.is_published(),
                entry.upper_handle,
                entry.terminate.load(Ordering::Acquire),
            )
        };
        if published {
            // SAFETY: the host handle stays valid until the terminate completes upward, which
            // happens after this (the terminate waits for every entry to drain).
            unsafe { (*upper).miniport_offload_context = ptr::null_mut() };
        }
        // SAFETY: `this` is live; only the field's address is formed.
        let own_record = unsafe { &raw mut (*this.as_ptr()).terminate_record };
        if ptr::eq(record, own_record) {
            // We hold the terminate's record: it frees us after completing upward.
            if let Some(own_record) = NonNull::new(own_record) {
                // SAFETY: our own record is live and armed.
                unsafe { CallRecord::release_pending(own_record) };
            }
            return;
        }
        // SAFETY: drained: no I/O, no completion and no other call refers to this entry.
        unsafe { Self::free(this.as_ptr()) };
        if let Some(record) = NonNull::new(record) {
            // SAFETY: a terminate record outlives the entries it waits for.
            unsafe { CallRecord::release_pending(record) };
        }
    }

    /// Frees an entry and its `offloads` reference on the adapter.
    ///
    /// # Safety
    /// `entry` came from `create`, has drained, and nothing refers to it any more.
    unsafe fn free(entry: *mut Self) {
        // SAFETY: `entry` is live until the PoolBox below frees it.
        let binding = unsafe { (*entry).binding };
        // SAFETY: the binding outlives its entries (halt waits for `live_entries` to drain, and
        // unbind for halt).
        let adapter = unsafe { &(*binding).adapter };
        // SAFETY: `entry` is live until the PoolBox below frees it.
        let own = unsafe { (*entry).this.load(Ordering::Relaxed) };
        debug_assert!(ptr::eq(own, entry));
        // SAFETY: `own` is the pointer `create` got from PoolBox (and gave up with into_raw
        // there), not one made from `&OffloadEntry`; the entry drained and nothing refers to it.
        drop(unsafe { PoolBox::from_raw(own) });
        adapter.chimney.live_entries.release(1);
    }
}
