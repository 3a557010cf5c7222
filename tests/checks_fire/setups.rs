//! Setups and helpers shared by the cases.

use std::time::Duration;

use chimney_im::ndis::*;
use ndis_model::exports::{binding, memory, oid};
use ndis_model::testkit::one_adapter;
use ndis_model::*;

use super::faulty::{self, install};

pub const A: AdapterId = AdapterId(0);

pub fn adapter() -> Model {
    one_adapter(AdapterPolicy::default(), 77)
}

pub fn short_waits() -> Model {
    let mut c = ModelConfig::default()
        .seed(78)
        .with_adapter(LowerAdapterConfig::ethernet(1));
    c.deadlock_timeout = Duration::from_millis(200);
    Model::load(c)
}

pub fn h(v: usize) -> NdisHandle {
    v as NdisHandle
}

/// A pool block allocated against the miniport driver handle.
pub fn alloc(m: &Model, len: u32) -> *mut core::ffi::c_void {
    let d = m.ndis_handles(A).miniport_driver;
    // SAFETY: a valid driver handle and a non-zero length.
    let p = unsafe { memory::NdisAllocateMemoryWithTagPriority(h(d), len, 0x7453_6554, 32) };
    assert!(!p.is_null());
    p
}

/// An NBL the model never handed out (plain memory, zeroed).
pub fn foreign_nbl() -> *mut NetBufferList {
    // SAFETY: NetBufferList is plain data (integers and raw pointers); all-zero is valid.
    Box::into_raw(Box::new(unsafe { std::mem::zeroed::<NetBufferList>() }))
}

/// Loads the driver with `faulty::initialize_with_fault` doing `fault`, then binds one adapter
/// (whose virtual miniport start runs it).
pub fn init_fault(fault: u32) -> Model {
    faulty::INIT_FAULT.store(fault, std::sync::atomic::Ordering::Relaxed);
    let mut m = Model::load(ModelConfig::default().seed(94));
    install(&mut m, |mp, _| {
        mp.initialize = faulty::initialize_with_fault
    });
    let a = m.add_adapter(LowerAdapterConfig::ethernet(1));
    m.bind(a);
    m
}

/// Pool tag of the clones the cases allocate (non-zero, so that `memory.tag_nonzero` stays out
/// of cases about other rules).
pub const CLONE_TAG: u32 = u32::from_le_bytes(*b"Case");

/// A clone of a (zeroed, well-headed) OID request against binding handle `b`.
pub fn clone_of_a_request(b: usize) -> *mut NdisOidRequest {
    // SAFETY: NdisOidRequest is plain data; all-zero is valid.
    let mut req: NdisOidRequest = unsafe { std::mem::zeroed() };
    req.header = NdisObjectHeader::new(
        object_type::OID_REQUEST,
        1,
        NDIS_SIZEOF_OID_REQUEST_REVISION_1,
    );
    let mut clone: *mut NdisOidRequest = std::ptr::null_mut();
    // SAFETY: a valid request and out pointer on this frame; the model copies the request.
    let st =
        unsafe { oid::NdisAllocateCloneOidRequest(h(b), &raw mut req, CLONE_TAG, &raw mut clone) };
    assert_eq!(st, NDIS_STATUS_SUCCESS);
    clone
}

/// Installs the stand-in receive path: indications go up through `up` (with `extra` added to
/// the count), returns go back down through adapter 0's binding.
pub fn stand_in_receive(m: &mut Model, up: usize, extra: u32) {
    use std::sync::atomic::Ordering::Relaxed;
    data_path_fault(m.ndis_handles(A).binding, 0, 0);
    faulty::UP_HANDLE.store(up, Relaxed);
    faulty::COUNT_EXTRA.store(extra, Relaxed);
    faulty::UP_SOURCE.store(0, Relaxed);
    faulty::NO_RESTORE.store(false, Relaxed);
    install(m, |mp, pt| {
        pt.receive = faulty::receive_indicates_up;
        mp.return_nbls = faulty::return_goes_down;
    });
}

pub fn held_oids() -> Model {
    one_adapter(
        AdapterPolicy {
            oid_completion: Completion::Held,
            ..AdapterPolicy::default()
        },
        92,
    )
}

pub fn two_adapters() -> Model {
    Model::load(
        ModelConfig::default()
            .seed(89)
            .with_adapter(LowerAdapterConfig::ethernet(1))
            .with_adapter(LowerAdapterConfig::ethernet(2)),
    )
}

/// Sets what the data-path wrappers of `faulty` use: the handle, the status, the flag flip.
pub fn data_path_fault(handle: usize, status: NdisStatus, flip_dispatch: u32) {
    use std::sync::atomic::Ordering::Relaxed;
    faulty::HANDLE.store(handle, Relaxed);
    faulty::STATUS.store(status, Relaxed);
    faulty::FLIP_DISPATCH.store(flip_dispatch, Relaxed);
}

/// A well-formed status indication from the virtual miniport: NDIS_STATUS_OFFLOAD_PAUSE, a status
/// defined to carry no buffer (so `status.buffer_size` holds and stays out of the cases).
pub fn status_indication(mh: usize) -> NdisStatusIndication {
    NdisStatusIndication {
        header: NdisObjectHeader::new(
            object_type::STATUS_INDICATION,
            NDIS_STATUS_INDICATION_REVISION_1,
            NDIS_SIZEOF_STATUS_INDICATION_REVISION_1,
        ),
        source_handle: h(mh),
        port_number: 0,
        status_code: NDIS_STATUS_OFFLOAD_PAUSE,
        flags: 0,
        destination_handle: std::ptr::null_mut(),
        request_id: std::ptr::null_mut(),
        status_buffer: std::ptr::null_mut(),
        status_buffer_size: 0,
        guid: [0; 4],
        ndis_reserved: [std::ptr::null_mut(); 4],
    }
}

/// NdisOpenConfigurationEx with `header` and `handle`, closing what it opened.
pub fn open_and_close_config(header: NdisObjectHeader, handle: NdisHandle) {
    let mut obj = NdisConfigurationObject {
        header,
        ndis_handle: handle,
        flags: 0,
    };
    let mut ch: NdisHandle = std::ptr::null_mut();
    // SAFETY: valid object and out pointer; the object's content is the fault.
    let st = unsafe { binding::NdisOpenConfigurationEx(&raw mut obj, &raw mut ch) };
    if st == NDIS_STATUS_SUCCESS && !ch.is_null() {
        // SAFETY: the handle just opened.
        unsafe { binding::NdisCloseConfiguration(ch) };
    }
}

/// Calls `f` with an NDIS_STRING naming adapter 1's virtual miniport instance (its
/// UpperBindings), valid for the call.
pub fn with_first_instance_name<R>(f: impl FnOnce(*mut UnicodeString) -> R) -> R {
    let name = LowerAdapterConfig::ethernet(1).upper_bindings[0].clone();
    let mut text: Vec<u16> = name.encode_utf16().collect();
    let len = u16::try_from(text.len() * 2).expect("short");
    let mut s = UnicodeString {
        length: len,
        maximum_length: len,
        buffer: text.as_mut_ptr(),
    };
    f(&raw mut s)
}
