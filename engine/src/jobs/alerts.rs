//! `roicast alerts`: what changed in a running program — engagement spikes and drops of a
//! creator's new posts, click-through and conversion drops of creator traffic, sentiment
//! shifts in the comments, campaigns spending ahead of their budget.
//!
//! The series, per creator × platform (and, for the rates, per campaign):
//! - `engagement_rate`: each post's (likes + comments + shares + saves) / exposure (views,
//!   else reach, else impressions), against the creator's previous posts;
//! - `velocity_24h`: the same engagement at the snapshot closest to 24 hours after
//!   publication (`post_snapshots`), over the exposure — how fast a new post takes off;
//! - `ctr`: creator clicks / creator impressions a day (touchpoints);
//! - `conversion_rate`: orders a day whose user clicked the creator's link in the 7 days
//!   before / the creator's clicks that day;
//! - `negative_share`: negative comments / scored comments a day (the sentiment job's
//!   `comments_sentiment.parquet` in the results folder);
//! - `spend_pace` per campaign: spend to date (fixed costs incurred, commissions and
//!   per-conversion fees on promo-code orders) projected to the campaign's end, against
//!   its budget.
//!
//! Detection is [`roicast_models::monitor`] (method and false-alarm rate in
//! docs/monitoring.md). A series with too little history is not judged: it is listed in
//! `<out>_coverage.csv` as such.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, bail};
use arrow_array::Array as _;
use arrow_array::cast::AsArray as _;
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use rayon::prelude::*;
use roicast_data::Table;
use roicast_data::builder::RowBuilder;
use roicast_data::io::TableWriter;
use roicast_models::monitor::{self, Coverage, Direction, Finding, Settings};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::Ctx;
use crate::output::columns::{float, int, text, ts};
use crate::output::{FileRecord, ManifestBuilder};

const DAY: i64 = 86_400_000_000;
/// An order counts as a conversion of creator traffic when the user clicked the
/// creator's link at most this long before.
const CONVERSION_WINDOW: i64 = 7 * DAY;
/// Days of the series drawn around an alert in `<out>_series.csv`.
const CONTEXT_DAYS: i64 = 28;

/// How series are judged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Robust baselines: median/MAD of previous posts, quasi-Poisson rates against a
    /// trailing 56-day baseline (docs/monitoring.md).
    #[default]
    Robust,
    /// The textbook baseline, for comparison: a day beyond the whole series' mean ± 2σ.
    Naive,
}

/// The alerts job.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The dataset folder (posts, creators, touchpoints, orders, campaigns, costs,
    /// tracking_assets; each optional).
    pub data: PathBuf,
    /// A results folder: `sentiment/comments_sentiment.parquet` is used when present.
    pub results: PathBuf,
    /// The alerts file: `.parquet`, `.csv` or `.jsonl`. JSON Lines are always written
    /// beside a table (`alerts.jsonl` beside `alerts.parquet`), with the coverage of every
    /// series (`<stem>_coverage.csv`) and the series around each alert (`<stem>_series.csv`).
    pub out: PathBuf,
    /// Report only alerts whose window ends at or after this instant (RFC 3339 or a date).
    #[serde(default)]
    pub since: Option<String>,
    /// Judge the data as it stood at this instant (default: the latest time in the data).
    #[serde(default)]
    pub as_of: Option<String>,
    /// How to judge the series.
    #[serde(default)]
    pub method: Method,
    /// A campaign is over pace when its projected spend exceeds its budget by this share.
    #[serde(default = "default_tolerance")]
    pub budget_tolerance: f64,
    /// Weekday effects on the creator rates (CTR, conversion rate, negative share): the
    /// pseudo-events each weekday's factor is shrunk toward 1 with
    /// ([`Settings::weekday_prior`]); `None` judges every day against the same baseline
    /// rate. Campaign series are always judged without weekday factors.
    #[serde(default = "default_weekday_prior")]
    pub weekday_prior: Option<f64>,
}

fn default_tolerance() -> f64 {
    0.05
}

/// The default of [`Config::weekday_prior`]: 5 pseudo-events, chosen on seeds 1–3 among
/// off, 5, 20 and 80 (`the_default_weekday_prior_is_the_one_chosen_on_in_domain_seeds` in tests/alerts.rs; docs/monitoring.md).
#[must_use]
pub fn default_weekday_prior() -> Option<f64> {
    Some(5.0)
}

impl Config {
    /// Defaults for `data`, `results` and `out`.
    #[must_use]
    pub fn new(data: PathBuf, results: PathBuf, out: PathBuf) -> Config {
        Config {
            data,
            results,
            out,
            since: None,
            as_of: None,
            method: Method::Robust,
            budget_tolerance: 0.05,
            weekday_prior: default_weekday_prior(),
        }
    }
}

/// One alert (one row of the alerts file).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Alert {
    /// A stable id: the same alert on the same data has the same id.
    pub alert_id: String,
    /// engagement_spike, engagement_drop, ctr_drop, conversion_drop, sentiment_shift or
    /// pace_over_budget.
    pub kind: String,
    /// The series that moved: engagement_rate, ctr, conversion_rate, negative_share, spend_pace.
    pub series: String,
    /// `creator` or `campaign`: what the series is of.
    pub scope: String,
    /// The creator (null for a campaign's series).
    pub creator_id: Option<String>,
    /// The creator's handle when the creators table has it.
    pub handle: Option<String>,
    /// The platform.
    pub platform: Option<String>,
    /// The campaign.
    pub campaign_id: Option<String>,
    /// First day of the episode (RFC 3339, 00:00 UTC).
    pub window_start: String,
    /// End of its last day (exclusive).
    pub window_end: String,
    /// End of the day the alert would first have fired.
    pub detected_at: String,
    /// What the series showed in its most significant window.
    pub observed: f64,
    /// What the baseline expected.
    pub expected: f64,
    /// The baseline's 99 % band: lower end.
    pub lower: f64,
    /// Upper end.
    pub upper: f64,
    /// observed / expected.
    pub ratio: f64,
    /// One-sided p-value of the most significant window (0 for a budget overrun).
    pub p_value: f64,
    /// high or medium.
    pub severity: String,
    /// Posts, impressions, clicks or comments in the window; the budget for spend pace.
    pub evidence: f64,
    /// One line for a person.
    pub explanation: String,
    #[serde(skip)]
    start_day: i64,
    #[serde(skip)]
    end_day: i64,
    #[serde(skip)]
    detected_day: i64,
    #[serde(skip)]
    key: String,
}

/// Whether one series could be judged (a row of `<stem>_coverage.csv`).
#[derive(Debug, Clone, Serialize)]
pub struct SeriesCoverage {
    /// The series.
    pub series: String,
    /// creator or campaign.
    pub scope: String,
    /// Creator or campaign id.
    pub id: String,
    /// Platform (creators).
    pub platform: Option<String>,
    /// Judged at least once.
    pub checked: bool,
    /// Windows judged.
    pub windows: usize,
    /// Windows skipped for too little history or volume.
    pub skipped: usize,
}

