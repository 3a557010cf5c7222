//! Typed NDIS handles, each carrying the NDIS calls that belong to it. Which handle goes where is
//! checked by the compiler: a send goes down on a [`BindingHandle`], its completion up on a
//! [`MiniportHandle`], a chimney post down on an [`OffloadIo`] (our own offload handle), and a
//! chimney completion up through [`TcpUpcalls`].
//!
//! A handle value is a proof that the handle is open for its lifetime `'a`: it is created
//! (unsafely, once) where that is known — an in-flight count that keeps it open (see
//! `state::Forward`) or an NDIS callback during which NDIS keeps it open — and every call on it
//! is then safe. Each wrapper is `#[repr(transparent)]` over the raw handle.

use core::ffi::c_void;
use core::marker::PhantomData;
use core::ptr::NonNull;

use crate::ndis::imports::{
    NdisAllocateCloneOidRequest, NdisCancelOidRequest, NdisCancelSendNetBufferLists,
    NdisFreeCloneOidRequest, NdisIMCancelInitializeDeviceInstance,
    NdisIMDeInitializeDeviceInstance, NdisIMInitializeDeviceInstanceEx,
    NdisMIndicateReceiveNetBufferLists, NdisMIndicateStatusEx, NdisMOidRequestComplete,
    NdisMPauseComplete, NdisMSendNetBufferListsComplete, NdisOidRequest, NdisReturnNetBufferLists,
    NdisSendNetBufferLists,
};
use crate::ndis::{
    NDIS_STATUS_PENDING, NDIS_STATUS_RESOURCES, NDIS_STATUS_SUCCESS, NdisDriverOptionalHandlers,
    NdisHandle, NdisInitiateOffload, NdisInvalidateOffload, NdisMInitiateOffloadComplete,
    NdisMInvalidateOffloadComplete, NdisMOffloadEventIndicate, NdisMQueryOffloadStateComplete,
    NdisMTerminateOffloadComplete, NdisMUpdateOffloadComplete, NdisOffloadHandle,
    NdisOffloadTcpDisconnect, NdisOffloadTcpForward, NdisOffloadTcpReceive,
    NdisOffloadTcpReceiveReturn, NdisOffloadTcpSend, NdisOidRequest as OidRequest, NdisPortNumber,
    NdisQueryOffloadState, NdisSetOptionalHandlers, NdisStatus, NdisStatusIndication, NdisString,
    NdisTcpOffloadEventHandlers, NdisTerminateOffload, NdisUpdateOffload, NetBufferList,
};

use super::blocks::{BlockTree, as_protocol};
use super::memory::POOL_TAG;
use super::nbl::NblChain;

/// Which state-manipulation call (the five chimney calls on offload block lists).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum StateOp {
    Initiate = 1,
    Terminate = 2,
    Update = 3,
    Invalidate = 4,
    Query = 5,
}

/// The four NBL-carrying chimney operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IoKind {
    Send,
    Receive,
    /// With the host's Flags (graceful 0x1 / abortive 0x2), passed down unchanged.
    Disconnect(u32),
    Forward,
}

/// `NdisBindingHandle`: our open of a lower adapter (protocol edge, calls going down).
#[repr(transparent)]
#[derive(Clone, Copy, Debug)]
pub struct BindingHandle<'a> {
    raw: NdisHandle,
    open: PhantomData<&'a ()>,
}

