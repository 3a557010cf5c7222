//! The model's global state (one driver per process) and its access helpers.
//!
//! Lock order: WORLD, then the scheduler's lock; never the other way round. No model lock is ever
//! held while a driver handler runs.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};

use chimney_im::ndis::{Kirql, NdisStatus};

use crate::config::{LowerAdapterConfig, ModelConfig};
use crate::handlers::{MpHandlers, PtHandlers};
use crate::nbl::NblTable;
use crate::report::{AdapterCounters, Counters};
use crate::rng::Rng;
use crate::verifier::{Injector, Verifier};

/// Where the driver is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    InDriverEntry,
    Loaded,
    Unloading,
    Unloaded,
}

/// What a handle value stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandleKind {
    MiniportDriver,
    ProtocolDriver,
    BindContext,
    UnbindContext,
    Binding,
    LowerMiniport,
    Miniport,
    HostBinding,
    Config,
}

#[derive(Clone, Copy, Debug)]
pub struct HandleInfo {
    pub kind: HandleKind,
    pub adapter: usize,
    pub alive: bool,
}

/// Open state of the driver's binding to a lower adapter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenState {
    None,
    Opening,
    Open,
    Closing,
    Closed,
}

/// Data-path state of a binding or of a virtual miniport.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunState {
    Paused,
    Pausing,
    Restarting,
    Running,
}

/// Virtual miniport life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DevPhase {
    /// No instance (never started, start cancelled, or init failed).
    Absent,
    /// NdisIMInitializeDeviceInstanceEx recorded a start that has not begun.
    StartPending,
    /// MiniportInitializeEx is running.
    Initializing,
    /// Initialised: see `run`.
    Up,
    /// MiniportHaltEx is running.
    Halting,
    Halted,
}

/// An OID request handed to the lower miniport.
#[derive(Clone, Copy, Debug)]
pub struct OidBelow {
    pub req: usize,
    pub request_id: usize,
    pub status: NdisStatus,
    pub held: bool,
}

#[derive(Debug)]
pub struct BindingSt {
    pub open: OpenState,
    pub run: RunState,
    pub handle: usize,
    pub ctx: usize,
    pub bind_ctx: usize,
    pub unbind_ctx: usize,
    pub in_bind: bool,
    pub in_unbind: bool,
    pub bind_result: Option<NdisStatus>,
    pub unbind_done: bool,
    pub sends_below: usize,
    pub held_sends: Vec<usize>,
    pub oids_below: Vec<OidBelow>,
    /// Lower receive NBLs the driver still owns (indicated, not yet returned).
    pub recv_in_driver: usize,
    pub packet_filter: u32,
    pub multicast: Vec<[u8; 6]>,
}

#[derive(Debug)]
pub struct HostOid {
    pub req: usize,
    pub in_call: bool,
    pub returned_pending: bool,
    pub completed: Option<NdisStatus>,
    pub sync_status: Option<NdisStatus>,
    /// The lower miniport's answer to the forwarded clone (for output checks).
    pub lower_status: Option<NdisStatus>,
}

#[derive(Debug)]
pub struct DeviceSt {
    pub name: String,
    pub phase: DevPhase,
    pub run: RunState,
    pub start_ctx: usize,
    pub handle: usize,
    pub ctx: usize,
    pub host_handle: usize,
    pub if_index: u32,
    pub reg_attrs: bool,
    pub gen_attrs: bool,
    pub attr_mtu: u32,
    pub attr_mac: [u8; 6],
    /// Link fields of the last general attributes: (MediaConnectState, MediaDuplexState,
    /// XmitLinkSpeed, RcvLinkSpeed).
    pub attr_link: (u32, u32, u64, u64),
    pub pause_complete: bool,
    pub restart_complete: Option<NdisStatus>,
    pub host_oid: Option<HostOid>,
    /// Host send NBLs not yet completed back to the host.
    pub sends_out: usize,
    /// Receive NBLs the host keeps.
    pub recv_at_host: usize,
    pub held_returns: Vec<usize>,
    pub status_log: Vec<StatusRecord>,
    pub starts: u32,
    pub halts: Vec<u32>,
}

/// A status indication the host saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusRecord {
    pub code: NdisStatus,
    pub buffer: Vec<u8>,
}

