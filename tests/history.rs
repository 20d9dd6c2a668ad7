//! The history (`--history`, `mirrorproof history ...`): every scenario runs against both
//! stores, an SQLite file and a real PostgreSQL database on loopback (tests/common/history.rs),
//! with real runs over loopback HTTP mirrors, as the binary or through the library with a
//! chosen clock.

mod common;
#[path = "common/tuf.rs"]
mod tuf_repo;

use std::process::{Command, Stdio};

use common::binary::{BIN, run_in};
use common::history::{Db, check_at, check_recording, record};
use common::{OLD, V, World, ZIP, sha256_hex};
use mirrorproof::history::{self, HistoryError, RunRecord};

/// Runs each scenario once per store: `NAME::sqlite` and `NAME::postgres`.
macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[test]
                fn sqlite() {
                    super::$name(crate::common::history::Db::sqlite());
                }
                #[test]
                fn postgres() {
                    if let Some(db) = crate::common::history::Db::postgres() {
                        super::$name(db);
                    }
                }
            }
        )*
    };
}

on_both_stores!(
    lag_follows_the_contract,
    documents_are_stored_once,
    two_processes_recording_at_once_both_land,
    a_newer_schema_is_refused_untouched,
    hostile_text_is_escaped_in_tables,
    views_on_the_command_line,
    merge_records_what_the_bundles_hold,
    signed_files_record_their_signature_once,
    runs_recorded_out_of_order_give_the_same_lag,
    tuf_roles_are_recorded_once_each,
);

const T0: &str = "2026-11-22T14:00:00Z";
const T1: &str = "2026-11-22T14:01:00Z"; // +60 s
const T2: &str = "2026-11-22T14:05:00Z"; // +300 s
const T3: &str = "2026-11-22T14:10:00Z"; // +600 s

/// Three HTTP mirrors: `fast` serves V from the start, `slow` catches up one minute later,
/// `late` serves OLD until ten minutes in; `gone` never answers.
fn catching_up_world() -> World {
    let mut w = World::new();
    let old = w.release(OLD).signed_by(&[0, 1]).artifact(ZIP, 256).build();
    w.mirror("fast", "DE").serves(&old).over_http();
    w.mirror("slow", "FR").serves(&old).over_http();
    w.mirror("late", "JP").serves(&old).over_http();
    w.mirror("gone", "US").at_url("http://127.0.0.1:9/gone");
    w
}

