//! The forecast jobs: training the pre-launch revenue model ([`train`]) and forecasting
//! candidates under deal scenarios with budget planning ([`run`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use arrow_array::Array;
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, TimestampMicrosecondType};
use arrow_schema::{DataType, Field, Schema};
use rayon::prelude::*;
use roicast_data::Table;
use roicast_data::builder::RowBuilder;
use roicast_data::io::TableWriter;
use roicast_data::rng::Rng;
use roicast_models::ModelFile;
use roicast_models::forecast::{self, Cell, Deal, ForecastModel, Outlook, quantile};
use roicast_training::forecast::{Comparison, ForecastParams, History, Learner, compare, fit, time_cv};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::Ctx;

/// Reads a canonical table file; every column (canonical and extra) as cells.
pub(crate) fn read_cells(table: Table, path: &Path) -> anyhow::Result<BTreeMap<String, Vec<Cell>>> {
    let (batches, rejects) =
        roicast_data::dataset::read_file(table, path).with_context(|| format!("failed to read {}", path.display()))?;
    if let Some(r) = rejects.first() {
        return Err(super::Rejected {
            message: format!(
                "{} rejected row(s) in {}; nothing was written; first: {r}",
                rejects.len(),
                path.display()
            ),
            rejects: rejects.iter().take(super::Rejected::SHOWN).cloned().collect(),
            n_rejects: rejects.len(),
            details: None,
        }
        .into());
    }
    let mut cols: BTreeMap<String, Vec<Cell>> = BTreeMap::new();
    for b in &batches {
        for (f, a) in b.schema().fields().iter().zip(b.columns()) {
            let out = cols.entry(f.name().clone()).or_default();
            for i in 0..a.len() {
                out.push(if a.is_null(i) {
                    Cell::Missing
                } else {
                    match a.data_type() {
                        DataType::Float64 => Cell::Num(a.as_primitive::<Float64Type>().value(i)),
                        DataType::Int64 => Cell::Num(a.as_primitive::<Int64Type>().value(i) as f64),
                        DataType::Utf8 => {
                            let s = a.as_string::<i32>().value(i);
                            // Extra CSV columns arrive as text: numbers stay numbers.
                            s.trim().parse::<f64>().map_or_else(|_| Cell::Cat(s.to_owned()), Cell::Num)
                        }
                        DataType::Boolean => Cell::Cat(a.as_boolean().value(i).to_string()),
                        DataType::Timestamp(..) => {
                            Cell::Num(a.as_primitive::<TimestampMicrosecondType>().value(i) as f64)
                        }
                        _ => Cell::Missing,
                    }
                });
            }
        }
    }
    Ok(cols)
}

fn num(cells: &[Cell], i: usize) -> Option<f64> {
    if let Cell::Num(x) = cells[i] { Some(x) } else { None }
}

/// Reads a campaign history file into the training table.
pub fn read_history(path: &Path) -> anyhow::Result<History> {
    let columns = read_cells(Table::CampaignHistory, path)?;
    let n = columns.get("revenue").map_or(0, Vec::len);
    let revenue = (0..n).map(|i| num(&columns["revenue"], i).unwrap_or(0.0)).collect();
    let started_at = (0..n).map(|i| num(&columns["started_at"], i).unwrap_or(0.0) as i64).collect();
    Ok(History { columns, revenue, started_at })
}

/// The training file's fingerprint.
fn fingerprint(path: &Path) -> anyhow::Result<String> {
    Ok(format!(
        "sha256:{}",
        roicast_data::sha256_file(path).with_context(|| format!("failed to hash {}", path.display()))?
    ))
}

fn l2() -> f64 {
    1.0
}

fn folds() -> usize {
    5
}

fn min_level_rows() -> usize {
    5
}

fn auto() -> String {
    "auto".into()
}