/// What the job found.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// The alerts file.
    pub out: PathBuf,
    /// The JSON Lines file.
    pub jsonl: PathBuf,
    /// The method.
    pub method: Method,
    /// The instant the data was judged at (RFC 3339).
    pub as_of: String,
    /// Alerts written (after `since`).
    pub alerts: usize,
    /// Alerts by kind.
    pub by_kind: BTreeMap<String, usize>,
    /// Series judged, by series name.
    pub series_checked: BTreeMap<String, usize>,
    /// Series with too little history or volume to be judged, by series name.
    pub series_too_short: BTreeMap<String, usize>,
    /// What was not available (a missing table or results file).
    pub notes: Vec<String>,
    /// Every alert.
    pub rows: Vec<Alert>,
}

/// A creator × platform.
type CreatorKey = (String, String);

/// What one creator's posts and traffic look like, by day.
#[derive(Default)]
struct Daily {
    /// day → (events, exposure)
    days: BTreeMap<i64, (f64, f64)>,
}

impl Daily {
    fn add(&mut self, day: i64, k: f64, n: f64) {
        let e = self.days.entry(day).or_default();
        e.0 += k;
        e.1 += n;
    }

    /// Dense vectors from the first day to `last`.
    fn dense(&self, last: i64) -> Option<(i64, Vec<f64>, Vec<f64>)> {
        let first = *self.days.keys().next()?;
        if first > last {
            return None;
        }
        let len = usize::try_from(last - first + 1).ok()?;
        let (mut k, mut n) = (vec![0.0; len], vec![0.0; len]);
        for (&d, &(a, b)) in self.days.range(..=last) {
            let i = usize::try_from(d - first).ok()?;
            k[i] = a;
            n[i] = b;
        }
        Some((first, k, n))
    }
}

/// One series to judge.
struct Series {
    name: &'static str,
    scope: &'static str,
    id: String,
    platform: Option<String>,
    campaign: Option<String>,
    kind: Kind,
}

enum Kind {
    /// (day, value) per post, and the kinds of a rise and a drop.
    Posts(Vec<(i64, f64)>, Option<&'static str>, Option<&'static str>),
    /// Daily counts, and the kind of a rise or a drop.
    Counts(Daily, Direction, &'static str),
}

/// Everything read from the dataset.
#[derive(Default)]
struct Inputs {
    handles: BTreeMap<CreatorKey, String>,
    posts: BTreeMap<CreatorKey, Vec<(i64, f64)>>,
    /// post → creator, platform, campaign.
    post_owner: BTreeMap<String, (CreatorKey, Option<String>)>,
    /// post → published at, exposure (for the 24-hour velocity).
    post_time: BTreeMap<String, (i64, f64)>,
    /// Per creator: (published at, engagement in the first 24 hours / exposure) per post.
    velocity: BTreeMap<CreatorKey, Vec<(i64, f64)>>,
    /// creator → (day, campaign) of its sponsored posts.
    sponsored: BTreeMap<CreatorKey, Vec<(i64, String)>>,
    ctr: BTreeMap<CreatorKey, Daily>,
    campaign_ctr: BTreeMap<String, Daily>,
    conversion: BTreeMap<CreatorKey, Daily>,
    campaign_conversion: BTreeMap<String, Daily>,
    negative: BTreeMap<CreatorKey, Daily>,
    campaign_negative: BTreeMap<String, Daily>,
    latest: i64,
    notes: Vec<String>,
}

fn day_of(us: i64) -> i64 {
    us.div_euclid(DAY)
}

fn parse_instant(s: &str, what: &str) -> anyhow::Result<i64> {
    let t = s.trim();
    if let Some(us) = roicast_data::conform::parse_timestamp_us(t) {
        return Ok(us);
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc().timestamp_micros());
    }
    Err(super::InvalidSettings(anyhow::anyhow!(
        "--{what} `{s}`: expected an RFC 3339 time (2025-06-01T00:00:00Z) or a date (2025-06-01)"
    ))
    .into())
}

/// Reads every table the series need.
fn read_inputs(ctx: &Ctx, c: &Config) -> anyhow::Result<Inputs> {
    let dataset = ctx.open_dataset(&c.data)?;
    let mut inp = Inputs { latest: i64::MIN, ..Inputs::default() };
    if dataset.has(Table::Creators) {
        dataset.stream::<anyhow::Error>(Table::Creators, |b| {
            let t = Table::Creators;
            for i in 0..b.num_rows() {
                if let (Some(id), Some(p), Some(h)) =
                    (text(b, t, "creator_id", i), text(b, t, "platform", i), text(b, t, "handle", i))
                {
                    inp.handles.insert((id, p), h);
                }
            }
            Ok(())
        })?;
    }
    if dataset.has(Table::Posts) {
        dataset.stream::<anyhow::Error>(Table::Posts, |b| {
            let t = Table::Posts;
            for i in 0..b.num_rows() {
                let (Some(post), Some(creator), Some(platform), Some(at)) = (
                    text(b, t, "post_id", i),
                    text(b, t, "creator_id", i),
                    text(b, t, "platform", i),
                    ts(b, t, "published_at", i),
                ) else {
                    continue;
                };
                inp.latest = inp.latest.max(at);
                let key = (creator, platform);
                let campaign = text(b, t, "campaign_id", i);
                let exposure = int(b, t, "views", i)
                    .or_else(|| int(b, t, "reach", i))
                    .or_else(|| int(b, t, "impressions", i))
                    .filter(|x| *x > 0.0);
                let engaged: f64 =
                    ["likes", "comments", "shares", "saves"].iter().filter_map(|n| int(b, t, n, i)).sum();
                if let Some(x) = exposure {
                    inp.posts.entry(key.clone()).or_default().push((at, engaged / x));
                    inp.post_time.insert(post.clone(), (at, x));
                }
                if let Some(cmp) = &campaign {
                    inp.sponsored.entry(key.clone()).or_default().push((day_of(at), cmp.clone()));
                }
                inp.post_owner.insert(post, (key, campaign));
            }
            Ok(())
        })?;
    } else {
        inp.notes.push("no posts table: engagement series not judged".into());
    }
    read_velocity(&dataset, &mut inp)?;
    for v in inp.posts.values_mut().chain(inp.velocity.values_mut()) {
        v.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
    }
    for v in inp.sponsored.values_mut() {
        v.sort();
    }
    // Creator impressions and clicks; each user's creator clicks for conversions.
    let mut clicks_of: BTreeMap<String, Vec<(i64, CreatorKey, Option<String>)>> = BTreeMap::new();
    if dataset.has(Table::Touchpoints) {
        dataset.stream::<anyhow::Error>(Table::Touchpoints, |b| {
            let t = Table::Touchpoints;
            for i in 0..b.num_rows() {
                let Some(at) = ts(b, t, "ts", i) else { continue };
                inp.latest = inp.latest.max(at);
                if text(b, t, "channel", i).as_deref() != Some("creator") {
                    continue;
                }
                let (Some(creator), Some(interaction)) = (text(b, t, "creator_id", i), text(b, t, "interaction", i))
                else {
                    continue;
                };
                let platform = text(b, t, "platform", i).unwrap_or_else(|| "other".into());
                let campaign = text(b, t, "campaign_id", i);
                let key = (creator, platform);
                let d = day_of(at);
                match interaction.as_str() {
                    "impression" => {
                        inp.ctr.entry(key).or_default().add(d, 0.0, 1.0);
                        if let Some(cmp) = &campaign {
                            inp.campaign_ctr.entry(cmp.clone()).or_default().add(d, 0.0, 1.0);
                        }
                    }
                    "click" => {
                        inp.ctr.entry(key.clone()).or_default().add(d, 1.0, 0.0);
                        inp.conversion.entry(key.clone()).or_default().add(d, 0.0, 1.0);
                        if let Some(cmp) = &campaign {
                            inp.campaign_ctr.entry(cmp.clone()).or_default().add(d, 1.0, 0.0);
                            inp.campaign_conversion.entry(cmp.clone()).or_default().add(d, 0.0, 1.0);
                        }
                        if let Some(user) = text(b, t, "user_id", i) {
                            clicks_of.entry(user).or_default().push((at, key, campaign));
                        }
                    }
                    _ => {}
                }
            }
            Ok(())
        })?;
    } else {
        inp.notes.push("no touchpoints table: click-through and conversion series not judged".into());
    }
    for v in clicks_of.values_mut() {
        v.sort();
    }
    if dataset.has(Table::Orders) {
        dataset.stream::<anyhow::Error>(Table::Orders, |b| {
            let t = Table::Orders;
            for i in 0..b.num_rows() {
                let Some(at) = ts(b, t, "ordered_at", i) else { continue };
                inp.latest = inp.latest.max(at);
                let Some(user) = text(b, t, "user_id", i) else { continue };
                let Some(clicks) = clicks_of.get(&user) else { continue };
                let before = clicks.partition_point(|c| c.0 <= at);
                if let Some((when, key, campaign)) = before.checked_sub(1).map(|j| &clicks[j])
                    && at - when <= CONVERSION_WINDOW
                {
                    let d = day_of(at);
                    inp.conversion.entry(key.clone()).or_default().add(d, 1.0, 0.0);
                    if let Some(cmp) = campaign {
                        inp.campaign_conversion.entry(cmp.clone()).or_default().add(d, 1.0, 0.0);
                    }
                }
            }
            Ok(())
        })?;
    }
    read_sentiment(ctx, c, &mut inp)?;
    Ok(inp)
}

