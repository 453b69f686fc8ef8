//! The Markov-chain removal effect, solved exactly.
//!
//! Journeys become paths of groups with consecutive repeats collapsed. States are
//! `start`, the last `order` groups seen (shorter at the start of a path), and the two
//! absorbing states `conversion` and `null`; transition probabilities are the observed
//! transition counts normalised per state (each path weighted by its conversions plus
//! nulls). The conversion probability from `start` solves the linear system
//! `(I − Q) x = r` (Q: transient-to-transient probabilities, r: transient-to-conversion),
//! by Gaussian elimination with partial pivoting — no simulation, so no sampling noise
//! and no truncation bias. Removing a group sends every transition into a state that
//! contains it to `null`; its removal effect is `1 − P_removed / P`.
//!
//! Cost: one dense solve per group plus one, `O(groups · states³)`; states are
//! `groups + 1` for order 1 and up to `Σ groups^k` for order k (only observed ones).

use std::collections::HashMap;

use crate::ModelError;

/// A path with its outcomes (`ChannelAttribution`'s path table row).
#[derive(Debug, Clone, PartialEq)]
pub struct PathCounts {
    /// Groups in order (repeats allowed; they are collapsed here).
    pub path: Vec<u32>,
    /// Conversions ending this path (fractional allowed).
    pub conversions: f64,
    /// Value of those conversions.
    pub value: f64,
    /// Journeys of this path that did not convert.
    pub nulls: f64,
}

/// The fitted chain's removal effects.
#[derive(Debug, Clone, PartialEq)]
pub struct RemovalEffects {
    /// Probability of conversion from `start`.
    pub conversion_probability: f64,
    /// Per group (index = group): `1 − P(conversion without the group) / P(conversion)`.
    pub removal_effects: Vec<f64>,
    /// Transient states of the chain (start included).
    pub n_states: usize,
}

/// Highest supported chain order.
pub const MAX_ORDER: usize = 4;

struct Chain {
    /// Transient states: 0 is start; others are tuples of groups.
    states: Vec<Vec<u32>>,
    /// Row-normalised transitions among transient states: (from, to, p).
    q: Vec<(usize, usize, f64)>,
    /// Per transient state: probability of moving to `conversion`.
    r: Vec<f64>,
}

fn collapse(path: &[u32]) -> Vec<u32> {
    let mut out: Vec<u32> = Vec::with_capacity(path.len());
    for &g in path {
        if out.last() != Some(&g) {
            out.push(g);
        }
    }
    out
}

/// Pseudo-state indices of the absorbing states in transition counts.
const CONV: usize = usize::MAX;
const NULL: usize = usize::MAX - 1;

fn build(paths: &[PathCounts], order: usize) -> Chain {
    let mut index: HashMap<Vec<u32>, usize> = HashMap::new();
    let mut states: Vec<Vec<u32>> = vec![Vec::new()];
    index.insert(Vec::new(), 0);
    let mut counts: Vec<HashMap<usize, f64>> = vec![HashMap::new()];
    let mut to_conv: Vec<f64> = vec![0.0];
    let mut out_total: Vec<f64> = vec![0.0];
    for p in paths {
        let weight = p.conversions + p.nulls;
        let path = collapse(&p.path);
        if weight <= 0.0 || path.is_empty() {
            continue;
        }
        let mut from = 0usize;
        for i in 0..path.len() {
            let key = path[(i + 1).saturating_sub(order)..=i].to_vec();
            let to = *index.entry(key.clone()).or_insert_with(|| {
                states.push(key);
                counts.push(HashMap::new());
                to_conv.push(0.0);
                out_total.push(0.0);
                states.len() - 1
            });
            *counts[from].entry(to).or_default() += weight;
            out_total[from] += weight;
            from = to;
        }
        if p.conversions > 0.0 {
            *counts[from].entry(CONV).or_default() += p.conversions;
        }
        if p.nulls > 0.0 {
            *counts[from].entry(NULL).or_default() += p.nulls;
        }
        out_total[from] += weight;
    }
    let mut q = Vec::new();
    let mut r = vec![0.0; states.len()];
    for (from, row) in counts.iter().enumerate() {
        if out_total[from] <= 0.0 {
            continue;
        }
        for (&to, &c) in row {
            let prob = c / out_total[from];
            match to {
                CONV => r[from] = prob,
                NULL => {}
                _ => q.push((from, to, prob)),
            }
        }
    }
    // Deterministic order of entries (HashMap iteration order is not).
    q.sort_by_key(|e| (e.0, e.1));
    Chain { states, q, r }
}

