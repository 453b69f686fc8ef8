//! The Markov-chain removal effect, solved exactly.
//!
//! Journeys become paths of groups with consecutive repeats collapsed. States are
//! `start`, the last `order` groups seen (shorter at the start of a path), and the two
//! absorbing states `conversion` and `null`; transition probabilities are the observed
//! transition counts normalised per state (each path weighted by its conversions plus
//! nulls). The conversion probability from `start` solves the linear system
//! `(I − Q) x = r` (Q: transient-to-transient probabilities, r: transient-to-conversion)
//! — no simulation, so no sampling noise and no truncation bias. Removing a group sends
//! every transition into a state that contains it (the set `S`) to `null`; its removal
//! effect is `1 − P_removed / P`.
//!
//! One sparse LU of `I − Q` serves every removal. With `M = (I − Q)⁻¹`, forcing the
//! states of `S` to 0 is a rank-`|S|` change whose Schur complement gives
//!
//! ```text
//! P_removed = x₀ − M_{0S} (M_{SS})⁻¹ x_S
//! ```
//!
//! (for order 1, `S` is one state `s` and this is `x₀ − P(reach s) · x_s`: the chain's
//! converting paths through `s` are exactly what the removal takes away). `M_{0S}` is one
//! transposed solve for all groups; `M_{SS}` needs `|S|` sparse triangular solves per
//! group (`sparse_lu.rs`, private). The dense solve per group this replaced,
//! `O(groups · states³)`, is kept as [`removal_effects_dense`], the reference in tests.
//!
//! States are `groups + 1` for order 1 and up to `Σ groups^k` for order k (only observed
//! ones).

use rustc_hash::FxHashMap;

use rayon::prelude::*;

use super::sparse_lu::{FactorError, MAX_DENSE_BLOCK, MAX_FILL, SparseLu};
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
    /// Per group: the weight the `markov` model gives the group inside a journey — its
    /// removal effect divided by the share of conversions whose path contains it
    /// (`RE_g · C / C_g`; 0 for a group on no converting path). A removal effect is
    /// close to that share (the chain's probability of a converting path through the
    /// group), so using it raw inside a journey would weigh groups by their size: see
    /// `docs/attribution.md`, "Markov at creator level".
    pub journey_weights: Vec<f64>,
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
    let mut index: FxHashMap<Vec<u32>, usize> = FxHashMap::default();
    let mut states: Vec<Vec<u32>> = vec![Vec::new()];
    index.insert(Vec::new(), 0);
    let mut counts: Vec<FxHashMap<usize, f64>> = vec![FxHashMap::default()];
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
            let key = &path[(i + 1).saturating_sub(order)..=i];
            // Looked up by slice: a state's key is allocated once, when it is first seen.
            let to = if let Some(&to) = index.get(key) {
                to
            } else {
                index.insert(key.to_vec(), states.len());
                states.push(key.to_vec());
                counts.push(FxHashMap::default());
                to_conv.push(0.0);
                out_total.push(0.0);
                states.len() - 1
            };
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

fn check(paths: &[PathCounts], n_groups: usize, order: usize) -> Result<(), ModelError> {
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
    Ok(())
}

/// Per group: removal effect over the share of conversions whose path contains it.
fn journey_weights(paths: &[PathCounts], n_groups: usize, effects: &[f64]) -> Vec<f64> {
    let mut through = vec![0.0; n_groups];
    let mut total = 0.0;
    let mut seen: Vec<u32> = Vec::new();
    for p in paths.iter().filter(|p| p.conversions > 0.0) {
        total += p.conversions;
        seen.clear();
        for &g in &p.path {
            if !seen.contains(&g) {
                seen.push(g);
                through[g as usize] += p.conversions;
            }
        }
    }
    effects.iter().zip(&through).map(|(&e, &c)| if c > 0.0 { e * total / c } else { 0.0 }).collect()
}

