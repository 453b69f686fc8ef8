//! Journeys: for each order, the touches of its user that came before it; and for each
//! user, the touches after their last order (non-converting journeys).
//!
//! Rules (documented for users in `docs/attribution.md`):
//!
//! * An order's journey holds its user's touches with `ts` in
//!   `(previous order's time, order time]` and not older than the lookback window
//!   (default 30 days) before the order. A touch at exactly the order time belongs to it.
//! * **Code touches** are derived: an order whose `discount_code` matches a `promo_code`
//!   tracking asset (case-insensitive) gets a `code` touch of that asset's creator at the
//!   order time, with id `code:<order_id>`. It belongs to that order only.
//! * **Session touches** are derived when `sessions` and `tracking_assets` are present: a
//!   session whose `utm_content` equals a `utm` or `affiliate_link` asset value becomes a
//!   creator `click` with id `session:<session_id>` — unless a touchpoint of the same
//!   user, time and creator exists already (then it is counted as a duplicate, not added).
//! * Ties in time keep input order, except that a code touch comes after the other
//!   touches at its time when `code_outranks_link` is set (the default; the common vendor
//!   rule that a promo code beats a link), and before them otherwise.
//! * Touches after `observation_end` are not used. A user's touches after their last
//!   order form a non-converting journey (within the lookback window before its last
//!   touch), censored at `observation_end`.
//! * Orders with no `user_id`, or whose user has no touches in the window, have an empty
//!   journey: they are counted and reported, never dropped.

use rayon::slice::ParallelSliceMut;
use rustc_hash::{FxHashMap, FxHashSet};

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, TimestampMicrosecondType};
use arrow_array::{Array, RecordBatch};

use crate::dataset::Dataset;
use crate::error::DataError;
use crate::schema::{CHANNELS, INTERACTIONS, PLATFORMS, TRACKING_METHODS, Table};

/// Marks an absent dictionary index.
pub const NONE: u32 = u32::MAX;
/// Marks an absent small-enum index.
pub const NONE8: u8 = u8::MAX;

/// Where a touch came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Row `n` of the touchpoints table (in file order).
    Touchpoint(u32),
    /// The discount code of order `n` (index into [`Journeys::orders`]).
    Code(u32),
    /// Session `n` (index into the derived-session id list).
    Session(u32),
}

/// One touch, with dictionary-encoded fields.
#[derive(Debug, Clone, Copy)]
pub struct TouchRecord {
    /// User (index into [`Journeys::users`]).
    pub user: u32,
    /// Time, µs since the epoch.
    pub ts: i64,
    /// Index into [`CHANNELS`].
    pub channel: u8,
    /// Creator (index into [`Journeys::creators`]) or [`NONE`].
    pub creator: u32,
    /// Campaign (index into [`Journeys::campaigns`]) or [`NONE`].
    pub campaign: u32,
    /// Index into [`PLATFORMS`] or [`NONE8`].
    pub platform: u8,
    /// Index into [`INTERACTIONS`].
    pub interaction: u8,
    /// Index into [`TRACKING_METHODS`] or [`NONE8`].
    pub tracking: u8,
    /// Where it came from.
    pub source: Source,
}

/// One order.
#[derive(Debug, Clone)]
pub struct OrderRecord {
    /// Order id.
    pub order_id: String,
    /// User or [`NONE`] (no `user_id`).
    pub user: u32,
    /// Order time, µs.
    pub ts: i64,
    /// Revenue.
    pub revenue: f64,
}

/// Journey-building parameters.
///
/// | name | default | meaning |
/// |---|---|---|
/// | `lookback_us` | 30 days | oldest touch an order's journey may hold |
/// | `code_outranks_link` | true | a code touch sorts after other touches at its time |
/// | `use_sessions` | true | derive creator clicks from sessions matched to assets |
/// | `observation_end_us` | latest time in the inputs | censoring time of non-converting journeys |
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JourneyParams {
    /// Lookback window in µs (> 0).
    pub lookback_us: i64,
    /// Code touches sort after ties.
    pub code_outranks_link: bool,
    /// Derive touches from sessions.
    pub use_sessions: bool,
    /// End of observation; `None` = the latest timestamp in touchpoints and orders.
    pub observation_end_us: Option<i64>,
}

impl Default for JourneyParams {
    fn default() -> Self {
        JourneyParams {
            lookback_us: 30 * 86_400_000_000,
            code_outranks_link: true,
            use_sessions: true,
            observation_end_us: None,
        }
    }
}

