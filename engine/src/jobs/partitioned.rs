//! The partition-local halves of the jobs and their merges, for engines that split the
//! data by key and call roicast once per partition: Spark (`repartition(n, key)` then
//! `mapInArrow`, see `docs/spark.md`), Ray, or a test that splits a dataset by hand.
//!
//! Rules every kernel here keeps (they are what makes a partitioned run equal a
//! single-process one, and a rerun equal the last):
//!
//! - a kernel takes a whole partition as an in-memory [`Dataset`] and never relies on
//!   the order of its rows (journeys sort by ids, fits merge sorted summaries);
//! - values that must be global (the end of observation, the hazard fit's time origin,
//!   the Markov chain, the data-driven model) are found in a first pass and handed to
//!   every partition, never recomputed from a part of the data;
//! - partials are rows of [`partial_schema`] tagged with their partition, and every
//!   merge adds them in partition order, so sums are the same bits on every run.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int32Type, Int64Type};
use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use roicast_data::Dataset;
use roicast_data::builder::RowBuilder;
use roicast_data::journeys::{JourneyParams, Journeys};
use roicast_models::attribution::credits::{GroupTotal, Grouping, Model, credit_orders_with, grouping, path_counts};
use roicast_models::attribution::hazard::{
    AdditiveHazard, HazardData, HazardModelFile, SparseDerivatives, hazard_data_from,
};
use roicast_models::attribution::markov::{PathCounts, removal_effects};
use roicast_training::hazard::{AdditiveHazardParams, HazardSummary};
use serde::{Deserialize, Serialize};

use super::attribute::{AttributionConfig, Config, credits_schema, hazard_hierarchy, hazard_model_file, push_credit};

/// Separates the parts of a partial's key (group names never contain it).
pub const SEP: char = '\u{1f}';

/// The one schema of every partial row: `partition`, `kind`, `key`, three numbers, a
/// count and an optional blob (derivatives as little-endian `f64`s).
#[must_use]
pub fn partial_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("partition", DataType::Int32, false),
        Field::new("kind", DataType::Utf8, false),
        Field::new("key", DataType::Utf8, false),
        Field::new("x", DataType::Float64, false),
        Field::new("y", DataType::Float64, false),
        Field::new("z", DataType::Float64, false),
        Field::new("n", DataType::Int64, false),
        Field::new("blob", DataType::Binary, true),
    ]))
}

/// One partial row, as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct Partial {
    /// The partition that emitted it.
    pub partition: i32,
    /// What it is (`latest`, `epoch`, `group`, `path`, `hazard`, `total`, `derivatives`).
    pub kind: String,
    /// Its key within the kind.
    pub key: String,
    /// Numbers (meaning by kind).
    pub x: f64,
    /// Numbers (meaning by kind).
    pub y: f64,
    /// Numbers (meaning by kind).
    pub z: f64,
    /// A count or a timestamp, µs.
    pub n: i64,
    /// Packed `f64`s (derivatives).
    pub blob: Option<Vec<u8>>,
}

/// One partial row being built: kind, key, numbers, count, blob.
type PartialRow = (String, String, [f64; 3], i64, Option<Vec<u8>>);

struct Partials {
    partition: i32,
    kinds: Vec<PartialRow>,
}

impl Partials {
    fn new(partition: i32) -> Partials {
        Partials { partition, kinds: Vec::new() }
    }

    fn push(&mut self, kind: &str, key: impl Into<String>, x: [f64; 3], n: i64) {
        self.kinds.push((kind.to_owned(), key.into(), x, n, None));
    }

    fn finish(self) -> RecordBatch {
        use arrow_array::builder::{BinaryBuilder, Float64Builder, Int32Builder, Int64Builder, StringBuilder};
        let n = self.kinds.len();
        let mut partition = Int32Builder::with_capacity(n);
        let (mut kind, mut key) = (StringBuilder::new(), StringBuilder::new());
        let mut xyz =
            [Float64Builder::with_capacity(n), Float64Builder::with_capacity(n), Float64Builder::with_capacity(n)];
        let mut count = Int64Builder::with_capacity(n);
        let mut blob = BinaryBuilder::new();
        for (k, name, x, c, bytes) in &self.kinds {
            partition.append_value(self.partition);
            kind.append_value(k);
            key.append_value(name);
            for (b, v) in xyz.iter_mut().zip(x) {
                b.append_value(*v);
            }
            count.append_value(*c);
            blob.append_option(bytes.as_deref());
        }
        let [mut x, mut y, mut z] = xyz;
        let columns: Vec<arrow_array::ArrayRef> = vec![
            Arc::new(partition.finish()),
            Arc::new(kind.finish()),
            Arc::new(key.finish()),
            Arc::new(x.finish()),
            Arc::new(y.finish()),
            Arc::new(z.finish()),
            Arc::new(count.finish()),
            Arc::new(blob.finish()),
        ];
        RecordBatch::try_new(partial_schema(), columns).expect("partial columns match their schema")
    }
}

