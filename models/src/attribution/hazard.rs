//! The data-driven time-decay model: an additive hazard (Zhang, Wei & Ren, ICDM 2014).
//!
//! A user's conversion hazard at time `t` is
//!
//! ```text
//! λ(t) = λ₀ + Σ_{touches j, tⱼ < t} β_k ω_k · exp(−ω_k (t − tⱼ))      (k = group of touch j)
//! ```
//!
//! so a touch of group `k` adds, in total over time, an expected `β_k` conversions
//! ("strength"), front-loaded with half-life `ln 2 / ω_k`. `λ₀` is a constant baseline
//! (conversions no touch explains; roicast adds it to the paper's model so that organic
//! conversions do not inflate the touches). A user's journey runs from their first
//! touch to their first order (a conversion at `T`) or to the observation end (censored
//! at `T`); the log-likelihood is
//!
//! ```text
//! ℓ = Σ_users [ δ · log λ(T) − λ₀ (T − s) − Σ_j β_k (1 − exp(−ω_k (T − tⱼ))) ]
//! ```
//!
//! with `δ = 1` for a conversion. It is maximised over `(log β, log ω, log λ₀)` by the
//! solver in `roicast-training`; this module holds the likelihood with its exact gradient
//! and Hessian, and the credit rule: a touch's share of the hazard at the conversion
//! time, `β_k ω_k e^(−ω_k Δ) / λ(T)` (the rest is the baseline's).

use rayon::prelude::*;
use roicast_data::journeys::{Journeys, NONE};
use serde::{Deserialize, Serialize};

use super::credits::Grouping;

const US_PER_DAY: f64 = 86_400_000_000.0;

/// Journeys prepared for the hazard model. Times are in days.
#[derive(Debug, Clone, Default)]
pub struct HazardData {
    /// Number of groups.
    pub n_groups: usize,
    /// Per journey: start (first touch), days.
    pub start: Vec<f64>,
    /// Per journey: conversion or censoring time, days.
    pub end: Vec<f64>,
    /// Per journey: whether it ended in a conversion.
    pub converted: Vec<bool>,
    /// Journey `i`'s touches are `offsets[i]..offsets[i + 1]`.
    pub offsets: Vec<usize>,
    /// Touch times, days.
    pub touch_time: Vec<f64>,
    /// Touch groups.
    pub touch_group: Vec<u32>,
    /// Per journey: its user (an index into [`Journeys::users`]) when built by
    /// [`hazard_data`]; empty otherwise.
    pub user: Vec<u32>,
}

impl HazardData {
    /// Number of journeys.
    #[must_use]
    pub fn len(&self) -> usize {
        self.start.len()
    }

    /// Whether there are no journeys.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.start.is_empty()
    }

    /// Touches per group.
    #[must_use]
    pub fn touches_per_group(&self) -> Vec<u64> {
        let mut n = vec![0u64; self.n_groups];
        for &g in &self.touch_group {
            n[g as usize] += 1;
        }
        n
    }
}

/// What [`hazard_data`] kept and left out.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct HazardDataStats {
    /// Users whose journey entered the fit.
    pub journeys: u64,
    /// Of which converted.
    pub conversions: u64,
    /// Users whose first order came before any touch (no journey to fit).
    pub converted_before_any_touch: u64,
    /// Touches in the fit.
    pub touches: u64,
}

/// Prepares the fit's journeys: per user, the touches (code touches excluded: they are
/// made at the order itself) from the first touch to the user's first order
/// (converted) or to the observation end (censored). Times are days since `epoch_us`.
#[must_use]
pub fn hazard_data(j: &Journeys, g: &Grouping) -> (HazardData, HazardDataStats, i64) {
    let epoch_us = j.touches.iter().map(|t| t.ts).min().unwrap_or(0);
    hazard_data_from(j, g, epoch_us)
}

