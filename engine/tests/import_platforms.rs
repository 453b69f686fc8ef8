//! `roicast import instagram|tiktok|youtube` on fixtures shaped like the platforms' API
//! responses and dashboard exports (tests/fixtures/import/{instagram,tiktok,youtube}).

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use arrow_array::cast::AsArray as _;
use arrow_array::types::{Float64Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{Array as _, RecordBatch};
use common::{import_fixture, read_table, roicast, texts};
use roicast_data::Table;

fn ints(b: &RecordBatch, col: &str) -> Vec<Option<i64>> {
    let c = b.column(b.schema().index_of(col).unwrap()).as_primitive::<Int64Type>();
    (0..b.num_rows()).map(|i| c.is_valid(i).then(|| c.value(i))).collect()
}

fn floats(b: &RecordBatch, col: &str) -> Vec<Option<f64>> {
    let c = b.column(b.schema().index_of(col).unwrap()).as_primitive::<Float64Type>();
    (0..b.num_rows()).map(|i| c.is_valid(i).then(|| c.value(i))).collect()
}

fn bools(b: &RecordBatch, col: &str) -> Vec<bool> {
    let c = b.column(b.schema().index_of(col).unwrap()).as_boolean();
    (0..b.num_rows()).map(|i| c.value(i)).collect()
}

fn times(b: &RecordBatch, col: &str) -> Vec<i64> {
    let c = b.column(b.schema().index_of(col).unwrap()).as_primitive::<TimestampMicrosecondType>();
    (0..b.num_rows()).map(|i| c.value(i)).collect()
}

fn us(t: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(t).unwrap().timestamp_micros()
}

/// Rows of a table keyed by their first column.
fn by_id(b: &RecordBatch) -> BTreeMap<String, usize> {
    let ids = texts(b, b.schema().field(0).name());
    ids.into_iter().enumerate().map(|(i, id)| (id.unwrap(), i)).collect()
}

fn import(args: &[&str]) -> (i32, String, String) {
    let r = roicast(args);
    assert_eq!(r.0, 0, "{}\n{}", r.1, r.2);
    r
}

fn report(out: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("import.report.json")).unwrap()).unwrap()
}

