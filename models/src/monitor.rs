//! Change detection on the short, noisy series a campaign manager watches: per-post values
//! against the creator's own recent posts, and daily rates (clicks per impression,
//! conversions per click, negative comments per comment) against a trailing baseline.
//!
//! Two detectors, both judged on 1- and 3-day windows and merged into episodes:
//!
//! - [`post_findings`]: each post's log value against the median and MAD of the same
//!   series' previous posts (at most [`Settings::max_posts`], none older than
//!   [`Settings::post_lookback_days`]); the posts of a window are combined by Stouffer's
//!   sum of z-scores. Median and MAD ignore the odd viral post in the baseline.
//! - [`count_findings`]: the window's count against the baseline rate times the window's
//!   exposure, under a quasi-Poisson law whose dispersion is measured on the baseline's
//!   days (so a series whose days swing more than Poisson widens its own band). Rates are
//!   compared, not volumes, so weekday swings in volume cancel out; weekday swings in the
//!   rate itself (a CTR that halves at weekends) are estimated from the baseline as one
//!   factor per weekday, shrunk toward 1 by [`Settings::weekday_prior`] pseudo-events.
//!
//! A finding needs both evidence (one-sided p below [`Settings::alpha`]) and a change
//! worth acting on (a ratio of at least [`Settings::min_rise`] or at most
//! [`Settings::max_drop`]); a series without enough history is never judged, and says so
//! through its [`Coverage`]. [`naive_findings`] is the textbook baseline the docs compare
//! against: a fixed mean ± 2σ over the whole raw series.
//!
//! ```
//! use roicast_models::monitor::{count_findings, Direction, Settings};
//! // 60 days at 2 % CTR on 1 000 impressions a day, then three days at 0.6 %.
//! let mut clicks = vec![20.0; 60];
//! clicks.extend([6.0, 6.0, 6.0]);
//! let impressions = vec![1_000.0; 63];
//! let (found, coverage) = count_findings(0, &clicks, &impressions, Direction::Drop, &Settings::default());
//! assert!(coverage.checked);
//! assert_eq!(found.len(), 1);
//! assert_eq!(found[0].start_day, 60);
//! assert!((found[0].observed - 0.006).abs() < 1e-12);
//! ```

use serde::Serialize;

/// Which way a series moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Higher than expected.
    Rise,
    /// Lower than expected.
    Drop,
}

/// Thresholds and windows of the detectors (the defaults are the ones
/// `docs/monitoring.md` validates).
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    /// Days with exposure in the baseline before a window (rates): the most recent ones,
    /// however far back, within [`Settings::lookback_days`] — creator traffic comes in
    /// bursts around sponsored posts, so the baseline is the creator's last bursts.
    pub baseline_days: usize,
    /// The baseline looks at most this many days back (rates).
    pub lookback_days: usize,
    /// Days with exposure the baseline needs before a rate is judged.
    pub min_active_days: usize,
    /// Previous posts a post needs before it is judged.
    pub min_posts: usize,
    /// The most recent posts the baseline keeps.
    pub max_posts: usize,
    /// Posts older than this many days before a window are not in its baseline.
    pub post_lookback_days: i64,
    /// Window lengths in days.
    pub windows: Vec<i64>,
    /// One-sided p-value below which a window of posts is anomalous.
    pub alpha: f64,
    /// One-sided p-value below which a window of a daily rate is anomalous.
    pub alpha_rates: f64,
    /// A rise must be at least this ratio of the expected value.
    pub min_rise: f64,
    /// A drop must be at most this ratio of the expected value.
    pub max_drop: f64,
    /// A drop needs at least this many expected events in the window (rates).
    pub min_expected: f64,
    /// A rise needs at least this many observed events in the window (rates).
    pub min_observed: f64,
    /// A drop needs at least this many events in the baseline (rates): the rate it
    /// drops from must be known.
    pub min_baseline_events: f64,
    /// The band drawn around the expected value: this two-sided coverage.
    pub band: f64,
    /// Weekday effects on rates: each weekday's factor is (events + a) / (expected + a)
    /// over the baseline's days of that weekday, with `a` this many pseudo-events (a
    /// weekday with little data stays near 1). `None`: no weekday effects.
    pub weekday_prior: Option<f64>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            baseline_days: 56,
            lookback_days: 365,
            min_active_days: 3,
            min_posts: 8,
            max_posts: 30,
            post_lookback_days: 120,
            windows: vec![1, 3],
            alpha: 1e-3,
            alpha_rates: 5e-3,
            min_rise: 1.5,
            max_drop: 0.67,
            min_expected: 6.0,
            min_observed: 4.0,
            min_baseline_events: 10.0,
            band: 0.99,
            weekday_prior: None,
        }
    }
}

