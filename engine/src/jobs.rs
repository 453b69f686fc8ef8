//! The jobs behind each command.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use roicast_data::generate::{GenerateParams, GenerateSummary, Scenario};
use roicast_data::validate::ValidationReport;
use roicast_data::{Dataset, Format, Table};
use serde_json::json;

use crate::args::{DemoArgs, FileFormat, GenerateArgs, OutputFormat, ScenarioArg, SchemaArgs, ValidateArgs};
use crate::cli::{Outcome, Settings};
use crate::manifest::{FileRecord, ManifestBuilder};

fn scenario(s: ScenarioArg) -> Scenario {
    match s {
        ScenarioArg::Demo => Scenario::Demo,
        ScenarioArg::Small => Scenario::Small,
        ScenarioArg::Large => Scenario::Large,
    }
}

fn file_format(f: FileFormat) -> Format {
    match f {
        FileFormat::Parquet => Format::Parquet,
        FileFormat::Csv => Format::Csv,
        FileFormat::Arrow => Format::Ipc,
    }
}

/// Generates a world and writes its manifest; returns the summary.
fn run_generate(
    params: &GenerateParams,
    out: &Path,
    settings: &Settings,
) -> anyhow::Result<(GenerateSummary, crate::manifest::Manifest)> {
    let mut m = ManifestBuilder::start("generate");
    let summary = roicast_data::generate::generate(params, out, &settings.progress)
        .with_context(|| format!("failed to generate the {:?} world into {}", params.scenario, out.display()))?;
    settings.progress.finish();
    m.stage_done("generate");
    let outputs = summary.files.iter().map(|f| FileRecord::of(&out.join(f))).collect::<anyhow::Result<Vec<_>>>()?;
    m.stage_done("hash outputs");
    let rows: BTreeMap<String, u64> = summary.rows.iter().map(|(t, n)| (t.name().to_owned(), *n)).collect();
    let manifest = m.finish(
        json!({
            "scenario": params.scenario,
            "seed": params.seed,
            "file_format": params.format,
            "generator_version": roicast_data::generate::GENERATOR_VERSION,
        }),
        Vec::new(),
        outputs,
        rows,
        "ok",
    );
    manifest.write(out)?;
    Ok((summary, manifest))
}

/// `roicast generate`.
pub fn generate(
    a: &GenerateArgs,
    settings: &Settings,
    stdout: &mut dyn Write,
    _stderr: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let params =
        GenerateParams::new(scenario(a.scenario)).seed(a.seed).format(file_format(a.file_format)).overwrite(a.force);
    let (summary, manifest) = run_generate(&params, &a.out, settings)?;
    let total_rows: u64 = summary.rows.values().sum();
    let seconds = manifest.timings_s.get("generate").copied().unwrap_or_default();
    match settings.format {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(
                &mut *stdout,
                &json!({
                    "out": summary.out,
                    "rows": manifest.rows,
                    "files": summary.files,
                    "seconds": seconds,
                    "rows_per_second": total_rows as f64 / seconds.max(1e-9),
                }),
            )?;
            writeln!(stdout)?;
        }
        OutputFormat::Text => {
            writeln!(
                stdout,
                "generated {:?} world (seed {}) in {}",
                params.scenario,
                params.seed,
                summary.out.display()
            )?;
            for (table, n) in &summary.rows {
                writeln!(stdout, "  {:<18} {:>12} rows", table.name(), n)?;
            }
            writeln!(
                stdout,
                "{total_rows} rows in {seconds:.1} s ({:.0} rows/s); truth in {}",
                total_rows as f64 / seconds.max(1e-9),
                summary.out.join("truth.json").display()
            )?;
        }
    }
    Ok(Outcome::Ok)
}

/// Validates `data`, optionally writing the report and manifest into `out`.
fn run_validate(data: &Path, out: Option<&Path>, settings: &Settings) -> anyhow::Result<ValidationReport> {
    let mut m = ManifestBuilder::start("validate");
    let dataset = Dataset::open(data).with_context(|| format!("failed to open the dataset {}", data.display()))?;
    let report = roicast_data::validate::validate(&dataset, &settings.progress)
        .with_context(|| format!("failed to validate {}", data.display()))?;
    settings.progress.finish();
    m.stage_done("validate");
    if let Some(out) = out {
        std::fs::create_dir_all(out).with_context(|| format!("failed to create {}", out.display()))?;
        let path = out.join("validation.json");
        let bytes = serde_json::to_vec_pretty(&report).expect("report serialises");
        roicast_data::io::write_bytes_atomic(&path, &bytes)
            .with_context(|| format!("failed to write {}", path.display()))?;
        let inputs = report
            .tables
            .iter()
            .flat_map(|t| t.files.iter())
            .map(|f| FileRecord::of(f))
            .collect::<anyhow::Result<Vec<_>>>()?;
        m.stage_done("hash inputs");
        let rows = report.tables.iter().filter(|t| t.present).map(|t| (t.table.name().to_owned(), t.rows)).collect();
        let manifest = m.finish(
            json!({ "data": data }),
            inputs,
            vec![FileRecord::of(&path)?],
            rows,
            if report.ok { "ok" } else { "rejected" },
        );
        manifest.write(out)?;
    }
    Ok(report)
}

