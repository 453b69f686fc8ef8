//! Engagement quality, authenticity, traffic quality and earned media value: the
//! formulas, each small enough to check by hand (see `docs/engagement.md`).
//!
//! Conventions: a metric a platform does not report is `None`, never 0; a ratio whose
//! denominator is missing or 0 is `None`; every 0–100 score is a weighted mean of
//! components in [0, 1] over the components that exist, times 100.

use serde::{Deserialize, Serialize};

/// A post's counters as reported (null = not reported by the platform).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PostCounts {
    /// Followers of the account when exported.
    pub followers: f64,
    /// Times shown.
    pub impressions: Option<f64>,
    /// Distinct accounts reached.
    pub reach: Option<f64>,
    /// Video views.
    pub views: Option<f64>,
    /// Views past the platform's engagement threshold.
    pub engaged_views: Option<f64>,
    /// Likes; `None` where the platform hides them (YouTube creators may).
    pub likes: Option<f64>,
    /// Comments; `None` where not reported.
    pub comments: Option<f64>,
    /// Shares.
    pub shares: Option<f64>,
    /// Saves.
    pub saves: Option<f64>,
    /// Link clicks.
    pub link_clicks: Option<f64>,
}

impl PostCounts {
    /// Interactions: likes + comments + shares + saves, over the ones reported.
    #[must_use]
    pub fn interactions(&self) -> f64 {
        self.likes.unwrap_or(0.0)
            + self.comments.unwrap_or(0.0)
            + self.shares.unwrap_or(0.0)
            + self.saves.unwrap_or(0.0)
    }
}

/// Creator tier by followers shown: nano < 10 k ≤ micro < 100 k ≤ mid < 500 k ≤ macro
/// < 1 M ≤ mega (the industry's usual cut points).
#[must_use]
pub fn tier(followers: f64) -> &'static str {
    match followers {
        f if f < 10_000.0 => "nano",
        f if f < 100_000.0 => "micro",
        f if f < 500_000.0 => "mid",
        f if f < 1_000_000.0 => "macro",
        _ => "mega",
    }
}

/// `num / den`, or `None` when the denominator is missing or not positive.
#[must_use]
pub fn ratio(num: f64, den: Option<f64>) -> Option<f64> {
    den.filter(|d| *d > 0.0).map(|d| num / d)
}

/// Engagement rates in the three common definitions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EngagementRates {
    /// Interactions / followers.
    pub by_followers: Option<f64>,
    /// Interactions / reach.
    pub by_reach: Option<f64>,
    /// Interactions / views.
    pub by_views: Option<f64>,
}

/// The three engagement rates of a post.
#[must_use]
pub fn engagement_rates(c: &PostCounts) -> EngagementRates {
    let i = c.interactions();
    EngagementRates {
        by_followers: ratio(i, Some(c.followers)),
        by_reach: ratio(i, c.reach),
        by_views: ratio(i, c.views),
    }
}

pub use crate::stats::median;

/// How a comment counts for engagement quality.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CommentKind {
    /// Says something: ≥ 4 words, a question, a reply, or a product/brand mention — and
    /// is not a copy.
    Meaningful,
    /// Short generic praise ("nice", "love it 🔥").
    Generic,
    /// Only emoji (and punctuation).
    EmojiOnly,
    /// Only @mentions (tagging a friend).
    MentionOnly,
    /// The same text appears at least [`DUPLICATE_MIN`] times in the data.
    Duplicate,
}

/// A text seen this many times (normalised) counts as duplicated.
pub const DUPLICATE_MIN: u32 = 5;

/// Lower-cased words of a comment (letters, digits, apostrophes), without mentions.
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| c.is_whitespace() || (c.is_ascii_punctuation() && c != '\'' && c != '@'))
        .filter(|w| !w.is_empty() && !w.starts_with('@') && w.chars().any(char::is_alphanumeric))
}

