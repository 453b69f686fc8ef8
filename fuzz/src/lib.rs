//! roicast's fuzz targets: every reader of a file roicast did not write, driven by
//! arbitrary bytes.
//!
//! A target takes one input, writes it where the reader expects a file (a scratch folder
//! of this process; `TMPDIR=/dev/shm` keeps it in memory) and runs the reader — and, when
//! it accepts the input, what uses the result (a loaded sentiment model scores text, a path
//! table is attributed by every model). Errors are the expected outcome of most inputs; a
//! panic, an abort, a hang or an allocation beyond the reader's documented bound is a bug.
//!
//! The first byte of an input selects a variant (a table and a file format, a model kind,
//! an importer, …), so one target covers a family of readers and the fuzzer mutates the
//! choice too. The same targets run three ways:
//! - under AFL++ (`fuzz/afl`, a separate crate: `scripts/fuzz` builds and runs it);
//! - as a replay of the committed corpus, seeds and past findings (`fuzz/tests/corpus.rs`,
//!   part of `cargo test`);
//! - by hand on one file (`cargo run -p roicast-fuzz -- run TARGET FILE…`).
//!
//! The seed corpus is written by [`write_seeds`] from the test fixtures and a generated
//! small world (`cargo run -p roicast-fuzz -- seeds fuzz/corpus`). docs/reliability.md has
//! the campaign's report.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use roicast_data::Table;
use roicast_data::import::{IdKey, ImportOptions, SOURCES};
use roicast_engine::jobs;
use roicast_models::ModelFile;
use roicast_models::attribution::hazard::HazardModelFile;
use roicast_models::forecast::{ForecastModel, model_kind as forecast_kind};
use roicast_models::sentiment::LinearSentiment;

/// A fuzz target: its name, what it reads, and the function that runs one input.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// The name used on the command line and as the corpus folder.
    pub name: &'static str,
    /// What it covers, for people.
    pub what: &'static str,
    /// Runs one input: `Err` is the reader's refusal (the expected outcome of most
    /// inputs), a panic is a bug.
    pub run: fn(&[u8]) -> Outcome,
}

/// Every target.
pub const TARGETS: &[Target] = &[
    Target {
        name: "table",
        what: "a canonical table file (CSV, Parquet, Arrow IPC) of any table, read and conformed",
        run: table,
    },
    Target {
        name: "path_table",
        what: "a ChannelAttribution path table, read and attributed by every model (Markov order 1-4)",
        run: path_table,
    },
    Target {
        name: "model",
        what: "a model file (sentiment, data-driven attribution, forecast), raw or re-sealed, then used",
        run: model,
    },
    Target {
        name: "config",
        what: "the pipeline config, rate card, tier JSON, tracking plan (CSV, TOML), affiliate mapping, campaign history",
        run: config,
    },
    Target {
        name: "import",
        what: "every importer on one to four files (JSON, NDJSON, CSV, Parquet by their content)",
        run: import,
    },
];

/// What a target made of one input: `Err` holds the reader's error message.
pub type Outcome = Result<(), String>;

/// The target called `name`.
#[must_use]
pub fn target(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}

/// Splits an input into files for the importers: this line between two files.
pub const FILE_SEPARATOR: &[u8] = b"\n--roicast-fuzz-next-file--\n";

/// This process's scratch folder (created on first use).
fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("roicast-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create the fuzz scratch folder");
        dir
    })
}

/// Writes `bytes` to the scratch file `name`.
fn put(name: &str, bytes: &[u8]) -> PathBuf {
    let path = scratch().join(name);
    std::fs::write(&path, bytes).expect("write a fuzz input to the scratch folder");
    path
}

/// The first byte (the variant) and the rest.
fn split(data: &[u8]) -> (u8, &[u8]) {
    data.split_first().map_or((0, data), |(s, rest)| (*s, rest))
}

/// File formats of the `table` target, by selector.
pub const TABLE_FORMATS: [&str; 3] = ["csv", "parquet", "arrow"];

/// The selector byte of the `table` target for `table` in `format` (an index of
/// [`TABLE_FORMATS`]).
#[must_use]
pub fn table_selector(table: Table, format: usize) -> u8 {
    let t = Table::ALL.iter().position(|x| *x == table).expect("a known table");
    u8::try_from(t * TABLE_FORMATS.len() + format).expect("fewer than 85 tables")
}

