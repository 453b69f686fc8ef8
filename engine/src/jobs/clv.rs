//! The CLV jobs: per-customer and per-cohort lifetime value ([`run`]), one model fitted to
//! an RFM or survival file with the papers' parameter names ([`fit`]), and the
//! calibration / hold-out backtest ([`backtest`]).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use anyhow::{Context as _, bail};
use roicast_data::builder::RowBuilder;
use roicast_data::numeric::read_f64_columns;
use roicast_models::clv::Rfm;
use roicast_training::clv::ClvParams;
use serde_json::json;

use roicast_data::duration::Duration;
use serde::{Deserialize, Serialize};

use super::Ctx;
use crate::output::FileRecord;

/// Repeat-purchase models of the CLV job (names as in the manifests).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Model {
    /// BG/NBD.
    #[default]
    Bgnbd,
    /// Pareto/NBD.
    ParetoNbd,
    /// Shifted-beta-geometric subscription retention.
    Sbg,
}

/// Cohorts of the CLV job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CohortBy {
    /// Acquiring creator.
    #[default]
    Creator,
    /// Acquisition channel.
    Channel,
    /// Platform of the acquiring creator.
    Platform,
    /// Month of the first purchase.
    Month,
}

/// Models [`fit`] fits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FitModel {
    /// BG/NBD on an RFM summary.
    Bgnbd,
    /// Pareto/NBD on an RFM summary.
    ParetoNbd,
    /// Gamma-Gamma spend on an RFM summary with `monetary_value`.
    GammaGamma,
    /// sBG on survival counts.
    Sbg,
}

fn discount_per_period() -> f64 {
    0.1
}

fn project() -> u32 {
    13
}

/// One model fitted to a file (`roicast clv fit`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FitConfig {
    /// The model.
    pub model: FitModel,
    /// RFM summary (bgnbd, pareto-nbd, gamma-gamma).
    #[serde(default)]
    pub rfm: Option<PathBuf>,
    /// Survival counts (sbg).
    #[serde(default)]
    pub survival: Option<PathBuf>,
    /// Discount rate per period for sbg's DEL and DERL.
    #[serde(default = "discount_per_period")]
    pub discount_rate: f64,
    /// Periods to project survival over (sbg).
    #[serde(default = "project")]
    pub project: u32,
}

/// A fit's standard errors, log-likelihood, iterations and observations.
fn summary<M>(f: &roicast_training::clv::ClvFit<M>) -> (serde_json::Value, f64, usize, u64) {
    (json!(f.standard_errors), f.log_likelihood, f.iterations, f.n)
}

/// Fits one model; the summary is one JSON document whose field names are a contract.
pub fn fit(a: &FitConfig) -> anyhow::Result<serde_json::Value> {
    if !(a.discount_rate.is_finite() && a.discount_rate > -1.0) {
        bail!("invalid `--discount-rate` = {}: expected a finite rate above -1", a.discount_rate);
    }
    let params = ClvParams::new();
    let doc = match a.model {
        FitModel::Sbg => {
            let Some(path) = &a.survival else { bail!("--model sbg needs --survival FILE (columns period, active)") };
            let cols = read_f64_columns(path, &["period", "active"])
                .with_context(|| format!("failed to read the survival table {}", path.display()))?;
            let mut rows: Vec<(f64, f64)> = cols[0].iter().copied().zip(cols[1].iter().copied()).collect();
            rows.sort_by(|x, y| x.0.total_cmp(&y.0));
            for (i, (p, _)) in rows.iter().enumerate() {
                if *p != i as f64 {
                    let reason =
                        format!("periods must be 0, 1, 2, … without gaps; found period {p} where {i} was expected");
                    return Err(super::bad_file(path, reason));
                }
            }
            let active: Vec<f64> = rows.iter().map(|r| r.1).collect();
            let fit = params.fit_sbg(&active).with_context(|| format!("sBG fit on {} failed", path.display()))?;
            let m = fit.model;
            json!({
                "model": "sbg",
                "params": { "alpha": m.alpha, "beta": m.beta },
                "standard_errors": fit.standard_errors,
                "log_likelihood": fit.log_likelihood,
                "iterations": fit.iterations,
                "n": fit.n,
                "survival": (0..=a.project).map(|t| json!({
                    "period": t,
                    "survival": m.survival(t),
                    "expected_active": m.survival(t) * active[0],
                    "retention_rate": if t == 0 { serde_json::Value::Null } else { json!(m.retention_rate(t)) },
                    "observed_active": active.get(t as usize),
                })).collect::<Vec<_>>(),
                "discount_rate": a.discount_rate,
                "del": m.del(a.discount_rate),
                "derl": (0..active.len() as u32).map(|n| json!({ "renewals": n, "derl": m.derl(a.discount_rate, n) })).collect::<Vec<_>>(),
            })
        }
        FitModel::Bgnbd | FitModel::GammaGamma | FitModel::ParetoNbd => {
            let Some(path) = &a.rfm else { bail!("--model {:?} needs --rfm FILE", a.model) };
            let names: &[&str] = if a.model == FitModel::GammaGamma {
                &["frequency", "recency", "T", "monetary_value"]
            } else {
                &["frequency", "recency", "T"]
            };
            let cols = read_f64_columns(path, names)
                .with_context(|| format!("failed to read the RFM table {}", path.display()))?;
            fit_rfm_columns(a.model, &cols, path)?
        }
    };
    Ok(doc)
}

