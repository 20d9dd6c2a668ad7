//! A hostile review of vantage points (issue 10): each test mounts one attack, on loopback,
//! by a hostile proxy, a hostile measurement API, a crafted evidence bundle or hostile
//! input, and asserts what must hold: the bytes and the pinned keys decide, never the
//! vantage; every limit holds; text from outside never reaches a terminal raw; nothing is
//! followed out of where it belongs; proxy passwords never show.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use common::binary::{self, Out};
use common::proxy::{HttpProxy, Rules, SocksProxy};
use common::vantages::*;
use common::{World, ZIP};

/// Runs the binary in `dir` with extra environment variables (a PATH with a fake `tor`, a
/// Globalping API on loopback).
fn run_env(dir: &Path, args: &[String], env: &[(&str, String)]) -> Out {
    let mut cmd = Command::new(binary::BIN);
    cmd.args(args)
        .current_dir(dir)
        .env("HOME", dir)
        .env_remove("XDG_DATA_HOME")
        .env_remove("COLUMNS")
        .env_remove("GLOBALPING_TOKEN")
        .env_remove("MIRRORPROOF_GLOBALPING_API")
        .env("RUST_BACKTRACE", "0");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run mirrorproof");
    Out {
        code: out.status.code(),
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    }
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// Every file below `dir`, read whole (an evidence bundle is small).
fn all_files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let t = e.file_type().unwrap();
            if t.is_dir() {
                todo.push(e.path());
            } else if t.is_file() {
                out.push((e.path(), std::fs::read(e.path()).unwrap()));
            }
        }
    }
    out
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

// ---------------------------------------------------------------------------------------
// Degraded on purpose: a black box that blocks most mirrors, so that its vantage is
// `degraded`, and serves the few it lets through a frozen release.

/// A country's network blocks 8 of 10 mirrors and serves the other two the previous signed
/// release. Blocking that much makes the vantage `degraded` (a broken path decides
/// nothing), but what it did deliver is validly signed old bytes, which no broken path
/// makes: a rollback on that path, proved by the signatures. It must not pass.
#[test]
fn a_vantage_cannot_hide_a_frozen_release_by_blocking_enough_to_be_degraded() {
    let (mut w, _) = world(10);
    let old = previous(&w);
    let to = black_box(&mut w, "box", &old);
    let rules = Rules::honest()
        .route(&authority(&w, "m0"), to)
        .route(&authority(&w, "m1"), to)
        .only_hosts([authority(&w, "m0"), authority(&w, "m1")]);
    let fr = SocksProxy::start(rules);
    let vfr = vantage("fr", &fr.url("socks5h"), "FR");
    let p = profile(&w, "p.toml", &names(10), &[]);
    let c = check(&w, &p, &vantage_args(true, &[&vfr]));

    c.expect_all(&names(10), "direct", "ok");
    c.expect_all(&names(10)[2..], "fr", "unreachable");
    c.expect_all(&names(10)[..2], "fr", "stale");
    // The path is broken for most mirrors: degraded, and its unreachable entries blame
    // no mirror.
    assert_eq!(c.vantage_status("fr"), "degraded", "{}", c.json["vantages"]);
    // But the frozen release it served is evidence all the same.
    let t = c.targeted();
    assert_eq!(t.len(), 2, "{t:?}\n{}", c.table());
    assert_eq!(
        t[&w.url_of("m0")],
        statuses(&[("direct", "ok"), ("fr", "stale")])
    );
    assert!(!c.ok() && !c.independent(), "{}", c.out.describe());
    assert_eq!(c.code(), Some(1), "{}", c.out.describe());
}

// ---------------------------------------------------------------------------------------
// Proxy passwords.

const SECRET: &str = "S3cretPw";

/// A vantage whose proxy URL carries a password: through an honest SOCKS proxy, a dead one
/// and an HTTP proxy, given on the command line, and with an evidence bundle. The password
/// shows nowhere: not in the JSON or human report, not on stderr, not in any file of the
/// bundle.
#[test]
fn a_proxy_password_never_reaches_a_report_an_error_or_the_evidence() {
    let (w, _) = world(2);
    let socks = SocksProxy::start(Rules::honest());
    let dead = SocksProxy::start(Rules::honest().refuse_all());
    let http = HttpProxy::start(Rules::honest());
    let with_password = |url: &str| url.replacen("://", &format!("://alice:{SECRET}@"), 1);
    let vs = [
        vantage("fr", &with_password(&socks.url("socks5h")), "FR"),
        vantage("de", &with_password(&dead.url("socks5")), "DE"),
        vantage("us", &with_password(&http.url()), "US"),
        // Nothing listens there: a connection error of the client itself.
        vantage("jp", &with_password("socks5h://127.0.0.1:1"), "JP"),
    ];
    let p = profile(&w, "p.toml", &names(2), &[]);
    let vargs = vantage_args(true, &vs.iter().collect::<Vec<_>>());
    let mut json_args = vargs.clone();
    json_args.extend(["--evidence".into(), "ev".into()]);
    let c = check(&w, &p, &json_args);
    c.expect_all(&names(2), "fr", "ok");
    c.expect_all(&names(2), "us", "ok");
    c.expect_all(&names(2), "de", "unreachable");
    c.expect_all(&names(2), "jp", "unreachable");
    // The proxy is named in the report, without its password.
    let shown = c.vantage("fr")["proxy"].as_str().unwrap_or("").to_owned();
    assert!(shown.contains("alice:REDACTED@"), "{shown}");
    for (what, text) in [("stdout", &c.out.stdout), ("stderr", &c.out.stderr)] {
        assert!(!text.contains(SECRET), "{what}: {}", c.out.describe());
    }
    let files = all_files(&w.path().join("ev"));
    assert!(files.len() > 4, "{files:?}");
    for (path, bytes) in &files {
        assert!(
            !contains(bytes, SECRET),
            "{} holds the password",
            path.display()
        );
    }
    // The human report, and the same vantages from a profile.
    let mut human = args(&["check", p.to_str().unwrap(), "--no-state"]);
    human.extend(vargs);
    let out = binary::run_in(w.path(), &human);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert!(out.stdout.contains("alice:REDACTED@"), "{}", out.describe());
    assert!(
        !out.stdout.contains(SECRET) && !out.stderr.contains(SECRET),
        "{}",
        out.describe()
    );
    let p2 = profile(&w, "p2.toml", &names(2), &vs);
    let c = check(&w, &p2, &[] as &[&str]);
    assert_eq!(c.vantage_names(), ["fr", "de", "us", "jp"]);
    assert!(
        !c.out.stdout.contains(SECRET) && !c.out.stderr.contains(SECRET),
        "{}",
        c.out.describe()
    );
}