/// A creator is judged on first-day engagement when snapshots give it for this share of
/// its posts.
const VELOCITY_COVERAGE: f64 = 0.8;
/// A post's counts are taken as final this long after publication (the engagement-rate
/// series leaves younger posts out).
const SETTLED: i64 = 7 * DAY;

/// How far from 24 hours a snapshot may be to stand for the first day's engagement.
const VELOCITY_SLACK: i64 = 6 * 3_600_000_000;

/// Each post's engagement at the snapshot closest to 24 hours after publication (within
/// six hours), over its exposure: how fast a new post takes off, comparable across posts
/// whatever their age at the export.
fn read_velocity(dataset: &roicast_data::Dataset, inp: &mut Inputs) -> anyhow::Result<()> {
    if !dataset.has(Table::PostSnapshots) || inp.post_time.is_empty() {
        return Ok(());
    }
    // post → (distance from 24 h, engagement then)
    let mut best: BTreeMap<String, (i64, f64)> = BTreeMap::new();
    dataset.stream::<anyhow::Error>(Table::PostSnapshots, |b| {
        let t = Table::PostSnapshots;
        for i in 0..b.num_rows() {
            let (Some(post), Some(at)) = (text(b, t, "post_id", i), ts(b, t, "observed_at", i)) else { continue };
            let Some(&(published, _)) = inp.post_time.get(&post) else { continue };
            let off = (at - published - DAY).abs();
            if off > VELOCITY_SLACK {
                continue;
            }
            let engaged: f64 = ["likes", "comments", "shares", "saves"].iter().filter_map(|n| int(b, t, n, i)).sum();
            match best.entry(post) {
                std::collections::btree_map::Entry::Vacant(v) => {
                    v.insert((off, engaged));
                }
                std::collections::btree_map::Entry::Occupied(mut o) => {
                    if off < o.get().0 {
                        o.insert((off, engaged));
                    }
                }
            }
        }
        Ok(())
    })?;
    for (post, (_, engaged)) in best {
        if let (Some(&(published, exposure)), Some((key, _))) = (inp.post_time.get(&post), inp.post_owner.get(&post)) {
            inp.velocity.entry(key.clone()).or_default().push((published, engaged / exposure));
        }
    }
    Ok(())
}

/// Negative and scored comments a day per creator and campaign, from the sentiment job.
fn read_sentiment(ctx: &Ctx, c: &Config, inp: &mut Inputs) -> anyhow::Result<()> {
    let path = c.results.join("sentiment").join("comments_sentiment.parquet");
    if !path.exists() {
        inp.notes.push(format!(
            "no {}: sentiment series not judged (run `roicast sentiment --data DIR --out {}/sentiment` first)",
            path.display(),
            c.results.display()
        ));
        return Ok(());
    }
    // Conformed as a comments table (timestamps of any unit or text → µs UTC), the job's
    // columns passing through as extras.
    let scored = ctx.open_dataset(&c.data)?.only_file(Table::Comments, &path);
    scored.stream::<anyhow::Error>(Table::Comments, |b| {
        let t = Table::Comments;
        let Some(label) = b.column_by_name("sentiment").and_then(|c| c.as_string_opt::<i32>()) else {
            return Err(super::bad_file(&path, "no text column `sentiment`: not an output of `roicast sentiment`"));
        };
        for i in 0..b.num_rows() {
            if label.is_null(i) {
                continue;
            }
            let neg = match label.value(i) {
                "negative" => 1.0,
                "positive" | "neutral" => 0.0,
                _ => continue, // unscored (another language)
            };
            let (Some(post), Some(at)) = (text(b, t, "post_id", i), ts(b, t, "created_at", i)) else { continue };
            let Some((key, campaign)) = inp.post_owner.get(&post) else { continue };
            inp.latest = inp.latest.max(at);
            let d = day_of(at);
            inp.negative.entry(key.clone()).or_default().add(d, neg, 1.0);
            if let Some(cmp) = campaign {
                inp.campaign_negative.entry(cmp.clone()).or_default().add(d, neg, 1.0);
            }
        }
        Ok(())
    })?;
    Ok(())
}