/// Training the forecast (`roicast train forecast`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Campaign histories (the campaign_history table), stacked: e.g. the brand's measured
    /// history and an external one. Extra columns are features.
    pub history: Vec<PathBuf>,
    /// `auto` (ridge or boosted trees, whichever time-ordered CV scores better), `ridge`
    /// or `boosted`.
    #[serde(default = "auto")]
    pub learner: String,
    /// Where to write the model.
    pub out: PathBuf,
    /// Also run time-ordered cross-validation with this many folds.
    #[serde(default)]
    pub cv: Option<usize>,
    /// Ridge penalty on standardised features.
    #[serde(default = "l2")]
    pub l2: f64,
    /// Folds of the out-of-fold residual pool behind the intervals.
    #[serde(default = "folds")]
    pub folds: usize,
    /// A category level needs this many rows to get its own feature.
    #[serde(default = "min_level_rows")]
    pub min_level_rows: usize,
}

/// What training wrote and found.
#[derive(Debug, Clone, Serialize)]
pub struct TrainSummary {
    /// The model file.
    pub model: PathBuf,
    /// History rows.
    pub rows: usize,
    /// Feature names.
    pub features: Vec<String>,
    /// Time-ordered cross-validation, when asked for.
    pub cv: Option<roicast_training::forecast::CvReport>,
    /// The largest ridge weights (feature, weight), by absolute size (none for trees).
    pub top_weights: Vec<(String, f64)>,
    /// The learner fitted: `ridge` or `boosted_trees`.
    pub learner: String,
    /// Both learners' time-ordered CV, when the learner was chosen (`learner = auto`).
    pub learners: Option<Comparison>,
}

/// Trains on the history and saves the model.
pub fn train(_ctx: &Ctx, a: &TrainConfig) -> anyhow::Result<TrainSummary> {
    if a.history.is_empty() {
        bail!("no history file: pass at least one --history FILE");
    }
    let h = read_histories(&a.history)?;
    let base =
        ForecastParams { l2: a.l2, folds: a.folds, min_level_rows: a.min_level_rows, ..ForecastParams::default() };
    let (learner, comparison) = match a.learner.as_str() {
        "ridge" => (Learner::Ridge, None),
        "boosted" | "boosted_trees" => (Learner::Boosted, None),
        "auto" => {
            let k = a.cv.unwrap_or(4);
            let c = compare(&h, &base, k).context("comparing the learners by time-ordered CV failed")?;
            (c.chosen, Some(c))
        }
        other => bail!("invalid `--learner` = {other}: expected auto, ridge or boosted"),
    };
    let p = ForecastParams { learner, ..base };
    let model = fit(&h, &p)?;
    let cv = match (&comparison, a.cv) {
        (Some(c), Some(_)) => Some(if learner == Learner::Boosted { c.boosted_trees.clone() } else { c.ridge.clone() }),
        (_, Some(k)) => Some(time_cv(&h, &p, k)?),
        (_, None) => None,
    };
    let mut fingerprints = Vec::new();
    for f in &a.history {
        fingerprints.push(fingerprint(f)?);
    }
    let file = ModelFile::new(
        forecast::model_kind(),
        json!({ "l2": p.l2, "folds": p.folds, "min_level_rows": p.min_level_rows, "target": "ln(1 + revenue)",
                "rows": h.revenue.len(), "learner": learner.name(), "boost": p.boost,
                "chosen_by": if comparison.is_some() { "time-ordered CV, lower mean |ln(1 + P50) − ln(1 + revenue)|" } else { "--learner" } }),
        model.features.iter().map(forecast::Feature::name).collect(),
        &fingerprints.join("+"),
        model,
    );
    crate::output::create_parent(&a.out)?;
    file.save(&a.out).with_context(|| format!("failed to write {}", a.out.display()))?;
    let mut w: Vec<(String, f64)> = file.features.iter().cloned().zip(file.model.weights.iter().copied()).collect();
    w.sort_by(|x, y| y.1.abs().total_cmp(&x.1.abs()));
    w.truncate(8);
    Ok(TrainSummary {
        model: a.out.clone(),
        rows: h.revenue.len(),
        features: file.features.clone(),
        cv,
        top_weights: w,
        learner: learner.name().to_owned(),
        learners: comparison,
    })
}

