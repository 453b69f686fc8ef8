//! The engagement job ([`run`]) and EMV alone ([`run_emv`]): per-post and per-creator engagement quality,
//! authenticity, traffic quality, earned media value and per-campaign brand health.
//! The formulas live in `roicast_models::engagement`; this module reads the tables,
//! aggregates and writes.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use arrow_array::Array;
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, TimestampMicrosecondType};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use roicast_data::builder::RowBuilder;
use roicast_data::io::{TableWriter, format_timestamp_us};
use roicast_data::{Dataset, Table};
use roicast_models::FxMap;
use roicast_models::engagement::{
    self as eng, AuthenticityInputs, CommentKind, PostCounts, RateCard, Signal, Traffic, median, ratio,
};
use serde::Serialize;
use serde_json::json;
use xxhash_rust::xxh3::xxh3_64;

use serde::Deserialize;

use super::Ctx;
use super::sentiment::Scorer;

mod digest;
use crate::output::columns::{col, int, text, ts};
use crate::output::{FileRecord, ManifestBuilder, Staging};
pub use digest::Partitions;

const DAY_US: i64 = 86_400_000_000;
const HOUR_US: i64 = 3_600_000_000;
/// A session converts when its user orders within this window.
const CONVERSION_WINDOW_US: i64 = 7 * DAY_US;
/// Brand-health windows around a campaign.
const HEALTH_WINDOW_US: i64 = 30 * DAY_US;

/// One post with everything scored about it.
#[derive(Debug, Clone)]
#[allow(clippy::struct_field_names)] // `post_id` is the column name it is written under
struct Post {
    post_id: String,
    creator_id: String,
    platform: String,
    format: String,
    campaign_id: Option<String>,
    published_at: i64,
    tier: &'static str,
    counts: PostCounts,
    /// Comment tallies: kinds and sentiment classes (neg, neu, pos) of the comments seen.
    kinds: HashMap<CommentKind, u64>,
    sentiment: [u64; 3],
    like_lead: Option<f64>,
    interactions_24h: Option<f64>,
    /// The benchmark of its (platform, tier, format), once computed.
    bench: Benchmark,
    /// Its account's index in the cards, once built.
    card: usize,
}

impl Post {
    fn comments_seen(&self) -> u64 {
        self.sentiment.iter().sum()
    }
    fn share(&self, k: CommentKind) -> Option<f64> {
        ratio(self.kinds.get(&k).copied().unwrap_or(0) as f64, Some(self.comments_seen() as f64))
    }
    /// Engagement rate by followers over its benchmark's.
    fn er_relative(&self) -> Option<f64> {
        eng::engagement_rates(&self.counts)
            .by_followers
            .zip(self.bench.er_followers)
            .and_then(|(e, b)| ratio(e, Some(b)))
    }
    fn sentiment_share(&self, class: usize) -> Option<f64> {
        ratio(self.sentiment[class] as f64, Some(self.comments_seen() as f64))
    }
}

/// Benchmarks per (platform, tier, format), computed from the data.
#[derive(Debug, Default, Clone, Copy, Serialize)]
struct Benchmark {
    posts: usize,
    er_followers: Option<f64>,
    likes_per_comment: Option<f64>,
    likes_per_view: Option<f64>,
}

/// One creator account's scorecard.
#[derive(Debug, Clone)]
struct Card {
    creator_id: String,
    platform: String,
    followers: f64,
    following: Option<f64>,
    tier: &'static str,
    posts: Vec<usize>,
    signals: [Signal; 7],
    audience_quality: f64,
    flagged: bool,
    cross_author_comments: u64,
    pasted_comments: u64,
    comments_seen: u64,
}

/// Everything the engagement job computes.
struct Scored {
    posts: Vec<Post>,
    cards: Vec<Card>,
    traffic: HashMap<String, Traffic>,
    rate_card: RateCard,
    sentiment_model: String,
    comments: u64,
    /// (creator_id, platform) → handle, from the creators table.
    handles: HashMap<(String, String), String>,
}

/// What [`score`] returns: the scores, the dataset read, its campaigns, their brand
/// health and (for a partitioned comments table) the digest store written.
type ScoreOutput = (Scored, Dataset, Vec<Campaign>, Vec<HealthRow>, Option<digest::Store>);

