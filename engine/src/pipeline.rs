//! `roicast run --config roicast.toml`: every job in order over one dataset, into one
//! output folder, reusing a job's outputs when its inputs, its configuration and its
//! upstream jobs are unchanged (keys recorded in `run.manifest.json`).
//!
//! Each job runs through the same command-line entry point as when typed by hand, so a
//! pipeline step and a manual command can never disagree.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use roicast_data::{Dataset, Table};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::args::{OutputFormat, RunArgs};
use crate::cli::{ExitStatus, Outcome, Settings};

fn yes() -> bool {
    true
}

/// The pipeline configuration (`docs/pipeline.md` documents every field).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Dataset folder (relative paths are relative to the config file).
    pub data: PathBuf,
    /// Output folder.
    pub out: PathBuf,
    /// Which jobs run.
    #[serde(default)]
    pub jobs: Jobs,
    /// Attribution settings.
    #[serde(default)]
    pub attribution: AttributionConfig,
    /// CLV settings.
    #[serde(default)]
    pub clv: ClvConfig,
    /// Engagement settings.
    #[serde(default)]
    pub engagement: EngagementConfig,
    /// ROI settings.
    #[serde(default)]
    pub roi: RoiConfig,
    /// Forecast settings.
    #[serde(default)]
    pub forecast: ForecastConfig,
}

/// Job switches (all on by default).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(clippy::struct_excessive_bools)] // one switch per job
pub struct Jobs {
    /// Validate the dataset first (a rejected row stops the run).
    #[serde(default = "yes")]
    pub validate: bool,
    /// Comment sentiment.
    #[serde(default = "yes")]
    pub sentiment: bool,
    /// Engagement, authenticity, traffic, EMV, brand health.
    #[serde(default = "yes")]
    pub engagement: bool,
    /// Attribution (grouped by creator) and the data-driven fit.
    #[serde(default = "yes")]
    pub attribution: bool,
    /// Customer lifetime value per acquiring creator.
    #[serde(default = "yes")]
    pub clv: bool,
    /// ROI with full cost accounting.
    #[serde(default = "yes")]
    pub roi: bool,
    /// Forecast of the candidates.
    #[serde(default = "yes")]
    pub forecast: bool,
    /// The HTML report.
    #[serde(default = "yes")]
    pub report: bool,
}

impl Default for Jobs {
    fn default() -> Self {
        Jobs {
            validate: true,
            sentiment: true,
            engagement: true,
            attribution: true,
            clv: true,
            roi: true,
            forecast: true,
            report: true,
        }
    }
}

/// `[attribution]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AttributionConfig {
    /// Lookback window, e.g. `30d`.
    pub lookback: String,
    /// Half-life of the rule-based time-decay model, e.g. `7d`.
    pub half_life: String,
    /// Models to run (default: all ten).
    pub models: Option<Vec<String>>,
}

impl Default for AttributionConfig {
    fn default() -> Self {
        AttributionConfig { lookback: "30d".into(), half_life: "7d".into(), models: None }
    }
}

/// `[clv]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClvConfig {
    /// bgnbd, pareto-nbd or sbg.
    pub model: String,
    /// Horizon, e.g. `12m`.
    pub horizon: String,
    /// Discount rate, e.g. `0.1/yr`.
    pub discount_rate: String,
}

impl Default for ClvConfig {
    fn default() -> Self {
        ClvConfig { model: "bgnbd".into(), horizon: "12m".into(), discount_rate: "0.1/yr".into() }
    }
}

/// `[engagement]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngagementConfig {
    /// EMV rate card (CSV); default: the embedded card.
    pub rate_card: Option<PathBuf>,
    /// Competitor names for share of voice.
    pub competitors: Vec<String>,
    /// Daily branded-search volume (CSV date,volume).
    pub branded_search: Option<PathBuf>,
}

/// `[roi]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RoiConfig {
    /// Gross margin rate for profit ROI (default: from the orders).
    pub margin_rate: Option<f64>,
    /// Currency table (CSV currency,rate).
    pub fx: Option<PathBuf>,
    /// Base currency with `fx`.
    pub base_currency: Option<String>,
    /// Count only paid costs.
    pub paid_only: bool,
}

