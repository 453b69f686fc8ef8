//! Exact sums of `f64`s: the result is the true sum of every value added, rounded once
//! (to nearest, ties to even), so it does not depend on the order of the additions, on
//! how the values were split into chunks, threads or partitions, or on how partial sums
//! were combined.
//!
//! This is what lets a partitioned run give the same bits as a single-process one: each
//! partition adds its credits into its own [`ExactSum`]s, the merge adds the accumulators
//! (exactly), and only the final total is rounded.
//!
//! The accumulator is a fixed-point integer covering every finite `f64` (2⁻¹⁰⁷⁴ … 2¹⁰²⁴)
//! in 66 limbs of 32 bits, each held in an `i64` so that 2³⁰ additions can be made
//! between carry propagations (the idea of Neal's "superaccumulator", 2015). An addition
//! touches three limbs. Infinities and NaN are tracked apart and follow IEEE rules;
//! a sum of zeros is `+0.0`.

use serde::{Deserialize, Serialize};

/// Limbs of 32 bits from bit position 0 (= 2⁻¹⁰⁷⁴): the largest finite value's top bit
/// sits at position 2098 and an addition spans three limbs.
const LIMBS: usize = 66;
/// Additions between carry propagations: each adds less than 2³² to a limb, so 2³⁰ of
/// them stay far inside an `i64`.
const CARRY_EVERY: u32 = 1 << 30;
const LOW: i64 = 0xFFFF_FFFF;

/// An exact running sum of `f64`s (see the module docs).
#[derive(Clone, PartialEq, Eq)]
pub struct ExactSum {
    limbs: [i64; LIMBS],
    pending: u32,
    nan: bool,
    pos_inf: bool,
    neg_inf: bool,
}

impl Default for ExactSum {
    fn default() -> ExactSum {
        ExactSum { limbs: [0; LIMBS], pending: 0, nan: false, pos_inf: false, neg_inf: false }
    }
}

impl std::fmt::Debug for ExactSum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ExactSum({})", self.value())
    }
}

impl ExactSum {
    /// An empty sum (zero).
    #[must_use]
    pub fn new() -> ExactSum {
        ExactSum::default()
    }

    /// Adds `x` exactly.
    #[inline]
    pub fn add(&mut self, x: f64) {
        if x == 0.0 {
            return;
        }
        if !x.is_finite() {
            if x.is_nan() {
                self.nan = true;
            } else if x > 0.0 {
                self.pos_inf = true;
            } else {
                self.neg_inf = true;
            }
            return;
        }
        let bits = x.to_bits();
        let biased = ((bits >> 52) & 0x7FF) as usize;
        let fraction = bits & ((1u64 << 52) - 1);
        // x = m · 2^(p − 1074), p the position of m's lowest bit.
        let (m, p) = if biased == 0 { (fraction, 0) } else { (fraction | (1u64 << 52), biased - 1) };
        let v = u128::from(m) << (p % 32);
        let at = p / 32;
        let parts = [(v & 0xFFFF_FFFF) as i64, ((v >> 32) & 0xFFFF_FFFF) as i64, (v >> 64) as i64];
        if x < 0.0 {
            for (k, part) in parts.into_iter().enumerate() {
                self.limbs[at + k] -= part;
            }
        } else {
            for (k, part) in parts.into_iter().enumerate() {
                self.limbs[at + k] += part;
            }
        }
        self.pending += 1;
        if self.pending >= CARRY_EVERY {
            self.carry();
        }
    }

    /// Adds another sum exactly.
    pub fn merge(&mut self, other: &ExactSum) {
        self.carry();
        let mut o = other.clone();
        o.carry();
        for (a, b) in self.limbs.iter_mut().zip(o.limbs) {
            *a += b;
        }
        self.nan |= o.nan;
        self.pos_inf |= o.pos_inf;
        self.neg_inf |= o.neg_inf;
        self.carry();
    }

    /// Propagates carries: every limb but the top one into `[0, 2³²)`.
    fn carry(&mut self) {
        for i in 0..LIMBS - 1 {
            let c = self.limbs[i] >> 32;
            self.limbs[i] &= LOW;
            self.limbs[i + 1] += c;
        }
        self.pending = 0;
    }

    /// Whether nothing but zeros was added.
    #[must_use]
    pub fn is_zero(&self) -> bool {
        !self.nan && !self.pos_inf && !self.neg_inf && self.limbs.iter().all(|&l| l == 0)
    }

