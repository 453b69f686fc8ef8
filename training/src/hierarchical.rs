//! Hierarchical fit of the additive-hazard model, for thousands of groups (creators).
//!
//! Grouped by creator, most creators have a handful of touches: a free strength and decay
//! per creator is noise for the small ones (and a singular information matrix when one
//! never precedes a conversion). Here each member group `g` of a class `c` (a creator of
//! the channel its touches came through) has
//!
//! ```text
//! log β_g = m_c + u_g,   log ω_g = n_c + v_g,   u_g ~ N(0, σ_β²),  v_g ~ N(0, σ_ω²)
//! ```
//!
//! so its strength and decay are the class's times a creator effect (`e^u`, `e^v`),
//! shrunk toward 1. Groups without a class (the other channels) stay free. For given `σ`
//! the fit maximises the penalised likelihood
//! `ℓ(θ) − ½ Σ_g [u_g²/σ_β² + v_g²/σ_ω²]` over every `θ` and the class means by Newton
//! steps with Levenberg–Marquardt damping, each step solved by conjugate gradients on the
//! block-sparse Hessian ([`SparseDerivatives`]) with a 2 × 2 block-Jacobi preconditioner:
//! nothing of size `p²` is ever formed.
//!
//! The `σ` are chosen by the data: they maximise the Laplace approximation of the marginal
//! likelihood, by its EM fixed point `σ² ← mean over members of (û² + Var û)`, where
//! `Var û` is the posterior variance of the effect (the inverse of the penalised
//! information). The standard errors are the posterior standard deviations from the same
//! inverse: exact (dense) up to [`EXACT_COVARIANCE_MAX`] free parameters; beyond, the
//! block-diagonal approximation with an exact border — every group's own 2 × 2 block and
//! its coupling to the baseline and the class means kept, the coupling between two groups
//! that share a converting journey dropped (tested against the exact inverse).

use roicast_models::attribution::hazard::{
    AdditiveHazard, ClassEstimate, GroupEstimate, HazardData, HazardEstimates, HierarchyEstimates, SparseDerivatives,
};

use crate::hazard::{AdditiveHazardParams, BOUND_LOG_BETA, HazardFit, HazardSummary, LOG_BETA_FLOOR};
use crate::{TrainError, cholesky_inverse};

/// Which groups are shrunk toward which class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hierarchy {
    /// Class names.
    pub classes: Vec<String>,
    /// Per group: the index of its class in [`Hierarchy::classes`], or `None` for a
    /// group fitted freely.
    pub parent: Vec<Option<u32>>,
}

/// Free parameters up to which the posterior covariance is computed exactly.
pub const EXACT_COVARIANCE_MAX: usize = 800;

/// Smallest `σ` (a 0.1 % spread of creator effects: no spread at all, in effect).
const MIN_SIGMA: f64 = 1e-3;

/// Largest number of `σ` updates.
const MAX_SIGMA_UPDATES: usize = 500;

/// The `σ` have settled when an update moves `log σ²` by less than this.
const SIGMA_TOL: f64 = 1e-4;

/// Where the parameters live in `φ = (θ, class means)`: `θ` as in
/// [`AdditiveHazard::theta`] (`2k + 1`), then `(m_c, n_c)` per class.
struct Layout<'a> {
    k: usize,
    p: usize,
    q: usize,
    parent: &'a [Option<u32>],
    /// Per parameter of `φ`: whether it is fitted.
    active: Vec<bool>,
    /// Per class: active member groups.
    members: Vec<u64>,
}

impl Layout<'_> {
    fn class_index(&self, c: u32, x: usize) -> usize {
        self.p + 2 * c as usize + x
    }

    /// Active penalised groups with their class.
    fn penalised(&self) -> impl Iterator<Item = (usize, u32)> + '_ {
        (0..self.k).filter_map(|g| self.parent[g].filter(|_| self.active[2 * g]).map(|c| (g, c)))
    }
}

/// The layout without the free groups whose strength went to the bound (β → 0: a group
/// that does not move conversions). Their curvature vanishes, so they are left out of the
/// posterior, as the free fit leaves them out of its standard errors.
fn without_bound<'a>(lay: &Layout<'a>, phi: &[f64]) -> Layout<'a> {
    let mut active = lay.active.clone();
    for g in (0..lay.k).filter(|&g| lay.parent[g].is_none() && phi[2 * g] <= BOUND_LOG_BETA) {
        active[2 * g] = false;
        active[2 * g + 1] = false;
    }
    Layout { k: lay.k, p: lay.p, q: lay.q, parent: lay.parent, active, members: lay.members.clone() }
}

/// The penalised objective's pieces at `φ` for variances `s = (σ_β², σ_ω²)`.
fn penalty(lay: &Layout<'_>, phi: &[f64], s: [f64; 2]) -> f64 {
    lay.penalised()
        .map(|(g, c)| (0..2).map(|x| (phi[2 * g + x] - phi[lay.class_index(c, x)]).powi(2) / (2.0 * s[x])).sum::<f64>())
        .sum()
}

