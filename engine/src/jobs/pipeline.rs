//! `roicast run --config roicast.toml`: every job in order over one dataset, into one
//! output folder, reusing a job's outputs when its inputs, its configuration and its
//! upstream jobs are unchanged (keys recorded in `run.manifest.json`).
//!
//! Each step calls the same typed job function as the command typed by hand
//! (`jobs::<name>::run`) with a `Config` built from the pipeline's; its reuse key hashes
//! that resolved `Config`, so a pipeline step and a manual command can never disagree.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use roicast_data::duration::Duration;
use roicast_data::{Dataset, Table};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Ctx;
use crate::output::hash_files;

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
    /// The measured campaign history (`history/campaign_history.parquet`): one row per
    /// campaign × creator with its measured cost and attributed revenue.
    #[serde(default = "yes")]
    pub history: bool,
    /// Forecast of the candidates.
    #[serde(default = "yes")]
    pub forecast: bool,
    /// Monitoring alerts (`alerts/alerts.parquet`): engagement spikes and drops,
    /// click-through and conversion drops, sentiment shifts, spend ahead of budget.
    #[serde(default = "yes")]
    pub alerts: bool,
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
            history: true,
            forecast: true,
            alerts: true,
            report: true,
        }
    }
}

/// `[attribution]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AttributionConfig {
    /// Lookback window, e.g. `30d`.
    pub lookback: Duration,
    /// Half-life of the rule-based time-decay model, e.g. `7d`.
    pub half_life: Duration,
    /// Models to run (default: all ten).
    pub models: Option<Vec<String>>,
}

impl Default for AttributionConfig {
    fn default() -> Self {
        AttributionConfig { lookback: Duration::days(30), half_life: Duration::days(7), models: None }
    }
}

/// `[clv]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClvConfig {
    /// bgnbd, pareto-nbd or sbg.
    pub model: super::clv::Model,
    /// Horizon, e.g. `12mo`.
    pub horizon: Duration,
    /// Discount rate, e.g. `0.1/yr`.
    pub discount_rate: String,
    /// Gross margin rate for customers whose orders carry no `gross_margin` (shop exports
    /// have none): required then; default `[roi] margin_rate`.
    pub margin_rate: Option<f64>,
}

impl Default for ClvConfig {
    fn default() -> Self {
        ClvConfig {
            model: super::clv::Model::Bgnbd,
            horizon: "12mo".parse().expect("a valid duration"),
            discount_rate: "0.1/yr".into(),
            margin_rate: None,
        }
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
    /// What the forecast trains on: `both` (the dataset's `campaign_history` and the
    /// history this run measured), `external` (the dataset's only) or `measured` (this
    /// run's only).
    pub train_on: TrainOn,
    /// `auto` (ridge or boosted trees, chosen by time-ordered CV), `ridge` or `boosted`.
    pub learner: String,
}

/// The forecast's training history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrainOn {
    /// The dataset's campaign history and this run's measured one.
    Both,
    /// The dataset's campaign history.
    External,
    /// This run's measured history.
    Measured,
}

