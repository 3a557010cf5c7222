//! Real NET_BUFFER_LISTs (one NET_BUFFER, one MDL, a patterned data buffer, an owner context
//! block) and the table that tracks who owns each one.

use std::alloc::{Layout, alloc_zeroed, dealloc};
use std::ptr;

use chimney_im::ndis::*;

use crate::nbl_index::NblRecs;

/// Bytes of NET_BUFFER_LIST_CONTEXT data the owner keeps (at the top of its block).
const OWNER_CTX_USED: u16 = 16;
/// Free backfill below the owner's data in its context block: room for two 16-byte driver
/// contexts, so that a driver's block is carved with a non-zero Offset left below it (a driver
/// that ignored or misapplied `Offset` would land on the block header or on the owner's data).
const OWNER_CTX_BACKFILL: u16 = 32;

/// Who created an NBL (and gets it back).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owner {
    /// The host protocol above virtual miniport `adapter` (a send).
    Host(usize),
    /// Lower adapter `adapter` (a receive).
    Lower(usize),
    /// The host stack above virtual miniport `adapter` (a chimney send, receive post,
    /// disconnect or forward).
    Chimney(usize),
    /// The offload target of lower adapter `adapter` (a chimney receive indication).
    Target(usize),
}

/// Where an NBL is now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loc {
    /// The driver owns it.
    Driver,
    /// The lower miniport owns it (a send handed down, not yet completed).
    Below,
    /// The host keeps it (a receive indicated up, not yet returned).
    AtHost,
}

/// One NBL context allocation the driver made on an NBL.
#[derive(Clone, Copy, Debug)]
pub enum CtxOp {
    /// Carved out of the free space of the block already at the top (whose header then read
    /// `header`: Next and Size).
    Carve {
        block: usize,
        size: u16,
        header: (usize, u16),
    },
    /// A new block pushed in front of the chain (header as written then).
    NewBlock {
        block: usize,
        size: u16,
        layout_size: usize,
        header: (usize, u16),
    },
}

/// Why a context free was refused: a LIFO violation, or the block's header (Next, Size) no
/// longer what NDIS wrote: a driver wrote outside its context data (a misapplied `Offset`).
#[derive(Clone, Debug)]
pub enum CtxFreeError {
    Lifo(String),
    Header(String),
}

/// The header fields a driver must never write.
///
/// # Safety
/// `b` is a live context block.
unsafe fn header_of(b: *const NetBufferListContext) -> (usize, u16) {
    // SAFETY: the caller's contract.
    unsafe { ((*b).next as usize, (*b).size) }
}

#[derive(Debug)]
pub struct NblRec {
    pub seq: u64,
    pub owner: Owner,
    pub loc: Loc,
    pub orig_source: usize,
    pub owner_ctx: usize,
    pub ops: Vec<CtxOp>,
    pub lower_status: Option<NdisStatus>,
    pub resources: bool,
    pub returned_resources: bool,
    pub indicated: bool,
    pub mem: NblMem,
    /// Model time (ticks) since which the NBL is in the driver or below it on the driver's
    /// behalf (refreshed while the host keeps it).
    pub since: u64,
    /// A stuck-NBL violation was recorded for it (reported once).
    pub stuck_reported: bool,
}

#[derive(Debug, Default)]
pub struct NblTable {
    pub recs: NblRecs,
    pub next_seq: u64,
    pub created: u64,
    pub freed: u64,
    /// Model time: one tick per driver handler call.
    pub clock: u64,
}

/// The memory behind one model NBL.
#[derive(Debug)]
pub struct NblMem {
    pub nbl: *mut NetBufferList,
    layout: Layout,
    nb: *mut NetBuffer,
    mdl: *mut Mdl,
    ctx: *mut NetBufferListContext,
    ctx_layout: Layout,
    data: *mut u8,
    data_len: usize,
}

