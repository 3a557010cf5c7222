//! The public face of the model: load the driver, drive it, collect the verdict.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

use chimney_im::ndis::*;

use crate::config::{LowerAdapterConfig, ModelConfig};
use crate::handlers::{MpHandlers, PtHandlers};
use crate::oidflows::{self, OidOutcome, OidSpec};
use crate::rawbox::RawBox;
use crate::report::{AdapterCounters, Report};
use crate::verifier::{Export, FailureMode, Violation};
use crate::world::{
    self, Adapter, DevPhase, DeviceSt, HandleKind, OpenState, Phase, RunState, StatusRecord, World,
};
use crate::{devflows, drv, flows, host, lower, sched};

/// `DriverEntry`'s type as the model calls it: the Windows x64 convention, allowed to unwind (a
/// fault in the image, or a panic in the linked driver, unwinds back to the model).
pub type DriverEntryFn =
    unsafe extern "system-unwind" fn(*mut DriverObject, *mut UnicodeString) -> NtStatus;

/// Index of a lower adapter (and of the binding and virtual miniport above it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AdapterId(pub usize);

/// Observable state of a virtual miniport.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceState {
    pub phase: DevPhase,
    pub run: RunState,
    pub starts: u32,
    /// NDIS_HALT_ACTION of the last halt.
    pub last_halt: Option<u32>,
    pub mtu: u32,
    pub mac: [u8; 6],
    /// NdisMiniportHandle NDIS gave the virtual miniport (for verifier self-tests).
    pub handle: usize,
}

/// Observable state of the driver's binding to a lower adapter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BindingState {
    pub open: OpenState,
    pub run: RunState,
    pub packet_filter: u32,
    pub held_sends: usize,
    pub oids_below: usize,
}

/// See [`Model::ndis_handles`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NdisHandles {
    pub miniport_driver: usize,
    pub protocol: usize,
    pub binding: usize,
    pub miniport: usize,
}

static LOAD_LOCK: Mutex<()> = Mutex::new(());

/// A loaded driver inside the model. One per process at a time (`load` serialises tests).
pub struct Model {
    worker: Option<JoinHandle<()>>,
    entry_status: NtStatus,
    unloaded: bool,
    _driver_object: RawBox<[u64; 42]>,
    _registry_path: (RawBox<UnicodeString>, RawBox<[u16]>),
    /// The mapped driver image (Wine tier); unmapped after the world is gone.
    image: Option<Image>,
    _guard: MutexGuard<'static, ()>,
}

#[cfg(windows)]
use crate::image::Image;
/// No image on the Linux tier: the driver is the linked rlib.
#[cfg(not(windows))]
#[derive(Debug)]
pub enum Image {}

impl Model {
    /// Loads chimney-im. On the Linux tier that is the linked rlib's `chimney_im::DriverEntry`; on
    /// the Wine tier (any Windows target) it is the shipped image, `$CHIMNEY_SYS` or
    /// `target/chimney_im.sys`, mapped and bound by the model's loader.
    pub fn load(cfg: ModelConfig) -> Model {
        #[cfg(windows)]
        {
            Self::load_image(cfg, &crate::image::default_path())
        }
        #[cfg(not(windows))]
        {
            Self::load_with(cfg, chimney_im::DriverEntry)
        }
    }

    /// Loads the driver image at `path` (Wine tier): a fresh mapping for this model, its imports
    /// bound to the model's exports, entered at its exported `DriverEntry`. Panics with the
    /// loader's list of reasons when the image cannot be bound.
    #[cfg(windows)]
    pub fn load_image(cfg: ModelConfig, path: &std::path::Path) -> Model {
        let guard = LOAD_LOCK.lock().unwrap_or_else(PoisonError::into_inner);
        let image = crate::image::Image::load(path).unwrap_or_else(|e| panic!("{e}"));
        let entry = image.driver_entry();
        Self::start(cfg, entry, guard, Some(image))
    }

