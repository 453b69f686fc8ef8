//! Replays every committed fuzz input — the seeds, the corpus AFL++ grew from them and
//! every past finding (fuzz/regressions, each a fixed bug) — through its target: none may
//! panic. A fast, deterministic check that the readers still hold on every input the
//! fuzzer ever kept.

use std::path::Path;

fn replay_folder(root: &Path, need: bool) {
    let mut total = 0;
    for t in roicast_fuzz::TARGETS {
        let files = roicast_fuzz::corpus_files(&root.join(t.name)).unwrap();
        total += files.len();
        roicast_fuzz::replay(t, &files).unwrap();
    }
    assert!(!need || total > 0, "no inputs under {}", root.display());
}

#[test]
fn every_corpus_input_and_past_finding_runs_without_a_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    replay_folder(&root.join("corpus"), true);
    replay_folder(&root.join("regressions"), false);
}

#[test]
fn every_target_has_seeds() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    for t in roicast_fuzz::TARGETS {
        let n = roicast_fuzz::corpus_files(&root.join(t.name)).unwrap().len();
        assert!(n >= 5, "target {} has {n} corpus inputs", t.name);
    }
}

#[test]
fn the_seeds_are_what_the_seed_writer_writes() {
    // The committed seeds are reproducible: the writer's output equals fuzz/corpus/*/
    // for every file it writes (the corpus also holds the fuzzer's own finds).
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = tempfile_dir("seeds");
    let work = tempfile_dir("work");
    let files = roicast_fuzz::write_seeds(&out, &root.join(".."), &work).unwrap();
    for f in &files {
        let rel = f.strip_prefix(&out).unwrap();
        let committed = std::fs::read(root.join("corpus").join(rel)).unwrap_or_else(|e| {
            panic!(
                "seed {} is not committed ({e}): run `cargo run -p roicast-fuzz -- seeds fuzz/corpus`",
                rel.display()
            )
        });
        assert!(committed == std::fs::read(f).unwrap(), "seed {} differs from the committed one", rel.display());
    }
    let _ = std::fs::remove_dir_all(&out);
    let _ = std::fs::remove_dir_all(&work);
}

fn tempfile_dir(what: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("roicast-fuzz-test-{what}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}