impl BindingHandle<'_> {
    /// # Safety
    /// `raw` is an open `NdisBindingHandle` of this driver that stays open (NdisCloseAdapterEx
    /// not called) for the returned value's lifetime.
    pub unsafe fn new(raw: NdisHandle) -> Self {
        Self {
            raw,
            open: PhantomData,
        }
    }

    /// NdisSendNetBufferLists. Every NBL must carry our context and our SourceHandle.
    pub fn send(self, chain: NblChain, port: NdisPortNumber, flags: u32) {
        // SAFETY: the binding is open (type invariant); the chain is ours to hand on (NblChain).
        // No lock is held by callers of this module.
        unsafe { NdisSendNetBufferLists(self.raw, chain.as_ptr(), port, flags) };
    }

    /// NdisReturnNetBufferLists: hands indicated NBLs (SourceHandle as the lower miniport set it)
    /// back to the miniport below.
    pub fn return_nbls(self, chain: NblChain, flags: u32) {
        // SAFETY: the binding is open (type invariant); the chain is ours to give back.
        unsafe { NdisReturnNetBufferLists(self.raw, chain.as_ptr(), flags) };
    }

    /// NdisCancelSendNetBufferLists (a no-op for ids no longer pending).
    #[allow(
        clippy::not_unsafe_ptr_arg_deref,
        reason = "the cancel id is an opaque tag that only NDIS compares"
    )]
    pub fn cancel_sends(self, cancel_id: *mut c_void) {
        // SAFETY: the binding is open (type invariant).
        unsafe { NdisCancelSendNetBufferLists(self.raw, cancel_id) };
    }

    /// NdisCancelOidRequest by RequestId (a no-op for ids no longer pending).
    #[allow(
        clippy::not_unsafe_ptr_arg_deref,
        reason = "the request id is an opaque tag that only NDIS compares"
    )]
    pub fn cancel_oid(self, request_id: *mut c_void) {
        // SAFETY: the binding is open (type invariant).
        unsafe { NdisCancelOidRequest(self.raw, request_id) };
    }

    /// NdisAllocateCloneOidRequest of `original` for this binding.
    pub fn clone_oid(self, original: &mut OidRequest) -> Result<OidClone, NdisStatus> {
        let mut clone: *mut OidRequest = core::ptr::null_mut();
        // SAFETY: the binding is open (type invariant); `original` is a live request (a
        // reference); the out-pointer is our local.
        let status =
            unsafe { NdisAllocateCloneOidRequest(self.raw, original, POOL_TAG, &raw mut clone) };
        match NonNull::new(clone) {
            Some(clone) if status == NDIS_STATUS_SUCCESS => Ok(OidClone(clone)),
            _ if status == NDIS_STATUS_SUCCESS => Err(NDIS_STATUS_RESOURCES),
            _ => Err(status),
        }
    }

    /// NdisOidRequest with a clone made on this binding.
    pub fn oid_request(self, clone: OidClone) -> OidForwarded {
        // SAFETY: the binding is open (type invariant); the clone is a valid request made for
        // this binding and owned by us until NDIS completes it.
        let status = unsafe { NdisOidRequest(self.raw, clone.0.as_ptr()) };
        if status == NDIS_STATUS_PENDING {
            OidForwarded::Pending
        } else {
            OidForwarded::Done(clone, status)
        }
    }

    /// NdisFreeCloneOidRequest.
    pub fn free_clone(self, clone: OidClone) {
        // SAFETY: the binding is open (type invariant); the clone came from NdisAllocateCloneOid
        // Request on it and the lower driver is done with it (an `OidClone` is only held then).
        unsafe { NdisFreeCloneOidRequest(self.raw, clone.0.as_ptr()) };
    }

    /// NdisInitiateOffload / NdisTerminateOffload / NdisUpdateOffload / NdisInvalidateOffload /
    /// NdisQueryOffloadState with a prepared list. The completion may run inside this call.
    pub fn offload_state_call(self, op: StateOp, tree: BlockTree) {
        let list = as_protocol(tree.into_raw());
        let handle = self.raw;
        match op {
            // SAFETY: the binding is open (type invariant); the list is ours to hand on
            // (BlockTree).
            StateOp::Initiate => unsafe { NdisInitiateOffload(handle, list) },
            // SAFETY: the same invariant for each of the five calls.
            StateOp::Terminate => unsafe { NdisTerminateOffload(handle, list) },
            // SAFETY: the same invariant for each of the five calls.
            StateOp::Update => unsafe { NdisUpdateOffload(handle, list) },
            // SAFETY: the same invariant for each of the five calls.
            StateOp::Invalidate => unsafe { NdisInvalidateOffload(handle, list) },
            // SAFETY: the same invariant for each of the five calls.
            StateOp::Query => unsafe { NdisQueryOffloadState(handle, list) },
        }
    }

    /// NdisOffloadTcpReceiveReturn: indicated chimney NBLs go back on the binding handle (NDIS
    /// does not route this one by SourceHandle). Synchronous.
    pub fn tcp_receive_return(self, chain: NblChain) {
        // SAFETY: the binding is open (type invariant); the NBLs are the target's, returned.
        unsafe { NdisOffloadTcpReceiveReturn(self.raw, chain.as_ptr()) };
    }
}

/// What [`BindingHandle::oid_request`] did with the clone.
#[derive(Debug)]
pub enum OidForwarded {
    /// Pending below: ProtocolOidRequestComplete gives the clone back.
    Pending,
    /// Completed at once with this status: the clone is ours again.
    Done(OidClone, NdisStatus),
}

/// An OID request cloned by NdisAllocateCloneOidRequest, owned by the driver (not below).
#[derive(Debug)]
pub struct OidClone(NonNull<OidRequest>);