    /// Loads a driver through `entry`: `chimney_im::DriverEntry`, or a deliberately faulty
    /// stand-in (tests/model_checks_fire.rs) to show a verifier check firing.
    pub fn load_with(cfg: ModelConfig, entry: DriverEntryFn) -> Model {
        let guard = LOAD_LOCK.lock().unwrap_or_else(PoisonError::into_inner);
        Self::start(cfg, entry, guard, None)
    }

    /// Where the driver image is mapped (Wine tier); None for the linked rlib.
    pub fn image_base(&self) -> Option<usize> {
        #[cfg(windows)]
        {
            self.image.as_ref().map(Image::base)
        }
        #[cfg(not(windows))]
        {
            None
        }
    }

    /// Which tier this model runs: the linked rlib (Linux) or the loaded image (Wine).
    pub fn tier(&self) -> String {
        world::with(|w| w.tier.clone())
    }

    fn start(
        cfg: ModelConfig,
        entry: DriverEntryFn,
        guard: MutexGuard<'static, ()>,
        image: Option<Image>,
    ) -> Model {
        std::hint::black_box(&crate::exports::EXPORTS);
        crate::exports::sync::reset_spin_locks();
        crate::exports::processor::set_processor_count(cfg.processors);
        let adapters = cfg.adapters.clone();
        let bind_early = cfg.bind_during_register;
        let inject = cfg.inject.clone();
        let mut w = World::new(cfg);
        w.tier = tier_name(image.as_ref());
        for (e, n) in inject {
            w.inject.fail_nth(e, n);
        }
        let dobj = RawBox::new([0u64; 42]);
        w.driver_object = dobj.ptr() as usize;
        for a in adapters {
            push_adapter(&mut w, a);
        }
        world::install(w);
        let worker = Some(sched::start_worker());
        let (rp, rbuf) =
            flows::ustr("\\REGISTRY\\MACHINE\\SYSTEM\\CurrentControlSet\\Services\\ChimneyImP");
        let dp = dobj.ptr().cast::<DriverObject>();
        let rpp: *mut UnicodeString = rp.ptr();
        // The model exists before the driver runs, so that a fault in DriverEntry (which unwinds
        // out of here) still stops the worker and removes the world.
        let mut m = Model {
            worker,
            entry_status: 0,
            unloaded: false,
            _driver_object: dobj,
            _registry_path: (rp, rbuf),
            image,
            _guard: guard,
        };
        // SAFETY: the driver's entry point with a model driver object and registry path that live
        // as long as the Model.
        let st = drv::call("DriverEntry", PASSIVE_LEVEL, || unsafe { entry(dp, rpp) });
        m.entry_status = st;
        m.unloaded = st < 0;
        let n = world::with(|w| {
            if st >= 0 {
                w.phase = Phase::Loaded;
                let (mp, pt, assoc) = (w.mp.is_some(), w.pt.is_some(), w.associated);
                w.v.check("driver_entry.registered_both_edges", mp && pt && assoc, || {
                    format!("DriverEntry succeeded: miniport registered {mp}, protocol registered {pt}, associated {assoc}")
                });
            } else {
                let mp_left = w.mp.as_ref().is_some_and(|m| !m.deregistered);
                let pt_left = w.pt.as_ref().is_some_and(|p| !p.deregistered);
                w.v.check("driver_entry.failure_cleans_up", !mp_left && !pt_left, || {
                    format!("DriverEntry failed ({st:#x}) leaving miniport registered {mp_left}, protocol registered {pt_left}")
                });
                w.phase = Phase::Unloaded;
            }
            w.adapters.len()
        });
        if st >= 0 && !bind_early {
            for a in 0..n {
                flows::bind(a);
            }
        }
        if st < 0 {
            m.stop_worker();
        }
        m
    }

    /// The name the driver registered its protocol edge with.
    pub fn protocol_name(&self) -> Option<String> {
        world::with(|w| w.pt.as_ref().map(|p| p.name.clone()))
    }

