//! `check` with `scheme = "tuf"` against hostile mirrors, each attack mounted for real over
//! loopback HTTP: mirrors serving metadata at the size limits by the hundred, mirrors
//! hiding what they signed (a snapshot behind a newer timestamp, a rotation, another
//! snapshot to the second round), forks, revoked keys, dripping and 404ing mirrors,
//! control characters in signed names, and attacks on the local state.
//!
//! Most mirrors are [`Scripted`] servers: a closure decides each answer from the path and
//! how often it was asked before, so a mirror can change its story between requests.

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
use mirrorproof::report::{Report, Status};
use mirrorproof::run::{self, CheckOptions};
use mirrorproof::schemes::tuf::scheme;
use mirrorproof::state::StateStore;
use mirrorproof::time;
use repo::{ByName, Repo};
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

    /// How many requests asked for a path ending with `suffix`.
    fn asked_ending(&self, suffix: &str) -> usize {
        let asked = self.asked.lock().unwrap();
        asked
            .iter()
            .filter(|(p, _)| p.ends_with(suffix))
            .map(|(_, n)| n)
            .sum()
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
            vantages: Default::default(),
            hooks: Default::default(),
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

impl std::ops::Deref for Ran {
    type Target = Report;
    fn deref(&self) -> &Report {
        &self.report
    }
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

// ---------------------------------------------------------------------------------------
// Hiding.

/// Publishes root 2, rotating the root keys only (signed by the old and the new key), so
/// that a mirror serving root 1 only still serves a timestamp root 2's keys vouch for.
fn rotate_root_keys(repo: &mut Repo) {
    repo.rotate_keys("root", 1);
    repo.signers.get_mut("root").unwrap().push(repo::key(1));
    repo.publish("root");
}

#[test]
fn a_newer_timestamp_over_a_snapshot_the_mirror_then_404s_is_invalid() {
    let repo = Repo::with_target();
    let (a, b) = (honest(&repo), honest(&repo));
    // The timestamp key signs timestamp v+1 naming snapshot v+1, which the mirror never
    // serves: clients that trust it are stuck.
    let (tv, sv) = (repo.version("timestamp") + 1, repo.version("snapshot") + 1);
    let ts = Arc::new(timestamp_with(&repo, |t| {
        t["version"] = json!(tv);
        t["meta"]["snapshot.json"] = json!({"version": sv});
    }));
    let hiding = mirror_with(snapshot_of(repo.path()), move |p, _| {
        (p == "/metadata/timestamp.json").then(|| Reply::Ok(ts.clone()))
    });
    let s = setup(
        &repo.root_bytes(1),
        &[("a", a.url()), ("b", b.url()), ("hiding", hiding.url())],
        &["pkg.tar"],
    );
    let r = s.run();
    r.expect("a", Status::Ok);
    r.expect("b", Status::Ok);
    r.expect("hiding", Status::Invalid);
    assert!(
        r.error("hiding").contains(&format!("{sv}.snapshot.json")),
        "{}",
        r.table()
    );
    assert_eq!(hiding.asked(&format!("/metadata/{sv}.snapshot.json")), 1);
}

#[test]
fn a_mirror_that_serves_another_snapshot_to_the_second_round_is_equivocating() {
    let mut repo = Repo::with_target();
    let behind_files = snapshot_of(repo.path());
    let sv = repo.version("snapshot");
    // The snapshot key signs another snapshot under the same version.
    let mut other = repo.md["snapshot"].clone();
    other["meta"]["extra.json"] = json!({"version": 1});
    let other = Arc::new(repo::sign(&other, &[&repo.signers["snapshot"][0]]));
    rotate_root_keys(&mut repo);
    // The other mirror is past that snapshot: only this mirror ever serves version sv.
    repo.update_snapshot();
    let rotated = honest(&repo);
    // Behind root 2, so walked twice: the first snapshot to round one, the other after.
    let name = format!("/metadata/{sv}.snapshot.json");
    let (n2, other2) = (name.clone(), other.clone());
    let behind = mirror_with(behind_files, move |p, n| {
        (p == n2 && n >= 1).then(|| Reply::Ok(other2.clone()))
    });
    let s = setup(
        &repo.root_bytes(1),
        &[("rotated", rotated.url()), ("behind", behind.url())],
        &["pkg.tar"],
    );
    let ev = s.dir.path().join("evidence");
    let r = s.run_with(Duration::from_secs(10), false, Some(&ev));
    assert_eq!(behind.asked(&name), 2, "{}", r.table());
    r.expect("behind", Status::Equivocating);
    assert!(
        r.error("behind").contains(&format!("snapshot {sv}")),
        "{}",
        r.table()
    );
    let e = &r.report.equivocations[0];
    assert_eq!((e.kind.as_deref(), e.version), (Some("snapshot"), sv));
    // Both of what it served are in the bundle.
    let first = std::fs::read(ev.join(format!("mirrors/0001/{sv}.snapshot.json"))).unwrap();
    let again = std::fs::read(ev.join(format!("mirrors/0001/again/{sv}.snapshot.json"))).unwrap();
    assert_ne!(first, again);
    assert_eq!(again, *other);
}

#[test]
fn a_mirror_serving_only_the_old_root_chain_is_stale_never_ok() {
    let mut repo = Repo::with_target();
    let behind = honest(&repo);
    rotate_root_keys(&mut repo);
    let rotated = honest(&repo);
    let s = setup(
        &repo.root_bytes(1),
        &[("rotated", rotated.url()), ("behind", behind.url())],
        &["pkg.tar"],
    );
    let r = s.run();
    r.expect("rotated", Status::Ok);
    // The same timestamp, which root 2's keys vouch for; but a client of this mirror never
    // learns root 2, which revoked a root key.
    r.expect("behind", Status::Stale);
    assert!(r.error("behind").contains("root 2"), "{}", r.table());
    assert!(!r.report.ok);
}

#[test]
fn a_newer_timestamp_signed_by_a_revoked_key_is_invalid_even_beside_the_new_root() {
    let mut repo = Repo::with_target();
    let old_key = repo::key(2);
    assert_eq!(
        repo::keyid(&old_key),
        repo::keyid(&repo.signers["timestamp"][0])
    );
    repo.rotate_keys("timestamp", 1);
    repo.publish("root");
    repo.update_snapshot();
    let rotated = honest(&repo);
    let mut ts = repo.md["timestamp"].clone();
    ts["version"] = json!(repo.version("timestamp") + 5);
    let forged = Arc::new(repo::sign(&ts, &[&old_key]));
    let revoked = mirror_with(snapshot_of(repo.path()), move |p, _| {
        (p == "/metadata/timestamp.json").then(|| Reply::Ok(forged.clone()))
    });
    let s = setup(
        &repo.root_bytes(1),
        &[("rotated", rotated.url()), ("revoked", revoked.url())],
        &["pkg.tar"],
    );
    let r = s.run();
    r.expect("rotated", Status::Ok);
    r.expect("revoked", Status::Invalid);
    assert!(r.error("revoked").contains("threshold"), "{}", r.table());
    assert_eq!(
        r.report.latest.as_ref().unwrap().version,
        repo.version("timestamp")
    );
}

/// A repository delegating `pkgs/*` from targets to `role`, which lists `pkgs/a.tar`.
fn repo_with_delegation(role: &str) -> Repo {
    let mut repo = Repo::new();
    repo.delegate("targets", role, &["pkgs/*"], false);
    repo.add_target(role, "pkgs/a.tar", b"delegated bytes");
    repo.publish(role);
    repo.update_targets();
    repo
}

/// The delegated role re-signed under the same version with one more target.
fn split_delegation(repo: &mut Repo, role: &str) {
    repo.md.get_mut(role).unwrap()["targets"]["pkgs/evil.tar"] =
        json!({"length": 4, "hashes": {"sha256": "00".repeat(32)}});
    repo.write(role);
}

#[test]
fn mirrors_that_equivocate_on_a_delegated_role_are_equivocating() {
    let mut repo = repo_with_delegation("pkgs");
    let (a, b) = (honest(&repo), honest(&repo));
    split_delegation(&mut repo, "pkgs");
    let split = honest(&repo);
    let s = setup(
        &repo.root_bytes(1),
        &[("a", a.url()), ("b", b.url()), ("split", split.url())],
        &["pkgs/a.tar"],
    );
    let r = s.run();
    for m in ["a", "b", "split"] {
        r.expect(m, Status::Equivocating);
    }
    let e = &r.report.equivocations[0];
    assert_eq!(e.kind.as_deref(), Some("pkgs"));
    assert_eq!(e.payload_sha256.len(), 2);
    assert!(r.report.latest.is_some() && !r.state_written);
}

#[test]
fn a_fork_of_one_timestamp_version_makes_both_halves_equivocating_with_both_kept() {
    let repo = Repo::with_target();
    let tv = repo.version("timestamp");
    let other = Arc::new(timestamp_with(&repo, |t| {
        t["expires"] = json!(repo::expiry(
            chrono::Utc::now() + chrono::TimeDelta::days(9)
        ));
    }));
    let mut mirrors = Vec::new();
    for i in 0..6 {
        let other = other.clone();
        mirrors.push(mirror_with(snapshot_of(repo.path()), move |p, _| {
            (i >= 3 && p == "/metadata/timestamp.json").then(|| Reply::Ok(other.clone()))
        }));
    }
    let names: Vec<String> = (0..6).map(|i| format!("m{i}")).collect();
    let list: Vec<(&str, String)> = names
        .iter()
        .zip(&mirrors)
        .map(|(n, m)| (n.as_str(), m.url()))
        .collect();
    let s = setup(&repo.root_bytes(1), &list, &["pkg.tar"]);
    let ev = s.dir.path().join("evidence");
    let r = s.run_with(Duration::from_secs(10), true, Some(&ev));
    for n in &names {
        r.expect(n, Status::Equivocating);
    }
    let e = &r.report.equivocations[0];
    assert_eq!((e.kind.as_deref(), e.version), (None, tv));
    assert_eq!(e.payload_sha256.len(), 2);
    assert_eq!(e.mirrors.len(), 6);
    assert!(!r.state_written);
    assert_eq!(state_version(&s, "default"), None);
    let kept = |i: usize| std::fs::read(ev.join(format!("mirrors/{i:04}/timestamp.json"))).unwrap();
    let honest_ts = std::fs::read(repo.path().join("metadata/timestamp.json")).unwrap();
    for i in 0..3 {
        assert_eq!(kept(i), honest_ts);
    }
    for i in 3..6 {
        assert_eq!(kept(i), *other);
    }
}

// ---------------------------------------------------------------------------------------
// Slowness.

#[test]
fn a_mirror_dripping_a_delegated_role_costs_one_timeout_not_one_per_round() {
    let mut repo = repo_with_delegation("team a");
    let behind_files = snapshot_of(repo.path());
    rotate_root_keys(&mut repo);
    let rotated = honest(&repo);
    // Behind root 2 (so visited twice), fast for everything but the delegated role, whose
    // quoted name is not a plain path segment.
    let drip = mirror_with(behind_files, |p, _| {
        p.ends_with(".team a.json")
            .then(|| Reply::Drip(Arc::new(vec![b'{'; 4096]), Duration::from_secs(1)))
    });
    let s = setup(
        &repo.root_bytes(1),
        &[("rotated", rotated.url()), ("drip", drip.url())],
        &["pkgs/a.tar"],
    );
    let timeout = Duration::from_secs(3);
    let r = s.run_with(timeout, false, None);
    r.expect("rotated", Status::Ok);
    let m = r.mirror("drip");
    assert_ne!(m.status, Status::Ok, "{}", r.table());
    assert_eq!(drip.asked_ending(".team a.json"), 1, "{}", r.table());
    assert!(
        r.took < timeout * 3 / 2 + Duration::from_secs(2),
        "took {:?}",
        r.took
    );
}

#[test]
fn a_mirror_that_404s_everything_quickly_is_not_ok() {
    let repo = Repo::with_target();
    let a = honest(&repo);
    let gone = Scripted::start(|_, _| Reply::Status(404));
    let s = setup(
        &repo.root_bytes(1),
        &[("a", a.url()), ("gone", gone.url())],
        &["pkg.tar"],
    );
    let r = s.run();
    r.expect("a", Status::Ok);
    r.expect("gone", Status::Unreachable);
    assert!(r.error("gone").contains("404"), "{}", r.table());
    assert!(!r.report.ok);
}

// ---------------------------------------------------------------------------------------
// Names.

#[test]
fn control_and_bidi_characters_in_signed_role_names_never_reach_the_terminal_raw() {
    let role = "evil\u{1b}]0;pwned\u{7}\u{1b}[2J\u{202e}cod.exe";
    let mut repo = repo_with_delegation(role);
    let a = honest(&repo);
    split_delegation(&mut repo, role);
    let split = honest(&repo);
    let s = setup(
        &repo.root_bytes(1),
        &[("a", a.url()), ("split", split.url())],
        &["pkgs/a.tar"],
    );
    let out = Command::new(BIN)
        .args(["check", "--no-state", "--timeout", "10"])
        .arg(s.path())
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    // The equivocation on the role is reported, by its escaped name.
    assert!(stdout.contains("EQUIVOCATION"), "{stdout}");
    assert!(stdout.contains("evil\\u{1b}]0;pwned"), "{stdout}");
    for c in ['\u{1b}', '\u{7}', '\u{202e}'] {
        assert!(!stdout.contains(c), "raw {c:?} on stdout: {stdout:?}");
        assert!(!stderr.contains(c), "raw {c:?} on stderr: {stderr:?}");
    }
    // The JSON report escapes them too, and still names the role exactly.
    let out = Command::new(BIN)
        .args(["check", "--no-state", "--json", "--timeout", "10"])
        .arg(s.path())
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for c in ['\u{1b}', '\u{7}', '\u{202e}'] {
        assert!(!text.contains(c), "raw {c:?} in the JSON report: {text:?}");
    }
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["equivocations"][0]["kind"], role);
    assert_eq!(json["mirrors"][0]["documents"][role], 2);
}

// ---------------------------------------------------------------------------------------
// State.

#[test]
fn a_higher_timestamp_over_garbage_never_moves_the_state() {
    let mut repo = Repo::with_target();
    repo.update_snapshot();
    let a = honest(&repo);
    let s = setup(&repo.root_bytes(1), &[("a", a.url())], &["pkg.tar"]);
    assert!(
        s.run_with(Duration::from_secs(10), true, None)
            .state_written
    );
    let (tv, sv) = (repo.version("timestamp"), repo.version("snapshot"));
    assert_eq!(state_version(&s, "default"), Some(tv));
    assert_eq!(state_version(&s, "default.snapshot"), Some(sv));
    // A timestamp the key signed, naming a snapshot that is garbage; and a timestamp that
    // claims version 999 under no signature at all.
    let ts = Arc::new(timestamp_with(&repo, |t| {
        t["version"] = json!(tv + 1);
        t["meta"]["snapshot.json"] = json!({"version": sv + 1});
    }));
    let garbage_snapshot = mirror_with(snapshot_of(repo.path()), move |p, _| {
        if p == "/metadata/timestamp.json" {
            Some(Reply::Ok(ts.clone()))
        } else {
            p.ends_with(".snapshot.json")
                .then(|| Reply::Ok(Arc::new(b"{\"signed\": {\"version\": 999}}".to_vec())))
        }
    });
    let mut unsigned = repo.md["timestamp"].clone();
    unsigned["version"] = json!(999);
    let unsigned =
        Arc::new(serde_json::to_vec(&json!({"signed": unsigned, "signatures": []})).unwrap());
    let claims = mirror_with(snapshot_of(repo.path()), move |p, _| {
        (p == "/metadata/timestamp.json").then(|| Reply::Ok(unsigned.clone()))
    });
    let s2 = setup(
        &repo.root_bytes(1),
        &[
            ("garbage", garbage_snapshot.url()),
            ("claims", claims.url()),
        ],
        &["pkg.tar"],
    );
    copy_state(&s, &s2);
    let r = s2.run_with(Duration::from_secs(10), true, None);
    r.expect("garbage", Status::Invalid);
    r.expect("claims", Status::Invalid);
    assert!(!r.state_written);
    assert_eq!(state_version(&s2, "default"), Some(tv));
    assert_eq!(state_version(&s2, "default.snapshot"), Some(sv));
}

fn copy_state(from: &Setup, to: &Setup) {
    let (src, dst) = (from.state(), to.state());
    fn copy(src: &Path, dst: &Path) {
        std::fs::create_dir_all(dst).unwrap();
        for e in std::fs::read_dir(src).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                copy(&e.path(), &dst.join(e.file_name()));
            } else {
                std::fs::copy(e.path(), dst.join(e.file_name())).unwrap();
            }
        }
    }
    copy(&src, &dst);
}

