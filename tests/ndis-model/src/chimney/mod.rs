//! TCP chimney in the model: ndis.sys's chimney routing (`core`), the host stack above each
//! virtual miniport (`host`, `host_io`), the offload target below each binding (`target`,
//! `target_io`), offload block trees (`blocks`) and chimney NBLs (`cnbl`).
//!
//! Routing follows decompiled ndis.sys (docs/chimney-contract.md §4–§6): state calls and I/O go to
//! the next lower driver of the caller's open; completions come back by SourceHandle; indications
//! by the offload handle's `NdisReserved[0]`. The two opens are the host's (its binding to the
//! virtual miniport, `HostBinding`) and the driver's (its binding to the lower adapter).

pub mod api;
pub(crate) mod blocks;
mod cnbl;
pub(crate) mod core;
pub(crate) mod host;
pub(crate) mod host_io;
mod host_pair;
mod replace;
mod target;
mod target_io;

use std::alloc::{Layout, alloc_zeroed, dealloc};
use std::collections::{BTreeMap, HashMap, VecDeque};

use chimney_im::ndis::*;

use crate::world::{HandleKind, World};

pub use cnbl::RecvSpec;

/// A TCP connection of the host stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub usize);

/// Where a host connection is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnState {
    /// Initiate in progress.
    Offloading,
    Offloaded,
    /// The initiate failed with this TCP block status.
    Failed(NdisStatus),
    /// Terminate in progress.
    Terminating,
    Terminated,
}

/// Offload state layer (block Header.Type NeighborOffloadState, Ip4OffloadState, TcpOffloadState).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layer {
    Neighbor,
    Path,
    Tcp,
}

impl Layer {
    pub fn state_type(self) -> u8 {
        match self {
            Layer::Neighbor => offload_state_type::NEIGHBOR,
            Layer::Path => offload_state_type::IP4,
            Layer::Tcp => offload_state_type::TCP,
        }
    }
}

/// A state-manipulation call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Initiate,
    Terminate,
    Update,
    Invalidate,
    Query,
}

/// The four NBL-carrying chimney operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IoKind {
    Send,
    Receive,
    Disconnect,
    Forward,
}

impl IoKind {
    /// FIFO class: receives; sends and disconnects (one queue at the target); forwards.
    pub fn class(self) -> usize {
        match self {
            IoKind::Receive => 0,
            IoKind::Send | IoKind::Disconnect => 1,
            IoKind::Forward => 2,
        }
    }
}

/// An open (a binding) as ndis.sys sees it: the host's binding to virtual miniport `a`, or the
/// driver's binding to lower adapter `a`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Open {
    Host(usize),
    Im(usize),
}

/// What an open handle value stands for.
pub fn open_of(w: &World, h: usize) -> Option<Open> {
    let i = w.handles.get(&h).filter(|i| i.alive)?;
    match i.kind {
        HandleKind::HostBinding => Some(Open::Host(i.adapter)),
        HandleKind::Binding => Some(Open::Im(i.adapter)),
        _ => None,
    }
}

pub fn open_handle(w: &World, o: Open) -> usize {
    match o {
        Open::Host(a) => w.adapters[a].dev.host_handle,
        Open::Im(a) => w.adapters[a].binding.handle,
    }
}

/// True if `[addr, addr+len)` lies inside a pool block the driver allocated and has not freed.
pub fn in_live_pool(w: &World, addr: usize, len: usize) -> bool {
    // Allocations do not overlap: only the last one starting at or below `addr` can hold it.
    w.mem
        .range(..=addr)
        .next_back()
        .is_some_and(|(&p, &(l, _))| addr + len <= p + l as usize)
}

/// The driver's provider (miniport-edge) chimney handlers, from its 0x8F and 0x94 tables.
#[derive(Clone, Copy, Debug, Default)]
pub struct ImProvider {
    pub initiate: Option<MiniportInitiateOffloadHandler>,
    pub terminate: Option<MiniportTerminateOffloadHandler>,
    pub update: Option<MiniportUpdateOffloadHandler>,
    pub invalidate: Option<MiniportInvalidateOffloadHandler>,
    pub query: Option<MiniportQueryOffloadHandler>,
    pub send: Option<MiniportTcpOffloadSendHandler>,
    pub receive: Option<MiniportTcpOffloadReceiveHandler>,
    pub disconnect: Option<MiniportTcpOffloadDisconnectHandler>,
    pub forward: Option<MiniportTcpOffloadForwardHandler>,
    pub receive_return: Option<MiniportTcpOffloadReceiveReturnHandler>,
    pub has_generic: bool,
    pub has_tcp: bool,
}