/// A mistake in a vantage whose proxy has a password: the one-line error names the spec,
/// but not the password, whether it comes from `--vantage` or from a profile.
#[test]
fn a_bad_vantage_spec_does_not_print_its_proxy_password() {
    let (w, _) = world(1);
    let p = profile(&w, "p.toml", &names(1), &[]);
    let bad_specs = [
        format!("name=fr,proxy=socks5h://alice:{SECRET}@127.0.0.1:1080,country=XX"),
        format!("name=f r,proxy=socks5h://alice:{SECRET}@127.0.0.1:1080,country=FR"),
        format!("name=fr,proxy=socks5h://alice:{SECRET}@127.0.0.1:1080,country=FR,colour=red"),
        format!("proxy=ftp://alice:{SECRET}@127.0.0.1:21,country=FR"),
        format!("kind=tor,proxy=socks5h://alice:{SECRET}@127.0.0.1:1080,country=FR"),
    ];
    for spec in &bad_specs {
        let out = binary::run_in(
            w.path(),
            &args(&[
                "check",
                p.to_str().unwrap(),
                "--no-state",
                "--vantage",
                spec,
            ]),
        );
        assert_eq!(out.code, Some(2), "{spec}: {}", out.describe());
        assert_eq!(
            out.stderr.trim_end().lines().count(),
            1,
            "{}",
            out.describe()
        );
        assert!(!out.stderr.contains(SECRET), "{spec}: {}", out.describe());
    }
    for table in [
        format!("proxy = \"socks5h://alice:{SECRET}@127.0.0.1:1080\"\ncountry = \"XX\""),
        format!("proxy = \"ftp://alice:{SECRET}@127.0.0.1:21\"\ncountry = \"FR\""),
        format!(
            "kind = \"tor\"\nproxy = \"socks5h://alice:{SECRET}@127.0.0.1:1\"\ncountry = \"FR\""
        ),
    ] {
        let text = std::fs::read_to_string(&p).unwrap() + "\n[[vantages]]\n" + &table + "\n";
        let bad = w.path().join("bad.toml");
        std::fs::write(&bad, text).unwrap();
        let out = binary::run_in(
            w.path(),
            &args(&["check", bad.to_str().unwrap(), "--no-state"]),
        );
        assert_eq!(out.code, Some(2), "{table}: {}", out.describe());
        assert!(!out.stderr.contains(SECRET), "{table}: {}", out.describe());
    }
}

/// A library user who logs a vantage or a profile with `{:?}` does not log the password.
#[test]
fn debug_output_of_vantages_and_profiles_hides_the_proxy_password() {
    let spec = mirrorproof::vantage::VantageSpec::parse_arg(&format!(
        "name=fr,proxy=socks5h://alice:{SECRET}@127.0.0.1:1080,country=FR"
    ))
    .unwrap();
    assert_eq!(
        spec.proxy.as_deref(),
        Some(format!("socks5h://alice:{SECRET}@127.0.0.1:1080").as_str()),
        "the password is still used"
    );
    let debug = format!("{spec:?} {spec:#?}");
    assert!(!debug.contains(SECRET), "{debug}");
    let (w, _) = world(1);
    let vs = [vantage(
        "fr",
        &format!("socks5h://alice:{SECRET}@127.0.0.1:1080"),
        "FR",
    )];
    let p = profile(&w, "p.toml", &names(1), &vs);
    let profile = mirrorproof::profile::Profile::load(&p).unwrap();
    let debug = format!("{profile:?}");
    assert!(!debug.contains(SECRET), "{debug}");
}

// ---------------------------------------------------------------------------------------
// Hostile SOCKS servers, written by hand: each connection is handed to a function once the
// SOCKS greeting is read.

/// A loopback server that hands every connection to `serve` on a thread of its own, and
/// counts connections. Stops accepting when dropped; connection
/// threads end when their peer goes away or `serve` returns.
struct Raw {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    started: Arc<AtomicUsize>,
}

impl Raw {
    fn start(serve: impl Fn(TcpStream) + Send + Sync + 'static) -> Raw {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let started = Arc::new(AtomicUsize::new(0));
        let serve = Arc::new(serve);
        let (s, st) = (stop.clone(), started.clone());
        thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        st.fetch_add(1, Ordering::SeqCst);
                        let serve = serve.clone();
                        thread::spawn(move || {
                            let _ = stream.set_nonblocking(false);
                            let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
                            serve(stream);
                        });
                    }
                    Err(_) => thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        Raw {
            addr,
            stop,
            started,
        }
    }

    fn url(&self, scheme: &str) -> String {
        format!("{scheme}://{}", self.addr)
    }
}

impl Drop for Raw {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// Reads the SOCKS5 greeting (accepting no authentication) and the CONNECT request;
/// returns the target as asked (`host:port`), or `None` when the client went away.
fn socks_greeting(s: &mut TcpStream) -> Option<String> {
    let mut head = [0u8; 2];
    s.read_exact(&mut head).ok()?;
    let mut methods = vec![0u8; head[1] as usize];
    s.read_exact(&mut methods).ok()?;
    s.write_all(&[5, 0]).ok()?;
    let mut req = [0u8; 4];
    s.read_exact(&mut req).ok()?;
    let host = match req[3] {
        1 => {
            let mut a = [0u8; 4];
            s.read_exact(&mut a).ok()?;
            std::net::Ipv4Addr::from(a).to_string()
        }
        3 => {
            let mut n = [0u8; 1];
            s.read_exact(&mut n).ok()?;
            let mut name = vec![0u8; n[0] as usize];
            s.read_exact(&mut name).ok()?;
            String::from_utf8_lossy(&name).into_owned()
        }
        4 => {
            let mut a = [0u8; 16];
            s.read_exact(&mut a).ok()?;
            std::net::Ipv6Addr::from(a).to_string()
        }
        _ => return None,
    };
    let mut port = [0u8; 2];
    s.read_exact(&mut port).ok()?;
    Some(format!("{host}:{}", u16::from_be_bytes(port)))
}

/// Reads an HTTP request head from the tunnel (up to its blank line, at most 64 KiB).
fn read_request(s: &mut TcpStream) -> Option<String> {
    let mut got = Vec::new();
    let mut byte = [0u8; 1];
    while !got.ends_with(b"\r\n\r\n") && got.len() < 64 * 1024 {
        s.read_exact(&mut byte).ok()?;
        got.push(byte[0]);
    }
    Some(String::from_utf8_lossy(&got).into_owned())
}

/// SOCKS success with a bound IPv4 address.
const GRANTED: [u8; 10] = [5, 0, 0, 1, 127, 0, 0, 1, 0x1f, 0x90];

/// Proxies that say yes to SOCKS, then misbehave: a bound address followed by junk for the
/// HTTP answer, a bound "domain" of 255 bytes of escape sequences, an address type that
/// does not exist, a reply that is not SOCKS at all, and a reply that never comes. Each
/// costs its own entries at most a timeout: the honest vantage's view stands, every entry
/// through them is unreachable with a one-line reason, and no escape reaches the terminal.
#[test]
fn socks_proxies_that_answer_junk_cost_their_own_entries_and_nothing_else() {
    let (w, _) = world(3);
    let junk = Raw::start(|mut s| {
        if socks_greeting(&mut s).is_some() {
            let _ = s.write_all(&GRANTED);
            let _ = read_request(&mut s);
            let noise: Vec<u8> = (0..65536u32).map(|i| (i * 7 + 0x1b) as u8).collect();
            let _ = s.write_all(&noise);
        }
    });
    let long_domain = Raw::start(|mut s| {
        if socks_greeting(&mut s).is_some() {
            let mut reply = vec![5, 0, 0, 3, 255];
            reply.extend(
                b"\x1b]0;owned\x07\x1b[2J\xe2\x80\xae"
                    .iter()
                    .cycle()
                    .take(255),
            );
            reply.extend([0, 80]);
            let _ = s.write_all(&reply);
            let _ = read_request(&mut s);
            // A head that never ends, with escapes in it.
            let _ = s.write_all(b"HTTP/1.1 200 \x1b]0;owned\x07\r\nX-\x1b[2J: ");
        }
    });
    let bad_atyp = Raw::start(|mut s| {
        if socks_greeting(&mut s).is_some() {
            let _ = s.write_all(&[5, 0, 0, 9, 1, 2, 3, 4, 5, 6, 7, 8]);
        }
    });
    let not_socks = Raw::start(|mut s| {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\n\r\n\x1b]0;owned\x07");
    });
    let silent = Raw::start(|mut s| {
        if socks_greeting(&mut s).is_some() {
            thread::sleep(Duration::from_secs(20));
        }
    });
    let vs = [
        vantage("junk", &junk.url("socks5h"), "DE"),
        vantage("longdomain", &long_domain.url("socks5h"), "US"),
        vantage("badatyp", &bad_atyp.url("socks5"), "JP"),
        vantage("notsocks", &not_socks.url("socks5h"), "NL"),
        vantage("silent", &silent.url("socks5h"), "BE"),
    ];
    let p = profile(&w, "p.toml", &names(3), &[]);
    let mut a = vantage_args(true, &vs.iter().collect::<Vec<_>>());
    a.extend(["--timeout".into(), "3".into()]);
    let dir = w.path().to_path_buf();
    let (p2, a2) = (p.clone(), a.clone());
    let c = ends_within(Duration::from_secs(120), move || check_in(&dir, &p2, &a2));

