//! The sentiment jobs: scoring a file or a dataset's `comments` ([`run`]), training the
//! linear model ([`train`]) and scoring a model on labelled data ([`eval`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use arrow_array::builder::{BooleanBuilder, Float64Builder, StringBuilder};
use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use rayon::prelude::*;
use roicast_data::Table;
use roicast_data::io::{FileReader, TableWriter};
use roicast_models::ModelFile;
use roicast_models::sentiment::linear::{self, LinearSentiment, argmax};
use roicast_models::sentiment::{CLASSES, Vader, language};
use roicast_training::metrics::{Classification, classification};
use roicast_training::sentiment::{CvReport, SentimentParams};
use serde::Serialize;
use serde_json::json;

use serde::Deserialize;

use super::Ctx;
use crate::output::{FileRecord, ManifestBuilder};
use roicast_data::validate::Progress as _;

/// Columns the scoring job adds to every row.
pub const ADDED_COLUMNS: [&str; 8] =
    ["sentiment", "compound", "neg", "neu", "pos", "text_missing", "non_english", "language"];

/// The `sentiment` of a comment in a language the models were not trained on (its scores
/// are null): reported, never guessed at.
pub const UNSCORED: &str = "unscored";

/// VADER's conventional thresholds on `compound` (Hutto & Gilbert 2014).
const VADER_THRESHOLD: f64 = 0.05;

/// A sentiment scorer chosen by `--model`.
#[derive(Clone)]
pub enum Scorer {
    /// VADER exactly; class from `compound` at ±0.05; `neg`/`neu`/`pos` are VADER's.
    Vader,
    /// A linear model (embedded default or a file); `neg`/`neu`/`pos` are its calibrated
    /// class probabilities and `compound` = P(positive) − P(negative).
    Linear(Arc<LinearSentiment>),
    /// `MiniLM` sentence embeddings and a linear head (feature `minilm`).
    #[cfg(feature = "minilm")]
    MiniLm(Arc<roicast_models::sentiment::minilm::MiniLm>, Arc<LinearSentiment>),
}

/// One scored text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scored {
    /// Index into [`CLASSES`].
    pub class: usize,
    /// In [−1, 1].
    pub compound: f64,
    /// Negative share / probability.
    pub neg: f64,
    /// Neutral share / probability.
    pub neu: f64,
    /// Positive share / probability.
    pub pos: f64,
}

impl Scorer {
    /// Resolves `--model`: `vader`, `default`, `minilm` or a model file path; returns the
    /// scorer and its name for summaries.
    pub fn from_arg(model: &str) -> anyhow::Result<(Scorer, String)> {
        match model {
            "vader" => Ok((Scorer::Vader, "vader (vaderSentiment 3.3.2 rules and lexicons)".to_owned())),
            "default" => {
                let m = linear::embedded_default();
                Ok((Scorer::Linear(Arc::new(m.model.clone())), "default (embedded linear model)".to_owned()))
            }
            "minilm" => minilm_scorer(),
            path => {
                let p = Path::new(path);
                if !p.exists() {
                    bail!("invalid `--model` = {path}: expected vader, default, minilm or an existing MODEL.json file");
                }
                let file = LinearSentiment::load(p).with_context(|| format!("failed to load the model {path}"))?;
                Ok((Scorer::Linear(Arc::new(file.model)), format!("{path} ({})", file.training_fingerprint)))
            }
        }
    }

    /// Scores one text.
    #[must_use]
    pub fn score(&self, text: &str) -> Scored {
        #[cfg(feature = "minilm")]
        if let Scorer::MiniLm(enc, head) = self {
            // An encoder failure on one text is scored neutral rather than stopping a batch.
            return enc.features(text).map_or(Scored { class: 1, compound: 0.0, neg: 0.0, neu: 1.0, pos: 0.0 }, |x| {
                let p = head.proba_features(&x);
                Scored { class: argmax(p), compound: p[2] - p[0], neg: p[0], neu: p[1], pos: p[2] }
            });
        }
        match self {
            Scorer::Vader => {
                let p = Vader::get().polarity_scores(text);
                let class = match p.compound {
                    c if c >= VADER_THRESHOLD => 2,
                    c if c <= -VADER_THRESHOLD => 0,
                    _ => 1,
                };
                Scored { class, compound: p.compound, neg: p.neg, neu: p.neu, pos: p.pos }
            }
            Scorer::Linear(m) => {
                let p = m.proba(text);
                Scored { class: argmax(p), compound: p[2] - p[0], neg: p[0], neu: p[1], pos: p[2] }
            }
            #[cfg(feature = "minilm")]
            Scorer::MiniLm(..) => unreachable!("handled above"),
        }
    }
}

#[cfg(feature = "minilm")]
fn minilm_scorer() -> anyhow::Result<(Scorer, String)> {
    use roicast_models::sentiment::minilm::{HEAD, MiniLm, weights_dir};
    let enc = MiniLm::load(&weights_dir())?;
    let head = LinearSentiment::from_slice(HEAD, Path::new("<embedded MiniLM head>"))?;
    Ok((
        Scorer::MiniLm(Arc::new(enc), Arc::new(head.model)),
        "minilm (all-MiniLM-L6-v2 embeddings + linear head)".to_owned(),
    ))
}

#[cfg(not(feature = "minilm"))]
fn minilm_scorer() -> anyhow::Result<(Scorer, String)> {
    bail!(
        "this roicast was built without the MiniLM model (cargo feature `minilm`): rebuild with \
         `cargo build --release --features minilm` and install the weights with `bash scripts/setup-minilm.sh`; \
         or use `--model default` (the embedded linear model) or `--model vader`"
    )
}

