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

use std::collections::HashMap;

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

    /// Appends journey `i` of `from` — start, end, outcome and touches, groups mapped by
    /// `group` — and leaves it open: add touches of your own, then [`HazardData::close`].
    pub fn open_journey_from(&mut self, from: &HazardData, i: usize, group: impl Fn(u32) -> u32) {
        self.start.push(from.start[i]);
        self.end.push(from.end[i]);
        self.converted.push(from.converted[i]);
        for j in from.offsets[i]..from.offsets[i + 1] {
            self.touch_time.push(from.touch_time[j]);
            self.touch_group.push(group(from.touch_group[j]));
        }
    }

    /// Closes the journey being appended (see [`HazardData::open_journey_from`]).
    pub fn close(&mut self) {
        self.offsets.push(self.touch_time.len());
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
    let (raw, stats) = hazard_journeys_us(j, g);
    (raw.days(epoch_us, j.observation_end_us), stats, epoch_us)
}

/// The fit's journeys of [`hazard_data`] with times still in µs and censored journeys'
/// end left open: what a partition of a larger dataset can prepare before the whole
/// data's epoch and observation end are known. [`RawHazardData::days`] then gives the
/// same journeys [`hazard_data_from`] would (the partition's own observation end must not
/// be later than the whole data's: it is, when both come from the data).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawHazardData {
    /// Groups (the grouping's).
    pub n_groups: usize,
    /// Per journey: its user (index into [`Journeys::users`]).
    pub user: Vec<u32>,
    /// Per journey: the first order's time, µs, or `i64::MAX` when censored.
    pub end_us: Vec<i64>,
    /// Journey `i`'s touches are `offsets[i]..offsets[i + 1]`.
    pub offsets: Vec<usize>,
    /// Per touch: its time, µs.
    pub touch_us: Vec<i64>,
    /// Per touch: its group.
    pub touch_group: Vec<u32>,
}

impl RawHazardData {
    /// The journeys with times in days since `epoch_us`, censored ones ending at
    /// `observation_end_us`.
    #[must_use]
    pub fn days(&self, epoch_us: i64, observation_end_us: i64) -> HazardData {
        let mut data = HazardData { n_groups: self.n_groups, offsets: vec![0], ..HazardData::default() };
        self.days_into(&mut data, 0..self.end_us.len(), epoch_us, observation_end_us, |g| g);
        data
    }

    /// Appends `journeys` of these to `data` like [`RawHazardData::days`], groups mapped
    /// by `group` (a partition's into the whole data's).
    pub fn days_into(
        &self,
        data: &mut HazardData,
        journeys: std::ops::Range<usize>,
        epoch_us: i64,
        observation_end_us: i64,
        group: impl Fn(u32) -> u32,
    ) {
        let days = |us: i64| (us - epoch_us) as f64 / US_PER_DAY;
        for i in journeys {
            let (s, e) = (self.offsets[i], self.offsets[i + 1]);
            let converted = self.end_us[i] != i64::MAX;
            data.start.push(days(self.touch_us[s]));
            data.end.push(days(if converted { self.end_us[i] } else { observation_end_us }));
            data.converted.push(converted);
            data.user.push(self.user[i]);
            for t in s..e {
                data.touch_time.push(days(self.touch_us[t]));
                data.touch_group.push(group(self.touch_group[t]));
            }
            data.offsets.push(data.touch_time.len());
        }
    }
}

