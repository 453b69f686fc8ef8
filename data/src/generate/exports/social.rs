//! The world's creator accounts, posts, snapshots and comments as the platforms' APIs and
//! dashboards give them (`roicast generate --exports DIR`), for `roicast import instagram
//! | tiktok | youtube`:
//!
//! * `instagram/accounts.json` (account objects), `instagram/media.ndjson` (`/media`
//!   pages of 25, one a line: every snapshot of a post is a pull of it with its
//!   `fetched_at`, counters and `insights{views, shares, saved}`; the last pull also carries
//!   caption, permalink, reach, impressions and `ig_reels_video_view_total_time` in ms),
//!   `instagram/comments.ndjson` (comment pages with `media{id}`, `from{id}`, `parent_id`).
//! * `tiktok/users.ndjson` (`/v2/user/info/` responses), `tiktok/videos.ndjson`
//!   (`/v2/video/list/` pages of 20 in the `data`/`error` envelope, `create_time` epoch
//!   seconds, `share_url` with the `@handle`), `tiktok/comments.ndjson` (Research API
//!   comment pages, top-level `parent_comment_id` = the video), `tiktok/studio.csv`
//!   (favourites and play time; `Post time` at −04:00 to the minute: import with
//!   `--timezone -04:00`).
//! * `youtube/channels.json` (`subscriberCount` rounded to three significant figures as
//!   strings), `youtube/videos.ndjson` (`videos.list` pages, `statistics` as strings,
//!   ISO 8601 durations: Shorts 15–59 s, videos 4–20 min), `youtube/report.json`
//!   (Analytics `dimensions=video`: shares, engaged views, minutes watched),
//!   `youtube/table_data.csv` (Studio, with its `Total` row: impressions),
//!   `youtube/comment_threads.ndjson` (threads with their replies; one comment in five with
//!   only the HTML `textDisplay`).
//!
//! What the formats lose (and the round-trip test asserts): every time to the second;
//! Instagram's link clicks (no such media metric) and account creation time; TikTok's
//! reach, snapshot saves, live format (its API lists videos: a live reads as `short`),
//! account creation time and comment authors (the Research API names none); YouTube's
//! link clicks, following count, exact subscriber count, snapshot shares, watch time below
//! the minute, and reply depth (threads are one level: a reply to a reply is the thread's
//! reply); every comment's `label` (platforms do not label).

use std::collections::{BTreeMap, HashMap};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::pick;
use super::vendors::{csv_file, local, rows, utc};
use crate::io::AtomicFile;
use crate::{DataError, Dataset, Table};

const SECOND: i64 = 1_000_000;

/// A time to the second, as the platforms write it.
#[must_use]
pub fn to_second(us: i64) -> i64 {
    us - us.rem_euclid(SECOND)
}

