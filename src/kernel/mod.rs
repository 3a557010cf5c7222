//! Safe wrappers over the NDIS ABI: the only place above `ndis` where `unsafe` is routine.

pub mod event;
pub mod memory;
pub mod nbl;
pub mod percpu_rundown;
pub mod rundown;
pub mod spinlock;
pub mod strings;

pub use event::Event;
pub use memory::{POOL_TAG, PoolArray, PoolBox};
pub use nbl::{ChainBuilder, Nbl, NblChain};
pub use percpu_rundown::{PerCpuDrainable, PerCpuRundown};
pub use rundown::{Drain, Drainable, Rundown, RundownGuard};
pub use spinlock::SpinLock;