/// Fits BG/NBD, Pareto/NBD or Gamma-Gamma to RFM columns (frequency, recency, T, and
/// monetary_value for Gamma-Gamma) read from `path` (named in errors); the document
/// `clv fit` prints. The rows' order does not change a bit of it.
pub fn fit_rfm_columns(
    model: FitModel,
    cols: &[Vec<f64>],
    path: &std::path::Path,
) -> anyhow::Result<serde_json::Value> {
    let params = ClvParams::new();
    let gg = model == FitModel::GammaGamma;
    let doc = {
        {
            if gg {
                // Customers without repeat purchases carry no spend information (lifetimes
                // leaves them out the same way); counted, never silently dropped.
                let keep: Vec<usize> = (0..cols[0].len()).filter(|&i| cols[0][i] > 0.0).collect();
                let x: Vec<f64> = keep.iter().map(|&i| cols[0][i]).collect();
                let m: Vec<f64> = keep.iter().map(|&i| cols[3][i]).collect();
                if let Some(&i) = keep.iter().find(|&&i| cols[3][i] <= 0.0) {
                    let reason = format!(
                        "{} — Gamma-Gamma needs a positive mean spend for customers with repeat purchases \
                         (refunds and free orders belong out of the spend average)",
                        cols[3][i]
                    );
                    return Err(super::bad_value(path, i as u64 + 1, "monetary_value", reason));
                }
                let fit = params
                    .fit_gamma_gamma(&x, &m)
                    .with_context(|| format!("Gamma-Gamma fit on {} failed", path.display()))?;
                json!({
                    "model": "gamma-gamma",
                    "params": { "p": fit.model.p, "q": fit.model.q, "gamma": fit.model.gamma },
                    "standard_errors": fit.standard_errors,
                    "log_likelihood": fit.log_likelihood,
                    "iterations": fit.iterations,
                    "n": fit.n,
                    "excluded_without_repeat_purchases": cols[0].len() - keep.len(),
                })
            } else {
                let customers: Vec<Rfm> = (0..cols[0].len())
                    .map(|i| Rfm { frequency: cols[0][i], recency: cols[1][i], t: cols[2][i] })
                    .collect();
                let (name, fit_params, fit) = if model == FitModel::ParetoNbd {
                    let f = params
                        .fit_pareto_nbd(&customers)
                        .with_context(|| format!("Pareto/NBD fit on {} failed", path.display()))?;
                    let m = f.model;
                    ("pareto-nbd", json!({ "r": m.r, "alpha": m.alpha, "s": m.s, "beta": m.beta }), summary(&f))
                } else {
                    let f = params
                        .fit_bgnbd(&customers)
                        .with_context(|| format!("BG/NBD fit on {} failed", path.display()))?;
                    let m = f.model;
                    ("bgnbd", json!({ "r": m.r, "alpha": m.alpha, "a": m.a, "b": m.b }), summary(&f))
                };
                json!({
                    "model": name,
                    "params": fit_params,
                    "standard_errors": fit.0,
                    "log_likelihood": fit.1,
                    "iterations": fit.2,
                    "n": fit.3,
                })
            }
        }
    };
    Ok(doc)
}

/// Parses `0.1/yr` (or `/mo`, `/wk`, `/d`) into the equivalent annual rate.
pub fn parse_discount(s: &str) -> anyhow::Result<f64> {
    let bad = || {
        anyhow::anyhow!(
            "invalid `--discount-rate` = {s}: expected RATE/PERIOD with PERIOD yr, mo, wk or d, e.g. 0.1/yr"
        )
    };
    let (rate, period) = s.trim().split_once('/').ok_or_else(bad)?;
    let r: f64 = rate.trim().parse().map_err(|_| bad())?;
    if !(r.is_finite() && r > -1.0) {
        return Err(bad());
    }
    let per_year = match period.trim() {
        "yr" | "y" | "year" => 1.0,
        "mo" | "month" => 12.0,
        "wk" | "week" => 365.25 / 7.0,
        "d" | "day" => 365.25,
        _ => return Err(bad()),
    };
    Ok((1.0 + r).powf(per_year) - 1.0)
}

enum Repeat {
    Bg(roicast_models::clv::BgNbd),
    Pareto(roicast_models::clv::ParetoNbd),
    Sub(roicast_models::clv::Sbg),
}

/// Subscription months (30.4375 days) survived by `(start, churn)` at `end_us`, and whether
/// it churned by then.
fn subscription_periods(start: i64, churn: Option<i64>, end_us: i64) -> (u32, bool) {
    const MONTH_US: f64 = 30.4375 * 86_400_000_000.0;
    match churn {
        Some(c) if c <= end_us => ((((c - start) as f64 / MONTH_US).round() as u32).max(1), true),
        _ => ((((end_us - start) as f64 / MONTH_US).floor()).max(0.0) as u32, false),
    }
}

