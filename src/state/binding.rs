//! The lower binding: our protocol edge's open of one physical adapter, and (embedded, 1:1) the
//! virtual miniport that stands for it above.

use core::ffi::c_void;
use core::ptr;
use core::sync::atomic::{AtomicI32, AtomicPtr, AtomicU32, AtomicU64, Ordering};

use crate::kernel::strings::SetOnceName;
use crate::kernel::{Event, GatedRundown, MiniportHandle, PerCpuDrainable, PerCpuRundown};
use crate::ndis::{NdisBindParameters, NdisHandle, NdisLinkState, NdisPnpCapabilities, NdisStatus};

use super::adapter::Adapter;
use super::globals::GLOBALS;

/// What the virtual miniport mirrors from the lower adapter: copied out of NDIS_BIND_PARAMETERS,
/// whose pointers are valid only during ProtocolBindAdapterEx.
#[derive(Clone, Copy, Debug)]
pub struct LowerParams {
    pub media_type: u32,
    pub mtu_size: u32,
    pub max_xmit_link_speed: u64,
    pub max_rcv_link_speed: u64,
    pub lookahead_size: u32,
    pub pm_capabilities: Option<NdisPnpCapabilities>,
    pub supported_packet_filters: u32,
    pub max_multicast_list_size: u32,
    pub mac_address_length: u16,
    pub current_mac_address: [u8; 32],
    pub physical_medium_type: u32,
    pub access_type: u32,
    pub direction_type: u32,
    pub connection_type: u32,
    pub if_type: u16,
    /// The bound adapter's interface index (the lower end of our interface stack entry).
    pub bound_if_index: u32,
}

impl LowerParams {
    /// # Safety
    /// `params` is the NDIS_BIND_PARAMETERS NDIS passed to ProtocolBindAdapterEx, during that call.
    pub unsafe fn from_bind_parameters(params: &NdisBindParameters) -> Self {
        let pm_capabilities = if params.power_management_capabilities.is_null() {
            None
        } else {
            // SAFETY: a non-NULL PM capabilities pointer is valid during the bind call.
            let mut caps = unsafe { params.power_management_capabilities.read() };
            // An IM must not claim wake-up abilities of its own (docs/ndis-contract.md §4.4).
            caps.min_magic_packet_wake_up = crate::ndis::NDIS_DEVICE_STATE_UNSPECIFIED;
            caps.min_pattern_wake_up = crate::ndis::NDIS_DEVICE_STATE_UNSPECIFIED;
            caps.min_link_change_wake_up = crate::ndis::NDIS_DEVICE_STATE_UNSPECIFIED;
            Some(caps)
        };
        Self {
            media_type: params.media_type,
            mtu_size: params.mtu_size,
            max_xmit_link_speed: params.max_xmit_link_speed,
            max_rcv_link_speed: params.max_rcv_link_speed,
            lookahead_size: params.lookahead_size,
            pm_capabilities,
            supported_packet_filters: params.supported_packet_filters,
            max_multicast_list_size: params.max_multicast_list_size,
            mac_address_length: params.mac_address_length.min(32),
            current_mac_address: params.current_mac_address,
            physical_medium_type: params.physical_medium_type,
            access_type: params.access_type,
            direction_type: params.direction_type,
            connection_type: params.connection_type,
            if_type: params.if_type,
            bound_if_index: params.bound_if_index,
        }
    }
}

/// The latest link state reported by the lower adapter (bind parameters, then LINK_STATE
/// indications), kept in atomics so the status path takes no lock.
#[derive(Debug, Default)]
pub struct LinkState {
    pub media_connect_state: AtomicU32,
    pub media_duplex_state: AtomicU32,
    pub xmit_link_speed: AtomicU64,
    pub rcv_link_speed: AtomicU64,
}

impl LinkState {
    pub fn store(&self, link: &NdisLinkState) {
        self.media_connect_state
            .store(link.media_connect_state, Ordering::Relaxed);
        self.media_duplex_state
            .store(link.media_duplex_state, Ordering::Relaxed);
        self.xmit_link_speed
            .store(link.xmit_link_speed, Ordering::Relaxed);
        self.rcv_link_speed
            .store(link.rcv_link_speed, Ordering::Relaxed);
    }
}