fn fnv(key: &str, salt: u64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ salt;
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The platform's id of a generated creator's account: an Instagram user id, a TikTok
/// `open_id`, a YouTube channel id.
#[must_use]
pub fn account_id(platform: &str, creator_id: &str) -> String {
    let h = fnv(creator_id, 0);
    match platform {
        "instagram" => format!("1784{:013}", h % 10_000_000_000_000),
        "tiktok" => format!("-000{h:016x}"),
        _ => format!("UC{:016x}{:06x}", h, fnv(creator_id, 1) % 0x100_0000),
    }
}

/// A YouTube subscriber count as the API shows it: three significant figures, rounded down.
#[must_use]
pub fn youtube_subscribers(n: i64) -> i64 {
    let mut d = 1;
    while n / d >= 1000 {
        d *= 10;
    }
    n / d * d
}

/// Seconds of a generated YouTube or TikTok post (stable per post).
#[must_use]
pub fn duration_s(post_id: &str, format: &str) -> i64 {
    let r = pick(post_id, 1000) as i64;
    match format {
        "short" => 15 + r % 45,
        "live" => 1800 + r * 3,
        _ => 240 + r * 96 / 100,
    }
}

struct Post {
    id: String,
    creator: String,
    handle: String,
    campaign: Option<String>,
    platform: String,
    format: String,
    published: i64,
    impressions: Option<i64>,
    reach: Option<i64>,
    views: Option<i64>,
    engaged: Option<i64>,
    likes: Option<i64>,
    comments: Option<i64>,
    shares: Option<i64>,
    saves: Option<i64>,
    watch: Option<f64>,
}

#[derive(Clone, Copy)]
struct Snap {
    at: i64,
    views: Option<i64>,
    likes: Option<i64>,
    comments: Option<i64>,
    shares: Option<i64>,
    saves: Option<i64>,
}

struct Comment {
    id: String,
    post: String,
    author: Option<String>,
    text: String,
    at: i64,
    likes: Option<i64>,
    parent: Option<String>,
}

struct Account {
    handle: String,
    followers: i64,
    following: Option<i64>,
    posts_count: Option<i64>,
    created_at: Option<i64>,
}

fn iso(us: i64) -> String {
    utc(to_second(us), "%Y-%m-%dT%H:%M:%SZ")
}

fn ig_time(us: i64) -> String {
    utc(to_second(us), "%Y-%m-%dT%H:%M:%S+0000")
}

fn thousands(n: i64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// An NDJSON file written a page at a time: records are buffered up to a page and the
/// page envelope `wrap(records, page number, last?)` written as one line.
struct Pages {
    rel: String,
    path: PathBuf,
    file: AtomicFile,
    w: Option<std::io::BufWriter<std::fs::File>>,
    size: usize,
    buf: Vec<Value>,
    n: usize,
}

impl Pages {
    fn create(dir: &Path, rel: &str, size: usize) -> Result<Pages, DataError> {
        let path = dir.join(rel);
        if let Some(p) = path.parent() {
            std::fs::create_dir_all(p).map_err(DataError::io(p))?;
        }
        let mut file = AtomicFile::create(&path)?;
        let w = Some(std::io::BufWriter::new(file.file().try_clone().map_err(DataError::io(&path))?));
        Ok(Pages { rel: rel.to_owned(), path, file, w, size, buf: Vec::with_capacity(size), n: 0 })
    }

    fn push(&mut self, v: Value, wrap: &dyn Fn(Vec<Value>, usize) -> Value) -> Result<(), DataError> {
        self.buf.push(v);
        if self.buf.len() == self.size {
            self.flush(wrap)?;
        }
        Ok(())
    }

    fn flush(&mut self, wrap: &dyn Fn(Vec<Value>, usize) -> Value) -> Result<(), DataError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let page = wrap(std::mem::take(&mut self.buf), self.n);
        self.n += 1;
        let w = self.w.as_mut().expect("open until finished");
        serde_json::to_writer(&mut *w, &page).map_err(|e| DataError::io(&self.path)(e.into()))?;
        w.write_all(b"\n").map_err(DataError::io(&self.path))
    }

    fn finish(mut self, wrap: &dyn Fn(Vec<Value>, usize) -> Value) -> Result<PathBuf, DataError> {
        self.flush(wrap)?;
        if let Some(mut w) = self.w.take() {
            w.flush().map_err(DataError::io(&self.path))?;
        }
        self.file.commit()?;
        Ok(PathBuf::from(self.rel))
    }
}

fn ndjson(dir: &Path, rel: &str, lines: &[Value]) -> Result<PathBuf, DataError> {
    let path = dir.join(rel);
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).map_err(DataError::io(p))?;
    }
    let mut file = AtomicFile::create(&path)?;
    {
        let mut w = std::io::BufWriter::new(file.file());
        for l in lines {
            serde_json::to_writer(&mut w, l).map_err(|e| DataError::io(&path)(e.into()))?;
            w.write_all(b"\n").map_err(DataError::io(&path))?;
        }
        w.flush().map_err(DataError::io(&path))?;
    }
    file.commit()?;
    Ok(PathBuf::from(rel))
}

fn json_file(dir: &Path, rel: &str, v: &Value) -> Result<PathBuf, DataError> {
    let path = dir.join(rel);
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).map_err(DataError::io(p))?;
    }
    let mut file = AtomicFile::create(&path)?;
    serde_json::to_writer_pretty(file.file(), v).map_err(|e| DataError::io(&path)(e.into()))?;
    file.commit()?;
    Ok(PathBuf::from(rel))
}