fn lag_follows_the_contract(db: Db) {
    let mut w = catching_up_world();
    let profile = w.write_profile("p.toml");
    let new = w.release(V).signed_by(&[0, 1]).artifact(ZIP, 256).build();
    w.on("fast").serves(&new);
    record(&db, &check_at(&w, &profile, T0));
    w.on("slow").serves(&new);
    record(&db, &check_at(&w, &profile, T1));
    record(&db, &check_at(&w, &profile, T2));

    let mut store = db.open();
    let stream = history::select_stream(store.as_mut(), None, None).unwrap();
    let lag = store.lag(&stream).unwrap();
    assert_eq!(lag.schema, "mirrorproof.lag/1");
    assert_eq!(lag.profile, "exampleos");
    assert_eq!(lag.latest_version, Some(V));
    let by = |name: &str| {
        lag.mirrors
            .iter()
            .find(|m| m.name.as_deref() == Some(name))
            .unwrap_or_else(|| panic!("no {name} in {lag:#?}"))
            .clone()
    };
    // First mirror with V: 0; the one that got it a minute later: 60.
    let fast = by("fast");
    assert_eq!((fast.serving_version, fast.lag_seconds), (Some(V), 0));
    assert_eq!(fast.first_seen_latest_at.as_deref(), Some(T0));
    let slow = by("slow");
    assert_eq!((slow.serving_version, slow.lag_seconds), (Some(V), 60));
    assert_eq!(slow.first_seen_latest_at.as_deref(), Some(T1));
    // Not yet: runs to its last observation (T2), first_seen_latest_at null.
    let late = by("late");
    assert_eq!((late.serving_version, late.lag_seconds), (Some(OLD), 300));
    assert_eq!(late.first_seen_latest_at, None);
    assert_eq!(late.status, "stale");
    let gone = by("gone");
    assert_eq!((gone.serving_version, gone.lag_seconds), (None, 300));
    assert_eq!(gone.vantage, "direct");

    // It catches up at T3: ten minutes behind, for good.
    w.on("late").serves(&new);
    record(&db, &check_at(&w, &profile, T3));
    let lag = db.open().lag(&stream).unwrap();
    let late = lag
        .mirrors
        .iter()
        .find(|m| m.name.as_deref() == Some("late"))
        .unwrap();
    assert_eq!((late.serving_version, late.lag_seconds), (Some(V), 600));
    assert_eq!(late.first_seen_latest_at.as_deref(), Some(T3));
    let gone = lag
        .mirrors
        .iter()
        .find(|m| m.name.as_deref() == Some("gone"));
    assert_eq!(gone.unwrap().lag_seconds, 600);

    // The chart's series: `late` was 0, 60, 300 s behind, then caught up, which took 600 s
    // (the run that finds it caught up shows what `history lag` says of it, not 0).
    let series = history::lag_series(store.as_mut(), "exampleos", "stable", 100).unwrap();
    let late = series
        .iter()
        .find(|s| s.name.as_deref() == Some("late"))
        .unwrap();
    let lags: Vec<u64> = late.points.iter().map(|p| p.lag_seconds).collect();
    assert_eq!(lags, [0, 60, 300, 600]);
    let fast = series
        .iter()
        .find(|s| s.name.as_deref() == Some("fast"))
        .unwrap();
    assert!(fast.points.iter().all(|p| p.lag_seconds == 0), "{fast:#?}");
    assert!(late.points.iter().all(|p| p.latest_version == V));
    // Only the newest two runs when asked.
    let series = history::lag_series(store.as_mut(), "exampleos", "stable", 2).unwrap();
    assert!(series.iter().all(|s| s.points.len() == 2), "{series:#?}");

    // Timeline: what `late` served, oldest first.
    let t = store.timeline(&w.url_of("late"), None, 100).unwrap();
    let seen: Vec<(&str, Option<u64>)> = t
        .observations
        .iter()
        .map(|o| (o.status.as_str(), o.version))
        .collect();
    assert_eq!(
        seen,
        [
            ("stale", Some(OLD)),
            ("stale", Some(OLD)),
            ("stale", Some(OLD)),
            ("ok", Some(V))
        ]
    );
    assert_eq!(t.observations[0].checked_at, T0);
    assert!(t.observations[0].reason.is_some());
    assert!(!t.truncated);
    let t = store
        .timeline(&w.url_of("late"), Some("direct"), 2)
        .unwrap();
    assert!(t.truncated);
    assert_eq!(t.observations.len(), 2);
    assert_eq!(t.observations[1].checked_at, T3, "newest last");
    let none = store
        .timeline(&w.url_of("late"), Some("tor:DE"), 10)
        .unwrap();
    assert!(none.observations.is_empty());

    // First seen: OLD at T0 on the three that answered, V at T0 on `fast` only.
    let f = store.first_seen(&stream).unwrap();
    let versions: Vec<(u64, &str, usize)> = f
        .versions
        .iter()
        .map(|v| (v.version, v.first_seen_at.as_str(), v.seen_on.len()))
        .collect();
    assert_eq!(versions, [(OLD, T0, 2), (V, T0, 1)]);
    assert_eq!(f.versions[1].seen_on[0].name.as_deref(), Some("fast"));
}

