//! The history (`--history DB`): every observation of every run, kept in SQLite (one file,
//! no server) or PostgreSQL (a team's machines writing to one history at once), and the
//! views auditors read from it: each mirror's lag ([`Store::lag`], schema
//! `mirrorproof.lag/1`), a mirror's timeline, when each version was first seen.
//!
//! Both stores run the same SQL ([`sql`]): one schema, the same numbered migrations, the same
//! queries; only what the dialects force differs (an identity column, a blob type, how a
//! writer takes its lock). Aggregation happens in SQL, so no view loads whole documents or
//! the whole history into memory.
//!
//! A history is never rewritten in place by a build that does not understand it: a file
//! that is not an SQLite database, or a history whose schema is newer than this build knows,
//! is refused before anything is written to it.

mod postgres;
mod sql;
mod sqlite;

use std::collections::BTreeMap;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::report::{LagSeries, Report};
use crate::run::documents::Documents;
use crate::run::{Latest, ProfileOutcome};

/// The schema version this build writes and reads (the highest migration it knows).
pub const SCHEMA_VERSION: i64 = sql::MIGRATIONS.len() as i64;
/// JSON schema of [`LagReport`].
pub const LAG_SCHEMA: &str = "mirrorproof.lag/1";
/// JSON schema of [`Timeline`].
pub const TIMELINE_SCHEMA: &str = "mirrorproof.timeline/1";
/// JSON schema of [`FirstSeenReport`].
pub const FIRST_SEEN_SCHEMA: &str = "mirrorproof.first-seen/1";
/// What a view returns at most (timeline rows, chart runs) unless asked for fewer: a
/// mirror checked every ten minutes for a year is 52,560 rows, more than a table is read.
pub const DEFAULT_LIMIT: usize = 1000;

#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("history {0}: no such file (record a run with check --history first)")]
    Missing(String),
    #[error(
        "history {0}: no mirrorproof history there yet (record a run with check --history first)"
    )]
    Empty(String),
    #[error("history {0}: not an SQLite database; it was left as it is")]
    NotADatabase(String),
    #[error("history {0}: an SQLite database, but not a mirrorproof history; it was left as it is")]
    Foreign(String),
    #[error(
        "history {what}: schema version {found} is newer than this mirrorproof knows ({known}); it was left as it is: use a newer mirrorproof"
    )]
    Newer {
        what: String,
        found: i64,
        known: i64,
    },
    #[error(
        "history {what}: schema version {found} is older than this mirrorproof reads ({known}); record one run with check --history to upgrade it"
    )]
    Older {
        what: String,
        found: i64,
        known: i64,
    },
    #[error("history {what}: {reason}")]
    Sqlite { what: String, reason: String },
    #[error("history {what}: {reason}")]
    Postgres { what: String, reason: String },
    #[error("history: {0}")]
    Value(String),
    #[error("{0}")]
    Select(String),
}

