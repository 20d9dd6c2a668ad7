//! The transport is untrusted plumbing: whatever host, redirect or proxy the bytes came
//! through, only the bytes and the pinned keys decide. These tests pin down how mirrorproof
//! behaves on the wire: who it says it is, that it never asks for compressed bodies, that
//! redirects are followed at most five times, and that proxies are honoured.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;

/// A loopback server that records every request head and answers with `respond(path)`.
struct Raw {
    addr: SocketAddr,
    heads: Arc<Mutex<Vec<String>>>,
}

impl Raw {
    fn start(respond: impl Fn(&str, &str) -> Vec<u8> + Send + Sync + 'static) -> Raw {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let heads = Arc::new(Mutex::new(Vec::new()));
        let (h, respond) = (heads.clone(), Arc::new(respond));
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let (h, respond) = (h.clone(), respond.clone());
                std::thread::spawn(move || serve_one(conn, &h, &*respond));
            }
        });
        Raw { addr, heads }
    }

    fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    fn heads(&self) -> Vec<String> {
        self.heads.lock().unwrap().clone()
    }
}

fn serve_one(conn: TcpStream, heads: &Mutex<Vec<String>>, respond: &dyn Fn(&str, &str) -> Vec<u8>) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
    let mut reader = BufReader::new(conn);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        head.push_str(&line);
        if line == "\r\n" {
            break;
        }
    }
    let mut words = head.split_whitespace();
    let method = words.next().unwrap_or("").to_owned();
    let path = words.next().unwrap_or("/").to_owned();
    heads.lock().unwrap().push(head);
    let mut conn = reader.into_inner();
    let _ = conn.write_all(&respond(&method, &path));
}

fn redirect_to(location: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .into_bytes()
}

#[test]
fn says_who_it_is_and_never_asks_for_compression() {
    let mut w = World::new();
    let raw = Raw::start(|_, _| {
        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec()
    });
    w.mirror("probe", "FR").at_url(&raw.url());
    let run = w.check();
    run.expect("probe", Status::Unreachable);
    let heads = raw.heads();
    assert!(!heads.is_empty());
    for h in &heads {
        let lower = h.to_ascii_lowercase();
        assert!(
            lower.contains(&format!(
                "user-agent: mirrorproof/{}",
                env!("CARGO_PKG_VERSION")
            )),
            "{h}"
        );
        // Hashes are over the bytes as served: asking for gzip would invite a server to
        // change them (and to send a compression bomb).
        assert!(!lower.contains("accept-encoding"), "{h}");
    }
}

#[test]
fn a_redirect_loop_is_cut_after_five_hops() {
    let mut w = World::new();
    let good = w.release(V).signed_by(&[0, 1]).artifact(ZIP, 2048).build();
    w.mirror("honest", "DE").serves(&good).over_http();
    let raw = Raw::start(|_, path| redirect_to(&format!("{path}x")));
    w.mirror("loop", "RU").at_url(&raw.url());
    let run = w.check();
    run.expect("honest", Status::Ok);
    run.expect("loop", Status::Unreachable);
    assert!(
        run.error("loop").contains("redirect"),
        "{}",
        run.error("loop")
    );
    // The first request plus at most five redirects, and no root walk on a dead mirror.
    assert!(raw.heads().len() <= 6, "{} requests", raw.heads().len());
}

#[test]
fn a_redirect_to_another_host_is_judged_on_the_bytes_alone() {
    let mut w = World::new();
    let good = w.release(V).signed_by(&[0, 1]).artifact(ZIP, 4096).build();
    w.mirror("origin", "CH").serves(&good).over_http();
    let target = w.url_of("origin");
    let raw = Raw::start(move |_, path| redirect_to(&format!("{}{}", target, &path[1..])));
    w.mirror("redirector", "FR").at_url(&raw.url());
    let run = w.check();
    run.expect("origin", Status::Ok);
    let r = run.expect("redirector", Status::Ok);
    assert_eq!(r.version, Some(V));
    assert_eq!(run.artifact_status("redirector", ZIP), "ok");
    assert!(
        raw.heads()
            .iter()
            .any(|h| h.contains("/artifacts/factory.zip"))
    );
}

#[test]
fn a_mirror_proxy_reaches_a_host_the_client_cannot_resolve() {
    let mut w = World::new();
    let good = w.release(V).signed_by(&[0, 1]).artifact(ZIP, 4096).build();
    // The proxy is a loopback server that serves the mirror's files for any host.
    w.mirror("behind-proxy", "IR").serves(&good).over_http();
    let proxy = w.url_of("behind-proxy");
    w.on("behind-proxy")
        .at_url("http://mirror.invalid/")
        .via_proxy(&proxy);
    let run = w.check();
    run.expect("behind-proxy", Status::Ok);
    assert_eq!(run.artifact_status("behind-proxy", ZIP), "ok");
    assert!(w.server("behind-proxy").requests() >= 2);

    // Without the proxy the same URL cannot be reached at all.
    let mut w2 = World::new();
    w2.mirror("direct", "IR").at_url("http://mirror.invalid/");
    w2.check().expect("direct", Status::Unreachable);
}

#[test]
fn the_proxy_from_the_environment_is_used() {
    let mut w = World::new();
    // The binary checks at wall-clock time, so this release must be current now.
    let now = mirrorproof::time::now();
    let good = w
        .release(V)
        .published(now - days(1))
        .expires(now + days(30))
        .signed_by(&[0, 1])
        .artifact(ZIP, 1024)
        .build();
    w.mirror("proxy", "NL").serves(&good).over_http();
    let proxy = w.url_of("proxy");
    let profile = w.path().join("env-proxy.toml");
    std::fs::write(
        &profile,
        format!(
            "name = \"exampleos\"\nroot = {:?}\nchannel = \"stable\"\n[[mirrors]]\nurl = \"http://mirror.invalid/\"\ncountry = \"NL\"\n",
            w.pinned_path().display().to_string()
        ),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mirrorproof"))
        .args(["check", "--no-state", "--json"])
        .arg(&profile)
        .env("http_proxy", &proxy)
        .env("HTTP_PROXY", &proxy)
        .env_remove("no_proxy")
        .env_remove("NO_PROXY")
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["mirrors"][0]["status"], "ok", "{report}");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn size_mode_falls_back_to_get_when_a_server_refuses_head() {
    let mut w = World::new();
    w.artifacts = mirrorproof::fetch::ArtifactMode::Size;
    let good = w.release(V).signed_by(&[0, 1]).artifact(ZIP, 3000).build();
    let dir = w.mirror("no-head", "FR").serves(&good).dir();
    let raw = Raw::start(move |method, path| {
        if method == "HEAD" {
            return b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                .to_vec();
        }
        match std::fs::read(dir.join(path.trim_start_matches('/'))) {
            Ok(body) => {
                let mut r = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                )
                .into_bytes();
                r.extend_from_slice(&body);
                r
            }
            Err(_) => {
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec()
            }
        }
    });
    w.on("no-head").at_url(&raw.url());
    let run = w.check();
    run.expect("no-head", Status::Ok);
    let heads = raw.heads();
    assert!(heads.iter().any(|h| h.starts_with("HEAD /artifacts/")));
    assert!(heads.iter().any(|h| h.starts_with("GET /artifacts/")));
}
