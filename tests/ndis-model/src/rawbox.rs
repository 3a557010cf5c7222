//! [`RawBox`]: a heap object the model hands to the driver by raw pointer.
//!
//! A `Box<T>` asserts unique ownership each time it is moved (Stacked Borrows retags it), which
//! invalidates every raw pointer taken into it before the move — and the model does move such
//! boxes (into argument bundles, into the graveyard, into the `Model`). A `RawBox` owns its
//! allocation through a raw pointer instead, so moving it asserts nothing and a pointer from
//! [`RawBox::ptr`] stays valid until the `RawBox` is dropped.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;

pub struct RawBox<T: ?Sized>(NonNull<T>);

impl<T> RawBox<T> {
    pub fn new(v: T) -> Self {
        Self::from_box(Box::new(v))
    }
}

impl<T: ?Sized> RawBox<T> {
    pub fn from_box(b: Box<T>) -> Self {
        Self(NonNull::from(Box::leak(b)))
    }

    /// The pointer to hand to the driver. Every call returns a pointer with the same provenance,
    /// so taking a new one (or reading through `Deref`) never invalidates an earlier one.
    pub fn ptr(&self) -> *mut T {
        self.0.as_ptr()
    }
}

impl<T: ?Sized> Deref for RawBox<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the pointer came from `Box::leak` and is freed only in `drop`; the shared borrow
        // of `self` keeps model code from taking a `&mut` at the same time (the driver writes only
        // during calls, when the model holds no reference into the object).
        unsafe { self.0.as_ref() }
    }
}

impl<T: ?Sized> DerefMut for RawBox<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; the exclusive borrow of `self` makes this the only model reference.
        unsafe { self.0.as_mut() }
    }
}

impl<T: ?Sized> Drop for RawBox<T> {
    fn drop(&mut self) {
        // SAFETY: the pointer came from `Box::leak` and is dropped exactly once, here.
        drop(unsafe { Box::from_raw(self.0.as_ptr()) });
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RawBox<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).fmt(f)
    }
}

// SAFETY: a RawBox owns its `T` exactly like a Box does.
unsafe impl<T: ?Sized + Send> Send for RawBox<T> {}
// SAFETY: shared access goes through `&T` only, as for a Box.
unsafe impl<T: ?Sized + Sync> Sync for RawBox<T> {}