impl Default for ForecastConfig {
    fn default() -> Self {
        ForecastConfig {
            scenarios: None,
            budget: Some(10_000.0),
            target_roi: None,
            train_on: TrainOn::Both,
            learner: "auto".into(),
        }
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
    super::clv::parse_discount(&c.clv.discount_rate).with_context(|| at("clv.discount_rate"))?;
    if c.forecast.budget.is_some() && c.forecast.target_roi.is_some() {
        bail!("{}: set either budget or target_roi, not both", at("forecast"));
    }
    if !["auto", "ridge", "boosted"].contains(&c.forecast.learner.as_str()) {
        bail!("{}: expected auto, ridge or boosted, found `{}`", at("forecast.learner"), c.forecast.learner);
    }
    if c.jobs.forecast && c.forecast.train_on == TrainOn::Measured && !c.jobs.history {
        bail!("{}: train_on = \"measured\" needs the history job (turn on [jobs] history)", at("forecast.train_on"));
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
    Job {
        name: "history",
        tables: &[Table::Creators, Table::Posts],
        after: &["engagement", "attribution", "roi"],
        out: "history",
    },
    Job { name: "forecast", tables: &[Table::Candidates], after: &["history"], out: "forecast" },
    // Every table it reads is optional (a series without its table is not judged, and the
    // summary says so); its key hashes them all.
    Job { name: "alerts", tables: &[], after: &["sentiment"], out: "alerts" },
    Job {
        name: "report",
        tables: &[],
        after: &["validate", "sentiment", "engagement", "attribution", "clv", "roi", "history", "forecast", "alerts"],
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
        "history" => j.history,
        "forecast" => j.forecast,
        "alerts" => j.alerts,
        _ => j.report,
    }
}

/// The forecast step: train on the history, then forecast the candidates.
#[derive(Debug, Clone, Serialize)]
struct ForecastStep {
    train: super::forecast::TrainConfig,
    forecast: super::forecast::Config,
}

/// A step's typed job configuration, resolved from the pipeline's.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
enum Step {
    Validate(super::validate::Config),
    Sentiment(super::sentiment::Config),
    Engagement(super::engagement::Config),
    Attribution(super::attribute::Config),
    Clv(super::clv::Config),
    Roi(super::roi::Config),
    History(super::history::Config),
    Forecast(Box<ForecastStep>),
    Alerts(super::alerts::Config),
    Report(super::report::Config),
}

fn step(c: &Config, job: &str, out: &Path) -> anyhow::Result<Step> {
    let results = || out.parent().expect("job outputs are under the run's out").to_owned();
    Ok(match job {
        "validate" => Step::Validate(super::validate::Config { data: c.data.clone(), out: Some(out.to_owned()) }),
        "sentiment" => Step::Sentiment(super::sentiment::Config {
            target: super::sentiment::Target::Dataset { data: c.data.clone(), out: out.to_owned() },
            text_column: "text".into(),
            model: "default".into(),
            // Partitions scored by the previous run are kept (the step runs in a staged
            // folder; the previous outputs are in the final one).
            reuse: Some(c.out.join("sentiment")),
        }),
        "engagement" => Step::Engagement(super::engagement::Config {
            data: c.data.clone(),
            out: out.to_owned(),
            rate_card: c.engagement.rate_card.clone(),
            sentiment_model: "default".into(),
            competitors: c.engagement.competitors.clone(),
            branded_search: c.engagement.branded_search.clone(),
            // Digests of unchanged comment partitions are kept from the previous run.
            reuse: Some(c.out.join("engagement")),
        }),
        "attribution" => Step::Attribution(super::attribute::Config {
            models: c.attribution.models.clone(),
            group_by: roicast_models::attribution::credits::GroupBy::Creator,
            lookback: c.attribution.lookback.clone(),
            half_life: c.attribution.half_life.clone(),
            ..super::attribute::Config::new(c.data.clone(), out.to_owned())
        }),
        "clv" => Step::Clv(super::clv::Config {
            data: c.data.clone(),
            out: out.to_owned(),
            model: c.clv.model,
            horizon: c.clv.horizon.clone(),
            discount_rate: c.clv.discount_rate.clone(),
            by: super::clv::CohortBy::Creator,
            time_unit: "weeks".into(),
            margin_rate: c.clv.margin_rate.or(c.roi.margin_rate),
            observation_end: None,
            min_cohort: 300,
        }),
        "roi" => Step::Roi(super::roi::Config {
            data: c.data.clone(),
            results: results(),
            out: out.to_owned(),
            margin_rate: c.roi.margin_rate,
            fx: c.roi.fx.clone(),
            base_currency: c.roi.base_currency.clone(),
            paid_only: c.roi.paid_only,
        }),
        "history" => Step::History(super::history::Config {
            results: results(),
            data: Some(c.data.clone()),
            model: "data_driven".into(),
            out: out.join("campaign_history.parquet"),
            append: false,
        }),
        "forecast" => {
            let model = out.join("forecast_model.json");
            let mut history = Vec::new();
            if c.forecast.train_on != TrainOn::Measured {
                history.push(single_file(&c.data, Table::CampaignHistory)?);
            }
            if c.forecast.train_on != TrainOn::External && c.jobs.history {
                history.push(results().join("history").join("campaign_history.parquet"));
            }
            Step::Forecast(Box::new(ForecastStep {
                train: super::forecast::TrainConfig {
                    history,
                    learner: c.forecast.learner.clone(),
                    out: model.clone(),
                    cv: None,
                    l2: 1.0,
                    folds: 5,
                    min_level_rows: 5,
                },
                forecast: super::forecast::Config {
                    model,
                    candidates: single_file(&c.data, Table::Candidates)?,
                    scenarios: c.forecast.scenarios.clone(),
                    budget: c.forecast.budget,
                    target_roi: c.forecast.target_roi,
                    probability: 0.8,
                    out: out.join("forecast.csv"),
                },
            }))
        }
        "alerts" => Step::Alerts(super::alerts::Config::new(c.data.clone(), results(), out.join("alerts.parquet"))),
        _ => Step::Report(super::report::Config { results: results(), out: out.to_owned() }),
    })
}

/// Runs one step; returns its summary as JSON.
fn run_step(ctx: &Ctx, s: &Step) -> anyhow::Result<serde_json::Value> {
    Ok(match s {
        Step::Validate(c) => {
            let report = super::validate::run(ctx, c)?;
            if !report.ok {
                return Err(super::validate::rejected(&report, c.out.as_deref()).into());
            }
            serde_json::to_value(report)?
        }
        Step::Sentiment(c) => serde_json::to_value(super::sentiment::run(ctx, c)?)?,
        Step::Engagement(c) => serde_json::to_value(super::engagement::run(ctx, c)?)?,
        Step::Attribution(c) => serde_json::to_value(super::attribute::run(ctx, c)?)?,
        Step::Clv(c) => serde_json::to_value(super::clv::run(ctx, c)?)?,
        Step::Roi(c) => serde_json::to_value(super::roi::run(ctx, c)?)?,
        Step::History(c) => serde_json::to_value(super::history::run(ctx, c)?)?,
        Step::Forecast(f) => {
            std::fs::create_dir_all(crate::output::parent_dir(&f.train.out))?;
            let trained = super::forecast::train(ctx, &f.train)?;
            let mut v = serde_json::to_value(super::forecast::run(ctx, &f.forecast)?)?;
            v["training"] = serde_json::to_value(trained)?;
            v
        }
        Step::Alerts(c) => {
            let mut s = serde_json::to_value(super::alerts::run(ctx, c)?)?;
            // The rows are in the alerts file; the run manifest keeps the counts.
            if let Some(o) = s.as_object_mut() {
                o.remove("rows");
            }
            s
        }
        Step::Report(c) => serde_json::to_value(super::report::run(ctx, c)?)?,
    })
}

/// Runs `job` into a hidden folder beside its output folder and swaps it in when it
/// succeeds ([`roicast_data::io::replace_dir`]): a run killed at any point leaves the
/// job's folder as it was or complete, its manifest included (paths in manifests and in
/// the summary name the final folder). Validation, whose reject list must land in place
/// when it refuses the data, and single-file outputs (the report) are written in place,
/// each file atomically.
fn run_staged(ctx: &Ctx, c: &Config, job: &Job, in_place: &Step) -> anyhow::Result<serde_json::Value> {
    if job.name == "validate" || Path::new(job.out).extension().is_some() {
        return run_step(ctx, in_place);
    }
    let fin = c.out.join(job.out);
    let staged = c.out.join(format!(".{}.partial-{}", job.out, std::process::id()));
    if staged.exists() {
        std::fs::remove_dir_all(&staged).with_context(|| format!("failed to clear {}", staged.display()))?;
    }
    let value = match step(c, job.name, &staged).and_then(|s| run_step(ctx, &s)) {
        Ok(v) => v,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&staged);
            return Err(e);
        }
    };
    // The same path as JSON writes it (quotes and backslashes escaped).
    let json_text = |p: &Path| serde_json::to_string(&p.display().to_string()).map(|q| q[1..q.len() - 1].to_owned());
    let (from, to) = (json_text(&staged)?, json_text(&fin)?);
    if staged.is_dir() {
        for e in std::fs::read_dir(&staged).with_context(|| format!("failed to list {}", staged.display()))? {
            let p = e?.path();
            if p.to_string_lossy().ends_with(".manifest.json") {
                let text = std::fs::read_to_string(&p).with_context(|| format!("failed to read {}", p.display()))?;
                std::fs::write(&p, text.replace(&from, &to))
                    .with_context(|| format!("failed to write {}", p.display()))?;
            }
        }
        roicast_data::io::replace_dir(&staged, &fin)?;
    }
    Ok(serde_json::from_str(&serde_json::to_string(&value)?.replace(&from, &to))?)
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
    /// Hash of the job's resolved configuration, inputs and upstream keys.
    pub key: String,
    /// Output files (relative to the run's out) with their SHA-256.
    pub outputs: BTreeMap<String, String>,
    /// Seconds spent (0 when reused).
    pub seconds: f64,
    /// The process's peak resident memory while the job ran, MiB (Linux: the high-water
    /// mark is reset before each job; absent where that is not possible).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_rss_mib: Option<f64>,
}