/// ∇ of `ℓ − penalty`, inactive entries zero.
fn objective_gradient(lay: &Layout<'_>, d: &SparseDerivatives, phi: &[f64], s: [f64; 2]) -> Vec<f64> {
    let mut g = vec![0.0; lay.q];
    g[..lay.p].copy_from_slice(&d.gradient);
    for (grp, c) in lay.penalised() {
        for x in 0..2 {
            let m = lay.class_index(c, x);
            let r = (phi[2 * grp + x] - phi[m]) / s[x];
            g[2 * grp + x] -= r;
            g[m] += r;
        }
    }
    for (v, a) in g.iter_mut().zip(&lay.active) {
        if !a {
            *v = 0.0;
        }
    }
    g
}

/// The negative Hessian of the penalised objective plus damping, as an operator.
struct System<'a> {
    lay: &'a Layout<'a>,
    d: &'a SparseDerivatives,
    s: [f64; 2],
    /// Levenberg–Marquardt damping `μ (1 + |diag|)` added to the diagonal.
    damping: Vec<f64>,
}

impl<'a> System<'a> {
    fn new(lay: &'a Layout<'a>, d: &'a SparseDerivatives, s: [f64; 2], mu: f64) -> System<'a> {
        let mut sys = System { lay, d, s, damping: vec![0.0; lay.q] };
        let diag = sys.diagonal();
        sys.damping = diag.iter().map(|v| mu * (1.0 + v.abs())).collect();
        sys
    }

    /// Diagonal of `−H + P` (without damping).
    fn diagonal(&self) -> Vec<f64> {
        let lay = self.lay;
        let mut out = vec![0.0; lay.q];
        for (k, b) in self.d.blocks.iter().enumerate() {
            out[2 * k] = -b[0];
            out[2 * k + 1] = -b[2];
        }
        out[lay.p - 1] = -self.d.baseline_baseline;
        for (g, c) in lay.penalised() {
            for x in 0..2 {
                out[2 * g + x] += 1.0 / self.s[x];
                out[lay.class_index(c, x)] += 1.0 / self.s[x];
            }
        }
        out
    }

    /// `(−H + P + damping) v` on the active parameters.
    fn apply(&self, v: &[f64]) -> Vec<f64> {
        let lay = self.lay;
        let mut out: Vec<f64> = self.d.hessian_times(&v[..lay.p]).iter().map(|h| -h).collect();
        out.resize(lay.q, 0.0);
        for (g, c) in lay.penalised() {
            for x in 0..2 {
                let (a, m) = (2 * g + x, lay.class_index(c, x));
                let r = (v[a] - v[m]) / self.s[x];
                out[a] += r;
                out[m] -= r;
            }
        }
        for i in 0..lay.q {
            out[i] = if lay.active[i] { out[i] + self.damping[i] * v[i] } else { 0.0 };
        }
        out
    }

    /// Block-Jacobi preconditioner: per group the inverse of its 2 × 2 block, per other
    /// parameter the inverse of its diagonal.
    fn preconditioner(&self) -> Vec<[f64; 3]> {
        let lay = self.lay;
        let diag = self.diagonal();
        let mut out = vec![[0.0; 3]; lay.q];
        let inv_or_one = |v: f64| if v > 0.0 { 1.0 / v } else { 1.0 };
        for k in 0..lay.k {
            let (a, b) = (diag[2 * k] + self.damping[2 * k], diag[2 * k + 1] + self.damping[2 * k + 1]);
            let off = -self.d.blocks[k][1];
            let det = a * b - off * off;
            out[2 * k] = if a > 0.0 && det > 1e-12 * a * b {
                [b / det, -off / det, a / det]
            } else {
                [inv_or_one(a), 0.0, inv_or_one(b)]
            };
        }
        for i in 2 * lay.k..lay.q {
            out[i] = [inv_or_one(diag[i] + self.damping[i]), 0.0, 0.0];
        }
        out
    }

    fn precondition(&self, m: &[[f64; 3]], r: &[f64]) -> Vec<f64> {
        let lay = self.lay;
        let mut z = vec![0.0; lay.q];
        for k in 0..lay.k {
            let b = m[2 * k];
            z[2 * k] = b[0] * r[2 * k] + b[1] * r[2 * k + 1];
            z[2 * k + 1] = b[1] * r[2 * k] + b[2] * r[2 * k + 1];
        }
        for i in 2 * lay.k..lay.q {
            z[i] = m[i][0] * r[i];
        }
        for (v, a) in z.iter_mut().zip(&lay.active) {
            if !a {
                *v = 0.0;
            }
        }
        z
    }

    /// Solves `self · x = b` by preconditioned conjugate gradients; `None` if the matrix
    /// shows a non-positive curvature or the residual does not fall below `1e-6 |b|`.
    fn solve(&self, b: &[f64]) -> Option<Vec<f64>> {
        let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
        let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
        let b_norm = norm(b);
        let mut x = vec![0.0; b.len()];
        if b_norm == 0.0 {
            return Some(x);
        }
        let m = self.preconditioner();
        let mut r = b.to_vec();
        let mut z = self.precondition(&m, &r);
        let mut dir = z.clone();
        let mut rz = dot(&r, &z);
        let max_iter = (4 * self.lay.q).clamp(50, 5_000);
        for _ in 0..max_iter {
            let ad = self.apply(&dir);
            let curvature = dot(&dir, &ad);
            if curvature.is_nan() || curvature <= 0.0 {
                return None;
            }
            let alpha = rz / curvature;
            for i in 0..x.len() {
                x[i] += alpha * dir[i];
                r[i] -= alpha * ad[i];
            }
            if norm(&r) <= 1e-11 * b_norm {
                return Some(x);
            }
            z = self.precondition(&m, &r);
            let rz_next = dot(&r, &z);
            let beta = rz_next / rz;
            rz = rz_next;
            for i in 0..dir.len() {
                dir[i] = z[i] + beta * dir[i];
            }
        }
        (norm(&r) <= 1e-6 * b_norm).then_some(x)
    }
}

/// Posterior variances: of every parameter of `φ`, and of each penalised group's effects
/// `θ_g − class mean`.
struct Posterior {
    var: Vec<f64>,
    effect_var: Vec<[f64; 2]>,
}

/// The inverse of `−H + P` at the optimum (no damping): exact when small, otherwise
/// block-diagonal with an exact border. `None` if it is not positive definite.
fn posterior(lay: &Layout<'_>, d: &SparseDerivatives, s: [f64; 2]) -> Option<Posterior> {
    posterior_with(lay, d, s, EXACT_COVARIANCE_MAX)
}

/// [`posterior`], exact up to `exact_max` free parameters.
fn posterior_with(lay: &Layout<'_>, d: &SparseDerivatives, s: [f64; 2], exact_max: usize) -> Option<Posterior> {
    let idx: Vec<usize> = (0..lay.q).filter(|&i| lay.active[i]).collect();
    let effect = |var: &dyn Fn(usize, usize) -> f64| -> Vec<[f64; 2]> {
        let mut out = vec![[0.0; 2]; lay.k];
        for (g, c) in lay.penalised() {
            for x in 0..2 {
                let (a, m) = (2 * g + x, lay.class_index(c, x));
                out[g][x] = (var(a, a) + var(m, m) - 2.0 * var(a, m)).max(0.0);
            }
        }
        out
    };
    if idx.len() <= exact_max {
        let n = idx.len();
        let sys = System::new(lay, d, s, 0.0);
        let mut a = vec![0.0; n * n];
        let mut pos = vec![usize::MAX; lay.q];
        for (r, &i) in idx.iter().enumerate() {
            pos[i] = r;
        }
        for (c, &j) in idx.iter().enumerate() {
            let mut e = vec![0.0; lay.q];
            e[j] = 1.0;
            let col = sys.apply(&e);
            for (r, &i) in idx.iter().enumerate() {
                a[r * n + c] = col[i];
            }
        }
        let inv = cholesky_inverse(&a, n)?;
        let var = |i: usize, j: usize| inv[pos[i] * n + pos[j]];
        let mut v = vec![f64::NAN; lay.q];
        for &i in &idx {
            v[i] = var(i, i);
        }
        return Some(Posterior { effect_var: effect(&var), var: v });
    }
    // Border: the baseline, the free groups and the active class means; inside: the
    // penalised groups, coupled to the border exactly and to each other not at all.
    let mut border: Vec<usize> = Vec::new();
    for g in (0..lay.k).filter(|&g| lay.active[2 * g] && lay.parent[g].is_none()) {
        border.extend([2 * g, 2 * g + 1]);
    }
    border.extend((lay.p - 1..lay.q).filter(|&i| lay.active[i]));
    let nb = border.len();
    let mut bpos = vec![usize::MAX; lay.q];
    for (r, &i) in border.iter().enumerate() {
        bpos[i] = r;
    }
    let base = bpos[lay.p - 1];
    let inside = |g: usize| lay.active[2 * g] && lay.parent[g].is_some();
    // E: the border's own block of −H + P.
    let mut schur = vec![0.0; nb * nb];
    let put = |m: &mut Vec<f64>, i: usize, j: usize, v: f64| {
        m[i * nb + j] += v;
        if i != j {
            m[j * nb + i] += v;
        }
    };
    put(&mut schur, base, base, -d.baseline_baseline);
    for g in (0..lay.k).filter(|&g| lay.active[2 * g] && lay.parent[g].is_none()) {
        let (a, b) = (bpos[2 * g], bpos[2 * g + 1]);
        put(&mut schur, a, a, -d.blocks[g][0]);
        put(&mut schur, a, b, -d.blocks[g][1]);
        put(&mut schur, b, b, -d.blocks[g][2]);
        put(&mut schur, a, base, -d.baseline_row[2 * g]);
        put(&mut schur, b, base, -d.baseline_row[2 * g + 1]);
    }
    for c in 0..lay.members.len() {
        for x in 0..2 {
            let m = lay.class_index(c as u32, x);
            if lay.active[m] {
                put(&mut schur, bpos[m], bpos[m], lay.members[c] as f64 / s[x]);
            }
        }
    }
    // Per inside group: D_g (2 × 2) and B_g (2 × nb, row-major).
    let mut own: Vec<([f64; 3], Vec<f64>)> = vec![([0.0; 3], Vec::new()); lay.k];
    for g in (0..lay.k).filter(|&g| inside(g)) {
        let c = lay.parent[g].expect("inside groups have a class");
        let blk = d.blocks[g];
        let mut bg = vec![0.0; 2 * nb];
        bg[base] = -d.baseline_row[2 * g];
        bg[nb + base] = -d.baseline_row[2 * g + 1];
        bg[bpos[lay.class_index(c, 0)]] = -1.0 / s[0];
        bg[nb + bpos[lay.class_index(c, 1)]] = -1.0 / s[1];
        own[g] = ([-blk[0] + 1.0 / s[0], -blk[1], -blk[2] + 1.0 / s[1]], bg);
    }
    for &(k, l, h) in &d.cross {
        let (k, l) = (k as usize, l as usize);
        match (inside(k), inside(l)) {
            (true, false) if lay.active[2 * l] => {
                for x in 0..2 {
                    for y in 0..2 {
                        own[k].1[x * nb + bpos[2 * l + y]] -= h[2 * x + y];
                    }
                }
            }
            (false, true) if lay.active[2 * k] => {
                for x in 0..2 {
                    for y in 0..2 {
                        own[l].1[y * nb + bpos[2 * k + x]] -= h[2 * x + y];
                    }
                }
            }
            (false, false) if lay.active[2 * k] && lay.active[2 * l] => {
                for x in 0..2 {
                    for y in 0..2 {
                        put(&mut schur, bpos[2 * k + x], bpos[2 * l + y], -h[2 * x + y]);
                    }
                }
            }
            // Two creators meeting in a journey: the coupling this approximation drops (and
            // pairs with an inactive group, which carry nothing).
            _ => {}
        }
    }
    let mut groups: Vec<(usize, [f64; 3], Vec<f64>)> = Vec::new();
    for g in (0..lay.k).filter(|&g| inside(g)) {
        let (dg, bg) = std::mem::take(&mut own[g]);
        let det = dg[0] * dg[2] - dg[1] * dg[1];
        if dg[0].is_nan() || det.is_nan() || dg[0] <= 0.0 || det <= 0.0 {
            return None;
        }
        let dinv = [dg[2] / det, -dg[1] / det, dg[0] / det];
        // S −= B_gᵀ D_g⁻¹ B_g.
        for i in 0..nb {
            let (w0, w1) = (dinv[0] * bg[i] + dinv[1] * bg[nb + i], dinv[1] * bg[i] + dinv[2] * bg[nb + i]);
            for j in 0..nb {
                schur[i * nb + j] -= w0 * bg[j] + w1 * bg[nb + j];
            }
        }
        groups.push((g, dinv, bg));
    }
    let vb = cholesky_inverse(&schur, nb)?;
    let mut var = vec![f64::NAN; lay.q];
    for (r, &i) in border.iter().enumerate() {
        var[i] = vb[r * nb + r];
    }
    // Per group: W = D⁻¹ B (2 × nb); V_g = D⁻¹ + W V_b Wᵀ; Cov(θ_g, border) = −W V_b.
    let mut effect_var = vec![[0.0; 2]; lay.k];
    for (g, dinv, bg) in &groups {
        let c = lay.parent[*g].expect("inside groups have a class");
        let mut w = vec![0.0; 2 * nb];
        for j in 0..nb {
            w[j] = dinv[0] * bg[j] + dinv[1] * bg[nb + j];
            w[nb + j] = dinv[1] * bg[j] + dinv[2] * bg[nb + j];
        }
        for x in 0..2 {
            let row = &w[x * nb..(x + 1) * nb];
            let wv: Vec<f64> = (0..nb).map(|j| (0..nb).map(|i| row[i] * vb[i * nb + j]).sum::<f64>()).collect();
            let own_var = if x == 0 { dinv[0] } else { dinv[2] };
            let v = own_var + wv.iter().zip(row).map(|(a, b)| a * b).sum::<f64>();
            var[2 * g + x] = v;
            let m = lay.class_index(c, x);
            let cov = -wv[bpos[m]];
            effect_var[*g][x] = (v + var[m] - 2.0 * cov).max(0.0);
        }
    }
    Some(Posterior { var, effect_var })
}

impl AdditiveHazardParams {
    /// Fits the hierarchical model to `data` (see the [module docs](self)).
    pub fn fit_hierarchical(
        &self,
        data: &HazardData,
        groups: &[String],
        hierarchy: &Hierarchy,
    ) -> Result<HazardFit, TrainError> {
        if groups.len() != data.n_groups {
            return Err(TrainError::InvalidData(format!("{} group names for {} groups", groups.len(), data.n_groups)));
        }
        self.fit_hierarchical_with(groups, &HazardSummary::of(data), hierarchy, |m| Ok(m.sparse_derivatives(data)))
    }

