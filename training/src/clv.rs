//! Maximum-likelihood fits of the CLV models (sBG, BG/NBD, Gamma-Gamma).
//!
//! Parameters are optimised in log space (so they stay positive and well scaled) by
//! [`crate::optim::minimize`]; identical RFM rows are merged with weights first, so the
//! cost grows with distinct summaries, not customers. A fit that does not converge is an
//! error. Standard errors: the inverse of the finite-difference Hessian of −ℓ in log
//! space, carried to each parameter by the delta method.
//!
//! | param | default | range |
//! |---|---|---|
//! | `tol` | 1e-8 | finite, > 0 (gradient relative to 1 + \|ℓ\|; finite-difference gradients are exact to about 1e-10) |
//! | `max_iter` | 500 | ≥ 1 |

use std::collections::BTreeMap;

use ndarray::{Array1, Array2};
use rayon::prelude::*;
use roicast_models::clv::special::{digamma, ln_gamma, trigamma};
use roicast_models::clv::{BgNbd, GammaGamma, ParetoNbd, Rfm, Sbg};
use serde::Serialize;

use crate::optim::{Local, hessian, minimize, minimize_newton};
use crate::{TrainError, check_param, cholesky_solve};

/// Parameters, ℓ, iterations and standard errors of one optimisation.
type Solved = (Vec<f64>, f64, usize, BTreeMap<&'static str, Option<f64>>);

/// Solver settings shared by the CLV fits.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ClvParams {
    tol: f64,
    max_iter: usize,
}

impl Default for ClvParams {
    fn default() -> Self {
        ClvParams { tol: 1e-8, max_iter: 500 }
    }
}

/// A fitted CLV model with its diagnostics.
#[derive(Debug, Clone, Serialize)]
pub struct ClvFit<M> {
    /// The model.
    pub model: M,
    /// ℓ at the optimum.
    pub log_likelihood: f64,
    /// Optimiser iterations.
    pub iterations: usize,
    /// Observations fitted (customers, or cohort members for sBG).
    pub n: u64,
    /// Standard error of each parameter, by the papers' names.
    pub standard_errors: BTreeMap<&'static str, Option<f64>>,
}

impl ClvParams {
    /// Defaults.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Convergence tolerance.
    #[must_use]
    pub fn tol(mut self, tol: f64) -> Self {
        self.tol = tol;
        self
    }

    /// Maximum iterations.
    #[must_use]
    pub fn max_iter(mut self, n: usize) -> Self {
        self.max_iter = n;
        self
    }

    fn check(&self) -> Result<(), TrainError> {
        check_param("tol", self.tol, self.tol > 0.0, "finite and > 0")?;
        if self.max_iter == 0 {
            return Err(TrainError::InvalidParam { name: "max_iter", value: "0".into(), expected: ">= 1" });
        }
        Ok(())
    }

