//! Small minimisers for the few-parameter likelihoods of the CLV models: quasi-Newton
//! (BFGS with a backtracking Armijo line search and central-difference gradients) where
//! only values are available, damped Newton where the likelihood gives its own gradient
//! and Hessian, and a finite-difference Hessian for the standard errors of the former.

use crate::TrainError;

/// Result of [`minimize`].
#[derive(Debug, Clone)]
pub struct Minimum {
    /// The minimiser.
    pub x: Vec<f64>,
    /// f at `x`.
    pub value: f64,
    /// Iterations.
    pub iterations: usize,
}

fn gradient(f: &dyn Fn(&[f64]) -> f64, x: &[f64]) -> Vec<f64> {
    let mut g = vec![0.0; x.len()];
    let mut y = x.to_vec();
    for i in 0..x.len() {
        // ε^(1/3): the step that balances truncation and round-off in a central difference.
        let h = 6e-6 * x[i].abs().max(1.0);
        y[i] = x[i] + h;
        let up = f(&y);
        y[i] = x[i] - h;
        let dn = f(&y);
        y[i] = x[i];
        g[i] = (up - dn) / (2.0 * h);
    }
    g
}

/// Minimises `f` from `x0`. Converges when the largest gradient component times the
/// scale of its coordinate falls below `tol · (1 + |f|)`; `max_iter` iterations without
/// that is [`TrainError::NotConverged`]. `f` may return +∞ (or NaN) outside its domain.
pub fn minimize(
    f: &dyn Fn(&[f64]) -> f64,
    x0: &[f64],
    tol: f64,
    max_iter: usize,
    solver: &'static str,
) -> Result<Minimum, TrainError> {
    let n = x0.len();
    let mut x = x0.to_vec();
    let mut fx = f(&x);
    if !fx.is_finite() {
        return Err(TrainError::InvalidData(format!("{solver}: the starting point has no finite likelihood")));
    }
    let mut g = gradient(f, &x);
    // Inverse Hessian approximation.
    let mut h = vec![0.0; n * n];
    for i in 0..n {
        h[i * n + i] = 1.0;
    }
    let mut last = f64::INFINITY;
    let mut reset = false;
    for it in 1..=max_iter {
        let gmax = g.iter().zip(&x).map(|(gi, xi)| gi.abs() * xi.abs().max(1.0)).fold(0.0, f64::max);
        last = gmax;
        if gmax < tol * (1.0 + fx.abs()) {
            return Ok(Minimum { x, value: fx, iterations: it - 1 });
        }
        let mut d: Vec<f64> = (0..n).map(|i| -(0..n).map(|j| h[i * n + j] * g[j]).sum::<f64>()).collect();
        let mut slope: f64 = d.iter().zip(&g).map(|(a, b)| a * b).sum();
        if slope >= 0.0 {
            // Not a descent direction: reset to steepest descent.
            h.iter_mut().enumerate().for_each(|(k, v)| *v = if k % (n + 1) == 0 { 1.0 } else { 0.0 });
            d = g.iter().map(|v| -v).collect();
            slope = -g.iter().map(|v| v * v).sum::<f64>();
        }
        let accepted = search(&x, &mut d, slope, fx, |y| {
            let fy = f(y);
            (fy, fy)
        });
        let Some((y, fy, _)) = accepted else {
            if !reset {
                // The curvature estimate may be stale: restart from steepest descent once.
                h.iter_mut().enumerate().for_each(|(k, v)| *v = if k % (n + 1) == 0 { 1.0 } else { 0.0 });
                reset = true;
                continue;
            }
            // No decrease possible even along the gradient: converged within round-off.
            return Ok(Minimum { x, value: fx, iterations: it });
        };
        reset = false;
        let gy = gradient(f, &y);
        let s: Vec<f64> = y.iter().zip(&x).map(|(a, b)| a - b).collect();
        let yv: Vec<f64> = gy.iter().zip(&g).map(|(a, b)| a - b).collect();
        let sy: f64 = s.iter().zip(&yv).map(|(a, b)| a * b).sum();
        if sy > 1e-12 {
            // BFGS update of the inverse Hessian.
            let hy: Vec<f64> = (0..n).map(|i| (0..n).map(|j| h[i * n + j] * yv[j]).sum()).collect();
            let yhy: f64 = yv.iter().zip(&hy).map(|(a, b)| a * b).sum();
            for i in 0..n {
                for j in 0..n {
                    h[i * n + j] += (sy + yhy) * s[i] * s[j] / (sy * sy) - (hy[i] * s[j] + s[i] * hy[j]) / sy;
                }
            }
        }
        x = y;
        fx = fy;
        g = gy;
    }
    Err(TrainError::NotConverged { solver, iterations: max_iter, last_change: last, tol })
}

