//! `roicast attribute` and `roicast train attribution`.

use std::collections::BTreeMap;
use std::io::Write;

use roicast_models::attribution::credits::{GroupBy, GroupTotal};
use roicast_models::attribution::hazard::HazardModelFile;

use super::args::{AttributeArgs, GroupByArg, OutputFormat, TrainAttributionArgs};
use super::{Outcome, Settings};
use crate::jobs::{Ctx, attribute};

pub(super) fn group_by(g: GroupByArg) -> GroupBy {
    match g {
        GroupByArg::Channel => GroupBy::Channel,
        GroupByArg::Creator => GroupBy::Creator,
        GroupByArg::Platform => GroupBy::Platform,
        GroupByArg::ChannelInteraction => GroupBy::ChannelInteraction,
        GroupByArg::Campaign => GroupBy::Campaign,
    }
}

/// `--u-shaped FIRST,LAST`.
fn u_shape(s: &str) -> anyhow::Result<[f64; 2]> {
    let bad = || {
        anyhow::anyhow!(
            "invalid `--u-shaped` = {s}: expected FIRST,LAST shares in [0, 1] summing to at most 1, e.g. 0.4,0.4"
        )
    };
    let parts: Vec<&str> = s.split(',').map(str::trim).collect();
    if parts.len() != 2 {
        return Err(bad());
    }
    Ok([parts[0].parse().map_err(|_| bad())?, parts[1].parse().map_err(|_| bad())?])
}

/// A duration flag, by the one grammar of [`roicast_data::duration`].
pub(super) fn duration(flag: &str, s: &str) -> anyhow::Result<roicast_data::duration::Duration> {
    s.parse().map_err(|e| anyhow::anyhow!("invalid `--{flag}`: {e}"))
}

/// `roicast attribute`.
pub(super) fn attribute(
    a: &AttributeArgs,
    ctx: &Ctx,
    settings: &Settings,
    stdout: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    if let Some(paths) = &a.paths {
        let c = attribute::PathsConfig {
            paths: paths.clone(),
            out: a.out.clone(),
            models: a.models.clone(),
            sep: a.sep.clone(),
            markov_order: a.markov_order,
            u_shaped: u_shape(&a.u_shaped)?,
        };
        let s = attribute::run_paths(ctx, &c)?;
        match settings.format {
            OutputFormat::Json => {
                let doc = serde_json::json!({ "out": s.out, "totals": s.totals, "markov": s.markov });
                super::json(stdout, &doc)?;
            }
            OutputFormat::Text => {
                writeln!(stdout, "attributed {} → {}", paths.display(), a.out.display())?;
                let shown: Vec<&str> = s.models.iter().map(String::as_str).collect();
                print_totals(stdout, &s.totals, &shown, 20)?;
            }
        }
        return Ok(Outcome::Ok);
    }
    let data = a.data.as_ref().expect("clap requires --data or --paths");
    let c = attribute::Config {
        data: data.clone(),
        out: a.out.clone(),
        models: a.models.clone(),
        group_by: group_by(a.group_by),
        lookback: duration("lookback", &a.lookback)?,
        half_life: duration("half-life", &a.half_life)?,
        u_shaped: u_shape(&a.u_shaped)?,
        markov_order: a.markov_order,
        use_sessions: !a.no_sessions,
        code_outranks_link: a.code_outranks_link,
        observation_end: a.observation_end.clone(),
        model: a.model.clone(),
        paths_out: a.paths_out.clone(),
    };
    let s = attribute::run(ctx, &c)?;
    match settings.format {
        OutputFormat::Json => super::json(
            stdout,
            &serde_json::json!({
                "out": s.out,
                "journeys": s.journeys,
                "credit_rows": s.credit_rows,
                "removal_effects": s.removal_effects,
                "data_driven": s.data_driven,
                "totals": s.totals,
            }),
        )?,
        OutputFormat::Text => {
            let j = &s.journeys;
            writeln!(
                stdout,
                "attributed {} orders ({} without touches) from {} touchpoints, {} code touches, {} session touches; {} non-converting journeys",
                j.orders, j.orders_without_touches, j.touchpoints, j.code_touches, j.session_touches, j.non_converting
            )?;
            writeln!(stdout, "conversions credited per group:")?;
            let models: Vec<&str> = s.models.iter().map(String::as_str).collect();
            let label = |g: &str| s.names.get(g).cloned().unwrap_or_else(|| g.to_owned());
            print_totals_where(stdout, &s.totals, &models, 15, |_| true, &label)?;
            if let Some(h) = &s.data_driven {
                print_hazard_labelled(stdout, h, &label)?;
            }
            writeln!(
                stdout,
                "wrote {} and {}",
                a.out.join("credits.parquet").display(),
                a.out.join("attribution_summary.csv").display()
            )?;
        }
    }
    Ok(Outcome::Ok)
}