/// `[forecast]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ForecastConfig {
    /// Deal scenarios (CSV); default: each candidate's planned deal.
    pub scenarios: Option<PathBuf>,
    /// Budget for the plan.
    pub budget: Option<f64>,
    /// Target ROI for the plan (a fraction), instead of a budget.
    pub target_roi: Option<f64>,
}

impl Default for ForecastConfig {
    fn default() -> Self {
        ForecastConfig { scenarios: None, budget: Some(10_000.0), target_roi: None }
    }
}

/// Reads and checks a config file; every problem is reported before any job runs.
pub fn load(path: &Path) -> anyhow::Result<Config> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("failed to read the config {}", path.display()))?;
    let mut c: Config =
        toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {}", path.display(), e.to_string().trim()))?;
    let base = path.parent().filter(|p| !p.as_os_str().is_empty()).map_or_else(|| PathBuf::from("."), Path::to_owned);
    let fix = |p: &mut PathBuf| {
        if p.is_relative() {
            *p = base.join(&*p);
        }
        // Absolute, so the run manifest (and the report reading it) works from anywhere.
        if let Ok(abs) = std::path::absolute(&*p) {
            *p = abs;
        }
    };
    fix(&mut c.data);
    fix(&mut c.out);
    for p in [&mut c.engagement.rate_card, &mut c.engagement.branded_search, &mut c.roi.fx, &mut c.forecast.scenarios]
        .into_iter()
        .flatten()
    {
        fix(p);
    }
    let at = |key: &str| format!("{}: `{key}`", path.display());
    crate::attribute::parse_duration("lookback", &c.attribution.lookback)
        .with_context(|| at("attribution.lookback"))?;
    crate::attribute::parse_duration("half_life", &c.attribution.half_life)
        .with_context(|| at("attribution.half_life"))?;
    crate::clv::parse_horizon_days(&c.clv.horizon).with_context(|| at("clv.horizon"))?;
    crate::clv::parse_discount(&c.clv.discount_rate).with_context(|| at("clv.discount_rate"))?;
    if !["bgnbd", "pareto-nbd", "sbg"].contains(&c.clv.model.as_str()) {
        bail!("{}: expected bgnbd, pareto-nbd or sbg, found `{}`", at("clv.model"), c.clv.model);
    }
    if c.forecast.budget.is_some() && c.forecast.target_roi.is_some() {
        bail!("{}: set either budget or target_roi, not both", at("forecast"));
    }
    for p in
        [&c.engagement.rate_card, &c.engagement.branded_search, &c.roi.fx, &c.forecast.scenarios].into_iter().flatten()
    {
        if !p.exists() {
            bail!("{}: the file {} does not exist", path.display(), p.display());
        }
    }
    Ok(c)
}

/// One job of a run.
struct Job {
    name: &'static str,
    /// Tables it reads.
    tables: &'static [Table],
    /// Upstream jobs whose outputs it reads.
    after: &'static [&'static str],
    /// Its output folder (or file) under the run's out.
    out: &'static str,
}

const JOBS: &[Job] = &[
    Job { name: "validate", tables: &[], after: &[], out: "validation" },
    Job { name: "sentiment", tables: &[Table::Comments], after: &[], out: "sentiment" },
    Job { name: "engagement", tables: &[Table::Creators, Table::Posts], after: &[], out: "engagement" },
    Job { name: "attribution", tables: &[Table::Touchpoints, Table::Orders], after: &[], out: "attribution" },
    Job { name: "clv", tables: &[Table::Orders, Table::Customers], after: &[], out: "clv" },
    Job {
        name: "roi",
        tables: &[Table::Costs, Table::Orders, Table::Creators],
        after: &["attribution", "clv", "engagement"],
        out: "roi",
    },
    Job { name: "forecast", tables: &[Table::CampaignHistory, Table::Candidates], after: &[], out: "forecast" },
    Job {
        name: "report",
        tables: &[],
        after: &["validate", "sentiment", "engagement", "attribution", "clv", "roi", "forecast"],
        out: "report.html",
    },
];

