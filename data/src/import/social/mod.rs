//! The platform importers — [`instagram`], [`tiktok`], [`youtube`] — and what they share:
//! every record a platform dump holds is read into one of three shapes (an account, a read
//! of a post's counters, a comment), and [`Social`] turns them into `creators`, `posts`,
//! `post_snapshots` and `comments`.
//!
//! * **Reads over time.** Each read of a post carries the time it was observed:
//!   `--observed-at`, else a field of the record (`fetched_at`, `observed_at`,
//!   `retrieved_at`, `scraped_at`), else a timestamp in the file's path (a folder of pulls
//!   named `2024-05-01T10-00-00Z/`, `20240501T100000Z/` or `2024-05-01/`, read as UTC).
//!   Every observed read with a counter is a `post_snapshots` row; `posts` takes each
//!   metric from the latest observed read that reports it, then from reads without a time
//!   (a dashboard CSV, an Analytics report: lifetime totals).
//! * **Null is not zero.** A metric the dump does not carry stays null. Counts written as
//!   strings (`"1520"`, `"1,520"`) are read; a negative or non-numeric count is refused.
//! * **Creators and campaigns.** The plan maps accounts (platform id or handle) to
//!   `creator_id`; with a plan, accounts it does not list are reported and their posts and
//!   comments skipped; without one, each account is its own creator (`instagram:handle`).
//!   A post's campaign comes from the plan's `post` entries (id or permalink), else from
//!   its campaign rules; `sponsored` is the platform's paid-partnership flag where the API
//!   has one, else whether the post has a campaign or a disclosure (`#ad`, "paid
//!   partnership") in its caption.
//! * **Comments** keep their thread, likes and time; author ids are salted hashes
//!   (`au_…`) unless `--keep-author-ids`. A comment pulled several times is written once:
//!   comment files are read newest pull first, so its likes are the latest. A reply whose
//!   parent is not in the export (deleted, or not pulled) keeps no parent and is counted.
//!
//! Files are read in two passes: accounts and posts first (comments met on the way wait
//! in memory), then the files that hold comments, streamed to the sink in batches: memory
//! holds the posts and 16 bytes per comment id (a 64-bit digest and its post), not the comments.

pub mod instagram;
pub mod tiktok;
pub mod youtube;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use rustc_hash::FxHashMap;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{ImportOptions, ImportReport, Sink, jsonl};
use crate::builder::RowBuilder;
use crate::{DataError, Table};

/// Rows of `comments` per batch handed to the sink.
const COMMENT_BATCH: usize = 65_536;

/// The counters one read of a post reports (`None`: not reported).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Counts {
    /// Impressions.
    pub impressions: Option<i64>,
    /// Reach.
    pub reach: Option<i64>,
    /// Views.
    pub views: Option<i64>,
    /// Engaged views (YouTube).
    pub engaged_views: Option<i64>,
    /// Likes.
    pub likes: Option<i64>,
    /// Comments.
    pub comments: Option<i64>,
    /// Shares.
    pub shares: Option<i64>,
    /// Saves.
    pub saves: Option<i64>,
    /// Link clicks.
    pub link_clicks: Option<i64>,
    /// Total watch time, seconds.
    pub watch_time_s: Option<f64>,
}

impl Counts {
    /// Takes `o`'s value for every metric this read lacks.
    fn fill_from(&mut self, o: &Counts) {
        macro_rules! fill {
            ($($f:ident),*) => { $( if self.$f.is_none() { self.$f = o.$f; } )* };
        }
        fill!(impressions, reach, views, engaged_views, likes, comments, shares, saves, link_clicks, watch_time_s);
    }

    /// Whether a snapshot can be made of this read (a cumulative counter is there).
    fn has_counters(&self) -> bool {
        self.views.is_some()
            || self.likes.is_some()
            || self.comments.is_some()
            || self.shares.is_some()
            || self.saves.is_some()
    }
}

/// What one record says about a post.
#[derive(Debug, Clone, Default)]
pub struct PostRead {
    /// The platform's id of the post.
    pub post_id: String,
    /// The platform's id of the account that published it.
    pub owner_id: Option<String>,
    /// The handle of that account.
    pub owner_handle: Option<String>,
    /// roicast's format.
    pub format: Option<&'static str>,
    /// Publication time.
    pub published_at: Option<i64>,
    /// The post's public URL.
    pub permalink: Option<String>,
    /// Caption / description (for campaign rules; not stored).
    pub caption: Option<String>,
    /// The platform's paid-partnership flag, where its API has one.
    pub flagged: Option<bool>,
    /// When the counters were read (`None`: a lifetime report without a time).
    pub observed_at: Option<i64>,
    /// The counters.
    pub counts: Counts,
}

/// What one record says about an account.
#[derive(Debug, Clone, Default)]
pub struct AccountRead {
    /// The platform's id of the account.
    pub account_id: Option<String>,
    /// Its handle, without `@`.
    pub handle: Option<String>,
    /// Followers / subscribers; `None` when hidden.
    pub followers: Option<i64>,
    /// Accounts it follows.
    pub following: Option<i64>,
    /// Posts published.
    pub posts_count: Option<i64>,
    /// When it was created.
    pub created_at: Option<i64>,
    /// When it was read.
    pub observed_at: Option<i64>,
}

/// One comment.
#[derive(Debug, Clone, Default)]
pub struct CommentRead {
    /// Its id.
    pub comment_id: String,
    /// The post it is on, when the record says (a reply may only name its parent).
    pub post_id: Option<String>,
    /// The comment it replies to.
    pub parent_id: Option<String>,
    /// The platform's id or handle of its author.
    pub author: Option<String>,
    /// The text as written.
    pub text: String,
    /// When it was written.
    pub created_at: i64,
    /// Likes on it.
    pub likes: Option<i64>,
}

