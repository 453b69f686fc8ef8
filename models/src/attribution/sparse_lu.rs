//! Sparse LU of `A = I − Q` for an absorbing Markov chain, and the entries of `A⁻¹` the
//! removal effects need.
//!
//! `A` is a non-singular M-matrix (every transient state can reach absorption), so
//! Gaussian elimination needs no pivoting for stability: every Schur complement is again
//! a non-singular M-matrix with a positive diagonal. That frees the elimination order to
//! minimise fill: pivots are chosen greedily by the smallest number of off-diagonal
//! entries in their row and column (minimum degree, ties by index — deterministic). When
//! the remaining active matrix has become dense (a creator-level chain ends in a clique
//! of a few hundred states), it is gathered into a dense block and factored there.
//!
//! Every entry of the active matrix is updated once per pivot, in pivot order, and every
//! solve accumulates in position order, so results do not depend on hash order or on
//! the number of threads.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

/// The factors: `P A Pᵀ = L U`, positions `0..sparse` eliminated one by one, positions
/// `sparse..n` factored as one dense block.
pub(crate) struct SparseLu {
    n: usize,
    /// State at each position.
    order: Vec<usize>,
    /// Position of each state.
    pos: Vec<usize>,
    /// Number of sparse pivots.
    sparse: usize,
    /// Per sparse pivot: its diagonal `U_kk`.
    diag: Vec<f64>,
    /// Per sparse pivot: `L_ik` below it, by position (ascending).
    l_cols: Vec<Vec<(usize, f64)>>,
    /// Per sparse pivot: `U_kj` right of it, by position (ascending).
    u_rows: Vec<Vec<(usize, f64)>>,
    /// The dense block's LU, row-major `b × b` (unit `L` below the diagonal).
    block: Vec<f64>,
    /// The dense block's inverse, by column.
    core_inverse: Vec<f64>,
}

/// Gathers the rest into a dense block once its entries fill this share of `r²`.
const DENSE_SHARE: f64 = 0.15;
/// ... or once this few states are left.
const DENSE_BELOW: usize = 48;

/// The largest dense core factored and inverted (two `side²` arrays of 8 bytes: 256 MiB;
/// about `2 side³` operations).
pub(crate) const MAX_DENSE_BLOCK: usize = 4096;

/// A refused factorisation.
#[derive(Debug)]
pub(crate) enum FactorError {
    /// A pivot vanished: a closed set of states with no exit.
    Singular,
    /// The elimination left a dense core larger than [`MAX_DENSE_BLOCK`], or its fill
    /// passed [`MAX_FILL`] entries before the core was reached.
    TooLarge {
        /// Side of the active matrix when it was refused.
        block: usize,
    },
}

/// The most entries the sparse elimination holds (about 1.5 GiB in its maps).
pub(crate) const MAX_FILL: usize = 20_000_000;

