//! `validate`: checks a dataset against the data contract and lists every rejected row.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use roicast_data::validate::ValidationReport;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Ctx, Rejected};
use crate::output::{FileRecord, ManifestBuilder};

/// What to validate.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The dataset folder.
    pub data: PathBuf,
    /// Where to write `validation.json` and the manifest (nothing is written without it).
    #[serde(default)]
    pub out: Option<PathBuf>,
}

/// The validation report: per table rows and rejects, every reject, notes.
pub type Summary = ValidationReport;

/// Validates the dataset; a dataset with rejected rows is a successful run whose
/// summary says `ok: false` (turn it into an error with [`rejected`]).
pub fn run(ctx: &Ctx, c: &Config) -> anyhow::Result<Summary> {
    let mut m = ManifestBuilder::start("validate");
    let dataset = ctx.open_dataset(&c.data)?;
    let report = roicast_data::validate::validate(&dataset, &ctx.progress)
        .with_context(|| format!("failed to validate {}", c.data.display()))?;
    ctx.progress.finish();
    m.stage_done("validate");
    if report.tables.iter().all(|t| !t.present) {
        return Err(no_tables(&c.data, &report.ignored).into());
    }
    if let Some(out) = &c.out {
        std::fs::create_dir_all(out).with_context(|| format!("failed to create {}", out.display()))?;
        let path = out.join("validation.json");
        let bytes = serde_json::to_vec_pretty(&report).expect("report serialises");
        roicast_data::io::write_bytes_atomic(&path, &bytes)
            .with_context(|| format!("failed to write {}", path.display()))?;
        let inputs = crate::output::records(report.tables.iter().flat_map(|t| t.files.iter()))?;
        m.stage_done("hash inputs");
        let rows = report.tables.iter().filter(|t| t.present).map(|t| (t.table.name().to_owned(), t.rows)).collect();
        let manifest = m.finish(
            json!({ "data": c.data }),
            inputs,
            vec![FileRecord::of(&path)?],
            rows,
            if report.ok { "ok" } else { "rejected" },
        );
        manifest.write(out)?;
    }
    Ok(report)
}

/// The error for a report with rejects: the count, the first rejects and where the
/// whole list is (`validation.json` under `out`, when it was written).
#[must_use]
pub fn rejected(report: &ValidationReport, out: Option<&Path>) -> Rejected {
    let first = report.rejects.first().map(ToString::to_string).unwrap_or_default();
    Rejected {
        message: format!(
            "{} rejected row(s) or file(s) in {}; first: {first}",
            report.n_rejected(),
            report.dataset.display()
        ),
        rejects: report.rejects.iter().take(Rejected::SHOWN).cloned().collect(),
        n_rejects: report.rejects.len(),
        details: out.map(|o| o.join("validation.json")),
    }
}

/// The error for a folder with no canonical table: say so, and name the importer for
/// each file whose header is a known vendor export.
fn no_tables(data: &Path, ignored: &[PathBuf]) -> Rejected {
    let mut hints = Vec::new();
    for f in ignored {
        let source = if f.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv")) {
            let header: Option<Vec<String>> = csv::Reader::from_path(f)
                .ok()
                .and_then(|mut r| r.headers().ok().map(|h| h.iter().map(str::to_owned).collect()));
            header.as_deref().and_then(roicast_data::import::detect)
        } else if roicast_data::import::shopify::is_json(f) {
            roicast_data::import::first_json_record(f).as_ref().and_then(roicast_data::import::detect_json)
        } else {
            None
        };
        if let Some(source) = source {
            let name = f.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            hints.push(format!(
                "{name} looks like a {}: roicast import {source} --input {} --out DATASET",
                roicast_data::import::describe(source),
                f.display()
            ));
        }
    }
    let found = if ignored.is_empty() {
        "the folder is empty".to_owned()
    } else {
        format!("it holds {} other file(s)", ignored.len())
    };
    let mut message = format!(
        "{} holds no canonical table ({found}; expected files such as orders.parquet or touchpoints.csv, see `roicast schema`)",
        data.display()
    );
    for h in &hints {
        message.push_str("; ");
        message.push_str(h);
    }
    Rejected { message, rejects: Vec::new(), n_rejects: 0, details: None }
}
