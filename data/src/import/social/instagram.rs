//! `instagram`: Instagram Graph API responses a brand's tools saved (JSON pages, arrays or
//! NDJSON), and the Meta Business Suite posts CSV export.
//!
//! | object | fields read | becomes |
//! |---|---|---|
//! | account (`/{ig-user-id}`) | `id`, `username`, `followers_count`, `follows_count`, `media_count`, nested `media{…}` | `creators` |
//! | media (`/{ig-user-id}/media`) | `id`, `caption`, `media_type`, `media_product_type`, `timestamp`, `permalink`, `like_count`, `comments_count`, `owner{id}` / `username`, nested `insights{…}` and `comments{…}` | `posts`, `post_snapshots` |
//! | media insights (`/{ig-media-id}/insights`) | `data[{name, period, values[{value}], id}]`: `reach`, `views`, `plays`, `impressions`, `saved`, `shares`, `likes`, `comments`, `ig_reels_video_view_total_time` (ms) | `posts`, `post_snapshots` |
//! | comments (`/{ig-media-id}/comments`) | `id`, `text`, `timestamp`, `username` / `from{id}`, `like_count`, `media{id}`, `parent_id`, nested `replies{…}` | `comments` |
//!
//! Formats: `REELS` → reel, `STORY` → story, feed `CAROUSEL_ALBUM` → carousel, `IMAGE` →
//! image, `VIDEO` → video. An insight metric's media is the first part of its `id`
//! (`17855590849148465/insights/reach/lifetime`). The Graph API has no link-click metric
//! for media nor a paid-partnership flag on read: `link_clicks` comes only from the
//! Business Suite CSV's `Link clicks`, `sponsored` from the plan, its rules or the caption.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use super::{AccountRead, At, CommentRead, Counts, Pass, PostRead, Social, api_time, is_csv};
use crate::import::headers::read_csv;
use crate::import::{FileRead, ImportOptions, ImportReport, Sink, jsonl};
use crate::{DataError, Table};

/// Imports Instagram dumps and exports.
pub fn import(
    paths: &[std::path::PathBuf],
    opts: &ImportOptions,
    sink: &mut Sink<'_>,
) -> Result<ImportReport, DataError> {
    let is_comment_file = |p: &Path| !is_csv(p) && super::first_record(p).is_some_and(|v| is_comment(&v));
    super::run("instagram", paths, opts, sink, is_comment_file, read)
}

fn is_comment(v: &Value) -> bool {
    v.get("text").is_some() && v.get("media_type").is_none()
}

fn is_metric(v: &Value) -> bool {
    v.get("name").is_some() && (v.get("values").is_some() || v.get("total_value").is_some())
}

fn read(s: &mut Social<'_>, path: &Path, sink: &mut Sink<'_>) -> Result<(), DataError> {
    if is_csv(path) {
        return business_suite(s, path);
    }
    let mut ignored = BTreeSet::new();
    let mut rows = 0u64;
    let file: std::sync::Arc<Path> = std::sync::Arc::from(path);
    jsonl::for_each_document(path, &["data"], |l| {
        rows += 1;
        let at = At { file: file.clone(), row: l.row, path: l.at };
        record(s, &l.value, &at, None, None, &mut ignored, sink)
    })?;
    s.report.files.push(FileRead { path: path.to_owned(), rows, ignored_columns: ignored.into_iter().collect() });
    Ok(())
}

/// The items of a nested edge (`{"data": […], "paging": …}`) or a bare list.
fn edge<'v>(v: &'v Value, key: &str) -> &'v [Value] {
    match v.get(key) {
        Some(Value::Array(a)) => a,
        Some(o) => o.get("data").and_then(Value::as_array).map_or(&[], Vec::as_slice),
        None => &[],
    }
}

const ACCOUNT_FIELDS: &[&str] =
    &["id", "username", "followers_count", "follows_count", "media_count", "media", "name", "fetched_at"];
const MEDIA_FIELDS: &[&str] = &[
    "id",
    "caption",
    "media_type",
    "media_product_type",
    "timestamp",
    "permalink",
    "like_count",
    "comments_count",
    "owner",
    "username",
    "insights",
    "comments",
    "fetched_at",
    "observed_at",
];

