//! The history job: turns a finished run into `campaign_history` rows — one per
//! campaign × creator × platform, with the features the forecast uses and the measured
//! cost and attributed revenue — so roicast's own measurements train its forecast.
//!
//! It reads the run's `engagement/posts_scored.parquet` (posts, followers, engagement
//! rate and its benchmark, format, impressions, link clicks), `engagement/
//! creator_scorecard.parquet` (audience quality, 0–100), `attribution/credits.parquet`
//! (attributed revenue and orders per campaign × creator under one model),
//! `roi/creator_campaign.csv` (full cost and deal terms) and the dataset's `creators`
//! (niche, country) and `campaigns` (start). With `append`, rows already in the output
//! file are kept; a measured row replaces a row with the same key
//! (`creator_id, platform, started_at`), and an identical one is left as it is.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, bail};
use arrow_array::builder::{Float64Builder, Int64Builder, StringBuilder, TimestampMicrosecondBuilder};
use arrow_array::cast::AsArray as _;
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use roicast_data::io::FileReader;
use roicast_data::validate::Progress as _;
use roicast_data::{Kind, Table};
use roicast_models::forecast::Cell;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::report::Frame;
use super::{Ctx, Rejected};
use crate::output::columns::{text, ts};
use crate::output::{FileRecord, ManifestBuilder};

fn data_driven() -> String {
    "data_driven".into()
}

/// Measured history from a run (`roicast history`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// A finished run's results folder (engagement, attribution and roi outputs).
    pub results: PathBuf,
    /// The dataset the run read (default: the `data` of the run's `run.manifest.json`).
    #[serde(default)]
    pub data: Option<PathBuf>,
    /// The attribution model whose revenue is the measured outcome.
    #[serde(default = "data_driven")]
    pub model: String,
    /// The history file to write (Parquet, CSV or Arrow by extension).
    pub out: PathBuf,
    /// Keep the rows already in `out`, replacing those a measured row supersedes.
    #[serde(default)]
    pub append: bool,
}

/// A campaign × creator the run has a cost for but no row could be measured for.
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    /// The campaign.
    pub campaign_id: String,
    /// The creator.
    pub creator_id: String,
    /// Why.
    pub reason: String,
}

/// What the history job wrote.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// The history file.
    pub out: PathBuf,
    /// The attribution model of `revenue` and `orders`.
    pub model: String,
    /// Rows measured from the run.
    pub measured: usize,
    /// Earlier rows kept (with `append`).
    pub kept: usize,
    /// Earlier rows a measured row replaced.
    pub replaced: usize,
    /// Measured rows identical to an earlier row.
    pub unchanged: usize,
    /// Rows written in all.
    pub rows: usize,
    /// Cost without sponsored posts, or posts without a campaign start: not measured.
    pub skipped: Vec<Skipped>,
    /// Measured rows that made money under the model (revenue > cost).
    pub profitable: usize,
}

/// Columns the measured history adds beside the contract's: provenance, never features.
pub const PROVENANCE: &[&str] = &["campaign_id", "attribution_model", "source", "engagement_rate_vs_benchmark"];

/// One history row: column → cell (timestamps as µs).
type Row = BTreeMap<String, Cell>;

/// (campaign, creator, platform) → (attributed revenue, attributed orders).
/// campaign, creator, platform.
type PairKey = (String, String, String);
type Attributed = BTreeMap<PairKey, (f64, f64)>;

/// (campaign, creator) → (full cost, flat fee, commission rate).
type PairCosts = BTreeMap<(String, String), (f64, f64, Option<f64>)>;

#[derive(Default)]
struct Pair {
    posts: u64,
    first_post: Option<(i64, f64)>,
    er_sum: f64,
    er_n: u64,
    rel_sum: f64,
    rel_n: u64,
    formats: BTreeMap<String, u64>,
    impressions: Option<f64>,
    clicks: Option<f64>,
}

fn add(acc: &mut Option<f64>, v: Option<f64>) {
    if let Some(v) = v {
        *acc = Some(acc.unwrap_or(0.0) + v);
    }
}

