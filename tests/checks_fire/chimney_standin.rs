//! Faulty chimney handlers: installed with `Model::replace_chimney_handlers` in place of
//! chimney-im's provider (miniport-edge) and client (protocol-edge) chimney handlers. Two
//! stand-in paths do the work without the driver, so that one step can be done wrong:
//! - the state path (`state_*`) completes the host's state calls at once, never forwarding them;
//! - the I/O path (`post_*`, `complete_*`) forwards the host's NBLs on the offload context NDIS
//!   passes (the driver's own offload handle: an entry's address is its handle's) and completes
//!   them back up, putting the host's SourceHandle back.
//!
//! Which step goes wrong is [`FAULT`]; the handles a case needs are recorded as they pass.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering::Relaxed};

use chimney_im::ndis::*;
use core::ffi::c_void;
use ndis_model::Model;
use ndis_model::chimney::{ImClient, ImProvider};
use ndis_model::exports::{chimney, chimney_io};

use super::faulty::{SAVED_SOURCE, restore_source, save_and_set_source};

/// The real tables the wrappers call.
static REAL: Mutex<Option<(ImProvider, ImClient)>> = Mutex::new(None);

pub fn real() -> (ImProvider, ImClient) {
    REAL.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .unwrap_or_default()
}

/// The fault the stand-ins commit (one of the constants below; 0: none).
pub static FAULT: AtomicU32 = AtomicU32::new(0);
/// The miniport handle the stand-ins complete on (adapter 0's virtual miniport unless a case
/// sets another).
pub static MINIPORT: AtomicUsize = AtomicUsize::new(0);
/// The last MiniportOffloadContext a post handler was given (the driver's offload handle).
pub static LAST_CONTEXT: AtomicUsize = AtomicUsize::new(0);
/// The host's offload handles named by the last initiate (neighbor, path, TCP block order).
pub static HOST_HANDLES: Mutex<Vec<usize>> = Mutex::new(Vec::new());
/// Another binding handle a fault may use.
pub static OTHER: AtomicUsize = AtomicUsize::new(0);

// ---- faults of the I/O path ----
pub const POST_REVERSED: u32 = 1;
pub const POST_AS_FORWARD: u32 = 2;
pub const POST_ALTERED: u32 = 3;
pub const POST_FLAGS_CHANGED: u32 = 4;
pub const POST_RETURNS_SUCCESS: u32 = 5;
pub const POST_REFUSED_WITH_SUCCESS: u32 = 6;
pub const POST_ON_LAST_CONTEXT: u32 = 7;
pub const COMPLETE_NO_RESTORE: u32 = 10;
pub const COMPLETE_REVERSED: u32 = 11;
pub const COMPLETE_STATUS_CHANGED: u32 = 12;
pub const COMPLETE_AS_FORWARD: u32 = 13;
pub const COMPLETE_DROPPED: u32 = 14;
pub const COMPLETE_ALTERED: u32 = 15;
// ---- faults of the state path ----
pub const STATE_NOT_PUBLISHED: u32 = 20;
pub const STATE_FAILED_BUT_PUBLISHED: u32 = 21;
pub const STATE_NOT_CLEARED: u32 = 22;
pub const STATE_REFUSED_NOT_SUPPORTED: u32 = 23;
pub const STATE_FOREIGN_LIST_FIRST: u32 = 24;
pub const STATE_AS_TERMINATE: u32 = 25;
pub const STATE_BLOCK_ALTERED: u32 = 26;
pub const STATE_CHAIN_KEPT: u32 = 27;
pub const STATE_CHAIN_ALTERED: u32 = 28;
pub const STATE_FOREIGN_IN_CHAIN: u32 = 29;
pub const STATE_TERMINATE_SWALLOWED: u32 = 30;
pub const STATE_CHAIN_FOREIGN: u32 = 31;

fn fault() -> u32 {
    FAULT.load(Relaxed)
}

