//! `youtube`: YouTube Data API v3 and Analytics API responses a brand's tools saved (JSON
//! pages, arrays or NDJSON), and the YouTube Studio "Table data.csv" export.
//!
//! | object | fields read | becomes |
//! |---|---|---|
//! | `youtube#channel` (`channels.list`) | `id`, `snippet.customUrl`, `snippet.publishedAt`, `statistics.subscriberCount`, `statistics.hiddenSubscriberCount`, `statistics.videoCount` | `creators` |
//! | `youtube#video` (`videos.list`) | `id`, `snippet.publishedAt`, `snippet.channelId`, `snippet.title` / `description`, `contentDetails.duration`, `statistics.viewCount` / `likeCount` / `commentCount` (strings), `paidProductPlacementDetails.hasPaidProductPlacement`, `liveStreamingDetails` | `posts`, `post_snapshots` |
//! | `youtube#commentThread` (`commentThreads.list`) / `youtube#comment` (`comments.list`) | `snippet.videoId`, `topLevelComment`, `replies.comments`, `id`, `snippet.textOriginal` (else `textDisplay`, unescaped), `snippet.authorChannelId.value`, `snippet.likeCount`, `snippet.publishedAt`, `snippet.parentId` | `comments` |
//! | Analytics `reports.query` (`columnHeaders` + `rows`, dimension `video`) | `views`, `estimatedMinutesWatched`, `likes`, `comments`, `shares`, `engagedViews` | `posts` |
//! | Studio "Table data.csv" | `Content` (video id), `Video publish time`, `Duration`, `Views`, `Impressions`, `Likes`, `Comments added`, `Shares`, `Watch time (hours)` | `posts` |
//!
//! Format: `live` for a live stream, else `short` up to 60 s of `contentDetails.duration`
//! (or the Studio `Duration`), else `video`. A hidden like count is absent from
//! `statistics` and stays null; a hidden subscriber count keeps the plan's followers. The
//! Data API reports no impressions (only Studio does), no saves, no reach and no link clicks;
//! watch time is to the minute (`estimatedMinutesWatched`). The Studio CSV does not say
//! whose channel it is: its rows join the API's videos by id, or `--account` names it.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use super::{AccountRead, At, CommentRead, Counts, Pass, PostRead, Social, api_time, html_text, is_csv};
use crate::import::headers::read_csv;
use crate::import::{FileRead, ImportOptions, ImportReport, Sink, jsonl};
use crate::{DataError, Table};

/// Longest Short, seconds (`contentDetails.duration` at or below → `short`).
pub const SHORT_MAX_S: f64 = 60.0;

/// Imports YouTube dumps and exports.
pub fn import(
    paths: &[std::path::PathBuf],
    opts: &ImportOptions,
    sink: &mut Sink<'_>,
) -> Result<ImportReport, DataError> {
    super::run(
        "youtube",
        paths,
        opts,
        sink,
        |p| !is_csv(p) && super::first_record(p).is_some_and(|v| is_comment(&v) || first_item_is_comment(&v)),
        read,
    )
}

fn kind(v: &Value) -> &str {
    v.get("kind").and_then(Value::as_str).unwrap_or("")
}

fn is_comment(v: &Value) -> bool {
    matches!(kind(v), "youtube#commentThread" | "youtube#comment")
}

fn first_item_is_comment(v: &Value) -> bool {
    v.get("items").and_then(Value::as_array).and_then(|a| a.first()).is_some_and(is_comment)
        || matches!(kind(v), "youtube#commentThreadListResponse" | "youtube#commentListResponse")
}

/// Seconds of an ISO 8601 duration (`PT1H2M3S`, `P1DT2H`, `PT45S`).
#[must_use]
pub fn iso_duration_s(d: &str) -> Option<f64> {
    let rest = d.trim().strip_prefix('P')?;
    let (days, time) = rest.split_once('T').unwrap_or((rest, ""));
    let mut total = 0.0;
    let mut read = |part: &str, units: &[(char, f64)]| -> Option<()> {
        let mut num = String::new();
        for c in part.chars() {
            if c.is_ascii_digit() || c == '.' {
                num.push(c);
            } else {
                let &(_, mult) = units.iter().find(|(u, _)| *u == c)?;
                total += num.parse::<f64>().ok()? * mult;
                num.clear();
            }
        }
        num.is_empty().then_some(())
    };
    read(days, &[('W', 604_800.0), ('D', 86_400.0)])?;
    read(time, &[('H', 3_600.0), ('M', 60.0), ('S', 1.0)])?;
    Some(total)
}