fn nbl_layout(slots: usize) -> Layout {
    let size = (0x90 + 8 * slots.max(NBL_INFO_SLOTS_NDIS60)).next_multiple_of(16);
    Layout::from_size_align(size, 16).unwrap_or(Layout::new::<NetBufferList>())
}

fn pattern(seq: u64, i: usize) -> u8 {
    #[allow(
        clippy::cast_possible_truncation,
        reason = "a byte pattern: truncation intended"
    )]
    let b = (seq.wrapping_mul(31).wrapping_add(i as u64)) as u8;
    b
}

fn ctx_pattern(seq: u64, i: usize) -> u8 {
    pattern(seq ^ 0xC7C7, i) ^ 0x5A
}

impl NblMem {
    /// Allocates a zeroed NBL with `slots` info slots, one NB, one MDL and `data_len` bytes.
    pub fn new(slots: usize, data_len: usize, seq: u64) -> NblMem {
        let layout = nbl_layout(slots);
        let data_len = data_len.max(1);
        let ctx_size = 0x10 + usize::from(OWNER_CTX_USED + OWNER_CTX_BACKFILL);
        let ctx_layout =
            Layout::from_size_align(ctx_size, 16).unwrap_or(Layout::new::<NetBufferListContext>());
        let data_layout = Layout::from_size_align(data_len, 1).unwrap_or(Layout::new::<u8>());
        // SAFETY: every layout has a non-zero size (NBL >= 0x100, context 0x30, data >= 1 byte).
        let nbl = unsafe { alloc_zeroed(layout) }.cast::<NetBufferList>();
        // SAFETY: as above.
        let nb = unsafe { alloc_zeroed(Layout::new::<NetBuffer>()) }.cast::<NetBuffer>();
        // SAFETY: as above.
        let mdl = unsafe { alloc_zeroed(Layout::new::<Mdl>()) }.cast::<Mdl>();
        // SAFETY: as above.
        let ctx = unsafe { alloc_zeroed(ctx_layout) }.cast::<NetBufferListContext>();
        // SAFETY: as above.
        let data = unsafe { alloc_zeroed(data_layout) };
        assert!(
            !nbl.is_null() && !nb.is_null() && !mdl.is_null() && !ctx.is_null() && !data.is_null()
        );
        for i in 0..data_len {
            // SAFETY: i < data_len, inside the fresh data allocation.
            unsafe { *data.add(i) = pattern(seq, i) };
        }
        // SAFETY: the pointers are fresh, aligned, zeroed allocations of the right types; the
        // field writes stay inside them.
        unsafe {
            (*mdl).mapped_system_va = data.cast();
            (*mdl).start_va = data.cast();
            (*mdl).byte_count = u32::try_from(data_len).unwrap_or(u32::MAX);
            (*mdl).size = 0x30;
            (*nb).header.data.current_mdl = mdl;
            (*nb).header.data.mdl_chain = mdl;
            (*nb).header.data.data_length = data_len;
            (*ctx).size = OWNER_CTX_USED + OWNER_CTX_BACKFILL;
            (*ctx).offset = OWNER_CTX_BACKFILL;
            let cdata = ctx
                .cast::<u8>()
                .add(NBL_CONTEXT_DATA_OFFSET + usize::from(OWNER_CTX_BACKFILL));
            for i in 0..usize::from(OWNER_CTX_USED) {
                *cdata.add(i) = ctx_pattern(seq, i);
            }
            (*nbl).header.data.first_net_buffer = nb;
            (*nbl).context = ctx;
        }
        NblMem {
            nbl,
            layout,
            nb,
            mdl,
            ctx,
            ctx_layout,
            data,
            data_len,
        }
    }

    pub fn owner_ctx(&self) -> usize {
        self.ctx as usize
    }

    /// The NET_BUFFER, its MDL, the data buffer and its length (chimney checks and fills).
    pub fn parts(&self) -> (*mut NetBuffer, *mut Mdl, *mut u8, usize) {
        (self.nb, self.mdl, self.data, self.data_len)
    }

