//! Classification metrics: confusion matrix, per-class precision / recall / F1, macro
//! and weighted averages, accuracy. Definitions follow scikit-learn (a class with no
//! predicted or no true rows scores 0 for the undefined ratio, as `zero_division=0`).

use serde::Serialize;

use crate::TrainError;

/// Per-class scores.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassScores {
    /// Class label.
    pub label: String,
    /// TP / (TP + FP).
    pub precision: f64,
    /// TP / (TP + FN).
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
    /// True rows of this class.
    pub support: u64,
}

/// A confusion matrix and the scores derived from it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Classification {
    /// Class labels, in matrix order.
    pub labels: Vec<String>,
    /// `matrix[true][predicted]` counts.
    pub matrix: Vec<Vec<u64>>,
    /// Per class.
    pub classes: Vec<ClassScores>,
    /// Unweighted mean of per-class F1.
    pub macro_f1: f64,
    /// Unweighted mean of per-class precision.
    pub macro_precision: f64,
    /// Unweighted mean of per-class recall.
    pub macro_recall: f64,
    /// Support-weighted mean of per-class F1.
    pub weighted_f1: f64,
    /// Share of rows predicted correctly.
    pub accuracy: f64,
}

/// Scores predictions `pred` against truths `truth` (class indices into `labels`).
///
/// # Errors
/// [`TrainError::InvalidData`] if the lengths differ, are zero, or an index is out of range.
pub fn classification(labels: &[&str], truth: &[usize], pred: &[usize]) -> Result<Classification, TrainError> {
    if truth.len() != pred.len() || truth.is_empty() {
        return Err(TrainError::InvalidData(format!("{} truths but {} predictions", truth.len(), pred.len())));
    }
    let k = labels.len();
    let mut matrix = vec![vec![0u64; k]; k];
    for (&t, &p) in truth.iter().zip(pred) {
        if t >= k || p >= k {
            return Err(TrainError::InvalidData(format!("class index {} out of range for {k} classes", t.max(p))));
        }
        matrix[t][p] += 1;
    }
    let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let classes: Vec<ClassScores> = (0..k)
        .map(|c| {
            let tp = matrix[c][c];
            let predicted: u64 = (0..k).map(|t| matrix[t][c]).sum();
            let support: u64 = matrix[c].iter().sum();
            let precision = ratio(tp, predicted);
            let recall = ratio(tp, support);
            let f1 = if precision + recall == 0.0 { 0.0 } else { 2.0 * precision * recall / (precision + recall) };
            ClassScores { label: labels[c].to_owned(), precision, recall, f1, support }
        })
        .collect();
    let n = truth.len() as f64;
    let mean = |f: fn(&ClassScores) -> f64| classes.iter().map(f).sum::<f64>() / k as f64;
    Ok(Classification {
        labels: labels.iter().map(|s| (*s).to_owned()).collect(),
        macro_f1: mean(|c| c.f1),
        macro_precision: mean(|c| c.precision),
        macro_recall: mean(|c| c.recall),
        weighted_f1: classes.iter().map(|c| c.f1 * c.support as f64).sum::<f64>() / n,
        accuracy: (0..k).map(|c| matrix[c][c]).sum::<u64>() as f64 / n,
        matrix,
        classes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;

    /// scikit-learn's documented example for `f1_score`, `precision_score` and
    /// `recall_score`: `y_true` = [0, 1, 2, 0, 1, 2], `y_pred` = [0, 2, 1, 0, 0, 1] gives
    /// macro F1 0.2666…, weighted F1 0.2666…, macro precision 0.2222…, macro recall
    /// 0.3333…, per-class F1 [0.8, 0, 0].
    #[test]
    fn classification_matches_scikit_learn_documentation() {
        let c = classification(&["0", "1", "2"], &[0, 1, 2, 0, 1, 2], &[0, 2, 1, 0, 0, 1]).unwrap();
        assert_abs_diff_eq!(c.macro_f1, 0.266_666_666_666_666_66, epsilon = 1e-12);
        assert_abs_diff_eq!(c.weighted_f1, 0.266_666_666_666_666_66, epsilon = 1e-12);
        assert_abs_diff_eq!(c.macro_precision, 0.222_222_222_222_222_2, epsilon = 1e-12);
        assert_abs_diff_eq!(c.macro_recall, 0.333_333_333_333_333_3, epsilon = 1e-12);
        assert_abs_diff_eq!(c.classes[0].f1, 0.8, epsilon = 1e-12);
        assert_eq!(c.classes[1].f1, 0.0);
        assert_eq!(c.matrix, vec![vec![2, 0, 0], vec![1, 0, 1], vec![0, 2, 0]]);
        assert_abs_diff_eq!(c.accuracy, 2.0 / 6.0, epsilon = 1e-12);
    }

    #[test]
    fn classification_rejects_mismatched_input() {
        assert!(classification(&["a"], &[0], &[]).is_err());
        assert!(classification(&["a"], &[1], &[0]).is_err());
    }
}
