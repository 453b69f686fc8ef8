//! The seeded synthetic world: every canonical table, drawn from a known generative
//! model, plus `truth.json` (and `truth_conversions.*`) holding the truth it was drawn from.
//!
//! # The world, in brief
//!
//! * **Creators** on instagram / tiktok / youtube in five tiers (nano to mega; followers
//!   log-uniform within a tier, so the whole is heavy-tailed), niches and countries.
//!   About 8 % bought engagement: fake followers, likes multiplied 2.5–5×, a burst of
//!   likes in the first hour, bot comments from a small pool of authors that comment
//!   across many posts, a high following count. They are listed in the truth.
//! * **Posts** (organic and sponsored) whose impressions, reach, views, likes, comments,
//!   shares and saves depend on tier, platform and format — with the metrics a
//!   platform does not report left null — and **snapshots** over the first week.
//! * **Comments** with real variety (see [`text`]) and a true label each.
//! * **Users** whose touches mix creator impressions / views / clicks (UTM or affiliate
//!   link) with paid social, search, email, affiliate and direct. The first purchase is
//!   drawn from an **additive hazard**: `λ(t) = λ₀ + Σⱼ βⱼ · 2^(−(t − tⱼ)/Hⱼ)` over the
//!   user's touches `j` (Zhang, Wei & Ren 2014), with β and half-life H per channel and
//!   interaction, and a per-creator multiplier on β. Additive hazards are competing
//!   risks, so the generator draws one latent time per touch and the earliest wins: the
//!   truth knows which touch (or the baseline) caused each conversion. Touches after a
//!   user's first order are not generated.
//! * **Promo codes** are used mostly by customers the code's creator converted, but
//!   also leak (shared codes, coupon sites): captured demand differs from created demand.
//! * **Repeat purchases** follow BG/NBD (Fader, Hardie & Lee 2005: a customer may drop out
//!   only after a repeat purchase), spend per order Gamma-Gamma, and subscriptions churn
//!   monthly by shifted-beta-geometric — each with parameters that differ by the
//!   creator who caused the acquisition.
//! * **Costs** of every type, **tracking assets**, **sessions** whose bounce, duration
//!   and depth depend on the creator, a **campaign history** drawn from a known revenue
//!   model, and **candidates** with their true revenue quantiles.
//!
//! Every random draw comes from a stream keyed by `(seed, stream, index)` ([`Rng`]), so
//! a world is byte-identical for a seed whatever the number of threads.

pub mod exports;
pub mod text;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use rayon::prelude::*;
use serde::Serialize;

use crate::builder::RowBuilder;
use crate::error::DataError;
use crate::io::{Format, TableWriter, write_bytes_atomic};
use crate::rng::{Alias, Rng};
use crate::schema::Table;
use crate::validate::Progress;
use text::CommentKind;

/// Version of the generative model; bumped whenever a world for a seed changes.
pub const GENERATOR_VERSION: u32 = 5;

const DAY: i64 = 86_400_000_000;
const HOUR: i64 = 3_600_000_000;
const MINUTE: i64 = 60_000_000;
/// Rows per written batch.
const BATCH: usize = 65_536;
/// Users simulated per parallel chunk.
const USERS_PER_CHUNK: u64 = 8_192;
/// Posts per parallel chunk (snapshots and comments).
const POSTS_PER_CHUNK: usize = 4_096;

/// 2025-01-06T00:00:00Z, the first day of the campaign period.
const WORLD_START: i64 = 1_736_121_600_000_000;
/// 2023-01-02T00:00:00Z, the first day of the campaign history.
const HISTORY_START: i64 = 1_672_617_600_000_000;

/// A named world size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scenario {
    /// ~150 creators, ~60 k users: the demo, seconds in release.
    Demo,
    /// ~40 creators, ~4 k users: for tests.
    Small,
    /// 5 000 creators, ≥ 10 M touchpoints, ≥ 1 M comments: for scale tests.
    Large,
    /// 20 000 creators, ≥ 100 M touchpoints, ≥ 10 M comments, > 1 M customers: for
    /// bounded-memory tests (streamed to disk chunk by chunk; write it partitioned).
    Xlarge,
}

impl std::str::FromStr for Scenario {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "demo" => Ok(Scenario::Demo),
            "small" => Ok(Scenario::Small),
            "large" => Ok(Scenario::Large),
            "xlarge" => Ok(Scenario::Xlarge),
            other => Err(format!("unknown scenario `{other}`: expected demo, small, large or xlarge")),
        }
    }
}

/// The sizes of a scenario.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Sizes {
    /// Creators.
    pub creators: usize,
    /// Campaigns.
    pub campaigns: usize,
    /// Creators per campaign.
    pub creators_per_campaign: usize,
    /// Users simulated (an upper bound when `min_touchpoints` is set).
    pub users: u64,
    /// Keep simulating users until at least this many touchpoints are written.
    pub min_touchpoints: Option<u64>,
    /// Comments to sample across posts (at least; rounding adds a few).
    pub comments: u64,
    /// Campaign-history rows.
    pub history: usize,
    /// Candidates.
    pub candidates: usize,
    /// Days in the campaign period.
    pub campaign_days: i64,
    /// Days from the end of the campaign period to the end of observation.
    pub tail_days: i64,
}

impl Scenario {
    /// The sizes of this scenario.
    #[must_use]
    pub fn sizes(self) -> Sizes {
        match self {
            Scenario::Small => Sizes {
                creators: 40,
                campaigns: 4,
                creators_per_campaign: 12,
                users: 4_000,
                min_touchpoints: None,
                comments: 3_000,
                history: 200,
                candidates: 12,
                campaign_days: 182,
                tail_days: 180,
            },
            Scenario::Demo => Sizes {
                creators: 150,
                campaigns: 10,
                creators_per_campaign: 18,
                users: 80_000,
                min_touchpoints: None,
                comments: 30_000,
                history: 600,
                candidates: 40,
                campaign_days: 357,
                tail_days: 183,
            },
            Scenario::Large => Sizes {
                creators: 5_000,
                campaigns: 80,
                creators_per_campaign: 60,
                users: 4_000_000,
                min_touchpoints: Some(10_000_000),
                comments: 1_000_000,
                history: 20_000,
                candidates: 500,
                campaign_days: 357,
                tail_days: 183,
            },
            Scenario::Xlarge => Sizes {
                creators: 20_000,
                campaigns: 320,
                creators_per_campaign: 60,
                users: 40_000_000,
                min_touchpoints: Some(100_000_000),
                comments: 10_000_000,
                history: 20_000,
                candidates: 500,
                campaign_days: 357,
                tail_days: 183,
            },
        }
    }
}

/// What to generate.
#[derive(Debug, Clone)]
#[allow(clippy::struct_excessive_bools)] // independent opt-in switches of the generator
pub struct GenerateParams {
    /// The world size.
    pub scenario: Scenario,
    /// The seed; the same seed gives byte-identical files.
    pub seed: u64,
    /// The file format of the tables.
    pub format: Format,
    /// Replace `out` if it exists.
    pub overwrite: bool,
    /// Plant monitoring events (engagement spikes, broken links, sentiment backlashes)
    /// whose truth is `events` in truth.json. Off by default: the world is then the same
    /// as before this option existed.
    pub events: bool,
    /// Redraw every creator as one of the authenticity study's kinds ([`InflationKind`]):
    /// bought engagement at graded strengths, pods, bought followers, and genuine accounts
    /// that look odd. Off by default (the world is then the same as before).
    pub inflation_study: bool,
    /// Give the creator click-through rate a weekly season ([`WEEKLY_CTR`]: weekends about
    /// 40 % lower). Off by default (the world is then the same as before).
    pub weekly_season: bool,
}

/// The factor a weekday's creator click-through rate is multiplied by with
/// [`GenerateParams::weekly_season`], Sunday first: a B2B-like week whose weekend clicks
/// fall by about 40 % (mean over the week 0.92).
pub const WEEKLY_CTR: [f64; 7] = [0.6, 1.1, 1.1, 1.05, 1.0, 0.95, 0.6];

impl GenerateParams {
    /// Parameters for `scenario` with seed 42, Parquet, no overwrite.
    #[must_use]
    pub fn new(scenario: Scenario) -> GenerateParams {
        GenerateParams {
            scenario,
            seed: 42,
            format: Format::Parquet,
            overwrite: false,
            events: false,
            inflation_study: false,
            weekly_season: false,
        }
    }

    /// Sets the seed.
    #[must_use]
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sets the format.
    #[must_use]
    pub fn format(mut self, format: Format) -> Self {
        self.format = format;
        self
    }

    /// Allows replacing an existing output folder.
    #[must_use]
    pub fn overwrite(mut self, yes: bool) -> Self {
        self.overwrite = yes;
        self
    }

    /// Plants monitoring events (see [`PlantedEvent`]).
    #[must_use]
    pub fn plant_events(mut self, yes: bool) -> Self {
        self.events = yes;
        self
    }

    /// Draws the creators of the authenticity study (see [`InflationKind`]).
    #[must_use]
    pub fn weekly_season(mut self, yes: bool) -> Self {
        self.weekly_season = yes;
        self
    }

    /// Draws the creators of the authenticity study (see [`InflationKind`]).
    #[must_use]
    pub fn inflation_study(mut self, yes: bool) -> Self {
        self.inflation_study = yes;
        self
    }
}

/// What [`generate`] wrote.
#[derive(Debug, Clone, Serialize)]
pub struct GenerateSummary {
    /// The dataset folder.
    pub out: PathBuf,
    /// Rows per table.
    pub rows: BTreeMap<Table, u64>,
    /// Every file written, relative to `out`.
    pub files: Vec<PathBuf>,
}

// ---------------------------------------------------------------------------------------
// The truth

/// Hazard contribution of one (channel, interaction): β per day, half-life in days.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct HazardComponent {
    /// Channel.
    pub channel: &'static str,
    /// Interaction.
    pub interaction: &'static str,
    /// Hazard added right after the touch, per day (before any creator multiplier).
    pub beta_per_day: f64,
    /// Days for the added hazard to halve.
    pub half_life_days: f64,
}

impl HazardComponent {
    /// Expected conversions one touch adds over time, `β_per_day · H / ln 2` — the `β` of
    /// Zhang, Wei & Ren's parametrisation `β ω e^(−ω Δ)` that roicast's fit reports.
    #[must_use]
    pub fn conversions_per_touch(&self) -> f64 {
        self.beta_per_day * self.half_life_days / std::f64::consts::LN_2
    }
}

/// A hazard component as written to `truth.json`, with both parametrisations.
#[derive(Debug, Clone, Serialize)]
pub struct HazardTruth {
    /// Channel.
    pub channel: &'static str,
    /// Interaction.
    pub interaction: &'static str,
    /// Hazard right after the touch, per day.
    pub beta_per_day: f64,
    /// Half-life, days.
    pub half_life_days: f64,
    /// Half-life, hours.
    pub half_life_hours: f64,
    /// Expected conversions one touch adds (Zhang et al.'s β).
    pub conversions_per_touch: f64,
}

/// The per-(channel, interaction) hazard of the world.
pub const HAZARD: &[HazardComponent] = &[
    HazardComponent { channel: "creator", interaction: "impression", beta_per_day: 0.012, half_life_days: 3.0 },
    HazardComponent { channel: "creator", interaction: "view", beta_per_day: 0.030, half_life_days: 5.0 },
    HazardComponent { channel: "creator", interaction: "click", beta_per_day: 0.150, half_life_days: 2.0 },
    HazardComponent { channel: "paid_social", interaction: "impression", beta_per_day: 0.003, half_life_days: 1.5 },
    HazardComponent { channel: "paid_social", interaction: "click", beta_per_day: 0.030, half_life_days: 1.0 },
    HazardComponent { channel: "search", interaction: "click", beta_per_day: 0.080, half_life_days: 0.5 },
    HazardComponent { channel: "email", interaction: "click", beta_per_day: 0.040, half_life_days: 1.0 },
    HazardComponent { channel: "affiliate", interaction: "click", beta_per_day: 0.050, half_life_days: 1.0 },
    HazardComponent { channel: "direct", interaction: "click", beta_per_day: 0.060, half_life_days: 0.25 },
];

/// Baseline conversion hazard per day, from a user's first touch (or arrival).
pub const BASELINE_PER_DAY: f64 = 0.000_1;

fn hazard_of(channel: &str, interaction: &str) -> HazardComponent {
    *HAZARD
        .iter()
        .find(|h| h.channel == channel && h.interaction == interaction)
        .expect("the generator only makes touches that have a hazard component")
}

/// BG/NBD parameters (time unit: weeks).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct BgNbd {
    /// Shape of the purchase-rate gamma.
    pub r: f64,
    /// Rate (per week) of the purchase-rate gamma.
    pub alpha: f64,
    /// Dropout beta `a`.
    pub a: f64,
    /// Dropout beta `b`.
    pub b: f64,
}