/// Judges one series; returns its findings (kind, finding) and coverage.
fn judge(s: &Series, last_day: i64, method: Method, settings: &Settings) -> (Vec<(&'static str, Finding)>, Coverage) {
    let mut out = Vec::new();
    let mut cov = Coverage::default();
    let mut add = |kind: &'static str, (found, c): (Vec<Finding>, Coverage)| {
        out.extend(found.into_iter().map(|f| (kind, f)));
        cov.checked |= c.checked;
        cov.windows += c.windows;
        cov.skipped += c.skipped;
    };
    match &s.kind {
        Kind::Posts(posts, rise, drop) => {
            let pts: Vec<(i64, f64)> =
                posts.iter().filter(|p| day_of(p.0) <= last_day).map(|&(at, v)| (day_of(at), v)).collect();
            for (kind, dir) in [(rise, Direction::Rise), (drop, Direction::Drop)] {
                let Some(kind) = kind else { continue };
                match method {
                    Method::Robust => add(kind, monitor::post_findings(&pts, dir, settings)),
                    Method::Naive => {
                        let daily = daily_means(&pts);
                        let checked = daily.len() >= settings.min_posts;
                        let found = if checked { monitor::naive_findings(&daily, dir) } else { Vec::new() };
                        add(kind, (found, Coverage { checked, windows: daily.len(), skipped: 0 }));
                    }
                }
            }
        }
        Kind::Counts(daily, dir, kind) => {
            let Some((day0, k, n)) = daily.dense(last_day) else { return (out, cov) };
            match method {
                Method::Robust => add(kind, monitor::count_findings(day0, &k, &n, *dir, settings)),
                Method::Naive => {
                    let values: Vec<(i64, f64)> =
                        (0..k.len()).filter(|&i| n[i] > 0.0).map(|i| (day0 + i as i64, k[i] / n[i])).collect();
                    let checked = values.len() >= settings.min_active_days;
                    let found = if checked { monitor::naive_findings(&values, *dir) } else { Vec::new() };
                    add(kind, (found, Coverage { checked, windows: values.len(), skipped: 0 }));
                }
            }
        }
    }
    (out, cov)
}

/// The geometric mean of the posts of each day.
fn daily_means(pts: &[(i64, f64)]) -> Vec<(i64, f64)> {
    let mut by: BTreeMap<i64, (f64, f64)> = BTreeMap::new();
    for &(d, v) in pts.iter().filter(|p| p.1 > 0.0) {
        let e = by.entry(d).or_default();
        e.0 += v.ln();
        e.1 += 1.0;
    }
    by.into_iter().map(|(d, (s, n))| (d, (s / n).exp())).collect()
}

/// The series to judge, in a fixed order.
fn series_of(inp: &mut Inputs, last: i64) -> Vec<Series> {
    let mut out = Vec::new();
    let creator = |name, key: &CreatorKey, kind| Series {
        name,
        scope: "creator",
        id: key.0.clone(),
        platform: Some(key.1.clone()),
        campaign: None,
        kind,
    };
    // A creator's new posts are judged once: by their first-day engagement when the
    // snapshots give it for most posts (comparable whatever the posts' age at the
    // export), else by their engagement rate, leaving out posts younger than a week (whose
    // counts are still growing).
    let mut velocity = std::mem::take(&mut inp.velocity);
    for (key, posts) in std::mem::take(&mut inp.posts) {
        let kinds = (Some("engagement_spike"), Some("engagement_drop"));
        match velocity.remove(&key) {
            Some(v) if v.len() as f64 >= VELOCITY_COVERAGE * posts.len() as f64 => {
                out.push(creator("velocity_24h", &key, Kind::Posts(v, kinds.0, kinds.1)));
            }
            _ => {
                let settled: Vec<(i64, f64)> = posts.into_iter().filter(|p| p.0 <= last - SETTLED).collect();
                out.push(creator("engagement_rate", &key, Kind::Posts(settled, kinds.0, kinds.1)));
            }
        }
    }
    let rates: [(&'static str, Direction, &'static str); 3] = [
        ("ctr", Direction::Drop, "ctr_drop"),
        ("conversion_rate", Direction::Drop, "conversion_drop"),
        ("negative_share", Direction::Rise, "sentiment_shift"),
    ];
    for (name, dir, kind) in rates {
        let (by_creator, by_campaign) = match name {
            "ctr" => (std::mem::take(&mut inp.ctr), std::mem::take(&mut inp.campaign_ctr)),
            "conversion_rate" => (std::mem::take(&mut inp.conversion), std::mem::take(&mut inp.campaign_conversion)),
            _ => (std::mem::take(&mut inp.negative), std::mem::take(&mut inp.campaign_negative)),
        };
        for (key, daily) in by_creator {
            out.push(creator(name, &key, Kind::Counts(daily, dir, kind)));
        }
        for (id, daily) in by_campaign {
            out.push(Series {
                name,
                scope: "campaign",
                id: id.clone(),
                platform: None,
                campaign: Some(id),
                kind: Kind::Counts(daily, dir, kind),
            });
        }
    }
    out
}

fn rfc3339_day(day: i64) -> String {
    roicast_data::io::format_timestamp_us(day * DAY)
}

fn pct(x: f64) -> String {
    if x < 0.001 { format!("{:.3} %", x * 100.0) } else { format!("{:.1} %", x * 100.0) }
}

/// The sentence of an alert.
fn explain(kind: &str, series: &str, who: &str, f: &Finding) -> String {
    let ratio = f.observed / f.expected;
    let days = f.window_end - f.window_start + 1;
    let span = if days == 1 { "in one day".to_owned() } else { format!("over {days} days") };
    match kind {
        "engagement_spike" | "engagement_drop" => format!(
            "{who}: {what} of {n} new post{s} {o} against {e} expected from the previous {b} posts ({ratio:.2}×; 99 % band {l}–{u})",
            what = if series == "velocity_24h" {
                "engagement in the first 24 hours (of exposure)"
            } else {
                "engagement rate"
            },
            n = f.evidence,
            s = if f.evidence == 1.0 { "" } else { "s" },
            o = pct(f.observed),
            e = pct(f.expected),
            b = f.baseline,
            l = pct(f.lower),
            u = pct(f.upper),
        ),
        "ctr_drop" => format!(
            "{who}: clicks per impression {o} against {e} expected {span} ({ratio:.2}×, {n} impressions) — check the link and the landing page",
            o = pct(f.observed),
            e = pct(f.expected),
            n = crate::output::thousands(f.evidence),
        ),
        "conversion_drop" => format!(
            "{who}: orders per click {o} against {e} expected {span} ({ratio:.2}×, {n} clicks) — check the offer, the code and the checkout",
            o = pct(f.observed),
            e = pct(f.expected),
            n = crate::output::thousands(f.evidence),
        ),
        _ => format!(
            "{who}: negative comments {o} against {e} expected {span} ({ratio:.2}×, {n} comments) — read the comments",
            o = pct(f.observed),
            e = pct(f.expected),
            n = crate::output::thousands(f.evidence),
        ),
    }
}