    fn run(
        &self,
        nll: &dyn Fn(&[f64]) -> f64,
        x0: &[f64],
        names: &[&'static str],
        solver: &'static str,
    ) -> Result<Solved, TrainError> {
        self.check()?;
        let m = minimize(nll, x0, self.tol, self.max_iter, solver)?;
        let p: Vec<f64> = m.x.iter().map(|v| v.exp()).collect();
        let se = standard_errors(hessian(nll, &m.x), &p, names);
        Ok((p, -m.value, m.iterations, se))
    }

    /// Fits sBG to a cohort's active counts at the start of periods 0…n (`active[0]` = the
    /// cohort size; non-increasing).
    pub fn fit_sbg(&self, active: &[f64]) -> Result<ClvFit<Sbg>, TrainError> {
        if active.len() < 2 {
            return Err(TrainError::InvalidData("sBG needs active counts for at least periods 0 and 1".into()));
        }
        if active[0].is_nan() || active[0] <= 0.0 {
            return Err(TrainError::InvalidData(format!(
                "period 0 must hold the cohort size (> 0), found {}",
                active[0]
            )));
        }
        for t in 1..active.len() {
            if active[t] < 0.0 || active[t] > active[t - 1] {
                return Err(TrainError::InvalidData(format!(
                    "period {t}: {} active customers after {} (counts must be >= 0 and never increase)",
                    active[t],
                    active[t - 1]
                )));
            }
        }
        let nll = |th: &[f64]| -Sbg { alpha: th[0].exp(), beta: th[1].exp() }.log_likelihood(active);
        let (p, ll, iterations, se) = self.run(&nll, &[0.0, 0.0], &["alpha", "beta"], "sBG BFGS")?;
        Ok(ClvFit {
            model: Sbg { alpha: p[0], beta: p[1] },
            log_likelihood: ll,
            iterations,
            n: active[0] as u64,
            standard_errors: se,
        })
    }

    /// Fits sBG to individual subscriptions `(periods, churned)` (staggered starts; churned
    /// subscriptions have `periods ≥ 1`).
    pub fn fit_sbg_individual(&self, subs: &[(u32, bool)]) -> Result<ClvFit<Sbg>, TrainError> {
        if subs.is_empty() {
            return Err(TrainError::InvalidData("no subscriptions".into()));
        }
        if let Some(i) = subs.iter().position(|s| s.1 && s.0 == 0) {
            return Err(TrainError::InvalidData(format!("subscription {}: churned in period 0", i + 1)));
        }
        if !subs.iter().any(|s| s.1) {
            return Err(TrainError::InvalidData("no subscription churned: sBG needs churn to fit".into()));
        }
        let nll = |th: &[f64]| {
            let v = -Sbg { alpha: th[0].exp(), beta: th[1].exp() }.log_likelihood_individual(subs);
            if v.is_finite() { v } else { f64::INFINITY }
        };
        let (p, ll, iterations, se) = self.run(&nll, &[0.0, 0.0], &["alpha", "beta"], "sBG BFGS")?;
        Ok(ClvFit {
            model: Sbg { alpha: p[0], beta: p[1] },
            log_likelihood: ll,
            iterations,
            n: subs.len() as u64,
            standard_errors: se,
        })
    }

    /// Fits BG/NBD to RFM summaries by Newton's method on the likelihood's exact gradient
    /// and Hessian (see [`BgNbdData`]); the standard errors come from that Hessian.
    pub fn fit_bgnbd(&self, customers: &[Rfm]) -> Result<ClvFit<BgNbd>, TrainError> {
        self.check()?;
        check_rfm(customers)?;
        let (rows, weights) = merge(customers);
        let mean_t = rows.iter().zip(&weights).map(|(c, w)| w * c.t).sum::<f64>() / customers.len() as f64;
        let data = BgNbdData::new(rows, weights);
        let nll = |th: &[f64]| data.negative_local(th);
        let (m, at) = minimize_newton(&nll, &BgNbd::start(mean_t), self.tol, self.max_iter, "BG/NBD Newton")?;
        let p: Vec<f64> = m.x.iter().map(|v| v.exp()).collect();
        Ok(ClvFit {
            model: BgNbd::from_params(&p),
            log_likelihood: -m.value,
            iterations: m.iterations,
            n: customers.len() as u64,
            standard_errors: standard_errors(at.hess, &p, BgNbd::NAMES),
        })
    }

    /// Fits Pareto/NBD to RFM summaries.
    pub fn fit_pareto_nbd(&self, customers: &[Rfm]) -> Result<ClvFit<ParetoNbd>, TrainError> {
        self.fit_repeat(customers)
    }

    fn fit_repeat<M: RepeatModel>(&self, customers: &[Rfm]) -> Result<ClvFit<M>, TrainError> {
        check_rfm(customers)?;
        let (rows, weights) = merge(customers);
        let mean_t = rows.iter().zip(&weights).map(|(c, w)| w * c.t).sum::<f64>() / customers.len() as f64;
        let nll = |th: &[f64]| {
            let m = M::from_params(&th.iter().map(|v| v.exp()).collect::<Vec<_>>());
            let v = -ordered_sum(rows.len(), |i| weights[i] * m.log_likelihood_one(rows[i]));
            if v.is_finite() { v } else { f64::INFINITY }
        };
        let (p, ll, iterations, se) = self.run(&nll, &M::start(mean_t), M::NAMES, M::SOLVER)?;
        Ok(ClvFit {
            model: M::from_params(&p),
            log_likelihood: ll,
            iterations,
            n: customers.len() as u64,
            standard_errors: se,
        })
    }

    /// Fits Gamma-Gamma to customers' repeat-purchase counts `x` (≥ 1) and mean spend
    /// `m` (> 0). Rows with x = 0 must be left out by the caller (they carry no spend).
    pub fn fit_gamma_gamma(&self, x: &[f64], m: &[f64]) -> Result<ClvFit<GammaGamma>, TrainError> {
        if x.len() != m.len() || x.is_empty() {
            return Err(TrainError::InvalidData(format!("{} counts but {} spends", x.len(), m.len())));
        }
        if let Some(i) = (0..x.len()).find(|&i| !(x[i] >= 1.0 && m[i] > 0.0)) {
            return Err(TrainError::InvalidData(format!(
                "row {}: Gamma-Gamma needs frequency >= 1 and monetary_value > 0, found {} and {}",
                i + 1,
                x[i],
                m[i]
            )));
        }
        // Identical (x, m) pairs merged and sorted, as for the repeat models: the fit does
        // not depend on the customers' order.
        let mut pairs: BTreeMap<[u64; 2], f64> = BTreeMap::new();
        for (xi, mi) in x.iter().zip(m) {
            *pairs.entry([xi.to_bits(), mi.to_bits()]).or_default() += 1.0;
        }
        let pairs: Vec<(f64, f64, f64)> =
            pairs.into_iter().map(|([xi, mi], w)| (f64::from_bits(xi), f64::from_bits(mi), w)).collect();
        let mean = pairs.iter().map(|(_, mi, w)| w * mi).sum::<f64>() / m.len() as f64;
        let nll = |th: &[f64]| {
            let g = GammaGamma { p: th[0].exp(), q: th[1].exp(), gamma: th[2].exp() };
            let v = -ordered_sum(pairs.len(), |i| pairs[i].2 * g.log_likelihood_one(pairs[i].0, pairs[i].1));
            if v.is_finite() { v } else { f64::INFINITY }
        };
        let x0 = [0.0, 1.0_f64.ln().max(0.7), mean.max(1e-6).ln()];
        let (p, ll, iterations, se) = self.run(&nll, &x0, &["p", "q", "gamma"], "Gamma-Gamma BFGS")?;
        Ok(ClvFit {
            model: GammaGamma { p: p[0], q: p[1], gamma: p[2] },
            log_likelihood: ll,
            iterations,
            n: x.len() as u64,
            standard_errors: se,
        })
    }
}

/// A repeat-purchase model fitted to RFM summaries.
trait RepeatModel: Sized + Sync {
    /// Parameter names, in `from_params` order.
    const NAMES: &'static [&'static str];
    /// Solver name for errors.
    const SOLVER: &'static str;
    fn from_params(p: &[f64]) -> Self;
    fn log_likelihood_one(&self, c: Rfm) -> f64;
    /// Starting point in log space, scaled to the data's mean age.
    fn start(mean_t: f64) -> Vec<f64>;
}