/// Gamma-Gamma spend parameters: spend `z ~ Gamma(p, rate ν)`, `ν ~ Gamma(q, rate γ)`.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct GammaGamma {
    /// Shape of spend per transaction.
    pub p: f64,
    /// Shape of the customer's rate.
    pub q: f64,
    /// Rate of the customer's rate.
    pub gamma: f64,
}

/// Shifted-beta-geometric churn: monthly churn probability `θ ~ Beta(alpha, beta)`.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Sbg {
    /// Beta `alpha`.
    pub alpha: f64,
    /// Beta `beta`.
    pub beta: f64,
}

/// Overall repeat-purchase parameters for customers not acquired through a creator.
pub const BASE_BGNBD: BgNbd = BgNbd { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };
/// Overall spend parameters.
pub const BASE_GG: GammaGamma = GammaGamma { p: 6.25, q: 3.74, gamma: 30.9 };
/// Churn of the "regular" segment (Fader & Hardie 2007).
pub const SBG_REGULAR: Sbg = Sbg { alpha: 0.704, beta: 1.182 };
/// Churn of the "high end" segment (Fader & Hardie 2007).
pub const SBG_HIGH_END: Sbg = Sbg { alpha: 0.668, beta: 3.806 };

/// One creator of the world and its hidden traits.
#[derive(Debug, Clone, Serialize)]
pub struct CreatorTruth {
    /// Id.
    pub creator_id: String,
    /// Platform.
    pub platform: &'static str,
    /// Tier: nano, micro, mid, macro, mega.
    pub tier: &'static str,
    /// Genuine followers.
    pub real_followers: u64,
    /// Bought engagement.
    pub inflated: bool,
    /// Share of shown followers that are fake.
    pub fake_follower_share: f64,
    /// Multiplier on likes from bought likes (1 = none).
    pub like_multiplier: f64,
    /// Share of comments written by bots.
    pub bot_comment_share: f64,
    /// Genuine likes per reached account.
    pub like_rate: f64,
    /// Audience quality, 0–1.
    pub audience_quality: f64,
    /// Multiplier on the creator channel's β for this creator's touches.
    pub hazard_multiplier: f64,
    /// Click-through per seen sponsored post.
    pub click_rate: f64,
    /// Probability a customer this creator converted uses its promo code.
    pub code_use: f64,
    /// Bounce probability of this creator's sessions.
    pub bounce_rate: f64,
    /// Mean duration of a non-bounced session, seconds.
    pub session_seconds: f64,
    /// Mean pages of a non-bounced session.
    pub session_pages: f64,
    /// Repeat purchases of customers this creator acquired.
    pub bgnbd: BgNbd,
    /// Spend of customers this creator acquired.
    pub gamma_gamma: GammaGamma,
    /// Subscription churn of customers this creator acquired.
    pub sbg: Sbg,
    /// Comment sentiment mix: positive, neutral, negative.
    pub sentiment: [f64; 3],
    /// The authenticity study's kind and strength (`generate --inflation-study` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inflation: Option<InflationTruth>,
}

/// What a creator of the authenticity study is, and how strongly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InflationKind {
    /// An ordinary account.
    Genuine,
    /// Genuine, with a few posts reaching six times the usual audience.
    Viral,
    /// Genuine, running giveaways: some posts draw five times the comments, most of them
    /// friends tagged ("@name @name").
    Giveaway,
    /// Bought likes × 3–5, 50–80 % bot comments, 30–60 % fake followers, following
    /// thousands.
    BoughtBlatant,
    /// Bought likes × 1.8–2.5, 20–40 % bot comments, 15–30 % fake followers.
    BoughtStrong,
    /// Bought likes × 1.1–1.2 (10–20 % inflation), 5–10 % bot comments, 5–15 % fake
    /// followers.
    BoughtSubtle,
    /// An engagement pod: 30–50 % of comments from a ring of accounts that comment on each
    /// other's posts with meaningful text, likes × 1.2–1.4.
    Pod,
    /// Bought followers only (30–50 % of followers fake), no bought engagement.
    BoughtFollowers,
}

impl InflationKind {
    /// Whether the account's numbers are inflated (what a detector should flag).
    #[must_use]
    pub fn inflated(self) -> bool {
        !matches!(self, InflationKind::Genuine | InflationKind::Viral | InflationKind::Giveaway)
    }
}

/// A study creator's kind and the size of its inflation.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct InflationTruth {
    /// The kind.
    pub kind: InflationKind,
    /// Inflation of likes (likes × (1 + this)); the pod comment share for pods; the fake
    /// follower share for bought followers; 0 for genuine accounts.
    pub strength: f64,
}

/// The study's kinds and their shares of creators.
const STUDY_KINDS: &[(InflationKind, f64)] = &[
    (InflationKind::Genuine, 0.58),
    (InflationKind::Viral, 0.06),
    (InflationKind::Giveaway, 0.06),
    (InflationKind::BoughtBlatant, 0.06),
    (InflationKind::BoughtStrong, 0.06),
    (InflationKind::BoughtSubtle, 0.06),
    (InflationKind::Pod, 0.06),
    (InflationKind::BoughtFollowers, 0.06),
];

/// Pod members are authors `a{n}` for n from here (beside the bot range).
const POD_AUTHORS: u64 = 40;

/// Redraws creator `i` as a study kind (its own random stream: the rest of the world is
/// drawn as usual).
fn study_creator(seed: u64, i: usize, c: &mut Creator) {
    let mut r = Rng::new(seed, stream::STUDY, i as u64);
    let weights: Vec<f64> = STUDY_KINDS.iter().map(|k| k.1).collect();
    let kind = STUDY_KINDS[r.weighted(&weights)].0;
    let t = &mut c.truth;
    let (likes, bots, fake, following, aq) = match kind {
        InflationKind::Genuine | InflationKind::Viral | InflationKind::Giveaway => {
            (1.0, r.range(0.0, 0.03), r.range(0.0, 0.05), r.lognormal(6.0, 0.8), r.beta(8.0, 2.0))
        }
        InflationKind::BoughtBlatant => {
            (r.range(3.0, 5.0), r.range(0.5, 0.8), r.range(0.3, 0.6), r.range(2_000.0, 7_500.0), r.range(0.2, 0.5))
        }
        InflationKind::BoughtStrong => {
            (r.range(1.8, 2.5), r.range(0.2, 0.4), r.range(0.15, 0.3), r.lognormal(6.5, 0.8), r.range(0.4, 0.7))
        }
        InflationKind::BoughtSubtle => {
            (r.range(1.1, 1.2), r.range(0.05, 0.1), r.range(0.05, 0.15), r.lognormal(6.0, 0.8), r.range(0.6, 0.85))
        }
        InflationKind::Pod => {
            (r.range(1.2, 1.4), r.range(0.3, 0.5), r.range(0.0, 0.05), r.lognormal(6.2, 0.8), r.range(0.5, 0.8))
        }
        InflationKind::BoughtFollowers => {
            (1.0, r.range(0.0, 0.03), r.range(0.3, 0.5), r.lognormal(6.0, 0.8), r.range(0.4, 0.7))
        }
    };
    t.inflated = kind.inflated();
    t.like_multiplier = likes;
    t.bot_comment_share = bots;
    t.fake_follower_share = fake;
    t.audience_quality = aq;
    c.following = following as i64;
    c.followers_shown = (t.real_followers as f64 / (1.0 - fake)).round() as i64;
    let strength = match kind {
        InflationKind::Pod => bots,
        InflationKind::BoughtFollowers => fake,
        InflationKind::Genuine | InflationKind::Viral | InflationKind::Giveaway => 0.0,
        _ => likes - 1.0,
    };
    t.inflation = Some(InflationTruth { kind, strength });
}

/// True revenue quantiles of a candidate.
#[derive(Debug, Clone, Serialize)]
pub struct CandidateTruth {
    /// Candidate.
    pub creator_id: String,
    /// Platform.
    pub platform: &'static str,
    /// Expected attributed revenue.
    pub expected_revenue: f64,
    /// 10th percentile.
    pub p10: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// One draw of what the campaign would have returned (for coverage checks).
    pub realized_revenue: f64,
}

/// Conversion outcomes.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ConversionTruth {
    /// Users simulated.
    pub users: u64,
    /// Users with at least one touch.
    pub users_with_touches: u64,
    /// Users whose first order fell before the end of observation.
    pub converted: u64,
    /// Conversions by cause: `baseline` or `channel/interaction`.
    pub by_cause: BTreeMap<String, u64>,
    /// Conversions caused by each creator's touches.
    pub by_creator: BTreeMap<String, u64>,
    /// First-order revenue caused by each creator's touches.
    pub revenue_by_creator: BTreeMap<String, f64>,
    /// Orders with a promo code whose owner caused the conversion.
    pub code_orders_caused_by_owner: u64,
    /// Orders with a promo code whose owner did not cause the conversion (leaked codes).
    pub code_orders_not_caused_by_owner: u64,
    /// Repeat orders.
    pub repeat_orders: u64,
    /// Customers with a subscription.
    pub subscribers: u64,
    /// Subscribers churned before the end of observation.
    pub churned: u64,
}

impl ConversionTruth {
    fn merge(&mut self, o: ConversionTruth) {
        self.users += o.users;
        self.users_with_touches += o.users_with_touches;
        self.converted += o.converted;
        for (k, v) in o.by_cause {
            *self.by_cause.entry(k).or_default() += v;
        }
        for (k, v) in o.by_creator {
            *self.by_creator.entry(k).or_default() += v;
        }
        for (k, v) in o.revenue_by_creator {
            *self.revenue_by_creator.entry(k).or_default() += v;
        }
        self.code_orders_caused_by_owner += o.code_orders_caused_by_owner;
        self.code_orders_not_caused_by_owner += o.code_orders_not_caused_by_owner;
        self.repeat_orders += o.repeat_orders;
        self.subscribers += o.subscribers;
        self.churned += o.churned;
    }
}

/// The forecast ground truth: how campaign revenue is drawn from features.
#[derive(Debug, Clone, Serialize)]
pub struct RevenueModel {
    /// A description of the model.
    pub formula: &'static str,
    /// Impressions per follower per post by platform/format.
    pub reach_rate: BTreeMap<String, f64>,
    /// Click-through scale.
    pub ctr_base: f64,
    /// Conversion rate per click by niche.
    pub cvr_by_niche: BTreeMap<String, f64>,
    /// Average order value by niche.
    pub aov_by_niche: BTreeMap<String, f64>,
    /// Log-normal noise sigmas of impressions, clicks, orders and order value.
    pub noise_sigmas: [f64; 4],
    /// Posts saturate: effective posts = k (1 − e^(−posts / k)) with this k.
    pub posts_saturation: f64,
    /// Reach multiplier of short-form video (reel / short) by follower tier: the
    /// algorithmic feeds lift small accounts (a tier × format interaction).
    pub short_video_by_tier: BTreeMap<String, f64>,
    /// Conversion multiplier of a niche on a platform (a niche × platform interaction;
    /// pairs not listed are 1).
    pub niche_platform: BTreeMap<String, f64>,
}

/// `truth.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Truth {
    /// Generator version.
    pub generator_version: u32,
    /// Scenario.
    pub scenario: Scenario,
    /// Seed.
    pub seed: u64,
    /// Sizes.
    pub sizes: Sizes,
    /// Start of the campaign period (RFC 3339).
    pub campaigns_start: String,
    /// End of the campaign period.
    pub campaigns_end: String,
    /// End of observation: orders, churn and censoring stop here.
    pub observation_end: String,
    /// Baseline hazard per day.
    pub baseline_hazard_per_day: f64,
    /// Hazard components by channel and interaction (creator touches: times each
    /// creator's `hazard_multiplier`).
    pub hazard: Vec<HazardTruth>,
    /// Repeat purchases of customers not acquired through a creator.
    pub base_bgnbd: BgNbd,
    /// Spend of customers not acquired through a creator.
    pub base_gamma_gamma: GammaGamma,
    /// Creators.
    pub creators: Vec<CreatorTruth>,
    /// Ids of creators with bought engagement.
    pub inflated_creator_ids: Vec<String>,
    /// Bot authors are `a{n}` for n in this half-open range.
    pub bot_author_range: [u64; 2],
    /// Conversions.
    pub conversions: ConversionTruth,
    /// The campaign-history revenue model.
    pub revenue_model: RevenueModel,
    /// Candidates' true revenue distribution.
    pub candidates: Vec<CandidateTruth>,
    /// Rows per table.
    pub rows: BTreeMap<Table, u64>,
    /// What each file beside it holds.
    pub notes: Vec<&'static str>,
    /// Planted monitoring events (`generate --plant-events`; absent otherwise).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<PlantedEvent>,
}

