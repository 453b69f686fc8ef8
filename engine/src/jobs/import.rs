//! The import job: vendor exports → a canonical dataset folder, written atomically (a
//! staging folder renamed into place), with an import report and a run manifest. Any
//! rejected row means exit 1 and nothing written.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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
    /// What customer ids are derived from: the email (default) or the source's own id.
    #[serde(default)]
    pub id_key: roicast_data::import::IdKey,
    /// The currency of amounts written with an ambiguous symbol (Magento's grid `$`).
    #[serde(default)]
    pub currency: Option<String>,
    /// The column-mapping file of `affiliate-csv` (`field,column` rows).
    #[serde(default)]
    pub mapping: Option<PathBuf>,
    /// Add to the dataset `out` if it exists (keys matched; identical rows kept once,
    /// complementary rows combined, conflicts refused). A missing `out` is created.
    #[serde(default)]
    pub merge: bool,
    /// Replace `out` if it exists.
    #[serde(default)]
    pub force: bool,
    /// When the platform dumps were pulled (RFC 3339), for every file: each read of a post
    /// becomes a `post_snapshots` row at this time.
    #[serde(default)]
    pub observed_at: Option<String>,
    /// Keep comment authors' platform ids as they are instead of salted hashes.
    #[serde(default)]
    pub keep_author_ids: bool,
    /// The handle or id of the account a dashboard export belongs to, for exports that do
    /// not say (YouTube Studio's CSV, a TikTok video list saved without its user).
    #[serde(default)]
    pub account: Option<String>,
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
    if c.source == "affiliate-csv" && c.mapping.is_none() {
        bail!("affiliate-csv needs --mapping FILE: the report's column for each field (docs/importers.md)");
    }
    let inputs = expand_inputs(&c.input)?;
    let c = &Config { input: inputs, ..c.clone() };
    if c.merge && c.force {
        bail!("--merge and --force contradict each other: --merge adds to the dataset, --force replaces it");
    }
    if c.out.exists() && !c.force && !c.merge {
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
    let observed_at = match c.observed_at.as_deref() {
        None => None,
        Some(t) => Some(roicast_data::import::social::api_time(t).map_err(|e| {
            anyhow::anyhow!("--observed-at {e}: give the pull time with its offset, e.g. 2024-05-01T10:00:00Z")
        })?),
    };
    let opts = ImportOptions {
        observed_at,
        keep_author_ids: c.keep_author_ids,
        account: c.account.clone(),
        salt: c.salt.clone().unwrap_or_else(|| DEFAULT_SALT.to_owned()),
        timezone,
        plan,
        mapping: c.mapping.clone(),
        id_key: c.id_key,
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
                // Platform importers write the plan's creators with the accounts' own counts.
                if !report.written.contains_key("creators") {
                    let creators = plan.write_creators(&mut sink)?;
                    report.written.insert("creators".into(), creators);
                }
                let assets = plan.write_assets(&mut sink)?;
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
    let mut report = match result {
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
    let mut earlier_inputs = Vec::new();
    if c.merge
        && c.out.is_dir()
        && let Err(e) = merge_existing(c, &staging, &mut report, &mut earlier_inputs)
    {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e);
    }
    let bytes = serde_json::to_vec_pretty(&report).expect("report serialises");
    roicast_data::io::write_bytes_atomic(&staging.join("import.report.json"), &bytes)?;
    let mut names: Vec<String> = std::fs::read_dir(&staging)
        .with_context(|| format!("failed to list {}", staging.display()))?
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| n.ends_with(".parquet") || (n.starts_with("import.") && n.ends_with("report.json")))
        .collect();
    names.sort();
    let outputs: Vec<FileRecord> = names
        .iter()
        .map(|f| FileRecord::of(&staging.join(f)).map(|r| FileRecord { path: c.out.join(f), ..r }))
        .collect::<anyhow::Result<_>>()?;
    let manifest = m.finish(
        json!({ "source": c.source, "timezone": c.timezone, "default_salt": c.salt.is_none(),
                "id_key": c.id_key, "id": "salted SHA-256 of the normalised email or of the source's customer id" }),
        earlier_inputs
            .into_iter()
            .chain(crate::output::records(c.input.iter().chain(c.plan.iter()).chain(c.mapping.iter()))?)
            .collect(),
        outputs,
        report.written.clone(),
        "ok",
    );
    manifest.write(&staging)?;
    // Swap in the new folder: the old one is moved aside first, so a failure leaves one of
    // the two whole.
    let aside = parent.join(format!(".{name}.replaced-{}", std::process::id()));
    if c.out.exists() {
        std::fs::rename(&c.out, &aside).with_context(|| format!("failed to replace {}", c.out.display()))?;
    }
    if let Err(e) = std::fs::rename(&staging, &c.out) {
        if aside.exists() {
            let _ = std::fs::rename(&aside, &c.out);
        }
        return Err(
            anyhow::Error::new(e).context(format!("failed to move the imported dataset into {}", c.out.display()))
        );
    }
    if aside.exists() {
        std::fs::remove_dir_all(&aside)
            .with_context(|| format!("failed to remove the replaced {}", aside.display()))?;
    }
    Ok(Summary { out: c.out.clone(), report, default_salt: c.salt.is_none() })
}

