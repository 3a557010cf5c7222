//! OID requests: the host's requests to the virtual miniport and the lower miniport's answers.

use chimney_im::ndis::oids::*;
use chimney_im::ndis::*;

use crate::config::Completion;
use crate::drv;
use crate::flows::wait;
use crate::irql;
use crate::rawbox::RawBox;
use crate::world::{self, DevPhase, HostOid, OidBelow, World};

/// A vendor method OID the lower miniport answers by echoing its input reversed.
pub const OID_MODEL_ECHO_METHOD: NdisOid = 0xFF01_0001;

/// What the model's lower miniport answers to OID_GEN_VENDOR_DESCRIPTION (NUL-terminated ANSI).
pub const LOWER_VENDOR_DESCRIPTION: &[u8] = b"ndis-model lower miniport\0";

/// What kind of request the host issues.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OidKind {
    Query,
    Set,
    Method { method_id: u32 },
}

/// One host OID request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OidSpec {
    pub kind: OidKind,
    pub oid: NdisOid,
    /// Initial buffer content (set data or method input).
    pub input: Vec<u8>,
    /// InformationBuffer length (>= input.len()).
    pub buffer_len: u32,
}

impl OidSpec {
    pub fn query(oid: NdisOid, len: u32) -> Self {
        Self {
            kind: OidKind::Query,
            oid,
            input: Vec::new(),
            buffer_len: len,
        }
    }
    pub fn set(oid: NdisOid, data: &[u8]) -> Self {
        Self {
            kind: OidKind::Set,
            oid,
            input: data.to_vec(),
            buffer_len: u32::try_from(data.len()).unwrap_or(0),
        }
    }
    pub fn method(oid: NdisOid, method_id: u32, input: &[u8], out_len: u32) -> Self {
        let len = out_len.max(u32::try_from(input.len()).unwrap_or(0));
        Self {
            kind: OidKind::Method { method_id },
            oid,
            input: input.to_vec(),
            buffer_len: len,
        }
    }
}

/// What the host saw when its request finished.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OidOutcome {
    pub status: NdisStatus,
    pub bytes_written: u32,
    pub bytes_read: u32,
    pub bytes_needed: u32,
    pub data: Vec<u8>,
    /// The driver returned PENDING and completed it later.
    pub pended: bool,
}

/// Starts a host OID on virtual miniport `a`. None when the miniport is not up or an OID is
/// already in flight (NDIS serialises them).
pub fn host_start(a: usize, spec: &OidSpec) -> Option<()> {
    let (h, ctx, req) = world::with(|w| {
        let h = w.mp.as_ref()?.h.oid_request;
        let d = &w.adapters[a].dev;
        if d.phase != DevPhase::Up
            || d.host_oid
                .as_ref()
                .is_some_and(|o| o.completed.is_none() && o.sync_status.is_none())
        {
            return None;
        }
        let (ctx, host) = (d.ctx, d.host_handle);
        let mut buf =
            RawBox::from_box(vec![0u8; spec.buffer_len.max(1) as usize].into_boxed_slice());
        buf[..spec.input.len()].copy_from_slice(&spec.input);
        // SAFETY: NdisOidRequest is plain data (integers, raw pointers, unions thereof): all-zero is valid.
        let mut r: RawBox<NdisOidRequest> = RawBox::new(unsafe { std::mem::zeroed() });
        r.header = NdisObjectHeader::new(
            object_type::OID_REQUEST,
            1,
            NDIS_SIZEOF_OID_REQUEST_REVISION_1,
        );
        r.request_id = w.next_request_id() as *mut _;
        r.request_handle = drv::h(host);
        let bp = buf.ptr().cast::<u8>().cast();
        match spec.kind {
            OidKind::Query | OidKind::Set => {
                r.request_type = if spec.kind == OidKind::Query {
                    request_type::QUERY_INFORMATION
                } else {
                    request_type::SET_INFORMATION
                };
                r.data.query_set = OidQuerySetInformation {
                    oid: spec.oid,
                    information_buffer: bp,
                    information_buffer_length: spec.buffer_len,
                    bytes_written_or_read: 0,
                    bytes_needed: 0,
                };
            }
            OidKind::Method { method_id } => {
                r.request_type = request_type::METHOD;
                r.data.method = OidMethodInformation {
                    oid: spec.oid,
                    information_buffer: bp,
                    input_buffer_length: u32::try_from(spec.input.len()).unwrap_or(0),
                    output_buffer_length: spec.buffer_len,
                    method_id,
                    bytes_written: 0,
                    bytes_read: 0,
                    bytes_needed: 0,
                };
            }
        }
        let req = r.ptr() as usize;
        w.host_oid_store.insert(req, (r, buf));
        w.adapters[a].dev.host_oid = Some(HostOid {
            req,
            in_call: true,
            returned_pending: false,
            completed: None,
            sync_status: None,
            lower_status: None,
        });
        w.adapters[a].counters.oids_host += 1;
        Some((h, ctx, req))
    })?;
    // SAFETY: the driver's MiniportOidRequest with its adapter context and a live request.
    let st = drv::call("MiniportOidRequest", PASSIVE_LEVEL, || unsafe {
        h(drv::h(ctx), req as *mut NdisOidRequest)
    });
    world::with(|w| {
        let st = if st == NDIS_STATUS_PENDING {
            st
        } else {
            crate::oidrules::apply_faults(w, req as *mut NdisOidRequest, st)
        };
        let Some(o) = w.adapters[a].dev.host_oid.as_mut() else {
            return;
        };
        o.in_call = false;
        if st == NDIS_STATUS_PENDING {
            o.returned_pending = true;
        } else {
            let early = o.completed.is_some();
            o.sync_status = Some(st);
            w.v.check("oid.sync_return_not_completed", !early, || {
                format!("MiniportOidRequest called NdisMOidRequestComplete and then returned {st:#x} instead of PENDING")
            });
            crate::oidrules::check_completion(w, req as *const NdisOidRequest, st, true);
        }
    });
    Some(())
}

