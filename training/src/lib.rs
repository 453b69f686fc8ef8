//! # roicast-training
//!
//! Fitting: typed parameters that validate before any solver runs (linfa's `Params` →
//! `ValidParams` shape, as a consuming builder), the [`Fit`] trait, cross-validation
//! splits and the metrics reported by `roicast train`. It sits above `roicast-models`,
//! whose model types it produces.
//!
//! ## Example: fit a ridge regression and score it
//!
//! ```
//! use ndarray::{array, Array1};
//! use roicast_models::Predict;
//! use roicast_training::{Dataset, Fit, RidgeParams};
//!
//! let x = array![[0.0], [1.0], [2.0], [3.0]];
//! let y = array![1.0, 3.0, 5.0, 7.0];
//! let model = RidgeParams::new().l2(0.0).fit(&Dataset::new(x.view(), y.view())?)?;
//! let mut out = Array1::zeros(1);
//! model.predict_into(array![[10.0]].view(), out.view_mut())?;
//! assert!((out[0] - 21.0).abs() < 1e-9);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod boost;
pub mod clv;
pub mod forecast;
pub mod hazard;
pub mod hierarchical;
pub mod metrics;
pub mod optim;
pub mod sentiment;
pub mod split;

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};
use roicast_models::LinearScorer;
use serde::{Deserialize, Serialize};

/// Errors of `roicast-training`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrainError {
    /// A parameter is out of range.
    #[error("invalid `{name}` = {value}: expected {expected}")]
    InvalidParam {
        /// The parameter.
        name: &'static str,
        /// The value given.
        value: String,
        /// What is allowed.
        expected: &'static str,
    },
    /// The training data is unusable.
    #[error("invalid training data: {0}")]
    InvalidData(String),
    /// A solver did not converge; the result is not returned.
    #[error("{solver} did not converge in {iterations} iterations (last change {last_change:e}, tolerance {tol:e})")]
    NotConverged {
        /// The solver.
        solver: &'static str,
        /// Iterations run.
        iterations: usize,
        /// The last step's change.
        last_change: f64,
        /// The tolerance.
        tol: f64,
    },
}

/// Checks that `value` is finite and satisfies `ok`.
pub fn check_param(name: &'static str, value: f64, ok: bool, expected: &'static str) -> Result<(), TrainError> {
    if value.is_finite() && ok {
        Ok(())
    } else {
        Err(TrainError::InvalidParam { name, value: value.to_string(), expected })
    }
}

/// Features and targets, checked for shape and finiteness.
#[derive(Debug, Clone, Copy)]
pub struct Dataset<'a> {
    x: ArrayView2<'a, f64>,
    y: ArrayView1<'a, f64>,
}

impl<'a> Dataset<'a> {
    /// Pairs `x` (rows × features) with `y` (one target per row).
    ///
    /// # Errors
    /// [`TrainError::InvalidData`] if the row counts differ, there are no rows, or any
    /// value is NaN or infinite (naming the first such row and column).
    pub fn new(x: ArrayView2<'a, f64>, y: ArrayView1<'a, f64>) -> Result<Dataset<'a>, TrainError> {
        if x.nrows() != y.len() {
            return Err(TrainError::InvalidData(format!("{} feature rows but {} targets", x.nrows(), y.len())));
        }
        if x.nrows() == 0 {
            return Err(TrainError::InvalidData("no rows".into()));
        }
        if let Some(((r, c), v)) = x.indexed_iter().find(|(_, v)| !v.is_finite()) {
            return Err(TrainError::InvalidData(format!("feature row {r}, column {c} is {v}")));
        }
        if let Some((r, v)) = y.indexed_iter().find(|(_, v)| !v.is_finite()) {
            return Err(TrainError::InvalidData(format!("target row {r} is {v}")));
        }
        Ok(Dataset { x, y })
    }

    /// Features.
    #[must_use]
    pub fn x(&self) -> ArrayView2<'a, f64> {
        self.x
    }

    /// Targets.
    #[must_use]
    pub fn y(&self) -> ArrayView1<'a, f64> {
        self.y
    }
}

