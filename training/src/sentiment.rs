//! Fitting the linear sentiment model: `AdaGrad` on the weighted multinomial log-loss with
//! L2, stratified k-fold cross-validation, and a softmax temperature fitted on the
//! out-of-fold scores (calibration).
//!
//! Everything is deterministic for a given seed: the epoch shuffles come from roicast's
//! own RNG and each fit runs on one thread (folds run in parallel).

use rayon::prelude::*;
use roicast_data::rng::Rng;
use roicast_models::sentiment::features::{Extractor, FeatureOptions, N_FEATURES, SparseVec};
use roicast_models::sentiment::linear::{LinearSentiment, argmax, softmax};
use serde::{Deserialize, Serialize};

use crate::metrics::{Classification, classification};
use crate::split::stratified_folds;
use crate::{TrainError, check_param};

/// Training parameters of the linear sentiment model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SentimentParams {
    /// L2 penalty per update (> = 0).
    pub l2: f64,
    /// Passes over the data (>= 1).
    pub epochs: usize,
    /// `AdaGrad` base step (> 0).
    pub learning_rate: f64,
    /// Cross-validation folds (>= 2).
    pub folds: usize,
    /// Seed of the fold split and epoch shuffles.
    pub seed: u64,
    /// Weight classes inversely to their frequency (macro-F1 is the target).
    pub balance_classes: bool,
    /// Feature extraction options.
    pub features: FeatureOptions,
}

impl Default for SentimentParams {
    fn default() -> Self {
        SentimentParams {
            l2: 1e-5,
            epochs: 10,
            learning_rate: 0.1,
            folds: 5,
            seed: 7,
            balance_classes: true,
            features: FeatureOptions::default(),
        }
    }
}

impl SentimentParams {
    /// Checks every parameter.
    pub fn check(&self) -> Result<(), TrainError> {
        check_param("l2", self.l2, self.l2 >= 0.0 && self.l2.is_finite(), ">= 0")?;
        check_param("epochs", self.epochs as f64, self.epochs >= 1, ">= 1")?;
        check_param("learning_rate", self.learning_rate, self.learning_rate > 0.0, "> 0")?;
        check_param("folds", self.folds as f64, self.folds >= 2, ">= 2")
    }
}

/// Cross-validated quality of a trained model.
#[derive(Debug, Clone, Serialize)]
pub struct CvReport {
    /// Number of folds.
    pub folds: usize,
    /// Rows used.
    pub rows: usize,
    /// Out-of-fold classification scores (macro-F1, per-class precision/recall, confusion).
    pub classification: Classification,
    /// Out-of-fold mean log-loss before calibration.
    pub log_loss_raw: f64,
    /// Out-of-fold mean log-loss with the fitted temperature.
    pub log_loss_calibrated: f64,
    /// Expected calibration error (10 bins of the top probability) before calibration.
    pub ece_raw: f64,
    /// Expected calibration error with the fitted temperature.
    pub ece_calibrated: f64,
    /// The fitted softmax temperature.
    pub temperature: f64,
}

/// Features of every text, in parallel (one extractor per rayon worker).
#[must_use]
pub fn featurize(texts: &[&str], options: FeatureOptions) -> Vec<SparseVec> {
    texts
        .par_iter()
        .map_init(Extractor::new, |ex, t| {
            let mut v = SparseVec::default();
            ex.extract(t, options, &mut v);
            v
        })
        .collect()
}

