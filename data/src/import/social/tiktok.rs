//! `tiktok`: TikTok API responses a brand's tools saved (JSON pages, arrays or NDJSON) and
//! the TikTok Studio analytics CSV export.
//!
//! | object | fields read | becomes |
//! |---|---|---|
//! | user (`/v2/user/info/`, `{"data": {"user": …}}`) | `open_id`, `username`, `follower_count`, `following_count`, `video_count` | `creators` |
//! | video (`/v2/video/list/` and `/v2/video/query/`, `{"data": {"videos": […]}}`) | `id`, `create_time` (epoch s), `video_description` / `title`, `share_url`, `view_count`, `like_count`, `comment_count`, `share_count` | `posts`, `post_snapshots` |
//! | comment (`/v2/research/video/comment/list/`, `{"data": {"comments": […]}}`) | `id`, `video_id`, `text`, `like_count`, `parent_comment_id`, `create_time` | `comments` |
//! | TikTok Studio CSV | `Video link`, `Post time`, `Total views`, `Total likes`, `Total comments`, `Total shares`, `Add to favorites`, `Total play time` (s) | `posts` |
//!
//! Every TikTok video is a `short`. A video's account is the `@handle` of its
//! `share_url`, else the user record of the same file, else `--account`. The API reports
//! no reach, impressions or saves and names no comment author: those stay null (saves and
//! watch time come from the Studio CSV). A top-level comment's `parent_comment_id` is its
//! video's id.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use super::{AccountRead, At, CommentRead, Counts, Pass, PostRead, Social, is_csv};
use crate::import::headers::read_csv;
use crate::import::{FileRead, ImportOptions, ImportReport, Sink, jsonl};
use crate::{DataError, Table};

/// Imports TikTok dumps and exports.
pub fn import(
    paths: &[std::path::PathBuf],
    opts: &ImportOptions,
    sink: &mut Sink<'_>,
) -> Result<ImportReport, DataError> {
    super::run(
        "tiktok",
        paths,
        opts,
        sink,
        |p| {
            !is_csv(p)
                && super::first_record(p)
                    .is_some_and(|v| is_comment(&v) || v.get("data").and_then(|d| d.get("comments")).is_some())
        },
        read,
    )
}

fn is_comment(v: &Value) -> bool {
    v.get("text").is_some() && (v.get("video_id").is_some() || v.get("parent_comment_id").is_some())
}

const VIDEO_FIELDS: &[&str] = &[
    "id",
    "create_time",
    "video_description",
    "title",
    "share_url",
    "embed_link",
    "view_count",
    "like_count",
    "comment_count",
    "share_count",
    "fetched_at",
    "observed_at",
];

fn read(s: &mut Social<'_>, path: &Path, sink: &mut Sink<'_>) -> Result<(), DataError> {
    if is_csv(path) {
        return studio(s, path);
    }
    let mut ignored = BTreeSet::new();
    let mut rows = 0u64;
    let file: std::sync::Arc<Path> = std::sync::Arc::from(path);
    let mut file_user: Option<(Option<String>, Option<String>)> = None;
    jsonl::for_each_document(path, &["videos", "comments"], |l| {
        rows += 1;
        let at = At { file: file.clone(), row: l.row, path: l.at };
        record(s, &l.value, &at, None, &mut file_user, &mut ignored, sink)
    })?;
    s.report.files.push(FileRead { path: path.to_owned(), rows, ignored_columns: ignored.into_iter().collect() });
    Ok(())
}