/// Run summary of a scoring job.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ScoreSummary {
    /// Rows read and written.
    pub rows: u64,
    /// Rows whose text was null or empty (scored neutral, `text_missing` = true).
    pub text_missing: u64,
    /// Rows detected as another language than English (`non_english` = true).
    pub non_english: u64,
    /// Rows in a language the models were not trained on: `sentiment` = `unscored`,
    /// scores null.
    pub unscored: u64,
    /// Rows per detected language (ISO 639-3; `und` = too short or not reliably told).
    pub languages: BTreeMap<String, u64>,
    /// Rows per class.
    pub by_class: BTreeMap<String, u64>,
    /// Mean compound over scored rows with text.
    pub mean_compound: f64,
    /// The sum behind the mean, row by row (so the mean does not depend on how the rows
    /// were batched).
    #[serde(skip)]
    compound_sum: f64,
    /// Wall time of the scoring, seconds.
    pub seconds: f64,
    /// Rows per second.
    pub rows_per_second: f64,
}

/// Scores one batch's text column; returns the added columns.
fn score_column(scorer: &Scorer, text: &StringArray, summary: &mut ScoreSummary) -> Vec<ArrayRef> {
    const CHUNK: usize = 2048;
    let n = text.len();
    // (scores, text missing, language); `None` scores: a language the models do not know.
    let rows: Vec<(Option<Scored>, bool, &'static str)> = (0..n)
        .into_par_iter()
        .with_min_len(CHUNK)
        .map(|i| {
            let t = if text.is_null(i) { "" } else { text.value(i) };
            if t.trim().is_empty() {
                (Some(Scored { class: 1, compound: 0.0, neg: 0.0, neu: 1.0, pos: 0.0 }), true, language::UNDETERMINED)
            } else {
                let lang = language::detect(t);
                (language::is_scored(lang).then(|| scorer.score(t)), false, lang)
            }
        })
        .collect();
    let mut label = StringBuilder::with_capacity(n, n * 8);
    let mut lang_col = StringBuilder::with_capacity(n, n * 3);
    let (mut compound, mut neg, mut neu, mut pos) = (
        Float64Builder::with_capacity(n),
        Float64Builder::with_capacity(n),
        Float64Builder::with_capacity(n),
        Float64Builder::with_capacity(n),
    );
    let (mut missing, mut foreign) = (BooleanBuilder::with_capacity(n), BooleanBuilder::with_capacity(n));
    let mut sum = summary.compound_sum;
    for (s, m, lang) in rows {
        let class = s.as_ref().map_or(UNSCORED, |s| CLASSES[s.class]);
        label.append_value(class);
        compound.append_option(s.as_ref().map(|s| s.compound));
        neg.append_option(s.as_ref().map(|s| s.neg));
        neu.append_option(s.as_ref().map(|s| s.neu));
        pos.append_option(s.as_ref().map(|s| s.pos));
        missing.append_value(m);
        let non_english = lang != "eng" && lang != language::UNDETERMINED;
        foreign.append_value(non_english);
        lang_col.append_value(lang);
        summary.rows += 1;
        *summary.by_class.entry(class.to_owned()).or_default() += 1;
        *summary.languages.entry(lang.to_owned()).or_default() += 1;
        match (&s, m) {
            (None, _) => summary.unscored += 1,
            (Some(_), true) => summary.text_missing += 1,
            (Some(s), false) => sum += s.compound,
        }
        summary.non_english += u64::from(non_english);
    }
    let scored_with_text = summary.rows - summary.text_missing - summary.unscored;
    summary.compound_sum = sum;
    summary.mean_compound = if scored_with_text > 0 { sum / scored_with_text as f64 } else { 0.0 };
    vec![
        Arc::new(label.finish()),
        Arc::new(compound.finish()),
        Arc::new(neg.finish()),
        Arc::new(neu.finish()),
        Arc::new(pos.finish()),
        Arc::new(missing.finish()),
        Arc::new(foreign.finish()),
        Arc::new(lang_col.finish()),
    ]
}

fn output_schema(input: &Schema, path: &Path) -> anyhow::Result<SchemaRef> {
    for name in ADDED_COLUMNS {
        if input.field_with_name(name).is_ok() {
            return Err(super::bad_file(
                path,
                format!("the input already has a column `{name}`, which the sentiment job adds; rename it first"),
            ));
        }
    }
    let mut fields: Vec<Field> = input.fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.push(Field::new("sentiment", DataType::Utf8, false));
    // Null for comments in a language the models do not know (`sentiment` = `unscored`).
    for f in ["compound", "neg", "neu", "pos"] {
        fields.push(Field::new(f, DataType::Float64, true));
    }
    fields.push(Field::new("text_missing", DataType::Boolean, false));
    fields.push(Field::new("non_english", DataType::Boolean, false));
    fields.push(Field::new("language", DataType::Utf8, false));
    Ok(Arc::new(Schema::new_with_metadata(fields, input.metadata().clone())))
}

fn text_as_utf8(
    batch: &RecordBatch,
    index: usize,
    path: &Path,
    column: &str,
    first_row: u64,
) -> anyhow::Result<StringArray> {
    let a = batch.column(index);
    match a.data_type() {
        DataType::Utf8 => Ok(a.as_string::<i32>().clone()),
        DataType::LargeUtf8 | DataType::Utf8View | DataType::Dictionary(_, _) => {
            let c = arrow_cast::cast(a, &DataType::Utf8)
                .with_context(|| format!("{}: column `{column}` (rows from {first_row}): not text", path.display()))?;
            Ok(c.as_string::<i32>().clone())
        }
        other => Err(super::bad_file(path, format!("column `{column}` has type {other}, expected text"))),
    }
}

/// Scores one batch: every input column (shared, not copied) and the sentiment columns
/// after them. `source` names the input in errors. The Python binding and the Spark
/// adapter call this per batch; [`score_file`] does the same per file batch.
pub fn score_batch(
    scorer: &Scorer,
    batch: &RecordBatch,
    text_column: &str,
    source: &Path,
    first_row: u64,
    summary: &mut ScoreSummary,
) -> anyhow::Result<RecordBatch> {
    let in_schema = batch.schema();
    let Ok(text_index) = in_schema.index_of(text_column) else {
        let names: Vec<&str> = in_schema.fields().iter().map(|f| f.name().as_str()).collect();
        return Err(super::bad_file(source, format!("no column `{text_column}` (columns: {})", names.join(", "))));
    };
    let schema = output_schema(&in_schema, source)?;
    let text = text_as_utf8(batch, text_index, source, text_column, first_row)?;
    let mut columns = batch.columns().to_vec();
    columns.extend(score_column(scorer, &text, summary));
    RecordBatch::try_new(schema, columns).context("building the scored batch")
}

/// The schema [`score_batch`] returns for input `schema`.
pub fn scored_schema(schema: &Schema, source: &Path) -> anyhow::Result<SchemaRef> {
    output_schema(schema, source)
}

/// Scores every row of `input` into `output` (any supported format each), keeping every
/// input column. Written atomically: on error nothing is left at `output`.
pub fn score_file(
    scorer: &Scorer,
    input: &Path,
    output: &Path,
    text_column: &str,
    ctx: &Ctx,
) -> anyhow::Result<ScoreSummary> {
    let started = Instant::now();
    let mut reader =
        FileReader::open(Table::Comments, input).with_context(|| format!("failed to open {}", input.display()))?;
    let in_schema = reader.schema();
    if in_schema.index_of(text_column).is_err() {
        let names: Vec<&str> = in_schema.fields().iter().map(|f| f.name().as_str()).collect();
        return Err(super::bad_file(
            input,
            format!("no column `{text_column}` (columns: {}); pass --text-column", names.join(", ")),
        ));
    }
    let schema = output_schema(&in_schema, input)?;
    let mut writer = TableWriter::create(output, &schema)?;
    ctx.progress.stage("scoring comments", 0);
    let mut summary = ScoreSummary::default();
    while let Some(raw) = reader.next_batch()? {
        if let Some((_, reject)) = raw.rejects.first() {
            return Err(super::bad_value(
                input,
                reject.row.unwrap_or(raw.first_row),
                &reject.column,
                format!("{} — nothing was written", reject.reason),
            ));
        }
        let out = score_batch(scorer, &raw.batch, text_column, input, raw.first_row, &mut summary)?;
        writer.write(&out)?;
        ctx.progress.advance(out.num_rows() as u64);
    }
    ctx.progress.finish();
    writer.finish()?;
    summary.seconds = started.elapsed().as_secs_f64();
    summary.rows_per_second = summary.rows as f64 / summary.seconds.max(1e-9);
    Ok(summary)
}

fn text() -> String {
    "text".into()
}

fn label() -> String {
    "label".into()
}

fn default_model() -> String {
    "default".into()
}

/// Where the comments come from and where the scored rows go.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// One file in, one file out (any supported format each; every column kept).
    File {
        /// Input file.
        input: PathBuf,
        /// Output file, written atomically.
        output: PathBuf,
    },
    /// A dataset's comments table into `out/comments_sentiment.parquet`.
    Dataset {
        /// Dataset folder.
        data: PathBuf,
        /// Output folder.
        out: PathBuf,
    },
}