/// Writes the platform exports into `dir`; returns the files written (relative to `dir`).
pub fn write(dataset: &Dataset, dir: &Path) -> Result<Vec<PathBuf>, DataError> {
    let mut accounts: BTreeMap<(String, String), Account> = BTreeMap::new();
    rows(dataset, Table::Creators, |c, i| {
        let key = (
            c.text("creator_id", i).unwrap_or_default().to_owned(),
            c.text("platform", i).unwrap_or_default().to_owned(),
        );
        accounts.insert(
            key,
            Account {
                handle: c.text("handle", i).unwrap_or_default().to_owned(),
                followers: c.int("followers", i).unwrap_or_default(),
                following: c.int("following", i),
                posts_count: c.int("posts_count", i),
                created_at: c.ts("account_created_at", i),
            },
        );
    })?;
    let mut posts = Vec::new();
    rows(dataset, Table::Posts, |c, i| {
        posts.push(Post {
            id: c.text("post_id", i).unwrap_or_default().to_owned(),
            creator: c.text("creator_id", i).unwrap_or_default().to_owned(),
            handle: String::new(),
            campaign: c.text("campaign_id", i).map(str::to_owned),
            platform: c.text("platform", i).unwrap_or_default().to_owned(),
            format: c.text("format", i).unwrap_or_default().to_owned(),
            published: c.ts("published_at", i).unwrap_or_default(),
            impressions: c.int("impressions", i),
            reach: c.int("reach", i),
            views: c.int("views", i),
            engaged: c.int("engaged_views", i),
            likes: c.int("likes", i),
            comments: c.int("comments", i),
            shares: c.int("shares", i),
            saves: c.int("saves", i),
            watch: c.float("watch_time_s", i),
        });
    })?;
    let mut snaps: HashMap<String, Vec<Snap>> = HashMap::new();
    rows(dataset, Table::PostSnapshots, |c, i| {
        snaps.entry(c.text("post_id", i).unwrap_or_default().to_owned()).or_default().push(Snap {
            at: c.ts("observed_at", i).unwrap_or_default(),
            views: c.int("views", i),
            likes: c.int("likes", i),
            comments: c.int("comments", i),
            shares: c.int("shares", i),
            saves: c.int("saves", i),
        });
    })?;
    for v in snaps.values_mut() {
        v.sort_by_key(|s| s.at);
    }
    let mut comments: BTreeMap<String, Vec<Comment>> = BTreeMap::new();
    rows(dataset, Table::Comments, |c, i| {
        let post = c.text("post_id", i).unwrap_or_default().to_owned();
        comments.entry(post.clone()).or_default().push(Comment {
            id: c.text("comment_id", i).unwrap_or_default().to_owned(),
            post,
            author: c.text("author_id", i).map(str::to_owned),
            text: c.text("text", i).unwrap_or_default().to_owned(),
            at: c.ts("created_at", i).unwrap_or_default(),
            likes: c.int("likes", i),
            parent: c.text("parent_comment_id", i).map(str::to_owned),
        });
    })?;
    for p in &mut posts {
        p.handle =
            accounts.get(&(p.creator.clone(), p.platform.clone())).map_or_else(String::new, |a| a.handle.clone());
    }
    let mut files = Vec::new();
    files.extend(instagram(dir, &accounts, &posts, &snaps, &comments)?);
    files.extend(tiktok(dir, &accounts, &posts, &snaps, &comments)?);
    files.extend(youtube(dir, &accounts, &posts, &snaps, &comments)?);
    Ok(files)
}

/// The pulls of a post: its snapshots, the last one carrying the full record.
fn pulls<'a>(p: &Post, snaps: &'a HashMap<String, Vec<Snap>>) -> Vec<(Option<&'a Snap>, bool)> {
    match snaps.get(&p.id) {
        Some(list) if !list.is_empty() => {
            list.iter().enumerate().map(|(k, s)| (Some(s), k + 1 == list.len())).collect()
        }
        _ => vec![(None, true)],
    }
}

fn caption(p: &Post) -> String {
    match &p.campaign {
        Some(c) => format!("Loving my Lumina routine ✨ #ad #lumina {}", c.to_lowercase()),
        None => "a day in my life 🌿".to_owned(),
    }
}

type Accounts = BTreeMap<(String, String), Account>;
type Comments = BTreeMap<String, Vec<Comment>>;

