// Config fields document file and column names (posts_scored.parquet, gross_margin) as
// the --help text does; backticks on each would only add noise there.
#![allow(clippy::doc_markdown)]

//! The jobs: typed functions that the CLI, the pipeline and the Python binding call alike.
//!
//! Every job module has the same shape:
//!
//! - `Config`: everything the job needs, resolved and serialisable (serde), so a pipeline
//!   can hash it for its reuse key and Python can build it from keyword arguments;
//! - `run(&Ctx, &Config) -> anyhow::Result<Summary>`: does the work, writes its outputs
//!   atomically with a run manifest, and returns a serialisable `Summary` (what the CLI
//!   prints, what the pipeline records, what Python returns).
//!
//! Jobs never print, parse command lines or exit: the [`Ctx`] carries progress and the
//! notes a caller wants to see. Input that a job refuses is an error carrying
//! [`Rejected`] (exit 1 on the command line), anything else that stops it is an error
//! (exit 2). `docs/architecture.md` draws the layers; `engine/tests/layers.rs` fails if
//! a job imports the CLI.

use std::cell::RefCell;
use std::io::Write;
use std::path::PathBuf;

use roicast_data::Reject;

use crate::progress::Bars;

pub mod alerts;
pub mod attribute;
pub mod breakdown;
mod bucketed;
pub mod clv;
pub mod engagement;
pub mod forecast;
pub mod generate;
pub mod history;
pub mod import;
pub mod partition;
pub mod partitioned;
pub mod pipeline;
pub mod report;
pub mod roi;
pub mod sentiment;
mod tracking;
pub mod validate;

/// What a job may use of its caller: progress reporting and a place for notes.
pub struct Ctx<'a> {
    /// Progress of long stages (hidden unless the caller draws it).
    pub progress: Bars,
    notes: RefCell<Option<&'a mut dyn Write>>,
    /// Datasets held in memory, found by their root instead of a folder (Python, Spark).
    datasets: Vec<roicast_data::Dataset>,
}

impl std::fmt::Debug for Ctx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx").field("progress", &self.progress).finish_non_exhaustive()
    }
}

impl Ctx<'static> {
    /// A context that draws nothing and drops notes (libraries, Python, tests).
    #[must_use]
    pub fn silent() -> Ctx<'static> {
        Ctx { progress: Bars::new(false), notes: RefCell::new(None), datasets: Vec::new() }
    }
}

impl<'a> Ctx<'a> {
    /// A context drawing `progress` and writing notes to `notes` (stderr on the CLI).
    pub fn new(progress: Bars, notes: Option<&'a mut dyn Write>) -> Ctx<'a> {
        Ctx { progress, notes: RefCell::new(notes), datasets: Vec::new() }
    }

    /// Lets jobs find `dataset` (usually [`roicast_data::Dataset::in_memory`]) by its
    /// root: a config naming that root as its data reads these tables, not a folder.
    #[must_use]
    pub fn with_dataset(mut self, dataset: roicast_data::Dataset) -> Ctx<'a> {
        self.datasets.retain(|d| d.root() != dataset.root());
        self.datasets.push(dataset);
        self
    }

    /// The dataset at `data`: one given with [`Ctx::with_dataset`], else the folder.
    pub fn open_dataset(&self, data: &std::path::Path) -> anyhow::Result<roicast_data::Dataset> {
        use anyhow::Context as _;
        if let Some(d) = self.datasets.iter().find(|d| d.root() == data) {
            return Ok(d.clone());
        }
        roicast_data::Dataset::open(data).with_context(|| format!("failed to open the dataset {}", data.display()))
    }

    /// A line for the person running the job (ignored when nobody listens).
    pub fn note(&self, line: &str) {
        if let Some(w) = self.notes.borrow_mut().as_mut() {
            let _ = writeln!(w, "{line}");
        }
    }
}

/// A job refused its input: the message, the rejects it found (the first ones, when
/// there are many) and where the full list is. The CLI exits 1 on it.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct Rejected {
    /// What was refused, in one line.
    pub message: String,
    /// Rejects (file, row, column, value, reason), at most [`Rejected::SHOWN`].
    pub rejects: Vec<Reject>,
    /// How many rejects there are in all.
    pub n_rejects: usize,
    /// The file that lists every reject, when one was written.
    pub details: Option<PathBuf>,
}

