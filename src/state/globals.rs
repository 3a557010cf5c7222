//! Driver-wide state: the handles NDIS gave us at registration and the list of bindings.

use core::ffi::c_void;
use core::ptr;
use core::sync::atomic::{AtomicPtr, Ordering};

use crate::kernel::{MiniportDriverHandle, SpinLock};
use crate::ndis::NdisHandle;

use super::binding::Binding;

pub struct Globals {
    /// `NdisMiniportDriverHandle` from NdisMRegisterMiniportDriver; also the handle every pool
    /// allocation is charged to.
    pub miniport_driver: AtomicPtr<c_void>,
    /// `NdisProtocolHandle`. NdisRegisterProtocolDriver writes it straight into this slot, because
    /// bind callbacks may run before the registration call returns.
    pub protocol: AtomicPtr<c_void>,
    /// Every binding that completed ProtocolBindAdapterEx and has not begun unbinding.
    pub bindings: SpinLock<BindingList>,
}

pub static GLOBALS: Globals = Globals {
    miniport_driver: AtomicPtr::new(ptr::null_mut()),
    protocol: AtomicPtr::new(ptr::null_mut()),
    bindings: SpinLock::new(BindingList {
        head: ptr::null_mut(),
    }),
};

impl Globals {
    pub fn miniport_driver(&self) -> NdisHandle {
        self.miniport_driver.load(Ordering::Acquire)
    }

    /// Our miniport driver registration as a typed handle.
    pub fn miniport_driver_handle(&self) -> MiniportDriverHandle<'static> {
        // SAFETY: the driver's code runs only in DriverEntry after registration succeeded and in
        // callbacks NDIS makes before MiniportDriverUnload deregisters it: the handle is
        // registered whenever this is called.
        unsafe { MiniportDriverHandle::new(self.miniport_driver()) }
    }

    pub fn protocol(&self) -> NdisHandle {
        self.protocol.load(Ordering::Acquire)
    }
}

/// An intrusive singly linked list of bindings (linked through `Binding::next_in_list`).
pub struct BindingList {
    head: *mut Binding,
}

// SAFETY: the list only holds pointers to pool-allocated bindings; it is only accessed under the
// spin lock that wraps it.
unsafe impl Send for BindingList {}

impl BindingList {
    pub fn push(&mut self, binding: &Binding) {
        binding.next_in_list.store(self.head, Ordering::Relaxed);
        self.head = ptr::from_ref(binding).cast_mut();
    }

    /// Unlinks `binding` if present.
    pub fn remove(&mut self, binding: &Binding) {
        let target = ptr::from_ref(binding).cast_mut();
        let mut link: *const AtomicPtr<Binding> = ptr::null();
        let mut current = self.head;
        while !current.is_null() {
            // SAFETY: every listed binding stays allocated until it is removed from this list
            // (unbind removes it before freeing), and we hold the list lock.
            let current_ref = unsafe { &*current };
            let next = current_ref.next_in_list.load(Ordering::Relaxed);
            if current == target {
                if link.is_null() {
                    self.head = next;
                } else {
                    // SAFETY: `link` points into a listed binding (see above).
                    unsafe { &*link }.store(next, Ordering::Relaxed);
                }
                return;
            }
            link = &raw const current_ref.next_in_list;
            current = next;
        }
    }

    /// The first binding for which `pred` holds.
    pub fn find(&self, mut pred: impl FnMut(&Binding) -> bool) -> Option<*const Binding> {
        let mut current = self.head;
        while !current.is_null() {
            // SAFETY: every listed binding stays allocated until it is removed from this list
            // (unbind removes it before freeing), and we hold the list lock.
            let binding = unsafe { &*current };
            if pred(binding) {
                return Some(current.cast_const());
            }
            current = binding.next_in_list.load(Ordering::Relaxed);
        }
        None
    }
}
