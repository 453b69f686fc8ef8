//! The import job: vendor exports → a canonical dataset folder, written atomically (a
//! staging folder renamed into place), with an import report and a run manifest. Any
//! rejected row means exit 1 and nothing written.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context as _, bail};
use roicast_data::Table;
use roicast_data::import::{ImportOptions, ImportReport};
use roicast_data::io::TableWriter;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Ctx, Rejected};
use crate::output::{FileRecord, ManifestBuilder};

/// The sources roicast imports.
pub static SOURCES: std::sync::LazyLock<Vec<&'static str>> =
    std::sync::LazyLock::new(|| roicast_data::import::SOURCES.iter().map(|(s, _, _)| *s).collect());

/// The salt used when none is given: ids are then stable but not private against someone
/// who hashes guessed emails, which the report says.
pub const DEFAULT_SALT: &str = "roicast-default-salt";

/// Importing exports (`roicast import SOURCE`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The source format (one of [`SOURCES`]).
    pub source: String,
    /// The export files, in order.
    pub input: Vec<PathBuf>,
    /// The dataset folder to write (must not exist unless `force`).
    pub out: PathBuf,
    /// Offset for timestamps without one (`+02:00`, `UTC`).
    #[serde(default)]
    pub timezone: Option<String>,
    /// The tracking plan (CSV: creators and the codes and links issued to them).
    #[serde(default)]
    pub plan: Option<PathBuf>,
    /// The currency of amounts written with an ambiguous symbol (Magento's grid `$`).
    #[serde(default)]
    pub currency: Option<String>,
    /// The column-mapping file of `affiliate-csv` (`field,column` rows).
    #[serde(default)]
    pub mapping: Option<PathBuf>,
    /// Replace `out` if it exists.
    #[serde(default)]
    pub force: bool,
    /// Salt of the customer-id hash (`ROICAST_ID_SALT`). Never serialised: it stays out of
    /// manifests and reuse keys.
    #[serde(default, skip_serializing)]
    pub salt: Option<String>,
}

/// What the import did.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// The dataset folder written.
    pub out: PathBuf,
    /// Files read, rows written per table, rejects, skips, notes.
    pub report: ImportReport,
    /// Whether the public default salt was used.
    pub default_salt: bool,
}