/// A change planted in a creator's series, for `roicast alerts` to find.
#[derive(Debug, Clone, Serialize)]
pub struct PlantedEvent {
    /// The alert kind that should report it: `engagement_spike`, `ctr_drop` or
    /// `sentiment_shift`.
    pub kind: &'static str,
    /// The creator.
    pub creator_id: String,
    /// Its platform.
    pub platform: &'static str,
    /// The campaign of the post the event starts on (none for an organic post).
    pub campaign_id: Option<String>,
    /// Start (RFC 3339): the publication of the post it starts on.
    pub start: String,
    /// End (exclusive), three days later.
    pub end: String,
    /// What changes, and by how much.
    pub effect: &'static str,
    /// Posts of the creator published in the window.
    pub posts: usize,
}

// ---------------------------------------------------------------------------------------
// Streams

mod stream {
    pub const CREATORS: u64 = 1;
    pub const CAMPAIGNS: u64 = 2;
    pub const POSTS: u64 = 3;
    pub const POST_METRICS: u64 = 4;
    pub const COMMENTS: u64 = 5;
    pub const USERS: u64 = 6;
    pub const HISTORY: u64 = 7;
    pub const CANDIDATES: u64 = 8;
    pub const CANDIDATE_SIM: u64 = 9;
    pub const EVENTS: u64 = 10;
    pub const STUDY: u64 = 11;
}

// ---------------------------------------------------------------------------------------
// World entities

const PLATFORMS: &[&str] = &["instagram", "tiktok", "youtube"];
const PLATFORM_WEIGHTS: &[f64] = &[0.45, 0.35, 0.20];
const TIERS: &[(&str, f64, f64, f64)] = &[
    // name, share, min followers, max followers
    ("nano", 0.45, 1_000.0, 10_000.0),
    ("micro", 0.33, 10_000.0, 100_000.0),
    ("mid", 0.13, 100_000.0, 500_000.0),
    ("macro", 0.06, 500_000.0, 1_000_000.0),
    ("mega", 0.03, 1_000_000.0, 5_000_000.0),
];
const NICHES: &[&str] =
    &["beauty", "fashion", "fitness", "food", "gaming", "tech", "travel", "parenting", "wellness", "lifestyle"];
const COUNTRIES: &[&str] = &["US", "GB", "DE", "FR", "BR", "IN", "CA", "AU", "ES", "MX"];
const COUNTRY_WEIGHTS: &[f64] = &[0.35, 0.12, 0.08, 0.07, 0.09, 0.08, 0.07, 0.06, 0.04, 0.04];
const SYLLABLES: &[&str] = &[
    "ma", "ya", "li", "zo", "ke", "ra", "no", "vi", "sa", "te", "lu", "mi", "jo", "ka", "ri", "ella", "an", "de", "bo",
    "xi",
];
const BRAND: &str = "Lumina";

/// (format, weight) per platform.
fn formats(platform: &str) -> (&'static [&'static str], &'static [f64]) {
    match platform {
        "instagram" => (&["reel", "story", "carousel", "image"], &[0.5, 0.25, 0.13, 0.12]),
        "tiktok" => (&["short", "live"], &[0.9, 0.1]),
        _ => (&["video", "short"], &[0.6, 0.4]),
    }
}

fn is_video(format: &str) -> bool {
    matches!(format, "reel" | "story" | "short" | "video" | "live")
}

/// Share of followers reached per post, by platform and format.
fn reach_rate(platform: &str, format: &str) -> f64 {
    match (platform, format) {
        ("instagram", "reel") => 0.45,
        ("instagram", "story") => 0.12,
        ("instagram", "carousel") => 0.30,
        ("instagram", _) => 0.25,
        ("tiktok", "live") => 0.08,
        ("tiktok", _) => 0.60,
        ("youtube", "short") => 0.35,
        _ => 0.20,
    }
}

struct Creator {
    truth: CreatorTruth,
    handle: String,
    niche: &'static str,
    country: &'static str,
    followers_shown: i64,
    following: i64,
    posts_count: i64,
    account_created_at: i64,
}

struct Campaign {
    id: String,
    name: String,
    starts_at: i64,
    ends_at: i64,
    objective: &'static str,
    deals: Vec<Deal>,
}

#[derive(Clone)]
struct Deal {
    creator: usize,
    n_posts: usize,
    posts: Vec<usize>,
    utm: String,
    code: Option<String>,
    affiliate: Option<String>,
    fee: Fee,
}

#[derive(Clone)]
enum Fee {
    Flat(f64),
    FlatPlusCommission(f64, f64),
    Commission(f64),
    Tiered(f64, String),
    PerConversion(f64),
}

struct Post {
    id: String,
    creator: usize,
    campaign: Option<usize>,
    format: &'static str,
    published_at: i64,
    reach: f64,
    comments: i64,
    /// Planted: engagement multiplier (1 = none).
    boost: f64,
    /// Planted: a sentiment backlash on this post.
    backlash: bool,
}

struct World {
    seed: u64,
    sizes: Sizes,
    campaigns_end: i64,
    observation_end: i64,
    creators: Vec<Creator>,
    campaigns: Vec<Campaign>,
    posts: Vec<Post>,
    /// Creators with sponsored posts, and their follow weights.
    followable: Vec<usize>,
    follow_alias: Alias,
    /// Sponsored posts per creator: (post index, campaign index, deal index).
    sponsored: Vec<Vec<(usize, usize, usize)>>,
    /// All promo codes: (campaign, deal).
    codes: Vec<(usize, usize)>,
    bot_range: [u64; 2],
    n_authors: u64,
    /// Planted events, and per creator the window of a broken link.
    events: Vec<PlantedEvent>,
    broken_link: Vec<Option<(i64, i64)>>,
    /// Creator click-through factor per weekday (all 1 without a weekly season).
    weekly_ctr: [f64; 7],
}

fn handle(rng: &mut Rng) -> String {
    let n = 2 + rng.index(2);
    let mut h: String = (0..n).map(|_| *rng.pick(SYLLABLES)).collect();
    if rng.chance(0.5) {
        h.push(if rng.chance(0.5) { '_' } else { '.' });
        h.push_str(
            rng.pick::<&str>(&["beauty", "fit", "eats", "plays", "daily", "style", "travels", "tech", "mom", "life"]),
        );
    }
    if rng.chance(0.3) {
        h.push_str(&rng.below(100).to_string());
    }
    h
}

/// The follower tier of an account (the generator's tier bounds).
fn tier_of(followers: f64) -> &'static str {
    TIERS.iter().rev().find(|t| followers >= t.2).map_or("nano", |t| t.0)
}

