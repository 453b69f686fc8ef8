//! Customer lifetime value from retention and repeat-purchase models.
//!
//! * [`Sbg`]: shifted-beta-geometric retention (Fader & Hardie 2007, "How to Project
//!   Customer Retention"), with DEL / DERL (Fader & Hardie 2010, "Customer-Base Valuation
//!   in a Contractual Setting").
//! * [`BgNbd`]: the beta-geometric / NBD repeat-purchase model (Fader, Hardie & Lee 2005,
//!   "Counting Your Customers the Easy Way").
//! * [`GammaGamma`]: spend per transaction (Fader, Hardie & Lee 2005, "RFM and CLV: Using
//!   Iso-value Curves", and Fader & Hardie's note on the Gamma-Gamma model).
//!
//! Each model holds its parameters with the papers' names and gives its log-likelihood;
//! fitting is in `roicast-training`. Time units are the caller's (the RFM summary's unit
//! for BG/NBD; one period for sBG) and never assumed.

pub mod special;

use serde::{Deserialize, Serialize};
use special::{hyp2f1, ln_beta, ln_gamma};

/// Shifted-beta-geometric retention: each customer churns at the end of each period with
/// probability `θ ~ Beta(alpha, beta)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sbg {
    /// Beta `α` (> 0).
    pub alpha: f64,
    /// Beta `β` (> 0).
    pub beta: f64,
}

impl Sbg {
    /// P(T = t): a customer churns in period t ≥ 1.
    #[must_use]
    pub fn churn_probability(&self, t: u32) -> f64 {
        (ln_beta(self.alpha + 1.0, self.beta + f64::from(t) - 1.0) - ln_beta(self.alpha, self.beta)).exp()
    }

    /// S(t): the share of a cohort still active after t periods (S(0) = 1).
    #[must_use]
    pub fn survival(&self, t: u32) -> f64 {
        (ln_beta(self.alpha, self.beta + f64::from(t)) - ln_beta(self.alpha, self.beta)).exp()
    }

    /// r(t) = S(t) / S(t−1): the retention rate of period t ≥ 1, `(β + t − 1)/(α + β + t − 1)`.
    #[must_use]
    pub fn retention_rate(&self, t: u32) -> f64 {
        (self.beta + f64::from(t) - 1.0) / (self.alpha + self.beta + f64::from(t) - 1.0)
    }

    /// Log-likelihood of a cohort's active counts at the start of periods 0, 1, …, n
    /// (`active[0]` = cohort size): customers lost in period t contribute log P(T = t),
    /// those still active after n periods log S(n).
    #[must_use]
    pub fn log_likelihood(&self, active: &[f64]) -> f64 {
        let n = active.len() - 1;
        let mut ll = 0.0;
        for t in 1..=n {
            let lost = active[t - 1] - active[t];
            if lost > 0.0 {
                ll += lost * self.churn_probability(t as u32).ln();
            }
        }
        ll + active[n] * self.survival(n as u32).ln()
    }

    /// Log-likelihood of individual subscriptions with different start dates: each is
    /// `(periods, churned)` — churned in period `periods` (log P(T = periods)), or still
    /// active after `periods` periods (log S(periods)).
    #[must_use]
    pub fn log_likelihood_individual(&self, subs: &[(u32, bool)]) -> f64 {
        subs.iter()
            .map(|&(t, churned)| if churned { self.churn_probability(t).ln() } else { self.survival(t).ln() })
            .sum()
    }

    /// Discounted expected lifetime of a new customer, in payments: one payment at the
    /// start of every period while active, the first undiscounted —
    /// `DEL = Σ_{t≥0} S(t) / (1 + d)^t = ₂F₁(1, β; α + β; 1/(1 + d))` (Fader & Hardie 2010, eq. 5).
    #[must_use]
    pub fn del(&self, discount_rate: f64) -> f64 {
        hyp2f1(1.0, self.beta, self.alpha + self.beta, 1.0 / (1.0 + discount_rate))
    }