/// Scoring comments (`roicast sentiment`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// What to score.
    pub target: Target,
    /// The column holding the text.
    #[serde(default = "text")]
    pub text_column: String,
    /// `vader`, `default`, `minilm` or a model file.
    #[serde(default = "default_model")]
    pub model: String,
    /// A partitioned comments table (`comments/day=…/…`) is scored partition by
    /// partition into `out/parts/`; partitions unchanged since the run that wrote this
    /// folder (same file content, model, text column and roicast version) are reused from
    /// it instead of scored again. Default: `out` itself.
    #[serde(default)]
    pub reuse: Option<PathBuf>,
}

/// What scoring wrote and found.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// The model's name.
    pub model: String,
    /// The file scored.
    pub input: PathBuf,
    /// The file written.
    pub output: PathBuf,
    /// Counts, class mix and speed.
    pub summary: ScoreSummary,
    /// A partitioned comments table: the partitions scored and those reused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partitions: Option<Partitions>,
}

/// What an incremental scoring did with each partition (paths relative to the table).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Partitions {
    /// Partitions scored by this run.
    pub scored: Vec<String>,
    /// Partitions whose scored rows an earlier run wrote and this run kept.
    pub reused: Vec<String>,
}

/// Scored partitions kept beside `comments_sentiment.parquet`.
const PARTS: &str = "parts";
/// Their index: one [`PartRecord`] per input partition.
const PARTS_INDEX: &str = "parts.json";

/// One scored partition.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PartRecord {
    /// The input partition, relative to the comments table's folder.
    input: String,
    /// SHA-256 of the input file, the model, the text column and roicast's version.
    key: String,
    /// The scored file under `parts/`.
    part: String,
    /// SHA-256 of the scored file.
    part_sha256: String,
    /// Its counts.
    summary: ScoreSummary,
    /// `summary.mean_compound`'s bits: serde_json's default float parsing may be off by
    /// an ulp, and a reused part must count exactly as when it was scored.
    mean_bits: u64,
}

