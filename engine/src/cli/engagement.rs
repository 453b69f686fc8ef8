//! `roicast engagement` and `roicast emv`.

use std::io::Write;

use super::args::{EmvArgs, EngagementArgs, OutputFormat};
use super::{Outcome, Settings};
use crate::jobs::Ctx;
use crate::jobs::engagement::{self, Summary};

/// `roicast engagement`.
pub(super) fn engagement(
    a: &EngagementArgs,
    ctx: &Ctx,
    settings: &Settings,
    stdout: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let c = engagement::Config {
        data: a.data.clone(),
        out: a.out.clone(),
        rate_card: a.rate_card.clone(),
        sentiment_model: a.sentiment_model.clone(),
        competitors: a.competitors.clone(),
        branded_search: a.branded_search.clone(),
        reuse: None,
    };
    let s = engagement::run(ctx, &c)?;
    match settings.format {
        OutputFormat::Json => super::json(stdout, &s)?,
        OutputFormat::Text => print_scorecard(stdout, &s)?,
    }
    Ok(Outcome::Ok)
}

/// Prints the creator scorecard (top accounts by engagement quality, every flagged one).
fn print_scorecard(stdout: &mut dyn Write, s: &Summary) -> std::io::Result<()> {
    writeln!(
        stdout,
        "scored {} posts, {} comments, {} creator accounts; EMV on {} ({})",
        s.posts, s.comments, s.creators, s.rate_card, s.currency
    )?;
    if let Some(p) = &s.partitions {
        writeln!(
            stdout,
            "comments partitions: {} read, {} unchanged since the last run (their digests kept)",
            p.scored.len(),
            p.reused.len()
        )?;
    }
    writeln!(
        stdout,
        "{:<32} {:<6} {:>6} {:>8} {:>9} {:>8} {:>12}  signals fired",
        "creator", "tier", "posts", "quality", "audience", "traffic", "EMV"
    )?;
    let fmt = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |x| format!("{x:.0}"));
    for c in &s.scorecard {
        writeln!(
            stdout,
            "{:<32} {:<6} {:>6} {:>8} {:>9.0} {:>8} {:>12.0}  {}{}",
            super::display_name(c.handle.as_deref(), &c.platform, &c.creator_id),
            c.tier,
            c.posts,
            fmt(c.engagement_quality),
            c.audience_quality,
            fmt(c.traffic_quality),
            c.emv,
            if c.suspected_inflation { "SUSPECTED INFLATION: " } else { "" },
            c.signals_fired.join(", ")
        )?;
    }
    writeln!(stdout, "({} accounts flagged for suspected bought or pod engagement)", s.flagged.len())
}

/// `roicast emv`.
pub(super) fn emv(a: &EmvArgs, ctx: &Ctx, settings: &Settings, stdout: &mut dyn Write) -> anyhow::Result<Outcome> {
    let c = engagement::EmvConfig { data: a.data.clone(), out: a.out.clone(), rate_card: a.rate_card.clone() };
    let s = engagement::run_emv(ctx, &c)?;
    match settings.format {
        OutputFormat::Json => super::json(stdout, &s)?,
        OutputFormat::Text => {
            writeln!(
                stdout,
                "earned media value ({}, {}): {:.0} on authentic engagement ({:.0} before the authenticity discount)",
                s.rate_card, s.currency, s.emv, s.emv_before_authenticity_discount
            )?;
            writeln!(
                stdout,
                "EMV is an equivalent paid-media cost, reported apart from revenue; wrote {}",
                s.file.display()
            )?;
        }
    }
    Ok(Outcome::Ok)
}