/// Reads and scores a dataset.
fn score(
    data: &Path,
    rate_card: RateCard,
    sentiment_model: &str,
    competitors: &[String],
    parts: Option<&PartsPlan>,
    ctx: &Ctx,
) -> anyhow::Result<ScoreOutput> {
    use roicast_data::validate::Progress as _;
    let dataset = ctx.open_dataset(data)?;
    for t in [Table::Creators, Table::Posts] {
        if !dataset.has(t) {
            bail!("{}: the dataset has no {} table, which the engagement job needs", data.display(), t.name());
        }
    }
    ctx.progress.stage("reading creators and posts", 0);
    // Creators: (creator_id, platform) → followers, following.
    let mut accounts: HashMap<(String, String), (f64, Option<f64>)> = HashMap::new();
    let mut handles: HashMap<(String, String), String> = HashMap::new();
    for b in dataset.load(Table::Creators)? {
        let t = Table::Creators;
        for i in 0..b.num_rows() {
            let key =
                (text(&b, t, "creator_id", i).unwrap_or_default(), text(&b, t, "platform", i).unwrap_or_default());
            if let Some(h) = text(&b, t, "handle", i) {
                handles.insert(key.clone(), h);
            }
            accounts.insert(key, (int(&b, t, "followers", i).unwrap_or(0.0), int(&b, t, "following", i)));
        }
    }
    let mut posts = Vec::new();
    for b in dataset.load(Table::Posts)? {
        let t = Table::Posts;
        for i in 0..b.num_rows() {
            let creator_id = text(&b, t, "creator_id", i).unwrap_or_default();
            let platform = text(&b, t, "platform", i).unwrap_or_default();
            let followers = accounts
                .get(&(creator_id.clone(), platform.clone()))
                .or_else(|| accounts.iter().find(|(k, _)| k.0 == creator_id).map(|(_, v)| v))
                .map_or(0.0, |a| a.0);
            let counts = PostCounts {
                followers,
                impressions: int(&b, t, "impressions", i),
                reach: int(&b, t, "reach", i),
                views: int(&b, t, "views", i),
                engaged_views: int(&b, t, "engaged_views", i),
                likes: int(&b, t, "likes", i),
                comments: int(&b, t, "comments", i),
                shares: int(&b, t, "shares", i),
                saves: int(&b, t, "saves", i),
                link_clicks: int(&b, t, "link_clicks", i),
            };
            posts.push(Post {
                post_id: text(&b, t, "post_id", i).unwrap_or_default(),
                creator_id,
                platform,
                format: text(&b, t, "format", i).unwrap_or_default(),
                campaign_id: text(&b, t, "campaign_id", i),
                published_at: ts(&b, t, "published_at", i).unwrap_or(0),
                tier: eng::tier(followers),
                counts,
                kinds: HashMap::new(),
                sentiment: [0; 3],
                like_lead: None,
                interactions_24h: None,
                bench: Benchmark::default(),
                card: 0,
            });
        }
    }
    let index: FxMap<String, usize> = posts.iter().enumerate().map(|(k, p)| (p.post_id.clone(), k)).collect();

    // Snapshots: first-snapshot like lead and interactions within 24 h.
    if dataset.has(Table::PostSnapshots) {
        ctx.progress.stage("reading post snapshots", 0);
        // Per post: (first at, likes, comments), (last ≤ 24 h at, interactions).
        let mut first: Vec<Option<(i64, f64, f64)>> = vec![None; posts.len()];
        let mut day: Vec<Option<(i64, f64)>> = vec![None; posts.len()];
        let t = Table::PostSnapshots;
        dataset.stream::<anyhow::Error>(t, |b| {
            // Columns resolved once a batch (by name per row, they cost more than the rows).
            let ids = col(b, t, "post_id").as_string::<i32>();
            let observed = col(b, t, "observed_at").as_primitive::<TimestampMicrosecondType>();
            let counts = ["likes", "comments", "shares", "saves"].map(|n| col(b, t, n).as_primitive::<Int64Type>());
            let cell = |k: usize, i: usize| counts[k].is_valid(i).then(|| counts[k].value(i) as f64);
            for i in 0..b.num_rows() {
                let Some(&k) = index.get(ids.value(i)) else { continue };
                let at = if observed.is_valid(i) { observed.value(i) } else { 0 };
                if let (Some(l), Some(c)) = (cell(0, i), cell(1, i))
                    && first[k].is_none_or(|f| at < f.0)
                {
                    first[k] = Some((at, l, c));
                }
                if at <= posts[k].published_at + 24 * HOUR_US && day[k].is_none_or(|d| at > d.0) {
                    let inter = cell(0, i).unwrap_or(0.0)
                        + cell(1, i).unwrap_or(0.0)
                        + cell(2, i).unwrap_or(0.0)
                        + cell(3, i).unwrap_or(0.0);
                    day[k] = Some((at, inter));
                }
            }
            Ok(())
        })?;
        for (p, f) in posts.iter_mut().zip(first) {
            if let (Some((_, l, c)), Some(likes), Some(comments)) = (f, p.counts.likes, p.counts.comments)
                && likes > 0.0
                && comments > 0.0
            {
                p.like_lead = Some(l / likes - c / comments);
            }
        }
        for (p, d) in posts.iter_mut().zip(day) {
            if let Some((_, inter)) = d {
                p.interactions_24h = Some(inter);
            }
        }
    }

    // Campaigns (brand words for "product mention", windows for brand health).
    let mut campaigns = Vec::new();
    if dataset.has(Table::Campaigns) {
        for b in dataset.load(Table::Campaigns)? {
            let t = Table::Campaigns;
            for i in 0..b.num_rows() {
                campaigns.push(Campaign {
                    campaign_id: text(&b, t, "campaign_id", i).unwrap_or_default(),
                    brand: text(&b, t, "brand", i),
                    starts_at: ts(&b, t, "starts_at", i).unwrap_or(0),
                    ends_at: ts(&b, t, "ends_at", i).unwrap_or(0),
                });
            }
        }
    }
    let product_words: Vec<String> = campaigns
        .iter()
        .filter_map(|c| c.brand.as_deref())
        .flat_map(|b| b.split_whitespace().map(str::to_lowercase))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();

    // Comments, read twice and never held: pass 1 counts 64-bit hashes (normalised text;
    // author × text; the first creators of each author), pass 2 classifies each comment
    // and tallies it into its post and its campaigns' brand-health windows. Both passes
    // run over text-free digests ([`digest`]): of each batch as it streams, or — for a
    // partitioned table — of each partition, kept beside the outputs and reused by the
    // next run while the partition is unchanged. Memory grows with posts, distinct texts
    // and authors (8–24 bytes each) and one partition's digests, not with the comments'
    // text (a 64-bit collision would merge two texts' duplicate counts: at 10 M distinct
    // texts, a chance of about 3 in a million).
    let (scorer, model_name) = Scorer::from_arg(sentiment_model)?;
    let creator_index: FxMap<&str, u32> = {
        let mut m = FxMap::default();
        for p in &posts {
            let n = m.len() as u32;
            m.entry(p.creator_id.as_str()).or_insert(n);
        }
        m
    };
    let post_creator: Vec<u32> = posts.iter().map(|p| creator_index[p.creator_id.as_str()]).collect();
    let brands: Vec<Option<String>> = campaigns.iter().map(|c| c.brand.as_deref().map(str::to_lowercase)).collect();
    let patterns = digest::Patterns::new(&brands, competitors, &product_words);
    let mut health = Health::new(&posts, &post_creator, creator_index.len(), &campaigns, &brands, &patterns);
    let mut copies: FxMap<u64, u32> = FxMap::default();
    let mut author_text: FxMap<u64, u32> = FxMap::default();
    // Per author: up to CROSS_CREATOR_AUTHORS distinct creators (enough to decide).
    let mut author_creators: FxMap<u64, Vec<u32>> = FxMap::default();
    let mut per_post_pasted = vec![0u64; posts.len()];
    let mut per_post_cross = vec![0u64; posts.len()];
    let mut tallies: Vec<(HashMap<CommentKind, u64>, [u64; 3])> = vec![(HashMap::new(), [0; 3]); posts.len()];
    let mut comments = 0u64;
    let mut store = None;
    if dataset.has(Table::Comments) {
        let t = Table::Comments;
        let files = dataset.disk_files(t);
        let partitioned = files.len() > 1 || files.first().is_some_and(|f| f.parent() != Some(dataset.root()));
        if let (true, Some(parts)) = (partitioned, parts) {
            store =
                Some(digest::build_store(ctx, &dataset, (&scorer, &model_name), &patterns, &parts.reuse, &parts.dir)?);
        }
        // Every digest in table order, computed to `detail` (stored digests are full).
        let each = |detail: digest::Detail, f: &mut dyn FnMut(&digest::Digest)| -> anyhow::Result<()> {
            if let Some(store) = &store {
                for path in &store.files {
                    f(&digest::read(path)?);
                }
                return Ok(());
            }
            dataset.stream::<anyhow::Error>(t, |b| {
                let mut d = digest::Digest::default();
                d.append_batch(&mut FxMap::default(), b, detail, &scorer, &patterns);
                f(&d);
                Ok(())
            })
        };
        let posts_of = |d: &digest::Digest| -> Vec<Option<usize>> {
            d.post_ids.iter().map(|id| index.get(id.as_str()).copied()).collect()
        };
        ctx.progress.stage("counting repeated comments", 0);
        each(digest::Detail::Hashes, &mut |d| {
            let post_of = posts_of(d);
            for r in &d.rows {
                let Some(post) = post_of[r.post as usize] else { continue };
                *copies.entry(r.text).or_default() += 1;
                if let Some(a) = r.author {
                    *author_text.entry(pair_hash(a, r.text)).or_default() += 1;
                    let seen = author_creators.entry(a).or_default();
                    let c = post_creator[post];
                    if seen.len() < eng::CROSS_CREATOR_AUTHORS && !seen.contains(&c) {
                        seen.push(c);
                    }
                }
            }
        })?;
        ctx.progress.stage("scoring comments", 0);
        each(digest::Detail::Full, &mut |d| {
            let post_of = posts_of(d);
            for (k, r) in d.rows.iter().enumerate() {
                let Some(post) = post_of[r.post as usize] else { continue };
                comments += 1;
                let tally = &mut tallies[post];
                *tally.0.entry(eng::with_copies(r.base, copies[&r.text])).or_default() += 1;
                tally.1[usize::from(r.class)] += 1;
                if let Some(a) = r.author {
                    per_post_pasted[post] += u64::from(author_text[&pair_hash(a, r.text)] >= 2);
                    per_post_cross[post] += u64::from(author_creators[&a].len() >= eng::CROSS_CREATOR_AUTHORS);
                }
                health.add(post_creator[post], r.created_at, usize::from(r.class), d.row_hits(k));
            }
        })?;
    }
    drop((copies, author_text, author_creators));
    let health = health.finish();
    for (p, (kinds, sentiment)) in posts.iter_mut().zip(tallies) {
        p.kinds = kinds;
        p.sentiment = sentiment;
    }

    // Benchmarks per (platform, tier, format).
    let mut groups: BTreeMap<(String, &'static str, String), Vec<usize>> = BTreeMap::new();
    for (k, p) in posts.iter().enumerate() {
        groups.entry((p.platform.clone(), p.tier, p.format.clone())).or_default().push(k);
    }
    let benchmarks: BTreeMap<_, Benchmark> = groups
        .iter()
        .map(|(key, ks)| {
            let mut er: Vec<f64> =
                ks.iter().filter_map(|&k| eng::engagement_rates(&posts[k].counts).by_followers).collect();
            let mut lpc: Vec<f64> = ks
                .iter()
                .filter_map(|&k| posts[k].counts.likes.and_then(|l| ratio(l, posts[k].counts.comments)))
                .collect();
            let mut lpv: Vec<f64> = ks
                .iter()
                .filter_map(|&k| posts[k].counts.likes.and_then(|l| ratio(l, posts[k].counts.views)))
                .collect();
            let b = Benchmark {
                posts: ks.len(),
                er_followers: median(&mut er),
                likes_per_comment: median(&mut lpc),
                likes_per_view: median(&mut lpv),
            };
            (key.clone(), b)
        })
        .collect();
    for (key, ks) in &groups {
        for &k in ks {
            posts[k].bench = benchmarks[key];
        }
    }

    // Creator accounts.
    let mut card_of: HashMap<(String, String), usize> = HashMap::new();
    let mut cards: Vec<Card> = Vec::new();
    let mut card_index = Vec::with_capacity(posts.len());
    for (k, p) in posts.iter().enumerate() {
        let key = (p.creator_id.clone(), p.platform.clone());
        let c = *card_of.entry(key.clone()).or_insert_with(|| {
            let (followers, following) = accounts.get(&key).copied().unwrap_or((p.counts.followers, None));
            cards.push(Card {
                creator_id: key.0.clone(),
                platform: key.1.clone(),
                followers,
                following,
                tier: eng::tier(followers),
                posts: Vec::new(),
                signals: eng::authenticity_signals(&AuthenticityInputs::default()),
                audience_quality: 100.0,
                flagged: false,
                cross_author_comments: 0,
                pasted_comments: 0,
                comments_seen: 0,
            });
            cards.len() - 1
        });
        cards[c].posts.push(k);
        card_index.push(c);
        cards[c].cross_author_comments += per_post_cross[k];
        cards[c].pasted_comments += per_post_pasted[k];
        cards[c].comments_seen += p.comments_seen();
    }
    for (p, c) in posts.iter_mut().zip(card_index) {
        p.card = c;
    }
    for card in &mut cards {
        let bench = |p: &Post| p.bench;
        let rel = |f: &dyn Fn(&Post) -> Option<f64>, g: &dyn Fn(&Benchmark) -> Option<f64>| {
            let mut v: Vec<f64> = card
                .posts
                .iter()
                .filter_map(|&k| f(&posts[k]).zip(g(&bench(&posts[k]))).and_then(|(x, b)| ratio(x, Some(b))))
                .collect();
            median(&mut v)
        };
        let mut leads: Vec<f64> = card.posts.iter().filter_map(|&k| posts[k].like_lead).collect();
        let inputs = AuthenticityInputs {
            er_relative: rel(&|p| eng::engagement_rates(&p.counts).by_followers, &|b| b.er_followers),
            likes_per_comment_relative: rel(&|p| p.counts.likes.and_then(|l| ratio(l, p.counts.comments)), &|b| {
                b.likes_per_comment
            }),
            likes_per_view_relative: rel(&|p| p.counts.likes.and_then(|l| ratio(l, p.counts.views)), &|b| {
                b.likes_per_view
            }),
            first_snapshot_like_lead: median(&mut leads),
            following: card.following,
            // Shrunk toward 0 with PRIOR_COMMENTS clean pseudo-comments: a nano account with
            // three comments, one from a busy commenter, is not a bot farm.
            cross_creator_author_share: (card.comments_seen > 0)
                .then(|| card.cross_author_comments as f64 / (card.comments_seen as f64 + eng::PRIOR_COMMENTS)),
            duplicate_share: (card.comments_seen > 0)
                .then(|| card.pasted_comments as f64 / (card.comments_seen as f64 + eng::PRIOR_COMMENTS)),
        };
        card.signals = eng::authenticity_signals(&inputs);
        card.audience_quality = eng::audience_quality(&card.signals);
        card.flagged = eng::flagged(&card.signals);
    }

    // Traffic: sessions matched to utm / affiliate-link assets; conversions by user.
    let mut traffic: HashMap<String, Traffic> = HashMap::new();
    if dataset.has(Table::Sessions) && dataset.has(Table::TrackingAssets) {
        ctx.progress.stage("matching sessions to tracking assets", 0);
        let assets = super::tracking::Assets::load(&dataset)?;
        let mut orders_by_user: FxMap<String, Vec<i64>> = FxMap::default();
        if dataset.has(Table::Orders) {
            let t = Table::Orders;
            dataset.stream::<anyhow::Error>(t, |b| {
                let users = col(b, t, "user_id").as_string::<i32>();
                for i in 0..b.num_rows() {
                    if let (true, Some(at)) = (users.is_valid(i), ts(b, t, "ordered_at", i)) {
                        if let Some(v) = orders_by_user.get_mut(users.value(i)) {
                            v.push(at);
                        } else {
                            orders_by_user.insert(users.value(i).to_owned(), vec![at]);
                        }
                    }
                }
                Ok(())
            })?;
            for v in orders_by_user.values_mut() {
                v.sort_unstable();
            }
        }
        let t = Table::Sessions;
        // Column positions resolved once (by name per row, the lookups cost more than the rows).
        let at_col = |name: &str| t.spec().index_of(name).expect("a canonical sessions column");
        let (bounced, duration, pageviews) = (at_col("bounced"), at_col("duration_s"), at_col("pageviews"));
        assets.for_each_session(&dataset, |b, i, user, at, (creator, _)| {
            let converted = orders_by_user.get(user).is_some_and(|o| {
                let k = o.partition_point(|x| *x < at);
                k < o.len() && o[k] <= at + CONVERSION_WINDOW_US
            });
            let e = if let Some(e) = traffic.get_mut(creator.as_str()) {
                e
            } else {
                traffic.entry(creator.clone()).or_default()
            };
            let (bounced, duration, pageviews) = (
                b.column(bounced).as_boolean(),
                b.column(duration).as_primitive::<Float64Type>(),
                b.column(pageviews).as_primitive::<Int64Type>(),
            );
            e.sessions += 1;
            e.bounced += u64::from(bounced.is_valid(i) && bounced.value(i));
            e.duration_s += if duration.is_valid(i) { duration.value(i) } else { 0.0 };
            e.pageviews += if pageviews.is_valid(i) { pageviews.value(i) as f64 } else { 0.0 } as u64;
            e.converted += u64::from(converted);
        })?;
    }
    ctx.progress.finish();
    Ok((
        Scored { posts, cards, traffic, rate_card, sentiment_model: model_name, comments, handles },
        dataset,
        campaigns,
        health,
        store,
    ))
}

/// Where a partitioned comments table's digests go and come from.
struct PartsPlan {
    /// The staged `parts` folder of this run.
    dir: PathBuf,
    /// The `parts` folder of the run whose digests may be kept.
    reuse: PathBuf,
}

/// A campaign's window and brand.
#[derive(Debug, Clone)]
#[allow(clippy::struct_field_names)] // `campaign_id` is the column name
struct Campaign {
    campaign_id: String,
    brand: Option<String>,
    starts_at: i64,
    ends_at: i64,
}

/// The 64-bit hash of a pair of hashes (author × text).
fn pair_hash(a: u64, b: u64) -> u64 {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&a.to_le_bytes());
    bytes[8..].copy_from_slice(&b.to_le_bytes());
    xxh3_64(&bytes)
}