/// Where a record is, for errors.
#[derive(Debug, Clone)]
pub struct At {
    /// The file (shared: one allocation a file, not a record).
    pub file: std::sync::Arc<Path>,
    /// The row (NDJSON line, CSV row, array index + 1).
    pub row: u64,
    /// The JSON path of the record (`$.data[3]`), empty for NDJSON lines and CSV rows.
    pub path: String,
}

impl At {
    /// The record at `key[i]` inside this one (`$.data[0].replies[2]`).
    #[must_use]
    pub fn item(&self, key: &str, i: usize) -> At {
        let base = if self.path.contains('$') { self.field(key) } else { format!("$.{key}") };
        At { file: self.file.clone(), row: self.row, path: format!("{base}[{i}]") }
    }

    /// The JSON path of `field` in this record.
    #[must_use]
    pub fn field(&self, field: &str) -> String {
        jsonl::path_of(&self.path, field)
    }
}

/// One observed read kept for `post_snapshots`: views, likes, comments, shares, saves.
#[derive(Debug, Clone, Copy)]
struct Snap {
    at: i64,
    vals: [Option<i64>; 5],
}

impl Snap {
    fn of(at: i64, c: &Counts) -> Snap {
        Snap { at, vals: [c.views, c.likes, c.comments, c.shares, c.saves] }
    }
}

/// What the import holds of a post until the end: its identity, where it was first met,
/// its snapshots and, per metric, the newest observed value (and its time) and the first
/// untimed one. About 400 bytes a post plus 48 a snapshot.
struct PostAcc {
    post_id: Box<str>,
    owner_id: Option<Box<str>>,
    owner_handle: Option<Box<str>>,
    /// Kept only when the plan lists posts (matched by id or permalink).
    permalink: Option<Box<str>>,
    format: Option<&'static str>,
    published_at: Option<i64>,
    flagged: Option<bool>,
    disclosed: bool,
    file: u32,
    row: u64,
    path: Box<str>,
    /// Kept only when the plan has campaign rules.
    rule_caption: Option<Box<str>>,
    snaps: Vec<Snap>,
    newest: Counts,
    newest_at: [i64; 10],
    untimed: Option<Box<Counts>>,
    creator: Option<u32>,
}

impl Counts {
    fn slots(&mut self) -> [&mut Option<i64>; 9] {
        [
            &mut self.impressions,
            &mut self.reach,
            &mut self.views,
            &mut self.engaged_views,
            &mut self.likes,
            &mut self.comments,
            &mut self.shares,
            &mut self.saves,
            &mut self.link_clicks,
        ]
    }
}

/// Reads a count written as a JSON number or a string (`"1520"`, `"1,520"`); `Ok(None)`
/// when absent; `Err(reason)` when negative, fractional or not a number.
pub fn count(v: &Value, path: &str) -> Result<Option<i64>, String> {
    match jsonl::get(v, path) {
        None => Ok(None),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(x) if x >= 0 => Ok(Some(x)),
            Some(x) => Err(format!("a count cannot be negative ({x})")),
            None => n
                .as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < 9.0e18)
                .map(|f| Some(f as i64))
                .ok_or_else(|| format!("expected a whole, non-negative count, found {n}")),
        },
        Some(Value::String(s)) => count_text(s),
        Some(other) => Err(format!("expected a count, found {other}")),
    }
}

/// A count as text: digits, optionally grouped by thousands (`1,520`, `1 520`).
pub fn count_text(s: &str) -> Result<Option<i64>, String> {
    let t = s.trim();
    if t.is_empty() || t == "-" || t == "--" {
        return Ok(None);
    }
    if t.starts_with('-') {
        return Err(format!("a count cannot be negative (`{t}`)"));
    }
    let bad = || format!("`{t}` is not a count: expected a whole number such as 1520 or \"1,520\"");
    let groups: Vec<&str> = t.split([',', ' ', '\u{a0}', '\u{202f}']).collect();
    let grouped = groups.len() > 1;
    if groups.iter().enumerate().any(|(i, g)| {
        !g.bytes().all(|b| b.is_ascii_digit())
            || g.is_empty()
            || (grouped && (if i == 0 { g.len() > 3 } else { g.len() != 3 }))
    }) {
        return Err(bad());
    }
    groups.concat().parse::<i64>().map(Some).map_err(|_| bad())
}

/// An API timestamp (RFC 3339, `+0000` offsets): one without an offset is refused, as
/// the APIs always write it.
pub fn api_time(s: &str) -> Result<i64, String> {
    if let Some(t) = fast_time(s.trim()) {
        return Ok(t);
    }
    super::time::parse_timestamp_us(s, None).map_err(|e| {
        if e.contains("UTC offset") {
            format!("`{}` has no UTC offset: the platform's API always writes one (`Z`, `+0000`)", s.trim())
        } else {
            e
        }
    })
}

/// `YYYY-MM-DDTHH:MM:SS[.fff…](Z|±HH:MM|±HHMM)` without chrono's format parser (the
/// shape of nearly every API timestamp; anything else goes the general way).
fn fast_time(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        b[r].iter().try_fold(0i64, |acc, &c| c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0')))
    };
    let (y, mo, d, h, mi, sec) = (num(0..4)?, num(5..7)?, num(8..10)?, num(11..13)?, num(14..16)?, num(17..19)?);
    let mut i = 19;
    let mut micros = 0i64;
    if b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let digits = &s[start..i];
        if digits.is_empty() {
            return None;
        }
        let six: String = digits.chars().chain(std::iter::repeat('0')).take(6).collect();
        micros = six.parse().ok()?;
    }
    let offset_s = match &b[i..] {
        [b'Z'] => 0,
        [sign @ (b'+' | b'-'), rest @ ..] => {
            let hhmm: Vec<u8> = rest.iter().copied().filter(|c| *c != b':').collect();
            if hhmm.len() != 4 || (rest.len() == 5 && rest[2] != b':') || !hhmm.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let v = i64::from(hhmm[0] - b'0') * 36_000
                + i64::from(hhmm[1] - b'0') * 3_600
                + i64::from(hhmm[2] - b'0') * 600
                + i64::from(hhmm[3] - b'0') * 60;
            if *sign == b'-' { -v } else { v }
        }
        _ => return None,
    };
    let date =
        chrono::NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, u32::try_from(mo).ok()?, u32::try_from(d).ok()?)?;
    let t = date.and_hms_opt(u32::try_from(h).ok()?, u32::try_from(mi).ok()?, u32::try_from(sec).ok()?)?;
    Some((t.and_utc().timestamp() - offset_s) * 1_000_000 + micros)
}

