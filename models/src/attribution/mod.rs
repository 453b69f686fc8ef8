//! Multi-touch attribution: how much of each conversion each touch earns.
//!
//! Every model here works on plain journeys — touches with a group (channel, creator or
//! platform, as the caller chose), a time, and whether the touch is `direct` — and
//! returns, for one converting journey, one weight per touch. Weights are ≥ 0 and sum
//! to 1, so `weight × order value` splits the value exactly (property-tested).
//!
//! | model | weight of a touch |
//! |---|---|
//! | `first_touch` / `last_touch` | 1 for the first / last touch |
//! | `last_non_direct` | 1 for the last touch that is not direct (the last touch if all are) |
//! | `linear` | 1/n per touch (ChannelAttribution: `a > a > b` gives a 2/3, b 1/3) |
//! | `linear_distinct` | 1/d per distinct group, split equally over that group's touches (mta's and Google's convention) |
//! | `time_decay` | ∝ 2^(−Δ/H), Δ = conversion time − touch time, H = half-life |
//! | `u_shaped` | 1 touch: 1; 2 touches: first : last = w_first : w_last; 3+: w_first, w_last, the rest split over the middle |
//! | `markov` | ∝ the removal effect of the touch's group per unit of its share of conversions ([`markov::RemovalEffects::journey_weights`]), split equally over its touches |
//! | `shapley` | the exact Shapley value ([`shapley`]); per journey it equals `linear_distinct` |

pub mod credits;
pub mod hazard;
pub mod markov;
pub mod shapley;
mod sparse_lu;

use serde::{Deserialize, Serialize};

/// One touch as the attribution models see it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Touch {
    /// The touch's group (channel, creator or platform index).
    pub group: u32,
    /// Time of the touch, µs since the epoch.
    pub time_us: i64,
    /// Whether the touch is `direct` (for `last_non_direct`).
    pub direct: bool,
}

/// A rule model and its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "model", rename_all = "snake_case")]
pub enum Rule {
    /// All credit to the first touch.
    FirstTouch,
    /// All credit to the last touch.
    LastTouch,
    /// All credit to the last touch that is not direct.
    LastNonDirect,
    /// Equal credit per touch.
    Linear,
    /// Equal credit per distinct group.
    LinearDistinct,
    /// Exponential decay with the given half-life before the conversion.
    TimeDecay {
        /// Half-life in µs.
        half_life_us: i64,
    },
    /// Position based.
    UShaped {
        /// Share of the first touch (3+ touches).
        first: f64,
        /// Share of the last touch (3+ touches).
        last: f64,
    },
}

impl Rule {
    /// The model's name in outputs.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Rule::FirstTouch => "first_touch",
            Rule::LastTouch => "last_touch",
            Rule::LastNonDirect => "last_non_direct",
            Rule::Linear => "linear",
            Rule::LinearDistinct => "linear_distinct",
            Rule::TimeDecay { .. } => "time_decay",
            Rule::UShaped { .. } => "u_shaped",
        }
    }

    /// Writes one weight per touch of a converting journey into `out` (cleared first).
    /// `touches` are in time order; `conversion_us` is the conversion time. An empty
    /// journey gives no weights.
    pub fn weights(&self, touches: &[Touch], conversion_us: i64, out: &mut Vec<f64>) {
        out.clear();
        let n = touches.len();
        if n == 0 {
            return;
        }
        out.resize(n, 0.0);
        match *self {
            Rule::FirstTouch => out[0] = 1.0,
            Rule::LastTouch => out[n - 1] = 1.0,
            Rule::LastNonDirect => {
                let i = touches.iter().rposition(|t| !t.direct).unwrap_or(n - 1);
                out[i] = 1.0;
            }
            Rule::Linear => out.fill(1.0 / n as f64),
            Rule::LinearDistinct => distinct_split(touches, |_| 1.0, out),
            Rule::TimeDecay { half_life_us } => {
                let h = half_life_us as f64;
                // Weights relative to the newest touch keep the exponent small and the
                // sum ≥ 1, so no weight underflows to a zero total.
                let newest = touches.iter().map(|t| t.time_us).max().unwrap_or(conversion_us);
                for (w, t) in out.iter_mut().zip(touches) {
                    *w = (-((newest - t.time_us) as f64) / h * std::f64::consts::LN_2).exp();
                }
                normalise(out);
            }
            Rule::UShaped { first, last } => match n {
                1 => out[0] = 1.0,
                2 if first + last > 0.0 => {
                    out[0] = first / (first + last);
                    out[1] = last / (first + last);
                }
                2 => out.fill(0.5),
                _ => {
                    let middle = (1.0 - first - last) / (n - 2) as f64;
                    out.fill(middle);
                    out[0] = first;
                    out[n - 1] = last;
                }
            },
        }
    }
}

