//! `mirrorproof history ...`, and the history side of `--history`: the library keeps and
//! reads the history (`mirrorproof::history`); this opens it and prints. Every piece of
//! text read back from a history (names, URLs, reasons: what mirrors said) reaches the
//! terminal through `text::shown`.

use std::fmt::Write as _;

use clap::{Args, Subcommand};

use mirrorproof::history::{self, FirstSeenReport, LagReport, Store, Timeline};
use mirrorproof::report::LagSeries;
use mirrorproof::run::ProfileOutcome;
use mirrorproof::text::shown;

use super::{EXIT_OK, Fail, usage};

/// Runs an HTML report charts at most, newest first.
const CHART_RUNS: usize = 200;
/// Widest a column of names or URLs grows before it is cut (with …).
const MAX_COLUMN: usize = 60;

#[derive(Subcommand)]
pub(crate) enum HistoryCmd {
    /// For every mirror (and vantage) in the history: the version it served at the last
    /// run that observed it, and how long it took to catch up (schema mirrorproof.lag/1).
    Lag(StreamView),
    /// What one mirror served, when, and through which vantage, oldest first (schema
    /// mirrorproof.timeline/1).
    Timeline(TimelineArgs),
    /// For every version: when, and on which mirrors (and vantages), it was first seen
    /// (schema mirrorproof.first-seen/1).
    FirstSeen(StreamView),
}

#[derive(Args)]
pub(crate) struct Source {
    /// The history: an SQLite file or a postgres:// URL [also MIRRORPROOF_HISTORY].
    #[arg(long, value_name = "DB")]
    history: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub(crate) struct StreamArgs {
    /// Only this profile's runs (by the profile's name); needed when the history holds
    /// several.
    #[arg(long, value_name = "NAME")]
    profile: Option<String>,
    /// Only this channel's runs; needed when the profile was checked on several.
    #[arg(long, value_name = "NAME")]
    channel: Option<String>,
}

/// What `lag` and `first-seen` read: one profile's (and channel's) runs of a history.
#[derive(Args)]
pub(crate) struct StreamView {
    #[command(flatten)]
    source: Source,
    #[command(flatten)]
    stream: StreamArgs,
}

#[derive(Args)]
pub(crate) struct TimelineArgs {
    #[command(flatten)]
    source: Source,
    /// The mirror's URL, as the profile (or --mirror) gave it.
    #[arg(long, value_name = "URL")]
    mirror: String,
    /// Only what it served through this vantage (`direct`: this machine).
    #[arg(long, value_name = "NAME")]
    vantage: Option<String>,
    /// The newest N observations at most.
    #[arg(long, value_name = "N", default_value_t = history::DEFAULT_LIMIT)]
    limit: usize,
}

impl StreamView {
    /// The history, and the one stream of runs it is asked about.
    fn open(&self) -> Result<(Box<dyn Store>, history::Stream), Fail> {
        let mut store = self.source.open()?;
        let stream = history::select_stream(
            store.as_mut(),
            self.stream.profile.as_deref(),
            self.stream.channel.as_deref(),
        )
        .map_err(usage)?;
        Ok((store, stream))
    }
}

impl Source {
    /// Opens the history to read: one that is not there is an error, never a new one.
    fn open(&self) -> Result<Box<dyn Store>, Fail> {
        let spec = super::output::history_or_env(self.history.clone())
            .ok_or_else(|| usage("give the history with --history DB (or MIRRORPROOF_HISTORY)"))?;
        if !history::is_postgres(&spec) && std::path::Path::new(&spec).is_dir() {
            return Err(usage(format!(
                "history {}: is a directory; give the history file in it, as --history was given to check",
                shown(&spec)
            )));
        }
        history::open_existing(&spec).map_err(super::output::history_fail)
    }
}

pub(crate) fn run(cmd: HistoryCmd) -> Result<i32, Fail> {
    match cmd {
        HistoryCmd::Lag(a) => {
            let (mut store, stream) = a.open()?;
            let lag = store.lag(&stream).map_err(usage)?;
            print(a.source.json, &lag, lag_table)
        }
        HistoryCmd::Timeline(a) => {
            if a.limit == 0 {
                return Err(usage("--limit must be at least 1"));
            }
            let mut store = a.source.open()?;
            let t = store
                .timeline(&a.mirror, a.vantage.as_deref(), a.limit)
                .map_err(usage)?;
            if t.observations.is_empty() {
                let (through, hint) = match a.vantage.as_deref() {
                    Some(v) => (
                        format!(" through vantage {}", shown(v)),
                        "give a vantage that `history lag` lists for it, or leave --vantage out",
                    ),
                    None => (
                        String::new(),
                        "give the mirror's URL as `history lag` lists it",
                    ),
                };
                return Err(usage(format!(
                    "the history holds no observation of {}{through}: {hint}",
                    shown(&a.mirror)
                )));
            }
            print(a.source.json, &t, timeline_table)
        }
        HistoryCmd::FirstSeen(a) => {
            let (mut store, stream) = a.open()?;
            let f = store.first_seen(&stream).map_err(usage)?;
            print(a.source.json, &f, first_seen_table)
        }
    }
}

fn print<T: serde::Serialize>(json: bool, value: &T, table: fn(&T) -> String) -> Result<i32, Fail> {
    let text = if json {
        let mut s = mirrorproof::text::json_pretty(value)
            .map_err(|e| usage(format!("cannot write JSON: {e}")))?;
        s.push('\n');
        s
    } else {
        table(value)
    };
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| usage(format!("cannot write the output: {e}")))?;
    Ok(EXIT_OK)
}

/// Text from the history, safe for a terminal and at most `MAX_COLUMN` characters.
fn cell(s: &str) -> String {
    super::shown_within(s, MAX_COLUMN)
}

