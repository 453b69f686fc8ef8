//! `roicast demo`: generate the demo world, run the whole pipeline on it, print a summary.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context as _;
use roicast_data::generate::Scenario;
use serde_json::json;

use super::args::{DemoArgs, OutputFormat};
use super::{Outcome, Settings};
use crate::jobs::{self, Ctx};
use crate::output::thousands;

/// The demo replaces its own sub-folders (`exports/`, `results/`) in `out`: it runs only in
/// a new or empty folder or in one an earlier demo wrote (its `roicast.toml` is the demo's).
fn refuse_foreign_folder(out: &std::path::Path) -> anyhow::Result<()> {
    let Ok(mut entries) = std::fs::read_dir(out) else { return Ok(()) };
    if entries.next().is_none() {
        return Ok(());
    }
    let ours = std::fs::read(out.join("roicast.toml")).is_ok_and(|b| b == DEMO_CONFIG.as_bytes());
    if !ours {
        anyhow::bail!(
            "{} is not empty and was not written by `roicast demo` (its roicast.toml is missing or not the \
             demo's); the demo replaces sub-folders of --out, so pick a new folder",
            out.display()
        );
    }
    Ok(())
}

/// `roicast demo`: generate the demo world, run the whole pipeline on it (`roicast run`
/// with a config written next to it), print where the report is and a short summary.
pub(super) fn demo(a: &DemoArgs, ctx: &Ctx, settings: &Settings, stdout: &mut dyn Write) -> anyhow::Result<Outcome> {
    let world_dir: PathBuf = a.out.join("world");
    let exports: PathBuf = a.out.join("exports");
    let data: PathBuf = a.out.join("data");
    let results: PathBuf = a.out.join("results");
    ctx.note(&format!("generating the demo world (seed {}) into {} …", a.seed, world_dir.display()));
    refuse_foreign_folder(&a.out)?;
    std::fs::create_dir_all(&a.out).with_context(|| format!("failed to create {}", a.out.display()))?;
    if exports.exists() {
        std::fs::remove_dir_all(&exports).with_context(|| format!("failed to clear {}", exports.display()))?;
    }
    let world = jobs::generate::run(
        ctx,
        &jobs::generate::Config {
            scenario: Scenario::Demo,
            seed: a.seed,
            file_format: roicast_data::Format::Parquet,
            out: world_dir.clone(),
            force: true,
            exports: Some(exports.clone()),
            partitions: None,
            plant_events: false,
            inflation_study: false,
            weekly_season: false,
        },
    )?;
    let imported = import_exports(ctx, &world_dir, &exports, &data)?;
    // A fresh world: outputs of an earlier demo must not be reused.
    if results.exists() {
        std::fs::remove_dir_all(&results).with_context(|| format!("failed to clear {}", results.display()))?;
    }
    let config_path = a.out.join("roicast.toml");
    roicast_data::io::write_bytes_atomic(&a.out.join("scenarios.csv"), DEMO_SCENARIOS.as_bytes())?;
    roicast_data::io::write_bytes_atomic(&config_path, DEMO_CONFIG.as_bytes())?;
    let config = jobs::pipeline::load(&config_path)?;
    let run = jobs::pipeline::run(ctx, &config)?;
    if let OutputFormat::Json = settings.format {
        super::json(
            stdout,
            &json!({ "world": world_dir, "exports": exports, "imported": imported, "data": data, "results": results, "config": config_path, "report": results.join("report.html"),
                     "rows": world.rows, "jobs": run.jobs, "summary": run.summary }),
        )?;
        return Ok(Outcome::Ok);
    }
    let jobs = &run.summary;
    let rows: u64 = world.rows.values().sum();
    let validation_ok =
        jobs.get("validate").and_then(|v| v.get("ok")).and_then(serde_json::Value::as_bool).unwrap_or(false);
    writeln!(stdout, "roicast demo")?;
    writeln!(
        stdout,
        "  world       {}  ({} tables, {rows} rows, truth.json beside them)",
        world_dir.display(),
        world.rows.len()
    )?;
    writeln!(
        stdout,
        "  exports     {}  (Shopify, GA4, Stripe, HubSpot, Instagram, TikTok, YouTube, the tracking plan)",
        exports.display()
    )?;
    writeln!(stdout, "  data        {}  (imported: {})", data.display(), imported.join(", "))?;
    writeln!(
        stdout,
        "  validation  {}",
        if validation_ok { "ok: no rejected rows" } else { "rejected rows: see results/validation" }
    )?;
    writeln!(stdout, "  results     {}  (run manifest: run.manifest.json)", results.display())?;
    writeln!(stdout, "  report      {}", results.join("report.html").display())?;
    writeln!(stdout, "  re-run      roicast run --config {}", config_path.display())?;
    if let Some(s) = jobs.get("sentiment").and_then(|v| v.get("summary")) {
        let share =
            |c: &str| 100.0 * s["by_class"][c].as_f64().unwrap_or(0.0) / s["rows"].as_f64().unwrap_or(1.0).max(1.0);
        writeln!(
            stdout,
            "\ncomment sentiment ({} comments): {:.1} % positive, {:.1} % neutral, {:.1} % negative; {} not English, \
             of which {} in a language the models do not know (unscored)",
            s["rows"],
            share("positive"),
            share("neutral"),
            share("negative"),
            s["non_english"],
            s["unscored"]
        )?;
    }
    // The story first: what the program returned, who paid back, who did not.
    if let Some(roi) = jobs.get("roi") {
        let model = roi["ranked_by"].as_str().unwrap_or("data_driven");
        let creators = roi["creators"].as_array().cloned().unwrap_or_default();
        let cost: f64 = creators.iter().map(|c| c["cost"].as_f64().unwrap_or(0.0)).sum();
        let revenue: f64 = creators.iter().map(|c| c["roi"][model]["revenue"].as_f64().unwrap_or(0.0)).sum();
        let paid_back = creators.iter().filter(|c| c["roi"][model]["roi"].as_f64().is_some_and(|r| r > 0.0)).count();
        let long = crate::jobs::report::Frame::read(&results.join("roi").join("roi.parquet"))?;
        let clv_positive: std::collections::BTreeSet<&str> = (0..long.rows)
            .filter(|&i| {
                long.t("level", i) == "creator"
                    && long.t("model", i) == model
                    && long.t("metric", i) == "clv_roi"
                    && long.n("value", i).is_some_and(|v| v > 0.0)
            })
            .map(|i| long.t("key", i))
            .collect();
        let on_clv = creators
            .iter()
            .filter(|c| {
                !c["roi"][model]["roi"].as_f64().is_some_and(|r| r > 0.0)
                    && clv_positive.contains(c["creator_id"].as_str().unwrap_or(""))
            })
            .count();
        let currency = roi["currency"].as_str().unwrap_or("");
        writeln!(
            stdout,
            "\nthe program under the {model} attribution model ({currency}, full costs): cost {}, attributed revenue {}, ROI {}",
            thousands(cost),
            thousands(revenue),
            if cost > 0.0 { format!("{:+.0} %", (revenue - cost) / cost * 100.0) } else { "-".into() }
        )?;
        writeln!(
            stdout,
            "{paid_back} of {} creators paid back their full cost; {on_clv} more pay back once their customers' 12-month CLV is counted",
            creators.len()
        )?;
        writeln!(stdout, "  {:<32} {:>10} {:>12} {:>8} {:>12}", "creator", "cost", "revenue", "ROI", "code-tracked")?;
        let line = |c: &serde_json::Value| {
            let r = &c["roi"][model];
            format!(
                "  {:<32} {:>10} {:>12} {:>8} {:>12}",
                who(c),
                thousands(c["cost"].as_f64().unwrap_or(0.0)),
                thousands(r["revenue"].as_f64().unwrap_or(0.0)),
                r["roi"].as_f64().map_or_else(|| "-".to_owned(), |v| format!("{v:+.0} %")),
                thousands(c["code_tracked_revenue"].as_f64().unwrap_or(0.0))
            )
        };
        let mut by_profit = creators.clone();
        let profit = |c: &serde_json::Value| {
            c["roi"][model]["revenue"].as_f64().unwrap_or(0.0) - c["cost"].as_f64().unwrap_or(0.0)
        };
        by_profit.sort_by(|x, y| profit(y).total_cmp(&profit(x)));
        writeln!(stdout, "  biggest winners (attributed revenue − cost):")?;
        for c in by_profit.iter().take(5) {
            writeln!(stdout, "{}", line(c))?;
        }
        writeln!(stdout, "  biggest losers:")?;
        for c in by_profit.iter().rev().take(5).collect::<Vec<_>>().into_iter().rev() {
            writeln!(stdout, "{}", line(c))?;
        }
    }
    // Creator scorecard (engagement job).
    let cards = crate::jobs::report::Frame::read(&results.join("engagement").join("creator_scorecard.parquet"))?;
    let mut order: Vec<usize> = (0..cards.rows).collect();
    order.sort_by(|x, y| {
        cards.n("engagement_quality", *y).unwrap_or(-1.0).total_cmp(&cards.n("engagement_quality", *x).unwrap_or(-1.0))
    });
    writeln!(stdout, "\ncreator scorecard (top 8 by engagement quality, then every flagged account):")?;
    writeln!(
        stdout,
        "  {:<32} {:>8} {:>9} {:>8} {:>10}  signals fired",
        "creator", "quality", "audience", "traffic", "EMV"
    )?;
    let f = |x: Option<f64>| x.map_or_else(|| "-".to_owned(), |v| format!("{v:.0}"));
    for &i in order.iter().take(8).chain(order.iter().skip(8).filter(|&&i| cards.t("suspected_inflation", i) == "true"))
    {
        let name = if cards.t("handle", i).is_empty() {
            cards.t("creator_id", i).to_owned()
        } else {
            format!("@{} ({})", cards.t("handle", i), cards.t("platform", i))
        };
        writeln!(
            stdout,
            "  {:<32} {:>8} {:>9} {:>8} {:>10}  {}{}",
            name,
            f(cards.n("engagement_quality", i)),
            f(cards.n("audience_quality", i)),
            f(cards.n("traffic_quality", i)),
            cards.n("emv", i).map_or_else(|| "-".to_owned(), thousands),
            if cards.t("suspected_inflation", i) == "true" { "SUSPECTED INFLATION: " } else { "" },
            cards.t("signals_fired", i).replace(',', ", ")
        )?;
    }
    // Forecast under two deals, by expected profit.
    if let Some(fc) = jobs.get("forecast") {
        let rows = fc["rows"].as_array().cloned().unwrap_or_default();
        writeln!(
            stdout,
            "\nforecast for the demo candidates under two deals (flat 1,000 vs 300 + 10 %), budget 10,000, by expected profit:"
        )?;
        writeln!(
            stdout,
            "  {:<32} {:<18} {:>9} {:>9} {:>9} {:>8} {:>8} {:>8}",
            "candidate", "deal", "profit", "rev P50", "cost P50", "ROI P10", "ROI P50", "P(ROI>0)"
        )?;
        let profit = |r: &serde_json::Value| {
            r["outlook"]["revenue_mean"].as_f64().unwrap_or(0.0) - r["outlook"]["cost_mean"].as_f64().unwrap_or(0.0)
        };
        let mut sorted = rows.clone();
        sorted.sort_by(|x, y| profit(y).total_cmp(&profit(x)));
        let pct = |v: &serde_json::Value| v.as_f64().map_or_else(|| "-".to_owned(), |x| format!("{:.0} %", 100.0 * x));
        for r in sorted.iter().take(10) {
            let o = &r["outlook"];
            writeln!(
                stdout,
                "  {:<32} {:<18} {:>9} {:>9} {:>9} {:>8} {:>8} {:>8}{}",
                who(r),
                r["scenario"].as_str().unwrap_or(""),
                thousands(profit(r)),
                thousands(o["revenue_p50"].as_f64().unwrap_or(0.0)),
                thousands(o["cost_p50"].as_f64().unwrap_or(0.0)),
                pct(&o["roi_p10"]),
                pct(&o["roi_p50"]),
                pct(&o["prob_roi_positive"]),
                if r["selected"].as_bool() == Some(true) { "  in plan" } else { "" }
            )?;
        }
        if let Some(b) = sorted.first() {
            writeln!(
                stdout,
                "best candidate deal by expected profit: {} on {} — revenue P50 {}, ROI P50 {}, P(ROI > 0) {}",
                who(b),
                b["scenario"].as_str().unwrap_or(""),
                thousands(b["outlook"]["revenue_p50"].as_f64().unwrap_or(0.0)),
                pct(&b["outlook"]["roi_p50"]),
                pct(&b["outlook"]["prob_roi_positive"])
            )?;
        }
        if let Some(p) = fc.get("plan").filter(|p| !p.is_null()) {
            writeln!(
                stdout,
                "budget plan: {} deals, expected cost {}, expected revenue {}, portfolio ROI P50 {}, P(ROI > 0) {}",
                p["deals"],
                thousands(p["expected_cost"].as_f64().unwrap_or(0.0)),
                thousands(p["expected_revenue"].as_f64().unwrap_or(0.0)),
                pct(&p["roi_p50"]),
                pct(&p["prob_roi_positive"])
            )?;
        }
    }
    if let Some(a) = jobs.get("alerts") {
        let kinds: Vec<String> = a["by_kind"]
            .as_object()
            .map(|m| m.iter().map(|(k, n)| format!("{n} {}", k.replace('_', " "))).collect())
            .unwrap_or_default();
        writeln!(
            stdout,
            "\nwhat changed: {} alert(s) over the period{} — the report's first section and {} list them",
            a["alerts"],
            if kinds.is_empty() { String::new() } else { format!(" ({})", kinds.join(", ")) },
            results.join("alerts").join("alerts.parquet").display()
        )?;
    }
    writeln!(stdout, "\nopen {} in a browser for the full report", results.join("report.html").display())?;
    Ok(Outcome::Ok)
}

