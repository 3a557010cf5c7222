//! TCP chimney offload block lists: an owned tree the driver walks safely, and which state calls
//! consume. A tree is a NextBlock list of blocks, each of which may have a
//! DependentBlockList (neighbor -> path -> TCP). POBL and MOBL are two views of the same memory
//! (docs/chimney-contract.md §4.2); the driver works on the MOBL view and casts the root for the
//! calls that take a POBL.

use crate::ndis::{NdisMiniportOffloadBlockList, NdisOffloadHandle, NdisProtocolOffloadBlockList};

pub type Block = NdisMiniportOffloadBlockList;

/// A block list the driver holds: from the moment NDIS hands it to one of our handlers until the
/// driver passes it down or completes it up, which consume it. Created once, unsafely, at the
/// handler boundary; walked safely afterwards.
#[derive(Debug)]
pub struct BlockTree {
    root: *mut Block,
}

impl BlockTree {
    /// # Safety
    /// `root` is null or a valid tree of blocks (NextBlock siblings, DependentBlockList children)
    /// that the driver owns, with nothing else reading or writing it, until the returned value is
    /// consumed by [`BlockTree::into_raw`] or dropped.
    pub unsafe fn from_raw(root: *mut Block) -> Self {
        Self { root }
    }

    /// Calls `f` on every block, pre-order (a block before its dependents, dependents before the
    /// next sibling). The order is stable, which the undo path of initiate relies on. `f` must not
    /// relink the tree (it gets `&mut Block`, whose link fields it has no reason to touch).
    pub fn for_each(&mut self, mut f: impl FnMut(&mut Block)) {
        // SAFETY: the constructor's contract: a valid tree we own exclusively.
        unsafe { walk(self.root, &mut f) };
    }

    /// The root block, if any.
    pub fn root(&mut self) -> Option<&mut Block> {
        // SAFETY: the constructor's contract.
        unsafe { self.root.as_mut() }
    }

    /// Lends the list to a synchronous call that is done with it when it returns.
    pub fn lend(&mut self) -> *mut Block {
        self.root
    }

    /// Gives the list up (to NDIS, down or up); the caller no longer owns it.
    pub fn into_raw(self) -> *mut Block {
        self.root
    }
}

/// # Safety
/// As [`BlockTree::from_raw`], for `current` and everything reachable from it.
unsafe fn walk(mut current: *mut Block, f: &mut impl FnMut(&mut Block)) {
    while !current.is_null() {
        // SAFETY: every block reachable from the root is valid and ours alone while the tree is
        // held (`from_raw`'s contract), and `f` gets one block at a time.
        let block = unsafe { &mut *current };
        f(block);
        let dependents = block.dependent_block_list;
        let next = block.next_block;
        // SAFETY: same contract for the dependent list (depth is the number of layers, <= 3).
        unsafe { walk(dependents, f) };
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
/// MiniportOffloadContext, as upper NDIS wrote it (docs/chimney-contract.md §5.1 step 4, defensive:
/// no source says whether upper NDIS reads it again).
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