/// The driver's client (protocol-edge) chimney handlers, from its 0x8E and 0x93 tables.
#[derive(Clone, Copy, Debug, Default)]
pub struct ImClient {
    pub initiate_complete: Option<ProtocolInitiateOffloadCompleteHandler>,
    pub terminate_complete: Option<ProtocolTerminateOffloadCompleteHandler>,
    pub update_complete: Option<ProtocolUpdateOffloadCompleteHandler>,
    pub invalidate_complete: Option<ProtocolInvalidateOffloadCompleteHandler>,
    pub query_complete: Option<ProtocolQueryOffloadCompleteHandler>,
    pub offload_event: Option<ProtocolIndicateOffloadEventHandler>,
    pub send_complete: Option<ProtocolTcpOffloadSendCompleteHandler>,
    pub receive_complete: Option<ProtocolTcpOffloadReceiveCompleteHandler>,
    pub disconnect_complete: Option<ProtocolTcpOffloadDisconnectCompleteHandler>,
    pub forward_complete: Option<ProtocolTcpOffloadForwardCompleteHandler>,
    pub tcp_event: Option<ProtocolTcpOffloadEventHandler>,
    pub receive_indicate: Option<ProtocolTcpOffloadReceiveIndicateHandler>,
}

/// Zeroed raw memory the model owns and other layers write through raw pointers (offload
/// handles, block lists). Freed when the model goes away.
#[derive(Debug)]
pub struct Raw {
    pub addr: usize,
    layout: Layout,
}

impl Raw {
    pub fn zeroed(size: usize) -> Raw {
        let layout = Layout::from_size_align(size.max(16), 16).unwrap_or(Layout::new::<u128>());
        // SAFETY: non-zero size, valid alignment.
        let p = unsafe { alloc_zeroed(layout) };
        assert!(!p.is_null(), "ndis-model: out of memory");
        Raw {
            addr: p as usize,
            layout,
        }
    }

    pub fn size(&self) -> usize {
        self.layout.size()
    }
}

impl Drop for Raw {
    fn drop(&mut self) {
        // SAFETY: allocated in `zeroed` with this layout, freed once.
        unsafe { dealloc(self.addr as *mut u8, self.layout) };
    }
}

/// A host state object (neighbor, path or TCP connection) with its own offload handle.
#[derive(Debug)]
pub struct HObj {
    pub layer: Layer,
    pub adapter: usize,
    /// The host's NDIS_OFFLOAD_HANDLE (zero-filled at birth, never reused).
    pub handle: Raw,
    pub offloaded: bool,
    /// A state call on it is in flight.
    pub busy: bool,
    /// TCP connections (offloading or offloaded) using this neighbor/path.
    pub users: usize,
    pub parent: Option<usize>,
    pub conn: Option<ConnId>,
}

/// A host TCP connection.
#[derive(Debug)]
pub struct HConn {
    pub adapter: usize,
    pub state: ConnState,
    pub tcp: usize,
    pub path: usize,
    pub neigh: usize,
    /// Receive stream bytes the host got so far (completions and indications, in order).
    pub rx_off: u64,
    pub reposts: u32,
    /// Posted NBLs not yet completed, per FIFO class, in post order.
    pub out: [VecDeque<usize>; 3],
    /// Of those, the ones that reached the target, in arrival order.
    pub arrived: [VecDeque<usize>; 3],
    pub post_seq: [u64; 3],
    /// Indicated NBLs the host kept (returned later).
    pub kept: Vec<usize>,
    pub events: Vec<(u32, u32)>,
    /// A completion carried REQUEST_UPLOAD / UPLOAD_REQUESTED.
    pub upload_requested: bool,
}

/// One block of a host call, in its own memory (block + state bytes).
#[derive(Debug)]
pub struct HBlock {
    pub mem: Raw,
    /// The host object it names (None: placeholder).
    pub obj: Option<usize>,
    /// A new offload (initiate), not a linker.
    pub new: bool,
    /// The block as the host built it (after upper NDIS's in-place edits).
    pub snap: Vec<u8>,
}

/// A host state call in flight.
#[derive(Debug)]
pub struct HCall {
    pub op: Op,
    pub adapter: usize,
    pub conn: Option<ConnId>,
    pub blocks: Vec<HBlock>,
    /// Send NBLs handed over in the TCP block's NetBufferListChain.
    pub chain: Vec<usize>,
    /// Issued against tcpip's per-object serialisation (a misbehaving host): if the driver
    /// refuses it, its completion changes nothing the host knows.
    pub rogue: bool,
    /// Further connections initiated in the same list (their TCP blocks follow `conn`'s), each
    /// with the send data handed over in its TCP block.
    pub also: Vec<(ConnId, Vec<usize>)>,
}

/// A chimney NBL the host posted.
#[derive(Debug)]
pub struct CNbl {
    pub conn: ConnId,
    pub kind: IoKind,
    pub seq: u64,
    /// First NBL of the chain it was posted in.
    pub first: bool,
    pub flags: u32,
    pub snap: cnbl::Snap,
    /// Reached the offload target (else the driver refused it).
    pub reached: bool,
    /// What the target did: status, bytes transferred, NB after advancing, fill offset.
    pub done_by_target: Option<cnbl::TargetDone>,
    /// Handed over at initiate in the TCP block's chain.
    pub at_initiate: bool,
}