/// The normalised form used to find duplicates: lower case, words only.
#[must_use]
pub fn normalise(text: &str) -> String {
    let mut out = String::new();
    for w in words(text) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(w.chars().flat_map(char::to_lowercase));
    }
    if out.is_empty() {
        // Emoji-only texts: keep the symbols so identical emoji strings are duplicates.
        out.extend(text.chars().filter(|c| !c.is_whitespace()));
    }
    out
}

/// Classifies a comment. `copies`: how often its normalised text occurs in the data;
/// `product_words`: lower-case brand and product words that make a comment specific.
#[must_use]
pub fn classify_comment(text: &str, is_reply: bool, copies: u32, product_words: &[String]) -> CommentKind {
    with_copies(comment_base(text, is_reply, product_words), copies)
}

/// What [`classify_comment`] decides from the comment alone, before its copies are
/// counted: `EmojiOnly`, `MentionOnly`, `Meaningful` or `Generic` (a job that counts
/// copies over several partitions keeps this and finishes with [`with_copies`]).
#[must_use]
pub fn comment_base(text: &str, is_reply: bool, product_words: &[String]) -> CommentKind {
    let has_mention = text.split_whitespace().any(|w| w.starts_with('@') && w.len() > 1);
    let ws: Vec<String> = words(text).map(str::to_lowercase).collect();
    if ws.is_empty() {
        return if has_mention { CommentKind::MentionOnly } else { CommentKind::EmojiOnly };
    }
    let question = text.contains('?');
    let product = ws.iter().any(|w| product_words.iter().any(|p| p == w));
    if is_reply || question || product || ws.len() >= 4 { CommentKind::Meaningful } else { CommentKind::Generic }
}

/// The kind of a comment whose [`comment_base`] is `base` and whose normalised text
/// occurs `copies` times: a text with words seen [`DUPLICATE_MIN`] times or more is a
/// `Duplicate`; emoji-only and mention-only comments stay what they are.
#[must_use]
pub fn with_copies(base: CommentKind, copies: u32) -> CommentKind {
    match base {
        CommentKind::EmojiOnly | CommentKind::MentionOnly => base,
        _ if copies >= DUPLICATE_MIN => CommentKind::Duplicate,
        _ => base,
    }
}

/// Components of the engagement-quality score (each in [0, 1], `None` = no data).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct QualityComponents {
    /// Share of meaningful comments among the comments seen.
    pub meaningful: Option<f64>,
    /// (positive share − negative share + 1) / 2 of the comments seen.
    pub sentiment: Option<f64>,
    /// min(1, (shares + saves) / (0.10 × likes)): saves and shares count above likes.
    pub depth: Option<f64>,
    /// min(1, engagement rate by followers / (2 × benchmark)).
    pub relative: Option<f64>,
}

/// Weights of the quality components: meaningful, sentiment, depth, relative.
pub const QUALITY_WEIGHTS: [f64; 4] = [0.35, 0.20, 0.25, 0.20];

/// `100 × Σ wᵢ cᵢ / Σ wᵢ` over the components present; `None` if none is.
#[must_use]
pub fn weighted_score(components: &[Option<f64>], weights: &[f64]) -> Option<f64> {
    let (mut num, mut den) = (0.0, 0.0);
    for (c, w) in components.iter().zip(weights) {
        if let Some(c) = c {
            num += w * c.clamp(0.0, 1.0);
            den += w;
        }
    }
    (den > 0.0).then(|| 100.0 * num / den)
}

/// The quality components of a post or creator.
#[must_use]
pub fn quality_components(
    c: &PostCounts,
    meaningful_share: Option<f64>,
    positive_share: Option<f64>,
    negative_share: Option<f64>,
    er_relative: Option<f64>,
) -> QualityComponents {
    let depth = match (c.shares, c.saves) {
        (None, None) => None,
        (s, v) => ratio(s.unwrap_or(0.0) + v.unwrap_or(0.0), c.likes.map(|l| 0.10 * l)).map(|x| x.min(1.0)),
    };
    QualityComponents {
        meaningful: meaningful_share,
        sentiment: positive_share.zip(negative_share).map(|(p, n)| f64::midpoint(p - n, 1.0)),
        depth,
        relative: er_relative.map(|r| (r / 2.0).min(1.0)),
    }
}

