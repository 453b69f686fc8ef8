//! The platform importers on a world with a known truth: `generate --exports` writes the
//! world's accounts, posts (one API pull per snapshot), comments and dashboard CSVs in the
//! Instagram, TikTok and YouTube shapes; `import instagram|tiktok|youtube` reads them back.
//! Over several seeds, `creators`, `posts`, `post_snapshots` and `comments` equal the
//! generated tables on every field the formats carry — the known losses (docs/importers.md)
//! are applied to the truth side here, each one named — and the engagement job scores
//! the imported dataset exactly as it scores the generated one.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, RecordBatch};
use roicast_data::Table;
use roicast_data::builder::RowBuilder;
use roicast_data::generate::exports::social::{to_second, youtube_subscribers};
use roicast_data::schema::Kind;
use roicast_tests::roicast;

#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Null,
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Ts(i64),
}

type Rows = Vec<Vec<Cell>>;

fn read(path: &Path, table: Table) -> Rows {
    let (batches, rejects) = roicast_data::dataset::read_file(table, path).unwrap();
    assert!(rejects.is_empty(), "{}: {:?}", path.display(), rejects.first());
    let spec = table.spec();
    let mut out = Vec::new();
    for b in &batches {
        for i in 0..b.num_rows() {
            out.push(spec.columns.iter().enumerate().map(|(c, col)| cell(b, c, i, col.kind)).collect());
        }
    }
    out
}

fn cell(b: &RecordBatch, c: usize, i: usize, kind: Kind) -> Cell {
    let a = b.column(c);
    if a.is_null(i) {
        return Cell::Null;
    }
    match kind {
        Kind::Text => Cell::Text(a.as_string::<i32>().value(i).to_owned()),
        Kind::Int => Cell::Int(a.as_primitive::<Int64Type>().value(i)),
        Kind::Float => Cell::Float(a.as_primitive::<Float64Type>().value(i)),
        Kind::Bool => Cell::Bool(a.as_boolean().value(i)),
        Kind::Timestamp => Cell::Ts(a.as_primitive::<TimestampMicrosecondType>().value(i)),
    }
}

fn write(path: &Path, table: Table, rows: &Rows) {
    let mut b = RowBuilder::for_table(table);
    for r in rows {
        for c in r {
            match c {
                Cell::Null => match table.spec().columns[col_index(&b)].kind {
                    Kind::Text => b.opt_text(None),
                    Kind::Int => b.opt_int(None),
                    Kind::Float => b.opt_float(None),
                    Kind::Bool => b.opt_bool(None),
                    Kind::Timestamp => b.opt_ts(None),
                },
                Cell::Text(s) => b.text(s),
                Cell::Int(v) => b.int(*v),
                Cell::Float(v) => b.float(*v),
                Cell::Bool(v) => b.bool(*v),
                Cell::Ts(v) => b.ts(*v),
            };
        }
        b.end_row();
    }
    let batch = b.finish();
    let mut w = roicast_data::io::TableWriter::create(path, batch.schema_ref()).unwrap();
    w.write(&batch).unwrap();
    w.finish().unwrap();
}

/// The column the builder fills next (its cursor), from the cells pushed so far.
fn col_index(b: &RowBuilder) -> usize {
    b.cursor()
}

fn idx(table: Table, name: &str) -> usize {
    table.spec().index_of(name).unwrap()
}

fn text(r: &[Cell], table: Table, name: &str) -> String {
    match &r[idx(table, name)] {
        Cell::Text(s) => s.clone(),
        other => panic!("{name}: {other:?}"),
    }
}

fn second(c: &mut Cell) {
    if let Cell::Ts(t) = c {
        *t = to_second(*t);
    }
}

