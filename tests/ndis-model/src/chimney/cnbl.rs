//! Chimney NBLs: creation by the host, snapshots, what the offload target legitimately writes
//! (Status, TcpOffloadBytesTransferred, NET_BUFFER advance, receive data) and the checks when an
//! NBL reaches the target and when it comes home.

use std::mem::offset_of;

use chimney_im::ndis::*;

use crate::nbl::{Loc, NblMem, Owner};
use crate::world::World;

use super::ConnId;

/// Inputs of one posted receive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecvSpec {
    /// Buffer bytes (0: a zero-length receive).
    pub len: usize,
    /// TcpReceiveNoPush (info slot 2).
    pub no_push: bool,
    /// TcpReceiveBytesTransferred (info slot 17), passed through unchanged.
    pub bytes_transferred: u32,
}

impl RecvSpec {
    pub fn new(len: usize) -> Self {
        Self {
            len,
            no_push: false,
            bytes_transferred: 0,
        }
    }
}

/// The NET_BUFFER fields the target advances.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NbView {
    pub current_mdl: usize,
    pub mdl_offset: u32,
    pub len: usize,
    pub data_offset: u32,
}

/// What the target did to an NBL when it completed it.
#[derive(Clone, Copy, Debug)]
pub struct TargetDone {
    pub status: NdisStatus,
    /// TcpOffloadBytesTransferred it wrote (None: slot 0 untouched).
    pub bytes: Option<usize>,
    /// The NET_BUFFER after it advanced the data start (None: untouched).
    pub nb: Option<NbView>,
    /// Offset in the buffer where it placed receive data.
    pub fill_at: usize,
    /// Stream offset of that data.
    pub stream_off: u64,
}

/// Copy of everything in an NBL the host owns.
#[derive(Clone, Debug)]
pub struct Snap {
    nbl: Vec<u8>,
    nb: Vec<u8>,
    mdl: Vec<u8>,
    data: Vec<u8>,
}

/// Byte `off` of connection `key`'s receive stream.
pub fn stream_byte(key: usize, off: u64) -> u8 {
    let x = off
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add((key as u64 + 1).wrapping_mul(0xBF58_476D_1CE4_E5B9));
    #[allow(clippy::cast_possible_truncation, reason = "a byte of a hash")]
    let b = (x >> 29) as u8;
    b
}

fn mem(w: &World, p: usize) -> Option<&NblMem> {
    w.nbls.recs.get(&p).map(|r| &r.mem)
}

fn bytes(addr: usize, len: usize) -> Vec<u8> {
    // SAFETY: callers pass model allocations of at least `len` bytes.
    unsafe { std::slice::from_raw_parts(addr as *const u8, len) }.to_vec()
}

/// Pointer to info slot `i` (the model allocates every slot of `nbl_info_slots`).
pub fn slot_ptr(p: usize, i: usize) -> *mut usize {
    (p + offset_of!(NetBufferList, net_buffer_list_info) + 8 * i) as *mut usize
}

pub fn slot(p: usize, i: usize) -> usize {
    // SAFETY: a model NBL with at least i+1 slots (i <= 17 < 29).
    unsafe { *slot_ptr(p, i) }
}

pub fn set_slot(p: usize, i: usize, v: usize) {
    // SAFETY: as above.
    unsafe { *slot_ptr(p, i) = v };
}

/// A new chimney NBL of the host above virtual miniport `a`, owned by the driver from now on.
pub fn create(w: &mut World, a: usize, open: usize, len: usize, recv: Option<RecvSpec>) -> usize {
    let slots = w.cfg.nbl_info_slots.max(18);
    let p = w
        .nbls
        .create(Owner::Chimney(a), Loc::Driver, open, slots, len);
    let Some(m) = mem(w, p) else { return p };
    let (nb, _, _, _) = m.parts();
    if len == 0 {
        // SAFETY: the NB of a fresh model NBL.
        unsafe { (*nb).header.data.data_length = 0 };
    }
    // SAFETY: a fresh model NBL: the host owns ProtocolReserved.
    unsafe {
        (*(p as *mut NetBufferList)).protocol_reserved.0[0] = (0x9D00_0000 | (p & 0xFFFF)) as *mut _
    };
    if let Some(r) = recv {
        set_slot(p, info::TCP_RECEIVE_NO_PUSH, usize::from(r.no_push));
        set_slot(
            p,
            info::TCP_RECEIVE_BYTES_TRANSFERRED,
            r.bytes_transferred as usize,
        );
    }
    p
}

