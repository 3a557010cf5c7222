//! Offload block trees as the host builds them: one allocation per block (the 152-byte
//! NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST followed by state bytes), walks, snapshots and comparisons.

use std::mem::{offset_of, size_of};

use chimney_im::ndis::*;

use super::{Layer, Raw};

pub type Pobl = NdisProtocolOffloadBlockList;
pub type Mobl = NdisMiniportOffloadBlockList;

pub const BLOCK: usize = size_of::<Pobl>();
/// Longest tree walk the model accepts (cycle guard).
const WALK_LIMIT: usize = 64;

/// Sentinels the host leaves in fields the layers below must give back unchanged.
pub const PROTOCOL_SENTINEL: usize = 0x7C90_0000_0000;
pub const IM_SENTINEL: usize = 0x1A10_0000_0000;
pub const PORT_SENTINEL: u32 = 0;

fn state_byte(seed: u64, i: usize) -> u8 {
    #[allow(clippy::cast_possible_truncation, reason = "a byte pattern")]
    let b = (seed.wrapping_mul(0x9E37_79B9).wrapping_add(i as u64 * 29) >> 3) as u8;
    b
}

/// A new block for `layer` naming `handle` (0: placeholder), followed by `state_len` bytes.
pub fn new_block(layer: Layer, handle: usize, state_len: usize, seed: u64) -> Raw {
    let m = Raw::zeroed(BLOCK + state_len);
    let b = m.addr as *mut Pobl;
    // SAFETY: a fresh zeroed allocation of BLOCK + state_len bytes, 16-aligned; the writes stay
    // inside it.
    unsafe {
        (*b).header = NdisObjectHeader::new(layer.state_type(), 1, BLOCK);
        (*b).status = NDIS_STATUS_PENDING;
        (*b).offload_handle = handle as *mut NdisOffloadHandle;
        let s = usize::try_from(seed).unwrap_or(0) & 0xFFFF;
        (*b).protocol_reserved = [
            (PROTOCOL_SENTINEL | s << 4 | 1) as *mut _,
            (PROTOCOL_SENTINEL | s << 4 | 2) as *mut _,
        ];
        (*b).im_reserved = [
            (IM_SENTINEL | s << 4 | 1) as *mut _,
            (IM_SENTINEL | s << 4 | 2) as *mut _,
        ];
        (*b).port_number = PORT_SENTINEL;
        let st = (m.addr as *mut u8).add(BLOCK);
        for i in 0..state_len {
            *st.add(i) = state_byte(seed, i);
        }
    }
    m
}

pub fn set_dependent(parent: usize, child: usize) {
    // SAFETY: both are host blocks owned by the model (callers pass Raw addresses).
    unsafe { (*(parent as *mut Pobl)).dependent_block_list = child as *mut Pobl };
}

pub fn set_next(block: usize, next: usize) {
    // SAFETY: both are host blocks owned by the model (callers pass Raw addresses).
    unsafe { (*(block as *mut Pobl)).next_block = next as *mut Pobl };
}

pub fn set_chain(block: usize, head: usize) {
    // SAFETY: a host block owned by the model.
    unsafe { (*(block as *mut Pobl)).net_buffer_list_chain = head as *mut NetBufferList };
}

/// Copy of a block's bytes.
pub fn snapshot(m: &Raw) -> Vec<u8> {
    // SAFETY: the Raw allocation holds size() bytes.
    unsafe { std::slice::from_raw_parts(m.addr as *const u8, m.size()) }.to_vec()
}

/// Pre-order walk (a block, its dependents, then its next sibling): the order both ndis.sys and
/// the driver use. None for a cyclic or overlong tree.
pub fn walk(root: usize) -> Option<Vec<usize>> {
    let mut out = Vec::new();
    walk_into(root, &mut out, 0).then_some(out)
}

fn walk_into(mut b: usize, out: &mut Vec<usize>, depth: usize) -> bool {
    if depth > 8 {
        return false;
    }
    while b != 0 {
        if out.len() >= WALK_LIMIT || out.contains(&b) {
            return false;
        }
        out.push(b);
        // SAFETY: callers pass trees of live blocks (the host's, or ones validated by the caller).
        let (dep, next) = unsafe {
            let p = &*(b as *const Pobl);
            (p.dependent_block_list as usize, p.next_block as usize)
        };
        if !walk_into(dep, out, depth + 1) {
            return false;
        }
        b = next;
    }
    true
}

/// Field accessors on a block address (both views).
pub fn status(b: usize) -> NdisStatus {
    // SAFETY: a live block (caller contract).
    unsafe { (*(b as *const Pobl)).status }
}

pub fn set_status(b: usize, st: NdisStatus) {
    // SAFETY: a live block owned by the caller's layer at this point.
    unsafe { (*(b as *mut Pobl)).status = st };
}

