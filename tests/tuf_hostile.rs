//! `check` with `scheme = "tuf"` against hostile mirrors, each attack mounted for real over
//! loopback HTTP: mirrors serving metadata at the size limits by the hundred, mirrors
//! hiding what they signed (a snapshot behind a newer timestamp, a rotation, another
//! snapshot to the second round), forks, revoked keys, dripping and 404ing mirrors,
//! control characters in signed names, and attacks on the local state.
//!
//! Most mirrors are [`Scripted`] servers: a closure decides each answer from the path and
//! how often it was asked before, so a mirror can change its story between requests.

#![allow(dead_code)] // helpers for the scenarios below

#[path = "common/tuf.rs"]
mod repo;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use mirrorproof::evidence::EvidenceDir;
use mirrorproof::fetch::{ArtifactMode, FetchConfig};
use mirrorproof::profile::Profile;
use mirrorproof::report::{MirrorReport, Report, Status};
use mirrorproof::run::{self, CheckOptions};
use mirrorproof::schemes::tuf::scheme;
use mirrorproof::state::StateStore;
use mirrorproof::time;
use repo::Repo;
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_mirrorproof");

// ---------------------------------------------------------------------------------------
// A scripted loopback server.

/// One answer.
#[derive(Clone)]
enum Reply {
    Ok(Arc<Vec<u8>>),
    Status(u16),
    /// 200 with a Content-Length, then the body one byte per interval.
    Drip(Arc<Vec<u8>>, Duration),
}

/// Decides the answer from the decoded path and how many times it was asked before.
type Script = dyn Fn(&str, usize) -> Reply + Send + Sync;

struct Scripted {
    port: u16,
    stop: Arc<AtomicBool>,
    asked: Arc<Mutex<HashMap<String, usize>>>,
}

impl Scripted {
    fn start(script: impl Fn(&str, usize) -> Reply + Send + Sync + 'static) -> Scripted {
        let script: Arc<Script> = Arc::new(script);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let asked: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        let (s, a) = (stop.clone(), asked.clone());
        thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        let (s, a, script) = (s.clone(), a.clone(), script.clone());
                        thread::spawn(move || serve(conn, &*script, &a, &s));
                    }
                    Err(_) => thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        Scripted { port, stop, asked }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// How many times `path` (decoded) was asked for.
    fn asked(&self, path: &str) -> usize {
        self.asked.lock().unwrap().get(path).copied().unwrap_or(0)
    }

    fn total(&self) -> usize {
        self.asked.lock().unwrap().values().sum()
    }
}

impl Drop for Scripted {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn serve(
    mut conn: TcpStream,
    script: &Script,
    asked: &Mutex<HashMap<String, usize>>,
    stop: &AtomicBool,
) {
    let _ = conn.set_nonblocking(false);
    let _ = conn.set_read_timeout(Some(Duration::from_millis(50)));
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        if stop.load(Ordering::SeqCst) || head.len() > 64 * 1024 {
            return;
        }
        match conn.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return,
        }
    }
    let line = String::from_utf8_lossy(&head)
        .lines()
        .next()
        .unwrap_or("")
        .to_owned();
    let raw = line.split(' ').nth(1).unwrap_or("/");
    let path = decode(raw);
    let n = {
        let mut a = asked.lock().unwrap();
        let c = a.entry(path.clone()).or_default();
        *c += 1;
        *c - 1
    };
    let _ = conn.set_write_timeout(Some(Duration::from_secs(30)));
    match script(&path, n) {
        Reply::Ok(body) => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = conn.write_all(head.as_bytes());
            let _ = conn.write_all(&body);
        }
        Reply::Status(code) => {
            let head = format!(
                "HTTP/1.1 {code} Nope\r\nContent-Length: 4\r\nConnection: close\r\n\r\nnope"
            );
            let _ = conn.write_all(head.as_bytes());
        }
        Reply::Drip(body, every) => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = conn.write_all(head.as_bytes());
            for b in body.iter() {
                if stop.load(Ordering::SeqCst) || conn.write_all(&[*b]).is_err() {
                    return;
                }
                thread::sleep(every);
            }
        }
    }
    let _ = conn.shutdown(Shutdown::Write);
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Some(v) = std::str::from_utf8(&b[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The files of a directory as they are now, by path below it (`/metadata/...`).
fn snapshot_of(dir: &Path) -> HashMap<String, Arc<Vec<u8>>> {
    fn walk(base: &Path, dir: &Path, out: &mut HashMap<String, Arc<Vec<u8>>>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                walk(base, &e.path(), out);
            } else {
                let rel = e.path().strip_prefix(base).unwrap().to_owned();
                let key = format!("/{}", rel.to_string_lossy());
                out.insert(key, Arc::new(std::fs::read(e.path()).unwrap()));
            }
        }
    }
    let mut out = HashMap::new();
    walk(dir, dir, &mut out);
    out
}