/// Fits a model from data.
pub trait Fit {
    /// The fitted model.
    type Model;
    /// Validates the parameters, then fits.
    ///
    /// # Errors
    /// [`TrainError::InvalidParam`] before any work if a parameter is out of range; other
    /// variants if the data or the solver fails.
    fn fit(&self, data: &Dataset<'_>) -> Result<Self::Model, TrainError>;
}

/// Ridge regression parameters.
///
/// | name | default | range | meaning |
/// |---|---|---|---|
/// | `l2` | 1.0 | ≥ 0, finite | penalty on the squared weights (not the intercept) |
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RidgeParams {
    l2: f64,
}

impl Default for RidgeParams {
    fn default() -> Self {
        RidgeParams { l2: 1.0 }
    }
}

impl RidgeParams {
    /// Defaults.
    #[must_use]
    pub fn new() -> RidgeParams {
        RidgeParams::default()
    }

    /// Sets the L2 penalty.
    #[must_use]
    pub fn l2(mut self, l2: f64) -> Self {
        self.l2 = l2;
        self
    }

    fn check(self) -> Result<(), TrainError> {
        check_param("l2", self.l2, self.l2 >= 0.0, "finite and >= 0")
    }
}

impl Fit for RidgeParams {
    type Model = LinearScorer;

