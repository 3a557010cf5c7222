//! User-mode model of ndis.sys that loads chimney-im, drives it through its handlers and
//! verifies every call it makes (like Driver Verifier's NDIS checks).
//!
//! The driver reaches NDIS only through the exports in [`exports`] (defined with the exact
//! signatures of `chimney_im::ndis::imports`); the model reaches the driver only through
//! `DriverEntry` and the handler tables it registers. See [`Model`] for the test API.

pub mod chimney;
pub mod config;
pub mod exports;
pub mod hooks;
pub mod model;
pub mod oidflows;
mod oidrules;
pub mod report;
pub mod rng;
pub mod testkit;
pub mod verifier;

mod devflows;
mod drv;
mod flows;
mod handlers;
mod host;
#[cfg(windows)]
pub mod image;
mod irql;
mod live_slots;
mod lower;
mod nbl;
mod nbl_index;
mod rawbox;
mod sched;
mod timing;
mod world;

pub use chimney::api::{ChimneyView, OffloadSpec};
pub use chimney::{ChimneyCounters, ConnId, ConnState, RecvSpec};
pub use config::{
    Accept, AdapterPolicy, ChimneyNdis, ChimneyPolicy, Completion, DeviceStart, Fault, IrqlMode,
    LowerAdapterConfig, ModelConfig, OpenPolicy, PmCaps,
};
pub use exports::processor::{calls_on, current_processor, set_current_processor};
pub use handlers::{MpHandlers, PtHandlers};
pub use model::{AdapterId, BindingState, DeviceState, DriverEntryFn, Model, NdisHandles};
pub use oidflows::{LOWER_VENDOR_DESCRIPTION, OID_MODEL_ECHO_METHOD, OidKind, OidOutcome, OidSpec};
pub use report::{AdapterCounters, Counters, Report};
pub use verifier::{CheckStat, Export, FailureMode, Violation};
pub use world::{DevPhase, OpenState, RunState, StatusRecord};
