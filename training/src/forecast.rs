//! Fitting the revenue forecast: feature engineering from a campaign history, ridge on
//! ln(1 + revenue), out-of-fold residual pool for intervals, and time-ordered CV.

use std::collections::BTreeMap;

use ndarray::{Array1, Array2};
use rayon::prelude::*;
use roicast_models::Predict;
use roicast_models::forecast::{Cell, Feature, ForecastModel, quantile, spearman};
use serde::Serialize;

use crate::{Dataset, Fit, RidgeParams, TrainError, check_param};

/// Columns never used as features: identifiers, time, outcomes and deal terms.
pub const NOT_FEATURES: &[&str] = &[
    "creator_id",
    "started_at",
    "cost",
    "revenue",
    "impressions",
    "clicks",
    "orders",
    "flat_fee",
    "commission_rate",
    "tiers",
    // Provenance of measured history rows (`roicast history`): identifiers, never features.
    "campaign_id",
    "attribution_model",
    "source",
    "engagement_rate_vs_benchmark",
];

/// Residual-pool size kept in the model (equally spaced quantiles of the OOF residuals).
pub const POOL: usize = 999;

/// Which model maps features to ln(1 + revenue).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Learner {
    /// Ridge regression on standardised features.
    Ridge,
    /// Gradient-boosted trees ([`crate::boost`]).
    Boosted,
}

impl Learner {
    /// The name used in model files and reports.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Learner::Ridge => "ridge",
            Learner::Boosted => "boosted_trees",
        }
    }
}

/// Training parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ForecastParams {
    /// Ridge penalty on standardised features.
    pub l2: f64,
    /// Folds for the out-of-fold residual pool.
    pub folds: usize,
    /// A category level needs this many rows to get its own feature.
    pub min_level_rows: usize,
    /// The learner.
    pub learner: Learner,
    /// Boosting parameters (used by [`Learner::Boosted`]).
    pub boost: crate::boost::BoostParams,
}

impl Default for ForecastParams {
    fn default() -> Self {
        ForecastParams {
            l2: 1.0,
            folds: 5,
            min_level_rows: 5,
            learner: Learner::Ridge,
            boost: crate::boost::BoostParams::default(),
        }
    }
}

/// A training table: input columns, the revenue target, and the time order.
#[derive(Debug, Clone, Default)]
pub struct History {
    /// Column → one cell per row.
    pub columns: BTreeMap<String, Vec<Cell>>,
    /// Revenue per row.
    pub revenue: Vec<f64>,
    /// `started_at` per row (µs).
    pub started_at: Vec<i64>,
}

impl History {
    fn len(&self) -> usize {
        self.revenue.len()
    }

    fn row(&self, i: usize) -> BTreeMap<String, Cell> {
        self.columns.iter().map(|(k, v)| (k.clone(), v[i].clone())).collect()
    }
}

/// Builds the features from the training rows `rows`.
#[must_use]
pub fn build_features(h: &History, rows: &[usize], p: &ForecastParams) -> Vec<Feature> {
    let mut out = Vec::new();
    for (name, cells) in &h.columns {
        if NOT_FEATURES.contains(&name.as_str()) {
            continue;
        }
        let nums: Vec<f64> =
            rows.iter().filter_map(|&i| if let Cell::Num(x) = cells[i] { Some(x) } else { None }).collect();
        let cats = rows.iter().filter(|&&i| matches!(cells[i], Cell::Cat(_))).count();
        if !nums.is_empty() && cats == 0 {
            let log_rate = name == "engagement_rate";
            let log1p = !log_rate && name != "audience_quality" && nums.iter().all(|x| *x >= 0.0);
            let t: Vec<f64> = nums.iter().map(|x| Feature::transform(log1p, log_rate, *x)).collect();
            let mean = t.iter().sum::<f64>() / t.len() as f64;
            let var = t.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / t.len() as f64;
            let scale = if var > 1e-12 { var.sqrt() } else { 1.0 };
            out.push(Feature::Numeric { column: name.clone(), log1p, log_rate, mean, scale });
        } else if cats > 0 {
            let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
            for &i in rows {
                if let Cell::Cat(v) = &cells[i] {
                    *counts.entry(v.as_str()).or_default() += 1;
                }
            }
            for (level, n) in counts {
                if n >= p.min_level_rows {
                    out.push(Feature::OneHot { column: name.clone(), level: level.to_owned() });
                }
            }
        }
    }
    out
}