/// Epoch seconds (`Ok(None)` passes through) as µs; a count of seconds too large for
/// microseconds in 64 bits is an error holding the value, as a bad value is.
pub(crate) fn epoch_seconds(t: Option<i64>) -> Result<Option<i64>, String> {
    t.map(|t| t.checked_mul(1_000_000).ok_or_else(|| t.to_string())).transpose()
}

/// A time the dump records the read at (`fetched_at`, …): RFC 3339 or epoch seconds.
fn record_observed(v: &Value) -> Result<Option<i64>, (String, String)> {
    for key in ["fetched_at", "observed_at", "retrieved_at", "scraped_at"] {
        match v.get(key) {
            None | Some(Value::Null) => {}
            Some(Value::Number(n)) => {
                return n
                    .as_i64()
                    .and_then(|s| s.checked_mul(1_000_000))
                    .map(Some)
                    .ok_or_else(|| (key.to_owned(), n.to_string()));
            }
            Some(Value::String(s)) => return api_time(s).map(Some).map_err(|e| (key.to_owned(), e)),
            Some(other) => return Err((key.to_owned(), format!("expected a timestamp, found {other}"))),
        }
    }
    Ok(None)
}

/// The time of a pull a path names: a folder or file stem `2024-05-01T10-00-00Z`,
/// `2024-05-01T10:00:00Z`, `20240501T100000Z` or `2024-05-01` (UTC), the innermost first.
#[must_use]
pub fn path_observed(path: &Path) -> Option<i64> {
    let mut parts: Vec<String> = path
        .parent()
        .into_iter()
        .flat_map(|p| p.components().map(|c| c.as_os_str().to_string_lossy().into_owned()))
        .collect();
    if let Some(stem) = path.file_stem() {
        parts.push(stem.to_string_lossy().into_owned());
    }
    parts.iter().rev().find_map(|p| name_time(p))
}

fn name_time(name: &str) -> Option<i64> {
    let utc = |n: chrono::NaiveDateTime| n.and_utc().timestamp_micros();
    for fmt in ["%Y-%m-%dT%H-%M-%SZ", "%Y-%m-%dT%H:%M:%SZ", "%Y%m%dT%H%M%SZ", "%Y-%m-%dT%H%M%SZ"] {
        if let Ok(n) = chrono::NaiveDateTime::parse_from_str(name, fmt) {
            return Some(utc(n));
        }
    }
    chrono::NaiveDate::parse_from_str(name, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)).map(utc)
}

/// Text of an HTML comment body (YouTube's `textDisplay`): tags dropped (`<br>` as a line
/// break), entities decoded (`&amp;`, `&#39;`, `&#x1F600;`).
#[must_use]
pub fn html_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find(['<', '&']) {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        if rest.starts_with('<') {
            let Some(end) = rest.find('>') else { break };
            let tag = rest[1..end].trim().to_lowercase();
            if tag == "br" || tag == "br/" || tag == "br /" {
                out.push('\n');
            }
            rest = &rest[end + 1..];
        } else {
            let end = rest.find(';').filter(|&e| e <= 10);
            let decoded = end.and_then(|e| entity(&rest[1..e]));
            if let (Some(e), Some(c)) = (end, decoded) {
                out.push(c);
                rest = &rest[e + 1..];
            } else {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn entity(name: &str) -> Option<char> {
    match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        "nbsp" => Some('\u{a0}'),
        _ => {
            let n = name.strip_prefix('#')?;
            let code = match n.strip_prefix(['x', 'X']) {
                Some(h) => u32::from_str_radix(h, 16).ok()?,
                None => n.parse().ok()?,
            };
            char::from_u32(code)
        }
    }
}

/// A 64-bit digest of a comment id (duplicates and threads are tracked by it, with the
/// post it is on).
fn digest(id: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(id.as_bytes())
}

/// The salted, non-reversible id of a comment author.
#[must_use]
pub fn author_id(salt: &str, platform: &str, author: &str) -> String {
    let mut h = Sha256::new();
    h.update(salt.as_bytes());
    h.update([0]);
    h.update(platform.as_bytes());
    h.update(b"-author\0");
    h.update(author.as_bytes());
    format!("au_{}", &crate::hex(&h.finalize())[..24])
}

/// Which pass a file belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    /// Accounts, posts, insights, reports.
    Posts,
    /// Comments.
    Comments,
}

/// The shared state of a platform import.
pub struct Social<'o> {
    /// `instagram`, `tiktok` or `youtube`.
    pub platform: &'static str,
    /// The options.
    pub opts: &'o ImportOptions,
    /// The report.
    pub report: ImportReport,
    /// The pass being read.
    pub pass: Pass,
    posts: Vec<PostAcc>,
    post_index: FxHashMap<Box<str>, usize>,
    files: Vec<std::sync::Arc<Path>>,
    creator_ids: Vec<String>,
    accounts: Vec<AccountRead>,
    account_by_id: FxHashMap<String, usize>,
    account_by_handle: FxHashMap<String, usize>,
    waiting: Vec<(CommentRead, At)>,
    seen: FxHashMap<u64, u32>,
    orphans: Vec<(CommentRead, u32)>,
    comments: RowBuilder,
    written_comments: u64,
    resolved: bool,
    unmapped: BTreeMap<String, u64>,
}