/// Reads and stacks history files (measured and brought): columns are the union, a
/// column a file lacks is null in its rows.
pub fn read_histories(paths: &[PathBuf]) -> anyhow::Result<History> {
    let mut all = History::default();
    for path in paths {
        let h = read_history(path)?;
        let n_before = all.revenue.len();
        let n = h.revenue.len();
        for name in h.columns.keys() {
            all.columns.entry(name.clone()).or_insert_with(|| vec![Cell::Missing; n_before]);
        }
        for (name, cells) in &mut all.columns {
            match h.columns.get(name) {
                Some(c) => cells.extend(c.iter().cloned()),
                None => cells.extend(std::iter::repeat_n(Cell::Missing, n)),
            }
        }
        all.revenue.extend(h.revenue);
        all.started_at.extend(h.started_at);
    }
    Ok(all)
}

/// Where a deal was read: the file and its 1-based data row.
struct At<'a> {
    path: &'a Path,
    row: u64,
}

impl At<'_> {
    fn bad(&self, column: &str, reason: String) -> anyhow::Error {
        super::bad_value(self.path, self.row, column, reason)
    }
}

fn parse_deal(name: &str, flat: Option<f64>, rate: Option<f64>, tiers: Option<&str>, at: &At) -> anyhow::Result<Deal> {
    let flat = flat.unwrap_or(0.0);
    let rate = rate.unwrap_or(0.0);
    if !(flat.is_finite() && flat >= 0.0) {
        return Err(at.bad("flat_fee", format!("{flat} must be >= 0")));
    }
    if !(rate.is_finite() && (0.0..=1.0).contains(&rate)) {
        return Err(at.bad("commission_rate", format!("{rate} must be in [0, 1]")));
    }
    let tiers = tiers.map(roicast_data::tiers::parse_tiers).transpose().map_err(|e| at.bad("tiers", e))?;
    Ok(Deal { name: name.to_owned(), flat_fee: flat, commission_rate: rate, tiers })
}

/// Reads a scenarios CSV: `scenario,flat_fee,commission_rate[,tiers]`.
fn read_scenarios(path: &Path) -> anyhow::Result<Vec<Deal>> {
    let csv_error = |source| roicast_data::DataError::Csv { path: path.to_owned(), source };
    let mut r = csv::Reader::from_path(path).map_err(csv_error)?;
    let headers = r.headers().map_err(csv_error)?.clone();
    let idx = |c: &str| headers.iter().position(|h| h.trim() == c);
    let Some(si) = idx("scenario") else {
        let names = headers.iter().collect::<Vec<_>>().join(", ");
        return Err(super::bad_file(path, format!("no column `scenario` (columns: {names})")));
    };
    let (fi, ci, ti) = (idx("flat_fee"), idx("commission_rate"), idx("tiers"));
    let mut out = Vec::new();
    for (k, rec) in r.records().enumerate() {
        let rec = rec.map_err(csv_error)?;
        let at = At { path, row: k as u64 + 1 };
        let number = |i: Option<usize>, c: &str| -> anyhow::Result<Option<f64>> {
            match i.and_then(|i| rec.get(i)).map(str::trim).filter(|s| !s.is_empty()) {
                None => Ok(None),
                Some(s) => s.parse().map(Some).map_err(|_| at.bad(c, format!("`{s}` is not a number"))),
            }
        };
        let tiers = ti.and_then(|i| rec.get(i)).map(str::trim).filter(|s| !s.is_empty());
        out.push(parse_deal(
            rec.get(si).unwrap_or("").trim(),
            number(fi, "flat_fee")?,
            number(ci, "commission_rate")?,
            tiers,
            &at,
        )?);
    }
    if out.is_empty() {
        return Err(super::bad_file(path, "no scenarios"));
    }
    Ok(out)
}