    /// [`AdditiveHazardParams::fit_hierarchical`] given the data's summary and a function
    /// giving ℓ and its block-sparse derivatives at a model (summed over partitions in a
    /// fixed order by the partitioned and Spark runs).
    pub fn fit_hierarchical_with(
        &self,
        groups: &[String],
        summary: &HazardSummary,
        hierarchy: &Hierarchy,
        mut derive: impl FnMut(&AdditiveHazard) -> Result<SparseDerivatives, TrainError>,
    ) -> Result<HazardFit, TrainError> {
        self.check()?;
        let k = groups.len();
        if summary.touches_per_group.len() != k || hierarchy.parent.len() != k {
            return Err(TrainError::InvalidData(format!(
                "{k} group names, {} touch counts and {} parents",
                summary.touches_per_group.len(),
                hierarchy.parent.len()
            )));
        }
        if let Some(c) = hierarchy.parent.iter().flatten().find(|&&c| c as usize >= hierarchy.classes.len()) {
            return Err(TrainError::InvalidData(format!("class {c} of {} classes", hierarchy.classes.len())));
        }
        if summary.conversions == 0 {
            return Err(TrainError::InvalidData("no converting journeys: the model needs conversions to fit".into()));
        }
        let n_classes = hierarchy.classes.len();
        let p = 2 * k + 1;
        let q = p + 2 * n_classes;
        let n_touches = &summary.touches_per_group;
        let mut active = vec![false; q];
        let mut members = vec![0u64; n_classes];
        for g in (0..k).filter(|&g| n_touches[g] > 0) {
            active[2 * g] = true;
            active[2 * g + 1] = true;
            if let Some(c) = hierarchy.parent[g] {
                members[c as usize] += 1;
                active[p + 2 * c as usize] = true;
                active[p + 2 * c as usize + 1] = true;
            }
        }
        active[p - 1] = true;
        let lay = Layout { k, p, q, parent: &hierarchy.parent, active, members };

        let mut phi = vec![0.0; q];
        let (b0, w0) = (self.init_beta.ln(), (std::f64::consts::LN_2 / self.init_half_life_days).ln());
        for g in 0..k {
            phi[2 * g] = b0;
            phi[2 * g + 1] = w0;
        }
        phi[p - 1] = (0.5 * summary.conversions as f64 / summary.exposure_days.max(1e-9)).max(1e-12).ln();
        for c in 0..n_classes {
            phi[p + 2 * c] = b0;
            phi[p + 2 * c + 1] = w0;
        }
        let model_at = |phi: &[f64]| AdditiveHazard::from_theta(groups.to_vec(), &phi[..p]);
        let mut s = [1.0, 0.25];
        let mut d = derive(&model_at(&phi))?;
        let mut iterations = 0;
        let mut sigma_updates = 0;
        let (mut relax, mut last_dir) = ([1.0f64; 2], [0.0f64; 2]);
        let has_members = lay.penalised().next().is_some();
        loop {
            self.newton(&lay, &mut phi, &mut d, s, &mut iterations, &mut derive, &model_at)?;
            if !has_members {
                break;
            }
            let post = posterior(&without_bound(&lay, &phi), &d, s)
                .ok_or_else(|| TrainError::InvalidData("the penalised information is not positive definite".into()))?;
            let mut next = [0.0; 2];
            let n = lay.members.iter().sum::<u64>() as f64;
            for (g, c) in lay.penalised() {
                for x in 0..2 {
                    let u = phi[2 * g + x] - phi[lay.class_index(c, x)];
                    next[x] += u * u + post.effect_var[g][x];
                }
            }
            let next = next.map(|v| (v / n).max(MIN_SIGMA * MIN_SIGMA));
            sigma_updates += 1;
            // The EM step in log σ², and its size (the fixed point's residual).
            let em_step = [next[0].ln() - s[0].ln(), next[1].ln() - s[1].ln()];
            let moved = em_step[0].abs().max(em_step[1].abs());
            // Settled: each σ² moves by less than SIGMA_TOL in log, or its σ by less than
            // SIGMA_TOL in absolute terms (toward 0 the marginal likelihood is flat in log σ).
            let settled =
                (0..2).all(|x| em_step[x].abs() < SIGMA_TOL || (next[x].sqrt() - s[x].sqrt()).abs() < SIGMA_TOL * 0.1);
            if settled {
                s = next;
                self.newton(&lay, &mut phi, &mut d, s, &mut iterations, &mut derive, &model_at)?;
                break;
            }
            // Plain EM crawls toward a σ of 0 (no spread: a boundary, where it converges
            // sublinearly); the step is doubled while its direction holds, and reset to one
            // EM step when it turns.
            for x in 0..2 {
                let dir = em_step[x].signum();
                relax[x] = if dir == last_dir[x] { (relax[x] * 2.0).min(64.0) } else { 1.0 };
                last_dir[x] = dir;
                s[x] = (s[x].ln() + relax[x] * em_step[x]).exp().max(MIN_SIGMA * MIN_SIGMA);
            }
            if sigma_updates >= MAX_SIGMA_UPDATES {
                return Err(TrainError::NotConverged {
                    solver: "hierarchical additive-hazard σ (EM)",
                    iterations: sigma_updates,
                    last_change: moved,
                    tol: SIGMA_TOL,
                });
            }
        }
        let post_lay = without_bound(&lay, &phi);
        let post = posterior(&post_lay, &d, s);
        let exact = post_lay.active.iter().filter(|a| **a).count() <= EXACT_COVARIANCE_MAX;
        let mut model = model_at(&phi);
        for g in 0..k {
            if n_touches[g] == 0 {
                model.beta[g] = 0.0;
            }
        }
        let se = |i: usize| -> Option<f64> {
            let v = post.as_ref()?.var[i];
            (v.is_finite() && v >= 0.0).then(|| v.sqrt())
        };
        let class_hl_h = |c: u32| std::f64::consts::LN_2 / phi[lay.class_index(c, 1)].exp() * 24.0;
        let groups_out = (0..k)
            .map(|g| {
                let hl_h = model.half_life_days(g) * 24.0;
                let free_at_bound = hierarchy.parent[g].is_none() && phi[2 * g] <= BOUND_LOG_BETA;
                let class = hierarchy.parent[g].filter(|_| n_touches[g] > 0);
                GroupEstimate {
                    group: model.groups[g].clone(),
                    beta: model.beta[g],
                    beta_se: if free_at_bound || n_touches[g] == 0 {
                        None
                    } else {
                        se(2 * g).map(|s| s * model.beta[g])
                    },
                    half_life_hours: hl_h,
                    half_life_hours_se: if free_at_bound || n_touches[g] == 0 {
                        None
                    } else {
                        se(2 * g + 1).map(|s| s * hl_h)
                    },
                    n_touches: n_touches[g],
                    at_bound: free_at_bound,
                    class: class.map(|c| hierarchy.classes[c as usize].clone()),
                    strength_effect: class.map(|c| (phi[2 * g] - phi[lay.class_index(c, 0)]).exp()),
                    half_life_effect: class.map(|c| hl_h / class_hl_h(c)),
                }
            })
            .collect();
        let hierarchy_out = has_members.then(|| HierarchyEstimates {
            classes: (0..n_classes)
                .filter(|&c| lay.members[c] > 0)
                .map(|c| ClassEstimate {
                    class: hierarchy.classes[c].clone(),
                    beta: phi[p + 2 * c].exp(),
                    half_life_hours: class_hl_h(c as u32),
                    n_groups: lay.members[c],
                })
                .collect(),
            sigma_log_beta: s[0].sqrt(),
            sigma_log_half_life: s[1].sqrt(),
            penalty_chosen_by: "marginal likelihood (Laplace approximation), maximised by EM".into(),
            standard_errors: if exact {
                "posterior: the penalised information inverted exactly".into()
            } else {
                "posterior: block-diagonal approximation of the penalised information (the coupling of two creators in one journey dropped; the baseline, free groups and class means exact)"
                    .into()
            },
            sigma_updates,
        });
        Ok(HazardFit {
            estimates: HazardEstimates {
                baseline_per_day: model.baseline,
                baseline_per_day_se: se(p - 1).map(|s| s * model.baseline),
                groups: groups_out,
                log_likelihood: d.log_likelihood,
                iterations,
                converged: true,
                hierarchy: hierarchy_out,
            },
            model,
        })
    }