fn instagram(
    dir: &Path,
    accounts: &Accounts,
    posts: &[Post],
    snaps: &HashMap<String, Vec<Snap>>,
    comments: &Comments,
) -> Result<Vec<PathBuf>, DataError> {
    let list: Vec<Value> = accounts
        .iter()
        .filter(|((_, p), _)| p == "instagram")
        .map(|((id, _), a)| {
            json!({
                "id": account_id("instagram", id),
                "username": a.handle,
                "followers_count": a.followers,
                "follows_count": a.following,
                "media_count": a.posts_count,
            })
        })
        .collect();
    if list.is_empty() {
        return Ok(Vec::new());
    }
    let mut files = vec![json_file(dir, "instagram/accounts.json", &Value::Array(list))?];
    let media_page = |page: Vec<Value>, k: usize| json!({"data": page, "paging": {"cursors": {"before": format!("QVFI{k:06}"), "after": format!("QVFJ{:06}", k + 1)}}});
    let mut media = Pages::create(dir, "instagram/media.ndjson", 25)?;
    let mut posted: Vec<&Post> = posts.iter().filter(|p| p.platform == "instagram").collect();
    posted.sort_by_key(|p| p.published);
    for p in &posted {
        let (media_type, product) = match p.format.as_str() {
            "reel" => ("VIDEO", "REELS"),
            "story" => ("VIDEO", "STORY"),
            "carousel" => ("CAROUSEL_ALBUM", "FEED"),
            "video" => ("VIDEO", "FEED"),
            _ => ("IMAGE", "FEED"),
        };
        for (snap, last) in pulls(p, snaps) {
            let metric = |name: &str, v: Option<i64>| {
                v.map(|v| json!({"name": name, "period": "lifetime", "values": [{"value": v}], "id": format!("{}/insights/{name}/lifetime", p.id)}))
            };
            let (views, likes, comments_n, shares, saves) = match (snap, last) {
                (Some(s), false) => (s.views, s.likes, s.comments, s.shares, s.saves),
                _ => (p.views, p.likes, p.comments, p.shares, p.saves),
            };
            let mut insights: Vec<Value> = [metric("views", views), metric("shares", shares), metric("saved", saves)]
                .into_iter()
                .flatten()
                .collect();
            let mut m = json!({
                "id": p.id,
                "media_type": media_type,
                "media_product_type": product,
                "timestamp": ig_time(p.published),
                "owner": {"id": account_id("instagram", &p.creator)},
                "username": p.handle,
            });
            if let Some(l) = likes {
                m["like_count"] = json!(l);
            }
            if let Some(c) = comments_n {
                m["comments_count"] = json!(c);
            }
            if let Some(s) = snap {
                m["fetched_at"] = json!(iso(s.at));
            }
            if last {
                m["caption"] = json!(caption(p));
                m["permalink"] = json!(format!("https://www.instagram.com/p/{}/", p.id));
                insights.extend(
                    [
                        metric("reach", p.reach),
                        metric("impressions", p.impressions),
                        metric("ig_reels_video_view_total_time", p.watch.map(|w| (w * 1000.0).round() as i64)),
                    ]
                    .into_iter()
                    .flatten(),
                );
            }
            if !insights.is_empty() {
                m["insights"] = json!({ "data": insights });
            }
            media.push(m, &media_page)?;
        }
    }
    files.push(media.finish(&media_page)?);
    let as_line = |mut page: Vec<Value>, _: usize| page.pop().unwrap_or(Value::Null);
    let mut lines = Pages::create(dir, "instagram/comments.ndjson", 1)?;
    for p in &posted {
        let Some(list) = comments.get(&p.id) else { continue };
        let records: Vec<Value> = list
            .iter()
            .map(|c| {
                let mut r = json!({"id": c.id, "text": c.text, "timestamp": ig_time(c.at), "media": {"id": c.post}});
                if let Some(a) = &c.author {
                    r["username"] = json!(a);
                    r["from"] = json!({"id": a, "username": a});
                }
                if let Some(l) = c.likes {
                    r["like_count"] = json!(l);
                }
                if let Some(par) = &c.parent {
                    r["parent_id"] = json!(par);
                }
                r
            })
            .collect();
        for page in records.chunks(50) {
            lines.push(json!({"data": page, "paging": {"cursors": {"before": "QVFI", "after": "QVFJ"}}}), &as_line)?;
        }
    }
    files.push(lines.finish(&as_line)?);
    Ok(files)
}

