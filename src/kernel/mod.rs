//! Safe wrappers over the NDIS ABI: the only place above `ndis` where `unsafe` is routine.

pub mod event;
pub mod memory;
pub mod nbl;
pub mod rundown;
pub mod spinlock;
pub mod strings;

pub use event::Event;
pub use memory::{POOL_TAG, PoolBox};
pub use nbl::{ChainBuilder, Nbl, NblChain};
pub use rundown::{Drain, Drainable, Rundown, RundownGuard};
pub use spinlock::SpinLock;