fn enabled(c: &Config, name: &str) -> bool {
    let j = &c.jobs;
    match name {
        "validate" => j.validate,
        "sentiment" => j.sentiment,
        "engagement" => j.engagement,
        "attribution" => j.attribution,
        "clv" => j.clv,
        "roi" => j.roi,
        "forecast" => j.forecast,
        _ => j.report,
    }
}

fn argv(c: &Config, job: &str, out: &Path) -> Vec<String> {
    let d = c.data.display().to_string();
    let o = out.display().to_string();
    let s = |x: &str| x.to_owned();
    let mut a: Vec<String> = match job {
        "validate" => vec![s("validate"), s("--data"), d, s("--out"), o],
        "sentiment" => vec![s("sentiment"), s("--data"), d, s("--out"), o],
        "engagement" => {
            let mut v = vec![s("engagement"), s("--data"), d, s("--out"), o];
            if let Some(r) = &c.engagement.rate_card {
                v.extend([s("--rate-card"), r.display().to_string()]);
            }
            if !c.engagement.competitors.is_empty() {
                v.extend([s("--competitors"), c.engagement.competitors.join(",")]);
            }
            if let Some(b) = &c.engagement.branded_search {
                v.extend([s("--branded-search"), b.display().to_string()]);
            }
            v
        }
        "attribution" => {
            let mut v = vec![
                s("attribute"),
                s("--data"),
                d,
                s("--out"),
                o,
                s("--group-by"),
                s("creator"),
                s("--lookback"),
                c.attribution.lookback.clone(),
                s("--half-life"),
                c.attribution.half_life.clone(),
            ];
            if let Some(m) = &c.attribution.models {
                v.extend([s("--models"), m.join(",")]);
            }
            v
        }
        "clv" => vec![
            s("clv"),
            s("--data"),
            d,
            s("--out"),
            o,
            s("--model"),
            c.clv.model.clone(),
            s("--horizon"),
            c.clv.horizon.clone(),
            s("--discount-rate"),
            c.clv.discount_rate.clone(),
            s("--by"),
            s("creator"),
        ],
        "roi" => {
            let results = out.parent().expect("job folders are under the run's out").display().to_string();
            let mut v = vec![s("roi"), s("--data"), d, s("--results"), results, s("--out"), o];
            if let Some(m) = c.roi.margin_rate {
                v.extend([s("--margin-rate"), m.to_string()]);
            }
            if let (Some(f), Some(b)) = (&c.roi.fx, &c.roi.base_currency) {
                v.extend([s("--fx"), f.display().to_string(), s("--base-currency"), b.clone()]);
            }
            if c.roi.paid_only {
                v.push(s("--paid-only"));
            }
            v
        }
        "forecast" => vec![s("forecast-step"), d, o],
        "report" => {
            let results = out.parent().expect("the report is under the run's out").display().to_string();
            vec![s("report"), s("--results"), results, s("--out"), o]
        }
        _ => Vec::new(),
    };
    a.extend([s("-q"), s("--format"), s("json")]);
    a
}