    c.expect_all(&names(3), "direct", "ok");
    for v in ["junk", "longdomain", "badatyp", "notsocks", "silent"] {
        for n in names(3) {
            let e = c.entry(&n, v);
            assert!(
                e["status"] == "unreachable" || e["status"] == "invalid",
                "{n} through {v}:\n{}",
                c.table()
            );
        }
        assert_eq!(
            c.vantage_status(v),
            "degraded",
            "{v}: {}",
            c.json["vantages"]
        );
    }
    assert!(c.targeted().is_empty(), "{:?}", c.targeted());
    for proxy in [&junk, &long_domain, &bad_atyp, &not_socks, &silent] {
        assert!(
            proxy.started.load(Ordering::SeqCst) >= 3,
            "every entry went its way"
        );
    }
    let reasons: Vec<&str> = c
        .entries()
        .iter()
        .filter_map(|e| e["error"].as_str())
        .collect();
    assert!(reasons.iter().all(|r| !r.contains('\n')), "{reasons:?}");
    assert!(
        reasons.iter().any(|r| r.contains("timed out")),
        "the silent proxy costs a timeout: {reasons:?}"
    );
    assert_eq!(c.code(), Some(0), "{}", c.out.describe());
    // The people's report: nothing raw.
    let mut human = args(&["check", p.to_str().unwrap(), "--no-state"]);
    human.extend(a);
    let out = binary::run_in(w.path(), &human);
    let raw: Vec<char> = (out.stdout.clone() + &out.stderr)
        .chars()
        .filter(|c| (c.is_control() && *c != '\n') || *c == '\u{202e}')
        .collect();
    assert!(raw.is_empty(), "raw {raw:?} in {}", out.describe());
}

// ---------------------------------------------------------------------------------------
// What one hostile proxy costs the run.

/// A proxy that relays release documents faithfully (so that its entries go on to the
/// artifact checks) and answers every artifact download with its head at once and then a
/// byte now and then. A host that stalls a download is not waited on again in the run,
/// but through a proxy every mirror is a host of its own, so the proxy costs one
/// `--artifact-timeout` (600 s by default) per `--concurrency` slots' worth of its
/// entries: 5 waves of 10 minutes for 300 mirrors at the defaults, with every other
/// vantage's downloads queued behind them. Open: this test says what "about one
/// timeout" would mean (no more stalled downloads than one wave of slots).
#[test]
fn a_proxy_stalling_every_download_costs_about_one_artifact_timeout() {
    const N: usize = 12;
    const SLOTS: usize = 4;
    let (w, _) = world(N);
    let p = profile(&w, "p.toml", &names(N), &[]);
    let stalled = Arc::new(AtomicUsize::new(0));
    let counted = stalled.clone();
    let staller = Raw::start(move |mut s| {
        let Some(target) = socks_greeting(&mut s) else {
            return;
        };
        // Loopback only: a name is never looked up.
        let to = target
            .parse::<SocketAddr>()
            .ok()
            .filter(|a| a.ip().is_loopback());
        let Some(Ok(mut up)) = to.map(TcpStream::connect) else {
            return;
        };
        let _ = s.write_all(&GRANTED);
        let Some(request) = read_request(&mut s) else {
            return;
        };
        if request.lines().next().is_some_and(|l| l.contains(ZIP)) {
            counted.fetch_add(1, Ordering::SeqCst);
            // No length: the body runs until the connection closes.
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nP");
            while s.write_all(b"K").is_ok() {
                thread::sleep(Duration::from_millis(200));
            }
            return;
        }
        let _ = up.write_all(request.as_bytes());
        let _ = std::io::copy(&mut up, &mut s);
    });
    let vd = vantage("stall", &staller.url("socks5h"), "DE");
    let mut a = vantage_args(true, &[&vd]);
    a.extend(args(&[
        "--concurrency",
        &SLOTS.to_string(),
        "--artifact-timeout",
        "2",
    ]));
    let c = check(&w, &p, &a);
    c.expect_all(&names(N), "direct", "ok");
    for n in names(N) {
        assert_ne!(c.status(&n, "stall"), "ok", "{}", c.table());
    }
    let asked = stalled.load(Ordering::SeqCst);
    assert!(
        asked <= SLOTS,
        "{asked} stalled downloads through one proxy, {} waves of --artifact-timeout",
        asked.div_ceil(SLOTS)
    );
}

// ---------------------------------------------------------------------------------------
// Crafted evidence bundles.

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// A bundle `good` of the world's mirrors `m0`, `m1` seen directly (as FR), and a copy of it
/// named `name` whose profile.toml went through `edit`.
fn good_bundle(w: &World) {
    let p = profile(w, "p.toml", &names(2), &[]);
    let c = check(
        w,
        &p,
        &args(&["--vantage", "direct=FR", "--evidence", "good"]),
    );
    assert_eq!(c.code(), Some(0), "{}", c.out.describe());
}