/// Reads partial rows back (any number of batches of [`partial_schema`]), sorted by
/// partition then emission order.
pub fn read_partials(batches: &[RecordBatch]) -> anyhow::Result<Vec<Partial>> {
    let mut out = Vec::new();
    for b in batches {
        let col = |name: &str| {
            b.column_by_name(name)
                .with_context(|| format!("partials: no column `{name}` (expected {})", partial_schema()))
        };
        let partition = col("partition")?;
        let partition = match partition.data_type() {
            DataType::Int32 => partition.as_primitive::<Int32Type>().clone(),
            DataType::Int64 => arrow_cast_back(partition.as_primitive::<Int64Type>()),
            other => bail!("partials: column `partition` is {other}, expected int"),
        };
        let kind = text(col("kind")?)?;
        let key = text(col("key")?)?;
        let x = col("x")?.as_primitive::<Float64Type>().clone();
        let y = col("y")?.as_primitive::<Float64Type>().clone();
        let z = col("z")?.as_primitive::<Float64Type>().clone();
        let n = col("n")?.as_primitive::<Int64Type>().clone();
        let blob = col("blob")?;
        let blob = blob.as_binary_opt::<i32>().cloned();
        for i in 0..b.num_rows() {
            out.push(Partial {
                partition: partition.value(i),
                kind: kind.value(i).to_owned(),
                key: key.value(i).to_owned(),
                x: x.value(i),
                y: y.value(i),
                z: z.value(i),
                n: n.value(i),
                blob: blob.as_ref().filter(|a| !a.is_null(i)).map(|a| a.value(i).to_vec()),
            });
        }
    }
    // Stable: rows of one partition keep the order the partition emitted them in.
    out.sort_by_key(|p| p.partition);
    Ok(out)
}

fn arrow_cast_back(a: &arrow_array::Int64Array) -> arrow_array::Int32Array {
    a.iter().map(|x| x.map(|x| x as i32)).collect()
}

fn text(a: &Arc<dyn Array>) -> anyhow::Result<arrow_array::StringArray> {
    match a.data_type() {
        DataType::Utf8 => Ok(a.as_string::<i32>().clone()),
        DataType::LargeUtf8 | DataType::Utf8View => {
            let c = arrow_cast::cast(a, &DataType::Utf8)?;
            Ok(c.as_string::<i32>().clone())
        }
        other => bail!("partials: a text column is {other}"),
    }
}

// ---------------------------------------------------------------------------------------
// Attribution

/// What every partition of an attribution must share, found by [`merge_scan`] and
/// [`merge_fit_stats`] and handed to each one (JSON in the Spark adapter's closures).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AttributionGlobals {
    /// End of observation, µs (the latest time in the whole data unless given).
    pub observation_end_us: i64,
    /// The data-driven fit's time origin: the earliest touch in the whole data, µs.
    pub epoch_us: i64,
    /// Every group in the whole data, in the order a single-process run sees them.
    pub groups: Vec<String>,
    /// Markov removal effects by group, once merged.
    #[serde(default)]
    pub markov_effects: Option<BTreeMap<String, f64>>,
    /// The Markov model's weights inside a journey by group, once merged.
    #[serde(default)]
    pub markov_weights: Option<BTreeMap<String, f64>>,
    /// The data-driven model, once fitted (or given).
    #[serde(default)]
    pub hazard: Option<HazardModelFile>,
}

fn journeys_of(dataset: &Dataset, cfg: &AttributionConfig, end_us: Option<i64>) -> anyhow::Result<Journeys> {
    let jp = JourneyParams { observation_end_us: end_us.or(cfg.journeys.observation_end_us), ..cfg.journeys };
    roicast_data::journeys::build(dataset, &jp)
        .with_context(|| format!("failed to build journeys from {}", dataset.root().display()))
}

