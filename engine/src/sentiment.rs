//! The sentiment jobs: `roicast sentiment` (batch scoring of a file or of a dataset's
//! `comments`), `roicast train sentiment` and `roicast eval sentiment`.

use std::collections::BTreeMap;
use std::io::Write;
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
use roicast_models::sentiment::{CLASSES, Vader, looks_non_english};
use roicast_training::metrics::{Classification, classification};
use roicast_training::sentiment::{CvReport, SentimentParams};
use serde::Serialize;
use serde_json::json;

use crate::args::{EvalSentimentArgs, OutputFormat, SentimentArgs, TrainSentimentArgs};
use crate::cli::{Outcome, Settings};
use crate::manifest::{FileRecord, ManifestBuilder};
use roicast_data::validate::Progress as _;

/// Columns the scoring job adds to every row.
pub const ADDED_COLUMNS: [&str; 7] = ["sentiment", "compound", "neg", "neu", "pos", "text_missing", "non_english"];

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
#[derive(Debug, Clone, Default, Serialize)]
pub struct ScoreSummary {
    /// Rows read and written.
    pub rows: u64,
    /// Rows whose text was null or empty (scored neutral, `text_missing` = true).
    pub text_missing: u64,
    /// Rows that look non-English (scored anyway, `non_english` = true).
    pub non_english: u64,
    /// Rows per class.
    pub by_class: BTreeMap<String, u64>,
    /// Mean compound over rows with text.
    pub mean_compound: f64,
    /// Wall time of the scoring, seconds.
    pub seconds: f64,
    /// Rows per second.
    pub rows_per_second: f64,
}

/// Scores one batch's text column; returns the added columns.
fn score_column(scorer: &Scorer, text: &StringArray, summary: &mut ScoreSummary) -> Vec<ArrayRef> {
    const CHUNK: usize = 2048;
    let n = text.len();
    let rows: Vec<(Scored, bool, bool)> = (0..n)
        .into_par_iter()
        .with_min_len(CHUNK)
        .map(|i| {
            let t = if text.is_null(i) { "" } else { text.value(i) };
            if t.trim().is_empty() {
                (Scored { class: 1, compound: 0.0, neg: 0.0, neu: 1.0, pos: 0.0 }, true, false)
            } else {
                (scorer.score(t), false, looks_non_english(t))
            }
        })
        .collect();
    let mut label = StringBuilder::with_capacity(n, n * 8);
    let (mut compound, mut neg, mut neu, mut pos) = (
        Float64Builder::with_capacity(n),
        Float64Builder::with_capacity(n),
        Float64Builder::with_capacity(n),
        Float64Builder::with_capacity(n),
    );
    let (mut missing, mut foreign) = (BooleanBuilder::with_capacity(n), BooleanBuilder::with_capacity(n));
    let mut sum = summary.mean_compound * (summary.rows - summary.text_missing) as f64;
    for (s, m, f) in rows {
        label.append_value(CLASSES[s.class]);
        compound.append_value(s.compound);
        neg.append_value(s.neg);
        neu.append_value(s.neu);
        pos.append_value(s.pos);
        missing.append_value(m);
        foreign.append_value(f);
        summary.rows += 1;
        *summary.by_class.entry(CLASSES[s.class].to_owned()).or_default() += 1;
        if m {
            summary.text_missing += 1;
        } else {
            sum += s.compound;
        }
        summary.non_english += u64::from(f);
    }
    let with_text = summary.rows - summary.text_missing;
    summary.mean_compound = if with_text > 0 { sum / with_text as f64 } else { 0.0 };
    vec![
        Arc::new(label.finish()),
        Arc::new(compound.finish()),
        Arc::new(neg.finish()),
        Arc::new(neu.finish()),
        Arc::new(pos.finish()),
        Arc::new(missing.finish()),
        Arc::new(foreign.finish()),
    ]
}

fn output_schema(input: &Schema, path: &Path) -> anyhow::Result<SchemaRef> {
    for name in ADDED_COLUMNS {
        if input.field_with_name(name).is_ok() {
            bail!(
                "{}: the input already has a column `{name}`, which the sentiment job adds; rename it first",
                path.display()
            );
        }
    }
    let mut fields: Vec<Field> = input.fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.push(Field::new("sentiment", DataType::Utf8, false));
    for f in ["compound", "neg", "neu", "pos"] {
        fields.push(Field::new(f, DataType::Float64, false));
    }
    fields.push(Field::new("text_missing", DataType::Boolean, false));
    fields.push(Field::new("non_english", DataType::Boolean, false));
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
        other => bail!("{}: column `{column}` has type {other}, expected text", path.display()),
    }
}

