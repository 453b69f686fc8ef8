//! The `roicast` binary: see `roicast --help`.

fn main() -> std::process::ExitCode {
    let mut stdout = std::io::stdout().lock();
    let mut stderr = std::io::stderr();
    let status = roicast_engine::cli::run(std::env::args_os(), &mut stdout, &mut stderr);
    let _ = std::io::Write::flush(&mut stdout);
    status.into()
}