/// The brand-health windows of a campaign: before, during and after.
const HEALTH_WINDOWS: [&str; 3] = ["before", "during", "after"];

fn health_windows(c: &Campaign) -> [(i64, i64); 3] {
    [
        (c.starts_at - HEALTH_WINDOW_US, c.starts_at),
        (c.starts_at, c.ends_at + 1),
        (c.ends_at + 1, c.ends_at + 1 + HEALTH_WINDOW_US),
    ]
}

/// Brand health accumulated while comments stream: per campaign and window, the comments
/// of the campaign's creators (those with a post in it) by sentiment class, with brand and
/// competitor mentions.
struct Health<'a> {
    campaigns: &'a [Campaign],
    /// The pattern id of each campaign's lower-case brand (none when it has none).
    brand_id: Vec<Option<u32>>,
    /// Per creator: the campaigns it has a post in, in campaign order.
    of_creator: Vec<Vec<u32>>,
    patterns: &'a digest::Patterns,
    /// Per campaign × window: negative, neutral, positive, brand mentions, competitor mentions.
    cells: Vec<[u64; 5]>,
}

/// One brand-health row before its shares and search lift.
struct HealthRow {
    campaign: usize,
    window: usize,
    lo: i64,
    hi: i64,
    cell: [u64; 5],
}