#[allow(clippy::too_many_arguments)]
fn record(
    s: &mut Social<'_>,
    v: &Value,
    at: &At,
    inherited: Option<i64>,
    owner: Option<(&str, Option<&str>)>,
    ignored: &mut BTreeSet<String>,
    sink: &mut Sink<'_>,
) -> Result<(), DataError> {
    // An insights response, or a page kept whole because it carries its pull time.
    if let Some(items) = v.get("data").and_then(Value::as_array) {
        let observed = s.observed(Some(v), at, Table::Posts).or(inherited);
        for (i, item) in items.iter().enumerate() {
            let a = at.item("data", i);
            if is_metric(item) {
                metric(s, item, &a, None, observed);
            } else {
                record(s, item, &a, observed, owner, ignored, sink)?;
            }
        }
        return Ok(());
    }
    if is_metric(v) {
        let observed = s.observed(Some(v), at, Table::Posts).or(inherited);
        metric(s, v, at, None, observed);
        return Ok(());
    }
    let has = |k: &str| v.get(k).is_some();
    if has("followers_count") || has("follows_count") || has("media_count") {
        jsonl::note_ignored(v, ACCOUNT_FIELDS, ignored);
        let observed = s.observed(Some(v), at, Table::Creators).or(inherited);
        let id = jsonl::text(v, "id");
        let handle = jsonl::text(v, "username");
        let account = AccountRead {
            account_id: id.clone(),
            handle: handle.clone(),
            followers: s.count(v, "followers_count", at),
            following: s.count(v, "follows_count", at),
            posts_count: s.count(v, "media_count", at),
            created_at: None,
            observed_at: observed,
        };
        s.account(account);
        let owner_id = id.or_else(|| handle.clone()).unwrap_or_default();
        for (i, m) in edge(v, "media").iter().enumerate() {
            record(s, m, &at.item("media", i), observed, Some((&owner_id, handle.as_deref())), ignored, sink)?;
        }
        return Ok(());
    }
    if has("media_type") || has("media_product_type") || has("permalink") || has("like_count") && !has("text") {
        return media(s, v, at, inherited, owner, ignored, sink);
    }
    if has("text") {
        return comment(s, v, at, None, None, sink);
    }
    let reason = super::wrong_platform("instagram", v);
    s.reject(Table::Posts, at, &at.field(""), "", reason);
    Ok(())
}

fn format_of(media_type: Option<&str>, product: Option<&str>) -> Option<&'static str> {
    match (product.map(str::to_uppercase).as_deref(), media_type.map(str::to_uppercase).as_deref()) {
        (Some("REELS"), _) => Some("reel"),
        (Some("STORY"), _) => Some("story"),
        (_, Some("CAROUSEL_ALBUM")) => Some("carousel"),
        (_, Some("IMAGE")) => Some("image"),
        (_, Some("VIDEO")) => Some("video"),
        (Some(_) | None, Some(_)) => Some("other"),
        (_, None) => None,
    }
}

#[allow(clippy::too_many_arguments)]
fn media(
    s: &mut Social<'_>,
    v: &Value,
    at: &At,
    inherited: Option<i64>,
    owner: Option<(&str, Option<&str>)>,
    ignored: &mut BTreeSet<String>,
    sink: &mut Sink<'_>,
) -> Result<(), DataError> {
    jsonl::note_ignored(v, MEDIA_FIELDS, ignored);
    let Some(id) = jsonl::text(v, "id") else {
        s.reject(Table::Posts, at, &at.field("id"), "", "a media object needs its `id`");
        return Ok(());
    };
    let published_at = match jsonl::text(v, "timestamp") {
        None => None,
        Some(t) => match api_time(&t) {
            Ok(x) => Some(x),
            Err(e) => {
                s.reject(Table::Posts, at, &at.field("timestamp"), &t, e);
                return Ok(());
            }
        },
    };
    let observed = s.observed(Some(v), at, Table::Posts).or(inherited);
    let counts =
        Counts { likes: s.count(v, "like_count", at), comments: s.count(v, "comments_count", at), ..Counts::default() };
    let media_type = jsonl::text(v, "media_type");
    let product = jsonl::text(v, "media_product_type");
    let read = PostRead {
        post_id: id.clone(),
        owner_id: jsonl::text(v, "owner.id").or_else(|| owner.map(|o| o.0.to_owned())),
        owner_handle: jsonl::text(v, "username").or_else(|| owner.and_then(|o| o.1.map(str::to_owned))),
        format: format_of(media_type.as_deref(), product.as_deref()),
        published_at,
        permalink: jsonl::text(v, "permalink"),
        caption: jsonl::text(v, "caption"),
        flagged: None,
        observed_at: observed,
        counts,
    };
    s.post(read, at);
    for (i, m) in edge(v, "insights").iter().enumerate() {
        metric(s, m, &at.item("insights", i), Some(&id), observed);
    }
    for (i, c) in edge(v, "comments").iter().enumerate() {
        comment(s, c, &at.item("comments", i), Some(&id), None, sink)?;
    }
    Ok(())
}