/// The generated tables with every documented loss of the platform formats applied.
fn lossy_truth(world: &Path) -> BTreeMap<Table, Rows> {
    let mut out = BTreeMap::new();
    let mut creators = read(&world.join("creators.parquet"), Table::Creators);
    for r in &mut creators {
        let t = Table::Creators;
        match text(r, t, "platform").as_str() {
            // Instagram and TikTok: no account creation time in their account objects.
            "instagram" | "tiktok" => r[idx(t, "account_created_at")] = Cell::Null,
            // YouTube: no following count; subscribers rounded to three figures.
            _ => {
                r[idx(t, "following")] = Cell::Null;
                if let Cell::Int(n) = &mut r[idx(t, "followers")] {
                    *n = youtube_subscribers(*n);
                }
                second(&mut r[idx(t, "account_created_at")]);
            }
        }
    }
    let mut posts = read(&world.join("posts.parquet"), Table::Posts);
    let mut platform_of = HashMap::new();
    for r in &mut posts {
        let t = Table::Posts;
        let platform = text(r, t, "platform");
        platform_of.insert(text(r, t, "post_id"), platform.clone());
        second(&mut r[idx(t, "published_at")]);
        match platform.as_str() {
            // The Graph API has no link-click metric for media.
            "instagram" => r[idx(t, "link_clicks")] = Cell::Null,
            // No reach in TikTok's API; its video list has no lives: a live reads as a short.
            "tiktok" => {
                r[idx(t, "reach")] = Cell::Null;
                if text(r, t, "format") == "live" {
                    r[idx(t, "format")] = Cell::Text("short".into());
                }
            }
            // No link clicks; watch time to the minute (estimatedMinutesWatched).
            _ => {
                r[idx(t, "link_clicks")] = Cell::Null;
                if let Cell::Float(w) = &mut r[idx(t, "watch_time_s")] {
                    *w = (*w / 60.0).round() * 60.0;
                }
            }
        }
    }
    let mut snaps = read(&world.join("post_snapshots.parquet"), Table::PostSnapshots);
    for r in &mut snaps {
        let t = Table::PostSnapshots;
        second(&mut r[idx(t, "observed_at")]);
        match platform_of[&text(r, t, "post_id")].as_str() {
            "tiktok" => r[idx(t, "saves")] = Cell::Null, // the video list has no favourites count
            "youtube" => r[idx(t, "shares")] = Cell::Null, // statistics has no shares
            _ => {}
        }
    }
    let mut comments = read(&world.join("comments.parquet"), Table::Comments);
    let t = Table::Comments;
    let parent: HashMap<String, Option<String>> = comments
        .iter()
        .map(|r| {
            let p = match &r[idx(t, "parent_comment_id")] {
                Cell::Text(s) => Some(s.clone()),
                _ => None,
            };
            (text(r, t, "comment_id"), p)
        })
        .collect();
    for r in &mut comments {
        second(&mut r[idx(t, "created_at")]);
        r[idx(t, "label")] = Cell::Null; // platforms do not label comments
        match platform_of[&text(r, t, "post_id")].as_str() {
            "tiktok" => r[idx(t, "author_id")] = Cell::Null, // the Research API names no author
            "youtube" => {
                // Threads are one level: a reply to a reply is the thread's reply.
                if let Cell::Text(p) = &r[idx(t, "parent_comment_id")] {
                    let mut root = p.clone();
                    while let Some(Some(up)) = parent.get(&root) {
                        root.clone_from(up);
                    }
                    r[idx(t, "parent_comment_id")] = Cell::Text(root);
                }
            }
            _ => {}
        }
    }
    out.insert(Table::Creators, creators);
    out.insert(Table::Posts, posts);
    out.insert(Table::PostSnapshots, snaps);
    out.insert(Table::Comments, comments);
    out
}

fn keyed(table: Table, rows: &Rows) -> BTreeMap<String, Vec<Cell>> {
    let key: Vec<usize> = table.spec().key.iter().map(|k| idx(table, k)).collect();
    let mut out = BTreeMap::new();
    for r in rows {
        let k = key.iter().map(|&c| format!("{:?}", r[c])).collect::<Vec<_>>().join("/");
        assert!(out.insert(k.clone(), r.clone()).is_none(), "{table}: {k} twice");
    }
    out
}

fn import(source: &str, exports: &Path, out: &Path, extra: &[&str], merge: bool) {
    let input = exports.join(source);
    let plan = exports.join("plan.csv");
    let mut args = vec![
        "import",
        source,
        "--input",
        input.to_str().unwrap(),
        "--plan",
        plan.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--keep-author-ids",
        "-q",
    ];
    args.extend(extra);
    if merge {
        args.push("--merge");
    }
    let (code, _, err) = roicast(&args);
    assert_eq!(code, 0, "{source}: {err}");
}