#[test]
fn instagram_media_insights_comments_and_the_business_suite_export() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ds");
    let f = |n: &str| import_fixture(&format!("instagram/{n}")).display().to_string();
    import(&[
        "import",
        "instagram",
        "--input",
        &f("account.json"),
        &f("media.json"),
        &f("insights.ndjson"),
        &f("comments.json"),
        &f("business_suite.csv"),
        "--timezone",
        "-04:00",
        "--out",
        out.to_str().unwrap(),
    ]);
    let creators = read_table(&out.join("creators.parquet"), Table::Creators);
    assert_eq!(
        texts(&creators, "creator_id"),
        [Some("instagram:ava.glow".to_owned())],
        "no plan: the account is its creator"
    );
    assert_eq!(ints(&creators, "followers"), [Some(48200)]);
    assert_eq!(ints(&creators, "following"), [Some(612)]);
    let posts = read_table(&out.join("posts.parquet"), Table::Posts);
    let ix = by_id(&posts);
    assert_eq!(ix.len(), 6, "five media and one more post only the CSV has");
    let row = |id: &str| ix[&format!("1790000000000000{id}")];
    let fmt = texts(&posts, "format");
    let want = [("1", "reel"), ("2", "carousel"), ("3", "story"), ("4", "image"), ("5", "image"), ("6", "image")];
    for (id, f) in want {
        assert_eq!(fmt[row(id)].as_deref(), Some(f), "post {id}");
    }
    let (likes, views, reach, impressions) =
        (ints(&posts, "likes"), ints(&posts, "views"), ints(&posts, "reach"), ints(&posts, "impressions"));
    assert_eq!(likes[row("3")], None, "a story has no like count: null, not 0");
    assert_eq!(views[row("4")], None, "no views on a 2023 image");
    assert_eq!(impressions[row("4")], Some(12890), "impressions on older media");
    assert_eq!(reach[row("5")], Some(1204), "\"1,204\" from the separate insights file");
    assert_eq!(ints(&posts, "shares")[row("5")], Some(3));
    assert_eq!(likes[row("5")], Some(0), "a real zero stays zero");
    assert_eq!(reach[row("2")], Some(14200));
    assert_eq!(views[row("2")], None, "insights without views on a carousel");
    assert_eq!(floats(&posts, "watch_time_s")[row("1")], Some(369_180.0), "ms → s");
    assert_eq!(views[row("6")], None, "an empty CSV cell is null");
    assert_eq!(reach[row("6")], Some(6410));
    assert_eq!(times(&posts, "published_at")[row("6")], us("2024-05-08T18:10:00Z"), "local -04:00");
    assert_eq!(times(&posts, "published_at")[row("1")], us("2024-05-01T10:00:00Z"), "+0000 offsets");
    let sponsored = bools(&posts, "sponsored");
    assert!(sponsored[row("1")], "#ad in the caption");
    assert!(!sponsored[row("2")]);
    // No pull time anywhere: no snapshots.
    assert!(
        !out.join("post_snapshots.parquet").exists()
            || read_table(&out.join("post_snapshots.parquet"), Table::PostSnapshots).num_rows() == 0
    );

    let comments = read_table(&out.join("comments.parquet"), Table::Comments);
    let cx = by_id(&comments);
    assert_eq!(cx.len(), 6);
    let text = texts(&comments, "text");
    let parent = texts(&comments, "parent_comment_id");
    let c = |id: &str| cx[&format!("1795000000000000{id}")];
    assert_eq!(parent[c("2")].as_deref(), Some("17950000000000001"), "the reply keeps its thread");
    assert_eq!(parent[c("6")], None, "a reply whose parent was deleted");
    assert_eq!(text[c("3")].as_deref(), Some("😍😍😍"));
    assert_eq!(text[c("4")].as_deref(), Some("ルーティンが素敵です！"));
    assert_eq!(text[c("5")].as_deref(), Some("شكرا على المشاركة"));
    assert_eq!(ints(&comments, "likes")[c("5")], None);
    let authors = texts(&comments, "author_id");
    assert!(authors.iter().all(|a| a.as_deref().is_some_and(|a| a.starts_with("au_"))), "{authors:?}");
    assert_eq!(authors[c("1")], authors[c("1")]);
    let r = report(&out);
    assert_eq!(r["notes"]["replies whose parent is not in the export (deleted or not pulled)"], 1, "{r}");
    assert_eq!(r["notes"]["instagram insight metrics without a canonical column: navigation"], 1, "{r}");

    // --keep-author-ids keeps the platform's usernames.
    let out2 = dir.path().join("ds2");
    import(&[
        "import",
        "instagram",
        "--input",
        &f("media.json"),
        &f("comments.json"),
        &f("account.json"),
        "--keep-author-ids",
        "--out",
        out2.to_str().unwrap(),
    ]);
    let comments = read_table(&out2.join("comments.parquet"), Table::Comments);
    assert!(texts(&comments, "author_id").contains(&Some("mia.skin".to_owned())));
}

#[test]
fn tiktok_videos_users_comments_and_the_studio_export() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ds");
    let f = |n: &str| import_fixture(&format!("tiktok/{n}")).display().to_string();
    import(&[
        "import",
        "tiktok",
        "--input",
        &f("comments.ndjson"),
        &f("user_info.json"),
        &f("video_list.json"),
        &f("studio.csv"),
        "--timezone",
        "-04:00",
        "--out",
        out.to_str().unwrap(),
    ]);
    let creators = read_table(&out.join("creators.parquet"), Table::Creators);
    assert_eq!(texts(&creators, "creator_id"), [Some("tiktok:ben.moves".to_owned())]);
    assert_eq!(ints(&creators, "followers"), [Some(18_400)], "\"18,400\"");
    let posts = read_table(&out.join("posts.parquet"), Table::Posts);
    let ix = by_id(&posts);
    let (a, b) = (ix["7363000000000000001"], ix["7363000000000000002"]);
    assert_eq!(texts(&posts, "format"), [Some("short".to_owned()), Some("short".to_owned())]);
    assert_eq!(ints(&posts, "views")[b], Some(8113));
    assert_eq!(ints(&posts, "saves")[a], Some(2210), "favorites from the Studio export");
    assert_eq!(ints(&posts, "saves")[b], None, "not in the Studio export: null");
    assert_eq!(ints(&posts, "reach")[a], None, "TikTok's API reports no reach");
    assert_eq!(floats(&posts, "watch_time_s")[a], Some(1_444_800.0));
    assert_eq!(times(&posts, "published_at")[a], 1_714_557_600_000_000, "the API's second, not the CSV's minute");
    assert_eq!(times(&posts, "published_at")[b], 1_714_730_400_000_000, "a numeric string");
    assert!(bools(&posts, "sponsored")[a]);
    let comments = read_table(&out.join("comments.parquet"), Table::Comments);
    let cx = by_id(&comments);
    let parent = texts(&comments, "parent_comment_id");
    assert_eq!(parent[cx["7363100000000000001"]], None, "a top-level comment's parent is its video");
    assert_eq!(parent[cx["7363100000000000003"]].as_deref(), Some("7363100000000000001"));
    assert_eq!(texts(&comments, "author_id")[0], None, "the Research API names no author");
}