fn severity(f: &Finding) -> &'static str {
    let r = f.observed / f.expected;
    if f.p_value < 1e-6 && !(0.5..=2.0).contains(&r) { "high" } else { "medium" }
}

fn alert_id(parts: &[&str]) -> String {
    use sha2::Digest as _;
    let mut h = sha2::Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    let d = h.finalize();
    d.iter().take(8).fold(String::with_capacity(16), |mut s, b| {
        let _ = std::fmt::Write::write_fmt(&mut s, format_args!("{b:02x}"));
        s
    })
}

/// The campaign a creator's alert belongs to: the latest of its sponsored posts at most
/// 30 days before the window's end.
fn campaign_at(inp: &[(i64, String)], end_day: i64) -> Option<String> {
    let j = inp.partition_point(|p| p.0 <= end_day);
    inp[..j].last().filter(|p| end_day - p.0 <= 30).map(|p| p.1.clone())
}

/// Costs of one campaign: fixed (at, amount), and per creator its rates.
#[derive(Default)]
struct Book {
    fixed: Vec<(i64, f64)>,
    /// creator → (commission rate, per-conversion fee)
    variable: BTreeMap<String, (f64, f64)>,
    agency_rate: f64,
}

/// Spend pace per campaign: fixed costs incurred by each day plus commissions and
/// per-conversion fees on the campaign's promo-code orders, projected to the campaign's
/// end; an alert when the projection exceeds the budget by more than the tolerance.
fn pace(ctx: &Ctx, c: &Config, last: i64) -> anyhow::Result<(Vec<Alert>, Vec<SeriesCoverage>, Vec<String>)> {
    let dataset = ctx.open_dataset(&c.data)?;
    let mut notes = Vec::new();
    if !dataset.has(Table::Campaigns) || !dataset.has(Table::Costs) {
        notes.push("no campaigns or costs table: spend pace not judged".into());
        return Ok((Vec::new(), Vec::new(), notes));
    }
    // campaign → (budget, start, end)
    let mut camps: BTreeMap<String, (Option<f64>, i64, i64)> = BTreeMap::new();
    dataset.stream::<anyhow::Error>(Table::Campaigns, |b| {
        let t = Table::Campaigns;
        for i in 0..b.num_rows() {
            if let (Some(id), Some(s), Some(e)) =
                (text(b, t, "campaign_id", i), ts(b, t, "starts_at", i), ts(b, t, "ends_at", i))
            {
                camps.insert(id, (float(b, t, "budget", i), s, e));
            }
        }
        Ok(())
    })?;
    let mut books: BTreeMap<String, Book> = BTreeMap::new();
    dataset.stream::<anyhow::Error>(Table::Costs, |b| {
        let t = Table::Costs;
        for i in 0..b.num_rows() {
            let (Some(cmp), Some(ty)) = (text(b, t, "campaign_id", i), text(b, t, "cost_type", i)) else { continue };
            let book = books.entry(cmp).or_default();
            let creator = text(b, t, "creator_id", i).unwrap_or_default();
            let (amount, rate) = (float(b, t, "amount", i), float(b, t, "rate", i));
            let at = ts(b, t, "incurred_at", i).unwrap_or(i64::MIN);
            match ty.as_str() {
                "commission" => book.variable.entry(creator).or_default().0 += rate.unwrap_or(0.0),
                "tiered_commission" => {
                    // The first tier's rate: the pace is an early warning, not the invoice.
                    let first = text(b, t, "tiers", i)
                        .and_then(|j| serde_json::from_str::<serde_json::Value>(&j).ok())
                        .and_then(|v| v.get(0).and_then(|x| x.get("rate")).and_then(serde_json::Value::as_f64));
                    book.variable.entry(creator).or_default().0 += first.unwrap_or(0.0);
                }
                "per_conversion" => book.variable.entry(creator).or_default().1 += amount.unwrap_or(0.0),
                "agency_fee" if amount.is_none() => book.agency_rate += rate.unwrap_or(0.0),
                _ => {
                    if let Some(a) = amount {
                        book.fixed.push((at, a));
                    }
                }
            }
        }
        Ok(())
    })?;
    // Promo codes → (campaign, creator); code orders by day.
    let mut codes: BTreeMap<String, (String, String)> = BTreeMap::new();
    if dataset.has(Table::TrackingAssets) {
        dataset.stream::<anyhow::Error>(Table::TrackingAssets, |b| {
            let t = Table::TrackingAssets;
            for i in 0..b.num_rows() {
                if text(b, t, "method", i).as_deref() == Some("promo_code")
                    && let (Some(v), Some(cmp), Some(cr)) =
                        (text(b, t, "value", i), text(b, t, "campaign_id", i), text(b, t, "creator_id", i))
                {
                    codes.insert(v.to_uppercase(), (cmp, cr));
                }
            }
            Ok(())
        })?;
    }
    // campaign → day → variable cost
    let mut variable: BTreeMap<String, BTreeMap<i64, f64>> = BTreeMap::new();
    if dataset.has(Table::Orders) && !codes.is_empty() {
        dataset.stream::<anyhow::Error>(Table::Orders, |b| {
            let t = Table::Orders;
            for i in 0..b.num_rows() {
                let (Some(code), Some(at)) = (text(b, t, "discount_code", i), ts(b, t, "ordered_at", i)) else {
                    continue;
                };
                let Some((cmp, cr)) = codes.get(&code.to_uppercase()) else { continue };
                let Some(book) = books.get(cmp) else { continue };
                let (rate, fee) = book.variable.get(cr).copied().unwrap_or_default();
                let revenue = float(b, t, "revenue", i).unwrap_or(0.0);
                let creator_cost = rate * revenue + fee;
                let cost = creator_cost * (1.0 + book.agency_rate);
                if cost > 0.0 {
                    *variable.entry(cmp.clone()).or_default().entry(day_of(at)).or_default() += cost;
                }
            }
            Ok(())
        })?;
    }
    let mut alerts = Vec::new();
    let mut coverage = Vec::new();
    for (id, &(budget, start, end)) in &camps {
        let Some(budget) = budget.filter(|b| *b > 0.0) else {
            notes.push(format!("campaign {id} has no budget: spend pace not judged"));
            continue;
        };
        let book = books.remove(id).unwrap_or_default();
        let var = variable.remove(id).unwrap_or_default();
        let (d0, d1) = (day_of(start), day_of(end));
        let total_days = (d1 - d0 + 1) as f64;
        let mut fired: Option<(i64, i64, f64, f64)> = None; // first day, last day, projected, spent
        let mut windows = 0;
        for d in (d0 + 7)..=d1.min(last) {
            windows += 1;
            let cutoff = (d + 1) * DAY;
            let fixed: f64 = book.fixed.iter().filter(|f| f.0 < cutoff).map(|f| f.1).sum();
            let var_to_date: f64 = var.range(..=d).map(|(_, v)| v).sum();
            let elapsed = (d - d0 + 1) as f64;
            let projected = fixed + var_to_date * total_days / elapsed;
            if projected > budget * (1.0 + c.budget_tolerance) {
                let spent = fixed + var_to_date;
                fired = Some(match fired {
                    None => (d, d, projected, spent),
                    Some((f, _, p, s)) if projected > p => (f, d, projected, spent.max(s)),
                    Some((f, _, p, s)) => (f, d, p, s),
                });
            }
        }
        coverage.push(SeriesCoverage {
            series: "spend_pace".into(),
            scope: "campaign".into(),
            id: id.clone(),
            platform: None,
            checked: windows > 0,
            windows,
            skipped: 0,
        });
        if let Some((first, lastd, projected, spent)) = fired {
            let ratio = projected / budget;
            alerts.push(Alert {
                alert_id: alert_id(&["pace_over_budget", id, &first.to_string()]),
                kind: "pace_over_budget".into(),
                series: "spend_pace".into(),
                scope: "campaign".into(),
                creator_id: None,
                handle: None,
                platform: None,
                campaign_id: Some(id.clone()),
                window_start: rfc3339_day(first),
                window_end: rfc3339_day(lastd + 1),
                detected_at: rfc3339_day(first + 1),
                observed: projected,
                expected: budget,
                lower: 0.0,
                upper: budget * (1.0 + c.budget_tolerance),
                ratio,
                p_value: 0.0,
                severity: if ratio >= 1.2 { "high" } else { "medium" }.into(),
                evidence: budget,
                explanation: format!(
                    "campaign {id}: spend projected to {} against a budget of {} ({:.0} %); {} spent so far",
                    crate::output::thousands(projected),
                    crate::output::thousands(budget),
                    ratio * 100.0,
                    crate::output::thousands(spent)
                ),
                start_day: first,
                end_day: lastd,
                detected_day: first,
                key: format!("campaign\u{1f}{id}\u{1f}spend_pace"),
            });
        }
    }
    Ok((alerts, coverage, notes))
}