/// Runs one CLI command in-process; returns its JSON stdout.
fn call(args: &[String]) -> anyhow::Result<String> {
    let mut out = Vec::new();
    let mut err = Vec::new();
    let argv = std::iter::once(OsString::from("roicast")).chain(args.iter().map(OsString::from));
    let status = crate::cli::run(argv, &mut out, &mut err);
    if status != ExitStatus::Success {
        bail!("`roicast {}` failed: {}", args.join(" "), String::from_utf8_lossy(&err).trim());
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// The forecast step: train on the history, then forecast the candidates.
fn run_forecast(c: &Config, out: &Path) -> anyhow::Result<String> {
    std::fs::create_dir_all(out).with_context(|| format!("failed to create {}", out.display()))?;
    let model = out.join("forecast_model.json");
    let history = c.data.join("campaign_history.parquet");
    let history = if history.exists() { history } else { single_file(&c.data, Table::CampaignHistory)? };
    call(&[
        "train".into(),
        "forecast".into(),
        "--history".into(),
        history.display().to_string(),
        "--out".into(),
        model.display().to_string(),
        "-q".into(),
        "--format".into(),
        "json".into(),
    ])?;
    let mut a = vec![
        "forecast".into(),
        "--model".into(),
        model.display().to_string(),
        "--candidates".into(),
        single_file(&c.data, Table::Candidates)?.display().to_string(),
        "--out".into(),
        out.join("forecast.csv").display().to_string(),
    ];
    if let Some(s) = &c.forecast.scenarios {
        a.extend(["--scenarios".into(), s.display().to_string()]);
    }
    if let Some(b) = c.forecast.budget {
        a.extend(["--budget".into(), b.to_string()]);
    }
    if let Some(t) = c.forecast.target_roi {
        a.extend(["--target-roi".into(), t.to_string()]);
    }
    a.extend(["-q".into(), "--format".into(), "json".into()]);
    call(&a)
}

fn single_file(data: &Path, t: Table) -> anyhow::Result<PathBuf> {
    let ds = Dataset::open(data)?;
    match ds.files(t) {
        Some([one]) => Ok(one.clone()),
        Some(many) => bail!(
            "{}: the {} table has {} partition files; the forecast needs one file",
            data.display(),
            t.name(),
            many.len()
        ),
        None => bail!("{}: no {} table", data.display(), t.name()),
    }
}

/// What the run did with one job.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobRecord {
    /// ran, reused or skipped.
    pub status: String,
    /// Hash of the job's inputs, configuration and upstream keys.
    pub key: String,
    /// Output files (relative to the run's out) with their SHA-256.
    pub outputs: BTreeMap<String, String>,
    /// Seconds spent (0 when reused).
    pub seconds: f64,
}

/// `run.manifest.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunManifest {
    /// The config, as resolved.
    pub config: Option<Config>,
    /// Per job, in order.
    pub jobs: BTreeMap<String, JobRecord>,
    /// Job order.
    pub order: Vec<String>,
}

fn hash_files(root: &Path, rel: &str) -> anyhow::Result<BTreeMap<String, String>> {
    let path = root.join(rel);
    let mut out = BTreeMap::new();
    let mut stack = vec![path];
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            for e in std::fs::read_dir(&p).with_context(|| format!("failed to list {}", p.display()))? {
                stack.push(e?.path());
            }
        } else if p.exists() && !p.to_string_lossy().ends_with(".manifest.json") {
            let rel = p.strip_prefix(root).unwrap_or(&p).display().to_string();
            out.insert(rel, roicast_data::sha256_file(&p)?);
        }
    }
    Ok(out)
}

/// `roicast run`.
pub fn run(
    a: &RunArgs,
    settings: &Settings,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let c = load(&a.config)?;
    let (summary, manifest) = execute(&c, settings, stderr)?;
    match settings.format {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(
                &mut *stdout,
                &serde_json::json!({ "out": c.out, "jobs": manifest.jobs, "summary": summary }),
            )?;
            writeln!(stdout)?;
        }
        OutputFormat::Text => {
            for name in &manifest.order {
                let j = &manifest.jobs[name];
                writeln!(stdout, "  {name:<12} {:<8} {:>6.2} s  {} files", j.status, j.seconds, j.outputs.len())?;
            }
            writeln!(stdout, "run manifest: {}", c.out.join("run.manifest.json").display())?;
            if c.jobs.report {
                writeln!(stdout, "report: {}", c.out.join("report.html").display())?;
            }
        }
    }
    Ok(Outcome::Ok)
}