fn print_validation(
    report: &ValidationReport,
    limit: usize,
    settings: &Settings,
    stdout: &mut dyn Write,
) -> anyhow::Result<()> {
    if settings.format == OutputFormat::Json {
        serde_json::to_writer_pretty(&mut *stdout, report)?;
        writeln!(stdout)?;
        return Ok(());
    }
    writeln!(stdout, "dataset {}", report.dataset.display())?;
    writeln!(stdout, "  {:<18} {:>12} {:>10}  files", "table", "rows", "rejected")?;
    for t in &report.tables {
        if !t.present {
            writeln!(stdout, "  {:<18} {:>12} {:>10}  (not present)", t.table.name(), "-", "-")?;
            continue;
        }
        let files = if t.files.len() == 1 {
            t.files[0].file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default()
        } else {
            format!("{} partition files", t.files.len())
        };
        writeln!(stdout, "  {:<18} {:>12} {:>10}  {files}", t.table.name(), t.rows, t.rejected_rows + t.file_rejects)?;
    }
    for note in &report.notes {
        writeln!(stdout, "note: {note}")?;
    }
    if !report.ignored.is_empty() && !settings.quiet {
        let names: Vec<String> = report
            .ignored
            .iter()
            .map(|p| p.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default())
            .collect();
        writeln!(stdout, "note: not tables, not read: {}", names.join(", "))?;
    }
    if report.ok {
        writeln!(stdout, "ok: no rejected rows")?;
        return Ok(());
    }
    writeln!(stdout, "rejected:")?;
    let shown = if limit == 0 { report.rejects.len() } else { limit.min(report.rejects.len()) };
    for r in &report.rejects[..shown] {
        writeln!(stdout, "  {r}")?;
    }
    if shown < report.rejects.len() {
        writeln!(
            stdout,
            "  … and {} more (--limit 0 lists all; --format json gives every one)",
            report.rejects.len() - shown
        )?;
    }
    writeln!(stdout, "{} reject(s) in {} row(s) or file(s)", report.rejects.len(), report.n_rejected())?;
    Ok(())
}

/// `roicast validate`.
pub fn validate(
    a: &ValidateArgs,
    settings: &Settings,
    stdout: &mut dyn Write,
    _stderr: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let report = run_validate(&a.data, a.out.as_deref(), settings)?;
    print_validation(&report, a.limit, settings, stdout)?;
    Ok(if report.ok { Outcome::Ok } else { Outcome::Rejected })
}