/// Pass 1 (only when the run needs global values): the partition's latest time, earliest
/// touch and groups.
pub fn attribution_scan(dataset: &Dataset, c: &Config, partition: i32) -> anyhow::Result<RecordBatch> {
    let cfg = c.resolve()?;
    let j = journeys_of(dataset, &cfg, None)?;
    let g = grouping(&j, cfg.group_by);
    let mut p = Partials::new(partition);
    if !j.touches.is_empty() || !j.orders.is_empty() {
        p.push("latest", "", [0.0; 3], j.observation_end_us);
    }
    if let Some(e) = j.touches.iter().map(|t| t.ts).min() {
        p.push("epoch", "", [0.0; 3], e);
    }
    // Each group with where it is first seen: the user of its first touch, and that
    // touch's place in the partition. A user lives in one partition and touches sort by
    // user id first, so sorting by (user, place) gives the whole data's first-seen order,
    // which is the single-process run's group order.
    let mut first = vec![None; g.names.len()];
    for (t, &k) in g.of_touch.iter().enumerate() {
        first[k as usize].get_or_insert(t);
    }
    for (name, t) in g.names.iter().zip(first) {
        let t = t.expect("every group has a touch");
        let user = &j.users[j.touches[t].user as usize];
        p.push("group", format!("{name}{SEP}{user}"), [0.0; 3], t as i64);
    }
    Ok(p.finish())
}

/// Merges [`attribution_scan`] partials into the run's globals.
pub fn merge_scan(c: &Config, partials: &[RecordBatch]) -> anyhow::Result<AttributionGlobals> {
    let cfg = c.resolve()?;
    let rows = read_partials(partials)?;
    let latest = rows.iter().filter(|r| r.kind == "latest").map(|r| r.n).max();
    let epoch = rows.iter().filter(|r| r.kind == "epoch").map(|r| r.n).min();
    let mut first: BTreeMap<&str, (&str, i64)> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.kind == "group") {
        let (name, user) =
            r.key.split_once(SEP).with_context(|| format!("a group partial without a user: {}", r.key))?;
        let e = first.entry(name).or_insert((user, r.n));
        if (user, r.n) < *e {
            *e = (user, r.n);
        }
    }
    let mut groups: Vec<(&str, i64, &str)> = first.into_iter().map(|(name, (user, t))| (user, t, name)).collect();
    groups.sort_unstable();
    let Some(latest) = cfg.journeys.observation_end_us.or(latest) else {
        bail!("no touchpoints or orders in any partition: nothing to attribute")
    };
    Ok(AttributionGlobals {
        observation_end_us: latest,
        epoch_us: epoch.unwrap_or(0),
        groups: groups.into_iter().map(|(_, _, name)| name.to_owned()).collect(),
        markov_effects: None,
        markov_weights: None,
        hazard: None,
    })
}

/// Pass 2 (Markov, or a data-driven fit): the partition's Markov paths (by group name)
/// and its hazard-fit summary.
pub fn attribution_fit_stats(
    dataset: &Dataset,
    c: &Config,
    globals: &AttributionGlobals,
    partition: i32,
) -> anyhow::Result<RecordBatch> {
    let cfg = c.resolve()?;
    let j = journeys_of(dataset, &cfg, Some(globals.observation_end_us))?;
    let g = grouping(&j, cfg.group_by);
    let mut p = Partials::new(partition);
    if cfg.models.iter().any(|m| matches!(m, Model::Markov(_))) {
        for pc in path_counts(&j, &g) {
            let key: Vec<&str> = pc.path.iter().map(|&k| g.names[k as usize].as_str()).collect();
            p.push("path", key.join(&SEP.to_string()), [pc.conversions, pc.value, pc.nulls], 0);
        }
    }
    if cfg.models.contains(&Model::DataDriven) {
        let (data, stats, _) = hazard_data_from(&j, &g, globals.epoch_us);
        let s = HazardSummary::of(&data);
        let conv = i64::try_from(s.conversions).unwrap_or(i64::MAX);
        p.push("hazard", "", [s.exposure_days, stats.converted_before_any_touch as f64, stats.journeys as f64], conv);
        for (k, name) in g.names.iter().enumerate() {
            p.push("touches", name.clone(), [0.0; 3], s.touches_per_group[k] as i64);
        }
    }
    Ok(p.finish())
}