/// Every output file of an engagement run, as rows of text.
fn engagement(data: &Path, out: &Path) -> BTreeMap<String, Vec<String>> {
    let (code, _, err) =
        roicast(&["engagement", "--data", data.to_str().unwrap(), "--out", out.to_str().unwrap(), "-q"]);
    assert_eq!(code, 0, "{err}");
    let mut files = BTreeMap::new();
    for e in std::fs::read_dir(out).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let mut lines: Vec<String> = match p.extension().and_then(|x| x.to_str()) {
            Some("csv") => std::fs::read_to_string(&p).unwrap().lines().map(str::to_owned).collect(),
            Some("parquet") => {
                let batches = roicast_data::import::merge::read_parquet(&p).unwrap();
                let opts = arrow_cast::display::FormatOptions::default().with_null("null");
                let mut rows = Vec::new();
                for b in &batches {
                    // Timestamps as their µs (formatting the `UTC` zone needs chrono-tz).
                    let cols: Vec<arrow_array::ArrayRef> = b
                        .columns()
                        .iter()
                        .map(|c| match c.data_type() {
                            arrow_schema::DataType::Timestamp(..) => {
                                let t = c.as_primitive::<TimestampMicrosecondType>();
                                std::sync::Arc::new(arrow_array::Int64Array::new(
                                    t.values().clone(),
                                    t.nulls().cloned(),
                                )) as arrow_array::ArrayRef
                            }
                            _ => c.clone(),
                        })
                        .collect();
                    let f: Vec<_> = cols
                        .iter()
                        .map(|c| arrow_cast::display::ArrayFormatter::try_new(c.as_ref(), &opts).unwrap())
                        .collect();
                    for i in 0..b.num_rows() {
                        rows.push(f.iter().map(|x| x.value(i).to_string()).collect::<Vec<_>>().join(","));
                    }
                }
                rows
            }
            _ => continue,
        };
        lines.sort();
        files.insert(name, lines);
    }
    files
}

/// Two output rows are the same: text equal, numbers equal to 1e-12 relative (sums over
/// posts read in another order differ in the last bits).
fn same_row(x: &str, y: &str, what: &str) {
    let (a, b): (Vec<&str>, Vec<&str>) = (x.split(',').collect(), y.split(',').collect());
    assert_eq!(a.len(), b.len(), "{what}:\n{x}\n{y}");
    for (p, q) in a.iter().zip(&b) {
        match (p.parse::<f64>(), q.parse::<f64>()) {
            (Ok(u), Ok(v)) => {
                assert!((u - v).abs() <= 1e-12 * u.abs().max(v.abs()).max(1.0), "{what}: {u} vs {v}\n{x}\n{y}");
            }
            _ => assert_eq!(p, q, "{what}:\n{x}\n{y}"),
        }
    }
}

#[test]
fn generated_posts_snapshots_and_comments_survive_the_platform_exports() {
    for seed in [3u64, 17] {
        let dir = tempfile::tempdir().unwrap();
        let (world, exports, imported) = (dir.path().join("world"), dir.path().join("exports"), dir.path().join("ds"));
        let (code, _, err) = roicast(&[
            "generate",
            "--scenario",
            "small",
            "--seed",
            &seed.to_string(),
            "--out",
            world.to_str().unwrap(),
            "--exports",
            exports.to_str().unwrap(),
            "-q",
        ]);
        assert_eq!(code, 0, "{err}");
        import("instagram", &exports, &imported, &[], false);
        import("tiktok", &exports, &imported, &["--timezone", "-04:00"], true);
        import("youtube", &exports, &imported, &[], true);

        let truth = lossy_truth(&world);
        for (table, rows) in &truth {
            let got = keyed(*table, &read(&imported.join(format!("{}.parquet", table.name())), *table));
            let want = keyed(*table, rows);
            assert_eq!(got.len(), want.len(), "seed {seed} {table}: every row, once");
            for (k, w) in &want {
                let g = got.get(k).unwrap_or_else(|| panic!("seed {seed} {table}: {k} missing"));
                for (c, col) in table.spec().columns.iter().enumerate() {
                    assert_eq!(g[c], w[c], "seed {seed} {table} {k}: column {}", col.name);
                }
            }
        }

        // The engagement job scores both datasets the same.
        let lossy = dir.path().join("lossy");
        std::fs::create_dir_all(&lossy).unwrap();
        for (table, rows) in &truth {
            write(&lossy.join(format!("{}.parquet", table.name())), *table, rows);
        }
        std::fs::copy(world.join("campaigns.parquet"), lossy.join("campaigns.parquet")).unwrap();
        std::fs::copy(world.join("campaigns.parquet"), imported.join("campaigns.parquet")).unwrap();
        std::fs::copy(imported.join("tracking_assets.parquet"), lossy.join("tracking_assets.parquet")).unwrap();
        let a = engagement(&imported, &dir.path().join("eng_imported"));
        let b = engagement(&lossy, &dir.path().join("eng_truth"));
        assert!(
            a.contains_key("creator_scorecard.parquet") && a.contains_key("posts_scored.parquet"),
            "{:?}",
            a.keys()
        );
        assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
        for (name, rows) in &a {
            assert_eq!(rows.len(), b[name].len(), "seed {seed} {name}");
            for (x, y) in rows.iter().zip(&b[name]) {
                same_row(x, y, &format!("seed {seed} {name}"));
            }
        }
    }
}