/// A creator's flat fee for `posts` posts at market rates: per post and 1,000 followers
/// `TikTok` $1.25–5, Instagram $5–10, `YouTube` $10–20 (the published per-tier ranges that
/// docs/synthetic-world.md cites), with a bundle discount for several posts, at least $50.
fn market_fee(r: &mut Rng, platform: &str, followers: f64, posts: u64) -> f64 {
    let per_k = match platform {
        "tiktok" => r.range(1.25, 5.0),
        "youtube" => r.range(10.0, 20.0),
        _ => r.range(5.0, 10.0),
    };
    round2(((followers / 1000.0) * per_k * (posts as f64).powf(0.85)).max(50.0))
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn make_creators(seed: u64, n: usize, study: bool) -> Vec<Creator> {
    let tier_weights: Vec<f64> = TIERS.iter().map(|t| t.1).collect();
    let mut creators: Vec<Creator> = (0..n)
        .map(|i| {
            let mut r = Rng::new(seed, stream::CREATORS, i as u64);
            let platform = PLATFORMS[r.weighted(PLATFORM_WEIGHTS)];
            let (tier, _, lo, hi) = TIERS[r.weighted(&tier_weights)];
            let real = (lo.ln() + (hi.ln() - lo.ln()) * r.uniform()).exp();
            // At least one inflated creator in every world; about 8 % overall.
            let inflated = i == 3 || (i > 3 && r.chance(0.08));
            let fake_share = if inflated { r.range(0.3, 0.6) } else { r.range(0.0, 0.05) };
            let followers_shown = (real / (1.0 - fake_share)).round() as i64;
            let base_like = match tier {
                "nano" => 0.08,
                "micro" => 0.05,
                "mid" => 0.035,
                "macro" => 0.025,
                _ => 0.018,
            } * r.lognormal(0.0, 0.25);
            let aq = if inflated { r.range(0.2, 0.5) } else { r.beta(8.0, 2.0) };
            let sbg = if aq > 0.78 { SBG_HIGH_END } else { SBG_REGULAR };
            let sbg = Sbg { alpha: sbg.alpha * r.lognormal(0.0, 0.1), beta: sbg.beta * r.lognormal(0.0, 0.1) };
            let pos = (0.45 + 0.25 * aq + r.normal() * 0.05).clamp(0.2, 0.9);
            let neg = (0.08 + 0.12 * (1.0 - aq) + r.normal() * 0.03).clamp(0.02, 0.4);
            let neu = (1.0 - pos - neg).max(0.05);
            let total = pos + neg + neu;
            let truth = CreatorTruth {
                creator_id: format!("cr{i:05}"),
                platform,
                tier,
                real_followers: real.round() as u64,
                inflated,
                fake_follower_share: fake_share,
                like_multiplier: if inflated { r.range(2.5, 5.0) } else { 1.0 },
                bot_comment_share: if inflated { r.range(0.5, 0.8) } else { r.range(0.0, 0.03) },
                like_rate: base_like,
                audience_quality: aq,
                hazard_multiplier: r.lognormal(0.0, 0.45) * aq / 0.8,
                click_rate: r.range(0.02, 0.08) * aq / 0.8,
                code_use: r.range(0.3, 0.6),
                bounce_rate: (0.3 + 0.4 * (1.0 - aq) + r.normal() * 0.06 + if inflated { 0.15 } else { 0.0 })
                    .clamp(0.05, 0.95),
                session_seconds: (40.0 + 200.0 * aq) * r.lognormal(0.0, 0.3),
                session_pages: 1.5 + 3.0 * aq,
                bgnbd: BgNbd {
                    r: BASE_BGNBD.r * r.lognormal(0.0, 0.3),
                    alpha: BASE_BGNBD.alpha * r.lognormal(0.0, 0.2),
                    a: BASE_BGNBD.a,
                    b: BASE_BGNBD.b * r.lognormal(0.0, 0.3),
                },
                gamma_gamma: GammaGamma { gamma: BASE_GG.gamma * r.lognormal(0.0, 0.25), ..BASE_GG },
                sbg,
                sentiment: [pos / total, neu / total, neg / total],
                inflation: None,
            };
            Creator {
                handle: handle(&mut r),
                niche: r.pick::<&str>(NICHES),
                country: COUNTRIES[r.weighted(COUNTRY_WEIGHTS)],
                followers_shown,
                following: if inflated { r.range(2_000.0, 7_500.0) as i64 } else { r.lognormal(6.0, 0.8) as i64 },
                posts_count: r.range(50.0, 2_500.0) as i64,
                account_created_at: WORLD_START - (r.range(200.0, 3_000.0) * DAY as f64) as i64,
                truth,
            }
        })
        .collect();
    if study {
        for (i, c) in creators.iter_mut().enumerate() {
            study_creator(seed, i, c);
        }
    }
    // A handle is unique on its platform (the platform importers match accounts by it).
    let mut seen = std::collections::HashSet::new();
    for (i, c) in creators.iter_mut().enumerate() {
        if !seen.insert((c.truth.platform, c.handle.clone())) {
            c.handle = format!("{}_{i}", c.handle);
            seen.insert((c.truth.platform, c.handle.clone()));
        }
    }
    creators
}

fn make_campaigns(seed: u64, sizes: &Sizes, creators: &[Creator]) -> Vec<Campaign> {
    const ADJ: &[&str] = &["Spring", "Summer", "Glow", "Fresh", "Bold", "Holiday", "Night", "Daily", "Pure", "Urban"];
    const NOUN: &[&str] =
        &["Launch", "Drop", "Edit", "Ritual", "Reset", "Collection", "Challenge", "Week", "Story", "Bundle"];
    let n = sizes.campaigns;
    let span = sizes.campaign_days * DAY;
    let slot = span / n as i64;
    let mut taken = vec![0u32; creators.len()];
    (0..n)
        .map(|ci| {
            let mut r = Rng::new(seed, stream::CAMPAIGNS, ci as u64);
            let duration = (r.range(21.0, 56.0) * DAY as f64) as i64;
            let starts_at = WORLD_START + slot * ci as i64 + (r.uniform() * (slot as f64 * 0.5)) as i64;
            let ends_at = (starts_at + duration).min(WORLD_START + span);
            // Prefer creators not yet used, so most creators take part somewhere.
            let weights: Vec<f64> = taken.iter().map(|&t| 1.0 / (1.0 + 2.0 * f64::from(t))).collect();
            let mut chosen: Vec<usize> = Vec::new();
            let mut w = weights;
            for _ in 0..sizes.creators_per_campaign.min(creators.len()) {
                let k = r.weighted(&w);
                w[k] = 0.0;
                chosen.push(k);
            }
            chosen.sort_unstable();
            let deals = chosen
                .into_iter()
                .map(|k| {
                    taken[k] += 1;
                    let c = &creators[k];
                    let posts = 1 + r.poisson(1.2).min(4) as usize;
                    let followers = c.followers_shown as f64;
                    let flat = market_fee(&mut r, c.truth.platform, followers, posts as u64);
                    let fee = match r.weighted(&[0.4, 0.3, 0.15, 0.1, 0.05]) {
                        0 => Fee::Flat(flat),
                        1 => Fee::FlatPlusCommission(round2(flat * 0.6), round2(r.range(0.05, 0.15))),
                        2 => Fee::Commission(round2(r.range(0.1, 0.25))),
                        3 => {
                            let bound = (r.range(2.0, 10.0).round() * 1000.0).max(1000.0);
                            let r1 = round2(r.range(0.05, 0.12));
                            let r2 = round2(r1 + r.range(0.03, 0.08));
                            Fee::Tiered(
                                round2(flat * 0.4),
                                format!(r#"[{{"up_to": {bound}, "rate": {r1}}}, {{"up_to": null, "rate": {r2}}}]"#),
                            )
                        }
                        _ => Fee::PerConversion(round2(r.range(5.0, 20.0))),
                    };
                    let handle_upper: String =
                        c.handle.chars().filter(char::is_ascii_alphabetic).take(8).collect::<String>().to_uppercase();
                    Deal {
                        creator: k,
                        n_posts: posts,
                        posts: Vec::with_capacity(posts),
                        utm: format!("cmp{ci:03}-{}", c.truth.creator_id),
                        code: r.chance(0.8).then(|| format!("{handle_upper}{}", 10 + 5 * r.below(4))),
                        affiliate: r.chance(0.3).then(|| format!("aff-{ci:03}-{k:05}")),
                        fee,
                    }
                })
                .collect::<Vec<_>>();
            Campaign {
                id: format!("cmp{ci:03}"),
                name: format!("{} {} {}", r.pick(ADJ), r.pick(NOUN), 2025),
                starts_at,
                ends_at,
                objective: ["awareness", "consideration", "conversion"][r.weighted(&[0.25, 0.25, 0.5])],
                deals,
            }
        })
        .collect()
}

/// Posts: organic ones per creator, then the sponsored ones of each deal.
fn make_posts(seed: u64, sizes: &Sizes, creators: &[Creator], campaigns: &mut [Campaign]) -> Vec<Post> {
    let mut posts = Vec::new();
    let weeks = sizes.campaign_days as f64 / 7.0;
    for (k, c) in creators.iter().enumerate() {
        let mut r = Rng::new(seed, stream::POSTS, k as u64);
        let per_week = match c.truth.platform {
            "instagram" => 1.5,
            "tiktok" => 2.5,
            _ => 0.6,
        };
        let n = r.poisson(per_week * weeks);
        let (fmts, w) = formats(c.truth.platform);
        let mut times: Vec<i64> =
            (0..n).map(|_| WORLD_START + (r.uniform() * (sizes.campaign_days * DAY) as f64) as i64).collect();
        times.sort_unstable();
        for t in times {
            posts.push(Post {
                id: String::new(),
                creator: k,
                campaign: None,
                format: fmts[r.weighted(w)],
                published_at: t,
                reach: 0.0,
                comments: 0,
                boost: 1.0,
                backlash: false,
            });
        }
    }
    for (ci, camp) in campaigns.iter_mut().enumerate() {
        let mut r = Rng::new(seed, stream::POSTS, 1_000_000 + ci as u64);
        for d in &mut camp.deals {
            let c = &creators[d.creator];
            let (fmts, w) = formats(c.truth.platform);
            let n = d.n_posts;
            for _ in 0..n {
                let t = camp.starts_at + (r.uniform() * (camp.ends_at - camp.starts_at) as f64) as i64;
                d.posts.push(posts.len());
                posts.push(Post {
                    id: String::new(),
                    creator: d.creator,
                    campaign: Some(ci),
                    format: fmts[r.weighted(w)],
                    published_at: t,
                    reach: 0.0,
                    comments: 0,
                    boost: 1.0,
                    backlash: false,
                });
            }
        }
    }
    for (i, p) in posts.iter_mut().enumerate() {
        p.id = format!("p{i:07}");
    }
    posts
}

/// Final counters of a post, drawn from its own stream.
struct PostMetrics {
    impressions: Option<i64>,
    reach: Option<i64>,
    views: Option<i64>,
    engaged_views: Option<i64>,
    likes: i64,
    comments: i64,
    shares: Option<i64>,
    saves: Option<i64>,
    link_clicks: Option<i64>,
    watch_time_s: Option<f64>,
}

fn post_metrics(seed: u64, i: usize, p: &Post, c: &Creator) -> PostMetrics {
    let mut r = Rng::new(seed, stream::POST_METRICS, i as u64);
    let t = &c.truth;
    let platform = t.platform;
    let sponsored_factor = if p.campaign.is_some() { 0.85 } else { 1.0 };
    let sigma = if platform == "tiktok" { 0.8 } else { 0.4 };
    let (viral, giveaway) = study_post(seed, i, t);
    let reach = (t.real_followers as f64 * reach_rate(platform, p.format) * sponsored_factor * r.lognormal(0.0, sigma))
        .max(10.0)
        * if viral { VIRAL_REACH } else { 1.0 };
    let impressions = reach * (1.1 + r.exponential(1.0 / 0.4));
    let video = is_video(p.format);
    let views = video.then(|| impressions * r.range(0.7, 0.95));
    let base = views.unwrap_or(reach);
    let genuine_likes = base * t.like_rate * r.lognormal(0.0, 0.3) * p.boost;
    let mut likes = genuine_likes * t.like_multiplier;
    if let Some(v) = views {
        likes = likes.min(v * 0.9);
    }
    let genuine_comments = genuine_likes * r.range(0.01, 0.05);
    let mut comments = genuine_comments / (1.0 - t.bot_comment_share).max(0.05);
    if p.backlash {
        comments *= BACKLASH_VOLUME;
    }
    if giveaway {
        comments *= GIVEAWAY_COMMENTS;
    }
    let share_ratio = match platform {
        "tiktok" => 0.10,
        "instagram" => 0.04,
        _ => 0.02,
    };
    let shares = genuine_likes * share_ratio * r.lognormal(0.0, 0.4);
    let saves = (platform != "youtube")
        .then(|| genuine_likes * if platform == "instagram" { 0.08 } else { 0.05 } * r.lognormal(0.0, 0.4));
    let link_clicks =
        (p.format == "story" || platform == "youtube").then(|| reach * t.click_rate * 0.3 * r.lognormal(0.0, 0.3));
    let avg_watch = match p.format {
        "video" => 180.0,
        "live" => 240.0,
        _ => 9.0,
    };
    let r0 = |x: f64| x.round() as i64;
    PostMetrics {
        impressions: (platform != "tiktok").then(|| r0(impressions)),
        reach: (platform != "youtube").then(|| r0(reach)),
        views: views.map(r0),
        engaged_views: views.filter(|_| platform == "youtube").map(|v| r0(v * r.range(0.3, 0.5))),
        likes: r0(likes),
        comments: r0(comments),
        shares: Some(r0(shares)),
        saves: saves.map(r0),
        link_clicks: link_clicks.map(r0),
        watch_time_s: views.map(|v| round2(v * avg_watch * r.range(0.3, 0.7))),
    }
}

fn build_world(seed: u64, sizes: Sizes, events: bool, study: bool, weekly: bool) -> World {
    let campaigns_end = WORLD_START + sizes.campaign_days * DAY;
    let observation_end = campaigns_end + sizes.tail_days * DAY;
    let creators = make_creators(seed, sizes.creators, study);
    let mut campaigns = make_campaigns(seed, &sizes, &creators);
    let mut posts = make_posts(seed, &sizes, &creators, &mut campaigns);
    let (planted, broken_link) = if events {
        plant_events(seed, campaigns_end, &creators, &campaigns, &mut posts)
    } else {
        (Vec::new(), vec![None; creators.len()])
    };
    // Reach and comment counts are needed before comments and journeys are drawn.
    for i in 0..posts.len() {
        let m = post_metrics(seed, i, &posts[i], &creators[posts[i].creator]);
        posts[i].reach = m.reach.or(m.views).or(m.impressions).unwrap_or(0) as f64;
        posts[i].comments = m.comments;
    }
    // Unique promo codes: a repeated code gets its campaign number appended.
    let mut seen = std::collections::HashSet::new();
    let mut codes = Vec::new();
    for (ci, camp) in campaigns.iter_mut().enumerate() {
        for (di, d) in camp.deals.iter_mut().enumerate() {
            if let Some(code) = &mut d.code {
                if !seen.insert(code.clone()) {
                    code.push('C');
                    code.push_str(&ci.to_string());
                    seen.insert(code.clone());
                }
                codes.push((ci, di));
            }
        }
    }
    let mut sponsored = vec![Vec::new(); creators.len()];
    for (ci, camp) in campaigns.iter().enumerate() {
        for (di, d) in camp.deals.iter().enumerate() {
            for &p in &d.posts {
                sponsored[d.creator].push((p, ci, di));
            }
        }
    }
    let followable: Vec<usize> = (0..creators.len()).filter(|&k| !sponsored[k].is_empty()).collect();
    // Who a user follows: by real audience (sublinear: big audiences overlap and scroll
    // past more), and by how much a platform's follower is worth to a shop — a TikTok
    // follower converts about half as often as an Instagram one, a YouTube subscriber
    // about 1.5 times as often (the platforms' rates per follower price the same).
    let weights: Vec<f64> = followable
        .iter()
        .map(|&k| {
            let t = &creators[k].truth;
            let platform = match t.platform {
                "tiktok" => 0.5,
                "youtube" => 1.5,
                _ => 1.0,
            };
            platform * (t.real_followers as f64).powf(0.8)
        })
        .collect();
    let follow_alias = Alias::new(&weights);
    let n_authors = (sizes.comments * 2).max(1_000);
    let bot_range = [n_authors, n_authors + (sizes.creators as u64 * 2).max(50)];
    World {
        seed,
        sizes,
        campaigns_end,
        observation_end,
        creators,
        campaigns,
        posts,
        followable,
        follow_alias,
        sponsored,
        codes,
        bot_range,
        n_authors,
        events: planted,
        broken_link,
        weekly_ctr: if weekly { WEEKLY_CTR } else { [1.0; 7] },
    }
}

/// A viral post of the study reaches this many times the usual audience.
const VIRAL_REACH: f64 = 6.0;
/// A giveaway post of the study draws this many times the usual comments.
const GIVEAWAY_COMMENTS: f64 = 5.0;

/// Whether post `i` of a study creator is viral, and whether it is a giveaway (each from
/// the study's own stream; never for a world without the study).
fn study_post(seed: u64, i: usize, t: &CreatorTruth) -> (bool, bool) {
    let Some(x) = t.inflation else { return (false, false) };
    let mut r = Rng::new(seed, stream::STUDY, (1 << 32) | i as u64);
    (x.kind == InflationKind::Viral && r.chance(0.1), x.kind == InflationKind::Giveaway && r.chance(0.15))
}

/// Comment volume on a post hit by a planted backlash, times its usual.
const BACKLASH_VOLUME: f64 = 3.0;
/// Comment sentiment mix (positive, neutral, negative) of a backlash.
const BACKLASH_MIX: [f64; 3] = [0.1, 0.2, 0.7];
/// Share of link clicks a planted broken link loses.
const BROKEN_LINK_LOSS: f64 = 2.0 / 3.0;

/// Plants monitoring events on distinct creators, each starting at the publication of one
/// of its posts at least 90 days into the campaign period (so there is a history to
/// compare with) and lasting three days:
/// - `engagement_spike`: the creator's posts in the window get twice the engagement;
/// - `ctr_drop`: a broken link — two thirds of the clicks on the creator's posts in the
///   window never reach the shop (no click touch, no session) — among the sixteenth of
///   creators whose sponsored posts draw the most traffic, starting on a sponsored post
///   with at least two before it (a drop is only visible where there is traffic, and
///   only sponsored posts bring clicks);
/// - `sentiment_shift`: a backlash — three times the comments on the window's posts, 70 %
///   of them negative — among the creators with the most comments a post, starting on a
///   post with at least the creator's median comments (a backlash is on a post people
///   talk about).
fn plant_events(
    seed: u64,
    campaigns_end: i64,
    creators: &[Creator],
    campaigns: &[Campaign],
    posts: &mut [Post],
) -> (Vec<PlantedEvent>, Vec<Option<(i64, i64)>>) {
    let mut r = Rng::new(seed, stream::EVENTS, 0);
    let n = creators.len();
    let mut by_creator: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, p) in posts.iter().enumerate() {
        by_creator[p.creator].push(i);
    }
    for v in &mut by_creator {
        v.sort_by_key(|&i| (posts[i].published_at, i));
    }
    let (lo, hi) = (WORLD_START + 90 * DAY, campaigns_end - 7 * DAY);
    let mut used = vec![false; n];
    let mut broken = vec![None; n];
    let mut out = Vec::new();
    let per_kind = (n / 12).max(2);
    // Candidates ranked by what makes each kind visible; the top half is eligible.
    // What makes each kind visible: a broken link only where the creator's sponsored posts
    // draw traffic (clicks come from sponsored posts only, so it needs earlier ones to
    // compare with); a backlash only where there are comments to read.
    let sponsored: Vec<usize> =
        (0..n).map(|k| by_creator[k].iter().filter(|&&i| posts[i].campaign.is_some()).count()).collect();
    let traffic: Vec<f64> = (0..n)
        .map(|k| {
            let t = &creators[k].truth;
            // The follow weight of `build_world` (users who may see the posts) times the
            // click rate: expected clicks per sponsored post, up to a constant.
            let platform = match t.platform {
                "tiktok" => 0.5,
                "youtube" => 1.5,
                _ => 1.0,
            };
            platform * (t.real_followers as f64).powf(0.8) * t.click_rate
        })
        .collect();
    let comments: Vec<f64> = (0..posts.len())
        .map(|i| post_metrics(seed, i, &posts[i], &creators[posts[i].creator]).comments as f64)
        .collect();
    let median_comments: Vec<f64> = (0..n)
        .map(|k| {
            let mut c: Vec<f64> = by_creator[k].iter().map(|&i| comments[i]).collect();
            c.sort_by(f64::total_cmp);
            c.get(c.len() / 2).copied().unwrap_or(0.0)
        })
        .collect();
    for kind in ["engagement_spike", "ctr_drop", "sentiment_shift"] {
        let mut pool: Vec<usize> = (0..n).filter(|&k| by_creator[k].len() >= 12).collect();
        match kind {
            "ctr_drop" => {
                pool.retain(|&k| sponsored[k] >= 3);
                pool.sort_by(|&a, &b| traffic[b].total_cmp(&traffic[a]).then(a.cmp(&b)));
                pool.truncate(n / 16);
            }
            "sentiment_shift" => {
                pool.sort_by(|&a, &b| median_comments[b].total_cmp(&median_comments[a]).then(a.cmp(&b)));
                pool.truncate(n / 5);
            }
            _ => {}
        }
        let mut planted = 0;
        while planted < per_kind && !pool.is_empty() {
            let k = pool.swap_remove(r.below(pool.len() as u64) as usize);
            if used[k] {
                continue;
            }
            // A start post: far enough in, with at least 10 posts before it (a sponsored
            // one for a broken link, whose traffic comes from sponsored posts).
            let starts: Vec<usize> = by_creator[k]
                .iter()
                .enumerate()
                .filter(|&(j, &i)| {
                    let earlier_sponsored = by_creator[k][..j].iter().filter(|&&q| posts[q].campaign.is_some()).count();
                    j >= 10
                        && (lo..hi).contains(&posts[i].published_at)
                        && (kind != "ctr_drop" || (posts[i].campaign.is_some() && earlier_sponsored >= 2))
                        && (kind != "sentiment_shift" || comments[i] >= median_comments[k])
                })
                .map(|(_, &i)| i)
                .collect();
            if starts.is_empty() {
                continue;
            }
            let first = starts[r.below(starts.len() as u64) as usize];
            let (start, end) = (posts[first].published_at, posts[first].published_at + 3 * DAY);
            let in_window: Vec<usize> =
                by_creator[k].iter().copied().filter(|&i| (start..end).contains(&posts[i].published_at)).collect();
            let effect = match kind {
                "engagement_spike" => {
                    for &i in &in_window {
                        posts[i].boost = 2.0;
                    }
                    "likes, comments, shares and saves of the window's posts doubled"
                }
                "ctr_drop" => {
                    broken[k] = Some((start, end));
                    "two thirds of the creator's link clicks in the window lost (a broken link)"
                }
                _ => {
                    for &i in &in_window {
                        posts[i].backlash = true;
                    }
                    "three times the comments on the window's posts, 70 % of them negative"
                }
            };
            let c = &creators[k].truth;
            out.push(PlantedEvent {
                kind,
                creator_id: c.creator_id.clone(),
                platform: c.platform,
                campaign_id: posts[first].campaign.map(|ci| campaigns[ci].id.clone()),
                start: crate::io::format_timestamp_us(start),
                end: crate::io::format_timestamp_us(end),
                effect,
                posts: in_window.len(),
            });
            used[k] = true;
            planted += 1;
        }
    }
    (out, broken)
}

// ---------------------------------------------------------------------------------------
// Users: touches, conversions, sessions, orders, customers

#[derive(Clone, Copy)]
struct Touch {
    ts: i64,
    channel: &'static str,
    interaction: &'static str,
    /// (creator, campaign, deal) for creator touches.
    creator: Option<(usize, usize, usize)>,
    platform: Option<&'static str>,
    tracking: Option<&'static str>,
}

struct UserBatches {
    touchpoints: RecordBatch,
    sessions: RecordBatch,
    customers: RecordBatch,
    orders: RecordBatch,
    conversions: RecordBatch,
    truth: ConversionTruth,
}

fn conversions_schema() -> SchemaRef {
    let ts = DataType::Timestamp(TimeUnit::Microsecond, Some(crate::schema::UTC.into()));
    Arc::new(Schema::new(vec![
        Field::new("order_id", DataType::Utf8, false),
        Field::new("user_id", DataType::Utf8, false),
        Field::new("converted_at", ts, false),
        Field::new("cause", DataType::Utf8, false),
        Field::new("cause_touch_id", DataType::Utf8, true),
        Field::new("cause_channel", DataType::Utf8, true),
        Field::new("cause_interaction", DataType::Utf8, true),
        Field::new("cause_creator_id", DataType::Utf8, true),
        Field::new("discount_code_owner_id", DataType::Utf8, true),
    ]))
}

fn simulate_users(w: &World, first: u64, last: u64) -> UserBatches {
    let mut tp = RowBuilder::for_table(Table::Touchpoints);
    let mut ss = RowBuilder::for_table(Table::Sessions);
    let mut cu = RowBuilder::for_table(Table::Customers);
    let mut od = RowBuilder::for_table(Table::Orders);
    let mut cv = RowBuilder::new(conversions_schema());
    let mut truth = ConversionTruth::default();
    let mut touches: Vec<Touch> = Vec::new();
    let span_days = (w.campaigns_end - WORLD_START) as f64 / DAY as f64;
    for u in first..last {
        let mut r = Rng::new(w.seed, stream::USERS, u);
        truth.users += 1;
        touches.clear();
        let arrival = WORLD_START + (r.uniform() * (span_days - 7.0).max(1.0) * DAY as f64) as i64;
        let window_days = (14.0 + r.exponential(1.0 / 50.0)).min(span_days);
        let window_end = (arrival + (window_days * DAY as f64) as i64).min(w.campaigns_end);
        // Creator touches from sponsored posts of followed creators.
        if !w.followable.is_empty() {
            let k = 1 + r.poisson(1.5) as usize;
            for _ in 0..k {
                let c = w.followable[w.follow_alias.draw(&mut r)];
                let ct = &w.creators[c].truth;
                for &(pi, ci, di) in &w.sponsored[c] {
                    let p = &w.posts[pi];
                    if p.published_at < arrival - 2 * DAY || p.published_at > window_end || !r.chance(0.6) {
                        continue;
                    }
                    let seen_at = p.published_at + (r.exponential(1.0 / 0.7) * DAY as f64) as i64;
                    let platform = Some(ct.platform);
                    let who = Some((c, ci, di));
                    touches.push(Touch {
                        ts: seen_at,
                        channel: "creator",
                        interaction: "impression",
                        creator: who,
                        platform,
                        tracking: Some("platform_api"),
                    });
                    let mut t = seen_at;
                    if is_video(p.format) && r.chance(0.45) {
                        t += (r.range(0.5, 10.0) * MINUTE as f64) as i64;
                        touches.push(Touch {
                            ts: t,
                            channel: "creator",
                            interaction: "view",
                            creator: who,
                            platform,
                            tracking: Some("platform_api"),
                        });
                    }
                    let click_mult = if p.format == "story" { 1.5 } else { 1.0 };
                    // 1970-01-01 (day 0) was a Thursday: weekday 4 with Sunday 0.
                    let weekday = (seen_at.div_euclid(DAY) + 4).rem_euclid(7) as usize;
                    if r.chance(ct.click_rate * click_mult * w.weekly_ctr[weekday]) {
                        t += (r.range(0.2, 5.0) * MINUTE as f64) as i64;
                        if w.broken_link[c].is_some_and(|(s, e)| (s..e).contains(&t)) && r.chance(BROKEN_LINK_LOSS) {
                            continue;
                        }
                        let deal = &w.campaigns[ci].deals[di];
                        let tracking = if deal.affiliate.is_some() && r.chance(0.5) { "affiliate_link" } else { "utm" };
                        touches.push(Touch {
                            ts: t,
                            channel: "creator",
                            interaction: "click",
                            creator: who,
                            platform,
                            tracking: Some(tracking),
                        });
                    }
                }
            }
        }
        // Other channels, uniformly over the user's active window.
        let window_us = (window_end - arrival).max(HOUR) as f64;
        let other = |r: &mut Rng,
                     n: u64,
                     channel: &'static str,
                     interaction: &'static str,
                     platform: Option<&'static str>,
                     tracking: Option<&'static str>,
                     out: &mut Vec<Touch>| {
            for _ in 0..n {
                let ts = arrival + (r.uniform() * window_us) as i64;
                out.push(Touch { ts, channel, interaction, creator: None, platform, tracking });
            }
        };
        let n_paid = r.poisson(0.04 * window_days);
        for _ in 0..n_paid {
            let platform = if r.chance(0.6) { "instagram" } else { "tiktok" };
            let ts = arrival + (r.uniform() * window_us) as i64;
            touches.push(Touch {
                ts,
                channel: "paid_social",
                interaction: "impression",
                creator: None,
                platform: Some(platform),
                tracking: Some("platform_api"),
            });
            if r.chance(0.08) {
                touches.push(Touch {
                    ts: ts + 30_000_000,
                    channel: "paid_social",
                    interaction: "click",
                    creator: None,
                    platform: Some(platform),
                    tracking: Some("utm"),
                });
            }
        }
        let n = r.poisson(0.008 * window_days);
        other(&mut r, n, "search", "click", None, Some("utm"), &mut touches);
        if r.chance(0.3) {
            let n = r.poisson(0.02 * window_days);
            other(&mut r, n, "email", "click", None, Some("utm"), &mut touches);
        }
        let n = r.poisson(0.004 * window_days);
        other(&mut r, n, "affiliate", "click", None, Some("utm"), &mut touches);
        let n = r.poisson(0.01 * window_days);
        other(&mut r, n, "direct", "click", None, None, &mut touches);
        touches.retain(|t| t.ts < w.observation_end);
        touches.sort_by_key(|t| t.ts);

        // First purchase: competing risks of the baseline and every touch.
        let start = touches.first().map_or(arrival, |t| t.ts.min(arrival));
        if !touches.is_empty() {
            truth.users_with_touches += 1;
        }
        let mut best = start as f64 + r.exponential(BASELINE_PER_DAY) * DAY as f64;
        let mut cause: Option<usize> = None;
        for (j, t) in touches.iter().enumerate() {
            let h = hazard_of(t.channel, t.interaction);
            let beta = h.beta_per_day * t.creator.map_or(1.0, |(c, _, _)| w.creators[c].truth.hazard_multiplier);
            let omega = std::f64::consts::LN_2 / h.half_life_days;
            let e = r.exponential(1.0);
            if beta > 0.0 && e < beta / omega {
                let s_days = -(1.0 - omega * e / beta).ln() / omega;
                let cand = t.ts as f64 + s_days * DAY as f64;
                if cand < best {
                    best = cand;
                    cause = Some(j);
                }
            }
        }
        let converted_at = (best < w.observation_end as f64).then_some(best as i64);
        if let Some(at) = converted_at {
            touches.retain(|t| t.ts <= at);
        }
        let user_id = format!("u{u:08}");
        // Touchpoints and the sessions of clicks.
        for (j, t) in touches.iter().enumerate() {
            let creator = t.creator.map(|(c, _, _)| w.creators[c].truth.creator_id.as_str());
            let campaign = t.creator.map(|(_, ci, _)| w.campaigns[ci].id.as_str());
            tp.text(&format!("t{u:08}-{j}"))
                .text(&user_id)
                .ts(t.ts)
                .text(t.channel)
                .opt_text(creator)
                .opt_text(campaign)
                .opt_text(t.platform)
                .text(t.interaction)
                .opt_text(t.tracking)
                .end_row();
            if t.interaction == "click" {
                session(&mut ss, &mut r, w, &user_id, &format!("s{u:08}-{j}"), t);
            }
        }
        let Some(at) = converted_at else { continue };
        truth.converted += 1;
        let cause_touch = cause.map(|j| touches[j]);
        let cause_key =
            cause_touch.map_or_else(|| "baseline".to_owned(), |t| format!("{}/{}", t.channel, t.interaction));
        *truth.by_cause.entry(cause_key).or_default() += 1;
        let cause_creator = cause_touch.and_then(|t| t.creator);
        // Promo code: the causing creator's code, a leaked code, or none.
        let code: Option<(usize, usize)> = match cause_creator {
            Some((c, ci, di)) if w.campaigns[ci].deals[di].code.is_some() && r.chance(w.creators[c].truth.code_use) => {
                Some((ci, di))
            }
            _ => {
                let touched: Vec<(usize, usize)> = touches
                    .iter()
                    .filter_map(|t| t.creator)
                    .filter(|&(_, ci, di)| w.campaigns[ci].deals[di].code.is_some())
                    .map(|(_, ci, di)| (ci, di))
                    .collect();
                if !touched.is_empty() && r.chance(0.04) {
                    Some(touched[r.index(touched.len())])
                } else if !w.codes.is_empty() && r.chance(0.01) {
                    Some(w.codes[r.index(w.codes.len())])
                } else {
                    None
                }
            }
        };
        let code_owner = code.map(|(ci, di)| w.campaigns[ci].deals[di].creator);
        if let Some(owner) = code_owner {
            if cause_creator.map(|(c, _, _)| c) == Some(owner) {
                truth.code_orders_caused_by_owner += 1;
            } else {
                truth.code_orders_not_caused_by_owner += 1;
            }
        }
        // The brand's own record of the acquisition: the code's creator, else the last
        // creator click within 7 days; channel of the last click within 7 days.
        let last_click = touches.iter().rev().find(|t| t.interaction == "click" && at - t.ts <= 7 * DAY);
        let acq_creator = code_owner.or_else(|| {
            touches
                .iter()
                .rev()
                .find(|t| t.channel == "creator" && t.interaction == "click" && at - t.ts <= 7 * DAY)
                .and_then(|t| t.creator.map(|(c, _, _)| c))
        });
        let acq_channel = if code_owner.is_some() { "creator" } else { last_click.map_or("direct", |t| t.channel) };
        let (bg, gg, sbg) = match cause_creator {
            Some((c, _, _)) => {
                let t = &w.creators[c].truth;
                (t.bgnbd, t.gamma_gamma, t.sbg)
            }
            None => (BASE_BGNBD, BASE_GG, SBG_REGULAR),
        };
        let customer_id = format!("cu{u:08}");
        let subscribed = r.chance(0.4);
        let churned_at = if subscribed {
            truth.subscribers += 1;
            let theta = r.beta(sbg.alpha, sbg.beta);
            let mut k = 1i64;
            loop {
                let t = at + k * 30 * DAY;
                if t > w.observation_end {
                    break None;
                }
                if r.chance(theta) {
                    truth.churned += 1;
                    break Some(t);
                }
                k += 1;
            }
        } else {
            None
        };
        cu.text(&customer_id)
            .ts(at)
            .opt_text(acq_creator.map(|c| w.creators[c].truth.creator_id.as_str()))
            .text(acq_channel)
            .opt_ts(subscribed.then_some(at))
            .opt_ts(churned_at)
            .end_row();
        // Orders: the first, then BG/NBD repeats with Gamma-Gamma spend.
        let nu = r.gamma(gg.q, 1.0 / gg.gamma);
        let lambda_week = r.gamma(bg.r, 1.0 / bg.alpha);
        let p_drop = r.beta(bg.a, bg.b);
        let mut t = at;
        let mut k = 0;
        loop {
            let revenue = round2(r.gamma(gg.p, 1.0 / nu));
            let code_text =
                if k == 0 { code.and_then(|(ci, di)| w.campaigns[ci].deals[di].code.as_deref()) } else { None };
            let margin = round2(revenue * (0.58 + 0.05 * r.normal()).clamp(0.3, 0.8));
            // A refunded order earns nothing: `revenue` is net of refunds, as the shop
            // importers write it (the draw order of the RNG is unchanged).
            let refunded = r.chance(0.03);
            let revenue = if refunded { 0.0 } else { revenue };
            od.text(&format!("o{u:08}-{k}"))
                .text(&customer_id)
                .text(&user_id)
                .ts(t)
                .float(revenue)
                .text("USD")
                .opt_text(code_text)
                .float(if refunded { 0.0 } else { margin })
                .bool(refunded)
                .end_row();
            if k == 0 {
                if let Some((c, _, _)) = cause_creator {
                    let id = w.creators[c].truth.creator_id.clone();
                    *truth.by_creator.entry(id.clone()).or_default() += 1;
                    *truth.revenue_by_creator.entry(id).or_default() += revenue;
                }
                cv.text(&format!("o{u:08}-0"))
                    .text(&user_id)
                    .ts(at)
                    .text(if cause.is_some() { "touch" } else { "baseline" })
                    .opt_text(cause.map(|j| format!("t{u:08}-{j}")).as_deref())
                    .opt_text(cause_touch.map(|t| t.channel))
                    .opt_text(cause_touch.map(|t| t.interaction))
                    .opt_text(cause_creator.map(|(c, _, _)| w.creators[c].truth.creator_id.as_str()))
                    .opt_text(code_owner.map(|c| w.creators[c].truth.creator_id.as_str()))
                    .end_row();
            } else {
                truth.repeat_orders += 1;
                if r.chance(p_drop) {
                    break;
                }
            }
            if lambda_week <= 0.0 {
                break;
            }
            let wait = r.exponential(lambda_week) * 7.0 * DAY as f64;
            if t as f64 + wait > w.observation_end as f64 {
                break;
            }
            t += wait as i64;
            k += 1;
        }
    }
    UserBatches {
        touchpoints: tp.finish(),
        sessions: ss.finish(),
        customers: cu.finish(),
        orders: od.finish(),
        conversions: cv.finish(),
        truth,
    }
}

/// `utm_source`, `utm_medium`, `utm_campaign`, `utm_content`, `utm_term`, referrer.
type Utm<'a> = (Option<&'a str>, Option<&'a str>, Option<&'a str>, Option<&'a str>, Option<&'a str>, Option<&'a str>);

fn session(ss: &mut RowBuilder, r: &mut Rng, w: &World, user_id: &str, id: &str, t: &Touch) {
    let (bounce, secs, pages) = match t.creator {
        Some((c, _, _)) => {
            let ct = &w.creators[c].truth;
            (ct.bounce_rate, ct.session_seconds, ct.session_pages)
        }
        None => match t.channel {
            "paid_social" => (0.6, 60.0, 2.0),
            "search" => (0.35, 150.0, 3.5),
            "email" => (0.3, 140.0, 3.0),
            "affiliate" => (0.5, 70.0, 2.2),
            _ => (0.25, 200.0, 4.0),
        },
    };
    let bounced = r.chance(bounce);
    let (duration, pageviews) = if bounced {
        (round2(r.exponential(1.0 / 8.0)), 1)
    } else {
        (round2(secs * r.lognormal(-0.18, 0.6)), 2 + r.poisson((pages - 1.0).max(0.1)) as i64)
    };
    let (source, medium, campaign, content, term, referrer): Utm<'_> = match t.creator {
        Some((_, ci, di)) => {
            let d = &w.campaigns[ci].deals[di];
            let platform = t.platform.unwrap_or("other");
            let referrer = match platform {
                "instagram" => "instagram.com",
                "tiktok" => "tiktok.com",
                _ => "youtube.com",
            };
            if t.tracking == Some("affiliate_link") {
                (
                    Some("affiliate"),
                    Some("affiliate_link"),
                    Some(w.campaigns[ci].id.as_str()),
                    d.affiliate.as_deref(),
                    None,
                    Some(referrer),
                )
            } else {
                (
                    Some(platform),
                    Some("influencer"),
                    Some(w.campaigns[ci].id.as_str()),
                    Some(d.utm.as_str()),
                    None,
                    Some(referrer),
                )
            }
        }
        None => match t.channel {
            "paid_social" => (
                Some(if t.platform == Some("tiktok") { "tiktok_ads" } else { "meta" }),
                Some("paid_social"),
                Some("always_on"),
                None,
                None,
                None,
            ),
            "search" => {
                (Some("google"), Some("cpc"), Some("brand_search"), None, Some("lumina serum"), Some("google.com"))
            }
            "email" => (Some("newsletter"), Some("email"), Some("weekly"), None, None, None),
            "affiliate" => {
                (Some("couponsite"), Some("affiliate"), Some("coupons"), None, None, Some("couponsite.example"))
            }
            _ => (None, None, None, None, None, None),
        },
    };
    let landing = *r.pick(&["/", "/products/serum", "/products/cleanser", "/collections/new", "/products/bundle"]);
    ss.text(id)
        .text(user_id)
        .ts(t.ts)
        .opt_text(source)
        .opt_text(medium)
        .opt_text(campaign)
        .opt_text(content)
        .opt_text(term)
        .opt_text(referrer)
        .text(landing)
        .float(duration)
        .int(pageviews)
        .bool(bounced)
        .end_row();
}

