//! Tamper-evident model files: a SHA-256 of the file's own bytes, written into it.
//!
//! A model file (sentiment, forecast, data-driven attribution) is pretty JSON whose second
//! field is `"content_hash": "sha256:<64 hex digits>"`. The digest is taken over the
//! file's bytes with those 64 digits replaced by `0`s, so it covers every parameter, the
//! feature schema, the training-data fingerprint and the format version exactly as
//! written — no float is re-parsed or re-printed to check it. [`seal`] fills the digest
//! in after serialising; [`verify`] recomputes it before anything is parsed beyond the
//! envelope. Any edited byte (a weight, a feature name, even a space) is refused; a model
//! must be re-trained, not edited.

use std::path::Path;

use sha2::{Digest as _, Sha256};

use crate::ModelError;

/// The JSON key of the digest.
pub const FIELD: &str = "content_hash";

/// The placeholder a file is serialised with before [`seal`] fills in the digest.
pub const PLACEHOLDER: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

/// The largest model file roicast reads unless `ROICAST_MAX_MODEL_BYTES` allows more:
/// 256 MiB (the shipped sentiment model is ~7 MB). Checked against the file's size before
/// it is read, so a hostile file never makes roicast allocate more.
pub const DEFAULT_MAX_MODEL_BYTES: u64 = 256 << 20;

const PREFIX: &[u8] = b"\"content_hash\": \"sha256:";
const HEX: usize = 64;

/// Where the 64 digits of the digest are in `bytes`: after the first `"content_hash":
/// "sha256:` (the field comes before the payload, so the payload cannot shadow it).
fn digits(bytes: &[u8]) -> Option<std::ops::Range<usize>> {
    let at = bytes.windows(PREFIX.len()).position(|w| w == PREFIX)? + PREFIX.len();
    let end = at + HEX;
    (end < bytes.len() && bytes[end] == b'"' && bytes[at..end].iter().all(u8::is_ascii_hexdigit)).then_some(at..end)
}

fn digest(bytes: &[u8], range: std::ops::Range<usize>) -> String {
    let mut h = Sha256::new();
    h.update(&bytes[..range.start]);
    h.update([b'0'; HEX]);
    h.update(&bytes[range.end..]);
    format!("{:x}", h.finalize())
}

/// Fills in the digest of JSON `bytes` serialised with [`PLACEHOLDER`] as `content_hash`.
///
/// # Panics
/// If `bytes` holds no placeholder (a bug in the caller's serialisation).
#[must_use]
pub fn seal(mut bytes: Vec<u8>) -> Vec<u8> {
    let range = digits(&bytes).expect("a model file is serialised with the content_hash placeholder");
    let hex = digest(&bytes, range.clone());
    bytes[range].copy_from_slice(hex.as_bytes());
    bytes
}

/// The `sha256:…` digest a sealed file's `bytes` record, if any.
#[must_use]
pub fn recorded(bytes: &[u8]) -> Option<String> {
    digits(bytes).map(|r| format!("sha256:{}", String::from_utf8_lossy(&bytes[r])))
}

/// Checks the digest of a model file's `bytes` (named `path` in errors).
///
/// # Errors
/// [`ModelError::Unsealed`] if the file has no `content_hash` (written before roicast
/// sealed its models, or by hand); [`ModelError::Tampered`] if the bytes changed since.
pub fn verify(bytes: &[u8], path: &Path) -> Result<(), ModelError> {
    let Some(range) = digits(bytes) else {
        return Err(ModelError::Unsealed { path: path.to_owned() });
    };
    let found = String::from_utf8_lossy(&bytes[range.clone()]).into_owned();
    let expected = digest(bytes, range);
    if found != expected {
        return Err(ModelError::Tampered { path: path.to_owned(), recorded: found, actual: expected });
    }
    Ok(())
}

/// The model-file size limit in force (`ROICAST_MAX_MODEL_BYTES`, else the default).
#[must_use]
pub fn max_model_bytes() -> u64 {
    roicast_data::io::byte_limit("ROICAST_MAX_MODEL_BYTES", DEFAULT_MAX_MODEL_BYTES)
}

/// Reads a model file, refusing one larger than [`max_model_bytes`] before reading it.
///
/// # Errors
/// [`ModelError::Io`] if it cannot be read, [`ModelError::TooLarge`] if it is too large.
pub fn read(path: &Path) -> Result<Vec<u8>, ModelError> {
    use std::io::Read as _;
    let io = |source| ModelError::Io { path: path.to_owned(), source };
    let file = std::fs::File::open(path).map_err(io)?;
    let limit = max_model_bytes();
    let size = file.metadata().map_err(io)?.len();
    if size > limit {
        return Err(ModelError::TooLarge { path: path.to_owned(), size, limit });
    }
    // `take` also bounds a file that grows while it is read.
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    file.take(limit + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > limit {
        return Err(ModelError::TooLarge { path: path.to_owned(), size: bytes.len() as u64, limit });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealed() -> Vec<u8> {
        let text = format!("{{\n  \"format\": 2,\n  \"{FIELD}\": \"{PLACEHOLDER}\",\n  \"weights\": [0.5, -1.25]\n}}");
        seal(text.into_bytes())
    }

    #[test]
    fn a_sealed_file_verifies_and_any_edit_is_refused() {
        let p = Path::new("m.json");
        let bytes = sealed();
        verify(&bytes, p).unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(!text.contains(PLACEHOLDER));
        // Every single-byte change outside the digest is caught.
        let range = digits(&bytes).unwrap();
        for i in (0..bytes.len()).filter(|i| !range.contains(i)) {
            let mut edited = bytes.clone();
            edited[i] = if edited[i] == b'7' { b'8' } else { b'7' };
            assert!(verify(&edited, p).is_err(), "byte {i} edited unnoticed");
        }
        let edited = text.replace("-1.25", "-1.26");
        let err = verify(edited.as_bytes(), p).unwrap_err();
        assert!(matches!(err, ModelError::Tampered { .. }));
        assert!(err.to_string().starts_with("m.json: the model file was changed after it was written"), "{err}");
    }

    #[test]
    fn an_unsealed_file_is_refused() {
        let err = verify(b"{\"format\": 1, \"weights\": []}", Path::new("old.json")).unwrap_err();
        assert!(matches!(err, ModelError::Unsealed { .. }), "{err}");
    }

    #[test]
    fn an_oversized_file_is_refused_before_it_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big.json");
        let f = std::fs::File::create(&p).unwrap();
        f.set_len(DEFAULT_MAX_MODEL_BYTES + 1).unwrap(); // sparse: no disk used
        let err = read(&p).unwrap_err();
        assert!(matches!(err, ModelError::TooLarge { .. }), "{err}");
    }
}