/// A mirror serving `files`, with `alter` deciding first (None: serve the file or 404).
fn mirror_with(
    files: HashMap<String, Arc<Vec<u8>>>,
    alter: impl Fn(&str, usize) -> Option<Reply> + Send + Sync + 'static,
) -> Scripted {
    Scripted::start(move |path, n| {
        if let Some(r) = alter(path, n) {
            return r;
        }
        match files.get(path) {
            Some(b) => Reply::Ok(b.clone()),
            None => Reply::Status(404),
        }
    })
}

/// An honest mirror of the repository as it is now.
fn honest(repo: &Repo) -> Scripted {
    mirror_with(snapshot_of(repo.path()), |_, _| None)
}

// ---------------------------------------------------------------------------------------
// Profiles and runs.

struct Setup {
    dir: tempfile::TempDir,
    profile: Profile,
}

/// A profile pinning `root`, with each mirror's metadata under `BASE/metadata/` and its
/// targets under `BASE/targets/`.
fn setup(root: &[u8], mirrors: &[(&str, String)], targets: &[&str]) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("root.json"), root).unwrap();
    let mut text = String::from("name = \"repo\"\nscheme = \"tuf\"\nroot = \"root.json\"\n");
    if !targets.is_empty() {
        text.push_str(&format!("targets = {}\n", json!(targets)));
    }
    for (name, base) in mirrors {
        text.push_str(&format!(
            "\n[[mirrors]]\nname = \"{name}\"\nurl = \"{base}metadata/\"\ntargets_url = \"{base}targets/\"\n"
        ));
    }
    let path = dir.path().join("profile.toml");
    std::fs::write(&path, text).unwrap();
    let profile = Profile::load(&path).unwrap();
    Setup { dir, profile }
}

struct Ran {
    report: Report,
    state_written: bool,
    took: Duration,
}

impl Setup {
    fn path(&self) -> PathBuf {
        self.dir.path().join("profile.toml")
    }

    fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    fn run_with(&self, timeout: Duration, state: bool, evidence: Option<&Path>) -> Ran {
        let opts = CheckOptions {
            channel: self.profile.channel.clone(),
            artifacts: ArtifactMode::Full,
            fetch: FetchConfig {
                timeout,
                ..FetchConfig::default()
            },
            state: state.then(|| StateStore::new(self.state())),
            now: time::now(),
        };
        let ev = evidence.map(|p| Arc::new(EvidenceDir::create(p).unwrap()));
        let started = Instant::now();
        let out = run::check_profile(
            &self.profile,
            self.profile.mirrors.clone(),
            opts,
            ev.clone(),
        )
        .unwrap();
        let took = started.elapsed();
        if let Some(ev) = ev {
            out.finish_evidence(&ev, &self.profile).unwrap();
        }
        Ran {
            report: out.report,
            state_written: out.state_written,
            took,
        }
    }

    fn run(&self) -> Ran {
        self.run_with(Duration::from_secs(10), false, None)
    }
}

impl Ran {
    fn mirror(&self, name: &str) -> &MirrorReport {
        self.report
            .mirrors
            .iter()
            .find(|m| m.name.as_deref() == Some(name))
            .unwrap_or_else(|| panic!("no mirror {name}\n{}", self.table()))
    }

    #[track_caller]
    fn expect(&self, name: &str, status: Status) -> &MirrorReport {
        let m = self.mirror(name);
        assert_eq!(m.status, status, "mirror {name}\n{}", self.table());
        m
    }

    fn error(&self, name: &str) -> &str {
        self.mirror(name).error.as_deref().unwrap_or("")
    }

    fn table(&self) -> String {
        let mut s = self.report.render_human();
        s.push_str(&self.report.to_json());
        s
    }
}

fn repo_with_target() -> Repo {
    let mut repo = Repo::new();
    repo.add_target("targets", "pkg.tar", b"package bytes");
    repo.update_targets();
    repo
}

/// The signed timestamp, re-signed with `keys` after `edit`.
fn timestamp_with(repo: &Repo, edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let mut ts = repo.md["timestamp"].clone();
    edit(&mut ts);
    let keys: Vec<_> = repo.signers["timestamp"].iter().collect();
    repo::sign(&ts, &keys)
}

fn state_version(s: &Setup, channel: &str) -> Option<u64> {
    StateStore::new(s.state())
        .load(&scheme::state_key("repo"), channel)
        .unwrap()
        .map(|c| c.version)
}

// ---------------------------------------------------------------------------------------
// Memory.

const MIB: usize = 1024 * 1024;
/// "Does not hang", and the point at which a run is killed for memory.
const WATCHDOG: Duration = Duration::from_secs(300);
const KILL_AT_KIB: u64 = 2 * 1024 * 1024;

