//! `generate`: a seeded synthetic world (every canonical table plus `truth.json`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context as _;
use roicast_data::Format;
use roicast_data::generate::{GenerateParams, Scenario};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::Ctx;
use crate::output::{FileRecord, ManifestBuilder};

/// What to generate, and where.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(clippy::struct_excessive_bools)] // independent opt-in switches of the generator
pub struct Config {
    /// The world size.
    pub scenario: Scenario,
    /// The seed: the same seed gives byte-identical files.
    pub seed: u64,
    /// The file format of the tables.
    pub file_format: Format,
    /// The dataset folder to write.
    pub out: PathBuf,
    /// Replace `out` if it exists.
    pub force: bool,
    /// Also write the world as vendor exports here (`shopify/orders_export.csv`, …).
    #[serde(default)]
    pub exports: Option<PathBuf>,
    /// Write the user tables partitioned by user into this many buckets
    /// (`touchpoints/user_bucket=07/…`, as `roicast partition` does).
    #[serde(default)]
    pub partitions: Option<u32>,
    /// Plant monitoring events (engagement spikes, broken links, sentiment backlashes)
    /// whose truth is `events` in truth.json.
    #[serde(default)]
    pub plant_events: bool,
    /// Draw the creators of the authenticity study: bought engagement at graded strengths,
    /// pods, bought followers and odd genuine accounts, with their kind in truth.json.
    #[serde(default)]
    pub inflation_study: bool,
    /// Give the creator click-through rate a weekly season (weekends ~40 % lower).
    #[serde(default)]
    pub weekly_season: bool,
}

/// What `generate` wrote.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// The dataset folder.
    pub out: PathBuf,
    /// Rows per table.
    pub rows: BTreeMap<String, u64>,
    /// Every file written, relative to `out`.
    pub files: Vec<PathBuf>,
    /// Seconds spent generating.
    pub seconds: f64,
    /// Rows per second.
    pub rows_per_second: f64,
    /// Vendor export files written (under `exports`).
    pub exports: Vec<PathBuf>,
    /// Rows per table in contract order (for the text summary).
    #[serde(skip)]
    pub table_rows: Vec<(String, u64)>,
    /// The scenario (for the text summary).
    #[serde(skip)]
    pub scenario: Scenario,
    /// The seed (for the text summary).
    #[serde(skip)]
    pub seed: u64,
}

/// Generates the world and writes its manifest (`generate.manifest.json`).
pub fn run(ctx: &Ctx, c: &Config) -> anyhow::Result<Summary> {
    if c.partitions.is_some() && c.out.exists() && !c.force {
        return Err(roicast_data::DataError::Exists { path: c.out.clone() }.into());
    }
    // A partitioned world is generated whole beside `out`, then partitioned into it.
    let flat = match c.partitions {
        Some(_) => {
            let name = c.out.file_name().map_or_else(|| "world".into(), |n| n.to_string_lossy().into_owned());
            c.out.with_file_name(format!(".{name}.unpartitioned-{}", std::process::id()))
        }
        None => c.out.clone(),
    };
    let result = generate_into(ctx, c, &flat);
    if c.partitions.is_some() {
        let _ = std::fs::remove_dir_all(&flat);
    }
    result
}

fn generate_into(ctx: &Ctx, c: &Config, flat: &std::path::Path) -> anyhow::Result<Summary> {
    let params = GenerateParams::new(c.scenario)
        .seed(c.seed)
        .format(c.file_format)
        .overwrite(c.force || c.partitions.is_some())
        .plant_events(c.plant_events)
        .inflation_study(c.inflation_study)
        .weekly_season(c.weekly_season);
    let mut m = ManifestBuilder::start("generate");
    let mut summary = roicast_data::generate::generate(&params, flat, &ctx.progress)
        .with_context(|| format!("failed to generate the {:?} world into {}", params.scenario, flat.display()))?;
    let exports = match &c.exports {
        Some(dir) => roicast_data::generate::exports::write(flat, dir)
            .with_context(|| format!("failed to write the vendor exports into {}", dir.display()))?
            .into_iter()
            .map(|f| dir.join(f))
            .collect(),
        None => Vec::new(),
    };
    if let Some(n) = c.partitions {
        let dataset = roicast_data::Dataset::open(flat)?;
        // The generator's own manifest is not a table: left behind with the flat world.
        let _ = std::fs::remove_file(flat.join("generate.manifest.json"));
        let p = roicast_data::partition::partition_by_user(&dataset, &c.out, n, c.file_format, true, &ctx.progress)
            .with_context(|| format!("failed to partition the world into {}", c.out.display()))?;
        summary.files = p.files;
        summary.out.clone_from(&c.out);
    }
    ctx.progress.finish();
    m.stage_done("generate");
    let outputs = summary.files.iter().map(|f| FileRecord::of(&c.out.join(f))).collect::<anyhow::Result<Vec<_>>>()?;
    m.stage_done("hash outputs");
    let rows: BTreeMap<String, u64> = summary.rows.iter().map(|(t, n)| (t.name().to_owned(), *n)).collect();
    let manifest = m.finish(
        json!({
            "scenario": params.scenario,
            "seed": params.seed,
            "file_format": params.format,
            "generator_version": roicast_data::generate::GENERATOR_VERSION,
            "partitions": c.partitions,
        }),
        Vec::new(),
        outputs,
        rows.clone(),
        "ok",
    );
    manifest.write(&c.out)?;
    let total_rows: u64 = rows.values().sum();
    let seconds = manifest.timings_s.get("generate").copied().unwrap_or_default();
    Ok(Summary {
        out: summary.out,
        rows,
        table_rows: summary.rows.iter().map(|(t, n)| (t.name().to_owned(), *n)).collect(),
        files: summary.files,
        seconds,
        rows_per_second: total_rows as f64 / seconds.max(1e-9),
        exports,
        scenario: c.scenario,
        seed: c.seed,
    })
}