impl<'o> Social<'o> {
    /// A new import of `platform`'s files.
    #[must_use]
    pub fn new(platform: &'static str, opts: &'o ImportOptions) -> Self {
        Social {
            platform,
            opts,
            report: ImportReport { source: platform.to_owned(), ..ImportReport::default() },
            pass: Pass::Posts,
            posts: Vec::new(),
            post_index: FxHashMap::default(),
            files: Vec::new(),
            creator_ids: Vec::new(),
            accounts: Vec::new(),
            account_by_id: FxHashMap::default(),
            account_by_handle: FxHashMap::default(),
            waiting: Vec::new(),
            seen: FxHashMap::default(),
            orphans: Vec::new(),
            comments: RowBuilder::for_table(Table::Comments),
            written_comments: 0,
            resolved: false,
            unmapped: BTreeMap::new(),
        }
    }

    /// Records a refused value: `path` is the JSON path (or CSV column) of the field.
    pub fn reject(&mut self, table: Table, at: &At, path: &str, value: &str, reason: impl Into<String>) {
        self.report.reject(table, &at.file, at.row, path, value, reason);
    }

    /// The observed time of a record: `--observed-at`, else its own field, else the path.
    pub fn observed(&mut self, v: Option<&Value>, at: &At, table: Table) -> Option<i64> {
        if let Some(t) = self.opts.observed_at {
            return Some(t);
        }
        match v.map_or(Ok(None), record_observed) {
            Ok(Some(t)) => Some(t),
            Ok(None) => path_observed(&at.file),
            Err((field, reason)) => {
                let p = at.field(&field);
                self.reject(table, at, &p, "", reason);
                None
            }
        }
    }

    /// A count at `field` of `v`, or `None` after recording why it is refused.
    pub fn count(&mut self, v: &Value, field: &str, at: &At) -> Option<i64> {
        match count(v, field) {
            Ok(c) => c,
            Err(reason) => {
                let value = jsonl::get(v, field).map(ToString::to_string).unwrap_or_default();
                let p = at.field(field);
                self.reject(Table::Posts, at, &p, &value, reason);
                None
            }
        }
    }

    /// A comment's required time at `field` (an API timestamp), or `None` after recording
    /// why it is refused.
    pub fn comment_time(&mut self, v: &Value, field: &str, at: &At) -> Option<i64> {
        let name = field.rsplit('.').next().unwrap_or(field);
        match jsonl::text(v, field).map(|t| (api_time(&t), t)) {
            Some((Ok(x), _)) => Some(x),
            Some((Err(e), t)) => {
                self.reject(Table::Comments, at, &at.field(field), &t, e);
                None
            }
            None => {
                self.reject(Table::Comments, at, &at.field(field), "", format!("a comment needs its `{name}`"));
                None
            }
        }
    }

    /// A comment's optional count at `field`: `Some(value or null)`, or `None` after
    /// recording why it is refused.
    pub fn comment_count(&mut self, v: &Value, field: &str, at: &At) -> Option<Option<i64>> {
        match count(v, field) {
            Ok(n) => Some(n),
            Err(reason) => {
                self.reject(Table::Comments, at, &at.field(field), "", reason);
                None
            }
        }
    }

    /// Adds an account read.
    pub fn account(&mut self, a: AccountRead) {
        let existing = match (&a.account_id, &a.handle) {
            (Some(id), _) => self.account_by_id.get(id),
            (None, Some(h)) => self.account_by_handle.get(&h.to_lowercase()),
            (None, None) => None,
        }
        .copied();
        let k = if let Some(k) = existing {
            {
                let old = &mut self.accounts[k];
                let newer = a.observed_at.unwrap_or(i64::MIN) >= old.observed_at.unwrap_or(i64::MIN);
                let merge = |x: &mut Option<i64>, y: Option<i64>| {
                    if y.is_some() && (newer || x.is_none()) {
                        *x = y;
                    }
                };
                merge(&mut old.followers, a.followers);
                merge(&mut old.following, a.following);
                merge(&mut old.posts_count, a.posts_count);
                old.created_at = old.created_at.or(a.created_at);
                old.account_id = old.account_id.take().or(a.account_id);
                old.handle = old.handle.take().or(a.handle);
                old.observed_at = old.observed_at.max(a.observed_at);
            }
            k
        } else {
            self.accounts.push(a);
            self.accounts.len() - 1
        };
        let acc = &self.accounts[k];
        if let Some(id) = &acc.account_id {
            self.account_by_id.insert(id.clone(), k);
        }
        if let Some(h) = &acc.handle {
            self.account_by_handle.insert(h.to_lowercase(), k);
        }
    }

