//! ROI by post format and by week (`level = format` and `level = week` in roi.parquet).
//!
//! A touchpoint names its creator and campaign, not the post behind it, so the two
//! breakdowns are allocations, documented in docs/roi.md:
//! - **attributed revenue and conversions** of a creator under a model (from
//!   `credits.parquet`, one row per credited touch) go to the formats of that creator's
//!   posts in that campaign in proportion to the posts' link clicks (impressions when the
//!   platform reports no clicks, equal shares when it reports neither; the creator's
//!   posts in every campaign when the touch's campaign has none; `unknown` when the
//!   creator has no post), and to the ISO week (Monday-based, UTC) of the order;
//! - **cost** of a creator in a campaign (as the creator level computes it) goes equally
//!   to each of that creator's posts in that campaign — a post is a deliverable — hence to
//!   its format and to the week it was published (`unknown` when there is no post);
//! - **exposure** (posts, impressions, engagements) is the posts' own: CPM is cost per
//!   thousand impressions, CPE cost per engagement (likes, comments, shares, saves).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context as _;
use arrow_array::cast::AsArray as _;
use arrow_array::types::Float64Type;
use arrow_array::{Array as _, RecordBatch};
use roicast_data::Table;
use roicast_models::FxMap;

use crate::output::columns::{int, text, ts};

/// The key of posts with no known format, week or post.
pub const UNKNOWN: &str = "unknown";

/// The ISO week (`2026-W02`, Monday-based, UTC) of a time in µs.
#[must_use]
pub fn iso_week(us: i64) -> String {
    use chrono::Datelike as _;
    chrono::DateTime::from_timestamp_micros(us).map_or_else(
        || UNKNOWN.to_owned(),
        |t| {
            let w = t.iso_week();
            format!("{}-W{:02}", w.year(), w.week())
        },
    )
}

/// Shares of a creator's credit by format.
type Shares = Vec<(String, f64)>;

/// One post, as the breakdowns need it.
#[derive(Debug, Clone)]
struct Post {
    format: String,
    week: String,
    clicks: f64,
    impressions: f64,
    engagements: f64,
}

/// Every creator's posts, by campaign (`None`: organic), in the file's order.
#[derive(Debug, Default)]
pub struct Posts {
    by_pair: BTreeMap<(String, Option<String>), Vec<Post>>,
}

/// Posts, impressions and engagements of one format or week.
#[derive(Debug, Clone, Copy, Default)]
pub struct Exposure {
    /// Posts.
    pub posts: f64,
    /// Impressions (views where impressions are not reported).
    pub impressions: f64,
    /// Likes, comments, shares and saves.
    pub engagements: f64,
}

impl Posts {
    /// Reads the posts table (empty when the dataset has none).
    pub fn load(dataset: &roicast_data::Dataset) -> anyhow::Result<Posts> {
        let mut p = Posts::default();
        if !dataset.has(Table::Posts) {
            return Ok(p);
        }
        dataset.stream::<anyhow::Error>(Table::Posts, |b| {
            let t = Table::Posts;
            let n = |c: &str, i: usize| int(b, t, c, i);
            for i in 0..b.num_rows() {
                let creator = text(b, t, "creator_id", i).unwrap_or_default();
                let campaign = text(b, t, "campaign_id", i);
                let engagements = ["likes", "comments", "shares", "saves"].iter().filter_map(|c| n(c, i)).sum();
                p.by_pair.entry((creator, campaign)).or_default().push(Post {
                    format: text(b, t, "format", i).unwrap_or_else(|| UNKNOWN.to_owned()),
                    week: ts(b, t, "published_at", i).map_or_else(|| UNKNOWN.to_owned(), iso_week),
                    clicks: n("link_clicks", i).unwrap_or(0.0),
                    impressions: n("impressions", i).or_else(|| n("views", i)).unwrap_or(0.0),
                    engagements,
                });
            }
            Ok(())
        })?;
        Ok(p)
    }

    /// The posts a creator's touch in `campaign` is spread over: the campaign's, else all
    /// of the creator's.
    fn of(&self, creator: &str, campaign: Option<&str>) -> Vec<&Post> {
        let own = self.by_pair.get(&(creator.to_owned(), campaign.map(str::to_owned)));
        if let Some(posts) = own.filter(|p| !p.is_empty()) {
            return posts.iter().collect();
        }
        self.by_pair
            .range((creator.to_owned(), None)..)
            .take_while(|((c, _), _)| c == creator)
            .flat_map(|(_, v)| v)
            .collect()
    }

