//! Safe wrappers over the NDIS ABI: the only place above `ndis` where `unsafe` is routine. The
//! typed handles in [`handles`] carry every NDIS call the flows make.

pub mod blocks;
pub mod event;
pub mod gated_rundown;
pub mod handles;
pub mod memory;
pub mod nbl;
pub mod oid;
pub mod percpu_rundown;
pub mod rundown;
pub mod spinlock;
pub mod strings;

pub use blocks::BlockTree;
pub use event::Event;
pub use gated_rundown::GatedRundown;
pub use handles::{
    BindingHandle, IoKind, MiniportDriverHandle, MiniportHandle, OffloadIo, OidClone, OidForwarded,
    SetOptionsHandle, StateOp, TcpUpcalls,
};
pub use memory::PoolBox;
pub use nbl::{Nbl, NblChain};
pub use oid::OidRequestExt;
pub use percpu_rundown::{PerCpuDrainable, PerCpuRundown};
pub use rundown::{Drain, Drainable, Rundown};
pub use spinlock::SpinLock;
