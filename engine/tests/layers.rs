//! The engine's layers (docs/architecture.md): CLI → jobs → libraries. A job module or the
//! output machinery that reached up into the CLI (its clap structs, its printing, its exit
//! codes) would make the job uncallable from the pipeline and from Python; this test
//! fails the build of such a change.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("readable source folder") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Lines of `src` that are code (comments and doc comments dropped).
fn code_lines(src: &str) -> impl Iterator<Item = (usize, &str)> {
    src.lines().enumerate().filter(|(_, l)| {
        let t = l.trim_start();
        !(t.starts_with("//") || t.starts_with("///") || t.starts_with("//!"))
    })
}

/// What a module below the CLI must never name.
const FORBIDDEN: &[(&str, &str)] = &[
    ("crate::cli", "imports the CLI"),
    ("super::super::cli", "imports the CLI"),
    ("clap::", "parses command lines (clap belongs to cli/)"),
    ("std::io::stdout", "writes to stdout (the CLI prints summaries)"),
    ("std::io::stderr", "writes to stderr (notes go through Ctx::note)"),
    ("std::process::exit", "exits (the CLI maps outcomes to exit codes)"),
    ("println!", "prints"),
    ("eprintln!", "prints"),
];

#[test]
fn jobs_and_output_never_import_the_cli() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src.join("jobs"), &mut files);
    rust_files(&src.join("output"), &mut files);
    assert!(files.len() > 10, "the job modules were not found under {}", src.display());
    let mut found = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).expect("readable source");
        for (n, line) in code_lines(&text) {
            for (needle, why) in FORBIDDEN {
                if line.contains(needle) {
                    found.push(format!("{}:{}: {why}: {}", f.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(found.is_empty(), "layer violations (see docs/architecture.md):\n{}", found.join("\n"));
}

#[test]
fn every_job_module_has_a_config_and_run() {
    let jobs = Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join("jobs");
    for name in [
        "generate",
        "validate",
        "sentiment",
        "engagement",
        "attribute",
        "clv",
        "roi",
        "forecast",
        "report",
        "pipeline",
        "history",
    ] {
        // A job is `jobs/NAME.rs` or, with sub-modules, `jobs/NAME/mod.rs`.
        let file = [jobs.join(format!("{name}.rs")), jobs.join(name).join("mod.rs")]
            .into_iter()
            .find(|p| p.exists())
            .unwrap_or_else(|| panic!("no jobs/{name}.rs or jobs/{name}/mod.rs"));
        let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert!(text.contains("pub struct Config"), "jobs/{name}.rs has no `pub struct Config`");
        assert!(
            text.contains("pub fn run(ctx: &Ctx") || text.contains("pub fn run(_ctx: &Ctx"),
            "jobs/{name}.rs has no `pub fn run(&Ctx, &Config)`"
        );
    }
}

#[test]
fn the_layer_check_catches_a_violation() {
    let bad = "use crate::cli::Settings;\n// crate::cli in a comment is fine\n";
    let hits: Vec<_> = code_lines(bad).filter(|(_, l)| l.contains("crate::cli")).collect();
    assert_eq!(hits.len(), 1);
}