fn table(data: &[u8]) -> Outcome {
    let (sel, body) = split(data);
    let format = TABLE_FORMATS[usize::from(sel) % TABLE_FORMATS.len()];
    let table = Table::ALL[usize::from(sel) / TABLE_FORMATS.len() % Table::ALL.len()];
    let path = put(&format!("{}.{format}", table.name()), body);
    let (batches, rejects) = roicast_data::dataset::read_file(table, &path).map_err(|e| e.to_string())?;
    let schema = table.spec().arrow_schema();
    for b in &batches {
        // What a reader accepts has the table's columns, in order, of their types.
        for (f, c) in schema.fields().iter().zip(b.schema().fields()) {
            assert_eq!(f.name(), c.name(), "{}: conformed column order", table.name());
            assert_eq!(f.data_type(), c.data_type(), "{}: conformed type of {}", table.name(), f.name());
        }
    }
    match rejects.first() {
        Some(r) => Err(format!("{} rejects, the first: {r}", rejects.len())),
        None => Ok(()),
    }
}

/// Separators of the `path_table` target, by selector.
pub const PATH_SEPARATORS: [&str; 3] = [" > ", ">", ","];

fn path_table(data: &[u8]) -> Outcome {
    let (sel, body) = split(data);
    let sep = PATH_SEPARATORS[usize::from(sel) % PATH_SEPARATORS.len()];
    let order = 1 + usize::from(sel) / PATH_SEPARATORS.len() % 4;
    let paths = put("paths.csv", body);
    let c = jobs::attribute::PathsConfig {
        paths,
        out: scratch().join("credits.csv"),
        models: None,
        sep: sep.to_owned(),
        markov_order: order,
        u_shaped: [0.4, 0.4],
    };
    let s = jobs::attribute::run_paths(&jobs::Ctx::silent(), &c).map_err(|e| format!("{e:#}"))?;
    for t in &s.totals {
        assert!(t.conversions.is_finite() && t.revenue.is_finite(), "non-finite credit {t:?}");
    }
    Ok(())
}

/// Model kinds of the `model` target, by selector (add 3 to re-seal the input first).
pub const MODEL_KINDS: [&str; 3] = ["sentiment", "attribution", "forecast"];

fn model(data: &[u8]) -> Outcome {
    let (sel, body) = split(data);
    let kind = usize::from(sel) % MODEL_KINDS.len();
    let mut bytes = body.to_vec();
    // Re-sealed, an input gets past the content hash, so the fuzzer explores the payload's
    // checks too (a file edited by hand is refused by the hash before any of them).
    if usize::from(sel) / MODEL_KINDS.len() % 2 == 1 && roicast_models::seal::recorded(&bytes).is_some() {
        bytes = roicast_models::seal::seal(bytes);
    }
    let path = put("model.json", &bytes);
    let err = |e: roicast_models::ModelError| e.to_string();
    match kind {
        0 => {
            let m = LinearSentiment::load(&path).map_err(err)?;
            for text in ["love this!! 😍", "worst. product. ever 👎", "", "ok"] {
                let p = m.model.proba(text);
                assert!(p.iter().all(|x| x.is_finite()), "non-finite probability {p:?}");
            }
        }
        1 => {
            HazardModelFile::load(&path).map_err(err)?;
        }
        _ => {
            ModelFile::<ForecastModel>::load(&path, &forecast_kind()).map_err(err)?;
        }
    }
    Ok(())
}

/// Inputs of the `config` target, by selector: the file name each is written as.
pub const CONFIG_KINDS: [&str; 7] =
    ["roicast.toml", "rate_card.csv", "tiers.json", "plan.csv", "plan.toml", "mapping.csv", "campaign_history.csv"];

fn config(data: &[u8]) -> Outcome {
    let (sel, body) = split(data);
    let kind = usize::from(sel) % CONFIG_KINDS.len();
    let path = put(CONFIG_KINDS[kind], body);
    let text = || std::str::from_utf8(body).map_err(|e| e.to_string());
    match kind {
        0 => {
            jobs::pipeline::load(&path).map_err(|e| format!("{e:#}"))?;
        }
        1 => {
            roicast_models::engagement::RateCard::parse(text()?, "rate_card.csv")?;
        }
        2 => {
            let tiers = roicast_data::tiers::parse_tiers(text()?)?;
            for revenue in [0.0, 1.0, 1e4, 1e12] {
                let c = roicast_data::tiers::tiered_commission(&tiers, revenue);
                assert!(c.is_finite() && c >= 0.0 && c <= revenue * (1.0 + 1e-12), "commission {c} on {revenue}");
            }
        }
        3 | 4 => {
            let (_, rejects) = roicast_data::import::plan::Plan::read(&path).map_err(|e| e.to_string())?;
            if let Some(r) = rejects.first() {
                return Err(r.to_string());
            }
        }
        5 => {
            roicast_data::import::affiliate::Mapping::read(&path).map_err(|e| e.to_string())?;
        }
        _ => {
            jobs::forecast::read_history(&path).map_err(|e| format!("{e:#}"))?;
        }
    }
    Ok(())
}

