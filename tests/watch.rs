//! `mirrorproof watch`: the real binary on a schedule against loopback mirrors. Each run
//! rewrites its outputs whole (a reader never sees half a document), a mirror that changes
//! between runs shows in the next output, a failed run does not end the watch, and SIGTERM
//! or SIGINT end it with exit 0, while it sleeps and while a run waits on a stalling
//! mirror, leaving no temporary file behind, and no managed tor (against the private Tor
//! network of tests/common/tor.rs, skipped without tor outside CI). Configuration errors
//! are exit 2 at once.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::binary::{BIN, run_in};
use common::{Behavior, World, genuine, older};
use mirrorproof::text::shown;
use rustix::process::{Pid, Signal, kill_process};
use serde_json::Value;

/// Bounds for things that take milliseconds when all is well: generous, so a loaded
/// machine does not fail the tests, and far below the timeouts a stalled run would need.
const START: Duration = Duration::from_secs(60);
const EXIT: Duration = Duration::from_secs(15);

/// A world on the wall clock (the binary judges expiry at the time it runs) with two
/// honest HTTP mirrors, `a` and `b`.
fn world() -> World {
    let mut w = World::new();
    w.now = mirrorproof::time::now();
    let rel = genuine(&w);
    w.mirror("a", "DE").serves(&rel).over_http();
    w.mirror("b", "FR").serves(&rel).over_http();
    w
}

/// A watch running in `dir`, its stderr going to a file read as it grows.
struct Watch {
    child: Child,
    stderr: PathBuf,
}