/// The step both minimisers take along a descent direction `d` (with directional slope
/// `slope` < 0) from `x`, where f = `fx`: capped at 1 in every coordinate (a factor e in
/// log-parametrised models — early steps with a poor curvature estimate would otherwise
/// leap out of range), then halved until Armijo's condition holds with a strict decrease
/// (at tiny steps `fx + 1e-4·step·slope` rounds to `fx`, and an "accepted" step that changes
/// nothing would loop forever). `eval` returns f and whatever else the caller keeps of the
/// point. `None` when no step in 60 halvings decreases f.
fn search<T>(
    x: &[f64],
    d: &mut [f64],
    mut slope: f64,
    fx: f64,
    eval: impl Fn(&[f64]) -> (f64, T),
) -> Option<(Vec<f64>, f64, T)> {
    let longest = d.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
    if longest > 1.0 {
        for v in d.iter_mut() {
            *v /= longest;
        }
        slope /= longest;
    }
    let mut step = 1.0;
    for _ in 0..60 {
        let y: Vec<f64> = x.iter().zip(d.iter()).map(|(a, b)| a + step * b).collect();
        let (fy, kept) = eval(&y);
        if fy.is_finite() && fy <= fx + 1e-4 * step * slope && fy < fx {
            return Some((y, fy, kept));
        }
        step *= 0.5;
    }
    None
}

/// Value, gradient and Hessian (row-major, n × n) of a function at one point.
#[derive(Debug, Clone)]
pub struct Local {
    /// f(x).
    pub value: f64,
    /// ∇f(x).
    pub grad: Vec<f64>,
    /// ∇²f(x), row-major.
    pub hess: Vec<f64>,
}

/// Minimises `f` from `x0` by Newton's method on its exact gradient and Hessian, damped
/// (Levenberg: `H + λI` until it is positive definite) and safeguarded by the same step cap
/// and backtracking Armijo search as [`minimize`], with the same convergence test. Each
/// iteration evaluates `f` once when the full step is taken. `f` may return a non-finite
/// value outside its domain. Returns the minimum and `f`'s derivatives there (for standard
/// errors).
pub fn minimize_newton(
    f: &dyn Fn(&[f64]) -> Local,
    x0: &[f64],
    tol: f64,
    max_iter: usize,
    solver: &'static str,
) -> Result<(Minimum, Local), TrainError> {
    let n = x0.len();
    let mut x = x0.to_vec();
    let mut here = f(&x);
    if !here.value.is_finite() {
        return Err(TrainError::InvalidData(format!("{solver}: the starting point has no finite likelihood")));
    }
    let mut last = f64::INFINITY;
    for it in 1..=max_iter {
        let g = &here.grad;
        let gmax = g.iter().zip(&x).map(|(gi, xi)| gi.abs() * xi.abs().max(1.0)).fold(0.0, f64::max);
        last = gmax;
        if gmax < tol * (1.0 + here.value.abs()) {
            return Ok((Minimum { x, value: here.value, iterations: it - 1 }, here));
        }
        let mut d = damped_newton_step(&here.hess, g, n);
        let mut slope: f64 = d.iter().zip(g).map(|(a, b)| a * b).sum();
        if slope.is_nan() || slope >= 0.0 {
            d = g.iter().map(|v| -v).collect();
            slope = -g.iter().map(|v| v * v).sum::<f64>();
        }
        let accepted = search(&x, &mut d, slope, here.value, |y| {
            let there = f(y);
            (there.value, there)
        });
        let Some((y, _, there)) = accepted else {
            // No decrease possible along a descent direction: converged within round-off.
            return Ok((Minimum { x, value: here.value, iterations: it }, here));
        };
        x = y;
        here = there;
    }
    Err(TrainError::NotConverged { solver, iterations: max_iter, last_change: last, tol })
}

