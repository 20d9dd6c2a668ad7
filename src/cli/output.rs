//! Where a report goes and in which form (`--format`, `--json`, `--output`, `--color`), and
//! the history it is recorded in (`--history`): the edge `check`, `merge` and `watch` share.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use mirrorproof::history;
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
    #[arg(long, value_enum, ignore_case = true, default_value = "human")]
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
    #[arg(
        long,
        value_enum,
        ignore_case = true,
        default_value = "auto",
        value_name = "WHEN"
    )]
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

    /// What can be known wrong before a run is refused before it, so that a user does not
    /// wait for every mirror to answer to learn of a typo: `--json` with another
    /// `--format` (two things at once), an HTML page bound for a terminal (a screenful
    /// of markup, not a report), an `--output` whose directory is missing, and a
    /// `--history` that cannot be recorded into (if recording still fails after the run,
    /// the report is written first: `finish`).
    pub(crate) fn validate(&self) -> Result<(), Fail> {
        if self.json && !matches!(self.format, FormatArg::Human | FormatArg::Json) {
            return Err(usage(
                "--json is --format json: give one of --json and --format",
            ));
        }
        match &self.output {
            Some(file) => output_file_ok("--output", file)?,
            None if self.format() == Format::Html && std::io::stdout().is_terminal() => {
                return Err(usage(
                    "--format html writes a whole page, not for a terminal: add --output report.html (or redirect standard output to a file)",
                ));
            }
            None => {}
        }
        if let Some(db) = self.history() {
            history_ok(&db, true)?;
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

/// Refuses an output file that could never be written: its directory is missing (or is a
/// file), or it is itself a directory. Checked before a run, because the rename that makes
/// the write atomic needs the directory, and a missing one would otherwise be found only
/// once every mirror had answered (or, in `watch`, after every run, for hours).
pub(crate) fn output_file_ok(option: &str, file: &Path) -> Result<(), Fail> {
    let dir = match file.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.exists() {
        return Err(usage(format!(
            "{option} {}: {} is not a directory (it does not exist); create it first (mkdir -p {})",
            path(file),
            path(dir),
            path(dir)
        )));
    }
    if !dir.is_dir() {
        return Err(usage(format!(
            "{option} {}: {} is not a directory; give a file in an existing directory",
            path(file),
            path(dir)
        )));
    }
    if file.is_dir() {
        return Err(usage(format!(
            "{option} {}: is a directory; give a file name, for example {}",
            path(file),
            path(&file.join("report"))
        )));
    }
    Ok(())
}

/// Refuses a `--history` that recording would refuse, with what to do about it: a
/// directory, a file in a missing directory, an existing file that is not a history, and
/// (with `open`) a PostgreSQL server that cannot be reached or refuses the login. Nothing
/// is created here: a missing SQLite file is created when a run is recorded. `watch`
/// calls it at start with `open = false`, since a PostgreSQL outage then may be passing
/// and every run reports it anyway.
pub(crate) fn history_ok(db: &str, open: bool) -> Result<(), Fail> {
    if history::is_postgres(db) {
        if open {
            history::open(db).map_err(history_fail)?;
        }
        return Ok(());
    }
    let file = Path::new(db);
    if file.is_dir() {
        return Err(usage(format!(
            "history {}: is a directory; give a file in it, for example {}",
            path(file),
            path(&file.join("history.sqlite"))
        )));
    }
    if file.exists() {
        history::open_existing(db).map(drop).or_else(|e| match e {
            // An empty file becomes a history, and an older one is brought up to date,
            // when the run is recorded.
            history::HistoryError::Empty(_) | history::HistoryError::Older { .. } => Ok(()),
            e @ (history::HistoryError::NotADatabase(_) | history::HistoryError::Foreign(_)) => {
                Err(usage(format!(
                    "{e}: give another file (a new one is created), or move this one away"
                )))
            }
            e => Err(history_fail(e)),
        })?;
        return Ok(());
    }
    let dir = match file.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(usage(format!(
            "history {}: the directory {} does not exist; create it first (mkdir -p {})",
            path(file),
            path(dir),
            path(dir)
        )));
    }
    Ok(())
}

/// A history error as a usage error, with a hint where the library's message says what is
/// wrong but not what to do.
pub(crate) fn history_fail(e: history::HistoryError) -> Fail {
    match &e {
        history::HistoryError::Postgres { reason, .. }
            if reason.contains("Connection refused") || reason.contains("error connecting") =>
        {
            usage(format!(
                "{e}: is PostgreSQL running and listening at that host and port?"
            ))
        }
        _ => usage(e),
    }
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