pub fn snapshot(w: &World, p: usize) -> Snap {
    let Some(m) = mem(w, p) else {
        return Snap {
            nbl: Vec::new(),
            nb: Vec::new(),
            mdl: Vec::new(),
            data: Vec::new(),
        };
    };
    let (nb, mdl, data, len) = m.parts();
    Snap {
        nbl: bytes(p, m.nbl_size()),
        nb: bytes(nb as usize, size_of::<NetBuffer>()),
        mdl: bytes(mdl as usize, size_of::<Mdl>()),
        data: bytes(data as usize, len),
    }
}

pub fn nb_view(w: &World, p: usize) -> Option<NbView> {
    let (nb, _, _, _) = mem(w, p)?.parts();
    // SAFETY: the model NBL's NB.
    let d = unsafe { (*nb).header.data };
    Some(NbView {
        current_mdl: d.current_mdl as usize,
        mdl_offset: d.current_mdl_offset,
        len: d.data_length,
        data_offset: d.data_offset,
    })
}

fn diff(
    what: &str,
    snap: &[u8],
    now: &[u8],
    skip: &[(usize, usize)],
    names: &[(usize, &str)],
) -> Result<(), String> {
    for (i, (a, b)) in snap.iter().zip(now).enumerate() {
        if a != b && !skip.iter().any(|(o, l)| i >= *o && i < o + l) {
            let name = names
                .iter()
                .rev()
                .find(|(o, _)| i >= *o)
                .map_or("?", |(_, n)| n);
            return Err(format!(
                "{what} byte {i:#x} ({name}) changed {a:#04x} -> {b:#04x}"
            ));
        }
    }
    Ok(())
}

const NBL_NAMES: [(usize, &str); 10] = [
    (0, "Next"),
    (8, "FirstNetBuffer"),
    (offset_of!(NetBufferList, context), "Context"),
    (offset_of!(NetBufferList, ndis_reserved), "NdisReserved"),
    (
        offset_of!(NetBufferList, protocol_reserved),
        "ProtocolReserved",
    ),
    (
        offset_of!(NetBufferList, miniport_reserved),
        "MiniportReserved",
    ),
    (offset_of!(NetBufferList, scratch), "Scratch"),
    (offset_of!(NetBufferList, source_handle), "SourceHandle"),
    (
        offset_of!(NetBufferList, nbl_flags),
        "NblFlags/Flags/Status",
    ),
    (
        offset_of!(NetBufferList, net_buffer_list_info),
        "NetBufferListInfo",
    ),
];
const NB_NAMES: [(usize, &str); 3] = [
    (0, "NET_BUFFER_DATA"),
    (offset_of!(NetBuffer, checksum_bias), "ChecksumBias.."),
    (
        offset_of!(NetBuffer, miniport_reserved),
        "MiniportReserved..",
    ),
];

/// At the target: the NBL is exactly as the host posted it, except Next, Context (the driver's
/// NBL context) and SourceHandle (NDIS's).
pub fn check_arrival(w: &World, p: usize, s: &Snap) -> Result<(), String> {
    let now = snapshot(w, p);
    let skip = [
        (0, 8),
        (offset_of!(NetBufferList, context), 8),
        (offset_of!(NetBufferList, source_handle), 8),
    ];
    diff("NBL", &s.nbl, &now.nbl, &skip, &NBL_NAMES)?;
    diff("NET_BUFFER", &s.nb, &now.nb, &[], &NB_NAMES)?;
    diff("MDL", &s.mdl, &now.mdl, &[], &[(0, "MDL")])?;
    diff("data", &s.data, &now.data, &[], &[(0, "buffer")])
}

/// The target places `n` receive-stream bytes of connection `key` at `off` and advances the data
/// start like NdisAdvanceNetBufferDataStart(FreeMdl NULL). Returns (fill offset, NB after).
pub fn target_fill(w: &World, p: usize, key: usize, off: u64, n: usize) -> (usize, Option<NbView>) {
    let Some(m) = mem(w, p) else {
        return (0, None);
    };
    let (nb, _, _, _) = m.parts();
    // SAFETY: the model NBL's NB and its current MDL (model memory); n <= DataLength, so the
    // writes stay inside the MDL's buffer.
    let at = unsafe {
        let d = &mut (*nb).header.data;
        let mdl = d.current_mdl;
        let at = d.current_mdl_offset as usize;
        let base = (*mdl).mapped_system_va.cast::<u8>();
        for i in 0..n.min(d.data_length) {
            *base.add(at + i) = stream_byte(key, off + i as u64);
        }
        at
    };
    advance(w, p, n);
    (at, nb_view(w, p))
}