fn tiktok(
    dir: &Path,
    accounts: &Accounts,
    posts: &[Post],
    snaps: &HashMap<String, Vec<Snap>>,
    comments: &Comments,
) -> Result<Vec<PathBuf>, DataError> {
    let ok = || json!({"code": "ok", "message": "", "log_id": "20240101000000000000000000000000"});
    let users: Vec<Value> = accounts
        .iter()
        .filter(|((_, p), _)| p == "tiktok")
        .map(|((id, _), a)| {
            json!({"data": {"user": {
                "open_id": account_id("tiktok", id),
                "username": a.handle,
                "display_name": a.handle,
                "follower_count": a.followers,
                "following_count": a.following,
                "video_count": a.posts_count,
            }}, "error": ok()})
        })
        .collect();
    if users.is_empty() {
        return Ok(Vec::new());
    }
    let mut files = vec![ndjson(dir, "tiktok/users.ndjson", &users)?];
    let mut posted: Vec<&Post> = posts.iter().filter(|p| p.platform == "tiktok").collect();
    posted.sort_by_key(|p| p.published);
    let link = |p: &Post| format!("https://www.tiktok.com/@{}/video/{}", p.handle, p.id);
    let n_pulls: usize = posted.iter().map(|p| pulls(p, snaps).len()).sum();
    let video_page = |page: Vec<Value>, k: usize| json!({"data": {"videos": page, "cursor": k, "has_more": (k + 1) * 20 < n_pulls}, "error": ok()});
    let mut videos = Pages::create(dir, "tiktok/videos.ndjson", 20)?;
    for p in &posted {
        for (snap, last) in pulls(p, snaps) {
            let (views, likes, comments_n, shares) = match (snap, last) {
                (Some(s), false) => (s.views, s.likes, s.comments, s.shares),
                _ => (p.views, p.likes, p.comments, p.shares),
            };
            let mut v = json!({
                "id": p.id,
                "create_time": to_second(p.published) / SECOND,
                "share_url": format!("{}?utm_campaign=tt4d_open_api&utm_source=aw0000000000", link(p)),
                "view_count": views,
                "like_count": likes,
                "comment_count": comments_n,
                "share_count": shares,
            });
            if let Some(s) = snap {
                v["fetched_at"] = json!(iso(s.at));
            }
            if last {
                v["video_description"] = json!(caption(p));
                v["duration"] = json!(duration_s(&p.id, &p.format));
            }
            videos.push(v, &video_page)?;
        }
    }
    files.push(videos.finish(&video_page)?);
    let studio: Vec<Vec<String>> = posted
        .iter()
        .map(|p| {
            let n = |v: Option<i64>| v.map(thousands).unwrap_or_default();
            let eastern = chrono::FixedOffset::west_opt(4 * 3600).expect("valid offset");
            vec![
                caption(p),
                link(p),
                local(p.published, eastern, "%Y-%m-%d %H:%M"),
                n(p.likes),
                n(p.comments),
                n(p.shares),
                n(p.views),
                p.watch.map(|w| w.to_string()).unwrap_or_default(),
                String::new(),
                String::new(),
                n(p.saves),
            ]
        })
        .collect();
    let header = [
        "Video title",
        "Video link",
        "Post time",
        "Total likes",
        "Total comments",
        "Total shares",
        "Total views",
        "Total play time",
        "Average watch time",
        "Watched full video",
        "Add to favorites",
    ];
    files.push(csv_file(dir, "tiktok/studio.csv", &header, &studio)?);
    let mut lines = Pages::create(dir, "tiktok/comments.ndjson", 1)?;
    let as_line = |mut page: Vec<Value>, _: usize| page.pop().unwrap_or(Value::Null);
    for p in &posted {
        let Some(list) = comments.get(&p.id) else { continue };
        let mut replies: HashMap<&str, usize> = HashMap::new();
        for c in list {
            if let Some(par) = &c.parent {
                *replies.entry(par.as_str()).or_default() += 1;
            }
        }
        let records: Vec<Value> = list
            .iter()
            .map(|c| {
                json!({
                    "id": c.id,
                    "video_id": c.post,
                    "text": c.text,
                    "like_count": c.likes,
                    "reply_count": replies.get(c.id.as_str()).copied().unwrap_or(0),
                    "parent_comment_id": c.parent.clone().unwrap_or_else(|| c.post.clone()),
                    "create_time": to_second(c.at) / SECOND,
                })
            })
            .collect();
        let n = records.len();
        for (k, page) in records.chunks(100).enumerate() {
            let line = json!({"data": {"comments": page, "cursor": (k + 1) * 100, "has_more": (k + 1) * 100 < n}, "error": ok()});
            lines.push(line, &as_line)?;
        }
    }
    files.push(lines.finish(&as_line)?);
    Ok(files)
}