/// One forecast row: a candidate under a deal.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// The candidate.
    pub creator_id: String,
    /// The candidate's platform.
    pub platform: String,
    /// The candidate's handle, when the candidates file has one.
    pub handle: Option<String>,
    /// The deal's name.
    pub scenario: String,
    /// Revenue, cost and ROI quantiles, P(ROI > 0).
    pub outlook: Outlook,
    /// In the plan.
    pub selected: bool,
    #[serde(skip)]
    log_pred: f64,
    /// Key of the row's deal in the deal map.
    #[serde(skip)]
    key: String,
}

/// A plan's portfolio distribution (independent outcomes, Monte Carlo).
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// `budget` or `target_roi`.
    pub mode: String,
    /// Deals chosen.
    pub deals: usize,
    /// Their expected cost.
    pub expected_cost: f64,
    /// Their expected revenue.
    pub expected_revenue: f64,
    /// Portfolio ROI P10.
    pub roi_p10: f64,
    /// Portfolio ROI P50.
    pub roi_p50: f64,
    /// Portfolio ROI P90.
    pub roi_p90: f64,
    /// Portfolio P(ROI > 0).
    pub prob_roi_positive: f64,
}

fn portfolio(
    model: &ForecastModel,
    rows: &[&Row],
    deals: &BTreeMap<String, Deal>,
    draws: usize,
) -> (f64, f64, f64, f64) {
    let mut roi: Vec<f64> = (0..draws)
        .map(|d| {
            let mut rng = Rng::new(17, 0xF0, d as u64);
            let (mut rev, mut cost) = (0.0, 0.0);
            for r in rows {
                let res = model.residuals[rng.index(model.residuals.len())];
                let x = (r.log_pred + res).exp_m1().max(0.0);
                rev += x;
                cost += deals[&r.key].cost(x);
            }
            if cost > 0.0 { (rev - cost) / cost } else { f64::NAN }
        })
        .filter(|x| !x.is_nan())
        .collect();
    roi.sort_by(f64::total_cmp);
    let pos = roi.iter().filter(|x| **x > 0.0).count() as f64 / draws as f64;
    (quantile(&roi, 0.1), quantile(&roi, 0.5), quantile(&roi, 0.9), pos)
}

fn probability() -> f64 {
    0.8
}

/// Forecasting candidates (`roicast forecast`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// A model from [`train`].
    pub model: PathBuf,
    /// Candidates (the candidates table); must have every feature column of the model.
    pub candidates: PathBuf,
    /// Deal scenarios (CSV: scenario, flat_fee, commission_rate[, tiers]); default: each
    /// candidate's own planned deal.
    #[serde(default)]
    pub scenarios: Option<PathBuf>,
    /// Plan the deals that maximise expected profit within this budget.
    #[serde(default)]
    pub budget: Option<f64>,
    /// Plan the largest set of deals whose portfolio ROI reaches this target with `probability`.
    #[serde(default)]
    pub target_roi: Option<f64>,
    /// Probability for `target_roi`.
    #[serde(default = "probability")]
    pub probability: f64,
    /// Output file (Parquet, CSV or Arrow by extension).
    pub out: PathBuf,
}

/// The forecast rows and the plan.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// The file written.
    pub out: PathBuf,
    /// One row per candidate and deal.
    pub rows: Vec<Row>,
    /// The plan, with a budget or target.
    pub plan: Option<Plan>,
}