/// NdisAdvanceNetBufferDataStart(nb, n, FALSE, NULL) on the model NBL's single NB.
pub fn advance(w: &World, p: usize, n: usize) {
    let Some(m) = mem(w, p) else { return };
    let (nb, _, _, _) = m.parts();
    let n32 = u32::try_from(n).unwrap_or(u32::MAX);
    // SAFETY: the model NBL's NB and MDL chain (model memory).
    unsafe {
        let d = &mut (*nb).header.data;
        let n = n.min(d.data_length);
        d.data_length -= n;
        d.data_offset += n32;
        d.current_mdl_offset += n32;
        let mdl = d.current_mdl;
        if !mdl.is_null() && d.current_mdl_offset >= (*mdl).byte_count && !(*mdl).next.is_null() {
            d.current_mdl_offset -= (*mdl).byte_count;
            d.current_mdl = (*mdl).next;
        }
    }
}

/// What the host expects of an NBL coming home.
pub struct Expect<'a> {
    pub snap: &'a Snap,
    pub open: usize,
    pub done: Option<TargetDone>,
    /// Receive data: (stream key, stream offset the host expects next).
    pub stream: Option<(usize, u64)>,
}

/// At the host: everything as posted except Next, Status (checked by the caller), MiniportReserved
/// and Scratch (the target's), and what the target did (`done`): slot 0, the NB advance and the
/// data it placed. The driver's context must be gone and SourceHandle the host's open again.
pub fn check_home(w: &World, p: usize, e: &Expect<'_>) -> Result<(), String> {
    let r = w.nbls.recs.get(&p).ok_or("unknown NBL")?;
    if !r.ops.is_empty() {
        return Err(format!(
            "{} NBL context allocation(s) of the driver not freed",
            r.ops.len()
        ));
    }
    // SAFETY: a live model NBL.
    let (ctx, src) = unsafe {
        let n = &*(p as *const NetBufferList);
        (n.context as usize, n.source_handle as usize)
    };
    if ctx != r.owner_ctx {
        return Err(format!(
            "Context {ctx:#x}, the host left {:#x}",
            r.owner_ctx
        ));
    }
    r.mem.owner_ctx_intact(r.seq)?;
    if src != e.open {
        return Err(format!(
            "SourceHandle {src:#x}, the host's open is {:#x}",
            e.open
        ));
    }
    let now = snapshot(w, p);
    let st = offset_of!(NetBufferList, status);
    let mr = offset_of!(NetBufferList, miniport_reserved);
    let sc = offset_of!(NetBufferList, scratch);
    let info0 = offset_of!(NetBufferList, net_buffer_list_info);
    let mut skip = vec![(0, 8), (st, 4), (mr, sc - mr), (sc, 8)];
    let mut nb_skip = vec![(
        offset_of!(NetBuffer, miniport_reserved),
        offset_of!(NetBuffer, data_physical_address) - offset_of!(NetBuffer, miniport_reserved),
    )];
    let mut data_skip = Vec::new();
    if let Some(d) = e.done {
        if let Some(b) = d.bytes {
            skip.push((info0, 8));
            let s0 = slot(p, info::TCP_OFFLOAD_BYTES_TRANSFERRED);
            if s0 != b {
                return Err(format!(
                    "TcpOffloadBytesTransferred {s0}, the target wrote {b}"
                ));
            }
        }
        if let Some(v) = d.nb {
            nb_skip.push((0, 48));
            let cur = nb_view(w, p);
            if cur != Some(v) {
                return Err(format!("NET_BUFFER {cur:?}, the target left {v:?}"));
            }
        }
        if let (Some((key, off)), Some(n)) = (e.stream, d.bytes) {
            if d.stream_off != off {
                return Err(format!(
                    "receive data out of stream order: this NBL holds stream bytes from {} but the host expected offset {off} (completions reordered)",
                    d.stream_off
                ));
            }
            let (_, _, data, _) = r.mem.parts();
            for i in 0..n {
                // SAFETY: fill_at + n <= buffer length (the target placed them there).
                let b = unsafe { *data.add(d.fill_at + i) };
                if b != stream_byte(key, off + i as u64) {
                    return Err(format!(
                        "receive data byte {i} is not stream byte {}",
                        off + i as u64
                    ));
                }
            }
            data_skip.push((d.fill_at, n));
        }
    }
    diff("NBL", &e.snap.nbl, &now.nbl, &skip, &NBL_NAMES)?;
    diff("NET_BUFFER", &e.snap.nb, &now.nb, &nb_skip, &NB_NAMES)?;
    diff("MDL", &e.snap.mdl, &now.mdl, &[], &[(0, "MDL")])?;
    diff(
        "data",
        &e.snap.data,
        &now.data,
        &data_skip,
        &[(0, "buffer")],
    )
}

/// Connection the NBL was posted on.
pub fn conn_of(w: &World, p: usize) -> Option<ConnId> {
    w.chimney.nbls.get(&p).map(|c| c.conn)
}