impl RepeatModel for BgNbd {
    const NAMES: &'static [&'static str] = &["r", "alpha", "a", "b"];
    const SOLVER: &'static str = "BG/NBD Newton";
    fn from_params(p: &[f64]) -> Self {
        BgNbd { r: p[0], alpha: p[1], a: p[2], b: p[3] }
    }
    fn log_likelihood_one(&self, c: Rfm) -> f64 {
        BgNbd::log_likelihood_one(self, c)
    }
    fn start(mean_t: f64) -> Vec<f64> {
        vec![0.0, (mean_t / 10.0).max(1e-3).ln(), 0.0, 0.0]
    }
}

impl RepeatModel for ParetoNbd {
    const NAMES: &'static [&'static str] = &["r", "alpha", "s", "beta"];
    const SOLVER: &'static str = "Pareto/NBD BFGS";
    fn from_params(p: &[f64]) -> Self {
        ParetoNbd { r: p[0], alpha: p[1], s: p[2], beta: p[3] }
    }
    fn log_likelihood_one(&self, c: Rfm) -> f64 {
        ParetoNbd::log_likelihood_one(self, c)
    }
    fn start(mean_t: f64) -> Vec<f64> {
        let scale = (mean_t / 3.0).max(1e-3).ln();
        vec![0.0, scale, 0.0, scale]
    }
}

