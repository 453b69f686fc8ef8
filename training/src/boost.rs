//! Gradient-boosted regression trees with squared loss, on binned features.
//!
//! The forecast's second learner (docs/forecast.md): each round fits a depth-limited tree
//! to the current residuals and adds it, shrunk by the learning rate. Splits are searched
//! over at most [`BoostParams::bins`] quantile edges per feature (histogram boosting), so a
//! round costs O(rows × features × depth). Everything is deterministic: no subsampling,
//! ties broken by feature then bin order.
//!
//! | param | default | range |
//! |---|---|---|
//! | `rounds` | 300 | ≥ 1 |
//! | `depth` | 3 | 1–8 |
//! | `learning_rate` | 0.05 | (0, 1] |
//! | `min_leaf` | 10 | ≥ 1 rows per leaf |
//! | `lambda` | 1.0 | ≥ 0, leaf-value shrinkage (value = Σ r / (n + λ)) |
//! | `bins` | 64 | 2–255 |

use ndarray::{Array2, ArrayView1};
use roicast_models::forecast::{Boosted, Node};
use serde::Serialize;

use crate::{TrainError, check_param};

/// Boosting parameters (see the module table).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BoostParams {
    /// Trees.
    pub rounds: usize,
    /// Maximum depth of each tree.
    pub depth: usize,
    /// Shrinkage of each tree.
    pub learning_rate: f64,
    /// Minimum rows in a leaf.
    pub min_leaf: usize,
    /// Leaf-value shrinkage.
    pub lambda: f64,
    /// Split candidates per feature.
    pub bins: usize,
}

impl Default for BoostParams {
    fn default() -> Self {
        BoostParams { rounds: 300, depth: 3, learning_rate: 0.05, min_leaf: 10, lambda: 1.0, bins: 64 }
    }
}

impl BoostParams {
    /// Checks every parameter's range.
    pub fn check(&self) -> Result<(), TrainError> {
        check_param("rounds", self.rounds as f64, self.rounds >= 1, ">= 1")?;
        check_param("depth", self.depth as f64, (1..=8).contains(&self.depth), "1 to 8")?;
        check_param(
            "learning_rate",
            self.learning_rate,
            self.learning_rate > 0.0 && self.learning_rate <= 1.0,
            "in (0, 1]",
        )?;
        check_param("min_leaf", self.min_leaf as f64, self.min_leaf >= 1, ">= 1")?;
        check_param("lambda", self.lambda, self.lambda >= 0.0 && self.lambda.is_finite(), ">= 0")?;
        check_param("bins", self.bins as f64, (2..=255).contains(&self.bins), "2 to 255")
    }
}

/// Up to `bins - 1` split edges of one feature: midpoints between distinct values at
/// equally spaced quantiles.
fn edges(column: ArrayView1<'_, f64>, bins: usize) -> Vec<f64> {
    let mut v: Vec<f64> = column.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    v.dedup();
    if v.len() <= 1 {
        return Vec::new();
    }
    if v.len() <= bins {
        return v.windows(2).map(|w| 0.5 * (w[0] + w[1])).collect();
    }
    let mut out: Vec<f64> = (1..bins)
        .map(|k| {
            let i = k * (v.len() - 1) / bins;
            0.5 * (v[i] + v[i + 1])
        })
        .collect();
    out.dedup();
    out
}

/// Fits `rounds` trees to `y` from `base`; returns the trees.
pub fn fit(x: &Array2<f64>, y: &[f64], base: f64, p: &BoostParams) -> Result<Boosted, TrainError> {
    p.check()?;
    let (n, d) = x.dim();
    if n != y.len() {
        return Err(TrainError::InvalidData(format!("{n} rows of features but {} targets", y.len())));
    }
    let edges: Vec<Vec<f64>> = (0..d).map(|j| edges(x.column(j), p.bins)).collect();
    // Bin of every cell: the number of edges below the value.
    let mut bin = vec![0u8; n * d];
    for i in 0..n {
        for j in 0..d {
            let v = x[[i, j]];
            bin[i * d + j] = edges[j].partition_point(|e| *e < v) as u8;
        }
    }
    let mut pred = vec![base; n];
    let mut resid = vec![0.0; n];
    let mut trees = Vec::with_capacity(p.rounds);
    let mut rows: Vec<usize> = (0..n).collect();
    for _ in 0..p.rounds {
        for i in 0..n {
            resid[i] = y[i] - pred[i];
        }
        let mut nodes: Vec<Node> = Vec::new();
        rows.clear();
        rows.extend(0..n);
        grow(&mut nodes, &mut rows, &bin, d, &edges, &resid, p, 0);
        let tree = nodes;
        for i in 0..n {
            pred[i] += leaf_of(&tree, |j| x[[i, j]]);
        }
        trees.push(tree);
    }
    Ok(Boosted { trees })
}

fn leaf_of(tree: &[Node], x: impl Fn(usize) -> f64) -> f64 {
    let mut k = 0usize;
    loop {
        let n = &tree[k];
        if n.feature == u32::MAX {
            return n.value;
        }
        k = n.left as usize + usize::from(x(n.feature as usize) > n.threshold);
    }
}

