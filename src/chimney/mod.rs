//! TCP chimney propagation flows, both edges' halves: the state calls (initiate, terminate,
//! update, invalidate, query, generic events) in [`state`] and the I/O pass-through (send,
//! receive, disconnect, forward, receive indications and TCP events) in [`io`]. The handlers NDIS
//! calls are in `crate::edge::chimney`.

pub(crate) mod entry;
pub(crate) mod io;
pub(crate) mod state;
