//! The data commands: `generate`, `validate`, `schema`.

use std::io::Write;

use serde_json::json;

use super::args::{
    FileFormat, GenerateArgs, ImportArgs, OutputFormat, PartitionArgs, ScenarioArg, SchemaArgs, ValidateArgs,
};
use super::{Outcome, Settings};
use crate::jobs::{self, Ctx};
use roicast_data::generate::Scenario;
use roicast_data::validate::ValidationReport;
use roicast_data::{Format, Table};

pub(super) fn scenario(s: ScenarioArg) -> Scenario {
    match s {
        ScenarioArg::Demo => Scenario::Demo,
        ScenarioArg::Small => Scenario::Small,
        ScenarioArg::Large => Scenario::Large,
        ScenarioArg::Xlarge => Scenario::Xlarge,
    }
}

fn file_format(f: FileFormat) -> Format {
    match f {
        FileFormat::Parquet => Format::Parquet,
        FileFormat::Csv => Format::Csv,
        FileFormat::Arrow => Format::Ipc,
    }
}

/// `roicast generate`.
pub(super) fn generate(
    a: &GenerateArgs,
    ctx: &Ctx,
    settings: &Settings,
    stdout: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let c = jobs::generate::Config {
        scenario: scenario(a.scenario),
        seed: a.seed,
        file_format: file_format(a.file_format),
        out: a.out.clone(),
        force: a.force,
        exports: a.exports.clone(),
        partitions: a.partitions,
        plant_events: a.plant_events,
        inflation_study: a.inflation_study,
        weekly_season: a.weekly_season,
    };
    let s = jobs::generate::run(ctx, &c)?;
    match settings.format {
        OutputFormat::Json => super::json(stdout, &s)?,
        OutputFormat::Text => {
            writeln!(stdout, "generated {:?} world (seed {}) in {}", s.scenario, s.seed, s.out.display())?;
            for (table, n) in &s.table_rows {
                writeln!(stdout, "  {table:<18} {n:>12} rows")?;
            }
            let total_rows: u64 = s.rows.values().sum();
            writeln!(
                stdout,
                "{total_rows} rows in {:.1} s ({:.0} rows/s); truth in {}",
                s.seconds,
                s.rows_per_second,
                s.out.join("truth.json").display()
            )?;
            // One line a folder: GA4 alone writes a file a day.
            let mut by_dir: std::collections::BTreeMap<std::path::PathBuf, Vec<&std::path::Path>> =
                std::collections::BTreeMap::new();
            for f in &s.exports {
                by_dir.entry(f.parent().map(std::path::Path::to_path_buf).unwrap_or_default()).or_default().push(f);
            }
            for (d, files) in &by_dir {
                match files.as_slice() {
                    [one] => writeln!(stdout, "vendor export: {}", one.display())?,
                    [first, .., last] => writeln!(
                        stdout,
                        "vendor export: {} files in {} ({} … {})",
                        files.len(),
                        d.display(),
                        first.file_name().unwrap_or_default().to_string_lossy(),
                        last.file_name().unwrap_or_default().to_string_lossy()
                    )?,
                    [] => {}
                }
            }
        }
    }
    Ok(Outcome::Ok)
}

/// `roicast partition`.
pub(super) fn partition(
    a: &PartitionArgs,
    ctx: &Ctx,
    settings: &Settings,
    stdout: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let c = jobs::partition::Config {
        data: a.data.clone(),
        out: a.out.clone(),
        by: match a.by {
            super::args::PartitionByArg::User => jobs::partition::PartitionBy::User,
            super::args::PartitionByArg::Day => jobs::partition::PartitionBy::Day,
        },
        buckets: a.buckets.unwrap_or(0),
        days: a.days,
        file_format: file_format(a.file_format),
        force: a.force,
    };
    let s = jobs::partition::run(ctx, &c)?;
    match settings.format {
        OutputFormat::Json => super::json(stdout, &s)?,
        OutputFormat::Text => {
            let (by, unit) = match a.by {
                super::args::PartitionByArg::User => ("user", "buckets"),
                super::args::PartitionByArg::Day => ("day", "days"),
            };
            writeln!(
                stdout,
                "partitioned {} by {by} into {} {unit} in {}",
                a.data.display(),
                s.buckets,
                s.out.display()
            )?;
            for (table, counts) in &s.rows {
                let total: u64 = counts.iter().sum();
                let (lo, hi) = (counts.iter().min().copied().unwrap_or(0), counts.iter().max().copied().unwrap_or(0));
                writeln!(stdout, "  {table:<12} {total:>12} rows ({lo}–{hi} a {})", &unit[..unit.len() - 1])?;
            }
            if !s.copied.is_empty() {
                writeln!(stdout, "  copied whole: {}", s.copied.join(", "))?;
            }
            for d in &s.skipped {
                writeln!(stdout, "  not copied (a folder that is not a table): {}", d.display())?;
            }
        }
    }
    Ok(Outcome::Ok)
}