fn variant(w: &World, name: &str, edit: impl FnOnce(&str) -> String) -> PathBuf {
    let dir = w.path().join(name);
    copy_dir(&w.path().join("good"), &dir);
    let text = std::fs::read_to_string(dir.join("profile.toml")).unwrap();
    let edited = edit(&text);
    assert_ne!(edited, text, "{name}: the edit changed nothing");
    std::fs::write(dir.join("profile.toml"), edited).unwrap();
    dir
}

/// A `tor` that only says it was started, and a Globalping API that only counts who calls:
/// what a merge or a re-check of a bundle must never use.
struct Tripwires {
    dir: tempfile::TempDir,
    api: Raw,
}

impl Tripwires {
    fn new() -> Tripwires {
        let dir = tempfile::tempdir().unwrap();
        let tor = dir.path().join("tor");
        let mark = dir.path().join("tor-was-started");
        std::fs::write(
            &tor,
            format!("#!/bin/sh\necho \"$@\" >> '{}'\nexit 1\n", mark.display()),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tor, std::fs::Permissions::from_mode(0o755)).unwrap();
        let api = Raw::start(|mut s| {
            let _ = read_request(&mut s);
        });
        Tripwires { dir, api }
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        let path = format!(
            "{}:{}",
            self.dir.path().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        vec![
            ("PATH", path),
            ("MIRRORPROOF_GLOBALPING_API", self.api.url("http")),
        ]
    }

    #[track_caller]
    fn untouched(&self, out: &Out) {
        let mark = self.dir.path().join("tor-was-started");
        assert!(
            !mark.exists(),
            "tor was started ({:?}):\n{}",
            std::fs::read_to_string(&mark),
            out.describe()
        );
        assert_eq!(
            self.api.started.load(Ordering::SeqCst),
            0,
            "the Globalping API was called:\n{}",
            out.describe()
        );
    }
}

/// A bundle that lists Tor and Globalping vantages and labels its entries with them: a
/// merge, and a re-check of the bundle alone, start no tor and call no API (a fake `tor`
/// first on the PATH and a loopback API would say so), and the entries are judged from
/// the bundle's files.
#[test]
fn a_bundle_naming_tor_and_globalping_vantages_starts_neither() {
    let (w, _) = world(2);
    good_bundle(&w);
    let wires = Tripwires::new();
    variant(&w, "managed", |t| {
        t.replacen("vantage = \"direct-fr\"", "vantage = \"tor-de\"", 1)
            .replacen("vantage = \"direct-fr\"", "vantage = \"globalping-jp\"", 1)
            + "\n[[vantages]]\nkind = \"tor\"\ncountry = \"DE\"\n"
            + "\n[[vantages]]\nkind = \"globalping\"\ncountry = \"JP\"\n"
    });
    let merged = run_env(
        w.path(),
        &args(&["merge", "good", "managed", "--json"]),
        &wires.env(),
    );
    wires.untouched(&merged);
    assert_eq!(merged.code, Some(0), "{}", merged.describe());
    let r: serde_json::Value = serde_json::from_str(&merged.stdout).unwrap();
    let statuses: Vec<(String, String)> = r["mirrors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["vantage"].as_str().unwrap().to_owned(),
                m["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        statuses.contains(&("tor-de".into(), "ok".into())),
        "{statuses:?}"
    );
    assert!(
        statuses.contains(&("globalping-jp".into(), "ok".into())),
        "{statuses:?}"
    );
    let recheck = run_env(
        w.path(),
        &args(&[
            "check",
            "managed/profile.toml",
            "--artifacts",
            "none",
            "--no-state",
            "--json",
        ]),
        &wires.env(),
    );
    wires.untouched(&recheck);
    assert_eq!(recheck.code, Some(0), "{}", recheck.describe());
}

/// The same bundle with one entry whose label was taken off: re-checking it must still
/// start nothing. The entry is a directory, which is read here whatever the vantages, so
/// no Tor client is of any use to it. Open: `run::check` starts every vantage as soon as
/// one entry has no label (`needed`), whatever the entry is; a real tor would then
/// bootstrap on the Tor network, for up to --tor-bootstrap-timeout, from an offline
/// re-check.
#[test]
fn re_checking_a_bundle_with_an_unlabelled_entry_starts_no_tor() {
    let (w, _) = world(2);
    good_bundle(&w);
    let wires = Tripwires::new();
    variant(&w, "unlabelled", |t| {
        t.replacen("vantage = \"direct-fr\"\n", "", 1)
            + "\n[[vantages]]\nkind = \"tor\"\ncountry = \"DE\"\n"
            + "\n[[vantages]]\nkind = \"globalping\"\ncountry = \"JP\"\n"
    });
    let recheck = run_env(
        w.path(),
        &args(&[
            "check",
            "unlabelled/profile.toml",
            "--artifacts",
            "none",
            "--no-state",
            "--json",
        ]),
        &wires.env(),
    );
    wires.untouched(&recheck);
}

/// A bundle whose entry claims a vantage but names an HTTP URL rather than one of the
/// bundle's directories: re-checking the bundle must not fetch it from this machine's
/// network and report it as seen through Tor from DE. (A merge refuses such a bundle.)
#[test]
fn a_bundle_entry_labelled_with_a_vantage_is_never_fetched_from_here_under_that_label() {
    let (w, _) = world(2);
    good_bundle(&w);
    let url = w.url_of("m0");
    let before = w.server("m0").requests();
    variant(&w, "posing", |t| {
        t.replacen("url = \"mirrors/0000\"", &format!("url = {url:?}"), 1)
            .replacen("vantage = \"direct-fr\"", "vantage = \"tor-de\"", 1)
            + "\n[[vantages]]\nkind = \"tor\"\ncountry = \"DE\"\n"
    });
    let out = binary::run_in(
        w.path(),
        &args(&[
            "check",
            "posing/profile.toml",
            "--artifacts",
            "none",
            "--no-state",
            "--json",
        ]),
    );
    assert_eq!(
        w.server("m0").requests(),
        before,
        "an entry said to be seen through Tor was fetched directly:\n{}",
        out.describe()
    );
    assert!(
        out.code == Some(2) && out.stderr.trim_end().lines().count() == 1,
        "{}",
        out.describe()
    );
}

/// Characters that must never reach a terminal raw.
fn raw_in(text: &str) -> Vec<char> {
    text.chars()
        .filter(|c| {
            (c.is_control() && *c != '\n')
                || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')
        })
        .collect()
}

/// What a bundle only claims (an `unreached` reason, an `artifacts_failed` claim) is text
/// from someone else: escapes and bidi controls in it are shown escaped, in the merge and
/// in a re-check, in the human report and in JSON.
#[test]
fn claims_in_a_bundle_are_shown_escaped() {
    let (w, _) = world(2);
    good_bundle(&w);
    let hostile = "\\u001b]0;owned\\u0007\\u202e\\u2066gnp.exe\\u001b[2J\\u0085";
    variant(&w, "claims", |t| {
        let t = t.replacen(
            "vantage = \"direct-fr\"",
            &format!("vantage = \"direct-fr\"\nartifacts_failed = \"corrupt: {hostile}\""),
            1,
        );
        // The second entry served nothing, it says, for a reason of its own.
        let at = t.rfind("[[mirrors]]").unwrap();
        let (head, tail) = t.split_at(at);
        format!(
            "{head}{}",
            tail.replacen(
                "vantage = \"direct-fr\"",
                &format!("vantage = \"direct-fr\"\nunreached = \"{hostile}\""),
                1
            )
        )
    });
    for cmd in [
        args(&["merge", "claims"]),
        args(&["merge", "claims", "--json"]),
        args(&[
            "check",
            "claims/profile.toml",
            "--artifacts",
            "none",
            "--no-state",
        ]),
        args(&[
            "check",
            "claims/profile.toml",
            "--artifacts",
            "none",
            "--no-state",
            "--json",
        ]),
    ] {
        let out = binary::run_in(w.path(), &cmd);
        assert_eq!(out.code, Some(1), "{cmd:?}: {}", out.describe());
        let raw = raw_in(&(out.stdout.clone() + &out.stderr));
        assert!(raw.is_empty(), "{cmd:?}: raw {raw:?} in {}", out.describe());
        assert!(
            out.stdout.contains("gnp.exe"),
            "{cmd:?}: the claim is shown: {}",
            out.describe()
        );
    }
}

/// Vantage specs and mirror labels with quotes, newlines and TOML of their own end up in
/// the bundle's profile.toml: re-read, it holds the same entries and vantages, and nothing
/// smuggled in (no extra vantage, no extra mirror, no Tor).
#[test]
fn labels_with_toml_in_them_do_not_inject_into_the_bundle() {
    let (w, _) = world(2);
    let socks = SocksProxy::start(Rules::honest());
    let injected = "x\"\n[[vantages]]\nkind = \"tor\"\ncountry = \"DE\"\n[[mirrors]]\nurl = \"/etc\"\nvantage = \"direct\"\n#";
    let proxy = format!("{}/?q=\"]\n[[vantages]]\n#'", socks.url("socks5h"));
    let mut text = std::fs::read_to_string(profile(&w, "p.toml", &names(2), &[])).unwrap();
    text = text.replacen(
        "name = \"m0\"",
        &format!("name = {}", toml_basic(injected)),
        1,
    );
    text.push_str(&format!(
        "\n[[vantages]]\nname = \"fr\"\nproxy = {}\ncountry = \"FR\"\n",
        toml_basic(&proxy)
    ));
    std::fs::write(w.path().join("inj.toml"), text).unwrap();
    let wires = Tripwires::new();
    let out = run_env(
        w.path(),
        &args(&[
            "check",
            "inj.toml",
            "--no-state",
            "--json",
            "--evidence",
            "ev",
        ]),
        &wires.env(),
    );
    assert_eq!(out.code, Some(0), "{}", out.describe());
    let kept = std::fs::read_to_string(w.path().join("ev/profile.toml")).unwrap();
    let doc: toml::Value = toml::from_str(&kept).unwrap();
    assert_eq!(doc["vantages"].as_array().unwrap().len(), 1, "{kept}");
    assert_eq!(doc["mirrors"].as_array().unwrap().len(), 2, "{kept}");
    let names: Vec<&str> = doc["mirrors"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m.get("name").and_then(|n| n.as_str()))
        .collect();
    assert!(
        names.contains(&injected),
        "the label is kept as it was: {kept}"
    );
    let recheck = run_env(
        w.path(),
        &args(&[
            "check",
            "ev/profile.toml",
            "--artifacts",
            "none",
            "--no-state",
            "--json",
        ]),
        &wires.env(),
    );
    wires.untouched(&recheck);
    assert_eq!(recheck.code, Some(0), "{}", recheck.describe());
    let r: serde_json::Value = serde_json::from_str(&recheck.stdout).unwrap();
    assert_eq!(r["mirrors"].as_array().unwrap().len(), 2);
    assert_eq!(r["vantages"].as_array().unwrap().len(), 1);
}

/// A TOML basic string for `s` (quotes, backslashes and controls escaped).
fn toml_basic(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// A bundle whose profile.toml lists one entry thousands of times, all labelled with one
/// vantage, merged with an honest bundle: the merge ends, judges every entry, and the
/// copies weigh nothing in the verdicts (no mirror targeted, no vantage degraded by
/// numbers). As many as 1 MiB of profile holds (13,269 such entries) took 116 s and
/// 140 MB in a debug build, linearly (1,000: 8.6 s and 31 MB; 4,000: 34 s and 60 MB);
/// this test stops at 3,000.
#[test]
fn a_bundle_repeating_one_entry_thousands_of_times_is_judged_and_weighs_nothing() {
    let (w, _) = world(2);
    good_bundle(&w);
    let dir = variant(&w, "repeats", |t| {
        let head = &t[..t.find("[[mirrors]]").unwrap()];
        let mut out = head.replace("direct-fr", "many");
        let url = w.url_of("m0");
        let one = format!("[[mirrors]]\nurl=\"mirrors/0000\"\nsource={url:?}\nvantage=\"many\"\n");
        for _ in 0..3000 {
            out.push_str(&one);
        }
        out
    });
    let listed = std::fs::read_to_string(dir.join("profile.toml"))
        .unwrap()
        .matches("[[mirrors]]")
        .count();
    assert_eq!(listed, 3000);
    let (code, r) = {
        let out = ends_within(Duration::from_secs(300), {
            let cwd = w.path().to_path_buf();
            move || binary::run_in(&cwd, &args(&["merge", "good", "repeats", "--json"]))
        });
        let r: serde_json::Value =
            serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.describe()));
        (out.code, r)
    };
    assert_eq!(code, Some(0), "{r:#}");
    assert_eq!(r["mirrors"].as_array().unwrap().len(), listed + 2);
    assert_eq!(r["targeted"].as_array().unwrap().len(), 0);
    for v in r["vantages"].as_array().unwrap() {
        assert_eq!(v["status"], "ok", "{v}");
    }
}

// ---------------------------------------------------------------------------------------
// A hostile Globalping API.

/// What the hostile API says of the probe that "ran" each measurement.
#[derive(Clone)]
struct FakeProbe {
    country: &'static str,
    city: &'static str,
    network: &'static str,
    /// How many results each measurement comes back with (one was asked for).
    results: usize,
    /// Measurements of this port only come back with 300 results.
    spoil_port: Option<u16>,
}

/// A Globalping API on loopback that answers every measurement at once, `finished`, with
/// the document the world's mirror on that port holds (read from its directory, not
/// fetched), said to come from `probe`.
fn fake_globalping(w: &World, mirrors: &[String], probe: FakeProbe) -> Raw {
    let dirs: std::collections::HashMap<u16, PathBuf> = mirrors
        .iter()
        .map(|n| (w.server(n).addr().port(), w.path().join("mirrors").join(n)))
        .collect();
    let asked: Arc<std::sync::Mutex<Vec<(u16, String)>>> = Arc::default();
    Raw::start(move |mut s| {
        let Some(head) = read_request(&mut s) else {
            return;
        };
        let length = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse::<usize>().ok())?
            })
            .unwrap_or(0);
        let mut body = vec![0u8; length.min(1 << 20)];
        if s.read_exact(&mut body).is_err() {
            return;
        }
        let line = head.lines().next().unwrap_or("");
        let answer = if line.starts_with("POST ") {
            let req: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            let port = req["measurementOptions"]["port"].as_u64().unwrap_or(0) as u16;
            let path = req["measurementOptions"]["request"]["path"]
                .as_str()
                .unwrap_or("")
                .to_owned();
            let mut list = asked.lock().unwrap();
            list.push((port, path));
            let id = list.len() - 1;
            (
                202,
                serde_json::json!({"id": format!("m{id}"), "probesCount": 1}),
            )
        } else {
            let id: usize = line
                .split_whitespace()
                .nth(1)
                .and_then(|p| p.rsplit('/').next())
                .and_then(|i| i.strip_prefix('m'))
                .and_then(|i| i.parse().ok())
                .unwrap_or(usize::MAX);
            let found = asked.lock().unwrap().get(id).cloned();
            let spoiled = found
                .as_ref()
                .is_some_and(|(port, _)| Some(*port) == probe.spoil_port);
            let (status, doc) = match found
                .and_then(|(port, path)| Some(dirs.get(&port)?.join(path.trim_start_matches('/'))))
                .and_then(|f| std::fs::read(f).ok())
            {
                Some(bytes) => (200, String::from_utf8_lossy(&bytes).into_owned()),
                None => (404, String::new()),
            };
            let one = serde_json::json!({
                "probe": {"country": probe.country, "city": probe.city, "asn": 64500,
                          "network": probe.network, "continent": "EU", "tags": []},
                "result": {"status": "finished", "rawBody": doc, "truncated": false,
                           "statusCode": status, "rawOutput": ""}
            });
            (
                200,
                serde_json::json!({"id": format!("m{id}"), "type": "http", "status": "finished",
                                   "results": vec![one; if spoiled { 300 } else { probe.results }]}),
            )
        };
        let text = answer.1.to_string();
        let _ = write!(
            s,
            "HTTP/1.1 {} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
            answer.0,
            text.len()
        );
    })
}