/// Replaces chimney handlers through `f`, keeping the real tables for the wrappers and the
/// virtual miniport of adapter 0 for the completions.
pub fn install_chimney(m: &mut Model, fault: u32, f: fn(&mut ImProvider, &mut ImClient)) {
    SAVED_SOURCE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clear();
    FAULT.store(fault, Relaxed);
    super::faulty::NO_RESTORE.store(false, Relaxed);
    LAST_CONTEXT.store(0, Relaxed);
    MINIPORT.store(m.ndis_handles(super::setups::A).miniport, Relaxed);
    m.replace_chimney_handlers(|p, c| {
        *REAL
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some((*p, *c));
        f(p, c);
    });
}

/// The stand-in I/O path for sends (post and completion); disconnects and receives too.
pub fn io_path(p: &mut ImProvider, c: &mut ImClient) {
    p.send = Some(post_send);
    p.receive = Some(post_receive);
    p.disconnect = Some(post_disconnect);
    c.send_complete = Some(complete_send);
    c.receive_complete = Some(complete_receive);
    c.disconnect_complete = Some(complete_disconnect);
    c.forward_complete = Some(complete_forward);
}

/// The stand-in state path for initiate and terminate.
pub fn state_path(p: &mut ImProvider, _: &mut ImClient) {
    p.initiate = Some(state_initiate);
    p.terminate = Some(state_terminate);
}

fn mp() -> NdisHandle {
    MINIPORT.load(Relaxed) as NdisHandle
}

/// The NBLs of a chain, in order.
///
/// # Safety
/// `head` is a chain of live NBLs.
pub unsafe fn nbls(head: *mut NetBufferList) -> Vec<*mut NetBufferList> {
    let mut v = Vec::new();
    let mut p = head;
    while !p.is_null() {
        v.push(p);
        // SAFETY: a live NBL of the chain (contract); `Next` is its first field.
        p = unsafe { p.cast::<*mut NetBufferList>().read() };
    }
    v
}

/// Links `v` into a chain in that order; returns its head.
///
/// # Safety
/// Every element is a live NBL the caller owns.
pub unsafe fn link(v: &[*mut NetBufferList]) -> *mut NetBufferList {
    for (i, p) in v.iter().enumerate() {
        let next = v.get(i + 1).copied().unwrap_or(std::ptr::null_mut());
        // SAFETY: an NBL the caller owns; `Next` is its first field.
        unsafe { p.cast::<*mut NetBufferList>().write(next) };
    }
    v.first().copied().unwrap_or(std::ptr::null_mut())
}

/// Address of a data byte of a model NBL: at its NET_BUFFER's current offset, or (`start`) the
/// first byte of its buffer.
///
/// # Safety
/// `p` is a live model NBL (one NET_BUFFER, one mapped MDL).
pub unsafe fn data_byte(p: *mut NetBufferList, start: bool) -> *mut u8 {
    // SAFETY: `p` is live (contract).
    let nbl = unsafe { &*p };
    // SAFETY: NBLs use the data arm of the header union.
    let nb = unsafe { nbl.header.data }.first_net_buffer;
    // SAFETY: its NET_BUFFER (the model's NBLs have one).
    let nb = unsafe { &*nb };
    // SAFETY: NET_BUFFERs use the data arm of the header union.
    let d = unsafe { nb.header.data };
    // SAFETY: its current MDL, mapped.
    let va = unsafe { (*d.current_mdl).mapped_system_va }.cast::<u8>();
    va.wrapping_add(if start {
        0
    } else {
        d.current_mdl_offset as usize
    })
}

/// Flips the first byte of the NBL's buffer: inside the data the host posted, however far the
/// target advanced the NET_BUFFER.
///
/// # Safety
/// `p` is a live model NBL the caller owns.
unsafe fn alter_data(p: *mut NetBufferList) {
    // SAFETY: the caller's contract.
    let b = unsafe { data_byte(p, true) };
    // SAFETY: a byte of the buffer the caller owns with the NBL.
    unsafe { *b ^= 0x5A };
}

enum Post {
    Send,
    Receive,
    Disconnect(u32),
}

