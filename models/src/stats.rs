//! Order statistics and survival: the one tested home of the quantiles, medians, rank
//! correlations and Kaplan–Meier curves the models and jobs use.
//!
//! ```
//! use roicast_models::stats::{kaplan_meier, median, quantile, spearman};
//! assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
//! assert_eq!(quantile(&[0.0, 10.0], 0.25), 2.5);
//! assert_eq!(spearman(&[1.0, 2.0, 3.0], &[10.0, 20.0, 30.0]), 1.0);
//! // Two of four subjects churn at month 1 and 3; one is censored at 2.
//! let km = kaplan_meier(&[(1.0, true), (2.0, false), (3.0, true), (4.0, false)]);
//! assert_eq!(km.survival_at(1.0), 0.75);
//! assert_eq!(km.survival_at(3.0), 0.375);
//! ```

/// The median (mean of the two middle values for an even count); sorts `values`.
/// `None` when empty.
pub fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    Some(if n % 2 == 1 { values[n / 2] } else { f64::midpoint(values[n / 2 - 1], values[n / 2]) })
}

/// The `q` quantile of sorted values (linear interpolation between order statistics,
/// numpy's default); NaN when empty.
#[must_use]
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let h = (sorted.len() - 1) as f64 * q.clamp(0.0, 1.0);
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (h - lo as f64)
}

/// Ranks 1..n with ties given their average rank.
#[must_use]
pub fn ranks(v: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut r = vec![0.0; v.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            r[k] = avg;
        }
        i = j + 1;
    }
    r
}

/// Spearman rank correlation (Pearson correlation of the average ranks); NaN when fewer
/// than two pairs or a constant side.
#[must_use]
pub fn spearman(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    if n < 2 {
        return f64::NAN;
    }
    let (ra, rb) = (ranks(&a[..n]), ranks(&b[..n]));
    let mean = f64::midpoint(n as f64, 1.0);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for i in 0..n {
        let (x, y) = (ra[i] - mean, rb[i] - mean);
        sab += x * y;
        saa += x * x;
        sbb += y * y;
    }
    if saa == 0.0 || sbb == 0.0 { f64::NAN } else { sab / (saa * sbb).sqrt() }
}

/// A Kaplan–Meier survival curve: the product-limit estimate at each distinct event time.
#[derive(Debug, Clone, PartialEq)]
pub struct Survival {
    /// Distinct event times, increasing.
    pub times: Vec<f64>,
    /// S(t) just after each time.
    pub survival: Vec<f64>,
    /// At risk just before each time.
    pub at_risk: Vec<u64>,
    /// Events at each time.
    pub events: Vec<u64>,
}

impl Survival {
    /// S(t): the estimate after every event at or before `t` (1 before the first).
    #[must_use]
    pub fn survival_at(&self, t: f64) -> f64 {
        let k = self.times.partition_point(|x| *x <= t);
        if k == 0 { 1.0 } else { self.survival[k - 1] }
    }
}

/// The Kaplan–Meier estimate of `(duration, observed)` subjects (an unobserved subject is
/// censored at its duration and still at risk at that time, the usual convention). One
/// sort and one pass: O(n log n).
#[must_use]
pub fn kaplan_meier(subjects: &[(f64, bool)]) -> Survival {
    let mut v: Vec<(f64, bool)> = subjects.iter().copied().filter(|s| s.0.is_finite()).collect();
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut out = Survival { times: Vec::new(), survival: Vec::new(), at_risk: Vec::new(), events: Vec::new() };
    let mut at_risk = v.len() as u64;
    let mut s = 1.0;
    let mut i = 0;
    while i < v.len() {
        let t = v[i].0;
        let (mut d, mut c) = (0u64, 0u64);
        while i < v.len() && v[i].0 == t {
            if v[i].1 {
                d += 1;
            } else {
                c += 1;
            }
            i += 1;
        }
        if d > 0 {
            s *= 1.0 - d as f64 / at_risk as f64;
            out.times.push(t);
            out.survival.push(s);
            out.at_risk.push(at_risk);
            out.events.push(d);
        }
        at_risk -= d + c;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_quantiles_match_numpy() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), Some(2.5));
        let v = [1.0, 2.0, 3.0, 4.0, 5.0];
        // numpy.quantile(v, [0, .1, .5, .9, 1]) = 1, 1.4, 3, 4.6, 5
        for (q, want) in [(0.0, 1.0), (0.1, 1.4), (0.5, 3.0), (0.9, 4.6), (1.0, 5.0)] {
            assert!((quantile(&v, q) - want).abs() < 1e-12, "{q}");
        }
        assert!(quantile(&[], 0.5).is_nan());
    }

    #[test]
    fn spearman_uses_average_ranks_for_ties() {
        assert_eq!(ranks(&[10.0, 20.0, 20.0, 5.0]), vec![2.0, 3.5, 3.5, 1.0]);
        // scipy.stats.spearmanr([1,2,3,4,5], [5,6,7,8,7]) = 0.820782681668123
        let r = spearman(&[1.0, 2.0, 3.0, 4.0, 5.0], &[5.0, 6.0, 7.0, 8.0, 7.0]);
        assert!((r - 0.820_782_681_668_123).abs() < 1e-12, "{r}");
        assert_eq!(spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]), -1.0);
        assert!(spearman(&[1.0, 1.0], &[1.0, 2.0]).is_nan());
    }

    #[test]
    fn kaplan_meier_by_hand() {
        // Times 1 (event), 1 (censored), 2 (event ×2), 3 (censored), 4 (event): n = 6.
        let km = kaplan_meier(&[(1.0, true), (1.0, false), (2.0, true), (2.0, true), (3.0, false), (4.0, true)]);
        assert_eq!(km.times, vec![1.0, 2.0, 4.0]);
        assert_eq!(km.at_risk, vec![6, 4, 1]);
        let s1 = 5.0 / 6.0;
        let s2 = s1 * (1.0 - 2.0 / 4.0);
        assert!((km.survival_at(1.5) - s1).abs() < 1e-15);
        assert!((km.survival_at(2.0) - s2).abs() < 1e-15);
        assert_eq!(km.survival_at(4.0), 0.0);
        assert_eq!(km.survival_at(0.5), 1.0);
        assert!(kaplan_meier(&[]).times.is_empty());
    }
}