/// The tracking plan and affiliate mapping every import input is read with (the Shopify
/// and affiliate fixtures), written once.
fn import_assets() -> &'static (roicast_data::import::plan::Plan, PathBuf) {
    static ASSETS: OnceLock<(roicast_data::import::plan::Plan, PathBuf)> = OnceLock::new();
    ASSETS.get_or_init(|| {
        let plan = put("fixture_plan.csv", include_bytes!("../../tests/fixtures/import/shopify/plan.csv"));
        let (plan, rejects) = roicast_data::import::plan::Plan::read(&plan).expect("the fixture plan reads");
        assert!(rejects.is_empty(), "{rejects:?}");
        let mapping =
            put("fixture_mapping.csv", include_bytes!("../../tests/fixtures/import/affiliate/network_mapping.csv"));
        (plan, mapping)
    })
}

/// The extension an import input file gets, from its first bytes (importers look at the
/// content, but pick the CSV and Parquet readers by extension).
fn sniff(bytes: &[u8]) -> &'static str {
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        _ if bytes.starts_with(b"PAR1") => "parquet",
        Some(b'{' | b'[') => "json",
        _ => "csv",
    }
}

/// The selector byte of the `import` target for importer `source`.
#[must_use]
pub fn import_selector(source: &str, id_key: IdKey) -> u8 {
    let s = SOURCES.iter().position(|(n, _, _)| *n == source).expect("a known source");
    let k = usize::from(id_key == IdKey::CustomerId);
    u8::try_from(s + SOURCES.len() * k).expect("fewer than 128 sources")
}

fn import(data: &[u8]) -> Outcome {
    let (sel, body) = split(data);
    let (source, importer, _) = SOURCES[usize::from(sel) % SOURCES.len()];
    let id_key = if usize::from(sel) / SOURCES.len() % 2 == 1 { IdKey::CustomerId } else { IdKey::Email };
    let mut files = Vec::new();
    let mut rest = body;
    while files.len() < 4 {
        let (file, next) = match rest.windows(FILE_SEPARATOR.len()).position(|w| w == FILE_SEPARATOR) {
            Some(at) if files.len() < 3 => (&rest[..at], Some(&rest[at + FILE_SEPARATOR.len()..])),
            _ => (rest, None),
        };
        // The canonical importer knows a table by its file's name: files 0, 1, … are the
        // first tables (creators, campaigns, …).
        let stem = if source == "canonical" {
            Table::ALL[files.len()].name().to_owned()
        } else {
            format!("{source}_{}", files.len())
        };
        files.push(put(&format!("{stem}.{}", sniff(file)), file));
        match next {
            Some(n) => rest = n,
            None => break,
        }
    }
    let (plan, mapping) = import_assets();
    let opts = ImportOptions {
        salt: "fuzz".to_owned(),
        timezone: Some(chrono::FixedOffset::east_opt(0).expect("UTC")),
        plan: Some(plan.clone()),
        currency: Some("USD".to_owned()),
        mapping: Some(mapping.clone()),
        id_key,
        observed_at: Some(1_714_521_600_000_000),
        keep_author_ids: false,
        account: Some("fuzz_account".to_owned()),
    };
    let mut sink = |table: Table, batch: arrow_array::RecordBatch| {
        // A table's columns, then `extra` (the source fields it has no column for) or
        let canonical = table.spec().arrow_schema();
        let schema = batch.schema();
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        let want: Vec<&str> = canonical.fields().iter().map(|f| f.name().as_str()).collect();
        // (canonical tables pass their own extra columns through after the table's).
        assert!(names.starts_with(&want), "{source}: {} columns {names:?}", table.name());
        Ok(())
    };
    let report = importer(&files, &opts, &mut sink).map_err(|e| e.to_string())?;
    match report.rejects.first() {
        Some(r) => Err(format!("{} rejects, the first: {r}", report.rejects.len())),
        None => Ok(()),
    }
}

/// Runs `target` on each file (a replay) and returns what it made of each; panics (naming
/// the file) on the first that fails.
///
/// # Errors
/// A file that cannot be read.
pub fn replay(target: &Target, files: &[PathBuf]) -> std::io::Result<Vec<Outcome>> {
    let mut outcomes = Vec::with_capacity(files.len());
    for f in files {
        let bytes = std::fs::read(f)?;
        match std::panic::catch_unwind(|| (target.run)(&bytes)) {
            Ok(outcome) => outcomes.push(outcome),
            Err(e) => {
                let msg = e
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| e.downcast_ref::<&str>().copied())
                    .unwrap_or("(no message)");
                panic!("fuzz target {} failed on {}: {msg}", target.name, f.display());
            }
        }
    }
    Ok(outcomes)
}

/// The files of a corpus folder, sorted (none if it does not exist).
///
/// # Errors
/// A folder that cannot be listed.
pub fn corpus_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut files = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let p = e?.path();
        if p.is_file() && !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')) {
            files.push(p);
        }
    }
    files.sort();
    Ok(files)
}

mod seeds;
pub use seeds::write_seeds;