/// The states of each group: `out[g]` lists the states whose tuple contains `g`.
fn states_of_groups(chain: &Chain, n_groups: usize) -> Vec<Vec<usize>> {
    let mut out = vec![Vec::new(); n_groups];
    for (i, s) in chain.states.iter().enumerate() {
        let mut seen: Vec<u32> = Vec::with_capacity(s.len());
        for &g in s {
            if !seen.contains(&g) {
                seen.push(g);
                out[g as usize].push(i);
            }
        }
    }
    out
}

/// Removals of more states than this are solved by factoring the chain without them
/// rather than by the `|S|`-rank update (whose dense `|S|³` solve would cost more).
const MAX_UPDATE: usize = 384;

fn too_large(states: usize, groups: usize, order: usize, block: usize) -> ModelError {
    ModelError::InvalidInput(format!(
        "the order-{order} Markov chain over {groups} groups has {states} states whose elimination leaves \
         {block} states coupled: too large to solve exactly here (limits: a dense core of {MAX_DENSE_BLOCK} \
         states, {MAX_FILL} fill entries); use a lower --markov-order or a coarser --group-by"
    ))
}

/// Removal effects of `n_groups` groups over `paths`, with a chain of the given `order`.
///
/// # Errors
/// [`ModelError::InvalidInput`] if `order` is 0 or above [`MAX_ORDER`], a path names a
/// group ≥ `n_groups`, or a count is negative or not finite, or the chain has a closed
/// set of states without exit (not possible for chains built from paths, which all end).
pub fn removal_effects(paths: &[PathCounts], n_groups: usize, order: usize) -> Result<RemovalEffects, ModelError> {
    removal_effects_with(paths, n_groups, order, MAX_UPDATE)
}

fn removal_effects_with(
    paths: &[PathCounts],
    n_groups: usize,
    order: usize,
    max_update: usize,
) -> Result<RemovalEffects, ModelError> {
    check(paths, n_groups, order)?;
    let chain = build(paths, order);
    let n = chain.states.len();
    let refused = |e| match e {
        FactorError::Singular => {
            ModelError::InvalidInput("the Markov chain has states that never reach conversion or null".into())
        }
        FactorError::TooLarge { block } => too_large(n, n_groups, order, block),
    };
    let lu = SparseLu::factor(n, &chain.q, true).map_err(refused)?;
    let x = lu.solve(&chain.r);
    let p = x[0];
    let mut effects = vec![0.0; n_groups];
    if p > 0.0 {
        let mut e0 = vec![0.0; n];
        e0[0] = 1.0;
        // z_s = M_{0s}: expected visits to s from start.
        let z = lu.solve_transposed(&e0);
        let members = states_of_groups(&chain, n_groups);
        effects = members
            .par_iter()
            .map(|s| {
                if s.is_empty() {
                    return Ok(0.0);
                }
                if s.len() > max_update {
                    // A hub in a higher-order chain: factor the chain without it instead.
                    let mut removed = vec![false; n];
                    for &i in s {
                        removed[i] = true;
                    }
                    let q: Vec<(usize, usize, f64)> =
                        chain.q.iter().copied().filter(|&(i, j, _)| !removed[i] && !removed[j]).collect();
                    let r: Vec<f64> =
                        chain.r.iter().zip(&removed).map(|(&r, &gone)| if gone { 0.0 } else { r }).collect();
                    let without = SparseLu::factor(n, &q, false).map_err(refused)?.solve(&r)[0];
                    return Ok((1.0 - without / p).clamp(0.0, 1.0));
                }
                let mut m_ss = lu.inverse_block(s);
                let mut y: Vec<f64> = s.iter().map(|&i| x[i]).collect();
                gaussian_solve(&mut m_ss, &mut y, s.len());
                let lost: f64 = s.iter().zip(&y).map(|(&i, yi)| z[i] * yi).sum();
                Ok((lost / p).clamp(0.0, 1.0))
            })
            .collect::<Result<Vec<f64>, ModelError>>()?;
    }
    let journey_weights = journey_weights(paths, n_groups, &effects);
    Ok(RemovalEffects { conversion_probability: p, removal_effects: effects, journey_weights, n_states: n })
}