/// Scores every row of `input` into `output` (any supported format each), keeping every
/// input column. Written atomically: on error nothing is left at `output`.
pub fn score_file(
    scorer: &Scorer,
    input: &Path,
    output: &Path,
    text_column: &str,
    settings: &Settings,
) -> anyhow::Result<ScoreSummary> {
    let started = Instant::now();
    let mut reader =
        FileReader::open(Table::Comments, input).with_context(|| format!("failed to open {}", input.display()))?;
    let in_schema = reader.schema();
    let Ok(text_index) = in_schema.index_of(text_column) else {
        let names: Vec<&str> = in_schema.fields().iter().map(|f| f.name().as_str()).collect();
        bail!("{}: no column `{text_column}` (columns: {}); pass --text-column", input.display(), names.join(", "));
    };
    let schema = output_schema(&in_schema, input)?;
    let mut writer = TableWriter::create(output, &schema)?;
    settings.progress.stage("scoring comments", 0);
    let mut summary = ScoreSummary::default();
    while let Some(raw) = reader.next_batch()? {
        if let Some((_, reject)) = raw.rejects.first() {
            bail!(
                "{}: row {}, column {}: {} — nothing was written",
                input.display(),
                reject.row.unwrap_or(raw.first_row),
                reject.column,
                reject.reason
            );
        }
        let text = text_as_utf8(&raw.batch, text_index, input, text_column, raw.first_row)?;
        let mut columns = raw.batch.columns().to_vec();
        columns.extend(score_column(scorer, &text, &mut summary));
        let out = RecordBatch::try_new(schema.clone(), columns).context("building the scored batch")?;
        writer.write(&out)?;
        settings.progress.advance(out.num_rows() as u64);
    }
    settings.progress.finish();
    writer.finish()?;
    summary.seconds = started.elapsed().as_secs_f64();
    summary.rows_per_second = summary.rows as f64 / summary.seconds.max(1e-9);
    Ok(summary)
}

/// `roicast sentiment`.
pub fn sentiment(a: &SentimentArgs, settings: &Settings, stdout: &mut dyn Write) -> anyhow::Result<Outcome> {
    let mut manifest = ManifestBuilder::start("sentiment");
    let (scorer, model_name) = Scorer::from_arg(&a.model)?;
    let (input, output, dir) = match (&a.input, &a.output, &a.data, &a.out) {
        (Some(i), Some(o), None, None) => {
            let dir =
                o.parent().filter(|p| !p.as_os_str().is_empty()).map_or_else(|| PathBuf::from("."), Path::to_owned);
            std::fs::create_dir_all(&dir).with_context(|| format!("failed to create {}", dir.display()))?;
            (i.clone(), o.clone(), dir)
        }
        (None, None, Some(data), Some(out)) => {
            let dataset = roicast_data::Dataset::open(data)
                .with_context(|| format!("failed to open the dataset {}", data.display()))?;
            let Some(files) = dataset.files(Table::Comments) else {
                bail!("{}: the dataset has no comments table", data.display());
            };
            if files.len() != 1 {
                bail!(
                    "{}: the comments table has {} partition files; score them one by one with --input/--output",
                    data.display(),
                    files.len()
                );
            }
            std::fs::create_dir_all(out).with_context(|| format!("failed to create {}", out.display()))?;
            (files[0].clone(), out.join("comments_sentiment.parquet"), out.clone())
        }
        _ => bail!("roicast sentiment needs either --input FILE --output FILE, or --data DIR --out DIR"),
    };
    let summary = score_file(&scorer, &input, &output, &a.text_column, settings)?;
    manifest.record("score", summary.seconds);
    let m = manifest.finish(
        json!({ "model": model_name, "text_column": a.text_column, "threads": rayon::current_num_threads() }),
        vec![FileRecord::of(&input)?],
        vec![FileRecord::of(&output)?],
        BTreeMap::from([("comments".to_owned(), summary.rows)]),
        "ok",
    );
    m.write(&dir)?;
    match settings.format {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(
                &mut *stdout,
                &json!({ "model": model_name, "input": input, "output": output, "summary": summary }),
            )?;
            writeln!(stdout)?;
        }
        OutputFormat::Text => print_summary(stdout, &model_name, &output, &summary)?,
    }
    Ok(Outcome::Ok)
}