/// Rows of cells, left-aligned under a header, two spaces apart.
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut l = String::new();
        for (i, c) in cells.enumerate() {
            let w = widths.get(i).copied().unwrap_or(0);
            let _ = write!(l, "{c:<w$}  ");
        }
        let _ = writeln!(out, "{}", l.trim_end());
    };
    line(&mut header.iter().copied());
    for r in rows {
        line(&mut r.iter().map(String::as_str));
    }
    out
}

/// 7s, 5m 03s, 2h 04m, 3d 05h: a lag people read at a glance.
fn duration(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    if d > 0 {
        format!("{d}d {h:02}h")
    } else if h > 0 {
        format!("{h}h {m:02}m")
    } else if m > 0 {
        format!("{m}m {s:02}s")
    } else {
        format!("{s}s")
    }
}

fn opt_version(v: Option<u64>) -> String {
    v.map_or("-".to_owned(), |v| v.to_string())
}

fn mirror_label(url: &str, name: Option<&str>) -> String {
    match name {
        Some(n) if !n.is_empty() => cell(&format!("{n} {url}")),
        _ => cell(url),
    }
}

fn lag_table(lag: &LagReport) -> String {
    let mut out = format!(
        "{} ({}): latest version {}",
        cell(&lag.profile),
        cell(&lag.channel),
        opt_version(lag.latest_version)
    );
    if let Some(at) = &lag.latest_first_seen_at {
        let _ = write!(out, ", first seen {at}");
    }
    out.push('\n');
    let rows: Vec<Vec<String>> = lag
        .mirrors
        .iter()
        .map(|m| {
            vec![
                mirror_label(&m.url, m.name.as_deref()),
                cell(&match &m.address {
                    Some(a) => format!("{}/{a}", m.vantage),
                    None => m.vantage.clone(),
                }),
                cell(&m.country),
                opt_version(m.serving_version),
                cell(&m.status),
                match &m.first_seen_latest_at {
                    Some(_) => duration(m.lag_seconds),
                    None => format!("{} and counting", duration(m.lag_seconds)),
                },
                m.first_seen_latest_at
                    .clone()
                    .unwrap_or_else(|| "not yet".to_owned()),
            ]
        })
        .collect();
    out.push_str(&table(
        &[
            "MIRROR",
            "VANTAGE",
            "COUNTRY",
            "SERVING",
            "STATUS",
            "LAG",
            "HAS LATEST SINCE",
        ],
        &rows,
    ));
    out
}

fn timeline_table(t: &Timeline) -> String {
    let mut out = cell(&t.url);
    if let Some(v) = &t.vantage {
        let _ = write!(out, " through {}", cell(v));
    }
    if t.truncated {
        let _ = write!(
            out,
            " (the newest {} observations; --limit shows more)",
            t.observations.len()
        );
    }
    out.push('\n');
    let rows: Vec<Vec<String>> = t
        .observations
        .iter()
        .map(|o| {
            vec![
                o.checked_at.clone(),
                cell(&match &o.address {
                    Some(a) => format!("{}/{a}", o.vantage),
                    None => o.vantage.clone(),
                }),
                cell(&o.status),
                opt_version(o.version),
                cell(o.reason.as_deref().unwrap_or("")),
            ]
        })
        .collect();
    out.push_str(&table(
        &["CHECKED AT", "VANTAGE", "STATUS", "VERSION", "REASON"],
        &rows,
    ));
    out
}

fn first_seen_table(f: &FirstSeenReport) -> String {
    let mut out = format!("{} ({})\n", cell(&f.profile), cell(&f.channel));
    let rows: Vec<Vec<String>> = f
        .versions
        .iter()
        .flat_map(|v| {
            v.seen_on.iter().enumerate().map(move |(i, s)| {
                let (version, at) = if i == 0 {
                    (v.version.to_string(), v.first_seen_at.clone())
                } else {
                    (String::new(), String::new())
                };
                vec![
                    version,
                    at,
                    mirror_label(&s.url, s.name.as_deref()),
                    cell(&s.vantage),
                    cell(&s.country),
                ]
            })
        })
        .collect();
    if rows.is_empty() {
        out.push_str("no valid version observed yet\n");
        return out;
    }
    out.push_str(&table(
        &["VERSION", "FIRST SEEN", "MIRROR", "VANTAGE", "COUNTRY"],
        &rows,
    ));
    out
}

/// Records the run in `db`; returns each mirror's lag over time when `want_lag` (the HTML
/// report charts it). Called after the run returned: the PostgreSQL client runs a runtime
/// of its own, which must not start inside the run's.
pub(crate) fn record(
    db: &str,
    outcome: &ProfileOutcome,
    want_lag: bool,
) -> Result<Option<Vec<LagSeries>>, Fail> {
    super::output::history_ok(db, false)?;
    let mut store = history::open(db).map_err(super::output::history_fail)?;
    store
        .record(&history::RunRecord::from_outcome(outcome))
        .map_err(usage)?;
    if !want_lag {
        return Ok(None);
    }
    let r = &outcome.report;
    history::lag_series(store.as_mut(), &r.profile, &r.channel, CHART_RUNS)
        .map(Some)
        .map_err(usage)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_at_a_glance() {
        assert_eq!(duration(7), "7s");
        assert_eq!(duration(303), "5m 03s");
        assert_eq!(duration(2 * 3600 + 240), "2h 04m");
        assert_eq!(duration(3 * 86400 + 5 * 3600 + 59), "3d 05h");
    }

    #[test]
    fn cells_escape_and_stay_bounded() {
        assert_eq!(cell("a\u{1b}[31mb"), "a\\u{1b}[31mb");
        assert_eq!(cell(&"x".repeat(100)).chars().count(), MAX_COLUMN + 1);
    }
}
