//! Worlds for vantage tests: a few honest HTTP mirrors, "black boxes" (servers a hostile
//! network sends one mirror's connections to: an older release, flipped bytes, another
//! signed release), profiles with `[[vantages]]`, and the real binary's JSON report read
//! entry by entry (`mirror` x `vantage`).
//!
//! Releases are signed relative to the wall clock (`World::now` is moved to it): the binary
//! judges expiry at the time it runs.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::binary::{self, Out};
use super::{PROJECT, Release, World, genuine, older};

/// Countries the honest mirrors of [`world`] are in, in turn.
const COUNTRIES: [&str; 4] = ["FR", "DE", "US", "JP"];

/// A world whose clock is the wall clock, with `n` honest mirrors `m0`..`m{n-1}` serving the
/// genuine release over loopback HTTP. Returns the world and the release they serve.
pub fn world(n: usize) -> (World, Release) {
    let mut w = World::new();
    w.now = mirrorproof::time::now();
    let rel = genuine(&w);
    for i in 0..n {
        w.mirror(&format!("m{i}"), COUNTRIES[i % COUNTRIES.len()])
            .serves(&rel)
            .over_http();
    }
    (w, rel)
}

/// The country of [`world`]'s mirror `m{i}`; other mirrors are listed in NL.
pub fn country_of(name: &str) -> &'static str {
    name.strip_prefix('m')
        .and_then(|i| i.parse::<usize>().ok())
        .map_or("NL", |i| COUNTRIES[i % COUNTRIES.len()])
}

/// The names of [`world`]'s first `n` mirrors.
pub fn names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("m{i}")).collect()
}

/// A black box's server: a mirror of the world that no profile lists, serving `release`.
/// Returns the address a proxy routes a mirror's connections to.
pub fn black_box(w: &mut World, name: &str, release: &Release) -> SocketAddr {
    w.mirror(name, "ZZ").serves(release).over_http();
    w.server(name).addr()
}

/// A black box that serves the genuine release with one bit of its artifact flipped.
pub fn flipping_box(w: &mut World, name: &str, release: &Release) -> SocketAddr {
    w.mirror(name, "ZZ")
        .serves(release)
        .tamper_artifact(super::ZIP)
        .over_http();
    w.server(name).addr()
}

/// The previous signed release (three weeks old, still within its expiry).
pub fn previous(w: &World) -> Release {
    older(w)
}

/// Another release of the latest version, validly signed by other release keys over other
/// artifact bytes: what release keys that equivocate would hand one country.
pub fn other_same_version(w: &World) -> Release {
    w.release(super::V)
        .published(w.now - chrono::TimeDelta::hours(2))
        .signed_by(&[1, 2])
        .artifact_bytes(super::ZIP, b"a release made for one country only")
        .build()
}

/// `host:port` of a mirror's URL, as a proxy sees it asked for.
pub fn authority(w: &World, name: &str) -> String {
    let url = url::Url::parse(&w.url_of(name)).unwrap();
    format!(
        "{}:{}",
        url.host_str().unwrap(),
        url.port_or_known_default().unwrap()
    )
}

/// One `[[vantages]]` table (or `--vantage` spec): a proxy standing for a country.
#[derive(Clone, Debug)]
pub struct Vantage {
    pub name: String,
    pub proxy: String,
    pub country: String,
}

pub fn vantage(name: &str, proxy: &str, country: &str) -> Vantage {
    Vantage {
        name: name.into(),
        proxy: proxy.into(),
        country: country.into(),
    }
}

impl Vantage {
    /// The `--vantage` argument for it.
    pub fn arg(&self) -> String {
        format!(
            "name={},proxy={},country={}",
            self.name, self.proxy, self.country
        )
    }
}

/// Writes a profile listing the world's mirrors `mirrors` (by name, with their URLs and
/// countries as the world knows them) and `vantages` as `[[vantages]]` tables.
pub fn profile(w: &World, file: &str, mirrors: &[String], vantages: &[Vantage]) -> PathBuf {
    let mut text = format!(
        "name = \"{PROJECT}\"\nroot = {:?}\nchannel = {:?}\n",
        w.pinned_path().display().to_string(),
        w.channel
    );
    for name in mirrors {
        text.push_str(&format!(
            "\n[[mirrors]]\nurl = {:?}\ncountry = {:?}\nname = {:?}\n",
            w.url_of(name),
            country_of(name),
            name
        ));
    }
    for v in vantages {
        text.push_str(&format!(
            "\n[[vantages]]\nname = {:?}\nproxy = {:?}\ncountry = {:?}\n",
            v.name, v.proxy, v.country
        ));
    }
    let p = w.path().join(file);
    std::fs::write(&p, text).unwrap();
    p
}

/// What one `check --json` run of the binary said.
pub struct Checked {
    pub out: Out,
    pub json: Value,
}

/// Runs `mirrorproof check PROFILE --no-state --json ARGS...` in the world's directory.
pub fn check<S: AsRef<str>>(w: &World, profile: &Path, args: &[S]) -> Checked {
    check_in(w.path(), profile, args)
}

