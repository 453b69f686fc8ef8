//! `roicast sentiment`, `roicast train sentiment`, `roicast eval sentiment`.

use std::io::Write;
use std::path::Path;

use anyhow::bail;
use roicast_models::sentiment::CLASSES;
use roicast_training::metrics::Classification;
use roicast_training::sentiment::CvReport;

use super::args::{EvalSentimentArgs, InputWeightingArg, OutputFormat, SentimentArgs, TrainSentimentArgs};
use super::{Outcome, Settings};
use crate::jobs::Ctx;
use crate::jobs::sentiment::{self, ScoreSummary, Target};

/// `roicast sentiment`.
pub(super) fn sentiment(
    a: &SentimentArgs,
    ctx: &Ctx,
    settings: &Settings,
    stdout: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let target = match (&a.input, &a.output, &a.data, &a.out) {
        (Some(i), Some(o), None, None) => Target::File { input: i.clone(), output: o.clone() },
        (None, None, Some(d), Some(o)) => Target::Dataset { data: d.clone(), out: o.clone() },
        _ => bail!("roicast sentiment needs either --input FILE --output FILE, or --data DIR --out DIR"),
    };
    let c = sentiment::Config { target, text_column: a.text_column.clone(), model: a.model.clone(), reuse: None };
    let s = sentiment::run(ctx, &c)?;
    match settings.format {
        OutputFormat::Json => super::json(stdout, &s)?,
        OutputFormat::Text => print_summary(stdout, &s.model, &s.output, &s.summary)?,
    }
    Ok(Outcome::Ok)
}

/// `roicast train sentiment`.
pub(super) fn train(
    a: &TrainSentimentArgs,
    ctx: &Ctx,
    settings: &Settings,
    stdout: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let c = sentiment::TrainConfig {
        input: a.input.clone(),
        text_column: a.text_column.clone(),
        label_column: a.label_column.clone(),
        split_column: a.split_column.clone(),
        weight_column: a.weight_column.clone(),
        balance_inputs: a.balance_inputs,
        input_weighting: a.input_weighting.map(|w| match w {
            InputWeightingArg::Natural => sentiment::InputWeighting::Natural,
            InputWeightingArg::Sqrt => sentiment::InputWeighting::Sqrt,
            InputWeightingArg::Balanced => sentiment::InputWeighting::Balanced,
            InputWeightingArg::Cv => sentiment::InputWeighting::Cv,
        }),
        balance_classes: !a.no_balance_classes,
        folds: a.folds,
        epochs: a.epochs,
        l2: a.l2,
        learning_rate: a.learning_rate,
        seed: a.seed,
        vader_features: !a.no_vader_features,
        encoder: a.encoder.clone(),
        char_ngrams: a.char_ngrams,
        emoji_sentiment: a.emoji_sentiment,
        out: a.out.clone(),
    };
    let s = sentiment::train(ctx, &c)?;
    match settings.format {
        OutputFormat::Json => super::json(stdout, &s)?,
        OutputFormat::Text => {
            if !s.input_weighting.candidates.is_empty() {
                writeln!(stdout, "inputs' weighting chosen by cross-validation: {}", s.input_weighting.chosen)?;
                for c in &s.input_weighting.candidates {
                    let each: Vec<String> = c.per_input.iter().map(|f| format!("{f:.3}")).collect();
                    writeln!(
                        stdout,
                        "  {:<9} mean out-of-fold macro-F1 {:.4} (per input: {})",
                        c.scheme,
                        c.mean_macro_f1,
                        each.join(", ")
                    )?;
                }
            }
            print_cv(stdout, &s.cv, s.train_rows)?;
            for h in &s.held_out {
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

/// `roicast eval sentiment`.
pub(super) fn eval(
    a: &EvalSentimentArgs,
    ctx: &Ctx,
    settings: &Settings,
    stdout: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let c = sentiment::EvalConfig {
        model: a.model.clone(),
        input: a.input.clone(),
        text_column: a.text_column.clone(),
        label_column: a.label_column.clone(),
        split_column: a.split_column.clone(),
        split: a.split.clone(),
    };
    let s = sentiment::eval(ctx, &c)?;
    match settings.format {
        OutputFormat::Json => super::json(stdout, &s)?,
        OutputFormat::Text => {
            writeln!(
                stdout,
                "{} on {} rows (split: {}): macro-F1 {:.3}, accuracy {:.3}",
                s.model, s.rows, s.split, s.scores.macro_f1, s.scores.accuracy
            )?;
            print_classification(stdout, &s.scores, "  ")?;
        }
    }
    Ok(Outcome::Ok)
}

/// Prints a scoring summary.
pub(super) fn print_summary(
    stdout: &mut dyn Write,
    model: &str,
    output: &Path,
    s: &ScoreSummary,
) -> std::io::Result<()> {
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
    writeln!(
        stdout,
        "  not English: {} (`non_english`); in a language the models do not know: {} (`sentiment` = unscored, scores null)",
        s.non_english, s.unscored
    )?;
    let mut langs: Vec<(&String, &u64)> = s.languages.iter().collect();
    langs.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let shown: Vec<String> = langs.iter().take(6).map(|(l, n)| format!("{l} {n}")).collect();
    writeln!(stdout, "  languages (ISO 639-3; und = too short to tell): {}", shown.join(", "))?;
    writeln!(stdout, "wrote {}", output.display())
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
pub(super) fn print_classification(stdout: &mut dyn Write, c: &Classification, indent: &str) -> std::io::Result<()> {
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