fn design(h: &History, rows: &[usize], features: &[Feature]) -> Array2<f64> {
    let missing = Cell::Missing;
    Array2::from_shape_fn((rows.len(), features.len()), |(r, j)| {
        let f = &features[j];
        f.value(h.columns.get(f.column()).map_or(&missing, |c| &c[rows[r]]))
    })
}

/// Fits ridge on `rows`; returns the model with an empty residual pool.
fn fit_rows(
    h: &History,
    rows: &[usize],
    features: &[Feature],
    p: &ForecastParams,
) -> Result<ForecastModel, TrainError> {
    let x = design(h, rows, features);
    let y: Array1<f64> = rows.iter().map(|&i| h.revenue[i].max(0.0).ln_1p()).collect();
    if p.learner == Learner::Boosted {
        let base = y.mean().unwrap_or(0.0);
        let trees = crate::boost::fit(&x, y.as_slice().expect("contiguous"), base, &p.boost)?;
        return Ok(ForecastModel {
            features: features.to_vec(),
            intercept: base,
            weights: Vec::new(),
            residuals: Vec::new(),
            boosted: Some(trees),
        });
    }
    let data = Dataset::new(x.view(), y.view())?;
    let s = RidgeParams::new().l2(p.l2).fit(&data)?;
    debug_assert_eq!(s.n_features(), features.len());
    Ok(ForecastModel {
        features: features.to_vec(),
        intercept: s.intercept,
        weights: s.weights,
        residuals: Vec::new(),
        boosted: None,
    })
}

/// Equally spaced quantiles of `v`, `POOL` of them.
fn pool(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    if v.len() <= POOL {
        return v;
    }
    (0..POOL).map(|k| quantile(&v, (k as f64 + 0.5) / POOL as f64)).collect()
}

fn check(h: &History, p: &ForecastParams) -> Result<(), TrainError> {
    check_param("l2", p.l2, p.l2 > 0.0 && p.l2.is_finite(), "> 0")?;
    check_param("folds", p.folds as f64, p.folds >= 2, ">= 2")?;
    if h.len() < 4 * p.folds {
        return Err(TrainError::InvalidData(format!(
            "{} history rows; need at least {} for {} folds",
            h.len(),
            4 * p.folds,
            p.folds
        )));
    }
    if let Some(bad) = h.revenue.iter().find(|r| !(r.is_finite() && **r >= 0.0)) {
        return Err(TrainError::InvalidData(format!("revenue must be finite and >= 0, found {bad}")));
    }
    Ok(())
}

/// Time order of the rows.
fn time_order(h: &History) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..h.len()).collect();
    idx.sort_by_key(|&i| (h.started_at[i], i));
    idx
}

/// Fits on every row; the residual pool comes from `folds` contiguous time blocks, each
/// predicted by a model fitted on the other blocks.
pub fn fit(h: &History, p: &ForecastParams) -> Result<ForecastModel, TrainError> {
    check(h, p)?;
    let order = time_order(h);
    let all: Vec<usize> = (0..h.len()).collect();
    let features = build_features(h, &all, p);
    // The folds' fits and the final fit are independent: fitted in parallel, their
    // residuals gathered in fold order (the same pool whatever the thread count).
    let (blocks, model) = rayon::join(
        || {
            (0..p.folds)
                .into_par_iter()
                .map(|k| {
                    let lo = k * order.len() / p.folds;
                    let hi = (k + 1) * order.len() / p.folds;
                    let train: Vec<usize> = order[..lo].iter().chain(&order[hi..]).copied().collect();
                    let m = fit_rows(h, &train, &features, p)?;
                    Ok(order[lo..hi]
                        .iter()
                        .map(|&i| h.revenue[i].max(0.0).ln_1p() - m.predict_log(&h.row(i)))
                        .collect::<Vec<f64>>())
                })
                .collect::<Result<Vec<Vec<f64>>, TrainError>>()
        },
        || fit_rows(h, &all, &features, p),
    );
    let mut model = model?;
    model.residuals = pool(blocks?.concat());
    Ok(model)
}

/// Time-ordered cross-validation scores.
#[derive(Debug, Clone, Serialize)]
pub struct CvReport {
    /// Folds scored (expanding window).
    pub folds: usize,
    /// Rows scored.
    pub rows: usize,
    /// Mean absolute error of the P50 revenue.
    pub mae: f64,
    /// Mean absolute percentage error of the P50, over rows with revenue ≥ 1 (below that a
    /// percentage of a near-zero actual says nothing).
    pub mape: f64,
    /// Mean absolute error of ln(1 + P50) against ln(1 + revenue): the scale the models
    /// fit on, and the criterion that chooses between learners.
    pub mae_log: f64,
    /// Spearman correlation of P50 and actual revenue.
    pub spearman: f64,
    /// Spearman correlation of followers and actual revenue (the naive baseline).
    pub spearman_followers_only: f64,
    /// Share of actual revenues inside [P10, P90].
    pub coverage_80: f64,
}

