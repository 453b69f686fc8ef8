//! # roicast-engine
//!
//! The top layer of roicast: the jobs, the `roicast` command line, run manifests and
//! progress reporting. It alone decides parallelism (the rayon pool, `--threads`) and
//! talks to the user; the library crates below it are pure.
//!
//! It reads top-down as three layers (`docs/architecture.md`):
//!
//! - [`cli`]: clap flags → each job's typed `Config`; prints the job's `Summary`; maps
//!   outcomes to exit codes;
//! - [`jobs`]: `jobs::<name>::{Config, run(&Ctx, &Config) -> Result<Summary>}`, called
//!   alike by the CLI, the pipeline ([`jobs::pipeline`]) and the Python binding;
//! - [`output`] and [`progress`]: staging, manifests, column helpers, progress bars.
//!
//! Jobs can be called directly:
//!
//! ```
//! use roicast_engine::jobs::{self, Ctx};
//! let dir = std::env::temp_dir().join(format!("roicast-engine-doc-{}", std::process::id()));
//! let world = jobs::generate::run(&Ctx::silent(), &jobs::generate::Config {
//!     scenario: roicast_data::generate::Scenario::Small,
//!     seed: 7,
//!     file_format: roicast_data::Format::Parquet,
//!     out: dir.join("data"),
//!     force: true,
//!     exports: None,
//!     partitions: None,
//!     plant_events: false,
//!     inflation_study: false,
//!     weekly_season: false,
//! })?;
//! assert!(world.rows["touchpoints"] > 1_000);
//! let report = jobs::validate::run(&Ctx::silent(), &jobs::validate::Config { data: dir.join("data"), out: None })?;
//! assert!(report.ok);
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok::<(), anyhow::Error>(())
//! ```
//!
//! The binary is a thin shell over [`cli::run`], which tests call in-process:
//!
//! ```
//! let mut out = Vec::new();
//! let mut err = Vec::new();
//! let status = roicast_engine::cli::run(
//!     ["roicast", "schema", "--table", "orders"].map(Into::into),
//!     &mut out,
//!     &mut err,
//! );
//! assert_eq!(status, roicast_engine::cli::ExitStatus::Success);
//! assert!(String::from_utf8(out).unwrap().contains("revenue"));
//! ```

pub mod cli;
pub mod jobs;
pub mod output;
pub mod progress;