/// What the stand-in post handlers share: record, save SourceHandle, maybe break one rule,
/// forward on the driver's offload handle.
///
/// # Safety
/// `oc` is the MiniportOffloadContext NDIS passed; `chain` the host's NBLs.
unsafe fn post_down(kind: Post, oc: *mut c_void, chain: *mut NetBufferList) -> NdisStatus {
    let last = LAST_CONTEXT.swap(oc as usize, Relaxed);
    // SAFETY: the host's NBLs, owned by this handler until forwarded.
    let mut v = unsafe { nbls(chain) };
    // SAFETY: the first of them (the host posts non-empty chains).
    let host_open = unsafe { (*v[0]).source_handle } as usize;
    // SAFETY: as above.
    unsafe { save_and_set_source(chain, host_open) };
    let mut handle = oc.cast::<NdisOffloadHandle>();
    match fault() {
        POST_REVERSED => v.reverse(),
        // SAFETY: an NBL this handler owns.
        POST_ALTERED => unsafe { alter_data(v[0]) },
        POST_ON_LAST_CONTEXT if last != 0 => handle = last as *mut NdisOffloadHandle,
        POST_REFUSED_WITH_SUCCESS => {
            for p in &v {
                // SAFETY: NBLs this handler owns.
                unsafe { (**p).status = NDIS_STATUS_SUCCESS };
            }
            // SAFETY: completes the host's NBLs back at once with SUCCESS (the fault: a
            // refusal is REQUEST_UPLOAD / UPLOAD_REQUESTED).
            unsafe { chimney_io::NdisTcpOffloadSendComplete(mp(), chain) };
            return NDIS_STATUS_PENDING;
        }
        _ => {}
    }
    // SAFETY: the NBLs this handler owns, relinked.
    let head = unsafe { link(&v) };
    // Each call: the driver's own offload handle for this connection (or the fault's) and NBLs
    // this handler owns.
    match kind {
        // SAFETY: as above.
        _ if fault() == POST_AS_FORWARD => unsafe {
            chimney_io::NdisOffloadTcpForward(handle, head)
        },
        // SAFETY: as above.
        Post::Send => unsafe { chimney_io::NdisOffloadTcpSend(handle, head) },
        // SAFETY: as above.
        Post::Receive => unsafe { chimney_io::NdisOffloadTcpReceive(handle, head) },
        Post::Disconnect(flags) => {
            let flags = if fault() == POST_FLAGS_CHANGED {
                flags ^ 1
            } else {
                flags
            };
            // SAFETY: as above.
            unsafe { chimney_io::NdisOffloadTcpDisconnect(handle, head, flags) }
        }
    };
    if fault() == POST_RETURNS_SUCCESS {
        NDIS_STATUS_SUCCESS
    } else {
        NDIS_STATUS_PENDING
    }
}

pub unsafe extern "system-unwind" fn post_send(
    _: NdisHandle,
    oc: *mut c_void,
    chain: *mut NetBufferList,
) -> NdisStatus {
    // SAFETY: NDIS's arguments.
    unsafe { post_down(Post::Send, oc, chain) }
}

pub unsafe extern "system-unwind" fn post_receive(
    _: NdisHandle,
    oc: *mut c_void,
    chain: *mut NetBufferList,
) -> NdisStatus {
    // SAFETY: NDIS's arguments.
    unsafe { post_down(Post::Receive, oc, chain) }
}

pub unsafe extern "system-unwind" fn post_disconnect(
    _: NdisHandle,
    oc: *mut c_void,
    chain: *mut NetBufferList,
    flags: u32,
) -> NdisStatus {
    // SAFETY: NDIS's arguments.
    unsafe { post_down(Post::Disconnect(flags), oc, chain) }
}

#[derive(Clone, Copy)]
enum Up {
    Send,
    Receive,
    Disconnect,
    Forward,
}