    /// Adds a read of a post.
    pub fn post(&mut self, p: PostRead, at: &At) {
        if self.pass == Pass::Comments {
            self.reject(
                Table::Posts,
                at,
                &at.field(""),
                &p.post_id,
                "a file that starts with comments holds only comments: give posts and their insights in their own files",
            );
            return;
        }
        let plan = self.opts.plan.as_ref();
        let rules = plan.is_some_and(|pl| !pl.rules.is_empty());
        let keep_links = plan.is_some_and(|pl| !pl.posts.is_empty());
        let disclosed = p.caption.as_deref().is_some_and(|c| super::plan::has_disclosure(&c.to_lowercase()));
        let k = if let Some(&k) = self.post_index.get(p.post_id.as_str()) {
            k
        } else {
            let file = match self.files.last() {
                Some(f) if std::sync::Arc::ptr_eq(f, &at.file) || **f == *at.file => self.files.len() - 1,
                _ => {
                    self.files.push(at.file.clone());
                    self.files.len() - 1
                }
            };
            self.post_index.insert(p.post_id.clone().into_boxed_str(), self.posts.len());
            self.posts.push(PostAcc {
                post_id: p.post_id.clone().into_boxed_str(),
                owner_id: None,
                owner_handle: None,
                permalink: None,
                format: None,
                published_at: None,
                flagged: None,
                disclosed: false,
                file: file as u32,
                row: at.row,
                path: at.path.clone().into_boxed_str(),
                rule_caption: None,
                snaps: Vec::new(),
                newest: Counts::default(),
                newest_at: [i64::MIN; 10],
                untimed: None,
                creator: None,
            });
            self.posts.len() - 1
        };
        let acc = &mut self.posts[k];
        let boxed = |v: Option<String>| v.map(String::into_boxed_str);
        acc.owner_id = acc.owner_id.take().or_else(|| boxed(p.owner_id));
        acc.owner_handle = acc.owner_handle.take().or_else(|| boxed(p.owner_handle));
        if keep_links {
            acc.permalink = acc.permalink.take().or_else(|| boxed(p.permalink));
        }
        acc.format = acc.format.or(p.format);
        acc.published_at = acc.published_at.or(p.published_at);
        acc.flagged = acc.flagged.or(p.flagged);
        acc.disclosed |= disclosed;
        if rules && acc.rule_caption.is_none() {
            acc.rule_caption = boxed(p.caption);
        }
        let mut c = p.counts;
        match p.observed_at {
            Some(t) => {
                if c.has_counters() {
                    let snap = Snap::of(t, &c);
                    match acc.snaps.iter_mut().find(|s| s.at == t) {
                        Some(s) => {
                            for (a, b) in s.vals.iter_mut().zip(snap.vals) {
                                *a = b.or(*a);
                            }
                        }
                        None => acc.snaps.push(snap),
                    }
                }
                for (i, (slot, new)) in acc.newest.slots().into_iter().zip(c.slots()).enumerate() {
                    if new.is_some() && t >= acc.newest_at[i] {
                        *slot = *new;
                        acc.newest_at[i] = t;
                    }
                }
                if c.watch_time_s.is_some() && t >= acc.newest_at[9] {
                    acc.newest.watch_time_s = c.watch_time_s;
                    acc.newest_at[9] = t;
                }
            }
            // Reads without a time: the first file's values stand (API dumps come before
            // dashboard CSVs), later ones fill what it lacks.
            None => match &mut acc.untimed {
                Some(u) => u.fill_from(&c),
                None => acc.untimed = Some(Box::new(c)),
            },
        }
    }

    /// Where a post was first met, for errors.
    fn post_at(&self, k: usize) -> At {
        let p = &self.posts[k];
        At { file: self.files[p.file as usize].clone(), row: p.row, path: p.path.to_string() }
    }

    /// Adds a comment: written now in the comments pass, kept until then in the first.
    pub fn comment(&mut self, c: CommentRead, at: &At, sink: &mut Sink<'_>) -> Result<(), DataError> {
        if !self.resolved {
            self.waiting.push((c, at.clone()));
            return Ok(());
        }
        let key = digest(&c.comment_id);
        let post = match &c.post_id {
            Some(p) => self.post_index.get(p.as_str()).copied(),
            None => c.parent_id.as_ref().and_then(|p| self.seen.get(&digest(p))).map(|&k| k as usize),
        };
        // The same id on the same post is the same comment; on another post, two ids whose
        // 64-bit digests collide (about 1 in 10^7 imports of 10 M comments): both are kept.
        if let Some(&k0) = self.seen.get(&key)
            && post.is_none_or(|k| k as u32 == k0)
        {
            self.report.skip("comment seen in an earlier pull (the newest pull's copy is kept)");
            return Ok(());
        }
        let Some(k) = post else {
            if c.post_id.is_none() {
                self.reject(
                    Table::Comments,
                    at,
                    &at.field(""),
                    &c.comment_id,
                    "the comment does not say which post it is on, and its parent is not in the import",
                );
            } else {
                self.report.skip("comments on posts not in the import");
            }
            return Ok(());
        };
        if self.posts[k].creator.is_none() {
            self.report.skip("comments on posts of accounts not in the plan");
            return Ok(());
        }
        self.seen.entry(key).or_insert(k as u32);
        if let Some(parent) = &c.parent_id
            && !self.seen.contains_key(&digest(parent))
        {
            self.orphans.push((c, k as u32));
            return Ok(());
        }
        self.write_comment(&c, k, c.parent_id.as_deref(), sink)
    }

    fn write_comment(
        &mut self,
        c: &CommentRead,
        k: usize,
        parent: Option<&str>,
        sink: &mut Sink<'_>,
    ) -> Result<(), DataError> {
        let author = c.author.as_deref().map(|a| {
            if self.opts.keep_author_ids { a.to_owned() } else { author_id(&self.opts.salt, self.platform, a) }
        });
        self.comments
            .text(&c.comment_id)
            .text(&self.posts[k].post_id)
            .opt_text(author.as_deref())
            .text(&c.text)
            .ts(c.created_at)
            .opt_int(c.likes)
            .opt_text(parent)
            .opt_text(None)
            .end_row();
        self.written_comments += 1;
        if self.comments.len() >= COMMENT_BATCH {
            sink(Table::Comments, self.comments.finish())?;
        }
        Ok(())
    }

