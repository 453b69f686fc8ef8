//! Pre-launch revenue forecasts: a ridge model of `ln(1 + revenue)` on engineered
//! features, with intervals from a pool of out-of-fold residuals (split-conformal in
//! spirit: the interval is the model's point prediction plus the empirical residual
//! quantiles), and deal scenarios priced on that distribution.

use std::collections::BTreeMap;

use roicast_data::tiers::{Tier, tiered_commission};
use serde::{Deserialize, Serialize};

use crate::ModelKind;

/// The model-file kind of [`ForecastModel`].
#[must_use]
pub fn model_kind() -> ModelKind {
    ModelKind::new("revenue_forecast", 1)
}

/// A value of one input column of one row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// A number.
    Num(f64),
    /// A category.
    Cat(String),
    /// Null.
    Missing,
}

/// How one model feature is computed from the input columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Feature {
    /// `(t(x) − mean) / scale`, with `t` = ln(1 + x) when `log1p`, ln(x + 1e-4) when
    /// `log_rate`, else identity; a null becomes the mean (0 after centring).
    Numeric {
        /// Input column.
        column: String,
        /// Apply ln(1 + x).
        log1p: bool,
        /// Apply ln(x + 1e-4) (rates).
        log_rate: bool,
        /// Training mean of the transformed value.
        mean: f64,
        /// Training standard deviation (1 if constant).
        scale: f64,
    },
    /// 1 when the column equals `level`, else 0 (levels unseen in training are all 0).
    OneHot {
        /// Input column.
        column: String,
        /// The level.
        level: String,
    },
}

impl Feature {
    /// The input column the feature reads.
    #[must_use]
    pub fn column(&self) -> &str {
        match self {
            Feature::Numeric { column, .. } | Feature::OneHot { column, .. } => column,
        }
    }

    /// A readable feature name.
    #[must_use]
    pub fn name(&self) -> String {
        match self {
            Feature::Numeric { column, log1p: true, .. } => format!("log1p({column})"),
            Feature::Numeric { column, log_rate: true, .. } => format!("log({column})"),
            Feature::Numeric { column, .. } => column.clone(),
            Feature::OneHot { column, level } => format!("{column}={level}"),
        }
    }

    /// The transformed, unscaled numeric value.
    #[must_use]
    pub fn transform(log1p: bool, log_rate: bool, x: f64) -> f64 {
        if log1p {
            x.max(0.0).ln_1p()
        } else if log_rate {
            (x.max(0.0) + 1e-4).ln()
        } else {
            x
        }
    }

    /// The feature's value for a row (`cell` is the row's value of [`Feature::column`]).
    #[must_use]
    pub fn value(&self, cell: &Cell) -> f64 {
        match (self, cell) {
            (Feature::Numeric { log1p, log_rate, mean, scale, .. }, Cell::Num(x)) => {
                (Feature::transform(*log1p, *log_rate, *x) - mean) / scale
            }
            (Feature::OneHot { level, .. }, Cell::Cat(v)) => f64::from(u8::from(v == level)),
            // A null (or a type the feature does not read) is the training mean / "not this level".
            _ => 0.0,
        }
    }
}

/// A fitted revenue forecast.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForecastModel {
    /// Features, in weight order.
    pub features: Vec<Feature>,
    /// Intercept on the ln(1 + revenue) scale.
    pub intercept: f64,
    /// One weight per feature.
    pub weights: Vec<f64>,
    /// Out-of-fold residuals (ln(1 + revenue) − prediction), sorted: the predictive
    /// distribution's shape.
    pub residuals: Vec<f64>,
    /// Gradient-boosted trees on the same features, when the boosted learner was chosen;
    /// the ridge `weights` are then empty and `intercept` is the trees' base value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boosted: Option<Boosted>,
}

/// A node of a regression tree: a split `feature <= threshold` (left) or a leaf.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// Feature index of the split; `u32::MAX` for a leaf.
    pub feature: u32,
    /// Rows with a feature value `<= threshold` go left.
    pub threshold: f64,
    /// Index of the left child (the right child is `left + 1`).
    pub left: u32,
    /// Leaf value (already scaled by the learning rate).
    pub value: f64,
}