impl Repeat {
    fn expected(&self, c: Rfm, horizon: f64) -> f64 {
        match self {
            Repeat::Bg(m) => m.expected_purchases(c, horizon),
            Repeat::Pareto(m) => m.expected_purchases(c, horizon),
            Repeat::Sub(_) => unreachable!("subscriptions are valued by `subscription_value`"),
        }
    }
    fn p_alive(&self, c: Rfm) -> f64 {
        match self {
            Repeat::Bg(m) => m.p_alive(c),
            Repeat::Pareto(m) => m.p_alive(c),
            Repeat::Sub(_) => unreachable!("subscriptions are valued by `subscription_value`"),
        }
    }
    fn params(&self) -> serde_json::Value {
        match self {
            Repeat::Bg(m) => json!({ "r": m.r, "alpha": m.alpha, "a": m.a, "b": m.b }),
            Repeat::Pareto(m) => json!({ "r": m.r, "alpha": m.alpha, "s": m.s, "beta": m.beta }),
            Repeat::Sub(m) => json!({ "alpha": m.alpha, "beta": m.beta }),
        }
    }
}

fn fit_repeat(model: Model, customers: &[Rfm]) -> anyhow::Result<(Repeat, f64, usize)> {
    let p = ClvParams::new();
    Ok(match model {
        Model::Bgnbd => {
            let f = p.fit_bgnbd(customers)?;
            (Repeat::Bg(f.model), f.log_likelihood, f.iterations)
        }
        Model::ParetoNbd => {
            let f = p.fit_pareto_nbd(customers)?;
            (Repeat::Pareto(f.model), f.log_likelihood, f.iterations)
        }
        Model::Sbg => bail!("sBG is fitted to subscriptions, not RFM summaries"),
    })
}

/// Fits the job's model to the customers `members` (indices into `rfm`).
fn fit_members(
    model: Model,
    rfm: &[roicast_data::rfm::CustomerRfm],
    summaries: &[Rfm],
    members: &[usize],
    end_us: i64,
) -> anyhow::Result<(Repeat, f64, usize)> {
    if model == Model::Sbg {
        let subs: Vec<(u32, bool)> = members
            .iter()
            .filter_map(|&i| rfm[i].subscription)
            .map(|(s, c)| subscription_periods(s, c, end_us))
            .collect();
        let f = ClvParams::new().fit_sbg_individual(&subs)?;
        return Ok((Repeat::Sub(f.model), f.log_likelihood, f.iterations));
    }
    let sub: Vec<Rfm> = members.iter().map(|&i| summaries[i]).collect();
    fit_repeat(model, &sub)
}

/// sBG value of one customer over `months` months: (expected remaining subscribed months,
/// P(still subscribed), value per month, discounted months). Non-subscribers and churned
/// subscribers have no contractual value.
fn subscription_value(
    m: &roicast_models::clv::Sbg,
    c: &roicast_data::rfm::CustomerRfm,
    end_us: i64,
    months: usize,
    annual: f64,
) -> (f64, f64, f64, f64) {
    let Some((start, churn)) = c.subscription else { return (0.0, 0.0, 0.0, 0.0) };
    let (n, churned) = subscription_periods(start, churn, end_us);
    let per_month = c.revenue / f64::from(n.max(1));
    if churned {
        return (0.0, 0.0, per_month, 0.0);
    }
    let base = m.survival(n);
    let (mut expected, mut discounted) = (0.0, 0.0);
    for k in 0..months {
        let ratio = m.survival(n + 1 + k as u32) / base;
        expected += ratio;
        discounted += ratio / (1.0 + annual).powf(k as f64 / 12.0);
    }
    (expected, 1.0, per_month, discounted)
}

/// Kaplan–Meier survival of subscriptions at whole months 1..=12 (churn = event; no churn
/// by the observation end = censored).
fn km_months(subs: &[(i64, Option<i64>)], end_us: i64) -> Vec<(u32, f64)> {
    const MONTH_US: f64 = 30.4375 * 86_400_000_000.0;
    let durations: Vec<(f64, bool)> = subs
        .iter()
        .map(|(start, churn)| match churn {
            Some(c) if *c <= end_us => ((c - start) as f64 / MONTH_US, true),
            _ => ((end_us - start) as f64 / MONTH_US, false),
        })
        .collect();
    let km = roicast_models::stats::kaplan_meier(&durations);
    (1..=12u32).map(|month| (month, km.survival_at(f64::from(month)))).collect()
}

fn horizon() -> Duration {
    "12mo".parse().expect("a valid duration")
}

fn discount() -> String {
    "0.1/yr".into()
}

fn weeks() -> String {
    "weeks".into()
}

fn min_cohort() -> usize {
    300
}

/// The CLV job (`roicast clv --data DIR --out DIR`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Dataset folder (needs orders; uses customers and creators).
    pub data: PathBuf,
    /// Output folder: customer_clv.parquet, cohort_clv.csv.
    pub out: PathBuf,
    /// Repeat-purchase model.
    #[serde(default)]
    pub model: Model,
    /// How far ahead to value customers.
    #[serde(default = "horizon")]
    pub horizon: Duration,
    /// Discount rate with its period, e.g. `0.1/yr`, `0.01/mo`.
    #[serde(default = "discount")]
    pub discount_rate: String,
    /// Cohorts for cohort_clv.csv.
    #[serde(default)]
    pub by: CohortBy,
    /// Time unit of the RFM summaries and fitted rates.
    #[serde(default = "weeks")]
    pub time_unit: String,
    /// Margin rate when orders carry no gross_margin.
    #[serde(default)]
    pub margin_rate: Option<f64>,
    /// End of observation, RFC 3339 (default: the latest order).
    #[serde(default)]
    pub observation_end: Option<String>,
    /// Fit a cohort's own model when it has at least this many customers.
    #[serde(default = "min_cohort")]
    pub min_cohort: usize,
}