    /// Ends the posts pass: ties posts to creators and campaigns, then writes the comments
    /// met so far.
    pub fn end_posts_pass(&mut self, sink: &mut Sink<'_>) -> Result<(), DataError> {
        let plan = self.opts.plan.as_ref();
        let mut creator_index: HashMap<String, u32> = HashMap::new();
        for k in 0..self.posts.len() {
            let r = &self.posts[k];
            let account = r
                .owner_id
                .as_deref()
                .and_then(|id| self.account_by_id.get(id))
                .or_else(|| r.owner_handle.as_deref().and_then(|h| self.account_by_handle.get(&h.to_lowercase())))
                .map(|&a| &self.accounts[a]);
            let id = r.owner_id.as_deref().map(str::to_owned).or_else(|| account.and_then(|a| a.account_id.clone()));
            let handle =
                r.owner_handle.as_deref().map(str::to_owned).or_else(|| account.and_then(|a| a.handle.clone()));
            let (id, handle) = match (id, handle, &self.opts.account) {
                (None, None, Some(given)) => (Some(given.clone()), Some(given.trim_start_matches('@').to_owned())),
                other => (other.0, other.1),
            };
            let creator = match plan {
                Some(pl) => id
                    .as_deref()
                    .and_then(|i| pl.creator_of_account(self.platform, i))
                    .or_else(|| handle.as_deref().and_then(|h| pl.creator_of_handle(self.platform, h)))
                    .map(|c| c.creator_id.clone()),
                None => handle.as_ref().or(id.as_ref()).map(|h| format!("{}:{h}", self.platform)),
            };
            if creator.is_none() {
                if id.is_none() && handle.is_none() {
                    let at = self.post_at(k);
                    let pid = self.posts[k].post_id.to_string();
                    self.reject(
                        Table::Posts,
                        &at,
                        &at.field(""),
                        &pid,
                        "the dump does not say whose post this is (no owner, no account record in the file): give --account HANDLE",
                    );
                } else {
                    let who = match (&handle, &id) {
                        (Some(h), Some(i)) => format!("@{h} ({i})"),
                        (Some(h), None) => format!("@{h}"),
                        (None, Some(i)) => i.clone(),
                        (None, None) => unreachable!("checked"),
                    };
                    *self.unmapped.entry(who).or_default() += 1;
                    self.report.skip("posts of accounts not in the plan");
                }
            }
            self.posts[k].creator = creator.map(|c| {
                *creator_index.entry(c.clone()).or_insert_with(|| {
                    self.creator_ids.push(c);
                    (self.creator_ids.len() - 1) as u32
                })
            });
        }
        for (who, n) in std::mem::take(&mut self.unmapped) {
            self.report.notes.insert(format!("{} account not in the plan: {who} (posts skipped)", self.platform), n);
        }
        self.resolved = true;
        self.pass = Pass::Comments;
        for (c, at) in std::mem::take(&mut self.waiting) {
            self.comment(c, &at, sink)?;
        }
        Ok(())
    }

    /// Writes the tables: `creators`, `posts`, `post_snapshots` and the last `comments`.
    pub fn finish(mut self, sink: &mut Sink<'_>) -> Result<ImportReport, DataError> {
        if !self.resolved {
            self.end_posts_pass(sink)?;
        }
        // Replies whose parent came later, or never.
        let mut lost = 0u64;
        for (c, k) in std::mem::take(&mut self.orphans) {
            let parent = c.parent_id.as_deref().filter(|p| self.seen.contains_key(&digest(p)));
            if parent.is_none() {
                lost += 1;
            }
            self.write_comment(&c, k as usize, parent, sink)?;
        }
        if lost > 0 {
            self.report.notes.insert("replies whose parent is not in the export (deleted or not pulled)".into(), lost);
        }
        if !self.comments.is_empty() {
            sink(Table::Comments, self.comments.finish())?;
        }
        let n_creators = self.write_creators(sink)?;
        let (n_posts, n_snaps) = self.write_posts(sink)?;
        let w = &mut self.report.written;
        w.insert("creators".into(), n_creators);
        w.insert("posts".into(), n_posts);
        w.insert("post_snapshots".into(), n_snaps);
        w.insert("comments".into(), self.written_comments);
        Ok(self.report)
    }