/// The host's current OID result (None while pending or when none was issued).
pub fn host_outcome(a: usize) -> Option<OidOutcome> {
    world::with(|w| {
        let o = w.adapters[a].dev.host_oid.as_ref()?;
        let status = o.sync_status.or(o.completed)?;
        let (r, buf) = w.host_oid_store.get(&o.req)?;
        // SAFETY: reading the union arm matching the request type the host set.
        let (bw, br, bn) = unsafe {
            if r.request_type == request_type::METHOD {
                (
                    r.data.method.bytes_written,
                    r.data.method.bytes_read,
                    r.data.method.bytes_needed,
                )
            } else if r.request_type == request_type::SET_INFORMATION {
                (
                    0,
                    r.data.query_set.bytes_written_or_read,
                    r.data.query_set.bytes_needed,
                )
            } else {
                (
                    r.data.query_set.bytes_written_or_read,
                    0,
                    r.data.query_set.bytes_needed,
                )
            }
        };
        Some(OidOutcome {
            status,
            bytes_written: bw,
            bytes_read: br,
            bytes_needed: bn,
            data: buf.to_vec(),
            pended: o.sync_status.is_none(),
        })
    })
}

/// Issues a host OID and waits for it to finish.
pub fn host_oid(a: usize, spec: &OidSpec) -> Option<OidOutcome> {
    host_start(a, spec)?;
    wait(
        "oid.pending_request_completed",
        "NdisMOidRequestComplete for a pended host OID",
        || host_outcome(a).is_some(),
    );
    host_outcome(a)
}

fn put(buf: *mut u8, len: u32, data: &[u8]) -> (NdisStatus, u32, u32) {
    let n = u32::try_from(data.len()).unwrap_or(u32::MAX);
    if len < n || buf.is_null() {
        return (NDIS_STATUS_BUFFER_TOO_SHORT, 0, n);
    }
    // SAFETY: the request's InformationBuffer holds InformationBufferLength (>= n) bytes.
    unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), buf, data.len()) };
    (NDIS_STATUS_SUCCESS, n, 0)
}

/// The lower miniport's answer to a request: fills outputs, returns the status.
pub(crate) fn lower_answer(w: &mut World, a: usize, req: *mut NdisOidRequest) -> NdisStatus {
    let st = lower_answer_inner(w, a, req);
    // SAFETY: as in lower_answer_inner; Oid is the first field of every arm.
    let oid = unsafe { (*req).data.query_set.oid };
    match w.adapters[a].cfg.policy.lower_oid_status {
        Some((o, forced)) if o == oid => forced,
        _ => st,
    }
}