// ---------------------------------------------------------------------------------------
// Posts, snapshots, comments

const SNAPSHOT_HOURS: &[i64] = &[1, 3, 6, 12, 24, 48, 72, 168];

struct PostBatches {
    posts: RecordBatch,
    snapshots: RecordBatch,
    comments: RecordBatch,
}

fn simulate_posts(w: &World, first: usize, last: usize, comment_rate: f64) -> PostBatches {
    let mut pb = RowBuilder::for_table(Table::Posts);
    let mut sb = RowBuilder::for_table(Table::PostSnapshots);
    let mut cb = RowBuilder::for_table(Table::Comments);
    for i in first..last {
        let p = &w.posts[i];
        let c = &w.creators[p.creator];
        let t = &c.truth;
        let m = post_metrics(w.seed, i, p, c);
        pb.text(&p.id)
            .text(&t.creator_id)
            .opt_text(p.campaign.map(|ci| w.campaigns[ci].id.as_str()))
            .text(t.platform)
            .text(p.format)
            .ts(p.published_at)
            .bool(p.campaign.is_some())
            .opt_int(m.impressions)
            .opt_int(m.reach)
            .opt_int(m.views)
            .opt_int(m.engaged_views)
            .int(m.likes)
            .int(m.comments)
            .opt_int(m.shares)
            .opt_int(m.saves)
            .opt_int(m.link_clicks)
            .opt_float(m.watch_time_s)
            .end_row();
        let mut r = Rng::new(w.seed, stream::COMMENTS, i as u64);
        // Snapshots: saturating growth; bought likes arrive as a burst in the first hour.
        let tau = match t.platform {
            "tiktok" => 18.0,
            "instagram" => 10.0,
            _ => 40.0,
        } * r.lognormal(0.0, 0.2);
        let burst = match t.inflation {
            // Study: bought likes arrive at once — the bought share of the final likes.
            Some(x) if matches!(x.kind, InflationKind::BoughtFollowers) || !x.kind.inflated() => 0.0,
            Some(_) => 1.0 - 1.0 / t.like_multiplier,
            None if t.inflated => r.range(0.4, 0.7),
            None => 0.0,
        };
        let giveaway = study_post(w.seed, i, t).1;
        for &h in SNAPSHOT_HOURS {
            // The last read is the post's final count (what `posts` holds): an API pull
            // observes exactly what the post table reports, as in a real import.
            let last = h == SNAPSHOT_HOURS[SNAPSHOT_HOURS.len() - 1];
            let f = if last { 1.0 } else { 1.0 - (-(h as f64) / tau).exp() };
            let at = |x: i64, share: f64| (x as f64 * share).round() as i64;
            let like_share = if last { 1.0 } else { burst + (1.0 - burst) * f };
            sb.text(&p.id)
                .ts(p.published_at + h * HOUR)
                .opt_int(m.views.map(|v| at(v, f)))
                .opt_int(Some(at(m.likes, like_share)))
                .opt_int(Some(at(m.comments, f)))
                .opt_int(m.shares.map(|v| at(v, f)))
                .opt_int(m.saves.map(|v| at(v, f)))
                .end_row();
        }
        // Comments: a sample of the post's comments, with replies and bots.
        let expected = p.comments as f64 * comment_rate;
        let n = expected.floor() as u64 + u64::from(r.chance(expected.fract()));
        let mut labels: Vec<&'static str> = Vec::with_capacity(n as usize);
        for j in 0..n {
            let is_bot = r.chance(t.bot_comment_share);
            let created_at = p.published_at + (r.exponential(1.0 / 10.0) * HOUR as f64) as i64 + MINUTE;
            let pod = t.inflation.is_some_and(|x| x.kind == InflationKind::Pod);
            let (author, (text, label), parent) = if is_bot && pod {
                // A pod member: one of a ring of accounts, writing a real-looking comment.
                let a = w.bot_range[1] + r.below(POD_AUTHORS);
                (a, text::comment(&mut r, "positive", CommentKind::Genuine, BRAND), None)
            } else if is_bot {
                let a = w.bot_range[0] + r.below(w.bot_range[1] - w.bot_range[0]);
                (a, text::comment(&mut r, "", CommentKind::Bot, BRAND), None)
            } else if giveaway && r.chance(0.8) {
                // "Tag two friends to enter."
                let a = r.below(w.n_authors);
                let tag = format!("@{} @{}", handle(&mut r), handle(&mut r));
                (a, (tag, "neutral"), None)
            } else {
                let s = if p.backlash { BACKLASH_MIX } else { t.sentiment };
                let mut label = ["positive", "neutral", "negative"][r.weighted(&s)];
                if p.campaign.is_some() && label == "neutral" && r.chance(0.15) {
                    label = "negative"; // "another ad" fatigue on sponsored posts
                }
                let a = r.below(w.n_authors);
                if j > 0 && r.chance(0.1) {
                    let parent = r.below(j);
                    let parent_label = labels[parent as usize];
                    (a, text::reply(&mut r, parent_label), Some(parent))
                } else {
                    (a, text::comment(&mut r, label, CommentKind::Genuine, BRAND), None)
                }
            };
            labels.push(label);
            cb.text(&format!("cm{i:07}-{j}"))
                .text(&p.id)
                .text(&format!("a{author}"))
                .text(&text)
                .ts(created_at)
                .int(r.poisson(if is_bot { 0.1 } else { 1.5 }) as i64)
                .opt_text(parent.map(|q| format!("cm{i:07}-{q}")).as_deref())
                .text(label)
                .end_row();
        }
    }
    PostBatches { posts: pb.finish(), snapshots: sb.finish(), comments: cb.finish() }
}