    /// Discounted expected residual lifetime, in payments, of a customer who has made
    /// `renewals` renewals and is about to decide on the next one, whose payment is counted
    /// undiscounted (Fader & Hardie 2010, eq. 6, with n − 1 = `renewals`):
    /// `DERL = Σ_{k≥0} S(renewals + 1 + k) / S(renewals) / (1 + d)^k
    ///       = (β + renewals)/(α + β + renewals) · ₂F₁(1, β + renewals + 1; α + β + renewals + 1; 1/(1 + d))`.
    #[must_use]
    pub fn derl(&self, discount_rate: f64, renewals: u32) -> f64 {
        let n = f64::from(renewals);
        let z = 1.0 / (1.0 + discount_rate);
        (self.beta + n) / (self.alpha + self.beta + n)
            * hyp2f1(1.0, self.beta + n + 1.0, self.alpha + self.beta + n + 1.0, z)
    }
}

/// BG/NBD repeat purchases: while active, purchases follow a Poisson process with rate
/// `λ ~ Gamma(r, α)` (rate α); after each repeat purchase a customer drops out with
/// probability `p ~ Beta(a, b)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BgNbd {
    /// Gamma shape `r`.
    pub r: f64,
    /// Gamma rate `α` (per time unit).
    pub alpha: f64,
    /// Beta `a`.
    pub a: f64,
    /// Beta `b`.
    pub b: f64,
}

/// One customer's RFM summary in the lifetimes convention: `frequency` = repeat purchases
/// x, `recency` = time of the last purchase since the first (`t_x`), `t` = age since the first
/// purchase (T), all in one time unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rfm {
    /// x.
    pub frequency: f64,
    /// `t_x`.
    pub recency: f64,
    /// T.
    pub t: f64,
}

impl BgNbd {
    /// Log-likelihood of one customer (Fader, Hardie & Lee 2005, eq. 6).
    ///
    /// For the whole-number frequencies of real data below 32, the gamma and beta ratios
    /// are finite products — `Γ(r+x)/Γ(r) = Π_{k<x} (r+k)` and
    /// `B(a, b+x)/B(a, b) = Π_{k<x} (b+k)/(a+b+k)` — which is several times cheaper than
    /// ln Γ and exact to round-off (tested against the ln Γ form).
    #[must_use]
    pub fn log_likelihood_one(&self, c: Rfm) -> f64 {
        let (r, alpha, a, b) = (self.r, self.alpha, self.a, self.b);
        let x = c.frequency;
        let (ln_gamma_ratio, ln_beta_ratio) = if x.fract() == 0.0 && x < 32.0 {
            let mut prod_g = 1.0;
            let mut prod_b = 1.0;
            for k in 0..x as u32 {
                let k = f64::from(k);
                prod_g *= r + k;
                prod_b *= (b + k) / (a + b + k);
            }
            (prod_g.ln(), prod_b.ln())
        } else {
            (ln_gamma(r + x) - ln_gamma(r), ln_beta(a, b + x) - ln_beta(a, b))
        };
        let common = ln_gamma_ratio + r * alpha.ln();
        let a1 = ln_beta_ratio - (r + x) * (alpha + c.t).ln();
        if x > 0.0 {
            // B(a+1, b+x−1)/B(a, b) = B(a, b+x)/B(a, b) · a/(b+x−1).
            let a2 = ln_beta_ratio + (a / (b + x - 1.0)).ln() - (r + x) * (alpha + c.recency).ln();
            common + log_add_exp(a1, a2)
        } else {
            common + a1
        }
    }

    /// The log-likelihood of one customer through ln Γ only (the reference form).
    #[must_use]
    pub fn log_likelihood_one_reference(&self, c: Rfm) -> f64 {
        let (r, alpha, a, b) = (self.r, self.alpha, self.a, self.b);
        let x = c.frequency;
        let common = ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln();
        let a1 = ln_beta(a, b + x) - ln_beta(a, b) - (r + x) * (alpha + c.t).ln();
        if x > 0.0 {
            let a2 = ln_beta(a + 1.0, b + x - 1.0) - ln_beta(a, b) - (r + x) * (alpha + c.recency).ln();
            common + log_add_exp(a1, a2)
        } else {
            common + a1
        }
    }

    /// Summed log-likelihood, each customer weighted (counts of identical summaries).
    #[must_use]
    pub fn log_likelihood(&self, customers: &[Rfm], weights: &[f64]) -> f64 {
        customers.iter().zip(weights).map(|(c, w)| w * self.log_likelihood_one(*c)).sum()
    }

