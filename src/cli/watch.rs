//! `mirrorproof watch PROFILE --every 10m`: `check` on a schedule, for monitoring. Each run
//! is recorded in the history (`--history`) and rewrites the outputs it was given
//! (`--prometheus`, `--html`, `--junit`, `--json`) atomically; one line per run goes to
//! stderr. docs/WATCH.md has the service unit and what happens on failures and signals.
//!
//! What stops the watch and what does not:
//! - the configuration (arguments, the profile, its pinned root or key, the output
//!   directories) is checked once, before the first run: an error there is exit 2 at once;
//! - a run that fails afterwards (a root that expired, a tor that cannot bootstrap, a
//!   history that cannot be written) is reported, and the next run comes as planned;
//! - SIGTERM or SIGINT ends it with exit 0: at once while it sleeps; during a run, the run
//!   is given up at its next await point (nothing recorded, no output written). Outputs
//!   are written under [`WRITING`], which the signal side takes before it ever exits the
//!   process, so no signal cuts a write in half.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use clap::Args;

use mirrorproof::fetch::ArtifactMode;
use mirrorproof::profile::Profile;
use mirrorproof::report::{DEFAULT_COLUMNS, Format, Human, Report, Status};
use mirrorproof::run::{ProfileOutcome, RunHooks, Stop};

use super::check::ArtifactsArg;
use super::output::{self, ColorArg};
use super::progress::Bar;
use super::run::{self, RunArgs};
use super::{EXIT_OK, Fail, line, path, unrecorded_message, usage};

/// The longest interval accepted: beyond it a typo (`--every 10000h`) is likelier than a
/// wish, and every instant the schedule computes stays far from overflowing.
const MAX_INTERVAL: Duration = Duration::from_secs(366 * 24 * 3600);

/// How long after a stop is asked the process exits even if the run has not given up
/// (a tor still bootstrapping, a read stuck in the kernel): within systemd's default
/// stop timeout (90 s), and longer than a stopped run takes to drop its tasks (5 s).
const FORCE_AFTER: Duration = Duration::from_secs(20);

/// Held while a run's results are written (history, outputs); the signal side takes it
/// before it exits the process, so an exit never lands in the middle of a write.
static WRITING: Mutex<()> = Mutex::new(());

// No doc comment here: the variant's in `Command` is the command's help.
#[derive(Args)]
pub(crate) struct WatchArgs {
    /// Profile (TOML) naming the pinned root or key, the channel and the mirrors.
    profile: PathBuf,
    /// Time from the start of one run to the start of the next: 30s, 10m, 1h, 1h30m, 1d
    /// (a run that takes longer is followed by the next at once; runs never overlap).
    #[arg(long, value_name = "INTERVAL", value_parser = parse_interval)]
    every: Duration,
    #[command(flatten)]
    run: RunArgs,
    /// How artifacts are checked: none, size (lengths only) or full (every byte hashed).
    #[arg(long, value_enum, default_value = "full")]
    artifacts: ArtifactsArg,
    /// Record every run in DB: an SQLite file, or a postgres:// URL that several machines
    /// may write to at once [also MIRRORPROOF_HISTORY].
    #[arg(long, value_name = "DB")]
    history: Option<String>,
    /// After each run, replace FILE with the Prometheus metrics (for node_exporter's
    /// textfile collector), atomically.
    #[arg(long, value_name = "FILE")]
    prometheus: Option<PathBuf>,
    /// After each run, replace FILE with the HTML report (with --history, each mirror's
    /// lag over time), atomically.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// After each run, replace FILE with the JUnit XML report, atomically.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// After each run, replace FILE with the JSON report (schema mirrorproof.report/1),
    /// atomically.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Colour in the progress bar (drawn on stderr when it is a terminal): auto (unless
    /// NO_COLOR is set), always or never.
    #[arg(long, value_enum, default_value = "auto", value_name = "WHEN")]
    color: ColorArg,
}