/// [`removal_effects`] by one dense Gaussian elimination per group, `O(groups · states³)`:
/// the reference the sparse method is tested and benchmarked against.
///
/// # Errors
/// As [`removal_effects`].
pub fn removal_effects_dense(
    paths: &[PathCounts],
    n_groups: usize,
    order: usize,
) -> Result<RemovalEffects, ModelError> {
    check(paths, n_groups, order)?;
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
    let journey_weights = journey_weights(paths, n_groups, &effects);
    Ok(RemovalEffects {
        conversion_probability: p,
        removal_effects: effects,
        journey_weights,
        n_states: chain.states.len(),
    })
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

    /// Random paths over `groups` groups (loops, repeats, conversions and nulls).
    fn random_paths(n_paths: usize, groups: u32, seed: u64) -> Vec<PathCounts> {
        let mut x = seed;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        (0..n_paths)
            .map(|_| {
                let len = 1 + (next() % 6) as usize;
                // Skewed: low groups are hubs, as channels are among creators.
                let path: Vec<u32> =
                    (0..len).map(|_| (next() % u64::from(groups)).min(next() % u64::from(groups)) as u32).collect();
                pc(&path, (next() % 4) as f64, (next() % 9) as f64)
            })
            .collect()
    }

    #[test]
    fn sparse_method_equals_the_dense_solve_on_random_chains() {
        // (The dense reference costs groups · states³: higher orders on small chains.)
        for (n_paths, groups, seed, orders) in [(50, 4, 1, 3), (300, 10, 2, 2), (600, 40, 3, 1), (3000, 150, 4, 1)] {
            let paths = random_paths(n_paths, groups, seed);
            for order in 1..=orders {
                let sparse = removal_effects(&paths, groups as usize, order).unwrap();
                let dense = removal_effects_dense(&paths, groups as usize, order).unwrap();
                assert!((sparse.conversion_probability - dense.conversion_probability).abs() < 1e-12);
                assert_eq!(sparse.n_states, dense.n_states);
                for (g, (a, b)) in sparse.removal_effects.iter().zip(&dense.removal_effects).enumerate() {
                    assert!((a - b).abs() < 1e-9, "{n_paths} paths, order {order}, group {g}: {a} vs {b}");
                }
                for (a, b) in sparse.journey_weights.iter().zip(&dense.journey_weights) {
                    assert!((a - b).abs() < 1e-7 * b.abs().max(1.0));
                }
                // Every removal by refactoring the chain without the group's states.
                let refactored = removal_effects_with(&paths, groups as usize, order, 0).unwrap();
                for (a, b) in refactored.removal_effects.iter().zip(&dense.removal_effects) {
                    assert!((a - b).abs() < 1e-9, "refactored, order {order}: {a} vs {b}");
                }
            }
        }
    }

    #[test]
    fn journey_weights_do_not_depend_on_how_finely_groups_are_cut() {
        // Group 2 of the coarse world is cut into 2 and 3, each taking every other path.
        // Raw removal effects halve; the journey weights stay those of the whole group.
        let coarse = random_paths(4000, 3, 9);
        let fine: Vec<PathCounts> = coarse
            .iter()
            .enumerate()
            .map(|(i, p)| PathCounts {
                path: p.path.iter().map(|&g| if g == 2 && i % 2 == 1 { 3 } else { g }).collect(),
                ..p.clone()
            })
            .collect();
        let c = removal_effects(&coarse, 3, 1).unwrap();
        let f = removal_effects(&fine, 4, 1).unwrap();
        assert!(
            f.removal_effects[2] < 0.7 * c.removal_effects[2],
            "{:?} vs {:?}",
            f.removal_effects,
            c.removal_effects
        );
        for half in [2, 3] {
            let (a, b) = (f.journey_weights[half], c.journey_weights[2]);
            assert!((a - b).abs() < 0.1 * b, "weight of half {half}: {a} vs the whole group's {b}");
        }
        // Weights are removal effects per share of conversions: near 1 for every group.
        for w in &c.journey_weights {
            assert!((0.5..1.5).contains(w), "{:?}", c.journey_weights);
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