/// One insight metric: `{name, period, values: [{value}], id: "<media>/insights/…"}`.
fn metric(s: &mut Social<'_>, v: &Value, at: &At, media: Option<&str>, observed: Option<i64>) {
    let name = jsonl::text(v, "name").unwrap_or_default();
    let media_id = media.map(str::to_owned).or_else(|| {
        jsonl::text(v, "id").and_then(|i| i.split('/').next().map(str::to_owned)).filter(|i| !i.is_empty())
    });
    let Some(media_id) = media_id else {
        s.reject(Table::Posts, at, &at.field("id"), &name, "an insight metric needs the `id` that names its media");
        return;
    };
    let value = v
        .get("values")
        .and_then(Value::as_array)
        .and_then(|a| a.last())
        .cloned()
        .or_else(|| v.get("total_value").cloned())
        .unwrap_or(Value::Null);
    let field = if v.get("values").is_some() { "values" } else { "total_value" };
    let vat = At { path: at.field(&format!("{field}[0]")), ..at.clone() };
    let n = s.count(&value, "value", &vat);
    let mut c = Counts::default();
    match name.as_str() {
        "reach" => c.reach = n,
        "impressions" => c.impressions = n,
        "views" | "plays" | "video_views" => c.views = n,
        "saved" => c.saves = n,
        "shares" => c.shares = n,
        "likes" => c.likes = n,
        "comments" => c.comments = n,
        "link_clicks" => c.link_clicks = n,
        "ig_reels_video_view_total_time" => c.watch_time_s = n.map(|ms| ms as f64 / 1000.0),
        _ => {
            s.report.note(&format!("instagram insight metrics without a canonical column: {name}"));
            return;
        }
    }
    s.post(PostRead { post_id: media_id, observed_at: observed, counts: c, ..PostRead::default() }, at);
}

fn comment(
    s: &mut Social<'_>,
    v: &Value,
    at: &At,
    media: Option<&str>,
    parent: Option<&str>,
    sink: &mut Sink<'_>,
) -> Result<(), DataError> {
    let Some(id) = jsonl::text(v, "id") else {
        s.reject(Table::Comments, at, &at.field("id"), "", "a comment needs its `id`");
        return Ok(());
    };
    let post = jsonl::text(v, "media.id").or_else(|| media.map(str::to_owned));
    let parent_id = jsonl::text(v, "parent_id").or_else(|| parent.map(str::to_owned));
    let Some(text) = v.get("text").and_then(Value::as_str).map(str::to_owned) else {
        s.report.skip("comments without text (deleted)");
        return replies(s, v, at, post.as_deref(), &id, sink);
    };
    let Some(created_at) = s.comment_time(v, "timestamp", at) else { return Ok(()) };
    let Some(likes) = s.comment_count(v, "like_count", at) else { return Ok(()) };
    if post.is_none() && parent_id.is_none() {
        s.reject(
            Table::Comments,
            at,
            &at.field("media"),
            &id,
            "the comment does not say which media it is on: save comments with `fields=media` or nested under their media (`fields=comments{…}`)",
        );
        return Ok(());
    }
    let author = jsonl::text(v, "from.id").or_else(|| jsonl::text(v, "username"));
    let c = CommentRead { comment_id: id.clone(), post_id: post.clone(), parent_id, author, text, created_at, likes };
    s.comment(c, at, sink)?;
    replies(s, v, at, post.as_deref(), &id, sink)
}

