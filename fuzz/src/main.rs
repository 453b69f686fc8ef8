//! `roicast-fuzz`: write the seed corpus, or run a fuzz target on files by hand.
//!
//! ```text
//! roicast-fuzz seeds OUT_DIR        # the seed corpus (fuzz/corpus)
//! roicast-fuzz run TARGET FILE…     # replay files through a target (a finding, a corpus)
//! roicast-fuzz list                 # the targets
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("error: {e:#}");
            }
            ExitCode::from(2)
        }
    }
}

#[allow(clippy::print_stdout)]
fn run(args: &[String]) -> anyhow::Result<()> {
    match args.first().map(String::as_str) {
        Some("seeds") => {
            let out = PathBuf::from(args.get(1).ok_or_else(|| anyhow::anyhow!("usage: roicast-fuzz seeds OUT_DIR"))?);
            let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
            let work = std::env::temp_dir().join(format!("roicast-fuzz-seeds-{}", std::process::id()));
            let files = roicast_fuzz::write_seeds(&out, &repo, &work);
            let _ = std::fs::remove_dir_all(&work);
            println!("{} seeds written under {}", files?.len(), out.display());
            Ok(())
        }
        Some("run") => {
            let name = args.get(1).ok_or_else(|| anyhow::anyhow!("usage: roicast-fuzz run TARGET FILE…"))?;
            let target = roicast_fuzz::target(name).ok_or_else(|| anyhow::anyhow!("no target {name}"))?;
            let files: Vec<PathBuf> = args[2..].iter().map(PathBuf::from).collect();
            let outcomes = roicast_fuzz::replay(target, &files)?;
            for (f, o) in files.iter().zip(&outcomes) {
                match o {
                    Ok(()) => println!("{}: accepted", f.display()),
                    Err(e) => println!("{}: refused: {}", f.display(), e.lines().next().unwrap_or_default()),
                }
            }
            println!("{} input(s) through {}: no failure", files.len(), target.name);
            Ok(())
        }
        Some("list") => {
            for t in roicast_fuzz::TARGETS {
                println!("{:<12} {}", t.name, t.what);
            }
            Ok(())
        }
        _ => anyhow::bail!("usage: roicast-fuzz seeds OUT_DIR | run TARGET FILE… | list"),
    }
}
