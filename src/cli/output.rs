//! Where a report goes and in which form (`--format`, `--json`, `--output`, `--color`), and
//! the history it is recorded in (`--history`): the edge `check`, `merge` and `watch` share.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use mirrorproof::report::{
    Format, Html, Human, Json, Junit, LagSeries, Prometheus, Render, Report,
};
use mirrorproof::run::ProfileOutcome;

use super::{Fail, path, usage};

/// The environment variable `--history` falls back to (contract).
const HISTORY_ENV: &str = "MIRRORPROOF_HISTORY";

#[derive(Args, Clone)]
pub(crate) struct OutputArgs {
    /// How the report is written: human (a table), json (schema mirrorproof.report/1),
    /// junit (JUnit XML for CI), prometheus (metrics for node_exporter's textfile
    /// collector) or html (one self-contained page).
    #[arg(long, value_enum, default_value = "human")]
    format: FormatArg,
    /// Same as --format json.
    #[arg(long)]
    json: bool,
    /// Write the report to FILE (atomically: readers see the old report or the new one,
    /// never half of one) instead of standard output.
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Colour in the human report: auto (on a terminal, unless NO_COLOR is set), always
    /// or never.
    #[arg(long, value_enum, default_value = "auto", value_name = "WHEN")]
    color: ColorArg,
    /// Record every observation of the run in DB: an SQLite file, or a postgres:// URL
    /// that several machines may write to at once [also MIRRORPROOF_HISTORY].
    #[arg(long, value_name = "DB")]
    history: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FormatArg {
    Human,
    Json,
    Junit,
    Prometheus,
    Html,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ColorArg {
    Auto,
    Always,
    Never,
}

impl OutputArgs {
    pub(crate) fn format(&self) -> Format {
        if self.json {
            return Format::Json;
        }
        match self.format {
            FormatArg::Human => Format::Human,
            FormatArg::Json => Format::Json,
            FormatArg::Junit => Format::Junit,
            FormatArg::Prometheus => Format::Prometheus,
            FormatArg::Html => Format::Html,
        }
    }

    /// `--history`, else `MIRRORPROOF_HISTORY` (an empty value is no history).
    pub(crate) fn history(&self) -> Option<String> {
        history_or_env(self.history.clone())
    }

    /// Whether a progress bar (drawn only on a terminal) may use colour.
    pub(crate) fn bar_color(&self) -> bool {
        color(self.color, true)
    }

    /// `--json` with another `--format` says two things at once; a history that cannot be
    /// written is found here, before the run, not after it.
    pub(crate) fn validate(&self) -> Result<(), Fail> {
        if self.json && !matches!(self.format, FormatArg::Human | FormatArg::Json) {
            return Err(usage(
                "--json is --format json: give one of --json and --format",
            ));
        }
        if let Some(db) = self.history() {
            super::history::ready(&db)?;
        }
        Ok(())
    }
}

/// Records the run in the history (if any), then writes the report where and as asked.
/// A history that cannot be written does not cost the report: it is written all the same
/// (without the lag chart), and the history's error follows it.
pub(crate) fn finish(outcome: &ProfileOutcome, args: &OutputArgs) -> Result<(), Fail> {
    let format = args.format();
    let (lag, recorded) = match args.history() {
        Some(db) => match super::history::record(&db, outcome, format == Format::Html) {
            Ok(lag) => (lag, Ok(())),
            Err(e) => (None, Err(e)),
        },
        None => (None, Ok(())),
    };
    write(&outcome.report, args, lag)?;
    recorded
}

/// `history`, else `MIRRORPROOF_HISTORY` (an empty value is no history).
pub(crate) fn history_or_env(history: Option<String>) -> Option<String> {
    history
        .or_else(|| std::env::var(HISTORY_ENV).ok())
        .filter(|h| !h.is_empty())
}

/// Writes `report` to `--output` (atomically) or standard output.
pub(crate) fn write(
    report: &Report,
    args: &OutputArgs,
    lag: Option<Vec<LagSeries>>,
) -> Result<(), Fail> {
    let to_terminal = args.output.is_none() && std::io::stdout().is_terminal();
    let human = Human {
        columns: columns(),
        color: color(args.color, to_terminal),
    };
    let bytes = render(report, args.format(), human, lag)?;
    match &args.output {
        Some(file) => write_file(file, &bytes),
        None => {
            use std::io::Write as _;
            let mut out = std::io::stdout().lock();
            out.write_all(&bytes)
                .and_then(|()| out.flush())
                .map_err(|e| usage(format!("cannot write the report: {e}")))
        }
    }
}

/// The report as `format` says (`human` only for the human table), whole, in memory: the
/// one rendering `check`, `merge` and `watch` share.
pub(crate) fn render(
    report: &Report,
    format: Format,
    human: Human,
    lag: Option<Vec<LagSeries>>,
) -> Result<Vec<u8>, Fail> {
    let renderer: Box<dyn Render> = match format {
        Format::Human => Box::new(human),
        Format::Json => Box::new(Json),
        Format::Junit => Box::new(Junit),
        Format::Prometheus => Box::new(Prometheus),
        Format::Html => Box::new(Html { lag }),
    };
    let mut bytes = Vec::new();
    renderer
        .render(report, &mut bytes)
        .map_err(|e| usage(format!("cannot write the report: {e}")))?;
    if format == Format::Json {
        bytes.push(b'\n');
    }
    Ok(bytes)
}

/// Replaces `file` with `bytes` atomically: readers see the old report or the new one,
/// never half of one.
pub(crate) fn write_file(file: &Path, bytes: &[u8]) -> Result<(), Fail> {
    mirrorproof::fsutil::atomic_write(file, bytes, 0o644)
        .map_err(|e| usage(format!("cannot write {}: {e}", path(file))))
}

/// Whether the human report is coloured: `--color`, else `NO_COLOR` (any non-empty value
/// turns colour off, as no-color.org says), else whether it goes to a terminal.
pub(crate) fn color(when: ColorArg, to_terminal: bool) -> bool {
    match when {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => to_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    }
}

/// The terminal's width when the shell says it, else the report's default.
pub(crate) fn columns() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|c| *c > 0)
        .unwrap_or(mirrorproof::report::DEFAULT_COLUMNS)
}