/// Splits 1 over the distinct groups of `touches` in proportion to `group_weight`, and each
/// group's share equally over its touches. Groups of weight 0 get nothing unless all are
/// 0, in which case the split is equal.
pub fn distinct_split(touches: &[Touch], group_weight: impl Fn(u32) -> f64, out: &mut Vec<f64>) {
    out.clear();
    out.resize(touches.len(), 0.0);
    // Journeys are short: a linear scan beats a hash map.
    let mut groups: Vec<(u32, usize)> = Vec::with_capacity(touches.len());
    for t in touches {
        match groups.iter_mut().find(|(g, _)| *g == t.group) {
            Some((_, n)) => *n += 1,
            None => groups.push((t.group, 1)),
        }
    }
    let total: f64 = groups.iter().map(|(g, _)| group_weight(*g).max(0.0)).sum();
    let equal = total <= 0.0;
    for (w, t) in out.iter_mut().zip(touches) {
        let (g, count) = *groups.iter().find(|(g, _)| *g == t.group).expect("every group was counted");
        let share = if equal { 1.0 / groups.len() as f64 } else { group_weight(g).max(0.0) / total };
        *w = share / count as f64;
    }
}

fn normalise(w: &mut [f64]) {
    let s: f64 = w.iter().sum();
    if s > 0.0 {
        for x in w {
            *x /= s;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn every_rule_splits_exactly_one(groups in prop::collection::vec(0u32..6, 1..30), gaps in prop::collection::vec(0i64..10_000_000_000, 30), first in 0.0f64..0.5, last in 0.0f64..0.5) {
            let mut t = 0i64;
            let touches: Vec<Touch> = groups.iter().zip(&gaps).map(|(&g, &gap)| { t += gap; Touch { group: g, time_us: t, direct: g == 0 } }).collect();
            let rules = [
                Rule::FirstTouch, Rule::LastTouch, Rule::LastNonDirect, Rule::Linear, Rule::LinearDistinct,
                Rule::TimeDecay { half_life_us: 86_400_000_000 }, Rule::UShaped { first, last },
            ];
            let mut w = Vec::new();
            for r in rules {
                r.weights(&touches, t, &mut w);
                prop_assert_eq!(w.len(), touches.len());
                prop_assert!(w.iter().all(|x| *x >= 0.0 && x.is_finite()), "{:?}: {:?}", r, w);
                let s: f64 = w.iter().sum();
                prop_assert!((s - 1.0).abs() < 1e-12, "{:?} sums to {}", r, s);
            }
            let effects = [0.0, 0.3, 0.0, 0.9, 0.1, 0.0];
            distinct_split(&touches, |g| effects[g as usize], &mut w);
            prop_assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        }
    }

    fn touches(groups: &[u32]) -> Vec<Touch> {
        groups
            .iter()
            .enumerate()
            .map(|(i, &g)| Touch { group: g, time_us: i as i64 * 1_000_000, direct: g == 9 })
            .collect()
    }

    #[test]
    fn linear_follows_channel_attribution_convention() {
        let mut w = Vec::new();
        Rule::Linear.weights(&touches(&[0, 0, 1]), 3_000_000, &mut w);
        assert_eq!(w, vec![1.0 / 3.0; 3]);
        Rule::LinearDistinct.weights(&touches(&[0, 0, 1]), 3_000_000, &mut w);
        assert_eq!(w, vec![0.25, 0.25, 0.5]);
    }

    #[test]
    fn last_non_direct_skips_direct_unless_all_are() {
        let mut w = Vec::new();
        Rule::LastNonDirect.weights(&touches(&[0, 1, 9]), 0, &mut w);
        assert_eq!(w, vec![0.0, 1.0, 0.0]);
        Rule::LastNonDirect.weights(&touches(&[9, 9]), 0, &mut w);
        assert_eq!(w, vec![0.0, 1.0]);
    }

    #[test]
    fn u_shaped_splits_by_position() {
        let mut w = Vec::new();
        let u = Rule::UShaped { first: 0.4, last: 0.4 };
        u.weights(&touches(&[0]), 0, &mut w);
        assert_eq!(w, vec![1.0]);
        u.weights(&touches(&[0, 1]), 0, &mut w);
        assert_eq!(w, vec![0.5, 0.5]);
        u.weights(&touches(&[0, 1, 2, 3]), 0, &mut w);
        for (a, b) in w.iter().zip([0.4, 0.1, 0.1, 0.4]) {
            assert!((a - b).abs() < 1e-15, "{w:?}");
        }
    }

    #[test]
    fn time_decay_halves_per_half_life() {
        let mut w = Vec::new();
        let day = 86_400_000_000;
        let t =
            vec![Touch { group: 0, time_us: 0, direct: false }, Touch { group: 1, time_us: 7 * day, direct: false }];
        Rule::TimeDecay { half_life_us: 7 * day }.weights(&t, 7 * day, &mut w);
        assert!((w[0] - 1.0 / 3.0).abs() < 1e-12 && (w[1] - 2.0 / 3.0).abs() < 1e-12, "{w:?}");
        // Touches far in the past do not underflow to a zero total.
        let t = vec![Touch { group: 0, time_us: -100_000 * day, direct: false }];
        Rule::TimeDecay { half_life_us: day }.weights(&t, 0, &mut w);
        assert_eq!(w, vec![1.0]);
    }
}