    /// Damped Newton on the penalised objective at fixed `s`, from `phi` (updated in
    /// place with its derivatives `d`).
    #[allow(clippy::too_many_arguments)] // the solver's state, threaded through one loop
    fn newton(
        &self,
        lay: &Layout<'_>,
        phi: &mut Vec<f64>,
        d: &mut SparseDerivatives,
        s: [f64; 2],
        iterations: &mut usize,
        derive: &mut impl FnMut(&AdditiveHazard) -> Result<SparseDerivatives, TrainError>,
        model_at: &impl Fn(&[f64]) -> AdditiveHazard,
    ) -> Result<(), TrainError> {
        let mut mu = 1e-3;
        let mut objective = d.log_likelihood - penalty(lay, phi, s);
        let mut last_decrement = f64::INFINITY;
        let mut steps = 0;
        while steps < self.max_iter {
            steps += 1;
            *iterations += 1;
            let grad = objective_gradient(lay, d, phi, s);
            let step = loop {
                match System::new(lay, d, s, mu).solve(&grad) {
                    Some(x) => break x,
                    None if mu < 1e12 => mu *= 10.0,
                    None => return Err(TrainError::InvalidData("the likelihood's curvature is degenerate".into())),
                }
            };
            let decrement: f64 = grad.iter().zip(&step).map(|(g, x)| g * x).sum::<f64>() / 2.0;
            last_decrement = decrement;
            if decrement.abs() < self.tol * (1.0 + objective.abs()) {
                return Ok(());
            }
            let mut trial = phi.clone();
            for i in (0..lay.q).filter(|&i| lay.active[i]) {
                trial[i] += step[i].clamp(-5.0, 5.0);
                if i < 2 * lay.k && i % 2 == 0 {
                    trial[i] = trial[i].max(LOG_BETA_FLOOR);
                }
            }
            let dt = derive(&model_at(&trial))?;
            let trial_objective = dt.log_likelihood - penalty(lay, &trial, s);
            if trial_objective.is_finite() && trial_objective >= objective {
                *phi = trial;
                *d = dt;
                objective = trial_objective;
                mu = (mu / 3.0).max(1e-12);
            } else {
                mu *= 4.0;
                if mu > 1e15 {
                    return Ok(());
                }
            }
        }
        Err(TrainError::NotConverged {
            solver: "hierarchical additive-hazard Newton",
            iterations: steps,
            last_change: last_decrement,
            tol: self.tol,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use roicast_data::rng::Rng;

    /// A world of `n_creators` creators (class 0) with heavy-tailed popularity and
    /// strength effects `e^u`, `u ~ N(0, 0.5²)`, one half-life, plus two free channels.
    /// Returns the journeys, the group names, the hierarchy and each creator's true β.
    fn world(n_users: usize, n_creators: usize, seed: u64) -> (HazardData, Vec<String>, Hierarchy, Vec<f64>) {
        let mut r = Rng::new(seed, 9, 0);
        let pop: Vec<f64> = (0..n_creators).map(|_| r.lognormal(0.0, 1.5)).collect();
        let total: f64 = pop.iter().sum();
        let beta_c: Vec<f64> = (0..n_creators).map(|_| 0.08 * (0.5 * r.normal()).exp()).collect();
        let k = n_creators + 2;
        let mut beta = beta_c.clone();
        beta.extend([0.2, 0.05]);
        let mut half_life = vec![2.0; n_creators];
        half_life.extend([0.5, 1.0]);
        let mut d = HazardData { n_groups: k, offsets: vec![0], ..HazardData::default() };
        for u in 0..n_users {
            let mut r = Rng::new(seed, 10, u as u64);
            let n_touch = 1 + r.poisson(1.5) as usize;
            let mut touches: Vec<(f64, u32)> = (0..n_touch)
                .map(|_| {
                    let g = if r.uniform() < 0.3 {
                        n_creators as u32 + r.below(2) as u32
                    } else {
                        let mut x = r.uniform() * total;
                        let mut c = 0;
                        while c + 1 < n_creators && x >= pop[c] {
                            x -= pop[c];
                            c += 1;
                        }
                        c as u32
                    };
                    (r.range(0.0, 40.0), g)
                })
                .collect();
            touches.sort_by(|a, b| a.0.total_cmp(&b.0));
            let start = touches[0].0;
            let mut best = start + r.exponential(0.002);
            for &(t, g) in &touches {
                let omega = std::f64::consts::LN_2 / half_life[g as usize];
                let e = r.exponential(1.0);
                if e < beta[g as usize] {
                    best = best.min(t - (1.0 - e / beta[g as usize]).ln() / omega);
                }
            }
            let converted = best < 60.0;
            let end = if converted { best } else { 60.0 };
            d.start.push(start);
            d.end.push(end);
            d.converted.push(converted);
            for &(t, g) in touches.iter().filter(|t| t.0 < end) {
                d.touch_time.push(t);
                d.touch_group.push(g);
            }
            d.offsets.push(d.touch_time.len());
        }
        let mut names: Vec<String> = (0..n_creators).map(|c| format!("cr{c:04}")).collect();
        names.extend(["search".to_owned(), "email".to_owned()]);
        let mut parent = vec![Some(0); n_creators];
        parent.extend([None, None]);
        (d, names, Hierarchy { classes: vec!["creator".into()], parent }, beta_c)
    }

    fn median(mut v: Vec<f64>) -> f64 {
        v.sort_by(f64::total_cmp);
        if v.is_empty() { f64::NAN } else { v[v.len() / 2] }
    }

    /// Median relative error of β by touch-count bucket: `[< 15, 15–99, ≥ 100]`.
    fn errors_by_bucket(fit: &HazardFit, truth: &[f64]) -> [f64; 3] {
        let mut buckets = [Vec::new(), Vec::new(), Vec::new()];
        for (c, t) in truth.iter().enumerate() {
            let g = &fit.estimates.groups[c];
            if g.n_touches == 0 {
                continue;
            }
            let b = match g.n_touches {
                0..15 => 0,
                15..100 => 1,
                _ => 2,
            };
            buckets[b].push((g.beta - t).abs() / t);
        }
        buckets.map(median)
    }

    #[test]
    fn shrinkage_estimates_small_creators_better_and_large_ones_as_well() {
        let (data, names, h, truth) = world(30_000, 150, 3);
        let params = AdditiveHazardParams::new();
        let hier = params.fit_hierarchical(&data, &names, &h).unwrap();
        let free = params.fit(&data, &names).unwrap();
        let (eh, ef) = (errors_by_bucket(&hier, &truth), errors_by_bucket(&free, &truth));
        // Small creators: shrinkage at least halves the error of a free fit, and is within
        // the spread of the effects themselves (σ = 0.5).
        assert!(eh[0] < 0.5 * ef[0] && eh[0] < 0.45, "small creators: hierarchical {eh:?}, free {ef:?}");
        assert!(eh[1] <= ef[1], "mid creators: hierarchical {eh:?}, free {ef:?}");
        // Large creators: as good as a free fit.
        assert!(eh[2] <= 1.1 * ef[2] + 0.01, "large creators: hierarchical {eh:?}, free {ef:?}");
        let hs = hier.estimates.hierarchy.as_ref().unwrap();
        // The spread of strengths is found (0.5 drawn); decays do not vary (σ → small).
        assert!((0.3..0.75).contains(&hs.sigma_log_beta), "{hs:?}");
        assert!(hs.sigma_log_half_life < 0.25, "{hs:?}");
        // The free channels are fitted as before.
        for (g, want) in [(150, 0.2), (151, 0.05)] {
            let e = &hier.estimates.groups[g];
            assert!(e.class.is_none() && (e.beta - want).abs() / want < 0.15, "{e:?}");
        }
        // Every creator with touches has standard errors (the free fit leaves some out).
        assert!(hier.estimates.groups[..150].iter().filter(|g| g.n_touches > 0).all(|g| g.beta_se.is_some()));
    }

    #[test]
    fn the_block_approximation_of_the_posterior_is_close_to_the_exact_one() {
        let (data, names, h, _) = world(20_000, 120, 5);
        let fit = AdditiveHazardParams::new().fit_hierarchical(&data, &names, &h).unwrap();
        let model = &fit.model;
        let d = model.sparse_derivatives(&data);
        let hs = fit.estimates.hierarchy.as_ref().unwrap();
        let s = [hs.sigma_log_beta.powi(2), hs.sigma_log_half_life.powi(2)];
        let k = names.len();
        let p = 2 * k + 1;
        let n_touches = data.touches_per_group();
        let mut active = vec![false; p + 2];
        for g in (0..k).filter(|&g| n_touches[g] > 0) {
            active[2 * g] = true;
            active[2 * g + 1] = true;
        }
        active[p - 1] = true;
        active[p] = true;
        active[p + 1] = true;
        let members = vec![(0..120).filter(|&g| n_touches[g] > 0).count() as u64];
        let lay = Layout { k, p, q: p + 2, parent: &h.parent, active, members };
        let exact = posterior(&lay, &d, s).unwrap();
        // Force the block path on the same problem.
        let approx = {
            let big = Layout { active: lay.active.clone(), members: lay.members.clone(), ..lay };
            posterior_block_for_test(&big, &d, s)
        };
        let mut diffs: Vec<(f64, usize)> = (0..p + 2)
            .filter(|&i| big_active(&approx, i))
            .map(|i| ((approx.var[i].sqrt() - exact.var[i].sqrt()).abs() / exact.var[i].sqrt(), i))
            .collect();
        diffs.sort_by(|a, b| a.0.total_cmp(&b.0));
        let median = diffs[diffs.len() / 2].0;
        let p90 = diffs[diffs.len() * 9 / 10].0;
        let worst = diffs[diffs.len() - 1];
        assert!(
            median < 0.015 && p90 < 0.05 && worst.0 < 0.1,
            "relative differences of standard errors: median {median}, 90th percentile {p90}, largest {worst:?}"
        );
    }

    fn big_active(p: &Posterior, i: usize) -> bool {
        p.var[i].is_finite()
    }

    /// The block-diagonal path of [`posterior`], whatever the size.
    fn posterior_block_for_test(lay: &Layout<'_>, d: &SparseDerivatives, s: [f64; 2]) -> Posterior {
        posterior_with(lay, d, s, 0).unwrap()
    }

    #[test]
    fn a_free_group_seen_only_without_conversions_goes_to_the_bound() {
        let (data, mut names, mut h, _) = world(5_000, 40, 4);
        // A third free channel touching only censored journeys.
        let dead = data.n_groups as u32;
        let mut d2 = HazardData { n_groups: data.n_groups + 1, offsets: vec![0], ..HazardData::default() };
        for i in 0..data.len() {
            d2.open_journey_from(&data, i, |g| g);
            if !data.converted[i] {
                d2.touch_time.push(data.start[i] + 0.1);
                d2.touch_group.push(dead);
            }
            d2.close();
        }
        names.push("dead".into());
        h.parent.push(None);
        let fit = AdditiveHazardParams::new().fit_hierarchical(&d2, &names, &h).unwrap();
        let e = fit.estimates.groups.last().unwrap();
        assert!(e.at_bound && e.beta < 1e-6 && e.beta_se.is_none(), "{e:?}");
        assert!(fit.estimates.groups[..40].iter().filter(|g| g.n_touches > 0).all(|g| g.beta_se.is_some()));
    }

    #[test]
    fn the_fit_is_deterministic_and_refuses_bad_input() {
        let (data, names, h, _) = world(5_000, 40, 8);
        let params = AdditiveHazardParams::new();
        let a = params.fit_hierarchical(&data, &names, &h).unwrap();
        let b = params.fit_hierarchical(&data, &names, &h).unwrap();
        assert_eq!(a.estimates, b.estimates);
        let bad = Hierarchy { classes: vec![], parent: h.parent.clone() };
        assert!(params.fit_hierarchical(&data, &names, &bad).unwrap_err().to_string().contains("class 0 of 0"));
        let mut none = data.clone();
        none.converted.fill(false);
        assert!(params.fit_hierarchical(&none, &names, &h).unwrap_err().to_string().contains("no converting"));
    }
}
