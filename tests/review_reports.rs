//! Issue 11's surface attacked the way a hostile history file, mirror name or command
//! line would: crafted SQLite files (views and triggers where tables should be, a view
//! lying about the summaries, a schema version that lies, a symlink), SQL text through
//! every field on both stores, passwords in URLs, `--output` at a directory or a symlink,
//! absurd `watch` intervals.

mod common;

use std::path::Path;
use std::process::Command;

use common::binary::{BIN, run_in};
use common::history::{Db, check_at, check_recording};
use common::{V, World, ZIP, sha256_hex};
use mirrorproof::history::{self, RunRecord};

const T0: &str = "2026-11-22T14:00:00Z";
const T1: &str = "2026-11-22T14:01:00Z";

/// One loopback mirror serving V (`a`), one that never answers (`b`).
fn small_world() -> (World, std::path::PathBuf) {
    let mut w = World::new();
    let r = w.release(V).signed_by(&[0, 1]).artifact(ZIP, 64).build();
    w.mirror("a", "DE").serves(&r).over_http();
    w.mirror("b", "FR").at_url("http://127.0.0.1:9/b");
    let profile = w.write_profile("p.toml");
    (w, profile)
}

fn sqlite_exec(path: &Path, sql: &str) {
    rusqlite::Connection::open(path)
        .unwrap()
        .execute_batch(sql)
        .unwrap();
}

/// A real history with one run, then altered by `tamper`; every command must refuse it,
/// and leave it byte for byte as it was (no WAL or journal created beside it either).
fn refused_untouched(tamper: &str) {
    let (w, profile) = small_world();
    let db = Db::sqlite();
    let Db::Sqlite { path, .. } = &db else {
        unreachable!()
    };
    common::history::record(&db, &check_at(&w, &profile, T0));
    // Checkpointed and back to a rollback journal: one file holds everything.
    sqlite_exec(path, "PRAGMA journal_mode = DELETE");
    sqlite_exec(path, tamper);
    assert_refused_untouched(&w, &profile, path, tamper);
}

/// Every command and the library refuse the file at `path` as not a history of ours, and
/// leave it byte for byte as it was, with no WAL created beside it.
fn assert_refused_untouched(w: &World, profile: &Path, path: &Path, what: &str) {
    let tamper = what;
    let before = sha256_hex(&std::fs::read(path).unwrap());
    let h = path.to_str().unwrap();
    for args in [
        vec![
            "check",
            profile.to_str().unwrap(),
            "--no-state",
            "--history",
            h,
        ],
        vec!["history", "lag", "--history", h],
        vec!["history", "first-seen", "--history", h],
    ] {
        let out = run_in(w.path(), &args);
        assert_eq!(out.code, Some(2), "{args:?} {tamper}: {}", out.describe());
        assert!(
            out.stderr.contains("not a mirrorproof history"),
            "{args:?}: {}",
            out.describe()
        );
        // Refused before the run: no mirror asked, no report of a run that did not happen.
        assert!(out.stdout.is_empty(), "{args:?}: {}", out.describe());
    }
    assert!(history::open_existing(h).is_err(), "the library read it");
    assert!(history::open(h).is_err(), "the library recorded into it");
    assert_eq!(
        sha256_hex(&std::fs::read(path).unwrap()),
        before,
        "the history changed: {tamper}"
    );
    let name = path.file_name().unwrap().to_str().unwrap();
    let dir = path.parent().unwrap();
    assert!(!dir.join(format!("{name}-wal")).exists(), "WAL created");
}

/// A trigger planted in a history runs with every insert: here it rewrites every
/// unreachable observation as `ok`. Recording into it would silently store lies.
#[test]
fn a_history_with_a_planted_trigger_is_refused_untouched() {
    refused_untouched(
        "CREATE TRIGGER lie AFTER INSERT ON observations BEGIN \
           UPDATE observations SET status = 'ok', valid = 1 WHERE id = NEW.id; END;",
    );
}

/// A summary replaced by a view that says what the file's author wants: `history lag`
/// would read the view as if it were the summary the runs wrote.
#[test]
fn a_summary_replaced_by_a_view_is_refused_untouched() {
    refused_untouched(
        "DROP TABLE mirror_latest; \
         CREATE VIEW mirror_latest AS SELECT profile, channel, url, vantage, address, \
           MAX(o.id) AS last_observation, 0 AS last_t \
           FROM observations o JOIN runs r ON r.id = o.run_id WHERE o.status = 'ok' \
           GROUP BY profile, channel, url, vantage, address;",
    );
}

