//! NET_BUFFER_LIST, NET_BUFFER, NET_BUFFER_LIST_CONTEXT and MDL, x64 (docs/ndis-contract.md §2.3).
//!
//! The WDK declares the three `*Reserved` arrays of NBL and NB `DECLSPEC_ALIGN(16)`, and the leading
//! union holds a 16-byte-aligned SLIST_HEADER. The doc syntax blocks omit both; without them every
//! NBL field from `NdisReserved` on is 8 bytes too low. The `Align16` wrapper stands for the DECLSPEC.
//!
//! `NetBufferListInfo` has a build-dependent length (11 in NDIS 6.0 headers, 13 in 6.1; 19, 26, 27 or 29 seen later): never
//! allocate an NBL by `size_of`, never index past [`NBL_INFO_SLOTS_NDIS60`]. The driver never
//! allocates NBLs; it only forwards the ones it is given.

use core::ffi::c_void;

use super::types::{NdisHandle, NdisStatus};

/// `SLIST_HEADER` on x64: 16 bytes, 16-byte aligned.
#[repr(C, align(16))]
#[derive(Clone, Copy, Debug)]
pub struct SlistHeader {
    pub alignment: u64,
    pub region: u64,
}

/// Stand-in for `DECLSPEC_ALIGN(MEMORY_ALLOCATION_ALIGNMENT)` on a field.
#[repr(C, align(16))]
#[derive(Clone, Copy, Debug)]
pub struct Align16<T>(pub T);

/// `MDL` (wdm.h). A pass-through driver never walks it; the model builds real chains.
#[repr(C)]
#[derive(Debug)]
pub struct Mdl {
    pub next: *mut Mdl,
    pub size: i16,
    pub mdl_flags: i16,
    pub process: *mut c_void,
    pub mapped_system_va: *mut c_void,
    pub start_va: *mut c_void,
    pub byte_count: u32,
    pub byte_offset: u32,
}

/// `NET_BUFFER_DATA` / first arm of the NET_BUFFER header union.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct NetBufferData {
    pub next: *mut NetBuffer,
    pub current_mdl: *mut Mdl,
    pub current_mdl_offset: u32,
    /// `DataLength` (ULONG) unioned with `stDataLength` (SIZE_T): 8 bytes.
    pub data_length: usize,
    pub mdl_chain: *mut Mdl,
    pub data_offset: u32,
}

/// `NET_BUFFER_HEADER`: union of NET_BUFFER_DATA and an SLIST link.
#[repr(C)]
#[derive(Clone, Copy)]
pub union NetBufferHeader {
    pub data: NetBufferData,
    pub link: SlistHeader,
}

/// `NET_BUFFER` (x64 size 0xB0).
#[repr(C)]
pub struct NetBuffer {
    pub header: NetBufferHeader,
    pub checksum_bias: u16,
    pub reserved: u16,
    pub ndis_pool_handle: NdisHandle,
    pub ndis_reserved: Align16<[*mut c_void; 2]>,
    pub protocol_reserved: Align16<[*mut c_void; 6]>,
    pub miniport_reserved: Align16<[*mut c_void; 4]>,
    pub data_physical_address: u64,
    /// NDIS 6.20+: SharedMemoryInfo / ScatterGatherList; padding before.
    pub shared_memory_info: *mut c_void,
}

/// `NET_BUFFER_LIST_DATA`: first arm of the NBL header union.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct NetBufferListData {
    pub next: *mut NetBufferList,
    pub first_net_buffer: *mut NetBuffer,
}

/// `NET_BUFFER_LIST_HEADER`: union of the data arm and an SLIST link.
#[repr(C)]
#[derive(Clone, Copy)]
pub union NetBufferListHeader {
    pub data: NetBufferListData,
    pub link: SlistHeader,
}

/// Number of `NetBufferListInfo` slots an NDIS 6.0 driver may rely on: ndis.h for NDIS 6.0 ends
/// `NDIS_NET_BUFFER_LIST_INFO` at WfpNetBufferListInfo (10), so MaxNetBufferListInfo is 11 (the
/// two IPsec v2 slots that make 13 arrive with NDIS 6.1). The declared array length; real NBLs
/// are at least this long.
pub const NBL_INFO_SLOTS_NDIS60: usize = 11;

/// `NET_BUFFER_LIST`, declared through the first [`NBL_INFO_SLOTS_NDIS60`] info slots.
#[repr(C)]
pub struct NetBufferList {
    pub header: NetBufferListHeader,
    pub context: *mut NetBufferListContext,
    pub parent_net_buffer_list: *mut NetBufferList,
    pub ndis_pool_handle: NdisHandle,
    pub ndis_reserved: Align16<[*mut c_void; 2]>,
    pub protocol_reserved: Align16<[*mut c_void; 4]>,
    pub miniport_reserved: Align16<[*mut c_void; 2]>,
    pub scratch: *mut c_void,
    /// NDIS routes completions and returns by this handle.
    pub source_handle: NdisHandle,
    pub nbl_flags: u32,
    pub child_ref_count: i32,
    pub flags: u32,
    /// `Status` (union with NdisReserved2).
    pub status: NdisStatus,
    pub net_buffer_list_info: [*mut c_void; NBL_INFO_SLOTS_NDIS60],
}

/// `NET_BUFFER_LIST_CONTEXT` header; `ContextData[]` follows at offset 0x10.
#[repr(C, align(16))]
pub struct NetBufferListContext {
    pub next: *mut NetBufferListContext,
    pub size: u16,
    pub offset: u16,
}

/// Offset of `ContextData` inside NET_BUFFER_LIST_CONTEXT.
pub const NBL_CONTEXT_DATA_OFFSET: usize = 0x10;