/// One `AdaGrad` fit on rows `rows` of `x`; returns (bias, dense weight table).
fn fit_once(x: &[SparseVec], y: &[usize], w: &[f64], rows: &[usize], p: &SentimentParams) -> ([f32; 3], Vec<[f32; 3]>) {
    let n = N_FEATURES as usize;
    let mut table = vec![[0.0f32; 3]; n];
    let mut acc = vec![[0.0f32; 3]; n];
    let mut bias = [0.0f64; 3];
    let mut bias_acc = [0.0f64; 3];
    let mut order = rows.to_vec();
    let lr = p.learning_rate as f32;
    let l2 = p.l2 as f32;
    for epoch in 0..p.epochs {
        let mut rng = Rng::new(p.seed, 0x5e47, epoch as u64);
        for i in (1..order.len()).rev() {
            let j = rng.index(i + 1);
            order.swap(i, j);
        }
        for &r in &order {
            let xr = &x[r];
            let mut z = bias;
            for (&i, &v) in xr.idx.iter().zip(&xr.val) {
                let t = table[i as usize];
                for c in 0..3 {
                    z[c] += f64::from(t[c]) * f64::from(v);
                }
            }
            let prob = softmax(z, 1.0);
            let mut g = [0.0f32; 3];
            for c in 0..3 {
                let target = if y[r] == c { 1.0 } else { 0.0 };
                g[c] = ((prob[c] - target) * w[r]) as f32;
                bias_acc[c] += f64::from(g[c]) * f64::from(g[c]);
                bias[c] -= p.learning_rate * f64::from(g[c]) / (bias_acc[c].sqrt() + 1e-8);
            }
            for (&i, &v) in xr.idx.iter().zip(&xr.val) {
                let t = &mut table[i as usize];
                let a = &mut acc[i as usize];
                for c in 0..3 {
                    let grad = g[c] * v + l2 * t[c];
                    a[c] += grad * grad;
                    t[c] -= lr * grad / (a[c].sqrt() + 1e-8);
                }
            }
        }
    }
    ([bias[0] as f32, bias[1] as f32, bias[2] as f32], table)
}

fn to_model(options: FeatureOptions, temperature: f64, bias: [f32; 3], table: &[[f32; 3]]) -> LinearSentiment {
    let weights = table
        .iter()
        .enumerate()
        .filter(|(_, w)| w.iter().any(|v| v.abs() > 1e-7))
        .map(|(i, w)| (i as u32, *w))
        .collect();
    LinearSentiment::new(options, temperature, bias, weights).expect("indices come from the extractor")
}

fn class_weights(y: &[usize], weights: &[f64], balance: bool) -> Vec<f64> {
    if !balance {
        return weights.to_vec();
    }
    let mut mass = [0.0f64; 3];
    for (&c, &w) in y.iter().zip(weights) {
        mass[c] += w;
    }
    let total: f64 = mass.iter().sum();
    let present = mass.iter().filter(|m| **m > 0.0).count() as f64;
    y.iter().zip(weights).map(|(&c, &w)| w * total / (present * mass[c])).collect()
}

fn log_loss(logits: &[[f64; 3]], y: &[usize], t: f64) -> f64 {
    logits.iter().zip(y).map(|(z, &c)| -softmax(*z, t)[c].max(1e-15).ln()).sum::<f64>() / y.len() as f64
}

/// Expected calibration error over 10 equal-width bins of the top probability.
#[must_use]
pub fn expected_calibration_error(probs: &[[f64; 3]], y: &[usize]) -> f64 {
    let mut bins = [(0.0f64, 0.0f64, 0usize); 10];
    for (p, &c) in probs.iter().zip(y) {
        let k = argmax(*p);
        let b = ((p[k] * 10.0) as usize).min(9);
        bins[b].0 += p[k];
        bins[b].1 += f64::from(u8::from(k == c));
        bins[b].2 += 1;
    }
    let n = y.len() as f64;
    bins.iter().map(|(conf, acc, _)| (conf - acc).abs() / n).sum()
}

/// Golden-section search of the temperature minimising the log-loss, over [0.05, 20].
fn fit_temperature(logits: &[[f64; 3]], y: &[usize]) -> f64 {
    let f = |lt: f64| log_loss(logits, y, lt.exp());
    let (mut a, mut b) = (0.05f64.ln(), 20.0f64.ln());
    let g = (5f64.sqrt() - 1.0) / 2.0;
    let mut c = b - g * (b - a);
    let mut d = a + g * (b - a);
    let (mut fc, mut fd) = (f(c), f(d));
    for _ in 0..60 {
        if fc < fd {
            b = d;
            d = c;
            fd = fc;
            c = b - g * (b - a);
            fc = f(c);
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + g * (b - a);
            fd = f(d);
        }
    }
    f64::midpoint(a, b).exp()
}

