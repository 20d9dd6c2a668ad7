//! The history benchmark's driver (scripts/bench-history.sh): records synthetic runs into a
//! history and times it, then times the views over what was recorded.
//!
//!   bench_history SPEC RUNS MIRRORS
//!
//! Each run is one report of MIRRORS entries (a tenth stale, a twentieth unreachable, the
//! rest ok), a minute after the previous, each entry linked to the release document it
//! served (three distinct documents of 2 KiB over the whole history, as honest mirrors
//! share theirs), recorded in its own transaction through a fresh `history::open`, as
//! each `check --history` does. Prints one line: store, runs, mirrors, seconds to record
//! all, observations per second, seconds for `lag`, `first_seen` and a 200-run
//! `lag_series`, and the file's size (SQLite).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use mirrorproof::history::{self, RunRecord, Stream};
use mirrorproof::report::{LatestReport, MirrorReport, Report, Status};
use mirrorproof::run::documents::{Documents, KeptDocument};
use sha2::Digest as _;

fn report(run: usize, mirrors: usize) -> (Report, Documents) {
    let latest = 2026120100 + (run / 30) as u64;
    let checked =
        chrono::DateTime::from_timestamp(1_796_000_000 + run as i64 * 60, 0).expect("time");
    let doc = |v: u64| format!("{{\"version\":{v},\"pad\":\"{}\"}}", "x".repeat(2000));
    let digest = |v: u64| hex::encode(sha2::Sha256::digest(doc(v).as_bytes()));
    let mut docs = Documents::default();
    let mut entries = Vec::with_capacity(mirrors);
    for i in 0..mirrors {
        let (status, version) = match i % 20 {
            0 => (Status::Unreachable, None),
            1 | 2 => (Status::Stale, Some(latest.saturating_sub(1))),
            _ => (Status::Ok, Some(latest)),
        };
        let mut served = BTreeMap::new();
        if let Some(v) = version {
            let d = digest(v);
            docs.documents
                .entry(d.clone())
                .or_insert_with(|| KeptDocument {
                    size: doc(v).len() as u64,
                    bytes: Some(Arc::from(doc(v).as_bytes())),
                });
            served.insert("stable/release.json".to_owned(), d);
        }
        docs.served.push(served);
        entries.push(MirrorReport {
            url: format!("https://mirror{i}.example/pub/"),
            country: ["DE", "FR", "US", "JP", "BR"][i % 5].to_owned(),
            name: Some(format!("mirror {i}")),
            status,
            version,
            payload_sha256: version.map(|v| format!("{v:064x}")),
            signers: Vec::new(),
            published: None,
            documents: BTreeMap::new(),
            artifacts: Vec::new(),
            elapsed_ms: (i % 700) as u64,
            error: match status {
                Status::Ok => None,
                _ => Some("serves an older release".to_owned()),
            },
            vantage: None,
            address: None,
            carried_by: None,
            out_of_reach: false,
        });
    }
    let report = Report {
        independent: true,
        latest: Some(LatestReport {
            version: latest,
            payload_sha256: format!("{latest:064x}"),
            published: None,
            signers: Vec::new(),
            release_keys: 1,
            equivocated: false,
        }),
        mirrors: entries,
        ..Report::new("bench", "stable", mirrorproof::time::format(&checked))
    };
    (report, docs)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, spec, runs, mirrors] = &args[..] else {
        eprintln!("usage: bench_history SPEC RUNS MIRRORS");
        std::process::exit(2);
    };
    let (runs, mirrors): (usize, usize) = (runs.parse().unwrap(), mirrors.parse().unwrap());
    let reports: Vec<(Report, Documents)> = (0..runs).map(|r| report(r, mirrors)).collect();

    let start = Instant::now();
    for (report, docs) in &reports {
        let mut store = history::open(spec).unwrap();
        let mut rec = RunRecord::from_report(report, &"ab".repeat(32));
        rec.documents = Some(docs);
        store.record(&rec).unwrap();
    }
    let record = start.elapsed().as_secs_f64();

    let mut store = history::open_existing(spec).unwrap();
    let counts = store.counts().unwrap();
    assert_eq!(counts.observations as usize, runs * mirrors, "{counts:?}");
    let stream = Stream {
        profile: "bench".into(),
        channel: "stable".into(),
    };
    let t = Instant::now();
    let lag = store.lag(&stream).unwrap();
    let lag_s = t.elapsed().as_secs_f64();
    assert_eq!(lag.mirrors.len(), mirrors);
    let t = Instant::now();
    let first = store.first_seen(&stream).unwrap();
    let first_s = t.elapsed().as_secs_f64();
    assert!(!first.versions.is_empty());
    let t = Instant::now();
    let series = store.lag_series(&stream, 200).unwrap();
    let series_s = t.elapsed().as_secs_f64();
    assert_eq!(series.len(), mirrors);
    let size = if history::is_postgres(spec) {
        "-".to_owned()
    } else {
        let bytes = std::fs::metadata(spec).map(|m| m.len()).unwrap_or(0)
            + std::fs::metadata(format!("{spec}-wal"))
                .map(|m| m.len())
                .unwrap_or(0);
        format!("{:.1} MiB", bytes as f64 / 1048576.0)
    };
    println!(
        "{:<10} {:>5} {:>7} {:>9.3} {:>10.0} {:>8.3} {:>10.3} {:>10.3} {:>10} docs={} served={}",
        if history::is_postgres(spec) {
            "postgres"
        } else {
            "sqlite"
        },
        runs,
        mirrors,
        record,
        (runs * mirrors) as f64 / record,
        lag_s,
        first_s,
        series_s,
        size,
        counts.documents,
        counts.served,
    );
}
