//! Maximum-likelihood fit of the additive-hazard attribution model
//! ([`roicast_models::attribution::hazard`]).
//!
//! Newton's method on `θ = (log β, log ω, log λ₀)` with the exact Hessian and
//! Levenberg–Marquardt damping: a step is accepted only if it raises the likelihood, and
//! the damping shrinks after a success and grows after a failure, so the solver is
//! monotone from any start. It stops when the Newton decrement `gᵀδ / 2` falls below
//! `tol · (1 + |ℓ|)`; not converging within `max_iter` is an error, never a silent result.
//! Standard errors come from the inverse observed information (the negative Hessian at
//! the optimum), carried to `β` and the half-life by the delta method. A group whose
//! strength goes to the lower bound (`β` → 0: a group that does not move conversions,
//! e.g. one seen only in non-converting journeys) is reported at the bound, without
//! standard errors.
//!
//! | param | default | range |
//! |---|---|---|
//! | `max_iter` | 200 | ≥ 1 |
//! | `tol` | 1e-10 | finite, > 0 |
//! | `init_beta` | 0.05 | finite, > 0 |
//! | `init_half_life_days` | 1.0 | finite, > 0 |

use ndarray::{Array1, Array2};
use roicast_models::attribution::hazard::{AdditiveHazard, Derivatives, GroupEstimate, HazardData, HazardEstimates};
use serde::{Deserialize, Serialize};

use crate::{TrainError, check_param, cholesky_inverse, cholesky_solve};

/// Lower bound of `log β` (β = 1e-12).
pub(crate) const LOG_BETA_FLOOR: f64 = -27.631_021_115_928_547;

/// `log β` below which a group is reported at the bound (β < 1e-7).
pub(crate) const BOUND_LOG_BETA: f64 = -16.118_095_650_958_32;

/// Solver parameters (unchecked until [`AdditiveHazardParams::fit`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct AdditiveHazardParams {
    pub(crate) max_iter: usize,
    pub(crate) tol: f64,
    pub(crate) init_beta: f64,
    pub(crate) init_half_life_days: f64,
}

impl Default for AdditiveHazardParams {
    fn default() -> Self {
        AdditiveHazardParams { max_iter: 200, tol: 1e-10, init_beta: 0.05, init_half_life_days: 1.0 }
    }
}

/// What the solver needs of the journeys besides the derivatives: counts that add up
/// over partitions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HazardSummary {
    /// Converting journeys.
    pub conversions: u64,
    /// Touches per group.
    pub touches_per_group: Vec<u64>,
    /// Σ (end − start) over journeys, days (sets the baseline's starting value).
    pub exposure_days: f64,
}

impl HazardSummary {
    /// The summary of `data`.
    #[must_use]
    pub fn of(data: &HazardData) -> HazardSummary {
        HazardSummary {
            conversions: data.converted.iter().filter(|c| **c).count() as u64,
            touches_per_group: data.touches_per_group(),
            exposure_days: data.end.iter().zip(&data.start).map(|(e, s)| e - s).sum(),
        }
    }
}

/// A fitted model with its estimates and diagnostics.
#[derive(Debug, Clone, Serialize)]
pub struct HazardFit {
    /// The model.
    pub model: AdditiveHazard,
    /// Estimates, standard errors, log-likelihood and iterations.
    pub estimates: HazardEstimates,
}

impl AdditiveHazardParams {
    /// Defaults.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Maximum Newton iterations.
    #[must_use]
    pub fn max_iter(mut self, n: usize) -> Self {
        self.max_iter = n;
        self
    }

    /// Convergence tolerance on the Newton decrement, relative to `1 + |ℓ|`.
    #[must_use]
    pub fn tol(mut self, tol: f64) -> Self {
        self.tol = tol;
        self
    }

    /// Starting strength of every group.
    #[must_use]
    pub fn init_beta(mut self, beta: f64) -> Self {
        self.init_beta = beta;
        self
    }

    /// Starting half-life of every group, days.
    #[must_use]
    pub fn init_half_life_days(mut self, days: f64) -> Self {
        self.init_half_life_days = days;
        self
    }

