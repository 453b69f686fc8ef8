//! `roicast roi`.

use std::io::Write;

use super::args::{OutputFormat, RoiArgs};
use super::{Outcome, Settings};
use crate::jobs::Ctx;
use crate::jobs::roi::{self, Summary};

/// `roicast roi`.
pub(super) fn roi(a: &RoiArgs, ctx: &Ctx, settings: &Settings, stdout: &mut dyn Write) -> anyhow::Result<Outcome> {
    let c = roi::Config {
        data: a.data.clone(),
        results: a.results.clone(),
        out: a.out.clone(),
        margin_rate: a.margin_rate,
        fx: a.fx.clone(),
        base_currency: a.base_currency.clone(),
        paid_only: a.paid_only,
    };
    let s = roi::run(ctx, &c)?;
    match settings.format {
        OutputFormat::Json => super::json(stdout, &s)?,
        OutputFormat::Text => print_table(stdout, &s, 15)?,
    }
    Ok(Outcome::Ok)
}

fn print_table(stdout: &mut dyn Write, s: &Summary, top: usize) -> std::io::Result<()> {
    writeln!(
        stdout,
        "creators ranked by ROI under the {} model ({}; total cost {:.0}):",
        s.ranked_by, s.currency, s.total_cost
    )?;
    writeln!(
        stdout,
        "{:<32} {:>10} {:>12} {:>9} {:>12} {:>12}",
        "creator", "cost", "revenue", "ROI %", "code-tracked", "link-tracked"
    )?;
    for c in s.creators.iter().take(top) {
        let (rev, r) = c.roi.get(&s.ranked_by).map_or((0.0, None), |m| (m.revenue, m.roi));
        writeln!(
            stdout,
            "{:<32} {:>10.0} {rev:>12.0} {:>9} {:>12.0} {:>12.0}",
            super::display_name(c.handle.as_deref(), &c.platform, &c.creator_id),
            c.cost,
            r.map_or_else(|| "-".to_owned(), |v| format!("{v:.0}")),
            c.code_tracked_revenue,
            c.link_tracked_revenue
        )?;
    }
    if s.creators.len() > top {
        writeln!(stdout, "… {} more in roi_summary.csv", s.creators.len() - top)?;
    }
    Ok(())
}
