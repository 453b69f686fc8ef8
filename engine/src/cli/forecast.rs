//! `roicast train forecast` and `roicast forecast`.

use std::io::Write;

use super::args::{EvalForecastArgs, ForecastArgs, OutputFormat, TrainForecastArgs};
use super::{Outcome, Settings};
use crate::jobs::Ctx;
use crate::jobs::forecast::{self, Plan, Row};

/// `roicast train forecast`.
pub(super) fn train(
    a: &TrainForecastArgs,
    ctx: &Ctx,
    settings: &Settings,
    stdout: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let c = forecast::TrainConfig {
        history: a.history.clone(),
        learner: a.learner.clone(),
        out: a.out.clone(),
        cv: a.cv,
        l2: a.fit.l2,
        folds: a.fit.folds,
        min_level_rows: a.fit.min_level_rows,
    };
    let s = forecast::train(ctx, &c)?;
    match settings.format {
        OutputFormat::Json => {
            super::json(
                stdout,
                &serde_json::json!({ "model": s.model, "rows": s.rows, "features": s.features, "cv": s.cv,
                                      "learner": s.learner, "learners": s.learners }),
            )?;
        }
        OutputFormat::Text => {
            writeln!(
                stdout,
                "trained on {} history rows, {} features ({} on ln(1 + revenue))",
                s.rows,
                s.features.len(),
                s.learner.replace('_', " ")
            )?;
            if let Some(c) = &s.learners {
                writeln!(stdout, "learners by time-ordered CV ({} folds, {} rows):", c.ridge.folds, c.ridge.rows)?;
                writeln!(
                    stdout,
                    "  {:<14} {:>9} {:>9} {:>9} {:>9} {:>10}",
                    "learner", "MAE(log)", "MAE", "Spearman", "80% cov", ""
                )?;
                for (name, r) in [("ridge", &c.ridge), ("boosted trees", &c.boosted_trees)] {
                    let chosen = (name == "ridge") == (s.learner == "ridge");
                    writeln!(
                        stdout,
                        "  {name:<14} {:>9.3} {:>9.1} {:>9.3} {:>8.1}% {:>10}",
                        r.mae_log,
                        r.mae,
                        r.spearman,
                        100.0 * r.coverage_80,
                        if chosen { "chosen" } else { "" }
                    )?;
                }
            }
            for (name, weight) in &s.top_weights {
                writeln!(stdout, "  {name:<32} {weight:+.3}")?;
            }
            if let Some(cv) = &s.cv {
                writeln!(
                    stdout,
                    "time-ordered CV ({} folds, {} rows): MAE {:.1}, MAPE {:.0} %, Spearman {:.3} (followers only {:.3}), 80 % interval coverage {:.1} %",
                    cv.folds,
                    cv.rows,
                    cv.mae,
                    100.0 * cv.mape,
                    cv.spearman,
                    cv.spearman_followers_only,
                    100.0 * cv.coverage_80
                )?;
            }
            writeln!(stdout, "wrote {}", a.out.display())?;
        }
    }
    Ok(Outcome::Ok)
}

/// `roicast eval forecast`.
pub(super) fn backtest(
    a: &EvalForecastArgs,
    ctx: &Ctx,
    settings: &Settings,
    stdout: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let c = forecast::BacktestConfig {
        history: a.history.clone(),
        since: a.since.clone(),
        learner: a.learner.clone(),
        l2: a.fit.l2,
        folds: a.fit.folds,
        min_level_rows: a.fit.min_level_rows,
    };
    let s = forecast::backtest(ctx, &c)?;
    match settings.format {
        OutputFormat::Json => super::json(stdout, &s)?,
        OutputFormat::Text => {
            let r = &s.scores;
            writeln!(
                stdout,
                "backtest at {}: {} fitted on {} campaigns before it, forecast {} from it on",
                s.since,
                s.learner.replace('_', " "),
                s.train_rows,
                r.rows
            )?;
            writeln!(
                stdout,
                "  80 % interval coverage {:.1} %, Spearman {:.3} (followers only {:.3}), MAE {:.1}, MAPE {:.0} %",
                100.0 * r.coverage_80,
                r.spearman,
                r.spearman_followers_only,
                r.mae,
                100.0 * r.mape
            )?;
        }
    }
    Ok(Outcome::Ok)
}

/// `roicast forecast`.
pub(super) fn forecast(
    a: &ForecastArgs,
    ctx: &Ctx,
    settings: &Settings,
    stdout: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let c = forecast::Config {
        model: a.model.clone(),
        candidates: a.candidates.clone(),
        scenarios: a.scenarios.clone(),
        budget: a.budget,
        target_roi: a.target_roi,
        probability: a.probability,
        out: a.out.clone(),
    };
    let s = forecast::run(ctx, &c)?;
    match settings.format {
        OutputFormat::Json => super::json(stdout, &s)?,
        OutputFormat::Text => print_rows(stdout, &s.rows, s.plan.as_ref(), 12)?,
    }
    Ok(Outcome::Ok)
}

fn print_rows(stdout: &mut dyn Write, rows: &[Row], plan: Option<&Plan>, top: usize) -> std::io::Result<()> {
    let mut sorted: Vec<&Row> = rows.iter().collect();
    sorted.sort_by(|a, b| b.outlook.roi_p50.total_cmp(&a.outlook.roi_p50));
    writeln!(
        stdout,
        "{:<10} {:<10} {:<18} {:>10} {:>10} {:>10} {:>9} {:>8} {:>8} {:>8} {:>8}",
        "creator",
        "platform",
        "scenario",
        "rev P10",
        "rev P50",
        "rev P90",
        "cost P50",
        "ROI P10",
        "ROI P50",
        "ROI P90",
        "P(ROI>0)"
    )?;
    let pct = |x: f64| if x.is_finite() { format!("{:.0}%", 100.0 * x) } else { "-".to_owned() };
    for r in sorted.iter().take(top) {
        let o = &r.outlook;
        writeln!(
            stdout,
            "{:<10} {:<10} {:<18} {:>10.0} {:>10.0} {:>10.0} {:>9.0} {:>8} {:>8} {:>8} {:>7.0}%{}",
            r.creator_id,
            r.platform,
            r.scenario,
            o.revenue_p10,
            o.revenue_p50,
            o.revenue_p90,
            o.cost_p50,
            pct(o.roi_p10),
            pct(o.roi_p50),
            pct(o.roi_p90),
            100.0 * o.prob_roi_positive,
            if r.selected { "  *" } else { "" }
        )?;
    }
    if rows.len() > top {
        writeln!(stdout, "… {} more rows in the output file", rows.len() - top)?;
    }
    if let Some(p) = plan {
        writeln!(
            stdout,
            "plan ({}): {} deals (*), expected cost {:.0}, expected revenue {:.0}; portfolio ROI P10 {} / P50 {} / P90 {}, P(ROI > 0) {:.0} %",
            p.mode,
            p.deals,
            p.expected_cost,
            p.expected_revenue,
            pct(p.roi_p10),
            pct(p.roi_p50),
            pct(p.roi_p90),
            100.0 * p.prob_roi_positive
        )?;
    }
    Ok(())
}