/// Per-customer RFM summaries (`roicast clv rfm`): the input of `clv fit`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RfmConfig {
    /// Dataset folder (needs orders; uses customers).
    pub data: PathBuf,
    /// Output file (Parquet, CSV or Arrow IPC by extension), written atomically.
    pub out: PathBuf,
    /// Time unit of frequency, recency and T.
    #[serde(default = "weeks")]
    pub time_unit: String,
    /// End of observation, RFC 3339 (default: the latest order).
    #[serde(default)]
    pub observation_end: Option<String>,
}

/// What `clv rfm` wrote.
#[derive(Debug, Clone, Serialize)]
pub struct RfmSummary {
    /// The file written.
    pub out: PathBuf,
    /// Customers summarised.
    pub customers: usize,
    /// Orders and refunds read.
    pub stats: roicast_data::rfm::RfmStats,
    /// The end of observation used, RFC 3339.
    pub observation_end: String,
    /// The time unit.
    pub time_unit: roicast_data::rfm::TimeUnit,
}

/// The columns of an RFM table, in order (a contract: `clv fit --rfm` reads them).
#[must_use]
pub fn rfm_schema() -> std::sync::Arc<arrow_schema::Schema> {
    use arrow_schema::{DataType, Field, Schema, TimeUnit};
    std::sync::Arc::new(Schema::new(vec![
        Field::new("customer_id", DataType::Utf8, false),
        Field::new("frequency", DataType::Float64, false),
        Field::new("recency", DataType::Float64, false),
        Field::new("T", DataType::Float64, false),
        Field::new("monetary_value", DataType::Float64, false),
        Field::new("revenue", DataType::Float64, false),
        Field::new("first_purchase_at", DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())), false),
        Field::new("acquisition_creator_id", DataType::Utf8, true),
        Field::new("acquisition_channel", DataType::Utf8, true),
    ]))
}

/// The RFM summaries of `dataset`'s customers, one row each in customer order, and what
/// was read; `end_us` is the end of observation (default: the latest order).
pub fn rfm_batch(
    dataset: &roicast_data::Dataset,
    unit: roicast_data::rfm::TimeUnit,
    end_us: Option<i64>,
) -> anyhow::Result<(arrow_array::RecordBatch, roicast_data::rfm::RfmStats, i64)> {
    let (rfm, stats, end_us) = roicast_data::rfm::build(dataset, unit, end_us, true)?;
    let mut rows = RowBuilder::new(rfm_schema());
    for c in &rfm {
        rows.text(&c.customer_id)
            .float(c.frequency)
            .float(c.recency)
            .float(c.t)
            .float(c.monetary_value)
            .float(c.revenue)
            .ts(c.first_purchase_us)
            .opt_text(c.acquisition_creator_id.as_deref())
            .opt_text(c.acquisition_channel.as_deref())
            .end_row();
    }
    Ok((rows.finish(), stats, end_us))
}

/// Writes every customer's RFM summary and `clv_rfm.manifest.json` beside it.
pub fn rfm(ctx: &Ctx, a: &RfmConfig) -> anyhow::Result<RfmSummary> {
    use roicast_data::validate::Progress as _;
    let mut manifest = crate::output::ManifestBuilder::start("clv_rfm");
    let unit: roicast_data::rfm::TimeUnit = a.time_unit.parse().map_err(anyhow::Error::msg)?;
    let end_us = parse_observation_end(a.observation_end.as_deref())?;
    let dataset = ctx.open_dataset(&a.data)?;
    ctx.progress.stage("building RFM summaries", 0);
    let (batch, stats, end_us) = rfm_batch(&dataset, unit, end_us)?;
    let dir = crate::output::create_parent(&a.out)?;
    roicast_data::io::write_table(&a.out, &rfm_schema(), std::slice::from_ref(&batch))
        .with_context(|| format!("failed to write {}", a.out.display()))?;
    manifest.stage_done("rfm");
    let inputs = FileRecord::inputs(&dataset, [roicast_data::Table::Orders, roicast_data::Table::Customers])?;
    let observation_end = roicast_data::io::format_timestamp_us(end_us);
    let m = manifest.finish(
        json!({ "data": a.data, "time_unit": unit, "observation_end": observation_end }),
        inputs,
        vec![FileRecord::of(&a.out)?],
        BTreeMap::from([("customers".to_owned(), batch.num_rows() as u64)]),
        "ok",
    );
    m.write(&dir)?;
    Ok(RfmSummary { out: a.out.clone(), customers: batch.num_rows(), stats, observation_end, time_unit: unit })
}

fn parse_observation_end(s: Option<&str>) -> anyhow::Result<Option<i64>> {
    s.map(|s| {
        roicast_data::conform::parse_timestamp_us(s).with_context(|| format!("invalid `--observation-end` = {s}"))
    })
    .transpose()
}

