//! Walking offload block trees. A tree is a NextBlock list of blocks, each of which may have a
//! DependentBlockList (neighbor -> path -> TCP). POBL and MOBL are two views of the same memory
//! (ndis-chimney.md §4.2); the driver works on the MOBL view and casts the root for the calls
//! that take a POBL.

use crate::ndis::{NdisMiniportOffloadBlockList, NdisOffloadHandle, NdisProtocolOffloadBlockList};

pub type Block = NdisMiniportOffloadBlockList;

/// Calls `f` on every block of the tree rooted at `root`, pre-order (a block before its
/// dependents, dependents before the next sibling). The walk order is stable, which the undo
/// path of initiate relies on.
///
/// # Safety
/// `root` is null or a tree of valid blocks the driver currently owns; `f` does not relink it.
pub unsafe fn for_each(root: *mut Block, f: &mut impl FnMut(&mut Block)) {
    let mut current = root;
    while !current.is_null() {
        // SAFETY: caller contract: a valid block we own, not aliased while we hold it.
        let block = unsafe { &mut *current };
        f(block);
        let dependents = block.dependent_block_list;
        let next = block.next_block;
        // SAFETY: same contract for the dependent list (depth is the number of layers, <= 3).
        unsafe { for_each(dependents, f) };
        current = next;
    }
}

/// The POBL view of a block.
pub fn as_protocol(block: *mut Block) -> *mut NdisProtocolOffloadBlockList {
    block.cast()
}

/// The block's OffloadHandle (POBL) / NdisOffloadHandle (MOBL) field, typed.
pub fn offload_handle(block: &Block) -> *mut NdisOffloadHandle {
    block.ndis_offload_handle.cast()
}

pub fn set_offload_handle(block: &mut Block, handle: *mut NdisOffloadHandle) {
    block.ndis_offload_handle = handle.cast();
}

/// Puts a block back the way the layer above handed it over: its own handle in OffloadHandle,
/// and in POBL NdisReserved[2] (= MOBL MiniportOffloadContext) the pointer to that handle's
/// MiniportOffloadContext, as upper NDIS wrote it (ndis-chimney.md §5.1 step 4, defensive: no
/// source says whether upper NDIS reads it again).
pub fn restore_upper_view(block: &mut Block, upper: *mut NdisOffloadHandle) {
    set_offload_handle(block, upper);
    block.miniport_offload_context = if upper.is_null() {
        core::ptr::null_mut()
    } else {
        // SAFETY-free: only the address is formed.
        upper
            .cast::<u8>()
            .wrapping_add(core::mem::offset_of!(
                NdisOffloadHandle,
                miniport_offload_context
            ))
            .cast()
    };
}