fn record(
    s: &mut Social<'_>,
    v: &Value,
    at: &At,
    inherited: Option<i64>,
    file_user: &mut Option<(Option<String>, Option<String>)>,
    ignored: &mut BTreeSet<String>,
    sink: &mut Sink<'_>,
) -> Result<(), DataError> {
    // `{"data": {...}, "error": {...}}` envelopes.
    if let Some(data) = v.get("data").filter(|d| d.is_object()) {
        if let Some(code) = jsonl::text(v, "error.code").filter(|c| c != "ok") {
            let msg = jsonl::text(v, "error.message").unwrap_or_default();
            s.reject(
                Table::Posts,
                at,
                &at.field("error.code"),
                &code,
                format!("the saved response is an API error, not data: {msg}"),
            );
            return Ok(());
        }
        let observed = s.observed(Some(v), at, Table::Posts).or(inherited);
        if let Some(u) = data.get("user") {
            let a = At { path: at.field("data.user"), ..at.clone() };
            user(s, u, &a, observed, file_user);
        }
        for key in ["videos", "comments"] {
            for (i, item) in data.get(key).and_then(Value::as_array).map_or(&[][..], Vec::as_slice).iter().enumerate() {
                let a = at.item(&format!("data.{key}"), i);
                record(s, item, &a, observed, file_user, ignored, sink)?;
            }
        }
        return Ok(());
    }
    let has = |k: &str| v.get(k).is_some();
    if has("follower_count") || has("open_id") {
        let observed = s.observed(Some(v), at, Table::Creators).or(inherited);
        user(s, v, at, observed, file_user);
        return Ok(());
    }
    if is_comment(v) {
        return comment(s, v, at, sink);
    }
    if has("create_time") && (has("view_count") || has("like_count") || has("share_url") || has("video_description")) {
        jsonl::note_ignored(v, VIDEO_FIELDS, ignored);
        video(s, v, at, inherited, file_user.as_ref());
        return Ok(());
    }
    let reason = super::wrong_platform("tiktok", v);
    s.reject(Table::Posts, at, &at.field(""), "", reason);
    Ok(())
}

fn user(
    s: &mut Social<'_>,
    v: &Value,
    at: &At,
    observed: Option<i64>,
    file_user: &mut Option<(Option<String>, Option<String>)>,
) {
    let id = jsonl::text(v, "open_id");
    let handle = jsonl::text(v, "username");
    *file_user = Some((id.clone(), handle.clone()));
    let account = AccountRead {
        account_id: id,
        handle,
        followers: s.count(v, "follower_count", at),
        following: s.count(v, "following_count", at),
        posts_count: s.count(v, "video_count", at),
        created_at: None,
        observed_at: observed,
    };
    s.account(account);
}

/// The `@handle` and video id of a TikTok URL (`https://www.tiktok.com/@ava/video/73…`).
#[must_use]
pub fn parse_link(url: &str) -> (Option<String>, Option<String>) {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let parts: Vec<&str> = path.split('/').collect();
    let handle = parts.iter().find_map(|p| p.strip_prefix('@')).filter(|h| !h.is_empty()).map(str::to_owned);
    let id = parts
        .iter()
        .position(|p| *p == "video")
        .and_then(|i| parts.get(i + 1))
        .filter(|x| !x.is_empty())
        .map(|x| (*x).to_owned());
    (handle, id)
}

fn video(
    s: &mut Social<'_>,
    v: &Value,
    at: &At,
    inherited: Option<i64>,
    file_user: Option<&(Option<String>, Option<String>)>,
) {
    let Some(id) = jsonl::text(v, "id") else {
        s.reject(Table::Posts, at, &at.field("id"), "", "a video needs its `id`");
        return;
    };
    let published_at = match jsonl::integer(v, "create_time").and_then(super::epoch_seconds) {
        Ok(Some(t)) if t > 0 => Some(t),
        Ok(_) => None,
        Err(x) => {
            s.reject(
                Table::Posts,
                at,
                &at.field("create_time"),
                &x,
                "`create_time` is UTC epoch seconds (a whole number)",
            );
            return;
        }
    };
    let observed = s.observed(Some(v), at, Table::Posts).or(inherited);
    let share = jsonl::text(v, "share_url").or_else(|| jsonl::text(v, "embed_link"));
    let (link_handle, _) = share.as_deref().map(parse_link).unwrap_or_default();
    let counts = Counts {
        views: s.count(v, "view_count", at),
        likes: s.count(v, "like_count", at),
        comments: s.count(v, "comment_count", at),
        shares: s.count(v, "share_count", at),
        ..Counts::default()
    };
    let caption =
        [jsonl::text(v, "title"), jsonl::text(v, "video_description")].into_iter().flatten().collect::<Vec<_>>();
    let read = PostRead {
        post_id: id,
        owner_id: if link_handle.is_some() { None } else { file_user.and_then(|u| u.0.clone()) },
        owner_handle: link_handle.or_else(|| file_user.and_then(|u| u.1.clone())),
        format: Some("short"),
        published_at,
        permalink: share,
        caption: (!caption.is_empty()).then(|| caption.join("\n")),
        flagged: None,
        observed_at: observed,
        counts,
    };
    s.post(read, at);
}