/// Imports; on any rejected row returns [`Rejected`] and writes nothing.
pub fn run(ctx: &Ctx, c: &Config) -> anyhow::Result<Summary> {
    use roicast_data::validate::Progress as _;
    let m = ManifestBuilder::start("import");
    let Some(importer) = roicast_data::import::importer(&c.source) else {
        let hint = roicast_data::import::headers::closest(&c.source, SOURCES.iter().copied())
            .map_or_else(String::new, |s| format!(" (did you mean `{s}`?)"));
        bail!("unknown source `{}`{hint}: roicast imports {}", c.source, SOURCES.join(", "));
    };
    if c.input.is_empty() {
        bail!("no input: pass --input FILE (repeat for several)");
    }
    for f in &c.input {
        if !f.is_file() {
            bail!("the input {} does not exist or is not a file", f.display());
        }
    }
    if c.out.exists() && !c.force {
        return Err(roicast_data::DataError::Exists { path: c.out.clone() }.into());
    }
    let timezone =
        c.timezone.as_deref().map(roicast_data::import::time::parse_offset).transpose().map_err(anyhow::Error::msg)?;
    let plan = match &c.plan {
        Some(p) => {
            let (plan, rejects) = roicast_data::import::plan::Plan::read(p)
                .with_context(|| format!("failed to read the tracking plan {}", p.display()))?;
            if let Some(first) = rejects.first() {
                return Err(Rejected {
                    message: format!(
                        "{} rejected row(s) in the tracking plan; nothing was written; first: {first}",
                        rejects.len()
                    ),
                    rejects: rejects.iter().take(Rejected::SHOWN).cloned().collect(),
                    n_rejects: rejects.len(),
                    details: None,
                }
                .into());
            }
            Some(plan)
        }
        None => None,
    };
    let opts = ImportOptions {
        salt: c.salt.clone().unwrap_or_else(|| DEFAULT_SALT.to_owned()),
        timezone,
        plan,
        mapping: c.mapping.clone(),
        currency: c
            .currency
            .as_deref()
            .map(roicast_data::import::money::currency)
            .transpose()
            .map_err(anyhow::Error::msg)?,
    };
    if c.salt.is_none() {
        ctx.note(
            "note: customer ids use the public default salt; set ROICAST_ID_SALT for ids nobody can recompute from an email",
        );
    }
    let parent = crate::output::create_parent(&c.out)?;
    let name = c.out.file_name().map_or_else(|| "dataset".into(), |n| n.to_string_lossy().into_owned());
    let staging = parent.join(format!(".{name}.import-{}", std::process::id()));
    if staging.exists() {
        std::fs::remove_dir_all(&staging).with_context(|| format!("failed to clear {}", staging.display()))?;
    }
    std::fs::create_dir_all(&staging).with_context(|| format!("failed to create {}", staging.display()))?;
    let result = (|| -> anyhow::Result<ImportReport> {
        let mut writers: BTreeMap<Table, TableWriter> = BTreeMap::new();
        ctx.progress.stage(&format!("importing {}", c.source), 0);
        let report = {
            let mut sink = |t: Table, b: arrow_array::RecordBatch| -> Result<(), roicast_data::DataError> {
                let w = match writers.entry(t) {
                    std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                    std::collections::btree_map::Entry::Vacant(e) => {
                        e.insert(TableWriter::create(staging.join(format!("{}.parquet", t.name())), b.schema_ref())?)
                    }
                };
                w.write(&b)
            };
            let mut report = importer(&c.input, &opts, &mut sink)?;
            if let Some(plan) = &opts.plan {
                let (creators, assets) = plan.write(&mut sink)?;
                report.written.insert("creators".into(), creators);
                report.written.insert("tracking_assets".into(), assets);
            }
            report
        };
        ctx.progress.finish();
        if !report.rejects.is_empty() {
            return Ok(report);
        }
        for (_, w) in writers {
            w.finish()?;
        }
        Ok(report)
    })();
    let report = match result {
        Ok(r) if r.rejects.is_empty() => r,
        Ok(r) => {
            let _ = std::fs::remove_dir_all(&staging);
            let first = r.rejects.first().map(ToString::to_string).unwrap_or_default();
            return Err(Rejected {
                message: format!(
                    "{} rejected row(s) in the {} export; nothing was written; first: {first}",
                    r.rejects.len(),
                    c.source
                ),
                rejects: r.rejects.iter().take(Rejected::SHOWN).cloned().collect(),
                n_rejects: r.rejects.len(),
                details: None,
            }
            .into());
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(&staging);
            // A file that is not the source's format, or is malformed, is refused input
            // (exit 1), with its file, line and column.
            let refused = e.chain().find_map(|x| x.downcast_ref::<roicast_data::DataError>()).and_then(|d| match d {
                roicast_data::DataError::InvalidRow { path, row, column, reason } => Some(roicast_data::Reject {
                    table: Table::Orders,
                    file: path.clone(),
                    row: (*row > 0).then_some(*row),
                    column: column.clone(),
                    value: None,
                    reason: reason.clone(),
                }),
                roicast_data::DataError::Csv { path, source } => Some(roicast_data::Reject {
                    table: Table::Orders,
                    file: path.clone(),
                    row: source.position().map(|p| p.line().saturating_sub(1)),
                    column: String::new(),
                    value: None,
                    reason: format!("malformed CSV: {source}"),
                }),
                _ => None,
            });
            if let Some(r) = refused {
                return Err(Rejected {
                    message: format!("the {} import refused its input; nothing was written: {r}", c.source),
                    rejects: vec![r],
                    n_rejects: 1,
                    details: None,
                }
                .into());
            }
            return Err(e.context(format!("failed to import the {} export", c.source)));
        }
    };
    let bytes = serde_json::to_vec_pretty(&report).expect("report serialises");
    roicast_data::io::write_bytes_atomic(&staging.join("import.report.json"), &bytes)?;
    let mut names: Vec<String> = std::fs::read_dir(&staging)
        .with_context(|| format!("failed to list {}", staging.display()))?
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| n.ends_with(".parquet") || n == "import.report.json")
        .collect();
    names.sort();
    let outputs: Vec<FileRecord> = names
        .iter()
        .map(|f| FileRecord::of(&staging.join(f)).map(|r| FileRecord { path: c.out.join(f), ..r }))
        .collect::<anyhow::Result<_>>()?;
    let manifest = m.finish(
        json!({ "source": c.source, "timezone": c.timezone, "default_salt": c.salt.is_none(),
                "id": "salted SHA-256 of the normalised email" }),
        crate::output::records(c.input.iter().chain(c.plan.iter()).chain(c.mapping.iter()))?,
        outputs,
        report.written.clone(),
        "ok",
    );
    manifest.write(&staging)?;
    if c.out.exists() {
        std::fs::remove_dir_all(&c.out).with_context(|| format!("failed to replace {}", c.out.display()))?;
    }
    std::fs::rename(&staging, &c.out)
        .with_context(|| format!("failed to move the imported dataset into {}", c.out.display()))?;
    Ok(Summary { out: c.out.clone(), report, default_salt: c.salt.is_none() })
}