    pub fn driver_entry_status(&self) -> NtStatus {
        self.entry_status
    }

    /// Adds a lower adapter (not bound yet: call `bind`).
    pub fn add_adapter(&mut self, cfg: LowerAdapterConfig) -> AdapterId {
        AdapterId(world::with(|w| push_adapter(w, cfg)))
    }

    pub fn adapters(&self) -> Vec<AdapterId> {
        (0..world::with(|w| w.adapters.len()))
            .map(AdapterId)
            .collect()
    }

    pub fn bind(&mut self, a: AdapterId) -> NdisStatus {
        flows::bind(a.0)
    }

    pub fn unbind(&mut self, a: AdapterId) -> NdisStatus {
        flows::unbind(a.0)
    }

    /// Runs a start recorded by NdisIMInitializeDeviceInstanceEx (policy `Manual`).
    pub fn start_device(&mut self, a: AdapterId) -> Option<NdisStatus> {
        devflows::start_device(a.0)
    }

    pub fn device_state(&self, a: AdapterId) -> DeviceState {
        world::with(|w| {
            let d = &w.adapters[a.0].dev;
            DeviceState {
                phase: d.phase,
                run: d.run,
                starts: d.starts,
                last_halt: d.halts.last().copied(),
                mtu: d.attr_mtu,
                mac: d.attr_mac,
                handle: d.handle,
            }
        })
    }

    pub fn binding_state(&self, a: AdapterId) -> BindingState {
        world::with(|w| {
            let b = &w.adapters[a.0].binding;
            BindingState {
                open: b.open,
                run: b.run,
                packet_filter: b.packet_filter,
                held_sends: b.held_sends.len(),
                oids_below: b.oids_below.len(),
            }
        })
    }

    /// The host sends `n` NBLs; returns how many were handed to the driver.
    pub fn host_send(&mut self, a: AdapterId, n: usize) -> usize {
        host::send(a.0, n)
    }

    /// Host sends not yet completed back to the host.
    pub fn host_sends_outstanding(&self, a: AdapterId) -> usize {
        world::with(|w| w.adapters[a.0].dev.sends_out)
    }

    /// The host cancels up to `max` of its sends held by the lower miniport (by cancel id); the
    /// driver must forward each cancel, and the lower completes those sends aborted.
    pub fn host_cancel_sends_below(&mut self, a: AdapterId, max: usize) -> usize {
        host::cancel_sends_below(a.0, max)
    }

    /// Completes up to `max` (all for None) held sends of the lower miniport.
    pub fn lower_complete_sends(&mut self, a: AdapterId, max: Option<usize>) -> usize {
        lower::release_sends(a.0, max)
    }

    /// The lower miniport indicates `n` receives (with NDIS_RECEIVE_FLAGS_RESOURCES if asked).
    pub fn lower_indicate(&mut self, a: AdapterId, n: usize, resources: bool) -> usize {
        lower::indicate(a.0, n, resources)
    }

    /// Receives the host keeps (indicated, not yet returned).
    pub fn host_receives_outstanding(&self, a: AdapterId) -> usize {
        world::with(|w| w.adapters[a.0].dev.recv_at_host)
    }

    /// Returns up to `max` held receives from the host.
    pub fn host_return_receives(&mut self, a: AdapterId, max: Option<usize>) -> usize {
        host::release_returns(a.0, max)
    }

    /// Issues an OID from the host and waits for its completion. None when it cannot be issued.
    pub fn host_oid(&mut self, a: AdapterId, spec: &OidSpec) -> Option<OidOutcome> {
        oidflows::host_oid(a.0, spec)
    }

    /// Issues an OID without waiting; see `host_oid_outcome`, `host_cancel_oid`.
    pub fn host_oid_start(&mut self, a: AdapterId, spec: &OidSpec) -> bool {
        oidflows::host_start(a.0, spec).is_some()
    }

