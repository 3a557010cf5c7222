//! User-mode model of ndis.sys (being written).
