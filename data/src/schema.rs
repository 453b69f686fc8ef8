//! The canonical tables: every table, column, type, nullability, allowed values and
//! reference, named once.
//!
//! Everything else in roicast (readers, the validator, the generator, the docs in
//! `docs/data-contract.md`) is derived from [`Table::spec`]; a test checks that the
//! committed docs equal [`markdown`], so the two cannot drift.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use serde::{Deserialize, Serialize};

/// The physical and logical type of a canonical column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// UTF-8 text (`Utf8`).
    Text,
    /// 64-bit signed integer (`Int64`).
    Int,
    /// 64-bit float (`Float64`).
    Float,
    /// Boolean (`Boolean`).
    Bool,
    /// UTC instant with microsecond precision (`Timestamp(us, "UTC")`); RFC 3339 in CSV.
    Timestamp,
}

impl Kind {
    /// The Arrow type a column of this kind has once read.
    #[must_use]
    pub fn data_type(self) -> DataType {
        match self {
            Kind::Text => DataType::Utf8,
            Kind::Int => DataType::Int64,
            Kind::Float => DataType::Float64,
            Kind::Bool => DataType::Boolean,
            Kind::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some(UTC.into())),
        }
    }

    /// A short name for messages and docs.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Kind::Text => "text",
            Kind::Int => "integer",
            Kind::Float => "float",
            Kind::Bool => "boolean",
            Kind::Timestamp => "timestamp",
        }
    }
}

/// The time zone every canonical timestamp carries.
pub const UTC: &str = "UTC";

/// A per-value rule a column's non-null values must satisfy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// No rule beyond the type.
    Any,
    /// One of a fixed set of lowercase values.
    OneOf(&'static [&'static str]),
    /// A finite number ≥ 0.
    NonNegative,
    /// A finite number (NaN and ±∞ rejected).
    Finite,
    /// A finite number in `[0, 1]`.
    UnitInterval,
    /// A score on the 0–100 scale vendors present (audience quality); a value strictly
    /// between 0 and 1 is refused as a probable 0–1 fraction.
    Score100,
    /// An ISO-4217 code: three uppercase ASCII letters.
    Currency,
    /// A tier table in JSON: `[{"up_to": 10000, "rate": 0.10}, {"up_to": null, "rate": 0.15}]`
    /// with increasing `up_to`, rates in `[0, 1]`, and only the last tier open (`null`).
    Tiers,
    /// Text that must not be empty.
    NonEmpty,
}

impl Rule {
    /// A one-line description for docs.
    #[must_use]
    pub fn describe(self) -> String {
        match self {
            Rule::Any => String::new(),
            Rule::OneOf(values) => format!("one of {}", values.join(" / ")),
            Rule::NonNegative => "finite, ≥ 0".to_owned(),
            Rule::Finite => "finite".to_owned(),
            Rule::UnitInterval => "finite, in [0, 1]".to_owned(),
            Rule::Score100 => "finite, in [0, 100] (not a 0–1 fraction)".to_owned(),
            Rule::Currency => "ISO-4217 code (3 uppercase letters)".to_owned(),
            Rule::Tiers => "JSON tier table".to_owned(),
            Rule::NonEmpty => "not empty".to_owned(),
        }
    }
}

/// One column of a canonical table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnSpec {
    /// `snake_case` column name.
    pub name: &'static str,
    /// Its type.
    pub kind: Kind,
    /// Whether nulls are allowed.
    pub nullable: bool,
    /// The rule every non-null value satisfies.
    pub rule: Rule,
    /// A foreign key: the table and column every non-null value must exist in.
    pub references: Option<(Table, &'static str)>,
    /// What the column means, for users.
    pub doc: &'static str,
}

/// One canonical table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableSpec {
    /// The table.
    pub table: Table,
    /// The columns forming the unique key.
    pub key: &'static [&'static str],
    /// The canonical columns, in order. Extra columns in a file pass through.
    pub columns: &'static [ColumnSpec],
    /// What one row is.
    pub doc: &'static str,
}