fn lower_answer_inner(w: &mut World, a: usize, req: *mut NdisOidRequest) -> NdisStatus {
    let cfg = w.adapters[a].cfg.clone();
    // SAFETY: `req` is the request the driver passed to NdisOidRequest (non-NULL, checked).
    let r = unsafe { &mut *req };
    if r.request_type == request_type::METHOD {
        // SAFETY: METHOD requests use the method arm.
        let m = unsafe { &mut r.data.method };
        if m.oid != OID_MODEL_ECHO_METHOD {
            return NDIS_STATUS_INVALID_OID;
        }
        let inp = m.input_buffer_length as usize;
        if m.output_buffer_length < m.input_buffer_length || m.information_buffer.is_null() {
            m.bytes_needed = m.input_buffer_length;
            return NDIS_STATUS_BUFFER_TOO_SHORT;
        }
        // SAFETY: the buffer holds max(input, output) bytes.
        let b = unsafe { std::slice::from_raw_parts_mut(m.information_buffer.cast::<u8>(), inp) };
        b.reverse();
        m.bytes_read = m.input_buffer_length;
        m.bytes_written = m.input_buffer_length;
        return NDIS_STATUS_SUCCESS;
    }
    // SAFETY: query and set requests use the query/set arm.
    let q = unsafe { &mut r.data.query_set };
    let buf = q.information_buffer.cast::<u8>();
    let len = q.information_buffer_length;
    if r.request_type == request_type::SET_INFORMATION {
        let need = |q: &mut OidQuerySetInformation, n: u32| {
            q.bytes_needed = n;
            NDIS_STATUS_INVALID_LENGTH
        };
        let data = if buf.is_null() {
            &[][..]
        } else {
            // SAFETY: the buffer holds InformationBufferLength bytes.
            unsafe { std::slice::from_raw_parts(buf, len as usize) }
        };
        let st = match q.oid {
            OID_GEN_CURRENT_PACKET_FILTER | OID_GEN_CURRENT_LOOKAHEAD | OID_PNP_SET_POWER => {
                if data.len() < 4 {
                    return need(q, 4);
                }
                if q.oid == OID_GEN_CURRENT_PACKET_FILTER {
                    w.adapters[a].binding.packet_filter =
                        u32::from_le_bytes([data[0], data[1], data[2], data[3]]);
                }
                q.bytes_written_or_read = 4;
                NDIS_STATUS_SUCCESS
            }
            OID_802_3_MULTICAST_LIST => {
                if data.len() % 6 != 0 {
                    return need(q, len - len % 6);
                }
                w.adapters[a].binding.multicast = data
                    .chunks(6)
                    .map(|c| [c[0], c[1], c[2], c[3], c[4], c[5]])
                    .collect();
                q.bytes_written_or_read = len;
                NDIS_STATUS_SUCCESS
            }
            // A release OID must not fail (the lower honours the rule it is checked against).
            o if is_release(o) => {
                q.bytes_written_or_read = len;
                NDIS_STATUS_SUCCESS
            }
            _ => NDIS_STATUS_NOT_SUPPORTED,
        };
        return st;
    }
    let caps = NdisPnpCapabilities {
        flags: cfg.pm.flags,
        min_magic_packet_wake_up: cfg.pm.min_magic_packet_wake_up,
        min_pattern_wake_up: cfg.pm.min_pattern_wake_up,
        min_link_change_wake_up: cfg.pm.min_link_change_wake_up,
    };
    let speed = u32::try_from(cfg.link_speed / 100).unwrap_or(u32::MAX);
    let data: Vec<u8> = match q.oid {
        OID_GEN_LINK_SPEED => speed.to_le_bytes().to_vec(),
        OID_GEN_MEDIA_CONNECT_STATUS => 0u32.to_le_bytes().to_vec(),
        OID_GEN_MAXIMUM_FRAME_SIZE => cfg.mtu.to_le_bytes().to_vec(),
        OID_GEN_CURRENT_PACKET_FILTER => w.adapters[a].binding.packet_filter.to_le_bytes().to_vec(),
        OID_802_3_CURRENT_ADDRESS | OID_802_3_PERMANENT_ADDRESS => cfg.mac.to_vec(),
        // Longer than an NDIS_PNP_CAPABILITIES: a long answer to an OID the driver passes as is.
        OID_GEN_VENDOR_DESCRIPTION => LOWER_VENDOR_DESCRIPTION.to_vec(),
        OID_PNP_CAPABILITIES => [
            caps.flags,
            caps.min_magic_packet_wake_up,
            caps.min_pattern_wake_up,
            caps.min_link_change_wake_up,
        ]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .take(cfg.policy.pnp_answer_len.unwrap_or(usize::MAX))
        .collect(),
        _ => return NDIS_STATUS_NOT_SUPPORTED,
    };
    let (st, written, needed) = put(buf, len, &data);
    q.bytes_written_or_read = written;
    q.bytes_needed = needed;
    st
}