/// [`hazard_data`] with times counted from `epoch_us`: the partitions of one fit share
/// the whole data's epoch, so their journeys' times are the single-process fit's.
#[must_use]
pub fn hazard_data_from(j: &Journeys, g: &Grouping, epoch_us: i64) -> (HazardData, HazardDataStats, i64) {
    let code = roicast_data::schema::INTERACTIONS.iter().position(|i| *i == "code").map(|i| i as u8);
    let mut first_order = vec![i64::MAX; j.users.len()];
    for o in &j.orders {
        if o.user != NONE {
            let f = &mut first_order[o.user as usize];
            *f = (*f).min(o.ts);
        }
    }
    let days = |us: i64| (us - epoch_us) as f64 / US_PER_DAY;
    let mut data = HazardData { n_groups: g.names.len(), offsets: vec![0], ..HazardData::default() };
    let mut stats = HazardDataStats::default();
    let mut i = 0;
    while i < j.touches.len() {
        let u = j.touches[i].user;
        let mut e = i;
        while e < j.touches.len() && j.touches[e].user == u {
            e += 1;
        }
        let fo = first_order[u as usize];
        let converted = fo != i64::MAX && fo <= j.observation_end_us;
        let end = if converted { fo } else { j.observation_end_us };
        let before = data.touch_time.len();
        for t in i..e {
            let r = &j.touches[t];
            if Some(r.interaction) == code || r.ts > end || (converted && r.ts == end) {
                continue;
            }
            data.touch_time.push(days(r.ts));
            data.touch_group.push(g.of_touch[t]);
        }
        if data.touch_time.len() == before {
            if converted {
                stats.converted_before_any_touch += 1;
            }
        } else {
            data.start.push(data.touch_time[before]);
            data.end.push(days(end));
            data.converted.push(converted);
            data.offsets.push(data.touch_time.len());
            data.user.push(u);
            stats.journeys += 1;
            stats.conversions += u64::from(converted);
        }
        i = e;
    }
    stats.touches = data.touch_time.len() as u64;
    (data, stats, epoch_us)
}

/// One group's estimates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupEstimate {
    /// Group name.
    pub group: String,
    /// Expected conversions one touch adds.
    pub beta: f64,
    /// Standard error of `beta` (`None` at the bound or for a group without touches).
    pub beta_se: Option<f64>,
    /// Half-life in hours.
    pub half_life_hours: f64,
    /// Standard error of the half-life in hours.
    pub half_life_hours_se: Option<f64>,
    /// Touches of the group in the fit.
    pub n_touches: u64,
    /// Whether `beta` hit its lower bound.
    pub at_bound: bool,
}

/// What a fit estimated, with its diagnostics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HazardEstimates {
    /// Per group.
    pub groups: Vec<GroupEstimate>,
    /// Baseline hazard per day.
    pub baseline_per_day: f64,
    /// Its standard error.
    pub baseline_per_day_se: Option<f64>,
    /// Log-likelihood at the fit.
    pub log_likelihood: f64,
    /// Solver iterations.
    pub iterations: usize,
    /// `true`: a fit that does not converge is an error, never saved.
    pub converged: bool,
}

/// Format version of [`HazardModelFile`].
pub const HAZARD_FILE_FORMAT: u32 = 1;

/// The saved data-driven attribution model (`roicast train attribution`). The field names
/// are a contract with tools outside roicast.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HazardModelFile {
    /// File format version.
    pub format: u32,
    /// Always `additive_hazard`.
    pub model: String,
    /// roicast version that wrote it.
    pub roicast_version: String,
    /// Grouping the model was fitted with (`channel`, `creator`, `platform`, `channel_interaction`).
    pub group_by: String,
    /// The estimates (flattened: `groups`, `baseline_per_day`, `log_likelihood`, …).
    #[serde(flatten)]
    pub estimates: HazardEstimates,
    /// SHA-256 over the training inputs (touchpoints and orders files, in order).
    pub data_fingerprint: String,
    /// Parameters of the fit and of journey building.
    pub params: serde_json::Value,
    /// Counts of the journeys fitted.
    pub journeys: serde_json::Value,
}

impl HazardModelFile {
    /// The model to credit with.
    #[must_use]
    pub fn hazard(&self) -> AdditiveHazard {
        AdditiveHazard {
            groups: self.estimates.groups.iter().map(|g| g.group.clone()).collect(),
            beta: self.estimates.groups.iter().map(|g| g.beta).collect(),
            omega: self.estimates.groups.iter().map(|g| std::f64::consts::LN_2 / (g.half_life_hours / 24.0)).collect(),
            baseline: self.estimates.baseline_per_day,
        }
    }

    /// Writes the file atomically.
    pub fn save(&self, path: &std::path::Path) -> Result<(), crate::ModelError> {
        let json = serde_json::to_vec_pretty(self).expect("model file serialises");
        roicast_data::io::write_bytes_atomic(path, &json)
            .map_err(|e| crate::ModelError::Io { path: path.to_owned(), source: std::io::Error::other(e.to_string()) })
    }

