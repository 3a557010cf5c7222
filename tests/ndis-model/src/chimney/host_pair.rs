//! Two connections offloaded in one initiate: a new neighbor and path with two TCP blocks under
//! the path (the second is the first's NextBlock), which NDIS allows and tcpip's own lists do
//! not need. Each TCP block carries its own send data; the driver prepares the blocks in
//! pre-order, so a refusal of the second one must undo what it did to the first.

use crate::nbl;
use crate::world;

use super::blocks;
use super::host::{build, host_up, issue_as, new_conn, new_obj, send_data};
use super::{ConnId, Layer, Op};

/// Initiates two new connections on virtual miniport `a` in one list, handing over
/// `send_data[i]` send NBLs with connection `i`. None when the host cannot offload now.
pub fn offload_pair(a: usize, send_data_n: [usize; 2]) -> Option<[ConnId; 2]> {
    let prep = world::with(|w| {
        if !host_up(w, a, false) || w.chimney.offload_paused.contains(&a) {
            return None;
        }
        let n = new_obj(w, Layer::Neighbor, a, None);
        let p = new_obj(w, Layer::Path, a, Some(n));
        let (c0, t0) = new_conn(w, a, n, p);
        let (c1, t1) = new_conn(w, a, n, p);
        let mut bl = build(w, &[(n, true, true), (p, true, true), (t0, true, true)]);
        bl.extend(build(w, &[(t1, true, true)]));
        blocks::set_next(bl[2].mem.addr, bl[3].mem.addr);
        let chains = [
            send_data(w, a, c0, send_data_n[0]),
            send_data(w, a, c1, send_data_n[1]),
        ];
        for (b, chain) in [2, 3].into_iter().zip(&chains) {
            blocks::set_chain(bl[b].mem.addr, nbl::link(chain));
        }
        let cn = &mut w.chimney.counters;
        cn.offloads_initiated += 2;
        cn.initiate_send_data += (chains[0].len() + chains[1].len()) as u64;
        Some(([c0, c1], bl, chains))
    });
    let (ids, bl, [first, second]) = prep?;
    issue_as(
        Op::Initiate,
        a,
        Some(ids[0]),
        bl,
        first,
        false,
        vec![(ids[1], second)],
    );
    Some(ids)
}