/// Out-of-sample predictions against what happened, accumulated over scored rows.
#[derive(Default)]
struct Scores {
    pred: Vec<f64>,
    lo: Vec<f64>,
    hi: Vec<f64>,
    actual: Vec<f64>,
    followers: Vec<f64>,
}

impl Scores {
    fn score(&mut self, m: &ForecastModel, h: &History, rows: &[usize]) {
        for &i in rows {
            let lp = m.predict_log(&h.row(i));
            self.pred.push(m.revenue_quantile(lp, 0.5));
            self.lo.push(m.revenue_quantile(lp, 0.1));
            self.hi.push(m.revenue_quantile(lp, 0.9));
            self.actual.push(h.revenue[i]);
            self.followers.push(match h.columns.get("followers").map(|c| &c[i]) {
                Some(Cell::Num(x)) => *x,
                _ => 0.0,
            });
        }
    }

    fn report(&self, folds: usize) -> CvReport {
        let (pred, actual) = (&self.pred, &self.actual);
        let n = actual.len() as f64;
        let mae = pred.iter().zip(actual).map(|(p, a)| (p - a).abs()).sum::<f64>() / n;
        let pos: Vec<(f64, f64)> = pred.iter().zip(actual).filter(|(_, a)| **a >= 1.0).map(|(p, a)| (*p, *a)).collect();
        let mae_log = pred.iter().zip(actual).map(|(p, a)| (p.ln_1p() - a.max(0.0).ln_1p()).abs()).sum::<f64>() / n;
        let mape = pos.iter().map(|(p, a)| ((p - a) / a).abs()).sum::<f64>() / pos.len().max(1) as f64;
        let covered = actual.iter().zip(self.lo.iter().zip(&self.hi)).filter(|(a, (l, u))| *a >= l && *a <= u).count();
        CvReport {
            folds,
            rows: actual.len(),
            mae,
            mape,
            mae_log,
            spearman: spearman(pred, actual),
            spearman_followers_only: spearman(&self.followers, actual),
            coverage_80: covered as f64 / n,
        }
    }
}

/// The rows `rows` of `h` as a history of their own.
fn subset(h: &History, rows: &[usize]) -> History {
    let mut sub = History::default();
    for (name, cells) in &h.columns {
        sub.columns.insert(name.clone(), rows.iter().map(|&i| cells[i].clone()).collect());
    }
    sub.revenue = rows.iter().map(|&i| h.revenue[i]).collect();
    sub.started_at = rows.iter().map(|&i| h.started_at[i]).collect();
    sub
}

/// Expanding-window CV: the history in time order is cut into `k + 1` blocks; block `j`
/// (j = 1..k) is forecast by a model fitted (with its own residual pool) on blocks `< j`.
pub fn time_cv(h: &History, p: &ForecastParams, k: usize) -> Result<CvReport, TrainError> {
    check_param("cv", k as f64, k >= 2, ">= 2")?;
    check(h, p)?;
    let order = time_order(h);
    // Each block's model is independent of the others': fitted in parallel, scored in
    // block order.
    let models: Vec<ForecastModel> = (1..=k)
        .into_par_iter()
        .map(|j| {
            let a = j * order.len() / (k + 1);
            let sub = subset(h, &order[..a]);
            let inner = ForecastParams { folds: p.folds.min(sub.len() / 4).max(2), ..*p };
            fit(&sub, &inner)
        })
        .collect::<Result<_, _>>()?;
    let mut scores = Scores::default();
    for (j, m) in (1..=k).zip(&models) {
        let a = j * order.len() / (k + 1);
        let b = (j + 1) * order.len() / (k + 1);
        scores.score(m, h, &order[a..b]);
    }
    Ok(scores.report(k))
}

/// Both learners scored by the same time-ordered CV.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// The learner with the lower `mae_log`.
    pub chosen: Learner,
    /// Ridge's scores.
    pub ridge: CvReport,
    /// Boosted trees' scores.
    pub boosted_trees: CvReport,
}

