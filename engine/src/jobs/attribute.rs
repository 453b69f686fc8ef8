//! Attribution: credit every order's touches under every model ([`run`], dataset mode),
//! attribute a `ChannelAttribution` path table ([`run_paths`]), or fit the data-driven
//! model ([`train`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, bail};
use arrow_schema::{DataType, Field, Schema};
use roicast_data::builder::RowBuilder;
use roicast_data::io::TableWriter;
use roicast_data::journeys::{JourneyParams, Journeys, NONE, NONE8};
use roicast_data::schema::{CHANNELS, PLATFORMS};
use roicast_data::validate::Progress as _;
use roicast_models::attribution::credits::{
    Attribution, BASELINE, BASELINE_TOUCH, GroupBy, GroupTotal, Grouping, Model, NO_TOUCH, credit_orders, grouping,
};
use roicast_models::attribution::markov::{PathCounts, removal_effects};
use roicast_models::attribution::shapley::{MAX_GROUPS, shapley_values};
use roicast_models::attribution::{Rule, Touch};
use serde_json::json;

use roicast_data::duration::Duration;
use serde::{Deserialize, Serialize};

use super::Ctx;
use crate::output::{FileRecord, ManifestBuilder, Staging};
use roicast_models::attribution::hazard::{
    HAZARD_FILE_FORMAT, HazardData, HazardDataStats, HazardModelFile, hazard_data,
};
use roicast_training::hazard::AdditiveHazardParams;
use roicast_training::hierarchical::Hierarchy;

/// The tables journeys are built from (what an attribution run reads).
const JOURNEY_TABLES: [roicast_data::Table; 4] = [
    roicast_data::Table::Touchpoints,
    roicast_data::Table::Orders,
    roicast_data::Table::Sessions,
    roicast_data::Table::TrackingAssets,
];

/// Every model, in output order.
pub const ALL_MODELS: &[&str] = &[
    "first_touch",
    "last_touch",
    "last_non_direct",
    "linear",
    "linear_distinct",
    "time_decay",
    "u_shaped",
    "markov",
    "shapley",
    "data_driven",
];

/// Validated attribution settings (the second stage after the raw flags).
#[derive(Debug, Clone)]
pub struct AttributionConfig {
    /// Models in output order.
    pub models: Vec<Model>,
    /// Grouping of totals.
    pub group_by: GroupBy,
    /// Journey parameters.
    pub journeys: JourneyParams,
    /// Path mode only: also report `ChannelAttribution`'s global Markov normalisation.
    pub markov_global: bool,
    /// Markov chain order.
    pub markov_order: usize,
    /// A saved data-driven model to credit with (else it is fitted).
    pub model_file: Option<PathBuf>,
    /// Where to write the journeys as a path table, if anywhere.
    pub paths_out: Option<PathBuf>,
}

pub(crate) fn group_by_name(g: GroupBy) -> String {
    serde_json::to_value(g).expect("serialises").as_str().unwrap_or_default().to_owned()
}

impl AttributionConfig {
    /// Checks the options of a dataset-mode ([`Config`]) or path-mode ([`PathsConfig`])
    /// run (`path_mode`) before anything is read.
    #[allow(clippy::too_many_arguments)] // one argument per option, from two configs
    fn resolve(
        models: Option<&Vec<String>>,
        path_mode: bool,
        half_life: &Duration,
        lookback: &Duration,
        u_shaped: [f64; 2],
        markov_order: usize,
        group_by: GroupBy,
        journeys: JourneyParams,
    ) -> anyhow::Result<AttributionConfig> {
        let half_life_us = half_life.as_micros();
        let (first, last) = check_u_shape(u_shaped)?;
        if markov_order == 0 || markov_order > roicast_models::attribution::markov::MAX_ORDER {
            bail!(
                "invalid `--markov-order` = {}: expected 1 to {}",
                markov_order,
                roicast_models::attribution::markov::MAX_ORDER
            );
        }
        let journeys = JourneyParams { lookback_us: lookback.as_micros(), ..journeys };
        let names: Vec<String> = match models {
            Some(list) => list.iter().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect(),
            // Path tables have no timestamps: their default is every model that needs none.
            None => ALL_MODELS
                .iter()
                .filter(|m| !path_mode || !matches!(**m, "time_decay" | "data_driven"))
                .map(|s| (*s).to_owned())
                .collect(),
        };
        if names.is_empty() {
            bail!("invalid `--models`: the list is empty (models: {})", ALL_MODELS.join(", "));
        }
        let mut models = Vec::new();
        let mut markov_global = false;
        for n in &names {
            let m = match n.as_str() {
                "markov_global" if path_mode => {
                    markov_global = true;
                    continue;
                }
                "markov_global" => bail!(
                    "model `markov_global` (ChannelAttribution's normalisation of removal effects over all \
                     conversions) gives no per-order credits; it exists in path mode (--paths) only — use `markov`"
                ),
                "first_touch" => Model::Rule(Rule::FirstTouch),
                "last_touch" => Model::Rule(Rule::LastTouch),
                "last_non_direct" => Model::Rule(Rule::LastNonDirect),
                "linear" => Model::Rule(Rule::Linear),
                "linear_distinct" => Model::Rule(Rule::LinearDistinct),
                "time_decay" => Model::Rule(Rule::TimeDecay { half_life_us }),
                "u_shaped" => Model::Rule(Rule::UShaped { first, last }),
                "markov" => Model::Markov(markov_order),
                "shapley" => Model::Shapley,
                "data_driven" if path_mode => {
                    bail!("model `data_driven` needs touch timestamps, which a path table does not have; use --data")
                }
                "data_driven" => Model::DataDriven,
                other => bail!("unknown model `{other}`: expected one of {}", ALL_MODELS.join(", ")),
            };
            if models.contains(&m) {
                bail!("model `{n}` is listed twice in --models");
            }
            models.push(m);
        }
        Ok(AttributionConfig {
            models,
            group_by,
            journeys,
            markov_global,
            markov_order,
            model_file: None,
            paths_out: None,
        })
    }
}