fn format_of(seconds: Option<f64>, live: bool) -> Option<&'static str> {
    if live {
        return Some("live");
    }
    seconds.map(|s| if s <= SHORT_MAX_S { "short" } else { "video" })
}

fn read(s: &mut Social<'_>, path: &Path, sink: &mut Sink<'_>) -> Result<(), DataError> {
    if is_csv(path) {
        return studio(s, path);
    }
    let mut ignored = BTreeSet::new();
    let mut rows = 0u64;
    let file: std::sync::Arc<Path> = std::sync::Arc::from(path);
    jsonl::for_each_document(path, &["items"], |l| {
        rows += 1;
        let at = At { file: file.clone(), row: l.row, path: l.at };
        record(s, &l.value, &at, None, &mut ignored, sink)
    })?;
    s.report.files.push(FileRead { path: path.to_owned(), rows, ignored_columns: ignored.into_iter().collect() });
    Ok(())
}

const VIDEO_FIELDS: &[&str] = &[
    "kind",
    "etag",
    "id",
    "snippet",
    "contentDetails",
    "statistics",
    "paidProductPlacementDetails",
    "liveStreamingDetails",
    "fetched_at",
    "observed_at",
];

fn record(
    s: &mut Social<'_>,
    v: &Value,
    at: &At,
    inherited: Option<i64>,
    ignored: &mut BTreeSet<String>,
    sink: &mut Sink<'_>,
) -> Result<(), DataError> {
    if let Some(items) = v.get("items").and_then(Value::as_array) {
        let observed = s.observed(Some(v), at, Table::Posts).or(inherited);
        for (i, item) in items.iter().enumerate() {
            record(s, item, &at.item("items", i), observed, ignored, sink)?;
        }
        return Ok(());
    }
    if v.get("columnHeaders").is_some() {
        report(s, v, at);
        return Ok(());
    }
    match kind(v) {
        "youtube#video" => {
            jsonl::note_ignored(v, VIDEO_FIELDS, ignored);
            video(s, v, at, inherited);
            Ok(())
        }
        "youtube#channel" => {
            channel(s, v, at, inherited);
            Ok(())
        }
        "youtube#commentThread" => thread(s, v, at, sink),
        "youtube#comment" => comment(s, v, at, None, None, sink),
        _ if v.get("error").is_some() => {
            let msg = jsonl::text(v, "error.message").unwrap_or_default();
            s.reject(
                Table::Posts,
                at,
                &at.field("error"),
                "",
                format!("the saved response is an API error, not data: {msg}"),
            );
            Ok(())
        }
        _ => {
            let reason = super::wrong_platform("youtube", v);
            s.reject(Table::Posts, at, &at.field(""), "", reason);
            Ok(())
        }
    }
}

fn channel(s: &mut Social<'_>, v: &Value, at: &At, inherited: Option<i64>) {
    let observed = s.observed(Some(v), at, Table::Creators).or(inherited);
    let hidden =
        v.get("statistics").and_then(|x| x.get("hiddenSubscriberCount")).and_then(Value::as_bool) == Some(true);
    let followers = if hidden { None } else { s.count(v, "statistics.subscriberCount", at) };
    let created_at = match jsonl::text(v, "snippet.publishedAt").map(|t| (api_time(&t), t)) {
        Some((Ok(t), _)) => Some(t),
        Some((Err(e), t)) => {
            s.reject(Table::Creators, at, &at.field("snippet.publishedAt"), &t, e);
            None
        }
        None => None,
    };
    let account = AccountRead {
        account_id: jsonl::text(v, "id"),
        handle: jsonl::text(v, "snippet.customUrl").map(|h| h.trim_start_matches('@').to_owned()),
        followers,
        following: None,
        posts_count: s.count(v, "statistics.videoCount", at),
        created_at,
        observed_at: observed,
    };
    s.account(account);
}