/// The top-level comment of `id`'s thread.
fn root<'a>(parent_of: &HashMap<&'a str, Option<&'a str>>, mut id: &'a str) -> &'a str {
    while let Some(Some(par)) = parent_of.get(id) {
        id = par;
    }
    id
}

/// The HTML YouTube shows for a comment (`textDisplay`).
fn html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
        .replace('\n', "<br>")
}

fn youtube(
    dir: &Path,
    accounts: &Accounts,
    posts: &[Post],
    snaps: &HashMap<String, Vec<Snap>>,
    comments: &Comments,
) -> Result<Vec<PathBuf>, DataError> {
    let channels: Vec<Value> = accounts
        .iter()
        .filter(|((_, p), _)| p == "youtube")
        .map(|((id, _), a)| {
            let mut snippet = json!({"title": a.handle, "customUrl": format!("@{}", a.handle)});
            if let Some(t) = a.created_at {
                snippet["publishedAt"] = json!(iso(t));
            }
            json!({
                "kind": "youtube#channel",
                "etag": format!("e{}", pick(id, 1_000_000)),
                "id": account_id("youtube", id),
                "snippet": snippet,
                "statistics": {
                    "subscriberCount": youtube_subscribers(a.followers).to_string(),
                    "hiddenSubscriberCount": false,
                    "videoCount": a.posts_count.map(|n| n.to_string()),
                },
            })
        })
        .collect();
    if channels.is_empty() {
        return Ok(Vec::new());
    }
    let mut files = vec![json_file(
        dir,
        "youtube/channels.json",
        &json!({"kind": "youtube#channelListResponse", "etag": "channels", "pageInfo": {"totalResults": channels.len(), "resultsPerPage": 50}, "items": channels}),
    )?];
    let mut posted: Vec<&Post> = posts.iter().filter(|p| p.platform == "youtube").collect();
    posted.sort_by_key(|p| p.published);
    let video_page = |page: Vec<Value>, k: usize| json!({"kind": "youtube#videoListResponse", "etag": format!("p{k}"), "pageInfo": {"totalResults": page.len(), "resultsPerPage": 50}, "items": page});
    let mut items = Pages::create(dir, "youtube/videos.ndjson", 50)?;
    for p in &posted {
        for (snap, last) in pulls(p, snaps) {
            let (views, likes, comments_n) = match (snap, last) {
                (Some(s), false) => (s.views, s.likes, s.comments),
                _ => (p.views, p.likes, p.comments),
            };
            let mut statistics = json!({"favoriteCount": "0"});
            for (k, v) in [("viewCount", views), ("likeCount", likes), ("commentCount", comments_n)] {
                if let Some(v) = v {
                    statistics[k] = json!(v.to_string());
                }
            }
            let mut v = json!({"kind": "youtube#video", "etag": format!("v{}", pick(&p.id, 1_000_000)), "id": p.id, "statistics": statistics});
            if let Some(s) = snap {
                v["fetched_at"] = json!(iso(s.at));
            }
            if last {
                v["snippet"] = json!({
                    "publishedAt": iso(p.published),
                    "channelId": account_id("youtube", &p.creator),
                    "title": caption(p),
                    "description": "",
                    "liveBroadcastContent": "none",
                });
                v["contentDetails"] = json!({"duration": format!("PT{}S", duration_s(&p.id, &p.format))});
                v["paidProductPlacementDetails"] = json!({"hasPaidProductPlacement": p.campaign.is_some()});
            }
            items.push(v, &video_page)?;
        }
    }
    files.push(items.finish(&video_page)?);
    let headers = ["video", "views", "estimatedMinutesWatched", "likes", "comments", "shares", "engagedViews"];
    let report_rows: Vec<Value> = posted
        .iter()
        .map(|p| {
            json!([p.id, p.views, p.watch.map(|w| (w / 60.0).round() as i64), p.likes, p.comments, p.shares, p.engaged])
        })
        .collect();
    files.push(json_file(
        dir,
        "youtube/report.json",
        &json!({
            "kind": "youtubeAnalytics#resultTable",
            "columnHeaders": headers.iter().map(|h| json!({"name": h, "columnType": if *h == "video" {"DIMENSION"} else {"METRIC"}, "dataType": if *h == "video" {"STRING"} else {"INTEGER"}})).collect::<Vec<_>>(),
            "rows": report_rows,
        }),
    )?);
    let n = |v: Option<i64>| v.map(|x| x.to_string()).unwrap_or_default();
    let total = |f: &dyn Fn(&Post) -> Option<i64>| posted.iter().filter_map(|p| f(p)).sum::<i64>().to_string();
    let mut table = vec![vec![
        "Total".to_owned(),
        String::new(),
        String::new(),
        String::new(),
        total(&|p| p.views),
        String::new(),
        total(&|p| p.impressions),
        total(&|p| p.likes),
        total(&|p| p.comments),
        total(&|p| p.shares),
    ]];
    for p in &posted {
        table.push(vec![
            p.id.clone(),
            caption(p),
            utc(p.published, "%b %-d, %Y"),
            duration_s(&p.id, &p.format).to_string(),
            n(p.views),
            p.watch.map(|w| format!("{:.4}", w / 3600.0)).unwrap_or_default(),
            n(p.impressions),
            n(p.likes),
            n(p.comments),
            n(p.shares),
        ]);
    }
    let header = [
        "Content",
        "Video title",
        "Video publish time",
        "Duration",
        "Views",
        "Watch time (hours)",
        "Impressions",
        "Likes",
        "Comments added",
        "Shares",
    ];
    files.push(csv_file(dir, "youtube/table_data.csv", &header, &table)?);
    let thread_page = |page: Vec<Value>, _: usize| json!({"kind": "youtube#commentThreadListResponse", "pageInfo": {"totalResults": page.len(), "resultsPerPage": 20}, "items": page});
    let mut lines = Pages::create(dir, "youtube/comment_threads.ndjson", 20)?;
    for p in &posted {
        let Some(list) = comments.get(&p.id) else { continue };
        let parent_of: HashMap<&str, Option<&str>> =
            list.iter().map(|c| (c.id.as_str(), c.parent.as_deref())).collect();
        let comment = |c: &Comment, parent: Option<String>| {
            let mut snippet = json!({
                "videoId": c.post,
                "textDisplay": html(&c.text),
                "likeCount": c.likes,
                "publishedAt": iso(c.at),
                "updatedAt": iso(c.at),
            });
            if pick(&c.id, 5) != 0 {
                snippet["textOriginal"] = json!(c.text);
            }
            if let Some(a) = &c.author {
                snippet["authorChannelId"] = json!({"value": a});
                snippet["authorDisplayName"] = json!(format!("@{a}"));
            }
            if let Some(par) = parent {
                snippet["parentId"] = json!(par);
            }
            json!({"kind": "youtube#comment", "id": c.id, "snippet": snippet})
        };
        let mut children: HashMap<String, Vec<&Comment>> = HashMap::new();
        for r in list.iter().filter(|r| r.parent.is_some()) {
            children.entry(root(&parent_of, &r.id).to_owned()).or_default().push(r);
        }
        let threads: Vec<Value> = list
            .iter()
            .filter(|c| c.parent.is_none())
            .map(|top| {
                let replies: Vec<Value> = children
                    .get(&top.id)
                    .map_or(&[][..], Vec::as_slice)
                    .iter()
                    .map(|r| comment(r, Some(top.id.clone())))
                    .collect();
                let mut t = json!({
                    "kind": "youtube#commentThread",
                    "id": top.id,
                    "snippet": {"videoId": top.post, "topLevelComment": comment(top, None), "totalReplyCount": replies.len()},
                });
                if !replies.is_empty() {
                    t["replies"] = json!({ "comments": replies });
                }
                t
            })
            .collect();
        // A video's threads start a new page.
        for t in threads {
            lines.push(t, &thread_page)?;
        }
        lines.flush(&thread_page)?;
    }
    files.push(lines.finish(&thread_page)?);
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn youtube_rounds_subscribers_to_three_figures_and_ids_are_stable() {
        assert_eq!(youtube_subscribers(231_456), 231_000);
        assert_eq!(youtube_subscribers(999), 999);
        assert_eq!(youtube_subscribers(1_234_567), 1_230_000);
        assert_eq!(account_id("youtube", "cr001"), account_id("youtube", "cr001"));
        assert_eq!(account_id("youtube", "cr001").len(), 24);
        assert_eq!(html("a & b <3\n'x'"), "a &amp; b &lt;3<br>&#39;x&#39;");
        assert_eq!(crate::import::social::html_text(&html("a & b <3\n'x' \"q\"")), "a & b <3\n'x' \"q\"");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