impl<'a> Health<'a> {
    fn new(
        posts: &[Post],
        post_creator: &[u32],
        n_creators: usize,
        campaigns: &'a [Campaign],
        brands: &[Option<String>],
        patterns: &'a digest::Patterns,
    ) -> Health<'a> {
        let by_id: FxMap<&str, u32> =
            campaigns.iter().enumerate().map(|(k, c)| (c.campaign_id.as_str(), k as u32)).collect();
        let mut of_creator: Vec<Vec<u32>> = vec![Vec::new(); n_creators];
        for (p, &c) in posts.iter().zip(post_creator) {
            if let Some(&k) = p.campaign_id.as_deref().and_then(|id| by_id.get(id)) {
                of_creator[c as usize].push(k);
            }
        }
        for v in &mut of_creator {
            v.sort_unstable();
            v.dedup();
        }
        Health {
            campaigns,
            brand_id: brands.iter().map(|b| b.as_deref().and_then(|b| patterns.brand_id(b))).collect(),
            of_creator,
            patterns,
            cells: vec![[0; 5]; 3 * campaigns.len()],
        }
    }

    /// Tallies a comment on `creator`'s post whose text contains the patterns `hits`.
    fn add(&mut self, creator: u32, created_at: i64, class: usize, hits: &[u32]) {
        let competitor = self.patterns.names_competitor(hits);
        for &k in &self.of_creator[creator as usize] {
            let windows = health_windows(&self.campaigns[k as usize]);
            if let Some(w) = windows.iter().position(|&(lo, hi)| created_at >= lo && created_at < hi) {
                let brand = self.brand_id[k as usize].is_some_and(|b| hits.contains(&b));
                let cell = &mut self.cells[3 * k as usize + w];
                cell[class] += 1;
                cell[3] += u64::from(brand);
                cell[4] += u64::from(competitor);
            }
        }
    }

    fn finish(self) -> Vec<HealthRow> {
        let mut out = Vec::with_capacity(self.cells.len());
        for (k, c) in self.campaigns.iter().enumerate() {
            for (w, (lo, hi)) in health_windows(c).into_iter().enumerate() {
                out.push(HealthRow { campaign: k, window: w, lo, hi, cell: self.cells[3 * k + w] });
            }
        }
        out
    }
}