/// `30s`, `10m`, `1h`, `1h30m`, `2d`: numbers each with a unit, largest unit first, each
/// unit once. A bare number, zero, a negative or anything else is refused (exit 2).
pub(crate) fn parse_interval(s: &str) -> Result<Duration, String> {
    const UNITS: [(char, u64); 4] = [('d', 86_400), ('h', 3_600), ('m', 60), ('s', 1)];
    let bad = || {
        format!("{s:?} is not an interval: give a number with a unit, as in 30s, 10m, 1h or 1h30m")
    };
    let mut total: u64 = 0;
    let mut rest = s.trim();
    // Index into UNITS of the next unit allowed: each unit once, largest first.
    let mut next_unit = 0;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 || digits > 12 {
            return Err(bad());
        }
        let (number, after) = rest.split_at(digits);
        let n: u64 = number.parse().map_err(|_| bad())?;
        let unit = after.chars().next().ok_or_else(bad)?;
        let at = UNITS
            .iter()
            .position(|(u, _)| *u == unit)
            .filter(|at| *at >= next_unit)
            .ok_or_else(bad)?;
        next_unit = at + 1;
        total = n
            .checked_mul(UNITS[at].1)
            .and_then(|secs| total.checked_add(secs))
            .ok_or_else(bad)?;
        rest = &after[unit.len_utf8()..];
    }
    let every = Duration::from_secs(total);
    if every.is_zero() {
        return Err(format!("{s:?}: the interval must be longer than zero"));
    }
    if every > MAX_INTERVAL {
        return Err(format!("{s:?}: the interval must be at most 366 days"));
    }
    Ok(every)
}

/// `1h30m`, `45s`, `2d3h`: the interval the way `--every` takes it, in whole seconds
/// rounded up (a wait of 0.7 s is not "0s").
fn interval_words(d: Duration) -> String {
    let mut secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    let mut out = String::new();
    for (unit, size) in [('d', 86_400), ('h', 3_600), ('m', 60), ('s', 1)] {
        if secs >= size {
            out.push_str(&format!("{}{unit}", secs / size));
            secs %= size;
        }
    }
    if out.is_empty() {
        out.push_str("0s");
    }
    out
}

/// The outputs of one watch, each rewritten after every run.
struct Outputs {
    files: Vec<(Format, PathBuf)>,
    history: Option<String>,
}

impl Outputs {
    fn from_args(args: &WatchArgs) -> Result<Outputs, Fail> {
        let mut files: Vec<(Format, PathBuf)> = Vec::new();
        for (format, file, option) in [
            (Format::Prometheus, &args.prometheus, "--prometheus"),
            (Format::Html, &args.html, "--html"),
            (Format::Junit, &args.junit, "--junit"),
            (Format::Json, &args.json, "--json"),
        ] {
            let Some(file) = file else { continue };
            if let Some((_, same)) = files.iter().find(|(_, f)| f == file) {
                return Err(usage(format!(
                    "{option} {}: {} is written by another option too; give each output its own file",
                    path(file),
                    path(same)
                )));
            }
            // Checked now: a directory that is missing would fail every run, quietly
            // for hours, where exit 2 says it at once.
            output::output_file_ok(option, file)?;
            files.push((format, file.clone()));
        }
        let history = output::history_or_env(args.history.clone());
        // A history that every run would fail to record into (a directory, a file that
        // is not a history) is a configuration error, said once at start.
        if let Some(db) = &history {
            output::history_ok(db, false)?;
        }
        Ok(Outputs { files, history })
    }

    /// Records the run and rewrites every output; each failure is one message, and the
    /// others are still written.
    fn write(&self, outcome: &ProfileOutcome) -> Vec<String> {
        let mut failed = Vec::new();
        let _writing = WRITING.lock().unwrap_or_else(|p| p.into_inner());
        let want_lag = self.files.iter().any(|(f, _)| *f == Format::Html);
        let lag = match &self.history {
            Some(db) => match super::history::record(db, outcome, want_lag) {
                Ok(lag) => lag,
                Err(Fail(_, why)) => {
                    failed.push(format!("history: {why}"));
                    None
                }
            },
            None => None,
        };
        for (format, file) in &self.files {
            let lag = if *format == Format::Html {
                lag.clone()
            } else {
                None
            };
            // The human table is never one of watch's outputs; its settings are inert.
            let human = Human {
                columns: DEFAULT_COLUMNS,
                color: false,
            };
            let written = output::render(&outcome.report, *format, human, lag)
                .and_then(|bytes| output::write_file(file, &bytes));
            if let Err(Fail(_, why)) = written {
                failed.push(why);
            }
        }
        failed
    }
}

