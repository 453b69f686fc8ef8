//! # roicast-models
//!
//! Fitted model types and their pure math, and the versioned **model file** every fitted
//! model is saved in. It sits above `roicast-data` (it may use the data contract) and
//! below `roicast-training` (which fits the models defined here) and the engine.
//!
//! A model predicts through [`Predict`], which — unlike linfa's — returns a `Result`: a
//! malformed batch is reported, never a panic in a rayon worker.
//!
//! ## Example: save and load a model file
//!
//! ```
//! use roicast_models::{ModelFile, ModelKind};
//!
//! #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
//! struct Weights { w: Vec<f64> }
//!
//! let file = ModelFile::new(
//!     ModelKind::new("example_linear", 1),
//!     serde_json::json!({ "l2": 0.1 }),
//!     vec!["x1".into(), "x2".into()],
//!     "sha256:abc",
//!     Weights { w: vec![0.5, -1.0] },
//! );
//! let dir = std::env::temp_dir().join(format!("roicast-model-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let path = dir.join("model.json");
//! file.save(&path)?;
//!
//! let loaded: ModelFile<Weights> = ModelFile::load(&path, &ModelKind::new("example_linear", 1))?;
//! assert_eq!(loaded.model, Weights { w: vec![0.5, -1.0] });
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok::<(), roicast_models::ModelError>(())
//! ```

pub mod attribution;
pub mod clv;
pub mod engagement;
pub mod exact;
pub mod forecast;
pub mod monitor;
pub mod roi;
pub mod seal;
pub mod sentiment;
pub mod stats;

/// A `HashMap` with rustc's Fx hash (`rustc-hash` 2, whose `finish` mixes the high bits
/// down, as hashbrown's low-bit bucket index needs): fast, deterministic, not DoS-safe —
/// for keys from the user's own data.
pub type FxMap<K, V> = rustc_hash::FxHashMap<K, V>;

use std::path::{Path, PathBuf};

use ndarray::{ArrayView2, ArrayViewMut1};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The envelope format version of model files written by this build: 2 added the
/// `content_hash` ([`seal`]); files of format 1 are refused as unsealed.
pub const MODEL_FILE_FORMAT: u32 = 2;

/// Errors of `roicast-models`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// A batch had the wrong number of feature columns.
    #[error("expected {expected} feature columns, found {found}")]
    FeatureCount {
        /// Columns the model was fitted on.
        expected: usize,
        /// Columns given.
        found: usize,
    },
    /// The output buffer does not have one slot per input row.
    #[error("expected an output of {expected} rows, found {found}")]
    OutputLength {
        /// Rows in the input.
        expected: usize,
        /// Slots in the output.
        found: usize,
    },
    /// A model file could not be read or written.
    #[error("failed to access model file {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A model file is not valid JSON of the expected shape.
    #[error("{path}: not a roicast model file")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// A model file holds another kind of model, or another version of it.
    #[error("{path}: holds a `{found}` model, expected `{expected}`")]
    WrongKind {
        /// The file.
        path: PathBuf,
        /// Kind and version in the file.
        found: String,
        /// Kind and version expected.
        expected: String,
    },
    /// Input to a model's math is out of its domain.
    #[error("{0}")]
    InvalidInput(String),
    /// A model file carries no content hash.
    #[error(
        "{path}: the model file has no content_hash: it was written before roicast sealed its model files \
         (format 1) or by hand; retrain it with this roicast"
    )]
    Unsealed {
        /// The file.
        path: PathBuf,
    },
    /// A model file's bytes do not match its content hash.
    #[error(
        "{path}: the model file was changed after it was written (content_hash sha256:{recorded}, the bytes hash \
         to sha256:{actual}); a model is retrained, never edited"
    )]
    Tampered {
        /// The file.
        path: PathBuf,
        /// The digest in the file.
        recorded: String,
        /// The digest of its bytes.
        actual: String,
    },
    /// A model file is larger than the limit.
    #[error("{path}: {size} bytes, more than the {limit}-byte limit for model files (ROICAST_MAX_MODEL_BYTES)")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// A model does not fit the data it is applied to (other features, another grouping).
    #[error("{path}: {reason}")]
    Mismatch {
        /// The model file.
        path: PathBuf,
        /// What differs.
        reason: String,
    },
    /// A model file was written by a newer roicast.
    #[error("{path}: model file format {found} is newer than this roicast understands ({supported})")]
    FormatVersion {
        /// The file.
        path: PathBuf,
        /// The file's format.
        found: u32,
        /// The newest format this build reads.
        supported: u32,
    },
}