impl AttributionConfig {
    /// Every model with default parameters, grouped by `group_by`.
    #[must_use]
    pub fn defaults(group_by: GroupBy) -> AttributionConfig {
        let day = 86_400_000_000;
        AttributionConfig {
            models: vec![
                Model::Rule(Rule::FirstTouch),
                Model::Rule(Rule::LastTouch),
                Model::Rule(Rule::LastNonDirect),
                Model::Rule(Rule::Linear),
                Model::Rule(Rule::LinearDistinct),
                Model::Rule(Rule::TimeDecay { half_life_us: 7 * day }),
                Model::Rule(Rule::UShaped { first: 0.4, last: 0.4 }),
                Model::Markov(1),
                Model::Shapley,
                Model::DataDriven,
            ],
            group_by,
            journeys: JourneyParams::default(),
            markov_global: false,
            markov_order: 1,
            model_file: None,
            paths_out: None,
        }
    }
}

fn check_u_shape([first, last]: [f64; 2]) -> anyhow::Result<(f64, f64)> {
    let bad = || {
        anyhow::anyhow!(
            "invalid `--u-shaped` = {first},{last}: expected FIRST,LAST shares in [0, 1] summing to at most 1, e.g. 0.4,0.4"
        )
    };
    if !(first.is_finite() && last.is_finite() && first >= 0.0 && last >= 0.0 && first + last <= 1.0 + 1e-12) {
        return Err(bad());
    }
    Ok((first, last))
}

/// The columns of `credits.parquet`, in order.
#[must_use]
pub fn credits_schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("order_id", DataType::Utf8, false),
        Field::new("touch_id", DataType::Utf8, true),
        Field::new("model", DataType::Utf8, false),
        Field::new("credit", DataType::Float64, false),
        Field::new("revenue", DataType::Float64, false),
        Field::new("group", DataType::Utf8, false),
        Field::new("channel", DataType::Utf8, true),
        Field::new("creator_id", DataType::Utf8, true),
        Field::new("campaign_id", DataType::Utf8, true),
        Field::new("platform", DataType::Utf8, true),
    ]))
}

/// What a dataset-mode run produced.
#[derive(Debug)]
pub struct AttributionRun {
    /// Totals per model and group.
    pub attribution: Attribution,
    /// Files written.
    pub outputs: Vec<PathBuf>,
    /// Journey statistics.
    pub journeys: roicast_data::journeys::JourneyStats,
    /// Credit rows written.
    pub credit_rows: u64,
    /// The data-driven model used, when it ran.
    pub hazard: Option<HazardModelFile>,
}

/// Writes journeys as a `ChannelAttribution` path table (CSV or Parquet by extension).
pub(crate) fn write_path_table(path: &Path, paths: &[PathCounts], names: &[String]) -> anyhow::Result<()> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("path", DataType::Utf8, false),
        Field::new("total_conversions", DataType::Float64, false),
        Field::new("total_conversion_value", DataType::Float64, false),
        Field::new("total_null", DataType::Float64, false),
    ]));
    let mut b = RowBuilder::new(schema.clone());
    let mut text = String::new();
    for p in paths {
        text.clear();
        for (i, g) in p.path.iter().enumerate() {
            if i > 0 {
                text.push_str(" > ");
            }
            text.push_str(&names[*g as usize]);
        }
        b.text(&text).float(p.conversions).float(p.value).float(p.nulls).end_row();
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("failed to create {}", parent.display()))?;
    }
    roicast_data::io::write_table(path, &schema, &[b.finish()])
        .with_context(|| format!("failed to write {}", path.display()))?;
    Ok(())
}

/// Writes the hazard fit's journeys, one row per touch.
fn write_hazard_journeys(
    path: &Path,
    data: &roicast_models::attribution::hazard::HazardData,
    names: &[String],
) -> anyhow::Result<()> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("journey", DataType::Int64, false),
        Field::new("start_days", DataType::Float64, false),
        Field::new("end_days", DataType::Float64, false),
        Field::new("converted", DataType::Boolean, false),
        Field::new("touch_days", DataType::Float64, false),
        Field::new("group", DataType::Utf8, false),
    ]));
    let mut w = TableWriter::create(path, &schema).with_context(|| format!("failed to write {}", path.display()))?;
    let mut b = RowBuilder::new(schema.clone());
    for i in 0..data.len() {
        for j in data.offsets[i]..data.offsets[i + 1] {
            b.int(i as i64)
                .float(data.start[i])
                .float(data.end[i])
                .bool(data.converted[i])
                .float(data.touch_time[j])
                .text(&names[data.touch_group[j] as usize])
                .end_row();
        }
        if b.len() >= 65_536 {
            w.write(&b.finish())?;
        }
    }
    if !b.is_empty() {
        w.write(&b.finish())?;
    }
    w.finish()?;
    Ok(())
}