#[derive(Debug)]
pub struct Adapter {
    pub cfg: LowerAdapterConfig,
    pub lower_handle: usize,
    pub binding: BindingSt,
    pub dev: DeviceSt,
    pub last_link_state: Vec<u8>,
    pub counters: AdapterCounters,
}

#[derive(Debug)]
pub struct MpDriver {
    #[allow(dead_code, reason = "diagnostics")]
    pub handle: usize,
    pub ctx: usize,
    pub h: MpHandlers,
    pub deregistered: bool,
}

#[derive(Debug)]
pub struct PtDriver {
    #[allow(dead_code, reason = "diagnostics")]
    pub handle: usize,
    pub ctx: usize,
    pub name: String,
    pub h: PtHandlers,
    pub deregistered: bool,
}

pub struct ConfigRec {
    #[allow(dead_code, reason = "diagnostics")]
    pub adapter: usize,
    pub open: bool,
    /// The driver handler call that opened it (see `timing::current_call`).
    pub opened_in: u64,
    /// Parameter blocks handed out; poisoned on close, kept until the model goes away.
    pub params: Vec<(
        crate::rawbox::RawBox<chimney_im::ndis::NdisConfigurationParameter>,
        crate::rawbox::RawBox<[u16]>,
    )>,
}

#[derive(Debug)]
pub struct CloneRec {
    pub binding: usize,
    pub orig: usize,
    pub pending_below: bool,
}

/// Memory the model hands out that must stay addressable until the model goes away.
#[derive(Default)]
pub struct Graveyard {
    pub keep: Vec<Box<dyn std::any::Any>>,
}

pub struct World {
    pub cfg: ModelConfig,
    pub rng: Rng,
    pub phase: Phase,
    pub v: Verifier,
    pub inject: Injector,
    pub handles: HashMap<usize, HandleInfo>,
    next_handle: usize,
    pub mp: Option<MpDriver>,
    pub pt: Option<PtDriver>,
    pub associated: bool,
    pub driver_object: usize,
    pub adapters: Vec<Adapter>,
    /// Live pool allocations of the driver: address -> (length, tag). Ordered, so that the
    /// allocation holding an address is one range lookup (`chimney::in_live_pool`).
    pub mem: BTreeMap<usize, (u32, u32)>,
    pub configs: HashMap<usize, ConfigRec>,
    pub clones: HashMap<usize, CloneRec>,
    pub clone_store: HashMap<usize, crate::rawbox::RawBox<chimney_im::ndis::NdisOidRequest>>,
    pub host_oid_store: HashMap<
        usize,
        (
            crate::rawbox::RawBox<chimney_im::ndis::NdisOidRequest>,
            crate::rawbox::RawBox<[u8]>,
        ),
    >,
    pub events: HashMap<usize, bool>,
    pub nbls: NblTable,
    pub counters: Counters,
    pub handler_calls: BTreeMap<&'static str, u64>,
    pub dbg: Vec<String>,
    pub graveyard: Graveyard,
    pub next_request_id: usize,
    /// The PnP event being delivered (NDIS serialises them): notification address and result.
    pub pnp: Option<(usize, Option<NdisStatus>)>,
    /// TCP chimney: the driver's chimney tables, the host stack and the offload targets.
    pub chimney: crate::chimney::ChimneyWorld,
    /// Interface stack entries (higher IfIndex, lower IfIndex) the driver registered.
    pub if_stack: Vec<(u32, u32)>,
    /// The driver image faulted (or bugchecked): its state is abandoned, unload is not attempted.
    pub faulted: bool,
    /// Which tier the model runs (see `Model::tier`).
    pub tier: String,
}

// SAFETY: World holds raw addresses (as usize) and boxed NDIS structures with raw pointers; all
// access is serialised by the WORLD mutex, and the pointed-to memory is owned by the model.
unsafe impl Send for World {}