// ---------------------------------------------------------------------------------------
// Static tables

fn write_creators(w: &World, out: &mut Writers) -> Result<(), DataError> {
    let mut b = RowBuilder::for_table(Table::Creators);
    for c in &w.creators {
        b.text(&c.truth.creator_id)
            .text(c.truth.platform)
            .text(&c.handle)
            .int(c.followers_shown)
            .opt_int(Some(c.following))
            .opt_int(Some(c.posts_count))
            .opt_ts(Some(c.account_created_at))
            .opt_text(Some(c.niche))
            .opt_text(Some(c.country))
            .end_row();
    }
    out.write(Table::Creators, &b.finish())
}

fn write_campaign_tables(w: &World, out: &mut Writers) -> Result<(), DataError> {
    let mut cb = RowBuilder::for_table(Table::Campaigns);
    let mut ab = RowBuilder::for_table(Table::TrackingAssets);
    let mut kb = RowBuilder::for_table(Table::Costs);
    let mut n_cost = 0u64;
    let mut cost = |kb: &mut RowBuilder,
                    camp: &Campaign,
                    creator: Option<&str>,
                    ty: &str,
                    amount: Option<f64>,
                    rate: Option<f64>,
                    tiers: Option<&str>,
                    at: i64,
                    paid: bool| {
        kb.text(&format!("k{n_cost:06}"))
            .text(&camp.id)
            .opt_text(creator)
            .text(ty)
            .opt_float(amount)
            .opt_float(rate)
            .opt_text(tiers)
            .text("USD")
            .opt_ts(Some(at))
            .opt_text(Some(if paid { "paid" } else { "committed" }))
            .end_row();
        n_cost += 1;
    };
    for (ci, camp) in w.campaigns.iter().enumerate() {
        let mut r = Rng::new(w.seed, stream::CAMPAIGNS, 10_000 + ci as u64);
        let paid = camp.ends_at + 30 * DAY < w.observation_end;
        let mut creator_fees = 0.0;
        for d in &camp.deals {
            let c = &w.creators[d.creator].truth;
            let id = Some(c.creator_id.as_str());
            let at = camp.starts_at;
            match &d.fee {
                Fee::Flat(a) => {
                    creator_fees += a;
                    cost(&mut kb, camp, id, "flat_fee", Some(*a), None, None, at, paid);
                }
                Fee::FlatPlusCommission(a, rate) => {
                    creator_fees += a;
                    cost(&mut kb, camp, id, "flat_fee", Some(*a), None, None, at, paid);
                    cost(&mut kb, camp, id, "commission", None, Some(*rate), None, at, paid);
                }
                Fee::Commission(rate) => cost(&mut kb, camp, id, "commission", None, Some(*rate), None, at, paid),
                Fee::Tiered(a, tiers) => {
                    creator_fees += a;
                    cost(&mut kb, camp, id, "flat_fee", Some(*a), None, None, at, paid);
                    cost(&mut kb, camp, id, "tiered_commission", None, None, Some(tiers), at, paid);
                }
                Fee::PerConversion(a) => cost(&mut kb, camp, id, "per_conversion", Some(*a), None, None, at, paid),
            }
            cost(&mut kb, camp, id, "product_samples", Some(round2(r.range(20.0, 80.0))), None, None, at, paid);
            cost(&mut kb, camp, id, "shipping", Some(round2(r.range(5.0, 20.0))), None, None, at, paid);
            let n_asset = ab.len();
            let asset = |ab: &mut RowBuilder, method: &str, value: &str| {
                ab.text(&format!("as{ci:03}-{n_asset:05}-{method}"))
                    .text(&c.creator_id)
                    .opt_text(Some(&camp.id))
                    .text(method)
                    .text(value)
                    .end_row();
            };
            asset(&mut ab, "utm", &d.utm);
            if let Some(code) = &d.code {
                asset(&mut ab, "promo_code", code);
            }
            if let Some(aff) = &d.affiliate {
                asset(&mut ab, "affiliate_link", aff);
            }
        }
        if r.chance(0.5) {
            cost(&mut kb, camp, None, "agency_fee", None, Some(round2(r.range(0.1, 0.15))), None, camp.starts_at, paid);
        } else {
            cost(
                &mut kb,
                camp,
                None,
                "agency_fee",
                Some(round2(r.range(500.0, 2_000.0))),
                None,
                None,
                camp.starts_at,
                paid,
            );
        }
        cost(
            &mut kb,
            camp,
            None,
            "production",
            Some(round2(r.range(500.0, 3_000.0))),
            None,
            None,
            camp.starts_at,
            paid,
        );
        let months = ((camp.ends_at - camp.starts_at) as f64 / (30.0 * DAY as f64)).ceil().max(1.0);
        cost(
            &mut kb,
            camp,
            None,
            "tools",
            Some(round2(months * r.range(100.0, 300.0))),
            None,
            None,
            camp.starts_at,
            paid,
        );
        cb.text(&camp.id)
            .text(&camp.name)
            .opt_text(Some(BRAND))
            .ts(camp.starts_at)
            .ts(camp.ends_at)
            .opt_text(Some(camp.objective))
            .opt_float(Some(round2(creator_fees * 1.3 + 5_000.0)))
            .opt_text(Some("USD"))
            .end_row();
    }
    out.write(Table::Campaigns, &cb.finish())?;
    out.write(Table::TrackingAssets, &ab.finish())?;
    out.write(Table::Costs, &kb.finish())
}