impl Node {
    /// A leaf.
    #[must_use]
    pub fn leaf(value: f64) -> Node {
        Node { feature: u32::MAX, threshold: 0.0, left: 0, value }
    }
}

/// Gradient-boosted regression trees (squared loss on ln(1 + revenue)).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Boosted {
    /// Each tree's nodes; node 0 is the root.
    pub trees: Vec<Vec<Node>>,
}

impl Boosted {
    /// Sum of the trees' leaf values for one row of feature values.
    #[must_use]
    pub fn predict(&self, x: &[f64]) -> f64 {
        let mut sum = 0.0;
        for tree in &self.trees {
            let mut k = 0usize;
            loop {
                let n = &tree[k];
                if n.feature == u32::MAX {
                    sum += n.value;
                    break;
                }
                k = n.left as usize + usize::from(x[n.feature as usize] > n.threshold);
            }
        }
        sum
    }
}

/// A deal: what a candidate would be paid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deal {
    /// Scenario name.
    pub name: String,
    /// Flat fee.
    pub flat_fee: f64,
    /// Commission on revenue.
    pub commission_rate: f64,
    /// Tiered commission on revenue (added to the plain commission).
    pub tiers: Option<Vec<Tier>>,
}

impl Deal {
    /// Cost of the deal at `revenue`.
    #[must_use]
    pub fn cost(&self, revenue: f64) -> f64 {
        self.flat_fee
            + self.commission_rate * revenue
            + self.tiers.as_deref().map_or(0.0, |t| tiered_commission(t, revenue))
    }
}

/// The forecast distribution of one candidate under one deal.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Outlook {
    /// Revenue quantiles.
    pub revenue_p10: f64,
    /// Median revenue.
    pub revenue_p50: f64,
    /// Revenue P90.
    pub revenue_p90: f64,
    /// Mean revenue.
    pub revenue_mean: f64,
    /// Median cost.
    pub cost_p50: f64,
    /// Mean cost.
    pub cost_mean: f64,
    /// ROI quantiles, as fractions (0.5 = +50 %), over outcomes with a cost > 0.
    pub roi_p10: f64,
    /// Median ROI.
    pub roi_p50: f64,
    /// ROI P90.
    pub roi_p90: f64,
    /// P(ROI > 0).
    pub prob_roi_positive: f64,
}

pub use crate::stats::{quantile, spearman};

impl ForecastModel {
    /// Input columns the model reads.
    #[must_use]
    pub fn columns(&self) -> Vec<String> {
        let mut c: Vec<String> = self.features.iter().map(|f| f.column().to_owned()).collect();
        c.sort();
        c.dedup();
        c
    }

    /// Point prediction on the ln(1 + revenue) scale; `row` maps column → cell.
    #[must_use]
    pub fn predict_log(&self, row: &BTreeMap<String, Cell>) -> f64 {
        let missing = Cell::Missing;
        if let Some(b) = &self.boosted {
            let x: Vec<f64> = self.features.iter().map(|f| f.value(row.get(f.column()).unwrap_or(&missing))).collect();
            return self.intercept + b.predict(&x);
        }
        self.intercept
            + self
                .features
                .iter()
                .zip(&self.weights)
                .map(|(f, w)| w * f.value(row.get(f.column()).unwrap_or(&missing)))
                .sum::<f64>()
    }

    /// Revenue quantile `q` for a point prediction.
    #[must_use]
    pub fn revenue_quantile(&self, log_pred: f64, q: f64) -> f64 {
        (log_pred + quantile(&self.residuals, q)).exp_m1().max(0.0)
    }