/// Resets the process's resident-memory high-water mark (Linux `clear_refs` 5); whether it
/// could.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// The process's resident-memory high-water mark, MiB (Linux `VmHWM`).
#[must_use]
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.trim_start_matches("VmHWM:").trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kb / 1024.0)
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

/// What a run did: each job's record and the summaries of the jobs that ran.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// The output folder.
    pub out: PathBuf,
    /// Per job: ran, reused or skipped, with its key and outputs.
    pub jobs: BTreeMap<String, JobRecord>,
    /// The summaries of the jobs that ran (by job name).
    pub summary: BTreeMap<String, serde_json::Value>,
    /// Job order.
    #[serde(skip)]
    pub order: Vec<String>,
    /// The report, when the report job is on.
    #[serde(skip)]
    pub report: Option<PathBuf>,
}

/// Runs the configured jobs into `c.out`, reusing what is unchanged; writes
/// `run.manifest.json` after every job.
pub fn run(ctx: &Ctx, c: &Config) -> anyhow::Result<Summary> {
    // Everything that can be checked is checked before the first job.
    let dataset = ctx.open_dataset(&c.data)?;
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
    let steps: Vec<Option<Step>> = JOBS
        .iter()
        .map(|j| enabled(c, j.name).then(|| step(c, j.name, &c.out.join(j.out))).transpose())
        .collect::<anyhow::Result<_>>()?;
    std::fs::create_dir_all(&c.out).with_context(|| format!("failed to create {}", c.out.display()))?;
    let _lock = RunLock::acquire(&c.out)?;
    // Folders that runs killed before they could swap them in.
    crate::output::remove_dead_partials(&c.out, ".");
    let previous: RunManifest = std::fs::read(c.out.join("run.manifest.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let mut file_hash: BTreeMap<PathBuf, String> = BTreeMap::new();
    let mut table_hash = |t: Table| -> anyhow::Result<String> {
        let mut h = Sha256::new();
        for f in dataset.files(t).unwrap_or(&[]) {
            if !file_hash.contains_key(f) {
                file_hash.insert(f.clone(), dataset.sha256(f)?);
            }
            h.update(f.display().to_string().as_bytes());
            h.update(file_hash[f].as_bytes());
        }
        Ok(roicast_data::hex(&h.finalize()))
    };
    let mut manifest = RunManifest { config: Some(c.clone()), ..RunManifest::default() };
    let mut summary = BTreeMap::new();
    for (job, step) in JOBS.iter().zip(&steps) {
        manifest.order.push(job.name.to_owned());
        let Some(step) = step else {
            manifest.jobs.insert(
                job.name.to_owned(),
                JobRecord {
                    status: "skipped".into(),
                    key: String::new(),
                    outputs: BTreeMap::new(),
                    seconds: 0.0,
                    peak_rss_mib: None,
                },
            );
            continue;
        };
        let mut h = Sha256::new();
        h.update(job.name.as_bytes());
        h.update(env!("CARGO_PKG_VERSION").as_bytes());
        h.update(serde_json::to_vec(step)?);
        let mut tables: Vec<Table> =
            if job.tables.is_empty() && job.name == "validate" { Table::ALL.to_vec() } else { job.tables.to_vec() };
        if job.name == "forecast" && dataset.has(Table::CampaignHistory) {
            // Read when the forecast trains on the external history (the step's config
            // names the file; its content must key the step too).
            tables.push(Table::CampaignHistory);
        }
        for t in tables.iter().chain(if matches!(job.name, "engagement" | "roi" | "attribution" | "alerts") {
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
                JobRecord {
                    status: "reused".into(),
                    key,
                    outputs: prev.outputs.clone(),
                    seconds: 0.0,
                    peak_rss_mib: None,
                },
            );
            continue;
        }
        ctx.note(&format!("running {} …", job.name));
        let started = std::time::Instant::now();
        let measured = reset_peak_rss();
        let value =
            run_staged(ctx, c, job, step).with_context(|| format!("the {} step of the run failed", job.name))?;
        summary.insert(job.name.to_owned(), value);
        let outputs = hash_files(&c.out, job.out)?;
        manifest.jobs.insert(
            job.name.to_owned(),
            JobRecord {
                status: "ran".into(),
                key,
                outputs,
                seconds: started.elapsed().as_secs_f64(),
                peak_rss_mib: if measured { peak_rss_mib() } else { None },
            },
        );
        let json = serde_json::to_vec_pretty(&manifest).expect("manifest serialises");
        roicast_data::io::write_bytes_atomic(&c.out.join("run.manifest.json"), &json)?;
    }
    let json = serde_json::to_vec_pretty(&manifest).expect("manifest serialises");
    roicast_data::io::write_bytes_atomic(&c.out.join("run.manifest.json"), &json)?;
    Ok(Summary {
        out: c.out.clone(),
        jobs: manifest.jobs,
        summary,
        order: manifest.order,
        report: c.jobs.report.then(|| c.out.join("report.html")),
    })
}

/// `OUT/.roicast.lock`, locked (an OS file lock, released when the process ends however
/// it ends) while a run writes into OUT: a second run on the same folder refuses instead
/// of interleaving its jobs with the first's.
struct RunLock {
    file: std::fs::File,
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // Who held it is of interest only while it is held: a finished run leaves the
        // file empty (a killed one leaves its line, which the next run overwrites).
        let _ = self.file.set_len(0);
    }
}

impl RunLock {
    /// The lock file's name inside the output folder.
    const FILE: &'static str = ".roicast.lock";

    fn acquire(out: &Path) -> anyhow::Result<RunLock> {
        use std::io::Write as _;
        let path = out.join(Self::FILE);
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .with_context(|| format!("failed to open the lock file {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let holder = std::fs::read_to_string(&path).unwrap_or_default();
                let holder = if holder.trim().is_empty() { String::new() } else { format!(" ({})", holder.trim()) };
                bail!(
                    "{}: another `roicast run` is writing to this folder{holder}; wait for it to finish or use another `out`",
                    out.display()
                );
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("failed to lock {}", path.display()));
            }
        }
        let stamp = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        file.set_len(0)?;
        write!(file, "pid {}, started {stamp}", std::process::id())?;
        Ok(RunLock { file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_run_on_the_same_folder_is_refused_while_the_first_holds_it() {
        let dir = tempfile::tempdir().unwrap();
        let first = RunLock::acquire(dir.path()).unwrap();
        let e = RunLock::acquire(dir.path()).err().expect("the folder is locked");
        let msg = format!("{e:#}");
        assert!(msg.contains("another `roicast run` is writing to this folder (pid "), "{msg}");
        drop(first);
        RunLock::acquire(dir.path()).expect("released with its holder");
    }

    fn config(dir: &Path, body: &str) -> anyhow::Result<Config> {
        let p = dir.join("roicast.toml");
        std::fs::write(&p, body).unwrap();
        load(&p)
    }

    fn key(c: &Config, job: &str) -> String {
        serde_json::to_string(&step(c, job, &c.out.join(job)).unwrap()).unwrap()
    }

    #[test]
    fn a_step_config_changes_only_with_its_own_settings() {
        let dir = tempfile::tempdir().unwrap();
        let a = config(dir.path(), "data = \"d\"\nout = \"o\"\n").unwrap();
        let b = config(dir.path(), "data = \"d\"\nout = \"o\"\n[attribution]\nlookback = \"P2W\"\n").unwrap();
        assert_ne!(key(&a, "attribution"), key(&b, "attribution"));
        assert_eq!(key(&a, "clv"), key(&b, "clv"));
        assert_eq!(key(&a, "engagement"), key(&b, "engagement"));
        assert!(key(&b, "attribution").contains("\"lookback\":\"P2W\""), "{}", key(&b, "attribution"));
    }

    #[test]
    fn paths_are_made_absolute_next_to_the_config() {
        let dir = tempfile::tempdir().unwrap();
        let c = config(dir.path(), "data = \"d\"\nout = \"o\"\n").unwrap();
        assert!(c.data.is_absolute() && c.data.ends_with("d"));
        assert!(c.out.starts_with(std::path::absolute(dir.path()).unwrap()));
    }

    #[test]
    fn bad_configs_name_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let e = config(dir.path(), "data = \"d\"\nout = \"o\"\n[clv]\nhorizon = \"12m\"\n").unwrap_err();
        assert!(format!("{e:#}").contains("`12mo` for 12 months"), "{e:#}");
        let e =
            config(dir.path(), "data = \"d\"\nout = \"o\"\n[forecast]\nbudget = 1.0\ntarget_roi = 0.2\n").unwrap_err();
        assert!(format!("{e:#}").contains("either budget or target_roi"), "{e:#}");
        let e = config(dir.path(), "data = \"d\"\nout = \"o\"\n[clv]\ndiscount_rate = \"10%\"\n").unwrap_err();
        assert!(format!("{e:#}").contains("clv.discount_rate"), "{e:#}");
    }
}