/// The revenue model of campaign history and candidates.
struct RevenueTruth {
    model: RevenueModel,
}

impl RevenueTruth {
    fn new() -> RevenueTruth {
        let mut reach = BTreeMap::new();
        for p in PLATFORMS {
            for f in formats(p).0 {
                reach.insert(format!("{p}/{f}"), reach_rate(p, f));
            }
        }
        let cvr: BTreeMap<String, f64> = NICHES
            .iter()
            .zip([0.035, 0.03, 0.028, 0.025, 0.02, 0.022, 0.015, 0.03, 0.032, 0.025])
            .map(|(n, v)| ((*n).to_owned(), v))
            .collect();
        let aov: BTreeMap<String, f64> = NICHES
            .iter()
            .zip([42.0, 65.0, 55.0, 30.0, 48.0, 120.0, 90.0, 38.0, 45.0, 50.0])
            .map(|(n, v)| ((*n).to_owned(), v))
            .collect();
        RevenueTruth {
            model: RevenueModel {
                formula: "impressions = followers * reach_rate[platform/format] * short_video_by_tier[tier, if reel/short] \
                          * k (1 - exp(-posts / k)) * LN(0, s1) with k = posts_saturation; \
                          clicks = Poisson(impressions * ctr_base * (engagement_rate / 0.04)^0.6 * audience_quality^1.5 * LN(0, s2)); \
                          orders = Poisson(clicks * cvr[niche] * niche_platform[niche/platform] * LN(0, s3)); \
                          revenue = orders * aov[niche] * LN(0, s4); LN(0, s) has median 1",
                reach_rate: reach,
                ctr_base: 0.006,
                cvr_by_niche: cvr,
                aov_by_niche: aov,
                noise_sigmas: [0.3, 0.3, 0.3, 0.15],
                posts_saturation: 2.5,
                short_video_by_tier: [("nano", 1.8), ("micro", 1.4), ("mid", 1.0), ("macro", 0.8), ("mega", 0.65)]
                    .iter()
                    .map(|(t, v)| ((*t).to_owned(), *v))
                    .collect(),
                niche_platform: [
                    ("beauty/tiktok", 1.7),
                    ("fashion/tiktok", 1.4),
                    ("food/instagram", 1.4),
                    ("tech/youtube", 1.9),
                    ("gaming/youtube", 1.6),
                    ("gaming/instagram", 0.6),
                    ("travel/tiktok", 0.6),
                    ("parenting/instagram", 1.3),
                    ("fitness/youtube", 1.4),
                    ("tech/tiktok", 0.6),
                ]
                .iter()
                .map(|(k, v)| ((*k).to_owned(), *v))
                .collect(),
            },
        }
    }

    /// One draw of (impressions, clicks, orders, revenue).
    fn draw(&self, r: &mut Rng, f: &Features) -> (f64, u64, u64, f64) {
        let m = &self.model;
        let s = m.noise_sigmas;
        let rr = m.reach_rate.get(&format!("{}/{}", f.platform, f.format)).copied().unwrap_or(0.2);
        let lift = if matches!(f.format, "reel" | "short") { m.short_video_by_tier[tier_of(f.followers)] } else { 1.0 };
        let k = m.posts_saturation;
        let posts = k * (1.0 - (-(f.posts as f64) / k).exp());
        let impressions = f.followers * rr * lift * posts * r.lognormal(0.0, s[0]);
        let ctr =
            m.ctr_base * (f.engagement_rate / 0.04).powf(0.6) * f.audience_quality.powf(1.5) * r.lognormal(0.0, s[1]);
        let clicks = r.poisson(impressions * ctr);
        let order_noise = r.lognormal(0.0, s[2]);
        let pair = m.niche_platform.get(&format!("{}/{}", f.niche, f.platform)).copied().unwrap_or(1.0);
        let orders = r.poisson(clicks as f64 * m.cvr_by_niche[f.niche] * pair * order_noise);
        let revenue = orders as f64 * m.aov_by_niche[f.niche] * r.lognormal(0.0, s[3]);
        (impressions, clicks, orders, revenue)
    }
}

struct Features {
    platform: &'static str,
    format: &'static str,
    niche: &'static str,
    followers: f64,
    engagement_rate: f64,
    audience_quality: f64,
    posts: u64,
}

fn random_features(r: &mut Rng) -> (Features, &'static str) {
    let platform = PLATFORMS[r.weighted(PLATFORM_WEIGHTS)];
    let (fmts, fw) = formats(platform);
    let tier_weights: Vec<f64> = TIERS.iter().map(|t| t.1).collect();
    let (_, _, lo, hi) = TIERS[r.weighted(&tier_weights)];
    let followers = (lo.ln() + (hi.ln() - lo.ln()) * r.uniform()).exp().round();
    let inflated = r.chance(0.08);
    let aq = if inflated { r.range(0.2, 0.5) } else { r.beta(8.0, 2.0) };
    let er =
        (0.06 * (followers / 10_000.0).powf(-0.15) * r.lognormal(0.0, 0.3) * if inflated { 3.0 } else { 1.0 }).min(0.5);
    (
        Features {
            platform,
            format: fmts[r.weighted(fw)],
            niche: r.pick::<&str>(NICHES),
            followers,
            engagement_rate: er,
            audience_quality: aq,
            posts: 1 + r.poisson(1.5).min(6),
        },
        COUNTRIES[r.weighted(COUNTRY_WEIGHTS)],
    )
}