/// Merges [`attribution_fit_stats`] partials: the Markov chain over the whole data (into
/// `globals.markov_effects`) and the data-driven fit's summary, groups in `globals` order.
pub fn merge_fit_stats(
    c: &Config,
    globals: &mut AttributionGlobals,
    partials: &[RecordBatch],
) -> anyhow::Result<HazardSummary> {
    let cfg = c.resolve()?;
    let rows = read_partials(partials)?;
    let index: BTreeMap<&str, u32> = globals.groups.iter().enumerate().map(|(i, g)| (g.as_str(), i as u32)).collect();
    let id = |name: &str| {
        index.get(name).copied().with_context(|| format!("group `{name}` is in no partition's scan: rerun the scan"))
    };
    if let Some(order) = cfg.models.iter().find_map(|m| if let Model::Markov(k) = m { Some(*k) } else { None }) {
        // One row per distinct path: counts summed in partition order.
        let mut paths: BTreeMap<&str, [f64; 3]> = BTreeMap::new();
        for r in rows.iter().filter(|r| r.kind == "path") {
            let e = paths.entry(r.key.as_str()).or_default();
            e[0] += r.x;
            e[1] += r.y;
            e[2] += r.z;
        }
        let mut pc = Vec::with_capacity(paths.len());
        for (key, [conv, value, nulls]) in paths {
            let path = key.split(SEP).map(id).collect::<anyhow::Result<Vec<u32>>>()?;
            pc.push(PathCounts { path, conversions: conv, value, nulls });
        }
        pc.sort_by(|a, b| a.path.cmp(&b.path));
        let effects = removal_effects(&pc, globals.groups.len(), order).context("the Markov chain failed")?;
        globals.markov_effects =
            Some(globals.groups.iter().cloned().zip(effects.removal_effects).collect::<BTreeMap<_, _>>());
        globals.markov_weights =
            Some(globals.groups.iter().cloned().zip(effects.journey_weights).collect::<BTreeMap<_, _>>());
    }
    let mut summary = HazardSummary { touches_per_group: vec![0; globals.groups.len()], ..HazardSummary::default() };
    for r in &rows {
        match r.kind.as_str() {
            "hazard" => {
                summary.conversions += r.n as u64;
                summary.exposure_days += r.x;
            }
            "touches" => summary.touches_per_group[id(&r.key)? as usize] += r.n as u64,
            _ => {}
        }
    }
    Ok(summary)
}

/// The schema of the data-driven fit's journey rows (one per touch; see
/// [`attribution_hazard_rows`]).
#[must_use]
pub fn hazard_rows_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("journey", DataType::Utf8, false),
        Field::new("start_days", DataType::Float64, false),
        Field::new("end_days", DataType::Float64, false),
        Field::new("converted", DataType::Boolean, false),
        Field::new("touch_days", DataType::Float64, false),
        Field::new("group", DataType::Utf8, false),
    ]))
}

/// Pass 3 (data-driven fit): the partition's fit journeys, one row per touch, keyed by
/// user; cached by the engine and read by every Newton iteration.
pub fn attribution_hazard_rows(
    dataset: &Dataset,
    c: &Config,
    globals: &AttributionGlobals,
) -> anyhow::Result<RecordBatch> {
    let cfg = c.resolve()?;
    let j = journeys_of(dataset, &cfg, Some(globals.observation_end_us))?;
    let g = grouping(&j, cfg.group_by);
    let (data, _, _) = hazard_data_from(&j, &g, globals.epoch_us);
    let mut b = RowBuilder::new(hazard_rows_schema());
    for i in 0..data.len() {
        for t in data.offsets[i]..data.offsets[i + 1] {
            b.text(&j.users[data.user[i] as usize])
                .float(data.start[i])
                .float(data.end[i])
                .bool(data.converted[i])
                .float(data.touch_time[t])
                .text(&g.names[data.touch_group[t] as usize])
                .end_row();
        }
    }
    Ok(b.finish())
}

