//! Test API for verifier self-tests: the driver's chimney handler tables (the ones it registered
//! with NdisSetOptionalHandlers, as NDIS stored them) replaced or wrapped after load, so that a
//! deliberately faulty handler can be driven through the same host and offload target as the
//! real driver. The generic tables (`Model::replace_handlers`) do not include these.

use crate::model::{AdapterId, Model};
use crate::world;

use super::{ImClient, ImProvider};

impl Model {
    /// Calls `f` with the driver's stored chimney provider (miniport-edge) and client
    /// (protocol-edge) tables; what `f` leaves in them is what NDIS calls from now on. Does
    /// nothing when the driver registered neither table.
    pub fn replace_chimney_handlers(&mut self, f: impl FnOnce(&mut ImProvider, &mut ImClient)) {
        world::with(|w| {
            if w.chimney.provider.is_none() && w.chimney.client.is_none() {
                return;
            }
            let mut p = w.chimney.provider.unwrap_or_default();
            let mut c = w.chimney.client.unwrap_or_default();
            f(&mut p, &mut c);
            w.chimney.provider = Some(p);
            w.chimney.client = Some(c);
        });
    }

    /// The host stack's binding handle to virtual miniport `a` (the open its chimney calls and
    /// NBLs carry as SourceHandle); 0 while the virtual miniport has none.
    pub fn host_binding_handle(&self, a: AdapterId) -> usize {
        world::with(|w| w.adapters.get(a.0).map_or(0, |ad| ad.dev.host_handle))
    }
}