/// SHA-256 of the fit's journeys: the group names, then per journey its start, end and
/// outcome and its touches' times and groups, as little-endian bytes. It names the data
/// the model was fitted on rather than the files that held it: the same rows split into
/// other files or user buckets give the same fingerprint.
pub(crate) fn fit_fingerprint(data: &HazardData, names: &[String]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for n in names {
        h.update((n.len() as u64).to_le_bytes());
        h.update(n.as_bytes());
    }
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 16);
    let flush = |buf: &mut Vec<u8>, h: &mut Sha256| {
        h.update(buf.as_slice());
        buf.clear();
    };
    for i in 0..data.len() {
        buf.extend_from_slice(&data.start[i].to_le_bytes());
        buf.extend_from_slice(&data.end[i].to_le_bytes());
        buf.push(u8::from(data.converted[i]));
        let (s, e) = (data.offsets[i], data.offsets[i + 1]);
        buf.extend_from_slice(&((e - s) as u64).to_le_bytes());
        for t in s..e {
            buf.extend_from_slice(&data.touch_time[t].to_le_bytes());
            buf.extend_from_slice(&data.touch_group[t].to_le_bytes());
        }
        if buf.len() >= 1 << 16 {
            flush(&mut buf, &mut h);
        }
    }
    flush(&mut buf, &mut h);
    format!("sha256:{}", roicast_data::hex(&h.finalize()))
}

/// Seconds spent in the stages of a fit.
#[derive(Debug, Clone, Copy)]
pub struct FitTimings {
    /// Building the fit's journeys.
    pub prepare_s: f64,
    /// The solver.
    pub solve_s: f64,
    /// Hashing the fit's journeys for the fingerprint.
    pub fingerprint_s: f64,
}

/// Fits the data-driven model on `journeys` grouped by `g`.
pub fn fit_hazard(
    journeys: &Journeys,
    g: &Grouping,
    by: GroupBy,
    jp: &JourneyParams,
    params: &AdditiveHazardParams,
) -> anyhow::Result<(HazardModelFile, FitTimings)> {
    let t0 = std::time::Instant::now();
    let (data, stats, _) = hazard_data(journeys, g);
    let prepare_s = t0.elapsed().as_secs_f64();
    let (file, mut timings) = fit_hazard_data(&data, stats, &g.names, by, jp, params, journeys.observation_end_us)?;
    timings.prepare_s = prepare_s;
    Ok((file, timings))
}

/// Fits the data-driven model on prepared journeys (`names` are `data`'s groups).
pub(crate) fn fit_hazard_data(
    data: &HazardData,
    stats: HazardDataStats,
    names: &[String],
    by: GroupBy,
    jp: &JourneyParams,
    params: &AdditiveHazardParams,
    observation_end_us: i64,
) -> anyhow::Result<(HazardModelFile, FitTimings)> {
    let t1 = std::time::Instant::now();
    let fit = match hazard_hierarchy(by, names) {
        Some(h) => params.fit_hierarchical(data, names, &h),
        None => params.fit(data, names),
    }
    .context("the data-driven (additive-hazard) fit failed")?;
    let t2 = std::time::Instant::now();
    let fingerprint = fit_fingerprint(data, names);
    let t3 = std::time::Instant::now();
    let timings =
        FitTimings { prepare_s: 0.0, solve_s: (t2 - t1).as_secs_f64(), fingerprint_s: (t3 - t2).as_secs_f64() };
    let file = hazard_model_file(fit, by, jp, params, observation_end_us, serde_json::to_value(stats)?, fingerprint);
    Ok((file, timings))
}

/// The hierarchy of a fit grouped by creator: every creator is shrunk toward the creator
/// channel (one class); the groups of touches without a creator (named by their channel)
/// are fitted freely. `None` for other groupings, or when no group is a creator.
pub(crate) fn hazard_hierarchy(by: GroupBy, names: &[String]) -> Option<Hierarchy> {
    if by != GroupBy::Creator {
        return None;
    }
    let parent: Vec<Option<u32>> =
        names.iter().map(|n| (!roicast_data::schema::CHANNELS.contains(&n.as_str())).then_some(0)).collect();
    parent.iter().any(Option::is_some).then(|| Hierarchy { classes: vec!["creator".to_owned()], parent })
}

/// The saved form of a data-driven fit (a single-process or a partitioned one).
pub(crate) fn hazard_model_file(
    fit: roicast_training::hazard::HazardFit,
    by: GroupBy,
    jp: &JourneyParams,
    params: &AdditiveHazardParams,
    observation_end_us: i64,
    journeys: serde_json::Value,
    data_fingerprint: String,
) -> HazardModelFile {
    HazardModelFile {
        format: HAZARD_FILE_FORMAT,
        content_hash: String::new(),
        model: "additive_hazard".into(),
        roicast_version: env!("CARGO_PKG_VERSION").into(),
        group_by: group_by_name(by),
        estimates: fit.estimates,
        data_fingerprint,
        params: json!({
            "solver": params,
            "use_sessions": jp.use_sessions,
            "observation_end": roicast_data::io::format_timestamp_us(observation_end_us),
        }),
        journeys,
    }
    .sealed()
}

fn default_max_iter() -> usize {
    200
}

fn default_tol() -> f64 {
    1e-10
}

/// Fitting the data-driven model (`roicast train attribution`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Dataset folder (needs touchpoints and orders).
    pub data: PathBuf,
    /// Where to write the model (JSON).
    pub out: PathBuf,
    /// Groups that get their own strength and half-life.
    #[serde(default)]
    pub group_by: GroupBy,
    /// Censoring time of non-converting journeys, RFC 3339.
    #[serde(default)]
    pub observation_end: Option<String>,
    /// Derive creator clicks from sessions matched to tracking assets.
    #[serde(default = "yes")]
    pub use_sessions: bool,
    /// Maximum Newton iterations.
    #[serde(default = "default_max_iter")]
    pub max_iter: usize,
    /// Convergence tolerance.
    #[serde(default = "default_tol")]
    pub tol: f64,
    /// Also write the fitted journeys, one row per touch.
    #[serde(default)]
    pub journeys_out: Option<PathBuf>,
}

