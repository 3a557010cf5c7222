//! The chimney part of the test API: the host stack's actions, the offload target's actions,
//! policies and observations. Nothing here runs queued work by itself: call
//! `Model::run_until_idle` (deferred completions) or `Model::release_all` (held ones too).

use std::fmt;

use chimney_im::ndis::*;

use crate::config::ChimneyPolicy;
use crate::model::{AdapterId, Model};
use crate::world::{self, World};

use super::cnbl::RecvSpec;
pub use super::host::OffloadSpec;
use super::{ChimneyCounters, ConnId, ConnState, IoKind, Op};

/// What the host knows about one connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChimneyView {
    pub state: ConnState,
    /// Receive-stream bytes the host got (completions and indications).
    pub rx_bytes: u64,
    /// Posted NBLs not yet completed to the host.
    pub outstanding: usize,
    /// Of those, NBLs the target holds.
    pub at_target: usize,
    /// Indicated NBLs the host keeps.
    pub kept: usize,
    /// TCP events the host got.
    pub events: Vec<(u32, u32)>,
    /// A completion told the host to upload (REQUEST_UPLOAD / UPLOAD_REQUESTED).
    pub upload_requested: bool,
}

/// Runs `f` (the target or the host acting on the test's behalf) at a random IRQL.
fn at_random_irql<R>(f: impl FnOnce() -> R) -> R {
    let level = world::with(World::pick_irql);
    let prev = crate::irql::current();
    crate::irql::set(level);
    let r = f();
    crate::irql::set(prev);
    r
}

pub fn counters(w: &World) -> ChimneyCounters {
    let mut c = w.chimney.counters.clone();
    c.live_offloads = w.chimney.objs.iter().filter(|o| o.offloaded).count() as u64;
    c
}

impl Model {
    /// The host offloads a new connection (new neighbor, path and TCP blocks) on virtual
    /// miniport `a`. None when the host cannot (miniport not running, offload paused).
    pub fn host_offload(&mut self, a: AdapterId) -> Option<ConnId> {
        super::host::offload(a.0, OffloadSpec::default())
    }

    /// As `host_offload`, sharing neighbor/path, handing over send data, or forcing.
    pub fn host_offload_with(&mut self, a: AdapterId, spec: OffloadSpec) -> Option<ConnId> {
        super::host::offload(a.0, spec)
    }

    /// Two new connections initiated in one list (one neighbor and path, two TCP blocks), with
    /// `send_data[i]` send NBLs handed over by connection `i`. None when the host cannot.
    pub fn host_offload_pair(
        &mut self,
        a: AdapterId,
        send_data: [usize; 2],
    ) -> Option<[ConnId; 2]> {
        super::host_pair::offload_pair(a.0, send_data)
    }

    /// Address of the receive-post handler (MiniportTcpOffloadReceiveHandler) the driver
    /// registered for its miniport edge, if it registered one.
    pub fn driver_receive_post_handler(&self) -> Option<usize> {
        world::with(|w| {
            w.chimney
                .provider
                .and_then(|p| p.receive)
                .map(|h| h as *const () as usize)
        })
    }

    pub fn conn_state(&self, c: ConnId) -> ConnState {
        world::with(|w| w.chimney.conns[c.0].state)
    }

    pub fn chimney_view(&self, c: ConnId) -> ChimneyView {
        world::with(|w| {
            let hc = &w.chimney.conns[c.0];
            let out = |q: &[std::collections::VecDeque<usize>; 3]| {
                q.iter().map(std::collections::VecDeque::len).sum()
            };
            ChimneyView {
                state: hc.state,
                rx_bytes: hc.rx_off,
                outstanding: out(&hc.out),
                at_target: out(&hc.arrived),
                kept: hc.kept.len(),
                events: hc.events.clone(),
                upload_requested: hc.upload_requested,
            }
        })
    }

    /// Posts `chains` receive chains of `per_chain` NBLs with `len`-byte buffers. Returns how
    /// many NBLs were posted (0 when the connection is not offloaded).
    pub fn host_post_receives(
        &mut self,
        c: ConnId,
        chains: usize,
        per_chain: usize,
        len: usize,
    ) -> usize {
        let ch: Vec<Vec<RecvSpec>> = (0..chains)
            .map(|_| vec![RecvSpec::new(len); per_chain])
            .collect();
        super::host_io::post_receives(c, &ch)
    }