impl Rejected {
    /// How many rejects an error carries (the rest are in `details`).
    pub const SHOWN: usize = 20;
}

/// A job's settings were refused before any input was read (a bad model name, an
/// out-of-range parameter): `ConfigError` in Python. Displays as the error it wraps.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct InvalidSettings(pub anyhow::Error);

/// Marks an error from checking settings as [`InvalidSettings`].
pub(crate) fn settings<T>(r: anyhow::Result<T>) -> anyhow::Result<T> {
    r.map_err(|e| InvalidSettings(e).into())
}

/// An input file unusable as a whole (a missing column, no rows): exit 1.
pub(crate) fn bad_file(path: &std::path::Path, reason: impl Into<String>) -> anyhow::Error {
    roicast_data::DataError::invalid_file(path, reason).into()
}

/// An invalid value in `path` at 1-based data `row`, `column`: exit 1.
pub(crate) fn bad_value(path: &std::path::Path, row: u64, column: &str, reason: impl Into<String>) -> anyhow::Error {
    roicast_data::DataError::invalid_row(path, row, column, reason).into()
}

/// Whether `err` is the input's fault (exit 1 on the command line, `InputError` in
/// Python): a [`Rejected`], rejected table rows, an invalid value, a malformed or corrupt
/// input file ([`roicast_data::DataError::is_input_fault`]), a model file that is not
/// one roicast can trust, or training data no model can be fitted to. An operating-system
/// error (a missing file, a full disk) is not: exit 2.
#[must_use]
pub fn is_rejection(err: &anyhow::Error) -> bool {
    use roicast_models::ModelError;
    err.chain().any(|e| {
        e.downcast_ref::<Rejected>().is_some()
            || e.downcast_ref::<roicast_data::DataError>().is_some_and(roicast_data::DataError::is_input_fault)
            || matches!(
                e.downcast_ref::<ModelError>(),
                Some(
                    ModelError::Parse { .. }
                        | ModelError::WrongKind { .. }
                        | ModelError::FormatVersion { .. }
                        | ModelError::InvalidInput(..)
                        | ModelError::Unsealed { .. }
                        | ModelError::Tampered { .. }
                        | ModelError::TooLarge { .. }
                        | ModelError::Mismatch { .. }
                )
            )
            || matches!(
                e.downcast_ref::<roicast_training::TrainError>(),
                Some(roicast_training::TrainError::InvalidData(..))
            )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_reach_the_sink_and_a_silent_context_drops_them() {
        let mut sink = Vec::new();
        {
            let ctx = Ctx::new(Bars::new(false), Some(&mut sink));
            ctx.note("running roi …");
            ctx.note("running report …");
        }
        assert_eq!(String::from_utf8(sink).unwrap(), "running roi …\nrunning report …\n");
        Ctx::silent().note("nobody listens");
    }

    #[test]
    fn a_rejection_is_an_error_found_in_the_chain() {
        let r = Rejected { message: "1 rejected row".into(), rejects: Vec::new(), n_rejects: 1, details: None };
        let e = anyhow::Error::from(r).context("the validate step of the run failed");
        assert_eq!(format!("{e:#}"), "the validate step of the run failed: 1 rejected row");
        assert!(e.chain().any(|c| c.downcast_ref::<Rejected>().is_some()));
    }
}
#[cfg(test)]
mod settings_tests {
    #[test]
    fn a_refused_setting_is_marked() {
        let c = super::attribute::Config {
            models: Some(vec!["nope".into()]),
            ..super::attribute::Config::new("d".into(), "o".into())
        };
        let e = super::attribute::run(&super::Ctx::silent(), &c).unwrap_err();
        assert!(e.chain().any(|x| x.downcast_ref::<super::InvalidSettings>().is_some()), "{e:#}");
        assert!(e.downcast_ref::<super::InvalidSettings>().is_some());
    }
}