pub fn offload_handle(b: usize) -> usize {
    // SAFETY: a live block.
    unsafe { (*(b as *const Pobl)).offload_handle as usize }
}

pub fn source_handle(b: usize) -> usize {
    // SAFETY: a live block.
    unsafe { (*(b as *const Pobl)).source_handle as usize }
}

pub fn set_source_handle(b: usize, h: usize) {
    // SAFETY: a live block.
    unsafe { (*(b as *mut Pobl)).source_handle = h as *mut _ };
}

/// MOBL MiniportOffloadContext (= POBL NdisReserved[2]).
pub fn context_slot(b: usize) -> usize {
    // SAFETY: a live block.
    unsafe { (*(b as *const Mobl)).miniport_offload_context as usize }
}

pub fn set_context_slot(b: usize, v: usize) {
    // SAFETY: a live block.
    unsafe { (*(b as *mut Mobl)).miniport_offload_context = v as *mut *mut _ };
}

pub fn chain(b: usize) -> usize {
    // SAFETY: a live block.
    unsafe { (*(b as *const Pobl)).net_buffer_list_chain as usize }
}

pub fn layer_of(b: usize) -> Option<Layer> {
    // SAFETY: a live block.
    let t = unsafe { (*(b as *const Pobl)).header.kind };
    match t {
        offload_state_type::NEIGHBOR => Some(Layer::Neighbor),
        offload_state_type::IP4 | offload_state_type::IP6 => Some(Layer::Path),
        offload_state_type::TCP => Some(Layer::Tcp),
        _ => None,
    }
}

/// Address of `handle->MiniportOffloadContext`.
pub fn moc_slot(handle: usize) -> usize {
    handle + offset_of!(NdisOffloadHandle, miniport_offload_context)
}

pub fn handle_reserved(handle: usize) -> usize {
    // SAFETY: callers pass a live NDIS_OFFLOAD_HANDLE (validated against pool or model memory).
    unsafe { (*(handle as *const NdisOffloadHandle)).ndis_reserved[0] as usize }
}

pub fn set_handle_reserved(handle: usize, v: usize) {
    // SAFETY: as above.
    unsafe { (*(handle as *mut NdisOffloadHandle)).ndis_reserved[0] = v as *mut _ };
}

pub fn handle_context(handle: usize) -> usize {
    // SAFETY: as above.
    unsafe { (*(handle as *const NdisOffloadHandle)).miniport_offload_context as usize }
}

/// Compares a block coming back with the host's snapshot. Fields others may write are skipped
/// (Status, NdisReserved, MiniportReserved, Scratch, SourceHandle, NetBufferListChain); the
/// caller checks those it cares about. Err names the first differing field.
pub fn compare(snap: &[u8], m: &Raw) -> Result<(), String> {
    let now = snapshot(m);
    let skip = [
        (offset_of!(Pobl, status), 4, "Status"),
        (offset_of!(Pobl, ndis_reserved), 24, "NdisReserved"),
        (offset_of!(Pobl, miniport_reserved), 16, "MiniportReserved"),
        (offset_of!(Pobl, scratch), 16, "Scratch"),
        (offset_of!(Pobl, source_handle), 8, "SourceHandle"),
        (
            offset_of!(Pobl, net_buffer_list_chain),
            8,
            "NetBufferListChain",
        ),
    ];
    for (i, (a, b)) in snap.iter().zip(now.iter()).enumerate() {
        if a == b || skip.iter().any(|(o, l, _)| i >= *o && i < o + l) {
            continue;
        }
        return Err(format!(
            "byte {i} ({}) changed: {a:#04x} -> {b:#04x}",
            field_name(i)
        ));
    }
    Ok(())
}

fn field_name(i: usize) -> &'static str {
    let fields = [
        (offset_of!(Pobl, header), "Header"),
        (offset_of!(Pobl, next_block), "NextBlock"),
        (offset_of!(Pobl, dependent_block_list), "DependentBlockList"),
        (offset_of!(Pobl, status), "Status"),
        (offset_of!(Pobl, ndis_reserved), "NdisReserved"),
        (offset_of!(Pobl, offload_handle), "OffloadHandle"),
        (offset_of!(Pobl, protocol_reserved), "ProtocolReserved"),
        (offset_of!(Pobl, miniport_reserved), "MiniportReserved"),
        (offset_of!(Pobl, im_reserved), "ImReserved"),
        (offset_of!(Pobl, scratch), "Scratch"),
        (offset_of!(Pobl, source_handle), "SourceHandle"),
        (offset_of!(Pobl, port_number), "PortNumber"),
        (
            offset_of!(Pobl, net_buffer_list_chain),
            "NetBufferListChain",
        ),
        (BLOCK, "offload state bytes"),
    ];
    fields
        .iter()
        .rev()
        .find(|(o, _)| i >= *o)
        .map_or("?", |(_, n)| n)
}
