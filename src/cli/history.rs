//! `mirrorproof history ...`, and the history side of `--history`: the library keeps and
//! reads the history (`mirrorproof::history`); this opens it and prints.

use clap::{Args, Subcommand};

use mirrorproof::report::LagSeries;
use mirrorproof::run::ProfileOutcome;

use super::{Fail, usage};

#[derive(Subcommand)]
pub(crate) enum HistoryCmd {
    /// For every mirror (and vantage) in the history: the version it served at the last
    /// run that observed it, and how long it took to catch up (schema mirrorproof.lag/1).
    Lag(LagArgs),
}

#[derive(Args)]
pub(crate) struct LagArgs {
    /// The history: an SQLite file or a postgres:// URL [also MIRRORPROOF_HISTORY].
    #[arg(long, value_name = "DB")]
    history: Option<String>,
    /// Only this profile's mirrors (by the profile's name).
    #[arg(long, value_name = "NAME")]
    profile: Option<String>,
    /// Print JSON (schema mirrorproof.lag/1).
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(cmd: HistoryCmd) -> Result<i32, Fail> {
    match cmd {
        HistoryCmd::Lag(_) => Err(usage("history is not built yet")),
    }
}

/// Records the run in `db`; returns each mirror's lag over time when `want_lag` (the HTML
/// report charts it).
pub(crate) fn record(
    _db: &str,
    _outcome: &ProfileOutcome,
    _want_lag: bool,
) -> Result<Option<Vec<LagSeries>>, Fail> {
    Err(usage("history is not built yet"))
}
