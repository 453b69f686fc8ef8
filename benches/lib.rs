//! # roicast-benches
//!
//! Criterion benchmarks (`cargo bench -p roicast-benches`) and, under `peers/`, the
//! scripts that run peer tools on the same data. This library holds what the benches
//! share: building a seeded world once, outside the timed loop.

use std::path::{Path, PathBuf};

use roicast_data::generate::{GenerateParams, Scenario, generate};
use roicast_data::validate::NoProgress;
use roicast_data::{DataError, Format};

/// Generates the `scenario` world with `seed` as `format` into `dir/name` (replacing it).
pub fn world(dir: &Path, name: &str, scenario: Scenario, seed: u64, format: Format) -> Result<PathBuf, DataError> {
    let out = dir.join(name);
    generate(&GenerateParams::new(scenario).seed(seed).format(format).overwrite(true), &out, &NoProgress)?;
    Ok(out)
}
