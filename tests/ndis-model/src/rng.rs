//! A small seeded PRNG (SplitMix64): deterministic for a given seed, no dependencies.

/// SplitMix64 generator.
#[derive(Clone, Debug)]
pub struct Rng {
    state: u64,
}

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self {
            state: seed ^ 0x9E37_79B9_7F4A_7C15,
        }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`; returns 0 for `n == 0`).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        #[allow(
            clippy::cast_possible_truncation,
            reason = "result < n, which is a usize"
        )]
        let r = (self.next_u64() % n as u64) as usize;
        r
    }

    /// True with probability `num / den`.
    pub fn chance(&mut self, num: u32, den: u32) -> bool {
        den != 0 && (self.next_u64() % u64::from(den)) < u64::from(num)
    }

    pub fn coin(&mut self) -> bool {
        self.next_u64() & 1 == 1
    }

    /// Fisher-Yates shuffle.
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i + 1);
            v.swap(i, j);
        }
    }

    /// Splits `v` into random non-empty runs, preserving order inside each run.
    pub fn split_runs<T: Clone>(&mut self, v: &[T]) -> Vec<Vec<T>> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < v.len() {
            let n = 1 + self.below(v.len() - i);
            out.push(v[i..i + n].to_vec());
            i += n;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::Rng;

    #[test]
    fn deterministic_and_covers_range() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        let mut seen = [false; 5];
        for _ in 0..200 {
            seen[a.below(5)] = true;
        }
        assert!(seen.iter().all(|s| *s));
        let runs = a.split_runs(&[1, 2, 3, 4, 5, 6]);
        assert_eq!(runs.concat(), vec![1, 2, 3, 4, 5, 6]);
    }
}