/// Fit journeys read back from [`hazard_rows_schema`] batches, groups indexed in
/// `groups` order; rows are sorted by journey and touch first (their order is not kept).
pub fn hazard_data_of_rows(batches: &[RecordBatch], groups: &[String]) -> anyhow::Result<HazardData> {
    let index: BTreeMap<&str, u32> = groups.iter().enumerate().map(|(i, g)| (g.as_str(), i as u32)).collect();
    let mut rows: Vec<(String, f64, f64, bool, f64, u32)> = Vec::new();
    for b in batches {
        let col = |name: &str| b.column_by_name(name).with_context(|| format!("hazard rows: no column `{name}`"));
        let journey = text(col("journey")?)?;
        let start = col("start_days")?.as_primitive::<Float64Type>().clone();
        let end = col("end_days")?.as_primitive::<Float64Type>().clone();
        let converted = col("converted")?.as_boolean().clone();
        let touch = col("touch_days")?.as_primitive::<Float64Type>().clone();
        let group = text(col("group")?)?;
        for i in 0..b.num_rows() {
            let g = index
                .get(group.value(i))
                .copied()
                .with_context(|| format!("hazard rows: group `{}` is not among the fit's groups", group.value(i)))?;
            rows.push((
                journey.value(i).to_owned(),
                start.value(i),
                end.value(i),
                converted.value(i),
                touch.value(i),
                g,
            ));
        }
    }
    rows.sort_by(|a, b| a.0.cmp(&b.0).then(a.4.total_cmp(&b.4)).then(a.5.cmp(&b.5)));
    let mut data = HazardData { n_groups: groups.len(), offsets: vec![0], ..HazardData::default() };
    for (i, r) in rows.iter().enumerate() {
        if i == 0 || rows[i - 1].0 != r.0 {
            if i > 0 {
                data.offsets.push(data.touch_time.len());
            }
            data.start.push(r.1);
            data.end.push(r.2);
            data.converted.push(r.3);
        }
        data.touch_time.push(r.4);
        data.touch_group.push(r.5);
    }
    if !rows.is_empty() {
        data.offsets.push(data.touch_time.len());
    }
    Ok(data)
}

/// One Newton pass over a partition's fit journeys: ℓ, ∇ℓ and the block-sparse ∇²ℓ at
/// `model` ([`SparseDerivatives`]), as one `derivatives` partial.
pub fn hazard_partial(batches: &[RecordBatch], model: &AdditiveHazard, partition: i32) -> anyhow::Result<RecordBatch> {
    let data = hazard_data_of_rows(batches, &model.groups)?;
    let d = model.sparse_derivatives(&data);
    let mut p = Partials::new(partition);
    p.kinds.push(("derivatives".into(), String::new(), [0.0; 3], data.len() as i64, Some(d.to_bytes())));
    Ok(p.finish())
}

/// Adds [`hazard_partial`] rows in partition order.
pub fn merge_derivatives(partials: &[RecordBatch], n_groups: usize) -> anyhow::Result<SparseDerivatives> {
    let mut total = SparseDerivatives::zero(n_groups);
    let mut rows = read_partials(partials)?;
    rows.retain(|r| r.kind == "derivatives");
    rows.sort_by_key(|r| r.partition);
    for r in &rows {
        let bytes = r.blob.as_deref().unwrap_or_default();
        let d = SparseDerivatives::from_bytes(bytes, n_groups).with_context(|| {
            format!(
                "partition {}: derivatives of {} bytes are not those of {n_groups} groups",
                r.partition,
                bytes.len()
            )
        })?;
        total.add(&d);
    }
    Ok(total)
}