impl TableSpec {
    /// The column named `name`, if canonical.
    #[must_use]
    pub fn column(&self, name: &str) -> Option<&'static ColumnSpec> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The index of the column named `name`, if canonical.
    #[must_use]
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// The Arrow schema of the canonical columns.
    #[must_use]
    pub fn arrow_schema(&self) -> SchemaRef {
        Arc::new(Schema::new(
            self.columns.iter().map(|c| Field::new(c.name, c.kind.data_type(), c.nullable)).collect::<Vec<_>>(),
        ))
    }
}

macro_rules! tables {
    ($($variant:ident => $name:literal),+ $(,)?) => {
        /// A canonical table of the data contract.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum Table { $(
            #[doc = concat!("The `", $name, "` table.")]
            $variant,
        )+ }

        impl Table {
            /// Every table, in dependency order (referenced tables first).
            pub const ALL: &'static [Table] = &[$(Table::$variant),+];

            /// The table's file stem, e.g. `post_snapshots`.
            #[must_use]
            pub fn name(self) -> &'static str {
                match self { $(Table::$variant => $name,)+ }
            }
        }
    };
}

tables! {
    Creators => "creators",
    Campaigns => "campaigns",
    Posts => "posts",
    PostSnapshots => "post_snapshots",
    Comments => "comments",
    TrackingAssets => "tracking_assets",
    Sessions => "sessions",
    Touchpoints => "touchpoints",
    Customers => "customers",
    Orders => "orders",
    Costs => "costs",
    CampaignHistory => "campaign_history",
    Candidates => "candidates",
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Table {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Table::ALL.iter().copied().find(|t| t.name() == s).ok_or_else(|| {
            format!(
                "unknown table `{s}`: expected one of {}",
                Table::ALL.iter().map(|t| t.name()).collect::<Vec<_>>().join(", ")
            )
        })
    }
}

/// Platforms a post or account lives on.
pub const PLATFORMS: &[&str] = &["instagram", "tiktok", "youtube", "other"];
/// Post formats.
pub const FORMATS: &[&str] = &["reel", "story", "short", "video", "image", "carousel", "live", "other"];
/// Campaign objectives.
pub const OBJECTIVES: &[&str] = &["awareness", "consideration", "conversion"];
/// Comment sentiment labels.
pub const LABELS: &[&str] = &["positive", "negative", "neutral"];
/// Ways a creator's traffic or sales are tracked.
pub const ASSET_METHODS: &[&str] = &["utm", "promo_code", "affiliate_link", "pixel"];
/// Marketing channels.
pub const CHANNELS: &[&str] = &["creator", "paid_social", "search", "email", "affiliate", "direct", "other"];
/// Kinds of interaction a touchpoint records.
pub const INTERACTIONS: &[&str] = &["impression", "view", "click", "code"];
/// How a touchpoint was observed.
pub const TRACKING_METHODS: &[&str] = &["utm", "promo_code", "affiliate_link", "pixel", "platform_api"];
/// Cost types.
pub const COST_TYPES: &[&str] = &[
    "flat_fee",
    "commission",
    "tiered_commission",
    "per_conversion",
    "agency_fee",
    "production",
    "product_samples",
    "shipping",
    "tools",
    "other",
];
/// Cost statuses.
pub const COST_STATUSES: &[&str] = &["committed", "paid"];

const fn col(name: &'static str, kind: Kind, doc: &'static str) -> ColumnSpec {
    ColumnSpec { name, kind, nullable: false, rule: Rule::Any, references: None, doc }
}

impl ColumnSpec {
    const fn opt(mut self) -> Self {
        self.nullable = true;
        self
    }
    const fn rule(mut self, rule: Rule) -> Self {
        self.rule = rule;
        self
    }
    const fn refs(mut self, table: Table, column: &'static str) -> Self {
        self.references = Some((table, column));
        self
    }
}

