//! The exact Shapley value of groups in the game "conversions of journeys whose set of
//! groups lies within the coalition".
//!
//! `v(S) = Σ_{T ⊆ S} w(T)`, where `w(T)` is the conversions (or value) of journeys whose
//! distinct groups are exactly `T`. The value is computed by definition over all 2ⁿ
//! coalitions (a subset-sum transform gives every `v(S)` in `O(2ⁿ·n)`), so the cost caps
//! the number of groups at [`MAX_GROUPS`].
//!
//! Such a `v` is a sum of unanimity games, whose Shapley value gives `w(T)/|T|` to each
//! member of `T`: the Shapley value equals `linear_distinct` summed over journeys. The
//! tests check the coalition computation against that identity; per-order Shapley
//! credits are therefore the `linear_distinct` weights.

use crate::ModelError;

/// Most groups the exact computation accepts (2²⁰ coalitions).
pub const MAX_GROUPS: usize = 20;

/// Shapley values of `n` groups given `(set of groups as a bit mask, weight)` pairs.
///
/// # Errors
/// [`ModelError::InvalidInput`] if `n` exceeds [`MAX_GROUPS`] or a mask names a group ≥ `n`.
pub fn shapley_values(sets: &[(u64, f64)], n: usize) -> Result<Vec<f64>, ModelError> {
    if n > MAX_GROUPS {
        return Err(ModelError::InvalidInput(format!(
            "exact Shapley over {n} groups needs 2^{n} coalitions; at most {MAX_GROUPS} groups are supported \
             (group by channel or platform instead)"
        )));
    }
    let size = 1usize << n;
    let mut v = vec![0.0f64; size];
    for &(mask, w) in sets {
        if mask >> n != 0 {
            return Err(ModelError::InvalidInput(format!("coalition mask {mask:#b} names a group >= {n}")));
        }
        v[mask as usize] += w;
    }
    // Subset-sum (zeta) transform: v[S] = Σ_{T ⊆ S} w(T).
    for i in 0..n {
        let bit = 1 << i;
        for s in 0..size {
            if s & bit != 0 {
                v[s] += v[s ^ bit];
            }
        }
    }
    // Weight of a coalition of size s not containing i: s!(n−s−1)!/n! = 1 / (n·C(n−1, s)).
    let mut weight = vec![0.0f64; n.max(1)];
    let mut binom = 1.0f64;
    for (s, w) in weight.iter_mut().enumerate() {
        if s > 0 {
            binom = binom * (n - s) as f64 / s as f64;
        }
        *w = 1.0 / (n as f64 * binom);
    }
    let mut phi = vec![0.0f64; n];
    for s in 0..size {
        let k = s.count_ones() as usize;
        for (i, p) in phi.iter_mut().enumerate() {
            let bit = 1 << i;
            if s & bit == 0 {
                *p += weight[k] * (v[s | bit] - v[s]);
            }
        }
    }
    Ok(phi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapley_equals_distinct_linear_sum() {
        // Journeys: {a} ×3, {a,b} ×2, {b,c} ×4, {a,b,c} ×1.
        let sets = [(0b001, 3.0), (0b011, 2.0), (0b110, 4.0), (0b111, 1.0)];
        let phi = shapley_values(&sets, 3).unwrap();
        let expected = [3.0 + 1.0 + 1.0 / 3.0, 1.0 + 2.0 + 1.0 / 3.0, 2.0 + 1.0 / 3.0];
        for (p, e) in phi.iter().zip(expected) {
            assert!((p - e).abs() < 1e-12, "{phi:?}");
        }
        // Efficiency: the values add up to v(all).
        assert!((phi.iter().sum::<f64>() - 10.0).abs() < 1e-12);
    }

    #[test]
    fn shapley_caps_the_number_of_groups() {
        let err = shapley_values(&[], 21).unwrap_err();
        assert!(err.to_string().contains("at most 20 groups"), "{err}");
        assert!(shapley_values(&[(0b100, 1.0)], 2).is_err());
    }
}