pub(crate) fn run(args: WatchArgs) -> Result<i32, Fail> {
    let outputs = Outputs::from_args(&args)?;
    let mode = ArtifactMode::from(args.artifacts);
    let profile = Profile::load(&args.profile).map_err(usage)?;
    // The configuration, once, before anything runs: what fails here fails every run.
    drop(run::prepare(
        &profile,
        &args.run,
        mode,
        RunHooks::default(),
    )?);
    let stop = Stop::new();
    signals::install(stop.clone())?;
    eprintln!(
        "mirrorproof watch: checking {} every {}; SIGTERM or SIGINT stops",
        line(&profile.name),
        interval_words(args.every)
    );
    let bar_color = output::color(args.color, true);
    let mut runs: u64 = 0;
    loop {
        let started = Instant::now();
        runs += 1;
        let bar = Bar::for_stderr(bar_color);
        let hooks = RunHooks {
            progress: bar.as_ref().map(Bar::progress),
            stop: Some(stop.clone()),
        };
        let ran = run::prepare(&profile, &args.run, mode, hooks)
            .and_then(|r| r.run(None, outputs.history.is_some()));
        drop(bar);
        if stop.is_stopped() && ran.is_err() {
            // Given up on the way: nothing of it is written.
            eprintln!("mirrorproof watch: run {runs} stopped before it was over");
            // The closing line counts the runs that were written, not the one given up.
            runs -= 1;
            break;
        }
        let next = started + args.every;
        let wait = next.saturating_duration_since(Instant::now());
        match ran {
            Err(Fail(_, why)) => eprintln!(
                "mirrorproof watch: run {runs} failed: {}; next run in {}",
                line(&why),
                interval_words(wait)
            ),
            Ok((outcome, unrecorded)) => {
                let failed = outputs.write(&outcome);
                eprintln!(
                    "mirrorproof watch: run {runs}: {}; took {:.1} s; next run in {}",
                    line(&summary(&outcome.report)),
                    started.elapsed().as_secs_f64(),
                    interval_words(wait)
                );
                for why in failed {
                    eprintln!("mirrorproof watch: run {runs}: {}", line(&why));
                }
                if let Some(why) = unrecorded {
                    let msg = unrecorded_message(&why, "the run's outputs are");
                    eprintln!("mirrorproof watch: run {runs}: {}", line(&msg));
                }
            }
        }
        if stop.is_stopped() || stop.wait_timeout(wait) {
            break;
        }
    }
    eprintln!(
        "mirrorproof watch: stopped after {runs} {}",
        if runs == 1 { "run" } else { "runs" }
    );
    Ok(EXIT_OK)
}

/// One run in a few words: the verdict, how many entries are ok, the other statuses.
fn summary(report: &Report) -> String {
    let total = report.mirrors.len();
    let ok = report
        .mirrors
        .iter()
        .filter(|m| m.status == Status::Ok)
        .count();
    let mut others: std::collections::BTreeMap<Status, usize> = Default::default();
    for m in report.mirrors.iter().filter(|m| m.status != Status::Ok) {
        *others.entry(m.status).or_default() += 1;
    }
    let what = if report.vantages.is_empty() {
        "mirrors"
    } else {
        "checks"
    };
    let mut s = format!(
        "{}, {ok} of {total} {what} ok",
        if report.ok { "ok" } else { "PROBLEM" }
    );
    if !others.is_empty() {
        let list: Vec<String> = others
            .iter()
            .map(|(st, n)| format!("{} {n}", st.as_str()))
            .collect();
        s.push_str(&format!(" ({})", list.join(", ")));
    }
    if let Some(l) = &report.latest {
        s.push_str(&format!(", latest {}", l.version));
    }
    s.push_str(if report.independent {
        ", independent"
    } else {
        ", NOT independent"
    });
    s
}