/// One cohort's value.
#[derive(Debug, Clone, Serialize)]
pub struct CohortValue {
    /// The cohort.
    pub cohort: String,
    /// Customers.
    pub customers: u64,
    /// Mean CLV.
    pub mean_clv: f64,
    /// Total CLV.
    pub total_clv: f64,
}

/// What the CLV job wrote and found.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Output folder.
    pub out: PathBuf,
    /// Customers valued.
    pub customers: usize,
    /// The pooled fit's parameters.
    pub pooled: serde_json::Value,
    /// The Gamma-Gamma spend model (NaN for subscriptions).
    pub gamma_gamma: roicast_models::clv::GammaGamma,
    /// Cohorts ranked by total value.
    pub cohorts: Vec<CohortValue>,
    /// The pooled model, in words.
    pub model: String,
    /// The horizon, as given.
    pub horizon: Duration,
    /// The time unit of the fit.
    pub time_unit: roicast_data::rfm::TimeUnit,
    /// Subscriptions valued by retention (sBG) rather than repeat purchases.
    pub subscription: bool,
}

/// Values every customer and cohort; writes both outputs (or neither) and `clv.manifest.json`.
pub fn run(ctx: &Ctx, a: &Config) -> anyhow::Result<Summary> {
    use roicast_data::validate::Progress as _;
    let (data, out) = (&a.data, &a.out);
    let mut manifest = crate::output::ManifestBuilder::start("clv");
    let (unit, annual, end_us) = super::settings((|| {
        let unit: roicast_data::rfm::TimeUnit = a.time_unit.parse().map_err(anyhow::Error::msg)?;
        let annual = parse_discount(&a.discount_rate)?;
        if let Some(m) = a.margin_rate
            && !(m.is_finite() && (-1.0..=1.0).contains(&m))
        {
            bail!("invalid `--margin-rate` = {m}: expected a rate in [-1, 1]");
        }
        Ok((unit, annual, parse_observation_end(a.observation_end.as_deref())?))
    })())?;
    let horizon_days = a.horizon.as_days();
    let dataset = ctx.open_dataset(data)?;
    ctx.progress.stage("building RFM summaries", 0);
    let (rfm, rfm_stats, end_us) = roicast_data::rfm::build(&dataset, unit, end_us, true)?;
    if rfm.is_empty() {
        bail!("{}: no customers with orders", data.display());
    }
    let platform_of = platforms(&dataset)?;
    let cohort_of = |c: &roicast_data::rfm::CustomerRfm| cohort_name(c, a.by, &platform_of);
    let summaries: Vec<Rfm> = rfm.iter().map(|c| Rfm { frequency: c.frequency, recency: c.recency, t: c.t }).collect();
    ctx.progress.stage("fitting repeat purchases and spend", 0);
    let everyone: Vec<usize> = (0..rfm.len()).collect();
    let (pooled, pooled_ll, pooled_iter) =
        fit_members(a.model, &rfm, &summaries, &everyone, end_us).context("the pooled fit failed")?;
    let repeaters: Vec<usize> =
        (0..rfm.len()).filter(|&i| rfm[i].frequency > 0.0 && rfm[i].monetary_value > 0.0).collect();
    let gg = if a.model == Model::Sbg {
        // Subscriptions are valued by their own revenue per month, not by spend per purchase.
        roicast_models::clv::GammaGamma { p: f64::NAN, q: f64::NAN, gamma: f64::NAN }
    } else {
        ClvParams::new()
            .fit_gamma_gamma(
                &repeaters.iter().map(|&i| rfm[i].frequency).collect::<Vec<_>>(),
                &repeaters.iter().map(|&i| rfm[i].monetary_value).collect::<Vec<_>>(),
            )
            .context("the Gamma-Gamma spend fit failed")?
            .model
    };
    let mean_spend = gg.p * gg.gamma / (gg.q - 1.0);
    // Cohorts: their own fit when large enough.
    let mut cohorts: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, c) in rfm.iter().enumerate() {
        cohorts.entry(cohort_of(c)).or_default().push(i);
    }
    let mut cohort_models: BTreeMap<String, (Repeat, f64)> = BTreeMap::new();
    for (name, members) in &cohorts {
        let size = if a.model == Model::Sbg {
            members.iter().filter(|&&i| rfm[i].subscription.is_some()).count()
        } else {
            members.len()
        };
        if size >= a.min_cohort {
            match fit_members(a.model, &rfm, &summaries, members, end_us) {
                Ok((m, ll, _)) => {
                    cohort_models.insert(name.clone(), (m, ll));
                }
                Err(e) => tracing::warn!("cohort {name}: own fit failed ({e:#}); the pooled fit is used"),
            }
        }
    }
    // Per-customer value: monthly steps over the horizon, discounted annually.
    let month_days = 30.4375;
    let steps = (horizon_days / month_days).ceil().max(1.0) as usize;
    let mut rows = RowBuilder::new(customer_schema());
    let mut per_cohort: BTreeMap<String, (u64, u64, f64, f64, f64)> = BTreeMap::new();
    for (i, c) in rfm.iter().enumerate() {
        let cohort = cohort_of(c);
        let model = cohort_models.get(&cohort).map_or(&pooled, |m| &m.0);
        let Some(margin) = c.margin_rate.or(a.margin_rate) else {
            bail!("customer `{}`: orders carry no gross_margin; pass --margin-rate to value them", c.customer_id)
        };
        let (expected, p_alive, spend, discounted) = if let Repeat::Sub(m) = model {
            subscription_value(m, c, end_us, steps, annual)
        } else {
            let spend = if c.frequency > 0.0 && c.monetary_value > 0.0 {
                gg.expected_spend(c.frequency, c.monetary_value)
            } else {
                mean_spend
            };
            let mut prev = 0.0;
            let mut discounted = 0.0;
            for k in 1..=steps {
                let t_days = (k as f64 * month_days).min(horizon_days);
                let cum = model.expected(summaries[i], t_days / unit.days());
                discounted += (cum - prev) / (1.0 + annual).powf(t_days / 365.25);
                prev = cum;
            }
            (prev, model.p_alive(summaries[i]), spend, discounted)
        };
        let clv = discounted * spend * margin;
        rows.text(&c.customer_id)
            .opt_text(c.acquisition_creator_id.as_deref())
            .text(&cohort)
            .float(c.frequency)
            .float(c.recency)
            .float(c.t)
            .float(c.monetary_value)
            .float(expected)
            .float(p_alive)
            .float(spend)
            .float(margin)
            .float(clv)
            .end_row();
        let e = per_cohort.entry(cohort).or_default();
        e.0 += 1;
        e.1 += u64::from(c.frequency > 0.0);
        e.2 += expected;
        e.3 += p_alive;
        e.4 += clv;
    }
    std::fs::create_dir_all(out).with_context(|| format!("failed to create {}", out.display()))?;
    let customer_path = out.join("customer_clv.parquet");
    let batch = rows.finish();
    let cohort_path = out.join("cohort_clv.csv");
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "cohort",
        "customers",
        "repeat_customers",
        "mean_expected_purchases",
        "mean_p_alive",
        "mean_clv",
        "total_clv",
        "subscription_retention",
        "model",
        "params",
    ])?;
    for (name, (n, rep, exp, alive, clv)) in &per_cohort {
        let members = &cohorts[name];
        let subs: Vec<(i64, Option<i64>)> = members.iter().filter_map(|&i| rfm[i].subscription).collect();
        let retention = if subs.is_empty() {
            String::new()
        } else {
            km_months(&subs, end_us)
                .iter()
                .filter(|(m, _)| [1, 3, 6, 12].contains(m))
                .map(|(m, s)| format!("m{m}={s:.3}"))
                .collect::<Vec<_>>()
                .join(";")
        };
        let (which, params) = match cohort_models.get(name) {
            Some((m, _)) => ("cohort", m.params()),
            None => ("pooled", pooled.params()),
        };
        let nf = *n as f64;
        w.write_record([
            name.clone(),
            n.to_string(),
            rep.to_string(),
            (exp / nf).to_string(),
            (alive / nf).to_string(),
            (clv / nf).to_string(),
            clv.to_string(),
            retention,
            which.to_owned(),
            params.to_string(),
        ])?;
    }
    let cohort_bytes = w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
    // Both files, or neither.
    let tmp = out.join(format!(".clv.partial-{}", std::process::id()));
    std::fs::create_dir_all(&tmp)?;
    let result = (|| -> anyhow::Result<()> {
        roicast_data::io::write_table(
            tmp.join("customer_clv.parquet"),
            batch.schema_ref(),
            std::slice::from_ref(&batch),
        )?;
        roicast_data::io::write_bytes_atomic(&tmp.join("cohort_clv.csv"), &cohort_bytes)?;
        std::fs::rename(tmp.join("customer_clv.parquet"), &customer_path)?;
        std::fs::rename(tmp.join("cohort_clv.csv"), &cohort_path)?;
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&tmp);
    result.with_context(|| format!("failed to write the CLV outputs into {}", out.display()))?;
    ctx.progress.finish();
    manifest.stage_done("clv");
    let inputs = FileRecord::inputs(
        &dataset,
        [roicast_data::Table::Orders, roicast_data::Table::Customers, roicast_data::Table::Creators],
    )?;
    let m = manifest.finish(
        json!({
            "data": data, "model": format!("{:?}", a.model), "horizon": a.horizon, "discount_rate": a.discount_rate,
            "annual_discount_rate": annual, "by": format!("{:?}", a.by), "time_unit": unit, "margin_rate": a.margin_rate,
            "observation_end": roicast_data::io::format_timestamp_us(end_us), "min_cohort": a.min_cohort,
            "pooled_params": pooled.params(), "pooled_log_likelihood": pooled_ll, "pooled_iterations": pooled_iter,
            "gamma_gamma": gg, "rfm": rfm_stats,
        }),
        inputs,
        vec![FileRecord::of(&customer_path)?, FileRecord::of(&cohort_path)?],
        BTreeMap::from([("customers".to_owned(), rfm.len() as u64)]),
        "ok",
    );
    m.write(out)?;
    // Ranked by total value: small cohorts' means are noisy.
    let mut ranked: Vec<(&String, f64, u64, f64)> =
        per_cohort.iter().map(|(k, v)| (k, v.4 / v.0 as f64, v.0, v.4)).collect();
    ranked.sort_by(|x, y| y.3.total_cmp(&x.3));
    Ok(Summary {
        out: out.clone(),
        customers: rfm.len(),
        pooled: pooled.params(),
        gamma_gamma: gg,
        cohorts: ranked
            .iter()
            .map(|(k, mean, n, total)| CohortValue {
                cohort: (*k).clone(),
                customers: *n,
                mean_clv: *mean,
                total_clv: *total,
            })
            .collect(),
        model: pooled_name(&pooled).to_owned(),
        horizon: a.horizon.clone(),
        time_unit: unit,
        subscription: matches!(pooled, Repeat::Sub(_)),
    })
}