/// The data-driven fit over partitions: the single-process solver
/// ([`AdditiveHazardParams::fit_with`], or the hierarchical one grouped by creator), with ℓ
/// and its derivatives from `derive`, which runs [`hazard_partial`] on every partition and
/// returns the partials.
pub fn fit_partitioned(
    c: &Config,
    globals: &AttributionGlobals,
    summary: &HazardSummary,
    fingerprint: String,
    mut derive: impl FnMut(&AdditiveHazard) -> anyhow::Result<Vec<RecordBatch>>,
) -> anyhow::Result<HazardModelFile> {
    let cfg = c.resolve()?;
    let params = AdditiveHazardParams::new();
    let k = globals.groups.len();
    let mut failure: Option<anyhow::Error> = None;
    let mut derive_sparse = |m: &AdditiveHazard| {
        let parts = derive(m).and_then(|parts| merge_derivatives(&parts, k));
        parts.map_err(|e| {
            let msg = format!("{e:#}");
            failure = Some(e);
            roicast_training::TrainError::InvalidData(msg)
        })
    };
    let fit = match hazard_hierarchy(cfg.group_by, &globals.groups) {
        Some(h) => params.fit_hierarchical_with(&globals.groups, summary, &h, derive_sparse),
        None => params.fit_with(&globals.groups, summary, |m| derive_sparse(m).map(|d| d.to_dense())),
    };
    let fit = match (fit, failure) {
        (Ok(f), _) => f,
        (Err(_), Some(e)) => return Err(e.context("a partition's derivatives failed")),
        (Err(e), None) => return Err(anyhow::Error::from(e).context("the data-driven (additive-hazard) fit failed")),
    };
    let jp = JourneyParams { observation_end_us: Some(globals.observation_end_us), ..cfg.journeys };
    let stats = serde_json::json!({ "conversions": summary.conversions, "touches": summary.touches_per_group.iter().sum::<u64>() });
    Ok(hazard_model_file(fit, cfg.group_by, &jp, &params, globals.observation_end_us, stats, fingerprint))
}

/// Last pass: the partition's orders credited under every model with the globals
/// (`credits.parquet` rows, [`credits_schema`]), or, with `totals`, its totals per model
/// and group as `total` partials.
pub fn attribution_credits(
    dataset: &Dataset,
    c: &Config,
    globals: &AttributionGlobals,
    partition: i32,
    totals: bool,
) -> anyhow::Result<RecordBatch> {
    let cfg = c.resolve()?;
    let j = journeys_of(dataset, &cfg, Some(globals.observation_end_us))?;
    let g = grouping(&j, cfg.group_by);
    let effects = match (&globals.markov_weights, cfg.models.iter().any(|m| matches!(m, Model::Markov(_)))) {
        (Some(e), true) => Some(aligned_effects(e, &g)?),
        (None, true) => bail!("the Markov model needs the whole data's chain: merge the fit stats first"),
        _ => None,
    };
    let hazard = match (&globals.hazard, cfg.models.contains(&Model::DataDriven)) {
        (Some(h), true) => Some(h.hazard().aligned(&g.names).0),
        (None, true) => bail!("the data-driven model needs a fitted model: fit it first or pass one"),
        _ => None,
    };
    let names: Vec<&'static str> = cfg.models.iter().map(Model::name).collect();
    let mut rows = RowBuilder::new(credits_schema());
    let attribution = credit_orders_with(&j, &g, &cfg.models, hazard.as_ref(), effects.as_deref(), |credits| {
        if !totals {
            for cr in credits {
                push_credit(&mut rows, &j, &g, names[cr.model as usize], cr.order, cr.touch, cr.credit);
            }
        }
        Ok(())
    })
    .context("attribution failed")?;
    if !totals {
        return Ok(rows.finish());
    }
    let mut p = Partials::new(partition);
    for t in &attribution.totals {
        p.push(
            "total",
            format!("{}{SEP}{}", t.model, t.group),
            [t.conversions, t.revenue, 0.0],
            t.assisted_conversions as i64,
        );
    }
    Ok(p.finish())
}

fn aligned_effects(effects: &BTreeMap<String, f64>, g: &Grouping) -> anyhow::Result<Vec<f64>> {
    g.names
        .iter()
        .map(|n| effects.get(n).copied().with_context(|| format!("group `{n}` has no Markov weight")))
        .collect()
}

/// Adds `total` partials in partition order: one row per model and group, models in
/// the run's order and groups by name.
pub fn merge_totals(c: &Config, partials: &[RecordBatch]) -> anyhow::Result<Vec<GroupTotal>> {
    let cfg = c.resolve()?;
    let order: Vec<&'static str> = cfg.models.iter().map(Model::name).collect();
    let mut acc: BTreeMap<(usize, String), (f64, f64, u64)> = BTreeMap::new();
    for r in read_partials(partials)?.iter().filter(|r| r.kind == "total") {
        let (model, group) = r.key.split_once(SEP).with_context(|| format!("a total without a model: {}", r.key))?;
        let m = order.iter().position(|x| *x == model).with_context(|| format!("a total of model `{model}`"))?;
        let e = acc.entry((m, group.to_owned())).or_default();
        e.0 += r.x;
        e.1 += r.y;
        e.2 += r.n as u64;
    }
    Ok(acc
        .into_iter()
        .map(|((m, group), (conversions, revenue, assisted))| GroupTotal {
            model: order[m],
            group,
            conversions,
            revenue,
            assisted_conversions: assisted,
        })
        .collect())
}