impl QualityComponents {
    /// The 0–100 engagement-quality score.
    #[must_use]
    pub fn score(&self) -> Option<f64> {
        weighted_score(&[self.meaningful, self.sentiment, self.depth, self.relative], &QUALITY_WEIGHTS)
    }
}

/// One authenticity signal: its measured value, its strength in [0, 1] and whether it fired.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Signal {
    /// Signal name.
    pub name: &'static str,
    /// The measured value (`None` = not measurable from the data).
    pub value: Option<f64>,
    /// Strength in [0, 1].
    pub strength: f64,
}

/// A signal fires at this strength.
pub const SIGNAL_FIRES: f64 = 0.5;

/// Measured inputs of the authenticity score of one creator account.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct AuthenticityInputs {
    /// Median over posts of ER by followers ÷ its (platform, tier, format) benchmark.
    pub er_relative: Option<f64>,
    /// Median likes/comments ÷ the benchmark's.
    pub likes_per_comment_relative: Option<f64>,
    /// Median likes/views ÷ the benchmark's (posts with views only).
    pub likes_per_view_relative: Option<f64>,
    /// Median over posts of (share of final likes at the first snapshot − the same share
    /// of comments): bought likes arrive at once, comments do not.
    pub first_snapshot_like_lead: Option<f64>,
    /// Accounts followed.
    pub following: Option<f64>,
    /// Share of the account's comments written by authors who comment on at least
    /// [`CROSS_CREATOR_AUTHORS`] distinct creators.
    pub cross_creator_author_share: Option<f64>,
    /// Share of the account's comments pasted: the same author posting the same
    /// (normalised) text more than once in the data.
    pub duplicate_share: Option<f64>,
}

/// Comment shares of an account are shrunk toward 0 with this many clean pseudo-comments.
pub const PRIOR_COMMENTS: f64 = 10.0;

/// An author active on this many creators looks like a pod or a bot.
pub const CROSS_CREATOR_AUTHORS: usize = 5;

/// `clamp((x − lo) / (hi − lo), 0, 1)`.
#[must_use]
pub fn ramp(x: f64, lo: f64, hi: f64) -> f64 {
    ((x - lo) / (hi - lo)).clamp(0.0, 1.0)
}

/// Signal weights, in [`authenticity_signals`] order.
pub const AUTHENTICITY_WEIGHTS: [f64; 7] = [0.10, 0.05, 0.15, 0.20, 0.15, 0.30, 0.05];

/// The signals of one account, each with its strength (documented ramps).
#[must_use]
pub fn authenticity_signals(x: &AuthenticityInputs) -> [Signal; 7] {
    let s = |name, value: Option<f64>, lo, hi| Signal { name, value, strength: value.map_or(0.0, |v| ramp(v, lo, hi)) };
    [
        s("engagement_far_above_benchmark", x.er_relative, 2.0, 5.0),
        s("likes_per_comment_out_of_range", x.likes_per_comment_relative, 2.0, 4.0),
        s("likes_per_view_out_of_range", x.likes_per_view_relative, 1.5, 3.0),
        s("first_snapshot_like_burst", x.first_snapshot_like_lead, 0.10, 0.35),
        s("high_following", x.following, 1_500.0, 4_000.0),
        s("cross_creator_commenters", x.cross_creator_author_share, 0.15, 0.45),
        s("pasted_comments", x.duplicate_share, 0.10, 0.40),
    ]
}

/// Audience-quality score: `100 × (1 − Σ wᵢ sᵢ / Σ wᵢ)` over the measurable signals.
#[must_use]
pub fn audience_quality(signals: &[Signal]) -> f64 {
    let (mut num, mut den) = (0.0, 0.0);
    for (s, w) in signals.iter().zip(AUTHENTICITY_WEIGHTS) {
        if s.value.is_some() {
            num += w * s.strength;
            den += w;
        }
    }
    if den > 0.0 { 100.0 * (1.0 - num / den) } else { 100.0 }
}

