//! Test-facing configuration: the model, each lower adapter, and its behaviour policies.

use std::time::Duration;

use chimney_im::ndis::{NDIS_STATUS_SUCCESS, NdisStatus};

/// At which IRQL the model calls handlers documented as `<= DISPATCH_LEVEL`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IrqlMode {
    Random,
    Passive,
    Dispatch,
}

/// When a lower miniport (or the host) completes/returns work handed to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Completion {
    /// Inside the call that handed it over.
    Inline,
    /// Later, from the model's DPC worker thread.
    Deferred,
    /// Kept until the test releases it (or a driver thread waits: time passes).
    Held,
}

/// When a virtual miniport start recorded by NdisIMInitializeDeviceInstanceEx happens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceStart {
    /// Right after ProtocolBindAdapterEx (or the PnP event that asked for it) returns.
    AfterBind,
    /// Only when the test calls `Model::start_device`.
    Manual,
    /// As a PASSIVE work item on the worker thread.
    OnOtherThread,
}

/// How NdisOpenAdapterEx behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenPolicy {
    Sync,
    /// Returns PENDING, then calls ProtocolOpenAdapterCompleteEx from the worker thread.
    Pending,
    /// Fails with this status.
    Fail(NdisStatus),
    /// Returns PENDING, then ProtocolOpenAdapterCompleteEx from the worker thread reports this
    /// failure status (the binding handle NDIS wrote is dead from then on).
    PendingFail(NdisStatus),
}

/// Per-adapter behaviour.
#[derive(Clone, Copy, Debug)]
pub struct AdapterPolicy {
    pub send_completion: Completion,
    /// Status the lower miniport writes into every send it completes.
    pub send_status: NdisStatus,
    pub oid_completion: Completion,
    /// Model fault: the lower miniport finishes this OID with this status whatever it is (e.g.
    /// a release OID failed, breaking the must-succeed rule below the driver).
    pub lower_oid_status: Option<(chimney_im::ndis::NdisOid, NdisStatus)>,
    pub open: OpenPolicy,
    /// NdisCloseAdapterEx returns PENDING and ProtocolCloseAdapterCompleteEx follows.
    pub close_pending: bool,
    /// How the host returns receives it keeps.
    pub host_return: Completion,
    pub device_start: DeviceStart,
    /// NdisIMDeInitializeDeviceInstance pauses and halts on the worker thread instead of inline.
    pub deinit_async: bool,
    /// NdisIMCancelInitializeDeviceInstance finds a pending start already under way: it returns
    /// NDIS_STATUS_FAILURE and the start (MiniportInitializeEx, restart) runs on the worker thread,
    /// so the driver must wait for it and then de-initialize.
    pub cancel_races_start: bool,
    /// A start on the worker thread (e.g. the one `cancel_races_start` runs) stops inside
    /// MiniportInitializeEx, after its registration attributes, until the thread waiting for it
    /// has run on and waits again: PnP's initialize overlapping an unbind.
    pub start_yields: bool,
    pub data_len: usize,
    /// The lower miniport answers OID_PNP_CAPABILITIES successfully with only this many bytes
    /// (a short answer; None: the whole NDIS_PNP_CAPABILITIES, or BUFFER_TOO_SHORT).
    pub pnp_answer_len: Option<usize>,
    /// TCP chimney: the offload target below and the host stack above.
    pub chimney: ChimneyPolicy,
}

impl Default for AdapterPolicy {
    fn default() -> Self {
        Self {
            send_completion: Completion::Deferred,
            send_status: NDIS_STATUS_SUCCESS,
            oid_completion: Completion::Inline,
            lower_oid_status: None,
            open: OpenPolicy::Sync,
            close_pending: false,
            host_return: Completion::Deferred,
            device_start: DeviceStart::AfterBind,
            deinit_async: false,
            cancel_races_start: false,
            start_yields: false,
            data_len: 60,
            pnp_answer_len: None,
            chimney: ChimneyPolicy::default(),
        }
    }
}

/// How the host stack takes a receive indication (ProtocolTcpOffloadReceiveIndicate's answer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accept {
    /// NDIS_STATUS_SUCCESS: everything consumed, the NBL is kept and returned later.
    All,
    /// NDIS_STATUS_OFFLOAD_DATA_NOT_ACCEPTED.
    None,
    /// NDIS_STATUS_OFFLOAD_DATA_PARTIALLY_ACCEPTED with some bytes consumed.
    Partial,
    /// One of the three at random.
    Random,
}