/// The per-processor counts of one binding (its adapter's `nbls_in_flight`, its own
/// `nbls_below` and `handle_users`), allocated from the pool with one slot per active processor
/// each.
pub struct BindingCounts {
    nbls_in_flight: PerCpuRundown,
    nbls_below: PerCpuRundown,
    handle_users: PerCpuDrainable,
}

impl BindingCounts {
    /// None if an allocation fails. PASSIVE_LEVEL (ProtocolBindAdapterEx).
    pub fn try_new() -> Option<Self> {
        let pool = GLOBALS.miniport_driver();
        Some(Self {
            nbls_in_flight: PerCpuRundown::try_new(pool)?,
            nbls_below: PerCpuRundown::try_new(pool)?,
            handle_users: PerCpuDrainable::try_new(pool)?,
        })
    }
}

/// The gates of `Binding::nbls_below`: NBLs go down only while all are open.
pub mod below_gate {
    /// The lower binding is paused (NetEventPause until NetEventRestart; closed at bind).
    pub const LOWER_PAUSED: u32 = 1;
    /// The virtual miniport is not running (MiniportPause or MiniportHaltEx until
    /// MiniportRestart; closed at bind).
    pub const MINIPORT_STOPPED: u32 = 2;
    /// The binding is being unbound (never opens again).
    pub const UNBINDING: u32 = 4;
}

/// Capacity of the virtual miniport's device name (`\Device\{GUID}` is 46 characters).
pub const DEVICE_NAME_CAPACITY: usize = 128;

/// One bound lower adapter and its virtual miniport.
///
/// Release order: unbind frees the binding (and the adapter inside it) as soon as the binding's
/// rundowns drain, so wherever both an adapter count and a binding count end together, the
/// binding's is released last and nothing touches either afterwards.
pub struct Binding {
    /// `NdisBindingHandle`; NdisOpenAdapterEx writes it here directly.
    pub handle: AtomicPtr<c_void>,
    /// NBLs forwarded down on this binding and not yet completed: host sends, chimney posts,
    /// initiate send data. Open only while both the lower binding and the virtual miniport run;
    /// each of their pauses (and halt, and unbind) closes its own gate and waits for the drain.
    /// Per processor: written on every forwarded chain and completion.
    pub nbls_below: GatedRundown,
    /// OIDs forwarded down, PnP references, chimney receive indications the host keeps:
    /// everything that uses `handle` outside the plain data path. Per processor: written per
    /// chimney receive indication.
    pub handle_users: PerCpuDrainable,
    /// Completion of a pended NdisOpenAdapterEx / NdisCloseAdapterEx.
    pub open_status: AtomicI32,
    pub open_complete: Event,
    pub close_complete: Event,
    pub lower: LowerParams,
    pub link: LinkState,
    /// The virtual miniport's device name, from the binding's `UpperBindings` configuration.
    pub device_name: SetOnceName<DEVICE_NAME_CAPACITY>,
    pub adapter: Adapter,
    /// Link in `GLOBALS.bindings`, only touched under that list's lock.
    pub(super) next_in_list: AtomicPtr<Binding>,
    /// The binding's own allocation pointer (`PoolBox::as_ptr`), stored by `init_in_place`:
    /// unbind frees the binding through it. The contexts NDIS passes back are made from
    /// `&Binding` and may only read the binding, not free it (Rust's aliasing rules; Miri's
    /// Stacked Borrows check enforces them).
    allocation: AtomicPtr<Binding>,
}