/// Sums the counts of scored parts (mean compound weighted by the rows it is over).
fn combine(parts: &[ScoreSummary]) -> ScoreSummary {
    let mut out = ScoreSummary::default();
    let (mut sum, mut weight) = (0.0, 0.0);
    for p in parts {
        out.rows += p.rows;
        out.text_missing += p.text_missing;
        out.non_english += p.non_english;
        out.unscored += p.unscored;
        for (k, v) in &p.languages {
            *out.languages.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &p.by_class {
            *out.by_class.entry(k.clone()).or_default() += v;
        }
        let w = p.rows.saturating_sub(p.text_missing + p.unscored) as f64;
        sum += p.mean_compound * w;
        weight += w;
    }
    out.mean_compound = if weight > 0.0 { sum / weight } else { 0.0 };
    out
}

/// Scores a partitioned comments table partition by partition into `out/parts/`, reusing
/// the parts of `reuse` whose key is unchanged, then writes `output` as the parts in
/// order. Full and incremental runs write the same bytes: both build `output` from the
/// same part files.
fn score_partitions(
    ctx: &Ctx,
    c: &Config,
    (scorer, model_name): (&Scorer, &str),
    dataset: &roicast_data::Dataset,
    files: &[PathBuf],
    out: &Path,
) -> anyhow::Result<(ScoreSummary, Partitions, Vec<PathBuf>)> {
    let started = Instant::now();
    let text_column = c.text_column.as_str();
    let reuse = c.reuse.clone().unwrap_or_else(|| out.to_owned());
    let reuse = reuse.as_path();
    let table_dir = dataset.root().join(Table::Comments.name());
    let previous: Vec<PartRecord> = std::fs::read(reuse.join(PARTS).join(PARTS_INDEX))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let parts_dir = out.join(PARTS);
    std::fs::create_dir_all(&parts_dir).with_context(|| format!("failed to create {}", parts_dir.display()))?;
    let mut index = Vec::with_capacity(files.len());
    let mut done = Partitions::default();
    for f in files {
        let rel = f.strip_prefix(&table_dir).unwrap_or(f).to_string_lossy().replace('\\', "/");
        let key =
            crate::output::part_key(&[dataset.sha256(f)?.as_str(), model_name, text_column, env!("CARGO_PKG_VERSION")]);
        let part = format!("{}.parquet", rel.replace('/', "__"));
        let target = parts_dir.join(&part);
        let kept = previous.iter().find(|p| p.input == rel && p.key == key).filter(|p| {
            let src = reuse.join(PARTS).join(&p.part);
            roicast_data::sha256_file(&src).is_ok_and(|h| h == p.part_sha256)
        });
        if let Some(p) = kept {
            let mut p = p.clone();
            p.summary.mean_compound = f64::from_bits(p.mean_bits);
            crate::output::keep_part(&reuse.join(PARTS).join(&p.part), &target)?;
            index.push(p);
            done.reused.push(rel);
            continue;
        }
        // The index keeps counts, not timings: it is an output, the same bytes on every run.
        let summary =
            ScoreSummary { seconds: 0.0, rows_per_second: 0.0, ..score_file(scorer, f, &target, text_column, ctx)? };
        let part_sha256 = roicast_data::sha256_file(&target)?;
        let mean_bits = summary.mean_compound.to_bits();
        index.push(PartRecord { input: rel.clone(), key, part, part_sha256, summary, mean_bits });
        done.scored.push(rel);
    }
    // Parts of partitions that are gone are dropped.
    let wanted: std::collections::BTreeSet<&str> = index.iter().map(|p| p.part.as_str()).collect();
    for e in std::fs::read_dir(&parts_dir).with_context(|| format!("failed to list {}", parts_dir.display()))? {
        let e = e?;
        let name = e.file_name().to_string_lossy().into_owned();
        if name != PARTS_INDEX && !wanted.contains(name.as_str()) {
            std::fs::remove_file(e.path()).with_context(|| format!("failed to remove {}", e.path().display()))?;
        }
    }
    let index_bytes = serde_json::to_vec_pretty(&index).expect("the index serialises");
    roicast_data::io::write_bytes_atomic(&parts_dir.join(PARTS_INDEX), &index_bytes)?;
    // The whole table: every part's rows in order, in one file.
    let output = out.join("comments_sentiment.parquet");
    let mut writer: Option<TableWriter> = None;
    for p in &index {
        let path = parts_dir.join(&p.part);
        let mut r =
            FileReader::open(Table::Comments, &path).with_context(|| format!("failed to open {}", path.display()))?;
        while let Some(raw) = r.next_batch()? {
            let w = match &mut writer {
                Some(w) => w,
                None => writer.insert(TableWriter::create(&output, &raw.batch.schema())?),
            };
            w.write(&raw.batch)?;
        }
    }
    if let Some(w) = writer {
        w.finish()?;
    }
    let mut summary = combine(&index.iter().map(|p| p.summary.clone()).collect::<Vec<_>>());
    summary.seconds = started.elapsed().as_secs_f64();
    summary.rows_per_second = summary.rows as f64 / summary.seconds.max(1e-9);
    let mut written: Vec<PathBuf> = index.iter().map(|p| parts_dir.join(&p.part)).collect();
    written.push(parts_dir.join(PARTS_INDEX));
    written.push(output);
    Ok((summary, done, written))
}

/// Scores every comment; writes the scored rows and `sentiment.manifest.json`.
pub fn run(ctx: &Ctx, c: &Config) -> anyhow::Result<Summary> {
    let mut manifest = ManifestBuilder::start("sentiment");
    let (scorer, model_name) = Scorer::from_arg(&c.model)?;
    let (input, output, dir) = match &c.target {
        Target::File { input, output } => (input.clone(), output.clone(), crate::output::parent_dir(output)),
        Target::Dataset { data, out } => {
            let dataset = ctx.open_dataset(data)?;
            let Some(files) = dataset.files(Table::Comments) else {
                bail!("{}: the dataset has no comments table", data.display());
            };
            if files.len() > 1 || files.first().is_some_and(|f| f.parent() != Some(dataset.root())) {
                return run_partitioned(ctx, c, manifest, &scorer, model_name, &dataset, out);
            }
            (files[0].clone(), out.join("comments_sentiment.parquet"), out.clone())
        }
    };
    let new_dir = crate::output::NewDir::create(&dir)?;
    let summary = score_file(&scorer, &input, &output, &c.text_column, ctx)?;
    new_dir.keep();
    manifest.record("score", summary.seconds);
    let m = manifest.finish(
        json!({ "model": model_name, "text_column": c.text_column, "threads": rayon::current_num_threads() }),
        vec![FileRecord::of(&input)?],
        vec![FileRecord::of(&output)?],
        BTreeMap::from([("comments".to_owned(), summary.rows)]),
        "ok",
    );
    m.write(&dir)?;
    Ok(Summary { model: model_name, input, output, summary, partitions: None })
}

/// [`run`] on a partitioned comments table (incremental: see [`Config::reuse`]).
fn run_partitioned(
    ctx: &Ctx,
    c: &Config,
    manifest: ManifestBuilder,
    scorer: &Scorer,
    model_name: String,
    dataset: &roicast_data::Dataset,
    out: &Path,
) -> anyhow::Result<Summary> {
    let files = dataset.disk_files(Table::Comments).to_vec();
    let new_dir = crate::output::NewDir::create(out)?;
    let (summary, partitions, written) = score_partitions(ctx, c, (scorer, &model_name), dataset, &files, out)?;
    new_dir.keep();
    let output = out.join("comments_sentiment.parquet");
    let reused: Vec<String> =
        partitions.reused.iter().map(|r| format!("{PARTS}/{}.parquet", r.replace('/', "__"))).collect();
    let m = manifest
        .finish(
            json!({ "model": model_name, "text_column": c.text_column, "threads": rayon::current_num_threads(),
                    "partitions": files.len(), "scored": partitions.scored.len(), "reused": partitions.reused.len() }),
            crate::output::records(files.iter())?,
            crate::output::records(written.iter())?,
            BTreeMap::from([("comments".to_owned(), summary.rows)]),
            "ok",
        )
        .with_reused(reused);
    m.write(out)?;
    Ok(Summary {
        model: model_name,
        input: dataset.root().join(Table::Comments.name()),
        output,
        summary,
        partitions: Some(partitions),
    })
}

// ---------------------------------------------------------------------------------------
// Labelled data, training and evaluation

/// Labelled texts read from one or more files.
#[derive(Debug, Default)]
pub struct Labelled {
    /// Texts.
    pub texts: Vec<String>,
    /// Class index into [`CLASSES`].
    pub classes: Vec<usize>,
    /// Row is in the held-out test split.
    pub test: Vec<bool>,
    /// Row weight (1 unless a weight column is given).
    pub weights: Vec<f64>,
    /// Index of the input file of each row.
    pub source: Vec<usize>,
    /// Input files, in order.
    pub files: Vec<PathBuf>,
}

/// Parses a label: positive/negative/neutral (or pos/neg/neu, 1/-1/0), any case.
#[must_use]
pub fn parse_label(s: &str) -> Option<usize> {
    match s.trim().to_ascii_lowercase().as_str() {
        "negative" | "neg" | "-1" => Some(0),
        "neutral" | "neu" | "0" => Some(1),
        "positive" | "pos" | "1" | "+1" => Some(2),
        _ => None,
    }
}

fn column_text(batch: &RecordBatch, path: &Path, name: &str, first_row: u64) -> anyhow::Result<Option<StringArray>> {
    let Ok(i) = batch.schema().index_of(name) else { return Ok(None) };
    let a = batch.column(i);
    let c = if a.data_type() == &DataType::Utf8 {
        a.clone()
    } else {
        arrow_cast::cast(a, &DataType::Utf8).with_context(|| {
            format!("{}: column `{name}` (rows from {first_row}) cannot be read as text", path.display())
        })?
    };
    Ok(Some(c.as_string::<i32>().clone()))
}

/// Reads labelled rows. `split_column`: rows whose value is `test` are held out (the
/// column is optional unless named explicitly); `weight_column`: a non-negative weight.
pub fn read_labelled(
    paths: &[PathBuf],
    text_column: &str,
    label_column: &str,
    split_column: Option<&str>,
    weight_column: Option<&str>,
) -> anyhow::Result<Labelled> {
    let mut out = Labelled { files: paths.to_vec(), ..Labelled::default() };
    for (k, path) in paths.iter().enumerate() {
        let mut reader =
            FileReader::open(Table::Comments, path).with_context(|| format!("failed to open {}", path.display()))?;
        let schema = reader.schema();
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        for (flag, col) in [
            ("--text-column", Some(text_column)),
            ("--label-column", Some(label_column)),
            ("--weight-column", weight_column),
        ] {
            if let Some(c) = col
                && schema.index_of(c).is_err()
            {
                return Err(super::bad_file(
                    path,
                    format!("no column `{c}` (columns: {}); pass {flag}", names.join(", ")),
                ));
            }
        }
        let split_name = split_column.unwrap_or("split");
        if split_column.is_some() && schema.index_of(split_name).is_err() {
            return Err(super::bad_file(
                path,
                format!("no column `{split_name}` (columns: {}); pass --split-column", names.join(", ")),
            ));
        }
        while let Some(raw) = reader.next_batch()? {
            if let Some((_, r)) = raw.rejects.first() {
                return Err(super::bad_value(path, r.row.unwrap_or(raw.first_row), &r.column, r.reason.clone()));
            }
            let b = &raw.batch;
            let text = column_text(b, path, text_column, raw.first_row)?.expect("checked above");
            let label = column_text(b, path, label_column, raw.first_row)?.expect("checked above");
            let split = column_text(b, path, split_name, raw.first_row)?;
            let weight = match weight_column {
                Some(w) => column_text(b, path, w, raw.first_row)?,
                None => None,
            };
            for i in 0..b.num_rows() {
                let row = raw.first_row + i as u64;
                let bad = |col: &str, reason: String| super::bad_value(path, row, col, reason);
                if text.is_null(i) || text.value(i).trim().is_empty() {
                    return Err(bad(text_column, "empty text (training rows need text)".into()));
                }
                let value = if label.is_null(i) { "" } else { label.value(i) };
                let Some(class) = parse_label(value) else {
                    return Err(bad(
                        label_column,
                        format!("label `{value}` is not one of positive / negative / neutral"),
                    ));
                };
                let test =
                    match split.as_ref().filter(|s| s.is_valid(i)).map(|s| s.value(i).trim().to_ascii_lowercase()) {
                        None => false,
                        Some(s) if s == "train" || s.is_empty() => false,
                        Some(s) if s == "test" => true,
                        Some(s) => return Err(bad(split_name, format!("split `{s}` is not train or test"))),
                    };
                let w = match &weight {
                    None => 1.0,
                    Some(wc) => {
                        let s = if wc.is_null(i) { "" } else { wc.value(i) };
                        match s.trim().parse::<f64>() {
                            Ok(v) if v.is_finite() && v >= 0.0 => v,
                            _ => {
                                let reason = format!("weight `{s}` is not a finite number >= 0");
                                return Err(bad(weight_column.unwrap_or(""), reason));
                            }
                        }
                    }
                };
                out.texts.push(text.value(i).to_owned());
                out.classes.push(class);
                out.test.push(test);
                out.weights.push(w);
                out.source.push(k);
            }
        }
    }
    if out.texts.is_empty() {
        bail!("no labelled rows in {}", paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "));
    }
    Ok(out)
}

/// Macro-F1 etc. of `scorer` on the rows `rows` of `data`.
pub fn evaluate(scorer: &Scorer, data: &Labelled, rows: &[usize]) -> anyhow::Result<Classification> {
    let pred: Vec<usize> = rows.par_iter().map(|&r| scorer.score(&data.texts[r]).class).collect();
    let truth: Vec<usize> = rows.iter().map(|&r| data.classes[r]).collect();
    Ok(classification(&CLASSES, &truth, &pred)?)
}

/// Held-out scores of one input.
#[derive(Debug, Serialize)]
pub struct HeldOut {
    /// The input file.
    pub input: PathBuf,
    /// Held-out rows.
    pub rows: usize,
    /// The trained model on them.
    pub model: Classification,
    /// VADER on them.
    pub vader: Classification,
}

fn yes() -> bool {
    true
}

fn folds() -> usize {
    5
}

fn epochs() -> usize {
    10
}

fn l2() -> f64 {
    1e-5
}

fn learning_rate() -> f64 {
    0.1
}

fn seed() -> u64 {
    7
}

fn hashed() -> String {
    "hashed".into()
}

/// Training the linear sentiment model (`roicast train sentiment`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(clippy::struct_excessive_bools)] // one switch per option
pub struct TrainConfig {
    /// Labelled files.
    pub input: Vec<PathBuf>,
    /// The column holding the text.
    #[serde(default = "text")]
    pub text_column: String,
    /// The column holding the label.
    #[serde(default = "label")]
    pub label_column: String,
    /// Rows whose value here is `test` are held out (default: a column `split`, if present).
    #[serde(default)]
    pub split_column: Option<String>,
    /// A non-negative row weight column.
    #[serde(default)]
    pub weight_column: Option<String>,
    /// Give every input file the same total weight (the same as `input_weighting =
    /// "balanced"`).
    #[serde(default)]
    pub balance_inputs: bool,
    /// How the input files are weighed against each other; `cv` chooses by
    /// cross-validation. Default: `balanced` with `balance_inputs`, else `natural`.
    #[serde(default)]
    pub input_weighting: Option<InputWeighting>,
    /// Weight classes inversely to their frequency.
    #[serde(default = "yes")]
    pub balance_classes: bool,
    /// Cross-validation folds.
    #[serde(default = "folds")]
    pub folds: usize,
    /// Passes over the data.
    #[serde(default = "epochs")]
    pub epochs: usize,
    /// L2 penalty.
    #[serde(default = "l2")]
    pub l2: f64,
    /// AdaGrad step size.
    #[serde(default = "learning_rate")]
    pub learning_rate: f64,
    /// Seed of the folds and shuffles.
    #[serde(default = "seed")]
    pub seed: u64,
    /// VADER's scores among the features.
    #[serde(default = "yes")]
    pub vader_features: bool,
    /// `hashed` or `minilm`.
    #[serde(default = "hashed")]
    pub encoder: String,
    /// Character 3- and 4-grams among the features.
    #[serde(default)]
    pub char_ngrams: bool,
    /// Emoji valences from the Emoji Sentiment Ranking for emoji the creator lexicon lacks.
    #[serde(default)]
    pub emoji_sentiment: bool,
    /// Where to write the model.
    pub out: PathBuf,
}

/// How the input files of a training run weigh against each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InputWeighting {
    /// Every row weighs the same: a large input dominates.
    Natural,
    /// Each input's total weight is proportional to the square root of its rows.
    Sqrt,
    /// Every input weighs the same in total.
    Balanced,
    /// The one of natural, sqrt and balanced with the best mean, over the inputs, of the
    /// out-of-fold macro-F1 on each input's training rows (held-out rows never seen).
    Cv,
}

impl InputWeighting {
    /// The schemes `cv` chooses among, in the order ties are broken.
    pub const CANDIDATES: [InputWeighting; 3] =
        [InputWeighting::Balanced, InputWeighting::Sqrt, InputWeighting::Natural];

    fn name(self) -> &'static str {
        match self {
            InputWeighting::Natural => "natural",
            InputWeighting::Sqrt => "sqrt",
            InputWeighting::Balanced => "balanced",
            InputWeighting::Cv => "cv",
        }
    }

    /// Row weights under this scheme: `base` (the rows' own weights) rescaled so that
    /// each input's total is its share (`source`: each row's input, `inputs` of them).
    fn apply(self, base: &[f64], source: &[usize], inputs: usize) -> Vec<f64> {
        let mut mass = vec![0.0f64; inputs];
        let mut rows = vec![0usize; inputs];
        for (w, &s) in base.iter().zip(source) {
            mass[s] += w;
            rows[s] += 1;
        }
        let target: Vec<f64> = match self {
            InputWeighting::Natural | InputWeighting::Cv => return base.to_vec(),
            InputWeighting::Sqrt => rows.iter().map(|&n| (n as f64).sqrt()).collect(),
            InputWeighting::Balanced => rows.iter().map(|&n| if n > 0 { 1.0 } else { 0.0 }).collect(),
        };
        let total: f64 = mass.iter().sum();
        let target_total: f64 = target.iter().zip(&mass).filter(|(_, m)| **m > 0.0).map(|(t, _)| t).sum();
        base.iter().zip(source).map(|(w, &s)| w * (total * target[s] / (target_total * mass[s]))).collect()
    }
}