fn run_data(results: &Path) -> anyhow::Result<PathBuf> {
    let path = results.join("run.manifest.json");
    let bytes = std::fs::read(&path).with_context(|| {
        format!("{} has no run.manifest.json to find the dataset in: pass --data DIR", results.display())
    })?;
    let m: serde_json::Value =
        serde_json::from_slice(&bytes).with_context(|| format!("{}: not a run manifest", path.display()))?;
    m["config"]["data"]
        .as_str()
        .map(PathBuf::from)
        .with_context(|| format!("{}: `config.data` is missing: pass --data DIR", path.display()))
}

fn need(path: &Path, made_by: &str) -> anyhow::Result<()> {
    if !path.exists() {
        bail!("{} is missing: the history needs the outputs of {made_by} in the results folder", path.display());
    }
    Ok(())
}

/// (campaign, creator, platform) → (revenue, orders) under `model`, streamed from credits.
fn attributed(path: &Path, model: &str) -> anyhow::Result<Attributed> {
    let mut index: roicast_models::FxMap<String, usize> = roicast_models::FxMap::default();
    let mut slots: Vec<(PairKey, (f64, f64))> = Vec::new();
    let mut key = String::new();
    let mut models = BTreeSet::new();
    let columns = ["model", "creator_id", "campaign_id", "platform", "credit", "revenue"];
    let mut r = FileReader::open_columns(Table::Orders, path, &columns)
        .with_context(|| format!("failed to open {}", path.display()))?;
    let mut last_model = String::new();
    while let Some(raw) = r.next_batch()? {
        let b = raw.batch;
        let col = |n: &str| -> anyhow::Result<ArrayRef> {
            let i = b.schema().index_of(n).map_err(|_| super::bad_file(path, format!("no column `{n}`")))?;
            Ok(arrow_cast::cast(b.column(i), &DataType::Utf8)?)
        };
        let num = |n: &str| -> anyhow::Result<ArrayRef> {
            let i = b.schema().index_of(n).map_err(|_| super::bad_file(path, format!("no column `{n}`")))?;
            Ok(arrow_cast::cast(b.column(i), &DataType::Float64)?)
        };
        let (m, cr, ca, pl) = (col("model")?, col("creator_id")?, col("campaign_id")?, col("platform")?);
        let (credit, revenue) = (num("credit")?, num("revenue")?);
        let (m, cr, ca, pl) =
            (m.as_string::<i32>(), cr.as_string::<i32>(), ca.as_string::<i32>(), pl.as_string::<i32>());
        let (credit, revenue) = (
            credit.as_primitive::<arrow_array::types::Float64Type>(),
            revenue.as_primitive::<arrow_array::types::Float64Type>(),
        );
        for i in 0..b.num_rows() {
            // Rows come in runs of one model: the set is consulted when the model changes.
            if m.value(i) != last_model {
                last_model.clear();
                last_model.push_str(m.value(i));
                if models.len() < 64 && !models.contains(m.value(i)) {
                    models.insert(m.value(i).to_owned());
                }
            }
            if m.value(i) != model || cr.is_null(i) || ca.is_null(i) {
                continue;
            }
            let platform = if pl.is_null(i) { "" } else { pl.value(i) };
            // Looked up by a length-prefixed key in a reused buffer: owned strings are
            // made once per campaign × creator × platform, not once per credit row.
            key.clear();
            for part in [ca.value(i), cr.value(i), platform] {
                let _ = write!(key, "{}:{part}", part.len());
            }
            let slot = if let Some(&k) = index.get(key.as_str()) {
                k
            } else {
                index.insert(key.clone(), slots.len());
                slots.push(((ca.value(i).to_owned(), cr.value(i).to_owned(), platform.to_owned()), (0.0, 0.0)));
                slots.len() - 1
            };
            let e = &mut slots[slot].1;
            e.0 += revenue.value(i);
            e.1 += credit.value(i);
        }
    }
    let out: Attributed = slots.into_iter().collect();
    if !models.contains(model) {
        bail!(
            "{}: no credits under the model `{model}` (models in the file: {})",
            path.display(),
            models.into_iter().collect::<Vec<_>>().join(", ")
        );
    }
    Ok(out)
}