/// Forecasts every candidate under every deal and plans; writes the rows.
pub fn run(_ctx: &Ctx, a: &Config) -> anyhow::Result<Summary> {
    if a.budget.is_some() && a.target_roi.is_some() {
        bail!("set either a budget or a target ROI, not both");
    }
    let file = ModelFile::<ForecastModel>::load(&a.model, &forecast::model_kind())
        .with_context(|| format!("failed to load the model {}", a.model.display()))?;
    let model = &file.model;
    // Check the file's own columns: conforming fills absent optional columns with nulls,
    // which must not pass for a feature the model was trained on.
    let raw: Vec<String> = roicast_data::io::FileReader::open(Table::Candidates, &a.candidates)
        .with_context(|| format!("failed to open {}", a.candidates.display()))?
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let cols = read_cells(Table::Candidates, &a.candidates)?;
    for c in model.columns() {
        if !raw.contains(&c) {
            let reason = format!(
                "the model needs the feature column `{c}`, which the candidates file {} does not have (columns: {})",
                a.candidates.display(),
                raw.join(", ")
            );
            return Err(roicast_models::ModelError::Mismatch { path: a.model.clone(), reason }.into());
        }
    }
    let n = cols.get("creator_id").map_or(0, Vec::len);
    let text = |c: &str, i: usize| match cols.get(c).map(|v| &v[i]) {
        Some(Cell::Cat(s)) => s.clone(),
        Some(Cell::Num(x)) => x.to_string(),
        _ => String::new(),
    };
    let scenarios = a.scenarios.as_deref().map(read_scenarios).transpose()?;
    let mut deals: BTreeMap<String, Deal> = BTreeMap::new();
    let mut rows = Vec::new();
    for i in 0..n {
        let row: BTreeMap<String, Cell> = cols.iter().map(|(k, v)| (k.clone(), v[i].clone())).collect();
        let log_pred = model.predict_log(&row);
        let own: Vec<Deal> = if let Some(s) = &scenarios {
            s.clone()
        } else {
            let at = At { path: &a.candidates, row: i as u64 + 1 };
            let tiers = text("tiers", i);
            vec![parse_deal(
                "planned",
                num(&cols["flat_fee"], i),
                num(&cols["commission_rate"], i),
                (!tiers.is_empty()).then_some(tiers.as_str()),
                &at,
            )?]
        };
        for d in own {
            // Planned deals differ per candidate: key them by candidate.
            let key = if scenarios.is_some() { d.name.clone() } else { format!("planned#{i}") };
            rows.push((i, key.clone(), d.name.clone(), log_pred));
            deals.entry(key).or_insert(d);
        }
    }
    let mut out: Vec<Row> = rows
        .par_iter()
        .map(|(i, key, name, lp)| Row {
            creator_id: text("creator_id", *i),
            platform: text("platform", *i),
            handle: Some(text("handle", *i)).filter(|h| !h.is_empty()),
            scenario: name.clone(),
            outlook: model.outlook(*lp, &deals[key]),
            selected: false,
            log_pred: *lp,
            key: key.clone(),
        })
        .collect();
    // Budget planning.
    let mut plan = None;
    if let Some(budget) = a.budget {
        if !(budget.is_finite() && budget > 0.0) {
            bail!("invalid `--budget` = {budget}: expected an amount > 0");
        }
        // Best deal per candidate by expected profit; then greedy by profit per unit cost.
        let mut best: BTreeMap<usize, usize> = BTreeMap::new();
        for (k, r) in rows.iter().enumerate() {
            let profit = out[k].outlook.revenue_mean - out[k].outlook.cost_mean;
            if profit > 0.0
                && best.get(&r.0).is_none_or(|&b| profit > out[b].outlook.revenue_mean - out[b].outlook.cost_mean)
            {
                best.insert(r.0, k);
            }
        }
        let mut options: Vec<usize> = best.into_values().collect();
        let ratio =
            |k: usize| (out[k].outlook.revenue_mean - out[k].outlook.cost_mean) / out[k].outlook.cost_mean.max(1e-9);
        options.sort_by(|x, y| ratio(*y).total_cmp(&ratio(*x)));
        let mut spent = 0.0;
        for k in options {
            if spent + out[k].outlook.cost_mean <= budget {
                spent += out[k].outlook.cost_mean;
                out[k].selected = true;
            }
        }
        plan = Some("budget");
    } else if let Some(target) = a.target_roi {
        let p = a.probability;
        // Add deals in order of P(ROI >= target) while the portfolio still reaches the
        // target with probability p: the largest plan that does.
        let mut order: Vec<usize> = (0..out.len()).collect();
        let reach = |o: &Outlook| o.prob_roi_positive * if o.roi_p50 >= target { 1.0 } else { 0.5 };
        order.sort_by(|x, y| reach(&out[*y].outlook).total_cmp(&reach(&out[*x].outlook)));
        let mut chosen: Vec<usize> = Vec::new();
        let mut used = std::collections::HashSet::new();
        for k in order {
            if used.contains(&rows[k].0) {
                continue;
            }
            chosen.push(k);
            let sel: Vec<&Row> = chosen.iter().map(|&j| &out[j]).collect();
            if prob_reaching(model, &sel, &deals, target) >= p {
                used.insert(rows[k].0);
            } else {
                chosen.pop();
            }
        }
        for k in chosen {
            out[k].selected = true;
        }
        plan = Some("target_roi");
    }
    let plan = plan.map(|mode| {
        let sel: Vec<&Row> = out.iter().filter(|r| r.selected).collect();
        let (p10, p50, p90, pos) =
            if sel.is_empty() { (f64::NAN, f64::NAN, f64::NAN, 0.0) } else { portfolio(model, &sel, &deals, 2000) };
        Plan {
            mode: mode.to_owned(),
            deals: sel.len(),
            expected_cost: sel.iter().map(|r| r.outlook.cost_mean).sum(),
            expected_revenue: sel.iter().map(|r| r.outlook.revenue_mean).sum(),
            roi_p10: p10,
            roi_p50: p50,
            roi_p90: p90,
            prob_roi_positive: pos,
        }
    });
    write_rows(&out, &a.out, plan.is_some())?;
    Ok(Summary { out: a.out.clone(), rows: out, plan })
}