/// Chimney behaviour of one adapter: its offload target (the lower miniport) and the host stack
/// above its virtual miniport.
#[derive(Clone, Copy, Debug)]
pub struct ChimneyPolicy {
    /// The lower miniport registered chimney provider handlers (else NdisInitiateOffload fails
    /// synchronously with NDIS_STATUS_NOT_SUPPORTED).
    pub target: bool,
    /// When the target completes posted I/O (Inline: inside the post when not re-entered).
    pub io_completion: Completion,
    /// When the target completes initiate/terminate/update/invalidate/query.
    pub state_completion: Completion,
    /// Status the target gives TCP blocks of an initiate (SUCCESS, or e.g. OFFLOAD_TCP_ENTRIES).
    pub initiate_status: chimney_im::ndis::NdisStatus,
    /// One receive completion in `n` fails (REQUEST_ABORTED or INVALID_STATE); 0 = never.
    pub fail_receive_one_in: u32,
    /// The target returns outstanding send data in the terminate block's NetBufferListChain
    /// (else it completes it with UPLOAD_IN_PROGRESS first).
    pub return_sends_on_terminate: bool,
    /// Receives the target fills completely (else a random part: push mode).
    pub fill_completely: bool,
    /// How the host answers receive indications.
    pub host_accept: Accept,
    /// When the host returns indicated NBLs it kept (Inline is treated as Deferred).
    pub host_return: Completion,
    /// Receives the host may re-post from its receive-completion handler, per connection.
    pub host_reposts: u32,
    /// The host uploads every connection before the virtual miniport is paused (tcpip does when
    /// its binding is paused). It always uploads before a halt.
    pub upload_before_pause: bool,
}

impl Default for ChimneyPolicy {
    fn default() -> Self {
        Self {
            target: true,
            io_completion: Completion::Deferred,
            state_completion: Completion::Deferred,
            initiate_status: NDIS_STATUS_SUCCESS,
            fail_receive_one_in: 0,
            return_sends_on_terminate: false,
            fill_completely: true,
            host_accept: Accept::All,
            host_return: Completion::Deferred,
            host_reposts: 0,
            upload_before_pause: true,
        }
    }
}

/// What NdisSetOptionalHandlers does with chimney characteristics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChimneyNdis {
    /// Older ndis.sys: validates and stores the four tables.
    Stores,
    /// Newer ndis.sys: validates, returns success and discards them (NDIS never calls them).
    Discards,
}

/// Wake-up capabilities of the lower adapter (NDIS_DEVICE_POWER_STATE values, D0 = 1 .. D3 = 4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PmCaps {
    pub flags: u32,
    pub min_magic_packet_wake_up: u32,
    pub min_pattern_wake_up: u32,
    pub min_link_change_wake_up: u32,
}

impl Default for PmCaps {
    fn default() -> Self {
        Self {
            flags: 0,
            min_magic_packet_wake_up: 4,
            min_pattern_wake_up: 4,
            min_link_change_wake_up: 3,
        }
    }
}

/// A physical NIC below the driver.
#[derive(Clone, Debug)]
pub struct LowerAdapterConfig {
    /// `\DEVICE\{GUID}` of the NIC (NDIS_BIND_PARAMETERS.AdapterName).
    pub name: String,
    pub mac: [u8; 6],
    pub mtu: u32,
    /// Bits per second.
    pub link_speed: u64,
    pub pm: PmCaps,
    /// The `UpperBindings` REG_MULTI_SZ under the protocol's per-adapter key.
    pub upper_bindings: Vec<String>,
    pub policy: AdapterPolicy,
}

impl LowerAdapterConfig {
    /// A typical Ethernet NIC number `n` with one virtual miniport above it.
    pub fn ethernet(n: u8) -> Self {
        Self {
            name: format!("\\DEVICE\\{{1111111{n}-2222-3333-4444-555555555555}}"),
            mac: [0x00, 0x15, 0x5D, 0x00, 0x01, n],
            mtu: 1500,
            link_speed: 1_000_000_000,
            pm: PmCaps::default(),
            upper_bindings: vec![format!(
                "\\Device\\{{AAAAAAA{n}-BBBB-CCCC-DDDD-EEEEEEEEEEEE}}"
            )],
            policy: AdapterPolicy::default(),
        }
    }

    pub fn with_policy(mut self, policy: AdapterPolicy) -> Self {
        self.policy = policy;
        self
    }
}