use Kind::{Bool, Float, Int, Text, Timestamp as Ts};

const ID: Rule = Rule::NonEmpty;
const NN: Rule = Rule::NonNegative;

static CREATORS: &[ColumnSpec] = &[
    col("creator_id", Text, "creator id; one creator may have one row per platform").rule(ID),
    col("platform", Text, "platform of this account").rule(Rule::OneOf(PLATFORMS)),
    col("handle", Text, "account handle, without @").rule(ID),
    col("followers", Int, "followers at the time of export").rule(NN),
    col("following", Int, "accounts this account follows").opt().rule(NN),
    col("posts_count", Int, "posts published on the account").opt().rule(NN),
    col("account_created_at", Ts, "when the account was created").opt(),
    col("niche", Text, "content niche, e.g. beauty, fitness, gaming").opt(),
    col("country", Text, "main audience country, ISO-3166 alpha-2").opt(),
];

static CAMPAIGNS: &[ColumnSpec] = &[
    col("campaign_id", Text, "campaign id").rule(ID),
    col("name", Text, "campaign name"),
    col("brand", Text, "brand the campaign promotes").opt(),
    col("starts_at", Ts, "first day of the campaign"),
    col("ends_at", Ts, "last moment of the campaign; not before `starts_at`"),
    col("objective", Text, "campaign objective").opt().rule(Rule::OneOf(OBJECTIVES)),
    col("budget", Float, "planned spend, in `currency`").opt().rule(NN),
    col("currency", Text, "currency of `budget`").opt().rule(Rule::Currency),
];

static POSTS: &[ColumnSpec] = &[
    col("post_id", Text, "post id").rule(ID),
    col("creator_id", Text, "author").refs(Table::Creators, "creator_id"),
    col("campaign_id", Text, "campaign the post was paid for; null = organic")
        .opt()
        .refs(Table::Campaigns, "campaign_id"),
    col("platform", Text, "platform").rule(Rule::OneOf(PLATFORMS)),
    col("format", Text, "post format").rule(Rule::OneOf(FORMATS)),
    col("published_at", Ts, "publication time"),
    col("sponsored", Bool, "disclosed as paid partnership"),
    col("impressions", Int, "times shown (platform definition)").opt().rule(NN),
    col("reach", Int, "distinct accounts reached").opt().rule(NN),
    col("views", Int, "video views as the platform counts them; null where not reported").opt().rule(NN),
    col("engaged_views", Int, "views past the platform's engagement threshold (YouTube)").opt().rule(NN),
    col("likes", Int, "likes; null where the platform hides them; not above `views`").opt().rule(NN),
    col("comments", Int, "comment count shown by the platform; null where not reported").opt().rule(NN),
    col("shares", Int, "shares / reposts").opt().rule(NN),
    col("saves", Int, "saves / bookmarks").opt().rule(NN),
    col("link_clicks", Int, "link clicks reported by the platform").opt().rule(NN),
    col("watch_time_s", Float, "total watch time in seconds").opt().rule(NN),
];

static POST_SNAPSHOTS: &[ColumnSpec] = &[
    col("post_id", Text, "the observed post").refs(Table::Posts, "post_id"),
    col("observed_at", Ts, "when the counters were read"),
    col("views", Int, "cumulative views").opt().rule(NN),
    col("likes", Int, "cumulative likes").opt().rule(NN),
    col("comments", Int, "cumulative comments").opt().rule(NN),
    col("shares", Int, "cumulative shares").opt().rule(NN),
    col("saves", Int, "cumulative saves").opt().rule(NN),
];

static COMMENTS: &[ColumnSpec] = &[
    col("comment_id", Text, "comment id").rule(ID),
    col("post_id", Text, "post commented on").refs(Table::Posts, "post_id"),
    col("author_id", Text, "commenting account").opt(),
    col("text", Text, "comment text as written (emoji included)"),
    col("created_at", Ts, "when the comment was written"),
    col("likes", Int, "likes on the comment").opt().rule(NN),
    col("parent_comment_id", Text, "the comment this one replies to").opt().refs(Table::Comments, "comment_id"),
    col("label", Text, "human sentiment label (training data only)").opt().rule(Rule::OneOf(LABELS)),
];