/// `NDIS_NET_BUFFER_LIST_INFO` indices the chimney path cares about.
pub mod info {
    /// Alias of TcpIpChecksumNetBufferListInfo: bytes transferred by a chimney send/receive/disconnect.
    pub const TCP_OFFLOAD_BYTES_TRANSFERRED: usize = 0;
    /// Alias of TcpLargeSendNetBufferListInfo: the posted receive is in non-push mode.
    pub const TCP_RECEIVE_NO_PUSH: usize = 2;
    /// NDIS 6.20+: bytes the host already placed into a posted receive buffer.
    pub const TCP_RECEIVE_BYTES_TRANSFERRED: usize = 17;
    pub const NET_BUFFER_LIST_CANCEL_ID: usize = 5;
}

/// NBL `NblFlags` bits.
pub mod nbl_flags {
    pub const SEND_READ_ONLY: u32 = 0x1;
    pub const RECV_READ_ONLY: u32 = 0x2;
}

/// Send flags (`NdisSendNetBufferLists`).
pub mod send_flags {
    pub const DISPATCH_LEVEL: u32 = 0x1;
    pub const CHECK_FOR_LOOPBACK: u32 = 0x2;
    pub const SINGLE_QUEUE: u32 = 0x4;
}

/// Send-complete flags (`NdisMSendNetBufferListsComplete`).
pub mod send_complete_flags {
    pub const DISPATCH_LEVEL: u32 = 0x1;
    pub const SINGLE_QUEUE: u32 = 0x2;
}

/// Receive flags (`NdisMIndicateReceiveNetBufferLists`).
pub mod receive_flags {
    pub const DISPATCH_LEVEL: u32 = 0x1;
    /// The indicating driver gets the NBLs back when the call returns.
    pub const RESOURCES: u32 = 0x2;
}

/// Return flags (`NdisReturnNetBufferLists`).
pub mod return_flags {
    pub const DISPATCH_LEVEL: u32 = 0x1;
}

#[cfg(target_pointer_width = "64")]
const _: () = {
    use core::mem::{align_of, offset_of, size_of};
    assert!(size_of::<SlistHeader>() == 16 && align_of::<SlistHeader>() == 16);
    assert!(size_of::<Mdl>() == 0x30);
    assert!(offset_of!(Mdl, size) == 8);
    assert!(offset_of!(Mdl, mdl_flags) == 0xA);
    assert!(offset_of!(Mdl, mapped_system_va) == 0x18);
    assert!(offset_of!(Mdl, start_va) == 0x20);
    assert!(offset_of!(Mdl, byte_count) == 0x28);
    assert!(offset_of!(Mdl, byte_offset) == 0x2C);

    assert!(size_of::<NetBufferData>() == 0x30);
    assert!(offset_of!(NetBufferData, current_mdl) == 0x08);
    assert!(offset_of!(NetBufferData, current_mdl_offset) == 0x10);
    assert!(offset_of!(NetBufferData, data_length) == 0x18);
    assert!(offset_of!(NetBufferData, mdl_chain) == 0x20);
    assert!(offset_of!(NetBufferData, data_offset) == 0x28);
    assert!(size_of::<NetBufferHeader>() == 0x30 && align_of::<NetBufferHeader>() == 16);

    assert!(size_of::<NetBuffer>() == 0xB0 && align_of::<NetBuffer>() == 16);
    assert!(offset_of!(NetBuffer, checksum_bias) == 0x30);
    assert!(offset_of!(NetBuffer, reserved) == 0x32);
    assert!(offset_of!(NetBuffer, ndis_pool_handle) == 0x38);
    assert!(offset_of!(NetBuffer, ndis_reserved) == 0x40);
    assert!(offset_of!(NetBuffer, protocol_reserved) == 0x50);
    assert!(offset_of!(NetBuffer, miniport_reserved) == 0x80);
    assert!(offset_of!(NetBuffer, data_physical_address) == 0xA0);
    assert!(offset_of!(NetBuffer, shared_memory_info) == 0xA8);

    assert!(size_of::<NetBufferListHeader>() == 0x10 && align_of::<NetBufferListHeader>() == 16);
    assert!(offset_of!(NetBufferListData, first_net_buffer) == 0x08);
    assert!(align_of::<NetBufferList>() == 16);
    assert!(offset_of!(NetBufferList, context) == 0x10);
    assert!(offset_of!(NetBufferList, parent_net_buffer_list) == 0x18);
    assert!(offset_of!(NetBufferList, ndis_pool_handle) == 0x20);
    assert!(offset_of!(NetBufferList, ndis_reserved) == 0x30);
    assert!(offset_of!(NetBufferList, protocol_reserved) == 0x40);
    assert!(offset_of!(NetBufferList, miniport_reserved) == 0x60);
    assert!(offset_of!(NetBufferList, scratch) == 0x70);
    assert!(offset_of!(NetBufferList, source_handle) == 0x78);
    assert!(offset_of!(NetBufferList, nbl_flags) == 0x80);
    assert!(offset_of!(NetBufferList, child_ref_count) == 0x84);
    assert!(offset_of!(NetBufferList, flags) == 0x88);
    assert!(offset_of!(NetBufferList, status) == 0x8C);
    assert!(offset_of!(NetBufferList, net_buffer_list_info) == 0x90);
    // 0x90 + 11 slots = 0xE8, rounded up to the 16-byte alignment: 0xF0 (Vista RTM).
    assert!(size_of::<NetBufferList>() == 0xF0);

    assert!(size_of::<NetBufferListContext>() == NBL_CONTEXT_DATA_OFFSET);
    assert!(offset_of!(NetBufferListContext, size) == 8);
    assert!(offset_of!(NetBufferListContext, offset) == 0xA);
};