impl OidClone {
    /// # Safety
    /// `raw` is a clone this driver made and forwarded, now completed back to it.
    pub unsafe fn from_completed(raw: *mut OidRequest) -> Option<Self> {
        NonNull::new(raw).map(Self)
    }

    pub fn get(&self) -> &OidRequest {
        // SAFETY: an owned clone is valid and not used by any other layer.
        unsafe { self.0.as_ref() }
    }

    pub fn get_mut(&mut self) -> &mut OidRequest {
        // SAFETY: as `get`; `&mut self` makes the access exclusive.
        unsafe { self.0.as_mut() }
    }
}

/// `NdisMiniportDriverHandle`: our registration as a miniport driver, valid from
/// NdisMRegisterMiniportDriver until NdisMDeregisterMiniportDriver (unload).
#[repr(transparent)]
#[derive(Clone, Copy, Debug)]
pub struct MiniportDriverHandle<'a> {
    raw: NdisHandle,
    registered: PhantomData<&'a ()>,
}

impl MiniportDriverHandle<'_> {
    /// # Safety
    /// `raw` is our registered miniport driver handle, not deregistered for the returned value's
    /// lifetime.
    pub unsafe fn new(raw: NdisHandle) -> Self {
        Self {
            raw,
            registered: PhantomData,
        }
    }

    /// NdisIMInitializeDeviceInstanceEx: asks PnP to start the virtual miniport `name`; its
    /// MiniportInitializeEx gets `context` as IMDeviceInstanceContext.
    #[allow(
        clippy::not_unsafe_ptr_arg_deref,
        reason = "the device context is opaque to NDIS: it only hands it back to us"
    )]
    pub fn im_initialize_device_instance(
        self,
        name: &mut NdisString,
        context: NdisHandle,
    ) -> NdisStatus {
        // SAFETY: the driver is registered (type invariant); the name is valid for the call;
        // NDIS only stores the context. PASSIVE_LEVEL is the callers' (bind, PnP events).
        unsafe { NdisIMInitializeDeviceInstanceEx(self.raw, name, context) }
    }

    /// NdisIMCancelInitializeDeviceInstance for a start not yet begun.
    pub fn im_cancel_initialize_device_instance(self, name: &mut NdisString) -> NdisStatus {
        // SAFETY: the driver is registered (type invariant); the name is valid for the call.
        unsafe { NdisIMCancelInitializeDeviceInstance(self.raw, name) }
    }
}

/// The driver handle NDIS passes to MiniportSetOptions / ProtocolSetOptions.
#[repr(transparent)]
#[derive(Clone, Copy, Debug)]
pub struct SetOptionsHandle<'a> {
    raw: NdisHandle,
    in_call: PhantomData<&'a ()>,
}

impl SetOptionsHandle<'_> {
    /// # Safety
    /// `raw` is the NdisDriverHandle NDIS passed to the SetOptions handler running now; the value
    /// is used only during that call.
    pub unsafe fn new(raw: NdisHandle) -> Self {
        Self {
            raw,
            in_call: PhantomData,
        }
    }

    /// NdisSetOptionalHandlers with `characteristics` (Header.Type set: NDIS dispatches on it).
    pub fn set_optional_handlers<T>(self, characteristics: &mut T) -> NdisStatus {
        let raw = core::ptr::from_mut(characteristics).cast::<NdisDriverOptionalHandlers>();
        // SAFETY: inside the SetOptions call (type invariant); the characteristics live for the
        // call and start with an NDIS_OBJECT_HEADER naming their type.
        unsafe { NdisSetOptionalHandlers(self.raw, raw) }
    }
}

/// `NdisMiniportHandle`: our virtual miniport (miniport edge, calls going up).
#[repr(transparent)]
#[derive(Clone, Copy, Debug)]
pub struct MiniportHandle<'a> {
    raw: NdisHandle,
    initialized: PhantomData<&'a ()>,
}

