//! `partition`: a dataset split by user into hive-style buckets
//! (`touchpoints/user_bucket=07/part-0.parquet`), which attribution then processes one
//! bucket at a time, or by UTC day (`comments/day=2025-06-01/part-0.parquet`), the layout
//! of a dataset growing by dated partitions that `roicast run` processes incrementally
//! (see `roicast_data::partition`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context as _;
use roicast_data::Format;
use roicast_data::partition::PartitionSummary;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::Ctx;
use crate::output::{FileRecord, ManifestBuilder};

/// The key a dataset is partitioned by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartitionBy {
    /// `user_id` of the user tables (touchpoints, sessions, orders).
    User,
    /// The UTC day of the dated tables (posts, snapshots, comments, sessions,
    /// touchpoints, orders).
    Day,
}

/// What to partition, and how.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The dataset folder to read.
    pub data: PathBuf,
    /// The dataset folder to write.
    pub out: PathBuf,
    /// The key.
    pub by: PartitionBy,
    /// Buckets (by user).
    #[serde(default)]
    pub buckets: u32,
    /// By day: only the last this many days get a folder each (earlier rows go to the
    /// folder of the day before them); every day when unset.
    #[serde(default)]
    pub days: Option<u32>,
    /// File format of the bucket files.
    pub file_format: Format,
    /// Replace `out` if it exists.
    pub force: bool,
}

/// Partitions the dataset and writes `partition.manifest.json` into the new folder.
pub fn run(ctx: &Ctx, c: &Config) -> anyhow::Result<PartitionSummary> {
    let mut m = ManifestBuilder::start("partition");
    let dataset = ctx.open_dataset(&c.data)?;
    let inputs = FileRecord::inputs(&dataset, roicast_data::Table::ALL.iter().copied())?;
    let summary = match c.by {
        PartitionBy::User => roicast_data::partition::partition_by_user(
            &dataset,
            &c.out,
            c.buckets,
            c.file_format,
            c.force,
            &ctx.progress,
        ),
        PartitionBy::Day => {
            roicast_data::partition::partition_by_day(&dataset, &c.out, c.days, c.file_format, c.force, &ctx.progress)
        }
    }
    .with_context(|| format!("failed to partition {} into {}", c.data.display(), c.out.display()))?;
    ctx.progress.finish();
    m.stage_done("partition");
    let outputs = summary.files.iter().map(|f| FileRecord::of(&c.out.join(f))).collect::<anyhow::Result<Vec<_>>>()?;
    let rows: BTreeMap<String, u64> = summary.rows.iter().map(|(t, n)| (t.clone(), n.iter().sum())).collect();
    let manifest = m.finish(
        json!({ "data": c.data, "by": c.by, "buckets": c.buckets, "days": c.days, "file_format": c.file_format }),
        inputs,
        outputs,
        rows,
        "ok",
    );
    manifest.write(&c.out)?;
    Ok(summary)
}