/// One anomalous episode of a series: merged overlapping windows that all fired; the
/// numbers are those of its most significant window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// Which way.
    pub direction: Direction,
    /// First day of the episode (days since the Unix epoch, UTC).
    pub start_day: i64,
    /// Last day of the episode.
    pub end_day: i64,
    /// The day the first window of the episode ended: when the alert would have fired.
    pub detected_day: i64,
    /// The most significant window's first day.
    pub window_start: i64,
    /// Its last day.
    pub window_end: i64,
    /// What that window showed (a rate, or the geometric mean of its posts' values).
    pub observed: f64,
    /// What the baseline expected.
    pub expected: f64,
    /// The band the baseline expected the window in: lower end.
    pub lower: f64,
    /// Upper end.
    pub upper: f64,
    /// One-sided p-value of the window.
    pub p_value: f64,
    /// How much data the window held: posts, or the exposure (impressions, clicks, comments).
    pub evidence: f64,
    /// Baseline size: posts, or days with exposure.
    pub baseline: usize,
}

/// Whether a series could be judged at all.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Coverage {
    /// At least one window had a baseline long enough to be judged.
    pub checked: bool,
    /// Windows judged.
    pub windows: usize,
    /// Windows skipped for too little history (or volume).
    pub skipped: usize,
}

/// One window that fired, before merging.
type Fired = Finding;

/// Merges fired windows of one direction whose anomalous days overlap or touch into
/// episodes (each window's `start_day`/`end_day` are its first and last day on the
/// anomalous side of the expectation).
fn merge(mut fired: Vec<Fired>) -> Vec<Finding> {
    fired.sort_by(|a, b| a.start_day.cmp(&b.start_day).then(a.end_day.cmp(&b.end_day)));
    let mut out: Vec<Finding> = Vec::new();
    for f in fired {
        match out.last_mut() {
            Some(e) if f.start_day <= e.end_day + 1 => {
                e.start_day = e.start_day.min(f.start_day);
                e.end_day = e.end_day.max(f.end_day);
                e.detected_day = e.detected_day.min(f.detected_day);
                if f.p_value < e.p_value {
                    let (s, t, d) = (e.start_day, e.end_day, e.detected_day);
                    *e = Finding { start_day: s, end_day: t, detected_day: d, ..f };
                }
            }
            _ => out.push(f),
        }
    }
    out
}

