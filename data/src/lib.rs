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

/// The SHA-256 of a file, as lowercase hex (for run manifests and reuse keys).
///
/// Remembered for the life of the process by path, keyed by the file's length,
/// modification time and inode: the jobs of one `roicast run` record the same dataset
/// files in their manifests and keys, and a gigabyte of partitions is read once, not once
/// per job. A file rewritten in between (new inode, time or length) is hashed again; a
/// file modified less than two seconds before it was read is never remembered (file
/// times are as coarse as a clock tick, so a rewrite of the same length in place within
/// one tick would keep its stamp — git's "racy" rule).
pub fn sha256_file(path: &std::path::Path) -> Result<String, DataError> {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    type Stamp = (u64, Option<std::time::SystemTime>, u64);
    static SEEN: std::sync::Mutex<Option<std::collections::HashMap<std::path::PathBuf, (Stamp, String)>>> =
        std::sync::Mutex::new(None);
    let mut f = std::fs::File::open(path).map_err(error::DataError::io(path))?;
    let stamp = f.metadata().ok().map(|m| {
        #[cfg(unix)]
        let ino = std::os::unix::fs::MetadataExt::ino(&m);
        #[cfg(not(unix))]
        let ino = 0;
        (m.len(), m.modified().ok(), ino)
    });
    let key = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    if let Some(stamp) = stamp
        && stamp.1.is_some()
        && let Some((s, hash)) = SEEN.lock().expect("hash memo lock").as_ref().and_then(|m| m.get(&key))
        && *s == stamp
    {
        return Ok(hash.clone());
    }
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(error::DataError::io(path))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    let hash = hex(&h.finalize());
    // Remembered only if the file did not change while it was read and is not fresh.
    let after = f.metadata().ok().map(|m| (m.len(), m.modified().ok()));
    let settled = |t: std::time::SystemTime| {
        std::time::SystemTime::now().duration_since(t).is_ok_and(|age| age >= std::time::Duration::from_secs(2))
    };
    if let Some(stamp) = stamp
        && stamp.1.is_some_and(settled)
        && after == Some((stamp.0, stamp.1))
    {
        SEEN.lock().expect("hash memo lock").get_or_insert_with(Default::default).insert(key, (stamp, hash.clone()));
    }
    Ok(hash)
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

#[cfg(test)]
mod sha256_tests {
    #[test]
    fn a_remembered_hash_follows_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.csv");
        std::fs::write(&p, "a,b\n1,2\n").unwrap();
        let one = super::sha256_file(&p).unwrap();
        // Fresh files are hashed every time: a same-length rewrite in place is seen.
        std::fs::write(&p, "a,b\n1,3\n").unwrap();
        let two = super::sha256_file(&p).unwrap();
        assert_ne!(one, two);
        // A settled file is remembered; replaced (a new inode), it is hashed again.
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
        std::fs::File::options().write(true).open(&p).unwrap().set_modified(old).unwrap();
        assert_eq!(super::sha256_file(&p).unwrap(), two);
        assert_eq!(super::sha256_file(&p).unwrap(), two);
        let q = dir.path().join("u.csv");
        std::fs::write(&q, "a,b\n1,4\n").unwrap();
        std::fs::File::options().write(true).open(&q).unwrap().set_modified(old).unwrap();
        std::fs::rename(&q, &p).unwrap();
        let three = super::sha256_file(&p).unwrap();
        assert_ne!(three, two);
        assert_eq!(three, super::hex(&<sha2::Sha256 as sha2::Digest>::digest(b"a,b\n1,4\n")));
    }
}