/// Which store a history is kept in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A history store: SQLite or PostgreSQL, the same schema and queries behind both.
pub trait Store: Send {
    fn backend(&self) -> Backend;
    /// Records one run, all of it or nothing (one transaction); returns the run's id.
    fn record(&mut self, run: &RunRecord<'_>) -> Result<i64, HistoryError>;
    /// The (profile, channel) streams in the history, with their run counts.
    fn streams(&mut self) -> Result<Vec<StreamInfo>, HistoryError>;
    /// Each mirror's lag in one stream (see [`LagReport`]).
    fn lag(&mut self, stream: &Stream) -> Result<LagReport, HistoryError>;
    /// What `url` served, oldest first: the `limit` newest observations (through `vantage`
    /// only, when given).
    fn timeline(
        &mut self,
        url: &str,
        vantage: Option<&str>,
        limit: usize,
    ) -> Result<Timeline, HistoryError>;
    /// For every valid version of a stream: when and where it was first seen.
    fn first_seen(&mut self, stream: &Stream) -> Result<FirstSeenReport, HistoryError>;
    /// Each mirror's lag at each of the stream's `max_runs` newest runs, for charts.
    fn lag_series(
        &mut self,
        stream: &Stream,
        max_runs: usize,
    ) -> Result<Vec<LagSeries>, HistoryError>;
    /// Rows per table, for checks and benchmarks.
    fn counts(&mut self) -> Result<Counts, HistoryError>;
}

/// A profile's channel: versions are compared within one only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stream {
    pub profile: String,
    pub channel: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StreamInfo {
    pub profile: String,
    pub channel: String,
    pub runs: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub runs: i64,
    pub observations: i64,
    pub documents: i64,
    pub served: i64,
}

/// `mirrorproof.lag/1` (`../shared/design/CLI.md`, "Report formats and history").
#[derive(Debug, Clone, Serialize)]
pub struct LagReport {
    pub schema: &'static str,
    pub profile: String,
    /// Extension: the channel the versions belong to.
    pub channel: String,
    /// The highest valid version ever observed for the stream (`None`: none yet).
    pub latest_version: Option<u64>,
    /// Extension: when `latest_version` was first observed on any mirror.
    pub latest_first_seen_at: Option<String>,
    pub mirrors: Vec<MirrorLag>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MirrorLag {
    pub url: String,
    pub name: Option<String>,
    pub country: String,
    pub vantage: String,
    /// Extension: with `--each-address`, the address this entry was checked at.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// The valid version served at the last run that observed this mirror.
    pub serving_version: Option<u64>,
    /// Extension: the status at that run.
    pub status: String,
    /// Serving the latest: from its first observation anywhere to its first observation
    /// here. Not yet: from its first observation anywhere to this mirror's last
    /// observation (0 when that came first).
    pub lag_seconds: u64,
    /// When this mirror was first observed serving the latest; `None` while it does not.
    pub first_seen_latest_at: Option<String>,
    /// Extension: this mirror's last observation.
    pub last_seen_at: String,
}

/// `mirrorproof.timeline/1`: one mirror, oldest first.
#[derive(Debug, Clone, Serialize)]
pub struct Timeline {
    pub schema: &'static str,
    pub url: String,
    pub vantage: Option<String>,
    /// True when older observations exist than these (the limit was reached).
    pub truncated: bool,
    pub observations: Vec<TimelineEntry>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TimelineEntry {
    pub checked_at: String,
    pub profile: String,
    pub channel: String,
    pub vantage: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    pub name: Option<String>,
    pub country: String,
    pub status: String,
    pub version: Option<u64>,
    pub payload_sha256: Option<String>,
    pub elapsed_ms: u64,
    pub reason: Option<String>,
    /// The mirrorproof version that recorded the run.
    pub software: String,
}

/// `mirrorproof.first-seen/1`.
#[derive(Debug, Clone, Serialize)]
pub struct FirstSeenReport {
    pub schema: &'static str,
    pub profile: String,
    pub channel: String,
    /// Oldest version first.
    pub versions: Vec<FirstSeen>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FirstSeen {
    pub version: u64,
    pub first_seen_at: String,
    /// Every mirror (and vantage) that served it in the run that first saw it.
    pub seen_on: Vec<SeenOn>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SeenOn {
    pub url: String,
    pub name: Option<String>,
    pub country: String,
    pub vantage: String,
}

/// One run, as recorded: the report, the pinned trust it was judged by, and the documents
/// the mirrors served (when the run kept them).
#[derive(Debug, Clone)]
pub struct RunRecord<'a> {
    pub report: &'a Report,
    /// SHA-256 (hex) of the pinned trust: the pinned root's signed payload (native), the
    /// pinned root file (TUF), the pinned key(s) (signed files).
    pub pinned_digest: String,
    pub documents: Option<&'a Documents>,
    /// The mirrorproof version recording it.
    pub software: &'static str,
}

impl<'a> RunRecord<'a> {
    /// What a finished run records.
    pub fn from_outcome(outcome: &'a ProfileOutcome) -> RunRecord<'a> {
        RunRecord {
            report: &outcome.report,
            pinned_digest: pinned_digest(outcome),
            documents: outcome.documents.as_ref(),
            software: env!("CARGO_PKG_VERSION"),
        }
    }

    /// A report alone, pinned to `pinned_digest` (tests and tools that build reports).
    pub fn from_report(report: &'a Report, pinned_digest: &str) -> RunRecord<'a> {
        RunRecord {
            report,
            pinned_digest: pinned_digest.to_owned(),
            documents: None,
            software: env!("CARGO_PKG_VERSION"),
        }
    }
}

/// SHA-256 (hex) of the trust a run was pinned to, whatever the scheme: two runs with the
/// same digest judged mirrors by the same keys.
pub fn pinned_digest(outcome: &ProfileOutcome) -> String {
    match &outcome.latest {
        Latest::Native(l) => match l.pinned.payload_bytes() {
            Ok(p) => hex::encode(Sha256::digest(&p)),
            Err(_) => outcome
                .report
                .root
                .as_ref()
                .map(|r| r.payload_sha256.clone())
                .unwrap_or_default(),
        },
        Latest::Tuf(l) => hex::encode(Sha256::digest(&l.pinned[..])),
        Latest::Files { pinned, .. } => {
            use crate::schemes::pinned::Pinned;
            // Every key and what restricts it, in a fixed textual form.
            let text = match &**pinned {
                Pinned::Signify(k) => {
                    format!("signify {} {}", hex::encode(k.keynum), k.key.to_hex())
                }
                Pinned::Minisign(k) => {
                    format!("minisign {} {}", hex::encode(k.key_id), k.key.to_hex())
                }
                Pinned::Sshsig {
                    signers,
                    identity,
                    namespace,
                } => {
                    let mut t = format!("sshsig {namespace:?} {identity:?}");
                    for s in signers {
                        t.push_str(&format!(
                            "\n{:?} {:?} {:?} {:?} {}",
                            s.principals,
                            s.namespaces,
                            s.valid_after,
                            s.valid_before,
                            s.key.to_hex()
                        ));
                    }
                    t
                }
                Pinned::Note(vs) => {
                    let mut t = "note".to_owned();
                    for v in vs {
                        t.push_str(&format!("\n{:?} {} {}", v.name, v.hash, v.key.to_hex()));
                    }
                    t
                }
            };
            hex::encode(Sha256::digest(text.as_bytes()))
        }
    }
}

/// Whether `spec` names a PostgreSQL history (a `postgres://` or `postgresql://` URL).
pub fn is_postgres(spec: &str) -> bool {
    let lower = spec.get(..13).unwrap_or(spec).to_ascii_lowercase();
    lower.starts_with("postgres://") || lower.starts_with("postgresql://")
}

/// Opens the history `spec` names for recording: a `postgres://` URL, else an SQLite file
/// (created when missing). Its schema is brought up to date, unless it is newer than this
/// build knows or not a history at all: then it is refused untouched.
pub fn open(spec: &str) -> Result<Box<dyn Store>, HistoryError> {
    if is_postgres(spec) {
        Ok(Box::new(postgres::open(spec, true)?))
    } else {
        Ok(Box::new(sqlite::open(std::path::Path::new(spec), true)?))
    }
}

/// Opens an existing history to read it: nothing is created or migrated.
pub fn open_existing(spec: &str) -> Result<Box<dyn Store>, HistoryError> {
    if is_postgres(spec) {
        Ok(Box::new(postgres::open(spec, false)?))
    } else {
        Ok(Box::new(sqlite::open(std::path::Path::new(spec), false)?))
    }
}

/// How a history is named in messages: a URL without its password.
pub fn display_spec(spec: &str) -> String {
    if !is_postgres(spec) {
        return spec.to_owned();
    }
    match url::Url::parse(spec) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("***"));
            }
            // Query parameters may carry a password too (`?password=`).
            if u.query().is_some() {
                let kept: Vec<(String, String)> = u
                    .query_pairs()
                    .map(|(k, v)| {
                        let v = if k.eq_ignore_ascii_case("password") {
                            "***".to_owned()
                        } else {
                            v.into_owned()
                        };
                        (k.into_owned(), v)
                    })
                    .collect();
                u.query_pairs_mut().clear().extend_pairs(kept);
            }
            u.to_string()
        }
        Err(_) => "a postgres:// URL that cannot be parsed".to_owned(),
    }
}

/// The one stream a view is about: `profile` (and `channel`) when given, else the only one
/// in the history. A name that matches nothing, or a choice left open, is an error that
/// lists what there is.
pub fn select_stream(
    store: &mut dyn Store,
    profile: Option<&str>,
    channel: Option<&str>,
) -> Result<Stream, HistoryError> {
    let all = store.streams()?;
    let chosen: Vec<&StreamInfo> = all
        .iter()
        .filter(|s| profile.is_none_or(|p| s.profile == p))
        .filter(|s| channel.is_none_or(|c| s.channel == c))
        .collect();
    let list = |v: &[&StreamInfo]| {
        v.iter()
            .map(|s| format!("{} ({})", s.profile, s.channel))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match chosen.as_slice() {
        [one] => Ok(Stream {
            profile: one.profile.clone(),
            channel: one.channel.clone(),
        }),
        [] if all.is_empty() => Err(HistoryError::Select(
            "the history holds no run yet".to_owned(),
        )),
        [] => Err(HistoryError::Select(format!(
            "no run in the history matches {}; it holds: {}",
            match (profile, channel) {
                (Some(p), Some(c)) => format!("profile {p:?}, channel {c:?}"),
                (Some(p), None) => format!("profile {p:?}"),
                (None, Some(c)) => format!("channel {c:?}"),
                (None, None) => "anything".to_owned(),
            },
            list(&all.iter().collect::<Vec<_>>())
        ))),
        many => Err(HistoryError::Select(format!(
            "the history holds several profiles or channels: {}; choose one with --profile NAME (and --channel NAME)",
            list(many)
        ))),
    }
}

/// Each mirror's lag over the `max_runs` newest runs of `report`'s stream, for the HTML
/// report's chart.
pub fn lag_series(
    store: &mut dyn Store,
    profile: &str,
    channel: &str,
    max_runs: usize,
) -> Result<Vec<LagSeries>, HistoryError> {
    store.lag_series(
        &Stream {
            profile: profile.to_owned(),
            channel: channel.to_owned(),
        },
        max_runs,
    )
}

/// Groups first-seen rows (version, time, where) by version.
fn group_first_seen(rows: Vec<(u64, String, SeenOn)>) -> Vec<FirstSeen> {
    let mut by: BTreeMap<u64, FirstSeen> = BTreeMap::new();
    for (version, at, seen) in rows {
        by.entry(version)
            .or_insert_with(|| FirstSeen {
                version,
                first_seen_at: at,
                seen_on: Vec::new(),
            })
            .seen_on
            .push(seen);
    }
    by.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        let s = display_spec("postgres://alice:s3cret@db.example:5432/h?password=other&x=1");
        assert!(!s.contains("s3cret") && !s.contains("other"), "{s}");
        assert!(s.contains("alice") && s.contains("x=1"), "{s}");
        assert_eq!(display_spec("/tmp/h.sqlite"), "/tmp/h.sqlite");
        assert!(is_postgres("PostgreSQL://x/y") && !is_postgres("./postgres.db"));
    }
}