fn comment(s: &mut Social<'_>, v: &Value, at: &At, sink: &mut Sink<'_>) -> Result<(), DataError> {
    let Some(id) = jsonl::text(v, "id") else {
        s.reject(Table::Comments, at, &at.field("id"), "", "a comment needs its `id`");
        return Ok(());
    };
    let video = jsonl::text(v, "video_id");
    let parent = jsonl::text(v, "parent_comment_id").filter(|p| Some(p) != video.as_ref());
    let Some(text) = v.get("text").and_then(Value::as_str).map(str::to_owned) else {
        s.report.skip("comments without text (deleted)");
        return Ok(());
    };
    let created_at = match jsonl::integer(v, "create_time").and_then(super::epoch_seconds) {
        Ok(Some(t)) => t,
        Ok(None) => {
            s.reject(Table::Comments, at, &at.field("create_time"), "", "a comment needs its `create_time`");
            return Ok(());
        }
        Err(x) => {
            s.reject(Table::Comments, at, &at.field("create_time"), &x, "`create_time` is UTC epoch seconds");
            return Ok(());
        }
    };
    let Some(likes) = s.comment_count(v, "like_count", at) else { return Ok(()) };
    let author = jsonl::text(v, "username").or_else(|| jsonl::text(v, "user.open_id"));
    s.comment(
        CommentRead { comment_id: id, post_id: video, parent_id: parent, author, text, created_at, likes },
        at,
        sink,
    )
}

/// The TikTok Studio "Content" analytics CSV.
fn studio(s: &mut Social<'_>, path: &Path) -> Result<(), DataError> {
    const USED: &[&str] = &[
        "Video title",
        "Video link",
        "Post time",
        "Total likes",
        "Total comments",
        "Total shares",
        "Total views",
        "Total play time",
        "Add to favorites",
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
        &["Video link", "Post time"],
        USED,
        |_| Ok(()),
        |(), row| {
            let at = At { file: file.clone(), row: row.row, path: String::new() };
            let (handle, id) = parse_link(row.get("Video link"));
            let Some(id) = id else {
                out.reject(&at, "Video link", row.get("Video link"), "not a TikTok video link (…/@handle/video/ID)");
                return Ok(());
            };
            let published_at = match crate::import::time::parse_timestamp_us(row.get("Post time"), zone) {
                Ok(t) => Some(t),
                Err(e) => {
                    out.reject(&at, "Post time", row.get("Post time"), e);
                    return Ok(());
                }
            };
            let mut counts = Counts::default();
            out.counts(
                row,
                &at,
                [
                    ("Total views", &mut counts.views),
                    ("Total likes", &mut counts.likes),
                    ("Total comments", &mut counts.comments),
                    ("Total shares", &mut counts.shares),
                    ("Add to favorites", &mut counts.saves),
                ],
            );
            match row.opt("Total play time").map(|t| t.replace(',', "").parse::<f64>()) {
                None => {}
                Some(Ok(x)) if x >= 0.0 => counts.watch_time_s = Some(x),
                Some(_) => {
                    out.reject(&at, "Total play time", row.get("Total play time"), "expected seconds of play time");
                }
            }
            out.push(
                PostRead {
                    post_id: id,
                    owner_id: None,
                    owner_handle: handle,
                    format: Some("short"),
                    published_at,
                    permalink: row.opt("Video link").map(str::to_owned),
                    caption: row.opt("Video title").map(str::to_owned),
                    flagged: None,
                    observed_at: observed,
                    counts,
                },
                at,
            );
            Ok(())
        },
    )?;
    // The API's publication time (to the second) wins over the CSV's minute: API dumps are
    // read first.
    out.finish(s, file);
    Ok(())
}