/// Records the lower's final status for the host request a clone was made from.
pub(crate) fn note_lower_status(w: &mut World, a: usize, req: usize, st: NdisStatus) {
    let orig = w.clones.get(&req).map(|c| c.orig);
    if let Some(o) = w.adapters[a].dev.host_oid.as_mut()
        && orig == Some(o.req)
    {
        o.lower_status = Some(st);
    }
}

/// Accepts a request on binding `a`; returns the status for NdisOidRequest.
pub(crate) fn lower_accept(
    w: &mut World,
    a: usize,
    req: *mut NdisOidRequest,
) -> (NdisStatus, Option<usize>) {
    let st = lower_answer(w, a, req);
    let policy = w.adapters[a].cfg.policy.oid_completion;
    let p = req as usize;
    if policy == Completion::Inline {
        note_lower_status(w, a, p, st);
        return (st, None);
    }
    // SAFETY: `req` is live (checked by the export).
    let request_id = unsafe { (*req).request_id } as usize;
    let ad = &mut w.adapters[a];
    ad.binding.oids_below.push(OidBelow {
        req: p,
        request_id,
        status: st,
        held: policy == Completion::Held,
    });
    ad.counters.peak_oids_below = ad
        .counters
        .peak_oids_below
        .max(ad.binding.oids_below.len() as u64);
    if let Some(c) = w.clones.get_mut(&p) {
        c.pending_below = true;
    }
    (
        NDIS_STATUS_PENDING,
        (policy == Completion::Deferred).then_some(p),
    )
}

/// Completes a pended request on binding `a` to the driver's ProtocolOidRequestComplete.
pub fn complete_below(a: usize, req: usize) {
    let level = irql::current();
    let prep = world::with(|w| {
        let b = &mut w.adapters[a].binding;
        let i = b.oids_below.iter().position(|o| o.req == req)?;
        let o = b.oids_below.remove(i);
        let ctx = b.ctx;
        if o.status == NDIS_STATUS_REQUEST_ABORTED {
            // SAFETY: the request is live until its completion returns.
            unsafe {
                (*(req as *mut NdisOidRequest))
                    .data
                    .query_set
                    .bytes_written_or_read = 0
            };
        }
        if let Some(c) = w.clones.get_mut(&req) {
            c.pending_below = false;
        }
        note_lower_status(w, a, req, o.status);
        let h = w.pt.as_ref()?.h.oid_complete;
        Some((h, ctx, o.status))
    });
    let Some((h, ctx, st)) = prep else { return };
    // SAFETY: the driver's ProtocolOidRequestComplete for a request it issued on this binding.
    drv::call("ProtocolOidRequestComplete", level, || unsafe {
        h(drv::h(ctx), req as *mut NdisOidRequest, st)
    });
}

/// Completes held OIDs of adapter `a` from the calling thread. Returns how many.
pub fn release_oids(a: usize) -> usize {
    let reqs: Vec<usize> = world::with(|w| {
        w.adapters[a]
            .binding
            .oids_below
            .iter_mut()
            .filter(|o| o.held)
            .map(|o| {
                o.held = false;
                o.req
            })
            .collect()
    });
    for r in &reqs {
        complete_below(a, *r);
    }
    reqs.len()
}

/// The host cancels its in-flight request (MiniportCancelOidRequest with its RequestId).
pub fn host_cancel(a: usize) -> bool {
    let prep = world::with(|w| {
        let h = w.mp.as_ref()?.h.cancel_oid;
        let d = &w.adapters[a].dev;
        let o = d
            .host_oid
            .as_ref()
            .filter(|o| o.completed.is_none() && o.sync_status.is_none())?;
        let id = w
            .host_oid_store
            .get(&o.req)
            .map(|(r, _)| r.request_id as usize)?;
        Some((h, d.ctx, id, w.pick_irql()))
    });
    let Some((h, ctx, id, level)) = prep else {
        return false;
    };
    // SAFETY: the driver's MiniportCancelOidRequest with its adapter context.
    drv::call("MiniportCancelOidRequest", level, || unsafe {
        h(drv::h(ctx), id as *mut core::ffi::c_void)
    });
    true
}
