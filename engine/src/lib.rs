//! # roicast-engine
//!
//! The top layer of roicast: the jobs, the `roicast` command line, run manifests and
//! progress reporting. It alone decides parallelism (the rayon pool, `--threads`) and
//! talks to the user; the library crates below it are pure.
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

pub mod args;
pub mod attribute;
pub mod cli;
pub mod clv;
mod columns;
pub mod engagement;
pub mod forecast;
pub mod jobs;
pub mod manifest;
pub mod pipeline;
pub mod progress;
pub mod report;
pub mod roi;
pub mod sentiment;
mod tracking;