/// campaign × creator → (cost, flat fee, commission rate), from the ROI job.
fn costs(path: &Path) -> anyhow::Result<PairCosts> {
    let mut out = PairCosts::new();
    let mut r = csv::Reader::from_path(path).with_context(|| format!("failed to open {}", path.display()))?;
    for (k, row) in r.deserialize::<BTreeMap<String, String>>().enumerate() {
        let row = row.with_context(|| format!("{}: row {}", path.display(), k + 1))?;
        let f = |c: &str| -> anyhow::Result<Option<f64>> {
            let v = row.get(c).map(String::as_str).unwrap_or_default();
            if v.is_empty() {
                return Ok(None);
            }
            v.parse()
                .map(Some)
                .with_context(|| format!("{}: row {}, column {c}: not a number: `{v}`", path.display(), k + 1))
        };
        out.insert(
            (row["campaign_id"].clone(), row["creator_id"].clone()),
            (f("cost")?.unwrap_or(0.0), f("flat_fee")?.unwrap_or(0.0), f("commission_rate")?),
        );
    }
    Ok(out)
}

/// The measured rows of a run, keyed for merging.
fn measure(ctx: &Ctx, c: &Config, data: &Path) -> anyhow::Result<(Vec<Row>, Vec<Skipped>)> {
    let posts_path = c.results.join("engagement").join("posts_scored.parquet");
    let cards_path = c.results.join("engagement").join("creator_scorecard.parquet");
    let credits_path = c.results.join("attribution").join("credits.parquet");
    let costs_path = c.results.join("roi").join(super::roi::CREATOR_CAMPAIGN_FILE);
    need(&posts_path, "the engagement job")?;
    need(&cards_path, "the engagement job")?;
    need(&credits_path, "the attribution job (grouped by creator)")?;
    need(&costs_path, "the ROI job")?;
    let dataset = ctx.open_dataset(data)?;
    // Creators: niche, country.
    let mut profile: BTreeMap<(String, String), (Option<String>, Option<String>)> = BTreeMap::new();
    for b in dataset.load(Table::Creators)? {
        let t = Table::Creators;
        for i in 0..b.num_rows() {
            profile.insert(
                (text(&b, t, "creator_id", i).unwrap_or_default(), text(&b, t, "platform", i).unwrap_or_default()),
                (text(&b, t, "niche", i), text(&b, t, "country", i)),
            );
        }
    }
    let mut starts: BTreeMap<String, i64> = BTreeMap::new();
    if dataset.has(Table::Campaigns) {
        for b in dataset.load(Table::Campaigns)? {
            let t = Table::Campaigns;
            for i in 0..b.num_rows() {
                if let (Some(id), Some(at)) = (text(&b, t, "campaign_id", i), ts(&b, t, "starts_at", i)) {
                    starts.insert(id, at);
                }
            }
        }
    }
    let posts = Frame::read(&posts_path)?;
    let mut pairs: BTreeMap<(String, String, String), Pair> = BTreeMap::new();
    for i in 0..posts.rows {
        let campaign = posts.t("campaign_id", i);
        if campaign.is_empty() {
            continue;
        }
        let key = (campaign.to_owned(), posts.t("creator_id", i).to_owned(), posts.t("platform", i).to_owned());
        let p = pairs.entry(key).or_default();
        p.posts += 1;
        let at = posts.n("published_at", i).unwrap_or(0.0) as i64;
        let followers = posts.n("followers", i).unwrap_or(0.0);
        if p.first_post.is_none_or(|(t, _)| at < t) {
            p.first_post = Some((at, followers));
        }
        if let Some(er) = posts.n("er_followers", i) {
            p.er_sum += er;
            p.er_n += 1;
        }
        if let Some(r) = posts.n("er_relative", i) {
            p.rel_sum += r;
            p.rel_n += 1;
        }
        *p.formats.entry(posts.t("format", i).to_owned()).or_default() += 1;
        add(&mut p.impressions, posts.n("impressions", i));
        add(&mut p.clicks, posts.n("link_clicks", i));
    }
    let cards = Frame::read(&cards_path)?;
    let aq: BTreeMap<(String, String), f64> = (0..cards.rows)
        .filter_map(|i| {
            cards
                .n("audience_quality", i)
                .map(|v| ((cards.t("creator_id", i).to_owned(), cards.t("platform", i).to_owned()), v))
        })
        .collect();
    let revenue = attributed(&credits_path, &c.model)?;
    let cost = costs(&costs_path)?;
    let mut rows = Vec::new();
    let mut skipped = Vec::new();
    let mut measured: BTreeSet<(String, String)> = BTreeSet::new();
    for ((campaign, creator, platform), p) in &pairs {
        measured.insert((campaign.clone(), creator.clone()));
        let (first_at, followers) = p.first_post.expect("a pair has a post");
        let started_at = starts.get(campaign).copied().unwrap_or(first_at);
        let (cost, flat, rate) = cost.get(&(campaign.clone(), creator.clone())).copied().unwrap_or((0.0, 0.0, None));
        let (rev, orders) =
            revenue.get(&(campaign.clone(), creator.clone(), platform.clone())).copied().unwrap_or_default();
        let format = p.formats.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0))).map(|(f, _)| f.clone());
        let (niche, country) = profile.get(&(creator.clone(), platform.clone())).cloned().unwrap_or_default();
        let opt_cat = |v: Option<String>| v.map_or(Cell::Missing, Cell::Cat);
        let opt_num = |v: Option<f64>| v.map_or(Cell::Missing, Cell::Num);
        let mut r = Row::new();
        r.insert("creator_id".into(), Cell::Cat(creator.clone()));
        r.insert("platform".into(), Cell::Cat(platform.clone()));
        r.insert("started_at".into(), Cell::Num(started_at as f64));
        r.insert("followers".into(), Cell::Num(followers.round()));
        r.insert("posts".into(), Cell::Num(p.posts as f64));
        r.insert("engagement_rate".into(), Cell::Num(if p.er_n > 0 { p.er_sum / p.er_n as f64 } else { 0.0 }));
        r.insert("cost".into(), Cell::Num(cost));
        r.insert("revenue".into(), Cell::Num(rev.max(0.0)));
        r.insert("niche".into(), opt_cat(niche));
        r.insert("country".into(), opt_cat(country));
        r.insert("format".into(), opt_cat(format));
        r.insert("audience_quality".into(), opt_num(aq.get(&(creator.clone(), platform.clone())).copied()));
        r.insert("flat_fee".into(), Cell::Num(flat));
        r.insert("commission_rate".into(), opt_num(rate));
        r.insert("impressions".into(), opt_num(p.impressions.map(f64::round)));
        r.insert("clicks".into(), opt_num(p.clicks.map(f64::round)));
        r.insert("orders".into(), Cell::Num(orders.round()));
        r.insert("campaign_id".into(), Cell::Cat(campaign.clone()));
        r.insert("attribution_model".into(), Cell::Cat(c.model.clone()));
        r.insert("source".into(), Cell::Cat("measured".into()));
        r.insert("engagement_rate_vs_benchmark".into(), opt_num((p.rel_n > 0).then(|| p.rel_sum / p.rel_n as f64)));
        rows.push(r);
    }
    for (campaign, creator) in cost.keys() {
        if !measured.contains(&(campaign.clone(), creator.clone())) {
            skipped.push(Skipped {
                campaign_id: campaign.clone(),
                creator_id: creator.clone(),
                reason: "a cost but no sponsored post in the campaign: nothing to measure engagement on".into(),
            });
        }
    }
    Ok((rows, skipped))
}