/// `roicast train attribution`.
pub(super) fn train(
    a: &TrainAttributionArgs,
    ctx: &Ctx,
    settings: &Settings,
    stdout: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let c = attribute::TrainConfig {
        data: a.data.clone(),
        out: a.out.clone(),
        group_by: group_by(a.group_by),
        observation_end: a.observation_end.clone(),
        use_sessions: !a.no_sessions,
        max_iter: a.max_iter,
        tol: a.tol,
        journeys_out: a.journeys_out.clone(),
    };
    let file = attribute::train(ctx, &c)?;
    match settings.format {
        OutputFormat::Json => super::json(stdout, &file)?,
        OutputFormat::Text => print_hazard(stdout, &file)?,
    }
    Ok(Outcome::Ok)
}

/// Prints a fitted data-driven model.
pub(super) fn print_hazard(stdout: &mut dyn Write, f: &HazardModelFile) -> std::io::Result<()> {
    print_hazard_labelled(stdout, f, &|g: &str| g.to_owned())
}

/// [`print_hazard`] with groups shown by `label`.
pub(super) fn print_hazard_labelled(
    stdout: &mut dyn Write,
    f: &HazardModelFile,
    label: &dyn Fn(&str) -> String,
) -> std::io::Result<()> {
    writeln!(
        stdout,
        "additive-hazard model by {}: {} journeys ({} converted), log-likelihood {:.3}, {} iterations",
        f.group_by,
        f.journeys["journeys"],
        f.journeys["conversions"],
        f.estimates.log_likelihood,
        f.estimates.iterations
    )?;
    writeln!(
        stdout,
        "  {:<24} {:>10} {:>10} {:>14} {:>10} {:>10}",
        "group", "beta", "± se", "half-life h", "± se", "touches"
    )?;
    let fmt = |x: Option<f64>| x.map_or_else(|| "-".to_owned(), |v| format!("{v:.4}"));
    for g in &f.estimates.groups {
        writeln!(
            stdout,
            "  {:<24} {:>10.5} {:>10} {:>14.2} {:>10} {:>10}{}",
            label(&g.group),
            g.beta,
            fmt(g.beta_se),
            g.half_life_hours,
            fmt(g.half_life_hours_se),
            g.n_touches,
            if g.n_touches == 0 {
                "  (no touches before any conversion: not fitted, no hazard)"
            } else if g.at_bound {
                "  (no effect: at the bound)"
            } else {
                ""
            }
        )?;
    }
    writeln!(
        stdout,
        "  baseline hazard {:.3e} per day (± {})",
        f.estimates.baseline_per_day,
        fmt(f.estimates.baseline_per_day_se)
    )?;
    if let Some(h) = &f.estimates.hierarchy {
        for c in &h.classes {
            writeln!(
                stdout,
                "  {} groups shrunk toward their class `{}`: beta {:.5}, half-life {:.2} h",
                c.n_groups, c.class, c.beta, c.half_life_hours
            )?;
        }
        writeln!(
            stdout,
            "  spread of the creator effects (chosen by {}): sigma of log beta {:.3}, of log half-life {:.3}",
            h.penalty_chosen_by, h.sigma_log_beta, h.sigma_log_half_life
        )?;
    }
    Ok(())
}

/// Prints totals as a table: one row per group, one column per model (conversions).
pub(super) fn print_totals(
    stdout: &mut dyn Write,
    totals: &[GroupTotal],
    models: &[&str],
    top: usize,
) -> std::io::Result<()> {
    print_totals_where(stdout, totals, models, top, |_| true, &|g: &str| g.to_owned())
}

/// [`print_totals`] for the groups `keep` accepts.
pub(super) fn print_totals_where(
    stdout: &mut dyn Write,
    totals: &[GroupTotal],
    models: &[&str],
    top: usize,
    keep: impl Fn(&str) -> bool,
    label: &dyn Fn(&str) -> String,
) -> std::io::Result<()> {
    let mut groups: BTreeMap<&str, BTreeMap<&str, f64>> = BTreeMap::new();
    for t in totals.iter().filter(|t| keep(&t.group)) {
        groups.entry(t.group.as_str()).or_default().insert(t.model, t.conversions);
    }
    let sort_model =
        ["data_driven", "markov"].iter().find(|m| models.contains(m)).or(models.first()).copied().unwrap_or_default();
    let mut order: Vec<(&str, f64)> =
        groups.iter().map(|(g, m)| (*g, m.get(sort_model).copied().unwrap_or(0.0))).collect();
    order.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
    let width = order.iter().take(top).map(|(g, _)| label(g).chars().count()).max().unwrap_or(0).clamp(16, 36);
    write!(stdout, "  {:<width$}", "group")?;
    for m in models {
        write!(stdout, " {m:>15}")?;
    }
    writeln!(stdout)?;
    for (g, _) in order.iter().take(top) {
        write!(stdout, "  {:<width$}", label(g))?;
        for m in models {
            write!(stdout, " {:>15.1}", groups[g].get(m).copied().unwrap_or(0.0))?;
        }
        writeln!(stdout)?;
    }
    if order.len() > top {
        writeln!(stdout, "  … {} more groups in the summary file", order.len() - top)?;
    }
    Ok(())
}
