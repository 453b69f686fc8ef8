//! A small, fully specified random number generator and the distributions the
//! generator draws from.
//!
//! We own this code instead of depending on `rand`: the generator promises byte-identical
//! worlds for a seed, and a dependency upgrade that changed a sampling algorithm would
//! break that promise silently. The generator is xoshiro256++ (Blackman & Vigna),
//! seeded through `SplitMix64`; every independent stream (one per user, per post, ...) is
//! derived from `(seed, stream, index)`, so results do not depend on thread count or on
//! the order work is scheduled in.

/// xoshiro256++.
#[derive(Debug, Clone)]
pub struct Rng {
    s: [u64; 4],
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    /// A generator for substream `index` of stream `stream` under `seed`.
    #[must_use]
    pub fn new(seed: u64, stream: u64, index: u64) -> Rng {
        let mut st = seed ^ SEED_SALT;
        st = splitmix(&mut st) ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03);
        st = splitmix(&mut st) ^ index.wrapping_mul(0x8CB9_2BA7_2F3D_8DD7);
        let s = [splitmix(&mut st), splitmix(&mut st), splitmix(&mut st), splitmix(&mut st)];
        Rng { s }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let result = (self.s[0].wrapping_add(self.s[3])).rotate_left(23).wrapping_add(self.s[0]);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in `[0, 1)` with 53 random bits.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / 9_007_199_254_740_992.0)
    }

    /// Uniform in `(0, 1]`: safe to take the logarithm of.
    pub fn uniform_pos(&mut self) -> f64 {
        1.0 - self.uniform()
    }

    /// Uniform in `[lo, hi)`.
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.uniform()
    }

    /// Uniform integer in `[0, n)` (Lemire's multiply-shift; `n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        debug_assert!(n > 0);
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform index into a slice of length `n` > 0.
    pub fn index(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }

    /// A uniformly chosen element.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.index(items.len())]
    }

    /// `true` with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.uniform() < p
    }

    /// Standard normal (Marsaglia's polar method; the second variate is discarded so
    /// every call consumes a self-contained amount of state).
    pub fn normal(&mut self) -> f64 {
        loop {
            let u = 2.0 * self.uniform() - 1.0;
            let v = 2.0 * self.uniform() - 1.0;
            let s = u * u + v * v;
            if s > 0.0 && s < 1.0 {
                return u * (-2.0 * s.ln() / s).sqrt();
            }
        }
    }

    /// Log-normal: `exp(mu + sigma * N(0, 1))`.
    pub fn lognormal(&mut self, mu: f64, sigma: f64) -> f64 {
        (mu + sigma * self.normal()).exp()
    }

    /// Exponential with the given `rate` (mean `1 / rate`).
    pub fn exponential(&mut self, rate: f64) -> f64 {
        -self.uniform_pos().ln() / rate
    }

    /// Gamma with `shape` k > 0 and `scale` θ (mean kθ): Marsaglia & Tsang (2000), with
    /// the `U^(1/k)` boost for k < 1.
    pub fn gamma(&mut self, shape: f64, scale: f64) -> f64 {
        if shape < 1.0 {
            let boost = self.uniform_pos().powf(1.0 / shape);
            return self.gamma(shape + 1.0, scale) * boost;
        }
        let d = shape - 1.0 / 3.0;
        let c = 1.0 / (9.0 * d).sqrt();
        loop {
            let (x, v) = loop {
                let x = self.normal();
                let v = 1.0 + c * x;
                if v > 0.0 {
                    break (x, v * v * v);
                }
            };
            let u = self.uniform_pos();
            if u < 1.0 - 0.0331 * x * x * x * x || u.ln() < 0.5 * x * x + d * (1.0 - v + v.ln()) {
                return d * v * scale;
            }
        }
    }

    /// Beta(a, b) as a ratio of gammas.
    pub fn beta(&mut self, a: f64, b: f64) -> f64 {
        let x = self.gamma(a, 1.0);
        let y = self.gamma(b, 1.0);
        if x + y > 0.0 { x / (x + y) } else { 0.5 }
    }

    /// Poisson with mean `lambda`: inversion by sequential search below 30, the normal
    /// approximation with continuity correction above (the generator only needs counts,
    /// not exact tails, at large means).
    pub fn poisson(&mut self, lambda: f64) -> u64 {
        if lambda <= 0.0 {
            return 0;
        }
        if lambda < 30.0 {
            let mut k = 0u64;
            let mut p = (-lambda).exp();
            let mut cdf = p;
            let u = self.uniform();
            while u > cdf && k < 1_000 {
                k += 1;
                p *= lambda / k as f64;
                cdf += p;
            }
            k
        } else {
            (lambda + lambda.sqrt() * self.normal() + 0.5).floor().max(0.0) as u64
        }
    }

    /// Binomial(n, p) via the Poisson or normal approximation for large n, exact below.
    pub fn binomial(&mut self, n: u64, p: f64) -> u64 {
        if n == 0 || p <= 0.0 {
            return 0;
        }
        if p >= 1.0 {
            return n;
        }
        if n < 64 {
            return (0..n).filter(|_| self.chance(p)).count() as u64;
        }
        let mean = n as f64 * p;
        let var = mean * (1.0 - p);
        let draw =
            if var < 9.0 { self.poisson(mean) as f64 } else { (mean + var.sqrt() * self.normal() + 0.5).floor() };
        draw.clamp(0.0, n as f64) as u64
    }

    /// An index drawn with probability proportional to `weights` (not all zero).
    pub fn weighted(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        let mut u = self.uniform() * total;
        for (i, w) in weights.iter().enumerate() {
            if u < *w {
                return i;
            }
            u -= w;
        }
        weights.len() - 1
    }
}