/// Fits the additive-hazard model and saves it; the model file is the summary.
pub fn train(ctx: &Ctx, a: &TrainConfig) -> anyhow::Result<HazardModelFile> {
    let mut m = ManifestBuilder::start("train_attribution");
    let observation_end_us = observation_end(a.observation_end.as_deref())?;
    let jp = JourneyParams { use_sessions: a.use_sessions, observation_end_us, ..JourneyParams::default() };
    let params = AdditiveHazardParams::new().max_iter(a.max_iter).tol(a.tol);
    let dataset = ctx.open_dataset(&a.data)?;
    ctx.progress.stage("building journeys", 0);
    let journeys = roicast_data::journeys::build(&dataset, &jp)
        .with_context(|| format!("failed to build journeys from {}", a.data.display()))?;
    let by = a.group_by;
    let g = grouping(&journeys, by);
    m.stage_done("read and build journeys");
    ctx.progress.stage("fitting the additive-hazard model", 0);
    let (file, t) = fit_hazard(&journeys, &g, by, &jp, &params)?;
    m.record("prepare fit data", t.prepare_s);
    m.record("fit (solver)", t.solve_s);
    m.record("fingerprint inputs", t.fingerprint_s);
    if let Some(p) = &a.journeys_out {
        let (data, _, _) = hazard_data(&journeys, &g);
        write_hazard_journeys(p, &data, &g.names)?;
    }
    ctx.progress.finish();
    m.stage_done("fit and write");
    if let Some(parent) = a.out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("failed to create {}", parent.display()))?;
    }
    file.save(&a.out).with_context(|| format!("failed to write {}", a.out.display()))?;
    let dir = a.out.parent().filter(|p| !p.as_os_str().is_empty()).map_or_else(|| PathBuf::from("."), Path::to_owned);
    let inputs = FileRecord::inputs(&dataset, JOURNEY_TABLES)?;
    let manifest = m.finish(
        json!({ "data": a.data, "group_by": file.group_by, "max_iter": a.max_iter, "tol": a.tol, "observation_end": a.observation_end }),
        inputs,
        vec![FileRecord::of(&a.out)?],
        BTreeMap::from([("journeys".to_owned(), file.journeys["journeys"].as_u64().unwrap_or(0))]),
        "ok",
    );
    manifest.write(&dir)?;
    Ok(file)
}

/// A saved data-driven model for a run grouped by `by` (refused when fitted by another grouping).
pub(crate) fn load_hazard_model(path: &Path, by: GroupBy) -> anyhow::Result<HazardModelFile> {
    let f = HazardModelFile::load(path).with_context(|| format!("failed to load model {}", path.display()))?;
    if f.group_by != group_by_name(by) {
        let reason = format!(
            "the model was fitted with --group-by {}, but this run groups by {}: pass --group-by {} or refit",
            f.group_by.replace('_', "-"),
            group_by_name(by).replace('_', "-"),
            f.group_by.replace('_', "-")
        );
        return Err(roicast_models::ModelError::Mismatch { path: path.to_owned(), reason }.into());
    }
    Ok(f)
}

/// Runs dataset-mode attribution and writes `credits.parquet` and
/// `attribution_summary.csv` into `out` (both or neither).
fn dataset_run(data: &Path, out: &Path, cfg: &AttributionConfig, ctx: &Ctx) -> anyhow::Result<AttributionRun> {
    let dataset = ctx.open_dataset(data)?;
    let staging = Staging::new(out, "attribute")?;
    if let Some(buckets) = dataset.user_buckets()? {
        return super::bucketed::run(&dataset, &buckets, cfg, ctx, staging);
    }
    let mut staging = staging;
    ctx.progress.stage("building journeys", 0);
    let journeys = roicast_data::journeys::build(&dataset, &cfg.journeys)
        .with_context(|| format!("failed to build journeys from {}", data.display()))?;
    let g = grouping(&journeys, cfg.group_by);
    let mut hazard_file = None;
    let hazard = if cfg.models.contains(&Model::DataDriven) {
        let file = if let Some(path) = &cfg.model_file {
            load_hazard_model(path, cfg.group_by)?
        } else {
            {
                ctx.progress.stage("fitting the data-driven model", 0);
                let (f, _) = fit_hazard(&journeys, &g, cfg.group_by, &cfg.journeys, &AdditiveHazardParams::new())?;
                f.save(&staging.path("data_driven_model.json"))?;
                f
            }
        };
        let (aligned, unknown) = file.hazard().aligned(&g.names);
        if !unknown.is_empty() {
            tracing::warn!("groups the data-driven model was not fitted on get no hazard: {}", unknown.join(", "));
        }
        hazard_file = Some(file);
        Some(aligned)
    } else {
        None
    };
    let credits_path = staging.path("credits.parquet");
    let mut writer = TableWriter::create(&credits_path, &credits_schema())?;
    let mut rows = RowBuilder::new(credits_schema());
    let names: Vec<&'static str> = cfg.models.iter().map(Model::name).collect();
    ctx.progress.stage("crediting orders", journeys.orders.len() as u64);
    let mut n_rows = 0u64;
    let attribution = credit_orders(&journeys, &g, &cfg.models, hazard.as_ref(), |credits| {
        for c in credits {
            push_credit(&mut rows, &journeys, &g, names[c.model as usize], c.order, c.touch, c.credit);
        }
        n_rows += credits.len() as u64;
        if let (Some(first), Some(last)) = (credits.first(), credits.last()) {
            ctx.progress.advance(u64::from(last.order - first.order) + 1);
        }
        if rows.len() >= 65_536 {
            writer.write(&rows.finish()).map_err(|e| roicast_models::ModelError::InvalidInput(e.to_string()))?;
        }
        Ok(())
    })
    .context("attribution failed")?;
    if !rows.is_empty() {
        writer.write(&rows.finish())?;
    }
    writer.finish()?;
    let summary_path = staging.path("attribution_summary.csv");
    write_summary(&summary_path, cfg.group_by, &attribution.totals)?;
    if let Some(p) = &cfg.paths_out {
        write_path_table(p, &roicast_models::attribution::credits::path_counts(&journeys, &g), &g.names)?;
    }
    let outputs = staging.commit()?;
    Ok(AttributionRun {
        attribution,
        outputs,
        journeys: journeys.stats.clone(),
        credit_rows: n_rows,
        hazard: hazard_file,
    })
}

