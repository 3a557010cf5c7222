//! The forwarding token: the in-flight counts one forwarded operation holds, taken in one call
//! (adapter -> binding -> entry, where a path has several), given back on drop unless the
//! operation was handed to NDIS, and released in the one safe order (entry, adapter, binding
//! last: unbind may free the binding, and the adapter inside it, as soon as the binding's count
//! drains). The data paths hold one count each (see [`Path`]).
//!
//! Every flow that passes work across the driver holds one: sends and chimney posts ([`Path::Nbls`]),
//! receive indications ([`Path::Indications`]), OIDs and state calls ([`Path::Requests`]), chimney
//! receive indications the host keeps ([`Path::BindingOnly`]). A token is also the only way to the
//! typed handles the counts keep open ([`Forward::lower`], [`Forward::miniport`]).
//!
//! The counts a per-NBL path writes (`Adapter::nbls_in_flight`, `Binding::nbls_below`,
//! `Binding::handle_users`) are per processor (`kernel::percpu_rundown`): the token asks for
//! the current processor once per acquire and once per release and writes only that
//! processor's slot of each, so in steady state forwarding on one CPU and completing on another
//! writes no line another CPU writes, apart from the connection's own entry. Only
//! `Adapter::handle_users` (requests: OIDs and state calls, not per NBL) stays one shared word.

use core::ptr::NonNull;

use crate::kernel::percpu_rundown::current_processor;
use crate::kernel::{BindingHandle, MiniportHandle};

use super::binding::Binding;
use crate::chimney::entry::OffloadEntry;

/// Which counts a forwarded operation holds (see the table in `state`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Path {
    /// NBLs forwarded down: `Binding::nbls_below` (host sends, chimney posts, send data handed
    /// over with an initiate). Its gates close on the virtual miniport's pause and halt as well
    /// as on the lower binding's pause and unbind, so the one count serves both edges.
    Nbls,
    /// NBLs indicated up: `Adapter::nbls_in_flight` (the binding cannot close while the
    /// miniport has any: unbind halts the miniport first).
    Indications,
    /// One request using both handles outside the data path: `Adapter::handle_users` and
    /// `Binding::handle_users` (OIDs, state calls).
    Requests,
    /// `Binding::handle_users` only (chimney receive indications the host keeps, PnP lookups).
    BindingOnly,
}

/// The counts of `count` operations on `path` (and, for chimney I/O, `count` references on one
/// offload entry). Dropping it gives them back; [`Forward::hand_over`] leaves them held for the
/// completion, which takes them back with [`Forward::completed`].
#[must_use = "dropping the token gives its counts back at once"]
pub struct Forward<'a> {
    binding: &'a Binding,
    path: Path,
    count: u32,
    entry: Option<NonNull<OffloadEntry>>,
}

impl<'a> Forward<'a> {
    /// Takes the counts of `count` operations on `path`, adapter first; None (nothing held) if any
    /// is closed (pausing, halting, the binding paused or closing).
    #[inline(always)]
    pub fn acquire(binding: &'a Binding, path: Path, count: u32) -> Option<Self> {
        if !take(binding, path, count, current_processor()) {
            return None;
        }
        Some(Self {
            binding,
            path,
            count,
            entry: None,
        })
    }

    /// [`Forward::acquire`] on [`Path::Nbls`] plus `count` I/O references on `entry` (chimney
    /// posts), in one step; None, with nothing held, if any is closed or the entry's terminate
    /// has begun. The token is built once, when everything is held.
    #[inline(always)]
    pub fn acquire_with_entry(
        binding: &'a Binding,
        count: u32,
        entry: &'a OffloadEntry,
    ) -> Option<Self> {
        let cpu = current_processor();
        if !take(binding, Path::Nbls, count, cpu) {
            return None;
        }
        if !entry.try_start_io(count) {
            give_back(binding, Path::Nbls, count, cpu);
            return None;
        }
        Some(Self {
            binding,
            path: Path::Nbls,
            count,
            entry: Some(NonNull::from(entry)),
        })
    }

    /// Adds `count` I/O references on `entry` (chimney posts). None, with every count given back,
    /// once the entry's terminate has begun.
    #[inline]
    pub fn with_entry(mut self, entry: &'a OffloadEntry) -> Option<Self> {
        debug_assert!(self.entry.is_none());
        if !entry.try_start_io(self.count) {
            return None;
        }
        self.entry = Some(NonNull::from(entry));
        Some(self)
    }