    pub fn host_oid_outcome(&self, a: AdapterId) -> Option<OidOutcome> {
        oidflows::host_outcome(a.0)
    }

    /// Waits (running queued work) for the host's OID to finish.
    pub fn host_oid_wait(&mut self, a: AdapterId) -> Option<OidOutcome> {
        if world::with(|w| w.adapters[a.0].dev.host_oid.is_none()) {
            return None;
        }
        flows::wait(
            "oid.pending_request_completed",
            "host OID completion",
            || oidflows::host_outcome(a.0).is_some(),
        );
        oidflows::host_outcome(a.0)
    }

    /// MiniportCancelOidRequest for the host's in-flight OID.
    pub fn host_cancel_oid(&mut self, a: AdapterId) -> bool {
        oidflows::host_cancel(a.0)
    }

    /// Completes the lower miniport's held OID requests.
    pub fn lower_complete_oids(&mut self, a: AdapterId) -> usize {
        oidflows::release_oids(a.0)
    }

    /// The lower miniport indicates NDIS_STATUS_LINK_STATE.
    pub fn lower_indicate_link_state(&mut self, a: AdapterId, state: NdisLinkState) -> bool {
        lower::indicate_link_state(a.0, state)
    }

    /// The link fields of the general attributes the virtual miniport last set in
    /// MiniportInitializeEx: (MediaConnectState, MediaDuplexState, XmitLinkSpeed, RcvLinkSpeed).
    pub fn device_link_attributes(&self, a: AdapterId) -> (u32, u32, u64, u64) {
        world::with(|w| w.adapters[a.0].dev.attr_link)
    }

    /// Status indications the host received.
    pub fn host_status_log(&self, a: AdapterId) -> Vec<StatusRecord> {
        world::with(|w| w.adapters[a.0].dev.status_log.clone())
    }

    pub fn pause_miniport(&mut self, a: AdapterId) -> NdisStatus {
        devflows::pause_miniport(a.0)
    }

    /// MiniportPause without waiting: a pended pause stays pending (the virtual miniport
    /// Pausing) until the driver completes it, e.g. while the test unbinds.
    pub fn pause_miniport_no_wait(&mut self, a: AdapterId) -> NdisStatus {
        devflows::pause_miniport_no_wait(a.0)
    }

    pub fn restart_miniport(&mut self, a: AdapterId) -> NdisStatus {
        devflows::restart_miniport(a.0)
    }

    pub fn pause_binding(&mut self, a: AdapterId) -> NdisStatus {
        flows::pause_binding(a.0)
    }

    pub fn restart_binding(&mut self, a: AdapterId) -> NdisStatus {
        flows::restart_binding(a.0)
    }

    /// The user disables the virtual NIC: pause + MiniportHaltEx(HaltDeviceDisabled), no unbind.
    pub fn disable_device(&mut self, a: AdapterId) {
        devflows::halt_device(a.0, halt_action::DEVICE_DISABLED);
    }

    /// A misbehaving NDIS: MiniportHaltEx (HaltDeviceDisabled) on the virtual miniport without
    /// pausing it first (NDIS halts only a paused miniport), for the driver's defence against it.
    pub fn halt_unpaused(&mut self, a: AdapterId) {
        devflows::halt_unpaused_device(a.0, halt_action::DEVICE_DISABLED);
    }

    /// NetEventIMReEnableDevice for a disabled virtual NIC.
    pub fn reenable_device(&mut self, a: AdapterId) -> NdisStatus {
        devflows::reenable_device(a.0, false)
    }

    /// NetEventIMReEnableDevice as a global event (NULL binding context) naming the device.
    pub fn reenable_device_by_name(&mut self, a: AdapterId) -> NdisStatus {
        devflows::reenable_device(a.0, true)
    }