/// Judges a daily rate series: `k[i]` events over `n[i]` exposure on day `day0 + i`.
/// Every window ending on a day with exposure is tested against the
/// [`Settings::baseline_days`] before it.
#[must_use]
pub fn count_findings(day0: i64, k: &[f64], n: &[f64], dir: Direction, s: &Settings) -> (Vec<Finding>, Coverage) {
    assert_eq!(k.len(), n.len(), "a count series has as many counts as exposures");
    let days = k.len();
    // Prefix sums for window and baseline totals.
    let mut ck = vec![0.0; days + 1];
    let mut cn = vec![0.0; days + 1];
    let mut ca = vec![0usize; days + 1];
    for i in 0..days {
        ck[i + 1] = ck[i] + k[i];
        cn[i + 1] = cn[i] + n[i];
        ca[i + 1] = ca[i] + usize::from(n[i] > 0.0);
    }
    let sum = |c: &[f64], a: usize, b: usize| c[b] - c[a];
    let mut cov = Coverage::default();
    let mut fired = Vec::new();
    for end in 0..days {
        if n[end] <= 0.0 {
            continue;
        }
        for &w in &s.windows {
            let w = usize::try_from(w).unwrap_or(1).max(1);
            if end + 1 < w {
                continue;
            }
            let start = end + 1 - w;
            // The latest `baseline_days` days with exposure within the lookback.
            let floor = start.saturating_sub(s.lookback_days);
            let target = ca[start].saturating_sub(s.baseline_days);
            let b0 = floor.max(ca[..=start].partition_point(|&a| a <= target).saturating_sub(1));
            let (kb, nb, active) = (sum(&ck, b0, start), sum(&cn, b0, start), ca[start] - ca[b0]);
            let (kw, nw) = (sum(&ck, start, end + 1), sum(&cn, start, end + 1));
            if active < s.min_active_days || nb <= 0.0 || (dir == Direction::Drop && kb < s.min_baseline_events) {
                cov.skipped += 1;
                continue;
            }
            let p0 = if kb > 0.0 { kb / nb } else { 0.5 / nb };
            // Each day's expected events: exposure × baseline rate × its weekday's factor.
            let factor = weekday_factors(day0, &k[b0..start], &n[b0..start], b0, p0, s.weekday_prior);
            let weekday = |d: usize| (day0 + d as i64 + 4).rem_euclid(7) as usize;
            let e_day = |d: usize| n[d] * p0 * factor[weekday(d)];
            let expected = if s.weekday_prior.is_some() { (start..=end).map(e_day).sum() } else { nw * p0 };
            let enough = match dir {
                Direction::Drop => expected >= s.min_expected,
                Direction::Rise => kw >= s.min_observed,
            };
            if !enough {
                cov.skipped += 1;
                continue;
            }
            cov.windows += 1;
            cov.checked = true;
            // Quasi-Poisson dispersion from the baseline's days that expect at least one
            // event (days expecting less only add noise to Pearson's statistic); Poisson
            // when fewer than five such days.
            let (mut chi, mut m) = (0.0, 0usize);
            for d in b0..start {
                let e = e_day(d);
                if e >= 1.0 {
                    chi += (k[d] - e) * (k[d] - e) / e;
                    m += 1;
                }
            }
            let phi = if m >= 5 { (chi / (m - 1) as f64).clamp(1.0, 20.0) } else { 1.0 };
            let p = match dir {
                Direction::Drop => poisson_cdf(kw / phi, expected / phi),
                Direction::Rise => poisson_sf(kw / phi, expected / phi),
            };
            let ratio = kw / expected;
            let big = match dir {
                Direction::Drop => ratio <= s.max_drop,
                Direction::Rise => ratio >= s.min_rise,
            };
            if p < s.alpha_rates && big {
                let z = normal_quantile(0.5 + s.band / 2.0);
                let half = z * (phi * expected).sqrt();
                let off = |d: usize| {
                    n[d] > 0.0
                        && match dir {
                            Direction::Drop => k[d] < e_day(d),
                            Direction::Rise => k[d] > e_day(d),
                        }
                };
                let first = (start..=end).find(|&d| off(d)).unwrap_or(start);
                let last = (start..=end).rev().find(|&d| off(d)).unwrap_or(end);
                fired.push(Finding {
                    direction: dir,
                    start_day: day0 + first as i64,
                    end_day: day0 + last as i64,
                    detected_day: day0 + end as i64,
                    window_start: day0 + start as i64,
                    window_end: day0 + end as i64,
                    observed: kw / nw,
                    expected: if s.weekday_prior.is_some() { expected / nw } else { p0 },
                    lower: ((expected - half).max(0.0)) / nw,
                    upper: (expected + half) / nw,
                    p_value: p,
                    evidence: nw,
                    baseline: active,
                });
            }
        }
    }
    (merge(fired), cov)
}