/// Runs the configured jobs; returns each job's JSON summary and the run manifest.
pub fn execute(
    c: &Config,
    settings: &Settings,
    stderr: &mut dyn Write,
) -> anyhow::Result<(BTreeMap<String, serde_json::Value>, RunManifest)> {
    // Everything that can be checked is checked before the first job.
    let dataset = Dataset::open(&c.data).with_context(|| format!("failed to open the dataset {}", c.data.display()))?;
    for job in JOBS.iter().filter(|j| enabled(c, j.name)) {
        for t in job.tables {
            if !dataset.has(*t) {
                bail!(
                    "{}: the {} job needs the {} table, which the dataset does not have (turn the job off under [jobs] or add the table)",
                    c.data.display(),
                    job.name,
                    t.name()
                );
            }
        }
    }
    std::fs::create_dir_all(&c.out).with_context(|| format!("failed to create {}", c.out.display()))?;
    let previous: RunManifest = std::fs::read(c.out.join("run.manifest.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let mut file_hash: BTreeMap<PathBuf, String> = BTreeMap::new();
    let mut table_hash = |t: Table| -> anyhow::Result<String> {
        let mut h = Sha256::new();
        for f in dataset.files(t).unwrap_or(&[]) {
            if !file_hash.contains_key(f) {
                file_hash.insert(f.clone(), roicast_data::sha256_file(f)?);
            }
            h.update(f.display().to_string().as_bytes());
            h.update(file_hash[f].as_bytes());
        }
        Ok(roicast_data::hex(&h.finalize()))
    };
    let mut manifest = RunManifest { config: Some(c.clone()), ..RunManifest::default() };
    let mut summary = BTreeMap::new();
    for job in JOBS {
        manifest.order.push(job.name.to_owned());
        if !enabled(c, job.name) {
            manifest.jobs.insert(
                job.name.to_owned(),
                JobRecord { status: "skipped".into(), key: String::new(), outputs: BTreeMap::new(), seconds: 0.0 },
            );
            continue;
        }
        let out = c.out.join(job.out);
        let mut h = Sha256::new();
        h.update(job.name.as_bytes());
        h.update(env!("CARGO_PKG_VERSION").as_bytes());
        h.update(serde_json::to_vec(&argv(c, job.name, &out))?);
        if job.name == "forecast" {
            // The forecast step's settings are not on one command line (it runs two).
            h.update(serde_json::to_vec(&c.forecast)?);
        }
        let tables: Vec<Table> =
            if job.tables.is_empty() && job.name == "validate" { Table::ALL.to_vec() } else { job.tables.to_vec() };
        for t in tables.iter().chain(if job.name == "engagement" || job.name == "roi" || job.name == "attribution" {
            Table::ALL
        } else {
            &[]
        }) {
            h.update(table_hash(*t)?.as_bytes());
        }
        for up in job.after {
            if let Some(r) = manifest.jobs.get(*up) {
                h.update(r.key.as_bytes());
            }
        }
        let key = roicast_data::hex(&h.finalize());
        if let Some(prev) = previous.jobs.get(job.name)
            && prev.status != "skipped"
            && prev.key == key
            && !prev.outputs.is_empty()
            && hash_files(&c.out, job.out).ok().as_ref() == Some(&prev.outputs)
        {
            manifest.jobs.insert(
                job.name.to_owned(),
                JobRecord { status: "reused".into(), key, outputs: prev.outputs.clone(), seconds: 0.0 },
            );
            continue;
        }
        if !settings.quiet {
            writeln!(stderr, "running {} …", job.name)?;
        }
        let started = std::time::Instant::now();
        let text = if job.name == "forecast" { run_forecast(c, &out)? } else { call(&argv(c, job.name, &out))? };
        summary.insert(job.name.to_owned(), serde_json::from_str(&text).unwrap_or(serde_json::Value::Null));
        let outputs = hash_files(&c.out, job.out)?;
        manifest.jobs.insert(
            job.name.to_owned(),
            JobRecord { status: "ran".into(), key, outputs, seconds: started.elapsed().as_secs_f64() },
        );
        let json = serde_json::to_vec_pretty(&manifest).expect("manifest serialises");
        roicast_data::io::write_bytes_atomic(&c.out.join("run.manifest.json"), &json)?;
    }
    let json = serde_json::to_vec_pretty(&manifest).expect("manifest serialises");
    roicast_data::io::write_bytes_atomic(&c.out.join("run.manifest.json"), &json)?;
    Ok((summary, manifest))
}