    /// Reads and checks a file.
    pub fn load(path: &std::path::Path) -> Result<HazardModelFile, crate::ModelError> {
        let bytes = std::fs::read(path).map_err(|source| crate::ModelError::Io { path: path.to_owned(), source })?;
        let f: HazardModelFile = serde_json::from_slice(&bytes)
            .map_err(|source| crate::ModelError::Parse { path: path.to_owned(), source })?;
        if f.format > HAZARD_FILE_FORMAT {
            return Err(crate::ModelError::FormatVersion {
                path: path.to_owned(),
                found: f.format,
                supported: HAZARD_FILE_FORMAT,
            });
        }
        if f.model != "additive_hazard" {
            return Err(crate::ModelError::WrongKind {
                path: path.to_owned(),
                found: f.model,
                expected: "additive_hazard".into(),
            });
        }
        if let Some(g) =
            f.estimates.groups.iter().find(|g| !(g.beta >= 0.0 && g.half_life_hours > 0.0 && g.beta.is_finite()))
        {
            return Err(crate::ModelError::InvalidInput(format!(
                "{}: group `{}` has beta {} and half-life {} h: expected beta >= 0 and a positive half-life",
                path.display(),
                g.group,
                g.beta,
                g.half_life_hours
            )));
        }
        Ok(f)
    }
}

/// A fitted additive-hazard model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdditiveHazard {
    /// Group names, in parameter order.
    pub groups: Vec<String>,
    /// `β_k`: expected conversions one touch adds over time.
    pub beta: Vec<f64>,
    /// `ω_k`: decay rate per day.
    pub omega: Vec<f64>,
    /// `λ₀`: baseline hazard per day.
    pub baseline: f64,
}

/// The log-likelihood with its gradient and Hessian in the parameters
/// `θ = (log β_0, log ω_0, log β_1, log ω_1, …, log λ₀)`.
#[derive(Debug, Clone)]
pub struct Derivatives {
    /// ℓ(θ).
    pub log_likelihood: f64,
    /// ∇ℓ.
    pub gradient: Vec<f64>,
    /// ∇²ℓ, row-major `p × p`.
    pub hessian: Vec<f64>,
}

impl AdditiveHazard {
    /// Parameters as `θ` (see [`Derivatives`]).
    #[must_use]
    pub fn theta(&self) -> Vec<f64> {
        let mut t = Vec::with_capacity(2 * self.beta.len() + 1);
        for k in 0..self.beta.len() {
            t.push(self.beta[k].ln());
            t.push(self.omega[k].ln());
        }
        t.push(self.baseline.ln());
        t
    }

    /// A model from `θ`.
    #[must_use]
    pub fn from_theta(groups: Vec<String>, theta: &[f64]) -> AdditiveHazard {
        let k = groups.len();
        AdditiveHazard {
            beta: (0..k).map(|i| theta[2 * i].exp()).collect(),
            omega: (0..k).map(|i| theta[2 * i + 1].exp()).collect(),
            baseline: theta[2 * k].exp(),
            groups,
        }
    }

    /// The model re-indexed to `names` (a grouping of new data): groups the model does not
    /// know get no hazard. Returns the aligned model and the names it did not know.
    #[must_use]
    pub fn aligned(&self, names: &[String]) -> (AdditiveHazard, Vec<String>) {
        let mut unknown = Vec::new();
        let mut out =
            AdditiveHazard { groups: names.to_vec(), beta: Vec::new(), omega: Vec::new(), baseline: self.baseline };
        for n in names {
            if let Some(k) = self.groups.iter().position(|g| g == n) {
                out.beta.push(self.beta[k]);
                out.omega.push(self.omega[k]);
            } else {
                unknown.push(n.clone());
                out.beta.push(0.0);
                out.omega.push(1.0);
            }
        }
        (out, unknown)
    }

    /// Half-life of group `k` in days.
    #[must_use]
    pub fn half_life_days(&self, k: usize) -> f64 {
        std::f64::consts::LN_2 / self.omega[k]
    }

    /// Hazard a touch of group `k` adds `delta_days` after it (0 for `delta_days ≤ 0`).
    #[must_use]
    pub fn touch_hazard(&self, k: usize, delta_days: f64) -> f64 {
        if delta_days <= 0.0 { 0.0 } else { self.beta[k] * self.omega[k] * (-self.omega[k] * delta_days).exp() }
    }

    /// Log-likelihood only (cheaper than [`AdditiveHazard::derivatives`]).
    #[must_use]
    pub fn log_likelihood(&self, data: &HazardData) -> f64 {
        (0..data.len())
            .into_par_iter()
            .map(|i| {
                let (s, e) = (data.offsets[i], data.offsets[i + 1]);
                let t_end = data.end[i];
                let mut rate = self.baseline;
                let mut cumulative = self.baseline * (t_end - data.start[i]);
                for j in s..e {
                    let k = data.touch_group[j] as usize;
                    let d = t_end - data.touch_time[j];
                    if d <= 0.0 {
                        continue;
                    }
                    let decay = (-self.omega[k] * d).exp();
                    rate += self.beta[k] * self.omega[k] * decay;
                    cumulative += self.beta[k] * (1.0 - decay);
                }
                if data.converted[i] { rate.ln() - cumulative } else { -cumulative }
            })
            .sum()
    }