/// Finds the alerts and writes them.
pub fn run(ctx: &Ctx, c: &Config) -> anyhow::Result<Summary> {
    let mut manifest = ManifestBuilder::start("alerts");
    let format = roicast_data::Format::from_path(&c.out);
    let jsonl_only = c.out.extension().is_some_and(|e| e.eq_ignore_ascii_case("jsonl"));
    if !jsonl_only && !matches!(format, Some(roicast_data::Format::Parquet | roicast_data::Format::Csv)) {
        return Err(super::InvalidSettings(anyhow::anyhow!(
            "--out {}: expected a .parquet, .csv or .jsonl file",
            c.out.display()
        ))
        .into());
    }
    if !(c.budget_tolerance.is_finite() && c.budget_tolerance >= 0.0) {
        return Err(super::InvalidSettings(anyhow::anyhow!(
            "budget tolerance {}: expected a share ≥ 0",
            c.budget_tolerance
        ))
        .into());
    }
    let since = c.since.as_deref().map(|s| parse_instant(s, "since")).transpose()?;
    let as_of = c.as_of.as_deref().map(|s| parse_instant(s, "as-of")).transpose()?;
    if !c.data.is_dir() && ctx.open_dataset(&c.data).is_err() {
        bail!("{}: no such dataset folder", c.data.display());
    }
    let mut inp = read_inputs(ctx, c)?;
    manifest.stage_done("read");
    let latest = as_of.unwrap_or(inp.latest);
    if latest == i64::MIN {
        return Err(super::bad_file(
            &c.data,
            "no posts, touchpoints, orders or comments with a time: nothing to monitor",
        ));
    }
    let last_day = day_of(latest) - i64::from(as_of.is_some() && latest.rem_euclid(DAY) == 0);
    if let Some(a) = c.weekday_prior
        && !(a.is_finite() && a > 0.0)
    {
        bail!("invalid weekday prior {a}: expected a positive number of pseudo-events");
    }
    let settings = Settings { weekday_prior: c.weekday_prior, ..Settings::default() };
    // Weekday factors on creator series only: on campaign series (their creators summed)
    // they added alerts that no planted event accounts for (docs/monitoring.md).
    let campaign_settings = Settings { weekday_prior: None, ..settings.clone() };
    let series = series_of(&mut inp, latest);
    let judged: Vec<(Vec<(&'static str, Finding)>, Coverage)> = series
        .par_iter()
        .map(|s| judge(s, last_day, c.method, if s.scope == "campaign" { &campaign_settings } else { &settings }))
        .collect();
    manifest.stage_done("judge");
    let mut alerts = Vec::new();
    let mut coverage = Vec::new();
    let mut series_lines: Vec<(String, Vec<(i64, f64)>)> = Vec::new();
    for (s, (found, cov)) in series.iter().zip(judged) {
        coverage.push(SeriesCoverage {
            series: s.name.into(),
            scope: s.scope.into(),
            id: s.id.clone(),
            platform: s.platform.clone(),
            checked: cov.checked,
            windows: cov.windows,
            skipped: cov.skipped,
        });
        let handle = s.platform.as_ref().and_then(|p| inp.handles.get(&(s.id.clone(), p.clone()))).cloned();
        let who = match (s.scope, &handle, &s.platform) {
            ("campaign", ..) => format!("campaign {}", s.id),
            (_, Some(h), Some(p)) if !h.is_empty() => format!("@{} ({p})", h.trim_start_matches('@')),
            _ => s.id.clone(),
        };
        for (kind, f) in found {
            let campaign = s.campaign.clone().or_else(|| {
                s.platform
                    .as_ref()
                    .and_then(|p| inp.sponsored.get(&(s.id.clone(), p.clone())))
                    .and_then(|v| campaign_at(v, f.end_day))
            });
            let key = format!("{}\u{1f}{}\u{1f}{}\u{1f}{}", s.scope, s.id, s.platform.as_deref().unwrap_or(""), s.name);
            alerts.push(Alert {
                alert_id: alert_id(&[
                    kind,
                    s.scope,
                    &s.id,
                    s.platform.as_deref().unwrap_or(""),
                    &f.start_day.to_string(),
                ]),
                kind: kind.into(),
                series: s.name.into(),
                scope: s.scope.into(),
                creator_id: (s.scope == "creator").then(|| s.id.clone()),
                handle: handle.clone(),
                platform: s.platform.clone(),
                campaign_id: campaign,
                window_start: rfc3339_day(f.start_day),
                window_end: rfc3339_day(f.end_day + 1),
                detected_at: rfc3339_day(f.detected_day + 1),
                observed: f.observed,
                expected: f.expected,
                lower: f.lower,
                upper: f.upper,
                ratio: f.observed / f.expected,
                p_value: f.p_value,
                severity: severity(&f).into(),
                evidence: f.evidence,
                explanation: explain(kind, s.name, &who, &f),
                start_day: f.start_day,
                end_day: f.end_day,
                detected_day: f.detected_day,
                key: key.clone(),
            });
            if !series_lines.iter().any(|l| l.0 == key) {
                series_lines.push((key, observed_points(s, last_day)));
            }
        }
    }
    let (pace_alerts, pace_cov, pace_notes) = pace(ctx, c, last_day)?;
    alerts.extend(pace_alerts);
    coverage.extend(pace_cov);
    inp.notes.extend(pace_notes);
    if let Some(t) = since {
        let d = day_of(t);
        alerts.retain(|a| a.end_day >= d);
    }
    alerts.sort_by(|a, b| {
        a.start_day
            .cmp(&b.start_day)
            .then_with(|| a.kind.cmp(&b.kind))
            .then_with(|| a.scope.cmp(&b.scope))
            .then_with(|| a.creator_id.cmp(&b.creator_id))
            .then_with(|| a.campaign_id.cmp(&b.campaign_id))
            .then_with(|| a.platform.cmp(&b.platform))
    });
    // Write: the table, JSON Lines, coverage and series (each file atomically).
    let new_dir = crate::output::NewDir::create(&crate::output::parent_dir(&c.out))?;
    let jsonl = if jsonl_only { c.out.clone() } else { c.out.with_extension("jsonl") };
    let stem = c.out.file_stem().map_or_else(|| "alerts".into(), |s| s.to_string_lossy().into_owned());
    let dir = crate::output::parent_dir(&c.out);
    let coverage_path = dir.join(format!("{stem}_coverage.csv"));
    let series_path = dir.join(format!("{stem}_series.csv"));
    let mut written = Vec::new();
    if !jsonl_only {
        write_table(&c.out, &alerts)?;
        written.push(c.out.clone());
    }
    let mut lines = Vec::new();
    for a in &alerts {
        serde_json::to_writer(&mut lines, a)?;
        lines.push(b'\n');
    }
    roicast_data::io::write_bytes_atomic(&jsonl, &lines)?;
    written.push(jsonl.clone());
    let mut cw = csv::Writer::from_writer(Vec::new());
    for r in &coverage {
        cw.serialize(r)?;
    }
    roicast_data::io::write_bytes_atomic(&coverage_path, &cw.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?)?;
    written.push(coverage_path);
    write_series(&series_path, &alerts, &series_lines)?;
    written.push(series_path);
    new_dir.keep();
    manifest.stage_done("write");
    let mut by_kind = BTreeMap::new();
    for a in &alerts {
        *by_kind.entry(a.kind.clone()).or_insert(0) += 1;
    }
    let (mut checked, mut short) = (BTreeMap::new(), BTreeMap::new());
    for r in &coverage {
        *if r.checked { &mut checked } else { &mut short }.entry(r.series.clone()).or_insert(0) += 1;
    }
    let inputs = {
        let dataset = ctx.open_dataset(&c.data)?;
        let mut files = Vec::new();
        for t in [Table::Creators, Table::Posts, Table::Touchpoints, Table::Orders, Table::Campaigns, Table::Costs] {
            files.extend(dataset.files(t).unwrap_or_default().iter().filter(|p| !dataset.is_in_memory(p)).cloned());
        }
        let s = c.results.join("sentiment").join("comments_sentiment.parquet");
        if s.exists() {
            files.push(s);
        }
        crate::output::records(files.iter())?
    };
    let outputs = written.iter().map(|p| FileRecord::of(p)).collect::<anyhow::Result<Vec<_>>>()?;
    let m = manifest.finish(
        json!({ "method": c.method, "since": c.since, "as_of": c.as_of, "budget_tolerance": c.budget_tolerance,
                "weekday_prior": c.weekday_prior, "settings": settings }),
        inputs,
        outputs,
        BTreeMap::from([("alerts".to_owned(), alerts.len() as u64)]),
        "ok",
    );
    m.write(&dir)?;
    Ok(Summary {
        out: c.out.clone(),
        jsonl,
        method: c.method,
        as_of: roicast_data::io::format_timestamp_us(latest),
        alerts: alerts.len(),
        by_kind,
        series_checked: checked,
        series_too_short: short,
        notes: inp.notes,
        rows: alerts,
    })
}

/// The observed values of a series by day (posts: the geometric mean of the day's posts;
/// rates: events / exposure on days with exposure).
fn observed_points(s: &Series, last_day: i64) -> Vec<(i64, f64)> {
    match &s.kind {
        Kind::Posts(posts, ..) => {
            let pts: Vec<(i64, f64)> =
                posts.iter().filter(|p| day_of(p.0) <= last_day).map(|&(at, v)| (day_of(at), v)).collect();
            daily_means(&pts)
        }
        Kind::Counts(daily, ..) => {
            daily.days.range(..=last_day).filter(|(_, v)| v.1 > 0.0).map(|(&d, &(k, n))| (d, k / n)).collect()
        }
    }
}

fn alerts_schema() -> Arc<Schema> {
    let ts = DataType::Timestamp(TimeUnit::Microsecond, Some(roicast_data::schema::UTC.into()));
    let s = |n: &str, null: bool| Field::new(n, DataType::Utf8, null);
    let f = |n: &str| Field::new(n, DataType::Float64, false);
    Arc::new(Schema::new(vec![
        s("alert_id", false),
        s("kind", false),
        s("series", false),
        s("scope", false),
        s("creator_id", true),
        s("handle", true),
        s("platform", true),
        s("campaign_id", true),
        Field::new("window_start", ts.clone(), false),
        Field::new("window_end", ts.clone(), false),
        Field::new("detected_at", ts, false),
        f("observed"),
        f("expected"),
        f("lower"),
        f("upper"),
        f("ratio"),
        f("p_value"),
        s("severity", false),
        f("evidence"),
        s("explanation", false),
    ]))
}

fn write_table(path: &Path, alerts: &[Alert]) -> anyhow::Result<()> {
    let schema = alerts_schema();
    let mut rb = RowBuilder::new(schema.clone());
    for a in alerts {
        rb.text(&a.alert_id)
            .text(&a.kind)
            .text(&a.series)
            .text(&a.scope)
            .opt_text(a.creator_id.as_deref())
            .opt_text(a.handle.as_deref())
            .opt_text(a.platform.as_deref())
            .opt_text(a.campaign_id.as_deref())
            .ts(a.start_day * DAY)
            .ts((a.end_day + 1) * DAY)
            .ts(roicast_data::conform::parse_timestamp_us(&a.detected_at).unwrap_or((a.end_day + 1) * DAY))
            .float(a.observed)
            .float(a.expected)
            .float(a.lower)
            .float(a.upper)
            .float(a.ratio)
            .float(a.p_value)
            .text(&a.severity)
            .float(a.evidence)
            .text(&a.explanation)
            .end_row();
    }
    let mut w = TableWriter::create(path, &schema)?;
    w.write(&rb.finish())?;
    w.finish()?;
    Ok(())
}

/// `alert_id, day, observed, expected, lower, upper` for the days around each alert.
fn write_series(path: &Path, alerts: &[Alert], lines: &[(String, Vec<(i64, f64)>)]) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["alert_id", "day", "observed", "expected", "lower", "upper", "in_window"])?;
    for a in alerts.iter().filter(|a| a.series != "spend_pace") {
        let Some((_, pts)) = lines.iter().find(|l| l.0 == a.key) else { continue };
        for &(d, v) in pts.iter().filter(|p| p.0 >= a.start_day - CONTEXT_DAYS && p.0 <= a.end_day + 7) {
            w.write_record([
                a.alert_id.clone(),
                rfc3339_day(d)[..10].to_owned(),
                format!("{v}"),
                format!("{}", a.expected),
                format!("{}", a.lower),
                format!("{}", a.upper),
                (d >= a.start_day && d <= a.end_day).to_string(),
            ])?;
        }
    }
    let bytes = w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
    roicast_data::io::write_bytes_atomic(path, &bytes)?;
    Ok(())
}