/// Trains on labelled texts (`classes` index [`CLASSES`](roicast_models::sentiment::CLASSES),
/// `weights` per row): k-fold CV for the report and the temperature, then a final fit on
/// every row.
pub fn train(
    texts: &[&str],
    classes: &[usize],
    weights: &[f64],
    params: &SentimentParams,
) -> Result<(LinearSentiment, CvReport), TrainError> {
    params.check()?;
    if texts.len() != classes.len() || texts.len() != weights.len() {
        return Err(TrainError::InvalidData(format!(
            "{} texts, {} labels and {} weights",
            texts.len(),
            classes.len(),
            weights.len()
        )));
    }
    if let Some(bad) = weights.iter().find(|w| !(w.is_finite() && **w >= 0.0)) {
        return Err(TrainError::InvalidData(format!("row weights must be finite and >= 0, found {bad}")));
    }
    if let Some(&c) = classes.iter().find(|c| **c > 2) {
        return Err(TrainError::InvalidData(format!("class index {c} out of range for 3 classes")));
    }
    let x = featurize(texts, params.features);
    train_features(&x, classes, weights, params)
}

/// As [`train`], on precomputed feature vectors (e.g. sentence embeddings for the
/// `MiniLM` head).
pub fn train_features(
    x: &[SparseVec],
    classes: &[usize],
    weights: &[f64],
    params: &SentimentParams,
) -> Result<(LinearSentiment, CvReport), TrainError> {
    let w = class_weights(classes, weights, params.balance_classes);
    let logits = checked_out_of_fold(x, classes, weights, &w, params)?;
    let temperature = fit_temperature(&logits, classes);
    let raw: Vec<[f64; 3]> = logits.iter().map(|z| softmax(*z, 1.0)).collect();
    let calibrated: Vec<[f64; 3]> = logits.iter().map(|z| softmax(*z, temperature)).collect();
    let pred: Vec<usize> = calibrated.iter().map(|p| argmax(*p)).collect();
    let report = CvReport {
        folds: params.folds,
        rows: x.len(),
        classification: classification(&roicast_models::sentiment::CLASSES, classes, &pred)?,
        log_loss_raw: log_loss(&logits, classes, 1.0),
        log_loss_calibrated: log_loss(&logits, classes, temperature),
        ece_raw: expected_calibration_error(&raw, classes),
        ece_calibrated: expected_calibration_error(&calibrated, classes),
        temperature,
    };
    let all: Vec<usize> = (0..x.len()).collect();
    let (bias, table) = fit_once(x, classes, &w, &all, params);
    Ok((to_model(params.features, temperature, bias, &table), report))
}

/// [`out_of_fold_logits`] after checking the parameters and that rows, labels and row
/// `weights` agree in number (`w`: those weights with the class balancing applied).
fn checked_out_of_fold(
    x: &[SparseVec],
    classes: &[usize],
    weights: &[f64],
    w: &[f64],
    params: &SentimentParams,
) -> Result<Vec<[f64; 3]>, TrainError> {
    params.check()?;
    if x.len() != classes.len() || x.len() != weights.len() {
        return Err(TrainError::InvalidData(format!(
            "{} rows, {} labels and {} weights",
            x.len(),
            classes.len(),
            weights.len()
        )));
    }
    out_of_fold_logits(x, classes, w, params)
}