    /// The distribution of revenue, cost and ROI under `deal` (exact over the residual
    /// pool: every residual is one equally likely outcome).
    #[must_use]
    pub fn outlook(&self, log_pred: f64, deal: &Deal) -> Outlook {
        let n = self.residuals.len().max(1) as f64;
        let mut revenue = Vec::with_capacity(self.residuals.len());
        let mut cost = Vec::with_capacity(self.residuals.len());
        let mut roi = Vec::with_capacity(self.residuals.len());
        let mut positive = 0usize;
        for r in &self.residuals {
            let rev = (log_pred + r).exp_m1().max(0.0);
            let c = deal.cost(rev);
            let x = if c > 0.0 { (rev - c) / c } else { f64::NAN };
            positive += usize::from(x > 0.0);
            revenue.push(rev);
            cost.push(c);
            roi.push(x);
        }
        let mean = |v: &[f64]| v.iter().sum::<f64>() / n;
        let (revenue_mean, cost_mean) = (mean(&revenue), mean(&cost));
        revenue.sort_by(f64::total_cmp);
        cost.sort_by(f64::total_cmp);
        // ROI is undefined when nothing is paid (a pure commission on zero revenue): such
        // outcomes count as not positive and stay out of the ROI quantiles.
        roi.retain(|x| !x.is_nan());
        roi.sort_by(f64::total_cmp);
        Outlook {
            revenue_p10: quantile(&revenue, 0.1),
            revenue_p50: quantile(&revenue, 0.5),
            revenue_p90: quantile(&revenue, 0.9),
            revenue_mean,
            cost_p50: quantile(&cost, 0.5),
            cost_mean,
            roi_p10: quantile(&roi, 0.1),
            roi_p50: quantile(&roi, 0.5),
            roi_p90: quantile(&roi, 0.9),
            prob_roi_positive: positive as f64 / n,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deal_costs_and_outlook_by_hand() {
        let deal = Deal { name: "hybrid".into(), flat_fee: 100.0, commission_rate: 0.1, tiers: None };
        assert_eq!(deal.cost(1000.0), 200.0);
        // Residuals ln(1+r) so revenues are exactly 0, 99, 199, 399, 999 around log_pred 0.
        let residuals: Vec<f64> = [0.0f64, 99.0, 199.0, 399.0, 999.0].iter().map(|r| r.ln_1p()).collect();
        let m = ForecastModel { features: vec![], intercept: 0.0, weights: vec![], residuals, boosted: None };
        let o = m.outlook(0.0, &deal);
        assert!((o.revenue_p50 - 199.0).abs() < 1e-9);
        // ROI at 199: (199 − 119.9) / 119.9; positive for 199, 399, 999 → 3/5.
        assert!((o.roi_p50 - (199.0 - 119.9) / 119.9).abs() < 1e-9);
        assert!((o.prob_roi_positive - 0.6).abs() < 1e-12);
        assert!((o.cost_p50 - 119.9).abs() < 1e-9);
        // Under a pure commission the ROI is constant: (1 − c) / c.
        let pure = Deal { flat_fee: 0.0, commission_rate: 0.25, ..deal };
        let o = m.outlook(0.0, &pure);
        assert!((o.roi_p90 - 3.0).abs() < 1e-9);
    }

    #[test]
    fn spearman_and_quantile() {
        assert!((spearman(&[1.0, 2.0, 3.0, 4.0], &[10.0, 20.0, 30.0, 40.0]) - 1.0).abs() < 1e-12);
        assert!((spearman(&[1.0, 2.0, 3.0, 4.0], &[4.0, 3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
        assert_eq!(quantile(&[0.0, 10.0], 0.25), 2.5);
        let f = Feature::Numeric { column: "followers".into(), log1p: true, log_rate: false, mean: 1.0, scale: 2.0 };
        assert!((f.value(&Cell::Num(std::f64::consts::E - 1.0)) - 0.0).abs() < 1e-12);
        assert_eq!(f.value(&Cell::Missing), 0.0);
        let h = Feature::OneHot { column: "platform".into(), level: "tiktok".into() };
        assert_eq!(h.value(&Cell::Cat("tiktok".into())), 1.0);
        assert_eq!(h.name(), "platform=tiktok");
    }
}