/// Joins the dataset already in `c.out` into the staged import: each table the import
/// wrote is merged by key ([`roicast_data::import::merge`]), the dataset's other tables
/// and earlier import reports are carried over, and the earlier manifest's inputs are
/// returned for the new one. A conflict is refused input naming both sides.
fn merge_existing(
    c: &Config,
    staging: &std::path::Path,
    report: &mut ImportReport,
    earlier_inputs: &mut Vec<FileRecord>,
) -> anyhow::Result<()> {
    use roicast_data::import::merge;
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&c.out)
        .with_context(|| format!("failed to list {}", c.out.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    // Orders first: the customers a web import brought for orders that joined the shop's
    // are then known.
    entries.sort_by_key(|p| (!p.ends_with("orders.parquet"), p.clone()));
    let mut order_customers: Option<std::collections::HashSet<String>> = None;
    let mut reports = entries
        .iter()
        .filter(|p| {
            p.file_name().is_some_and(|n| {
                n.to_string_lossy().starts_with("import.") && n.to_string_lossy().ends_with(".report.json")
            })
        })
        .count();
    for p in &entries {
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let table = name.strip_suffix(".parquet").and_then(|t| t.parse::<Table>().ok());
        if name == "import.manifest.json" {
            let text = std::fs::read_to_string(p).with_context(|| format!("failed to read {}", p.display()))?;
            let v: serde_json::Value =
                serde_json::from_str(&text).with_context(|| format!("{} is not a run manifest", p.display()))?;
            if let Some(inputs) = v.get("inputs") {
                earlier_inputs.extend(serde_json::from_value::<Vec<FileRecord>>(inputs.clone()).unwrap_or_default());
            }
            continue;
        }
        if name == "import.report.json" {
            // The earlier report is kept under its number; the new one takes the name.
            let keep = staging.join(format!("import.{reports}.report.json"));
            reports += 1;
            std::fs::copy(p, &keep).with_context(|| format!("failed to keep {}", p.display()))?;
            continue;
        }
        let Some(table) = table else {
            let canonical = name.split('.').next().is_some_and(|t| t.parse::<Table>().is_ok());
            if canonical || p.is_dir() {
                bail!(
                    "--merge joins Parquet tables written by `roicast import`; {} is not one (convert it, or import into a new folder)",
                    p.display()
                );
            }
            if p.is_file() && !staging.join(&name).exists() {
                std::fs::copy(p, staging.join(&name))
                    .with_context(|| format!("failed to carry over {}", p.display()))?;
            }
            continue;
        };
        let staged = staging.join(&name);
        if !staged.exists() {
            std::fs::copy(p, &staged).with_context(|| format!("failed to carry over {}", p.display()))?;
            continue;
        }
        let existing = merge::read_parquet(p)?;
        let mut imported = merge::read_parquet(&staged)?;
        if table == Table::Customers
            && matches!(c.source.as_str(), "ga4" | "segment")
            && let Some(keep) = &order_customers
        {
            let before: usize = imported.iter().map(arrow_array::RecordBatch::num_rows).sum();
            imported = merge::keep_rows(&imported, "customer_id", keep)?;
            let after: usize = imported.iter().map(arrow_array::RecordBatch::num_rows).sum();
            if before > after {
                report.notes.insert(
                    "web-analytics customers whose orders joined the shop's (left out: the shop's customer holds them)"
                        .into(),
                    (before - after) as u64,
                );
            }
        }
        match merge::merge(table, &existing, p, &imported)? {
            Ok((batch, stats)) => {
                if table == Table::Orders {
                    let i = batch.schema().index_of("customer_id")?;
                    let ids = arrow_array::cast::AsArray::as_string::<i32>(batch.column(i));
                    order_customers = Some((0..batch.num_rows()).map(|r| ids.value(r).to_owned()).collect());
                }
                std::fs::remove_file(&staged).with_context(|| format!("failed to replace {}", staged.display()))?;
                let mut w = TableWriter::create(&staged, batch.schema_ref())?;
                w.write(&batch)?;
                w.finish()?;
                report.merged.insert(table.name().to_owned(), stats);
            }
            Err(conflict) => {
                let inputs = c.input.iter().map(|i| i.display().to_string()).collect::<Vec<_>>().join(", ");
                return Err(Rejected {
                    message: format!(
                        "--merge found a conflict; nothing was written: {conflict} (this import read {inputs})"
                    ),
                    rejects: Vec::new(),
                    n_rejects: 1,
                    details: None,
                }
                .into());
            }
        }
    }
    Ok(())
}

/// The input files: files as given, folders replaced by their files in name order (hidden
/// files and sub-folders skipped). A missing path is an error.
fn expand_inputs(given: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for f in given {
        if f.is_dir() {
            let before = out.len();
            expand_folder(f, &mut out)?;
            if out.len() == before {
                bail!("the input folder {} holds no file", f.display());
            }
        } else if f.is_file() {
            out.push(f.clone());
        } else {
            bail!("the input {} does not exist", f.display());
        }
    }
    Ok(out)
}

/// The files of a folder and of its subfolders (a folder of pulls, one subfolder a pull),
/// in name order; hidden entries skipped.
fn expand_folder(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("failed to list {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')))
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            expand_folder(&p, out)?;
        } else if p.is_file() {
            out.push(p);
        }
    }
    Ok(())
}