/// P(portfolio ROI >= target) by Monte Carlo.
fn prob_reaching(model: &ForecastModel, rows: &[&Row], deals: &BTreeMap<String, Deal>, target: f64) -> f64 {
    let draws = 400;
    let hits = (0..draws)
        .filter(|&d| {
            let mut rng = Rng::new(19, 0xF1, d as u64);
            let (mut rev, mut cost) = (0.0, 0.0);
            for r in rows {
                let x = (r.log_pred + model.residuals[rng.index(model.residuals.len())]).exp_m1().max(0.0);
                rev += x;
                cost += deals[&r.key].cost(x);
            }
            cost > 0.0 && (rev - cost) / cost >= target
        })
        .count();
    hits as f64 / f64::from(draws)
}

fn write_rows(rows: &[Row], path: &Path, with_plan: bool) -> anyhow::Result<()> {
    let mut fields = vec![
        Field::new("creator_id", DataType::Utf8, false),
        Field::new("platform", DataType::Utf8, false),
        Field::new("scenario", DataType::Utf8, false),
    ];
    for n in [
        "revenue_p10",
        "revenue_p50",
        "revenue_p90",
        "cost_p50",
        "roi_p10",
        "roi_p50",
        "roi_p90",
        "prob_roi_positive",
        "revenue_mean",
        "cost_mean",
    ] {
        fields.push(Field::new(n, DataType::Float64, true));
    }
    if with_plan {
        fields.push(Field::new("selected", DataType::Boolean, false));
    }
    fields.push(Field::new("handle", DataType::Utf8, true));
    let schema = Arc::new(Schema::new(fields));
    let mut rb = RowBuilder::new(schema.clone());
    let f = |x: f64| x.is_finite().then_some(x);
    for r in rows {
        let o = &r.outlook;
        rb.text(&r.creator_id)
            .text(&r.platform)
            .text(&r.scenario)
            .float(o.revenue_p10)
            .float(o.revenue_p50)
            .float(o.revenue_p90)
            .float(o.cost_p50)
            .opt_float(f(o.roi_p10))
            .opt_float(f(o.roi_p50))
            .opt_float(f(o.roi_p90))
            .float(o.prob_roi_positive)
            .float(o.revenue_mean)
            .float(o.cost_mean);
        if with_plan {
            rb.bool(r.selected);
        }
        rb.opt_text(r.handle.as_deref());
        rb.end_row();
    }
    let mut w = TableWriter::create(path, &schema)?;
    w.write(&rb.finish())?;
    w.finish()?;
    Ok(())
}

