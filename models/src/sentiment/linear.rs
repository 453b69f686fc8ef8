//! The multinomial linear sentiment model over [`features`](super::features).
//!
//! `P(class | text) = softmax((b + W·x) / T)`: three classes, hashed sparse features, a
//! temperature `T` fitted on out-of-fold predictions so the probabilities are calibrated.

use std::cell::RefCell;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::features::{Extractor, FeatureOptions, N_FEATURES, SparseVec};
use crate::{ModelError, ModelFile, ModelKind};

/// The default model's file, compiled into the binary (see `models/assets/sentiment/README.md`).
pub const EMBEDDED_DEFAULT: &[u8] = include_bytes!("../../assets/sentiment/default.json");

/// The embedded default model, parsed once.
#[must_use]
pub fn embedded_default() -> &'static ModelFile<LinearSentiment> {
    static MODEL: std::sync::OnceLock<ModelFile<LinearSentiment>> = std::sync::OnceLock::new();
    MODEL.get_or_init(|| {
        LinearSentiment::from_slice(EMBEDDED_DEFAULT, Path::new("<embedded default sentiment model>"))
            .expect("the embedded sentiment model is checked by its tests")
    })
}

/// Class labels, in the order of every probability triple.
pub const CLASSES: [&str; 3] = ["negative", "neutral", "positive"];

/// The model-file kind of [`LinearSentiment`].
#[must_use]
pub fn model_kind() -> ModelKind {
    ModelKind::new("sentiment_linear", 1)
}

/// A fitted linear sentiment model.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LinearSentiment {
    /// Feature extraction options it was trained with.
    pub options: FeatureOptions,
    /// Softmax temperature (calibration), > 0.
    pub temperature: f64,
    /// Per-class intercepts.
    pub bias: [f32; 3],
    /// Non-zero weight rows, sorted by feature index: (index, per-class weights). Saved
    /// as base64 of little-endian (u32, 3 × f32) records (16 bytes a row).
    #[serde(with = "packed")]
    pub weights: Vec<(u32, [f32; 3])>,
    /// `weights` expanded to one row per feature, for O(1) lookup.
    #[serde(skip)]
    table: Vec<[f32; 3]>,
}

thread_local! {
    static BUFFERS: RefCell<(Extractor, SparseVec)> = RefCell::new((Extractor::new(), SparseVec::default()));
}

impl LinearSentiment {
    /// Builds a model from its parts (checks indices and the temperature).
    pub fn new(
        options: FeatureOptions,
        temperature: f64,
        bias: [f32; 3],
        mut weights: Vec<(u32, [f32; 3])>,
    ) -> Result<LinearSentiment, ModelError> {
        weights.sort_by_key(|w| w.0);
        let mut m = LinearSentiment { options, temperature, bias, weights, table: Vec::new() };
        m.expand()?;
        Ok(m)
    }

    fn expand(&mut self) -> Result<(), ModelError> {
        if !(self.temperature.is_finite() && self.temperature > 0.0) {
            return Err(ModelError::InvalidInput(format!("temperature must be > 0, found {}", self.temperature)));
        }
        let mut table = vec![[0.0f32; 3]; N_FEATURES as usize];
        for &(i, w) in &self.weights {
            let slot = table
                .get_mut(i as usize)
                .ok_or_else(|| ModelError::InvalidInput(format!("feature index {i} out of range (< {N_FEATURES})")))?;
            *slot = w;
        }
        self.table = table;
        Ok(())
    }

    /// Reads a model file.
    pub fn load(path: &Path) -> Result<ModelFile<LinearSentiment>, ModelError> {
        let mut file: ModelFile<LinearSentiment> = ModelFile::load(path, &model_kind())?;
        file.model.expand()?;
        Ok(file)
    }

    /// Parses a model file's bytes (`origin` names it in errors).
    pub fn from_slice(bytes: &[u8], origin: &Path) -> Result<ModelFile<LinearSentiment>, ModelError> {
        let mut file: ModelFile<LinearSentiment> = ModelFile::from_slice(bytes, origin, &model_kind())?;
        file.model.expand()?;
        Ok(file)
    }

    /// Raw scores `b + W·x` of a feature vector.
    #[must_use]
    pub fn logits(&self, x: &SparseVec) -> [f64; 3] {
        let mut z = [f64::from(self.bias[0]), f64::from(self.bias[1]), f64::from(self.bias[2])];
        for (&i, &v) in x.idx.iter().zip(&x.val) {
            let w = self.table[i as usize];
            let v = f64::from(v);
            z[0] += f64::from(w[0]) * v;
            z[1] += f64::from(w[1]) * v;
            z[2] += f64::from(w[2]) * v;
        }
        z
    }