impl World {
    pub fn new(cfg: ModelConfig) -> Self {
        let seed = cfg.seed;
        Self {
            cfg,
            rng: Rng::new(seed),
            phase: Phase::InDriverEntry,
            v: Verifier::default(),
            inject: Injector::default(),
            handles: HashMap::new(),
            next_handle: 0x7E00_0000_1000,
            mp: None,
            pt: None,
            associated: false,
            driver_object: 0,
            adapters: Vec::new(),
            mem: BTreeMap::new(),
            configs: HashMap::new(),
            clones: HashMap::new(),
            clone_store: HashMap::new(),
            host_oid_store: HashMap::new(),
            events: HashMap::new(),
            nbls: NblTable::default(),
            counters: Counters::default(),
            handler_calls: BTreeMap::new(),
            dbg: Vec::new(),
            faulted: false,
            tier: String::new(),
            graveyard: Graveyard::default(),
            next_request_id: 0x5100,
            pnp: None,
            chimney: crate::chimney::ChimneyWorld::default(),
            if_stack: Vec::new(),
        }
    }

    /// A fresh opaque handle value (never reused, never dereferenceable).
    pub fn new_handle(&mut self, kind: HandleKind, adapter: usize) -> usize {
        let h = self.next_handle;
        self.next_handle += 0x100;
        self.handles.insert(
            h,
            HandleInfo {
                kind,
                adapter,
                alive: true,
            },
        );
        h
    }

    pub fn kill_handle(&mut self, h: usize) {
        if let Some(i) = self.handles.get_mut(&h) {
            i.alive = false;
        }
    }

    /// The adapter a live handle of `kind` belongs to.
    pub fn live(&self, h: usize, kind: HandleKind) -> Option<usize> {
        self.handles
            .get(&h)
            .filter(|i| i.alive && i.kind == kind)
            .map(|i| i.adapter)
    }

    /// Validates a handle of `kind`, recording a violation for a dead, foreign or unknown one.
    pub fn expect_live(
        &mut self,
        check: &'static str,
        what: &str,
        h: usize,
        kind: HandleKind,
    ) -> Option<usize> {
        let info = self.handles.get(&h).copied();
        let ok = matches!(info, Some(i) if i.alive && i.kind == kind);
        self.v.check(check, ok, || match info {
            None => format!("{what}: {h:#x} is not a handle NDIS gave out"),
            Some(i) if i.kind != kind => {
                format!("{what}: {h:#x} is a {:?} handle, expected {kind:?}", i.kind)
            }
            Some(_) => {
                format!("{what}: {kind:?} handle {h:#x} was already closed/halted/deregistered")
            }
        });
        if ok { info.map(|i| i.adapter) } else { None }
    }

    pub fn pick_irql(&mut self) -> Kirql {
        use crate::config::IrqlMode;
        use chimney_im::ndis::{DISPATCH_LEVEL, PASSIVE_LEVEL};
        match self.cfg.irql {
            IrqlMode::Passive => PASSIVE_LEVEL,
            IrqlMode::Dispatch => DISPATCH_LEVEL,
            IrqlMode::Random => {
                if self.rng.coin() {
                    DISPATCH_LEVEL
                } else {
                    PASSIVE_LEVEL
                }
            }
        }
    }

    pub fn adapter_by_device_name(&self, name: &str) -> Option<usize> {
        self.adapters.iter().position(|a| {
            a.cfg
                .upper_bindings
                .iter()
                .any(|u| u.eq_ignore_ascii_case(name))
        })
    }

    pub fn next_request_id(&mut self) -> usize {
        self.next_request_id += 1;
        self.next_request_id
    }
}

static WORLD: Mutex<Option<Box<World>>> = Mutex::new(None);

fn lock() -> MutexGuard<'static, Option<Box<World>>> {
    WORLD.lock().unwrap_or_else(PoisonError::into_inner)
}

pub fn install(w: World) {
    *lock() = Some(Box::new(w));
}

pub fn take() -> Option<Box<World>> {
    lock().take()
}

/// Runs `f` on the world if one is installed.
pub fn try_with<R>(f: impl FnOnce(&mut World) -> R) -> Option<R> {
    let mut g = lock();
    g.as_deref_mut().map(f)
}

/// Runs `f` on the world. Model-side code only (the world exists while a Model lives).
pub fn with<R>(f: impl FnOnce(&mut World) -> R) -> R {
    let mut g = lock();
    match g.as_deref_mut() {
        Some(w) => f(w),
        None => panic!("ndis-model: no model loaded"),
    }
}