    /// Shares of a creator's attributed revenue by format, in first-seen order.
    fn format_shares(&self, creator: &str, campaign: Option<&str>) -> Shares {
        let posts = self.of(creator, campaign);
        if posts.is_empty() {
            return vec![(UNKNOWN.to_owned(), 1.0)];
        }
        let clicks: f64 = posts.iter().map(|p| p.clicks).sum();
        let impressions: f64 = posts.iter().map(|p| p.impressions).sum();
        let (weight, total): (fn(&Post) -> f64, f64) = if clicks > 0.0 {
            (|p| p.clicks, clicks)
        } else if impressions > 0.0 {
            (|p| p.impressions, impressions)
        } else {
            (|_| 1.0, posts.len() as f64)
        };
        let mut shares: Shares = Vec::new();
        for p in posts {
            let w = weight(p) / total;
            match shares.iter_mut().find(|(f, _)| *f == p.format) {
                Some(s) => s.1 += w,
                None => shares.push((p.format.clone(), w)),
            }
        }
        shares
    }

    /// Exposure by format and by week, over every post.
    #[must_use]
    pub fn exposure(&self) -> (BTreeMap<String, Exposure>, BTreeMap<String, Exposure>) {
        let (mut by_format, mut by_week): (BTreeMap<String, Exposure>, BTreeMap<String, Exposure>) = Default::default();
        for p in self.by_pair.values().flatten() {
            for e in [by_format.entry(p.format.clone()).or_default(), by_week.entry(p.week.clone()).or_default()] {
                e.posts += 1.0;
                e.impressions += p.impressions;
                e.engagements += p.engagements;
            }
        }
        (by_format, by_week)
    }

    /// A creator's cost in a campaign spread equally over their posts in it: (format
    /// costs, week costs) added to the totals.
    pub fn add_cost(
        &self,
        creator: &str,
        campaign: &str,
        cost: f64,
        by_format: &mut BTreeMap<String, f64>,
        by_week: &mut BTreeMap<String, f64>,
    ) {
        let key = (creator.to_owned(), Some(campaign.to_owned()));
        if let Some(posts) = self.by_pair.get(&key).filter(|p| !p.is_empty()) {
            let each = cost / posts.len() as f64;
            for p in posts {
                *by_format.entry(p.format.clone()).or_default() += each;
                *by_week.entry(p.week.clone()).or_default() += each;
            }
        } else {
            *by_format.entry(UNKNOWN.to_owned()).or_default() += cost;
            *by_week.entry(UNKNOWN.to_owned()).or_default() += cost;
        }
    }
}

/// Attributed revenue and conversions of one key (format or week) under one model.
#[derive(Debug, Clone, Copy, Default)]
pub struct Credited {
    /// Attributed revenue.
    pub revenue: f64,
    /// Attributed conversions.
    pub conversions: f64,
}

/// Attributed revenue by (format, model) and by (week, model).
pub type ByKeyModel = BTreeMap<(String, String), Credited>;

/// The ISO weeks of orders: order id → index into `names`.
#[derive(Debug, Default)]
pub struct OrderWeeks {
    of_order: FxMap<String, u32>,
    index: FxMap<String, u32>,
    names: Vec<String>,
}

impl OrderWeeks {
    /// Records the week of order `id` placed at `us`.
    pub fn insert(&mut self, id: String, us: i64) {
        let week = iso_week(us);
        let k = if let Some(&k) = self.index.get(&week) {
            k
        } else {
            self.names.push(week.clone());
            let k = u32::try_from(self.names.len() - 1).expect("fewer than 2^32 weeks");
            self.index.insert(week, k);
            k
        };
        self.of_order.insert(id, k);
    }

    /// The week index of order `id`: one past the last week when the order is unknown.
    fn index_of(&self, id: &str) -> usize {
        self.of_order.get(id).map_or(self.names.len(), |&k| k as usize)
    }

    /// The name of week index `k` ([`UNKNOWN`] past the last week).
    fn name(&self, k: usize) -> &str {
        self.names.get(k).map_or(UNKNOWN, String::as_str)
    }
}