impl Scored {
    fn card(&self, p: &Post) -> &Card {
        &self.cards[p.card]
    }
    fn emv(&self, p: &Post) -> f64 {
        self.rate_card.emv(&p.platform, &p.counts, self.card(p).audience_quality / 100.0)
    }
}

fn opt(v: Option<f64>) -> Option<f64> {
    v.filter(|x| x.is_finite())
}

fn write_posts(s: &Scored, path: &Path) -> anyhow::Result<()> {
    let f = |n: &str| Field::new(n, DataType::Float64, true);
    let mut fields = vec![
        Field::new("post_id", DataType::Utf8, false),
        Field::new("creator_id", DataType::Utf8, false),
        Field::new("platform", DataType::Utf8, false),
        Field::new("format", DataType::Utf8, false),
        Field::new("campaign_id", DataType::Utf8, true),
        Field::new(
            "published_at",
            DataType::Timestamp(TimeUnit::Microsecond, Some(roicast_data::schema::UTC.into())),
            false,
        ),
        Field::new("tier", DataType::Utf8, false),
    ];
    for n in [
        "followers",
        "impressions",
        "reach",
        "views",
        "engaged_views",
        "likes",
        "comments",
        "shares",
        "saves",
        "link_clicks",
        "interactions",
        "er_followers",
        "er_reach",
        "er_views",
        "er_benchmark",
        "er_relative",
        "comments_seen",
        "meaningful_share",
        "generic_share",
        "emoji_only_share",
        "mention_only_share",
        "duplicate_share",
        "positive_share",
        "neutral_share",
        "negative_share",
        "quality_meaningful",
        "quality_sentiment",
        "quality_depth",
        "quality_relative",
        "engagement_quality",
        "interactions_24h",
        "velocity_24h_per_1k_followers",
        "first_snapshot_like_lead",
        "emv",
    ] {
        fields.push(f(n));
    }
    fields.push(Field::new("emv_currency", DataType::Utf8, false));
    let schema = Arc::new(Schema::new(fields));
    let mut w = TableWriter::create(path, &schema)?;
    let mut rb = RowBuilder::new(schema.clone());
    for p in &s.posts {
        let c = &p.counts;
        let rates = eng::engagement_rates(c);
        let b = p.bench;
        let rel = p.er_relative();
        let q = eng::quality_components(
            c,
            p.share(CommentKind::Meaningful),
            p.sentiment_share(2),
            p.sentiment_share(0),
            rel,
        );
        rb.text(&p.post_id)
            .text(&p.creator_id)
            .text(&p.platform)
            .text(&p.format)
            .opt_text(p.campaign_id.as_deref())
            .ts(p.published_at)
            .text(p.tier)
            .float(c.followers)
            .opt_float(c.impressions)
            .opt_float(c.reach)
            .opt_float(c.views)
            .opt_float(c.engaged_views)
            .opt_float(c.likes)
            .opt_float(c.comments)
            .opt_float(c.shares)
            .opt_float(c.saves)
            .opt_float(c.link_clicks)
            .float(c.interactions())
            .opt_float(opt(rates.by_followers))
            .opt_float(opt(rates.by_reach))
            .opt_float(opt(rates.by_views))
            .opt_float(b.er_followers)
            .opt_float(opt(rel))
            .float(p.comments_seen() as f64)
            .opt_float(p.share(CommentKind::Meaningful))
            .opt_float(p.share(CommentKind::Generic))
            .opt_float(p.share(CommentKind::EmojiOnly))
            .opt_float(p.share(CommentKind::MentionOnly))
            .opt_float(p.share(CommentKind::Duplicate))
            .opt_float(p.sentiment_share(2))
            .opt_float(p.sentiment_share(1))
            .opt_float(p.sentiment_share(0))
            .opt_float(q.meaningful)
            .opt_float(q.sentiment)
            .opt_float(q.depth)
            .opt_float(q.relative)
            .opt_float(q.score())
            .opt_float(p.interactions_24h)
            .opt_float(p.interactions_24h.and_then(|i| ratio(1000.0 * i, Some(c.followers))))
            .opt_float(p.like_lead)
            .float(s.emv(p))
            .text(&s.rate_card.currency)
            .end_row();
        if rb.len() >= 65_536 {
            w.write(&rb.finish())?;
        }
    }
    if !rb.is_empty() {
        w.write(&rb.finish())?;
    }
    w.finish()?;
    Ok(())
}

/// The aggregated quality of a set of posts (sums of counts, pooled comment tallies).
fn pooled(s: &Scored, ks: &[usize]) -> (PostCounts, eng::QualityComponents, Option<f64>) {
    let mut c = PostCounts::default();
    let (mut meaningful, mut seen, mut sent) = (0u64, 0u64, [0u64; 3]);
    let mut rels = Vec::new();
    let add = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (None, None) => None,
        (x, y) => Some(x.unwrap_or(0.0) + y.unwrap_or(0.0)),
    };
    for &k in ks {
        let p = &s.posts[k];
        c.followers = c.followers.max(p.counts.followers);
        c.impressions = add(c.impressions, p.counts.impressions);
        c.reach = add(c.reach, p.counts.reach);
        c.views = add(c.views, p.counts.views);
        c.engaged_views = add(c.engaged_views, p.counts.engaged_views);
        c.likes = add(c.likes, p.counts.likes);
        c.comments = add(c.comments, p.counts.comments);
        c.shares = add(c.shares, p.counts.shares);
        c.saves = add(c.saves, p.counts.saves);
        c.link_clicks = add(c.link_clicks, p.counts.link_clicks);
        meaningful += p.kinds.get(&CommentKind::Meaningful).copied().unwrap_or(0);
        seen += p.comments_seen();
        for j in 0..3 {
            sent[j] += p.sentiment[j];
        }
        if let Some(r) = p.er_relative() {
            rels.push(r);
        }
    }
    let rel = median(&mut rels);
    let share = |n: u64| ratio(n as f64, Some(seen as f64));
    let q = eng::quality_components(&c, share(meaningful), share(sent[2]), share(sent[0]), rel);
    (c, q, rel)
}

