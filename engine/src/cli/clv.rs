//! `roicast clv`, `roicast clv fit`, `roicast clv backtest`.

use std::io::Write;

use anyhow::bail;

use super::args::{ClvArgs, ClvBacktestArgs, ClvFitArgs, ClvJobModel, ClvModelArg, ClvRfmArgs, CohortBy, OutputFormat};
use super::{Outcome, Settings};
use crate::jobs::Ctx;
use crate::jobs::clv::{self, Summary};

fn model(m: ClvJobModel) -> clv::Model {
    match m {
        ClvJobModel::Bgnbd => clv::Model::Bgnbd,
        ClvJobModel::ParetoNbd => clv::Model::ParetoNbd,
        ClvJobModel::Sbg => clv::Model::Sbg,
    }
}

fn cohort_by(b: CohortBy) -> clv::CohortBy {
    match b {
        CohortBy::Creator => clv::CohortBy::Creator,
        CohortBy::Channel => clv::CohortBy::Channel,
        CohortBy::Platform => clv::CohortBy::Platform,
        CohortBy::Month => clv::CohortBy::Month,
    }
}

/// `roicast clv --data DIR --out DIR …`.
pub(super) fn clv(a: &ClvArgs, ctx: &Ctx, settings: &Settings, stdout: &mut dyn Write) -> anyhow::Result<Outcome> {
    let (Some(data), Some(out)) = (&a.data, &a.out) else { bail!("roicast clv needs --data DIR and --out DIR") };
    let c = clv::Config {
        data: data.clone(),
        out: out.clone(),
        model: model(a.model),
        horizon: super::attribute::duration("horizon", &a.horizon)?,
        discount_rate: a.discount_rate.clone(),
        by: cohort_by(a.by),
        time_unit: a.time_unit.clone(),
        margin_rate: a.margin_rate,
        observation_end: a.observation_end.clone(),
        min_cohort: a.min_cohort,
    };
    let s = clv::run(ctx, &c)?;
    match settings.format {
        OutputFormat::Json => super::json(
            stdout,
            &serde_json::json!({
                "out": s.out, "customers": s.customers, "pooled": s.pooled, "gamma_gamma": s.gamma_gamma,
                "cohorts": s.cohorts,
            }),
        )?,
        OutputFormat::Text => print(stdout, &s)?,
    }
    Ok(Outcome::Ok)
}

fn print(stdout: &mut dyn Write, s: &Summary) -> std::io::Result<()> {
    writeln!(
        stdout,
        "CLV of {} customers over {} ({} model, time unit {:?})",
        s.customers, s.horizon, s.model, s.time_unit
    )?;
    if s.subscription {
        writeln!(
            stdout,
            "  pooled params {}; value per month = each subscriber's revenue per subscribed month",
            s.pooled
        )?;
    } else {
        let gg = &s.gamma_gamma;
        writeln!(stdout, "  pooled params {}; spend p={:.3} q={:.3} gamma={:.3}", s.pooled, gg.p, gg.q, gg.gamma)?;
    }
    let top = 10;
    writeln!(stdout, "  {:<16} {:>10} {:>12} {:>14}", "cohort", "customers", "mean CLV", "total CLV")?;
    for c in s.cohorts.iter().take(top) {
        writeln!(stdout, "  {:<16} {:>10} {:>12.2} {:>14.2}", c.cohort, c.customers, c.mean_clv, c.total_clv)?;
    }
    if s.cohorts.len() > top {
        writeln!(stdout, "  … {} more cohorts in cohort_clv.csv", s.cohorts.len() - top)?;
    }
    writeln!(
        stdout,
        "wrote {} and {}",
        s.out.join("customer_clv.parquet").display(),
        s.out.join("cohort_clv.csv").display()
    )
}

/// `roicast clv fit` (one JSON document whatever `--format` says; its field names are a contract).
pub(super) fn fit(a: &ClvFitArgs, _settings: &Settings, stdout: &mut dyn Write) -> anyhow::Result<Outcome> {
    let c = clv::FitConfig {
        model: match a.model {
            ClvModelArg::Bgnbd => clv::FitModel::Bgnbd,
            ClvModelArg::ParetoNbd => clv::FitModel::ParetoNbd,
            ClvModelArg::GammaGamma => clv::FitModel::GammaGamma,
            ClvModelArg::Sbg => clv::FitModel::Sbg,
        },
        rfm: a.rfm.clone(),
        survival: a.survival.clone(),
        discount_rate: a.discount_rate,
        project: a.project,
    };
    super::json(stdout, &clv::fit(&c)?)?;
    Ok(Outcome::Ok)
}

/// `roicast clv backtest`.
/// `roicast clv rfm --data DIR --out FILE`.
pub(super) fn rfm(a: &ClvRfmArgs, ctx: &Ctx, settings: &Settings, stdout: &mut dyn Write) -> anyhow::Result<Outcome> {
    let c = clv::RfmConfig {
        data: a.data.clone(),
        out: a.out.clone(),
        time_unit: a.time_unit.clone(),
        observation_end: a.observation_end.clone(),
    };
    let s = clv::rfm(ctx, &c)?;
    match settings.format {
        OutputFormat::Json => super::json(stdout, &s)?,
        OutputFormat::Text => writeln!(
            stdout,
            "RFM summaries of {} customers ({} orders, {} refunded) up to {}, in {:?}: {}",
            s.customers,
            s.stats.orders,
            s.stats.refunded,
            s.observation_end,
            s.time_unit,
            s.out.display()
        )?,
    }
    Ok(Outcome::Ok)
}

pub(super) fn backtest(
    a: &ClvBacktestArgs,
    ctx: &Ctx,
    settings: &Settings,
    stdout: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let c = clv::BacktestConfig {
        data: a.data.clone(),
        calibration_end: a.calibration_end.clone(),
        observation_end: a.observation_end.clone(),
        model: model(a.model),
        by: cohort_by(a.by),
        time_unit: a.time_unit.clone(),
        out: a.out.clone(),
    };
    let s = clv::backtest(ctx, &c)?;
    match settings.format {
        OutputFormat::Json => super::json(stdout, &s)?,
        OutputFormat::Text => {
            writeln!(
                stdout,
                "backtest: fitted on {} customers up to {}, hold-out {:.1} {:?}",
                s.customers, s.calibration_end, s.holdout_length, s.time_unit
            )?;
            writeln!(
                stdout,
                "  {:<16} {:>10} {:>12} {:>12} {:>9}",
                "cohort", "customers", "actual", "predicted", "error"
            )?;
            let total = ("(total)", s.customers, s.actual_repeat_purchases, s.predicted_repeat_purchases);
            for (k, n, act, pred) in s
                .cohorts
                .iter()
                .take(10)
                .map(|c| (c.cohort.as_str(), c.customers, c.actual_repeat_purchases, c.predicted_repeat_purchases))
                .chain(std::iter::once(total))
            {
                let err = if act > 0.0 { format!("{:+.1}%", (pred - act) / act * 100.0) } else { "-".into() };
                writeln!(stdout, "  {k:<16} {n:>10} {act:>12.0} {pred:>12.1} {err:>9}")?;
            }
        }
    }
    Ok(Outcome::Ok)
}