/// A fitted model that scores rows of features.
pub trait Predict: Send + Sync {
    /// The number of feature columns the model expects.
    fn n_features(&self) -> usize;

    /// Writes one prediction per row of `x` into `out`.
    ///
    /// # Errors
    /// [`ModelError::FeatureCount`] if `x` has the wrong number of columns;
    /// [`ModelError::OutputLength`] if `out` does not have one slot per row.
    fn predict_into(&self, x: ArrayView2<'_, f64>, out: ArrayViewMut1<'_, f64>) -> Result<(), ModelError>;
}

/// Checks the shapes [`Predict::predict_into`] promises to check.
pub fn check_shapes(
    n_features: usize,
    x: &ArrayView2<'_, f64>,
    out: &ArrayViewMut1<'_, f64>,
) -> Result<(), ModelError> {
    if x.ncols() != n_features {
        return Err(ModelError::FeatureCount { expected: n_features, found: x.ncols() });
    }
    if out.len() != x.nrows() {
        return Err(ModelError::OutputLength { expected: x.nrows(), found: out.len() });
    }
    Ok(())
}

/// What a model file holds: a kind name and the version of that kind's payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelKind {
    /// e.g. `sentiment_linear`, `additive_hazard`.
    pub name: String,
    /// Version of the payload layout of this kind.
    pub version: u32,
}

impl ModelKind {
    /// A kind.
    #[must_use]
    pub fn new(name: &str, version: u32) -> ModelKind {
        ModelKind { name: name.to_owned(), version }
    }
}

impl std::fmt::Display for ModelKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} v{}", self.name, self.version)
    }
}

/// A fitted model with everything needed to trust it later: its params, the fingerprint
/// of the data it was trained on, its feature schema and the format version.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelFile<M> {
    /// Envelope format ([`MODEL_FILE_FORMAT`]).
    pub format: u32,
    /// `sha256:` of the file's bytes with these digits zeroed ([`seal`]); set on save.
    #[serde(default)]
    pub content_hash: String,
    /// What the payload is.
    pub kind: ModelKind,
    /// The roicast version that wrote it.
    pub roicast_version: String,
    /// The (validated) training parameters.
    pub params: serde_json::Value,
    /// Feature names, in the column order the model expects.
    pub features: Vec<String>,
    /// A fingerprint of the training data (e.g. `sha256:` of the input file).
    pub training_fingerprint: String,
    /// The fitted model.
    pub model: M,
}

impl<M: Serialize + DeserializeOwned> ModelFile<M> {
    /// Wraps a fitted model.
    #[must_use]
    pub fn new(kind: ModelKind, params: serde_json::Value, features: Vec<String>, fingerprint: &str, model: M) -> Self {
        ModelFile {
            format: MODEL_FILE_FORMAT,
            content_hash: String::new(),
            kind,
            roicast_version: env!("CARGO_PKG_VERSION").to_owned(),
            params,
            features,
            training_fingerprint: fingerprint.to_owned(),
            model,
        }
    }