/// Grows the subtree of `rows` as node `nodes.len()`; children are placed next to each
/// other (left, then right) so a split node only stores its left child's index.
#[allow(clippy::too_many_arguments)] // the state of one recursive tree build
fn grow(
    nodes: &mut Vec<Node>,
    rows: &mut [usize],
    bin: &[u8],
    d: usize,
    edges: &[Vec<f64>],
    resid: &[f64],
    p: &BoostParams,
    depth: usize,
) {
    let me = nodes.len();
    let sum: f64 = rows.iter().map(|&i| resid[i]).sum();
    let count = rows.len() as f64;
    nodes.push(Node::leaf(p.learning_rate * sum / (count + p.lambda)));
    if depth >= p.depth || rows.len() < 2 * p.min_leaf {
        return;
    }
    // Best split by the reduction of squared error: S_L²/n_L + S_R²/n_R − S²/n.
    let parent = sum * sum / count;
    let mut best: Option<(f64, usize, usize)> = None;
    let mut hs = vec![0.0f64; 256];
    let mut hn = vec![0usize; 256];
    for j in 0..d {
        let nb = edges[j].len() + 1;
        if nb < 2 {
            continue;
        }
        hs[..nb].fill(0.0);
        hn[..nb].fill(0);
        for &i in rows.iter() {
            let b = bin[i * d + j] as usize;
            hs[b] += resid[i];
            hn[b] += 1;
        }
        let (mut sl, mut nl) = (0.0, 0usize);
        for b in 0..nb - 1 {
            sl += hs[b];
            nl += hn[b];
            let nr = rows.len() - nl;
            if nl < p.min_leaf || nr < p.min_leaf {
                continue;
            }
            let sr = sum - sl;
            let gain = sl * sl / nl as f64 + sr * sr / nr as f64 - parent;
            if gain > 1e-12 && best.is_none_or(|(g, _, _)| gain > g) {
                best = Some((gain, j, b));
            }
        }
    }
    let Some((_, j, b)) = best else { return };
    // Partition rows: bin <= b left.
    let mut k = 0;
    for m in 0..rows.len() {
        if (bin[rows[m] * d + j] as usize) <= b {
            rows.swap(k, m);
            k += 1;
        }
    }
    let left = nodes.len() as u32;
    nodes[me] = Node { feature: j as u32, threshold: edges[j][b], left, value: 0.0 };
    // Reserve both children's slots so the right child sits at left + 1.
    nodes.push(Node::leaf(0.0));
    nodes.push(Node::leaf(0.0));
    let (l_rows, r_rows) = rows.split_at_mut(k);
    let mut sub = Vec::new();
    grow(&mut sub, l_rows, bin, d, edges, resid, p, depth + 1);
    place(nodes, left as usize, sub);
    let mut sub = Vec::new();
    grow(&mut sub, r_rows, bin, d, edges, resid, p, depth + 1);
    place(nodes, left as usize + 1, sub);
}

/// Puts a subtree built on its own (root at 0) at slot `at`, its other nodes at the end.
fn place(nodes: &mut Vec<Node>, at: usize, sub: Vec<Node>) {
    let offset = nodes.len() as u32 - 1; // sub index k ≥ 1 goes to offset + k
    let shift = |n: Node| if n.feature == u32::MAX { n } else { Node { left: n.left + offset, ..n } };
    let mut it = sub.into_iter();
    let root = it.next().expect("a subtree has a root");
    nodes[at] = shift(root);
    for n in it {
        nodes.push(shift(n));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(n: usize, f: impl Fn(f64, f64) -> f64) -> (Array2<f64>, Vec<f64>) {
        let mut x = Array2::zeros((n * n, 2));
        let mut y = Vec::new();
        for a in 0..n {
            for b in 0..n {
                let (u, v) = (a as f64 / n as f64, b as f64 / n as f64);
                x[[a * n + b, 0]] = u;
                x[[a * n + b, 1]] = v;
                y.push(f(u, v));
            }
        }
        (x, y)
    }

    fn rmse(x: &Array2<f64>, y: &[f64], base: f64, m: &Boosted) -> f64 {
        let se: f64 = (0..y.len()).map(|i| (base + m.predict(&[x[[i, 0]], x[[i, 1]]]) - y[i]).powi(2)).sum::<f64>();
        (se / y.len() as f64).sqrt()
    }

    #[test]
    fn one_split_recovers_a_step() {
        let (x, y) = grid(20, |u, _| if u > 0.5 { 3.0 } else { 1.0 });
        let p = BoostParams { rounds: 1, depth: 1, learning_rate: 1.0, min_leaf: 1, lambda: 0.0, bins: 64 };
        let m = fit(&x, &y, 2.0, &p).unwrap();
        assert_eq!(m.trees[0].len(), 3);
        assert_eq!(m.trees[0][0].feature, 0);
        assert!((2.0 + m.predict(&[0.9, 0.1]) - 3.0).abs() < 1e-12);
        assert!((2.0 + m.predict(&[0.1, 0.9]) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn boosting_learns_an_interaction_a_linear_model_cannot() {
        // y = 1 when both features are high: an AND no additive model fits.
        let (x, y) = grid(30, |u, v| f64::from(u8::from(u > 0.5 && v > 0.5)));
        let base = y.iter().sum::<f64>() / y.len() as f64;
        let m = fit(&x, &y, base, &BoostParams { min_leaf: 5, ..BoostParams::default() }).unwrap();
        assert!(rmse(&x, &y, base, &m) < 0.05, "{}", rmse(&x, &y, base, &m));
        // Every tree is complete and its right children sit next to their left ones.
        for t in &m.trees {
            for n in t.iter().filter(|n| n.feature != u32::MAX) {
                assert!((n.left as usize + 1) < t.len());
            }
        }
    }

    #[test]
    fn fits_are_deterministic_and_params_checked() {
        let (x, y) = grid(12, |u, v| u * u + v);
        let a = fit(&x, &y, 0.5, &BoostParams::default()).unwrap();
        let b = fit(&x, &y, 0.5, &BoostParams::default()).unwrap();
        assert_eq!(a, b);
        let bad = BoostParams { depth: 0, ..BoostParams::default() };
        assert!(fit(&x, &y, 0.0, &bad).unwrap_err().to_string().contains("depth"));
    }
}