/// Runs the binary on `profile`, reading its peak resident memory (`VmHWM`); kills it
/// (and fails) past [`KILL_AT_KIB`], so a run that keeps every mirror's documents does not
/// take the machine down with it.
fn sweep(profile: &Path, extra: &[&str]) -> (serde_json::Value, u64) {
    let mut child = Command::new(BIN)
        .arg("check")
        .arg(profile)
        .args([
            "--json",
            "--no-state",
            "--artifacts",
            "none",
            "--timeout",
            "60",
        ])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let stdout = thread::spawn(move || {
        let mut b = Vec::new();
        let _ = out.read_to_end(&mut b);
        b
    });
    let stderr = thread::spawn(move || {
        let mut b = Vec::new();
        let _ = err.read_to_end(&mut b);
        b
    });
    let started = Instant::now();
    let mut peak = 0;
    loop {
        if let Ok(s) = std::fs::read_to_string(format!("/proc/{}/status", child.id()))
            && let Some(l) = s.lines().find(|l| l.starts_with("VmHWM:"))
        {
            peak = l.split_whitespace().nth(1).unwrap().parse().unwrap();
        }
        if let Some(_status) = child.try_wait().unwrap() {
            break;
        }
        if peak > KILL_AT_KIB || started.elapsed() > WATCHDOG {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "killed after {:?} at a peak of {peak} KiB: memory follows the number of mirrors",
                started.elapsed()
            );
        }
        thread::sleep(Duration::from_millis(20));
    }
    let (stdout, stderr) = (stdout.join().unwrap(), stderr.join().unwrap());
    let report = serde_json::from_slice(&stdout).unwrap_or_else(|e| {
        panic!("no report ({e}): {}", String::from_utf8_lossy(&stderr));
    });
    eprintln!(
        "peak RSS {peak} KiB in {} ms",
        started.elapsed().as_millis()
    );
    (report, peak)
}

/// Pads `role`'s signed part with an unrecognised field (TUF keeps such fields under the
/// signature) until its signed file is just under `limit` bytes: the largest document a
/// mirror may send, cheap to verify even in a debug build.
fn pad(repo: &mut Repo, role: &str, limit: usize) -> Vec<u8> {
    repo.md.get_mut(role).unwrap()["x-padding"] = json!("");
    let bare = repo.write(role).len();
    repo.md.get_mut(role).unwrap()["x-padding"] = json!("p".repeat(limit - bare - 64));
    let bytes = repo.write(role);
    assert!(
        bytes.len() <= limit && bytes.len() > limit - 128,
        "{role}: {}",
        bytes.len()
    );
    bytes
}

/// 300 mirrors serve metadata at TUF's size limits: a timestamp of almost 16 KiB on each;
/// on one in five, a validly signed snapshot of 2 MB and targets of 5 MB; on the others,
/// 2 MB of junk where the snapshot should be. The verified documents alone come to 420 MB
/// and the bytes served to 1 GB: a run must hold what the mirrors in flight need, not every
/// mirror's documents until the end. (Native sweeps of 600 mirrors serving 1 MiB of junk
/// stay under 150 MiB: tests/scale.rs.) One in five only, as verifying 7 MB takes a
/// debug build half a second a mirror.
#[test]
fn three_hundred_mirrors_at_the_size_limits_cost_memory_by_concurrency_not_by_mirrors() {
    let mut repo = Repo::new();
    repo.publish("targets");
    pad(&mut repo, "targets", 5_000_000);
    repo.publish("snapshot");
    pad(&mut repo, "snapshot", 2_000_000);
    repo.publish("timestamp");
    pad(&mut repo, "timestamp", 16_384);
    let files = Arc::new(snapshot_of(repo.path()));
    let junk = Arc::new(vec![b'j'; 2_000_000]);
    // Ten hosts, thirty entries each: `/vNNN/metadata/...` valid, `/jNNN/...` junk.
    let hosts: Vec<Scripted> = (0..10)
        .map(|_| {
            let (files, junk) = (files.clone(), junk.clone());
            Scripted::start(move |path, _| {
                let Some((entry, rest)) = path.trim_start_matches('/').split_once('/') else {
                    return Reply::Status(404);
                };
                if entry.starts_with('j') && rest.ends_with(".snapshot.json") {
                    return Reply::Ok(junk.clone());
                }
                match files.get(&format!("/{rest}")) {
                    Some(b) => Reply::Ok(b.clone()),
                    None => Reply::Status(404),
                }
            })
        })
        .collect();
    let names: Vec<(String, String)> = (0..300)
        .map(|i| {
            let h = &hosts[i % hosts.len()];
            let name = format!("{}{i:03}", if i % 5 == 0 { 'v' } else { 'j' });
            let url = format!("{}{name}/", h.url());
            (name, url)
        })
        .collect();
    let refs: Vec<(&str, String)> = names.iter().map(|(n, u)| (n.as_str(), u.clone())).collect();
    let s = setup(&repo.root_bytes(1), &refs, &[]);
    let (report, peak) = sweep(&s.path(), &["--max-metadata-bytes", "5000000"]);
    let mirrors = report["mirrors"].as_array().unwrap();
    assert_eq!(mirrors.len(), 300);
    for m in mirrors {
        if m["name"].as_str().unwrap().starts_with('v') {
            assert_eq!(m["status"], "ok", "{m}");
            assert_eq!(m["documents"]["targets"], repo.version("targets"));
        } else {
            assert_eq!(m["status"], "invalid", "{m}");
        }
    }
    assert!(peak < 256 * 1024, "peak RSS {peak} KiB");
}
