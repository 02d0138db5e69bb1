//! A small deterministic generator for hostile-input tests (xorshift64), so
//! a failure reproduces from its seed without a fuzzing framework.

/// Deterministic pseudo-random bytes and text.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a non-zero seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    /// Up to `max` random bytes.
    pub fn bytes(&mut self, max: usize) -> Vec<u8> {
        let n = self.below(max + 1);
        (0..n).map(|_| self.next_u64() as u8).collect()
    }

    /// `seed` with one random change: a byte replaced, the tail cut, or bytes appended.
    pub fn mutate(&mut self, seed: &[u8]) -> Vec<u8> {
        let mut out = seed.to_vec();
        match self.below(3) {
            0 if !out.is_empty() => {
                let at = self.below(out.len());
                out[at] = self.next_u64() as u8;
            }
            1 => {
                let at = self.below(out.len() + 1);
                out.truncate(at);
            }
            _ => {
                let extra = self.bytes(16);
                out.extend(extra);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        assert_eq!(a.bytes(50), b.bytes(50));
        assert_eq!(Rng::new(0).next_u64(), Rng::new(1).next_u64());
    }
}