    /// As `reenable_device_by_name`, the name spelled in upper case (`\DEVICE\{...}`).
    pub fn reenable_device_by_upper_case_name(&mut self, a: AdapterId) -> NdisStatus {
        devflows::reenable_device_spelled(a.0, true, None, true)
    }

    /// As `reenable_device_by_name`, but the event's BufferLength is `len` bytes (a malformed
    /// event when shorter than the NDIS_STRING it should hold).
    pub fn reenable_device_by_name_len(&mut self, a: AdapterId, len: u32) -> NdisStatus {
        devflows::reenable_device_len(a.0, true, Some(len))
    }

    pub fn surprise_remove(&mut self, a: AdapterId) {
        devflows::surprise_remove(a.0);
    }

    /// NetEventSetPower with an NDIS_DEVICE_POWER_STATE (D0 = 1 .. D3 = 4).
    pub fn set_power(&mut self, a: AdapterId, state: NdisDevicePowerState) -> NdisStatus {
        let mut s = Box::new(state);
        let p: *mut NdisDevicePowerState = &raw mut *s;
        let st = flows::pnp_event(Some(a.0), net_event::SET_POWER, p.cast(), 4);
        world::with(|w| w.graveyard.keep.push(s));
        st
    }

    /// NetEventReconfigure on a binding, or with a NULL binding context (global).
    pub fn reconfigure(&mut self, a: Option<AdapterId>) -> NdisStatus {
        flows::pnp_event(
            a.map(|a| a.0),
            net_event::RECONFIGURE,
            std::ptr::null_mut(),
            0,
        )
    }

    /// Runs queued deferred work (completions, returns) until none is left.
    pub fn run_until_idle(&mut self) {
        sched::run_until_idle();
    }

    /// Releases everything held (sends, OIDs, returns) and runs it.
    pub fn release_all(&mut self) {
        while lower::release_all_held() {
            sched::run_until_idle();
        }
        sched::run_until_idle();
    }

    /// Fails the `nth` call (1-based, counted from now) of `export`.
    pub fn inject_failure(&mut self, export: Export, nth: u64) {
        world::with(|w| w.inject.fail_nth(export, nth));
    }

    pub fn set_failure_mode(&mut self, mode: Option<FailureMode>) {
        world::with(|w| w.inject.set_mode(mode));
    }

    pub fn clear_failures(&mut self) {
        world::with(|w| w.inject.clear());
    }

    /// Calls so far of `export`.
    pub fn calls(&self, export: Export) -> u64 {
        world::with(|w| w.inject.calls().get(&export).copied().unwrap_or(0))
    }

    /// Fault injection on the driver's side of the boundary: lets `f` replace handlers in the
    /// tables the driver registered (e.g. with a wrapper that calls the original and then
    /// misbehaves), so a test can show a check firing on a handler that breaks its rule.
    pub fn replace_handlers(&mut self, f: impl FnOnce(&mut MpHandlers, &mut PtHandlers)) {
        world::with(|w| {
            if let (Some(mp), Some(pt)) = (w.mp.as_mut(), w.pt.as_mut()) {
                f(&mut mp.h, &mut pt.h);
            }
        });
    }

    /// The handles NDIS gave the driver, for tests that act as a faulty driver and call the
    /// exports themselves: (miniport driver, protocol driver, binding of `a`, miniport of `a`);
    /// 0 for what does not exist.
    pub fn ndis_handles(&self, a: AdapterId) -> NdisHandles {
        world::with(|w| NdisHandles {
            miniport_driver: w.mp.as_ref().map_or(0, |m| m.handle),
            protocol: w.pt.as_ref().map_or(0, |p| p.handle),
            binding: w.adapters.get(a.0).map_or(0, |ad| ad.binding.handle),
            miniport: w.adapters.get(a.0).map_or(0, |ad| ad.dev.handle),
        })
    }

    pub fn report(&self) -> Report {
        world::with(make_report)
    }

