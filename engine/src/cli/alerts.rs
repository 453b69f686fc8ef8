//! `roicast alerts`.

use std::io::Write;

use super::args::{AlertMethodArg, AlertsArgs, OutputFormat};
use super::{Outcome, Settings};
use crate::jobs::Ctx;
use crate::jobs::alerts::{self, Method};

/// `roicast alerts`: exit 0 with or without alerts.
pub(super) fn alerts(
    a: &AlertsArgs,
    ctx: &Ctx,
    settings: &Settings,
    stdout: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let c = alerts::Config {
        since: a.since.clone(),
        as_of: a.as_of.clone(),
        method: match a.method {
            AlertMethodArg::Robust => Method::Robust,
            AlertMethodArg::Naive => Method::Naive,
        },
        budget_tolerance: a.budget_tolerance,
        weekday_prior: a.weekday_prior.map_or_else(alerts::default_weekday_prior, |w| w.0),
        ..alerts::Config::new(a.data.clone(), a.results.clone(), a.out.clone())
    };
    let s = alerts::run(ctx, &c)?;
    for n in &s.notes {
        ctx.note(&format!("note: {n}"));
    }
    match settings.format {
        OutputFormat::Json => super::json(stdout, &s)?,
        OutputFormat::Text => {
            let kinds: Vec<String> = s.by_kind.iter().map(|(k, n)| format!("{n} {k}")).collect();
            writeln!(
                stdout,
                "{} alert(s) as of {}{}",
                s.alerts,
                s.as_of,
                if kinds.is_empty() { String::new() } else { format!(": {}", kinds.join(", ")) }
            )?;
            for r in s.rows.iter().rev().take(20) {
                writeln!(stdout, "  {} {:<17} {:<7} {}", &r.window_start[..10], r.kind, r.severity, r.explanation)?;
            }
            if s.alerts > 20 {
                writeln!(stdout, "  … {} earlier alert(s) in {}", s.alerts - 20, s.out.display())?;
            }
            let short: usize = s.series_too_short.values().sum();
            let checked: usize = s.series_checked.values().sum();
            writeln!(
                stdout,
                "{checked} series judged, {short} with too little history or volume (listed in the coverage file); alerts in {} and {}",
                s.out.display(),
                s.jsonl.display()
            )?;
        }
    }
    Ok(Outcome::Ok)
}