/// Mixed into every seed so that seed 0 is not a weak state.
const SEED_SALT: u64 = 0x5EED_0F12_01CA_5700;

/// Cumulative weights for repeated weighted draws by binary search.
#[derive(Debug, Clone)]
pub struct Alias {
    cumulative: Vec<f64>,
}

impl Alias {
    /// Builds the table (weights ≥ 0, not all zero).
    #[must_use]
    pub fn new(weights: &[f64]) -> Alias {
        let mut acc = 0.0;
        let cumulative = weights
            .iter()
            .map(|w| {
                acc += w;
                acc
            })
            .collect();
        Alias { cumulative }
    }

    /// An index drawn proportionally to its weight.
    pub fn draw(&self, rng: &mut Rng) -> usize {
        let total = *self.cumulative.last().expect("non-empty weights");
        let u = rng.uniform() * total;
        self.cumulative.partition_point(|&c| c <= u).min(self.cumulative.len() - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moments(xs: &[f64]) -> (f64, f64) {
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
        (mean, var)
    }

    #[test]
    fn rng_streams_are_reproducible_and_distinct() {
        let a: Vec<u64> = (0..4).map(|_| Rng::new(7, 1, 2).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        assert_ne!(Rng::new(7, 1, 2).next_u64(), Rng::new(7, 1, 3).next_u64());
        assert_ne!(Rng::new(7, 1, 2).next_u64(), Rng::new(7, 2, 2).next_u64());
        assert_ne!(Rng::new(7, 1, 2).next_u64(), Rng::new(8, 1, 2).next_u64());
    }

    type Draw = Box<dyn FnMut(&mut Rng) -> f64>;

    #[test]
    fn rng_distributions_have_their_moments() {
        let mut r = Rng::new(1, 0, 0);
        let n = 200_000_u32;
        // (draw, mean, variance)
        let cases: Vec<(Draw, f64, f64)> = vec![
            (Box::new(|r: &mut Rng| r.uniform()), 0.5, 1.0 / 12.0),
            (Box::new(|r: &mut Rng| r.normal()), 0.0, 1.0),
            (Box::new(|r: &mut Rng| r.exponential(2.0)), 0.5, 0.25),
            (Box::new(|r: &mut Rng| r.gamma(3.0, 2.0)), 6.0, 12.0),
            (Box::new(|r: &mut Rng| r.gamma(0.4, 1.5)), 0.6, 0.9),
            (Box::new(|r: &mut Rng| r.beta(2.0, 5.0)), 2.0 / 7.0, 10.0 / (49.0 * 8.0)),
            (Box::new(|r: &mut Rng| r.poisson(4.5) as f64), 4.5, 4.5),
            (Box::new(|r: &mut Rng| r.poisson(80.0) as f64), 80.0, 80.0),
            (Box::new(|r: &mut Rng| r.binomial(1000, 0.3) as f64), 300.0, 210.0),
        ];
        for (k, (mut draw, mean, var)) in cases.into_iter().enumerate() {
            let xs: Vec<f64> = (0..n).map(|_| draw(&mut r)).collect();
            let (m, v) = moments(&xs);
            let se = (var / f64::from(n)).sqrt();
            assert!((m - mean).abs() < 5.0 * se + 1e-3, "case {k}: mean {m} vs {mean}");
            assert!((v - var).abs() / var < 0.05, "case {k}: variance {v} vs {var}");
        }
    }

    #[test]
    fn alias_draws_proportionally() {
        let a = Alias::new(&[1.0, 0.0, 3.0]);
        let mut r = Rng::new(3, 0, 0);
        let mut counts = [0u32; 3];
        for _ in 0..40_000 {
            counts[a.draw(&mut r)] += 1;
        }
        assert_eq!(counts[1], 0);
        let share = f64::from(counts[2]) / 40_000.0;
        assert!((share - 0.75).abs() < 0.01, "{share}");
    }
}