/// Solves `(H + λI) d = −g` with the smallest λ in 0, 1e-6·s, 1e-5·s, … (s = the largest
/// |`H_ii`|, at least 1) for which the matrix is positive definite; steepest descent if none is.
fn damped_newton_step(h: &[f64], g: &[f64], n: usize) -> Vec<f64> {
    let scale = (0..n).map(|i| h[i * n + i].abs()).fold(1.0, f64::max);
    let mut lambda = 0.0;
    for _ in 0..14 {
        let a = ndarray::Array2::from_shape_fn((n, n), |(i, j)| h[i * n + j] + if i == j { lambda } else { 0.0 });
        let b = ndarray::Array1::from_iter(g.iter().map(|v| -v));
        if let Some(d) = crate::cholesky_solve(a, b)
            && d.iter().all(|v| v.is_finite())
        {
            return d.to_vec();
        }
        lambda = if lambda == 0.0 { 1e-6 * scale } else { lambda * 10.0 };
    }
    g.iter().map(|v| -v).collect()
}

/// Central finite-difference Hessian of `f` at `x`.
#[must_use]
pub fn hessian(f: &dyn Fn(&[f64]) -> f64, x: &[f64]) -> Vec<f64> {
    let n = x.len();
    let mut out = vec![0.0; n * n];
    let hs: Vec<f64> = x.iter().map(|v| 1e-4 * v.abs().max(1.0)).collect();
    let eval = |di: usize, si: f64, dj: usize, sj: f64| {
        let mut y = x.to_vec();
        y[di] += si * hs[di];
        y[dj] += sj * hs[dj];
        f(&y)
    };
    for i in 0..n {
        for j in i..n {
            let v = (eval(i, 1.0, j, 1.0) - eval(i, 1.0, j, -1.0) - eval(i, -1.0, j, 1.0) + eval(i, -1.0, j, -1.0))
                / (4.0 * hs[i] * hs[j]);
            out[i * n + j] = v;
            out[j * n + i] = v;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimize_finds_the_rosenbrock_minimum() {
        let f = |x: &[f64]| (1.0 - x[0]).powi(2) + 100.0 * (x[1] - x[0] * x[0]).powi(2);
        let m = minimize(&f, &[-1.2, 1.0], 1e-10, 500, "test").unwrap();
        assert!((m.x[0] - 1.0).abs() < 1e-5 && (m.x[1] - 1.0).abs() < 1e-5, "{:?}", m.x);
        let h = hessian(&f, &m.x);
        // Exact Hessian at (1, 1): [[802, −400], [−400, 200]].
        assert!((h[0] - 802.0).abs() < 0.1 && (h[1] + 400.0).abs() < 0.1 && (h[3] - 200.0).abs() < 0.1, "{h:?}");
    }

    #[test]
    fn minimize_reports_non_convergence() {
        let f = |x: &[f64]| (1.0 - x[0]).powi(2) + 100.0 * (x[1] - x[0] * x[0]).powi(2);
        assert!(minimize(&f, &[-1.2, 1.0], 1e-12, 2, "test").is_err());
    }

    fn rosenbrock(x: &[f64]) -> Local {
        let (a, b) = (x[0], x[1]);
        Local {
            value: (1.0 - a).powi(2) + 100.0 * (b - a * a).powi(2),
            grad: vec![-2.0 * (1.0 - a) - 400.0 * a * (b - a * a), 200.0 * (b - a * a)],
            hess: vec![2.0 - 400.0 * b + 1200.0 * a * a, -400.0 * a, -400.0 * a, 200.0],
        }
    }

    #[test]
    fn newton_finds_the_rosenbrock_minimum_through_indefinite_regions() {
        // From (−1.2, 1) the Hessian is indefinite on the way: the damping must take over.
        let (m, at) = minimize_newton(&rosenbrock, &[-1.2, 1.0], 1e-12, 200, "test").unwrap();
        assert!((m.x[0] - 1.0).abs() < 1e-8 && (m.x[1] - 1.0).abs() < 1e-8, "{:?}", m.x);
        assert!((at.hess[0] - 802.0).abs() < 1e-6 && (at.hess[1] + 400.0).abs() < 1e-6, "{:?}", at.hess);
        assert!(m.iterations < 60, "{} iterations", m.iterations);
        assert!(minimize_newton(&rosenbrock, &[-1.2, 1.0], 1e-12, 2, "test").is_err());
    }

    #[test]
    fn newton_rejects_a_start_outside_the_domain() {
        let f = |_: &[f64]| Local { value: f64::INFINITY, grad: vec![0.0], hess: vec![1.0] };
        assert!(minimize_newton(&f, &[0.0], 1e-8, 10, "test").unwrap_err().to_string().contains("starting point"));
    }
}
