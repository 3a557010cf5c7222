//! Slots `0..n` in order, some removed: the `i`-th live slot and a removal in O(log n) (a
//! Fenwick tree of live counts). Used where the model picks a random element of a list that
//! shrinks in place (`Vec::remove` order) and the list can be long (tens of thousands of
//! connections completing at once): the same pick, without the quadratic shifting.

#[derive(Debug)]
pub struct LiveSlots {
    /// Fenwick tree, 1-based: `tree[k]` = live slots in `(k - lowbit(k), k]`.
    tree: Vec<usize>,
    live: usize,
}

impl LiveSlots {
    /// `n` slots, all live.
    pub fn new(n: usize) -> Self {
        let mut tree = vec![0; n + 1];
        for k in 1..=n {
            tree[k] += 1;
            let parent = k + (k & k.wrapping_neg());
            if parent <= n {
                tree[parent] += tree[k];
            }
        }
        Self { tree, live: n }
    }

    pub fn len(&self) -> usize {
        self.live
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// The slot of the `i`-th live one (0-based, in slot order); `None` if `i >= len()`.
    pub fn nth(&self, i: usize) -> Option<usize> {
        if i >= self.live {
            return None;
        }
        let n = self.tree.len() - 1;
        let (mut pos, mut rest) = (0, i + 1);
        let mut step = if n == 0 { 0 } else { 1 << n.ilog2() };
        while step > 0 {
            let next = pos + step;
            if next <= n && self.tree[next] < rest {
                pos = next;
                rest -= self.tree[next];
            }
            step >>= 1;
        }
        Some(pos)
    }

    /// Removes live slot `s`.
    pub fn remove(&mut self, s: usize) {
        let n = self.tree.len() - 1;
        let mut k = s + 1;
        while k <= n {
            self.tree[k] -= 1;
            k += k & k.wrapping_neg();
        }
        self.live -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::LiveSlots;
    use crate::rng::Rng;

    /// Against `Vec::remove` on random picks: the same slot every time.
    #[test]
    fn picks_like_vec_remove() {
        let seed = 0x5EED_0011;
        println!("seed {seed:#x}");
        let mut rng = Rng::new(seed);
        for n in [0, 1, 2, 3, 7, 8, 9, 100, 1000] {
            let mut v: Vec<usize> = (0..n).collect();
            let mut s = LiveSlots::new(n);
            while !v.is_empty() {
                assert_eq!(s.len(), v.len());
                let i = rng.below(v.len());
                assert_eq!(s.nth(i), Some(v[i]), "n {n}, pick {i}");
                s.remove(v.remove(i));
            }
            assert!(s.is_empty());
            assert_eq!(s.nth(0), None);
        }
    }
}