/// An extra table or index is someone else's addition: not ours to write into.
#[test]
fn a_history_with_an_extra_index_on_its_tables_is_refused() {
    refused_untouched("CREATE TABLE notes (x TEXT); CREATE INDEX notes_x ON notes (x);");
}

/// A database with views and triggers but no table at all is someone else's, not an
/// empty file: before the fix it counted as empty and was "migrated" (modified) with its
/// views standing where our tables go.
#[test]
fn a_database_of_views_only_is_refused_untouched() {
    let (w, profile) = small_world();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("views.sqlite");
    sqlite_exec(
        &path,
        "PRAGMA journal_mode = DELETE; \
         CREATE VIEW observations AS SELECT 1 AS id; \
         CREATE VIEW runs AS SELECT 1 AS id; \
         CREATE VIEW mirror_latest AS SELECT 'x' AS url;",
    );
    assert_refused_untouched(&w, &profile, &path, "views only");
}

/// A schema version that lies: the migrations table says 1, the tables are not there.
#[test]
fn a_schema_version_lie_is_refused_untouched() {
    let (w, profile) = small_world();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lie.sqlite");
    sqlite_exec(
        &path,
        "PRAGMA journal_mode = DELETE; \
         CREATE TABLE mirrorproof_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, \
           applied_unix BIGINT NOT NULL, software TEXT NOT NULL); \
         INSERT INTO mirrorproof_migrations VALUES (1, 'runs, observations, documents', 0, '0.1.0');",
    );
    assert_refused_untouched(&w, &profile, &path, "a schema version that lies");
}

/// `--history` naming a symlink to someone's file: refused, the file left as it was.
#[test]
fn a_symlink_to_another_file_is_left_as_it_is() {
    let (w, profile) = small_world();
    let notes = w.path().join("notes.txt");
    std::fs::write(&notes, b"not yours\n".repeat(50)).unwrap();
    let link = w.path().join("h.sqlite");
    std::os::unix::fs::symlink(&notes, &link).unwrap();
    let out = check_recording(w.path(), &profile, link.to_str().unwrap());
    assert_eq!(out.code, Some(2), "{}", out.describe());
    assert_eq!(std::fs::read(&notes).unwrap(), b"not yours\n".repeat(50));
    assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
}

/// SQL in every text field a mirror, a profile or a vantage controls is data: it is
/// stored and shown as written, and the history's tables survive it, on both stores.
fn sql_text_is_data(db: Db) {
    let (w, profile) = small_world();
    let mut outcome = check_at(&w, &profile, T0);
    let evil = "x'); DROP TABLE runs; --";
    let evil2 = "y\"; DELETE FROM observations; SELECT '";
    for m in &mut outcome.report.mirrors {
        m.name = Some(format!("{evil} {}", m.name.clone().unwrap_or_default()));
        m.error = Some(evil2.to_owned());
        m.vantage = Some(evil.to_owned());
    }
    outcome.report.profile = evil.to_owned();
    db.open()
        .record(&RunRecord::from_outcome(&outcome))
        .unwrap();
    let again = check_at(&w, &profile, T1);
    common::history::record(&db, &again);
    let runs = db.query("SELECT CAST(COUNT(*) AS TEXT) FROM runs");
    assert_eq!(runs[0][0].as_deref(), Some("2"));
    let obs = db.query("SELECT CAST(COUNT(*) AS TEXT) FROM observations");
    assert_eq!(obs[0][0].as_deref(), Some("4"));
    let mut store = db.open();
    let stream = history::select_stream(store.as_mut(), Some(evil), None).unwrap();
    let lag = store.lag(&stream).unwrap();
    assert_eq!(lag.profile, evil);
    assert!(lag.mirrors.iter().all(|m| m.vantage == evil), "{lag:?}");
    assert!(
        lag.mirrors
            .iter()
            .any(|m| m.name.as_deref() == Some(&format!("{evil} a"))),
        "{lag:?}"
    );
}

mod sql_text_is_data {
    #[test]
    fn sqlite() {
        super::sql_text_is_data(crate::common::history::Db::sqlite());
    }
    #[test]
    fn postgres() {
        if let Some(db) = crate::common::history::Db::postgres() {
            super::sql_text_is_data(db);
        }
    }
}