fn replies(
    s: &mut Social<'_>,
    v: &Value,
    at: &At,
    post: Option<&str>,
    id: &str,
    sink: &mut Sink<'_>,
) -> Result<(), DataError> {
    for (i, r) in edge(v, "replies").iter().enumerate() {
        comment(s, r, &at.item("replies", i), post, Some(id), sink)?;
    }
    Ok(())
}

/// The Meta Business Suite "Export data" posts CSV.
fn business_suite(s: &mut Social<'_>, path: &Path) -> Result<(), DataError> {
    const USED: &[&str] = &[
        "Post ID",
        "Account ID",
        "Account username",
        "Publish time",
        "Permalink",
        "Post type",
        "Description",
        "Date",
        "Views",
        "Reach",
        "Impressions",
        "Likes",
        "Comments",
        "Shares",
        "Saves",
        "Link clicks",
    ];
    if s.pass == Pass::Comments {
        return Ok(());
    }
    let file: std::sync::Arc<Path> = std::sync::Arc::from(path);
    let zone = s.opts.timezone;
    let observed = s.opts.observed_at.or_else(|| super::path_observed(path));
    let mut out = super::CsvReads::default();
    let file = read_csv(
        path,
        &["Post ID", "Publish time", "Post type"],
        USED,
        |h| {
            if h.get("Post ID").is_none() && h.get("Content").is_some() {
                return Err((
                    "Content".to_owned(),
                    "this is a YouTube Studio export: import it with `roicast import youtube`".to_owned(),
                ));
            }
            Ok(())
        },
        |(), row| {
            let at = At { file: file.clone(), row: row.row, path: String::new() };
            if row.opt("Date").is_some_and(|d| !d.eq_ignore_ascii_case("lifetime")) {
                out.reject(
                    &at,
                    "Date",
                    row.get("Date"),
                    "a daily breakdown: export the posts with the Lifetime date range",
                );
                return Ok(());
            }
            let published = row.get("Publish time");
            let published_at = match chrono::NaiveDateTime::parse_from_str(published, "%m/%d/%Y %H:%M") {
                Ok(n) => {
                    use chrono::TimeZone as _;
                    let Some(z) = zone else {
                        out.reject(
                            &at,
                            "Publish time",
                            published,
                            "Business Suite writes the account's local time: pass --timezone (e.g. --timezone -05:00)",
                        );
                        return Ok(());
                    };
                    z.from_local_datetime(&n).single().map(|d| d.timestamp_micros())
                }
                Err(_) => match crate::import::time::parse_timestamp_us(published, zone) {
                    Ok(t) => Some(t),
                    Err(e) => {
                        out.reject(&at, "Publish time", published, e);
                        return Ok(());
                    }
                },
            };
            let ty = row.get("Post type").to_lowercase();
            let format = if ty.contains("reel") {
                "reel"
            } else if ty.contains("story") {
                "story"
            } else if ty.contains("carousel") {
                "carousel"
            } else if ty.contains("image") || ty.contains("photo") {
                "image"
            } else if ty.contains("video") {
                "video"
            } else {
                "other"
            };
            let mut counts = Counts::default();
            out.counts(
                row,
                &at,
                [
                    ("Views", &mut counts.views),
                    ("Reach", &mut counts.reach),
                    ("Impressions", &mut counts.impressions),
                    ("Likes", &mut counts.likes),
                    ("Comments", &mut counts.comments),
                    ("Shares", &mut counts.shares),
                    ("Saves", &mut counts.saves),
                    ("Link clicks", &mut counts.link_clicks),
                ],
            );
            out.push(
                PostRead {
                    post_id: row.get("Post ID").to_owned(),
                    owner_id: row.opt("Account ID").map(str::to_owned),
                    owner_handle: row.opt("Account username").map(str::to_owned),
                    format: Some(format),
                    published_at,
                    permalink: row.opt("Permalink").map(str::to_owned),
                    caption: row.opt("Description").map(str::to_owned),
                    flagged: None,
                    observed_at: observed,
                    counts,
                },
                at,
            );
            Ok(())
        },
    )?;
    out.finish(s, file);
    Ok(())
}