/// The fit's journeys of [`hazard_data`] in µs (see [`RawHazardData`]).
#[must_use]
pub fn hazard_journeys_us(j: &Journeys, g: &Grouping) -> (RawHazardData, HazardDataStats) {
    let code = roicast_data::schema::INTERACTIONS.iter().position(|i| *i == "code").map(|i| i as u8);
    let mut first_order = vec![i64::MAX; j.users.len()];
    for o in &j.orders {
        if o.user != NONE {
            let f = &mut first_order[o.user as usize];
            *f = (*f).min(o.ts);
        }
    }
    let mut data = RawHazardData { n_groups: g.names.len(), offsets: vec![0], ..RawHazardData::default() };
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
        let before = data.touch_us.len();
        for t in i..e {
            let r = &j.touches[t];
            if Some(r.interaction) == code || r.ts > end || (converted && r.ts == end) {
                continue;
            }
            data.touch_us.push(r.ts);
            data.touch_group.push(g.of_touch[t]);
        }
        if data.touch_us.len() == before {
            if converted {
                stats.converted_before_any_touch += 1;
            }
        } else {
            data.end_us.push(if converted { fo } else { i64::MAX });
            data.offsets.push(data.touch_us.len());
            data.user.push(u);
            stats.journeys += 1;
            stats.conversions += u64::from(converted);
        }
        i = e;
    }
    stats.touches = data.touch_us.len() as u64;
    (data, stats)
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
    /// Hierarchical fit: the class whose strength and decay this group's are shrunk toward
    /// (the channel of a creator's touches); absent for a group fitted freely.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// Hierarchical fit: `beta` over the class's strength (the creator effect on strength).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strength_effect: Option<f64>,
    /// Hierarchical fit: the half-life over the class's half-life (the effect on decay).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub half_life_effect: Option<f64>,
}

/// One class of a hierarchical fit: the strength and half-life its groups are shrunk
/// toward (geometric means: the class's `log β` and `log ω` are the means of its groups').
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassEstimate {
    /// Class name (a channel).
    pub class: String,
    /// The class's strength: expected conversions a touch of a typical member adds.
    pub beta: f64,
    /// The class's half-life in hours.
    pub half_life_hours: f64,
    /// Groups of the class in the fit.
    pub n_groups: u64,
}

/// The shrinkage of a hierarchical fit: each member group's `log β` and `log ω` are its
/// class's plus an effect drawn from `N(0, σ²)`, with the two `σ` chosen by the data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HierarchyEstimates {
    /// The classes.
    pub classes: Vec<ClassEstimate>,
    /// `σ` of the groups' `log β` around their class's.
    pub sigma_log_beta: f64,
    /// `σ` of the groups' `log` half-life around their class's.
    pub sigma_log_half_life: f64,
    /// How the `σ` were chosen.
    pub penalty_chosen_by: String,
    /// How the standard errors were computed.
    pub standard_errors: String,
    /// Updates of the `σ` until they settled.
    pub sigma_updates: usize,
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
    /// The shrinkage, when the fit was hierarchical (`--group-by creator`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hierarchy: Option<HierarchyEstimates>,
}

/// Format version of [`HazardModelFile`]: 2 added the `content_hash` ([`crate::seal`]).
pub const HAZARD_FILE_FORMAT: u32 = 2;