static TRACKING_ASSETS: &[ColumnSpec] = &[
    col("asset_id", Text, "asset id").rule(ID),
    col("creator_id", Text, "creator the asset belongs to").refs(Table::Creators, "creator_id"),
    col("campaign_id", Text, "campaign the asset was issued for").opt().refs(Table::Campaigns, "campaign_id"),
    col("method", Text, "tracking method").rule(Rule::OneOf(ASSET_METHODS)),
    col("value", Text, "the promo code, the utm_content value or the affiliate link id").rule(ID),
];

static SESSIONS: &[ColumnSpec] = &[
    col("session_id", Text, "session id").rule(ID),
    col("user_id", Text, "visitor id (cookie or login)").rule(ID),
    col("started_at", Ts, "session start"),
    col("utm_source", Text, "utm_source of the landing URL").opt(),
    col("utm_medium", Text, "utm_medium of the landing URL").opt(),
    col("utm_campaign", Text, "utm_campaign of the landing URL").opt(),
    col("utm_content", Text, "utm_content of the landing URL").opt(),
    col("utm_term", Text, "utm_term of the landing URL").opt(),
    col("referrer", Text, "referring host").opt(),
    col("landing_page", Text, "landing path").opt(),
    col("duration_s", Float, "session duration in seconds").rule(NN),
    col("pageviews", Int, "pages viewed").rule(NN),
    col("bounced", Bool, "single-page session without interaction"),
];

static TOUCHPOINTS: &[ColumnSpec] = &[
    col("touch_id", Text, "touchpoint id").rule(ID),
    col("user_id", Text, "user touched").rule(ID),
    col("ts", Ts, "time of the touch"),
    col("channel", Text, "marketing channel; `creator` requires `creator_id`").rule(Rule::OneOf(CHANNELS)),
    col("creator_id", Text, "creator behind the touch").opt().refs(Table::Creators, "creator_id"),
    col("campaign_id", Text, "campaign behind the touch").opt().refs(Table::Campaigns, "campaign_id"),
    col("platform", Text, "platform of the touch").opt().rule(Rule::OneOf(PLATFORMS)),
    col("interaction", Text, "kind of interaction").rule(Rule::OneOf(INTERACTIONS)),
    col("tracking_method", Text, "how the touch was observed").opt().rule(Rule::OneOf(TRACKING_METHODS)),
];

static CUSTOMERS: &[ColumnSpec] = &[
    col("customer_id", Text, "customer id").rule(ID),
    col("acquired_at", Ts, "time of the first order"),
    col("acquisition_creator_id", Text, "creator credited with the acquisition by the brand's own records")
        .opt()
        .refs(Table::Creators, "creator_id"),
    col("acquisition_channel", Text, "channel credited with the acquisition").opt().rule(Rule::OneOf(CHANNELS)),
    col("subscription_started_at", Ts, "start of a subscription, if any").opt(),
    col("churned_at", Ts, "end of the subscription; null = still active (censored)").opt(),
];

static ORDERS: &[ColumnSpec] = &[
    col("order_id", Text, "order id").rule(ID),
    col("customer_id", Text, "buyer").refs(Table::Customers, "customer_id"),
    col("user_id", Text, "visitor id linking the order to touchpoints").opt(),
    col("ordered_at", Ts, "order time; not before the customer's `acquired_at`"),
    col("revenue", Float, "order revenue net of discounts and refunds (0 for a fully refunded order), in `currency`")
        .rule(NN),
    col("currency", Text, "currency of `revenue` and `gross_margin`").rule(Rule::Currency),
    col("discount_code", Text, "discount code used, matched against promo-code assets").opt(),
    col("gross_margin", Float, "gross margin of the order as an amount in `currency` (may be negative)")
        .opt()
        .rule(Rule::Finite),
    col("refunded", Bool, "order refunded").opt(),
];