fn write_history_and_candidates(
    w: &World,
    out: &mut Writers,
) -> Result<(RevenueModel, Vec<CandidateTruth>), DataError> {
    let rt = RevenueTruth::new();
    let mut hb = RowBuilder::for_table(Table::CampaignHistory);
    let history_days = (WORLD_START - HISTORY_START) / DAY;
    for i in 0..w.sizes.history {
        let mut r = Rng::new(w.seed, stream::HISTORY, i as u64);
        let (f, country) = random_features(&mut r);
        let (impressions, clicks, orders, revenue) = rt.draw(&mut r, &f);
        let revenue = round2(revenue);
        let flat = market_fee(&mut r, f.platform, f.followers, f.posts);
        let commission = r.chance(0.4).then(|| round2(r.range(0.05, 0.2)));
        let cost = round2(flat + commission.unwrap_or(0.0) * revenue);
        hb.text(&format!("h{i:06}"))
            .text(f.platform)
            .ts(HISTORY_START + r.below(history_days as u64) as i64 * DAY)
            .int(f.followers as i64)
            .int(f.posts as i64)
            .float((f.engagement_rate * 1e5).round() / 1e5)
            .float(cost)
            .float(revenue)
            .opt_text(Some(f.niche))
            .opt_text(Some(country))
            .opt_text(Some(f.format))
            .opt_float(Some((f.audience_quality * 1e3).round() / 10.0))
            .opt_float(Some(flat))
            .opt_float(commission)
            .opt_int(Some(impressions.round() as i64))
            .opt_int(Some(clicks as i64))
            .opt_int(Some(orders as i64))
            .end_row();
        if hb.len() >= BATCH {
            out.write(Table::CampaignHistory, &hb.finish())?;
        }
    }
    out.write(Table::CampaignHistory, &hb.finish())?;

    let mut cb = RowBuilder::for_table(Table::Candidates);
    let mut truths = Vec::new();
    for i in 0..w.sizes.candidates {
        let mut r = Rng::new(w.seed, stream::CANDIDATES, i as u64);
        let (f, country) = random_features(&mut r);
        let flat = market_fee(&mut r, f.platform, f.followers, f.posts);
        let deal = r.weighted(&[0.5, 0.3, 0.2]);
        let id = format!("cand{i:04}");
        cb.text(&id)
            .text(f.platform)
            .int(f.followers as i64)
            .float((f.engagement_rate * 1e5).round() / 1e5)
            .int(f.posts as i64)
            .text(f.format)
            .opt_text(Some(f.niche))
            .opt_text(Some(country))
            .opt_float(Some((f.audience_quality * 1e3).round() / 10.0))
            .opt_float((deal != 2).then_some(flat))
            .opt_float((deal == 1).then(|| round2(r.range(0.05, 0.2))))
            .opt_text((deal == 2).then_some(r#"[{"up_to": 5000, "rate": 0.1}, {"up_to": null, "rate": 0.15}]"#))
            .opt_text(Some(&handle(&mut Rng::new(w.seed, stream::CANDIDATES, 1_000_000 + i as u64))))
            .end_row();
        // True distribution by simulation (rounded features, as written).
        let f = Features {
            engagement_rate: (f.engagement_rate * 1e5).round() / 1e5,
            audience_quality: (f.audience_quality * 1e3).round() / 1e3,
            ..f
        };
        let mut sim = Rng::new(w.seed, stream::CANDIDATE_SIM, i as u64);
        let mut draws: Vec<f64> = (0..4_000).map(|_| rt.draw(&mut sim, &f).3).collect();
        draws.sort_by(f64::total_cmp);
        let q = |p: f64| round2(draws[((draws.len() - 1) as f64 * p).round() as usize]);
        let realized = round2(rt.draw(&mut r, &f).3);
        truths.push(CandidateTruth {
            creator_id: id,
            platform: f.platform,
            expected_revenue: round2(draws.iter().sum::<f64>() / draws.len() as f64),
            p10: q(0.1),
            p50: q(0.5),
            p90: q(0.9),
            realized_revenue: realized,
        });
    }
    out.write(Table::Candidates, &cb.finish())?;
    Ok((rt.model, truths))
}

// ---------------------------------------------------------------------------------------
// Writing

struct Writers {
    dir: PathBuf,
    format: Format,
    open: BTreeMap<Table, TableWriter>,
    extra: BTreeMap<&'static str, TableWriter>,
}

impl Writers {
    fn write(&mut self, table: Table, batch: &RecordBatch) -> Result<(), DataError> {
        if !self.open.contains_key(&table) {
            let path = self.dir.join(format!("{}.{}", table.name(), self.format.extension()));
            self.open.insert(table, TableWriter::create(path, &table.spec().arrow_schema())?);
        }
        self.open.get_mut(&table).expect("inserted above").write(batch)
    }

    fn write_extra(&mut self, name: &'static str, batch: &RecordBatch) -> Result<(), DataError> {
        if !self.extra.contains_key(name) {
            let path = self.dir.join(format!("{name}.{}", self.format.extension()));
            self.extra.insert(name, TableWriter::create(path, batch.schema_ref())?);
        }
        self.extra.get_mut(name).expect("inserted above").write(batch)
    }
}

/// Runs `make(i)` for chunk indices in parallel, `window` at a time, and hands the
/// results to `consume` in index order; stops when `consume` returns `false`.
fn ordered_chunks<T: Send>(
    n: u64,
    make: impl Fn(u64) -> T + Sync,
    mut consume: impl FnMut(T) -> Result<bool, DataError>,
) -> Result<(), DataError> {
    let window = (rayon::current_num_threads() as u64 * 2).max(2);
    let mut next = 0;
    while next < n {
        let end = (next + window).min(n);
        let results: Vec<T> = (next..end).into_par_iter().map(&make).collect();
        for r in results {
            if !consume(r)? {
                return Ok(());
            }
        }
        next = end;
    }
    Ok(())
}

/// Generates the world of `params` into the folder `out`.
///
/// The folder is written under a temporary name beside `out` and renamed into place at
/// the end, so an interrupted run leaves no partial dataset. An existing `out` is an
/// error unless `params.overwrite` is set.
pub fn generate(params: &GenerateParams, out: &Path, progress: &dyn Progress) -> Result<GenerateSummary, DataError> {
    if params.format == Format::IpcStream {
        return Err(DataError::InvalidParam {
            name: "format",
            value: "arrows".into(),
            expected: "parquet, csv or arrow".into(),
        });
    }
    let summary = crate::io::write_dir_atomically(out, params.overwrite, |tmp| generate_into(params, tmp, progress))?;
    Ok(GenerateSummary { out: out.to_owned(), ..summary })
}

fn generate_into(params: &GenerateParams, dir: &Path, progress: &dyn Progress) -> Result<GenerateSummary, DataError> {
    let sizes = params.scenario.sizes();
    progress.stage("building creators, campaigns and posts", 0);
    let w = build_world(params.seed, sizes, params.events, params.inflation_study, params.weekly_season);
    let mut out = Writers { dir: dir.to_owned(), format: params.format, open: BTreeMap::new(), extra: BTreeMap::new() };
    write_creators(&w, &mut out)?;
    write_campaign_tables(&w, &mut out)?;

    // Posts, snapshots and comments.
    let total_comments: f64 = w.posts.iter().map(|p| p.comments as f64).sum();
    let comment_rate = if total_comments > 0.0 { (sizes.comments as f64 / total_comments).min(1.0) } else { 0.0 };
    let n_post_chunks = w.posts.len().div_ceil(POSTS_PER_CHUNK) as u64;
    progress.stage("posts, snapshots and comments", w.posts.len() as u64);
    ordered_chunks(
        n_post_chunks,
        |k| {
            let first = k as usize * POSTS_PER_CHUNK;
            simulate_posts(&w, first, (first + POSTS_PER_CHUNK).min(w.posts.len()), comment_rate)
        },
        |b| {
            progress.advance(b.posts.num_rows() as u64);
            out.write(Table::Posts, &b.posts)?;
            out.write(Table::PostSnapshots, &b.snapshots)?;
            out.write(Table::Comments, &b.comments)?;
            Ok(true)
        },
    )?;

    // Users.
    let n_chunks = sizes.users.div_ceil(USERS_PER_CHUNK);
    progress.stage("users, journeys and orders", sizes.min_touchpoints.unwrap_or(sizes.users));
    let mut truth = ConversionTruth::default();
    let mut n_touch = 0u64;
    ordered_chunks(
        n_chunks,
        |k| simulate_users(&w, k * USERS_PER_CHUNK, ((k + 1) * USERS_PER_CHUNK).min(sizes.users)),
        |b| {
            n_touch += b.touchpoints.num_rows() as u64;
            progress.advance(if sizes.min_touchpoints.is_some() {
                b.touchpoints.num_rows() as u64
            } else {
                b.truth.users
            });
            out.write(Table::Touchpoints, &b.touchpoints)?;
            out.write(Table::Sessions, &b.sessions)?;
            out.write(Table::Customers, &b.customers)?;
            out.write(Table::Orders, &b.orders)?;
            out.write_extra("truth_conversions", &b.conversions)?;
            truth.merge(b.truth);
            Ok(sizes.min_touchpoints.is_none_or(|min| n_touch < min))
        },
    )?;

    progress.stage("campaign history and candidates", 0);
    let (revenue_model, candidates) = write_history_and_candidates(&w, &mut out)?;

    // Finish every file (each renamed into place atomically inside the temp folder).
    let mut rows = BTreeMap::new();
    let mut files = Vec::new();
    for (table, writer) in std::mem::take(&mut out.open) {
        rows.insert(table, writer.rows());
        let path = writer.finish()?;
        files.push(path.strip_prefix(dir).unwrap_or(&path).to_owned());
    }
    for (_, writer) in std::mem::take(&mut out.extra) {
        let path = writer.finish()?;
        files.push(path.strip_prefix(dir).unwrap_or(&path).to_owned());
    }
    let fmt = crate::io::format_timestamp_us;
    let truth = Truth {
        generator_version: GENERATOR_VERSION,
        scenario: params.scenario,
        seed: params.seed,
        sizes,
        campaigns_start: fmt(WORLD_START),
        campaigns_end: fmt(w.campaigns_end),
        observation_end: fmt(w.observation_end),
        baseline_hazard_per_day: BASELINE_PER_DAY,
        hazard: HAZARD
            .iter()
            .map(|h| HazardTruth {
                channel: h.channel,
                interaction: h.interaction,
                beta_per_day: h.beta_per_day,
                half_life_days: h.half_life_days,
                half_life_hours: h.half_life_days * 24.0,
                conversions_per_touch: h.conversions_per_touch(),
            })
            .collect(),
        base_bgnbd: BASE_BGNBD,
        base_gamma_gamma: BASE_GG,
        inflated_creator_ids: w
            .creators
            .iter()
            .filter(|c| c.truth.inflated)
            .map(|c| c.truth.creator_id.clone())
            .collect(),
        creators: w.creators.iter().map(|c| c.truth.clone()).collect(),
        bot_author_range: w.bot_range,
        conversions: truth,
        revenue_model,
        candidates,
        rows: rows.clone(),
        events: w.events.clone(),
        notes: vec![
            "truth_conversions.* has one row per first order: the touch (or the baseline) that caused it",
            "code touches are not in touchpoints: derive them from orders.discount_code and tracking_assets",
            "creator clicks appear both as touchpoints and as sessions (same user_id and timestamp)",
            "comments is a sample of each post's comments; posts.comments is the platform's full count",
            "money is USD; gross_margin is an amount; hazards are per day; BG/NBD rates are per week; sBG periods are 30 days",
        ],
    };
    let json = serde_json::to_vec_pretty(&truth).expect("truth serialises");
    write_bytes_atomic(&dir.join("truth.json"), &json)?;
    files.push(PathBuf::from("truth.json"));
    files.sort();
    Ok(GenerateSummary { out: dir.to_owned(), rows, files })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hazard_components_cover_every_touch_the_generator_makes() {
        for (c, i) in [
            ("creator", "impression"),
            ("creator", "view"),
            ("creator", "click"),
            ("paid_social", "impression"),
            ("paid_social", "click"),
            ("search", "click"),
            ("email", "click"),
            ("affiliate", "click"),
            ("direct", "click"),
        ] {
            let h = hazard_of(c, i);
            assert!(h.beta_per_day > 0.0 && h.half_life_days > 0.0);
        }
    }

    #[test]
    fn world_start_is_monday_6_january_2025() {
        assert_eq!(crate::io::format_timestamp_us(WORLD_START), "2025-01-06T00:00:00Z");
        assert_eq!(crate::io::format_timestamp_us(HISTORY_START), "2023-01-02T00:00:00Z");
    }
}