/// Scores ridge and boosted trees by `k`-fold time-ordered CV and picks the one with the
/// lower log-scale MAE (a tie goes to ridge, the simpler model).
pub fn compare(h: &History, p: &ForecastParams, k: usize) -> Result<Comparison, TrainError> {
    let (ridge, boosted_trees) = rayon::join(
        || time_cv(h, &ForecastParams { learner: Learner::Ridge, ..*p }, k),
        || time_cv(h, &ForecastParams { learner: Learner::Boosted, ..*p }, k),
    );
    let (ridge, boosted_trees) = (ridge?, boosted_trees?);
    let chosen = if boosted_trees.mae_log < ridge.mae_log { Learner::Boosted } else { Learner::Ridge };
    Ok(Comparison { chosen, ridge, boosted_trees })
}

/// [`backtest`] with the learner chosen by [`compare`] (`k` folds) on the rows before the
/// cut-off only, so nothing after it informs the choice. Returns the scores, the rows
/// trained on and the comparison.
pub fn backtest_choosing(
    h: &History,
    p: &ForecastParams,
    since_us: i64,
    k: usize,
) -> Result<(CvReport, usize, Comparison), TrainError> {
    let order = time_order(h);
    let cut = order.partition_point(|&i| h.started_at[i] < since_us);
    let before = subset(h, &order[..cut]);
    let c = compare(&before, p, k)?;
    let (scores, n) = backtest(h, &ForecastParams { learner: c.chosen, ..*p }, since_us)?;
    Ok((scores, n, c))
}

/// A backtest at a cut-off: the model is fitted on the rows that started before `since_us`
/// and scored on the rows that started at or after it (one fold).
pub fn backtest(h: &History, p: &ForecastParams, since_us: i64) -> Result<(CvReport, usize), TrainError> {
    let order = time_order(h);
    let cut = order.partition_point(|&i| h.started_at[i] < since_us);
    if cut == order.len() {
        return Err(TrainError::InvalidData("no history row starts at or after the cut-off: nothing to score".into()));
    }
    let sub = subset(h, &order[..cut]);
    check(&sub, p)?;
    let m = fit(&sub, p)?;
    let mut scores = Scores::default();
    scores.score(&m, h, &order[cut..]);
    Ok((scores.report(1), cut))
}

#[cfg(test)]
mod tests {
    use super::*;
    use roicast_data::rng::Rng;

    /// A log-linear world: ln(1 + revenue) = 0.8 ln(1 + followers) − 2 + 0.5 [tiktok] + N(0, 0.4).
    fn world(n: usize, seed: u64) -> History {
        let mut h = History::default();
        let mut f = Vec::new();
        let mut plat = Vec::new();
        for i in 0..n {
            let mut r = Rng::new(seed, 1, i as u64);
            let followers = (r.range(7.0, 14.0)).exp();
            let tiktok = r.chance(0.4);
            let y = 0.8 * followers.ln_1p() - 2.0 + if tiktok { 0.5 } else { 0.0 } + 0.4 * r.normal();
            f.push(Cell::Num(followers));
            plat.push(Cell::Cat(if tiktok { "tiktok" } else { "instagram" }.to_owned()));
            h.revenue.push(y.exp_m1().max(0.0));
            h.started_at.push(i as i64);
        }
        h.columns.insert("followers".into(), f);
        h.columns.insert("platform".into(), plat);
        h
    }

    #[test]
    fn recovers_a_log_linear_world_with_calibrated_intervals() {
        let h = world(3_000, 5);
        let m = fit(&h, &ForecastParams { l2: 1e-6, ..ForecastParams::default() }).unwrap();
        let w: BTreeMap<String, f64> = m.features.iter().map(Feature::name).zip(m.weights.iter().copied()).collect();
        // Standardised: the weight of log1p(followers) is 0.8 × its training sd.
        let sd = match &m.features[0] {
            Feature::Numeric { scale, .. } => *scale,
            Feature::OneHot { .. } => 1.0,
        };
        assert!((w["log1p(followers)"] / sd - 0.8).abs() < 0.05, "{w:?}");
        assert!((w["platform=tiktok"] - w["platform=instagram"] - 0.5).abs() < 0.06, "{w:?}");
        let cv = time_cv(&h, &ForecastParams::default(), 4).unwrap();
        assert!((cv.coverage_80 - 0.8).abs() < 0.04, "{cv:?}");
        assert!(cv.spearman > cv.spearman_followers_only, "{cv:?}");
    }

    #[test]
    fn bad_histories_are_errors() {
        let mut h = world(50, 1);
        assert!(fit(&h, &ForecastParams { folds: 20, ..ForecastParams::default() }).is_err());
        h.revenue[3] = f64::NAN;
        assert!(fit(&h, &ForecastParams::default()).is_err());
    }
}