    /// ℓ, ∇ℓ and ∇²ℓ in `θ` (exact, analytic).
    ///
    /// Per touch only per-group sums are accumulated (the cumulative terms are separable by
    /// group); the coupling through `log λ(T)` is added once per converting journey.
    #[must_use]
    pub fn derivatives(&self, data: &HazardData) -> Derivatives {
        let k_groups = self.beta.len();
        let p = 2 * k_groups + 1;
        let base = p - 1;
        let zero = || Derivatives { log_likelihood: 0.0, gradient: vec![0.0; p], hessian: vec![0.0; p * p] };
        let chunk = 8_192;
        let per_chunk = |c: usize| {
            let mut acc = zero();
            // Per group over the chunk: Σ H, Σ ∂H/∂b, Σ ∂²H/∂b² (cumulative terms) and
            // Σ ∂²λ/λ blocks (aa, ab, bb) of converting journeys.
            let mut cum = vec![0.0f64; 3 * k_groups];
            let mut curv = vec![0.0f64; 3 * k_groups];
            let mut exposure = 0.0;
            let mut inv_sum = 0.0;
            // Per journey: ∂λ/∂θ for the groups it touches.
            let mut dl = vec![0.0f64; 2 * k_groups];
            let mut d2 = vec![0.0f64; 3 * k_groups];
            let mut touched: Vec<usize> = Vec::new();
            let mut idx: Vec<usize> = Vec::new();
            for i in c * chunk..((c + 1) * chunk).min(data.len()) {
                let (s, e) = (data.offsets[i], data.offsets[i + 1]);
                let t_end = data.end[i];
                exposure += t_end - data.start[i];
                let converted = data.converted[i];
                let mut rate = self.baseline;
                for j in s..e {
                    let k = data.touch_group[j] as usize;
                    let d = t_end - data.touch_time[j];
                    if d <= 0.0 {
                        continue;
                    }
                    let (beta, omega) = (self.beta[k], self.omega[k]);
                    let decay = (-omega * d).exp();
                    let od = omega * d;
                    let h_b = beta * od * decay;
                    cum[3 * k] += beta * (1.0 - decay);
                    cum[3 * k + 1] += h_b;
                    cum[3 * k + 2] += h_b * (1.0 - od);
                    if converted {
                        let h = beta * omega * decay;
                        rate += h;
                        if !touched.contains(&k) {
                            touched.push(k);
                        }
                        let one = 1.0 - od;
                        dl[2 * k] += h;
                        dl[2 * k + 1] += h * one;
                        d2[3 * k] += h;
                        d2[3 * k + 1] += h * one;
                        d2[3 * k + 2] += h * (one * one - od);
                    }
                }
                if !converted {
                    continue;
                }
                acc.log_likelihood += rate.ln();
                let inv = 1.0 / rate;
                inv_sum += inv;
                // ∂ log λ = ∂λ/λ; ∂² log λ = ∂²λ/λ − ∂λ ∂λᵀ/λ².
                idx.clear();
                for &k in &touched {
                    idx.push(2 * k);
                    idx.push(2 * k + 1);
                }
                let lambda0 = self.baseline;
                for (x, &a) in idx.iter().enumerate() {
                    acc.gradient[a] += dl[a] * inv;
                    for &b in &idx[x..] {
                        let v = dl[a] * dl[b] * inv * inv;
                        acc.hessian[a * p + b] -= v;
                        if a != b {
                            acc.hessian[b * p + a] -= v;
                        }
                    }
                    let v = dl[a] * lambda0 * inv * inv;
                    acc.hessian[a * p + base] -= v;
                    acc.hessian[base * p + a] -= v;
                }
                acc.hessian[base * p + base] -= lambda0 * lambda0 * inv * inv;
                for &k in &touched {
                    curv[3 * k] += d2[3 * k] * inv;
                    curv[3 * k + 1] += d2[3 * k + 1] * inv;
                    curv[3 * k + 2] += d2[3 * k + 2] * inv;
                    dl[2 * k] = 0.0;
                    dl[2 * k + 1] = 0.0;
                    d2[3 * k] = 0.0;
                    d2[3 * k + 1] = 0.0;
                    d2[3 * k + 2] = 0.0;
                }
                touched.clear();
            }
            // Baseline: ℓ gets Σ log λ (above) − λ₀ Σ (T − s); ∂/∂c of log λ is λ₀/λ.
            let lambda0 = self.baseline;
            acc.log_likelihood -= lambda0 * exposure;
            acc.gradient[base] += lambda0 * inv_sum - lambda0 * exposure;
            acc.hessian[base * p + base] += lambda0 * inv_sum - lambda0 * exposure;
            for k in 0..k_groups {
                let (a, b) = (2 * k, 2 * k + 1);
                acc.log_likelihood -= cum[3 * k];
                acc.gradient[a] -= cum[3 * k];
                acc.gradient[b] -= cum[3 * k + 1];
                acc.hessian[a * p + a] += curv[3 * k] - cum[3 * k];
                acc.hessian[a * p + b] += curv[3 * k + 1] - cum[3 * k + 1];
                acc.hessian[b * p + a] += curv[3 * k + 1] - cum[3 * k + 1];
                acc.hessian[b * p + b] += curv[3 * k + 2] - cum[3 * k + 2];
            }
            acc
        };
        // Chunks are computed in parallel a window at a time and added in chunk order, so
        // the sums (and the fit) are the same bits whatever the thread count.
        let n_chunks = data.len().div_ceil(chunk);
        let window = rayon::current_num_threads().max(1);
        let mut total = zero();
        let mut c0 = 0;
        while c0 < n_chunks {
            let c1 = (c0 + window).min(n_chunks);
            let parts: Vec<Derivatives> = (c0..c1).into_par_iter().map(per_chunk).collect();
            for part in &parts {
                total.add(part);
            }
            c0 = c1;
        }
        total
    }
}