/// The saved data-driven attribution model (`roicast train attribution`). The field names
/// are a contract with tools outside roicast.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HazardModelFile {
    /// File format version.
    pub format: u32,
    /// `sha256:` of the file's bytes with these digits zeroed ([`crate::seal`]); set on save.
    #[serde(default)]
    pub content_hash: String,
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
        let json = self.to_bytes();
        roicast_data::io::write_bytes_atomic(path, &json)
            .map_err(|e| crate::ModelError::Io { path: path.to_owned(), source: std::io::Error::other(e.to_string()) })
    }

    /// The file's bytes: pretty JSON, sealed with its content hash.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let sealed = HazardModelFile { content_hash: crate::seal::PLACEHOLDER.to_owned(), ..self.clone() };
        crate::seal::seal(serde_json::to_vec_pretty(&sealed).expect("model file serialises"))
    }

    /// The same file with `content_hash` filled in: the hash its saved bytes will carry
    /// (so a model held in memory, e.g. returned to Python, equals the file).
    #[must_use]
    pub fn sealed(self) -> HazardModelFile {
        let hash = crate::seal::recorded(&self.to_bytes()).expect("sealed bytes record their hash");
        HazardModelFile { content_hash: hash, ..self }
    }

    /// Reads and checks a file: size limit, format, content hash, kind, parameters.
    pub fn load(path: &std::path::Path) -> Result<HazardModelFile, crate::ModelError> {
        #[derive(Deserialize)]
        struct Envelope {
            format: u32,
        }
        let bytes = crate::seal::read(path)?;
        let env: Envelope = serde_json::from_slice(&bytes)
            .map_err(|source| crate::ModelError::Parse { path: path.to_owned(), source })?;
        if env.format > HAZARD_FILE_FORMAT {
            return Err(crate::ModelError::FormatVersion {
                path: path.to_owned(),
                found: env.format,
                supported: HAZARD_FILE_FORMAT,
            });
        }
        crate::seal::verify(&bytes, path)?;
        let f: HazardModelFile = serde_json::from_slice(&bytes)
            .map_err(|source| crate::ModelError::Parse { path: path.to_owned(), source })?;
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

    /// ℓ, ∇ℓ and ∇²ℓ in `θ` (exact, analytic), the Hessian dense: the blocks of
    /// [`AdditiveHazard::sparse_derivatives`] laid out as a `p × p` matrix.
    #[must_use]
    pub fn derivatives(&self, data: &HazardData) -> Derivatives {
        self.sparse_derivatives(data).to_dense()
    }

    /// ℓ, ∇ℓ and ∇²ℓ in `θ` (exact, analytic), the Hessian block-sparse
    /// ([`SparseDerivatives`]): memory grows with the groups and the pairs of groups that
    /// meet in a converting journey, not with the square of the groups.
    ///
    /// Per touch only per-group sums are accumulated (the cumulative terms are separable by
    /// group); the coupling through `log λ(T)` is added once per converting journey.
    /// Chunks are computed in parallel a window at a time and added in chunk order, so the
    /// sums (and the fit) are the same bits whatever the thread count.
    #[must_use]
    pub fn sparse_derivatives(&self, data: &HazardData) -> SparseDerivatives {
        let k_groups = self.beta.len();
        let chunk = 8_192;
        let per_chunk = |c: usize| {
            let mut acc = SparseDerivatives::zero(k_groups);
            let base = 2 * k_groups;
            let mut cross: HashMap<(u32, u32), [f64; 4]> = HashMap::new();
            let mut cum = vec![0.0f64; 3 * k_groups];
            let mut curv = vec![0.0f64; 3 * k_groups];
            let mut exposure = 0.0;
            let mut inv_sum = 0.0;
            let mut dl = vec![0.0f64; 2 * k_groups];
            let mut d2 = vec![0.0f64; 3 * k_groups];
            let mut touched: Vec<usize> = Vec::new();
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
                let lambda0 = self.baseline;
                for (x, &k) in touched.iter().enumerate() {
                    let (a, b) = (2 * k, 2 * k + 1);
                    acc.gradient[a] += dl[a] * inv;
                    acc.gradient[b] += dl[b] * inv;
                    let blk = &mut acc.blocks[k];
                    // ∂ log λ = ∂λ/λ; ∂² log λ = ∂²λ/λ − ∂λ ∂λᵀ/λ².
                    blk[0] -= dl[a] * dl[a] * inv * inv;
                    blk[1] -= dl[a] * dl[b] * inv * inv;
                    blk[2] -= dl[b] * dl[b] * inv * inv;
                    acc.baseline_row[a] -= dl[a] * lambda0 * inv * inv;
                    acc.baseline_row[b] -= dl[b] * lambda0 * inv * inv;
                    for &l in &touched[x + 1..] {
                        let (lo, hi) = if k < l { (k, l) } else { (l, k) };
                        let e = cross.entry((lo as u32, hi as u32)).or_insert([0.0; 4]);
                        for u in 0..2 {
                            for v in 0..2 {
                                e[2 * u + v] -= dl[2 * lo + u] * dl[2 * hi + v] * inv * inv;
                            }
                        }
                    }
                }
                acc.baseline_baseline -= lambda0 * lambda0 * inv * inv;
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
            let lambda0 = self.baseline;
            acc.log_likelihood -= lambda0 * exposure;
            acc.gradient[base] += lambda0 * inv_sum - lambda0 * exposure;
            acc.baseline_baseline += lambda0 * inv_sum - lambda0 * exposure;
            for k in 0..k_groups {
                let (a, b) = (2 * k, 2 * k + 1);
                acc.log_likelihood -= cum[3 * k];
                acc.gradient[a] -= cum[3 * k];
                acc.gradient[b] -= cum[3 * k + 1];
                let blk = &mut acc.blocks[k];
                blk[0] += curv[3 * k] - cum[3 * k];
                blk[1] += curv[3 * k + 1] - cum[3 * k + 1];
                blk[2] += curv[3 * k + 2] - cum[3 * k + 2];
            }
            let mut cross: Vec<(u32, u32, [f64; 4])> = cross.into_iter().map(|((k, l), v)| (k, l, v)).collect();
            cross.sort_unstable_by_key(|&(k, l, _)| (k, l));
            acc.cross = cross;
            acc
        };
        let n_chunks = data.len().div_ceil(chunk);
        let window = rayon::current_num_threads().max(1);
        let mut total = SparseDerivatives::zero(k_groups);
        let mut c0 = 0;
        while c0 < n_chunks {
            let c1 = (c0 + window).min(n_chunks);
            let parts: Vec<SparseDerivatives> = (c0..c1).into_par_iter().map(per_chunk).collect();
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

/// ℓ, ∇ℓ and ∇²ℓ in `θ` (as [`Derivatives`]) with the Hessian kept block-sparse: a 2 × 2
/// block per group, the baseline's row, and a 2 × 2 block for each pair of groups that
/// share a converting journey. At thousands of groups (creators) the dense `p × p`
/// Hessian is hundreds of megabytes; this is a few blocks per group.
#[derive(Debug, Clone, PartialEq)]
pub struct SparseDerivatives {
    /// ℓ(θ).
    pub log_likelihood: f64,
    /// ∇ℓ (length `2k + 1`).
    pub gradient: Vec<f64>,
    /// Per group `k`: `[∂²ℓ/∂b², ∂²ℓ/∂b∂w, ∂²ℓ/∂w²]` with `b = log β_k`, `w = log ω_k`.
    pub blocks: Vec<[f64; 3]>,
    /// `∂²ℓ/∂θ_a ∂ log λ₀` for every `a < 2k`.
    pub baseline_row: Vec<f64>,
    /// `∂²ℓ/∂(log λ₀)²`.
    pub baseline_baseline: f64,
    /// `(k, l, [∂b_k∂b_l, ∂b_k∂w_l, ∂w_k∂b_l, ∂w_k∂w_l])` for groups `k < l` that share a
    /// converting journey, sorted by `(k, l)`.
    pub cross: Vec<(u32, u32, [f64; 4])>,
}

impl SparseDerivatives {
    /// Zero derivatives over `k_groups` groups.
    #[must_use]
    pub fn zero(k_groups: usize) -> SparseDerivatives {
        SparseDerivatives {
            log_likelihood: 0.0,
            gradient: vec![0.0; 2 * k_groups + 1],
            blocks: vec![[0.0; 3]; k_groups],
            baseline_row: vec![0.0; 2 * k_groups],
            baseline_baseline: 0.0,
            cross: Vec::new(),
        }
    }

    /// Number of parameters (`2k + 1`).
    #[must_use]
    pub fn n_params(&self) -> usize {
        self.gradient.len()
    }

    /// Adds `other` (the same parameters' derivatives over more journeys). Cross blocks
    /// present in both are summed, self's first.
    pub fn add(&mut self, other: &SparseDerivatives) {
        self.log_likelihood += other.log_likelihood;
        for (x, y) in self.gradient.iter_mut().zip(&other.gradient) {
            *x += y;
        }
        for (x, y) in self.blocks.iter_mut().zip(&other.blocks) {
            for i in 0..3 {
                x[i] += y[i];
            }
        }
        for (x, y) in self.baseline_row.iter_mut().zip(&other.baseline_row) {
            *x += y;
        }
        self.baseline_baseline += other.baseline_baseline;
        if other.cross.is_empty() {
            return;
        }
        let mine = std::mem::take(&mut self.cross);
        let mut out = Vec::with_capacity(mine.len() + other.cross.len());
        let (mut a, mut b) = (mine.into_iter().peekable(), other.cross.iter().peekable());
        loop {
            match (a.peek(), b.peek()) {
                (Some(x), Some(y)) => match (x.0, x.1).cmp(&(y.0, y.1)) {
                    std::cmp::Ordering::Less => out.push(a.next().expect("peeked")),
                    std::cmp::Ordering::Greater => out.push(*b.next().expect("peeked")),
                    std::cmp::Ordering::Equal => {
                        let (mut x, y) = (a.next().expect("peeked"), b.next().expect("peeked"));
                        for i in 0..4 {
                            x.2[i] += y.2[i];
                        }
                        out.push(x);
                    }
                },
                (Some(_), None) => out.extend(a.by_ref()),
                (None, Some(_)) => out.extend(b.by_ref().copied()),
                (None, None) => break,
            }
        }
        self.cross = out;
    }

    /// `(∇²ℓ) v`.
    #[must_use]
    pub fn hessian_times(&self, v: &[f64]) -> Vec<f64> {
        let p = self.n_params();
        let base = p - 1;
        let mut out = vec![0.0; p];
        for (k, h) in self.blocks.iter().enumerate() {
            let (a, b) = (2 * k, 2 * k + 1);
            out[a] += h[0] * v[a] + h[1] * v[b];
            out[b] += h[1] * v[a] + h[2] * v[b];
        }
        for (a, &h) in self.baseline_row.iter().enumerate() {
            out[a] += h * v[base];
            out[base] += h * v[a];
        }
        out[base] += self.baseline_baseline * v[base];
        for &(k, l, h) in &self.cross {
            let (k, l) = (2 * k as usize, 2 * l as usize);
            out[k] += h[0] * v[l] + h[1] * v[l + 1];
            out[k + 1] += h[2] * v[l] + h[3] * v[l + 1];
            out[l] += h[0] * v[k] + h[2] * v[k + 1];
            out[l + 1] += h[1] * v[k] + h[3] * v[k + 1];
        }
        out
    }

    /// The dense form ([`Derivatives`], row-major Hessian).
    #[must_use]
    pub fn to_dense(&self) -> Derivatives {
        let p = self.n_params();
        let base = p - 1;
        let mut h = vec![0.0; p * p];
        for (k, b) in self.blocks.iter().enumerate() {
            let (x, y) = (2 * k, 2 * k + 1);
            h[x * p + x] = b[0];
            h[x * p + y] = b[1];
            h[y * p + x] = b[1];
            h[y * p + y] = b[2];
        }
        for (a, &v) in self.baseline_row.iter().enumerate() {
            h[a * p + base] = v;
            h[base * p + a] = v;
        }
        h[base * p + base] = self.baseline_baseline;
        for &(k, l, v) in &self.cross {
            let (k, l) = (2 * k as usize, 2 * l as usize);
            for x in 0..2 {
                for y in 0..2 {
                    h[(k + x) * p + l + y] = v[2 * x + y];
                    h[(l + y) * p + k + x] = v[2 * x + y];
                }
            }
        }
        Derivatives { log_likelihood: self.log_likelihood, gradient: self.gradient.clone(), hessian: h }
    }

    /// Serialises to little-endian bytes (for partition partials):
    /// `k, ℓ, ∇ℓ, blocks, baseline row, baseline², n_cross, (k, l, block)…`.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let k = self.blocks.len();
        let mut out = Vec::with_capacity(8 * (3 + 2 * k + 1 + 3 * k + 2 * k) + 40 * self.cross.len());
        out.extend_from_slice(&(k as u64).to_le_bytes());
        let mut put = |v: f64| out.extend_from_slice(&v.to_le_bytes());
        put(self.log_likelihood);
        self.gradient.iter().for_each(|&v| put(v));
        self.blocks.iter().flatten().for_each(|&v| put(v));
        self.baseline_row.iter().for_each(|&v| put(v));
        put(self.baseline_baseline);
        out.extend_from_slice(&(self.cross.len() as u64).to_le_bytes());
        for &(k, l, v) in &self.cross {
            out.extend_from_slice(&k.to_le_bytes());
            out.extend_from_slice(&l.to_le_bytes());
            for x in v {
                out.extend_from_slice(&x.to_le_bytes());
            }
        }
        out
    }

    /// Reads [`SparseDerivatives::to_bytes`]; `None` if the bytes are not a whole,
    /// well-formed record of `k_groups` groups.
    #[must_use]
    pub fn from_bytes(bytes: &[u8], k_groups: usize) -> Option<SparseDerivatives> {
        let mut r = Cursor { bytes, at: 0 };
        if usize::try_from(r.u64()?).ok()? != k_groups {
            return None;
        }
        let log_likelihood = r.f64s(1)?[0];
        let gradient = r.f64s(2 * k_groups + 1)?;
        let flat = r.f64s(3 * k_groups)?;
        let baseline_row = r.f64s(2 * k_groups)?;
        let baseline_baseline = r.f64s(1)?[0];
        let n_cross = usize::try_from(r.u64()?).ok()?;
        if n_cross > bytes.len() / 40 {
            return None;
        }
        let mut cross: Vec<(u32, u32, [f64; 4])> = Vec::with_capacity(n_cross);
        for _ in 0..n_cross {
            let s = r.take(8)?;
            let k = u32::from_le_bytes(s[0..4].try_into().expect("4 bytes"));
            let l = u32::from_le_bytes(s[4..8].try_into().expect("4 bytes"));
            let v = r.f64s(4)?;
            if k >= l || l as usize >= k_groups || cross.last().is_some_and(|&(a, b, _)| (a, b) >= (k, l)) {
                return None;
            }
            cross.push((k, l, [v[0], v[1], v[2], v[3]]));
        }
        if r.at != bytes.len() {
            return None;
        }
        let blocks = flat.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect();
        Some(SparseDerivatives { log_likelihood, gradient, blocks, baseline_row, baseline_baseline, cross })
    }
}

/// Reads little-endian numbers off a byte slice.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.bytes.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(s)
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }

    fn f64s(&mut self, n: usize) -> Option<Vec<f64>> {
        let s = self.take(n.checked_mul(8)?)?;
        Some(s.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes"))).collect())
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

    /// Journeys over `k` groups with several groups per journey, from a fixed LCG.
    fn random_data(n: usize, k: u32, seed: u64) -> HazardData {
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (x >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut d = HazardData { n_groups: k as usize, offsets: vec![0], ..HazardData::default() };
        for _ in 0..n {
            let start = 10.0 * next();
            let n_touch = 1 + (4.0 * next()) as usize;
            let mut t = start;
            for _ in 0..n_touch {
                d.touch_time.push(t);
                d.touch_group.push((next() * f64::from(k)) as u32 % k);
                t += 3.0 * next();
            }
            d.start.push(start);
            d.end.push(t + next());
            d.converted.push(next() < 0.4);
            d.offsets.push(d.touch_time.len());
        }
        d
    }

    fn assert_close(a: f64, b: f64, what: &str) {
        assert!((a - b).abs() <= 1e-12 * (1.0 + a.abs().max(b.abs())), "{what}: {a} vs {b}");
    }

    #[test]
    fn block_derivatives_match_finite_differences_with_many_groups() {
        let m = AdditiveHazard {
            groups: (0..7).map(|i| format!("g{i}")).collect(),
            beta: vec![0.3, 0.1, 0.05, 0.2, 0.01, 0.4, 0.07],
            omega: vec![0.7, 0.2, 1.5, 0.3, 0.9, 0.05, 2.0],
            baseline: 0.02,
        };
        let d = random_data(400, 7, 5);
        let sparse = m.sparse_derivatives(&d);
        assert!(sparse.cross.len() >= 10, "few pairs of groups meet: {}", sparse.cross.len());
        let dense = sparse.to_dense();
        let theta = m.theta();
        let p = theta.len();
        let at = |t: &[f64]| AdditiveHazard::from_theta(m.groups.clone(), t);
        // ℓ from the separate likelihood code; ∇ℓ against its differences, ∇²ℓ against ∇ℓ's.
        assert_close(dense.log_likelihood, m.log_likelihood(&d), "log-likelihood");
        let h = 1e-5;
        for a in 0..p {
            let (mut up, mut dn) = (theta.clone(), theta.clone());
            up[a] += h;
            dn[a] -= h;
            let fd = (at(&up).log_likelihood(&d) - at(&dn).log_likelihood(&d)) / (2.0 * h);
            assert!(
                (fd - dense.gradient[a]).abs() < 1e-6 * (1.0 + fd.abs()),
                "gradient {a}: {fd} vs {}",
                dense.gradient[a]
            );
            let (gu, gd) = (at(&up).sparse_derivatives(&d).gradient, at(&dn).sparse_derivatives(&d).gradient);
            for b in 0..p {
                let fd = (gu[b] - gd[b]) / (2.0 * h);
                let got = dense.hessian[a * p + b];
                assert!((fd - got).abs() < 1e-5 * (1.0 + fd.abs()), "hessian {a},{b}: {fd} vs {got}");
            }
        }
        // H v from the blocks equals the dense product.
        let v: Vec<f64> = (0..p).map(|i| (i as f64 * 0.37).sin()).collect();
        let hv = sparse.hessian_times(&v);
        for r in 0..p {
            let want: f64 = (0..p).map(|c| dense.hessian[r * p + c] * v[c]).sum();
            assert_close(hv[r], want, &format!("(Hv)_{r}"));
        }
        // Bytes round trip; truncated, padded or mismatched bytes are refused.
        let bytes = sparse.to_bytes();
        assert_eq!(SparseDerivatives::from_bytes(&bytes, 7).as_ref(), Some(&sparse));
        assert!(SparseDerivatives::from_bytes(&bytes[..bytes.len() - 1], 7).is_none());
        assert!(SparseDerivatives::from_bytes(&[bytes.as_slice(), &[0]].concat(), 7).is_none());
        assert!(SparseDerivatives::from_bytes(&bytes, 8).is_none());
    }

    #[test]
    fn sparse_derivatives_add_over_parts_like_the_whole() {
        let m = AdditiveHazard {
            groups: (0..5).map(|i| format!("g{i}")).collect(),
            beta: vec![0.3, 0.1, 0.05, 0.2, 0.01],
            omega: vec![0.7, 0.2, 1.5, 0.3, 0.9],
            baseline: 0.01,
        };
        let d = random_data(3_000, 5, 11);
        let half = |lo: usize, hi: usize| {
            let mut p = HazardData { n_groups: 5, offsets: vec![0], ..HazardData::default() };
            for i in lo..hi {
                p.open_journey_from(&d, i, |g| g);
                p.close();
            }
            p
        };
        let mut parts = m.sparse_derivatives(&half(0, 1_000));
        parts.add(&m.sparse_derivatives(&half(1_000, 3_000)));
        let whole = m.sparse_derivatives(&d).to_dense();
        let parts = parts.to_dense();
        for (a, b) in parts.hessian.iter().zip(&whole.hessian) {
            assert_close(*a, *b, "hessian");
        }
        assert_close(parts.log_likelihood, whole.log_likelihood, "log-likelihood");
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