/// [`check`] in directory `dir`, for runs on a thread of their own ([`ends_within`]).
pub fn check_in<S: AsRef<str>>(dir: &Path, profile: &Path, args: &[S]) -> Checked {
    let mut all = vec![
        "check".to_owned(),
        profile.display().to_string(),
        "--no-state".into(),
        "--json".into(),
    ];
    all.extend(args.iter().map(|a| a.as_ref().to_owned()));
    let out = binary::run_in(dir, &all);
    let json = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("no JSON report ({e}):\n{}", out.describe()));
    Checked { out, json }
}

/// `--vantage` arguments for these vantages, plus `direct` first when asked.
pub fn vantage_args(direct: bool, vantages: &[&Vantage]) -> Vec<String> {
    let mut args = Vec::new();
    if direct {
        args.extend(["--vantage".to_owned(), "direct".to_owned()]);
    }
    for v in vantages {
        args.extend(["--vantage".to_owned(), v.arg()]);
    }
    args
}

impl Checked {
    pub fn code(&self) -> Option<i32> {
        self.out.code
    }

    pub fn entries(&self) -> &Vec<Value> {
        self.json["mirrors"].as_array().expect("mirrors[]")
    }

    /// The entry of mirror `name` seen through `vantage` (exactly one).
    #[track_caller]
    pub fn entry(&self, name: &str, vantage: &str) -> &Value {
        let found: Vec<&Value> = self
            .entries()
            .iter()
            .filter(|m| m["name"] == name && m["vantage"] == vantage)
            .collect();
        assert_eq!(
            found.len(),
            1,
            "entries of {name} through {vantage}:\n{}",
            self.table()
        );
        found[0]
    }

    #[track_caller]
    pub fn status(&self, name: &str, vantage: &str) -> &str {
        self.entry(name, vantage)["status"].as_str().unwrap()
    }

    /// Asserts the status of every entry of `vantage` whose mirror is in `names`.
    #[track_caller]
    pub fn expect_all(&self, names: &[String], vantage: &str, status: &str) {
        for n in names {
            assert_eq!(
                self.status(n, vantage),
                status,
                "{n} through {vantage}:\n{}",
                self.table()
            );
        }
    }

    /// The `vantages[]` entry named `name`.
    #[track_caller]
    pub fn vantage(&self, name: &str) -> &Value {
        self.json["vantages"]
            .as_array()
            .expect("vantages[]")
            .iter()
            .find(|v| v["name"] == name)
            .unwrap_or_else(|| panic!("no vantage {name}:\n{}", self.json["vantages"]))
    }

    #[track_caller]
    pub fn vantage_status(&self, name: &str) -> &str {
        self.vantage(name)["status"].as_str().unwrap()
    }

