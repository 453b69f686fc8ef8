//! Attribution of a dataset partitioned by user (`touchpoints/user_bucket=07/…`), one
//! bucket at a time, with the same output bytes as the single-process run.
//!
//! Journeys are partition-local (a user's touches, sessions and orders are all in one
//! bucket), so only one bucket's journeys are ever in memory. Two passes:
//!
//! 1. per bucket: the journeys are built and reduced to what must be global — the end of
//!    observation, the fit's time origin, every group with where it is first seen (the
//!    single-process group order), the Markov paths (counts: exact in any order), and the
//!    data-driven fit's journeys with times still in µs (12 bytes a touch);
//! 2. the whole data's chain and fit are computed from those; then per bucket again: the
//!    journeys are rebuilt and credited into one exact [`Tally`] (totals are exact sums,
//!    so the same bits in any order), and each bucket's credits are spilled to a file;
//!    the spills are merged by (user, time, order id) — the order the single-process run
//!    writes — into `credits.parquet`.
//!
//! The fit's journeys are put in the single-process order (by user id) before the fit,
//! so the solver sees the same numbers in the same order and its result is the same bits.
//!
//! The Spark adapter ([`super::partitioned`]) has the same shape with partials passed
//! between processes.

use std::cmp::Ordering;
use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{Array, ArrayRef, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use roicast_data::Dataset;
use roicast_data::builder::RowBuilder;
use roicast_data::io::TableWriter;
use roicast_data::journeys::{JourneyStats, Journeys, NONE};
use roicast_data::validate::Progress as _;
use roicast_models::attribution::credits::{
    Attribution, Grouping, Model, Tally, credit_orders_into, grouping, path_counts,
};
use roicast_models::attribution::hazard::{HazardData, HazardDataStats, HazardModelFile, RawHazardData};
use roicast_models::attribution::markov::{PathCounts, removal_effects};
use roicast_training::hazard::AdditiveHazardParams;

use super::Ctx;
use super::attribute::{
    AttributionConfig, AttributionRun, credits_schema, fit_hazard_data, load_hazard_model, push_credit,
    write_path_table, write_summary,
};
use crate::output::Staging;

/// What pass 1 keeps of one bucket.
struct BucketScan {
    /// The fit's journeys (µs, groups as provisional ids) in pieces, each freed as soon as
    /// the merge has passed it (so the merge holds little more than the merged journeys).
    pieces: VecDeque<Piece>,
    /// Earliest touch, µs.
    epoch: Option<i64>,
}

/// Consecutive fit journeys of a bucket, with their users.
struct Piece {
    raw: RawHazardData,
    users: Vec<String>,
}

/// The user of the next journey of a bucket's fit journeys, `at` into its first piece.
fn head(s: &BucketScan, at: usize) -> Option<&str> {
    s.pieces.front().map(|p| p.users[at].as_str())
}

/// Journeys a [`Piece`] holds.
const PIECE: usize = 1 << 16;

/// `raw` (whose journeys' users are `users`) cut into pieces of [`PIECE`] journeys.
fn pieces(raw: &RawHazardData, mut users: Vec<String>) -> VecDeque<Piece> {
    let n = raw.end_us.len();
    let mut out = VecDeque::with_capacity(n.div_ceil(PIECE));
    let mut start = 0;
    while start < n {
        let end = (start + PIECE).min(n);
        let (t0, t1) = (raw.offsets[start], raw.offsets[end]);
        let rest = users.split_off(end - start);
        out.push_back(Piece {
            raw: RawHazardData {
                n_groups: raw.n_groups,
                user: raw.user[start..end].to_vec(),
                end_us: raw.end_us[start..end].to_vec(),
                offsets: raw.offsets[start..=end].iter().map(|o| o - t0).collect(),
                touch_us: raw.touch_us[t0..t1].to_vec(),
                touch_group: raw.touch_group[t0..t1].to_vec(),
            },
            users,
        });
        users = rest;
        start = end;
    }
    out
}

/// Groups under provisional ids (in the order buckets meet them), with where each is
/// first seen: (user, touch index in its bucket).
#[derive(Default)]
struct Groups {
    ids: HashMap<String, u32>,
    names: Vec<String>,
    first: Vec<(String, usize)>,
}

impl Groups {
    /// Provisional ids of a bucket's groups; records where each is first seen.
    fn add(&mut self, j: &Journeys, g: &Grouping) -> Vec<u32> {
        let mut first = vec![None; g.names.len()];
        for (t, &k) in g.of_touch.iter().enumerate() {
            first[k as usize].get_or_insert(t);
        }
        let mut map = Vec::with_capacity(g.names.len());
        for (name, t) in g.names.iter().zip(first) {
            let t = t.expect("every group has a touch");
            let seen = (j.users[j.touches[t].user as usize].clone(), t);
            let id = if let Some(&id) = self.ids.get(name) {
                if seen < self.first[id as usize] {
                    self.first[id as usize] = seen;
                }
                id
            } else {
                let id = self.names.len() as u32;
                self.ids.insert(name.clone(), id);
                self.names.push(name.clone());
                self.first.push(seen);
                id
            };
            map.push(id);
        }
        map
    }

    /// The single-process group order (by the user and place of each group's first
    /// touch: users sort by id and a user's touches are in one bucket in the same order),
    /// and the map from provisional ids to it.
    fn order(&self) -> (Vec<String>, Vec<u32>) {
        let mut by: Vec<u32> = (0..self.names.len() as u32).collect();
        by.sort_by(|&a, &b| self.first[a as usize].cmp(&self.first[b as usize]));
        let mut to_global = vec![0u32; by.len()];
        for (global, &p) in by.iter().enumerate() {
            to_global[p as usize] = global as u32;
        }
        (by.iter().map(|&p| self.names[p as usize].clone()).collect(), to_global)
    }
}

fn add_stats(total: &mut JourneyStats, s: &JourneyStats) {
    total.touchpoints += s.touchpoints;
    total.code_touches += s.code_touches;
    total.unmatched_codes += s.unmatched_codes;
    total.session_touches += s.session_touches;
    total.session_duplicates += s.session_duplicates;
    total.orders += s.orders;
    total.orders_without_touches += s.orders_without_touches;
    total.non_converting += s.non_converting;
    total.after_observation_end += s.after_observation_end;
}

fn bucket_journeys(dataset: &Dataset, bucket: &str, cfg: &AttributionConfig) -> anyhow::Result<Journeys> {
    let ds = dataset.user_bucket(bucket);
    roicast_data::journeys::build(&ds, &cfg.journeys)
        .with_context(|| format!("failed to build journeys of user bucket `{bucket}` of {}", dataset.root().display()))
}

/// Attribution of a dataset partitioned into `buckets` (see the module docs); writes
/// what [`super::attribute`]'s single-process run writes, staged in `staging`.
pub(crate) fn run(
    dataset: &Dataset,
    buckets: &[String],
    cfg: &AttributionConfig,
    ctx: &Ctx,
    mut staging: Staging,
) -> anyhow::Result<AttributionRun> {
    let markov_order = cfg.models.iter().find_map(|m| if let Model::Markov(k) = m { Some(*k) } else { None });
    let fit_here = cfg.models.contains(&Model::DataDriven) && cfg.model_file.is_none();
    let clock = std::time::Instant::now();
    let lap = |what: &str| tracing::info!("{what}: {:.1} s since the start", clock.elapsed().as_secs_f64());
    // ---- pass 1
    ctx.progress.stage("scanning user buckets", buckets.len() as u64);
    let mut groups = Groups::default();
    let mut scans: Vec<BucketScan> = Vec::with_capacity(buckets.len());
    let mut paths: HashMap<Vec<u32>, [f64; 3]> = HashMap::new();
    let mut latest: Option<i64> = None;
    let mut fit_stats = HazardDataStats::default();
    let progress = &ctx.progress;
    let build = |i: usize| bucket_journeys(dataset, &buckets[i], cfg);
    pipelined(buckets.len(), build, |_, j| {
        let g = grouping(&j, cfg.group_by);
        let map = groups.add(&j, &g);
        if !j.touches.is_empty() || !j.orders.is_empty() {
            latest = Some(latest.map_or(j.observation_end_us, |l: i64| l.max(j.observation_end_us)));
        }
        if markov_order.is_some() {
            for pc in path_counts(&j, &g) {
                let key: Vec<u32> = pc.path.iter().map(|&k| map[k as usize]).collect();
                let e = paths.entry(key).or_default();
                e[0] += pc.conversions;
                e[1] += pc.value;
                e[2] += pc.nulls;
            }
        }
        let mut scan = BucketScan { pieces: VecDeque::new(), epoch: j.touches.iter().map(|t| t.ts).min() };
        if fit_here {
            let (mut raw, s) = roicast_models::attribution::hazard::hazard_journeys_us(&j, &g);
            for k in &mut raw.touch_group {
                *k = map[*k as usize];
            }
            let users: Vec<String> = raw.user.iter().map(|&u| j.users[u as usize].clone()).collect();
            fit_stats.journeys += s.journeys;
            fit_stats.conversions += s.conversions;
            fit_stats.converted_before_any_touch += s.converted_before_any_touch;
            fit_stats.touches += s.touches;
            scan.pieces = pieces(&raw, users);
        }
        scans.push(scan);
        progress.advance(1);
        Ok(())
    })?;
    let Some(latest) = cfg.journeys.observation_end_us.or(latest) else {
        bail!("no touchpoints or orders in any user bucket of {}: nothing to attribute", dataset.root().display())
    };
    lap("pass 1 (journeys, globals, paths, fit journeys)");
    let (names, to_global) = groups.order();
    let epoch = scans.iter().filter_map(|s| s.epoch).min().unwrap_or(0);

    // ---- the whole data's chain and fit
    let mut removal = None;
    let mut weights: Option<Vec<f64>> = None;
    let mut path_table: Vec<PathCounts> = Vec::new();
    if let Some(order) = markov_order {
        ctx.progress.stage("solving the Markov chain", 0);
        path_table = paths
            .into_iter()
            .map(|(p, [conversions, value, nulls])| PathCounts {
                path: p.iter().map(|&k| to_global[k as usize]).collect(),
                conversions,
                value,
                nulls,
            })
            .collect();
        path_table.sort_by(|a, b| a.path.cmp(&b.path));
        let chain = removal_effects(&path_table, names.len(), order).context("attribution failed")?;
        removal = Some(chain.removal_effects);
        weights = Some(chain.journey_weights);
    }
    let hazard_file: Option<HazardModelFile> = if let Some(path) = &cfg.model_file {
        cfg.models.contains(&Model::DataDriven).then(|| load_hazard_model(path, cfg.group_by)).transpose()?
    } else if fit_here {
        ctx.progress.stage("fitting the data-driven model", 0);
        let data = merge_fit_journeys(&mut scans, &to_global, names.len(), epoch, latest)?;
        let jp = roicast_data::journeys::JourneyParams { observation_end_us: Some(latest), ..cfg.journeys };
        let (f, _) =
            fit_hazard_data(&data, fit_stats, &names, cfg.group_by, &jp, &AdditiveHazardParams::new(), latest)?;
        drop(data);
        // The single-process run records its journeys' observation end the same way.
        f.save(&staging.path("data_driven_model.json"))?;
        Some(f)
    } else {
        None
    };
    drop(scans);
    lap("chain and fit");
    if let Some(f) = &hazard_file {
        let (_, unknown) = f.hazard().aligned(&names);
        if !unknown.is_empty() {
            tracing::warn!("groups the data-driven model was not fitted on get no hazard: {}", unknown.join(", "));
        }
    }

    // ---- pass 2: credits
    let mut tally = Tally::new(&cfg.models, names.len());
    let index: HashMap<&str, u32> = names.iter().enumerate().map(|(i, n)| (n.as_str(), i as u32)).collect();
    let spill_schema = spill_schema();
    let model_names: Vec<&'static str> = cfg.models.iter().map(Model::name).collect();
    let mut spills = Vec::with_capacity(buckets.len());
    let mut stats = JourneyStats::default();
    ctx.progress.stage("crediting orders by user bucket", buckets.len() as u64);
    let staging_ref = &staging;
    pipelined(buckets.len(), build, |bi, mut j| {
        j.observation_end_us = latest;
        add_stats(&mut stats, &j.stats);
        let g = grouping(&j, cfg.group_by);
        let map: Vec<u32> = g
            .names
            .iter()
            .map(|n| index.get(n.as_str()).copied().with_context(|| format!("group `{n}` appeared in pass 2 only")))
            .collect::<anyhow::Result<_>>()?;
        let local_weights: Option<Vec<f64>> = weights.as_ref().map(|w| map.iter().map(|&k| w[k as usize]).collect());
        let hazard = hazard_file.as_ref().map(|f| f.hazard().aligned(&g.names).0);
        let path = staging_ref.scratch(&format!("credits-bucket-{bi}.arrow"));
        let mut w = Spill::create(&path, &spill_schema)?;
        let mut rows = RowBuilder::new(credits_schema());
        let mut keys = SpillKeys::default();
        let mut failure: Option<anyhow::Error> = None;
        credit_orders_into(
            &j,
            &g,
            &cfg.models,
            hazard.as_ref(),
            local_weights.as_deref(),
            Some(&map),
            &mut tally,
            |credits| {
                for c in credits {
                    push_credit(&mut rows, &j, &g, model_names[c.model as usize], c.order, c.touch, c.credit);
                    keys.push(&j, c.order as usize);
                }
                if rows.len() >= 65_536
                    && let Err(e) = keys.flush(&mut rows, &spill_schema).and_then(|b| w.write(&b))
                {
                    let msg = format!("{e:#}");
                    failure = Some(e);
                    return Err(roicast_models::ModelError::InvalidInput(msg));
                }
                Ok(())
            },
        )
        .map_err(|e| failure.take().unwrap_or_else(|| anyhow::Error::from(e)))
        .context("attribution failed")?;
        if !rows.is_empty() {
            w.write(&keys.flush(&mut rows, &spill_schema)?)?;
        }
        spills.push(w.finish()?);
        progress.advance(1);
        Ok(())
    })?;
    let totals = tally.totals(&cfg.models, &names)?;
    drop(tally);
    lap("pass 2 (journeys, credits, spills)");

    // ---- merge
    ctx.progress.stage("merging credits", stats.orders);
    let credits_path = staging.path("credits.parquet");
    let credit_rows = merge_spills(&spills, &credits_path, ctx)?;
    for s in &spills {
        std::fs::remove_file(s).with_context(|| format!("failed to remove {}", s.display()))?;
    }
    lap("merge");
    let summary_path = staging.path("attribution_summary.csv");
    write_summary(&summary_path, cfg.group_by, &totals)?;
    if let Some(p) = &cfg.paths_out {
        write_path_table(p, &path_table, &names)?;
    }
    let outputs = staging.commit()?;
    Ok(AttributionRun {
        attribution: Attribution {
            models: cfg.models.clone(),
            removal_effects: removal,
            markov_weights: weights,
            totals,
        },
        outputs,
        journeys: stats,
        credit_rows,
        hazard: hazard_file,
    })
}

/// Runs `consume` on `build(i)` for `i` in `0..n`, in order, building the next item while
/// the current one is consumed (two buckets' journeys in memory, both cores busy: a
/// journey build is mostly sequential).
fn pipelined<T: Send>(
    n: usize,
    build: impl Fn(usize) -> anyhow::Result<T> + Sync,
    mut consume: impl FnMut(usize, T) -> anyhow::Result<()> + Send,
) -> anyhow::Result<()> {
    let mut next = if n > 0 { Some(build(0)?) } else { None };
    for i in 0..n {
        let item = next.take().expect("built ahead");
        let (done, ahead) =
            rayon::join(|| consume(i, item), || if i + 1 < n { build(i + 1).map(Some) } else { Ok(None) });
        done?;
        next = ahead?;
    }
    Ok(())
}

/// The buckets' fit journeys in the single-process order (by user id), in days since
/// `epoch_us`, groups in the whole data's order.
fn merge_fit_journeys(
    scans: &mut [BucketScan],
    to_global: &[u32],
    n_groups: usize,
    epoch_us: i64,
    observation_end_us: i64,
) -> anyhow::Result<HazardData> {
    let n: usize = scans.iter().flat_map(|s| &s.pieces).map(|p| p.users.len()).sum();
    let touches: usize = scans.iter().flat_map(|s| &s.pieces).map(|p| p.raw.touch_us.len()).sum();
    let mut data = HazardData { n_groups, offsets: Vec::with_capacity(n + 1), ..HazardData::default() };
    data.offsets.push(0);
    for v in [&mut data.start, &mut data.end] {
        v.reserve_exact(n);
    }
    data.converted.reserve_exact(n);
    data.touch_time.reserve_exact(touches);
    data.touch_group.reserve_exact(touches);
    let mut at = vec![0usize; scans.len()];
    loop {
        // The bucket whose next journey's user sorts first.
        let mut best: Option<usize> = None;
        for (b, s) in scans.iter().enumerate() {
            let Some(user) = head(s, at[b]) else { continue };
            match best {
                None => best = Some(b),
                Some(x) => match user.cmp(head(&scans[x], at[x]).expect("a live bucket")) {
                    Ordering::Less => best = Some(b),
                    Ordering::Equal => bail!(
                        "user `{user}` is in more than one user bucket: partition by user (`roicast partition --by user`)"
                    ),
                    Ordering::Greater => {}
                },
            }
        }
        let Some(b) = best else { break };
        let piece = scans[b].pieces.front().expect("a live bucket");
        piece.raw.days_into(&mut data, at[b]..at[b] + 1, epoch_us, observation_end_us, |k| to_global[k as usize]);
        at[b] += 1;
        if at[b] == piece.users.len() {
            scans[b].pieces.pop_front();
            at[b] = 0;
        }
    }
    // `user` would index a bucket's users: meaningless here.
    data.user.clear();
    Ok(data)
}

/// The spill's columns: the credits' and the merge key (the order's user, time).
fn spill_schema() -> SchemaRef {
    let mut fields: Vec<Field> = credits_schema().fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.push(Field::new("_user", DataType::Utf8, true));
    fields.push(Field::new("_ts", DataType::Int64, false));
    Arc::new(Schema::new(fields))
}

/// A bucket's credits on disk until the merge: Arrow IPC, LZ4-compressed (credit rows
/// are repetitive text: a fifth of the plain size, and as fast to write as to read).
struct Spill {
    path: PathBuf,
    writer: arrow_ipc::writer::FileWriter<std::io::BufWriter<std::fs::File>>,
}

impl Spill {
    fn create(path: &std::path::Path, schema: &SchemaRef) -> anyhow::Result<Spill> {
        let f = std::fs::File::create(path).with_context(|| format!("failed to create {}", path.display()))?;
        let options = arrow_ipc::writer::IpcWriteOptions::default()
            .try_with_compression(Some(arrow_ipc::CompressionType::LZ4_FRAME))?;
        let writer = arrow_ipc::writer::FileWriter::try_new_with_options(std::io::BufWriter::new(f), schema, options)
            .with_context(|| format!("failed to write {}", path.display()))?;
        Ok(Spill { path: path.to_owned(), writer })
    }

    fn write(&mut self, batch: &RecordBatch) -> anyhow::Result<()> {
        self.writer.write(batch).with_context(|| format!("failed to write {}", self.path.display()))
    }

    fn finish(mut self) -> anyhow::Result<PathBuf> {
        self.writer.finish().with_context(|| format!("failed to write {}", self.path.display()))?;
        Ok(self.path)
    }
}

/// The merge key of each spilled row, built beside the credit rows.
#[derive(Default)]
struct SpillKeys {
    users: Vec<Option<String>>,
    ts: Vec<i64>,
}

impl SpillKeys {
    fn push(&mut self, j: &Journeys, order: usize) {
        let o = &j.orders[order];
        self.users.push((o.user != NONE).then(|| j.users[o.user as usize].clone()));
        self.ts.push(o.ts);
    }

    fn flush(&mut self, rows: &mut RowBuilder, schema: &SchemaRef) -> anyhow::Result<RecordBatch> {
        let credits = rows.finish();
        let mut columns: Vec<ArrayRef> = credits.columns().to_vec();
        columns.push(Arc::new(StringArray::from(std::mem::take(&mut self.users))));
        columns.push(Arc::new(Int64Array::from(std::mem::take(&mut self.ts))));
        Ok(RecordBatch::try_new(schema.clone(), columns)?)
    }
}

/// A spill being read: its current batch and row.
struct Cursor {
    reader: arrow_ipc::reader::FileReader<std::io::BufReader<std::fs::File>>,
    batch: Option<RecordBatch>,
    row: usize,
    path: PathBuf,
}

impl Cursor {
    fn open(path: &std::path::Path) -> anyhow::Result<Cursor> {
        let f = std::fs::File::open(path).with_context(|| format!("failed to open {}", path.display()))?;
        let reader = arrow_ipc::reader::FileReader::try_new(std::io::BufReader::new(f), None)
            .with_context(|| format!("failed to read {}", path.display()))?;
        let mut c = Cursor { reader, batch: None, row: 0, path: path.to_owned() };
        c.next_batch()?;
        Ok(c)
    }

    fn next_batch(&mut self) -> anyhow::Result<()> {
        self.row = 0;
        self.batch = loop {
            match self.reader.next() {
                Some(b) => {
                    let b = b.with_context(|| format!("failed to read {}", self.path.display()))?;
                    if b.num_rows() > 0 {
                        break Some(b);
                    }
                }
                None => break None,
            }
        };
        Ok(())
    }

    /// The current row's key: orders with a user first, by user id; then time, order id.
    fn key(&self) -> Option<(bool, &str, i64, &str)> {
        let b = self.batch.as_ref()?;
        let n = b.num_columns();
        let user = b.column(n - 2).as_string::<i32>();
        let ts = b.column(n - 1).as_primitive::<Int64Type>();
        let order = b.column(0).as_string::<i32>();
        let i = self.row;
        Some((user.is_null(i), if user.is_null(i) { "" } else { user.value(i) }, ts.value(i), order.value(i)))
    }
}

/// Rows picked from several batches, gathered into one output batch at a time.
struct Gather {
    sources: Vec<RecordBatch>,
    picks: Vec<(usize, usize)>,
    columns: usize,
}

impl Gather {
    /// Writes the picked rows (credits columns only) and starts again with `live` as
    /// the only sources; returns their new source indices.
    fn flush(
        &mut self,
        writer: &mut TableWriter,
        schema: &SchemaRef,
        live: &[Option<RecordBatch>],
    ) -> anyhow::Result<Vec<usize>> {
        if !self.picks.is_empty() {
            let columns = (0..self.columns)
                .map(|c| {
                    let arrays: Vec<&dyn Array> = self.sources.iter().map(|b| b.column(c).as_ref()).collect();
                    arrow_select::interleave::interleave(&arrays, &self.picks)
                })
                .collect::<Result<Vec<_>, _>>()?;
            writer.write(&RecordBatch::try_new(schema.clone(), columns)?)?;
        }
        self.picks.clear();
        self.sources.clear();
        Ok(live
            .iter()
            .map(|b| {
                b.as_ref().map_or(usize::MAX, |b| {
                    self.sources.push(b.clone());
                    self.sources.len() - 1
                })
            })
            .collect())
    }
}

fn merge_spills(spills: &[PathBuf], out: &std::path::Path, ctx: &Ctx) -> anyhow::Result<u64> {
    let schema = credits_schema();
    let mut writer = TableWriter::create(out, &schema)?;
    let mut cursors: Vec<Cursor> = spills.iter().map(|p| Cursor::open(p)).collect::<anyhow::Result<_>>()?;
    let mut gather = Gather { sources: Vec::new(), picks: Vec::new(), columns: schema.fields().len() };
    let live = |cursors: &[Cursor]| cursors.iter().map(|c| c.batch.clone()).collect::<Vec<_>>();
    let mut source = gather.flush(&mut writer, &schema, &live(&cursors))?;
    let mut orders_done = 0u64;
    loop {
        // The cursor with the smallest key, and the smallest key among the others.
        let mut best: Option<usize> = None;
        for c in 0..cursors.len() {
            let Some(k) = cursors[c].key() else { continue };
            if best.is_none_or(|b| k < cursors[b].key().expect("a live cursor")) {
                best = Some(c);
            }
        }
        let Some(b) = best else { break };
        let bound: Option<(bool, String, i64, String)> = cursors
            .iter()
            .enumerate()
            .filter(|(c, _)| *c != b)
            .filter_map(|(_, c)| c.key())
            .min()
            .map(|(null, user, ts, order)| (null, user.to_owned(), ts, order.to_owned()));
        // Take rows from `b` while they sort before every other cursor's head: a run of
        // whole orders.
        let n_rows = cursors[b].batch.as_ref().expect("a live cursor").num_rows();
        let mut end = cursors[b].row;
        let mut last_order: Option<String> = None;
        while end < n_rows {
            cursors[b].row = end;
            let k = cursors[b].key().expect("in the batch");
            if let Some((null, user, ts, order)) = &bound {
                if !k.0 && !*null && k.1 == user.as_str() {
                    bail!(
                        "user `{user}` is in more than one user bucket: partition by user (`roicast partition --by user`)"
                    );
                }
                if k > (*null, user.as_str(), *ts, order.as_str()) {
                    break;
                }
            }
            if last_order.as_deref() != Some(k.3) {
                orders_done += 1;
                last_order = Some(k.3.to_owned());
            }
            gather.picks.push((source[b], end));
            end += 1;
        }
        if end >= n_rows {
            cursors[b].next_batch()?;
            if let Some(batch) = &cursors[b].batch {
                gather.sources.push(batch.clone());
                source[b] = gather.sources.len() - 1;
            }
        } else {
            cursors[b].row = end;
        }
        if gather.picks.len() >= roicast_data::io::WRITE_ROWS {
            source = gather.flush(&mut writer, &schema, &live(&cursors))?;
            ctx.progress.advance(orders_done);
            orders_done = 0;
        }
    }
    gather.flush(&mut writer, &schema, &[])?;
    ctx.progress.advance(orders_done);
    let rows = writer.rows();
    writer.finish()?;
    Ok(rows)
}
