//! A first-time user's trial of the report formats, the history and `watch`, as a mirror
//! operator or an auditor who read only the README and docs/{REPORTS,HISTORY,WATCH}.md
//! would run them: the real binary on a copy of the bundled demo (`fixtures/demo`). Each
//! test is one finding: what the user typed and what the tool must answer. Every message
//! of a mistake says what is wrong and what to do, on one line, with exit 2.

mod common;
mod readers;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::binary::{BIN, Out, run_in};
use serde_json::Value;

/// A copy of the demo in a directory of its own, its profile pinned to the repository's
/// demo root by absolute path (the copy's `../../keys` would point nowhere).
fn demo() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo");
    copy_dir(&src, &dir.path().join("demo"));
    let profile = dir.path().join("demo/demo.toml");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("keys/demo.root.json");
    let text = std::fs::read_to_string(&profile).unwrap().replace(
        "root    = \"../../keys/demo.root.json\"",
        &format!(
            "root = {}",
            mirrorproof::text::toml_string(&root.display().to_string())
        ),
    );
    assert!(text.contains("demo.root.json\""), "the demo names its root");
    std::fs::write(&profile, text).unwrap();
    (dir, profile)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

fn run(dir: &Path, args: &[&str]) -> Out {
    run_in(dir, args)
}

/// `mirrorproof check PROFILE --no-state EXTRA...` in `dir`, as every scenario here runs it.
fn check(dir: &Path, profile: &str, extra: &[&str]) -> Out {
    let mut args = vec!["check", profile, "--no-state"];
    args.extend_from_slice(extra);
    run_in(dir, &args)
}

/// One line of stderr, saying `what`, exit 2.
fn usage_error(out: &Out, what: &[&str]) {
    assert_eq!(out.code, Some(2), "{}", out.describe());
    let line = out.stderr.trim_end();
    assert!(!line.contains('\n'), "one line: {}", out.describe());
    for w in what {
        assert!(line.contains(w), "says {w:?}: {}", out.describe());
    }
}

#[test]
fn history_that_is_a_directory_names_a_file_to_give_before_the_run() {
    let (d, p) = demo();
    let p = p.to_str().unwrap();
    std::fs::create_dir(d.path().join("hist")).unwrap();
    let out = check(d.path(), p, &["--history", "hist"]);
    usage_error(
        &out,
        &["history hist: is a directory", "hist/history.sqlite"],
    );
    // Said before any mirror is asked: no report of a run that did not happen.
    assert!(out.stdout.is_empty(), "{}", out.describe());
    let out = run(d.path(), &["history", "lag", "--history", "hist"]);
    usage_error(&out, &["is a directory"]);
    assert!(out.stdout.is_empty());
}

#[test]
fn history_in_a_missing_directory_says_mkdir() {
    let (d, p) = demo();
    let out = check(d.path(), p.to_str().unwrap(), &["--history", "no/h.sqlite"]);
    usage_error(&out, &["the directory no does not exist", "mkdir -p no"]);
    assert!(!d.path().join("no").exists());
}

#[test]
fn history_that_is_not_a_database_is_left_alone_and_says_what_to_do() {
    let (d, p) = demo();
    std::fs::write(d.path().join("notes.txt"), "my notes\n").unwrap();
    let out = check(d.path(), p.to_str().unwrap(), &["--history", "notes.txt"]);
    usage_error(&out, &["not an SQLite database", "give another file"]);
    assert_eq!(
        std::fs::read_to_string(d.path().join("notes.txt")).unwrap(),
        "my notes\n"
    );
}

#[test]
fn postgres_that_refuses_asks_whether_it_runs_and_hides_the_password() {
    let (d, p) = demo();
    // A loopback port nothing listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://alice:s3cret@127.0.0.1:{port}/mirrors");
    let out = check(d.path(), p.to_str().unwrap(), &["--history", &url]);
    usage_error(&out, &["alice:***@", "is PostgreSQL running"]);
    assert!(!out.stderr.contains("s3cret"), "{}", out.describe());
}

#[test]
fn history_commands_without_a_history_or_on_a_missing_one_or_another_profile() {
    let (d, p) = demo();
    let out = run(d.path(), &["history", "lag"]);
    usage_error(&out, &["--history DB", "MIRRORPROOF_HISTORY"]);
    let out = run(d.path(), &["history", "lag", "--history", "nope.sqlite"]);
    usage_error(&out, &["no such file", "check --history"]);
    assert!(
        !d.path().join("nope.sqlite").exists(),
        "reading creates nothing"
    );

    let out = check(d.path(), p.to_str().unwrap(), &["--history", "h.sqlite"]);
    assert_eq!(out.code, Some(1), "{}", out.describe());
    let out = run(
        d.path(),
        &[
            "history",
            "lag",
            "--history",
            "h.sqlite",
            "--profile",
            "debian",
        ],
    );
    usage_error(
        &out,
        &["profile \"debian\"", "it holds: exampleos (stable)"],
    );
}