fn key(r: &Row) -> (String, String, i64) {
    let s = |c: &str| match r.get(c) {
        Some(Cell::Cat(v)) => v.clone(),
        Some(Cell::Num(x)) => x.to_string(),
        _ => String::new(),
    };
    let at = match r.get("started_at") {
        Some(Cell::Num(x)) => *x as i64,
        _ => 0,
    };
    (s("creator_id"), s("platform"), at)
}

fn same(a: &Row, b: &Row) -> bool {
    let cols: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    cols.into_iter().all(|c| {
        let x = a.get(c).unwrap_or(&Cell::Missing);
        let y = b.get(c).unwrap_or(&Cell::Missing);
        match (x, y) {
            (Cell::Num(p), Cell::Num(q)) => p == q || (p - q).abs() <= 1e-9 * p.abs().max(q.abs()),
            _ => x == y,
        }
    })
}

fn read_existing(path: &Path) -> anyhow::Result<Vec<Row>> {
    let cols = super::forecast::read_cells(Table::CampaignHistory, path)?;
    let n = cols.get("creator_id").map_or(0, Vec::len);
    Ok((0..n).map(|i| cols.iter().map(|(k, v)| (k.clone(), v[i].clone())).collect()).collect())
}

/// Writes rows: the contract's columns in order and types, then every other column
/// (numeric when every value is a number, else text).
fn write(path: &Path, rows: &[Row]) -> anyhow::Result<()> {
    let spec = Table::CampaignHistory.spec();
    let mut extra: BTreeSet<&String> = BTreeSet::new();
    for r in rows {
        extra.extend(r.keys().filter(|k| spec.index_of(k).is_none()));
    }
    let mut fields = Vec::new();
    let mut arrays: Vec<ArrayRef> = Vec::new();
    let get = |r: &Row, c: &str| r.get(c).cloned().unwrap_or(Cell::Missing);
    for c in spec.columns {
        let kind = c.kind;
        let (dt, a): (DataType, ArrayRef) = match kind {
            Kind::Int => {
                let mut b = Int64Builder::new();
                for r in rows {
                    match get(r, c.name) {
                        Cell::Num(x) => b.append_value(x.round() as i64),
                        _ => b.append_null(),
                    }
                }
                (DataType::Int64, Arc::new(b.finish()))
            }
            Kind::Float => {
                let mut b = Float64Builder::new();
                for r in rows {
                    match get(r, c.name) {
                        Cell::Num(x) => b.append_value(x),
                        _ => b.append_null(),
                    }
                }
                (DataType::Float64, Arc::new(b.finish()))
            }
            Kind::Timestamp => {
                let mut b = TimestampMicrosecondBuilder::new().with_timezone(roicast_data::schema::UTC);
                for r in rows {
                    match get(r, c.name) {
                        Cell::Num(x) => b.append_value(x as i64),
                        _ => b.append_null(),
                    }
                }
                (kind.data_type(), Arc::new(b.finish()))
            }
            Kind::Text | Kind::Bool => {
                let mut b = StringBuilder::new();
                for r in rows {
                    match get(r, c.name) {
                        Cell::Cat(s) => b.append_value(s),
                        Cell::Num(x) => b.append_value(x.to_string()),
                        Cell::Missing => b.append_null(),
                    }
                }
                (DataType::Utf8, Arc::new(b.finish()))
            }
        };
        fields.push(Field::new(c.name, dt, c.nullable));
        arrays.push(a);
    }
    for c in extra {
        let numeric = rows.iter().all(|r| !matches!(r.get(c.as_str()), Some(Cell::Cat(_))));
        if numeric {
            let mut b = Float64Builder::new();
            for r in rows {
                match get(r, c) {
                    Cell::Num(x) => b.append_value(x),
                    _ => b.append_null(),
                }
            }
            fields.push(Field::new(c.as_str(), DataType::Float64, true));
            arrays.push(Arc::new(b.finish()));
        } else {
            let mut b = StringBuilder::new();
            for r in rows {
                match get(r, c) {
                    Cell::Cat(s) => b.append_value(s),
                    Cell::Num(x) => b.append_value(x.to_string()),
                    Cell::Missing => b.append_null(),
                }
            }
            fields.push(Field::new(c.as_str(), DataType::Utf8, true));
            arrays.push(Arc::new(b.finish()));
        }
    }
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(schema.clone(), arrays)?;
    crate::output::create_parent(path)?;
    roicast_data::io::write_table(path, &schema, &[batch])
        .with_context(|| format!("failed to write {}", path.display()))?;
    Ok(())
}