    pub(crate) fn check(&self) -> Result<(), TrainError> {
        if self.max_iter == 0 {
            return Err(TrainError::InvalidParam { name: "max_iter", value: "0".into(), expected: ">= 1" });
        }
        check_param("tol", self.tol, self.tol > 0.0, "finite and > 0")?;
        check_param("init_beta", self.init_beta, self.init_beta > 0.0, "finite and > 0")?;
        check_param("init_half_life_days", self.init_half_life_days, self.init_half_life_days > 0.0, "finite and > 0")
    }

    /// Fits the model to `data` with groups named `groups` (`groups.len() == data.n_groups`).
    pub fn fit(&self, data: &HazardData, groups: &[String]) -> Result<HazardFit, TrainError> {
        if groups.len() != data.n_groups {
            return Err(TrainError::InvalidData(format!("{} group names for {} groups", groups.len(), data.n_groups)));
        }
        self.fit_with(groups, &HazardSummary::of(data), |m| Ok(m.derivatives(data)))
    }

    /// Fits the model given the data's [`HazardSummary`] and a function giving ℓ and its
    /// derivatives at a model: the same solver whether the journeys are here
    /// ([`AdditiveHazardParams::fit`]) or spread over partitions whose derivatives are
    /// summed in a fixed order (the Spark adapter).
    pub fn fit_with(
        &self,
        groups: &[String],
        summary: &HazardSummary,
        mut derive: impl FnMut(&AdditiveHazard) -> Result<Derivatives, TrainError>,
    ) -> Result<HazardFit, TrainError> {
        self.check()?;
        if groups.len() != summary.touches_per_group.len() {
            return Err(TrainError::InvalidData(format!(
                "{} group names for {} groups",
                groups.len(),
                summary.touches_per_group.len()
            )));
        }
        let n_conv = summary.conversions;
        if n_conv == 0 {
            return Err(TrainError::InvalidData("no converting journeys: the model needs conversions to fit".into()));
        }
        let k = groups.len();
        let p = 2 * k + 1;
        let n_touches = &summary.touches_per_group;
        // Groups without touches have no likelihood; their parameters stay fixed.
        let active: Vec<usize> = (0..p).filter(|&i| i == p - 1 || n_touches[i / 2] > 0).collect();
        let exposure = summary.exposure_days;
        let mut theta = vec![0.0; p];
        for g in 0..k {
            theta[2 * g] = self.init_beta.ln();
            theta[2 * g + 1] = (std::f64::consts::LN_2 / self.init_half_life_days).ln();
        }
        theta[p - 1] = (0.5 * n_conv as f64 / exposure.max(1e-9)).max(1e-12).ln();
        let model_at = |t: &[f64]| AdditiveHazard::from_theta(groups.to_vec(), t);
        let mut d = derive(&model_at(&theta))?;
        let mut mu = 1e-3;
        let mut iterations = 0;
        let mut converged = false;
        let mut last_decrement = f64::INFINITY;
        while iterations < self.max_iter {
            iterations += 1;
            // Solve (−H + μ·diag) δ = g on the active parameters.
            let m = active.len();
            let step = loop {
                let mut a = Array2::<f64>::zeros((m, m));
                let mut b = Array1::<f64>::zeros(m);
                for (r, &i) in active.iter().enumerate() {
                    b[r] = d.gradient[i];
                    for (c, &j) in active.iter().enumerate() {
                        a[(r, c)] = -d.hessian[i * p + j];
                    }
                    a[(r, r)] += mu * (1.0 + a[(r, r)].abs());
                }
                match cholesky_solve(a, b) {
                    Some(s) => break s,
                    None if mu < 1e12 => mu *= 10.0,
                    None => return Err(TrainError::InvalidData("the likelihood's curvature is degenerate".into())),
                }
            };
            let decrement: f64 = active.iter().enumerate().map(|(r, &i)| d.gradient[i] * step[r]).sum::<f64>() / 2.0;
            last_decrement = decrement;
            if decrement.abs() < self.tol * (1.0 + d.log_likelihood.abs()) {
                converged = true;
                break;
            }
            let mut trial = theta.clone();
            for (r, &i) in active.iter().enumerate() {
                // Cap a step at 5 in log space (a factor of ~150) to stay in floating range.
                trial[i] += step[r].clamp(-5.0, 5.0);
                if i < p - 1 && i % 2 == 0 {
                    trial[i] = trial[i].max(LOG_BETA_FLOOR);
                }
            }
            // One pass gives ℓ and its derivatives at the trial point; kept if accepted.
            let dt = derive(&model_at(&trial))?;
            if dt.log_likelihood.is_finite() && dt.log_likelihood >= d.log_likelihood {
                theta = trial;
                d = dt;
                mu = (mu / 3.0).max(1e-12);
            } else {
                mu *= 4.0;
                if mu > 1e15 {
                    // No step raises ℓ any more: the optimum within round-off.
                    converged = true;
                    break;
                }
            }
        }
        if !converged {
            return Err(TrainError::NotConverged {
                solver: "additive-hazard Newton",
                iterations,
                last_change: last_decrement,
                tol: self.tol,
            });
        }
        let mut model = model_at(&theta);
        // Groups with no touches before a conversion or censoring (e.g. only code touches,
        // made at the order itself) carry no information: no hazard, not their start value.
        for g in 0..k {
            if n_touches[g] == 0 {
                model.beta[g] = 0.0;
            }
        }
        // Standard errors on the interior active parameters.
        // β below 1e-7 (a ten-millionth of a conversion per touch) is the bound in effect:
        // the likelihood's slope in log β vanishes with β, so the solver stops short of the
        // floor itself, and ω is then unidentified.
        let at_bound: Vec<bool> = (0..k).map(|g| theta[2 * g] <= BOUND_LOG_BETA).collect();
        let interior: Vec<usize> = active.iter().copied().filter(|&i| i == p - 1 || !at_bound[i / 2]).collect();
        let cov = invert_information(&d.hessian, p, &interior);
        let se = |i: usize| -> Option<f64> {
            let r = interior.iter().position(|&x| x == i)?;
            let v = cov.as_ref()?[(r, r)];
            (v.is_finite() && v >= 0.0).then(|| v.sqrt())
        };
        let groups_out = (0..k)
            .map(|g| {
                let hl_h = model.half_life_days(g) * 24.0;
                GroupEstimate {
                    group: model.groups[g].clone(),
                    beta: model.beta[g],
                    beta_se: se(2 * g).map(|s| s * model.beta[g]),
                    half_life_hours: hl_h,
                    half_life_hours_se: se(2 * g + 1).map(|s| s * hl_h),
                    n_touches: n_touches[g],
                    at_bound: at_bound[g],
                    class: None,
                    strength_effect: None,
                    half_life_effect: None,
                }
            })
            .collect();
        Ok(HazardFit {
            estimates: HazardEstimates {
                baseline_per_day: model.baseline,
                baseline_per_day_se: se(p - 1).map(|s| s * model.baseline),
                groups: groups_out,
                log_likelihood: d.log_likelihood,
                iterations,
                converged: true,
                hierarchy: None,
            },
            model,
        })
    }
}