#[test]
fn another_snapshot_under_the_recorded_version_is_equivocating_across_runs() {
    let mut repo = Repo::with_target();
    let a = honest(&repo);
    let s = setup(&repo.root_bytes(1), &[("a", a.url())], &["pkg.tar"]);
    assert!(
        s.run_with(Duration::from_secs(10), true, None)
            .state_written
    );
    let (tv, sv) = (repo.version("timestamp"), repo.version("snapshot"));
    // Later, the snapshot key signs another snapshot under the recorded version, and the
    // timestamp key a newer timestamp naming it: every version moves forward or stays, so
    // only the recorded digest tells.
    repo.md.get_mut("snapshot").unwrap()["meta"]["extra.json"] = json!({"version": 1});
    repo.write("snapshot");
    repo.publish("timestamp");
    let b = honest(&repo);
    let s2 = setup(&repo.root_bytes(1), &[("b", b.url())], &["pkg.tar"]);
    copy_state(&s, &s2);
    let r = s2.run_with(Duration::from_secs(10), true, None);
    r.expect("b", Status::Equivocating);
    assert!(
        r.error("b").contains(&format!("snapshot {sv}")),
        "{}",
        r.table()
    );
    assert!(!r.state_written);
    assert_eq!(state_version(&s2, "default"), Some(tv));
}