fn write_cards(s: &Scored, path: &Path) -> anyhow::Result<()> {
    let f = |n: &str| Field::new(n, DataType::Float64, true);
    let mut fields = vec![
        Field::new("creator_id", DataType::Utf8, false),
        Field::new("platform", DataType::Utf8, false),
        Field::new("handle", DataType::Utf8, true),
        Field::new("tier", DataType::Utf8, false),
    ];
    let mut names: Vec<String> = [
        "followers",
        "following",
        "posts",
        "impressions",
        "reach",
        "views",
        "engaged_views",
        "likes",
        "comments",
        "shares",
        "saves",
        "link_clicks",
        "interactions",
        "er_followers",
        "er_reach",
        "er_views",
        "er_relative",
        "quality_meaningful",
        "quality_sentiment",
        "quality_depth",
        "quality_relative",
        "engagement_quality",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    for sig in &s.cards.first().map_or_else(|| eng::authenticity_signals(&AuthenticityInputs::default()), |c| c.signals)
    {
        names.push(format!("signal_{}", sig.name));
        names.push(format!("strength_{}", sig.name));
    }
    names.extend(
        [
            "audience_quality",
            "traffic_sessions",
            "bounce_rate",
            "mean_session_s",
            "pages_per_session",
            "conversion_rate",
            "traffic_quality",
            "emv",
        ]
        .iter()
        .map(|s| (*s).to_owned()),
    );
    fields.extend(names.iter().map(|n| f(n)));
    fields.push(Field::new("suspected_inflation", DataType::Boolean, false));
    fields.push(Field::new("signals_fired", DataType::Utf8, false));
    fields.push(Field::new("emv_currency", DataType::Utf8, false));
    let schema = Arc::new(Schema::new(fields));
    let mut rb = RowBuilder::new(schema.clone());
    for card in &s.cards {
        let (c, q, rel) = pooled(s, &card.posts);
        let rates = eng::EngagementRates {
            by_followers: ratio(c.interactions() / card.posts.len() as f64, Some(card.followers)),
            by_reach: ratio(c.interactions(), c.reach),
            by_views: ratio(c.interactions(), c.views),
        };
        rb.text(&card.creator_id)
            .text(&card.platform)
            .opt_text(s.handles.get(&(card.creator_id.clone(), card.platform.clone())).map(String::as_str))
            .text(card.tier)
            .float(card.followers)
            .opt_float(card.following)
            .float(card.posts.len() as f64)
            .opt_float(c.impressions)
            .opt_float(c.reach)
            .opt_float(c.views)
            .opt_float(c.engaged_views)
            .opt_float(c.likes)
            .opt_float(c.comments)
            .opt_float(c.shares)
            .opt_float(c.saves)
            .opt_float(c.link_clicks)
            .float(c.interactions())
            .opt_float(opt(rates.by_followers))
            .opt_float(opt(rates.by_reach))
            .opt_float(opt(rates.by_views))
            .opt_float(opt(rel))
            .opt_float(q.meaningful)
            .opt_float(q.sentiment)
            .opt_float(q.depth)
            .opt_float(q.relative)
            .opt_float(q.score());
        for sig in &card.signals {
            rb.opt_float(sig.value).float(sig.strength);
        }
        let t = s.traffic.get(&card.creator_id).copied().unwrap_or_default();
        let emv: f64 = card.posts.iter().map(|&k| s.emv(&s.posts[k])).sum();
        let fired: Vec<&str> =
            card.signals.iter().filter(|g| g.strength >= eng::SIGNAL_FIRES).map(|g| g.name).collect();
        rb.float(card.audience_quality)
            .float(t.sessions as f64)
            .opt_float(t.bounce_rate())
            .opt_float(t.mean_duration_s())
            .opt_float(t.pages_per_session())
            .opt_float(t.conversion_rate())
            .opt_float(t.quality_index())
            .float(emv)
            .bool(card.flagged)
            .text(&fired.join(","))
            .text(&s.rate_card.currency)
            .end_row();
    }
    let mut w = TableWriter::create(path, &schema)?;
    w.write(&rb.finish())?;
    w.finish()?;
    Ok(())
}

/// Brand health per campaign and window (before / during / after).
fn write_brand_health(
    campaigns: &[Campaign],
    rows: &[HealthRow],
    competitors: &[String],
    search: Option<&[(i64, f64)]>,
    path: &Path,
) -> anyhow::Result<usize> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "campaign_id",
        "window",
        "window_start",
        "window_end",
        "comments",
        "positive_share",
        "neutral_share",
        "negative_share",
        "net_sentiment",
        "brand_mentions",
        "competitor_mentions",
        "share_of_voice",
        "branded_search_mean",
        "branded_search_lift",
    ])?;
    for r in rows {
        let c = &campaigns[r.campaign];
        let before_search = search.map(|v| mean_in(v, c.starts_at - HEALTH_WINDOW_US, c.starts_at));
        let (counts, brand_m, comp_m) = (&r.cell[..3], r.cell[3], r.cell[4]);
        let total: u64 = counts.iter().sum();
        let share = |k: usize| ratio(counts[k] as f64, Some(total as f64));
        let f = |v: Option<f64>| v.filter(|x| x.is_finite()).map_or_else(String::new, |x| format!("{x}"));
        let sov = if competitors.is_empty() { None } else { ratio(brand_m as f64, Some((brand_m + comp_m) as f64)) };
        let search_mean = search.and_then(|v| mean_in(v, r.lo, r.hi));
        let lift = search_mean.zip(before_search.flatten()).and_then(|(m, b)| ratio(m, Some(b))).map(|r| r - 1.0);
        w.write_record([
            c.campaign_id.clone(),
            HEALTH_WINDOWS[r.window].to_owned(),
            format_timestamp_us(r.lo),
            format_timestamp_us(r.hi),
            total.to_string(),
            f(share(2)),
            f(share(1)),
            f(share(0)),
            f(share(2).zip(share(0)).map(|(p, q)| p - q)),
            brand_m.to_string(),
            if competitors.is_empty() { String::new() } else { comp_m.to_string() },
            f(sov),
            f(search_mean),
            f(lift),
        ])?;
    }
    roicast_data::io::write_bytes_atomic(path, &w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?)?;
    Ok(rows.len())
}

fn mean_in(v: &[(i64, f64)], lo: i64, hi: i64) -> Option<f64> {
    let xs: Vec<f64> = v.iter().filter(|(d, _)| *d >= lo && *d < hi).map(|(_, x)| *x).collect();
    (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64)
}

/// Reads a branded-search series: CSV with `date` (YYYY-MM-DD or RFC 3339) and
/// `volume` (≥ 0). Errors name file, row and column.
fn read_branded_search(path: &Path) -> anyhow::Result<Vec<(i64, f64)>> {
    let csv_error = |source| roicast_data::DataError::Csv { path: path.to_owned(), source };
    let mut r = csv::Reader::from_path(path).map_err(csv_error)?;
    let headers = r.headers().map_err(csv_error)?.clone();
    let find = |name: &str| {
        headers.iter().position(|h| h.trim() == name).ok_or_else(|| {
            let names = headers.iter().collect::<Vec<_>>().join(", ");
            super::bad_file(path, format!("no column `{name}` (columns: {names})"))
        })
    };
    let (di, vi) = (find("date")?, find("volume")?);
    let mut out = Vec::new();
    for (k, rec) in r.records().enumerate() {
        let row = k as u64 + 1;
        let rec = rec.map_err(csv_error)?;
        let d = rec.get(di).unwrap_or("").trim();
        let full = if d.len() == 10 { format!("{d}T00:00:00Z") } else { d.to_owned() };
        let at = roicast_data::conform::parse_timestamp_us(&full).ok_or_else(|| {
            super::bad_value(path, row, "date", format!("`{d}` is not a date (YYYY-MM-DD or RFC 3339)"))
        })?;
        let v: f64 = rec
            .get(vi)
            .unwrap_or("")
            .trim()
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| super::bad_value(path, row, "volume", "not a number >= 0"))?;
        out.push((at, v));
    }
    Ok(out)
}