/// Probes whose city and network carry escapes and bidi controls: shown escaped, and the
/// observation labelled as a third party's (`first_hand: false`).
/// Two mirrors checked directly and through `globalping:FR`, whose API is the hostile one
/// above with the probe `probe` makes of the world (it may name a mirror's port to spoil).
struct ThroughFakeApi {
    w: World,
    profile: PathBuf,
    api: Raw,
    c: Checked,
}

fn through_fake_api(probe: impl FnOnce(&World) -> FakeProbe) -> ThroughFakeApi {
    let (w, _) = world(2);
    let api = fake_globalping(&w, &names(2), probe(&w));
    let profile = profile(&w, "p.toml", &names(2), &[]);
    let c = check(
        &w,
        &profile,
        &args(&[
            "--vantage",
            "direct",
            "--vantage",
            "globalping:FR",
            "--globalping-api",
            &api.url("http"),
        ]),
    );
    ThroughFakeApi { w, profile, api, c }
}

#[test]
fn probe_city_and_network_from_the_api_are_shown_escaped() {
    let ThroughFakeApi { w, profile, api, c } = through_fake_api(|_| FakeProbe {
        country: "FR",
        city: "Paris\u{1b}]0;owned\u{7}\u{202e}",
        network: "Orange\u{1b}[2J\u{85}\u{2066}",
        results: 1,
        spoil_port: None,
    });
    let base = args(&[
        "check",
        profile.to_str().unwrap(),
        "--no-state",
        "--vantage",
        "direct",
        "--vantage",
        "globalping:FR",
        "--globalping-api",
        &api.url("http"),
    ]);
    let human = binary::run_in(w.path(), &base);
    assert_eq!(human.code, Some(0), "{}", human.describe());
    let raw = raw_in(&(human.stdout.clone() + &human.stderr));
    assert!(raw.is_empty(), "raw {raw:?}: {}", human.describe());
    assert!(
        human.stdout.contains("not first hand"),
        "{}",
        human.describe()
    );
    c.expect_all(&names(2), "globalping-fr", "ok");
    let carried = &c.entry("m0", "globalping-fr")["carried_by"];
    assert_eq!(carried["first_hand"], false, "{carried}");
    // Kept escaped, as third-party text.
    let city = carried["probes"][0]["city"].as_str().unwrap_or("");
    assert!(
        city.starts_with("Paris") && raw_in(city).is_empty(),
        "{carried}"
    );
    assert!(raw_in(&c.out.stdout).is_empty(), "{}", c.out.describe());
}