    /// Bytes of the NET_BUFFER_LIST allocation (header plus every info slot).
    pub fn nbl_size(&self) -> usize {
        self.layout.size()
    }

    /// Checks data, NB/MDL links and the owner's context block.
    pub fn intact(&self, seq: u64) -> Result<(), String> {
        self.payload_intact(seq)?;
        self.owner_ctx_intact(seq)
    }

    /// Checks that data and NB/MDL links are as created.
    pub fn payload_intact(&self, seq: u64) -> Result<(), String> {
        // SAFETY: the model owns these allocations for the NBL's whole life; reads only.
        unsafe {
            let nb = (*self.nbl).header.data.first_net_buffer;
            if nb != self.nb {
                return Err(format!("FirstNetBuffer changed ({nb:p} != {:p})", self.nb));
            }
            if !(*nb).header.data.next.is_null() {
                return Err("NET_BUFFER.Next changed".into());
            }
            if (*nb).header.data.current_mdl != self.mdl
                || (*nb).header.data.data_length != self.data_len
            {
                return Err("NET_BUFFER CurrentMdl/DataLength changed".into());
            }
            for i in 0..self.data_len {
                if *self.data.add(i) != pattern(seq, i) {
                    return Err(format!("payload byte {i} modified"));
                }
            }
        }
        Ok(())
    }

    /// Checks that the owner's context block is as the owner left it.
    pub fn owner_ctx_intact(&self, seq: u64) -> Result<(), String> {
        // SAFETY: the model owns the context block for the NBL's whole life; reads only.
        unsafe {
            if (*self.ctx).offset != OWNER_CTX_BACKFILL
                || (*self.ctx).size != OWNER_CTX_USED + OWNER_CTX_BACKFILL
            {
                return Err(format!(
                    "owner context block Offset/Size changed to {}/{}",
                    (*self.ctx).offset,
                    (*self.ctx).size
                ));
            }
            let cdata = self
                .ctx
                .cast::<u8>()
                .add(NBL_CONTEXT_DATA_OFFSET + usize::from(OWNER_CTX_BACKFILL));
            for i in 0..usize::from(OWNER_CTX_USED) {
                if *cdata.add(i) != ctx_pattern(seq, i) {
                    return Err(format!("owner context data byte {i} overwritten"));
                }
            }
        }
        Ok(())
    }

    /// Frees everything. The NBL must no longer be referenced by anyone.
    pub fn free(self) {
        // SAFETY: each pointer came from alloc_zeroed with exactly these layouts and is freed once
        // (NblMem is consumed).
        unsafe {
            dealloc(self.nbl.cast(), self.layout);
            dealloc(self.nb.cast(), Layout::new::<NetBuffer>());
            dealloc(self.mdl.cast(), Layout::new::<Mdl>());
            dealloc(self.ctx.cast(), self.ctx_layout);
            dealloc(
                self.data,
                Layout::from_size_align(self.data_len, 1).unwrap_or(Layout::new::<u8>()),
            );
        }
    }
}

impl NblTable {
    /// Creates an NBL owned by `owner`, currently at `loc`, with SourceHandle `source`.
    pub fn create(
        &mut self,
        owner: Owner,
        loc: Loc,
        source: usize,
        slots: usize,
        data_len: usize,
    ) -> usize {
        self.next_seq += 1;
        let seq = self.next_seq;
        let mem = NblMem::new(slots, data_len, seq);
        // SAFETY: fresh NBL owned by the model.
        unsafe { (*mem.nbl).source_handle = source as NdisHandle };
        let p = mem.nbl as usize;
        let owner_ctx = mem.owner_ctx();
        self.recs.insert(
            p,
            NblRec {
                seq,
                owner,
                loc,
                orig_source: source,
                owner_ctx,
                ops: Vec::new(),
                lower_status: None,
                resources: false,
                returned_resources: false,
                indicated: false,
                mem,
                since: self.clock,
                stuck_reported: false,
            },
        );
        self.created += 1;
        p
    }