impl MiniportHandle<'_> {
    /// # Safety
    /// `raw` is the handle of one of our virtual miniports that stays initialized (MiniportHaltEx
    /// has not returned) for the returned value's lifetime.
    pub unsafe fn new(raw: NdisHandle) -> Self {
        Self {
            raw,
            initialized: PhantomData,
        }
    }

    pub fn raw(self) -> NdisHandle {
        self.raw
    }

    /// NdisMSendNetBufferListsComplete. The NBLs carry the host's SourceHandle again.
    pub fn send_complete(self, chain: NblChain, flags: u32) {
        // SAFETY: the miniport is initialized (type invariant); the chain is ours to give back.
        unsafe { NdisMSendNetBufferListsComplete(self.raw, chain.as_ptr(), flags) };
    }

    /// NdisMIndicateReceiveNetBufferLists. Without RESOURCES the NBLs come back through
    /// MiniportReturnNetBufferLists; with it, when this returns.
    pub fn indicate_receive(self, chain: &NblChain, port: NdisPortNumber, count: u32, flags: u32) {
        // SAFETY: the miniport is initialized (type invariant); the NBLs carry our context and
        // SourceHandle and are ours to lend up.
        unsafe {
            NdisMIndicateReceiveNetBufferLists(self.raw, chain.as_ptr(), port, count, flags);
        };
    }

    /// NdisMOidRequestComplete for a request MiniportOidRequest pended.
    ///
    /// # Safety
    /// `original` is the request NDIS passed to our MiniportOidRequest on this miniport, for
    /// which we returned NDIS_STATUS_PENDING and have not completed it yet.
    pub unsafe fn oid_complete(self, original: *mut OidRequest, status: NdisStatus) {
        // SAFETY: the miniport is initialized (type invariant); `original` per the contract.
        unsafe { NdisMOidRequestComplete(self.raw, original, status) };
    }

    /// NdisMIndicateStatusEx.
    pub fn indicate_status(self, indication: &mut NdisStatusIndication) {
        // SAFETY: the miniport is initialized (type invariant); the indication (and the buffer
        // it names, the caller's) live for the call.
        unsafe { NdisMIndicateStatusEx(self.raw, indication) };
    }

    /// NdisIMDeInitializeDeviceInstance: NDIS pauses and halts the miniport (maybe on another
    /// thread).
    pub fn im_deinitialize(self) -> NdisStatus {
        // SAFETY: the miniport is initialized (type invariant).
        unsafe { NdisIMDeInitializeDeviceInstance(self.raw) }
    }

    /// NdisMPauseComplete, for a pause MiniportPause pended (exactly once).
    pub fn pause_complete(self) {
        // SAFETY: the miniport is initialized (type invariant).
        unsafe { NdisMPauseComplete(self.raw) };
    }

    /// NdisM{Initiate,Terminate,Update,Invalidate}OffloadComplete /
    /// NdisMQueryOffloadStateComplete. The tree must be back in the caller's view.
    pub fn offload_complete(self, op: StateOp, tree: BlockTree) {
        let root = tree.into_raw();
        let handle = self.raw;
        match op {
            // SAFETY: the miniport is initialized (type invariant); the list is ours to give
            // back (BlockTree).
            StateOp::Initiate => unsafe { NdisMInitiateOffloadComplete(handle, root) },
            // SAFETY: the same invariant for each of the five completions.
            StateOp::Terminate => unsafe { NdisMTerminateOffloadComplete(handle, root) },
            // SAFETY: the same invariant for each of the five completions.
            StateOp::Update => unsafe { NdisMUpdateOffloadComplete(handle, root) },
            // SAFETY: the same invariant for each of the five completions.
            StateOp::Invalidate => unsafe { NdisMInvalidateOffloadComplete(handle, root) },
            // SAFETY: the same invariant for each of the five completions.
            StateOp::Query => unsafe { NdisMQueryOffloadStateComplete(handle, root) },
        }
    }

    /// NdisMOffloadEventIndicate with a list lent for the call.
    pub fn offload_event_indicate(self, tree: &mut BlockTree, code: u32) {
        // SAFETY: the miniport is initialized (type invariant); the list is lent to a
        // synchronous call.
        unsafe { NdisMOffloadEventIndicate(self.raw, tree.lend(), code) };
    }
}

/// Our own `NDIS_OFFLOAD_HANDLE` for the layer below (the first field of an offload entry): the
/// handle the four chimney I/O calls go down on.
#[repr(transparent)]
#[derive(Clone, Copy, Debug)]
pub struct OffloadIo<'a> {
    raw: *mut NdisOffloadHandle,
    live: PhantomData<&'a ()>,
}