/// An account is flagged as having bought or pod engagement when at least two signals
/// fire, or its audience quality falls below [`FLAG_BELOW`].
pub const FLAG_BELOW: f64 = 60.0;

/// Whether the signals flag the account.
#[must_use]
pub fn flagged(signals: &[Signal]) -> bool {
    signals.iter().filter(|s| s.strength >= SIGNAL_FIRES).count() >= 2 || audience_quality(signals) < FLAG_BELOW
}

/// Traffic a creator sent, from sessions matched to their tracking assets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Traffic {
    /// Sessions.
    pub sessions: u64,
    /// Bounced sessions.
    pub bounced: u64,
    /// Total duration, seconds.
    pub duration_s: f64,
    /// Total pageviews.
    pub pageviews: u64,
    /// Sessions followed by an order of the same user within the conversion window.
    pub converted: u64,
}

impl Traffic {
    /// Bounce rate.
    #[must_use]
    pub fn bounce_rate(&self) -> Option<f64> {
        ratio(self.bounced as f64, Some(self.sessions as f64))
    }
    /// Mean session duration, seconds.
    #[must_use]
    pub fn mean_duration_s(&self) -> Option<f64> {
        ratio(self.duration_s, Some(self.sessions as f64))
    }
    /// Mean pages per session.
    #[must_use]
    pub fn pages_per_session(&self) -> Option<f64> {
        ratio(self.pageviews as f64, Some(self.sessions as f64))
    }
    /// Share of sessions that converted.
    #[must_use]
    pub fn conversion_rate(&self) -> Option<f64> {
        ratio(self.converted as f64, Some(self.sessions as f64))
    }
    /// Traffic-quality index 0–100: the mean of 1 − bounce rate, min(1, duration / 180 s),
    /// min(1, (pages − 1) / 3) and min(1, conversion rate / 3 %).
    #[must_use]
    pub fn quality_index(&self) -> Option<f64> {
        let c = [
            self.bounce_rate().map(|b| 1.0 - b),
            self.mean_duration_s().map(|d| d / 180.0),
            self.pages_per_session().map(|p| (p - 1.0) / 3.0),
            self.conversion_rate().map(|r| r / 0.03),
        ];
        weighted_score(&c, &[1.0; 4])
    }
}

// ---------------------------------------------------------------------------------------
// Earned media value

/// One rate of the EMV rate card.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rate {
    /// Platform (instagram / tiktok / youtube / other).
    pub platform: String,
    /// Action: `impressions_per_1000`, `views_per_1000`, likes, comments, shares, saves, clicks.
    pub action: String,
    /// Value in `currency` per action (per 1,000 for the `_per_1000` actions).
    pub value: f64,
    /// Where the number comes from, or the stated assumption.
    pub source: String,
}

/// A versioned EMV rate card.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RateCard {
    /// Version label, recorded in every output.
    pub version: String,
    /// Currency of the values.
    pub currency: String,
    /// The rates.
    pub rates: Vec<Rate>,
}

/// The actions a rate card prices.
pub const EMV_ACTIONS: [&str; 7] =
    ["impressions_per_1000", "views_per_1000", "likes", "comments", "shares", "saves", "clicks"];

/// The default rate card (CSV, shipped in the binary; see `docs/engagement.md`).
pub const DEFAULT_RATE_CARD_CSV: &str = include_str!("../assets/emv/rate_card_2026_1.csv");