pub(crate) fn push_credit(
    rows: &mut RowBuilder,
    j: &Journeys,
    g: &Grouping,
    model: &str,
    order: u32,
    touch: u32,
    credit: f64,
) {
    let o = &j.orders[order as usize];
    rows.text(&o.order_id);
    if touch == NONE || touch == BASELINE_TOUCH {
        let group = if touch == NONE { NO_TOUCH } else { BASELINE };
        rows.opt_text(None)
            .text(model)
            .float(credit)
            .float(credit * o.revenue)
            .text(group)
            .opt_text(None)
            .opt_text(None)
            .opt_text(None)
            .opt_text(None);
    } else {
        let t = &j.touches[touch as usize];
        rows.opt_text(Some(&j.touch_id(touch)))
            .text(model)
            .float(credit)
            .float(credit * o.revenue)
            .text(&g.names[g.of_touch[touch as usize] as usize])
            .opt_text(Some(CHANNELS[t.channel as usize]))
            .opt_text((t.creator != NONE).then(|| j.creators[t.creator as usize].as_str()))
            .opt_text((t.campaign != NONE).then(|| j.campaigns[t.campaign as usize].as_str()))
            .opt_text((t.platform != NONE8).then(|| PLATFORMS[t.platform as usize]));
    }
    rows.end_row();
}

pub(crate) fn write_summary(path: &Path, by: GroupBy, totals: &[GroupTotal]) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_path(path).with_context(|| format!("failed to write {}", path.display()))?;
    w.write_record(["model", "group_by", "group", "conversions", "revenue", "assisted_conversions"])?;
    let by = serde_json::to_value(by)?.as_str().unwrap_or_default().to_owned();
    for t in totals {
        w.write_record([
            t.model.to_owned(),
            by.clone(),
            t.group.clone(),
            t.conversions.to_string(),
            t.revenue.to_string(),
            t.assisted_conversions.to_string(),
        ])?;
    }
    w.flush()?;
    Ok(())
}

/// The counts of one path-table row.
struct PathTotals {
    conversions: f64,
    value: f64,
    nulls: f64,
}

