//! The `roicast` command line: parse, validate settings, set up logging and the thread
//! pool, run a job, map the outcome to an exit code.

use std::ffi::OsString;
use std::io::Write;

use clap::Parser as _;

use crate::args::{Cli, Command, OutputFormat};
use crate::jobs;
use crate::progress::Bars;

/// How a run ended; the process exit code is its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: success.
    Success = 0,
    /// 1: the job ran but rejected input.
    Rejected = 1,
    /// 2: the job could not run.
    Error = 2,
}

impl From<ExitStatus> for std::process::ExitCode {
    fn from(s: ExitStatus) -> Self {
        std::process::ExitCode::from(s as u8)
    }
}

/// Validated settings shared by every job (the second stage after raw flags).
#[derive(Debug)]
pub struct Settings {
    /// stdout format.
    pub format: OutputFormat,
    /// Suppress notes and progress.
    pub quiet: bool,
    /// Progress reporting.
    pub progress: Bars,
}

/// A job's outcome when it ran to the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything accepted.
    Ok,
    /// Input was rejected (exit 1).
    Rejected,
}

/// Runs `roicast` with `args` (the first is the program name), writing data to `stdout`
/// and diagnostics to `stderr`.
pub fn run(args: impl IntoIterator<Item = OsString>, stdout: &mut dyn Write, stderr: &mut dyn Write) -> ExitStatus {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version are successes printed on stdout.
            let code = if e.use_stderr() { ExitStatus::Error } else { ExitStatus::Success };
            let text = if std::env::var_os("NO_COLOR").is_some() || code == ExitStatus::Success {
                e.to_string()
            } else {
                e.render().ansi().to_string()
            };
            let out: &mut dyn Write = if code == ExitStatus::Success { stdout } else { stderr };
            let _ = out.write_all(text.as_bytes());
            return code;
        }
    };
    init_logging(cli.global.quiet, cli.global.verbose);
    if let Some(n) = cli.global.threads {
        if n == 0 {
            let _ = writeln!(stderr, "error: invalid `--threads` = 0: expected at least 1");
            return ExitStatus::Error;
        }
        // Fails only if the global pool was built already (tests running in-process).
        if rayon::ThreadPoolBuilder::new().num_threads(n).build_global().is_err() {
            tracing::debug!("thread pool already initialised; --threads ignored");
        }
    }
    let settings = Settings {
        format: cli.global.format,
        quiet: cli.global.quiet,
        progress: Bars::new(!(cli.global.quiet || cli.global.no_progress)),
    };
    let result = match cli.command {
        Command::Generate(a) => jobs::generate(&a, &settings, stdout, stderr),
        Command::Validate(a) => jobs::validate(&a, &settings, stdout, stderr),
        Command::Schema(a) => jobs::schema(&a, &settings, stdout),
        Command::Attribute(a) => crate::attribute::attribute(&a, &settings, stdout),
        Command::Train(crate::args::TrainCommand::Attribution(a)) => crate::attribute::train(&a, &settings, stdout),
        Command::Train(crate::args::TrainCommand::Sentiment(a)) => crate::sentiment::train(&a, &settings, stdout),
        Command::Eval(crate::args::EvalCommand::Sentiment(a)) => crate::sentiment::eval(&a, &settings, stdout),
        Command::Sentiment(a) => crate::sentiment::sentiment(&a, &settings, stdout),
        Command::Engagement(a) => crate::engagement::engagement(&a, &settings, stdout),
        Command::Emv(a) => crate::engagement::emv(&a, &settings, stdout),
        Command::Roi(a) => crate::roi::roi(&a, &settings, stdout),
        Command::Forecast(a) => crate::forecast::run(&a, &settings, stdout),
        Command::Run(a) => crate::pipeline::run(&a, &settings, stdout, stderr),
        Command::Report(a) => crate::report::report(&a, &settings, stdout),
        Command::Train(crate::args::TrainCommand::Forecast(a)) => crate::forecast::train(&a, &settings, stdout),
        Command::Clv(crate::args::ClvArgs { command: Some(crate::args::ClvCommand::Fit(a)), .. }) => {
            crate::clv::fit(&a, stdout)
        }
        Command::Clv(crate::args::ClvArgs { command: Some(crate::args::ClvCommand::Backtest(a)), .. }) => {
            crate::clv::backtest(&a, &settings, stdout)
        }
        Command::Clv(a) => crate::clv::run(&a, &settings, stdout),
        Command::Demo(a) => jobs::demo(&a, &settings, stdout, stderr),
    };
    settings.progress.finish();
    match result {
        Ok(Outcome::Ok) => ExitStatus::Success,
        Ok(Outcome::Rejected) => ExitStatus::Rejected,
        Err(err) => report_error(&err, stderr),
    }
}

fn report_error(err: &anyhow::Error, stderr: &mut dyn Write) -> ExitStatus {
    // A closed pipe on stdout (`roicast schema | head`) is not an error.
    if err
        .chain()
        .any(|e| e.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe))
    {
        return ExitStatus::Success;
    }
    let rejected = err
        .chain()
        .any(|e| matches!(e.downcast_ref::<roicast_data::DataError>(), Some(roicast_data::DataError::Rejected { .. })));
    let _ = writeln!(stderr, "error: {err:#}");
    if rejected {
        let _ = writeln!(stderr, "hint: run `roicast validate --data DIR` to list every rejected row");
        return ExitStatus::Rejected;
    }
    if let Some(roicast_data::DataError::Exists { .. }) =
        err.chain().find_map(|e| e.downcast_ref::<roicast_data::DataError>())
    {
        let _ = writeln!(stderr, "hint: pass --force to replace it");
    }
    ExitStatus::Error
}

fn init_logging(quiet: bool, verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_env("ROICAST_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::env::var_os("NO_COLOR").is_none() && std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
}
