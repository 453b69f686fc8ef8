//! The bad-input corpus (`tests/bad_inputs/cases.toml`): every case builds its inputs in a
//! fresh folder (a copy of a generated world, fixture files, files written inline, edits),
//! runs the real binary, and checks
//!
//! - the exit code the case expects (1 rejected input, 2 could not run),
//! - that stderr contains the case's `message` (written by hand, so it cannot drift),
//! - that nothing was written or changed in the folder except the reject reports the case
//!   lists in `writes`,
//!
//! and the full stderr of every case is one snapshot (`snapshots/bad_inputs.snap`).
//! Review a change with `INSTA_UPDATE=always cargo test -p roicast-engine --test
//! bad_inputs` and `git diff engine/tests/snapshots/`.

mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Corpus {
    case: Vec<Case>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    /// Unique, kebab-case.
    name: String,
    /// What is wrong with the input, in words (for the reader of the corpus).
    what: String,
    /// The command's arguments, run in the case's folder.
    args: Vec<String>,
    /// `csv` or `parquet`: a copy of the generated small world at `data/`.
    #[serde(default)]
    world: Option<String>,
    /// Fixture files or folders (under `tests/fixtures/`) copied into `in/`.
    #[serde(default)]
    fixtures: Vec<String>,
    /// Edits applied in order after the copies.
    #[serde(default)]
    edit: Vec<Edit>,
    /// Commands run after the edits, before the case (each must succeed): a model to
    /// forecast with, a run's results to report on.
    #[serde(default)]
    setup: Vec<Vec<String>>,
    /// Edits applied after the setup commands (to what they wrote).
    #[serde(default)]
    then_edit: Vec<Edit>,
    /// The expected exit code.
    exit: i32,
    /// A piece of stderr the message must contain.
    message: String,
    /// Files the command may write although it refused (its reject report).
    #[serde(default)]
    writes: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Edit {
    /// The file, relative to the case's folder.
    file: String,
    /// Write this text as the whole file.
    #[serde(default)]
    text: Option<String>,
    /// How `text` is encoded: utf-8 (default), utf-8-bom, utf-16le (with BOM), latin1.
    #[serde(default)]
    encoding: Option<String>,
    /// In `text`, replace the first `@BIG@` by `big_char` repeated `big` times.
    #[serde(default)]
    big: Option<usize>,
    #[serde(default)]
    big_char: Option<String>,
    /// Replace the first occurrence of `replace` (which must exist) by `with`.
    #[serde(default)]
    replace: Option<String>,
    #[serde(default)]
    with: Option<String>,
    /// Set the cell at `[data row (1-based), "column"]` of a CSV file to `value`.
    #[serde(default)]
    cell: Option<(usize, String)>,
    #[serde(default)]
    value: Option<String>,
    /// With `cell`: take the value from this data row of the same column instead.
    #[serde(default)]
    copy_row: Option<usize>,
    /// Append this text to the file.
    #[serde(default)]
    append: Option<String>,
    /// Keep only the first `truncate` bytes.
    #[serde(default)]
    truncate: Option<u64>,
    /// Keep only the header and the first `keep_rows` data lines (line-based).
    #[serde(default)]
    keep_rows: Option<usize>,
    /// Delete the file.
    #[serde(default)]
    delete: bool,
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn corpus() -> Corpus {
    let path = repo().join("tests/bad_inputs/cases.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn encode(text: &str, encoding: Option<&str>) -> Vec<u8> {
    match encoding.unwrap_or("utf-8") {
        "utf-8" => text.as_bytes().to_vec(),
        "utf-8-bom" => [&[0xEF, 0xBB, 0xBF][..], text.as_bytes()].concat(),
        "utf-16le" => {
            let mut out = vec![0xFF, 0xFE];
            out.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
            out
        }
        "latin1" => text
            .chars()
            .map(|c| u8::try_from(u32::from(c)).unwrap_or_else(|_| panic!("{c:?} is not Latin-1")))
            .collect(),
        other => panic!("unknown encoding {other}"),
    }
}

fn set_cell(path: &Path, row: usize, column: &str, value: Option<&str>, copy_row: Option<usize>) -> Result<(), String> {
    let mut r = csv::ReaderBuilder::new().has_headers(false).from_path(path).map_err(|e| e.to_string())?;
    let mut records: Vec<csv::StringRecord> = r.records().collect::<Result<_, _>>().map_err(|e| e.to_string())?;
    let col = records[0].iter().position(|h| h == column).ok_or(format!("no column {column}"))?;
    let value = match copy_row {
        Some(from) => records.get(from).and_then(|r| r.get(col)).ok_or(format!("no row {from}"))?.to_owned(),
        None => value.unwrap_or("").to_owned(),
    };
    let mut fields: Vec<String> = records.get(row).ok_or(format!("no row {row}"))?.iter().map(str::to_owned).collect();
    fields[col] = value;
    records[row] = csv::StringRecord::from(fields);
    let mut w = csv::Writer::from_path(path).unwrap();
    for rec in &records {
        w.write_record(rec).unwrap();
    }
    w.flush().unwrap();
    Ok(())
}

fn apply(dir: &Path, e: &Edit) -> Result<(), String> {
    let path = dir.join(&e.file);
    if e.delete {
        std::fs::remove_file(&path).unwrap();
    }
    if let Some(text) = &e.text {
        let text = match e.big {
            Some(n) => text.replacen("@BIG@", &e.big_char.as_deref().unwrap_or("x").repeat(n), 1),
            None => text.clone(),
        };
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, encode(&text, e.encoding.as_deref())).unwrap();
    }
    if let Some(from) = &e.replace {
        let body = std::fs::read_to_string(&path).unwrap();
        if !body.contains(from.as_str()) {
            return Err(format!("{}: `{from}` not found", e.file));
        }
        std::fs::write(&path, body.replacen(from.as_str(), e.with.as_deref().unwrap_or(""), 1)).unwrap();
    }
    if let Some((row, column)) = &e.cell {
        set_cell(&path, *row, column, e.value.as_deref(), e.copy_row).map_err(|m| format!("{}: {m}", e.file))?;
    }
    if let Some(text) = &e.append {
        let mut body = std::fs::read(&path).unwrap();
        body.extend_from_slice(text.as_bytes());
        std::fs::write(&path, body).unwrap();
    }
    if let Some(n) = e.truncate {
        std::fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(n).unwrap();
    }
    if let Some(n) = e.keep_rows {
        let body = std::fs::read_to_string(&path).unwrap();
        let kept: Vec<&str> = body.lines().take(n + 1).collect();
        std::fs::write(&path, kept.join("\n") + "\n").unwrap();
    }
    Ok(())
}

/// Every file under `dir` with its length and modification time.
fn listing(dir: &Path) -> BTreeMap<PathBuf, (u64, SystemTime)> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, (u64, SystemTime)>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let m = e.metadata().unwrap();
            let rel = e.path().strip_prefix(root).unwrap().to_owned();
            if m.is_dir() {
                out.insert(rel.join(""), (0, SystemTime::UNIX_EPOCH));
                walk(root, &e.path(), out);
            } else {
                out.insert(rel, (m.len(), m.modified().unwrap()));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

struct Outcome {
    transcript: String,
    failures: Vec<String>,
}

fn run_case(case: &Case, worlds: &Path) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    if let Some(w) = &case.world {
        common::copy_tree(&worlds.join(w), &d.join("data"));
    }
    for f in &case.fixtures {
        let from = repo().join("tests/fixtures").join(f);
        common::copy_tree(&from, &d.join("in").join(from.file_name().unwrap()));
    }
    let setup_failed =
        |m: String| Outcome { transcript: String::new(), failures: vec![format!("{}: setting up: {m}", case.name)] };
    for e in &case.edit {
        if let Err(m) = apply(d, e) {
            return setup_failed(m);
        }
    }
    for args in &case.setup {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let r = common::roicast_in(&args, d);
        if r.code != 0 {
            return setup_failed(format!("`roicast {}` exited {}: {}", args.join(" "), r.code, r.stderr));
        }
    }
    for e in &case.then_edit {
        if let Err(m) = apply(d, e) {
            return setup_failed(m);
        }
    }
    let before = listing(d);
    let args: Vec<&str> = case.args.iter().map(String::as_str).collect();
    let r = common::roicast_in(&args, d);
    let after = listing(d);

    let mut failures = Vec::new();
    if r.code != case.exit {
        failures.push(format!("exit {} (expected {}): {}", r.code, case.exit, r.stderr.trim_end()));
    }
    // Rejects are data on stdout for `validate`, diagnostics on stderr for the others.
    if !r.stderr.contains(&case.message) && !r.stdout.contains(&case.message) {
        failures.push(format!("output lacks `{}`: {}", case.message, r.stderr.trim_end()));
    }
    // A listed file, a file under a listed folder, or a folder holding a listed one.
    let allowed = |p: &Path| {
        let p = Path::new(p.to_str().unwrap().trim_end_matches('/'));
        case.writes.iter().any(|w| p.starts_with(w) || Path::new(w).starts_with(p))
    };
    for (p, meta) in &after {
        if before.get(p) != Some(meta) && !allowed(p) {
            failures.push(format!("wrote or changed {}", p.display()));
        }
    }
    for p in before.keys().filter(|p| !after.contains_key(*p)) {
        failures.push(format!("removed {}", p.display()));
    }
    let case_dir = d.to_string_lossy().into_owned();
    let stdout = r.stdout.trim_end().replace(&case_dir, "[CASE]");
    let stderr = r.stderr.trim_end().replace(&case_dir, "[CASE]");
    let stdout = if stdout.is_empty() { String::new() } else { format!("{stdout}\n") };
    let transcript = format!(
        "## {} — {}\n$ roicast {}\nexit {}\n{stdout}{stderr}\n",
        case.name,
        case.what,
        case.args.join(" "),
        r.code
    );
    Outcome { transcript, failures: failures.into_iter().map(|f| format!("{}: {f}", case.name)).collect() }
}

#[test]
fn every_bad_input_gets_its_exit_code_and_message_and_nothing_is_written() {
    let corpus = corpus();
    let mut names = std::collections::BTreeSet::new();
    for c in &corpus.case {
        assert!(names.insert(c.name.as_str()), "case {} is listed twice", c.name);
    }
    assert!(corpus.case.len() >= 60, "the corpus has {} cases; the floor is 60", corpus.case.len());

    let worlds = tempfile::tempdir().unwrap();
    for format in ["csv", "parquet"] {
        let r = common::roicast_in(
            &["generate", "--scenario", "small", "--seed", "5", "--file-format", format, "--out", format, "-q"],
            worlds.path(),
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    // Two cases at a time (the binary itself is multi-threaded).
    let outcomes: Vec<Outcome> = std::thread::scope(|s| {
        let halves: Vec<_> = [0, 1]
            .into_iter()
            .map(|k| {
                let cases: Vec<&Case> = corpus.case.iter().skip(k).step_by(2).collect();
                let w = worlds.path();
                s.spawn(move || cases.into_iter().map(|c| (c.name.clone(), run_case(c, w))).collect::<Vec<_>>())
            })
            .collect();
        let mut all: Vec<(String, Outcome)> = halves.into_iter().flat_map(|h| h.join().unwrap()).collect();
        let order: BTreeMap<&str, usize> = corpus.case.iter().enumerate().map(|(i, c)| (c.name.as_str(), i)).collect();
        all.sort_by_key(|(n, _)| order[n.as_str()]);
        all.into_iter().map(|(_, o)| o).collect()
    });
    let failures: Vec<&String> = outcomes.iter().flat_map(|o| &o.failures).collect();
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}",
        failures.len(),
        failures.iter().fold(String::new(), |mut s, f| {
            let _ = writeln!(s, "- {f}");
            s
        })
    );
    let transcript: String = outcomes.iter().map(|o| o.transcript.as_str()).collect::<Vec<_>>().join("\n");
    let mut settings = common::snapshot_settings(worlds.path());
    // Model files' content hashes change with any change to training; the message is the point.
    settings.add_filter(r"sha256:[0-9a-f]{64}", "sha256:[HASH]");
    settings.bind(|| insta::assert_snapshot!("bad_inputs", transcript));
}

#[test]
fn every_command_has_a_rejected_and_a_could_not_run_case() {
    let corpus = corpus();
    let mut seen: BTreeMap<String, Vec<i32>> = BTreeMap::new();
    for c in &corpus.case {
        seen.entry(command_of(&c.args)).or_default().push(c.exit);
    }
    // Commands with no input to reject (they only read flags) need only exit 2.
    let flag_only = ["generate", "demo", "schema"];
    let mut missing = Vec::new();
    for cmd in COMMANDS {
        let codes = seen.get(*cmd).cloned().unwrap_or_default();
        if !codes.contains(&2) {
            missing.push(format!("{cmd}: no exit-2 case"));
        }
        if !flag_only.contains(cmd) && !codes.contains(&1) {
            missing.push(format!("{cmd}: no exit-1 case"));
        }
    }
    assert!(missing.is_empty(), "{missing:#?}");
}

/// Every command and subcommand of `roicast` (checked against `--help` below).
const COMMANDS: &[&str] = &[
    "generate",
    "validate",
    "partition",
    "import",
    "schema",
    "attribute",
    "train attribution",
    "train sentiment",
    "train forecast",
    "eval sentiment",
    "eval forecast",
    "history",
    "sentiment",
    "engagement",
    "emv",
    "roi",
    "alerts",
    "forecast",
    "run",
    "report",
    "clv",
    "clv fit",
    "clv rfm",
    "clv backtest",
    "demo",
];

fn command_of(args: &[String]) -> String {
    match args.first().map(String::as_str) {
        Some(first @ ("train" | "eval")) => format!("{first} {}", args[1]),
        Some("clv") if args.get(1).is_some_and(|a| ["fit", "rfm", "backtest"].contains(&a.as_str())) => {
            format!("clv {}", args[1])
        }
        Some(first) => first.to_owned(),
        None => String::new(),
    }
}

#[test]
fn the_command_list_is_complete() {
    let (code, help, _) = common::roicast(&["--help"]);
    assert_eq!(code, 0);
    let listed: Vec<&str> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter(|l| !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .collect();
    for c in &listed {
        assert!(COMMANDS.iter().any(|k| k.split(' ').next() == Some(c)), "command `{c}` has no cases");
    }
}