impl Binding {
    /// Writes a new binding for `lower`, with its per-processor counts (allocated beforehand),
    /// field by field at `this` (a pool block): never built whole on the caller's stack, since
    /// the binding is over 1 KiB and bind's frame has a 1 KiB budget.
    ///
    /// # Safety
    /// `this` is aligned, valid for writes of a `Binding` and owned by the caller; its old
    /// contents are overwritten without being dropped.
    #[inline(always)]
    pub unsafe fn write_new(this: *mut Binding, lower: LowerParams, counts: BindingCounts) {
        // Every field, one write each.
        write_field!(this.handle = AtomicPtr::new(ptr::null_mut()));
        write_field!(
            this.nbls_below = GatedRundown::new(
                counts.nbls_below,
                below_gate::LOWER_PAUSED | below_gate::MINIPORT_STOPPED,
            )
        );
        write_field!(this.handle_users = counts.handle_users);
        write_field!(this.open_status = AtomicI32::new(0));
        write_field!(this.open_complete = Event::new());
        write_field!(this.close_complete = Event::new());
        write_field!(this.lower = lower);
        write_field!(this.link = LinkState::default());
        write_field!(this.device_name = SetOnceName::new());
        // SAFETY: the adapter field of the caller's block (this function's contract).
        let adapter = unsafe { &raw mut (*this).adapter };
        // SAFETY: that field is aligned, valid for writes and owned by the caller.
        unsafe { Adapter::write_new(adapter, counts.nbls_in_flight) };
        write_field!(this.next_in_list = AtomicPtr::new(ptr::null_mut()));
        write_field!(this.allocation = AtomicPtr::new(ptr::null_mut()));
    }

    /// Initialises the NDIS events in place. Called once, right after the pool allocation, with
    /// `this` the allocation's own pointer (`PoolBox::as_ptr`), kept for the free in unbind.
    pub fn init_in_place(&self, this: *mut Binding) {
        debug_assert!(ptr::eq(this, self));
        // Relaxed: stored before the binding is published (to NDIS or the bindings list).
        self.allocation.store(this, Ordering::Relaxed);
        self.nbls_below.init();
        self.handle_users.init();
        self.open_complete.init();
        self.close_complete.init();
        self.adapter.init_in_place();
    }

    /// Recovers the binding from the ProtocolBindingContext NDIS passes back.
    ///
    /// # Safety
    /// `context` is a context this driver gave NDIS for a binding that has not been freed; NDIS
    /// makes no call for a binding after its unbind completed.
    pub unsafe fn from_context<'a>(context: NdisHandle) -> &'a Self {
        // SAFETY: a context we gave NDIS for a binding not yet freed (contract) is a live,
        // aligned Binding that NDIS only passes back.
        unsafe { &*context.cast::<Self>() }
    }

    /// The binding and its virtual miniport's handle, for a handler NDIS calls on the
    /// initialized miniport (data path, OIDs, chimney). The binding is also the
    /// MiniportAdapterContext: the virtual miniport is embedded in it.
    ///
    /// # Safety
    /// `context` is the MiniportAdapterContext NDIS passes to such a handler: NDIS calls them
    /// only between a successful MiniportInitializeEx and the return of MiniportHaltEx, so the
    /// binding is live and the miniport handle valid for the call.
    pub unsafe fn in_miniport_handler<'a>(context: NdisHandle) -> (&'a Self, MiniportHandle<'a>) {
        // SAFETY: the caller's contract: our context, its binding not freed.
        let binding = unsafe { Self::from_context(context) };
        // SAFETY: NDIS keeps the miniport initialized while it calls the handler (contract).
        let miniport = unsafe { MiniportHandle::new(binding.adapter.miniport_handle()) };
        (binding, miniport)
    }

    /// The pointer the binding was allocated at (given to `init_in_place`), for the free in
    /// unbind.
    pub fn allocation(&self) -> *mut Binding {
        self.allocation.load(Ordering::Relaxed)
    }

    pub fn as_context(&self) -> NdisHandle {
        ptr::from_ref(self).cast_mut().cast()
    }

    pub fn handle(&self) -> NdisHandle {
        self.handle.load(Ordering::Acquire)
    }

    pub fn record_open_status(&self, status: NdisStatus) {
        self.open_status.store(status, Ordering::Release);
    }
}