static COSTS: &[ColumnSpec] = &[
    col("cost_id", Text, "cost line id").rule(ID),
    col("campaign_id", Text, "campaign the cost belongs to").refs(Table::Campaigns, "campaign_id"),
    col("creator_id", Text, "creator the cost belongs to; null = campaign-level")
        .opt()
        .refs(Table::Creators, "creator_id"),
    col("cost_type", Text, "what was paid for").rule(Rule::OneOf(COST_TYPES)),
    col("amount", Float, "amount in `currency` (flat costs, per-conversion payout, agency flat fee)").opt().rule(NN),
    col("rate", Float, "rate for commission / agency percentage costs").opt().rule(Rule::UnitInterval),
    col("tiers", Text, "tier table for tiered commissions").opt().rule(Rule::Tiers),
    col("currency", Text, "currency of `amount`").rule(Rule::Currency),
    col("incurred_at", Ts, "when the cost was incurred").opt(),
    col("status", Text, "committed or paid").opt().rule(Rule::OneOf(COST_STATUSES)),
];

static CAMPAIGN_HISTORY: &[ColumnSpec] = &[
    col("creator_id", Text, "creator").rule(ID),
    col("platform", Text, "platform").rule(Rule::OneOf(PLATFORMS)),
    col("started_at", Ts, "campaign start"),
    col("followers", Int, "followers at campaign start").rule(NN),
    col("posts", Int, "posts delivered").rule(NN),
    col("engagement_rate", Float, "engagement rate by followers, as a fraction").rule(NN),
    col("cost", Float, "total cost").rule(NN),
    col("revenue", Float, "attributed revenue").rule(NN),
    col("niche", Text, "content niche").opt(),
    col("country", Text, "audience country").opt(),
    col("format", Text, "main format").opt().rule(Rule::OneOf(FORMATS)),
    col("audience_quality", Float, "audience quality, 0 (bought) to 100 (authentic), the scorecard's scale")
        .opt()
        .rule(Rule::Score100),
    col("flat_fee", Float, "flat fee paid").opt().rule(NN),
    col("commission_rate", Float, "commission rate").opt().rule(Rule::UnitInterval),
    col("impressions", Int, "impressions delivered").opt().rule(NN),
    col("clicks", Int, "tracked clicks").opt().rule(NN),
    col("orders", Int, "attributed orders").opt().rule(NN),
];

static CANDIDATES: &[ColumnSpec] = &[
    col("creator_id", Text, "candidate creator").rule(ID),
    col("platform", Text, "platform").rule(Rule::OneOf(PLATFORMS)),
    col("followers", Int, "current followers").rule(NN),
    col("engagement_rate", Float, "engagement rate by followers, as a fraction").rule(NN),
    col("posts", Int, "planned posts").rule(NN),
    col("format", Text, "planned main format").rule(Rule::OneOf(FORMATS)),
    col("niche", Text, "content niche").opt(),
    col("country", Text, "audience country").opt(),
    col("audience_quality", Float, "audience quality, 0 to 100, the scorecard's scale").opt().rule(Rule::Score100),
    col("flat_fee", Float, "planned flat fee").opt().rule(NN),
    col("commission_rate", Float, "planned commission rate").opt().rule(Rule::UnitInterval),
    col("tiers", Text, "planned tiered commission").opt().rule(Rule::Tiers),
    col("handle", Text, "the candidate's account handle, for people to read").opt(),
];

