//! The same run with 1, 2 and 8 worker threads writes byte-identical outputs (run
//! manifests, which hold timings, excepted). `scripts/determinism.sh` repeats this 20
//! times on a loaded machine with the release binary (docs/reliability.md).

mod common;

use std::collections::BTreeMap;
use std::path::Path;

/// Every file under `root` but manifests and the lock file, with its bytes.
fn outputs(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_owned()];
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            for e in std::fs::read_dir(&p).unwrap() {
                stack.push(e.unwrap().path());
            }
        } else {
            let rel = p.strip_prefix(root).unwrap().display().to_string();
            if !rel.ends_with(".manifest.json") && rel != ".roicast.lock" {
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

#[test]
fn a_run_with_1_2_and_8_threads_writes_identical_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    common::small_world(d, 11);
    let mut runs = Vec::new();
    for threads in ["1", "2", "8"] {
        let cfg = d.join(format!("t{threads}.toml"));
        // One output folder for all (the report names it), kept aside after each run.
        std::fs::write(&cfg, "data = \"data\"\nout = \"out\"\n").unwrap();
        let r = common::roicast_in(&["run", "--config", cfg.to_str().unwrap(), "--threads", threads, "-q"], d);
        assert_eq!(r.code, 0, "{}", r.stderr);
        std::fs::rename(d.join("out"), d.join(format!("out{threads}"))).unwrap();
        runs.push((threads, outputs(&d.join(format!("out{threads}")))));
    }
    let (_, first) = &runs[0];
    assert!(first.len() >= 18 && first.contains_key("report.html"), "{:?}", first.keys().collect::<Vec<_>>());
    for (threads, files) in &runs[1..] {
        assert_eq!(first.keys().collect::<Vec<_>>(), files.keys().collect::<Vec<_>>(), "{threads} threads");
        let differ: Vec<&String> = first.keys().filter(|k| first[*k] != files[*k]).collect();
        assert!(differ.is_empty(), "with {threads} threads these files differ from 1 thread: {differ:?}");
    }
}