    fn write_creators(&mut self, sink: &mut Sink<'_>) -> Result<u64, DataError> {
        // By the platform's id first: handles are not unique across a plan's history.
        fn find<'a>(accounts: &'a [AccountRead], id: Option<&str>, handle: &str) -> Option<&'a AccountRead> {
            id.and_then(|i| accounts.iter().find(|a| a.account_id.as_deref() == Some(i))).or_else(|| {
                accounts.iter().find(|a| a.handle.as_deref().is_some_and(|h| h.eq_ignore_ascii_case(handle)))
            })
        }
        let mut b = RowBuilder::for_table(Table::Creators);
        let mut n = 0u64;
        if let Some(plan) = self.opts.plan.as_ref() {
            for c in plan.creators.iter().filter(|c| c.platform == self.platform) {
                let a = find(&self.accounts, c.account_id.as_deref(), &c.handle);
                if a.is_some_and(|a| a.followers.is_none()) {
                    self.report.note("accounts hiding their follower count (the plan's count is kept)");
                }
                b.text(&c.creator_id)
                    .text(self.platform)
                    .text(&c.handle)
                    .int(a.and_then(|a| a.followers).unwrap_or(c.followers))
                    .opt_int(a.and_then(|a| a.following))
                    .opt_int(a.and_then(|a| a.posts_count))
                    .opt_ts(a.and_then(|a| a.created_at))
                    .opt_text(c.niche.as_deref())
                    .opt_text(c.country.as_deref())
                    .end_row();
                n += 1;
            }
        } else {
            let mut seen = std::collections::BTreeSet::new();
            let mut missing = Vec::new();
            for (k, p) in self.posts.iter().enumerate() {
                let Some(c) = p.creator else { continue };
                if !seen.insert(c) {
                    continue;
                }
                let id = &self.creator_ids[c as usize];
                let key = id.split_once(':').map_or(id.as_str(), |(_, h)| h);
                let a = find(&self.accounts, Some(key), key);
                let Some(followers) = a.and_then(|a| a.followers) else {
                    missing.push((k, key.to_owned()));
                    continue;
                };
                let handle = a.and_then(|a| a.handle.clone()).unwrap_or_else(|| key.to_owned());
                b.text(id)
                    .text(self.platform)
                    .text(&handle)
                    .int(followers)
                    .opt_int(a.and_then(|a| a.following))
                    .opt_int(a.and_then(|a| a.posts_count))
                    .opt_ts(a.and_then(|a| a.created_at))
                    .opt_text(None)
                    .opt_text(None)
                    .end_row();
                n += 1;
            }
            for (k, key) in missing {
                let at = self.post_at(k);
                self.reject(
                    Table::Creators,
                    &at,
                    "followers",
                    &key,
                    "no follower count for this account (no account record, or the count is hidden): give the creator in --plan with `followers`",
                );
            }
        }
        if n > 0 {
            sink(Table::Creators, b.finish())?;
        }
        Ok(n)
    }

    fn write_posts(&mut self, sink: &mut Sink<'_>) -> Result<(u64, u64), DataError> {
        let mut pb = RowBuilder::for_table(Table::Posts);
        let mut sb = RowBuilder::for_table(Table::PostSnapshots);
        let (mut n_posts, mut n_snaps) = (0u64, 0u64);
        let plan = self.opts.plan.clone();
        let posts = std::mem::take(&mut self.posts);
        for mut p in posts {
            let Some(c) = p.creator else { continue };
            let creator = self.creator_ids[c as usize].clone();
            let at = || At { file: self.files[p.file as usize].clone(), row: p.row, path: p.path.to_string() };
            let (Some(format), Some(published_at)) = (p.format, p.published_at) else {
                let missing = if p.format.is_none() { "its media type" } else { "its publication time" };
                let a = at();
                self.reject(
                    Table::Posts,
                    &a,
                    &a.field(""),
                    &p.post_id,
                    format!("the dump has metrics for this post but not {missing}: include the post's own record (media / video list)"),
                );
                continue;
            };
            let mut ids = vec![&*p.post_id];
            ids.extend(p.permalink.as_deref());
            let listed = plan.as_ref().and_then(|pl| pl.post(&ids));
            if let Some(l) = listed
                && l.creator_id != creator
            {
                let a = at();
                self.reject(
                    Table::Posts,
                    &a,
                    &a.field(""),
                    &p.post_id,
                    format!(
                        "the plan lists this post for creator {} but the platform says it is {creator}'s",
                        l.creator_id
                    ),
                );
                continue;
            }
            let campaign = match listed {
                Some(l) => l.campaign_id.clone(),
                None => plan.as_ref().and_then(|pl| {
                    pl.campaign_by_rules(&creator, published_at, p.rule_caption.as_deref().unwrap_or(""), p.flagged)
                        .map(str::to_owned)
                }),
            };
            let sponsored = p.flagged.unwrap_or(listed.is_some() || campaign.is_some() || p.disclosed);
            p.snaps.sort_by_key(|x| x.at);
            let mut c = p.newest;
            if let Some(u) = &p.untimed {
                c.fill_from(u);
            }
            pb.text(&p.post_id)
                .text(&creator)
                .opt_text(campaign.as_deref())
                .text(self.platform)
                .text(format)
                .ts(published_at)
                .bool(sponsored)
                .opt_int(c.impressions)
                .opt_int(c.reach)
                .opt_int(c.views)
                .opt_int(c.engaged_views)
                .opt_int(c.likes)
                .opt_int(c.comments)
                .opt_int(c.shares)
                .opt_int(c.saves)
                .opt_int(c.link_clicks)
                .opt_float(c.watch_time_s)
                .end_row();
            n_posts += 1;
            for x in &p.snaps {
                sb.text(&p.post_id).ts(x.at);
                for v in x.vals {
                    sb.opt_int(v);
                }
                sb.end_row();
                n_snaps += 1;
            }
            if pb.len() >= COMMENT_BATCH {
                sink(Table::Posts, pb.finish())?;
            }
            if sb.len() >= COMMENT_BATCH {
                sink(Table::PostSnapshots, sb.finish())?;
            }
        }
        if !pb.is_empty() || n_posts == 0 {
            sink(Table::Posts, pb.finish())?;
        }
        if !sb.is_empty() {
            sink(Table::PostSnapshots, sb.finish())?;
        }
        Ok((n_posts, n_snaps))
    }
}

/// The rows of a dashboard CSV: reads of posts and the values refused, handed to the
/// import once the file is read.
#[derive(Default)]
pub struct CsvReads {
    reads: Vec<(PostRead, At)>,
    rejects: Vec<(At, String, String, String)>,
}

impl CsvReads {
    /// Refuses `value` of `column` in the row at `at`.
    pub fn reject(&mut self, at: &At, column: &str, value: &str, reason: impl Into<String>) {
        self.rejects.push((at.clone(), column.to_owned(), value.to_owned(), reason.into()));
    }

    /// Reads the count columns of a row into their slots (empty cells stay null).
    pub fn counts<'c>(
        &mut self,
        row: &super::headers::Row<'_>,
        at: &At,
        columns: impl IntoIterator<Item = (&'c str, &'c mut Option<i64>)>,
    ) {
        for (col, slot) in columns {
            match count_text(row.get(col)) {
                Ok(n) => *slot = n,
                Err(e) => self.reject(at, col, row.get(col), e),
            }
        }
    }

    /// Adds a read.
    pub fn push(&mut self, read: PostRead, at: At) {
        self.reads.push((read, at));
    }

    /// Hands the file's rejects and reads to the import.
    pub fn finish(self, s: &mut Social<'_>, file: super::FileRead) {
        for (at, col, value, reason) in self.rejects {
            s.reject(Table::Posts, &at, &col, &value, reason);
        }
        for (r, at) in self.reads {
            s.post(r, &at);
        }
        s.report.files.push(file);
    }
}

/// A platform import: the files in two passes (accounts and posts, then comments) through
/// `read`, then the tables written.
pub fn run(
    platform: &'static str,
    paths: &[PathBuf],
    opts: &ImportOptions,
    sink: &mut Sink<'_>,
    is_comment_file: impl Fn(&Path) -> bool,
    read: impl Fn(&mut Social<'_>, &Path, &mut Sink<'_>) -> Result<(), DataError>,
) -> Result<ImportReport, DataError> {
    let mut s = Social::new(platform, opts);
    let (posts, comments) = order_files(paths, is_comment_file);
    for p in &posts {
        read(&mut s, p, sink)?;
    }
    s.end_posts_pass(sink)?;
    for p in &comments {
        read(&mut s, p, sink)?;
    }
    s.finish(sink)
}