/// A target state object.
#[derive(Debug)]
pub struct TObj {
    pub layer: Layer,
    /// The offload handle of the layer above (the driver's, as NdisOffloadHandle).
    pub handle: usize,
    pub conn: Option<ConnId>,
    /// The host object of the block that created it (model bookkeeping).
    pub hobj: Option<usize>,
    pub terminating: bool,
    /// Queued I/O per FIFO class (NBL, kind).
    pub q: [VecDeque<(usize, IoKind)>; 3],
    /// Receive stream bytes delivered so far.
    pub rx_off: u64,
}

/// The offload target of one lower adapter.
#[derive(Debug, Default)]
pub struct TargetSt {
    pub objs: BTreeMap<usize, TObj>,
    pub next_ctx: usize,
    /// State calls held (policy Held): (op, root).
    pub held_state: Vec<(Op, usize)>,
    /// Inside one of its completion or indication calls (no inline completion then).
    pub busy: bool,
    /// Indicated NBLs the host kept.
    pub kept: Vec<usize>,
    pub in_flight: usize,
    /// Per connection, its context as last found by `target_io::ctx_of` (validated there).
    pub ctx_hint: HashMap<ConnId, usize>,
}

/// Chimney counters for the report.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChimneyCounters {
    pub offloads_initiated: u64,
    pub offloads_succeeded: u64,
    pub offloads_failed: u64,
    pub terminated: u64,
    pub live_offloads: u64,
    pub state_calls: u64,
    pub receives_posted: u64,
    /// Receive completions at the host by status (as u32).
    pub receive_status: BTreeMap<u32, u64>,
    pub sends: u64,
    pub disconnects: u64,
    pub forwards: u64,
    pub initiate_send_data: u64,
    pub io_completed: u64,
    pub refused: u64,
    pub reposts: u64,
    pub returned_in_terminate: u64,
    pub indications: u64,
    pub indications_kept: u64,
    pub indications_returned: u64,
    pub events: u64,
    pub generic_events: u64,
    pub peak_at_target: u64,
    pub peak_receives_per_conn: u64,
}

/// An indication or event on its way up (for the checks at the host and back at the target).
#[derive(Clone, Copy, Debug, Default)]
pub struct InFlight {
    pub nbl: usize,
    pub status: NdisStatus,
    pub bytes_ptr: usize,
    pub host_result: Option<(NdisStatus, u32)>,
    pub event: (u32, u32),
    pub event_seen: bool,
}

/// All chimney state of the model.
#[derive(Debug, Default)]
pub struct ChimneyWorld {
    pub provider: Option<ImProvider>,
    pub client: Option<ImClient>,
    pub objs: Vec<HObj>,
    pub conns: Vec<HConn>,
    pub calls: BTreeMap<usize, HCall>,
    pub nbls: HashMap<usize, CNbl>,
    /// Host block address -> host object (the target associates its objects through it).
    pub block_owner: HashMap<usize, usize>,
    /// Status written into a block by the target or NDIS (for the propagation check).
    pub block_status: HashMap<usize, NdisStatus>,
    pub targets: BTreeMap<usize, TargetSt>,
    pub in_flight: InFlight,
    /// Adapters whose lower adapter indicated NDIS_STATUS_OFFLOAD_PAUSE (no new offloads).
    pub offload_paused: Vec<usize>,
    /// Test knob: during the next NdisMInitiateOffloadComplete on this adapter, PnP halts its
    /// virtual miniport on the worker thread (see `Model::halt_during_next_initiate_completion`).
    pub halt_in_completion: Option<usize>,
    pub counters: ChimneyCounters,
}

impl ChimneyWorld {
    pub fn target(&mut self, a: usize) -> &mut TargetSt {
        self.targets.entry(a).or_default()
    }

    /// Host objects of adapter `a` that are offloaded or have a call in flight.
    pub fn live_objs(&self, a: usize) -> usize {
        self.objs
            .iter()
            .filter(|o| o.adapter == a && (o.offloaded || o.busy))
            .count()
    }

    /// Host chimney NBLs of adapter `a` not yet back at the host.
    pub fn io_out(&self, a: usize) -> usize {
        self.conns
            .iter()
            .filter(|c| c.adapter == a)
            .map(|c| c.out.iter().map(VecDeque::len).sum::<usize>())
            .sum()
    }

    /// Chimney NBLs of adapter `a` at the target (forwarded, not completed) plus indications
    /// the host kept.
    pub fn below(&self, a: usize) -> usize {
        self.targets
            .get(&a)
            .map_or(0, |t| t.in_flight + t.kept.len())
    }
}

/// Releases held chimney work (target I/O and state completions, host returns) to the DPC
/// queue. Returns whether anything was released.
pub fn release_all_held() -> bool {
    target_io::release_held() | host_io::release_held()
}