    /// The sum, correctly rounded (to nearest, ties to even).
    #[must_use]
    pub fn value(&self) -> f64 {
        if self.nan || (self.pos_inf && self.neg_inf) {
            return f64::NAN;
        }
        if self.pos_inf {
            return f64::INFINITY;
        }
        if self.neg_inf {
            return f64::NEG_INFINITY;
        }
        let mut s = self.clone();
        s.carry();
        let negative = s.limbs[LIMBS - 1] < 0;
        if negative {
            for l in &mut s.limbs {
                *l = -*l;
            }
            s.carry();
        }
        let Some(h) = s.limbs.iter().rposition(|&l| l != 0) else { return 0.0 };
        let limb = |i: isize| if i < 0 { 0u128 } else { s.limbs[i as usize] as u128 };
        let h = h as isize;
        // The top 96 bits, from limb h − 2 (bit position 32(h − 2)), and whether any bit
        // below them is set.
        let x = (limb(h) << 64) | (limb(h - 1) << 32) | limb(h - 2);
        let sticky = h > 2 && s.limbs[..(h - 2) as usize].iter().any(|&l| l != 0);
        let msb = 127 - x.leading_zeros() as isize; // ≥ 64: limb h is non-zero
        let top = msb + 32 * (h - 2); // the sum's highest bit position (2^(top − 1074))
        let magnitude = if top <= 52 {
            // At most 53 bits from position 0: exactly representable.
            let v = (limb(1) << 32) | limb(0);
            v as f64 * f64::from_bits(1)
        } else {
            let shift = (msb - 52) as u32; // ≥ 12
            let mut k = (x >> shift) as u64;
            let rest = x & ((1u128 << shift) - 1);
            let half = 1u128 << (shift - 1);
            if rest > half || (rest == half && (sticky || k & 1 == 1)) {
                k += 1;
            }
            let mut top = top;
            if k == 1u64 << 53 {
                k >>= 1;
                top += 1;
            }
            let biased = top - 51; // exponent (top − 1074) + 1023
            if biased > 2046 {
                f64::INFINITY
            } else {
                f64::from_bits(((biased as u64) << 52) | (k & ((1u64 << 52) - 1)))
            }
        };
        if negative { -magnitude } else { magnitude }
    }

    /// A compact form for shipping a partial sum between processes: the carried limbs
    /// from the lowest non-zero one, with the special values.
    #[must_use]
    pub fn to_parts(&self) -> ExactParts {
        let mut s = self.clone();
        s.carry();
        let first = s.limbs.iter().position(|&l| l != 0).unwrap_or(LIMBS);
        let last = s.limbs.iter().rposition(|&l| l != 0).map_or(first, |l| l + 1);
        ExactParts {
            first: first as u32,
            limbs: s.limbs[first..last.max(first)].to_vec(),
            specials: u8::from(s.nan) | (u8::from(s.pos_inf) << 1) | (u8::from(s.neg_inf) << 2),
        }
    }

    /// The sum [`ExactSum::to_parts`] described; `None` when the parts do not fit.
    #[must_use]
    pub fn from_parts(p: &ExactParts) -> Option<ExactSum> {
        let first = p.first as usize;
        if first.checked_add(p.limbs.len())? > LIMBS || p.specials > 7 {
            return None;
        }
        let mut s = ExactSum::new();
        s.limbs[first..first + p.limbs.len()].copy_from_slice(&p.limbs);
        if s.limbs[..LIMBS - 1].iter().any(|&l| !(0..=LOW).contains(&l)) {
            return None;
        }
        s.nan = p.specials & 1 != 0;
        s.pos_inf = p.specials & 2 != 0;
        s.neg_inf = p.specials & 4 != 0;
        Some(s)
    }
}

/// [`ExactSum`] in transit: limbs `first..` after carrying.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExactParts {
    /// Index of the first limb given.
    pub first: u32,
    /// The limbs from `first` on.
    pub limbs: Vec<i64>,
    /// Bit 0 NaN, bit 1 +∞, bit 2 −∞ added.
    pub specials: u8,
}