/// Out-of-fold logits of k-fold CV (`w`: the final row weights).
fn out_of_fold_logits(
    x: &[SparseVec],
    classes: &[usize],
    w: &[f64],
    params: &SentimentParams,
) -> Result<Vec<[f64; 3]>, TrainError> {
    let fold_of = stratified_folds(classes, params.folds, params.seed)?;
    let mut logits = vec![[0.0f64; 3]; x.len()];
    let per_fold: Vec<Vec<(usize, [f64; 3])>> = (0..params.folds)
        .into_par_iter()
        .map(|k| {
            let train_rows: Vec<usize> = (0..x.len()).filter(|&r| fold_of[r] != k).collect();
            let (bias, table) = fit_once(x, classes, w, &train_rows, params);
            let model = to_model(params.features, 1.0, bias, &table);
            (0..x.len()).filter(|&r| fold_of[r] == k).map(|r| (r, model.logits(&x[r]))).collect()
        })
        .collect();
    for (r, z) in per_fold.into_iter().flatten() {
        logits[r] = z;
    }
    Ok(logits)
}

/// The classes k-fold CV predicts for each row out of fold (the same folds and fits as
/// [`train_features`]; calibration does not change a prediction), for choosing
/// hyper-parameters such as the inputs' weights by CV.
pub fn out_of_fold_classes(
    x: &[SparseVec],
    classes: &[usize],
    weights: &[f64],
    params: &SentimentParams,
) -> Result<Vec<usize>, TrainError> {
    let w = class_weights(classes, weights, params.balance_classes);
    Ok(checked_out_of_fold(x, classes, weights, &w, params)?.into_iter().map(|z| argmax(softmax(z, 1.0))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus() -> (Vec<&'static str>, Vec<usize>) {
        let pos = ["love it", "so good", "amazing 😍", "great stuff", "the best", "obsessed", "perfect", "wow love"];
        let neg = ["hate it", "so bad", "awful 🤮", "terrible stuff", "the worst", "broken", "waste", "ugh hate"];
        let neu = ["where is it", "what size", "link?", "how much", "@jess", "is it vegan", "which one", "when"];
        let mut t = Vec::new();
        let mut y = Vec::new();
        for _ in 0..3 {
            for (k, set) in [neg, neu, pos].iter().enumerate() {
                for s in set {
                    t.push(*s);
                    y.push(k);
                }
            }
        }
        (t, y)
    }

    #[test]
    fn learns_a_separable_corpus_and_is_deterministic() {
        let (t, y) = corpus();
        let w = vec![1.0; t.len()];
        let p = SentimentParams { folds: 3, ..SentimentParams::default() };
        let (m, report) = train(&t, &y, &w, &p).unwrap();
        assert!(report.classification.macro_f1 > 0.9, "{report:?}");
        assert_eq!(argmax(m.proba("love it so much")), 2);
        assert_eq!(argmax(m.proba("hate it")), 0);
        let (m2, _) = train(&t, &y, &w, &p).unwrap();
        assert_eq!(m.weights, m2.weights);
    }

    #[test]
    fn temperature_search_recovers_a_known_temperature() {
        // Labels drawn so that softmax(z / 2) is the true distribution: the fit must
        // land near 2.
        let mut rng = Rng::new(1, 2, 3);
        let mut z = Vec::new();
        let mut y = Vec::new();
        for _ in 0..20_000 {
            let l = [rng.range(-4.0, 4.0), rng.range(-4.0, 4.0), rng.range(-4.0, 4.0)];
            let p = softmax(l, 2.0);
            y.push(rng.weighted(&p));
            z.push(l);
        }
        let t = fit_temperature(&z, &y);
        assert!((t - 2.0).abs() < 0.1, "{t}");
    }

    #[test]
    fn bad_inputs_are_errors() {
        let p = SentimentParams::default();
        assert!(train(&["a"], &[0, 1], &[1.0], &p).is_err());
        assert!(train(&["a"], &[3], &[1.0], &p).is_err());
        assert!(train(&["a"], &[0], &[f64::NAN], &p).is_err());
        assert!(SentimentParams { epochs: 0, ..p }.check().is_err());
    }
}