/// One weighting scheme's cross-validated scores.
#[derive(Debug, Serialize)]
pub struct WeightingScore {
    /// natural, sqrt or balanced.
    pub scheme: &'static str,
    /// Mean over the inputs of their out-of-fold macro-F1.
    pub mean_macro_f1: f64,
    /// Each input's out-of-fold macro-F1, in input order.
    pub per_input: Vec<f64>,
}

/// The inputs' weighting used, and how it was chosen.
#[derive(Debug, Serialize)]
pub struct WeightingChoice {
    /// The scheme trained with.
    pub chosen: &'static str,
    /// Cross-validated scores of each candidate (with `cv`; empty otherwise).
    pub candidates: Vec<WeightingScore>,
}

/// What training found.
#[derive(Debug, Serialize)]
pub struct TrainSummary {
    /// The model file written.
    pub model: PathBuf,
    /// Rows trained on.
    pub train_rows: usize,
    /// Cross-validated scores.
    pub cv: CvReport,
    /// Scores on each input's held-out rows.
    pub held_out: Vec<HeldOut>,
    /// How the inputs were weighed.
    pub input_weighting: WeightingChoice,
}

/// `roicast train sentiment`.
/// Trains the linear model, evaluates it on each input's held-out rows and saves it.
pub fn train(ctx: &Ctx, a: &TrainConfig) -> anyhow::Result<TrainSummary> {
    let mut manifest = ManifestBuilder::start("train_sentiment");
    let params = SentimentParams {
        l2: a.l2,
        epochs: a.epochs,
        learning_rate: a.learning_rate,
        folds: a.folds,
        seed: a.seed,
        balance_classes: a.balance_classes,
        features: roicast_models::sentiment::features::FeatureOptions {
            vader: a.vader_features,
            char_ngrams: a.char_ngrams,
            emoji_sentiment: a.emoji_sentiment,
        },
    };
    params.check()?;
    let data = read_labelled(
        &a.input,
        &a.text_column,
        &a.label_column,
        a.split_column.as_deref(),
        a.weight_column.as_deref(),
    )?;
    let train_rows: Vec<usize> = (0..data.texts.len()).filter(|&r| !data.test[r]).collect();
    if train_rows.is_empty() {
        bail!("every row is in the test split; nothing to train on");
    }
    let scheme = match (a.input_weighting, a.balance_inputs) {
        (Some(w), false) | (Some(w @ InputWeighting::Balanced), true) => w,
        (None, true) => InputWeighting::Balanced,
        (None, false) => InputWeighting::Natural,
        (Some(w), true) => {
            return Err(super::InvalidSettings(anyhow::anyhow!(
                "--balance-inputs asks for balanced inputs but --input-weighting asks for {}: give one",
                w.name()
            ))
            .into());
        }
    };
    let base: Vec<f64> = train_rows.iter().map(|&r| data.weights[r]).collect();
    let source: Vec<usize> = train_rows.iter().map(|&r| data.source[r]).collect();
    let texts: Vec<&str> = train_rows.iter().map(|&r| data.texts[r].as_str()).collect();
    let classes: Vec<usize> = train_rows.iter().map(|&r| data.classes[r]).collect();
    let choice = if scheme == InputWeighting::Cv {
        if a.encoder != "hashed" {
            return Err(super::InvalidSettings(anyhow::anyhow!(
                "--input-weighting cv is chosen on the hashed features: use --encoder hashed, or name a scheme"
            ))
            .into());
        }
        ctx.progress.stage("choosing the inputs' weighting by cross-validation", 0);
        choose_weighting(&texts, &classes, &base, &source, data.files.len(), &params)?
    } else {
        WeightingChoice { chosen: scheme.name(), candidates: Vec::new() }
    };
    let chosen = InputWeighting::CANDIDATES.into_iter().find(|w| w.name() == choice.chosen).unwrap_or(scheme);
    let weights = chosen.apply(&base, &source, data.files.len());
    ctx.progress.stage("training the sentiment model (cross-validation, then the final fit)", 0);
    let (model, report) = match a.encoder.as_str() {
        "hashed" => roicast_training::sentiment::train(&texts, &classes, &weights, &params)?,
        _ => train_minilm_head(&texts, &classes, &weights, &params)?,
    };
    ctx.progress.finish();
    manifest.stage_done("train");
    let fingerprint = {
        let mut parts = Vec::new();
        for f in &data.files {
            parts.push(format!(
                "sha256:{}",
                roicast_data::sha256_file(f).with_context(|| format!("failed to hash {}", f.display()))?
            ));
        }
        parts.join("+")
    };
    let file = ModelFile::new(
        linear::model_kind(),
        {
            let mut v = serde_json::to_value(params).expect("params serialise");
            v["encoder"] = json!(a.encoder);
            v
        },
        roicast_models::sentiment::features::DENSE_NAMES.iter().map(|s| (*s).to_owned()).collect(),
        &fingerprint,
        model.clone(),
    );
    let scorer = held_out_scorer(&a.encoder, model)?;
    let mut held_out = Vec::new();
    for (k, input) in data.files.iter().enumerate() {
        let rows: Vec<usize> = (0..data.texts.len()).filter(|&r| data.test[r] && data.source[r] == k).collect();
        if rows.is_empty() {
            continue;
        }
        held_out.push(HeldOut {
            input: input.clone(),
            rows: rows.len(),
            model: evaluate(&scorer, &data, &rows)?,
            vader: evaluate(&Scorer::Vader, &data, &rows)?,
        });
    }
    manifest.stage_done("evaluate");
    if let Some(parent) = a.out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("failed to create {}", parent.display()))?;
    }
    file.save(&a.out).with_context(|| format!("failed to write {}", a.out.display()))?;
    let dir = a.out.parent().filter(|p| !p.as_os_str().is_empty()).map_or_else(|| PathBuf::from("."), Path::to_owned);
    let inputs = data.files.iter().map(|f| FileRecord::of(f)).collect::<anyhow::Result<Vec<_>>>()?;
    manifest
        .finish(
            json!({ "params": params, "balance_inputs": a.balance_inputs, "input_weighting": choice, "text_column": a.text_column, "label_column": a.label_column }),
            inputs,
            vec![FileRecord::of(&a.out)?],
            BTreeMap::from([("train_rows".to_owned(), train_rows.len() as u64), ("test_rows".to_owned(), (data.texts.len() - train_rows.len()) as u64)]),
            "ok",
        )
        .write(&dir)?;
    Ok(TrainSummary {
        model: a.out.clone(),
        train_rows: train_rows.len(),
        cv: report,
        held_out,
        input_weighting: choice,
    })
}