    /// The file's bytes: pretty JSON, sealed with its content hash ([`seal`]).
    ///
    /// # Errors
    /// [`ModelError::Parse`] if the model does not serialise (a non-finite parameter).
    pub fn to_bytes(&self, path: &Path) -> Result<Vec<u8>, ModelError> {
        let bytes = serde_json::to_vec_pretty(&Unsealed(self))
            .map_err(|source| ModelError::Parse { path: path.to_owned(), source })?;
        Ok(seal::seal(bytes))
    }

    /// Writes the file atomically (temporary file, then rename), sealed.
    pub fn save(&self, path: &Path) -> Result<(), ModelError> {
        let json = self.to_bytes(path)?;
        roicast_data::io::write_bytes_atomic(path, &json).map_err(|e| match e {
            roicast_data::DataError::Io { path, source } => ModelError::Io { path, source },
            other => ModelError::Io { path: path.to_owned(), source: std::io::Error::other(other.to_string()) },
        })
    }

    /// Reads a file (at most [`seal::max_model_bytes`]), checking its envelope format, its
    /// content hash and that it holds `expected`.
    pub fn load(path: &Path, expected: &ModelKind) -> Result<Self, ModelError> {
        let bytes = seal::read(path)?;
        Self::from_slice(&bytes, path, expected)
    }

    /// Parses a model file's bytes (e.g. one compiled into the binary); `path` names
    /// the origin in errors.
    pub fn from_slice(bytes: &[u8], path: &Path, expected: &ModelKind) -> Result<Self, ModelError> {
        // Check the envelope before the payload, so a newer, edited or foreign file gets
        // a precise error instead of a shape mismatch deep in the payload.
        let env: Envelope =
            serde_json::from_slice(bytes).map_err(|source| ModelError::Parse { path: path.to_owned(), source })?;
        if env.format > MODEL_FILE_FORMAT {
            return Err(ModelError::FormatVersion {
                path: path.to_owned(),
                found: env.format,
                supported: MODEL_FILE_FORMAT,
            });
        }
        seal::verify(bytes, path)?;
        if &env.kind != expected {
            return Err(ModelError::WrongKind {
                path: path.to_owned(),
                found: env.kind.to_string(),
                expected: expected.to_string(),
            });
        }
        serde_json::from_slice(bytes).map_err(|source| ModelError::Parse { path: path.to_owned(), source })
    }
}

/// A model file as serialised before [`seal::seal`]: the fields in their order, with
/// the placeholder as `content_hash` (second, before any payload text).
struct Unsealed<'a, M>(&'a ModelFile<M>);

impl<M: Serialize> Serialize for Unsealed<'_, M> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let f = self.0;
        let mut m = s.serialize_map(Some(8))?;
        m.serialize_entry("format", &f.format)?;
        m.serialize_entry(seal::FIELD, seal::PLACEHOLDER)?;
        m.serialize_entry("kind", &f.kind)?;
        m.serialize_entry("roicast_version", &f.roicast_version)?;
        m.serialize_entry("params", &f.params)?;
        m.serialize_entry("features", &f.features)?;
        m.serialize_entry("training_fingerprint", &f.training_fingerprint)?;
        m.serialize_entry("model", &f.model)?;
        m.end()
    }
}

/// The part of a model file read before its payload.
#[derive(Deserialize)]
struct Envelope {
    format: u32,
    kind: ModelKind,
}

/// A linear scorer `y = b + x·w`: the simplest [`Predict`], and the building block of
/// the regularised models later issues fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinearScorer {
    /// Intercept.
    pub intercept: f64,
    /// One weight per feature.
    pub weights: Vec<f64>,
}

impl Predict for LinearScorer {
    fn n_features(&self) -> usize {
        self.weights.len()
    }