fn pooled_name(r: &Repeat) -> &'static str {
    match r {
        Repeat::Bg(_) => "BG/NBD repeat-purchase",
        Repeat::Pareto(_) => "Pareto/NBD repeat-purchase",
        Repeat::Sub(_) => "sBG subscription-retention",
    }
}

fn customer_schema() -> std::sync::Arc<arrow_schema::Schema> {
    use arrow_schema::{DataType, Field, Schema};
    std::sync::Arc::new(Schema::new(vec![
        Field::new("customer_id", DataType::Utf8, false),
        Field::new("acquisition_creator_id", DataType::Utf8, true),
        Field::new("cohort", DataType::Utf8, false),
        Field::new("frequency", DataType::Float64, false),
        Field::new("recency", DataType::Float64, false),
        Field::new("T", DataType::Float64, false),
        Field::new("monetary_value", DataType::Float64, false),
        Field::new("expected_purchases", DataType::Float64, false),
        Field::new("p_alive", DataType::Float64, false),
        Field::new("expected_spend", DataType::Float64, false),
        Field::new("margin_rate", DataType::Float64, false),
        Field::new("clv", DataType::Float64, false),
    ]))
}

/// The cohort of a customer.
fn cohort_name(c: &roicast_data::rfm::CustomerRfm, by: CohortBy, platform_of: &HashMap<String, String>) -> String {
    match by {
        CohortBy::Creator => c.acquisition_creator_id.clone().unwrap_or_else(|| "(none)".into()),
        CohortBy::Channel => c.acquisition_channel.clone().unwrap_or_else(|| "(none)".into()),
        CohortBy::Platform => c
            .acquisition_creator_id
            .as_ref()
            .and_then(|id| platform_of.get(id).cloned())
            .unwrap_or_else(|| "(none)".into()),
        CohortBy::Month => roicast_data::io::format_timestamp_us(c.first_purchase_us)[..7].to_owned(),
    }
}