// ---------------------------------------------------------------------------------------
// CLV

/// The latest order of a partition (the whole data's end of observation is the latest
/// over partitions), as a `latest` partial.
pub fn rfm_scan(dataset: &Dataset, partition: i32) -> anyhow::Result<RecordBatch> {
    let (_, stats, end_us) =
        roicast_data::rfm::build(dataset, roicast_data::rfm::TimeUnit::Days, None, true).context("RFM summaries")?;
    let mut p = Partials::new(partition);
    if stats.orders > 0 {
        p.push("latest", "", [0.0; 3], end_us);
    }
    Ok(p.finish())
}

/// The whole data's end of observation from [`rfm_scan`] partials.
pub fn merge_rfm_scan(partials: &[RecordBatch]) -> anyhow::Result<i64> {
    read_partials(partials)?
        .iter()
        .filter(|r| r.kind == "latest")
        .map(|r| r.n)
        .max()
        .context("no orders in any partition: nothing to summarise")
}

/// Summaries for `clv fit` from RFM rows: each distinct (frequency, recency, T) with its
/// count (`rfm` partials), and each distinct (frequency, monetary value) of customers
/// with repeat purchases (`spend` partials).
pub fn rfm_histogram(batches: &[RecordBatch], partition: i32) -> anyhow::Result<RecordBatch> {
    let mut counts: BTreeMap<[u64; 3], i64> = BTreeMap::new();
    let mut spend: BTreeMap<[u64; 2], i64> = BTreeMap::new();
    for b in batches {
        let col = |name: &str| {
            let a = b.column_by_name(name).with_context(|| format!("RFM rows: no column `{name}`"))?;
            let a = arrow_cast::cast(a, &DataType::Float64).with_context(|| format!("RFM rows: column `{name}`"))?;
            anyhow::Ok(a.as_primitive::<Float64Type>().clone())
        };
        let (f, r, t, m) = (col("frequency")?, col("recency")?, col("T")?, col("monetary_value")?);
        for i in 0..b.num_rows() {
            if f.is_null(i) || r.is_null(i) || t.is_null(i) {
                bail!("RFM rows: row {} of a batch has a null frequency, recency or T", i + 1);
            }
            *counts.entry([f.value(i).to_bits(), r.value(i).to_bits(), t.value(i).to_bits()]).or_default() += 1;
            if f.value(i) > 0.0 && !m.is_null(i) {
                *spend.entry([f.value(i).to_bits(), m.value(i).to_bits()]).or_default() += 1;
            }
        }
    }
    let mut p = Partials::new(partition);
    for ([f, r, t], n) in counts {
        p.push("rfm", "", [f64::from_bits(f), f64::from_bits(r), f64::from_bits(t)], n);
    }
    for ([f, m], n) in spend {
        p.push("spend", "", [f64::from_bits(f), f64::from_bits(m), 0.0], n);
    }
    Ok(p.finish())
}

/// Every customer's (frequency, recency, T), and the repeat customers' (frequency,
/// monetary value).
pub type RfmColumns = (Vec<roicast_models::clv::Rfm>, Vec<(f64, f64)>);

/// Merged [`rfm_histogram`] partials as per-customer columns again (the fit merges
/// identical rows itself, in value order): frequency, recency, T; and the repeat
/// customers' frequency and monetary value.
pub fn merge_rfm_histogram(partials: &[RecordBatch]) -> anyhow::Result<RfmColumns> {
    let mut rfm = Vec::new();
    let mut spend = Vec::new();
    for r in read_partials(partials)? {
        let n = usize::try_from(r.n).unwrap_or(0);
        match r.kind.as_str() {
            "rfm" => {
                rfm.extend(std::iter::repeat_n(roicast_models::clv::Rfm { frequency: r.x, recency: r.y, t: r.z }, n));
            }
            "spend" => spend.extend(std::iter::repeat_n((r.x, r.y), n)),
            _ => {}
        }
    }
    Ok((rfm, spend))
}