    /// Solves `(XcᵀXc + λI) w = Xcᵀyc` on centred data by Cholesky; the intercept is
    /// `ȳ − x̄·w`, so it is not penalised.
    fn fit(&self, data: &Dataset<'_>) -> Result<LinearScorer, TrainError> {
        self.check()?;
        let x = data.x();
        let y = data.y();
        let mean_x = x.mean_axis(Axis(0)).expect("at least one row");
        let mean_y = y.mean().expect("at least one row");
        let xc = &x - &mean_x;
        let yc = &y - mean_y;
        let mut a: Array2<f64> = xc.t().dot(&xc);
        for i in 0..a.nrows() {
            a[(i, i)] += self.l2;
        }
        let b: Array1<f64> = xc.t().dot(&yc);
        let w = cholesky_solve(a, b)
            .ok_or_else(|| TrainError::InvalidData("features are collinear; use l2 > 0".to_owned()))?;
        let intercept = mean_y - mean_x.dot(&w);
        Ok(LinearScorer { intercept, weights: w.to_vec() })
    }
}

/// Solves `A x = b` for symmetric positive definite `A`; `None` if `A` is not.
pub(crate) fn cholesky_solve(mut a: Array2<f64>, mut b: Array1<f64>) -> Option<Array1<f64>> {
    let n = a.nrows();
    let scale = (0..n).map(|i| a[(i, i)].abs()).fold(0.0, f64::max).max(1.0);
    for j in 0..n {
        let mut d = a[(j, j)];
        for k in 0..j {
            d -= a[(j, k)] * a[(j, k)];
        }
        if d <= 1e-12 * scale {
            return None;
        }
        let d = d.sqrt();
        a[(j, j)] = d;
        for i in j + 1..n {
            let mut s = a[(i, j)];
            for k in 0..j {
                s -= a[(i, k)] * a[(j, k)];
            }
            a[(i, j)] = s / d;
        }
    }
    for i in 0..n {
        let mut s = b[i];
        for k in 0..i {
            s -= a[(i, k)] * b[k];
        }
        b[i] = s / a[(i, i)];
    }
    for i in (0..n).rev() {
        let mut s = b[i];
        for k in i + 1..n {
            s -= a[(k, i)] * b[k];
        }
        b[i] = s / a[(i, i)];
    }
    Some(b)
}

/// Inverse of a symmetric positive definite `n × n` matrix (row-major), from one
/// Cholesky factorisation (`O(n³)`); `None` if it is not positive definite.
pub(crate) fn cholesky_inverse(a: &[f64], n: usize) -> Option<Vec<f64>> {
    let scale = (0..n).map(|i| a[i * n + i].abs()).fold(0.0, f64::max).max(1.0);
    // Lower factor L (row-major, lower triangle used).
    let mut l = vec![0.0; n * n];
    for j in 0..n {
        let mut d = a[j * n + j];
        for k in 0..j {
            d -= l[j * n + k] * l[j * n + k];
        }
        if d.is_nan() || d <= 1e-12 * scale {
            return None;
        }
        let d = d.sqrt();
        l[j * n + j] = d;
        for i in j + 1..n {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= l[i * n + k] * l[j * n + k];
            }
            l[i * n + j] = s / d;
        }
    }
    // L⁻¹ column by column (lower triangular), then A⁻¹ = L⁻ᵀ L⁻¹.
    let mut li = vec![0.0; n * n];
    for c in 0..n {
        li[c * n + c] = 1.0 / l[c * n + c];
        for i in c + 1..n {
            let mut s = 0.0;
            for k in c..i {
                s -= l[i * n + k] * li[k * n + c];
            }
            li[i * n + c] = s / l[i * n + i];
        }
    }
    let mut inv = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let mut s = 0.0;
            for k in i..n {
                s += li[k * n + i] * li[k * n + j];
            }
            inv[i * n + j] = s;
            inv[j * n + i] = s;
        }
    }
    Some(inv)
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;
    use ndarray::array;

    #[test]
    fn cholesky_inverse_inverts() {
        let a = [4.0, 1.0, 0.5, 1.0, 3.0, -0.2, 0.5, -0.2, 2.0];
        let inv = cholesky_inverse(&a, 3).unwrap();
        for i in 0..3 {
            for j in 0..3 {
                let v: f64 = (0..3).map(|k| a[i * 3 + k] * inv[k * 3 + j]).sum();
                assert_abs_diff_eq!(v, if i == j { 1.0 } else { 0.0 }, epsilon = 1e-14);
            }
        }
        assert!(cholesky_inverse(&[1.0, 2.0, 2.0, 1.0], 2).is_none());
    }

    #[test]
    fn ridge_recovers_exact_linear_data() {
        let x = array![[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [2.0, 3.0], [4.0, -1.0]];
        let y: Array1<f64> = x.rows().into_iter().map(|r| 0.5 + 2.0 * r[0] - 3.0 * r[1]).collect();
        let m = RidgeParams::new().l2(0.0).fit(&Dataset::new(x.view(), y.view()).unwrap()).unwrap();
        assert_abs_diff_eq!(m.intercept, 0.5, epsilon = 1e-9);
        assert_abs_diff_eq!(m.weights[0], 2.0, epsilon = 1e-9);
        assert_abs_diff_eq!(m.weights[1], -3.0, epsilon = 1e-9);
    }

    #[test]
    fn ridge_shrinks_as_the_closed_form_says() {
        // One feature: w = Σ xc·yc / (Σ xc² + λ). x = 1..4 (Σxc² = 5), y = 2x (Σ xc·yc = 10).
        let x = array![[1.0], [2.0], [3.0], [4.0]];
        let y = array![2.0, 4.0, 6.0, 8.0];
        let m = RidgeParams::new().l2(5.0).fit(&Dataset::new(x.view(), y.view()).unwrap()).unwrap();
        assert_abs_diff_eq!(m.weights[0], 10.0 / 10.0, epsilon = 1e-12);
        assert_abs_diff_eq!(m.intercept, 5.0 - 2.5 * 1.0, epsilon = 1e-12);
    }

    #[test]
    fn invalid_params_and_data_are_rejected_before_solving() {
        let x = array![[1.0], [2.0]];
        let y = array![1.0, 2.0];
        let d = Dataset::new(x.view(), y.view()).unwrap();
        let err = RidgeParams::new().l2(-1.0).fit(&d).unwrap_err();
        assert_eq!(err.to_string(), "invalid `l2` = -1: expected finite and >= 0");
        let err = RidgeParams::new().l2(f64::NAN).fit(&d).unwrap_err();
        assert!(err.to_string().starts_with("invalid `l2` = NaN"));
        let bad = array![[1.0], [f64::INFINITY]];
        let err = Dataset::new(bad.view(), y.view()).unwrap_err();
        assert_eq!(err.to_string(), "invalid training data: feature row 1, column 0 is inf");
        let err = Dataset::new(x.view(), array![1.0].view()).unwrap_err();
        assert_eq!(err.to_string(), "invalid training data: 2 feature rows but 1 targets");
    }

    #[test]
    fn collinear_features_without_penalty_are_an_error() {
        let x = array![[1.0, 2.0], [2.0, 4.0], [3.0, 6.0]];
        let y = array![1.0, 2.0, 3.0];
        let err = RidgeParams::new().l2(0.0).fit(&Dataset::new(x.view(), y.view()).unwrap()).unwrap_err();
        assert!(err.to_string().contains("collinear"));
        assert!(RidgeParams::new().l2(0.1).fit(&Dataset::new(x.view(), y.view()).unwrap()).is_ok());
    }
}