fn video(s: &mut Social<'_>, v: &Value, at: &At, inherited: Option<i64>) {
    let Some(id) = jsonl::text(v, "id") else {
        s.reject(Table::Posts, at, &at.field("id"), "", "a video needs its `id`");
        return;
    };
    let published_at = match jsonl::text(v, "snippet.publishedAt").map(|t| (api_time(&t), t)) {
        Some((Ok(t), _)) => Some(t),
        Some((Err(e), t)) => {
            s.reject(Table::Posts, at, &at.field("snippet.publishedAt"), &t, e);
            return;
        }
        None => None,
    };
    let seconds = match jsonl::text(v, "contentDetails.duration") {
        None => None,
        Some(d) => {
            let Some(x) = iso_duration_s(&d) else {
                s.reject(
                    Table::Posts,
                    at,
                    &at.field("contentDetails.duration"),
                    &d,
                    "not an ISO 8601 duration (PT1M30S)",
                );
                return;
            };
            Some(x)
        }
    };
    let live = v.get("liveStreamingDetails").is_some()
        || matches!(jsonl::text(v, "snippet.liveBroadcastContent").as_deref(), Some("live" | "upcoming"));
    let observed = s.observed(Some(v), at, Table::Posts).or(inherited);
    let counts = Counts {
        views: s.count(v, "statistics.viewCount", at),
        likes: s.count(v, "statistics.likeCount", at),
        comments: s.count(v, "statistics.commentCount", at),
        ..Counts::default()
    };
    let caption = [jsonl::text(v, "snippet.title"), jsonl::text(v, "snippet.description")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("\n");
    let read = PostRead {
        post_id: id.clone(),
        owner_id: jsonl::text(v, "snippet.channelId"),
        owner_handle: None,
        format: format_of(seconds, live),
        published_at,
        permalink: Some(format!("https://www.youtube.com/watch?v={id}")),
        caption: (!caption.is_empty()).then_some(caption),
        flagged: v
            .get("paidProductPlacementDetails")
            .and_then(|p| p.get("hasPaidProductPlacement"))
            .and_then(Value::as_bool),
        observed_at: observed,
        counts,
    };
    s.post(read, at);
}

/// An Analytics API `reports.query` result with the `video` dimension.
fn report(s: &mut Social<'_>, v: &Value, at: &At) {
    let headers: Vec<String> = v
        .get("columnHeaders")
        .and_then(Value::as_array)
        .map(|a| a.iter().map(|h| jsonl::text(h, "name").unwrap_or_default()).collect())
        .unwrap_or_default();
    let Some(video_col) = headers.iter().position(|h| h == "video") else {
        s.reject(
            Table::Posts,
            at,
            &at.field("columnHeaders"),
            &headers.join(","),
            "a report without the `video` dimension has no per-video rows: query with dimensions=video",
        );
        return;
    };
    if headers.iter().any(|h| h == "day" || h == "month") {
        s.reject(
            Table::Posts,
            at,
            &at.field("columnHeaders"),
            &headers.join(","),
            "a report by day or month is not a lifetime total: query with dimensions=video only",
        );
        return;
    }
    let observed = s.observed(Some(v), at, Table::Posts);
    for h in &headers {
        if !matches!(
            h.as_str(),
            "video" | "views" | "estimatedMinutesWatched" | "likes" | "comments" | "shares" | "engagedViews"
        ) {
            s.report.note(&format!("youtube report columns without a canonical column: {h}"));
        }
    }
    for (i, row) in v.get("rows").and_then(Value::as_array).map_or(&[][..], Vec::as_slice).iter().enumerate() {
        let rat = at.item("rows", i);
        let Some(cells) = row.as_array() else {
            s.reject(Table::Posts, &rat, &rat.field(""), "", "a report row is a list of cells");
            continue;
        };
        let Some(id) = cells.get(video_col).and_then(|c| jsonl::text(&serde_json::json!({ "v": c }), "v")) else {
            continue;
        };
        let mut c = Counts::default();
        for (k, h) in headers.iter().enumerate() {
            let cell = serde_json::json!({ "v": cells.get(k).cloned().unwrap_or(Value::Null) });
            let cat = At { path: format!("{}[{k}]", rat.field("").trim_end_matches('.')), ..rat.clone() };
            let slot = match h.as_str() {
                "views" => &mut c.views,
                "likes" => &mut c.likes,
                "comments" => &mut c.comments,
                "shares" => &mut c.shares,
                "engagedViews" => &mut c.engaged_views,
                "estimatedMinutesWatched" => {
                    c.watch_time_s = s.count(&cell, "v", &cat).map(|m| m as f64 * 60.0);
                    continue;
                }
                _ => continue,
            };
            *slot = match super::count(&cell, "v") {
                Ok(n) => n,
                Err(reason) => {
                    s.reject(Table::Posts, &cat, &cat.path, &cell["v"].to_string(), reason);
                    None
                }
            };
        }
        s.post(PostRead { post_id: id, observed_at: observed, counts: c, ..PostRead::default() }, &rat);
    }
}

fn thread(s: &mut Social<'_>, v: &Value, at: &At, sink: &mut Sink<'_>) -> Result<(), DataError> {
    let video = jsonl::text(v, "snippet.videoId");
    let Some(top) = v.get("snippet").and_then(|x| x.get("topLevelComment")) else {
        s.reject(
            Table::Comments,
            at,
            &at.field("snippet.topLevelComment"),
            "",
            "a comment thread without its top-level comment",
        );
        return Ok(());
    };
    let top_at = At { path: at.field("snippet.topLevelComment"), ..at.clone() };
    let top_id = jsonl::text(top, "id");
    comment(s, top, &top_at, video.as_deref(), None, sink)?;
    let replies = v.get("replies").and_then(|r| r.get("comments")).and_then(Value::as_array);
    for (i, r) in replies.map_or(&[][..], Vec::as_slice).iter().enumerate() {
        comment(s, r, &at.item("replies.comments", i), video.as_deref(), top_id.as_deref(), sink)?;
    }
    Ok(())
}

fn comment(
    s: &mut Social<'_>,
    v: &Value,
    at: &At,
    video: Option<&str>,
    parent: Option<&str>,
    sink: &mut Sink<'_>,
) -> Result<(), DataError> {
    let Some(id) = jsonl::text(v, "id") else {
        s.reject(Table::Comments, at, &at.field("id"), "", "a comment needs its `id`");
        return Ok(());
    };
    let text = match v.get("snippet").and_then(|x| x.get("textOriginal")).and_then(Value::as_str) {
        Some(t) => Some(t.to_owned()),
        None => jsonl::get(v, "snippet.textDisplay").and_then(Value::as_str).map(html_text),
    };
    let Some(text) = text else {
        s.report.skip("comments without text (deleted)");
        return Ok(());
    };
    let Some(created_at) = s.comment_time(v, "snippet.publishedAt", at) else { return Ok(()) };
    let Some(likes) = s.comment_count(v, "snippet.likeCount", at) else { return Ok(()) };
    let c = CommentRead {
        comment_id: id,
        post_id: jsonl::text(v, "snippet.videoId").or_else(|| video.map(str::to_owned)),
        parent_id: jsonl::text(v, "snippet.parentId").or_else(|| parent.map(str::to_owned)),
        author: jsonl::text(v, "snippet.authorChannelId.value").or_else(|| jsonl::text(v, "snippet.authorDisplayName")),
        text,
        created_at,
        likes,
    };
    s.comment(c, at, sink)
}

/// YouTube Studio's "Table data.csv" (Advanced mode → Content → Export).
fn studio(s: &mut Social<'_>, path: &Path) -> Result<(), DataError> {
    const USED: &[&str] = &[
        "Content",
        "Video title",
        "Video publish time",
        "Duration",
        "Views",
        "Impressions",
        "Likes",
        "Comments added",
        "Shares",
        "Watch time (hours)",
    ];
    if s.pass == Pass::Comments {
        return Ok(());
    }
    let file: std::sync::Arc<Path> = std::sync::Arc::from(path);
    let zone = s.opts.timezone.or_else(|| chrono::FixedOffset::east_opt(0));
    let observed = s.opts.observed_at.or_else(|| super::path_observed(path));
    let mut out = super::CsvReads::default();
    let file = read_csv(
        path,
        &["Content", "Views"],
        USED,
        |h| {
            if h.get("Post ID").is_some() {
                return Err((
                    "Post ID".into(),
                    "this is a Meta Business Suite export: import it with `roicast import instagram`".into(),
                ));
            }
            Ok(())
        },
        |(), row| {
            let at = At { file: file.clone(), row: row.row, path: String::new() };
            let id = row.get("Content");
            if id.eq_ignore_ascii_case("total") {
                return Ok(());
            }
            if id.is_empty() {
                return Ok(());
            }
            let published_at = match row.opt("Video publish time") {
                None => None,
                Some(t) => {
                    let Some(x) = parse_studio_date(t, zone) else {
                        out.reject(
                            &at,
                            "Video publish time",
                            t,
                            "expected a date such as `Sep 20, 2026` or 2026-09-20",
                        );
                        return Ok(());
                    };
                    Some(x)
                }
            };
            let seconds = match row.opt("Duration").map(|d| d.replace(',', "").parse::<f64>()) {
                None => None,
                Some(Ok(x)) => Some(x),
                Some(Err(_)) => {
                    out.reject(&at, "Duration", row.get("Duration"), "expected seconds");
                    return Ok(());
                }
            };
            let mut counts = Counts::default();
            out.counts(
                row,
                &at,
                [
                    ("Views", &mut counts.views),
                    ("Impressions", &mut counts.impressions),
                    ("Likes", &mut counts.likes),
                    ("Comments added", &mut counts.comments),
                    ("Shares", &mut counts.shares),
                ],
            );
            match row.opt("Watch time (hours)").map(|t| t.replace(',', "").parse::<f64>()) {
                None => {}
                Some(Ok(h)) if h >= 0.0 => counts.watch_time_s = Some((h * 3600.0 * 100.0).round() / 100.0),
                Some(_) => out.reject(&at, "Watch time (hours)", row.get("Watch time (hours)"), "expected hours"),
            }
            out.push(
                PostRead {
                    post_id: id.trim().to_owned(),
                    format: format_of(seconds, false),
                    published_at,
                    permalink: Some(format!("https://www.youtube.com/watch?v={}", id.trim())),
                    caption: row.opt("Video title").map(str::to_owned),
                    observed_at: observed,
                    counts,
                    ..PostRead::default()
                },
                at,
            );
            Ok(())
        },
    )?;
    out.finish(s, file);
    Ok(())
}

/// Studio's publication date: `Sep 20, 2026`, `Sep 20 2026` or `2026-09-20`, midnight in `zone`.
fn parse_studio_date(t: &str, zone: Option<chrono::FixedOffset>) -> Option<i64> {
    use chrono::TimeZone as _;
    let d = ["%b %d, %Y", "%b %d %Y", "%Y-%m-%d", "%d %b %Y"]
        .iter()
        .find_map(|f| chrono::NaiveDate::parse_from_str(t.trim(), f).ok())?;
    zone?.from_local_datetime(&d.and_hms_opt(0, 0, 0)?).single().map(|x| x.timestamp_micros())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_durations_and_shorts() {
        assert_eq!(iso_duration_s("PT45S"), Some(45.0));
        assert_eq!(iso_duration_s("PT1H2M3S"), Some(3723.0));
        assert_eq!(iso_duration_s("P1DT1S"), Some(86_401.0));
        assert_eq!(iso_duration_s("P0D"), Some(0.0));
        assert_eq!(iso_duration_s("1:30"), None);
        assert_eq!(format_of(Some(60.0), false), Some("short"));
        assert_eq!(format_of(Some(61.0), false), Some("video"));
        assert_eq!(format_of(None, true), Some("live"));
    }
}