/// Per weekday (0 = Sunday), the factor by which its days' rate differs from the
/// baseline's `p0`: `(events + a) / (expected + a)` over the baseline days `k`, `n` (the
/// first of which is day `day0 + offset`); all 1 without a prior.
fn weekday_factors(day0: i64, k: &[f64], n: &[f64], offset: usize, p0: f64, prior: Option<f64>) -> [f64; 7] {
    let Some(a) = prior else { return [1.0; 7] };
    let (mut events, mut expected) = ([0.0; 7], [0.0; 7]);
    for (i, (&k, &n)) in k.iter().zip(n).enumerate() {
        let w = (day0 + (offset + i) as i64 + 4).rem_euclid(7) as usize;
        events[w] += k;
        expected[w] += n * p0;
    }
    std::array::from_fn(|w| (events[w] + a) / (expected[w] + a))
}

/// Judges a per-post series: `(day, value)` of each post in time order (values > 0; the
/// others are ignored). Posts of a window are judged against the posts before it.
#[must_use]
pub fn post_findings(posts: &[(i64, f64)], dir: Direction, s: &Settings) -> (Vec<Finding>, Coverage) {
    let pts: Vec<(i64, f64)> =
        posts.iter().filter(|p| p.1 > 0.0 && p.1.is_finite()).map(|&(d, v)| (d, v.ln())).collect();
    let mut cov = Coverage::default();
    let mut fired = Vec::new();
    let mut last_end = i64::MIN;
    for j in 0..pts.len() {
        let end = pts[j].0;
        if end == last_end {
            continue; // one evaluation per day with posts
        }
        last_end = end;
        for &w in &s.windows {
            let start = end - w.max(1) + 1;
            // The window's posts: every post published from `start` to `end`.
            let first = pts.partition_point(|p| p.0 < start);
            let last = pts.partition_point(|p| p.0 <= end);
            let window = &pts[first..last];
            let base: Vec<f64> = pts[..first]
                .iter()
                .rev()
                .take_while(|p| p.0 >= start - s.post_lookback_days)
                .take(s.max_posts)
                .map(|p| p.1)
                .collect();
            if base.len() < s.min_posts {
                cov.skipped += 1;
                continue;
            }
            cov.windows += 1;
            cov.checked = true;
            let mut sorted = base.clone();
            let m = crate::stats::median(&mut sorted).unwrap_or(0.0);
            let mut dev: Vec<f64> = base.iter().map(|x| (x - m).abs()).collect();
            let mad = crate::stats::median(&mut dev).unwrap_or(0.0);
            // 1.4826 MAD estimates σ of a normal; the floor keeps a flat history from
            // turning rounding into significance. The median's own error widens it.
            let sd = (1.4826 * mad).max(0.05) * (1.0 + 1.57 / base.len() as f64).sqrt();
            let nw = window.len() as f64;
            let mean: f64 = window.iter().map(|p| p.1).sum::<f64>() / nw;
            // The MAD's scale is itself uncertain (about 37 % of the efficiency of a
            // standard deviation): the score is a Student t with that many degrees of
            // freedom, turned into its normal equivalent (Wallace 1959).
            let t = (mean - m) / sd * nw.sqrt();
            let z = t_to_z(t, (0.37 * (base.len() - 1) as f64).max(3.0));
            let p = match dir {
                Direction::Rise => normal_sf(z),
                Direction::Drop => normal_sf(-z),
            };
            let ratio = (mean - m).exp();
            let big = match dir {
                Direction::Drop => ratio <= s.max_drop,
                Direction::Rise => ratio >= s.min_rise,
            };
            if p < s.alpha && big {
                let half = normal_quantile(0.5 + s.band / 2.0) * sd / nw.sqrt();
                let off = |p: &&(i64, f64)| match dir {
                    Direction::Rise => p.1 > m,
                    Direction::Drop => p.1 < m,
                };
                fired.push(Finding {
                    direction: dir,
                    start_day: window.iter().find(off).map_or(start, |p| p.0),
                    end_day: window.iter().rev().find(off).map_or(end, |p| p.0),
                    detected_day: end,
                    window_start: start,
                    window_end: end,
                    observed: mean.exp(),
                    expected: m.exp(),
                    lower: (m - half).exp(),
                    upper: (m + half).exp(),
                    p_value: p,
                    evidence: nw,
                    baseline: base.len(),
                });
            }
        }
    }
    (merge(fired), cov)
}