fn load_card(path: Option<&PathBuf>) -> anyhow::Result<RateCard> {
    match path {
        None => Ok(RateCard::default_card()),
        Some(p) => {
            let text =
                std::fs::read_to_string(p).with_context(|| format!("failed to read the rate card {}", p.display()))?;
            // The card's own messages name the file, line and column.
            RateCard::parse(&text, &p.display().to_string()).map_err(|m| {
                let reason = m.strip_prefix(&format!("{}: ", p.display())).unwrap_or(&m).to_owned();
                super::bad_file(p, reason)
            })
        }
    }
}

/// Precision and recall of the `suspected_inflation` flag against a list of ids.
#[must_use]
pub fn precision_recall<S: std::hash::BuildHasher>(flagged: &[String], truth: &HashSet<String, S>) -> (f64, f64) {
    let tp = flagged.iter().filter(|c| truth.contains(*c)).count() as f64;
    let precision = if flagged.is_empty() { 0.0 } else { tp / flagged.len() as f64 };
    let recall = if truth.is_empty() { 1.0 } else { tp / truth.len() as f64 };
    (precision, recall)
}

fn default_model() -> String {
    "default".into()
}

/// The engagement job (`roicast engagement`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Dataset folder (needs creators and posts; uses post_snapshots, comments, sessions,
    /// tracking_assets, orders and campaigns when present).
    pub data: PathBuf,
    /// Output folder: posts_scored.parquet, creator_scorecard.parquet, brand_health.csv, emv.csv.
    pub out: PathBuf,
    /// EMV rate card (CSV) instead of the embedded one.
    #[serde(default)]
    pub rate_card: Option<PathBuf>,
    /// Comment sentiment scorer: `default`, `vader` or a model file.
    #[serde(default = "default_model")]
    pub sentiment_model: String,
    /// Competitor names for share of voice.
    #[serde(default)]
    pub competitors: Vec<String>,
    /// Daily branded-search volume (CSV: date, volume).
    #[serde(default)]
    pub branded_search: Option<PathBuf>,
    /// A partitioned comments table (`comments/day=…/…`) is read partition by partition
    /// into text-free digests kept in `out/parts/`; partitions unchanged since the run
    /// that wrote this folder's digests (same file content, sentiment model, campaign
    /// brands, competitors and roicast version) are not read again. Default: `out`.
    #[serde(default)]
    pub reuse: Option<PathBuf>,
}

/// A flagged account.
#[derive(Debug, Clone, Serialize)]
pub struct Flagged {
    /// The creator.
    pub creator_id: String,
    /// The platform.
    pub platform: String,
    /// Audience quality, 0–100.
    pub audience_quality: f64,
}

/// One line of the scorecard a person reads.
#[derive(Debug, Clone, Serialize)]
pub struct ScorecardLine {
    /// The creator.
    pub creator_id: String,
    /// The platform.
    pub platform: String,
    /// The account's handle, when the creators table has it.
    pub handle: Option<String>,
    /// Follower tier.
    pub tier: String,
    /// Posts scored.
    pub posts: usize,
    /// Engagement quality, 0–100.
    pub engagement_quality: Option<f64>,
    /// Audience quality, 0–100.
    pub audience_quality: f64,
    /// Traffic quality index.
    pub traffic_quality: Option<f64>,
    /// EMV on authentic engagement.
    pub emv: f64,
    /// Suspected inflation.
    pub suspected_inflation: bool,
    /// Signals that fired.
    pub signals_fired: Vec<String>,
}

/// What the engagement job wrote and found.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Output folder.
    pub out: PathBuf,
    /// A partitioned comments table: the partitions read and those whose digests were kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partitions: Option<Partitions>,
    /// Posts scored.
    pub posts: usize,
    /// Comments read.
    pub comments: u64,
    /// Creator accounts scored.
    pub creators: usize,
    /// Accounts flagged for suspected inflation.
    pub flagged: Vec<Flagged>,
    /// The EMV rate card's version.
    pub rate_card: String,
    /// Files written.
    pub files: Vec<PathBuf>,
    /// The rate card's currency.
    pub currency: String,
    /// The top accounts by engagement quality (at most [`SCORECARD_TOP`]), then every flagged one.
    pub scorecard: Vec<ScorecardLine>,
}

/// How many top accounts the summary's scorecard lists before the flagged ones.
pub const SCORECARD_TOP: usize = 15;