    /// Posts receive chains built from specs (zero-length, NoPush, BytesTransferred).
    pub fn host_post_receive_chains(&mut self, c: ConnId, chains: &[Vec<RecvSpec>]) -> usize {
        super::host_io::post_receives(c, chains)
    }

    /// Sends one chain of `n` NBLs (the adapter's data_len bytes each).
    pub fn host_chimney_send(&mut self, c: ConnId, n: usize) -> usize {
        let len = self.data_len(c);
        super::host_io::post(c, IoKind::Send, &vec![(len, None); n], 0)
    }

    /// A misbehaving host sends one chain of `n` NBLs on `c` although its terminate is in
    /// flight (tcpip stops posting before it terminates). 0 when `c` is neither offloaded nor
    /// terminating.
    pub fn host_rogue_send(&mut self, c: ConnId, n: usize) -> usize {
        let len = self.data_len(c);
        super::host_io::post_as(c, IoKind::Send, &vec![(len, None); n], 0, true)
    }

    /// Disconnects (one NBL; `flags` TCP_DISCONNECT_GRACEFUL_CLOSE or _ABORTIVE_CLOSE).
    pub fn host_disconnect(&mut self, c: ConnId, flags: u32, len: usize) -> usize {
        super::host_io::post(c, IoKind::Disconnect, &[(len, None)], flags)
    }

    /// Forwards one chain of `n` NBLs.
    pub fn host_forward(&mut self, c: ConnId, n: usize) -> usize {
        let len = self.data_len(c);
        super::host_io::post(c, IoKind::Forward, &vec![(len, None); n], 0)
    }

    fn data_len(&self, c: ConnId) -> usize {
        world::with(|w| {
            let a = w.chimney.conns.get(c.0).map_or(0, |h| h.adapter);
            w.adapters[a].cfg.policy.data_len
        })
    }

    /// Terminates (uploads) the connection; its neighbor and path too when it was their last
    /// user. False when it is not offloaded.
    pub fn host_terminate(&mut self, c: ConnId) -> bool {
        super::host::terminate(c)
    }

    pub fn host_update(&mut self, c: ConnId) -> bool {
        super::host::simple(Op::Update, c)
    }

    pub fn host_invalidate(&mut self, c: ConnId) -> bool {
        super::host::simple(Op::Invalidate, c)
    }

    pub fn host_query(&mut self, c: ConnId) -> bool {
        super::host::simple(Op::Query, c)
    }

    /// A misbehaving host terminates `c` again although a call on it is in flight (tcpip
    /// serialises calls per object; the driver must refuse or survive this). False when `c` is
    /// neither offloaded nor terminating.
    pub fn host_rogue_terminate(&mut self, c: ConnId) -> bool {
        super::host::rogue(Op::Terminate, c)
    }

    /// A misbehaving host terminates `c`'s path together with its TCP object while `c`'s
    /// terminate is in flight. False unless `c` is terminating.
    pub fn host_rogue_terminate_with_path(&mut self, c: ConnId) -> bool {
        super::host::rogue_terminate_with_path(c)
    }

    /// A misbehaving host updates `c` whatever calls are in flight on it.
    pub fn host_rogue_update(&mut self, c: ConnId) -> bool {
        super::host::rogue(Op::Update, c)
    }

    /// A misbehaving host queries `c` whatever calls are in flight on it.
    pub fn host_rogue_query(&mut self, c: ConnId) -> bool {
        super::host::rogue(Op::Query, c)
    }

    /// During the next NdisMInitiateOffloadComplete on `a`, PnP halts the virtual miniport on
    /// the worker thread; the completion goes on once the halt returned or waits for the driver.
    /// The verifier then checks that the halt did not return before the completion did.
    pub fn halt_during_next_initiate_completion(&mut self, a: AdapterId) {
        world::with(|w| w.chimney.halt_in_completion = Some(a.0));
    }

    /// The host uploads everything offloaded through virtual miniport `a` and waits.
    pub fn host_upload_all(&mut self, a: AdapterId) {
        super::host::upload_all(a.0);
    }

    /// Returns up to `max` (all for None) kept indications of `c`.
    pub fn host_return_indications(&mut self, c: ConnId, max: Option<usize>) -> usize {
        at_random_irql(|| super::host_io::return_kept(c, max))
    }