    fn predict_into(&self, x: ArrayView2<'_, f64>, mut out: ArrayViewMut1<'_, f64>) -> Result<(), ModelError> {
        check_shapes(self.n_features(), &x, &out)?;
        for (row, o) in x.rows().into_iter().zip(out.iter_mut()) {
            *o = self.intercept + row.iter().zip(&self.weights).map(|(a, b)| a * b).sum::<f64>();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array1, array};

    fn temp(name: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        (dir, path)
    }

    #[test]
    fn linear_scorer_predicts_and_checks_shapes() {
        let m = LinearScorer { intercept: 1.0, weights: vec![2.0, -1.0] };
        let x = array![[1.0, 1.0], [0.0, 3.0]];
        let mut out = Array1::zeros(2);
        m.predict_into(x.view(), out.view_mut()).unwrap();
        assert_eq!(out.to_vec(), vec![2.0, -2.0]);
        let bad = array![[1.0, 2.0, 3.0]];
        let err = m.predict_into(bad.view(), Array1::zeros(1).view_mut()).unwrap_err();
        assert_eq!(err.to_string(), "expected 2 feature columns, found 3");
        let err = m.predict_into(x.view(), Array1::zeros(3).view_mut()).unwrap_err();
        assert_eq!(err.to_string(), "expected an output of 2 rows, found 3");
    }

    #[test]
    fn model_file_save_load_predicts_identically() {
        let (_d, path) = temp("m.json");
        let m = LinearScorer { intercept: 0.25, weights: vec![0.1, 0.2, 0.3] };
        let kind = ModelKind::new("linear", 1);
        ModelFile::new(kind.clone(), serde_json::json!({}), vec!["a".into(), "b".into(), "c".into()], "x", m.clone())
            .save(&path)
            .unwrap();
        let loaded: ModelFile<LinearScorer> = ModelFile::load(&path, &kind).unwrap();
        let x = array![[1.0, 2.0, 3.0], [-1.0, 0.5, 7.0]];
        let (mut a, mut b) = (Array1::zeros(2), Array1::zeros(2));
        m.predict_into(x.view(), a.view_mut()).unwrap();
        loaded.model.predict_into(x.view(), b.view_mut()).unwrap();
        assert_eq!(a, b);
        assert_eq!(loaded.features, vec!["a", "b", "c"]);
    }

    #[test]
    fn model_file_rejects_other_kinds_and_newer_formats() {
        let (_d, path) = temp("m.json");
        let m = LinearScorer { intercept: 0.0, weights: vec![] };
        ModelFile::new(ModelKind::new("linear", 1), serde_json::json!({}), vec![], "x", m).save(&path).unwrap();
        let err = ModelFile::<LinearScorer>::load(&path, &ModelKind::new("linear", 2)).unwrap_err();
        assert!(err.to_string().ends_with("holds a `linear v1` model, expected `linear v2`"), "{err}");
        let sealed = std::fs::read_to_string(&path).unwrap();
        assert!(sealed.starts_with("{\n  \"format\": 2,\n  \"content_hash\": \"sha256:"), "{sealed}");
        ModelFile::<LinearScorer>::load(&path, &ModelKind::new("linear", 1)).unwrap();
        // An edited parameter.
        std::fs::write(&path, sealed.replace("\"intercept\": 0.0", "\"intercept\": 0.5")).unwrap();
        let err = ModelFile::<LinearScorer>::load(&path, &ModelKind::new("linear", 1)).unwrap_err();
        assert!(matches!(err, ModelError::Tampered { .. }), "{err}");
        let text = sealed.replace("\"format\": 2", "\"format\": 99");
        std::fs::write(&path, text).unwrap();
        let err = ModelFile::<LinearScorer>::load(&path, &ModelKind::new("linear", 1)).unwrap_err();
        assert!(err.to_string().contains("model file format 99 is newer"), "{err}");
        std::fs::write(&path, "{").unwrap();
        let err = ModelFile::<LinearScorer>::load(&path, &ModelKind::new("linear", 1)).unwrap_err();
        assert!(err.to_string().contains("not a roicast model file"), "{err}");
    }

    #[test]
    fn models_are_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<LinearScorer>();
        check::<ModelFile<LinearScorer>>();
        check::<ModelError>();
    }
}