/// Scores the dataset; writes the four outputs together and `engagement.manifest.json`.
pub fn run(ctx: &Ctx, a: &Config) -> anyhow::Result<Summary> {
    let mut manifest = ManifestBuilder::start("engagement");
    let card = load_card(a.rate_card.as_ref())?;
    let search = a.branded_search.as_deref().map(read_branded_search).transpose()?;
    let competitors: Vec<String> =
        a.competitors.iter().map(|c| c.trim().to_lowercase()).filter(|c| !c.is_empty()).collect();
    let mut staging = Staging::new(&a.out, "engagement")?;
    let parts = PartsPlan {
        dir: staging.scratch(digest::PARTS),
        reuse: a.reuse.as_ref().unwrap_or(&a.out).join(digest::PARTS),
    };
    let (s, dataset, campaigns, health, store) =
        score(&a.data, card, &a.sentiment_model, &competitors, Some(&parts), ctx)?;
    manifest.stage_done("score");
    if store.is_some() {
        // The digests move into place with the outputs.
        staging.path(digest::PARTS);
    }
    write_posts(&s, &staging.path("posts_scored.parquet"))?;
    write_cards(&s, &staging.path("creator_scorecard.parquet"))?;
    let health_rows =
        write_brand_health(&campaigns, &health, &competitors, search.as_deref(), &staging.path("brand_health.csv"))?;
    write_emv(&s, &staging.path("emv.csv"))?;
    let mut written = staging.commit()?;
    manifest.stage_done("write");
    let final_parts = a.out.join(digest::PARTS);
    written.retain(|p| *p != final_parts);
    let mut records = written.iter().map(|p| FileRecord::of(p)).collect::<anyhow::Result<Vec<_>>>()?;
    if let Some(store) = &store {
        for p in digest::store_outputs(store, &parts.dir) {
            records.push(FileRecord::of(&final_parts.join(p.file_name().expect("a digest file has a name")))?);
        }
    }
    let inputs = FileRecord::inputs(&dataset, Table::ALL.iter().copied())?;
    let flagged: Vec<&Card> = s.cards.iter().filter(|c| c.flagged).collect();
    manifest
        .finish(
            json!({ "data": a.data, "rate_card": s.rate_card.version, "sentiment_model": s.sentiment_model,
                    "competitors": competitors, "branded_search": a.branded_search }),
            inputs,
            records,
            BTreeMap::from([
                ("posts".to_owned(), s.posts.len() as u64),
                ("comments".to_owned(), s.comments),
                ("creators".to_owned(), s.cards.len() as u64),
                ("brand_health_rows".to_owned(), health_rows as u64),
            ]),
            "ok",
        )
        .with_reused(
            store
                .as_ref()
                .map(|st| {
                    st.partitions
                        .reused
                        .iter()
                        .map(|r| format!("{}/{}.digest", digest::PARTS, r.replace('/', "__")))
                        .collect()
                })
                .unwrap_or_default(),
        )
        .write(&a.out)?;
    Ok(Summary {
        out: a.out.clone(),
        partitions: store.map(|st| st.partitions),
        posts: s.posts.len(),
        comments: s.comments,
        creators: s.cards.len(),
        flagged: flagged
            .iter()
            .map(|c| Flagged {
                creator_id: c.creator_id.clone(),
                platform: c.platform.clone(),
                audience_quality: c.audience_quality,
            })
            .collect(),
        rate_card: s.rate_card.version.clone(),
        files: written,
        currency: s.rate_card.currency.clone(),
        scorecard: scorecard(&s, SCORECARD_TOP),
    })
}

/// The creator scorecard: top `top` by engagement quality, then every flagged account.
fn scorecard(s: &Scored, top: usize) -> Vec<ScorecardLine> {
    let mut rows: Vec<(&Card, Option<f64>, Option<f64>, f64)> = s
        .cards
        .iter()
        .map(|c| {
            let (_, q, _) = pooled(s, &c.posts);
            let t = s.traffic.get(&c.creator_id).and_then(Traffic::quality_index);
            (c, q.score(), t, c.posts.iter().map(|&k| s.emv(&s.posts[k])).sum())
        })
        .collect();
    rows.sort_by(|a, b| b.1.unwrap_or(-1.0).total_cmp(&a.1.unwrap_or(-1.0)));
    rows.iter()
        .take(top)
        .chain(rows.iter().skip(top).filter(|r| r.0.flagged))
        .map(|(c, q, t, emv)| ScorecardLine {
            creator_id: c.creator_id.clone(),
            platform: c.platform.clone(),
            handle: s.handles.get(&(c.creator_id.clone(), c.platform.clone())).cloned(),
            tier: c.tier.to_string(),
            posts: c.posts.len(),
            engagement_quality: *q,
            audience_quality: c.audience_quality,
            traffic_quality: *t,
            emv: *emv,
            suspected_inflation: c.flagged,
            signals_fired: c
                .signals
                .iter()
                .filter(|g| g.strength >= eng::SIGNAL_FIRES)
                .map(|g| g.name.to_owned())
                .collect(),
        })
        .collect()
}

fn write_emv(s: &Scored, path: &Path) -> anyhow::Result<()> {
    // Sums per (level, key) in the posts' order, then written sorted by level and key.
    let mut level: FxMap<(&str, &str), (f64, f64)> = FxMap::default();
    for p in &s.posts {
        let raw = s.rate_card.emv(&p.platform, &p.counts, 1.0);
        let authentic = s.emv(p);
        for key in [
            ("post", p.post_id.as_str()),
            ("creator", p.creator_id.as_str()),
            ("campaign", p.campaign_id.as_deref().unwrap_or("(organic)")),
            ("platform", p.platform.as_str()),
            ("total", "all"),
        ] {
            let e = level.entry(key).or_default();
            e.0 += authentic;
            e.1 += raw;
        }
    }
    let mut level: Vec<_> = level.into_iter().collect();
    level.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["level", "key", "emv", "emv_before_authenticity_discount", "currency", "rate_card"])?;
    for ((l, k), (e, raw)) in level {
        w.write_record([l, k, &format!("{e}"), &format!("{raw}"), &s.rate_card.currency, &s.rate_card.version])?;
    }
    roicast_data::io::write_bytes_atomic(path, &w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?)?;
    Ok(())
}

/// EMV alone (`roicast emv`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmvConfig {
    /// Dataset folder.
    pub data: PathBuf,
    /// Output folder (`emv.csv`).
    pub out: PathBuf,
    /// EMV rate card (CSV) instead of the embedded one.
    #[serde(default)]
    pub rate_card: Option<PathBuf>,
}

/// Total EMV.
#[derive(Debug, Clone, Serialize)]
pub struct EmvSummary {
    /// EMV on authentic engagement.
    pub emv: f64,
    /// EMV before the authenticity discount.
    pub emv_before_authenticity_discount: f64,
    /// The rate card's currency.
    pub currency: String,
    /// The rate card's version.
    pub rate_card: String,
    /// The file written.
    pub file: PathBuf,
}

/// `roicast emv`.
/// Computes EMV alone; writes `emv.csv` and `emv.manifest.json`.
pub fn run_emv(ctx: &Ctx, a: &EmvConfig) -> anyhow::Result<EmvSummary> {
    let manifest = ManifestBuilder::start("emv");
    let card = load_card(a.rate_card.as_ref())?;
    let (s, dataset, ..) = score(&a.data, card, "default", &[], None, ctx)?;
    std::fs::create_dir_all(&a.out).with_context(|| format!("failed to create {}", a.out.display()))?;
    let path = a.out.join("emv.csv");
    write_emv(&s, &path)?;
    let inputs = FileRecord::inputs(&dataset, Table::ALL.iter().copied())?;
    manifest
        .finish(
            json!({ "data": a.data, "rate_card": s.rate_card }),
            inputs,
            vec![FileRecord::of(&path)?],
            BTreeMap::from([("posts".to_owned(), s.posts.len() as u64)]),
            "ok",
        )
        .write(&a.out)?;
    let total: f64 = s.posts.iter().map(|p| s.emv(p)).sum();
    let raw: f64 = s.posts.iter().map(|p| s.rate_card.emv(&p.platform, &p.counts, 1.0)).sum();
    Ok(EmvSummary {
        emv: total,
        emv_before_authenticity_discount: raw,
        currency: s.rate_card.currency.clone(),
        rate_card: s.rate_card.version.clone(),
        file: path,
    })
}