fn documents_are_stored_once(db: Db) {
    let mut w = World::new();
    let r = w.release(V).signed_by(&[0, 1]).artifact(ZIP, 256).build();
    for (name, cc) in [("a", "DE"), ("b", "FR"), ("c", "JP")] {
        w.mirror(name, cc).serves(&r).over_http();
    }
    let profile = w.write_profile("p.toml");
    let history = db.spec();
    for round in 1..=2 {
        let out = check_recording(w.path(), &profile, &history);
        assert_eq!(out.code, Some(0), "round {round}: {}", out.describe());
    }
    let counts = db.open().counts().unwrap();
    assert_eq!(counts.runs, 2);
    assert_eq!(counts.observations, 6);
    // One release document, served by three mirrors twice: one row, six links.
    assert_eq!(counts.documents, 1, "{counts:?}");
    assert_eq!(counts.served, 6);
    let served_bytes = std::fs::read(w.on("a").dir().join("stable/release.json")).unwrap();
    let rows = db.query(
        "SELECT s.path, s.sha256, d.sha256, CAST(d.size AS TEXT) FROM served s JOIN documents d ON d.sha256 = s.sha256",
    );
    for row in rows {
        assert_eq!(row[0].as_deref(), Some("stable/release.json"));
        assert_eq!(row[1].as_deref(), Some(sha256_hex(&served_bytes).as_str()));
        assert_eq!(row[3], Some(served_bytes.len().to_string()));
    }
    // The bytes themselves, once.
    let (digest, body) = stored_document(&db);
    assert_eq!(body, served_bytes);
    assert_eq!(digest, sha256_hex(&body));
    // Each run names the pinned root it judged by, and the software that recorded it.
    let runs = db.query("SELECT pinned_sha256, software FROM runs");
    let pinned = common::Root {
        version: 1,
        envelope: mirrorproof::envelope::Envelope::parse(
            &std::fs::read(w.pinned_path()).unwrap(),
            1 << 20,
        )
        .unwrap(),
    }
    .payload_sha256();
    for r in runs {
        assert_eq!(r[0].as_deref(), Some(pinned.as_str()));
        assert_eq!(r[1].as_deref(), Some(env!("CARGO_PKG_VERSION")));
    }
}