/// The naive detector: a day whose value lies beyond the whole series' mean ± 2σ (one
/// direction), consecutive days merged. `values` are `(day, value)`; needs 3 values.
#[must_use]
pub fn naive_findings(values: &[(i64, f64)], dir: Direction) -> Vec<Finding> {
    let v: Vec<(i64, f64)> = values.iter().copied().filter(|p| p.1.is_finite()).collect();
    if v.len() < 3 {
        return Vec::new();
    }
    let n = v.len() as f64;
    let mean = v.iter().map(|p| p.1).sum::<f64>() / n;
    let sd = (v.iter().map(|p| (p.1 - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    let fired = v
        .iter()
        .filter(|p| match dir {
            Direction::Rise => p.1 > mean + 2.0 * sd,
            Direction::Drop => p.1 < mean - 2.0 * sd,
        })
        .map(|&(d, x)| Finding {
            direction: dir,
            start_day: d,
            end_day: d,
            detected_day: d,
            window_start: d,
            window_end: d,
            observed: x,
            expected: mean,
            lower: mean - 2.0 * sd,
            upper: mean + 2.0 * sd,
            p_value: 0.0455,
            evidence: 1.0,
            baseline: v.len(),
        })
        .collect();
    merge(fired)
}

// ---------------------------------------------------------------------------------------
// Tail probabilities

/// Regularised lower incomplete gamma P(a, x) for a > 0, x ≥ 0 (series below a + 1,
/// Lentz's continued fraction for Q above).
#[must_use]
pub fn gamma_p(a: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    let ln_front = a * x.ln() - x - crate::clv::special::ln_gamma(a);
    if x < a + 1.0 {
        let (mut term, mut sum, mut ap) = (1.0 / a, 1.0 / a, a);
        for _ in 0..100_000 {
            ap += 1.0;
            term *= x / ap;
            sum += term;
            if term.abs() < sum.abs() * 1e-15 {
                break;
            }
        }
        (sum.ln() + ln_front).exp().min(1.0)
    } else {
        1.0 - gamma_q_cf(a, x, ln_front)
    }
}

/// Q(a, x) by its continued fraction (x ≥ a + 1).
fn gamma_q_cf(a: f64, x: f64, ln_front: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let mut b = x + 1.0 - a;
    let mut c = 1.0 / TINY;
    let mut d = 1.0 / b;
    let mut h = d;
    for i in 1..100_000 {
        let an = -f64::from(i) * (f64::from(i) - a);
        b += 2.0;
        d = an * d + b;
        if d.abs() < TINY {
            d = TINY;
        }
        c = b + an / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let delta = d * c;
        h *= delta;
        if (delta - 1.0).abs() < 1e-15 {
            break;
        }
    }
    (ln_front.exp() * h).clamp(0.0, 1.0)
}

/// Upper regularised incomplete gamma Q(a, x) = 1 − P(a, x), accurate in the tail.
#[must_use]
pub fn gamma_q(a: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    if x < a + 1.0 {
        1.0 - gamma_p(a, x)
    } else {
        let ln_front = a * x.ln() - x - crate::clv::special::ln_gamma(a);
        gamma_q_cf(a, x, ln_front)
    }
}

/// P(X ≤ k) for X ~ Poisson(μ), continuous in k (Q(k + 1, μ)).
#[must_use]
pub fn poisson_cdf(k: f64, mu: f64) -> f64 {
    if mu <= 0.0 {
        return 1.0;
    }
    gamma_q(k.max(0.0) + 1.0, mu)
}

/// P(X ≥ k) for X ~ Poisson(μ), continuous in k (P(k, μ); 1 for k ≤ 0).
#[must_use]
pub fn poisson_sf(k: f64, mu: f64) -> f64 {
    if k <= 0.0 {
        return 1.0;
    }
    gamma_p(k, mu.max(0.0))
}

/// The standard normal score with the same tail probability as Student's t with `df`
/// degrees of freedom (Wallace 1959; within 1 % of the tail probability for df ≥ 3
/// down to 1e-6).
#[must_use]
pub fn t_to_z(t: f64, df: f64) -> f64 {
    let z = (df * (t * t / df).ln_1p()).sqrt() * (8.0 * df + 1.0) / (8.0 * df + 3.0);
    z.copysign(t)
}

/// P(Z > z) for a standard normal Z.
#[must_use]
pub fn normal_sf(z: f64) -> f64 {
    if z >= 0.0 { 0.5 * gamma_q(0.5, z * z / 2.0) } else { 1.0 - 0.5 * gamma_q(0.5, z * z / 2.0) }
}

/// The standard normal quantile (Acklam's rational approximation refined by one Halley
/// step on [`normal_sf`]; error below 1e-12 on (1e-300, 1 − 1e-16)).
#[must_use]
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] =
        [7.784_695_709_041_462e-3, 3.224_671_290_700_398e-1, 2.445_134_137_142_996, 3.754_408_661_907_416];
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    let x = if p < 0.024_25 {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - 0.024_25 {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        let q = (-2.0 * (1.0 - p).ln()).sqrt();
        -(((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    // One Halley step: e = Φ(x) − p.
    let e = (1.0 - normal_sf(x)) - p;
    let u = e * (2.0 * std::f64::consts::PI).sqrt() * (x * x / 2.0).exp();
    x - u / (1.0 + x * u / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tails_match_published_values() {
        // Abramowitz & Stegun table 26.1: Φ(−1.96) = 0.0249979, Φ(−3) = 0.00134990.
        assert!((normal_sf(1.96) - 0.024_997_895).abs() < 1e-8);
        assert!((normal_sf(3.0) - 0.001_349_898).abs() < 1e-8);
        assert!((normal_sf(-1.0) - 0.841_344_746).abs() < 1e-8);
        assert!((normal_quantile(0.995) - 2.575_829_303_549).abs() < 1e-9);
        assert!((normal_quantile(0.025) + 1.959_963_984_540).abs() < 1e-9);
        // Poisson(10): P(X ≤ 3) = 0.0103361, P(X ≥ 18) = 0.0142669 (exact sums).
        let pmf =
            |k: u32, mu: f64| (-mu + f64::from(k) * mu.ln() - crate::clv::special::ln_gamma(f64::from(k) + 1.0)).exp();
        let cdf3: f64 = (0..=3).map(|k| pmf(k, 10.0)).sum();
        let sf18: f64 = 1.0 - (0..18).map(|k| pmf(k, 10.0)).sum::<f64>();
        assert!((poisson_cdf(3.0, 10.0) - cdf3).abs() < 1e-12, "{}", poisson_cdf(3.0, 10.0));
        assert!((poisson_sf(18.0, 10.0) - sf18).abs() < 1e-12);
        // A far tail stays accurate (no 1 − 1 cancellation).
        assert!(poisson_cdf(0.0, 50.0) > 0.0 && (poisson_cdf(0.0, 50.0).ln() + 50.0).abs() < 1e-9);
    }

    /// A deterministic stream of N(0, 1) draws (Box–Muller on a splitmix sequence).
    fn normals(seed: u64, n: usize) -> Vec<f64> {
        let mut s = seed;
        let mut next = || {
            s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
        };
        (0..n)
            .map(|_| {
                let (u, v) = (next().max(1e-300), next());
                (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
            })
            .collect()
    }

    #[test]
    fn a_quadrupled_post_is_found_and_a_calm_history_is_not() {
        let noise = normals(7, 400);
        let mut posts: Vec<(i64, f64)> = (0..400).map(|i| (i as i64 * 2, 0.05 * (0.3 * noise[i]).exp())).collect();
        let s = Settings::default();
        let (calm, cov) = post_findings(&posts, Direction::Rise, &s);
        assert!(cov.checked && cov.windows > 700);
        assert!(calm.len() <= 1, "{calm:?}");
        posts[300].1 *= 4.0;
        let (found, _) = post_findings(&posts, Direction::Rise, &s);
        assert!(found.iter().any(|f| f.start_day <= 600 && f.end_day >= 600), "{found:?}");
        // Too little history: never judged.
        let (none, cov) = post_findings(&posts[..5], Direction::Rise, &s);
        assert!(none.is_empty() && !cov.checked);
    }

    #[test]
    fn an_overdispersed_rate_widens_its_own_band() {
        // Daily clicks alternate 10 and 30 on 1 000 impressions: a 2 % rate, far noisier
        // than Poisson. A day at 8 is a Poisson outlier but not one for this series.
        let mut k: Vec<f64> = (0..60).map(|i| if i % 2 == 0 { 10.0 } else { 30.0 }).collect();
        k.push(8.0);
        let n = vec![1_000.0; 61];
        let s = Settings { windows: vec![1], ..Settings::default() };
        assert!(count_findings(0, &k, &n, Direction::Drop, &s).0.is_empty());
        assert!(poisson_cdf(8.0, 20.0) < s.alpha * 10.0);
        // A sparse series with too little exposure is skipped, not judged.
        let (f, cov) = count_findings(0, &[1.0, 0.0, 0.0, 1.0], &[10.0, 10.0, 10.0, 10.0], Direction::Drop, &s);
        assert!(f.is_empty() && !cov.checked && cov.skipped > 0);
    }

    #[test]
    fn weekday_effects_keep_the_band_tight_on_a_rate_that_halves_every_weekend() {
        // 2 % CTR on weekdays, 1 % at weekends (day 0 is a Thursday: days 2 and 3 of each
        // week are Saturday and Sunday), 2 000 impressions a day, for 20 weeks; on day 120
        // (a Friday) a broken link: 14 clicks instead of 40.
        let weekend = |d: i64| matches!((d + 4).rem_euclid(7), 0 | 6);
        let mut k: Vec<f64> = (0..140).map(|d| if weekend(d) { 20.0 } else { 40.0 }).collect();
        let n = vec![2_000.0; 140];
        let plain = Settings { windows: vec![1], ..Settings::default() };
        let weekly = Settings { weekday_prior: Some(20.0), ..plain.clone() };
        // No weekend is taken for a drop either way: without weekday effects the weekly
        // swing shows as overdispersion and widens the band.
        for s in [&plain, &weekly] {
            let (f, cov) = count_findings(0, &k, &n, Direction::Drop, s);
            assert!(cov.checked && f.is_empty(), "{f:?}");
        }
        k[120] = 14.0;
        // The wide band misses the broken link; the weekday factors find it, and expect
        // that weekday's rate.
        assert!(count_findings(0, &k, &n, Direction::Drop, &plain).0.is_empty());
        let (f, _) = count_findings(0, &k, &n, Direction::Drop, &weekly);
        assert_eq!(f.iter().map(|f| f.start_day).collect::<Vec<_>>(), [120], "{f:?}");
        assert!((f[0].expected - 0.02).abs() < 0.001, "{}", f[0].expected);
        // Without a prior, the factors are all 1.
        assert_eq!(weekday_factors(0, &k, &n, 0, 0.0157, None), [1.0; 7]);
    }

    #[test]
    fn episodes_merge_overlapping_windows() {
        let mut k = vec![20.0; 60];
        k.extend([60.0, 60.0, 60.0, 60.0]);
        k.extend([20.0; 10]);
        let n = vec![1_000.0; k.len()];
        let (f, _) = count_findings(100, &k, &n, Direction::Rise, &Settings::default());
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!((f[0].start_day, f[0].end_day, f[0].detected_day), (160, 163, 160));
        assert!(f[0].observed > f[0].upper && f[0].expected > f[0].lower);
    }

    #[test]
    fn the_naive_band_flags_days_beyond_two_sigma() {
        let v: Vec<(i64, f64)> =
            (0..30).map(|d| (d, if d == 10 { 5.0 } else { 1.0 + 0.01 * (d % 3) as f64 })).collect();
        let f = naive_findings(&v, Direction::Rise);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].start_day, 10);
        assert!(naive_findings(&v, Direction::Drop).is_empty());
    }
}