impl Watch {
    fn start(dir: &Path, args: &[&str]) -> Watch {
        let stderr = dir.join("watch.stderr");
        let child = Command::new(BIN)
            .arg("watch")
            .args(args)
            .current_dir(dir)
            .env("HOME", dir)
            .env_remove("XDG_DATA_HOME")
            .env_remove("MIRRORPROOF_HISTORY")
            .env("RUST_BACKTRACE", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .expect("start mirrorproof watch");
        Watch { child, stderr }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Waits until `f` holds, failing with what the watch said if it does not in time or
    /// if the watch exits first.
    fn wait_until(&mut self, what: &str, mut f: impl FnMut(&Watch) -> bool) {
        let deadline = Instant::now() + START;
        while !f(self) {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!(
                    "watch exited ({status}) before {what}:\n{}",
                    shown(&self.stderr())
                );
            }
            assert!(
                Instant::now() < deadline,
                "no {what} within {START:?}:\n{}",
                shown(&self.stderr())
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn signal(&self, sig: Signal) {
        let pid = Pid::from_raw(self.child.id() as i32).unwrap();
        kill_process(pid, sig).expect("signal the watch");
    }

    /// Waits for the exit that a signal asked for: its code, and how long it took.
    fn exit(mut self) -> (Option<i32>, Duration, String) {
        let asked = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status.code(), asked.elapsed(), self.stderr());
            }
            if asked.elapsed() > EXIT {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "watch still running {EXIT:?} after the signal:\n{}",
                    shown(&self.stderr())
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// How many runs ended with a summary line ("run N: ...").
    fn runs_done(&self) -> usize {
        self.stderr()
            .lines()
            .filter(|l| {
                l.starts_with("mirrorproof watch: run ")
                    && (l.contains(": ok, ") || l.contains(": PROBLEM, "))
            })
            .count()
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        // A failed assertion must not leave a watch running after the test.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whatever `atomic_write` leaves beside a target while it writes (`.NAME.RANDOM.tmp`),
/// or anything else hidden.
fn temporaries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.') || n.ends_with(".tmp"))
        .collect()
}

fn status_of(report: &Value, name: &str) -> Option<String> {
    report["mirrors"]
        .as_array()?
        .iter()
        .find(|m| m["name"] == name)
        .and_then(|m| m["status"].as_str())
        .map(str::to_owned)
}

fn read_json(p: &Path) -> Option<Value> {
    let bytes = std::fs::read(p).ok()?;
    Some(serde_json::from_slice(&bytes).unwrap_or_else(|e| {
        panic!(
            "{} is not a whole JSON document ({e}): {:?}",
            p.display(),
            shown(&String::from_utf8_lossy(&bytes))
        )
    }))
}

#[test]
fn every_run_rewrites_the_outputs_whole_and_follows_the_mirrors() {
    let mut w = world();
    let profile = w.write_profile("p.toml");
    let out = w.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let (json, prom) = (out.join("report.json"), out.join("mirrors.prom"));
    let mut args = vec![
        profile.display().to_string(),
        "--every".into(),
        "1s".into(),
        "--no-state".into(),
        "--json".into(),
        json.display().to_string(),
    ];
    args.extend(["--prometheus".into(), prom.display().to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut watch = Watch::start(w.path(), &args);

    // A reader that never stops reading while the watch rewrites: every read is a whole
    // document, the old one or the new one.
    let done = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicUsize::new(0));
    let reader = {
        let (done, reads, json, prom) = (done.clone(), reads.clone(), json.clone(), prom.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                if let Some(report) = read_json(&json) {
                    assert_eq!(report["schema"], "mirrorproof.report/1");
                    assert_eq!(
                        report["mirrors"].as_array().map(Vec::len),
                        Some(2),
                        "{report:#}"
                    );
                    reads.fetch_add(1, Ordering::Relaxed);
                }
                if let Ok(text) = std::fs::read_to_string(&prom) {
                    assert!(text.ends_with('\n'), "cut metrics: {text:?}");
                    assert_eq!(
                        text.lines()
                            .filter(|l| l.starts_with("mirrorproof_mirror_ok{"))
                            .count(),
                        2,
                        "{text}"
                    );
                }
            }
        })
    };

    watch.wait_until("a report with both mirrors ok", |_| {
        read_json(&json).is_some_and(|r| {
            status_of(&r, "a").as_deref() == Some("ok")
                && status_of(&r, "b").as_deref() == Some("ok")
        })
    });
    let ok_runs = watch.runs_done();
    assert!(ok_runs >= 1, "{}", watch.stderr());

    // Between two runs, b falls back to the previous release: the next output says so.
    let old = older(&w);
    w.on("b").serves(&old);
    watch.wait_until("a report with b stale", |_| {
        read_json(&json).is_some_and(|r| status_of(&r, "b").as_deref() == Some("stale"))
    });
    let report = read_json(&json).unwrap();
    assert_eq!(status_of(&report, "a").as_deref(), Some("ok"));
    assert_eq!(report["ok"], false);
    let text = std::fs::read_to_string(&prom).unwrap();
    assert!(
        text.lines()
            .any(|l| l.starts_with("mirrorproof_mirror_status{")
                && l.contains("mirror=\"b\"")
                && l.contains("status=\"stale\"")
                && l.ends_with(" 1")),
        "{text}"
    );
    // At least two runs: one saw b ok, a later one saw it stale.
    assert!(watch.runs_done() > ok_runs, "{}", watch.stderr());
    assert!(
        watch
            .stderr()
            .contains("PROBLEM, 1 of 2 mirrors ok (stale 1)"),
        "{}",
        watch.stderr()
    );

    watch.signal(Signal::TERM);
    let (code, _, stderr) = watch.exit();
    done.store(true, Ordering::Relaxed);
    reader.join().expect("every read was a whole document");
    assert_eq!(code, Some(0), "{stderr}");
    assert!(reads.load(Ordering::Relaxed) > 0);
    assert!(stderr.contains("SIGTERM: stopping"), "{stderr}");
    assert_eq!(temporaries(&out), Vec::<String>::new());
    // The last output is still a whole report.
    assert!(read_json(&json).is_some());
}

#[test]
fn a_signal_while_it_sleeps_ends_it_at_once() {
    for (sig, name) in [(Signal::TERM, "SIGTERM"), (Signal::INT, "SIGINT")] {
        let w = world();
        let profile = w.write_profile("p.toml");
        let json = w.path().join("report.json");
        let mut watch = Watch::start(
            w.path(),
            &[
                &profile.display().to_string(),
                "--every",
                "1h",
                "--no-state",
                "--json",
                &json.display().to_string(),
            ],
        );
        watch.wait_until("the first run's summary", |w| w.runs_done() == 1);
        let written = std::fs::read(&json).unwrap();
        watch.signal(sig);
        let (code, took, stderr) = watch.exit();
        assert_eq!(code, Some(0), "{name}: {stderr}");
        // Not the hour the schedule asked for, nor the forced exit's 20 s.
        assert!(took < Duration::from_secs(10), "{name}: {took:?}");
        assert!(stderr.contains(&format!("{name}: stopping")), "{stderr}");
        assert!(stderr.contains("stopped after 1 run\n"), "{stderr}");
        assert!(!stderr.contains("exiting now"), "{stderr}");
        // The output of the one run stays as written, and nothing else is left.
        assert_eq!(std::fs::read(&json).unwrap(), written);
        assert_eq!(temporaries(w.path()), Vec::<String>::new());
    }
}

#[test]
fn a_signal_during_a_stalled_run_gives_the_run_up_and_writes_nothing() {
    let mut w = world();
    // c drips its answers a byte every 10 s: with a 300 s timeout the run would wait on
    // it for minutes.
    let rel = genuine(&w);
    w.mirror("c", "NL")
        .serves(&rel)
        .http(Behavior::SlowDrip(Duration::from_secs(10)));
    let profile = w.write_profile("p.toml");
    let out = w.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let json = out.join("report.json");
    let mut watch = Watch::start(
        w.path(),
        &[
            &profile.display().to_string(),
            "--every",
            "1s",
            "--timeout",
            "300",
            "--state",
            &w.path().join("state").display().to_string(),
            "--json",
            &json.display().to_string(),
        ],
    );
    watch.wait_until("a request to the stalling mirror", |_| {
        w.server("c").requests() > 0
    });
    // The honest mirrors have answered, and the run is still waiting on c.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(watch.runs_done(), 0, "{}", watch.stderr());
    watch.signal(Signal::TERM);
    let (code, took, stderr) = watch.exit();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(took < Duration::from_secs(10), "{took:?}: {stderr}");
    assert!(
        stderr.contains("run 1 stopped before it was over"),
        "{stderr}"
    );
    assert!(!stderr.contains("exiting now"), "{stderr}");
    // Given up: no output, no temporary, no state recorded from half a run.
    assert!(!json.exists());
    assert_eq!(temporaries(&out), Vec::<String>::new());
    let state = w.path().join("state");
    let mut left = Vec::new();
    if state.exists() {
        for e in walk(&state) {
            left.push(e);
        }
    }
    assert!(
        left.iter()
            .all(|p| !p.ends_with(".json") && !p.ends_with(".tmp")),
        "{left:?}"
    );
}

/// Every file below `dir`.
fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p.display().to_string());
        }
    }
    out
}

