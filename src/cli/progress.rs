//! The progress bar of long runs, on stderr, only when stderr is a terminal: the library
//! reports entries answered through [`Progress`]; this draws them with `indicatif`. Nothing
//! from outside is ever drawn (counts and our own words only), so the bar needs no `shown`.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use mirrorproof::run::Progress;

/// How often the bar is redrawn while nothing happens (a mirror that stalls): the elapsed
/// time keeps moving, so the run does not look hung.
const TICK: Duration = Duration::from_millis(200);

const PLAIN: &str = "{spinner} [{elapsed_precise}] [{bar:30}] {pos}/{len} answered{msg}";
const COLOURED: &str =
    "{spinner:.cyan} [{elapsed_precise}] [{bar:30.cyan/blue}] {pos}/{len} answered{msg}";

/// The bar of one run. Drawn from the first count on; cleared when dropped, so the report
/// that follows on a shared terminal starts on a clean line, and a run that fails leaves
/// no bar behind either.
pub(crate) struct Bar(Arc<Drawn>);

struct Drawn {
    bar: ProgressBar,
    color: bool,
}

impl Bar {
    /// A bar when stderr is a terminal, else none (pipes, files, CI logs get no progress).
    /// `color`: whether the bar may use colour (`--color`, `NO_COLOR`).
    pub(crate) fn for_stderr(color: bool) -> Option<Bar> {
        std::io::stderr().is_terminal().then(|| {
            Bar(Arc::new(Drawn {
                // Hidden until the run knows how many entries it asks: a managed tor may
                // bootstrap first, and says so on its own line.
                bar: ProgressBar::hidden(),
                color,
            }))
        })
    }

    /// The library's side of the bar.
    pub(crate) fn progress(&self) -> Arc<dyn Progress> {
        self.0.clone()
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.0.bar.finish_and_clear();
    }
}

impl Progress for Drawn {
    fn entries(&self, total: usize) {
        // The target first: a style set on a stderr bar asks whether stderr (not stdout,
        // which may be a file) takes colour.
        self.bar.set_draw_target(ProgressDrawTarget::stderr());
        let template = if self.color { COLOURED } else { PLAIN };
        // Our own constant templates: they parse, and if they did not, the bar would be
        // drawn in indicatif's default style, which is still a bar.
        if let Ok(style) = ProgressStyle::with_template(template) {
            self.bar.set_style(style.progress_chars("=> "));
        }
        self.bar.set_length(total as u64);
        self.bar.set_position(0);
        self.bar.reset_elapsed();
        self.bar.enable_steady_tick(TICK);
        self.bar.force_draw();
    }

    fn entry_done(&self) {
        self.bar.inc(1);
    }

    fn artifacts(&self, files: usize, entries: usize) {
        self.bar.set_message(format!(
            "; checking {files} {} on {entries} {}",
            if files == 1 { "artifact" } else { "artifacts" },
            if entries == 1 { "mirror" } else { "mirrors" }
        ));
        self.bar.force_draw();
    }
}