    /// The target completes up to `max` queued I/O NBLs of adapter `a` (all connections).
    pub fn target_complete(&mut self, a: AdapterId, max: Option<usize>) -> usize {
        at_random_irql(|| super::target_io::complete(a.0, None, max))
    }

    /// The target completes up to `max` queued I/O NBLs of connection `c`.
    pub fn target_complete_conn(&mut self, c: ConnId, max: Option<usize>) -> usize {
        let t = world::with(|w| super::target_io::ctx_of(w, c));
        t.map_or(0, |(a, ctx)| {
            at_random_irql(|| super::target_io::complete(a, Some(ctx), max))
        })
    }

    /// The target completes its held state calls on adapter `a`.
    pub fn target_complete_state(&mut self, a: AdapterId) -> usize {
        at_random_irql(|| super::target::release_state(Some(a.0)))
    }

    /// As `target_complete_state`, newest call first.
    pub fn target_complete_state_newest_first(&mut self, a: AdapterId) -> usize {
        at_random_irql(|| super::target::release_state_newest_first(a.0))
    }

    /// NBLs of `c` the target holds, oldest first (for verifier self-tests).
    pub fn target_held_nbls(&self, c: ConnId) -> Vec<usize> {
        world::with(|w| {
            let hc = &w.chimney.conns[c.0];
            hc.arrived.iter().flatten().copied().collect()
        })
    }

    /// I/O NBLs queued at the target of adapter `a`.
    pub fn target_queued(&self, a: AdapterId) -> usize {
        world::with(|w| w.chimney.targets.get(&a.0).map_or(0, |t| t.in_flight))
    }

    /// The target indicates `len` bytes of `c`'s stream; returns what the driver answered.
    pub fn target_indicate_receive(&mut self, c: ConnId, len: usize) -> Option<NdisStatus> {
        super::target_io::indicate(c, len)
    }

    /// The target indicates a TCP event (TcpIndicate*) on `c`.
    pub fn target_event(&mut self, c: ConnId, event: u32, info: u32) -> bool {
        super::target_io::event(c, event, info)
    }

    /// The target indicates a generic offload event, with `c`'s neighbor block or none.
    pub fn target_offload_event(&mut self, a: AdapterId, code: u32, c: Option<ConnId>) -> bool {
        super::target_io::offload_event(a.0, code, c)
    }

    /// The lower miniport indicates a status code (e.g. NDIS_STATUS_OFFLOAD_PAUSE) with no buffer.
    pub fn lower_indicate_status(&mut self, a: AdapterId, code: NdisStatus) -> bool {
        crate::lower::indicate_status(a.0, code)
    }

    pub fn set_chimney_policy(&mut self, a: AdapterId, p: ChimneyPolicy) {
        world::with(|w| w.adapters[a.0].cfg.policy.chimney = p);
    }

    pub fn chimney_counters(&self) -> ChimneyCounters {
        world::with(|w| counters(w))
    }
}

impl fmt::Display for ChimneyCounters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "  chimney: offloads initiated {} ok {} failed {} terminated {} live {}; update/invalidate/query {}",
            self.offloads_initiated,
            self.offloads_succeeded,
            self.offloads_failed,
            self.terminated,
            self.live_offloads,
            self.state_calls
        )?;
        let st: Vec<String> = self
            .receive_status
            .iter()
            .map(|(k, v)| format!("{k:#x}:{v}"))
            .collect();
        writeln!(
            f,
            "    receives posted {} (re-posts {}) completed by status [{}]",
            self.receives_posted,
            self.reposts,
            st.join(" ")
        )?;
        writeln!(
            f,
            "    sends {} (+{} at initiate) disconnects {} forwards {}; completed {} refused {} returned in terminate {}",
            self.sends,
            self.initiate_send_data,
            self.disconnects,
            self.forwards,
            self.io_completed,
            self.refused,
            self.returned_in_terminate
        )?;
        writeln!(
            f,
            "    indications {} kept {} returned {}; TCP events {} generic events {}; peaks: at target {} receives posted per connection {}",
            self.indications,
            self.indications_kept,
            self.indications_returned,
            self.events,
            self.generic_events,
            self.peak_at_target,
            self.peak_receives_per_conn
        )
    }
}