/// Creator → platform, from the `creators` table when present.
fn platforms(dataset: &roicast_data::Dataset) -> anyhow::Result<HashMap<String, String>> {
    let mut m = HashMap::new();
    if dataset.has(roicast_data::Table::Creators) {
        for b in dataset.load(roicast_data::Table::Creators)? {
            use arrow_array::cast::AsArray as _;
            let (ids, plats) = (b.column(0).as_string::<i32>(), b.column(1).as_string::<i32>());
            for i in 0..b.num_rows() {
                m.entry(ids.value(i).to_owned()).or_insert_with(|| plats.value(i).to_owned());
            }
        }
    }
    Ok(m)
}

/// The CLV backtest (`roicast clv backtest`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BacktestConfig {
    /// Dataset folder.
    pub data: PathBuf,
    /// End of the calibration period (RFC 3339); orders after it form the hold-out.
    pub calibration_end: String,
    /// End of the hold-out (default: the latest order).
    #[serde(default)]
    pub observation_end: Option<String>,
    /// Repeat-purchase model.
    #[serde(default)]
    pub model: Model,
    /// Cohorts to report.
    #[serde(default)]
    pub by: CohortBy,
    /// Time unit of the RFM summaries.
    #[serde(default = "weeks")]
    pub time_unit: String,
    /// Also write the per-cohort table here (CSV).
    #[serde(default)]
    pub out: Option<PathBuf>,
}

/// One cohort's hold-out repeat purchases.
#[derive(Debug, Clone, Serialize)]
pub struct BacktestCohort {
    /// The cohort.
    pub cohort: String,
    /// Customers.
    pub customers: u64,
    /// Repeat purchases in the hold-out.
    pub actual_repeat_purchases: f64,
    /// Predicted repeat purchases.
    pub predicted_repeat_purchases: f64,
}

/// The backtest's fit and its hold-out comparison.
#[derive(Debug, Clone, Serialize)]
pub struct BacktestSummary {
    /// The model.
    pub model: String,
    /// Calibration fit parameters.
    pub params: serde_json::Value,
    /// Its log-likelihood.
    pub log_likelihood: f64,
    /// Its iterations.
    pub iterations: usize,
    /// End of calibration.
    pub calibration_end: String,
    /// End of the hold-out.
    pub observation_end: String,
    /// Hold-out length in `time_unit`.
    pub holdout_length: f64,
    /// Time unit.
    pub time_unit: roicast_data::rfm::TimeUnit,
    /// Customers.
    pub customers: u64,
    /// Hold-out repeat purchases, in total.
    pub actual_repeat_purchases: f64,
    /// Predicted, in total.
    pub predicted_repeat_purchases: f64,
    /// Per cohort, by actual purchases.
    pub cohorts: Vec<BacktestCohort>,
}