impl SparseLu {
    /// Factors `I − Q`, `q` given as `(from, to, p)` (a self-loop lowers the diagonal).
    /// `with_inverse`: also invert the dense core, for [`SparseLu::inverse_block`].
    pub(crate) fn factor(n: usize, q: &[(usize, usize, f64)], with_inverse: bool) -> Result<SparseLu, FactorError> {
        let mut rows: Vec<BTreeMap<usize, f64>> = vec![BTreeMap::new(); n];
        let mut cols: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); n];
        let mut diag_active = vec![1.0f64; n];
        for &(from, to, p) in q {
            if from == to {
                diag_active[from] -= p;
            } else {
                *rows[from].entry(to).or_default() -= p;
                cols[to].insert(from);
            }
        }
        let degree = |rows: &[BTreeMap<usize, f64>], cols: &[BTreeSet<usize>], i: usize| rows[i].len() + cols[i].len();
        let mut queue: BTreeSet<(usize, usize)> = (0..n).map(|i| (degree(&rows, &cols, i), i)).collect();
        let mut key: Vec<usize> = (0..n).map(|i| degree(&rows, &cols, i)).collect();
        let mut nnz: usize = rows.iter().map(BTreeMap::len).sum();
        let mut order = Vec::with_capacity(n);
        let mut diag = Vec::new();
        let mut l_cols: Vec<Vec<(usize, f64)>> = Vec::new();
        let mut u_rows: Vec<Vec<(usize, f64)>> = Vec::new();
        let mut alive = vec![true; n];
        while let Some(&(_, k)) = queue.first() {
            let remaining = queue.len();
            if remaining <= DENSE_BELOW || nnz as f64 >= DENSE_SHARE * (remaining * remaining) as f64 {
                if remaining > MAX_DENSE_BLOCK {
                    return Err(FactorError::TooLarge { block: remaining });
                }
                break;
            }
            if nnz > MAX_FILL {
                return Err(FactorError::TooLarge { block: remaining });
            }
            queue.pop_first();
            alive[k] = false;
            let d = diag_active[k];
            if d.abs() < 1e-300 {
                return Err(FactorError::Singular);
            }
            let row: Vec<(usize, f64)> = std::mem::take(&mut rows[k]).into_iter().collect();
            let col: Vec<usize> = std::mem::take(&mut cols[k]).into_iter().collect();
            nnz -= row.len();
            let mut lcol = Vec::with_capacity(col.len());
            let mut touched: BTreeSet<usize> = BTreeSet::new();
            for &(j, _) in &row {
                cols[j].remove(&k);
                touched.insert(j);
            }
            for &i in &col {
                let a_ik = rows[i].remove(&k).expect("column pattern matches the rows");
                nnz -= 1;
                let l = a_ik / d;
                lcol.push((i, l));
                touched.insert(i);
                for &(j, u_kj) in &row {
                    if j == i {
                        diag_active[i] -= l * u_kj;
                        continue;
                    }
                    let e = rows[i].entry(j).or_insert_with(|| {
                        nnz += 1;
                        0.0
                    });
                    *e -= l * u_kj;
                    cols[j].insert(i);
                }
            }
            for i in touched {
                let new = degree(&rows, &cols, i);
                if new != key[i] {
                    queue.remove(&(key[i], i));
                    queue.insert((new, i));
                    key[i] = new;
                }
            }
            order.push(k);
            diag.push(d);
            l_cols.push(lcol);
            u_rows.push(row);
        }
        let sparse = order.len();
        let rest: Vec<usize> = queue.iter().map(|&(_, i)| i).collect();
        order.extend(&rest);
        let mut pos = vec![usize::MAX; n];
        for (p, &s) in order.iter().enumerate() {
            pos[s] = p;
        }
        let to_pos = |v: Vec<(usize, f64)>| {
            let mut v: Vec<(usize, f64)> = v.into_iter().map(|(s, x)| (pos[s], x)).collect();
            v.sort_by_key(|e| e.0);
            v
        };
        let l_cols: Vec<Vec<(usize, f64)>> = l_cols.into_iter().map(to_pos).collect();
        let u_rows: Vec<Vec<(usize, f64)>> = u_rows.into_iter().map(to_pos).collect();
        // The dense block: the remaining Schur complement, factored in place.
        let b = rest.len();
        let mut block = vec![0.0; b * b];
        for (r, &s) in rest.iter().enumerate() {
            block[r * b + r] = diag_active[s];
            for (&j, &v) in &rows[s] {
                debug_assert!(alive[j]);
                block[r * b + (pos[j] - sparse)] = v;
            }
        }
        for c in 0..b {
            let d = block[c * b + c];
            if d.abs() < 1e-300 {
                return Err(FactorError::Singular);
            }
            for r in c + 1..b {
                let f = block[r * b + c] / d;
                if f == 0.0 {
                    continue;
                }
                block[r * b + c] = f;
                let (top, bottom) = block.split_at_mut(r * b);
                let pivot_row = &top[c * b + c + 1..c * b + b];
                for (x, &u) in bottom[c + 1..b].iter_mut().zip(pivot_row) {
                    *x -= f * u;
                }
            }
        }
        let core_inverse = if with_inverse { core_inverse(&block, b) } else { Vec::new() };
        Ok(SparseLu { n, order, pos, sparse, diag, l_cols, u_rows, block, core_inverse })
    }

    /// Entries of the factors: the number of stored off-diagonal sparse entries and the
    /// dense block's side.
    #[cfg(test)]
    pub(crate) fn size(&self) -> (usize, usize) {
        let nnz = self.l_cols.iter().map(Vec::len).sum::<usize>() + self.u_rows.iter().map(Vec::len).sum::<usize>();
        (nnz, self.n - self.sparse)
    }

    fn b(&self) -> usize {
        self.n - self.sparse
    }

    /// Solves `A x = rhs` (by state).
    pub(crate) fn solve(&self, rhs: &[f64]) -> Vec<f64> {
        let mut y: Vec<f64> = self.order.iter().map(|&s| rhs[s]).collect();
        self.forward_l(&mut y);
        // U x = y, backwards.
        let (s, b) = (self.sparse, self.b());
        for c in (0..b).rev() {
            let mut acc = y[s + c];
            for k in c + 1..b {
                acc -= self.block[c * b + k] * y[s + k];
            }
            y[s + c] = acc / self.block[c * b + c];
        }
        for k in (0..s).rev() {
            let mut acc = y[k];
            for &(j, u) in &self.u_rows[k] {
                acc -= u * y[j];
            }
            y[k] = acc / self.diag[k];
        }
        self.by_state(&y)
    }

    /// Solves `Aᵀ z = rhs` (by state).
    pub(crate) fn solve_transposed(&self, rhs: &[f64]) -> Vec<f64> {
        let mut w: Vec<f64> = self.order.iter().map(|&s| rhs[s]).collect();
        self.forward_ut(&mut w);
        // Lᵀ z = w, backwards (unit diagonal).
        let (s, b) = (self.sparse, self.b());
        for c in (0..b).rev() {
            let mut acc = w[s + c];
            for r in c + 1..b {
                acc -= self.block[r * b + c] * w[s + r];
            }
            w[s + c] = acc;
        }
        for k in (0..s).rev() {
            let mut acc = w[k];
            for &(i, l) in &self.l_cols[k] {
                acc -= l * w[i];
            }
            w[k] = acc;
        }
        self.by_state(&w)
    }

    fn by_state(&self, v: &[f64]) -> Vec<f64> {
        (0..self.n).map(|s| v[self.pos[s]]).collect()
    }

    /// `y ← L⁻¹ y` (positions).
    fn forward_l(&self, y: &mut [f64]) {
        for k in 0..self.sparse {
            let yk = y[k];
            if yk != 0.0 {
                for &(i, l) in &self.l_cols[k] {
                    y[i] -= l * yk;
                }
            }
        }
        let (s, b) = (self.sparse, self.b());
        for c in 0..b {
            let yc = y[s + c];
            if yc != 0.0 {
                for r in c + 1..b {
                    y[s + r] -= self.block[r * b + c] * yc;
                }
            }
        }
    }

    /// `w ← U⁻ᵀ w` (positions).
    fn forward_ut(&self, w: &mut [f64]) {
        for k in 0..self.sparse {
            if w[k] != 0.0 {
                w[k] /= self.diag[k];
                let wk = w[k];
                for &(j, u) in &self.u_rows[k] {
                    w[j] -= u * wk;
                }
            }
        }
        let (s, b) = (self.sparse, self.b());
        for c in 0..b {
            w[s + c] /= self.block[c * b + c];
            let wc = w[s + c];
            if wc != 0.0 {
                for k in c + 1..b {
                    w[s + k] -= self.block[c * b + k] * wc;
                }
            }
        }
    }

    /// `(A⁻¹)_{st}` for every `s, t` in `states`, row-major. Needs the factors made
    /// `with_inverse`.
    ///
    /// `(A⁻¹)_{st} = (U⁻ᵀ e_s) · (L⁻¹ e_t)`: the sparse pivots each right-hand side
    /// reaches are visited one by one, and what arrives at the dense core (`γ_s`, `β_t`)
    /// meets there through the core's inverse, `γ_sᵀ B⁻¹ β_t` — cheap because what
    /// arrives is sparse.
    pub(crate) fn inverse_block(&self, states: &[usize]) -> Vec<f64> {
        let m = states.len();
        let b = self.b();
        let ls: Vec<Reach> = states.iter().map(|&t| self.reach(self.pos[t], true)).collect();
        let us: Vec<Reach> = states.iter().map(|&s| self.reach(self.pos[s], false)).collect();
        let mut out = vec![0.0; m * m];
        let mut w = vec![0.0; b];
        for (c, l) in ls.iter().enumerate() {
            // w = B⁻¹ β_t (columns of the inverse, in ascending order of j).
            w.fill(0.0);
            for &(j, beta) in &l.core {
                let col = &self.core_inverse[j * b..(j + 1) * b];
                for (x, &v) in w.iter_mut().zip(col) {
                    *x += v * beta;
                }
            }
            for (a, u) in us.iter().enumerate() {
                let core: f64 = u.core.iter().map(|&(i, gamma)| gamma * w[i]).sum();
                out[a * m + c] = dot_sparse(&u.entries, &l.entries) + core;
            }
        }
        out
    }

    /// The sparse pivots `L⁻¹ e_p` (`lower`) or `U⁻ᵀ e_p` reaches, with their values
    /// (ascending positions), and the right-hand side it leaves at the dense core.
    fn reach(&self, p: usize, lower: bool) -> Reach {
        let s = self.sparse;
        let mut entries: Vec<(usize, f64)> = Vec::new();
        let mut core: BTreeMap<usize, f64> = BTreeMap::new();
        if p >= s {
            core.insert(p - s, 1.0);
        } else {
            let mut values: BTreeMap<usize, f64> = BTreeMap::new();
            let mut heap = BinaryHeap::new();
            values.insert(p, 1.0);
            heap.push(Reverse(p));
            while let Some(Reverse(k)) = heap.pop() {
                let mut v = values[&k];
                if !lower {
                    v /= self.diag[k];
                }
                entries.push((k, v));
                let list = if lower { &self.l_cols[k] } else { &self.u_rows[k] };
                for &(i, x) in list {
                    if i >= s {
                        *core.entry(i - s).or_default() -= x * v;
                    } else {
                        let e = values.entry(i).or_insert_with(|| {
                            heap.push(Reverse(i));
                            0.0
                        });
                        *e -= x * v;
                    }
                }
            }
        }
        Reach { entries, core: core.into_iter().collect() }
    }
}