/// Measures the run's campaigns × creators and writes (or extends) the history file.
pub fn run(ctx: &Ctx, c: &Config) -> anyhow::Result<Summary> {
    let mut m = ManifestBuilder::start("history");
    if !c.results.is_dir() {
        bail!(
            "the results folder {} does not exist: pass the out folder of a finished `roicast run`",
            c.results.display()
        );
    }
    let data = match &c.data {
        Some(d) => d.clone(),
        None => run_data(&c.results)?,
    };
    ctx.progress.stage("measuring campaigns × creators", 0);
    let (mut rows, skipped) = measure(ctx, c, &data)?;
    rows.sort_by_key(key);
    let mut seen: BTreeMap<(String, String, i64), usize> = BTreeMap::new();
    for (i, r) in rows.iter().enumerate() {
        if let Some(&j) = seen.get(&key(r)) {
            let campaign = |r: &Row| match r.get("campaign_id") {
                Some(Cell::Cat(s)) => s.clone(),
                _ => String::new(),
            };
            return Err(Rejected {
                message: format!(
                    "campaigns {} and {} of creator {} on {} start at the same instant: campaign_history's key \
                     (creator_id, platform, started_at) would hold both; give them distinct starts_at",
                    campaign(&rows[j]),
                    campaign(r),
                    key(r).0,
                    key(r).1
                ),
                rejects: Vec::new(),
                n_rejects: 1,
                details: None,
            }
            .into());
        }
        seen.insert(key(r), i);
    }
    let measured = rows.len();
    let (mut replaced, mut unchanged) = (0, 0);
    let mut all: BTreeMap<(String, String, i64), Row> = BTreeMap::new();
    if c.append && c.out.exists() {
        for r in read_existing(&c.out)? {
            all.insert(key(&r), r);
        }
    }
    let earlier = all.len();
    for r in rows {
        match all.get(&key(&r)) {
            Some(old) if same(old, &r) => unchanged += 1,
            Some(_) => {
                replaced += 1;
                all.insert(key(&r), r);
            }
            None => {
                all.insert(key(&r), r);
            }
        }
    }
    let kept = earlier - replaced - unchanged;
    let rows: Vec<Row> = all.into_values().collect();
    write(&c.out, &rows)?;
    ctx.progress.finish();
    m.stage_done("history");
    let profitable = rows
        .iter()
        .filter(|r| matches!(r.get("source"), Some(Cell::Cat(s)) if s == "measured"))
        .filter(|r| matches!((r.get("revenue"), r.get("cost")), (Some(Cell::Num(rev)), Some(Cell::Num(cost))) if rev > cost))
        .count();
    let inputs = [
        c.results.join("engagement").join("posts_scored.parquet"),
        c.results.join("engagement").join("creator_scorecard.parquet"),
        c.results.join("attribution").join("credits.parquet"),
        c.results.join("roi").join(super::roi::CREATOR_CAMPAIGN_FILE),
    ];
    let manifest = m.finish(
        json!({ "results": c.results, "data": data, "model": c.model, "append": c.append }),
        crate::output::records(inputs.iter())?,
        vec![FileRecord::of(&c.out)?],
        BTreeMap::from([("rows".to_owned(), rows.len() as u64), ("measured".to_owned(), measured as u64)]),
        "ok",
    );
    manifest.write(&crate::output::parent_dir(&c.out))?;
    Ok(Summary {
        out: c.out.clone(),
        model: c.model.clone(),
        measured,
        kept,
        replaced,
        unchanged,
        rows: rows.len(),
        skipped,
        profitable,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(creator: &str, at: f64, revenue: f64) -> Row {
        Row::from([
            ("creator_id".to_owned(), Cell::Cat(creator.into())),
            ("platform".to_owned(), Cell::Cat("tiktok".into())),
            ("started_at".to_owned(), Cell::Num(at)),
            ("revenue".to_owned(), Cell::Num(revenue)),
        ])
    }

    #[test]
    fn rows_are_keyed_by_creator_platform_and_start() {
        assert_eq!(key(&row("c1", 5.0, 1.0)), ("c1".into(), "tiktok".into(), 5));
        assert!(same(&row("c1", 5.0, 1.0), &row("c1", 5.0, 1.0)));
        assert!(!same(&row("c1", 5.0, 1.0), &row("c1", 5.0, 2.0)));
        let mut extra = row("c1", 5.0, 1.0);
        extra.insert("note".into(), Cell::Cat("x".into()));
        assert!(!same(&extra, &row("c1", 5.0, 1.0)), "an extra column is content");
    }

    #[test]
    fn written_history_reads_back_with_every_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.csv");
        let mut r = row("c1", 1_700_000_000_000_000.0, 120.5);
        for (k, v) in [("followers", 1000.0), ("posts", 2.0), ("engagement_rate", 0.05), ("cost", 100.0)] {
            r.insert(k.into(), Cell::Num(v));
        }
        r.insert("campaign_id".into(), Cell::Cat("k1".into()));
        r.insert("engagement_rate_vs_benchmark".into(), Cell::Num(1.25));
        write(&path, std::slice::from_ref(&r)).unwrap();
        let back = read_existing(&path).unwrap();
        assert_eq!(back.len(), 1);
        assert!(same(&back[0], &r), "{:?}\n{:?}", back[0], r);
    }
}