/// A forecast backtest (`roicast eval forecast`): fit on the history before a date,
/// forecast the campaigns that started on or after it, compare with what was measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BacktestConfig {
    /// Campaign history (measured with `roicast history`, or brought).
    pub history: PathBuf,
    /// The cut-off: RFC 3339 or a date (`2026-03-01`, midnight UTC).
    pub since: String,
    /// `auto` (chosen by time-ordered CV on the rows before the cut-off), `ridge` or `boosted`.
    #[serde(default = "auto")]
    pub learner: String,
    /// Ridge penalty on standardised features.
    #[serde(default = "l2")]
    pub l2: f64,
    /// Folds of the out-of-fold residual pool behind the intervals.
    #[serde(default = "folds")]
    pub folds: usize,
    /// A category level needs this many rows to get its own feature.
    #[serde(default = "min_level_rows")]
    pub min_level_rows: usize,
}

/// The backtest's scores on the campaigns after the cut-off.
#[derive(Debug, Clone, Serialize)]
pub struct BacktestSummary {
    /// The cut-off, as RFC 3339.
    pub since: String,
    /// Rows trained on (before the cut-off).
    pub train_rows: usize,
    /// MAE, MAPE, Spearman (and the followers-only baseline's), 80 % coverage on the rows scored.
    pub scores: roicast_training::forecast::CvReport,
    /// The learner used.
    pub learner: String,
    /// Both learners' CV on the rows before the cut-off, when chosen (`auto`).
    pub learners: Option<Comparison>,
}

/// Parses a cut-off: RFC 3339, or a date meaning midnight UTC.
pub fn parse_since(s: &str) -> anyhow::Result<i64> {
    let t = s.trim();
    let full = if t.len() == 10 { format!("{t}T00:00:00Z") } else { t.to_owned() };
    roicast_data::conform::parse_timestamp_us(&full)
        .with_context(|| format!("invalid `--since` = {s}: expected a date (2026-03-01) or an RFC 3339 timestamp"))
}

/// Runs the backtest.
pub fn backtest(_ctx: &Ctx, a: &BacktestConfig) -> anyhow::Result<BacktestSummary> {
    let since = parse_since(&a.since)?;
    let h = read_history(&a.history)?;
    let p = ForecastParams { l2: a.l2, folds: a.folds, min_level_rows: a.min_level_rows, ..ForecastParams::default() };
    let at = || format!("the backtest on {} at {} failed", a.history.display(), a.since);
    let (scores, train_rows, learner, learners) = match a.learner.as_str() {
        "auto" => {
            let (s, n, c) = roicast_training::forecast::backtest_choosing(&h, &p, since, 3).with_context(at)?;
            (s, n, c.chosen, Some(c))
        }
        "ridge" | "boosted" => {
            let learner = if a.learner == "ridge" { Learner::Ridge } else { Learner::Boosted };
            let (s, n) =
                roicast_training::forecast::backtest(&h, &ForecastParams { learner, ..p }, since).with_context(at)?;
            (s, n, learner, None)
        }
        other => bail!("invalid `--learner` = {other}: expected auto, ridge or boosted"),
    };
    Ok(BacktestSummary {
        since: roicast_data::io::format_timestamp_us(since),
        train_rows,
        scores,
        learner: learner.name().to_owned(),
        learners,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_off_is_a_date_or_a_timestamp() {
        assert_eq!(parse_since("2026-03-01").unwrap(), parse_since("2026-03-01T00:00:00Z").unwrap());
        assert_eq!(parse_since("2026-03-01T01:00:00+01:00").unwrap(), parse_since("2026-03-01T00:00:00Z").unwrap());
        assert!(parse_since("March").unwrap_err().to_string().contains("expected a date"));
    }
}