impl RateCard {
    /// Parses a rate-card CSV: `platform,action,value,source` with a header, optional
    /// `# version: …` and `# currency: …` comment lines first. Errors name the line.
    pub fn parse(text: &str, origin: &str) -> Result<RateCard, String> {
        let mut version = None;
        let mut currency = None;
        for line in text.lines() {
            if let Some(c) = line.trim().strip_prefix('#') {
                if let Some(v) = c.trim().strip_prefix("version:") {
                    version = Some(v.trim().to_owned());
                } else if let Some(v) = c.trim().strip_prefix("currency:") {
                    currency = Some(v.trim().to_owned());
                }
            }
        }
        // The rows are CSV proper (quoted sources may hold commas); `#` lines are comments.
        let mut reader = csv::ReaderBuilder::new()
            .comment(Some(b'#'))
            .trim(csv::Trim::All)
            .flexible(true)
            .from_reader(text.as_bytes());
        let line_of = |p: Option<&csv::Position>| p.map_or(0, csv::Position::line);
        let header = reader.headers().map_err(|e| format!("{origin}: {e}"))?.clone();
        if header.iter().collect::<Vec<_>>() != ["platform", "action", "value", "source"] {
            return Err(format!(
                "{origin}: line {}: expected the header `platform,action,value,source`",
                line_of(header.position())
            ));
        }
        let mut rates = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|e| format!("{origin}: {e}"))?;
            let row = line_of(record.position());
            if record.len() < 3 || record.len() > 4 {
                return Err(format!(
                    "{origin}: line {row}: expected platform,action,value,source, found {} fields",
                    record.len()
                ));
            }
            let action = &record[1];
            if !EMV_ACTIONS.contains(&action) {
                return Err(format!(
                    "{origin}: line {row}, column action: `{action}` is not one of {}",
                    EMV_ACTIONS.join(", ")
                ));
            }
            let value: f64 =
                record[2].parse().ok().filter(|v: &f64| v.is_finite() && *v >= 0.0).ok_or_else(|| {
                    format!("{origin}: line {row}, column value: `{}` is not a number >= 0", &record[2])
                })?;
            let platform = record[0].to_owned();
            if rates.iter().any(|r: &Rate| r.platform == platform && r.action == action) {
                return Err(format!("{origin}: line {row}: a second rate for {platform} / {action}"));
            }
            rates.push(Rate {
                platform,
                action: action.to_owned(),
                value,
                source: record.get(3).unwrap_or("").to_owned(),
            });
        }
        let currency = currency.ok_or_else(|| format!("{origin}: missing the `# currency: XXX` line"))?;
        Ok(RateCard { version: version.unwrap_or_else(|| origin.to_owned()), currency, rates })
    }

    /// The embedded default card.
    #[must_use]
    pub fn default_card() -> RateCard {
        RateCard::parse(DEFAULT_RATE_CARD_CSV, "default rate card").expect("the shipped rate card parses")
    }

    /// The rate of `action` on `platform` (falling back to platform `other`), or 0.
    #[must_use]
    pub fn rate(&self, platform: &str, action: &str) -> f64 {
        let find = |p: &str| self.rates.iter().find(|r| r.platform == p && r.action == action).map(|r| r.value);
        find(platform).or_else(|| find("other")).unwrap_or(0.0)
    }

    /// EMV of one post's counts, discounted by `authentic` (the authentic share, in
    /// [0, 1]). Exposure is priced on impressions when reported, else on views — never
    /// both, so a view is not paid twice.
    #[must_use]
    pub fn emv(&self, platform: &str, c: &PostCounts, authentic: f64) -> f64 {
        let exposure = match (c.impressions, c.views) {
            (Some(i), _) => self.rate(platform, "impressions_per_1000") * i / 1000.0,
            (None, Some(v)) => self.rate(platform, "views_per_1000") * v / 1000.0,
            (None, None) => 0.0,
        };
        let actions = self.rate(platform, "likes") * c.likes.unwrap_or(0.0)
            + self.rate(platform, "comments") * c.comments.unwrap_or(0.0)
            + self.rate(platform, "shares") * c.shares.unwrap_or(0.0)
            + self.rate(platform, "saves") * c.saves.unwrap_or(0.0)
            + self.rate(platform, "clicks") * c.link_clicks.unwrap_or(0.0);
        (exposure + actions) * authentic.clamp(0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post() -> PostCounts {
        PostCounts {
            followers: 10_000.0,
            impressions: None,
            reach: Some(4_000.0),
            views: None,
            engaged_views: None,
            likes: Some(400.0),
            comments: Some(50.0),
            shares: Some(30.0),
            saves: None,
            link_clicks: Some(20.0),
        }
    }

    #[test]
    fn engagement_rates_by_hand() {
        let p = post();
        // interactions = 400 + 50 + 30 (+ saves not reported) = 480
        let r = engagement_rates(&p);
        assert_eq!(r.by_followers, Some(0.048));
        assert_eq!(r.by_reach, Some(0.12));
        assert_eq!(r.by_views, None, "views not reported: no rate, not zero");
    }

    #[test]
    fn quality_score_by_hand() {
        let p = post();
        // meaningful 0.5; sentiment (0.6 − 0.1 + 1) / 2 = 0.75; depth min(1, 30 / 40) = 0.75;
        // relative min(1, 1.5 / 2) = 0.75.
        let q = quality_components(&p, Some(0.5), Some(0.6), Some(0.1), Some(1.5));
        assert_eq!(q.sentiment, Some(0.75));
        assert_eq!(q.depth, Some(0.75));
        assert_eq!(q.relative, Some(0.75));
        // 100 × (0.35·0.5 + 0.20·0.75 + 0.25·0.75 + 0.20·0.75) / 1.0 = 66.25
        assert!((q.score().unwrap() - 66.25).abs() < 1e-9);
        // Without comments the meaningful and sentiment parts drop out of the weights:
        // 100 × (0.25·0.75 + 0.20·0.75) / 0.45 = 75.
        let q = quality_components(&p, None, None, None, Some(1.5));
        assert!((q.score().unwrap() - 75.0).abs() < 1e-9);
    }

    #[test]
    fn comment_classes() {
        let brand = vec!["glowly".to_owned(), "serum".to_owned()];
        assert_eq!(classify_comment("🔥🔥🔥", false, 1, &brand), CommentKind::EmojiOnly);
        assert_eq!(classify_comment("@jess @tom", false, 1, &brand), CommentKind::MentionOnly);
        assert_eq!(classify_comment("nice 🔥", false, 1, &brand), CommentKind::Generic);
        assert_eq!(classify_comment("nice 🔥", false, 9, &brand), CommentKind::Duplicate);
        assert_eq!(classify_comment("is it vegan?", false, 1, &brand), CommentKind::Meaningful);
        assert_eq!(classify_comment("the serum!!", false, 1, &brand), CommentKind::Meaningful);
        assert_eq!(classify_comment("so true", true, 1, &brand), CommentKind::Meaningful);
        assert_eq!(classify_comment("this changed my whole routine", false, 1, &brand), CommentKind::Meaningful);
        // The base kind and the copies give the same answer in two steps.
        for (text, reply) in [("🔥🔥🔥", false), ("@jess @tom", false), ("nice 🔥", false), ("so true", true)] {
            for copies in [1, DUPLICATE_MIN - 1, DUPLICATE_MIN, 40] {
                assert_eq!(
                    with_copies(comment_base(text, reply, &brand), copies),
                    classify_comment(text, reply, copies, &brand)
                );
            }
        }
        assert_eq!(
            classify_comment("🔥🔥🔥", false, 9, &brand),
            CommentKind::EmojiOnly,
            "emoji copies stay emoji-only"
        );
        assert_eq!(normalise("Nice!! 🔥 @bob"), "nice");
    }

    #[test]
    fn authenticity_by_hand() {
        let clean = AuthenticityInputs {
            er_relative: Some(1.0),
            likes_per_comment_relative: Some(1.0),
            likes_per_view_relative: Some(1.0),
            first_snapshot_like_lead: Some(0.0),
            following: Some(500.0),
            cross_creator_author_share: Some(0.0),
            duplicate_share: Some(0.1),
        };
        let s = authenticity_signals(&clean);
        assert_eq!(audience_quality(&s), 100.0);
        assert!(!flagged(&s));
        // A like burst of 0.35 (strength 1) and following 2,750 (strength 0.5):
        // 100 × (1 − (0.20·1 + 0.15·0.5) / 1.0) = 72.5; two signals fire → flagged.
        let bought = AuthenticityInputs { first_snapshot_like_lead: Some(0.35), following: Some(2_750.0), ..clean };
        let s = authenticity_signals(&bought);
        assert!((audience_quality(&s) - 72.5).abs() < 1e-9);
        assert!(flagged(&s));
        // Unmeasurable signals leave the weights: only the burst measured.
        let only = AuthenticityInputs { first_snapshot_like_lead: Some(0.225), ..AuthenticityInputs::default() };
        assert!((audience_quality(&authenticity_signals(&only)) - 50.0).abs() < 1e-9);
    }

    #[test]
    fn traffic_quality_by_hand() {
        let t = Traffic { sessions: 100, bounced: 40, duration_s: 9_000.0, pageviews: 250, converted: 2 };
        // 1 − 0.4 = 0.6; 90 / 180 = 0.5; (2.5 − 1) / 3 = 0.5; 0.02 / 0.03 = 0.667
        let want = 100.0 * (0.6 + 0.5 + 0.5 + 2.0 / 3.0) / 4.0;
        assert!((t.quality_index().unwrap() - want).abs() < 1e-9);
        assert_eq!(Traffic::default().quality_index(), None);
    }

    #[test]
    fn emv_by_hand_and_card_errors() {
        let card = RateCard::parse(
            "# version: test-1\n# currency: USD\nplatform,action,value,source\ninstagram,impressions_per_1000,5,a\n\
             instagram,views_per_1000,3,a\ninstagram,likes,0.1,b\nother,comments,1,c\n",
            "card.csv",
        )
        .unwrap();
        let mut p = post();
        // no impressions, no views: exposure 0; 400 likes × 0.1 + 50 comments × 1 (other) = 90
        assert!((card.emv("instagram", &p, 1.0) - 90.0).abs() < 1e-9);
        p.views = Some(10_000.0);
        p.impressions = Some(20_000.0);
        // impressions win over views: 20 × 5 = 100; + 90 = 190; at 50 % authentic = 95
        assert!((card.emv("instagram", &p, 0.5) - 95.0).abs() < 1e-9);
        assert!(
            RateCard::parse("# currency: USD\nplatform,action,value,source\nx,hugs,1,\n", "c")
                .unwrap_err()
                .contains("line 3")
        );
        assert!(RateCard::parse("platform,action,value,source\n", "c").unwrap_err().contains("currency"));
        let d = RateCard::default_card();
        assert!(d.rates.iter().all(|r| !r.source.is_empty()), "every default rate states its source");
    }

    #[test]
    fn rate_card_rows_are_csv_with_quoted_commas_and_line_numbers() {
        let text = "# version: t-1\n# currency: EUR\nplatform,action,value,source\n\
                    instagram,likes,0.1,\"assumption: CPE 0.05, 0.10 or more\"\n\
                    tiktok,likes,x,\"a\"\n";
        let e = RateCard::parse(text, "card.csv").unwrap_err();
        assert_eq!(e, "card.csv: line 5, column value: `x` is not a number >= 0");
        let ok = RateCard::parse(&text.replace(",x,", ",0.2,"), "card.csv").unwrap();
        assert_eq!(ok.currency, "EUR");
        assert_eq!(ok.rates[0].source, "assumption: CPE 0.05, 0.10 or more");
        assert_eq!(ok.rates[1].value, 0.2);
        let e = RateCard::parse("# currency: USD\nplatform,action,value\n", "c").unwrap_err();
        assert!(e.contains("expected the header"), "{e}");
    }
}