/// Counts that say what journey building did, for the run summary.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct JourneyStats {
    /// Touchpoints read.
    pub touchpoints: u64,
    /// Code touches derived from discount codes.
    pub code_touches: u64,
    /// Orders whose discount code matched no promo-code asset.
    pub unmatched_codes: u64,
    /// Touches derived from sessions.
    pub session_touches: u64,
    /// Sessions matching an asset that duplicated an existing touchpoint.
    pub session_duplicates: u64,
    /// Orders.
    pub orders: u64,
    /// Orders with an empty journey.
    pub orders_without_touches: u64,
    /// Non-converting journeys.
    pub non_converting: u64,
    /// Touches after the observation end, not used.
    pub after_observation_end: u64,
}

/// All journeys of a dataset.
#[derive(Debug)]
pub struct Journeys {
    /// User ids.
    pub users: Vec<String>,
    /// Creator ids.
    pub creators: Vec<String>,
    /// Campaign ids.
    pub campaigns: Vec<String>,
    /// Every touch, sorted by user, time and tie rule.
    pub touches: Vec<TouchRecord>,
    /// Orders sorted by user, time and id; orders without a user last.
    pub orders: Vec<OrderRecord>,
    /// Touch ids of the touchpoints table, by row.
    touchpoint_ids: Ids,
    /// Session ids of derived session touches.
    session_ids: Ids,
    /// Journey of order `i`: `order_touches[order_offsets[i]..order_offsets[i + 1]]`.
    order_touches: Vec<u32>,
    order_offsets: Vec<usize>,
    /// Non-converting journeys, as ranges into `touches`.
    pub non_converting: Vec<std::ops::Range<usize>>,
    /// Censoring time.
    pub observation_end_us: i64,
    /// What was done.
    pub stats: JourneyStats,
}

impl Journeys {
    /// The touches (indices into [`Journeys::touches`]) of order `i`, in time order.
    #[must_use]
    pub fn order_journey(&self, i: usize) -> &[u32] {
        &self.order_touches[self.order_offsets[i]..self.order_offsets[i + 1]]
    }

    /// The id of touch `t`.
    #[must_use]
    pub fn touch_id(&self, t: u32) -> String {
        match self.touches[t as usize].source {
            Source::Touchpoint(r) => self.touchpoint_ids.get(r).to_owned(),
            Source::Code(o) => format!("code:{}", self.orders[o as usize].order_id),
            Source::Session(s) => format!("session:{}", self.session_ids.get(s)),
        }
    }

    /// The channel name of a touch.
    #[must_use]
    pub fn channel(&self, t: &TouchRecord) -> &'static str {
        CHANNELS[t.channel as usize]
    }
}

/// Many short strings in one buffer (a touch id each): no allocation per id.
#[derive(Debug, Default)]
struct Ids {
    text: String,
    ends: Vec<usize>,
}

impl Ids {
    fn push(&mut self, s: &str) {
        self.text.push_str(s);
        self.ends.push(self.text.len());
    }

    fn len(&self) -> usize {
        self.ends.len()
    }

    fn get(&self, i: u32) -> &str {
        let i = i as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.text[start..self.ends[i]]
    }
}

struct Dict {
    index: FxHashMap<String, u32>,
    values: Vec<String>,
}

impl Dict {
    fn new() -> Dict {
        Dict { index: FxHashMap::default(), values: Vec::new() }
    }
    fn get(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.index.get(s) {
            return i;
        }
        let i = self.values.len() as u32;
        self.index.insert(s.to_owned(), i);
        self.values.push(s.to_owned());
        i
    }
}

fn col<'a>(batch: &'a RecordBatch, table: Table, name: &str) -> &'a dyn Array {
    batch.column(table.spec().index_of(name).expect("canonical column")).as_ref()
}

fn small_index(values: &[&str], v: &str) -> u8 {
    values.iter().position(|x| *x == v).map_or(NONE8, |i| i as u8)
}

