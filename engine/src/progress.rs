//! Progress bars on stderr (indicatif), hidden under `-q`, `--no-progress`, or when
//! stderr is not a terminal.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use roicast_data::validate::Progress;

/// A [`Progress`] drawn with indicatif, one bar per stage.
#[derive(Debug)]
pub struct Bars {
    enabled: bool,
    current: Mutex<Option<ProgressBar>>,
}

impl Bars {
    /// Bars that draw only when `wanted` and stderr is a terminal.
    #[must_use]
    pub fn new(wanted: bool) -> Bars {
        Bars { enabled: wanted && std::io::stderr().is_terminal(), current: Mutex::new(None) }
    }

    /// Clears the current bar.
    pub fn finish(&self) {
        if let Some(bar) = self.current.lock().expect("progress lock").take() {
            bar.finish_and_clear();
        }
    }
}

impl Progress for Bars {
    fn stage(&self, name: &str, total: u64) {
        // `-v` logs each stage as it starts (with the log's timestamps: where time goes).
        tracing::info!("stage: {name}");
        let mut current = self.current.lock().expect("progress lock");
        if let Some(bar) = current.take() {
            bar.finish_and_clear();
        }
        if !self.enabled {
            return;
        }
        let bar = if total > 0 {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{msg:40} [{bar:30}] {human_pos}/{human_len} ({per_sec}, eta {eta})")
                    .expect("valid template")
                    .progress_chars("=> "),
            );
            bar
        } else {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(ProgressStyle::with_template("{spinner} {msg} ({elapsed})").expect("valid template"));
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        };
        bar.set_message(name.to_owned());
        *current = Some(bar);
    }

    fn advance(&self, n: u64) {
        if let Some(bar) = self.current.lock().expect("progress lock").as_ref() {
            bar.inc(n);
        }
    }
}