/// Path mode: attributes a `ChannelAttribution` path table; writes the long table
/// `model, channel, conversions, value` to `out` (CSV or Parquet by extension).
fn paths_run(file: &Path, out: &Path, cfg: &AttributionConfig, sep: &str) -> anyhow::Result<PathRun> {
    for m in &cfg.models {
        if matches!(m, Model::Rule(Rule::TimeDecay { .. })) {
            bail!(
                "model `time_decay` needs touch timestamps, which a path table does not have; use --data, or drop it from --models"
            );
        }
    }
    let t_read = std::time::Instant::now();
    let table = roicast_data::paths::read_interned(file, sep)
        .with_context(|| format!("failed to read the path table {}", file.display()))?;
    let t_parsed = std::time::Instant::now();
    // Channels in sorted order, so group ids (and output order) are deterministic: the
    // reader interned them in first-seen order; renumber.
    let seen: Vec<&str> = table.channels.iter().map(String::as_str).collect();
    let (rows, mut paths): (Vec<_>, Vec<Vec<u32>>) = table
        .rows
        .into_iter()
        .map(|r| (PathTotals { conversions: r.conversions, value: r.value, nulls: r.nulls }, r.path))
        .unzip();
    let mut order: Vec<usize> = (0..seen.len()).collect();
    order.sort_by_key(|&i| seen[i]);
    let mut renumber = vec![0u32; seen.len()];
    for (new, &old) in order.iter().enumerate() {
        renumber[old] = new as u32;
    }
    for p in &mut paths {
        for g in p.iter_mut() {
            *g = renumber[*g as usize];
        }
    }
    let names: Vec<String> = order.iter().map(|&i| seen[i].to_owned()).collect();
    let direct = names.iter().position(|n| n == "direct").map(|i| i as u32);
    let n = names.len();
    let mut totals = Vec::new();
    let mut w = Vec::new();
    let mut buf: Vec<Touch> = Vec::new();
    let wants_markov = cfg.markov_global || cfg.models.iter().any(|m| matches!(m, Model::Markov(_)));
    let chain = if wants_markov {
        let pc: Vec<PathCounts> = rows
            .iter()
            .zip(&paths)
            .map(|(r, p)| PathCounts { path: p.clone(), conversions: r.conversions, value: r.value, nulls: r.nulls })
            .collect();
        Some(removal_effects(&pc, n, cfg.markov_order)?)
    } else {
        None
    };
    let effects = chain.as_ref().map(|c| c.removal_effects.clone());
    let weights = chain.as_ref().map(|c| c.journey_weights.clone());
    for m in &cfg.models {
        let mut conv = vec![0.0; n];
        let mut value = vec![0.0; n];
        if *m == Model::Shapley && n <= MAX_GROUPS {
            let mut sets: BTreeMap<u64, (f64, f64)> = BTreeMap::new();
            for (r, p) in rows.iter().zip(&paths) {
                let mask = p.iter().fold(0u64, |acc, &g| acc | (1 << g));
                if mask != 0 {
                    let e = sets.entry(mask).or_default();
                    e.0 += r.conversions;
                    e.1 += r.value;
                }
            }
            conv = shapley_values(&sets.iter().map(|(k, v)| (*k, v.0)).collect::<Vec<_>>(), n)?;
            value = shapley_values(&sets.iter().map(|(k, v)| (*k, v.1)).collect::<Vec<_>>(), n)?;
        } else {
            for (r, p) in rows.iter().zip(&paths) {
                if r.conversions == 0.0 && r.value == 0.0 {
                    continue;
                }
                buf.clear();
                buf.extend(p.iter().enumerate().map(|(i, &g)| Touch {
                    group: g,
                    time_us: i as i64,
                    direct: Some(g) == direct,
                }));
                match m {
                    Model::Rule(rule) => rule.weights(&buf, p.len() as i64, &mut w),
                    Model::Markov(_) => {
                        let e = weights.as_ref().expect("computed above");
                        roicast_models::attribution::distinct_split(&buf, |g| e[g as usize], &mut w);
                    }
                    Model::Shapley => Rule::LinearDistinct.weights(&buf, 0, &mut w),
                    Model::DataDriven => unreachable!("refused in path mode by AttributionConfig::from_args"),
                }
                for (k, &g) in p.iter().enumerate() {
                    conv[g as usize] += r.conversions * w.get(k).copied().unwrap_or(0.0);
                    value[g as usize] += r.value * w.get(k).copied().unwrap_or(0.0);
                }
            }
        }
        for (g, name) in names.iter().enumerate() {
            totals.push(GroupTotal {
                model: m.name(),
                group: name.clone(),
                conversions: conv[g],
                revenue: value[g],
                assisted_conversions: 0,
            });
        }
    }
    if cfg.markov_global {
        // ChannelAttribution: conversions_c = RE_c / Σ RE × total conversions (same for value).
        let e = effects.as_ref().expect("computed when markov_global is requested");
        let sum: f64 = e.iter().sum();
        let total_conv: f64 = rows.iter().map(|r| r.conversions).sum();
        let total_value: f64 = rows.iter().map(|r| r.value).sum();
        for (g, name) in names.iter().enumerate() {
            let share = if sum > 0.0 { e[g] / sum } else { 0.0 };
            totals.push(GroupTotal {
                model: "markov_global",
                group: name.clone(),
                conversions: share * total_conv,
                revenue: share * total_value,
                assisted_conversions: 0,
            });
        }
    }
    let t_compute = std::time::Instant::now();
    // Write the long table atomically.
    let schema = Arc::new(Schema::new(vec![
        Field::new("model", DataType::Utf8, false),
        Field::new("channel", DataType::Utf8, false),
        Field::new("conversions", DataType::Float64, false),
        Field::new("value", DataType::Float64, false),
    ]));
    let mut b = RowBuilder::new(schema.clone());
    for t in &totals {
        b.text(t.model).text(&t.group).float(t.conversions).float(t.revenue).end_row();
    }
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("failed to create {}", parent.display()))?;
    }
    roicast_data::io::write_table(out, &schema, &[b.finish()])
        .with_context(|| format!("failed to write {}", out.display()))?;
    let t_done = std::time::Instant::now();
    let timings = [
        ("read", (t_parsed - t_read).as_secs_f64()),
        ("compute", (t_compute - t_parsed).as_secs_f64()),
        ("write", (t_done - t_compute).as_secs_f64()),
    ];
    let removal_effects = chain.map(|c| {
        (c.conversion_probability, names.iter().cloned().zip(c.removal_effects).collect::<BTreeMap<String, f64>>())
    });
    Ok(PathRun { totals, removal_effects, timings })
}

/// What a path-mode run produced.
#[derive(Debug)]
pub struct PathRun {
    /// Totals per model and channel.
    pub totals: Vec<GroupTotal>,
    /// Markov conversion probability and removal effect per channel, when Markov ran.
    pub removal_effects: Option<(f64, BTreeMap<String, f64>)>,
    /// Seconds spent reading, computing and writing.
    pub timings: [(&'static str, f64); 3],
}

fn yes() -> bool {
    true
}

fn default_lookback() -> Duration {
    Duration::days(30)
}

fn default_half_life() -> Duration {
    Duration::days(7)
}

fn default_u_shaped() -> [f64; 2] {
    [0.4, 0.4]
}

fn default_markov_order() -> usize {
    1
}

fn default_sep() -> String {
    ">".into()
}

/// Dataset-mode attribution (`roicast attribute --data`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Dataset folder (needs touchpoints and orders; uses tracking_assets and sessions).
    pub data: PathBuf,
    /// Output folder: `credits.parquet`, `attribution_summary.csv`.
    pub out: PathBuf,
    /// Models to run (default: all ten).
    #[serde(default)]
    pub models: Option<Vec<String>>,
    /// Grouping of totals, and the players of the Markov and Shapley games.
    #[serde(default)]
    pub group_by: GroupBy,
    /// Oldest touch an order's journey holds.
    #[serde(default = "default_lookback")]
    pub lookback: Duration,
    /// Half-life of `time_decay`.
    #[serde(default = "default_half_life")]
    pub half_life: Duration,
    /// `u_shaped` shares of the first and last touch.
    #[serde(default = "default_u_shaped")]
    pub u_shaped: [f64; 2],
    /// Order of the Markov chain (1 to 4).
    #[serde(default = "default_markov_order")]
    pub markov_order: usize,
    /// Derive creator clicks from sessions matched to tracking assets.
    #[serde(default = "yes")]
    pub use_sessions: bool,
    /// A promo-code touch sorts after other touches at the same time.
    #[serde(default = "yes")]
    pub code_outranks_link: bool,
    /// Censoring time of non-converting journeys, RFC 3339 (default: the latest time in the inputs).
    #[serde(default)]
    pub observation_end: Option<String>,
    /// A saved data-driven model to credit with (else it is fitted and saved with the outputs).
    #[serde(default)]
    pub model: Option<PathBuf>,
    /// Also write the journeys as a `ChannelAttribution` path table here.
    #[serde(default)]
    pub paths_out: Option<PathBuf>,
}

impl Config {
    /// Every model with the default options.
    #[must_use]
    pub fn new(data: PathBuf, out: PathBuf) -> Config {
        Config {
            data,
            out,
            models: None,
            group_by: GroupBy::Channel,
            lookback: default_lookback(),
            half_life: default_half_life(),
            u_shaped: default_u_shaped(),
            markov_order: 1,
            use_sessions: true,
            code_outranks_link: true,
            observation_end: None,
            model: None,
            paths_out: None,
        }
    }