impl Table {
    /// The table's canonical specification.
    #[must_use]
    pub fn spec(self) -> &'static TableSpec {
        static SPECS: &[TableSpec] = &[
            TableSpec {
                table: Table::Creators,
                key: &["creator_id", "platform"],
                columns: CREATORS,
                doc: "one creator account on one platform",
            },
            TableSpec { table: Table::Campaigns, key: &["campaign_id"], columns: CAMPAIGNS, doc: "one brand campaign" },
            TableSpec {
                table: Table::Posts,
                key: &["post_id"],
                columns: POSTS,
                doc: "one post with its final counters",
            },
            TableSpec {
                table: Table::PostSnapshots,
                key: &["post_id", "observed_at"],
                columns: POST_SNAPSHOTS,
                doc: "a post's cumulative counters at one moment (for velocity)",
            },
            TableSpec { table: Table::Comments, key: &["comment_id"], columns: COMMENTS, doc: "one comment on a post" },
            TableSpec {
                table: Table::TrackingAssets,
                key: &["asset_id"],
                columns: TRACKING_ASSETS,
                doc: "a UTM value, promo code, affiliate link or pixel issued to a creator",
            },
            TableSpec { table: Table::Sessions, key: &["session_id"], columns: SESSIONS, doc: "one website visit" },
            TableSpec {
                table: Table::Touchpoints,
                key: &["touch_id"],
                columns: TOUCHPOINTS,
                doc: "one marketing touch on one user",
            },
            TableSpec {
                table: Table::Customers,
                key: &["customer_id"],
                columns: CUSTOMERS,
                doc: "one customer, with how and when they were acquired",
            },
            TableSpec { table: Table::Orders, key: &["order_id"], columns: ORDERS, doc: "one order" },
            TableSpec { table: Table::Costs, key: &["cost_id"], columns: COSTS, doc: "one cost line of a campaign" },
            TableSpec {
                table: Table::CampaignHistory,
                key: &["creator_id", "platform", "started_at"],
                columns: CAMPAIGN_HISTORY,
                doc: "one past creator-campaign result (forecast training data)",
            },
            TableSpec {
                table: Table::Candidates,
                key: &["creator_id", "platform"],
                columns: CANDIDATES,
                doc: "one candidate creator with the planned deal (forecast input)",
            },
        ];
        let spec = &SPECS[self as usize];
        debug_assert_eq!(spec.table, self);
        spec
    }
}

/// The data contract as Markdown: the text of `docs/data-contract.md` below its header.
#[must_use]
pub fn markdown() -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for &table in Table::ALL {
        let spec = table.spec();
        let _ = writeln!(out, "## `{}`\n", table.name());
        let _ = writeln!(out, "One row: {}. Key: `{}`.\n", spec.doc, spec.key.join("`, `"));
        let _ = writeln!(out, "| column | type | null | rule | references | meaning |");
        let _ = writeln!(out, "|---|---|---|---|---|---|");
        for c in spec.columns {
            let refs = c.references.map(|(t, col)| format!("`{}.{}`", t.name(), col)).unwrap_or_default();
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} | {} | {} |",
                c.name,
                c.kind.name(),
                if c.nullable { "yes" } else { "no" },
                c.rule.describe(),
                refs,
                c.doc
            );
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_lookup_matches_table_order() {
        for &t in Table::ALL {
            assert_eq!(t.spec().table, t);
            assert_eq!(t.name().parse::<Table>().unwrap(), t);
        }
    }

    #[test]
    fn spec_keys_and_references_name_real_columns() {
        for &t in Table::ALL {
            let spec = t.spec();
            for k in spec.key {
                let c = spec.column(k).unwrap_or_else(|| panic!("{t}: key {k} is not a column"));
                assert!(!c.nullable, "{t}: key column {k} is nullable");
            }
            for c in spec.columns {
                if let Some((rt, rc)) = c.references {
                    assert!(rt.spec().column(rc).is_some(), "{t}.{}: bad reference", c.name);
                }
            }
            let mut names: Vec<_> = spec.columns.iter().map(|c| c.name).collect();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), spec.columns.len(), "{t}: duplicate column");
        }
    }

    #[test]
    fn unknown_table_error_lists_tables() {
        let err = "post".parse::<Table>().unwrap_err();
        assert!(err.contains("posts") && err.contains("unknown table `post`"));
    }
}
