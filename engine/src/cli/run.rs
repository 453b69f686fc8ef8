//! `roicast run` and `roicast report`.

use std::io::Write;

use super::args::{HistoryArgs, OutputFormat, ReportArgs, RunArgs};
use super::{Outcome, Settings};
use crate::jobs::{Ctx, history, pipeline, report};

/// `roicast run --config FILE`.
pub(super) fn run(a: &RunArgs, ctx: &Ctx, settings: &Settings, stdout: &mut dyn Write) -> anyhow::Result<Outcome> {
    let c = pipeline::load(&a.config)?;
    let s = pipeline::run(ctx, &c)?;
    match settings.format {
        OutputFormat::Json => super::json(stdout, &s)?,
        OutputFormat::Text => {
            for name in &s.order {
                let j = &s.jobs[name];
                let peak = j.peak_rss_mib.map(|m| format!("  peak {m:.0} MiB")).unwrap_or_default();
                writeln!(stdout, "  {name:<12} {:<8} {:>6.2} s  {} files{peak}", j.status, j.seconds, j.outputs.len())?;
            }
            writeln!(stdout, "run manifest: {}", s.out.join("run.manifest.json").display())?;
            if let Some(r) = &s.report {
                writeln!(stdout, "report: {}", r.display())?;
            }
        }
    }
    Ok(Outcome::Ok)
}

/// `roicast report`.
pub(super) fn report(
    a: &ReportArgs,
    ctx: &Ctx,
    settings: &Settings,
    stdout: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let s = report::run(ctx, &report::Config { results: a.results.clone(), out: a.out.clone() })?;
    match settings.format {
        OutputFormat::Json => super::json(stdout, &s)?,
        OutputFormat::Text => writeln!(stdout, "wrote {} ({} KB)", s.report.display(), s.bytes / 1024)?,
    }
    Ok(Outcome::Ok)
}

/// `roicast history`.
pub(super) fn history(
    a: &HistoryArgs,
    ctx: &Ctx,
    settings: &Settings,
    stdout: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let c = history::Config {
        results: a.results.clone(),
        data: a.data.clone(),
        model: a.model.clone(),
        out: a.out.clone(),
        append: a.append,
    };
    let s = history::run(ctx, &c)?;
    match settings.format {
        OutputFormat::Json => super::json(stdout, &s)?,
        OutputFormat::Text => {
            writeln!(
                stdout,
                "measured {} campaign × creator rows under the {} model ({} profitable); {} rows in {}",
                s.measured,
                s.model,
                s.profitable,
                s.rows,
                s.out.display()
            )?;
            if a.append {
                writeln!(
                    stdout,
                    "  earlier rows: {} kept, {} replaced, {} identical",
                    s.kept, s.replaced, s.unchanged
                )?;
            }
            for k in s.skipped.iter().take(10) {
                writeln!(
                    stdout,
                    "  not measured: campaign {} × creator {}: {}",
                    k.campaign_id, k.creator_id, k.reason
                )?;
            }
            if s.skipped.len() > 10 {
                writeln!(stdout, "  … {} more not measured (--format json lists all)", s.skipped.len() - 10)?;
            }
        }
    }
    Ok(Outcome::Ok)
}