fn check_rfm(customers: &[Rfm]) -> Result<(), TrainError> {
    if customers.is_empty() {
        return Err(TrainError::InvalidData("no customers".into()));
    }
    for (i, c) in customers.iter().enumerate() {
        let ok = c.frequency >= 0.0
            && c.frequency.fract() == 0.0
            && c.t >= 0.0
            && c.recency >= 0.0
            && c.recency <= c.t
            && (c.frequency > 0.0 || c.recency == 0.0);
        if !ok {
            return Err(TrainError::InvalidData(format!(
                "row {}: frequency {}, recency {}, T {}: expected a whole frequency >= 0, 0 <= recency <= T, \
                 and recency 0 when frequency is 0",
                i + 1,
                c.frequency,
                c.recency,
                c.t
            )));
        }
    }
    Ok(())
}

/// Merges identical summaries into (row, weight), in the order of their values (so the
/// fit is the same bits whatever order, or partitions, the customers came in).
fn merge(customers: &[Rfm]) -> (Vec<Rfm>, Vec<f64>) {
    let mut keys: Vec<[u64; 3]> =
        customers.iter().map(|c| [c.frequency.to_bits(), c.recency.to_bits(), c.t.to_bits()]).collect();
    keys.par_sort_unstable();
    let mut rows = Vec::new();
    let mut weights: Vec<f64> = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        if i > 0 && keys[i - 1] == *k {
            *weights.last_mut().expect("a row before") += 1.0;
        } else {
            let [f, r, t] = k.map(f64::from_bits);
            rows.push(Rfm { frequency: f, recency: r, t });
            weights.push(1.0);
        }
    }
    (rows, weights)
}

