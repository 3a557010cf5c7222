//! The NBL record table and the index that lets the stuck-NBL rule (`timing`) run per handler
//! call in time proportional to what changed, not to the number of NBLs alive.
//!
//! The rule's reference definition is a scan of every record at every tick: a record that is not
//! counted (at the host, or below under a deliberately slow lower) has `since` refreshed to the
//! tick; a counted one is stuck once `now - since` exceeds the bound. A record's counted state
//! changes only through `get_mut` (its `loc`) or through its adapter's send-completion policy, so
//! the table remembers which records `get_mut`/`insert` handed out since the last scan
//! (`touched`) and keeps the counted ones ordered by `since` (`counted`). A scan re-evaluates the
//! touched records only and looks at the prefix of `counted` older than the bound: the same
//! `since` values, the same reports, at the same ticks as the full scan (`timing` has the proof
//! sketch; `tests/model_ndis_timing.rs` and the randomised tests exercise it).

use std::collections::{BTreeSet, HashMap};

use crate::nbl::NblRec;

#[derive(Debug, Default)]
pub struct NblRecs {
    map: HashMap<usize, NblRec>,
    /// Records handed out mutably (or inserted) since the last stuck scan.
    touched: Vec<usize>,
    /// Every record may have changed (a mutable iteration): the next scan looks at all of them.
    all_touched: bool,
    /// Counted records not yet reported stuck, as `(since, address)`.
    pub(crate) counted: BTreeSet<(u64, usize)>,
    /// Per adapter: sends below count as the driver's time (policy not `Held`), as of the last
    /// scan. A change re-evaluates every record.
    pub(crate) below_counts: Vec<bool>,
    /// Debug builds: `since` by the reference definition (a full scan per tick), by sequence
    /// number, to cross-check the index (`cross_check`).
    #[cfg(debug_assertions)]
    reference: HashMap<u64, u64>,
}

impl NblRecs {
    pub fn get(&self, p: &usize) -> Option<&NblRec> {
        self.map.get(p)
    }

    /// The record, for a change: the next stuck scan re-evaluates it.
    pub fn get_mut(&mut self, p: &usize) -> Option<&mut NblRec> {
        let r = self.map.get_mut(p);
        if r.is_some() {
            self.touched.push(*p);
        }
        r
    }

    pub fn contains_key(&self, p: &usize) -> bool {
        self.map.contains_key(p)
    }

    pub fn insert(&mut self, p: usize, r: NblRec) -> Option<NblRec> {
        self.touched.push(p);
        let old = self.map.insert(p, r);
        if let Some(o) = &old {
            self.counted.remove(&(o.since, p));
        }
        old
    }

    pub fn remove(&mut self, p: &usize) -> Option<NblRec> {
        let r = self.map.remove(p);
        if let Some(r) = &r {
            self.counted.remove(&(r.since, *p));
        }
        r
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn values(&self) -> impl Iterator<Item = &NblRec> {
        self.map.values()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&usize, &NblRec)> {
        self.map.iter()
    }

    /// Every record, for a change: the next stuck scan re-evaluates all of them.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&usize, &mut NblRec)> {
        self.all_touched = true;
        self.map.iter_mut()
    }

    /// The records to re-evaluate (touched since the last call, or all), and forgets them.
    pub(crate) fn take_touched(&mut self) -> Vec<usize> {
        if std::mem::take(&mut self.all_touched) {
            self.touched.clear();
            return self.map.keys().copied().collect();
        }
        std::mem::take(&mut self.touched)
    }

    /// A record by address without marking it touched (the scan itself).
    pub(crate) fn peek_mut(&mut self, p: &usize) -> Option<&mut NblRec> {
        self.map.get_mut(p)
    }

    /// Re-evaluates the records touched since the last scan, at tick `now`: an uncounted one
    /// gets `since = now` and leaves the index; a counted one not yet reported enters it (with
    /// `since = now - 1`, see `timing::check_stuck_nbls`) unless it is there already.
    pub(crate) fn rescan(&mut self, now: u64, counted: impl Fn(&NblRec) -> bool) {
        for p in self.take_touched() {
            let Some(r) = self.map.get_mut(&p) else {
                continue;
            };
            let key = (r.since, p);
            if !counted(r) {
                r.since = now;
                self.counted.remove(&key);
            } else if r.stuck_reported {
                self.counted.remove(&key);
            } else if !self.counted.contains(&key) {
                r.since = now.saturating_sub(1);
                self.counted.insert((r.since, p));
            }
        }
    }

    /// Debug builds, after `rescan` at tick `now`: runs the reference definition (every record,
    /// every tick) beside the index and compares. Err names the first difference.
    #[cfg(debug_assertions)]
    pub(crate) fn cross_check(
        &mut self,
        now: u64,
        counted: impl Fn(&NblRec) -> bool,
    ) -> Result<(), String> {
        let live: std::collections::HashSet<u64> = self.map.values().map(|r| r.seq).collect();
        self.reference.retain(|seq, _| live.contains(seq));
        let mut indexed = 0;
        for (&p, r) in &self.map {
            // First seen: created since the last tick, when the clock read `now - 1`.
            let since = self.reference.entry(r.seq).or_insert(now.saturating_sub(1));
            if !counted(r) {
                *since = now;
            } else if !r.stuck_reported {
                indexed += 1;
                if r.since != *since || !self.counted.contains(&(r.since, p)) {
                    return Err(format!(
                        "stuck-NBL index: NBL {p:#x} has since {} (indexed: {}), the full scan says {since}",
                        r.since,
                        self.counted.contains(&(r.since, p))
                    ));
                }
            }
        }
        if indexed != self.counted.len() {
            return Err(format!(
                "stuck-NBL index holds {} NBLs, the full scan counts {indexed}",
                self.counted.len()
            ));
        }
        Ok(())
    }

    /// Marks every record for re-evaluation at the next scan.
    pub(crate) fn touch_all(&mut self) {
        self.all_touched = true;
    }
}

impl<'a> IntoIterator for &'a mut NblRecs {
    type Item = (&'a usize, &'a mut NblRec);
    type IntoIter = std::collections::hash_map::IterMut<'a, usize, NblRec>;

    fn into_iter(self) -> Self::IntoIter {
        self.all_touched = true;
        self.map.iter_mut()
    }
}

impl<'a> IntoIterator for &'a NblRecs {
    type Item = (&'a usize, &'a NblRec);
    type IntoIter = std::collections::hash_map::Iter<'a, usize, NblRec>;

    fn into_iter(self) -> Self::IntoIter {
        self.map.iter()
    }
}