/// Inverse of the observed information (−H) restricted to `idx` (one Cholesky
/// factorisation); `None` if it is not positive definite.
fn invert_information(hessian: &[f64], p: usize, idx: &[usize]) -> Option<Array2<f64>> {
    let m = idx.len();
    let mut info = vec![0.0; m * m];
    for (r, &i) in idx.iter().enumerate() {
        for (c, &j) in idx.iter().enumerate() {
            info[r * m + c] = -hessian[i * p + j];
        }
    }
    Array2::from_shape_vec((m, m), cholesky_inverse(&info, m)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use roicast_data::rng::Rng;

    /// Simulates journeys from a known additive hazard by competing risks.
    fn simulate(n: usize, beta: &[f64], half_life: &[f64], baseline: f64, seed: u64) -> HazardData {
        let k = beta.len();
        let mut d = HazardData { n_groups: k, offsets: vec![0], ..HazardData::default() };
        for u in 0..n {
            let mut r = Rng::new(seed, 1, u as u64);
            let horizon = 60.0;
            let n_touch = 1 + r.poisson(3.0) as usize;
            let mut touches: Vec<(f64, u32)> =
                (0..n_touch).map(|_| (r.range(0.0, 40.0), r.below(k as u64) as u32)).collect();
            touches.sort_by(|a, b| a.0.total_cmp(&b.0));
            let start = touches[0].0;
            let mut best = start + r.exponential(baseline);
            for &(t, g) in &touches {
                let omega = std::f64::consts::LN_2 / half_life[g as usize];
                let e = r.exponential(1.0);
                if e < beta[g as usize] {
                    best = best.min(t - (1.0 - e / beta[g as usize]).ln() / omega);
                }
            }
            let converted = best < horizon;
            let end = if converted { best } else { horizon };
            let kept: Vec<&(f64, u32)> = touches.iter().filter(|t| t.0 < end).collect();
            d.start.push(start);
            d.end.push(end);
            d.converted.push(converted);
            for t in kept {
                d.touch_time.push(t.0);
                d.touch_group.push(t.1);
            }
            d.offsets.push(d.touch_time.len());
        }
        d
    }

    #[test]
    fn fit_recovers_simulated_parameters() {
        let beta = [0.30, 0.10, 0.05];
        let half_life = [1.0, 4.0, 0.5];
        let data = simulate(40_000, &beta, &half_life, 0.002, 7);
        let fit = AdditiveHazardParams::new().fit(&data, &["a".into(), "b".into(), "c".into()]).unwrap();
        for g in 0..3 {
            let e = &fit.estimates.groups[g];
            let rel_beta = (e.beta - beta[g]).abs() / beta[g];
            let rel_hl = (e.half_life_hours / 24.0 - half_life[g]).abs() / half_life[g];
            assert!(rel_beta < 0.1, "group {g}: beta {} vs {}", e.beta, beta[g]);
            assert!(rel_hl < 0.2, "group {g}: half-life {} vs {}", e.half_life_hours / 24.0, half_life[g]);
            // The truth lies within 4 standard errors.
            assert!((e.beta - beta[g]).abs() < 4.0 * e.beta_se.unwrap(), "group {g}: se {:?}", e.beta_se);
        }
        // The optimum is at least as likely as the truth.
        let truth = AdditiveHazard {
            groups: fit.model.groups.clone(),
            beta: beta.to_vec(),
            omega: half_life.iter().map(|h| std::f64::consts::LN_2 / h).collect(),
            baseline: 0.002,
        };
        assert!(fit.estimates.log_likelihood >= truth.log_likelihood(&data) - 1e-9);
        assert!(fit.estimates.converged && fit.estimates.iterations < 100);
    }

    #[test]
    fn a_group_seen_only_without_conversions_goes_to_the_bound() {
        let mut data = simulate(5_000, &[0.3], &[1.0], 0.002, 3);
        // Add a second group touching only censored journeys.
        data.n_groups = 2;
        let mut d2 = HazardData { n_groups: 2, offsets: vec![0], ..HazardData::default() };
        for i in 0..data.len() {
            d2.open_journey_from(&data, i, |_| 0);
            if !data.converted[i] {
                d2.touch_time.push(data.start[i] + 0.1);
                d2.touch_group.push(1);
            }
            d2.close();
        }
        let fit = AdditiveHazardParams::new().fit(&d2, &["a".into(), "dead".into()]).unwrap();
        assert!(fit.estimates.groups[1].beta < 1e-6, "{:?}", fit.estimates.groups[1]);
        assert!(fit.estimates.groups[1].beta_se.is_none());
        assert!(fit.estimates.groups[0].beta_se.is_some());
    }

    #[test]
    fn params_are_validated_and_no_conversions_is_an_error() {
        let data = simulate(100, &[0.3], &[1.0], 0.002, 1);
        let err = AdditiveHazardParams::new().tol(-1.0).fit(&data, &["a".into()]).unwrap_err();
        assert_eq!(err.to_string(), "invalid `tol` = -1: expected finite and > 0");
        let mut none = data.clone();
        none.converted.fill(false);
        let err = AdditiveHazardParams::new().fit(&none, &["a".into()]).unwrap_err();
        assert!(err.to_string().contains("no converting journeys"));
        let err = AdditiveHazardParams::new().max_iter(1).fit(&data, &["a".into()]).unwrap_err();
        assert!(err.to_string().contains("did not converge"), "{err}");
    }
}