    /// Calibrated class probabilities of a feature vector.
    #[must_use]
    pub fn proba_features(&self, x: &SparseVec) -> [f64; 3] {
        softmax(self.logits(x), self.temperature)
    }

    /// Calibrated class probabilities (negative, neutral, positive) of a text.
    #[must_use]
    pub fn proba(&self, text: &str) -> [f64; 3] {
        BUFFERS.with(|b| {
            if let Ok(mut guard) = b.try_borrow_mut() {
                let (extractor, x) = &mut *guard;
                extractor.extract(text, self.options, x);
                self.proba_features(x)
            } else {
                let mut x = SparseVec::default();
                Extractor::new().extract(text, self.options, &mut x);
                self.proba_features(&x)
            }
        })
    }
}

/// Serde codec of the weight rows: base64 (standard alphabet, padded; the `base64` crate)
/// of packed little-endian records.
mod packed {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(rows: &[(u32, [f32; 3])], s: S) -> Result<S::Ok, S::Error> {
        let mut bytes = Vec::with_capacity(rows.len() * 16);
        for (i, w) in rows {
            bytes.extend_from_slice(&i.to_le_bytes());
            for v in w {
                bytes.extend_from_slice(&v.to_le_bytes());
            }
        }
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(u32, [f32; 3])>, D::Error> {
        use serde::de::Error;
        let text = String::deserialize(d)?;
        let bytes =
            STANDARD.decode(text.as_bytes()).map_err(|e| D::Error::custom(format!("weights: invalid base64: {e}")))?;
        if bytes.len() % 16 != 0 {
            return Err(D::Error::custom(format!(
                "weights: {} bytes is not a whole number of 16-byte rows",
                bytes.len()
            )));
        }
        Ok(bytes
            .chunks_exact(16)
            .map(|r| {
                let f = |k: usize| f32::from_le_bytes(r[k..k + 4].try_into().expect("4 bytes"));
                (u32::from_le_bytes(r[..4].try_into().expect("4 bytes")), [f(4), f(8), f(12)])
            })
            .collect())
    }
}

/// `softmax(z / t)`, stable.
#[must_use]
pub fn softmax(z: [f64; 3], t: f64) -> [f64; 3] {
    let m = z[0].max(z[1]).max(z[2]);
    let e = [((z[0] - m) / t).exp(), ((z[1] - m) / t).exp(), ((z[2] - m) / t).exp()];
    let s = e[0] + e[1] + e[2];
    [e[0] / s, e[1] / s, e[2] / s]
}

/// Index of the largest probability (ties: the earlier class).
#[must_use]
pub fn argmax(p: [f64; 3]) -> usize {
    let mut best = 0;
    for k in 1..3 {
        if p[k] > p[best] {
            best = k;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_sums_to_one_and_temperature_flattens() {
        let p = softmax([2.0, 0.0, -1.0], 1.0);
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        let flat = softmax([2.0, 0.0, -1.0], 10.0);
        assert!(flat[0] < p[0] && flat[2] > p[2]);
        assert_eq!(argmax(p), 0);
    }

    #[test]
    fn packed_weights_round_trip_exactly() {
        for n in 0..5u32 {
            let rows: Vec<(u32, [f32; 3])> = (0..n).map(|i| (i * 977, [i as f32 * 0.1, -1.5e-7, f32::MAX])).collect();
            let m = LinearSentiment::new(FeatureOptions::default(), 1.3, [0.5, -0.25, 0.0], rows.clone()).unwrap();
            let json = serde_json::to_string(&m).unwrap();
            let back: LinearSentiment = serde_json::from_str(&json).unwrap();
            assert_eq!(back.weights, rows, "{json}");
        }
        assert!(
            serde_json::from_str::<LinearSentiment>(
                r#"{"options":{"vader":true,"char_ngrams":false},"temperature":1.0,"bias":[0,0,0],"weights":"AAA*"}"#
            )
            .is_err()
        );
    }

    #[test]
    fn out_of_range_weights_are_rejected() {
        let err = LinearSentiment::new(FeatureOptions::default(), 1.0, [0.0; 3], vec![(N_FEATURES, [1.0; 3])]);
        assert!(err.is_err());
        assert!(LinearSentiment::new(FeatureOptions::default(), 0.0, [0.0; 3], vec![]).is_err());
    }
}
