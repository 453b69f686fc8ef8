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

/// `roicast demo`: generate the demo world, run every job, print where things are.
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
    if !settings.quiet {
        writeln!(stderr, "validating {} …", data.display())?;
    }
    let report = run_validate(&data, Some(&results), settings)?;
    if !report.ok {
        anyhow::bail!(
            "the demo world failed validation ({} rejected); see {}",
            report.n_rejected(),
            results.join("validation.json").display()
        );
    }
    if !settings.quiet {
        writeln!(stderr, "scoring comment sentiment (embedded default model) …")?;
    }
    let sentiment_dir = results.join("sentiment");
    let sentiment_args = crate::args::SentimentArgs {
        input: None,
        output: None,
        data: Some(data.clone()),
        out: Some(sentiment_dir.clone()),
        text_column: "text".into(),
        model: "default".into(),
    };
    let mut sentiment_out = Vec::new();
    let quiet = Settings { format: OutputFormat::Json, quiet: true, progress: crate::progress::Bars::new(false) };
    crate::sentiment::sentiment(&sentiment_args, &quiet, &mut sentiment_out)?;
    let sentiment: serde_json::Value = serde_json::from_slice(&sentiment_out)?;
    if !settings.quiet {
        writeln!(stderr, "scoring engagement quality, authenticity, traffic and EMV …")?;
    }
    let engagement_dir = results.join("engagement");
    let engagement_args = crate::args::EngagementArgs {
        data: data.clone(),
        out: engagement_dir.clone(),
        rate_card: None,
        sentiment_model: "default".into(),
        competitors: Vec::new(),
        branded_search: None,
    };
    let mut engagement_out = Vec::new();
    let text_quiet = Settings { format: settings.format, quiet: true, progress: crate::progress::Bars::new(false) };
    crate::engagement::engagement(&engagement_args, &text_quiet, &mut engagement_out)?;
    let engagement_text = String::from_utf8(engagement_out).expect("roicast writes UTF-8");
    if !settings.quiet {
        writeln!(stderr, "attributing orders to creators under every model …")?;
    }
    let attribution_dir = results.join("attribution");
    let cfg = crate::attribute::AttributionConfig::defaults(roicast_models::attribution::credits::GroupBy::Creator);
    let attribution = crate::attribute::run_dataset(&data, &attribution_dir, &cfg, settings)?;
    settings.progress.finish();
    if !settings.quiet {
        writeln!(stderr, "valuing customers per acquiring creator (BG/NBD + Gamma-Gamma) …")?;
    }
    let clv_dir = results.join("clv");
    let clv_args = crate::args::ClvArgs {
        command: None,
        data: Some(data.clone()),
        out: Some(clv_dir.clone()),
        model: crate::args::ClvJobModel::Bgnbd,
        horizon: "12m".into(),
        discount_rate: "0.1/yr".into(),
        by: crate::args::CohortBy::Creator,
        time_unit: "weeks".into(),
        margin_rate: None,
        observation_end: None,
        min_cohort: 300,
    };
    let mut clv_out = Vec::new();
    let inner = Settings { format: settings.format, quiet: true, progress: crate::progress::Bars::new(false) };
    crate::clv::run(&clv_args, &inner, &mut clv_out)?;
    let clv_text = String::from_utf8(clv_out).expect("roicast writes UTF-8");
    if !settings.quiet {
        writeln!(stderr, "computing ROI with full cost accounting under every attribution model …")?;
    }
    let roi_args = crate::args::RoiArgs {
        data: data.clone(),
        results: results.clone(),
        out: crate::roi::default_out(&results),
        margin_rate: None,
        fx: None,
        base_currency: None,
        paid_only: false,
    };
    let mut roi_out = Vec::new();
    crate::roi::roi(&roi_args, &inner, &mut roi_out)?;
    let roi_text = String::from_utf8(roi_out).expect("roicast writes UTF-8");
    if !settings.quiet {
        writeln!(stderr, "forecasting the demo candidates under two deals …")?;
    }
    let forecast_dir = results.join("forecast");
    std::fs::create_dir_all(&forecast_dir).with_context(|| format!("failed to create {}", forecast_dir.display()))?;
    let model_path = forecast_dir.join("forecast_model.json");
    let train_args = crate::args::TrainForecastArgs {
        history: data.join("campaign_history.parquet"),
        out: model_path.clone(),
        cv: None,
        l2: 1.0,
        folds: 5,
        min_level_rows: 5,
    };
    crate::forecast::train(&train_args, &inner, &mut Vec::new())?;
    let scenarios = forecast_dir.join("scenarios.csv");
    roicast_data::io::write_bytes_atomic(
        &scenarios,
        b"scenario,flat_fee,commission_rate\nflat_1000,1000,0\nhybrid_300_10pct,300,0.10\n",
    )?;
    let forecast_args = crate::args::ForecastArgs {
        model: model_path,
        candidates: data.join("candidates.parquet"),
        scenarios: Some(scenarios),
        budget: Some(10_000.0),
        target_roi: None,
        probability: 0.8,
        out: forecast_dir.join("forecast.csv"),
    };
    let mut forecast_out = Vec::new();
    crate::forecast::run(&forecast_args, &inner, &mut forecast_out)?;
    let forecast_text = String::from_utf8(forecast_out).expect("roicast writes UTF-8");
    let creator_ids: std::collections::HashSet<String> = roicast_data::Dataset::open(&data)?
        .load(Table::Creators)?
        .iter()
        .flat_map(|b| text_column(b, "creator_id"))
        .collect();
    match settings.format {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(
                &mut *stdout,
                &json!({
                    "data": data,
                    "results": results,
                    "rows": gen_manifest.rows,
                    "validation": {
                        "ok": report.ok,
                        "rejected": report.n_rejected(),
                        "report": results.join("validation.json"),
                    },
                    "clv": serde_json::from_str::<serde_json::Value>(&clv_text)?,
                    "sentiment": sentiment,
                    "engagement": serde_json::from_str::<serde_json::Value>(&engagement_text)?,
                    "roi": serde_json::from_str::<serde_json::Value>(&roi_text)?,
                    "forecast": serde_json::from_str::<serde_json::Value>(&forecast_text)?,
                    "attribution": {
                        "out": attribution_dir,
                        "group_by": "creator",
                        "totals": attribution.attribution.totals,
                        "data_driven": attribution.hazard,
                    },
                }),
            )?;
            writeln!(stdout)?;
        }
        OutputFormat::Text => {
            let rows: u64 = summary.rows.values().sum();
            writeln!(stdout, "roicast demo")?;
            writeln!(
                stdout,
                "  data        {}  ({} tables, {rows} rows, truth.json beside them)",
                data.display(),
                summary.rows.len()
            )?;
            writeln!(
                stdout,
                "  validation  {}  ({})",
                results.join("validation.json").display(),
                if report.ok { "ok: no rejected rows".to_owned() } else { format!("{} rejected", report.n_rejected()) }
            )?;
            writeln!(
                stdout,
                "  manifests   {} and {}",
                data.join("generate.manifest.json").display(),
                results.join("validate.manifest.json").display()
            )?;
            writeln!(
                stdout,
                "  attribution {}  (credits.parquet, attribution_summary.csv, data_driven_model.json)",
                attribution_dir.display()
            )?;
            writeln!(stdout, "  sentiment   {}", sentiment["output"].as_str().unwrap_or_default())?;
            writeln!(stdout)?;
            let summary = &sentiment["summary"];
            let share = |c: &str| {
                100.0 * summary["by_class"][c].as_f64().unwrap_or(0.0)
                    / summary["rows"].as_f64().unwrap_or(1.0).max(1.0)
            };
            writeln!(
                stdout,
                "comment sentiment ({} comments, embedded model): {:.1} % positive, {:.1} % neutral, {:.1} % negative; \
                 {} probably not English",
                summary["rows"],
                share("positive"),
                share("neutral"),
                share("negative"),
                summary["non_english"]
            )?;
            writeln!(stdout)?;
            writeln!(stdout, "creator scorecard ({}):", engagement_dir.display())?;
            for line in engagement_text.lines() {
                writeln!(stdout, "  {line}")?;
            }
            writeln!(stdout)?;
            writeln!(stdout, "top creators by conversions credited, under every model:")?;
            let names: Vec<&str> = cfg.models.iter().map(roicast_models::attribution::credits::Model::name).collect();
            crate::attribute::print_totals_where(stdout, &attribution.attribution.totals, &names, 10, |g| {
                creator_ids.contains(g)
            })?;
            writeln!(stdout)?;
            writeln!(stdout, "customer lifetime value per acquiring creator (12 months, 10 %/yr):")?;
            for line in clv_text.lines().skip(1) {
                writeln!(stdout, "{line}")?;
            }
            writeln!(stdout)?;
            writeln!(stdout, "ROI ({}):", crate::roi::default_out(&results).display())?;
            for line in roi_text.lines() {
                writeln!(stdout, "  {line}")?;
            }
            writeln!(stdout)?;
            writeln!(
                stdout,
                "forecast for the demo candidates under a 1,000 flat fee and a 300 + 10 % hybrid, budget 10,000 ({}):",
                forecast_dir.join("forecast.csv").display()
            )?;
            for line in forecast_text.lines() {
                writeln!(stdout, "  {line}")?;
            }
            writeln!(stdout)?;
            writeln!(stdout, "next: roicast attribute --data {} --out DIR --group-by channel", data.display())?;
        }
    }
    Ok(Outcome::Ok)
}

/// The values of a text column of a conformed batch.
fn text_column(b: &arrow_array::RecordBatch, column: &str) -> Vec<String> {
    use arrow_array::Array as _;
    use arrow_array::cast::AsArray as _;
    let Ok(i) = b.schema().index_of(column) else { return Vec::new() };
    let a = b.column(i).as_string::<i32>();
    (0..a.len()).filter(|&r| a.is_valid(r)).map(|r| a.value(r).to_owned()).collect()
}