/// `roicast import SOURCE`.
pub(super) fn import(
    a: &ImportArgs,
    ctx: &Ctx,
    settings: &Settings,
    stdout: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let c = jobs::import::Config {
        source: a.source.clone(),
        input: a.input.clone(),
        out: a.out.clone(),
        timezone: a.timezone.clone(),
        plan: a.plan.clone(),
        mapping: a.mapping.clone(),
        currency: a.currency.clone(),
        force: a.force,
        merge: a.merge,
        id_key: match a.id_key {
            super::args::IdKeyArg::Email => roicast_data::import::IdKey::Email,
            super::args::IdKeyArg::CustomerId => roicast_data::import::IdKey::CustomerId,
        },
        observed_at: a.observed_at.clone(),
        keep_author_ids: a.keep_author_ids,
        account: a.account.clone(),
        salt: a.id_salt.clone(),
    };
    let s = jobs::import::run(ctx, &c)?;
    match settings.format {
        OutputFormat::Json => super::json(stdout, &s)?,
        OutputFormat::Text => {
            let r = &s.report;
            writeln!(stdout, "imported {} into {}", r.source, s.out.display())?;
            for f in &r.files {
                writeln!(stdout, "  read {:>9} rows  {}", f.rows, f.path.display())?;
                if !f.ignored_columns.is_empty() {
                    writeln!(
                        stdout,
                        "    columns not used ({}): {}",
                        f.ignored_columns.len(),
                        f.ignored_columns.join(", ")
                    )?;
                }
            }
            for (t, n) in &r.written {
                writeln!(stdout, "  wrote {n:>8} {t}")?;
            }
            for (rule, n) in &r.skipped {
                writeln!(stdout, "  skipped {n:>6} {rule}")?;
            }
            for (what, n) in &r.notes {
                writeln!(stdout, "  note: {n} {what}")?;
            }
            for (t, m) in &r.merged {
                writeln!(
                    stdout,
                    "  merged {t}: {} in the dataset + {} imported = {} ({} identical, {} combined, {} orders linked to a web journey)",
                    m.existing, m.imported, m.rows, m.identical, m.combined, m.linked_orders
                )?;
            }
        }
    }
    Ok(Outcome::Ok)
}

/// `roicast validate`: exit 1 when any row is rejected.
pub(super) fn validate(
    a: &ValidateArgs,
    ctx: &Ctx,
    settings: &Settings,
    stdout: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let report = jobs::validate::run(ctx, &jobs::validate::Config { data: a.data.clone(), out: a.out.clone() })?;
    print_validation(&report, a.limit, settings, stdout)?;
    Ok(if report.ok { Outcome::Ok } else { Outcome::Rejected })
}

fn print_validation(
    report: &ValidationReport,
    limit: usize,
    settings: &Settings,
    stdout: &mut dyn Write,
) -> anyhow::Result<()> {
    if settings.format == OutputFormat::Json {
        serde_json::to_writer_pretty(&mut *stdout, report)?;
        writeln!(stdout)?;
        return Ok(());
    }
    writeln!(stdout, "dataset {}", report.dataset.display())?;
    writeln!(stdout, "  {:<18} {:>12} {:>10}  files", "table", "rows", "rejected")?;
    for t in &report.tables {
        if !t.present {
            writeln!(stdout, "  {:<18} {:>12} {:>10}  (not present)", t.table.name(), "-", "-")?;
            continue;
        }
        let files = if t.files.len() == 1 {
            t.files[0].file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default()
        } else {
            format!("{} partition files", t.files.len())
        };
        writeln!(stdout, "  {:<18} {:>12} {:>10}  {files}", t.table.name(), t.rows, t.rejected_rows + t.file_rejects)?;
    }
    for note in &report.notes {
        writeln!(stdout, "note: {note}")?;
    }
    if !report.ignored.is_empty() && !settings.quiet {
        let names: Vec<String> = report
            .ignored
            .iter()
            .map(|p| p.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default())
            .collect();
        writeln!(stdout, "note: not tables, not read: {}", names.join(", "))?;
    }
    if report.ok {
        writeln!(stdout, "ok: no rejected rows")?;
        return Ok(());
    }
    writeln!(stdout, "rejected:")?;
    let shown = if limit == 0 { report.rejects.len() } else { limit.min(report.rejects.len()) };
    for r in &report.rejects[..shown] {
        writeln!(stdout, "  {r}")?;
    }
    if shown < report.rejects.len() {
        writeln!(
            stdout,
            "  … and {} more (--limit 0 lists all; --format json gives every one)",
            report.rejects.len() - shown
        )?;
    }
    writeln!(stdout, "{} reject(s) in {} row(s) or file(s)", report.rejects.len(), report.n_rejected())?;
    Ok(())
}

/// `roicast schema`.
pub(super) fn schema(a: &SchemaArgs, settings: &Settings, stdout: &mut dyn Write) -> anyhow::Result<Outcome> {
    if a.markdown {
        write!(stdout, "{}", roicast_data::schema::markdown())?;
        return Ok(Outcome::Ok);
    }
    let tables: Vec<Table> = match &a.table {
        Some(name) => vec![name.parse::<Table>().map_err(anyhow::Error::msg)?],
        None => Table::ALL.to_vec(),
    };
    if settings.format == OutputFormat::Json {
        let doc: Vec<_> = tables
            .iter()
            .map(|t| {
                let spec = t.spec();
                json!({
                    "table": t.name(),
                    "key": spec.key,
                    "doc": spec.doc,
                    "columns": spec.columns.iter().map(|c| json!({
                        "name": c.name,
                        "type": c.kind.name(),
                        "nullable": c.nullable,
                        "rule": c.rule.describe(),
                        "references": c.references.map(|(t, col)| format!("{}.{}", t.name(), col)),
                        "doc": c.doc,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        serde_json::to_writer_pretty(&mut *stdout, &doc)?;
        writeln!(stdout)?;
        return Ok(Outcome::Ok);
    }
    for t in tables {
        let spec = t.spec();
        writeln!(stdout, "{} (key: {}) — {}", t.name(), spec.key.join(", "), spec.doc)?;
        for c in spec.columns {
            let refs = c.references.map(|(t, col)| format!(" → {}.{}", t.name(), col)).unwrap_or_default();
            writeln!(
                stdout,
                "  {:<24} {:<9}{} {}{}",
                c.name,
                c.kind.name(),
                if c.nullable { "?" } else { " " },
                c.rule.describe(),
                refs
            )?;
        }
    }
    Ok(Outcome::Ok)
}