/// Deliberate faults the model applies at the driver's boundary, so that a test can break a rule
/// through the model and assert that its check reports it (the real driver keeps the rules).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The driver's final status of a host OID with this number is taken as this status.
    OidStatus(chimney_im::ndis::NdisOid, NdisStatus),
    /// The byte count of every host OID the driver finishes is taken as one past its buffer.
    OidBytesOverrun,
    /// The tag of every tagged allocation the driver makes is taken as 0.
    ZeroTag,
    /// The IRQL of the driver's calls to this export is taken as PASSIVE_LEVEL.
    PassiveCall(crate::verifier::Export),
    /// NdisCloseConfiguration calls are ignored (as if the driver had not made them).
    SkipCloseConfiguration,
    /// StatusBufferSize of forwarded status indications is taken as one byte short.
    ShortStatusBuffer,
    /// Every call to this export takes this long (a slow NDIS below the driver's handler).
    SlowExport(crate::verifier::Export, Duration),
    /// NdisAllocateCloneOidRequest returns this status without a clone: for a failure status it
    /// leaves a non-NULL junk pointer in its out parameter (undefined on failure), for SUCCESS a
    /// NULL one (an NDIS that breaks its own contract).
    CloneOidRequest(NdisStatus),
}

/// Model-wide configuration.
#[derive(Clone, Debug)]
pub struct ModelConfig {
    pub seed: u64,
    /// NetBufferListInfo slots in NBLs the model allocates (>= 11, the NDIS 6.0 NBL of 0xF0 bytes;
    /// current Windows has 29).
    pub nbl_info_slots: usize,
    pub irql: IrqlMode,
    /// How long a wait may see no progress before the model records "wait never satisfied".
    pub deadlock_timeout: Duration,
    /// Adapters present at load; bound after DriverEntry returns (or during protocol
    /// registration with `bind_during_register`).
    pub adapters: Vec<LowerAdapterConfig>,
    pub bind_during_register: bool,
    /// NDIS_BIND_PARAMETERS revision the model passes (1 or 2).
    pub bind_params_revision: u8,
    /// Expected protocol name (NdisRegisterProtocolDriver Name); None accepts any non-empty one.
    pub protocol_name: Option<String>,
    /// Print the trace (DbgPrint lines, violations) to stderr as it happens.
    pub trace: bool,
    /// Failures injected before DriverEntry runs: (export, nth call).
    pub inject: Vec<(crate::verifier::Export, u64)>,
    /// NdisSetOptionalHandlers behaviour for chimney registration.
    pub chimney_ndis: ChimneyNdis,
    /// Deliberate faults (see [`Fault`]); empty outside the tests that show a check firing.
    pub faults: Vec<Fault>,
    /// Watchdog: the longest a driver handler may run before returning (bug check 0x7C 0x25).
    pub watchdog: Duration,
    /// Stuck NBLs: the longest, in model ticks (one tick per driver handler call), an NBL may
    /// stay in the driver or below it on its behalf while its adapter runs. 200 is twice the
    /// smallest bound at which both randomized suites pass 1000 seeds each (at 50, a send the
    /// random lower miniport holds exceeds it).
    pub stuck_nbl_ticks: u64,
    /// Active processors (one group): what KeQueryActiveProcessorCountEx reports and the range
    /// of KeGetCurrentProcessorNumberEx (see `exports::processor`).
    pub processors: u32,
    /// NdisMGetOffloadHandlers hands out a TCP table whose routine number `n` (0..6, in the
    /// structure's order: event, receive indicate, send / receive / disconnect / forward
    /// complete) is NULL, as an NDIS lacking it would. None: the full table.
    pub offload_handler_missing: Option<usize>,
    /// MiniportInitializeEx gets IfIndex 0 (NET_IFINDEX_UNSPECIFIED: no interface to stack).
    pub unspecified_if_index: bool,
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            nbl_info_slots: 29,
            irql: IrqlMode::Random,
            deadlock_timeout: Duration::from_secs(5),
            adapters: Vec::new(),
            bind_during_register: false,
            bind_params_revision: 2,
            protocol_name: None,
            trace: std::env::var_os("CHIMNEY_MODEL_TRACE").is_some(),
            inject: Vec::new(),
            chimney_ndis: ChimneyNdis::Stores,
            faults: Vec::new(),
            watchdog: Duration::from_secs(20),
            stuck_nbl_ticks: 200,
            processors: 2,
            offload_handler_missing: None,
            unspecified_if_index: false,
        }
    }
}

impl ModelConfig {
    pub fn with_adapter(mut self, a: LowerAdapterConfig) -> Self {
        self.adapters.push(a);
        self
    }

    pub fn with_fault(mut self, f: Fault) -> Self {
        self.faults.push(f);
        self
    }

    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
}