    /// P(alive | x, `t_x`, T).
    #[must_use]
    pub fn p_alive(&self, c: Rfm) -> f64 {
        if c.frequency <= 0.0 {
            return 1.0;
        }
        let x = c.frequency;
        let ratio = ((self.alpha + c.t) / (self.alpha + c.recency)).ln() * (self.r + x);
        1.0 / (1.0 + self.a / (self.b + x - 1.0) * ratio.exp())
    }

    /// Expected purchases in the next `horizon` time units given the customer's history
    /// (Fader, Hardie & Lee 2005, eq. 10).
    #[must_use]
    pub fn expected_purchases(&self, c: Rfm, horizon: f64) -> f64 {
        let (r, alpha, a, b) = (self.r, self.alpha, self.a, self.b);
        let x = c.frequency;
        let z = horizon / (alpha + c.t + horizon);
        let head = (a + b + x - 1.0) / (a - 1.0);
        let pow = ((alpha + c.t) / (alpha + c.t + horizon)).powf(r + x);
        let numerator = head * (1.0 - pow * hyp2f1(r + x, b + x, a + b + x - 1.0, z));
        let denominator =
            if x > 0.0 { 1.0 + a / (b + x - 1.0) * ((alpha + c.t) / (alpha + c.recency)).powf(r + x) } else { 1.0 };
        numerator / denominator
    }
}

/// Pareto/NBD repeat purchases (Schmittlein, Morrison & Colombo 1987): while active,
/// purchases follow a Poisson process with rate `λ ~ Gamma(r, α)`; lifetimes are
/// exponential with dropout rate `μ ~ Gamma(s, β)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ParetoNbd {
    /// Gamma shape of the purchase rate.
    pub r: f64,
    /// Gamma rate of the purchase rate.
    pub alpha: f64,
    /// Gamma shape of the dropout rate.
    pub s: f64,
    /// Gamma rate of the dropout rate.
    pub beta: f64,
}

impl ParetoNbd {
    /// `ln A₀` of Fader & Hardie's note "Deriving the Pareto/NBD Model" (2005, eq. 19),
    /// choosing the ₂F₁ representation whose argument lies in [0, 1).
    fn ln_a0(&self, c: Rfm) -> f64 {
        let (r, alpha, s, beta) = (self.r, self.alpha, self.s, self.beta);
        let x = c.frequency;
        let rsx = r + s + x;
        let (big, b_param, lo) =
            if alpha >= beta { (alpha, s + 1.0, alpha - beta) } else { (beta, r + x, beta - alpha) };
        let term = |t: f64| -> f64 { hyp2f1(rsx, b_param, rsx + 1.0, lo / (big + t)).ln() - rsx * (big + t).ln() };
        let (a, b) = (term(c.recency), term(c.t));
        // ln(e^a − e^b), a > b (the first term dominates since t_x ≤ T).
        if b >= a { f64::NEG_INFINITY } else { a + (-(b - a).exp()).ln_1p() }
    }

    /// Log-likelihood of one customer.
    #[must_use]
    pub fn log_likelihood_one(&self, c: Rfm) -> f64 {
        let (r, alpha, s, beta) = (self.r, self.alpha, self.s, self.beta);
        let x = c.frequency;
        let head = ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln() + s * beta.ln();
        let first = -(r + x) * (alpha + c.t).ln() - s * (beta + c.t).ln();
        let second = (s / (r + s + x)).ln() + self.ln_a0(c);
        head + log_add_exp(first, second)
    }

    /// Summed log-likelihood, each customer weighted.
    #[must_use]
    pub fn log_likelihood(&self, customers: &[Rfm], weights: &[f64]) -> f64 {
        customers.iter().zip(weights).map(|(c, w)| w * self.log_likelihood_one(*c)).sum()
    }

    /// P(alive | x, `t_x`, T).
    #[must_use]
    pub fn p_alive(&self, c: Rfm) -> f64 {
        let (r, alpha, s, beta) = (self.r, self.alpha, self.s, self.beta);
        let x = c.frequency;
        let ln_ratio = (s / (r + s + x)).ln() + (r + x) * (alpha + c.t).ln() + s * (beta + c.t).ln() + self.ln_a0(c);
        1.0 / (1.0 + ln_ratio.exp())
    }