/// What the stand-in completion handlers share: put the host's SourceHandle back, maybe break
/// one rule, complete up on the virtual miniport.
///
/// # Safety
/// `chain` is NBLs the stand-in posted, completed back to it.
unsafe fn complete_up(kind: Up, chain: *mut NetBufferList) {
    let f = fault();
    if f == COMPLETE_DROPPED {
        return;
    }
    if f != COMPLETE_NO_RESTORE {
        // SAFETY: NBLs this handler owns again.
        unsafe { restore_source(chain) };
    }
    // SAFETY: as above.
    let mut v = unsafe { nbls(chain) };
    match f {
        COMPLETE_REVERSED => v.reverse(),
        COMPLETE_STATUS_CHANGED => {
            for p in &v {
                // SAFETY: NBLs this handler owns.
                unsafe { (**p).status = NDIS_STATUS_REQUEST_ABORTED };
            }
        }
        // SAFETY: an NBL this handler owns.
        COMPLETE_ALTERED => unsafe { alter_data(v[0]) },
        _ => {}
    }
    // SAFETY: as above.
    let head = unsafe { link(&v) };
    let kind = if f == COMPLETE_AS_FORWARD {
        Up::Forward
    } else {
        kind
    };
    // Each call completes NBLs this handler owns to the host, on the case's miniport handle.
    match kind {
        // SAFETY: as above.
        Up::Send => unsafe { chimney_io::NdisTcpOffloadSendComplete(mp(), head) },
        // SAFETY: as above.
        Up::Receive => unsafe { chimney_io::NdisTcpOffloadReceiveComplete(mp(), head) },
        // SAFETY: as above.
        Up::Disconnect => unsafe { chimney_io::NdisTcpOffloadDisconnectComplete(mp(), head) },
        // SAFETY: as above.
        Up::Forward => unsafe { chimney_io::NdisTcpOffloadForwardComplete(mp(), head) },
    }
}

pub unsafe extern "system-unwind" fn complete_send(_: NdisHandle, chain: *mut NetBufferList) {
    // SAFETY: NDIS's arguments.
    unsafe { complete_up(Up::Send, chain) }
}

pub unsafe extern "system-unwind" fn complete_receive(_: NdisHandle, chain: *mut NetBufferList) {
    // SAFETY: NDIS's arguments.
    unsafe { complete_up(Up::Receive, chain) }
}

pub unsafe extern "system-unwind" fn complete_disconnect(_: NdisHandle, chain: *mut NetBufferList) {
    // SAFETY: NDIS's arguments.
    unsafe { complete_up(Up::Disconnect, chain) }
}

pub unsafe extern "system-unwind" fn complete_forward(_: NdisHandle, chain: *mut NetBufferList) {
    // SAFETY: NDIS's arguments.
    unsafe { complete_up(Up::Forward, chain) }
}

type Mobl = NdisMiniportOffloadBlockList;

/// The blocks of a tree, pre-order (a block, its dependents, its next sibling).
///
/// # Safety
/// `b` is null or a live, well-formed block tree.
pub unsafe fn blocks(b: *mut Mobl) -> Vec<*mut Mobl> {
    let mut out = Vec::new();
    let mut p = b;
    while !p.is_null() {
        out.push(p);
        // SAFETY: a live block of the tree (contract).
        let block = unsafe { &*p };
        let (dep, next) = (block.dependent_block_list, block.next_block);
        // SAFETY: its dependents, the same tree.
        out.extend(unsafe { blocks(dep) });
        p = next;
    }
    out
}

/// A non-NULL value the state stand-in publishes as its offload context (never dereferenced:
/// the stand-in I/O path is not installed with it).
const CONTEXT: usize = 0x5AC0_0000;