/// Builds the journeys of `dataset` (needs `touchpoints` and `orders`; uses
/// `tracking_assets` and `sessions` when present).
pub fn build(dataset: &Dataset, params: &JourneyParams) -> Result<Journeys, DataError> {
    if params.lookback_us <= 0 {
        return Err(DataError::InvalidParam {
            name: "lookback",
            value: format!("{} s", params.lookback_us / 1_000_000),
            expected: "a positive duration".into(),
        });
    }
    for t in [Table::Touchpoints, Table::Orders] {
        if !dataset.has(t) {
            return Err(DataError::MissingTable { dir: dataset.root().to_owned(), table: t });
        }
    }
    let mut users = Dict::new();
    let mut creators = Dict::new();
    let mut campaigns = Dict::new();
    let mut touches: Vec<TouchRecord> = Vec::new();
    let mut touchpoint_ids = Ids::default();
    let mut stats = JourneyStats::default();
    let mut latest = i64::MIN;

    dataset.stream::<DataError>(Table::Touchpoints, |b| {
        let t = Table::Touchpoints;
        let id = col(b, t, "touch_id").as_string::<i32>();
        let user = col(b, t, "user_id").as_string::<i32>();
        let ts = col(b, t, "ts").as_primitive::<TimestampMicrosecondType>();
        let channel = col(b, t, "channel").as_string::<i32>();
        let creator = col(b, t, "creator_id").as_string::<i32>();
        let campaign = col(b, t, "campaign_id").as_string::<i32>();
        let platform = col(b, t, "platform").as_string::<i32>();
        let interaction = col(b, t, "interaction").as_string::<i32>();
        let tracking = col(b, t, "tracking_method").as_string::<i32>();
        for i in 0..b.num_rows() {
            let row = touchpoint_ids.len() as u32;
            touchpoint_ids.push(id.value(i));
            latest = latest.max(ts.value(i));
            touches.push(TouchRecord {
                user: users.get(user.value(i)),
                ts: ts.value(i),
                channel: small_index(CHANNELS, channel.value(i)),
                creator: if creator.is_null(i) { NONE } else { creators.get(creator.value(i)) },
                campaign: if campaign.is_null(i) { NONE } else { campaigns.get(campaign.value(i)) },
                platform: if platform.is_null(i) { NONE8 } else { small_index(PLATFORMS, platform.value(i)) },
                interaction: small_index(INTERACTIONS, interaction.value(i)),
                tracking: if tracking.is_null(i) { NONE8 } else { small_index(TRACKING_METHODS, tracking.value(i)) },
                source: Source::Touchpoint(row),
            });
        }
        Ok(())
    })?;
    stats.touchpoints = touches.len() as u64;

    // Tracking assets: promo codes (upper-cased) and link values → (creator, campaign).
    let mut codes: FxHashMap<String, (u32, u32)> = FxHashMap::default();
    let mut links: FxHashMap<String, (u32, u32, u8)> = FxHashMap::default();
    if dataset.has(Table::TrackingAssets) {
        for b in dataset.load(Table::TrackingAssets)? {
            let t = Table::TrackingAssets;
            let creator = col(&b, t, "creator_id").as_string::<i32>();
            let campaign = col(&b, t, "campaign_id").as_string::<i32>();
            let method = col(&b, t, "method").as_string::<i32>();
            let value = col(&b, t, "value").as_string::<i32>();
            for i in 0..b.num_rows() {
                let c = creators.get(creator.value(i));
                let k = if campaign.is_null(i) { NONE } else { campaigns.get(campaign.value(i)) };
                match method.value(i) {
                    "promo_code" => {
                        codes.insert(value.value(i).to_uppercase(), (c, k));
                    }
                    m @ ("utm" | "affiliate_link") => {
                        links.insert(value.value(i).to_owned(), (c, k, small_index(TRACKING_METHODS, m)));
                    }
                    _ => {}
                }
            }
        }
    }

    // Orders and their code touches.
    let mut orders: Vec<OrderRecord> = Vec::new();
    dataset.stream::<DataError>(Table::Orders, |b| {
        let t = Table::Orders;
        let id = col(b, t, "order_id").as_string::<i32>();
        let user = col(b, t, "user_id").as_string::<i32>();
        let ts = col(b, t, "ordered_at").as_primitive::<TimestampMicrosecondType>();
        let revenue = col(b, t, "revenue").as_primitive::<Float64Type>();
        let code = col(b, t, "discount_code").as_string::<i32>();
        for i in 0..b.num_rows() {
            let o = orders.len() as u32;
            let u = if user.is_null(i) { NONE } else { users.get(user.value(i)) };
            latest = latest.max(ts.value(i));
            orders.push(OrderRecord {
                order_id: id.value(i).to_owned(),
                user: u,
                ts: ts.value(i),
                revenue: revenue.value(i),
            });
            if code.is_null(i) || u == NONE {
                continue;
            }
            if let Some(&(c, k)) = codes.get(&code.value(i).to_uppercase()) {
                stats.code_touches += 1;
                touches.push(TouchRecord {
                    user: u,
                    ts: ts.value(i),
                    channel: small_index(CHANNELS, "creator"),
                    creator: c,
                    campaign: k,
                    platform: NONE8,
                    interaction: small_index(INTERACTIONS, "code"),
                    tracking: small_index(TRACKING_METHODS, "promo_code"),
                    source: Source::Code(o),
                });
            } else {
                stats.unmatched_codes += 1;
            }
        }
        Ok(())
    })?;
    stats.orders = orders.len() as u64;

    // Session touches, deduplicated against the touchpoints.
    let mut session_ids = Ids::default();
    if params.use_sessions && dataset.has(Table::Sessions) && !links.is_empty() {
        let existing: FxHashSet<(u32, i64, u32)> = touches
            .iter()
            .filter(|t| matches!(t.source, Source::Touchpoint(_)) && t.creator != NONE)
            .map(|t| (t.user, t.ts, t.creator))
            .collect();
        dataset.stream::<DataError>(Table::Sessions, |b| {
            let t = Table::Sessions;
            let id = col(b, t, "session_id").as_string::<i32>();
            let user = col(b, t, "user_id").as_string::<i32>();
            let ts = col(b, t, "started_at").as_primitive::<TimestampMicrosecondType>();
            let content = col(b, t, "utm_content").as_string::<i32>();
            for i in 0..b.num_rows() {
                if content.is_null(i) {
                    continue;
                }
                let Some(&(c, k, method)) = links.get(content.value(i)) else { continue };
                let u = users.get(user.value(i));
                if existing.contains(&(u, ts.value(i), c)) {
                    stats.session_duplicates += 1;
                    continue;
                }
                stats.session_touches += 1;
                let s = session_ids.len() as u32;
                session_ids.push(id.value(i));
                latest = latest.max(ts.value(i));
                touches.push(TouchRecord {
                    user: u,
                    ts: ts.value(i),
                    channel: small_index(CHANNELS, "creator"),
                    creator: c,
                    campaign: k,
                    platform: NONE8,
                    interaction: small_index(INTERACTIONS, "click"),
                    tracking: method,
                    source: Source::Session(s),
                });
            }
            Ok(())
        })?;
    }

    let observation_end_us = params.observation_end_us.unwrap_or(latest);
    let before = touches.len();
    touches.retain(|t| t.ts <= observation_end_us);
    stats.after_observation_end = (before - touches.len()) as u64;

    // Sort by user, time, tie rank (code touches last or first), then source kind and id:
    // never by input order, so journeys depend on the rows, not on how they were split or
    // shuffled (a Spark partition's order is not a contract). Ids decide only exact ties.
    // Users are numbered in id order first, for the same reason.
    let mut by_id: Vec<u32> = (0..users.values.len() as u32).collect();
    by_id.sort_unstable_by(|&a, &b| users.values[a as usize].cmp(&users.values[b as usize]));
    let mut rank = vec![0u32; by_id.len()];
    for (r, &u) in by_id.iter().enumerate() {
        rank[u as usize] = r as u32;
    }
    for t in &mut touches {
        t.user = rank[t.user as usize];
    }
    for o in &mut orders {
        if o.user != NONE {
            o.user = rank[o.user as usize];
        }
    }
    // Orders in a canonical order too — by user, time and id, orders without a user last —
    // so that credits come out in the same order however the rows were split into files
    // or partitions (a partitioned run merges its partitions' credits by this key).
    let mut order_rank: Vec<u32> = (0..orders.len() as u32).collect();
    order_rank.sort_by(|&a, &b| {
        let (x, y) = (&orders[a as usize], &orders[b as usize]);
        (x.user, x.ts).cmp(&(y.user, y.ts)).then_with(|| x.order_id.cmp(&y.order_id))
    });
    let mut new_index = vec![0u32; orders.len()];
    for (to, &from) in order_rank.iter().enumerate() {
        new_index[from as usize] = to as u32;
    }
    let mut taken: Vec<Option<OrderRecord>> = orders.into_iter().map(Some).collect();
    let orders: Vec<OrderRecord> =
        order_rank.iter().map(|&o| taken[o as usize].take().expect("a permutation")).collect();
    drop(taken);
    for t in &mut touches {
        if let Source::Code(o) = &mut t.source {
            *o = new_index[*o as usize];
        }
    }
    let user_ids: Vec<String> = by_id.iter().map(|&u| std::mem::take(&mut users.values[u as usize])).collect();
    drop(users);
    let code_rank = if params.code_outranks_link { 2u8 } else { 0 };
    let kind = |t: &TouchRecord| match t.source {
        Source::Touchpoint(_) => 0u8,
        Source::Session(_) => 1,
        Source::Code(_) => 2,
    };
    let id_of = |t: &TouchRecord| -> &str {
        match t.source {
            Source::Touchpoint(r) => touchpoint_ids.get(r),
            Source::Session(s) => session_ids.get(s),
            Source::Code(o) => &orders[o as usize].order_id,
        }
    };
    // Stable and parallel: the same order as a sequential stable sort.
    touches.par_sort_by(|a, b| {
        let ra = if matches!(a.source, Source::Code(_)) { code_rank } else { 1 };
        let rb = if matches!(b.source, Source::Code(_)) { code_rank } else { 1 };
        (a.user, a.ts, ra, kind(a)).cmp(&(b.user, b.ts, rb, kind(b))).then_with(|| id_of(a).cmp(id_of(b)))
    });
    // Per user: the range of their touches.
    let n_users = user_ids.len();
    let mut user_start = vec![0usize; n_users + 1];
    for t in &touches {
        user_start[t.user as usize + 1] += 1;
    }
    for u in 0..n_users {
        user_start[u + 1] += user_start[u];
    }

    // Orders per user in time order.
    let mut by_user: Vec<u32> = (0..orders.len() as u32).filter(|&o| orders[o as usize].user != NONE).collect();
    by_user.sort_by(|&a, &b| {
        let (x, y) = (&orders[a as usize], &orders[b as usize]);
        (x.user, x.ts).cmp(&(y.user, y.ts)).then_with(|| x.order_id.cmp(&y.order_id))
    });
    let mut journeys: Vec<Vec<u32>> = vec![Vec::new(); orders.len()];
    let mut last_order: Vec<Option<i64>> = vec![None; n_users];
    let mut prev: Option<(u32, i64)> = None;
    for &o in &by_user {
        let order = &orders[o as usize];
        let u = order.user as usize;
        let prev_ts = match prev {
            Some((pu, pts)) if pu == order.user => Some(pts),
            _ => None,
        };
        let lower = order.ts - params.lookback_us;
        let range = &touches[user_start[u]..user_start[u + 1]];
        let start = range.partition_point(|t| t.ts < lower);
        let journey = &mut journeys[o as usize];
        for (k, t) in range.iter().enumerate().skip(start) {
            if t.ts > order.ts {
                break;
            }
            let own_code = t.source == Source::Code(o);
            let other_code = matches!(t.source, Source::Code(_)) && !own_code;
            let after_prev = prev_ts.is_none_or(|p| t.ts > p);
            if own_code || (!other_code && after_prev) {
                journey.push((user_start[u] + k) as u32);
            }
        }
        last_order[u] = Some(order.ts);
        prev = Some((order.user, order.ts));
    }
    let mut order_touches = Vec::new();
    let mut order_offsets = Vec::with_capacity(orders.len() + 1);
    order_offsets.push(0);
    for j in &journeys {
        if j.is_empty() {
            stats.orders_without_touches += 1;
        }
        order_touches.extend_from_slice(j);
        order_offsets.push(order_touches.len());
    }
    drop(journeys);

    // Non-converting journeys: touches after the last order, within the lookback window
    // before the user's last touch.
    let mut non_converting = Vec::new();
    for u in 0..n_users {
        let (s, e) = (user_start[u], user_start[u + 1]);
        if s == e {
            continue;
        }
        let after = last_order[u].map_or(s, |lo| s + touches[s..e].partition_point(|t| t.ts <= lo));
        if after == e {
            continue;
        }
        let last_ts = touches[e - 1].ts;
        let first = after + touches[after..e].partition_point(|t| t.ts < last_ts - params.lookback_us);
        non_converting.push(first..e);
    }
    stats.non_converting = non_converting.len() as u64;

    Ok(Journeys {
        users: user_ids,
        creators: creators.values,
        campaigns: campaigns.values,
        touches,
        orders,
        touchpoint_ids,
        session_ids,
        order_touches,
        order_offsets,
        non_converting,
        observation_end_us,
        stats,
    })
}