    /// Checks the options and resolves them into the models and journey parameters.
    pub fn resolve(&self) -> anyhow::Result<AttributionConfig> {
        super::settings(self.resolve_unmarked())
    }

    fn resolve_unmarked(&self) -> anyhow::Result<AttributionConfig> {
        let journeys = JourneyParams {
            code_outranks_link: self.code_outranks_link,
            use_sessions: self.use_sessions,
            observation_end_us: observation_end(self.observation_end.as_deref())?,
            ..JourneyParams::default()
        };
        let mut r = AttributionConfig::resolve(
            self.models.as_ref(),
            false,
            &self.half_life,
            &self.lookback,
            self.u_shaped,
            self.markov_order,
            self.group_by,
            journeys,
        )?;
        r.model_file.clone_from(&self.model);
        r.paths_out.clone_from(&self.paths_out);
        Ok(r)
    }
}

fn observation_end(s: Option<&str>) -> anyhow::Result<Option<i64>> {
    s.map(|s| {
        roicast_data::conform::parse_timestamp_us(s).with_context(|| {
            format!("invalid `--observation-end` = {s}: expected an RFC 3339 timestamp such as 2026-01-01T00:00:00Z")
        })
    })
    .transpose()
}

/// What dataset-mode attribution wrote and found.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// The output folder.
    pub out: PathBuf,
    /// Journey statistics.
    pub journeys: roicast_data::journeys::JourneyStats,
    /// Credit rows written.
    pub credit_rows: u64,
    /// Markov removal effects per group (in group order), when Markov ran.
    pub removal_effects: Option<Vec<f64>>,
    /// The data-driven model used, when it ran.
    pub data_driven: Option<HazardModelFile>,
    /// Totals per model and group.
    pub totals: Vec<GroupTotal>,
    /// The models, in output order.
    pub models: Vec<String>,
    /// creator_id → `@handle (platform)` for the text a person reads (from `creators`).
    #[serde(skip)]
    pub names: BTreeMap<String, String>,
}

/// Credits every order's touches under every model; writes `credits.parquet` and
/// `attribution_summary.csv` (both or neither) and `attribute.manifest.json`.
pub fn run(ctx: &Ctx, c: &Config) -> anyhow::Result<Summary> {
    let cfg = c.resolve()?;
    let names: Vec<&str> = cfg.models.iter().map(Model::name).collect();
    let mut m = ManifestBuilder::start("attribute");
    let run = dataset_run(&c.data, &c.out, &cfg, ctx)?;
    ctx.progress.finish();
    m.stage_done("attribute");
    let dataset = ctx.open_dataset(&c.data)?;
    let inputs = FileRecord::inputs(&dataset, JOURNEY_TABLES)?;
    let outputs = run.outputs.iter().map(|f| FileRecord::of(f)).collect::<anyhow::Result<Vec<_>>>()?;
    let rows = BTreeMap::from([
        ("touchpoints".to_owned(), run.journeys.touchpoints),
        ("orders".to_owned(), run.journeys.orders),
        ("credits".to_owned(), run.credit_rows),
    ]);
    let manifest = m.finish(
        json!({
            "data": c.data,
            "models": names,
            "group_by": cfg.group_by,
            "lookback": c.lookback,
            "half_life": c.half_life,
            "markov_order": c.markov_order,
            "u_shaped": format!("{},{}", c.u_shaped[0], c.u_shaped[1]),
            "model": c.model,
            "code_outranks_link": c.code_outranks_link,
            "use_sessions": c.use_sessions,
            "observation_end": c.observation_end,
        }),
        inputs,
        outputs,
        rows,
        "ok",
    );
    manifest.write(&c.out)?;
    let mut handles = BTreeMap::new();
    if dataset.has(roicast_data::Table::Creators) {
        let t = roicast_data::Table::Creators;
        for b in dataset.load(t)? {
            for i in 0..b.num_rows() {
                if let (Some(id), Some(h), Some(p)) = (
                    crate::output::columns::text(&b, t, "creator_id", i),
                    crate::output::columns::text(&b, t, "handle", i),
                    crate::output::columns::text(&b, t, "platform", i),
                ) {
                    handles.entry(id).or_insert_with(|| format!("@{} ({p})", h.trim_start_matches('@')));
                }
            }
        }
    }
    Ok(Summary {
        names: handles,
        out: c.out.clone(),
        journeys: run.journeys,
        credit_rows: run.credit_rows,
        removal_effects: run.attribution.removal_effects,
        data_driven: run.hazard,
        totals: run.attribution.totals,
        models: names.iter().map(|n| (*n).to_owned()).collect(),
    })
}

