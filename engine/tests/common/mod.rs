//! The one helper every CLI end-to-end test uses: run the built `roicast` binary with a
//! clean environment (no colour, no format or thread overrides) and collect what it said.

#![allow(dead_code)] // each test binary uses its own subset

use std::path::Path;
use std::process::Command;

/// How a run of the binary ended.
#[derive(Debug)]
pub struct Run {
    /// The exit code (-1 when killed by a signal).
    pub code: i32,
    /// stdout as text.
    pub stdout: String,
    /// stderr as text.
    pub stderr: String,
}

/// Runs `roicast args…` in `cwd`.
pub fn roicast_in(args: &[&str], cwd: &Path) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_roicast"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .env_remove("ROICAST_FORMAT")
        .env_remove("ROICAST_THREADS")
        .env_remove("ROICAST_LOG")
        .output()
        .expect("the binary runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs `roicast args…` in the current folder; returns (exit code, stdout, stderr).
pub fn roicast(args: &[&str]) -> (i32, String, String) {
    let r = roicast_in(args, Path::new("."));
    (r.code, r.stdout, r.stderr)
}