/// `roicast schema`.
pub fn schema(a: &SchemaArgs, settings: &Settings, stdout: &mut dyn Write) -> anyhow::Result<Outcome> {
    if a.markdown {
        write!(stdout, "{}", roicast_data::schema::markdown())?;
        return Ok(Outcome::Ok);
    }
    let tables: Vec<Table> = match &a.table {
        Some(name) => vec![name.parse::<Table>().map_err(anyhow::Error::msg)?],
        None => Table::ALL.to_vec(),
    };
    if settings.format == OutputFormat::Json {
        let doc: Vec<_> = tables
            .iter()
            .map(|t| {
                let spec = t.spec();
                json!({
                    "table": t.name(),
                    "key": spec.key,
                    "doc": spec.doc,
                    "columns": spec.columns.iter().map(|c| json!({
                        "name": c.name,
                        "type": c.kind.name(),
                        "nullable": c.nullable,
                        "rule": c.rule.describe(),
                        "references": c.references.map(|(t, col)| format!("{}.{}", t.name(), col)),
                        "doc": c.doc,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        serde_json::to_writer_pretty(&mut *stdout, &doc)?;
        writeln!(stdout)?;
        return Ok(Outcome::Ok);
    }
    for t in tables {
        let spec = t.spec();
        writeln!(stdout, "{} (key: {}) — {}", t.name(), spec.key.join(", "), spec.doc)?;
        for c in spec.columns {
            let refs = c.references.map(|(t, col)| format!(" → {}.{}", t.name(), col)).unwrap_or_default();
            writeln!(
                stdout,
                "  {:<24} {:<9}{} {}{}",
                c.name,
                c.kind.name(),
                if c.nullable { "?" } else { " " },
                c.rule.describe(),
                refs
            )?;
        }
    }
    Ok(Outcome::Ok)
}

/// `roicast demo`: generate the demo world, run the whole pipeline on it (`roicast run`
/// with a config written next to it), print where the report is and a short summary.
pub fn demo(
    a: &DemoArgs,
    settings: &Settings,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let data: PathBuf = a.out.join("data");
    let results: PathBuf = a.out.join("results");
    if !settings.quiet {
        writeln!(stderr, "generating the demo world (seed {}) into {} …", a.seed, data.display())?;
    }
    std::fs::create_dir_all(&a.out).with_context(|| format!("failed to create {}", a.out.display()))?;
    let params = GenerateParams::new(Scenario::Demo).seed(a.seed).overwrite(true);
    let (summary, gen_manifest) = run_generate(&params, &data, settings)?;
    // A fresh world: outputs of an earlier demo must not be reused.
    if results.exists() {
        std::fs::remove_dir_all(&results).with_context(|| format!("failed to clear {}", results.display()))?;
    }
    let config_path = a.out.join("roicast.toml");
    roicast_data::io::write_bytes_atomic(&a.out.join("scenarios.csv"), DEMO_SCENARIOS.as_bytes())?;
    roicast_data::io::write_bytes_atomic(&config_path, DEMO_CONFIG.as_bytes())?;
    let config = crate::pipeline::load(&config_path)?;
    let (jobs, manifest) = crate::pipeline::execute(&config, settings, stderr)?;
    if let OutputFormat::Json = settings.format {
        serde_json::to_writer_pretty(
            &mut *stdout,
            &json!({ "data": data, "results": results, "config": config_path, "report": results.join("report.html"),
                     "rows": gen_manifest.rows, "jobs": manifest.jobs, "summary": jobs }),
        )?;
        writeln!(stdout)?;
        return Ok(Outcome::Ok);
    }
    let rows: u64 = summary.rows.values().sum();
    let validation_ok =
        jobs.get("validate").and_then(|v| v.get("ok")).and_then(serde_json::Value::as_bool).unwrap_or(false);
    writeln!(stdout, "roicast demo")?;
    writeln!(
        stdout,
        "  data        {}  ({} tables, {rows} rows, truth.json beside them)",
        data.display(),
        summary.rows.len()
    )?;
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
            "\ncomment sentiment ({} comments): {:.1} % positive, {:.1} % neutral, {:.1} % negative; {} probably not English",
            s["rows"],
            share("positive"),
            share("neutral"),
            share("negative"),
            s["non_english"]
        )?;
    }
    // Creator scorecard (engagement job).
    let cards = crate::report::Frame::read(&results.join("engagement").join("creator_scorecard.parquet"))?;
    let mut order: Vec<usize> = (0..cards.rows).collect();
    order.sort_by(|x, y| {
        cards.n("engagement_quality", *y).unwrap_or(-1.0).total_cmp(&cards.n("engagement_quality", *x).unwrap_or(-1.0))
    });
    writeln!(stdout, "\ncreator scorecard (top 8 by engagement quality, then every flagged account):")?;
    writeln!(
        stdout,
        "  {:<10} {:<10} {:>8} {:>9} {:>8} {:>12}  signals fired",
        "creator", "platform", "quality", "audience", "traffic", "EMV"
    )?;
    let f = |x: Option<f64>| x.map_or_else(|| "-".to_owned(), |v| format!("{v:.0}"));
    for &i in order.iter().take(8).chain(order.iter().skip(8).filter(|&&i| cards.t("suspected_inflation", i) == "true"))
    {
        writeln!(
            stdout,
            "  {:<10} {:<10} {:>8} {:>9} {:>8} {:>12}  {}{}",
            cards.t("creator_id", i),
            cards.t("platform", i),
            f(cards.n("engagement_quality", i)),
            f(cards.n("audience_quality", i)),
            f(cards.n("traffic_quality", i)),
            f(cards.n("emv", i)),
            if cards.t("suspected_inflation", i) == "true" { "SUSPECTED INFLATION: " } else { "" },
            cards.t("signals_fired", i).replace(',', ", ")
        )?;
    }
    // ROI table.
    if let Some(roi) = jobs.get("roi") {
        writeln!(
            stdout,
            "\ncreators ranked by ROI under the {} model ({}):",
            roi["ranked_by"].as_str().unwrap_or(""),
            roi["currency"].as_str().unwrap_or("")
        )?;
        writeln!(
            stdout,
            "  {:<10} {:<10} {:>10} {:>12} {:>8} {:>12}",
            "creator", "platform", "cost", "revenue", "ROI %", "code-tracked"
        )?;
        let model = roi["ranked_by"].as_str().unwrap_or("data_driven");
        for c in roi["creators"].as_array().into_iter().flatten().take(10) {
            let r = &c["roi"][model];
            writeln!(
                stdout,
                "  {:<10} {:<10} {:>10.0} {:>12.0} {:>8} {:>12.0}",
                c["creator_id"].as_str().unwrap_or(""),
                c["platform"].as_str().unwrap_or(""),
                c["cost"].as_f64().unwrap_or(0.0),
                r["revenue"].as_f64().unwrap_or(0.0),
                r["roi"].as_f64().map_or_else(|| "-".to_owned(), |v| format!("{v:.0}")),
                c["code_tracked_revenue"].as_f64().unwrap_or(0.0)
            )?;
        }
    }
    // Forecast under two deals.
    if let Some(fc) = jobs.get("forecast") {
        let rows = fc["rows"].as_array().cloned().unwrap_or_default();
        writeln!(
            stdout,
            "\nforecast for the demo candidates under two deals (flat 1,000 vs 300 + 10 %), budget 10,000:"
        )?;
        writeln!(
            stdout,
            "  {:<10} {:<18} {:>9} {:>9} {:>9} {:>9} {:>9}",
            "candidate", "deal", "rev P50", "cost P50", "ROI P10", "ROI P50", "P(ROI>0)"
        )?;
        let mut sorted = rows.clone();
        sorted.sort_by(|x, y| {
            y["outlook"]["revenue_p50"]
                .as_f64()
                .unwrap_or(0.0)
                .total_cmp(&x["outlook"]["revenue_p50"].as_f64().unwrap_or(0.0))
        });
        let pct = |v: &serde_json::Value| v.as_f64().map_or_else(|| "-".to_owned(), |x| format!("{:.0}%", 100.0 * x));
        for r in sorted.iter().take(10) {
            let o = &r["outlook"];
            writeln!(
                stdout,
                "  {:<10} {:<18} {:>9.0} {:>9.0} {:>9} {:>9} {:>9}{}",
                r["creator_id"].as_str().unwrap_or(""),
                r["scenario"].as_str().unwrap_or(""),
                o["revenue_p50"].as_f64().unwrap_or(0.0),
                o["cost_p50"].as_f64().unwrap_or(0.0),
                pct(&o["roi_p10"]),
                pct(&o["roi_p50"]),
                pct(&o["prob_roi_positive"]),
                if r["selected"].as_bool() == Some(true) { "  in plan" } else { "" }
            )?;
        }
        let best = rows.iter().max_by(|x, y| {
            let score = |r: &serde_json::Value| {
                r["outlook"]["revenue_mean"].as_f64().unwrap_or(0.0) - r["outlook"]["cost_mean"].as_f64().unwrap_or(0.0)
            };
            score(x).total_cmp(&score(y))
        });
        if let Some(b) = best {
            writeln!(
                stdout,
                "best candidate deal by expected profit: {} on {} — revenue P50 {:.0}, ROI P50 {}, P(ROI > 0) {}",
                b["creator_id"].as_str().unwrap_or(""),
                b["scenario"].as_str().unwrap_or(""),
                b["outlook"]["revenue_p50"].as_f64().unwrap_or(0.0),
                pct(&b["outlook"]["roi_p50"]),
                pct(&b["outlook"]["prob_roi_positive"])
            )?;
        }
        if let Some(p) = fc.get("plan").filter(|p| !p.is_null()) {
            writeln!(
                stdout,
                "budget plan: {} deals, expected cost {:.0}, expected revenue {:.0}, portfolio ROI P50 {}, P(ROI > 0) {}",
                p["deals"],
                p["expected_cost"].as_f64().unwrap_or(0.0),
                p["expected_revenue"].as_f64().unwrap_or(0.0),
                pct(&p["roi_p50"]),
                pct(&p["prob_roi_positive"])
            )?;
        }
    }
    writeln!(stdout, "\nopen {} in a browser for the full report", results.join("report.html").display())?;
    Ok(Outcome::Ok)
}

/// The demo's pipeline configuration (written to roicast-demo/roicast.toml).
const DEMO_CONFIG: &str = "# roicast demo pipeline (docs/pipeline.md documents every field)
data = \"data\"
out = \"results\"

[attribution]
lookback = \"30d\"
half_life = \"7d\"

[clv]
model = \"bgnbd\"
horizon = \"12m\"
discount_rate = \"0.1/yr\"

[forecast]
scenarios = \"scenarios.csv\"
budget = 10000.0
";

/// Two deals for the demo candidates.
const DEMO_SCENARIOS: &str = "scenario,flat_fee,commission_rate\nflat_1000,1000,0\nhybrid_300_10pct,300,0.10\n";