    /// The vantage names, in report order.
    pub fn vantage_names(&self) -> Vec<String> {
        self.json["vantages"]
            .as_array()
            .map(|vs| {
                vs.iter()
                    .map(|v| v["name"].as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `targeted` as URL -> (column -> status); panics when the report has no `targeted`.
    #[track_caller]
    pub fn targeted(&self) -> BTreeMap<String, BTreeMap<String, String>> {
        self.json["targeted"]
            .as_array()
            .unwrap_or_else(|| panic!("no targeted[] in the report:\n{}", self.out.describe()))
            .iter()
            .map(|t| {
                let statuses = t["statuses"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
                    .collect();
                (t["url"].as_str().unwrap().to_owned(), statuses)
            })
            .collect()
    }

    pub fn ok(&self) -> bool {
        self.json["ok"].as_bool().unwrap()
    }

    pub fn independent(&self) -> bool {
        self.json["independent"].as_bool().unwrap()
    }

    /// Every entry's name, vantage, address, status and reason, for assertion messages.
    pub fn table(&self) -> String {
        self.entries()
            .iter()
            .map(|m| {
                format!(
                    "  {:<6} {:<8} {:<10} {:<12} {}\n",
                    m["name"].as_str().unwrap_or("?"),
                    m["vantage"].as_str().unwrap_or("-"),
                    m["address"].as_str().unwrap_or("-"),
                    m["status"].as_str().unwrap_or("?"),
                    m["error"].as_str().unwrap_or("")
                )
            })
            .collect()
    }
}

/// `(column -> status)` pairs as the report's `targeted` writes them.
pub fn statuses(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Runs `f` on a thread of its own and fails the test if it has not returned within
/// `limit`: for runs that must end, however hostile the network (a generous bound, not a
/// timing assertion).
pub fn ends_within<T: Send + 'static>(
    limit: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(limit)
        .unwrap_or_else(|_| panic!("the run did not end within {limit:?}"))
}

// ---------------------------------------------------------------------------------------
// A static file server on a chosen address: two servers on one port at different loopback
// addresses (127.0.0.1 and 127.0.0.2, or 127.0.0.1 and ::1) stand for one host name that
// resolves to different machines.

const POLL: Duration = Duration::from_millis(50);
const MAX_HEAD: usize = 16 * 1024;

/// Serves a directory on one address (GET and HEAD, one request per connection). Stops
/// when dropped.
pub struct Static {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    requests: Arc<AtomicUsize>,
    accept: Option<JoinHandle<()>>,
}

impl Static {
    pub fn bind(addr: SocketAddr, root: &Path) -> io::Result<Static> {
        let listener = TcpListener::bind(addr)?;
        let addr = listener.local_addr()?;
        listener.set_nonblocking(true)?;
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(AtomicUsize::new(0));
        let (s, r, root) = (stop.clone(), requests.clone(), root.to_path_buf());
        let accept = thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        let (s, r, root) = (s.clone(), r.clone(), root.clone());
                        thread::spawn(move || {
                            let _ = serve_static(conn, &root, &s, &r);
                        });
                    }
                    Err(_) => thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        Ok(Static {
            addr,
            stop,
            requests,
            accept: Some(accept),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Requests answered (any path).
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for Static {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
    }
}

/// Two servers on the same port: `a_root` at `a`, `b_root` at `b` (ports are tried until
/// one is free on both addresses).
pub fn same_port(a: IpAddr, a_root: &Path, b: IpAddr, b_root: &Path) -> (Static, Static) {
    for _ in 0..50 {
        let first = Static::bind(SocketAddr::new(a, 0), a_root).expect("bind the first server");
        let port = first.addr().port();
        if let Ok(second) = Static::bind(SocketAddr::new(b, port), b_root) {
            return (first, second);
        }
    }
    panic!("no port free on both {a} and {b}");
}

/// Whether `::1` can be bound here, and `localhost` resolves to both 127.0.0.1 and ::1
/// (what `--each-address` needs to see two machines behind one name on loopback).
pub fn localhost_is_dual_stack() -> Result<(), String> {
    use std::net::ToSocketAddrs;
    TcpListener::bind((Ipv6Addr::LOCALHOST, 0)).map_err(|e| format!("cannot bind [::1]: {e}"))?;
    let found: Vec<IpAddr> = ("localhost", 80)
        .to_socket_addrs()
        .map_err(|e| format!("localhost does not resolve: {e}"))?
        .map(|a| a.ip())
        .collect();
    for want in [
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(Ipv6Addr::LOCALHOST),
    ] {
        if !found.contains(&want) {
            return Err(format!(
                "localhost resolves to {found:?} here, not to {want} (see /etc/hosts)"
            ));
        }
    }
    Ok(())
}

fn serve_static(
    mut conn: TcpStream,
    root: &Path,
    stop: &AtomicBool,
    requests: &AtomicUsize,
) -> io::Result<()> {
    conn.set_nonblocking(false)?;
    conn.set_read_timeout(Some(POLL))?;
    conn.set_write_timeout(Some(Duration::from_secs(5)))?;
    let started = Instant::now();
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        if stop.load(Ordering::SeqCst)
            || head.len() > MAX_HEAD
            || started.elapsed() > Duration::from_secs(10)
        {
            return Ok(());
        }
        match conn.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => head.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(e) => return Err(e),
        }
    }
    requests.fetch_add(1, Ordering::SeqCst);
    let text = String::from_utf8_lossy(&head);
    let mut words = text.split_ascii_whitespace();
    let method = words.next().unwrap_or_default().to_owned();
    let target = words.next().unwrap_or("/");
    let path = target.split(['?', '#']).next().unwrap_or("/");
    let file = Path::new(path.trim_start_matches('/'));
    let safe = file.components().all(|c| matches!(c, Component::Normal(_)));
    let body = if safe && !path.ends_with('/') {
        std::fs::read(root.join(file)).ok()
    } else {
        None
    };
    let (status, body) = match body {
        Some(b) => ("200 OK", b),
        None => ("404 Not Found", b"not found\n".to_vec()),
    };
    let mut answer = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    if method != "HEAD" {
        answer.extend_from_slice(&body);
    }
    conn.write_all(&answer)?;
    let _ = conn.shutdown(Shutdown::Write);
    // Drain briefly so that closing does not reset the connection under the answer.
    for _ in 0..4 {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
    Ok(())
}

/// Serves `root` for `http://localhost:P/` wherever this machine's `localhost` may lead:
/// 127.0.0.1:P and, when it can be bound, [::1]:P.
pub fn on_localhost(root: &Path) -> (u16, Vec<Static>) {
    let v4 = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let v6 = IpAddr::V6(Ipv6Addr::LOCALHOST);
    if TcpListener::bind((v6, 0)).is_ok() {
        let (a, b) = same_port(v4, root, v6, root);
        (a.addr().port(), vec![a, b])
    } else {
        let a = Static::bind(SocketAddr::new(v4, 0), root).expect("bind 127.0.0.1");
        (a.addr().port(), vec![a])
    }
}

/// [`on_localhost`] for `root`, and `other` served on the same port at `elsewhere` (what a
/// lying resolver sends `localhost` to).
pub fn localhost_and(elsewhere: IpAddr, root: &Path, other: &Path) -> (u16, Vec<Static>, Static) {
    for _ in 0..50 {
        let (port, here) = on_localhost(root);
        if let Ok(there) = Static::bind(SocketAddr::new(elsewhere, port), other) {
            return (port, here, there);
        }
    }
    panic!("no port free on localhost and {elsewhere}");
}
