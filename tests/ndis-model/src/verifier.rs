//! The verifier: named checks with run/failure counters, collected violations, failure injection.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

/// Every export the model defines (used for call counting and failure injection).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Export {
    NdisMRegisterMiniportDriver,
    NdisMDeregisterMiniportDriver,
    NdisRegisterProtocolDriver,
    NdisDeregisterProtocolDriver,
    NdisIMAssociateMiniport,
    NdisOpenAdapterEx,
    NdisCloseAdapterEx,
    NdisCompleteBindAdapterEx,
    NdisCompleteUnbindAdapterEx,
    NdisOpenConfigurationEx,
    NdisReadConfiguration,
    NdisCloseConfiguration,
    NdisIMInitializeDeviceInstanceEx,
    NdisIMCancelInitializeDeviceInstance,
    NdisIMDeInitializeDeviceInstance,
    NdisMSetMiniportAttributes,
    NdisMPauseComplete,
    NdisIfAddIfStackEntry,
    NdisIfDeleteIfStackEntry,
    NdisMRestartComplete,
    NdisMNetPnPEvent,
    NdisCompleteNetPnPEvent,
    NdisSendNetBufferLists,
    NdisMSendNetBufferListsComplete,
    NdisMIndicateReceiveNetBufferLists,
    NdisReturnNetBufferLists,
    NdisCancelSendNetBufferLists,
    NdisAllocateNetBufferListContext,
    NdisFreeNetBufferListContext,
    NdisOidRequest,
    NdisCancelOidRequest,
    NdisMOidRequestComplete,
    NdisAllocateCloneOidRequest,
    NdisFreeCloneOidRequest,
    NdisMIndicateStatusEx,
    NdisAllocateMemoryWithTagPriority,
    NdisFreeMemory,
    NdisInitializeEvent,
    NdisSetEvent,
    NdisResetEvent,
    NdisWaitEvent,
    KeAcquireSpinLockRaiseToDpc,
    KeReleaseSpinLock,
    KeAcquireSpinLockAtDpcLevel,
    KeReleaseSpinLockFromDpcLevel,
    DbgPrint,
    KeGetCurrentProcessorNumberEx,
    KeQueryActiveProcessorCountEx,
    NdisSetOptionalHandlers,
    NdisMGetOffloadHandlers,
    NdisInitiateOffload,
    NdisTerminateOffload,
    NdisUpdateOffload,
    NdisInvalidateOffload,
    NdisQueryOffloadState,
    NdisMInitiateOffloadComplete,
    NdisMTerminateOffloadComplete,
    NdisMUpdateOffloadComplete,
    NdisMInvalidateOffloadComplete,
    NdisMQueryOffloadStateComplete,
    NdisMOffloadEventIndicate,
    NdisOffloadTcpSend,
    NdisOffloadTcpReceive,
    NdisOffloadTcpDisconnect,
    NdisOffloadTcpForward,
    NdisOffloadTcpReceiveReturn,
    /// The upcall table of NdisMGetOffloadHandlers (not exports, counted the same way).
    NdisTcpOffloadSendComplete,
    NdisTcpOffloadReceiveComplete,
    NdisTcpOffloadDisconnectComplete,
    NdisTcpOffloadForwardComplete,
    NdisTcpOffloadEventHandler,
    NdisTcpOffloadReceiveHandler,
}

impl Export {
    /// ntoskrnl exports (and DbgPrint) may be called with a spin lock held; ndis.sys exports may not.
    pub fn is_ndis(self) -> bool {
        !matches!(
            self,
            Export::KeAcquireSpinLockRaiseToDpc
                | Export::KeReleaseSpinLock
                | Export::KeAcquireSpinLockAtDpcLevel
                | Export::KeReleaseSpinLockFromDpcLevel
                | Export::DbgPrint
                | Export::KeGetCurrentProcessorNumberEx
                | Export::KeQueryActiveProcessorCountEx
        )
    }