/// MiniportInitiateOffload done without the target: completes the host's call at once, never
/// forwarding it, with the statuses, context and chain the fault (`FAULT`) asks for.
pub unsafe extern "system-unwind" fn state_initiate(_: NdisHandle, list: *mut Mobl) {
    // SAFETY: the host's block tree, this handler's until completed.
    let v = unsafe { blocks(list) };
    let named = v.iter().map(|b| {
        // SAFETY: live blocks of the tree.
        unsafe { (**b).ndis_offload_handle as usize }
    });
    HOST_HANDLES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .extend(named);
    let f = fault();
    // The terminate faults need the connection offloaded first (with a context published).
    let offloaded = matches!(
        f,
        STATE_NOT_CLEARED | STATE_FOREIGN_IN_CHAIN | STATE_TERMINATE_SWALLOWED
    );
    let status = match f {
        STATE_NOT_PUBLISHED => NDIS_STATUS_SUCCESS,
        _ if offloaded => NDIS_STATUS_SUCCESS,
        STATE_REFUSED_NOT_SUPPORTED => NDIS_STATUS_NOT_SUPPORTED,
        _ => NDIS_STATUS_FAILURE,
    };
    let publish = offloaded || f == STATE_FAILED_BUT_PUBLISHED;
    for &b in &v {
        // SAFETY: live blocks of the host's tree, this handler's until completed.
        let block = unsafe { &mut *b };
        block.status = status;
        let slot = block.miniport_offload_context;
        if publish && !slot.is_null() {
            // SAFETY: a named block's context slot points at the host handle's
            // MiniportOffloadContext, which the miniport below publishes.
            unsafe { *slot = CONTEXT as *mut c_void };
        }
    }
    let last = *v.last().expect("the host's tree has a TCP block");
    // SAFETY: the TCP block of the host's tree, this handler's until completed.
    let tcp = unsafe { &mut *last };
    let chain = tcp.net_buffer_list_chain;
    match f {
        STATE_CHAIN_KEPT => tcp.net_buffer_list_chain = std::ptr::null_mut(),
        STATE_CHAIN_FOREIGN => tcp.net_buffer_list_chain = super::setups::foreign_nbl(),
        // SAFETY: the send data in its chain (the host's, handed over with the call).
        STATE_CHAIN_ALTERED if !chain.is_null() => unsafe { alter_data(chain) },
        STATE_BLOCK_ALTERED => {
            // A state byte after the first block (the host's, to be given back unchanged).
            // SAFETY: the host allocates each block with its state bytes right after it.
            let state = unsafe { list.cast::<u8>().add(size_of::<Mobl>()) };
            // SAFETY: as above.
            unsafe { *state ^= 0xFF };
        }
        _ => {}
    }
    if f == STATE_FOREIGN_LIST_FIRST {
        // A zeroed list carrying the host's SourceHandle: not a call the host made.
        // SAFETY: Mobl is plain data; all-zero is valid.
        let mut foreign: Mobl = unsafe { core::mem::zeroed() };
        // SAFETY: the root block of the host's tree.
        foreign.source_handle = unsafe { (*list).source_handle };
        // SAFETY: a valid (foreign) list on this frame, then the host's own.
        unsafe { chimney::NdisMInitiateOffloadComplete(mp(), &raw mut foreign) };
    }
    if f == STATE_AS_TERMINATE {
        // SAFETY: the host's list, completed through the wrong completion (the fault).
        unsafe { chimney::NdisMTerminateOffloadComplete(mp(), list) };
    } else {
        // SAFETY: the host's list, completed once.
        unsafe { chimney::NdisMInitiateOffloadComplete(mp(), list) };
    }
}

/// MiniportTerminateOffload done without the target: completes at once, every block FAILURE (the
/// status of a call that never reached the target), the offload context cleared unless the fault
/// says otherwise; or (`STATE_TERMINATE_SWALLOWED`) never completes.
pub unsafe extern "system-unwind" fn state_terminate(_: NdisHandle, list: *mut Mobl) {
    let f = fault();
    if f == STATE_TERMINATE_SWALLOWED {
        return;
    }
    // SAFETY: the host's block tree, this handler's until completed.
    let v = unsafe { blocks(list) };
    for &b in &v {
        // SAFETY: live blocks of the host's tree, this handler's until completed.
        let block = unsafe { &mut *b };
        block.status = NDIS_STATUS_FAILURE;
        let slot = block.miniport_offload_context;
        if f != STATE_NOT_CLEARED && !slot.is_null() {
            // SAFETY: a named block's context slot points at the host handle's
            // MiniportOffloadContext.
            unsafe { *slot = std::ptr::null_mut() };
        }
    }
    if f == STATE_FOREIGN_IN_CHAIN {
        let last = *v.last().expect("a TCP block");
        // SAFETY: the TCP block; an NBL that is not the host's handed back (the fault).
        unsafe { (*last).net_buffer_list_chain = super::setups::foreign_nbl() };
    }
    // SAFETY: the host's list, completed once.
    unsafe { chimney::NdisMTerminateOffloadComplete(mp(), list) };
}