/// Scores each candidate weighting by the mean over the inputs of their out-of-fold
/// macro-F1 (the training rows only) and picks the best (ties: the earlier candidate).
fn choose_weighting(
    texts: &[&str],
    classes: &[usize],
    base: &[f64],
    source: &[usize],
    inputs: usize,
    params: &roicast_training::sentiment::SentimentParams,
) -> anyhow::Result<WeightingChoice> {
    let x = roicast_training::sentiment::featurize(texts, params.features);
    let mut candidates = Vec::new();
    for w in InputWeighting::CANDIDATES {
        let weights = w.apply(base, source, inputs);
        let pred = roicast_training::sentiment::out_of_fold_classes(&x, classes, &weights, params)?;
        let mut per_input = Vec::new();
        for k in 0..inputs {
            let rows: Vec<usize> = (0..classes.len()).filter(|&r| source[r] == k).collect();
            if rows.is_empty() {
                continue;
            }
            let truth: Vec<usize> = rows.iter().map(|&r| classes[r]).collect();
            let got: Vec<usize> = rows.iter().map(|&r| pred[r]).collect();
            per_input.push(roicast_training::metrics::classification(&CLASSES, &truth, &got)?.macro_f1);
        }
        let mean_macro_f1 = per_input.iter().sum::<f64>() / per_input.len() as f64;
        candidates.push(WeightingScore { scheme: w.name(), mean_macro_f1, per_input });
    }
    let best = candidates
        .iter()
        .enumerate()
        .fold(0, |b, (i, c)| if c.mean_macro_f1 > candidates[b].mean_macro_f1 { i } else { b });
    Ok(WeightingChoice { chosen: candidates[best].scheme, candidates })
}