#[test]
fn format_and_color_take_any_case() {
    let (d, p) = demo();
    let p = p.to_str().unwrap();
    let out = check(d.path(), p, &["--format", "HTML", "--output", "r.html"]);
    assert_eq!(out.code, Some(1), "{}", out.describe());
    let page = std::fs::read_to_string(d.path().join("r.html")).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"), "{}", &page[..40]);
    let out = check(d.path(), p, &["--color", "Never"]);
    assert_eq!(out.code, Some(1), "{}", out.describe());
    assert!(!out.stdout.contains('\u{1b}'));
}

#[test]
fn output_into_a_missing_directory_or_onto_a_directory_is_refused_before_the_run() {
    let (d, p) = demo();
    let p = p.to_str().unwrap();
    let out = check(
        d.path(),
        p,
        &[
            "--format",
            "junit",
            "--output",
            "out/r.xml",
            "--history",
            "h.sqlite",
        ],
    );
    usage_error(&out, &["--output out/r.xml", "mkdir -p out"]);
    // Before the run: nothing was checked, so nothing was recorded.
    assert!(!d.path().join("h.sqlite").exists());
    std::fs::create_dir(d.path().join("out")).unwrap();
    let out = check(d.path(), p, &["--output", "out"]);
    usage_error(&out, &["--output out: is a directory", "out/report"]);
}

#[test]
fn html_is_not_poured_onto_a_terminal() {
    let (d, p) = demo();
    let cmd = format!(
        "{BIN} check {} --no-state --format html; echo \"exit=$?\"",
        p.display()
    );
    let Ok(out) = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .current_dir(d.path())
        .env("HOME", d.path())
        .env("SHELL", "/bin/sh")
        .env("TERM", "xterm")
        .stdin(Stdio::null())
        .output()
    else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "util-linux `script` is needed"
        );
        eprintln!("skipped html_is_not_poured_onto_a_terminal: `script` cannot run");
        return;
    };
    let screen = String::from_utf8(out.stdout).unwrap();
    assert!(screen.contains("exit=2"), "{screen}");
    assert!(screen.contains("--output report.html"), "{screen}");
    assert!(!screen.contains("<html"), "{screen}");
    // Redirected, the page is written as asked.
    let out = check(d.path(), p.to_str().unwrap(), &["--format", "html"]);
    assert_eq!(out.code, Some(1), "{}", out.describe());
    assert!(out.stdout.starts_with("<!DOCTYPE html>"));
}

#[test]
fn watch_refuses_what_would_fail_every_run_at_start() {
    let (d, p) = demo();
    let p = p.to_str().unwrap();
    std::fs::create_dir(d.path().join("hist")).unwrap();
    std::fs::write(d.path().join("notes.txt"), "my notes\n").unwrap();
    let cases: [(&[&str], &[&str]); 5] = [
        (&["--every", "10"], &["\"10\" is not an interval", "10m"]),
        (&["--every", "0s"], &["longer than zero"]),
        (&["--every", "1h", "--history", "hist"], &["is a directory"]),
        (
            &["--every", "1h", "--history", "notes.txt"],
            &["give another file"],
        ),
        (
            &["--every", "1h", "--html", "www/index.html"],
            &["mkdir -p www"],
        ),
    ];
    for (args, says) in cases {
        let mut all = vec!["watch", p, "--no-state"];
        all.extend_from_slice(args);
        let out = run(d.path(), &all);
        assert_eq!(out.code, Some(2), "{all:?}: {}", out.describe());
        for s in says {
            assert!(
                out.stderr.contains(s),
                "{all:?} says {s:?}: {}",
                out.describe()
            );
        }
        assert!(
            !out.stderr.contains("run 1"),
            "refused before any run: {}",
            out.describe()
        );
    }
}