#[test]
fn youtube_videos_channels_threads_reports_and_the_studio_table() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.toml");
    std::fs::write(
        &plan,
        "[[creators]]\ncreator_id = \"cr-cleo\"\nplatform = \"youtube\"\nhandle = \"cleocooks\"\nfollowers = 230000\n\
         account_id = \"UCaaaaaaaaaaaaaaaaaaaaaa\"\nniche = \"food\"\n\n\
         [[creators]]\ncreator_id = \"cr-dev\"\nplatform = \"youtube\"\nhandle = \"devtinkers\"\nfollowers = 15500\n\
         account_id = \"UCbbbbbbbbbbbbbbbbbbbbbb\"\n",
    )
    .unwrap();
    let out = dir.path().join("ds");
    let f = |n: &str| import_fixture(&format!("youtube/{n}")).display().to_string();
    import(&[
        "import",
        "youtube",
        "--input",
        &f("table_data.csv"),
        &f("comment_threads.json"),
        &f("videos.json"),
        &f("channels.json"),
        &f("report.json"),
        "--plan",
        plan.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let creators = read_table(&out.join("creators.parquet"), Table::Creators);
    let cx = by_id(&creators);
    assert_eq!(
        ints(&creators, "followers")[cx["cr-cleo"]],
        Some(231_000),
        "the channel's count, newer than the plan's"
    );
    assert_eq!(ints(&creators, "followers")[cx["cr-dev"]], Some(15_500), "hidden subscribers: the plan's count");
    assert_eq!(ints(&creators, "posts_count")[cx["cr-dev"]], Some(96));
    assert_eq!(ints(&creators, "following")[cx["cr-cleo"]], None, "YouTube has no following count");
    let posts = read_table(&out.join("posts.parquet"), Table::Posts);
    let ix = by_id(&posts);
    let fmt = texts(&posts, "format");
    assert_eq!(fmt[ix["vidShort0001"]].as_deref(), Some("short"), "PT45S");
    assert_eq!(fmt[ix["vidLong00002"]].as_deref(), Some("video"));
    assert_eq!(fmt[ix["vidLive00004"]].as_deref(), Some("live"));
    assert_eq!(ints(&posts, "likes")[ix["vidHidden003"]], None, "hidden likes stay null");
    assert_eq!(texts(&posts, "creator_id")[ix["vidHidden003"]].as_deref(), Some("cr-dev"));
    let sponsored = bools(&posts, "sponsored");
    assert!(sponsored[ix["vidLong00002"]], "hasPaidProductPlacement");
    assert!(!sponsored[ix["vidHidden003"]]);
    assert_eq!(ints(&posts, "impressions")[ix["vidShort0001"]], Some(1_201_000), "only Studio has impressions");
    assert_eq!(ints(&posts, "engaged_views")[ix["vidShort0001"]], Some(60_210));
    assert_eq!(ints(&posts, "shares")[ix["vidLong00002"]], Some(88));
    assert_eq!(floats(&posts, "watch_time_s")[ix["vidShort0001"]], Some(51_220.0 * 60.0), "minutes from the API");
    assert_eq!(ints(&posts, "saves")[ix["vidShort0001"]], None, "YouTube has no saves");
    assert_eq!(
        times(&posts, "published_at")[ix["vidShort0001"]],
        us("2024-05-02T15:00:07Z"),
        "the API's time, not Studio's date"
    );
    let comments = read_table(&out.join("comments.parquet"), Table::Comments);
    let cm = by_id(&comments);
    assert_eq!(cm.len(), 4);
    let text = texts(&comments, "text");
    assert_eq!(
        text[cm["UgxThread0001"]].as_deref(),
        Some("Made this tonight & my kids *loved* it!\nThanks Cleo"),
        "textOriginal"
    );
    assert_eq!(
        text[cm["UgxThread0002"]].as_deref(),
        Some("Is the pan oven-safe? I'd love a \"part 2\" <3"),
        "unescaped"
    );
    assert_eq!(texts(&comments, "parent_comment_id")[cm["UgxThread0001.AbCdEf0001"]].as_deref(), Some("UgxThread0001"));
    assert_eq!(text[cm["UgxThread0003"]].as_deref(), Some("🍝🍝🍝"));
    assert_eq!(report(&out)["skipped"]["comments without text (deleted)"], 1, "the deleted reply is counted");
    let run = roicast(&["validate", "--data", out.to_str().unwrap()]);
    assert_eq!(run.0, 0, "{}{}", run.1, run.2);
}

#[test]
fn pulls_named_by_time_become_snapshots_and_the_latest_fills_posts() {
    let dir = tempfile::tempdir().unwrap();
    let media = |likes: u32, views: &str| {
        format!(
            "{{\"data\":[{{\"id\":\"m1\",\"media_type\":\"VIDEO\",\"media_product_type\":\"REELS\",\"timestamp\":\"2024-05-01T10:00:00+0000\",\
             \"like_count\":{likes},\"comments_count\":3,\"username\":\"ava\",\"insights\":{{\"data\":[{{\"name\":\"views\",\"period\":\"lifetime\",\
             \"values\":[{{\"value\":{views}}}],\"id\":\"m1/insights/views/lifetime\"}}]}}}}]}}"
        )
    };
    for (stamp, likes, views) in [("2024-05-01T11-00-00Z", 40, "900"), ("2024-05-02T10-00-00Z", 95, "\"2,400\"")] {
        let d = dir.path().join("pulls").join(stamp);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("media.json"), media(likes, views)).unwrap();
    }
    std::fs::write(
        dir.path().join("pulls/account.json"),
        "{\"id\":\"1784\",\"username\":\"ava\",\"followers_count\":5000,\"follows_count\":10,\"media_count\":3}",
    )
    .unwrap();
    let out = dir.path().join("ds");
    import(&[
        "import",
        "instagram",
        "--input",
        dir.path().join("pulls/account.json").to_str().unwrap(),
        dir.path().join("pulls/2024-05-01T11-00-00Z").to_str().unwrap(),
        dir.path().join("pulls/2024-05-02T10-00-00Z").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let snaps = read_table(&out.join("post_snapshots.parquet"), Table::PostSnapshots);
    assert_eq!(times(&snaps, "observed_at"), [us("2024-05-01T11:00:00Z"), us("2024-05-02T10:00:00Z")]);
    assert_eq!(ints(&snaps, "likes"), [Some(40), Some(95)]);
    assert_eq!(ints(&snaps, "views"), [Some(900), Some(2400)]);
    assert_eq!(ints(&snaps, "shares"), [None, None], "not pulled: null");
    let posts = read_table(&out.join("posts.parquet"), Table::Posts);
    assert_eq!(ints(&posts, "likes"), [Some(95)], "the latest pull");
    // --observed-at times every file the same: one snapshot per post, at that time.
    let out2 = dir.path().join("ds2");
    import(&[
        "import",
        "instagram",
        "--input",
        dir.path().join("pulls/2024-05-02T10-00-00Z").to_str().unwrap(),
        dir.path().join("pulls/account.json").to_str().unwrap(),
        "--observed-at",
        "2024-05-03T00:00:00Z",
        "--out",
        out2.to_str().unwrap(),
    ]);
    let snaps = read_table(&out2.join("post_snapshots.parquet"), Table::PostSnapshots);
    assert_eq!(times(&snaps, "observed_at"), [us("2024-05-03T00:00:00Z")]);
}

#[test]
fn the_plan_ties_posts_to_campaigns_by_id_permalink_or_rule_and_reports_other_accounts() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.toml");
    std::fs::write(
        &plan,
        "[[creators]]\ncreator_id = \"cr-ava\"\nplatform = \"instagram\"\nhandle = \"@ava.glow\"\nfollowers = 47000\n\
         account_id = \"17841400000000001\"\ncampaign_id = \"spring\"\n\
         posts = [\"https://instagram.com/p/C6bbbbbbbbb\"]\n\n\
         [[campaigns]]\ncampaign_id = \"may-launch\"\nstarts_at = \"2024-05-01\"\nends_at = \"2024-05-31\"\n\
         tags = [\"#luminaglow\", \"@lumina\"]\ndisclosed = true\n",
    )
    .unwrap();
    let other = dir.path().join("other.json");
    std::fs::write(
        &other,
        "{\"id\":\"999\",\"username\":\"someone.else\",\"followers_count\":10,\"media\":{\"data\":[\
         {\"id\":\"x1\",\"media_type\":\"IMAGE\",\"timestamp\":\"2024-05-01T10:00:00+0000\",\"like_count\":1,\"comments_count\":0}]}}",
    )
    .unwrap();
    let out = dir.path().join("ds");
    let f = |n: &str| import_fixture(&format!("instagram/{n}")).display().to_string();
    import(&[
        "import",
        "instagram",
        "--input",
        &f("account.json"),
        &f("media.json"),
        other.to_str().unwrap(),
        "--plan",
        plan.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let posts = read_table(&out.join("posts.parquet"), Table::Posts);
    let ix = by_id(&posts);
    assert!(!ix.contains_key("x1"), "an account the plan does not list");
    let campaign = texts(&posts, "campaign_id");
    assert_eq!(campaign[ix["17900000000000002"]].as_deref(), Some("spring"), "listed by permalink");
    assert!(bools(&posts, "sponsored")[ix["17900000000000002"]], "a listed post is paid");
    assert_eq!(campaign[ix["17900000000000001"]].as_deref(), Some("may-launch"), "#ad + #luminaglow in May");
    assert_eq!(campaign[ix["17900000000000004"]], None, "2023: outside the rule's window");
    let r = report(&out);
    assert_eq!(r["skipped"]["posts of accounts not in the plan"], 1, "{r}");
    assert_eq!(r["notes"]["instagram account not in the plan: @someone.else (999) (posts skipped)"], 1, "{r}");
    let creators = read_table(&out.join("creators.parquet"), Table::Creators);
    assert_eq!(ints(&creators, "followers"), [Some(48_200)], "the account's count over the plan's");
}

#[test]
fn bad_platform_input_is_refused_naming_file_path_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ds");
    let run = |source: &str, file: &Path, extra: &[&str]| {
        let mut args = vec!["import", source, "--input", file.to_str().unwrap(), "--out", out.to_str().unwrap()];
        args.extend(extra);
        let r = roicast(&args);
        assert!(!out.exists(), "nothing written for {}", file.display());
        r
    };
    // A TikTok dump given to the Instagram importer.
    let (code, _, err) = run("instagram", &import_fixture("tiktok/video_list.json"), &[]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("video_list.json") && err.contains("roicast import tiktok"), "{err}");
    // A truncated JSON document.
    let cut = dir.path().join("media_cut.json");
    let text = std::fs::read_to_string(import_fixture("instagram/media.json")).unwrap();
    std::fs::write(&cut, &text[..text.len() / 2]).unwrap();
    let (code, _, err) = run("instagram", &cut, &[]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("media_cut.json") && err.contains("not valid JSON"), "{err}");
    // A count of "-3".
    let neg = dir.path().join("neg.ndjson");
    std::fs::write(
        &neg,
        "{\"id\":\"1784\",\"username\":\"ava\",\"followers_count\":5}\n\
         {\"id\":\"m1\",\"media_type\":\"IMAGE\",\"timestamp\":\"2024-05-01T10:00:00+0000\",\"like_count\":\"-3\",\"comments_count\":0,\"username\":\"ava\"}\n",
    )
    .unwrap();
    let (code, _, err) = run("instagram", &neg, &[]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("neg.ndjson") && err.contains("like_count") && err.contains("negative"), "{err}");
    assert!(err.contains("row 2") || err.contains(":2"), "the line is named: {err}");
    // A timestamp without an offset, in a page: the JSON path names it.
    let naive = dir.path().join("naive.json");
    std::fs::write(
        &naive,
        "{\"kind\":\"youtube#videoListResponse\",\"items\":[{\"kind\":\"youtube#video\",\"id\":\"v1\",\
         \"snippet\":{\"publishedAt\":\"2024-05-02T15:00:07\",\"channelId\":\"UC1\"},\"contentDetails\":{\"duration\":\"PT45S\"},\
         \"statistics\":{\"viewCount\":\"10\"}}]}",
    )
    .unwrap();
    let (code, _, err) = run("youtube", &naive, &[]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("naive.json") && err.contains("$.items[0].snippet.publishedAt") && err.contains("no UTC offset"),
        "{err}"
    );
    // A dashboard export in local time without --timezone.
    let (code, _, err) = run("instagram", &import_fixture("instagram/business_suite.csv"), &[]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("Publish time") && err.contains("--timezone"), "{err}");
}