#[cfg(feature = "minilm")]
fn train_minilm_head(
    texts: &[&str],
    classes: &[usize],
    weights: &[f64],
    params: &SentimentParams,
) -> anyhow::Result<(LinearSentiment, CvReport)> {
    use roicast_models::sentiment::minilm::{MiniLm, weights_dir};
    let enc = MiniLm::load(&weights_dir())?;
    let x = texts.par_iter().map(|t| enc.features(t)).collect::<Result<Vec<_>, _>>()?;
    Ok(roicast_training::sentiment::train_features(&x, classes, weights, params)?)
}

#[cfg(not(feature = "minilm"))]
fn train_minilm_head(
    _: &[&str],
    _: &[usize],
    _: &[f64],
    _: &SentimentParams,
) -> anyhow::Result<(LinearSentiment, CvReport)> {
    minilm_scorer().map(|_| unreachable!("minilm_scorer always fails without the feature"))
}

#[cfg(feature = "minilm")]
fn held_out_scorer(encoder: &str, model: LinearSentiment) -> anyhow::Result<Scorer> {
    if encoder == "minilm" {
        let enc = roicast_models::sentiment::minilm::MiniLm::load(&roicast_models::sentiment::minilm::weights_dir())?;
        return Ok(Scorer::MiniLm(Arc::new(enc), Arc::new(model)));
    }
    Ok(Scorer::Linear(Arc::new(model)))
}

