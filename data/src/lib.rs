//! # roicast-data
//!
//! The bottom layer of roicast: the **data contract** (every canonical table, column,
//! type, nullability, allowed value and reference, in [`schema`]), reading and writing
//! tables as Parquet, CSV and Arrow IPC ([`io`]), conforming input to the contract with
//! row-level rejects ([`conform`]), whole-dataset validation ([`validate`]) and the
//! seeded synthetic world ([`generate`]).
//!
//! Nothing here builds a thread pool, prints or exits: the engine (`roicast-engine`)
//! decides parallelism and talks to the user. Parallel work here runs on the current
//! rayon pool.
//!
//! ## Example: generate a small world, then validate it
//!
//! ```
//! use roicast_data::generate::{generate, GenerateParams, Scenario};
//! use roicast_data::validate::{validate, NoProgress};
//! use roicast_data::{Dataset, Table};
//!
//! let dir = std::env::temp_dir().join(format!("roicast-doc-{}", std::process::id()));
//! let params = GenerateParams::new(Scenario::Small).seed(7).overwrite(true);
//! let summary = generate(&params, &dir, &NoProgress)?;
//! assert!(summary.rows[&Table::Touchpoints] > 1_000);
//!
//! let dataset = Dataset::open(&dir)?;
//! let report = validate(&dataset, &NoProgress)?;
//! assert!(report.ok, "{:?}", report.rejects.first());
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok::<(), roicast_data::DataError>(())
//! ```

pub mod builder;
pub mod conform;
pub mod dataset;
pub mod duration;
pub mod error;
pub mod generate;
pub mod import;
pub mod io;
pub mod ipc_limits;
pub mod journeys;
pub mod numeric;
pub mod parquet_limits;
pub mod partition;
pub mod paths;
pub mod rfm;
pub mod rng;
pub mod schema;
pub mod tiers;
pub mod validate;

pub use dataset::Dataset;
pub use error::{DataError, Reject};
pub use io::Format;
pub use schema::{ColumnSpec, Kind, Table, TableSpec};

/// The SHA-256 of a file, as lowercase hex (for run manifests).
pub fn sha256_file(path: &std::path::Path) -> Result<String, DataError> {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    let mut f = std::fs::File::open(path).map_err(error::DataError::io(path))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(error::DataError::io(path))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

/// Lowercase hex of `bytes`.
#[must_use]
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::with_capacity(2 * bytes.len()), |mut s, b| {
        use std::fmt::Write as _;
        let _ = write!(s, "{b:02x}");
        s
    })
}