    /// All violations so far (marks them reported).
    pub fn violations(&self) -> Vec<Violation> {
        world::with(|w| {
            w.v.reported = w.v.violations.len();
            w.v.violations.clone()
        })
    }

    /// Violations since the last call of `take_violations` / `violations`.
    pub fn take_violations(&mut self) -> Vec<Violation> {
        world::with(|w| {
            let new = w.v.violations[w.v.reported..].to_vec();
            w.v.reported = w.v.violations.len();
            new
        })
    }

    /// Panics with the report if any violation was recorded.
    pub fn assert_clean(&self) {
        let r = self.report();
        world::with(|w| w.v.reported = w.v.violations.len());
        assert!(r.violations.is_empty(), "NDIS verifier violations:\n{r}");
    }

    pub fn dbg_lines(&self) -> Vec<String> {
        world::with(|w| w.dbg.clone())
    }

    /// Unbinds everything, calls MiniportDriverUnload, runs the teardown checks.
    /// The returned report carries every violation (they count as reported).
    pub fn unload(mut self) -> Report {
        self.do_unload();
        let r = self.report();
        world::with(|w| w.v.reported = w.v.violations.len());
        r
    }

    fn do_unload(&mut self) {
        if self.unloaded {
            return;
        }
        self.unloaded = true;
        sched::run_until_idle();
        let n = world::with(|w| w.adapters.len());
        for a in 0..n {
            let open = world::with(|w| w.adapters[a].binding.open == OpenState::Open);
            if open {
                flows::unbind(a);
            }
        }
        self.release_all();
        let unload = world::with(|w| {
            w.phase = Phase::Unloading;
            w.mp.as_ref().map(|m| m.h.unload)
        });
        if let Some(u) = unload {
            let dp = self._driver_object.ptr().cast::<DriverObject>();
            // SAFETY: the driver's MiniportDriverUnload with its driver object.
            drv::call("MiniportDriverUnload", PASSIVE_LEVEL, || unsafe { u(dp) });
        }
        self.release_all();
        let dropped = self.stop_worker();
        let locks = crate::exports::sync::held_spin_locks();
        world::with(|w| teardown_checks(w, dropped, &locks));
    }

    fn stop_worker(&mut self) -> usize {
        self.worker.take().map_or(0, sched::stop_worker)
    }
}

fn tier_name(image: Option<&Image>) -> String {
    match image {
        #[cfg(windows)]
        Some(i) => format!(
            "Wine tier: the shipped image {} under Wine, imports bound to the model",
            i.path().display()
        ),
        #[cfg(not(windows))]
        Some(i) => match *i {},
        None => format!(
            "{} tier: the driver crate linked into the model",
            std::env::consts::OS
        ),
    }
}

fn push_adapter(w: &mut World, cfg: LowerAdapterConfig) -> usize {
    let a = w.adapters.len();
    let lower_handle = w.new_handle(HandleKind::LowerMiniport, a);
    let name = cfg.upper_bindings.first().cloned().unwrap_or_default();
    w.adapters.push(Adapter {
        cfg,
        lower_handle,
        binding: flows::new_binding(),
        dev: DeviceSt {
            name,
            phase: DevPhase::Absent,
            run: RunState::Paused,
            start_ctx: 0,
            handle: 0,
            ctx: 0,
            host_handle: 0,
            if_index: 0,
            reg_attrs: false,
            gen_attrs: false,
            attr_mtu: 0,
            attr_mac: [0; 6],
            attr_link: (0, 0, 0, 0),
            pause_complete: false,
            restart_complete: None,
            host_oid: None,
            sends_out: 0,
            recv_at_host: 0,
            held_returns: Vec::new(),
            status_log: Vec::new(),
            starts: 0,
            halts: Vec::new(),
        },
        last_link_state: Vec::new(),
        counters: AdapterCounters::default(),
    });
    a
}