    /// Removes and frees an NBL that came home.
    pub fn destroy(&mut self, p: usize) {
        if let Some(r) = self.recs.remove(&p) {
            r.mem.free();
            self.freed += 1;
        }
    }

    /// Checks that an NBL coming home is as its owner left it.
    pub fn home_check(&self, p: usize) -> Result<(), String> {
        let Some(r) = self.recs.get(&p) else {
            return Err("unknown NBL".into());
        };
        if !r.ops.is_empty() {
            return Err(format!(
                "{} NBL context allocation(s) of the driver not freed",
                r.ops.len()
            ));
        }
        // SAFETY: the NBL is a live model allocation.
        let (ctx, src) = unsafe {
            (
                (*r.mem.nbl).context as usize,
                (*r.mem.nbl).source_handle as usize,
            )
        };
        if ctx != r.owner_ctx {
            return Err(format!(
                "NBL Context is {ctx:#x}, the owner left {:#x}",
                r.owner_ctx
            ));
        }
        if src != r.orig_source {
            return Err(format!(
                "SourceHandle is {src:#x}, the owner set {:#x}",
                r.orig_source
            ));
        }
        r.mem.intact(r.seq)
    }
}

/// Links `nbls` into a chain (last Next = NULL) and returns the head (0 if empty).
pub fn link(nbls: &[usize]) -> usize {
    for (i, p) in nbls.iter().enumerate() {
        let next = nbls.get(i + 1).copied().unwrap_or(0);
        // SAFETY: callers pass NBLs the model allocated and currently holds.
        unsafe { (*(*p as *mut NetBufferList)).header.data.next = next as *mut NetBufferList };
    }
    nbls.first().copied().unwrap_or(0)
}

/// Walks a chain the driver handed over, at most `limit` NBLs (cycle guard).
pub fn walk(head: usize, limit: usize) -> (Vec<usize>, bool) {
    let mut v = Vec::new();
    // Cycle guard: a scan of a short chain, a set once it is long (linear, not quadratic).
    let mut seen: Option<std::collections::HashSet<usize>> = None;
    let mut p = head;
    while p != 0 {
        let again = if v.len() < 32 {
            v.contains(&p)
        } else {
            !seen
                .get_or_insert_with(|| v.iter().copied().collect())
                .insert(p)
        };
        if v.len() >= limit || again {
            return (v, false);
        }
        v.push(p);
        // SAFETY: the caller verifies membership in the model's NBL table before trusting more
        // than the Next link; reading Next of a pointer the driver passed as an NBL is what
        // ndis.sys does too.
        p = unsafe { (*(p as *mut NetBufferList)).header.data.next as usize };
    }
    (v, true)
}

/// SourceHandle of an NBL.
pub fn source(p: usize) -> usize {
    // SAFETY: p is a model NBL (checked by callers).
    unsafe { (*(p as *mut NetBufferList)).source_handle as usize }
}

pub fn set_status(p: usize, st: NdisStatus) {
    // SAFETY: p is a model NBL owned by the model side at this point.
    unsafe { (*(p as *mut NetBufferList)).status = st };
}

pub fn status(p: usize) -> NdisStatus {
    // SAFETY: p is a model NBL.
    unsafe { (*(p as *mut NetBufferList)).status }
}

/// Cancel id (NetBufferListInfo[NetBufferListCancelId]).
pub fn cancel_id(p: usize) -> usize {
    // SAFETY: p is a model NBL; slot 5 < 13 declared slots.
    unsafe {
        (*(p as *mut NetBufferList)).net_buffer_list_info[info::NET_BUFFER_LIST_CANCEL_ID] as usize
    }
}