/// `@handle (platform)` of a summary row with `handle`, `platform` and `creator_id`.
fn who(row: &serde_json::Value) -> String {
    super::display_name(
        row["handle"].as_str(),
        row["platform"].as_str().unwrap_or(""),
        row["creator_id"].as_str().unwrap_or(""),
    )
}

/// The demo's pipeline configuration (written to roicast-demo/roicast.toml).
pub const DEMO_CONFIG: &str = "# roicast demo pipeline (docs/pipeline.md documents every field)
# data/ was imported from the vendor exports in exports/ (docs/importers.md).
data = \"data\"
out = \"results\"

[roi]
# Shop exports carry no cost of goods: the brand's gross margin rate values profit and CLV.
margin_rate = 0.58

[attribution]
lookback = \"30d\"
half_life = \"7d\"

[clv]
model = \"bgnbd\"
horizon = \"12mo\"
discount_rate = \"0.1/yr\"

[forecast]
scenarios = \"scenarios.csv\"
budget = 10000.0
";

/// Two deals for the demo candidates.
const DEMO_SCENARIOS: &str = "scenario,flat_fee,commission_rate\nflat_1000,1000,0\nhybrid_300_10pct,300,0.10\n";

/// The salt of the demo's customer ids (a real brand sets its own `ROICAST_ID_SALT`).
const DEMO_SALT: &str = "roicast-demo";