/// How alerts compare with the events a generated world planted (`generate
/// --plant-events`): what the monitoring test and `benches/peers/alerts_eval` report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Evaluation {
    /// Per planted kind: (planted, found within two days of the start).
    pub by_kind: BTreeMap<String, (usize, usize)>,
    /// Planted engagement spikes by the number of posts in their window: (planted, found).
    pub engagement_by_posts: BTreeMap<usize, (usize, usize)>,
    /// Creator alerts that overlap no planted event of their creator.
    pub false_alerts: usize,
    /// False alerts by kind.
    pub false_by_kind: BTreeMap<String, usize>,
    /// Creators with posts × weeks of the campaign period.
    pub creator_weeks: f64,
    /// Campaign-level alerts (not scored as false or found: events are planted on creators).
    pub campaign_alerts: usize,
    /// Campaign-level alerts of the kind of a planted event recorded on that campaign (a
    /// broken link on its sponsored posts) whose days overlap it (± 1 day): campaign alerts
    /// a planted creator event accounts for. Events planted without a campaign (backlashes,
    /// doublings on any post) never count here, so this is a lower bound.
    pub campaign_explained: usize,
}

impl Evaluation {
    /// Found / planted over every kind.
    #[must_use]
    pub fn recall(&self) -> f64 {
        let (p, f) = self.by_kind.values().fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
        if p == 0 { f64::NAN } else { f as f64 / p as f64 }
    }