#[cfg(not(feature = "minilm"))]
#[allow(clippy::unnecessary_wraps)] // the same signature as with the feature
fn held_out_scorer(_: &str, model: LinearSentiment) -> anyhow::Result<Scorer> {
    Ok(Scorer::Linear(Arc::new(model)))
}

fn all() -> String {
    "all".into()
}

/// Scoring a model on labelled data (`roicast eval sentiment`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvalConfig {
    /// `vader`, `default` or a model file.
    #[serde(default = "default_model")]
    pub model: String,
    /// Labelled files.
    pub input: Vec<PathBuf>,
    /// The column holding the text.
    #[serde(default = "text")]
    pub text_column: String,
    /// The column holding the label.
    #[serde(default = "label")]
    pub label_column: String,
    /// The split column (default: `split`, if present).
    #[serde(default)]
    pub split_column: Option<String>,
    /// Which rows: `all`, `train` or `test`.
    #[serde(default = "all")]
    pub split: String,
}

/// A model's scores on labelled rows.
#[derive(Debug, Serialize)]
pub struct EvalSummary {
    /// The model's name.
    pub model: String,
    /// The split scored.
    pub split: String,
    /// Rows scored.
    pub rows: usize,
    /// Macro-F1, per class, confusion matrix.
    pub scores: Classification,
}

/// `roicast eval sentiment`.
/// Scores a model on labelled data.
pub fn eval(_ctx: &Ctx, a: &EvalConfig) -> anyhow::Result<EvalSummary> {
    let (scorer, name) = Scorer::from_arg(&a.model)?;
    let data = read_labelled(&a.input, &a.text_column, &a.label_column, a.split_column.as_deref(), None)?;
    let rows: Vec<usize> = (0..data.texts.len())
        .filter(|&r| match a.split.as_str() {
            "test" => data.test[r],
            "train" => !data.test[r],
            _ => true,
        })
        .collect();
    if rows.is_empty() {
        bail!("no rows in split `{}`", a.split);
    }
    let c = evaluate(&scorer, &data, &rows)?;
    Ok(EvalSummary { model: name, split: a.split.clone(), rows: rows.len(), scores: c })
}

#[cfg(test)]
mod tests {
    use super::InputWeighting;

    #[test]
    fn input_weightings_give_each_input_its_share_and_keep_the_total() {
        // Input 0: 4 rows, input 1: 1 row (weight 2), input 2: none.
        let base = [1.0, 1.0, 1.0, 1.0, 2.0];
        let source = [0, 0, 0, 0, 1];
        let total = |w: &[f64], k: usize| w.iter().zip(&source).filter(|(_, s)| **s == k).map(|(w, _)| w).sum::<f64>();
        assert_eq!(InputWeighting::Natural.apply(&base, &source, 3), base.to_vec());
        for (scheme, share0) in [(InputWeighting::Balanced, 0.5), (InputWeighting::Sqrt, 2.0 / 3.0)] {
            let w = scheme.apply(&base, &source, 3);
            assert!((total(&w, 0) + total(&w, 1) - 6.0).abs() < 1e-12, "{scheme:?}: {w:?}");
            assert!((total(&w, 0) / 6.0 - share0).abs() < 1e-12, "{scheme:?}: {w:?}");
            // Rows of one input keep their relative weights.
            assert!(w[..4].iter().all(|x| (x - w[0]).abs() < 1e-15), "{w:?}");
        }
    }
}