/// The inverse of a Hessian of −ℓ in log-parameter space carried to each parameter by the
/// delta method (`None` where the Hessian is not positive definite).
fn standard_errors(h: Vec<f64>, p: &[f64], names: &[&'static str]) -> BTreeMap<&'static str, Option<f64>> {
    let n = p.len();
    let info = Array2::from_shape_vec((n, n), h).expect("n × n");
    let mut se = BTreeMap::new();
    for (i, name) in names.iter().enumerate() {
        let mut e = Array1::zeros(n);
        e[i] = 1.0;
        let v = cholesky_solve(info.clone(), e).map(|col| col[i]);
        se.insert(*name, v.filter(|v| v.is_finite() && *v >= 0.0).map(|v| v.sqrt() * p[i]));
    }
    se
}

/// The frequencies below which the x-only terms of the BG/NBD likelihood are built up as
/// sums (exact to round-off); above, through ln Γ, ψ and ψ′.
const SUMMED_BELOW: f64 = 1024.0;

/// The parts of a BG/NBD customer's log-likelihood that depend on the frequency x alone, and
/// their derivatives in (r, a, b): `c` = ln Γ(r+x)/Γ(r) + ln B(a, b+x)/B(a, b), and
/// ln(b + x − 1) with its reciprocal for the second term (x ≥ 1).
#[derive(Debug, Clone, Copy, Default)]
struct XTerms {
    c: f64,
    c_r: f64,
    c_a: f64,
    c_b: f64,
    c_rr: f64,
    c_aa: f64,
    c_bb: f64,
    ln_b1: f64,
    inv_b1: f64,
}

/// Merged RFM rows ordered by frequency, with the index of each row's frequency among the
/// distinct ones, so a likelihood evaluation computes the x-only terms once per distinct x.
struct BgNbdData {
    rows: Vec<Rfm>,
    weights: Vec<f64>,
    /// Distinct frequencies, ascending.
    xs: Vec<f64>,
    x_index: Vec<u32>,
}

impl BgNbdData {
    fn new(rows: Vec<Rfm>, weights: Vec<f64>) -> Self {
        let mut xs: Vec<f64> = rows.iter().map(|c| c.frequency).collect();
        xs.sort_by(f64::total_cmp);
        xs.dedup();
        let x_index = rows.iter().map(|c| xs.partition_point(|v| v.total_cmp(&c.frequency).is_lt()) as u32).collect();
        BgNbdData { rows, weights, xs, x_index }
    }

    fn x_terms(&self, r: f64, a: f64, b: f64) -> Vec<XTerms> {
        let mut out = Vec::with_capacity(self.xs.len());
        let mut acc = XTerms::default();
        let mut k = 0.0;
        for &x in &self.xs {
            let mut t = if x < SUMMED_BELOW {
                while k < x {
                    let (rk, bk, abk) = (r + k, b + k, a + b + k);
                    acc.c += rk.ln() + bk.ln() - abk.ln();
                    acc.c_r += 1.0 / rk;
                    acc.c_a -= 1.0 / abk;
                    acc.c_b += 1.0 / bk - 1.0 / abk;
                    acc.c_rr -= 1.0 / (rk * rk);
                    acc.c_aa += 1.0 / (abk * abk);
                    acc.c_bb += 1.0 / (abk * abk) - 1.0 / (bk * bk);
                    k += 1.0;
                }
                acc
            } else {
                let ab = a + b;
                XTerms {
                    c: ln_gamma(r + x) - ln_gamma(r) + ln_gamma(b + x) - ln_gamma(b) - ln_gamma(ab + x) + ln_gamma(ab),
                    c_r: digamma(r + x) - digamma(r),
                    c_a: digamma(ab) - digamma(ab + x),
                    c_b: digamma(b + x) - digamma(b) + digamma(ab) - digamma(ab + x),
                    c_rr: trigamma(r + x) - trigamma(r),
                    c_aa: trigamma(ab) - trigamma(ab + x),
                    c_bb: trigamma(b + x) - trigamma(b) + trigamma(ab) - trigamma(ab + x),
                    ..XTerms::default()
                }
            };
            if x >= 1.0 {
                t.ln_b1 = (b + x - 1.0).ln();
                t.inv_b1 = 1.0 / (b + x - 1.0);
            }
            out.push(t);
        }
        out
    }

    /// −ℓ with its gradient and Hessian in log-parameters θ = ln(r, α, a, b).
    ///
    /// Per customer, ℓ = c(x) + r ln α − (r + x) ln(α + T) + [x ≥ 1] ln(1 + e^D) with
    /// D = ln a − ln(b + x − 1) + (r + x)(ln(α + T) − ln(α + `t_x`)) — the paper's eq. 6 with
    /// its two terms factored — so ∂ℓ = ∂base + σ(D) ∂D and ∂²ℓ = ∂²base + σ(D) ∂²D +
    /// σ(D)(1 − σ(D)) ∂D ∂Dᵀ. Summed over chunks in a fixed order (thread-count independent).
    fn negative_local(&self, th: &[f64]) -> Local {
        let [r, al, a, b] = [th[0].exp(), th[1].exp(), th[2].exp(), th[3].exp()];
        let terms = self.x_terms(r, a, b);
        let (ln_al, inv_al, ln_a, inv_a) = (al.ln(), 1.0 / al, a.ln(), 1.0 / a);
        // Accumulators: value, gradient (r, α, a, b), Hessian upper triangle row by row.
        let sums = ordered_sum_n::<15>(self.rows.len(), |i, acc| {
            let c = self.rows[i];
            let w = self.weights[i];
            let xt = &terms[self.x_index[i] as usize];
            let x = c.frequency;
            let rx = r + x;
            let inv_t = 1.0 / (al + c.t);
            let lt = (al + c.t).ln();
            let mut v = [0.0; 15];
            v[0] = xt.c + r * ln_al - rx * lt;
            v[1] = xt.c_r + ln_al - lt;
            v[2] = r * inv_al - rx * inv_t;
            v[3] = xt.c_a;
            v[4] = xt.c_b;
            // (r,r) (r,α) (r,a) (r,b) (α,α) (α,a) (α,b) (a,a) (a,b) (b,b)
            v[5] = xt.c_rr;
            v[6] = inv_al - inv_t;
            v[9] = -r * inv_al * inv_al + rx * inv_t * inv_t;
            v[12] = xt.c_aa;
            v[13] = xt.c_aa;
            v[14] = xt.c_bb;
            if x >= 1.0 {
                let inv_x = 1.0 / (al + c.recency);
                let dr = lt - (al + c.recency).ln();
                let d = ln_a - xt.ln_b1 + rx * dr;
                let e = (-d.abs()).exp();
                let (soft, s) = if d > 0.0 { (d + e.ln_1p(), 1.0 / (1.0 + e)) } else { (e.ln_1p(), e / (1.0 + e)) };
                let q = s * (1.0 - s);
                let dd = [dr, rx * (inv_t - inv_x), inv_a, -xt.inv_b1];
                v[0] += soft;
                for k in 0..4 {
                    v[1 + k] += s * dd[k];
                }
                let mut h = 5;
                for i in 0..4 {
                    for j in i..4 {
                        v[h] += q * dd[i] * dd[j];
                        h += 1;
                    }
                }
                v[6] += s * (inv_t - inv_x);
                v[9] -= s * rx * (inv_t * inv_t - inv_x * inv_x);
                v[12] -= s * inv_a * inv_a;
                v[14] += s * xt.inv_b1 * xt.inv_b1;
            }
            for (a, v) in acc.iter_mut().zip(v) {
                *a += w * v;
            }
        });
        let p = [r, al, a, b];
        let grad: Vec<f64> = (0..4).map(|i| -p[i] * sums[1 + i]).collect();
        let mut hess = vec![0.0; 16];
        let mut h = 5;
        for i in 0..4 {
            for j in i..4 {
                let v = -p[i] * p[j] * sums[h] + if i == j { grad[i] } else { 0.0 };
                hess[i * 4 + j] = v;
                hess[j * 4 + i] = v;
                h += 1;
            }
        }
        let value = -sums[0];
        Local { value: if value.is_finite() { value } else { f64::INFINITY }, grad, hess }
    }
}

/// Σ f(i) for i in 0..n, K sums at once (`f` adds row i into the accumulator): chunks
/// summed in parallel, then added in chunk order, so the result does not depend on the
/// thread count.
fn ordered_sum_n<const K: usize>(n: usize, f: impl Fn(usize, &mut [f64; K]) + Sync) -> [f64; K] {
    const CHUNK: usize = 4_096;
    let parts: Vec<[f64; K]> = (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| {
            let mut acc = [0.0; K];
            for i in c * CHUNK..((c + 1) * CHUNK).min(n) {
                f(i, &mut acc);
            }
            acc
        })
        .collect();
    let mut out = [0.0; K];
    for p in parts {
        for (o, v) in out.iter_mut().zip(p) {
            *o += v;
        }
    }
    out
}

/// Σ f(i) for i in 0..n: chunks summed in parallel, then added in chunk order, so the
/// result does not depend on the thread count.
fn ordered_sum(n: usize, f: impl Fn(usize) -> f64 + Sync) -> f64 {
    const CHUNK: usize = 4_096;
    let parts: Vec<f64> =
        (0..n.div_ceil(CHUNK)).into_par_iter().map(|c| (c * CHUNK..((c + 1) * CHUNK).min(n)).map(&f).sum()).collect();
    parts.iter().sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fader & Hardie (2007), "How to Project Customer Retention", Table 1 and the MLEs
    /// in the text: Regular α = 0.704, β = 1.182; High End α = 0.668, β = 3.806.
    #[test]
    fn sbg_reproduces_fader_hardie_2007() {
        let regular = [1000.0, 631.0, 468.0, 382.0, 326.0, 289.0, 262.0, 241.0];
        let high_end = [1000.0, 869.0, 743.0, 653.0, 593.0, 551.0, 517.0, 491.0];
        let r = ClvParams::new().fit_sbg(&regular).unwrap();
        assert!((r.model.alpha - 0.704).abs() < 5e-4 && (r.model.beta - 1.182).abs() < 5e-4, "{:?}", r.model);
        let h = ClvParams::new().fit_sbg(&high_end).unwrap();
        assert!((h.model.alpha - 0.668).abs() < 5e-4 && (h.model.beta - 3.806).abs() < 5e-4, "{:?}", h.model);
        assert!(r.standard_errors["alpha"].is_some());
    }

    #[test]
    fn sbg_rejects_increasing_counts() {
        let err = ClvParams::new().fit_sbg(&[100.0, 90.0, 95.0]).unwrap_err();
        assert!(err.to_string().contains("period 2: 95 active customers after 90"), "{err}");
    }

    #[test]
    fn rfm_is_checked_row_by_row() {
        let bad = [Rfm { frequency: 1.0, recency: 5.0, t: 3.0 }];
        let err = ClvParams::new().fit_bgnbd(&bad).unwrap_err();
        assert!(err.to_string().contains("row 1: frequency 1, recency 5, T 3"), "{err}");
        let err = ClvParams::new().fit_gamma_gamma(&[1.0, 2.0], &[10.0, 0.0]).unwrap_err();
        assert!(err.to_string().contains("row 2"), "{err}");
    }

    /// Rows covering x = 0, small x (summed terms) and x past [`SUMMED_BELOW`] (ψ, ψ′).
    fn mixed_rows() -> (Vec<Rfm>, Vec<f64>) {
        let rows = vec![
            Rfm { frequency: 0.0, recency: 0.0, t: 30.0 },
            Rfm { frequency: 1.0, recency: 2.5, t: 40.0 },
            Rfm { frequency: 1.0, recency: 39.0, t: 40.0 },
            Rfm { frequency: 4.0, recency: 20.0, t: 52.0 },
            Rfm { frequency: 31.0, recency: 50.0, t: 52.0 },
            Rfm { frequency: 1500.0, recency: 51.0, t: 52.0 },
        ];
        (rows, vec![3.0, 1.0, 2.0, 1.0, 1.0, 1.0])
    }

    #[test]
    fn bgnbd_derivatives_match_the_model_and_finite_differences() {
        let (rows, weights) = mixed_rows();
        let data = BgNbdData::new(rows.clone(), weights.clone());
        let th = [0.3_f64.ln(), 5.0_f64.ln(), 0.8_f64.ln(), 2.5_f64.ln()];
        let at = data.negative_local(&th);
        let m = BgNbd { r: 0.3, alpha: 5.0, a: 0.8, b: 2.5 };
        let reference: f64 =
            -rows.iter().zip(&weights).map(|(c, w)| w * m.log_likelihood_one_reference(*c)).sum::<f64>();
        assert!((at.value - reference).abs() < 1e-9 * reference.abs(), "{} vs {reference}", at.value);
        let h = 1e-5;
        for i in 0..4 {
            let mut up = th;
            let mut dn = th;
            up[i] += h;
            dn[i] -= h;
            let (fu, fd) = (data.negative_local(&up), data.negative_local(&dn));
            let g = (fu.value - fd.value) / (2.0 * h);
            assert!((g - at.grad[i]).abs() < 1e-6 * (1.0 + g.abs()), "gradient {i}: {g} vs {}", at.grad[i]);
            for j in 0..4 {
                let hij = (fu.grad[j] - fd.grad[j]) / (2.0 * h);
                let got = at.hess[i * 4 + j];
                assert!((hij - got).abs() < 1e-6 * (1.0 + hij.abs()), "Hessian ({i},{j}): {hij} vs {got}");
            }
        }
    }

    #[test]
    fn bgnbd_newton_reaches_the_bfgs_optimum_and_merging_is_order_free() {
        let (rows, weights) = mixed_rows();
        let mut customers = Vec::new();
        for (c, w) in rows.iter().zip(&weights) {
            customers.extend(std::iter::repeat_n(*c, *w as usize));
        }
        // A few hundred customers so the likelihood has an interior optimum.
        for k in 0..300 {
            let x = f64::from(k % 5);
            let t = 20.0 + f64::from(k % 37);
            customers.push(Rfm {
                frequency: x,
                recency: if x > 0.0 { t * f64::from(k % 7 + 1) / 8.0 } else { 0.0 },
                t,
            });
        }
        let newton = ClvParams::new().fit_bgnbd(&customers).unwrap();
        let bfgs: ClvFit<BgNbd> = ClvParams::new().fit_repeat(&customers).unwrap();
        assert!(
            (newton.log_likelihood - bfgs.log_likelihood).abs() < 1e-6,
            "{} vs {}",
            newton.log_likelihood,
            bfgs.log_likelihood
        );
        let (n, b) = (newton.model, bfgs.model);
        for (x, y) in [(n.r, b.r), (n.alpha, b.alpha), (n.a, b.a), (n.b, b.b)] {
            assert!((x - y).abs() < 1e-4 * y.abs(), "{n:?} vs {b:?}");
        }
        for name in BgNbd::NAMES {
            let (x, y) = (newton.standard_errors[name].unwrap(), bfgs.standard_errors[name].unwrap());
            assert!((x - y).abs() < 1e-3 * y, "{name}: {x} vs {y}");
        }
        customers.reverse();
        let again = ClvParams::new().fit_bgnbd(&customers).unwrap();
        assert_eq!(again.log_likelihood.to_bits(), newton.log_likelihood.to_bits());
    }
}