fn teardown_checks(w: &mut World, dropped_work: usize, locks: &[usize]) {
    let (mp_left, pt_left) = (
        w.mp.as_ref().is_some_and(|m| !m.deregistered),
        w.pt.as_ref().is_some_and(|p| !p.deregistered),
    );
    w.v.check("unload.deregistered_both_edges", !mp_left && !pt_left, || {
        format!("after MiniportDriverUnload: miniport still registered {mp_left}, protocol still registered {pt_left}")
    });
    w.phase = Phase::Unloaded;
    let leaked: u64 = w.mem.values().map(|(l, _)| u64::from(*l)).sum();
    let nleak = w.mem.len();
    w.v.check("teardown.memory_freed", nleak == 0, || {
        format!("{nleak} pool block(s), {leaked} bytes never freed")
    });
    let stack = w.if_stack.clone();
    w.v.check(
        "teardown.if_stack_entries_deleted",
        stack.is_empty(),
        || format!("interface stack entries never deleted: {stack:?}"),
    );
    let clones = w.clones.len();
    w.v.check("teardown.clone_oids_freed", clones == 0, || {
        format!("{clones} cloned OID request(s) never freed")
    });
    let cfgs = w.configs.values().filter(|c| c.open).count();
    w.v.check("teardown.config_handles_closed", cfgs == 0, || {
        format!("{cfgs} configuration handle(s) never closed")
    });
    let open: Vec<String> = w
        .adapters
        .iter()
        .filter(|a| !matches!(a.binding.open, OpenState::None | OpenState::Closed))
        .map(|a| a.cfg.name.clone())
        .collect();
    w.v.check("teardown.bindings_closed", open.is_empty(), || {
        format!("bindings still open: {open:?}")
    });
    w.v.check("teardown.spin_locks_released", locks.is_empty(), || {
        format!("spin locks still held: {locks:x?}")
    });
    let nbls = w.nbls.recs.len();
    let detail: Vec<String> = w
        .nbls
        .recs
        .values()
        .take(5)
        .map(|r| format!("{:?} at {:?}", r.owner, r.loc))
        .collect();
    w.v.check("teardown.nbls_returned", nbls == 0, || {
        format!("{nbls} NBL(s) never came back to their owner, e.g. {detail:?}")
    });
    w.v.check("teardown.no_pending_work", dropped_work == 0, || {
        format!("{dropped_work} queued completion(s) never ran")
    });
}

fn make_report(w: &mut World) -> Report {
    let mut totals = AdapterCounters::default();
    let adapters = w
        .adapters
        .iter()
        .map(|a| {
            totals.add(&a.counters);
            (a.cfg.name.clone(), a.counters)
        })
        .collect();
    Report {
        tier: w.tier.clone(),
        seed: w.cfg.seed,
        adapters,
        totals,
        counters: w.counters,
        checks: w.v.checks.clone(),
        handler_calls: w.handler_calls.clone(),
        injected: w
            .inject
            .injected
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect(),
        violations: w.v.violations.clone(),
        dbg: w.dbg.clone(),
        nbls_created: w.nbls.created,
        nbls_freed: w.nbls.freed,
        chimney: crate::chimney::api::counters(w),
    }
}

impl Drop for Model {
    fn drop(&mut self) {
        let panicking = std::thread::panicking();
        // A driver that faulted is abandoned where it stopped: no unload into a broken image.
        if world::try_with(|w| w.faulted).unwrap_or(false) {
            self.unloaded = true;
        }
        if !self.unloaded {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.do_unload()));
            if r.is_err() {
                self.unloaded = true;
            }
        }
        self.stop_worker();
        let unreported =
            world::try_with(|w| w.v.violations[w.v.reported..].to_vec()).unwrap_or_default();
        let report = world::try_with(make_report);
        drop(world::take());
        self.image = None;
        if !panicking && !unreported.is_empty() {
            let r = report.map(|r| r.to_string()).unwrap_or_default();
            panic!(
                "ndis-model: {} unreported violation(s):\n{r}",
                unreported.len()
            );
        }
    }
}