#[test]
fn a_failed_run_is_reported_and_the_watch_goes_on() {
    let w = world();
    // The pinned root expired a day ago: every run fails (exit 1 for check), none is a
    // configuration error.
    let expired = w
        .root(1)
        .expires(w.now - chrono::TimeDelta::days(1))
        .build();
    w.pin(&expired);
    let profile = w.write_profile("p.toml");
    let json = w.path().join("report.json");
    let mut watch = Watch::start(
        w.path(),
        &[
            &profile.display().to_string(),
            "--every",
            "1s",
            "--no-state",
            "--json",
            &json.display().to_string(),
        ],
    );
    watch.wait_until("two failed runs", |w| {
        w.stderr()
            .contains("run 2 failed: trusted root version 1 expired")
    });
    assert!(
        watch
            .stderr()
            .contains("run 1 failed: trusted root version 1 expired"),
        "{}",
        watch.stderr()
    );
    assert!(!json.exists(), "a failed run writes no report");
    watch.signal(Signal::TERM);
    let (code, _, stderr) = watch.exit();
    assert_eq!(code, Some(0), "{stderr}");
}

#[test]
fn configuration_errors_stop_it_at_once_with_exit_2() {
    let w = world();
    let profile = w.write_profile("p.toml");
    let p = profile.display().to_string();
    let json = w.path().join("report.json").display().to_string();
    for every in ["0", "0s", "10", "ten", "1x", "-5m", "1m1h", "1.5h", ""] {
        let out = run_in(w.path(), &["watch", &p, "--every", every, "--json", &json]);
        assert_eq!(out.code, Some(2), "--every {every:?}: {}", out.describe());
        assert!(out.stderr.contains("--every"), "{}", out.describe());
    }
    let missing_dir = w.path().join("nowhere/report.json").display().to_string();
    let bad_root = {
        let p = w.path().join("bad-root.toml");
        let text = std::fs::read_to_string(&profile)
            .unwrap()
            .replace("pinned-root.json", "no-such-root.json");
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    };
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["no-such-profile.toml", "--every", "1s"],
            "no-such-profile.toml",
        ),
        (vec![&bad_root, "--every", "1s"], "no-such-root.json"),
        (
            vec![&p, "--every", "1s", "--json", &missing_dir],
            "is not a directory",
        ),
        (
            vec![&p, "--every", "1s", "--json", &json, "--html", &json],
            "its own file",
        ),
        (
            vec![&p, "--every", "1s", "--concurrency", "0"],
            "--concurrency",
        ),
        (vec![&p, "--every", "1s", "--channel", "../x"], "channel"),
    ];
    for (args, says) in cases {
        let started = Instant::now();
        let mut all = vec!["watch"];
        all.extend(&args);
        let out = run_in(w.path(), &all);
        assert_eq!(out.code, Some(2), "{args:?}: {}", out.describe());
        assert!(out.stderr.contains(says), "{args:?}: {}", out.describe());
        assert!(started.elapsed() < EXIT, "{args:?}");
        assert!(!Path::new(&json).exists(), "{args:?}");
    }
}