/// Reads `credits.parquet` and spreads every creator touch's credit over formats (by the
/// creator's posts) and weeks (of the order). Rows are summed into index-addressed
/// accumulators (model × format, model × week) with no allocation per row: the file has a
/// row per credited touch and model, tens of millions on a large program.
pub fn credits(path: &Path, weeks: &OrderWeeks, posts: &Posts) -> anyhow::Result<(ByKeyModel, ByKeyModel)> {
    let mut models: Vec<String> = Vec::new();
    let mut formats: Vec<String> = Vec::new();
    // creator → campaign ("" for none) → (format index, share).
    let mut shares_of: FxMap<String, FxMap<String, Vec<(usize, f64)>>> = FxMap::default();
    let mut by_format: Vec<Vec<Credited>> = Vec::new();
    let mut by_week: Vec<Vec<Credited>> = Vec::new();
    let columns = ["order_id", "model", "creator_id", "campaign_id", "credit", "revenue"];
    let reader = roicast_data::parquet_limits::project(roicast_data::parquet_limits::open(path)?, &columns)
        .build()
        .with_context(|| format!("failed to read {}", path.display()))?;
    for batch in reader {
        let b: RecordBatch = batch.with_context(|| format!("failed to read {}", path.display()))?;
        let col =
            |name: &str| b.column_by_name(name).with_context(|| format!("{}: no column `{name}`", path.display()));
        let (order, model, creator, campaign) = (
            col("order_id")?.as_string::<i32>(),
            col("model")?.as_string::<i32>(),
            col("creator_id")?.as_string::<i32>(),
            col("campaign_id")?.as_string::<i32>(),
        );
        let credit = col("credit")?.as_primitive::<Float64Type>();
        let revenue = col("revenue")?.as_primitive::<Float64Type>();
        for i in 0..b.num_rows() {
            if creator.is_null(i) {
                continue;
            }
            let m = models.iter().position(|x| x == model.value(i)).unwrap_or_else(|| {
                models.push(model.value(i).to_owned());
                by_format.push(Vec::new());
                by_week.push(Vec::new());
                models.len() - 1
            });
            let (c, k) = (creator.value(i), if campaign.is_null(i) { "" } else { campaign.value(i) });
            if shares_of.get(c).and_then(|x| x.get(k)).is_none() {
                let shares = posts
                    .format_shares(c, (!k.is_empty()).then_some(k))
                    .into_iter()
                    .map(|(f, share)| {
                        let at = formats.iter().position(|x| *x == f).unwrap_or_else(|| {
                            formats.push(f);
                            formats.len() - 1
                        });
                        (at, share)
                    })
                    .collect();
                shares_of.entry(c.to_owned()).or_default().insert(k.to_owned(), shares);
            }
            let (rev, conv) = (revenue.value(i), credit.value(i));
            for &(f, share) in &shares_of[c][k] {
                if by_format[m].len() <= f {
                    by_format[m].resize(f + 1, Credited::default());
                }
                by_format[m][f].revenue += rev * share;
                by_format[m][f].conversions += conv * share;
            }
            let w = weeks.index_of(order.value(i));
            if by_week[m].len() <= w {
                by_week[m].resize(w + 1, Credited::default());
            }
            by_week[m][w].revenue += rev;
            by_week[m][w].conversions += conv;
        }
    }
    let keyed = |acc: &[Vec<Credited>], name: &dyn Fn(usize) -> String| -> ByKeyModel {
        let mut out = ByKeyModel::new();
        for (m, row) in acc.iter().enumerate() {
            // Keys a model credited nothing to are left out (the vectors are zero-filled up
            // to the last key seen).
            for (k, v) in row.iter().enumerate().filter(|(_, v)| v.revenue != 0.0 || v.conversions != 0.0) {
                out.insert((name(k), models[m].clone()), *v);
            }
        }
        out
    };
    Ok((keyed(&by_format, &|f| formats[f].clone()), keyed(&by_week, &|w| weeks.name(w).to_owned())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_weeks_are_monday_based_and_year_correct() {
        let us = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp_micros();
        assert_eq!(iso_week(us("2026-01-05T00:00:00Z")), "2026-W02"); // a Monday
        assert_eq!(iso_week(us("2026-01-04T23:59:59Z")), "2026-W01"); // the Sunday before
        assert_eq!(iso_week(us("2024-12-30T12:00:00Z")), "2025-W01"); // ISO year ≠ calendar year
    }
}