impl Derivatives {
    /// Adds `other` (the same parameters' derivatives over more journeys) to these.
    pub fn add(&mut self, other: &Derivatives) {
        self.log_likelihood += other.log_likelihood;
        for (x, y) in self.gradient.iter_mut().zip(&other.gradient) {
            *x += y;
        }
        for (x, y) in self.hessian.iter_mut().zip(&other.hessian) {
            *x += y;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> HazardData {
        // Three journeys over two groups: converted, censored, converted with a tie at T.
        HazardData {
            n_groups: 2,
            start: vec![0.0, 1.0, 2.0],
            end: vec![3.0, 10.0, 4.0],
            converted: vec![true, false, true],
            offsets: vec![0, 3, 4, 6],
            touch_time: vec![0.0, 1.5, 2.5, 1.0, 2.0, 4.0],
            touch_group: vec![0, 1, 0, 1, 1, 0],
            user: Vec::new(),
        }
    }

    fn model() -> AdditiveHazard {
        AdditiveHazard {
            groups: vec!["a".into(), "b".into()],
            beta: vec![0.3, 0.1],
            omega: vec![0.7, 0.2],
            baseline: 0.02,
        }
    }

    #[test]
    fn derivatives_match_finite_differences() {
        let d = data();
        let m = model();
        let theta = m.theta();
        let exact = m.derivatives(&d);
        assert!((exact.log_likelihood - m.log_likelihood(&d)).abs() < 1e-12);
        let p = theta.len();
        let h = 1e-5;
        let ll = |t: &[f64]| AdditiveHazard::from_theta(m.groups.clone(), t).log_likelihood(&d);
        let grad = |t: &[f64]| AdditiveHazard::from_theta(m.groups.clone(), t).derivatives(&d).gradient;
        for a in 0..p {
            let mut up = theta.clone();
            let mut dn = theta.clone();
            up[a] += h;
            dn[a] -= h;
            let fd = (ll(&up) - ll(&dn)) / (2.0 * h);
            assert!((fd - exact.gradient[a]).abs() < 1e-7, "gradient {a}: {fd} vs {}", exact.gradient[a]);
            let (gu, gd) = (grad(&up), grad(&dn));
            for b in 0..p {
                let fd = (gu[b] - gd[b]) / (2.0 * h);
                assert!(
                    (fd - exact.hessian[a * p + b]).abs() < 1e-6,
                    "hessian {a},{b}: {fd} vs {}",
                    exact.hessian[a * p + b]
                );
            }
        }
    }

    #[test]
    fn touches_at_or_after_the_end_add_nothing() {
        let m = model();
        assert_eq!(m.touch_hazard(0, 0.0), 0.0);
        assert_eq!(m.touch_hazard(0, -1.0), 0.0);
        assert!((m.touch_hazard(0, 1.0) - 0.3 * 0.7 * (-0.7f64).exp()).abs() < 1e-15);
        assert!((m.half_life_days(0) - std::f64::consts::LN_2 / 0.7).abs() < 1e-15);
    }
}
