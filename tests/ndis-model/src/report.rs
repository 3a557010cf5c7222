//! Per-edge counters, in-flight peaks, verifier statistics and the readable report.

use std::collections::BTreeMap;
use std::fmt;

use crate::verifier::{CheckStat, Violation};

/// Counters of one adapter's edges.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AdapterCounters {
    /// NBLs the host handed to MiniportSendNetBufferLists.
    pub host_to_driver: u64,
    /// NBLs the driver handed to NdisSendNetBufferLists.
    pub driver_to_lower: u64,
    /// NBLs the lower miniport completed to the driver.
    pub lower_completions: u64,
    /// NBLs the driver completed to the host (NdisMSendNetBufferListsComplete).
    pub driver_to_host_completions: u64,
    /// ... of which never went below (refused: paused, no resources, ...).
    pub refused_sends: u64,
    /// NBLs the lower miniport indicated to the driver.
    pub lower_to_driver_receives: u64,
    /// NBLs the driver indicated to the host.
    pub driver_to_host_receives: u64,
    /// NBLs the host returned to the driver.
    pub returns_up: u64,
    /// NBLs the driver returned to the lower miniport.
    pub returns_down: u64,
    /// Receives the lower got back without them reaching the host (or with RESOURCES).
    pub receives_dropped_by_driver: u64,
    pub oids_host: u64,
    pub oids_forwarded: u64,
    pub oids_completed_to_host: u64,
    pub oids_cancelled: u64,
    pub status_from_lower: u64,
    pub status_to_host: u64,
    pub peak_sends_in_driver: u64,
    pub peak_receives_at_host: u64,
    pub peak_oids_below: u64,
}

/// Model-wide counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    pub allocations: u64,
    pub frees: u64,
    pub peak_bytes: u64,
    pub bytes: u64,
    pub ctx_allocs: u64,
    pub ctx_frees: u64,
    pub clones: u64,
    pub clone_frees: u64,
    pub spin_acquires: u64,
    pub waits: u64,
    pub binds: u64,
    pub unbinds: u64,
    pub device_starts: u64,
    pub halts: u64,
    pub pauses: u64,
    pub restarts: u64,
}

/// Snapshot returned by `Model::report` and `Model::unload`.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Which tier produced this report: the linked driver rlib (Linux) or the shipped image
    /// loaded under Wine (with its path).
    pub tier: String,
    pub seed: u64,
    pub adapters: Vec<(String, AdapterCounters)>,
    pub totals: AdapterCounters,
    pub counters: Counters,
    pub checks: BTreeMap<&'static str, CheckStat>,
    pub handler_calls: BTreeMap<&'static str, u64>,
    pub injected: BTreeMap<String, u64>,
    pub violations: Vec<Violation>,
    pub dbg: Vec<String>,
    pub nbls_created: u64,
    pub nbls_freed: u64,
    pub chimney: crate::chimney::ChimneyCounters,
}

impl Report {
    pub fn check_runs(&self, name: &str) -> u64 {
        self.checks.get(name).map_or(0, |c| c.runs)
    }
}

impl AdapterCounters {
    pub fn add(&mut self, o: &AdapterCounters) {
        self.host_to_driver += o.host_to_driver;
        self.driver_to_lower += o.driver_to_lower;
        self.lower_completions += o.lower_completions;
        self.driver_to_host_completions += o.driver_to_host_completions;
        self.refused_sends += o.refused_sends;
        self.lower_to_driver_receives += o.lower_to_driver_receives;
        self.driver_to_host_receives += o.driver_to_host_receives;
        self.returns_up += o.returns_up;
        self.returns_down += o.returns_down;
        self.receives_dropped_by_driver += o.receives_dropped_by_driver;
        self.oids_host += o.oids_host;
        self.oids_forwarded += o.oids_forwarded;
        self.oids_completed_to_host += o.oids_completed_to_host;
        self.oids_cancelled += o.oids_cancelled;
        self.status_from_lower += o.status_from_lower;
        self.status_to_host += o.status_to_host;
        self.peak_sends_in_driver = self.peak_sends_in_driver.max(o.peak_sends_in_driver);
        self.peak_receives_at_host = self.peak_receives_at_host.max(o.peak_receives_at_host);
        self.peak_oids_below = self.peak_oids_below.max(o.peak_oids_below);
    }
}

impl fmt::Display for AdapterCounters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "    send:    host->drv {:>6}  drv->lower {:>6}  lower->drv {:>6}  drv->host {:>6} (refused {})",
            self.host_to_driver,
            self.driver_to_lower,
            self.lower_completions,
            self.driver_to_host_completions,
            self.refused_sends
        )?;
        writeln!(
            f,
            "    receive: lower->drv {:>6}  drv->host {:>6}  host->drv {:>6}  drv->lower {:>6} (not indicated {})",
            self.lower_to_driver_receives,
            self.driver_to_host_receives,
            self.returns_up,
            self.returns_down,
            self.receives_dropped_by_driver
        )?;
        writeln!(
            f,
            "    oid:     host {:>4}  forwarded {:>4}  completed {:>4}  cancelled {:>4};  status lower {} -> host {}",
            self.oids_host,
            self.oids_forwarded,
            self.oids_completed_to_host,
            self.oids_cancelled,
            self.status_from_lower,
            self.status_to_host
        )?;
        writeln!(
            f,
            "    peaks:   sends in driver+below {}  receives at host {}  OIDs below {}",
            self.peak_sends_in_driver, self.peak_receives_at_host, self.peak_oids_below
        )
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "ndis-model report (seed {}, {})", self.seed, self.tier)?;
        for (name, c) in &self.adapters {
            writeln!(f, "  adapter {name}")?;
            write!(f, "{c}")?;
        }
        let c = &self.counters;
        writeln!(
            f,
            "  lifecycle: binds {} unbinds {} device starts {} halts {} pauses {} restarts {}",
            c.binds, c.unbinds, c.device_starts, c.halts, c.pauses, c.restarts
        )?;
        writeln!(
            f,
            "  memory: allocs {} frees {} peak bytes {}; NBL contexts {}/{}; clone OIDs {}/{}; NBLs {}/{}",
            c.allocations,
            c.frees,
            c.peak_bytes,
            c.ctx_allocs,
            c.ctx_frees,
            c.clones,
            c.clone_frees,
            self.nbls_created,
            self.nbls_freed
        )?;
        writeln!(
            f,
            "  sync: spin lock acquisitions {}  event waits {}",
            c.spin_acquires, c.waits
        )?;
        if self.chimney != crate::chimney::ChimneyCounters::default() {
            write!(f, "{}", self.chimney)?;
        }
        if !self.injected.is_empty() {
            writeln!(f, "  injected failures: {:?}", self.injected)?;
        }
        writeln!(f, "  handler calls:")?;
        for (k, v) in &self.handler_calls {
            writeln!(f, "    {k:<40} {v}")?;
        }
        writeln!(f, "  verifier checks (runs / failures):")?;
        for (k, v) in &self.checks {
            writeln!(f, "    {k:<44} {:>7} / {}", v.runs, v.failures)?;
        }
        writeln!(f, "  violations: {}", self.violations.len())?;
        for v in &self.violations {
            writeln!(f, "    {v}")?;
        }
        writeln!(f, "  DbgPrint ({} lines):", self.dbg.len())?;
        for l in self.dbg.iter().rev().take(40).rev() {
            writeln!(f, "    {}", l.trim_end())?;
        }
        Ok(())
    }
}