/// An API that answers a measurement with hundreds of results (one probe was asked for):
/// refused as out of the vantage's reach, never taken as the mirror's answer.
#[test]
fn an_api_answering_with_many_results_is_out_of_reach() {
    let ThroughFakeApi { c, .. } = through_fake_api(|_| FakeProbe {
        country: "FR",
        city: "Paris",
        network: "Orange",
        results: 300,
        spoil_port: None,
    });
    for n in names(2) {
        let e = c.entry(&n, "globalping-fr");
        assert_ne!(e["status"], "ok", "{}", c.table());
        assert_eq!(e["out_of_reach"], true, "{e}");
    }
    assert!(c.targeted().is_empty());
    assert_eq!(c.vantage_status("globalping-fr"), "degraded");
    assert_eq!(c.code(), Some(0), "{}", c.out.describe());
}

/// Asked for a probe in FR, the API answers from a probe in DE. The observation is not FR's
/// view: it is labelled with the probe's own country, and it must not stand for FR (a
/// hostile API could otherwise answer for a country whose network is a black box from
/// one where it is not). Open, in vantage/globalping.rs (`answer_from` or
/// `ProbeTransport::get`): the probe's country is recorded but never compared with the
/// one asked for.
#[test]
fn a_probe_in_another_country_than_asked_is_labelled_and_does_not_stand_for_it() {
    let ThroughFakeApi { c, .. } = through_fake_api(|_| FakeProbe {
        country: "DE",
        city: "Berlin",
        network: "Telekom",
        results: 1,
        spoil_port: None,
    });
    let e = c.entry("m0", "globalping-fr");
    assert_eq!(
        e["carried_by"]["probes"][0]["country"], "DE",
        "labelled: {e}"
    );
    assert_eq!(
        e["out_of_reach"],
        true,
        "a DE probe's answer counted as globalping-fr's view:\n{}",
        c.table()
    );
}