/// The history of a stale mirror that catches up: two runs with jp-tokyo on the old
/// release, then two after it got the new one (its directory replaced by fr-paris's).
#[test]
fn a_mirror_that_lags_then_catches_up_shows_in_lag_timeline_and_the_page() {
    let (d, p) = demo();
    let p = p.to_str().unwrap();
    let mut checked = Vec::new();
    for i in 0..4 {
        if i == 2 {
            let jp = d.path().join("demo/mirrors/jp-tokyo");
            std::fs::remove_dir_all(&jp).unwrap();
            copy_dir(&d.path().join("demo/mirrors/fr-paris"), &jp);
        }
        if i > 0 {
            // checked_at has whole seconds: runs a second apart are told apart.
            std::thread::sleep(std::time::Duration::from_millis(1100));
        }
        let out = check(d.path(), p, &["--history", "h.sqlite", "--json"]);
        assert_eq!(out.code, Some(1), "{}", out.describe());
        let v: Value = serde_json::from_str(&out.stdout).unwrap();
        checked.push(v["checked_at"].as_str().unwrap().to_owned());
    }
    let out = run(
        d.path(),
        &["history", "lag", "--history", "h.sqlite", "--json"],
    );
    assert_eq!(out.code, Some(0), "{}", out.describe());
    let lag: Value = serde_json::from_str(&out.stdout).unwrap();
    let jp = lag["mirrors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "jp-tokyo")
        .unwrap();
    assert_eq!(jp["serving_version"], 2026112200u64);
    assert_eq!(jp["first_seen_latest_at"], checked[2].as_str());
    assert!(jp["lag_seconds"].as_u64().unwrap() >= 2, "{jp}");

    let out = run(
        d.path(),
        &[
            "history",
            "timeline",
            "--history",
            "h.sqlite",
            "--mirror",
            "mirrors/jp-tokyo",
        ],
    );
    assert_eq!(out.code, Some(0), "{}", out.describe());
    let statuses: Vec<&str> = out
        .stdout
        .lines()
        .skip(2)
        .map(|l| l.split_whitespace().nth(2).unwrap())
        .collect();
    assert_eq!(statuses, ["stale", "stale", "ok", "ok"], "{}", out.stdout);

    // The page: a lag chart with the history, none without.
    let with = check(
        d.path(),
        p,
        &[
            "--history",
            "h.sqlite",
            "--format",
            "html",
            "--output",
            "with.html",
        ],
    );
    assert_eq!(with.code, Some(1), "{}", with.describe());
    let without = check(
        d.path(),
        p,
        &["--format", "html", "--output", "without.html"],
    );
    assert_eq!(without.code, Some(1), "{}", without.describe());
    let with = std::fs::read_to_string(d.path().join("with.html")).unwrap();
    let without = std::fs::read_to_string(d.path().join("without.html")).unwrap();
    assert!(with.contains("Lag over time"));
    assert!(
        with.contains("v2026110100"),
        "jp-tokyo's chart names the old release"
    );
    assert!(!without.contains("Lag over time"));

    if let Some(chromium) = common::chromium::Chromium::get() {
        let url = format!("file://{}", d.path().join("with.html").display());
        let png = d.path().join("with.png");
        chromium.screenshot(&url, &png, 1280, 4000);
        let bytes = std::fs::read(&png).unwrap();
        assert_eq!(common::chromium::png_size(&bytes), (1280, 4000));
        let dom = chromium.dump_dom(&url);
        assert!(dom.contains("jp-tokyo"), "the browser shows the mirrors");
    }
}

#[test]
fn the_demo_s_prometheus_file_passes_promtool_and_its_junit_reads() {
    let (d, p) = demo();
    let p = p.to_str().unwrap();
    let out = check(
        d.path(),
        p,
        &["--format", "prometheus", "--output", "m.prom"],
    );
    assert_eq!(out.code, Some(1), "{}", out.describe());
    let text = std::fs::read_to_string(d.path().join("m.prom")).unwrap();
    assert!(text.contains("mirrorproof_mirror_ok{"), "{text}");
    assert!(text.contains("mirror=\"jp-tokyo\""));
    if readers::has_promtool("the_demo_s_prometheus_file_passes_promtool") {
        let (ok, said) = readers::check_metrics(&text, d.path());
        assert!(ok, "promtool: {said}");
    }
    let out = check(d.path(), p, &["--format", "junit", "--output", "r.xml"]);
    assert_eq!(out.code, Some(1), "{}", out.describe());
    if readers::has_junitparser("the_demo_s_junit_reads") {
        let suites = readers::junitparser(&d.path().join("r.xml"));
        let text = suites.to_string();
        assert!(text.contains("jp-tokyo"), "{text}");
        // corrupt, incomplete, expired, invalid, stale, and the run's verdict.
        assert!(suites["failures"].as_u64().unwrap() >= 6, "{text}");
    }
}

#[test]
fn timeline_of_a_mirror_by_its_name_or_a_wrong_vantage_says_what_to_give() {
    let (d, p) = demo();
    let out = check(d.path(), p.to_str().unwrap(), &["--history", "h.sqlite"]);
    assert_eq!(out.code, Some(1), "{}", out.describe());
    let out = run(
        d.path(),
        &[
            "history",
            "timeline",
            "--history",
            "h.sqlite",
            "--mirror",
            "jp-tokyo",
        ],
    );
    usage_error(
        &out,
        &[
            "no observation of jp-tokyo",
            "URL as `history lag` lists it",
        ],
    );
    let out = run(
        d.path(),
        &[
            "history",
            "timeline",
            "--history",
            "h.sqlite",
            "--mirror",
            "mirrors/jp-tokyo",
            "--vantage",
            "tor",
        ],
    );
    usage_error(&out, &["through vantage tor", "leave --vantage out"]);
    let out = run(
        d.path(),
        &[
            "history",
            "timeline",
            "--history",
            "h.sqlite",
            "--mirror",
            "mirrors/jp-tokyo",
        ],
    );
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert!(out.stdout.contains("stale"), "{}", out.describe());
}