/// The exact sum of `values`, correctly rounded.
#[must_use]
pub fn exact_sum(values: impl IntoIterator<Item = f64>) -> f64 {
    let mut s = ExactSum::new();
    for v in values {
        s.add(v);
    }
    s.value()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(state: &mut u64) -> u64 {
        *state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        *state >> 11
    }

    /// Values of every scale and sign, with exact cancellations among them.
    fn wild(n: usize, seed: u64) -> Vec<f64> {
        let mut s = seed;
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            let m = (lcg(&mut s) as f64) / (1u64 << 53) as f64 + 0.5;
            let e = (lcg(&mut s) % 600) as i32 - 300;
            let sign = if lcg(&mut s).is_multiple_of(2) { 1.0 } else { -1.0 };
            v.push(sign * m * 2f64.powi(e));
        }
        v
    }

    #[test]
    fn order_and_grouping_do_not_change_the_sum() {
        let v = wild(5_000, 7);
        let forward = exact_sum(v.iter().copied());
        let backward = exact_sum(v.iter().rev().copied());
        let mut shuffled = v.clone();
        let mut s = 3u64;
        for i in (1..shuffled.len()).rev() {
            shuffled.swap(i, (lcg(&mut s) % (i as u64 + 1)) as usize);
        }
        assert_eq!(forward.to_bits(), backward.to_bits());
        assert_eq!(forward.to_bits(), exact_sum(shuffled.iter().copied()).to_bits());
        // In chunks, merged in another order.
        let mut parts: Vec<ExactSum> = v
            .chunks(333)
            .map(|c| {
                let mut e = ExactSum::new();
                for &x in c {
                    e.add(x);
                }
                e
            })
            .collect();
        parts.reverse();
        let mut total = ExactSum::new();
        for p in &parts {
            total.merge(&ExactSum::from_parts(&p.to_parts()).expect("round trip"));
        }
        assert_eq!(forward.to_bits(), total.value().to_bits());
    }

    #[test]
    fn agrees_with_integer_arithmetic_where_that_is_exact() {
        // Multiples of 2⁻³⁰ below 2³⁰: an i128 holds their sum exactly.
        let mut s = 11u64;
        let mut acc = ExactSum::new();
        let mut exact: i128 = 0;
        for _ in 0..100_000 {
            let units = i128::from(lcg(&mut s) % (1u64 << 60)) - (1i128 << 59);
            exact += units;
            acc.add(units as f64 / 2f64.powi(30));
        }
        // The i128 sum converted once: (exact as f64) rounds correctly, then the scaling is exact.
        assert_eq!(acc.value().to_bits(), (exact as f64 / 2f64.powi(30)).to_bits());
    }

    #[test]
    fn rounds_once_to_nearest_even() {
        let u = f64::EPSILON; // 2⁻⁵²
        // 1 + 2⁻⁵³ is a tie: to even (1). Plus a tiny bit more: up.
        assert_eq!(exact_sum([1.0, u / 2.0]), 1.0);
        assert_eq!(exact_sum([1.0, u / 2.0, 1e-300]), 1.0 + u);
        // (1 + 2⁻⁵²) + 2⁻⁵³ is a tie toward the odd: up to 1 + 2⁻⁵¹.
        assert_eq!(exact_sum([1.0 + u, u / 2.0]), 1.0 + 2.0 * u);
        // Cancellation naive summation loses.
        assert_eq!(exact_sum([1e100, 1.0, -1e100]), 1.0);
        // The doubles nearest 0.1, 0.2 and 0.3 differ by exactly 2⁻⁵⁵ (naively: 2⁻⁵⁴).
        assert_eq!(exact_sum([0.1, 0.2, -0.3]), 2f64.powi(-55));
        let tiny = f64::from_bits(1);
        assert_eq!(exact_sum([tiny, tiny, tiny]).to_bits(), 3);
        assert_eq!(exact_sum([f64::MIN_POSITIVE, -tiny]), f64::MIN_POSITIVE - tiny);
        assert_eq!(exact_sum([-2.5, 0.5]), -2.0);
        assert_eq!(exact_sum([]), 0.0);
    }

    #[test]
    fn overflow_and_special_values_follow_ieee() {
        assert_eq!(exact_sum([f64::MAX, f64::MAX]), f64::INFINITY);
        assert_eq!(exact_sum([f64::MAX, f64::MAX, -f64::MAX]), f64::MAX);
        assert_eq!(exact_sum([-f64::MAX, -f64::MAX]), f64::NEG_INFINITY);
        assert_eq!(exact_sum([1.0, f64::INFINITY]), f64::INFINITY);
        assert!(exact_sum([f64::INFINITY, f64::NEG_INFINITY]).is_nan());
        assert!(exact_sum([1.0, f64::NAN]).is_nan());
        assert!(ExactSum::new().is_zero());
    }

    #[test]
    fn many_additions_carry_correctly() {
        let mut acc = ExactSum::new();
        for _ in 0..3_000_000 {
            acc.add(f64::MAX / 4.0);
            acc.add(-(f64::MAX / 4.0));
            acc.add(0.75);
        }
        assert_eq!(acc.value(), 2_250_000.0);
    }
}