impl OffloadIo<'_> {
    /// # Safety
    /// `raw` is the offload handle of an entry that stays allocated, offloaded through a binding
    /// that stays open, for the returned value's lifetime.
    pub unsafe fn new(raw: *mut NdisOffloadHandle) -> Self {
        Self {
            raw,
            live: PhantomData,
        }
    }

    /// NdisOffloadTcp{Send,Receive,Disconnect,Forward}: the same NBLs, each carrying our
    /// context. The completion may run before this returns. Documented to return PENDING,
    /// which carries no information, so nothing is returned.
    #[inline]
    pub fn post(self, kind: IoKind, chain: NblChain) {
        let (handle, nbls) = (self.raw, chain.as_ptr());
        let _ = match kind {
            // SAFETY: the handle is live (type invariant); the chain is ours to hand on.
            IoKind::Send => unsafe { NdisOffloadTcpSend(handle, nbls) },
            // SAFETY: the same invariant for each of the four calls.
            IoKind::Receive => unsafe { NdisOffloadTcpReceive(handle, nbls) },
            // SAFETY: the same invariant; the host's flags go down unchanged.
            IoKind::Disconnect(flags) => unsafe { NdisOffloadTcpDisconnect(handle, nbls, flags) },
            // SAFETY: the same invariant for each of the four calls.
            IoKind::Forward => unsafe { NdisOffloadTcpForward(handle, nbls) },
        };
    }
}

/// NDIS's upward TCP chimney table for one miniport (NdisMGetOffloadHandlers), with its six
/// routines checked present.
#[repr(transparent)]
#[derive(Clone, Copy)]
pub struct TcpUpcalls(&'static NdisTcpOffloadEventHandlers);

impl TcpUpcalls {
    /// The table as NDIS gave it, without checking it again (a missing routine is skipped, not
    /// called). For a table [`TcpUpcalls::checked`] accepted before.
    #[inline]
    pub fn from_static(table: &'static NdisTcpOffloadEventHandlers) -> Self {
        Self(table)
    }

    /// The table, if every routine the driver calls is present.
    pub fn checked(table: &'static NdisTcpOffloadEventHandlers) -> Option<Self> {
        let t = table;
        let complete = t.ndis_tcp_offload_event_handler.is_some()
            && t.ndis_tcp_offload_receive_handler.is_some()
            && t.ndis_tcp_offload_send_complete.is_some()
            && t.ndis_tcp_offload_receive_complete.is_some()
            && t.ndis_tcp_offload_disconnect_complete.is_some()
            && t.ndis_tcp_offload_forward_complete.is_some();
        complete.then_some(Self(table))
    }

    pub fn table(self) -> &'static NdisTcpOffloadEventHandlers {
        self.0
    }

    /// NdisTcpOffload{Send,Receive,Disconnect,Forward}Complete: NDIS routes by each NBL's
    /// SourceHandle (the host's again); the miniport handle is passed as the docs ask.
    #[inline]
    pub fn complete(self, kind: IoKind, miniport: MiniportHandle<'_>, chain: NblChain) {
        let t = self.0;
        let routine = match kind {
            IoKind::Send => t.ndis_tcp_offload_send_complete,
            IoKind::Receive => t.ndis_tcp_offload_receive_complete,
            IoKind::Disconnect(_) => t.ndis_tcp_offload_disconnect_complete,
            IoKind::Forward => t.ndis_tcp_offload_forward_complete,
        };
        if let Some(routine) = routine {
            // SAFETY: NDIS's own routine from its static table; the miniport is initialized
            // (its type); the NBLs are the host's again and ours to give back.
            unsafe { routine(miniport.raw(), chain.as_ptr()) };
        }
    }

    /// NdisTcpOffloadReceiveHandler: a receive indication up on the host's handle.
    ///
    /// # Safety
    /// `host` is the host's handle of a state object still offloaded; `nbl` and `bytes_consumed`
    /// are the target's arguments, valid for the call.
    pub unsafe fn receive_indicate(
        self,
        host: *mut NdisOffloadHandle,
        nbl: *mut NetBufferList,
        status: NdisStatus,
        bytes_consumed: *mut u32,
    ) -> NdisStatus {
        let Some(indicate) = self.0.ndis_tcp_offload_receive_handler else {
            return crate::ndis::NDIS_STATUS_OFFLOAD_DATA_NOT_ACCEPTED;
        };
        // SAFETY: NDIS's routine; the arguments per the contract.
        unsafe { indicate(host.cast(), nbl, status, bytes_consumed) }
    }

    /// NdisTcpOffloadEventHandler: a TCP event up on the host's handle.
    ///
    /// # Safety
    /// `host` is the host's handle of a state object still offloaded.
    pub unsafe fn event(self, host: *mut NdisOffloadHandle, event_type: u32, information: u32) {
        if let Some(indicate) = self.0.ndis_tcp_offload_event_handler {
            // SAFETY: NDIS's routine; the handle per the contract.
            unsafe { indicate(host.cast(), event_type, information) };
        }
    }
}