/// The tor processes whose parent is `pid`, each with the torrc it was started with.
fn tor_children(pid: u32) -> Vec<(u32, PathBuf)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(child) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else {
            continue;
        };
        // "PID (COMM) STATE PPID ...": COMM may hold spaces and parentheses.
        let Some((head, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let ppid = rest
            .split_whitespace()
            .nth(1)
            .and_then(|p| p.parse::<u32>().ok());
        if ppid != Some(pid) || !head.ends_with("(tor") {
            continue;
        }
        let cmdline = std::fs::read(format!("/proc/{child}/cmdline")).unwrap_or_default();
        let args: Vec<String> = cmdline
            .split(|b| *b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        if let Some(at) = args.iter().position(|a| a == "-f") {
            out.push((child, PathBuf::from(&args[at + 1])));
        }
    }
    out
}

/// Whether process `pid` still runs tor with `torrc` (a recycled pid does not count).
fn still_running(pid: u32, torrc: &Path) -> bool {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let torrc = torrc.display().to_string();
    cmdline.split(|b| *b == 0).any(|a| a == torrc.as_bytes())
}

#[test]
fn a_stopped_run_leaves_no_managed_tor_behind() {
    let Some(net) = common::tor::Testnet::get() else {
        return;
    };
    let mut w = World::new();
    w.now = mirrorproof::time::now();
    let rel = genuine(&w);
    w.mirror("slow", "FR")
        .serves(&rel)
        .http(Behavior::SlowDrip(Duration::from_secs(10)));
    let profile = w.write_profile("p.toml");
    let mut watch = Watch::start(
        w.path(),
        &[
            &profile.display().to_string(),
            "--every",
            "1s",
            "--no-state",
            "--vantage",
            "tor:FR",
            "--tor-config",
            &net.client_torrc().display().to_string(),
            "--tor-bootstrap-timeout",
            "60",
            "--timeout",
            "300",
        ],
    );
    // Through the tor, the mirror is asked: the run is under way, its tor running.
    watch.wait_until("a request through tor", |_| w.server("slow").requests() > 0);
    let pid = watch.child.id();
    let tors = tor_children(pid);
    assert!(!tors.is_empty(), "no tor below the watch");
    let dirs: Vec<PathBuf> = tors
        .iter()
        .map(|(_, torrc)| torrc.parent().and_then(Path::parent).unwrap().to_path_buf())
        .collect();
    assert!(dirs.iter().all(|d| d.is_dir()), "{dirs:?}");
    watch.signal(Signal::TERM);
    let (code, _, stderr) = watch.exit();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("run 1 stopped before it was over"),
        "{stderr}"
    );
    assert!(!stderr.contains("exiting now"), "{stderr}");
    for (tor, torrc) in &tors {
        assert!(!still_running(*tor, torrc), "tor {tor} outlived the watch");
    }
    for d in &dirs {
        assert!(!d.exists(), "{} is left behind", d.display());
    }
}
