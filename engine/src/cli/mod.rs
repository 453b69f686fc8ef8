//! The `roicast` command line: parse flags ([`args`]), turn them into each job's typed
//! `Config`, call the job ([`crate::jobs`]), print its `Summary` as text or JSON, and map
//! the outcome to an exit code — in this one place.

use std::ffi::OsString;
use std::io::Write;

use clap::Parser as _;

use crate::jobs::{Ctx, Rejected};
use crate::progress::Bars;
use args::{Cli, Command, OutputFormat};

mod alerts;
pub mod args;
mod attribute;
mod clv;
mod data;
pub mod demo;
mod engagement;
mod forecast;
mod roi;
mod run;
mod sentiment;

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

/// Validated settings shared by every command (the second stage after raw flags).
#[derive(Debug)]
pub struct Settings {
    /// stdout format.
    pub format: OutputFormat,
    /// Suppress notes and progress.
    pub quiet: bool,
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
    let settings = Settings { format: cli.global.format, quiet: cli.global.quiet };
    let bars = Bars::new(!(cli.global.quiet || cli.global.no_progress));
    let result = {
        let ctx = Ctx::new(bars, if settings.quiet { None } else { Some(&mut *stderr) });
        let result = dispatch(cli.command, &ctx, &settings, stdout);
        ctx.progress.finish();
        result
    };
    match result {
        Ok(Outcome::Ok) => ExitStatus::Success,
        Ok(Outcome::Rejected) => ExitStatus::Rejected,
        Err(err) => report_error(&err, stderr),
    }
}

fn dispatch(command: Command, ctx: &Ctx, settings: &Settings, stdout: &mut dyn Write) -> anyhow::Result<Outcome> {
    use args::{ClvArgs, ClvCommand, EvalCommand, TrainCommand};
    match command {
        Command::Generate(a) => data::generate(&a, ctx, settings, stdout),
        Command::Validate(a) => data::validate(&a, ctx, settings, stdout),
        Command::Partition(a) => data::partition(&a, ctx, settings, stdout),
        Command::Import(a) => data::import(&a, ctx, settings, stdout),
        Command::Schema(a) => data::schema(&a, settings, stdout),
        Command::Attribute(a) => attribute::attribute(&a, ctx, settings, stdout),
        Command::Train(TrainCommand::Attribution(a)) => attribute::train(&a, ctx, settings, stdout),
        Command::Train(TrainCommand::Sentiment(a)) => sentiment::train(&a, ctx, settings, stdout),
        Command::Train(TrainCommand::Forecast(a)) => forecast::train(&a, ctx, settings, stdout),
        Command::Eval(EvalCommand::Sentiment(a)) => sentiment::eval(&a, ctx, settings, stdout),
        Command::Eval(EvalCommand::Forecast(a)) => forecast::backtest(&a, ctx, settings, stdout),
        Command::History(a) => run::history(&a, ctx, settings, stdout),
        Command::Sentiment(a) => sentiment::sentiment(&a, ctx, settings, stdout),
        Command::Engagement(a) => engagement::engagement(&a, ctx, settings, stdout),
        Command::Emv(a) => engagement::emv(&a, ctx, settings, stdout),
        Command::Roi(a) => roi::roi(&a, ctx, settings, stdout),
        Command::Alerts(a) => alerts::alerts(&a, ctx, settings, stdout),
        Command::Forecast(a) => forecast::forecast(&a, ctx, settings, stdout),
        Command::Run(a) => run::run(&a, ctx, settings, stdout),
        Command::Report(a) => run::report(&a, ctx, settings, stdout),
        Command::Clv(ClvArgs { command: Some(ClvCommand::Fit(a)), .. }) => clv::fit(&a, settings, stdout),
        Command::Clv(ClvArgs { command: Some(ClvCommand::Rfm(a)), .. }) => clv::rfm(&a, ctx, settings, stdout),
        Command::Clv(ClvArgs { command: Some(ClvCommand::Backtest(a)), .. }) => {
            clv::backtest(&a, ctx, settings, stdout)
        }
        Command::Clv(a) => clv::clv(&a, ctx, settings, stdout),
        Command::Demo(a) => demo::demo(&a, ctx, settings, stdout),
    }
}

/// A creator as a person reads it: `@handle (platform)`, the id where no handle is known.
fn display_name(handle: Option<&str>, platform: &str, id: &str) -> String {
    match handle.filter(|h| !h.is_empty()) {
        Some(h) => format!("@{} ({platform})", h.trim_start_matches('@')),
        None => id.to_owned(),
    }
}

/// Writes `value` as one pretty JSON document and a newline.
fn json(stdout: &mut dyn Write, value: &impl serde::Serialize) -> anyhow::Result<()> {
    serde_json::to_writer_pretty(&mut *stdout, value)?;
    writeln!(stdout)?;
    Ok(())
}

fn report_error(err: &anyhow::Error, stderr: &mut dyn Write) -> ExitStatus {
    // A closed pipe on stdout (`roicast schema | head`) is not an error.
    if err
        .chain()
        .any(|e| e.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe))
    {
        return ExitStatus::Success;
    }
    let _ = writeln!(stderr, "error: {err:#}");
    if let Some(r) = err.chain().find_map(|e| e.downcast_ref::<Rejected>()) {
        for reject in r.rejects.iter().skip(1).take(9) {
            let _ = writeln!(stderr, "  also: {reject}");
        }
        match &r.details {
            Some(p) => {
                let _ = writeln!(stderr, "note: {} reject(s) in all, every one listed in {}", r.n_rejects, p.display());
            }
            None if r.n_rejects > 1 => {
                let _ = writeln!(stderr, "note: {} reject(s) in all", r.n_rejects);
            }
            None => {}
        }
        return ExitStatus::Rejected;
    }
    // Rejected rows, and an invalid value or malformed line in an input file, are the
    // input's fault: exit 1.
    if crate::jobs::is_rejection(err) {
        let table_rows = err.chain().any(|e| {
            matches!(e.downcast_ref::<roicast_data::DataError>(), Some(roicast_data::DataError::Rejected { .. }))
        });
        if table_rows {
            let _ = writeln!(stderr, "hint: run `roicast validate --data DIR` to list every rejected row");
        }
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