/// Imports the demo's vendor exports into `data` the way a brand would: the Shopify
/// orders with the tracking plan, then GA4, Stripe and HubSpot merged in, then the
/// Instagram, TikTok and YouTube dumps (accounts, posts with their pulls over time,
/// comments), then the brand's own sheets in canonical form (campaigns, costs, history,
/// candidates, and the platforms' impression and view touches).
/// Returns the sources imported, in order.
fn import_exports(
    ctx: &Ctx,
    world: &std::path::Path,
    exports: &std::path::Path,
    data: &std::path::Path,
) -> anyhow::Result<Vec<String>> {
    let dataset = roicast_data::Dataset::open(world)?;
    roicast_data::generate::exports::vendors::platform(&dataset, exports)?;
    let plan = Some(exports.join("plan.csv"));
    let steps: [(&str, PathBuf, Option<PathBuf>, Option<&str>); 8] = [
        ("shopify-orders", exports.join("shopify/orders_export.csv"), plan.clone(), None),
        ("ga4", exports.join("ga4"), plan.clone(), None),
        ("stripe-subscriptions", exports.join("stripe/subscriptions.csv"), None, None),
        ("hubspot-contacts", exports.join("hubspot/contacts.csv"), plan.clone(), Some("-05:00")),
        ("instagram", exports.join("instagram"), plan.clone(), None),
        ("tiktok", exports.join("tiktok"), plan.clone(), Some("-04:00")),
        ("youtube", exports.join("youtube"), plan.clone(), None),
        ("canonical", exports.join("platform"), None, None),
    ];
    let mut done = Vec::new();
    for (k, (source, input, plan, timezone)) in steps.into_iter().enumerate() {
        ctx.note(&format!("importing {source} from {} …", input.display()));
        jobs::import::run(
            ctx,
            &jobs::import::Config {
                source: source.to_owned(),
                input: vec![input],
                out: data.to_owned(),
                timezone: timezone.map(str::to_owned),
                plan,
                mapping: None,
                currency: None,
                merge: k > 0,
                id_key: roicast_data::import::IdKey::Email,
                force: k == 0,
                observed_at: None,
                keep_author_ids: false,
                account: None,
                salt: Some(DEMO_SALT.to_owned()),
            },
        )
        .with_context(|| format!("the demo failed to import its {source} export"))?;
        done.push(source.to_owned());
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_runs_in_a_new_empty_or_own_folder_only() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("demo");
        refuse_foreign_folder(&out).expect("a new folder");
        std::fs::create_dir(&out).unwrap();
        refuse_foreign_folder(&out).expect("an empty folder");
        std::fs::write(out.join("notes.txt"), "mine").unwrap();
        let e = refuse_foreign_folder(&out).unwrap_err();
        assert!(e.to_string().contains("was not written by `roicast demo`"), "{e}");
        std::fs::write(out.join("roicast.toml"), "data = \"elsewhere\"\n").unwrap();
        assert!(refuse_foreign_folder(&out).is_err(), "a config that is not the demo's");
        std::fs::write(out.join("roicast.toml"), DEMO_CONFIG).unwrap();
        refuse_foreign_folder(&out).expect("a folder an earlier demo wrote");
    }
}