/// Orders a platform's files: API dumps, then dashboard CSVs, then the files whose first
/// record is a comment, newest pull first (so a comment pulled twice keeps its latest likes).
pub fn order_files(paths: &[PathBuf], is_comment_file: impl Fn(&Path) -> bool) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let (mut comments, mut posts): (Vec<PathBuf>, Vec<PathBuf>) =
        paths.iter().cloned().partition(|p| is_comment_file(p));
    comments.sort_by_key(|p| std::cmp::Reverse(path_observed(p).unwrap_or(i64::MIN)));
    // Dashboard CSVs after the API dumps: the API's publication time (to the second) is
    // kept over the CSV's minute or day.
    posts.sort_by_key(|p| is_csv(p));
    (posts, comments)
}

/// The first JSON record of a file (a page's first item), for telling file kinds apart.
#[must_use]
pub fn first_record(path: &Path) -> Option<Value> {
    let mut first = None;
    let _ = jsonl::for_each_document(path, &["data", "items", "videos", "comments"], |l| {
        first = Some(l.value);
        // Stop at the first record: any error ends the walk.
        Err(DataError::InvalidRow { path: path.to_owned(), row: 0, column: String::new(), reason: String::new() })
    });
    first
}

/// Whether `path` is a CSV file (by extension).
#[must_use]
pub fn is_csv(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv"))
}

/// The platform a JSON record looks like it came from, for "wrong importer" errors.
#[must_use]
pub fn looks_like(v: &Value) -> Option<&'static str> {
    // Look inside envelopes: `{"data": {"videos": [...]}}`, `{"items": [...]}`.
    for inner in ["data", "items", "videos", "user", "comments"] {
        match v.get(inner) {
            Some(Value::Array(a)) if !a.is_empty() => return looks_like(&a[0]),
            Some(o @ Value::Object(_)) => {
                if let Some(x) = looks_like(o) {
                    return Some(x);
                }
            }
            _ => {}
        }
    }
    let has = |k: &str| v.get(k).is_some();
    let kind = v.get("kind").and_then(Value::as_str).unwrap_or("");
    if kind.starts_with("youtube") || has("snippet") || has("columnHeaders") {
        Some("youtube")
    } else if has("create_time") || has("video_description") || has("open_id") || has("share_url") {
        Some("tiktok")
    } else if has("media_type") || has("media_product_type") || has("followers_count") || has("permalink") {
        Some("instagram")
    } else {
        None
    }
}

/// The error for a record that is another platform's: names the importer to use.
#[must_use]
pub fn wrong_platform(this: &str, v: &Value) -> String {
    match looks_like(v) {
        Some(other) if other != this => {
            format!("this looks like a {other} API object, not {this}: import it with `roicast import {other}`")
        }
        _ => format!("not a {this} API object this importer knows (see docs/importers.md for the shapes it reads)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_read_from_numbers_and_strings_and_negative_ones_are_refused() {
        let v = serde_json::json!({"a": 12, "b": "1,520", "c": "-3", "d": "12k", "e": null, "f": "1 234", "g": 2.5, "h": "1,5"});
        assert_eq!(count(&v, "a"), Ok(Some(12)));
        assert_eq!(count(&v, "b"), Ok(Some(1520)));
        assert!(count(&v, "c").unwrap_err().contains("negative"));
        assert!(count(&v, "d").unwrap_err().contains("not a count"));
        assert_eq!(count(&v, "e"), Ok(None), "null is not zero");
        assert_eq!(count(&v, "missing"), Ok(None));
        assert_eq!(count(&v, "f"), Ok(Some(1234)));
        assert!(count(&v, "g").is_err());
        assert!(count(&v, "h").is_err(), "a decimal comma is not a thousands separator");
    }

    #[test]
    fn html_comment_text_is_unescaped() {
        assert_eq!(html_text("Love it &amp; more<br>next &#39;line&#39; &#x1F600;"), "Love it & more\nnext 'line' 😀");
        assert_eq!(html_text("<a href=\"x\">@ava</a> so good &lt;3"), "@ava so good <3");
        assert_eq!(html_text("AT&T & co"), "AT&T & co");
    }

    #[test]
    fn pulls_are_timed_by_their_folder() {
        let t = path_observed(Path::new("pulls/2024-05-01T10-00-00Z/media.json")).unwrap();
        assert_eq!(t, chrono::DateTime::parse_from_rfc3339("2024-05-01T10:00:00Z").unwrap().timestamp_micros());
        assert_eq!(path_observed(Path::new("pulls/20240501T100000Z.ndjson")), Some(t));
        assert!(path_observed(Path::new("exports/media.json")).is_none());
        assert!(api_time("2024-05-01T10:00:00").unwrap_err().contains("no UTC offset"));
        assert_eq!(api_time("2024-05-01T10:00:00+0000"), Ok(t));
        for (fast, general) in [
            ("2024-05-01T12:30:00+02:30", "2024-05-01 12:30:00 +0230"),
            ("2024-05-01T05:00:00-05:00", "2024-05-01 05:00:00 -0500"),
            ("2019-11-02T17:00:00.123456Z", "2019-11-02T17:00:00.123456Z"),
            ("2019-11-02T17:00:00.5Z", "2019-11-02T17:00:00.500Z"),
        ] {
            assert_eq!(fast_time(fast), crate::import::time::parse_timestamp_us(general, None).ok(), "{fast}");
        }
        assert_eq!(fast_time("2024-02-30T10:00:00Z"), None, "no such day: the general parser says why");
        assert!(api_time("2024-02-30T10:00:00Z").is_err());
    }
}