/// An API that spoils the measurements of one mirror of two: that entry is out of the
/// vantage's reach (not the mirror's fault), the vantage is not degraded (half is not
/// "most"), and the run must not fail for what a third party could not do.
#[test]
fn an_entry_out_of_a_working_vantages_reach_does_not_fail_the_run() {
    let ThroughFakeApi { c, .. } = through_fake_api(|w| FakeProbe {
        country: "FR",
        city: "Paris",
        network: "Orange",
        results: 1,
        spoil_port: Some(w.server("m0").addr().port()),
    });
    assert_eq!(
        c.entry("m0", "globalping-fr")["out_of_reach"],
        true,
        "{}",
        c.table()
    );
    assert_eq!(c.status("m1", "globalping-fr"), "ok", "{}", c.table());
    assert_eq!(c.vantage_status("globalping-fr"), "ok");
    assert!(c.targeted().is_empty());
    assert!(c.ok(), "{}", c.out.describe());
    assert_eq!(c.code(), Some(0), "{}", c.out.describe());
}

// ---------------------------------------------------------------------------------------
// --each-address against a name with many addresses.

/// Whether this machine lets an unprivileged user make a mount namespace (to give the
/// binary an /etc/hosts of the test's own).
fn namespaces_work() -> bool {
    Command::new("unshare")
        .args(["-rm", "true"])
        .status()
        .is_ok_and(|s| s.success())
}

/// A name that resolves to 40 loopback addresses, every one serving the release: with
/// `--each-address`, at most 16 of them become entries, the others are not asked, and the
/// report says that it checked only some of them.
#[test]
fn each_address_checks_at_most_16_addresses_of_a_name_and_says_so() {
    if !namespaces_work() {
        eprintln!("skipped: no unprivileged mount namespaces here (unshare -rm)");
        return;
    }
    let (w, _) = world(1);
    let root = w.path().join("mirrors/m0");
    // Forty servers on one port, at 127.0.0.1 to 127.0.0.40.
    let mut servers = Vec::new();
    'ports: for _ in 0..50 {
        servers.clear();
        let first = Static::bind("127.0.0.1:0".parse().unwrap(), &root).unwrap();
        let port = first.addr().port();
        servers.push(first);
        for i in 2..=40u8 {
            match Static::bind(SocketAddr::from(([127, 0, 0, i], port)), &root) {
                Ok(s) => servers.push(s),
                Err(_) => continue 'ports,
            }
        }
        break;
    }
    assert_eq!(servers.len(), 40);
    let port = servers[0].addr().port();
    let mut hosts: String = (1..=40)
        .map(|i| format!("127.0.0.{i} many.test\n"))
        .collect();
    hosts.push_str("127.0.0.1 localhost\n");
    let hosts_file = w.path().join("hosts");
    std::fs::write(&hosts_file, hosts).unwrap();
    let text = format!(
        "name = \"{}\"\nroot = {:?}\nchannel = {:?}\n\n[[mirrors]]\nurl = \"http://many.test:{port}/\"\ncountry = \"FR\"\nname = \"many\"\n",
        common::PROJECT,
        w.pinned_path().display().to_string(),
        w.channel
    );
    std::fs::write(w.path().join("many.toml"), text).unwrap();
    let script = format!(
        "mount --bind {} /etc/hosts && exec {} check many.toml --no-state --json --each-address --artifacts none",
        hosts_file.display(),
        binary::BIN
    );
    let out = Command::new("unshare")
        .args(["-rm", "sh", "-c", &script])
        .current_dir(w.path())
        .env("HOME", w.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let r: serde_json::Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let entries = r["mirrors"].as_array().unwrap();
    assert_eq!(entries.len(), 16, "{r:#}");
    assert!(entries.iter().all(|e| e["status"] == "ok"), "{r:#}");
    let asked = servers.iter().filter(|s| s.requests() > 0).count();
    assert_eq!(asked, 16, "addresses asked");
    let notices = r["notices"].to_string();
    assert!(
        notices.contains("many.test") && notices.contains("40"),
        "the report says 24 addresses were left out: {notices}"
    );
}

// ---------------------------------------------------------------------------------------
// How many vantages.

/// 65 vantages, on the command line or in a profile: refused in one line (exit 2) before
/// anything is asked.
#[test]
fn more_than_64_vantages_are_refused_in_one_line() {
    let (w, _) = world(1);
    let p = profile(&w, "p.toml", &names(1), &[]);
    let mut cli = args(&["check", p.to_str().unwrap(), "--no-state"]);
    let many: Vec<Vantage> = (0..65)
        .map(|i| vantage(&format!("v{i}"), "socks5h://127.0.0.1:9", "FR"))
        .collect();
    cli.extend(vantage_args(false, &many.iter().collect::<Vec<_>>()));
    let from_profile = profile(&w, "many.toml", &names(1), &many);
    for cmd in [
        cli,
        args(&["check", from_profile.to_str().unwrap(), "--no-state"]),
    ] {
        let out = binary::run_in(w.path(), &cmd);
        assert_eq!(out.code, Some(2), "{}", out.describe());
        assert_eq!(
            out.stderr.trim_end().lines().count(),
            1,
            "{}",
            out.describe()
        );
        assert!(
            out.stderr.contains("more than 64 vantages"),
            "{}",
            out.describe()
        );
        assert_eq!(w.server("m0").requests(), 0);
    }
}

/// One bundle whose entries name 2,000 vantages of their own (a run has at most 64): the
/// merge refuses it in one line, rather than judging a matrix no run could have made
/// (judging takes time in the product of vantages and entries).
#[test]
fn a_bundle_whose_entries_name_more_vantages_than_a_run_has_is_refused() {
    let (w, _) = world(2);
    good_bundle(&w);
    variant(&w, "manyv", |t| {
        let mut out = t[..t.find("[[mirrors]]").unwrap()].to_owned();
        for i in 0..2000 {
            out.push_str(&format!(
                "[[mirrors]]\nurl=\"mirrors/0000\"\nvantage=\"v{i}\"\n"
            ));
        }
        out
    });
    let out = ends_within(Duration::from_secs(120), {
        let cwd = w.path().to_path_buf();
        move || binary::run_in(&cwd, &args(&["merge", "good", "manyv", "--json"]))
    });
    let short: String = out.stdout.chars().take(400).collect();
    assert_eq!(out.code, Some(2), "{}\n{short}", out.stderr);
    assert_eq!(out.stderr.trim_end().lines().count(), 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("manyv") && out.stderr.contains("64 vantages"),
        "{}",
        out.stderr
    );
}

// ---------------------------------------------------------------------------------------
// What one vantage's memory of a host does to the others.