/// The password never shows: not in messages (URL, env, percent-encoded, query
/// parameter), not in a report written while the history failed.
#[test]
fn postgres_passwords_never_reach_a_report_or_message() {
    let (w, profile) = small_world();
    let out_file = w.path().join("r.html");
    for url in [
        "postgres://alice:hunter2secret@127.0.0.1:9/h",
        "postgresql://alice:hunter%32secret@127.0.0.1:9/h",
        "postgres://alice@127.0.0.1:9/h?password=hunter2secret&connect_timeout=2",
        "postgres://alice:hunter2secret@[::1/h",
    ] {
        for format in ["html", "json", "junit", "prometheus"] {
            let out = run_in(
                w.path(),
                &[
                    "check",
                    profile.to_str().unwrap(),
                    "--no-state",
                    "--format",
                    format,
                    "--output",
                    out_file.to_str().unwrap(),
                    "--history",
                    url,
                ],
            );
            assert_eq!(out.code, Some(2), "{url} {format}: {}", out.describe());
            // Refused before the run, so no report is written; if one were, it must not
            // quote the password either.
            let report = std::fs::read_to_string(&out_file).unwrap_or_default();
            for said in [&out.stderr, &out.stdout, &report] {
                assert!(!said.contains("hunter2secret"), "{url} {format}: {said}");
            }
        }
        let out = Command::new(BIN)
            .args(["history", "lag"])
            .current_dir(w.path())
            .env("HOME", w.path())
            .env("MIRRORPROOF_HISTORY", url)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(!err.contains("hunter2secret"), "{err}");
    }
}

/// Intervals that overflow, or that no one means, are usage errors (exit 2), not a panic
/// nor a watch that never runs again.
#[test]
fn absurd_watch_intervals_are_refused() {
    let (w, profile) = small_world();
    for every in [
        "99999999999d",
        "999999999999d",
        "18446744073709551615s",
        "367d",
        "0s",
        "-1s",
        "1h1h",
        "1s\u{1b}[2J",
    ] {
        let out = run_in(
            w.path(),
            &["watch", profile.to_str().unwrap(), "--every", every],
        );
        assert_eq!(out.code, Some(2), "{every:?}: {}", out.describe());
        assert!(!out.stderr.contains("panicked"), "{}", out.describe());
        assert!(!out.stderr.contains('\u{1b}'), "{}", out.describe());
    }
}

/// `--output` naming a directory: exit 2, the directory untouched, no temporary file left
/// beside it, and the report not half-written anywhere.
#[test]
fn output_at_a_directory_fails_cleanly() {
    let (w, profile) = small_world();
    let target = w.path().join("out");
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join("keep"), b"kept").unwrap();
    let out = run_in(
        w.path(),
        &[
            "check",
            profile.to_str().unwrap(),
            "--no-state",
            "--format",
            "prometheus",
            "--output",
            target.to_str().unwrap(),
        ],
    );
    assert_eq!(out.code, Some(2), "{}", out.describe());
    assert!(target.is_dir());
    assert_eq!(std::fs::read(target.join("keep")).unwrap(), b"kept");
    let temps: Vec<_> = std::fs::read_dir(w.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(temps.is_empty(), "left behind: {temps:?}");
}

/// `--output` naming a symlink replaces the link with the report; the file it pointed to
/// (someone else's) keeps its bytes.
#[test]
fn output_at_a_symlink_never_writes_through_it() {
    let (w, profile) = small_world();
    let victim = w.path().join("victim.txt");
    std::fs::write(&victim, b"precious").unwrap();
    let link = w.path().join("report.xml");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    let out = run_in(
        w.path(),
        &[
            "check",
            profile.to_str().unwrap(),
            "--no-state",
            "--format",
            "junit",
            "--output",
            link.to_str().unwrap(),
        ],
    );
    assert_eq!(out.code, Some(1), "{}", out.describe());
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    let written = std::fs::read_to_string(&link).unwrap();
    assert!(written.starts_with("<?xml"), "{written}");
    assert!(!std::fs::symlink_metadata(&link).unwrap().is_symlink());
}

/// A "PostgreSQL server" that accepts and never says a word (or a proxy that swallows the
/// start-up): the client's own deadline ends the wait, with a one-line error, exit 2, and
/// the process does not wait on. Before, only the TCP connect was bounded and this hung.
#[test]
fn a_postgres_server_that_never_answers_costs_one_deadline() {
    use std::io::Read as _;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let (mut sock, _) = listener.accept().unwrap();
        let mut buf = [0u8; 4096];
        // Read the start-up message and whatever follows, answering nothing, until the
        // client gives up and closes.
        loop {
            match sock.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let url = format!("postgres://mp:secret-pw@127.0.0.1:{port}/history");
    let mut child = std::process::Command::new(common::binary::BIN)
        .args(["history", "lag", "--history", &url])
        .current_dir(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // A generous bound on a test that hung for good before (the deadline is 15 s).
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if started.elapsed() > std::time::Duration::from_secs(120) {
            let _ = child.kill();
            panic!("mirrorproof still waits for a silent PostgreSQL server after 120 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("no answer to the connection within 15s"),
        "{stderr}"
    );
    assert!(!stderr.contains("secret-pw"), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
}
