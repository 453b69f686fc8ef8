//! Cross-validation splits: stratified k-fold, seeded.

use crate::TrainError;

/// Assigns each row to one of `k` folds so that every class is spread as evenly as
/// possible across folds (rows of a class are shuffled with `seed`, then dealt round-robin).
/// Returns the fold of each row.
///
/// # Errors
/// [`TrainError::InvalidParam`] if `k < 2` or `k` exceeds the number of rows.
pub fn stratified_folds(classes: &[usize], k: usize, seed: u64) -> Result<Vec<usize>, TrainError> {
    if k < 2 || k > classes.len() {
        return Err(TrainError::InvalidParam {
            name: "k",
            value: k.to_string(),
            expected: "at least 2 and at most the number of rows",
        });
    }
    let n_classes = classes.iter().copied().max().map_or(0, |m| m + 1);
    let mut folds = vec![0usize; classes.len()];
    let mut offset = 0;
    for c in 0..n_classes {
        let mut rows: Vec<usize> = (0..classes.len()).filter(|&i| classes[i] == c).collect();
        // Fisher–Yates with the project's own RNG (stream 0x5f = "split").
        let mut rng = roicast_data::rng::Rng::new(seed, 0x5f, c as u64);
        for i in (1..rows.len()).rev() {
            let j = rng.index(i + 1);
            rows.swap(i, j);
        }
        for (j, &row) in rows.iter().enumerate() {
            // Continue dealing where the previous class stopped, so fold sizes stay balanced.
            folds[row] = (offset + j) % k;
        }
        offset += rows.len();
    }
    Ok(folds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn stratified_folds_balance_every_class(classes in prop::collection::vec(0usize..3, 10..200), k in 2usize..6, seed in any::<u64>()) {
            prop_assume!(k <= classes.len());
            let folds = stratified_folds(&classes, k, seed).unwrap();
            for c in 0..3 {
                let mut per_fold = vec![0i64; k];
                for (i, &f) in folds.iter().enumerate() {
                    if classes[i] == c { per_fold[f] += 1; }
                }
                let (lo, hi) = (per_fold.iter().min().unwrap(), per_fold.iter().max().unwrap());
                prop_assert!(hi - lo <= 1, "class {c}: {per_fold:?}");
            }
            let mut sizes = vec![0i64; k];
            for &f in &folds { sizes[f] += 1; }
            prop_assert!(sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1);
        }
    }

    #[test]
    fn stratified_folds_reject_bad_k() {
        assert!(stratified_folds(&[0, 1, 0], 1, 0).is_err());
        assert!(stratified_folds(&[0, 1, 0], 4, 0).is_err());
    }
}