/// Prints a scoring summary.
pub fn print_summary(stdout: &mut dyn Write, model: &str, output: &Path, s: &ScoreSummary) -> std::io::Result<()> {
    writeln!(
        stdout,
        "scored {} comments with {model} in {:.2} s ({:.0} comments/s)",
        s.rows, s.seconds, s.rows_per_second
    )?;
    let share = |n: u64| if s.rows > 0 { 100.0 * n as f64 / s.rows as f64 } else { 0.0 };
    for c in CLASSES {
        let n = s.by_class.get(c).copied().unwrap_or(0);
        writeln!(stdout, "  {c:<9} {n:>9}  {:>5.1} %", share(n))?;
    }
    writeln!(stdout, "  mean compound {:+.3}", s.mean_compound)?;
    writeln!(stdout, "  empty or null text: {} (scored neutral, flagged in `text_missing`)", s.text_missing)?;
    writeln!(stdout, "  probably not English: {} (scored anyway, flagged in `non_english`)", s.non_english)?;
    writeln!(stdout, "wrote {}", output.display())
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
                bail!("{}: no column `{c}` (columns: {}); pass {flag}", path.display(), names.join(", "));
            }
        }
        let split_name = split_column.unwrap_or("split");
        if split_column.is_some() && schema.index_of(split_name).is_err() {
            bail!("{}: no column `{split_name}` (columns: {}); pass --split-column", path.display(), names.join(", "));
        }
        while let Some(raw) = reader.next_batch()? {
            if let Some((_, r)) = raw.rejects.first() {
                bail!("{}: row {}, column {}: {}", path.display(), r.row.unwrap_or(raw.first_row), r.column, r.reason);
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
                let at = |col: &str| format!("{}: row {row}, column {col}", path.display());
                if text.is_null(i) || text.value(i).trim().is_empty() {
                    bail!("{}: empty text (training rows need text)", at(text_column));
                }
                let value = if label.is_null(i) { "" } else { label.value(i) };
                let Some(class) = parse_label(value) else {
                    bail!("{}: label `{value}` is not one of positive / negative / neutral", at(label_column));
                };
                let test =
                    match split.as_ref().filter(|s| s.is_valid(i)).map(|s| s.value(i).trim().to_ascii_lowercase()) {
                        None => false,
                        Some(s) if s == "train" || s.is_empty() => false,
                        Some(s) if s == "test" => true,
                        Some(s) => bail!("{}: split `{s}` is not train or test", at(split_name)),
                    };
                let w = match &weight {
                    None => 1.0,
                    Some(wc) => {
                        let s = if wc.is_null(i) { "" } else { wc.value(i) };
                        match s.trim().parse::<f64>() {
                            Ok(v) if v.is_finite() && v >= 0.0 => v,
                            _ => bail!("{}: weight `{s}` is not a finite number >= 0", at(weight_column.unwrap_or(""))),
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

/// `roicast train sentiment`.
pub fn train(a: &TrainSentimentArgs, settings: &Settings, stdout: &mut dyn Write) -> anyhow::Result<Outcome> {
    let mut manifest = ManifestBuilder::start("train_sentiment");
    let params = SentimentParams {
        l2: a.l2,
        epochs: a.epochs,
        learning_rate: a.learning_rate,
        folds: a.folds,
        seed: a.seed,
        balance_classes: !a.no_balance_classes,
        features: roicast_models::sentiment::features::FeatureOptions {
            vader: !a.no_vader_features,
            char_ngrams: a.char_ngrams,
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
    // Each input weighs the same in total when asked (a small in-domain set beside a
    // large general one).
    let mut weights: Vec<f64> = train_rows.iter().map(|&r| data.weights[r]).collect();
    if a.balance_inputs {
        let mut mass = vec![0.0f64; data.files.len()];
        for (k, &r) in train_rows.iter().enumerate() {
            mass[data.source[r]] += weights[k];
        }
        let total: f64 = mass.iter().sum();
        let present = mass.iter().filter(|m| **m > 0.0).count() as f64;
        for (k, &r) in train_rows.iter().enumerate() {
            weights[k] *= total / (present * mass[data.source[r]]);
        }
    }
    let texts: Vec<&str> = train_rows.iter().map(|&r| data.texts[r].as_str()).collect();
    let classes: Vec<usize> = train_rows.iter().map(|&r| data.classes[r]).collect();
    settings.progress.stage("training the sentiment model (cross-validation, then the final fit)", 0);
    let (model, report) = match a.encoder.as_str() {
        "hashed" => roicast_training::sentiment::train(&texts, &classes, &weights, &params)?,
        _ => train_minilm_head(&texts, &classes, &weights, &params)?,
    };
    settings.progress.finish();
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
            json!({ "params": params, "balance_inputs": a.balance_inputs, "text_column": a.text_column, "label_column": a.label_column }),
            inputs,
            vec![FileRecord::of(&a.out)?],
            BTreeMap::from([("train_rows".to_owned(), train_rows.len() as u64), ("test_rows".to_owned(), (data.texts.len() - train_rows.len()) as u64)]),
            "ok",
        )
        .write(&dir)?;
    match settings.format {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(
                &mut *stdout,
                &json!({ "model": a.out, "train_rows": train_rows.len(), "cv": report, "held_out": held_out }),
            )?;
            writeln!(stdout)?;
        }
        OutputFormat::Text => {
            print_cv(stdout, &report, train_rows.len())?;
            for h in &held_out {
                writeln!(stdout)?;
                writeln!(stdout, "held out ({} rows of {}, never trained on):", h.rows, h.input.display())?;
                writeln!(stdout, "  macro-F1: model {:.3}, VADER {:.3}", h.model.macro_f1, h.vader.macro_f1)?;
                print_classification(stdout, &h.model, "  ")?;
            }
            writeln!(stdout, "wrote {}", a.out.display())?;
        }
    }
    Ok(Outcome::Ok)
}

fn print_cv(stdout: &mut dyn Write, r: &CvReport, rows: usize) -> std::io::Result<()> {
    writeln!(stdout, "trained on {rows} rows; {}-fold stratified cross-validation (out-of-fold):", r.folds)?;
    writeln!(
        stdout,
        "  macro-F1 {:.3}  accuracy {:.3}  log-loss {:.3} -> {:.3}  ECE {:.3} -> {:.3} (temperature {:.2})",
        r.classification.macro_f1,
        r.classification.accuracy,
        r.log_loss_raw,
        r.log_loss_calibrated,
        r.ece_raw,
        r.ece_calibrated,
        r.temperature
    )?;
    print_classification(stdout, &r.classification, "  ")
}

/// Prints per-class scores and the confusion matrix.
pub fn print_classification(stdout: &mut dyn Write, c: &Classification, indent: &str) -> std::io::Result<()> {
    writeln!(stdout, "{indent}{:<10} {:>9} {:>7} {:>7} {:>8}", "class", "precision", "recall", "f1", "support")?;
    for s in &c.classes {
        writeln!(
            stdout,
            "{indent}{:<10} {:>9.3} {:>7.3} {:>7.3} {:>8}",
            s.label, s.precision, s.recall, s.f1, s.support
        )?;
    }
    writeln!(stdout, "{indent}confusion (rows: truth, columns: predicted)")?;
    write!(stdout, "{indent}{:<10}", "")?;
    for l in &c.labels {
        write!(stdout, " {l:>9}")?;
    }
    writeln!(stdout)?;
    for (l, row) in c.labels.iter().zip(&c.matrix) {
        write!(stdout, "{indent}{l:<10}")?;
        for v in row {
            write!(stdout, " {v:>9}")?;
        }
        writeln!(stdout)?;
    }
    Ok(())
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

/// `roicast eval sentiment`.
pub fn eval(a: &EvalSentimentArgs, settings: &Settings, stdout: &mut dyn Write) -> anyhow::Result<Outcome> {
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
    match settings.format {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(
                &mut *stdout,
                &json!({ "model": name, "split": a.split, "rows": rows.len(), "scores": c }),
            )?;
            writeln!(stdout)?;
        }
        OutputFormat::Text => {
            writeln!(
                stdout,
                "{name} on {} rows (split: {}): macro-F1 {:.3}, accuracy {:.3}",
                rows.len(),
                a.split,
                c.macro_f1,
                c.accuracy
            )?;
            print_classification(stdout, &c, "  ")?;
        }
    }
    Ok(Outcome::Ok)
}