    /// Found / planted of one kind.
    #[must_use]
    pub fn recall_of(&self, kind: &str) -> f64 {
        self.by_kind.get(kind).map_or(f64::NAN, |&(p, f)| if p == 0 { f64::NAN } else { f as f64 / p as f64 })
    }

    /// False alerts per 100 creator-weeks.
    #[must_use]
    pub fn false_per_100_creator_weeks(&self) -> f64 {
        100.0 * self.false_alerts as f64 / self.creator_weeks
    }

    /// Adds another world's counts.
    pub fn merge(&mut self, o: &Evaluation) {
        for (k, v) in &o.by_kind {
            let e = self.by_kind.entry(k.clone()).or_default();
            e.0 += v.0;
            e.1 += v.1;
        }
        for (k, v) in &o.engagement_by_posts {
            let e = self.engagement_by_posts.entry(*k).or_default();
            e.0 += v.0;
            e.1 += v.1;
        }
        for (k, v) in &o.false_by_kind {
            *self.false_by_kind.entry(k.clone()).or_default() += v;
        }
        self.false_alerts += o.false_alerts;
        self.campaign_explained += o.campaign_explained;
        self.creator_weeks += o.creator_weeks;
        self.campaign_alerts += o.campaign_alerts;
    }
}

/// Scores `alerts` against a generated world's `truth.json`: a planted event is found
/// when an alert of its kind on its creator overlaps its three days and fired by the end
/// of the second day after its start; a creator alert is false when it overlaps (± 1 day)
/// no planted event of its creator. `creators_with_posts` counts the creators that posted.
pub fn evaluate(alerts: &[Alert], truth: &serde_json::Value, creators_with_posts: usize) -> anyhow::Result<Evaluation> {
    let day = |v: &serde_json::Value, what: &str| -> anyhow::Result<i64> {
        let s = v.as_str().with_context(|| format!("truth.json: `{what}` is not a time"))?;
        roicast_data::conform::parse_timestamp_us(s).map(day_of).with_context(|| format!("truth.json: `{what}` = {s}"))
    };
    let events = truth["events"].as_array().context("truth.json has no `events`: generate with --plant-events")?;
    let weeks = (day(&truth["campaigns_end"], "campaigns_end")? - day(&truth["campaigns_start"], "campaigns_start")?)
        as f64
        / 7.0;
    let mut ev = Evaluation { creator_weeks: creators_with_posts as f64 * weeks, ..Evaluation::default() };
    let mut planted = Vec::new();
    // (kind, campaign, start, end) of events planted on a campaign's posts.
    let mut on_campaign: Vec<(String, String, i64, i64)> = Vec::new();
    for e in events {
        let kind = e["kind"].as_str().context("truth.json: event without a kind")?.to_owned();
        let creator = e["creator_id"].as_str().context("truth.json: event without a creator")?.to_owned();
        let start = day(&e["start"], "events[].start")?;
        let end = day(&e["end"], "events[].end")?;
        planted.push((kind, creator, start, end, e["posts"].as_u64().unwrap_or(0) as usize));
        if let Some(c) = e["campaign_id"].as_str() {
            on_campaign.push((planted.last().expect("just pushed").0.clone(), c.to_owned(), start, end));
        }
    }
    for (kind, creator, start, end, posts) in &planted {
        let found = alerts.iter().any(|a| {
            a.scope == "creator"
                && a.kind == *kind
                && a.creator_id.as_deref() == Some(creator.as_str())
                && a.start_day <= *end
                && a.end_day >= *start
                && a.detected_day <= start + 2
        });
        let e = ev.by_kind.entry(kind.clone()).or_default();
        e.0 += 1;
        e.1 += usize::from(found);
        if kind == "engagement_spike" {
            let e = ev.engagement_by_posts.entry(*posts).or_default();
            e.0 += 1;
            e.1 += usize::from(found);
        }
    }
    for a in alerts {
        if a.scope != "creator" {
            ev.campaign_alerts += 1;
            ev.campaign_explained += usize::from(on_campaign.iter().any(|(kind, campaign, start, end)| {
                a.kind == *kind
                    && a.campaign_id.as_deref() == Some(campaign.as_str())
                    && a.start_day <= end + 1
                    && a.end_day >= start - 1
            }));
            continue;
        }
        let explained = planted.iter().any(|(_, creator, start, end, _)| {
            a.creator_id.as_deref() == Some(creator.as_str()) && a.start_day <= end + 1 && a.end_day >= start - 1
        });
        if !explained {
            ev.false_alerts += 1;
            *ev.false_by_kind.entry(a.kind.clone()).or_default() += 1;
        }
    }
    Ok(ev)
}