/// Path-mode attribution (`roicast attribute --paths`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathsConfig {
    /// A `ChannelAttribution` path table (path, total_conversions[, total_conversion_value, total_null]).
    pub paths: PathBuf,
    /// The long output table (`.csv` or `.parquet`).
    pub out: PathBuf,
    /// Models to run (default: every model that needs no timestamps).
    #[serde(default)]
    pub models: Option<Vec<String>>,
    /// Channel separator in the `path` column.
    #[serde(default = "default_sep")]
    pub sep: String,
    /// Order of the Markov chain (1 to 4).
    #[serde(default = "default_markov_order")]
    pub markov_order: usize,
    /// `u_shaped` shares of the first and last touch.
    #[serde(default = "default_u_shaped")]
    pub u_shaped: [f64; 2],
}

/// What path-mode attribution wrote and found.
#[derive(Debug, Clone, Serialize)]
pub struct PathsSummary {
    /// The output file.
    pub out: PathBuf,
    /// Totals per model and channel.
    pub totals: Vec<GroupTotal>,
    /// Markov conversion probability and removal effects, when Markov ran.
    pub markov: Option<serde_json::Value>,
    /// The models shown, in output order (with `markov_global` when asked for).
    pub models: Vec<String>,
}

/// Attributes a path table; writes the long table `model, channel, conversions, value`
/// and `attribute.manifest.json` beside it.
pub fn run_paths(_ctx: &Ctx, c: &PathsConfig) -> anyhow::Result<PathsSummary> {
    let cfg = AttributionConfig::resolve(
        c.models.as_ref(),
        true,
        &default_half_life(),
        &default_lookback(),
        c.u_shaped,
        c.markov_order,
        GroupBy::Channel,
        JourneyParams::default(),
    )?;
    let names: Vec<&str> = cfg.models.iter().map(Model::name).collect();
    let mut m = ManifestBuilder::start("attribute");
    let run = paths_run(&c.paths, &c.out, &cfg, &c.sep)?;
    m.stage_done("attribute");
    for (stage, s) in run.timings {
        m.record(stage, s);
    }
    let manifest = m.finish(
        json!({ "paths": c.paths, "models": names, "sep": c.sep, "markov_order": c.markov_order,
                "u_shaped": format!("{},{}", c.u_shaped[0], c.u_shaped[1]) }),
        vec![FileRecord::of(&c.paths)?],
        vec![FileRecord::of(&c.out)?],
        BTreeMap::new(),
        "ok",
    );
    manifest.write(&crate::output::parent_dir(&c.out))?;
    let mut shown: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    if cfg.markov_global {
        shown.push("markov_global".into());
    }
    Ok(PathsSummary {
        out: c.out.clone(),
        totals: run.totals,
        markov: run.removal_effects.map(|(p, re)| {
            json!({
                "order": cfg.markov_order,
                "conversion_probability": p,
                "removal_effects": re,
            })
        }),
        models: shown,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(models: &[&str], path_mode: bool) -> anyhow::Result<AttributionConfig> {
        let list: Vec<String> = models.iter().map(|m| (*m).to_owned()).collect();
        AttributionConfig::resolve(
            (!models.is_empty()).then_some(&list),
            path_mode,
            &Duration::days(7),
            &Duration::days(30),
            [0.4, 0.4],
            1,
            GroupBy::Channel,
            JourneyParams::default(),
        )
    }

    #[test]
    fn every_model_by_default_and_only_untimed_ones_for_path_tables() {
        assert_eq!(resolve(&[], false).unwrap().models.len(), ALL_MODELS.len());
        let paths = resolve(&[], true).unwrap();
        assert!(paths.models.iter().all(|m| !matches!(m, Model::DataDriven | Model::Rule(Rule::TimeDecay { .. }))));
        assert_eq!(resolve(&[], false).unwrap().journeys.lookback_us, 30 * 86_400_000_000);
    }

    #[test]
    fn bad_model_lists_are_refused_by_name() {
        let msg = |m: &[&str], p: bool| resolve(m, p).unwrap_err().to_string();
        assert!(msg(&["linear", "linear"], false).contains("listed twice"));
        assert!(msg(&["lnear"], false).contains("unknown model `lnear`"));
        assert!(msg(&["data_driven"], true).contains("needs touch timestamps"));
        assert!(msg(&["markov_global"], false).contains("path mode"));
        assert!(resolve(&["markov_global", "markov"], true).unwrap().markov_global);
    }

    #[test]
    fn u_shares_must_fit_in_one() {
        assert_eq!(check_u_shape([0.4, 0.4]).unwrap(), (0.4, 0.4));
        assert!(check_u_shape([0.7, 0.4]).is_err());
        assert!(check_u_shape([-0.1, 0.4]).is_err());
    }

    #[test]
    fn config_round_trips_through_json_with_its_defaults() {
        let c = Config::new("d".into(), "o".into());
        let back: Config = serde_json::from_value(serde_json::to_value(&c).unwrap()).unwrap();
        assert_eq!(serde_json::to_value(&back).unwrap(), serde_json::to_value(&c).unwrap());
        let c: Config =
            serde_json::from_str(r#"{"data": "d", "out": "o", "lookback": "P4W", "group_by": "creator"}"#).unwrap();
        assert_eq!(c.lookback.as_days(), 28.0);
        assert_eq!(c.group_by, GroupBy::Creator);
    }
}