    /// The documented minimum IRQL: functions documented at exactly DISPATCH_LEVEL (the
    /// `req.irql` of their reference page). PASSIVE_LEVEL (no minimum) for the others.
    pub fn min_irql(self) -> chimney_im::ndis::Kirql {
        use chimney_im::ndis::{DISPATCH_LEVEL, PASSIVE_LEVEL};
        match self {
            Export::KeReleaseSpinLock
            | Export::KeAcquireSpinLockAtDpcLevel
            | Export::KeReleaseSpinLockFromDpcLevel
            | Export::NdisMOffloadEventIndicate => DISPATCH_LEVEL,
            _ => PASSIVE_LEVEL,
        }
    }

    /// Allocation exports, the targets of [`FailureMode::EveryKthAllocation`].
    pub fn is_allocation(self) -> bool {
        matches!(
            self,
            Export::NdisAllocateMemoryWithTagPriority
                | Export::NdisAllocateNetBufferListContext
                | Export::NdisAllocateCloneOidRequest
        )
    }
}

impl fmt::Display for Export {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// One failed check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The check's name, e.g. `send.source_handle_is_binding`.
    pub check: &'static str,
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}", self.check, self.message)
    }
}

/// How often a check ran and how often it failed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CheckStat {
    pub runs: u64,
    pub failures: u64,
}

/// Collected checks and violations.
#[derive(Debug, Default)]
pub struct Verifier {
    pub checks: BTreeMap<&'static str, CheckStat>,
    pub violations: Vec<Violation>,
    /// Violations already handed to the test (Drop panics only for the rest).
    pub reported: usize,
}

impl Verifier {
    /// Runs a check: counts it, and records a violation when `ok` is false. Returns `ok`.
    pub fn check(&mut self, name: &'static str, ok: bool, msg: impl FnOnce() -> String) -> bool {
        let stat = self.checks.entry(name).or_default();
        stat.runs += 1;
        if !ok {
            stat.failures += 1;
            let message = msg();
            if std::env::var_os("CHIMNEY_MODEL_TRACE").is_some() {
                eprintln!("VIOLATION [{name}] {message}");
            }
            if std::env::var_os("CHIMNEY_MODEL_BACKTRACE").is_some() {
                eprintln!("{}", std::backtrace::Backtrace::force_capture());
            }
            self.violations.push(Violation {
                check: name,
                message,
            });
        }
        ok
    }

    pub fn fail(&mut self, name: &'static str, msg: impl FnOnce() -> String) {
        self.check(name, false, msg);
    }
}

/// Failure injection modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureMode {
    /// Fail every k-th call to any allocation export (counted across all of them), k >= 1.
    EveryKthAllocation(u64),
}

/// Failure injection state.
#[derive(Debug, Default)]
pub struct Injector {
    calls: HashMap<Export, u64>,
    targets: HashMap<Export, Vec<u64>>,
    every_kth: Option<u64>,
    alloc_calls: u64,
    pub injected: BTreeMap<Export, u64>,
}

impl Injector {
    /// Fails the `nth` (1-based) call to `export` counted from now.
    pub fn fail_nth(&mut self, export: Export, nth: u64) {
        let base = self.calls.get(&export).copied().unwrap_or(0);
        self.targets
            .entry(export)
            .or_default()
            .push(base + nth.max(1));
    }

    pub fn set_mode(&mut self, mode: Option<FailureMode>) {
        self.every_kth = mode.map(|FailureMode::EveryKthAllocation(k)| k.max(1));
        self.alloc_calls = 0;
    }

    pub fn clear(&mut self) {
        self.targets.clear();
        self.every_kth = None;
    }

    /// Counts a call to `export` and says whether it must fail.
    pub fn should_fail(&mut self, export: Export) -> bool {
        let n = self.calls.entry(export).or_default();
        *n += 1;
        let n = *n;
        let mut fail = false;
        if let Some(t) = self.targets.get_mut(&export)
            && let Some(pos) = t.iter().position(|x| *x == n)
        {
            t.remove(pos);
            fail = true;
        }
        if export.is_allocation()
            && let Some(k) = self.every_kth
        {
            self.alloc_calls += 1;
            if self.alloc_calls.is_multiple_of(k) {
                fail = true;
            }
        }
        if fail {
            *self.injected.entry(export).or_default() += 1;
        }
        fail
    }

    pub fn calls(&self) -> &HashMap<Export, u64> {
        &self.calls
    }
}