/// The one document's digest and bytes, read back through each store's own client.
fn stored_document(db: &Db) -> (String, Vec<u8>) {
    match db {
        Db::Sqlite { path, .. } => rusqlite::Connection::open(path)
            .unwrap()
            .query_row("SELECT sha256, body FROM documents", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap(),
        Db::Postgres { url } => {
            let mut c = postgres::Client::connect(url, postgres::NoTls).unwrap();
            let row = c
                .query_one("SELECT sha256, body FROM documents", &[])
                .unwrap();
            (row.get(0), row.get(1))
        }
    }
}

fn two_processes_recording_at_once_both_land(db: Db) {
    let mut w = World::new();
    let r = w.release(V).signed_by(&[0, 1]).artifact(ZIP, 256).build();
    let old = w.release(OLD).signed_by(&[0, 1]).artifact(ZIP, 256).build();
    for i in 0..8 {
        let release = if i % 2 == 0 { &r } else { &old };
        w.mirror(&format!("m{i}"), "DE").serves(release).over_http();
    }
    let profile = w.write_profile("p.toml");
    let history = db.spec();
    // Two rounds: the first on a history that does not exist yet (both processes create
    // and migrate it at once), the second on the existing one.
    for round in 0..2 {
        let children: Vec<_> = (0..2)
            .map(|_| {
                Command::new(BIN)
                    .args([
                        "check",
                        profile.to_str().unwrap(),
                        "--no-state",
                        "--json",
                        "--history",
                        &history,
                    ])
                    .current_dir(w.path())
                    .env("HOME", w.path())
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for c in children {
            let out = c.wait_with_output().unwrap();
            assert_eq!(
                out.status.code(),
                Some(1),
                "round {round}: stale mirrors, so exit 1, and nothing else: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    let counts = db.open().counts().unwrap();
    assert_eq!(counts.runs, 4, "{counts:?}");
    assert_eq!(counts.observations, 32);
    assert_eq!(counts.documents, 2, "two releases, each once");
    assert_eq!(counts.served, 32);
    let migrations = db.query("SELECT CAST(version AS TEXT) FROM mirrorproof_migrations");
    assert_eq!(migrations.len(), 1, "the schema was applied once");
    // Every run whole: eight observations each.
    let per_run = db.query("SELECT CAST(COUNT(*) AS TEXT) FROM observations GROUP BY run_id");
    assert!(
        per_run.iter().all(|r| r[0].as_deref() == Some("8")),
        "{per_run:?}"
    );
}

fn a_newer_schema_is_refused_untouched(db: Db) {
    let mut w = World::new();
    let r = w.release(V).signed_by(&[0, 1]).artifact(ZIP, 64).build();
    w.mirror("a", "DE").serves(&r).over_http();
    let profile = w.write_profile("p.toml");
    record(&db, &check_at(&w, &profile, T0));
    db.execute(
        "INSERT INTO mirrorproof_migrations (version, name, applied_unix, software) VALUES (99, 'from the future', 0, '9.9.9')",
    );
    let before = snapshot(&db);
    let history = db.spec();
    let out = check_recording(w.path(), &profile, &history);
    assert_eq!(out.code, Some(2), "{}", out.describe());
    assert!(
        out.stderr.contains("schema version 99 is newer"),
        "{}",
        out.describe()
    );
    assert!(
        out.stdout.is_empty(),
        "refused before the run: {}",
        out.describe()
    );
    let out = run_in(w.path(), &["history", "lag", "--history", &history]);
    assert_eq!(out.code, Some(2), "{}", out.describe());
    assert!(out.stderr.contains("newer"), "{}", out.describe());
    match history::open(&history) {
        Err(HistoryError::Newer { found: 99, .. }) => {}
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("a newer history was opened"),
    }
    assert_eq!(snapshot(&db), before, "the history changed");
}

/// Everything that could change: the file's bytes, or every table's rows.
fn snapshot(db: &Db) -> Vec<String> {
    match db {
        Db::Sqlite { path, .. } => vec![sha256_hex(&std::fs::read(path).unwrap())],
        Db::Postgres { .. } => [
            "SELECT CAST(version AS TEXT) FROM mirrorproof_migrations ORDER BY version",
            "SELECT CAST(id AS TEXT) FROM runs ORDER BY id",
            "SELECT CAST(id AS TEXT) FROM observations ORDER BY id",
            "SELECT sha256 FROM documents ORDER BY sha256",
            "SELECT path FROM served ORDER BY path",
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name",
        ]
        .iter()
        .flat_map(|q| db.query(q))
        .map(|r| format!("{r:?}"))
        .collect(),
    }
}

fn hostile_text_is_escaped_in_tables(db: Db) {
    let mut w = World::new();
    let r = w.release(V).signed_by(&[0, 1]).artifact(ZIP, 64).build();
    w.mirror("a", "DE").serves(&r).over_http();
    w.mirror("b", "FR").at_url("http://127.0.0.1:9/b");
    let profile = w.write_profile("p.toml");
    let mut outcome = check_at(&w, &profile, T0);
    // What a hostile profile or mirror could put in a name and a reason.
    outcome.report.mirrors[1].name = Some("evil\u{1b}]0;pwned\u{7}\u{202e}gpj.exe".into());
    outcome.report.mirrors[1].error = Some("refused \u{1b}[2J\u{9b}31m\u{2066}x".into());
    let rec = RunRecord::from_outcome(&outcome);
    db.open().record(&rec).unwrap();
    let history = db.spec();
    let b = w.url_of("b");
    for args in [
        vec!["history", "lag", "--history", &history],
        vec!["history", "timeline", "--history", &history, "--mirror", &b],
        vec!["history", "first-seen", "--history", &history],
    ] {
        let out = run_in(w.path(), &args);
        assert_eq!(out.code, Some(0), "{}", out.describe());
        for bad in ['\u{1b}', '\u{7}', '\u{202e}', '\u{9b}', '\u{2066}'] {
            assert!(
                !out.stdout.contains(bad),
                "{args:?} printed {bad:?} raw: {}",
                out.describe()
            );
        }
    }
    let out = run_in(
        w.path(),
        &["history", "timeline", "--history", &history, "--mirror", &b],
    );
    assert!(out.stdout.contains("\\u{1b}[2J"), "{}", out.describe());
    let out = run_in(w.path(), &["history", "lag", "--history", &history]);
    assert!(
        out.stdout.contains("evil\\u{1b}]0;pwned"),
        "{}",
        out.describe()
    );
    // JSON keeps the text (escaped as JSON, never raw).
    let out = run_in(
        w.path(),
        &["history", "lag", "--history", &history, "--json"],
    );
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let names: Vec<&str> = v["mirrors"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["name"].as_str())
        .collect();
    assert!(
        names.contains(&"evil\u{1b}]0;pwned\u{7}\u{202e}gpj.exe"),
        "{names:?}"
    );
    assert!(!out.stdout.contains('\u{1b}'));
}

fn views_on_the_command_line(db: Db) {
    let mut w = catching_up_world();
    let profile = w.write_profile("p.toml");
    let new = w.release(V).signed_by(&[0, 1]).artifact(ZIP, 256).build();
    w.on("fast").serves(&new);
    record(&db, &check_at(&w, &profile, T0));
    w.on("slow").serves(&new);
    record(&db, &check_at(&w, &profile, T2));
    let history = db.spec();

    // MIRRORPROOF_HISTORY stands in for --history.
    let out = Command::new(BIN)
        .args(["history", "lag", "--json"])
        .current_dir(w.path())
        .env("HOME", w.path())
        .env("MIRRORPROOF_HISTORY", &history)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["schema"], "mirrorproof.lag/1");
    assert_eq!(v["latest_version"], V);
    let slow = v["mirrors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "slow")
        .unwrap();
    assert_eq!(slow["lag_seconds"], 300);
    assert_eq!(slow["first_seen_latest_at"], T2);
    assert_eq!(slow["serving_version"], V);
    let late = v["mirrors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "late")
        .unwrap();
    assert!(late["first_seen_latest_at"].is_null());

    let out = run_in(w.path(), &["history", "lag", "--history", &history]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert!(
        out.stdout.contains("latest version 2026112200"),
        "{}",
        out.describe()
    );
    let slow_line = out.stdout.lines().find(|l| l.starts_with("slow ")).unwrap();
    assert!(
        slow_line.contains("5m 00s") && slow_line.contains(T2),
        "{slow_line}"
    );

    let out = run_in(
        w.path(),
        &["history", "first-seen", "--history", &history, "--json"],
    );
    assert_eq!(out.code, Some(0), "{}", out.describe());
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["schema"], "mirrorproof.first-seen/1");
    assert_eq!(v["versions"][1]["version"], V);
    assert_eq!(v["versions"][1]["first_seen_at"], T0);

    let fast = w.url_of("fast");
    let out = run_in(
        w.path(),
        &[
            "history",
            "timeline",
            "--history",
            &history,
            "--mirror",
            &fast,
            "--json",
        ],
    );
    assert_eq!(out.code, Some(0), "{}", out.describe());
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["observations"].as_array().unwrap().len(), 2);
    assert_eq!(v["observations"][0]["status"], "ok");

    // A profile filter that matches nothing says so, and what there is.
    let out = run_in(
        w.path(),
        &["history", "lag", "--history", &history, "--profile", "nope"],
    );
    assert_eq!(out.code, Some(2), "{}", out.describe());
    assert!(out.stderr.contains("exampleos"), "{}", out.describe());
    let out = run_in(
        w.path(),
        &[
            "history",
            "timeline",
            "--history",
            &history,
            "--mirror",
            "http://nowhere/",
        ],
    );
    assert_eq!(out.code, Some(2), "{}", out.describe());
}

/// Read-only commands never create a history.
#[test]
fn a_missing_history_is_an_error_and_stays_missing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("none.sqlite");
    let p = path.to_str().unwrap();
    for args in [
        vec!["history", "lag", "--history", p],
        vec!["history", "first-seen", "--history", p],
        vec!["history", "timeline", "--history", p, "--mirror", "x"],
    ] {
        let out = run_in(dir.path(), &args);
        assert_eq!(out.code, Some(2), "{}", out.describe());
        assert!(out.stderr.contains("no such file"), "{}", out.describe());
        assert!(!path.exists(), "{args:?} created the history");
    }
    let out = run_in(dir.path(), &["history", "lag"]);
    assert_eq!(out.code, Some(2), "{}", out.describe());
    assert!(
        out.stderr.contains("MIRRORPROOF_HISTORY"),
        "{}",
        out.describe()
    );
}

/// A file that is not an SQLite database, or a database that is not a history, is left
/// byte for byte as it was.
#[test]
fn not_a_history_is_refused_untouched() {
    let mut w = World::new();
    let r = w.release(V).signed_by(&[0, 1]).artifact(ZIP, 64).build();
    w.mirror("a", "DE").serves(&r);
    let profile = w.write_profile("p.toml");
    let text = w.path().join("notes.txt");
    std::fs::write(&text, b"my notes, not a database\n".repeat(100)).unwrap();
    let foreign = w.path().join("other.sqlite");
    rusqlite::Connection::open(&foreign)
        .unwrap()
        .execute_batch("CREATE TABLE accounts (id INTEGER PRIMARY KEY, owner TEXT); INSERT INTO accounts (owner) VALUES ('x')")
        .unwrap();
    for (file, says) in [
        (&text, "not an SQLite database"),
        (&foreign, "not a mirrorproof history"),
    ] {
        let before = std::fs::read(file).unwrap();
        let f = file.to_str().unwrap();
        for args in [
            vec![
                "check",
                profile.to_str().unwrap(),
                "--no-state",
                "--history",
                f,
            ],
            vec!["history", "lag", "--history", f],
        ] {
            let out = run_in(w.path(), &args);
            assert_eq!(out.code, Some(2), "{}", out.describe());
            assert!(out.stderr.contains(says), "{}", out.describe());
            // Refused before any mirror is asked: no report of a run that did not happen.
            assert!(out.stdout.is_empty(), "{}", out.describe());
        }
        assert_eq!(std::fs::read(file).unwrap(), before, "{f} changed");
        let name = file.file_name().unwrap().to_str().unwrap();
        assert!(
            !w.path().join(format!("{name}-wal")).exists(),
            "{name}: WAL created"
        );
    }
}

/// A wrong password, or one in a URL that cannot be reached, is never echoed.
#[test]
fn postgres_passwords_are_never_shown() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_in(
        dir.path(),
        &[
            "history",
            "lag",
            "--history",
            "postgres://alice:hunter2secret@127.0.0.1:9/h",
        ],
    );
    assert_eq!(out.code, Some(2), "{}", out.describe());
    assert!(!out.stderr.contains("hunter2secret"), "{}", out.describe());
    assert!(out.stderr.contains("alice:***@"), "{}", out.describe());
    // The real server refusing a wrong password.
    let Some(Db::Postgres { url }) = Db::postgres() else {
        return;
    };
    let mut wrong = url::Url::parse(&url).unwrap();
    wrong.set_password(Some("hunter3wrong")).unwrap();
    let out = run_in(dir.path(), &["history", "lag", "--history", wrong.as_str()]);
    assert_eq!(out.code, Some(2), "{}", out.describe());
    assert!(!out.stderr.contains("hunter3wrong"), "{}", out.describe());
    assert!(out.stderr.contains("password"), "{}", out.describe());
}

/// `merge --history`: the bundles' entries, each with its vantage, and their documents,
/// verified again and recorded like a live run's.
fn merge_records_what_the_bundles_hold(db: Db) {
    let mut w = World::new();
    let r = w.release(V).signed_by(&[0, 1]).artifact(ZIP, 64).build();
    let old = w.release(OLD).signed_by(&[0, 1]).artifact(ZIP, 64).build();
    w.mirror("a", "DE").serves(&r).over_http();
    w.mirror("b", "FR").serves(&old).over_http();
    let profile = w.write_profile("p.toml");
    for (dir, vantage) in [("ev-fr", "direct=FR"), ("ev-de", "direct=DE")] {
        let out = run_in(
            w.path(),
            &[
                "check",
                profile.to_str().unwrap(),
                "--no-state",
                "--json",
                "--evidence",
                dir,
                "--vantage",
                vantage,
            ],
        );
        assert_eq!(out.code, Some(1), "{}", out.describe());
    }
    let history = db.spec();
    let out = run_in(
        w.path(),
        &["merge", "ev-fr", "ev-de", "--json", "--history", &history],
    );
    assert_eq!(out.code, Some(1), "{}", out.describe());
    let counts = db.open().counts().unwrap();
    assert_eq!(counts.runs, 1);
    assert_eq!(counts.observations, 4, "two mirrors through two vantages");
    assert_eq!(counts.documents, 2, "two releases, each once");
    assert_eq!(counts.served, 4);
    let mut vantages: Vec<String> = db
        .query("SELECT DISTINCT vantage FROM observations ORDER BY vantage")
        .into_iter()
        .map(|r| r[0].clone().unwrap())
        .collect();
    vantages.sort();
    assert_eq!(vantages.len(), 2, "{vantages:?}");
    let lag = db
        .open()
        .lag(&history::Stream {
            profile: "exampleos".into(),
            channel: "stable".into(),
        })
        .unwrap();
    assert_eq!(lag.mirrors.len(), 4);
    assert!(
        lag.mirrors
            .iter()
            .filter(|m| m.serving_version == Some(OLD))
            .all(|m| m.first_seen_latest_at.is_none())
    );
}

/// A signify release (OpenBSD's `SHA256.sig`): the signed file is the document, kept once;
/// the run names the pinned key by digest.
fn signed_files_record_their_signature_once(db: Db) {
    use common::ecosystems::{Eco, Signify};
    let mut e = Eco::new();
    let work = e.work();
    let (pub_key, sec) = Signify::keygen(&work, "base");
    e.profile = format!(
        "scheme = \"signify\"\nkey = {:?}\nchannel = \"7.9-amd64\"\nfile = \"7.9/amd64/SHA256.sig\"\n",
        pub_key.display().to_string()
    );
    let list = work.join("SHA256");
    std::fs::write(
        &list,
        format!("SHA256 (base79.tgz) = {}\n", sha256_hex(b"base set 7.9")),
    )
    .unwrap();
    let sig = work.join("SHA256.sig");
    Signify::sign_embedded(&sec, &list, &sig);
    for (name, cc) in [("fr", "FR"), ("de", "DE")] {
        let d = e.mirror(name, cc).join("7.9/amd64");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::copy(&sig, d.join("SHA256.sig")).unwrap();
        std::fs::write(d.join("base79.tgz"), b"base set 7.9").unwrap();
        e.over_http(name);
    }
    let profile = e.write_profile();
    let history = db.spec();
    for _ in 0..2 {
        let out = check_recording(e.path(), &profile, &history);
        assert!(matches!(out.code, Some(0 | 1)), "{}", out.describe());
    }
    let counts = db.open().counts().unwrap();
    assert_eq!((counts.runs, counts.observations), (2, 4));
    assert_eq!(counts.documents, 1, "{counts:?}");
    assert_eq!(counts.served, 4);
    let digest = sha256_hex(&std::fs::read(&sig).unwrap());
    let rows = db.query("SELECT path, sha256 FROM served");
    assert!(
        rows.iter()
            .all(|r| r[0].as_deref() == Some("7.9/amd64/SHA256.sig")
                && r[1].as_deref() == Some(digest.as_str())),
        "{rows:?}"
    );
    let pinned = db.query("SELECT DISTINCT pinned_sha256, scheme FROM runs");
    assert_eq!(pinned.len(), 1, "{pinned:?}");
    assert_eq!(pinned[0][1].as_deref(), Some("signify"));
    assert_eq!(pinned[0][0].as_ref().map(String::len), Some(64));
}

/// Machines upload late (a CI runner that was offline, an old bundle merged): the views
/// depend on the runs' times, not on the order they were recorded in.
fn runs_recorded_out_of_order_give_the_same_lag(db: Db) {
    let mut w = catching_up_world();
    let profile = w.write_profile("p.toml");
    let new = w.release(V).signed_by(&[0, 1]).artifact(ZIP, 256).build();
    w.on("fast").serves(&new);
    let at0 = check_at(&w, &profile, T0);
    w.on("slow").serves(&new);
    let at1 = check_at(&w, &profile, T1);
    let at2 = check_at(&w, &profile, T2);
    for o in [&at2, &at0, &at1] {
        record(&db, o);
    }
    let mut store = db.open();
    let stream = history::select_stream(store.as_mut(), Some("exampleos"), None).unwrap();
    let lag = store.lag(&stream).unwrap();
    let got: Vec<(String, Option<u64>, u64, Option<String>)> = lag
        .mirrors
        .iter()
        .map(|m| {
            (
                m.name.clone().unwrap(),
                m.serving_version,
                m.lag_seconds,
                m.first_seen_latest_at.clone(),
            )
        })
        .collect();
    let mut got = got;
    got.sort();
    assert_eq!(
        got,
        [
            ("fast".to_owned(), Some(V), 0, Some(T0.to_owned())),
            ("gone".to_owned(), None, 300, None),
            ("late".to_owned(), Some(OLD), 300, None),
            ("slow".to_owned(), Some(V), 60, Some(T1.to_owned())),
        ]
    );
    assert!(lag.mirrors.iter().all(|m| m.last_seen_at == T2));
    let series = store.lag_series(&stream, 10).unwrap();
    let late = series
        .iter()
        .find(|s| s.name.as_deref() == Some("late"))
        .unwrap();
    let at: Vec<i64> = late.points.iter().map(|p| p.at).collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "oldest first: {at:?}");
    assert_eq!(
        late.points
            .iter()
            .map(|p| p.lag_seconds)
            .collect::<Vec<_>>(),
        [0, 60, 300]
    );
}

/// A TUF repository: every role document each mirror served (fetched by URLs the scheme
/// builds) is kept once, linked to every observation; the run names the pinned root by the
/// digest of its bytes.
fn tuf_roles_are_recorded_once_each(db: Db) {
    let repo = tuf_repo::Repo::with_target();
    let dir = tempfile::tempdir().unwrap();
    let mut servers = Vec::new();
    let mut profile = String::from("name = \"repo\"\nscheme = \"tuf\"\nroot = \"root.json\"\n");
    for name in ["a", "b"] {
        let copy = dir.path().join(name);
        copy_tree(repo.path(), &copy);
        let server = common::Server::start(copy, common::Behavior::Normal);
        profile.push_str(&format!(
            "\n[[mirrors]]\nname = \"{name}\"\nurl = \"{0}metadata/\"\ntargets_url = \"{0}targets/\"\n",
            server.url()
        ));
        servers.push(server);
    }
    std::fs::write(dir.path().join("root.json"), repo.root_bytes(1)).unwrap();
    std::fs::write(dir.path().join("p.toml"), profile).unwrap();
    let history = db.spec();
    for _ in 0..2 {
        let out = run_in(
            dir.path(),
            &["check", "p.toml", "--no-state", "--history", &history],
        );
        assert_eq!(out.code, Some(0), "{}", out.describe());
    }
    let counts = db.open().counts().unwrap();
    assert_eq!((counts.runs, counts.observations), (2, 4));
    let paths = db.query("SELECT DISTINCT path FROM served ORDER BY path");
    let paths: Vec<&str> = paths.iter().map(|r| r[0].as_deref().unwrap()).collect();
    for role in ["timestamp", "snapshot", "targets"] {
        assert!(
            paths.iter().any(|p| p.contains(role)),
            "{role} not recorded: {paths:?}"
        );
    }
    // The same documents from both mirrors, twice: each stored once.
    assert_eq!(
        counts.documents as usize,
        paths.len(),
        "{paths:?} {counts:?}"
    );
    assert_eq!(counts.served as usize, 4 * paths.len());
    let timestamp = std::fs::read(repo.path().join("metadata/timestamp.json")).unwrap();
    let rows = db.query("SELECT sha256 FROM documents");
    assert!(
        rows.iter()
            .any(|r| r[0].as_deref() == Some(sha256_hex(&timestamp).as_str()))
    );
    let pinned = db.query("SELECT DISTINCT pinned_sha256 FROM runs");
    assert_eq!(pinned, [[Some(sha256_hex(&repo.root_bytes(1)))]]);
}

fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}