/// `B⁻¹` of a dense core factored in place as `L U` (row-major `b × b`), stored by
/// column: `out[j * b + i] = (B⁻¹)_{ij}`. Columns are independent and solved in parallel.
fn core_inverse(lu: &[f64], b: usize) -> Vec<f64> {
    use rayon::prelude::*;
    let mut out = vec![0.0; b * b];
    out.par_chunks_mut(b.max(1)).enumerate().for_each(|(j, col)| {
        col[j] = 1.0;
        for c in j..b {
            let yc = col[c];
            if yc != 0.0 {
                for r in c + 1..b {
                    col[r] -= lu[r * b + c] * yc;
                }
            }
        }
        for c in (0..b).rev() {
            let mut acc = col[c];
            for k in c + 1..b {
                acc -= lu[c * b + k] * col[k];
            }
            col[c] = acc / lu[c * b + c];
        }
    });
    out
}

/// What a right-hand side reaches: sparse pivots (ascending) and the core's entries.
struct Reach {
    entries: Vec<(usize, f64)>,
    core: Vec<(usize, f64)>,
}

fn dot_sparse(a: &[(usize, f64)], b: &[(usize, f64)]) -> f64 {
    let (mut i, mut j, mut acc) = (0, 0, 0.0);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                acc += a[i].1 * b[j].1;
                i += 1;
                j += 1;
            }
        }
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A random substochastic chain over `n` states (each row keeps some exit mass).
    fn random_chain(n: usize, per_row: usize, seed: u64) -> Vec<(usize, usize, f64)> {
        let mut x = seed;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut q = Vec::new();
        for i in 0..n {
            let mut targets: Vec<usize> = (0..per_row).map(|_| (next() % n as u64) as usize).collect();
            targets.sort_unstable();
            targets.dedup();
            let exit = 0.05 + (next() % 1000) as f64 / 2000.0;
            let weights: Vec<f64> = targets.iter().map(|_| 1.0 + (next() % 100) as f64).collect();
            let total: f64 = weights.iter().sum();
            for (t, w) in targets.into_iter().zip(weights) {
                q.push((i, t, (1.0 - exit) * w / total));
            }
        }
        q
    }

    fn dense(n: usize, q: &[(usize, usize, f64)]) -> Vec<f64> {
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            a[i * n + i] = 1.0;
        }
        for &(i, j, p) in q {
            a[i * n + j] -= p;
        }
        a
    }

    fn dense_inverse_column(n: usize, q: &[(usize, usize, f64)], t: usize) -> Vec<f64> {
        let mut a = dense(n, q);
        let mut b = vec![0.0; n];
        b[t] = 1.0;
        super::super::markov::gaussian_solve(&mut a, &mut b, n);
        b
    }

    #[test]
    fn solves_and_inverse_entries_match_a_dense_solve() {
        for (n, per_row, seed) in [(1, 1, 1), (7, 2, 2), (60, 3, 3), (300, 4, 4), (300, 40, 5)] {
            let q = random_chain(n, per_row, seed);
            let lu = SparseLu::factor(n, &q, true).unwrap();
            let (entries, block) = lu.size();
            if n == 300 && per_row == 4 {
                // Both phases ran: pivots eliminated sparsely, then a dense block.
                assert!(entries > 0 && block > 0 && block < n, "{entries} entries, block {block}");
            }
            let rhs: Vec<f64> = (0..n).map(|i| (i % 5) as f64 * 0.1).collect();
            let x = lu.solve(&rhs);
            let a = dense(n, &q);
            for i in 0..n {
                let ax: f64 = (0..n).map(|j| a[i * n + j] * x[j]).sum();
                assert!((ax - rhs[i]).abs() < 1e-12, "n {n}: row {i}: {ax} vs {}", rhs[i]);
            }
            let z = lu.solve_transposed(&rhs);
            for j in 0..n {
                let atz: f64 = (0..n).map(|i| a[i * n + j] * z[i]).sum();
                assert!((atz - rhs[j]).abs() < 1e-12);
            }
            let states: Vec<usize> = (0..n).step_by((n / 5).max(1)).collect();
            assert_eq!(lu.core_inverse.len(), lu.b() * lu.b());
            let block = lu.inverse_block(&states);
            for (c, &t) in states.iter().enumerate() {
                let col = dense_inverse_column(n, &q, t);
                for (r, &s) in states.iter().enumerate() {
                    let (got, want) = (block[r * states.len() + c], col[s]);
                    assert!((got - want).abs() < 1e-12 * want.abs().max(1.0), "n {n}: M[{s},{t}] {got} vs {want}");
                }
            }
        }
    }

    #[test]
    fn a_closed_loop_is_singular() {
        // 0 → 1 → 0 with no exit.
        assert!(SparseLu::factor(2, &[(0, 1, 1.0), (1, 0, 1.0)], false).is_err());
    }
}