/// Solves `(I − Q) x = r` with the states in `removed` forced to 0; returns `x[start]`.
fn solve(chain: &Chain, removed: &[bool]) -> f64 {
    let n = chain.states.len();
    let mut a = vec![0.0; n * n];
    let mut b = vec![0.0; n];
    for i in 0..n {
        a[i * n + i] = 1.0;
        if !removed[i] {
            b[i] = chain.r[i];
        }
    }
    for &(from, to, p) in &chain.q {
        if !removed[from] && !removed[to] {
            a[from * n + to] -= p;
        }
    }
    gaussian_solve(&mut a, &mut b, n);
    b[0]
}

/// Solves `A x = b` in place (x in `b`) by Gaussian elimination with partial pivoting.
/// `A` is `I − Q` for a substochastic `Q` whose every state can reach absorption, so it
/// is non-singular; a zero pivot would mean a closed loop without exit and gives 0.
pub(crate) fn gaussian_solve(a: &mut [f64], b: &mut [f64], n: usize) {
    for col in 0..n {
        let pivot = (col..n).max_by(|&i, &j| a[i * n + col].abs().total_cmp(&a[j * n + col].abs())).unwrap_or(col);
        if a[pivot * n + col].abs() < 1e-300 {
            continue;
        }
        if pivot != col {
            for k in 0..n {
                a.swap(col * n + k, pivot * n + k);
            }
            b.swap(col, pivot);
        }
        let d = a[col * n + col];
        for row in col + 1..n {
            let f = a[row * n + col] / d;
            if f == 0.0 {
                continue;
            }
            for k in col..n {
                a[row * n + k] -= f * a[col * n + k];
            }
            b[row] -= f * b[col];
        }
    }
    for col in (0..n).rev() {
        let d = a[col * n + col];
        if d.abs() < 1e-300 {
            b[col] = 0.0;
            continue;
        }
        let mut s = b[col];
        for k in col + 1..n {
            s -= a[col * n + k] * b[k];
        }
        b[col] = s / d;
    }
}