pub fn set_cancel_id(p: usize, id: usize) {
    // SAFETY: as above.
    unsafe {
        (*(p as *mut NetBufferList)).net_buffer_list_info[info::NET_BUFFER_LIST_CANCEL_ID] =
            id as *mut _
    };
}

/// Allocates NBL context space like NdisAllocateNetBufferListContext.
pub fn ctx_alloc(r: &mut NblRec, size: u16, backfill: u16) -> bool {
    let nbl = r.mem.nbl;
    // SAFETY: nbl is a live model NBL; the context chain consists of blocks the model allocated.
    unsafe {
        let top = (*nbl).context;
        if !top.is_null() && (*top).offset >= size {
            (*top).offset -= size;
            r.ops.push(CtxOp::Carve {
                block: top as usize,
                size,
                header: header_of(top),
            });
            return true;
        }
        let data = usize::from(size) + usize::from(backfill);
        let layout_size = (0x10 + data).next_multiple_of(16);
        let Ok(layout) = Layout::from_size_align(layout_size, 16) else {
            return false;
        };
        let b = alloc_zeroed(layout).cast::<NetBufferListContext>();
        if b.is_null() {
            return false;
        }
        (*b).next = top;
        (*b).size = u16::try_from(data).unwrap_or(u16::MAX);
        (*b).offset = backfill;
        (*nbl).context = b;
        r.ops.push(CtxOp::NewBlock {
            block: b as usize,
            size,
            layout_size,
            header: header_of(b),
        });
    }
    true
}

/// Frees NBL context space like NdisFreeNetBufferListContext. Err describes a LIFO violation
/// or a block header the driver overwrote (checked first: the driver's own data sits right
/// above it).
pub fn ctx_free(r: &mut NblRec, size: u16) -> Result<(), CtxFreeError> {
    let nbl = r.mem.nbl;
    let Some(top) = r.ops.last().copied() else {
        return Err(CtxFreeError::Lifo(
            "no context allocation of the driver on this NBL".into(),
        ));
    };
    let (CtxOp::Carve { block, header, .. } | CtxOp::NewBlock { block, header, .. }) = top;
    // SAFETY: blocks in `ops` were allocated by ctx_alloc (or are the owner's) and not yet freed.
    let now = unsafe { header_of(block as *const NetBufferListContext) };
    if now != header {
        return Err(CtxFreeError::Header(format!(
            "context block {block:#x}: header (Next, Size) {now:x?}, NDIS wrote {header:x?}"
        )));
    }
    // SAFETY: nbl is live; blocks in `ops` were allocated by ctx_alloc and not yet freed.
    unsafe {
        let cur = (*nbl).context as usize;
        match top {
            CtxOp::Carve { block, size: s, .. } => {
                if s != size {
                    return Err(CtxFreeError::Lifo(format!(
                        "freeing {size} bytes, the last allocation was {s} (LIFO)"
                    )));
                }
                if cur != block {
                    return Err(CtxFreeError::Lifo(format!(
                        "NBL Context is {cur:#x}, expected {block:#x}"
                    )));
                }
                (*(block as *mut NetBufferListContext)).offset += size;
            }
            CtxOp::NewBlock {
                block,
                size: s,
                layout_size,
                ..
            } => {
                if s != size {
                    return Err(CtxFreeError::Lifo(format!(
                        "freeing {size} bytes, the last allocation was {s} (LIFO)"
                    )));
                }
                if cur != block {
                    return Err(CtxFreeError::Lifo(format!(
                        "NBL Context is {cur:#x}, expected {block:#x}"
                    )));
                }
                let b = block as *mut NetBufferListContext;
                (*nbl).context = (*b).next;
                let layout = Layout::from_size_align(layout_size, 16)
                    .unwrap_or(Layout::new::<NetBufferListContext>());
                ptr::write_bytes(b.cast::<u8>(), 0xDD, layout_size);
                dealloc(b.cast(), layout);
            }
        }
    }
    r.ops.pop();
    Ok(())
}