/// Fits on the calibration period and compares predicted with actual hold-out purchases.
pub fn backtest(ctx: &Ctx, a: &BacktestConfig) -> anyhow::Result<BacktestSummary> {
    let unit: roicast_data::rfm::TimeUnit = a.time_unit.parse().map_err(anyhow::Error::msg)?;
    let parse = |name: &str, s: &str| {
        roicast_data::conform::parse_timestamp_us(s).with_context(|| {
            format!("invalid `--{name}` = {s}: expected an RFC 3339 timestamp such as 2025-09-30T00:00:00Z")
        })
    };
    let cut = parse("calibration-end", &a.calibration_end)?;
    let end = a.observation_end.as_deref().map(|s| parse("observation-end", s)).transpose()?;
    let dataset = ctx.open_dataset(&a.data)?;
    let (rfm, _, end_us, holdout) = roicast_data::rfm::build_until(&dataset, unit, end, true, Some(cut))?;
    if end_us <= cut {
        bail!(
            "the hold-out is empty: the observation end {} is not after --calibration-end",
            roicast_data::io::format_timestamp_us(end_us)
        );
    }
    if rfm.is_empty() {
        bail!("no customer purchased before --calibration-end {}", a.calibration_end);
    }
    let summaries: Vec<Rfm> = rfm.iter().map(|c| Rfm { frequency: c.frequency, recency: c.recency, t: c.t }).collect();
    let (model, ll, iterations) = fit_repeat(a.model, &summaries).context("the calibration fit failed")?;
    let horizon = (end_us - cut) as f64 / 86_400_000_000.0 / unit.days();
    let platform_of = platforms(&dataset)?;
    let mut cohorts: BTreeMap<String, (u64, f64, f64)> = BTreeMap::new();
    for (i, c) in rfm.iter().enumerate() {
        let e = cohorts.entry(cohort_name(c, a.by, &platform_of)).or_default();
        e.0 += 1;
        e.1 += holdout.get(&c.customer_id).copied().unwrap_or(0.0);
        e.2 += model.expected(summaries[i], horizon);
    }
    let (n, actual, predicted) = cohorts.values().fold((0, 0.0, 0.0), |acc, v| (acc.0 + v.0, acc.1 + v.1, acc.2 + v.2));
    if let Some(path) = &a.out {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(["cohort", "customers", "actual_repeat_purchases", "predicted_repeat_purchases", "error_pct"])?;
        for (k, (c, act, pred)) in
            cohorts.iter().chain(std::iter::once((&"(total)".to_owned(), &(n, actual, predicted))))
        {
            let err = if *act > 0.0 { format!("{:.2}", (pred - act) / act * 100.0) } else { String::new() };
            w.write_record([k.clone(), c.to_string(), act.to_string(), pred.to_string(), err])?;
        }
        let bytes = w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
        roicast_data::io::write_bytes_atomic(path, &bytes)
            .with_context(|| format!("failed to write {}", path.display()))?;
    }
    let mut ranked: Vec<(&String, &(u64, f64, f64))> = cohorts.iter().collect();
    ranked.sort_by(|x, y| y.1.1.total_cmp(&x.1.1));
    Ok(BacktestSummary {
        model: format!("{:?}", a.model),
        params: model.params(),
        log_likelihood: ll,
        iterations,
        calibration_end: a.calibration_end.clone(),
        observation_end: roicast_data::io::format_timestamp_us(end_us),
        holdout_length: horizon,
        time_unit: unit,
        customers: n,
        actual_repeat_purchases: actual,
        predicted_repeat_purchases: predicted,
        cohorts: ranked
            .iter()
            .map(|(k, v)| BacktestCohort {
                cohort: (*k).clone(),
                customers: v.0,
                actual_repeat_purchases: v.1,
                predicted_repeat_purchases: v.2,
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discount_rates_convert_to_annual() {
        assert!((parse_discount("0.1/yr").unwrap() - 0.1).abs() < 1e-12);
        assert!((parse_discount("0.01/mo").unwrap() - (1.01f64.powi(12) - 1.0)).abs() < 1e-12);
        for bad in ["0.1", "x/yr", "0.1/century", "-1/yr"] {
            assert!(parse_discount(bad).unwrap_err().to_string().contains("RATE/PERIOD"), "{bad}");
        }
    }

    #[test]
    fn config_defaults_are_the_documented_ones() {
        let c: Config = serde_json::from_str(r#"{"data": "d", "out": "o"}"#).unwrap();
        assert_eq!(c.model, Model::Bgnbd);
        assert_eq!(c.horizon.as_days(), 365.25);
        assert_eq!(c.discount_rate, "0.1/yr");
        assert_eq!(c.by, CohortBy::Creator);
        assert_eq!(c.min_cohort, 300);
        let e = serde_json::from_str::<Config>(r#"{"data": "d", "out": "o", "horizon": "12m"}"#).unwrap_err();
        assert!(e.to_string().contains("ambiguous"), "{e}");
        let e = serde_json::from_str::<Config>(r#"{"data": "d", "out": "o", "horizn": "12mo"}"#).unwrap_err();
        assert!(e.to_string().contains("horizn"), "{e}");
    }
}