/// A mirror that answers every request correctly, each after `delay`: slow, honest, and
/// the same for everybody.
fn slow_mirror(root: PathBuf, delay: Duration) -> Raw {
    Raw::start(move |mut s| {
        let Some(head) = read_request(&mut s) else {
            return;
        };
        thread::sleep(delay);
        let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
        let file = root.join(path.trim_start_matches('/'));
        let safe = !path.contains("..");
        let answer = match std::fs::read(&file).ok().filter(|_| safe) {
            Some(body) => {
                let mut a = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                )
                .into_bytes();
                a.extend(body);
                a
            }
            None => {
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec()
            }
        };
        let _ = s.write_all(&answer);
    })
}

/// A slow but honest mirror (every answer after 60 % of the timeout), beside two quick
/// ones, checked through nine vantages that reach it from this machine. It serves
/// everybody the same, so it must not be `targeted`. But the host's memory of slow
/// answers ("not asked after 4 answers over half the timeout") is shared by every vantage
/// that reaches it from here, so the first vantages see it and the later ones are told it
/// was not asked: a difference between vantages that only the order of asking made.
/// Open (src/fetch.rs `Host::slow`/`silent`, keyed by `HostKey`, which is the same for
/// every vantage taking this machine's own path): only vantages that share a path (two
/// `direct`s, one proxy under two names) are affected.
#[test]
fn a_slow_honest_mirror_is_not_targeted_because_vantages_share_a_hosts_memory() {
    let (w, _) = world(3);
    let slow = slow_mirror(w.path().join("mirrors/m0"), Duration::from_millis(1800));
    let mut text = std::fs::read_to_string(profile(&w, "p.toml", &names(3), &[])).unwrap();
    text = text.replacen(&w.url_of("m0"), &format!("{}/", slow.url("http")), 1);
    std::fs::write(w.path().join("slow.toml"), text).unwrap();
    let mut a = args(&["--timeout", "3", "--artifacts", "none"]);
    for v in [
        "direct",
        "direct=FR",
        "direct=DE",
        "direct=US",
        "direct=JP",
        "direct=NL",
        "direct=BE",
        "direct=IT",
        "direct=ES",
    ] {
        a.extend(["--vantage".to_owned(), v.to_owned()]);
    }
    let c = check(&w, &w.path().join("slow.toml"), &a);
    let statuses: Vec<&str> = c
        .entries()
        .iter()
        .map(|e| e["status"].as_str().unwrap_or("?"))
        .collect();
    assert!(
        c.targeted().is_empty(),
        "one mirror, one behaviour, targeted anyway: {statuses:?}\n{}",
        c.table()
    );
}

// ---------------------------------------------------------------------------------------
// Redirects from a proxy, and equivocation behind a degraded vantage.

/// An HTTP proxy that answers each request with a redirect of its choosing, or (`None`)
/// relays it to its loopback target.
fn redirecting_proxy(to: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Raw {
    Raw::start(move |mut s| {
        let Some(head) = read_request(&mut s) else {
            return;
        };
        let target = head.split_whitespace().nth(1).unwrap_or("").to_owned();
        match to(&target) {
            Some(location) => {
                let _ = write!(
                    s,
                    "HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
            }
            None => {
                let Ok(url) = url::Url::parse(&target) else {
                    return;
                };
                let to = url
                    .socket_addrs(|| None)
                    .ok()
                    .and_then(|a| a.into_iter().find(|a| a.ip().is_loopback()));
                let Some(Ok(mut up)) = to.map(TcpStream::connect) else {
                    return;
                };
                let _ = write!(
                    up,
                    "GET {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
                    url.path(),
                    url.authority()
                );
                let _ = std::io::copy(&mut up, &mut s);
            }
        }
    })
}

/// HTTP proxies that redirect every request: to a local file, to a loop, and to another
/// server (one serving the previous release). Nothing local is ever read (the file's
/// contents show nowhere), a loop ends, and what the other server served is judged by its
/// bytes: stale through that vantage, so the mirrors are targeted.
#[test]
fn a_proxy_redirecting_elsewhere_is_judged_by_the_bytes_it_leads_to() {
    let (mut w, _) = world(2);
    let old = previous(&w);
    let stale_at = black_box(&mut w, "box", &old);
    let secret = w.path().join("secret.txt");
    std::fs::write(&secret, "TOP-SECRET-LOCAL-FILE").unwrap();
    let file_url = format!("file://{}", secret.display());
    let to_file = redirecting_proxy(move |_| Some(file_url.clone()));
    let looping = redirecting_proxy(|t| Some(format!("{t}?again")));
    let elsewhere = redirecting_proxy(move |t| {
        let path = t.splitn(4, '/').nth(3).unwrap_or("");
        (!t.contains(&stale_at.to_string())).then(|| format!("http://{stale_at}/{path}"))
    });
    let vs = [
        vantage("tofile", &to_file.url("http"), "DE"),
        vantage("loop", &looping.url("http"), "US"),
        vantage("elsewhere", &elsewhere.url("http"), "JP"),
    ];
    let p = profile(&w, "p.toml", &names(2), &[]);
    let c = check(&w, &p, &vantage_args(true, &vs.iter().collect::<Vec<_>>()));
    c.expect_all(&names(2), "direct", "ok");
    c.expect_all(&names(2), "tofile", "unreachable");
    c.expect_all(&names(2), "loop", "unreachable");
    c.expect_all(&names(2), "elsewhere", "stale");
    assert!(!c.out.stdout.contains("TOP-SECRET") && !c.out.stderr.contains("TOP-SECRET"));
    let t = c.targeted();
    assert_eq!(
        t[&w.url_of("m0")],
        statuses(&[("direct", "ok"), ("elsewhere", "stale")])
    );
    assert_eq!(c.code(), Some(1));
}

/// A network that serves another validly signed release of the latest version (release
/// keys that equivocate for one country), and blocks most mirrors so that its vantage is
/// `degraded`: the two signed releases are still an equivocation, and the run fails.
#[test]
fn an_equivocation_seen_only_through_a_degraded_vantage_still_fails_the_run() {
    let (mut w, _) = world(10);
    let other = other_same_version(&w);
    let to = black_box(&mut w, "box", &other);
    let rules = Rules::honest()
        .route(&authority(&w, "m0"), to)
        .only_hosts([authority(&w, "m0")]);
    let fr = SocksProxy::start(rules);
    let vfr = vantage("fr", &fr.url("socks5h"), "FR");
    let p = profile(&w, "p.toml", &names(10), &[]);
    let c = check(&w, &p, &vantage_args(true, &[&vfr]));
    assert_eq!(c.vantage_status("fr"), "degraded", "{}", c.json["vantages"]);
    let eq = c.json["equivocations"].as_array().unwrap();
    assert_eq!(eq.len(), 1, "{}", c.json["equivocations"]);
    assert_eq!(eq[0]["vantages"], serde_json::json!(["direct", "fr"]));
    assert!(!c.ok() && !c.independent());
    assert_eq!(c.code(), Some(1));
}
