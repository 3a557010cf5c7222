//! The two edges NDIS calls into: the miniport edge (our virtual adapter, facing the host stack)
//! and the protocol edge (our binding to the lower adapter). Each exposes its handler table.

pub mod chimney;
pub mod miniport;
pub mod protocol;

/// Both edges declare NDIS 6.0. The chimney interface dates from NDIS 6.0, and the one NDIS 6.20
/// addition it uses (the TcpReceiveBytesTransferred NBL info slot) is passed through untouched,
/// so no later revision of any structure is needed.
pub const NDIS_MAJOR_VERSION: u8 = 6;
pub const NDIS_MINOR_VERSION: u8 = 0;