    /// Expected purchases in the next `horizon` time units (needs s > 1).
    #[must_use]
    pub fn expected_purchases(&self, c: Rfm, horizon: f64) -> f64 {
        let (r, alpha, s, beta) = (self.r, self.alpha, self.s, self.beta);
        let x = c.frequency;
        self.p_alive(c) * (r + x) * (beta + c.t) / ((alpha + c.t) * (s - 1.0))
            * (1.0 - ((beta + c.t) / (beta + c.t + horizon)).powf(s - 1.0))
    }
}

/// Gamma-Gamma spend: each transaction's value `z ~ Gamma(p, ν)`, `ν ~ Gamma(q, γ)` across
/// customers (rates ν and γ).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GammaGamma {
    /// Shape `p`.
    pub p: f64,
    /// Shape `q`.
    pub q: f64,
    /// Rate `γ`.
    pub gamma: f64,
}

impl GammaGamma {
    /// Log-likelihood of a customer's mean spend `m` over `x` transactions (x ≥ 1, m > 0).
    #[must_use]
    pub fn log_likelihood_one(&self, x: f64, m: f64) -> f64 {
        let (p, q, g) = (self.p, self.q, self.gamma);
        ln_gamma(p * x + q) - ln_gamma(p * x) - ln_gamma(q) + q * g.ln() + (p * x - 1.0) * m.ln() + (p * x) * x.ln()
            - (p * x + q) * (g + m * x).ln()
    }

    /// Expected spend per transaction given x transactions with mean `m`:
    /// `(γ + m x) p / (p x + q − 1)`.
    #[must_use]
    pub fn expected_spend(&self, x: f64, m: f64) -> f64 {
        (self.gamma + m * x) * self.p / (self.p * x + self.q - 1.0)
    }
}

/// `ln(e^a + e^b)` without overflow.
fn log_add_exp(a: f64, b: f64) -> f64 {
    let m = a.max(b);
    m + ((a - m).exp() + (b - m).exp()).ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sbg_survival_and_churn_agree() {
        let m = Sbg { alpha: 0.704, beta: 1.182 };
        let mut s = 1.0;
        for t in 1..20 {
            s -= m.churn_probability(t);
            assert!((s - m.survival(t)).abs() < 1e-12);
            assert!((m.survival(t) / m.survival(t - 1) - m.retention_rate(t)).abs() < 1e-12);
        }
    }

    #[test]
    fn del_and_derl_equal_their_brute_force_sums() {
        for m in [Sbg { alpha: 0.704, beta: 1.182 }, Sbg { alpha: 0.668, beta: 3.806 }, Sbg { alpha: 3.0, beta: 0.5 }] {
            for d in [0.05_f64, 0.1, 0.3] {
                let del: f64 = (0..5_000).map(|t| m.survival(t) / (1.0 + d).powi(t as i32)).sum();
                assert!((m.del(d) - del).abs() < 1e-9, "{m:?} d={d}: {} vs {del}", m.del(d));
                for n in [0u32, 1, 4, 10] {
                    let derl: f64 =
                        (0..5_000u32).map(|k| m.survival(n + 1 + k) / m.survival(n) / (1.0 + d).powi(k as i32)).sum();
                    assert!((m.derl(d, n) - derl).abs() < 1e-9, "{m:?} d={d} n={n}: {} vs {derl}", m.derl(d, n));
                }
            }
        }
    }

    #[test]
    fn bgnbd_fast_likelihood_equals_the_ln_gamma_form() {
        let m = BgNbd { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };
        for x in 0..40u32 {
            let c = Rfm { frequency: f64::from(x), recency: if x == 0 { 0.0 } else { 20.5 }, t: 38.86 };
            let (fast, slow) = (m.log_likelihood_one(c), m.log_likelihood_one_reference(c));
            assert!((fast - slow).abs() < 1e-10 * slow.abs().max(1.0), "x = {x}: {fast} vs {slow}");
        }
    }

    #[test]
    fn bgnbd_probabilities_are_in_range() {
        let m = BgNbd { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };
        let c = Rfm { frequency: 2.0, recency: 30.43, t: 38.86 };
        let p = m.p_alive(c);
        assert!(p > 0.0 && p < 1.0);
        assert_eq!(m.p_alive(Rfm { frequency: 0.0, recency: 0.0, t: 38.86 }), 1.0);
        assert!(m.expected_purchases(c, 39.0) > 0.0);
    }
}