    /// The counts of operations that were handed over and have now come back.
    ///
    /// # Safety
    /// `count` operations on `path` (and, with `entry`, `count` of its references) were handed
    /// over with [`Forward::hand_over`] and their counts are still held; this takes them back
    /// (each once).
    #[inline]
    pub unsafe fn completed(
        binding: &'a Binding,
        path: Path,
        count: u32,
        entry: Option<NonNull<OffloadEntry>>,
    ) -> Self {
        Self {
            binding,
            path,
            count,
            entry,
        }
    }

    /// The operations were handed to NDIS: their counts stay held until the completion takes
    /// them back with [`Forward::completed`].
    #[inline]
    pub fn hand_over(self) {
        core::mem::forget(self);
    }

    /// Hands the operations to NDIS through `f`, which gets the token (for its handles). Their
    /// completion may run inside `f` and take the counts back, so `f` must not touch the token
    /// after the NDIS call it makes, and nothing is released afterwards.
    #[inline]
    pub fn hand_over_with<R>(self, f: impl FnOnce(&Self) -> R) -> R {
        let token = core::mem::ManuallyDrop::new(self);
        f(&token)
    }

    /// Gives the counts back now: what dropping the token does, spelled out (and always inlined)
    /// on the per-NBL completion paths.
    #[inline(always)]
    pub fn end(self) {
        self.release();
        core::mem::forget(self);
    }

    /// The lower binding's handle, open while any path's counts are held (the binding's own, or
    /// the adapter's, which unbind drains before closing).
    #[inline]
    pub fn lower(&self) -> BindingHandle<'_> {
        // SAFETY: every path holds the binding's count or the adapter's, and unbind stops the
        // miniport (draining the adapter's counts) and drains the binding's before
        // NdisCloseAdapterEx; the borrow of `self` keeps the counts held.
        unsafe { BindingHandle::new(self.binding.handle()) }
    }

    /// The virtual miniport's handle, initialized while the adapter's counts are held.
    #[inline]
    pub fn miniport(&self) -> MiniportHandle<'_> {
        debug_assert!(self.path != Path::BindingOnly);
        // SAFETY: `Indications` and `Requests` hold an adapter count and `Nbls` the binding's
        // `nbls_below`, and MiniportHaltEx closes and drains all three (`nbls_below` through its
        // miniport gate) before it returns; the borrow keeps them held.
        unsafe { MiniportHandle::new(self.binding.adapter.miniport_handle()) }
    }

    /// Entry, adapter, then the binding last (nothing is touched after it). The counts go back
    /// on the processor this runs on, whichever took them.
    #[inline(always)]
    fn release(&self) {
        if self.count == 0 {
            return;
        }
        if let Some(entry) = self.entry {
            // SAFETY: the token holds `count` references on the entry (with_entry/completed),
            // which keep it allocated until released here; it may be freed inside.
            unsafe { OffloadEntry::end_io(entry, self.count) };
        }
        release_counts(self.binding, self.path, self.count, current_processor());
    }
}

/// Takes the counts of `count` operations on `path` (adapter first where a path has two), on
/// processor `cpu`'s slots; false, with nothing held, if any is closed.
#[inline(always)]
fn take(binding: &Binding, path: Path, count: u32, cpu: u32) -> bool {
    let adapter = &binding.adapter;
    match path {
        Path::Nbls => binding.nbls_below.try_acquire_on(cpu, count),
        Path::Indications => adapter.nbls_in_flight.try_acquire_on(cpu, count),
        Path::Requests => {
            if !adapter.handle_users.try_acquire(count) {
                return false;
            }
            let binding_ok = binding.handle_users.try_acquire_on(cpu, count);
            if !binding_ok {
                // Only the adapter's count is held: give it back.
                adapter.handle_users.release(count);
            }
            binding_ok
        }
        Path::BindingOnly => binding.handle_users.try_acquire_on(cpu, count),
    }
}

/// Gives back what [`take`] took when a later step of the acquire failed. Out of line: only
/// while closing.
#[cold]
#[inline(never)]
fn give_back(binding: &Binding, path: Path, count: u32, cpu: u32) {
    release_counts(binding, path, count, cpu);
}

/// The adapter's count, then the binding's last (unbind may free both once the binding's
/// drains).
#[inline(always)]
fn release_counts(binding: &Binding, path: Path, count: u32, cpu: u32) {
    match path {
        Path::Nbls => binding.release_below_on(cpu, count),
        Path::Indications => binding.adapter.release_nbls_on(cpu, count),
        Path::Requests => {
            binding.adapter.handle_users.release(count);
            binding.handle_users.release_on(cpu, count);
        }
        Path::BindingOnly => binding.handle_users.release_on(cpu, count),
    }
}

impl Drop for Forward<'_> {
    #[inline]
    fn drop(&mut self) {
        self.release();
    }
}