/// Removal effects of `n_groups` groups over `paths`, with a chain of the given `order`.
///
/// # Errors
/// [`ModelError::InvalidInput`] if `order` is 0 or above [`MAX_ORDER`], a path names a
/// group ≥ `n_groups`, or a count is negative or not finite.
pub fn removal_effects(paths: &[PathCounts], n_groups: usize, order: usize) -> Result<RemovalEffects, ModelError> {
    if order == 0 || order > MAX_ORDER {
        return Err(ModelError::InvalidInput(format!("invalid `order` = {order}: expected 1 to {MAX_ORDER}")));
    }
    for (i, p) in paths.iter().enumerate() {
        if let Some(g) = p.path.iter().find(|&&g| g as usize >= n_groups) {
            return Err(ModelError::InvalidInput(format!("path {i}: group {g} out of range ({n_groups} groups)")));
        }
        if !(p.conversions.is_finite() && p.conversions >= 0.0 && p.nulls.is_finite() && p.nulls >= 0.0) {
            return Err(ModelError::InvalidInput(format!(
                "path {i}: conversions and nulls must be finite and >= 0, found {} and {}",
                p.conversions, p.nulls
            )));
        }
    }
    let chain = build(paths, order);
    let none = vec![false; chain.states.len()];
    let p = solve(&chain, &none);
    let mut effects = vec![0.0; n_groups];
    if p > 0.0 {
        for (g, e) in effects.iter_mut().enumerate() {
            let removed: Vec<bool> = chain.states.iter().map(|s| s.contains(&(g as u32))).collect();
            if !removed.iter().any(|r| *r) {
                continue;
            }
            *e = (1.0 - solve(&chain, &removed) / p).clamp(0.0, 1.0);
        }
    }
    Ok(RemovalEffects { conversion_probability: p, removal_effects: effects, n_states: chain.states.len() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pc(path: &[u32], conversions: f64, nulls: f64) -> PathCounts {
        PathCounts { path: path.to_vec(), conversions, value: conversions * 10.0, nulls }
    }

    /// An independent solve: value iteration `x ← Q x + r` to a fixed point.
    fn iterate(chain: &Chain, removed: &[bool]) -> f64 {
        let n = chain.states.len();
        let mut x = vec![0.0; n];
        for _ in 0..200_000 {
            let mut next: Vec<f64> = (0..n).map(|i| if removed[i] { 0.0 } else { chain.r[i] }).collect();
            for &(from, to, p) in &chain.q {
                if !removed[from] && !removed[to] {
                    next[from] += p * x[to];
                }
            }
            let change = next.iter().zip(&x).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
            x = next;
            if change < 1e-15 {
                break;
            }
        }
        x[0]
    }

    #[test]
    fn exact_solve_agrees_with_value_iteration() {
        // Loops (a > b > a), three groups, conversions and nulls, order 1 and 2.
        let paths = vec![
            pc(&[0, 1, 0, 2], 3.0, 5.0),
            pc(&[1, 2], 2.0, 1.0),
            pc(&[2, 0, 1], 0.0, 4.0),
            pc(&[0], 1.0, 6.0),
            pc(&[1, 0, 1, 0], 2.5, 0.5),
        ];
        for order in 1..=3 {
            let chain = build(&paths, order);
            let none = vec![false; chain.states.len()];
            assert!((solve(&chain, &none) - iterate(&chain, &none)).abs() < 1e-9);
            for g in 0..3u32 {
                let removed: Vec<bool> = chain.states.iter().map(|s| s.contains(&g)).collect();
                let (a, b) = (solve(&chain, &removed), iterate(&chain, &removed));
                assert!((a - b).abs() < 1e-9, "order {order}, group {g}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn simple_chain_has_known_removal_effects() {
        // start → a → conv (1), start → b → null (1): P = 1/2; removing a gives 0 (RE 1);
        // removing b changes nothing (RE 0).
        let r = removal_effects(&[pc(&[0], 1.0, 0.0), pc(&[1], 0.0, 1.0)], 2, 1).unwrap();
        assert!((r.conversion_probability - 0.5).abs() < 1e-12);
        assert_eq!(r.removal_effects, vec![1.0, 0.0]);
    }

    #[test]
    fn repeats_are_collapsed_and_inputs_checked() {
        let a = removal_effects(&[pc(&[0, 0, 0, 1], 1.0, 1.0)], 2, 1).unwrap();
        let b = removal_effects(&[pc(&[0, 1], 1.0, 1.0)], 2, 1).unwrap();
        assert_eq!(a, b);
        assert!(removal_effects(&[pc(&[5], 1.0, 0.0)], 2, 1).is_err());
        assert!(removal_effects(&[pc(&[0], -1.0, 0.0)], 2, 1).is_err());
        assert!(removal_effects(&[], 2, 0).is_err());
        // No conversions: all effects 0, no division by zero.
        assert_eq!(removal_effects(&[pc(&[0], 0.0, 3.0)], 1, 1).unwrap().removal_effects, vec![0.0]);
    }
}