/// SIGTERM and SIGINT become a [`Stop`]; a second one, or a run that has not given up
/// within [`FORCE_AFTER`], exits the process, though never in the middle of a write.
mod signals {
    use super::{FORCE_AFTER, Fail, Stop, WRITING, usage};

    pub(super) fn install(stop: Stop) -> Result<(), Fail> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| usage(format!("cannot watch for signals: {e}")))?;
        // Registered here, before the first run: from now on a signal is ours to handle.
        let mut signals = {
            let _in = rt.enter();
            Signals::new().map_err(|e| usage(format!("cannot watch for signals: {e}")))?
        };
        std::thread::Builder::new()
            .name("mirrorproof-signals".into())
            .spawn(move || {
                rt.block_on(async {
                    let name = signals.recv().await;
                    eprintln!("mirrorproof watch: {name}: stopping");
                    stop.stop();
                    tokio::select! {
                        name = signals.recv() => eprintln!("mirrorproof watch: {name} again: exiting now"),
                        () = tokio::time::sleep(FORCE_AFTER) => eprintln!(
                            "mirrorproof watch: the run did not stop within {} s: exiting now",
                            FORCE_AFTER.as_secs()
                        ),
                    }
                    // Whatever is being written is finished first.
                    let _writing = WRITING.lock().unwrap_or_else(|p| p.into_inner());
                    std::process::exit(super::EXIT_OK);
                })
            })
            .map_err(|e| usage(format!("cannot watch for signals: {e}")))?;
        Ok(())
    }

    #[cfg(unix)]
    struct Signals {
        term: tokio::signal::unix::Signal,
        int: tokio::signal::unix::Signal,
    }

    #[cfg(unix)]
    impl Signals {
        fn new() -> std::io::Result<Signals> {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Signals {
                term: signal(SignalKind::terminate())?,
                int: signal(SignalKind::interrupt())?,
            })
        }

        /// The next signal, by name.
        async fn recv(&mut self) -> &'static str {
            tokio::select! {
                _ = self.term.recv() => "SIGTERM",
                _ = self.int.recv() => "SIGINT",
            }
        }
    }

    #[cfg(not(unix))]
    struct Signals;

    #[cfg(not(unix))]
    impl Signals {
        fn new() -> std::io::Result<Signals> {
            Ok(Signals)
        }

        async fn recv(&mut self) -> &'static str {
            let _ = tokio::signal::ctrl_c().await;
            "Ctrl-C"
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn intervals_read_as_written() {
        for (text, secs) in [
            ("30s", 30),
            ("10m", 600),
            ("1h", 3600),
            ("1h30m", 5400),
            ("1d2h3m4s", 93_784),
            ("90s", 90),
            (" 5m ", 300),
        ] {
            assert_eq!(
                parse_interval(text),
                Ok(Duration::from_secs(secs)),
                "{text}"
            );
        }
        for bad in [
            "",
            "0",
            "0s",
            "0h0m",
            "10",
            "abc",
            "1x",
            "-5m",
            "5 m",
            "1m1h",
            "1h1h",
            "1.5h",
            "10m junk",
            "m",
            "366d1s",
            "9999999999999s",
        ] {
            assert!(parse_interval(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_interval("366d"), Ok(MAX_INTERVAL));
    }

    #[test]
    fn intervals_are_said_the_way_they_are_given() {
        assert_eq!(interval_words(Duration::from_secs(5400)), "1h30m");
        assert_eq!(interval_words(Duration::from_millis(900)), "1s");
        assert_eq!(interval_words(Duration::ZERO), "0s");
        assert_eq!(interval_words(Duration::from_secs(93_784)), "1d2h3m4s");
    }
}
